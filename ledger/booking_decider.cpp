// The booking aggregate: decide() and evolve() for DESIGN section 4, rules 1-4, 6, 6b and 7-10.
#include <algorithm>
#include <string>

#include "ledger/decider.h"
#include "ledger/hash.h"
#include "ledger/overloaded.h"

namespace escrow {

namespace {

ChargeRecord new_charge(const std::string& reference, int installment, Money amount) {
  ChargeRecord c;
  c.reference = reference;
  c.installment = installment;
  c.amount = amount;
  c.paystack_fee = Money{0, amount.currency};
  return c;
}

bool is_client(const BookingState& s, const Actor& a) {
  return a.role == Role::client && a.id == s.terms.client_id;
}
bool is_provider(const BookingState& s, const Actor& a) {
  return a.role == Role::provider && a.id == s.terms.provider_id;
}
bool is_admin(const Actor& a) {
  return a.role == Role::admin;
}
bool is_machine(const Actor& a) {
  return a.role == Role::system || a.role == Role::service;
}

const ChargeRecord* find_charge(const BookingState& s, std::string_view reference) {
  for (const ChargeRecord& c : s.charges) {
    if (c.reference == reference) return &c;
  }
  return nullptr;
}

ChargeRecord* find_charge(BookingState& s, std::string_view reference) {
  return const_cast<ChargeRecord*>(find_charge(std::as_const(s), reference));
}

// For evolve(): the decider only emits events about charges and refunds it knows.
ChargeRecord& known_charge(BookingState& s, std::string_view reference) {
  ChargeRecord* c = find_charge(s, reference);
  LEDGER_ASSERT(c != nullptr, "event names a charge the booking does not have");
  return *c;
}

const RefundRecord* find_refund(const BookingState& s, std::string_view refund_id) {
  for (const RefundRecord& r : s.refunds) {
    if (r.refund_id == refund_id) return &r;
  }
  return nullptr;
}

RefundRecord& known_refund(BookingState& s, std::string_view refund_id) {
  auto* r = const_cast<RefundRecord*>(find_refund(std::as_const(s), refund_id));
  LEDGER_ASSERT(r != nullptr, "event names a refund the booking does not have");
  return *r;
}

// The booking's money has reached an end state (or is on its way there): no new decisions.
std::optional<Rejection> closed_guard(const BookingState& s) {
  if (s.status == BookingStatus::cancelled) return Rejection::booking_cancelled;
  if (s.status == BookingStatus::refunded) return Rejection::booking_refunded;
  if (s.status == BookingStatus::completed) return Rejection::already_released;
  if (s.status == BookingStatus::expired) return Rejection::booking_expired;
  return std::nullopt;
}

Money money(const BookingState& s, int64_t amount_minor) {
  return Money{amount_minor, s.currency()};
}

// Money a failed refund put back in escrow (rule 9): it is owed to the client and leaves only
// through the refund's retry, never through a release, a cancellation or a resolution.
int64_t owed_to_client_minor(const BookingState& s) {
  int64_t total = 0;
  for (const RefundRecord& r : s.refunds) {
    if (r.status == RefundStatus::failed && !r.retried && !r.settled_by_chargeback)
      total += r.amount.amount_minor;
  }
  return total;
}

// What escrow holds for the booking itself: what a release, cancellation or resolution moves.
int64_t booking_held_minor(const BookingState& s) {
  return s.held_minor() - owed_to_client_minor(s);
}

// Refund `amount_minor` of escrow back to the client, spread over the captured charges in order,
// one Paystack refund per charge (rule 9). Appends the RefundRequested events to `out`.
void request_refunds(const BookingState& s, int64_t amount_minor, const std::string& reason,
                     std::vector<Event>& out) {
  int number = static_cast<int>(s.refunds.size());
  for (const ChargeRecord& c : s.charges) {
    if (amount_minor == 0) break;
    if (c.status != ChargeStatus::captured || !c.in_escrow) continue;
    int64_t refundable = c.amount.amount_minor - c.refunded_minor - c.charged_back_minor;
    int64_t part = std::min(refundable, amount_minor);
    if (part <= 0) continue;
    out.push_back(RefundRequested{s.terms.booking_id, refund_id_for(s.terms.booking_id, ++number),
                                  s.terms.client_id, c.reference, c.paystack_transaction_id,
                                  money(s, part), reason, 1});
    amount_minor -= part;
  }
  LEDGER_ASSERT(amount_minor == 0, "a refund must be covered by captured charges");
}

FundsReleased release_all(const BookingState& s, const std::string& reason) {
  Money gross = money(s, booking_held_minor(s));
  FeeSplit split = split_fee(gross, s.terms.fee_bps);
  return FundsReleased{s.terms.booking_id, s.terms.provider_id, gross,
                       split.fee,          split.provider_net,  reason};
}

bool fully_held(const BookingState& s) {
  return booking_held_minor(s) == s.terms.amount.amount_minor;
}

// ---- one function per command ----------------------------------------------------------------

Decision create(const BookingState& s, const CreateBooking& c, const Actor& a, int64_t now_ms) {
  (void)now_ms;
  BookingCreated e{c.booking_id,  c.client_id,
                   c.provider_id, c.client_email,
                   c.description, c.amount,
                   c.plan,        c.plan == PaymentPlan::split ? c.deposit_bps : 0,
                   c.fee_bps,     c.auto_confirm_after_s,
                   c.pay_by_ms,   {}};
  if (c.plan == PaymentPlan::split) {
    int64_t deposit = bps_part(std::max<int64_t>(c.amount.amount_minor, 0),
                               std::clamp(c.deposit_bps, 0, bps_max));
    e.installments = {Money{deposit, c.amount.currency},
                      Money{c.amount.amount_minor - deposit, c.amount.currency}};
  } else {
    e.installments = {c.amount};
  }
  if (s.exists()) {
    BookingCreated existing = s.terms;
    if (encode_event_data(existing) == encode_event_data(e)) return {};  // same terms: no-op
    return Decision::reject(Rejection::booking_exists);
  }
  if (!(is_admin(a) || a.role == Role::service)) return Decision::reject(Rejection::not_allowed);
  if (c.amount.amount_minor <= 0 || c.amount.amount_minor > amount_minor_max)
    return Decision::reject(Rejection::invalid_amount);
  if (c.amount.amount_minor < currency_minimum_minor(c.amount.currency))
    return Decision::reject(Rejection::amount_below_minimum);
  if (!currency_pays_out(c.amount.currency))
    return Decision::reject(Rejection::currency_not_paid_out);
  if (c.fee_bps < 0 || c.fee_bps > bps_max) return Decision::reject(Rejection::invalid_fee_bps);
  if (c.plan == PaymentPlan::split && (c.deposit_bps <= 0 || c.deposit_bps >= bps_max))
    return Decision::reject(Rejection::invalid_deposit_bps);
  if (c.auto_confirm_after_s < 0) return Decision::reject(Rejection::invalid_plan);
  for (const Money& part : e.installments) {
    if (part.amount_minor < currency_minimum_minor(part.currency))
      return Decision::reject(Rejection::amount_below_minimum);
  }
  return Decision{{std::move(e)}, std::nullopt};
}

Decision initiate(const BookingState& s, const InitiatePayment& c, const Actor& a, int64_t now_ms) {
  if (!(is_client(s, a) || is_machine(a) || is_admin(a)))
    return Decision::reject(Rejection::not_allowed);
  auto due = next_payment(s, now_ms);
  if (auto* r = std::get_if<Rejection>(&due)) return Decision::reject(*r);
  const PaymentDue& d = std::get<PaymentDue>(due);
  if (d.installment != c.installment || d.amount != c.amount || d.reference != c.reference)
    return Decision::reject(Rejection::payment_not_due);
  return Decision{{PaymentInitiated{s.terms.booking_id, c.reference, c.installment, c.amount,
                                    c.authorization_url, c.access_code}},
                  std::nullopt};
}

// The events that expire `s`: each checkout still open is failed (its Paystack transaction can
// no longer put money in escrow), then BookingExpired. `except` is a reference being captured.
std::vector<Event> expiry_events(const BookingState& s, std::string_view except = {}) {
  std::vector<Event> events;
  for (const ChargeRecord& c : s.charges) {
    if (c.status == ChargeStatus::pending && c.reference != except)
      events.push_back(
          PaymentFailed{s.terms.booking_id, c.reference, c.installment, "checkout_expired"});
  }
  events.push_back(BookingExpired{s.terms.booking_id, *s.terms.pay_by_ms});
  return events;
}

Decision capture(const BookingState& s, const CapturePayment& c, int64_t now_ms) {
  const ChargeRecord* known = find_charge(s, c.reference);
  if (known && known->status == ChargeStatus::captured) return {};  // rule 2: already captured
  std::optional<int> installment = known ? std::optional<int>(known->installment) : c.installment;
  int count = static_cast<int>(s.terms.installments.size());
  if (!installment || *installment < 1 || *installment > count)
    return Decision::reject(Rejection::unknown_payment);
  const Money& expected = s.terms.installments[*installment - 1];
  const std::string& id = s.terms.booking_id;
  if (c.amount != expected) {
    if (known && known->status == ChargeStatus::flagged) return {};
    return Decision{{PaymentFlagged{id, c.reference, *installment, expected, c.amount,
                                    c.paystack_transaction_id,
                                    "amount or currency differs from the installment due"}},
                    std::nullopt};
  }
  Decision d;
  BookingState after = s;
  // Paid after pay_by into a booking that holds nothing: the booking expires first (when it has
  // not already), and the money goes back (DESIGN section 4).
  std::string refund_reason;
  if (expiry_due(s, c.paid_at_ms.value_or(now_ms))) {
    for (Event& e : expiry_events(s, c.reference)) {
      evolve(after, e);
      d.events.push_back(std::move(e));
    }
    refund_reason = "paid_after_pay_by";
  }
  d.events.push_back(PaymentCaptured{id, c.reference, *installment, c.amount,
                                     c.paystack_transaction_id, c.paystack_fee, c.channel,
                                     c.paid_at_ms, c.source});
  // Money that arrives for a closed booking or twice for one installment goes straight back.
  if (refund_reason.empty()) {
    if (s.installment_captured(*installment))
      refund_reason = "duplicate_payment";
    else if (s.status == BookingStatus::expired)  // confirmed only after the booking expired
      refund_reason = c.paid_at_ms && *c.paid_at_ms <= *s.terms.pay_by_ms ? "late_payment"
                                                                          : "paid_after_pay_by";
    else if (closed_guard(s))
      refund_reason = "late_payment";
  }
  evolve(after, d.events.back());
  if (!refund_reason.empty()) {
    // The charge is not in escrow: refund it by itself, not spread over older charges.
    ChargeRecord* charge = find_charge(after, c.reference);
    charge->in_escrow = false;
    RefundRequested r{id,
                      refund_id_for(id, static_cast<int>(after.refunds.size()) + 1),
                      s.terms.client_id,
                      c.reference,
                      c.paystack_transaction_id,
                      c.amount,
                      refund_reason,
                      1};
    d.events.push_back(std::move(r));
    return d;
  }
  if (after.approved && !after.dispute_open() && fully_held(after))
    d.events.push_back(release_all(after, after.release_reason));
  return d;
}

Decision fail(const BookingState& s, const FailPayment& c) {
  const ChargeRecord* known = find_charge(s, c.reference);
  if (!known) return Decision::reject(Rejection::unknown_payment);
  if (known->status != ChargeStatus::pending) return {};  // captured, failed or flagged stays so
  return Decision{{PaymentFailed{s.terms.booking_id, c.reference, known->installment, c.reason}},
                  std::nullopt};
}

Decision submit_proof(const BookingState& s, const SubmitProof& c, const Actor& a, int64_t now_ms) {
  if (!is_provider(s, a)) return Decision::reject(Rejection::not_allowed);
  if (auto r = closed_guard(s)) return Decision::reject(*r);
  if (s.dispute_open()) return Decision::reject(Rejection::dispute_open);
  if (booking_held_minor(s) == 0) return Decision::reject(Rejection::nothing_held);
  if (s.proof) return Decision::reject(Rejection::proof_already_submitted);
  if (static_cast<int>(c.files.size()) > proof_files_max)
    return Decision::reject(Rejection::too_many_files);
  std::optional<int64_t> deadline;
  if (s.terms.auto_confirm_after_s > 0) deadline = now_ms + s.terms.auto_confirm_after_s * 1000;
  return Decision{{ProofSubmitted{s.terms.booking_id, c.notes, c.files, c.attachments, deadline}},
                  std::nullopt};
}

Decision confirm(const BookingState& s, const Actor& a) {
  if (!(is_client(s, a) || is_admin(a))) return Decision::reject(Rejection::not_allowed);
  if (auto r = closed_guard(s)) return Decision::reject(*r);
  if (s.dispute_open()) return Decision::reject(Rejection::dispute_open);
  if (!is_admin(a) && !s.proof) return Decision::reject(Rejection::proof_required);
  if (s.approved) return Decision::reject(Rejection::already_approved);
  Decision d{{CompletionConfirmed{s.terms.booking_id, a.id, a.role, s.proof.has_value()}},
             std::nullopt};
  if (fully_held(s))
    d.events.push_back(release_all(s, is_admin(a) ? "admin_released" : "client_approved"));
  return d;
}

Decision expire(const BookingState& s, const Actor& a, int64_t now_ms) {
  if (!(is_machine(a) || is_admin(a))) return Decision::reject(Rejection::not_allowed);
  if (s.status == BookingStatus::expired) return {};  // already so
  if (!expiry_due(s, now_ms)) return Decision::reject(Rejection::expiry_not_due);
  return Decision{expiry_events(s), std::nullopt};
}

Decision auto_confirm(const BookingState& s, const Actor& a, int64_t now_ms) {
  if (a.role != Role::system) return Decision::reject(Rejection::not_allowed);
  if (auto r = closed_guard(s)) return Decision::reject(*r);
  if (s.dispute_open()) return Decision::reject(Rejection::dispute_open);
  if (!s.proof) return Decision::reject(Rejection::proof_required);
  if (s.approved) return Decision::reject(Rejection::already_approved);
  if (!s.auto_confirm_at_ms) return Decision::reject(Rejection::auto_confirm_disabled);
  if (now_ms < *s.auto_confirm_at_ms) return Decision::reject(Rejection::auto_confirm_not_due);
  Decision d{{AutoConfirmed{s.terms.booking_id, *s.auto_confirm_at_ms}}, std::nullopt};
  if (fully_held(s)) d.events.push_back(release_all(s, "auto_confirmed"));
  return d;
}

Decision open_dispute(const BookingState& s, const OpenDispute& c, const Actor& a, int64_t now_ms) {
  bool chargeback = c.source == DisputeSource::chargeback;
  bool allowed =
      chargeback ? (is_machine(a) || is_admin(a)) : (is_client(s, a) || is_provider(s, a));
  if (!allowed) return Decision::reject(Rejection::not_allowed);
  if (auto r = closed_guard(s)) return Decision::reject(*r);
  if (s.dispute_open()) return Decision::reject(Rejection::dispute_open);
  if (booking_held_minor(s) == 0) return Decision::reject(Rejection::nothing_held);
  std::optional<int64_t> remaining;
  if (s.auto_confirm_at_ms) remaining = std::max<int64_t>(0, *s.auto_confirm_at_ms - now_ms);
  return Decision{{DisputeOpened{s.terms.booking_id, a.id, a.role, c.reason, c.description,
                                 c.source, c.paystack_dispute_id, remaining}},
                  std::nullopt};
}

Decision resolve(const BookingState& s, const ResolveDispute& c, const Actor& a) {
  if (!is_admin(a)) return Decision::reject(Rejection::not_allowed);
  if (!s.dispute_open()) return Decision::reject(Rejection::no_dispute);
  // Paystack's resolution settles a chargeback's money: a refund now could pay the client twice.
  if (s.chargeback_holds_escrow()) return Decision::reject(Rejection::chargeback_open);
  int64_t held = booking_held_minor(s);
  int64_t to_provider = 0;
  int64_t to_client = 0;
  switch (c.outcome) {
    case ResolutionOutcome::release:
      to_provider = held;
      break;
    case ResolutionOutcome::refund:
      to_client = held;
      break;
    case ResolutionOutcome::split:
      to_provider = c.provider_amount_minor.value_or(-1);
      to_client = c.refund_amount_minor.value_or(-1);
      break;
  }
  bool valid =
      to_provider >= 0 && to_client >= 0 && to_provider <= held && to_client == held - to_provider;
  if (!valid) return Decision::reject(Rejection::invalid_resolution);
  FeeSplit split = split_fee(money(s, to_provider), s.terms.fee_bps);
  Decision d{
      {DisputeResolved{s.terms.booking_id, s.terms.provider_id, c.outcome, money(s, to_provider),
                       money(s, to_client), split.fee, split.provider_net, c.note, a.id}},
      std::nullopt};
  request_refunds(s, to_client, "dispute", d.events);
  return d;
}

Decision cancel(const BookingState& s, const CancelBooking& c, const Actor& a) {
  if (!(is_client(s, a) || is_provider(s, a) || is_admin(a)))
    return Decision::reject(Rejection::not_allowed);
  if (s.status == BookingStatus::cancelled) return Decision::reject(Rejection::already_cancelled);
  if (auto r = closed_guard(s)) return Decision::reject(*r);
  if (s.dispute_open()) return Decision::reject(Rejection::dispute_open);
  if (is_client(s, a) && s.proof) return Decision::reject(Rejection::proof_submitted);
  int64_t held = booking_held_minor(s);
  Decision d{{BookingCancelled{s.terms.booking_id, a.id, a.role, c.reason, money(s, held)}},
             std::nullopt};
  request_refunds(s, held, "cancellation", d.events);
  return d;
}

Decision record_refund(const BookingState& s, const RecordRefundOutcome& c, const Actor& a) {
  if (!(is_machine(a) || is_admin(a))) return Decision::reject(Rejection::not_allowed);
  const RefundRecord* r = find_refund(s, c.refund_id);
  if (!r) return Decision::reject(Rejection::unknown_refund);
  // processed and failed are final; a late or repeated report changes nothing.
  if (r->status == RefundStatus::processed || r->status == RefundStatus::failed) return {};
  const std::string& id = s.terms.booking_id;
  switch (c.status) {
    case RefundStatus::processed:
      return Decision{
          {RefundProcessed{id, r->refund_id, s.terms.client_id, r->amount,
                           c.paystack_refund_id ? c.paystack_refund_id : r->paystack_refund_id}},
          std::nullopt};
    case RefundStatus::failed:
      return Decision{{RefundFailed{id, r->refund_id, s.terms.client_id, r->amount, c.reason}},
                      std::nullopt};
    default: {
      std::optional<int64_t> refund_id =
          c.paystack_refund_id ? c.paystack_refund_id : r->paystack_refund_id;
      if (c.status == r->status && refund_id == r->paystack_refund_id) return {};
      return Decision{{RefundUpdated{id, r->refund_id, refund_status_name(c.status), refund_id}},
                      std::nullopt};
    }
  }
}

Decision retry_refund(const BookingState& s, const RetryRefund& c, const Actor& a) {
  if (!(is_machine(a) || is_admin(a))) return Decision::reject(Rejection::not_allowed);
  const RefundRecord* r = find_refund(s, c.refund_id);
  if (!r) return Decision::reject(Rejection::unknown_refund);
  if (r->status != RefundStatus::failed || r->retried || r->settled_by_chargeback)
    return Decision::reject(Rejection::refund_not_retryable);
  const std::string& id = s.terms.booking_id;
  return Decision{
      {RefundRequested{id, refund_id_for(id, static_cast<int>(s.refunds.size()) + 1),
                       s.terms.client_id, r->payment_reference, r->paystack_transaction_id,
                       r->amount, "retry", r->attempt + 1, a.id}},
      std::nullopt};
}

// ---- chargebacks (rule 6b) -------------------------------------------------------------------

// Where the money of a chargeback resolved for the customer comes from: what escrow still holds
// of that payment, then the provider's available balance up to what this booking paid them
// (less what earlier chargebacks took back), and the rest is the platform's loss.
ChargebackResolved settle_chargeback(const BookingState& s, const ChargebackRecord& cb,
                                     ChargebackResolution resolution, Money claimed_amount,
                                     int64_t now_ms) {
  ChargebackResolved e{
      s.terms.booking_id, s.terms.provider_id, cb.dispute_id, resolution, claimed_amount,
      money(s, 0),        money(s, 0),         money(s, 0),   false,      std::nullopt};
  bool other_unresolved =
      std::any_of(s.chargebacks.begin(), s.chargebacks.end(), [&](const ChargebackRecord& other) {
        return other.dispute_id != cb.dispute_id && !other.resolved();
      });
  if (resolution == ChargebackResolution::declined) {
    // The merchant won: the escrow the chargebacks froze is unfrozen and the clock runs again
    // (not a dispute a party or an admin opened, and not when an earlier chargeback already took
    // part of the escrow: the rest can never be released as a whole, an admin decides it), or,
    // when earlier chargebacks took everything held, the dispute ends with nothing left.
    bool held = booking_held_minor(s) > 0;
    bool by_chargeback = s.dispute_open() && s.dispute->source == DisputeSource::chargeback &&
                         s.dispute->paystack_dispute_id &&
                         s.find_chargeback(*s.dispute->paystack_dispute_id);
    e.dispute_closed = s.dispute_open() && !other_unresolved &&
                       ((by_chargeback && s.charged_back_minor == 0) || !held);
    if (e.dispute_closed && held && s.proof && s.dispute->auto_confirm_remaining_ms)
      e.auto_confirm_at_ms = now_ms + *s.dispute->auto_confirm_remaining_ms;
    return e;
  }
  const ChargeRecord* charge = find_charge(s, cb.payment_reference);
  const int64_t claimed = claimed_amount.amount_minor;
  // First what a failed refund of this payment left in escrow, owed to the client: those refunds
  // are settled by the chargeback (whole ones only) and never retried.
  int64_t owed_on_payment = 0;
  int64_t from_owed = 0;
  for (const RefundRecord& r : s.refunds) {
    if (r.payment_reference != cb.payment_reference || r.status != RefundStatus::failed ||
        r.retried || r.settled_by_chargeback)
      continue;
    owed_on_payment += r.amount.amount_minor;
    if (from_owed + r.amount.amount_minor > claimed) continue;
    from_owed += r.amount.amount_minor;
    e.settled_refunds.push_back(r.refund_id);
  }
  // Then what escrow holds of that payment for the booking itself.
  int64_t own = charge->in_escrow ? charge->amount.amount_minor - charge->refunded_minor -
                                        charge->charged_back_minor - owed_on_payment
                                  : 0;
  int64_t from_own =
      std::min({claimed - from_owed, std::max<int64_t>(0, own), booking_held_minor(s)});
  int64_t rest = claimed - from_owed - from_own;
  // Then the provider, up to what this payment paid them: its share of the net the booking
  // released (a payment never in escrow paid them nothing), less earlier chargebacks on it.
  int64_t exposure = 0;
  if (charge->in_escrow && s.amount_in_escrow_minor() > 0) {
    auto share = static_cast<int64_t>(static_cast<__int128>(charge->amount.amount_minor) *
                                      s.provider_net_minor / s.amount_in_escrow_minor());
    for (const ChargebackRecord& other : s.chargebacks) {
      if (other.payment_reference == cb.payment_reference && other.resolved())
        share -= other.from_provider.amount_minor;
    }
    exposure = std::min(share, s.provider_net_minor - s.chargeback_provider_minor);
  }
  int64_t from_provider = std::min(rest, std::max<int64_t>(0, exposure));
  e.from_escrow = money(s, from_owed + from_own);
  e.from_provider = money(s, from_provider);
  e.platform_loss = money(s, rest - from_provider);
  // Nothing left to decide on: the dispute ends with the money gone back to the customer.
  e.dispute_closed = s.dispute_open() && booking_held_minor(s) == from_own && !other_unresolved;
  return e;
}

// Refunds of the chargeback's payment still queued (never sent to Paystack) whose money the
// card network gives back: they fail, so that the chargeback settles them as it settles failed
// ones, and they are never sent through /refund (rule 6b). Only those the chargeback settles
// whole; the others stay queued.
std::vector<RefundFailed> unsent_refunds_returned(const BookingState& s, const ChargebackRecord& cb,
                                                  ChargebackResolution resolution,
                                                  Money claimed_amount, int64_t now_ms) {
  if (resolution == ChargebackResolution::declined) return {};
  BookingState trial = s;
  std::vector<RefundFailed> failed;
  for (const RefundRecord& r : s.refunds) {
    if (r.payment_reference != cb.payment_reference || r.status != RefundStatus::queued) continue;
    RefundFailed f{
        s.terms.booking_id, r.refund_id, s.terms.client_id, r.amount,
        "returned by Paystack chargeback " + std::to_string(cb.dispute_id) + "; never sent"};
    evolve(trial, f);
    failed.push_back(std::move(f));
  }
  if (failed.empty()) return {};
  ChargebackResolved settled = settle_chargeback(trial, *trial.find_chargeback(cb.dispute_id),
                                                 resolution, claimed_amount, now_ms);
  std::erase_if(failed, [&](const RefundFailed& f) {
    return std::find(settled.settled_refunds.begin(), settled.settled_refunds.end(), f.refund_id) ==
           settled.settled_refunds.end();
  });
  return failed;
}

Decision record_chargeback(const BookingState& s, const RecordChargeback& c, const Actor& a,
                           int64_t now_ms) {
  if (!(is_machine(a) || is_admin(a))) return Decision::reject(Rejection::not_allowed);
  const ChargeRecord* charge = find_charge(s, c.payment_reference);
  bool captured = charge && charge->status == ChargeStatus::captured;
  if (c.refund_amount.amount_minor <= 0 || c.refund_amount.currency != s.currency() ||
      (captured && c.refund_amount.amount_minor > charge->amount.amount_minor))
    return Decision::reject(Rejection::invalid_amount);
  if (!captured) return Decision::reject(Rejection::unknown_payment);
  const ChargebackRecord* known = s.find_chargeback(c.dispute_id);
  if (known && known->payment_reference != c.payment_reference)
    return Decision::reject(Rejection::unknown_payment);
  if (known && known->resolved()) return {};  // a resolved chargeback stays so
  Decision d;
  BookingState after = s;
  auto push = [&](Event e) {
    evolve(after, e);
    d.events.push_back(std::move(e));
  };
  const std::string& id = s.terms.booking_id;
  if (!known) {
    push(ChargebackOpened{id, c.dispute_id, c.payment_reference, c.refund_amount, c.status,
                          c.due_at_ms});
    // Money still held for the booking is frozen until Paystack decides (rule 6).
    if (charge->in_escrow) {
      OpenDispute open{"chargeback",
                       "Paystack chargeback " + std::to_string(c.dispute_id) + " on transaction " +
                           c.payment_reference,
                       DisputeSource::chargeback, c.dispute_id};
      Decision opened = open_dispute(after, open, a, now_ms);
      for (Event& e : opened.events) push(std::move(e));
    }
  } else if (!c.resolution && (known->status != c.status || known->due_at_ms != c.due_at_ms ||
                               known->refund_amount != c.refund_amount)) {
    push(ChargebackUpdated{id, c.dispute_id, c.refund_amount, c.status, c.due_at_ms});
  }
  if (!c.resolution) return d;
  // The amount Paystack resolved it for: a merchant may accept less than was claimed.
  for (RefundFailed& f : unsent_refunds_returned(after, *after.find_chargeback(c.dispute_id),
                                                 *c.resolution, c.refund_amount, now_ms))
    push(std::move(f));
  const ChargebackRecord& record = *after.find_chargeback(c.dispute_id);
  ChargebackResolved resolved =
      settle_chargeback(after, record, *c.resolution, c.refund_amount, now_ms);
  push(resolved);
  // Unfrozen with everything held and already approved: the release the dispute held back.
  if (resolved.dispute_closed && *c.resolution == ChargebackResolution::declined &&
      after.approved && fully_held(after))
    push(release_all(after, after.release_reason));
  return d;
}

Decision answer_chargeback(const BookingState& s, const AnswerChargeback& c, const Actor& a,
                           int64_t now_ms) {
  if (!is_admin(a)) return Decision::reject(Rejection::not_allowed);
  const ChargebackRecord* known = s.find_chargeback(c.dispute.dispute_id);
  if (!known) return Decision::reject(Rejection::unknown_chargeback);
  Decision d;
  BookingState after = s;
  // Paystack took the answer; its webhook may have resolved the chargeback meanwhile.
  if (!known->response) {
    d.events.push_back(
        ChargebackAnswered{s.terms.booking_id, known->dispute_id, c.response, c.message, a.id});
    evolve(after, d.events.back());
  }
  Actor paystack{a.id, Role::admin};
  Decision recorded = record_chargeback(after, c.dispute, paystack, now_ms);
  if (recorded.rejected()) return recorded;
  for (Event& e : recorded.events) d.events.push_back(std::move(e));
  return d;
}
}  // namespace

bool BookingState::installment_captured(int installment) const {
  return std::any_of(charges.begin(), charges.end(), [&](const ChargeRecord& c) {
    return c.installment == installment && c.status == ChargeStatus::captured && c.in_escrow;
  });
}

const ChargebackRecord* BookingState::find_chargeback(int64_t dispute_id) const {
  for (const ChargebackRecord& c : chargebacks) {
    if (c.dispute_id == dispute_id) return &c;
  }
  return nullptr;
}

bool BookingState::chargeback_unresolved() const {
  return std::any_of(chargebacks.begin(), chargebacks.end(),
                     [](const ChargebackRecord& c) { return !c.resolved(); });
}

bool BookingState::chargeback_holds_escrow() const {
  return std::any_of(chargebacks.begin(), chargebacks.end(), [&](const ChargebackRecord& c) {
    const ChargeRecord* charge = find_charge(*this, c.payment_reference);
    return !c.resolved() && charge && charge->in_escrow;
  });
}

std::optional<Rejection> check_chargeback_answer(const BookingState& s, const Actor& a,
                                                 int64_t dispute_id) {
  if (!s.exists()) return Rejection::booking_not_found;
  if (!is_admin(a)) return Rejection::not_allowed;
  const ChargebackRecord* c = s.find_chargeback(dispute_id);
  if (!c) return Rejection::unknown_chargeback;
  if (c->resolved() || c->response || c->status != ChargebackStatus::awaiting_merchant_feedback)
    return Rejection::chargeback_not_answerable;
  return std::nullopt;
}

int64_t BookingState::amount_in_escrow_minor() const {
  int64_t total = 0;
  for (const ChargeRecord& c : charges) {
    if (c.status == ChargeStatus::captured && c.in_escrow) total += c.amount.amount_minor;
  }
  return total;
}

std::variant<PaymentDue, Rejection> next_payment(const BookingState& s, int64_t now_ms) {
  if (!s.exists()) return Rejection::booking_not_found;
  if (auto r = closed_guard(s)) return *r;
  if (s.dispute_open()) return Rejection::dispute_open;
  int count = static_cast<int>(s.terms.installments.size());
  int installment = 1;
  while (installment <= count && s.installment_captured(installment)) ++installment;
  if (installment > count) return Rejection::nothing_due;
  if (s.terms.pay_by_ms && now_ms > *s.terms.pay_by_ms && s.captured_minor == 0)
    return Rejection::booking_expired;
  int attempt = 1;
  for (const ChargeRecord& c : s.charges) attempt += c.installment == installment ? 1 : 0;
  return PaymentDue{installment, s.terms.installments[installment - 1],
                    payment_reference(s.terms.booking_id, installment, attempt)};
}

bool expiry_due(const BookingState& s, int64_t at_ms) {
  return s.status == BookingStatus::awaiting_payment && s.captured_minor == 0 &&
         s.terms.pay_by_ms && at_ms > *s.terms.pay_by_ms;
}

const ChargeRecord* pending_checkout(const BookingState& s, int installment) {
  for (auto it = s.charges.rbegin(); it != s.charges.rend(); ++it) {
    if (it->installment != installment) continue;
    bool reusable = it->status == ChargeStatus::pending && !it->authorization_url.empty() &&
                    it->amount == s.terms.installments[installment - 1];
    return reusable ? &*it : nullptr;  // only the latest attempt: an older one was superseded
  }
  return nullptr;
}

Decision decide(const BookingState& s, const BookingCommand& command, const Actor& a,
                int64_t now_ms) {
  if (!std::holds_alternative<CreateBooking>(command) && !s.exists())
    return Decision::reject(Rejection::booking_not_found);
  return std::visit(
      Overloaded{
          [&](const CreateBooking& c) { return create(s, c, a, now_ms); },
          [&](const InitiatePayment& c) { return initiate(s, c, a, now_ms); },
          [&](const CapturePayment& c) { return capture(s, c, now_ms); },
          [&](const FailPayment& c) { return fail(s, c); },
          [&](const SubmitProof& c) { return submit_proof(s, c, a, now_ms); },
          [&](const ConfirmCompletion&) { return confirm(s, a); },
          [&](const AutoConfirm&) { return auto_confirm(s, a, now_ms); },
          [&](const ExpireBooking&) { return expire(s, a, now_ms); },
          [&](const OpenDispute& c) { return open_dispute(s, c, a, now_ms); },
          [&](const ResolveDispute& c) { return resolve(s, c, a); },
          [&](const CancelBooking& c) { return cancel(s, c, a); },
          [&](const RecordRefundOutcome& c) { return record_refund(s, c, a); },
          [&](const RetryRefund& c) { return retry_refund(s, c, a); },
          [&](const RecordChargeback& c) { return record_chargeback(s, c, a, now_ms); },
          [&](const AnswerChargeback& c) { return answer_chargeback(s, c, a, now_ms); },
      },
      command);
}

// ---- evolve ----------------------------------------------------------------------------------

namespace {

// payment_status once the money is where it is (rule 10 bookkeeping).
void settle_payment_status(BookingState& s) {
  bool refunds_open = std::any_of(s.refunds.begin(), s.refunds.end(), [](const RefundRecord& r) {
    return r.status != RefundStatus::processed &&
           !(r.status == RefundStatus::failed && (r.retried || r.settled_by_chargeback));
  });
  if (s.status == BookingStatus::cancelled || s.status == BookingStatus::refunded ||
      s.status == BookingStatus::expired) {
    if (refunds_open || s.held_minor() > 0)
      s.payment_status = PaymentStatus::refunding;
    else if (s.refunds_processed_minor > 0 || s.charged_back_minor > 0)
      s.payment_status = PaymentStatus::refunded;
  }
}

void check_invariants(const BookingState& s) {
  LEDGER_ASSERT(s.held_minor() >= 0, "escrow never goes negative");
  LEDGER_ASSERT(s.charged_back_minor >= 0 && s.chargeback_provider_minor <= s.provider_net_minor,
                "a chargeback takes back at most what escrow held and the provider was paid");
  LEDGER_ASSERT(s.released_minor >= 0 && s.refunded_minor >= 0, "moved amounts are positive");
  LEDGER_ASSERT(s.fee_minor + s.provider_net_minor == s.released_minor,
                "fee and provider net add up to what was released");
  LEDGER_ASSERT(s.amount_in_escrow_minor() <= s.terms.amount.amount_minor,
                "escrow never holds more than the booking's amount");
}

void on_captured(BookingState& s, const PaymentCaptured& e) {
  ChargeRecord* c = find_charge(s, e.reference);
  if (!c) {
    s.charges.push_back(new_charge(e.reference, e.installment, e.amount));
    c = &s.charges.back();
  }
  bool duplicate = s.installment_captured(e.installment);
  c->status = ChargeStatus::captured;
  c->amount = e.amount;
  c->paystack_transaction_id = e.paystack_transaction_id;
  c->paystack_fee = e.paystack_fee;
  c->in_escrow = !duplicate && s.status != BookingStatus::cancelled &&
                 s.status != BookingStatus::refunded && s.status != BookingStatus::completed &&
                 s.status != BookingStatus::expired;
  s.captured_minor += e.amount.amount_minor;
  s.paystack_fees_minor += e.paystack_fee.amount_minor;
  if (!c->in_escrow) return;
  if (s.status == BookingStatus::awaiting_payment) s.status = BookingStatus::pending_execution;
  s.payment_status = fully_held(s) ? PaymentStatus::escrow : PaymentStatus::partially_paid;
}

void on_refund_requested(BookingState& s, const RefundRequested& e) {
  ChargeRecord& c = known_charge(s, e.payment_reference);
  LEDGER_ASSERT(c.status == ChargeStatus::captured, "a refund needs a captured charge");
  c.refunded_minor += e.amount.amount_minor;
  LEDGER_ASSERT(c.refunded_minor <= c.amount.amount_minor, "never refund more than was paid");
  s.refunded_minor += e.amount.amount_minor;
  if (e.reason == "retry") {
    for (RefundRecord& r : s.refunds) {
      if (r.payment_reference == e.payment_reference && r.status == RefundStatus::failed &&
          !r.retried && r.amount == e.amount) {
        r.retried = true;
        break;
      }
    }
  }
  s.refunds.push_back(RefundRecord{e.refund_id, e.payment_reference, e.reason,
                                   e.paystack_transaction_id, e.amount, RefundStatus::queued,
                                   e.attempt, std::nullopt, false, false, "",
                                   e.requested_by.value_or("")});
  // payment_status follows the booking's own money, so a duplicate refunded while the booking
  // is open leaves it alone; settle_payment_status() covers cancelled and refunded bookings.
}

ChargebackRecord& known_chargeback(BookingState& s, int64_t dispute_id) {
  auto* c = const_cast<ChargebackRecord*>(s.find_chargeback(dispute_id));
  LEDGER_ASSERT(c != nullptr, "event names a chargeback the booking does not have");
  return *c;
}

void on_chargeback_resolved(BookingState& s, const ChargebackResolved& e) {
  ChargebackRecord& c = known_chargeback(s, e.dispute_id);
  LEDGER_ASSERT(!c.resolved(), "a chargeback is resolved once");
  bool declined = e.resolution == ChargebackResolution::declined;
  int64_t parts =
      e.from_escrow.amount_minor + e.from_provider.amount_minor + e.platform_loss.amount_minor;
  LEDGER_ASSERT(parts == (declined ? 0 : e.refund_amount.amount_minor),
                "a chargeback's parts add up to what the card network took back");
  c.status = ChargebackStatus::resolved;
  c.resolution = e.resolution;
  c.refund_amount = e.refund_amount;
  c.from_escrow = e.from_escrow;
  c.from_provider = e.from_provider;
  c.platform_loss = e.platform_loss;
  known_charge(s, c.payment_reference).charged_back_minor += e.from_escrow.amount_minor;
  int64_t settled = 0;  // of from_escrow, what failed refunds left owed to the client
  for (const std::string& id : e.settled_refunds) {
    RefundRecord& r = known_refund(s, id);
    LEDGER_ASSERT(r.status == RefundStatus::failed && !r.retried && !r.settled_by_chargeback,
                  "a chargeback settles only a failed refund not retried");
    r.settled_by_chargeback = true;
    settled += r.amount.amount_minor;
  }
  LEDGER_ASSERT(settled <= e.from_escrow.amount_minor, "settled refunds are part of from_escrow");
  s.charged_back_minor += e.from_escrow.amount_minor;
  s.chargeback_provider_minor += e.from_provider.amount_minor;
  s.chargeback_loss_minor += e.platform_loss.amount_minor;
  // The booking's own escrow all went back: refunded (money owed to the client is not its own).
  if (e.from_escrow.amount_minor > settled && booking_held_minor(s) == 0)
    s.payment_status = PaymentStatus::refunded;
  if (!e.dispute_closed) return;
  LEDGER_ASSERT(s.dispute_open(), "a chargeback closes only an open dispute");
  s.dispute->open = false;
  s.dispute->resolved_by = "paystack";
  s.dispute->note =
      "Paystack chargeback " + std::to_string(e.dispute_id) + " " + enum_name(e.resolution);
  if (booking_held_minor(s) > 0) {  // unfrozen: the booking goes on where it was
    s.status = s.proof ? BookingStatus::awaiting_confirmation : BookingStatus::pending_execution;
    s.auto_confirm_at_ms = e.auto_confirm_at_ms;
  } else {  // the money went back to the customer through the card network
    s.status = BookingStatus::refunded;
  }
}

void on_dispute_resolved(BookingState& s, const DisputeResolved& e) {
  s.dispute->open = false;
  s.dispute->outcome = e.outcome;
  s.dispute->note = e.note;
  s.dispute->resolved_by = e.resolved_by;
  s.dispute->provider_amount = e.provider_amount;
  s.dispute->refund_amount = e.refund_amount;
  s.released_minor += e.provider_amount.amount_minor;
  s.fee_minor += e.fee.amount_minor;
  s.provider_net_minor += e.provider_net.amount_minor;
  s.auto_confirm_at_ms.reset();
  if (e.outcome == ResolutionOutcome::refund) {
    s.status = BookingStatus::refunded;
    s.payment_status = PaymentStatus::refunding;
  } else {
    s.status = BookingStatus::completed;
    s.payment_status =
        e.outcome == ResolutionOutcome::split ? PaymentStatus::split : PaymentStatus::released;
    s.release_reason = "dispute_resolution";
  }
}

}  // namespace

void evolve(BookingState& s, const Event& event) {
  std::visit(Overloaded{
                 [&](const BookingCreated& e) {
                   s.terms = e;
                   s.status = BookingStatus::awaiting_payment;
                   s.payment_status = PaymentStatus::unpaid;
                 },
                 [&](const PaymentInitiated& e) {
                   s.charges.push_back(new_charge(e.reference, e.installment, e.amount));
                   s.charges.back().authorization_url = e.authorization_url;
                   s.charges.back().access_code = e.access_code;
                   if (s.captured_minor == 0) s.payment_status = PaymentStatus::pending;
                 },
                 [&](const PaymentCaptured& e) { on_captured(s, e); },
                 [&](const PaymentFailed& e) {
                   known_charge(s, e.reference).status = ChargeStatus::failed;
                   if (s.captured_minor == 0) s.payment_status = PaymentStatus::failed;
                 },
                 [&](const PaymentFlagged& e) {
                   ChargeRecord* c = find_charge(s, e.reference);
                   if (!c) {
                     s.charges.push_back(new_charge(e.reference, e.installment, e.received));
                     c = &s.charges.back();
                   }
                   c->status = ChargeStatus::flagged;
                   c->amount = e.received;
                   c->paystack_transaction_id = e.paystack_transaction_id;
                 },
                 [&](const ProofSubmitted& e) {
                   s.proof = ProofRecord{e.notes, e.files, e.attachments};
                   s.auto_confirm_at_ms = e.auto_confirm_at_ms;
                   if (s.status == BookingStatus::pending_execution)
                     s.status = BookingStatus::awaiting_confirmation;
                 },
                 [&](const CompletionConfirmed& e) {
                   s.approved = true;
                   s.approved_by = e.confirmed_by;
                   s.release_reason = e.role == Role::admin ? "admin_released" : "client_approved";
                 },
                 [&](const AutoConfirmed&) {
                   s.approved = true;
                   s.auto_confirmed = true;
                   s.approved_by = "system";
                   s.release_reason = "auto_confirmed";
                 },
                 [&](const FundsReleased& e) {
                   LEDGER_ASSERT(e.gross.amount_minor == booking_held_minor(s),
                                 "a release moves all the booking's escrow");
                   s.released_minor += e.gross.amount_minor;
                   s.fee_minor += e.fee.amount_minor;
                   s.provider_net_minor += e.provider_net.amount_minor;
                   s.release_reason = e.reason;
                   s.status = BookingStatus::completed;
                   s.payment_status = PaymentStatus::released;
                   s.auto_confirm_at_ms.reset();
                 },
                 [&](const DisputeOpened& e) {
                   s.dispute = DisputeRecord{true,
                                             e.opened_by,
                                             e.role,
                                             e.reason,
                                             e.description,
                                             e.source,
                                             e.paystack_dispute_id,
                                             e.auto_confirm_remaining_ms,
                                             std::nullopt,
                                             "",
                                             "",
                                             {},
                                             {}};
                   s.status = BookingStatus::disputed;
                   s.auto_confirm_at_ms.reset();  // the clock stops while the dispute is open
                 },
                 [&](const DisputeResolved& e) { on_dispute_resolved(s, e); },
                 [&](const BookingExpired&) { s.status = BookingStatus::expired; },
                 [&](const BookingCancelled&) {
                   s.cancelled = true;
                   s.status = BookingStatus::cancelled;
                   s.auto_confirm_at_ms.reset();
                 },
                 [&](const RefundRequested& e) { on_refund_requested(s, e); },
                 [&](const RefundUpdated& e) {
                   RefundRecord& r = known_refund(s, e.refund_id);
                   auto status = parse_refund_status(e.status);
                   LEDGER_ASSERT(status.has_value(), "RefundUpdated with an unknown status");
                   r.status = *status;
                   r.paystack_refund_id = e.paystack_refund_id;
                 },
                 [&](const RefundProcessed& e) {
                   RefundRecord& r = known_refund(s, e.refund_id);
                   r.status = RefundStatus::processed;
                   r.paystack_refund_id = e.paystack_refund_id;
                   s.refunds_processed_minor += e.amount.amount_minor;
                 },
                 [&](const RefundFailed& e) {
                   RefundRecord& r = known_refund(s, e.refund_id);
                   r.status = RefundStatus::failed;
                   r.failure_reason = e.reason;
                   known_charge(s, r.payment_reference).refunded_minor -= e.amount.amount_minor;
                   s.refunded_minor -= e.amount.amount_minor;  // back in escrow until a retry
                 },
                 [&](const ChargebackOpened& e) {
                   ChargebackRecord c;
                   c.dispute_id = e.dispute_id;
                   c.payment_reference = e.payment_reference;
                   c.refund_amount = e.refund_amount;
                   c.status = e.status;
                   c.due_at_ms = e.due_at_ms;
                   c.from_escrow = c.from_provider = c.platform_loss = Money{0, s.currency()};
                   LEDGER_ASSERT(
                       known_charge(s, e.payment_reference).status == ChargeStatus::captured,
                       "a chargeback is on a captured payment");
                   s.chargebacks.push_back(std::move(c));
                 },
                 [&](const ChargebackUpdated& e) {
                   ChargebackRecord& c = known_chargeback(s, e.dispute_id);
                   c.refund_amount = e.refund_amount;
                   c.status = e.status;
                   c.due_at_ms = e.due_at_ms;
                 },
                 [&](const ChargebackAnswered& e) {
                   ChargebackRecord& c = known_chargeback(s, e.dispute_id);
                   c.response = e.response;
                   c.response_message = e.message;
                   c.answered_by = e.answered_by;
                 },
                 [&](const ChargebackResolved& e) { on_chargeback_resolved(s, e); },
                 [&](const auto&) { LEDGER_ASSERT(false, "provider event in a booking stream"); },
             },
             event);
  ++s.version;
  settle_payment_status(s);
  check_invariants(s);
}

}  // namespace escrow
