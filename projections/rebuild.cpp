#include "projections/rebuild.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "ledger/hash.h"
#include "ledger/store/event_store.h"
#include "projections/live.h"

namespace escrow::projections {

namespace {

class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual Status row(Table table, const Row& row) = 0;
};

struct BookingAgg {
  BookingState state;
  Times times;
  Milestones milestones;
  int64_t created_seq = 0;
  std::unordered_map<std::string, Times> touched[table_count];
};

struct ProviderAgg {
  ProviderState state;
  std::unordered_map<std::string, Times> payouts;
};

struct BalanceSums {
  int64_t available = 0, pending_escrow = 0, in_flight = 0, total_earned = 0;
};

// A decoded event of the log: a domain event, a webhook event, or nothing (an event of another
// subsystem, which feeds no projection).
using LogEvent = std::variant<std::monostate, Event, WebhookEvent>;

// Decodes one event by its stream; a bad event of a known stream or type is corrupt.
Result<LogEvent> decode_log_event(const RecordedEvent& r) {
  if (r.stream == webhook_stream) {
    Result<WebhookEvent> event = decode_webhook_event(r.type, r.data);
    if (!event.is_ok()) return event.status();
    return LogEvent(std::move(event).value());
  }
  Result<Event> event = decode_event(r.type, r.data);
  if (event.is_ok()) return LogEvent(std::move(event).value());
  if (!is_known_event_type(r.type) && !r.stream.starts_with("booking-") &&
      !r.stream.starts_with("provider-"))
    return LogEvent();
  return event.status();
}

// The whole log folded in memory: the same states and rows the live path writes.
class Fold {
 public:
  explicit Fold(RowSink& sink) : sink_(sink) {}

  // Applies one event. A broken rule is described in `problem` (the event is then not applied).
  Status apply(const RecordedEvent& r, const Event& event, std::string& problem);
  void apply_webhook(const RecordedEvent& r, const WebhookEvent& event, std::string& problem);
  Status finish();

 private:
  Status post(const RecordedEvent& r, const Event& event, std::string_view booking_provider,
              std::string& problem);

