// `escrow-bench core`: drives randomized bookings through whole lifecycles (full and split plans,
// disputes, refunds, payouts, withdrawals) through the real command path (CommandShell, the
// SQLite event store with group commit, the inline projections) into a real database file, and
// reports commands/s, events/s and latency percentiles.
#pragma once

#include <cstdint>
#include <string>

namespace escrow::bench {

struct CoreOptions {
  std::string db_path;
  int64_t bookings = 1000;
  int workers = 32;
  uint64_t seed = 1;
  bool group_commit = true;
  std::string synchronous = "full";
  bool json = false;
};

int run_core(const CoreOptions& options);

}  // namespace escrow::bench
