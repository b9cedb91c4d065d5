#include "projections/rebuild.h"

#include <algorithm>
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
#include "projections/log_scan.h"

namespace escrow::projections {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual bool wants(Table) const { return true; }  // rows of other tables need not be made
  virtual Status row(Table table, Row row) = 0;
};

// When each record of a booking (a payment, a refund, ...) was first and last touched, by key. A
// booking has a handful of each, so a short list beats a hash table.
class TouchedRecords {
 public:
  Times& at(const std::string& key) {
    for (auto& [k, times] : records_)
      if (k == key) return times;
    records_.emplace_back(key, Times());
    return records_.back().second;
  }
  const Times& of(std::string_view key) const {
    for (const auto& [k, times] : records_)
      if (k == key) return times;
    LEDGER_ASSERT(false, "every record of a state was touched by an event");
    return records_.front().second;
  }

 private:
  std::vector<std::pair<std::string, Times>> records_;
};

struct BookingAgg {
  BookingState state;
  Times times;
  Milestones milestones;
  int64_t created_seq = 0;
  TouchedRecords touched[table_count];
};

struct ProviderAgg {
  ProviderState state;
  TouchedRecords payouts;
};

struct BalanceSums {
  int64_t available = 0, pending_escrow = 0, in_flight = 0, total_earned = 0;
};

// "<name>\n<currency>": the key of a balance per account (or provider) and currency.
void balance_key(std::string& key, std::string_view name, Currency currency) {
  key.assign(name);
  key.push_back('\n');
  key.append(currency_code(currency));
}

template <class Map>
typename Map::mapped_type& find_or_add(Map& map, const std::string& key) {
  auto it = map.find(key);
  if (it == map.end()) it = map.emplace(key, typename Map::mapped_type()).first;
  return it->second;
}

// The whole log folded in memory, in seq order: the same states and rows the live path writes.
class Fold {
 public:
  // Sized for a log of `events` events, so the tables rarely grow while folding.
  explicit Fold(int64_t events) {
    size_t expected = static_cast<size_t>(std::max<int64_t>(events, 0) / 8);
    bookings_.reserve(expected);
    accounts_.reserve(expected);
  }
  // Applies one event. A broken rule is described in `problem` (the event is then not applied).
  void apply(const ScannedEvent& e, const Event& event, std::string& problem);
  void apply_webhook(const ScannedEvent& e, const WebhookEvent& event, std::string& problem);
  // Emits the rows of the end state, the `part`-th of `parts` slices of them: the slices can be
  // emitted on as many threads at once (each reads the fold only), and together they are all the
  // rows exactly once.
  Status finish(int part, int parts, RowSink& sink) const;
  // Frees the states of the `part`-th slice (once its rows are out), so that the states are
  // freed on every core rather than all at the end on one.
  void release(int part, int parts);
  // Frees the `part`-th of `parts` shares of the fold's tables, once every slice is released.
  void clear(int part, int parts);

 private:
  void post(const ScannedEvent& e, const Event& event, std::string_view booking_provider,
            std::string& problem);
  Status finish_bookings(int part, int parts, RowSink& sink) const;

  std::unordered_map<std::string, BookingAgg> bookings_;
  std::unordered_map<std::string, ProviderAgg> providers_;
  std::unordered_map<std::string, int64_t> accounts_;               // balance_key -> balance
  std::unordered_map<std::string, BalanceSums> provider_balances_;  // balance_key -> sums
  std::unordered_map<int64_t, DeliveryRow> deliveries_;  // by id (the WebhookReceived's seq)
  std::unordered_set<std::string> delivery_keys_;
  std::string key_;  // scratch for balance keys
};

void Fold::apply(const ScannedEvent& e, const Event& event, std::string& problem) {
  std::string_view stream = e.stream;
  if (stream.starts_with("booking-")) {
    BookingAgg& agg = find_or_add(bookings_, e.stream.substr(8));
    if (e.version != agg.state.version + 1) {
      problem = "stream " + e.stream + " skips from version " + std::to_string(agg.state.version) +
                " to " + std::to_string(e.version);
      return;
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
        return;
      }
    }
    evolve(agg.state, event);
    agg.times.touch(e.recorded_at_ms);
    agg.milestones.note(event, e.recorded_at_ms, agg.state);
    if (std::holds_alternative<BookingCreated>(event)) agg.created_seq = e.seq;
    for (const Touch& t : touches(event))
      agg.touched[static_cast<int>(t.table)].at(t.key).touch(e.recorded_at_ms);
    const BookingState& s = agg.state;
    if (s.released_minor + s.refunded_minor + s.charged_back_minor > s.captured_minor) {
      problem = "booking " + s.terms.booking_id +
                " released, refunded and charged back more than captured";
      return;
    }
    return post(e, event, s.terms.provider_id, problem);
  }
  if (stream.starts_with("provider-")) {
    ProviderAgg& agg = find_or_add(providers_, e.stream.substr(9));
    if (e.version != agg.state.version + 1) {
      problem = "stream " + e.stream + " skips a version";
      return;
    }
    evolve(agg.state, event);
    agg.state.provider_id = std::string(stream.substr(9));
    for (const Touch& t : touches(event)) agg.payouts.at(t.key).touch(e.recorded_at_ms);
    return post(e, event, "", problem);
  }
  // another subsystem's stream: no projection of these
}