  RowSink& sink_;
  std::unordered_map<std::string, BookingAgg> bookings_;
  std::unordered_map<std::string, ProviderAgg> providers_;
  std::unordered_map<std::string, int64_t> accounts_;  // "<account>\n<currency>" -> balance
  std::map<std::pair<std::string, Currency>, BalanceSums> provider_balances_;
  std::unordered_map<int64_t, DeliveryRow> deliveries_;  // by id (the WebhookReceived's seq)
  std::unordered_set<std::string> delivery_keys_;
};

Status Fold::apply(const RecordedEvent& r, const Event& event, std::string& problem) {
  std::string_view stream = r.stream;
  if (stream.starts_with("booking-")) {
    BookingAgg& agg = bookings_[std::string(stream.substr(8))];
    if (r.version != agg.state.version + 1) {
      problem = "stream " + r.stream + " skips from version " + std::to_string(agg.state.version) +
                " to " + std::to_string(r.version);
      return Status::ok();
    }
    // Checked before folding, which would stop the process on it (an impossible history).
    if (const auto* c = std::get_if<ChargebackResolved>(&event)) {
      int64_t parts = c->from_escrow.amount_minor + c->from_provider.amount_minor +
                      c->platform_loss.amount_minor;
      bool declined = c->resolution == ChargebackResolution::declined;
      const ChargebackRecord* known = agg.state.find_chargeback(c->dispute_id);
      if (!known || known->resolved() || parts != (declined ? 0 : c->refund_amount.amount_minor) ||
          c->from_escrow.amount_minor > agg.state.held_minor()) {
        problem = "chargeback " + std::to_string(c->dispute_id) + " of booking " +
                  agg.state.terms.booking_id + " does not add up, or was resolved twice";
        return Status::ok();
      }
    }
    evolve(agg.state, event);
    agg.times.touch(r.recorded_at_ms);
    agg.milestones.note(event, r.recorded_at_ms, agg.state);
    if (std::holds_alternative<BookingCreated>(event)) agg.created_seq = r.seq;
    for (const Touch& t : touches(event))
      agg.touched[static_cast<int>(t.table)][t.key].touch(r.recorded_at_ms);
    const BookingState& s = agg.state;
    if (s.released_minor + s.refunded_minor + s.charged_back_minor > s.captured_minor) {
      problem = "booking " + s.terms.booking_id +
                " released, refunded and charged back more than captured";
      return Status::ok();
    }
    return post(r, event, s.terms.provider_id, problem);
  }
  if (stream.starts_with("provider-")) {
    ProviderAgg& agg = providers_[std::string(stream.substr(9))];
    if (r.version != agg.state.version + 1) {
      problem = "stream " + r.stream + " skips a version";
      return Status::ok();
    }
    evolve(agg.state, event);
    agg.state.provider_id = std::string(stream.substr(9));
    for (const Touch& t : touches(event)) agg.payouts[t.key].touch(r.recorded_at_ms);
    return post(r, event, "", problem);
  }
  return Status::ok();  // another subsystem's stream: no projection of these
}

// The webhook log's own rules: one delivery per key, attempts numbered 1, 2, 3, ...
void Fold::apply_webhook(const RecordedEvent& r, const WebhookEvent& event, std::string& problem) {
  if (const auto* received = std::get_if<WebhookReceived>(&event)) {
    if (!delivery_keys_.insert(received->dedupe_key).second) {
      problem = "webhook delivery key " + received->dedupe_key + " is stored twice";
      return;
    }
    deliveries_.emplace(r.seq, delivery_received(r.seq, r.recorded_at_ms, *received));
    return;
  }
  const auto& processed = std::get<WebhookProcessed>(event);
  auto it = deliveries_.find(processed.delivery_id);
  if (it == deliveries_.end()) {
    problem = "WebhookProcessed names no delivery (" + std::to_string(processed.delivery_id) + ")";
  } else if (processed.attempt != it->second.attempts + 1) {
    problem = "webhook delivery " + std::to_string(processed.delivery_id) + " skips to attempt " +
              std::to_string(processed.attempt);
  } else if (processed.outcome != "processed" && processed.outcome != "ignored" &&
             processed.outcome != "failed") {
    problem = "webhook delivery outcome '" + processed.outcome + "' is unknown";
  } else {
    delivery_processed(it->second, processed, r.recorded_at_ms);
  }
}

Status Fold::post(const RecordedEvent& r, const Event& event, std::string_view booking_provider,
                  std::string& problem) {
  std::vector<Posting> postings = postings_for(event);
  for (size_t i = 0; i < postings.size(); ++i) {
    const Posting& p = postings[i];
    if (Status s =
            sink_.row(Table::ledger_entries, ledger_entry_row(r.seq, static_cast<int>(i), p));
        !s.is_ok())
      return s;
    const char* currency = currency_code(p.amount.currency);
    int64_t& debit = accounts_[p.debit_account + "\n" + currency];
    debit -= p.amount.amount_minor;
    accounts_[p.credit_account + "\n" + currency] += p.amount.amount_minor;
    if (debit < 0 && account_is_non_negative(p.debit_account) &&
        !may_overdraw(event, p.debit_account) && problem.empty())
      problem = "account " + p.debit_account + " would go negative";
  }
  for (const ProviderBalanceDelta& d : provider_balance_deltas(event, postings, booking_provider)) {
    BalanceSums& sums = provider_balances_[{d.provider_id, d.currency}];
    sums.available += d.available;
    sums.pending_escrow += d.pending_escrow;
    sums.in_flight += d.in_flight;
    sums.total_earned += d.total_earned;
  }
  return Status::ok();
}

Status Fold::finish() {
  auto emit = [&](Table t, const Row& row) { return sink_.row(t, row); };
  for (const auto& [id, agg] : bookings_) {
    const BookingState& b = agg.state;
    if (!b.exists()) continue;
    const auto& touched = agg.touched;
    if (Status s =
            emit(Table::bookings, booking_row(b, agg.times, agg.created_seq, agg.milestones));
        !s.is_ok())
      return s;
    for (const ChargeRecord& c : b.charges) {
      if (Status s =
              emit(Table::payments,
                   payment_row(b, c, touched[static_cast<int>(Table::payments)].at(c.reference)));
          !s.is_ok())
        return s;
    }
    for (const RefundRecord& r : b.refunds) {
      if (Status s =
              emit(Table::refunds,
                   refund_row(b, r, touched[static_cast<int>(Table::refunds)].at(r.refund_id)));
          !s.is_ok())
        return s;
    }
    for (const ChargebackRecord& c : b.chargebacks) {
      const Times& t =
          touched[static_cast<int>(Table::chargebacks)].at(std::to_string(c.dispute_id));
      if (Status s = emit(Table::chargebacks, chargeback_row(b, c, t)); !s.is_ok()) return s;
    }
    if (b.dispute) {
      if (Status s = emit(Table::disputes,
                          dispute_row(b, touched[static_cast<int>(Table::disputes)].at(id)));
          !s.is_ok())
        return s;
    }
  }
  for (const auto& [id, agg] : providers_) {
    for (const PayoutRecord& p : agg.state.payouts) {
      if (Status s = emit(Table::payouts, payout_row(agg.state, p, agg.payouts.at(p.payout_id)));
          !s.is_ok())
        return s;
    }
  }
  for (const auto& [key, b] : provider_balances_) {
    Row row{key.first,   std::string(currency_code(key.second)),
            b.available, b.pending_escrow,
            b.in_flight, b.total_earned};
    if (Status s = emit(Table::provider_balances, row); !s.is_ok()) return s;
  }
  for (const auto& [key, balance] : accounts_) {
    size_t split = key.rfind('\n');
    Row row{key.substr(0, split), key.substr(split + 1), balance};
    if (Status s = emit(Table::account_balances, row); !s.is_ok()) return s;
  }
  for (const auto& [id, delivery] : deliveries_) {
    if (Status s = emit(Table::webhook_deliveries, delivery_row(delivery)); !s.is_ok()) return s;
  }
  return Status::ok();
}

class DigestSink final : public RowSink {
 public:
  Status row(Table table, const Row& row) override {
    digests[static_cast<int>(table)].add(row);
    return Status::ok();
  }
  TableDigest digests[table_count];
};

class ShadowWriter final : public RowSink {
 public:
  ShadowWriter(sqlite::Db& db, const std::set<Table>& tables) : tables_(tables) {
    for (Table t : tables) {
      auto stmt = db.prepare(insert_sql(spec(t), shadow_name(t)));
      if (!stmt.is_ok()) {
        status_ = stmt.status();
        return;
      }
      inserts_[static_cast<int>(t)] = std::move(stmt).value();
    }
  }
  static std::string shadow_name(Table t) { return std::string(spec(t).name) + "__shadow"; }
  const Status& status() const { return status_; }
  Status row(Table table, const Row& row) override {
    if (!tables_.count(table)) return Status::ok();
    digests[static_cast<int>(table)].add(row);
    sqlite::Stmt& stmt = inserts_[static_cast<int>(table)];
    bind_row(stmt, row);
    return stmt.run();
  }
  TableDigest digests[table_count];  // of the rows written: the fresh side of the comparison

