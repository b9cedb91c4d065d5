// bench-min-server: the reference for HTTP throughput. A minimal Boost.Beast HTTP/1.1 server in
// the shape of escrowd's (api/server.cpp): C++20 coroutines on one io_context run by --threads
// threads (4 by default, escrowd's ESCROW_THREADS default), a strand per connection, keep-alive,
// a timeout before every read and write and a body limit on every parser. It answers every GET
// (any target) with a small fixed JSON body and anything else with 405; no routing, no
// authentication, no handler pool, no storage. tools/bench/limits.sh drives it with the same wrk
// settings as escrowd's GET /bookings/:id.
//
// It prints `bench-min-server listening on http://HOST:PORT` once it accepts, and stops on
// SIGINT or SIGTERM.
#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr auto idle_timeout = std::chrono::seconds(30);
constexpr auto write_timeout = std::chrono::seconds(10);
constexpr size_t header_bytes_max = 16 * 1024;
constexpr size_t body_bytes_max = 64 * 1024;
constexpr char answer_body[] =
    R"({"id":"b-1","status":"pending","amount":5000000,"currency":"NGN"})";

http::response<http::string_body> answer(const http::request<http::string_body>& request) {
  bool get = request.method() == http::verb::get;
  http::response<http::string_body> response(
      get ? http::status::ok : http::status::method_not_allowed, request.version());
  response.set(http::field::content_type, "application/json");
  response.keep_alive(request.keep_alive());
  response.body() = get ? answer_body : R"({"error":"method_not_allowed"})";
  response.prepare_payload();
  return response;
}

net::awaitable<void> serve(beast::tcp_stream stream) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_bytes_max);
    parser.body_limit(body_bytes_max);
    stream.expires_after(idle_timeout);
    auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (read_error) break;  // closed, timed out or malformed: nothing more to answer
    auto response = answer(parser.get());
    stream.expires_after(write_timeout);
    auto [write_error, written] = co_await http::async_write(stream, response, use_tuple);
    if (write_error || !response.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<void> accept(net::io_context& io, tcp::acceptor& acceptor) {
  for (;;) {
    auto [error, socket] = co_await acceptor.async_accept(net::make_strand(io), use_tuple);
    if (error == net::error::operation_aborted) co_return;
    if (error) continue;
    socket.set_option(tcp::no_delay(true), error);
    auto executor = socket.get_executor();
    net::co_spawn(executor, serve(beast::tcp_stream(std::move(socket))), net::detached);
  }
}

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  int threads = 4;
};

int run(const Options& options) {
  net::io_context io(options.threads);
  beast::error_code error;
  auto address = net::ip::make_address(options.host, error);
  if (error) {
    std::fprintf(stderr, "bench-min-server: bad address %s\n", options.host.c_str());
    return 2;
  }
  tcp::acceptor acceptor(io);
  tcp::endpoint endpoint(address, options.port);
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(net::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(net::socket_base::max_listen_connections, error);
  if (error) {
    std::fprintf(stderr, "bench-min-server: listen: %s\n", error.message().c_str());
    return 1;
  }
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const beast::error_code&, int) { io.stop(); });
  net::co_spawn(io, accept(io, acceptor), net::detached);

  tcp::endpoint bound = acceptor.local_endpoint();
  std::printf("bench-min-server listening on http://%s:%u (%d threads)\n",
              bound.address().to_string().c_str(), unsigned{bound.port()}, options.threads);
  std::fflush(stdout);
  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& thread : threads) thread.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench-min-server: a minimal Boost.Beast server, the HTTP throughput reference"};
  Options options;
  app.add_option("--host", options.host, "address to listen on")->capture_default_str();
  app.add_option("--port", options.port, "port to listen on (0: any free one)")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "I/O threads (escrowd's ESCROW_THREADS default)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return run(options);
}
