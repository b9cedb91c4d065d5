// Tests of api/server.h over loopback, with a raw-socket client so that every byte on the wire is
// the test's own: a request/response round trip (headers both ways, Content-Length, no Server
// header, HEAD), two requests on one kept-alive connection, HTTP/1.0 closing, Expect:
// 100-continue, 413 above body_bytes_max and 431 above header_bytes_max (each with Connection:
// close and without calling the handler), 400 for a malformed request line, a slowloris client
// cut off after header_timeout_ms, an idle kept-alive connection cut off after idle_timeout_ms, a
// throwing handler answered with 500, a slow handler that does not hold up other connections,
// stop() letting a running request finish while closing idle connections, and a busy port.
// Overload: 16 handlers blocked at once with GET /healthz (run_inline) still answered; the body
// limit chosen per request from its header (413 before the body, before 100 Continue, for
// chunked bodies too, never above body_bytes_max), large bodies capped with 503 busy, and
// escrowd's own policy (request_body_limit, answered_inline, waits_on_paystack).
// Asynchronous answers: 200 requests waiting for answers given later from another thread hold
// none of the 16 handler threads, each answered once.
// Availability: requests that wait on a dependency run on their own bounded pool (503 busy past
// it, other requests answered meanwhile); a body dribbled below the minimum rate is cut off
// after the grace; at capacity a newcomer takes the place of a connection that never sent a
// whole request, then of an idle unauthenticated one, never of an authenticated one while
// another will do; an unknown transfer coding is 400 and closes, unread past.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/app.h"
#include "api/server.h"
#include "ledger/text.h"

using namespace escrow;
using namespace escrow::api;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct RawResponse {
  int status = 0;
  std::string head;  // status line and header lines
  std::string body;

  std::optional<std::string> header(std::string_view name) const {
    size_t line = head.find("\r\n");
    while (line != std::string::npos && line + 2 < head.size()) {
      size_t start = line + 2;
      size_t end = head.find("\r\n", start);
      std::string_view field(head.data() + start,
                             (end == std::string::npos ? head.size() : end) - start);
      size_t colon = field.find(':');
      if (colon != std::string_view::npos && ascii_iequals(field.substr(0, colon), name)) {
        std::string_view value = field.substr(colon + 1);
        while (value.starts_with(' ')) value.remove_prefix(1);
        return std::string(value);
      }
      line = end;
    }
    return std::nullopt;
  }
};

// A blocking loopback client that writes exactly the bytes it is given. No Catch2 assertions
// inside, so that it can run on other threads.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    connected_ =
        fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }

  // One response (Content-Length framing; none for the answer to HEAD); nullopt when the
  // connection ends first.
  std::optional<RawResponse> read_response(bool to_head = false) {
    size_t head_end;
    while ((head_end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    RawResponse response;
    response.head = buffered_.substr(0, head_end);
    if (response.head.size() < 12) return std::nullopt;
    response.status = std::stoi(response.head.substr(9, 3));
    size_t length = to_head ? 0 : std::stoul(response.header("Content-Length").value_or("0"));
    size_t body_start = head_end + 4;
    while (buffered_.size() < body_start + length) {
      if (!fill()) return std::nullopt;
    }
    response.body = buffered_.substr(body_start, length);
    buffered_.erase(0, body_start + length);
    return response;
  }

  // True when the server closes the connection (end of stream or reset) within `timeout`,
  // reading and dropping anything it sends before that.
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return false;
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, static_cast<int>(left.count())) <= 0) return false;
      char chunk[4096];
      if (::recv(fd_, chunk, sizeof chunk, 0) <= 0) return true;
    }
  }

 private:
  bool fill() {
    char chunk[4096];
    ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return false;
    buffered_.append(chunk, static_cast<size_t>(got));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffered_;
};

