// The reference model of the randomized decider suite (randomized_test.cpp): Ledger, an
// in-memory double-entry ledger fed with postings_for(), and Auditor, an independent model that
// knows the rules of DESIGN section 4 and, from the events alone, tracks the booking's terms,
// what was captured, released, refunded and held (per charge and per refund), the dispute and
// approval state, the chargebacks (rule 6b: where the money of each came from), and the
// provider's available and in-flight balances and payouts.
//
// Contract: feed the Auditor every accepted decision, in order, through booking_decision() or
// provider_decision(); the first broken rule is kept in `error` (empty while all is well) and
// later ones are ignored. The model never calls the decider: it re-derives what the events
// should be from the events seen before them. Both types are plain values, not thread-safe.
// Brings namespace escrow into the including file, as the suite is written against it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ledger/decider.h"
#include "ledger/postings.h"

using namespace escrow;

__extension__ typedef __int128 int128;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

inline int64_t floor_bps(int64_t amount, int bps) {
  return static_cast<int64_t>(static_cast<int128>(amount) * bps / 10'000);
}

inline bool valid_reference(const std::string& r) {
  if (r.size() < 16 || r.size() > 50) return false;
  for (char ch : r) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
  }
  return true;
}

// ---- the books -------------------------------------------------------------------------------

struct Ledger {
  std::map<std::pair<std::string, Currency>, int64_t> balances;

  void post(const Event& e) {
    for (const Posting& p : postings_for(e)) {
      balances[{p.debit_account, p.amount.currency}] -= p.amount.amount_minor;
      balances[{p.credit_account, p.amount.currency}] += p.amount.amount_minor;
    }
  }
  int64_t balance(const std::string& account, Currency currency) const {
    auto it = balances.find({account, currency});
    return it == balances.end() ? 0 : it->second;
  }
};

// ---- the auditor: DESIGN section 4 from the events alone ---------------------------------------

struct Auditor {
  std::string error;
  void expect(bool ok, const std::string& what) {
    if (!ok && error.empty()) error = what;
  }

  // terms
  bool created = false;
  Currency currency = Currency::NGN;
  int64_t amount = 0;
  int fee_bps = 0;
  std::vector<int64_t> installments;

  // the booking's money
  int64_t captured = 0, released = 0, refunded = 0, held = 0;
  int64_t charged_back = 0;      // escrow that chargebacks took back
  int64_t charged_back_own = 0;  // of it, the booking's own (not what failed refunds owed)
  int64_t owed = 0;       // failed refunds waiting for their retry: the client's money, in escrow
  int64_t in_escrow = 0;  // captured for the booking itself (not refunded at once)
  int64_t fees = 0, paystack_fees = 0, refund_in_flight = 0;
  int endings = 0;  // FundsReleased or DisputeResolved
  bool closed = false, cancelled = false, refunded_outcome = false, released_by_event = false;
  bool expired = false;
  std::optional<int64_t> pay_by;
  bool dispute_open = false, approved = false, proof = false;
  std::optional<int64_t> auto_confirm_at;
  std::set<int> installments_held;
  std::map<std::string, int64_t> captured_by_ref, refunded_by_ref, charged_back_by_ref;
  std::map<std::string, int64_t> provider_debited_by_ref;
  std::set<std::string> in_escrow_refs;  // captures that entered escrow
  struct Chargeback {
    std::string reference;
    int64_t amount = 0;
    bool resolved = false;
  };
  std::map<int64_t, Chargeback> chargebacks;
  std::optional<int64_t> dispute_chargeback;  // the chargeback whose report opened the dispute
  std::optional<int64_t> frozen_remaining;    // the auto-confirm time the dispute paused
  int64_t provider_net = 0;                   // what this booking paid the provider
  int64_t provider_debited = 0, platform_loss = 0;
  std::set<std::string> seen_references;  // initiated, captured or flagged
  struct Refund {
    std::string reference;
    int64_t amount = 0;
    std::string status = "requested";
    bool retried = false;
    int attempt = 1;
    bool settled = false;  // failed, and a chargeback returned its money
  };
  std::map<std::string, Refund> refunds;
  std::vector<std::string> refund_order;  // ids in request order

  // the provider's money
  std::map<Currency, int64_t> available, in_flight;
  struct Payout {
    Money amount;
    std::string status = "queued";
    bool retried = false;
    int attempt = 1;
  };
  std::map<std::string, Payout> payouts;
  std::set<std::string> payout_references;