// The webhook log's own rules: one delivery per key, attempts numbered 1, 2, 3, ...
void Fold::apply_webhook(const ScannedEvent& e, const WebhookEvent& event, std::string& problem) {
  if (const auto* received = std::get_if<WebhookReceived>(&event)) {
    if (!delivery_keys_.insert(received->dedupe_key).second) {
      problem = "webhook delivery key " + received->dedupe_key + " is stored twice";
      return;
    }
    deliveries_.emplace(e.seq, delivery_received(e.seq, e.recorded_at_ms, *received));
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
    delivery_processed(it->second, processed, e.recorded_at_ms);
  }
}

// The account balances and provider balances of an event's postings (its ledger_entries rows are
// digested, and written, from the postings the reader derived).
void Fold::post(const ScannedEvent& e, const Event& event, std::string_view booking_provider,
                std::string& problem) {
  for (const Posting& p : e.postings) {
    balance_key(key_, p.debit_account, p.amount.currency);
    int64_t& debit = find_or_add(accounts_, key_);
    debit -= p.amount.amount_minor;
    balance_key(key_, p.credit_account, p.amount.currency);
    find_or_add(accounts_, key_) += p.amount.amount_minor;
    if (debit < 0 && account_is_non_negative(p.debit_account) &&
        !may_overdraw(event, p.debit_account) && problem.empty())
      problem = "account " + p.debit_account + " would go negative";
  }
  for (const ProviderBalanceDelta& d :
       provider_balance_deltas(event, e.postings, booking_provider)) {
    balance_key(key_, d.provider_id, d.currency);
    BalanceSums& sums = find_or_add(provider_balances_, key_);
    sums.available += d.available;
    sums.pending_escrow += d.pending_escrow;
    sums.in_flight += d.in_flight;
    sums.total_earned += d.total_earned;
  }
}

// Calls f(key, value) for the entries of the `part`-th of `parts` slices of the map's buckets.
template <class Map, class F>
Status for_slice(Map& map, int part, int parts, F&& f) {
  size_t buckets = map.bucket_count();
  size_t first = buckets * part / parts, last = buckets * (part + 1) / parts;
  for (size_t b = first; b < last; ++b) {
    for (auto it = map.begin(b); it != map.end(b); ++it) {
      if (Status s = f(it->first, it->second); !s.is_ok()) return s;
    }
  }
  return Status::ok();
}

const std::vector<ChargeRecord> no_charges;
const std::vector<RefundRecord> no_refunds;
const std::vector<ChargebackRecord> no_chargebacks;

std::pair<std::string_view, std::string_view> split_balance_key(std::string_view key) {
  size_t split = key.rfind('\n');
  return {key.substr(0, split), key.substr(split + 1)};
}

Status Fold::finish_bookings(int part, int parts, RowSink& sink) const {
  bool wanted[table_count];
  for (int t = 0; t < table_count; ++t) wanted[t] = sink.wants(static_cast<Table>(t));
  auto wants = [&](Table t) { return wanted[static_cast<int>(t)]; };
  if (!wants(Table::bookings) && !wants(Table::payments) && !wants(Table::refunds) &&
      !wants(Table::chargebacks) && !wants(Table::disputes))
    return Status::ok();
  return for_slice(bookings_, part, parts, [&](const std::string& id, const BookingAgg& agg) {
    const BookingState& b = agg.state;
    if (!b.exists()) return Status::ok();
    auto touched = [&](Table t) -> const TouchedRecords& {
      return agg.touched[static_cast<int>(t)];
    };
    if (wants(Table::bookings)) {
      Row row = booking_row(b, agg.times, agg.created_seq, agg.milestones);
      if (Status s = sink.row(Table::bookings, std::move(row)); !s.is_ok()) return s;
    }
    for (const ChargeRecord& c : wants(Table::payments) ? b.charges : no_charges) {
      const Times& t = touched(Table::payments).of(c.reference);
      if (Status s = sink.row(Table::payments, payment_row(b, c, t)); !s.is_ok()) return s;
    }
    for (const RefundRecord& r : wants(Table::refunds) ? b.refunds : no_refunds) {
      const Times& t = touched(Table::refunds).of(r.refund_id);
      if (Status s = sink.row(Table::refunds, refund_row(b, r, t)); !s.is_ok()) return s;
    }
    for (const ChargebackRecord& c : wants(Table::chargebacks) ? b.chargebacks : no_chargebacks) {
      const Times& t = touched(Table::chargebacks).of(std::to_string(c.dispute_id));
      if (Status s = sink.row(Table::chargebacks, chargeback_row(b, c, t)); !s.is_ok()) return s;
    }
    if (b.dispute && wants(Table::disputes)) {
      const Times& t = touched(Table::disputes).of(id);
      if (Status s = sink.row(Table::disputes, dispute_row(b, t)); !s.is_ok()) return s;
    }
    return Status::ok();
  });
}

