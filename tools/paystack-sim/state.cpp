// The simulated Paystack integration: names, fees, envelopes, configuration, reset, the state
// dump and the transaction operations (initialize, verify, list, fetch, pay). Transfers,
// refunds and disputes live in payouts.cpp, the JSON views in views.cpp, banks and balance in
// banks.cpp.
#include "state.h"

#include <algorithm>
#include <array>

#include "envelope.h"
#include "ledger/text.h"
#include "util.h"

namespace paystack_sim {

namespace {

constexpr uint64_t kFirstTransactionId = 4099260516;  // beyond 32 bits, as Paystack's ids are
constexpr uint64_t kFirstCustomerId = 181873746;
constexpr size_t kGeneratedReferenceLength = 10;  // like Paystack's "re4lyvq3s3"
constexpr size_t kAccessCodeLength = 15;
constexpr size_t kReferenceLengthMax = 100;
constexpr size_t kEmailLengthMax = 254;
constexpr size_t kUrlLengthMax = 2048;
constexpr size_t kMetadataBytesMax = 64 * 1024;
// "Transaction amount limit exceeded": 10,000,000 in major units (FACTS 9.2), in subunits.
constexpr int64_t kTransactionAmountMax = 10'000'000LL * 100;
constexpr std::array<std::string_view, 5> kCurrencies = {"NGN", "GHS", "ZAR", "KES", "USD"};

bool valid_transaction_reference(std::string_view reference) {
  // Only alphanumerics and '-', '.', '=' (FACTS 2.3).
  return std::all_of(reference.begin(), reference.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '=';
  });
}

bool valid_email(std::string_view email) {
  auto at = email.find('@');
  return email.size() <= kEmailLengthMax && at != std::string_view::npos && at > 0 &&
         email.find('.', at) != std::string_view::npos && email.find(' ') == std::string_view::npos;
}

}  // namespace

std::string_view tx_status_name(TxStatus s) {
  switch (s) {
    case TxStatus::abandoned:
      return "abandoned";
    case TxStatus::success:
      return "success";
    case TxStatus::failed:
      return "failed";
    case TxStatus::reversed:
      return "reversed";
  }
  return "abandoned";
}

std::string_view transfer_status_name(TransferStatus s) {
  switch (s) {
    case TransferStatus::pending:
      return "pending";
    case TransferStatus::otp:
      return "otp";
    case TransferStatus::success:
      return "success";
    case TransferStatus::failed:
      return "failed";
    case TransferStatus::reversed:
      return "reversed";
    case TransferStatus::abandoned:
      return "abandoned";
  }
  return "pending";
}

std::string_view refund_status_name(RefundStatus s) {
  switch (s) {
    case RefundStatus::pending:
      return "pending";
    case RefundStatus::processing:
      return "processing";
    case RefundStatus::processed:
      return "processed";
    case RefundStatus::failed:
      return "failed";
    case RefundStatus::needs_attention:
      return "needs-attention";
  }
  return "pending";
}

std::string_view dispute_status_name(DisputeStatus s) {
  switch (s) {
    case DisputeStatus::awaiting_merchant_feedback:
      return "awaiting-merchant-feedback";
    case DisputeStatus::awaiting_bank_feedback:
      return "awaiting-bank-feedback";
    case DisputeStatus::pending:
      return "pending";
    case DisputeStatus::resolved:
      return "resolved";
  }
  return "pending";
}

std::string_view dispute_resolution_name(DisputeResolution r) {
  switch (r) {
    case DisputeResolution::merchant_accepted:
      return "merchant-accepted";
    case DisputeResolution::declined:
      return "declined";
    case DisputeResolution::auto_accepted:
      return "auto-accepted";
  }
  return "declined";
}

std::string_view transfer_mode_name(TransferMode m) {
  switch (m) {
    case TransferMode::success:
      return "success";
    case TransferMode::pending:
      return "pending";
    case TransferMode::otp:
      return "otp";
    case TransferMode::fail:
      return "fail";
    case TransferMode::reverse:
      return "reverse";
  }
  return "success";
}

