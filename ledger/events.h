// The events of the escrow lifecycle (DESIGN section 4) and their JSON encoding.
//
// Events are facts, named in the past tense. Each lists its fields once (see json_codec.h); the
// encoded `data` is what the event store keeps and hashes, keys in declaration order. Streams:
// `booking-<id>` for a booking's life, `provider-<id>` for a provider's payout account, payouts
// and withdrawals, `paystack-webhooks` for the webhook deliveries (a variant of their own, at the
// end of this file). A field of one of values.h's enums is stored as its name (a role as
// "client", a plan as "split"). The glossary (release vs payout vs withdrawal) is in
// ledger/README.md.
// Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ledger/money.h"
#include "ledger/records.h"
#include "ledger/status.h"
#include "ledger/values.h"

namespace escrow {

// ---- booking stream --------------------------------------------------------------------------

struct BookingCreated {
  static constexpr const char* type = "BookingCreated";
  std::string booking_id, client_id, provider_id, client_email, description;
  Money amount;
  PaymentPlan plan = PaymentPlan::full;
  int deposit_bps = 0;
  int fee_bps = 0;
  int64_t auto_confirm_after_s = 0;  // 0 disables auto-confirm
  std::optional<int64_t> pay_by_ms;
  std::vector<Money> installments;  // what each payment must be: [amount] or [deposit, balance]
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("client_id", client_id);
    v("provider_id", provider_id);
    v("client_email", client_email);
    v("description", description);
    v("amount", amount);
    v("plan", plan);
    v("deposit_bps", deposit_bps);
    v("fee_bps", fee_bps);
    v("auto_confirm_after_s", auto_confirm_after_s);
    v("pay_by_ms", pay_by_ms);
    v("installments", installments);
  }
};

struct PaymentInitiated {
  static constexpr const char* type = "PaymentInitiated";
  std::string booking_id, reference;
  int installment = 1;  // 1-based
  Money amount;
  std::string authorization_url, access_code;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("reference", reference);
    v("installment", installment);
    v("amount", amount);
    v("authorization_url", authorization_url);
    v("access_code", access_code);
  }
};

struct PaymentCaptured {
  static constexpr const char* type = "PaymentCaptured";
  std::string booking_id, reference;
  int installment = 1;
  Money amount;
  int64_t paystack_transaction_id = 0;
  Money paystack_fee;  // Paystack's own fee on the charge
  std::string channel;
  std::optional<int64_t> paid_at_ms;
  std::string source;  // "webhook" | "verify" | "reconcile"
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("reference", reference);
    v("installment", installment);
    v("amount", amount);
    v("paystack_transaction_id", paystack_transaction_id);
    v("paystack_fee", paystack_fee);
    v("channel", channel);
    v("paid_at_ms", paid_at_ms);
    v("source", source);
  }
};

struct PaymentFailed {
  static constexpr const char* type = "PaymentFailed";
  std::string booking_id, reference;
  int installment = 1;
  std::string reason;  // Paystack's status or gateway response
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("reference", reference);
    v("installment", installment);
    v("reason", reason);
  }
};

// Paystack says it took money that does not match what was asked: never enters escrow.
struct PaymentFlagged {
  static constexpr const char* type = "PaymentFlagged";
  std::string booking_id, reference;
  int installment = 1;
  Money expected, received;
  int64_t paystack_transaction_id = 0;
  std::string reason;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("reference", reference);
    v("installment", installment);
    v("expected", expected);
    v("received", received);
    v("paystack_transaction_id", paystack_transaction_id);
    v("reason", reason);
  }
};

struct ProofFile {
  std::string sha256, content_type, name;
  int64_t size_bytes = 0;
  template <class V>
  void fields(V& v) {
    v("sha256", sha256);
    v("content_type", content_type);
    v("name", name);
    v("size_bytes", size_bytes);
  }
};

struct ProofLink {
  std::string url;
  template <class V>
  void fields(V& v) {
    v("url", url);
  }
};

