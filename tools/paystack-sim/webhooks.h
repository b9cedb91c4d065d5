// The webhook sender: delivers each WebhookOut to the configured URL as Paystack does (POST,
// compact JSON body, `x-paystack-signature` = HMAC-SHA512 of the exact bytes with the secret
// key, Content-Type application/json), one delivery at a time, retrying any non-200 answer or
// connection error on a short schedule (0.2 s, 0.5 s, 1 s, 2 s, 5 s, then it gives up). It also
// plays the configured faults: delay, duplicates, shuffled order, drops. Every delivery and its
// attempts are kept for GET /_sim/state.
//
// The header names no Asio type beyond a forward declaration so that the router stays cheap to
// compile. Thread-safety: none; use from the io_context's single thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "json_out.h"
#include "state.h"
#include "webhook_queue.h"

namespace boost::asio {
class io_context;
}

namespace paystack_sim {

inline constexpr size_t kWebhookPendingMax = 10'000;
inline constexpr size_t kWebhookRecordsMax = 20'000;  // each keeps its body (~2 KiB)

class WebhookSender final : public WebhookQueue {
 public:
  WebhookSender(boost::asio::io_context& io, std::string secret_key);
  ~WebhookSender() override;
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues one webhook (plus config.webhook_duplicates copies), or records it as dropped.
  void enqueue(const WebhookOut& webhook, const SimConfig& config) override;
  // Queues again every webhook that was sent at least once; returns how many.
  size_t redeliver(const SimConfig& config) override;
  // Forgets every record and pending delivery; an attempt in flight is ignored when it ends.
  void reset() override;
  // A JSON array of the deliveries: event, reference, state, attempts, last_status, ...
  void write_records(JsonOut& out) const override;
  // Stops the dispatcher so that io_context::run can return.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace paystack_sim
