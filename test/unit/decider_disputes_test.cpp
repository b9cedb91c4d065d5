// Given/when/then tests of the pure escrow decider (ledger/decider.h) against DESIGN section 4:
// disputes and money going back to the client. OpenDispute freezing release and the
// auto-confirm clock, admin resolutions (release, refund, split), CancelBooking with refunds,
// RecordRefundOutcome and RetryRefund (failures, retries, idempotent repeats), and a failed
// refund of a duplicate payment while the booking is still open. Fixtures in
// test/decider_fixture.h; the tests check the exact events or the exact Rejection.
#include "test/decider_fixture.h"

// ---- OpenDispute -------------------------------------------------------------------------------

TEST_CASE("OpenDispute: freezes the escrow and the auto-confirm clock", "[decider]") {
  BookingState s = given(full_with_proof());
  Decision d = when(s, OpenDispute{"not_done", "still leaks"}, client, t0 + 1'000);
  then_events(d, {"DisputeOpened"});
  const auto& e = event_at<DisputeOpened>(d, 0);
  CHECK(e.opened_by == client_id);
  CHECK(e.role == Role::client);
  CHECK(e.source == DisputeSource::party);
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
    CHECK(event_at<DisputeOpened>(p, 0).role == Role::provider);
    CHECK_FALSE(event_at<DisputeOpened>(p, 0).auto_confirm_remaining_ms.has_value());
  }
  SECTION("a Paystack chargeback opens one for the service") {
    Decision c = when(given(full_held()),
                      OpenDispute{"chargeback", "", DisputeSource::chargeback, 4242}, marketplace);
    then_events(c, {"DisputeOpened"});
    CHECK(event_at<DisputeOpened>(c, 0).source == DisputeSource::chargeback);
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
    Decision d = when(s, ResolveDispute{ResolutionOutcome::release, {}, {}, "work is fine"}, admin);
    then_events(d, {"DisputeResolved"});
    const auto& e = event_at<DisputeResolved>(d, 0);
    CHECK(e.outcome == ResolutionOutcome::release);
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
    Decision d = when(s, ResolveDispute{ResolutionOutcome::refund, {}, {}, "no show"}, admin);
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
    CHECK(e.outcome == ResolutionOutcome::split);
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
    CHECK(event_at<BookingCancelled>(d, 0).role == Role::provider);
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
    Decision d = when(disputed, ResolveDispute{ResolutionOutcome::refund, {}, {}, ""}, admin);
    then_events(d, {"DisputeResolved", "RefundRequested"});
    CHECK(event_at<DisputeResolved>(d, 0).refund_amount == ngn(100'000));
    CHECK(event_at<RefundRequested>(d, 1).payment_reference == ref(1, 1));
  }
}
