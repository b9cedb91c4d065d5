// Fuzz target: JSON request bodies (api/json_body.cpp) through parse_json_body() and the typed
// field readers of BodyReader, read as the handlers read them (the field lists of POST /bookings,
// its payment_plan, the dispute, resolution, cancel, withdrawal, payout-account, OTP, chargeback
// answer, pay, verify and proof bodies).
//
// Input: one byte picks the Content-Type and the limits (the defaults, or a small body or depth
// limit so that both refusals are reached), one byte the field list; the rest is the body.
// Properties:
// - a refusal is 400 invalid_json, 413 body_too_large or 415 unsupported_media_type, with the
//   documented error body; nothing else;
// - an accepted body is within the size limit, holds no NUL byte, is an object no deeper than the
//   depth limit and without a duplicate key (each checked here independently of the parser);
// - round trip: an accepted body written out again is accepted and reads as the same document
//   (integers exactly; numbers with a fraction or exponent, which no reader accepts, as such);
// - the readers agree with an independent oracle per field: an integer is read only when it is a
//   JSON integer in [min, max] (so a parsed amount is an integer in range), a string only when it
//   is one of at most bytes_max bytes without NUL, an enum only when it is one of its names;
//   the first field the oracle refuses is the one the 400 invalid_field names, and after it every
//   read returns the default value.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "fuzz_input.h"
#include "ledger/money.h"
#include "ledger/values.h"

using namespace escrow;
using namespace escrow::api;
using escrow::fuzz::FuzzInput;

