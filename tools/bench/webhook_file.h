// `escrow-bench webhook-file`: writes signed Paystack webhooks for a load generator that cannot
// sign (wrk's Lua has no HMAC-SHA512): one delivery a line, `SIGNATURE<TAB>BODY`, the signature
// the hex HMAC-SHA512 of the body under the key in the named environment variable, each body a
// `charge.success` for a reference of its own (REFERENCE_PREFIX-N), so every line is a distinct
// delivery. tools/bench/wrk/webhooks.lua sends them in order.
#pragma once

#include <cstdint>
#include <string>

namespace escrow::bench {

struct WebhookFileOptions {
  std::string out_path;
  int64_t count = 100000;
  std::string reference_prefix = "wrk";
  std::string paystack_secret_env = "PAYSTACK_SECRET_KEY";
};

// 0 when the file was written, 1 on an I/O error, 2 when the secret is not set.
int run_webhook_file(const WebhookFileOptions& options);

}  // namespace escrow::bench
