#include "paystack/decode.h"

#include <optional>
#include <string>
#include <utility>

#include "paystack/json_lenient.h"

namespace escrow::paystack {

namespace {

using rapidjson::Value;
using namespace lenient;

// Records the first missing field in `why`; returns `ok` so checks chain with &&.
bool need(bool ok, std::string& why, const char* field) {
  if (!ok && why.empty()) why = std::string("missing or unreadable ") + field;
  return ok;
}

std::optional<Currency> currency_of(const Value& object) {
  return parse_currency(text_field(object, "currency"));
}

// The currency of an object, required: an unsupported one is named in `why`.
std::optional<Currency> need_currency(const Value& object, std::string& why) {
  std::optional<Currency> currency = currency_of(object);
  if (!currency && why.empty()) {
    std::string code = text_field(object, "currency");
    why = code.empty() ? "missing currency" : "unsupported currency " + code;
  }
  return currency;
}

std::optional<Transaction> read_transaction(const Value& o, std::string& why) {
  Transaction t;
  std::optional<int64_t> id = int_field(o, "id");
  std::optional<std::string> reference = string_field(o, "reference");
  std::optional<std::string> status = string_field(o, "status");
  if (!(need(id.has_value(), why, "id") && need(reference.has_value(), why, "reference") &&
        need(status.has_value(), why, "status")))
    return std::nullopt;
  std::optional<Currency> currency = need_currency(o, why);
  std::optional<Money> amount = money_field(o, "amount", currency);
  if (!(currency && need(amount.has_value(), why, "amount"))) return std::nullopt;
  t.id = *id;
  t.reference = *reference;
  t.status_text = *status;
  t.status = parse_transaction_status(*status);
  t.amount = *amount;
  t.requested_amount = money_field(o, "requested_amount", currency);
  t.fees = money_field(o, "fees", currency);
  t.paid_at_ms = time_field(o, {"paid_at", "paidAt"});
  t.created_at_ms = time_field(o, {"created_at", "createdAt", "transaction_date"});
  t.channel = text_field(o, "channel");
  t.gateway_response = text_field(o, "gateway_response");
  t.domain = text_field(o, "domain");
  t.metadata_json = raw_json(member(o, "metadata"));
  if (const Value* customer = relation(o, "customer")) {
    t.customer_email = text_field(*customer, "email");
    t.customer_code = text_field(*customer, "customer_code");
  }
  if (const Value* authorization = relation(o, "authorization"))
    t.authorization_code = text_field(*authorization, "authorization_code");
  return t;
}

std::optional<InitializedTransaction> read_initialized(const Value& o, std::string& why) {
  InitializedTransaction t;
  std::optional<std::string> url = string_field(o, "authorization_url");
  std::optional<std::string> code = string_field(o, "access_code");
  std::optional<std::string> reference = string_field(o, "reference");
  if (!(need(url.has_value(), why, "authorization_url") &&
        need(code.has_value(), why, "access_code") &&
        need(reference.has_value(), why, "reference")))
    return std::nullopt;
  t.authorization_url = *url;
  t.access_code = *code;
  t.reference = *reference;
  return t;
}

std::optional<Recipient> read_recipient(const Value& o, std::string& why) {
  Recipient r;
  std::optional<std::string> code = string_field(o, "recipient_code");
  if (!need(code.has_value(), why, "recipient_code")) return std::nullopt;
  r.recipient_code = *code;
  r.id = int_field(o, "id").value_or(0);
  r.type = text_field(o, "type");
  r.name = text_field(o, "name");
  r.currency_code = text_field(o, "currency");
  r.active = bool_field(o, "active");
  r.created_at_ms = time_field(o, {"createdAt", "created_at"});
  if (const Value* details = relation(o, "details")) {
    r.details.account_number = text_field(*details, "account_number");
    r.details.account_name = text_field(*details, "account_name");
    r.details.bank_code = text_field(*details, "bank_code");
    r.details.bank_name = text_field(*details, "bank_name");
  }
  return r;
}

std::optional<Bank> read_bank(const Value& o, std::string& why) {
  Bank b;
  std::optional<std::string> code = string_field(o, "code");
  std::optional<std::string> name = string_field(o, "name");
  if (!(need(code.has_value(), why, "code") && need(name.has_value(), why, "name")))
    return std::nullopt;
  b.code = *code;
  b.name = *name;
  b.id = int_field(o, "id").value_or(0);
  b.slug = text_field(o, "slug");
  b.country = text_field(o, "country");
  b.currency_code = text_field(o, "currency");
  b.type = text_field(o, "type");
  b.active = bool_field(o, "active");
  return b;
}

std::optional<ResolvedAccount> read_resolved_account(const Value& o, std::string& why) {
  ResolvedAccount a;
  std::optional<std::string> number = string_field(o, "account_number");
  std::optional<std::string> name = string_field(o, "account_name");
  if (!(need(number.has_value(), why, "account_number") &&
        need(name.has_value(), why, "account_name")))
    return std::nullopt;
  a.account_number = *number;
  a.account_name = *name;
  a.bank_id = int_field(o, "bank_id");
  return a;
}

std::optional<Transfer> read_transfer(const Value& o, std::string& why) {
  Transfer t;
  std::optional<int64_t> id = int_field(o, "id");
  std::optional<std::string> code = string_field(o, "transfer_code");
  std::optional<std::string> status = string_field(o, "status");
  if (!(need(id.has_value(), why, "id") && need(code.has_value(), why, "transfer_code") &&
        need(status.has_value(), why, "status")))
    return std::nullopt;
  std::optional<Currency> currency = need_currency(o, why);
  std::optional<Money> amount = money_field(o, "amount", currency);
  if (!(currency && need(amount.has_value(), why, "amount"))) return std::nullopt;
  t.id = *id;
  t.transfer_code = *code;
  t.status_text = *status;
  t.status = parse_transfer_status(*status);
  t.amount = *amount;
  t.reference = text_field(o, "reference");
  t.fee_charged = money_field(o, "fee_charged", currency);
  t.recipient_id = id_field(o, "recipient");
  if (const Value* recipient = relation(o, "recipient"))
    t.recipient_code = text_field(*recipient, "recipient_code");
  t.reason = text_field(o, "reason");
  t.gateway_response = text_field(o, "gateway_response");
  t.domain = text_field(o, "domain");
  t.created_at_ms = time_field(o, {"createdAt", "created_at"});
  t.updated_at_ms = time_field(o, {"updatedAt", "updated_at"});
  t.transferred_at_ms = time_field(o, {"transferred_at", "transferredAt"});
  return t;
}

std::optional<Refund> read_refund(const Value& o, std::string& why) {
  Refund r;
  std::optional<int64_t> id = int_field(o, "id");
  std::optional<std::string> status = string_field(o, "status");
  if (!(need(id.has_value(), why, "id") && need(status.has_value(), why, "status")))
    return std::nullopt;
  std::optional<Currency> currency = need_currency(o, why);
  std::optional<Money> amount = money_field(o, "amount", currency);
  if (!(currency && need(amount.has_value(), why, "amount"))) return std::nullopt;
  r.id = *id;
  r.status_text = *status;
  r.status = parse_refund_status(*status);
  r.amount = *amount;
  r.deducted_amount = money_field(o, "deducted_amount", currency);
  r.transaction_id = id_field(o, "transaction");
  if (const Value* transaction = relation(o, "transaction")) {
    r.transaction_reference = text_field(*transaction, "reference");
  } else if (const Value* text = member(o, "transaction");
             text != nullptr && text->IsString() && !r.transaction_id) {
    r.transaction_reference = text->GetString();  // a reference where an id usually is
  }
  r.fully_deducted = bool_field(o, "fully_deducted");
  r.channel = text_field(o, "channel");
  r.customer_note = text_field(o, "customer_note");
  r.merchant_note = text_field(o, "merchant_note");
  r.refunded_by = text_field(o, "refunded_by");
  r.domain = text_field(o, "domain");
  r.refunded_at_ms = time_field(o, {"refunded_at", "refundedAt"});
  r.expected_at_ms = time_field(o, {"expected_at", "expectedAt"});
  r.created_at_ms = time_field(o, {"createdAt", "created_at"});
  r.updated_at_ms = time_field(o, {"updatedAt", "updated_at"});
  return r;
}

std::optional<Dispute> read_dispute(const Value& o, std::string& why) {
  Dispute d;
  std::optional<int64_t> id = int_field(o, "id");
  std::optional<std::string> status = string_field(o, "status");
  if (!(need(id.has_value(), why, "id") && need(status.has_value(), why, "status")))
    return std::nullopt;
  d.id = *id;
  d.status = *status;
  d.resolution = text_field(o, "resolution");
  d.refund_amount = money_field(o, "refund_amount", currency_of(o));
  d.transaction_reference = text_field(o, "transaction_reference");
  d.transaction_id = id_field(o, "transaction");
  if (const Value* transaction = relation(o, "transaction")) {
    if (d.transaction_reference.empty())
      d.transaction_reference = text_field(*transaction, "reference");
    d.transaction_status = text_field(*transaction, "status");
    if (!currency_of(o))
      d.refund_amount = money_field(o, "refund_amount", currency_of(*transaction));
  }
  d.category = text_field(o, "category");
  d.due_at_ms = time_field(o, {"dueAt", "due_at"});
  d.resolved_at_ms = time_field(o, {"resolvedAt", "resolved_at"});
  d.created_at_ms = time_field(o, {"createdAt", "created_at"});
  d.updated_at_ms = time_field(o, {"updatedAt", "updated_at"});
  return d;
}

PageMeta read_meta(const Value* meta) {
  PageMeta m;
  if (meta == nullptr) return m;
  m.total = int_field(*meta, "total");
  m.skipped = int_field(*meta, "skipped");
  m.per_page = int_of(member_any(*meta, {"perPage", "per_page"}));
  m.page = int_field(*meta, "page");
  m.page_count = int_of(member_any(*meta, {"pageCount", "page_count"}));
  m.total_volume = int_field(*meta, "total_volume");
  m.next = cursor_field(*meta, "next");
  m.previous = cursor_field(*meta, "previous");
  return m;
}

ApiError unreadable(const HttpResponse& response, const char* what, const std::string& why) {
  ApiError error;
  error.kind = ErrorKind::unexpected;
  error.http_status = response.status;
  error.message = std::string("unreadable ") + what + ": " + why;
  return error;
}

// Opens the envelope and hands `data` (and `meta`) to `read(data, meta, why)`.
template <class T, class Reader>
ApiResult<T> decode_envelope(const HttpResponse& response, const char* what, Reader&& read) {
  if (response.status < 200 || response.status > 299) return classify_error(response);
  rapidjson::Document doc;
  std::string why;
  if (!parse_document(response.body, doc, why)) return unreadable(response, what, why);
  if (!doc.IsObject()) return unreadable(response, what, "the body is not a JSON object");
  std::optional<bool> status = bool_field(doc, "status");
  if (!status) return unreadable(response, what, "no envelope status");
  if (!*status) return classify_error(response);
  const Value* data = member(doc, "data");
  if (data == nullptr) return unreadable(response, what, "no data");
  std::optional<T> value = read(*data, member(doc, "meta"), why);
  if (!value) return unreadable(response, what, why);
  return std::move(*value);
}

// `data` as an object read by `read_one`.
template <class T>
ApiResult<T> decode_object(const HttpResponse& response, const char* what,
                           std::optional<T> (*read_one)(const Value&, std::string&)) {
  return decode_envelope<T>(
      response, what, [&](const Value& data, const Value*, std::string& why) -> std::optional<T> {
        if (!data.IsObject()) {
          why = "data is not an object";
          return std::nullopt;
        }
        return read_one(data, why);
      });
}

// `data` as an array of objects read by `read_one`, plus the paging meta. One unreadable item
// fails the page: a reconciliation must not skip what it cannot read.
template <class T>
ApiResult<Page<T>> decode_page(const HttpResponse& response, const char* what,
                               std::optional<T> (*read_one)(const Value&, std::string&)) {
  return decode_envelope<Page<T>>(
      response, what,
      [&](const Value& data, const Value* meta, std::string& why) -> std::optional<Page<T>> {
        if (!data.IsArray()) {
          why = "data is not an array";
          return std::nullopt;
        }
        Page<T> page;
        page.meta = read_meta(meta);
        for (rapidjson::SizeType i = 0; i < data.Size(); ++i) {
          std::optional<T> item = data[i].IsObject() ? read_one(data[i], why) : std::nullopt;
          if (!item) {
            why = "item " + std::to_string(i) + ": " + (why.empty() ? "not an object" : why);
            return std::nullopt;
          }
          page.items.push_back(std::move(*item));
        }
        return page;
      });
}

}  // namespace

ApiResult<InitializedTransaction> decode_initialize(const HttpResponse& response) {
  return decode_object<InitializedTransaction>(response, "initialized transaction",
                                               read_initialized);
}
ApiResult<Transaction> decode_transaction(const HttpResponse& response) {
  return decode_object<Transaction>(response, "transaction", read_transaction);
}
ApiResult<Page<Transaction>> decode_transaction_page(const HttpResponse& response) {
  return decode_page<Transaction>(response, "transaction list", read_transaction);
}
ApiResult<Recipient> decode_recipient(const HttpResponse& response) {
  return decode_object<Recipient>(response, "transfer recipient", read_recipient);
}
ApiResult<Page<Recipient>> decode_recipient_page(const HttpResponse& response) {
  return decode_page<Recipient>(response, "transfer recipient list", read_recipient);
}
ApiResult<Page<Bank>> decode_bank_page(const HttpResponse& response) {
  return decode_page<Bank>(response, "bank list", read_bank);
}
ApiResult<ResolvedAccount> decode_resolved_account(const HttpResponse& response) {
  return decode_object<ResolvedAccount>(response, "resolved account", read_resolved_account);
}
ApiResult<Transfer> decode_transfer(const HttpResponse& response) {
  return decode_object<Transfer>(response, "transfer", read_transfer);
}
ApiResult<Page<Transfer>> decode_transfer_page(const HttpResponse& response) {
  return decode_page<Transfer>(response, "transfer list", read_transfer);
}
ApiResult<Refund> decode_refund(const HttpResponse& response) {
  return decode_object<Refund>(response, "refund", read_refund);
}
ApiResult<Page<Refund>> decode_refund_page(const HttpResponse& response) {
  return decode_page<Refund>(response, "refund list", read_refund);
}

ApiResult<std::vector<Balance>> decode_balances(const HttpResponse& response) {
  return decode_envelope<std::vector<Balance>>(
      response, "balance",
      [](const Value& data, const Value*, std::string& why) -> std::optional<std::vector<Balance>> {
        if (!data.IsArray()) {
          why = "data is not an array";
          return std::nullopt;
        }
        std::vector<Balance> balances;
        for (const Value& entry : data.GetArray()) {
          std::optional<int64_t> amount = int_field(entry, "balance");
          if (!need(amount.has_value(), why, "balance")) return std::nullopt;
          if (std::optional<Currency> currency = currency_of(entry))
            balances.push_back(Balance{Money{*amount, *currency}});
        }
        return balances;
      });
}

ApiResult<Dispute> decode_dispute(const HttpResponse& response) {
  return decode_object<Dispute>(response, "dispute", read_dispute);
}
ApiResult<Page<Dispute>> decode_dispute_page(const HttpResponse& response) {
  return decode_page<Dispute>(response, "dispute list", read_dispute);
}

}  // namespace escrow::paystack
