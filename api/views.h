// JSON views of bookings for the HTTP API (DESIGN section 5): the full booking of
// GET /bookings/:id and of every action route, and the summary row of GET /bookings.
//
// The full view is written from a BookingState (the decider's own fold, so a replay and the
// current booking read the same way) plus what lives outside the booking stream: the payouts of
// the provider's stream (the `payouts` projection table) and the booking's creation time, read
// through projections::Queries.
// Money is integer subunits with its currency; times are ISO 8601 UTC or null.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/handler_support.h"
#include "ledger/decider.h"
#include "ledger/status.h"
#include "projections/queries.h"

namespace escrow::api {

// What the full view needs besides the state. `payouts` absent: the field is left out (a
// replay, whose provider stream is not folded).
struct BookingExtras {
  std::optional<int64_t> created_at_ms;
  std::optional<std::vector<projections::PayoutRow>> payouts;
  projections::Milestones milestones;
};
// From what the projections hold outside the booking's stream.
BookingExtras extras_from(projections::BookingOutside outside);

// One payout as the withdrawal history and the admin's payout list show it.
void write_payout_row(JsonWriter& w, const projections::PayoutRow& p);

// The stored proof file's URL: /bookings/:id/proof/:sha256.
std::string proof_file_url(std::string_view booking_id, std::string_view sha256);

// Writes the full booking object (one JSON object value) to `w`.
void write_booking(JsonWriter& w, const BookingState& state, const BookingExtras& extras);
// The full booking as JSON text.
std::string booking_json(const BookingState& state, const BookingExtras& extras);

// Writes the summary of one booking, a row of GET /bookings.
void write_booking_summary(JsonWriter& w, const projections::BookingSummaryRow& row);

}  // namespace escrow::api
