#include "ledger/money.h"

#include <cstdio>

#include "ledger/status.h"

namespace escrow {

namespace {
__extension__ typedef __int128 int128;  // GCC and Clang; the intermediate of bps arithmetic

struct CurrencyInfo {
  Currency currency;
  const char* code;
  int64_t minimum_minor;
};
constexpr CurrencyInfo currency_table[currency_count] = {
    {Currency::NGN, "NGN", 5000}, {Currency::GHS, "GHS", 10},  {Currency::ZAR, "ZAR", 100},
    {Currency::KES, "KES", 300},  {Currency::USD, "USD", 200},
};

// currency_code() indexes the table by value, and parse_currency() accepts what it lists.
constexpr bool table_follows_currencies() {
  for (int i = 0; i < currency_count; ++i) {
    if (currency_table[i].currency != currencies[i] || static_cast<int>(currencies[i]) != i)
      return false;
  }
  return true;
}
static_assert(table_follows_currencies());
}  // namespace

const char* currency_code(Currency currency) {
  return currency_table[static_cast<int>(currency)].code;
}

std::optional<Currency> parse_currency(std::string_view code) {
  for (const CurrencyInfo& info : currency_table) {
    if (code == info.code) return info.currency;
  }
  return std::nullopt;
}

int64_t currency_minimum_minor(Currency currency) {
  return currency_table[static_cast<int>(currency)].minimum_minor;
}

bool currency_pays_out(Currency currency) {
  return currency != Currency::USD;
}

std::string Money::to_string() const {
  char buffer[64];
  const char* sign = amount_minor < 0 ? "-" : "";
  uint64_t magnitude = amount_minor < 0 ? 0 - static_cast<uint64_t>(amount_minor)
                                        : static_cast<uint64_t>(amount_minor);
  std::snprintf(buffer, sizeof buffer, "%s %s%llu.%02llu", currency_code(currency), sign,
                static_cast<unsigned long long>(magnitude / 100),
                static_cast<unsigned long long>(magnitude % 100));
  return buffer;
}

int64_t bps_part(int64_t amount_minor, int bps) {
  LEDGER_ASSERT(amount_minor >= 0, "bps_part of a negative amount");
  LEDGER_ASSERT(bps >= 0 && bps <= bps_max, "basis points out of range");
  int128 product = static_cast<int128>(amount_minor) * bps;
  return static_cast<int64_t>(product / bps_max);
}

FeeSplit split_fee(Money gross, int fee_bps) {
  int64_t fee = bps_part(gross.amount_minor, fee_bps);
  FeeSplit split{Money{fee, gross.currency}, Money{gross.amount_minor - fee, gross.currency}};
  LEDGER_ASSERT(split.fee.amount_minor + split.provider_net.amount_minor == gross.amount_minor,
                "fee parts must add up to the gross");
  return split;
}

}  // namespace escrow
