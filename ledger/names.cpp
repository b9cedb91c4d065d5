// Stable names of the domain's enums (they are API values and error codes), and the
// deterministic references handed to Paystack.
#include <string>

#include "ledger/decider.h"
#include "ledger/hash.h"

namespace escrow {

namespace {
struct RejectionText {
  Rejection rejection;
  const char* code;
  const char* message;
};

constexpr RejectionText rejection_table[] = {
    {Rejection::booking_not_found, "booking_not_found", "No such booking."},
    {Rejection::booking_exists, "booking_exists",
     "A booking with this id already exists with different terms."},
    {Rejection::not_allowed, "not_allowed", "You may not do this to this booking."},
    {Rejection::invalid_amount, "invalid_amount",
     "The amount must be a positive integer in subunits."},
    {Rejection::amount_below_minimum, "amount_below_minimum",
     "The amount (or an installment of it) is below Paystack's minimum for the currency."},
    {Rejection::invalid_fee_bps, "invalid_fee_bps", "fee_bps must be between 0 and 10000."},
    {Rejection::invalid_deposit_bps, "invalid_deposit_bps",
     "deposit_bps must be between 1 and 9999 for a split plan."},
    {Rejection::invalid_plan, "invalid_plan",
     "The payment plan or auto-confirm setting is invalid."},
    {Rejection::booking_cancelled, "booking_cancelled", "The booking is cancelled."},
    {Rejection::booking_refunded, "booking_refunded", "The booking was refunded."},
    {Rejection::already_released, "already_released", "The money was already released."},
    {Rejection::dispute_open, "dispute_open", "A dispute is open on this booking."},
    {Rejection::booking_expired, "booking_expired", "The booking was not paid by its pay_by time."},
    {Rejection::nothing_due, "nothing_due", "Nothing is due on this booking."},
    {Rejection::payment_not_due, "payment_not_due",
     "That installment is not the one due, or its amount differs."},
    {Rejection::unknown_payment, "unknown_payment",
     "No payment with this reference on the booking."},
    {Rejection::nothing_held, "nothing_held", "No money is held in escrow for this booking."},
    {Rejection::proof_already_submitted, "proof_already_submitted",
     "Proof of completion was already submitted."},
    {Rejection::too_many_files, "too_many_files", "At most 10 files may be attached as proof."},
    {Rejection::proof_required, "proof_required",
     "The provider has not submitted proof of completion yet."},
    {Rejection::already_approved, "already_approved", "Completion was already approved."},
    {Rejection::auto_confirm_disabled, "auto_confirm_disabled",
     "Auto-confirmation is disabled for this booking."},
    {Rejection::auto_confirm_not_due, "auto_confirm_not_due",
     "The auto-confirmation deadline has not passed."},
    {Rejection::no_dispute, "no_dispute", "There is no open dispute on this booking."},
    {Rejection::invalid_resolution, "invalid_resolution",
     "The resolution is invalid: outcome must be release, refund or split, and a split's "
     "provider_amount + refund_amount must equal the amount held."},
    {Rejection::already_cancelled, "already_cancelled", "The booking is already cancelled."},
    {Rejection::proof_submitted, "proof_submitted",
     "Proof was submitted: open a dispute instead of cancelling."},
    {Rejection::unknown_refund, "unknown_refund", "No such refund on this booking."},
    {Rejection::refund_not_retryable, "refund_not_retryable",
     "Only a failed refund that was not retried yet can be retried."},
    {Rejection::payout_account_missing, "payout_account_missing",
     "The provider has no payout account."},
    {Rejection::currency_mismatch, "currency_mismatch",
     "The currency differs from the payout account's currency."},
    {Rejection::insufficient_balance, "insufficient_balance",
     "The available balance is smaller than the amount."},
    {Rejection::unknown_payout, "unknown_payout", "No such payout."},
    {Rejection::payout_not_retryable, "payout_not_retryable",
     "Only a failed or reversed payout that was not retried yet can be retried."},
    {Rejection::payout_not_awaiting_otp, "payout_not_awaiting_otp",
     "The payout is not waiting for an OTP."},
};

const RejectionText& rejection_text(Rejection rejection) {
  const RejectionText& text = rejection_table[static_cast<int>(rejection)];
  LEDGER_ASSERT(text.rejection == rejection, "rejection_table follows the enum's order");
  return text;
}

// Lowercase hex of a SHA-256 prefix: ids chosen by callers may hold characters Paystack refuses.
std::string short_hash(std::string_view text) {
  return sha256_hex(text).substr(0, 16);
}
}  // namespace

const char* rejection_code(Rejection rejection) {
  return rejection_text(rejection).code;
}
std::string rejection_message(Rejection rejection) {
  return rejection_text(rejection).message;
}

const char* role_name(Role role) {
  switch (role) {
    case Role::client:
      return "client";
    case Role::provider:
      return "provider";
    case Role::admin:
      return "admin";
    case Role::service:
      return "service";
    case Role::auditor:
      return "auditor";
    case Role::system:
      return "system";
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role role :
       {Role::client, Role::provider, Role::admin, Role::service, Role::auditor, Role::system}) {
    if (name == role_name(role)) return role;
  }
  return std::nullopt;
}

const char* booking_status_name(BookingStatus status) {
  switch (status) {
    case BookingStatus::none:
      return "none";
    case BookingStatus::awaiting_payment:
      return "awaiting_payment";
    case BookingStatus::pending_execution:
      return "pending_execution";
    case BookingStatus::awaiting_confirmation:
      return "awaiting_confirmation";
    case BookingStatus::completed:
      return "completed";
    case BookingStatus::disputed:
      return "disputed";
    case BookingStatus::cancelled:
      return "cancelled";
    case BookingStatus::refunded:
      return "refunded";
  }
  return "unknown";
}

const char* payment_status_name(PaymentStatus status) {
  switch (status) {
    case PaymentStatus::unpaid:
      return "unpaid";
    case PaymentStatus::pending:
      return "pending";
    case PaymentStatus::partially_paid:
      return "partially_paid";
    case PaymentStatus::escrow:
      return "escrow";
    case PaymentStatus::released:
      return "released";
    case PaymentStatus::refunding:
      return "refunding";
    case PaymentStatus::refunded:
      return "refunded";
    case PaymentStatus::split:
      return "split";
    case PaymentStatus::failed:
      return "failed";
  }
  return "unknown";
}

const char* charge_status_name(ChargeStatus status) {
  switch (status) {
    case ChargeStatus::pending:
      return "pending";
    case ChargeStatus::captured:
      return "captured";
    case ChargeStatus::failed:
      return "failed";
    case ChargeStatus::flagged:
      return "flagged";
  }
  return "unknown";
}

const char* refund_status_name(RefundStatus status) {
  switch (status) {
    case RefundStatus::queued:
      return "queued";
    case RefundStatus::pending:
      return "pending";
    case RefundStatus::processing:
      return "processing";
    case RefundStatus::processed:
      return "processed";
    case RefundStatus::failed:
      return "failed";
    case RefundStatus::needs_attention:
      return "needs_attention";
  }
  return "unknown";
}

std::optional<RefundStatus> parse_refund_status(std::string_view name) {
  for (RefundStatus s :
       {RefundStatus::queued, RefundStatus::pending, RefundStatus::processing,
        RefundStatus::processed, RefundStatus::failed, RefundStatus::needs_attention}) {
    if (name == refund_status_name(s)) return s;
  }
  return std::nullopt;
}

const char* payout_status_name(PayoutStatus status) {
  switch (status) {
    case PayoutStatus::queued:
      return "queued";
    case PayoutStatus::pending:
      return "pending";
    case PayoutStatus::otp:
      return "otp";
    case PayoutStatus::success:
      return "success";
    case PayoutStatus::failed:
      return "failed";
    case PayoutStatus::reversed:
      return "reversed";
  }
  return "unknown";
}

std::optional<PayoutStatus> parse_payout_status(std::string_view name) {
  for (PayoutStatus s : {PayoutStatus::queued, PayoutStatus::pending, PayoutStatus::otp,
                         PayoutStatus::success, PayoutStatus::failed, PayoutStatus::reversed}) {
    if (name == payout_status_name(s)) return s;
  }
  return std::nullopt;
}

// "bk-<16 hex>-<installment>-<attempt>": 21+ characters of [a-z0-9-], valid as a transaction
// reference (which also allows . and =) and unique per booking, installment and attempt.
std::string payment_reference(std::string_view booking_id, int installment, int attempt) {
  return "bk-" + short_hash(booking_id) + "-" + std::to_string(installment) + "-" +
         std::to_string(attempt);
}

// "po-<16 hex>-<n>": a transfer reference, lowercase [a-z0-9-], 20-30 characters.
std::string payout_reference(std::string_view provider_id, int number) {
  return "po-" + short_hash(provider_id) + "-" + std::to_string(number);
}

std::string refund_id_for(std::string_view booking_id, int number) {
  return "rf-" + short_hash(booking_id) + "-" + std::to_string(number);
}

std::string withdrawal_id_for(std::string_view provider_id, int number) {
  return "wd-" + short_hash(provider_id) + "-" + std::to_string(number);
}

}  // namespace escrow
