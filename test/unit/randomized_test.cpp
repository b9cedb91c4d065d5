// Randomized command sequences against the escrow decider, checked by an independent auditor.
//
// Each sequence (std::mt19937_64 with a fixed seed, so a failure reproduces; the seed is printed
// and ESCROW_SEED=<n> reruns one seed with its trace) creates one booking with random terms
// (currency, amount up to amount_minor_max, full or split plan, fee_bps, auto-confirm, pay_by) and
// then drives it and its provider with random commands from random actors, wrong ones included:
// checkouts, captures (right and wrong amounts and currencies, duplicates, unknown references with
// and without an installment), failures, proofs, approvals, auto-confirms at random times,
// disputes, resolutions (valid and invalid), cancellations, refund outcomes and retries, Paystack
// chargebacks (opened, updated, answered, resolved either way, before and after release), payout
// account registration, withdrawals, payout outcomes and retries. Released money
// is paid out the way the shell does it (PayOutRelease in the same step).
//
// Every accepted decision is applied with evolve(), its events are posted with postings_for() to
// an in-memory double-entry ledger, and fed to the Auditor (both in test/randomized_model.h): a
// small reference model that knows the rules of DESIGN section 4 and tracks
// captured/released/refunded/held and the provider's balances from the events alone. After every
// step: captured = released + refunded + held, nothing negative, at most one release, never more
// released than the booking's amount, books balanced per currency, non-negative accounts
// non-negative (a provider's available balance below zero only by what chargebacks took back),
// BookingState and the escrow account agree with the auditor's held, provider and refund balances
// agree with the auditor's. At the end every refund and payout is driven to a final outcome and a
// closed booking must hold nothing.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ledger/decider.h"
#include "ledger/postings.h"
#include "test/randomized_model.h"

using namespace escrow;

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // commands as short aggregates

namespace {

constexpr int sequences = 20'000;
constexpr uint64_t first_seed = 0x5eed'0000;
constexpr int64_t day_ms = 24LL * 3600 * 1000;

const Currency currencies[] = {Currency::NGN, Currency::GHS, Currency::ZAR, Currency::KES,
                               Currency::USD};

// ---- one random sequence ---------------------------------------------------------------------

// What the sequences reached, over all of them: every event type and rejection must show up.
std::map<std::string, long> reached;

struct Sequence {
  explicit Sequence(uint64_t seed)
      : seed(seed),
        rng(seed),
        booking_id("booking-" + std::to_string(seed)),
        client{"client-" + std::to_string(seed % 7), Role::client},
        provider{"provider-" + std::to_string(seed % 5), Role::provider},
        actors{client,
               provider,
               Actor{"client-other", Role::client},
               Actor{"provider-other", Role::provider},
               Actor{"admin-1", Role::admin},
               Actor{"marketplace", Role::service},
               Actor{"scheduler", Role::system},
               Actor{"auditor-1", Role::auditor}} {}

  uint64_t seed;
  std::mt19937_64 rng;
  std::string booking_id;
  Actor client, provider;
  std::vector<Actor> actors;
  const Actor& admin() const { return actors[4]; }
  const Actor& service() const { return actors[5]; }
  const Actor& system() const { return actors[6]; }

  BookingState booking;
  ProviderState payee;
  Auditor auditor;
  Ledger ledger;
  int64_t now_ms = 1'700'000'000'000;
  int external_references = 0;
  int step_number = 0;
  long decisions = 0;
  std::vector<std::string> trace;
  bool keep_trace = false;
  std::string failure;

  // ---- randomness ----
  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  }
  bool chance(int percent) { return uniform(0, 99) < percent; }
  const Actor& any_actor() { return actors[uniform(0, static_cast<int64_t>(actors.size()) - 1)]; }
  const Actor& mostly(const Actor& right, int percent = 80) {
    return chance(percent) ? right : any_actor();
  }
  Currency currency() const { return booking.currency(); }
  Money money(int64_t minor) const { return Money{minor, currency()}; }

  void fail(const std::string& what) {
    if (failure.empty()) failure = "step " + std::to_string(step_number) + ": " + what;
  }
  void note(const std::string& line) {
    if (keep_trace) std::fprintf(stderr, "%d %s\n", step_number, line.c_str());  // survives aborts
    if (trace.size() < 400) trace.push_back(line);
  }

  // Whether DESIGN section 4 lets this actor do this (checked on every accepted decision).
  bool booking_actor_allowed(const BookingCommand& command, const Actor& a) const {
    bool own_client = a.role == Role::client && a.id == client.id;
    bool own_provider = a.role == Role::provider && a.id == provider.id;
    bool admin = a.role == Role::admin;
    bool machine = a.role == Role::system || a.role == Role::service;
    return std::visit(Overloaded{
                          [&](const CreateBooking&) { return admin || a.role == Role::service; },
                          [&](const InitiatePayment&) { return own_client || machine || admin; },
                          [&](const CapturePayment&) { return true; },
                          [&](const FailPayment&) { return true; },
                          [&](const SubmitProof&) { return own_provider; },
                          [&](const ConfirmCompletion&) { return own_client || admin; },
                          [&](const AutoConfirm&) { return a.role == Role::system; },
                          [&](const ExpireBooking&) { return machine || admin; },
                          [&](const OpenDispute& c) {
                            return c.source == DisputeSource::chargeback
                                       ? machine || admin
                                       : own_client || own_provider;
                          },
                          [&](const ResolveDispute&) { return admin; },
                          [&](const CancelBooking&) { return own_client || own_provider || admin; },
                          [&](const RecordRefundOutcome&) { return machine || admin; },
                          [&](const RetryRefund&) { return machine || admin; },
                          [&](const RecordChargeback&) { return machine || admin; },
                          [&](const AnswerChargeback&) { return admin; },
                      },
                      command);
  }

