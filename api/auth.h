// Bearer-token authentication for escrowd (DESIGN section 5): `Authorization: Bearer <JWT>`,
// HS256 only, claims `sub`, `role`, `exp` (and `nbf` when present).
//
// Every refusal is a 401 `unauthorized` with a WWW-Authenticate header and a message that says
// which check failed but never echoes the token or the secret. Refused: a missing header, another
// scheme, a malformed or oversized token, a bad signature, any `alg` but HS256 (explicitly
// `none`, the other HMAC sizes and RS256/ES256: an HS512 token signed with our secret is still
// refused), a missing, non-integer or expired `exp` (clock_skew_s of grace), an `nbf` in the
// future, a missing or overlong `sub`, and a `role` that is not client, provider, admin, service
// or auditor. `system` is the ledger's own actor and never comes from a token.
// Time is an argument (unix milliseconds) so tests need no clock.
// Thread-safety: an Authenticator is immutable after create(); authenticate() is const and
// reentrant (libjwt keeps no global state for decoding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"
#include "ledger/decider.h"
#include "ledger/status.h"
#include "service/tokens.h"

namespace escrow::api {

using service::jwt_clock_skew_s;
using service::jwt_secret_bytes_max;
using service::jwt_secret_bytes_min;
using service::jwt_sub_bytes_max;
using service::jwt_token_bytes_max;
using service::jwt_ttl_s_max;

struct Principal {
  std::string sub;
  Role role = Role::client;
  int64_t exp_s = 0;  // unix seconds
};

class Authenticator {
 public:
  // invalid_argument when the secret is shorter than jwt_secret_bytes_min or longer than
  // jwt_secret_bytes_max (the message does not contain the secret).
  static Result<Authenticator> create(std::string secret);

  Authenticator(Authenticator&&) = default;
  Authenticator& operator=(Authenticator&&) = default;
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;
  ~Authenticator();

  HttpResult<Principal> authenticate(const HttpRequest& request, int64_t now_ms) const;
  // The same from the value of an Authorization header (nullopt: there is none).
  HttpResult<Principal> authenticate(std::optional<std::string_view> authorization,
                                     int64_t now_ms) const;

 private:
  explicit Authenticator(std::string secret) : secret_(std::move(secret)) {}
  std::string secret_;
};

// Minting lives in service/tokens.h (escrowctl token needs no server); named here as well for
// the callers that verify and mint (tests).
using service::issue_token;

}  // namespace escrow::api
