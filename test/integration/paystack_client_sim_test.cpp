// Integration tests of the Paystack client (paystack/client.h over net/http_client.h)
// against tools/paystack-sim at ESCROW_TEST_BINARY_DIR/paystack-sim: every call of the client
// and every error case (transactions, a wrong key, banks, recipients and transfers, refunds, 5xx
// retried for GET but never for POST), with /_sim/ control calls and GET /_sim/state to check
// what the simulator recorded. Skipped, with a warning, when the binary is absent.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "net/http_client.h"
#include "paystack/api_error.h"
#include "paystack/client.h"
#include "paystack/types.h"
#include "test/paystack_sim.h"

using namespace escrow;
using namespace escrow::paystack;
using namespace std::chrono_literals;

namespace {

constexpr const char* sim_key = "sk_test_x";

// One simulator for the whole run, started on first use and reset before each test case.
using Sim = PaystackSim;
Sim* sim_or_skip() {
  return Sim::fresh_or_skip(sim_key);
}

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
