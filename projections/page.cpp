// The cursor format of every paged list; see page.h.
#include "projections/page.h"

#include <charconv>

namespace escrow::projections {

namespace {

std::string hex_encode(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

}  // namespace

std::string encode_cursor(const SortKey& key) {
  return hex_encode(std::to_string(key.at) + '\n' + key.first + '\n' + key.second);
}

std::optional<SortKey> decode_cursor(std::string_view cursor) {
  std::optional<std::string> raw = hex_decode(cursor);
  if (!raw) return std::nullopt;
  size_t a = raw->find('\n');
  size_t b = a == std::string::npos ? a : raw->find('\n', a + 1);
  if (b == std::string::npos || raw->find('\n', b + 1) != std::string::npos) return std::nullopt;
  SortKey key;
  auto [end, error] = std::from_chars(raw->data(), raw->data() + a, key.at);
  if (error != std::errc() || end != raw->data() + a) return std::nullopt;
  // The number as encode_cursor() writes it: "007" and "-0" are no cursor this service issued.
  if (raw->compare(0, a, std::to_string(key.at)) != 0) return std::nullopt;
  key.first = raw->substr(a + 1, b - a - 1);
  key.second = raw->substr(b + 1);
  return key;
}

}  // namespace escrow::projections