 private:
  std::set<Table> tables_;
  sqlite::Stmt inserts_[table_count];
  Status status_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Result<int64_t> max_seq(sqlite::Db& db) {
  auto stmt = db.prepare("SELECT COALESCE(MAX(seq), 0) FROM events");
  if (!stmt.is_ok()) return stmt.status();
  auto row = stmt->step();
  if (!row.is_ok()) return row.status();
  return stmt->column_int64(0);
}

// Reads the row of select_events (all columns) or select_for_fold (what a fold needs).
void read_event(const sqlite::Stmt& stmt, bool all_columns, RecordedEvent& e) {
  e.seq = stmt.column_int64(0);
  e.stream.assign(stmt.column_view(1));
  e.version = stmt.column_int64(2);
  e.type.assign(stmt.column_view(3));
  e.data.assign(stmt.column_view(4));
  e.recorded_at_ms = stmt.column_int64(5);
  if (!all_columns) return;
  e.meta.assign(stmt.column_view(6));
  e.prev_hash.assign(stmt.column_view(7));
  e.hash.assign(stmt.column_view(8));
}

constexpr const char* select_events =
    "SELECT seq, stream, version, type, data, recorded_at, meta, prev_hash, hash FROM events "
    "ORDER BY seq";
constexpr const char* select_for_fold =
    "SELECT seq, stream, version, type, data, recorded_at FROM events ORDER BY seq";

// Large reads go through a memory map rather than read() calls and a small page cache.
void tune_for_scans(sqlite::Db& db) {
  (void)db.exec("PRAGMA mmap_size = 8589934592; PRAGMA cache_size = -262144");
}
constexpr int64_t progress_every_events = 20000;

std::string projection_version(const std::string& projection) {
  std::string version;
  for (const TableSpec& s : table_specs()) {
    if (projection == s.projection) version += std::string(version.empty() ? "" : ".") + s.version;
  }
  return version;
}

Result<std::vector<std::string>> ddl_of(sqlite::Db& db, const char* type, const char* table) {
  auto stmt = db.prepare(
      "SELECT sql FROM sqlite_master WHERE type = ? AND tbl_name = ? AND sql IS NOT NULL");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, type).bind(2, table);
  std::vector<std::string> out;
  for (;;) {
    auto row = stmt->step();
    if (!row.is_ok()) return row.status();
    if (!row.value()) break;
    out.push_back(stmt->column_text(0));
  }
  return out;
}

// Creates `<table>__shadow` with the live table's own definition.
Status create_shadow(sqlite::Db& db, Table t) {
  std::string name = spec(t).name;
  auto ddl = ddl_of(db, "table", name.c_str());
  if (!ddl.is_ok()) return ddl.status();
  if (ddl->size() != 1) return Status(StatusCode::corrupt, "no table " + name + ": run migrate");
  // The stored DDL names the table as written, or quoted ("bookings") after an earlier swap.
  std::string sql = ddl->front();
  const std::string head = "CREATE TABLE ";
  size_t name_end = sql.find_first_of(" (", head.size());
  std::string stored_name = sql.substr(head.size(), name_end - head.size());
  if (sql.rfind(head, 0) != 0 || (stored_name != name && stored_name != "\"" + name + "\""))
    return Status(StatusCode::corrupt, "unexpected DDL for " + name);
  sql.replace(0, name_end, head + ShadowWriter::shadow_name(t));
  if (Status s = db.exec("DROP TABLE IF EXISTS " + ShadowWriter::shadow_name(t)); !s.is_ok())
    return s;
  return db.exec(sql);
}

// Replaces the live table with its shadow and recreates the live table's indexes.
Status swap_in(sqlite::Db& db, Table t) {
  std::string name = spec(t).name;
  auto indexes = ddl_of(db, "index", name.c_str());
  if (!indexes.is_ok()) return indexes.status();
  if (Status s = db.exec("DROP TABLE " + name); !s.is_ok()) return s;
  if (Status s = db.exec("ALTER TABLE " + ShadowWriter::shadow_name(t) + " RENAME TO " + name);
      !s.is_ok())
    return s;
  for (const std::string& sql : indexes.value()) {
    if (Status s = db.exec(sql); !s.is_ok()) return s;
  }
  return Status::ok();
}

// Events travel from the reading thread to the folding thread in batches. Batches go back to the
// reader once folded, so their strings keep their capacity and the scan allocates almost nothing.
struct Batch {
  std::vector<RecordedEvent> records;  // the first `count` are filled
  size_t count = 0;
  // Decoded by the reader when it has time to spare (rebuild); empty when the folder decodes
  // (verify, whose reader is busy hashing).
  std::vector<LogEvent> events;
  std::optional<int64_t> bad_seq;  // the reader stopped at this event (after the first `count`)
  std::string problem;
};

// A bounded queue between the reader and the folder; either side can stop the other.
class BatchQueue {
 public:
  static constexpr size_t batches_max = 8;
  static constexpr size_t batch_events_max = 512;