// Answers "METHOD TARGET BODY-BYTES FROM-ADDRESS" and echoes X-Echo back; /slow sleeps first,
// /throw throws, /block waits until open_gate() (or 20 s); /authenticated answers as a request
// whose token authenticated.
struct EchoHandler {
  std::atomic<int> calls{0};
  std::atomic<bool> slow_started{false};
  std::chrono::milliseconds slow_for = 500ms;
  std::mutex gate_mutex;
  std::condition_variable gate;
  bool gate_open = false;  // guarded by gate_mutex
  int blocked = 0;         // guarded by gate_mutex: handlers waiting at the gate

  HttpResponse operator()(HttpRequest request) {
    ++calls;
    if (request.path() == "/throw") throw std::runtime_error("handler bug");
    if (request.path() == "/slow") {
      slow_started = true;
      std::this_thread::sleep_for(slow_for);
    }
    if (request.path() == "/block") {
      std::unique_lock<std::mutex> lock(gate_mutex);
      ++blocked;
      gate.notify_all();
      gate.wait_for(lock, 20s, [this] { return gate_open; });
      --blocked;
    }
    HttpResponse response;
    response.headers.set("Content-Type", "text/plain");
    if (auto echo = request.headers.get("X-Echo")) response.headers.set("X-Echo", *echo);
    response.authenticated = request.path() == "/authenticated";
    response.headers.set("Content-Length", "999");  // the server's business: replaced
    response.body = request.method + " " + request.target + " " +
                    std::to_string(request.body.size()) + " " + request.remote_address;
    return response;
  }

  // Waits (up to 10 s) until `count` handlers are blocked at the gate; the number reached.
  int await_blocked(int count) {
    std::unique_lock<std::mutex> lock(gate_mutex);
    gate.wait_for(lock, 10s, [&] { return blocked >= count; });
    return blocked;
  }
  void open_gate() {
    std::lock_guard<std::mutex> lock(gate_mutex);
    gate_open = true;
    gate.notify_all();
  }
};

std::unique_ptr<Server> start_server(EchoHandler& handler, ServerOptions options = {}) {
  options.port = 0;
  options.threads = 2;
  auto started =
      Server::start(options, [&handler](HttpRequest r) { return handler(std::move(r)); });
  REQUIRE(started.is_ok());
  REQUIRE(started.value()->port() != 0);
  return std::move(started.value());
}

std::string get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n";
}

std::string post(std::string_view target, const std::string& body) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string error_code_of(const RawResponse& response) {
  size_t at = response.body.find("\"code\":\"");
  if (at == std::string::npos) return "";
  at += 8;
  return response.body.substr(at, response.body.find('"', at) - at);
}

}  // namespace

TEST_CASE("a request reaches the handler and its response comes back") {
  EchoHandler handler;
  auto server = start_server(handler);
  RawClient client(server->port());
  REQUIRE(client.connected());

  REQUIRE(client.send(post("/bookings?x=1", "hello world")));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "POST /bookings?x=1 11 127.0.0.1");
  CHECK(response->header("Content-Length") == "31");
  CHECK(response->header("Content-Type") == "text/plain");
  CHECK_FALSE(response->header("Server"));  // no product or version advertised

  REQUIRE(client.send(get("/", "X-Echo: quoted \"value\"\r\n")));
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->header("X-Echo") == "quoted \"value\"");

  SECTION("HEAD gets the headers a GET would, and no body") {
    REQUIRE(client.send("HEAD /h HTTP/1.1\r\nHost: test\r\n\r\n" + get("/after")));
    auto head = client.read_response(/*to_head=*/true);
    REQUIRE(head);
    CHECK(head->header("Content-Length") ==
          std::to_string(std::string("HEAD /h 0 127.0.0.1").size()));
    auto after = client.read_response();  // starts right after the head: no body was sent
    REQUIRE(after);
    CHECK(after->body.starts_with("GET /after "));
  }
}

