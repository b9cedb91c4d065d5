// escrow-sim: the deterministic simulation of the service (docs/testing.md).
//
//   escrow-sim --seed 42 --trace      one run, every step printed; the replay of a failure
//   escrow-sim --seeds 200            seeds 1..200 (--first F to start elsewhere)
//   escrow-sim --minutes 60           seeds from --first on until the time is up
//   escrow-sim --crash-points         the crash-point loop (crash_points.h)
//
// Each run uses a fresh database in --dir (default: a temporary directory under /dev/shm when
// there is one, else the system's temporary directory), removed afterwards unless the run
// failed. A failure prints its seed and the replay command. Exit status: 0 when every run held,
// 1 when one failed, 2 for a bad command line.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "crash_points.h"
#include "simulation.h"

namespace {

namespace fs = std::filesystem;

std::string default_dir() {
  std::error_code error;
  if (fs::is_directory("/dev/shm", error)) return "/dev/shm";
  return fs::temp_directory_path(error).string();
}

struct Totals {
  uint64_t seeds = 0, failed = 0, steps = 0, bookings = 0, commands = 0, rejections = 0;
  uint64_t events = 0, crashes = 0, power_losses = 0, io_errors = 0, network_faults = 0;
  uint64_t webhook_faults = 0, races = 0, payouts = 0, refunds = 0, chargebacks = 0;

  void add(const escrow::sim::Report& r) {
    ++seeds;
    failed += r.ok ? 0 : 1;
    steps += r.steps;
    bookings += r.bookings;
    commands += r.commands;
    rejections += r.rejections;
    events += r.events;
    crashes += r.crashes;
    power_losses += r.power_losses;
    io_errors += r.io_errors;
    network_faults += r.network_faults;
    webhook_faults += r.webhook_faults;
    races += r.races;
    payouts += r.payouts;
    refunds += r.refunds;
    chargebacks += r.chargebacks;
  }

  void print(double seconds) const {
    std::printf(
        "seeds %llu, failed %llu, in %.1f s\n"
        "  steps %llu, bookings %llu, commands %llu (%llu refused), events %llu\n"
        "  faults: %llu kills, %llu power losses, %llu failed writes or syncs, %llu Paystack "
        "calls faulted, %llu webhooks dropped, delayed or duplicated, %llu races\n"
        "  at Paystack: %llu transfers, %llu refunds, %llu chargebacks\n",
        static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(failed), seconds,
        static_cast<unsigned long long>(steps), static_cast<unsigned long long>(bookings),
        static_cast<unsigned long long>(commands), static_cast<unsigned long long>(rejections),
        static_cast<unsigned long long>(events), static_cast<unsigned long long>(crashes),
        static_cast<unsigned long long>(power_losses), static_cast<unsigned long long>(io_errors),
        static_cast<unsigned long long>(network_faults),
        static_cast<unsigned long long>(webhook_faults), static_cast<unsigned long long>(races),
        static_cast<unsigned long long>(payouts), static_cast<unsigned long long>(refunds),
        static_cast<unsigned long long>(chargebacks));
  }
};

// One seed in a fresh directory; the directory stays when the run failed.
escrow::sim::Report run_seed(uint64_t seed, const std::string& base, int steps, int bookings,
                             bool trace, const std::string& template_path) {
  fs::path dir = fs::path(base) / ("escrow-sim-" + std::to_string(seed));
  std::error_code error;
  fs::remove_all(dir, error);
  fs::create_directories(dir, error);
  escrow::sim::Options options;
  options.seed = seed;
  options.dir = dir.string();
  options.steps = steps;
  options.bookings_max = bookings;
  options.template_path = template_path;
  if (trace) options.trace = [](const std::string& line) { std::cout << line << "\n"; };
  escrow::sim::Report report = escrow::sim::simulate(options);
  if (report.ok) {
    fs::remove_all(dir, error);
  } else {
    std::printf(
        "seed %llu FAILED: %s\n  database kept in %s\n  replay: escrow-sim --seed %llu "
        "--trace\n",
        static_cast<unsigned long long>(seed), report.failure.c_str(), dir.string().c_str(),
        static_cast<unsigned long long>(seed));
  }
  return report;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"escrow-sim: the deterministic simulation of the escrow service"};
  uint64_t seed = 0, seeds = 0, first = 1;
  double minutes = 0;
  int steps = 250, bookings = 12;
  bool trace = false, crash_points = false;
  std::string dir = default_dir();
  auto* one = app.add_option("--seed", seed, "run this one seed");
  auto* many = app.add_option("--seeds", seeds, "run this many seeds, from --first on");
  auto* timed = app.add_option("--minutes", minutes, "run seeds from --first on for this long");
  one->excludes(many)->excludes(timed);
  many->excludes(timed);
  app.add_option("--first", first, "the first seed of --seeds and --minutes");
  app.add_option("--steps", steps, "workload steps per seed")->check(CLI::Range(1, 100000));
  app.add_option("--bookings", bookings, "bookings per seed at most")->check(CLI::Range(1, 1000));
  app.add_flag("--trace", trace, "print every step (of --seed)");
  app.add_option("--dir", dir, "where the databases of the runs go");
  app.add_flag("--crash-points", crash_points,
               "the crash-point loop: one scenario cut at every storage operation in turn");
  uint64_t stride = 1;
  app.add_option("--stride", stride, "with --crash-points: cut only every stride-th operation")
      ->check(CLI::Range(1, 1000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (crash_points) return escrow::sim::crash_point_loop(dir, std::cout, stride) ? 0 : 1;
  if (!one->count() && !many->count() && !timed->count()) {
    std::cerr << "escrow-sim: give --seed, --seeds or --minutes (see --help)\n";
    return 2;
  }

  // One migrated database for every seed of this process.
  const std::string template_path =
      (fs::path(dir) / ("escrow-sim-template-" + std::to_string(::getpid()) + ".db")).string();
  if (!escrow::sim::make_template(template_path)) {
    std::cerr << "escrow-sim: cannot make a database in " << dir << "\n";
    return 2;
  }
  struct Remove {
    std::string path;
    ~Remove() {
      std::error_code error;
      fs::remove(path, error);
    }
  } remove_template{template_path};

  auto started = std::chrono::steady_clock::now();
  auto elapsed_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  Totals totals;
  if (one->count()) {
    escrow::sim::Report r = run_seed(seed, dir, steps, bookings, trace, template_path);
    totals.add(r);
    std::printf("seed %llu: %s, digest %s\n", static_cast<unsigned long long>(seed),
                r.ok ? "ok" : "FAILED", r.digest.c_str());
  } else {
    for (uint64_t s = first;; ++s) {
      if (many->count() && s >= first + seeds) break;
      if (timed->count() && elapsed_s() >= minutes * 60) break;
      totals.add(run_seed(s, dir, steps, bookings, false, template_path));
      if (totals.seeds % 5'000 == 0) {  // progress of a long run
        std::printf("after seed %llu:\n", static_cast<unsigned long long>(s));
        totals.print(elapsed_s());
        std::fflush(stdout);
      }
    }
  }
  totals.print(elapsed_s());
  return totals.failed == 0 ? 0 : 1;
}
