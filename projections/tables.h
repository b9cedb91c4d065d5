// The projection tables (schema/0002_projections.sql, 0004_webhooks.sql) as data: their columns,
// the projection each belongs to, and the functions that turn domain states and events into rows.
// The live path (live.h) and the rebuild and verify paths (rebuild.h) both build rows only through
// these functions, so a fresh rebuild can equal the live tables byte for byte.
// Thread-safety: pure functions and immutable tables.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ledger/decider.h"
#include "ledger/events.h"
#include "ledger/postings.h"

namespace escrow::projections {

using SqlValue = std::variant<std::monostate, int64_t, std::string>;
using Row = std::vector<SqlValue>;

enum class Table {
  bookings,
  payments,
  refunds,
  disputes,
  chargebacks,
  payouts,
  provider_balances,
  ledger_entries,
  account_balances,
  webhook_deliveries,
};
inline constexpr int table_count = 10;

struct TableSpec {
  Table table;
  const char* name;
  const char* projection;  // what `escrowctl rebuild --projection` names
  const char* version;     // bump when the rows this code writes change
  std::vector<const char*> columns;
  int key_columns;                                  // the first N columns are the primary key
  std::vector<const char*> insert_only;             // kept on update (created_*)
  std::vector<const char*> kept_unless_given = {};  // kept on update when the new row has NULL
};

const std::vector<TableSpec>& table_specs();
const TableSpec& spec(Table table);
std::vector<std::string> projection_names();

// When a row was first and last touched by an event (recorded_at, ms).
// When a booking reached each step: the recorded_at of the event that reached it (schema 0006).
// paid_at is the latest capture that entered escrow (for a split plan the deposit, then the
// balance); released_at a release or a resolution with a provider part.
struct Milestones {
  std::optional<int64_t> paid_at, proof_at, approved_at, released_at, cancelled_at;
  // Notes `event`, recorded at `at`; `after` is the booking's state with the event in it.
  void note(const Event& event, int64_t at, const BookingState& after);
};

struct Times {
  int64_t created_at = 0;
  int64_t updated_at = 0;
  void touch(int64_t at) {
    if (created_at == 0) created_at = at;
    updated_at = at;
  }
};

Row booking_row(const BookingState& s, const Times& times, int64_t created_seq,
                const Milestones& milestones);
Row payment_row(const BookingState& s, const ChargeRecord& c, const Times& times);
Row refund_row(const BookingState& s, const RefundRecord& r, const Times& times);
Row dispute_row(const BookingState& s, const Times& times);
Row chargeback_row(const BookingState& s, const ChargebackRecord& c, const Times& times);
Row payout_row(const ProviderState& s, const PayoutRecord& p, const Times& times);
Row ledger_entry_row(int64_t seq, int idx, const Posting& posting);

// One Paystack webhook delivery (schema/0004_webhooks.sql): made by its WebhookReceived, updated
// by every WebhookProcessed that names it. Also what projections/webhook_log.h reads back.
struct DeliveryRow {
  int64_t id = 0;  // the seq of the WebhookReceived
  std::string dedupe_key, event, reference;
  std::string status;  // received | processed | ignored | failed
  int attempts = 0;
  std::string last_error;  // the failure, or why it was ignored; '' otherwise
  int64_t received_at_ms = 0, updated_at_ms = 0;
  std::string payload;
};
DeliveryRow delivery_received(int64_t seq, int64_t recorded_at_ms, const WebhookReceived& e);
void delivery_processed(DeliveryRow& d, const WebhookProcessed& e, int64_t recorded_at_ms);
Row delivery_row(const DeliveryRow& d);
DeliveryRow delivery_from_row(const Row& row);  // the inverse of delivery_row()

// The booking as the API returns it, less what lives elsewhere: payouts (the provider's stream)
// and created_at/updated_at. Built from a state (replay, the API), not stored.
std::string booking_doc(const BookingState& s);
// The `proof` column: {notes, files, attachments}.
std::string proof_json(const BookingState& s);

// Which records an event touches, by table: (table, key). Every booking event touches its
// booking row; the others name the payment, refund, dispute or payout they concern.
struct Touch {
  Table table;
  std::string key;
};
std::vector<Touch> touches(const Event& event);

// How an event moves a provider's balances. `booking_provider` is the provider of the booking
// whose escrow moves (for pending_escrow).
struct ProviderBalanceDelta {
  std::string provider_id;
  Currency currency = Currency::NGN;
  int64_t available = 0, pending_escrow = 0, in_flight = 0, total_earned = 0;
};
std::vector<ProviderBalanceDelta> provider_balance_deltas(const Event& event,
                                                          const std::vector<Posting>& postings,
                                                          std::string_view booking_provider);

}  // namespace escrow::projections
