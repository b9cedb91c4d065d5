#include "ledger/events.h"

#include <rapidjson/error/en.h>

#include <array>
#include <utility>

#include "ledger/json_codec.h"

namespace escrow {

namespace {

template <class Variant, size_t I = 0>
Result<Variant> decode_as(std::string_view type, const rapidjson::Value& object) {
  if constexpr (I == std::variant_size_v<Variant>) {
    return Status(StatusCode::corrupt, "unknown event type " + std::string(type));
  } else {
    using T = std::variant_alternative_t<I, Variant>;
    if (type != T::type) return decode_as<Variant, I + 1>(type, object);
    T event;
    json::FieldReader reader(object);
    event.fields(reader);
    if (!reader.ok()) {
      return Status(StatusCode::corrupt, std::string(T::type) + " data: " + reader.error());
    }
    return Variant(std::move(event));
  }
}

template <class Variant, size_t... I>
bool type_known(std::string_view type, std::index_sequence<I...>) {
  return ((type == std::variant_alternative_t<I, Variant>::type) || ...);
}

template <class Variant>
bool type_known(std::string_view type) {
  return type_known<Variant>(type, std::make_index_sequence<std::variant_size_v<Variant>>());
}

template <class Variant>
Result<Variant> decode_data(std::string_view type, std::string_view data) {
  // Parsing allocates from per-thread buffers that are reused: decoding is the inner loop of
  // every fold, rebuild and verify.
  thread_local char value_buffer[16384];
  thread_local char parse_buffer[4096];
  thread_local rapidjson::MemoryPoolAllocator<> value_allocator(value_buffer, sizeof value_buffer);
  thread_local rapidjson::MemoryPoolAllocator<> parse_allocator(parse_buffer, sizeof parse_buffer);
  value_allocator.Clear();
  parse_allocator.Clear();
  using PooledDocument =
      rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                                 rapidjson::MemoryPoolAllocator<>>;
  PooledDocument document(&value_allocator, sizeof parse_buffer, &parse_allocator);
  document.Parse(data.data(), data.size());
  if (document.HasParseError()) {
    return Status(StatusCode::corrupt, std::string(type) + " data is not JSON: " +
                                           rapidjson::GetParseError_En(document.GetParseError()));
  }
  if (!document.IsObject()) {
    return Status(StatusCode::corrupt, std::string(type) + " data is not a JSON object");
  }
  return decode_as<Variant>(type, document);
}

}  // namespace

const char* event_type(const Event& event) {
  return std::visit([](const auto& e) { return std::decay_t<decltype(e)>::type; }, event);
}

std::string encode_event_data(const Event& event) {
  return std::visit([](const auto& e) { return json::to_json(e); }, event);
}

Result<Event> decode_event(std::string_view type, std::string_view data) {
  return decode_data<Event>(type, data);
}

bool is_known_event_type(std::string_view type) {
  return type_known<Event>(type);
}

Result<WebhookEvent> decode_webhook_event(std::string_view type, std::string_view data) {
  return decode_data<WebhookEvent>(type, data);
}

bool is_webhook_event_type(std::string_view type) {
  return type_known<WebhookEvent>(type);
}

NewEvent to_new_event(const WebhookEvent& event, const std::string& meta_json) {
  return std::visit(
      [&](const auto& e) {
        return NewEvent{std::decay_t<decltype(e)>::type, json::to_json(e), meta_json};
      },
      event);
}

std::string encode_meta(const EventMeta& meta) {
  return json::to_json(meta);
}

NewEvent to_new_event(const Event& event, const std::string& meta_json) {
  return NewEvent{event_type(event), encode_event_data(event), meta_json};
}

std::string booking_stream(std::string_view booking_id) {
  return "booking-" + std::string(booking_id);
}

std::string provider_stream(std::string_view provider_id) {
  return "provider-" + std::string(provider_id);
}

}  // namespace escrow
