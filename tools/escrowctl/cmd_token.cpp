// escrowctl token --role R --sub S [--ttl SECONDS]: mints a bearer token for escrowd (DESIGN
// section 5) with the service's own secret, for operators, scripts and the demo.
//
// The secret is read from $ESCROW_JWT_SECRET (the variable escrowd reads), never from the
// command line, where other users of the machine could see it in the process list. The token goes
// to stdout alone on its line, so `TOKEN=$(escrowctl token ...)` works; nothing else is printed.
#include <cstdio>
#include <cstdlib>

#include "common.h"
#include "ledger/clock.h"
#include "service/tokens.h"

namespace escrow::ctl {

namespace {

struct TokenArgs {
  std::string role, sub;
  int64_t ttl_s = 3600;
};

int run_token(const TokenArgs& args) {
  const char* secret = std::getenv("ESCROW_JWT_SECRET");
  if (secret == nullptr || *secret == '\0') {
    return fail("token", exit_usage, "ESCROW_JWT_SECRET is not set (the secret escrowd uses)");
  }
  std::optional<Role> role = parse_role(args.role);
  if (!role || *role == Role::system) {
    return fail("token", exit_usage,
                "--role must be one of client, provider, admin, service, auditor");
  }
  SystemClock clock;
  auto token = service::issue_token(secret, args.sub, *role, args.ttl_s, clock.now_ms());
  if (!token.is_ok()) return fail("token", exit_usage, token.status().message());
  std::printf("%s\n", token.value().c_str());
  return exit_ok;
}

}  // namespace

void add_token(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<TokenArgs>();
  CLI::App* command = app.add_subcommand(
      "token", "Mint a bearer token for escrowd, signed with $ESCROW_JWT_SECRET");
  command->add_option("--role", args->role, "client | provider | admin | service | auditor")
      ->required();
  command->add_option("--sub", args->sub, "the subject: the user's or system's id")->required();
  command->add_option("--ttl", args->ttl_s, "lifetime in seconds (default 3600)")
      ->check(CLI::Range(int64_t{1}, int64_t{366} * 24 * 3600));
  command->callback([&runner, args] { runner = [args] { return run_token(*args); }; });
}

}  // namespace escrow::ctl