  bool provider_actor_allowed(const ProviderCommand& command, const Actor& a) const {
    bool self = a.role == Role::provider && a.id == provider.id;
    bool machine_or_admin =
        a.role == Role::system || a.role == Role::service || a.role == Role::admin;
    return std::visit(
        Overloaded{
            [&](const RegisterPayoutAccount&) { return self || machine_or_admin; },
            [&](const PayOutRelease&) { return machine_or_admin || a.role == Role::client; },
            [&](const RequestWithdrawal&) { return self; },
            [&](const RecordPayoutOutcome&) { return machine_or_admin; },
            [&](const RetryPayout&) { return self || machine_or_admin; },
        },
        command);
  }

  static void count_reached(const Decision& d) {
    if (d.rejection) ++reached[rejection_code(*d.rejection)];
    for (const Event& e : d.events) {
      ++reached[event_type(e)];
      if (const auto* r = std::get_if<RefundRequested>(&e))
        ++reached["RefundRequested:" + r->reason];
      if (const auto* r = std::get_if<FundsReleased>(&e)) ++reached["FundsReleased:" + r->reason];
      if (const auto* r = std::get_if<DisputeResolved>(&e))
        ++reached["DisputeResolved:" + std::string(enum_name(r->outcome))];
      if (const auto* r = std::get_if<PayoutRequested>(&e))
        ++reached["PayoutRequested:" + std::string(enum_name(r->source))];
      if (const auto* r = std::get_if<PayoutReversed>(&e))
        ++reached[r->after_success ? "PayoutReversed:after_success" : "PayoutReversed:before"];
      if (const auto* r = std::get_if<DisputeOpened>(&e))
        ++reached["DisputeOpened:" + std::string(enum_name(r->source))];
    }
  }

  static std::string describe(const Decision& d) {
    if (d.rejection) return std::string("rejected ") + rejection_code(*d.rejection);
    std::string s = "->";
    for (const Event& e : d.events) s += std::string(" ") + event_type(e);
    return d.events.empty() ? "no-op" : s;
  }

  // ---- deciding and applying ----
  Decision booking_command(const BookingCommand& command, const Actor& actor, const char* what) {
    if (keep_trace) std::fprintf(stderr, "%d deciding %s\n", step_number, what);
    Decision d = decide(booking, command, actor, now_ms);
    ++decisions;
    count_reached(d);
    note(std::string(what) + " by " + role_name(actor.role) + ":" + actor.id + " at " +
         std::to_string(now_ms) + " " + describe(d));
    if (d.rejected() && !d.events.empty()) fail("a rejection with events");
    if (d.rejected() || d.events.empty()) return d;
    if (!booking_actor_allowed(command, actor))
      fail(std::string(what) + " accepted from " + role_name(actor.role) + " " + actor.id);
    if (chance(10)) {  // decide() is a pure function
      Decision again = decide(booking, command, actor, now_ms);
      bool same = again.events.size() == d.events.size();
      for (size_t i = 0; same && i < d.events.size(); ++i)
        same = encode_event_data(again.events[i]) == encode_event_data(d.events[i]);
      if (!same) fail("decide() is not deterministic");
    }
    for (const Event& e : d.events) {
      evolve(booking, e);
      ledger.post(e);
    }
    auditor.booking_decision(d.events, now_ms);
    pay_out_release(d);
    check();
    return d;
  }

  Decision provider_command(const ProviderCommand& command, const Actor& actor, const char* what) {
    if (keep_trace) std::fprintf(stderr, "%d deciding %s\n", step_number, what);
    Decision d = decide(payee, provider.id, command, actor);
    ++decisions;
    count_reached(d);
    note(std::string(what) + " by " + role_name(actor.role) + ":" + actor.id + " " + describe(d));
    if (d.rejected() && !d.events.empty()) fail("a rejection with events");
    if (d.rejected() || d.events.empty()) return d;
    if (!provider_actor_allowed(command, actor))
      fail(std::string(what) + " accepted from " + role_name(actor.role) + " " + actor.id);
    for (const Event& e : d.events) {
      evolve(payee, e);
      ledger.post(e);
    }
    auditor.provider_decision(d.events);
    check();
    return d;
  }

  // As the shell does: released money goes to the provider stream in the same step.
  void pay_out_release(const Decision& d) {
    int64_t net = 0;
    for (const Event& e : d.events) {
      if (const auto* r = std::get_if<FundsReleased>(&e)) net += r->provider_net.amount_minor;
      if (const auto* r = std::get_if<DisputeResolved>(&e)) net += r->provider_net.amount_minor;
    }
    if (net == 0) return;
    Money before = available(currency());  // the balance before the release, as the shell reads it
    before.amount_minor -= net;
    Decision p =
        provider_command(PayOutRelease{booking_id, money(net), before}, system(), "PayOutRelease");
    if (p.rejected()) fail("paying out a release was refused");
  }

