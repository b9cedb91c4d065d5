#include "ledger/hash.h"

#include <openssl/evp.h>

#include "ledger/status.h"

namespace escrow {

namespace {
// Fetched once: EVP_sha256() inside every init makes OpenSSL 3 look the algorithm up each time,
// which costs more than hashing a short event.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  LEDGER_ASSERT(md != nullptr, "OpenSSL has no SHA256");
  return md;
}
}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  LEDGER_ASSERT(ctx_ != nullptr, "EVP_MD_CTX_new failed");
  LEDGER_ASSERT(EVP_DigestInit_ex2(static_cast<EVP_MD_CTX*>(ctx_), sha256_md(), nullptr) == 1,
                "SHA-256 init failed");
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

void Sha256::update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

Sha256Digest Sha256::finish() {
  Sha256Digest digest{};
  unsigned int size = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  LEDGER_ASSERT(EVP_DigestFinal_ex(ctx, digest.data(), &size) == 1 && size == 32,
                "SHA-256 final failed");
  LEDGER_ASSERT(EVP_DigestInit_ex2(ctx, sha256_md(), nullptr) == 1, "SHA-256 re-init failed");
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

std::string to_hex(const Sha256Digest& digest) {
  return to_hex(digest.data(), digest.size());
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 sha;
  sha.update(bytes);
  return to_hex(sha.finish());
}

}  // namespace escrow
