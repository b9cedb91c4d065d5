#include "http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

namespace escrow::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<Endpoint> parse_http_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) return std::nullopt;
  url.remove_prefix(scheme.size());
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : url.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  Endpoint endpoint;
  endpoint.base_path = std::string(path);
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    endpoint.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty()) port_text = rest.substr(1);
  } else {
    size_t colon = authority.rfind(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (endpoint.host.empty()) return std::nullopt;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (error != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535)
      return std::nullopt;
    endpoint.port = static_cast<uint16_t>(value);
  }
  return endpoint;
}

struct HttpConnection::Impl {
  explicit Impl(Endpoint e) : endpoint(std::move(e)), stream(io) {}

  beast::error_code connect() {
    beast::error_code error;
    stream.socket().close(error);
    tcp::resolver resolver(io);
    auto addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), error);
    if (error) return error;
    stream.connect(addresses, error);
    if (!error) stream.socket().set_option(tcp::no_delay(true), error);
    return error;
  }

  Endpoint endpoint;
  asio::io_context io;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  bool open = false;
};

HttpConnection::HttpConnection(Endpoint endpoint)
    : impl_(std::make_unique<Impl>(std::move(endpoint))) {}

HttpConnection::~HttpConnection() {
  beast::error_code ignored;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

HttpReply HttpConnection::request(std::string_view method, std::string_view target,
                                  std::string_view body, const Headers& headers) {
  http::request<http::string_body> request;
  request.method(http::string_to_verb(method));
  request.target(impl_->endpoint.base_path + std::string(target));
  request.version(11);
  request.set(http::field::host, impl_->endpoint.host + ":" + std::to_string(impl_->endpoint.port));
  request.keep_alive(true);
  bool typed = false;
  for (const auto& [name, value] : headers) {
    request.set(name, value);
    if (beast::iequals(name, "Content-Type")) typed = true;
  }
  if (!body.empty() && !typed) request.set(http::field::content_type, "application/json");
  request.body() = std::string(body);
  request.prepare_payload();

  beast::error_code error;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = impl_->open;
    if (!impl_->open) {
      error = impl_->connect();
      if (error) return HttpReply{0, "connect: " + error.message()};
      impl_->open = true;
      impl_->buffer.clear();
    }
    http::write(impl_->stream, request, error);
    http::response<http::string_body> response;
    if (!error) http::read(impl_->stream, impl_->buffer, response, error);
    if (!error) {
      if (!response.keep_alive()) impl_->open = false;
      return HttpReply{static_cast<int>(response.result_int()), std::move(response.body())};
    }
    impl_->open = false;
    if (!reused) break;  // a fresh connection failed: no point in another
  }
  return HttpReply{0, std::string(method) + " " + std::string(target) + ": " + error.message()};
}

}  // namespace escrow::bench