std::string_view refund_mode_name(RefundMode m) {
  switch (m) {
    case RefundMode::processed:
      return "processed";
    case RefundMode::failed:
      return "failed";
    case RefundMode::needs_attention:
      return "needs-attention";
  }
  return "processed";
}

bool supported_currency(std::string_view currency) {
  return std::find(kCurrencies.begin(), kCurrencies.end(), currency) != kCurrencies.end();
}

ApiResult error_result(int status, std::string_view message) {
  JsonOut out;
  out.begin_object().kbool("status", false).kstr("message", message).end_object();
  return ApiResult{status, out.take(), {}};
}

ApiResult coded_error(int status, std::string_view message, std::string_view next_step,
                      std::string_view type, std::string_view code) {
  JsonOut out;
  out.begin_object().kbool("status", false).kstr("message", message);
  out.key("meta").begin_object().kstr("nextStep", next_step).end_object();
  out.kstr("type", type).kstr("code", code).end_object();
  return ApiResult{status, out.take(), {}};
}

// --- pagination and filters ---------------------------------------------------------------

std::string_view query_value(const Query& query, std::string_view key) {
  auto it = query.find(key);
  return it == query.end() ? std::string_view{} : std::string_view{it->second};
}

Page page_of(const Query& query) {
  Page page;
  if (auto p = parse_uint(query_value(query, "page")); p && *p > 0) {
    page.page = static_cast<int64_t>(std::min<uint64_t>(*p, 1'000'000));
  }
  std::string_view per = query_value(query, "perPage");
  if (per.empty()) per = query_value(query, "per_page");
  if (auto n = parse_uint(per); n && *n > 0) {
    page.per_page = static_cast<int64_t>(std::min<uint64_t>(*n, kPerPageMax));
  }
  return page;
}

void write_offset_meta(JsonOut& out, size_t total, const Page& page, const MetaExtras& extras) {
  const auto count = static_cast<int64_t>(total);
  out.begin_object().kint("total", count);
  if (extras.total_volume) out.kint("total_volume", *extras.total_volume);
  out.kint("skipped", (page.page - 1) * page.per_page);
  if (extras.per_page_as_string) {
    out.kstr("perPage", std::to_string(page.per_page));
  } else {
    out.kint("perPage", page.per_page);
  }
  out.kint("page", page.page).kint("pageCount", (count + page.per_page - 1) / page.per_page);
  if (extras.failed_refund_count) out.kint("failedRefundCount", *extras.failed_refund_count);
  out.end_object();
}

std::optional<TimeRange> time_range_of(const Query& query, ApiResult* error) {
  TimeRange range;
  if (auto from = query_value(query, "from"); !from.empty()) {
    auto t = parse_time(from);
    if (!t) {
      *error = error_result(400, "Invalid 'from' date");
      return std::nullopt;
    }
    range.from_ms = *t;
  }
  if (auto to = query_value(query, "to"); !to.empty()) {
    auto t = parse_time(to);
    if (!t) {
      *error = error_result(400, "Invalid 'to' date");
      return std::nullopt;
    }
    constexpr int64_t kDayMs = 24 * 3600 * 1000;
    range.to_ms = to.size() == 10 ? *t + kDayMs - 1 : *t;  // a bare date covers its whole day
  }
  return range;
}

// --- construction, reset, lookups ---------------------------------------------------------

SimState::SimState(SimOptions options) : options_(std::move(options)) {
  reset();
}

void SimState::reset() {
  config_ = SimConfig{};
  config_.webhook_url = options_.webhook_url;
  ++generation_;
  balance_.clear();
  for (auto currency : kCurrencies) balance_[std::string(currency)] = options_.opening_balance;
  customers_.clear();
  customer_by_email_.clear();
  transactions_.clear();
  tx_by_reference_.clear();
  tx_by_access_code_.clear();
  recipients_.clear();
  recipient_by_code_.clear();
  transfers_.clear();
  transfer_by_reference_.clear();
  transfer_by_code_.clear();
  refunds_.clear();
  disputes_.clear();
  dispute_messages_ = 0;
}

