// JSON views of bookings for the HTTP API (DESIGN section 5): the full booking of
// GET /bookings/:id and of every action route, and the summary row of GET /bookings.
//
// The full view is written from a BookingState (the decider's own fold, so a replay and the
// current booking read the same way) plus what lives outside the booking stream: the payouts of
// the provider's stream (the `payouts` projection table) and the booking's creation time.
// Money is integer subunits with its currency; times are ISO 8601 UTC or null.
// Thread-safety: pure functions; the loaders use the connection they are given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/handler_support.h"
#include "ledger/decider.h"
#include "ledger/store/sqlite.h"
#include "ledger/status.h"

namespace escrow::api {

// One payout row of the booking's release (payouts projection).
struct PayoutView {
  std::string payout_id, status, source, transfer_code, reason;
  Money amount;
  int64_t attempt = 1;
  int64_t created_at_ms = 0, updated_at_ms = 0;
};

// What the full view needs besides the state. `payouts` absent: the field is left out (a
// replay, whose provider stream is not folded).
struct BookingExtras {
  std::optional<int64_t> created_at_ms;
  std::optional<std::vector<PayoutView>> payouts;
};

// The booking's payouts (oldest first) and its created_at, from the projection tables.
Result<BookingExtras> load_booking_extras(sqlite::Db& db, std::string_view booking_id);

// The stored proof file's URL: /bookings/:id/proof/:sha256.
std::string proof_file_url(std::string_view booking_id, std::string_view sha256);

// Writes the full booking object (one JSON object value) to `w`.
void write_booking(JsonWriter& w, const BookingState& state, const BookingExtras& extras);
// The full booking as JSON text.
std::string booking_json(const BookingState& state, const BookingExtras& extras);

// The columns of the `bookings` table that a summary shows, in this order; the statement's
// first column must be the first of these (see write_booking_summary).
inline constexpr const char* booking_summary_columns =
    "id, client_id, provider_id, description, amount, currency, status, payment_status, "
    "amount_paid, escrow_balance, platform_fee, provider_net, pay_by, auto_confirm_at, version, "
    "created_at, updated_at";
inline constexpr int booking_summary_column_count = 17;

// Writes the summary of the current row of `stmt`, which selected booking_summary_columns.
void write_booking_summary(JsonWriter& w, const sqlite::Stmt& stmt);

}  // namespace escrow::api
