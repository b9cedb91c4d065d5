// Test fixtures for the decider suites (decider_*_test.cpp): the cast (booking, client,
// provider, actors, clock), commands and events as literals, histories, given/when/then over
// ledger/decider.h and Books, a double-entry ledger fed with postings_for() that checks every
// debit (no non-negative account below zero, but what a chargeback may take).
//
// Contract: the constants and functions here are pure (functions of their arguments) and Books is
// a plain value; the then_* helpers and Books check with Catch2 assertions, so call them on the
// test's thread. Commands and events are written as aggregates that leave their trailing optional
// fields out: -Wmissing-field-initializers is off from here to the end of the including file.
// Brings namespace escrow into the including file, as the suites are written against it.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "ledger/decider.h"
#include "ledger/postings.h"

using namespace escrow;

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

// ---- the cast ----------------------------------------------------------------------------------

const std::string booking_id = "booking-42";
const std::string client_id = "client-1";
const std::string provider_id = "provider-1";

const Actor client{client_id, Role::client};
const Actor provider{provider_id, Role::provider};
const Actor admin{"admin-1", Role::admin};
const Actor marketplace{"marketplace", Role::service};
const Actor scheduler{"scheduler", Role::system};
const Actor auditor{"auditor-1", Role::auditor};
const Actor other_client{"client-2", Role::client};
const Actor other_provider{"provider-2", Role::provider};

constexpr int64_t t0 = 1'700'000'000'000;  // unix ms
constexpr int64_t three_days_s = 3 * 24 * 3600;
constexpr int64_t deadline = t0 + three_days_s * 1000;  // auto-confirm after proof at t0

inline Money ngn(int64_t minor) {
  return Money{minor, Currency::NGN};
}
inline Money usd(int64_t minor) {
  return Money{minor, Currency::USD};
}

inline std::string ref(int installment, int attempt = 1) {
  return payment_reference(booking_id, installment, attempt);
}
inline std::string refund_id(int number) {
  return refund_id_for(booking_id, number);
}
inline std::string payout_ref(int number) {
  return payout_reference(provider_id, number);
}
inline int64_t txn(int installment, int attempt = 1) {
  return 9000 + installment * 10 + attempt;
}

// ---- commands ----------------------------------------------------------------------------------

inline CreateBooking full_terms(int64_t amount = 100'000, int fee_bps = 500) {
  CreateBooking c;
  c.booking_id = booking_id;
  c.client_id = client_id;
  c.provider_id = provider_id;
  c.client_email = "ada@example.com";
  c.description = "Fix the sink";
  c.amount = ngn(amount);
  c.plan = PaymentPlan::full;
  c.fee_bps = fee_bps;
  c.auto_confirm_after_s = three_days_s;
  return c;
}

inline CreateBooking split_terms(int deposit_bps = 3000, int64_t amount = 100'000) {
  CreateBooking c = full_terms(amount);
  c.plan = PaymentPlan::split;
  c.deposit_bps = deposit_bps;
  return c;
}

inline CapturePayment capture_of(int installment, Money amount, int attempt = 1) {
  CapturePayment c;
  c.reference = ref(installment, attempt);
  c.amount = amount;
  c.paystack_transaction_id = txn(installment, attempt);
  c.paystack_fee = ngn(150);
  c.channel = "card";
  c.paid_at_ms = t0;
  c.source = "webhook";
  return c;
}

// ---- events ------------------------------------------------------------------------------------

inline BookingCreated booked_full(int64_t amount = 100'000, int fee_bps = 500,
                                  int64_t auto_confirm_after_s = three_days_s) {
  return BookingCreated{
      booking_id,   client_id,         provider_id, "ada@example.com", "Fix the sink",
      ngn(amount),  PaymentPlan::full, 0,           fee_bps,           auto_confirm_after_s,
      std::nullopt, {ngn(amount)}};
}

