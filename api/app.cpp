// The escrow service's parts and its request pipeline; see app.h.
#include "api/app.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>

#include "api/auth.h"
#include "api/console.h"
#include "api/handler_support.h"
#include "api/idempotency.h"
#include "api/metrics.h"
#include "api/rate_limit.h"
#include "api/uploads.h"
#include "ledger/hash.h"
#include "paystack/client.h"
#include "projections/live.h"
#include "projections/webhook_log.h"
#include "service/log.h"
#include "service/notifier.h"
#include "service/outbox.h"
#include "service/runtime.h"
#include "service/schedulers.h"
#include "service/webhooks.h"

namespace escrow::api {
namespace {

using service::Notifier;
using service::Outbox;
using service::Schedulers;
using service::WebhookProcessor;

constexpr std::size_t request_id_chars_max = 128;

bool request_id_valid(std::string_view id) {
  if (id.empty() || id.size() > request_id_chars_max) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string new_request_id() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return "req-unknown";
  return "req_" + to_hex(bytes, sizeof bytes);
}

// Routes that take no Idempotency-Key (DESIGN section 5: every POST/PUT except the webhook).
bool idempotent_method(std::string_view method) {
  return method == "POST" || method == "PUT";
}

// Routes outside the per-token rate limit: Paystack's deliveries and the probes.
bool rate_limited_route(std::string_view route) {
  return route != "/webhooks/paystack" && route != "/healthz" && route != "/readyz" &&
         route != "/metrics";
}

}  // namespace

struct App::Parts {
  Parts(const Config& config_in, std::unique_ptr<service::Runtime> runtime_in,
        Authenticator auth_in, std::unique_ptr<BlobStore> blobs_in,
        std::unique_ptr<IdempotencyStore> idempotency_in)
      : config(config_in),
        runtime(std::move(runtime_in)),
        auth(std::move(auth_in)),
        blobs(std::move(blobs_in)),
        services{config,
                 runtime->clock(),
                 runtime->store(),
                 runtime->shell(),
                 runtime->projections(),
                 runtime->queries(),
                 auth,
                 runtime->paystack(),
                 *blobs,
                 metrics,
                 runtime->webhooks(),
                 outbox,
                 runtime->context(),
                 tasks},
        outbox(services.service, Outbox::Options{config.scheduler_interval_ms,
                                                 config.pending_payment_check_after_s * 1000, 1}),
        schedulers(
            services.service, [this] { outbox.wake(); },
            Schedulers::Options{config.scheduler_interval_ms,
                                config.pending_payment_check_after_s * 1000}),
        processor(services.service, runtime->webhooks(),
                  WebhookProcessor::Options{
                      WebhookProcessor::retry_interval_ms_default,
                      [this](std::string_view outcome) { metrics.count_webhook(outcome); },
                      [this] { outbox.wake(); }}),
        idempotency(std::move(idempotency_in)),
        limiter(config.rate_limit_per_minute) {}

