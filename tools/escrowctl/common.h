// Shared pieces of escrowctl's commands: exit codes, the --db/--json options, opening the database
// with a clear sentence when it is missing or at the wrong schema version, parsing points in the
// log (--at SEQ|TIME), the stderr progress bar, and small output helpers (JSON, aligned text,
// RFC 4180 CSV fields).
//
// Contract: every command reports operating errors on stderr as "escrowctl <command>: <sentence>"
// and returns one of the Exit codes; nothing here prints a secret (the database holds none: the
// events keep only the last four digits of account numbers, and the tool reads no key).
// Thread-safety: single-threaded tool; nothing here is shared between threads.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/status.h"
#include "ledger/store/sqlite.h"
#include "projections/rebuild.h"

namespace escrow::ctl {

// Exit codes, the same for every command (also listed in `escrowctl --help`).
enum Exit : int {
  exit_ok = 0,
  exit_failed = 1,  // a check failed: verify found a break, balances disagree, nothing found
  exit_usage = 2,   // bad command line
  exit_error = 3,   // an operating error: the database is missing, unreadable, locked, ...
};

// What a parsed subcommand will do; set by the subcommand's callback, run after parsing.
using Runner = std::function<int()>;

// Registration of each command (one function per command, in the cmd_*.cpp files).
void add_migrate(CLI::App& app, Runner& runner);
void add_rebuild(CLI::App& app, Runner& runner);
void add_verify(CLI::App& app, Runner& runner);
void add_events(CLI::App& app, Runner& runner);
void add_replay(CLI::App& app, Runner& runner);
void add_balance(CLI::App& app, Runner& runner);
void add_stats(CLI::App& app, Runner& runner);
void add_backup(CLI::App& app, Runner& runner);
void add_token(CLI::App& app, Runner& runner);
void add_reconcile(CLI::App& app, Runner& runner);

inline constexpr const char* default_db_path = "./var/escrow.db";

// --db PATH, defaulting to $ESCROW_DB, else ./var/escrow.db.
void add_db_option(CLI::App& command, std::string& path);
void add_json_flag(CLI::App& command, bool& json);

// Prints "escrowctl <command>: <message>" on stderr and returns `code`.
int fail(std::string_view command, int code, std::string_view message);
// The same for an operating error (exit_error), naming what was being done.
int fail(std::string_view command, const Status& status, std::string_view doing);

// Opens an existing escrow database. `need_current_schema` demands every embedded migration be
// applied (commands that read the projections); otherwise the events table is enough.
Result<sqlite::Db> open_db(const std::string& path, sqlite::Db::Mode mode,
                           bool need_current_schema);

// The head of the log: the last event's seq and hash (0 and 64 zeros for an empty log).
struct Head {
  int64_t seq = 0;
  std::string hash;
  int64_t recorded_at_ms = 0;
};
Result<Head> log_head(sqlite::Db& db);

// A point in the log: a seq, or a time (every event recorded at or before it).
struct Point {
  std::optional<int64_t> seq;
  std::optional<int64_t> time_ms;
  std::string describe() const;  // "seq 1234" or "2026-01-01T00:00:00.000Z"
};
std::optional<Point> parse_point(std::string_view text);
// The last seq at or before a point (0 when the point is before the first event).
Result<int64_t> seq_at(sqlite::Db& db, const Point& point);

// CLI11 validators giving the same sentences the commands use.
CLI::Validator point_validator();  // SEQ (a positive integer) or ISO 8601 time
CLI::Validator time_validator();   // ISO 8601 time

// A progress bar on stderr, drawn only when stderr is a terminal; otherwise one final line.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();  // ends a half-drawn bar's line, so an error message starts on a line of its own
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  void update(int64_t done, int64_t total);
  void finish(int64_t done);
  projections::Progress callback();

 private:
  std::string label_;
  bool tty_;
  int64_t total_ = 0;
  int last_permille_ = -1;
  bool line_open_ = false;
};

// Rates and sizes for reports.
double per_second(int64_t count, double seconds);
std::string format_seconds(double seconds);  // "1.234"

// JSON output: `body` writes one value; printed compactly on one line to stdout.
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
void print_json(const std::function<void(JsonWriter&)>& body);
void json_string(JsonWriter& w, std::string_view value);
void json_field(JsonWriter& w, const char* key, std::string_view value);
void json_field(JsonWriter& w, const char* key, int64_t value);
void json_field(JsonWriter& w, const char* key, double value);
// Reindents compact JSON text (a booking document) for people.
std::string pretty_json(std::string_view compact);

// "label:   value" lines with the values in one column (`width` characters from the left).
inline constexpr int print_label_width = 18;
void print_line(std::string_view label, std::string_view value, int width = print_label_width);

// Steps a statement to its end, calling `row` for every row; stops early on an error.
Status for_each_row(sqlite::Stmt& stmt, const std::function<void(const sqlite::Stmt&)>& row);

}  // namespace escrow::ctl
