#include "http_bench.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <latch>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "http_client.h"
#include "ledger/hash.h"
#include "signing.h"

namespace escrow::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto poll_interval = std::chrono::milliseconds(20);
constexpr auto wait_limit = std::chrono::seconds(60);
constexpr auto drain_limit = std::chrono::seconds(300);
constexpr int64_t read_set_size = 1000;  // bookings `reads` creates when `commands` did not run
// Open loop: a request sent later than this after it was due counts as sent late.
constexpr auto late_slack = std::chrono::milliseconds(1);
// Open loop: the first request is due this long after every connection is open.
constexpr auto open_loop_start_delay = std::chrono::milliseconds(20);

Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// ---- JSON answers ----------------------------------------------------------------------------

std::string string_field(const std::string& body, const char* key) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return {};
  auto it = doc.FindMember(key);
  return it != doc.MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string();
}

// The status of the booking's newest payout, or "" when it has none.
std::string last_payout_status(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return {};
  auto payouts = doc.FindMember("payouts");
  if (payouts == doc.MemberEnd() || !payouts->value.IsArray() || payouts->value.Empty()) return {};
  const auto& last = payouts->value[payouts->value.Size() - 1];
  auto status = last.FindMember("status");
  return status != last.MemberEnd() && status->value.IsString() ? status->value.GetString() : "";
}

// counts[status] of GET /admin/webhook-events, or -1 when the answer is not one.
int64_t delivery_count(const std::string& body, const char* status) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return -1;
  auto counts = doc.FindMember("counts");
  if (counts == doc.MemberEnd() || !counts->value.IsObject()) return -1;
  auto it = counts->value.FindMember(status);
  return it != counts->value.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : 0;
}

std::string describe(const char* what, const HttpReply& reply) {
  return std::string(what) + ": " + (reply.status ? std::to_string(reply.status) + " " : "") +
         reply.body.substr(0, 300);
}

// ---- load ------------------------------------------------------------------------------------

// One load thread's connections: the service, and the simulator when there is one.
struct Clients {
  HttpConnection api;
  std::optional<HttpConnection> sim;
};

// One unit of work (a request, or a whole lifecycle): "" when it went as expected, else why not.
using Step = std::function<std::string(Clients&, int64_t n)>;

struct Load {
  std::vector<int64_t> latencies_ns;  // sorted once the load is over
  int64_t ok = 0, failed = 0;
  int64_t sent_late = 0;  // open loop: requests sent more than late_slack after they were due
  std::string first_error;
  double seconds = 0;
  double per_second() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
  double percentile_ms(double p) const {
    if (latencies_ns.empty()) return 0;
    size_t index = std::min(latencies_ns.size() - 1,
                            static_cast<size_t>(p * static_cast<double>(latencies_ns.size())));
    return static_cast<double>(latencies_ns[index]) / 1e6;
  }
};

struct Target {
  Endpoint api;
  std::optional<Endpoint> sim;
  int connections = 1;
};

// Runs one step and records its outcome in `load`, its latency counted from `since`.
void record(Load& load, Clients& clients, const Step& step, int64_t n, Clock::time_point since) {
  std::string error = step(clients, n);
  load.latencies_ns.push_back(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - since).count());
  if (error.empty()) {
    ++load.ok;
  } else if (load.failed++ == 0) {
    load.first_error = std::move(error);
  }
}

// Adds one thread's figures to the total (under the caller's lock).
void merge(Load& total, const Load& mine) {
  total.latencies_ns.insert(total.latencies_ns.end(), mine.latencies_ns.begin(),
                            mine.latencies_ns.end());
  total.ok += mine.ok;
  total.failed += mine.failed;
  total.sent_late += mine.sent_late;
  if (total.first_error.empty()) total.first_error = mine.first_error;
}

// Runs `step` for n = 0, 1, ... from `target.connections` threads until `count` steps were
// started or, when seconds > 0, until that much time passed.
Load drive(const Target& target, int64_t count, double seconds, const Step& step) {
  Load load;
  std::mutex mutex;
  std::atomic<int64_t> next{0};
  auto start = Clock::now();
  auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < target.connections; ++t) {
    threads.emplace_back([&] {
      Clients clients{HttpConnection(target.api), std::nullopt};
      if (target.sim) clients.sim.emplace(*target.sim);
      Load mine;
      for (;;) {
        if (seconds > 0 ? Clock::now() >= deadline : next.load() >= count) break;
        int64_t n = next.fetch_add(1);
        if (seconds <= 0 && n >= count) break;
        record(mine, clients, step, n, Clock::now());
      }
      std::lock_guard lock(mutex);
      merge(load, mine);
    });
  }
  for (std::thread& t : threads) t.join();
  load.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(load.latencies_ns.begin(), load.latencies_ns.end());
  return load;
}

