// Shared pieces of escrowctl's commands; see common.h.
#include "common.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "ledger/store/event_store.h"
#include "ledger/store/migrations.h"
#include "ledger/time_format.h"

namespace escrow::ctl {

namespace {

constexpr int progress_bar_width = 40;

Result<bool> table_exists(sqlite::Db& db, const char* name) {
  auto stmt = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, name);
  auto row = stmt->step();
  if (!row.is_ok()) return row.status();
  return stmt->column_int64(0) > 0;
}

// Says what is wrong with the schema, or nothing when it suits the command.
Result<std::string> schema_problem(sqlite::Db& db, const std::string& path, bool need_current) {
  auto events = table_exists(db, "events");
  if (!events.is_ok()) return events.status();
  if (!events.value())
    return path +
           " holds no event log (not an escrow database, or never migrated): run escrowctl migrate "
           "--db " +
           path;
  if (!need_current) return std::string();
  auto version = schema_version(db);
  if (!version.is_ok()) return version.status();
  int expected = embedded_migrations().empty() ? 0 : embedded_migrations().back().version;
  if (version.value() > expected)
    return path + " is at schema version " + std::to_string(version.value()) +
           ", newer than this escrowctl knows (" + std::to_string(expected) +
           "): use a newer escrowctl";
  if (version.value() < expected)
    return path + " is at schema version " + std::to_string(version.value()) +
           ", this escrowctl needs " + std::to_string(expected) + ": run escrowctl migrate";
  if (!schema_is_current(db))
    return path +
           ": a recorded migration differs from this escrowctl's copy of it (run escrowctl migrate "
           "to see which)";
  return std::string();
}

}  // namespace

void add_db_option(CLI::App& command, std::string& path) {
  const char* env = std::getenv("ESCROW_DB");
  path = env && *env ? env : default_db_path;
  command.add_option("--db", path, "the database file (default: $ESCROW_DB, else ./var/escrow.db)")
      ->type_name("PATH");
}

void add_json_flag(CLI::App& command, bool& json) {
  command.add_flag("--json", json, "one JSON object on stdout instead of text");
}

int fail(std::string_view command, int code, std::string_view message) {
  std::fprintf(stderr, "escrowctl %.*s: %.*s\n", static_cast<int>(command.size()), command.data(),
               static_cast<int>(message.size()), message.data());
  return code;
}

int fail(std::string_view command, const Status& status, std::string_view doing) {
  std::string message(doing);
  message += " failed: ";
  message += status.message().empty() ? status_code_name(status.code()) : status.message();
  return fail(command, exit_error, message);
}

Result<sqlite::Db> open_db(const std::string& path, sqlite::Db::Mode mode,
                           bool need_current_schema) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return Status(StatusCode::not_found,
                  "no database at " + path +
                      " (pass --db PATH or set ESCROW_DB; escrowctl migrate creates one)");
  if (std::filesystem::is_directory(path, ec))
    return Status(StatusCode::invalid_argument, path + " is a directory, not a database file");
  auto db = sqlite::Db::open(path, mode);
  if (!db.is_ok()) return db.status();
  auto problem = schema_problem(db.value(), path, need_current_schema);
  if (!problem.is_ok() && problem.status().code() == StatusCode::corrupt)
    return Status(StatusCode::corrupt, path + " is not an SQLite database, or is damaged");
  if (!problem.is_ok())
    return Status(problem.status().code(),
                  "cannot read " + path + ": " + problem.status().message());
  if (!problem->empty()) return Status(StatusCode::invalid_argument, problem.value());
  return db;
}

Result<Head> log_head(sqlite::Db& db) {
  auto stmt = db.prepare("SELECT seq, hash, recorded_at FROM events ORDER BY seq DESC LIMIT 1");
  if (!stmt.is_ok()) return stmt.status();
  auto row = stmt->step();
  if (!row.is_ok()) return row.status();
  if (!row.value()) return Head{0, genesis_hash, 0};
  return Head{stmt->column_int64(0), stmt->column_text(1), stmt->column_int64(2)};
}

