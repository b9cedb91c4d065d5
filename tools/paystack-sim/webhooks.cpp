// The webhook sender (see webhooks.h): one dispatcher coroutine on the server's io_context picks
// the next due delivery (the oldest, or a random one when shuffling), POSTs it with Beast and
// records the outcome; failed attempts are rescheduled on a short, bounded retry schedule.
#include "webhooks.h"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <iostream>
#include <optional>
#include <vector>

#include "paystack/signature.h"
#include "util.h"

namespace paystack_sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Paystack retries for hours; the simulator compresses that into ten seconds (FACTS 12.6).
constexpr std::array<int64_t, 5> kRetryDelaysMs = {200, 500, 1000, 2000, 5000};
constexpr auto kAttemptTimeout = std::chrono::seconds(5);
// Shuffled deliveries wait this long so that several are due together and can be reordered.
constexpr int64_t kShuffleWindowMs = 200;
constexpr size_t kResponseBytesMax = 64 * 1024;
constexpr auto kIdleWait = std::chrono::hours(1);

enum class DeliveryState { queued, delivered, failed, dropped };

std::string_view state_name(DeliveryState s) {
  switch (s) {
    case DeliveryState::queued:
      return "queued";
    case DeliveryState::delivered:
      return "delivered";
    case DeliveryState::failed:
      return "failed";
    case DeliveryState::dropped:
      return "dropped";
  }
  return "queued";
}

struct Delivery {
  uint64_t id = 0;
  std::string event;
  std::string reference;
  std::string body;
  std::string signature;
  std::string url;
  int attempts = 0;
  std::optional<int> last_status;
  std::string last_error;
  DeliveryState state = DeliveryState::queued;
  bool duplicate = false;
  bool redelivery = false;
  bool shuffle = false;
  int64_t created_ms = 0;
  int64_t due_ms = 0;
};

struct Target {
  std::string host;  // as used to resolve (brackets stripped)
  std::string port;
  std::string host_header;
  std::string path;
};

std::optional<Target> parse_target(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) return std::nullopt;
  std::string_view rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Target t;
  t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  t.host_header = std::string(authority);
  t.port = "80";
  std::string_view host = authority;
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      t.port = std::string(authority.substr(close + 2));
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    t.port = std::string(authority.substr(colon + 1));
  }
  t.host = std::string(host);
  return t;
}

struct AttemptResult {
  std::optional<int> status;
  std::string error;
};

// One POST of `body` to `url`; the HTTP status, or the error that prevented one.
net::awaitable<AttemptResult> attempt(std::string url, std::string body, std::string signature) {
  auto target = parse_target(url);
  if (!target) co_return AttemptResult{std::nullopt, "bad webhook url"};
  auto executor = co_await net::this_coro::executor;
  auto use = net::as_tuple(net::use_awaitable);
  tcp::resolver resolver(executor);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(target->host, target->port, use);
  if (resolve_ec) co_return AttemptResult{std::nullopt, resolve_ec.message()};
  beast::tcp_stream stream(executor);
  stream.expires_after(kAttemptTimeout);
  auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, use);
  if (connect_ec) co_return AttemptResult{std::nullopt, connect_ec.message()};
  http::request<http::string_body> request{http::verb::post, target->path, 11};
  request.set(http::field::host, target->host_header);
  request.set(http::field::user_agent, "Paystack/2.0 (paystack-sim)");
  request.set(http::field::content_type, "application/json");
  request.set("x-paystack-signature", signature);
  request.keep_alive(false);
  request.body() = std::move(body);
  request.prepare_payload();
  auto [write_ec, written] = co_await http::async_write(stream, request, use);
  if (write_ec) co_return AttemptResult{std::nullopt, write_ec.message()};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kResponseBytesMax);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use);
  if (read_ec) co_return AttemptResult{std::nullopt, read_ec.message()};
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return AttemptResult{static_cast<int>(parser.get().result_int()), ""};
}

}  // namespace