  int64_t booking_held() const { return held - owed; }

  int64_t refunds_following(const std::vector<Event>& events, size_t i, const std::string& reason) {
    int64_t sum = 0;
    for (size_t j = i + 1; j < events.size(); ++j) {
      if (const auto* r = std::get_if<RefundRequested>(&events[j])) {
        expect(r->reason == reason,
               "a refund decided with a " + reason + " has reason " + r->reason);
        sum += r->amount.amount_minor;
      }
    }
    return sum;
  }

  void check_fee(const Money& gross, const Money& fee, const Money& net) {
    expect(fee.amount_minor == floor_bps(gross.amount_minor, fee_bps),
           "fee is not floor(gross * fee_bps / 10000)");
    expect(net.amount_minor == gross.amount_minor - fee.amount_minor, "net is not gross - fee");
    expect(fee.currency == currency && net.currency == currency && gross.currency == currency,
           "release in another currency");
  }

  void on_created(const BookingCreated& e) {
    expect(!created, "created twice");
    created = true;
    currency = e.amount.currency;
    amount = e.amount.amount_minor;
    fee_bps = e.fee_bps;
    pay_by = e.pay_by_ms;
    installments.clear();
    int64_t sum = 0;
    for (const Money& m : e.installments) {
      installments.push_back(m.amount_minor);
      sum += m.amount_minor;
      expect(m.currency == currency, "an installment in another currency");
      expect(m.amount_minor >= currency_minimum_minor(currency), "installment below minimum");
    }
    expect(sum == amount, "installments do not add up to the amount");
    expect(amount > 0 && amount <= amount_minor_max, "amount out of range");
    expect(amount >= currency_minimum_minor(currency), "amount below minimum");
    expect(fee_bps >= 0 && fee_bps <= bps_max, "fee_bps out of range");
    if (e.plan == PaymentPlan::split) {
      expect(installments.size() == 2, "split plan without two installments");
      expect(installments[0] == floor_bps(amount, e.deposit_bps), "deposit is not floored bps");
    } else {
      expect(e.plan == PaymentPlan::full && installments.size() == 1,
             "full plan is not one installment");
    }
  }

  void on_captured(const std::vector<Event>& events, size_t i, const PaymentCaptured& e) {
    expect(!captured_by_ref.count(e.reference), "a reference captured twice");
    bool known = e.installment >= 1 && e.installment <= static_cast<int>(installments.size());
    expect(known, "capture of an installment the plan lacks");
    if (!known) return;
    expect(e.amount == Money{installments[e.installment - 1], currency},
           "a capture of another amount than the installment entered the books");
    bool extra = installments_held.count(e.installment) > 0 || closed;
    const RefundRequested* back = nullptr;
    if (i + 1 < events.size()) back = std::get_if<RefundRequested>(&events[i + 1]);
    bool refunded_at_once = back && back->payment_reference == e.reference;
    expect(extra == refunded_at_once, extra ? "a duplicate or late capture was not refunded at once"
                                            : "a capture due for the booking was refunded at once");
    if (refunded_at_once) {
      expect(back->amount == e.amount, "a capture refunded at once in part");
      // Paid after pay_by into an expired booking, or confirmed after it expired though paid in
      // time (late), or a second capture of an installment.
      std::string reason = installments_held.count(e.installment)     ? "duplicate_payment"
                           : !expired                                 ? "late_payment"
                           : e.paid_at_ms && *e.paid_at_ms <= *pay_by ? "late_payment"
                                                                      : "paid_after_pay_by";
      expect(back->reason == reason, "refund at once with the wrong reason");
    } else {
      installments_held.insert(e.installment);
      in_escrow += e.amount.amount_minor;
      in_escrow_refs.insert(e.reference);
    }
    captured_by_ref[e.reference] = e.amount.amount_minor;
    seen_references.insert(e.reference);
    captured += e.amount.amount_minor;
    held += e.amount.amount_minor;
    paystack_fees += e.paystack_fee.amount_minor;
  }