std::string Point::describe() const {
  if (seq) return "seq " + std::to_string(*seq);
  return format_iso8601_ms(time_ms.value_or(0));
}

std::optional<Point> parse_point(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t seq = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return Point{seq, std::nullopt};
  }
  auto ms = parse_iso8601_ms(text);
  if (!ms) return std::nullopt;
  return Point{std::nullopt, ms};
}

Result<int64_t> seq_at(sqlite::Db& db, const Point& point) {
  if (point.seq) return *point.seq;
  // recorded_at never decreases along seq (a trigger refuses it), so this is a clean cut.
  auto stmt = db.prepare("SELECT coalesce(max(seq), 0) FROM events WHERE recorded_at <= ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, point.time_ms.value_or(0));
  auto row = stmt->step();
  if (!row.is_ok()) return row.status();
  return stmt->column_int64(0);
}

CLI::Validator point_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (parse_point(text)) return std::string();
        return "'" + text +
               "' is neither a seq (a whole number) nor an ISO 8601 time such as "
               "2026-01-31T12:00:00Z";
      },
      "SEQ|TIME");
}

CLI::Validator time_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (parse_iso8601_ms(text)) return std::string();
        return "'" + text + "' is not an ISO 8601 time such as 2026-01-31T12:00:00Z or 2026-01-31";
      },
      "TIME");
}

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), tty_(isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
  if (line_open_) std::fputc('\n', stderr);
}

void ProgressBar::update(int64_t done, int64_t total) {
  total_ = total;
  if (!tty_) return;
  int permille = total > 0 ? static_cast<int>(std::min<int64_t>(done * 1000 / total, 1000)) : 1000;
  if (permille == last_permille_) return;
  last_permille_ = permille;
  int filled = permille * progress_bar_width / 1000;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(progress_bar_width - filled), '.');
  std::fprintf(stderr, "\r%s [%s] %5.1f%%  %lld/%lld events", label_.c_str(), bar.c_str(),
               permille / 10.0, static_cast<long long>(done), static_cast<long long>(total));
  std::fflush(stderr);
  line_open_ = true;
}

void ProgressBar::finish(int64_t done) {
  if (tty_) {
    update(done, std::max(total_, done));
    if (line_open_) std::fputc('\n', stderr);
    line_open_ = false;
  } else {
    std::fprintf(stderr, "%s: %lld events\n", label_.c_str(), static_cast<long long>(done));
  }
}

projections::Progress ProgressBar::callback() {
  return [this](int64_t done, int64_t total) { update(done, total); };
}

double per_second(int64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

std::string format_seconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", seconds);
  return buffer;
}

void print_json(const std::function<void(JsonWriter&)>& body) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  body(w);
  std::fwrite(buffer.GetString(), 1, buffer.GetSize(), stdout);
  std::fputc('\n', stdout);
}

void json_string(JsonWriter& w, std::string_view value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void json_field(JsonWriter& w, const char* key, std::string_view value) {
  w.Key(key);
  json_string(w, value);
}

void json_field(JsonWriter& w, const char* key, int64_t value) {
  w.Key(key);
  w.Int64(value);
}

void json_field(JsonWriter& w, const char* key, double value) {
  w.Key(key);
  w.Double(value);
}

std::string pretty_json(std::string_view compact) {
  rapidjson::Document doc;
  doc.Parse(compact.data(), compact.size());
  if (doc.HasParseError()) return std::string(compact);
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
  w.SetIndent(' ', 2);
  doc.Accept(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

void print_line(std::string_view label, std::string_view value, int width) {
  std::string head(label);
  head += ':';
  std::printf("%-*s %.*s\n", width, head.c_str(), static_cast<int>(value.size()), value.data());
}

Status for_each_row(sqlite::Stmt& stmt, const std::function<void(const sqlite::Stmt&)>& row) {
  for (;;) {
    auto more = stmt.step();
    if (!more.is_ok()) return more.status();
    if (!more.value()) return Status::ok();
    row(stmt);
  }
}

}  // namespace escrow::ctl
