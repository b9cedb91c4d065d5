// Socket-free HTTP values for escrowd: the request a handler reads, the response it returns,
// and the helpers every handler shares (the error body, Rejection -> status, query strings,
// JSON bodies with limits, typed field readers).
//
// Handlers are plain functions from HttpRequest to HttpResponse (STYLE.md), so everything here
// is testable without a socket; the Beast session converts to and from these types at the edge.
// Errors that a client caused are returned as an HttpResponse (an HttpResult<T> holds either the
// value or the ready 4xx), never thrown. Thread-safety: plain values and pure functions.
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "ledger/decider.h"
#include "ledger/money.h"
#include "ledger/status.h"
#include "ledger/values.h"

namespace escrow::api {

// ---- limits (DESIGN section 5) ---------------------------------------------------------------

inline constexpr std::size_t json_body_bytes_max = 1024 * 1024;
inline constexpr int json_depth_max = 32;
inline constexpr std::size_t query_bytes_max = 4096;
inline constexpr std::size_t query_params_max = 64;

// ---- headers, request, response --------------------------------------------------------------

struct Header {
  std::string name;
  std::string value;
};

// An ordered header list with case-insensitive names (RFC 9110: field names are
// case-insensitive). Small by construction: the server bounds the header block it reads.
class Headers {
 public:
  Headers() = default;
  Headers(std::initializer_list<Header> headers) : headers_(headers) {}

  // The first value under `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  // Replaces every value under `name` with one value.
  void set(std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value);
  const std::vector<Header>& all() const { return headers_; }

 private:
  std::vector<Header> headers_;
};

struct IdempotencyHold;  // api/idempotency.h

struct HttpRequest {
  std::string method;  // "GET", "POST", ... (case-sensitive, as HTTP says)
  std::string target;  // origin-form: path, then optionally '?' and the query
  Headers headers;
  std::string body;
  std::string remote_address;  // peer IP, for logs and rate limits
  // Set by the pipeline while this request holds an Idempotency-Key claim: a command it runs
  // stores its response in the command's own transaction (handler_support.h).
  std::shared_ptr<const IdempotencyHold> idempotency;
  // Set by the server: runs work on the connection's own thread (its strand). A handler that
  // waited for a commit continues there, one thread switch instead of two; empty (tests calling
  // App::handle), it continues on the App's TaskPool.
  std::function<void(std::function<void()>)> resume_on;

  std::string_view path() const;   // target up to '?'
  std::string_view query() const;  // after '?', empty when there is none
};

struct HttpResponse {
  int status = 200;
  Headers headers;
  std::string body;
  // Never written: set by App::handle when the request's bearer token authenticated, so that
  // the server keeps that connection the longest when it is full (api/server.h).
  bool authenticated = false;
};

// A value, or the ready error response saying why there is none (ledger/status.h).
template <class T>
using HttpResult = Result<T, HttpResponse>;

// ---- responses -------------------------------------------------------------------------------

// `body` must already be JSON text; sets Content-Type: application/json.
HttpResponse json_response(int status, std::string body);
// Exactly {"error":{"code":"<code>","message":"<message>"}}, strings JSON-escaped.
HttpResponse error_response(int status, std::string_view code, std::string_view message);

// The HTTP status for a business refusal (DESIGN section 5): 404 for unknown things, 403 for
// not_allowed, 400 for invalid input, 409 for conflicts with the current state.
int rejection_status(Rejection rejection);
// error_response(rejection_status(r), rejection_code(r), rejection_message(r)).
HttpResponse rejection_response(Rejection rejection);

// ---- query strings ---------------------------------------------------------------------------

// Decodes %XX escapes (and '+' as a space when `plus_is_space`). Refuses a truncated or
// non-hex escape, and a NUL byte, escaped or raw. Used for query strings and path segments.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

class Query {
 public:
  // First value of `name`; a bare `name` (no '=') has the empty value.
  std::optional<std::string_view> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return params_; }

 private:
  friend HttpResult<Query> parse_query(std::string_view query);
  std::vector<std::pair<std::string, std::string>> params_;
};

// Parses application/x-www-form-urlencoded pairs; 400 `invalid_query` when the text is longer
// than query_bytes_max, holds more than query_params_max pairs, or has a bad escape.
HttpResult<Query> parse_query(std::string_view query);

// ---- JSON bodies -----------------------------------------------------------------------------

struct JsonLimits {
  std::size_t body_bytes_max = json_body_bytes_max;
  int depth_max = json_depth_max;
};

// Parses the request body as one JSON object. 415 `unsupported_media_type` unless the
// Content-Type is application/json (parameters such as charset allowed); 413 `body_too_large`
// beyond limits.body_bytes_max; 400 `invalid_json` for malformed JSON, invalid UTF-8 (also a
// lone surrogate escape), a number beyond the range of a double, trailing content, nesting
// deeper than limits.depth_max, a duplicate key, or a root that is not an object.
HttpResult<rapidjson::Document> parse_json_body(const HttpRequest& request,
                                                const JsonLimits& limits = {});

// Typed readers over a JSON object that remember the first error. After an error every
// further read returns a default value, so a handler reads all its fields and checks once:
//   BodyReader in(doc);
//   std::string reason = in.required_string("reason", 200);
//   if (!in.ok()) return in.error();
// Errors are 400 `invalid_field` with a message naming the field. `null` counts as absent.
class BodyReader {
 public:
  explicit BodyReader(const rapidjson::Value& object) : object_(object) {}

  std::string required_string(const char* field, std::size_t bytes_max);
  std::optional<std::string> optional_string(const char* field, std::size_t bytes_max);
  // JSON integers only: 1.0, 1e3 and "100" are refused; so is anything outside [min, max].
  int64_t required_int(const char* field, int64_t min, int64_t max);
  std::optional<int64_t> optional_int(const char* field, int64_t min, int64_t max);
  bool required_bool(const char* field);
  std::optional<bool> optional_bool(const char* field);
  // A string that must be one of `allowed`.
  std::string required_enum(const char* field, std::initializer_list<std::string_view> allowed);
  std::optional<std::string> optional_enum(const char* field,
                                           std::initializer_list<std::string_view> allowed);
  // The name of one of E's values (ledger/values.h): `allowed` is E's name table, in its order.
  template <NamedEnum E>
  E required_enum(const char* field) {
    std::vector<std::string_view> allowed;
    for (const EnumName<E>& entry : enum_names(E{})) allowed.emplace_back(entry.name);
    return parse_enum<E>(required_one_of(field, allowed)).value_or(E{});
  }
  // The code of one of `currencies` (ledger/money.h), listed in that order in the error.
  Currency required_currency(const char* field);

  bool ok() const { return !error_.has_value(); }
  const HttpResponse& error() const { return *error_; }

 private:
  const rapidjson::Value* find(const char* field);  // nullptr when absent, null or failed
  void fail(const char* field, std::string_view expectation);
  std::optional<std::string> optional_one_of(const char* field,
                                             std::span<const std::string_view> allowed);
  std::string required_one_of(const char* field, std::span<const std::string_view> allowed);

  const rapidjson::Value& object_;
  std::optional<HttpResponse> error_;
};

}  // namespace escrow::api
