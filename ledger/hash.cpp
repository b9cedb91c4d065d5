#include "ledger/hash.h"

#include <openssl/evp.h>

#include "ledger/status.h"

namespace escrow {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  LEDGER_ASSERT(ctx_ != nullptr, "EVP_MD_CTX_new failed");
  LEDGER_ASSERT(EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) == 1,
                "SHA-256 init failed");
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

Sha256Digest Sha256::finish() {
  Sha256Digest digest{};
  unsigned int size = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  LEDGER_ASSERT(EVP_DigestFinal_ex(ctx, digest.data(), &size) == 1 && size == 32,
                "SHA-256 final failed");
  LEDGER_ASSERT(EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1, "SHA-256 re-init failed");
  return digest;
}

std::string to_hex(const uint8_t* bytes, size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xf];
  }
  return out;
}

std::string to_hex(const Sha256Digest& digest) { return to_hex(digest.data(), digest.size()); }

std::string sha256_hex(std::string_view bytes) {
  Sha256 sha;
  sha.update(bytes);
  return to_hex(sha.finish());
}

}  // namespace escrow
