// Test helpers around tools/paystack-sim: ChildProcess (a program run by a test, killed when the
// test is done) and PaystackSim (the simulator at ESCROW_TEST_BINARY_DIR/paystack-sim, started on
// a free loopback port, with small HTTP calls to its /_sim/ control API).
//
// Contract: one simulator per test binary, started on first use with the secret key of that
// first call (a test binary uses one key) and stopped at exit; its webhooks go to a closed port
// (tests that need them post the signed bodies themselves, read from GET /_sim/state). Every
// failed control call fails the running test (REQUIRE). Not thread-safe: call from the test's
// thread only (Catch2 assertions are not thread-safe).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"

// A child process; killed (SIGTERM) and reaped when destroyed. Its stdout is a pipe whose first
// line can be read; the rest is drained on a thread so that the child never blocks on it. With
// `quiet`, its stderr goes to /dev/null.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv, bool quiet = true) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      if (quiet) {
        int null_fd = ::open("/dev/null", O_WRONLY);
        ::dup2(null_fd, STDERR_FILENO);
      }
      ::close(fds[0]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (drain_.joinable()) drain_.join();
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The first stdout line, or what came of it after `timeout`; then starts draining.
  std::string first_line(std::chrono::milliseconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd fd{out_fd_, POLLIN, 0};
      if (::poll(&fd, 1, 50) <= 0) continue;
      char c;
      if (::read(out_fd_, &c, 1) != 1 || c == '\n') break;
      line += c;
    }
    int fd = out_fd_;
    drain_ = std::thread([fd] {
      char buffer[4096];
      while (::read(fd, buffer, sizeof buffer) > 0) {
      }
    });
    return line;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::thread drain_;
};

class PaystackSim {
 public:
  static std::string binary() { return std::string(ESCROW_TEST_BINARY_DIR) + "/paystack-sim"; }

  // The simulator of this test binary; nullptr when it is not built or did not start.
  static PaystackSim* shared(const std::string& secret_key) {
    static std::unique_ptr<PaystackSim> sim = start(secret_key);
    return sim.get();
  }
  // shared(), reset to nothing recorded; nullptr, with a SKIPPED warning, when there is none (the
  // caller then returns: the test is skipped).
  static PaystackSim* fresh_or_skip(const std::string& secret_key) {
    PaystackSim* sim = shared(secret_key);
    if (sim == nullptr) {
      WARN("SKIPPED: paystack-sim not found at "
           << binary() << " (or it failed to start); build target paystack-sim");
      return nullptr;
    }
    sim->reset();
    return sim;
  }
  // shared(); the test fails when there is none.
  static PaystackSim& running(const std::string& secret_key) {
    PaystackSim* sim = shared(secret_key);
    INFO("paystack-sim is not built at " << binary() << ", or did not start");
    REQUIRE(sim != nullptr);
    return *sim;
  }
  // running(), reset to nothing recorded.
  static PaystackSim& fresh(const std::string& secret_key) {
    PaystackSim& sim = running(secret_key);
    sim.reset();
    return sim;
  }

  const std::string& base_url() const { return base_url_; }

  // POST to the control API; the response must be 2xx.
  void control(const std::string& path, const std::string& body) {
    auto r = control_->send({escrow::paystack::HttpMethod::post, path, body});
    REQUIRE(r.is_ok());
    INFO(path << " " << body << " -> " << r->body);
    REQUIRE(r->status / 100 == 2);
  }
  void reset() { control("/_sim/reset", "{}"); }
  // The customer completes the checkout of `reference` with `outcome` (success, failed...).
  void pay(const std::string& reference, const std::string& outcome = "success") {
    control("/_sim/transactions/" + reference + "/pay", R"({"outcome":")" + outcome + R"("})");
  }

  // GET /_sim/state, the `data` of the envelope when there is one.
  rapidjson::Document state() {
    auto r = control_->send({escrow::paystack::HttpMethod::get, "/_sim/state", ""});
    REQUIRE(r.is_ok());
    REQUIRE(r->status == 200);
    rapidjson::Document doc;
    doc.Parse(r->body.c_str());
    REQUIRE(doc.IsObject());
    if (doc.HasMember("data") && doc["data"].IsObject()) {
      rapidjson::Document data;
      data.CopyFrom(doc["data"], data.GetAllocator());
      return data;
    }
    return doc;
  }
  // How many items the state's `collection` (transactions, transfers, refunds...) holds.
  size_t count(const char* collection) {
    rapidjson::Document s = state();
    REQUIRE(s.HasMember(collection));
    return s[collection].Size();
  }
  // Whether the only item of `collection` has status `want`, waiting up to 5 s for it.
  bool wait_for_status(const char* collection, const std::string& want) {
    using namespace std::chrono_literals;
    for (int i = 0; i < 100; ++i) {
      rapidjson::Document s = state();
      const auto& items = s[collection];
      if (items.Size() == 1 && want == items[0]["status"].GetString()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  // The signed body of the first webhook the simulator produced for (event, reference), waiting
  // up to 5 s for it; the test fails when there is none.
  std::string webhook_body(const std::string& event, const std::string& reference) {
    using namespace std::chrono_literals;
    for (int i = 0; i < 100; ++i) {
      rapidjson::Document s = state();
      for (const auto& w : s["webhooks"].GetArray()) {
        if (event == w["event"].GetString() && reference == w["reference"].GetString()) {
          return w["body"].GetString();
        }
      }
      std::this_thread::sleep_for(50ms);
    }
    FAIL("the simulator sent no " << event << " for " << reference);
    return {};
  }

 private:
  static std::unique_ptr<PaystackSim> start(const std::string& secret_key) {
    using namespace std::chrono_literals;
    if (!std::filesystem::exists(binary())) return nullptr;
    auto sim = std::make_unique<PaystackSim>();
    sim->child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary(), "--listen", "127.0.0.1:0", "--secret-key", secret_key,
                                 "--webhook-url", "http://127.0.0.1:9/webhooks/paystack"});
    std::string line = sim->child_->first_line(10s);
    const std::string prefix = "paystack-sim listening on ";
    if (line.rfind(prefix, 0) != 0) {
      WARN("paystack-sim did not announce itself; first line: " << line);
      return nullptr;
    }
    sim->base_url_ = line.substr(prefix.size());
    while (!sim->base_url_.empty() &&
           std::isspace(static_cast<unsigned char>(sim->base_url_.back())))
      sim->base_url_.pop_back();
    escrow::net::HttpClientConfig config;
    config.base_url = sim->base_url_;
    config.secret_key = secret_key;
    auto http = escrow::net::HttpClient::create(config);
    if (!http.is_ok()) return nullptr;
    sim->control_ = std::move(http).value();
    return sim;
  }

  std::unique_ptr<ChildProcess> child_;
  std::unique_ptr<escrow::net::HttpClient> control_;
  std::string base_url_;
};
