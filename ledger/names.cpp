// Stable names of the domain's enums (they are stored in events, written by the API and used as
// error codes), one table per enum that names_every_enumerator() checks at compile time, and the
// deterministic references handed to Paystack.
#include <array>
#include <string>

#include "ledger/decider.h"
#include "ledger/hash.h"

namespace escrow {

namespace {
struct RejectionText {
  Rejection value;  // named so for names_every_enumerator()
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
    {Rejection::currency_not_paid_out, "currency_not_paid_out",
     "Bookings are taken only in currencies Paystack can pay out to providers: NGN, GHS, KES and "
     "ZAR."},
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
    {Rejection::expiry_not_due, "expiry_not_due",
     "The booking expires only once its pay_by has passed with nothing paid into escrow."},
    {Rejection::no_dispute, "no_dispute", "There is no open dispute on this booking."},
    {Rejection::chargeback_open, "chargeback_open",
     "A Paystack chargeback on this booking is not resolved yet: answer it at Paystack "
     "(POST /admin/chargebacks/:id/respond); its outcome settles the money."},
    {Rejection::invalid_resolution, "invalid_resolution",
     "The resolution is invalid: outcome must be release, refund or split, and a split's "
     "provider_amount + refund_amount must equal the amount held."},
    {Rejection::already_cancelled, "already_cancelled", "The booking is already cancelled."},
    {Rejection::proof_submitted, "proof_submitted",
     "Proof was submitted: open a dispute instead of cancelling."},
    {Rejection::unknown_refund, "unknown_refund", "No such refund on this booking."},
    {Rejection::refund_not_retryable, "refund_not_retryable",
     "Only a failed refund that was not retried yet can be retried."},
    {Rejection::unknown_chargeback, "unknown_chargeback", "No such chargeback on this booking."},
    {Rejection::chargeback_not_answerable, "chargeback_not_answerable",
     "The chargeback is resolved, or was already answered and waits for the bank."},
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

// One row per Rejection, in declaration order: rejection_text() indexes the table by value.
static_assert(names_every_enumerator<rejection_table>());

constexpr auto rejection_values = [] {
  std::array<Rejection, std::size(rejection_table)> values{};
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = rejection_table[i].value;
  return values;
}();

const RejectionText& rejection_text(Rejection rejection) {
  auto index = static_cast<std::size_t>(rejection);
  LEDGER_ASSERT(index < std::size(rejection_table), "a Rejection outside the enum");
  return rejection_table[index];
}

// Lowercase hex of a SHA-256 prefix: ids chosen by callers may hold characters Paystack refuses.
std::string short_hash(std::string_view text) {
  return sha256_hex(text).substr(0, 16);
}

// ---- name tables: each lists its enum's values in declaration order, checked here -----------

constexpr EnumName<Role> role_table[] = {
    {Role::client, "client"},   {Role::provider, "provider"}, {Role::admin, "admin"},
    {Role::service, "service"}, {Role::auditor, "auditor"},   {Role::system, "system"},
};
static_assert(names_every_enumerator<role_table>());

constexpr EnumName<PaymentPlan> payment_plan_table[] = {
    {PaymentPlan::full, "full"},
    {PaymentPlan::split, "split"},
};
static_assert(names_every_enumerator<payment_plan_table>());

constexpr EnumName<DisputeSource> dispute_source_table[] = {
    {DisputeSource::party, "party"},
    {DisputeSource::chargeback, "chargeback"},
};
static_assert(names_every_enumerator<dispute_source_table>());

constexpr EnumName<ResolutionOutcome> resolution_outcome_table[] = {
    {ResolutionOutcome::release, "release"},
    {ResolutionOutcome::refund, "refund"},
    {ResolutionOutcome::split, "split"},
};
static_assert(names_every_enumerator<resolution_outcome_table>());

constexpr EnumName<ChargebackStatus> chargeback_status_table[] = {
    {ChargebackStatus::awaiting_merchant_feedback, "awaiting-merchant-feedback"},
    {ChargebackStatus::awaiting_bank_feedback, "awaiting-bank-feedback"},
    {ChargebackStatus::pending, "pending"},
    {ChargebackStatus::resolved, "resolved"},
};
static_assert(names_every_enumerator<chargeback_status_table>());

constexpr EnumName<ChargebackResolution> chargeback_resolution_table[] = {
    {ChargebackResolution::merchant_accepted, "merchant-accepted"},
    {ChargebackResolution::declined, "declined"},
    {ChargebackResolution::auto_accepted, "auto-accepted"},
};
static_assert(names_every_enumerator<chargeback_resolution_table>());

constexpr EnumName<ChargebackResponse> chargeback_response_table[] = {
    {ChargebackResponse::accept, "accept"},
    {ChargebackResponse::decline, "decline"},
};
static_assert(names_every_enumerator<chargeback_response_table>());

constexpr EnumName<PayoutSource> payout_source_table[] = {
    {PayoutSource::release, "release"},
    {PayoutSource::withdrawal, "withdrawal"},
    {PayoutSource::retry, "retry"},
};
static_assert(names_every_enumerator<payout_source_table>());

constexpr EnumName<BookingStatus> booking_status_table[] = {
    {BookingStatus::none, "none"},
    {BookingStatus::awaiting_payment, "awaiting_payment"},
    {BookingStatus::pending_execution, "pending_execution"},
    {BookingStatus::awaiting_confirmation, "awaiting_confirmation"},
    {BookingStatus::completed, "completed"},
    {BookingStatus::disputed, "disputed"},
    {BookingStatus::cancelled, "cancelled"},
    {BookingStatus::refunded, "refunded"},
    {BookingStatus::expired, "expired"},
};
static_assert(names_every_enumerator<booking_status_table>());

constexpr EnumName<PaymentStatus> payment_status_table[] = {
    {PaymentStatus::unpaid, "unpaid"},
    {PaymentStatus::pending, "pending"},
    {PaymentStatus::partially_paid, "partially_paid"},
    {PaymentStatus::escrow, "escrow"},
    {PaymentStatus::released, "released"},
    {PaymentStatus::refunding, "refunding"},
    {PaymentStatus::refunded, "refunded"},
    {PaymentStatus::split, "split"},
    {PaymentStatus::failed, "failed"},
};
static_assert(names_every_enumerator<payment_status_table>());

constexpr EnumName<ChargeStatus> charge_status_table[] = {
    {ChargeStatus::pending, "pending"},
    {ChargeStatus::captured, "captured"},
    {ChargeStatus::failed, "failed"},
    {ChargeStatus::flagged, "flagged"},
};
static_assert(names_every_enumerator<charge_status_table>());

constexpr EnumName<RefundStatus> refund_status_table[] = {
    {RefundStatus::queued, "queued"},         {RefundStatus::pending, "pending"},
    {RefundStatus::processing, "processing"}, {RefundStatus::processed, "processed"},
    {RefundStatus::failed, "failed"},         {RefundStatus::needs_attention, "needs_attention"},
};
static_assert(names_every_enumerator<refund_status_table>());

constexpr EnumName<PayoutStatus> payout_status_table[] = {
    {PayoutStatus::queued, "queued"}, {PayoutStatus::pending, "pending"},
    {PayoutStatus::otp, "otp"},       {PayoutStatus::success, "success"},
    {PayoutStatus::failed, "failed"}, {PayoutStatus::reversed, "reversed"},
};
static_assert(names_every_enumerator<payout_status_table>());

}  // namespace

const char* rejection_code(Rejection rejection) {
  return rejection_text(rejection).code;
}
std::string rejection_message(Rejection rejection) {
  return rejection_text(rejection).message;
}
std::span<const Rejection> all_rejections() {
  return rejection_values;
}

std::span<const EnumName<Role>> enum_names(Role) {
  return role_table;
}
std::span<const EnumName<PaymentPlan>> enum_names(PaymentPlan) {
  return payment_plan_table;
}
std::span<const EnumName<DisputeSource>> enum_names(DisputeSource) {
  return dispute_source_table;
}
std::span<const EnumName<ResolutionOutcome>> enum_names(ResolutionOutcome) {
  return resolution_outcome_table;
}
std::span<const EnumName<ChargebackStatus>> enum_names(ChargebackStatus) {
  return chargeback_status_table;
}
std::span<const EnumName<ChargebackResolution>> enum_names(ChargebackResolution) {
  return chargeback_resolution_table;
}
std::span<const EnumName<ChargebackResponse>> enum_names(ChargebackResponse) {
  return chargeback_response_table;
}
std::span<const EnumName<PayoutSource>> enum_names(PayoutSource) {
  return payout_source_table;
}
std::span<const EnumName<BookingStatus>> enum_names(BookingStatus) {
  return booking_status_table;
}
std::span<const EnumName<PaymentStatus>> enum_names(PaymentStatus) {
  return payment_status_table;
}
std::span<const EnumName<ChargeStatus>> enum_names(ChargeStatus) {
  return charge_status_table;
}
std::span<const EnumName<RefundStatus>> enum_names(RefundStatus) {
  return refund_status_table;
}
std::span<const EnumName<PayoutStatus>> enum_names(PayoutStatus) {
  return payout_status_table;
}

const char* role_name(Role role) {
  return enum_name(role);
}
std::optional<Role> parse_role(std::string_view name) {
  return parse_enum<Role>(name);
}

const char* booking_status_name(BookingStatus status) {
  return enum_name(status);
}
std::optional<BookingStatus> parse_booking_status(std::string_view name) {
  return parse_enum<BookingStatus>(name);
}

const char* payment_status_name(PaymentStatus status) {
  return enum_name(status);
}
std::optional<PaymentStatus> parse_payment_status(std::string_view name) {
  return parse_enum<PaymentStatus>(name);
}

const char* charge_status_name(ChargeStatus status) {
  return enum_name(status);
}

const char* refund_status_name(RefundStatus status) {
  return enum_name(status);
}
std::optional<RefundStatus> parse_refund_status(std::string_view name) {
  return parse_enum<RefundStatus>(name);
}

const char* payout_status_name(PayoutStatus status) {
  return enum_name(status);
}
std::optional<PayoutStatus> parse_payout_status(std::string_view name) {
  return parse_enum<PayoutStatus>(name);
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
