// The outbox dispatcher: money leaving (DESIGN section 6). Payout and refund events are committed
// first; this dispatcher then sends them to Paystack and records what Paystack answered, so a
// crash between the two leaves work to finish, never a payment made twice.
//
// Where the work comes from: the projections (payouts and refunds tables).
//   payout queued              -> initiate_transfer() with the payout's deterministic reference
//                                 -> RecordPayoutOutcome. After a crash or a timeout Paystack
//                                 refuses the reused reference (duplicate_transfer_reference) and
//                                 the transfer it already holds under it is looked up
//                                 (GET /transfer/verify/:reference) instead of paying again. Only
//                                 a refusal of the initiate itself (validation, insufficient
//                                 balance, unknown recipient) records the payout failed, which
//                                 returns the money to the provider's available balance. An
//                                 outcome Paystack did not give (5xx, timeout, 429) and any error
//                                 of the lookup (a 404 included: the transfer may exist and not
//                                 be listed yet) leave it queued, retried with a per-payout
//                                 backoff.
//                                 A reference Paystack holds for another amount or recipient is
//                                 logged as an error (payout id, amounts, Paystack's transfer
//                                 code) at every attempt; after reference_conflict_attempts_max
//                                 attempts this process stops trying. The payout stays queued,
//                                 its money in flight: an operator must find out what the other
//                                 transfer is and settle the payout by hand (a restart tries
//                                 again).
//   payout pending or otp, for longer than pending_check_after_ms without news (no webhook)
//                              -> verify_transfer() -> RecordPayoutOutcome.
//   refund queued              -> list_refunds(transaction) first; a refund whose merchant_note is
//                                 our refund id and whose amount matches is the one already sent.
//                                 Then list_disputes(transaction): every chargeback Paystack holds
//                                 on the payment is recorded (sync_chargeback), and while one is
//                                 unresolved the refund waits (rule 6b: resolved for the customer,
//                                 the chargeback returns the money and settles the refund, which
//                                 is never sent; declined, the refund goes out). Only then:
//                                 create_refund(merchant_note = refund id) -> RecordRefundOutcome
//                                 (DESIGN rule 9).
//   refund pending, processing or needs_attention for longer than pending_check_after_ms
//                              -> list_refunds(transaction) -> RecordRefundOutcome
//                                 (check_refund_at_paystack(), which the refund webhooks use too).
// Outcomes are recorded as the system actor "outbox"; a payout's transfer code is recorded
// (PayoutSent) before a final status reported in the same answer, so it is never lost.
//
// No double send: every item is claimed in memory before it is sent and its state is re-read from
// the event store after the claim, so overlapping passes (worker threads, run_once() from a test)
// skip what another pass is sending. Across processes the Paystack reference is the guard for
// transfers; run one escrowd per database.
//
// Thread-safety: every public member may be called from any thread. stop() waits for the pass in
// progress (and so for a send in flight) to finish.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ledger/store/read_pool.h"
#include "ledger/store/shell.h"
#include "paystack/client.h"
#include "service/context.h"
#include "service/worker.h"

namespace escrow::service {

class Outbox {
 public:
  static constexpr int batch_max = 100;               // items of each kind per pass
  static constexpr int64_t backoff_base_ms = 1'000;   // first wait after an unknown outcome
  static constexpr int64_t backoff_max_ms = 300'000;  // cap of the per-item backoff
  // Attempts at a payout whose reference Paystack holds for another transfer, per process.
  static constexpr int reference_conflict_attempts_max = 10;

  struct Options {
    int64_t poll_interval_ms = 1000;
    int64_t pending_check_after_ms = 60'000;
    int workers = 1;  // threads running passes; claims keep them off each other's items
  };

  Outbox(Context context, Options options);
  ~Outbox();  // stop()
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  void start();  // idempotent
  void stop();   // idempotent; waits for the pass in progress
  void wake();   // a command just queued work: run a pass now
  // One pass over every kind of work. Not ok when storage failed (items Paystack could not
  // answer are not errors: they wait for their backoff).
  Status run_once();

