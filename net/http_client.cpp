// The only translation unit of paystack/ that includes Beast, Asio and the OpenSSL stream.
//
// Each call runs Asio's asynchronous operations to completion on the client's private
// io_context (start the operation, then run() until it is done): that is what gives every phase
// a deadline (tcp_stream::expires_at, a timer around DNS) while the API stays synchronous.
#include "net/http_client.h"

#include <openssl/ssl.h>
#include <poll.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <chrono>
#include <mutex>
#include <vector>

#include "ledger/text.h"

namespace escrow::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Where requests go, taken apart once at construction.
struct Target {
  bool tls = true;
  std::string host;         // for DNS, SNI and certificate checks: no brackets
  std::string port;         // "443", "80" or explicit
  std::string host_header;  // as it appears in the URL: "[::1]:8080"
  std::string path_prefix;  // "" or "/v1" (no trailing slash)
  bool host_is_address = false;
};

Result<Target> parse_base_url(std::string_view base_url) {
  auto parsed = boost::urls::parse_uri(base_url);
  auto refuse = [&](std::string why) {
    return Status(StatusCode::invalid_argument,
                  "paystack base URL " + std::string(base_url) + ": " + why);
  };
  if (parsed.has_error()) return refuse("not a URL");
  boost::urls::url_view url = *parsed;
  Target target;
  std::string scheme = ascii_lower(url.scheme());
  if (scheme != "https" && scheme != "http")
    return refuse("scheme must be https (or http for loopback)");
  if (url.has_userinfo()) return refuse("credentials in the URL are not allowed");
  if (url.has_query() || url.has_fragment()) return refuse("query and fragment are not allowed");
  target.tls = scheme == "https";
  // Boost.URL 1.81 reads "http://127.0.0.1.nip.io" as host 127.0.0.1 and path ".nip.io"; a path
  // after an authority must start with '/' (RFC 3986 path-abempty), so refuse what it mis-splits.
  if (!url.encoded_path().empty() && url.encoded_path().front() != '/')
    return refuse("malformed host");
  switch (url.host_type()) {
    case boost::urls::host_type::ipv4:
      target.host = url.host_ipv4_address().to_string();
      target.host_is_address = true;
      break;
    case boost::urls::host_type::ipv6:
      target.host = url.host_ipv6_address().to_string();
      target.host_is_address = true;
      break;
    case boost::urls::host_type::name:
      target.host = ascii_lower(url.host_address());
      break;
    default:
      return refuse("unsupported host");
  }
  if (target.host.empty()) return refuse("no host");
  if (!target.tls && !is_loopback_host(target.host))
    return refuse("plain http is allowed only for a loopback host (127.0.0.0/8, ::1, localhost)");
  target.port = url.has_port() ? std::string(url.port()) : (target.tls ? "443" : "80");
  target.host_header = std::string(url.encoded_host_and_port());
  target.path_prefix = std::string(url.encoded_path());
  while (!target.path_prefix.empty() && target.path_prefix.back() == '/')
    target.path_prefix.pop_back();
  return target;
}

bool header_value_ok(std::string_view value, bool spaces_allowed) {
  return std::all_of(value.begin(), value.end(), [&](unsigned char c) {
    return c > 0x20 ? c != 0x7f : (spaces_allowed && c == ' ');
  });
}

