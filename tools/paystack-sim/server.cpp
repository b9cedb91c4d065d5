// The simulator's shell (see server.h): a C++20-coroutine Beast server in the shape of Beast's
// async examples (expires_after before every operation, body_limit on every parser), and the
// Shell that carries out a response's Effects: webhooks to the sender, follow-ups to timers.
#include "server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <iostream>

#include "routes.h"
#include "state.h"
#include "webhooks.h"

namespace paystack_sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kBodyBytesMax = 1024 * 1024;
constexpr size_t kHeaderBytesMax = 16 * 1024;
constexpr auto kReadTimeout = std::chrono::seconds(30);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr size_t kConnectionsMax = 512;
constexpr size_t kFollowUpsPendingMax = 200'000;

// Carries out what a state change asks for: webhooks now, follow-ups after their delay.
class Shell {
 public:
  Shell(net::io_context& io, SimState& state, WebhookSender& webhooks)
      : io_(io), state_(state), webhooks_(webhooks) {}

  void apply(Effects effects) {
    for (const auto& webhook : effects.webhooks) webhooks_.enqueue(webhook, state_.config());
    for (const auto& follow_up : effects.follow_ups) {
      if (pending_ >= kFollowUpsPendingMax) {
        std::cerr << "paystack-sim: too many pending follow-ups; one was dropped\n";
        continue;
      }
      ++pending_;
      net::co_spawn(io_, wait_then_run(this, follow_up), net::detached);
    }
  }

 private:
  static net::awaitable<void> wait_then_run(Shell* self, FollowUp follow_up) {
    net::steady_timer timer(self->io_, std::chrono::milliseconds(follow_up.delay_ms));
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    --self->pending_;
    self->apply(self->state_.run_follow_up(follow_up));
  }

  net::io_context& io_;
  SimState& state_;
  WebhookSender& webhooks_;
  size_t pending_ = 0;
};

struct Context {
  Router& router;
  Shell& shell;
  size_t connections = 0;
};

HttpRequest to_request(const http::request<http::string_body>& req) {
  HttpRequest request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  if (auto it = req.find(http::field::authorization); it != req.end())
    request.authorization = std::string(it->value());
  if (auto it = req.find(http::field::content_type); it != req.end())
    request.content_type = std::string(it->value());
  request.body = req.body();
  return request;
}

std::string_view path_only(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// One answer; false when the connection must close afterwards.
net::awaitable<bool> answer(beast::tcp_stream& stream, Context* ctx,
                            const http::request<http::string_body>& req) {
  const auto started = std::chrono::steady_clock::now();
  HttpResponse out = ctx->router.handle(to_request(req));
  ctx->shell.apply(std::move(out.effects));
  if (out.delay_ms > 0) {
    net::steady_timer timer(co_await net::this_coro::executor,
                            std::chrono::milliseconds(out.delay_ms));
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
  }
  http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
  res.set(http::field::server, "paystack-sim");
  res.set(http::field::content_type, out.content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(out.body);
  res.prepare_payload();
  stream.expires_after(kWriteTimeout);
  auto [ec, written] = co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  // The path only: no query string, no header (the key never reaches the log).
  std::cerr << "paystack-sim: " << req.method_string() << " " << path_only(req.target()) << " "
            << out.status << " " << ms << "ms\n";
  co_return !ec && req.keep_alive();
}

net::awaitable<void> session(tcp::socket socket, Context* ctx) {
  ++ctx->connections;
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderBytesMax);
    parser.body_limit(kBodyBytesMax);
    stream.expires_after(kReadTimeout);
    auto [ec, read] =
        co_await http::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
    if (ec == http::error::body_limit) {
      http::response<http::string_body> res{http::status::payload_too_large, 11};
      res.set(http::field::content_type, "application/json; charset=utf-8");
      res.body() = R"({"status":false,"message":"Request body is too large"})";
      res.keep_alive(false);
      res.prepare_payload();
      stream.expires_after(kWriteTimeout);
      co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
      break;
    }
    if (ec) break;
    if (!co_await answer(stream, ctx, parser.get())) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  --ctx->connections;
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, Context* ctx) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
    if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;
    if (ctx->connections >= kConnectionsMax) {
      socket.close(ec);
      continue;
    }
    net::co_spawn(acceptor.get_executor(), session(std::move(socket), ctx), net::detached);
  }
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

int run_simulator(const ServerOptions& options) {
  net::io_context io{1};
  tcp::acceptor acceptor(io);
  try {
    auto address = net::ip::make_address(options.host == "localhost" ? "127.0.0.1" : options.host);
    tcp::endpoint endpoint(address, options.port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(net::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    std::cerr << "paystack-sim: cannot listen on " << options.host << ":" << options.port << ": "
              << e.what() << "\n";
    return 1;
  }
  const std::string base =
      "http://" + url_host(options.host) + ":" + std::to_string(acceptor.local_endpoint().port());
  SimState state(SimOptions{options.public_url.empty() ? base : options.public_url,
                            options.opening_balance, options.webhook_url});
  WebhookSender webhooks(io, options.secret_key);
  Router router(state, webhooks, options.secret_key);
  Shell shell(io, state, webhooks);
  Context ctx{router, shell};

  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const beast::error_code&, int) {
    std::cerr << "paystack-sim: stopping\n";
    beast::error_code ignored;
    acceptor.close(ignored);
    webhooks.stop();
    io.stop();
  });
  net::co_spawn(io, accept_loop(acceptor, &ctx), net::detached);
  std::cout << "paystack-sim listening on " << base << std::endl;  // flushed: tests wait on it
  io.run();
  return 0;
}

}  // namespace paystack_sim
