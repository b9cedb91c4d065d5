// Read routes over the projections and the log (DESIGN section 5):
//   GET /transactions?party_id=&cursor=&limit=   a party's money history, newest first, paged:
//       payments and refunds where the party is the booking's client, payouts and withdrawals
//       where it is the provider. The party itself (client or provider whose sub is party_id),
//       service, admin and auditor.
//   GET /events?after=SEQ&limit=N                 the global log in seq order (admin, auditor),
//       each event with its exact stored data and meta, so its hash can be recomputed.
//   GET /admin/disputes?status=open|resolved     disputes with their booking (admin), newest
//       first, paged.
//   GET /admin/payouts?status=&provider_id=      payouts across providers (admin, auditor),
//       newest first, paged: the ones waiting for an OTP, failed or reversed, by status.
//   GET /admin/refunds?status=                   refunds across bookings (admin, auditor),
//       newest first, paged: failed or needing attention, by status.
//   GET /admin/payments?status=                  Paystack transactions across bookings (admin,
//       auditor), newest first, paged: `flagged` lists payments of the wrong amount or currency,
//       recorded and never held.
//   GET /admin/revenue?from=&to=&currency=       per currency, what the platform earned (fees),
//       paid Paystack (processing fees) and lost to chargebacks, from the ledger entries of the
//       events recorded in [from, to) (ISO 8601; either may be left out) (admin, auditor).
//   GET /admin/chargebacks?status=               Paystack chargebacks (admin, auditor), newest
//       first, paged, by Paystack's status: with their booking, amount, due date, the admin's
//       answer, Paystack's resolution and where the money came from.
// Every list answers its rows under "data": the two paged lists with "next_cursor" (null on the
// last page), the log with "next_after" (the seq to pass as `after` next; `after` itself when the
// page is empty). Cursors are opaque (projections/page.h).
// Thread-safety: the queries lease their own read connections.
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "api/app.h"
#include "api/handler_support.h"
#include "api/views.h"
#include "ledger/time_format.h"

