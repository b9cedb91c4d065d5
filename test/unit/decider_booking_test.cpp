// Given/when/then tests of the pure escrow decider (ledger/decider.h) against DESIGN section 4:
// a booking's life up to release. CreateBooking with full and split plans, fee arithmetic (with
// the 128-bit intermediate), InitiatePayment and next_payment, captures (full, split, duplicate,
// late and mismatched in amount or currency), FailPayment, SubmitProof and the auto-confirm
// clock, ConfirmCompletion by the client or an admin, release gated on full payment, and
// AutoConfirm, and expiry: ExpireBooking after pay_by, and money paid after it refunded at once.
// given(events) folds evolve() over literal events (test/decider_fixture.h); the
// tests check the exact events (types and key fields) or the exact Rejection.
#include "test/decider_fixture.h"

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
    Events history = split_deposit_held() +
                     Events{initiated(2, 70'000), dispute_by_client(),
                            DisputeResolved{booking_id, provider_id, ResolutionOutcome::refund,
                                            ngn(0), ngn(30'000), ngn(0), ngn(0), "", admin.id},
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
  CHECK(c.role == Role::client);
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
  CHECK(event_at<CompletionConfirmed>(d, 0).role == Role::admin);
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

// ---- expiry ------------------------------------------------------------------------------------

TEST_CASE("ExpireBooking: pay_by passed with nothing held ends the booking", "[decider]") {
  BookingCreated terms = booked_full();
  terms.pay_by_ms = t0;
  BookingState s = given({terms, initiated(1, 100'000)});
  Decision d = when(s, ExpireBooking{}, scheduler, t0 + 1);
  // The open checkout is failed first: its Paystack transaction can no longer fund the booking.
  then_events(d, {"PaymentFailed", "BookingExpired"});
  CHECK(event_at<PaymentFailed>(d, 0).reason == "checkout_expired");
  CHECK(event_at<BookingExpired>(d, 1).pay_by_ms == t0);
  BookingState expired = after(s, d);
  CHECK(expired.status == BookingStatus::expired);
  CHECK(booking_status_name(expired.status) == std::string("expired"));
  // Expiring again is already so; paying, cancelling or disputing are refused.
  then_nothing(when(expired, ExpireBooking{}, scheduler, t0 + 2));
  CHECK(std::get<Rejection>(next_payment(expired, t0 + 2)) == Rejection::booking_expired);
  then_rejected(when(expired, CancelBooking{"x"}, admin), Rejection::booking_expired);
  // Only the scheduler, the service or an admin expires a booking.
  then_rejected(when(s, ExpireBooking{}, client, t0 + 1), Rejection::not_allowed);
}

TEST_CASE("CapturePayment after pay_by: the booking expires and the money goes back once",
          "[decider]") {
  BookingCreated terms = booked_full();
  terms.pay_by_ms = t0;
  BookingState s = given({terms, initiated(1, 100'000), initiated(1, 100'000, 2)});
  CapturePayment late = capture_of(1, ngn(100'000));
  late.paid_at_ms = t0 + 1;  // the checkout was opened in time and paid a moment too late
  Decision d = when(s, late, marketplace, t0 + 5);
  then_events(d, {"PaymentFailed", "BookingExpired", "PaymentCaptured", "RefundRequested"});
  CHECK(event_at<PaymentFailed>(d, 0).reference == ref(1, 2));  // the other checkout
  const auto& refund = event_at<RefundRequested>(d, 3);
  CHECK(refund.reason == "paid_after_pay_by");
  CHECK(refund.amount == ngn(100'000));
  CHECK(refund.payment_reference == ref(1));
  BookingState b = after(s, d);
  CHECK(b.status == BookingStatus::expired);
  CHECK(b.held_minor() == 0);
  CHECK(b.payment_status == PaymentStatus::refunding);
  // The same capture reported again refunds nothing more.
  then_nothing(when(b, late, marketplace, t0 + 6));

  SECTION("paid in time, confirmed after the booking expired: refunded as late") {
    BookingState expired = after(s, when(s, ExpireBooking{}, scheduler, t0 + 1));
    CapturePayment in_time = capture_of(1, ngn(100'000));
    in_time.paid_at_ms = t0;
    Decision late_news = when(expired, in_time, marketplace, t0 + 10);
    then_events(late_news, {"PaymentCaptured", "RefundRequested"});
    CHECK(event_at<RefundRequested>(late_news, 1).reason == "late_payment");
  }
  SECTION("paid by pay_by: held as usual") {
    CapturePayment in_time = capture_of(1, ngn(100'000));
    in_time.paid_at_ms = t0;
    then_events(when(s, in_time, marketplace, t0 + 10), {"PaymentCaptured"});
  }
}