struct ProofSubmitted {
  static constexpr const char* type = "ProofSubmitted";
  std::string booking_id, notes;
  std::vector<ProofFile> files;
  std::vector<ProofLink> attachments;
  std::optional<int64_t> auto_confirm_at_ms;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("notes", notes);
    v("files", files);
    v("attachments", attachments);
    v("auto_confirm_at_ms", auto_confirm_at_ms);
  }
};

// The client approved the work, or an admin released (with or without proof).
struct CompletionConfirmed {
  static constexpr const char* type = "CompletionConfirmed";
  std::string booking_id, confirmed_by;
  Role role = Role::system;
  bool with_proof = false;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("confirmed_by", confirmed_by);
    v("role", role);
    v("with_proof", with_proof);
  }
};

struct AutoConfirmed {
  static constexpr const char* type = "AutoConfirmed";
  std::string booking_id;
  int64_t deadline_ms = 0;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("deadline_ms", deadline_ms);
  }
};

// Escrow moves to the provider's balance (net) and platform revenue (fee), in one event.
struct FundsReleased {
  static constexpr const char* type = "FundsReleased";
  std::string booking_id, provider_id;
  Money gross, fee, provider_net;
  std::string reason;  // "client_approved" | "admin_released" | "auto_confirmed"
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("provider_id", provider_id);
    v("gross", gross);
    v("fee", fee);
    v("provider_net", provider_net);
    v("reason", reason);
  }
};

struct DisputeOpened {
  static constexpr const char* type = "DisputeOpened";
  std::string booking_id, opened_by;
  Role role = Role::system;
  std::string reason, description;
  DisputeSource source = DisputeSource::party;
  std::optional<int64_t> paystack_dispute_id;
  std::optional<int64_t> auto_confirm_remaining_ms;  // the paused clock
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("opened_by", opened_by);
    v("role", role);
    v("reason", reason);
    v("description", description);
    v("source", source);
    v("paystack_dispute_id", paystack_dispute_id);
    v("auto_confirm_remaining_ms", auto_confirm_remaining_ms);
  }
};

// An admin's decision. Moves the provider part (less the fee on it) out of escrow; the client
// part leaves through the RefundRequested events decided with it.
struct DisputeResolved {
  static constexpr const char* type = "DisputeResolved";
  std::string booking_id, provider_id;
  ResolutionOutcome outcome = ResolutionOutcome::release;
  Money provider_amount, refund_amount, fee, provider_net;
  std::string note, resolved_by;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("provider_id", provider_id);
    v("outcome", outcome);
    v("provider_amount", provider_amount);
    v("refund_amount", refund_amount);
    v("fee", fee);
    v("provider_net", provider_net);
    v("note", note);
    v("resolved_by", resolved_by);
  }
};

struct BookingCancelled {
  static constexpr const char* type = "BookingCancelled";
  std::string booking_id, cancelled_by;
  Role role = Role::system;
  std::string reason;
  Money refund_amount;  // held money that the RefundRequested events with it return
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("cancelled_by", cancelled_by);
    v("role", role);
    v("reason", reason);
    v("refund_amount", refund_amount);
  }
};

// pay_by passed with nothing held (DESIGN section 4): the booking takes no more payment; its
// open checkouts were failed just before (PaymentFailed, reason checkout_expired).
struct BookingExpired {
  static constexpr const char* type = "BookingExpired";
  std::string booking_id;
  int64_t pay_by_ms = 0;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("pay_by_ms", pay_by_ms);
  }
};

struct RefundRequested {
  static constexpr const char* type = "RefundRequested";
  std::string booking_id, refund_id, client_id, payment_reference;
  int64_t paystack_transaction_id = 0;
  Money amount;
  std::string
      reason;  // "cancellation" | "dispute" | "duplicate_payment" | "late_payment" | "retry"
  int attempt = 1;
  std::optional<std::string> requested_by;  // a retry: who asked for it (absent otherwise)
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("refund_id", refund_id);
    v("client_id", client_id);
    v("payment_reference", payment_reference);
    v("paystack_transaction_id", paystack_transaction_id);
    v("amount", amount);
    v("reason", reason);
    v("attempt", attempt);
    v("requested_by", requested_by);
  }
};

