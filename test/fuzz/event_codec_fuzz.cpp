// Fuzz target: decoding stored events (ledger/events.cpp decode_event and decode_webhook_event,
// over the field-list codec of ledger/json_codec.h), as every fold, rebuild and verify does.
//
// Input: one byte picks the mode and the event type (each type of Event and of the webhook
// stream, or a type no event has). In the decoding mode the rest is the stored `data` column; in
// the building mode the rest fills every field of an event of that type (strings of any bytes,
// any integers, each optional present or not, lists of 0 to 3 items), which is then encoded.
// Properties:
// - an unknown type never decodes, and a decoded event has the type it was decoded as;
// - the round trip is stable: encode(decode(x)) is the canonical text c, decode(c) succeeds and
//   encode(decode(c)) == c;
// - decoding invents and alters nothing: every value of c is the value under the same key in x
//   (JSON equality; x may hold more keys, which are ignored, and a null where c has none);
// - every event survives storage: for an event e built from the input, decode(encode(e))
//   succeeds and encodes to encode(e) again, i.e. decode(encode(e)) == e field by field;
// - the canonical fast path (ledger/canonical_decode.h) agrees: when it decodes x, decode(x)
//   succeeds and both encode alike; it decodes every canonical text c that has no \u escape
//   and no number of more than 18 digits.
#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_input.h"
#include "ledger/canonical_decode.h"
#include "ledger/events.h"

using namespace escrow;
using escrow::fuzz::FuzzInput;

namespace {

template <class Variant, std::size_t... I>
std::vector<std::string_view> names_of(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, Variant>::type...};
}

template <class Variant>
std::vector<std::string_view> names_of() {
  return names_of<Variant>(std::make_index_sequence<std::variant_size_v<Variant>>());
}

const std::vector<std::string_view>& event_types() {
  static const std::vector<std::string_view> types = names_of<Event>();
  return types;
}
const std::vector<std::string_view>& webhook_types() {
  static const std::vector<std::string_view> types = names_of<WebhookEvent>();
  return types;
}

// Every member of `canonical` is in `source` with an equal value, recursively; arrays match
// element by element.
bool contained_in(const rapidjson::Value& canonical, const rapidjson::Value& source) {
  if (canonical.IsObject()) {
    if (!source.IsObject()) return false;
    for (const auto& member : canonical.GetObject()) {
      auto found = source.FindMember(member.name);
      if (found == source.MemberEnd() || !contained_in(member.value, found->value)) return false;
    }
    return true;
  }
  if (canonical.IsArray()) {
    if (!source.IsArray() || source.Size() != canonical.Size()) return false;
    for (rapidjson::SizeType i = 0; i < canonical.Size(); ++i) {
      if (!contained_in(canonical[i], source[i])) return false;
    }
    return true;
  }
  return canonical == source;
}

void check_faithful(std::string_view source, const std::string& canonical) {
  rapidjson::Document x;
  x.Parse<rapidjson::kParseIterativeFlag>(source.data(), source.size());
  rapidjson::Document c;
  c.Parse<rapidjson::kParseIterativeFlag>(canonical.data(), canonical.size());
  FUZZ_CHECK(!x.HasParseError() && !c.HasParseError());
  FUZZ_CHECK(contained_in(c, x));
}

// The fast path reads what the encoder writes, unless a string needs a \u escape (control
// characters) or a number more than 18 digits: those are left to decode_event().
void check_canonical_fast_path(std::string_view type, const std::string& canonical) {
  bool unusual = canonical.find("\\u") != std::string::npos;
  for (size_t i = 0, digits = 0; i < canonical.size(); ++i) {
    digits = canonical[i] >= '0' && canonical[i] <= '9' ? digits + 1 : 0;
    if (digits > 18) unusual = true;
  }
  if (!unusual) FUZZ_CHECK(decode_canonical_event(type, canonical).has_value());
}

void check_event(std::string_view type, std::string_view data) {
  Result<Event> decoded = decode_event(type, data);
  std::optional<Event> fast = decode_canonical_event(type, data);
  if (fast) {
    FUZZ_CHECK(decoded.is_ok());
    FUZZ_CHECK(encode_event_data(*fast) == encode_event_data(decoded.value()));
  }
  if (!decoded.is_ok()) {
    FUZZ_CHECK(decoded.status().code() == StatusCode::corrupt);
    return;
  }
  FUZZ_CHECK(type == event_type(decoded.value()));
  const std::string canonical = encode_event_data(decoded.value());
  Result<Event> again = decode_event(type, canonical);
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(encode_event_data(again.value()) == canonical);
  check_faithful(data, canonical);
  check_canonical_fast_path(type, canonical);
}

