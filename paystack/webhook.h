// Paystack webhooks: signature check, then a typed event (shared/paystack/FACTS.md section 8).
//
// verify_and_parse() checks `x-paystack-signature` (HMAC-SHA512 of the raw body with the secret
// key, compared in constant time by webhook_signature_valid) before it looks at the body: a
// missing or wrong signature returns signature_missing / signature_invalid and nothing is
// parsed. A correctly signed body that is not a JSON object with an `event` name and a `data`
// object or array is `malformed`. Anything else parses: an event this code does not know is
// kept as WebhookKind::unknown with its name, never refused, and fields are read leniently
// (FACTS section 1.7: string amounts, metadata of any type, ids beyond 32 bits, paid_at or
// paidAt, {} or null relations); a field that is absent stays empty.
//
// dedupe_key identifies one delivery of one state of one object: the same for every redelivery
// of an event (Paystack retries and replays, with no event id), different for another event or
// another state of the same object. Built from the event name, the object's Paystack id and
// reference, its status and, for refunds (which carry no id before needs-attention), the
// processor's refund reference and the amount; disputes add their update time, so successive
// reminders differ. Two refunds of the same transaction with the same amount, status and
// processor reference cannot be told apart: Paystack's payload carries nothing else.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ledger/money.h"

namespace escrow::paystack {

// A webhook body larger than this is refused as malformed (the API server limits it earlier).
inline constexpr size_t webhook_body_bytes_max = 1u << 20;
// Longer dedupe keys are replaced by the event name plus the SHA-256 of the key.
inline constexpr size_t dedupe_key_chars_max = 200;

enum class WebhookKind {
  charge_success,
  transfer_success,
  transfer_failed,
  transfer_reversed,
  refund_pending,
  refund_processing,
  refund_processed,
  refund_failed,
  refund_needs_attention,
  dispute_create,
  dispute_remind,
  dispute_resolve,
  unknown,
};

WebhookKind webhook_kind_of(std::string_view event_name);
const char* webhook_kind_name(WebhookKind kind);

struct WebhookEvent {
  WebhookKind kind = WebhookKind::unknown;
  std::string event;   // the name as sent: "charge.success", "subscription.create", ...
  std::string status;  // data.status as sent
  // charge: the transaction reference; transfer: the transfer reference; refund and dispute:
  // the transaction reference (so that it correlates with the booking's charge).
  std::string reference;
  std::optional<Money> amount;            // charge, transfer, refund amount; dispute refund_amount
  std::string currency_code;              // as sent, also when the ledger does not support it
  std::optional<Money> fees;              // charge `fees`, transfer `fee_charged`
  std::optional<int64_t> transaction_id;  // charge id; the transaction of a dispute
  std::optional<int64_t> transfer_id;
  std::string transfer_code;          // TRF_...
  std::string recipient_code;         // RCP_... (transfers)
  std::optional<int64_t> refund_id;   // only refund.needs-attention carries one
  std::string refund_reference;       // the processor's reference, not a Paystack id
  std::string transaction_reference;  // refunds and disputes
  std::optional<int64_t> dispute_id;
  std::string metadata_json = "null";     // raw, whatever its type (charges: data.metadata)
  std::optional<std::string> booking_id;  // metadata.booking_id, also inside a JSON string
  std::optional<int> installment;         // metadata.installment
  std::optional<int64_t> paid_at_ms;
  std::string channel, gateway_response, customer_email, domain;
  std::string dedupe_key;
};

enum class WebhookErrorKind { signature_missing, signature_invalid, malformed };
const char* webhook_error_kind_name(WebhookErrorKind kind);

struct WebhookError {
  WebhookErrorKind kind;
  std::string message;
};

// A WebhookEvent, or the WebhookError explaining why there is none.
class [[nodiscard]] WebhookResult {
 public:
  WebhookResult(WebhookEvent event) : event_(std::move(event)) {}  // NOLINT: implicit by design
  WebhookResult(WebhookError error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool is_ok() const { return event_.has_value(); }
  const WebhookError& error() const { return *error_; }  // only when !is_ok()
  const WebhookEvent& value() const& { return *event_; }
  WebhookEvent&& value() && { return std::move(*event_); }
  const WebhookEvent* operator->() const { return &*event_; }

 private:
  std::optional<WebhookEvent> event_;
  std::optional<WebhookError> error_;
};

// The receiving path: signature first, then parse_webhook().
WebhookResult verify_and_parse(std::string_view secret_key, std::string_view raw_body,
                               std::string_view signature_header);

// Parses a body whose signature was already checked (a stored delivery being processed again).
// Never call it on a body straight from the network.
WebhookResult parse_webhook(std::string_view raw_body);

}  // namespace escrow::paystack