void SimState::credit(const std::string& currency, int64_t amount) {
  balance_[currency] += amount;
}

FollowUp SimState::follow_up(FollowUpKind kind, uint64_t id, int64_t delay_ms) const {
  return FollowUp{kind, id, delay_ms, generation_};
}

const Transaction* SimState::find_transaction(std::string_view id_or_reference) const {
  if (auto it = tx_by_reference_.find(std::string(id_or_reference)); it != tx_by_reference_.end())
    return &transactions_[it->second];
  if (auto id = parse_uint(id_or_reference);
      id && *id >= kFirstTransactionId && *id - kFirstTransactionId < transactions_.size())
    return &transactions_[*id - kFirstTransactionId];
  return nullptr;
}

Transaction* SimState::find_transaction(std::string_view id_or_reference) {
  return const_cast<Transaction*>(std::as_const(*this).find_transaction(id_or_reference));
}

const Transaction* SimState::find_by_access_code(std::string_view access_code) const {
  auto it = tx_by_access_code_.find(std::string(access_code));
  return it == tx_by_access_code_.end() ? nullptr : &transactions_[it->second];
}

size_t SimState::customer_for(const std::string& email) {
  std::string key = escrow::ascii_lower(email);
  if (auto it = customer_by_email_.find(key); it != customer_by_email_.end()) return it->second;
  Customer c;
  c.id = kFirstCustomerId + customers_.size();
  c.email = email;
  c.code = "CUS_" + random_code(15);
  c.authorization_code = "AUTH_" + random_code(10);
  c.card_signature = "SIG_" + random_code(20);
  customers_.push_back(std::move(c));
  customer_by_email_.emplace(std::move(key), customers_.size() - 1);
  return customers_.size() - 1;
}

// --- transactions -------------------------------------------------------------------------

namespace {

// Validates email and amount as Paystack does; returns the error to send, if any.
std::optional<ApiResult> check_email_and_amount(const rapidjson::Value& body, std::string* email,
                                                int64_t* amount) {
  auto email_text = member_text(body, "email");
  if (!email_text || email_text->empty())
    return coded_error(400, "Email Address is required", kNextStepRequired, "validation_error",
                       "missing_params");
  if (!valid_email(*email_text))
    return coded_error(400, "Invalid Email Address Passed", kNextStepValid, "validation_error",
                       "invalid_params");
  auto it = body.FindMember("amount");
  if (it == body.MemberEnd() || (it->value.IsString() && it->value.GetStringLength() == 0))
    return coded_error(400, "Amount is required", kNextStepRequired, "validation_error",
                       "missing_params");
  auto parsed = parse_amount(it->value);
  if (!parsed) {
    bool zero = (it->value.IsInt64() && it->value.GetInt64() == 0) ||
                (it->value.IsString() && std::string_view(it->value.GetString()) == "0");
    return error_result(400, zero ? "You must specify a valid amount" : "Invalid Amount Sent");
  }
  if (*parsed > kTransactionAmountMax)
    return error_result(400, "Transaction amount limit exceeded");
  *email = std::move(*email_text);
  *amount = *parsed;
  return std::nullopt;
}

}  // namespace

