// The closed vocabularies that events and commands carry (roles, payment plans, dispute sources
// and outcomes, payout sources), each an enum with a table of names, and the lookups that work
// for every enum named this way.
//
// An enum E is named by an overload `std::span<const EnumName<E>> enum_names(E)`, found by
// argument-dependent lookup, whose table (ledger/names.cpp) lists every enumerator once, in
// declaration order; names_every_enumerator() checks that at compile time. enum_name(e) and
// parse_enum<E>(name) then work for every such enum: the JSON codec (json_codec.h) writes an enum
// field as its name and refuses a name it does not know, and the API reads request values
// through the same tables. The names are what the event log stores and hashes and what the API
// writes: a name never changes, and a new value goes at the end of its enum and of its table.
// Thread-safety: constants and pure functions.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

namespace escrow {

template <class E>
struct EnumName {
  E value;
  const char* name;
};

template <class E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  { enum_names(e) } -> std::convertible_to<std::span<const EnumName<E>>>;
};

// "unknown" for a value outside the enum, as a cast from a bad integer would make.
template <NamedEnum E>
const char* enum_name(E value) {
  std::span<const EnumName<E>> names = enum_names(value);
  auto index = static_cast<std::size_t>(value);
  return index < names.size() ? names[index].name : "unknown";
}

template <NamedEnum E>
std::optional<E> parse_enum(std::string_view name) {
  for (const EnumName<E>& entry : enum_names(E{})) {
    if (name == entry.name) return entry.value;
  }
  return std::nullopt;
}

// ---- the compile-time check of a name table ---------------------------------------------------

namespace names_detail {
// GCC and Clang spell a non-type template argument in __PRETTY_FUNCTION__ by its enumerator's
// name ("V = escrow::Role::admin") and a value no enumerator has as a cast ("V = (escrow::Role)6").
template <auto V>
constexpr bool is_enumerator() {
  std::string_view text = __PRETTY_FUNCTION__;
  std::size_t at = text.find("V = ");
  return at != std::string_view::npos && text.substr(at + 4, 1) != "(";
}
}  // namespace names_detail

// True when `table` holds the enumerators 0, 1, ... in order and no enumerator follows the last:
// every value has its name, and enum_name() may index the table by value. The enumerators must
// be consecutive from 0 (no `= N`), which the order check enforces for all but the last.
template <const auto& table>
constexpr bool names_every_enumerator() {
  using E = std::remove_cvref_t<decltype(table[0].value)>;
  constexpr std::size_t count = std::size(table);
  for (std::size_t i = 0; i < count; ++i) {
    if (static_cast<std::size_t>(table[i].value) != i) return false;
  }
  return names_detail::is_enumerator<static_cast<E>(count - 1)>() &&
         !names_detail::is_enumerator<static_cast<E>(count)>();
}

// ---- the vocabularies ---------------------------------------------------------------------------

// Who acts: the JWT role of a caller, or `system` for the service's own schedulers and workers.
// Events store it (CompletionConfirmed, DisputeOpened, BookingCancelled, EventMeta).
enum class Role { client, provider, admin, service, auditor, system };
std::span<const EnumName<Role>> enum_names(Role);
const char* role_name(Role role);
std::optional<Role> parse_role(std::string_view name);

// How a booking is paid: all at once, or a deposit and then the balance.
enum class PaymentPlan { full, split };
std::span<const EnumName<PaymentPlan>> enum_names(PaymentPlan);

// Who opened a dispute: a party to the booking, or Paystack reporting a chargeback.
enum class DisputeSource { party, chargeback };
std::span<const EnumName<DisputeSource>> enum_names(DisputeSource);

// An admin's decision on a dispute: all to the provider, all back to the client, or a split.
enum class ResolutionOutcome { release, refund, split };
std::span<const EnumName<ResolutionOutcome>> enum_names(ResolutionOutcome);

// A Paystack chargeback (dispute) as Paystack reports it (FACTS section 8.6), by Paystack's own
// words: awaiting-merchant-feedback, awaiting-bank-feedback, pending, resolved.
enum class ChargebackStatus {
  awaiting_merchant_feedback,
  awaiting_bank_feedback,
  pending,
  resolved
};
std::span<const EnumName<ChargebackStatus>> enum_names(ChargebackStatus);

// How a chargeback ended: for the customer (merchant-accepted, auto-accepted: the card network
// returned the money) or for the merchant (declined).
enum class ChargebackResolution { merchant_accepted, declined, auto_accepted };
std::span<const EnumName<ChargebackResolution>> enum_names(ChargebackResolution);

// An admin's answer to a chargeback at Paystack: accept it, or contest it with evidence.
enum class ChargebackResponse { accept, decline };
std::span<const EnumName<ChargebackResponse>> enum_names(ChargebackResponse);

// Why a payout was requested: a release paid straight out, a withdrawal, or a failed payout's
// retry.
enum class PayoutSource { release, withdrawal, retry };
std::span<const EnumName<PayoutSource>> enum_names(PayoutSource);

}  // namespace escrow
