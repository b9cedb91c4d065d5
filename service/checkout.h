// Paying for a booking (DESIGN section 4, rule 2): opening the Paystack checkout of the next
// payment due, and checking a payment with Paystack on request (POST /payments/verify).
//
// Opening a checkout calls Paystack's initialize before the command records it. If the process
// stops in between, the retried pay meets Paystack's "duplicate reference" (initialize is not
// idempotent, and it never returns the first checkout again): the reference is then adopted,
// i.e. recorded as initiated, settled with what verify says of it, and the next reference is
// used. So no reference is ever given two checkouts, and a payment made on the lost checkout is
// still captured. Checkouts of one booking are serialised in this process (a striped lock).
//
// While the latest checkout of the installment due is still pending, a pay answers that same
// checkout (reference, URL, access code) and calls Paystack for nothing: a client who taps "pay"
// twice, or a retried request, pays once. A checkout the customer abandons is failed by the
// pending-payment scheduler once it is old (or by a verify that says `failed`), and the next
// pay opens a new one.
//
// Thread-safety: Checkouts::open and check_payment may be called from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/decider.h"
#include "ledger/store/shell.h"
#include "paystack/client.h"
#include "service/context.h"
#include "service/payments.h"

namespace escrow::service {

// What opening a checkout came to. Exactly one of the optionals is set, or none when every
// attempt met a reference Paystack already held (the caller answers 409: retry).
struct CheckoutOutcome {
  struct Opened {
    PaymentDue due;
    paystack::InitializedTransaction checkout;
    BookingState booking;  // after the checkout was recorded
    bool reused = false;   // the installment's checkout still pending, answered again
  };
  std::optional<Opened> opened;
  std::optional<Rejection> refused;            // nothing is due, or the settlement was refused
  std::optional<CommandResult> failed;         // a command that did not succeed (refused or not)
  std::optional<paystack::ApiError> paystack;  // Paystack refused or did not answer
  bool money_queued = false;                   // an adopted payment queued money: wake the outbox
};

class Checkouts {
 public:
  static constexpr int attempts_max = 2;  // the due reference, and the next one after adopting it
  static constexpr std::size_t lock_stripes = 64;

  explicit Checkouts(const Context& context) : context_(context) {}

  // Opens the checkout of the payment due on `booking_id` (the caller checked the booking is
  // the asker's). `callback_url` is handed to Paystack (empty: Paystack's default). Not ok only
  // for a storage error.
  Result<CheckoutOutcome> open(const std::string& booking_id, const std::string& callback_url,
                               const CommandContext& command);

 private:
  std::mutex& lock_of(std::string_view booking_id) {
    return stripes_[std::hash<std::string_view>{}(booking_id) % stripes_.size()];
  }

  Context context_;
  std::array<std::mutex, lock_stripes> stripes_;
};

// POST /payments/verify: what Paystack says of `reference`, applied to its booking.
struct PaymentCheck {
  bool unknown = false;                        // Paystack has no such transaction
  std::optional<paystack::ApiError> paystack;  // Paystack refused or did not answer
  SettleOutcome settled;                       // otherwise
};
// `known_booking` is the booking that recorded the reference (booking_of_reference(); the caller
// has checked the asker may see it), or nullopt for a reference no checkout of ours recorded,
// which only a caller who vouches for the transaction may ask for (its metadata then names the
// booking). Paystack says `abandoned` also of a checkout the customer has not finished yet
// (FACTS section 3), so an abandoned answer settles nothing and reads in_progress (unknown for a
// reference we never recorded); the pending-payment scheduler fails it once the checkout is old.
// Not ok only for a storage error.
Result<PaymentCheck> check_payment(const Context& context, const std::string& reference,
                                   const std::optional<std::string>& known_booking,
                                   const CommandContext& command);

// True when the command queued a payout or a refund (the outbox should be woken).
bool queued_money(const CommandResult& result);

}  // namespace escrow::service