  void on_released(const FundsReleased& e) {
    expect(approved, "released without an approval");
    expect(!dispute_open, "released while a dispute is open");
    expect(!closed, "released a closed booking");
    expect(booking_held() == amount, "released without the full amount held");
    expect(e.gross.amount_minor == amount, "a release of other than the booking's amount");
    check_fee(e.gross, e.fee, e.provider_net);
    ++endings;
    released += e.gross.amount_minor;
    held -= e.gross.amount_minor;
    fees += e.fee.amount_minor;
    available[currency] += e.provider_net.amount_minor;
    provider_net += e.provider_net.amount_minor;
    closed = released_by_event = true;
    auto_confirm_at.reset();
  }

  void on_resolved(const std::vector<Event>& events, size_t i, const DisputeResolved& e) {
    expect(dispute_open, "resolved with no dispute open");
    expect(!chargeback_holds_escrow(), "resolved while Paystack has a chargeback on held money");
    int64_t to_provider = e.provider_amount.amount_minor;
    int64_t to_client = e.refund_amount.amount_minor;
    expect(to_provider >= 0 && to_client >= 0, "negative resolution part");
    expect(to_provider + to_client == booking_held(), "resolution parts do not add up to held");
    if (e.outcome == ResolutionOutcome::release)
      expect(to_client == 0, "a release resolution refunds");
    if (e.outcome == ResolutionOutcome::refund)
      expect(to_provider == 0, "a refund resolution releases");
    expect(refunds_following(events, i, "dispute") == to_client,
           "resolution refunds do not add up to its refund part");
    check_fee(e.provider_amount, e.fee, e.provider_net);
    ++endings;
    released += to_provider;
    held -= to_provider;
    fees += e.fee.amount_minor;
    available[currency] += e.provider_net.amount_minor;
    provider_net += e.provider_net.amount_minor;
    closed = true;
    dispute_open = false;
    refunded_outcome = e.outcome == ResolutionOutcome::refund;
    auto_confirm_at.reset();
  }

  void on_refund_requested(const RefundRequested& e) {
    expect(valid_reference(e.refund_id), "refund id is not a valid reference");
    expect(captured_by_ref.count(e.payment_reference) > 0, "refund of a charge never captured");
    expect(e.amount.amount_minor > 0 && e.amount.currency == currency, "refund of a bad amount");
    expect(!refunds.count(e.refund_id), "refund id reused");
    int64_t& of_charge = refunded_by_ref[e.payment_reference];
    of_charge += e.amount.amount_minor;
    expect(of_charge <= captured_by_ref[e.payment_reference], "refunded more than a charge");
    Refund r{e.payment_reference, e.amount.amount_minor, "requested", false, e.attempt};
    if (e.reason == "retry") {
      bool found = false;
      for (auto& [id, old] : refunds) {
        if (old.status == "failed" && !old.retried && !old.settled &&
            old.reference == e.payment_reference && old.amount == e.amount.amount_minor &&
            old.attempt + 1 == e.attempt) {
          old.retried = found = true;
          break;
        }
      }
      expect(found, "a retry of no failed refund");
      owed -= e.amount.amount_minor;
    }
    refunds[e.refund_id] = r;
    refund_order.push_back(e.refund_id);
    refunded += e.amount.amount_minor;
    held -= e.amount.amount_minor;
    refund_in_flight += e.amount.amount_minor;
  }

  bool chargeback_holds_escrow() const {
    for (const auto& [id, c] : chargebacks) {
      if (!c.resolved && in_escrow_refs.count(c.reference)) return true;
    }
    return false;
  }

  bool chargeback_unresolved(std::optional<int64_t> except = std::nullopt) const {
    for (const auto& [id, c] : chargebacks) {
      if (!c.resolved && id != except) return true;
    }
    return false;
  }

  void on_chargeback_opened(const ChargebackOpened& e) {
    expect(captured_by_ref.count(e.payment_reference) > 0, "a chargeback on no capture");
    expect(e.refund_amount.currency == currency && e.refund_amount.amount_minor > 0 &&
               e.refund_amount.amount_minor <= captured_by_ref[e.payment_reference],
           "a chargeback of a bad amount");
    expect(!chargebacks.count(e.dispute_id), "a chargeback opened twice");
    chargebacks[e.dispute_id] = Chargeback{e.payment_reference, e.refund_amount.amount_minor};
  }

