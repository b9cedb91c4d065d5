#include "paystack/client.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <utility>

#include "ledger/time_format.h"
#include "paystack/decode.h"
#include "paystack/json_lenient.h"

namespace escrow::paystack {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// RFC 3986 percent-encoding of everything but the unreserved characters: safe in a path
// segment and in a query value.
std::string percent_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

// Builds "path?key=value&..." skipping unset values.
class Target {
 public:
  explicit Target(std::string path) : text_(std::move(path)) {}
  Target& add(std::string_view key, std::string_view value) {
    if (value.empty()) return *this;
    text_ += first_ ? '?' : '&';
    first_ = false;
    text_ += percent_encode(key) + "=" + percent_encode(value);
    return *this;
  }
  Target& add(std::string_view key, std::optional<int64_t> value) {
    return value ? add(key, std::to_string(*value)) : *this;
  }
  Target& add_time(std::string_view key, std::optional<int64_t> unix_ms) {
    return unix_ms ? add(key, format_iso8601_ms(*unix_ms)) : *this;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
  bool first_ = true;
};

std::optional<int64_t> widen(std::optional<int> value) {
  return value ? std::optional<int64_t>(*value) : std::nullopt;
}

void put(JsonWriter& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void put(JsonWriter& w, const char* key, int64_t value) {
  w.Key(key);
  w.Int64(value);
}

HttpRequest get(std::string target) {
  return HttpRequest{HttpMethod::get, std::move(target), {}};
}
HttpRequest post(std::string target, const rapidjson::StringBuffer& body) {
  return HttpRequest{HttpMethod::post, std::move(target),
                     std::string(body.GetString(), body.GetSize())};
}
HttpRequest put_request(std::string target, const rapidjson::StringBuffer& body) {
  return HttpRequest{HttpMethod::put, std::move(target),
                     std::string(body.GetString(), body.GetSize())};
}

bool retryable(const ApiError& error) {
  return error.kind == ErrorKind::unavailable || error.kind == ErrorKind::rate_limited;
}

std::string segment(std::string_view text) {
  return percent_encode(text);
}

}  // namespace

int64_t backoff_delay_ms(const RetryPolicy& policy, int attempt, double unit_random) {
  int64_t wait = policy.backoff_base_ms;
  for (int i = 1; i < attempt && wait < policy.backoff_max_ms; ++i) wait *= 2;
  wait = std::min<int64_t>(wait, policy.backoff_max_ms);
  double factor = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
  return static_cast<int64_t>(static_cast<double>(wait) * factor);
}

int64_t rate_limit_delay_ms(const RetryPolicy& policy, const ApiError& error, int attempt,
                            double unit_random) {
  if (error.retry_after_s && *error.retry_after_s > 0) {
    int64_t cap_s = policy.rate_limit_wait_ms_max / 1000;
    return std::min(*error.retry_after_s, cap_s) * 1000;
  }
  return backoff_delay_ms(policy, attempt, unit_random);
}

Result<std::unique_ptr<Client>> Client::create(const ClientConfig& config) {
  if (config.secret_key.empty())
    return Status(StatusCode::invalid_argument, "paystack client: no secret key");
  if (config.retry.attempts_max < 1)
    return Status(StatusCode::invalid_argument, "paystack client: attempts_max < 1");
  HttpClientConfig http;
  http.base_url = config.base_url;
  http.secret_key = config.secret_key;
  http.connect_timeout_ms = config.connect_timeout_ms;
  http.request_timeout_ms = config.request_timeout_ms;
  http.response_body_bytes_max = config.response_body_bytes_max;
  Result<std::unique_ptr<PooledTransport>> transport =
      PooledTransport::create(http, config.connections_max);
  if (!transport.is_ok()) return transport.status();
  return std::make_unique<Client>(std::shared_ptr<HttpTransport>(std::move(transport.value())),
                                  config.retry, SleepFn{}, config.secret_key);
}

Client::Client(std::shared_ptr<HttpTransport> transport, RetryPolicy retry, SleepFn sleep,
               std::string secret_key)
    : transport_(std::move(transport)),
      retry_(retry),
      sleep_(std::move(sleep)),
      secret_key_(std::move(secret_key)),
      random_(std::random_device{}()) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds wait) { std::this_thread::sleep_for(wait); };
  retry_.attempts_max = std::max(retry_.attempts_max, 1);
}

