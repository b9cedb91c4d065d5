// Schema migrations (see migrations.h and schema/README.md).
//
// Each pending migration is applied and recorded in one IMMEDIATE transaction, and whether it is
// pending is decided inside that transaction, so two processes migrating the same file at once
// cannot both apply it. A database that records a migration this binary does not know (it was
// migrated by a newer binary) is refused rather than run against a schema we do not understand.
#include "ledger/store/migrations.h"

#include <optional>

#include "ledger/clock.h"
#include "ledger/hash.h"

namespace escrow {
namespace {

constexpr const char* create_migrations_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"      // sha256_hex of the migration's SQL text
    " applied_at INTEGER NOT NULL"  // unix milliseconds
    ") STRICT";

Result<bool> migrations_table_exists(sqlite::Db& db) {
  Result<sqlite::Stmt> stmt =
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  if (!stmt.is_ok()) return stmt.status();
  return stmt->step();
}

// The checksum recorded for `version`, or nullopt if it was never applied.
Result<std::optional<std::string>> recorded_checksum(sqlite::Db& db, int version) {
  Result<sqlite::Stmt> stmt =
      db.prepare("SELECT checksum FROM schema_migrations WHERE version = ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, version);
  Result<bool> row = stmt->step();
  if (!row.is_ok()) return row.status();
  if (!row.value()) return std::optional<std::string>();
  return std::optional<std::string>(stmt->column_text(0));
}

int newest_embedded_version() {
  const auto& migrations = embedded_migrations();
  return migrations.empty() ? 0 : migrations.back().version;
}

// Refuses a database that records a migration newer than any this binary embeds.
Status check_not_newer(sqlite::Db& db) {
  Result<sqlite::Stmt> stmt = db.prepare(
      "SELECT version, name FROM schema_migrations WHERE version > ? ORDER BY version LIMIT 1");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, newest_embedded_version());
  Result<bool> row = stmt->step();
  if (!row.is_ok()) return row.status();
  if (!row.value()) return Status::ok();
  return Status(StatusCode::invalid_argument, "database records migration " + stmt->column_text(1) +
                                                  ", newer than this binary knows (newest " +
                                                  std::to_string(newest_embedded_version()) +
                                                  "); use a newer binary");
}

Status checksum_mismatch(const EmbeddedMigration& migration) {
  return Status(StatusCode::corrupt, std::string("migration ") + migration.name +
                                         " was applied with a different text (checksum mismatch)");
}

// Applies `migration` unless already recorded; sets `applied` when it did.
Status apply_one(sqlite::Db& db, const EmbeddedMigration& migration, bool& applied) {
  applied = false;
  Result<sqlite::Transaction> tx = sqlite::Transaction::begin(db);
  if (!tx.is_ok()) return tx.status();
  std::string checksum = sha256_hex(migration.sql);
  Result<std::optional<std::string>> recorded = recorded_checksum(db, migration.version);
  if (!recorded.is_ok()) return recorded.status();
  if (recorded.value().has_value()) {
    if (*recorded.value() != checksum) return checksum_mismatch(migration);
    return tx->commit();
  }
  Status status = db.exec(migration.sql);
  if (!status.is_ok()) {
    return Status(status.code(),
                  std::string("migration ") + migration.name + ": " + status.message());
  }
  Result<sqlite::Stmt> insert = db.prepare(
      "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)");
  if (!insert.is_ok()) return insert.status();
  insert->bind(1, migration.version).bind(2, migration.name).bind(3, checksum);
  insert->bind(4, SystemClock().now_ms());
  status = insert->run();
  if (!status.is_ok()) return status;
  status = tx->commit();
  applied = status.is_ok();
  return status;
}

}  // namespace

Result<MigrationReport> migrate(sqlite::Db& db) {
  const auto& migrations = embedded_migrations();
  for (size_t i = 1; i < migrations.size(); ++i) {
    LEDGER_ASSERT(migrations[i - 1].version < migrations[i].version,
                  "embedded migrations must have strictly increasing numbers");
  }
  Status status = db.exec(create_migrations_table_sql);
  if (!status.is_ok()) return status;
  status = check_not_newer(db);
  if (!status.is_ok()) return status;
  MigrationReport report;
  for (const EmbeddedMigration& migration : migrations) {
    bool applied = false;
    status = apply_one(db, migration, applied);
    if (!status.is_ok()) return status;
    if (applied) report.applied.emplace_back(migration.name);
  }
  Result<int> version = schema_version(db);
  if (!version.is_ok()) return version.status();
  report.version = version.value();
  return report;
}

Result<int> schema_version(sqlite::Db& db) {
  Result<bool> exists = migrations_table_exists(db);
  if (!exists.is_ok()) return exists.status();
  if (!exists.value()) return 0;
  Result<sqlite::Stmt> stmt = db.prepare("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!stmt.is_ok()) return stmt.status();
  Result<bool> row = stmt->step();
  if (!row.is_ok()) return row.status();
  return static_cast<int>(stmt->column_int64(0));
}

// Current means: every embedded migration is recorded with the checksum of its text, and
// nothing newer is recorded.
bool schema_is_current(sqlite::Db& db) {
  Result<bool> exists = migrations_table_exists(db);
  if (!exists.is_ok() || !exists.value()) return false;
  if (!check_not_newer(db).is_ok()) return false;
  for (const EmbeddedMigration& migration : embedded_migrations()) {
    Result<std::optional<std::string>> recorded = recorded_checksum(db, migration.version);
    if (!recorded.is_ok() || !recorded.value().has_value()) return false;
    if (*recorded.value() != sha256_hex(migration.sql)) return false;
  }
  return true;
}

Result<MigrationReport> migrate_file(const std::string& path) {
  Result<sqlite::Db> db = sqlite::Db::open(path, sqlite::Db::Mode::read_write_create);
  if (!db.is_ok()) return db.status();
  Status status = db->exec("PRAGMA journal_mode=WAL");
  if (!status.is_ok()) return status;
  return migrate(db.value());
}

DatabaseReadiness probe_database(const std::string& path) {
  DatabaseReadiness r;
  Result<sqlite::Db> db = sqlite::Db::open(path, sqlite::Db::Mode::read_write);
  if (!db.is_ok()) return r;
  r.writable = sqlite3_db_readonly(db->raw(), "main") == 0;
  r.migrations_current = schema_is_current(db.value());
  return r;
}

}  // namespace escrow