// Paystack accepted the refund and reports progress that moves no money in our books.
struct RefundUpdated {
  static constexpr const char* type = "RefundUpdated";
  std::string booking_id, refund_id, status;  // "pending" | "processing" | "needs_attention"
  std::optional<int64_t> paystack_refund_id;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("refund_id", refund_id);
    v("status", status);
    v("paystack_refund_id", paystack_refund_id);
  }
};

struct RefundProcessed {
  static constexpr const char* type = "RefundProcessed";
  std::string booking_id, refund_id, client_id;
  Money amount;
  std::optional<int64_t> paystack_refund_id;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("refund_id", refund_id);
    v("client_id", client_id);
    v("amount", amount);
    v("paystack_refund_id", paystack_refund_id);
  }
};

// The refund did not go through: the money is back in escrow until a retry.
struct RefundFailed {
  static constexpr const char* type = "RefundFailed";
  std::string booking_id, refund_id, client_id;
  Money amount;
  std::string reason;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("refund_id", refund_id);
    v("client_id", client_id);
    v("amount", amount);
    v("reason", reason);
  }
};

// ---- chargebacks (booking stream) --------------------------------------------------------------
//
// A Paystack dispute on one of the booking's captured payments (DESIGN rule 6b), identified by
// Paystack's dispute id. Only ChargebackResolved moves money.

// Paystack reported a chargeback on a captured payment (charge.dispute.create, or the first word
// of it). When the booking still holds money, a DisputeOpened (source chargeback) follows it.
struct ChargebackOpened {
  static constexpr const char* type = "ChargebackOpened";
  std::string booking_id;
  int64_t dispute_id = 0;
  std::string payment_reference;
  Money refund_amount;  // what the customer claims back
  ChargebackStatus status = ChargebackStatus::awaiting_merchant_feedback;
  std::optional<int64_t> due_at_ms;  // Paystack's dueAt: answer before it
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("dispute_id", dispute_id);
    v("payment_reference", payment_reference);
    v("refund_amount", refund_amount);
    v("status", status);
    v("due_at_ms", due_at_ms);
  }
};

// Paystack's status, due date or claimed amount changed (a reminder, the bank's review).
struct ChargebackUpdated {
  static constexpr const char* type = "ChargebackUpdated";
  std::string booking_id;
  int64_t dispute_id = 0;
  Money refund_amount;
  ChargebackStatus status = ChargebackStatus::awaiting_merchant_feedback;
  std::optional<int64_t> due_at_ms;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("dispute_id", dispute_id);
    v("refund_amount", refund_amount);
    v("status", status);
    v("due_at_ms", due_at_ms);
  }
};

// An admin answered the chargeback at Paystack (PUT /dispute/:id/resolve), and Paystack took it.
struct ChargebackAnswered {
  static constexpr const char* type = "ChargebackAnswered";
  std::string booking_id;
  int64_t dispute_id = 0;
  ChargebackResponse response = ChargebackResponse::accept;
  std::string message, answered_by;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("dispute_id", dispute_id);
    v("response", response);
    v("message", message);
    v("answered_by", answered_by);
  }
};

// Paystack resolved the chargeback. For the customer, refund_amount went back through the card
// network (never again through /refund): taken from what escrow still held of that payment
// (first what a failed refund of it left owed to the client), then from the provider's available
// balance up to what that payment paid them (it may go below zero), and the rest is the
// platform's loss. Declined moves nothing. `dispute_closed`: the
// booking's dispute ends with it (the chargeback froze the escrow and is declined, or nothing is
// held any more); `auto_confirm_at_ms` is the restarted clock when the escrow is unfrozen.
struct ChargebackResolved {
  static constexpr const char* type = "ChargebackResolved";
  std::string booking_id, provider_id;
  int64_t dispute_id = 0;
  ChargebackResolution resolution = ChargebackResolution::declined;
  Money refund_amount, from_escrow, from_provider, platform_loss;
  bool dispute_closed = false;
  std::optional<int64_t> auto_confirm_at_ms;
  // Failed refunds of that payment whose money (owed to the client, in escrow) the chargeback
  // returned: part of from_escrow, and never retried.
  std::vector<std::string> settled_refunds;
  template <class V>
  void fields(V& v) {
    v("booking_id", booking_id);
    v("provider_id", provider_id);
    v("dispute_id", dispute_id);
    v("resolution", resolution);
    v("refund_amount", refund_amount);
    v("from_escrow", from_escrow);
    v("from_provider", from_provider);
    v("platform_loss", platform_loss);
    v("dispute_closed", dispute_closed);
    v("auto_confirm_at_ms", auto_confirm_at_ms);
    v("settled_refunds", settled_refunds);
  }
};