double Client::unit_random() {
  std::lock_guard<std::mutex> lock(random_mutex_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

// Belt and braces: nothing we build contains the key, but a server could echo it back.
std::string mask_digit_runs(std::string_view text) {
  constexpr size_t run_min = 10, kept = 4;
  std::string out(text);
  for (size_t at = 0; at < out.size();) {
    size_t end = at;
    while (end < out.size() && out[end] >= '0' && out[end] <= '9') ++end;
    if (end - at >= run_min) std::fill(out.begin() + at, out.begin() + (end - kept), '*');
    at = end == at ? at + 1 : end;
  }
  return out;
}

void Client::scrub(ApiError& error) const {
  for (std::string* text : {&error.message, &error.code, &error.type, &error.next_step}) {
    if (!secret_key_.empty()) {
      for (size_t at = text->find(secret_key_); at != std::string::npos;
           at = text->find(secret_key_, at))
        text->replace(at, secret_key_.size(), "[redacted]");
    }
    *text = mask_digit_runs(*text);
  }
}

// The retry loop. A GET is retried on `unavailable` and `rate_limited`; a POST is sent once.
ApiResult<Client::Exchange> Client::send(const HttpRequest& request) {
  const bool safe = request.method == HttpMethod::get;
  const int attempts_max = safe ? retry_.attempts_max : 1;
  for (int attempt = 1;; ++attempt) {
    Result<HttpResponse> response = transport_->send(request);
    ApiError error;
    if (!response.is_ok()) {
      error = transport_error(response.status());
    } else if (response->status == 429 || (response->status >= 500 && response->status <= 599)) {
      error = classify_error(*response);
    } else {
      return Exchange{std::move(response.value()), attempt};
    }
    error.attempts = attempt;
    if (attempt >= attempts_max || !retryable(error)) {
      scrub(error);
      return error;
    }
    int64_t wait_ms = error.kind == ErrorKind::rate_limited
                          ? rate_limit_delay_ms(retry_, error, attempt, unit_random())
                          : backoff_delay_ms(retry_, attempt, unit_random());
    sleep_(std::chrono::milliseconds(wait_ms));
  }
}

template <class T>
ApiResult<T> Client::call(std::string_view endpoint, const HttpRequest& request,
                          ApiResult<T> (*decode)(const HttpResponse&)) {
  ApiResult<Exchange> exchange = send(request);
  if (!exchange.is_ok()) {
    if (observer_) observer_(endpoint, error_kind_name(exchange.error().kind));
    return exchange.error();
  }
  ApiResult<T> result = decode(exchange->response);
  if (!result.is_ok()) {
    result.error().attempts = exchange->attempts;
    scrub(result.error());
  }
  if (observer_) observer_(endpoint, result.is_ok() ? "ok" : error_kind_name(result.error().kind));
  return result;
}

ApiResult<InitializedTransaction> Client::initialize_transaction(
    const InitializeTransactionRequest& request) {
  if (request.email.empty() || request.amount.amount_minor <= 0)
    return local_error(ErrorKind::validation,
                       "initialize: email and a positive amount are required");
  rapidjson::Document metadata;
  if (!request.metadata_json.empty()) {
    std::string why;
    if (!lenient::parse_document(request.metadata_json, metadata, why) || !metadata.IsObject())
      return local_error(ErrorKind::validation, "initialize: metadata must be a JSON object");
  }
  rapidjson::StringBuffer body;
  JsonWriter w(body);
  w.StartObject();
  put(w, "email", request.email);
  put(w, "amount", request.amount.amount_minor);
  put(w, "currency", currency_code(request.amount.currency));
  if (!request.reference.empty()) put(w, "reference", request.reference);
  if (!request.callback_url.empty()) put(w, "callback_url", request.callback_url);
  if (!request.metadata_json.empty()) {
    w.Key("metadata");
    metadata.Accept(w);
  }
  w.EndObject();
  return call("transaction.initialize", post("/transaction/initialize", body), decode_initialize);
}

ApiResult<Transaction> Client::verify_transaction(std::string_view reference) {
  if (reference.empty()) return local_error(ErrorKind::validation, "verify: empty reference");
  return call("transaction.verify", get("/transaction/verify/" + segment(reference)),
              decode_transaction);
}

ApiResult<Transaction> Client::fetch_transaction(int64_t id) {
  return call("transaction.fetch", get("/transaction/" + std::to_string(id)), decode_transaction);
}

ApiResult<Page<Transaction>> Client::list_transactions(const ListTransactionsQuery& query) {
  Target target("/transaction");
  target.add("perPage", widen(query.per_page)).add("page", widen(query.page));
  if (query.use_cursor) target.add("use_cursor", "true");
  target.add("next", query.next).add("previous", query.previous);
  target.add_time("from", query.from_ms).add_time("to", query.to_ms).add("status", query.status);
  return call("transaction.list", get(target.str()), decode_transaction_page);
}

ApiResult<Recipient> Client::create_transfer_recipient(const CreateRecipientRequest& request) {
  if (request.name.empty() || request.account_number.empty() || request.bank_code.empty())
    return local_error(ErrorKind::validation,
                       "create recipient: name, account number and bank code are required");
  rapidjson::StringBuffer body;
  JsonWriter w(body);
  w.StartObject();
  put(w, "type", request.type);
  put(w, "name", request.name);
  put(w, "account_number", request.account_number);
  put(w, "bank_code", request.bank_code);
  put(w, "currency", currency_code(request.currency));
  w.EndObject();
  return call("transferrecipient.create", post("/transferrecipient", body), decode_recipient);
}

ApiResult<Page<Recipient>> Client::list_transfer_recipients(std::optional<int> page,
                                                            std::optional<int> per_page) {
  Target target("/transferrecipient");
  target.add("perPage", widen(per_page)).add("page", widen(page));
  return call("transferrecipient.list", get(target.str()), decode_recipient_page);
}

ApiResult<Page<Bank>> Client::list_banks(const ListBanksQuery& query) {
  Target target("/bank");
  if (query.currency) target.add("currency", currency_code(*query.currency));
  target.add("country", query.country)
      .add("type", query.type)
      .add("perPage", widen(query.per_page));
  if (query.use_cursor) target.add("use_cursor", "true");
  target.add("next", query.next);
  return call("bank.list", get(target.str()), decode_bank_page);
}

ApiResult<ResolvedAccount> Client::resolve_account(std::string_view account_number,
                                                   std::string_view bank_code) {
  if (account_number.empty() || bank_code.empty())
    return local_error(ErrorKind::validation,
                       "resolve account: account number and bank code are required");
  Target target("/bank/resolve");
  target.add("account_number", account_number).add("bank_code", bank_code);
  return call("bank.resolve", get(target.str()), decode_resolved_account);
}

ApiResult<Transfer> Client::initiate_transfer(const InitiateTransferRequest& request) {
  if (!transfer_reference_valid(request.reference))
    return local_error(ErrorKind::validation,
                       "initiate transfer: the reference must be lowercase [a-z0-9-], 16-50 chars");
  if (request.amount.amount_minor <= 0 || request.recipient_code.empty())
    return local_error(ErrorKind::validation,
                       "initiate transfer: a positive amount and a recipient are required");
  rapidjson::StringBuffer body;
  JsonWriter w(body);
  w.StartObject();
  put(w, "source", request.source);
  put(w, "amount", request.amount.amount_minor);
  put(w, "currency", currency_code(request.amount.currency));
  put(w, "recipient", request.recipient_code);
  put(w, "reference", request.reference);
  if (!request.reason.empty()) put(w, "reason", request.reason);
  w.EndObject();
  return call("transfer.initiate", post("/transfer", body), decode_transfer);
}

ApiResult<Transfer> Client::initiate_or_lookup_transfer(const InitiateTransferRequest& request) {
  ApiResult<Transfer> sent = initiate_transfer(request);
  if (sent.is_ok() || sent.error().kind != ErrorKind::duplicate_transfer_reference) return sent;
  ApiResult<Transfer> existing = verify_transfer(request.reference);
  if (!existing.is_ok()) return existing;
  bool same_recipient =
      existing->recipient_code.empty() || existing->recipient_code == request.recipient_code;
  if (existing->amount == request.amount && same_recipient) return existing;
  ApiError error = sent.error();
  error.message =
      "reference " + request.reference + " is already used by transfer " + existing->transfer_code +
      " for " + existing->amount.to_string() + " to " +
      (existing->recipient_code.empty() ? "another recipient" : existing->recipient_code) + "; " +
      error.message;
  return error;
}

ApiResult<Transfer> Client::verify_transfer(std::string_view reference) {
  if (reference.empty())
    return local_error(ErrorKind::validation, "verify transfer: empty reference");
  return call("transfer.verify", get("/transfer/verify/" + segment(reference)), decode_transfer);
}

ApiResult<Transfer> Client::finalize_transfer(std::string_view transfer_code,
                                              std::string_view otp) {
  if (transfer_code.empty() || otp.empty())
    return local_error(ErrorKind::validation,
                       "finalize transfer: transfer code and OTP are required");
  rapidjson::StringBuffer body;
  JsonWriter w(body);
  w.StartObject();
  put(w, "transfer_code", transfer_code);
  put(w, "otp", otp);
  w.EndObject();
  return call("transfer.finalize", post("/transfer/finalize_transfer", body), decode_transfer);
}

ApiResult<Page<Transfer>> Client::list_transfers(const ListTransfersQuery& query) {
  Target target("/transfer");
  target.add("perPage", widen(query.per_page)).add("page", widen(query.page));
  target.add("status", query.status).add("recipient", query.recipient);
  target.add_time("from", query.from_ms).add_time("to", query.to_ms);
  return call("transfer.list", get(target.str()), decode_transfer_page);
}

ApiResult<Refund> Client::create_refund(const CreateRefundRequest& request) {
  if (request.transaction_reference.empty() == !request.transaction_id.has_value())
    return local_error(ErrorKind::validation,
                       "create refund: give exactly one of transaction reference and id");
  if (request.amount && request.amount->amount_minor <= 0)
    return local_error(ErrorKind::validation, "create refund: the amount must be positive");
  rapidjson::StringBuffer body;
  JsonWriter w(body);
  w.StartObject();
  if (request.transaction_id)
    put(w, "transaction", *request.transaction_id);
  else
    put(w, "transaction", request.transaction_reference);
  if (request.amount) {
    put(w, "amount", request.amount->amount_minor);
    put(w, "currency", currency_code(request.amount->currency));
  }
  if (!request.customer_note.empty()) put(w, "customer_note", request.customer_note);
  if (!request.merchant_note.empty()) put(w, "merchant_note", request.merchant_note);
  w.EndObject();
  return call("refund.create", post("/refund", body), decode_refund);
}

ApiResult<Page<Refund>> Client::list_refunds(const ListRefundsQuery& query) {
  Target target("/refund");
  target.add("transaction", query.transaction);
  if (query.currency) target.add("currency", currency_code(*query.currency));
  target.add("perPage", widen(query.per_page)).add("page", widen(query.page));
  target.add_time("from", query.from_ms).add_time("to", query.to_ms);
  return call("refund.list", get(target.str()), decode_refund_page);
}

ApiResult<Refund> Client::fetch_refund(int64_t id) {
  return call("refund.fetch", get("/refund/" + std::to_string(id)), decode_refund);
}

ApiResult<Dispute> Client::fetch_dispute(int64_t id) {
  return call("dispute.fetch", get("/dispute/" + std::to_string(id)), decode_dispute);
}

ApiResult<Page<Dispute>> Client::list_disputes(const ListDisputesQuery& query) {
  Target target("/dispute");
  target.add("status", query.status).add("transaction", query.transaction);
  target.add("perPage", widen(query.per_page)).add("page", widen(query.page));
  target.add_time("from", query.from_ms).add_time("to", query.to_ms);
  return call("dispute.list", get(target.str()), decode_dispute_page);
}

ApiResult<Dispute> Client::resolve_dispute(const ResolveDisputeRequest& request) {
  if (request.resolution != "merchant-accepted" && request.resolution != "declined")
    return local_error(ErrorKind::validation,
                       "resolve dispute: the resolution is merchant-accepted or declined");
  if (request.message.empty() || request.refund_amount.amount_minor <= 0)
    return local_error(ErrorKind::validation,
                       "resolve dispute: a message and a positive refund amount are required");
  rapidjson::StringBuffer body;
  JsonWriter w(body);
  w.StartObject();
  put(w, "resolution", request.resolution);
  put(w, "message", request.message);
  put(w, "refund_amount", request.refund_amount.amount_minor);
  if (!request.uploaded_filename.empty()) put(w, "uploaded_filename", request.uploaded_filename);
  if (request.evidence) put(w, "evidence", *request.evidence);
  w.EndObject();
  return call("dispute.resolve",
              put_request("/dispute/" + std::to_string(request.dispute_id) + "/resolve", body),
              decode_dispute);
}

ApiResult<std::vector<Balance>> Client::balance() {
  return call("balance.fetch", get("/balance"), decode_balances);
}

}  // namespace escrow::paystack
