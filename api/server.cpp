// escrowd's HTTP server (see server.h): C++20 coroutines on Boost.Asio in the shape of Beast's
// async examples: expires_after/expires_at before every read and write, header and body limits
// on every parser. One coroutine per connection runs on that connection's strand; the handler
// runs on a separate thread pool (or, for run_inline requests, right there on the strand) and
// the coroutine resumes on its strand with the response. The body limit is set on the parser
// between reading the header and reading the body.
//
// Shutdown: stop() sets `stopping_`, closes the acceptor and every connection that is waiting
// for a request; a connection inside a request finishes it and answers with Connection: close.
// Connections deregister in their destructor, so stop() can wait for the registry to empty.
#include "api/server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "ledger/text.h"
#include "service/log.h"

namespace escrow::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;

namespace {

constexpr size_t first_read_bytes = 4096;
// After refusing a request, keep reading (and dropping) what the client still sends for this
// long before closing, so that the refusal is not lost to a TCP reset.
constexpr auto refusal_linger = std::chrono::seconds(1);

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// How long the acceptor waits when the process is out of file descriptors.
constexpr auto accept_pause = std::chrono::milliseconds(50);

constexpr int handler_threads_min = 16;
constexpr int handler_threads_per_io_thread = 4;

std::chrono::milliseconds ms(int value) {
  return std::chrono::milliseconds(value);
}

struct Connection;  // below: it needs Server::Impl

}  // namespace

struct Server::Impl {
  Impl(const ServerOptions& options, AsyncRequestHandler handler)
      : options(options),
        handler(std::move(handler)),
        io(options.threads),
        handlers(static_cast<size_t>(
            std::max(options.threads * handler_threads_per_io_thread, handler_threads_min))),
        dependency_handlers(static_cast<size_t>(options.dependency_threads)),
        acceptor(net::make_strand(io)) {}

  Status listen();
  void run();
  void stop(std::chrono::milliseconds drain);
  // Calls `action` on every open connection, on that connection's strand.
  template <class Action>
  void for_each_connection(Action action);

  const ServerOptions options;
  const AsyncRequestHandler handler;
  // Requests handed to the handler and not yet answered: stop() waits for them, since their
  // answers are posted back to the I/O threads.
  std::mutex answers_mutex;
  std::condition_variable answered;
  int unanswered = 0;  // guarded by answers_mutex
  std::atomic<bool> stopping{false};
  std::atomic<int> large_bodies{0};  // slots taken, at most options.large_bodies_max
  // Requests on dependency_handlers, running or waiting for a thread.
  std::atomic<int> dependency_requests{0};

  // The registry outlives the io_context: connections destroyed with it deregister here.
  std::mutex mutex;
  std::condition_variable drained;
  std::unordered_set<Connection*> connections;  // guarded by mutex
  size_t closing = 0;  // of them, closed for a newcomer and not yet gone; guarded by mutex

  net::io_context io;
  net::thread_pool handlers;
  net::thread_pool dependency_handlers;
  tcp::acceptor acceptor;  // on its own strand
  uint16_t port = 0;
  std::vector<std::thread> io_threads;
  std::mutex stop_mutex;
  bool stopped = false;  // guarded by stop_mutex
};

namespace {

// How much a connection has shown of itself, for the choice of which to close when the server
// is full (server.h, "Capacity").
enum class Standing : uint8_t {
  fresh,          // no whole request read yet
  served,         // a whole request read, none authenticated
  authenticated,  // a request authenticated, or a large body granted to a verified token
};

// One connection. Owned by its coroutine (and briefly by work posted to its strand); its fields
// are touched on its strand only, but for the atomics (read by the acceptor at capacity) and
// `closing` (guarded by the server's mutex).
struct Connection : std::enable_shared_from_this<Connection> {
  Connection(Server::Impl& server, tcp::socket socket, std::string remote_address)
      : server(server), stream(std::move(socket)), remote_address(std::move(remote_address)) {}

  ~Connection() {
    std::lock_guard lock(server.mutex);
    server.connections.erase(this);
    if (closing) --server.closing;
    if (server.connections.empty()) server.drained.notify_all();
  }

  void raise(Standing to) {
    if (standing.load() < to) standing.store(to);
  }

