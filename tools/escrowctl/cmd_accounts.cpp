// escrowctl balance and stats: what the books say now, or at a point in the log.
//
// balance sums an account's postings in ledger_entries (credits minus debits, per currency, up to
// a seq or a time) and, for the head of the log, compares the sum with the maintained
// account_balances row; a disagreement exits 1. stats counts what the database holds. Both read
// everything inside one read transaction, so a concurrent append cannot make the figures
// disagree with each other.
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "common.h"
#include "ledger/money.h"
#include "ledger/postings.h"
#include "ledger/store/migrations.h"
#include "ledger/time_format.h"

namespace escrow::ctl {

namespace {

// "NGN 1234.56" for a known currency code, else the minor units and the code as stored.
std::string money_text(const std::string& currency, int64_t amount_minor) {
  if (auto c = parse_currency(currency)) return Money{amount_minor, *c}.to_string();
  return currency + " " + std::to_string(amount_minor) + " (minor units)";
}

CLI::Validator currency_validator() {
  return CLI::Validator(
      [](std::string& code) -> std::string {
        if (parse_currency(code)) return std::string();
        std::string known;
        for (Currency currency : currencies)
          known += (known.empty() ? "" : ", ") + std::string(currency_code(currency));
        return "unknown currency '" + code + "'; known: " + known;
      },
      "CODE");
}

// ---- balance ----------------------------------------------------------------------------------

struct BalanceArgs {
  std::string db, account, at, currency;
  bool json = false;
};

struct CurrencyBalance {
  int64_t ledger = 0;
  int64_t postings = 0;
  std::optional<int64_t> live;
  bool agrees() const { return live.value_or(0) == ledger; }
};

Status ledger_balances(sqlite::Db& db, const BalanceArgs& args, int64_t at_seq,
                       std::map<std::string, CurrencyBalance>& out) {
  auto stmt = db.prepare(
      "SELECT currency, "
      "  SUM(CASE WHEN credit_account = ?1 THEN amount ELSE 0 END) - "
      "  SUM(CASE WHEN debit_account = ?1 THEN amount ELSE 0 END), count(*) "
      "FROM ledger_entries WHERE (debit_account = ?1 OR credit_account = ?1) AND seq <= ?2 "
      "  AND (?3 = '' OR currency = ?3) GROUP BY currency");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, args.account).bind(2, at_seq).bind(3, args.currency);
  return for_each_row(stmt.value(), [&](const sqlite::Stmt& row) {
    CurrencyBalance& b = out[row.column_text(0)];
    b.ledger = row.column_int64(1);
    b.postings = row.column_int64(2);
  });
}

Status live_balances(sqlite::Db& db, const BalanceArgs& args,
                     std::map<std::string, CurrencyBalance>& out) {
  auto stmt = db.prepare(
      "SELECT currency, balance FROM account_balances WHERE account = ?1 AND (?2 = '' OR currency "
      "= ?2)");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, args.account).bind(2, args.currency);
  return for_each_row(stmt.value(), [&](const sqlite::Stmt& row) {
    out[row.column_text(0)].live = row.column_int64(1);
  });
}

