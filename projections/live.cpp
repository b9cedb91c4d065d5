#include "projections/live.h"

#include <map>

#include "projections/tables.h"

namespace escrow::projections {

struct LiveProjections::Statements {
  sqlite::Stmt upsert[table_count];
  sqlite::Stmt ledger_entry;
  sqlite::Stmt account_delta;
  sqlite::Stmt provider_delta;
  sqlite::Stmt provider_available;
  sqlite::Stmt delivery_by_id;
};

namespace {

std::string join_columns(const TableSpec& spec) {
  std::string out;
  for (const char* c : spec.columns) out += (out.empty() ? "" : ", ") + std::string(c);
  return out;
}

std::string placeholders(size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += i ? ", ?" : "?";
  return out;
}

bool listed(const std::vector<const char*>& columns, const char* column) {
  for (const char* c : columns) {
    if (std::string_view(c) == column) return true;
  }
  return false;
}

Status upsert(sqlite::Stmt& stmt, const Row& row) {
  bind_row(stmt, row);
  return stmt.run();
}

// The records a command touched, with the first and last recorded_at that touched each.
struct Touched {
  bool booking = false;
  Times booking_times;
  Milestones milestones;
  int64_t created_seq = 0;
  std::map<std::string, Times> by_table[table_count];
};

Status write_touched_rows(sqlite::Stmt (&upserts)[table_count], const StreamStates& after,
                          const Touched& touched) {
  auto stmt = [&](Table t) -> sqlite::Stmt& { return upserts[static_cast<int>(t)]; };
  auto times = [&](Table t) -> const std::map<std::string, Times>& {
    return touched.by_table[static_cast<int>(t)];
  };
  if (after.booking && touched.booking) {
    const BookingState& b = *after.booking;
    if (Status x =
            upsert(stmt(Table::bookings),
                   booking_row(b, touched.booking_times, touched.created_seq, touched.milestones));
        !x.is_ok())
      return x;
    for (const ChargeRecord& c : b.charges) {
      auto it = times(Table::payments).find(c.reference);
      if (it == times(Table::payments).end()) continue;
      if (Status x = upsert(stmt(Table::payments), payment_row(b, c, it->second)); !x.is_ok())
        return x;
    }
    for (const RefundRecord& r : b.refunds) {
      auto it = times(Table::refunds).find(r.refund_id);
      if (it == times(Table::refunds).end()) continue;
      if (Status x = upsert(stmt(Table::refunds), refund_row(b, r, it->second)); !x.is_ok())
        return x;
    }
    for (const ChargebackRecord& c : b.chargebacks) {
      auto it = times(Table::chargebacks).find(std::to_string(c.dispute_id));
      if (it == times(Table::chargebacks).end()) continue;
      if (Status x = upsert(stmt(Table::chargebacks), chargeback_row(b, c, it->second)); !x.is_ok())
        return x;
    }
    auto it = times(Table::disputes).find(b.terms.booking_id);
    if (b.dispute && it != times(Table::disputes).end()) {
      if (Status x = upsert(stmt(Table::disputes), dispute_row(b, it->second)); !x.is_ok())
        return x;
    }
  }
  if (after.provider) {
    for (const auto& [payout_id, t] : times(Table::payouts)) {
      const PayoutRecord* p = after.provider->find_payout(payout_id);
      LEDGER_ASSERT(p != nullptr, "a touched payout exists in the provider's state");
      if (Status x = upsert(stmt(Table::payouts), payout_row(*after.provider, *p, t)); !x.is_ok())
        return x;
    }
  }
  return Status::ok();
}

}  // namespace

void bind_row(sqlite::Stmt& stmt, const Row& row) {
  for (size_t i = 0; i < row.size(); ++i) {
    int index = static_cast<int>(i + 1);
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>)
            stmt.bind_null(index);
          else
            stmt.bind(index, v);
        },
        row[i]);
  }
}

std::string insert_sql(const TableSpec& spec, const std::string& table_name) {
  return "INSERT INTO " + table_name + " (" + join_columns(spec) + ") VALUES (" +
         placeholders(spec.columns.size()) + ")";
}

std::string select_sql(const TableSpec& spec, std::string_view rest) {
  return "SELECT " + join_columns(spec) + " FROM " + spec.name + " " + std::string(rest);
}

Row read_row(const sqlite::Stmt& stmt, size_t columns) {
  Row row;
  row.reserve(columns);
  for (size_t i = 0; i < columns; ++i) {
    int col = static_cast<int>(i);
    switch (sqlite3_column_type(stmt.raw(), col)) {
      case SQLITE_NULL:
        row.emplace_back();
        break;
      case SQLITE_INTEGER:
        row.emplace_back(stmt.column_int64(col));
        break;
      default:
        row.emplace_back(stmt.column_text(col));
        break;
    }
  }
  return row;
}