namespace {

enum class Kind { string, int64, boolean, one_of, currency, plan };

struct Field {
  Kind kind;
  const char* name;
  bool required;
  int64_t min = 0;  // int64: the range; string: max is the byte limit
  int64_t max = 0;
  std::vector<std::string_view> allowed = {};  // one_of
};

constexpr int64_t amount_max = amount_minor_max;

// The field lists of the handlers (api/handlers_*.cpp), in the order they read them.
const std::vector<std::vector<Field>>& field_lists() {
  static const std::vector<std::vector<Field>> lists = {
      {{Kind::string, "id", false, 0, 64},
       {Kind::string, "client_id", true, 0, 128},
       {Kind::string, "provider_id", true, 0, 128},
       {Kind::string, "client_email", true, 0, 254},
       {Kind::string, "description", true, 0, 2000},
       {Kind::int64, "amount", true, 1, amount_max},
       {Kind::currency, "currency", true},
       {Kind::int64, "fee_bps", false, 0, bps_max},
       {Kind::int64, "auto_confirm_after_s", false, 0, 31'622'400},
       {Kind::string, "pay_by", false, 0, 64}},
      {{Kind::plan, "type", true}, {Kind::int64, "deposit_bps", true, 1, bps_max - 1}},
      {{Kind::string, "reason", true, 0, 200}, {Kind::string, "description", false, 0, 2000}},
      {{Kind::one_of, "outcome", true, 0, 0, {"release", "refund", "split"}},
       {Kind::int64, "provider_amount", false, 0, amount_max},
       {Kind::int64, "refund_amount", false, 0, amount_max},
       {Kind::string, "note", true, 0, 2000}},
      {{Kind::int64, "amount", true, 1, amount_max}, {Kind::currency, "currency", true}},
      {{Kind::string, "bank_code", true, 0, 16},
       {Kind::string, "account_number", true, 0, 20},
       {Kind::string, "account_name", true, 0, 200},
       {Kind::currency, "currency", true}},
      {{Kind::string, "otp", true, 0, 16}},
      {{Kind::string, "resolution", true, 0, 16},
       {Kind::string, "message", true, 0, 2000},
       {Kind::string, "uploaded_filename", false, 0, 200}},
      {{Kind::string, "callback_url", false, 0, 2048}},
      {{Kind::string, "reference", true, 0, 100}},
      {{Kind::string, "notes", true, 0, 5000},
       {Kind::one_of, "kind", false, 0, 0, {"photo", "link"}},
       {Kind::boolean, "urgent", false}},
  };
  return lists;
}

// ---- independent checks of an accepted document ----------------------------------------------

int depth_of(const rapidjson::Value& value) {
  int deepest = 0;
  if (value.IsArray()) {
    for (const auto& element : value.GetArray()) deepest = std::max(deepest, depth_of(element));
    return deepest + 1;
  }
  if (!value.IsObject()) return 0;
  for (const auto& member : value.GetObject()) deepest = std::max(deepest, depth_of(member.value));
  return deepest + 1;
}

bool keys_unique(const rapidjson::Value& value) {
  if (value.IsArray()) {
    return std::all_of(value.Begin(), value.End(), [](const auto& v) { return keys_unique(v); });
  }
  if (!value.IsObject()) return true;
  std::vector<std::string_view> names;
  for (const auto& member : value.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (std::find(names.begin(), names.end(), name) != names.end()) return false;
    if (!keys_unique(member.value)) return false;
    names.push_back(name);
  }
  return true;
}

// The same document, numbers compared as the readers see them: integers exactly, and a number
// with a fraction or an exponent only as such (no reader accepts one, and RapidJSON without its
// full-precision path may read the same digits one unit in the last place apart).
bool same_document(const rapidjson::Value& a, const rapidjson::Value& b) {
  if (a.IsDouble() || b.IsDouble()) return a.IsDouble() && b.IsDouble();
  if (a.IsArray()) {
    if (!b.IsArray() || a.Size() != b.Size()) return false;
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      if (!same_document(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.IsObject()) {
    if (!b.IsObject() || a.MemberCount() != b.MemberCount()) return false;
    for (auto x = a.MemberBegin(), y = b.MemberBegin(); x != a.MemberEnd(); ++x, ++y) {
      if (!(x->name == y->name) || !same_document(x->value, y->value)) return false;
    }
    return true;
  }
  return a == b;
}

std::string written(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  FUZZ_CHECK(value.Accept(writer));
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string error_code_of(const HttpResponse& response) {
  rapidjson::Document parsed;
  parsed.Parse(response.body.data(), response.body.size());
  const rapidjson::Value& doc = parsed;
  FUZZ_CHECK(!parsed.HasParseError() && doc.IsObject() && doc.MemberCount() == 1);
  const auto error = doc.FindMember("error");
  FUZZ_CHECK(error != doc.MemberEnd() && error->value.IsObject());
  const auto code = error->value.FindMember("code");
  const auto message = error->value.FindMember("message");
  FUZZ_CHECK(code != error->value.MemberEnd() && code->value.IsString());
  FUZZ_CHECK(message != error->value.MemberEnd() && message->value.IsString());
  return code->value.GetString();
}

void check_refusal(const HttpResponse& response) {
  const std::string code = error_code_of(response);
  FUZZ_CHECK((response.status == 400 && code == "invalid_json") ||
             (response.status == 413 && code == "body_too_large") ||
             (response.status == 415 && code == "unsupported_media_type"));
}

void check_accepted(const HttpRequest& request, const JsonLimits& limits,
                    const rapidjson::Document& doc) {
  FUZZ_CHECK(request.body.size() <= limits.body_bytes_max);
  FUZZ_CHECK(request.body.find('\0') == std::string::npos);
  FUZZ_CHECK(doc.IsObject());
  FUZZ_CHECK(depth_of(doc) <= limits.depth_max);
  FUZZ_CHECK(keys_unique(doc));
  // Round trip: the same document, written compactly, is accepted and reads the same.
  HttpRequest again = request;
  again.body = written(doc);
  JsonLimits roomy = limits;
  roomy.body_bytes_max = std::max(roomy.body_bytes_max, again.body.size());
  auto reparsed = parse_json_body(again, roomy);
  FUZZ_CHECK(reparsed.is_ok());
  FUZZ_CHECK(same_document(reparsed.value(), doc));
}

// ---- the readers against the oracle ----------------------------------------------------------

// Whether the oracle accepts `field` in `object` (absent or null: only when optional).
bool oracle_accepts(const rapidjson::Value& object, const Field& field) {
  auto member = object.FindMember(field.name);
  if (member == object.MemberEnd() || member->value.IsNull()) return !field.required;
  const rapidjson::Value& v = member->value;
  std::string_view text =
      v.IsString() ? std::string_view(v.GetString(), v.GetStringLength()) : std::string_view();
  switch (field.kind) {
    case Kind::string:
      return v.IsString() && text.size() <= static_cast<std::size_t>(field.max) &&
             text.find('\0') == std::string_view::npos;
    case Kind::int64:
      return v.IsInt64() && v.GetInt64() >= field.min && v.GetInt64() <= field.max;
    case Kind::boolean:
      return v.IsBool();
    case Kind::one_of:
      return v.IsString() &&
             std::find(field.allowed.begin(), field.allowed.end(), text) != field.allowed.end();
    case Kind::currency:
      return v.IsString() && parse_currency(text).has_value() && text.size() == 3;
    case Kind::plan:
      return v.IsString() && parse_enum<PaymentPlan>(text).has_value();
  }
  return false;
}

// BodyReader takes the allowed names as an initializer_list, as the handlers write them.
std::optional<std::string> read_one_of(BodyReader& in, const Field& field) {
  if (field.allowed.size() == 2) {
    if (field.required) return in.required_enum(field.name, {field.allowed[0], field.allowed[1]});
    return in.optional_enum(field.name, {field.allowed[0], field.allowed[1]});
  }
  if (field.required)
    return in.required_enum(field.name, {field.allowed[0], field.allowed[1], field.allowed[2]});
  return in.optional_enum(field.name, {field.allowed[0], field.allowed[1], field.allowed[2]});
}

// Reads `field` and checks what came back against what the oracle expects.
void read_and_check(BodyReader& in, const rapidjson::Value& object, const Field& field) {
  const bool was_ok = in.ok();
  const bool accepted = oracle_accepts(object, field);
  auto member = object.FindMember(field.name);
  const bool present = member != object.MemberEnd() && !member->value.IsNull();
  bool got_value = false;
  switch (field.kind) {
    case Kind::string: {
      auto max = static_cast<std::size_t>(field.max);
      std::optional<std::string> text = field.required
                                            ? std::optional(in.required_string(field.name, max))
                                            : in.optional_string(field.name, max);
      if (text) FUZZ_CHECK(text->size() <= max && text->find('\0') == std::string::npos);
      got_value = text && (present || !text->empty());
      if (!was_ok || !in.ok()) FUZZ_CHECK(!text || text->empty());
      break;
    }
    case Kind::int64: {
      std::optional<int64_t> number =
          field.required ? std::optional(in.required_int(field.name, field.min, field.max))
                         : in.optional_int(field.name, field.min, field.max);
      if (was_ok && in.ok() && number) FUZZ_CHECK(*number >= field.min && *number <= field.max);
      if (was_ok && in.ok() && present) FUZZ_CHECK(number && *number == member->value.GetInt64());
      if (!was_ok || !in.ok()) FUZZ_CHECK(!number || *number == 0);
      got_value = number.has_value();
      break;
    }
    case Kind::boolean: {
      std::optional<bool> flag = field.required ? std::optional(in.required_bool(field.name))
                                                : in.optional_bool(field.name);
      if (!was_ok || !in.ok()) FUZZ_CHECK(!flag || !*flag);
      got_value = flag.has_value();
      break;
    }
    case Kind::one_of: {
      std::optional<std::string> name = read_one_of(in, field);
      if (was_ok && in.ok() && present) {
        FUZZ_CHECK(name && std::find(field.allowed.begin(), field.allowed.end(), *name) !=
                               field.allowed.end());
      }
      break;
    }
    case Kind::currency: {
      Currency currency = in.required_currency(field.name);
      if (was_ok && in.ok()) {
        FUZZ_CHECK(currency_code(currency) ==
                   std::string_view(member->value.GetString(), member->value.GetStringLength()));
      }
      break;
    }
    case Kind::plan: {
      PaymentPlan plan = in.required_enum<PaymentPlan>(field.name);
      if (!was_ok || !in.ok()) FUZZ_CHECK(plan == PaymentPlan{});
      break;
    }
  }
  (void)got_value;
  // The first refused field fails the reader, and an earlier failure sticks.
  FUZZ_CHECK(in.ok() == (was_ok && accepted));
  if (was_ok && !accepted) {
    FUZZ_CHECK(in.error().status == 400 && error_code_of(in.error()) == "invalid_field");
    FUZZ_CHECK(in.error().body.find(std::string("Field '") + field.name + "'") !=
               std::string::npos);
  }
}

void read_fields(const rapidjson::Document& doc, const std::vector<Field>& fields) {
  BodyReader in(doc);
  for (const Field& field : fields) read_and_check(in, doc, field);
  // A reader over something that is not an object refuses at once.
  rapidjson::Value not_object(int64_t{1});
  BodyReader scalar(not_object);
  (void)scalar.optional_string("x", 1);
  FUZZ_CHECK(!scalar.ok() && scalar.error().status == 400);
}

constexpr std::string_view content_types[] = {
    "application/json",       "application/json; charset=utf-8",
    "Application/JSON ",      "text/plain",
    "application/jsonp",      "",
    "application/json;;;==;", " \tapplication/json\t;x"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const uint8_t shape = input.byte();
  const std::vector<Field>& fields = field_lists()[input.pick(field_lists().size())];

  HttpRequest request;
  request.method = "POST";
  request.target = "/bookings";
  std::string_view type = content_types[shape % std::size(content_types)];
  if (shape % std::size(content_types) != 5) request.headers.set("Content-Type", type);
  request.body = std::string(input.rest());
  JsonLimits limits;
  if (shape & 0x40) limits.body_bytes_max = (shape >> 3) & 0x07 ? 64 : 0;
  if (shape & 0x80) limits.depth_max = (shape >> 3) & 0x07;

  HttpResult<rapidjson::Document> parsed = parse_json_body(request, limits);
  if (!parsed.is_ok()) {
    check_refusal(parsed.error());
    return 0;
  }
  check_accepted(request, limits, parsed.value());
  read_fields(parsed.value(), fields);
  return 0;
}