// An RFC 9110 token: what a header name may be.
bool header_name_ok(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

// Failures that mean "no usable response": io_error (retryable by the caller's policy) or
// corrupt (the server answered something we cannot or will not read).
Status transport_failure(const Target& target, std::string_view phase,
                         const beast::error_code& ec) {
  std::string where = target.host + ":" + target.port;
  if (ec == http::error::body_limit)
    return Status(StatusCode::corrupt, "paystack " + where + ": response body over the size limit");
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message)
    return Status(StatusCode::corrupt,
                  "paystack " + where + ": malformed HTTP response (" + ec.message() + ")");
  std::string why = ec == beast::error::timeout ? "timed out" : ec.message();
  return Status(StatusCode::io_error,
                "paystack " + where + ": " + std::string(phase) + " failed: " + why);
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (ascii_lower(host) == "localhost") return true;
  boost::system::error_code ec;
  net::ip::address address = net::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  std::string wanted = ascii_lower(name);
  for (const auto& [key, value] : headers) {
    if (ascii_lower(key) == wanted) return value;
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  HttpClientConfig config;
  Target target;
  std::mutex mutex;
  net::io_context ioc;
  ssl::context ssl_ctx{ssl::context::tls_client};
  // Exactly one of the two is engaged while a connection is open.
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  Clock::time_point last_used;
  int connections_opened = 0;

  Impl(HttpClientConfig c, Target t) : config(std::move(c)), target(std::move(t)) {}

  Status init_tls();
  Result<HttpResponse> send(const HttpRequest& request);  // locks, never throws

 private:
  // Starts one asynchronous operation through `start(handler)` and runs it to completion.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  Result<HttpResponse> send_locked(const HttpRequest& request);
  bool connected() const { return plain.has_value() || secure.has_value(); }
  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*secure); }
  bool reusable();
  void close();
  Result<std::vector<tcp::endpoint>> resolve(Clock::time_point deadline);
  Status connect();
  Result<HttpResponse> exchange(const HttpRequest& request, bool& got_some);
  template <class Stream>
  Result<HttpResponse> exchange_on(Stream& stream, const HttpRequest& request, bool& got_some);
};

Status HttpClient::Impl::init_tls() {
  boost::system::error_code ec;
  ssl_ctx.set_default_verify_paths(ec);
  if (ec)
    return Status(StatusCode::io_error,
                  "paystack TLS: cannot load the system CA bundle: " + ec.message());
  ssl_ctx.set_verify_mode(ssl::verify_peer, ec);
  if (ec)
    return Status(StatusCode::io_error,
                  "paystack TLS: cannot enable verification: " + ec.message());
  SSL_CTX_set_min_proto_version(ssl_ctx.native_handle(), TLS1_2_VERSION);
  return Status::ok();
}

// A kept-alive connection is reused only if the server has not closed it (or sent anything
// unprompted) and it has not idled past the point where servers usually drop it.
bool HttpClient::Impl::reusable() {
  if (!connected()) return false;
  if (Clock::now() - last_used > std::chrono::milliseconds(keep_alive_idle_ms_max)) return false;
  pollfd fd{};
  fd.fd = lowest().socket().native_handle();
  fd.events = POLLIN;
  int ready = ::poll(&fd, 1, 0);
  return ready == 0;  // readable means EOF, a TLS close_notify or garbage: start afresh
}

void HttpClient::Impl::close() {
  if (connected()) {
    boost::system::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }
  secure.reset();
  plain.reset();
  buffer.clear();
}

Result<std::vector<tcp::endpoint>> HttpClient::Impl::resolve(Clock::time_point deadline) {
  tcp::resolver resolver(ioc);
  net::steady_timer timer(ioc);
  tcp::resolver::results_type results;
  bool timed_out = false;
  beast::error_code ec = net::error::would_block;
  timer.expires_at(deadline);
  timer.async_wait([&](beast::error_code e) {
    if (!e) {
      timed_out = true;
      resolver.cancel();
    }
  });
  resolver.async_resolve(target.host, target.port,
                         [&](beast::error_code e, tcp::resolver::results_type r) {
                           ec = e;
                           results = std::move(r);
                           timer.cancel();
                         });
  ioc.restart();
  ioc.run();
  if (timed_out) ec = beast::error::timeout;
  if (ec) return transport_failure(target, "DNS lookup", ec);
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) {
    // Plain http was allowed for a loopback host: never let DNS send it anywhere else.
    if (!target.tls && !entry.endpoint().address().is_loopback()) continue;
    endpoints.push_back(entry.endpoint());
  }
  if (endpoints.empty())
    return Status(StatusCode::io_error, "paystack " + target.host + ": no usable address");
  return endpoints;
}