namespace escrow::api {

namespace {

constexpr int64_t events_page_default = 100;
constexpr int64_t events_page_max = 1000;
constexpr int64_t disputes_page_default = 200;
constexpr int64_t disputes_page_max = 1000;

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// ---- GET /transactions -----------------------------------------------------------------------

// Whose history the caller may read: a client or provider only their own, and only their side
// of it (client and provider ids are separate namespaces: a client never sees payouts made to a
// provider who happens to share their id, nor the reverse).
projections::PartySide transactions_side(Role role) {
  if (role == Role::client) return projections::PartySide::client;
  if (role == Role::provider) return projections::PartySide::provider;
  return projections::PartySide::both;
}

HttpResult<std::string> transactions_party(const Principal& who, const Query& query) {
  std::optional<std::string_view> party = query.get("party_id");
  bool is_party = who.role == Role::client || who.role == Role::provider;
  if (!party || party->empty()) {
    if (is_party) return who.sub;
    return error_response(400, "invalid_query", "party_id is required.");
  }
  if (is_party && *party != who.sub)
    return error_response(403, "not_allowed", "A party may read only its own transactions.");
  return std::string(*party);
}

HttpResponse list_transactions(Services& services, const HttpRequest& request) {
  auto who = require(services, request,
                     {Role::client, Role::provider, Role::service, Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  auto party = transactions_party(who.value(), query.value());
  if (!party.is_ok()) return party.error();
  auto page = page_request(query.value());
  if (!page.is_ok()) return page.error();
  auto rows = services.queries.transactions(party.value(), transactions_side(who.value().role),
                                            page.value());
  if (!rows.is_ok()) return internal_error(rows.status());
  return json_response(
      200, page_json(rows.value(), [](JsonWriter& w, const projections::TransactionRow& r) {
        w.StartObject();
        write_field(w, "kind", r.kind);
        write_optional(w, "booking_id", r.booking_id);
        write_field(w, "amount", r.amount.amount_minor);
        write_field(w, "currency", currency_code(r.amount.currency));
        write_field(w, "status", r.status);
        write_field(w, "reference", r.reference);
        write_time(w, "at", r.at_ms);
        write_time(w, "updated_at", r.updated_at_ms);
        w.EndObject();
      }));
}

// ---- GET /events -----------------------------------------------------------------------------

HttpResponse list_events(Services& services, const HttpRequest& request) {
  auto who = require(services, request, {Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  int64_t after = 0;
  if (auto text = query.value().get("after")) {
    std::optional<int64_t> parsed = parse_int(*text);
    if (!parsed || *parsed < 0)
      return error_response(400, "invalid_query", "after must be a non-negative integer.");
    after = *parsed;
  }
  auto page = page_query(query.value(), events_page_default, events_page_max);
  if (!page.is_ok()) return page.error();

  auto events = services.queries.events_after(after, page.value().limit);
  if (!events.is_ok()) return internal_error(events.status());

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "data");
  w.StartArray();
  int64_t next_after = after;
  for (const RecordedEvent& e : events.value()) {
    w.StartObject();
    write_field(w, "seq", e.seq);
    write_field(w, "stream", e.stream);
    write_field(w, "version", e.version);
    write_field(w, "type", e.type);
    // The stored text itself (a JSON object), byte for byte, so the hash can be recomputed.
    write_key(w, "data");
    w.RawValue(e.data.data(), e.data.size(), rapidjson::kObjectType);
    write_key(w, "meta");
    w.RawValue(e.meta.data(), e.meta.size(), rapidjson::kObjectType);
    write_time(w, "recorded_at", e.recorded_at_ms);
    write_field(w, "recorded_at_ms", e.recorded_at_ms);
    write_field(w, "prev_hash", e.prev_hash);
    write_field(w, "hash", e.hash);
    w.EndObject();
    next_after = e.seq;
  }
  w.EndArray();
  write_field(w, "next_after", next_after);
  w.EndObject();
  return json_response(200, buffer.GetString());
}

// ---- GET /admin/disputes ---------------------------------------------------------------------

void write_dispute(JsonWriter& w, const projections::DisputeRow& d) {
  bool resolved = d.resolved();
  auto when_resolved = [&](const auto& value) {
    return resolved ? std::optional(value) : std::nullopt;
  };
  w.StartObject();
  write_field(w, "booking_id", d.booking_id);
  write_field(w, "client_id", d.client_id);
  write_field(w, "provider_id", d.provider_id);
  write_field(w, "amount", d.amount.amount_minor);
  write_field(w, "currency", currency_code(d.amount.currency));
  write_field(w, "held", d.held_minor);
  write_field(w, "reason", d.reason);
  write_field(w, "description", d.description);
  write_field(w, "opened_by", d.opened_by);
  write_field(w, "opened_by_role", d.opened_by_role);
  write_field(w, "source", d.source);
  write_field(w, "status", d.status);
  // A dispute a Paystack chargeback closed has no admin outcome (its note names the chargeback).
  write_optional(w, "outcome", d.outcome.empty() ? std::nullopt : when_resolved(d.outcome));
  write_optional(w, "provider_amount", when_resolved(d.provider_amount_minor));
  write_optional(w, "refund_amount", when_resolved(d.refund_amount_minor));
  write_optional(w, "note", when_resolved(d.note));
  write_optional(w, "resolved_by", when_resolved(d.resolved_by));
  write_time(w, "opened_at", d.created_at_ms);
  write_time(w, "resolved_at", when_resolved(d.updated_at_ms));
  w.EndObject();
}

HttpResponse list_disputes(Services& services, const HttpRequest& request) {
  auto who = require(services, request, {Role::admin});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  std::optional<std::string_view> status = query.value().get("status");
  if (status && *status != "open" && *status != "resolved")
    return error_response(400, "invalid_query", "status must be open or resolved.");
  auto page = page_request(query.value(), disputes_page_default, disputes_page_max);
  if (!page.is_ok()) return page.error();
  std::optional<projections::DisputeStatus> wanted;
  if (status)
    wanted =
        *status == "open" ? projections::DisputeStatus::open : projections::DisputeStatus::resolved;
  auto rows = services.queries.disputes(wanted, page.value());
  if (!rows.is_ok()) return internal_error(rows.status());
  return json_response(200, page_json(rows.value(), write_dispute));
}

// ---- GET /admin/payouts, GET /admin/refunds ----------------------------------------------------

// The query's `status` when it names one of `Status`'s values (400 otherwise); none when absent.
template <class StatusEnum>
HttpResult<std::optional<std::string>> status_filter(const Query& query) {
  std::optional<std::string_view> status = query.get("status");
  if (!status) return std::optional<std::string>();
  if (!parse_enum<StatusEnum>(*status)) {
    std::string names;
    for (const auto& n : enum_names(StatusEnum{}))
      names += (names.empty() ? "" : ", ") + std::string(n.name);
    return error_response(400, "invalid_query", "status must be one of " + names + ".");
  }
  return std::optional<std::string>(std::string(*status));
}

HttpResponse list_payouts(Services& services, const HttpRequest& request) {
  auto who = require(services, request, {Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  auto status = status_filter<PayoutStatus>(query.value());
  if (!status.is_ok()) return status.error();
  std::optional<std::string> provider_id;
  if (auto p = query.value().get("provider_id")) provider_id = std::string(*p);
  auto page = page_request(query.value());
  if (!page.is_ok()) return page.error();
  auto rows = services.queries.payouts(status.value(), provider_id, page.value());
  if (!rows.is_ok()) return internal_error(rows.status());
  return json_response(200, page_json(rows.value(), write_payout_row));
}

void write_refund_row(JsonWriter& w, const projections::RefundRow& r) {
  w.StartObject();
  write_field(w, "refund_id", r.refund_id);
  write_field(w, "booking_id", r.booking_id);
  write_field(w, "client_id", r.client_id);
  write_field(w, "payment_reference", r.payment_reference);
  write_field(w, "amount", r.amount.amount_minor);
  write_field(w, "currency", currency_code(r.amount.currency));
  write_field(w, "status", r.status);
  write_field(w, "reason", r.reason);
  write_field(w, "failure_reason", r.failure_reason);
  write_field(w, "attempt", r.attempt);
  write_time(w, "created_at", r.created_at_ms);
  write_time(w, "updated_at", r.updated_at_ms);
  write_optional(
      w, "requested_by",
      r.requested_by.empty() ? std::nullopt : std::optional<std::string>(r.requested_by));
  w.EndObject();
}

void write_chargeback_row(JsonWriter& w, const projections::ChargebackRow& c) {
  auto name_or_null = [&](const char* key, const std::string& value) {
    write_key(w, key);
    if (value.empty())
      w.Null();
    else
      write_string(w, value);
  };
  w.StartObject();
  write_field(w, "id", c.dispute_id);
  write_field(w, "booking_id", c.booking_id);
  write_field(w, "client_id", c.client_id);
  write_field(w, "provider_id", c.provider_id);
  write_field(w, "payment_reference", c.payment_reference);
  write_field(w, "refund_amount", c.refund_amount.amount_minor);
  write_field(w, "currency", currency_code(c.refund_amount.currency));
  write_field(w, "status", c.status);
  name_or_null("resolution", c.resolution);
  write_time(w, "due_at", c.due_at_ms);
  name_or_null("response", c.response);
  write_field(w, "response_message", c.response_message);
  write_field(w, "answered_by", c.answered_by);
  write_field(w, "from_escrow", c.from_escrow);
  write_field(w, "from_provider", c.from_provider);
  write_field(w, "platform_loss", c.platform_loss);
  write_time(w, "created_at", c.created_at_ms);
  write_time(w, "updated_at", c.updated_at_ms);
  w.EndObject();
}

void write_payment_row(JsonWriter& w, const projections::PaymentRow& p) {
  w.StartObject();
  write_field(w, "reference", p.reference);
  write_field(w, "booking_id", p.booking_id);
  write_field(w, "installment", p.installment);
  write_field(w, "amount", p.amount.amount_minor);
  write_field(w, "currency", currency_code(p.amount.currency));
  write_field(w, "status", p.status);
  write_field(w, "paystack_transaction_id", p.paystack_transaction_id);
  write_field(w, "paystack_fee", p.paystack_fee);
  write_time(w, "created_at", p.created_at_ms);
  write_time(w, "updated_at", p.updated_at_ms);
  w.EndObject();
}

// An admin list across the ledger (admin and auditor): the query's `status` (one of
// StatusEnum's names) and page, then `fetch(status, page)` written row by row.
template <class StatusEnum, class Fetch, class WriteRow>
HttpResponse list_by_status(Services& services, const HttpRequest& request, Fetch fetch,
                            WriteRow write_row) {
  auto who = require(services, request, {Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  auto status = status_filter<StatusEnum>(query.value());
  if (!status.is_ok()) return status.error();
  auto page = page_request(query.value());
  if (!page.is_ok()) return page.error();
  auto rows = fetch(status.value(), page.value());
  if (!rows.is_ok()) return internal_error(rows.status());
  return json_response(200, page_json(rows.value(), write_row));
}

HttpResponse list_refunds(Services& services, const HttpRequest& request) {
  return list_by_status<RefundStatus>(
      services, request,
      [&](const auto& status, const auto& page) { return services.queries.refunds(status, page); },
      write_refund_row);
}

HttpResponse list_chargebacks(Services& services, const HttpRequest& request) {
  return list_by_status<ChargebackStatus>(
      services, request,
      [&](const auto& status, const auto& page) {
        return services.queries.chargebacks(status, page);
      },
      write_chargeback_row);
}

HttpResponse list_payments(Services& services, const HttpRequest& request) {
  return list_by_status<ChargeStatus>(
      services, request,
      [&](const auto& status, const auto& page) { return services.queries.payments(status, page); },
      write_payment_row);
}

HttpResponse revenue(Services& services, const HttpRequest& request) {
  auto who = require(services, request, {Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  auto from = time_param(query.value(), "from");
  if (!from.is_ok()) return from.error();
  auto to = time_param(query.value(), "to");
  if (!to.is_ok()) return to.error();
  if (from.value() && to.value() && *to.value() < *from.value())
    return error_response(400, "invalid_query", "to must not be before from.");
  std::optional<Currency> currency;
  if (auto code = query.value().get("currency")) {
    currency = parse_currency(*code);
    if (!currency)
      return error_response(400, "invalid_query",
                            "currency must be one of NGN, GHS, ZAR, KES, USD.");
  }
  auto rows = services.queries.revenue(from.value(), to.value(), currency);
  if (!rows.is_ok()) return internal_error(rows.status());
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_time(w, "from", from.value());
  write_time(w, "to", to.value());
  write_key(w, "data");
  w.StartArray();
  for (const projections::RevenueRow& r : rows.value()) {
    w.StartObject();
    write_field(w, "currency", currency_code(r.currency));
    write_field(w, "platform_fees", r.platform_fees);
    write_field(w, "paystack_fees", r.paystack_fees);
    write_field(w, "chargeback_losses", r.chargeback_losses);
    write_field(w, "net", r.platform_fees - r.paystack_fees - r.chargeback_losses);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return json_response(200, std::string(buffer.GetString(), buffer.GetSize()));
}

}  // namespace

void add_read_routes(Router& router, Services& services) {
  router.add("GET", "/admin/payouts", [&services](const HttpRequest& request, const RouteParams&) {
    return list_payouts(services, request);
  });
  router.add("GET", "/admin/refunds", [&services](const HttpRequest& request, const RouteParams&) {
    return list_refunds(services, request);
  });
  router.add("GET", "/admin/payments", [&services](const HttpRequest& request, const RouteParams&) {
    return list_payments(services, request);
  });
  router.add("GET", "/admin/revenue", [&services](const HttpRequest& request, const RouteParams&) {
    return revenue(services, request);
  });
  router.add("GET", "/admin/chargebacks",
             [&services](const HttpRequest& request, const RouteParams&) {
               return list_chargebacks(services, request);
             });
  router.add("GET", "/transactions", [&services](const HttpRequest& request, const RouteParams&) {
    return list_transactions(services, request);
  });
  router.add("GET", "/events", [&services](const HttpRequest& request, const RouteParams&) {
    return list_events(services, request);
  });
  router.add("GET", "/admin/disputes", [&services](const HttpRequest& request, const RouteParams&) {
    return list_disputes(services, request);
  });
}

}  // namespace escrow::api
