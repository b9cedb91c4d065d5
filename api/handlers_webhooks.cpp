// Paystack webhooks over HTTP: the receiving endpoint and the admin routes over the deliveries
// (what each does is in service/webhooks.h, beside the processing it feeds).

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "api/app.h"
#include "api/handler_support.h"
#include "ledger/time_format.h"
#include "paystack/webhook.h"
#include "projections/webhook_log.h"
#include "service/log.h"
#include "service/webhooks.h"

namespace escrow::api {

using service::WebhookProcessor;

namespace {

constexpr int64_t list_limit_default = 50;
constexpr int64_t list_limit_max = 200;
constexpr int64_t list_page_max = 1'000'000;

// Paystack's addresses as configured; an IPv4 peer may reach a dual-stack socket as ::ffff:a.b.c.d.
bool source_allowed(const Config& config, std::string_view address) {
  if (config.paystack_ips.empty()) return true;
  constexpr std::string_view mapped = "::ffff:";
  if (address.substr(0, mapped.size()) == mapped) address.remove_prefix(mapped.size());
  return std::find(config.paystack_ips.begin(), config.paystack_ips.end(), address) !=
         config.paystack_ips.end();
}

Task<HttpResponse> receive(Services& services, WebhookProcessor& processor,
                           const HttpRequest& request) {
  if (!source_allowed(services.config, request.remote_address)) {
    co_return error_response(403, "forbidden_source", "This address may not deliver webhooks.");
  }
  if (request.body.size() > paystack::webhook_body_bytes_max) {
    co_return error_response(413, "body_too_large", "A webhook body may be at most 1 MiB.");
  }
  std::string_view signature = request.headers.get("x-paystack-signature").value_or("");
  EventMeta meta;
  meta.actor_id = "paystack";
  meta.actor_role = Role::system;
  if (std::string id = request_id_of(request); !id.empty()) meta.request_id = id;
  Result<service::Reception> received = co_await completion<Result<service::Reception>>(
      resume_for(services, request), [&](Completion<Result<service::Reception>>::Done done) {
        service::receive_webhook(services.webhooks, processor, services.config.paystack_secret_key,
                                 request.body, signature, meta, request.remote_address,
                                 std::move(done));
      });
  if (!received.is_ok()) co_return internal_error(received.status());
  if (received->refused) {
    if (received->refused->kind == paystack::WebhookErrorKind::malformed) {
      co_return error_response(400, "invalid_payload", received->refused->message);
    }
    co_return error_response(401, "invalid_signature",
                             "The x-paystack-signature header is missing or wrong.");
  }
  const projections::DeliveryRecord* recorded = &received->record;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_field(w, "status", "accepted");
  write_field(w, "delivery_id", recorded->id);
  write_key(w, "duplicate");
  w.Bool(recorded->duplicate);
  w.EndObject();
  co_return json_response(200, buffer.GetString());
}

void write_delivery(JsonWriter& w, const projections::DeliveryRow& row) {
  w.StartObject();
  write_field(w, "id", row.id);
  write_field(w, "event", row.event);
  write_field(w, "reference", row.reference);
  write_field(w, "status", row.status);
  write_field(w, "attempts", static_cast<int64_t>(row.attempts));
  write_optional(
      w, "last_error",
      row.last_error.empty() ? std::nullopt : std::optional<std::string>(row.last_error));
  write_time(w, "received_at", row.received_at_ms);
  write_time(w, "updated_at", row.updated_at_ms);
  write_key(w, "payload");
  rapidjson::Document doc;
  doc.Parse(row.payload.data(), row.payload.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    w.RawValue(row.payload.data(), row.payload.size(), rapidjson::kObjectType);
  } else {
    write_string(w, row.payload);  // stored raw; only signed bodies are accepted, so rare
  }
  w.EndObject();
}

HttpResponse delivery_response(const projections::DeliveryRow& row) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  write_delivery(w, row);
  return json_response(200, buffer.GetString());
}

HttpResult<int64_t> delivery_id_param(const RouteParams& params) {
  const std::string& text = params.get("id");
  int64_t id = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size() || id < 1) {
    return error_response(404, "not_found", "No webhook delivery has this id.");
  }
  return id;
}

HttpResult<projections::DeliveryRow> load_delivery(Services& services, int64_t id) {
  auto row = services.queries.delivery(id);
  if (!row.is_ok()) return internal_error(row.status());
  if (!row.value()) return error_response(404, "not_found", "No webhook delivery has this id.");
  return std::move(*row.value());
}

