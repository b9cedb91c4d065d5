// Tests of paystack/webhook.h: signature first, then a typed, deduplicable event.
//
// How: bodies are signed here with sign_webhook() and a test key, then fed to verify_and_parse()
// as the API server would. Signatures: good, bad, missing, wrong key, one byte of the body
// altered, and a bad signature on a malformed body (refused before parsing). Every official
// sample in shared/paystack/samples/*.json (read at run time; a sample with no expectation row
// here fails the test) must parse into the right kind, reference, amount, currency and ids.
// Unknown events are kept. Dedupe keys: equal for a redelivery (same bytes, or the same event
// re-serialised with other spacing), distinct across the samples' different events and states.
// Every quirk of FACTS section 1.7 is fed as a hand-written body: string amounts, metadata ""
// / 0 / null / object / JSON string, ids beyond 2^32, paidAt vs paid_at, {} vs null relations.
// A lone surrogate escape and a number beyond a double (found by fuzzing) are malformed.
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "ledger/time_format.h"
#include "paystack/signature.h"
#include "paystack/webhook.h"

using namespace escrow;
using namespace escrow::paystack;

namespace {

constexpr const char* test_key = "sk_test_webhook_0123456789abcdef";

std::filesystem::path samples_dir() {
  std::filesystem::path beside =
      std::filesystem::path(ESCROW_SOURCE_DIR) / ".." / "shared" / "paystack" / "samples";
  if (std::filesystem::exists(beside)) return beside;
  return "/work/shared/paystack/samples";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

WebhookResult deliver(const std::string& body) {
  return verify_and_parse(test_key, body, sign_webhook(test_key, body));
}

WebhookEvent parse_ok(const std::string& body) {
  WebhookResult result = deliver(body);
  INFO(body);
  if (!result.is_ok()) FAIL(result.error().message);
  return result.value();
}

// The same JSON with other spacing: what a redelivery re-serialised by someone else looks like.
std::string reformat(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

std::string charge_body(const std::string& data_fields) {
  return R"({"event":"charge.success","data":{"id":302961,"status":"success","reference":"ref-quirk-0001",)"
         R"("amount":10000,"currency":"NGN")" +
         (data_fields.empty() ? std::string() : "," + data_fields) + "}}";
}

struct SampleExpectation {
  WebhookKind kind;
  std::string reference;
  int64_t amount_minor;
  std::optional<int64_t> transaction_id, transfer_id, refund_id, dispute_id;
  std::string transfer_code;
  std::string status;
};

// One row per official sample file.
const std::map<std::string, SampleExpectation>& sample_expectations() {
  static const std::map<std::string, SampleExpectation> rows = {
      {"charge.success.json",
       {WebhookKind::charge_success, "qTPrJoy9Bx", 10000, 302961, {}, {}, {}, "", "success"}},
      {"charge.dispute.create.json",
       {WebhookKind::dispute_create,
        "v3mjfgbnc19v97x",
        5800,
        896467688,
        {},
        {},
        358950,
        "",
        "awaiting-merchant-feedback"}},
      {"charge.dispute.remind.json",
       {WebhookKind::dispute_remind,
        "v3mjfgbnc19v97x",
        5800,
        896467688,
        {},
        {},
        358950,
        "",
        "awaiting-merchant-feedback"}},
      {"charge.dispute.resolve.json",
       {WebhookKind::dispute_resolve,
        "5qm4pv2mxs9rltp",
        5700,
        896467592,
        {},
        {},
        358949,
        "",
        "resolved"}},
      {"transfer.success.json",
       {WebhookKind::transfer_success,
        "acv_9ee55786-2323-4760-98e2-6380c9cb3f68",
        100000,
        {},
        860703114,
        {},
        {},
        "TRF_v5tip3zx8nna9o78",
        "success"}},
      {"transfer.failed.json",
       {WebhookKind::transfer_failed,
        "1976435206",
        200000,
        {},
        69123462,
        {},
        {},
        "TRF_chs98y5rykjb47w",
        "failed"}},
      {"transfer.reversed.json",
       {WebhookKind::transfer_reversed,
        "jvrjckwenm",
        10000,
        {},
        20615868,
        {},
        {},
        "TRF_js075pj9u07f34l",
        "reversed"}},
      {"refund.pending.json",
       {WebhookKind::refund_pending,
        "tvunjbbd_412829_4b18075d_c7had",
        10000,
        {},
        {},
        {},
        {},
        "",
        "pending"}},
      {"refund.pending-2.json",
       {WebhookKind::refund_pending,
        "tvunjbbd_412829_4b18075d_c7had",
        10000,
        {},
        {},
        {},
        {},
        "",
        "pending"}},
      {"refund.processing.json",
       {WebhookKind::refund_processing,
        "tvunjbbd_412829_4b18075d_c7had",
        10000,
        {},
        {},
        {},
        {},
        "",
        "processing"}},
      {"refund.processing-2.json",
       {WebhookKind::refund_processing,
        "tvunjbbd_412829_4b18075d_c7had",
        10000,
        {},
        {},
        {},
        {},
        "",
        "processing"}},
      {"refund.processed.json",
       {WebhookKind::refund_processed,
        "T2154954_412829_3be32076_6lcg3",
        5000,
        {},
        {},
        {},
        {},
        "",
        "processed"}},
      {"refund.processed-2.json",
       {WebhookKind::refund_processed,
        "T2154954_412829_3be32076_6lcg3",
        5000,
        {},
        {},
        {},
        {},
        "",
        "processed"}},
      {"refund.failed.json",
       {WebhookKind::refund_failed,
        "T9171231_412325_3be2736c_n6tml",
        20000,
        {},
        {},
        {},
        {},
        "",
        "failed"}},
      {"refund.failed-2.json",
       {WebhookKind::refund_failed,
        "T9171231_412325_3be2736c_n6tml",
        20000,
        {},
        {},
        {},
        {},
        "",
        "failed"}},
      {"refund.needs-attention.json",
       {WebhookKind::refund_needs_attention,
        "88bfa94509eb96aa9785641c26cc57cc",
        5306,
        {},
        {},
        123456,
        {},
        "",
        "needs-attention"}},
  };
  return rows;
}

std::map<std::string, std::string> load_samples() {
  std::map<std::string, std::string> samples;
  for (const auto& entry : std::filesystem::directory_iterator(samples_dir())) {
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      samples[entry.path().filename().string()] = read_file(entry.path());
  }
  return samples;
}

}  // namespace

TEST_CASE("webhook signature is checked before anything is parsed", "[webhook][signature]") {
  const std::string body = charge_body("");
  const std::string good = sign_webhook(test_key, body);

  SECTION("good signature") {
    CHECK(verify_and_parse(test_key, body, good).is_ok());
  }
  SECTION("missing signature") {
    WebhookResult result = verify_and_parse(test_key, body, "");
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.error().kind == WebhookErrorKind::signature_missing);
  }
  SECTION("bad signature: right length, wrong hex") {
    std::string bad = good;
    bad[0] = bad[0] == 'a' ? 'b' : 'a';
    WebhookResult result = verify_and_parse(test_key, body, bad);
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.error().kind == WebhookErrorKind::signature_invalid);
  }
  SECTION("bad signature: garbage and upper case") {
    CHECK(verify_and_parse(test_key, body, "sha512=abc").error().kind ==
          WebhookErrorKind::signature_invalid);
    std::string upper = good;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(verify_and_parse(test_key, body, upper).error().kind ==
          WebhookErrorKind::signature_invalid);
  }
  SECTION("signed with another key") {
    std::string other = sign_webhook("sk_test_someone_else", body);
    CHECK(verify_and_parse(test_key, body, other).error().kind ==
          WebhookErrorKind::signature_invalid);
  }
  SECTION("empty secret key never validates") {
    CHECK(verify_and_parse("", body, sign_webhook("", body)).error().kind ==
          WebhookErrorKind::signature_invalid);
  }
  SECTION("body altered by one byte") {
    for (size_t at : {size_t{0}, body.size() / 2, body.size() - 1}) {
      std::string altered = body;
      altered[at] = static_cast<char>(altered[at] ^ 0x01);
      CHECK(verify_and_parse(test_key, altered, good).error().kind ==
            WebhookErrorKind::signature_invalid);
    }
    CHECK(verify_and_parse(test_key, body + " ", good).error().kind ==
          WebhookErrorKind::signature_invalid);
  }
  SECTION("a malformed body with a bad signature is a signature error, not a parse error") {
    CHECK(verify_and_parse(test_key, "{not json", good).error().kind ==
          WebhookErrorKind::signature_invalid);
  }
}

