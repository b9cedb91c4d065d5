// Queries: every read the HTTP API and the service's background work make of the projection
// tables and the log, as typed rows.
//
// Each call leases a read-only connection of its own (ReadPool), so readers never wait for the
// writer and never see a half-applied command: a command's events and its projection rows
// commit in one transaction. Paged lists answer a Page (page.h) in one cursor format, newest
// first; the log is read in seq order.
//
// The rows carry what the tables store: money as integer subunits with its currency, times in
// ms since the epoch, statuses by their stored names (the names the JSON shows).
// Thread-safety: every method may be called from any thread at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/money.h"
#include "ledger/records.h"
#include "ledger/status.h"
#include "ledger/store/read_pool.h"
#include "projections/page.h"
#include "projections/tables.h"
#include "projections/webhook_log.h"

namespace escrow::projections {

// GET /transactions: one payment, refund, payout or withdrawal, by the party it concerns.
struct TransactionRow {
  std::string kind;  // payment | refund | payout | withdrawal
  std::optional<std::string> booking_id;
  Money amount;
  std::string status, reference;
  int64_t at_ms = 0, updated_at_ms = 0;
};
// Which side of a party's history to read: a client's payments and refunds, a provider's
// payouts and withdrawals, or both (staff reading any party).
enum class PartySide { client, provider, both };

// GET /admin/disputes: a dispute with its booking.
struct DisputeRow {
  std::string booking_id, client_id, provider_id;
  Money amount;
  int64_t held_minor = 0;  // the booking's escrow balance
  std::string reason, description, opened_by, opened_by_role, source, status, outcome;
  int64_t provider_amount_minor = 0, refund_amount_minor = 0;
  std::string note, resolved_by;
  int64_t created_at_ms = 0, updated_at_ms = 0;
  bool resolved() const { return status == "resolved"; }
};
enum class DisputeStatus { open, resolved };

// GET /providers/:id/balance: one currency of a provider's balances.
struct BalanceRow {
  Currency currency = Currency::NGN;
  int64_t available = 0, pending_escrow = 0, in_flight = 0, total_earned = 0;
};

// A payout of the provider's stream: a release's payout or a withdrawal.
struct PayoutRow {
  std::string payout_id, provider_id;
  Money amount;
  std::string status, source;
  std::optional<std::string> booking_id, withdrawal_id, retry_of;
  int64_t attempt = 1;
  std::string transfer_code, reason;
  int64_t created_at_ms = 0, updated_at_ms = 0;
  std::string requested_by;  // a retry's requester; empty otherwise
};

// GET /admin/refunds: one refund of a booking's captured charge.
struct RefundRow {
  std::string refund_id, booking_id, client_id, payment_reference;
  Money amount;
  std::string status, reason, failure_reason;
  int64_t attempt = 1;
  int64_t created_at_ms = 0, updated_at_ms = 0;
  std::string requested_by;  // a retry's requester; empty otherwise
};

// GET /admin/payments: one Paystack transaction of a booking (a checkout and what became of it).
struct PaymentRow {
  std::string reference, booking_id;
  int64_t installment = 1;
  Money amount;  // asked for; what Paystack took when flagged
  std::string status;
  int64_t paystack_transaction_id = 0;
  int64_t paystack_fee = 0;
  int64_t created_at_ms = 0, updated_at_ms = 0;
};

// GET /admin/chargebacks: one Paystack chargeback (schema/0007) with its booking.
struct ChargebackRow {
  int64_t dispute_id = 0;
  std::string booking_id, provider_id, client_id, payment_reference;
  Money refund_amount;
  std::string status, resolution, response, response_message, answered_by;
  std::optional<int64_t> due_at_ms;
  int64_t from_escrow = 0, from_provider = 0, platform_loss = 0;
  int64_t created_at_ms = 0, updated_at_ms = 0;
};

// GET /admin/revenue: what the platform earned and paid in one currency over a period, from the
// ledger entries of the events recorded in it (subunits; positive amounts).
struct RevenueRow {
  Currency currency = Currency::NGN;
  int64_t platform_fees = 0;      // credited to platform:fees
  int64_t paystack_fees = 0;      // debited to platform:paystack_fees
  int64_t chargeback_losses = 0;  // debited to platform:chargeback_losses
};

// GET /bookings: the summary of one booking.
struct BookingSummaryRow {
  std::string id, client_id, provider_id, description;
  Money amount;
  std::string status, payment_status;
  int64_t amount_paid = 0, escrow_balance = 0, platform_fee = 0, provider_net = 0;
  std::optional<int64_t> pay_by_ms, auto_confirm_at_ms;
  int64_t version = 0, created_at_ms = 0, updated_at_ms = 0;
};
struct BookingFilter {
  std::optional<std::string> client_id, provider_id, status, payment_status;
};

// What the full view of a booking needs besides its stream: its creation time and its payouts.
struct BookingOutside {
  std::optional<int64_t> created_at_ms;  // none: no row yet
  std::vector<PayoutRow> payouts;        // oldest first
  Milestones milestones;                 // when it was paid, proven, approved, released, cancelled
};

// What /metrics shows of money in motion, read in one snapshot.
struct MoneyInMotion {
  int64_t outbox_depth = 0;  // payouts + refunds queued, not yet sent
  std::vector<std::pair<std::string, int64_t>> escrow_held_by_currency;  // sorted by currency
};

// An item of background work found in the projections: the stream it belongs to (a provider
// for a payout, a booking for a refund) and its id.
struct WorkItem {
  std::string owner, id;
  bool operator==(const WorkItem&) const = default;
};
// A pending payment a scheduler re-checks at Paystack.
struct PendingPayment {
  std::string reference;
  int64_t created_at_ms = 0;
};

// Queries::booking_outside() on a connection the caller holds, inside its transaction: a command
// renders the booking it answers with on the writer's connection, in the command's own
// transaction (api/handler_support.h: the response stored under an Idempotency-Key).
Result<BookingOutside> booking_outside_on(sqlite::Db& db, std::string_view booking_id);

class Queries {
 public:
  explicit Queries(ReadPool& reads) : reads_(reads) {}

