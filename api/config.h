// escrowd's configuration: environment variables (DESIGN section 8), read once at start-up.
//
// from_env() reads every variable, applies the documented defaults and refuses a bad value with
// a message naming the variable (never its value when it is a secret). PAYSTACK_SECRET_KEY and
// ESCROW_JWT_SECRET are required; ESCROW_NOTIFY_SECRET is required when ESCROW_NOTIFY_URL is set.
// Thread-safety: a plain value, immutable after start-up.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "ledger/store/event_store.h"

namespace escrow::api {

struct Config {
  // Paystack
  std::string paystack_secret_key;                            // PAYSTACK_SECRET_KEY (required)
  std::string paystack_public_key;                            // PAYSTACK_PUBLIC_KEY
  std::string paystack_base_url = "https://api.paystack.co";  // PAYSTACK_BASE_URL
  std::vector<std::string> paystack_ips;  // ESCROW_PAYSTACK_IPS, comma-separated; empty = any
  // Server
  std::string listen_host = "127.0.0.1";  // ESCROW_LISTEN host:port (default 127.0.0.1:8080)
  uint16_t listen_port = 8080;            // 0 = any free port (tests)
  int threads = 4;                        // ESCROW_THREADS: I/O + handler threads
  int connections_max = 1024;             // ESCROW_CONNECTIONS_MAX: open connections at most
  // Storage
  std::string db_path = "./var/escrow.db";      // ESCROW_DB
  std::string blob_dir = "./var/blobs";         // ESCROW_BLOB_DIR
  Synchronous synchronous = Synchronous::full;  // ESCROW_SYNCHRONOUS: off | normal | full
  // Auth
  std::string jwt_secret;  // ESCROW_JWT_SECRET (required, >= 32 bytes)
  // Domain defaults
  int fee_bps = 500;                             // ESCROW_PLATFORM_FEE_BPS
  int64_t auto_confirm_after_s = 3 * 24 * 3600;  // ESCROW_AUTO_CONFIRM_AFTER_S
  // Notifications
  std::string notify_url;     // ESCROW_NOTIFY_URL (empty = off)
  std::string notify_secret;  // ESCROW_NOTIFY_SECRET
  // Background work (seconds; small values in tests)
  int64_t pending_payment_check_after_s = 15 * 60;  // ESCROW_PENDING_CHECK_AFTER_S
  int64_t scheduler_interval_ms = 1000;             // ESCROW_SCHEDULER_INTERVAL_MS
  int64_t rate_limit_per_minute = 600;              // ESCROW_RATE_LIMIT_PER_MIN (per token/IP)
};

// Reads the variables through `getenv` (std::getenv by default; tests pass a map lookup).
// invalid_argument with a message naming the offending variable.
using GetEnv = std::function<std::optional<std::string>(const char* name)>;
Result<Config> config_from_env(const GetEnv& getenv = {});

}  // namespace escrow::api
