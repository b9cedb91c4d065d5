// A thin, typed layer over rapidjson::Writer for building the simulator's response bodies in
// Paystack's key order. Each setter has its own name (kstr, kint, ...) so that a string literal
// can never silently become a bool. Thread-safety: one instance per body, not shared.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace paystack_sim {

class JsonOut {
 public:
  JsonOut() : writer_(buffer_) {}

  JsonOut& begin_object() { return ok(writer_.StartObject()); }
  JsonOut& end_object() { return ok(writer_.EndObject()); }
  JsonOut& begin_array() { return ok(writer_.StartArray()); }
  JsonOut& end_array() { return ok(writer_.EndArray()); }

  JsonOut& key(std::string_view k) {
    return ok(writer_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())));
  }
  JsonOut& str(std::string_view v) {
    return ok(writer_.String(v.data(), static_cast<rapidjson::SizeType>(v.size())));
  }
  JsonOut& i64(int64_t v) { return ok(writer_.Int64(v)); }
  JsonOut& u64(uint64_t v) { return ok(writer_.Uint64(v)); }
  JsonOut& boolean(bool v) { return ok(writer_.Bool(v)); }
  JsonOut& null() { return ok(writer_.Null()); }
  JsonOut& dbl(double v) { return ok(writer_.Double(v)); }
  // Writes already-serialized JSON text as one value (used to echo metadata exactly).
  JsonOut& raw(std::string_view json) {
    return ok(writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType));
  }

  JsonOut& kstr(std::string_view k, std::string_view v) { return key(k).str(v); }
  JsonOut& kint(std::string_view k, int64_t v) { return key(k).i64(v); }
  JsonOut& kuint(std::string_view k, uint64_t v) { return key(k).u64(v); }
  JsonOut& kbool(std::string_view k, bool v) { return key(k).boolean(v); }
  JsonOut& knull(std::string_view k) { return key(k).null(); }
  JsonOut& kraw(std::string_view k, std::string_view json) { return key(k).raw(json); }
  JsonOut& kempty(std::string_view k) { return key(k).begin_object().end_object(); }
  JsonOut& kopt(std::string_view k, const std::optional<std::string>& v) {
    return v ? kstr(k, *v) : knull(k);
  }
  JsonOut& kopt_int(std::string_view k, const std::optional<int64_t>& v) {
    return v ? kint(k, *v) : knull(k);
  }

  std::string take() { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  // RapidJSON reports misuse (a value without a key, unbalanced ends) by returning false; the
  // views are fixed code, so a false here is a programming error caught by the tests' parsing.
  JsonOut& ok(bool) { return *this; }

  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

}  // namespace paystack_sim