ApiResult SimState::initialize_transaction(const rapidjson::Value& body) {
  std::string email;
  int64_t amount = 0;
  if (auto error = check_email_and_amount(body, &email, &amount)) return std::move(*error);
  std::string currency = member_text(body, "currency").value_or("NGN");
  if (currency.empty()) currency = "NGN";
  if (!supported_currency(currency)) return error_result(400, "Currency not supported by merchant");
  std::string reference = member_text(body, "reference").value_or("");
  if (!reference.empty()) {
    if (reference.size() > kReferenceLengthMax || !valid_transaction_reference(reference))
      return error_result(400, "Invalid character in transaction reference");
    if (tx_by_reference_.contains(reference)) {
      return ApiResult{400,
                       R"({"status":false,"message":"Duplicate Transaction Reference","meta":)"
                       R"({"nextStep":"Try and create the Transaction or Charge with a new )"
                       R"(reference"},"type":"validation_error","code":"duplicate_reference",)"
                       R"("errorCodeMappingNotFound":false})",
                       {}};
    }
  } else {
    do reference = random_code(kGeneratedReferenceLength);
    while (tx_by_reference_.contains(reference));
  }
  std::string callback_url = member_text(body, "callback_url").value_or("");
  if (callback_url.size() > kUrlLengthMax) return error_result(400, "Invalid callback_url");
  std::string metadata;
  if (auto it = body.FindMember("metadata"); it != body.MemberEnd()) {
    metadata = to_json_text(it->value);
    if (metadata.size() > kMetadataBytesMax) return error_result(400, "Metadata is too large");
  }
  if (transactions_.size() >= kTransactionsMax || customers_.size() >= kCustomersMax)
    return error_result(503, "paystack-sim: transaction limit reached; POST /_sim/reset");

  Transaction tx;
  tx.id = kFirstTransactionId + transactions_.size();
  tx.reference = reference;
  do tx.access_code = random_code(kAccessCodeLength);
  while (tx_by_access_code_.contains(tx.access_code));
  tx.currency = currency;
  tx.callback_url = std::move(callback_url);
  tx.metadata_json = std::move(metadata);
  tx.requested_amount = tx.amount = amount;
  tx.customer = customer_for(email);
  tx.created_ms = now_ms();
  tx_by_reference_.emplace(tx.reference, transactions_.size());
  tx_by_access_code_.emplace(tx.access_code, transactions_.size());
  transactions_.push_back(tx);

  return ok_result(200, "Authorization URL created", [&](JsonOut& out) {
    out.begin_object()
        .kstr("authorization_url", options_.public_url + "/checkout/" + tx.access_code)
        .kstr("access_code", tx.access_code)
        .kstr("reference", tx.reference)
        .end_object();
  });
}

ApiResult SimState::verify_transaction(std::string_view reference) const {
  auto it = tx_by_reference_.find(std::string(reference));
  if (it == tx_by_reference_.end()) return error_result(400, "Transaction reference not found");
  const Transaction& tx = transactions_[it->second];
  return ok_result(200, "Verification successful",
                   [&](JsonOut& out) { write_transaction(out, tx, TxView::verify); });
}

ApiResult SimState::fetch_transaction(std::string_view id_text) const {
  auto id = parse_uint(id_text);
  if (!id) return error_result(400, "Transaction ID should be numeric.");
  if (*id < kFirstTransactionId || *id - kFirstTransactionId >= transactions_.size())
    return error_result(404, "Transaction not found");
  const Transaction& tx = transactions_[*id - kFirstTransactionId];
  return ok_result(200, "Transaction retrieved",
                   [&](JsonOut& out) { write_transaction(out, tx, TxView::fetch); });
}

namespace {

// A page of `matched` (newest first) in cursor mode (use_cursor=true): `next` continues after
// the page's last id, `previous` comes back before its first id (FACTS 1.3).
struct CursorPage {
  size_t start = 0;
  size_t end = 0;
  std::optional<std::string> next;
  std::optional<std::string> previous;
};

CursorPage cursor_page(const std::vector<const Transaction*>& matched, const Query& query,
                       int64_t per_page) {
  CursorPage page;
  auto first_at_or_below = [&](uint64_t id) {
    size_t i = 0;
    while (i < matched.size() && matched[i]->id > id) ++i;
    return i;
  };
  if (auto next = read_cursor(query_value(query, "next"), "tx")) {
    page.start = first_at_or_below(*next - 1);
  } else if (auto previous = read_cursor(query_value(query, "previous"), "tx")) {
    size_t above = first_at_or_below(*previous);
    page.start = above > static_cast<size_t>(per_page) ? above - static_cast<size_t>(per_page) : 0;
  }
  page.end = std::min(matched.size(), page.start + static_cast<size_t>(per_page));
  if (page.end < matched.size()) page.next = make_cursor("tx", matched[page.end - 1]->id);
  if (page.start > 0 && page.start < matched.size())
    page.previous = make_cursor("tx", matched[page.start]->id);
  return page;
}

}  // namespace

