// The provider routes of DESIGN section 5: payout account, balance, withdrawals.
//
// PUT /providers/:id/payout-account creates the Paystack transfer recipient first (nuban for
// NGN; ghipss for Ghanaian banks and mobile_money for the MTN/VOD/ATL operators; kepss for KES;
// basa for ZAR) and then records RegisterPayoutAccount, which keeps only the last four digits of
// the account number. The number is never logged nor echoed back. Registering does not pay out
// money already waiting in the available balance: rule 5 lets it wait until the provider asks for
// it with a withdrawal, so a payout never starts without the provider acting; releases after the
// registration are paid out automatically.
//
// POST /providers/:id/withdrawals with an Idempotency-Key derives the withdrawal id from the key
// (withdrawal_id_for_key), so the same request run twice (a claim left by a crashed process is run
// again) answers 201 with the withdrawal already made, in its current state, and moves no money.
//
// A provider acts only on their own id (403 otherwise); service, admin and auditor read any.
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <string>

#include "api/app.h"
#include "api/auth.h"
#include "api/handler_support.h"
#include "api/views.h"
#include "paystack/client.h"
#include "service/log.h"
#include "service/outbox.h"
#include "service/payout_accounts.h"

namespace escrow::api {
namespace {

constexpr std::size_t bank_code_chars_max = 20;
constexpr std::size_t account_name_bytes_max = 100;
constexpr std::size_t account_number_chars_min = 6;
constexpr std::size_t account_number_chars_max = 20;
constexpr std::size_t nuban_chars = 10;  // Nigerian account numbers

const std::initializer_list<Role> readers = {Role::provider, Role::service, Role::admin,
                                             Role::auditor};

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool bank_code_valid(std::string_view s) {
  return !s.empty() && s.size() <= bank_code_chars_max &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
         });
}

HttpResponse invalid_field(std::string_view field, std::string_view expectation) {
  return error_response(400, "invalid_field",
                        std::string(field) + " must be " + std::string(expectation) + ".");
}

// Who may act on provider `id`: a provider only on themselves.
HttpResult<Principal> require_provider(Services& services, const HttpRequest& request,
                                       std::string_view id, std::initializer_list<Role> roles) {
  auto who = require(services, request, roles);
  if (!who.is_ok()) return who;
  if (id.empty() || id.size() > jwt_sub_bytes_max)
    return error_response(400, "invalid_path", "The provider id is not valid.");
  if (who.value().role == Role::provider && who.value().sub != id)
    return error_response(403, "not_allowed", "A provider may act only on their own account.");
  return who;
}

HttpResponse paystack_unavailable(const paystack::ApiError& error) {
  logging::warn("paystack call failed", {{"error", error.to_string()}});
  return error_response(502, "paystack_unavailable",
                        "Paystack did not answer; nothing was changed. Retry later.");
}

// ---- PUT /providers/:id/payout-account ---------------------------------------------------------

using AccountInput = service::PayoutAccount;

HttpResult<AccountInput> read_account(const HttpRequest& request) {
  auto body = parse_json_body(request);
  if (!body.is_ok()) return std::move(body).error();
  BodyReader in(body.value());
  AccountInput a;
  a.bank_code = in.required_string("bank_code", bank_code_chars_max);
  a.account_number = in.required_string("account_number", account_number_chars_max);
  a.account_name = in.required_string("account_name", account_name_bytes_max);
  a.currency = in.required_currency("currency");
  if (!in.ok()) return in.error();
  if (!bank_code_valid(a.bank_code)) return invalid_field("bank_code", "a Paystack bank code");
  bool nuban = a.currency == Currency::NGN;
  if (!all_digits(a.account_number) ||
      (nuban ? a.account_number.size() != nuban_chars
             : a.account_number.size() < account_number_chars_min)) {
    return invalid_field("account_number", nuban ? "10 digits (a NUBAN)" : "6 to 20 digits");
  }
  if (a.account_name.find_first_not_of(" \t") == std::string::npos)
    return invalid_field("account_name", "a non-empty name");
  if (!service::recipient_type(a.currency, a.bank_code))
    return error_response(400, "unsupported_currency",
                          "Payouts are possible in NGN, GHS, KES and ZAR only.");
  return a;
}

HttpResponse put_payout_account(Services& services, const HttpRequest& request,
                                const std::string& id) {
  auto who = require_provider(services, request, id, {Role::provider, Role::service});
  if (!who.is_ok()) return std::move(who).error();
  auto input = read_account(request);
  if (!input.is_ok()) return std::move(input).error();
  const AccountInput& a = input.value();

  auto registered =
      service::register_payout_account(services.service, id, a, context_for(who.value(), request));
  if (!registered.is_ok()) return internal_error(registered.status());
  if (registered->invalid) {
    return error_response(400, "invalid_payout_account",
                          "Paystack refused the account: " + *registered->invalid);
  }
  if (registered->paystack) return paystack_unavailable(*registered->paystack);
  if (auto failed = command_failure(registered->result)) return *failed;
  const RegisterPayoutAccount& command = registered->command;

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_field(w, "provider_id", id);
  write_field(w, "recipient_code", command.recipient_code);
  write_field(w, "bank_code", command.bank_code);
  write_field(w, "account_name", command.account_name);
  write_field(w, "account_number_last4", command.account_number_last4);
  write_field(w, "currency", currency_code(command.currency));
  w.EndObject();
  return json_response(200, std::string(buffer.GetString(), buffer.GetSize()));
}

