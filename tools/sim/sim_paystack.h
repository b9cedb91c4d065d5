// SimPaystack: tools/paystack-sim's books and router run in-process for escrow-sim, behind the
// HttpTransport the Paystack client already speaks through, with the network's faults.
//
// - send() is what the service's Paystack client calls. Each call may be refused before it
//   reaches Paystack (a connection error), answered 5xx before any change, answered slowly (the
//   simulated clock moves on), or carried out with its answer lost (a timeout after Paystack
//   acted): in `faults`, drawn from the simulation's random source.
// - control() is the simulator's /_sim/ API (customers paying, banks deciding chargebacks,
//   behaviour switches); it never fails.
// - Webhooks Paystack sends are kept in a queue instead of being posted: the simulation delivers
//   them when its schedule says, duplicated, dropped, late or out of order. Follow-ups (a pending
//   transfer settling, a refund advancing) run when the simulated clock reaches them.
//
// Deterministic: the same calls in the same order with the same random source give the same
// answers, codes and webhooks (paystack-sim's clock and codes are the simulation's).
// Thread-safety: none; the simulation's one thread drives it (the event store's writer never
// calls Paystack).
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/clock.h"
#include "net/http_client.h"
#include "rng.h"
#include "routes.h"
#include "state.h"
#include "webhook_queue.h"

namespace escrow::sim {

struct NetworkFaults {
  double refused = 0;       // nothing reaches Paystack (connection refused)
  double server_error = 0;  // 500/502/503 before any state change
  double lost_answer = 0;   // Paystack acted; the answer never came (a timeout)
  double slow = 0;          // the answer takes 1-20 s of simulated time
  bool any() const { return refused > 0 || server_error > 0 || lost_answer > 0 || slow > 0; }
};

struct PendingWebhook {
  std::string event, reference, body;
  int64_t due_ms = 0;
};

class SimPaystack final : public net::HttpTransport, public paystack_sim::WebhookQueue {
 public:
  SimPaystack(ManualClock& clock, Rng& rng, std::string secret_key);

  Result<net::HttpResponse> send(const net::HttpRequest& request) override;
  paystack_sim::HttpResponse control(const std::string& method, const std::string& target,
                                     const std::string& body = "{}");
  // GET /_sim/state as a document: transactions, transfers, refunds, disputes, balance, ...
  rapidjson::Document state_json();

  // paystack_sim::WebhookQueue: the router's webhooks land here.
  void enqueue(const paystack_sim::WebhookOut& webhook,
               const paystack_sim::SimConfig& config) override;
  size_t redeliver(const paystack_sim::SimConfig& config) override;
  void reset() override;
  void write_records(paystack_sim::JsonOut& out) const override;

  std::vector<PendingWebhook>& webhooks() { return webhooks_; }      // not yet delivered
  const std::vector<PendingWebhook>& sent() const { return sent_; }  // every webhook ever made
  void run_due_follow_ups();  // every follow-up whose time has come, in time order
  bool follow_ups_pending() const { return !follow_ups_.empty(); }
  int64_t next_follow_up_ms() const;  // of the earliest; only when follow_ups_pending()

  NetworkFaults faults;
  struct Stats {
    uint64_t calls = 0, refused = 0, server_errors = 0, lost_answers = 0, slow = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct FollowUp {
    int64_t due_ms = 0;
    uint64_t order = 0;
    paystack_sim::FollowUp follow_up;
  };
  void apply(paystack_sim::Effects effects);

  ManualClock& clock_;
  Rng& rng_;
  std::string secret_key_;
  paystack_sim::SimState state_;
  paystack_sim::Router router_;
  std::vector<PendingWebhook> webhooks_, sent_;
  std::vector<FollowUp> follow_ups_;
  uint64_t order_ = 0;
  Stats stats_;
};

}  // namespace escrow::sim
