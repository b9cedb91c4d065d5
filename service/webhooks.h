// Paystack webhooks (DESIGN section 6): the processing of a stored delivery into ledger commands
// and background retries. The receiving endpoint and the admin routes over the deliveries are
// api/handlers_webhooks.cpp; what they do is written here, beside what they feed.
//
// Receiving (POST /webhooks/paystack, registered by api's add_webhook_routes): source IP allowlist
// (403), body size (413), then the signature (401 `invalid_signature`) before anything is parsed
// or stored. An accepted delivery is stored in the `paystack-webhooks` stream through WebhookLog
// (deduplicated by its dedupe key) and answered 200 at once; a new one is queued for the worker,
// a duplicate is not processed again. The stored payload (WebhookReceived, served by
// GET /admin/webhook-events and GET /events) is the signed body with every JSON string member
// named `account_number`, at any depth, masked to its last four characters ("******7890"):
// Paystack's transfer webhooks carry the recipient's full account number. A masked payload no
// longer matches its signature; the dedupe key is computed from the event before masking. A body
// with no account number is stored byte for byte.
//
// Processing (process()) re-reads the stored delivery and acts on its kind:
//   charge.success            verify_transaction(reference) -> settle_transaction(); Paystack's
//                             verified amount and currency decide (a mismatch is flagged). A
//                             charge verify still calls unfinished is `failed`, so it is retried.
//                             A reference no checkout of ours recorded is `ignored`, whatever
//                             booking its metadata names (anyone with the public key can open a
//                             checkout): only reconciliation and a service or admin verify adopt
//                             one.
//   transfer.success/failed/reversed
//                             the payout whose id is the reference (payouts projection),
//                             verify_transfer(reference) -> RecordPayoutOutcome with the
//                             verified status. A success for a payout recorded failed (its
//                             money already back in the available balance) is logged as an
//                             error and `ignored` with that note, for an operator.
//   refund.*                  a prompt only: refund webhooks name the transaction and an amount,
//                             not which refund of ours (a retry has the same ones), so every open
//                             refund of that transaction is looked up at Paystack
//                             (check_refund_at_paystack(), as the outbox does) and what Paystack
//                             lists for it is recorded; `processed` when one was, or when every
//                             refund of the transaction is settled already; `ignored` when
//                             Paystack lists none yet (the outbox checks again) or the booking
//                             has no refund of it.
//   charge.dispute.*          create, remind and resolve alike: the dispute is fetched
//                             (GET /dispute/:id) and what Paystack has now is recorded with
//                             RecordChargeback on the booking of its transaction
//                             (service/chargebacks.h): opened (freezing held money), updated, or
//                             resolved, which settles the money (rule 6b). Paystack without an
//                             answer: `failed` and retried; a dispute Paystack does not know or
//                             whose transaction no booking has: `ignored`.
//   any other event           ignored with a note.
// A transfer whose verified amount differs from its payout's is `ignored` with that note, for an
// admin to look at. An unknown reference is `ignored`. A refusal that means "already so" (a dispute
// already open) is `processed`; another refusal is `ignored` with its code (retrying cannot change
// it). An operating error (Paystack unavailable, storage) is `failed` with its text and retried by
// the background loop (WebhookLog::due_for_retry) and from the console. Commands run as the system
// actor "paystack-webhook", caused by the delivery's event.
//
// Admin routes: GET /admin/webhook-events (admin, auditor; `page` from 1, `limit` 1..200,
// `event`, `processed` = received|processed|ignored|failed, `reference`, `from`/`to` ISO 8601 on
// the receipt time) answers {data: rows newest first, page, limit, total, counts per status};
// a row has id, event, reference, status, attempts, last_error, received_at, updated_at and the
// payload as a JSON object. GET /admin/webhook-events/:id (admin, auditor) answers one row;
// POST /admin/webhook-events/:id/retry (admin) processes it at once and answers the row after.
//
// Thread-safety: every public member may be called from any thread; process() calls are
// serialised, so a delivery is never processed by two threads at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>

#include "ledger/status.h"
#include "paystack/webhook.h"
#include "projections/webhook_log.h"
#include "service/context.h"
#include "service/worker.h"

namespace escrow::service {

class WebhookProcessor {
 public:
  // Delivery ids waiting to be processed (8 bytes each: a burst of a million costs 8 MiB); beyond
  // it a stored delivery is picked up by the retry pass once it has waited stuck_after.
  static constexpr size_t queue_max = 1u << 20;
  static constexpr int64_t retry_interval_ms_default = 5000;  // how often a retry pass runs
  static constexpr int retry_batch_max = 50;                  // deliveries per retry pass