 private:
  struct Backoff {
    int failures = 0;
    int64_t next_attempt_ms = 0;
  };
  class Claim;

  int64_t pass();  // run_once(), logged; the worker's pass
  Status send_queued_payouts();
  Status check_pending_payouts();
  Status send_queued_refunds();
  Status check_pending_refunds();
  Status send_payout(const std::string& provider_id, const std::string& payout_id);
  Status verify_payout(const std::string& provider_id, const std::string& payout_id);
  Status send_refund(const std::string& booking_id, const std::string& refund_id);
  // Whether queued refund `r` must wait for a chargeback on its payment (rule 6b): Paystack's
  // disputes of the transaction are recorded first (GET /dispute?transaction=), so one whose
  // webhook was lost counts too; true also when Paystack cannot say, or the refund is no longer
  // queued. Not ok only for a storage error.
  Result<bool> held_by_chargeback(const std::string& booking_id, const RefundRecord& r);
  Status check_refund(const std::string& booking_id, const std::string& refund_id);

  // Paystack holds `p`'s reference for `other`: logged and counted; given_up() after the max.
  void reference_taken(const std::string& payout_id, const PayoutRecord& p,
                       const paystack::Transfer& other);
  bool given_up(const std::string& payout_id);

  bool due(const std::string& key);     // not waiting for a backoff
  void failed(const std::string& key);  // schedule the next attempt
  void succeeded(const std::string& key);
  bool checked_recently(const std::string& key);  // pending checks, one per pending_check_after

  Context deps_;
  Options options_;

  std::mutex mutex_;  // guards the members below
  std::set<std::string> claimed_;
  std::map<std::string, Backoff> backoff_;
  std::map<std::string, int64_t> last_checked_ms_;
  std::map<std::string, int> reference_conflicts_;  // payout id -> attempts that met another

  Worker worker_;  // last: its threads stop before the members above go
};

// Looks refund `refund` of booking `booking_id` up at Paystack the way the outbox does (the
// refunds Paystack lists for its transaction: by its Paystack refund id once known, else by
// merchant_note == our refund id and the amount) and records the status listed there with
// RecordRefundOutcome as `context`'s actor. A refund's status thus only ever comes from what
// Paystack lists for that very refund, never from a message naming just its transaction.
struct RefundCheck {
  std::optional<paystack::ApiError> unanswered;  // Paystack could not be asked: nothing recorded
  bool listed = false;     // Paystack lists the refund; its status was recorded
  CommandResult recorded;  // the RecordRefundOutcome that ran (a refusal is logged, not an error)
};
// Not ok only for a storage error.
Result<RefundCheck> check_refund_at_paystack(CommandShell& shell, paystack::Client& client,
                                             const std::string& booking_id,
                                             const RefundRecord& refund,
                                             const CommandContext& context);

// POST /admin/payouts/:id/finalize: sends the admin's OTP for a transfer Paystack holds for one
// and records what Paystack then says of it (with the admin in `context`). When Paystack refuses
// the OTP, the transfer is verified: if it no longer waits for an OTP (it succeeded, failed or
// was reversed meanwhile), that status is recorded and answered instead of the refusal.
struct FinalizeOutcome {
  std::optional<Rejection> rejection;         // unknown_payout, payout_not_awaiting_otp, ...
  std::optional<paystack::ApiError> refused;  // Paystack refused or did not answer
  std::optional<PayoutRecord> payout;         // the payout after the outcome was recorded
  std::string provider_id;
};
Result<FinalizeOutcome> finalize_payout(const Context& deps, std::string_view payout_id,
                                        std::string_view otp, const CommandContext& context);

// What Paystack's transfer and refund statuses mean in our books.
PayoutStatus payout_status_of(paystack::TransferStatus status);
std::optional<RefundStatus> refund_status_of(paystack::RefundStatus status);

}  // namespace escrow::service
