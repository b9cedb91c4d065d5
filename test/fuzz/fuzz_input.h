// What every fuzz target shares: reading choices off the front of libFuzzer's input, and the
// check that reports a broken property (docs/testing.md, "Fuzzing").
//
// FuzzInput hands out a few leading bytes as small choices (which decoder, which limit) and the
// rest as the bytes under test; an input too short for a choice reads zeros, so every input is
// usable. FUZZ_CHECK prints the property and traps, which libFuzzer reports as a crash and saves
// the input that broke it.
// Thread-safety: a FuzzInput belongs to one call of LLVMFuzzerTestOneInput.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #condition); \
      __builtin_trap();                                                                     \
    }                                                                                       \
  } while (false)

namespace escrow::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, std::size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}

  // The next byte (0 once the input is used up).
  uint8_t byte() {
    if (rest_.empty()) return 0;
    auto value = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return value;
  }
  // A value in [0, count), count > 0, from the next byte.
  std::size_t pick(std::size_t count) { return byte() % count; }
  // The next `bytes` bytes, or what is left.
  std::string_view take(std::size_t bytes) {
    std::string_view head = rest_.substr(0, bytes);
    rest_.remove_prefix(head.size());
    return head;
  }
  // Up to the first `separator` (dropped), or everything left when there is none.
  std::string_view take_until(char separator) {
    std::size_t at = rest_.find(separator);
    std::string_view head = rest_.substr(0, at);
    rest_.remove_prefix(at == std::string_view::npos ? rest_.size() : at + 1);
    return head;
  }
  std::string_view rest() {
    std::string_view all = rest_;
    rest_ = {};
    return all;
  }

 private:
  std::string_view rest_;
};

}  // namespace escrow::fuzz
