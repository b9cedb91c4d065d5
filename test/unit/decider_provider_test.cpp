// Given/when/then tests of the pure escrow decider (ledger/decider.h) against DESIGN section 4:
// the provider's side and the money trail. RegisterPayoutAccount, PayOutRelease (once per
// booking, never beyond the balance), withdrawals
// (with and without a request key), RecordPayoutOutcome through a transfer's life (OTP,
// failures, retries, reversals), deterministic Paystack references, and the balanced
// double-entry postings of every money event. Fixtures in test/decider_fixture.h.
#include <regex>
#include <string>

#include "test/decider_fixture.h"

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
    CHECK(p.source == PayoutSource::release);
    CHECK(p.booking_id == booking_id);
    CHECK(p.attempt == 1);
    CHECK_FALSE(p.retry_of.has_value());
    CHECK(triples(p) == std::vector<Triple>{{"provider:provider-1:available",
                                             "provider:provider-1:in_flight", 95'000}});
  }
  SECTION("a booking's release is paid out once: the same release again changes nothing") {
    ProviderState s = given_provider({account_registered()});
    ProviderState paid = after(s, when(s, PayOutRelease{booking_id, ngn(95'000)}, scheduler));
    then_nothing(when(paid, PayOutRelease{booking_id, ngn(95'000)}, scheduler));
    // Another booking's release still goes out.
    then_events(when(paid, PayOutRelease{"bk-other", ngn(10'000)}, scheduler), {"PayoutRequested"});
  }
  SECTION("a balance below zero is covered before anything goes out") {
    ProviderState s = given_provider({account_registered()});
    Decision part = when(s, PayOutRelease{booking_id, ngn(95'000), ngn(-30'000)}, scheduler);
    then_events(part, {"PayoutRequested"});
    CHECK(event_at<PayoutRequested>(part, 0).amount == ngn(65'000));
    then_nothing(when(s, PayOutRelease{booking_id, ngn(95'000), ngn(-95'000)}, scheduler));
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
  CHECK(p.source == PayoutSource::withdrawal);
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
    CHECK(p.source == PayoutSource::retry);
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
       payout_requested(2, 47'500, PayoutSource::withdrawal),
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