  Server::Impl& server;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::string remote_address;
  const SteadyClock::time_point accepted = SteadyClock::now();
  std::atomic<bool> idle{false};  // waiting for the first byte of a request
  std::atomic<Standing> standing{Standing::fresh};
  bool closing = false;  // chosen to make room for a newcomer; guarded by server.mutex
};

// A large-body slot of the server, given back once the handler is done with the body (or the
// request failed).
class LargeBodySlot {
 public:
  LargeBodySlot() = default;
  LargeBodySlot(const LargeBodySlot&) = delete;
  LargeBodySlot& operator=(const LargeBodySlot&) = delete;
  ~LargeBodySlot() { release(); }

  // False when `max` slots are taken already.
  bool take(std::atomic<int>& taken, int max) {
    if (++taken > max) {
      --taken;
      return false;
    }
    taken_ = &taken;
    return true;
  }
  void release() {
    if (taken_ != nullptr) --*taken_;
    taken_ = nullptr;
  }
  bool held() const { return taken_ != nullptr; }

 private:
  std::atomic<int>* taken_ = nullptr;
};

// ---- conversions -----------------------------------------------------------------------------

HttpRequest to_http_request(BeastRequest&& in, const std::string& remote_address) {
  HttpRequest request;
  request.method = std::string(in.method_string());
  request.target = std::string(in.target());
  for (const auto& field : in) request.headers.add(field.name_string(), field.value());
  request.body = std::move(in.body());
  request.remote_address = remote_address;
  return request;
}

// Framing is the server's business, and a CR or LF in a header would split the response.
bool is_writable_header(const Header& header) {
  if (ascii_iequals(header.name, "Content-Length") ||
      ascii_iequals(header.name, "Transfer-Encoding") || ascii_iequals(header.name, "Connection")) {
    return false;
  }
  return header.name.find_first_of("\r\n\0: ", 0, 5) == std::string::npos && !header.name.empty() &&
         header.value.find_first_of("\r\n\0", 0, 3) == std::string::npos;
}

bool has_no_body(int status) {
  return status < 200 || status == 204 || status == 304;
}

// What of the request shapes its response.
struct ResponseShape {
  unsigned version;  // 10 or 11
  bool head;         // a HEAD request: headers only
  bool keep_alive;   // what the client asked for
};

ResponseShape shape_for(const BeastRequest& request) {
  return {request.version(), request.method() == http::verb::head, request.keep_alive()};
}

BeastResponse to_beast_response(HttpResponse out, const ResponseShape& shape, bool keep_alive) {
  if (out.status < 100 || out.status > 599) {
    logging::error("handler answered an invalid status", {{"status", int64_t{out.status}}});
    out = error_response(500, "internal_error", "The server failed to answer this request.");
  }
  BeastResponse response{static_cast<http::status>(out.status), shape.version};
  for (const Header& header : out.headers.all()) {
    if (is_writable_header(header)) response.insert(header.name, header.value);
  }
  response.keep_alive(keep_alive);
  if (has_no_body(out.status)) {
    // No body and no Content-Length (RFC 9110 section 8.6).
  } else if (shape.head) {
    response.content_length(out.body.size());
  } else {
    response.body() = std::move(out.body);
    response.prepare_payload();
  }
  return response;
}

BeastResponse refusal(int status, std::string_view code, std::string_view message) {
  HttpResponse out = error_response(status, code, message);
  BeastResponse response{static_cast<http::status>(status), 11};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(false);
  response.body() = std::move(out.body);
  response.prepare_payload();
  return response;
}

// The answer to a request that could not be read, if it deserves one (a timeout or a closed
// connection does not).
std::optional<BeastResponse> refusal_for(const beast::error_code& ec) {
  if (ec == http::error::body_limit) {
    return refusal(413, "body_too_large", "The request body is larger than this server accepts.");
  }
  if (ec == http::error::header_limit) {
    return refusal(431, "header_too_large",
                   "The request header is larger than this server accepts.");
  }
  const bool parse_error = ec.category() == make_error_code(http::error::bad_target).category();
  if (parse_error && ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return refusal(400, "bad_request", "The request is not valid HTTP/1.1.");
  }
  return std::nullopt;
}

std::string_view view(beast::string_view text) {
  return {text.data(), text.size()};
}

// The value of the (first) Authorization header.
std::optional<std::string_view> authorization_of(const BeastRequest& request) {
  auto it = request.find(http::field::authorization);
  if (it == request.end()) return std::nullopt;
  return view(it->value());
}

// Whether every Transfer-Encoding field of `request` lists exactly one coding, chunked.
bool only_chunked(const BeastRequest& request) {
  size_t codings = 0;
  for (auto [it, end] = request.equal_range(http::field::transfer_encoding); it != end; ++it) {
    std::string_view list = view(it->value());
    while (!list.empty()) {
      const size_t comma = std::min(list.find(','), list.size());
      std::string_view coding = list.substr(0, comma);
      list.remove_prefix(std::min(comma + 1, list.size()));
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
        coding.remove_prefix(1);
      }
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
        coding.remove_suffix(1);
      }
      if (coding.empty()) continue;  // an empty list element (RFC 9110 section 5.6.1)
      if (!ascii_iequals(coding, "chunked")) return false;
      ++codings;
    }
  }
  return codings == 1;
}

