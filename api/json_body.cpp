// JSON request bodies: media type, size and depth limits, strict parsing, and the typed field
// readers handlers use. Declared in http.h.
#include <rapidjson/error/en.h>

#include <algorithm>
#include <array>
#include <span>
#include <string>
#include <vector>

#include "api/http.h"
#include "ledger/text.h"

namespace escrow::api {

namespace {

HttpResponse invalid_json(std::string_view why) {
  return error_response(400, "invalid_json",
                        std::string("The body is not valid JSON: ") + std::string(why) + ".");
}

bool is_json_media_type(std::optional<std::string_view> content_type) {
  if (!content_type) return false;
  std::string_view type = content_type->substr(0, content_type->find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return ascii_iequals(type, "application/json");
}

// The deepest nesting of arrays and objects, counted before parsing so that no parser ever
// recurses on hostile input. Brackets inside strings do not count. Exact for valid JSON; for
// invalid JSON either answer ends in 400 invalid_json.
int nesting_depth(std::string_view text, int depth_max) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character, which may be a quote
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > depth_max) return deepest;  // no need to read on
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// RapidJSON keeps every member of an object, so {"amount":1,"amount":1000000} would mean
// whichever member a reader finds first. Refuse the ambiguity instead. Recursion is bounded by
// the depth limit already checked.
bool has_duplicate_key(const rapidjson::Value& value) {
  if (value.IsArray()) {
    for (const rapidjson::Value& element : value.GetArray()) {
      if (has_duplicate_key(element)) return true;
    }
    return false;
  }
  if (!value.IsObject()) return false;
  std::vector<std::string_view> names;
  names.reserve(value.MemberCount());
  for (const auto& member : value.GetObject()) {
    names.emplace_back(member.name.GetString(), member.name.GetStringLength());
    if (has_duplicate_key(member.value)) return true;
  }
  std::sort(names.begin(), names.end());
  return std::adjacent_find(names.begin(), names.end()) != names.end();
}

}  // namespace

HttpResult<rapidjson::Document> parse_json_body(const HttpRequest& request,
                                                const JsonLimits& limits) {
  if (!is_json_media_type(request.headers.get("Content-Type"))) {
    return error_response(415, "unsupported_media_type",
                          "The body must be JSON (Content-Type: application/json).");
  }
  if (request.body.size() > limits.body_bytes_max) {
    return error_response(
        413, "body_too_large",
        "The body is larger than " + std::to_string(limits.body_bytes_max) + " bytes.");
  }
  // RapidJSON's memory stream reads a NUL as the end of input, so "{}\0garbage" would pass as
  // "{}". A raw NUL is never valid JSON text.
  if (request.body.find('\0') != std::string::npos) return invalid_json("a NUL byte");
  if (nesting_depth(request.body, limits.depth_max) > limits.depth_max) {
    return invalid_json("nesting deeper than " + std::to_string(limits.depth_max) + " levels");
  }
  // No kParseFullPrecisionFlag: bodies carry integers only (BodyReader refuses every fraction),
  // which parse exactly without it, and RapidJSON 1.1.0's full-precision path reads a zero with
  // an exponent ("0e300") through undefined behaviour, as -2.2e-75 in gcc's -O2 build.
  constexpr unsigned flags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  rapidjson::Document document;
  // Without kParseStopWhenDoneFlag RapidJSON itself refuses anything after the root value but
  // whitespace ("root not singular"). The body is not NUL-terminated: parse with its length.
  document.Parse<flags>(request.body.data(), request.body.size());
  if (document.HasParseError()) {
    return invalid_json(std::string(rapidjson::GetParseError_En(document.GetParseError())) +
                        " at byte " + std::to_string(document.GetErrorOffset()));
  }
  if (!document.IsObject()) return invalid_json("the body must be a JSON object");
  if (has_duplicate_key(document)) return invalid_json("an object has a duplicate key");
  if (json_holds_non_json(document))
    return invalid_json("a string that is not UTF-8 or a number beyond a double");
  return document;
}

// ---- BodyReader ------------------------------------------------------------------------------

const rapidjson::Value* BodyReader::find(const char* field) {
  if (error_) return nullptr;
  if (!object_.IsObject()) {
    fail("(body)", "a JSON object");
    return nullptr;
  }
  auto member = object_.FindMember(field);
  if (member == object_.MemberEnd() || member->value.IsNull()) return nullptr;
  return &member->value;
}

void BodyReader::fail(const char* field, std::string_view expectation) {
  if (error_) return;
  error_ = error_response(
      400, "invalid_field",
      std::string("Field '") + field + "' must be " + std::string(expectation) + ".");
}

std::optional<std::string> BodyReader::optional_string(const char* field, std::size_t bytes_max) {
  const rapidjson::Value* value = find(field);
  if (!value) return std::nullopt;
  std::string expectation = "a string of at most " + std::to_string(bytes_max) + " bytes";
  if (!value->IsString() || value->GetStringLength() > bytes_max) {
    fail(field, expectation);
    return std::nullopt;
  }
  std::string text(value->GetString(), value->GetStringLength());
  if (text.find('\0') != std::string::npos) {  // "\u0000" would truncate C strings downstream
    fail(field, expectation + " without NUL characters");
    return std::nullopt;
  }
  return text;
}

std::string BodyReader::required_string(const char* field, std::size_t bytes_max) {
  bool was_ok = ok();
  std::optional<std::string> text = optional_string(field, bytes_max);
  if (!text && was_ok && ok()) {
    fail(field, "present: a string of at most " + std::to_string(bytes_max) + " bytes");
  }
  return text.value_or(std::string());
}

std::optional<int64_t> BodyReader::optional_int(const char* field, int64_t min, int64_t max) {
  const rapidjson::Value* value = find(field);
  if (!value) return std::nullopt;
  // IsInt64() is false for 1.0 and 1e3 (parsed as doubles) and for strings such as "100".
  if (!value->IsInt64() || value->GetInt64() < min || value->GetInt64() > max) {
    fail(field, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  return value->GetInt64();
}

int64_t BodyReader::required_int(const char* field, int64_t min, int64_t max) {
  bool was_ok = ok();
  std::optional<int64_t> number = optional_int(field, min, max);
  if (!number && was_ok && ok()) {
    fail(field, "present: an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return number.value_or(0);
}

std::optional<bool> BodyReader::optional_bool(const char* field) {
  const rapidjson::Value* value = find(field);
  if (!value) return std::nullopt;
  if (!value->IsBool()) {
    fail(field, "true or false");
    return std::nullopt;
  }
  return value->GetBool();
}

bool BodyReader::required_bool(const char* field) {
  bool was_ok = ok();
  std::optional<bool> flag = optional_bool(field);
  if (!flag && was_ok && ok()) fail(field, "present: true or false");
  return flag.value_or(false);
}

namespace {
std::string one_of(std::span<const std::string_view> allowed) {
  std::string text = "one of";
  for (std::string_view option : allowed) {
    text += (text.size() == 6 ? " " : ", ");
    text += option;
  }
  return text;
}

std::span<const std::string_view> as_span(std::initializer_list<std::string_view> list) {
  return {list.begin(), list.size()};
}
}  // namespace

std::optional<std::string> BodyReader::optional_one_of(const char* field,
                                                       std::span<const std::string_view> allowed) {
  const rapidjson::Value* value = find(field);
  if (!value) return std::nullopt;
  if (value->IsString()) {
    std::string_view text(value->GetString(), value->GetStringLength());
    for (std::string_view option : allowed) {
      if (text == option) return std::string(text);
    }
  }
  fail(field, one_of(allowed));
  return std::nullopt;
}

std::string BodyReader::required_one_of(const char* field,
                                        std::span<const std::string_view> allowed) {
  bool was_ok = ok();
  std::optional<std::string> text = optional_one_of(field, allowed);
  if (!text && was_ok && ok()) fail(field, "present: " + one_of(allowed));
  return text.value_or(std::string());
}

std::optional<std::string> BodyReader::optional_enum(
    const char* field, std::initializer_list<std::string_view> allowed) {
  return optional_one_of(field, as_span(allowed));
}

std::string BodyReader::required_enum(const char* field,
                                      std::initializer_list<std::string_view> allowed) {
  return required_one_of(field, as_span(allowed));
}

Currency BodyReader::required_currency(const char* field) {
  std::array<std::string_view, currencies.size()> codes;
  for (std::size_t i = 0; i < codes.size(); ++i) codes[i] = currency_code(currencies[i]);
  return parse_currency(required_one_of(field, codes)).value_or(Currency::NGN);
}

}  // namespace escrow::api
