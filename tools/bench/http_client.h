// A blocking HTTP/1.1 client over one keep-alive TCP connection, for the benchmark's load
// threads (`escrow-bench http`). Plain http:// on any host; no TLS, no redirects, no proxies.
//
// request() sends one request and reads the whole response. When the connection is closed (the
// server closed an idle keep-alive connection, or it was never opened) it connects again and
// retries once, but only if nothing of the request was answered yet; a failure after that is a
// reply with status 0 and the error in `body`. Beast and Asio stay in http_client.cpp.
// Thread-safety: one HttpConnection per thread; distinct connections are independent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace escrow::bench {

struct Endpoint {
  std::string host;
  uint16_t port = 80;
  std::string base_path;  // without a trailing '/'; usually empty
};

// "http://HOST:PORT[/base]" -> Endpoint; nullopt for anything else (https, no host, bad port).
std::optional<Endpoint> parse_http_url(std::string_view url);

struct HttpReply {
  int status = 0;  // 0: no response (connection error); body then says why
  std::string body;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpConnection {
 public:
  explicit HttpConnection(Endpoint endpoint);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // `target` is appended to the endpoint's base path. A non-empty body is sent as
  // application/json unless `headers` name a Content-Type.
  HttpReply request(std::string_view method, std::string_view target, std::string_view body = {},
                    const Headers& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace escrow::bench
