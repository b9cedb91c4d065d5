// Tests of the Paystack client's retry policy and request building (paystack/client.h) over a
// scripted fake HttpTransport (test/paystack_client_fixture.h): retries of safe calls with an
// injected sleep (its waits are recorded and checked against the backoff bounds), 429 waiting
// for x-ratelimit-reset, money-moving POSTs sent exactly once, initiate_or_lookup_transfer(),
// local validation, the bodies and query strings sent, and the secret key and account numbers
// scrubbed from error text (the secret also over a real socket, against MiniServer).
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ledger/time_format.h"
#include "net/http_client.h"
#include "paystack/api_error.h"
#include "paystack/client.h"
#include "paystack/types.h"
#include "test/paystack_client_fixture.h"

using namespace escrow;
using namespace escrow::paystack;
using namespace std::chrono_literals;

namespace {

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

}  // namespace

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