void print_balance(const BalanceArgs& args, int64_t at_seq, bool at_head,
                   const std::map<std::string, CurrencyBalance>& balances) {
  if (args.json) {
    print_json([&](JsonWriter& w) {
      w.StartObject();
      json_field(w, "account", args.account);
      json_field(w, "at_seq", at_seq);
      w.Key("balances");
      w.StartArray();
      for (const auto& [currency, b] : balances) {
        w.StartObject();
        json_field(w, "currency", currency);
        json_field(w, "balance", b.ledger);
        json_field(w, "postings", b.postings);
        if (at_head) {
          w.Key("live");
          if (b.live)
            w.Int64(*b.live);
          else
            w.Null();
          w.Key("agrees");
          w.Bool(b.agrees());
        }
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
    });
    return;
  }
  print_line("account", args.account);
  print_line("as of", "seq " + std::to_string(at_seq) + (at_head ? " (head)" : ""));
  for (const auto& [currency, b] : balances) {
    std::string text = money_text(currency, b.ledger) + " (" + std::to_string(b.ledger) +
                       " minor, " + std::to_string(b.postings) + " postings)";
    if (at_head) {
      text += "; account_balances: ";
      text += b.live ? money_text(currency, *b.live) : std::string("no row");
      text += b.agrees() ? ", agrees" : ", DISAGREES";
    }
    print_line(currency, text);
  }
}

const char* account_names_hint =
    "accounts are named paystack:clearing, platform:fees, platform:paystack_fees, "
    "escrow:<booking>, "
    "provider:<id>:available, provider:<id>:in_flight, client:<id>:refund_in_flight";

int run_balance(const BalanceArgs& args) {
  auto db = open_db(args.db, sqlite::Db::Mode::read_only, true);
  if (!db.is_ok()) return fail("balance", db.status(), "opening the database");
  auto txn = sqlite::Transaction::begin(db.value(), sqlite::Transaction::Kind::deferred);
  if (!txn.is_ok()) return fail("balance", txn.status(), "starting a read");
  auto head = log_head(db.value());
  if (!head.is_ok()) return fail("balance", head.status(), "reading the log");
  std::optional<Point> point = args.at.empty() ? std::nullopt : parse_point(args.at);
  auto at = point ? seq_at(db.value(), *point) : Result<int64_t>(head->seq);
  if (!at.is_ok()) return fail("balance", at.status(), "finding the seq of " + args.at);
  bool at_head = !point;
  int64_t at_seq = std::min(at.value(), head->seq);
  std::map<std::string, CurrencyBalance> balances;
  if (Status s = ledger_balances(db.value(), args, at_seq, balances); !s.is_ok())
    return fail("balance", s, "summing ledger_entries");
  if (at_head) {
    if (Status s = live_balances(db.value(), args, balances); !s.is_ok())
      return fail("balance", s, "reading account_balances");
  }
  if (balances.empty())
    return fail("balance", exit_failed,
                "no postings touch account '" + args.account + "'" +
                    (args.currency.empty() ? "" : " in " + args.currency) + " up to seq " +
                    std::to_string(at_seq) + " (" + account_names_hint + ")");
  print_balance(args, at_seq, at_head, balances);
  for (const auto& [currency, b] : balances) {
    if (at_head && !b.agrees())
      return fail("balance", exit_failed,
                  "ledger_entries and account_balances disagree for " + args.account + " in " +
                      currency + ": run escrowctl verify");
  }
  return exit_ok;
}

// ---- stats ------------------------------------------------------------------------------------

struct StatsArgs {
  std::string db;
  bool json = false;
};

constexpr int stats_label_width = 28;  // fits "  PayoutAccountRegistered:"

using Counts = std::vector<std::pair<std::string, int64_t>>;

// The queries behind stats: a name and a (label, number) query each, in the order printed.
struct CountQuery {
  const char* name;
  const char* sql;
};
constexpr CountQuery count_queries[] = {
    {"events_by_type", "SELECT type, count(*) FROM events GROUP BY type ORDER BY type"},
    {"streams",
     "SELECT CASE WHEN stream LIKE 'booking-%' THEN 'booking' WHEN stream LIKE 'provider-%' "
     "THEN 'provider' ELSE stream END AS kind, count(DISTINCT stream) FROM events GROUP BY kind "
     "ORDER BY kind"},
    {"bookings_by_status", "SELECT status, count(*) FROM bookings GROUP BY status ORDER BY status"},
    {"bookings_by_payment_status",
     "SELECT payment_status, count(*) FROM bookings GROUP BY payment_status ORDER BY "
     "payment_status"},
    {"payouts_by_status", "SELECT status, count(*) FROM payouts GROUP BY status ORDER BY status"},
    {"refunds_by_status", "SELECT status, count(*) FROM refunds GROUP BY status ORDER BY status"},
    {"escrow_held",
     "SELECT currency, SUM(escrow_balance) FROM bookings GROUP BY currency ORDER BY currency"},
    {"pages",
     "SELECT 'page_bytes', page_count * page_size FROM pragma_page_count, pragma_page_size "
     "UNION ALL SELECT 'free_bytes', freelist_count * page_size FROM pragma_freelist_count, "
     "pragma_page_size"},
};

Result<Counts> counts(sqlite::Db& db, const char* sql) {
  auto stmt = db.prepare(sql);
  if (!stmt.is_ok()) return stmt.status();
  Counts out;
  Status status = for_each_row(stmt.value(), [&](const sqlite::Stmt& row) {
    out.emplace_back(row.column_text(0), row.column_int64(1));
  });
  if (!status.is_ok()) return status;
  return out;
}

int64_t file_bytes(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

struct Stats {
  int schema_version = 0;
  Head head;
  std::vector<std::pair<const char*, Counts>> groups;
  int64_t file_bytes = 0, wal_bytes = 0;
};

void print_stats_json(const Stats& s) {
  print_json([&](JsonWriter& w) {
    w.StartObject();
    json_field(w, "schema_version", static_cast<int64_t>(s.schema_version));
    json_field(w, "last_seq", s.head.seq);
    json_field(w, "last_hash", s.head.hash);
    w.Key("last_recorded_at");
    if (s.head.seq > 0)
      w.Int64(s.head.recorded_at_ms);
    else
      w.Null();
    json_field(w, "file_bytes", s.file_bytes);
    json_field(w, "wal_bytes", s.wal_bytes);
    for (const auto& [name, counts] : s.groups) {
      w.Key(name);
      w.StartObject();
      for (const auto& [label, n] : counts) json_field(w, label.c_str(), n);
      w.EndObject();
    }
    w.EndObject();
  });
}

void print_stats_text(const Stats& s) {
  print_line("schema version", std::to_string(s.schema_version), stats_label_width);
  print_line("last seq", std::to_string(s.head.seq), stats_label_width);
  print_line("last hash", s.head.hash, stats_label_width);
  if (s.head.seq > 0)
    print_line("last recorded at", format_iso8601_ms(s.head.recorded_at_ms), stats_label_width);
  print_line("file bytes",
             std::to_string(s.file_bytes) + " (+ " + std::to_string(s.wal_bytes) + " in the WAL)",
             stats_label_width);
  for (const auto& [name, counts] : s.groups) {
    std::printf("%s:\n", name);
    for (const auto& [label, n] : counts) {
      bool money = std::string_view(name) == "escrow_held";
      print_line("  " + label, money ? money_text(label, n) : std::to_string(n), stats_label_width);
    }
  }
}

int run_stats(const StatsArgs& args) {
  auto db = open_db(args.db, sqlite::Db::Mode::read_only, true);
  if (!db.is_ok()) return fail("stats", db.status(), "opening the database");
  auto txn = sqlite::Transaction::begin(db.value(), sqlite::Transaction::Kind::deferred);
  if (!txn.is_ok()) return fail("stats", txn.status(), "starting a read");
  Stats s;
  auto version = schema_version(db.value());
  if (!version.is_ok()) return fail("stats", version.status(), "reading the schema version");
  s.schema_version = version.value();
  auto head = log_head(db.value());
  if (!head.is_ok()) return fail("stats", head.status(), "reading the log");
  s.head = head.value();
  for (const CountQuery& q : count_queries) {
    auto c = counts(db.value(), q.sql);
    if (!c.is_ok()) return fail("stats", c.status(), std::string("counting ") + q.name);
    s.groups.emplace_back(q.name, std::move(c).value());
  }
  s.file_bytes = file_bytes(args.db);
  s.wal_bytes = file_bytes(args.db + "-wal");
  if (args.json)
    print_stats_json(s);
  else
    print_stats_text(s);
  return exit_ok;
}

}  // namespace

void add_balance(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<BalanceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "balance",
      "an account's balance per currency from its postings (credits - debits); at the head, also "
      "check it against account_balances and exit 1 if they disagree");
  add_db_option(*cmd, args->db);
  cmd->add_option("--account", args->account,
                  "e.g. platform:fees, escrow:<booking>, provider:<id>:available")
      ->required();
  cmd->add_option("--at", args->at, "a seq or an ISO 8601 time; default: the head of the log")
      ->check(point_validator());
  cmd->add_option("--currency", args->currency, "only this currency")->check(currency_validator());
  add_json_flag(*cmd, args->json);
  cmd->callback([args, &runner] { runner = [args] { return run_balance(*args); }; });
}

void add_stats(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<StatsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "stats", "counts of events, streams, bookings, payouts and refunds; escrow held; size; head");
  add_db_option(*cmd, args->db);
  add_json_flag(*cmd, args->json);
  cmd->callback([args, &runner] { runner = [args] { return run_stats(*args); }; });
}

}  // namespace escrow::ctl