  // Rule 6b: from escrow what it holds of that payment, then the provider up to what the
  // booking paid them, then the platform.
  void on_chargeback_resolved(const ChargebackResolved& e, int64_t now_ms) {
    auto it = chargebacks.find(e.dispute_id);
    expect(it != chargebacks.end() && !it->second.resolved, "resolved an unknown chargeback");
    if (it == chargebacks.end()) return;
    Chargeback& c = it->second;
    expect(e.refund_amount.amount_minor > 0 &&
               e.refund_amount.amount_minor <= captured_by_ref[c.reference],
           "resolved for a bad amount");
    c.amount = e.refund_amount.amount_minor;  // a merchant may accept less than was claimed
    bool others = chargeback_unresolved(e.dispute_id);
    c.resolved = true;
    if (e.resolution == ChargebackResolution::declined) {
      expect(e.from_escrow.amount_minor == 0 && e.from_provider.amount_minor == 0 &&
                 e.platform_loss.amount_minor == 0,
             "a declined chargeback moved money");
      bool ends = dispute_open && !others &&
                  ((dispute_chargeback.has_value() && charged_back == 0) || booking_held() == 0);
      expect(e.dispute_closed == ends, "a declined chargeback left the wrong dispute");
      std::optional<int64_t> clock;
      if (ends && booking_held() > 0 && proof && frozen_remaining)
        clock = now_ms + *frozen_remaining;
      expect(e.auto_confirm_at_ms == clock, "the unfrozen clock is wrong");
      if (ends) {
        dispute_open = false;
        auto_confirm_at = clock;
        if (booking_held() == 0) closed = refunded_outcome = true;
      }
      return;
    }
    int64_t owed_on_payment = 0, from_owed = 0;
    std::vector<std::string> settled;
    for (const std::string& id : refund_order) {
      const Refund& r = refunds[id];
      if (r.reference != c.reference || r.status != "failed" || r.retried || r.settled) continue;
      owed_on_payment += r.amount;
      if (from_owed + r.amount > c.amount) continue;
      from_owed += r.amount;
      settled.push_back(id);
    }
    expect(e.settled_refunds == settled, "a chargeback settled the wrong failed refunds");
    int64_t own = in_escrow_refs.count(c.reference)
                      ? captured_by_ref[c.reference] - refunded_by_ref[c.reference] -
                            charged_back_by_ref[c.reference] - owed_on_payment
                      : 0;
    int64_t from_own = std::min({c.amount - from_owed, std::max<int64_t>(0, own), booking_held()});
    int64_t rest = c.amount - from_owed - from_own;
    int64_t exposure = 0;
    if (in_escrow_refs.count(c.reference) && in_escrow > 0) {
      int64_t share = static_cast<int64_t>(static_cast<int128>(captured_by_ref[c.reference]) *
                                           provider_net / in_escrow) -
                      provider_debited_by_ref[c.reference];
      exposure = std::min(share, provider_net - provider_debited);
    }
    int64_t from_provider = std::min(rest, std::max<int64_t>(0, exposure));
    int64_t from_escrow = from_owed + from_own;
    expect(e.from_escrow.amount_minor == from_escrow, "a chargeback took the wrong escrow");
    expect(e.from_provider.amount_minor == from_provider,
           "a chargeback took the wrong amount from the provider");
    expect(e.platform_loss.amount_minor == rest - from_provider,
           "a chargeback's platform loss is wrong");
    for (const std::string& id : settled) refunds[id].settled = true;
    owed -= from_owed;
    held -= from_escrow;
    charged_back += from_escrow;
    charged_back_own += from_own;
    charged_back_by_ref[c.reference] += from_escrow;
    provider_debited += from_provider;
    provider_debited_by_ref[c.reference] += from_provider;
    platform_loss += e.platform_loss.amount_minor;
    available[currency] -= from_provider;
    bool ends = dispute_open && booking_held() == 0 && !others;
    expect(e.dispute_closed == ends, "a chargeback for the customer left the wrong dispute");
    if (ends) {
      dispute_open = false;
      closed = refunded_outcome = true;
    }
  }

  Refund* open_refund(const std::string& id) {
    auto it = refunds.find(id);
    expect(it != refunds.end(), "outcome of an unknown refund");
    if (it == refunds.end()) return nullptr;
    expect(it->second.status != "processed" && it->second.status != "failed",
           "outcome recorded on a final refund");
    return &it->second;
  }