using RequestParser = http::request_parser<http::string_body>;

// A parser for the next request of a connection: the header limit, and the body cap until the
// header has chosen the request's own limit (admit_body).
void limit_parser(RequestParser& parser, const ServerOptions& options) {
  parser.header_limit(static_cast<uint32_t>(options.header_bytes_max));
  parser.body_limit(options.body_bytes_max);
}

// Beast holds the start line and the fields to header_limit each when they arrive in one read,
// and the whole header to it when they arrive in pieces. The header's size (what read_header
// used) is held to header_bytes_max here, so that the limit does not depend on how the client's
// bytes are cut into reads.
void limit_header_size(beast::error_code& ec, size_t header_bytes, const ServerOptions& options) {
  if (!ec && header_bytes > options.header_bytes_max) ec = http::error::header_limit;
}

// The body limit of a request, from its header alone.
size_t body_limit_of(const ServerOptions& options, const BeastRequest& request) {
  size_t limit = options.body_bytes_max;
  if (options.body_limit) {
    limit = std::min(limit, options.body_limit(view(request.method_string()),
                                               view(request.target()), authorization_of(request)));
  }
  return limit;
}

// Sets `limit` as the body limit of the request whose header `parser` has read. The refusal
// when its framing is unknown or not supported, when the announced body is over the limit, or
// when it is large and no large-body slot of `large_bodies` (slots taken) is free.
std::optional<BeastResponse> admit_body(const ServerOptions& options, size_t limit,
                                        std::atomic<int>& large_bodies, RequestParser& parser,
                                        LargeBodySlot& slot) {
  const BeastRequest& request = parser.get();
  if (request.find(http::field::transfer_encoding) != request.end()) {
    if (!parser.chunked()) {
      return refusal(400, "bad_request",
                     "The request's Transfer-Encoding does not end in chunked, so the length of "
                     "its body is unknown.");
    }
    if (!only_chunked(request)) {
      return refusal(501, "not_implemented",
                     "The request's transfer coding is not supported; send the body chunked or "
                     "with a Content-Length.");
    }
  }
  const auto length = parser.content_length();  // a boost::optional
  if (length && *length > limit) {
    return refusal(413, "body_too_large", "The request body is larger than this server accepts.");
  }
  parser.body_limit(limit);  // what a chunked body is held to
  const uint64_t expected = length ? *length : (parser.chunked() ? limit : 0);
  if (expected > options.large_body_bytes && !slot.take(large_bodies, options.large_bodies_max)) {
    BeastResponse busy =
        refusal(503, "busy", "The server is reading too many large requests; try again shortly.");
    busy.set(http::field::retry_after, "1");
    return busy;
  }
  return std::nullopt;
}

bool expects_continue(const BeastRequest& request) {
  auto it = request.find(http::field::expect);
  return request.version() >= 11 && it != request.end() &&
         ascii_iequals(it->value(), "100-continue");
}

// ---- one connection --------------------------------------------------------------------------

