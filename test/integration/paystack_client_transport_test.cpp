// Tests of the Paystack HTTP transport (net/http_client.h) over real sockets on loopback:
// MiniServer (test/paystack_client_fixture.h) checks headers, keep-alive reuse, reconnecting
// after the server closed, read timeouts and the body limit, and pooled connections (slow calls
// overlap, never on more connections than connections_max, a failed open frees its slot);
// `openssl s_server` with throw-away certificates (trusted through SSL_CERT_FILE) checks that
// TLS verification is on, including the host name check. The loopback-only rule for http:// is
// checked on HttpClient::create and Client::create.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "paystack/client.h"
#include "test/paystack_client_fixture.h"
#include "test/paystack_sim.h"

using namespace escrow;
using namespace escrow::paystack;
using namespace std::chrono_literals;

namespace {

bool port_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::unique_ptr<HttpClient> http_client(const std::string& base_url, int request_timeout_ms = 5'000,
                                        size_t body_max = response_body_bytes_max_default) {
  HttpClientConfig config;
  config.base_url = base_url;
  config.secret_key = "sk_test_transport";
  config.request_timeout_ms = request_timeout_ms;
  config.connect_timeout_ms = 2'000;
  config.response_body_bytes_max = body_max;
  Result<std::unique_ptr<HttpClient>> made = HttpClient::create(config);
  REQUIRE(made.is_ok());
  return std::move(made.value());
}

}  // namespace

TEST_CASE("plain http only for loopback hosts", "[transport][loopback]") {
  for (const char* host :
       {"127.0.0.1", "127.9.8.7", "127.255.255.254", "::1", "[::1]", "localhost", "LocalHost"}) {
    INFO(host);
    CHECK(net::is_loopback_host(host));
  }
  for (const char* host : {"128.0.0.1", "10.0.0.1", "0.0.0.0", "::", "::ffff:8.8.8.8",
                           "example.com", "localhost.example.com", "127.0.0.1.nip.io", ""}) {
    INFO(host);
    CHECK_FALSE(net::is_loopback_host(host));
  }
  for (const char* url :
       {"http://127.0.0.1:1", "http://127.5.6.7", "http://[::1]:8080", "http://localhost",
        "http://LOCALHOST:80/prefix", "https://api.paystack.co", "https://127.0.0.1:8443"}) {
    INFO(url);
    HttpClientConfig config;
    config.base_url = url;
    config.secret_key = "sk_test_x";
    CHECK(HttpClient::create(config).is_ok());
  }
  for (const char* url :
       {"http://api.paystack.co", "http://10.0.0.1:8080", "http://127.0.0.1.nip.io",
        "http://192.168.1.1", "http://[2001:db8::1]", "ftp://127.0.0.1", "not a url",
        "https://user:pw@api.paystack.co", "https://api.paystack.co/?x=1", ""}) {
    INFO(url);
    HttpClientConfig config;
    config.base_url = url;
    config.secret_key = "sk_test_x";
    auto made = HttpClient::create(config);
    REQUIRE_FALSE(made.is_ok());
    CHECK(made.status().code() == StatusCode::invalid_argument);
  }
  HttpClientConfig config;
  config.base_url = "http://api.paystack.co";
  CHECK(HttpClient::create(config).status().message().find("loopback") != std::string::npos);
  ClientConfig client_config;
  client_config.base_url = "http://10.1.2.3";
  client_config.secret_key = "sk_test_x";
  CHECK(Client::create(client_config).status().code() == StatusCode::invalid_argument);
  client_config.base_url = "http://127.0.0.1:9";
  client_config.secret_key = "";
  CHECK(Client::create(client_config).status().code() == StatusCode::invalid_argument);
}