TEST_CASE("a kept-alive connection carries several requests; HTTP/1.0 closes after one") {
  EchoHandler handler;
  auto server = start_server(handler);

  RawClient client(server->port());
  REQUIRE(client.send(get("/one")));
  auto first = client.read_response();
  REQUIRE(client.send(get("/two")));
  auto second = client.read_response();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->body.starts_with("GET /one "));
  CHECK(second->body.starts_with("GET /two "));
  CHECK(handler.calls == 2);

  RawClient pipelined(server->port());
  REQUIRE(pipelined.send(get("/a") + get("/b")));
  auto a = pipelined.read_response();
  auto b = pipelined.read_response();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->body.starts_with("GET /a "));
  CHECK(b->body.starts_with("GET /b "));

  RawClient old(server->port());
  REQUIRE(old.send("GET /old HTTP/1.0\r\n\r\n"));
  auto response = old.read_response();
  REQUIRE(response);
  CHECK(response->head.starts_with("HTTP/1.0 200"));
  CHECK(old.closed_within(2s));
}

TEST_CASE("Expect: 100-continue is answered before the body is sent") {
  EchoHandler handler;
  auto server = start_server(handler);
  RawClient client(server->port());
  REQUIRE(
      client.send("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
                  "Expect: 100-continue\r\n\r\n"));
  auto interim = client.read_response();
  REQUIRE(interim);
  CHECK(interim->status == 100);
  REQUIRE(client.send("12345"));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->body == "POST /upload 5 127.0.0.1");
}

TEST_CASE("a body above body_bytes_max gets 413 body_too_large and the connection closes") {
  EchoHandler handler;
  ServerOptions options;
  options.body_bytes_max = 1024;
  auto server = start_server(handler, options);

  RawClient client(server->port());
  REQUIRE(client.send(post("/bookings", std::string(1025, 'x'))));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 413);
  CHECK(error_code_of(*response) == "body_too_large");
  CHECK(response->header("Connection") == "close");
  CHECK(client.closed_within(3s));
  CHECK(handler.calls == 0);

  RawClient exact(server->port());
  REQUIRE(exact.send(post("/bookings", std::string(1024, 'x'))));
  auto accepted = exact.read_response();
  REQUIRE(accepted);
  CHECK(accepted->status == 200);
}

TEST_CASE("a header block above header_bytes_max gets 431 and the connection closes") {
  EchoHandler handler;
  ServerOptions options;
  options.header_bytes_max = 2048;
  auto server = start_server(handler, options);
  RawClient client(server->port());
  REQUIRE(client.send(get("/", "X-Big: " + std::string(4096, 'a') + "\r\n")));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 431);
  CHECK(response->header("Connection") == "close");
  CHECK(client.closed_within(3s));
  CHECK(handler.calls == 0);
}

TEST_CASE("malformed HTTP gets 400 bad_request and the connection closes") {
  EchoHandler handler;
  auto server = start_server(handler);
  for (std::string bytes : {std::string("GET /\x01 HTTP/1.1\r\nHost: t\r\n\r\n"),
                            std::string("GET / HTTP/7.2\r\nHost: t\r\n\r\n"),
                            std::string("POST / HTTP/1.1\r\nContent-Length: banana\r\n\r\n"),
                            std::string("GET / HTTP/1.1\r\nNo colon here\r\n\r\n")}) {
    CAPTURE(bytes);
    RawClient client(server->port());
    REQUIRE(client.send(bytes));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 400);
    CHECK(error_code_of(*response) == "bad_request");
    CHECK(client.closed_within(3s));
  }
  CHECK(handler.calls == 0);
}