// Open loop: request n is due at start + n / rate, for n below rate x seconds, whatever the
// answers before it did. Each thread (a connection each) takes the next request, sleeps until it
// is due and sends it; its latency is measured from the due time, not from the send, so a slow
// answer delays no later arrival and a request that waited for a free connection is charged its
// wait (no coordinated omission). Connections are opened before the clock starts. `seconds` of
// the result runs from the first due time to the last answer.
Load drive_open_loop(const Target& target, double rate, double seconds, const Step& step) {
  const auto count = static_cast<int64_t>(rate * seconds);
  Load load;
  std::mutex mutex;
  std::atomic<int64_t> next{0};
  Clock::time_point start;  // written before `ready` opens, read after
  std::latch ready(target.connections + 1);
  Clock::time_point last_answer;
  std::vector<std::thread> threads;
  for (int t = 0; t < target.connections; ++t) {
    threads.emplace_back([&] {
      Clients clients{HttpConnection(target.api), std::nullopt};
      if (target.sim) clients.sim.emplace(*target.sim);
      (void)clients.api.request("GET", "/healthz");
      ready.arrive_and_wait();
      Load mine;
      for (int64_t n = next.fetch_add(1); n < count; n = next.fetch_add(1)) {
        auto due = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(static_cast<double>(n) / rate));
        std::this_thread::sleep_until(due);
        if (Clock::now() - due > late_slack) ++mine.sent_late;
        record(mine, clients, step, n, due);
      }
      auto finished = Clock::now();
      std::lock_guard lock(mutex);
      merge(load, mine);
      last_answer = std::max(last_answer, finished);
    });
  }
  start = Clock::now() + open_loop_start_delay;
  ready.arrive_and_wait();
  for (std::thread& t : threads) t.join();
  load.seconds = std::max(0.0, std::chrono::duration<double>(last_answer - start).count());
  std::sort(load.latencies_ns.begin(), load.latencies_ns.end());
  return load;
}

// ---- the scenarios ---------------------------------------------------------------------------

// How the service's webhook processing kept up: the time from the first delivery sent until no
// delivery waited any more, and how many deliveries (of any run) failed processing.
struct Drain {
  double seconds = 0;  // 0: it did not drain within drain_limit
  int64_t failed = 0;
};

class Bench {
 public:
  Bench(const HttpOptions& options, Target target, std::string jwt_secret,
        std::string paystack_secret)
      : options_(options),
        target_(std::move(target)),
        jwt_secret_(std::move(jwt_secret)),
        paystack_secret_(std::move(paystack_secret)),
        run_(run_tag()),
        service_(mint_token(jwt_secret_, "bench-market", "service")),
        admin_(mint_token(jwt_secret_, "bench-admin", "admin")) {}

  int run();

 private:
  static std::string run_tag();
  std::string booking_body(const std::string& id, const std::string& client,
                           const std::string& provider) const;
  std::string client_of(int64_t n) const { return "bc" + run_ + "-" + std::to_string(n % 64); }
  std::string provider_of(int64_t n) const {
    return "bp" + run_ + "-" + std::to_string(n % options_.connections);
  }

  Load drive_scenario(const Step& step) const;
  std::string create(Clients& c, const std::string& id, int64_t n) const;
  Load commands();
  Load reads();
  Load webhooks(Drain& drain);
  Load lifecycles();
  std::string lifecycle(Clients& c, int64_t n) const;
  std::string register_providers();
  std::string wait_booking(Clients& c, const std::string& id, const std::string& token,
                           const std::function<int(const std::string&)>& state) const;

  void report(const char* name, const char* unit, const Load& load, const std::string& extra = {});

  const HttpOptions& options_;
  Target target_;
  std::string jwt_secret_, paystack_secret_;
  std::string run_;  // makes this run's ids unique on a service that already served others
  std::string service_, admin_;
  int64_t created_ = 0;  // bookings "b<run>-<n>" for n below this exist
  std::string json_;
  bool failed_ = false;
};

