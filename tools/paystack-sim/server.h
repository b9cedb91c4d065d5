// The simulator's shell: one io_context running the Beast HTTP/1.1 server (keep-alive, body and
// header limits, read and write timeouts, bounded connections), the webhook sender and the
// timers of later state changes, until SIGINT or SIGTERM. Thread-safety: runs on one thread.
#pragma once

#include <cstdint>
#include <string>

namespace paystack_sim {

struct ServerOptions {
  std::string host;   // a loopback address
  uint16_t port = 0;  // 0 picks a free port
  std::string secret_key;
  std::string webhook_url;
  std::string public_url;  // empty: http://HOST:PORT
  int64_t opening_balance = 0;
};

// Binds, prints "paystack-sim listening on http://HOST:PORT" as the first stdout line, serves
// until a signal; returns the process exit code.
int run_simulator(const ServerOptions& options);

}  // namespace paystack_sim
