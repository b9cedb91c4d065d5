// Bearer tokens as escrowd accepts them (DESIGN section 5): HS256 JWTs with `sub`, `role`, `iat`
// and `exp`, and the limits api/auth.h checks them against. Minting lives here, below HTTP, so
// that `escrowctl token` needs neither the server nor its configuration; verifying a token is the
// HTTP layer's business (api/auth.h).
// Thread-safety: pure functions (libjwt keeps no global state for encoding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/decider.h"
#include "ledger/status.h"

namespace escrow::service {

inline constexpr int64_t jwt_clock_skew_s = 60;
inline constexpr std::size_t jwt_token_bytes_max = 4096;
inline constexpr std::size_t jwt_secret_bytes_min = 32;  // 256 bits for HMAC-SHA256
inline constexpr std::size_t jwt_secret_bytes_max = 1024;
inline constexpr std::size_t jwt_sub_bytes_max = 128;
inline constexpr int64_t jwt_ttl_s_max = 366LL * 24 * 3600;

// An HS256 token with sub, role, iat and exp = now + ttl_s, for escrowctl and tests.
// invalid_argument for a short secret, an empty or overlong sub, the `system` role, or a ttl_s
// outside (0, jwt_ttl_s_max].
Result<std::string> issue_token(std::string_view secret, std::string_view sub, Role role,
                                int64_t ttl_s, int64_t now_ms);

}  // namespace escrow::service
