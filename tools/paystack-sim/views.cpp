// JSON views of the simulated objects, field by field in the order and with the types of
// Paystack's official samples (shared/paystack/samples): each operation has its own shape, as
// Paystack's do (verify vs fetch vs list vs webhook differ in a few fields), and the webhook
// bodies {"event","data"} built from the same objects. Disputes follow the official
// charge.dispute.* samples, plus what the OpenAPI spec requires in its dispute responses.
#include <cctype>

#include "state.h"
#include "util.h"

namespace paystack_sim {

namespace {

constexpr uint64_t kIntegrationId = 463433;
constexpr std::string_view kDomain = "test";
constexpr std::string_view kBusinessName = "Paystack Sim";
constexpr std::string_view kCustomerIp = "127.0.0.1";
constexpr std::string_view kRefundProcessor = "instant-transfer";
constexpr int64_t kRefundExpectedAfterMs = 9LL * 24 * 3600 * 1000;
// The simulated test card every customer pays with (authorization, and a dispute's bin/last4).
constexpr std::string_view kCardBin = "408408";
constexpr std::string_view kCardLast4 = "4081";
constexpr std::string_view kDisputeCategory = "chargeback";

// Paystack returns metadata as given: "" when none was given (verify sample), while its list
// sample shows null or an object there.
void write_metadata(JsonOut& out, const std::string& metadata_json, bool list) {
  if (list) {
    if (!metadata_json.empty() && metadata_json.front() == '{') {
      out.raw(metadata_json);
    } else {
      out.null();
    }
  } else if (metadata_json.empty()) {
    out.str("");
  } else {
    out.raw(metadata_json);
  }
}

void write_log(JsonOut& out, const Transaction& tx) {
  if (!tx.attempted_ms) {
    out.null();
    return;
  }
  const bool success = tx.status == TxStatus::success || tx.status == TxStatus::reversed;
  const int64_t spent_s = std::max<int64_t>(1, (*tx.attempted_ms - tx.created_ms) / 1000);
  out.begin_object().kint("start_time", tx.created_ms / 1000).kint("time_spent", spent_s);
  out.kint("attempts", 1).kint("errors", success ? 0 : 1).kbool("success", success);
  out.kbool("mobile", false).key("input").begin_array().end_array();
  out.key("history").begin_array();
  out.begin_object().kstr("type", "action").kstr("message", "Attempted to pay with card");
  out.kint("time", spent_s - 1 > 0 ? spent_s - 1 : 0).end_object();
  out.begin_object().kstr("type", success ? "success" : "error");
  out.kstr("message", success ? "Successfully paid with card" : "Error: Declined");
  out.kint("time", spent_s).end_object();
  out.end_array().end_object();
}

void write_source(JsonOut& out) {
  out.begin_object().kstr("type", "api").kstr("source", "merchant_api");
  out.kstr("entry_point", "transaction_initialize").knull("identifier").end_object();
}

std::optional<std::string> optional_time(const std::optional<int64_t>& unix_ms) {
  return unix_ms ? std::optional(iso_time(*unix_ms)) : std::nullopt;
}

std::optional<std::string> resolution_text(const Dispute& d) {
  return d.resolution ? std::optional(std::string(dispute_resolution_name(*d.resolution)))
                      : std::nullopt;
}

void write_evidence(JsonOut& out, const Dispute& d) {
  if (d.evidence) {
    out.kuint("evidence", *d.evidence);
  } else {
    out.knull("evidence");
  }
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

// --- transactions -------------------------------------------------------------------------

void SimState::write_customer(JsonOut& out, const Customer& c, TxView view) const {
  out.begin_object().kuint("id", c.id).knull("first_name").knull("last_name");
  out.kstr("email", c.email);
  if (view == TxView::list) {  // the list sample's order, without international_format_phone
    out.knull("phone").knull("metadata").kstr("customer_code", c.code);
    out.kstr("risk_action", "default").end_object();
    return;
  }
  out.kstr("customer_code", c.code).knull("phone").knull("metadata");
  out.kstr("risk_action", "default").knull("international_format_phone").end_object();
}

void SimState::write_authorization(JsonOut& out, const Transaction& tx) const {
  if (!tx.attempted_ms) {  // no card was ever presented: Paystack shows an empty object
    out.begin_object().end_object();
    return;
  }
  const Customer& c = customers_[tx.customer];
  out.begin_object().kstr("authorization_code", c.authorization_code).kstr("bin", kCardBin);
  out.kstr("last4", kCardLast4).kstr("exp_month", "12").kstr("exp_year", "2030");
  out.kstr("channel", "card").kstr("card_type", "visa ").kstr("bank", "TEST BANK");
  out.kstr("country_code", "NG").kstr("brand", "visa");
  out.kbool("reusable", tx.status != TxStatus::failed).kstr("signature", c.card_signature);
  out.knull("account_name").knull("receiver_bank_account_number").knull("receiver_bank");
  out.end_object();
}

void SimState::write_transaction(JsonOut& out, const Transaction& tx, TxView view) const {
  const std::optional<std::string> paid_at =
      tx.paid_ms ? std::optional(iso_time(*tx.paid_ms)) : std::nullopt;
  out.begin_object().kuint("id", tx.id).kstr("domain", kDomain);
  out.kstr("status", tx_status_name(tx.status)).kstr("reference", tx.reference);
  if (view == TxView::verify || view == TxView::fetch) out.knull("receipt_number");
  out.kint("amount", tx.amount).knull("message").kstr("gateway_response", tx.gateway_response);
  if (view == TxView::fetch) out.knull("helpdesk_link");
  out.kopt("paid_at", paid_at).kstr("created_at", iso_time(tx.created_ms));
  out.kstr("channel", "card").kstr("currency", tx.currency);
  if (tx.attempted_ms) {
    out.kstr("ip_address", kCustomerIp);
  } else {
    out.knull("ip_address");
  }
  out.key("metadata");
  write_metadata(out, tx.metadata_json, view == TxView::list);
  if (view == TxView::webhook) out.knull("fees_breakdown");
  out.key("log");
  write_log(out, tx);
  out.kopt_int("fees", tx.fees).knull("fees_split");
  if (view == TxView::list) {
    out.key("customer");
    write_customer(out, customers_[tx.customer], view);
    out.key("authorization");
    write_authorization(out, tx);
  } else {
    out.key("authorization");
    write_authorization(out, tx);
    out.key("customer");
    write_customer(out, customers_[tx.customer], view);
  }
  write_transaction_tail(out, tx, view);
  out.end_object();
}

void SimState::write_transaction_tail(JsonOut& out, const Transaction& tx, TxView view) const {
  const std::optional<std::string> paid_at =
      tx.paid_ms ? std::optional(iso_time(*tx.paid_ms)) : std::nullopt;
  const std::string created_at = iso_time(tx.created_ms);
  if (view == TxView::verify) {
    out.knull("plan").kempty("split").knull("order_id").kopt("paidAt", paid_at);
    out.kstr("createdAt", created_at).kint("requested_amount", tx.requested_amount);
    out.knull("pos_transaction_data").knull("source").knull("fees_breakdown").knull("connect");
    out.kstr("transaction_date", created_at).kempty("plan_object").kempty("subaccount");
    return;
  }
  out.kempty("plan");
  if (view == TxView::list) {
    out.kempty("split").kempty("subaccount");
  } else {
    out.kempty("subaccount").kempty("split");
  }
  out.knull("order_id").kopt("paidAt", paid_at);
  if (view != TxView::webhook) out.kstr("createdAt", created_at);
  out.kint("requested_amount", tx.requested_amount);
  if (view == TxView::list) {
    out.key("source");
    write_source(out);
    out.knull("connect").knull("pos_transaction_data");
    return;
  }
  out.knull("pos_transaction_data").key("source");
  write_source(out);
  if (view == TxView::fetch) out.knull("fees_breakdown").knull("connect");
}

WebhookOut SimState::transaction_webhook(const Transaction& tx) const {
  JsonOut out;
  out.begin_object().kstr("event", "charge.success").key("data");
  write_transaction(out, tx, TxView::webhook);
  out.end_object();
  return WebhookOut{"charge.success", tx.reference, out.take()};
}

// --- recipients and transfers -------------------------------------------------------------

void SimState::write_recipient(JsonOut& out, const Recipient& r, bool webhook,
                               bool snake_times) const {
  const std::string created = iso_time(r.created_ms);
  out.begin_object().kbool("active", true).kstr("createdAt", created);
  out.kstr("currency", r.currency).kstr("description", r.description).kstr("domain", kDomain);
  out.kopt("email", r.email).kuint("id", r.id).kuint("integration", kIntegrationId);
  if (r.metadata_json.empty()) {
    out.knull("metadata");
  } else {
    out.kraw("metadata", r.metadata_json);
  }
  out.kstr("name", r.name).kstr("recipient_code", r.code).kstr("type", r.type);
  out.kstr("updatedAt", created).kbool("is_deleted", false);
  if (!webhook) out.kbool("isDeleted", false);
  out.key("details").begin_object().knull("authorization_code");
  out.kstr("account_number", r.account_number).kopt("account_name", r.account_name);
  out.kstr("bank_code", r.bank_code).kstr("bank_name", r.bank_name).end_object();
  if (snake_times) out.kstr("created_at", created).kstr("updated_at", created);
  out.end_object();
}

void SimState::write_transfer_short(JsonOut& out, const Transfer& t, bool initiate) const {
  out.begin_object();
  if (initiate) {
    out.key("transfersessionid").begin_array().end_array();
    out.key("transfertrials").begin_array().end_array();
  }
  out.kstr("domain", kDomain).kint("amount", t.amount).kstr("currency", t.currency);
  out.kstr("reference", t.reference).kstr("source", "balance").knull("source_details");
  out.kstr("reason", t.reason).kstr("status", transfer_status_name(t.status)).knull("failures");
  out.kstr("transfer_code", t.code).knull("titan_code");
  out.kopt("transferred_at",
           t.transferred_ms ? std::optional(iso_time(*t.transferred_ms)) : std::nullopt);
  out.kuint("id", t.id).kuint("integration", kIntegrationId);
  if (initiate) out.kuint("request", t.request_id);
  out.kuint("recipient", recipients_[t.recipient].id);
  out.kstr("createdAt", iso_time(t.created_ms)).kstr("updatedAt", iso_time(t.updated_ms));
  out.end_object();
}

void SimState::write_transfer_full(JsonOut& out, const Transfer& t) const {
  out.begin_object().kint("amount", t.amount).kstr("createdAt", iso_time(t.created_ms));
  out.kstr("currency", t.currency).kstr("domain", kDomain).knull("failures");
  out.kuint("id", t.id).kuint("integration", kIntegrationId).kstr("reason", t.reason);
  out.kstr("reference", t.reference).kstr("source", "balance").knull("source_details");
  out.kstr("status", transfer_status_name(t.status)).knull("titan_code");
  out.kstr("transfer_code", t.code).kuint("request", t.request_id);
  out.kopt("transferred_at",
           t.transferred_ms ? std::optional(iso_time(*t.transferred_ms)) : std::nullopt);
  out.kstr("updatedAt", iso_time(t.updated_ms)).key("recipient");
  write_recipient(out, recipients_[t.recipient], false, false);
  out.key("session").begin_object().knull("provider").knull("id").end_object();
  out.kint("fee_charged", t.fee).knull("fees_breakdown").knull("gateway_response");
  out.end_object();
}

WebhookOut SimState::transfer_webhook(const Transfer& t) const {
  // transfer.success follows the newest official sample (camelCase timestamps, fee_charged);
  // the failed and reversed samples are older and use snake_case timestamps and a NIP session,
  // so those carry both spellings.
  const bool legacy = t.status != TransferStatus::success;
  const std::string event = "transfer." + std::string(transfer_status_name(t.status));
  JsonOut out;
  out.begin_object().kstr("event", event).key("data").begin_object();
  out.kint("amount", t.amount).kstr("createdAt", iso_time(t.created_ms));
  out.kstr("currency", t.currency).kstr("domain", kDomain).knull("failures").kuint("id", t.id);
  out.key("integration").begin_object().kuint("id", kIntegrationId).kbool("is_live", true);
  out.kstr("business_name", kBusinessName).end_object();
  out.kstr("reason", t.reason).kstr("reference", t.reference).kstr("source", "balance");
  out.knull("source_details").kstr("status", transfer_status_name(t.status)).knull("titan_code");
  out.kstr("transfer_code", t.code);
  out.kopt("transferred_at",
           t.transferred_ms ? std::optional(iso_time(*t.transferred_ms)) : std::nullopt);
  out.kstr("updatedAt", iso_time(t.updated_ms)).key("recipient");
  write_recipient(out, recipients_[t.recipient], true, legacy);
  out.key("session").begin_object();
  if (legacy) {
    out.kstr("provider", "nip").kstr("id", random_digits(30));
  } else {
    out.knull("provider").knull("id");
  }
  out.end_object().kint("fee_charged", t.fee).knull("gateway_response");
  if (legacy)
    out.kstr("created_at", iso_time(t.created_ms)).kstr("updated_at", iso_time(t.updated_ms));
  out.end_object().end_object();
  return WebhookOut{event, t.reference, out.take()};
}

// --- refunds ------------------------------------------------------------------------------

void SimState::write_refund_created(JsonOut& out, const Refund& r) const {
  const Transaction& tx = transactions_[r.transaction];
  const std::optional<std::string> paid_at =
      tx.paid_ms ? std::optional(iso_time(*tx.paid_ms)) : std::nullopt;
  out.begin_object().key("transaction").begin_object().kuint("id", tx.id);
  out.kstr("domain", kDomain).kstr("reference", tx.reference).kint("amount", tx.amount);
  out.kopt("paid_at", paid_at).kstr("channel", "card").kstr("currency", tx.currency);
  out.key("authorization").begin_object().kstr("exp_month", "12").kstr("exp_year", "2030");
  out.knull("account_name").end_object();
  out.key("customer").begin_object().knull("international_format_phone").end_object();
  out.kempty("plan").key("subaccount").begin_object().knull("currency").end_object();
  out.kempty("split").knull("order_id").kopt("paidAt", paid_at).knull("pos_transaction_data");
  out.knull("source").knull("fees_breakdown").end_object();
  out.kuint("integration", kIntegrationId).kint("deducted_amount", 0).knull("channel");
  out.kstr("merchant_note", r.merchant_note).kstr("customer_note", r.customer_note);
  out.kstr("status", refund_status_name(r.status)).kstr("refunded_by", kMerchantEmail);
  out.kstr("expected_at", iso_time(r.created_ms + kRefundExpectedAfterMs));
  out.kstr("currency", r.currency).kstr("domain", kDomain).kint("amount", r.amount);
  out.kbool("fully_deducted", false).kuint("id", r.id);
  out.kstr("createdAt", iso_time(r.created_ms)).kstr("updatedAt", iso_time(r.updated_ms));
  out.end_object();
}

void SimState::write_refund(JsonOut& out, const Refund& r, bool boolean_flags) const {
  const Transaction& tx = transactions_[r.transaction];
  const Customer& c = customers_[tx.customer];
  const int64_t deducted = r.status == RefundStatus::failed ? 0 : r.amount;
  out.begin_object().kuint("integration", kIntegrationId).kuint("transaction", tx.id);
  out.knull("dispute").knull("settlement").kuint("id", r.id).kstr("domain", kDomain);
  out.kstr("currency", r.currency).kint("amount", r.amount);
  out.kstr("status", refund_status_name(r.status));
  out.kopt("refunded_at", r.refunded_ms ? std::optional(iso_time(*r.refunded_ms)) : std::nullopt);
  out.kstr("expected_at", iso_time(r.created_ms + kRefundExpectedAfterMs));
  out.kstr("channel", "card").kstr("refunded_by", kMerchantEmail);
  out.kstr("customer_note", r.customer_note).kstr("merchant_note", r.merchant_note);
  out.kint("deducted_amount", deducted).key("fully_deducted");
  if (boolean_flags) {  // the fetch and retry samples say true/false, the list sample 1/0
    out.boolean(deducted == r.amount);
  } else {
    out.i64(deducted == r.amount ? 1 : 0);
  }
  out.kstr("createdAt", iso_time(r.created_ms)).kstr("updatedAt", iso_time(r.updated_ms));
  out.kstr("created_at", iso_time(r.created_ms)).kstr("updated_at", iso_time(r.updated_ms));
  out.knull("bank_reference").kstr("transaction_reference", tx.reference);
  out.kstr("reason", upper(refund_status_name(r.status))).key("customer");
  write_customer(out, c, TxView::verify);
  out.kstr("refund_type", r.amount == tx.amount ? "full" : "partial");
  out.kint("transaction_amount", tx.amount).kstr("initiated_by", kMerchantEmail);
  out.kstr("refund_channel", "card").knull("session_id");
  out.kopt("reversed_at", r.refunded_ms ? std::optional(iso_time(*r.refunded_ms)) : std::nullopt);
  out.kbool("collect_account_number", r.status == RefundStatus::needs_attention);
  out.end_object();
}

WebhookOut SimState::refund_webhook(const Refund& r) const {
  // As the official samples: amount is a string in pending/processing/processed and an integer
  // in failed/needs-attention; only needs-attention carries an id (a string) and the notes.
  const Transaction& tx = transactions_[r.transaction];
  const Customer& c = customers_[tx.customer];
  const std::string event = "refund." + std::string(refund_status_name(r.status));
  const bool integer_amount =
      r.status == RefundStatus::failed || r.status == RefundStatus::needs_attention;
  JsonOut out;
  out.begin_object().kstr("event", event).key("data").begin_object();
  out.kstr("status", refund_status_name(r.status)).kstr("transaction_reference", tx.reference);
  out.kopt("refund_reference", r.refund_reference);
  if (integer_amount) {
    out.kint("amount", r.amount);
  } else {
    out.kstr("amount", std::to_string(r.amount));
  }
  out.kstr("currency", r.currency);
  if (r.status != RefundStatus::needs_attention) out.kstr("processor", kRefundProcessor);
  out.key("customer").begin_object().knull("first_name").knull("last_name");
  out.kstr("email", c.email).end_object();
  out.kuint("integration", kIntegrationId).kstr("domain", kDomain);
  if (r.status == RefundStatus::needs_attention) {
    out.kstr("id", std::to_string(r.id)).kstr("customer_note", r.customer_note);
    out.kstr("merchant_note", r.merchant_note);
  }
  out.end_object().end_object();
  return WebhookOut{event, tx.reference, out.take()};
}

// --- disputes -----------------------------------------------------------------------------

// The transaction inside a dispute, as the official charge.dispute.* samples show it (and
// Paystack's documented dispute responses too): ip_address and log null, authorization {}, the
// customer reduced to international_format_phone. The API view adds the keys the spec requires
// there (createdAt, source, fees_breakdown, connect).
void SimState::write_dispute_transaction(JsonOut& out, const Transaction& tx, bool webhook) const {
  const std::optional<std::string> paid_at = optional_time(tx.paid_ms);
  out.begin_object().kuint("id", tx.id).kstr("domain", kDomain);
  out.kstr("status", tx_status_name(tx.status)).kstr("reference", tx.reference);
  out.kint("amount", tx.amount).knull("message").kstr("gateway_response", tx.gateway_response);
  out.kopt("paid_at", paid_at).kstr("created_at", iso_time(tx.created_ms));
  out.kstr("channel", "card").kstr("currency", tx.currency).knull("ip_address").key("metadata");
  write_metadata(out, tx.metadata_json, false);
  out.knull("log").kopt_int("fees", tx.fees).knull("fees_split").kempty("authorization");
  out.key("customer").begin_object().knull("international_format_phone").end_object();
  out.kempty("plan").kempty("subaccount").kempty("split").knull("order_id");
  out.kopt("paidAt", paid_at);
  if (!webhook) out.kstr("createdAt", iso_time(tx.created_ms));
  out.kint("requested_amount", tx.requested_amount).knull("pos_transaction_data");
  if (!webhook) out.knull("source").knull("fees_breakdown").knull("connect");
  out.end_object();
}

// The dispute object: the webhook view has the samples' keys exactly (created_at, updated_at);
// GET /dispute and GET /dispute/:id spell the timestamps createdAt and updatedAt, as the spec.
// transaction_reference is null and the reference sits under transaction, as in the samples.
void SimState::write_dispute(JsonOut& out, const Dispute& d, bool webhook) const {
  const Transaction& tx = transactions_[d.transaction];
  const Customer& c = customers_[tx.customer];
  out.begin_object().kuint("id", d.id).kint("refund_amount", d.refund_amount);
  out.kstr("currency", d.currency).kstr("status", dispute_status_name(d.status));
  out.kopt("resolution", resolution_text(d)).kstr("domain", kDomain).key("transaction");
  write_dispute_transaction(out, tx, webhook);
  out.knull("transaction_reference").kstr("category", kDisputeCategory);
  out.key("customer").begin_object().kuint("id", c.id).knull("first_name").knull("last_name");
  out.kstr("email", c.email).kstr("customer_code", c.code).knull("phone").kempty("metadata");
  out.kstr("risk_action", "default").knull("international_format_phone").end_object();
  out.kstr("bin", kCardBin).kstr("last4", kCardLast4).kstr("dueAt", iso_time(d.due_ms));
  out.kopt("resolvedAt", optional_time(d.resolved_ms));
  write_evidence(out, d);
  out.kopt("attachments", d.attachments).knull("note").key("history").begin_array();
  for (const auto& h : d.history) {
    out.begin_object().kstr("status", h.status).kstr("by", h.by);
    out.kstr("createdAt", iso_time(h.created_ms)).end_object();
  }
  out.end_array().key("messages").begin_array();
  for (const auto& m : d.messages) {
    out.begin_object().kstr("sender", m.sender).kstr("body", m.body);
    out.kstr("createdAt", iso_time(m.created_ms)).end_object();
  }
  out.end_array();
  out.kstr(webhook ? "created_at" : "createdAt", iso_time(d.created_ms));
  out.kstr(webhook ? "updated_at" : "updatedAt", iso_time(d.updated_ms));
  out.end_object();
}

// PUT /dispute/:id/resolve answers the spec's flat dispute record instead: the transaction as
// its id, the merchant's reference, and the message the merchant has just written.
void SimState::write_dispute_resolved(JsonOut& out, const Dispute& d) const {
  const Transaction& tx = transactions_[d.transaction];
  const DisputeMessage& m = d.messages.back();
  out.begin_object().kstr("currency", d.currency).kstr("last4", kCardLast4);
  out.kstr("bin", kCardBin).knull("transaction_reference");
  out.kstr("merchant_transaction_reference", tx.reference).kint("refund_amount", d.refund_amount);
  out.kstr("status", dispute_status_name(d.status)).kstr("domain", kDomain);
  out.kopt("resolution", resolution_text(d)).kstr("category", kDisputeCategory).knull("note");
  out.kopt("attachments", d.attachments).kuint("id", d.id).kuint("integration", kIntegrationId);
  // created_by: the cardholder whose complaint opened the dispute.
  out.kuint("transaction", tx.id).kuint("created_by", customers_[tx.customer].id);
  write_evidence(out, d);
  out.kopt("resolvedAt", optional_time(d.resolved_ms));
  out.kstr("createdAt", iso_time(d.created_ms)).kstr("updatedAt", iso_time(d.updated_ms));
  out.kstr("dueAt", iso_time(d.due_ms)).key("message").begin_object().kuint("dispute", d.id);
  out.kstr("sender", m.sender).kstr("body", m.body).kuint("id", m.id);
  out.kstr("createdAt", iso_time(m.created_ms)).kstr("updatedAt", iso_time(m.created_ms));
  out.end_object().end_object();
}

WebhookOut SimState::dispute_webhook(const Dispute& d, std::string_view event) const {
  JsonOut out;
  out.begin_object().kstr("event", event).key("data");
  write_dispute(out, d, true);
  out.end_object();
  return WebhookOut{std::string(event), transactions_[d.transaction].reference, out.take()};
}

}  // namespace paystack_sim
