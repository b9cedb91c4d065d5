// Admin payout route: POST /admin/payouts/:id/finalize {otp} for a transfer Paystack holds for
// an OTP (DESIGN rule 5). The payout must be awaiting one (409 payout_not_awaiting_otp, 404
// unknown_payout); Paystack's answer is recorded with the admin as the actor. A code Paystack
// refuses is 400 `invalid_otp` and records nothing, so the admin can type it again; Paystack not
// answering is 502 and records nothing either (the outbox's pending check settles the payout if
// the finalize did reach Paystack). The OTP never reaches a log.
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <string>

#include "api/app.h"
#include "api/handler_support.h"
#include "api/log.h"
#include "api/outbox.h"
#include "paystack/client.h"

namespace escrow::api {
namespace {

constexpr std::size_t otp_chars_min = 4;
constexpr std::size_t otp_chars_max = 12;

std::string payout_json(const FinalizeOutcome& out) {
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

  OutboxDeps deps{services.clock, services.shell, services.reads, services.paystack};
  auto outcome = finalize_payout(deps, payout_id, otp, context_for(who.value(), request));
  if (!outcome.is_ok()) return internal_error(outcome.status());
  const FinalizeOutcome& out = outcome.value();
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

}  // namespace

void add_admin_routes(Router& router, Services& services) {
  Services* s = &services;
  router.add(
      "POST", "/admin/payouts/:id/finalize",
      [s](const HttpRequest& r, const RouteParams& p) { return finalize(*s, r, p.get("id")); });
}

}  // namespace escrow::api