TEST_CASE("a client that sends its header too slowly is cut off after header_timeout_ms") {
  EchoHandler handler;
  ServerOptions options;
  options.header_timeout_ms = 300;
  options.idle_timeout_ms = 5'000;
  auto server = start_server(handler, options);

  RawClient client(server->port());
  const auto started = SteadyClock::now();
  REQUIRE(client.send("GET / HTTP/1.1\r\nHost: test\r\nX-Slow: "));
  // One more byte every 50 ms would keep a per-read timeout alive forever.
  bool cut_off = false;
  for (int i = 0; i < 60 && !cut_off; ++i) {
    cut_off = client.closed_within(50ms) || !client.send("a");
  }
  const auto elapsed = SteadyClock::now() - started;
  CHECK(cut_off);
  CHECK(elapsed >= 250ms);
  CHECK(elapsed < 2s);
  CHECK(handler.calls == 0);

  SECTION("a kept-alive connection may idle longer than the header timeout, but not forever") {
    ServerOptions idle_options;
    idle_options.header_timeout_ms = 200;
    idle_options.idle_timeout_ms = 600;
    EchoHandler idle_handler;
    auto idle_server = start_server(idle_handler, idle_options);
    RawClient idle(idle_server->port());
    REQUIRE(idle.send(get("/first")));
    REQUIRE(idle.read_response());
    const auto idle_started = SteadyClock::now();
    CHECK_FALSE(idle.closed_within(400ms));  // past the header timeout, still open
    REQUIRE(idle.send(get("/second")));
    REQUIRE(idle.read_response());
    CHECK(idle.closed_within(2s));
    CHECK(SteadyClock::now() - idle_started >= 900ms);
  }
}

TEST_CASE("a handler that throws gets 500 internal_error and the server keeps serving") {
  EchoHandler handler;
  auto server = start_server(handler);
  RawClient client(server->port());
  REQUIRE(client.send(get("/throw")));
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 500);
  CHECK(error_code_of(*response) == "internal_error");
  CHECK(response->body.find("handler bug") == std::string::npos);  // no internals leak
  REQUIRE(client.send(get("/fine")));
  response = client.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
}

TEST_CASE("a slow handler does not hold up other connections") {
  EchoHandler handler;
  handler.slow_for = 1500ms;
  auto server = start_server(handler);
  auto slow = std::async(std::launch::async, [port = server->port()] {
    RawClient client(port);
    client.send(get("/slow"));
    return client.read_response();
  });
  while (!handler.slow_started) std::this_thread::sleep_for(5ms);

  const auto started = SteadyClock::now();
  RawClient fast(server->port());
  REQUIRE(fast.send(get("/fast")));
  auto response = fast.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(SteadyClock::now() - started < 1000ms);
  auto slow_response = slow.get();
  REQUIRE(slow_response);
  CHECK(slow_response->status == 200);
}

TEST_CASE("stop() lets a running request finish, closes idle connections, refuses new ones") {
  EchoHandler handler;
  handler.slow_for = 600ms;
  auto server = start_server(handler);
  const uint16_t port = server->port();

  RawClient idle(port);
  REQUIRE(idle.send(get("/warm-up")));
  REQUIRE(idle.read_response());

  auto slow = std::async(std::launch::async, [port] {
    RawClient client(port);
    client.send(get("/slow"));
    auto response = client.read_response();
    const bool closed = client.closed_within(2s);
    return std::make_pair(response, closed);
  });
  while (!handler.slow_started) std::this_thread::sleep_for(5ms);

  const auto stop_started = SteadyClock::now();
  server->stop(5s);
  const auto stop_took = SteadyClock::now() - stop_started;
  CHECK(stop_took >= 400ms);  // it waited for the running handler
  CHECK(stop_took < 3s);      // and not for the drain limit or the idle connection

  auto [response, closed] = slow.get();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->header("Connection") == "close");
  CHECK(closed);
  CHECK(idle.closed_within(1s));

  RawClient late(port);
  CHECK((!late.connected() || !late.send(get("/late")) || !late.read_response()));
  server->stop(1s);  // idempotent
}

TEST_CASE("stop() gives up on a request that outlasts the drain, yet waits for its handler") {
  EchoHandler handler;
  handler.slow_for = 800ms;
  auto server = start_server(handler);
  auto slow = std::async(std::launch::async, [port = server->port()] {
    RawClient client(port);
    client.send(get("/slow"));
    return client.read_response();
  });
  while (!handler.slow_started) std::this_thread::sleep_for(5ms);
  const auto stop_started = SteadyClock::now();
  server->stop(100ms);
  CHECK(SteadyClock::now() - stop_started >= 600ms);  // the handler returned before stop() did
  CHECK_FALSE(slow.get());                            // its connection was closed unanswered
}

