// escrowd without its sockets: every part a handler needs (Services), the request pipeline
// (App::handle: request id, rate limit, routing, idempotency, metrics, access log), and the
// service's background workers (service/: outbox dispatcher, schedulers, webhook retries,
// notifications), which App owns and starts.
//
// The Beast server (server.h) turns bytes into an HttpRequest, calls App::handle on one of its
// threads and writes the HttpResponse back; tests may call App::handle directly.
//
// Module map (each file owns one concern; route handlers are plain functions, STYLE.md):
//   handler_support.h  auth guards, CommandResult -> response, JSON writing helpers
//   handlers_*.cpp     the routes of DESIGN section 5, registered by add_*_routes()
//   idempotency.h      Idempotency-Key store;  rate_limit.h  per-token limits;  metrics.h
//   uploads.h          multipart proof uploads, content-addressed blobs
// What the handlers call below HTTP is service/ (checkout, settlement, outbox, webhooks) over a
// service::Context, and projections/ for reads.
// Thread-safety: App::handle may be called from many threads at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "api/config.h"
#include "api/http.h"
#include "api/router.h"
#include "api/server.h"
#include "ledger/clock.h"
#include "ledger/store/event_store.h"
#include "ledger/store/shell.h"
#include "projections/queries.h"
#include "service/context.h"

namespace escrow::projections {
class LiveProjections;
class WebhookLog;
}  // namespace escrow::projections
namespace escrow::paystack {
class Client;
}
namespace escrow::service {
class Outbox;
class WebhookProcessor;
}  // namespace escrow::service

namespace escrow::api {

class Authenticator;
class BlobStore;
class Metrics;
class IdempotencyStore;
class RateLimiter;

// What every handler and worker shares. Owned by App; references stay valid while it lives.
struct Services {
  const Config& config;
  const Clock& clock;
  EventStore& store;
  CommandShell& shell;
  projections::LiveProjections& projections;
  projections::Queries& queries;  // every read of the projections and the log
  Authenticator& auth;
  paystack::Client& paystack;
  BlobStore& blobs;
  Metrics& metrics;
  projections::WebhookLog& webhooks;
  service::Outbox& outbox;   // wake() it after a command that queued a payout or refund
  service::Context service;  // the service layer's view of the parts above
  TaskPool& tasks;           // where a handler resumes after its commit (api/task.h)
};

// Route registration, one function per handler file.
void add_booking_routes(Router& router, Services& services);   // handlers_bookings.cpp
void add_provider_routes(Router& router, Services& services);  // handlers_providers.cpp
void add_read_routes(Router& router, Services& services);      // handlers_reads.cpp
void add_admin_routes(Router& router, Services& services);     // handlers_admin.cpp
void add_webhook_routes(Router& router, Services& services,
                        service::WebhookProcessor& processor);  // handlers_webhooks.cpp
void add_ops_routes(Router& router, Services& services);        // handlers_ops.cpp

// What the server must decide from a request's header, before any handler runs (escrowd passes
// these as ServerOptions::body_limit and run_inline).
inline constexpr size_t upload_request_bytes_max = 52u * 1024 * 1024;  // 50 MiB of proof files
inline constexpr size_t request_bytes_max = 1024 * 1024 + 64 * 1024;   // JSON and webhooks: 1 MiB
// upload_request_bytes_max for POST /bookings/:id/complete when `provider_token` (the request's
// bearer token verified, role provider): multipart proof uploads; request_bytes_max for every
// other request.
size_t request_body_limit(std::string_view method, std::string_view target, bool provider_token);
// True for the requests whose handler calls Paystack before it answers: paying, verifying a
// payment, registering a payout account, finalizing a payout with an OTP, answering a
// chargeback (escrowd runs them on their own bounded pool: ServerOptions::waits_on_dependency).
bool waits_on_paystack(std::string_view method, std::string_view target);
// True for GET /healthz, whose answer needs nothing that can block.
bool answered_inline(const HttpRequest& request);
// The server options escrowd serves with: `config`'s address and threads, every body capped at
// upload_request_bytes_max, request_body_limit with the token of an upload verified against
// config.jwt_secret at `clock`'s time (which must outlive the options), answered_inline, and
// waits_on_paystack on as many threads as the Paystack client has connections.
// Tests and the fuzz target of the request parser (test/fuzz/http_request_fuzz.cpp) read
// requests with the same options.
ServerOptions server_options(const Config& config, const Clock& clock);

class App {
 public:
  // Migrates the database, opens the store, the Paystack client and every part; starts nothing.
  static Result<std::unique_ptr<App>> open(const Config& config, const Clock& clock);
  ~App();  // stops the workers, then drains the store

  // The whole request pipeline; `done` gets the answer exactly once, on the calling thread when
  // nothing had to wait, else on a thread of the App's TaskPool. Never throws.
  void handle(HttpRequest request, std::function<void(HttpResponse)> done);
  // The same, waiting for the answer (tests).
  HttpResponse handle(HttpRequest request);

  void start_workers();  // outbox, schedulers, webhook retries, notifier
  void stop_workers();   // idempotent; waits for in-progress work to finish

  // True for a request that may run on the server's I/O thread (ServerOptions::run_inline):
  // answered_inline(), or a route registered as only waiting on its commit, without an
  // Idempotency-Key (its claim is a write of its own).
  bool runs_inline(const HttpRequest& request) const;

  Services& services();
  // The route table App::handle dispatches on (every handler file's routes and the console's).
  const Router& router() const;

 private:
  struct Parts;
  explicit App(std::unique_ptr<Parts> parts);
  Task<HttpResponse> pipeline(HttpRequest request);
  std::unique_ptr<Parts> parts_;
};

}  // namespace escrow::api
