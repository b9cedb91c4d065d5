// Test fixtures for the service: ServiceParts (LedgerDb, test/ledger_db.h, plus everything else
// api::Services refers to, but the Paystack client and the outbox, whose set-up differs from
// suite to suite).
//
// Contract: the fixture owns a TempDir holding the database (escrow.db) and the blob store
// (blobs/); both are removed with the fixture. Failures to open anything fail the running test
// (REQUIRE). Not thread-safe to construct; the parts themselves are as thread-safe as their
// headers say.
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
#include "api/uploads.h"
#include "ledger/store/read_pool.h"
#include "projections/webhook_log.h"
#include "service/outbox.h"
#include "test/ledger_db.h"

// LedgerDb and the parts of api::Services that every suite builds alike: the config (database,
// blob directory, JWT secret, Paystack key and URL), a read pool, the JWT authenticator, a blob
// store, metrics, the webhook log and the pool handlers resume on.
struct ServiceParts : LedgerDb {
  escrow::api::Config config;
  escrow::ReadPool reads{path};
  escrow::projections::Queries queries{reads};
  escrow::api::Authenticator auth;
  std::unique_ptr<escrow::api::BlobStore> blobs;
  escrow::api::Metrics metrics;
  escrow::projections::WebhookLog webhooks{*store, live};
  escrow::api::TaskPool tasks{2};  // where handlers resume after their commits

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
                                      escrow::service::Outbox& outbox) {
    return escrow::api::Services{config,
                                 clock,
                                 *store,
                                 *shell,
                                 live,
                                 queries,
                                 auth,
                                 paystack,
                                 *blobs,
                                 metrics,
                                 webhooks,
                                 outbox,
                                 escrow::service::Context{clock, *shell, reads, queries, paystack},
                                 tasks};
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