// The handler's answer to `request`, the handler called on `executor` (a pool, or the
// connection's own for run_inline requests); the connection resumes on its own executor when the
// handler answers, from whatever thread it answers on. A handler that throws before answering
// gets 500.
template <class Executor>
net::awaitable<HttpResponse> run_handler(Server::Impl& server, Executor executor,
                                         HttpRequest request) {
  {
    std::lock_guard lock(server.answers_mutex);
    ++server.unanswered;
  }
  auto initiate = [&server, executor, request = std::move(request)](auto completion) mutable {
    using Completion = decltype(completion);
    struct Waiting {
      explicit Waiting(Completion c) : completion(std::move(c)) {}
      std::mutex mutex;
      std::optional<Completion> completion;
    };
    auto waiting = std::make_shared<Waiting>(std::move(completion));
    Responder respond = [&server, waiting](HttpResponse response) {
      std::optional<Completion> taken;
      {
        std::lock_guard lock(waiting->mutex);
        if (waiting->completion) {
          taken.emplace(std::move(*waiting->completion));
          waiting->completion.reset();
        }
      }
      if (!taken) return;  // answered already
      auto resume_on = net::get_associated_executor(*taken);
      net::post(resume_on, [c = std::move(*taken), r = std::move(response)]() mutable {
        std::move(c)(std::move(r));
      });
      std::lock_guard lock(server.answers_mutex);
      if (--server.unanswered == 0) server.answered.notify_all();
    };
    net::post(executor, [&server, request = std::move(request), respond]() mutable {
      try {
        server.handler(std::move(request), respond);
        return;
      } catch (const std::exception& e) {
        logging::error("request handler threw", {{"error", e.what()}});
      } catch (...) {
        logging::error("request handler threw", {{"error", "not a std::exception"}});
      }
      respond(error_response(500, "internal_error", "The server failed to answer this request."));
    });
  };
  co_return co_await net::async_initiate<const net::use_awaitable_t<>, void(HttpResponse)>(
      std::move(initiate), net::use_awaitable);
}

// Waits until the first byte of the next request is here; false when the connection should
// close instead (timeout, peer gone, server stopping).
net::awaitable<bool> await_request(Server::Impl& server, Connection& s,
                                   SteadyClock::time_point deadline) {
  if (s.buffer.size() > 0) {  // pipelined: already here
    s.idle = false;
    co_return true;
  }
  s.idle = true;  // before the check: stop() closes idle connections after setting `stopping`
  if (server.stopping) co_return false;
  s.stream.expires_at(deadline);
  auto [ec, read] =
      co_await s.stream.async_read_some(s.buffer.prepare(first_read_bytes), use_tuple);
  s.idle = false;
  if (ec) co_return false;
  s.buffer.commit(read);
  co_return true;
}

// Answers a request that could not be read, then drains what the client still sends for a
// moment so that the answer reaches it.
net::awaitable<void> refuse(Server::Impl& server, Connection& s, BeastResponse response) {
  s.stream.expires_after(ms(server.options.write_timeout_ms));
  auto [ec, written] = co_await http::async_write(s.stream, response, use_tuple);
  if (ec) co_return;
  s.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  s.stream.expires_after(refusal_linger);
  for (;;) {
    s.buffer.clear();
    auto [read_ec, read] =
        co_await s.stream.async_read_some(s.buffer.prepare(first_read_bytes), use_tuple);
    if (read_ec) co_return;
  }
}

// Reads the rest of the body of the request `parser` has the header of: all of it within
// body_timeout_ms, and after body_grace_ms at body_rate_min bytes a second on average.
net::awaitable<beast::error_code> read_body(const ServerOptions& options, Connection& s,
                                            RequestParser& parser) {
  const auto started = SteadyClock::now();
  const auto last = started + ms(options.body_timeout_ms);
  uint64_t received = 0;
  while (!parser.is_done()) {
    auto due = last;
    if (options.body_rate_min > 0) {
      due = std::min(due, started + ms(options.body_grace_ms) +
                              std::chrono::milliseconds(received * 1000 / options.body_rate_min));
    }
    s.stream.expires_at(due);
    auto [ec, read] = co_await http::async_read_some(s.stream, s.buffer, parser, use_tuple);
    if (ec) co_return ec;
    received += read;
  }
  co_return beast::error_code{};
}