// Six random hex digits in every id this run makes, so that a second run against the same service
// does not meet the first one's bookings (one chance in 16 million that it does).
std::string Bench::run_tag() {
  std::random_device device;
  uint32_t bits = device();
  return to_hex(reinterpret_cast<const uint8_t*>(&bits), 3);
}

std::string Bench::booking_body(const std::string& id, const std::string& client,
                                const std::string& provider) const {
  return "{\"id\":\"" + id + "\",\"client_id\":\"" + client + "\",\"provider_id\":\"" + provider +
         "\",\"client_email\":\"" + client + "@example.com\",\"description\":\"Deep clean, " +
         "3-bedroom flat\",\"amount\":5000000,\"currency\":\"NGN\"}";
}

std::string Bench::create(Clients& c, const std::string& id, int64_t n) const {
  HttpReply reply = c.api.request("POST", "/bookings",
                                  booking_body(id, client_of(n), provider_of(n)), bearer(service_));
  return reply.status == 201 ? std::string() : describe("POST /bookings", reply);
}

// Commands, reads and webhooks: closed loop for --count or --seconds, or open loop at --rate.
Load Bench::drive_scenario(const Step& step) const {
  if (options_.rate > 0) return drive_open_loop(target_, options_.rate, options_.seconds, step);
  return drive(target_, options_.count, options_.seconds, step);
}

Load Bench::commands() {
  Load load = drive_scenario(
      [this](Clients& c, int64_t n) { return create(c, "b" + run_ + "-" + std::to_string(n), n); });
  created_ = load.failed ? 0 : load.ok;  // with failures, which ids exist is unknown
  return load;
}

Load Bench::reads() {
  if (created_ == 0) {
    Load setup = drive(target_, read_set_size, 0, [this](Clients& c, int64_t n) {
      return create(c, "b" + run_ + "-" + std::to_string(n), n);
    });
    if (setup.failed) {
      Load load;
      load.failed = setup.failed;
      load.first_error = "creating the bookings to read: " + setup.first_error;
      return load;
    }
    created_ = setup.ok;
  }
  return drive_scenario([this](Clients& c, int64_t n) {
    std::string id = "b" + run_ + "-" + std::to_string(n % created_);
    HttpReply reply = c.api.request("GET", "/bookings/" + id, {}, bearer(admin_));
    if (reply.status != 200) return describe("GET /bookings/:id", reply);
    return string_field(reply.body, "id") == id ? std::string() : "GET /bookings/:id: wrong body";
  });
}

