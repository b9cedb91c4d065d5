// Tests of the Paystack client library: decoders (paystack/decode.h), the error mapping
// (paystack/api_error.h), the retry policy and request building (paystack/client.h) and the
// HTTP transport (paystack/http_client.h).
//
// How, in four layers:
// 1. No network. Every official API sample in shared/paystack/samples/api/*.json (read at run
//    time, keyed by HTTP status; a sample or status with no check here fails the test) goes
//    through the matching decoder; a table of status/body/header rows checks every ErrorKind.
// 2. A scripted fake HttpTransport: retries of safe calls with an injected sleep (its waits are
//    recorded and checked against the backoff bounds), 429 waiting for x-ratelimit-reset,
//    money-moving POSTs sent exactly once, initiate_or_lookup_transfer(), local validation, the
//    bodies and query strings sent, and the secret key and account numbers scrubbed from error
//    text.
// 3. Real sockets on loopback: a small in-test HTTP/1.1 server (POSIX sockets on a thread)
//    checks headers, keep-alive reuse, reconnecting after the server closed, read timeouts and
//    the body limit, and pooled connections (slow calls overlap, never on more connections
//    than connections_max, a failed open frees its slot); `openssl s_server` with throw-away
//    certificates (trusted through SSL_CERT_FILE) checks that TLS verification is on, including
//    the host name check. The loopback-only rule for http:// is checked on HttpClient::create
//    and Client::create.
// 4. Integration against tools/paystack-sim at ESCROW_TEST_BINARY_DIR/paystack-sim: every call of
//    the client and every error case, with /_sim/ control calls and GET /_sim/state to check
//    what the simulator recorded. Skipped, with a warning, when the binary is absent.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ledger/time_format.h"
#include "paystack/api_error.h"
#include "paystack/client.h"
#include "paystack/decode.h"
#include "net/http_client.h"
#include "paystack/types.h"
#include "test/paystack_sim.h"

using namespace escrow;
using namespace escrow::paystack;
using namespace std::chrono_literals;