Status Fold::finish(int part, int parts, RowSink& sink) const {
  if (Status s = finish_bookings(part, parts, sink); !s.is_ok()) return s;
  if (sink.wants(Table::payouts)) {
    Status s = for_slice(providers_, part, parts, [&](const std::string&, const ProviderAgg& agg) {
      for (const PayoutRecord& p : agg.state.payouts) {
        Row row = payout_row(agg.state, p, agg.payouts.of(p.payout_id));
        if (Status s = sink.row(Table::payouts, std::move(row)); !s.is_ok()) return s;
      }
      return Status::ok();
    });
    if (!s.is_ok()) return s;
  }
  if (sink.wants(Table::provider_balances)) {
    Status s = for_slice(provider_balances_, part, parts,
                         [&](const std::string& key, const BalanceSums& b) {
                           auto [provider, currency] = split_balance_key(key);
                           Row row{std::string(provider), std::string(currency), b.available,
                                   b.pending_escrow,      b.in_flight,           b.total_earned};
                           return sink.row(Table::provider_balances, std::move(row));
                         });
    if (!s.is_ok()) return s;
  }
  if (sink.wants(Table::account_balances)) {
    Status s = for_slice(accounts_, part, parts, [&](const std::string& key, int64_t balance) {
      auto [account, currency] = split_balance_key(key);
      return sink.row(Table::account_balances,
                      Row{std::string(account), std::string(currency), balance});
    });
    if (!s.is_ok()) return s;
  }
  if (!sink.wants(Table::webhook_deliveries)) return Status::ok();
  return for_slice(deliveries_, part, parts, [&](int64_t, const DeliveryRow& delivery) {
    return sink.row(Table::webhook_deliveries, delivery_row(delivery));
  });
}

void Fold::release(int part, int parts) {
  auto clear = [](const auto&, auto& value) {
    value = std::decay_t<decltype(value)>();
    return Status::ok();
  };
  (void)for_slice(bookings_, part, parts, clear);
  (void)for_slice(providers_, part, parts, clear);
  (void)for_slice(deliveries_, part, parts, clear);
}

void Fold::clear(int part, int parts) {
  int i = 0;
  auto share = [&](auto& map) {
    if (i++ % parts == part) std::decay_t<decltype(map)>().swap(map);
  };
  share(bookings_);
  share(accounts_);
  share(providers_);
  share(provider_balances_);
  share(deliveries_);
  share(delivery_keys_);
}

class DigestSink final : public RowSink {
 public:
  Status row(Table table, Row row) override {
    digests[static_cast<int>(table)].add(row);
    return Status::ok();
  }
  TableDigest digests[table_count];
};

// Keeps the rows of some tables, with their digests, for the shadow tables.
class RowCollector final : public RowSink {
 public:
  explicit RowCollector(std::set<Table> tables) : tables_(std::move(tables)) {}
  bool wants(Table table) const override { return tables_.count(table) > 0; }
  Status row(Table table, Row row) override {
    if (!tables_.count(table)) return Status::ok();
    digests[static_cast<int>(table)].add(row);
    rows[static_cast<int>(table)].push_back(std::move(row));
    return Status::ok();
  }
  TableDigest digests[table_count];
  std::vector<Row> rows[table_count];

 private:
  std::set<Table> tables_;
};

// Emits the fold's end state into one sink per slice, each slice on a thread of its own, and
// (when `release` is set) frees each slice's states once its rows are out.
Status finish_on_every_core(Fold& fold, std::vector<RowSink*> sinks, bool release = true) {
  std::vector<Status> statuses(sinks.size());
  std::vector<std::thread> threads;
  int parts = static_cast<int>(sinks.size());
  auto finish = [&](int part) {
    statuses[part] = fold.finish(part, parts, *sinks[part]);
    if (release) fold.release(part, parts);
  };
  for (int part = 1; part < parts; ++part) threads.emplace_back(finish, part);
  finish(0);
  for (std::thread& t : threads) t.join();
  threads.clear();
  if (release) {
    for (int part = 1; part < parts; ++part)
      threads.emplace_back([&, part] { fold.clear(part, parts); });
    fold.clear(0, parts);
    for (std::thread& t : threads) t.join();
  }
  for (const Status& s : statuses)
    if (!s.is_ok()) return s;
  return Status::ok();
}