TEST_CASE("start() refuses a busy port and a host that is not an address") {
  EchoHandler handler;
  auto server = start_server(handler);
  ServerOptions options;
  options.port = server->port();
  auto busy = Server::start(options, [](HttpRequest) { return HttpResponse{}; });
  REQUIRE_FALSE(busy.is_ok());
  CHECK(busy.status().code() == StatusCode::io_error);

  options.port = 0;
  options.host = "not an address";
  auto bad = Server::start(options, [](HttpRequest) { return HttpResponse{}; });
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == StatusCode::invalid_argument);
}

TEST_CASE("16 blocked handlers run at once, and GET /healthz is answered while they block") {
  EchoHandler handler;
  ServerOptions options;  // start_server: 2 I/O threads, so max(2 * 4, 16) = 16 handler threads
  options.run_inline = [](const HttpRequest& request) {
    return request.method == "GET" && request.target == "/healthz";
  };
  auto server = start_server(handler, options);

  std::vector<std::unique_ptr<RawClient>> blocked;
  for (int i = 0; i < 16; ++i) {
    blocked.push_back(std::make_unique<RawClient>(server->port()));
    REQUIRE(blocked.back()->send(get("/block")));
  }
  CHECK(handler.await_blocked(16) == 16);  // each on its own handler thread

  RawClient probe(server->port());
  REQUIRE(probe.send(get("/healthz")));
  auto health = probe.read_response();  // every handler thread is taken: answered inline
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body.starts_with("GET /healthz "));

  handler.open_gate();
  for (auto& client : blocked) {
    auto response = client->read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
  }
}

TEST_CASE("an answer that waits for a completion holds no handler thread: 200 wait at once") {
  // The handler keeps each Responder and returns at once, as App::handle does for a command
  // waiting for its commit; the answers come later, from another thread.
  std::mutex mutex;
  std::condition_variable waiting_changed;
  std::vector<Responder> waiting;
  ServerOptions options;  // 2 I/O threads: 16 handler threads
  options.port = 0;
  options.threads = 2;
  auto started =
      Server::start(options, AsyncRequestHandler([&](HttpRequest request, Responder respond) {
                      if (request.path() != "/wait") {
                        HttpResponse now;
                        now.body = "now";
                        return respond(std::move(now));
                      }
                      std::lock_guard lock(mutex);
                      waiting.push_back(std::move(respond));
                      waiting_changed.notify_all();
                    }));
  REQUIRE(started.is_ok());
  auto server = std::move(started).value();

  constexpr int requests = 200;  // far more than the 16 handler threads
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < requests; ++i) {
    clients.push_back(std::make_unique<RawClient>(server->port()));
    REQUIRE(clients.back()->send(get("/wait")));
  }
  {
    std::unique_lock lock(mutex);
    CHECK(waiting_changed.wait_for(lock, 10s, [&] { return waiting.size() == requests; }));
  }
  RawClient probe(server->port());  // the handler threads are free meanwhile
  REQUIRE(probe.send(get("/now")));
  auto now = probe.read_response();
  REQUIRE(now);
  CHECK(now->body == "now");

  std::thread answerer([&] {
    std::lock_guard lock(mutex);
    for (size_t i = 0; i < waiting.size(); ++i) {
      HttpResponse later;
      later.body = "later " + std::to_string(i);
      waiting[i](later);
      waiting[i](later);  // a second answer is ignored
    }
  });
  answerer.join();
  int answered = 0;
  for (auto& client : clients) {
    auto response = client->read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    if (response->body.starts_with("later ")) ++answered;
  }
  CHECK(answered == requests);
}

