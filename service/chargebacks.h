// Paystack chargebacks (DESIGN section 4, rule 6b) between Paystack and the ledger: what a
// dispute as Paystack reports it means for the ledger, recording it on the booking of its
// transaction, and an admin's answer at Paystack (PUT /dispute/:id/resolve).
//
// A webhook only names a dispute: what is recorded is always the dispute as GET /dispute/:id
// gives it, so a redelivered, late or reordered webhook records Paystack's latest word, never an
// older one. The ledger then decides where the money comes from (RecordChargeback).
//
// Thread-safety: free functions over a Context (service/context.h), safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ledger/decider.h"
#include "ledger/store/shell.h"
#include "paystack/types.h"
#include "service/context.h"

namespace escrow::service {

// The ledger's report of `dispute`. Its status as sent (an unknown one counts as `pending`); its
// resolution only once `resolved` (Paystack may show `declined` while the bank still reviews a
// merchant's answer). A resolved dispute without a resolution counts as auto-accepted when its
// transaction reads `reversed`, as declined when it reads anything else, and stays `pending` when
// the transaction's status is not given (a final outcome is never guessed). `invalid_argument`
// without an amount or a transaction reference.
Result<RecordChargeback> chargeback_report(const paystack::Dispute& dispute);

// Fetches dispute `dispute_id` and records it on the booking of its transaction. A resolution
// for the customer settles the payment's refunds still queued (never sent, rule 6b); each is
// first looked up at Paystack (check_refund_at_paystack()), since one made before a crash or a
// timeout still reads queued: it is recorded as Paystack has it instead. When Paystack cannot be
// asked about one, nothing is recorded (`unanswered`). answer_chargeback() does the same, and
// records an accepted answer without its resolution then (a later sync brings it).
struct ChargebackSync {
  std::optional<paystack::ApiError> unanswered;  // Paystack could not be asked: nothing recorded
  bool unknown_at_paystack = false;              // Paystack has no such dispute
  std::optional<std::string> booking_id;         // none: no booking has its transaction
  CommandResult recorded;                        // the RecordChargeback that ran
};
// Not ok only for a storage error.
Result<ChargebackSync> sync_chargeback(const Context& ctx, int64_t dispute_id,
                                       const CommandContext& context);

// Lists the disputes Paystack opened since `since_ms` (GET /dispute, at most discovery_pages_max
// pages) and records those the ledger has not heard of, on the booking of their transaction: a
// chargeback whose webhooks were all lost is still found (and, if Paystack resolved it, settled).
inline constexpr int discovery_pages_max = 10;
inline constexpr int discovery_page_size = 100;
struct ChargebackDiscovery {
  std::optional<paystack::ApiError> unanswered;  // Paystack could not be asked: try again later
  std::vector<CommandResult> recorded;           // the RecordChargeback commands that ran
};
Result<ChargebackDiscovery> discover_chargebacks(const Context& ctx, int64_t since_ms,
                                                 const CommandContext& context);

// POST /admin/chargebacks/:id/respond: checks the chargeback may be answered
// (check_chargeback_answer), sends the answer (accept: merchant-accepted for the amount claimed;
// decline: declined, with the evidence file `uploaded_filename`), then records the answer and the
// dispute as Paystack has it afterwards (AnswerChargeback, as `context`'s admin). When Paystack
// refuses the answer, the dispute as Paystack has it is recorded all the same (it may hold an
// earlier answer whose reply was lost).
struct ChargebackAnswer {
  std::optional<Rejection> rejection;         // unknown_chargeback, chargeback_not_answerable
  std::optional<paystack::ApiError> refused;  // Paystack refused or did not answer
  std::string booking_id;
  CommandResult recorded;
};
Result<ChargebackAnswer> answer_chargeback(const Context& ctx, int64_t dispute_id,
                                           ChargebackResponse response, const std::string& message,
                                           const std::string& uploaded_filename,
                                           const CommandContext& context);

}  // namespace escrow::service
