// Outbound notifications (service/notifier.h): what the marketplace receives, signed, once per
// event, retried with backoff, and still right after a restart.
//
// How: each test migrates a fresh database, appends real events through EventStore and
// CommandShell (bookings created, paid, proven, approved), and points the notifier at a small
// HTTP/1.1 receiver on a loopback port opened by the test (raw sockets, answering each request
// with the next scripted status). The test checks the requests the receiver got: the signature
// (recomputed here with OpenSSL, and against a fixed vector), unique ids, the body, that a 500
// is retried after the backoff and not before, that a restarted notifier neither loses an
// undelivered notification nor re-sends a delivered one, that a refused connection is recorded,
// and that the background thread delivers on its own.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/hash.h"
#include "ledger/store/event_store.h"
#include "ledger/store/shell.h"
#include "ledger/text.h"
#include "projections/live.h"
#include "service/notifier.h"
#include "test/ledger_db.h"

using namespace escrow;
using namespace escrow::service;

namespace {

const char* const secret = "whsec_notify_test_secret";

struct Received {
  std::string target, signature, notification_id, content_type, body;
};

// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1:<ephemeral>. Each request is answered
// with the next scripted status (200 once the script is used up) and `Connection: close`.
class Receiver {
 public:
  Receiver() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 16) == 0);
    socklen_t size = sizeof addr;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &size) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    stopping_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void script(std::vector<int> statuses) {
    std::lock_guard lock(mutex_);
    statuses_.assign(statuses.begin(), statuses.end());
  }
  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  void serve() {
    while (!stopping_) {
      pollfd fd{listen_fd_, POLLIN, 0};
      if (::poll(&fd, 1, 50) <= 0) continue;
      int conn = ::accept(listen_fd_, nullptr, nullptr);
      if (conn < 0) continue;
      timeval timeout{5, 0};
      ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      handle(conn);
      ::close(conn);
    }
  }

  void handle(int conn) {
    std::string data;
    char buffer[4096];
    std::size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t got = ::recv(conn, buffer, sizeof buffer, 0);
      if (got <= 0) return;
      data.append(buffer, static_cast<std::size_t>(got));
    }
    Received request;
    std::size_t content_length = 0;
    std::string head = data.substr(0, head_end);
    std::size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    request.target = request_line.substr(5, request_line.rfind(' ') - 5);  // after "POST "
    while (line_end != std::string::npos && line_end < head.size()) {
      std::size_t next = head.find("\r\n", line_end + 2);
      std::string line = head.substr(line_end + 2, next - line_end - 2);
      line_end = next;
      std::size_t colon = line.find(':');
      std::string name = ascii_lower(line.substr(0, colon));
      std::string value = line.substr(colon + 2);
      if (name == "content-length") content_length = std::stoul(value);
      if (name == "x-escrow-signature") request.signature = value;
      if (name == "x-escrow-notification-id") request.notification_id = value;
      if (name == "content-type") request.content_type = value;
    }
    request.body = data.substr(head_end + 4);
    while (request.body.size() < content_length) {
      ssize_t got = ::recv(conn, buffer, sizeof buffer, 0);
      if (got <= 0) return;
      request.body.append(buffer, static_cast<std::size_t>(got));
    }
    int status = 200;
    {
      std::lock_guard lock(mutex_);
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.pop_front();
      }
      received_.push_back(request);
    }
    std::string response = "HTTP/1.1 " + std::to_string(status) +
                           " Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)::send(conn, response.data(), response.size(), MSG_NOSIGNAL);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::deque<int> statuses_;
  std::vector<Received> received_;
};

// The signature header checked independently of notify_signature().
bool signature_valid(const Received& request) {
  std::size_t comma = request.signature.find(",v1=");
  if (request.signature.rfind("t=", 0) != 0 || comma == std::string::npos) return false;
  std::string t = request.signature.substr(2, comma - 2);
  std::string message = t + "." + request.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret, static_cast<int>(std::strlen(secret)),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &size);
  return request.signature.substr(comma + 4) == to_hex(mac, size);
}

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

std::string type_of(const Received& request) {
  return parse(request.body)["type"].GetString();
}

struct Fixture : LedgerDb {
  Receiver receiver;
  std::vector<std::string> outcomes;

  std::unique_ptr<Notifier> notifier(std::string url = {}) {
    Notifier::Options options{
        url.empty() ? receiver.url("/hooks/escrow?src=test") : url, secret, path, 20, {}};
    auto opened = Notifier::open(
        options, clock, [this](std::string_view outcome) { outcomes.emplace_back(outcome); });
    REQUIRE(opened.is_ok());
    return std::move(opened).value();
  }

