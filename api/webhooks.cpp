// Paystack webhooks: receiving, processing, retries and the admin routes; see webhooks.h.
#include "api/webhooks.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "api/handler_support.h"
#include "api/log.h"
#include "api/metrics.h"
#include "api/outbox.h"
#include "api/payments.h"
#include "api/read_pool.h"
#include "ledger/time_format.h"
#include "paystack/client.h"
#include "paystack/webhook.h"
#include "projections/webhook_log.h"

namespace escrow::api {
namespace {

using projections::WebhookOutcome;
using WebhookKind = paystack::WebhookKind;

constexpr const char* webhook_actor_id = "paystack-webhook";

// What processing decided, when no operating error stopped it.
struct Handled {
  WebhookOutcome outcome = WebhookOutcome::processed;
  std::string detail;  // why it was ignored; empty when processed (WebhookProcessed's contract)
  bool queued_money = false;  // the command queued a payout or refund: wake the outbox
};

// Applied, or already so. `result` is the command that ran, if one did.
Handled processed(const CommandResult* result = nullptr) {
  Handled h{WebhookOutcome::processed, "", false};
  if (result) {
    for (const RecordedEvent& e : result->events) {
      if (e.type == "PayoutRequested" || e.type == "RefundRequested") h.queued_money = true;
    }
  }
  return h;
}

Handled ignored(std::string detail) {
  return Handled{WebhookOutcome::ignored, std::move(detail)};
}

CommandContext system_context(int64_t delivery_id) {
  CommandContext context;
  context.actor = Actor{webhook_actor_id, Role::system};
  context.request_id = "webhook-" + std::to_string(delivery_id);
  context.causation_seq = delivery_id;
  return context;
}

// The same, for the WebhookProcessed events of the delivery.
EventMeta webhook_meta(int64_t delivery_id) {
  EventMeta meta;
  meta.actor_id = webhook_actor_id;
  meta.actor_role = role_name(Role::system);
  meta.request_id = "webhook-" + std::to_string(delivery_id);
  meta.causation_seq = delivery_id;
  return meta;
}

// A Paystack call that did not give an answer is an operating error, retried later. The text is
// the client's own, which never holds the secret key.
Status paystack_failure(const paystack::ApiError& error) {
  return Status(StatusCode::io_error, "Paystack: " + error.to_string());
}

// A refusal of a command that already ran; `already_so` lists those that mean "done before".
Result<Handled> refusal(const CommandResult& result, std::initializer_list<Rejection> already_so) {
  if (!result.status.is_ok()) return result.status;
  Rejection r = *result.rejection;
  if (std::find(already_so.begin(), already_so.end(), r) != already_so.end()) {
    return processed();
  }
  return ignored(std::string("refused: ") + rejection_code(r) + " (" + rejection_message(r) + ")");
}

// ---- charge.success --------------------------------------------------------------------------

Result<Handled> handle_charge(Services& services, const paystack::WebhookEvent& event,
                              const CommandContext& context) {
  if (event.reference.empty()) return ignored("the charge names no reference");
  auto tx = services.paystack.verify_transaction(event.reference);
  if (!tx.is_ok()) {
    if (tx.error().kind == paystack::ErrorKind::not_found) {
      auto booking = booking_of_reference(services, event.reference);
      if (!booking.is_ok()) return booking.status();
      if (!booking.value()) return ignored("no booking has this reference");
    }
    return paystack_failure(tx.error());
  }
  // A reference no checkout of ours recorded is never adopted from its metadata here: anyone
  // with the public key can open a checkout naming any booking.
  auto settled = settle_transaction(services, tx.value(), "webhook", context,
                                    MetadataFallback::refused);
  if (!settled.is_ok()) return settled.status();
  const SettleOutcome& s = settled.value();
  if (!s.result.status.is_ok()) return s.result.status;
  switch (s.settlement) {
    case Settlement::captured:  // held, or refunded at once when it came late or twice
    case Settlement::flagged:   // recorded, never held: the console shows it
    case Settlement::failed:
      return processed(&s.result);
    case Settlement::in_progress:
      // The webhook says success but verify has no final answer yet: try again later.
      return Status(StatusCode::io_error, "Paystack has no final answer for this charge yet");
    case Settlement::unknown_reference:
      return ignored("no booking has this reference");
    case Settlement::refused:
      return refusal(s.result, {});
  }
  return ignored("unexpected settlement");
}

// ---- transfer.* ------------------------------------------------------------------------------

struct PayoutOwner {
  std::string provider_id;
  Money amount;
  std::optional<PayoutStatus> status;
};

// The payout whose id is `reference` (payout ids are the Paystack transfer references).
Result<std::optional<PayoutOwner>> payout_owner(Services& services, std::string_view reference) {
  auto lease = services.reads.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(
      "SELECT provider_id, amount, currency, status FROM payouts WHERE payout_id = ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, reference);
  auto row = stmt->step();
  if (!row.is_ok()) return row.status();
  if (!row.value()) return std::optional<PayoutOwner>();
  auto currency = parse_currency(stmt->column_view(2));
  if (!currency) return Status(StatusCode::corrupt, "a payout row has an unknown currency");
  return std::optional<PayoutOwner>(PayoutOwner{stmt->column_text(0),
                                                Money{stmt->column_int64(1), *currency},
                                                parse_payout_status(stmt->column_view(3))});
}

Result<Handled> handle_transfer(Services& services, const paystack::WebhookEvent& event,
                                const CommandContext& context) {
  auto owner = payout_owner(services, event.reference);
  if (!owner.is_ok()) return owner.status();
  if (!owner.value()) return ignored("no payout has this reference");
  auto transfer = services.paystack.verify_transfer(event.reference);
  if (!transfer.is_ok()) return paystack_failure(transfer.error());
  const paystack::Transfer& t = transfer.value();
  if (t.amount != owner.value()->amount) {
    return ignored("Paystack's transfer amount differs from the payout's; not applied");
  }
  if (owner.value()->status == PayoutStatus::failed &&
      payout_status_of(t.status) == PayoutStatus::success) {
    // The ledger gave the money back to the provider's available balance: it may be paid twice.
    logging::error(
        "Paystack paid a payout recorded failed; its money is also back in the provider's "
        "available balance: an operator must act",
        {{"payout_id", event.reference},
         {"provider_id", owner.value()->provider_id},
         {"transfer_code", t.transfer_code}});
    return ignored(
        "Paystack says this transfer succeeded but the payout is recorded failed: its money is "
        "back in the provider's available balance; an operator must act");
  }
  RecordPayoutOutcome command;
  command.payout_id = event.reference;
  command.status = payout_status_of(t.status);
  command.transfer_code = t.transfer_code;
  command.paystack_transfer_id = t.id;
  command.reason = t.gateway_response.empty()
                       ? "transfer " + t.status_text
                       : "transfer " + t.status_text + ": " + t.gateway_response;
  CommandResult result = services.shell.execute(owner.value()->provider_id, command, context);
  if (!result.ok()) return refusal(result, {});
  return processed(&result);
}

// ---- refund.* --------------------------------------------------------------------------------

bool refund_final(RefundStatus status) {
  return status == RefundStatus::processed || status == RefundStatus::failed;
}

// Refund webhooks name only the transaction and an amount, not which of our refunds they are
// about (a retried refund has the same transaction and amount as the one that failed), so one is
// only a prompt: every open refund of that transaction is looked up at Paystack as the outbox
// does it, and what Paystack lists for that very refund is recorded. An old `refund.failed`
// processed again thus never fails the retry that Paystack still has open.
Result<Handled> handle_refund(Services& services, const paystack::WebhookEvent& event,
                              const CommandContext& context) {
  if (event.reference.empty()) return ignored("the refund names no transaction");
  auto booking_id = booking_of_reference(services, event.reference);
  if (!booking_id.is_ok()) return booking_id.status();
  if (!booking_id.value()) return ignored("no booking has this transaction reference");
  auto state = services.shell.load_booking(*booking_id.value());
  if (!state.is_ok()) return state.status();
  std::vector<RefundRecord> open;
  bool any = false;
  for (const RefundRecord& r : state.value().refunds) {
    if (r.payment_reference != event.reference) continue;
    any = true;
    if (!refund_final(r.status)) open.push_back(r);
  }
  if (!any) return ignored("no refund of this transaction");
  if (open.empty()) return processed();  // every refund of it is settled already
  Handled handled = ignored("Paystack lists none of the open refunds of this transaction yet");
  for (const RefundRecord& r : open) {
    auto checked =
        check_refund_at_paystack(services.shell, services.paystack, *booking_id.value(), r,
                                 context);
    if (!checked.is_ok()) return checked.status();
    if (checked->unanswered) return paystack_failure(*checked->unanswered);
    if (!checked->listed) continue;
    bool queued_money = handled.queued_money;
    handled = processed(&checked->recorded);
    handled.queued_money = handled.queued_money || queued_money;
  }
  return handled;
}

// ---- charge.dispute.* ------------------------------------------------------------------------

Result<Handled> handle_dispute_create(Services& services, const paystack::WebhookEvent& event,
                                      const CommandContext& context) {
  if (event.reference.empty()) return ignored("the dispute names no transaction");
  auto booking_id = booking_of_reference(services, event.reference);
  if (!booking_id.is_ok()) return booking_id.status();
  if (!booking_id.value()) return ignored("no booking has this transaction reference");
  OpenDispute command;
  command.reason = "chargeback";
  command.description = "Paystack chargeback on transaction " + event.reference;
  if (event.dispute_id)
    command.description += " (dispute " + std::to_string(*event.dispute_id) + ")";
  command.source = "chargeback";
  command.paystack_dispute_id = event.dispute_id;
  CommandResult result = services.shell.execute(*booking_id.value(), command, context);
  if (!result.ok()) return refusal(result, {Rejection::dispute_open});
  return processed(&result);
}

Result<Handled> handle(Services& services, const paystack::WebhookEvent& event,
                       const CommandContext& context) {
  switch (event.kind) {
    case WebhookKind::charge_success:
      return handle_charge(services, event, context);
    case WebhookKind::transfer_success:
    case WebhookKind::transfer_failed:
    case WebhookKind::transfer_reversed:
      return handle_transfer(services, event, context);
    case WebhookKind::refund_pending:
    case WebhookKind::refund_processing:
    case WebhookKind::refund_processed:
    case WebhookKind::refund_failed:
    case WebhookKind::refund_needs_attention:
      return handle_refund(services, event, context);
    case WebhookKind::dispute_create:
      return handle_dispute_create(services, event, context);
    case WebhookKind::dispute_remind:
    case WebhookKind::dispute_resolve:
      return ignored("a chargeback's reminders and resolution are for an admin to act on");
    case WebhookKind::unknown:
      break;
  }
  return ignored("event " + event.event + " is not one the ledger acts on");
}

}  // namespace

// ---- WebhookProcessor ------------------------------------------------------------------------

WebhookProcessor::WebhookProcessor(Services& services, int64_t retry_interval_ms)
    : services_(services), retry_interval_ms_(retry_interval_ms) {}

WebhookProcessor::~WebhookProcessor() {
  stop();
}

void WebhookProcessor::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void WebhookProcessor::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
}

bool WebhookProcessor::enqueue(int64_t delivery_id) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= queue_max) return false;
    queue_.push_back(delivery_id);
  }
  cv_.notify_one();
  return true;
}

