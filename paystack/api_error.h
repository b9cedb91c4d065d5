// What can go wrong in a Paystack call, as a closed set of cases callers act on.
//
// Paystack's error envelope is `{"status": false, "message": ..., "type"?, "code"?,
// "meta": {"nextStep"?}}` (shared/paystack/FACTS.md sections 1.5, 1.6, 11.7). `code` is often
// missing, so classify_error() uses it when present and falls back to the message text, then to
// the HTTP status. The raw facts (HTTP status, message, code, type, next step) are kept for logs.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "ledger/status.h"
#include "net/http_client.h"

namespace escrow::paystack {

// The generic HTTPS client (net/) under the names the Paystack client has always used for it.
using net::connect_timeout_ms_default;
using net::connections_max_default;
using net::HttpClient;
using net::HttpClientConfig;
using net::HttpMethod;
using net::HttpRequest;
using net::HttpResponse;
using net::HttpTransport;
using net::PooledTransport;
using net::request_timeout_ms_default;
using net::response_body_bytes_max_default;

enum class ErrorKind {
  duplicate_transaction_reference,  // initialize: the reference is taken (code duplicate_reference)
  duplicate_transfer_reference,     // initiate transfer: the reference is taken; look it up
  insufficient_balance,             // the Paystack balance cannot cover the transfer or refund
  invalid_key,                      // 401 or "Invalid key": the secret key is wrong or missing
  not_found,                        // 404, "Transaction reference not found", "Transfer not found"
  validation,                       // any other 4xx refusal (400, 422, ...), or refused locally
  rate_limited,                     // 429; retry_after_s from x-ratelimit-reset when sent
  unavailable,                      // 5xx, timeout, connection or TLS failure: outcome unknown
  unexpected,                       // a body we cannot read (not JSON, no envelope, missing fields)
};

const char* error_kind_name(ErrorKind kind);

struct ApiError {
  ErrorKind kind = ErrorKind::unexpected;
  int http_status = 0;    // 0 when no response arrived (network) or the call was refused locally
  std::string message;    // Paystack's message, or what went wrong on our side
  std::string code;       // Paystack's `code`, when sent
  std::string type;       // Paystack's `type` (api_error, validation_error, processor_error)
  std::string next_step;  // Paystack's meta.nextStep
  std::optional<int64_t> retry_after_s;  // x-ratelimit-reset of a 429
  int attempts = 1;                      // how many requests the call made

  // "validation (HTTP 400, code invalid_params): Email Address is required": for logs.
  std::string to_string() const;
  // For callers that speak Status: not_found -> not_found, duplicates -> conflict,
  // rate_limited -> busy, unavailable -> io_error, unexpected -> corrupt, others ->
  // invalid_argument.
  Status to_status() const;
};

// A value, or the ApiError explaining why there is none.
template <class T>
using ApiResult = Result<T, ApiError>;

// The error a non-success response stands for (any status other than 2xx with `status: true`).
// Order of precedence: 429, 5xx, then the envelope's code and message (duplicates, balance,
// key, not found), then 401 and 404, then validation for the remaining 4xx, unexpected for the
// rest.
ApiError classify_error(const HttpResponse& response);

// The error for a transport failure (HttpTransport::send returned a Status).
ApiError transport_error(const Status& status);

// An ApiError of kind `kind` raised on our side (http_status 0).
ApiError local_error(ErrorKind kind, std::string message);

}  // namespace escrow::paystack