  void run(const std::string& booking, BookingCommand command, Actor actor) {
    CommandResult r =
        shell->execute(booking, command, CommandContext{std::move(actor), {}, {}, {}, {}});
    REQUIRE(r.status.is_ok());
    REQUIRE(r.ok());
  }

  void create_and_pay(const std::string& id) {
    run(id,
        CreateBooking{id, "client-1", "provider-1", "ada@example.com", "Deep clean",
                      Money{1'000'000, Currency::NGN}, PaymentPlan::full, 0, 500, 3 * 24 * 3600,
                      std::nullopt},
        Actor{"marketplace", Role::service});
    auto state = shell->load_booking(id);
    REQUIRE(state.is_ok());
    auto due = next_payment(state.value(), clock.now_ms());
    REQUIRE(std::holds_alternative<PaymentDue>(due));
    const PaymentDue& d = std::get<PaymentDue>(due);
    run(id, InitiatePayment{d.reference, d.installment, d.amount, "https://checkout/x", "x"},
        Actor{"client-1", Role::client});
    run(id,
        CapturePayment{d.reference, std::nullopt, d.amount, 4'100'000'001LL,
                       Money{100, Currency::NGN}, "card", std::nullopt, "webhook"},
        Actor{"paystack", Role::system});
  }

  void submit_proof(const std::string& id) {
    run(id, SubmitProof{"done", {}, {}}, Actor{"provider-1", Role::provider});
  }

  int64_t integer(const std::string& sql) {
    auto db = sqlite::Db::open(path, sqlite::Db::Mode::read_only);
    REQUIRE(db.is_ok());
    auto stmt = db.value().prepare(sql);
    REQUIRE(stmt.is_ok());
    auto row = stmt.value().step();
    REQUIRE(row.is_ok());
    REQUIRE(row.value());
    return stmt.value().column_int64(0);
  }
};

}  // namespace

TEST_CASE("notify_signature: HMAC-SHA256 of \"t.body\", as documented") {
  CHECK(notify_signature("whsec_test", 1700000000, R"({"id":"ntf_1"})") ==
        "t=1700000000,v1=2efcb619448fa4550b37d7d437dc84f49ad35d8e02cbbe107ecffeb34d0fccd9");
}

TEST_CASE("notifications are signed, carry the event, and are retried after a 500") {
  Fixture f;
  f.create_and_pay("before");  // history before the notifier first starts is not replayed
  auto notifier = f.notifier();
  f.create_and_pay("b1");
  f.submit_proof("b1");

  f.receiver.script({500});
  REQUIRE(notifier->run_once().is_ok());
  REQUIRE(f.receiver.received().size() == 1);  // the round stops at the first failure
  CHECK(type_of(f.receiver.received()[0]) == "payment.held");
  CHECK(f.outcomes == std::vector<std::string>{"http_error"});

  // The next round sends what is due; the failed one waits for its backoff.
  REQUIRE(notifier->run_once().is_ok());
  REQUIRE(f.receiver.received().size() == 2);
  CHECK(type_of(f.receiver.received()[1]) == "completion.requested");
  REQUIRE(notifier->run_once().is_ok());
  CHECK(f.receiver.received().size() == 2);

  f.clock.advance_ms(1000);
  REQUIRE(notifier->run_once().is_ok());
  std::vector<Received> got = f.receiver.received();
  REQUIRE(got.size() == 3);
  CHECK(got[2].body == got[0].body);  // the retry is the same notification
  CHECK(f.outcomes == std::vector<std::string>{"http_error", "delivered", "delivered"});

  std::set<std::string> ids;
  for (const Received& request : got) {
    INFO(request.body);
    CHECK(signature_valid(request));
    CHECK(request.target == "/hooks/escrow?src=test");
    CHECK(request.content_type == "application/json");
    rapidjson::Document body = parse(request.body);
    std::string id = body["id"].GetString();
    CHECK(id == "ntf_" + std::to_string(body["seq"].GetInt64()));
    CHECK(request.notification_id == id);
    CHECK(std::string(body["booking_id"].GetString()) == "b1");
    // Every notification of a booking names its parties (DESIGN section 5).
    CHECK(std::string(body["client_id"].GetString()) == "client-1");
    CHECK(std::string(body["provider_id"].GetString()) == "provider-1");
    CHECK(std::string(body["created_at"].GetString()) == "2027-01-15T08:00:00.000Z");
    CHECK(body["data"].IsObject());
    ids.insert(id);
  }
  CHECK(ids.size() == 2);
  rapidjson::Document held = parse(got[0].body);
  CHECK(held["data"]["installment"].GetInt() == 1);
  CHECK(held["data"]["amount"]["amount"].GetInt64() == 1'000'000);
  CHECK(f.integer("SELECT count(*) FROM notifications WHERE delivered_at_ms IS NOT NULL") == 2);
  CHECK(f.integer("SELECT attempts FROM notifications WHERE type = 'payment.held'") == 2);

  REQUIRE(notifier->run_once().is_ok());  // nothing more to send
  CHECK(f.receiver.received().size() == 3);
}

