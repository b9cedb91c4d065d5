// Given/when/then tests of the pure escrow decider (ledger/decider.h) against DESIGN section 4.
//
// given(events) folds evolve() over literal events into a BookingState or ProviderState;
// when(...) calls decide(); the test then checks the exact events (types and key fields) or the
// exact Rejection. The first test case holds one row per rejection, in the Rejection enum's
// declaration order, and fails if a rejection has no row. The cases after it walk every command
// through its accepted paths: full and split plans, fee arithmetic (with the 128-bit
// intermediate), release gated on full payment, disputes freezing release and the auto-confirm
// clock, admin resolutions, cancellations with refunds, duplicate, late and mismatched captures,
// idempotent repeats, refund and payout failures with retries, OTP, withdrawals, deterministic
// references, and the double-entry postings of every money event.
#include "ledger/decider.h"

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "ledger/postings.h"

using namespace escrow;

// Commands and events are written as aggregates that leave their trailing optional fields out.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

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

Money ngn(int64_t minor) {
  return Money{minor, Currency::NGN};
}
Money usd(int64_t minor) {
  return Money{minor, Currency::USD};
}

std::string ref(int installment, int attempt = 1) {
  return payment_reference(booking_id, installment, attempt);
}
std::string refund_id(int number) {
  return refund_id_for(booking_id, number);
}
std::string payout_ref(int number) {
  return payout_reference(provider_id, number);
}
int64_t txn(int installment, int attempt = 1) {
  return 9000 + installment * 10 + attempt;
}

// ---- commands ----------------------------------------------------------------------------------

CreateBooking full_terms(int64_t amount = 100'000, int fee_bps = 500) {
  CreateBooking c;
  c.booking_id = booking_id;
  c.client_id = client_id;
  c.provider_id = provider_id;
  c.client_email = "ada@example.com";
  c.description = "Fix the sink";
  c.amount = ngn(amount);
  c.plan = "full";
  c.fee_bps = fee_bps;
  c.auto_confirm_after_s = three_days_s;
  return c;
}

CreateBooking split_terms(int deposit_bps = 3000, int64_t amount = 100'000) {
  CreateBooking c = full_terms(amount);
  c.plan = "split";
  c.deposit_bps = deposit_bps;
  return c;
}