// Reads one request and answers it. False when the connection must close afterwards.
net::awaitable<bool> exchange(Server::Impl& server, Connection& s, bool first_request) {
  const ServerOptions& options = server.options;
  const auto header_time = ms(options.header_timeout_ms);
  // A new connection owes its whole header within header_time; a kept-alive one may first idle.
  auto deadline = SteadyClock::now() + (first_request ? header_time : ms(options.idle_timeout_ms));
  if (!co_await await_request(server, s, deadline)) co_return false;
  if (!first_request) deadline = SteadyClock::now() + header_time;

  RequestParser parser;
  limit_parser(parser, options);
  s.stream.expires_at(deadline);
  auto [ec, read] = co_await http::async_read_header(s.stream, s.buffer, parser, use_tuple);
  limit_header_size(ec, read, options);
  LargeBodySlot slot;  // held until the handler has returned
  if (!ec) {
    const size_t limit = body_limit_of(options, parser.get());
    if (auto refused = admit_body(options, limit, server.large_bodies, parser, slot)) {
      co_await refuse(server, s, std::move(*refused));
      co_return false;
    }
    if (slot.held()) s.raise(Standing::authenticated);
  }
  if (!ec && expects_continue(parser.get())) {
    http::response<http::empty_body> proceed{http::status::continue_, 11};
    s.stream.expires_after(ms(options.write_timeout_ms));
    std::tie(ec, read) = co_await http::async_write(s.stream, proceed, use_tuple);
  }
  if (!ec && !parser.is_done()) ec = co_await read_body(options, s, parser);
  if (ec) {
    if (auto response = refusal_for(ec)) co_await refuse(server, s, std::move(*response));
    co_return false;
  }
  s.raise(Standing::served);

  const ResponseShape shape = shape_for(parser.get());
  HttpRequest request = to_http_request(parser.release(), s.remote_address);
  HttpResponse out;
  request.resume_on = [executor = s.stream.get_executor()](std::function<void()> work) {
    net::post(executor, std::move(work));
  };
  if (options.run_inline && options.run_inline(request)) {
    out = co_await run_handler(server, s.stream.get_executor(), std::move(request));
  } else if (options.waits_on_dependency &&
             options.waits_on_dependency(request.method, request.target)) {
    const int limit = options.dependency_threads + options.dependency_queue_max;
    if (++server.dependency_requests > limit) {
      out = error_response(503, "busy",
                           "The server is waiting on Paystack for too many requests; try again "
                           "shortly.");
      out.headers.set("Retry-After", "1");
    } else {
      out = co_await run_handler(server, server.dependency_handlers.get_executor(),
                                 std::move(request));
    }
    --server.dependency_requests;
  } else {
    out = co_await run_handler(server, server.handlers.get_executor(), std::move(request));
  }
  slot.release();  // the body went with the request, before the answer is written
  if (out.authenticated) s.raise(Standing::authenticated);
  const bool keep_alive = shape.keep_alive && !server.stopping;
  BeastResponse response = to_beast_response(std::move(out), shape, keep_alive);
  s.stream.expires_after(ms(options.write_timeout_ms));
  auto [write_ec, written] = co_await http::async_write(s.stream, response, use_tuple);
  s.idle = true;  // as far as a newcomer is concerned; await_request says what comes next
  co_return !write_ec && keep_alive;
}

net::awaitable<void> serve(Server::Impl* server, std::shared_ptr<Connection> s) {
  for (bool first = true; co_await exchange(*server, *s, first); first = false) {
  }
  beast::error_code ignored;
  s->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  s->stream.close();
}

void log_escaped_exception(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    logging::error("connection failed", {{"error", e.what()}});
  } catch (...) {
    logging::error("connection failed", {{"error", "not a std::exception"}});
  }
}

