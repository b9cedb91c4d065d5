// Registering a provider's payout account (PUT /providers/:id/payout-account, DESIGN rule 10):
// Paystack creates the transfer recipient first, then RegisterPayoutAccount records its code with
// the bank, the name and the last four digits of the account number (never the whole number).
// Paystack's refusals are returned with the account number masked, so it reaches no log and no
// answer. Thread-safety: as CommandShell and paystack::Client.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ledger/money.h"
#include "ledger/store/shell.h"
#include "paystack/client.h"
#include "service/context.h"

namespace escrow::service {

struct PayoutAccount {
  std::string bank_code, account_number, account_name;
  Currency currency = Currency::NGN;
};

// Paystack's recipient type for an account in `currency` at `bank_code` (FACTS section 5.1);
// nullopt for a currency Paystack pays out in no way (USD).
std::optional<std::string> recipient_type(Currency currency, std::string_view bank_code);

struct AccountRegistration {
  std::optional<std::string> invalid;          // Paystack refused the account: why (masked)
  std::optional<paystack::ApiError> paystack;  // Paystack did not answer: nothing was changed
  RegisterPayoutAccount command;               // what was recorded
  CommandResult result;                        // of RegisterPayoutAccount, when it ran
};

// Not ok only for a storage error (in result.status too). The account's currency must have a
// recipient_type().
Result<AccountRegistration> register_payout_account(const Context& context,
                                                    const std::string& provider_id,
                                                    const PayoutAccount& account,
                                                    const CommandContext& command);

}  // namespace escrow::service