  void booking_decision(const std::vector<Event>& events, int64_t now_ms) {
    for (size_t i = 0; i < events.size(); ++i) {
      std::visit(
          Overloaded{
              [&](const BookingCreated& e) { on_created(e); },
              [&](const PaymentInitiated& e) {
                expect(!closed && !dispute_open, "a checkout on a closed or disputed booking");
                expect(valid_reference(e.reference), "checkout reference shape");
                expect(!installments_held.count(e.installment), "a checkout of a paid installment");
                expect(seen_references.insert(e.reference).second,
                       "a checkout reusing a reference");
              },
              [&](const PaymentCaptured& e) { on_captured(events, i, e); },
              [&](const PaymentFailed&) {},
              [&](const PaymentFlagged& e) {
                expect(e.expected != e.received, "flagged a matching payment");
                expect(!captured_by_ref.count(e.reference), "flagged a captured reference");
                seen_references.insert(e.reference);
              },
              [&](const ProofSubmitted& e) {
                expect(!closed && !dispute_open && booking_held() > 0 && !proof,
                       "proof without money held, or twice");
                proof = true;
                auto_confirm_at = e.auto_confirm_at_ms;
              },
              [&](const CompletionConfirmed& e) {
                expect(!closed && !dispute_open && !approved, "approval out of turn");
                if (e.role == Role::client) expect(proof, "the client approved without proof");
                approved = true;
              },
              [&](const AutoConfirmed& e) {
                expect(!closed && !dispute_open && !approved, "auto-confirm out of turn");
                expect(auto_confirm_at && e.deadline_ms == *auto_confirm_at &&
                           now_ms >= *auto_confirm_at,
                       "auto-confirmed before the deadline");
                approved = true;
              },
              [&](const FundsReleased& e) { on_released(e); },
              [&](const DisputeOpened& e) {
                expect(!closed && !dispute_open && booking_held() > 0, "dispute out of turn");
                std::optional<int64_t> remaining;
                if (auto_confirm_at) remaining = std::max<int64_t>(0, *auto_confirm_at - now_ms);
                expect(e.auto_confirm_remaining_ms == remaining, "dispute froze the wrong clock");
                dispute_open = true;
                frozen_remaining = remaining;
                dispute_chargeback.reset();
                if (e.source == DisputeSource::chargeback && e.paystack_dispute_id &&
                    chargebacks.count(*e.paystack_dispute_id))
                  dispute_chargeback = e.paystack_dispute_id;
                auto_confirm_at.reset();
              },
              [&](const ChargebackOpened& e) { on_chargeback_opened(e); },
              [&](const ChargebackUpdated& e) {
                auto it = chargebacks.find(e.dispute_id);
                expect(it != chargebacks.end() && !it->second.resolved,
                       "an update of an unknown or resolved chargeback");
                expect(e.refund_amount.amount_minor > 0, "a chargeback updated to nothing");
                if (it != chargebacks.end()) it->second.amount = e.refund_amount.amount_minor;
              },
              [&](const ChargebackAnswered& e) {
                expect(chargebacks.count(e.dispute_id) > 0, "an answer to an unknown chargeback");
              },
              [&](const ChargebackResolved& e) { on_chargeback_resolved(e, now_ms); },
              [&](const DisputeResolved& e) { on_resolved(events, i, e); },
              [&](const BookingExpired& e) {
                expect(
                    !closed && !dispute_open && captured == 0 && pay_by && e.pay_by_ms == *pay_by,
                    "expired with money captured, closed, or without pay_by");
                closed = expired = true;
                auto_confirm_at.reset();
              },
              [&](const BookingCancelled& e) {
                expect(!closed && !dispute_open, "cancelled a closed or disputed booking");
                if (e.role == Role::client) expect(!proof, "the client cancelled after proof");
                expect(e.refund_amount.amount_minor == booking_held(),
                       "cancellation refunds other than what the booking holds");
                expect(refunds_following(events, i, "cancellation") == e.refund_amount.amount_minor,
                       "cancellation refunds do not add up");
                closed = cancelled = true;
                auto_confirm_at.reset();
              },
              [&](const RefundRequested& e) { on_refund_requested(e); },
              [&](const RefundUpdated& e) {
                if (Refund* r = open_refund(e.refund_id)) r->status = e.status;
              },
              [&](const RefundProcessed& e) {
                if (Refund* r = open_refund(e.refund_id)) {
                  expect(r->amount == e.amount.amount_minor, "processed another amount");
                  r->status = "processed";
                  refund_in_flight -= r->amount;
                }
              },
              [&](const RefundFailed& e) {
                if (Refund* r = open_refund(e.refund_id)) {
                  expect(r->amount == e.amount.amount_minor, "failed another amount");
                  r->status = "failed";
                  refund_in_flight -= r->amount;
                  refunded -= r->amount;
                  refunded_by_ref[r->reference] -= r->amount;
                  held += r->amount;
                  owed += r->amount;
                }
              },
              [&](const auto&) { expect(false, "a provider event in a booking decision"); },
          },
          events[i]);
    }
    if (approved && !dispute_open && !closed && booking_held() == amount)
      expect(false, "approved and fully held, yet not released");
  }