// Makes room for a newcomer at capacity: closes the connection server.h ("Capacity") says goes
// first. False when every connection is inside a request. Called with server.mutex held.
bool close_one_for_newcomer(Server::Impl& server) {
  Connection* victim = nullptr;
  int victim_rank = 0;
  for (Connection* c : server.connections) {
    if (c->closing) continue;
    const Standing standing = c->standing.load();
    int rank = 0;  // lower goes first
    if (standing == Standing::fresh) {
      rank = 1;
    } else if (c->idle.load()) {
      rank = standing == Standing::served ? 2 : 3;
    } else {
      continue;  // inside a request
    }
    if (!victim || rank < victim_rank || (rank == victim_rank && c->accepted < victim->accepted)) {
      victim = c;
      victim_rank = rank;
    }
  }
  if (!victim) return false;
  std::shared_ptr<Connection> alive = victim->weak_from_this().lock();
  if (!alive) return false;  // already going: its destructor waits for the mutex
  victim->closing = true;
  ++server.closing;
  auto executor = alive->stream.get_executor();
  net::post(executor, [alive = std::move(alive)] {
    // A request may have begun since it was chosen: it then stays, and the newcomer with it.
    if (alive->idle.load() || alive->standing.load() == Standing::fresh) {
      alive->stream.close();
      return;
    }
    std::lock_guard lock(alive->server.mutex);
    alive->closing = false;
    --alive->server.closing;
  });
  return true;
}

net::awaitable<void> accept_loop(Server::Impl* server) {
  for (;;) {
    auto [ec, socket] =
        co_await server->acceptor.async_accept(net::make_strand(server->io), use_tuple);
    if (!server->acceptor.is_open() || server->stopping) co_return;
    if (ec == net::error::no_descriptors ||
        ec == boost::system::errc::too_many_files_open_in_system) {
      // Out of file descriptors: accepting again at once would spin. Pending connections wait
      // in the backlog until a connection closes.
      net::steady_timer pause(server->acceptor.get_executor(), accept_pause);
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (ec) continue;  // e.g. the peer gave up before accept
    beast::error_code ignored;
    std::string remote = socket.remote_endpoint(ignored).address().to_string();
    std::shared_ptr<Connection> connection;
    {
      std::lock_guard lock(server->mutex);
      const size_t open = server->connections.size() - server->closing;
      if (open >= static_cast<size_t>(server->options.connections_max) &&
          !close_one_for_newcomer(*server)) {
        socket.close(ignored);
        continue;
      }
      connection = std::make_shared<Connection>(*server, std::move(socket), std::move(remote));
      server->connections.insert(connection.get());
    }
    auto executor = connection->stream.get_executor();
    net::co_spawn(executor, serve(server, std::move(connection)), log_escaped_exception);
  }
}

}  // namespace

// ---- Server::Impl ----------------------------------------------------------------------------

Status Server::Impl::listen() {
  beast::error_code ec;
  auto address =
      net::ip::make_address(options.host == "localhost" ? "127.0.0.1" : options.host, ec);
  if (ec) {
    return Status(StatusCode::invalid_argument,
                  "cannot listen on '" + options.host + "': not an IP address");
  }
  tcp::endpoint endpoint(address, options.port);
  const std::string where = options.host + ":" + std::to_string(options.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (!ec) port = acceptor.local_endpoint(ec).port();
  if (ec) return Status(StatusCode::io_error, "cannot listen on " + where + ": " + ec.message());
  return Status::ok();
}

void Server::Impl::run() {
  net::co_spawn(acceptor.get_executor(), accept_loop(this), log_escaped_exception);
  for (int i = 0; i < options.threads; ++i) {
    io_threads.emplace_back([this] {
      for (;;) {
        try {
          io.run();
          return;
        } catch (const std::exception& e) {
          logging::error("server thread caught an exception", {{"error", e.what()}});
        }
      }
    });
  }
}

template <class Action>
void Server::Impl::for_each_connection(Action action) {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mutex);
    for (Connection* connection : connections) {
      if (auto alive = connection->weak_from_this().lock()) open.push_back(std::move(alive));
    }
  }
  for (auto& connection : open) {
    auto executor = connection->stream.get_executor();
    net::post(executor, [connection = std::move(connection), action] { action(*connection); });
  }
}