Status HttpClient::Impl::connect() {
  close();
  Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(config.connect_timeout_ms);
  Result<std::vector<tcp::endpoint>> endpoints = resolve(deadline);
  if (!endpoints.is_ok()) return endpoints.status();
  if (target.tls) {
    secure.emplace(ioc, ssl_ctx);
    // SNI only for names (RFC 6066); the certificate is checked against the name or address.
    if (!target.host_is_address &&
        !SSL_set_tlsext_host_name(secure->native_handle(), target.host.c_str())) {
      close();
      return Status(StatusCode::io_error, "paystack TLS: cannot set SNI host name");
    }
    secure->set_verify_mode(ssl::verify_peer);
    secure->set_verify_callback(ssl::host_name_verification(target.host));
  } else {
    plain.emplace(ioc);
  }
  lowest().expires_at(deadline);
  beast::error_code ec = run([&](auto handler) { lowest().async_connect(*endpoints, handler); });
  if (ec) {
    close();
    return transport_failure(target, "connect", ec);
  }
  if (secure) {
    ec = run([&](auto handler) { secure->async_handshake(ssl::stream_base::client, handler); });
    if (ec) {
      close();
      return transport_failure(target, "TLS handshake", ec);
    }
  }
  ++connections_opened;
  last_used = Clock::now();
  return Status::ok();
}

template <class Stream>
Result<HttpResponse> HttpClient::Impl::exchange_on(Stream& stream, const HttpRequest& request,
                                                   bool& got_some) {
  http::request<http::string_body> req{request.method == HttpMethod::post  ? http::verb::post
                                       : request.method == HttpMethod::put ? http::verb::put
                                                                           : http::verb::get,
                                       target.path_prefix + request.target, 11};
  req.set(http::field::host, target.host_header);
  req.set(http::field::user_agent, config.user_agent);
  req.set(http::field::accept, "application/json");
  if (!config.secret_key.empty())
    req.set(http::field::authorization, "Bearer " + config.secret_key);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  if (request.method != HttpMethod::get) {
    req.set(http::field::content_type, "application/json");
    req.body() = request.body;
  }
  req.keep_alive(true);
  req.prepare_payload();

  lowest().expires_after(std::chrono::milliseconds(config.request_timeout_ms));
  beast::error_code ec = run([&](auto handler) { http::async_write(stream, req, handler); });
  if (ec) return transport_failure(target, "sending the request", ec);

  http::response_parser<http::string_body> parser;
  parser.body_limit(config.response_body_bytes_max);
  ec = run([&](auto handler) { http::async_read(stream, buffer, parser, handler); });
  got_some = parser.got_some();
  if (ec) return transport_failure(target, "reading the response", ec);

  http::response<http::string_body> message = parser.release();
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message)
    response.headers.emplace_back(ascii_lower(field.name_string()), std::string(field.value()));
  if (!message.keep_alive()) close();
  response.body = std::move(message.body());
  return response;
}

Result<HttpResponse> HttpClient::Impl::exchange(const HttpRequest& request, bool& got_some) {
  Result<HttpResponse> result =
      secure ? exchange_on(*secure, request, got_some) : exchange_on(*plain, request, got_some);
  if (result.is_ok()) {
    last_used = Clock::now();
  } else {
    close();  // a failed exchange leaves the stream in an unknown state
  }
  return result;
}

Result<HttpResponse> HttpClient::Impl::send(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (!header_name_ok(name) || !header_value_ok(value, /*spaces_allowed=*/true))
      return Status(StatusCode::invalid_argument, "HTTP request: invalid extra header");
  }
  std::lock_guard<std::mutex> lock(mutex);
  try {  // Asio and OpenSSL report allocation failures by exception: no exception leaves here
    return send_locked(request);
  } catch (const std::exception& e) {
    close();
    return Status(StatusCode::io_error, std::string("paystack transport: ") + e.what());
  }
}

Result<HttpResponse> HttpClient::Impl::send_locked(const HttpRequest& request) {
  bool reused = reusable();
  if (!reused) {
    Status status = connect();
    if (!status.is_ok()) return status;
  }
  bool got_some = false;
  Result<HttpResponse> result = exchange(request, got_some);
  // A reused connection the server dropped in the meantime fails before any response byte.
  // For a GET, which changes nothing, one more try on a fresh connection is harmless; a POST
  // is never resent here (the caller looks its outcome up).
  if (!result.is_ok() && reused && !got_some && request.method == HttpMethod::get &&
      result.status().code() == StatusCode::io_error) {
    Status status = connect();
    if (!status.is_ok()) return status;
    result = exchange(request, got_some);
  }
  return result;
}