  Result<Page<TransactionRow>> transactions(std::string_view party_id, PartySide side,
                                            const PageRequest& page);
  Result<Page<DisputeRow>> disputes(std::optional<DisputeStatus> status, const PageRequest& page);
  // Newest first, by created_seq (SortKey::at).
  Result<Page<BookingSummaryRow>> bookings(const BookingFilter& filter, const PageRequest& page);
  Result<BookingOutside> booking_outside(std::string_view booking_id);
  Result<std::vector<BalanceRow>> provider_balances(std::string_view provider_id);
  Result<Page<PayoutRow>> provider_payouts(std::string_view provider_id, const PageRequest& page);
  // Across providers and bookings, newest first, by status when one is given (stored names).
  Result<Page<PayoutRow>> payouts(const std::optional<std::string>& status,
                                  const std::optional<std::string>& provider_id,
                                  const PageRequest& page);
  Result<Page<RefundRow>> refunds(const std::optional<std::string>& status,
                                  const PageRequest& page);
  Result<Page<PaymentRow>> payments(const std::optional<std::string>& status,
                                    const PageRequest& page);
  Result<Page<ChargebackRow>> chargebacks(const std::optional<std::string>& status,
                                          const PageRequest& page);
  // Per currency, the platform's accounts moved by the events recorded in [from_ms, to_ms).
  Result<std::vector<RevenueRow>> revenue(std::optional<int64_t> from_ms,
                                          std::optional<int64_t> to_ms,
                                          std::optional<Currency> currency);
  // The booking a Paystack dispute id is recorded on; none when unknown.
  Result<std::optional<std::string>> chargeback_booking(int64_t dispute_id);

  // Whose payout (the provider) or refund (the booking) an id is; none when unknown.
  Result<std::optional<std::string>> payout_provider(std::string_view payout_id);
  Result<std::optional<std::string>> refund_booking(std::string_view refund_id);

  // The log after `after_seq`, at most `limit` events, and one stream's events, oldest first.
  Result<std::vector<RecordedEvent>> events_after(int64_t after_seq, int64_t limit);
  Result<std::vector<RecordedEvent>> stream(const std::string& stream);

  Result<MoneyInMotion> money_in_motion();

  // The booking a payment reference belongs to; none when unknown.
  Result<std::optional<std::string>> payment_booking(std::string_view reference);
  // One payout by id (also its Paystack transfer reference); none when unknown.
  Result<std::optional<PayoutRow>> payout(std::string_view payout_id);

  // Background work, oldest first, at most `limit` items each:
  // payouts and refunds queued and not yet sent;
  Result<std::vector<WorkItem>> queued_payouts(int64_t limit);
  Result<std::vector<WorkItem>> queued_refunds(int64_t limit);
  // payouts (pending, otp) and refunds (pending, processing, needs_attention) whose outcome
  // Paystack has not told, last touched at or before `updated_at_or_before_ms`;
  Result<std::vector<WorkItem>> unsettled_payouts(int64_t updated_at_or_before_ms, int64_t limit);
  Result<std::vector<WorkItem>> unsettled_refunds(int64_t updated_at_or_before_ms, int64_t limit);
  // bookings awaiting confirmation, not approved, whose auto-confirm time has come;
  Result<std::vector<std::string>> auto_confirm_due(int64_t now_ms, int64_t limit);
  // Bookings still awaiting payment whose pay_by is before `now_ms`, oldest deadline first.
  Result<std::vector<std::string>> expiry_due(int64_t now_ms, int64_t limit);
  // Dispute ids of the chargebacks Paystack has not resolved, least recently changed first.
  Result<std::vector<int64_t>> unresolved_chargebacks(int64_t limit);
  // payments still pending, opened at or before `created_at_or_before_ms`.
  Result<std::vector<PendingPayment>> pending_payments(int64_t created_at_or_before_ms,
                                                       int64_t limit);

  Result<std::optional<DeliveryRow>> delivery(int64_t id);
  Result<DeliveryPage> deliveries(const DeliveryFilter& filter);
  // WebhookLog::due_for_retry() on a connection of the pool.
  Result<std::vector<int64_t>> deliveries_due_for_retry(int64_t now_ms, int limit);

 private:
  ReadPool& reads_;
};

}  // namespace escrow::projections
