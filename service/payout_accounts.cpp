// Registering payout accounts at Paystack and in the ledger; see payout_accounts.h.
#include "service/payout_accounts.h"

namespace escrow::service {

namespace {

// Paystack's message with every occurrence of the account number masked.
std::string masked(std::string message, const std::string& account_number) {
  if (account_number.empty()) return message;
  for (size_t at = message.find(account_number); at != std::string::npos;
       at = message.find(account_number, at)) {
    message.replace(at, account_number.size(), "****");
  }
  return message;
}

}  // namespace

std::optional<std::string> recipient_type(Currency currency, std::string_view bank_code) {
  switch (currency) {
    case Currency::NGN:
      return "nuban";
    case Currency::GHS:
      if (bank_code == "MTN" || bank_code == "VOD" || bank_code == "ATL") return "mobile_money";
      return "ghipss";
    case Currency::KES:
      return "kepss";
    case Currency::ZAR:
      return "basa";
    case Currency::USD:
      return std::nullopt;  // Paystack pays out in NGN, GHS, KES and ZAR only
  }
  return std::nullopt;
}

Result<AccountRegistration> register_payout_account(const Context& ctx,
                                                    const std::string& provider_id,
                                                    const PayoutAccount& a,
                                                    const CommandContext& command) {
  AccountRegistration out;
  std::optional<std::string> type = recipient_type(a.currency, a.bank_code);
  LEDGER_ASSERT(type.has_value(), "register_payout_account needs a currency Paystack pays out in");
  paystack::CreateRecipientRequest recipient{*type, a.account_name, a.account_number, a.bank_code,
                                             a.currency};
  auto created = ctx.paystack.create_transfer_recipient(recipient);
  if (!created.is_ok()) {
    const paystack::ApiError& error = created.error();
    if (error.kind == paystack::ErrorKind::validation ||
        error.kind == paystack::ErrorKind::not_found) {
      out.invalid = masked(error.message, a.account_number);
    } else {
      out.paystack = error;
    }
    return out;
  }
  out.command =
      RegisterPayoutAccount{created->recipient_code, a.bank_code, a.account_name,
                            a.account_number.substr(a.account_number.size() - 4), a.currency};
  out.result = ctx.shell.execute(provider_id, out.command, command);
  return out;
}

}  // namespace escrow::service
