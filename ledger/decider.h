// The escrow decider: pure functions from (state, command, actor, now) to events or a named
// rejection, and from (state, event) to the next state. No I/O, no clock, no randomness.
//
// Two aggregates: a booking (stream `booking-<id>`) and a provider (stream `provider-<id>`).
// decide() checks its guards in the order the Rejection enum declares them, one guard per line,
// and returns the events to append; an empty list means "already so, nothing to do" (a retried
// webhook, a second capture of one reference). evolve() never refuses: an impossible history is
// a bug and aborts through LEDGER_ASSERT. Rule numbers refer to DESIGN section 4.
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ledger/events.h"
#include "ledger/money.h"
#include "ledger/values.h"

namespace escrow {

// Every business refusal, in the order guards are checked. Names are the API's error codes.
enum class Rejection {
  booking_not_found,
  booking_exists,  // same id, different terms
  not_allowed,     // this actor may not do this to this booking
  invalid_amount,
  amount_below_minimum,
  currency_not_paid_out,  // no Paystack transfer can pay a provider in this currency
  invalid_fee_bps,
  invalid_deposit_bps,
  invalid_plan,
  booking_cancelled,
  booking_refunded,
  already_released,
  dispute_open,
  booking_expired,
  nothing_due,
  payment_not_due,  // the installment asked for is not the one due
  unknown_payment,
  nothing_held,
  proof_already_submitted,
  too_many_files,
  proof_required,
  already_approved,
  auto_confirm_disabled,
  auto_confirm_not_due,
  expiry_not_due,  // ExpireBooking before pay_by, without one, or with money held
  no_dispute,
  chargeback_open,  // ResolveDispute while Paystack has not resolved a chargeback on the booking
  invalid_resolution,
  already_cancelled,
  proof_submitted,  // a client cannot cancel once proof is in: they dispute instead
  unknown_refund,
  refund_not_retryable,
  unknown_chargeback,
  chargeback_not_answerable,  // resolved, or answered and waiting for the bank
  payout_account_missing,
  currency_mismatch,
  insufficient_balance,
  unknown_payout,
  payout_not_retryable,
  payout_not_awaiting_otp,
};

const char* rejection_code(Rejection rejection);
std::string rejection_message(Rejection rejection);
// Every Rejection, in declaration order: for what must cover them all (the rejection-row test).
std::span<const Rejection> all_rejections();

struct Actor {
  std::string id;
  Role role = Role::system;
};

// ---- booking state ---------------------------------------------------------------------------

enum class BookingStatus {
  none,
  awaiting_payment,
  pending_execution,
  awaiting_confirmation,
  completed,
  disputed,
  cancelled,
  refunded,
  expired,  // pay_by passed with nothing held
};
enum class PaymentStatus {
  unpaid,
  pending,
  partially_paid,
  escrow,
  released,
  refunding,
  refunded,
  split,
  failed,
};
enum class ChargeStatus { pending, captured, failed, flagged };
enum class RefundStatus { queued, pending, processing, processed, failed, needs_attention };

std::span<const EnumName<BookingStatus>> enum_names(BookingStatus);
std::span<const EnumName<PaymentStatus>> enum_names(PaymentStatus);
std::span<const EnumName<ChargeStatus>> enum_names(ChargeStatus);
std::span<const EnumName<RefundStatus>> enum_names(RefundStatus);
const char* booking_status_name(BookingStatus status);
std::optional<BookingStatus> parse_booking_status(std::string_view name);
const char* payment_status_name(PaymentStatus status);
std::optional<PaymentStatus> parse_payment_status(std::string_view name);
const char* charge_status_name(ChargeStatus status);
const char* refund_status_name(RefundStatus status);
std::optional<RefundStatus> parse_refund_status(std::string_view name);

struct ChargeRecord {  // one Paystack transaction for one installment
  std::string reference;
  int installment = 1;
  Money amount;  // asked for (received, when flagged)
  ChargeStatus status = ChargeStatus::pending;
  int64_t paystack_transaction_id = 0;
  Money paystack_fee;
  int64_t refunded_minor = 0;      // refunds requested against it and not failed
  int64_t charged_back_minor = 0;  // escrow a chargeback on it took back
  bool in_escrow = false;          // false for a capture that was refunded straight away
  // The checkout Paystack gave for it (empty for a reference adopted after a crash, whose URL
  // Paystack does not give twice): a pay while it is pending answers this same checkout.
  std::string authorization_url, access_code;
};

struct RefundRecord {
  std::string refund_id, payment_reference, reason;
  int64_t paystack_transaction_id = 0;
  Money amount;
  RefundStatus status = RefundStatus::queued;
  int attempt = 1;
  std::optional<int64_t> paystack_refund_id;
  bool retried = false;
  bool settled_by_chargeback = false;  // failed, and its money went back by a chargeback
  std::string failure_reason;
  std::string requested_by;  // a retry's requester; empty otherwise
};

struct DisputeRecord {
  bool open = true;
  std::string opened_by;
  Role role = Role::system;
  std::string reason, description;
  DisputeSource source = DisputeSource::party;
  std::optional<int64_t> paystack_dispute_id;
  std::optional<int64_t> auto_confirm_remaining_ms;
  std::optional<ResolutionOutcome> outcome;  // once resolved
  std::string note, resolved_by;
  Money provider_amount, refund_amount;
};

// A Paystack chargeback on one of the booking's payments (rule 6b).
struct ChargebackRecord {
  int64_t dispute_id = 0;
  std::string payment_reference;
  Money refund_amount;
  ChargebackStatus status = ChargebackStatus::awaiting_merchant_feedback;
  std::optional<ChargebackResolution> resolution;  // once Paystack resolved it
  std::optional<int64_t> due_at_ms;
  std::optional<ChargebackResponse> response;  // the admin's answer at Paystack
  std::string response_message, answered_by;
  Money from_escrow, from_provider, platform_loss;  // where the money came from, once resolved