  Config config;
  std::unique_ptr<service::Runtime> runtime;
  // Where handlers continue after their commit (api/task.h); after `runtime`, so that it stops
  // first, once no request is in flight.
  TaskPool tasks{2};
  std::mutex in_flight_mutex;
  std::condition_variable in_flight_done;
  int in_flight = 0;  // requests handle() started and not yet answered
  Authenticator auth;
  std::unique_ptr<BlobStore> blobs;
  Metrics metrics;
  Services services;
  Outbox outbox;
  Schedulers schedulers;
  WebhookProcessor processor;
  std::unique_ptr<IdempotencyStore> idempotency;
  RateLimiter limiter;
  std::unique_ptr<Notifier> notifier;
  Router router;
  bool workers_running = false;
};

App::App(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

App::~App() {
  {
    std::unique_lock lock(parts_->in_flight_mutex);
    parts_->in_flight_done.wait(lock, [this] { return parts_->in_flight == 0; });
  }
  stop_workers();
}

Result<std::unique_ptr<App>> App::open(const Config& config, const Clock& clock) {
  service::Runtime::Options runtime_options;
  runtime_options.db_path = config.db_path;
  runtime_options.synchronous = config.synchronous;
  runtime_options.paystack.base_url = config.paystack_base_url;
  runtime_options.paystack.secret_key = config.paystack_secret_key;
  auto runtime = service::Runtime::open(runtime_options, clock);
  if (!runtime.is_ok()) return runtime.status();

  auto auth = Authenticator::create(config.jwt_secret);
  if (!auth.is_ok()) return auth.status();

  auto blobs = BlobStore::open(config.blob_dir);
  if (!blobs.is_ok()) return blobs.status();

  auto idempotency = IdempotencyStore::open(config.db_path);
  if (!idempotency.is_ok()) return idempotency.status();

  auto parts = std::make_unique<Parts>(config, std::move(runtime).value(), std::move(auth).value(),
                                       std::move(blobs).value(), std::move(idempotency).value());
  Parts& p = *parts;
  p.runtime->paystack().set_observer(
      [&metrics = p.metrics](std::string_view endpoint, std::string_view outcome) {
        metrics.count_paystack_call(endpoint, outcome);
      });
  if (!config.notify_url.empty()) {
    Notifier::Options options;
    options.url = config.notify_url;
    options.secret = config.notify_secret;
    options.db_path = config.db_path;
    auto notifier = Notifier::open(
        options, clock,
        [&metrics = p.metrics](std::string_view outcome) { metrics.count_notification(outcome); });
    if (!notifier.is_ok()) return notifier.status();
    p.notifier = std::move(notifier).value();
  }

  add_booking_routes(p.router, p.services);
  add_provider_routes(p.router, p.services);
  add_read_routes(p.router, p.services);
  add_admin_routes(p.router, p.services);
  add_webhook_routes(p.router, p.services, p.processor);
  add_ops_routes(p.router, p.services);
  add_console_routes(p.router);
  return std::unique_ptr<App>(new App(std::move(parts)));
}

namespace {

bool is_upload(std::string_view method, std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  constexpr std::string_view prefix = "/bookings/", suffix = "/complete";
  return method == "POST" && path.size() > prefix.size() + suffix.size() &&
         path.starts_with(prefix) && path.ends_with(suffix) &&
         path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()).find('/') ==
             std::string_view::npos;
}

}  // namespace

size_t request_body_limit(std::string_view method, std::string_view target, bool provider_token) {
  return provider_token && is_upload(method, target) ? upload_request_bytes_max : request_bytes_max;
}

namespace {

// Whether `path` matches `pattern`, whose ":name" segments match any one non-empty segment.
bool path_matches(std::string_view path, std::string_view pattern) {
  while (!pattern.empty()) {
    if (path.empty() || path.front() != '/' || pattern.front() != '/') return false;
    path.remove_prefix(1);
    pattern.remove_prefix(1);
    const size_t path_end = std::min(path.find('/'), path.size());
    const size_t pattern_end = std::min(pattern.find('/'), pattern.size());
    std::string_view segment = path.substr(0, path_end), wanted = pattern.substr(0, pattern_end);
    if (segment.empty() || (!wanted.starts_with(':') && segment != wanted)) return false;
    path.remove_prefix(path_end);
    pattern.remove_prefix(pattern_end);
  }
  return path.empty();
}

}  // namespace

bool waits_on_paystack(std::string_view method, std::string_view target) {
  struct Route {
    std::string_view method, pattern;
  };
  static constexpr Route routes[] = {
      {"POST", "/bookings/:id/pay"},
      {"POST", "/payments/verify"},
      {"PUT", "/providers/:id/payout-account"},
      {"POST", "/admin/payouts/:id/finalize"},
      {"POST", "/admin/chargebacks/:id/respond"},
  };
  std::string_view path = target.substr(0, target.find('?'));
  return std::any_of(std::begin(routes), std::end(routes), [&](const Route& route) {
    return method == route.method && path_matches(path, route.pattern);
  });
}

bool answered_inline(const HttpRequest& request) {
  return request.method == "GET" && request.path() == "/healthz";
}

bool App::runs_inline(const HttpRequest& request) const {
  if (answered_inline(request)) return true;
  // A keyed request claims its key in a write transaction of its own, which may wait for the
  // writer: never on the I/O thread.
  if (request.headers.contains("Idempotency-Key")) return false;
  Router::Match match = parts_->router.match(request.method, request.path());
  return match.handler && match.only_waits_on_commit;
}

ServerOptions server_options(const Config& config, const Clock& clock) {
  ServerOptions options;
  options.host = config.listen_host;
  options.port = config.listen_port;
  options.threads = config.threads;
  options.connections_max = config.connections_max;
  options.body_bytes_max = upload_request_bytes_max;
  // The token is verified only for an upload, the one request that may be large; without a
  // usable secret no token verifies, and no request may be large.
  auto made = Authenticator::create(config.jwt_secret);
  std::shared_ptr<const Authenticator> auth =
      made.is_ok() ? std::make_shared<const Authenticator>(std::move(made).value()) : nullptr;
  options.body_limit = [auth, &clock](std::string_view method, std::string_view target,
                                      std::optional<std::string_view> authorization) {
    bool provider = false;
    if (auth && authorization && is_upload(method, target)) {
      HttpResult<Principal> who = auth->authenticate(authorization, clock.now_ms());
      provider = who.is_ok() && who.value().role == Role::provider;
    }
    return request_body_limit(method, target, provider);
  };
  options.run_inline = answered_inline;
  options.waits_on_dependency = waits_on_paystack;
  options.dependency_threads = paystack::connections_max_default;
  return options;
}

Services& App::services() {
  return parts_->services;
}

const Router& App::router() const {
  return parts_->router;
}

void App::start_workers() {
  Parts& p = *parts_;
  if (p.workers_running) return;
  p.workers_running = true;
  p.outbox.start();
  p.schedulers.start();
  p.processor.start();
  if (p.notifier) p.notifier->start();
}

void App::stop_workers() {
  Parts& p = *parts_;
  if (!p.workers_running) return;
  p.workers_running = false;
  if (p.notifier) p.notifier->stop();
  p.processor.stop();
  p.schedulers.stop();
  p.outbox.stop();
}

HttpResponse App::handle(HttpRequest request) {
  std::promise<HttpResponse> answered;
  std::future<HttpResponse> answer = answered.get_future();
  handle(std::move(request),
         [&answered](HttpResponse response) { answered.set_value(std::move(response)); });
  return answer.get();
}

void App::handle(HttpRequest request, std::function<void(HttpResponse)> done) {
  Parts& p = *parts_;
  {
    std::lock_guard lock(p.in_flight_mutex);
    ++p.in_flight;
  }
  start(pipeline(std::move(request)), [&p, done = std::move(done)](HttpResponse response) {
    {
      std::lock_guard lock(p.in_flight_mutex);
      if (--p.in_flight == 0) p.in_flight_done.notify_all();
    }
    done(std::move(response));  // the App may be gone once the answer is out
  });
}

Task<HttpResponse> App::pipeline(HttpRequest request) {
  Parts& p = *parts_;
  const Clock& clock = p.runtime->clock();
  auto started = std::chrono::steady_clock::now();

  std::string request_id;
  if (auto given = request.headers.get("X-Request-Id"); given && request_id_valid(*given)) {
    request_id = std::string(*given);
  } else {
    request_id = new_request_id();
    request.headers.set("X-Request-Id", request_id);
  }

  Router::Match match = p.router.match(request.method, request.path());
  HttpResponse response;
  if (match.error) {
    response = std::move(*match.error);
  } else {
    // Who is asking, for the rate limit and the idempotency scope; the handler authenticates
    // again and answers 401 itself, so an unauthenticated request is limited by address.
    const int64_t now_ms = clock.now_ms();
    HttpResult<Principal> who = p.auth.authenticate(request, now_ms);
    std::string actor = who.is_ok()
                            ? std::string(role_name(who.value().role)) + ":" + who.value().sub
                            : std::string();
    std::string limit_key = who.is_ok() ? "sub:" + actor : "ip:" + request.remote_address;
    RateLimiter::Decision allowed{true, 0};
    if (rate_limited_route(match.route)) allowed = p.limiter.take(limit_key, now_ms);
    if (!allowed.allowed) {
      response = rate_limited_response(allowed.retry_after_s);
    } else {
      bool keyed = who.is_ok() && idempotent_method(request.method) &&
                   match.route != "/webhooks/paystack" &&
                   request.headers.contains("Idempotency-Key");
      bool threw = false;
      std::string what;
      try {
        std::optional<HttpResponse> early;
        if (keyed) {
          request.idempotency = p.idempotency->hold_for(actor, request);
          early = p.idempotency->begin(actor, request.method, match.route, request, now_ms);
        }
        if (early) {
          response = std::move(*early);
          keyed = false;  // nothing claimed: nothing to finish
        } else {
          response = co_await (*match.handler)(request, match.params);
        }
      } catch (const std::exception& e) {
        threw = true;
        what = e.what();
      } catch (...) {
        threw = true;
        what = "not a std::exception";
      }
      if (threw) {
        if (keyed) p.idempotency->abandon(actor, request);
        logging::error("handler threw",
                       {{"route", match.route}, {"what", what}, {"request_id", request_id}});
        response =
            error_response(500, "internal_error", "An internal error occurred; it was logged.");
      } else if (keyed) {
        p.idempotency->finish(actor, request, response, now_ms);
      }
      response.authenticated = who.is_ok();
    }
  }
  response.headers.set("X-Request-Id", request_id);

  int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count();
  p.metrics.observe_request(request.method, match.route, response.status, micros);
  logging::info("request", {{"method", request.method},
                            {"route", match.route},
                            {"status", static_cast<int64_t>(response.status)},
                            {"ms", static_cast<double>(micros) / 1000.0},
                            {"request_id", request_id}});
  co_return response;
}

}  // namespace escrow::api