std::string shadow_name(Table t) {
  return std::string(spec(t).name) + "__shadow";
}

void bind_value(sqlite3_stmt* stmt, int index, const SqlValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) {
    sqlite3_bind_int64(stmt, index, *i);
  } else if (const auto* text = std::get_if<std::string>(&value)) {
    sqlite3_bind_text64(stmt, index, text->data(), text->size(), SQLITE_STATIC, SQLITE_UTF8);
  } else {
    sqlite3_bind_null(stmt, index);
  }
}

// Writes rows into the shadow tables, many rows per INSERT: the statement's own cost (stepping,
// resetting) is paid once per batch rather than once per row. Values are bound without copying,
// so the rows given must stay as they are until the call returns.
class ShadowWriter {
 public:
  static constexpr int batch_rows_max = 64;
  static constexpr int batch_params_max = 999;  // SQLite's smallest limit on parameters

  ShadowWriter(sqlite::Db& db, const std::set<Table>& tables) : db_(db), tables_(tables) {
    for (Table t : tables) {
      if (Status s = prepare(t); !s.is_ok()) {
        status_ = s;
        return;
      }
    }
  }
  const Status& status() const { return status_; }
  bool writes(Table t) const { return tables_.count(t) > 0; }

  // The ledger_entries rows of a chunk's events, in (seq, idx) order.
  Status ledger_entries(const ScanChunk& chunk);
  Status rows(Table t, const std::vector<Row>& rows);

 private:
  struct Insert {
    sqlite::Stmt batch, single;
    int batch_rows = 1;
    int columns = 0;
  };
  Status prepare(Table t);
  Status step(sqlite3_stmt* stmt);
  template <class Bind>
  Status insert(Table t, size_t count, Bind&& bind);

  sqlite::Db& db_;
  std::set<Table> tables_;
  Insert inserts_[table_count];
  Status status_;
};

Status ShadowWriter::prepare(Table t) {
  const TableSpec& s = spec(t);
  Insert& insert = inserts_[static_cast<int>(t)];
  insert.columns = static_cast<int>(s.columns.size());
  insert.batch_rows = std::clamp(batch_params_max / insert.columns, 1, batch_rows_max);
  std::string columns, one_row;
  for (const char* c : s.columns) {
    columns += (columns.empty() ? "" : ", ") + std::string(c);
    one_row += one_row.empty() ? "(?" : ", ?";
  }
  one_row += ")";
  std::string head = "INSERT INTO " + shadow_name(t) + " (" + columns + ") VALUES ";
  std::string batch = head;
  for (int r = 0; r < insert.batch_rows; ++r) batch += (r ? ", " : "") + one_row;
  auto batch_stmt = db_.prepare(batch);
  if (!batch_stmt.is_ok()) return batch_stmt.status();
  auto single_stmt = db_.prepare(head + one_row);
  if (!single_stmt.is_ok()) return single_stmt.status();
  insert.batch = std::move(batch_stmt).value();
  insert.single = std::move(single_stmt).value();
  return Status::ok();
}

Status ShadowWriter::step(sqlite3_stmt* stmt) {
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc == SQLITE_DONE) return Status::ok();
  return sqlite::status_from_code(sqlite3_extended_errcode(db_.raw()), "insert", db_.raw());
}

// Inserts `count` rows, bind(stmt, first_parameter, i) binding the i-th: whole batches first,
// then the rest one by one.
template <class Bind>
Status ShadowWriter::insert(Table t, size_t count, Bind&& bind) {
  Insert& insert = inserts_[static_cast<int>(t)];
  size_t batch = static_cast<size_t>(insert.batch_rows);
  size_t i = 0;
  for (; batch > 1 && i + batch <= count; i += batch) {
    for (size_t r = 0; r < batch; ++r)
      bind(insert.batch.raw(), static_cast<int>(r) * insert.columns + 1, i + r);
    if (Status s = step(insert.batch.raw()); !s.is_ok()) return s;
  }
  for (; i < count; ++i) {
    bind(insert.single.raw(), 1, i);
    if (Status s = step(insert.single.raw()); !s.is_ok()) return s;
  }
  return Status::ok();
}

