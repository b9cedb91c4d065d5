// Money leaving the simulated merchant balance: transfer recipients, transfers (initiate, list,
// verify, finalize with OTP), refunds (create, list, fetch, retry) and disputes (chargebacks
// opened, reminded and decided by the bank through the control API; listed, fetched and answered
// by the merchant through Paystack's paths), with the later status changes they go through
// (run_follow_up) and the webhooks each change sends.
#include <algorithm>
#include <utility>

#include "banks.h"
#include "envelope.h"
#include "state.h"
#include "util.h"

namespace paystack_sim {

namespace {

constexpr uint64_t kFirstRecipientId = 56824902;
constexpr uint64_t kFirstTransferId = 860703114;
constexpr uint64_t kFirstTransferRequestId = 1068439313;
constexpr uint64_t kFirstRefundId = 3018284;
constexpr size_t kTransferReferenceMin = 16;
constexpr size_t kTransferReferenceMax = 50;
constexpr size_t kTextFieldMax = 1024;
constexpr int64_t kUsdRefundMin = 100;        // "Cannot refund less than USD 1"
constexpr uint64_t kFirstDisputeId = 358951;  // just after the official samples' 358949, 358950
constexpr uint64_t kFirstDisputeMessageId = 148;
// The cardholder's complaint that opens every simulated chargeback, as in the official samples.
constexpr std::string_view kChargebackComplaint = "Customer complained about debit without value";

bool transfer_reference_chars_ok(std::string_view reference) {
  // ^[a-z0-9_-]{16,50}$ (FACTS 5.6): lowercase, digits, '-' and '_' only.
  return std::all_of(reference.begin(), reference.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::string text_or(const rapidjson::Value& body, const char* name, std::string fallback) {
  auto text = member_text(body, name);
  if (!text || text->empty()) return fallback;
  if (text->size() > kTextFieldMax) text->resize(kTextFieldMax);
  return *text;
}

ApiResult missing(std::string_view message) {
  return coded_error(400, message, kNextStepRequired, "validation_error", "missing_params");
}

ApiResult invalid(std::string_view message) {
  return coded_error(400, message, kNextStepValid, "validation_error", "invalid_params");
}

}  // namespace

// --- transfer recipients ------------------------------------------------------------------

ApiResult SimState::create_recipient(const rapidjson::Value& body) {
  std::string type = text_or(body, "type", "");
  std::string name = text_or(body, "name", "");
  std::string account_number = text_or(body, "account_number", "");
  std::string bank_code = text_or(body, "bank_code", "");
  if (type.empty()) return missing("Recipient type is required");
  if (name.empty()) return missing("Name is required");
  if (type == "authorization")
    return invalid("paystack-sim: authorization recipients are not simulated");
  std::string_view type_currency = currency_of_recipient_type(type);
  if (type_currency.empty()) return invalid("Recipient type is invalid");
  if (account_number.empty())
    return missing("Either authorization_code or account_number must be passed.");
  if (bank_code.empty()) return missing("bank_code is required");
  std::string currency = text_or(body, "currency", std::string(type_currency));
  const Bank* bank = find_bank(bank_code, currency);
  if (!bank || bank->type != type) return error_result(400, "Unknown bank code: " + bank_code);
  // "A duplicate account number will lead to the retrieval of the existing record" (spec).
  for (const auto& r : recipients_) {
    if (r.account_number == account_number && r.bank_code == bank_code && r.currency == currency)
      return ok_result(201, "Transfer recipient created successfully",
                       [&](JsonOut& out) { write_recipient(out, r, false, false); });
  }
  if (recipients_.size() >= kRecipientsMax)
    return error_result(503, "paystack-sim: recipient limit reached; POST /_sim/reset");
  Recipient r;
  r.id = kFirstRecipientId + recipients_.size();
  r.code = "RCP_" + random_code(15);
  r.type = type;
  r.name = name;
  r.account_number = account_number;
  r.account_name = type == "nuban" ? resolve_account_name(account_number) : std::nullopt;
  r.bank_code = bank_code;
  r.bank_name = std::string(bank->name);
  r.currency = currency;
  r.description = text_or(body, "description", "");
  if (auto email = member_text(body, "email"); email && !email->empty()) r.email = *email;
  if (auto it = body.FindMember("metadata"); it != body.MemberEnd() && it->value.IsObject())
    r.metadata_json = to_json_text(it->value);
  r.created_ms = now_ms();
  recipient_by_code_.emplace(r.code, recipients_.size());
  recipients_.push_back(std::move(r));
  return ok_result(201, "Transfer recipient created successfully",
                   [&](JsonOut& out) { write_recipient(out, recipients_.back(), false, false); });
}

ApiResult SimState::list_recipients(const Query& query) const {
  Page page = page_of(query);
  const size_t total = recipients_.size();
  return ok_list_result(
      "Recipients retrieved",
      [&](JsonOut& out) {
        out.begin_array();
        size_t skip = static_cast<size_t>((page.page - 1) * page.per_page);
        for (size_t i = skip, n = 0; i < total && n < static_cast<size_t>(page.per_page); ++i, ++n)
          write_recipient(out, recipients_[total - 1 - i], false, false);  // newest first
        out.end_array();
      },
      [&](JsonOut& out) { write_offset_meta(out, total, page, MetaExtras{}); });
}

// --- transfers ----------------------------------------------------------------------------

std::optional<ApiResult> SimState::validate_transfer(const rapidjson::Value& body,
                                                     const Recipient*& recipient, int64_t& amount,
                                                     std::string& reference) const {
  std::string source = text_or(body, "source", "");
  if (source.empty()) return missing("Source is required");
  if (source != "balance") return invalid("Source is invalid");
  auto amount_it = body.FindMember("amount");
  std::optional<int64_t> parsed =
      amount_it == body.MemberEnd() ? std::nullopt : parse_amount(amount_it->value);
  if (!parsed) return error_result(400, "Invalid amount passed.");
  amount = *parsed;
  auto code = text_or(body, "recipient", "");
  auto it = recipient_by_code_.find(code);
  if (it == recipient_by_code_.end()) {
    return coded_error(400, "Recipient specified is invalid",
                       "Provide a valid recipient. Ensure you are passing the recipient code in "
                       "the recipient param",
                       "validation_error", "invalid_transfer_recipient");
  }
  recipient = &recipients_[it->second];
  reference = text_or(body, "reference", "");
  if (!reference.empty()) {
    if (!transfer_reference_chars_ok(reference))
      return invalid("Your reference contains illegal special characters");
    if (reference.size() < kTransferReferenceMin || reference.size() > kTransferReferenceMax)
      return invalid("Reference must be between 16 and 50 characters long");
    if (transfer_by_reference_.contains(reference)) {
      return ApiResult{400,
                       R"({"status":false,"message":"Please provide a unique reference. )"
                       R"(Reference already exists on a transfer","meta":{"nextStep":"Create a )"
                       R"(new reference for the new transfer"},"type":"validation_error",)"
                       R"("code":"duplicate_transfer_reference"})",
                       {}};
    }
  }
  std::string currency = text_or(body, "currency", recipient->currency);
  if (currency != recipient->currency) return invalid("Currency does not match the recipient's");
  return std::nullopt;
}

ApiResult SimState::initiate_transfer(const rapidjson::Value& body) {
  const Recipient* recipient = nullptr;
  int64_t amount = 0;
  std::string reference;
  if (auto error = validate_transfer(body, recipient, amount, reference)) return std::move(*error);
  const int64_t fee = transfer_fee(recipient->currency, recipient->type, amount);
  // The balance check counts the amount plus the fee (FACTS 5.2).
  if (balance_[recipient->currency] < amount + fee)
    return error_result(400, "Your balance is not enough to fulfil this request");
  if (transfers_.size() >= kTransfersMax)
    return error_result(503, "paystack-sim: transfer limit reached; POST /_sim/reset");
  if (reference.empty()) {
    do reference = random_code(10);
    while (transfer_by_reference_.contains(reference));
  }
  Transfer t;
  t.id = kFirstTransferId + transfers_.size();
  t.request_id = kFirstTransferRequestId + transfers_.size();
  t.reference = reference;
  t.code = "TRF_" + random_code(16);
  t.reason = text_or(body, "reason", "");
  t.currency = recipient->currency;
  t.amount = amount;
  t.fee = fee;
  t.recipient = static_cast<size_t>(recipient - recipients_.data());
  t.mode = config_.transfer_mode;
  t.created_ms = t.updated_ms = now_ms();
  balance_[t.currency] -= amount + fee;  // deducted when the transfer is created (FACTS 5.5)
  Effects effects;
  switch (t.mode) {
    case TransferMode::success:
      t.status = TransferStatus::success;
      effects.webhooks.push_back(transfer_webhook(t));
      break;
    case TransferMode::otp:
      t.status = TransferStatus::otp;
      effects.follow_ups.push_back(
          follow_up(FollowUpKind::transfer_otp_expiry, t.id, kOtpExpiryMs));
      break;
    default:
      t.status = TransferStatus::pending;
      effects.follow_ups.push_back(follow_up(FollowUpKind::transfer_settle, t.id, kSettleDelayMs));
  }
  transfer_by_reference_.emplace(t.reference, transfers_.size());
  transfer_by_code_.emplace(t.code, transfers_.size());
  transfers_.push_back(std::move(t));
  const Transfer& stored = transfers_.back();
  ApiResult result =
      ok_result(200,
                stored.status == TransferStatus::otp ? "Transfer requires OTP to continue"
                                                     : "Transfer has been queued",
                [&](JsonOut& out) { write_transfer_short(out, stored, true); });
  result.effects = std::move(effects);
  return result;
}

ApiResult SimState::finalize_transfer(const rapidjson::Value& body) {
  auto it = transfer_by_code_.find(text_or(body, "transfer_code", ""));
  if (it == transfer_by_code_.end()) return error_result(400, "Transfer code is invalid");
  Transfer& t = transfers_[it->second];
  std::string otp = text_or(body, "otp", "");
  if (otp.empty()) return missing("OTP is required");
  if (t.status != TransferStatus::otp) return invalid("Transfer is not currently awaiting OTP");
  // A wrong OTP is refused and the transfer keeps waiting, so that an admin can try again.
  if (otp != kValidOtp) return invalid("Invalid OTP");
  t.status = TransferStatus::success;
  t.updated_ms = now_ms();
  ApiResult result = ok_result(200, "Transfer has been queued",
                               [&](JsonOut& out) { write_transfer_short(out, t, false); });
  result.effects.webhooks.push_back(transfer_webhook(t));
  return result;
}

ApiResult SimState::verify_transfer(std::string_view reference) const {
  auto it = transfer_by_reference_.find(std::string(reference));
  if (it == transfer_by_reference_.end()) return error_result(404, "Transfer not found");
  return ok_result(200, "Transfer retrieved",
                   [&](JsonOut& out) { write_transfer_full(out, transfers_[it->second]); });
}

ApiResult SimState::list_transfers(const Query& query) const {
  ApiResult error;
  auto range = time_range_of(query, &error);
  if (!range) return error;
  std::string_view status = query_value(query, "status");
  std::string_view recipient = query_value(query, "recipient");
  std::vector<const Transfer*> matched;
  for (auto it = transfers_.rbegin(); it != transfers_.rend(); ++it) {
    const Recipient& r = recipients_[it->recipient];
    if (!range->contains(it->created_ms)) continue;
    if (!status.empty() && transfer_status_name(it->status) != status) continue;
    if (!recipient.empty() && r.code != recipient && std::to_string(r.id) != recipient) continue;
    matched.push_back(&*it);
  }
  Page page = page_of(query);
  return ok_list_result(
      "Transfers retrieved",
      [&](JsonOut& out) {
        out.begin_array();
        for (size_t i = static_cast<size_t>((page.page - 1) * page.per_page), n = 0;
             i < matched.size() && n < static_cast<size_t>(page.per_page); ++i, ++n)
          write_transfer_full(out, *matched[i]);
        out.end_array();
      },
      [&](JsonOut& out) { write_offset_meta(out, matched.size(), page, MetaExtras{}); });
}

Effects SimState::settle_transfer(Transfer& t, TransferStatus outcome) {
  t.status = outcome;
  t.updated_ms = now_ms();
  if (outcome == TransferStatus::reversed) t.transferred_ms = t.updated_ms;
  // Failed, reversed and abandoned transfers give the amount and the fee back.
  if (outcome != TransferStatus::success) credit(t.currency, t.amount + t.fee);
  Effects effects;
  if (outcome != TransferStatus::abandoned) effects.webhooks.push_back(transfer_webhook(t));
  return effects;
}

// --- refunds ------------------------------------------------------------------------------

ApiResult SimState::create_refund(const rapidjson::Value& body) {
  std::string key = text_or(body, "transaction", "");
  if (key.empty()) return missing("Transaction reference or id is required");
  Transaction* tx = find_transaction(key);
  if (!tx) {
    return coded_error(404, "Transaction not found",
                       "Ensure that you're passing the reference or id of a transaction that "
                       "exists on this integration",
                       "validation_error", "transaction_not_found");
  }
  const int64_t remaining = tx->amount - tx->refunds_open_or_done;
  if (tx->status == TxStatus::reversed || (tx->status == TxStatus::success && remaining <= 0)) {
    return coded_error(400, "Transaction has been fully reversed",
                       "Let the customer know that the refund should get to their account soon",
                       "api_error", "transaction_reversed");
  }
  if (tx->status != TxStatus::success) return invalid("Transaction was not successful");
  int64_t amount = remaining;
  if (auto it = body.FindMember("amount"); it != body.MemberEnd()) {
    auto parsed = parse_amount(it->value);
    if (!parsed) return error_result(400, "Invalid Amount Sent");
    amount = *parsed;
  }
  if (amount > remaining)
    return invalid("Refund amount cannot be more than the transaction's unrefunded amount");
  if (auto currency = member_text(body, "currency");
      currency && !currency->empty() && *currency != tx->currency)
    return invalid("Currency does not match the transaction's");
  if (tx->currency == "USD" && amount < kUsdRefundMin)
    return error_result(400, "Cannot refund less than USD 1");
  if (balance_[tx->currency] < amount)
    return error_result(400, "Insufficient balance to fulfill this refund. Please top up.");
  if (refunds_.size() >= kRefundsMax)
    return error_result(503, "paystack-sim: refund limit reached; POST /_sim/reset");

  Refund r;
  r.id = kFirstRefundId + refunds_.size();
  r.transaction = static_cast<size_t>(tx - transactions_.data());
  r.amount = amount;
  r.currency = tx->currency;
  r.customer_note = text_or(body, "customer_note", "Refund for transaction " + tx->reference);
  r.merchant_note =
      text_or(body, "merchant_note",
              "Refund for transaction " + tx->reference + " by " + std::string(kMerchantEmail));
  r.mode = config_.refund_mode;
  r.created_ms = r.updated_ms = now_ms();
  balance_[r.currency] -= amount;
  tx->refunds_open_or_done += amount;
  refunds_.push_back(std::move(r));
  const Refund& stored = refunds_.back();
  ApiResult result = ok_result(200, "Refund has been queued for processing",
                               [&](JsonOut& out) { write_refund_created(out, stored); });
  result.effects.webhooks.push_back(refund_webhook(stored));
  result.effects.follow_ups.push_back(
      follow_up(FollowUpKind::refund_advance, stored.id, kSettleDelayMs));
  return result;
}

Effects SimState::advance_refund(Refund& r) {
  Transaction& tx = transactions_[r.transaction];
  Effects effects;
  r.updated_ms = now_ms();
  if (r.status == RefundStatus::pending && r.mode == RefundMode::failed) {
    r.status = RefundStatus::failed;
    r.refund_reference = "TRF_" + random_code(15);
    credit(r.currency, r.amount);  // the money comes back; the transaction stays success
    tx.refunds_open_or_done -= r.amount;
  } else if (r.status == RefundStatus::pending && r.mode == RefundMode::needs_attention) {
    r.status = RefundStatus::needs_attention;
    r.refund_reference = "TRF_" + random_code(15);
  } else if (r.status == RefundStatus::pending) {
    r.status = RefundStatus::processing;
    effects.follow_ups.push_back(follow_up(FollowUpKind::refund_advance, r.id, kSettleDelayMs));
  } else if (r.status == RefundStatus::processing) {
    r.status = RefundStatus::processed;
    r.refunded_ms = r.updated_ms;
    r.refund_reference = random_digits(12);
    tx.refunds_processed += r.amount;
    // Fully refunded transactions read "reversed"; a partial refund leaves "success".
    if (tx.refunds_processed >= tx.amount) tx.status = TxStatus::reversed;
  } else {
    return effects;
  }
  effects.webhooks.push_back(refund_webhook(r));
  return effects;
}

ApiResult SimState::retry_refund(std::string_view id_text, const rapidjson::Value& body) {
  auto id = parse_uint(id_text);
  if (!id || *id < kFirstRefundId || *id - kFirstRefundId >= refunds_.size())
    return error_result(404, "Refund not found");
  Refund& r = refunds_[*id - kFirstRefundId];
  if (r.status != RefundStatus::needs_attention) {
    return coded_error(422, "Invalid Refund state, refund status should be \"needs-attention\"",
                       kNextStepValid, "validation_error", "invalid_params");
  }
  auto details = body.IsObject() ? body.FindMember("refund_account_details") : body.MemberEnd();
  if (!body.IsObject() || details == body.MemberEnd() || !details->value.IsObject() ||
      !member_text(details->value, "account_number") || !member_text(details->value, "bank_id"))
    return missing("refund_account_details with currency, account_number and bank_id is required");
  r.status = RefundStatus::processing;
  r.updated_ms = now_ms();
  ApiResult result = ok_result(200, "Refund retried and has been queued for processing",
                               [&](JsonOut& out) { write_refund(out, r, true); });
  result.effects.webhooks.push_back(refund_webhook(r));
  result.effects.follow_ups.push_back(
      follow_up(FollowUpKind::refund_advance, r.id, kSettleDelayMs));
  return result;
}

ApiResult SimState::fetch_refund(std::string_view id_text) const {
  auto id = parse_uint(id_text);
  if (!id || *id < kFirstRefundId || *id - kFirstRefundId >= refunds_.size())
    return error_result(404, "Refund not found");
  return ok_result(200, "Refund retrieved",
                   [&](JsonOut& out) { write_refund(out, refunds_[*id - kFirstRefundId], true); });
}

ApiResult SimState::list_refunds(const Query& query) const {
  ApiResult error;
  auto range = time_range_of(query, &error);
  if (!range) return error;
  std::string_view key = query_value(query, "transaction");
  std::string_view currency = query_value(query, "currency");
  const Transaction* only = key.empty() ? nullptr : find_transaction(key);
  std::vector<const Refund*> matched;
  int64_t failed = 0;
  for (auto it = refunds_.rbegin(); it != refunds_.rend(); ++it) {
    if (!key.empty() && (!only || &transactions_[it->transaction] != only)) continue;
    if (!currency.empty() && it->currency != currency) continue;
    if (!range->contains(it->created_ms)) continue;
    matched.push_back(&*it);
    if (it->status == RefundStatus::failed) ++failed;
  }
  Page page = page_of(query);
  return ok_list_result(
      "Refunds retrieved",
      [&](JsonOut& out) {
        out.begin_array();
        for (size_t i = static_cast<size_t>((page.page - 1) * page.per_page), n = 0;
             i < matched.size() && n < static_cast<size_t>(page.per_page); ++i, ++n)
          write_refund(out, *matched[i], false);
        out.end_array();
      },
      [&](JsonOut& out) {
        MetaExtras extras;
        extras.per_page_as_string = true;
        extras.failed_refund_count = failed;
        write_offset_meta(out, matched.size(), page, extras);
      });
}

// --- disputes (chargebacks) ---------------------------------------------------------------

namespace {

std::optional<DisputeResolution> resolution_named(std::string_view text) {
  for (auto r : {DisputeResolution::merchant_accepted, DisputeResolution::declined,
                 DisputeResolution::auto_accepted})
    if (text == dispute_resolution_name(r)) return r;
  return std::nullopt;
}

ApiResult dispute_not_found() {
  return error_result(404, "Dispute not found");
}

}  // namespace

const Dispute* SimState::find_dispute(std::string_view id_text) const {
  auto id = parse_uint(id_text);
  if (!id || *id < kFirstDisputeId || *id - kFirstDisputeId >= disputes_.size()) return nullptr;
  return &disputes_[*id - kFirstDisputeId];
}

Dispute* SimState::find_dispute(std::string_view id_text) {
  return const_cast<Dispute*>(std::as_const(*this).find_dispute(id_text));
}

ApiResult SimState::open_chargeback(std::string_view reference, const rapidjson::Value& body) {
  auto it = tx_by_reference_.find(std::string(reference));
  if (it == tx_by_reference_.end()) return error_result(404, "Transaction reference not found");
  Transaction& tx = transactions_[it->second];
  if (tx.status != TxStatus::success) {
    return error_result(409, "Only a successful transaction can be charged back; this one is " +
                                 std::string(tx_status_name(tx.status)));
  }
  if (tx.open_dispute) {
    return error_result(409, "Transaction already has an unresolved dispute (" +
                                 std::to_string(disputes_[*tx.open_dispute].id) + ")");
  }
  int64_t amount = tx.amount;
  if (auto m = body.FindMember("refund_amount"); m != body.MemberEnd()) {
    auto parsed = parse_amount(m->value);
    if (!parsed || *parsed > tx.amount) {
      return error_result(400,
                          "refund_amount must be an integer from 1 to the transaction amount (" +
                              std::to_string(tx.amount) + ")");
    }
    amount = *parsed;
  }
  if (disputes_.size() >= kDisputesMax)
    return error_result(503, "paystack-sim: dispute limit reached; POST /_sim/reset");
  const Customer& c = customers_[tx.customer];
  Dispute d;
  d.id = kFirstDisputeId + disputes_.size();
  d.transaction = it->second;
  d.refund_amount = amount;
  d.currency = tx.currency;
  d.created_ms = d.updated_ms = now_ms();
  d.due_ms = d.created_ms + kDisputeDueMs;
  // As in the official samples: the cardholder's complaint, logged with history status pending.
  d.history.push_back({"pending", c.email, d.created_ms});
  d.messages.push_back({kFirstDisputeMessageId + dispute_messages_++, c.email,
                        std::string(kChargebackComplaint), d.created_ms});
  tx.open_dispute = disputes_.size();
  disputes_.push_back(std::move(d));
  const Dispute& stored = disputes_.back();
  ApiResult result =
      ok_result(200, "Chargeback opened", [&](JsonOut& out) { write_dispute(out, stored, false); });
  result.effects.webhooks.push_back(dispute_webhook(stored, "charge.dispute.create"));
  return result;
}

ApiResult SimState::remind_dispute(std::string_view id_text) {
  Dispute* d = find_dispute(id_text);
  if (!d) return dispute_not_found();
  if (d->status == DisputeStatus::resolved)
    return error_result(409, "Dispute has already been resolved");
  d->updated_ms = now_ms();
  ApiResult result =
      ok_result(200, "Reminder sent", [&](JsonOut& out) { write_dispute(out, *d, false); });
  result.effects.webhooks.push_back(dispute_webhook(*d, "charge.dispute.remind"));
  return result;
}

Effects SimState::finish_dispute(Dispute& d, DisputeResolution resolution, std::string_view by) {
  Transaction& tx = transactions_[d.transaction];
  d.status = DisputeStatus::resolved;
  d.resolution = resolution;
  d.resolved_ms = d.updated_ms = now_ms();
  d.history.push_back({"resolved", std::string(by), d.updated_ms});
  tx.open_dispute.reset();
  if (resolution != DisputeResolution::declined) {
    // The card network has taken the money back: the transaction reads reversed and the balance
    // pays for it, into the negative if need be (a chargeback does not ask).
    tx.status = TxStatus::reversed;
    credit(d.currency, -d.refund_amount);
  }
  Effects effects;
  effects.webhooks.push_back(dispute_webhook(d, "charge.dispute.resolve"));
  return effects;
}

ApiResult SimState::bank_resolve_dispute(std::string_view id_text, const rapidjson::Value& body) {
  Dispute* d = find_dispute(id_text);
  if (!d) return dispute_not_found();
  if (d->status == DisputeStatus::resolved)
    return error_result(409, "Dispute has already been resolved");
  auto resolution = resolution_named(member_text(body, "resolution").value_or(""));
  if (!resolution)
    return error_result(400, "resolution must be merchant-accepted, declined or auto-accepted");
  Effects effects = finish_dispute(*d, *resolution, kDisputeDeskEmail);
  ApiResult result =
      ok_result(200, "Dispute resolved", [&](JsonOut& out) { write_dispute(out, *d, false); });
  result.effects = std::move(effects);
  return result;
}

ApiResult SimState::resolve_dispute(std::string_view id_text, const rapidjson::Value& body) {
  if (!parse_uint(id_text)) return error_result(400, "Dispute ID should be numeric.");
  Dispute* d = find_dispute(id_text);
  if (!d) return dispute_not_found();
  if (d->status == DisputeStatus::resolved) return invalid("Dispute has already been resolved");
  // The merchant answers once; after a decline the bank decides (control resolve).
  if (d->status == DisputeStatus::awaiting_bank_feedback)
    return invalid("Dispute is awaiting the bank's decision on your response");
  const std::string resolution_text = text_or(body, "resolution", "");
  if (resolution_text.empty()) return missing("Resolution is required");
  auto resolution = resolution_named(resolution_text);
  if (!resolution || *resolution == DisputeResolution::auto_accepted)
    return invalid("Resolution must be merchant-accepted or declined");
  const std::string message = text_or(body, "message", "");
  if (message.empty()) return missing("Message is required");
  auto amount_it = body.FindMember("refund_amount");
  if (amount_it == body.MemberEnd()) return missing("Refund amount is required");
  auto amount = parse_amount(amount_it->value);
  const Transaction& tx = transactions_[d->transaction];
  if (!amount || *amount > tx.amount)
    return invalid("Refund amount must be an integer from 1 to the transaction amount");
  // Contesting needs the evidence file (spec: always required; here only to decline).
  const std::string filename = text_or(body, "uploaded_filename", "");
  if (*resolution == DisputeResolution::declined && filename.empty())
    return missing("Uploaded filename is required to decline a dispute");
  std::optional<uint64_t> evidence;
  if (auto text = member_text(body, "evidence"); text && !text->empty()) {
    evidence = parse_uint(*text);
    if (!evidence) return invalid("Evidence must be the id of an evidence record");
  }

  const int64_t now = now_ms();
  d->messages.push_back(
      {kFirstDisputeMessageId + dispute_messages_++, std::string(kMerchantEmail), message, now});
  if (!filename.empty()) d->attachments = filename;
  if (evidence) d->evidence = evidence;
  d->updated_ms = now;
  Effects effects;
  if (*resolution == DisputeResolution::merchant_accepted) {
    d->refund_amount = *amount;
    effects = finish_dispute(*d, *resolution, kMerchantEmail);
  } else {
    // Declined: the claimed refund_amount stands until the bank decides; no webhook yet.
    d->status = DisputeStatus::awaiting_bank_feedback;
    d->resolution = DisputeResolution::declined;
    d->history.push_back({"awaiting-bank-feedback", std::string(kMerchantEmail), now});
  }
  ApiResult result = ok_result(200, "Dispute successfully resolved",
                               [&](JsonOut& out) { write_dispute_resolved(out, *d); });
  result.effects = std::move(effects);
  return result;
}

ApiResult SimState::fetch_dispute(std::string_view id_text) const {
  if (!parse_uint(id_text)) return error_result(400, "Dispute ID should be numeric.");
  const Dispute* d = find_dispute(id_text);
  if (!d) return dispute_not_found();
  return ok_result(200, "Dispute retrieved", [&](JsonOut& out) { write_dispute(out, *d, false); });
}

ApiResult SimState::list_disputes(const Query& query) const {
  ApiResult error;
  auto range = time_range_of(query, &error);
  if (!range) return error;
  std::string_view status = query_value(query, "status");
  std::string_view key = query_value(query, "transaction");
  const Transaction* only = key.empty() ? nullptr : find_transaction(key);
  std::vector<const Dispute*> matched;
  for (auto it = disputes_.rbegin(); it != disputes_.rend(); ++it) {  // newest first
    if (!key.empty() && (!only || &transactions_[it->transaction] != only)) continue;
    if (!status.empty() && dispute_status_name(it->status) != status) continue;
    if (!range->contains(it->created_ms)) continue;
    matched.push_back(&*it);
  }
  Page page = page_of(query);
  return ok_list_result(
      "Disputes retrieved",
      [&](JsonOut& out) {
        out.begin_array();
        for (size_t i = static_cast<size_t>((page.page - 1) * page.per_page), n = 0;
             i < matched.size() && n < static_cast<size_t>(page.per_page); ++i, ++n)
          write_dispute(out, *matched[i], false);
        out.end_array();
      },
      [&](JsonOut& out) { write_offset_meta(out, matched.size(), page, MetaExtras{}); });
}

// --- follow-ups ---------------------------------------------------------------------------

Effects SimState::run_follow_up(const FollowUp& f) {
  if (f.generation != generation_) return {};  // scheduled before a reset
  switch (f.kind) {
    case FollowUpKind::transfer_settle:
    case FollowUpKind::transfer_otp_expiry: {
      if (f.id < kFirstTransferId || f.id - kFirstTransferId >= transfers_.size()) return {};
      Transfer& t = transfers_[f.id - kFirstTransferId];
      if (f.kind == FollowUpKind::transfer_otp_expiry)
        return t.status == TransferStatus::otp ? settle_transfer(t, TransferStatus::abandoned)
                                               : Effects{};
      if (t.status != TransferStatus::pending) return {};
      if (t.mode == TransferMode::fail) return settle_transfer(t, TransferStatus::failed);
      if (t.mode == TransferMode::reverse) return settle_transfer(t, TransferStatus::reversed);
      return settle_transfer(t, TransferStatus::success);
    }
    case FollowUpKind::refund_advance:
      if (f.id < kFirstRefundId || f.id - kFirstRefundId >= refunds_.size()) return {};
      return advance_refund(refunds_[f.id - kFirstRefundId]);
  }
  return {};
}

}  // namespace paystack_sim
