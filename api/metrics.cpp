// Counters, histograms and the Prometheus text format; see metrics.h.
#include "api/metrics.h"

#include <algorithm>
#include <atomic>
#include <initializer_list>
#include <map>
#include <mutex>
#include <shared_mutex>

namespace escrow::api {

namespace {

constexpr size_t bucket_count = http_duration_buckets_us.size();

std::string_view known_method(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
    if (method == known) return known;
  return "OTHER";
}

// Series of one metric family, keyed by their label values. std::map keeps the rendering
// order stable; entries are never removed, so a reference to a value stays valid.
template <class Value>
class Family {
 public:
  explicit Family(std::vector<std::string> label_names) : label_names_(std::move(label_names)) {}

  Value& series(std::initializer_list<std::string_view> labels) {
    std::string key;
    for (std::string_view label : labels) {
      key += label;
      key += '\x1f';
    }
    {
      std::shared_lock lock(mutex_);
      auto found = series_.find(key);
      if (found != series_.end()) return found->second->value;
    }
    std::unique_lock lock(mutex_);
    auto [at, inserted] = series_.try_emplace(std::move(key));
    if (inserted) {
      at->second = std::make_unique<Entry>();
      for (std::string_view label : labels) at->second->labels.emplace_back(label);
    }
    return at->second->value;
  }

  // f(labels text such as `method="GET",route="/x"`, value) for every series, in key order.
  template <class F>
  void for_each(F f) const {
    std::shared_lock lock(mutex_);
    for (const auto& [key, entry] : series_) f(label_text(entry->labels), entry->value);
  }

 private:
  struct Entry {
    std::vector<std::string> labels;
    Value value{};
  };
  std::string label_text(const std::vector<std::string>& values) const {
    std::string out;
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      out += label_names_[i] + "=\"" + escape_label_value(values[i]) + '"';
    }
    return out;
  }

  std::vector<std::string> label_names_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::unique_ptr<Entry>> series_;
};

struct Histogram {
  // Observations per bucket (not cumulative); the last slot counts those above every bound.
  std::array<std::atomic<uint64_t>, bucket_count + 1> buckets{};
  std::atomic<int64_t> sum_us{0};
};

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels,
            std::string_view value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(value).append("\n");
}

}  // namespace