Status ShadowWriter::ledger_entries(const ScanChunk& chunk) {
  struct Entry {
    int64_t seq;
    int idx;
    const Posting* posting;
  };
  thread_local std::vector<Entry> entries;
  entries.clear();
  for (size_t i = 0; i < chunk.count; ++i) {
    const ScannedEvent& e = chunk.events[i];
    for (size_t p = 0; p < e.postings.size(); ++p)
      entries.push_back(Entry{e.seq, static_cast<int>(p), &e.postings[p]});
  }
  // The columns of ledger_entry_row(), bound straight from the posting.
  return insert(Table::ledger_entries, entries.size(),
                [&](sqlite3_stmt* stmt, int first, size_t i) {
                  const Entry& entry = entries[i];
                  const Posting& p = *entry.posting;
                  sqlite3_bind_int64(stmt, first, entry.seq);
                  sqlite3_bind_int64(stmt, first + 1, entry.idx);
                  sqlite3_bind_text64(stmt, first + 2, p.debit_account.data(),
                                      p.debit_account.size(), SQLITE_STATIC, SQLITE_UTF8);
                  sqlite3_bind_text64(stmt, first + 3, p.credit_account.data(),
                                      p.credit_account.size(), SQLITE_STATIC, SQLITE_UTF8);
                  sqlite3_bind_int64(stmt, first + 4, p.amount.amount_minor);
                  sqlite3_bind_text64(stmt, first + 5, currency_code(p.amount.currency), 3,
                                      SQLITE_STATIC, SQLITE_UTF8);
                });
}

Status ShadowWriter::rows(Table t, const std::vector<Row>& rows) {
  return insert(t, rows.size(), [&](sqlite3_stmt* stmt, int first, size_t i) {
    const Row& row = rows[i];
    for (size_t c = 0; c < row.size(); ++c) bind_value(stmt, first + static_cast<int>(c), row[c]);
  });
}

Result<int64_t> max_seq(sqlite::Db& db) {
  auto stmt = db.prepare("SELECT COALESCE(MAX(seq), 0) FROM events");
  if (!stmt.is_ok()) return stmt.status();
  auto row = stmt->step();
  if (!row.is_ok()) return row.status();
  return stmt->column_int64(0);
}

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
  sql.replace(0, name_end, head + shadow_name(t));
  if (Status s = db.exec("DROP TABLE IF EXISTS " + shadow_name(t)); !s.is_ok()) return s;
  return db.exec(sql);
}

// The live tables a rebuild replaces. Their indexes' definitions are read first; the old tables
// can then be dropped early (inside the rebuild's transaction, while the log is still being
// read: other connections go on seeing them until the commit), and each shadow is swapped in
// under the live name with those indexes recreated.
class LiveTables {
 public:
  Status read_indexes(sqlite::Db& db, const std::set<Table>& tables) {
    for (Table t : tables) {
      auto indexes = ddl_of(db, "index", spec(t).name);
      if (!indexes.is_ok()) return indexes.status();
      indexes_[static_cast<int>(t)] = std::move(indexes).value();
      replaced_[static_cast<int>(t)] = true;
    }
    return Status::ok();
  }
  Status drop_all(sqlite::Db& db) {
    for (int t = 0; t < table_count; ++t) {
      if (Status s = drop(db, static_cast<Table>(t)); !s.is_ok()) return s;
    }
    return Status::ok();
  }
  // Replaces the live table with its shadow and recreates the live table's indexes.
  Status swap_in(sqlite::Db& db, Table t) {
    if (Status s = drop(db, t); !s.is_ok()) return s;
    if (Status s = db.exec("ALTER TABLE " + shadow_name(t) + " RENAME TO " + spec(t).name);
        !s.is_ok())
      return s;
    for (const std::string& sql : indexes_[static_cast<int>(t)]) {
      if (Status s = db.exec(sql); !s.is_ok()) return s;
    }
    return Status::ok();
  }

 private:
  Status drop(sqlite::Db& db, Table t) {
    int i = static_cast<int>(t);
    if (!replaced_[i] || dropped_[i]) return Status::ok();
    if (Status s = db.exec("DROP TABLE " + std::string(spec(t).name)); !s.is_ok()) return s;
    dropped_[i] = true;
    return Status::ok();
  }

  std::vector<std::string> indexes_[table_count];
  bool replaced_[table_count] = {};
  bool dropped_[table_count] = {};
};

struct FoldOutcome {
  int64_t events = 0;
  std::optional<int64_t> bad_seq;
  std::string problem;
  TableDigest ledger_entries;  // the rows of the postings of the events folded
};

// The fold as a lane of the scan: each chunk's events in seq order, up to the first problem (a
// rule the fold checks, or one the reader found).
class FoldLane {
 public:
  FoldLane(Fold& fold, FoldOutcome& out, const Progress& progress, int64_t total)
      : fold_(fold), out_(out), progress_(progress), total_(total) {}
  bool operator()(const ScanChunk& chunk);