struct WebhookSender::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::io_context& io, std::string secret_key)
      : io_(io), secret_(std::move(secret_key)), wake_(io) {}

  net::io_context& io_;
  std::string secret_;
  net::steady_timer wake_;
  std::deque<Delivery> records_;  // ids first_id_, first_id_ + 1, ...
  uint64_t first_id_ = 1;
  std::vector<uint64_t> pending_;  // ids of queued deliveries
  uint64_t generation_ = 0;
  uint64_t in_flight_ = 0;
  bool running_ = false;
  bool stopped_ = false;

  Delivery* find(uint64_t id) {
    if (id < first_id_ || id - first_id_ >= records_.size()) return nullptr;
    return &records_[id - first_id_];
  }

  void add(Delivery d) {
    d.id = first_id_ + records_.size();
    d.created_ms = now_ms();
    if (d.state == DeliveryState::queued) {
      if (pending_.size() >= kWebhookPendingMax) {
        d.state = DeliveryState::failed;
        d.last_error = "pending queue full";
      } else {
        pending_.push_back(d.id);
      }
    }
    records_.push_back(std::move(d));
    // Forget the oldest finished deliveries beyond the bound.
    while (records_.size() > kWebhookRecordsMax &&
           records_.front().state != DeliveryState::queued && records_.front().id != in_flight_) {
      records_.pop_front();
      ++first_id_;
    }
    start();
    wake_.cancel();
  }

  void start() {
    if (running_ || stopped_) return;
    running_ = true;
    net::co_spawn(io_, run(shared_from_this()), net::detached);
  }

  // The next due delivery, or nullopt and the time of the earliest one in `earliest_ms`.
  // Once something is due, a shuffled pick draws among the due deliveries and every shuffled
  // one that falls due within the next window (they were queued a window late on purpose, so
  // none goes out before its configured delay), so their order is really mixed.
  std::optional<uint64_t> pick(int64_t* earliest_ms) {
    const int64_t now = now_ms();
    std::vector<uint64_t> due, candidates;
    *earliest_ms = INT64_MAX;
    for (uint64_t id : pending_) {
      const Delivery* d = find(id);
      if (!d) continue;
      if (d->due_ms <= now) due.push_back(id);
      if (d->shuffle && d->due_ms - kShuffleWindowMs <= now) candidates.push_back(id);
      *earliest_ms = std::min(*earliest_ms, d->due_ms);
    }
    if (due.empty()) return std::nullopt;
    for (uint64_t id : due)
      if (!find(id)->shuffle) candidates.push_back(id);
    if (!candidates.empty() &&
        std::any_of(due.begin(), due.end(), [&](uint64_t id) { return find(id)->shuffle; }))
      return candidates[random_below(candidates.size())];
    return *std::min_element(due.begin(), due.end(), [&](uint64_t a, uint64_t b) {
      return std::pair(find(a)->due_ms, a) < std::pair(find(b)->due_ms, b);
    });
  }

  void record(uint64_t id, const AttemptResult& result) {
    Delivery* d = find(id);
    if (!d) return;
    ++d->attempts;
    d->last_status = result.status;
    d->last_error = result.error;
    if (result.status == 200) {
      d->state = DeliveryState::delivered;
    } else if (static_cast<size_t>(d->attempts) > kRetryDelaysMs.size()) {
      d->state = DeliveryState::failed;
    } else {
      d->due_ms = now_ms() + kRetryDelaysMs[static_cast<size_t>(d->attempts) - 1];
    }
    if (d->state != DeliveryState::queued) std::erase(pending_, id);
    std::cerr << "paystack-sim: webhook " << d->event << " " << d->reference << " attempt "
              << d->attempts << " -> "
              << (result.status ? std::to_string(*result.status) : result.error) << "\n";
  }

  static net::awaitable<void> run(std::shared_ptr<Impl> self) {
    while (!self->stopped_) {
      int64_t earliest = 0;
      auto id = self->pick(&earliest);
      if (!id) {
        if (earliest == INT64_MAX) {
          self->wake_.expires_after(kIdleWait);
        } else {
          self->wake_.expires_after(
              std::chrono::milliseconds(std::max<int64_t>(0, earliest - now_ms())));
        }
        co_await self->wake_.async_wait(net::as_tuple(net::use_awaitable));
        continue;
      }
      const Delivery& d = *self->find(*id);
      const uint64_t generation = self->generation_;
      self->in_flight_ = *id;
      AttemptResult result = co_await attempt(d.url, d.body, d.signature);
      self->in_flight_ = 0;
      if (generation == self->generation_) self->record(*id, result);
    }
    self->running_ = false;
  }
};

WebhookSender::WebhookSender(net::io_context& io, std::string secret_key)
    : impl_(std::make_shared<Impl>(io, std::move(secret_key))) {}

WebhookSender::~WebhookSender() {
  stop();
}

void WebhookSender::enqueue(const WebhookOut& webhook, const SimConfig& config) {
  Delivery d;
  d.event = webhook.event;
  d.reference = webhook.reference;
  d.body = webhook.body;
  d.signature = escrow::paystack::sign_webhook(impl_->secret_, webhook.body);
  d.url = config.webhook_url;
  d.shuffle = config.webhook_shuffle;
  d.due_ms = now_ms() + config.webhook_delay_ms + (config.webhook_shuffle ? kShuffleWindowMs : 0);
  if (config.webhook_drop_rate > 0 && random_unit() < config.webhook_drop_rate) {
    d.state = DeliveryState::dropped;  // listed, never sent
    impl_->add(std::move(d));
    return;
  }
  for (int copy = 0; copy <= config.webhook_duplicates; ++copy) {
    Delivery c = d;
    c.duplicate = copy > 0;
    impl_->add(std::move(c));
  }
}

size_t WebhookSender::redeliver(const SimConfig& config) {
  std::vector<Delivery> again;
  for (const auto& d : impl_->records_) {
    if (d.attempts > 0 && !d.duplicate && !d.redelivery) again.push_back(d);
  }
  for (auto& d : again) {
    d.attempts = 0;
    d.last_status.reset();
    d.last_error.clear();
    d.state = DeliveryState::queued;
    d.redelivery = true;
    d.url = config.webhook_url;
    d.shuffle = config.webhook_shuffle;
    d.due_ms = now_ms() + config.webhook_delay_ms + (d.shuffle ? kShuffleWindowMs : 0);
    impl_->add(std::move(d));
  }
  return again.size();
}

void WebhookSender::reset() {
  impl_->first_id_ += impl_->records_.size();
  impl_->records_.clear();
  impl_->pending_.clear();
  ++impl_->generation_;
  impl_->wake_.cancel();
}

void WebhookSender::write_records(JsonOut& out) const {
  out.begin_array();
  for (const auto& d : impl_->records_) {
    out.begin_object().kuint("id", d.id).kstr("event", d.event).kstr("reference", d.reference);
    out.kstr("state", state_name(d.state)).kint("attempts", d.attempts);
    out.kopt_int("last_status",
                 d.last_status ? std::optional<int64_t>(*d.last_status) : std::nullopt);
    out.kstr("last_error", d.last_error).kbool("duplicate", d.duplicate);
    out.kbool("redelivery", d.redelivery).kstr("created_at", iso_time(d.created_ms));
    out.kstr("body", d.body).end_object();
  }
  out.end_array();
}

void WebhookSender::stop() {
  impl_->stopped_ = true;
  impl_->wake_.cancel();
}

}  // namespace paystack_sim