namespace {

// ---- helpers: samples -------------------------------------------------------------------------

std::filesystem::path api_samples_dir() {
  std::filesystem::path beside =
      std::filesystem::path(ESCROW_SOURCE_DIR) / ".." / "shared" / "paystack" / "samples" / "api";
  if (std::filesystem::exists(beside)) return beside;
  return "/work/shared/paystack/samples/api";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// {"<status>": {"data": <body>}} -> status -> response.
std::map<int, HttpResponse> load_api_sample(const std::filesystem::path& path) {
  rapidjson::Document doc;
  std::string text = read_file(path);
  doc.Parse(text.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  std::map<int, HttpResponse> out;
  for (const auto& entry : doc.GetObject()) {
    int status = std::stoi(entry.name.GetString());
    REQUIRE(entry.value.HasMember("data"));
    out[status] = HttpResponse{status, to_json(entry.value["data"]), {}};
  }
  return out;
}

HttpResponse response(int status, std::string body,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  return HttpResponse{status, std::move(body), std::move(headers)};
}

// ---- helpers: scripted transport
// -----------------------------------------------------------------

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

struct Harness {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::vector<int64_t> sleeps_ms;
  Client client{transport, RetryPolicy{},
                [this](std::chrono::milliseconds wait) { sleeps_ms.push_back(wait.count()); },
                "sk_test_harness_secret"};
};

const char* transfer_json =
    R"({"status":true,"message":"Transfer retrieved","data":{"id":860670817,"amount":100000,)"
    R"("currency":"NGN","reference":"payout-provider-1-0001","status":"success",)"
    R"("transfer_code":"TRF_8opchtrhtjlfz90n","recipient":{"id":5,"recipient_code":"RCP_abc"}}})";

const char* transaction_json =
    R"({"status":true,"message":"Verification successful","data":{"id":4099260516,)"
    R"("reference":"re4lyvq3s3","status":"success","amount":40333,"currency":"NGN"}})";

const char* duplicate_transfer_body =
    R"({"status":false,"message":"Please provide a unique reference. Reference already exists on a transfer",)"
    R"("meta":{"nextStep":"Create a new reference for the new transfer"},"type":"validation_error","code":"duplicate_transfer_reference"})";

// ---- helpers: processes and sockets ----------------------------------------------------------

int free_port() {
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

// =============================================================================================
// 1. Official samples and the error mapping (no network)
// =============================================================================================

TEST_CASE("every official API sample decodes", "[client][samples]") {
  using Check = std::function<void(int status, const HttpResponse&)>;
  auto expect_error = [](ErrorKind kind, const std::string& code = "") {
    return [kind, code](const HttpResponse& r) {
      ApiError error = classify_error(r);
      CHECK(error.kind == kind);
      CHECK(error.code == code);
      CHECK(error.http_status == r.status);
      CHECK_FALSE(error.message.empty());
    };
  };
  const std::map<std::string, Check> checks = {
      {"miscellaneous_bank.json",
       [](int, const HttpResponse& r) {
         auto page = decode_bank_page(r);
         REQUIRE(page.is_ok());
         REQUIRE(page->items.size() == 5);
         CHECK(page->items[0].name == "Abbey Mortgage Bank");
         CHECK(page->items[0].code == "801");
         CHECK(page->items[0].id == 174);
         CHECK(page->items[0].active == true);
         CHECK(page->items[2].code == "50457");
         CHECK(page->meta.next == std::optional<std::string>("YmFuazoxNjk="));
         CHECK_FALSE(page->meta.previous.has_value());
         CHECK(page->meta.per_page == 5);
       }},
      {"refunds_create.json",
       [](int, const HttpResponse& r) {
         auto refund = decode_refund(r);
         REQUIRE(refund.is_ok());
         CHECK(refund->id == 3018284);
         CHECK(refund->status == RefundStatus::pending);
         CHECK(refund->amount == Money{10000, Currency::NGN});
         CHECK(refund->deducted_amount == Money{0, Currency::NGN});
         CHECK(refund->transaction_id == 1004723697);  // transaction as an object here
         CHECK(refund->transaction_reference == "T685312322670591");
         CHECK(refund->fully_deducted == false);
         CHECK(refund->created_at_ms == parse_iso8601_ms("2021-12-07T09:21:17.122Z"));
         CHECK(refund->expected_at_ms == parse_iso8601_ms("2021-12-16T09:21:17.016Z"));
       }},
      {"refunds_fetch.json",
       [](int, const HttpResponse& r) {
         auto refund = decode_refund(r);
         REQUIRE(refund.is_ok());
         CHECK(refund->id == 1);
         CHECK(refund->status == RefundStatus::processed);
         CHECK(refund->amount == Money{500000, Currency::NGN});
         CHECK(refund->transaction_id == 1641);  // an integer here
         CHECK(refund->transaction_reference.empty());
         CHECK(refund->fully_deducted == true);
         CHECK(refund->refunded_at_ms == parse_iso8601_ms("2018-01-12T10:54:47.000Z"));
       }},
      {"refunds_list.json",
       [](int, const HttpResponse& r) {
         auto page = decode_refund_page(r);
         REQUIRE(page.is_ok());
         REQUIRE(page->items.size() == 2);
         CHECK(page->items[0].fully_deducted == true);  // 1
         CHECK(page->items[0].created_at_ms ==
               parse_iso8601_ms("2017-09-24T21:10:59.000Z"));     // snake case
         CHECK_FALSE(page->items[1].fully_deducted.has_value());  // null
         CHECK_FALSE(page->items[1].deducted_amount.has_value());
         CHECK(page->items[1].status == RefundStatus::pending);
         CHECK(page->items[1].transaction_id == 323896);
       }},
      {"refunds_retry.json",
       [expect_error](int status, const HttpResponse& r) {
         if (status == 422) {
           expect_error(ErrorKind::validation, "invalid_params")(r);
           CHECK(classify_error(r).next_step ==
                 "Ensure that the value(s) you're passing are valid.");
           CHECK(classify_error(r).type == "validation_error");
           CHECK_FALSE(decode_refund(r).is_ok());
           return;
         }
         auto refund = decode_refund(r);
         REQUIRE(refund.is_ok());
         CHECK(refund->id == 1234567);
         CHECK(refund->status == RefundStatus::processing);
         CHECK(refund->transaction_id == int64_t{3298598423});  // beyond 32 bits
         CHECK_FALSE(refund->refunded_at_ms.has_value());
       }},
      {"transactions_fetch.json",
       [expect_error](int status, const HttpResponse& r) {
         if (status == 400)
           return expect_error(ErrorKind::invalid_key)(r);  // "Invalid key" labelled 400
         auto t = decode_transaction(r);
         REQUIRE(t.is_ok());
         CHECK(t->id == int64_t{4099260516});
         CHECK(t->reference == "re4lyvq3s3");
         CHECK(t->status == TransactionStatus::success);
         CHECK(t->amount == Money{40333, Currency::NGN});
         CHECK(t->requested_amount == Money{30050, Currency::NGN});
         CHECK(t->fees == Money{10283, Currency::NGN});
         CHECK(t->metadata_json == R"("")");
         CHECK(t->customer_email == "demo@test.com");
         CHECK(t->authorization_code == "AUTH_uh8bcl3zbn");
         CHECK(t->paid_at_ms == parse_iso8601_ms("2024-08-22T09:15:02.000Z"));
       }},
      {"transactions_initialize.json",
       [](int, const HttpResponse& r) {
         auto t = decode_initialize(r);
         REQUIRE(t.is_ok());
         CHECK(t->authorization_url == "https://checkout.paystack.com/3ni8kdavz62431k");
         CHECK(t->access_code == "3ni8kdavz62431k");
         CHECK(t->reference == "re4lyvq3s3");
       }},
      {"transactions_list.json",
       [](int, const HttpResponse& r) {
         auto page = decode_transaction_page(r);
         REQUIRE(page.is_ok());
         REQUIRE(page->items.size() == 1);
         CHECK(page->items[0].id == int64_t{4099260516});
         CHECK(page->items[0].metadata_json == "null");
         CHECK(page->items[0].created_at_ms == parse_iso8601_ms("2024-08-22T09:14:24.000Z"));
         CHECK(page->meta.next == std::optional<std::string>("dW5kZWZpbmVkOjQwMTM3MDk2MzU="));
         CHECK_FALSE(page->meta.previous.has_value());
         CHECK(page->meta.per_page == 50);
         CHECK_FALSE(page->meta.total.has_value());
       }},
      {"transactions_verify.json",
       [expect_error](int status, const HttpResponse& r) {
         if (status == 400) return expect_error(ErrorKind::invalid_key)(r);
         auto t = decode_transaction(r);
         REQUIRE(t.is_ok());
         CHECK(t->id == int64_t{4099260516});
         CHECK(t->status_text == "success");
         CHECK(t->channel == "card");
         CHECK(t->gateway_response == "Successful");
         CHECK(t->domain == "test");
         CHECK(t->fees == Money{10283, Currency::NGN});
       }},
      {"transfer-recipient_create.json",
       [](int, const HttpResponse& r) {
         auto recipient = decode_recipient(r);
         REQUIRE(recipient.is_ok());
         CHECK(recipient->recipient_code == "RCP_m7ljkv8leesep7p");
         CHECK(recipient->id == 20317609);
         CHECK(recipient->type == "nuban");
         CHECK(recipient->currency_code == "NGN");
         CHECK(recipient->details.account_name == "Tolu Robert");
         CHECK(recipient->details.bank_code == "058");
         CHECK(recipient->active == true);
       }},
      {"transfer-recipient_list.json",
       [](int, const HttpResponse& r) {
         auto page = decode_recipient_page(r);
         REQUIRE(page.is_ok());
         REQUIRE(page->items.size() == 2);
         CHECK(page->items[0].recipient_code == "RCP_2x5j67tnnw1t98k");
         CHECK(page->items[1].details.account_name.empty());  // null
         CHECK(page->meta.total == 2);
         CHECK(page->meta.page == 1);
         CHECK(page->meta.page_count == 1);
       }},
      {"transfers_finalize.json",
       [expect_error](int status, const HttpResponse& r) {
         if (status == 400)
           return expect_error(ErrorKind::validation)(r);  // "Transfer code is invalid"
         auto t = decode_transfer(r);
         REQUIRE(t.is_ok());
         CHECK(t->id == 529410);
         CHECK(t->transfer_code == "TRF_zuirlnr9qblgfko");
         CHECK(t->status == TransferStatus::success);
         CHECK(t->amount == Money{1000000, Currency::NGN});
         CHECK(t->recipient_id == 225204);  // an integer
         CHECK(t->recipient_code.empty());
       }},
      {"transfers_initiate.json",
       [expect_error](int status, const HttpResponse& r) {
         if (status == 400)
           return expect_error(ErrorKind::validation, "invalid_transfer_recipient")(r);
         auto t = decode_transfer(r);
         REQUIRE(t.is_ok());
         CHECK(t->id == 860703114);
         CHECK(t->reference == "acv_9ee55786-2323-4760-98e2-6380c9cb3f68");
         CHECK(t->recipient_id == 56824902);
         CHECK(t->created_at_ms == parse_iso8601_ms("2025-08-04T10:32:40.000Z"));
         CHECK_FALSE(t->fee_charged.has_value());
       }},
      {"transfers_list.json",
       [](int, const HttpResponse& r) {
         auto page = decode_transfer_page(r);
         REQUIRE(page.is_ok());
         REQUIRE(page->items.size() == 2);
         CHECK(page->items[0].status == TransferStatus::otp);
         CHECK(page->items[0].recipient_code == "RCP_2x5j67tnnw1t98k");  // an object
         CHECK(page->items[0].recipient_id == 28);
         CHECK(page->items[0].reference.empty());  // absent in this old sample
         CHECK(page->items[1].amount == Money{3300, Currency::NGN});
         CHECK(page->meta.total == 2);
       }},
      {"transfers_verify.json",
       [expect_error](int status, const HttpResponse& r) {
         if (status == 404) return expect_error(ErrorKind::not_found)(r);
         auto t = decode_transfer(r);
         REQUIRE(t.is_ok());
         CHECK(t->id == 860670817);
         CHECK(t->fee_charged == Money{1000, Currency::NGN});
         CHECK(t->recipient_code == "RCP_gd9vgag7n5lr5ix");
         CHECK(t->recipient_id == 56824902);
         CHECK(t->updated_at_ms == parse_iso8601_ms("2025-08-04T09:59:19.000Z"));
       }},
      {"verification_resolve-account.json",
       [](int, const HttpResponse& r) {
         auto account = decode_resolved_account(r);
         REQUIRE(account.is_ok());
         CHECK(account->account_name == "WES GIBBONS");
         CHECK(account->account_number == "0022728151");
         CHECK_FALSE(account->bank_id.has_value());
       }},
  };
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(api_samples_dir())) {
    if (entry.path().extension() != ".json") continue;
    std::string file = entry.path().filename().string();
    INFO("sample " << file);
    auto check = checks.find(file);
    REQUIRE(check != checks.end());  // a new sample needs a check here
    for (const auto& [status, r] : load_api_sample(entry.path())) {
      INFO("status " << status);
      check->second(status, r);
    }
    ++files;
  }
  CHECK(files == static_cast<int>(checks.size()));
}

TEST_CASE("the error envelope maps to the closed set of error kinds", "[client][errors]") {
  struct Row {
    int status;
    std::string body;
    ErrorKind kind;
    std::vector<std::pair<std::string, std::string>> headers = {};
  };
  const std::vector<Row> rows = {
      // duplicates
      {400,
       R"({"status":false,"message":"Duplicate Transaction Reference","meta":{"nextStep":"Try and create the Transaction or Charge with a new reference"},"type":"validation_error","code":"duplicate_reference","errorCodeMappingNotFound":false})",
       ErrorKind::duplicate_transaction_reference},
      {400, R"({"status":false,"message":"Duplicate Transaction Reference"})",
       ErrorKind::duplicate_transaction_reference},
      {400, R"({"status":false,"message":"Duplicate charge request for reference"})",
       ErrorKind::duplicate_transaction_reference},
      {400, R"({"status":false,"message":"whatever","code":"duplicate_reference"})",
       ErrorKind::duplicate_transaction_reference},
      {400, duplicate_transfer_body, ErrorKind::duplicate_transfer_reference},
      {404,
       R"({"status":false,"message":"Please provide a unique reference. Reference already exists on a transfer"})",
       ErrorKind::duplicate_transfer_reference},
      // balance
      {400, R"({"status":false,"message":"Your balance is not enough to fulfil this request"})",
       ErrorKind::insufficient_balance},
      {400,
       R"({"status":false,"message":"Your balance is not enough to fulfill this request","type":"api_error","code":"unknown"})",
       ErrorKind::insufficient_balance},
      {400,
       R"({"status":false,"message":"Insufficient balance to fulfill this refund. Please top up."})",
       ErrorKind::insufficient_balance},
      // key
      {401, R"({"status":false,"message":"Invalid key"})", ErrorKind::invalid_key},
      {400, R"({"status":false,"message":"Invalid key"})", ErrorKind::invalid_key},
      {401, R"({"status":false,"message":"No Authorization Header was found"})",
       ErrorKind::invalid_key},
      {401, R"({"status":false,"message":"Format is Authorization Bearer [secret key]"})",
       ErrorKind::invalid_key},
      {401, "", ErrorKind::invalid_key},
      // not found
      {404, R"({"status":false,"message":"Transfer not found"})", ErrorKind::not_found},
      {400, R"({"status":false,"message":"Transaction reference not found"})",
       ErrorKind::not_found},
      {404, R"({"status":false,"message":"Transaction reference not found."})",
       ErrorKind::not_found},
      {400, R"({"status":false,"message":"Transaction not found","code":"transaction_not_found"})",
       ErrorKind::not_found},
      {404, R"({"status":false,"message":"Refund not found"})", ErrorKind::not_found},
      {404, "<html>not here</html>", ErrorKind::not_found},
      // validation
      {400,
       R"({"status":false,"message":"Email Address is required","meta":{"nextStep":"Provide all required params"},"type":"validation_error","code":"missing_params"})",
       ErrorKind::validation},
      {422,
       R"({"status":false,"message":"Could not resolve account name. Check parameters or try again.","type":"validation_error","code":"invalid_bank_code"})",
       ErrorKind::validation},
      {400, R"({"status":false,"message":"Account details not found for this authorization"})",
       ErrorKind::validation},
      {400, R"({"status":false,"message":"Transaction ID should be numeric."})",
       ErrorKind::validation},
      {400,
       R"({"status":false,"message":"Transaction has been fully reversed","code":"transaction_reversed"})",
       ErrorKind::validation},
      {400,
       R"({"status":false,"message":"Refund amount cannot be more than the transaction's unrefunded amount"})",
       ErrorKind::validation},
      {403, R"({"status":false,"message":"IP not whitelisted"})", ErrorKind::validation},
      {200, R"({"status":false,"message":"Something was refused"})", ErrorKind::validation},
      // rate limit
      {429,
       R"({"status":false,"message":"Rate limit exceeded!","type":"api_error","code":"rate_limited"})",
       ErrorKind::rate_limited,
       {{"x-ratelimit-reset", "12"}}},
      {429, "Too Many Requests", ErrorKind::rate_limited},
      // unavailable
      {500, R"({"status":false,"message":"An error occurred"})", ErrorKind::unavailable},
      {502, "<html>Bad Gateway</html>", ErrorKind::unavailable},
      {503, "", ErrorKind::unavailable},
      {504, R"({"status":false,"message":"Duplicate Transaction Reference"})",
       ErrorKind::unavailable},  // 5xx first
      // unexpected
      {200, "not json", ErrorKind::unexpected},
      {200, "[1,2]", ErrorKind::unexpected},
      {302, "", ErrorKind::unexpected},
  };
  for (const Row& row : rows) {
    INFO("HTTP " << row.status << " " << row.body);
    HttpResponse r = response(row.status, row.body, row.headers);
    ApiError error = classify_error(r);
    CHECK(error_kind_name(error.kind) == std::string(error_kind_name(row.kind)));
    CHECK(error.http_status == row.status);
    CHECK_FALSE(error.message.empty());
    // Every decoder gives the same answer for a non-success response.
    if (!(row.status >= 200 && row.status <= 299)) {
      CHECK(decode_transaction(r).error().kind == row.kind);
      CHECK(decode_balances(r).error().kind == row.kind);
    }
  }

  SECTION("the raw facts are kept for logs") {
    ApiError error = classify_error(response(400, duplicate_transfer_body));
    CHECK(error.code == "duplicate_transfer_reference");
    CHECK(error.type == "validation_error");
    CHECK(error.next_step == "Create a new reference for the new transfer");
    std::string text = error.to_string();
    CHECK(text.find("duplicate_transfer_reference") != std::string::npos);
    CHECK(text.find("HTTP 400") != std::string::npos);
    CHECK(text.find("Reference already exists on a transfer") != std::string::npos);
    CHECK(error.to_status().code() == StatusCode::conflict);
    CHECK(classify_error(response(404, R"({"status":false,"message":"Transfer not found"})"))
              .to_status()
              .code() == StatusCode::not_found);
    CHECK(classify_error(response(503, "")).to_status().code() == StatusCode::io_error);
  }
  SECTION("x-ratelimit-reset is read when sent") {
    CHECK(classify_error(response(429, "", {{"x-ratelimit-reset", "12"}})).retry_after_s == 12);
    CHECK(classify_error(response(429, "", {{"X-RateLimit-Reset", "3"}})).retry_after_s == 3);
    CHECK_FALSE(classify_error(response(429, "")).retry_after_s.has_value());
    CHECK_FALSE(classify_error(response(429, "", {{"x-ratelimit-reset", "soon"}}))
                    .retry_after_s.has_value());
  }
  SECTION("a 2xx that lacks what the result needs is unexpected, naming the field") {
    auto missing_id = decode_transaction(
        response(200, R"({"status":true,"message":"ok","data":{"reference":"r"}})"));
    REQUIRE_FALSE(missing_id.is_ok());
    CHECK(missing_id.error().kind == ErrorKind::unexpected);
    CHECK(missing_id.error().message.find("missing or unreadable id") != std::string::npos);
    CHECK(decode_transaction(response(200, R"({"status":true,"message":"ok"})")).error().kind ==
          ErrorKind::unexpected);
    CHECK(decode_transaction(response(200, R"({"message":"ok","data":{}})")).error().kind ==
          ErrorKind::unexpected);
    CHECK(decode_transaction_page(response(200, R"({"status":true,"data":{}})")).error().kind ==
          ErrorKind::unexpected);
    auto xof = decode_transaction(response(
        200,
        R"({"status":true,"data":{"id":1,"reference":"r","status":"success","amount":100,"currency":"XOF"}})"));
    REQUIRE_FALSE(xof.is_ok());
    CHECK(xof.error().message.find("unsupported currency XOF") != std::string::npos);
    auto bad_item = decode_transfer_page(response(
        200,
        R"({"status":true,"data":[{"id":1,"transfer_code":"TRF_1","status":"success","amount":1,"currency":"NGN"},{"id":2}]})"));
    REQUIRE_FALSE(bad_item.is_ok());
    CHECK(bad_item.error().message.find("item 1") != std::string::npos);
  }
}

TEST_CASE("API objects parse every FACTS 1.7 quirk", "[client][quirks]") {
  auto transaction = [](const std::string& fields) {
    return decode_transaction(response(
        200,
        R"({"status":true,"message":"ok","data":{"reference":"r","status":"success","currency":"NGN",)" +
            fields + "}}"));
  };
  auto t = transaction(
      R"("id":"9007199254740993","amount":"5000","fees":null,"paidAt":"2024-08-22T09:15:02.000Z","createdAt":"2024-08-22T09:14:24.000Z","metadata":{"booking_id":"b1"},"customer":{},"authorization":null,"plan":null,"split":{})");
  REQUIRE(t.is_ok());
  CHECK(t->id == int64_t{9007199254740993});
  CHECK(t->amount == Money{5000, Currency::NGN});
  CHECK_FALSE(t->fees.has_value());
  CHECK(t->paid_at_ms == parse_iso8601_ms("2024-08-22T09:15:02.000Z"));
  CHECK(t->created_at_ms == parse_iso8601_ms("2024-08-22T09:14:24.000Z"));
  CHECK(t->metadata_json == R"({"booking_id":"b1"})");
  CHECK(t->customer_email.empty());
  for (const char* metadata : {R"("")", "0", "null", R"("{\"a\":1}")", "[1,2]"}) {
    auto m = transaction(std::string(R"("id":1,"amount":1,"metadata":)") + metadata);
    REQUIRE(m.is_ok());
    CHECK(m->metadata_json == metadata);
  }
  CHECK(transaction(R"("id":1,"amount":"50.5")").error().kind == ErrorKind::unexpected);
  CHECK(transaction(R"("id":1,"amount":-5)").error().kind == ErrorKind::unexpected);
  CHECK(transaction(R"("id":18446744073709551615,"amount":1)").error().kind ==
        ErrorKind::unexpected);

  auto meta = decode_transaction_page(response(
      200, R"({"status":true,"data":[],"meta":{"next":"null","previous":"null","perPage":"20"}})"));
  REQUIRE(meta.is_ok());
  CHECK_FALSE(meta->meta.next.has_value());  // "null" as a string
  CHECK_FALSE(meta->meta.previous.has_value());
  CHECK(meta->meta.per_page == 20);

  auto bank = decode_bank_page(response(
      200,
      R"({"status":true,"data":[{"name":"B","code":"1","active":1,"id":"7"},{"name":"C","code":"2","active":0}]})"));
  REQUIRE(bank.is_ok());
  CHECK(bank->items[0].active == true);
  CHECK(bank->items[0].id == 7);
  CHECK(bank->items[1].active == false);

  auto balances = decode_balances(response(
      200,
      R"({"status":true,"message":"Balances retrieved","data":[{"currency":"NGN","balance":2910971757},{"currency":"XOF","balance":5},{"currency":"GHS","balance":"100"}]})"));
  REQUIRE(balances.is_ok());
  REQUIRE(balances->size() == 2);  // XOF is left out
  CHECK((*balances)[0].balance == Money{2910971757, Currency::NGN});
  CHECK((*balances)[1].balance == Money{100, Currency::GHS});
}

// =============================================================================================
// 2. Retry policy and request building, over a scripted transport
// =============================================================================================

TEST_CASE("backoff: exponential, capped, jittered into [half, full]", "[client][retry]") {
  RetryPolicy policy;
  CHECK(backoff_delay_ms(policy, 1, 0.0) == 125);
  CHECK(backoff_delay_ms(policy, 1, 0.999999) == 249);
  CHECK(backoff_delay_ms(policy, 2, 0.0) == 250);
  CHECK(backoff_delay_ms(policy, 3, 0.0) == 500);
  CHECK(backoff_delay_ms(policy, 30, 0.999999) <= policy.backoff_max_ms);
  CHECK(backoff_delay_ms(policy, 30, 0.0) == policy.backoff_max_ms / 2);
  ApiError limited;
  limited.kind = ErrorKind::rate_limited;
  limited.retry_after_s = 7;
  CHECK(rate_limit_delay_ms(policy, limited, 1, 0.5) == 7'000);
  limited.retry_after_s = 3600;
  CHECK(rate_limit_delay_ms(policy, limited, 1, 0.5) == policy.rate_limit_wait_ms_max);
  limited.retry_after_s.reset();
  CHECK(rate_limit_delay_ms(policy, limited, 2, 0.0) == 250);
}

TEST_CASE("safe calls are retried with backoff on 5xx, 429 and network errors", "[client][retry]") {
  Harness h;

  SECTION("5xx then success") {
    h.transport->then(response(503, ""));
    h.transport->then(response(502, "<html>"));
    h.transport->then(response(200, transaction_json));
    auto t = h.client.verify_transaction("re4lyvq3s3");
    REQUIRE(t.is_ok());
    CHECK(t->id == int64_t{4099260516});
    CHECK(h.transport->seen.size() == 3);
    REQUIRE(h.sleeps_ms.size() == 2);
    CHECK((h.sleeps_ms[0] >= 125 && h.sleeps_ms[0] <= 250));
    CHECK((h.sleeps_ms[1] >= 250 && h.sleeps_ms[1] <= 500));
  }
  SECTION("5xx every time: unavailable after attempts_max") {
    for (int i = 0; i < 6; ++i)
      h.transport->then(response(500, R"({"status":false,"message":"Server Error"})"));
    auto t = h.client.verify_transaction("re4lyvq3s3");
    REQUIRE_FALSE(t.is_ok());
    CHECK(t.error().kind == ErrorKind::unavailable);
    CHECK(t.error().attempts == attempts_max_default);
    CHECK(t.error().http_status == 500);
    CHECK(h.transport->seen.size() == static_cast<size_t>(attempts_max_default));
    CHECK(h.sleeps_ms.size() == static_cast<size_t>(attempts_max_default - 1));
    CHECK((h.sleeps_ms[2] >= 500 && h.sleeps_ms[2] <= 1000));
  }
  SECTION("network errors then success, on every kind of GET") {
    h.transport->then_fail();
    h.transport->then(response(200, R"({"status":true,"data":[{"currency":"NGN","balance":5}]})"));
    CHECK(h.client.balance().is_ok());
    h.transport->then_fail();
    h.transport->then(response(200, transfer_json));
    CHECK(h.client.verify_transfer("payout-provider-1-0001").is_ok());
    h.transport->then_fail();
    h.transport->then(response(
        200, R"({"status":true,"data":{"account_number":"0001234567","account_name":"A B"}})"));
    CHECK(h.client.resolve_account("0001234567", "058").is_ok());
    h.transport->then_fail();
    h.transport->then(response(200, R"({"status":true,"data":[]})"));
    CHECK(h.client.list_banks({}).is_ok());
    h.transport->then_fail();
    h.transport->then(response(200, R"({"status":true,"data":[]})"));
    CHECK(h.client.list_refunds({}).is_ok());
    CHECK(h.transport->seen.size() == 10);
    CHECK(h.sleeps_ms.size() == 5);
  }
  SECTION("429 waits for x-ratelimit-reset") {
    h.transport->then(
        response(429, R"({"status":false,"message":"Rate limit exceeded!","code":"rate_limited"})",
                 {{"x-ratelimit-reset", "7"}}));
    h.transport->then(response(200, transaction_json));
    REQUIRE(h.client.verify_transaction("re4lyvq3s3").is_ok());
    CHECK(h.sleeps_ms == std::vector<int64_t>{7'000});
  }
  SECTION("429 with a long reset waits no longer than the cap, then reports rate_limited") {
    for (int i = 0; i < attempts_max_default; ++i)
      h.transport->then(response(429, "", {{"x-ratelimit-reset", "3600"}}));
    auto t = h.client.list_transactions({});
    REQUIRE_FALSE(t.is_ok());
    CHECK(t.error().kind == ErrorKind::rate_limited);
    CHECK(t.error().retry_after_s == 3600);
    CHECK(h.sleeps_ms ==
          std::vector<int64_t>(attempts_max_default - 1, rate_limit_wait_ms_max_default));
  }
  SECTION("4xx answers are final") {
    h.transport->then(
        response(400, R"({"status":false,"message":"Transaction reference not found"})"));
    auto t = h.client.verify_transaction("nope-nope-nope");
    REQUIRE_FALSE(t.is_ok());
    CHECK(t.error().kind == ErrorKind::not_found);
    CHECK(t.error().attempts == 1);
    CHECK(h.transport->seen.size() == 1);
    CHECK(h.sleeps_ms.empty());
  }
  SECTION("an unreadable response is not retried") {
    h.transport->then_fail(StatusCode::corrupt);
    CHECK(h.client.balance().error().kind == ErrorKind::unexpected);
    h.transport->then(response(200, "<html>"));
    CHECK(h.client.balance().error().kind == ErrorKind::unexpected);
    CHECK(h.transport->seen.size() == 2);
    CHECK(h.sleeps_ms.empty());
  }
  SECTION("a 5xx followed by a 4xx reports both attempts") {
    h.transport->then(response(503, ""));
    h.transport->then(response(404, R"({"status":false,"message":"Transfer not found"})"));
    auto t = h.client.verify_transfer("payout-provider-1-0001");
    CHECK(t.error().kind == ErrorKind::not_found);
    CHECK(t.error().attempts == 2);
  }
}

TEST_CASE("calls that create or move money are sent exactly once", "[client][retry]") {
  const InitiateTransferRequest transfer{Money{5000, Currency::NGN}, "RCP_abc",
                                         "payout-provider-1-0001", "payout", "balance"};
  std::vector<std::pair<std::string, std::function<ApiError(Client&)>>> calls = {
      {"initialize",
       [](Client& c) {
         return c
             .initialize_transaction(
                 {"a@b.c", Money{10000, Currency::NGN}, "pay-booking-1-1-0", "", ""})
             .error();
       }},
      {"create recipient",
       [](Client& c) {
         return c.create_transfer_recipient({"nuban", "A B", "0001234567", "058", Currency::NGN})
             .error();
       }},
      {"initiate transfer", [&](Client& c) { return c.initiate_transfer(transfer).error(); }},
      {"initiate or lookup",
       [&](Client& c) { return c.initiate_or_lookup_transfer(transfer).error(); }},
      {"finalize transfer",
       [](Client& c) { return c.finalize_transfer("TRF_abc", "123456").error(); }},
      {"create refund",
       [](Client& c) {
         return c.create_refund({"re4lyvq3s3", {}, Money{100, Currency::NGN}, "", ""}).error();
       }},
  };
  for (auto& [name, call] : calls) {
    for (int variant = 0; variant < 4; ++variant) {
      INFO(name << " variant " << variant);
      Harness h;
      if (variant == 0)
        h.transport->then(response(500, R"({"status":false,"message":"Server Error"})"));
      if (variant == 1) h.transport->then_fail();
      if (variant == 2) h.transport->then(response(503, "<html>"));
      if (variant == 3) h.transport->then(response(429, "", {{"x-ratelimit-reset", "1"}}));
      ApiError error = call(h.client);
      CHECK(error.kind == (variant == 3 ? ErrorKind::rate_limited : ErrorKind::unavailable));
      CHECK(error.attempts == 1);
      CHECK(h.transport->seen.size() == 1);
      CHECK(h.transport->posts() == 1);
      CHECK(h.sleeps_ms.empty());
    }
  }
}

TEST_CASE("initiate_or_lookup_transfer resolves a duplicate reference without resending",
          "[client][transfer]") {
  const InitiateTransferRequest request{Money{100000, Currency::NGN}, "RCP_abc",
                                        "payout-provider-1-0001", "payout", "balance"};

  SECTION("duplicate: the existing transfer is looked up and returned") {
    Harness h;
    h.transport->then(response(400, duplicate_transfer_body));
    h.transport->then(response(200, transfer_json));
    auto t = h.client.initiate_or_lookup_transfer(request);
    REQUIRE(t.is_ok());
    CHECK(t->transfer_code == "TRF_8opchtrhtjlfz90n");
    REQUIRE(h.transport->seen.size() == 2);
    CHECK(h.transport->posts() == 1);
    CHECK(h.transport->seen[1].method == HttpMethod::get);
    CHECK(h.transport->seen[1].target == "/transfer/verify/payout-provider-1-0001");
  }
  SECTION("initiate_transfer alone reports the duplicate and does not look it up") {
    Harness h;
    h.transport->then(response(400, duplicate_transfer_body));
    auto t = h.client.initiate_transfer(request);
    CHECK(t.error().kind == ErrorKind::duplicate_transfer_reference);
    CHECK(h.transport->seen.size() == 1);
  }
  SECTION("the stored transfer is for something else: the duplicate error stands") {
    Harness h;
    InitiateTransferRequest other = request;
    other.amount = Money{999, Currency::NGN};
    h.transport->then(response(400, duplicate_transfer_body));
    h.transport->then(response(200, transfer_json));
    auto t = h.client.initiate_or_lookup_transfer(other);
    REQUIRE_FALSE(t.is_ok());
    CHECK(t.error().kind == ErrorKind::duplicate_transfer_reference);
    CHECK(t.error().message.find("TRF_8opchtrhtjlfz90n") != std::string::npos);
    CHECK(h.transport->posts() == 1);
  }
  SECTION("other errors come back as they are") {
    Harness h;
    h.transport->then(response(
        400, R"({"status":false,"message":"Your balance is not enough to fulfil this request"})"));
    CHECK(h.client.initiate_or_lookup_transfer(request).error().kind ==
          ErrorKind::insufficient_balance);
    CHECK(h.transport->seen.size() == 1);
  }
  SECTION("success passes straight through") {
    Harness h;
    h.transport->then(response(200, transfer_json));
    CHECK(h.client.initiate_or_lookup_transfer(request).is_ok());
    CHECK(h.transport->seen.size() == 1);
  }
}

TEST_CASE("transfer references and local validation refuse before sending",
          "[client][validation]") {
  CHECK(transfer_reference_valid("payout-provider-1-0001"));
  CHECK(transfer_reference_valid(std::string(16, 'a')));
  CHECK(transfer_reference_valid(std::string(50, '9')));
  CHECK_FALSE(transfer_reference_valid(std::string(15, 'a')));
  CHECK_FALSE(transfer_reference_valid(std::string(51, 'a')));
  CHECK_FALSE(transfer_reference_valid("Payout-provider-1-0001"));
  CHECK_FALSE(transfer_reference_valid("payout_provider_1_0001"));
  CHECK_FALSE(transfer_reference_valid("payout.provider.1.0001"));
  CHECK_FALSE(transfer_reference_valid(""));

  Harness h;
  auto refused = [&](const ApiError& error) {
    CHECK(error.kind == ErrorKind::validation);
    CHECK(error.http_status == 0);
    CHECK(error.attempts == 0);
  };
  refused(h.client.initiate_transfer({Money{100, Currency::NGN}, "RCP_abc", "Short", "", "balance"})
              .error());
  refused(h.client
              .initiate_transfer(
                  {Money{100, Currency::NGN}, "RCP_abc", "UPPER-case-reference-01", "", "balance"})
              .error());
  refused(h.client
              .initiate_or_lookup_transfer(
                  {Money{0, Currency::NGN}, "RCP_abc", "payout-provider-1-0001", "", "balance"})
              .error());
  refused(h.client
              .initiate_transfer(
                  {Money{100, Currency::NGN}, "", "payout-provider-1-0001", "", "balance"})
              .error());
  refused(h.client.initialize_transaction({"a@b.c", Money{100, Currency::NGN}, "r", "", "[1,2]"})
              .error());
  refused(h.client.initialize_transaction({"a@b.c", Money{100, Currency::NGN}, "r", "", "{broken"})
              .error());
  refused(h.client.initialize_transaction({"", Money{100, Currency::NGN}, "r", "", ""}).error());
  refused(h.client.create_refund({"", {}, {}, "", ""}).error());
  refused(h.client.create_refund({"ref", 5, {}, "", ""}).error());
  refused(h.client.verify_transaction("").error());
  refused(h.client.finalize_transfer("TRF_x", "").error());
  CHECK(h.transport->seen.empty());
}

TEST_CASE("requests carry the right paths, query strings and JSON bodies", "[client][requests]") {
  Harness h;
  h.transport->fallback =
      response(400, R"({"status":false,"message":"refused by the fake"})");  // one send per call
  auto body_of = [&](size_t i) {
    rapidjson::Document doc;
    doc.Parse(h.transport->seen.at(i).body.c_str());
    REQUIRE(doc.IsObject());
    return doc;
  };
  h.client
      .initialize_transaction({"payer@example.com", Money{250000, Currency::GHS},
                               "pay-booking-7-1-0", "https://shop.example/cb",
                               R"({"booking_id":"booking-7","installment":1})"})
      .error();
  {
    const HttpRequest& r = h.transport->seen.at(0);
    CHECK(r.method == HttpMethod::post);
    CHECK(r.target == "/transaction/initialize");
    rapidjson::Document doc = body_of(0);
    CHECK(std::string(doc["email"].GetString()) == "payer@example.com");
    CHECK(doc["amount"].GetInt64() == 250000);  // an integer, never a string or a float
    CHECK(std::string(doc["currency"].GetString()) == "GHS");
    CHECK(std::string(doc["reference"].GetString()) == "pay-booking-7-1-0");
    CHECK(std::string(doc["callback_url"].GetString()) == "https://shop.example/cb");
    CHECK(std::string(doc["metadata"]["booking_id"].GetString()) ==
          "booking-7");  // an object, not a string
    CHECK(doc["metadata"]["installment"].GetInt() == 1);
  }
  h.client.verify_transaction("a b/c?d").error();
  CHECK(h.transport->seen.at(1).target == "/transaction/verify/a%20b%2Fc%3Fd");
  ListTransactionsQuery list;
  list.page = 2;
  list.per_page = 10;
  list.from_ms = parse_iso8601_ms("2024-01-01T00:00:00Z");
  list.status = "success";
  h.client.list_transactions(list).error();
  CHECK(h.transport->seen.at(2).target ==
        "/transaction?perPage=10&page=2&from=2024-01-01T00%3A00%3A00.000Z&status=success");
  ListTransactionsQuery cursor;
  cursor.use_cursor = true;
  cursor.next = "dW5k+ZW=";
  h.client.list_transactions(cursor).error();
  CHECK(h.transport->seen.at(3).target == "/transaction?use_cursor=true&next=dW5k%2BZW%3D");
  h.client.create_refund({"", int64_t{4099260516}, {}, "", ""}).error();
  CHECK(h.transport->seen.at(4).target == "/refund");
  CHECK(body_of(4)["transaction"].GetInt64() == 4099260516);  // an id goes as a number
  CHECK_FALSE(body_of(4).HasMember("amount"));
  h.client.create_refund({"re4lyvq3s3", {}, Money{500, Currency::NGN}, "sorry", ""}).error();
  CHECK(std::string(body_of(5)["transaction"].GetString()) == "re4lyvq3s3");
  CHECK(body_of(5)["amount"].GetInt64() == 500);
  h.client
      .initiate_transfer(
          {Money{7000, Currency::NGN}, "RCP_abc", "payout-provider-1-0001", "weekly", "balance"})
      .error();
  {
    rapidjson::Document doc = body_of(6);
    CHECK(std::string(doc["source"].GetString()) == "balance");
    CHECK(doc["amount"].GetInt64() == 7000);
    CHECK(std::string(doc["recipient"].GetString()) == "RCP_abc");
    CHECK(std::string(doc["reference"].GetString()) == "payout-provider-1-0001");
    CHECK(std::string(doc["currency"].GetString()) == "NGN");
  }
  h.client.finalize_transfer("TRF_abc", "123456").error();
  CHECK(h.transport->seen.at(7).target == "/transfer/finalize_transfer");
  CHECK(std::string(body_of(7)["otp"].GetString()) == "123456");
  h.client.list_refunds({"re4lyvq3s3", Currency::NGN, 1, 20, {}, {}}).error();
  CHECK(h.transport->seen.back().target ==
        "/refund?transaction=re4lyvq3s3&currency=NGN&perPage=20&page=1");
  h.client.fetch_refund(3018284).error();
  CHECK(h.transport->seen.back().target == "/refund/3018284");
  h.client.fetch_transaction(4099260516).error();
  CHECK(h.transport->seen.back().target == "/transaction/4099260516");
  h.client.resolve_account("0001234567", "058").error();
  CHECK(h.transport->seen.back().target == "/bank/resolve?account_number=0001234567&bank_code=058");
  h.client.list_banks({Currency::NGN, "nigeria", "", 100, false, ""}).error();
  CHECK(h.transport->seen.back().target == "/bank?currency=NGN&country=nigeria&perPage=100");
  for (const HttpRequest& r : h.transport->seen) {
    if (r.method == HttpMethod::get) CHECK(r.body.empty());
  }
}

TEST_CASE("the secret key never appears in error text", "[client][secret]") {
  const std::string secret = "sk_test_SUPERSECRET_4f9a2b7c";

  SECTION("echoed back by a server: scrubbed") {
    auto transport = std::make_shared<FakeTransport>();
    Client client(
        transport, RetryPolicy{}, [](std::chrono::milliseconds) {}, secret);
    transport->then(response(401, R"({"status":false,"message":"Invalid key: Bearer )" + secret +
                                      R"(","code":")" + secret + R"(","meta":{"nextStep":")" +
                                      secret + R"("}})"));
    ApiError error = client.balance().error();
    CHECK(error.kind == ErrorKind::invalid_key);
    CHECK(error.to_string().find(secret) == std::string::npos);
    CHECK(error.code.find(secret) == std::string::npos);
    CHECK(error.to_status().to_string().find(secret) == std::string::npos);
    CHECK(error.message.find("[redacted]") != std::string::npos);
  }
  SECTION("over a real socket: sent in the header, absent from every error") {
    MiniServer server([&](const std::string& request) {
      size_t at = request.find("Authorization: ");
      std::string auth = request.substr(at + 15, request.find("\r\n", at) - at - 15);
      return MiniServer::reply(401, R"({"status":false,"message":"Invalid key )" + auth + R"("})");
    });
    ClientConfig config;
    config.base_url = server.base_url();
    config.secret_key = secret;
    auto client = Client::create(config);
    REQUIRE(client.is_ok());
    ApiError error = client.value()->verify_transaction("re4lyvq3s3").error();
    CHECK(error.kind == ErrorKind::invalid_key);
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].find("Authorization: Bearer " + secret + "\r\n") !=
          std::string::npos);
    CHECK(error.to_string().find(secret) == std::string::npos);
  }
  SECTION("connection refused and refused configurations") {
    ClientConfig config;
    config.base_url = "http://127.0.0.1:" + std::to_string(free_port());
    config.secret_key = secret;
    config.retry.attempts_max = 1;
    auto client = Client::create(config);
    REQUIRE(client.is_ok());
    ApiError error = client.value()->balance().error();
    CHECK(error.kind == ErrorKind::unavailable);
    CHECK(error.to_string().find(secret) == std::string::npos);
    config.base_url = "http://api.example.com";
    auto refused = Client::create(config);
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.status().to_string().find(secret) == std::string::npos);
    config.base_url = "https://api.paystack.co";
    config.secret_key = secret + "\r\nX-Injected: 1";  // header injection is refused, unquoted
    auto injected = Client::create(config);
    REQUIRE_FALSE(injected.is_ok());
    CHECK(injected.status().code() == StatusCode::invalid_argument);
    CHECK(injected.status().to_string().find(secret) == std::string::npos);
  }
}

TEST_CASE("account numbers in error text keep only their last 4 digits", "[client][secret]") {
  CHECK(mask_digit_runs("account 0123456789 at bank 058") == "account ******6789 at bank 058");
  CHECK(mask_digit_runs("123456789 stays: 9 digits") == "123456789 stays: 9 digits");
  CHECK(mask_digit_runs("x12345678901234y") == "x**********1234y");
  CHECK(mask_digit_runs("0123456789") == "******6789");
  CHECK(mask_digit_runs("") == "");

  Harness h;
  h.transport->then(response(
      422, R"({"status":false,"message":"Account number 0123456789 is invalid for bank 058",)"
           R"("code":"invalid_account_0123456789","meta":{"nextStep":"Check 0123456789"}})"));
  ApiError error =
      h.client.create_transfer_recipient({"nuban", "Ada", "0123456789", "058", Currency::NGN})
          .error();
  CHECK(error.kind == ErrorKind::validation);
  CHECK(error.message == "Account number ******6789 is invalid for bank 058");
  CHECK(error.to_string().find("0123456789") == std::string::npos);
  CHECK(error.to_status().to_string().find("0123456789") == std::string::npos);
  CHECK(error.code.find("0123456789") == std::string::npos);
  CHECK(error.next_step == "Check ******6789");

  SECTION("without a secret key too") {
    auto transport = std::make_shared<FakeTransport>();
    Client client(transport, RetryPolicy{}, [](std::chrono::milliseconds) {});
    transport->then(response(400, R"({"status":false,"message":"Could not resolve 01234567890"})"));
    ApiError plain = client.resolve_account("01234567890", "058").error();
    CHECK(plain.message == "Could not resolve *******7890");
  }
}

// =============================================================================================
// 3. The transport over real sockets
// =============================================================================================

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

// =============================================================================================
// 4. Integration against tools/paystack-sim
// =============================================================================================

namespace {

constexpr const char* sim_key = "sk_test_x";

// One simulator for the whole run, started on first use and reset before each test case.
using Sim = PaystackSim;
Sim* sim_or_skip() { return Sim::fresh_or_skip(sim_key); }

// A client of the simulator whose transport counts requests, with a recording sleep.
struct Counted : HttpTransport {
  std::shared_ptr<HttpTransport> inner;
  std::atomic<int> sent{0}, posts{0};
  Result<HttpResponse> send(const HttpRequest& request) override {
    ++sent;
    posts += request.method == HttpMethod::post;
    return inner->send(request);
  }
};
struct TestClient {
  std::shared_ptr<Counted> transport = std::make_shared<Counted>();
  std::vector<int64_t> sleeps_ms;
  std::unique_ptr<Client> client;
};
std::unique_ptr<TestClient> test_client(Sim& sim, const std::string& key = sim_key) {
  auto out = std::make_unique<TestClient>();
  HttpClientConfig config;
  config.base_url = sim.base_url();
  config.secret_key = key;
  auto http = HttpClient::create(config);
  REQUIRE(http.is_ok());
  out->transport->inner = std::shared_ptr<HttpTransport>(std::move(http.value()));
  TestClient* raw = out.get();
  out->client = std::make_unique<Client>(
      out->transport, RetryPolicy{},
      [raw](std::chrono::milliseconds ms) { raw->sleeps_ms.push_back(ms.count()); }, key);
  return out;
}

std::string unique_reference(const std::string& stem) {
  static std::atomic<int> counter{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return stem + "-" + std::to_string(now % 1'000'000'000) + "-" + std::to_string(++counter);
}

// Initializes and pays a transaction at the simulator; returns its reference.
std::string paid_transaction(Sim& sim, Client& client, int64_t amount) {
  std::string reference = unique_reference("pay-sim");
  auto init =
      client.initialize_transaction({"payer@example.com", Money{amount, Currency::NGN}, reference,
                                     "", R"({"booking_id":"booking-sim-1","installment":1})"});
  if (!init.is_ok()) FAIL(init.error().to_string());
  sim.pay(reference);
  return reference;
}

// A recipient at the simulator, for payouts.
std::string recipient_code(Client& client) {
  auto banks = client.list_banks({Currency::NGN, "", "", {}, false, ""});
  if (!banks.is_ok()) FAIL(banks.error().to_string());
  REQUIRE_FALSE(banks->items.empty());
  auto recipient = client.create_transfer_recipient(
      {"nuban", "Ada Provider", "0123456789", banks->items[0].code, Currency::NGN});
  if (!recipient.is_ok()) FAIL(recipient.error().to_string());
  return recipient->recipient_code;
}

}  // namespace

TEST_CASE("simulator: transactions", "[sim]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  auto c = test_client(*sim);
  Client& client = *c->client;

  std::string reference = unique_reference("pay-sim");
  auto init = client.initialize_transaction({"payer@example.com", Money{250000, Currency::NGN},
                                             reference, "https://shop.example/cb",
                                             R"({"booking_id":"booking-42","installment":2})"});
  if (!init.is_ok()) FAIL(init.error().to_string());
  CHECK(init->reference == reference);
  CHECK_FALSE(init->access_code.empty());
  CHECK(init->authorization_url.find(init->access_code) != std::string::npos);

  auto unpaid = client.verify_transaction(reference);
  REQUIRE(unpaid.is_ok());
  CHECK(unpaid->status == TransactionStatus::abandoned);
  CHECK_FALSE(unpaid->paid_at_ms.has_value());

  auto duplicate = client.initialize_transaction(
      {"payer@example.com", Money{250000, Currency::NGN}, reference, "", ""});
  REQUIRE_FALSE(duplicate.is_ok());
  CHECK(duplicate.error().kind == ErrorKind::duplicate_transaction_reference);
  CHECK(duplicate.error().attempts == 1);

  sim->pay(reference);
  auto paid = client.verify_transaction(reference);
  if (!paid.is_ok()) FAIL(paid.error().to_string());
  CHECK(paid->status == TransactionStatus::success);
  CHECK(paid->amount == Money{250000, Currency::NGN});
  CHECK(paid->requested_amount == Money{250000, Currency::NGN});
  REQUIRE(paid->fees.has_value());
  CHECK(paid->fees->amount_minor > 0);
  CHECK(paid->paid_at_ms.has_value());
  CHECK(paid->customer_email == "payer@example.com");
  CHECK(paid->metadata_json.find("booking-42") != std::string::npos);
  CHECK(paid->id > 0);

  auto fetched = client.fetch_transaction(paid->id);
  REQUIRE(fetched.is_ok());
  CHECK(fetched->reference == reference);

  std::string failed_reference = unique_reference("pay-sim-failed");
  REQUIRE(client
              .initialize_transaction(
                  {"payer@example.com", Money{10000, Currency::NGN}, failed_reference, "", ""})
              .is_ok());
  sim->pay(failed_reference, "failed");
  CHECK(client.verify_transaction(failed_reference)->status == TransactionStatus::failed);

  ListTransactionsQuery query;
  query.per_page = 50;
  query.page = 1;
  auto page = client.list_transactions(query);
  if (!page.is_ok()) FAIL(page.error().to_string());
  CHECK(page->items.size() == 2);
  query.status = "success";
  auto successes = client.list_transactions(query);
  REQUIRE(successes.is_ok());
  REQUIRE(successes->items.size() == 1);
  CHECK(successes->items[0].reference == reference);
  ListTransactionsQuery cursor;
  cursor.use_cursor = true;
  cursor.per_page = 1;
  auto first = client.list_transactions(cursor);
  REQUIRE(first.is_ok());
  REQUIRE(first->items.size() == 1);
  // Cursor paging is optional for the simulator (FACTS 12.7): follow `next` when it gives one,
  // else the offset meta it answers with.
  ListTransactionsQuery following = cursor;
  if (first->meta.next) {
    following.next = *first->meta.next;
  } else {
    CHECK(first->meta.page_count == 2);
    following = ListTransactionsQuery{};
    following.per_page = 1;
    following.page = 2;
  }
  auto second = client.list_transactions(following);
  REQUIRE(second.is_ok());
  REQUIRE(second->items.size() == 1);
  CHECK(second->items[0].reference != first->items[0].reference);

  auto unknown = client.verify_transaction("no-such-reference-anywhere");
  REQUIRE_FALSE(unknown.is_ok());
  CHECK(unknown.error().kind == ErrorKind::not_found);
  CHECK(unknown.error().attempts == 1);  // a 4xx is not retried
  CHECK(c->sleeps_ms.empty());
}

TEST_CASE("simulator: wrong key", "[sim]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  auto c = test_client(*sim, "sk_test_wrong_key_0000");
  auto balance = c->client->balance();
  REQUIRE_FALSE(balance.is_ok());
  CHECK(balance.error().kind == ErrorKind::invalid_key);
  CHECK(balance.error().http_status == 401);
  CHECK(balance.error().attempts == 1);
  auto init = c->client->initialize_transaction(
      {"a@b.c", Money{10000, Currency::NGN}, unique_reference("pay-sim"), "", ""});
  CHECK(init.error().kind == ErrorKind::invalid_key);
  CHECK(init.error().to_string().find("sk_test_wrong_key_0000") == std::string::npos);
  CHECK(sim->count("transactions") == 0);
}

TEST_CASE("simulator: banks, recipients, transfers", "[sim]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  auto c = test_client(*sim);
  Client& client = *c->client;

  auto banks = client.list_banks({Currency::NGN, "", "", {}, false, ""});
  if (!banks.is_ok()) FAIL(banks.error().to_string());
  REQUIRE_FALSE(banks->items.empty());
  for (const Bank& bank : banks->items) CHECK(bank.currency_code == "NGN");
  auto resolved = client.resolve_account("0123456789", banks->items[0].code);
  if (!resolved.is_ok()) FAIL(resolved.error().to_string());
  CHECK_FALSE(resolved->account_name.empty());
  auto unresolved = client.resolve_account("12", banks->items[0].code);
  REQUIRE_FALSE(unresolved.is_ok());
  CHECK(unresolved.error().kind == ErrorKind::validation);

  std::string recipient = recipient_code(client);
  CHECK(recipient.rfind("RCP_", 0) == 0);
  auto recipients = client.list_transfer_recipients(1, 50);
  REQUIRE(recipients.is_ok());
  REQUIRE(recipients->items.size() == 1);
  CHECK(recipients->items[0].recipient_code == recipient);

  const std::string reference = unique_reference("payout-sim");
  const InitiateTransferRequest request{Money{150000, Currency::NGN}, recipient, reference,
                                        "weekly payout", "balance"};
  auto sent = client.initiate_transfer(request);
  if (!sent.is_ok()) FAIL(sent.error().to_string());
  CHECK(sent->reference == reference);
  CHECK(sent->amount == request.amount);
  CHECK(sent->transfer_code.rfind("TRF_", 0) == 0);
  CHECK((sent->status == TransferStatus::success || sent->status == TransferStatus::pending));

  auto verified = client.verify_transfer(reference);
  REQUIRE(verified.is_ok());
  CHECK(verified->id == sent->id);
  CHECK(verified->recipient_code == recipient);

  SECTION("a duplicate reference is refused, and resolved by lookup without a second transfer") {
    auto again = client.initiate_transfer(request);
    REQUIRE_FALSE(again.is_ok());
    CHECK(again.error().kind == ErrorKind::duplicate_transfer_reference);
    auto resolved_transfer = client.initiate_or_lookup_transfer(request);
    if (!resolved_transfer.is_ok()) FAIL(resolved_transfer.error().to_string());
    CHECK(resolved_transfer->id == sent->id);
    CHECK(resolved_transfer->transfer_code == sent->transfer_code);
    CHECK(sim->count("transfers") == 1);
    InitiateTransferRequest different = request;
    different.amount = Money{1, Currency::NGN};
    CHECK(client.initiate_or_lookup_transfer(different).error().kind ==
          ErrorKind::duplicate_transfer_reference);
    CHECK(sim->count("transfers") == 1);
  }
  SECTION("insufficient balance") {
    InitiateTransferRequest huge{Money{200'000'000'000, Currency::NGN}, recipient,
                                 unique_reference("payout-sim-huge"), "", "balance"};
    auto refused = client.initiate_or_lookup_transfer(huge);
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.error().kind == ErrorKind::insufficient_balance);
    CHECK(sim->count("transfers") == 1);
  }
  SECTION("unknown transfer reference") {
    CHECK(client.verify_transfer("payout-sim-never-sent-0001").error().kind ==
          ErrorKind::not_found);
  }
  SECTION("an unknown recipient is a validation error") {
    InitiateTransferRequest bad{Money{100, Currency::NGN}, "RCP_doesnotexist",
                                unique_reference("payout-sim-bad"), "", "balance"};
    auto refused = client.initiate_transfer(bad);
    CHECK(refused.error().kind == ErrorKind::validation);
    CHECK(refused.error().code == "invalid_transfer_recipient");
  }
  SECTION("OTP: held, then finalized") {
    sim->control("/_sim/config", R"({"transfer_mode":"otp"})");
    std::string otp_reference = unique_reference("payout-sim-otp");
    auto held = client.initiate_transfer(
        {Money{5000, Currency::NGN}, recipient, otp_reference, "", "balance"});
    if (!held.is_ok()) FAIL(held.error().to_string());
    CHECK(held->status == TransferStatus::otp);
    auto wrong_code = client.finalize_transfer("TRF_doesnotexist", "123456");
    CHECK(wrong_code.error().kind == ErrorKind::validation);
    auto finalized = client.finalize_transfer(held->transfer_code, "123456");
    if (!finalized.is_ok()) FAIL(finalized.error().to_string());
    CHECK(finalized->transfer_code == held->transfer_code);
    CHECK(finalized->status != TransferStatus::otp);
    auto listed = client.list_transfers({});
    REQUIRE(listed.is_ok());
    CHECK(listed->items.size() == 2);
  }

  auto balance = client.balance();
  if (!balance.is_ok()) FAIL(balance.error().to_string());
  bool has_ngn = false;
  for (const Balance& b : *balance) has_ngn = has_ngn || b.balance.currency == Currency::NGN;
  CHECK(has_ngn);
}

TEST_CASE("simulator: refunds", "[sim]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  auto c = test_client(*sim);
  Client& client = *c->client;
  std::string reference = paid_transaction(*sim, client, 100000);
  auto transaction = client.verify_transaction(reference);
  REQUIRE(transaction.is_ok());

  auto partial = client.create_refund({reference, {}, Money{30000, Currency::NGN}, "partial", ""});
  if (!partial.is_ok()) FAIL(partial.error().to_string());
  CHECK(partial->amount == Money{30000, Currency::NGN});
  CHECK(partial->transaction_id == transaction->id);
  CHECK(partial->id > 0);

  auto beyond = client.create_refund({reference, {}, Money{80000, Currency::NGN}, "", ""});
  REQUIRE_FALSE(beyond.is_ok());
  CHECK(beyond.error().kind == ErrorKind::validation);
  CHECK(beyond.error().attempts == 1);

  auto by_id = client.create_refund({"", transaction->id, Money{20000, Currency::NGN}, "", ""});
  if (!by_id.is_ok()) FAIL(by_id.error().to_string());

  auto listed = client.list_refunds({reference, {}, {}, {}, {}, {}});
  if (!listed.is_ok()) FAIL(listed.error().to_string());
  CHECK(listed->items.size() == 2);
  auto fetched = client.fetch_refund(partial->id);
  REQUIRE(fetched.is_ok());
  CHECK(fetched->id == partial->id);
  CHECK(fetched->amount == partial->amount);
  CHECK(client.fetch_refund(987654321).error().kind == ErrorKind::not_found);

  auto rest = client.create_refund({reference, {}, {}, "", ""});  // the remaining 50000
  if (!rest.is_ok()) FAIL(rest.error().to_string());
  CHECK(rest->amount == Money{50000, Currency::NGN});
  auto exhausted = client.create_refund({reference, {}, {}, "", ""});
  CHECK(exhausted.error().kind == ErrorKind::validation);
  CHECK(client.create_refund({"no-such-transaction-ref", {}, {}, "", ""}).error().kind ==
        ErrorKind::not_found);
  CHECK(sim->count("refunds") == 3);
}

TEST_CASE("simulator: 5xx is retried for GET, never for POST", "[sim]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  auto c = test_client(*sim);
  sim->control("/_sim/config", R"({"error_rate":1})");

  auto balance = c->client->balance();
  REQUIRE_FALSE(balance.is_ok());
  CHECK(balance.error().kind == ErrorKind::unavailable);
  CHECK(balance.error().http_status / 100 == 5);
  CHECK(balance.error().attempts == attempts_max_default);
  CHECK(c->transport->sent == attempts_max_default);
  CHECK(c->sleeps_ms.size() == static_cast<size_t>(attempts_max_default - 1));

  int before = c->transport->sent;
  auto init = c->client->initialize_transaction(
      {"a@b.c", Money{10000, Currency::NGN}, unique_reference("pay-sim-5xx"), "", ""});
  REQUIRE_FALSE(init.is_ok());
  CHECK(init.error().kind == ErrorKind::unavailable);
  CHECK(init.error().attempts == 1);
  CHECK(c->transport->sent == before + 1);
  auto transfer = c->client->initiate_transfer(
      {Money{100, Currency::NGN}, "RCP_x", unique_reference("payout-sim-5xx"), "", "balance"});
  CHECK(transfer.error().kind == ErrorKind::unavailable);
  CHECK(c->transport->sent == before + 2);
  CHECK(c->transport->posts == 2);
  CHECK(c->sleeps_ms.size() ==
        static_cast<size_t>(attempts_max_default - 1));  // no sleep for the POSTs

  sim->control("/_sim/config", R"({"error_rate":0})");
  CHECK(c->client->balance().is_ok());
  CHECK(sim->count("transactions") == 0);
}
