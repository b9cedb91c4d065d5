// Test fixtures on a fresh database: LedgerDb (a migrated SQLite file with the event store, the
// live projections and the command shell, as escrowd opens them) and ServiceParts (LedgerDb plus
// everything else api::Services refers to, but the Paystack client and the outbox, whose set-up
// differs from suite to suite).
//
// Contract: each fixture owns a TempDir holding the database (escrow.db) and, for ServiceParts,
// the blob store (blobs/); both are removed with the fixture. The clock is a ManualClock, so that
// tests move time on demand. Failures to open anything fail the running test (REQUIRE). Not
// thread-safe to construct; the parts themselves are as thread-safe as their headers say.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/app.h"
#include "api/auth.h"
#include "api/config.h"
#include "api/metrics.h"
#include "api/read_pool.h"
#include "api/uploads.h"
#include "ledger/clock.h"
#include "ledger/event_store.h"
#include "ledger/migrations.h"
#include "ledger/shell.h"
#include "ledger/sqlite.h"
#include "projections/live.h"
#include "projections/rebuild.h"
#include "projections/webhook_log.h"
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

// LedgerDb and the parts of api::Services that every suite builds alike: the config (database,
// blob directory, JWT secret, Paystack key and URL), a read pool, the JWT authenticator, a blob
// store, metrics and the webhook log.
struct ServiceParts : LedgerDb {
  escrow::api::Config config;
  escrow::api::ReadPool reads{path};
  escrow::api::Authenticator auth;
  std::unique_ptr<escrow::api::BlobStore> blobs;
  escrow::api::Metrics metrics;
  escrow::projections::WebhookLog webhooks{*store, live};

  ServiceParts(int64_t now_ms, const std::string& jwt_secret, const std::string& paystack_key,
               const std::string& paystack_url)
      : LedgerDb(now_ms), auth(authenticator(jwt_secret)) {
    config.db_path = path;
    config.blob_dir = dir.path + "/blobs";
    config.jwt_secret = jwt_secret;
    config.paystack_secret_key = paystack_key;
    config.paystack_base_url = paystack_url;
    auto blob_store = escrow::api::BlobStore::open(config.blob_dir);
    REQUIRE(blob_store.is_ok());
    blobs = std::move(blob_store).value();
  }

  // Services over these parts, `paystack` and `outbox`; the outbox may be built after this call
  // (as App does: Services only refers to it).
  escrow::api::Services services_with(escrow::paystack::Client& paystack,
                                      escrow::api::Outbox& outbox) {
    return escrow::api::Services{config, clock,    *store,  *shell,   live,     reads,
                                 auth,   paystack, *blobs,  metrics,  webhooks, outbox};
  }

  // The wall clock now, in milliseconds since the epoch: a start for `now_ms`.
  static int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

 private:
  static escrow::api::Authenticator authenticator(const std::string& jwt_secret) {
    auto created = escrow::api::Authenticator::create(jwt_secret);
    REQUIRE(created.is_ok());
    return std::move(created).value();
  }
};
