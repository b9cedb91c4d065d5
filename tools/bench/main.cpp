// escrow-bench: performance measurements of the escrow ledger. See docs/performance.md.
#include <CLI/CLI.hpp>

#include "core_bench.h"
#include "http_bench.h"
#include "webhook_file.h"

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

  escrow::bench::HttpOptions http;
  CLI::App* http_cmd = app.add_subcommand(
      "http", "drive a running escrowd (and paystack-sim) over HTTP from many connections");
  http_cmd->add_option("--url", http.url, "escrowd, http://HOST:PORT")->required();
  http_cmd->add_option("--sim-url", http.sim_url, "paystack-sim, http://HOST:PORT (lifecycles)");
  http_cmd
      ->add_option("--jwt-secret-env", http.jwt_secret_env,
                   "environment variable holding escrowd's JWT secret")
      ->capture_default_str();
  http_cmd
      ->add_option("--paystack-secret-env", http.paystack_secret_env,
                   "environment variable holding the Paystack secret key (signs webhooks)")
      ->capture_default_str();
  http_cmd->add_option("--scenario", http.scenario, "commands|reads|webhooks|lifecycles|all")
      ->check(CLI::IsMember({"commands", "reads", "webhooks", "lifecycles", "all"}))
      ->capture_default_str();
  http_cmd->add_option("--connections", http.connections, "keep-alive connections, a thread each")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  http_cmd->add_option("--count", http.count, "requests of each of commands, reads, webhooks")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  http_cmd
      ->add_option("--seconds", http.seconds,
                   "run each of commands, reads, webhooks this long instead of --count")
      ->check(CLI::Range(0.1, 3600.0));
  http_cmd
      ->add_option("--rate", http.rate,
                   "open loop: requests due per second over --seconds (one of commands, reads, "
                   "webhooks), latency from each due time")
      ->check(CLI::Range(1.0, 1e6));
  http_cmd->add_option("--lifecycles", http.lifecycles, "whole booking lifecycles to drive")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  http_cmd->add_flag("--json", http.json, "end with one JSON line of the figures");

  escrow::bench::WebhookFileOptions webhook_file;
  CLI::App* webhook_file_cmd = app.add_subcommand(
      "webhook-file", "write signed charge.success webhooks, SIGNATURE<TAB>BODY a line, for wrk");
  webhook_file_cmd->add_option("--out", webhook_file.out_path, "file to write")->required();
  webhook_file_cmd->add_option("--count", webhook_file.count, "deliveries, each distinct")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}))
      ->capture_default_str();
  webhook_file_cmd
      ->add_option("--reference-prefix", webhook_file.reference_prefix,
                   "references are PREFIX-0, PREFIX-1, ...")
      ->capture_default_str();
  webhook_file_cmd
      ->add_option("--paystack-secret-env", webhook_file.paystack_secret_env,
                   "environment variable holding the Paystack secret key")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (core_cmd->parsed()) return escrow::bench::run_core(core);
  if (http_cmd->parsed()) return escrow::bench::run_http(http);
  if (webhook_file_cmd->parsed()) return escrow::bench::run_webhook_file(webhook_file);
  return 2;
}
