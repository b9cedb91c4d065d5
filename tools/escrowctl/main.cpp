// escrowctl: the operator's and auditor's command line for the escrow ledger (DESIGN section 8).
// Each subcommand lives in a cmd_*.cpp file and registers itself through common.h; this file only
// parses the command line and runs the chosen command.
#include <CLI/CLI.hpp>

#include "common.h"

int main(int argc, char** argv) {
  using namespace escrow::ctl;
  CLI::App app{"escrowctl: operate and audit the escrow ledger's SQLite database"};
  app.footer(
      "Every command takes --db PATH (default $ESCROW_DB, else ./var/escrow.db) and --help.\n"
      "Exit codes: 0 ok; 1 a check failed or nothing was found; 2 bad command line; "
      "3 operating error (database missing, unreadable, locked).");
  app.require_subcommand(1, 1);

  Runner runner;
  add_migrate(app, runner);
  add_rebuild(app, runner);
  add_verify(app, runner);
  add_events(app, runner);
  add_replay(app, runner);
  add_balance(app, runner);
  add_stats(app, runner);
  add_backup(app, runner);
  add_token(app, runner);
  add_reconcile(app, runner);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints the help, or the error and a hint
    return code == 0 ? exit_ok : exit_usage;
  }
  return runner ? runner() : exit_usage;
}