 private:
  Fold& fold_;
  FoldOutcome& out_;
  const Progress& progress_;
  int64_t total_;
  int64_t next_progress_ = progress_every_events;
};

bool FoldLane::operator()(const ScanChunk& chunk) {
  std::string problem;
  for (size_t i = 0; i < chunk.count; ++i) {
    const ScannedEvent& e = chunk.events[i];
    if (const auto* event = std::get_if<Event>(&e.event))
      fold_.apply(e, *event, problem);
    else if (const auto* webhook = std::get_if<WebhookEvent>(&e.event))
      fold_.apply_webhook(e, *webhook, problem);
    if (!problem.empty()) {
      out_.events = chunk.rows_before + static_cast<int64_t>(i) + 1;
      out_.bad_seq = e.seq;
      out_.problem = "seq " + std::to_string(e.seq) + ": " + problem;
      return false;
    }
  }
  out_.events = chunk.rows_before + static_cast<int64_t>(chunk.count);
  out_.ledger_entries.merge(chunk.ledger_digest);
  if (chunk.problem_seq) {
    ++out_.events;
    out_.bad_seq = chunk.problem_seq;
    out_.problem = chunk.problem;
    return false;
  }
  if (progress_ && out_.events >= next_progress_) {
    progress_(out_.events, total_);
    next_progress_ = (out_.events / progress_every_events + 1) * progress_every_events;
  }
  return true;
}

// Reads the log up to `last_seq` on every core (checking the hash chain when `chain` is set) and
// folds it in seq order; `lanes` see every chunk after the fold does.
Status fold_log(const std::string& path, int64_t last_seq, bool chain, const ScanShape& shape,
                Fold& fold, const Progress& progress, FoldOutcome& out, std::vector<Lane> lanes) {
  FoldLane fold_lane(fold, out, progress, last_seq);
  lanes.insert(lanes.begin(), [&](const ScanChunk& chunk) { return fold_lane(chunk); });
  ScanOptions options;
  options.path = path;
  options.last_seq = last_seq;
  options.chain = chain;
  options.threads = shape.threads;
  if (shape.chunk_events > 0) options.chunk_events = shape.chunk_events;
  if (Status s = scan_log(options, lanes); !s.is_ok()) return s;
  if (progress) progress(out.events, last_seq);
  return Status::ok();
}

// Runs a task on a thread of its own, beside whatever this thread does; wait() (or the
// destructor) joins it.
class Background {
 public:
  explicit Background(std::function<Status()> task)
      : thread_([this, task = std::move(task)] { status_ = task(); }) {}
  ~Background() { (void)wait(); }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  Status wait() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  Status status_;
  std::thread thread_;  // declared last: started once status_ exists
};

int threads_for(const ScanShape& shape) {
  return shape.threads > 0 ? shape.threads : scan_threads_default();
}

void sort_by_key(std::vector<Row>& rows, int key_columns) {
  std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    for (int i = 0; i < key_columns; ++i) {
      if (a[i] < b[i]) return true;
      if (b[i] < a[i]) return false;
    }
    return false;
  });
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

