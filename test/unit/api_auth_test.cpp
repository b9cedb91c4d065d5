// Tests of api/auth.h: bearer JWT authentication, HS256 only, five roles, exp with clock skew.
//
// How: good tokens come from issue_token(); hostile ones are built by hand here (base64url of
// a chosen header and payload, signed with OpenSSL's HMAC so that an attacker's `alg` can carry
// a signature that is valid for our secret) or with libjwt for HS512. Each refusal must be a 401
// `unauthorized` with WWW-Authenticate, and no response body may contain the secret or the token.
// Covers: a good token per role; missing header; other schemes; garbage; wrong secret; expired;
// inside and beyond the skew; alg none (unsigned and HMAC-signed); HS512 and RS256 headers with
// valid HMAC-SHA256 signatures; exp missing or a string; nbf in the future; sub missing;
// role `system`, unknown and missing; issue_token's refusals; secret length at create(); an exp
// of INT64_MAX (found by the jwt_auth fuzz target).
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "api/auth.h"

using namespace escrow;
using namespace escrow::api;

namespace {

const std::string secret = "test-secret-0123456789-abcdefghijklmnop";
constexpr int64_t now_ms = 1'800'000'000'000;  // 2027-01-15
constexpr int64_t now_s = now_ms / 1000;

std::string base64url(std::string_view data) {
  std::vector<unsigned char> out(4 * ((data.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  std::string text(reinterpret_cast<char*>(out.data()), static_cast<std::size_t>(n));
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return text;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// header.payload.HMAC-SHA256(key) whatever the header claims.
std::string hand_token(std::string_view header, std::string_view payload,
                       std::string_view key = secret, bool sign = true) {
  std::string input = base64url(header) + "." + base64url(payload);
  return input + "." + (sign ? base64url(hmac_sha256(key, input)) : std::string());
}

std::string claims(std::string_view role, int64_t exp_s, std::string_view sub = "u-1") {
  return R"({"sub":")" + std::string(sub) + R"(","role":")" + std::string(role) + R"(","exp":)" +
         std::to_string(exp_s) + "}";
}

constexpr std::string_view hs256 = R"({"alg":"HS256","typ":"JWT"})";

HttpRequest with_authorization(std::optional<std::string> value) {
  HttpRequest request;
  request.method = "GET";
  request.target = "/bookings";
  if (value) request.headers.set("Authorization", *value);
  return request;
}

Authenticator make_authenticator() {
  Result<Authenticator> created = Authenticator::create(secret);
  REQUIRE(created.is_ok());
  return std::move(created).value();
}

// Refused with 401 unauthorized; neither the secret nor the token leaks into the answer.
void check_refused(const Authenticator& auth, std::optional<std::string> header,
                   int64_t at_ms = now_ms) {
  INFO(header.value_or("(no header)"));
  HttpResult<Principal> result = auth.authenticate(with_authorization(header), at_ms);
  REQUIRE_FALSE(result.is_ok());
  const HttpResponse& response = result.error();
  CHECK(response.status == 401);
  CHECK(response.body.find(R"("code":"unauthorized")") != std::string::npos);
  CHECK(response.headers.get("WWW-Authenticate").has_value());
  CHECK(response.body.find(secret) == std::string::npos);
  if (header && header->size() > 10) {
    CHECK(response.body.find(header->substr(header->size() - 10)) == std::string::npos);
  }
  for (const Header& h : response.headers.all()) CHECK(h.value.find(secret) == std::string::npos);
}

}  // namespace

TEST_CASE("a token issued for each role authenticates") {
  Authenticator auth = make_authenticator();
  for (Role role : {Role::client, Role::provider, Role::admin, Role::service, Role::auditor}) {
    INFO(role_name(role));
    Result<std::string> token = issue_token(secret, "party-7", role, 3600, now_ms);
    REQUIRE(token.is_ok());
    auto principal = auth.authenticate(with_authorization("Bearer " + token.value()), now_ms);
    REQUIRE(principal.is_ok());
    CHECK(principal.value().sub == "party-7");
    CHECK(principal.value().role == role);
    CHECK(principal.value().exp_s == now_s + 3600);
  }
  // Scheme names are case-insensitive; a hand-made HS256 token is as good as an issued one.
  auto hand = auth.authenticate(
      with_authorization("bearer  " + hand_token(hs256, claims("auditor", now_s + 10))), now_ms);
  REQUIRE(hand.is_ok());
  CHECK(hand.value().role == Role::auditor);
}

TEST_CASE("a missing, foreign or garbled Authorization header is refused") {
  Authenticator auth = make_authenticator();
  std::string good = issue_token(secret, "u", Role::admin, 60, now_ms).value();
  check_refused(auth, std::nullopt);
  check_refused(auth, "");
  check_refused(auth, "Bearer");
  check_refused(auth, "Bearer ");
  check_refused(auth, "Basic dXNlcjpwYXNz");
  check_refused(auth, "Token " + good);
  check_refused(auth, good);
  check_refused(auth, "Bearer garbage");
  check_refused(auth, "Bearer a.b.c");
  check_refused(auth, "Bearer " + good + ".extra");
  check_refused(auth, "Bearer " + good + "!");
  check_refused(auth, "Bearer " + std::string(jwt_token_bytes_max + 1, 'a'));
}

TEST_CASE("a bad signature is refused") {
  Authenticator auth = make_authenticator();
  std::string other_secret = "another-secret-0123456789-abcdefghijkl";
  check_refused(auth, "Bearer " + issue_token(other_secret, "u", Role::admin, 60, now_ms).value());
  std::string good = issue_token(secret, "u", Role::client, 60, now_ms).value();
  std::string tampered = good;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  check_refused(auth, "Bearer " + tampered);
  // Payload changed to admin, signature kept.
  std::string forged = hand_token(hs256, claims("client", now_s + 60));
  std::string admin_payload = base64url(claims("admin", now_s + 60));
  std::string swapped =
      forged.substr(0, forged.find('.') + 1) + admin_payload + forged.substr(forged.rfind('.'));
  check_refused(auth, "Bearer " + swapped);
  check_refused(auth, "Bearer " + hand_token(hs256, claims("client", now_s + 60), secret, false));
}

TEST_CASE("exp is required and enforced with a small clock skew") {
  Authenticator auth = make_authenticator();
  std::string token = issue_token(secret, "u", Role::client, 60, now_ms).value();
  auto at = [&](int64_t ms) {
    return auth.authenticate(with_authorization("Bearer " + token), ms).is_ok();
  };
  CHECK(at(now_ms + 59'000));
  CHECK(at(now_ms + (60 + jwt_clock_skew_s - 1) * 1000));  // expired, but within the skew
  CHECK_FALSE(at(now_ms + (60 + jwt_clock_skew_s) * 1000));
  check_refused(auth, "Bearer " + token, now_ms + 3600 * 1000);

  check_refused(auth, "Bearer " + hand_token(hs256, R"({"sub":"u","role":"client"})"));
  check_refused(auth, "Bearer " + hand_token(hs256, R"({"sub":"u","role":"client","exp":")" +
                                                        std::to_string(now_s + 60) + "\"}"));
  check_refused(auth, "Bearer " + hand_token(hs256, R"({"sub":"u","role":"client","exp":)" +
                                                        std::to_string(now_s + 60) + ".5}"));
  check_refused(auth, "Bearer " + hand_token(hs256, R"({"sub":"u","role":"client","exp":)" +
                                                        std::to_string(now_s + 60) + R"(,"nbf":)" +
                                                        std::to_string(now_s + 600) + "}"));
}

TEST_CASE("only HS256 is accepted") {
  Authenticator auth = make_authenticator();
  std::string body = claims("admin", now_s + 600);
  // alg none, unsigned as RFC 7519 allows, and with a signature that is valid HS256 for our key.
  check_refused(auth, "Bearer " + hand_token(R"({"alg":"none"})", body, secret, false));
  check_refused(auth, "Bearer " + hand_token(R"({"alg":"none","typ":"JWT"})", body));
  check_refused(auth, "Bearer " + hand_token(R"({"alg":"NONE"})", body, secret, false));
  // Algorithm confusion: an RS256 header over an HMAC made with our secret.
  check_refused(auth, "Bearer " + hand_token(R"({"alg":"RS256","typ":"JWT"})", body));
  check_refused(auth, "Bearer " + hand_token(R"({"alg":"ES256"})", body));
  check_refused(auth, "Bearer " + hand_token(R"({"typ":"JWT"})", body));

  // HS512 signed with the right secret verifies in libjwt, and must still be refused.
  jwt_t* raw = nullptr;
  REQUIRE(jwt_new(&raw) == 0);
  REQUIRE(jwt_set_alg(raw, JWT_ALG_HS512, reinterpret_cast<const unsigned char*>(secret.data()),
                      static_cast<int>(secret.size())) == 0);
  REQUIRE(jwt_add_grant(raw, "sub", "u") == 0);
  REQUIRE(jwt_add_grant(raw, "role", "admin") == 0);
  REQUIRE(jwt_add_grant_int(raw, "exp", static_cast<long>(now_s + 600)) == 0);
  char* encoded = jwt_encode_str(raw);
  REQUIRE(encoded != nullptr);
  std::string hs512(encoded);
  std::free(encoded);
  jwt_free(raw);
  check_refused(auth, "Bearer " + hs512);
}

TEST_CASE("sub and role claims are required and role is one of five") {
  Authenticator auth = make_authenticator();
  int64_t exp = now_s + 600;
  check_refused(
      auth, "Bearer " + hand_token(hs256, R"({"role":"admin","exp":)" + std::to_string(exp) + "}"));
  check_refused(auth, "Bearer " + hand_token(hs256, claims("admin", exp, "")));
  check_refused(auth, "Bearer " + hand_token(hs256, R"({"sub":7,"role":"admin","exp":)" +
                                                        std::to_string(exp) + "}"));
  check_refused(auth, "Bearer " + hand_token(hs256, claims("admin", exp, std::string(200, 's'))));
  check_refused(auth,
                "Bearer " + hand_token(hs256, R"({"sub":"u","exp":)" + std::to_string(exp) + "}"));
  check_refused(auth, "Bearer " + hand_token(hs256, claims("system", exp)));
  check_refused(auth, "Bearer " + hand_token(hs256, claims("superuser", exp)));
  check_refused(auth, "Bearer " + hand_token(hs256, claims("Admin", exp)));
}

TEST_CASE("issue_token and create refuse bad arguments without echoing the secret") {
  CHECK_FALSE(issue_token(secret, "u", Role::system, 60, now_ms).is_ok());
  CHECK_FALSE(issue_token(secret, "", Role::client, 60, now_ms).is_ok());
  CHECK_FALSE(issue_token(secret, "u", Role::client, 0, now_ms).is_ok());
  CHECK_FALSE(issue_token(secret, "u", Role::client, jwt_ttl_s_max + 1, now_ms).is_ok());
  CHECK_FALSE(issue_token("short", "u", Role::client, 60, now_ms).is_ok());

  std::string short_secret = "short-secret-value";
  Result<Authenticator> refused = Authenticator::create(short_secret);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().code() == StatusCode::invalid_argument);
  CHECK(refused.status().message().find(short_secret) == std::string::npos);
  CHECK_FALSE(Authenticator::create(std::string(jwt_secret_bytes_max + 1, 'k')).is_ok());
  CHECK(Authenticator::create(std::string(jwt_secret_bytes_min, 'k')).is_ok());
}

TEST_CASE("an exp as large as int64 allows is far in the future, not an overflow (jwt_auth fuzz)") {
  // regression-exp-int64-max: exp + jwt_clock_skew_s overflowed, and the token read as expired.
  Authenticator auth = make_authenticator();
  const std::string token = hand_token(hs256, claims("provider", INT64_MAX));
  auto result = auth.authenticate(with_authorization("Bearer " + token), now_ms);
  REQUIRE(result.is_ok());
  CHECK(result.value().exp_s == INT64_MAX);
  CHECK(result.value().role == Role::provider);
  CHECK(auth.authenticate(with_authorization("Bearer " + token), INT64_MAX).is_ok());
}
