// escrowctl events and replay: the auditor's view of the log itself.
//
// events streams the log to stdout in seq order, one page of events at a time (never the whole log
// in memory), as JSON Lines or RFC 4180 CSV. `data` and `meta` are written as strings holding the
// exact stored text, so an export re-verifies without our code: each line carries every input of
// the hash (schema/README.md). The range is fixed when the export starts, so events appended
// meanwhile do not leak into it. replay folds one booking's events up to a seq or a time through
// the decider's evolve() and prints the booking as it stood then.
#include <cstdio>
#include <memory>
#include <span>

#include "common.h"
#include "ledger/store/event_store.h"
#include "ledger/store/shell.h"
#include "ledger/time_format.h"
#include "projections/tables.h"

namespace escrow::ctl {

namespace {

// ---- events -----------------------------------------------------------------------------------

constexpr int64_t export_page_events = EventReader::read_page_events_max;
constexpr size_t stdout_buffer_bytes = 1 << 20;
constexpr const char* csv_header =
    "seq,stream,version,type,data,meta,recorded_at,recorded_at_iso,prev_hash,hash\r\n";

struct EventsArgs {
  std::string db, stream, from, to;
  std::string format = "jsonl";
  int64_t from_seq = 1;
  int64_t to_seq = INT64_MAX;
};

// One page of the export: events with seq in (after, last], filtered, in seq order.
std::string page_sql(bool by_stream) {
  std::string sql =
      "SELECT seq, stream, version, type, data, meta, recorded_at, prev_hash, hash FROM events "
      "WHERE seq > ?1 AND seq <= ?2 AND recorded_at >= ?3 AND recorded_at <= ?4 ";
  if (by_stream) sql += "AND stream = ?5 ";
  return sql + "ORDER BY seq LIMIT ?6";
}

void write_jsonl(const sqlite::Stmt& row, rapidjson::StringBuffer& buffer) {
  buffer.Clear();
  JsonWriter w(buffer);
  int64_t recorded_at = row.column_int64(6);
  w.StartObject();
  json_field(w, "seq", row.column_int64(0));
  json_field(w, "stream", row.column_view(1));
  json_field(w, "version", row.column_int64(2));
  json_field(w, "type", row.column_view(3));
  json_field(w, "data", row.column_view(4));
  json_field(w, "meta", row.column_view(5));
  json_field(w, "recorded_at", recorded_at);
  json_field(w, "recorded_at_iso", format_iso8601_ms(recorded_at));
  json_field(w, "prev_hash", row.column_view(7));
  json_field(w, "hash", row.column_view(8));
  w.EndObject();
  buffer.Put('\n');
  std::fwrite(buffer.GetString(), 1, buffer.GetSize(), stdout);
}

// RFC 4180: a field holding a comma, a quote, CR or LF is quoted, and its quotes doubled.
void csv_field(std::string& line, std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

void write_csv(const sqlite::Stmt& row, std::string& line) {
  line.clear();
  int64_t recorded_at = row.column_int64(6);
  line += std::to_string(row.column_int64(0)) + ',';
  csv_field(line, row.column_view(1));
  line += ',' + std::to_string(row.column_int64(2)) + ',';
  csv_field(line, row.column_view(3));
  line += ',';
  csv_field(line, row.column_view(4));
  line += ',';
  csv_field(line, row.column_view(5));
  line += ',' + std::to_string(recorded_at) + ',' + format_iso8601_ms(recorded_at) + ',';
  csv_field(line, row.column_view(7));
  line += ',';
  csv_field(line, row.column_view(8));
  line += "\r\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
}

// Streams the export page by page; each page is its own short read, so a long export does not
// hold back the WAL checkpoint.
Status export_events(sqlite::Db& db, const EventsArgs& args, int64_t last_seq) {
  bool csv = args.format == "csv";
  auto stmt = db.prepare(page_sql(!args.stream.empty()));
  if (!stmt.is_ok()) return stmt.status();
  int64_t from_ms = args.from.empty() ? INT64_MIN : parse_iso8601_ms(args.from).value();
  int64_t to_ms = args.to.empty() ? INT64_MAX : parse_iso8601_ms(args.to).value();
  rapidjson::StringBuffer buffer;
  std::string line;
  if (csv) std::fputs(csv_header, stdout);
  int64_t after = std::max<int64_t>(args.from_seq, 1) - 1;
  for (;;) {
    stmt->bind(1, after)
        .bind(2, last_seq)
        .bind(3, from_ms)
        .bind(4, to_ms)
        .bind(6, export_page_events);
    if (!args.stream.empty()) stmt->bind(5, args.stream);
    int64_t rows = 0;
    Status status = for_each_row(stmt.value(), [&](const sqlite::Stmt& row) {
      ++rows;
      after = row.column_int64(0);
      if (csv)
        write_csv(row, line);
      else
        write_jsonl(row, buffer);
    });
    stmt->reset();
    if (!status.is_ok()) return status;
    if (rows < export_page_events) return Status::ok();
  }
}

int run_events(const EventsArgs& args) {
  auto db = open_db(args.db, sqlite::Db::Mode::read_only, false);
  if (!db.is_ok()) return fail("events", db.status(), "opening the database");
  auto head = log_head(db.value());
  if (!head.is_ok()) return fail("events", head.status(), "reading the log");
  static char stdout_buffer[stdout_buffer_bytes];
  std::setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);
  Status status = export_events(db.value(), args, std::min(args.to_seq, head->seq));
  if (!status.is_ok()) return fail("events", status, "reading the log");
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return fail("events", exit_error, "writing the export to stdout failed");
  return exit_ok;
}

// ---- replay -----------------------------------------------------------------------------------

struct ReplayArgs {
  std::string db, booking, at;
  bool json = false;
};

bool valid_booking_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void print_replay(const ReplayArgs& args, const BookingState& state, const RecordedEvent& last,
                  int64_t versions_total) {
  std::string doc = projections::booking_doc(state);
  std::string at = args.at.empty() ? "head" : parse_point(args.at)->describe();
  if (args.json) {
    print_json([&](JsonWriter& w) {
      w.StartObject();
      json_field(w, "booking_id", args.booking);
      json_field(w, "at", at);
      json_field(w, "seq", last.seq);
      json_field(w, "recorded_at", last.recorded_at_ms);
      json_field(w, "recorded_at_iso", format_iso8601_ms(last.recorded_at_ms));
      json_field(w, "version", last.version);
      json_field(w, "versions_total", versions_total);
      w.Key("booking");
      w.RawValue(doc.data(), doc.size(), rapidjson::kObjectType);
      w.EndObject();
    });
    return;
  }
  print_line("booking", args.booking);
  print_line("as of", at);
  print_line("stops at seq", std::to_string(last.seq) + " (" + last.type + ", " +
                                 format_iso8601_ms(last.recorded_at_ms) + ")");
  print_line("stream version",
             std::to_string(last.version) + " of " + std::to_string(versions_total));
  std::printf("%s\n", pretty_json(doc).c_str());
}

int run_replay(const ReplayArgs& args) {
  if (!valid_booking_id(args.booking))
    return fail("replay", exit_usage,
                "'" + args.booking + "' is not a booking id ([A-Za-z0-9_-]{1,64})");
  if (auto db = open_db(args.db, sqlite::Db::Mode::read_only, false); !db.is_ok())
    return fail("replay", db.status(), "opening the database");
  auto reader = EventReader::open(args.db);
  if (!reader.is_ok()) return fail("replay", reader.status(), "opening the database");
  auto events = reader->read_stream("booking-" + args.booking);
  if (!events.is_ok()) return fail("replay", events.status(), "reading the booking's events");
  if (events->empty())
    return fail("replay", exit_failed, "no booking '" + args.booking + "' in the log");
  std::optional<Point> point = args.at.empty() ? std::nullopt : parse_point(args.at);
  size_t count = 0;
  for (const RecordedEvent& e : events.value()) {
    bool before =
        !point || (point->seq ? e.seq <= *point->seq : e.recorded_at_ms <= *point->time_ms);
    if (!before) break;
    ++count;
  }
  if (count == 0) {
    const RecordedEvent& first = events->front();
    return fail("replay", exit_failed,
                "booking '" + args.booking + "' did not exist yet at " + point->describe() +
                    ": it was created at seq " + std::to_string(first.seq) + " (" +
                    format_iso8601_ms(first.recorded_at_ms) + ")");
  }
  auto state = fold_booking(std::span(events->data(), count));
  if (!state.is_ok()) return fail("replay", state.status(), "folding the booking's events");
  print_replay(args, state.value(), events.value()[count - 1],
               static_cast<int64_t>(events->size()));
  return exit_ok;
}

}  // namespace

void add_events(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<EventsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "events",
      "export the event log in seq order to stdout (JSON Lines or CSV), with every input of the "
      "hash chain so the export can be re-verified without this tool");
  add_db_option(*cmd, args->db);
  cmd->add_option("--stream", args->stream, "only this stream, e.g. booking-<id>, provider-<id>");
  cmd->add_option("--from-seq", args->from_seq, "first seq (inclusive)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--to-seq", args->to_seq, "last seq (inclusive)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--from", args->from, "first recorded_at, ISO 8601 (inclusive)")
      ->check(time_validator());
  cmd->add_option("--to", args->to, "last recorded_at, ISO 8601 (inclusive)")
      ->check(time_validator());
  cmd->add_option("--format", args->format, "jsonl (default) or csv")
      ->check(CLI::IsMember({"jsonl", "csv"}));
  cmd->callback([args, &runner] { runner = [args] { return run_events(*args); }; });
}

void add_replay(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* cmd = app.add_subcommand(
      "replay", "show a booking as it stood at a seq or a time, folded from its events");
  add_db_option(*cmd, args->db);
  cmd->add_option("--booking", args->booking, "the booking id")->required();
  cmd->add_option("--at", args->at,
                  "a seq (events up to and including it) or an ISO 8601 time (events recorded at "
                  "or before it); default: the head of the log")
      ->check(point_validator());
  add_json_flag(*cmd, args->json);
  cmd->callback([args, &runner] { runner = [args] { return run_replay(*args); }; });
}

}  // namespace escrow::ctl
