// Admin payout and refund routes (DESIGN rules 5 and 9):
//   POST /admin/payouts/:id/finalize {otp}  for a transfer Paystack holds for an OTP. The payout
//       must be awaiting one (409 payout_not_awaiting_otp, 404 unknown_payout); Paystack's answer
//       is recorded with the admin as the actor. A code Paystack refuses is 400 `invalid_otp` and
//       records nothing, so the admin can type it again; Paystack not answering is 502 and records
//       nothing either (the outbox's pending check settles the payout if the finalize did reach
//       Paystack). The OTP never reaches a log.
//   POST /admin/payouts/:id/retry  pays a failed or reversed payout again: a new payout under a
//       new transfer reference (`retry_of` names the old one), taken from the provider's available
//       balance, where the failure put the money back; 201 with the new payout. 404
//       unknown_payout; 409 payout_not_retryable (not failed/reversed, or retried already),
//       insufficient_balance (the provider withdrew it meanwhile), payout_account_missing.
//   POST /admin/refunds/:id/retry  asks Paystack again for a failed refund: a new refund of the
//       same charge and amount under a new refund id; 201 with the new refund. 404 unknown_refund;
//       409 refund_not_retryable (not failed, or retried already).
// Both retries only record the new payout or refund; the outbox sends it (woken at once).
//   POST /admin/chargebacks/:id/respond {resolution: accept|decline, message, uploaded_filename?}
//       answers a Paystack chargeback (PUT /dispute/:id/resolve): accept gives the customer the
//       amount claimed (merchant-accepted); decline contests it with evidence already uploaded
//       through Paystack's dispute upload URL (`uploaded_filename`, required to decline). The
//       chargeback must await the merchant's answer (404 unknown_chargeback, 409
//       chargeback_not_answerable); Paystack refusing is 400 `paystack_refused` (the dispute as
//       Paystack has it is recorded), not answering 502 (nothing is recorded then). Else the answer
//       and the dispute as Paystack has it afterwards are recorded (an accepted one is resolved at
//       once) and the booking answered.
// Admins only (403 for every other role).
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "api/app.h"
#include "api/handler_support.h"
#include "paystack/client.h"
#include "service/chargebacks.h"
#include "service/log.h"
#include "service/outbox.h"

