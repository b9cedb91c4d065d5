// Typed requests and results of the Paystack calls the ledger makes (client.h), as plain values.
//
// Money is Money (integer subunits + Currency) wherever the currency is known; an object in a
// currency the ledger does not support fails to decode rather than lose its currency. Paystack
// ids are int64 (they exceed 32 bits). Times are unix milliseconds, absent when Paystack sent
// none. Status strings are kept verbatim next to the enum, so a status Paystack adds later is
// `unknown` but still visible. Metadata is kept as the raw JSON text Paystack sent ("null" when
// absent), whatever its type.
//
// Recipients and resolved accounts carry account numbers: never log them (DESIGN section 8).
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/money.h"

namespace escrow::paystack {

// FACTS section 3.
enum class TransactionStatus {
  success,
  failed,
  abandoned,
  ongoing,
  pending,
  processing,
  queued,
  reversed,
  unknown
};
// FACTS section 5.5.
enum class TransferStatus {
  pending,
  otp,
  received,
  success,
  failed,
  reversed,
  abandoned,
  blocked,
  rejected,
  unknown
};
// FACTS section 6.2 (`needs-attention` on the wire).
enum class RefundStatus { pending, processing, processed, failed, needs_attention, unknown };

TransactionStatus parse_transaction_status(std::string_view text);
TransferStatus parse_transfer_status(std::string_view text);
RefundStatus parse_refund_status(std::string_view text);
const char* transaction_status_name(TransactionStatus status);
const char* transfer_status_name(TransferStatus status);
const char* refund_status_name(RefundStatus status);

// Our transfer references: lowercase [a-z0-9-], 16 to 50 characters (DESIGN section 6; safe for
// both Paystack's transfer and transaction reference rules, FACTS section 5.6).
inline constexpr size_t transfer_reference_chars_min = 16;
inline constexpr size_t transfer_reference_chars_max = 50;
bool transfer_reference_valid(std::string_view reference);

// ---- requests --------------------------------------------------------------------------------

struct InitializeTransactionRequest {
  std::string email;
  Money amount;
  std::string reference;      // ours; empty lets Paystack choose one
  std::string callback_url;   // empty: the dashboard's
  std::string metadata_json;  // a JSON object as text; empty: none
};

struct ListTransactionsQuery {
  std::optional<int> page;      // offset paging (1-based)
  std::optional<int> per_page;  // sent as perPage
  bool use_cursor = false;      // cursor paging: follow PageMeta::next
  std::string next, previous;   // cursors from a previous page
  std::optional<int64_t> from_ms, to_ms;
  std::string status;  // success | failed | abandoned | reversed; empty: all
};

struct CreateRecipientRequest {
  std::string type = "nuban";
  std::string name;
  std::string account_number;
  std::string bank_code;
  Currency currency = Currency::NGN;
};

struct ListBanksQuery {
  std::optional<Currency> currency;
  std::string country;  // nigeria | ghana | kenya | south africa; empty: not sent
  std::string type;     // nuban, mobile_money, ...; empty: not sent
  std::optional<int> per_page;
  bool use_cursor = false;
  std::string next;
};

struct InitiateTransferRequest {
  Money amount;
  std::string recipient_code;  // RCP_...
  std::string reference;       // ours, see transfer_reference_valid()
  std::string reason;
  std::string source = "balance";  // the only source Paystack has
};

struct ListTransfersQuery {
  std::optional<int> page, per_page;
  std::string status, recipient;
  std::optional<int64_t> from_ms, to_ms;
};

// Exactly one of transaction_reference and transaction_id.
struct CreateRefundRequest {
  std::string transaction_reference;
  std::optional<int64_t> transaction_id;
  std::optional<Money> amount;  // absent: the full (remaining) amount
  std::string customer_note, merchant_note;
};

// PUT /dispute/:id/resolve: the merchant's answer to a chargeback. `uploaded_filename` names
// evidence uploaded through Paystack's upload URL (needed to decline); `evidence` an evidence id.
struct ResolveDisputeRequest {
  int64_t dispute_id = 0;
  std::string resolution;  // "merchant-accepted" | "declined"
  std::string message;
  Money refund_amount;
  std::string uploaded_filename;
  std::optional<int64_t> evidence;
};

struct ListDisputesQuery {
  std::string status;  // awaiting-merchant-feedback | awaiting-bank-feedback | pending | resolved
  std::string transaction;  // a transaction id; empty: all
  std::optional<int> page, per_page;
  std::optional<int64_t> from_ms, to_ms;
};

struct ListRefundsQuery {
  std::string transaction;  // a transaction reference or id; empty: all
  std::optional<Currency> currency;
  std::optional<int> page, per_page;
  std::optional<int64_t> from_ms, to_ms;
};

// ---- results ---------------------------------------------------------------------------------

struct PageMeta {
  // Offset paging.
  std::optional<int64_t> total, skipped, per_page, page, page_count, total_volume;
  // Cursor paging ("null" strings read as absent).
  std::optional<std::string> next, previous;
};

template <class T>
struct Page {
  std::vector<T> items;
  PageMeta meta;
};

struct InitializedTransaction {
  std::string authorization_url, access_code, reference;
};

struct Transaction {
  int64_t id = 0;
  std::string reference;
  TransactionStatus status = TransactionStatus::unknown;
  std::string status_text;
  Money amount;                           // what was charged
  std::optional<Money> requested_amount;  // what was asked
  std::optional<Money> fees;              // Paystack's fee; null until paid
  std::optional<int64_t> paid_at_ms, created_at_ms;
  std::string channel, gateway_response, domain;
  std::string metadata_json = "null";  // raw, any JSON type
  std::string customer_email, customer_code, authorization_code;
};

struct RecipientDetails {
  std::string account_number, account_name, bank_code, bank_name;
};

struct Recipient {
  int64_t id = 0;
  std::string recipient_code;
  std::string type, name, currency_code;
  std::optional<bool> active;
  RecipientDetails details;
  std::optional<int64_t> created_at_ms;
};

struct Bank {
  int64_t id = 0;
  std::string name, slug, code, country, currency_code, type;
  std::optional<bool> active;
};

struct ResolvedAccount {
  std::string account_number, account_name;
  std::optional<int64_t> bank_id;
};

struct Transfer {
  int64_t id = 0;
  std::string transfer_code;  // TRF_...
  std::string reference;      // may be empty in old list samples
  TransferStatus status = TransferStatus::unknown;
  std::string status_text;
  Money amount;
  std::optional<Money> fee_charged;
  std::optional<int64_t> recipient_id;  // an integer or the recipient object's id
  std::string recipient_code;           // only when the recipient came as an object
  std::string reason, gateway_response, domain;
  std::optional<int64_t> created_at_ms, updated_at_ms, transferred_at_ms;
};

struct Refund {
  int64_t id = 0;
  RefundStatus status = RefundStatus::unknown;
  std::string status_text;
  Money amount;
  std::optional<Money> deducted_amount;
  std::optional<int64_t> transaction_id;  // the transaction as an integer or the object's id
  std::string transaction_reference;      // only when the transaction came as an object
  std::optional<bool> fully_deducted;
  std::string channel, customer_note, merchant_note, refunded_by, domain;
  std::optional<int64_t> refunded_at_ms, expected_at_ms, created_at_ms, updated_at_ms;
};

// A chargeback (FACTS section 8.6), from GET /dispute/:id, the resolve answer or a webhook. Status
// and resolution are kept as sent: awaiting-merchant-feedback | awaiting-bank-feedback | pending |
// resolved; merchant-accepted | declined | auto-accepted, empty while null.
struct Dispute {
  int64_t id = 0;
  std::string status, resolution;
  std::optional<Money> refund_amount;
  std::string transaction_reference;  // transaction_reference, else the embedded transaction's
  std::optional<int64_t> transaction_id;
  std::string transaction_status;  // of the embedded transaction: "reversed" once accepted
  std::string category;
  std::optional<int64_t> due_at_ms, resolved_at_ms, created_at_ms, updated_at_ms;
};

// One entry of GET /balance. Balances in a currency the ledger does not know are left out.
struct Balance {
  Money balance;
};

}  // namespace escrow::paystack
