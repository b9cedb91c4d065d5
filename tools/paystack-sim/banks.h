// The simulator's small, fixed list of banks (Nigerian NUBAN banks, Ghanaian banks and mobile
// money operators, one Kenyan and one South African bank) and the deterministic account-name
// resolution used by GET /bank/resolve and recipient creation. Thread-safety: immutable data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace paystack_sim {

struct Bank {
  uint64_t id;
  std::string_view name;
  std::string_view slug;
  std::string_view code;
  std::string_view type;  // nuban, ghipss, mobile_money, kepss, basa
  std::string_view currency;
  std::string_view country;  // as GET /bank?country= spells it: nigeria, ghana, ...
  std::string_view country_name;
  bool pay_with_bank;
};

std::span<const Bank> all_banks();
// The bank with this code, restricted to `currency` unless it is empty.
const Bank* find_bank(std::string_view code, std::string_view currency);
// The name a 10-digit account resolves to (deterministic); nullopt for anything else.
std::optional<std::string> resolve_account_name(std::string_view account_number);
// The currency a recipient type pays out in (nuban: NGN, ghipss and mobile_money: GHS, ...).
std::string_view currency_of_recipient_type(std::string_view type);

}  // namespace paystack_sim
