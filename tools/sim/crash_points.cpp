// The crash-point loop; see crash_points.h and docs/testing.md.
//
// The scenario (Options::scenario in simulation.h) runs once uncut to count the storage
// operations (writes, truncations, syncs) it makes. Then, for every N from 1 to that count, it
// runs again with the process killed at operation N, and again with the power lost there too
// (everything after the last sync gone). Each run restarts the service on the file and checks,
// as the simulation does after every restart: PRAGMA integrity_check is ok; the last
// acknowledged command is there with the same hash (so the chain before it is too); the last
// acknowledged webhook delivery is there; `escrowctl verify`'s checks pass (hash chain, double
// entry, projections equal to a fresh fold: nothing half-applied). Then it finishes the scenario
// and checks that the model agrees with the ledger and that Paystack holds exactly one transfer
// and one refund: none lost, none made twice.
#include "crash_points.h"

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <string>

#include "simulation.h"

namespace escrow::sim {

namespace {

namespace fs = std::filesystem;

Report run_cut(const std::string& base, uint64_t cut_at, bool power) {
  fs::path dir = fs::path(base) / ("escrow-crash-point-" + std::to_string(cut_at));
  std::error_code error;
  fs::remove_all(dir, error);
  fs::create_directories(dir, error);
  Options options;
  options.seed = 1;
  options.dir = dir.string();
  options.scenario = true;
  options.cut_at = cut_at;
  options.cut_loses_power = power;
  Report report = simulate(options);
  if (report.ok) fs::remove_all(dir, error);
  return report;
}

}  // namespace

bool crash_point_loop(const std::string& dir, std::ostream& out, uint64_t stride) {
  Report counted = run_cut(dir, 0, false);
  if (!counted.ok) {
    out << "the scenario fails without a cut: " << counted.failure << "\n";
    return false;
  }
  const uint64_t operations = counted.storage_operations;
  out << "the scenario makes " << operations << " storage operations" << std::endl;
  int failed = 0;
  uint64_t runs = 0, restarted = 0;
  for (bool power : {false, true}) {
    for (uint64_t cut = 1; cut <= operations && failed < 10; cut += std::max<uint64_t>(stride, 1)) {
      ++runs;
      Report report = run_cut(dir, cut, power);
      if (report.crashes + report.power_losses > 0) ++restarted;
      if (report.ok) continue;
      ++failed;
      out << "cut at operation " << cut << (power ? " with the power lost" : " (killed)") << ": "
          << report.failure << std::endl;
    }
  }
  std::string where = stride == 1 ? "each" : "every " + std::to_string(stride) + "th";
  out << runs << " cut runs (killed, and killed with the power lost, at " << where << " of "
      << operations << " operations), " << restarted << " of them restarted, " << failed
      << " failed" << std::endl;
  // Every cut must have been reached: a run that never crashed checked nothing.
  if (failed == 0 && restarted != runs) {
    out << "some cut runs never reached their cut" << std::endl;
    return false;
  }
  return failed == 0;
}

}  // namespace escrow::sim
