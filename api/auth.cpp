// JWT (HS256) bearer authentication over libjwt 1.x; see auth.h for the contract.
//
// The token is decoded twice: first without the key, only to read its header and refuse any
// `alg` but HS256 before the key is used at all; then with the key, which verifies the signature.
// jwt_get_grant_int() answers 0 without an error for a non-integer claim, so integer claims are
// read as JSON text and parsed strictly here.
#include "api/auth.h"

#include <jwt.h>
#include <openssl/crypto.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <optional>

#include "ledger/text.h"
#include "service/jwt_handles.h"

namespace escrow::api {

namespace {

using service::CharPtr;
using service::JwtPtr;

HttpResponse unauthorized(std::string_view why) {
  HttpResponse response = error_response(
      401, "unauthorized", std::string("Authentication failed: ") + std::string(why) + ".");
  response.headers.set("WWW-Authenticate", "Bearer realm=\"escrowd\"");
  return response;
}

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// The token from "Bearer <token>", or the reason there is none.
HttpResult<std::string> bearer_token(std::optional<std::string_view> header) {
  if (!header) return unauthorized("no Authorization header");
  std::string_view value = *header;
  std::size_t space = value.find(' ');
  if (space == std::string_view::npos || !ascii_iequals(value.substr(0, space), "Bearer")) {
    return unauthorized("the Authorization scheme must be Bearer");
  }
  std::string_view token = value.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.size() > jwt_token_bytes_max) {
    return unauthorized("the token is missing or too long");
  }
  std::size_t dots = 0;
  for (char c : token) {
    if (!is_token_char(c)) return unauthorized("the token is malformed");
    dots += c == '.' ? 1 : 0;
  }
  if (dots != 2) return unauthorized("the token is malformed");
  return std::string(token);
}

// A claim that must be a non-negative JSON integer; nullopt when absent or of another type.
struct IntClaim {
  bool present = false;
  std::optional<int64_t> value;
};
IntClaim int_claim(jwt_t* jwt, const char* name) {
  CharPtr json(jwt_get_grants_json(jwt, name));
  if (!json) return IntClaim{};
  std::string_view text(json.get());
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  bool integer = error == std::errc() && end == text.data() + text.size() && value >= 0;
  return IntClaim{true, integer ? std::optional<int64_t>(value) : std::nullopt};
}

// exp, nbf, sub and role of a token whose signature is already verified.
HttpResult<Principal> read_claims(jwt_t* jwt, int64_t now_ms) {
  const int64_t now_s = now_ms / 1000;
  IntClaim exp = int_claim(jwt, "exp");
  if (!exp.value) return unauthorized("the token has no valid exp claim");
  // now_s - skew, never exp + skew: exp is the token's, and may be as large as int64 allows.
  if (now_s - jwt_clock_skew_s >= *exp.value) return unauthorized("the token has expired");
  IntClaim nbf = int_claim(jwt, "nbf");
  if (nbf.present && (!nbf.value || *nbf.value > now_s + jwt_clock_skew_s)) {
    return unauthorized("the token is not valid yet");
  }
  const char* sub = jwt_get_grant(jwt, "sub");
  if (sub == nullptr || *sub == '\0' || std::string_view(sub).size() > jwt_sub_bytes_max) {
    return unauthorized("the token has no valid sub claim");
  }
  const char* role_text = jwt_get_grant(jwt, "role");
  std::optional<Role> role = role_text ? parse_role(role_text) : std::nullopt;
  if (!role || *role == Role::system) return unauthorized("the token has no valid role claim");
  return Principal{sub, *role, *exp.value};
}

}  // namespace

Result<Authenticator> Authenticator::create(std::string secret) {
  if (secret.size() < jwt_secret_bytes_min || secret.size() > jwt_secret_bytes_max) {
    OPENSSL_cleanse(secret.data(), secret.size());
    return Status(StatusCode::invalid_argument,
                  "the JWT secret must be " + std::to_string(jwt_secret_bytes_min) + " to " +
                      std::to_string(jwt_secret_bytes_max) + " bytes long");
  }
  return Authenticator(std::move(secret));
}

Authenticator::~Authenticator() {
  OPENSSL_cleanse(secret_.data(), secret_.size());
}

HttpResult<Principal> Authenticator::authenticate(const HttpRequest& request,
                                                  int64_t now_ms) const {
  return authenticate(request.headers.get("Authorization"), now_ms);
}

HttpResult<Principal> Authenticator::authenticate(std::optional<std::string_view> authorization,
                                                  int64_t now_ms) const {
  HttpResult<std::string> token = bearer_token(authorization);
  if (!token.is_ok()) return std::move(token).error();

  jwt_t* raw = nullptr;
  // Without a key libjwt only parses; the header decides whether the key is used at all.
  int rc = jwt_decode(&raw, token.value().c_str(), nullptr, 0);
  JwtPtr unverified(raw);
  if (rc != 0 || !unverified) return unauthorized("the token is malformed");
  const char* alg = jwt_get_header(unverified.get(), "alg");
  if (alg == nullptr || std::string_view(alg) != "HS256") {
    return unauthorized("the token's algorithm is not accepted (HS256 only)");
  }

  raw = nullptr;
  rc = jwt_decode(&raw, token.value().c_str(),
                  reinterpret_cast<const unsigned char*>(secret_.data()),
                  static_cast<int>(secret_.size()));
  JwtPtr verified(raw);
  if (rc != 0 || !verified) return unauthorized("the token's signature is invalid");
  // Belt and braces: what libjwt verified must be what the header check saw.
  if (jwt_get_alg(verified.get()) != JWT_ALG_HS256) {
    return unauthorized("the token's algorithm is not accepted (HS256 only)");
  }
  return read_claims(verified.get(), now_ms);
}

}  // namespace escrow::api
