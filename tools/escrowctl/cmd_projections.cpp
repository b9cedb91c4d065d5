// escrowctl migrate, rebuild and verify: the commands that bring the schema and the projections
// in line with the code, and check the log and the read models against each other.
//
// migrate applies the embedded migrations and then rebuilds every projection whose recorded
// version differs from the code's. rebuild folds the whole log into shadow tables and swaps them
// in (one write transaction: appends wait meanwhile), reporting the tables whose live rows had
// drifted. verify reads only (a read-only connection) and exits 1 naming the first bad seq.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common.h"
#include "ledger/store/event_store.h"
#include "ledger/store/migrations.h"
#include "projections/rebuild.h"

namespace escrow::ctl {

namespace {

std::string join(const std::vector<std::string>& items, const char* none = "none") {
  if (items.empty()) return none;
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

void json_list(JsonWriter& w, const char* key, const std::vector<std::string>& items) {
  w.Key(key);
  w.StartArray();
  for (const std::string& item : items) json_string(w, item);
  w.EndArray();
}

// ---- migrate ----------------------------------------------------------------------------------

struct MigrateArgs {
  std::string db;
  bool json = false;
};

int run_migrate(const MigrateArgs& args) {
  std::filesystem::path parent = std::filesystem::path(args.db).parent_path();
  std::error_code ec;
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec)
      return fail("migrate", exit_error, "cannot create " + parent.string() + ": " + ec.message());
  }
  auto report = migrate_file(args.db);
  if (!report.is_ok()) return fail("migrate", report.status(), "migrating " + args.db);
  auto db = sqlite::Db::open(args.db, sqlite::Db::Mode::read_write);
  if (!db.is_ok()) return fail("migrate", db.status(), "opening " + args.db);
  auto rebuilt = projections::rebuild_stale(db.value());
  if (!rebuilt.is_ok()) return fail("migrate", rebuilt.status(), "rebuilding stale projections");
  if (args.json) {
    print_json([&](JsonWriter& w) {
      w.StartObject();
      json_field(w, "db", args.db);
      json_list(w, "applied", report->applied);
      json_field(w, "schema_version", static_cast<int64_t>(report->version));
      json_list(w, "projections_rebuilt", rebuilt.value());
      w.EndObject();
    });
    return exit_ok;
  }
  print_line("database", args.db);
  print_line("applied", join(report->applied, "none (already current)"));
  print_line("schema version", std::to_string(report->version));
  print_line("rebuilt", join(rebuilt.value(), "none (projections current)"));
  return exit_ok;
}

// ---- rebuild ----------------------------------------------------------------------------------

struct RebuildArgs {
  std::string db;
  std::string projection;
  bool json = false;
};

CLI::Validator projection_validator() {
  return CLI::Validator(
      [](std::string& name) -> std::string {
        for (const std::string& known : projections::projection_names())
          if (known == name) return std::string();
        return "unknown projection '" + name + "'; known: " + join(projections::projection_names());
      },
      "NAME");
}

void print_rebuild(const projections::RebuildReport& r, bool json) {
  double rate = per_second(r.events, r.seconds);
  if (json) {
    print_json([&](JsonWriter& w) {
      w.StartObject();
      json_field(w, "events", r.events);
      json_field(w, "seconds", r.seconds);
      json_field(w, "events_per_s", rate);
      json_list(w, "tables", r.tables);
      json_list(w, "drift", r.differed);
      w.EndObject();
    });
    return;
  }
  print_line("events", std::to_string(r.events));
  print_line("seconds", format_seconds(r.seconds));
  print_line("events/s", std::to_string(static_cast<int64_t>(rate)));
  print_line("tables rebuilt", join(r.tables));
  print_line("drift",
             r.differed.empty()
                 ? std::string("none")
                 : join(r.differed) + " (live rows differed from the fresh rebuild; replaced)");
}

int run_rebuild(const RebuildArgs& args) {
  auto db = open_db(args.db, sqlite::Db::Mode::read_write, true);
  if (!db.is_ok()) return fail("rebuild", db.status(), "opening the database");
  ProgressBar bar("rebuild");
  projections::RebuildOptions options;
  if (!args.projection.empty()) options.projection = args.projection;
  options.progress = bar.callback();
  auto report = projections::rebuild(db.value(), options);
  if (!report.is_ok()) return fail("rebuild", report.status(), "rebuilding");
  bar.finish(report->events);
  print_rebuild(report.value(), args.json);
  return exit_ok;
}

// ---- verify -----------------------------------------------------------------------------------

struct VerifyArgs {
  std::string db;
  bool json = false;
};

// The hash of the last verified event: what an auditor writes down to anchor this check.
std::string hash_at(sqlite::Db& db, int64_t seq) {
  auto stmt = db.prepare("SELECT hash FROM events WHERE seq = ?");
  if (!stmt.is_ok()) return std::string();
  stmt->bind(1, seq);
  auto row = stmt->step();
  return row.is_ok() && row.value() ? stmt->column_text(0) : std::string();
}

void print_verify(const projections::VerifyReport& r, const std::string& last_hash, bool json) {
  double rate = per_second(r.events, r.seconds);
  if (json) {
    print_json([&](JsonWriter& w) {
      w.StartObject();
      w.Key("ok");
      w.Bool(r.ok());
      json_field(w, "events", r.events);
      json_field(w, "seconds", r.seconds);
      json_field(w, "events_per_s", rate);
      w.Key("first_bad_seq");
      if (r.first_bad_seq)
        w.Int64(*r.first_bad_seq);
      else
        w.Null();
      if (r.ok()) json_field(w, "last_hash", last_hash);
      json_list(w, "problems", r.problems);
      w.EndObject();
    });
    return;
  }
  print_line("events checked", std::to_string(r.events));
  print_line("seconds", format_seconds(r.seconds));
  print_line("events/s", std::to_string(static_cast<int64_t>(rate)));
  if (r.ok()) {
    print_line("last hash", last_hash.empty() ? "(empty log)" : last_hash);
    std::printf("OK\n");
    return;
  }
  for (const std::string& problem : r.problems) print_line("problem", problem);
  if (r.first_bad_seq) print_line("first bad seq", std::to_string(*r.first_bad_seq));
  std::printf("FAILED\n");
}

int run_verify(const VerifyArgs& args) {
  auto db = open_db(args.db, sqlite::Db::Mode::read_only, true);
  if (!db.is_ok()) return fail("verify", db.status(), "opening the database");
  ProgressBar bar("verify");
  auto report = projections::verify(db.value(), bar.callback());
  if (!report.is_ok()) return fail("verify", report.status(), "verifying");
  bar.finish(report->events);
  std::string last_hash =
      report->ok() && report->events > 0 ? hash_at(db.value(), report->events) : "";
  print_verify(report.value(), last_hash, args.json);
  return report->ok() ? exit_ok : exit_failed;
}

}  // namespace

void add_migrate(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<MigrateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "migrate",
      "create or upgrade the database schema, then rebuild projections built by older code");
  add_db_option(*cmd, args->db);
  add_json_flag(*cmd, args->json);
  cmd->callback([args, &runner] { runner = [args] { return run_migrate(*args); }; });
}

void add_rebuild(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<RebuildArgs>();
  CLI::App* cmd = app.add_subcommand(
      "rebuild",
      "rebuild the projections from the event log into shadow tables, report drift, swap them in");
  add_db_option(*cmd, args->db);
  cmd->add_option("--projection", args->projection,
                  "rebuild only this projection (" + join(projections::projection_names()) + ")")
      ->check(projection_validator());
  add_json_flag(*cmd, args->json);
  cmd->callback([args, &runner] { runner = [args] { return run_rebuild(*args); }; });
}

void add_verify(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "check the hash chain, double-entry balance, money invariants and that every projection "
      "equals a fresh rebuild; exit 1 naming the first bad seq");
  add_db_option(*cmd, args->db);
  add_json_flag(*cmd, args->json);
  cmd->callback([args, &runner] { runner = [args] { return run_verify(*args); }; });
}

}  // namespace escrow::ctl
