// Field-list JSON codec for the ledger's value types.
//
// A type lists its fields once, in `template <class V> void fields(V& v)`, calling
// `v("name", member)` for each; the same list drives encoding (JsonWriter) and decoding
// (JsonReader), so the two cannot drift apart. Supported members: std::string, int64_t, int,
// bool, Money ({"amount":N,"currency":"NGN"}), Currency, the named enums of values.h (their name
// as a string; decoding an unknown name fails), std::optional<T> (omitted when empty),
// std::vector<T> of field-listed structs, of Money or of strings, and nested field-listed structs.
// Output is compact, keys in declaration order: the exact text that is stored and hashed.
// Thread-safety: stateless apart from the objects passed in.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "ledger/money.h"
#include "ledger/values.h"

namespace escrow::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

class FieldWriter {
 public:
  explicit FieldWriter(Writer& w) : w_(w) {}

  void operator()(const char* key, const std::string& value) {
    w_.Key(key);
    w_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  }
  void operator()(const char* key, const int64_t& value) {
    w_.Key(key);
    w_.Int64(value);
  }
  void operator()(const char* key, const int& value) {
    w_.Key(key);
    w_.Int(value);
  }
  void operator()(const char* key, const bool& value) {
    w_.Key(key);
    w_.Bool(value);
  }
  void operator()(const char* key, const Money& value) {
    w_.Key(key);
    write_money(w_, value);
  }
  void operator()(const char* key, const Currency& value) {
    w_.Key(key);
    w_.String(currency_code(value));
  }
  template <NamedEnum E>
  void operator()(const char* key, const E& value) {
    w_.Key(key);
    w_.String(enum_name(value));
  }
  template <class T>
  void operator()(const char* key, const std::optional<T>& value) {
    if (value) (*this)(key, *value);
  }
  template <class T>
  void operator()(const char* key, const std::vector<T>& values) {
    w_.Key(key);
    w_.StartArray();
    for (const T& value : values) write_element(w_, value);
    w_.EndArray();
  }
  template <class T, class = decltype(std::declval<T&>().fields(std::declval<FieldWriter&>()))>
  void operator()(const char* key, const T& value) {
    w_.Key(key);
    write_object(w_, value);
  }

  static void write_money(Writer& w, const Money& money) {
    w.StartObject();
    w.Key("amount");
    w.Int64(money.amount_minor);
    w.Key("currency");
    w.String(currency_code(money.currency));
    w.EndObject();
  }

  static void write_element(Writer& w, const Money& money) { write_money(w, money); }
  static void write_element(Writer& w, const std::string& text) {
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  }
  template <class T>
  static void write_element(Writer& w, const T& value) {
    write_object(w, value);
  }

  template <class T>
  static void write_object(Writer& w, const T& value) {
    w.StartObject();
    FieldWriter fields(w);
    const_cast<T&>(value).fields(fields);  // fields() only reads through a FieldWriter
    w.EndObject();
  }

 private:
  Writer& w_;
};

template <class T>
std::string to_json(const T& value) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  FieldWriter::write_object(writer, value);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Decodes into a field-listed struct. The first problem is kept in error() ("field: why").
class FieldReader {
 public:
  explicit FieldReader(const rapidjson::Value& object) : object_(object) {}

  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

  void operator()(const char* key, std::string& out) {
    if (const auto* v = required(key)) {
      if (v->IsString())
        out.assign(v->GetString(), v->GetStringLength());
      else
        fail(key, "expected a string");
    }
  }
  void operator()(const char* key, int64_t& out) {
    if (const auto* v = required(key)) {
      if (v->IsInt64())
        out = v->GetInt64();
      else
        fail(key, "expected an integer");
    }
  }
  void operator()(const char* key, int& out) {
    if (const auto* v = required(key)) {
      if (v->IsInt())
        out = v->GetInt();
      else
        fail(key, "expected a 32-bit integer");
    }
  }
  void operator()(const char* key, bool& out) {
    if (const auto* v = required(key)) {
      if (v->IsBool())
        out = v->GetBool();
      else
        fail(key, "expected a boolean");
    }
  }
  void operator()(const char* key, Money& out) {
    if (const auto* v = required(key)) read_money(key, *v, out);
  }
  void operator()(const char* key, Currency& out) {
    const auto* v = required(key);
    if (!v) return;
    auto parsed = v->IsString() ? parse_currency(v->GetString()) : std::nullopt;
    if (!parsed) return fail(key, "unknown currency");
    out = *parsed;
  }
  template <NamedEnum E>
  void operator()(const char* key, E& out) {
    const auto* v = required(key);
    if (!v) return;
    auto parsed =
        v->IsString() ? parse_enum<E>({v->GetString(), v->GetStringLength()}) : std::nullopt;
    if (!parsed) return fail(key, "unknown value");
    out = *parsed;
  }
  template <class T>
  void operator()(const char* key, std::optional<T>& out) {
    auto it = object_.FindMember(key);
    if (it == object_.MemberEnd() || it->value.IsNull()) {
      out.reset();
      return;
    }
    out.emplace();
    (*this)(key, *out);
  }
  template <class T>
  void operator()(const char* key, std::vector<T>& out) {
    const auto* v = required(key);
    if (!v) return;
    if (!v->IsArray()) return fail(key, "expected an array");
    out.clear();
    for (const auto& item : v->GetArray()) {
      out.emplace_back();
      if (!read_element(item, out.back(), key)) return;
    }
  }
  template <class T, class = decltype(std::declval<T&>().fields(std::declval<FieldReader&>()))>
  void operator()(const char* key, T& out) {
    if (const auto* v = required(key)) read_object(*v, out, key);
  }

  bool read_element(const rapidjson::Value& value, Money& out, const char* key) {
    read_money(key, value, out);
    return ok();
  }
  bool read_element(const rapidjson::Value& value, std::string& out, const char* key) {
    if (!value.IsString()) {
      fail(key, "expected an array of strings");
      return false;
    }
    out.assign(value.GetString(), value.GetStringLength());
    return true;
  }
  template <class T>
  bool read_element(const rapidjson::Value& value, T& out, const char* key) {
    return read_object(value, out, key);
  }

  template <class T>
  bool read_object(const rapidjson::Value& value, T& out, const char* key) {
    if (!value.IsObject()) {
      fail(key, "expected an object");
      return false;
    }
    FieldReader nested(value);
    out.fields(nested);
    if (!nested.ok()) fail(key, nested.error().c_str());
    return nested.ok();
  }

 private:
  const rapidjson::Value* required(const char* key) {
    if (!error_.empty()) return nullptr;
    auto it = object_.FindMember(key);
    if (it == object_.MemberEnd()) {
      fail(key, "missing");
      return nullptr;
    }
    return &it->value;
  }
  void read_money(const char* key, const rapidjson::Value& v, Money& out) {
    if (!v.IsObject()) return fail(key, "expected {amount, currency}");
    auto amount = v.FindMember("amount");
    auto currency = v.FindMember("currency");
    if (amount == v.MemberEnd() || !amount->value.IsInt64())
      return fail(key, "amount must be an integer");
    if (currency == v.MemberEnd() || !currency->value.IsString())
      return fail(key, "currency must be a string");
    auto parsed = parse_currency(currency->value.GetString());
    if (!parsed) return fail(key, "unknown currency");
    out = Money{amount->value.GetInt64(), *parsed};
  }
  void fail(const char* key, const char* why) {
    if (error_.empty()) error_ = std::string(key) + ": " + why;
  }

  const rapidjson::Value& object_;
  std::string error_;
};

}  // namespace escrow::json
