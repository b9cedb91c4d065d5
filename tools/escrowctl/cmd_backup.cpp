// escrowctl backup PATH: an online, consistent copy of the database through SQLite's backup API.
//
// The copy is taken from a read-only connection inside one read transaction, so it is exactly the
// database as of one commit (the service keeps appending meanwhile; WAL readers do not block it).
// The head of the log (last seq and hash) is read in that same transaction. The pages go to a
// temporary file beside PATH, created owner-only (the database holds client e-mail addresses),
// which is then checked (it opens, passes quick_check, and its head equals the source's) and only
// then moved to PATH: a failed backup never leaves a half-written file under PATH. An existing
// PATH is refused unless --force.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common.h"
#include "ledger/store/event_store.h"

namespace escrow::ctl {

namespace {

namespace fs = std::filesystem;

constexpr int backup_step_pages = 4096;  // pages per sqlite3_backup_step

struct BackupArgs {
  std::string db, path;
  bool force = false;
  bool json = false;
};

Status io_error(const std::string& message) {
  return Status(StatusCode::io_error, message);
}

// Creates an empty owner-only file beside `target` that no one else has, and returns its name.
Result<std::string> create_temporary(const std::string& target) {
  std::string name = target + ".tmp-" + std::to_string(getpid());
  int fd = ::open(name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create " + name + ": " + std::strerror(errno));
  ::close(fd);
  return name;
}

// Copies every page of `source` (inside its open read transaction) into the file `target`.
Status copy_pages(sqlite::Db& source, const std::string& target) {
  auto dest = sqlite::Db::open(target, sqlite::Db::Mode::read_write);
  if (!dest.is_ok()) return dest.status();
  sqlite3_backup* backup = sqlite3_backup_init(dest->raw(), "main", source.raw(), "main");
  if (!backup) return dest->error("starting the backup");
  int rc = SQLITE_OK;
  while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    rc = sqlite3_backup_step(backup, backup_step_pages);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
  }
  sqlite3_backup_finish(backup);  // its result repeats the last step's error, if any
  if (rc != SQLITE_DONE) return sqlite::status_from_code(rc, "copying pages", dest->raw());
  return Status::ok();
}

// Opens the copy as a stranger would and checks it against the source's head.
Status check_copy(const std::string& copy, const Head& expected) {
  auto db = sqlite::Db::open(copy, sqlite::Db::Mode::read_write);
  if (!db.is_ok()) return db.status();
  auto check = db->prepare("PRAGMA quick_check");
  if (!check.is_ok()) return check.status();
  auto row = check->step();
  if (!row.is_ok()) return row.status();
  if (!row.value() || check->column_text(0) != "ok")
    return Status(StatusCode::corrupt, "the copy fails quick_check: " + check->column_text(0));
  auto head = log_head(db.value());
  if (!head.is_ok()) return head.status();
  if (head->seq != expected.seq || head->hash != expected.hash)
    return Status(StatusCode::corrupt, "the copy's last event (seq " + std::to_string(head->seq) +
                                           ") is not the source's (seq " +
                                           std::to_string(expected.seq) + ")");
  return Status::ok();
}

// Moves the checked copy into place: link() refuses an existing PATH atomically; --force renames.
Status install(const std::string& temporary, const std::string& target, bool force) {
  if (force) {
    if (::rename(temporary.c_str(), target.c_str()) != 0)
      return io_error("cannot move the copy to " + target + ": " + std::strerror(errno));
  } else {
    if (::link(temporary.c_str(), target.c_str()) != 0)
      return io_error(errno == EEXIST
                          ? target + " appeared while copying; not overwritten (use --force)"
                          : "cannot move the copy to " + target + ": " + std::strerror(errno));
    ::unlink(temporary.c_str());
  }
  fs::path dir = fs::path(target).parent_path();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);  // the new name survives a crash
    ::close(fd);
  }
  return Status::ok();
}

// The refusals that need no database: an existing PATH, a directory, the source itself.
std::string target_problem(const BackupArgs& args) {
  std::error_code ec;
  if (fs::is_directory(args.path, ec)) return args.path + " is a directory; name the backup file";
  if (fs::exists(args.path, ec)) {
    if (fs::equivalent(args.path, args.db, ec)) return args.path + " is the database itself";
    if (!args.force) return args.path + " exists; refusing to overwrite it (use --force)";
  }
  fs::path dir = fs::path(args.path).parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec)) return "no directory " + dir.string();
  return std::string();
}

void print_backup(const BackupArgs& args, const Head& head, int64_t bytes, double seconds) {
  if (args.json) {
    print_json([&](JsonWriter& w) {
      w.StartObject();
      json_field(w, "path", args.path);
      json_field(w, "bytes", bytes);
      json_field(w, "last_seq", head.seq);
      json_field(w, "last_hash", head.hash);
      json_field(w, "seconds", seconds);
      w.EndObject();
    });
    return;
  }
  print_line("backup", args.path);
  print_line("bytes", std::to_string(bytes));
  print_line("last seq", std::to_string(head.seq));
  print_line("last hash", head.hash);
  print_line("seconds", format_seconds(seconds));
  std::printf("OK: the copy opens, passes quick_check and ends at the source's last event\n");
}

// Copies inside one read transaction on the source; returns the head the copy must end at.
Result<Head> snapshot_to(const std::string& db_path, const std::string& temporary) {
  auto source = open_db(db_path, sqlite::Db::Mode::read_only, false);
  if (!source.is_ok()) return source.status();
  auto txn = sqlite::Transaction::begin(source.value(), sqlite::Transaction::Kind::deferred);
  if (!txn.is_ok()) return txn.status();
  auto head = log_head(source.value());  // also starts the read: the snapshot the copy takes
  if (!head.is_ok()) return head.status();
  if (Status s = copy_pages(source.value(), temporary); !s.is_ok()) return s;
  return head;
}

int run_backup(const BackupArgs& args) {
  if (std::string problem = target_problem(args); !problem.empty())
    return fail("backup", exit_failed, problem);
  auto start = std::chrono::steady_clock::now();
  auto temporary = create_temporary(args.path);
  if (!temporary.is_ok()) return fail("backup", temporary.status(), "preparing the copy");
  auto head = snapshot_to(args.db, temporary.value());
  Status status = head.is_ok() ? check_copy(temporary.value(), head.value()) : head.status();
  if (status.is_ok()) status = install(temporary.value(), args.path, args.force);
  if (!status.is_ok()) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
      fs::remove(temporary.value() + suffix, ec);
    return fail("backup", status, "backing up " + args.db);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::error_code ec;
  auto bytes = fs::file_size(args.path, ec);
  print_backup(args, head.value(), ec ? 0 : static_cast<int64_t>(bytes), seconds);
  return exit_ok;
}

}  // namespace

void add_backup(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<BackupArgs>();
  CLI::App* cmd = app.add_subcommand(
      "backup",
      "copy the live database to PATH, consistently and without stopping the service; check the "
      "copy before putting it in place");
  add_db_option(*cmd, args->db);
  cmd->add_option("PATH", args->path, "the backup file to create")->required();
  cmd->add_flag("--force", args->force, "replace PATH if it exists");
  add_json_flag(*cmd, args->json);
  cmd->callback([args, &runner] { runner = [args] { return run_backup(*args); }; });
}

}  // namespace escrow::ctl
