// Outbound notifications (DESIGN section 5): signed POSTs to ESCROW_NOTIFY_URL for the events the
// marketplace must act on.
//
// The event log is the outbox. The notifier scans the log after its cursor and derives one
// notification from each event of these types (the event's seq gives it the id `ntf_<seq>`):
//   PaymentCaptured -> payment.held (one per captured installment; `data.installment` says which:
//     a split plan sends one for the deposit and one for the balance. A capture that is refunded
//     at once, a duplicate or late payment, is followed by refund.processed)
//   ProofSubmitted -> completion.requested (the client must confirm or dispute)
//   AutoConfirmed -> booking.auto_confirmed      FundsReleased -> funds.released
//   PayoutSucceeded -> payout.paid               PayoutFailed -> payout.failed
//   PayoutReversed -> payout.reversed            PayoutAwaitingOtp -> payout.awaiting_otp
//   DisputeOpened -> dispute.opened              DisputeResolved -> dispute.resolved
//   RefundProcessed -> refund.processed          RefundFailed -> refund.failed
//   PaymentFlagged -> payment.flagged            PaymentFailed -> payment.failed
//   BookingCancelled -> booking.cancelled        BookingExpired -> booking.expired
//   WithdrawalRequested -> withdrawal.requested  RefundUpdated (needs_attention) ->
//   refund.needs_attention ChargebackOpened -> chargeback.opened        ChargebackResolved ->
//   chargeback.resolved
// The new notifications and the advanced cursor are written in one transaction (schema 0005), so
// none is lost or derived twice. On its first start the cursor is set to the end of the log:
// notifications begin when they are switched on, history is not replayed.
//
// Body (JSON): {"id":"ntf_42","type":"funds.released","created_at":"<ISO 8601 of the event>",
//   "booking_id":"...","client_id":"...","provider_id":"...","seq":42,"data":{...the event's data
//   as stored...}} (booking_id and client_id for every event of a booking, provider_id for every
//   event of a booking or a provider). Headers: Content-Type
// application/json, X-Escrow-Signature `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
// keyed with ESCROW_NOTIFY_SECRET; receivers should check it and refuse old timestamps.
//
// Delivery is at least once: a 2xx answer marks a notification delivered; anything else (another
// status, a timeout, a refused connection) is retried after 1 s * 2^(attempts - 1), capped at
// 10 minutes, without limit on the number of attempts (each is counted, with the last error, in
// the `notifications` table). A delivery whose answer was lost is sent again, so receivers must
// deduplicate by `id`. Order is not guaranteed across retries; `seq` gives the order of events.
// Transport: net::HttpClient (https with certificate checks; plain http only to loopback).
//
// Thread-safety: run_once() and the background thread exclude each other; start()/stop() are
// for one owner thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/clock.h"
#include "ledger/status.h"
#include "net/http_client.h"

namespace escrow::service {

inline constexpr int64_t notify_backoff_ms_min = 1000;
inline constexpr int64_t notify_backoff_ms_max = 10 * 60 * 1000;
inline constexpr int64_t notify_scan_events_max = 1000;  // events read per scan
inline constexpr int64_t notify_deliveries_max = 100;    // POSTs per run_once
inline constexpr int notify_connect_timeout_ms = 5'000;
inline constexpr int notify_request_timeout_ms = 10'000;

class Notifier {
 public:
  struct Options {
    std::string url;      // https://..., or http:// to a loopback host
    std::string secret;   // the HMAC key; never logged
    std::string db_path;  // the service's database (migrated)
    int64_t poll_interval_ms = 500;
    // Where the POSTs go instead of an HttpClient to `url` (whose path is still the target):
    // escrow-sim's simulated receiver. Empty in escrowd.
    std::shared_ptr<net::HttpTransport> transport;
  };

  // Opens its own connections to the database and the HTTP client; sends nothing yet.
  // `on_attempt` (optional) is told the outcome of every delivery attempt: "delivered",
  // "http_error" (a non-2xx answer) or "transport_error", for metrics.
  static Result<std::unique_ptr<Notifier>> open(
      Options options, const Clock& clock,
      std::function<void(std::string_view outcome)> on_attempt = {});
  ~Notifier();  // stops the thread

  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void start();  // a background thread: run_once() every poll_interval_ms
  void stop();   // idempotent; waits for the attempt in progress

  // Scans the events after the cursor, then POSTs the due notifications (oldest first, at most
  // notify_deliveries_max; a round stops at the first failure, the receiver being likely down).
  // A failed delivery is not an error here: it is recorded and retried. Errors are storage ones.
  Status run_once();

  struct Impl;

 private:
  explicit Notifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "t=<unix_s>,v1=<lowercase hex HMAC-SHA256(secret, "<unix_s>.<body>")>".
std::string notify_signature(std::string_view secret, int64_t unix_s, std::string_view body);

}  // namespace escrow::service