HttpResponse get_delivery(Services& services, const HttpRequest& request,
                          const RouteParams& params) {
  auto who = require(services, request, {Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto id = delivery_id_param(params);
  if (!id.is_ok()) return id.error();
  auto row = load_delivery(services, id.value());
  if (!row.is_ok()) return row.error();
  return delivery_response(row.value());
}

HttpResponse retry_delivery(Services& services, WebhookProcessor& processor,
                            const HttpRequest& request, const RouteParams& params) {
  auto who = require(services, request, {Role::admin});
  if (!who.is_ok()) return who.error();
  auto id = delivery_id_param(params);
  if (!id.is_ok()) return id.error();
  auto before = load_delivery(services, id.value());
  if (!before.is_ok()) return before.error();
  // A processing failure is recorded on the delivery; the answer shows it.
  Status status = processor.process(id.value());
  if (status.code() == StatusCode::store_failed) return internal_error(status);
  auto after = load_delivery(services, id.value());
  if (!after.is_ok()) return after.error();
  return delivery_response(after.value());
}

}  // namespace

namespace {

// A query parameter as an integer in [min, max], or 400 naming it.
HttpResult<std::optional<int64_t>> int_param(const Query& query, const char* name, int64_t min,
                                             int64_t max) {
  auto text = query.get(name);
  if (!text) return std::optional<int64_t>();
  int64_t value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    return error_response(400, "invalid_query",
                          std::string(name) + " must be an integer from " + std::to_string(min) +
                              " to " + std::to_string(max) + ".");
  }
  return std::optional<int64_t>(value);
}

std::optional<std::string> text_param(const Query& query, const char* name) {
  auto text = query.get(name);
  if (!text || text->empty()) return std::nullopt;
  return std::string(*text);
}

// page (1-based), limit, event, processed (a status), reference, from, to.
HttpResult<projections::DeliveryFilter> delivery_filter(const Query& query, int64_t& page) {
  projections::DeliveryFilter filter;
  auto page_number = int_param(query, "page", 1, list_page_max);
  if (!page_number.is_ok()) return page_number.error();
  auto limit = int_param(query, "limit", 1, list_limit_max);
  if (!limit.is_ok()) return limit.error();
  auto from = time_param(query, "from");
  if (!from.is_ok()) return from.error();
  auto to = time_param(query, "to");
  if (!to.is_ok()) return to.error();
  page = page_number.value().value_or(1);
  filter.limit = limit.value().value_or(list_limit_default);
  filter.offset = (page - 1) * filter.limit;
  filter.from_ms = from.value();
  filter.to_ms = to.value();
  filter.event = text_param(query, "event");
  filter.reference = text_param(query, "reference");
  filter.status = text_param(query, "processed");
  if (filter.status && *filter.status != "processed" && *filter.status != "failed" &&
      *filter.status != "ignored" && *filter.status != "received") {
    return error_response(400, "invalid_query",
                          "processed must be one of processed, failed, ignored, received.");
  }
  return filter;
}

HttpResponse list_deliveries(Services& services, const HttpRequest& request) {
  auto who = require(services, request, {Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  int64_t page = 1;
  auto filter = delivery_filter(query.value(), page);
  if (!filter.is_ok()) return filter.error();
  auto found = services.queries.deliveries(filter.value());
  if (!found.is_ok()) return internal_error(found.status());
  const projections::DeliveryPage& result = found.value();
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "data");
  w.StartArray();
  for (const auto& row : result.rows) write_delivery(w, row);
  w.EndArray();
  write_field(w, "page", page);
  write_field(w, "limit", filter.value().limit);
  write_field(w, "total", result.total);
  write_key(w, "counts");
  w.StartObject();
  for (const auto& [status, count] : result.counts_by_status) write_field(w, status, count);
  w.EndObject();
  w.EndObject();
  return json_response(200, buffer.GetString());
}

}  // namespace

void add_webhook_routes(Router& router, Services& services, WebhookProcessor& processor) {
  router.add_async(
      "POST", "/webhooks/paystack",
      [&services, &processor](const HttpRequest& request, const RouteParams&) {
        return receive(services, processor, request);
      },
      /*only_waits_on_commit=*/true);
  router.add("GET", "/admin/webhook-events",
             [&services](const HttpRequest& request, const RouteParams&) {
               return list_deliveries(services, request);
             });
  router.add("GET", "/admin/webhook-events/:id",
             [&services](const HttpRequest& request, const RouteParams& params) {
               return get_delivery(services, request, params);
             });
  router.add("POST", "/admin/webhook-events/:id/retry",
             [&services, &processor](const HttpRequest& request, const RouteParams& params) {
               return retry_delivery(services, processor, request, params);
             });
}

}  // namespace escrow::api