TEST_CASE("a restarted notifier keeps what is undelivered and re-sends nothing delivered") {
  Fixture f;
  f.notifier().reset();  // first start: the cursor is set at the (empty) log's end
  f.create_and_pay("b1");
  f.submit_proof("b1");
  {
    auto notifier = f.notifier();
    REQUIRE(notifier->run_once().is_ok());
    REQUIRE(f.receiver.received().size() == 2);
  }
  f.run("b1", ConfirmCompletion{}, Actor{"client-1", Role::client});  // -> funds.released
  f.receiver.script({503});
  {
    auto notifier = f.notifier();
    REQUIRE(notifier->run_once().is_ok());
    REQUIRE(f.receiver.received().size() == 3);
    CHECK(type_of(f.receiver.received()[2]) == "funds.released");
  }
  f.clock.advance_ms(1000);
  auto notifier = f.notifier();
  REQUIRE(notifier->run_once().is_ok());
  std::vector<Received> got = f.receiver.received();
  REQUIRE(got.size() == 4);
  CHECK(got[3].notification_id == got[2].notification_id);
  rapidjson::Document released = parse(got[3].body);
  CHECK(std::string(released["type"].GetString()) == "funds.released");
  CHECK(std::string(released["provider_id"].GetString()) == "provider-1");
  CHECK(released["data"]["provider_net"]["amount"].GetInt64() == 950'000);
  std::vector<std::string> types;
  for (const Received& request : got) types.push_back(type_of(request));
  CHECK(types == std::vector<std::string>{"payment.held", "completion.requested", "funds.released",
                                          "funds.released"});
  CHECK(f.integer("SELECT count(*) FROM notifications WHERE delivered_at_ms IS NULL") == 0);
}

TEST_CASE("an unreachable receiver is recorded and retried with a doubling backoff") {
  Fixture f;
  int closed_port = 0;
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t size = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0);
    closed_port = ntohs(addr.sin_port);
    ::close(fd);  // nothing listens there now
  }
  auto notifier = f.notifier("http://127.0.0.1:" + std::to_string(closed_port) + "/hooks");
  f.create_and_pay("b1");

  const char* attempts = "SELECT attempts FROM notifications WHERE type = 'payment.held'";
  const char* next_in =
      "SELECT next_attempt_at_ms - 1800000000000 FROM notifications WHERE type = 'payment.held'";
  REQUIRE(notifier->run_once().is_ok());
  CHECK(f.integer(attempts) == 1);
  CHECK(f.integer(next_in) == 1000);
  CHECK(f.outcomes == std::vector<std::string>{"transport_error"});
  CHECK(f.integer("SELECT last_error IS NOT NULL AND instr(last_error, 'secret') = 0 "
                  "FROM notifications") == 1);

  f.clock.advance_ms(999);
  REQUIRE(notifier->run_once().is_ok());
  CHECK(f.integer(attempts) == 1);
  f.clock.advance_ms(1);
  REQUIRE(notifier->run_once().is_ok());
  CHECK(f.integer(attempts) == 2);
  CHECK(f.integer(next_in) == 1000 + 2000);
}

TEST_CASE("the background thread delivers without being asked") {
  Fixture f;
  auto notifier = f.notifier();
  notifier->start();
  f.create_and_pay("b1");
  f.submit_proof("b1");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (f.receiver.received().size() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  notifier->stop();
  notifier->stop();  // idempotent
  CHECK(f.receiver.received().size() == 2);
}

TEST_CASE("bad notifier options are refused") {
  Fixture f;
  auto open = [&](std::string url, std::string key) {
    return Notifier::open(Notifier::Options{std::move(url), std::move(key), f.path, 500, {}},
                          f.clock)
        .status()
        .code();
  };
  CHECK(open("https://hooks.example.com/escrow", "") == StatusCode::invalid_argument);
  CHECK(open("http://hooks.example.com/escrow", secret) == StatusCode::invalid_argument);
  CHECK(open("ftp://127.0.0.1/escrow", secret) == StatusCode::invalid_argument);
  CHECK(open("hooks.example.com", secret) == StatusCode::invalid_argument);
  CHECK(open(f.receiver.url("/a#fragment"), secret) == StatusCode::invalid_argument);
  CHECK(open("https://hooks.example.com", secret) == StatusCode::ok);
}
