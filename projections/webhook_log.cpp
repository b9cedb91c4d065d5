// The webhook log: deduplicated deliveries and their outcomes as events, and the reads of the
// webhook_deliveries projection. See webhook_log.h for the contract.
#include "projections/webhook_log.h"

#include <algorithm>
#include <future>
#include <memory>
#include <utility>

namespace escrow::projections {

namespace {

constexpr const char* delivery_statuses[] = {"received", "processed", "ignored", "failed"};

const TableSpec& deliveries() {
  return spec(Table::webhook_deliveries);
}

// The id of the delivery stored under `dedupe_key`, if any (on the writer's connection).
Result<std::optional<int64_t>> stored_delivery(sqlite::Db& db, const std::string& dedupe_key) {
  auto stmt = db.prepare("SELECT id FROM webhook_deliveries WHERE dedupe_key = ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, dedupe_key);
  Result<bool> row = stmt->step();
  if (!row.is_ok()) return row.status();
  if (!row.value()) return std::optional<int64_t>();
  return std::optional<int64_t>(stmt->column_int64(0));
}

Result<std::optional<int>> stored_attempts(sqlite::Db& db, int64_t delivery_id) {
  auto stmt = db.prepare("SELECT attempts FROM webhook_deliveries WHERE id = ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, delivery_id);
  Result<bool> row = stmt->step();
  if (!row.is_ok()) return row.status();
  if (!row.value()) return std::optional<int>();
  return std::optional<int>(static_cast<int>(stmt->column_int64(0)));
}

Status unknown_delivery(int64_t delivery_id) {
  return Status(StatusCode::not_found, "no webhook delivery " + std::to_string(delivery_id));
}

// A filter as SQL: the WHERE clause and its parameters, in order.
struct Where {
  std::string sql;
  std::vector<SqlValue> params;
  void add(const char* condition, SqlValue value) {
    sql += (sql.empty() ? "WHERE " : " AND ") + std::string(condition);
    params.push_back(std::move(value));
  }
};

Where where_of(const DeliveryFilter& f, bool with_status) {
  Where w;
  if (f.event) w.add("event = ?", *f.event);
  if (with_status && f.status) w.add("status = ?", *f.status);
  if (f.reference) w.add("reference = ?", *f.reference);
  if (f.from_ms) w.add("received_at_ms >= ?", *f.from_ms);
  if (f.to_ms) w.add("received_at_ms < ?", *f.to_ms);
  return w;
}

Result<sqlite::Stmt> prepare_where(sqlite::Db& db, const std::string& sql, const Where& where) {
  auto stmt = db.prepare(sql);
  if (!stmt.is_ok()) return stmt.status();
  bind_row(stmt.value(), where.params);
  return stmt;
}

Status read_rows(sqlite::Stmt& stmt, std::vector<DeliveryRow>& out) {
  for (;;) {
    Result<bool> row = stmt.step();
    if (!row.is_ok()) return row.status();
    if (!row.value()) return Status::ok();
    out.push_back(delivery_from_row(read_row(stmt, deliveries().columns.size())));
  }
}

}  // namespace

const char* webhook_outcome_name(WebhookOutcome outcome) {
  switch (outcome) {
    case WebhookOutcome::processed:
      return "processed";
    case WebhookOutcome::ignored:
      return "ignored";
    case WebhookOutcome::failed:
      return "failed";
  }
  return "failed";
}

WebhookLog::WebhookLog(EventStore& store, LiveProjections& projections)
    : store_(store), projections_(projections) {}

Result<DeliveryRecord> WebhookLog::record(const WebhookDelivery& delivery, const EventMeta& meta) {
  std::promise<Result<DeliveryRecord>> promise;
  std::future<Result<DeliveryRecord>> recorded = promise.get_future();
  record(delivery, meta,
         [&promise](Result<DeliveryRecord> result) { promise.set_value(std::move(result)); });
  return recorded.get();
}

void WebhookLog::record(const WebhookDelivery& delivery, const EventMeta& meta,
                        std::function<void(Result<DeliveryRecord>)> done) {
  if (delivery.event.empty() || delivery.dedupe_key.empty())
    return done(
        Status(StatusCode::invalid_argument, "a webhook delivery needs an event and a key"));
  WebhookEvent event = WebhookReceived{delivery.event, delivery.dedupe_key, delivery.reference,
                                       delivery.payload, delivery.remote_address};
  // Written by the hook on the writer thread, read in the completion after the commit.
  auto existing = std::make_shared<std::optional<int64_t>>();
  AppendHook hook = [this, existing, key = delivery.dedupe_key](
                        sqlite::Db& db, std::span<const RecordedEvent> recorded) -> Status {
    auto stored = stored_delivery(db, key);
    if (!stored.is_ok()) return stored.status();
    if (stored.value()) {
      *existing = stored.value();
      return Status(StatusCode::conflict, "a delivery with this key is stored");
    }
    return projections_.apply_webhook_events(db, recorded);
  };
  store_.submit(AppendCommand{{StreamAppend{webhook_stream,
                                            StreamAppend::any_version,
                                            {to_new_event(event, encode_meta(meta))}}},
                              std::move(hook)},
                [existing, done = std::move(done)](AppendOutcome outcome) {
                  if (outcome.status.is_ok())
                    return done(DeliveryRecord{outcome.events.front().seq, false});
                  if (existing->has_value()) return done(DeliveryRecord{**existing, true});
                  done(outcome.status);
                });
}

Status WebhookLog::record_outcome(int64_t delivery_id, WebhookOutcome outcome,
                                  std::string_view detail, const EventMeta& meta) {
  const std::string meta_json = encode_meta(meta);
  for (int tries = 0; tries < outcome_attempts_max; ++tries) {
    Result<int> attempts = attempts_now(delivery_id);
    if (!attempts.is_ok()) return attempts.status();
    WebhookEvent event = WebhookProcessed{delivery_id, webhook_outcome_name(outcome),
                                          std::string(detail), attempts.value() + 1};
    // The attempt number holds only if no other outcome was recorded since the read above.
    AppendHook hook = [this, delivery_id, seen = attempts.value()](
                          sqlite::Db& db, std::span<const RecordedEvent> recorded) -> Status {
      auto stored = stored_attempts(db, delivery_id);
      if (!stored.is_ok()) return stored.status();
      if (!stored.value()) return unknown_delivery(delivery_id);
      if (*stored.value() != seen)
        return Status(StatusCode::conflict, "another outcome was recorded meanwhile");
      return projections_.apply_webhook_events(db, recorded);
    };
    AppendOutcome appended = store_.append(AppendCommand{
        {StreamAppend{webhook_stream, StreamAppend::any_version, {to_new_event(event, meta_json)}}},
        std::move(hook)});
    if (appended.status.code() != StatusCode::conflict) return appended.status;
  }
  return Status(StatusCode::conflict, "outcomes of webhook delivery " +
                                          std::to_string(delivery_id) + " kept racing; gave up");
}

// The attempts recorded so far, on a pooled read-only connection.
Result<int> WebhookLog::attempts_now(int64_t delivery_id) {
  sqlite::Db db;
  {
    std::lock_guard lock(readers_mutex_);
    if (!readers_.empty()) {
      db = std::move(readers_.back());
      readers_.pop_back();
    }
  }
  if (!db.is_open()) {
    auto opened = sqlite::Db::open(store_.path(), sqlite::Db::Mode::read_only);
    if (!opened.is_ok()) return opened.status();
    db = std::move(opened).value();
  }
  auto attempts = stored_attempts(db, delivery_id);
  {
    std::lock_guard lock(readers_mutex_);
    readers_.push_back(std::move(db));
  }
  if (!attempts.is_ok()) return attempts.status();
  if (!attempts.value()) return unknown_delivery(delivery_id);
  return *attempts.value();
}

Result<std::optional<DeliveryRow>> WebhookLog::find(sqlite::Db& db, int64_t id) {
  auto stmt = db.prepare(select_sql(deliveries(), "WHERE id = ?"));
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, id);
  std::vector<DeliveryRow> rows;
  if (Status s = read_rows(stmt.value(), rows); !s.is_ok()) return s;
  if (rows.empty()) return std::optional<DeliveryRow>();
  return std::optional<DeliveryRow>(std::move(rows.front()));
}

Result<DeliveryPage> WebhookLog::list(sqlite::Db& db, const DeliveryFilter& filter) {
  if (filter.limit < 1 || filter.limit > list_limit_max || filter.offset < 0)
    return Status(
        StatusCode::invalid_argument,
        "limit must be 1.." + std::to_string(list_limit_max) + " and offset not negative");
  DeliveryPage page;
  const Where where = where_of(filter, true);
  auto rows = prepare_where(
      db, select_sql(deliveries(), where.sql + " ORDER BY id DESC LIMIT ? OFFSET ?"), where);
  if (!rows.is_ok()) return rows.status();
  int next = static_cast<int>(where.params.size()) + 1;
  rows->bind(next, filter.limit).bind(next + 1, filter.offset);
  if (Status s = read_rows(rows.value(), page.rows); !s.is_ok()) return s;

  auto total = prepare_where(db, "SELECT count(*) FROM webhook_deliveries " + where.sql, where);
  if (!total.is_ok()) return total.status();
  Result<bool> counted = total->step();
  if (!counted.is_ok()) return counted.status();
  page.total = total->column_int64(0);

  for (const char* status : delivery_statuses) page.counts_by_status[status] = 0;
  const Where any_status = where_of(filter, false);
  auto counts = prepare_where(
      db, "SELECT status, count(*) FROM webhook_deliveries " + any_status.sql + " GROUP BY status",
      any_status);
  if (!counts.is_ok()) return counts.status();
  for (;;) {
    Result<bool> row = counts->step();
    if (!row.is_ok()) return row.status();
    if (!row.value()) break;
    page.counts_by_status[counts->column_text(0)] = counts->column_int64(1);
  }
  return page;
}

Result<std::vector<int64_t>> WebhookLog::due_for_retry(sqlite::Db& db, int64_t now_ms, int limit,
                                                       int attempts_max) {
  // backoff(n) = first * 2^(n-1), capped; the shift stays below 64 bits because n is capped
  // first (first * 2^7 already exceeds the cap).
  auto stmt = db.prepare(
      "SELECT id FROM webhook_deliveries WHERE "
      "(status = 'failed' AND attempts < ?1 AND updated_at_ms + "
      " min(?2 << (min(max(attempts, 1), 8) - 1), ?3) <= ?4) "
      "OR (status = 'received' AND updated_at_ms < ?4 - ?5) "
      "ORDER BY id LIMIT ?6");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, attempts_max).bind(2, retry_backoff_first_ms).bind(3, retry_backoff_max_ms);
  stmt->bind(4, now_ms).bind(5, stuck_received_after_ms).bind(6, std::max(limit, 0));
  std::vector<int64_t> ids;
  for (;;) {
    Result<bool> row = stmt->step();
    if (!row.is_ok()) return row.status();
    if (!row.value()) return ids;
    ids.push_back(stmt->column_int64(0));
  }
}

}  // namespace escrow::projections