void WebhookProcessor::loop() {
  using Clock = std::chrono::steady_clock;
  auto next_retry = Clock::now() + std::chrono::milliseconds(retry_interval_ms_);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    cv_.wait_until(lock, next_retry, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) break;
    if (!queue_.empty()) {
      int64_t id = queue_.front();
      queue_.pop_front();
      lock.unlock();
      (void)process(id);  // a failure is recorded and retried by the retry pass
      lock.lock();
      continue;
    }
    lock.unlock();
    bool more = false;
    Status retried = retry_due(&more);
    if (!retried.is_ok()) {
      logging::error("webhook retry pass failed", {{"error", retried.to_string()}});
    }
    lock.lock();
    // A full batch processed without a failure: more may be due (a backlog after a burst or an
    // outage), so go on at once instead of taking 50 every interval.
    next_retry = more ? Clock::now()
                      : Clock::now() + std::chrono::milliseconds(retry_interval_ms_);
  }
}

Status WebhookProcessor::retry_due() { return retry_due(nullptr); }

Status WebhookProcessor::retry_due(bool* full_batch_done) {
  if (full_batch_done) *full_batch_done = false;
  std::vector<int64_t> due;
  {
    auto lease = services_.reads.lease();
    if (!lease.is_ok()) return lease.status();
    auto found = projections::WebhookLog::due_for_retry(lease.value().db(),
                                                        services_.clock.now_ms(), retry_batch_max);
    if (!found.is_ok()) return found.status();
    due = std::move(found).value();
  }
  size_t done = 0;
  for (int64_t id : due) {
    if (retry_pass_interrupted()) break;
    Status status = process(id);
    if (status.code() == StatusCode::store_failed) return status;
    // Paystack is most likely still unreachable: leave the rest to the next pass rather than
    // hold fresh deliveries behind a row of timeouts. Each failed delivery keeps its backoff.
    if (!status.is_ok()) break;
    ++done;
  }
  if (full_batch_done) {
    *full_batch_done = due.size() == static_cast<size_t>(retry_batch_max) && done == due.size();
  }
  return Status::ok();
}

