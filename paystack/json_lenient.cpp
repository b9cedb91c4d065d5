#include "paystack/json_lenient.h"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cmath>

#include "ledger/text.h"
#include "ledger/time_format.h"

namespace escrow::paystack::lenient {

namespace {

constexpr unsigned parse_flags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

// Doubles hold integers exactly up to 2^53; beyond that an "integral" double is a guess.
constexpr double exact_double_max = 9007199254740992.0;

std::optional<int64_t> int_of_text(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return out;
}

}  // namespace

int json_depth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

bool parse_document(std::string_view text, rapidjson::Document& doc, std::string& error) {
  if (json_depth(text) > json_depth_max) {
    error = "JSON nested deeper than " + std::to_string(json_depth_max) + " levels";
    return false;
  }
  doc.Parse<parse_flags>(text.data(), text.size());
  if (doc.HasParseError()) {
    error = std::string("invalid JSON at offset ") + std::to_string(doc.GetErrorOffset()) + ": " +
            rapidjson::GetParseError_En(doc.GetParseError());
    return false;
  }
  if (json_holds_non_json(doc)) {
    error = "invalid JSON: a string that is not UTF-8 or a number beyond a double";
    return false;
  }
  return true;
}

const rapidjson::Value* member(const rapidjson::Value& object, std::string_view key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(rapidjson::Value(
      rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

const rapidjson::Value* member_any(const rapidjson::Value& object,
                                   std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    if (const rapidjson::Value* value = member(object, key)) return value;
  }
  return nullptr;
}

const rapidjson::Value* relation(const rapidjson::Value& object, std::string_view key) {
  const rapidjson::Value* value = member(object, key);
  if (value == nullptr || !value->IsObject() || value->MemberCount() == 0) return nullptr;
  return value;
}

std::optional<std::string> string_of(const rapidjson::Value* value) {
  if (value == nullptr) return std::nullopt;
  if (value->IsString()) return std::string(value->GetString(), value->GetStringLength());
  if (value->IsInt64()) return std::to_string(value->GetInt64());
  if (value->IsUint64()) return std::to_string(value->GetUint64());
  return std::nullopt;
}

std::optional<std::string> string_field(const rapidjson::Value& object, std::string_view key) {
  return string_of(member(object, key));
}

std::string text_field(const rapidjson::Value& object, std::string_view key) {
  return string_field(object, key).value_or(std::string());
}

std::optional<int64_t> int_of(const rapidjson::Value* value) {
  if (value == nullptr) return std::nullopt;
  if (value->IsInt64()) return value->GetInt64();
  if (value->IsUint64()) return std::nullopt;  // beyond int64: not an amount or id we accept
  if (value->IsDouble()) {
    double d = value->GetDouble();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) <= exact_double_max)
      return static_cast<int64_t>(d);
    return std::nullopt;
  }
  if (value->IsString())
    return int_of_text(std::string_view(value->GetString(), value->GetStringLength()));
  return std::nullopt;
}

std::optional<int64_t> int_field(const rapidjson::Value& object, std::string_view key) {
  return int_of(member(object, key));
}

std::optional<int64_t> id_field(const rapidjson::Value& object, std::string_view key) {
  const rapidjson::Value* value = member(object, key);
  if (value != nullptr && value->IsObject()) return int_field(*value, "id");
  return int_of(value);
}

std::optional<bool> bool_field(const rapidjson::Value& object, std::string_view key) {
  const rapidjson::Value* value = member(object, key);
  if (value == nullptr) return std::nullopt;
  if (value->IsBool()) return value->GetBool();
  if (value->IsInt64()) {
    if (value->GetInt64() == 0) return false;
    if (value->GetInt64() == 1) return true;
    return std::nullopt;
  }
  if (value->IsString()) {
    std::string_view text(value->GetString(), value->GetStringLength());
    if (text == "true" || text == "1") return true;
    if (text == "false" || text == "0") return false;
  }
  return std::nullopt;
}

std::optional<int64_t> time_field(const rapidjson::Value& object,
                                  std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    const rapidjson::Value* value = member(object, key);
    if (value == nullptr || !value->IsString()) continue;
    if (auto ms = parse_iso8601_ms(std::string_view(value->GetString(), value->GetStringLength())))
      return ms;
  }
  return std::nullopt;
}

std::optional<Money> money_field(const rapidjson::Value& object, std::string_view amount_key,
                                 std::optional<Currency> currency) {
  std::optional<int64_t> amount = int_field(object, amount_key);
  if (!amount || *amount < 0 || !currency) return std::nullopt;
  return Money{*amount, *currency};
}

std::string raw_json(const rapidjson::Value* value) {
  if (value == nullptr) return "null";
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value->Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<std::string> cursor_field(const rapidjson::Value& object, std::string_view key) {
  std::optional<std::string> text = string_field(object, key);
  if (!text || text->empty() || *text == "null") return std::nullopt;
  return text;
}

}  // namespace escrow::paystack::lenient
