// Applying what Paystack says of a transaction to its booking (DESIGN section 4, rule 2): shared
// by POST /payments/verify, the charge.success webhook, the pending-checkout scheduler and
// reconciliation, so that every path captures, fails or flags a payment the same way.
//
// settle_transaction() finds the booking of `tx.reference` (the payments projection, else, when
// the caller allows it, the transaction's metadata.booking_id) and executes: CapturePayment for
// status "success" (the decider flags an amount or currency mismatch instead of holding it, and a
// second capture of a reference is a no-op), FailPayment for "failed"/"abandoned"/"reversed",
// nothing for a payment still in progress. Thread-safety: as CommandShell.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ledger/store/shell.h"
#include "paystack/types.h"
#include "service/context.h"

namespace escrow::service {

enum class Settlement {
  captured,           // money now held (or already was: a repeated capture)
  flagged,            // amount or currency differs from what was asked: never held
  failed,             // Paystack says the payment failed or was abandoned
  in_progress,        // Paystack has no final answer yet
  unknown_reference,  // no booking of ours knows this reference
  refused,            // the decider refused (see result.rejection)
};
const char* settlement_name(Settlement settlement);

struct SettleOutcome {
  Settlement settlement = Settlement::in_progress;
  std::string booking_id;
  CommandResult result;  // of the command executed (empty for in_progress/unknown_reference)
};

// Whether a reference no checkout of ours recorded may be tied to a booking by the booking_id
// in Paystack's metadata. Anyone with the public key can open an Inline checkout whose metadata
// names any booking, so only callers who vouch for the transaction allow it: reconciliation and
// a verify by the marketplace service or an admin. Webhooks and the pending-checkout scheduler
// refuse it (the answer is then unknown_reference and nothing runs).
enum class MetadataFallback { allowed, refused };

// What our checkout put in a transaction's metadata (POST /bookings/:id/pay): {booking_id,
// installment}. Paystack hands metadata back as it was sent, but some paths deliver it as a JSON
// string holding the object: both are read; anything else yields empty fields.
struct CheckoutMetadata {
  std::string booking_id;
  std::optional<int> installment;
};
CheckoutMetadata read_metadata(const std::string& metadata_json);

// `source` is "verify", "webhook" or "reconcile". Status is not ok only for storage errors.
Result<SettleOutcome> settle_transaction(const Context& service, const paystack::Transaction& tx,
                                         std::string_view source, const CommandContext& context,
                                         MetadataFallback fallback = MetadataFallback::allowed);

// The booking that asked for `reference` (payments projection), if any.
Result<std::optional<std::string>> booking_of_reference(const Context& service,
                                                        std::string_view reference);

}  // namespace escrow::service