TEST_CASE("HTTP transport: headers, keep-alive, reconnects, timeouts, limits", "[transport]") {
  SECTION("headers sent, one connection reused") {
    MiniServer server(
        [](const std::string&) { return MiniServer::reply(200, R"({"status":true})"); });
    auto client = http_client(server.base_url() + "/v1/");
    REQUIRE(client->send({HttpMethod::get, "/balance", ""}).is_ok());
    auto posted = client->send({HttpMethod::post, "/transfer", R"({"a":1})"});
    REQUIRE(posted.is_ok());
    CHECK(posted->status == 200);
    CHECK(posted->header("content-type") == std::optional<std::string>("application/json"));
    CHECK(posted->header("Content-Type") == std::optional<std::string>("application/json"));
    auto requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].rfind("GET /v1/balance HTTP/1.1\r\n", 0) == 0);
    CHECK(requests[0].find("Authorization: Bearer sk_test_transport\r\n") != std::string::npos);
    CHECK(requests[0].find("User-Agent: ") != std::string::npos);
    CHECK(requests[0].find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") !=
          std::string::npos);
    CHECK(requests[1].rfind("POST /v1/transfer HTTP/1.1\r\n", 0) == 0);
    CHECK(requests[1].find("Content-Type: application/json\r\n") != std::string::npos);
    CHECK(requests[1].find("\r\n\r\n{\"a\":1}") != std::string::npos);
    CHECK(server.accepted() == 1);
    CHECK(client->connections_opened() == 1);
  }
  SECTION("the server closes after each answer: the next call reconnects") {
    MiniServer server([](const std::string&) { return MiniServer::reply(200, "{}"); },
                      /*close_after_each=*/true);
    auto client = http_client(server.base_url());
    for (int i = 0; i < 3; ++i) {
      // Give the server time to close, as an idle keep-alive connection would be closed: the
      // client must notice before it sends (a POST is never resent on a dead connection).
      if (i > 0) std::this_thread::sleep_for(50ms);
      auto result = client->send({HttpMethod::post, "/x", "{}"});
      if (!result.is_ok()) FAIL(result.status().to_string());
    }
    std::this_thread::sleep_for(50ms);
    CHECK(server.accepted() == 3);
    CHECK(client->connections_opened() == 3);
  }
  SECTION("Connection: close is honoured") {
    MiniServer server(
        [](const std::string&) { return MiniServer::reply(200, "{}", "Connection: close\r\n"); },
        true);
    auto client = http_client(server.base_url());
    REQUIRE(client->send({HttpMethod::get, "/x", ""}).is_ok());
    REQUIRE(client->send({HttpMethod::get, "/x", ""}).is_ok());
    CHECK(client->connections_opened() == 2);
  }
  SECTION("no answer: a timeout, as io_error") {
    MiniServer server([](const std::string&) { return std::string(); });
    auto client = http_client(server.base_url(), /*request_timeout_ms=*/300);
    auto started = std::chrono::steady_clock::now();
    auto result = client->send({HttpMethod::get, "/slow", ""});
    auto elapsed = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.status().code() == StatusCode::io_error);
    CHECK(result.status().message().find("timed out") != std::string::npos);
    CHECK(elapsed < 3s);
  }
  SECTION("a body over the limit is refused as corrupt") {
    std::string big(64 * 1024, 'x');
    MiniServer server([&](const std::string&) { return MiniServer::reply(200, big); });
    auto client = http_client(server.base_url(), 5'000, 16 * 1024);
    auto result = client->send({HttpMethod::get, "/big", ""});
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.status().code() == StatusCode::corrupt);
  }
  SECTION("garbage instead of HTTP is corrupt") {
    MiniServer server([](const std::string&) { return std::string("SMTP ready\r\n\r\n"); });
    auto client = http_client(server.base_url());
    auto result = client->send({HttpMethod::get, "/x", ""});
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.status().code() == StatusCode::corrupt);
  }
  SECTION("connection refused is io_error") {
    auto client = http_client("http://127.0.0.1:" + std::to_string(free_port()));
    auto result = client->send({HttpMethod::get, "/x", ""});
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.status().code() == StatusCode::io_error);
  }
  SECTION("the Client retries a timed-out GET but not a timed-out POST") {
    MiniServer server([](const std::string&) { return std::string(); });
    HttpClientConfig config;
    config.base_url = server.base_url();
    config.secret_key = "sk_test_transport";
    config.request_timeout_ms = 200;
    auto transport = HttpClient::create(config);
    REQUIRE(transport.is_ok());
    std::vector<int64_t> sleeps;
    Client client(std::shared_ptr<HttpTransport>(std::move(transport.value())), RetryPolicy{},
                  [&](std::chrono::milliseconds ms) { sleeps.push_back(ms.count()); });
    CHECK(client.verify_transaction("slow-reference-01").error().attempts == attempts_max_default);
    CHECK(sleeps.size() == static_cast<size_t>(attempts_max_default - 1));
    size_t before = server.requests().size();
    CHECK(client.finalize_transfer("TRF_x", "123456").error().kind == ErrorKind::unavailable);
    CHECK(server.requests().size() == before + 1);
  }
}

TEST_CASE("pooled transport: slow calls run side by side, never on more connections than allowed",
          "[transport][pool]") {
  // The server answers a request only once its partner has arrived as well (requests pair up in
  // arrival order); a request left alone gets 503 after 5 s. Calls serialised on one connection
  // could never pair up, so every call succeeding shows that they overlapped.
  std::mutex mutex;
  std::condition_variable arrivals;
  int arrived = 0;
  MiniServer server(
      [&](const std::string&) {
        std::unique_lock<std::mutex> lock(mutex);
        const int partners = (arrived++ / 2 + 1) * 2;
        arrivals.notify_all();
        if (!arrivals.wait_for(lock, 5s, [&] { return arrived >= partners; }))
          return MiniServer::reply(503, R"({"status":false,"message":"no partner came"})");
        return MiniServer::reply(200, transaction_json);
      },
      /*close_after_each=*/false, /*concurrent=*/true);
  ClientConfig config;
  config.base_url = server.base_url();
  config.secret_key = "sk_test_pool";
  config.connections_max = 2;
  config.retry.attempts_max = 1;
  auto client = Client::create(config);
  REQUIRE(client.is_ok());

  std::atomic<int> verified{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back(
        [&] { verified += client.value()->verify_transaction("re4lyvq3s3").is_ok(); });
  }
  for (std::thread& caller : callers) caller.join();
  CHECK(verified == 4);           // two pairs, each pair in flight together
  CHECK(server.accepted() == 2);  // the third and fourth calls waited for a pooled connection

  SECTION("connections_max must be positive") {
    config.connections_max = 0;
    auto refused = Client::create(config);
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.status().code() == StatusCode::invalid_argument);
  }
}

