// One seeded, deterministic run of the whole service without HTTP (docs/testing.md): the service
// layer (checkouts, payment checks, settlement, webhook reception and processing, the outbox, the
// schedulers, the notifier, payout accounts, chargebacks, reconciliation) over a real SQLite file
// reached through FaultVfs, with a simulated Paystack (SimPaystack) and a simulated clock that
// moves only when the simulation says.
//
// A seed draws a workload (bookings between a few clients and providers; every command of the
// API, valid and not, by the right party and by strangers, sometimes racing another command on the
// same booking) and a fault schedule (the process killed at a write or sync, power lost after the
// last sync, one failed write or sync, Paystack refusing, failing, slow or losing its answers,
// webhooks duplicated, dropped, late and out of order, transfers failing, reversing or waiting
// for an OTP, refunds failing or needing attention, chargebacks, clock jumps across the
// auto-confirm and expiry deadlines). After the workload the faults stop and the service runs
// until nothing is left to do.
//
// Checked after every step: an independent model of each booking and provider (the randomized
// suite's Auditor, fed every committed command's events) finds no broken rule, and its money
// agrees with the ledger's states (captured = held + released + refunded + charged back; nothing
// negative that must not be). After every restart: nothing acknowledged was lost (the last
// acknowledged event is there with the same hash, so the chain before it is too), and
// `escrowctl verify`'s checks pass (hash chain, double entry, projections equal to a fresh fold).
// At the end, additionally: the run is quiescent (no payout, refund, webhook or notification
// still waiting), every transfer and refund at Paystack is matched by exactly one payout or
// refund of the ledger with the same amount and outcome and vice versa, and no transaction was
// given back more than it took (refunds plus accepted chargebacks).
//
// The same seed gives the same run: the same steps, events and hashes (Report::digest).
// Thread-safety: one Simulation per process at a time (FaultVfs and paystack-sim's clock are
// process-wide).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace escrow::sim {

struct Options {
  uint64_t seed = 1;
  std::string dir;  // an empty directory for the database; removed by the caller
  // A migrated, empty database (make_template()) copied in instead of migrating anew: the same
  // file the first start would make, without its cost in every seed. Empty: none.
  std::string template_path;
  int steps = 250;  // workload steps before the faults stop
  int bookings_max = 12;
  // Told every step as it is taken ("step 12 t=+3600000 pay bk-3 -> opened ..."): the trace.
  std::function<void(const std::string&)> trace;
  // The crash-point loop's run instead of a random workload: one fixed scenario (two bookings and
  // a provider: create, pay, webhook, proof, approval, release, payout account, withdrawal and
  // its payout, dispute, refund) driven to its end whatever happens, and, when cut_at > 0, the
  // process killed at that storage operation (counted from the first start; with the power lost
  // too when cut_loses_power), restarted, and the scenario finished.
  bool scenario = false;
  uint64_t cut_at = 0;
  bool cut_loses_power = false;
};

struct Report {
  bool ok = true;
  std::string failure;  // the first broken invariant, with the step it was found at
  uint64_t steps = 0, bookings = 0, commands = 0, rejections = 0, events = 0;
  uint64_t crashes = 0, power_losses = 0, io_errors = 0;  // storage faults injected
  uint64_t network_faults = 0;                            // Paystack calls faulted
  uint64_t webhook_faults = 0;                            // dropped, duplicated, delayed
  uint64_t races = 0;                                     // commands raced by another
  uint64_t payouts = 0, refunds = 0, chargebacks = 0;     // at Paystack, at the end
  std::string digest;               // of the trace and the last event's hash: equal for equal runs
  uint64_t storage_operations = 0;  // writes, truncations and syncs since the last restart
};

Report simulate(const Options& options);

// Migrates a fresh database at `path` the way the service's first start does and closes it
// cleanly (one file, no WAL): a template for Options::template_path. Not ok if it cannot.
bool make_template(const std::string& path);

}  // namespace escrow::sim