TEST_CASE("malformed bodies with a valid signature are a distinct error", "[webhook][malformed]") {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  for (const std::string& body :
       {std::string("not json"), std::string(""), std::string("[1,2,3]"),
        std::string(R"({"data":{}})"), std::string(R"({"event":"","data":{}})"),
        std::string(R"({"event":"charge.success"})"),
        std::string(R"({"event":"charge.success","data":"x"})"),
        std::string(R"({"event":"charge.success","data":{}} trailing)"),
        std::string("{\"event\":\"x\",\"data\":{\"a\":\"\xff\"}}"),
        R"({"event":"x","data":{"m":)" + deep + "}}"}) {
    INFO(body.substr(0, 80));
    WebhookResult result = deliver(body);
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.error().kind == WebhookErrorKind::malformed);
  }
  std::string huge =
      R"({"event":"x","data":{"pad":")" + std::string(webhook_body_bytes_max, 'a') + "\"}}";
  CHECK(deliver(huge).error().kind == WebhookErrorKind::malformed);
}

TEST_CASE("every official sample parses into the right event", "[webhook][samples]") {
  std::map<std::string, std::string> samples = load_samples();
  REQUIRE(samples.size() >= 16);
  for (const auto& [file, body] : samples) {
    INFO("sample " << file);
    auto row = sample_expectations().find(file);
    REQUIRE(row != sample_expectations().end());  // a new sample needs an expectation here
    const SampleExpectation& want = row->second;
    WebhookEvent event = parse_ok(body);
    CHECK(event.kind == want.kind);
    CHECK(event.event == webhook_kind_name(want.kind));
    CHECK(event.reference == want.reference);
    REQUIRE(event.amount.has_value());
    CHECK(*event.amount == Money{want.amount_minor, Currency::NGN});
    CHECK(event.currency_code == "NGN");
    CHECK(event.transaction_id == want.transaction_id);
    CHECK(event.transfer_id == want.transfer_id);
    CHECK(event.refund_id == want.refund_id);
    CHECK(event.dispute_id == want.dispute_id);
    CHECK(event.transfer_code == want.transfer_code);
    CHECK(event.status == want.status);
    CHECK_FALSE(event.dedupe_key.empty());
  }
}

