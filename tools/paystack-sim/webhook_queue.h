// WebhookQueue: where the router hands the webhooks it must send, and what the control API asks
// of the deliveries. The server's WebhookSender (webhooks.h) posts them over loopback HTTP;
// escrow-sim (tools/sim) keeps them in its own queue and delivers them when its schedule says.
// Thread-safety: as the implementation says; the router calls it from one thread.
#pragma once

#include <cstddef>

#include "json_out.h"
#include "state.h"

namespace paystack_sim {

class WebhookQueue {
 public:
  virtual ~WebhookQueue() = default;
  // Queues one webhook (plus config.webhook_duplicates copies), or records it as dropped.
  virtual void enqueue(const WebhookOut& webhook, const SimConfig& config) = 0;
  // Queues again every webhook that was sent at least once; returns how many.
  virtual size_t redeliver(const SimConfig& config) = 0;
  // Forgets every record and pending delivery.
  virtual void reset() = 0;
  // A JSON array of the deliveries: event, reference, state, attempts, last_status, ...
  virtual void write_records(JsonOut& out) const = 0;
};

}  // namespace paystack_sim
