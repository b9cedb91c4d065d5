// The in-process simulated Paystack; see sim_paystack.h.
#include "sim_paystack.h"

#include <algorithm>

#include "json_out.h"
#include "util.h"

namespace escrow::sim {

namespace {

const char* method_name(net::HttpMethod method) {
  switch (method) {
    case net::HttpMethod::get:
      return "GET";
    case net::HttpMethod::post:
      return "POST";
    case net::HttpMethod::put:
      return "PUT";
  }
  return "GET";
}

constexpr int server_error_statuses[] = {500, 502, 503};

}  // namespace

SimPaystack::SimPaystack(ManualClock& clock, Rng& rng, std::string secret_key)
    : clock_(clock),
      rng_(rng),
      secret_key_(std::move(secret_key)),
      state_(paystack_sim::SimOptions{"http://127.0.0.1:9", paystack_sim::kOpeningBalanceDefault,
                                      "http://127.0.0.1:9/webhooks/paystack"}),
      router_(state_, *this, secret_key_) {}

Result<net::HttpResponse> SimPaystack::send(const net::HttpRequest& request) {
  ++stats_.calls;
  if (rng_.chance(faults.refused)) {
    ++stats_.refused;
    return Status(StatusCode::io_error, "connection refused (simulated)");
  }
  if (rng_.chance(faults.server_error)) {
    ++stats_.server_errors;
    int status = server_error_statuses[rng_.below(3)];
    return net::HttpResponse{status, R"({"status":false,"message":"Server error"})", {}};
  }
  paystack_sim::HttpRequest in;
  in.method = method_name(request.method);
  in.target = request.target;
  in.authorization = "Bearer " + secret_key_;
  in.content_type = "application/json";
  in.body = request.body;
  paystack_sim::HttpResponse out = router_.handle(in);
  apply(std::move(out.effects));
  if (rng_.chance(faults.slow)) {
    ++stats_.slow;
    clock_.advance_ms(rng_.between(1'000, 20'000));
  }
  if (rng_.chance(faults.lost_answer)) {
    ++stats_.lost_answers;
    return Status(StatusCode::io_error, "timeout after the request was sent (simulated)");
  }
  return net::HttpResponse{out.status, std::move(out.body), {{"content-type", out.content_type}}};
}

paystack_sim::HttpResponse SimPaystack::control(const std::string& method,
                                                const std::string& target,
                                                const std::string& body) {
  paystack_sim::HttpRequest in;
  in.method = method;
  in.target = target;
  in.content_type = "application/json";
  in.body = body;
  paystack_sim::HttpResponse out = router_.handle(in);
  apply(std::move(out.effects));
  return out;
}

rapidjson::Document SimPaystack::state_json() {
  paystack_sim::HttpResponse out = control("GET", "/_sim/state");
  rapidjson::Document doc;
  doc.Parse(out.body.data(), out.body.size());
  return doc;
}

void SimPaystack::enqueue(const paystack_sim::WebhookOut& webhook, const paystack_sim::SimConfig&) {
  PendingWebhook pending{webhook.event, webhook.reference, webhook.body, clock_.now_ms()};
  webhooks_.push_back(pending);
  sent_.push_back(std::move(pending));
}

size_t SimPaystack::redeliver(const paystack_sim::SimConfig&) {
  for (const PendingWebhook& w : sent_) webhooks_.push_back(w);
  return sent_.size();
}

void SimPaystack::reset() {
  webhooks_.clear();
  sent_.clear();
}

void SimPaystack::write_records(paystack_sim::JsonOut& out) const {
  out.begin_array();
  for (const PendingWebhook& w : sent_) {
    out.begin_object().kstr("event", w.event).kstr("reference", w.reference).end_object();
  }
  out.end_array();
}

void SimPaystack::apply(paystack_sim::Effects effects) {
  for (const auto& webhook : effects.webhooks) enqueue(webhook, state_.config());
  for (const auto& follow_up : effects.follow_ups) {
    follow_ups_.push_back(FollowUp{clock_.now_ms() + follow_up.delay_ms, order_++, follow_up});
  }
}

int64_t SimPaystack::next_follow_up_ms() const {
  int64_t next = follow_ups_.front().due_ms;
  for (const FollowUp& f : follow_ups_) next = std::min(next, f.due_ms);
  return next;
}

void SimPaystack::run_due_follow_ups() {
  for (;;) {
    auto due = follow_ups_.end();
    for (auto it = follow_ups_.begin(); it != follow_ups_.end(); ++it) {
      if (it->due_ms > clock_.now_ms()) continue;
      if (due == follow_ups_.end() || it->due_ms < due->due_ms ||
          (it->due_ms == due->due_ms && it->order < due->order))
        due = it;
    }
    if (due == follow_ups_.end()) return;
    paystack_sim::FollowUp follow_up = due->follow_up;
    follow_ups_.erase(due);
    apply(state_.run_follow_up(follow_up));
  }
}

}  // namespace escrow::sim
