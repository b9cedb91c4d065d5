// Given/when/then tests of Paystack chargebacks in the pure escrow decider (ledger/decider.h,
// DESIGN section 4 rule 6b): a chargeback report freezes held money; resolved for the customer
// it takes the money back from escrow (never through a refund), then from the provider's
// available balance (which may go below zero), then as the platform's loss; declined, it
// unfreezes the escrow and restarts the clock (and releases what an approval was waiting for);
// partial chargebacks leave the rest for an admin (also when a later one is declined); the
// provider pays back only their share of that payment (nothing for a duplicate refunded at once);
// money a failed refund left owed is returned once and that refund is never retried; repeated and
// late reports change nothing;
// an admin's answer is recorded with the dispute as Paystack answered it. Every decision is
// posted to Books, which checks the double entry.
#include "test/decider_fixture.h"

namespace {

ChargebackResolved resolved_event(const Decision& d) {
  for (const Event& e : d.events) {
    if (const auto* r = std::get_if<ChargebackResolved>(&e)) return *r;
  }
  FAIL("no ChargebackResolved");
  return {};
}

}  // namespace

TEST_CASE("RecordChargeback: a chargeback on held money freezes it until Paystack decides",
          "[decider][chargeback]") {
  BookingState s = given(full_with_proof());
  Decision d = when(s, chargeback_report(100'000), marketplace, t0 + 1'000);
  then_events(d, {"ChargebackOpened", "DisputeOpened"});
  CHECK(event_at<DisputeOpened>(d, 1).source == DisputeSource::chargeback);
  CHECK(event_at<DisputeOpened>(d, 1).paystack_dispute_id == dispute_id);
  CHECK(event_at<DisputeOpened>(d, 1).auto_confirm_remaining_ms == deadline - t0 - 1'000);
  BookingState frozen = after(s, d);
  CHECK(frozen.status == BookingStatus::disputed);
  CHECK(frozen.chargeback_unresolved());
  then_rejected(when(frozen, ConfirmCompletion{}, client), Rejection::dispute_open);
  then_rejected(when(frozen, CancelBooking{"x"}, admin), Rejection::dispute_open);
  // An admin refund now could pay the client a second time: Paystack's outcome settles it.
  then_rejected(when(frozen, ResolveDispute{ResolutionOutcome::refund, {}, {}, ""}, admin),
                Rejection::chargeback_open);

  SECTION("the same report again, or a reminder, changes nothing") {
    then_nothing(when(frozen, chargeback_report(100'000), marketplace));
  }
  SECTION("a reminder with a new due date is recorded") {
    RecordChargeback remind = chargeback_report(100'000);
    remind.due_at_ms = t0 + 9'000;
    then_events(when(frozen, remind, marketplace), {"ChargebackUpdated"});
  }
}

TEST_CASE("RecordChargeback: resolved for the customer before release", "[decider][chargeback]") {
  const Events history = full_charged_back();
  BookingState s = given(history);
  Books books(history);

  SECTION("merchant-accepted: the escrow goes back through the card network, not /refund") {
    Decision d = when(s, chargeback_report(100'000, ChargebackResolution::merchant_accepted),
                      marketplace, t0 + 5'000);
    then_events(d, {"ChargebackResolved"});
    ChargebackResolved e = resolved_event(d);
    CHECK(e.from_escrow == ngn(100'000));
    CHECK(e.from_provider == ngn(0));
    CHECK(e.platform_loss == ngn(0));
    CHECK(e.dispute_closed);
    books.post(d);
    CHECK(books.escrow() == 0);
    CHECK(books.refund_in_flight() == 0);
    CHECK(books.balance(paystack_clearing_account) == -100'000 + 150 + 100'000);
    BookingState done = after(s, d);
    CHECK(done.status == BookingStatus::refunded);
    CHECK(done.payment_status == PaymentStatus::refunded);
    CHECK(done.refunds.empty());
    CHECK(done.held_minor() == 0);
    // Nothing is left to refund, release or cancel.
    then_rejected(when(done, ResolveDispute{ResolutionOutcome::refund, {}, {}, ""}, admin),
                  Rejection::no_dispute);
    then_rejected(when(done, CancelBooking{"x"}, admin), Rejection::booking_refunded);
    // A later report of the same chargeback (a redelivery, or "declined" out of order) is a
    // no-op: a resolved chargeback stays resolved.
    then_nothing(
        when(done, chargeback_report(100'000, ChargebackResolution::declined), marketplace));
  }
  SECTION("auto-accepted, partly: the rest stays frozen for an admin to decide") {
    Decision d = when(s, chargeback_report(40'000, ChargebackResolution::auto_accepted),
                      marketplace, t0 + 5'000);
    then_events(d, {"ChargebackResolved"});
    ChargebackResolved e = resolved_event(d);
    CHECK(e.refund_amount == ngn(40'000));
    CHECK(e.from_escrow == ngn(40'000));
    CHECK_FALSE(e.dispute_closed);
    books.post(d);
    CHECK(books.escrow() == 60'000);
    BookingState partly = after(s, d);
    CHECK(partly.status == BookingStatus::disputed);
    CHECK(partly.held_minor() == 60'000);
    Decision r = when(partly, ResolveDispute{ResolutionOutcome::release, {}, {}, "rest"}, admin);
    then_events(r, {"DisputeResolved"});
    CHECK(event_at<DisputeResolved>(r, 0).provider_amount == ngn(60'000));
    books.post(r);
    CHECK(books.escrow() == 0);
    Decision refund = when(partly, ResolveDispute{ResolutionOutcome::refund, {}, {}, ""}, admin);
    then_events(refund, {"DisputeResolved", "RefundRequested"});
    CHECK(event_at<RefundRequested>(refund, 1).amount == ngn(60'000));  // never the 40,000 again
  }
}

TEST_CASE("RecordChargeback: declined unfreezes the escrow where it was", "[decider][chargeback]") {
  BookingState s = given(full_charged_back());
  Decision d =
      when(s, chargeback_report(100'000, ChargebackResolution::declined), marketplace, t0 + 50'000);
  then_events(d, {"ChargebackResolved"});
  ChargebackResolved e = resolved_event(d);
  CHECK(e.dispute_closed);
  CHECK(postings_for(e).empty());
  CHECK(e.auto_confirm_at_ms == t0 + 50'000 + (deadline - t0));  // the paused time restarts
  BookingState on = after(s, d);
  CHECK(on.status == BookingStatus::awaiting_confirmation);
  CHECK(on.held_minor() == 100'000);
  CHECK_FALSE(on.dispute_open());
  then_events(when(on, ConfirmCompletion{}, client), {"CompletionConfirmed", "FundsReleased"});

  SECTION("an approval the freeze held back is released at once") {
    // Split plan: approved with only the deposit held, charged back, then the balance paid.
    Events history =
        split_deposit_held() + Events{proof_submitted(),         client_approved(),
                                      chargeback_opened(30'000), dispute_by_chargeback(),
                                      initiated(2, 70'000),      captured(2, 70'000)};
    BookingState split = given(history);
    Decision resolved =
        when(split, chargeback_report(30'000, ChargebackResolution::declined), marketplace);
    then_events(resolved, {"ChargebackResolved", "FundsReleased"});
    Books books(history);
    books.post(resolved);
    CHECK(books.available() == 95'000);
  }
  SECTION("a dispute the client opened stays open") {
    Events history = full_with_proof() + Events{dispute_by_client(), chargeback_opened(100'000)};
    Decision declined = when(
        given(history), chargeback_report(100'000, ChargebackResolution::declined), marketplace);
    CHECK_FALSE(resolved_event(declined).dispute_closed);
    CHECK(after(given(history), declined).dispute_open());
  }
}

TEST_CASE("RecordChargeback: after release the provider's balance pays it back",
          "[decider][chargeback]") {
  const Events history = full_released();
  BookingState s = given(history);
  Books books(history);
  CHECK(books.available() == 95'000);

  SECTION("opened after release: recorded, nothing frozen") {
    Decision d = when(s, chargeback_report(100'000), marketplace);
    then_events(d, {"ChargebackOpened"});
    CHECK(after(s, d).status == BookingStatus::completed);
  }
  SECTION("accepted: the provider's net is debited, the fee is the platform's loss") {
    Decision d =
        when(given(history + Events{chargeback_opened(100'000)}),
             chargeback_report(100'000, ChargebackResolution::merchant_accepted), marketplace);
    ChargebackResolved e = resolved_event(d);
    CHECK(e.from_escrow == ngn(0));
    CHECK(e.from_provider == ngn(95'000));
    CHECK(e.platform_loss == ngn(5'000));
    CHECK_FALSE(e.dispute_closed);
    books.post(Events{chargeback_opened(100'000)});
    books.post(d);
    CHECK(books.balance(chargeback_losses_account) == -5'000);
    CHECK(books.balance(platform_fees_account) == 5'000);  // the fee earned stays earned
  }
  SECTION("after the payout left: the balance goes below zero and later releases cover it") {
    const Events payout = {account_registered(), payout_requested(1, 95'000),
                           PayoutSucceeded{provider_id, payout_ref(1), ngn(95'000)}};
    Events booking = history + Events{chargeback_opened(60'000)};
    Books after_payout(booking + payout);
    CHECK(after_payout.available() == 0);
    Decision d = when(given(booking),
                      chargeback_report(60'000, ChargebackResolution::auto_accepted), marketplace);
    CHECK(resolved_event(d).from_provider == ngn(60'000));
    after_payout.post(d);
    CHECK(after_payout.available() == -60'000);
    CHECK(may_overdraw(d.events.back(), provider_available_account(provider_id)));
    // The next release of 95,000 net pays out only what is left once the debt is covered.
    ProviderState provider_state = given_provider(payout);
    Decision next =
        when(provider_state, PayOutRelease{"booking-43", ngn(95'000), ngn(-60'000)}, scheduler);
    then_events(next, {"PayoutRequested"});
    CHECK(event_at<PayoutRequested>(next, 0).amount == ngn(35'000));
    then_rejected(when(provider_state, RequestWithdrawal{ngn(1), ngn(-60'000)}, provider),
                  Rejection::insufficient_balance);
  }
  SECTION("a second chargeback is recovered only up to what the booking paid the provider") {
    Events twice =
        history + Events{chargeback_opened(100'000),
                         ChargebackResolved{booking_id, provider_id, dispute_id,
                                            ChargebackResolution::merchant_accepted, ngn(100'000),
                                            ngn(0), ngn(95'000), ngn(5'000), false, std::nullopt},
                         chargeback_opened(50'000, dispute_id + 1)};
    Decision d =
        when(given(twice),
             chargeback_report(50'000, ChargebackResolution::merchant_accepted, dispute_id + 1),
             marketplace);
    CHECK(resolved_event(d).from_provider == ngn(0));
    CHECK(resolved_event(d).platform_loss == ngn(50'000));
  }
}

TEST_CASE("RecordChargeback: the first word of it may already be its resolution",
          "[decider][chargeback]") {
  // charge.dispute.create was lost; charge.dispute.resolve arrives first.
  Decision d =
      when(given(full_held()), chargeback_report(100'000, ChargebackResolution::merchant_accepted),
           marketplace);
  then_events(d, {"ChargebackOpened", "DisputeOpened", "ChargebackResolved"});
  CHECK(after(given(full_held()), d).status == BookingStatus::refunded);
}

TEST_CASE("AnswerChargeback: the admin's answer and Paystack's reply", "[decider][chargeback]") {
  BookingState s = given(full_charged_back());
  CHECK_FALSE(check_chargeback_answer(s, admin, dispute_id).has_value());

  SECTION("accepted: Paystack resolves it at once") {
    AnswerChargeback a{ChargebackResponse::accept, "we refund",
                       chargeback_report(100'000, ChargebackResolution::merchant_accepted)};
    Decision d = when(s, a, admin);
    then_events(d, {"ChargebackAnswered", "ChargebackResolved"});
    CHECK(event_at<ChargebackAnswered>(d, 0).answered_by == admin.id);
    BookingState done = after(s, d);
    CHECK(done.status == BookingStatus::refunded);
    CHECK(check_chargeback_answer(done, admin, dispute_id) == Rejection::chargeback_not_answerable);
  }
  SECTION("declined: the bank decides later, the escrow stays frozen") {
    RecordChargeback reply = chargeback_report(100'000);
    reply.status = ChargebackStatus::awaiting_bank_feedback;
    Decision d = when(s, AnswerChargeback{ChargebackResponse::decline, "delivered", reply}, admin);
    then_events(d, {"ChargebackAnswered", "ChargebackUpdated"});
    BookingState waiting = after(s, d);
    CHECK(waiting.dispute_open());
    CHECK(check_chargeback_answer(waiting, admin, dispute_id) ==
          Rejection::chargeback_not_answerable);
  }
  SECTION("the resolution webhook came first: only the answer is recorded") {
    BookingState resolved = after(
        s,
        when(s, chargeback_report(100'000, ChargebackResolution::merchant_accepted), marketplace));
    Decision d =
        when(resolved,
             AnswerChargeback{ChargebackResponse::accept, "ok",
                              chargeback_report(100'000, ChargebackResolution::merchant_accepted)},
             admin);
    then_events(d, {"ChargebackAnswered"});
  }
}

TEST_CASE("RecordChargeback: the provider pays back only what that payment paid them",
          "[decider][chargeback]") {
  SECTION("a duplicate payment refunded at once paid the provider nothing") {
    // Released, then the installment paid a second time (refunded at once, and that refund
    // already sent to Paystack), then charged back.
    Events history =
        full_released() + Events{initiated(1, 100'000, 2), captured(1, 100'000, 2),
                                 refund_requested(1, 1, 100'000, "duplicate_payment", 1, 2),
                                 RefundUpdated{booking_id, refund_id(1), "pending", 77}};
    RecordChargeback report =
        chargeback_report(100'000, ChargebackResolution::merchant_accepted, dispute_id, 1);
    report.payment_reference = ref(1, 2);
    Decision d = when(given(history), report, marketplace);
    ChargebackResolved e = resolved_event(d);
    CHECK(e.from_escrow == ngn(0));
    CHECK(e.from_provider == ngn(0));
    CHECK(e.platform_loss == ngn(100'000));  // the customer got it back twice: the platform's loss
  }
  SECTION("a split plan's deposit paid them its share of the net") {
    Events history =
        split_fully_held() + Events{proof_submitted(), client_approved(),
                                    FundsReleased{booking_id, provider_id, ngn(100'000), ngn(5'000),
                                                  ngn(95'000), "client_approved"}};
    Decision d =
        when(given(history), chargeback_report(30'000, ChargebackResolution::merchant_accepted),
             marketplace);
    ChargebackResolved e = resolved_event(d);
    CHECK(e.from_provider == ngn(28'500));  // 30% of the 95,000 net
    CHECK(e.platform_loss == ngn(1'500));   // the fee on it
  }
}

TEST_CASE("RecordChargeback: a refund still queued is returned by the chargeback, never sent",
          "[decider][chargeback]") {
  // A duplicate payment refunded at once; the refund has not reached Paystack when the card
  // network gives the money back (rule 6b: never sent again through /refund).
  Events history =
      full_released() + Events{initiated(1, 100'000, 2), captured(1, 100'000, 2),
                               refund_requested(1, 1, 100'000, "duplicate_payment", 1, 2)};
  RecordChargeback report =
      chargeback_report(100'000, ChargebackResolution::merchant_accepted, dispute_id, 1);
  report.payment_reference = ref(1, 2);
  BookingState s = given(history);
  Decision d = when(s, report, marketplace);
  ChargebackResolved e = resolved_event(d);
  CHECK(e.from_escrow == ngn(100'000));  // the refund's money, back in escrow and returned
  CHECK(e.platform_loss == ngn(0));
  CHECK(e.settled_refunds == std::vector<std::string>{refund_id(1)});
  Books books(history);
  books.post(d);
  CHECK(books.refund_in_flight() == 0);
  BookingState done = after(s, d);
  REQUIRE(done.refunds.size() == 1);
  CHECK(done.refunds[0].status == RefundStatus::failed);
  CHECK(done.refunds[0].settled_by_chargeback);
  then_rejected(when(done, RetryRefund{refund_id(1)}, admin), Rejection::refund_not_retryable);

  SECTION("a partial chargeback leaves a bigger refund queued") {
    RecordChargeback part = report;
    part.refund_amount = ngn(40'000);
    Decision partial = when(s, part, marketplace);
    BookingState later = after(s, partial);
    CHECK(later.refunds[0].status == RefundStatus::queued);
    CHECK(resolved_event(partial).settled_refunds.empty());
  }
  SECTION("a declined one leaves it queued, to be sent") {
    RecordChargeback declined = report;
    declined.resolution = ChargebackResolution::declined;
    BookingState later = after(s, when(s, declined, marketplace));
    CHECK(later.refunds[0].status == RefundStatus::queued);
    CHECK(later.refunded_minor == 100'000);
  }
}

TEST_CASE("RecordChargeback: money a failed refund left owed goes back once",
          "[decider][chargeback]") {
  // Cancelled, the refund failed (the money is back in escrow, owed to the client), then the
  // client's bank charged the payment back.
  Events history = full_cancelled() + Events{refund_failed(1, 100'000), chargeback_opened(100'000)};
  BookingState s = given(history);
  Decision d =
      when(s, chargeback_report(100'000, ChargebackResolution::merchant_accepted), marketplace);
  ChargebackResolved e = resolved_event(d);
  CHECK(e.from_escrow == ngn(100'000));
  CHECK(e.platform_loss == ngn(0));
  CHECK(e.settled_refunds == std::vector<std::string>{refund_id(1)});
  Books books(history);
  books.post(d);
  CHECK(books.escrow() == 0);
  BookingState done = after(s, d);
  CHECK(done.payment_status == PaymentStatus::refunded);
  // The failed refund is not sent again: the card network already returned the money.
  then_rejected(when(done, RetryRefund{refund_id(1)}, admin), Rejection::refund_not_retryable);
}

TEST_CASE("RecordChargeback: a decline after an accepted part leaves the rest to an admin",
          "[decider][chargeback]") {
  // Split plan held in full; the deposit and the balance are charged back separately.
  Events history = split_fully_held() +
                   Events{proof_submitted(), chargeback_opened(30'000), dispute_by_chargeback()};
  RecordChargeback second = chargeback_report(70'000, {}, dispute_id + 1, 2);
  BookingState s = after(given(history), when(given(history), second, marketplace));
  s = after(
      s, when(s, chargeback_report(30'000, ChargebackResolution::merchant_accepted), marketplace));
  CHECK(s.held_minor() == 70'000);
  Decision declined = when(
      s, chargeback_report(70'000, ChargebackResolution::declined, dispute_id + 1, 2), marketplace);
  CHECK_FALSE(resolved_event(declined).dispute_closed);
  BookingState rest = after(s, declined);
  CHECK(rest.status == BookingStatus::disputed);
  // No chargeback holds the escrow any more: the admin decides the 70,000 left.
  then_events(when(rest, ResolveDispute{ResolutionOutcome::release, {}, {}, "work done"}, admin),
              {"DisputeResolved"});
}
