// The provider aggregate: payout account, payouts (Paystack transfer attempts) and withdrawals,
// DESIGN section 4 rule 5. The provider's available balance is fetched by the shell and passed in
// the command; every decrease of it is an event of this stream, so the stream version guards it.
#include <algorithm>

#include "ledger/decider.h"
#include "ledger/hash.h"
#include "ledger/overloaded.h"

namespace escrow {

namespace {

bool is_self(std::string_view provider_id, const Actor& a) {
  return a.role == Role::provider && a.id == provider_id;
}
bool is_machine_or_admin(const Actor& a) {
  return a.role == Role::system || a.role == Role::service || a.role == Role::admin;
}

PayoutRequested new_payout(const ProviderState& s, std::string_view provider_id, Money amount,
                           PayoutSource source) {
  int number = static_cast<int>(s.payouts.size()) + 1;
  std::string reference = payout_reference(provider_id, number);
  return PayoutRequested{std::string(provider_id),
                         reference,
                         reference,
                         s.account->recipient_code,
                         amount,
                         source,
                         std::nullopt,
                         std::nullopt,
                         std::nullopt,
                         1};
}

Decision register_account(std::string_view id, const RegisterPayoutAccount& c, const Actor& a) {
  if (!(is_self(id, a) || is_machine_or_admin(a))) return Decision::reject(Rejection::not_allowed);
  return Decision{{PayoutAccountRegistered{std::string(id), c.recipient_code, c.bank_code,
                                           c.account_name, c.account_number_last4, c.currency}},
                  std::nullopt};
}

Decision pay_out_release(const ProviderState& s, std::string_view id, const PayOutRelease& c,
                         const Actor& a) {
  if (!is_machine_or_admin(a) && a.role != Role::client)
    return Decision::reject(Rejection::not_allowed);
  // This booking's release was paid out already: the same release decided again.
  bool paid = std::any_of(s.payouts.begin(), s.payouts.end(), [&](const PayoutRecord& p) {
    return p.source == PayoutSource::release && p.booking_id == c.booking_id;
  });
  if (paid) return {};
  // No account in this currency: the money waits in the available balance (rule 5).
  if (!s.account || s.account->currency != c.amount.currency || c.amount.amount_minor <= 0)
    return {};
  // Never more than the balance holds with the release in it (a debt is covered first).
  int64_t before = c.available.currency == c.amount.currency ? c.available.amount_minor : 0;
  int64_t payable = std::min(c.amount.amount_minor, before + c.amount.amount_minor);
  if (payable <= 0) return {};
  PayoutRequested p = new_payout(s, id, Money{payable, c.amount.currency}, PayoutSource::release);
  p.booking_id = c.booking_id;
  return Decision{{std::move(p)}, std::nullopt};
}

bool has_withdrawal(const ProviderState& s, std::string_view withdrawal_id) {
  return std::any_of(s.payouts.begin(), s.payouts.end(),
                     [&](const PayoutRecord& p) { return p.withdrawal_id == withdrawal_id; });
}

Decision withdraw(const ProviderState& s, std::string_view id, const RequestWithdrawal& c,
                  const Actor& a) {
  if (!is_self(id, a)) return Decision::reject(Rejection::not_allowed);
  std::string withdrawal_id = c.request_key ? withdrawal_id_for_key(id, *c.request_key)
                                            : withdrawal_id_for(id, s.withdrawals + 1);
  // The same request run again (its first run's answer was lost): already done.
  if (c.request_key && has_withdrawal(s, withdrawal_id)) return {};
  if (c.amount.amount_minor <= 0 || c.amount.amount_minor > amount_minor_max)
    return Decision::reject(Rejection::invalid_amount);
  if (!s.account) return Decision::reject(Rejection::payout_account_missing);
  if (s.account->currency != c.amount.currency || c.available.currency != c.amount.currency)
    return Decision::reject(Rejection::currency_mismatch);
  if (c.amount.amount_minor > c.available.amount_minor)
    return Decision::reject(Rejection::insufficient_balance);
  PayoutRequested p = new_payout(s, id, c.amount, PayoutSource::withdrawal);
  p.withdrawal_id = withdrawal_id;
  return Decision{{WithdrawalRequested{std::string(id), withdrawal_id, c.amount}, std::move(p)},
                  std::nullopt};
}

bool is_final(PayoutStatus status) {
  return status == PayoutStatus::failed || status == PayoutStatus::reversed;
}

Decision record_outcome(const ProviderState& s, std::string_view id, const RecordPayoutOutcome& c,
                        const Actor& a) {
  if (!is_machine_or_admin(a)) return Decision::reject(Rejection::not_allowed);
  const PayoutRecord* p = s.find_payout(c.payout_id);
  if (!p) return Decision::reject(Rejection::unknown_payout);
  std::string pid(id);
  // failed and reversed are final; success can still be reversed; repeats change nothing.
  if (is_final(p->status) || c.status == p->status) return {};
  switch (c.status) {
    case PayoutStatus::success:
      return Decision{{PayoutSucceeded{pid, p->payout_id, p->amount}}, std::nullopt};
    case PayoutStatus::failed:
      if (p->status == PayoutStatus::success) return {};  // a late failure after success
      return Decision{{PayoutFailed{pid, p->payout_id, c.reason, p->amount}}, std::nullopt};
    case PayoutStatus::reversed:
      return Decision{{PayoutReversed{pid, p->payout_id, c.reason, p->amount,
                                      p->status == PayoutStatus::success}},
                      std::nullopt};
    case PayoutStatus::otp:
      if (p->status == PayoutStatus::success) return {};
      return Decision{{PayoutAwaitingOtp{pid, p->payout_id, c.transfer_code}}, std::nullopt};
    case PayoutStatus::pending:
      if (p->status != PayoutStatus::queued && p->status != PayoutStatus::otp) return {};
      return Decision{{PayoutSent{pid, p->payout_id, c.transfer_code, c.paystack_transfer_id}},
                      std::nullopt};
    case PayoutStatus::queued:
      return {};
  }
  return {};
}

Decision retry(const ProviderState& s, std::string_view id, const RetryPayout& c, const Actor& a) {
  if (!(is_self(id, a) || is_machine_or_admin(a))) return Decision::reject(Rejection::not_allowed);
  const PayoutRecord* p = s.find_payout(c.payout_id);
  if (!p) return Decision::reject(Rejection::unknown_payout);
  if (!s.account) return Decision::reject(Rejection::payout_account_missing);
  if (!is_final(p->status) || p->retried) return Decision::reject(Rejection::payout_not_retryable);
  if (c.available.currency != p->amount.currency)
    return Decision::reject(Rejection::currency_mismatch);
  if (p->amount.amount_minor > c.available.amount_minor)
    return Decision::reject(Rejection::insufficient_balance);
  PayoutRequested next = new_payout(s, id, p->amount, PayoutSource::retry);
  next.booking_id = p->booking_id;
  next.withdrawal_id = p->withdrawal_id;
  next.retry_of = p->payout_id;
  next.attempt = p->attempt + 1;
  next.requested_by = a.id;
  return Decision{{std::move(next)}, std::nullopt};
}

PayoutRecord& known_payout(ProviderState& s, std::string_view payout_id) {
  auto* p = const_cast<PayoutRecord*>(s.find_payout(payout_id));
  LEDGER_ASSERT(p != nullptr, "event names a payout the provider does not have");
  return *p;
}

}  // namespace

std::string withdrawal_id_for_key(std::string_view provider_id, std::string_view request_key) {
  // Length-prefixed, so that no two (provider, key) pairs hash the same bytes.
  std::string bytes = std::to_string(provider_id.size()) + ":" + std::string(provider_id) +
                      std::string(request_key);
  return "wd-" + sha256_hex(bytes).substr(0, 16);
}

const PayoutRecord* ProviderState::find_payout(std::string_view payout_id) const {
  // Newest first: retries and outcomes concern recent payouts.
  for (auto it = payouts.rbegin(); it != payouts.rend(); ++it) {
    if (it->payout_id == payout_id) return &*it;
  }
  return nullptr;
}

Decision decide(const ProviderState& s, std::string_view provider_id,
                const ProviderCommand& command, const Actor& a) {
  return std::visit(
      Overloaded{
          [&](const RegisterPayoutAccount& c) { return register_account(provider_id, c, a); },
          [&](const PayOutRelease& c) { return pay_out_release(s, provider_id, c, a); },
          [&](const RequestWithdrawal& c) { return withdraw(s, provider_id, c, a); },
          [&](const RecordPayoutOutcome& c) { return record_outcome(s, provider_id, c, a); },
          [&](const RetryPayout& c) { return retry(s, provider_id, c, a); },
      },
      command);
}

std::optional<Rejection> check_finalize(const ProviderState& s, std::string_view payout_id) {
  const PayoutRecord* p = s.find_payout(payout_id);
  if (!p) return Rejection::unknown_payout;
  if (p->status != PayoutStatus::otp) return Rejection::payout_not_awaiting_otp;
  return std::nullopt;
}

void evolve(ProviderState& s, const Event& event) {
  std::visit(Overloaded{
                 [&](const PayoutAccountRegistered& e) {
                   s.provider_id = e.provider_id;
                   s.account = PayoutAccount{e.recipient_code, e.bank_code, e.account_name,
                                             e.account_number_last4, e.currency};
                 },
                 [&](const WithdrawalRequested& e) {
                   s.provider_id = e.provider_id;
                   ++s.withdrawals;
                 },
                 [&](const PayoutRequested& e) {
                   s.provider_id = e.provider_id;
                   if (e.retry_of) known_payout(s, *e.retry_of).retried = true;
                   s.payouts.push_back(PayoutRecord{
                       e.payout_id, e.reference, e.recipient_code, e.source, "", "", e.booking_id,
                       e.withdrawal_id, e.retry_of, e.amount, PayoutStatus::queued, e.attempt,
                       false, std::nullopt, e.requested_by.value_or("")});
                 },
                 [&](const PayoutSent& e) {
                   PayoutRecord& p = known_payout(s, e.payout_id);
                   p.status = PayoutStatus::pending;
                   p.transfer_code = e.transfer_code;
                   p.paystack_transfer_id = e.paystack_transfer_id;
                 },
                 [&](const PayoutAwaitingOtp& e) {
                   PayoutRecord& p = known_payout(s, e.payout_id);
                   p.status = PayoutStatus::otp;
                   if (!e.transfer_code.empty()) p.transfer_code = e.transfer_code;
                 },
                 [&](const PayoutSucceeded& e) {
                   known_payout(s, e.payout_id).status = PayoutStatus::success;
                 },
                 [&](const PayoutFailed& e) {
                   PayoutRecord& p = known_payout(s, e.payout_id);
                   p.status = PayoutStatus::failed;
                   p.reason = e.reason;
                 },
                 [&](const PayoutReversed& e) {
                   PayoutRecord& p = known_payout(s, e.payout_id);
                   p.status = PayoutStatus::reversed;
                   p.reason = e.reason;
                 },
                 [&](const auto&) { LEDGER_ASSERT(false, "booking event in a provider stream"); },
             },
             event);
  ++s.version;
}

}  // namespace escrow