void Server::Impl::stop(std::chrono::milliseconds drain) {
  std::lock_guard stop_lock(stop_mutex);
  if (stopped) return;
  stopped = true;
  stopping = true;
  net::post(acceptor.get_executor(), [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
  });
  for_each_connection([](Connection& s) {
    if (s.idle) s.stream.close();
  });
  {
    std::unique_lock lock(mutex);
    drained.wait_for(lock, drain, [this] { return connections.empty(); });
  }
  for_each_connection([](Connection& s) { s.stream.close(); });  // what did not finish in time
  {
    // A request still being answered is answered before its App goes away (commands always
    // finish: the store answers every queued command).
    std::unique_lock lock(answers_mutex);
    answered.wait(lock, [this] { return unanswered == 0; });
  }
  handlers.join();
  dependency_handlers.join();
  io.stop();
  for (std::thread& thread : io_threads) thread.join();
}

// ---- Server ----------------------------------------------------------------------------------

Result<std::unique_ptr<Server>> Server::start(const ServerOptions& options,
                                              RequestHandler handler) {
  if (!handler) return start(options, AsyncRequestHandler());
  return start(options, [handler = std::move(handler)](HttpRequest request, Responder respond) {
    respond(handler(std::move(request)));
  });
}

Result<std::unique_ptr<Server>> Server::start(const ServerOptions& options,
                                              AsyncRequestHandler handler) {
  if (options.threads < 1 || options.connections_max < 1 || options.large_bodies_max < 1 ||
      options.dependency_threads < 1 || options.dependency_queue_max < 0 || !handler ||
      options.header_bytes_max > UINT32_MAX) {
    return Status(StatusCode::invalid_argument,
                  "server options: threads, connections_max, large_bodies_max and "
                  "dependency_threads must be positive, and a handler is required");
  }
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  Status status = impl->listen();
  if (!status.is_ok()) return status;
  impl->run();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  stop(std::chrono::milliseconds(0));
}

uint16_t Server::port() const {
  return impl_->port;
}

void Server::stop(std::chrono::milliseconds drain) {
  impl_->stop(drain);
}

// ---- a request from memory -------------------------------------------------------------------

namespace {

// A SyncReadStream over bytes in memory: each read delivers at most `read_bytes_max` of them, as
// one read from a socket may, and then the stream ends as when the client closes.
class MemoryStream {
 public:
  MemoryStream(std::string_view bytes, size_t read_bytes_max)
      : rest_(bytes), read_bytes_max_(std::max<size_t>(read_bytes_max, 1)) {}

  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    ec = {};
    if (rest_.empty()) {
      ec = net::error::eof;
      return 0;
    }
    const size_t size = std::min(rest_.size(), read_bytes_max_);
    const size_t copied = net::buffer_copy(buffers, net::buffer(rest_.data(), size));
    rest_.remove_prefix(copied);
    delivered_ += copied;
    return copied;
  }
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    const size_t copied = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return copied;
  }
  size_t delivered() const { return delivered_; }

 private:
  std::string_view rest_;
  size_t read_bytes_max_;
  size_t delivered_ = 0;
};

}  // namespace

RequestReading read_request(const ServerOptions& options, std::string_view bytes,
                            size_t read_bytes_max) {
  RequestReading out;
  MemoryStream stream(bytes, read_bytes_max);
  beast::flat_buffer buffer;
  RequestParser parser;
  limit_parser(parser, options);
  beast::error_code ec;
  const size_t header_bytes = http::read_header(stream, buffer, parser, ec);
  limit_header_size(ec, header_bytes, options);
  std::atomic<int> large_bodies{0};
  LargeBodySlot slot;
  if (!ec) {
    out.body_limit_bytes = body_limit_of(options, parser.get());
    if (auto refused = admit_body(options, out.body_limit_bytes, large_bodies, parser, slot)) {
      out.outcome = RequestReading::Outcome::refused;
      out.refusal_status = static_cast<int>(refused->result_int());
      return out;
    }
  }
  if (!ec && !parser.is_done()) http::read(stream, buffer, parser, ec);
  if (ec) {
    std::optional<BeastResponse> refused = refusal_for(ec);
    if (refused) out.refusal_status = static_cast<int>(refused->result_int());
    out.outcome = refused ? RequestReading::Outcome::refused : RequestReading::Outcome::incomplete;
    return out;
  }
  out.outcome = RequestReading::Outcome::request;
  out.keep_alive = parser.get().keep_alive();
  out.request = to_http_request(parser.release(), "");
  out.bytes_used = stream.delivered() - buffer.size();
  return out;
}

}  // namespace escrow::api
