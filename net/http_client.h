// HTTPS transport to Paystack (or, over plain HTTP, to a loopback simulator).
//
// HttpTransport is the seam: the Client (client.h) talks to one, tests give it a scripted fake,
// production gives it an HttpClient. HttpClient speaks HTTP/1.1 with Boost.Beast over OpenSSL:
// peer certificates are verified against the system CA bundle with host name verification and
// SNI; one keep-alive connection is reused and re-opened when the server closed it; connecting
// (DNS, TCP, TLS handshake) and each request have deadlines; response bodies are size-limited.
// Plain `http://` is accepted only for a loopback host (127.0.0.0/8, ::1, localhost), so that a
// secret key never crosses a network in clear text.
//
// The secret key is sent in the Authorization header and nowhere else: no Status text, and so no
// log line built from one, ever contains it.
//
// Thread-safety: an HttpClient owns one connection and a private io_context; calls from several
// threads are serialised by a mutex. PooledTransport holds several HttpClients for parallel
// requests: a slow call then holds up only its own connection.
// Beast and Asio stay inside http_client.cpp; this header has none of their types.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"

namespace escrow::net {

enum class HttpMethod { get, post, put };  // put: JSON body, as post

struct HttpRequest {
  HttpMethod method = HttpMethod::get;
  std::string target;  // path and query relative to the base URL: "/transaction/verify/abc"
  std::string body;    // JSON for POST, empty for GET
  // Extra request headers (a signature, say). Names must be tokens and values printable, or the
  // request is refused with invalid_argument before anything is sent.
  std::vector<std::pair<std::string, std::string>> headers = {};
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case

  // The first header called `name` (compared case-insensitively), if any.
  std::optional<std::string> header(std::string_view name) const;
};

// Sends one request and returns the response, whatever its status. A Status is returned only
// when no complete response arrived: `io_error` (DNS, connect, TLS, timeout, reset: the request
// may or may not have reached the server) or `corrupt` (unparseable HTTP, body over the limit).
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

inline constexpr int connect_timeout_ms_default = 10'000;
inline constexpr int request_timeout_ms_default = 30'000;
inline constexpr size_t response_body_bytes_max_default = 8u << 20;  // 8 MiB: long bank lists
// Re-open a connection idle for longer than this instead of racing the server's idle close.
inline constexpr int keep_alive_idle_ms_max = 20'000;

struct HttpClientConfig {
  std::string base_url = "https://api.paystack.co";
  std::string secret_key;  // sent as `Authorization: Bearer <secret_key>`; none when empty
  std::string user_agent = "escrow-ledger-paystack/0.1";
  int connect_timeout_ms = connect_timeout_ms_default;  // DNS + TCP + TLS handshake
  int request_timeout_ms = request_timeout_ms_default;  // write the request, read the response
  size_t response_body_bytes_max = response_body_bytes_max_default;
};

// True for 127.0.0.0/8, ::1 (with or without brackets) and "localhost" (any case).
bool is_loopback_host(std::string_view host);

class HttpClient final : public HttpTransport {
 public:
  // Checks the base URL: `https://host[:port][/prefix]`, or `http://` for a loopback host only
  // (anything else is `invalid_argument` with the reason). No connection is made yet.
  static Result<std::unique_ptr<HttpClient>> create(HttpClientConfig config);

  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<HttpResponse> send(const HttpRequest& request) override;

  // Connections opened so far (1 while keep-alive holds): for tests and metrics.
  int connections_opened() const;

  struct Impl;  // defined in http_client.cpp

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

inline constexpr int connections_max_default = 8;

// Up to `connections_max` transports (connections) used in parallel. send() takes an idle one,
// or opens a new one while fewer than connections_max exist, or else waits until one is handed
// back. A transport is opened on first need and kept for reuse (with its keep-alive connection).
// Thread-safety: send() may be called from any number of threads at once.
class PooledTransport final : public HttpTransport {
 public:
  using Factory = std::function<Result<std::unique_ptr<HttpTransport>>()>;

  // HttpClients made from `config`; the config is checked here as HttpClient::create does, and
  // connections_max must be positive (else invalid_argument). No connection is made yet.
  static Result<std::unique_ptr<PooledTransport>> create(const HttpClientConfig& config,
                                                         int connections_max);
  // Transports made by `open` when needed; a failure to open is returned by that send().
  PooledTransport(Factory open, int connections_max);

  Result<HttpResponse> send(const HttpRequest& request) override;

  // Transports opened so far (never above connections_max): for tests and metrics.
  int transports_opened() const;

 private:
  Result<std::unique_ptr<HttpTransport>> acquire();
  void release(std::unique_ptr<HttpTransport> transport);

  const Factory open_;
  const int connections_max_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<HttpTransport>> idle_;  // guarded by mutex_
  int opened_ = 0;                                    // guarded by mutex_; idle or in use
};

}  // namespace escrow::net
