// `escrow-bench http`: drives a running escrowd (and the paystack-sim it talks to) over loopback
// from many keep-alive connections, one thread each, and reports throughput and latency
// percentiles from every sample. Scenarios:
//   commands    POST /bookings as the service role: a durable command (an event appended and
//               committed, projections updated) that calls no Paystack API;
//   reads       GET /bookings/:id over the bookings created by `commands` (or a set it creates);
//   webhooks    POST /webhooks/paystack with correctly signed charge.success bodies, each for a
//               reference of its own: the figure is acceptance (signature verified, delivery
//               stored durably, 200); the processing that follows (re-verification with Paystack,
//               which answers "not found", recorded as ignored) is timed separately until the
//               service has no delivery left in `received`;
//   lifecycles  create -> pay -> checkout completed at the simulator -> charge.success webhook ->
//               held in escrow -> proof -> release -> payout transfer -> transfer.success, each
//               booking driven by one thread that polls GET /bookings/:id every 20 ms.
// Commands, reads and webhooks run closed loop (each connection sends its next request when the
// last is answered) for --count requests or --seconds, or with --rate open loop: requests due at
// fixed times, rate per second over --seconds, spread over the connections, each latency counted
// from its due time so that a slow answer is not hidden by the requests it held back.
// Secrets come from environment variables named by the options, never from the command line.
// The service must allow the request rate (ESCROW_RATE_LIMIT_PER_MIN); tools/bench/http_world.sh
// starts escrowd and paystack-sim suitably on a temporary database.
#pragma once

#include <cstdint>
#include <string>

namespace escrow::bench {

struct HttpOptions {
  std::string url;      // escrowd, http://HOST:PORT
  std::string sim_url;  // paystack-sim, for lifecycles
  std::string jwt_secret_env = "ESCROW_JWT_SECRET";
  std::string paystack_secret_env = "PAYSTACK_SECRET_KEY";
  std::string scenario = "all";  // commands | reads | webhooks | lifecycles | all
  int connections = 32;
  int64_t count = 2000;  // requests of each of commands, reads, webhooks
  double seconds = 0;    // > 0: each of those runs this long instead, with no count limit
  double rate = 0;       // > 0: open loop, this many requests due per second over `seconds`
  int64_t lifecycles = 100;
  bool json = false;
};

// 0 when every request got the expected answer, 1 otherwise (the figures are printed anyway),
// 2 for unusable options (a bad URL, a missing secret).
int run_http(const HttpOptions& options);

}  // namespace escrow::bench
