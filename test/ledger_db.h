// A fresh migrated database for tests: LedgerDb holds the event store, the live projections and
// the command shell, as escrowd opens them, with SQL helpers and the projections' check.
//
// Contract: the fixture owns a TempDir holding the database (escrow.db), removed with it. The
// clock is a ManualClock, so that tests move time on demand. Failures to open anything fail the
// running test (REQUIRE). Not thread-safe to construct; the parts themselves are as thread-safe
// as their headers say. Ledger-only: no api/ header, so ledger and projection suites use it too.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "ledger/clock.h"
#include "ledger/store/event_store.h"
#include "ledger/store/migrations.h"
#include "ledger/store/shell.h"
#include "ledger/store/sqlite.h"
#include "projections/live.h"
#include "projections/rebuild.h"
#include "test/temp_dir.h"

// A fresh migrated database: the event store (group commit, synchronous=normal, recorded_at from
// `clock`), the live projections and the command shell over them; SQL reads on a connection of
// the test's own, and the projections' check against a fresh rebuild.
struct LedgerDb {
  TempDir dir;
  std::string path = dir.path + "/escrow.db";
  escrow::ManualClock clock;
  escrow::projections::LiveProjections live;
  std::unique_ptr<escrow::EventStore> store;
  std::unique_ptr<escrow::CommandShell> shell;

  explicit LedgerDb(int64_t now_ms = 1'800'000'000'000) : clock(now_ms) {
    using namespace escrow;
    REQUIRE(migrate_file(path).is_ok());
    auto opened =
        EventStore::open(EventStoreOptions{path, true, Synchronous::normal, 1024, 65536, &clock});
    REQUIRE(opened.is_ok());
    store = std::move(opened).value();
    shell = std::make_unique<CommandShell>(*store, live, clock);
  }

  escrow::sqlite::Db connect(escrow::sqlite::Db::Mode mode = escrow::sqlite::Db::Mode::read_only) {
    auto db = escrow::sqlite::Db::open(path, mode);
    REQUIRE(db.is_ok());
    return std::move(db).value();
  }

  // The first column of the first row `sql` answers; the test fails when there is no row.
  std::string text(const std::string& sql) {
    escrow::sqlite::Db db = connect();
    auto stmt = db.prepare(sql);
    REQUIRE(stmt.is_ok());
    auto row = stmt->step();
    REQUIRE(row.is_ok());
    REQUIRE(row.value());
    return stmt->column_text(0);
  }
  int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }

  // The projection tables equal a fresh rebuild from the event log (hash chain included).
  void expect_verified() {
    escrow::sqlite::Db db = connect();
    auto report = escrow::projections::verify(db);
    REQUIRE(report.is_ok());
    INFO((report->problems.empty() ? std::string() : report->problems.front()));
    CHECK(report->ok());
  }
};