TEST_CASE("the body limit is chosen per request from its header, before any body is read") {
  EchoHandler handler;
  ServerOptions options;
  options.body_bytes_max = 8192;  // the cap, whatever body_limit says
  options.body_limit = [](std::string_view method, std::string_view target,
                          std::optional<std::string_view> authorization) {
    if (target == "/huge") return size_t{1} << 30;
    const bool bearer = authorization && authorization->starts_with("Bearer ");
    return method == "POST" && target == "/upload" && bearer ? size_t{4096} : size_t{1024};
  };
  auto server = start_server(handler, options);
  const std::string bearer = "Authorization: Bearer any-token\r\n";
  auto post_with = [](std::string_view target, std::string_view headers, size_t bytes) {
    return "POST " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(headers) +
           "Content-Length: " + std::to_string(bytes) + "\r\n\r\n" + std::string(bytes, 'x');
  };
  auto status_of = [&](const std::string& request) {
    RawClient client(server->port());
    client.send(request);
    auto response = client.read_response();
    return response ? response->status : 0;
  };

  CHECK(status_of(post_with("/json", "", 1024)) == 200);
  CHECK(status_of(post_with("/json", bearer, 1025)) == 413);
  CHECK(status_of(post_with("/upload", bearer, 4096)) == 200);
  CHECK(status_of(post_with("/upload", "", 2000)) == 413);  // no token: the small limit
  CHECK(status_of(post_with("/upload", "Authorization: Basic eDp5\r\n", 2000)) == 413);
  CHECK(status_of(post_with("/upload", bearer, 4097)) == 413);
  CHECK(status_of(post_with("/huge", "", 8192)) == 200);
  CHECK(status_of(post_with("/huge", "", 8193)) == 413);  // body_bytes_max still caps
  CHECK(handler.calls == 3);

  SECTION("an announced body over the limit is refused before 100 Continue") {
    RawClient client(server->port());
    REQUIRE(
        client.send("POST /json HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n"
                    "Expect: 100-continue\r\n\r\n"));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 413);
    CHECK(error_code_of(*response) == "body_too_large");
    CHECK(response->header("Connection") == "close");
  }
  SECTION("a chunked body is held to the same limit") {
    RawClient client(server->port());
    REQUIRE(
        client.send("POST /json HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "400\r\n" +
                    std::string(1024, 'x') + "\r\n1\r\nx\r\n0\r\n\r\n"));
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->status == 413);
    CHECK(handler.calls == 3);
  }
}

TEST_CASE("large bodies beyond large_bodies_max at once get 503 busy; small ones still pass") {
  EchoHandler handler;
  ServerOptions options;
  options.large_body_bytes = 1000;
  options.large_bodies_max = 1;
  auto server = start_server(handler, options);

  // The first large body takes the only slot: 100 Continue shows that it was admitted.
  RawClient first(server->port());
  REQUIRE(
      first.send("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n"
                 "Expect: 100-continue\r\n\r\n"));
  auto interim = first.read_response();
  REQUIRE(interim);
  REQUIRE(interim->status == 100);

  RawClient second(server->port());
  REQUIRE(second.send(post("/upload", std::string(2000, 'y'))));
  auto busy = second.read_response();
  REQUIRE(busy);
  CHECK(busy->status == 503);
  CHECK(error_code_of(*busy) == "busy");
  CHECK(busy->header("Retry-After") == "1");
  CHECK(busy->header("Connection") == "close");

  RawClient small(server->port());
  REQUIRE(small.send(post("/small", std::string(1000, 'z'))));
  auto small_response = small.read_response();
  REQUIRE(small_response);
  CHECK(small_response->status == 200);

  REQUIRE(first.send(std::string(5000, 'x')));
  auto done = first.read_response();
  REQUIRE(done);
  CHECK(done->body == "POST /upload 5000 127.0.0.1");

  RawClient again(server->port());  // the slot came back with the answer
  REQUIRE(again.send(post("/upload", std::string(2000, 'y'))));
  auto accepted = again.read_response();
  REQUIRE(accepted);
  CHECK(accepted->status == 200);
}

