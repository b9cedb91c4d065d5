// Fuzz target: Paystack webhooks, verify then parse (paystack/webhook.cpp verify_and_parse and
// parse_webhook, paystack/signature.cpp).
//
// Input: one byte picks how the body is signed: with the right HMAC-SHA512 computed here (so the
// parser is reached), with a signature read from the input (up to the first '\n'), with the right
// signature altered in one character, or not at all; the rest is the raw body.
// Properties:
// - nothing is parsed without the right signature: an absent one is signature_missing, a wrong
//   one signature_invalid, and any body verify_and_parse accepts is one whose signature is valid;
// - with the right signature, verify_and_parse answers exactly what parse_webhook answers;
// - a parsed event is consistent: its kind is the one its name maps to, amounts and fees are
//   non-negative integers, an installment is positive, metadata_json is JSON, and the dedupe key
//   starts with the event name and is at most dedupe_key_chars_max characters or the name plus a
//   SHA-256;
// - a redelivery is the same delivery: the body written out again with other spacing parses to the
//   same event and the same dedupe key (unless the key is the hash of the raw body, for unknown
//   events that carry nothing else); metadata text is compared when it reads back as itself.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <climits>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_input.h"
#include "paystack/signature.h"
#include "paystack/webhook.h"

using namespace escrow;
using namespace escrow::paystack;
using escrow::fuzz::FuzzInput;

namespace {

constexpr std::string_view secret_key = "sk_test_0123456789abcdef0123456789abcdef01234567";

std::optional<std::string> respaced(std::string_view body);

// Metadata is the same when its text is, or when either is not a fixed point of RapidJSON's
// reading and writing: its quick number parsing can land an ulp off for a long decimal, so the
// text written back from such a value may read as another number
// (regression-metadata-number-precision). Only the marketplace's own metadata carries such
// numbers; booking_id, installment and the dedupe key never depend on them.
bool same_metadata(const std::string& a, const std::string& b) {
  return a == b || respaced(a) != a || respaced(b) != b;
}

bool same_event(const WebhookEvent& a, const WebhookEvent& b) {
  return a.kind == b.kind && a.event == b.event && a.status == b.status &&
         a.reference == b.reference && a.amount == b.amount && a.currency_code == b.currency_code &&
         a.fees == b.fees && a.transaction_id == b.transaction_id &&
         a.transfer_id == b.transfer_id && a.transfer_code == b.transfer_code &&
         a.recipient_code == b.recipient_code && a.refund_id == b.refund_id &&
         a.refund_reference == b.refund_reference &&
         a.transaction_reference == b.transaction_reference && a.dispute_id == b.dispute_id &&
         same_metadata(a.metadata_json, b.metadata_json) && a.booking_id == b.booking_id &&
         a.installment == b.installment && a.paid_at_ms == b.paid_at_ms && a.channel == b.channel &&
         a.gateway_response == b.gateway_response && a.customer_email == b.customer_email &&
         a.domain == b.domain && a.dedupe_key == b.dedupe_key;
}

bool same_result(const WebhookResult& a, const WebhookResult& b) {
  if (a.is_ok() != b.is_ok()) return false;
  if (!a.is_ok()) return a.error().kind == b.error().kind && a.error().message == b.error().message;
  return same_event(a.value(), b.value());
}

bool is_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  return !doc.HasParseError();
}

bool hashed_key(const WebhookEvent& event) {
  const std::string prefix = event.event + "|sha256:";
  return event.dedupe_key.size() == prefix.size() + 64 && event.dedupe_key.starts_with(prefix);
}

void check_event(const WebhookEvent& event) {
  FUZZ_CHECK(!event.event.empty());
  FUZZ_CHECK(event.kind == webhook_kind_of(event.event));
  FUZZ_CHECK(event.kind == WebhookKind::unknown || event.event == webhook_kind_name(event.kind));
  FUZZ_CHECK(!event.amount || event.amount->amount_minor >= 0);
  FUZZ_CHECK(!event.fees || event.fees->amount_minor >= 0);
  FUZZ_CHECK(!event.installment || (*event.installment > 0 && *event.installment <= INT_MAX));
  FUZZ_CHECK(is_json(event.metadata_json));
  FUZZ_CHECK(event.dedupe_key.starts_with(event.event + "|"));
  FUZZ_CHECK(event.dedupe_key.size() <= dedupe_key_chars_max || hashed_key(event));
}

// The body as another JSON writer would send it: same values, no insignificant whitespace.
std::optional<std::string> respaced(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError()) return std::nullopt;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  if (!doc.Accept(writer)) return std::nullopt;
  return std::string(buffer.GetString(), buffer.GetSize());
}

void check_redelivery(std::string_view body, const WebhookEvent& event) {
  if (hashed_key(event) && event.kind == WebhookKind::unknown) return;  // keyed by the raw bytes
  std::optional<std::string> again = respaced(body);
  FUZZ_CHECK(again.has_value());
  WebhookResult redelivered =
      verify_and_parse(secret_key, *again, sign_webhook(secret_key, *again));
  FUZZ_CHECK(redelivered.is_ok());
  FUZZ_CHECK(same_event(redelivered.value(), event));
}

void check_signed(std::string_view body) {
  const std::string signature = sign_webhook(secret_key, body);
  FUZZ_CHECK(webhook_signature_valid(secret_key, body, signature));
  WebhookResult verified = verify_and_parse(secret_key, body, signature);
  if (!verified.is_ok()) {
    FUZZ_CHECK(verified.error().kind == WebhookErrorKind::malformed);
  }
  FUZZ_CHECK(same_result(verified, parse_webhook(body)));
  if (!verified.is_ok()) return;
  check_event(verified.value());
  check_redelivery(body, verified.value());
}

void check_unsigned(std::string_view body, std::string_view signature) {
  WebhookResult verified = verify_and_parse(secret_key, body, signature);
  if (signature.empty()) {
    FUZZ_CHECK(!verified.is_ok() && verified.error().kind == WebhookErrorKind::signature_missing);
    return;
  }
  const bool valid = signature == sign_webhook(secret_key, body);
  FUZZ_CHECK(webhook_signature_valid(secret_key, body, signature) == valid);
  if (!valid) {
    FUZZ_CHECK(!verified.is_ok() && verified.error().kind == WebhookErrorKind::signature_invalid);
  }
  // The same body and signature under another key is never accepted.
  WebhookResult other = verify_and_parse("sk_test_another_key", body, signature);
  FUZZ_CHECK(!other.is_ok() && other.error().kind != WebhookErrorKind::malformed);
}

std::string altered(std::string signature, uint8_t where) {
  char& c = signature[where % signature.size()];
  c = c == '0' ? 'A' : '0';  // 'A': an upper-case hex digit is not the signature either
  return signature;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const uint8_t mode = input.byte();
  switch (mode % 4) {
    case 0:
      check_signed(input.rest());
      break;
    case 1: {
      std::string_view signature = input.take_until('\n');
      check_unsigned(input.rest(), signature);
      break;
    }
    case 2: {
      const std::string body(input.rest());
      check_unsigned(body, altered(sign_webhook(secret_key, body), mode >> 2));
      break;
    }
    default:
      check_unsigned(input.rest(), "");
      break;
  }
  return 0;
}