  bool push(Batch batch) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return full_.size() < batches_max || stopped_; });
    if (stopped_) return false;
    full_.push_back(std::move(batch));
    not_empty_.notify_one();
    return true;
  }
  std::optional<Batch> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) return std::nullopt;
    Batch batch = std::move(full_.front());
    full_.pop_front();
    not_full_.notify_one();
    return batch;
  }
  Batch take_empty() {
    std::lock_guard lock(mutex_);
    if (empty_.empty()) return Batch();
    Batch batch = std::move(empty_.back());
    empty_.pop_back();
    batch.count = 0;
    batch.events.clear();
    batch.bad_seq.reset();
    batch.problem.clear();
    return batch;
  }
  void recycle(Batch batch) {
    std::lock_guard lock(mutex_);
    if (empty_.size() < batches_max + 2) empty_.push_back(std::move(batch));
  }
  void close() {  // the reader is done
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }
  void stop() {  // the folder wants no more
    std::lock_guard lock(mutex_);
    stopped_ = true;
    not_full_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> full_;
  std::vector<Batch> empty_;
  bool closed_ = false, stopped_ = false;
};

// What is wrong with the link from the previous event to `r`, if anything.
std::string chain_problem(const RecordedEvent& r, int64_t expected_seq,
                          const std::string& prev_hash) {
  if (r.seq != expected_seq) return "expected seq " + std::to_string(expected_seq) + " (a gap)";
  if (r.prev_hash != prev_hash)
    return "prev_hash does not match the hash of seq " + std::to_string(r.seq - 1);
  EventHashFields fields{r.prev_hash,      r.seq,  r.stream, r.version, r.type,
                         r.recorded_at_ms, r.data, r.meta};
  if (event_hash(fields) != r.hash) return "hash does not match the event's content (altered)";
  return {};
}

