// The service's parts over one database, opened the way escrowd opens them: the database
// migrated (and any projection whose code changed rebuilt), the event store, the live
// projections, the command shell, read-only connections, the webhook log and the Paystack
// client. escrowd's App builds its HTTP layer on a Runtime; `escrowctl reconcile --apply`
// records through one, with no HTTP and no JWT secret.
//
//   auto runtime = service::Runtime::open(options, clock);
//   service::Context context = runtime.value()->context();
//
// Thread-safety: the parts are safe to use from any thread (see their headers); destroying the
// Runtime drains the event store, so nothing built on its Context may still run then.
#pragma once

#include <memory>
#include <string>

#include "ledger/clock.h"
#include "ledger/status.h"
#include "ledger/store/event_store.h"
#include "ledger/store/read_pool.h"
#include "ledger/store/shell.h"
#include "paystack/client.h"
#include "projections/live.h"
#include "projections/queries.h"
#include "projections/webhook_log.h"
#include "service/context.h"

namespace escrow::service {

class Runtime {
 public:
  struct Options {
    std::string db_path;  // the SQLite file; its directory is created when missing
    Synchronous synchronous = Synchronous::full;
    paystack::ClientConfig paystack;
  };

  // Migrates the database, rebuilds stale projections and opens every part; starts nothing.
  static Result<std::unique_ptr<Runtime>> open(const Options& options, const Clock& clock);
  // The same over a Paystack client of the caller's (escrow-sim's, over its simulated Paystack);
  // options.paystack is not used.
  static Result<std::unique_ptr<Runtime>> open(const Options& options, const Clock& clock,
                                               std::unique_ptr<paystack::Client> paystack);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  Context context() { return Context{clock_, shell_, reads_, queries_, *paystack_}; }
  const Clock& clock() const { return clock_; }
  EventStore& store() { return *store_; }
  projections::LiveProjections& projections() { return projections_; }
  CommandShell& shell() { return shell_; }
  ReadPool& reads() { return reads_; }
  projections::Queries& queries() { return queries_; }
  projections::WebhookLog& webhooks() { return webhooks_; }
  paystack::Client& paystack() { return *paystack_; }

 private:
  Runtime(const Options& options, const Clock& clock, std::unique_ptr<EventStore> store,
          std::unique_ptr<paystack::Client> paystack);

  const Clock& clock_;
  std::unique_ptr<EventStore> store_;
  projections::LiveProjections projections_;
  CommandShell shell_;
  ReadPool reads_;
  projections::Queries queries_{reads_};
  projections::WebhookLog webhooks_;
  std::unique_ptr<paystack::Client> paystack_;
};

}  // namespace escrow::service
