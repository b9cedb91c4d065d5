// What every route handler shares: who is asking (auth + role guard), how a command's outcome
// becomes a response, and small JSON writing helpers over RapidJSON's Writer.
//
//   auto who = require(services, request, {Role::client, Role::admin});
//   if (!who.is_ok()) return who.error();                      // 401 or 403
//   CommandResult r =
//       co_await commit(services, request, id, command, context_for(who.value(), request));
//   if (auto failed = command_failure(r)) co_return *failed;   // 409/404/403/400 or 500/503
//
// Thread-safety: pure functions over their arguments.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "api/app.h"
#include "api/auth.h"
#include "api/http.h"
#include "api/task.h"
#include "ledger/money.h"
#include "ledger/store/shell.h"
#include "projections/page.h"

namespace escrow::api {

// The request id the pipeline put in the request's X-Request-Id header (empty if none).
std::string request_id_of(const HttpRequest& request);

// Authenticates the bearer token (401) and checks the role is one of `roles` (403
// `not_allowed`). Object-level checks (is this client the booking's client?) stay in handlers.
HttpResult<Principal> require(const Services& services, const HttpRequest& request,
                              std::initializer_list<Role> roles);
HttpResult<Principal> require(const Services& services, const HttpRequest& request,
                              std::span<const Role> roles);

// Where a handler of `request` continues after a completion: the connection's thread
// (HttpRequest::resume_on), else services.tasks.
Post resume_for(Services& services, const HttpRequest& request);

// Runs a command without holding the thread while it waits for its commit (api/task.h):
//   CommandResult r = co_await commit(services, request, id, command, context);
// The handler continues where resume_for() says (or right away for a refusal decided at once).
Completion<CommandResult> commit(Services& services, const HttpRequest& request,
                                 std::string_view booking_id, BookingCommand command,
                                 CommandContext context);
Completion<CommandResult> commit(Services& services, const HttpRequest& request,
                                 std::string_view provider_id, ProviderCommand command,
                                 CommandContext context);

Actor actor_of(const Principal& principal);

// actor, X-Request-Id and Idempotency-Key of the request.
CommandContext context_for(const Principal& principal, const HttpRequest& request);

// The response of a command, rendered from the writer's connection and the states after it;
// nullopt when this command's outcome is not what the request answers (a request that runs
// several commands answers after one of them).
using Render = std::function<std::optional<HttpResponse>(sqlite::Db&, const StreamStates&)>;

// context_for(), and for a request holding an Idempotency-Key claim, a hook that renders the
// response inside the command's transaction and stores it there (api/idempotency.h): a crash
// between the commit and the answer then leaves that response to replay. `answered` receives
// it once the command committed; the handler returns it as it is, so the first answer and every
// replay are the same bytes. A render that is not 2xx rolls the command back (it only fails when
// the database does). A request without a claim gets context_for() and renders as usual.
//
//   std::optional<HttpResponse> answered;
//   auto context = answering_context(services, who, request, render, answered);
//   CommandResult r = services.shell.execute(id, command, context);
//   if (auto failed = command_failure(r)) return *failed;
//   if (answered) return std::move(*answered);
CommandContext answering_context(Services& services, const Principal& principal,
                                 const HttpRequest& request, Render render,
                                 std::optional<HttpResponse>& answered);

// nullopt when the command succeeded (or was a no-op); else the response to return: the
// rejection's 4xx, 409 `conflict` for a lost optimistic race, 503 `busy`/`unavailable` for
// operating errors (logged by the pipeline, never with secrets).
std::optional<HttpResponse> command_failure(const CommandResult& result);

// 500 `internal_error` (503 for busy / a failed store) for an unexpected Status from storage; the
// Status is logged for the operator and never sent to the caller.
HttpResponse internal_error(const Status& status);

struct BookingExtras;  // api/views.h

// What a booking's JSON shows beyond its state (payouts, creation time, milestones), and the
// booking as a response with `status`.
Result<BookingExtras> extras_of(Services& services, std::string_view id);
HttpResponse booking_response(Services& services, int status, const BookingState& state);

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

inline void write_string(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
inline void write_key(JsonWriter& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}
// "key": "value" / integer / null for an absent optional.
void write_field(JsonWriter& w, std::string_view key, std::string_view value);
void write_field(JsonWriter& w, std::string_view key, int64_t value);
void write_optional(JsonWriter& w, std::string_view key, const std::optional<std::string>& value);
void write_optional(JsonWriter& w, std::string_view key, const std::optional<int64_t>& value);
// An ISO 8601 UTC time, or null.
void write_time(JsonWriter& w, std::string_view key, std::optional<int64_t> ms);
// The JSON text `write` writes.
std::string json_text(const std::function<void(JsonWriter&)>& write);

// A paged list's body: `page.rows` under "data", each written by `write_row(w, row)`, then
// "next_cursor" (null on the last page).
template <class Row, class WriteRow>
std::string page_json(const projections::Page<Row>& page, WriteRow write_row) {
  return json_text([&](JsonWriter& w) {
    w.StartObject();
    write_key(w, "data");
    w.StartArray();
    for (const Row& row : page.rows) write_row(w, row);
    w.EndArray();
    write_optional(w, "next_cursor", page.next_cursor);
    w.EndObject();
  });
}

// Paging: `limit` (1..max, default `default_limit`) and an opaque `cursor` from the last page.
struct PageQuery {
  int64_t limit = 50;
  std::optional<std::string> cursor;
};
HttpResult<PageQuery> page_query(const Query& query, int64_t default_limit = 50,
                                 int64_t max_limit = 200);
// The same, with the cursor decoded (projections/page.h): 400 invalid_query "cursor is not one
// this service issued." for one it cannot decode.
// The query's `name` as an ISO 8601 time or date (unix ms); none when absent, 400 when malformed.
HttpResult<std::optional<int64_t>> time_param(const Query& query, const char* name);

HttpResult<projections::PageRequest> page_request(const Query& query, int64_t default_limit = 50,
                                                  int64_t max_limit = 200);

}  // namespace escrow::api