CapturePayment capture_of(int installment, Money amount, int attempt = 1) {
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

BookingCreated booked_full(int64_t amount = 100'000, int fee_bps = 500,
                           int64_t auto_confirm_after_s = three_days_s) {
  return BookingCreated{
      booking_id, client_id, provider_id, "ada@example.com",    "Fix the sink", ngn(amount),
      "full",     0,         fee_bps,     auto_confirm_after_s, std::nullopt,   {ngn(amount)}};
}

// 100,000 kobo with a 30% deposit: 30,000 then 70,000.
BookingCreated booked_split() {
  return BookingCreated{booking_id,        client_id,      provider_id,
                        "ada@example.com", "Fix the sink", ngn(100'000),
                        "split",           3000,           500,
                        three_days_s,      std::nullopt,   {ngn(30'000), ngn(70'000)}};
}

PaymentInitiated initiated(int installment, int64_t amount, int attempt = 1) {
  return PaymentInitiated{booking_id,  ref(installment, attempt),         installment,
                          ngn(amount), "https://checkout.paystack.com/x", "x"};
}

PaymentCaptured captured(int installment, int64_t amount, int attempt = 1) {
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

ProofSubmitted proof_submitted(std::optional<int64_t> auto_confirm_at = deadline) {
  return ProofSubmitted{booking_id, "done, photos attached", {}, {}, auto_confirm_at};
}

CompletionConfirmed client_approved() {
  return CompletionConfirmed{booking_id, client_id, "client", true};
}

DisputeOpened dispute_by_client(std::optional<int64_t> remaining_ms = std::nullopt) {
  return DisputeOpened{booking_id, client_id,    "client",    "not_done", "the sink still leaks",
                       "party",    std::nullopt, remaining_ms};
}

BookingCancelled cancelled_by_client(int64_t refund) {
  return BookingCancelled{booking_id, client_id, "client", "changed my mind", ngn(refund)};
}

RefundRequested refund_requested(int number, int installment, int64_t amount,
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

RefundFailed refund_failed(int number, int64_t amount) {
  return RefundFailed{booking_id, refund_id(number), client_id, ngn(amount), "bank rejected"};
}

PayoutAccountRegistered account_registered(Currency currency = Currency::NGN) {
  return PayoutAccountRegistered{provider_id, "RCP_abc", "058", "Ada Obi", "6789", currency};
}

PayoutRequested payout_requested(int number, int64_t amount, std::string source = "release",
                                 int attempt = 1, std::optional<std::string> retry_of = {}) {
  PayoutRequested p{
      provider_id,       payout_ref(number), payout_ref(number), "RCP_abc",           ngn(amount),
      std::move(source), std::nullopt,       std::nullopt,       std::move(retry_of), attempt};
  if (p.source == "release") p.booking_id = booking_id;
  return p;
}

// ---- histories ---------------------------------------------------------------------------------

using Events = std::vector<Event>;

Events operator+(Events a, const Events& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Events full_held() {
  return {booked_full(), initiated(1, 100'000), captured(1, 100'000)};
}
Events full_with_proof() {
  return full_held() + Events{proof_submitted()};
}
Events split_deposit_held() {
  return {booked_split(), initiated(1, 30'000), captured(1, 30'000)};
}
Events split_fully_held() {
  return split_deposit_held() + Events{initiated(2, 70'000), captured(2, 70'000)};
}
Events full_released() {
  return full_with_proof() +
         Events{client_approved(), FundsReleased{booking_id, provider_id, ngn(100'000), ngn(5'000),
                                                 ngn(95'000), "client_approved"}};
}
Events full_cancelled() {
  return full_held() + Events{cancelled_by_client(100'000), refund_requested(1, 1, 100'000)};
}
Events full_refunded_by_admin() {
  return full_held() + Events{dispute_by_client(),
                              DisputeResolved{booking_id, provider_id, "refund", ngn(0),
                                              ngn(100'000), ngn(0), ngn(0), "no show", admin.id},
                              refund_requested(1, 1, 100'000, "dispute")};
}

// ---- given / when / then -----------------------------------------------------------------------

BookingState given(const Events& events) {
  BookingState state;
  for (const Event& e : events) evolve(state, e);
  return state;
}

ProviderState given_provider(const Events& events) {
  ProviderState state;
  for (const Event& e : events) evolve(state, e);
  return state;
}

Decision when(const BookingState& state, const BookingCommand& command, const Actor& actor,
              int64_t now_ms = t0) {
  return decide(state, command, actor, now_ms);
}

Decision when(const ProviderState& state, const ProviderCommand& command, const Actor& actor) {
  return decide(state, provider_id, command, actor);
}

BookingState after(BookingState state, const Decision& decision) {
  for (const Event& e : decision.events) evolve(state, e);
  return state;
}

ProviderState after(ProviderState state, const Decision& decision) {
  for (const Event& e : decision.events) evolve(state, e);
  return state;
}

std::vector<std::string> types_of(const Decision& d) {
  std::vector<std::string> types;
  for (const Event& e : d.events) types.push_back(event_type(e));
  return types;
}

void then_events(const Decision& d, const std::vector<std::string>& expected) {
  INFO("rejection: " << (d.rejection ? rejection_code(*d.rejection) : "none"));
  REQUIRE_FALSE(d.rejected());
  REQUIRE(types_of(d) == expected);
}

void then_nothing(const Decision& d) {
  then_events(d, {});
}

template <class E>
const E& event_at(const Decision& d, size_t index) {
  REQUIRE(index < d.events.size());
  REQUIRE(std::holds_alternative<E>(d.events[index]));
  return std::get<E>(d.events[index]);
}

void then_rejected(const Decision& d, Rejection expected) {
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
        balances[{p.debit_account, p.amount.currency}] -= p.amount.amount_minor;
        balances[{p.credit_account, p.amount.currency}] += p.amount.amount_minor;
      }
    }
    std::map<Currency, int64_t> sums;
    for (const auto& [key, balance] : balances) {
      sums[key.second] += balance;
      INFO(key.first << " " << currency_code(key.second) << " " << balance);
      if (account_is_non_negative(key.first)) CHECK(balance >= 0);
    }
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
std::vector<Triple> triples(const Event& e) {
  std::vector<Triple> out;
  for (const Posting& p : postings_for(e))
    out.emplace_back(p.debit_account, p.credit_account, p.amount.amount_minor);
  return out;
}

// ---- rejection table ---------------------------------------------------------------------------

struct Row {
  Rejection expected;
  std::string what;
  std::function<Decision()> run;
};

Decision from(const std::variant<PaymentDue, Rejection>& due) {
  if (const auto* r = std::get_if<Rejection>(&due)) return Decision::reject(*r);
  return Decision{};
}

Decision from(const std::optional<Rejection>& r) {
  return r ? Decision::reject(*r) : Decision{};
}

InitiatePayment initiate_as_due(const BookingState& s, int64_t now_ms = t0) {
  auto due = next_payment(s, now_ms);
  REQUIRE(std::holds_alternative<PaymentDue>(due));
  const PaymentDue& d = std::get<PaymentDue>(due);
  return InitiatePayment{d.reference, d.installment, d.amount, "https://checkout.paystack.com/y",
                         "y"};
}

ResolveDispute split_resolution(int64_t to_provider, int64_t to_client) {
  return ResolveDispute{"split", to_provider, to_client, "half done"};
}

std::vector<Row> rejection_rows() {
  const BookingState none;
  const Events disputed = full_with_proof() + Events{dispute_by_client(deadline - t0)};
  std::vector<Row> rows;
  auto row = [&](Rejection r, std::string what, std::function<Decision()> run) {
    rows.push_back(Row{r, std::move(what), std::move(run)});
  };

  // booking_not_found: every booking command but CreateBooking, and next_payment.
  const std::vector<std::pair<std::string, BookingCommand>> all_but_create = {
      {"InitiatePayment", InitiatePayment{ref(1), 1, ngn(100'000), "", ""}},
      {"CapturePayment", capture_of(1, ngn(100'000))},
      {"FailPayment", FailPayment{ref(1), "declined"}},
      {"SubmitProof", SubmitProof{}},
      {"ConfirmCompletion", ConfirmCompletion{}},
      {"AutoConfirm", AutoConfirm{}},
      {"OpenDispute", OpenDispute{}},
      {"ResolveDispute", ResolveDispute{"release", {}, {}, ""}},
      {"CancelBooking", CancelBooking{}},
      {"RecordRefundOutcome", RecordRefundOutcome{refund_id(1)}},
      {"RetryRefund", RetryRefund{refund_id(1)}},
  };
  for (const auto& [name, command] : all_but_create) {
    row(Rejection::booking_not_found, name + " on no booking",
        [none, command] { return when(none, command, admin); });
  }
  row(Rejection::booking_not_found, "next_payment on no booking",
      [none] { return from(next_payment(none, t0)); });

  row(Rejection::booking_exists, "same id, different amount",
      [] { return when(given({booked_full()}), full_terms(100'001), marketplace); });
  row(Rejection::booking_exists, "same id, different plan",
      [] { return when(given({booked_full()}), split_terms(), marketplace); });

  // not_allowed: each command refuses actors it does not name.
  row(Rejection::not_allowed, "a client creates a booking",
      [none] { return when(none, full_terms(), client); });
  row(Rejection::not_allowed, "an auditor creates a booking",
      [none] { return when(none, full_terms(), auditor); });
  row(Rejection::not_allowed, "the provider opens a checkout", [] {
    BookingState s = given({booked_full()});
    return when(s, initiate_as_due(s), provider);
  });
  row(Rejection::not_allowed, "another client opens a checkout", [] {
    BookingState s = given({booked_full()});
    return when(s, initiate_as_due(s), other_client);
  });
  row(Rejection::not_allowed, "the client submits proof",
      [] { return when(given(full_held()), SubmitProof{}, client); });
  row(Rejection::not_allowed, "another provider submits proof",
      [] { return when(given(full_held()), SubmitProof{}, other_provider); });
  row(Rejection::not_allowed, "the provider approves their own work",
      [] { return when(given(full_with_proof()), ConfirmCompletion{}, provider); });
  row(Rejection::not_allowed, "another client approves",
      [] { return when(given(full_with_proof()), ConfirmCompletion{}, other_client); });
  row(Rejection::not_allowed, "an admin triggers auto-confirm",
      [] { return when(given(full_with_proof()), AutoConfirm{}, admin, deadline); });
  row(Rejection::not_allowed, "another client opens a dispute", [] {
    return when(given(full_held()), OpenDispute{"x", "y"}, other_client);
  });
  row(Rejection::not_allowed, "a client reports a chargeback", [] {
    return when(given(full_held()), OpenDispute{"x", "y", "chargeback", 5}, client);
  });
  row(Rejection::not_allowed, "the client resolves a dispute", [disputed] {
    return when(given(disputed), ResolveDispute{"refund", {}, {}, ""}, client);
  });
  row(Rejection::not_allowed, "another provider cancels",
      [] { return when(given(full_held()), CancelBooking{"x"}, other_provider); });
  row(Rejection::not_allowed, "an auditor cancels",
      [] { return when(given(full_held()), CancelBooking{"x"}, auditor); });
  row(Rejection::not_allowed, "the client reports a refund outcome", [] {
    return when(given(full_cancelled()),
                RecordRefundOutcome{refund_id(1), RefundStatus::processed, 1, ""}, client);
  });
  row(Rejection::not_allowed, "the provider retries a refund", [] {
    return when(given(full_cancelled() + Events{refund_failed(1, 100'000)}),
                RetryRefund{refund_id(1)}, provider);
  });
  row(Rejection::not_allowed, "another provider registers a payout account", [] {
    return when(ProviderState{}, RegisterPayoutAccount{"RCP_x", "058", "X", "0000"},
                other_provider);
  });
  row(Rejection::not_allowed, "a provider pays out a release to themselves", [] {
    return when(given_provider({account_registered()}), PayOutRelease{booking_id, ngn(95'000)},
                provider);
  });
  row(Rejection::not_allowed, "an admin withdraws for the provider", [] {
    return when(given_provider({account_registered()}), RequestWithdrawal{ngn(1'000), ngn(95'000)},
                admin);
  });
  row(Rejection::not_allowed, "another provider withdraws", [] {
    return when(given_provider({account_registered()}), RequestWithdrawal{ngn(1'000), ngn(95'000)},
                other_provider);
  });
  row(Rejection::not_allowed, "the provider reports a payout outcome", [] {
    return when(given_provider({account_registered(), payout_requested(1, 95'000)}),
                RecordPayoutOutcome{payout_ref(1), PayoutStatus::success}, provider);
  });
  row(Rejection::not_allowed, "another provider retries a payout", [] {
    return when(given_provider({account_registered(), payout_requested(1, 95'000),
                                PayoutFailed{provider_id, payout_ref(1), "x", ngn(95'000)}}),
                RetryPayout{payout_ref(1), ngn(95'000)}, other_provider);
  });

  auto create_with = [none](std::function<void(CreateBooking&)> change) {
    CreateBooking c = full_terms();
    change(c);
    return when(none, c, marketplace);
  };
  row(Rejection::invalid_amount, "zero amount",
      [=] { return create_with([](CreateBooking& c) { c.amount = ngn(0); }); });
  row(Rejection::invalid_amount, "negative amount",
      [=] { return create_with([](CreateBooking& c) { c.amount = ngn(-100'000); }); });
  row(Rejection::invalid_amount, "above amount_minor_max",
      [=] { return create_with([](CreateBooking& c) { c.amount = ngn(amount_minor_max + 1); }); });
  row(Rejection::invalid_amount, "withdrawal of zero", [] {
    return when(given_provider({account_registered()}), RequestWithdrawal{ngn(0), ngn(95'000)},
                provider);
  });
  row(Rejection::invalid_amount, "withdrawal of a negative amount", [] {
    return when(given_provider({account_registered()}), RequestWithdrawal{ngn(-1), ngn(95'000)},
                provider);
  });

  row(Rejection::amount_below_minimum, "NGN 49.99",
      [=] { return create_with([](CreateBooking& c) { c.amount = ngn(4'999); }); });
  row(Rejection::amount_below_minimum, "USD 1.99",
      [=] { return create_with([](CreateBooking& c) { c.amount = usd(199); }); });
  row(Rejection::amount_below_minimum, "a split whose deposit is below the minimum", [none] {
    return when(none, split_terms(3000, 10'000), marketplace);  // deposit 3,000 < 5,000
  });
  row(Rejection::amount_below_minimum, "a split whose balance is below the minimum", [none] {
    return when(none, split_terms(9000, 20'000), marketplace);  // balance 2,000 < 5,000
  });

  row(Rejection::invalid_fee_bps, "negative fee",
      [=] { return create_with([](CreateBooking& c) { c.fee_bps = -1; }); });
  row(Rejection::invalid_fee_bps, "fee above 100%",
      [=] { return create_with([](CreateBooking& c) { c.fee_bps = 10'001; }); });

  row(Rejection::invalid_deposit_bps, "split with a 0% deposit",
      [none] { return when(none, split_terms(0), marketplace); });
  row(Rejection::invalid_deposit_bps, "split with a 100% deposit",
      [none] { return when(none, split_terms(10'000), marketplace); });
  row(Rejection::invalid_deposit_bps, "split with a negative deposit",
      [none] { return when(none, split_terms(-5), marketplace); });

  row(Rejection::invalid_plan, "an unknown plan",
      [=] { return create_with([](CreateBooking& c) { c.plan = "weekly"; }); });
  row(Rejection::invalid_plan, "a negative auto-confirm delay",
      [=] { return create_with([](CreateBooking& c) { c.auto_confirm_after_s = -1; }); });

  row(Rejection::booking_cancelled, "next_payment on a cancelled booking", [] {
    return from(next_payment(given({booked_full(), cancelled_by_client(0)}), t0));
  });
  row(Rejection::booking_cancelled, "proof on a cancelled booking",
      [] { return when(given(full_cancelled()), SubmitProof{}, provider); });
  row(Rejection::booking_cancelled, "approval of a cancelled booking",
      [] { return when(given(full_cancelled()), ConfirmCompletion{}, admin); });
  row(Rejection::booking_cancelled, "auto-confirm of a cancelled booking", [] {
    return when(given(full_with_proof() + Events{BookingCancelled{booking_id, provider_id,
                                                                  "provider", "sick", ngn(100'000)},
                                                 refund_requested(1, 1, 100'000)}),
                AutoConfirm{}, scheduler, deadline);
  });
  row(Rejection::booking_cancelled, "a dispute on a cancelled booking", [] {
    return when(given(full_cancelled()), OpenDispute{"x", "y"}, client);
  });

  row(Rejection::booking_refunded, "next_payment after a refund resolution",
      [] { return from(next_payment(given(full_refunded_by_admin()), t0)); });
  row(Rejection::booking_refunded, "approval after a refund resolution",
      [] { return when(given(full_refunded_by_admin()), ConfirmCompletion{}, admin); });
  row(Rejection::booking_refunded, "cancelling after a refund resolution",
      [] { return when(given(full_refunded_by_admin()), CancelBooking{"x"}, admin); });

  row(Rejection::already_released, "a second approval",
      [] { return when(given(full_released()), ConfirmCompletion{}, client); });
  row(Rejection::already_released, "an admin release after release",
      [] { return when(given(full_released()), ConfirmCompletion{}, admin); });
  row(Rejection::already_released, "auto-confirm after release",
      [] { return when(given(full_released()), AutoConfirm{}, scheduler, deadline); });
  row(Rejection::already_released, "a dispute after release", [] {
    return when(given(full_released()), OpenDispute{"x", "y"}, client);
  });
  row(Rejection::already_released, "the provider cancels after release",
      [] { return when(given(full_released()), CancelBooking{"x"}, provider); });
  row(Rejection::already_released, "next_payment after release",
      [] { return from(next_payment(given(full_released()), t0)); });

  row(Rejection::dispute_open, "next_payment while disputed", [] {
    return from(next_payment(given(split_deposit_held() + Events{dispute_by_client()}), t0));
  });
  row(Rejection::dispute_open, "proof while disputed", [] {
    return when(given(full_held() + Events{dispute_by_client()}), SubmitProof{}, provider);
  });
  row(Rejection::dispute_open, "approval while disputed",
      [disputed] { return when(given(disputed), ConfirmCompletion{}, client); });
  row(Rejection::dispute_open, "auto-confirm while disputed (the clock is frozen)",
      [disputed] { return when(given(disputed), AutoConfirm{}, scheduler, deadline + 1); });
  row(Rejection::dispute_open, "a second dispute", [disputed] {
    return when(given(disputed), OpenDispute{"x", "y"}, provider);
  });
  row(Rejection::dispute_open, "cancelling while disputed",
      [disputed] { return when(given(disputed), CancelBooking{"x"}, admin); });

  row(Rejection::booking_expired, "paying after pay_by", [] {
    BookingCreated terms = booked_full();
    terms.pay_by_ms = t0;
    return from(next_payment(given({terms}), t0 + 1));
  });
  row(Rejection::booking_expired, "opening a checkout after pay_by", [] {
    BookingCreated terms = booked_full();
    terms.pay_by_ms = t0;
    return when(given({terms}), InitiatePayment{ref(1), 1, ngn(100'000), "", ""}, client, t0 + 1);
  });

  row(Rejection::nothing_due, "next_payment when all is held",
      [] { return from(next_payment(given(full_held()), t0)); });
  row(Rejection::nothing_due, "a checkout when both installments are held", [] {
    return when(given(split_fully_held()), InitiatePayment{ref(2, 2), 2, ngn(70'000), "", ""},
                client);
  });

  row(Rejection::payment_not_due, "the balance before the deposit", [] {
    return when(given({booked_split()}), InitiatePayment{ref(2), 2, ngn(70'000), "", ""}, client);
  });
  row(Rejection::payment_not_due, "a different amount", [] {
    return when(given({booked_full()}), InitiatePayment{ref(1), 1, ngn(90'000), "", ""}, client);
  });
  row(Rejection::payment_not_due, "a reference already used", [] {
    return when(given({booked_full(), initiated(1, 100'000)}),
                InitiatePayment{ref(1), 1, ngn(100'000), "", ""}, client);
  });

  row(Rejection::unknown_payment, "a capture of a reference never seen, without installment", [] {
    CapturePayment c = capture_of(1, ngn(100'000));
    c.reference = "some-other-reference";
    return when(given({booked_full()}), c, marketplace);
  });
  row(Rejection::unknown_payment, "a capture naming an installment the plan lacks", [] {
    CapturePayment c = capture_of(3, ngn(70'000));
    c.installment = 3;
    return when(given({booked_split()}), c, marketplace);
  });
  row(Rejection::unknown_payment, "a capture naming installment 0", [] {
    CapturePayment c = capture_of(1, ngn(100'000));
    c.installment = 0;
    return when(given({booked_full()}), c, marketplace);
  });
  row(Rejection::unknown_payment, "a failure of a reference never seen", [] {
    return when(given({booked_full()}), FailPayment{ref(1), "declined"}, marketplace);
  });

  row(Rejection::nothing_held, "proof before any payment", [] {
    return when(given({booked_full(), initiated(1, 100'000)}), SubmitProof{}, provider);
  });
  row(Rejection::nothing_held, "a dispute before any payment", [] {
    return when(given({booked_full()}), OpenDispute{"x", "y"}, client);
  });

  row(Rejection::proof_already_submitted, "a second proof",
      [] { return when(given(full_with_proof()), SubmitProof{"again"}, provider); });

  row(Rejection::too_many_files, "eleven files", [] {
    SubmitProof p{
        "notes", std::vector<ProofFile>(11, ProofFile{"ab", "image/png", "a.png", 10}), {}};
    return when(given(full_held()), p, provider);
  });

  row(Rejection::proof_required, "the client approves before proof",
      [] { return when(given(full_held()), ConfirmCompletion{}, client); });
  row(Rejection::proof_required, "auto-confirm before proof",
      [] { return when(given(full_held()), AutoConfirm{}, scheduler, deadline); });

  row(Rejection::already_approved, "the client approves twice before the balance is paid", [] {
    return when(given(split_deposit_held() + Events{proof_submitted(), client_approved()}),
                ConfirmCompletion{}, client);
  });
  row(Rejection::already_approved, "auto-confirm after an approval waiting for the balance", [] {
    return when(given(split_deposit_held() + Events{proof_submitted(), client_approved()}),
                AutoConfirm{}, scheduler, deadline);
  });

  row(Rejection::auto_confirm_disabled, "auto_confirm_after_s = 0", [] {
    return when(given({booked_full(100'000, 500, 0), initiated(1, 100'000), captured(1, 100'000),
                       proof_submitted(std::nullopt)}),
                AutoConfirm{}, scheduler, deadline * 2);
  });

  row(Rejection::auto_confirm_not_due, "one millisecond early",
      [] { return when(given(full_with_proof()), AutoConfirm{}, scheduler, deadline - 1); });

  row(Rejection::no_dispute, "resolving with no dispute", [] {
    return when(given(full_with_proof()), ResolveDispute{"release", {}, {}, ""}, admin);
  });

  row(Rejection::invalid_resolution, "an unknown outcome", [disputed] {
    return when(given(disputed), ResolveDispute{"halve", {}, {}, ""}, admin);
  });
  row(Rejection::invalid_resolution, "a split that does not add up",
      [disputed] { return when(given(disputed), split_resolution(60'000, 30'000), admin); });
  row(Rejection::invalid_resolution, "a split above the held amount",
      [disputed] { return when(given(disputed), split_resolution(110'000, -10'000), admin); });
  row(Rejection::invalid_resolution, "a split with a negative provider part",
      [disputed] { return when(given(disputed), split_resolution(-1, 100'001), admin); });
  row(Rejection::invalid_resolution, "a split without amounts", [disputed] {
    return when(given(disputed), ResolveDispute{"split", std::nullopt, std::nullopt, ""}, admin);
  });

  row(Rejection::already_cancelled, "cancelling twice",
      [] { return when(given(full_cancelled()), CancelBooking{"again"}, admin); });

  row(Rejection::proof_submitted, "the client cancels after proof",
      [] { return when(given(full_with_proof()), CancelBooking{"bad work"}, client); });

  row(Rejection::unknown_refund, "an outcome for a refund never requested", [] {
    return when(given(full_cancelled()),
                RecordRefundOutcome{refund_id(2), RefundStatus::processed, 1, ""}, marketplace);
  });
  row(Rejection::unknown_refund, "retrying a refund never requested",
      [] { return when(given(full_cancelled()), RetryRefund{refund_id(7)}, admin); });

  row(Rejection::refund_not_retryable, "retrying a queued refund",
      [] { return when(given(full_cancelled()), RetryRefund{refund_id(1)}, admin); });
  row(Rejection::refund_not_retryable, "retrying a processed refund", [] {
    return when(given(full_cancelled() + Events{RefundProcessed{booking_id, refund_id(1), client_id,
                                                                ngn(100'000), 5}}),
                RetryRefund{refund_id(1)}, admin);
  });
  row(Rejection::refund_not_retryable, "retrying a failed refund twice", [] {
    return when(given(full_cancelled() + Events{refund_failed(1, 100'000),
                                                refund_requested(2, 1, 100'000, "retry", 2)}),
                RetryRefund{refund_id(1)}, admin);
  });

  row(Rejection::payout_account_missing, "a withdrawal with no payout account", [] {
    return when(ProviderState{}, RequestWithdrawal{ngn(1'000), ngn(95'000)}, provider);
  });

  row(Rejection::currency_mismatch, "a withdrawal in another currency than the account", [] {
    return when(given_provider({account_registered()}), RequestWithdrawal{usd(1'000), usd(5'000)},
                provider);
  });
  row(Rejection::currency_mismatch, "a withdrawal against a balance in another currency", [] {
    return when(given_provider({account_registered()}), RequestWithdrawal{ngn(1'000), usd(5'000)},
                provider);
  });
  row(Rejection::currency_mismatch, "a payout retry against a balance in another currency", [] {
    return when(given_provider({account_registered(), payout_requested(1, 95'000),
                                PayoutFailed{provider_id, payout_ref(1), "x", ngn(95'000)}}),
                RetryPayout{payout_ref(1), usd(95'000)}, scheduler);
  });

  row(Rejection::insufficient_balance, "withdrawing more than available", [] {
    return when(given_provider({account_registered()}), RequestWithdrawal{ngn(95'001), ngn(95'000)},
                provider);
  });
  row(Rejection::insufficient_balance, "retrying a payout the balance no longer covers", [] {
    return when(given_provider({account_registered(), payout_requested(1, 95'000),
                                PayoutFailed{provider_id, payout_ref(1), "x", ngn(95'000)}}),
                RetryPayout{payout_ref(1), ngn(94'999)}, scheduler);
  });

  row(Rejection::unknown_payout, "an outcome for a payout never requested", [] {
    return when(given_provider({account_registered()}),
                RecordPayoutOutcome{payout_ref(1), PayoutStatus::success}, marketplace);
  });
  row(Rejection::unknown_payout, "retrying a payout never requested", [] {
    return when(given_provider({account_registered()}), RetryPayout{payout_ref(3), ngn(1)},
                scheduler);
  });
  row(Rejection::unknown_payout, "finalizing a payout never requested",
      [] { return from(check_finalize(given_provider({account_registered()}), payout_ref(1))); });

  row(Rejection::payout_not_retryable, "retrying a queued payout", [] {
    return when(given_provider({account_registered(), payout_requested(1, 95'000)}),
                RetryPayout{payout_ref(1), ngn(95'000)}, scheduler);
  });
  row(Rejection::payout_not_retryable, "retrying a successful payout", [] {
    return when(given_provider({account_registered(), payout_requested(1, 95'000),
                                PayoutSucceeded{provider_id, payout_ref(1), ngn(95'000)}}),
                RetryPayout{payout_ref(1), ngn(95'000)}, scheduler);
  });
  row(Rejection::payout_not_retryable, "retrying a failed payout twice", [] {
    return when(given_provider({account_registered(), payout_requested(1, 95'000),
                                PayoutFailed{provider_id, payout_ref(1), "x", ngn(95'000)},
                                payout_requested(2, 95'000, "retry", 2, payout_ref(1))}),
                RetryPayout{payout_ref(1), ngn(95'000)}, scheduler);
  });

  row(Rejection::payout_not_awaiting_otp, "finalizing a pending payout", [] {
    return from(
        check_finalize(given_provider({account_registered(), payout_requested(1, 95'000),
                                       PayoutSent{provider_id, payout_ref(1), "TRF_1", 77}}),
                       payout_ref(1)));
  });
  row(Rejection::payout_not_awaiting_otp, "finalizing a payout that already succeeded", [] {
    return from(
        check_finalize(given_provider({account_registered(), payout_requested(1, 95'000),
                                       PayoutAwaitingOtp{provider_id, payout_ref(1), "TRF_1"},
                                       PayoutSucceeded{provider_id, payout_ref(1), ngn(95'000)}}),
                       payout_ref(1)));
  });
  return rows;
}

}  // namespace

TEST_CASE("every rejection, in declaration order", "[decider][rejections]") {
  const std::vector<Row> rows = rejection_rows();
  constexpr int rejection_count = static_cast<int>(Rejection::payout_not_awaiting_otp) + 1;
  std::vector<int> rows_per_rejection(rejection_count, 0);
  int previous = -1;
  for (const Row& r : rows) {
    int index = static_cast<int>(r.expected);
    INFO(rejection_code(r.expected) << ": " << r.what);
    CHECK(index >= previous);  // the table follows the enum
    previous = index;
    ++rows_per_rejection[index];
    then_rejected(r.run(), r.expected);
  }
  for (int i = 0; i < rejection_count; ++i) {
    INFO("no row for " << rejection_code(static_cast<Rejection>(i)));
    CHECK(rows_per_rejection[i] > 0);
  }
}

TEST_CASE("rejection codes are their enum names, with a message each", "[decider][rejections]") {
  CHECK(std::string(rejection_code(Rejection::booking_not_found)) == "booking_not_found");
  CHECK(std::string(rejection_code(Rejection::proof_submitted)) == "proof_submitted");
  CHECK(std::string(rejection_code(Rejection::payout_not_awaiting_otp)) ==
        "payout_not_awaiting_otp");
  for (int i = 0; i <= static_cast<int>(Rejection::payout_not_awaiting_otp); ++i) {
    CHECK_FALSE(rejection_message(static_cast<Rejection>(i)).empty());
  }
}

// ---- CreateBooking -----------------------------------------------------------------------------

TEST_CASE("CreateBooking: a full plan is one installment of the whole amount", "[decider]") {
  Decision d = when(BookingState{}, full_terms(), marketplace);
  then_events(d, {"BookingCreated"});
  const auto& e = event_at<BookingCreated>(d, 0);
  CHECK(encode_event_data(e) == encode_event_data(booked_full()));
  CHECK(e.deposit_bps == 0);

  BookingState s = after(BookingState{}, d);
  CHECK(s.status == BookingStatus::awaiting_payment);
  CHECK(s.payment_status == PaymentStatus::unpaid);
  CHECK(s.held_minor() == 0);

  SECTION("an admin may create it too") {
    then_events(when(BookingState{}, full_terms(), admin), {"BookingCreated"});
  }
  SECTION("the same terms again change nothing") {
    then_nothing(when(s, full_terms(), marketplace));
  }
  SECTION("a full plan ignores a stray deposit_bps") {
    CreateBooking c = full_terms();
    c.deposit_bps = 4000;
    then_nothing(when(s, c, marketplace));  // identical terms once normalised
  }
}

TEST_CASE("CreateBooking: a split plan is a floored deposit and the rest", "[decider]") {
  SECTION("30% of 100,000") {
    Decision d = when(BookingState{}, split_terms(3000), marketplace);
    then_events(d, {"BookingCreated"});
    CHECK(encode_event_data(event_at<BookingCreated>(d, 0)) == encode_event_data(booked_split()));
  }
  SECTION("33.33% of 100,001 floors the deposit and the parts add up") {
    Decision d = when(BookingState{}, split_terms(3333, 100'001), marketplace);
    const auto& e = event_at<BookingCreated>(d, 0);
    REQUIRE(e.installments.size() == 2);
    CHECK(e.installments[0] == ngn(33'330));  // floor(100,001 * 3333 / 10000) = floor(33,330.33)
    CHECK(e.installments[1] == ngn(66'671));
    CHECK(e.installments[0].amount_minor + e.installments[1].amount_minor == 100'001);
  }
  SECTION("99.99% of the largest amount") {
    Decision d = when(BookingState{}, split_terms(9999, amount_minor_max), marketplace);
    const auto& e = event_at<BookingCreated>(d, 0);
    CHECK(e.installments[0] == ngn(999'900'000));
    CHECK(e.installments[1] == ngn(100'000));
  }
  SECTION("the same split again changes nothing") {
    then_nothing(when(given({booked_split()}), split_terms(3000), marketplace));
  }
}

// ---- money arithmetic --------------------------------------------------------------------------

TEST_CASE("fee arithmetic floors with a 128-bit intermediate and adds up", "[decider][money]") {
  CHECK(bps_part(100'000, 500) == 5'000);
  CHECK(bps_part(100'001, 500) == 5'000);  // floor(5,000.05)
  CHECK(bps_part(19, 500) == 0);
  CHECK(bps_part(100'000, 0) == 0);
  CHECK(bps_part(100'000, 10'000) == 100'000);
  // INT64_MAX * 9999 overflows 64 bits; the intermediate must not.
  CHECK(bps_part(INT64_MAX, 9'999) == 9'222'449'699'651'090'329LL);
  CHECK(bps_part(INT64_MAX, 500) == 461'168'601'842'738'790LL);
  CHECK(bps_part(INT64_MAX, 10'000) == INT64_MAX);

  FeeSplit split = split_fee(ngn(amount_minor_max), 9'999);
  CHECK(split.fee == ngn(999'900'000));
  CHECK(split.provider_net == ngn(100'000));
  FeeSplit odd = split_fee(Money{100'001, Currency::KES}, 500);
  CHECK(odd.fee == Money{5'000, Currency::KES});
  CHECK(odd.provider_net == Money{95'001, Currency::KES});
}

TEST_CASE("release of the largest amount: fee and net add up to the gross", "[decider][money]") {
  BookingState s = given({booked_full(amount_minor_max, 9'999), initiated(1, amount_minor_max),
                          captured(1, amount_minor_max), proof_submitted()});
  Decision d = when(s, ConfirmCompletion{}, client);
  then_events(d, {"CompletionConfirmed", "FundsReleased"});
  const auto& r = event_at<FundsReleased>(d, 1);
  CHECK(r.gross == ngn(amount_minor_max));
  CHECK(r.fee == ngn(999'900'000));
  CHECK(r.provider_net == ngn(100'000));
  Books books({captured(1, amount_minor_max)});
  books.post(d);
  CHECK(books.escrow() == 0);
  CHECK(books.available() == 100'000);
  CHECK(books.balance(platform_fees_account) == 999'900'000);
}

TEST_CASE("a 100% fee leaves nothing for the provider and posts no zero amount", "[decider]") {
  BookingState s = given({booked_full(100'000, 10'000), initiated(1, 100'000), captured(1, 100'000),
                          proof_submitted()});
  Decision d = when(s, ConfirmCompletion{}, client);
  const auto& r = event_at<FundsReleased>(d, 1);
  CHECK(r.fee == ngn(100'000));
  CHECK(r.provider_net == ngn(0));
  CHECK(triples(r) == std::vector<Triple>{{escrow_account(booking_id), "platform:fees", 100'000}});
}

// ---- InitiatePayment and next_payment ----------------------------------------------------------

TEST_CASE("InitiatePayment: the checkout asks for the next installment due", "[decider]") {
  SECTION("a full plan: the whole amount, attempt 1") {
    BookingState s = given({booked_full()});
    auto due = next_payment(s, t0);
    REQUIRE(std::holds_alternative<PaymentDue>(due));
    CHECK(std::get<PaymentDue>(due).installment == 1);
    CHECK(std::get<PaymentDue>(due).amount == ngn(100'000));
    CHECK(std::get<PaymentDue>(due).reference == ref(1, 1));

    for (const Actor& a : {client, marketplace, scheduler, admin}) {
      Decision d = when(s, initiate_as_due(s), a);
      then_events(d, {"PaymentInitiated"});
      const auto& e = event_at<PaymentInitiated>(d, 0);
      CHECK(e.reference == ref(1, 1));
      CHECK(e.installment == 1);
      CHECK(e.amount == ngn(100'000));
      CHECK(e.authorization_url == "https://checkout.paystack.com/y");
      CHECK(after(s, d).payment_status == PaymentStatus::pending);
    }
  }
  SECTION("a second checkout for the same installment uses a new reference") {
    BookingState s = given({booked_full(), initiated(1, 100'000)});
    CHECK(std::get<PaymentDue>(next_payment(s, t0)).reference == ref(1, 2));
    then_events(when(s, initiate_as_due(s), client), {"PaymentInitiated"});
  }
  SECTION("after a failed payment paying again is allowed, with a new reference") {
    BookingState s = given(
        {booked_full(), initiated(1, 100'000), PaymentFailed{booking_id, ref(1), 1, "declined"}});
    CHECK(s.payment_status == PaymentStatus::failed);
    InitiatePayment c = initiate_as_due(s);
    CHECK(c.reference == ref(1, 2));
    then_events(when(s, c, client), {"PaymentInitiated"});
  }
  SECTION("a split plan: the deposit, then the balance") {
    BookingState s = given({booked_split()});
    InitiatePayment first = initiate_as_due(s);
    CHECK(first.installment == 1);
    CHECK(first.amount == ngn(30'000));
    s = given(split_deposit_held());
    InitiatePayment second = initiate_as_due(s);
    CHECK(second.installment == 2);
    CHECK(second.amount == ngn(70'000));
    CHECK(second.reference == ref(2, 1));
    Decision d = when(s, second, client);
    then_events(d, {"PaymentInitiated"});
    CHECK(after(s, d).payment_status == PaymentStatus::partially_paid);
  }
  SECTION("pay_by is inclusive, and a booking with money in it does not expire") {
    BookingCreated terms = booked_split();
    terms.pay_by_ms = t0;
    CHECK(std::holds_alternative<PaymentDue>(next_payment(given({terms}), t0)));
    BookingState deposit_paid = given({terms, initiated(1, 30'000), captured(1, 30'000)});
    CHECK(std::get<PaymentDue>(next_payment(deposit_paid, t0 + 1)).installment == 2);
  }
}

// ---- CapturePayment ----------------------------------------------------------------------------

TEST_CASE("CapturePayment: a full payment enters escrow", "[decider]") {
  const Events history = {booked_full(), initiated(1, 100'000)};
  BookingState s = given(history);
  Decision d = when(s, capture_of(1, ngn(100'000)), marketplace);
  then_events(d, {"PaymentCaptured"});
  const auto& e = event_at<PaymentCaptured>(d, 0);
  CHECK(e.reference == ref(1));
  CHECK(e.installment == 1);
  CHECK(e.amount == ngn(100'000));
  CHECK(e.paystack_transaction_id == txn(1));
  CHECK(e.paystack_fee == ngn(150));
  CHECK(e.source == "webhook");

  BookingState held = after(s, d);
  CHECK(held.status == BookingStatus::pending_execution);
  CHECK(held.payment_status == PaymentStatus::escrow);
  CHECK(held.held_minor() == 100'000);
  CHECK(triples(e) ==
        std::vector<Triple>{{"paystack:clearing", escrow_account(booking_id), 100'000},
                            {"platform:paystack_fees", "paystack:clearing", 150}});
  Books books(history);
  books.post(d);
  CHECK(books.escrow() == 100'000);

  SECTION("the same capture again changes nothing (rule 2)") {
    then_nothing(when(held, capture_of(1, ngn(100'000)), marketplace));
  }
  SECTION("a capture of a reference we never stored, with its installment, is accepted") {
    CapturePayment c = capture_of(1, ngn(100'000));
    c.reference = "paystack-retry-abc123";
    c.installment = 1;
    Decision first = when(given({booked_full()}), c, marketplace);
    then_events(first, {"PaymentCaptured"});
    CHECK(event_at<PaymentCaptured>(first, 0).reference == "paystack-retry-abc123");
    CHECK(after(given({booked_full()}), first).held_minor() == 100'000);
  }
  SECTION("a capture after a recorded failure of the same reference still counts") {
    BookingState failed = given(history + Events{PaymentFailed{booking_id, ref(1), 1, "timeout"}});
    then_events(when(failed, capture_of(1, ngn(100'000)), marketplace), {"PaymentCaptured"});
  }
}

TEST_CASE("CapturePayment: a split plan holds the deposit, then all", "[decider]") {
  BookingState s = given({booked_split(), initiated(1, 30'000)});
  Decision deposit = when(s, capture_of(1, ngn(30'000)), marketplace);
  then_events(deposit, {"PaymentCaptured"});
  s = after(s, deposit);
  CHECK(s.payment_status == PaymentStatus::partially_paid);
  CHECK(s.status == BookingStatus::pending_execution);
  CHECK(s.held_minor() == 30'000);

  s = after(s, when(s, initiate_as_due(s), client));
  Decision balance = when(s, capture_of(2, ngn(70'000)), marketplace);
  then_events(balance, {"PaymentCaptured"});
  s = after(s, balance);
  CHECK(s.payment_status == PaymentStatus::escrow);
  CHECK(s.held_minor() == 100'000);
}

TEST_CASE("CapturePayment: a mismatched amount or currency is flagged, never in escrow",
          "[decider]") {
  BookingState s = given({booked_full(), initiated(1, 100'000)});
  SECTION("amount") {
    Decision d = when(s, capture_of(1, ngn(99'999)), marketplace);
    then_events(d, {"PaymentFlagged"});
    const auto& f = event_at<PaymentFlagged>(d, 0);
    CHECK(f.reference == ref(1));
    CHECK(f.expected == ngn(100'000));
    CHECK(f.received == ngn(99'999));
    CHECK(f.paystack_transaction_id == txn(1));
    CHECK(postings_for(f).empty());
    BookingState flagged = after(s, d);
    CHECK(flagged.held_minor() == 0);
    CHECK(flagged.charges.front().status == ChargeStatus::flagged);
    CHECK(flagged.status == BookingStatus::awaiting_payment);

    SECTION("the same report again changes nothing") {
      then_nothing(when(flagged, capture_of(1, ngn(99'999)), marketplace));
    }
    SECTION("and the installment is still due, under a new reference") {
      CHECK(std::get<PaymentDue>(next_payment(flagged, t0)).reference == ref(1, 2));
    }
  }
  SECTION("currency") {
    Decision d = when(s, capture_of(1, usd(100'000)), marketplace);
    then_events(d, {"PaymentFlagged"});
    CHECK(event_at<PaymentFlagged>(d, 0).received == usd(100'000));
    CHECK(after(s, d).held_minor() == 0);
  }
  SECTION("a split deposit paid at the balance's amount") {
    BookingState split = given({booked_split(), initiated(1, 30'000)});
    Decision d = when(split, capture_of(1, ngn(70'000)), marketplace);
    then_events(d, {"PaymentFlagged"});
    CHECK(event_at<PaymentFlagged>(d, 0).expected == ngn(30'000));
  }
}

TEST_CASE("CapturePayment: money paid twice or too late goes straight back", "[decider]") {
  SECTION("a second checkout of a paid installment is refunded at once") {
    Events history = {booked_full(), initiated(1, 100'000), initiated(1, 100'000, 2),
                      captured(1, 100'000)};
    BookingState s = given(history);
    Decision d = when(s, capture_of(1, ngn(100'000), 2), marketplace);
    then_events(d, {"PaymentCaptured", "RefundRequested"});
    const auto& r = event_at<RefundRequested>(d, 1);
    CHECK(r.refund_id == refund_id(1));
    CHECK(r.payment_reference == ref(1, 2));
    CHECK(r.paystack_transaction_id == txn(1, 2));
    CHECK(r.amount == ngn(100'000));
    CHECK(r.reason == "duplicate_payment");
    CHECK(r.client_id == client_id);
    BookingState s2 = after(s, d);
    CHECK(s2.held_minor() == 100'000);  // the duplicate never held
    CHECK(s2.captured_minor == 200'000);
    CHECK(s2.payment_status == PaymentStatus::escrow);  // the booking's money is still held
    CHECK(s2.status == BookingStatus::pending_execution);
    Books books(history);
    books.post(d);
    CHECK(books.escrow() == 100'000);
    CHECK(books.refund_in_flight() == 100'000);
  }
  SECTION("a capture on a cancelled booking is refunded as late") {
    BookingState s = given({booked_full(), initiated(1, 100'000), cancelled_by_client(0)});
    Decision d = when(s, capture_of(1, ngn(100'000)), marketplace);
    then_events(d, {"PaymentCaptured", "RefundRequested"});
    CHECK(event_at<RefundRequested>(d, 1).reason == "late_payment");
    BookingState s2 = after(s, d);
    CHECK(s2.held_minor() == 0);
    CHECK(s2.status == BookingStatus::cancelled);
    CHECK(s2.payment_status == PaymentStatus::refunding);
  }
  SECTION("a balance paid after an admin refunded the deposit is refunded as late") {
    Events history =
        split_deposit_held() + Events{initiated(2, 70'000), dispute_by_client(),
                                      DisputeResolved{booking_id, provider_id, "refund", ngn(0),
                                                      ngn(30'000), ngn(0), ngn(0), "", admin.id},
                                      refund_requested(1, 1, 30'000, "dispute")};
    BookingState s = given(history);
    Decision d = when(s, capture_of(2, ngn(70'000)), marketplace);
    then_events(d, {"PaymentCaptured", "RefundRequested"});
    const auto& r = event_at<RefundRequested>(d, 1);
    CHECK(r.reason == "late_payment");
    CHECK(r.refund_id == refund_id(2));
    CHECK(r.payment_reference == ref(2));
    CHECK(after(s, d).held_minor() == 0);
  }
}

// ---- FailPayment -------------------------------------------------------------------------------

TEST_CASE("FailPayment: only a pending checkout fails", "[decider]") {
  BookingState s = given({booked_full(), initiated(1, 100'000)});
  Decision d = when(s, FailPayment{ref(1), "Declined"}, marketplace);
  then_events(d, {"PaymentFailed"});
  CHECK(event_at<PaymentFailed>(d, 0).installment == 1);
  CHECK(event_at<PaymentFailed>(d, 0).reason == "Declined");
  BookingState failed = after(s, d);
  CHECK(failed.payment_status == PaymentStatus::failed);
  CHECK(postings_for(d.events[0]).empty());

  SECTION("failing it again changes nothing") {
    then_nothing(when(failed, FailPayment{ref(1), "Declined"}, marketplace));
  }
  SECTION("a captured charge stays captured") {
    then_nothing(when(given(full_held()), FailPayment{ref(1), "late abandon"}, marketplace));
  }
}

// ---- SubmitProof -------------------------------------------------------------------------------

TEST_CASE("SubmitProof: the provider's proof starts the auto-confirm clock", "[decider]") {
  BookingState s = given(full_held());
  SubmitProof p{"fixed",
                std::vector<ProofFile>(10, ProofFile{"ab12", "image/jpeg", "a.jpg", 99}),
                {ProofLink{"https://example.com/v"}}};
  Decision d = when(s, p, provider, t0);
  then_events(d, {"ProofSubmitted"});
  const auto& e = event_at<ProofSubmitted>(d, 0);
  CHECK(e.files.size() == 10);
  CHECK(e.attachments.size() == 1);
  CHECK(e.auto_confirm_at_ms == deadline);
  BookingState s2 = after(s, d);
  CHECK(s2.status == BookingStatus::awaiting_confirmation);
  CHECK(s2.auto_confirm_at_ms == deadline);

  SECTION("with auto-confirm disabled there is no deadline") {
    BookingState off =
        given({booked_full(100'000, 500, 0), initiated(1, 100'000), captured(1, 100'000)});
    Decision d2 = when(off, SubmitProof{"done"}, provider, t0);
    then_events(d2, {"ProofSubmitted"});
    CHECK_FALSE(event_at<ProofSubmitted>(d2, 0).auto_confirm_at_ms.has_value());
  }
  SECTION("a deposit held is enough") {
    then_events(when(given(split_deposit_held()), SubmitProof{"done"}, provider),
                {"ProofSubmitted"});
  }
}

// ---- ConfirmCompletion -------------------------------------------------------------------------

TEST_CASE("ConfirmCompletion: the client's approval releases net and fee in one event",
          "[decider]") {
  BookingState s = given(full_with_proof());
  Decision d = when(s, ConfirmCompletion{}, client, t0 + 5);
  then_events(d, {"CompletionConfirmed", "FundsReleased"});
  const auto& c = event_at<CompletionConfirmed>(d, 0);
  CHECK(c.confirmed_by == client_id);
  CHECK(c.role == "client");
  CHECK(c.with_proof);
  const auto& r = event_at<FundsReleased>(d, 1);
  CHECK(r.provider_id == provider_id);
  CHECK(r.gross == ngn(100'000));
  CHECK(r.fee == ngn(5'000));
  CHECK(r.provider_net == ngn(95'000));
  CHECK(r.reason == "client_approved");
  CHECK(triples(r) ==
        std::vector<Triple>{{escrow_account(booking_id), "provider:provider-1:available", 95'000},
                            {escrow_account(booking_id), "platform:fees", 5'000}});
  BookingState done = after(s, d);
  CHECK(done.status == BookingStatus::completed);
  CHECK(done.payment_status == PaymentStatus::released);
  CHECK(done.held_minor() == 0);
  CHECK_FALSE(done.auto_confirm_at_ms.has_value());
  Books books(full_with_proof());
  books.post(d);
  CHECK(books.escrow() == 0);
  CHECK(books.available() == 95'000);
}

TEST_CASE("ConfirmCompletion: an admin may release without proof, recorded as such", "[decider]") {
  Decision d = when(given(full_held()), ConfirmCompletion{}, admin);
  then_events(d, {"CompletionConfirmed", "FundsReleased"});
  CHECK(event_at<CompletionConfirmed>(d, 0).role == "admin");
  CHECK(event_at<CompletionConfirmed>(d, 0).confirmed_by == admin.id);
  CHECK_FALSE(event_at<CompletionConfirmed>(d, 0).with_proof);
  CHECK(event_at<FundsReleased>(d, 1).reason == "admin_released");
}

TEST_CASE("release waits for full payment: an early approval releases at the last capture",
          "[decider]") {
  BookingState s = given(split_deposit_held() + Events{proof_submitted()});
  Decision approve = when(s, ConfirmCompletion{}, client);
  then_events(approve, {"CompletionConfirmed"});  // only the deposit is held
  s = after(s, approve);
  CHECK(s.approved);
  CHECK(s.held_minor() == 30'000);
  CHECK(s.status == BookingStatus::awaiting_confirmation);

  s = after(s, when(s, initiate_as_due(s), client));
  Decision balance = when(s, capture_of(2, ngn(70'000)), marketplace);
  then_events(balance, {"PaymentCaptured", "FundsReleased"});
  const auto& r = event_at<FundsReleased>(balance, 1);
  CHECK(r.gross == ngn(100'000));
  CHECK(r.fee == ngn(5'000));
  CHECK(r.provider_net == ngn(95'000));
  CHECK(r.reason == "client_approved");
  BookingState done = after(s, balance);
  CHECK(done.status == BookingStatus::completed);
  CHECK(done.held_minor() == 0);

  SECTION("but not while a dispute is open") {
    BookingState disputed = after(s, Decision{{dispute_by_client()}, std::nullopt});
    then_events(when(disputed, capture_of(2, ngn(70'000)), marketplace), {"PaymentCaptured"});
  }
}

// ---- AutoConfirm -------------------------------------------------------------------------------

TEST_CASE("AutoConfirm: at the deadline, with no dispute, the scheduler releases", "[decider]") {
  BookingState s = given(full_with_proof());
  Decision d = when(s, AutoConfirm{}, scheduler, deadline);
  then_events(d, {"AutoConfirmed", "FundsReleased"});
  CHECK(event_at<AutoConfirmed>(d, 0).deadline_ms == deadline);
  CHECK(event_at<FundsReleased>(d, 1).reason == "auto_confirmed");
  CHECK(event_at<FundsReleased>(d, 1).provider_net == ngn(95'000));
  BookingState done = after(s, d);
  CHECK(done.auto_confirmed);
  CHECK(done.status == BookingStatus::completed);

  SECTION("with only the deposit held, the release waits for the balance") {
    BookingState split = given(split_deposit_held() + Events{proof_submitted()});
    Decision early = when(split, AutoConfirm{}, scheduler, deadline + 10);
    then_events(early, {"AutoConfirmed"});
    split = after(split, early);
    split = after(split, when(split, initiate_as_due(split), client));
    Decision balance = when(split, capture_of(2, ngn(70'000)), marketplace);
    then_events(balance, {"PaymentCaptured", "FundsReleased"});
    CHECK(event_at<FundsReleased>(balance, 1).reason == "auto_confirmed");
  }
}

// ---- OpenDispute -------------------------------------------------------------------------------

TEST_CASE("OpenDispute: freezes the escrow and the auto-confirm clock", "[decider]") {
  BookingState s = given(full_with_proof());
  Decision d = when(s, OpenDispute{"not_done", "still leaks"}, client, t0 + 1'000);
  then_events(d, {"DisputeOpened"});
  const auto& e = event_at<DisputeOpened>(d, 0);
  CHECK(e.opened_by == client_id);
  CHECK(e.role == "client");
  CHECK(e.source == "party");
  CHECK(e.auto_confirm_remaining_ms == deadline - t0 - 1'000);
  CHECK(postings_for(e).empty());
  BookingState disputed = after(s, d);
  CHECK(disputed.status == BookingStatus::disputed);
  CHECK(disputed.dispute_open());
  CHECK_FALSE(disputed.auto_confirm_at_ms.has_value());
  then_rejected(when(disputed, AutoConfirm{}, scheduler, deadline + 1), Rejection::dispute_open);
  then_rejected(when(disputed, ConfirmCompletion{}, client), Rejection::dispute_open);

  SECTION("the provider may open one before proof") {
    Decision p = when(given(full_held()), OpenDispute{"client_absent", ""}, provider);
    then_events(p, {"DisputeOpened"});
    CHECK(event_at<DisputeOpened>(p, 0).role == "provider");
    CHECK_FALSE(event_at<DisputeOpened>(p, 0).auto_confirm_remaining_ms.has_value());
  }
  SECTION("a Paystack chargeback opens one for the service") {
    Decision c =
        when(given(full_held()), OpenDispute{"chargeback", "", "chargeback", 4242}, marketplace);
    then_events(c, {"DisputeOpened"});
    CHECK(event_at<DisputeOpened>(c, 0).source == "chargeback");
    CHECK(event_at<DisputeOpened>(c, 0).paystack_dispute_id == 4242);
  }
  SECTION("past the deadline the remaining time is zero") {
    Decision late = when(s, OpenDispute{"x", ""}, client, deadline + 5);
    CHECK(event_at<DisputeOpened>(late, 0).auto_confirm_remaining_ms == 0);
  }
}

// ---- ResolveDispute ----------------------------------------------------------------------------

TEST_CASE("ResolveDispute: release, refund or split by an admin", "[decider]") {
  const Events history = split_fully_held() + Events{proof_submitted(), dispute_by_client()};
  BookingState s = given(history);
  Books books(history);

  SECTION("release: all to the provider, less the fee") {
    Decision d = when(s, ResolveDispute{"release", {}, {}, "work is fine"}, admin);
    then_events(d, {"DisputeResolved"});
    const auto& e = event_at<DisputeResolved>(d, 0);
    CHECK(e.outcome == "release");
    CHECK(e.provider_amount == ngn(100'000));
    CHECK(e.refund_amount == ngn(0));
    CHECK(e.fee == ngn(5'000));
    CHECK(e.provider_net == ngn(95'000));
    CHECK(e.resolved_by == admin.id);
    CHECK(e.note == "work is fine");
    BookingState done = after(s, d);
    CHECK(done.status == BookingStatus::completed);
    CHECK(done.payment_status == PaymentStatus::released);
    books.post(d);
    CHECK(books.escrow() == 0);
    CHECK(books.available() == 95'000);
  }
  SECTION("refund: all to the client, one refund per captured charge") {
    Decision d = when(s, ResolveDispute{"refund", {}, {}, "no show"}, admin);
    then_events(d, {"DisputeResolved", "RefundRequested", "RefundRequested"});
    const auto& e = event_at<DisputeResolved>(d, 0);
    CHECK(e.provider_amount == ngn(0));
    CHECK(e.refund_amount == ngn(100'000));
    CHECK(e.fee == ngn(0));
    const auto& r1 = event_at<RefundRequested>(d, 1);
    const auto& r2 = event_at<RefundRequested>(d, 2);
    CHECK(r1.payment_reference == ref(1));
    CHECK(r1.amount == ngn(30'000));
    CHECK(r1.paystack_transaction_id == txn(1));
    CHECK(r2.payment_reference == ref(2));
    CHECK(r2.amount == ngn(70'000));
    CHECK(r1.reason == "dispute");
    CHECK(r1.refund_id == refund_id(1));
    CHECK(r2.refund_id == refund_id(2));
    BookingState done = after(s, d);
    CHECK(done.status == BookingStatus::refunded);
    CHECK(done.payment_status == PaymentStatus::refunding);
    CHECK(done.held_minor() == 0);
    books.post(d);
    CHECK(books.escrow() == 0);
    CHECK(books.refund_in_flight() == 100'000);
    CHECK(books.available() == 0);
  }
  SECTION("split: the fee applies to the provider part only") {
    Decision d = when(s, split_resolution(60'000, 40'000), admin);
    then_events(d, {"DisputeResolved", "RefundRequested", "RefundRequested"});
    const auto& e = event_at<DisputeResolved>(d, 0);
    CHECK(e.outcome == "split");
    CHECK(e.provider_amount == ngn(60'000));
    CHECK(e.refund_amount == ngn(40'000));
    CHECK(e.fee == ngn(3'000));
    CHECK(e.provider_net == ngn(57'000));
    CHECK(event_at<RefundRequested>(d, 1).amount == ngn(30'000));  // the deposit in full
    CHECK(event_at<RefundRequested>(d, 2).amount == ngn(10'000));  // then part of the balance
    BookingState done = after(s, d);
    CHECK(done.status == BookingStatus::completed);
    CHECK(done.payment_status == PaymentStatus::split);
    CHECK(done.held_minor() == 0);
    books.post(d);
    CHECK(books.escrow() == 0);
    CHECK(books.available() == 57'000);
    CHECK(books.balance(platform_fees_account) == 3'000);
    CHECK(books.refund_in_flight() == 40'000);
  }
  SECTION("a split that fits one charge refunds only that charge") {
    Decision d = when(s, split_resolution(75'000, 25'000), admin);
    then_events(d, {"DisputeResolved", "RefundRequested"});
    CHECK(event_at<RefundRequested>(d, 1).amount == ngn(25'000));
    CHECK(event_at<RefundRequested>(d, 1).payment_reference == ref(1));
  }
  SECTION("a split of only the deposit, with the balance unpaid") {
    BookingState deposit = given(split_deposit_held() + Events{dispute_by_client()});
    Decision d = when(deposit, split_resolution(10'001, 19'999), admin);
    then_events(d, {"DisputeResolved", "RefundRequested"});
    CHECK(event_at<DisputeResolved>(d, 0).fee == ngn(500));  // floor(500.05)
    CHECK(event_at<DisputeResolved>(d, 0).provider_net == ngn(9'501));
  }
}

// ---- CancelBooking -----------------------------------------------------------------------------

TEST_CASE("CancelBooking: held money is refunded in full", "[decider]") {
  SECTION("the client, before anything is paid: nothing to refund") {
    BookingState s = given({booked_full(), initiated(1, 100'000)});
    Decision d = when(s, CancelBooking{"changed my mind"}, client);
    then_events(d, {"BookingCancelled"});
    CHECK(event_at<BookingCancelled>(d, 0).refund_amount == ngn(0));
    CHECK(after(s, d).status == BookingStatus::cancelled);
  }
  SECTION("the client, with money held and no proof") {
    BookingState s = given(full_held());
    Decision d = when(s, CancelBooking{"changed my mind"}, client);
    then_events(d, {"BookingCancelled", "RefundRequested"});
    CHECK(event_at<BookingCancelled>(d, 0).refund_amount == ngn(100'000));
    CHECK(event_at<BookingCancelled>(d, 0).cancelled_by == client_id);
    const auto& r = event_at<RefundRequested>(d, 1);
    CHECK(r.amount == ngn(100'000));
    CHECK(r.reason == "cancellation");
    CHECK(r.payment_reference == ref(1));
    BookingState cancelled = after(s, d);
    CHECK(cancelled.payment_status == PaymentStatus::refunding);
    CHECK(cancelled.held_minor() == 0);
  }
  SECTION("the provider gives the job up after proof: both charges of a split plan") {
    BookingState s = given(split_fully_held() + Events{proof_submitted()});
    Decision d = when(s, CancelBooking{"cannot finish"}, provider);
    then_events(d, {"BookingCancelled", "RefundRequested", "RefundRequested"});
    CHECK(event_at<BookingCancelled>(d, 0).role == "provider");
    CHECK(event_at<RefundRequested>(d, 1).amount == ngn(30'000));
    CHECK(event_at<RefundRequested>(d, 2).amount == ngn(70'000));
    CHECK(event_at<RefundRequested>(d, 2).refund_id == refund_id(2));
  }
  SECTION("an admin, with the deposit held") {
    BookingState s = given(split_deposit_held() + Events{proof_submitted()});
    Decision d = when(s, CancelBooking{"fraud"}, admin);
    then_events(d, {"BookingCancelled", "RefundRequested"});
    CHECK(event_at<RefundRequested>(d, 1).amount == ngn(30'000));
  }
}

// ---- RecordRefundOutcome and RetryRefund -------------------------------------------------------

TEST_CASE("RecordRefundOutcome: Paystack's word on a refund", "[decider]") {
  BookingState s = given(full_cancelled());
  Books books(full_cancelled());

  SECTION("pending, processing and needs_attention move no money; repeats change nothing") {
    Decision pending =
        when(s, RecordRefundOutcome{refund_id(1), RefundStatus::pending, 555, ""}, marketplace);
    then_events(pending, {"RefundUpdated"});
    CHECK(event_at<RefundUpdated>(pending, 0).status == "pending");
    CHECK(event_at<RefundUpdated>(pending, 0).paystack_refund_id == 555);
    CHECK(postings_for(pending.events[0]).empty());
    BookingState p = after(s, pending);
    then_nothing(
        when(p, RecordRefundOutcome{refund_id(1), RefundStatus::pending, 555, ""}, marketplace));
    then_nothing(when(p, RecordRefundOutcome{refund_id(1), RefundStatus::pending, {}, ""},
                      marketplace));  // a report without the id says nothing new

    Decision attention = when(
        p, RecordRefundOutcome{refund_id(1), RefundStatus::needs_attention, {}, ""}, scheduler);
    then_events(attention, {"RefundUpdated"});
    CHECK(event_at<RefundUpdated>(attention, 0).status == "needs_attention");
    CHECK(event_at<RefundUpdated>(attention, 0).paystack_refund_id == 555);  // kept
    BookingState a = after(p, attention);
    CHECK(a.refunds.front().status == RefundStatus::needs_attention);
    Decision processing =
        when(a, RecordRefundOutcome{refund_id(1), RefundStatus::processing, 555, ""}, admin);
    then_events(processing, {"RefundUpdated"});
    CHECK(event_at<RefundUpdated>(processing, 0).status == "processing");
  }
  SECTION("processed: the money reached the client; a second report changes nothing") {
    Decision d =
        when(s, RecordRefundOutcome{refund_id(1), RefundStatus::processed, 556, ""}, marketplace);
    then_events(d, {"RefundProcessed"});
    const auto& e = event_at<RefundProcessed>(d, 0);
    CHECK(e.amount == ngn(100'000));
    CHECK(e.paystack_refund_id == 556);
    CHECK(e.client_id == client_id);
    BookingState done = after(s, d);
    CHECK(done.payment_status == PaymentStatus::refunded);
    books.post(d);
    CHECK(books.refund_in_flight() == 0);
    CHECK(books.balance(paystack_clearing_account) == 150);  // we paid back Paystack's fee too
    then_nothing(when(done, RecordRefundOutcome{refund_id(1), RefundStatus::processed, 556, ""},
                      marketplace));
    then_nothing(
        when(done, RecordRefundOutcome{refund_id(1), RefundStatus::failed, {}, "x"}, marketplace));
  }
  SECTION("failed: the money is back in escrow until a retry with a new refund id") {
    Decision d = when(s, RecordRefundOutcome{refund_id(1), RefundStatus::failed, {}, "closed acct"},
                      marketplace);
    then_events(d, {"RefundFailed"});
    CHECK(event_at<RefundFailed>(d, 0).amount == ngn(100'000));
    CHECK(event_at<RefundFailed>(d, 0).reason == "closed acct");
    BookingState failed = after(s, d);
    CHECK(failed.held_minor() == 100'000);
    CHECK(failed.payment_status == PaymentStatus::refunding);
    books.post(d);
    CHECK(books.escrow() == 100'000);
    CHECK(books.refund_in_flight() == 0);
    then_nothing(when(failed, RecordRefundOutcome{refund_id(1), RefundStatus::failed, {}, "x"},
                      marketplace));
    then_nothing(when(failed, RecordRefundOutcome{refund_id(1), RefundStatus::processed, 1, ""},
                      marketplace));

    Decision retry = when(failed, RetryRefund{refund_id(1)}, admin);
    then_events(retry, {"RefundRequested"});
    const auto& r = event_at<RefundRequested>(retry, 0);
    CHECK(r.refund_id == refund_id(2));
    CHECK(r.refund_id != refund_id(1));
    CHECK(r.payment_reference == ref(1));
    CHECK(r.paystack_transaction_id == txn(1));
    CHECK(r.amount == ngn(100'000));
    CHECK(r.reason == "retry");
    CHECK(r.attempt == 2);
    BookingState retried = after(failed, retry);
    CHECK(retried.held_minor() == 0);
    CHECK(retried.refunds.front().retried);
    books.post(retry);
    CHECK(books.escrow() == 0);
    CHECK(books.refund_in_flight() == 100'000);

    Decision ok =
        when(retried, RecordRefundOutcome{refund_id(2), RefundStatus::processed, 9, ""}, scheduler);
    then_events(ok, {"RefundProcessed"});
    CHECK(after(retried, ok).payment_status == PaymentStatus::refunded);
  }
}

// ---- a refund that fails while the booking is still open ---------------------------------------

TEST_CASE("a failed refund of a duplicate payment stays the client's money", "[decider]") {
  // Rule 10: the duplicate is owed to the client until its refund is retried. No release,
  // cancellation or resolution may move it (nor fail to cover it).
  const Events history = {booked_full(),
                          initiated(1, 100'000),
                          initiated(1, 100'000, 2),
                          captured(1, 100'000),
                          captured(1, 100'000, 2),
                          refund_requested(1, 1, 100'000, "duplicate_payment", 1, 2),
                          refund_failed(1, 100'000),
                          proof_submitted()};
  BookingState s = given(history);
  Books books(history);
  REQUIRE(s.held_minor() == 200'000);
  REQUIRE(books.escrow() == 200'000);

  SECTION("the client's approval releases the booking's amount only") {
    Decision d = when(s, ConfirmCompletion{}, client);
    then_events(d, {"CompletionConfirmed", "FundsReleased"});
    CHECK(event_at<FundsReleased>(d, 1).gross == ngn(100'000));
    BookingState done = after(s, d);
    CHECK(done.held_minor() == 100'000);
    Decision retry = when(done, RetryRefund{refund_id(1)}, scheduler);
    then_events(retry, {"RefundRequested"});
    CHECK(after(done, retry).held_minor() == 0);
  }
  SECTION("a cancellation refunds the booking's charge and leaves the retry to come") {
    Decision d = when(s, CancelBooking{"gave up"}, provider);
    then_events(d, {"BookingCancelled", "RefundRequested"});
    CHECK(event_at<BookingCancelled>(d, 0).refund_amount == ngn(100'000));
    CHECK(event_at<RefundRequested>(d, 1).payment_reference == ref(1, 1));
    BookingState cancelled = after(s, d);
    CHECK(cancelled.held_minor() == 100'000);
    CHECK(cancelled.payment_status == PaymentStatus::refunding);
    then_events(when(cancelled, RetryRefund{refund_id(1)}, scheduler), {"RefundRequested"});
  }
  SECTION("a resolution divides the booking's amount only") {
    BookingState disputed = after(s, Decision{{dispute_by_client()}, std::nullopt});
    then_rejected(when(disputed, split_resolution(100'000, 100'000), admin),
                  Rejection::invalid_resolution);
    Decision d = when(disputed, ResolveDispute{"refund", {}, {}, ""}, admin);
    then_events(d, {"DisputeResolved", "RefundRequested"});
    CHECK(event_at<DisputeResolved>(d, 0).refund_amount == ngn(100'000));
    CHECK(event_at<RefundRequested>(d, 1).payment_reference == ref(1, 1));
  }
}

// ---- provider: payout account, payouts, withdrawals ---------------------------------------------

TEST_CASE("RegisterPayoutAccount: the provider, the service or an admin", "[decider][provider]") {
  for (const Actor& a : {provider, marketplace, admin}) {
    Decision d = when(ProviderState{},
                      RegisterPayoutAccount{"RCP_abc", "058", "Ada Obi", "6789", Currency::NGN}, a);
    then_events(d, {"PayoutAccountRegistered"});
    const auto& e = event_at<PayoutAccountRegistered>(d, 0);
    CHECK(e.provider_id == provider_id);
    CHECK(e.recipient_code == "RCP_abc");
    CHECK(e.currency == Currency::NGN);
    ProviderState s = after(ProviderState{}, d);
    REQUIRE(s.account.has_value());
    CHECK(s.account->account_number_last4 == "6789");
  }
}

TEST_CASE("PayOutRelease: released money goes out when an account exists", "[decider][provider]") {
  SECTION("no account: it waits in the available balance") {
    then_nothing(when(ProviderState{}, PayOutRelease{booking_id, ngn(95'000)}, scheduler));
  }
  SECTION("an account in another currency: it waits too") {
    then_nothing(when(given_provider({account_registered(Currency::GHS)}),
                      PayOutRelease{booking_id, ngn(95'000)}, scheduler));
  }
  SECTION("nothing released: nothing to pay") {
    then_nothing(
        when(given_provider({account_registered()}), PayOutRelease{booking_id, ngn(0)}, scheduler));
  }
  SECTION("an account: one transfer attempt") {
    Decision d = when(given_provider({account_registered()}),
                      PayOutRelease{booking_id, ngn(95'000)}, scheduler);
    then_events(d, {"PayoutRequested"});
    const auto& p = event_at<PayoutRequested>(d, 0);
    CHECK(p.payout_id == payout_ref(1));
    CHECK(p.reference == payout_ref(1));
    CHECK(p.recipient_code == "RCP_abc");
    CHECK(p.amount == ngn(95'000));
    CHECK(p.source == "release");
    CHECK(p.booking_id == booking_id);
    CHECK(p.attempt == 1);
    CHECK_FALSE(p.retry_of.has_value());
    CHECK(triples(p) == std::vector<Triple>{{"provider:provider-1:available",
                                             "provider:provider-1:in_flight", 95'000}});
  }
}

TEST_CASE("RequestWithdrawal: any part of the available balance", "[decider][provider]") {
  ProviderState s = given_provider({account_registered()});
  Decision d = when(s, RequestWithdrawal{ngn(95'000), ngn(95'000)}, provider);
  then_events(d, {"WithdrawalRequested", "PayoutRequested"});
  const auto& w = event_at<WithdrawalRequested>(d, 0);
  CHECK(w.withdrawal_id == withdrawal_id_for(provider_id, 1));
  CHECK(w.amount == ngn(95'000));
  CHECK(postings_for(w).empty());
  const auto& p = event_at<PayoutRequested>(d, 1);
  CHECK(p.source == "withdrawal");
  CHECK(p.withdrawal_id == w.withdrawal_id);
  CHECK_FALSE(p.booking_id.has_value());
  ProviderState s2 = after(s, d);
  CHECK(s2.withdrawals == 1);
  Decision second = when(s2, RequestWithdrawal{ngn(1), ngn(1)}, provider);
  CHECK(event_at<WithdrawalRequested>(second, 0).withdrawal_id ==
        withdrawal_id_for(provider_id, 2));
  CHECK(event_at<PayoutRequested>(second, 1).payout_id == payout_ref(2));
}

TEST_CASE("RequestWithdrawal with a request key: run again, it withdraws nothing more",
          "[decider][provider]") {
  ProviderState s = given_provider({account_registered()});
  Decision first = when(s, RequestWithdrawal{ngn(60'000), ngn(95'000), "key-1"}, provider);
  then_events(first, {"WithdrawalRequested", "PayoutRequested"});
  const std::string id = withdrawal_id_for_key(provider_id, "key-1");
  CHECK(std::regex_match(id, std::regex("wd-[0-9a-f]{16}")));
  CHECK(event_at<WithdrawalRequested>(first, 0).withdrawal_id == id);
  CHECK(event_at<PayoutRequested>(first, 1).withdrawal_id == id);
  ProviderState s2 = after(s, first);

  // The same request re-run after a crash: a no-op, even though the balance left (35,000)
  // could no longer pay it.
  then_nothing(when(s2, RequestWithdrawal{ngn(60'000), ngn(35'000), "key-1"}, provider));
  // Another key, or none, is another withdrawal.
  Decision other = when(s2, RequestWithdrawal{ngn(1'000), ngn(35'000), "key-2"}, provider);
  then_events(other, {"WithdrawalRequested", "PayoutRequested"});
  CHECK(event_at<WithdrawalRequested>(other, 0).withdrawal_id ==
        withdrawal_id_for_key(provider_id, "key-2"));
  CHECK(event_at<PayoutRequested>(other, 1).payout_id == payout_ref(2));
  Decision unkeyed = when(s2, RequestWithdrawal{ngn(1'000), ngn(35'000)}, provider);
  CHECK(event_at<WithdrawalRequested>(unkeyed, 0).withdrawal_id ==
        withdrawal_id_for(provider_id, 2));
  // The key is the provider's: another provider's same key names another withdrawal.
  CHECK(withdrawal_id_for_key("provider-2", "key-1") != id);
  // Only the provider themself may withdraw, key or not.
  then_rejected(when(s2, RequestWithdrawal{ngn(60'000), ngn(35'000), "key-1"}, admin),
                Rejection::not_allowed);
}

TEST_CASE("RecordPayoutOutcome: the life of a transfer", "[decider][provider]") {
  const Events history = {account_registered(), payout_requested(1, 95'000)};
  ProviderState s = given_provider(history);
  Books books({captured(1, 100'000),
               FundsReleased{booking_id, provider_id, ngn(100'000), ngn(5'000), ngn(95'000), ""}});
  books.post(history);
  REQUIRE(books.in_flight() == 95'000);

  SECTION("pending, success; repeats change nothing") {
    Decision sent = when(s, RecordPayoutOutcome{payout_ref(1), PayoutStatus::pending, "TRF_1", 77},
                         marketplace);
    then_events(sent, {"PayoutSent"});
    CHECK(event_at<PayoutSent>(sent, 0).transfer_code == "TRF_1");
    CHECK(event_at<PayoutSent>(sent, 0).paystack_transfer_id == 77);
    ProviderState s2 = after(s, sent);
    then_nothing(when(s2, RecordPayoutOutcome{payout_ref(1), PayoutStatus::pending, "TRF_1", 77},
                      marketplace));
    Decision ok = when(s2, RecordPayoutOutcome{payout_ref(1), PayoutStatus::success}, marketplace);
    then_events(ok, {"PayoutSucceeded"});
    CHECK(event_at<PayoutSucceeded>(ok, 0).amount == ngn(95'000));
    ProviderState s3 = after(s2, ok);
    books.post(ok);
    CHECK(books.in_flight() == 0);
    CHECK(books.available() == 0);
    then_nothing(when(s3, RecordPayoutOutcome{payout_ref(1), PayoutStatus::success}, marketplace));
    then_nothing(when(s3, RecordPayoutOutcome{payout_ref(1), PayoutStatus::failed}, marketplace));
    then_nothing(when(s3, RecordPayoutOutcome{payout_ref(1), PayoutStatus::pending}, marketplace));
    then_nothing(when(s3, RecordPayoutOutcome{payout_ref(1), PayoutStatus::otp}, marketplace));

    SECTION("reversed after success: the money comes back to available") {
      Decision back =
          when(s3, RecordPayoutOutcome{payout_ref(1), PayoutStatus::reversed, "", {}, "bank"},
               marketplace);
      then_events(back, {"PayoutReversed"});
      CHECK(event_at<PayoutReversed>(back, 0).after_success);
      CHECK(triples(back.events[0]) ==
            std::vector<Triple>{{"paystack:clearing", "provider:provider-1:available", 95'000}});
      books.post(back);
      CHECK(books.available() == 95'000);
      ProviderState s4 = after(s3, back);
      then_nothing(
          when(s4, RecordPayoutOutcome{payout_ref(1), PayoutStatus::reversed}, marketplace));
      Decision retry = when(s4, RetryPayout{payout_ref(1), ngn(95'000)}, provider);
      then_events(retry, {"PayoutRequested"});
      CHECK(event_at<PayoutRequested>(retry, 0).attempt == 2);
      CHECK(event_at<PayoutRequested>(retry, 0).reference == payout_ref(2));
    }
  }
  SECTION("otp: an admin may finalize; then Paystack says pending") {
    CHECK(check_finalize(s, payout_ref(1)) == Rejection::payout_not_awaiting_otp);
    Decision otp = when(s, RecordPayoutOutcome{payout_ref(1), PayoutStatus::otp, "TRF_9"}, admin);
    then_events(otp, {"PayoutAwaitingOtp"});
    CHECK(event_at<PayoutAwaitingOtp>(otp, 0).transfer_code == "TRF_9");
    ProviderState waiting = after(s, otp);
    CHECK(waiting.payouts.front().status == PayoutStatus::otp);
    CHECK_FALSE(check_finalize(waiting, payout_ref(1)).has_value());
    then_nothing(
        when(waiting, RecordPayoutOutcome{payout_ref(1), PayoutStatus::otp, "TRF_9"}, admin));
    Decision sent =
        when(waiting, RecordPayoutOutcome{payout_ref(1), PayoutStatus::pending, "TRF_9"}, admin);
    then_events(sent, {"PayoutSent"});
    CHECK(after(waiting, sent).payouts.front().status == PayoutStatus::pending);
  }
  SECTION("failed: back to available, then a retry with a new reference") {
    Decision failed =
        when(s, RecordPayoutOutcome{payout_ref(1), PayoutStatus::failed, "", {}, "invalid account"},
             scheduler);
    then_events(failed, {"PayoutFailed"});
    CHECK(event_at<PayoutFailed>(failed, 0).amount == ngn(95'000));
    CHECK(event_at<PayoutFailed>(failed, 0).reason == "invalid account");
    books.post(failed);
    CHECK(books.available() == 95'000);
    CHECK(books.in_flight() == 0);
    ProviderState s2 = after(s, failed);
    then_nothing(when(s2, RecordPayoutOutcome{payout_ref(1), PayoutStatus::failed}, scheduler));
    then_nothing(when(s2, RecordPayoutOutcome{payout_ref(1), PayoutStatus::success}, scheduler));

    Decision retry = when(s2, RetryPayout{payout_ref(1), ngn(95'000)}, scheduler);
    then_events(retry, {"PayoutRequested"});
    const auto& p = event_at<PayoutRequested>(retry, 0);
    CHECK(p.source == "retry");
    CHECK(p.retry_of == payout_ref(1));
    CHECK(p.attempt == 2);
    CHECK(p.payout_id == payout_ref(2));
    CHECK(p.reference != payout_ref(1));
    CHECK(p.booking_id == booking_id);
    CHECK(p.amount == ngn(95'000));
    ProviderState s3 = after(s2, retry);
    CHECK(s3.find_payout(payout_ref(1))->retried);
    books.post(retry);
    CHECK(books.available() == 0);
    CHECK(books.in_flight() == 95'000);
  }
  SECTION("reversed before success: from in flight back to available") {
    Decision back = when(s, RecordPayoutOutcome{payout_ref(1), PayoutStatus::reversed}, scheduler);
    then_events(back, {"PayoutReversed"});
    CHECK_FALSE(event_at<PayoutReversed>(back, 0).after_success);
    CHECK(triples(back.events[0]) ==
          std::vector<Triple>{
              {"provider:provider-1:in_flight", "provider:provider-1:available", 95'000}});
  }
  SECTION("a queued report changes nothing") {
    then_nothing(when(s, RecordPayoutOutcome{payout_ref(1), PayoutStatus::queued}, scheduler));
  }
}

// ---- references --------------------------------------------------------------------------------

TEST_CASE("Paystack references are deterministic, lowercase [a-z0-9-], 16-50 chars",
          "[decider][references]") {
  const std::regex shape("[a-z0-9-]{16,50}");
  const std::string long_id(64, 'Z');
  for (const std::string& id :
       {std::string("booking-42"), std::string("Booking_ABC-9"), long_id, std::string("x")}) {
    for (const std::string& r :
         {payment_reference(id, 1, 1), payment_reference(id, 2, 999), payout_reference(id, 1),
          payout_reference(id, 12345), refund_id_for(id, 1), withdrawal_id_for(id, 77)}) {
      INFO(r);
      CHECK(std::regex_match(r, shape));
    }
  }
  CHECK(payment_reference("booking-42", 1, 1) == payment_reference("booking-42", 1, 1));
  CHECK(payment_reference("booking-42", 1, 1) != payment_reference("booking-42", 1, 2));
  CHECK(payment_reference("booking-42", 1, 1) != payment_reference("booking-42", 2, 1));
  CHECK(payment_reference("booking-42", 1, 1) != payment_reference("booking-43", 1, 1));
  CHECK(payment_reference("Booking", 1, 1) != payment_reference("booking", 1, 1));
  CHECK(payout_reference("p", 1) != payout_reference("p", 2));
  CHECK(refund_id_for("b", 1) != refund_id_for("b", 2));
}

// ---- postings ----------------------------------------------------------------------------------

TEST_CASE("every money event posts balanced double entries", "[decider][postings]") {
  // One history touching every money event; the books must balance after each event, escrow
  // must equal what the booking holds, and events that move no money post nothing.
  BookingState s;
  Books books;
  auto apply = [&](const Events& events) {
    for (const Event& e : events) {
      evolve(s, e);
      books.post(Events{e});
      CHECK(books.escrow() == s.held_minor());
    }
  };
  apply(split_fully_held());
  apply({initiated(1, 30'000, 2), captured(1, 30'000, 2),
         refund_requested(1, 1, 30'000, "duplicate_payment", 1, 2),
         RefundProcessed{booking_id, refund_id(1), client_id, ngn(30'000), 1}});
  apply({proof_submitted(), dispute_by_client()});
  Decision resolved = when(s, split_resolution(50'000, 50'000), admin);
  apply(resolved.events);
  apply({RefundFailed{booking_id, refund_id(2), client_id, ngn(30'000), "x"}});
  Decision retry = when(s, RetryRefund{refund_id(2)}, admin);
  apply(retry.events);
  CHECK(books.escrow() == 0);
  CHECK(books.available() == 47'500);
  CHECK(books.balance(platform_fees_account) == 2'500);
  CHECK(books.refund_in_flight() == 50'000);

  Books provider_books = books;
  provider_books.post(
      {account_registered(), payout_requested(1, 47'500),
       PayoutAwaitingOtp{provider_id, payout_ref(1), "T"},
       PayoutSucceeded{provider_id, payout_ref(1), ngn(47'500)},
       PayoutReversed{provider_id, payout_ref(1), "", ngn(47'500), true},
       WithdrawalRequested{provider_id, withdrawal_id_for(provider_id, 1), ngn(47'500)},
       payout_requested(2, 47'500, "withdrawal"),
       PayoutFailed{provider_id, payout_ref(2), "", ngn(47'500)}});
  CHECK(provider_books.available() == 47'500);
  CHECK(provider_books.in_flight() == 0);

  for (const Event& quiet :
       Events{booked_full(), initiated(1, 1), PaymentFailed{}, PaymentFlagged{}, proof_submitted(),
              client_approved(), AutoConfirmed{}, dispute_by_client(), cancelled_by_client(5),
              RefundUpdated{}, account_registered(), PayoutSent{}, PayoutAwaitingOtp{}}) {
    INFO(event_type(quiet));
    CHECK(postings_for(quiet).empty());
  }
}