// The reading side: every event with seq <= last_seq, in order, and (when `chain` is set) its
// link in the hash chain checked, on a connection of its own. Events never change once written,
// so this connection's snapshot agrees with the folder's for every seq up to last_seq.
Status read_all_events(sqlite::Db& reader, int64_t last_seq, bool chain, bool decode,
                       BatchQueue& queue);

// Decodes the event just read into the batch; false when it cannot be (the batch then says why).
bool decode_into(Batch& batch, const RecordedEvent& r) {
  Result<LogEvent> event = decode_log_event(r);
  if (!event.is_ok()) {
    batch.bad_seq = r.seq;
    batch.problem = "seq " + std::to_string(r.seq) + ": " + event.status().message();
    return false;
  }
  batch.events.push_back(std::move(event).value());
  return true;
}

Status read_events(const std::string& path, int64_t last_seq, bool chain, bool decode,
                   BatchQueue& queue, const std::function<Status(sqlite::Db&)>& after_reading) {
  auto db = sqlite::Db::open(path, sqlite::Db::Mode::read_only);
  if (!db.is_ok()) return db.status();
  if (Status s = read_all_events(db.value(), last_seq, chain, decode, queue); !s.is_ok()) return s;
  queue.close();
  return after_reading ? after_reading(db.value()) : Status::ok();
}

