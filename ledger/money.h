// Money: an integer count of a currency's subunit (kobo, pesewas, cents) and its ISO code.
// Never a floating-point number. Fee and split arithmetic use a 128-bit intermediate and floor,
// and the parts always add up to the whole. Thread-safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace escrow {

enum class Currency : uint8_t { NGN, GHS, ZAR, KES, USD };

// Every supported currency, in declaration order: the one list that request validation, its
// error messages ("one of NGN, GHS, ZAR, KES, USD") and escrowctl name.
inline constexpr std::array<Currency, 5> currencies = {Currency::NGN, Currency::GHS, Currency::ZAR,
                                                       Currency::KES, Currency::USD};
inline constexpr int currency_count = static_cast<int>(currencies.size());

const char* currency_code(Currency currency);
std::optional<Currency> parse_currency(std::string_view code);
// Whether money in `currency` can leave through a Paystack transfer: a transfer recipient type
// exists for it (nuban, ghipss or mobile_money, kepss, basa; FACTS section 5.1). Bookings are taken
// only in these, so money taken in is never stranded (Paystack cannot transfer USD).
bool currency_pays_out(Currency currency);
// Paystack's smallest accepted transaction, in subunits (NGN 50, USD 2, GHS 0.10, ZAR 1, KES 3).
int64_t currency_minimum_minor(Currency currency);

// A sane upper bound on one amount: Paystack's transaction limit of 10,000,000 major units,
// in subunits. Keeps every sum of a booking's amounts far from int64 overflow.
inline constexpr int64_t amount_minor_max = 10'000'000LL * 100;

struct Money {
  int64_t amount_minor = 0;
  Currency currency = Currency::NGN;

  friend bool operator==(const Money&, const Money&) = default;
  std::string to_string() const;  // "NGN 1500.00", for messages and logs
};

inline constexpr int bps_max = 10'000;

// floor(amount * bps / 10000) with a 128-bit intermediate; bps in [0, 10000].
int64_t bps_part(int64_t amount_minor, int bps);

struct FeeSplit {
  Money fee;           // platform fee
  Money provider_net;  // gross - fee
};
FeeSplit split_fee(Money gross, int fee_bps);

}  // namespace escrow
