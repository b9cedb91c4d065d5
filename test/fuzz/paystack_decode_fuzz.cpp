// Fuzz target: the Paystack client's view of every response shape (paystack/decode.cpp, every
// decode_* function, and paystack/api_error.cpp classify_error for the refusals).
//
// Input: one byte picks the decoder (one per endpoint shape: initialize, transaction, its list,
// recipient and list, banks, resolved account, transfer and list, refund and list, balances,
// dispute and list), one byte the HTTP status, one byte whether an x-ratelimit-reset header is
// sent (its value runs to the first '\n'); the rest is the response body.
// Properties:
// - a non-2xx status is never a value; 429 is always rate_limited, 5xx always unavailable, and a
//   2xx never either (no retry is caused by a readable answer);
// - a value comes only from a 2xx whose envelope says `status: true`;
// - every amount decoded is a non-negative integer of a known currency, and every status enum
//   is the one its verbatim text maps to;
// - an error has a non-empty message and, when it is a 429 with a reset header read, a
//   non-negative retry_after_s;
// - decoding is a pure function: the same response decodes to the same result twice.
#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "paystack/api_error.h"
#include "paystack/decode.h"
#include "paystack/types.h"

using namespace escrow;
using namespace escrow::paystack;
using escrow::fuzz::FuzzInput;

namespace {

constexpr int statuses[] = {200, 201, 200, 400, 401, 404, 422, 429, 500, 503, 302, 0, 299, 600};

void check_money(const Money& money) {
  FUZZ_CHECK(money.amount_minor >= 0);
  FUZZ_CHECK(parse_currency(currency_code(money.currency)) == money.currency);
}
void check_money(const std::optional<Money>& money) {
  if (money) check_money(*money);
}

void check_value(const InitializedTransaction&) {}
void check_value(const Transaction& t) {
  check_money(t.amount);
  check_money(t.requested_amount);
  check_money(t.fees);
  FUZZ_CHECK(t.status == parse_transaction_status(t.status_text));
}
void check_value(const Recipient&) {}
void check_value(const Bank&) {}
void check_value(const ResolvedAccount&) {}
void check_value(const Transfer& t) {
  check_money(t.amount);
  check_money(t.fee_charged);
  FUZZ_CHECK(t.status == parse_transfer_status(t.status_text));
}
void check_value(const Refund& r) {
  check_money(r.amount);
  check_money(r.deducted_amount);
  FUZZ_CHECK(r.status == parse_refund_status(r.status_text));
}
void check_value(const Dispute& d) {
  check_money(d.refund_amount);
}
void check_value(const std::vector<Balance>& balances) {
  for (const Balance& b : balances) FUZZ_CHECK(parse_currency(currency_code(b.balance.currency)));
}
template <class T>
void check_value(const Page<T>& page) {
  for (const T& item : page.items) check_value(item);
}

// Whether the body is an envelope that says `status: true` (as decode.cpp reads it, leniently).
bool says_success(const std::string& body) {
  rapidjson::Document parsed;
  parsed.Parse(body.data(), body.size());
  const rapidjson::Value& doc = parsed;
  if (parsed.HasParseError() || !doc.IsObject()) return false;
  auto status = doc.FindMember("status");
  if (status == doc.MemberEnd()) return false;
  const rapidjson::Value& v = status->value;
  return (v.IsBool() && v.GetBool()) || (v.IsInt64() && v.GetInt64() == 1) ||
         (v.IsString() &&
          (std::string_view(v.GetString()) == "true" || std::string_view(v.GetString()) == "1"));
}

void check_error(const HttpResponse& response, const ApiError& error) {
  FUZZ_CHECK(!error.message.empty());
  FUZZ_CHECK(error.http_status == response.status);
  const bool ok_status = response.status >= 200 && response.status <= 299;
  if (response.status == 429) FUZZ_CHECK(error.kind == ErrorKind::rate_limited);
  if (response.status >= 500 && response.status <= 599)
    FUZZ_CHECK(error.kind == ErrorKind::unavailable);
  if (ok_status) {
    FUZZ_CHECK(error.kind != ErrorKind::rate_limited && error.kind != ErrorKind::unavailable);
  }
  if (error.retry_after_s) FUZZ_CHECK(*error.retry_after_s >= 0 && response.status == 429);
  (void)error.to_string();
  (void)error.to_status();
}

template <class T>
void check(const HttpResponse& response, ApiResult<T> (*decode)(const HttpResponse&)) {
  ApiResult<T> result = decode(response);
  ApiResult<T> again = decode(response);
  FUZZ_CHECK(result.is_ok() == again.is_ok());
  if (!result.is_ok()) {
    check_error(response, result.error());
    FUZZ_CHECK(result.error().kind == again.error().kind &&
               result.error().message == again.error().message);
    return;
  }
  FUZZ_CHECK(response.status >= 200 && response.status <= 299);
  FUZZ_CHECK(says_success(response.body));
  check_value(result.value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const std::size_t decoder = input.pick(14);
  HttpResponse response;
  response.status = statuses[input.pick(std::size(statuses))];
  if (input.byte() & 1) {
    response.headers.emplace_back("x-ratelimit-reset", std::string(input.take_until('\n')));
  }
  response.body = std::string(input.rest());
  switch (decoder) {
    case 0:
      return check(response, decode_initialize), 0;
    case 1:
      return check(response, decode_transaction), 0;
    case 2:
      return check(response, decode_transaction_page), 0;
    case 3:
      return check(response, decode_recipient), 0;
    case 4:
      return check(response, decode_recipient_page), 0;
    case 5:
      return check(response, decode_bank_page), 0;
    case 6:
      return check(response, decode_resolved_account), 0;
    case 7:
      return check(response, decode_transfer), 0;
    case 8:
      return check(response, decode_transfer_page), 0;
    case 9:
      return check(response, decode_refund), 0;
    case 10:
      return check(response, decode_refund_page), 0;
    case 11:
      return check(response, decode_balances), 0;
    case 12:
      return check(response, decode_dispute), 0;
    default:
      return check(response, decode_dispute_page), 0;
  }
}