void TableDigest::add_ledger_entry(int64_t seq, int idx, const Posting& posting) {
  thread_local std::string bytes;
  bytes.clear();
  serialize_int(bytes, seq);
  serialize_int(bytes, idx);
  serialize_text(bytes, posting.debit_account);
  serialize_text(bytes, posting.credit_account);
  serialize_int(bytes, posting.amount.amount_minor);
  serialize_text(bytes, currency_code(posting.amount.currency));
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

void TableDigest::merge(const TableDigest& other) {
  lanes[0] += other.lanes[0];
  lanes[1] += other.lanes[1];
  rows += other.rows;
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

namespace {

// The rows of one table of the end state, digested and in key order.
struct TableRows {
  Table table = Table::bookings;
  std::vector<Row> rows;
  TableDigest digest;
};

// The rows of `table.table` in the end state, made in `parts` slices at once, digested and sorted.
Status make_rows(Fold& fold, int parts, TableRows& table) {
  int t = static_cast<int>(table.table);
  std::vector<std::unique_ptr<RowCollector>> collectors;
  std::vector<RowSink*> sinks;
  for (int i = 0; i < parts; ++i) {
    collectors.push_back(std::make_unique<RowCollector>(std::set<Table>{table.table}));
    sinks.push_back(collectors.back().get());
  }
  if (Status s = finish_on_every_core(fold, sinks, false); !s.is_ok()) return s;
  for (auto& c : collectors) {
    table.rows.insert(table.rows.end(), std::make_move_iterator(c->rows[t].begin()),
                      std::make_move_iterator(c->rows[t].end()));
    table.digest.merge(c->digests[t]);
  }
  sort_by_key(table.rows, spec(table.table).key_columns);
  return Status::ok();
}

// Makes the end state's rows table by table on a thread of its own, each sorted by key so that
// every insert lands at the end of its table's b-trees, while this thread writes the table before
// it and swaps it in. The fold is freed on that thread once its rows are made. `fresh` gets the
// digest of every table written. ledger_entries, written during the scan, is swapped in first.
Status write_end_state(sqlite::Db& db, ShadowWriter& writer, LiveTables& live,
                       const std::set<Table>& tables, std::unique_ptr<Fold> fold,
                       TableDigest (&fresh)[table_count]) {
  constexpr size_t tables_ahead_max = 2;
  std::vector<Table> rest;
  for (Table t : tables)
    if (t != Table::ledger_entries) rest.push_back(t);
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<TableRows> ready;
  Status made;
  bool stop = false;
  std::thread maker([&] {
    for (Table t : rest) {
      // The writer waits for the first table: it is made on every core.
      TableRows table{t, {}, {}};
      Status s = make_rows(*fold, t == rest.front() ? scan_threads_default() : 1, table);
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return ready.size() < tables_ahead_max || stop; });
      if (stop) return;
      if (!s.is_ok()) made = s;
      ready.push_back(std::move(table));
      changed.notify_all();
      if (!s.is_ok()) return;
    }
    fold.reset();
  });
  auto take = [&]() -> std::optional<TableRows> {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return !ready.empty(); });
    if (!made.is_ok()) return std::nullopt;
    TableRows table = std::move(ready.front());
    ready.pop_front();
    changed.notify_all();
    return table;
  };
  auto write = [&]() -> Status {
    if (tables.count(Table::ledger_entries)) {
      if (Status s = live.swap_in(db, Table::ledger_entries); !s.is_ok()) return s;
    }
    for (size_t i = 0; i < rest.size(); ++i) {
      std::optional<TableRows> table = take();
      if (!table) return made;
      if (Status s = writer.rows(table->table, table->rows); !s.is_ok()) return s;
      if (Status s = live.swap_in(db, table->table); !s.is_ok()) return s;
      fresh[static_cast<int>(table->table)] = table->digest;
    }
    return Status::ok();
  };
  Status status = write();
  {
    std::lock_guard lock(mutex);
    stop = true;
    changed.notify_all();
  }
  maker.join();
  return status;
}

// The connection's settings for a rebuild, put back afterwards.
// - synchronous=NORMAL: a rebuild lost to a power cut leaves the old projections in place, so its
//   commit need not wait for the disk; WAL mode keeps the file consistent either way.
// - secure_delete=FAST: the pages of the dropped tables held what the log holds; zeroing every one
//   of them (the library's default here) would make the commit write each of them once more.
class RebuildSettings {
 public:
  explicit RebuildSettings(sqlite::Db& db)
      : db_(db), synchronous_(read("synchronous", 2)), secure_delete_(read("secure_delete", 1)) {
    (void)db_.exec("PRAGMA synchronous = NORMAL; PRAGMA secure_delete = FAST");
  }
  ~RebuildSettings() {
    (void)db_.exec("PRAGMA synchronous = " + std::to_string(synchronous_));
    const char* secure_delete = secure_delete_ == 2 ? "FAST" : secure_delete_ ? "ON" : "OFF";
    (void)db_.exec(std::string("PRAGMA secure_delete = ") + secure_delete);
  }
  RebuildSettings(const RebuildSettings&) = delete;
  RebuildSettings& operator=(const RebuildSettings&) = delete;

 private:
  int64_t read(const char* pragma, int64_t fallback) {
    auto q = db_.prepare(std::string("PRAGMA ") + pragma);
    if (!q.is_ok()) return fallback;
    auto row = q->step();
    return row.is_ok() && row.value() ? q->column_int64(0) : fallback;
  }

  sqlite::Db& db_;
  int64_t synchronous_, secure_delete_;
};

// Digests each live table on a connection of its own: the rebuild's transaction holds the write
// lock and its changes are not committed, so those connections see the tables as they were when
// it began.
Status digest_live_tables(const std::string& path, const std::set<Table>& tables,
                          TableDigest (&live)[table_count]) {
  auto reader = sqlite::Db::open(path, sqlite::Db::Mode::read_only);
  if (!reader.is_ok()) return reader.status();
  tune_for_scans(reader.value());
  for (Table t : tables) {
    auto digest = table_digest(reader.value(), spec(t), spec(t).name);
    if (!digest.is_ok()) return digest.status();
    live[static_cast<int>(t)] = digest.value();
  }
  return Status::ok();
}

