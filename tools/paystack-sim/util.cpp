// Helpers shared by the simulator's units; see util.h.
#include "util.h"

#include <openssl/evp.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <chrono>
#include <random>

#include "ledger/time_format.h"

namespace paystack_sim {

namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

std::function<int64_t()>& clock_source() {
  static std::function<int64_t()> clock;
  return clock;
}

constexpr std::string_view kCodeAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
// Fifteen digits keep every amount far inside int64, so sums of amounts cannot overflow.
constexpr size_t kAmountDigitsMax = 15;

}  // namespace

void use_clock(std::function<int64_t()> clock) {
  clock_source() = std::move(clock);
}

void seed_random(uint64_t seed) {
  rng().seed(seed);
}

int64_t now_ms() {
  if (const auto& clock = clock_source()) return clock();
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string iso_time(int64_t unix_ms) {
  return escrow::format_iso8601_ms(unix_ms);
}

std::optional<int64_t> parse_time(std::string_view text) {
  return escrow::parse_iso8601_ms(text);
}

std::string random_code(size_t length) {
  std::string out(length, 'a');
  for (auto& c : out) c = kCodeAlphabet[random_below(kCodeAlphabet.size())];
  return out;
}

std::string random_digits(size_t length) {
  std::string out(length, '0');
  for (auto& c : out) c = static_cast<char>('0' + random_below(10));
  if (length > 0 && out[0] == '0') out[0] = '1';
  return out;
}

double random_unit() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng());
}

uint64_t random_below(uint64_t bound) {
  return std::uniform_int_distribution<uint64_t>(0, bound - 1)(rng());
}

std::optional<uint64_t> parse_uint(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

std::optional<int64_t> parse_amount_text(std::string_view text) {
  if (text.size() > kAmountDigitsMax) return std::nullopt;
  auto value = parse_uint(text);
  if (!value || *value == 0) return std::nullopt;
  return static_cast<int64_t>(*value);
}

std::optional<int64_t> parse_amount(const rapidjson::Value& value) {
  if (value.IsInt64()) {
    int64_t v = value.GetInt64();
    if (v > 0 && v < 1'000'000'000'000'000) return v;
    return std::nullopt;
  }
  if (value.IsString()) return parse_amount_text({value.GetString(), value.GetStringLength()});
  return std::nullopt;
}

std::optional<std::string> member_text(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return std::nullopt;
  auto it = object.FindMember(name);
  if (it == object.MemberEnd()) return std::nullopt;
  const auto& v = it->value;
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  return std::nullopt;
}

std::string to_json_text(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

bool is_loopback_http_url(std::string_view url, std::string* why) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) {
    *why = "must start with http:// (the simulator delivers over plain HTTP on loopback)";
    return false;
  }
  std::string_view rest = url.substr(scheme.size());
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view host = authority;
  if (authority.starts_with("[")) {
    host = authority.substr(0, authority.find(']') + 1);
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
  }
  if (!is_loopback_host(host)) {
    *why = "must name a loopback host (127.0.0.1, ::1 or localhost)";
    return false;
  }
  return true;
}

std::string make_cursor(std::string_view kind, uint64_t value) {
  std::string text = std::string(kind) + ":" + std::to_string(value);
  std::string out(4 * ((text.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<uint64_t> read_cursor(std::string_view cursor, std::string_view kind) {
  constexpr size_t kCursorLengthMax = 64;
  if (cursor.empty() || cursor.size() % 4 != 0 || cursor.size() > kCursorLengthMax)
    return std::nullopt;
  std::string out(cursor.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(cursor.data()),
                          static_cast<int>(cursor.size()));
  if (n < 0) return std::nullopt;
  std::string_view text(out.data(), static_cast<size_t>(n));
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);  // base64 padding
  if (text.size() <= kind.size() || !text.starts_with(kind) || text[kind.size()] != ':')
    return std::nullopt;
  return parse_uint(text.substr(kind.size() + 1));
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace paystack_sim