Load Bench::webhooks(Drain& drain) {
  auto start = Clock::now();
  Load load = drive_scenario([this](Clients& c, int64_t n) {
    std::string reference = "bwh" + run_ + "-" + std::to_string(n);
    std::string body = charge_success_body(reference, 5'000'000'000 + n);
    HttpReply reply =
        c.api.request("POST", "/webhooks/paystack", body,
                      {{"x-paystack-signature", webhook_signature(paystack_secret_, body)}});
    if (reply.status != 200) return describe("POST /webhooks/paystack", reply);
    return reply.body.find("\"duplicate\":false") != std::string::npos
               ? std::string()
               : describe("POST /webhooks/paystack: not a new delivery", reply);
  });
  // Processing: until no delivery is left waiting (nor any other the service had queued).
  HttpConnection api(target_.api);
  while (Clock::now() - start < drain_limit) {
    HttpReply reply = api.request("GET", "/admin/webhook-events?limit=1", {}, bearer(admin_));
    int64_t waiting = reply.status == 200 ? delivery_count(reply.body, "received") : -1;
    if (waiting < 0) {
      load.first_error = describe("GET /admin/webhook-events", reply);
      ++load.failed;
      break;
    }
    if (waiting == 0) {
      drain.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      drain.failed = delivery_count(reply.body, "failed");
      break;
    }
    std::this_thread::sleep_for(poll_interval);
  }
  return load;
}

std::string Bench::register_providers() {
  HttpConnection api(target_.api);
  std::string body =
      R"({"bank_code":"058","account_number":"0123456789","account_name":"Ada Eze","currency":"NGN"})";
  for (int p = 0; p < options_.connections; ++p) {
    std::string provider = provider_of(p);
    HttpReply reply = api.request("PUT", "/providers/" + provider + "/payout-account", body,
                                  bearer(mint_token(jwt_secret_, provider, "provider")));
    if (reply.status != 200) return describe("PUT /providers/:id/payout-account", reply);
  }
  return {};
}

// Polls the booking until state(body) is positive ("" returned) or negative (an error).
std::string Bench::wait_booking(Clients& c, const std::string& id, const std::string& token,
                                const std::function<int(const std::string&)>& state) const {
  auto deadline = Clock::now() + wait_limit;
  std::string last;
  while (Clock::now() < deadline) {
    HttpReply reply = c.api.request("GET", "/bookings/" + id, {}, bearer(token));
    if (reply.status != 200) return describe("GET /bookings/:id", reply);
    int s = state(reply.body);
    if (s > 0) return {};
    if (s < 0) return "booking " + id + " went wrong: " + reply.body.substr(0, 600);
    last = std::move(reply.body);
    std::this_thread::sleep_for(poll_interval);
  }
  return "booking " + id + " timed out; last: " + last.substr(0, 600);
}

std::string Bench::lifecycle(Clients& c, int64_t n) const {
  std::string id = "l" + run_ + "-" + std::to_string(n);
  std::string client = mint_token(jwt_secret_, client_of(n), "client");
  std::string provider = mint_token(jwt_secret_, provider_of(n), "provider");
  if (std::string error = create(c, id, n); !error.empty()) return error;

  HttpReply pay = c.api.request("POST", "/bookings/" + id + "/pay", "{}", bearer(client));
  std::string reference = pay.status == 201 ? string_field(pay.body, "reference") : "";
  if (reference.empty()) return describe("POST /bookings/:id/pay", pay);
  HttpReply paid = c.sim->request("POST", "/_sim/transactions/" + reference + "/pay",
                                  R"({"outcome":"success"})");
  if (paid.status != 200) return describe("sim pay", paid);
  std::string error = wait_booking(c, id, client, [](const std::string& body) {
    std::string status = string_field(body, "payment_status");
    return status == "escrow" ? 1 : status == "pending" || status == "unpaid" ? 0 : -1;
  });
  if (!error.empty()) return error;

  HttpReply proof =
      c.api.request("POST", "/bookings/" + id + "/complete",
                    R"({"notes":"Done; keys with the concierge."})", bearer(provider));
  if (proof.status != 200) return describe("POST /bookings/:id/complete", proof);
  HttpReply release =
      c.api.request("POST", "/bookings/" + id + "/release-payment", "{}", bearer(client));
  if (release.status != 200) return describe("POST /bookings/:id/release-payment", release);
  return wait_booking(c, id, client, [](const std::string& body) {
    std::string status = last_payout_status(body);
    return status == "success" ? 1 : status == "failed" || status == "reversed" ? -1 : 0;
  });
}

Load Bench::lifecycles() {
  if (std::string error = register_providers(); !error.empty()) {
    Load load;
    load.failed = 1;
    load.first_error = error;
    return load;
  }
  return drive(target_, options_.lifecycles, 0,
               [this](Clients& c, int64_t n) { return lifecycle(c, n); });
}

void Bench::report(const char* name, const char* unit, const Load& load, const std::string& extra) {
  double p50 = load.percentile_ms(0.50), p90 = load.percentile_ms(0.90);
  double p99 = load.percentile_ms(0.99), p999 = load.percentile_ms(0.999);
  double max = load.percentile_ms(1.0);
  std::printf(
      "  %-10s %lld %s in %.2f s: %.0f/s; latency ms p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  "
      "max %.2f\n",
      name, static_cast<long long>(load.ok), unit, load.seconds, load.per_second(), p50, p90, p99,
      p999, max);
  std::string open_loop;
  if (options_.rate > 0 && std::string_view(name) != "lifecycles") {
    auto due = static_cast<long long>(options_.rate * options_.seconds);
    std::printf(
        "  %-10s open loop: %lld due at %.0f/s, latency from each one's due time; %lld sent "
        "more than %lld ms late (every connection busy, or the client behind)\n",
        "", due, options_.rate, static_cast<long long>(load.sent_late),
        static_cast<long long>(late_slack.count()));
    open_loop = ",\"open_loop\":{\"rate\":" + std::to_string(options_.rate) +
                ",\"due\":" + std::to_string(due) +
                ",\"sent_late\":" + std::to_string(load.sent_late) + "}";
  }
  if (load.failed) {
    failed_ = true;
    std::printf("  %-10s %lld FAILED; first: %s\n", name, static_cast<long long>(load.failed),
                load.first_error.c_str());
  }
  char buffer[512];
  std::snprintf(buffer, sizeof buffer,
                "%s\"%s\":{\"ok\":%lld,\"failed\":%lld,\"seconds\":%.3f,\"per_s\":%.1f,"
                "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,"
                "\"max\":%.3f}",
                json_.empty() ? "" : ",", name, static_cast<long long>(load.ok),
                static_cast<long long>(load.failed), load.seconds, load.per_second(), p50, p90, p99,
                p999, max);
  json_ += buffer + open_loop + extra + "}";
}

int Bench::run() {
  const std::string& s = options_.scenario;
  auto wanted = [&](const char* name) { return s == "all" || s == name; };
  char budget[64];
  if (options_.rate > 0) {
    std::snprintf(budget, sizeof budget, "open loop at %.0f/s for %.1f s", options_.rate,
                  options_.seconds);
  } else if (options_.seconds > 0) {
    std::snprintf(budget, sizeof budget, "%.1f s", options_.seconds);
  } else {
    std::snprintf(budget, sizeof budget, "%lld requests", static_cast<long long>(options_.count));
  }
  std::printf("escrow-bench http: %s:%u, %d connections, %s per scenario, %lld lifecycles\n",
              target_.api.host.c_str(), unsigned{target_.api.port}, options_.connections, budget,
              static_cast<long long>(options_.lifecycles));
  if (wanted("commands")) report("commands", "bookings created", commands());
  if (wanted("reads")) report("reads", "bookings read", reads());
  if (wanted("webhooks")) {
    Drain drain;
    Load load = webhooks(drain);
    double processed_per_s = drain.seconds > 0 ? static_cast<double>(load.ok) / drain.seconds : 0;
    char extra[64];
    std::snprintf(extra, sizeof extra, ",\"processed_per_s\":%.1f", processed_per_s);
    report("webhooks", "accepted", load, extra);
    if (drain.seconds > 0) {
      std::printf(
          "  %-10s all processed (re-verified with Paystack, recorded) %.2f s after the "
          "first was sent: %.0f/s; %lld failed processing\n",
          "", drain.seconds, processed_per_s, static_cast<long long>(drain.failed));
    } else {
      std::printf("  %-10s NOT all processed within %lld s of the first being sent\n", "",
                  static_cast<long long>(drain_limit.count()));
    }
    if (drain.seconds <= 0 || drain.failed != 0) failed_ = true;
  }
  if (wanted("lifecycles")) report("lifecycles", "paid out", lifecycles());
  if (options_.json) {
    std::printf("{\"mode\":\"http\",\"connections\":%d,%s}\n", options_.connections, json_.c_str());
  }
  return failed_ ? 1 : 0;
}

std::optional<std::string> secret_from(const std::string& variable) {
  const char* value = std::getenv(variable.c_str());
  if (!value || !*value) {
    std::fprintf(stderr, "escrow-bench http: the environment variable %s is not set\n",
                 variable.c_str());
    return std::nullopt;
  }
  return std::string(value);
}

}  // namespace

