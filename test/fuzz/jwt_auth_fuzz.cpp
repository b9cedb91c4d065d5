// Fuzz target: bearer-token authentication (api/auth.cpp Authenticator::authenticate, over
// libjwt), including tokens signed here with the right secret so that claims parsing is reached.
//
// Input: one byte picks the mode and one byte the time of the request; then, by mode:
//   0  the Authorization header as sent;  1  "Bearer " and the token as sent;
//   2  a token signed here with the right secret: header JSON (a fixed set, or the input's own up
//      to the first '\n') and the rest as the claims JSON, so any claims text reaches the parser;
//   3  as 2, signed with another secret;  4  as 2, with one character of the signature changed;
//   5  well-formed claims built here from the input (sub, role, exp, nbf), signed with the right
//      secret, for which the outcome is known exactly.
// Properties:
// - a refusal is 401 unauthorized with a WWW-Authenticate header, and its message is one of the
//   fixed reasons of api/auth.cpp, so it holds neither the secret nor the token;
// - nothing is accepted that the right secret did not sign with HS256: an accepted token's
//   header says HS256 and its HMAC-SHA256, recomputed here, matches; modes 3 and 4 never pass;
// - an accepted principal has a role that a token may carry (never system), a sub of 1 to
//   jwt_sub_bytes_max bytes and an exp that has not passed (with jwt_clock_skew_s of grace);
// - mode 5: accepted exactly when the claims say so, with the sub, role and exp they carry.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/auth.h"
#include "api/http.h"
#include "fuzz_input.h"
#include "ledger/values.h"

using namespace escrow;
using namespace escrow::api;
using escrow::fuzz::FuzzInput;

namespace {

constexpr std::string_view secret = "fuzz-secret-0123456789abcdef-0123456789abcdef";
constexpr std::string_view other_secret = "another-secret-0123456789abcdef-0123456789ab";
constexpr int64_t times_ms[] = {0, 1'700'000'000'000, 4'102'444'800'000, 1'700'000'059'999};

const Authenticator& authenticator() {
  static Authenticator auth = std::move(Authenticator::create(std::string(secret))).value();
  return auth;
}

constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Base64url without padding (RFC 7515), as JWTs are written.
std::string base64url(std::string_view bytes) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : bytes) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(base64url_alphabet[(bits >> count) & 0x3f]);
    }
  }
  if (count > 0) out.push_back(base64url_alphabet[(bits << (6 - count)) & 0x3f]);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    std::size_t value = base64url_alphabet.find(c);
    if (value == std::string_view::npos) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view text, const EVP_MD* md) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &size);
  return std::string(reinterpret_cast<const char*>(mac), size);
}

std::string signed_token(std::string_view header, std::string_view claims, std::string_view key,
                         const EVP_MD* md = EVP_sha256()) {
  const std::string signing_input = base64url(header) + "." + base64url(claims);
  return signing_input + "." + base64url(hmac(key, signing_input, md));
}

HttpRequest request_with(std::string_view authorization) {
  HttpRequest request;
  request.method = "GET";
  request.target = "/bookings";
  request.headers.set("Authorization", authorization);
  return request;
}