std::string upsert_sql(const TableSpec& spec, const std::string& table_name) {
  std::string key, set;
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    const char* c = spec.columns[i];
    if (static_cast<int>(i) < spec.key_columns) {
      key += (key.empty() ? "" : ", ") + std::string(c);
    } else if (!listed(spec.insert_only, c)) {
      // A milestone column keeps its value when this command did not reach that step.
      bool kept = listed(spec.kept_unless_given, c);
      std::string value =
          kept ? "COALESCE(excluded." + std::string(c) + ", " + table_name + "." + c + ")"
               : "excluded." + std::string(c);
      set += (set.empty() ? "" : ", ") + std::string(c) + " = " + value;
    }
  }
  return insert_sql(spec, table_name) + " ON CONFLICT (" + key + ") DO UPDATE SET " + set;
}

LiveProjections::LiveProjections() = default;
LiveProjections::~LiveProjections() = default;

Result<LiveProjections::Statements*> LiveProjections::statements(sqlite::Db& db) {
  if (statements_ && statements_db_ == db.raw()) return statements_.get();
  auto fresh = std::make_unique<Statements>();
  for (const TableSpec& spec : table_specs()) {
    auto stmt = db.prepare(upsert_sql(spec, spec.name));
    if (!stmt.is_ok()) return stmt.status();
    fresh->upsert[static_cast<int>(spec.table)] = std::move(stmt).value();
  }
  struct Named {
    sqlite::Stmt* target;
    const char* sql;
  };
  std::string delivery_sql = select_sql(spec(Table::webhook_deliveries), "WHERE id = ?");
  Named named[] = {
      {&fresh->ledger_entry, nullptr},
      {&fresh->delivery_by_id, delivery_sql.c_str()},
      {&fresh->account_delta,
       "INSERT INTO account_balances (account, currency, balance) VALUES (?, ?, ?) "
       "ON CONFLICT (account, currency) DO UPDATE SET balance = balance + excluded.balance"},
      {&fresh->provider_available,
       "SELECT available FROM provider_balances WHERE provider_id = ? AND currency = ?"},
      {&fresh->provider_delta,
       "INSERT INTO provider_balances (provider_id, currency, available, pending_escrow, "
       "in_flight, total_earned) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (provider_id, currency) "
       "DO UPDATE SET available = available + excluded.available, pending_escrow = "
       "pending_escrow + excluded.pending_escrow, in_flight = in_flight + excluded.in_flight, "
       "total_earned = total_earned + excluded.total_earned"},
  };
  std::string entry_sql = insert_sql(spec(Table::ledger_entries), "ledger_entries");
  named[0].sql = entry_sql.c_str();
  for (Named& n : named) {
    auto stmt = db.prepare(n.sql);
    if (!stmt.is_ok()) return stmt.status();
    *n.target = std::move(stmt).value();
  }
  statements_ = std::move(fresh);
  statements_db_ = db.raw();
  return statements_.get();
}

namespace {

// Ledger entries, account balances and provider balances of one event; notes what it touched.
//
// A payout or withdrawal is decided on a balance read before its append; a chargeback appended
// to a booking stream in between (it does not move the provider stream) may have taken that
// balance. A debit that leaves a provider's available balance below zero, other than a
// chargeback's, is refused here, in the append's transaction, as a conflict: the shell decides
// again on the balance as it now is.
Status apply_event(sqlite::Stmt& entry, sqlite::Stmt& account_delta, sqlite::Stmt& provider_delta,
                   sqlite::Stmt& provider_available, const RecordedEvent& r, const Event& event,
                   std::string_view booking_provider, Touched& touched) {
  if (r.stream.starts_with("booking-")) {
    touched.booking = true;
    touched.booking_times.touch(r.recorded_at_ms);
    if (std::holds_alternative<BookingCreated>(event)) touched.created_seq = r.seq;
  }
  for (const Touch& t : touches(event))
    touched.by_table[static_cast<int>(t.table)][t.key].touch(r.recorded_at_ms);
  std::vector<Posting> postings = postings_for(event);
  for (size_t i = 0; i < postings.size(); ++i) {
    const Posting& p = postings[i];
    const char* currency = currency_code(p.amount.currency);
    if (Status x = upsert(entry, ledger_entry_row(r.seq, static_cast<int>(i), p)); !x.is_ok())
      return x;
    account_delta.bind(1, p.debit_account).bind(2, currency).bind(3, -p.amount.amount_minor);
    if (Status x = account_delta.run(); !x.is_ok()) return x;
    account_delta.bind(1, p.credit_account).bind(2, currency).bind(3, p.amount.amount_minor);
    if (Status x = account_delta.run(); !x.is_ok()) return x;
  }
  for (const ProviderBalanceDelta& d : provider_balance_deltas(event, postings, booking_provider)) {
    provider_delta.bind(1, d.provider_id).bind(2, currency_code(d.currency));
    provider_delta.bind(3, d.available).bind(4, d.pending_escrow).bind(5, d.in_flight);
    provider_delta.bind(6, d.total_earned);
    if (Status x = provider_delta.run(); !x.is_ok()) return x;
    if (d.available >= 0 || may_overdraw(event, provider_available_account(d.provider_id)))
      continue;
    provider_available.bind(1, d.provider_id).bind(2, currency_code(d.currency));
    Result<bool> row = provider_available.step();
    if (!row.is_ok()) return row.status();
    int64_t now = row.value() ? provider_available.column_int64(0) : 0;
    provider_available.reset();
    if (now < 0)
      return Status(StatusCode::conflict, "provider " + d.provider_id +
                                              "'s available balance changed since the decision");
  }
  return Status::ok();
}

}  // namespace