class Metrics::Counters : public Family<std::atomic<uint64_t>> {
  using Family::Family;
};
class Metrics::Histograms : public Family<Histogram> {
  using Family::Family;
};

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_seconds(int64_t micros) {
  std::string out = micros < 0 ? "-" : "";
  uint64_t magnitude =
      micros < 0 ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  out += std::to_string(magnitude / 1'000'000);
  std::string fraction = std::to_string(magnitude % 1'000'000);
  fraction.insert(0, 6 - fraction.size(), '0');
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

Metrics::Metrics()
    : requests_(std::make_unique<Counters>(std::vector<std::string>{"method", "route", "status"})),
      webhooks_(std::make_unique<Counters>(std::vector<std::string>{"outcome"})),
      paystack_calls_(std::make_unique<Counters>(std::vector<std::string>{"endpoint", "outcome"})),
      notifications_(std::make_unique<Counters>(std::vector<std::string>{"outcome"})),
      durations_(std::make_unique<Histograms>(std::vector<std::string>{"method", "route"})) {}

Metrics::~Metrics() = default;

void Metrics::observe_request(std::string_view method, std::string_view route, int status,
                              int64_t micros) {
  std::string_view m = known_method(method);
  requests_->series({m, route, std::to_string(status)}).fetch_add(1, std::memory_order_relaxed);
  micros = std::max<int64_t>(micros, 0);
  Histogram& h = durations_->series({m, route});
  size_t slot = static_cast<size_t>(
      std::lower_bound(http_duration_buckets_us.begin(), http_duration_buckets_us.end(), micros) -
      http_duration_buckets_us.begin());
  h.buckets[slot].fetch_add(1, std::memory_order_relaxed);
  h.sum_us.fetch_add(micros, std::memory_order_relaxed);
}

void Metrics::count_webhook(std::string_view outcome) {
  webhooks_->series({outcome}).fetch_add(1, std::memory_order_relaxed);
}

void Metrics::count_paystack_call(std::string_view endpoint, std::string_view outcome) {
  paystack_calls_->series({endpoint, outcome}).fetch_add(1, std::memory_order_relaxed);
}

void Metrics::count_notification(std::string_view outcome) {
  notifications_->series({outcome}).fetch_add(1, std::memory_order_relaxed);
}

namespace {

void render_counters(std::string& out, const Family<std::atomic<uint64_t>>& family,
                     std::string_view name, std::string_view help) {
  header(out, name, "counter", help);
  family.for_each([&](const std::string& labels, const std::atomic<uint64_t>& value) {
    sample(out, name, labels, std::to_string(value.load(std::memory_order_relaxed)));
  });
}

// Buckets are cumulative; +Inf and _count are the same total, so they always agree.
void render_histograms(std::string& out, const Family<Histogram>& family, std::string_view name,
                       std::string_view help) {
  header(out, name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  family.for_each([&](const std::string& labels, const Histogram& h) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bucket_count; ++i) {
      cumulative += h.buckets[i].load(std::memory_order_relaxed);
      std::string le = i < bucket_count ? format_seconds(http_duration_buckets_us[i]) : "+Inf";
      sample(out, bucket, labels + ",le=\"" + le + '"', std::to_string(cumulative));
    }
    sample(out, std::string(name) + "_sum", labels,
           format_seconds(h.sum_us.load(std::memory_order_relaxed)));
    sample(out, std::string(name) + "_count", labels, std::to_string(cumulative));
  });
}

void render_gauges(std::string& out, const Gauges& gauges) {
  header(out, "escrow_events_appended_total", "counter", "Events committed by this process.");
  sample(out, "escrow_events_appended_total", "", std::to_string(gauges.events_appended));
  header(out, "escrow_event_log_last_seq", "gauge", "Seq of the newest event in the log.");
  sample(out, "escrow_event_log_last_seq", "", std::to_string(gauges.last_seq));
  header(out, "escrow_outbox_depth", "gauge", "Payouts and refunds queued and not yet sent.");
  sample(out, "escrow_outbox_depth", "", std::to_string(gauges.outbox_depth));
  header(out, "escrow_escrow_held_minor", "gauge",
         "Money held in escrow, in the currency's subunit.");
  for (const auto& [currency, held] : gauges.escrow_held_by_currency)
    sample(out, "escrow_escrow_held_minor", "currency=\"" + escape_label_value(currency) + '"',
           std::to_string(held));
  header(out, "escrow_store_failed", "gauge",
         "1 when a commit failed and the store refuses writes until restarted.");
  sample(out, "escrow_store_failed", "", gauges.store_failed ? "1" : "0");
}

}  // namespace

std::string Metrics::render(const Gauges& gauges) const {
  std::string out;
  render_counters(out, *requests_, "escrow_http_requests_total",
                  "HTTP requests answered, by method, route pattern and status.");
  render_histograms(out, *durations_, "escrow_http_request_duration_seconds",
                    "Time from reading a request to having its response, by route pattern.");
  render_counters(out, *webhooks_, "escrow_webhooks_total",
                  "Paystack webhook deliveries, by outcome.");
  render_counters(out, *paystack_calls_, "escrow_paystack_calls_total",
                  "Calls to the Paystack API, by endpoint and outcome.");
  render_counters(out, *notifications_, "escrow_notifications_total",
                  "Outbound notifications sent to the marketplace, by outcome.");
  render_gauges(out, gauges);
  return out;
}

Result<Gauges> read_gauges(projections::Queries& queries, const EventStore& store) {
  Gauges gauges;
  gauges.events_appended = static_cast<int64_t>(store.stats().events);
  gauges.last_seq = store.last_seq();
  gauges.store_failed = store.failed();
  Result<projections::MoneyInMotion> money = queries.money_in_motion();
  if (!money.is_ok()) return money.status();
  gauges.outbox_depth = money->outbox_depth;
  gauges.escrow_held_by_currency = std::move(money->escrow_held_by_currency);
  return gauges;
}

}  // namespace escrow::api