TEST_CASE("sample details the ledger relies on", "[webhook][samples]") {
  std::map<std::string, std::string> samples = load_samples();

  WebhookEvent charge = parse_ok(samples.at("charge.success.json"));
  CHECK(charge.metadata_json == "0");  // the 2016 sample's metadata is the number 0
  CHECK_FALSE(charge.booking_id.has_value());
  CHECK_FALSE(charge.fees.has_value());  // "fees": null
  CHECK(charge.paid_at_ms == parse_iso8601_ms("2016-09-30T21:10:19.000Z"));
  CHECK(charge.channel == "card");
  CHECK(charge.customer_email == "bojack@horseman.com");

  WebhookEvent success = parse_ok(samples.at("transfer.success.json"));
  CHECK(success.fees == Money{0, Currency::NGN});
  CHECK(success.recipient_code == "RCP_gd9vgag7n5lr5ix");
  WebhookEvent failed = parse_ok(samples.at("transfer.failed.json"));
  CHECK(failed.recipient_code == "RCP_cjcua8itre45gs");
  CHECK_FALSE(failed.fees.has_value());

  WebhookEvent processed = parse_ok(samples.at("refund.processed.json"));
  CHECK(processed.transaction_reference == "T2154954_412829_3be32076_6lcg3");
  CHECK(processed.refund_reference == "132013318360");
  CHECK_FALSE(processed.refund_id.has_value());  // Paystack sends no refund id here
  WebhookEvent pending = parse_ok(samples.at("refund.pending.json"));
  CHECK(pending.refund_reference.empty());  // null while pending
  WebhookEvent attention = parse_ok(samples.at("refund.needs-attention.json"));
  CHECK(attention.refund_id == 123456);  // sent as the string "123456"

  WebhookEvent dispute = parse_ok(samples.at("charge.dispute.create.json"));
  CHECK(dispute.transaction_reference ==
        "v3mjfgbnc19v97x");  // from data.transaction; top level is null
  CHECK(dispute.customer_email == "example@test.com");
}

