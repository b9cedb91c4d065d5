// Tests of the Paystack client library without a network: the decoders (paystack/decode.h) and
// the error mapping (paystack/api_error.h). Every official API sample in
// shared/paystack/samples/api/*.json (read at run time, keyed by HTTP status; a sample or status
// with no check here fails the test) goes through the matching decoder; a table of
// status/body/header rows checks every ErrorKind; API objects parse every FACTS 1.7 quirk.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/time_format.h"
#include "net/http_client.h"
#include "paystack/api_error.h"
#include "paystack/client.h"
#include "paystack/decode.h"
#include "paystack/types.h"
#include "test/paystack_client_fixture.h"

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

}  // namespace

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