  bool resolved() const { return resolution.has_value(); }
};

struct ProofRecord {
  std::string notes;
  std::vector<ProofFile> files;
  std::vector<ProofLink> attachments;
};

struct BookingState {
  int64_t version = 0;   // events applied: the stream version decisions are made on
  BookingCreated terms;  // valid once status != none
  BookingStatus status = BookingStatus::none;
  PaymentStatus payment_status = PaymentStatus::unpaid;
  std::vector<ChargeRecord> charges;
  std::vector<RefundRecord> refunds;
  std::optional<ProofRecord> proof;
  std::optional<DisputeRecord> dispute;
  std::vector<ChargebackRecord> chargebacks;
  std::optional<int64_t> auto_confirm_at_ms;
  bool approved = false;
  std::string approved_by;
  bool auto_confirmed = false;
  bool cancelled = false;
  std::string release_reason;
  int64_t captured_minor = 0;  // every capture, also those refunded at once
  int64_t released_minor = 0;  // gross moved out of escrow to the provider side
  int64_t refunded_minor = 0;  // refunds requested and not failed
  int64_t fee_minor = 0;       // platform fee on what was released
  int64_t provider_net_minor = 0;
  int64_t refunds_processed_minor = 0;
  int64_t paystack_fees_minor = 0;
  int64_t charged_back_minor = 0;         // escrow that chargebacks took back
  int64_t chargeback_provider_minor = 0;  // recovered from the provider's balance
  int64_t chargeback_loss_minor = 0;      // the platform's loss