TEST_CASE("unknown events are kept, never refused", "[webhook][unknown]") {
  WebhookEvent sub = parse_ok(
      R"({"event":"subscription.create","data":{"id":77,"status":"active","amount":5000,"currency":"NGN"}})");
  CHECK(sub.kind == WebhookKind::unknown);
  CHECK(sub.event == "subscription.create");
  CHECK(sub.status == "active");
  CHECK(sub.amount == Money{5000, Currency::NGN});
  CHECK_FALSE(sub.dedupe_key.empty());

  // subscription.expiring_cards carries an array; nothing identifies it but its bytes.
  const std::string cards =
      R"({"event":"subscription.expiring_cards","data":[{"expiry_date":"12/2021"}]})";
  WebhookEvent expiring = parse_ok(cards);
  CHECK(expiring.kind == WebhookKind::unknown);
  CHECK(expiring.event == "subscription.expiring_cards");
  CHECK(parse_ok(cards).dedupe_key == expiring.dedupe_key);
  CHECK(parse_ok(R"({"event":"subscription.expiring_cards","data":[{"expiry_date":"01/2022"}]})")
            .dedupe_key != expiring.dedupe_key);

  // An event in a currency the ledger does not support still parses; only the Money is absent.
  WebhookEvent xof = parse_ok(
      R"({"event":"charge.success","data":{"id":1,"reference":"r","status":"success","amount":100,"currency":"XOF"}})");
  CHECK(xof.kind == WebhookKind::charge_success);
  CHECK(xof.currency_code == "XOF");
  CHECK_FALSE(xof.amount.has_value());
}

TEST_CASE("dedupe keys: stable for a redelivery, distinct across events and states",
          "[webhook][dedupe]") {
  std::map<std::string, std::string> samples = load_samples();
  std::map<std::string, std::string> key_to_file;
  for (const auto& [file, body] : samples) {
    INFO("sample " << file);
    std::string key = parse_ok(body).dedupe_key;
    CHECK(parse_ok(body).dedupe_key == key);            // the same bytes again
    CHECK(parse_ok(reformat(body)).dedupe_key == key);  // the same event, other spacing
    if (file.find("-2.json") != std::string::npos) {
      // The second official sample of an event repeats the first one's object and state.
      std::string first = file.substr(0, file.size() - 7) + ".json";
      CHECK(parse_ok(samples.at(first)).dedupe_key == key);
      continue;
    }
    auto [it, inserted] = key_to_file.emplace(key, file);
    INFO("same key as " << it->second);
    CHECK(inserted);
  }
  CHECK(key_to_file.size() == 12);  // 16 samples, 4 of them second copies

  // One object moving through states gets a key per state.
  std::string processing =
      R"({"event":"refund.processing","data":{"status":"processing","transaction_reference":"t-1","refund_reference":null,"amount":"500","currency":"NGN"}})";
  std::string processed =
      R"({"event":"refund.processed","data":{"status":"processed","transaction_reference":"t-1","refund_reference":"rr-9","amount":"500","currency":"NGN"}})";
  CHECK(parse_ok(processing).dedupe_key != parse_ok(processed).dedupe_key);
  // Two partial refunds of one transaction with different amounts are told apart.
  std::string other_amount =
      R"({"event":"refund.processing","data":{"status":"processing","transaction_reference":"t-1","refund_reference":null,"amount":"700","currency":"NGN"}})";
  CHECK(parse_ok(processing).dedupe_key != parse_ok(other_amount).dedupe_key);
  // A transfer that succeeded and was later reversed: two keys.
  std::string ok =
      R"({"event":"transfer.success","data":{"id":5,"reference":"payout-0001-abcdefgh","status":"success","amount":100,"currency":"NGN","transfer_code":"TRF_x"}})";
  std::string rev =
      R"({"event":"transfer.reversed","data":{"id":5,"reference":"payout-0001-abcdefgh","status":"reversed","amount":100,"currency":"NGN","transfer_code":"TRF_x"}})";
  CHECK(parse_ok(ok).dedupe_key != parse_ok(rev).dedupe_key);
  // Two charges, same amount: their ids and references differ.
  CHECK(
      parse_ok(charge_body("")).dedupe_key !=
      parse_ok(
          R"({"event":"charge.success","data":{"id":302962,"status":"success","reference":"ref-quirk-0002","amount":10000,"currency":"NGN"}})")
          .dedupe_key);
  // Very long references still give a bounded key.
  std::string long_ref(500, 'r');
  WebhookEvent long_event =
      parse_ok(R"({"event":"charge.success","data":{"id":1,"status":"success","reference":")" +
               long_ref + R"(","amount":100,"currency":"NGN"}})");
  CHECK(long_event.dedupe_key.size() <= dedupe_key_chars_max);
  CHECK(long_event.reference == long_ref);
}

