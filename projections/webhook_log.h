// WebhookLog: every accepted Paystack delivery stored as an event of the `paystack-webhooks`
// stream (raw payload), deduplicated, and the outcome of every attempt to process it (DESIGN
// section 6), with the webhook_deliveries projection (schema/0004_webhooks.sql) the admin console
// and the retry scheduler read.
//
// Contract:
// - A delivery's id is the global seq of its WebhookReceived event.
// - record() stores a delivery unless one with the same dedupe_key is stored. The check runs in
//   the writer's transaction, so two identical deliveries racing each other store one event and
//   one row; the other learns the id of the stored one.
// - record_outcome() appends a WebhookProcessed numbered attempt = attempts so far + 1 and
//   updates the row; two outcomes recorded at once for one delivery get attempts n+1 and n+2.
// - Every row is written in the same transaction as its event, by LiveProjections, and rebuilt
//   and verified with the other projections (rebuild.h), projection name `webhooks`.
// - Reads take any connection (read-only is enough) and see what it sees.
//
// Thread-safety: record() and record_outcome() may be called from any thread; the static reads
// use only the connection they are given.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/events.h"
#include "ledger/status.h"
#include "ledger/store/event_store.h"
#include "ledger/store/sqlite.h"
#include "projections/live.h"
#include "projections/tables.h"  // DeliveryRow: one row of webhook_deliveries

namespace escrow::projections {

struct WebhookDelivery {
  std::string event;           // Paystack's `event`; required
  std::string dedupe_key;      // the same for every redelivery of one delivery; required
  std::string reference;       // what it concerns; may be empty
  std::string payload;         // the raw body exactly as received
  std::string remote_address;  // the peer
};

struct DeliveryRecord {
  int64_t id = 0;
  bool duplicate = false;  // already stored under this dedupe_key: nothing was appended
};

enum class WebhookOutcome { processed, ignored, failed };
const char* webhook_outcome_name(WebhookOutcome outcome);  // "processed" | "ignored" | "failed"

struct DeliveryFilter {
  std::optional<std::string> event, status, reference;
  std::optional<int64_t> from_ms, to_ms;  // received_at_ms in [from_ms, to_ms)
  int64_t limit = 50;                     // 1..WebhookLog::list_limit_max
  int64_t offset = 0;                     // >= 0
};

struct DeliveryPage {
  std::vector<DeliveryRow> rows;  // newest first
  int64_t total = 0;              // rows matching the filter, over all pages
  // Per status (received, processed, ignored, failed, each present), of the rows matching the
  // filter without its status: what a console shows on its status tabs.
  std::map<std::string, int64_t> counts_by_status;
};

class WebhookLog {
 public:
  static constexpr int64_t list_limit_max = 500;
  static constexpr int64_t retry_backoff_first_ms = 30'000;   // doubled for every failed attempt
  static constexpr int64_t retry_backoff_max_ms = 3'600'000;  // ... up to an hour
  static constexpr int64_t stuck_received_after_ms = 60'000;  // received, never processed
  static constexpr int outcome_attempts_max = 8;              // record_outcome() append attempts

  WebhookLog(EventStore& store, LiveProjections& projections);

  // Appends WebhookReceived unless a delivery with the same dedupe_key is stored: then returns
  // {its id, true} and appends nothing. invalid_argument without an event or a dedupe_key.
  Result<DeliveryRecord> record(const WebhookDelivery& delivery, const EventMeta& meta);
  // The same without waiting: `done` gets the outcome once, on the writer thread after the
  // commit (or on this one when refused before queueing); it must be quick.
  void record(const WebhookDelivery& delivery, const EventMeta& meta,
              std::function<void(Result<DeliveryRecord>)> done);

  // Appends WebhookProcessed (attempt = attempts so far + 1) and updates the row. not_found for
  // an unknown delivery.
  Status record_outcome(int64_t delivery_id, WebhookOutcome outcome, std::string_view detail,
                        const EventMeta& meta);

  static Result<std::optional<DeliveryRow>> find(sqlite::Db& db, int64_t id);
  // invalid_argument for a limit outside 1..list_limit_max or a negative offset.
  static Result<DeliveryPage> list(sqlite::Db& db, const DeliveryFilter& filter);

  // Deliveries due for an automatic retry, oldest first, at most `limit`: failed ones with fewer
  // than `attempts_max` attempts whose backoff (30 s * 2^(attempts-1), at most 1 h) has passed
  // since the last attempt, and ones still `received` more than 60 s after they arrived (the
  // process stopped before processing them).
  static Result<std::vector<int64_t>> due_for_retry(sqlite::Db& db, int64_t now_ms, int limit,
                                                    int attempts_max = 8);

 private:
  Result<int> attempts_now(int64_t delivery_id);

  EventStore& store_;
  LiveProjections& projections_;
  std::mutex readers_mutex_;
  std::vector<sqlite::Db> readers_;  // idle read-only connections for attempts_now()
};

}  // namespace escrow::projections