ApiResult SimState::list_transactions(const Query& query) const {
  ApiResult error;
  auto range = time_range_of(query, &error);
  if (!range) return error;
  std::string_view status = query_value(query, "status");
  std::string_view customer = query_value(query, "customer");
  std::string_view currency = query_value(query, "currency");
  std::vector<const Transaction*> matched;
  int64_t volume = 0;
  for (auto it = transactions_.rbegin(); it != transactions_.rend(); ++it) {  // newest first
    const Transaction& tx = *it;
    if (!range->contains(tx.created_ms)) continue;
    if (!status.empty() && tx_status_name(tx.status) != status) continue;
    if (!customer.empty() && std::to_string(customers_[tx.customer].id) != customer) continue;
    if (!currency.empty() && tx.currency != currency) continue;
    matched.push_back(&tx);
    if (tx.status == TxStatus::success) volume += tx.amount;
  }
  const Page page = page_of(query);
  const bool use_cursor = query_value(query, "use_cursor") == "true";
  CursorPage window;
  if (use_cursor) {
    window = cursor_page(matched, query, page.per_page);
  } else {
    window.start = std::min(matched.size(), static_cast<size_t>((page.page - 1) * page.per_page));
    window.end = std::min(matched.size(), window.start + static_cast<size_t>(page.per_page));
  }
  return ok_list_result(
      "Transactions retrieved",
      [&](JsonOut& out) {
        out.begin_array();
        for (size_t i = window.start; i < window.end; ++i)
          write_transaction(out, *matched[i], TxView::list);
        out.end_array();
      },
      [&](JsonOut& out) {
        if (use_cursor) {
          out.begin_object().kopt("next", window.next).kopt("previous", window.previous);
          out.kint("perPage", page.per_page).end_object();
          return;
        }
        MetaExtras extras;
        extras.total_volume = volume;
        write_offset_meta(out, matched.size(), page, extras);
      });
}

// --- payments (checkout and control API) --------------------------------------------------

Effects SimState::complete_payment(Transaction& tx, const PayRequest& request) {
  Effects effects;
  switch (request.outcome) {
    case PayOutcome::success:
      tx.amount = request.amount.value_or(tx.requested_amount);
      if (request.currency) tx.currency = *request.currency;
      tx.fees = charge_fee(tx.currency, tx.amount);
      tx.status = TxStatus::success;
      tx.gateway_response = "Successful";
      tx.paid_ms = tx.attempted_ms = now_ms();
      credit(tx.currency, tx.amount - *tx.fees);
      effects.webhooks.push_back(transaction_webhook(tx));
      break;
    case PayOutcome::failed:
      tx.status = TxStatus::failed;
      tx.gateway_response = "Declined";
      tx.attempted_ms = now_ms();
      break;
    case PayOutcome::abandoned:
      tx.status = TxStatus::abandoned;
      tx.gateway_response = "The transaction was not completed";
      break;
  }
  return effects;
}

ApiResult SimState::pay(std::string_view reference, const PayRequest& request) {
  auto it = tx_by_reference_.find(std::string(reference));
  if (it == tx_by_reference_.end()) return error_result(404, "Transaction reference not found");
  Transaction& tx = transactions_[it->second];
  if (tx.status == TxStatus::success || tx.status == TxStatus::reversed)
    return error_result(409, "Transaction has already been paid");
  if (request.currency && !supported_currency(*request.currency))
    return error_result(400, "Currency not supported by merchant");
  Effects effects = complete_payment(tx, request);
  ApiResult result = ok_result(200, "Payment simulated",
                               [&](JsonOut& out) { write_transaction(out, tx, TxView::verify); });
  result.effects = std::move(effects);
  return result;
}

