#include "ledger/postings.h"

#include "ledger/overloaded.h"

namespace escrow {

namespace {

void add(std::vector<Posting>& out, std::string from, std::string to, const Money& amount) {
  if (amount.amount_minor == 0) return;
  out.push_back(Posting{std::move(from), std::move(to), amount});
}

}  // namespace

std::string escrow_account(std::string_view booking_id) {
  return "escrow:" + std::string(booking_id);
}
std::string provider_available_account(std::string_view provider_id) {
  return "provider:" + std::string(provider_id) + ":available";
}
std::string provider_in_flight_account(std::string_view provider_id) {
  return "provider:" + std::string(provider_id) + ":in_flight";
}
std::string client_refund_account(std::string_view client_id) {
  return "client:" + std::string(client_id) + ":refund_in_flight";
}

bool account_is_non_negative(std::string_view account) {
  return account.starts_with("escrow:") || account.starts_with("provider:") ||
         account.starts_with("client:") || account == platform_fees_account;
}

bool may_overdraw(const Event& event, std::string_view debit_account) {
  return std::holds_alternative<ChargebackResolved>(event) &&
         debit_account.starts_with("provider:") && debit_account.ends_with(":available");
}

std::vector<Posting> postings_for(const Event& event) {
  std::vector<Posting> out;
  std::visit(
      Overloaded{
          [&](const PaymentCaptured& e) {
            add(out, paystack_clearing_account, escrow_account(e.booking_id), e.amount);
            add(out, paystack_fees_account, paystack_clearing_account, e.paystack_fee);
          },
          [&](const FundsReleased& e) {
            add(out, escrow_account(e.booking_id), provider_available_account(e.provider_id),
                e.provider_net);
            add(out, escrow_account(e.booking_id), platform_fees_account, e.fee);
          },
          [&](const DisputeResolved& e) {
            add(out, escrow_account(e.booking_id), provider_available_account(e.provider_id),
                e.provider_net);
            add(out, escrow_account(e.booking_id), platform_fees_account, e.fee);
          },
          [&](const RefundRequested& e) {
            add(out, escrow_account(e.booking_id), client_refund_account(e.client_id), e.amount);
          },
          [&](const RefundProcessed& e) {
            add(out, client_refund_account(e.client_id), paystack_clearing_account, e.amount);
          },
          [&](const RefundFailed& e) {
            add(out, client_refund_account(e.client_id), escrow_account(e.booking_id), e.amount);
          },
          [&](const ChargebackResolved& e) {
            // The card network took the money back from what Paystack holds for us.
            add(out, escrow_account(e.booking_id), paystack_clearing_account, e.from_escrow);
            add(out, provider_available_account(e.provider_id), paystack_clearing_account,
                e.from_provider);
            add(out, chargeback_losses_account, paystack_clearing_account, e.platform_loss);
          },
          [&](const PayoutRequested& e) {
            add(out, provider_available_account(e.provider_id),
                provider_in_flight_account(e.provider_id), e.amount);
          },
          [&](const PayoutSucceeded& e) {
            add(out, provider_in_flight_account(e.provider_id), paystack_clearing_account,
                e.amount);
          },
          [&](const PayoutFailed& e) {
            add(out, provider_in_flight_account(e.provider_id),
                provider_available_account(e.provider_id), e.amount);
          },
          [&](const PayoutReversed& e) {
            // After a success the money had left through clearing; it comes back that way.
            add(out,
                e.after_success ? std::string(paystack_clearing_account)
                                : provider_in_flight_account(e.provider_id),
                provider_available_account(e.provider_id), e.amount);
          },
          [&](const auto&) {},
      },
      event);
  return out;
}

}  // namespace escrow