TEST_CASE("pooled transport: a transport that cannot be opened gives its slot back",
          "[transport][pool]") {
  std::atomic<int> attempts{0};
  auto fake = std::make_shared<FakeTransport>();
  fake->fallback = response(200, "{}");
  struct Forward : HttpTransport {
    std::shared_ptr<HttpTransport> inner;
    Result<HttpResponse> send(const HttpRequest& r) override { return inner->send(r); }
  };
  PooledTransport pool(
      [&]() -> Result<std::unique_ptr<HttpTransport>> {
        if (attempts++ == 0) return Status(StatusCode::io_error, "cannot open");
        auto forward = std::make_unique<Forward>();
        forward->inner = fake;
        return std::unique_ptr<HttpTransport>(std::move(forward));
      },
      1);
  auto failed = pool.send({HttpMethod::get, "/balance", ""});
  REQUIRE_FALSE(failed.is_ok());
  CHECK(failed.status().code() == StatusCode::io_error);
  CHECK(pool.transports_opened() == 0);
  CHECK(pool.send({HttpMethod::get, "/balance", ""}).is_ok());  // does not wait forever
  CHECK(pool.send({HttpMethod::get, "/balance", ""}).is_ok());  // reuses the one transport
  CHECK(pool.transports_opened() == 1);
  CHECK(attempts == 2);
}

TEST_CASE("TLS: certificates are verified, host names included", "[transport][tls]") {
  if (!std::filesystem::exists("/usr/bin/openssl")) {
    WARN("SKIPPED: /usr/bin/openssl is not installed; TLS verification not exercised");
    return;
  }
  char pattern[] = "/tmp/paystack-tls-test-XXXXXX";
  REQUIRE(mkdtemp(pattern) != nullptr);
  std::filesystem::path dir = pattern;
  auto make_cert = [&](const std::string& name, const std::string& san) {
    std::string cmd =
        "/usr/bin/openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test -keyout " +
        (dir / (name + ".key")).string() + " -out " + (dir / (name + ".pem")).string() +
        " -addext subjectAltName=" + san + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
  };
  make_cert("good", "DNS:localhost,IP:127.0.0.1");
  make_cert("other", "DNS:other.example");
  auto serve = [&](const std::string& name, int port) {
    auto child = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/openssl", "s_server", "-accept", std::to_string(port),
                                 "-cert", (dir / (name + ".pem")).string(), "-key",
                                 (dir / (name + ".key")).string(), "-www", "-quiet"},
        /*quiet=*/true);
    for (int i = 0; i < 100 && !port_accepts(port); ++i) std::this_thread::sleep_for(50ms);
    return child;
  };
  auto https = [](int port, const std::string& host) {
    HttpClientConfig config;
    config.base_url = "https://" + host + ":" + std::to_string(port);
    config.secret_key = "sk_test_tls";
    config.connect_timeout_ms = 3'000;
    auto client = HttpClient::create(config);
    REQUIRE(client.is_ok());
    return client.value()->send({HttpMethod::get, "/", ""});
  };

  SECTION("an untrusted certificate is refused") {
    ::unsetenv("SSL_CERT_FILE");
    int port = free_port();
    auto server = serve("good", port);
    auto result = https(port, "localhost");
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.status().code() == StatusCode::io_error);
    CHECK(result.status().message().find("certificate verify failed") != std::string::npos);
  }
  SECTION("a trusted certificate for the host is accepted, by name and by address") {
    ::setenv("SSL_CERT_FILE", (dir / "good.pem").c_str(), 1);
    int port = free_port();
    auto server = serve("good", port);
    auto by_name = https(port, "localhost");
    if (!by_name.is_ok()) FAIL(by_name.status().to_string());
    CHECK(by_name->status == 200);
    auto by_address = https(port, "127.0.0.1");
    if (!by_address.is_ok()) FAIL(by_address.status().to_string());
    CHECK(by_address->status == 200);
    ::unsetenv("SSL_CERT_FILE");
  }
  SECTION("a trusted certificate for another host is refused") {
    ::setenv("SSL_CERT_FILE", (dir / "other.pem").c_str(), 1);
    int port = free_port();
    auto server = serve("other", port);
    auto result = https(port, "localhost");
    ::unsetenv("SSL_CERT_FILE");
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.status().message().find("certificate verify failed") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}