bool WebhookProcessor::retry_pass_interrupted() {
  std::lock_guard lock(mutex_);
  return stopping_ || !queue_.empty();
}

Status WebhookProcessor::process(int64_t delivery_id) {
  std::lock_guard serial(process_mutex_);
  std::string payload;
  {
    auto lease = services_.reads.lease();
    if (!lease.is_ok()) return lease.status();
    auto row = projections::WebhookLog::find(lease.value().db(), delivery_id);
    if (!row.is_ok()) return row.status();
    if (!row.value()) {
      return Status(StatusCode::not_found, "no webhook delivery " + std::to_string(delivery_id));
    }
    payload = std::move(row.value()->payload);
  }
  paystack::WebhookResult parsed = paystack::parse_webhook(payload);
  Result<Handled> handled = parsed.is_ok()
                                ? handle(services_, parsed.value(), system_context(delivery_id))
                                : Result<Handled>(ignored("malformed: " + parsed.error().message));
  Handled outcome = handled.is_ok()
                        ? handled.value()
                        : Handled{WebhookOutcome::failed, handled.status().to_string(), false};
  Status recorded = services_.webhooks.record_outcome(delivery_id, outcome.outcome, outcome.detail,
                                                      webhook_meta(delivery_id));
  services_.metrics.count_webhook(projections::webhook_outcome_name(outcome.outcome));
  if (outcome.queued_money) services_.outbox.wake();
  if (!recorded.is_ok()) return recorded;
  if (!handled.is_ok()) {
    logging::warn("webhook processing failed",
                  {{"delivery_id", delivery_id}, {"error", handled.status().to_string()}});
    return handled.status();
  }
  return Status::ok();
}