  bool exists() const { return status != BookingStatus::none; }
  Currency currency() const { return terms.amount.currency; }
  int64_t held_minor() const {
    return captured_minor - released_minor - refunded_minor - charged_back_minor;
  }
  Money held() const { return Money{held_minor(), currency()}; }
  bool dispute_open() const { return dispute && dispute->open; }
  bool completed() const { return status == BookingStatus::completed; }
  bool installment_captured(int installment) const;
  const ChargebackRecord* find_chargeback(int64_t dispute_id) const;
  bool chargeback_unresolved() const;  // Paystack has not resolved one of them yet
  // An unresolved chargeback on a payment in escrow: its outcome settles the held money, so no
  // admin resolution may move it meanwhile.
  bool chargeback_holds_escrow() const;
  int64_t amount_in_escrow_minor() const;  // captured into escrow (not refunded at once)
};

// ---- booking commands ------------------------------------------------------------------------

struct CreateBooking {
  std::string booking_id, client_id, provider_id, client_email, description;
  Money amount;
  PaymentPlan plan = PaymentPlan::full;
  int deposit_bps = 0;
  int fee_bps = 500;
  int64_t auto_confirm_after_s = 3 * 24 * 3600;
  std::optional<int64_t> pay_by_ms;
};

// What the next checkout must ask for (from next_payment()), and what Paystack answered.
struct InitiatePayment {
  std::string reference;
  int installment = 1;
  Money amount;
  std::string authorization_url, access_code;
};

// A Paystack transaction verified as successful (rule 2).
struct CapturePayment {
  std::string reference;
  std::optional<int> installment;  // from the charge's metadata, for a reference we never stored
  Money amount;                    // what Paystack says it took
  int64_t paystack_transaction_id = 0;
  Money paystack_fee;
  std::string channel;
  std::optional<int64_t> paid_at_ms;
  std::string source = "verify";
};

struct FailPayment {
  std::string reference, reason;
};

struct SubmitProof {
  std::string notes;
  std::vector<ProofFile> files;
  std::vector<ProofLink> attachments;
};

struct ConfirmCompletion {};  // the client approves, or an admin releases
struct AutoConfirm {};        // the scheduler, at the deadline
struct ExpireBooking {};      // the scheduler (or a read) once pay_by passed with nothing held

struct OpenDispute {
  std::string reason, description;
  DisputeSource source = DisputeSource::party;
  std::optional<int64_t> paystack_dispute_id;
};

struct ResolveDispute {
  ResolutionOutcome outcome = ResolutionOutcome::release;
  std::optional<int64_t> provider_amount_minor, refund_amount_minor;
  std::string note;
};

struct CancelBooking {
  std::string reason;
};

// What Paystack says of a refund: pending | processing | needs_attention | processed | failed.
struct RecordRefundOutcome {
  std::string refund_id;
  RefundStatus status = RefundStatus::pending;
  std::optional<int64_t> paystack_refund_id;
  std::string reason;
};

struct RetryRefund {
  std::string refund_id;
};

// What Paystack says of a chargeback on one of the booking's payments (a webhook, confirmed by
// fetching the dispute): opens the booking's record of it (freezing the escrow while money is
// held), updates it, or resolves it (rule 6b). A resolved chargeback stays so.
struct RecordChargeback {
  int64_t dispute_id = 0;
  std::string payment_reference;
  Money refund_amount;
  ChargebackStatus status = ChargebackStatus::awaiting_merchant_feedback;
  std::optional<ChargebackResolution> resolution;
  std::optional<int64_t> due_at_ms;
};

// An admin's answer that Paystack took (PUT /dispute/:id/resolve); `dispute` is the dispute as
// Paystack answered it, recorded as RecordChargeback would (an accepted one may be resolved).
struct AnswerChargeback {
  ChargebackResponse response = ChargebackResponse::accept;
  std::string message;
  RecordChargeback dispute;
};

using BookingCommand = std::variant<CreateBooking, InitiatePayment, CapturePayment, FailPayment,
                                    SubmitProof, ConfirmCompletion, AutoConfirm, ExpireBooking,
                                    OpenDispute, ResolveDispute, CancelBooking, RecordRefundOutcome,
                                    RetryRefund, RecordChargeback, AnswerChargeback>;

struct Decision {
  std::vector<Event> events;
  std::optional<Rejection> rejection;

