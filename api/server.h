// escrowd's HTTP/1.1 server: bytes on a socket in, api::HttpRequest to the handler, the handler's
// api::HttpResponse back out. The only place that knows about sockets (Boost.Beast inside).
//
// Contract:
//  - HTTP/1.1 and 1.0, keep-alive as the request asks; Content-Length and Connection are the
//    server's (a handler's own values for them are dropped); no Server header.
//  - Limits: a header block above header_bytes_max gets 431, malformed HTTP 400 `bad_request`.
//    A Transfer-Encoding whose last coding is not chunked leaves the body's length unknown:
//    400 `bad_request` (RFC 9112 section 6.3); one with a coding besides chunked (gzip, chunked)
//    501 `not_implemented`. The body limit of a request is chosen once its header is read,
//    before any of its body: body_limit(method, target, Authorization), never above
//    body_bytes_max; a body above it gets 413 `body_too_large` (before 100 Continue, and before
//    any body byte is buffered when Content-Length announces it). A large body (above
//    large_body_bytes, by Content-Length, or by its limit when chunked) needs one of
//    large_bodies_max slots, held until its handler has returned; without a free one it gets
//    503 `busy` with Retry-After: 1. Each refusal comes with Connection: close, and the handler
//    is not called.
//  - Timeouts: a new connection must deliver its request header within header_timeout_ms (sent
//    byte by byte or not, so a slowloris client is cut off); then the body within
//    body_timeout_ms, and at body_rate_min bytes a second on average once body_grace_ms have
//    passed (a body dribbled a byte at a time is cut off after the grace). A kept-alive
//    connection may wait idle_timeout_ms for its next request, whose header again has
//    header_timeout_ms from its first byte. Each response must be written within
//    write_timeout_ms. A cut-off request gets no answer.
//  - Capacity: at connections_max open connections, a new one takes the place of the oldest
//    connection that has not yet delivered a whole request; failing that, of the oldest idle
//    one whose requests never authenticated (HttpResponse::authenticated); failing that, of
//    the oldest idle one. A connection given a large-body slot counts as authenticated (with
//    escrowd's body_limit, only a verified provider token earns a large limit). Connections
//    inside a request are never closed for a newcomer; when every one is, the newcomer is
//    closed at once.
//  - Handlers run on their own pool of max(4 * threads, 16) threads, apart from the `threads` I/O
//    threads, so a handler that blocks (a SQLite commit) delays only its own connection.
//    Requests for which waits_on_dependency() is true (their handler calls Paystack) run on a
//    pool of their own, dependency_threads threads with at most dependency_queue_max more
//    requests waiting for one; past that they get 503 `busy` with Retry-After: 1 and the
//    handler is not called, so a slow Paystack never holds the threads that reads, webhooks,
//    health and metrics are answered on. Requests for which run_inline() is true skip the pools
//    and run on the I/O thread, so that they are answered even while every handler is blocked.
//    A handler that throws gets 500 `internal_error`; nothing is thrown out of the server.
// Thread-safety: port() and stop() may be called from any thread; the handler is called from
// many threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"
#include "ledger/status.h"

namespace escrow::api {

struct ServerOptions {
  std::string host = "127.0.0.1";  // an IP address, or "localhost"
  uint16_t port = 8080;            // 0 picks a free port; see Server::port()
  int threads = 4;                 // I/O threads; max(4 * threads, 16) handler threads
  size_t header_bytes_max = 16 * 1024;
  size_t body_bytes_max = 52 * 1024 * 1024;  // the cap for every request, whatever body_limit says
  // The body limit of one request, from its header alone: the request's method, target and the
  // value of its (first) Authorization header, if any. It runs on the I/O thread, so it may
  // verify a token but must never block. Empty: the same body_bytes_max for every request.
  std::function<size_t(std::string_view method, std::string_view target,
                       std::optional<std::string_view> authorization)>
      body_limit;
  size_t large_body_bytes = 1024 * 1024 + 64 * 1024;
  int large_bodies_max = 8;  // large bodies read and handled at once; more get 503 `busy`
  // True for requests whose handler is cheap and never blocks (GET /healthz, a command that only
  // waits for its commit): they run on the I/O thread. Empty: every request goes to the handler
  // pool.
  std::function<bool(const HttpRequest& request)> run_inline;
  // True for requests whose handler waits on an outside service (a Paystack call). Empty: none.
  std::function<bool(std::string_view method, std::string_view target)> waits_on_dependency;
  int dependency_threads = 8;     // as many as the Paystack client has connections
  int dependency_queue_max = 64;  // more waiting than this get 503 `busy`
  int header_timeout_ms = 10'000;
  int body_timeout_ms = 60'000;  // for the whole body, however fast it comes
  int body_grace_ms = 10'000;    // then at least body_rate_min bytes a second on average
  size_t body_rate_min = 4096;   // 0: no minimum rate
  int idle_timeout_ms = 30'000;
  int write_timeout_ms = 30'000;
  int connections_max = 1024;
};

using RequestHandler = std::function<HttpResponse(HttpRequest)>;
// A handler that may answer later, from any thread: it calls `respond` exactly once (a second
// call is ignored), and the thread it was called on is free in the meantime.
using Responder = std::function<void(HttpResponse)>;
using AsyncRequestHandler = std::function<void(HttpRequest, Responder)>;

class Server {
 public:
  // Binds, listens and starts the threads. invalid_argument for a host that is not an IP
  // address or bad options; io_error when the address cannot be bound (in use, not local).
  static Result<std::unique_ptr<Server>> start(const ServerOptions& options,
                                               RequestHandler handler);
  static Result<std::unique_ptr<Server>> start(const ServerOptions& options,
                                               AsyncRequestHandler handler);
  ~Server();  // stop(0 ms) unless stopped already

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;  // the bound port (the real one when options.port was 0)

  // Stops accepting, closes idle connections, lets requests in progress finish and answer (with
  // Connection: close) for up to `drain`, then closes what is left; waits for running handlers
  // to return and joins every thread. Idempotent.
  void stop(std::chrono::milliseconds drain);

  struct Impl;  // server.cpp

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- a request from memory --------------------------------------------------------------------

// What a connection makes of `bytes` from a client, read with the same parser, limits and
// refusals (Beast's own read loops, over a stream in memory that delivers at most
// `read_bytes_max` bytes per read and then ends, as a client that closes). For tests and the
// fuzz target of the request parser (test/fuzz/http_request_fuzz.cpp); a connection reads its
// socket and never calls this.
struct RequestReading {
  enum class Outcome { request, refused, incomplete };
  Outcome outcome = Outcome::incomplete;  // incomplete: the connection closes without an answer
  HttpRequest request;                    // request: what the handler is given
  bool keep_alive = false;                // request: whether the connection reads another one
  int refusal_status = 0;                 // refused: the answer's status (400, 413, 431, 501, 503)
  size_t body_limit_bytes = 0;            // the body limit the header chose (0: no header read)
  size_t bytes_used = 0;                  // request: how many of `bytes` the request took
};
RequestReading read_request(const ServerOptions& options, std::string_view bytes,
                            size_t read_bytes_max = 64 * 1024);

}  // namespace escrow::api