  // ---- the invariants, after every accepted decision ----
  void check() {
    const Auditor& a = auditor;
    if (!a.error.empty()) return fail("auditor: " + a.error);
    Currency c = currency();
    if (a.captured != a.released + a.refunded + a.held + a.charged_back)
      return fail("captured != released + refunded + held + charged back");
    if (a.captured < 0 || a.released < 0 || a.refunded < 0 || a.held < 0 || a.owed < 0 ||
        a.booking_held() < 0)
      return fail("a negative amount");
    if (a.released + a.refunded > a.captured) return fail("released and refunded the same money");
    if (a.endings > 1) return fail("the booking's money ended twice");
    if (a.released > a.amount) return fail("released more than the booking's amount");
    if (a.in_escrow > a.amount) return fail("escrow took in more than the booking's amount");
    if (booking.held_minor() != a.held) return fail("BookingState held differs from the auditor");
    if (booking.captured_minor != a.captured || booking.released_minor != a.released ||
        booking.refunded_minor != a.refunded)
      return fail("BookingState totals differ from the auditor");
    if (ledger.balance(escrow_account(booking_id), c) != a.held)
      return fail("escrow account differs from held");
    if (ledger.balance(client_refund_account(client.id), c) != a.refund_in_flight)
      return fail("refund in flight differs");
    if (ledger.balance(platform_fees_account, c) != a.fees) return fail("platform fees differ");
    if (ledger.balance(paystack_fees_account, c) != -a.paystack_fees)
      return fail("Paystack fees differ");
    if (ledger.balance(chargeback_losses_account, c) != -a.platform_loss)
      return fail("chargeback losses differ");
    if (booking.charged_back_minor != a.charged_back ||
        booking.chargeback_provider_minor != a.provider_debited)
      return fail("BookingState chargeback totals differ from the auditor");
    for (Currency k : currencies) {
      auto get = [](const std::map<Currency, int64_t>& m, Currency k) {
        auto it = m.find(k);
        return it == m.end() ? 0 : it->second;
      };
      if (ledger.balance(provider_available_account(provider.id), k) != get(a.available, k))
        return fail("provider available differs from the auditor");
      if (ledger.balance(provider_in_flight_account(provider.id), k) != get(a.in_flight, k))
        return fail("provider in flight differs from the auditor");
    }
    check_statuses();
    std::map<Currency, int64_t> sums;
    for (const auto& [key, balance] : ledger.balances) {
      sums[key.second] += balance;
      bool overdrawn = key.first == provider_available_account(provider.id)
                           ? balance < -a.provider_debited
                           : account_is_non_negative(key.first) && balance < 0;
      if (overdrawn) return fail("account " + key.first + " is negative");
    }
    for (const auto& [k, sum] : sums) {
      if (sum != 0) return fail(std::string("books do not balance in ") + currency_code(k));
    }
  }

  // status and payment_status as DESIGN section 4 names them, from the auditor's facts.
  void check_statuses() {
    const Auditor& a = auditor;
    BookingStatus status = BookingStatus::awaiting_payment;
    if (a.cancelled)
      status = BookingStatus::cancelled;
    else if (a.refunded_outcome)
      status = BookingStatus::refunded;
    else if (a.expired)
      status = BookingStatus::expired;
    else if (a.closed)
      status = BookingStatus::completed;
    else if (a.dispute_open)
      status = BookingStatus::disputed;
    else if (a.proof)
      status = BookingStatus::awaiting_confirmation;
    else if (a.in_escrow > 0)
      status = BookingStatus::pending_execution;
    if (booking.status != status)
      return fail(std::string("status ") + booking_status_name(booking.status) + ", expected " +
                  booking_status_name(status));

    PaymentStatus p = booking.payment_status;
    bool refunds_open = a.refund_in_flight > 0 || a.owed > 0;
    bool ok = true;
    if (a.cancelled || a.refunded_outcome || a.expired) {
      if (refunds_open || a.held > 0)
        ok = p == PaymentStatus::refunding;
      else if (!a.refunds.empty() || a.charged_back > 0)
        ok = p == PaymentStatus::refunded;
      else
        ok =
            p == PaymentStatus::unpaid || p == PaymentStatus::pending || p == PaymentStatus::failed;
    } else if (a.closed) {
      ok = p == PaymentStatus::released || p == PaymentStatus::split;
    } else if (a.charged_back_own > 0) {
      // A chargeback took part back and the rest is still held: the status it had stays; it
      // took everything: refunded.
      ok = a.booking_held() > 0 ? p == PaymentStatus::escrow || p == PaymentStatus::partially_paid
                                : p == PaymentStatus::refunded;
    } else if (a.booking_held() == a.amount) {
      ok = p == PaymentStatus::escrow;
    } else if (a.booking_held() > 0) {
      ok = p == PaymentStatus::partially_paid;
    } else {
      ok = p == PaymentStatus::unpaid || p == PaymentStatus::pending || p == PaymentStatus::failed;
    }
    if (!ok)
      fail(std::string("payment_status ") + payment_status_name(p) + " with status " +
           booking_status_name(booking.status));
  }