TEST_CASE("requests waiting on a dependency have their own bounded pool; others are answered") {
  EchoHandler handler;
  ServerOptions options;
  options.waits_on_dependency = [](std::string_view, std::string_view target) {
    return target == "/block";
  };
  options.dependency_threads = 2;
  options.dependency_queue_max = 1;
  auto server = start_server(handler, options);

  std::vector<std::unique_ptr<RawClient>> waiting;
  for (int i = 0; i < 3; ++i) {  // two on the pool's threads, one queued for a thread
    waiting.push_back(std::make_unique<RawClient>(server->port()));
    REQUIRE(waiting.back()->send(get("/block")));
  }
  CHECK(handler.await_blocked(2) == 2);
  std::this_thread::sleep_for(100ms);  // the third has reached the queue
  RawClient over(server->port());
  REQUIRE(over.send(get("/block")));
  auto busy = over.read_response();
  REQUIRE(busy);
  CHECK(busy->status == 503);
  CHECK(error_code_of(*busy) == "busy");
  CHECK(busy->header("Retry-After") == "1");
  CHECK(busy->header("Connection") != "close");  // a whole request was read: the link stays

  RawClient other(server->port());  // the handler pool is free for everything else
  REQUIRE(other.send(get("/other")));
  auto answered = other.read_response();
  REQUIRE(answered);
  CHECK(answered->status == 200);

  handler.open_gate();
  for (auto& client : waiting) {
    auto response = client->read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
  }
  REQUIRE(over.send(get("/block")));  // the pool has room again
  auto later = over.read_response();
  REQUIRE(later);
  CHECK(later->status == 200);
}

TEST_CASE(
    "a body dribbled below the minimum rate is cut off after the grace; a steady one is read") {
  EchoHandler handler;
  ServerOptions options;
  options.body_grace_ms = 400;
  options.body_rate_min = 2000;  // bytes a second
  auto server = start_server(handler, options);
  const std::string head = "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 4000\r\n\r\n";

  RawClient dribbler(server->port());
  REQUIRE(dribbler.send(head));
  const auto started = SteadyClock::now();
  bool cut = false;
  for (int i = 0; i < 40 && !cut; ++i) {  // a byte every 50 ms: 20 bytes a second
    cut = !dribbler.send("x");
    cut = cut || dribbler.closed_within(50ms);
  }
  CHECK(cut);
  CHECK(SteadyClock::now() - started < 1500ms);
  CHECK(handler.calls == 0);

  RawClient steady(server->port());  // 4000 bytes in 8 pieces over about 0.7 s: 5,700 a second
  REQUIRE(steady.send(head));
  for (int i = 0; i < 8; ++i) {
    REQUIRE(steady.send(std::string(500, 'y')));
    std::this_thread::sleep_for(90ms);
  }
  auto response = steady.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body.starts_with("POST /upload 4000 "));
}

TEST_CASE("at capacity a newcomer takes the place of a connection that never sent a request") {
  EchoHandler handler;
  ServerOptions options;
  options.connections_max = 3;
  auto server = start_server(handler, options);

  // Three connections that send half a header and then nothing: the server is full.
  std::vector<std::unique_ptr<RawClient>> half;
  for (int i = 0; i < 3; ++i) {
    half.push_back(std::make_unique<RawClient>(server->port()));
    REQUIRE(half.back()->send("GET /never HTTP/1.1\r\nHost: te"));
    std::this_thread::sleep_for(30ms);  // accepted in this order
  }
  RawClient newcomer(server->port());
  REQUIRE(newcomer.send(get("/welcome")));
  auto welcome = newcomer.read_response();
  REQUIRE(welcome);
  CHECK(welcome->status == 200);
  CHECK(half[0]->closed_within(2s));  // the oldest of them made room

  SECTION("then idle unauthenticated connections, before authenticated ones") {
    // A connection counts as idle once its answer is written, a moment after the client has it.
    auto settle = [] { std::this_thread::sleep_for(100ms); };
    settle();
    // Now: half[1], half[2], newcomer (idle, served). Two authenticated idle connections
    // replace the two half ones; the next newcomer replaces the unauthenticated idle one.
    RawClient first(server->port());
    REQUIRE(first.send(get("/authenticated")));
    REQUIRE(first.read_response());
    settle();
    RawClient second(server->port());
    REQUIRE(second.send(get("/authenticated")));
    REQUIRE(second.read_response());
    settle();
    CHECK(half[1]->closed_within(2s));
    CHECK(half[2]->closed_within(2s));
    RawClient third(server->port());
    REQUIRE(third.send(get("/next")));
    REQUIRE(third.read_response());
    settle();
    CHECK(newcomer.closed_within(2s));
    // Only authenticated connections and `third` (served, idle) are open: it goes next.
    RawClient fourth(server->port());
    REQUIRE(fourth.send(get("/next")));
    REQUIRE(fourth.read_response());
    CHECK(third.closed_within(2s));
    REQUIRE(first.send(get("/still-here")));
    auto still = first.read_response();
    REQUIRE(still);
    CHECK(still->status == 200);
  }
}