Status read_all_events(sqlite::Db& reader, int64_t last_seq, bool chain, bool decode,
                       BatchQueue& queue) {
  sqlite::Db* db = &reader;
  tune_for_scans(*db);
  auto stmt = db->prepare(std::string(chain ? select_events : select_for_fold) + " LIMIT ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, last_seq);  // seqs are 1..n without gaps; a gap is what the chain check reports
  int64_t expected_seq = 1;
  std::string prev_hash = genesis_hash;
  Batch batch = queue.take_empty();
  for (;;) {
    auto row = stmt->step();
    if (!row.is_ok()) return row.status();
    if (!row.value()) break;
    if (batch.records.size() == batch.count) batch.records.emplace_back();
    RecordedEvent& r = batch.records[batch.count];
    read_event(stmt.value(), chain, r);
    if (chain) {
      std::string problem = chain_problem(r, expected_seq, prev_hash);
      if (!problem.empty()) {
        batch.bad_seq = r.seq;
        batch.problem = "seq " + std::to_string(r.seq) + ": " + problem;
        queue.push(std::move(batch));
        return Status::ok();
      }
      expected_seq = r.seq + 1;
      prev_hash = r.hash;
    }
    if (decode && !decode_into(batch, r)) {
      queue.push(std::move(batch));
      return Status::ok();
    }
    if (++batch.count == BatchQueue::batch_events_max) {
      if (!queue.push(std::move(batch))) return Status::ok();
      batch = queue.take_empty();
    }
  }
  if (batch.count > 0) queue.push(std::move(batch));
  return Status::ok();
}

struct FoldOutcome {
  int64_t events = 0;
  std::optional<int64_t> bad_seq;
  std::string problem;

  void stop_at(int64_t seq, std::string why) {
    bad_seq = seq;
    problem = "seq " + std::to_string(seq) + ": " + std::move(why);
  }
};

bool apply_one(Fold& fold, const RecordedEvent& r, const LogEvent& event, FoldOutcome& out,
               Status& status) {
  std::string problem;
  if (const auto* e = std::get_if<Event>(&event)) {
    status = fold.apply(r, *e, problem);
    if (!status.is_ok()) return false;
  } else if (const auto* w = std::get_if<WebhookEvent>(&event)) {
    fold.apply_webhook(r, *w, problem);
  }
  if (!problem.empty()) out.stop_at(r.seq, problem);
  return problem.empty();
}

// Decodes (unless the reader did) and folds one batch; false once something is wrong.
bool fold_batch(Fold& fold, const Batch& batch, FoldOutcome& out, Status& status) {
  for (size_t i = 0; i < batch.count; ++i) {
    const RecordedEvent& r = batch.records[i];
    ++out.events;
    if (!batch.events.empty()) {
      if (!apply_one(fold, r, batch.events[i], out, status)) return false;
      continue;
    }
    Result<LogEvent> event = decode_log_event(r);
    if (!event.is_ok()) {
      out.stop_at(r.seq, event.status().message());
      return false;
    }
    if (!apply_one(fold, r, event.value(), out, status)) return false;
  }
  if (batch.bad_seq) {
    ++out.events;
    out.bad_seq = batch.bad_seq;
    out.problem = batch.problem;
    return false;
  }
  return true;
}

// Folds the log into `sink` on this thread while another thread reads it (checking the hash
// chain when `chain` is set, decoding it otherwise: each side gets about half the work).
// `after_reading` runs on the reading thread, with its connection, once it has read everything,
// so the live tables can be digested while the fold finishes.
Status fold_log(const std::string& path, int64_t last_seq, bool chain, RowSink& sink,
                const Progress& progress, FoldOutcome& out,
                const std::function<Status(sqlite::Db&)>& after_reading = {}) {
  BatchQueue queue;
  Status reader_status;
  std::thread reader([&] {
    reader_status = read_events(path, last_seq, chain, !chain, queue, after_reading);
    queue.close();
  });
  Fold fold(sink);
  Status status;
  int64_t next_progress = progress_every_events;
  bool going = true;
  while (auto batch = queue.pop()) {
    if (going) going = fold_batch(fold, *batch, out, status);
    if (!going) queue.stop();
    queue.recycle(std::move(batch).value());
    if (progress && out.events >= next_progress) {
      progress(out.events, last_seq);
      next_progress += progress_every_events;
    }
  }
  queue.stop();
  reader.join();
  if (!status.is_ok()) return status;
  if (!reader_status.is_ok()) return reader_status;
  if (progress) progress(out.events, last_seq);
  if (out.bad_seq) return Status::ok();
  return fold.finish();
}

}  // namespace

namespace {

// The bytes a row's digest covers: per value a tag, then the integer or the length and text.
void serialize_null(std::string& out) {
  out.push_back('N');
}
void serialize_int(std::string& out, int64_t v) {
  out.push_back('I');
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void serialize_text(std::string& out, std::string_view v) {
  uint64_t size = v.size();
  out.push_back('T');
  out.append(reinterpret_cast<const char*>(&size), sizeof size);
  out.append(v);
}

}  // namespace

void TableDigest::add(const Row& row) {
  thread_local std::string bytes;
  bytes.clear();
  for (const SqlValue& value : row) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>)
            serialize_null(bytes);
          else if constexpr (std::is_same_v<T, int64_t>)
            serialize_int(bytes, v);
          else
            serialize_text(bytes, v);
        },
        value);
  }
  add_bytes(bytes);
}

