// Double-entry postings: every money event as balanced transfers between accounts (DESIGN
// section 4). A posting moves `amount` from `debit_account` to `credit_account`; an account's
// balance is its credits minus its debits, so escrow, provider and refund accounts hold
// non-negative balances, `paystack:clearing` is negative by what Paystack holds for us, and the
// balances of every currency always sum to zero. Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "ledger/events.h"
#include "ledger/money.h"

namespace escrow {

struct Posting {
  std::string debit_account;
  std::string credit_account;
  Money amount;
};

// The postings of one event (empty for events that move no money). Zero amounts are omitted.
std::vector<Posting> postings_for(const Event& event);

std::string escrow_account(std::string_view booking_id);
std::string provider_available_account(std::string_view provider_id);
std::string provider_in_flight_account(std::string_view provider_id);
std::string client_refund_account(std::string_view client_id);
inline constexpr const char* paystack_clearing_account = "paystack:clearing";
inline constexpr const char* platform_fees_account = "platform:fees";
inline constexpr const char* paystack_fees_account = "platform:paystack_fees";
inline constexpr const char* chargeback_losses_account = "platform:chargeback_losses";

// Accounts whose balance may never be negative.
bool account_is_non_negative(std::string_view account);
// Whether `event` may leave `debit_account` below zero: only a chargeback after release, which
// debits the provider's available balance (rule 6b). Every other debit of an account that
// account_is_non_negative() names must leave it at zero or above.
bool may_overdraw(const Event& event, std::string_view debit_account);

}  // namespace escrow