Result<std::unique_ptr<HttpClient>> HttpClient::create(HttpClientConfig config) {
  Result<Target> target = parse_base_url(config.base_url);
  if (!target.is_ok()) return target.status();
  if (config.connect_timeout_ms <= 0 || config.request_timeout_ms <= 0 ||
      config.response_body_bytes_max == 0)
    return Status(StatusCode::invalid_argument,
                  "paystack HTTP client: timeouts and body limit must be positive");
  // Header values: no whitespace or control characters (no header injection). The key itself is
  // never quoted back.
  if (!header_value_ok(config.secret_key, /*spaces_allowed=*/false) ||
      !header_value_ok(config.user_agent, /*spaces_allowed=*/true))
    return Status(StatusCode::invalid_argument,
                  "paystack HTTP client: the secret key or user agent has invalid characters");
  try {  // Asio and OpenSSL report allocation failures by exception: keep them inside
    auto impl = std::make_unique<Impl>(std::move(config), std::move(target.value()));
    if (impl->target.tls) {
      Status status = impl->init_tls();
      if (!status.is_ok()) return status;
    }
    return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
  } catch (const std::exception& e) {
    return Status(StatusCode::io_error, std::string("paystack HTTP client: ") + e.what());
  }
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpClient::~HttpClient() = default;  // Impl closes its streams before its io_context goes

Result<HttpResponse> HttpClient::send(const HttpRequest& request) {
  return impl_->send(request);
}

int HttpClient::connections_opened() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->connections_opened;
}

// ---- PooledTransport ---------------------------------------------------------------------------

Result<std::unique_ptr<PooledTransport>> PooledTransport::create(const HttpClientConfig& config,
                                                                 int connections_max) {
  if (connections_max < 1)
    return Status(StatusCode::invalid_argument,
                  "paystack HTTP client: connections_max must be positive");
  Result<std::unique_ptr<HttpClient>> first = HttpClient::create(config);  // checks the config
  if (!first.is_ok()) return first.status();
  auto pool = std::make_unique<PooledTransport>(
      [config]() -> Result<std::unique_ptr<HttpTransport>> {
        Result<std::unique_ptr<HttpClient>> made = HttpClient::create(config);
        if (!made.is_ok()) return made.status();
        return std::unique_ptr<HttpTransport>(std::move(made.value()));
      },
      connections_max);
  pool->idle_.push_back(std::move(first.value()));
  pool->opened_ = 1;
  return pool;
}

PooledTransport::PooledTransport(Factory open, int connections_max)
    : open_(std::move(open)), connections_max_(std::max(connections_max, 1)) {}

Result<std::unique_ptr<HttpTransport>> PooledTransport::acquire() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    returned_.wait(lock, [this] { return !idle_.empty() || opened_ < connections_max_; });
    if (!idle_.empty()) {
      std::unique_ptr<HttpTransport> transport = std::move(idle_.back());
      idle_.pop_back();
      return transport;
    }
    ++opened_;  // the slot is taken before opening, outside the lock
  }
  Result<std::unique_ptr<HttpTransport>> made = open_();
  if (!made.is_ok()) {  // give the slot back to a waiting caller
    std::lock_guard<std::mutex> lock(mutex_);
    --opened_;
    returned_.notify_one();
  }
  return made;
}

void PooledTransport::release(std::unique_ptr<HttpTransport> transport) {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(std::move(transport));
  returned_.notify_one();
}

Result<HttpResponse> PooledTransport::send(const HttpRequest& request) {
  Result<std::unique_ptr<HttpTransport>> transport = acquire();
  if (!transport.is_ok()) return transport.status();
  Result<HttpResponse> response = transport.value()->send(request);
  release(std::move(transport.value()));
  return response;
}

int PooledTransport::transports_opened() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return opened_;
}

}  // namespace escrow::net