// ---- GET /providers/:id/balance --------------------------------------------------------------

HttpResponse get_balance(Services& services, const HttpRequest& request, const std::string& id) {
  auto who = require_provider(services, request, id, readers);
  if (!who.is_ok()) return std::move(who).error();
  auto balances = services.queries.provider_balances(id);
  if (!balances.is_ok()) return internal_error(balances.status());
  return json_response(200, json_text([&](JsonWriter& w) {
                         w.StartObject();
                         write_field(w, "provider_id", id);
                         write_key(w, "balances");
                         w.StartArray();
                         for (const projections::BalanceRow& b : balances.value()) {
                           w.StartObject();
                           write_field(w, "currency", currency_code(b.currency));
                           write_field(w, "available", b.available);
                           write_field(w, "pending_escrow", b.pending_escrow);
                           write_field(w, "in_flight", b.in_flight);
                           write_field(w, "total_earned", b.total_earned);
                           w.EndObject();
                         }
                         w.EndArray();
                         w.EndObject();
                       }));
}

// ---- POST /providers/:id/withdrawals ---------------------------------------------------------

Task<HttpResponse> post_withdrawal(Services& services, const HttpRequest& request,
                                   const std::string& id) {
  auto who = require_provider(services, request, id, {Role::provider});
  if (!who.is_ok()) co_return std::move(who).error();
  auto body = parse_json_body(request);
  if (!body.is_ok()) co_return std::move(body).error();
  BodyReader in(body.value());
  int64_t amount = in.required_int("amount", 1, amount_minor_max);
  Currency currency = in.required_currency("currency");
  if (!in.ok()) co_return in.error();

  // The shell fills `available` from the projections in the snapshot it decides on. The
  // Idempotency-Key, when sent, names the withdrawal: a request run again after a crash (the
  // idempotency store re-runs a claim its dead process left) finds it instead of withdrawing twice.
  CommandContext context = context_for(who.value(), request);
  RequestWithdrawal command{Money{amount, currency}, Money{0, currency}, context.idempotency_key};
  CommandResult result = co_await commit(services, request, id, command, context);
  if (auto failed = command_failure(result)) co_return *failed;
  const PayoutRecord* payout = nullptr;
  if (result.events.empty()) {  // the keyed withdrawal was requested before
    LEDGER_ASSERT(command.request_key && result.states.provider,
                  "only a keyed withdrawal is a no-op");
    std::string withdrawal_id = withdrawal_id_for_key(id, *command.request_key);
    for (const PayoutRecord& p : result.states.provider->payouts) {
      if (p.withdrawal_id == withdrawal_id) payout = &p;  // the latest attempt (retries share it)
    }
  } else {
    const PayoutRequested* requested = nullptr;
    for (const Event& e : result.states.events) {
      if (auto* p = std::get_if<PayoutRequested>(&e)) requested = p;
    }
    LEDGER_ASSERT(requested && result.states.provider, "an accepted withdrawal queues its payout");
    payout = result.states.provider->find_payout(requested->payout_id);
    services.outbox.wake();
  }
  LEDGER_ASSERT(payout && payout->withdrawal_id, "a withdrawal has its payout");

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_field(w, "withdrawal_id", *payout->withdrawal_id);
  write_field(w, "payout_id", payout->payout_id);
  write_field(w, "amount", payout->amount.amount_minor);
  write_field(w, "currency", currency_code(payout->amount.currency));
  write_field(w, "status", payout_status_name(payout->status));
  w.EndObject();
  co_return json_response(201, std::string(buffer.GetString(), buffer.GetSize()));
}

// ---- GET /providers/:id/withdrawals ----------------------------------------------------------

HttpResponse list_withdrawals(Services& services, const HttpRequest& request,
                              const std::string& id) {
  auto who = require_provider(services, request, id, readers);
  if (!who.is_ok()) return std::move(who).error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return std::move(query).error();
  auto page = page_request(query.value());
  if (!page.is_ok()) return std::move(page).error();
  auto payouts = services.queries.provider_payouts(id, page.value());
  if (!payouts.is_ok()) return internal_error(payouts.status());
  return json_response(200, page_json(payouts.value(), write_payout_row));
}

}  // namespace

void add_provider_routes(Router& router, Services& services) {
  Services* s = &services;
  router.add("PUT", "/providers/:id/payout-account",
             [s](const HttpRequest& r, const RouteParams& p) {
               return put_payout_account(*s, r, p.get("id"));
             });
  router.add("GET", "/providers/:id/balance", [s](const HttpRequest& r, const RouteParams& p) {
    return get_balance(*s, r, p.get("id"));
  });
  router.add_async(
      "POST", "/providers/:id/withdrawals",
      [s](const HttpRequest& r, const RouteParams& p) {
        return post_withdrawal(*s, r, p.get("id"));
      },
      /*only_waits_on_commit=*/true);
  router.add("GET", "/providers/:id/withdrawals", [s](const HttpRequest& r, const RouteParams& p) {
    return list_withdrawals(*s, r, p.get("id"));
  });
}

}  // namespace escrow::api