// XXH3-128 per row, summed: the digest does not depend on row order, and it is never stored,
// only compared between two computations made by the same binary.
void TableDigest::add_bytes(std::string_view bytes) {
  XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  lanes[0] += h.low64;
  lanes[1] += h.high64;
  ++rows;
}

std::string TableDigest::hex() const {
  std::string out;
  for (uint64_t lane : lanes) {
    uint8_t bytes[8];
    std::memcpy(bytes, &lane, sizeof lane);
    out += to_hex(bytes, sizeof bytes);
  }
  return out + "/" + std::to_string(rows);
}

Result<TableDigest> table_digest(sqlite::Db& db, const TableSpec& spec,
                                 const std::string& table_name) {
  std::string columns;
  for (const char* c : spec.columns) columns += (columns.empty() ? "" : ", ") + std::string(c);
  auto stmt = db.prepare("SELECT " + columns + " FROM " + table_name);
  if (!stmt.is_ok()) return stmt.status();
  TableDigest digest;
  std::string bytes;
  const int count = static_cast<int>(spec.columns.size());
  for (;;) {
    auto more = stmt->step();
    if (!more.is_ok()) return more.status();
    if (!more.value()) break;
    bytes.clear();
    for (int col = 0; col < count; ++col) {
      switch (sqlite3_column_type(stmt->raw(), col)) {
        case SQLITE_NULL:
          serialize_null(bytes);
          break;
        case SQLITE_INTEGER:
          serialize_int(bytes, stmt->column_int64(col));
          break;
        default:
          serialize_text(bytes, stmt->column_view(col));
          break;
      }
    }
    digest.add_bytes(bytes);
  }
  return digest;
}

Result<RebuildReport> rebuild(sqlite::Db& db, const RebuildOptions& options) {
  auto start = std::chrono::steady_clock::now();
  std::set<Table> tables;
  std::set<std::string> projections;
  for (const TableSpec& s : table_specs()) {
    if (options.projection && *options.projection != s.projection) continue;
    tables.insert(s.table);
    projections.insert(s.projection);
  }
  if (tables.empty())
    return Status(StatusCode::invalid_argument,
                  "no projection named " + options.projection.value_or(""));
  tune_for_scans(db);
  // A rebuild lost to a power cut leaves the old projections in place, so its commit need not
  // wait for the disk; WAL mode keeps the file consistent either way.
  int64_t synchronous_before = 2;
  if (auto q = db.prepare("PRAGMA synchronous"); q.is_ok()) {
    auto row = q->step();
    if (row.is_ok() && row.value()) synchronous_before = q->column_int64(0);
  }
  (void)db.exec("PRAGMA synchronous = NORMAL");
  struct RestoreSynchronous {
    sqlite::Db& db;
    int64_t level;
    ~RestoreSynchronous() { (void)db.exec("PRAGMA synchronous = " + std::to_string(level)); }
  } restore{db, synchronous_before};
  auto txn = sqlite::Transaction::begin(db, sqlite::Transaction::Kind::immediate);
  if (!txn.is_ok()) return txn.status();
  for (Table t : tables) {
    if (Status s = create_shadow(db, t); !s.is_ok()) return s;
  }
  auto total = max_seq(db);
  if (!total.is_ok()) return total.status();
  ShadowWriter writer(db, tables);
  if (!writer.status().is_ok()) return writer.status();
  RebuildReport report;
  FoldOutcome fold;
  std::string path = sqlite3_db_filename(db.raw(), "main");
  // The reader digests the live tables on its own connection: this transaction holds the write
  // lock and has not touched them, so it sees them exactly as they are here.
  TableDigest live[table_count];
  auto digest_live = [&](sqlite::Db& reader_db) -> Status {
    for (Table t : tables) {
      auto digest = table_digest(reader_db, spec(t), spec(t).name);
      if (!digest.is_ok()) return digest.status();
      live[static_cast<int>(t)] = digest.value();
    }
    return Status::ok();
  };
  if (Status s = fold_log(path, total.value(), false, writer, options.progress, fold, digest_live);
      !s.is_ok())
    return s;
  report.events = fold.events;
  if (fold.bad_seq) return Status(StatusCode::corrupt, "cannot rebuild: " + fold.problem);
  for (Table t : tables) {
    if (!(writer.digests[static_cast<int>(t)] == live[static_cast<int>(t)]))
      report.differed.push_back(spec(t).name);
    if (Status s = swap_in(db, t); !s.is_ok()) return s;
    report.tables.push_back(spec(t).name);
  }
  for (const std::string& p : projections) {
    auto stmt = db.prepare(
        "INSERT INTO projection_versions (name, version, built_at, built_seq) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version, built_at = "
        "excluded.built_at, built_seq = excluded.built_seq");
    if (!stmt.is_ok()) return stmt.status();
    stmt->bind(1, p)
        .bind(2, projection_version(p))
        .bind(3, SystemClock().now_ms())
        .bind(4, total.value());
    if (Status s = stmt->run(); !s.is_ok()) return s;
  }
  if (Status s = txn->commit(); !s.is_ok()) return s;
  report.seconds = seconds_since(start);
  return report;
}