int run_http(const HttpOptions& options) {
  Target target;
  target.connections = options.connections;
  auto api = parse_http_url(options.url);
  if (!api) {
    std::fprintf(stderr, "escrow-bench http: --url must be http://HOST:PORT\n");
    return 2;
  }
  target.api = *api;
  if (options.rate > 0 &&
      (options.seconds <= 0 || options.scenario == "all" || options.scenario == "lifecycles")) {
    std::fprintf(stderr,
                 "escrow-bench http: --rate runs one of commands, reads, webhooks open loop, "
                 "and needs --seconds\n");
    return 2;
  }
  if (options.sim_url.empty() && (options.scenario == "all" || options.scenario == "lifecycles")) {
    std::fprintf(stderr, "escrow-bench http: lifecycles need --sim-url\n");
    return 2;
  }
  if (!options.sim_url.empty()) {
    target.sim = parse_http_url(options.sim_url);
    if (!target.sim) {
      std::fprintf(stderr, "escrow-bench http: --sim-url must be http://HOST:PORT\n");
      return 2;
    }
  }
  auto jwt_secret = secret_from(options.jwt_secret_env);
  auto paystack_secret = secret_from(options.paystack_secret_env);
  if (!jwt_secret || !paystack_secret) return 2;
  Bench bench(options, std::move(target), std::move(*jwt_secret), std::move(*paystack_secret));
  return bench.run();
}

}  // namespace escrow::bench
