// escrow-bench: performance measurements of the escrow ledger. See docs/performance.md.
#include <CLI/CLI.hpp>

#include "tools/bench/core_bench.h"

int main(int argc, char** argv) {
  CLI::App app{"escrow-bench: measure the escrow ledger (see docs/performance.md)"};
  app.require_subcommand(1);

  escrow::bench::CoreOptions core;
  CLI::App* core_cmd = app.add_subcommand(
      "core", "randomized booking lifecycles through the real command path into a database");
  core_cmd->add_option("--db", core.db_path, "database file (created; must not hold events)")
      ->required();
  core_cmd->add_option("--bookings", core.bookings, "bookings to drive")
      ->check(CLI::Range(1, 100000000));
  core_cmd->add_option("--workers", core.workers, "concurrent client threads")
      ->check(CLI::Range(1, 1024));
  core_cmd->add_option("--seed", core.seed, "random seed");
  core_cmd->add_flag("!--no-group-commit", core.group_commit,
                     "one transaction per command instead of group commit");
  core_cmd->add_option("--synchronous", core.synchronous, "SQLite synchronous: full|normal|off")
      ->check(CLI::IsMember({"full", "normal", "off"}));
  core_cmd->add_flag("--json", core.json, "end with one JSON line of the figures");

  CLI11_PARSE(app, argc, argv);
  if (core_cmd->parsed()) return escrow::bench::run_core(core);
  return 2;
}