TEST_CASE("FACTS 1.7 quirks parse leniently", "[webhook][quirks]") {
  SECTION("metadata of every type is kept raw") {
    CHECK(parse_ok(charge_body(R"("metadata":"")")).metadata_json == R"("")");
    CHECK(parse_ok(charge_body(R"("metadata":0)")).metadata_json == "0");
    CHECK(parse_ok(charge_body(R"("metadata":null)")).metadata_json == "null");
    CHECK(parse_ok(charge_body("")).metadata_json == "null");
    WebhookEvent object = parse_ok(
        charge_body(R"("metadata":{"booking_id":"bk-1","installment":2,"x":[1,{"y":true}]})"));
    CHECK(object.metadata_json == R"({"booking_id":"bk-1","installment":2,"x":[1,{"y":true}]})");
    CHECK(object.booking_id == std::optional<std::string>("bk-1"));
    CHECK(object.installment == std::optional<int>(2));
  }
  SECTION("metadata as a JSON string holding an object") {
    WebhookEvent event =
        parse_ok(charge_body(R"("metadata":"{\"booking_id\":\"bk-2\",\"installment\":\"1\"}")"));
    CHECK(event.booking_id == std::optional<std::string>("bk-2"));
    CHECK(event.installment == std::optional<int>(1));
    CHECK(event.metadata_json == R"("{\"booking_id\":\"bk-2\",\"installment\":\"1\"}")");
    WebhookEvent junk = parse_ok(charge_body(R"("metadata":"not json at all")"));
    CHECK_FALSE(junk.booking_id.has_value());
    WebhookEvent numeric_id =
        parse_ok(charge_body(R"("metadata":{"booking_id":12345,"installment":0})"));
    CHECK(numeric_id.booking_id == std::optional<std::string>("12345"));
    CHECK_FALSE(numeric_id.installment.has_value());  // installments are 1-based
  }
  SECTION("ids beyond 32 bits, also beyond a double's exact range") {
    WebhookEvent event = parse_ok(
        R"({"event":"charge.success","data":{"id":4099260516,"reference":"r","status":"success","amount":1,"currency":"NGN"}})");
    CHECK(event.transaction_id == int64_t{4099260516});
    WebhookEvent bigger = parse_ok(
        R"({"event":"transfer.success","data":{"id":9007199254740993,"reference":"r","status":"success","amount":1,"currency":"NGN","transfer_code":"TRF_1"}})");
    CHECK(bigger.transfer_id == int64_t{9007199254740993});
    WebhookEvent as_string = parse_ok(
        R"({"event":"refund.needs-attention","data":{"id":"5000000000","transaction_reference":"t","status":"needs-attention","amount":1,"currency":"NGN"}})");
    CHECK(as_string.refund_id == int64_t{5000000000});
  }
  SECTION("amounts as integers or numeric strings") {
    auto refund = [](const std::string& amount) {
      return parse_ok(
          R"({"event":"refund.processed","data":{"status":"processed","transaction_reference":"t","amount":)" +
          amount + R"(,"currency":"GHS"}})");
    };
    CHECK(refund("\"5000\"").amount == Money{5000, Currency::GHS});
    CHECK(refund("5000").amount == Money{5000, Currency::GHS});
    CHECK_FALSE(refund("\"50.00\"").amount.has_value());  // not subunits: left absent, not guessed
    CHECK_FALSE(refund("\"12abc\"").amount.has_value());
    CHECK_FALSE(refund("\"-5\"").amount.has_value());
    CHECK_FALSE(refund("null").amount.has_value());
    CHECK(parse_ok(charge_body(R"("fees":"150")")).fees == Money{150, Currency::NGN});
  }
  SECTION("paid_at and paidAt, either or both") {
    int64_t want = *parse_iso8601_ms("2024-08-22T09:15:02.000Z");
    CHECK(parse_ok(charge_body(R"("paid_at":"2024-08-22T09:15:02.000Z")")).paid_at_ms == want);
    CHECK(parse_ok(charge_body(R"("paidAt":"2024-08-22T09:15:02.000Z")")).paid_at_ms == want);
    CHECK(
        parse_ok(charge_body(R"("paid_at":null,"paidAt":"2024-08-22T09:15:02.000Z")")).paid_at_ms ==
        want);
    CHECK_FALSE(parse_ok(charge_body(R"("paid_at":null)")).paid_at_ms.has_value());
  }
  SECTION("relations as {}, null, or missing") {
    for (const char* customer : {R"("customer":{})", R"("customer":null)", ""}) {
      WebhookEvent event = parse_ok(charge_body(customer));
      CHECK(event.customer_email.empty());
      CHECK(event.reference == "ref-quirk-0001");
    }
    CHECK(parse_ok(
              charge_body(R"("customer":{"email":"a@b.c"},"plan":{},"split":null,"subaccount":{})"))
              .customer_email == "a@b.c");
    // A transfer whose recipient is an integer id rather than an object, integration either way.
    WebhookEvent transfer = parse_ok(
        R"({"event":"transfer.failed","data":{"id":9,"reference":"r","status":"failed","amount":1,"currency":"NGN","transfer_code":"TRF_9","recipient":56824902,"integration":463433}})");
    CHECK(transfer.recipient_code.empty());
    CHECK(transfer.transfer_id == 9);
    // A dispute without its transaction object still gives its own id and the top-level reference.
    WebhookEvent dispute = parse_ok(
        R"({"event":"charge.dispute.create","data":{"id":3,"status":"pending","refund_amount":100,"currency":"NGN","transaction":{},"transaction_reference":"t-3"}})");
    CHECK(dispute.dispute_id == 3);
    CHECK(dispute.reference == "t-3");
    CHECK_FALSE(dispute.transaction_id.has_value());
  }
  SECTION("booleans as 1/0 and unexpected types do not break parsing") {
    WebhookEvent event = parse_ok(charge_body(
        R"("log":null,"fees_split":1,"authorization":{"reusable":1},"status_extra":[1,2])"));
    CHECK(event.amount == Money{10000, Currency::NGN});
  }
}

TEST_CASE("a lone surrogate escape is malformed, not invalid UTF-8 inside an event (fuzz)",
          "[webhook][malformed]") {
  // regression-lone-surrogate-escape: RapidJSON decoded "\udd33" into bytes that are not UTF-8,
  // which then reached the event name, references and stored events.
  for (const std::string& body :
       {std::string(R"({"event":"refu\udd33nd.processed","data":{"status":"processed"}})"),
        std::string(R"({"event":"charge.success","data":{"reference":"r-\uDC00"}})"),
        std::string(R"({"event":"charge.success","data":{"\udfff":1}})")}) {
    INFO(body);
    WebhookResult result = deliver(body);
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.error().kind == WebhookErrorKind::malformed);
  }
  // A surrogate pair is one character, and fine.
  WebhookResult pair = deliver(R"({"event":"charge.success","data":{"reference":"\ud83d\ude00"}})");
  REQUIRE(pair.is_ok());
  CHECK(pair->reference == "\xF0\x9F\x98\x80");
}

TEST_CASE("a number beyond a double is malformed, not a truncated metadata text (fuzz)",
          "[webhook][malformed]") {
  // RapidJSON read it as infinity; the metadata written back from it stopped there, half JSON.
  WebhookResult result =
      deliver(R"({"event":"charge.success","data":{"metadata":{"n":922337101842738791e304}}})");
  REQUIRE_FALSE(result.is_ok());
  CHECK(result.error().kind == WebhookErrorKind::malformed);
}

TEST_CASE("a long decimal in metadata leaves the event and its key alike in any spacing (fuzz)",
          "[webhook]") {
  // regression-metadata-number-precision: RapidJSON reads such a number an ulp off, so the
  // metadata text written back from it differs from one reading to the next. The event itself,
  // and so deduplication, never depends on it. (Full-precision parsing is no cure: it reads
  // 922337101842738791e304 as -2.85e-295.)
  const std::string body =
      R"({"event":"charge.success","data":{"id":302961,"reference":"r-1","metadata":)"
      R"({"booking_id":"bk_1","installment":1,"crnt":580800888888888888888888888888888888)"
      R"(8888008888888888888888888888858808008888888888888888888888887777777777711.776832}}})";
  WebhookResult first = deliver(body);
  REQUIRE(first.is_ok());
  const std::string again =
      R"({"event":"charge.success","data":{"id":302961,"reference":"r-1","metadata":)" +
      first->metadata_json + "}}";
  WebhookResult second = deliver(again);
  REQUIRE(second.is_ok());
  CHECK(second->dedupe_key == first->dedupe_key);
  CHECK(second->booking_id == first->booking_id);
  CHECK(second->installment == first->installment);
  CHECK(second->reference == first->reference);
}