// The token an accepted request carried, checked independently of libjwt: HS256 in its header
// and the right HMAC-SHA256 over its first two parts.
void check_signed_by_us(std::string_view authorization) {
  std::string_view token = authorization.substr(authorization.find(' ') + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  FUZZ_CHECK(first != std::string_view::npos && second != std::string_view::npos);
  std::optional<std::string> header = base64url_decode(token.substr(0, first));
  std::optional<std::string> signature = base64url_decode(token.substr(second + 1));
  FUZZ_CHECK(header && signature);
  rapidjson::Document doc;
  doc.Parse(header->data(), header->size());
  FUZZ_CHECK(!doc.HasParseError() && doc.IsObject() && doc.HasMember("alg"));
  FUZZ_CHECK(doc["alg"].IsString() && std::string_view(doc["alg"].GetString()) == "HS256");
  FUZZ_CHECK(*signature == hmac(secret, token.substr(0, second), EVP_sha256()));
}

void check_principal(const Principal& who, int64_t now_ms) {
  FUZZ_CHECK(who.role != Role::system);
  FUZZ_CHECK(!who.sub.empty() && who.sub.size() <= jwt_sub_bytes_max);
  FUZZ_CHECK(now_ms / 1000 - jwt_clock_skew_s < who.exp_s);
}

// Every refusal api/auth.cpp may give: fixed texts, so none can echo the token or the secret.
constexpr std::string_view refusal_reasons[] = {
    "no Authorization header",
    "the Authorization scheme must be Bearer",
    "the token is missing or too long",
    "the token is malformed",
    "the token's algorithm is not accepted (HS256 only)",
    "the token's signature is invalid",
    "the token has no valid exp claim",
    "the token has expired",
    "the token is not valid yet",
    "the token has no valid sub claim",
    "the token has no valid role claim"};

void check_refusal(const HttpResponse& response) {
  FUZZ_CHECK(response.status == 401);
  FUZZ_CHECK(response.headers.contains("WWW-Authenticate"));
  rapidjson::Document body;
  body.Parse(response.body.data(), response.body.size());
  FUZZ_CHECK(!body.HasParseError() && body.IsObject() && body.HasMember("error"));
  const rapidjson::Value& error = body["error"];
  FUZZ_CHECK(error.IsObject() && error.HasMember("code") && error.HasMember("message"));
  FUZZ_CHECK(std::string_view(error["code"].GetString()) == "unauthorized");
  const std::string_view message = error["message"].GetString();
  FUZZ_CHECK(std::any_of(std::begin(refusal_reasons), std::end(refusal_reasons),
                         [&](std::string_view why) {
                           return message == "Authentication failed: " + std::string(why) + ".";
                         }));
}

constexpr std::string_view headers[] = {R"({"alg":"HS256","typ":"JWT"})",
                                        R"({"typ":"JWT","alg":"HS256"})",
                                        R"({"alg":"none"})",
                                        R"({"alg":"HS512","typ":"JWT"})",
                                        R"({"alg":"hs256"})",
                                        R"({"alg":"HS256"})",
                                        R"({"alg":"RS256"})"};

std::string token_for_mode(FuzzInput& input, int mode) {
  const std::size_t which = input.pick(std::size(headers) + 1);
  const std::string header(which < std::size(headers) ? headers[which] : input.take_until('\n'));
  const std::string claims(input.rest());
  const EVP_MD* md = header.find("HS512") != std::string::npos ? EVP_sha512() : EVP_sha256();
  if (mode == 3) return signed_token(header, claims, other_secret, md);
  std::string token = signed_token(header, claims, secret, md);
  if (mode == 4) {
    // Any character of the signature but the last, whose low bits may be padding only.
    const std::size_t signature_at = token.rfind('.') + 1;
    const std::size_t length = token.size() - signature_at;
    if (length >= 2) {
      char& c = token[signature_at + which % (length - 1)];
      c = c == 'A' ? 'B' : 'A';
    }
  }
  return token;
}

constexpr const char* roles[] = {"client",  "provider", "admin", "service",
                                 "auditor", "system",   "Admin", ""};

// Mode 5: claims built here, and whether escrowd must accept them.
void check_built_claims(FuzzInput& input, int64_t now_ms) {
  const uint8_t shape = input.byte();
  const std::string role = roles[shape % std::size(roles)];
  const int64_t now_s = now_ms / 1000;
  int64_t exp = now_s + static_cast<int8_t>(input.byte()) * 8;
  if (shape & 0x08) {
    uint64_t raw = 0;
    for (int i = 0; i < 8; ++i) raw = (raw << 8) | input.byte();
    exp = static_cast<int64_t>(raw >> 1);  // any non-negative int64
  }
  const bool has_nbf = shape & 0x10;
  const int64_t nbf = now_s + static_cast<int8_t>(input.byte()) * 8;
  std::string sub;
  for (char c : input.rest()) sub.push_back("abcdefghijklmnopqrstuvwxyz0123456789_-.@"[c & 0x1f]);
  std::string claims =
      R"({"sub":")" + sub + R"(","role":")" + role + R"(","exp":)" + std::to_string(exp);
  if (has_nbf) claims += R"(,"nbf":)" + std::to_string(nbf);
  claims += "}";

  const std::string authorization = "Bearer " + signed_token(headers[0], claims, secret);
  auto result = authenticator().authenticate(request_with(authorization), now_ms);
  const bool role_ok = role != "system" && parse_role(role).has_value();
  const bool sub_ok = !sub.empty() && sub.size() <= jwt_sub_bytes_max;
  const bool time_ok = exp >= 0 && now_s - exp < jwt_clock_skew_s;
  const bool nbf_ok = !has_nbf || (nbf >= 0 && nbf <= now_s + jwt_clock_skew_s);
  const bool fits = authorization.size() - 7 <= jwt_token_bytes_max;
  FUZZ_CHECK(result.is_ok() == (role_ok && sub_ok && time_ok && nbf_ok && fits));
  if (!result.is_ok()) return check_refusal(result.error());
  FUZZ_CHECK(result.value().sub == sub && role_name(result.value().role) == role);
  FUZZ_CHECK(result.value().exp_s == exp);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const int mode = static_cast<int>(input.pick(6));
  const int64_t now_ms = times_ms[input.pick(std::size(times_ms))];
  if (mode == 5) {
    check_built_claims(input, now_ms);
    return 0;
  }
  std::string authorization;
  if (mode == 0) {
    authorization = std::string(input.rest());
  } else if (mode == 1) {
    authorization = "Bearer " + std::string(input.rest());
  } else {
    authorization = "Bearer " + token_for_mode(input, mode);
  }
  auto result = authenticator().authenticate(request_with(authorization), now_ms);
  if (!result.is_ok()) {
    check_refusal(result.error());
    return 0;
  }
  FUZZ_CHECK(mode != 3 && mode != 4);
  check_signed_by_us(authorization);
  check_principal(result.value(), now_ms);
  return 0;
}
