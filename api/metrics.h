// Metrics: counters and histograms of what escrowd does, rendered in the Prometheus text
// exposition format 0.0.4 for GET /metrics.
//
// Families:
//   escrow_http_requests_total{method,route,status}          counter
//   escrow_http_request_duration_seconds{method,route}       histogram (http_duration_buckets_us)
//   escrow_webhooks_total{outcome}                           counter
//   escrow_paystack_calls_total{endpoint,outcome}            counter
//   escrow_notifications_total{outcome}                      counter
// and, from a Gauges snapshot read at scrape time:
//   escrow_events_appended_total        counter: events committed by this process
//   escrow_event_log_last_seq           gauge: seq of the newest event in the log
//   escrow_outbox_depth                 gauge: payouts and refunds queued, not yet sent
//   escrow_escrow_held_minor{currency}  gauge: money held in escrow, in the currency's subunit
//   escrow_store_failed                 gauge: 1 when a commit failed and writes are refused
// Label cardinality stays bounded: `route` is the matched pattern (never the raw path), methods
// outside the standard set are counted as "OTHER", and the other labels come from code.
//
// Thread-safety: every method may be called from any thread. Recording an observation takes a
// shared lock to find its series (an exclusive one only the first time a series is seen) and
// then increments atomics.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"
#include "ledger/store/event_store.h"
#include "projections/queries.h"

namespace escrow::api {

// Upper bounds of the request duration buckets, in microseconds (1 ms .. 10 s); +Inf is implied.
inline constexpr std::array<int64_t, 13> http_duration_buckets_us = {
    1'000,   2'500,   5'000,     10'000,    25'000,    50'000,    100'000,
    250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

struct Gauges {
  int64_t events_appended = 0;  // EventStore::stats().events
  int64_t last_seq = 0;         // EventStore::last_seq()
  int64_t outbox_depth = 0;     // payouts + refunds with status queued
  std::vector<std::pair<std::string, int64_t>> escrow_held_by_currency;  // sorted by currency
  bool store_failed = false;
};

// Reads the gauges: the store's counters, and the outbox depth and escrow held from the
// projection tables (in one snapshot).
Result<Gauges> read_gauges(projections::Queries& queries, const EventStore& store);

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void observe_request(std::string_view method, std::string_view route, int status, int64_t micros);
  void count_webhook(std::string_view outcome);
  void count_paystack_call(std::string_view endpoint, std::string_view outcome);
  void count_notification(std::string_view outcome);

  std::string render(const Gauges& gauges) const;

 private:
  class Counters;
  class Histograms;
  std::unique_ptr<Counters> requests_, webhooks_, paystack_calls_, notifications_;
  std::unique_ptr<Histograms> durations_;
};

// Prometheus label value escaping: backslash, double quote and line feed.
std::string escape_label_value(std::string_view value);
// 2'500'000 -> "2.5", 1'000 -> "0.001", 0 -> "0": exact decimal seconds, no floating point.
std::string format_seconds(int64_t micros);

}  // namespace escrow::api
