// SHA-256 in lowercase hex, through OpenSSL. Thread-safety: free functions, no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace escrow {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental SHA-256 (one EVP context, reusable after finish()).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  Sha256Digest finish();  // also resets for the next message

 private:
  void* ctx_;  // EVP_MD_CTX
};

std::string to_hex(const uint8_t* bytes, size_t size);
std::string to_hex(const Sha256Digest& digest);
std::string sha256_hex(std::string_view bytes);

}  // namespace escrow
