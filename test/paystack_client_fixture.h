// Test helpers for the Paystack client suites (paystack_client_*_test.cpp): response(), a
// scripted fake HttpTransport, canned Paystack bodies, free_port() and MiniServer, a tiny
// HTTP/1.1 server on 127.0.0.1 (POSIX sockets on a thread).
//
// Contract: FakeTransport answers from its script in order and records every request; its send()
// may run on several threads at once, but script it before the calls and read `seen` after them.
// free_port() returns a loopback port that was free a moment ago (nothing keeps it so).
// MiniServer serves until destroyed, which joins its threads. free_port() and MiniServer's
// constructor fail the running test (REQUIRE) when the socket calls fail, so call them on the
// test's thread. Brings namespaces escrow and escrow::paystack into the including file, as the
// suites are written against them.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net/http_client.h"

using namespace escrow;
using namespace escrow::paystack;

// An HTTP response as a transport returns it.
inline HttpResponse response(int status, std::string body,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
  return HttpResponse{status, std::move(body), std::move(headers)};
}

// ---- a scripted transport ---------------------------------------------------------------

struct FakeTransport : HttpTransport {
  std::deque<Result<HttpResponse>> script;
  std::vector<HttpRequest> seen;
  std::optional<HttpResponse> fallback;  // answered once the script is used up
  std::mutex mutex;

  Result<HttpResponse> send(const HttpRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex);
    seen.push_back(request);
    if (script.empty() && fallback) return *fallback;
    if (script.empty()) return Status(StatusCode::io_error, "fake transport: script exhausted");
    Result<HttpResponse> next = script.front();
    script.pop_front();
    return next;
  }
  void then(HttpResponse r) { script.emplace_back(std::move(r)); }
  void then_fail(StatusCode code = StatusCode::io_error) {
    script.emplace_back(Status(code, "connection reset"));
  }
  int posts() const {
    int n = 0;
    for (const auto& r : seen) n += r.method == HttpMethod::post;
    return n;
  }
};

inline const char* transaction_json =
    R"({"status":true,"message":"Verification successful","data":{"id":4099260516,)"
    R"("reference":"re4lyvq3s3","status":"success","amount":40333,"currency":"NGN"}})";

inline const char* duplicate_transfer_body =
    R"({"status":false,"message":"Please provide a unique reference. Reference already exists on a transfer",)"
    R"("meta":{"nextStep":"Create a new reference for the new transfer"},"type":"validation_error","code":"duplicate_transfer_reference"})";

// ---- sockets ----------------------------------------------------------------------------

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t size = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A tiny HTTP/1.1 server on 127.0.0.1 for transport tests: one connection at a time (or, when
// `concurrent`, each on its own thread: `handler` must then be thread-safe), requests parsed by
// Content-Length, answered by `handler` (an empty answer means: never answer).
class MiniServer {
 public:
  using Handler = std::function<std::string(const std::string& request)>;

  explicit MiniServer(Handler handler, bool close_after_each = false, bool concurrent = false)
      : handler_(std::move(handler)), close_after_each_(close_after_each), concurrent_(concurrent) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 8) == 0);
    socklen_t size = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &size);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~MiniServer() {
    stop_ = true;
    thread_.join();
    for (std::thread& worker : workers_) worker.join();
    ::close(listen_fd_);
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  int accepted() const { return accepted_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  static std::string reply(int status, const std::string& body,
                           const std::string& extra_headers = "") {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
  }

 private:
  bool wait_readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }

  // One request off `fd` into `request`; false when the peer closed or the server stops.
  bool read_request(int fd, std::string& pending, std::string& request) {
    for (;;) {
      size_t head_end = pending.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t length = 0;
        std::string head = pending.substr(0, head_end);
        for (std::string key : {"Content-Length: ", "content-length: "}) {
          size_t at = head.find(key);
          if (at != std::string::npos) length = std::stoul(head.substr(at + key.size()));
        }
        if (pending.size() >= head_end + 4 + length) {
          request = pending.substr(0, head_end + 4 + length);
          pending.erase(0, head_end + 4 + length);
          return true;
        }
      }
      if (!wait_readable(fd)) return false;
      char buffer[4096];
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) return false;
      pending.append(buffer, static_cast<size_t>(n));
    }
  }

  void serve(int fd) {
    std::string pending, request;
    while (read_request(fd, pending, request)) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(request);
      }
      std::string answer = handler_(request);
      if (answer.empty()) {  // never answer: wait for the client to give up
        char c;
        while (wait_readable(fd) && ::read(fd, &c, 1) > 0) {
        }
        return;
      }
      for (size_t sent = 0; sent < answer.size();) {
        ssize_t n = ::send(fd, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<size_t>(n);
      }
      if (close_after_each_) return;
    }
  }

  void run() {
    while (wait_readable(listen_fd_)) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++accepted_;
      auto serve_and_close = [this, fd] {
        serve(fd);
        ::close(fd);
      };
      if (concurrent_) {
        workers_.emplace_back(serve_and_close);
      } else {
        serve_and_close();
      }
    }
  }

  Handler handler_;
  bool close_after_each_;
  bool concurrent_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
  std::vector<std::thread> workers_;  // concurrent connections; touched by thread_ until joined
};