Status LiveProjections::apply(sqlite::Db& db, const StreamStates& after,
                              std::span<const RecordedEvent> recorded) {
  auto st = statements(db);
  if (!st.is_ok()) return st.status();
  Statements& s = *st.value();
  Touched touched;
  std::string booking_provider = after.booking ? after.booking->terms.provider_id : "";
  // The shell hands over the events it decided, in append order; others are decoded.
  bool typed = after.events.size() == recorded.size();
  for (size_t i = 0; i < recorded.size(); ++i) {
    const RecordedEvent& r = recorded[i];
    Result<Event> decoded = Status(StatusCode::not_found, "");
    if (!typed) {
      decoded = decode_event(r.type, r.data);
      if (!decoded.is_ok()) return decoded.status();
    }
    const Event& event = typed ? after.events[i] : decoded.value();
    LEDGER_ASSERT(r.type == event_type(event), "recorded events follow the decided order");
    if (after.booking && r.stream.starts_with("booking-"))
      touched.milestones.note(event, r.recorded_at_ms, *after.booking);
    if (Status x = apply_event(s.ledger_entry, s.account_delta, s.provider_delta,
                               s.provider_available, r, event, booking_provider, touched);
        !x.is_ok())
      return x;
  }
  return write_touched_rows(s.upsert, after, touched);
}

Status LiveProjections::apply_webhook_events(sqlite::Db& db,
                                             std::span<const RecordedEvent> recorded) {
  auto st = statements(db);
  if (!st.is_ok()) return st.status();
  Statements& s = *st.value();
  sqlite::Stmt& upsert_delivery = s.upsert[static_cast<int>(Table::webhook_deliveries)];
  for (const RecordedEvent& r : recorded) {
    if (r.stream != webhook_stream) continue;
    Result<WebhookEvent> event = decode_webhook_event(r.type, r.data);
    if (!event.is_ok()) return event.status();
    DeliveryRow delivery;
    if (const auto* received = std::get_if<WebhookReceived>(&event.value())) {
      delivery = delivery_received(r.seq, r.recorded_at_ms, *received);
    } else {
      const auto& processed = std::get<WebhookProcessed>(event.value());
      s.delivery_by_id.bind(1, processed.delivery_id);
      Result<bool> found = s.delivery_by_id.step();
      if (found.is_ok() && found.value())
        delivery = delivery_from_row(
            read_row(s.delivery_by_id, spec(Table::webhook_deliveries).columns.size()));
      s.delivery_by_id.reset();
      if (!found.is_ok()) return found.status();
      if (!found.value())
        return Status(StatusCode::not_found,
                      "no webhook delivery " + std::to_string(processed.delivery_id));
      delivery_processed(delivery, processed, r.recorded_at_ms);
    }
    if (Status x = upsert(upsert_delivery, delivery_row(delivery)); !x.is_ok()) return x;
  }
  return Status::ok();
}

}  // namespace escrow::projections

namespace escrow::projections {

Result<Money> LiveProjections::available_balance(sqlite::Db& db, std::string_view provider_id,
                                                 Currency currency) {
  auto stmt =
      db.prepare("SELECT available FROM provider_balances WHERE provider_id = ? AND currency = ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, provider_id).bind(2, currency_code(currency));
  Result<bool> row = stmt->step();
  if (!row.is_ok()) return row.status();
  return Money{row.value() ? stmt->column_int64(0) : 0, currency};
}

}  // namespace escrow::projections
