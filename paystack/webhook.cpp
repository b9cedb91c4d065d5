#include "paystack/webhook.h"

#include <array>
#include <climits>
#include <initializer_list>
#include <utility>

#include "ledger/hash.h"
#include "paystack/json_lenient.h"
#include "paystack/signature.h"

namespace escrow::paystack {

namespace {

using rapidjson::Value;
using namespace lenient;

constexpr std::array<std::pair<WebhookKind, const char*>, 12> event_names = {{
    {WebhookKind::charge_success, "charge.success"},
    {WebhookKind::transfer_success, "transfer.success"},
    {WebhookKind::transfer_failed, "transfer.failed"},
    {WebhookKind::transfer_reversed, "transfer.reversed"},
    {WebhookKind::refund_pending, "refund.pending"},
    {WebhookKind::refund_processing, "refund.processing"},
    {WebhookKind::refund_processed, "refund.processed"},
    {WebhookKind::refund_failed, "refund.failed"},
    {WebhookKind::refund_needs_attention, "refund.needs-attention"},
    {WebhookKind::dispute_create, "charge.dispute.create"},
    {WebhookKind::dispute_remind, "charge.dispute.remind"},
    {WebhookKind::dispute_resolve, "charge.dispute.resolve"},
}};

bool is_transfer(WebhookKind kind) {
  return kind == WebhookKind::transfer_success || kind == WebhookKind::transfer_failed ||
         kind == WebhookKind::transfer_reversed;
}
bool is_refund(WebhookKind kind) {
  return kind == WebhookKind::refund_pending || kind == WebhookKind::refund_processing ||
         kind == WebhookKind::refund_processed || kind == WebhookKind::refund_failed ||
         kind == WebhookKind::refund_needs_attention;
}
bool is_dispute(WebhookKind kind) {
  return kind == WebhookKind::dispute_create || kind == WebhookKind::dispute_remind ||
         kind == WebhookKind::dispute_resolve;
}

std::string id_text(std::optional<int64_t> id) {
  return id ? std::to_string(*id) : std::string();
}

// "event|part|part|...", or event|sha256:<hex> when that would be too long.
std::string join_key(const std::string& event, std::initializer_list<std::string> parts) {
  std::string key = event;
  for (const std::string& part : parts) key += "|" + part;
  if (key.size() > dedupe_key_chars_max) key = event + "|sha256:" + sha256_hex(key);
  return key;
}

// booking_id and installment from metadata that is an object or a JSON string holding one.
void read_metadata(const Value* metadata, WebhookEvent& event) {
  event.metadata_json = raw_json(metadata);
  if (metadata == nullptr) return;
  rapidjson::Document inner;
  const Value* object = metadata;
  if (metadata->IsString()) {
    std::string why;
    std::string_view text(metadata->GetString(), metadata->GetStringLength());
    if (!parse_document(text, inner, why)) return;
    object = &inner;
  }
  if (!object->IsObject()) return;
  event.booking_id = string_field(*object, "booking_id");
  std::optional<int64_t> installment = int_field(*object, "installment");
  if (installment && *installment > 0 && *installment <= INT_MAX)
    event.installment = static_cast<int>(*installment);
}

void read_charge(const Value& data, WebhookEvent& event) {
  event.reference = text_field(data, "reference");
  event.transaction_id = int_field(data, "id");
  std::optional<Currency> currency = parse_currency(event.currency_code);
  event.fees = money_field(data, "fees", currency);
  event.paid_at_ms = time_field(data, {"paid_at", "paidAt"});
  event.channel = text_field(data, "channel");
  event.gateway_response = text_field(data, "gateway_response");
  if (const Value* customer = relation(data, "customer"))
    event.customer_email = text_field(*customer, "email");
  read_metadata(member(data, "metadata"), event);
  event.dedupe_key =
      join_key(event.event, {id_text(event.transaction_id), event.reference, event.status});
}

void read_transfer(const Value& data, WebhookEvent& event) {
  event.reference = text_field(data, "reference");
  event.transfer_id = int_field(data, "id");
  event.transfer_code = text_field(data, "transfer_code");
  event.fees = money_field(data, "fee_charged", parse_currency(event.currency_code));
  event.gateway_response = text_field(data, "gateway_response");
  if (const Value* recipient = relation(data, "recipient"))
    event.recipient_code = text_field(*recipient, "recipient_code");
  event.dedupe_key =
      join_key(event.event, {id_text(event.transfer_id), event.reference, event.status});
}

void read_refund(const Value& data, WebhookEvent& event) {
  event.transaction_reference = text_field(data, "transaction_reference");
  event.reference = event.transaction_reference;
  event.refund_reference = text_field(data, "refund_reference");
  event.refund_id = int_field(data, "id");
  if (const Value* customer = relation(data, "customer"))
    event.customer_email = text_field(*customer, "email");
  std::string amount = id_text(int_field(data, "amount"));
  event.dedupe_key = join_key(event.event, {id_text(event.refund_id), event.transaction_reference,
                                            event.refund_reference, amount, event.status});
}

void read_dispute(const Value& data, WebhookEvent& event) {
  event.dispute_id = int_field(data, "id");
  event.amount = money_field(data, "refund_amount", parse_currency(event.currency_code));
  event.transaction_reference = text_field(data, "transaction_reference");
  if (const Value* transaction = relation(data, "transaction")) {
    event.transaction_id = int_field(*transaction, "id");
    if (event.transaction_reference.empty())
      event.transaction_reference = text_field(*transaction, "reference");
    event.paid_at_ms = time_field(*transaction, {"paid_at", "paidAt"});
  }
  event.reference = event.transaction_reference;
  if (const Value* customer = relation(data, "customer"))
    event.customer_email = text_field(*customer, "email");
  std::optional<int64_t> updated_ms = time_field(data, {"updated_at", "updatedAt"});
  event.dedupe_key =
      join_key(event.event, {id_text(event.dispute_id), event.status, id_text(updated_ms)});
}

// An event we do not model: what identifies it, if anything does, else the body's hash.
void read_unknown(const Value& data, std::string_view raw_body, WebhookEvent& event) {
  event.reference = text_field(data, "reference");
  std::string id = id_text(int_field(data, "id"));
  if (id.empty() && event.reference.empty() && event.status.empty()) {
    event.dedupe_key = event.event + "|sha256:" + sha256_hex(raw_body);
    return;
  }
  event.dedupe_key = join_key(event.event, {id, event.reference, event.status});
}

WebhookError malformed(std::string message) {
  return WebhookError{WebhookErrorKind::malformed, "malformed webhook: " + std::move(message)};
}

}  // namespace

WebhookKind webhook_kind_of(std::string_view event_name) {
  for (const auto& [kind, name] : event_names) {
    if (event_name == name) return kind;
  }
  return WebhookKind::unknown;
}

const char* webhook_kind_name(WebhookKind kind) {
  for (const auto& [entry, name] : event_names) {
    if (entry == kind) return name;
  }
  return "unknown";
}

const char* webhook_error_kind_name(WebhookErrorKind kind) {
  switch (kind) {
    case WebhookErrorKind::signature_missing:
      return "signature_missing";
    case WebhookErrorKind::signature_invalid:
      return "signature_invalid";
    case WebhookErrorKind::malformed:
      return "malformed";
  }
  return "malformed";
}

WebhookResult verify_and_parse(std::string_view secret_key, std::string_view raw_body,
                               std::string_view signature_header) {
  if (signature_header.empty())
    return WebhookError{WebhookErrorKind::signature_missing,
                        "webhook without x-paystack-signature"};
  if (secret_key.empty() || !webhook_signature_valid(secret_key, raw_body, signature_header))
    return WebhookError{WebhookErrorKind::signature_invalid,
                        "webhook signature does not match the body"};
  return parse_webhook(raw_body);
}

WebhookResult parse_webhook(std::string_view raw_body) {
  if (raw_body.size() > webhook_body_bytes_max) return malformed("body over the size limit");
  rapidjson::Document doc;
  std::string why;
  if (!parse_document(raw_body, doc, why)) return malformed(why);
  if (!doc.IsObject()) return malformed("the body is not a JSON object");
  std::optional<std::string> name = string_field(doc, "event");
  if (!name || name->empty()) return malformed("no event name");
  const Value* data = member(doc, "data");
  if (data == nullptr || !(data->IsObject() || data->IsArray())) return malformed("no data object");

  WebhookEvent event;
  event.event = *name;
  event.kind = webhook_kind_of(*name);
  event.status = text_field(*data, "status");
  event.currency_code = text_field(*data, "currency");
  event.domain = text_field(*data, "domain");
  event.amount = money_field(*data, "amount", parse_currency(event.currency_code));
  if (event.kind == WebhookKind::charge_success)
    read_charge(*data, event);
  else if (is_transfer(event.kind))
    read_transfer(*data, event);
  else if (is_refund(event.kind))
    read_refund(*data, event);
  else if (is_dispute(event.kind))
    read_dispute(*data, event);
  else
    read_unknown(*data, raw_body, event);
  return event;
}

}  // namespace escrow::paystack