namespace escrow::api {
namespace {

// ---- POST /admin/payouts/:id/finalize --------------------------------------------------------

constexpr std::size_t otp_chars_min = 4;
constexpr std::size_t otp_chars_max = 12;

std::string payout_json(const service::FinalizeOutcome& out) {
  const PayoutRecord& p = *out.payout;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_field(w, "payout_id", p.payout_id);
  write_field(w, "provider_id", out.provider_id);
  write_field(w, "amount", p.amount.amount_minor);
  write_field(w, "currency", currency_code(p.amount.currency));
  write_field(w, "status", payout_status_name(p.status));
  write_field(w, "transfer_code", p.transfer_code);
  write_field(w, "reason", p.reason);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

HttpResponse finalize(Services& services, const HttpRequest& request,
                      const std::string& payout_id) {
  auto who = require(services, request, {Role::admin});
  if (!who.is_ok()) return std::move(who).error();
  auto body = parse_json_body(request);
  if (!body.is_ok()) return std::move(body).error();
  BodyReader in(body.value());
  std::string otp = in.required_string("otp", otp_chars_max);
  if (!in.ok()) return in.error();
  if (otp.size() < otp_chars_min ||
      !std::all_of(otp.begin(), otp.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return error_response(400, "invalid_field", "otp must be the digits Paystack sent.");
  }

  auto outcome =
      service::finalize_payout(services.service, payout_id, otp, context_for(who.value(), request));
  if (!outcome.is_ok()) return internal_error(outcome.status());
  const service::FinalizeOutcome& out = outcome.value();
  if (out.rejection) return rejection_response(*out.rejection);
  if (out.refused) {
    const paystack::ApiError& error = *out.refused;
    if (error.kind == paystack::ErrorKind::validation) {
      return error_response(400, "invalid_otp",
                            "Paystack refused the OTP: " + error.message + " Nothing changed.");
    }
    logging::warn("finalize: Paystack did not answer",
                  {{"payout_id", payout_id}, {"error", error.to_string()}});
    return error_response(502, "paystack_unavailable",
                          "Paystack did not answer; nothing was recorded. Retry later.");
  }
  return json_response(200, payout_json(out));
}

// ---- retries --------------------------------------------------------------------------------

template <class EventType>
const EventType* decided(const CommandResult& result) {
  for (const Event& e : result.states.events) {
    if (auto* found = std::get_if<EventType>(&e)) return found;
  }
  return nullptr;
}

// ---- POST /admin/payouts/:id/retry -----------------------------------------------------------

std::string retried_payout_json(const PayoutRequested& p) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_field(w, "payout_id", p.payout_id);
  write_field(w, "provider_id", p.provider_id);
  write_field(w, "reference", p.reference);
  write_optional(w, "retry_of", p.retry_of);
  write_optional(w, "booking_id", p.booking_id);
  write_optional(w, "withdrawal_id", p.withdrawal_id);
  write_field(w, "amount", p.amount.amount_minor);
  write_field(w, "currency", currency_code(p.amount.currency));
  write_field(w, "status", payout_status_name(PayoutStatus::queued));
  write_field(w, "attempt", p.attempt);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

HttpResponse retry_payout(Services& services, const HttpRequest& request,
                          const std::string& payout_id) {
  auto who = require(services, request, {Role::admin});
  if (!who.is_ok()) return std::move(who).error();
  auto provider = services.queries.payout_provider(payout_id);
  if (!provider.is_ok()) return internal_error(provider.status());
  if (!provider.value()) return rejection_response(Rejection::unknown_payout);

  // The shell fills `available` from the projections in the snapshot it decides on.
  RetryPayout command{payout_id, Money{}};
  CommandResult result =
      services.shell.execute(*provider.value(), command, context_for(who.value(), request));
  if (auto failed = command_failure(result)) return *failed;
  const PayoutRequested* payout = decided<PayoutRequested>(result);
  LEDGER_ASSERT(payout != nullptr, "an accepted payout retry queues a new payout");
  services.outbox.wake();
  return json_response(201, retried_payout_json(*payout));
}

// ---- POST /admin/refunds/:id/retry -----------------------------------------------------------

std::string retried_refund_json(const RefundRequested& r, std::string_view retry_of) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_field(w, "refund_id", r.refund_id);
  write_field(w, "booking_id", r.booking_id);
  write_field(w, "retry_of", retry_of);
  write_field(w, "payment_reference", r.payment_reference);
  write_field(w, "amount", r.amount.amount_minor);
  write_field(w, "currency", currency_code(r.amount.currency));
  write_field(w, "status", refund_status_name(RefundStatus::queued));
  write_field(w, "attempt", r.attempt);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

HttpResponse retry_refund(Services& services, const HttpRequest& request,
                          const std::string& refund_id) {
  auto who = require(services, request, {Role::admin});
  if (!who.is_ok()) return std::move(who).error();
  auto booking = services.queries.refund_booking(refund_id);
  if (!booking.is_ok()) return internal_error(booking.status());
  if (!booking.value()) return rejection_response(Rejection::unknown_refund);

  CommandResult result = services.shell.execute(*booking.value(), RetryRefund{refund_id},
                                                context_for(who.value(), request));
  if (auto failed = command_failure(result)) return *failed;
  const RefundRequested* refund = decided<RefundRequested>(result);
  LEDGER_ASSERT(refund != nullptr, "an accepted refund retry queues a new refund");
  services.outbox.wake();
  return json_response(201, retried_refund_json(*refund, refund_id));
}

// ---- POST /admin/chargebacks/:id/respond -----------------------------------------------------

constexpr std::size_t chargeback_message_chars_max = 2'000;
constexpr std::size_t uploaded_filename_chars_max = 200;

HttpResponse respond_to_chargeback(Services& services, const HttpRequest& request,
                                   const std::string& id_text) {
  auto who = require(services, request, {Role::admin});
  if (!who.is_ok()) return std::move(who).error();
  int64_t dispute_id = 0;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), dispute_id);
  if (ec != std::errc() || end != id_text.data() + id_text.size() || dispute_id <= 0)
    return rejection_response(Rejection::unknown_chargeback);
  auto body = parse_json_body(request);
  if (!body.is_ok()) return std::move(body).error();
  BodyReader in(body.value());
  std::string resolution = in.required_string("resolution", 16);
  std::string message = in.required_string("message", chargeback_message_chars_max);
  std::string uploaded_filename =
      in.optional_string("uploaded_filename", uploaded_filename_chars_max).value_or("");
  if (!in.ok()) return in.error();
  std::optional<ChargebackResponse> response = parse_enum<ChargebackResponse>(resolution);
  if (!response)
    return error_response(400, "invalid_field", "resolution must be accept or decline.");
  if (message.empty())
    return error_response(400, "invalid_field", "message must say why, for the bank to read.");
  if (*response == ChargebackResponse::decline && uploaded_filename.empty())
    return error_response(400, "invalid_field",
                          "Declining needs evidence: upload it through Paystack's dispute upload "
                          "URL and give its uploaded_filename.");

  auto outcome = service::answer_chargeback(services.service, dispute_id, *response, message,
                                            uploaded_filename, context_for(who.value(), request));
  if (!outcome.is_ok()) return internal_error(outcome.status());
  const service::ChargebackAnswer& out = outcome.value();
  if (out.rejection) return rejection_response(*out.rejection);
  if (out.refused) {
    const paystack::ApiError& error = *out.refused;
    if (error.kind == paystack::ErrorKind::validation ||
        error.kind == paystack::ErrorKind::not_found)
      return error_response(400, "paystack_refused",
                            "Paystack refused the answer: " + error.message +
                                " The chargeback shows what Paystack has now.");
    logging::warn("chargeback answer: Paystack did not answer",
                  {{"dispute_id", id_text}, {"error", error.to_string()}});
    return error_response(502, "paystack_unavailable",
                          "Paystack did not answer; look the dispute up before answering again.");
  }
  if (auto failed = command_failure(out.recorded)) return *failed;
  services.outbox.wake();
  return booking_response(services, 200, *out.recorded.states.booking);
}

}  // namespace

void add_admin_routes(Router& router, Services& services) {
  Services* s = &services;
  router.add(
      "POST", "/admin/payouts/:id/finalize",
      [s](const HttpRequest& r, const RouteParams& p) { return finalize(*s, r, p.get("id")); });
  router.add("POST", "/admin/payouts/:id/retry", [s](const HttpRequest& r, const RouteParams& p) {
    return retry_payout(*s, r, p.get("id"));
  });
  router.add("POST", "/admin/refunds/:id/retry", [s](const HttpRequest& r, const RouteParams& p) {
    return retry_refund(*s, r, p.get("id"));
  });
  router.add("POST", "/admin/chargebacks/:id/respond",
             [s](const HttpRequest& r, const RouteParams& p) {
               return respond_to_chargeback(*s, r, p.get("id"));
             });
}

}  // namespace escrow::api