// ---- routes ----------------------------------------------------------------------------------

namespace {

constexpr int64_t list_limit_default = 50;
constexpr int64_t list_limit_max = 200;
constexpr int64_t list_page_max = 1'000'000;

// Paystack's addresses as configured; an IPv4 peer may reach a dual-stack socket as ::ffff:a.b.c.d.
bool source_allowed(const Config& config, std::string_view address) {
  if (config.paystack_ips.empty()) return true;
  constexpr std::string_view mapped = "::ffff:";
  if (address.substr(0, mapped.size()) == mapped) address.remove_prefix(mapped.size());
  return std::find(config.paystack_ips.begin(), config.paystack_ips.end(), address) !=
         config.paystack_ips.end();
}

// "******7890": only the last four characters of an account number are kept (all are masked
// when it has no more than four).
std::string masked_account_number(std::string_view number) {
  size_t kept = number.size() > 4 ? 4 : 0;
  return std::string(number.size() - kept, '*') + std::string(number.substr(number.size() - kept));
}

// Masks every string member named `account_number` in `value`, at any depth; true if one was.
bool mask_account_numbers(rapidjson::Value& value, rapidjson::Document::AllocatorType& allocator) {
  bool masked = false;
  if (value.IsObject()) {
    for (auto& member : value.GetObject()) {
      if (member.value.IsString() &&
          std::string_view(member.name.GetString(), member.name.GetStringLength()) ==
              "account_number") {
        std::string mask = masked_account_number(
            std::string_view(member.value.GetString(), member.value.GetStringLength()));
        member.value.SetString(mask.data(), static_cast<rapidjson::SizeType>(mask.size()),
                               allocator);
        masked = true;
      } else {
        masked = mask_account_numbers(member.value, allocator) || masked;
      }
    }
  } else if (value.IsArray()) {
    for (auto& item : value.GetArray()) masked = mask_account_numbers(item, allocator) || masked;
  }
  return masked;
}

// What is stored of a verified body: the body with its account numbers masked (re-serialised
// only then; a body without one is stored byte for byte).
std::string stored_payload(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !mask_account_numbers(doc, doc.GetAllocator())) return body;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

HttpResponse receive(Services& services, WebhookProcessor& processor, const HttpRequest& request) {
  if (!source_allowed(services.config, request.remote_address)) {
    return error_response(403, "forbidden_source", "This address may not deliver webhooks.");
  }
  if (request.body.size() > paystack::webhook_body_bytes_max) {
    return error_response(413, "body_too_large", "A webhook body may be at most 1 MiB.");
  }
  std::string_view signature = request.headers.get("x-paystack-signature").value_or("");
  paystack::WebhookResult parsed =
      paystack::verify_and_parse(services.config.paystack_secret_key, request.body, signature);
  if (!parsed.is_ok()) {
    if (parsed.error().kind == paystack::WebhookErrorKind::malformed) {
      return error_response(400, "invalid_payload", parsed.error().message);
    }
    return error_response(401, "invalid_signature",
                          "The x-paystack-signature header is missing or wrong.");
  }
  const paystack::WebhookEvent& event = parsed.value();
  EventMeta meta;
  meta.actor_id = "paystack";
  meta.actor_role = role_name(Role::system);
  if (std::string id = request_id_of(request); !id.empty()) meta.request_id = id;
  // The dedupe key comes from the event as signed; the stored payload has its account numbers
  // masked, so it no longer matches the signature.
  auto recorded = services.webhooks.record(
      projections::WebhookDelivery{event.event, event.dedupe_key, event.reference,
                                   stored_payload(request.body), request.remote_address},
      meta);
  if (!recorded.is_ok()) return internal_error(recorded.status());
  if (!recorded->duplicate && !processor.enqueue(recorded->id)) {
    logging::warn("webhook queue full; the retry pass will process it",
                  {{"delivery_id", recorded->id}});
  }
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_field(w, "status", "accepted");
  write_field(w, "delivery_id", recorded->id);
  write_key(w, "duplicate");
  w.Bool(recorded->duplicate);
  w.EndObject();
  return json_response(200, buffer.GetString());
}

void write_delivery(JsonWriter& w, const projections::DeliveryRow& row) {
  w.StartObject();
  write_field(w, "id", row.id);
  write_field(w, "event", row.event);
  write_field(w, "reference", row.reference);
  write_field(w, "status", row.status);
  write_field(w, "attempts", static_cast<int64_t>(row.attempts));
  write_optional(
      w, "last_error",
      row.last_error.empty() ? std::nullopt : std::optional<std::string>(row.last_error));
  write_time(w, "received_at", row.received_at_ms);
  write_time(w, "updated_at", row.updated_at_ms);
  write_key(w, "payload");
  rapidjson::Document doc;
  doc.Parse(row.payload.data(), row.payload.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    w.RawValue(row.payload.data(), row.payload.size(), rapidjson::kObjectType);
  } else {
    write_string(w, row.payload);  // stored raw; only signed bodies are accepted, so rare
  }
  w.EndObject();
}

HttpResponse delivery_response(const projections::DeliveryRow& row) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  write_delivery(w, row);
  return json_response(200, buffer.GetString());
}

