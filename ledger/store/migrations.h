// Schema migrations: the numbered schema/NNNN_name.sql files, embedded in every binary at build
// time, applied in order, each in its own transaction, and recorded in `schema_migrations` with
// the SHA-256 of its text. A recorded migration whose text has since changed is reported as
// corrupt rather than silently skipped. Thread-safety: call with a connection no one else uses.
#pragma once

#include <string>
#include <vector>

#include "ledger/status.h"
#include "ledger/store/sqlite.h"

namespace escrow {

struct EmbeddedMigration {
  int version;
  const char* name;
  const char* sql;
};

const std::vector<EmbeddedMigration>& embedded_migrations();  // generated from schema/

struct MigrationReport {
  std::vector<std::string> applied;  // names applied by this call
  int version = 0;                   // the schema version now
};

Result<MigrationReport> migrate(sqlite::Db& db);
// The newest version applied in `db`, and whether every embedded migration is applied.
Result<int> schema_version(sqlite::Db& db);
bool schema_is_current(sqlite::Db& db);

// Opens (creating if needed) the database at `path` in WAL mode and applies pending migrations.
Result<MigrationReport> migrate_file(const std::string& path);

// What a readiness probe asks of the database file, on a fresh read-write connection of its own
// (so it sees what a restart would: a file turned read-only, a schema changed under us): whether
// the file can be written, and whether its schema is the one this build expects.
struct DatabaseReadiness {
  bool writable = false;
  bool migrations_current = false;
};
DatabaseReadiness probe_database(const std::string& path);

}  // namespace escrow