void check_webhook_event(std::string_view type, std::string_view data) {
  Result<WebhookEvent> decoded = decode_webhook_event(type, data);
  std::optional<WebhookEvent> fast = decode_canonical_webhook_event(type, data);
  if (fast) {
    FUZZ_CHECK(decoded.is_ok());
    FUZZ_CHECK(to_new_event(*fast, "{}").data == to_new_event(decoded.value(), "{}").data);
  }
  if (!decoded.is_ok()) {
    FUZZ_CHECK(decoded.status().code() == StatusCode::corrupt);
    return;
  }
  const NewEvent written = to_new_event(decoded.value(), "{}");
  FUZZ_CHECK(written.type == type);
  Result<WebhookEvent> again = decode_webhook_event(type, written.data);
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(to_new_event(again.value(), "{}").data == written.data);
  check_faithful(data, written.data);
}

// ---- building events from the input ------------------------------------------------------------

// Fills every field of a field-listed struct (json_codec.h) from the input.
class FieldFiller {
 public:
  explicit FieldFiller(FuzzInput& input) : input_(input) {}

  void operator()(const char*, std::string& out) {
    out = std::string(input_.take(input_.pick(12)));
  }
  void operator()(const char*, int64_t& out) { out = static_cast<int64_t>(bits(8)); }
  void operator()(const char*, int& out) { out = static_cast<int>(static_cast<uint32_t>(bits(4))); }
  void operator()(const char*, bool& out) { out = input_.byte() & 1; }
  void operator()(const char* key, Money& out) {
    (*this)(key, out.amount_minor);
    (*this)(key, out.currency);
  }
  void operator()(const char*, Currency& out) { out = currencies[input_.pick(currencies.size())]; }
  template <NamedEnum E>
  void operator()(const char*, E& out) {
    auto names = enum_names(E{});
    out = names[input_.pick(names.size())].value;
  }
  template <class T>
  void operator()(const char* key, std::optional<T>& out) {
    out.reset();
    if (input_.byte() & 1) (*this)(key, out.emplace());
  }
  template <class T>
  void operator()(const char* key, std::vector<T>& out) {
    out.resize(input_.pick(4));
    for (T& item : out) (*this)(key, item);
  }
  template <class T, class = decltype(std::declval<T&>().fields(std::declval<FieldFiller&>()))>
  void operator()(const char*, T& out) {
    out.fields(*this);
  }

 private:
  uint64_t bits(int bytes) {
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) value = (value << 8) | input_.byte();
    return value;
  }
  FuzzInput& input_;
};

template <class Variant, std::size_t I = 0>
Variant build(std::size_t index, FuzzInput& input) {
  if constexpr (I + 1 < std::variant_size_v<Variant>) {
    if (index != I) return build<Variant, I + 1>(index, input);
  }
  std::variant_alternative_t<I, Variant> event;
  FieldFiller filler(input);
  event.fields(filler);
  return Variant(std::move(event));
}

void check_built_event(std::size_t index, FuzzInput& input) {
  const Event event = build<Event>(index, input);
  const std::string stored = encode_event_data(event);
  Result<Event> decoded = decode_event(event_type(event), stored);
  FUZZ_CHECK(decoded.is_ok());
  FUZZ_CHECK(decoded.value().index() == event.index());
  FUZZ_CHECK(encode_event_data(decoded.value()) == stored);
}

void check_built_webhook_event(std::size_t index, FuzzInput& input) {
  const NewEvent stored = to_new_event(build<WebhookEvent>(index, input), "{}");
  Result<WebhookEvent> decoded = decode_webhook_event(stored.type, stored.data);
  FUZZ_CHECK(decoded.is_ok());
  FUZZ_CHECK(to_new_event(decoded.value(), "{}").data == stored.data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const bool building = input.byte() & 1;
  const std::size_t events = event_types().size();
  const std::size_t pick = input.pick(events + webhook_types().size() + 1);
  if (building) {
    if (pick < events) {
      check_built_event(pick, input);
    } else if (pick < events + webhook_types().size()) {
      check_built_webhook_event(pick - events, input);
    }
    return 0;
  }
  const std::string_view stored = input.rest();
  if (pick < events) {
    check_event(event_types()[pick], stored);
  } else if (pick < events + webhook_types().size()) {
    check_webhook_event(webhook_types()[pick - events], stored);
  } else {
    FUZZ_CHECK(!decode_event("NoSuchEvent", stored).is_ok());
    FUZZ_CHECK(!decode_webhook_event("BookingCreated", stored).is_ok());
    FUZZ_CHECK(!decode_event("WebhookReceived", stored).is_ok());
  }
  return 0;
}