ApiResult SimState::pay_by_access_code(std::string_view access_code, PayOutcome outcome) {
  const Transaction* tx = find_by_access_code(access_code);
  if (!tx) return error_result(404, "Checkout not found");
  return pay(tx->reference, PayRequest{outcome, std::nullopt, std::nullopt});
}

// --- configuration and state dump ---------------------------------------------------------

namespace {

void write_config(JsonOut& out, const SimConfig& c) {
  out.begin_object()
      .kstr("transfer_mode", transfer_mode_name(c.transfer_mode))
      .kstr("refund_mode", refund_mode_name(c.refund_mode))
      .kint("webhook_delay_ms", c.webhook_delay_ms)
      .kint("webhook_duplicates", c.webhook_duplicates)
      .kbool("webhook_shuffle", c.webhook_shuffle)
      .key("webhook_drop_rate")
      .dbl(c.webhook_drop_rate)
      .key("error_rate")
      .dbl(c.error_rate)
      .kint("latency_ms", c.latency_ms)
      .kstr("webhook_url", c.webhook_url)
      .end_object();
}

std::optional<int64_t> bounded_int(const rapidjson::Value& v, int64_t max) {
  if (!v.IsInt64() || v.GetInt64() < 0 || v.GetInt64() > max) return std::nullopt;
  return v.GetInt64();
}

std::optional<double> rate(const rapidjson::Value& v) {
  if (!v.IsNumber() || v.GetDouble() < 0 || v.GetDouble() > 1) return std::nullopt;
  return v.GetDouble();
}

// Applies one key to `c`; returns the error message for an unknown key or a bad value.
std::optional<std::string> apply_config_key(SimConfig& c, std::string_view key,
                                            const rapidjson::Value& v) {
  auto text = v.IsString() ? std::string_view(v.GetString(), v.GetStringLength()) : "";
  if (key == "transfer_mode") {
    for (auto m : {TransferMode::success, TransferMode::pending, TransferMode::otp,
                   TransferMode::fail, TransferMode::reverse})
      if (text == transfer_mode_name(m)) {
        c.transfer_mode = m;
        return std::nullopt;
      }
    return "transfer_mode must be success, pending, otp, fail or reverse";
  }
  if (key == "refund_mode") {
    for (auto m : {RefundMode::processed, RefundMode::failed, RefundMode::needs_attention})
      if (text == refund_mode_name(m)) {
        c.refund_mode = m;
        return std::nullopt;
      }
    return "refund_mode must be processed, failed or needs-attention";
  }
  if (key == "webhook_delay_ms" || key == "latency_ms") {
    auto n = bounded_int(v, kDelayMsMax);
    if (!n)
      return std::string(key) + " must be an integer from 0 to " + std::to_string(kDelayMsMax);
    (key == "latency_ms" ? c.latency_ms : c.webhook_delay_ms) = *n;
    return std::nullopt;
  }
  if (key == "webhook_duplicates") {
    auto n = bounded_int(v, kWebhookDuplicatesMax);
    if (!n) return "webhook_duplicates must be an integer from 0 to 10";
    c.webhook_duplicates = static_cast<int>(*n);
    return std::nullopt;
  }
  if (key == "webhook_shuffle") {
    if (!v.IsBool()) return "webhook_shuffle must be true or false";
    c.webhook_shuffle = v.GetBool();
    return std::nullopt;
  }
  if (key == "webhook_drop_rate" || key == "error_rate") {
    auto r = rate(v);
    if (!r) return std::string(key) + " must be a number from 0 to 1";
    (key == "error_rate" ? c.error_rate : c.webhook_drop_rate) = *r;
    return std::nullopt;
  }
  if (key == "webhook_url") {
    std::string why;
    if (!v.IsString() || !is_loopback_http_url(text, &why)) return "webhook_url " + why;
    c.webhook_url = std::string(text);
    return std::nullopt;
  }
  return "unknown config key: " + std::string(key);
}

}  // namespace

