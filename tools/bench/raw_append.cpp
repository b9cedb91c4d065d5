// bench-raw-append: the reference for durable appends. One thread appends one event row per
// transaction (BEGIN IMMEDIATE, INSERT, COMMIT) into a table shaped like escrowd's `events`
// (schema/0001_events.sql: the same columns, STRICT, INTEGER PRIMARY KEY seq and
// UNIQUE (stream, version)) for a fixed time, and prints the commits per second. Each event opens
// a stream of its own, as `POST /bookings` does. The connection is set up as the event store sets
// up its own (ledger/store/sqlite.cpp, event_store.cpp): journal_mode=WAL, the chosen
// synchronous mode (FULL by default, escrowd's default), foreign_keys=ON, a 5 s busy timeout,
// SQLite's default page size and cache. What this leaves out is escrowd's own work: the hash
// chain, its triggers, the projections, JSON and HTTP. It is plain SQLite on the same disk, the
// figure tools/bench/limits.sh compares escrowd's durable rates with.
//
// The database file must not exist; it is created, and kept for the caller to remove.
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

constexpr char create_table[] = R"(
CREATE TABLE events (
  seq          INTEGER PRIMARY KEY,
  stream       TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  type         TEXT    NOT NULL,
  data         TEXT    NOT NULL,
  meta         TEXT    NOT NULL,
  recorded_at  INTEGER NOT NULL,
  prev_hash    TEXT    NOT NULL,
  hash         TEXT    NOT NULL,
  UNIQUE (stream, version)
) STRICT)";

constexpr char insert_event[] =
    "INSERT INTO events (seq, stream, version, type, data, meta, recorded_at, prev_hash, hash)"
    " VALUES (?, ?, 1, 'BookingCreated', ?, ?, ?, ?, ?)";

struct Options {
  std::string db_path;
  double seconds = 10;
  int event_bytes = 300;  // data plus meta, about what one BookingCreated carries
  std::string synchronous = "full";
  bool json = false;
};

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

bool fail(sqlite3* db, const char* what) {
  std::fprintf(stderr, "bench-raw-append: %s: %s\n", what, db ? sqlite3_errmsg(db) : "no database");
  return false;
}

bool exec(sqlite3* db, const std::string& sql) {
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK ||
         fail(db, sql.c_str());
}

Stmt prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
    fail(db, sql);
  return Stmt(raw);
}

bool run_statement(sqlite3* db, sqlite3_stmt* stmt) {
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE || fail(db, sqlite3_sql(stmt));
}

// A hex string of 64 characters that differs for every n, in place of a SHA-256.
std::string fake_hash(int64_t n) {
  char text[65];
  std::snprintf(text, sizeof text, "%064llx", static_cast<unsigned long long>(n));
  return text;
}

struct Outcome {
  int64_t commits = 0;
  double seconds = 0;
};

// Appends until `options.seconds` passed; false on any SQLite error.
bool append_for(sqlite3* db, const Options& options, Outcome& outcome) {
  Stmt begin = prepare(db, "BEGIN IMMEDIATE");
  Stmt commit = prepare(db, "COMMIT");
  Stmt insert = prepare(db, insert_event);
  if (!begin || !commit || !insert) return false;
  const std::string meta = R"({"actor":{"id":"bench-market","role":"service"}})";
  // A JSON object of the requested size less the meta's (the option's range keeps it positive).
  const std::string data_head = R"({"description":")", data_tail = "\"}";
  std::string data = data_head;
  data.append(
      static_cast<size_t>(options.event_bytes) - meta.size() - data_head.size() - data_tail.size(),
      'x');
  data += data_tail;

  std::string prev_hash(64, '0');
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(options.seconds));
  for (int64_t seq = 1; Clock::now() < deadline; ++seq) {
    std::string stream = "booking-raw-" + std::to_string(seq);
    std::string hash = fake_hash(seq);
    int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    sqlite3_stmt* s = insert.get();
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_text(s, 2, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 3, data.data(), static_cast<int>(data.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 4, meta.data(), static_cast<int>(meta.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now_ms);
    sqlite3_bind_text(s, 6, prev_hash.data(), static_cast<int>(prev_hash.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 7, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
    if (!run_statement(db, begin.get()) || !run_statement(db, s) ||
        !run_statement(db, commit.get()))
      return false;
    prev_hash = std::move(hash);
    outcome.commits = seq;
  }
  outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return true;
}

int run(const Options& options) {
  if (std::filesystem::exists(options.db_path)) {
    std::fprintf(stderr, "bench-raw-append: %s exists; give a new file\n", options.db_path.c_str());
    return 2;
  }
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(options.db_path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    fail(raw, "open");
    return 1;
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  if (!exec(raw, "PRAGMA journal_mode=WAL") ||
      !exec(raw, "PRAGMA synchronous=" + options.synchronous) ||
      !exec(raw, "PRAGMA foreign_keys=ON") || !exec(raw, create_table))
    return 1;

  Outcome outcome;
  if (!append_for(raw, options, outcome)) return 1;
  double per_s = outcome.seconds > 0 ? static_cast<double>(outcome.commits) / outcome.seconds : 0;
  std::printf(
      "bench-raw-append: %lld commits of one %d-byte event in %.2f s: %.0f commits/s "
      "(synchronous=%s, WAL, one thread)\n",
      static_cast<long long>(outcome.commits), options.event_bytes, outcome.seconds, per_s,
      options.synchronous.c_str());
  if (options.json) {
    std::printf(
        "{\"mode\":\"raw_append\",\"commits\":%lld,\"seconds\":%.3f,\"commits_per_s\":%.1f,"
        "\"event_bytes\":%d,\"synchronous\":\"%s\"}\n",
        static_cast<long long>(outcome.commits), outcome.seconds, per_s, options.event_bytes,
        options.synchronous.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench-raw-append: one event per SQLite transaction, the durable-append reference"};
  Options options;
  app.add_option("--db", options.db_path, "database file to create (must not exist)")->required();
  app.add_option("--seconds", options.seconds, "how long to append")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--event-bytes", options.event_bytes, "bytes of data plus meta per event")
      ->check(CLI::Range(128, 1 << 20))
      ->capture_default_str();
  app.add_option("--synchronous", options.synchronous, "SQLite synchronous: full|normal|off")
      ->check(CLI::IsMember({"full", "normal", "off"}))
      ->capture_default_str();
  app.add_flag("--json", options.json, "also print one JSON line of the figures");
  CLI11_PARSE(app, argc, argv);
  return run(options);
}