// ---- provider stream -------------------------------------------------------------------------

struct PayoutAccountRegistered {
  static constexpr const char* type = "PayoutAccountRegistered";
  std::string provider_id, recipient_code, bank_code, account_name, account_number_last4;
  Currency currency = Currency::NGN;
  template <class V>
  void fields(V& v) {
    v("provider_id", provider_id);
    v("recipient_code", recipient_code);
    v("bank_code", bank_code);
    v("account_name", account_name);
    v("account_number_last4", account_number_last4);
    v("currency", currency);
  }
};

struct WithdrawalRequested {
  static constexpr const char* type = "WithdrawalRequested";
  std::string provider_id, withdrawal_id;
  Money amount;
  template <class V>
  void fields(V& v) {
    v("provider_id", provider_id);
    v("withdrawal_id", withdrawal_id);
    v("amount", amount);
  }
};

// One Paystack transfer attempt: money moves from available to in flight.
struct PayoutRequested {
  static constexpr const char* type = "PayoutRequested";
  std::string provider_id, payout_id, reference, recipient_code;
  Money amount;
  PayoutSource source = PayoutSource::release;
  std::optional<std::string> booking_id, withdrawal_id, retry_of;
  int attempt = 1;
  std::optional<std::string> requested_by;  // a retry: who asked for it (absent otherwise)
  template <class V>
  void fields(V& v) {
    v("provider_id", provider_id);
    v("payout_id", payout_id);
    v("reference", reference);
    v("recipient_code", recipient_code);
    v("amount", amount);
    v("source", source);
    v("booking_id", booking_id);
    v("withdrawal_id", withdrawal_id);
    v("retry_of", retry_of);
    v("attempt", attempt);
    v("requested_by", requested_by);
  }
};

struct PayoutSent {
  static constexpr const char* type = "PayoutSent";
  std::string provider_id, payout_id, transfer_code;
  std::optional<int64_t> paystack_transfer_id;
  template <class V>
  void fields(V& v) {
    v("provider_id", provider_id);
    v("payout_id", payout_id);
    v("transfer_code", transfer_code);
    v("paystack_transfer_id", paystack_transfer_id);
  }
};

struct PayoutAwaitingOtp {
  static constexpr const char* type = "PayoutAwaitingOtp";
  std::string provider_id, payout_id, transfer_code;
  template <class V>
  void fields(V& v) {
    v("provider_id", provider_id);
    v("payout_id", payout_id);
    v("transfer_code", transfer_code);
  }
};

struct PayoutSucceeded {
  static constexpr const char* type = "PayoutSucceeded";
  std::string provider_id, payout_id;
  Money amount;
  template <class V>
  void fields(V& v) {
    v("provider_id", provider_id);
    v("payout_id", payout_id);
    v("amount", amount);
  }
};

// The transfer failed: the money returns to the provider's available balance.
struct PayoutFailed {
  static constexpr const char* type = "PayoutFailed";
  std::string provider_id, payout_id, reason;
  Money amount;
  template <class V>
  void fields(V& v) {
    v("provider_id", provider_id);
    v("payout_id", payout_id);
    v("reason", reason);
    v("amount", amount);
  }
};

