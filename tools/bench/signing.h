// The credentials escrow-bench presents to escrowd, made the way a marketplace backend and
// Paystack make them rather than with the service's own code: HS256 bearer tokens, and
// HMAC-SHA512 webhook signatures over correctly shaped `charge.success` bodies. OpenSSL stays in
// signing.cpp. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace escrow::bench {

// An HS256 JWT for `sub` in `role`, valid for an hour from now.
std::string mint_token(std::string_view secret, std::string_view sub, std::string_view role);

// The x-paystack-signature of `body`: hex HMAC-SHA512 under the Paystack secret key.
std::string webhook_signature(std::string_view secret_key, std::string_view body);

// A signed-to-be `charge.success` body for `reference`, with Paystack transaction id
// `transaction_id`; distinct references make distinct deliveries. One line, no tabs.
std::string charge_success_body(std::string_view reference, int64_t transaction_id);

}  // namespace escrow::bench
