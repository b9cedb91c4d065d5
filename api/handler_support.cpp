// Shared handler helpers; see handler_support.h.
#include "api/handler_support.h"

#include <charconv>

#include "api/idempotency.h"
#include "api/views.h"
#include "ledger/time_format.h"
#include "service/log.h"

namespace escrow::api {

std::string request_id_of(const HttpRequest& request) {
  return std::string(request.headers.get("X-Request-Id").value_or(""));
}

HttpResult<Principal> require(const Services& services, const HttpRequest& request,
                              std::span<const Role> roles) {
  HttpResult<Principal> who = services.auth.authenticate(request, services.clock.now_ms());
  if (!who.is_ok()) return who;
  for (Role role : roles) {
    if (who.value().role == role) return who;
  }
  return error_response(403, "not_allowed", "This role may not use this route.");
}

HttpResult<Principal> require(const Services& services, const HttpRequest& request,
                              std::initializer_list<Role> roles) {
  return require(services, request, std::span<const Role>(roles.begin(), roles.size()));
}

Post resume_for(Services& services, const HttpRequest& request) {
  if (request.resume_on) return request.resume_on;
  return [&tasks = services.tasks](std::function<void()> work) { tasks.post(std::move(work)); };
}

Completion<CommandResult> commit(Services& services, const HttpRequest& request,
                                 std::string_view booking_id, BookingCommand command,
                                 CommandContext context) {
  return completion<CommandResult>(
      resume_for(services, request),
      [&services, id = std::string(booking_id), command = std::move(command),
       context = std::move(context)](Completion<CommandResult>::Done done) {
        services.shell.submit(id, command, context, std::move(done));
      });
}

Completion<CommandResult> commit(Services& services, const HttpRequest& request,
                                 std::string_view provider_id, ProviderCommand command,
                                 CommandContext context) {
  return completion<CommandResult>(
      resume_for(services, request),
      [&services, id = std::string(provider_id), command = std::move(command),
       context = std::move(context)](Completion<CommandResult>::Done done) {
        services.shell.submit(id, command, context, std::move(done));
      });
}

Actor actor_of(const Principal& principal) {
  return Actor{principal.sub, principal.role};
}

CommandContext context_for(const Principal& principal, const HttpRequest& request) {
  CommandContext context;
  context.actor = actor_of(principal);
  if (auto id = request.headers.get("X-Request-Id"); id && !id->empty()) {
    context.request_id = std::string(*id);
  }
  if (auto key = request.headers.get("Idempotency-Key"); key && !key->empty()) {
    context.idempotency_key = std::string(*key);
  }
  return context;
}

CommandContext answering_context(Services& services, const Principal& principal,
                                 const HttpRequest& request, Render render,
                                 std::optional<HttpResponse>& answered) {
  CommandContext context = context_for(principal, request);
  if (!request.idempotency) return context;
  const Clock& clock = services.clock;
  context.extra_hook = [hold = request.idempotency, render = std::move(render), &answered, &clock](
                           sqlite::Db& db, const StreamStates& after,
                           std::span<const RecordedEvent>) -> Status {
    std::optional<HttpResponse> response = render(db, after);
    if (!response) return Status::ok();
    if (response->status < 200 || response->status > 299)
      return Status(StatusCode::io_error, "the response could not be rendered in the command");
    Status stored = store_answer(db, *hold, *response, clock.now_ms());
    if (!stored.is_ok()) return stored;
    answered = std::move(response);  // an append re-decided after a conflict renders again
    return Status::ok();
  };
  return context;
}

HttpResponse internal_error(const Status& status) {
  // The Status names what failed (SQLite's message, a file path); it never holds a secret, and
  // it goes to the operator's log only, not to the caller.
  logging::error("operating error",
                 {{"code", status_code_name(status.code())}, {"detail", status.message()}});
  if (status.code() == StatusCode::busy) {
    HttpResponse response = error_response(503, "busy", "The service is busy; retry in a moment.");
    response.headers.set("Retry-After", "1");
    return response;
  }
  if (status.code() == StatusCode::store_failed) {
    return error_response(503, "unavailable",
                          "The service cannot record changes right now; an operator must act.");
  }
  return error_response(500, "internal_error", "An internal error occurred; it was logged.");
}

std::optional<HttpResponse> command_failure(const CommandResult& result) {
  if (!result.status.is_ok()) {
    if (result.status.code() == StatusCode::conflict) {
      return error_response(
          409, "conflict",
          "The booking or the provider's account changed while this request ran; retry it.");
    }
    return internal_error(result.status);
  }
  if (result.rejection) return rejection_response(*result.rejection);
  return std::nullopt;
}

void write_field(JsonWriter& w, std::string_view key, std::string_view value) {
  write_key(w, key);
  write_string(w, value);
}

void write_field(JsonWriter& w, std::string_view key, int64_t value) {
  write_key(w, key);
  w.Int64(value);
}

void write_optional(JsonWriter& w, std::string_view key, const std::optional<std::string>& value) {
  write_key(w, key);
  if (value) {
    write_string(w, *value);
  } else {
    w.Null();
  }
}

void write_optional(JsonWriter& w, std::string_view key, const std::optional<int64_t>& value) {
  write_key(w, key);
  if (value) {
    w.Int64(*value);
  } else {
    w.Null();
  }
}

void write_time(JsonWriter& w, std::string_view key, std::optional<int64_t> ms) {
  write_key(w, key);
  if (ms) {
    write_string(w, format_iso8601_ms(*ms));
  } else {
    w.Null();
  }
}

std::string json_text(const std::function<void(JsonWriter&)>& write) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  write(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

HttpResult<PageQuery> page_query(const Query& query, int64_t default_limit, int64_t max_limit) {
  PageQuery page;
  page.limit = default_limit;
  if (auto text = query.get("limit")) {
    int64_t limit = 0;
    auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (error != std::errc() || end != text->data() + text->size() || limit < 1 ||
        limit > max_limit) {
      return error_response(
          400, "invalid_query",
          "limit must be an integer from 1 to " + std::to_string(max_limit) + ".");
    }
    page.limit = limit;
  }
  if (auto cursor = query.get("cursor"); cursor && !cursor->empty()) {
    if (cursor->size() > 256) {
      return error_response(400, "invalid_query", "cursor is not one this service issued.");
    }
    page.cursor = std::string(*cursor);
  }
  return page;
}

HttpResult<projections::PageRequest> page_request(const Query& query, int64_t default_limit,
                                                  int64_t max_limit) {
  auto page = page_query(query, default_limit, max_limit);
  if (!page.is_ok()) return std::move(page).error();
  projections::PageRequest request{page.value().limit, std::nullopt};
  if (page.value().cursor) {
    request.after = projections::decode_cursor(*page.value().cursor);
    if (!request.after)
      return error_response(400, "invalid_query", "cursor is not one this service issued.");
  }
  return request;
}

Result<BookingExtras> extras_of(Services& services, std::string_view id) {
  auto outside = services.queries.booking_outside(id);
  if (!outside.is_ok()) return outside.status();
  return extras_from(std::move(outside).value());
}

HttpResponse booking_response(Services& services, int status, const BookingState& state) {
  auto extras = extras_of(services, state.terms.booking_id);
  if (!extras.is_ok()) return internal_error(extras.status());
  return json_response(status, booking_json(state, extras.value()));
}

HttpResult<std::optional<int64_t>> time_param(const Query& query, const char* name) {
  auto text = query.get(name);
  if (!text) return std::optional<int64_t>();
  auto ms = parse_iso8601_ms(*text);
  if (!ms) {
    return error_response(400, "invalid_query",
                          std::string(name) + " must be an ISO 8601 time or date.");
  }
  return std::optional<int64_t>(*ms);
}

}  // namespace escrow::api
