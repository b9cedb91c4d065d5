#include "paystack/api_error.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "ledger/text.h"
#include "paystack/json_lenient.h"

namespace escrow::paystack {

namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Message fragments, lower case, from FACTS sections 2.3, 5.2, 5.6, 6.4, 11.7 and [ERR].
constexpr std::array duplicate_transaction_messages = {
    std::string_view("duplicate transaction reference"),
    std::string_view("duplicate charge request for reference"),
};
constexpr std::array duplicate_transfer_messages = {
    std::string_view("reference already exists on a transfer"),
};
constexpr std::array insufficient_balance_messages = {
    std::string_view("balance is not enough"),  // "...to fulfil this request" (either spelling)
    std::string_view("insufficient balance"),   // refunds: "Insufficient balance to fulfill ..."
};
constexpr std::array invalid_key_messages = {
    std::string_view("invalid key"),
    std::string_view("no authorization header"),
    std::string_view("format is authorization bearer"),
};
// Whole messages only: "not found" alone also ends validation messages such as
// "Account details not found for this authorization".
constexpr std::array not_found_messages = {
    std::string_view("transaction reference not found"),
    std::string_view("transaction not found"),
    std::string_view("transfer not found"),
    std::string_view("refund not found"),
    std::string_view("recipient not found"),
};

template <size_t N>
bool any_fragment(const std::string& message, const std::array<std::string_view, N>& fragments) {
  return std::any_of(fragments.begin(), fragments.end(),
                     [&](std::string_view f) { return contains(message, f); });
}

template <size_t N>
bool any_whole(const std::string& message, const std::array<std::string_view, N>& messages) {
  std::string trimmed = message;
  while (!trimmed.empty() && (trimmed.back() == '.' || trimmed.back() == ' ')) trimmed.pop_back();
  return std::any_of(messages.begin(), messages.end(),
                     [&](std::string_view m) { return trimmed == m; });
}

// The kind named by the envelope's code or message, if any.
std::optional<ErrorKind> kind_from_envelope(const std::string& code, const std::string& message) {
  std::string text = ascii_lower(message);
  if (code == "duplicate_reference" || any_fragment(text, duplicate_transaction_messages))
    return ErrorKind::duplicate_transaction_reference;
  if (code == "duplicate_transfer_reference" || any_fragment(text, duplicate_transfer_messages))
    return ErrorKind::duplicate_transfer_reference;
  if (code == "insufficient_balance" || any_fragment(text, insufficient_balance_messages))
    return ErrorKind::insufficient_balance;
  if (code == "invalid_key" || any_fragment(text, invalid_key_messages))
    return ErrorKind::invalid_key;
  if (code == "transaction_not_found" || code == "not_found" || any_whole(text, not_found_messages))
    return ErrorKind::not_found;
  if (code == "rate_limited") return ErrorKind::rate_limited;
  return std::nullopt;
}

std::optional<int64_t> rate_limit_reset_s(const HttpResponse& response) {
  std::optional<std::string> value = response.header("x-ratelimit-reset");
  if (!value) return std::nullopt;
  rapidjson::Value text(
      rapidjson::StringRef(value->data(), static_cast<rapidjson::SizeType>(value->size())));
  std::optional<int64_t> seconds = lenient::int_of(&text);
  if (!seconds || *seconds < 0) return std::nullopt;
  return seconds;
}

// Fills message, code, type and next step from the body when it is an envelope.
bool read_envelope(const HttpResponse& response, ApiError& error) {
  rapidjson::Document doc;
  std::string parse_error;
  if (!lenient::parse_document(response.body, doc, parse_error) || !doc.IsObject()) return false;
  error.message = lenient::text_field(doc, "message");
  error.code = lenient::text_field(doc, "code");
  error.type = lenient::text_field(doc, "type");
  if (const rapidjson::Value* meta = lenient::member(doc, "meta")) {
    error.next_step =
        lenient::string_of(lenient::member_any(*meta, {"nextStep", "next_step"})).value_or("");
  }
  return lenient::member(doc, "status") != nullptr || !error.message.empty();
}

}  // namespace

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::duplicate_transaction_reference:
      return "duplicate_transaction_reference";
    case ErrorKind::duplicate_transfer_reference:
      return "duplicate_transfer_reference";
    case ErrorKind::insufficient_balance:
      return "insufficient_balance";
    case ErrorKind::invalid_key:
      return "invalid_key";
    case ErrorKind::not_found:
      return "not_found";
    case ErrorKind::validation:
      return "validation";
    case ErrorKind::rate_limited:
      return "rate_limited";
    case ErrorKind::unavailable:
      return "unavailable";
    case ErrorKind::unexpected:
      return "unexpected";
  }
  return "unexpected";
}

std::string ApiError::to_string() const {
  std::string out = error_kind_name(kind);
  std::string detail;
  if (http_status != 0) detail = "HTTP " + std::to_string(http_status);
  if (!code.empty()) detail += (detail.empty() ? "" : ", ") + std::string("code ") + code;
  if (attempts > 1) detail += (detail.empty() ? "" : ", ") + std::to_string(attempts) + " attempts";
  if (!detail.empty()) out += " (" + detail + ")";
  out += ": " + message;
  if (!next_step.empty()) out += " [next step: " + next_step + "]";
  return out;
}

Status ApiError::to_status() const {
  StatusCode code_out = StatusCode::invalid_argument;
  switch (kind) {
    case ErrorKind::not_found:
      code_out = StatusCode::not_found;
      break;
    case ErrorKind::duplicate_transaction_reference:
    case ErrorKind::duplicate_transfer_reference:
      code_out = StatusCode::conflict;
      break;
    case ErrorKind::rate_limited:
      code_out = StatusCode::busy;
      break;
    case ErrorKind::unavailable:
      code_out = StatusCode::io_error;
      break;
    case ErrorKind::unexpected:
      code_out = StatusCode::corrupt;
      break;
    default:
      break;
  }
  return Status(code_out, "paystack " + to_string());
}

ApiError classify_error(const HttpResponse& response) {
  ApiError error;
  error.http_status = response.status;
  bool enveloped = read_envelope(response, error);
  if (response.status == 429) {
    error.kind = ErrorKind::rate_limited;
    error.retry_after_s = rate_limit_reset_s(response);
  } else if (response.status >= 500 && response.status <= 599) {
    error.kind = ErrorKind::unavailable;
  } else if (std::optional<ErrorKind> kind = kind_from_envelope(error.code, error.message)) {
    error.kind = *kind;
  } else if (response.status == 401) {
    error.kind = ErrorKind::invalid_key;
  } else if (response.status == 404) {
    error.kind = ErrorKind::not_found;
  } else if ((response.status >= 400 && response.status <= 499) ||
             (enveloped && response.status >= 200 && response.status <= 299)) {
    error.kind = ErrorKind::validation;  // any other refusal, also a 2xx with `status: false`
  } else {
    error.kind = ErrorKind::unexpected;
  }
  if (error.message.empty()) {
    error.message =
        enveloped ? "no message"
                  : "HTTP " + std::to_string(response.status) + " without a Paystack envelope";
  }
  return error;
}

ApiError transport_error(const Status& status) {
  ApiError error;
  error.kind =
      status.code() == StatusCode::corrupt ? ErrorKind::unexpected : ErrorKind::unavailable;
  error.message = status.message();
  return error;
}

ApiError local_error(ErrorKind kind, std::string message) {
  ApiError error;
  error.kind = kind;
  error.message = std::move(message);
  error.attempts = 0;
  return error;
}

}  // namespace escrow::paystack
