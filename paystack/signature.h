// Paystack webhook signatures: `x-paystack-signature` is the lowercase hex HMAC-SHA512 of the raw
// request body, keyed with the secret key (shared/paystack/FACTS.md section 8). The simulator
// signs with sign_webhook(); the service checks with webhook_signature_valid() before parsing
// anything. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace escrow::paystack {

// Lowercase hex HMAC-SHA512 of `body` keyed with `secret_key`.
std::string sign_webhook(std::string_view secret_key, std::string_view body);

// Compares in constant time (for the length of a valid signature); an empty, short, upper-case
// or malformed header is simply not valid.
bool webhook_signature_valid(std::string_view secret_key, std::string_view body,
                             std::string_view signature_header);

}  // namespace escrow::paystack
