// Lenient readers for Paystack's JSON (shared/paystack/FACTS.md section 1.7).
//
// Paystack's payloads do not hold to one type per field: ids exceed 32 bits and are sometimes
// strings, amounts are integers or numeric strings, metadata is anything, timestamps come as
// both `paid_at` and `paidAt`, empty relations are `{}` or `null`, booleans are `true` or `1`,
// and a cursor may be the string "null". Every accessor here answers "absent" (nullopt or
// nullptr) for a missing key, a JSON null and a value of a type it cannot read; none of them
// throws or asserts on input. Used by the API decoders (decode.h) and the webhook parser
// (webhook.h); not meant for code outside paystack/. Thread-safety: pure functions.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/money.h"

namespace escrow::paystack::lenient {

// Nesting deeper than this is refused before parsing: the RapidJSON writer used to keep raw
// metadata text recurses once per level.
inline constexpr int json_depth_max = 64;

// Parses `text` (iteratively, validating UTF-8, a lone surrogate escape included) after checking
// its nesting depth; a number beyond the range of a double is refused too. Returns false on any
// problem and says what in `error`.
bool parse_document(std::string_view text, rapidjson::Document& doc, std::string& error);

// Deepest nesting of [ and { in `text`, strings skipped. Linear, no recursion.
int json_depth(std::string_view text);

// The member `key` of `object`, or nullptr when `object` is not an object, the key is missing or
// its value is null.
const rapidjson::Value* member(const rapidjson::Value& object, std::string_view key);

// The first of `keys` present and non-null (for `paid_at`/`paidAt` pairs).
const rapidjson::Value* member_any(const rapidjson::Value& object,
                                   std::initializer_list<std::string_view> keys);

// A relation that may be `{}`, `null` or missing: nullptr unless it is a non-empty object.
const rapidjson::Value* relation(const rapidjson::Value& object, std::string_view key);

// A string. Numbers are given as their decimal text (a reference sent as a number still reads).
std::optional<std::string> string_of(const rapidjson::Value* value);
std::optional<std::string> string_field(const rapidjson::Value& object, std::string_view key);
// Like string_field, but "" when absent: for descriptive fields where absence needs no branch.
std::string text_field(const rapidjson::Value& object, std::string_view key);

// A signed 64-bit integer: a JSON integer, an integral double, or a string of decimal digits
// with an optional leading '-'. Anything else (fractions, "12abc", overflow) is absent.
std::optional<int64_t> int_of(const rapidjson::Value* value);
std::optional<int64_t> int_field(const rapidjson::Value& object, std::string_view key);

// An id that may be an integer, a numeric string, or an object carrying `id` (`recipient`,
// `integration` and `transaction` are either, depending on the endpoint).
std::optional<int64_t> id_field(const rapidjson::Value& object, std::string_view key);

// true/false, 1/0, "true"/"false".
std::optional<bool> bool_field(const rapidjson::Value& object, std::string_view key);

// An ISO 8601 timestamp under any of `keys`, as unix milliseconds.
std::optional<int64_t> time_field(const rapidjson::Value& object,
                                  std::initializer_list<std::string_view> keys);

// `amount_key` read with int_of plus `currency` (a supported code), as Money. Absent when either
// is missing, the amount is negative, or the currency is not one the ledger knows.
std::optional<Money> money_field(const rapidjson::Value& object, std::string_view amount_key,
                                 std::optional<Currency> currency);

// The compact JSON text of a value ("null" for nullptr): metadata is kept as Paystack sent it.
std::string raw_json(const rapidjson::Value* value);

// A cursor: absent for a missing key, null, "" and the string "null" (FACTS section 1.3).
std::optional<std::string> cursor_field(const rapidjson::Value& object, std::string_view key);

}  // namespace escrow::paystack::lenient