ApiResult SimState::set_config(const rapidjson::Value& body) {
  if (!body.IsObject()) return error_result(400, "config must be a JSON object");
  SimConfig next = config_;
  for (const auto& member : body.GetObject()) {
    std::string_view key(member.name.GetString(), member.name.GetStringLength());
    if (auto why = apply_config_key(next, key, member.value)) return error_result(400, *why);
  }
  config_ = next;
  return ok_result(200, "Config updated", [&](JsonOut& out) { write_config(out, config_); });
}

void SimState::write_state_members(JsonOut& out) const {
  out.key("transactions").begin_array();
  for (const auto& tx : transactions_) {
    out.begin_object().kuint("id", tx.id).kstr("reference", tx.reference);
    out.kstr("access_code", tx.access_code).kstr("status", tx_status_name(tx.status));
    out.kint("amount", tx.amount).kint("requested_amount", tx.requested_amount);
    out.kstr("currency", tx.currency).kopt_int("fees", tx.fees);
    out.kstr("email", customers_[tx.customer].email);
    out.kint("refunded", tx.refunds_processed).kstr("created_at", iso_time(tx.created_ms));
    out.end_object();
  }
  out.end_array().key("transfers").begin_array();
  for (const auto& t : transfers_) {
    out.begin_object().kuint("id", t.id).kstr("reference", t.reference);
    out.kstr("transfer_code", t.code).kstr("status", transfer_status_name(t.status));
    out.kint("amount", t.amount).kint("fee", t.fee).kstr("currency", t.currency);
    out.kstr("recipient_code", recipients_[t.recipient].code);
    out.kstr("mode", transfer_mode_name(t.mode)).end_object();
  }
  out.end_array().key("refunds").begin_array();
  for (const auto& r : refunds_) {
    const Transaction& tx = transactions_[r.transaction];
    out.begin_object().kuint("id", r.id).kuint("transaction", tx.id);
    out.kstr("transaction_reference", tx.reference).kint("amount", r.amount);
    out.kstr("currency", r.currency).kstr("status", refund_status_name(r.status));
    out.kstr("merchant_note", r.merchant_note).kstr("created_at", iso_time(r.created_ms));
    out.kstr("mode", refund_mode_name(r.mode)).end_object();
  }
  out.end_array().key("recipients").begin_array();
  for (const auto& r : recipients_) {
    out.begin_object().kuint("id", r.id).kstr("recipient_code", r.code).kstr("name", r.name);
    out.kstr("bank_code", r.bank_code).kstr("currency", r.currency).end_object();
  }
  out.end_array().key("disputes").begin_array();
  for (const auto& d : disputes_) {
    const Transaction& tx = transactions_[d.transaction];
    out.begin_object().kuint("id", d.id).kuint("transaction", tx.id);
    out.kstr("transaction_reference", tx.reference).kint("refund_amount", d.refund_amount);
    out.kstr("currency", d.currency).kstr("status", dispute_status_name(d.status));
    out.kopt("resolution", d.resolution
                               ? std::optional(std::string(dispute_resolution_name(*d.resolution)))
                               : std::nullopt);
    out.kstr("due_at", iso_time(d.due_ms));
    out.kopt("resolved_at", d.resolved_ms ? std::optional(iso_time(*d.resolved_ms)) : std::nullopt);
    out.kstr("created_at", iso_time(d.created_ms)).kstr("updated_at", iso_time(d.updated_ms));
    out.end_object();
  }
  out.end_array().key("balance").begin_object();
  for (const auto& [currency, amount] : balance_) out.kint(currency, amount);
  out.end_object().key("config");
  write_config(out, config_);
}

}  // namespace paystack_sim