  Payout* open_payout(const std::string& id, bool success_is_open) {
    auto it = payouts.find(id);
    expect(it != payouts.end(), "outcome of an unknown payout");
    if (it == payouts.end()) return nullptr;
    const std::string& s = it->second.status;
    expect(s != "failed" && s != "reversed" && (success_is_open || s != "success"),
           "outcome recorded on a final payout: " + s);
    return &it->second;
  }

  void provider_decision(const std::vector<Event>& events) {
    for (size_t i = 0; i < events.size(); ++i) {
      std::visit(
          Overloaded{
              [&](const PayoutAccountRegistered&) {},
              [&](const WithdrawalRequested& e) {
                const PayoutRequested* p = nullptr;
                if (i + 1 < events.size()) p = std::get_if<PayoutRequested>(&events[i + 1]);
                expect(p && p->source == PayoutSource::withdrawal && p->amount == e.amount &&
                           p->withdrawal_id == e.withdrawal_id,
                       "a withdrawal without its payout");
                expect(valid_reference(e.withdrawal_id), "withdrawal id shape");
              },
              [&](const PayoutRequested& e) {
                expect(valid_reference(e.reference), "payout reference shape");
                expect(payout_references.insert(e.reference).second, "payout reference reused");
                expect(!payouts.count(e.payout_id), "payout id reused");
                expect(e.amount.amount_minor > 0, "payout of nothing");
                Payout p{e.amount, "queued", false, e.attempt};
                if (e.retry_of) {
                  auto it = payouts.find(*e.retry_of);
                  expect(it != payouts.end(), "retry of an unknown payout");
                  if (it != payouts.end()) {
                    Payout& old = it->second;
                    expect((old.status == "failed" || old.status == "reversed") && !old.retried,
                           "retry of a payout that is not retryable");
                    expect(old.amount == e.amount && e.attempt == old.attempt + 1,
                           "retry with another amount or attempt");
                    old.retried = true;
                  }
                } else {
                  expect(e.attempt == 1, "first payout attempt is not 1");
                }
                payouts[e.payout_id] = p;
                available[e.amount.currency] -= e.amount.amount_minor;
                in_flight[e.amount.currency] += e.amount.amount_minor;
              },
              [&](const PayoutSent& e) {
                if (Payout* p = open_payout(e.payout_id, false)) p->status = "pending";
              },
              [&](const PayoutAwaitingOtp& e) {
                if (Payout* p = open_payout(e.payout_id, false)) p->status = "otp";
              },
              [&](const PayoutSucceeded& e) {
                if (Payout* p = open_payout(e.payout_id, false)) {
                  expect(p->amount == e.amount, "succeeded with another amount");
                  p->status = "success";
                  in_flight[p->amount.currency] -= p->amount.amount_minor;
                }
              },
              [&](const PayoutFailed& e) {
                if (Payout* p = open_payout(e.payout_id, false)) {
                  expect(p->amount == e.amount, "failed with another amount");
                  p->status = "failed";
                  in_flight[p->amount.currency] -= p->amount.amount_minor;
                  available[p->amount.currency] += p->amount.amount_minor;
                }
              },
              [&](const PayoutReversed& e) {
                if (Payout* p = open_payout(e.payout_id, true)) {
                  expect(p->amount == e.amount, "reversed with another amount");
                  expect(e.after_success == (p->status == "success"), "after_success is wrong");
                  if (p->status != "success")
                    in_flight[p->amount.currency] -= p->amount.amount_minor;
                  available[p->amount.currency] += p->amount.amount_minor;
                  p->status = "reversed";
                }
              },
              [&](const auto&) { expect(false, "a booking event in a provider decision"); },
          },
          events[i]);
    }
  }
};
