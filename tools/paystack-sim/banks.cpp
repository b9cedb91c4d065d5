// Banks, account resolution, the merchant balance and the fee tables of the simulator:
// GET /bank, GET /bank/resolve, GET /balance, charge_fee() and transfer_fee().
#include "banks.h"

#include <algorithm>
#include <array>

#include "envelope.h"
#include "state.h"
#include "util.h"

namespace paystack_sim {

namespace {

constexpr std::array<Bank, 15> kBanks = {{
    {1, "Access Bank", "access-bank", "044", "nuban", "NGN", "nigeria", "Nigeria", false},
    {7, "First Bank of Nigeria", "first-bank-of-nigeria", "011", "nuban", "NGN", "nigeria",
     "Nigeria", false},
    {9, "Guaranty Trust Bank", "guaranty-trust-bank", "058", "nuban", "NGN", "nigeria", "Nigeria",
     false},
    {18, "United Bank For Africa", "united-bank-for-africa", "033", "nuban", "NGN", "nigeria",
     "Nigeria", false},
    {20, "Wema Bank", "wema-bank", "035", "nuban", "NGN", "nigeria", "Nigeria", false},
    {21, "Zenith Bank", "zenith-bank", "057", "nuban", "NGN", "nigeria", "Nigeria", false},
    {67, "Kuda Bank", "kuda-bank", "50211", "nuban", "NGN", "nigeria", "Nigeria", false},
    {171, "Paycom", "paycom", "999992", "nuban", "NGN", "nigeria", "Nigeria", false},
    {28, "GCB Bank Limited", "gcb-bank-limited", "040", "ghipss", "GHS", "ghana", "Ghana", false},
    {29, "Ecobank Ghana", "ecobank-ghana", "130", "ghipss", "GHS", "ghana", "Ghana", false},
    {300, "MTN", "mtn-gh", "MTN", "mobile_money", "GHS", "ghana", "Ghana", false},
    {301, "Vodafone", "vod-gh", "VOD", "mobile_money", "GHS", "ghana", "Ghana", false},
    {302, "AirtelTigo", "atl-gh", "ATL", "mobile_money", "GHS", "ghana", "Ghana", false},
    {400, "Equity Bank Kenya", "equity-bank-kenya", "68", "kepss", "KES", "kenya", "Kenya", false},
    {500, "Absa Bank Limited, South Africa", "absa-za", "632005", "basa", "ZAR", "south africa",
     "South Africa", false},
}};

constexpr std::array<std::string_view, 8> kAccountNames = {
    "WES GIBBONS",  "TOLU ROBERT", "JEKANMO PADIE", "AMAKA OBI",
    "KWAME MENSAH", "ADA EZE",     "TUNDE BAKARE",  "CHIDI OKAFOR"};
constexpr std::string_view kBankTimestamp = "2020-12-07T16:19:09.000Z";
constexpr size_t kNubanLength = 10;

// Fees in subunits (FACTS 9.4; the NGN figures are the brief's, the rest are rough).
constexpr int64_t kNgnPercentMilli = 15;          // 1.5% as thousandths
constexpr int64_t kNgnFlatFee = 10'000;           // NGN 100
constexpr int64_t kNgnFlatWaivedBelow = 250'000;  // NGN 2,500
constexpr int64_t kNgnFeeCap = 200'000;           // NGN 2,000

void write_bank(JsonOut& out, const Bank& b) {
  out.begin_object().kstr("name", b.name).kstr("slug", b.slug).kstr("code", b.code);
  out.kstr("longcode", "").knull("gateway").kbool("pay_with_bank", b.pay_with_bank);
  out.kbool("supports_transfer", true).kbool("available_for_direct_debit", false);
  out.kbool("active", true).kbool("is_deleted", false).kstr("country", b.country_name);
  out.kstr("currency", b.currency).kstr("type", b.type).kuint("id", b.id);
  out.kstr("createdAt", kBankTimestamp).kstr("updatedAt", kBankTimestamp).end_object();
}

}  // namespace

std::span<const Bank> all_banks() {
  return kBanks;
}

const Bank* find_bank(std::string_view code, std::string_view currency) {
  for (const auto& b : kBanks)
    if (b.code == code && (currency.empty() || b.currency == currency)) return &b;
  return nullptr;
}

std::optional<std::string> resolve_account_name(std::string_view account_number) {
  if (account_number.size() != kNubanLength || !parse_uint(account_number)) return std::nullopt;
  size_t sum = 0;
  for (char c : account_number) sum += static_cast<size_t>(c - '0');
  return std::string(kAccountNames[sum % kAccountNames.size()]);
}

std::string_view currency_of_recipient_type(std::string_view type) {
  if (type == "nuban") return "NGN";
  if (type == "ghipss" || type == "mobile_money") return "GHS";
  if (type == "kepss" || type == "mobile_money_business") return "KES";
  if (type == "basa") return "ZAR";
  return "";
}

int64_t charge_fee(std::string_view currency, int64_t amount) {
  if (currency == "NGN") {
    // Round half up on the percentage, then the flat part, then the cap.
    int64_t fee = (amount * kNgnPercentMilli + 500) / 1000;
    if (amount >= kNgnFlatWaivedBelow) fee += kNgnFlatFee;
    return std::min(fee, kNgnFeeCap);
  }
  if (currency == "GHS") return (amount * 195 + 5000) / 10000;        // 1.95%
  if (currency == "KES") return (amount * 290 + 5000) / 10000;        // 2.9%
  if (currency == "ZAR") return (amount * 290 + 5000) / 10000 + 100;  // 2.9% + R1
  return (amount * 390 + 5000) / 10000 + 100;                         // USD: 3.9% + $1
}

int64_t transfer_fee(std::string_view currency, std::string_view recipient_type, int64_t amount) {
  if (currency == "NGN") {  // NGN 10 / 25 / 50 by band (FACTS 9.4, unconfirmed bands)
    if (amount <= 500'000) return 1'000;
    if (amount <= 5'000'000) return 2'500;
    return 5'000;
  }
  if (currency == "GHS") return recipient_type == "mobile_money" ? 100 : 800;
  if (currency == "KES") return amount <= 150'000 ? 2'000 : 6'000;
  if (currency == "ZAR") return 300;
  return 0;
}

// --- GET /bank, GET /bank/resolve, GET /balance -------------------------------------------

ApiResult SimState::list_banks(const Query& query) const {
  std::string_view country = query_value(query, "country");
  std::string_view currency = query_value(query, "currency");
  std::string_view type = query_value(query, "type");
  std::vector<const Bank*> matched;
  for (const auto& b : kBanks) {
    if (!country.empty() && b.country != country) continue;
    if (!currency.empty() && b.currency != currency) continue;
    if (!type.empty() && b.type != type) continue;
    matched.push_back(&b);
  }
  Page page = page_of(query);
  size_t offset = static_cast<size_t>((page.page - 1) * page.per_page);
  if (auto from_cursor = read_cursor(query_value(query, "next"), "bank")) offset = *from_cursor;
  size_t end = std::min(matched.size(), offset + static_cast<size_t>(page.per_page));
  return ok_list_result(
      "Banks retrieved",
      [&](JsonOut& out) {
        out.begin_array();
        for (size_t i = offset; i < end; ++i) write_bank(out, *matched[i]);
        out.end_array();
      },
      [&](JsonOut& out) {  // cursor meta, as the official sample shows
        out.begin_object();
        if (end < matched.size()) {
          out.kstr("next", make_cursor("bank", end));
        } else {
          out.knull("next");
        }
        out.knull("previous").kint("perPage", page.per_page).end_object();
      });
}

ApiResult SimState::resolve_account(const Query& query) const {
  std::string_view number = query_value(query, "account_number");
  std::string_view code = query_value(query, "bank_code");
  if (number.empty())
    return coded_error(400, "Account number is required", kNextStepRequired, "validation_error",
                       "missing_params");
  if (code.empty())
    return coded_error(400, "bank_code is required", kNextStepRequired, "validation_error",
                       "missing_params");
  if (!parse_uint(number)) return error_result(400, "Account number should be numeric");
  const Bank* bank = find_bank(code, "");
  if (!bank)
    return coded_error(400, "Unknown bank code: " + std::string(code), kNextStepValid,
                       "validation_error", "invalid_params");
  auto name = resolve_account_name(number);
  if (!name)
    return coded_error(422, "Could not resolve account name. Check parameters or try again.",
                       kNextStepValid, "validation_error", "invalid_bank_code");
  return ok_result(200, "Account number resolved", [&](JsonOut& out) {
    out.begin_object().kstr("account_number", number).kstr("account_name", *name);
    out.kuint("bank_id", bank->id).end_object();
  });
}

ApiResult SimState::fetch_balance() const {
  return ok_result(200, "Balances retrieved", [&](JsonOut& out) {
    out.begin_array();
    for (const auto& [currency, amount] : balance_)
      out.begin_object().kstr("currency", currency).kint("balance", amount).end_object();
    out.end_array();
  });
}

}  // namespace paystack_sim