TEST_CASE("a transfer coding that is not chunked is 400 and the connection closes, unread past") {
  EchoHandler handler;
  auto server = start_server(handler);
  RawClient client(server->port());
  REQUIRE(client.send("POST /x HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: xchunked\r\n\r\n" +
                      get("/smuggled")));
  auto refused = client.read_response();
  REQUIRE(refused);
  CHECK(refused->status == 400);
  CHECK(refused->header("Connection") == "close");
  CHECK(client.closed_within(3s));
  CHECK(handler.calls == 0);  // neither request reached the handler
}

TEST_CASE("escrowd calls Paystack only on its own pool, for the routes that do") {
  for (auto [method, target] : {std::pair{"POST", "/bookings/bk-1/pay"},
                                {"POST", "/payments/verify"},
                                {"PUT", "/providers/pr-1/payout-account"},
                                {"POST", "/admin/payouts/po-1/finalize?x=1"},
                                {"POST", "/admin/chargebacks/77/respond"}}) {
    INFO(method << " " << target);
    CHECK(waits_on_paystack(method, target));
  }
  for (auto [method, target] : {std::pair{"GET", "/bookings/bk-1"},
                                {"POST", "/webhooks/paystack"},
                                {"POST", "/bookings/bk-1/complete"},
                                {"POST", "/bookings//pay"},
                                {"POST", "/bookings/bk-1/pay/x"},
                                {"GET", "/bookings/bk-1/pay"},
                                {"GET", "/readyz"}}) {
    INFO(method << " " << target);
    CHECK_FALSE(waits_on_paystack(method, target));
  }
}

TEST_CASE("escrowd reads 52 MiB only for a proof upload with a token; /healthz runs inline") {
  CHECK(request_body_limit("POST", "/bookings/bk-1/complete", true) == upload_request_bytes_max);
  CHECK(request_body_limit("POST", "/bookings/bk-1/complete?x=1", true) ==
        upload_request_bytes_max);
  CHECK(request_body_limit("POST", "/bookings/bk-1/complete", false) == request_bytes_max);
  CHECK(request_body_limit("PUT", "/bookings/bk-1/complete", true) == request_bytes_max);
  CHECK(request_body_limit("POST", "/bookings/bk-1/pay", true) == request_bytes_max);
  CHECK(request_body_limit("POST", "/bookings//complete", true) == request_bytes_max);
  CHECK(request_body_limit("POST", "/bookings/a/b/complete", true) == request_bytes_max);
  CHECK(request_body_limit("POST", "/webhooks/paystack", false) == request_bytes_max);
  CHECK(request_bytes_max > 1024 * 1024);  // a 1 MiB JSON body or webhook fits
  CHECK(upload_request_bytes_max > 50u * 1024 * 1024);
  auto request = [](std::string method, std::string target) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    return r;
  };
  CHECK(answered_inline(request("GET", "/healthz")));
  CHECK(answered_inline(request("GET", "/healthz?x=1")));
  CHECK_FALSE(answered_inline(request("GET", "/readyz")));
  CHECK_FALSE(answered_inline(request("POST", "/healthz")));
}