  static constexpr int lanes_default = 8;  // as many as the Paystack client has connections

  struct Options {
    int64_t retry_interval_ms = retry_interval_ms_default;
    // Told each recorded outcome ("processed", "ignored", "failed"), for metrics. Optional.
    std::function<void(std::string_view outcome)> on_outcome;
    // Called after a delivery's command queued a payout or refund (the outbox's wake). Optional.
    std::function<void()> money_queued;
    // Deliveries processed at once, each on a thread of its own (their Paystack calls overlap).
    // Deliveries with the same reference are processed one at a time, in the order they came.
    int lanes = lanes_default;
  };

  WebhookProcessor(const Context& context, projections::WebhookLog& log, Options options);
  ~WebhookProcessor();  // stop()
  WebhookProcessor(const WebhookProcessor&) = delete;
  WebhookProcessor& operator=(const WebhookProcessor&) = delete;

  void start();  // idempotent
  void stop();   // idempotent; waits for the delivery being processed

  // Queues a freshly stored delivery for the workers; `reference` (the Paystack reference it is
  // about) orders it after every queued or running delivery with the same reference. False when
  // the queue is full: the delivery stays `received` and a retry pass processes it.
  bool enqueue(int64_t delivery_id, std::string_view reference);

  // Processes one stored delivery now and records its outcome. Not ok for an operating error
  // (recorded as `failed`, also returned) or an unknown delivery (not_found). A delivery being
  // processed on another thread is waited for first (one delivery is never processed twice at
  // once).
  Status process(int64_t delivery_id);

  // One retry pass over the deliveries WebhookLog says are due, oldest first; what the worker
  // runs every retry_interval_ms. The pass ends early at the first failure (the rest wait for
  // the next pass), when fresh deliveries are queued, or on stop(). Not ok when storage failed.
  // A pass that found a full batch and processed all of it is followed at once by another.
  Status retry_due();
  // Every queued delivery, then one retry pass, on the calling thread (escrow-sim's steps; the
  // worker does the same over time). Not ok when storage failed.
  Status run_once();

 private:
  struct Queued {
    int64_t delivery_id;
    std::string reference;
  };
  Status retry_due(bool* full_batch_done);
  // One queued delivery whose reference is not being processed, else a retry pass when due and
  // no other thread runs one; a worker thread's pass.
  int64_t pass();
  bool retry_pass_interrupted();  // stopping, or fresh deliveries waiting
  // The first queued delivery no running one shares its reference with (its reference is then
  // marked running); nullopt when none is. With mutex_ held.
  std::optional<Queued> take_runnable();

  Context context_;
  projections::WebhookLog& log_;
  Options options_;

  std::mutex mutex_;                         // guards the members below
  std::condition_variable processed_;        // a delivery left `processing_`
  std::unordered_set<int64_t> processing_;   // deliveries in process()
  std::unordered_set<std::string> running_;  // references of queued deliveries being processed
  std::deque<Queued> queue_;
  bool retry_running_ = false;
  std::chrono::steady_clock::time_point next_retry_;

  Worker worker_;  // last: its thread stops before the members above go
};

// Receiving one delivery (POST /webhooks/paystack, after its source and size checks): the
// signature is checked before anything is parsed; a verified delivery is stored with its account
// numbers masked (deduplicated by its dedupe key) and, when new, queued on `processor`.
struct Reception {
  std::optional<paystack::WebhookError> refused;  // bad signature or malformed: nothing stored
  projections::DeliveryRecord record;             // otherwise: stored, or a duplicate
};
// Not ok only for a storage error.
Result<Reception> receive_webhook(projections::WebhookLog& log, WebhookProcessor& processor,
                                  std::string_view secret_key, const std::string& body,
                                  std::string_view signature, const EventMeta& meta,
                                  std::string_view remote_address);
// The same without waiting for the commit: `done` gets the reception once, on this thread when
// nothing is stored (a refusal) or on the writer thread after the commit; it must be quick.
void receive_webhook(projections::WebhookLog& log, WebhookProcessor& processor,
                     std::string_view secret_key, const std::string& body,
                     std::string_view signature, const EventMeta& meta,
                     std::string_view remote_address, std::function<void(Result<Reception>)> done);

}  // namespace escrow::service
