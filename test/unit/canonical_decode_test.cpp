// decode_canonical_event() (ledger/canonical_decode.h) against decode_event(), the decoder it
// stands in for on the fold's hot path: whenever the fast path answers, decode_event() must
// accept the same text and give the same event (compared by re-encoding both).
// How: events of every type are built from a seeded generator (strings with quotes, backslashes,
// control characters, non-ASCII and invalid UTF-8 bytes; integers up to the int64 limits; each
// optional present or not; lists of 0 to 3 items), encoded as the store keeps them, decoded both
// ways, and then mutated many times over (bytes removed, inserted, replaced; whitespace; members
// repeated or swapped) with the same check on every mutant. Events made of plain values must be
// taken by the fast path, or the fold would silently fall back to the slow one.
#include "ledger/canonical_decode.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ledger/events.h"

using namespace escrow;

namespace {

// Fills every field of a field-listed struct, plainly (short letters and digits, small numbers)
// or from the whole palette.
class Filler {
 public:
  Filler(std::mt19937_64& rng, bool plain) : rng_(rng), plain_(plain) {}

  void operator()(const char*, std::string& out) {
    static const std::vector<std::string> palette = {
        "",           "bk-1",          "with \"quotes\"", "back\\slash", "new\nline\ttab",
        "ctrl \x01!", "caf\xc3\xa9 ✓", "\xff\xfe bad",    "a/b",         std::string(300, 'x'),
        "\\u0041",    "}{][,:"};
    out = plain_ ? "id-" + std::to_string(pick(100000)) : palette[pick(palette.size())];
  }
  void operator()(const char*, int64_t& out) {
    static const std::vector<int64_t> palette = {0,
                                                 1,
                                                 -1,
                                                 999'999'999'999'999'999,
                                                 -999'999'999'999'999'999,
                                                 1'000'000'000'000'000'000,
                                                 std::numeric_limits<int64_t>::max(),
                                                 std::numeric_limits<int64_t>::min()};
    out = plain_ ? static_cast<int64_t>(pick(10'000'000)) : palette[pick(palette.size())];
  }
  void operator()(const char*, int& out) {
    static const std::vector<int> palette = {0, 1, -1, std::numeric_limits<int>::max(),
                                             std::numeric_limits<int>::min()};
    out = plain_ ? static_cast<int>(pick(1000)) : palette[pick(palette.size())];
  }
  void operator()(const char*, bool& out) { out = pick(2) == 1; }
  void operator()(const char* key, Money& out) {
    (*this)(key, out.amount_minor);
    (*this)(key, out.currency);
  }
  void operator()(const char*, Currency& out) { out = currencies[pick(currencies.size())]; }
  template <NamedEnum E>
  void operator()(const char*, E& out) {
    auto names = enum_names(E{});
    out = names[pick(names.size())].value;
  }
  template <class T>
  void operator()(const char* key, std::optional<T>& out) {
    out.reset();
    if (pick(2) == 1) (*this)(key, out.emplace());
  }
  template <class T>
  void operator()(const char* key, std::vector<T>& out) {
    out.resize(pick(4));
    for (T& item : out) (*this)(key, item);
  }
  template <class T, class = decltype(std::declval<T&>().fields(std::declval<Filler&>()))>
  void operator()(const char*, T& out) {
    out.fields(*this);
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::mt19937_64& rng_;
  bool plain_;
};

template <class Variant, size_t I = 0>
Variant build(size_t index, Filler& filler) {
  if constexpr (I + 1 < std::variant_size_v<Variant>) {
    if (index != I) return build<Variant, I + 1>(index, filler);
  }
  std::variant_alternative_t<I, Variant> event;
  event.fields(filler);
  return Variant(std::move(event));
}

struct Stored {
  std::string type, data;
};

std::string encoded(const Event& e) {
  return encode_event_data(e);
}
std::string encoded(const WebhookEvent& e) {
  return to_new_event(e, "{}").data;
}

// The fast path's answer, when it has one, is the general decoder's. Returns whether it answered.
bool agrees(const std::string& type, const std::string& data, bool webhook) {
  if (webhook) {
    std::optional<WebhookEvent> fast = decode_canonical_webhook_event(type, data);
    if (!fast) return false;
    Result<WebhookEvent> slow = decode_webhook_event(type, data);
    INFO(type << " " << data);
    REQUIRE(slow.is_ok());
    CHECK(fast->index() == slow.value().index());
    CHECK(encoded(*fast) == encoded(slow.value()));
    return true;
  }
  std::optional<Event> fast = decode_canonical_event(type, data);
  if (!fast) return false;
  Result<Event> slow = decode_event(type, data);
  INFO(type << " " << data);
  REQUIRE(slow.is_ok());
  CHECK(fast->index() == slow.value().index());
  CHECK(encoded(*fast) == encoded(slow.value()));
  return true;
}

std::string mutate(const std::string& data, std::mt19937_64& rng) {
  static const std::string inserts = "\"\\,:{}[] \t\n0-9aeEnul.tr/";
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  std::string m = data;
  if (m.empty()) return m;
  switch (pick(7)) {
    case 0:
      m.erase(pick(m.size()), 1);
      break;
    case 1:
      m.insert(m.begin() + static_cast<std::ptrdiff_t>(pick(m.size() + 1)),
               inserts[pick(inserts.size())]);
      break;
    case 2:
      m[pick(m.size())] = inserts[pick(inserts.size())];
      break;
    case 3:
      m[pick(m.size())] = static_cast<char>(pick(256));
      break;
    case 4: {  // the first member repeated
      size_t comma = m.find(',');
      if (comma != std::string::npos) m.insert(comma, "," + m.substr(1, comma - 1));
      break;
    }
    case 5: {  // the first two members swapped
      size_t first = m.find(",\"");
      size_t second = first == std::string::npos ? first : m.find(",\"", first + 1);
      if (second != std::string::npos)
        m = "{" + m.substr(first + 1, second - first - 1) + "," + m.substr(1, first - 1) +
            m.substr(second);
      break;
    }
    default:
      m += pick(2) ? " " : "x";
      break;
  }
  return m;
}

template <class Variant>
void check_every_type(bool webhook) {
  std::mt19937_64 rng(20261207);
  for (size_t index = 0; index < std::variant_size_v<Variant>; ++index) {
    for (int round = 0; round < 40; ++round) {
      bool plain = round % 2 == 0;
      Filler filler(rng, plain);
      Variant event = build<Variant>(index, filler);
      std::string type = std::visit([](const auto& e) { return std::string(e.type); }, event);
      std::string data = encoded(event);
      INFO(type << " " << data);
      bool fast = agrees(type, data, webhook);
      if (plain) CHECK(fast);  // the stored form of plain values takes the fast path
      std::string mutant = data;
      for (int i = 0; i < 60; ++i) {
        mutant = i % 10 == 0 ? mutate(data, rng) : mutate(mutant, rng);
        agrees(type, mutant, webhook);
      }
    }
  }
}

}  // namespace

TEST_CASE("the canonical fast path decodes domain events exactly as decode_event does") {
  check_every_type<Event>(false);
}

TEST_CASE("the canonical fast path decodes webhook events exactly as decode_webhook_event does") {
  check_every_type<WebhookEvent>(true);
}

TEST_CASE("the canonical fast path leaves to the general decoder what it does not read") {
  const std::string created =
      encode_event_data(Event{BookingCreated{"b1",
                                             "c1",
                                             "p1",
                                             "ada@example.com",
                                             "Deep clean",
                                             Money{100'000, Currency::NGN},
                                             PaymentPlan::full,
                                             0,
                                             500,
                                             3600,
                                             std::nullopt,
                                             {Money{100'000, Currency::NGN}}}});
  REQUIRE(decode_canonical_event("BookingCreated", created));
  // Texts decode_event() reads but the fast path leaves alone.
  for (const std::string& text :
       {std::string(" ") + created, created + " ", "{ " + created.substr(1),
        created.substr(0, created.size() - 1) + ",\"extra\":1}"}) {
    INFO(text);
    CHECK_FALSE(decode_canonical_event("BookingCreated", text));
    CHECK(decode_event("BookingCreated", text).is_ok());
  }
  CHECK_FALSE(decode_canonical_event("NoSuchEvent", created));
  CHECK_FALSE(decode_canonical_event("PaymentCaptured", created));
  CHECK_FALSE(decode_canonical_event("BookingCreated", ""));
  CHECK_FALSE(decode_canonical_webhook_event("BookingCreated", created));
}