Result<std::vector<std::string>> rebuild_stale(sqlite::Db& db) {
  std::map<std::string, std::string> recorded;
  {
    auto stmt = db.prepare("SELECT name, version FROM projection_versions");
    if (!stmt.is_ok()) return stmt.status();
    for (;;) {
      auto row = stmt->step();
      if (!row.is_ok()) return row.status();
      if (!row.value()) break;
      recorded[stmt->column_text(0)] = stmt->column_text(1);
    }
  }
  std::vector<std::string> rebuilt;
  for (const std::string& name : projection_names()) {
    auto it = recorded.find(name);
    if (it != recorded.end() && it->second == projection_version(name)) continue;
    auto report = rebuild(db, RebuildOptions{name, {}});
    if (!report.is_ok()) return report.status();
    rebuilt.push_back(name);
  }
  return rebuilt;
}

Result<VerifyReport> verify(sqlite::Db& db, const Progress& progress) {
  auto start = std::chrono::steady_clock::now();
  tune_for_scans(db);
  // The live tables are read in this transaction's snapshot, with the events up to its last seq.
  auto txn = sqlite::Transaction::begin(db, sqlite::Transaction::Kind::deferred);
  if (!txn.is_ok()) return txn.status();
  auto total = max_seq(db);
  if (!total.is_ok()) return total.status();
  VerifyReport report;
  TableDigest live[table_count];
  std::vector<std::string> live_problems;
  // Runs on the reading thread once the events are read; this thread is folding meanwhile and
  // does not touch `db`.
  auto digest_live = [&](sqlite::Db&) -> Status {
    for (const TableSpec& s : table_specs()) {
      auto digest = table_digest(db, s, s.name);
      if (!digest.is_ok()) return digest.status();
      live[static_cast<int>(s.table)] = digest.value();
    }
    auto stmt = db.prepare("SELECT currency, SUM(balance) FROM account_balances GROUP BY currency");
    if (!stmt.is_ok()) return stmt.status();
    for (;;) {
      auto row = stmt->step();
      if (!row.is_ok()) return row.status();
      if (!row.value()) break;
      if (stmt->column_int64(1) != 0)
        live_problems.push_back("account balances in " + stmt->column_text(0) +
                                " do not sum to zero");
    }
    return Status::ok();
  };
  DigestSink fresh;
  FoldOutcome fold;
  std::string path = sqlite3_db_filename(db.raw(), "main");
  if (Status s = fold_log(path, total.value(), true, fresh, progress, fold, digest_live);
      !s.is_ok())
    return s;
  report.events = fold.events;
  report.first_bad_seq = fold.bad_seq;
  if (fold.bad_seq) {
    report.problems.push_back(fold.problem);
  } else {
    for (const TableSpec& s : table_specs()) {
      if (!(live[static_cast<int>(s.table)] == fresh.digests[static_cast<int>(s.table)]))
        report.problems.push_back("projection table " + std::string(s.name) +
                                  " differs from a fresh rebuild (run escrowctl rebuild)");
    }
    report.problems.insert(report.problems.end(), live_problems.begin(), live_problems.end());
  }
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace escrow::projections