HttpResult<int64_t> delivery_id_param(const RouteParams& params) {
  const std::string& text = params.get("id");
  int64_t id = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size() || id < 1) {
    return error_response(404, "not_found", "No webhook delivery has this id.");
  }
  return id;
}

HttpResult<projections::DeliveryRow> load_delivery(Services& services, int64_t id) {
  auto lease = services.reads.lease();
  if (!lease.is_ok()) return internal_error(lease.status());
  auto row = projections::WebhookLog::find(lease.value().db(), id);
  if (!row.is_ok()) return internal_error(row.status());
  if (!row.value()) return error_response(404, "not_found", "No webhook delivery has this id.");
  return std::move(*row.value());
}

HttpResponse get_delivery(Services& services, const HttpRequest& request,
                          const RouteParams& params) {
  auto who = require(services, request, {Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto id = delivery_id_param(params);
  if (!id.is_ok()) return id.error();
  auto row = load_delivery(services, id.value());
  if (!row.is_ok()) return row.error();
  return delivery_response(row.value());
}

HttpResponse retry_delivery(Services& services, WebhookProcessor& processor,
                            const HttpRequest& request, const RouteParams& params) {
  auto who = require(services, request, {Role::admin});
  if (!who.is_ok()) return who.error();
  auto id = delivery_id_param(params);
  if (!id.is_ok()) return id.error();
  auto before = load_delivery(services, id.value());
  if (!before.is_ok()) return before.error();
  // A processing failure is recorded on the delivery; the answer shows it.
  Status status = processor.process(id.value());
  if (status.code() == StatusCode::store_failed) return internal_error(status);
  auto after = load_delivery(services, id.value());
  if (!after.is_ok()) return after.error();
  return delivery_response(after.value());
}

}  // namespace

namespace {

// A query parameter as an integer in [min, max], or 400 naming it.
HttpResult<std::optional<int64_t>> int_param(const Query& query, const char* name, int64_t min,
                                             int64_t max) {
  auto text = query.get(name);
  if (!text) return std::optional<int64_t>();
  int64_t value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    return error_response(400, "invalid_query",
                          std::string(name) + " must be an integer from " + std::to_string(min) +
                              " to " + std::to_string(max) + ".");
  }
  return std::optional<int64_t>(value);
}

HttpResult<std::optional<int64_t>> time_param(const Query& query, const char* name) {
  auto text = query.get(name);
  if (!text) return std::optional<int64_t>();
  auto ms = parse_iso8601_ms(*text);
  if (!ms) {
    return error_response(400, "invalid_query",
                          std::string(name) + " must be an ISO 8601 time or date.");
  }
  return std::optional<int64_t>(*ms);
}

std::optional<std::string> text_param(const Query& query, const char* name) {
  auto text = query.get(name);
  if (!text || text->empty()) return std::nullopt;
  return std::string(*text);
}

// page (1-based), limit, event, processed (a status), reference, from, to.
HttpResult<projections::DeliveryFilter> delivery_filter(const Query& query, int64_t& page) {
  projections::DeliveryFilter filter;
  auto page_number = int_param(query, "page", 1, list_page_max);
  if (!page_number.is_ok()) return page_number.error();
  auto limit = int_param(query, "limit", 1, list_limit_max);
  if (!limit.is_ok()) return limit.error();
  auto from = time_param(query, "from");
  if (!from.is_ok()) return from.error();
  auto to = time_param(query, "to");
  if (!to.is_ok()) return to.error();
  page = page_number.value().value_or(1);
  filter.limit = limit.value().value_or(list_limit_default);
  filter.offset = (page - 1) * filter.limit;
  filter.from_ms = from.value();
  filter.to_ms = to.value();
  filter.event = text_param(query, "event");
  filter.reference = text_param(query, "reference");
  filter.status = text_param(query, "processed");
  if (filter.status && *filter.status != "processed" && *filter.status != "failed" &&
      *filter.status != "ignored" && *filter.status != "received") {
    return error_response(400, "invalid_query",
                          "processed must be one of processed, failed, ignored, received.");
  }
  return filter;
}

HttpResponse list_deliveries(Services& services, const HttpRequest& request) {
  auto who = require(services, request, {Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  int64_t page = 1;
  auto filter = delivery_filter(query.value(), page);
  if (!filter.is_ok()) return filter.error();
  auto lease = services.reads.lease();
  if (!lease.is_ok()) return internal_error(lease.status());
  auto found = projections::WebhookLog::list(lease.value().db(), filter.value());
  if (!found.is_ok()) return internal_error(found.status());
  const projections::DeliveryPage& result = found.value();
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "data");
  w.StartArray();
  for (const auto& row : result.rows) write_delivery(w, row);
  w.EndArray();
  write_field(w, "page", page);
  write_field(w, "limit", filter.value().limit);
  write_field(w, "total", result.total);
  write_key(w, "counts");
  w.StartObject();
  for (const auto& [status, count] : result.counts_by_status) write_field(w, status, count);
  w.EndObject();
  w.EndObject();
  return json_response(200, buffer.GetString());
}

}  // namespace

void add_webhook_routes(Router& router, Services& services, WebhookProcessor& processor) {
  router.add("POST", "/webhooks/paystack",
             [&services, &processor](const HttpRequest& request, const RouteParams&) {
               return receive(services, processor, request);
             });
  router.add("GET", "/admin/webhook-events",
             [&services](const HttpRequest& request, const RouteParams&) {
               return list_deliveries(services, request);
             });
  router.add("GET", "/admin/webhook-events/:id",
             [&services](const HttpRequest& request, const RouteParams& params) {
               return get_delivery(services, request, params);
             });
  router.add("POST", "/admin/webhook-events/:id/retry",
             [&services, &processor](const HttpRequest& request, const RouteParams& params) {
               return retry_delivery(services, processor, request, params);
             });
}

}  // namespace escrow::api