// 100,000 kobo with a 30% deposit: 30,000 then 70,000.
inline BookingCreated booked_split() {
  return BookingCreated{booking_id,         client_id,      provider_id,
                        "ada@example.com",  "Fix the sink", ngn(100'000),
                        PaymentPlan::split, 3000,           500,
                        three_days_s,       std::nullopt,   {ngn(30'000), ngn(70'000)}};
}

inline PaymentInitiated initiated(int installment, int64_t amount, int attempt = 1) {
  return PaymentInitiated{booking_id,  ref(installment, attempt),         installment,
                          ngn(amount), "https://checkout.paystack.com/x", "x"};
}

inline PaymentCaptured captured(int installment, int64_t amount, int attempt = 1) {
  return PaymentCaptured{booking_id,
                         ref(installment, attempt),
                         installment,
                         ngn(amount),
                         txn(installment, attempt),
                         ngn(150),
                         "card",
                         t0,
                         "webhook"};
}

inline ProofSubmitted proof_submitted(std::optional<int64_t> auto_confirm_at = deadline) {
  return ProofSubmitted{booking_id, "done, photos attached", {}, {}, auto_confirm_at};
}

inline CompletionConfirmed client_approved() {
  return CompletionConfirmed{booking_id, client_id, Role::client, true};
}

inline DisputeOpened dispute_by_client(std::optional<int64_t> remaining_ms = std::nullopt) {
  return DisputeOpened{
      booking_id,           client_id,    Role::client, "not_done", "the sink still leaks",
      DisputeSource::party, std::nullopt, remaining_ms};
}

inline BookingCancelled cancelled_by_client(int64_t refund) {
  return BookingCancelled{booking_id, client_id, Role::client, "changed my mind", ngn(refund)};
}

inline RefundRequested refund_requested(int number, int installment, int64_t amount,
                                        std::string reason = "cancellation", int attempt = 1,
                                        int payment_attempt = 1) {
  return RefundRequested{booking_id,
                         refund_id(number),
                         client_id,
                         ref(installment, payment_attempt),
                         txn(installment, payment_attempt),
                         ngn(amount),
                         std::move(reason),
                         attempt};
}

inline RefundFailed refund_failed(int number, int64_t amount) {
  return RefundFailed{booking_id, refund_id(number), client_id, ngn(amount), "bank rejected"};
}

inline PayoutAccountRegistered account_registered(Currency currency = Currency::NGN) {
  return PayoutAccountRegistered{provider_id, "RCP_abc", "058", "Ada Obi", "6789", currency};
}

inline PayoutRequested payout_requested(int number, int64_t amount,
                                        PayoutSource source = PayoutSource::release,
                                        int attempt = 1, std::optional<std::string> retry_of = {}) {
  PayoutRequested p{
      provider_id, payout_ref(number), payout_ref(number), "RCP_abc",           ngn(amount),
      source,      std::nullopt,       std::nullopt,       std::move(retry_of), attempt};
  if (p.source == PayoutSource::release) p.booking_id = booking_id;
  return p;
}

constexpr int64_t dispute_id = 358951;  // a Paystack dispute id

// What Paystack reports of chargeback `dispute_id` on installment 1 (RecordChargeback).
inline RecordChargeback chargeback_report(int64_t amount,
                                          std::optional<ChargebackResolution> resolution = {},
                                          int64_t id = dispute_id, int installment = 1) {
  RecordChargeback c;
  c.dispute_id = id;
  c.payment_reference = ref(installment);
  c.refund_amount = ngn(amount);
  c.status = resolution ? ChargebackStatus::resolved : ChargebackStatus::awaiting_merchant_feedback;
  c.resolution = resolution;
  c.due_at_ms = t0 + 3 * 24 * 3600 * 1000LL;
  return c;
}

inline ChargebackOpened chargeback_opened(int64_t amount, int64_t id = dispute_id) {
  return ChargebackOpened{booking_id,
                          id,
                          ref(1),
                          ngn(amount),
                          ChargebackStatus::awaiting_merchant_feedback,
                          t0 + 3 * 24 * 3600 * 1000LL};
}

inline DisputeOpened dispute_by_chargeback(std::optional<int64_t> remaining_ms = std::nullopt,
                                           int64_t id = dispute_id) {
  return DisputeOpened{booking_id,
                       marketplace.id,
                       Role::service,
                       "chargeback",
                       "Paystack chargeback " + std::to_string(id) + " on transaction " + ref(1),
                       DisputeSource::chargeback,
                       id,
                       remaining_ms};
}

// ---- histories ---------------------------------------------------------------------------------

using Events = std::vector<Event>;

inline Events operator+(Events a, const Events& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline Events full_held() {
  return {booked_full(), initiated(1, 100'000), captured(1, 100'000)};
}
inline Events full_with_proof() {
  return full_held() + Events{proof_submitted()};
}
inline Events split_deposit_held() {
  return {booked_split(), initiated(1, 30'000), captured(1, 30'000)};
}
inline Events split_fully_held() {
  return split_deposit_held() + Events{initiated(2, 70'000), captured(2, 70'000)};
}
inline Events full_released() {
  return full_with_proof() +
         Events{client_approved(), FundsReleased{booking_id, provider_id, ngn(100'000), ngn(5'000),
                                                 ngn(95'000), "client_approved"}};
}
inline Events full_cancelled() {
  return full_held() + Events{cancelled_by_client(100'000), refund_requested(1, 1, 100'000)};
}
inline Events full_refunded_by_admin() {
  return full_held() +
         Events{dispute_by_client(),
                DisputeResolved{booking_id, provider_id, ResolutionOutcome::refund, ngn(0),
                                ngn(100'000), ngn(0), ngn(0), "no show", admin.id},
                refund_requested(1, 1, 100'000, "dispute")};
}

// Proof in, then a chargeback of the whole payment froze the escrow.
inline Events full_charged_back() {
  return full_with_proof() +
         Events{chargeback_opened(100'000), dispute_by_chargeback(deadline - t0)};
}

// ---- given / when / then -----------------------------------------------------------------------

inline BookingState given(const Events& events) {
  BookingState state;
  for (const Event& e : events) evolve(state, e);
  return state;
}

inline ProviderState given_provider(const Events& events) {
  ProviderState state;
  for (const Event& e : events) evolve(state, e);
  return state;
}

inline Decision when(const BookingState& state, const BookingCommand& command, const Actor& actor,
                     int64_t now_ms = t0) {
  return decide(state, command, actor, now_ms);
}

inline Decision when(const ProviderState& state, const ProviderCommand& command,
                     const Actor& actor) {
  return decide(state, provider_id, command, actor);
}

inline BookingState after(BookingState state, const Decision& decision) {
  for (const Event& e : decision.events) evolve(state, e);
  return state;
}

inline ProviderState after(ProviderState state, const Decision& decision) {
  for (const Event& e : decision.events) evolve(state, e);
  return state;
}

inline std::vector<std::string> types_of(const Decision& d) {
  std::vector<std::string> types;
  for (const Event& e : d.events) types.push_back(event_type(e));
  return types;
}

inline void then_events(const Decision& d, const std::vector<std::string>& expected) {
  INFO("rejection: " << (d.rejection ? rejection_code(*d.rejection) : "none"));
  REQUIRE_FALSE(d.rejected());
  REQUIRE(types_of(d) == expected);
}

inline void then_nothing(const Decision& d) {
  then_events(d, {});
}

template <class E>
const E& event_at(const Decision& d, size_t index) {
  REQUIRE(index < d.events.size());
  REQUIRE(std::holds_alternative<E>(d.events[index]));
  return std::get<E>(d.events[index]);
}

inline void then_rejected(const Decision& d, Rejection expected) {
  std::string got = d.rejection ? rejection_code(*d.rejection) : "accepted";
  CHECK(got == rejection_code(expected));
  CHECK(d.events.empty());
}

// A double-entry ledger fed with postings_for(): balances per (account, currency).
struct Books {
  std::map<std::pair<std::string, Currency>, int64_t> balances;

  explicit Books(const Events& events = {}) { post(events); }

  void post(const Events& events) {
    for (const Event& e : events) {
      for (const Posting& p : postings_for(e)) {
        REQUIRE(p.amount.amount_minor > 0);
        REQUIRE(p.debit_account != p.credit_account);
        int64_t& debited = balances[{p.debit_account, p.amount.currency}];
        debited -= p.amount.amount_minor;
        balances[{p.credit_account, p.amount.currency}] += p.amount.amount_minor;
        // Only a chargeback after release may take an account below zero (rule 6b).
        INFO(event_type(e) << " debits " << p.debit_account << " to " << debited);
        if (account_is_non_negative(p.debit_account) && !may_overdraw(e, p.debit_account))
          CHECK(debited >= 0);
      }
    }
    std::map<Currency, int64_t> sums;
    for (const auto& [key, balance] : balances) sums[key.second] += balance;
    for (const auto& [currency, sum] : sums) CHECK(sum == 0);
  }
  void post(const Decision& d) { post(d.events); }

  int64_t balance(const std::string& account, Currency currency = Currency::NGN) const {
    auto it = balances.find({account, currency});
    return it == balances.end() ? 0 : it->second;
  }
  int64_t escrow() const { return balance(escrow_account(booking_id)); }
  int64_t available() const { return balance(provider_available_account(provider_id)); }
  int64_t in_flight() const { return balance(provider_in_flight_account(provider_id)); }
  int64_t refund_in_flight() const { return balance(client_refund_account(client_id)); }
};

// Postings of one event, as (debit, credit, amount) triples.
using Triple = std::tuple<std::string, std::string, int64_t>;
inline std::vector<Triple> triples(const Event& e) {
  std::vector<Triple> out;
  for (const Posting& p : postings_for(e))
    out.emplace_back(p.debit_account, p.credit_account, p.amount.amount_minor);
  return out;
}

inline InitiatePayment initiate_as_due(const BookingState& s, int64_t now_ms = t0) {
  auto due = next_payment(s, now_ms);
  REQUIRE(std::holds_alternative<PaymentDue>(due));
  const PaymentDue& d = std::get<PaymentDue>(due);
  return InitiatePayment{d.reference, d.installment, d.amount, "https://checkout.paystack.com/y",
                         "y"};
}

inline ResolveDispute split_resolution(int64_t to_provider, int64_t to_client) {
  return ResolveDispute{ResolutionOutcome::split, to_provider, to_client, "half done"};
}