  bool rejected() const { return rejection.has_value(); }
  static Decision reject(Rejection r) { return Decision{{}, r}; }
};

inline constexpr int proof_files_max = 10;
inline constexpr int64_t proof_file_bytes_max = 10LL * 1024 * 1024;

Decision decide(const BookingState& state, const BookingCommand& command, const Actor& actor,
                int64_t now_ms);
void evolve(BookingState& state, const Event& event);

// The next installment due (rule 1), with the deterministic reference its checkout must use.
struct PaymentDue {
  int installment = 1;
  Money amount;
  std::string reference;
};
std::variant<PaymentDue, Rejection> next_payment(const BookingState& state, int64_t now_ms);
// The latest checkout of `installment` still pending, with a URL the client can open again; null
// when there is none (each pay would otherwise open one more Paystack transaction, and every
// extra one paid is refunded at the platform's cost of Paystack's fee).
const ChargeRecord* pending_checkout(const BookingState& state, int installment);
// Whether an admin may answer chargeback `dispute_id` at Paystack now: it exists, is unresolved
// and awaits the merchant's feedback (checked before the Paystack call, as check_finalize).
std::optional<Rejection> check_chargeback_answer(const BookingState& state, const Actor& actor,
                                                 int64_t dispute_id);
// Whether ExpireBooking would expire `state` at `at_ms`: still awaiting payment, nothing captured,
// and pay_by passed (strictly: paying at pay_by itself is in time).
bool expiry_due(const BookingState& state, int64_t at_ms);

// ---- provider state and commands -------------------------------------------------------------

enum class PayoutStatus { queued, pending, otp, success, failed, reversed };
std::span<const EnumName<PayoutStatus>> enum_names(PayoutStatus);
const char* payout_status_name(PayoutStatus status);
std::optional<PayoutStatus> parse_payout_status(std::string_view name);

struct PayoutRecord {
  std::string payout_id, reference, recipient_code;
  PayoutSource source = PayoutSource::release;
  std::string transfer_code, reason;
  std::optional<std::string> booking_id, withdrawal_id, retry_of;
  Money amount;
  PayoutStatus status = PayoutStatus::queued;
  int attempt = 1;
  bool retried = false;
  std::optional<int64_t> paystack_transfer_id;
  std::string requested_by;  // a retry's requester; empty otherwise
};

struct PayoutAccount {
  std::string recipient_code, bank_code, account_name, account_number_last4;
  Currency currency = Currency::NGN;
};

struct ProviderState {
  int64_t version = 0;
  std::string provider_id;
  std::optional<PayoutAccount> account;
  std::vector<PayoutRecord> payouts;  // in request order
  int withdrawals = 0;

  const PayoutRecord* find_payout(std::string_view payout_id) const;
};

struct RegisterPayoutAccount {
  std::string recipient_code, bank_code, account_name, account_number_last4;
  Currency currency = Currency::NGN;
};

// Released money goes straight out when the provider has an account in its currency (rule 5).
// `available` is the provider's available balance before the release, read with the stream
// version decided on (as for a withdrawal): the payout is at most what the balance holds once the
// release is in it, so a balance below zero (money recovered from the provider) is covered first.
// A booking's release is paid out once: a second PayOutRelease for it is a no-op.
struct PayOutRelease {
  std::string booking_id;
  Money amount;
  Money available;
};

// `available` is the provider's available balance as fetched with the stream version decided on.
// `request_key` is the request's Idempotency-Key, when it has one: the withdrawal id is then
// withdrawal_id_for_key(provider, key), and a withdrawal with that id already requested makes
// the command a no-op (no events), so a request re-run after a crash never withdraws twice.
// Without a key every accepted command is a new withdrawal.
struct RequestWithdrawal {
  Money amount;
  Money available;
  std::optional<std::string> request_key;
};

// What Paystack says of a transfer: pending | otp | success | failed | reversed.
struct RecordPayoutOutcome {
  std::string payout_id;
  PayoutStatus status = PayoutStatus::pending;
  std::string transfer_code;
  std::optional<int64_t> paystack_transfer_id;
  std::string reason;
};

struct RetryPayout {
  std::string payout_id;
  Money available;
};

using ProviderCommand = std::variant<RegisterPayoutAccount, PayOutRelease, RequestWithdrawal,
                                     RecordPayoutOutcome, RetryPayout>;

Decision decide(const ProviderState& state, std::string_view provider_id,
                const ProviderCommand& command, const Actor& actor);
void evolve(ProviderState& state, const Event& event);

// An admin may send an OTP only for a payout Paystack holds for one.
std::optional<Rejection> check_finalize(const ProviderState& state, std::string_view payout_id);

// Deterministic Paystack references: lowercase [a-z0-9-], 16-50 characters.
std::string payment_reference(std::string_view booking_id, int installment, int attempt);
std::string payout_reference(std::string_view provider_id, int number);
std::string refund_id_for(std::string_view booking_id, int number);
std::string withdrawal_id_for(std::string_view provider_id, int number);
// "wd-<16 hex of SHA-256 over the provider id and the key>": the same for the same request key.
std::string withdrawal_id_for_key(std::string_view provider_id, std::string_view request_key);

}  // namespace escrow
