// The decider's rejections (ledger/decider.h, DESIGN section 4): a table with one row per
// rejection, in the Rejection enum's declaration order, that fails if a rejection has no row;
// each row states the command, the actor and the history that must be refused, and checks the
// exact Rejection with no events. Also: rejection codes are the enum names, each with a message;
// and the typed values of events (ledger/values.h) encode to the bytes the log held when they
// were strings, while an unknown stored name fails to decode.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "test/decider_fixture.h"

namespace {

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
      {"ResolveDispute", ResolveDispute{ResolutionOutcome::release, {}, {}, ""}},
      {"CancelBooking", CancelBooking{}},
      {"RecordRefundOutcome", RecordRefundOutcome{refund_id(1)}},
      {"RetryRefund", RetryRefund{refund_id(1)}},
      {"RecordChargeback", chargeback_report(100)},
      {"AnswerChargeback",
       AnswerChargeback{ChargebackResponse::accept, "", chargeback_report(100)}},
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
    return when(given(full_held()), OpenDispute{"x", "y", DisputeSource::chargeback, 5}, client);
  });
  row(Rejection::not_allowed, "a client reports a Paystack chargeback",
      [] { return when(given(full_held()), chargeback_report(100'000), client); });
  row(Rejection::not_allowed, "the service answers a chargeback at Paystack", [] {
    return when(given(full_charged_back()),
                AnswerChargeback{ChargebackResponse::accept, "ok", chargeback_report(100'000)},
                marketplace);
  });
  row(Rejection::not_allowed, "a provider may not answer a chargeback", [] {
    return from(check_chargeback_answer(given(full_charged_back()), provider, dispute_id));
  });
  row(Rejection::not_allowed, "the client resolves a dispute", [disputed] {
    return when(given(disputed), ResolveDispute{ResolutionOutcome::refund, {}, {}, ""}, client);
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
  row(Rejection::invalid_amount, "a chargeback of more than the payment",
      [] { return when(given(full_held()), chargeback_report(100'001), marketplace); });
  row(Rejection::invalid_amount, "a chargeback of nothing",
      [] { return when(given(full_held()), chargeback_report(0), marketplace); });
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

  row(Rejection::currency_not_paid_out, "USD: Paystack cannot transfer it to the provider",
      [=] { return create_with([](CreateBooking& c) { c.amount = usd(500'000); }); });

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
    return when(
        given(full_with_proof() + Events{BookingCancelled{booking_id, provider_id, Role::provider,
                                                          "sick", ngn(100'000)},
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
  row(Rejection::unknown_payment, "a chargeback on a payment never captured", [] {
    return when(given({booked_full(), initiated(1, 100'000)}), chargeback_report(100'000),
                marketplace);
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

  row(Rejection::expiry_not_due, "expiring at pay_by itself (pay_by is inclusive)", [] {
    BookingCreated terms = booked_full();
    terms.pay_by_ms = t0;
    return when(given({terms}), ExpireBooking{}, scheduler, t0);
  });
  row(Rejection::expiry_not_due, "expiring a booking without pay_by",
      [] { return when(given({booked_full()}), ExpireBooking{}, scheduler, t0 + deadline); });
  row(Rejection::expiry_not_due, "expiring a split booking whose deposit is held", [] {
    BookingCreated terms = booked_split();
    terms.pay_by_ms = t0;
    return when(given({terms, initiated(1, 30'000), captured(1, 30'000)}), ExpireBooking{},
                scheduler, t0 + 1);
  });

  row(Rejection::no_dispute, "resolving with no dispute", [] {
    return when(given(full_with_proof()), ResolveDispute{ResolutionOutcome::release, {}, {}, ""},
                admin);
  });

  row(Rejection::chargeback_open, "resolving while Paystack has not resolved a chargeback", [] {
    return when(given(full_charged_back()),
                ResolveDispute{ResolutionOutcome::refund, {}, {}, "refund"}, admin);
  });

  row(Rejection::invalid_resolution, "a split that does not add up",
      [disputed] { return when(given(disputed), split_resolution(60'000, 30'000), admin); });
  row(Rejection::invalid_resolution, "a split above the held amount",
      [disputed] { return when(given(disputed), split_resolution(110'000, -10'000), admin); });
  row(Rejection::invalid_resolution, "a split with a negative provider part",
      [disputed] { return when(given(disputed), split_resolution(-1, 100'001), admin); });
  row(Rejection::invalid_resolution, "a split without amounts", [disputed] {
    return when(given(disputed),
                ResolveDispute{ResolutionOutcome::split, std::nullopt, std::nullopt, ""}, admin);
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

  row(Rejection::unknown_chargeback, "answering a chargeback the booking does not have",
      [] { return from(check_chargeback_answer(given(full_charged_back()), admin, 777)); });
  row(Rejection::unknown_chargeback, "recording an answer to an unknown chargeback", [] {
    return when(given(full_charged_back()),
                AnswerChargeback{ChargebackResponse::accept, "ok", chargeback_report(100, {}, 777)},
                admin);
  });

  row(Rejection::chargeback_not_answerable, "answering a resolved chargeback", [] {
    BookingState s = given(full_charged_back() +
                           Events{ChargebackResolved{booking_id, provider_id, dispute_id,
                                                     ChargebackResolution::declined, ngn(100'000),
                                                     ngn(0), ngn(0), ngn(0), true, deadline}});
    return from(check_chargeback_answer(s, admin, dispute_id));
  });
  row(Rejection::chargeback_not_answerable, "answering a chargeback twice", [] {
    BookingState s =
        given(full_charged_back() +
              Events{ChargebackAnswered{booking_id, dispute_id, ChargebackResponse::decline, "done",
                                        "admin-1"}});
    return from(check_chargeback_answer(s, admin, dispute_id));
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
    return when(
        given_provider({account_registered(), payout_requested(1, 95'000),
                        PayoutFailed{provider_id, payout_ref(1), "x", ngn(95'000)},
                        payout_requested(2, 95'000, PayoutSource::retry, 2, payout_ref(1))}),
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
  const int rejection_count = static_cast<int>(all_rejections().size());
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
  for (Rejection rejection : all_rejections()) {
    INFO("no row for " << rejection_code(rejection));
    CHECK(rows_per_rejection[static_cast<int>(rejection)] > 0);
  }
}

TEST_CASE("rejection codes are their enum names, with a message each", "[decider][rejections]") {
  CHECK(std::string(rejection_code(Rejection::booking_not_found)) == "booking_not_found");
  CHECK(std::string(rejection_code(Rejection::proof_submitted)) == "proof_submitted");
  CHECK(std::string(rejection_code(Rejection::payout_not_awaiting_otp)) ==
        "payout_not_awaiting_otp");
  for (Rejection rejection : all_rejections()) {
    CHECK_FALSE(rejection_message(rejection).empty());
  }
}

// ---- stored names ------------------------------------------------------------------------------

// Each event's `data` as the log held it when these fields were strings: the log is hashed, so
// the bytes may never change.
TEST_CASE("typed values are stored as the names the log has always held", "[decider][names]") {
  const std::pair<Event, std::string> stored[] = {
      {BookingCreated{"bk-1",
                      "client-1",
                      "provider-1",
                      "ada@example.com",
                      "Fix the sink",
                      ngn(100'000),
                      PaymentPlan::split,
                      3000,
                      500,
                      259200,
                      std::nullopt,
                      {ngn(30'000), ngn(70'000)}},
       R"({"booking_id":"bk-1","client_id":"client-1","provider_id":"provider-1",)"
       R"("client_email":"ada@example.com","description":"Fix the sink",)"
       R"("amount":{"amount":100000,"currency":"NGN"},"plan":"split","deposit_bps":3000,)"
       R"("fee_bps":500,"auto_confirm_after_s":259200,)"
       R"("installments":[{"amount":30000,"currency":"NGN"},{"amount":70000,"currency":"NGN"}]})"},
      {CompletionConfirmed{"bk-1", "admin-1", Role::admin, false},
       R"({"booking_id":"bk-1","confirmed_by":"admin-1","role":"admin","with_proof":false})"},
      {DisputeOpened{"bk-1", "svc", Role::service, "chargeback", "", DisputeSource::chargeback,
                     4242, 1000},
       R"({"booking_id":"bk-1","opened_by":"svc","role":"service","reason":"chargeback",)"
       R"("description":"","source":"chargeback","paystack_dispute_id":4242,)"
       R"("auto_confirm_remaining_ms":1000})"},
      {DisputeResolved{"bk-1", "provider-1", ResolutionOutcome::split, ngn(60'000), ngn(40'000),
                       ngn(3'000), ngn(57'000), "half done", "admin-1"},
       R"({"booking_id":"bk-1","provider_id":"provider-1","outcome":"split",)"
       R"("provider_amount":{"amount":60000,"currency":"NGN"},)"
       R"("refund_amount":{"amount":40000,"currency":"NGN"},)"
       R"("fee":{"amount":3000,"currency":"NGN"},)"
       R"("provider_net":{"amount":57000,"currency":"NGN"},"note":"half done",)"
       R"("resolved_by":"admin-1"})"},
      {BookingCancelled{"bk-1", "provider-1", Role::provider, "sick", ngn(100'000)},
       R"({"booking_id":"bk-1","cancelled_by":"provider-1","role":"provider","reason":"sick",)"
       R"("refund_amount":{"amount":100000,"currency":"NGN"}})"},
      {PayoutRequested{"provider-1", "po-1", "po-1", "RCP_abc", ngn(95'000),
                       PayoutSource::withdrawal, std::nullopt, std::string("wd-1"), std::nullopt,
                       1},
       R"({"provider_id":"provider-1","payout_id":"po-1","reference":"po-1",)"
       R"("recipient_code":"RCP_abc","amount":{"amount":95000,"currency":"NGN"},)"
       R"("source":"withdrawal","withdrawal_id":"wd-1","attempt":1})"},
  };
  for (const auto& [event, data] : stored) {
    INFO(event_type(event));
    CHECK(encode_event_data(event) == data);
    Result<Event> decoded = decode_event(event_type(event), data);
    REQUIRE(decoded.is_ok());
    CHECK(encode_event_data(decoded.value()) == data);
  }
  CHECK(
      encode_meta(EventMeta{"marketplace", Role::service, std::string("req-1"), std::nullopt, 7}) ==
      R"({"actor_id":"marketplace","actor_role":"service","request_id":"req-1",)"
      R"("causation_seq":7})");
}

TEST_CASE("a stored event with a name its enum lacks does not decode", "[decider][names]") {
  struct Bad {
    const char* type;
    const char* data;
    const char* error;
  };
  for (const Bad& bad : {
           Bad{"CompletionConfirmed",
               R"({"booking_id":"bk-1","confirmed_by":"x","role":"root","with_proof":false})",
               "CompletionConfirmed data: role: unknown value"},
           Bad{"DisputeResolved", R"({"booking_id":"bk-1","provider_id":"p","outcome":3})",
               "DisputeResolved data: outcome: unknown value"},
       }) {
    Result<Event> decoded = decode_event(bad.type, bad.data);
    INFO(bad.type);
    REQUIRE_FALSE(decoded.is_ok());
    CHECK(decoded.status().code() == StatusCode::corrupt);
    CHECK(decoded.status().message() == bad.error);
  }
}
