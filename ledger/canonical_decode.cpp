#include "ledger/canonical_decode.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ledger/money.h"
#include "ledger/values.h"

namespace escrow {

namespace {

// Reads a field-listed struct from canonical JSON text in one pass, expecting each key at its
// place in the field list. Anything else makes it give up (ok() false): the caller then leaves
// the text to the general decoder, which knows what to make of it.
class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view text)
      : p_(text.data()), end_(text.data() + text.size()) {}

  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }

  template <class T>
  void read_object(T& out) {
    if (!consume('{')) return;
    bool outer_first = first_;
    first_ = true;
    out.fields(*this);
    first_ = outer_first;
    consume('}');
  }

  // The field visitor: a required field is the next key; an optional one is either the next key
  // or absent (its key comes later or never: an out-of-order key is then left over, and the
  // reader gives up at the closing brace or at the next required key).
  template <class T>
  void operator()(const char* key, T& out) {
    if (next_key(key, true)) read_value(out);
  }
  template <class T>
  void operator()(const char* key, std::optional<T>& out) {
    out.reset();
    if (!next_key(key, false)) return;
    if (literal("null")) return;  // as decode_event() reads it: absent
    read_value(out.emplace());
  }

 private:
  void fail() { ok_ = false; }
  bool consume(char c) {
    if (!ok_ || p_ == end_ || *p_ != c) {
      fail();
      return false;
    }
    ++p_;
    return true;
  }
  bool literal(const char* text) {
    size_t n = std::strlen(text);
    if (!ok_ || static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, text, n) != 0) return false;
    p_ += n;
    return true;
  }
  // `,"key":` (no comma for the first key of an object). A required key that is not next fails.
  bool next_key(const char* key, bool required) {
    if (!ok_) return false;
    const char* q = p_;
    size_t n = std::strlen(key);
    bool found = (first_ || (q != end_ && *q++ == ',')) && q != end_ && *q++ == '"' &&
                 static_cast<size_t>(end_ - q) >= n + 2 && std::memcmp(q, key, n) == 0 &&
                 q[n] == '"' && q[n + 1] == ':';
    if (!found) {
      if (required) fail();
      return false;
    }
    p_ = q + n + 2;
    first_ = false;
    return true;
  }

  // A string without \u escapes or raw control characters (those go to the general decoder).
  void read_value(std::string& out) {
    if (!consume('"')) return;
    out.clear();
    const char* run = p_;
    for (;;) {
      if (p_ == end_) return fail();
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c < 0x20) return fail();
      if (c != '\\') {
        ++p_;
        continue;
      }
      out.append(run, p_);
      if (++p_ == end_) return fail();
      switch (*p_++) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        default:
          return fail();
      }
      run = p_;
    }
    out.append(run, p_);
    ++p_;
  }
  // An integer of at most 18 digits, no leading zero, no "-0", no fraction or exponent.
  void read_value(int64_t& out) {
    if (!ok_) return;
    bool negative = p_ != end_ && *p_ == '-';
    if (negative) ++p_;
    const char* digits = p_;
    int64_t value = 0;
    auto digit = [&] { return p_ != end_ && *p_ >= '0' && *p_ <= '9'; };
    while (digit() && p_ - digits < 18) value = value * 10 + (*p_++ - '0');
    size_t count = static_cast<size_t>(p_ - digits);
    if (count == 0 || digit() || (digits[0] == '0' && (count > 1 || negative))) return fail();
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return fail();
    out = negative ? -value : value;
  }
  void read_value(int& out) {
    int64_t value = 0;
    read_value(value);
    if (!ok_) return;
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
      return fail();
    out = static_cast<int>(value);
  }
  void read_value(bool& out) {
    if (literal("true")) {
      out = true;
    } else if (literal("false")) {
      out = false;
    } else {
      fail();
    }
  }
  void read_value(Money& out) {
    int64_t amount = 0;
    Currency currency = Currency::NGN;
    if (!literal("{\"amount\":")) return fail();
    read_value(amount);
    if (!literal(",\"currency\":")) return fail();
    read_value(currency);
    if (!consume('}')) return;
    out = Money{amount, currency};
  }
  void read_value(Currency& out) {
    std::string code;
    read_value(code);
    if (!ok_) return;
    std::optional<Currency> parsed = parse_currency(code);
    if (!parsed) return fail();
    out = *parsed;
  }
  template <NamedEnum E>
  void read_value(E& out) {
    std::string name;
    read_value(name);
    if (!ok_) return;
    std::optional<E> parsed = parse_enum<E>(name);
    if (!parsed) return fail();
    out = *parsed;
  }
  template <class T>
  void read_value(std::vector<T>& out) {
    if (!consume('[')) return;
    out.clear();
    if (literal("]")) return;
    for (;;) {
      read_value(out.emplace_back());
      if (!ok_ || literal("]")) return;
      if (!consume(',')) return;
    }
  }
  template <class T, class = decltype(std::declval<T&>().fields(std::declval<CanonicalReader&>()))>
  void read_value(T& out) {
    read_object(out);
  }

  const char* p_;
  const char* end_;
  bool ok_ = true;
  bool first_ = true;  // no key read yet in the object being read
};

template <class Variant, size_t I = 0>
std::optional<Variant> decode_as(std::string_view type, std::string_view data) {
  if constexpr (I == std::variant_size_v<Variant>) {
    return std::nullopt;
  } else {
    using T = std::variant_alternative_t<I, Variant>;
    if (type != T::type) return decode_as<Variant, I + 1>(type, data);
    T event;
    CanonicalReader reader(data);
    reader.read_object(event);
    if (!reader.ok() || !reader.at_end()) return std::nullopt;
    return Variant(std::move(event));
  }
}

}  // namespace

std::optional<Event> decode_canonical_event(std::string_view type, std::string_view data) {
  return decode_as<Event>(type, data);
}

std::optional<WebhookEvent> decode_canonical_webhook_event(std::string_view type,
                                                           std::string_view data) {
  return decode_as<WebhookEvent>(type, data);
}

}  // namespace escrow
