// HTTP values and shared helpers for escrowd handlers; see http.h for the contract.
#include "api/http.h"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>

#include "ledger/status.h"
#include "ledger/text.h"

namespace escrow::api {

// ---- headers ---------------------------------------------------------------------------------

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const Header& header : headers_) {
    if (ascii_iequals(header.name, name)) return std::string_view(header.value);
  }
  return std::nullopt;
}

void Headers::set(std::string_view name, std::string_view value) {
  std::erase_if(headers_, [&](const Header& header) { return ascii_iequals(header.name, name); });
  add(name, value);
}

void Headers::add(std::string_view name, std::string_view value) {
  headers_.push_back(Header{std::string(name), std::string(value)});
}

std::string_view HttpRequest::path() const {
  std::string_view t(target);
  return t.substr(0, t.find('?'));
}

std::string_view HttpRequest::query() const {
  std::string_view t(target);
  std::size_t mark = t.find('?');
  return mark == std::string_view::npos ? std::string_view() : t.substr(mark + 1);
}

// ---- responses -------------------------------------------------------------------------------

HttpResponse json_response(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers.set("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  w.EndObject();
  return json_response(status, std::string(buffer.GetString(), buffer.GetSize()));
}

// One line per Rejection, no default: a new rejection fails to compile (-Wswitch) until it is
// given a status here.
int rejection_status(Rejection rejection) {
  switch (rejection) {
    case Rejection::booking_not_found:
    case Rejection::unknown_payment:
    case Rejection::unknown_refund:
    case Rejection::unknown_payout:
    case Rejection::unknown_chargeback:
      return 404;
    case Rejection::not_allowed:
      return 403;
    case Rejection::invalid_amount:
    case Rejection::amount_below_minimum:
    case Rejection::currency_not_paid_out:
    case Rejection::invalid_fee_bps:
    case Rejection::invalid_deposit_bps:
    case Rejection::invalid_plan:
    case Rejection::too_many_files:
    case Rejection::invalid_resolution:
      return 400;
    case Rejection::booking_exists:
    case Rejection::booking_cancelled:
    case Rejection::booking_refunded:
    case Rejection::already_released:
    case Rejection::dispute_open:
    case Rejection::booking_expired:
    case Rejection::nothing_due:
    case Rejection::payment_not_due:
    case Rejection::nothing_held:
    case Rejection::proof_already_submitted:
    case Rejection::proof_required:
    case Rejection::already_approved:
    case Rejection::auto_confirm_disabled:
    case Rejection::auto_confirm_not_due:
    case Rejection::expiry_not_due:
    case Rejection::no_dispute:
    case Rejection::chargeback_open:
    case Rejection::chargeback_not_answerable:
    case Rejection::already_cancelled:
    case Rejection::proof_submitted:
    case Rejection::refund_not_retryable:
    case Rejection::payout_account_missing:
    case Rejection::currency_mismatch:
    case Rejection::insufficient_balance:
    case Rejection::payout_not_retryable:
    case Rejection::payout_not_awaiting_otp:
      return 409;
  }
  LEDGER_ASSERT(false, "every Rejection has an HTTP status");
}

HttpResponse rejection_response(Rejection rejection) {
  return error_response(rejection_status(rejection), rejection_code(rejection),
                        rejection_message(rejection));
}

// ---- query strings ---------------------------------------------------------------------------

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

HttpResponse invalid_query(std::string_view why) {
  return error_response(400, "invalid_query",
                        std::string("The query string is invalid: ") + std::string(why) + ".");
}
}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;  // truncated escape
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return std::nullopt;
      out.push_back(decoded);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '\0') {
      return std::nullopt;  // a raw NUL, refused as an escaped one is
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string_view> Query::get(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

HttpResult<Query> parse_query(std::string_view query) {
  if (query.size() > query_bytes_max) return invalid_query("it is too long");
  Query result;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2"
    if (result.params_.size() == query_params_max) return invalid_query("too many parameters");
    std::size_t eq = pair.find('=');
    std::optional<std::string> key = percent_decode(pair.substr(0, eq), true);
    std::optional<std::string> value =
        eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    if (!key || !value) return invalid_query("bad percent-encoding");
    result.params_.emplace_back(std::move(*key), std::move(*value));
  }
  return result;
}

}  // namespace escrow::api