// Paystack reversed the transfer (before or after it succeeded): back to available.
struct PayoutReversed {
  static constexpr const char* type = "PayoutReversed";
  std::string provider_id, payout_id, reason;
  Money amount;
  bool after_success = false;
  template <class V>
  void fields(V& v) {
    v("provider_id", provider_id);
    v("payout_id", payout_id);
    v("reason", reason);
    v("amount", amount);
    v("after_success", after_success);
  }
};

using Event =
    std::variant<BookingCreated, PaymentInitiated, PaymentCaptured, PaymentFailed, PaymentFlagged,
                 ProofSubmitted, CompletionConfirmed, AutoConfirmed, FundsReleased, DisputeOpened,
                 DisputeResolved, BookingCancelled, BookingExpired, RefundRequested, RefundUpdated,
                 RefundProcessed, RefundFailed, ChargebackOpened, ChargebackUpdated,
                 ChargebackAnswered, ChargebackResolved, PayoutAccountRegistered,
                 WithdrawalRequested, PayoutRequested, PayoutSent, PayoutAwaitingOtp,
                 PayoutSucceeded, PayoutFailed, PayoutReversed>;

const char* event_type(const Event& event);
std::string encode_event_data(const Event& event);
// Decodes stored `data` of a known `type`; an unknown type or bad data is StatusCode::corrupt.
Result<Event> decode_event(std::string_view type, std::string_view data);
bool is_known_event_type(std::string_view type);  // an Event type (not a webhook event type)

// Who caused an event, and why: the `meta` column.
struct EventMeta {
  std::string actor_id;
  Role actor_role = Role::system;
  std::optional<std::string> request_id, idempotency_key;
  std::optional<int64_t> causation_seq;
  template <class V>
  void fields(V& v) {
    v("actor_id", actor_id);
    v("actor_role", actor_role);
    v("request_id", request_id);
    v("idempotency_key", idempotency_key);
    v("causation_seq", causation_seq);
  }
};

std::string encode_meta(const EventMeta& meta);
NewEvent to_new_event(const Event& event, const std::string& meta_json);

std::string booking_stream(std::string_view booking_id);
std::string provider_stream(std::string_view provider_id);

// ---- paystack-webhooks stream ----------------------------------------------------------------
//
// Every accepted Paystack delivery, kept as received, and the outcome of each attempt to process
// it (projections/webhook_log.h). One stream for all deliveries, appended at its current version
// (StreamAppend::any_version). These events move no money and never enter a booking or provider
// stream, so they are not part of Event: the deciders, folds and postings cannot see them.

inline constexpr const char* webhook_stream = "paystack-webhooks";

struct WebhookReceived {
  static constexpr const char* type = "WebhookReceived";
  std::string event;           // Paystack's `event`, e.g. "charge.success"
  std::string dedupe_key;      // identifies the delivery: a redelivery carries the same key
  std::string reference;       // the transaction, transfer or refund reference; may be empty
  std::string payload;         // the raw body, exactly as received
  std::string remote_address;  // the peer that sent it
  template <class V>
  void fields(V& v) {
    v("event", event);
    v("dedupe_key", dedupe_key);
    v("reference", reference);
    v("payload", payload);
    v("remote_address", remote_address);
  }
};

struct WebhookProcessed {
  static constexpr const char* type = "WebhookProcessed";
  int64_t delivery_id = 0;  // the seq of the delivery's WebhookReceived
  std::string outcome;      // "processed" | "ignored" | "failed"
  std::string detail;       // the error (failed) or why it was ignored; empty when processed
  int attempt = 1;          // 1 for the first processing, + 1 for each retry
  template <class V>
  void fields(V& v) {
    v("delivery_id", delivery_id);
    v("outcome", outcome);
    v("detail", detail);
    v("attempt", attempt);
  }
};

using WebhookEvent = std::variant<WebhookReceived, WebhookProcessed>;

// Decodes stored `data` of a webhook event type; anything else is StatusCode::corrupt.
Result<WebhookEvent> decode_webhook_event(std::string_view type, std::string_view data);
bool is_webhook_event_type(std::string_view type);
NewEvent to_new_event(const WebhookEvent& event, const std::string& meta_json);

}  // namespace escrow