  // ---- random commands ----
  CreateBooking random_terms() {
    CreateBooking c;
    c.booking_id = booking_id;
    c.client_id = client.id;
    c.provider_id = provider.id;
    c.client_email = "client@example.com";
    c.description = "job";
    Currency k = currencies[uniform(0, 4)];
    int64_t minimum = currency_minimum_minor(k);
    int64_t amount;
    switch (uniform(0, 9)) {
      case 0:
        amount = amount_minor_max - uniform(0, 1000);
        break;
      case 1:
        amount = minimum + uniform(-2, 3);
        break;
      case 2:
        amount = uniform(-5, 5);
        break;
      case 3:
        amount = amount_minor_max + uniform(1, 5);
        break;
      default:
        amount = uniform(minimum, std::min<int64_t>(amount_minor_max, minimum * 20'000));
    }
    c.amount = Money{amount, k};
    c.plan = chance(50) ? PaymentPlan::split : PaymentPlan::full;
    c.deposit_bps =
        chance(95) ? static_cast<int>(uniform(1, 9999)) : static_cast<int>(uniform(-1, 1)) * 10'000;
    c.fee_bps = chance(95) ? static_cast<int>(chance(30) ? 500 : uniform(0, 10'000))
                           : static_cast<int>(chance(50) ? -1 : 10'001);
    c.auto_confirm_after_s = chance(25) ? 0 : uniform(1, 7 * 24 * 3600);
    if (chance(3)) c.auto_confirm_after_s = -1;
    if (chance(25)) c.pay_by_ms = now_ms + uniform(0, 3 * day_ms);
    return c;
  }

  void create() {
    if (chance(3)) {  // nothing but CreateBooking finds a booking that does not exist
      Decision d = decide(booking, BookingCommand{AutoConfirm{}}, system(), now_ms);
      count_reached(d);
      note("AutoConfirm before creation " + describe(d));
      if (d.rejection != Rejection::booking_not_found) fail("a command found no booking");
    }
    for (int attempt = 0; attempt < 20 && !booking.exists(); ++attempt) {
      CreateBooking c = random_terms();
      Decision d =
          booking_command(c, mostly(chance(50) ? admin() : service(), 90), "CreateBooking");
      if (booking.exists()) {
        Decision again = decide(booking, c, any_actor(), now_ms);
        if (again.rejected() || !again.events.empty()) fail("CreateBooking again is not a no-op");
      }
    }
    if (!booking.exists()) {
      CreateBooking c = random_terms();
      c.amount = Money{100'000, Currency::NGN};
      c.plan = PaymentPlan::full;
      c.fee_bps = 500;
      c.auto_confirm_after_s = 3600;
      booking_command(c, service(), "CreateBooking");
    }
    if (!booking.exists()) fail("valid terms were refused");
    if (chance(40)) register_account();
  }

  void register_account() {
    Currency k = chance(85) ? currency() : currencies[uniform(0, 4)];
    provider_command(RegisterPayoutAccount{"RCP_" + std::to_string(seed), "058", "P", "1234", k},
                     mostly(chance(50) ? provider : service()), "RegisterPayoutAccount");
  }

  void initiate() {
    auto due = next_payment(booking, now_ms);
    const Actor& a = mostly(chance(70) ? client : service());
    if (const auto* r = std::get_if<Rejection>(&due)) {
      Decision d = booking_command(
          InitiatePayment{"bk-x-" + std::to_string(uniform(0, 99)), static_cast<int>(uniform(1, 2)),
                          money(uniform(1, 100'000)), "", ""},
          a, "InitiatePayment (nothing due)");
      bool allowed = booking_actor_allowed(InitiatePayment{}, a);
      if (allowed && d.rejection != *r) fail("InitiatePayment disagrees with next_payment()");
      return;
    }
    PaymentDue p = std::get<PaymentDue>(due);
    if (!valid_reference(p.reference)) fail("payment reference shape");
    InitiatePayment c{p.reference, p.installment, p.amount, "https://checkout.paystack.com/r", "r"};
    bool tampered = chance(10);
    if (tampered) {
      switch (uniform(0, 2)) {
        case 0:
          c.installment += 1;
          break;
        case 1:
          c.amount.amount_minor += 1;
          break;
        default:
          c.reference = "bk-other-" + std::to_string(uniform(0, 9));
          break;
      }
    }
    Decision d = booking_command(c, a, "InitiatePayment");
    if (booking_actor_allowed(c, a) && tampered && d.rejection != Rejection::payment_not_due)
      fail("a checkout for what is not due was not refused with payment_not_due");
    if (booking_actor_allowed(c, a) && !tampered && d.rejected()) fail("a due checkout refused");
  }

  void capture() {
    CapturePayment c;
    int installment_count = static_cast<int>(booking.terms.installments.size());
    int installment = static_cast<int>(uniform(1, installment_count));
    int which = static_cast<int>(uniform(0, 99));
    auto due = next_payment(booking, now_ms);
    if (which < 10 && std::holds_alternative<PaymentDue>(due)) {
      // The checkout was opened but its PaymentInitiated never stored (a crash in between).
      c.reference = std::get<PaymentDue>(due).reference;
      installment = std::get<PaymentDue>(due).installment;
      if (chance(80)) c.installment = installment;
    } else if (which < 65 && !booking.charges.empty()) {
      const ChargeRecord& charge = booking.charges[uniform(0, booking.charges.size() - 1)];
      c.reference = charge.reference;
      installment = charge.installment;
      if (chance(10)) c.installment = static_cast<int>(uniform(0, 3));  // ignored for known
    } else {
      c.reference = "ext-" + std::to_string(seed) + "-" + std::to_string(++external_references);
      if (chance(80)) {
        c.installment = chance(90) ? installment : static_cast<int>(uniform(-1, 4));
        installment = *c.installment;
      }
    }
    int64_t expected = installment >= 1 && installment <= installment_count
                           ? booking.terms.installments[installment - 1].amount_minor
                           : booking.terms.amount.amount_minor;
    switch (uniform(0, 19)) {
      case 0:
        c.amount = money(expected + uniform(-100, 100));
        break;
      case 1:
        c.amount = Money{expected, currencies[(static_cast<int>(currency()) + 1) % 5]};
        break;
      case 2:
        c.amount = money(booking.terms.amount.amount_minor);
        break;
      default:
        c.amount = money(expected);
    }
    c.paystack_transaction_id = uniform(1, 1'000'000'000);
    c.paystack_fee = money(std::min<int64_t>(uniform(0, 2'000), c.amount.amount_minor / 10 + 1));
    c.channel = chance(50) ? "card" : "bank";
    c.paid_at_ms = now_ms;
    c.source = chance(50) ? "webhook" : "verify";
    Decision d = booking_command(c, mostly(service(), 70), "CapturePayment");
    if (!d.rejected() && !d.events.empty()) {  // rule 2: the same report again changes nothing
      Decision again = decide(booking, c, service(), now_ms);
      if (again.rejected() || !again.events.empty()) fail("a repeated capture was not a no-op");
    }
  }

  void fail_payment() {
    std::string reference = "nowhere-" + std::to_string(uniform(0, 9));
    if (!booking.charges.empty() && chance(85))
      reference = booking.charges[uniform(0, booking.charges.size() - 1)].reference;
    booking_command(FailPayment{reference, "Declined"}, mostly(service()), "FailPayment");
  }

  void submit_proof() {
    SubmitProof p{"done",
                  std::vector<ProofFile>(uniform(0, 12), ProofFile{"ab", "image/png", "p.png", 10}),
                  {}};
    booking_command(p, mostly(provider, 75), "SubmitProof");
  }

  void confirm() {
    booking_command(ConfirmCompletion{}, mostly(chance(70) ? client : admin(), 75),
                    "ConfirmCompletion");
  }

  void auto_confirm() {
    if (booking.auto_confirm_at_ms && chance(60))
      now_ms = std::max(now_ms, *booking.auto_confirm_at_ms + uniform(-2, 2));
    booking_command(AutoConfirm{}, mostly(system(), 85), "AutoConfirm");
  }

  void expire() {
    if (booking.terms.pay_by_ms && chance(60))
      now_ms = std::max(now_ms, *booking.terms.pay_by_ms + uniform(-2, 2));
    booking_command(ExpireBooking{}, mostly(system(), 85), "ExpireBooking");
  }

  void open_dispute() {
    if (chance(20)) {
      booking_command(
          OpenDispute{"chargeback", "", DisputeSource::chargeback, uniform(1, 1'000'000)},
          mostly(service()), "OpenDispute (chargeback)");
    } else {
      booking_command(OpenDispute{"not_as_described", "x"}, mostly(chance(60) ? client : provider),
                      "OpenDispute");
    }
  }

  void resolve() {
    int64_t held = auditor.booking_held();
    ResolveDispute r;
    r.note = "decided";
    switch (uniform(0, 9)) {
      case 0:
        r.outcome = ResolutionOutcome::release;
        break;
      case 1:
        r.outcome = ResolutionOutcome::refund;
        break;
      case 2:  // a split naming only the provider's part
        r.outcome = ResolutionOutcome::split;
        r.provider_amount_minor = uniform(0, held);
        break;
      case 3:
        r.outcome = ResolutionOutcome::split;
        r.provider_amount_minor = uniform(0, held);
        r.refund_amount_minor = held - *r.provider_amount_minor + (chance(50) ? 1 : -1);
        break;
      case 4:
        r.outcome = ResolutionOutcome::split;
        r.provider_amount_minor = held + 1;
        r.refund_amount_minor = -1;
        break;
      case 5:
        r.outcome = ResolutionOutcome::split;
        break;
      default:
        r.outcome = ResolutionOutcome::split;
        r.provider_amount_minor = chance(20) ? (chance(50) ? 0 : held) : uniform(0, held);
        r.refund_amount_minor = held - *r.provider_amount_minor;
    }
    const Actor& a = mostly(admin(), 85);
    bool valid =
        r.outcome == ResolutionOutcome::release || r.outcome == ResolutionOutcome::refund ||
        (r.outcome == ResolutionOutcome::split && r.provider_amount_minor &&
         r.refund_amount_minor && *r.provider_amount_minor >= 0 && *r.refund_amount_minor >= 0 &&
         *r.provider_amount_minor + *r.refund_amount_minor == held);
    // While Paystack has a chargeback unresolved, its outcome settles the money (rule 6b).
    bool was_disputed = booking.dispute_open() && !booking.chargeback_holds_escrow();
    Decision d = booking_command(r, a, "ResolveDispute");
    if (a.role == Role::admin && was_disputed && valid == d.rejected())
      fail(valid ? "a valid resolution was refused" : "an invalid resolution was accepted");
  }

  // What Paystack says of a chargeback: mostly on a captured payment, new or known, sometimes
  // resolved; now and then a wrong amount or reference.
  void chargeback() {
    RecordChargeback c;
    if (!booking.chargebacks.empty() && chance(60)) {
      const ChargebackRecord& k = booking.chargebacks[uniform(0, booking.chargebacks.size() - 1)];
      c.dispute_id = k.dispute_id;
      c.payment_reference = k.payment_reference;
      c.refund_amount =
          chance(85) ? k.refund_amount : money(uniform(1, k.refund_amount.amount_minor));
    } else {
      c.dispute_id = uniform(1, 1'000'000);
      c.payment_reference = "nowhere-" + std::to_string(uniform(0, 9));
      int64_t amount = uniform(1, 100'000);
      if (!booking.charges.empty() && chance(90)) {
        const ChargeRecord& charge = booking.charges[uniform(0, booking.charges.size() - 1)];
        c.payment_reference = charge.reference;
        amount = chance(60) ? charge.amount.amount_minor : uniform(1, charge.amount.amount_minor);
      }
      c.refund_amount = money(amount);
    }
    if (chance(5)) c.refund_amount.amount_minor = chance(50) ? 0 : c.refund_amount.amount_minor + 1;
    static const ChargebackStatus statuses[] = {ChargebackStatus::awaiting_merchant_feedback,
                                                ChargebackStatus::awaiting_bank_feedback,
                                                ChargebackStatus::pending};
    c.status = statuses[uniform(0, 2)];
    if (chance(20)) c.due_at_ms = now_ms + uniform(0, 3 * day_ms);
    if (chance(45)) {
      static const ChargebackResolution resolutions[] = {ChargebackResolution::merchant_accepted,
                                                         ChargebackResolution::declined,
                                                         ChargebackResolution::auto_accepted};
      c.resolution = resolutions[uniform(0, 2)];
      c.status = ChargebackStatus::resolved;
    }
    Decision d = booking_command(c, mostly(chance(50) ? service() : system()), "RecordChargeback");
    if (!d.rejected() && !d.events.empty()) {  // the same report again changes nothing
      Decision again = decide(booking, c, service(), now_ms);
      if (again.rejected() || !again.events.empty())
        fail("a repeated chargeback report was not a no-op");
    }
  }

  void answer_chargeback() {
    int64_t id = uniform(1, 1'000'000);
    if (!booking.chargebacks.empty() && chance(90))
      id = booking.chargebacks[uniform(0, booking.chargebacks.size() - 1)].dispute_id;
    const Actor& a = mostly(admin(), 85);
    if (auto r = check_chargeback_answer(booking, a, id)) ++reached[rejection_code(*r)];
    const ChargebackRecord* known = booking.find_chargeback(id);
    AnswerChargeback c;
    c.response = chance(50) ? ChargebackResponse::accept : ChargebackResponse::decline;
    c.message = "answered";
    c.dispute.dispute_id = id;
    c.dispute.payment_reference = known ? known->payment_reference : "nowhere";
    c.dispute.refund_amount = known ? known->refund_amount : money(1);
    c.dispute.status = ChargebackStatus::awaiting_bank_feedback;
    if (c.response == ChargebackResponse::accept && chance(70)) {
      c.dispute.status = ChargebackStatus::resolved;
      c.dispute.resolution = ChargebackResolution::merchant_accepted;
    }
    booking_command(c, a, "AnswerChargeback");
  }

  void cancel() {
    const Actor& a = chance(80) ? actors[uniform(0, 1)] : (chance(50) ? admin() : any_actor());
    booking_command(CancelBooking{"changed plans"}, a, "CancelBooking");
  }

  std::string random_refund_id() {
    if (booking.refunds.empty() || chance(5)) return refund_id_for(booking_id, uniform(1, 9));
    return booking.refunds[uniform(0, booking.refunds.size() - 1)].refund_id;
  }

  void refund_outcome() {
    static const RefundStatus statuses[] = {RefundStatus::pending,         RefundStatus::processing,
                                            RefundStatus::needs_attention, RefundStatus::processed,
                                            RefundStatus::processed,       RefundStatus::failed,
                                            RefundStatus::failed,          RefundStatus::queued};
    RecordRefundOutcome c{random_refund_id(), statuses[uniform(0, 7)],
                          chance(50) ? std::optional<int64_t>(uniform(1, 1000)) : std::nullopt,
                          "paystack says so"};
    Decision d =
        booking_command(c, mostly(chance(50) ? service() : system()), "RecordRefundOutcome");
    if (!d.rejected() && !d.events.empty()) {  // the same report again changes nothing
      Decision again = decide(booking, c, service(), now_ms);
      if (again.rejected() || !again.events.empty())
        fail("a repeated refund outcome was not a no-op");
    }
  }

  void retry_refund() {
    std::string id = random_refund_id();
    for (const RefundRecord& r : booking.refunds) {
      if (r.status == RefundStatus::failed && !r.retried && chance(70)) id = r.refund_id;
    }
    booking_command(RetryRefund{id}, mostly(chance(50) ? admin() : system()), "RetryRefund");
  }

  Money available(Currency k) const {
    return Money{ledger.balance(provider_available_account(provider.id), k), k};
  }

  void withdraw() {
    Currency k = payee.account && chance(90) ? payee.account->currency : currencies[uniform(0, 4)];
    Money have = available(k);
    int64_t amount = chance(80) && have.amount_minor > 0 ? uniform(1, have.amount_minor)
                                                         : have.amount_minor + uniform(-1, 1000);
    Decision d = provider_command(RequestWithdrawal{Money{amount, k}, have}, mostly(provider, 85),
                                  "RequestWithdrawal");
    if (!d.rejected() && !d.events.empty() && amount > have.amount_minor)
      fail("withdrew more than available");
  }

  std::string random_payout_id() {
    if (payee.payouts.empty() || chance(5)) return payout_reference(provider.id, uniform(1, 9));
    return payee.payouts[uniform(0, payee.payouts.size() - 1)].payout_id;
  }

  void payout_outcome() {
    static const PayoutStatus statuses[] = {
        PayoutStatus::pending, PayoutStatus::otp,      PayoutStatus::success, PayoutStatus::success,
        PayoutStatus::failed,  PayoutStatus::reversed, PayoutStatus::queued};
    std::string id = random_payout_id();
    if (auto r = check_finalize(payee, id)) ++reached[rejection_code(*r)];
    RecordPayoutOutcome c{id, statuses[uniform(0, 6)], "TRF_" + std::to_string(uniform(0, 99)),
                          uniform(1, 1000), "bank says so"};
    if (c.status == PayoutStatus::otp && !payee.payouts.empty()) {
      const PayoutRecord* p = payee.find_payout(id);
      if (p && p->status == PayoutStatus::otp && check_finalize(payee, id))
        fail("check_finalize refused a payout waiting for an OTP");
    }
    Decision d =
        provider_command(c, mostly(chance(50) ? service() : system()), "RecordPayoutOutcome");
    if (!d.rejected() && !d.events.empty()) {
      Decision again = decide(payee, provider.id, c, service());
      if (again.rejected() || !again.events.empty())
        fail("a repeated payout outcome was not a no-op");
      const PayoutRecord* p = payee.find_payout(id);
      bool awaiting = p && p->status == PayoutStatus::otp;
      if (awaiting == check_finalize(payee, id).has_value()) fail("check_finalize disagrees");
    }
  }

  void retry_payout() {
    std::string id = random_payout_id();
    for (const PayoutRecord& p : payee.payouts) {
      bool final = p.status == PayoutStatus::failed || p.status == PayoutStatus::reversed;
      if (final && !p.retried && chance(70)) id = p.payout_id;
    }
    const PayoutRecord* p = payee.find_payout(id);
    Money amount = p ? p->amount : money(0);  // copied: deciding moves payee.payouts
    Money have = available(chance(95) ? amount.currency : currencies[uniform(0, 4)]);
    Decision d = provider_command(RetryPayout{id, have}, mostly(chance(50) ? provider : system()),
                                  "RetryPayout");
    if (!d.rejected() && !d.events.empty() && amount.amount_minor > have.amount_minor)
      fail("retried a payout the balance does not cover");
  }

  void pass_time() {
    switch (uniform(0, 9)) {
      case 0:
        now_ms += uniform(0, 4 * day_ms);
        break;
      case 1:
      case 2:
        now_ms += uniform(0, 6 * 3600 * 1000);
        break;
      case 3:
        break;
      default:
        now_ms += uniform(0, 600'000);
    }
  }

  void step() {
    ++step_number;
    pass_time();
    int roll = static_cast<int>(uniform(0, 149));
    if (roll < 14)
      initiate();
    else if (roll < 38)
      capture();
    else if (roll < 41)
      fail_payment();
    else if (roll < 49)
      submit_proof();
    else if (roll < 59)
      confirm();
    else if (roll < 66)
      chance(75) ? auto_confirm() : expire();
    else if (roll < 72)
      open_dispute();
    else if (roll < 79)
      resolve();
    else if (roll < 82)
      cancel();
    else if (roll < 96)
      booking.refunds.empty() && chance(80) ? capture() : refund_outcome();
    else if (roll < 102)
      retry_refund();
    else if (roll < 105)
      register_account();
    else if (roll < 112)
      withdraw();
    else if (roll < 127)
      payee.payouts.empty() && chance(80) ? withdraw() : payout_outcome();
    else if (roll < 137)
      retry_payout();
    else if (roll < 140)
      create_again();
    else if (roll < 147)
      chargeback();
    else
      answer_chargeback();
  }

  // The same terms change nothing; other terms are refused with booking_exists.
  void create_again() {
    CreateBooking same{booking.terms.booking_id,  booking.terms.client_id,
                       booking.terms.provider_id, booking.terms.client_email,
                       booking.terms.description, booking.terms.amount,
                       booking.terms.plan,        booking.terms.deposit_bps,
                       booking.terms.fee_bps,     booking.terms.auto_confirm_after_s,
                       booking.terms.pay_by_ms};
    bool change = chance(50);
    if (change) same.amount.amount_minor += 1;
    Decision d = booking_command(same, mostly(service()), "CreateBooking again");
    if (change ? d.rejection != Rejection::booking_exists : (d.rejected() || !d.events.empty()))
      fail("CreateBooking of an existing booking");
  }

  // Every refund and payout to a final outcome; then the money must have ended.
  void drain() {
    for (int round = 0; round < 8; ++round) {
      std::vector<std::string> failed, open;
      for (const RefundRecord& r : booking.refunds) {
        if (r.status == RefundStatus::failed && !r.retried && !r.settled_by_chargeback)
          failed.push_back(r.refund_id);
        if (r.status != RefundStatus::failed && r.status != RefundStatus::processed)
          open.push_back(r.refund_id);
      }
      for (const std::string& id : failed)
        booking_command(RetryRefund{id}, system(), "drain retry");
      for (const std::string& id : open) {
        booking_command(RecordRefundOutcome{id, RefundStatus::processed, 1, ""}, service(),
                        "drain refund");
      }
      std::vector<std::string> payouts;
      for (const PayoutRecord& p : payee.payouts) {
        if (p.status == PayoutStatus::queued || p.status == PayoutStatus::pending ||
            p.status == PayoutStatus::otp)
          payouts.push_back(p.payout_id);
      }
      for (const std::string& id : payouts) {
        provider_command(RecordPayoutOutcome{id, PayoutStatus::success}, service(), "drain payout");
      }
      if (failed.empty() && open.empty() && payouts.empty()) break;
    }
    const Auditor& a = auditor;
    Currency c = currency();
    if (a.refund_in_flight != 0 || a.owed != 0) fail("refunds still open after the drain");
    if (ledger.balance(provider_in_flight_account(provider.id), c) != 0)
      fail("payouts still in flight after the drain");
    bool closed = booking.status == BookingStatus::cancelled ||
                  booking.status == BookingStatus::refunded ||
                  booking.status == BookingStatus::completed;
    if (closed && (a.held != 0 || ledger.balance(escrow_account(booking_id), c) != 0))
      fail("a closed booking still holds money");
    if (!closed && a.held + a.charged_back_own != a.in_escrow)
      fail("an open booking holds other than its captures, less what chargebacks took back");
    bool ended_for_client =
        booking.status == BookingStatus::cancelled || booking.status == BookingStatus::refunded;
    if (ended_for_client && a.released != 0) fail("a cancelled or refunded booking released money");
    if (ended_for_client && !booking.refunds.empty() &&
        booking.payment_status != PaymentStatus::refunded)
      fail("a cancelled or refunded booking is not marked refunded after its refunds");
    // (What a failed refund of a duplicate owed and a chargeback returned counts as returned.)
    if (a.released_by_event &&
        a.refunded + (a.charged_back - a.charged_back_own) != a.captured - a.in_escrow)
      fail("a released booking also refunded the booking's own money");
  }

  void run(int steps) {
    create();
    for (int i = 0; i < steps && failure.empty(); ++i) step();
    if (failure.empty()) drain();
  }
};

int steps_for(uint64_t seed) {
  return 10 + static_cast<int>(seed % 71);
}

std::string tail(const std::vector<std::string>& lines, size_t count) {
  std::ostringstream out;
  size_t from = lines.size() > count ? lines.size() - count : 0;
  for (size_t i = from; i < lines.size(); ++i) out << "  " << lines[i] << "\n";
  return out.str();
}

}  // namespace

TEST_CASE("random command sequences conserve money", "[decider][randomized]") {
  if (const char* only = std::getenv("ESCROW_SEED")) {
    uint64_t seed = std::strtoull(only, nullptr, 0);
    Sequence s(seed);
    s.keep_trace = true;
    s.run(steps_for(seed));
    INFO("seed " << seed << " (its steps are on stderr)");
    CHECK(s.failure == "");
    return;
  }
  // A longer soak: ESCROW_SEQUENCES=<count> ESCROW_FIRST_SEED=<seed>.
  const char* count_env = std::getenv("ESCROW_SEQUENCES");
  const char* first_env = std::getenv("ESCROW_FIRST_SEED");
  const long count = count_env ? std::strtol(count_env, nullptr, 0) : sequences;
  const uint64_t first = first_env ? std::strtoull(first_env, nullptr, 0) : first_seed;
  int failures = 0;
  long decisions = 0;
  std::map<std::string, int> endings;
  for (long i = 0; i < count && failures < 3; ++i) {
    uint64_t seed = first + static_cast<uint64_t>(i);
    INFO("seed " << seed << " (rerun with ESCROW_SEED=" << seed << ")");
    Sequence s(seed);
    s.run(steps_for(seed));
    decisions += s.decisions;
    endings[booking_status_name(s.booking.status)]++;
    if (!s.failure.empty()) {
      ++failures;
      FAIL_CHECK("seed " << seed << ": " << s.failure << "\nlast steps:\n" << tail(s.trace, 40));
    }
  }
  CHECK(failures == 0);
  // The generator must reach every event and every rejection, or the sequences prove little.
  auto event_types = []<size_t... I>(std::index_sequence<I...>) {
    return std::vector<std::string>{std::variant_alternative_t<I, Event>::type...};
  }
  (std::make_index_sequence<std::variant_size_v<Event>>());
  for (const std::string& type : event_types) {
    INFO("event " << type << " reached " << reached[type] << " times");
    CHECK(reached[type] >= 100);
  }
  for (Rejection rejection : all_rejections()) {
    std::string code = rejection_code(rejection);
    INFO("rejection " << code << " reached " << reached[code] << " times");
    CHECK(reached[code] >= 100);
  }
  for (const char* status : {"completed", "cancelled", "refunded", "disputed"}) {
    INFO(status << ": " << endings[status]);
    CHECK(endings[status] > 100);
  }
  WARN(count << " sequences, " << decisions << " decisions; endings: completed "
             << endings["completed"] << ", cancelled " << endings["cancelled"] << ", refunded "
             << endings["refunded"] << ", disputed " << endings["disputed"]
             << ", pending_execution " << endings["pending_execution"]);
}
