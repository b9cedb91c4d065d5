#include "signing.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>

#include "ledger/hash.h"

namespace escrow::bench {

namespace {

std::string hmac(const EVP_MD* digest, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(digest, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string base64url(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t bits = 0;
  int held = 0;
  for (unsigned char c : bytes) {
    bits = (bits << 8) | c;
    held += 8;
    while (held >= 6) out += alphabet[(bits >> (held -= 6)) & 63];
  }
  if (held > 0) out += alphabet[(bits << (6 - held)) & 63];
  return out;
}

}  // namespace

std::string mint_token(std::string_view secret, std::string_view sub, std::string_view role) {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::string claims = "{\"sub\":\"" + std::string(sub) + "\",\"role\":\"" + std::string(role) +
                       "\",\"iat\":" + std::to_string(now) +
                       ",\"exp\":" + std::to_string(now + 3600) + "}";
  std::string input = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(claims);
  return input + "." + base64url(hmac(EVP_sha256(), secret, input));
}

std::string webhook_signature(std::string_view secret_key, std::string_view body) {
  std::string mac = hmac(EVP_sha512(), secret_key, body);
  return to_hex(reinterpret_cast<const uint8_t*>(mac.data()), mac.size());
}

std::string charge_success_body(std::string_view reference, int64_t transaction_id) {
  return R"({"event":"charge.success","data":{"id":)" + std::to_string(transaction_id) +
         R"(,"domain":"test","status":"success","reference":")" + std::string(reference) +
         R"(","amount":5000000,"message":null,"gateway_response":"Successful",)"
         R"("paid_at":"2026-11-21T10:00:00.000Z","created_at":"2026-11-21T09:59:00.000Z",)"
         R"("channel":"card","currency":"NGN","fees":85000,)"
         R"("customer":{"email":"bench@example.com"},"authorization":{}}})";
}

}  // namespace escrow::bench
