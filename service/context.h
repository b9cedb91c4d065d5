// What the service's parts run on: the command shell (and through it the event store and the
// live projections), the read queries (and the read-only connections under them), the Paystack
// client and the clock.
//
// A plain bundle of references, built by whoever owns the parts (escrowd's App, `escrowctl
// reconcile --apply`, the tests) and copied freely; it is not a locator, and it holds nothing of
// HTTP. Every function and worker of service/ takes the Context it needs, plus its own options.
//
// Thread-safety: the referenced parts are safe to use from any thread (see their headers); the
// owner keeps them alive for as long as anything built on the Context runs.
#pragma once

#include "ledger/clock.h"
#include "ledger/store/read_pool.h"
#include "ledger/store/shell.h"
#include "paystack/client.h"
#include "projections/queries.h"

namespace escrow::service {

struct Context {
  const Clock& clock;
  CommandShell& shell;
  ReadPool& reads;                // for what keeps its own SQL (reconciliation's comparison)
  projections::Queries& queries;  // every read of the projections
  paystack::Client& paystack;
};

}  // namespace escrow::service