Status record_versions(sqlite::Db& db, const std::set<std::string>& projections,
                       int64_t built_seq) {
  for (const std::string& p : projections) {
    auto stmt = db.prepare(
        "INSERT INTO projection_versions (name, version, built_at, built_seq) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version, built_at = "
        "excluded.built_at, built_seq = excluded.built_seq");
    if (!stmt.is_ok()) return stmt.status();
    stmt->bind(1, p)
        .bind(2, projection_version(p))
        .bind(3, SystemClock().now_ms())
        .bind(4, built_seq);
    if (Status s = stmt->run(); !s.is_ok()) return s;
  }
  return Status::ok();
}

}  // namespace

Result<RebuildReport> rebuild(sqlite::Db& db, const RebuildOptions& options,
                              const ScanShape& shape) {
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
  RebuildSettings settings(db);
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
  std::string path = sqlite3_db_filename(db.raw(), "main");
  LiveTables replaced;
  if (Status s = replaced.read_indexes(db, tables); !s.is_ok()) return s;
  // The writer's lane drops the old tables first, then writes the ledger entries as the log is
  // read, in seq order, beside the fold.
  Status written;
  bool dropped = false;
  std::vector<Lane> lanes;
  lanes.push_back([&](const ScanChunk& chunk) {
    if (!dropped) {
      dropped = true;
      written = replaced.drop_all(db);
    }
    if (written.is_ok() && writer.writes(Table::ledger_entries))
      written = writer.ledger_entries(chunk);
    return written.is_ok();
  });
  auto fold = std::make_unique<Fold>(total.value());
  FoldOutcome out;
  if (Status s = fold_log(path, total.value(), false, shape, *fold, options.progress, out,
                          std::move(lanes));
      !s.is_ok())
    return s;
  if (!written.is_ok()) return written;
  report.events = out.events;
  if (out.bad_seq) return Status(StatusCode::corrupt, "cannot rebuild: " + out.problem);
  // The live tables are digested while the new ones are written, which leaves a core free.
  TableDigest live[table_count];
  Background live_digest([&] { return digest_live_tables(path, tables, live); });
  TableDigest fresh[table_count];
  fresh[static_cast<int>(Table::ledger_entries)] = out.ledger_entries;
  if (Status s = write_end_state(db, writer, replaced, tables, std::move(fold), fresh); !s.is_ok())
    return s;
  if (Status s = live_digest.wait(); !s.is_ok()) return s;
  for (Table t : tables) {
    if (!(fresh[static_cast<int>(t)] == live[static_cast<int>(t)]))
      report.differed.push_back(spec(t).name);
    report.tables.push_back(spec(t).name);
  }
  if (Status s = record_versions(db, projections, total.value()); !s.is_ok()) return s;
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

Result<VerifyReport> verify(sqlite::Db& db, const Progress& progress, const ScanShape& shape) {
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
  // Runs beside the scan, on a thread of its own; nothing else uses `db` meanwhile (the scan reads
  // the log on connections of its own).
  auto digest_live = [&]() -> Status {
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
  Background live_digest(digest_live);
  auto fold = std::make_unique<Fold>(total.value());
  FoldOutcome out;
  std::string path = sqlite3_db_filename(db.raw(), "main");
  if (Status s = fold_log(path, total.value(), true, shape, *fold, progress, out, {}); !s.is_ok())
    return s;
  if (Status s = live_digest.wait(); !s.is_ok()) return s;
  report.events = out.events;
  report.first_bad_seq = out.bad_seq;
  if (out.bad_seq) {
    report.problems.push_back(out.problem);
  } else {
    std::vector<DigestSink> digests(static_cast<size_t>(threads_for(shape)));
    std::vector<RowSink*> sinks;
    for (DigestSink& d : digests) sinks.push_back(&d);
    if (Status s = finish_on_every_core(*fold, sinks); !s.is_ok()) return s;
    TableDigest fresh[table_count];
    fresh[static_cast<int>(Table::ledger_entries)] = out.ledger_entries;
    for (const DigestSink& d : digests) {
      for (int t = 0; t < table_count; ++t) fresh[t].merge(d.digests[t]);
    }
    for (const TableSpec& s : table_specs()) {
      if (!(live[static_cast<int>(s.table)] == fresh[static_cast<int>(s.table)]))
        report.problems.push_back("projection table " + std::string(s.name) +
                                  " differs from a fresh rebuild (run escrowctl rebuild)");
    }
    report.problems.insert(report.problems.end(), live_problems.begin(), live_problems.end());
  }
  fold.reset();
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace escrow::projections
