#include "paystack/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ledger/hash.h"
#include "ledger/status.h"

namespace escrow::paystack {

std::string sign_webhook(std::string_view secret_key, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  const unsigned char* result =
      HMAC(EVP_sha512(), secret_key.data(), static_cast<int>(secret_key.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &mac_size);
  LEDGER_ASSERT(result != nullptr && mac_size == 64, "HMAC-SHA512 failed");
  return to_hex(mac, mac_size);
}

bool webhook_signature_valid(std::string_view secret_key, std::string_view body,
                             std::string_view signature_header) {
  std::string expected = sign_webhook(secret_key, body);
  if (signature_header.size() != expected.size()) return false;
  return CRYPTO_memcmp(expected.data(), signature_header.data(), expected.size()) == 0;
}

}  // namespace escrow::paystack
