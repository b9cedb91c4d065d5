// Paystack webhook processing and retries; see webhooks.h.
#include "service/webhooks.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string_view>
#include <vector>

#include "ledger/store/read_pool.h"
#include "ledger/time_format.h"
#include "paystack/client.h"
#include "paystack/webhook.h"
#include "projections/webhook_log.h"
#include "service/chargebacks.h"
#include "service/log.h"
#include "service/outbox.h"
#include "service/payments.h"

namespace escrow::service {
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
  meta.actor_role = Role::system;
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

Result<Handled> handle_charge(const Context& ctx, const paystack::WebhookEvent& event,
                              const CommandContext& context) {
  if (event.reference.empty()) return ignored("the charge names no reference");
  auto tx = ctx.paystack.verify_transaction(event.reference);
  if (!tx.is_ok()) {
    if (tx.error().kind == paystack::ErrorKind::not_found) {
      auto booking = booking_of_reference(ctx, event.reference);
      if (!booking.is_ok()) return booking.status();
      if (!booking.value()) return ignored("no booking has this reference");
    }
    return paystack_failure(tx.error());
  }
  // Verify contradicts the webhook with `abandoned`, which Paystack also says of a checkout the
  // customer has not finished (FACTS section 3): nothing is recorded, as for a charge still
  // settling (settle_transaction's in_progress below). The delivery is retried with its
  // backoff, and the pending-payment scheduler fails the payment only once the checkout is a day
  // old, as /payments/verify does.
  if (tx->status == paystack::TransactionStatus::abandoned) {
    return Status(StatusCode::io_error,
                  "verify says abandoned, the webhook success: checked again later");
  }
  // A reference no checkout of ours recorded is never adopted from its metadata here: anyone
  // with the public key can open a checkout naming any booking.
  auto settled = settle_transaction(ctx, tx.value(), "webhook", context, MetadataFallback::refused);
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
Result<std::optional<PayoutOwner>> payout_owner(const Context& ctx, std::string_view reference) {
  auto row = ctx.queries.payout(reference);
  if (!row.is_ok()) return row.status();
  if (!row.value()) return std::optional<PayoutOwner>();
  const projections::PayoutRow& p = *row.value();
  return std::optional<PayoutOwner>(
      PayoutOwner{p.provider_id, p.amount, parse_payout_status(p.status)});
}

Result<Handled> handle_transfer(const Context& ctx, const paystack::WebhookEvent& event,
                                const CommandContext& context) {
  auto owner = payout_owner(ctx, event.reference);
  if (!owner.is_ok()) return owner.status();
  if (!owner.value()) return ignored("no payout has this reference");
  auto transfer = ctx.paystack.verify_transfer(event.reference);
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
  CommandResult result = ctx.shell.execute(owner.value()->provider_id, command, context);
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
Result<Handled> handle_refund(const Context& ctx, const paystack::WebhookEvent& event,
                              const CommandContext& context) {
  if (event.reference.empty()) return ignored("the refund names no transaction");
  auto booking_id = booking_of_reference(ctx, event.reference);
  if (!booking_id.is_ok()) return booking_id.status();
  if (!booking_id.value()) return ignored("no booking has this transaction reference");
  auto state = ctx.shell.load_booking(*booking_id.value());
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
        check_refund_at_paystack(ctx.shell, ctx.paystack, *booking_id.value(), r, context);
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

// Create, remind and resolve alike: the dispute as Paystack has it now is recorded (rule 6b).
Result<Handled> handle_dispute(const Context& ctx, const paystack::WebhookEvent& event,
                               const CommandContext& context) {
  if (!event.dispute_id) return ignored("the dispute has no id");
  auto synced = sync_chargeback(ctx, *event.dispute_id, context);
  if (!synced.is_ok()) return synced.status();
  const ChargebackSync& s = synced.value();
  if (s.unanswered) return paystack_failure(*s.unanswered);
  if (s.unknown_at_paystack) return ignored("Paystack has no such dispute");
  if (!s.recorded.status.is_ok() && !s.booking_id)
    return ignored("the dispute cannot be recorded: " + s.recorded.status.message());
  if (!s.booking_id) return ignored("no booking has this transaction reference");
  if (!s.recorded.ok()) return refusal(s.recorded, {});
  return processed(&s.recorded);
}

Result<Handled> handle(const Context& ctx, const paystack::WebhookEvent& event,
                       const CommandContext& context) {
  switch (event.kind) {
    case WebhookKind::charge_success:
      return handle_charge(ctx, event, context);
    case WebhookKind::transfer_success:
    case WebhookKind::transfer_failed:
    case WebhookKind::transfer_reversed:
      return handle_transfer(ctx, event, context);
    case WebhookKind::refund_pending:
    case WebhookKind::refund_processing:
    case WebhookKind::refund_processed:
    case WebhookKind::refund_failed:
    case WebhookKind::refund_needs_attention:
      return handle_refund(ctx, event, context);
    case WebhookKind::dispute_create:
    case WebhookKind::dispute_remind:
    case WebhookKind::dispute_resolve:
      return handle_dispute(ctx, event, context);
    case WebhookKind::unknown:
      break;
  }
  return ignored("event " + event.event + " is not one the ledger acts on");
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

}  // namespace

// ---- WebhookProcessor ------------------------------------------------------------------------

WebhookProcessor::WebhookProcessor(const Context& context, projections::WebhookLog& log,
                                   Options options)
    : context_(context),
      log_(log),
      options_(std::move(options)),
      worker_(Worker::Options{"webhooks", std::clamp(options_.lanes, 1, Worker::threads_max)},
              [this] { return pass(); }) {}

WebhookProcessor::~WebhookProcessor() {
  stop();
}

void WebhookProcessor::start() {
  {
    std::lock_guard lock(mutex_);
    next_retry_ =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.retry_interval_ms);
  }
  worker_.start();
}

void WebhookProcessor::stop() {
  worker_.stop();
}

bool WebhookProcessor::enqueue(int64_t delivery_id, std::string_view reference) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= queue_max) return false;
    queue_.push_back(Queued{delivery_id, std::string(reference)});
  }
  worker_.wake();
  return true;
}

Status WebhookProcessor::run_once() {
  for (;;) {
    std::optional<int64_t> queued;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) break;
      queued = queue_.front().delivery_id;
      queue_.pop_front();
    }
    (void)process(*queued);  // a failure is recorded and retried by the retry pass
  }
  return retry_due();
}

std::optional<WebhookProcessor::Queued> WebhookProcessor::take_runnable() {
  // Deliveries behind a running one of the same reference wait; looking further than this for
  // one that may run is not worth its cost (a burst about one reference waits its turn).
  constexpr size_t scan_max = 256;
  size_t scanned = 0;
  for (auto it = queue_.begin(); it != queue_.end() && scanned < scan_max; ++it, ++scanned) {
    if (!it->reference.empty() && running_.contains(it->reference)) continue;
    Queued taken = std::move(*it);
    queue_.erase(it);
    if (!taken.reference.empty()) running_.insert(taken.reference);
    return taken;
  }
  return std::nullopt;
}

int64_t WebhookProcessor::pass() {
  using Steady = std::chrono::steady_clock;
  std::optional<Queued> queued;
  Steady::time_point next_retry;
  bool retry_here = false;
  {
    std::lock_guard lock(mutex_);
    queued = take_runnable();
    next_retry = next_retry_;
    if (!queued && !retry_running_ && Steady::now() >= next_retry) {
      retry_running_ = true;
      retry_here = true;
    }
  }
  if (queued) {
    (void)process(queued->delivery_id);  // a failure is recorded and retried by the retry pass
    {
      std::lock_guard lock(mutex_);
      if (!queued->reference.empty()) running_.erase(queued->reference);
    }
    worker_.wake();  // a delivery waiting behind this one may run now
    return 0;
  }
  if (!retry_here) {
    // Another thread runs the retry pass, or it is not due: sleep until it is (an enqueue or a
    // finished delivery wakes every thread).
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_retry - Steady::now());
    return wait.count() > 0 ? wait.count() + 1 : options_.retry_interval_ms;
  }
  bool more = false;
  Status retried = retry_due(&more);
  if (!retried.is_ok()) {
    logging::error("webhook retry pass failed", {{"error", retried.to_string()}});
  }
  // A full batch processed without a failure: more may be due (a backlog after a burst or an
  // outage), so go on at once instead of taking 50 every interval.
  std::lock_guard lock(mutex_);
  retry_running_ = false;
  next_retry_ =
      more ? Steady::now() : Steady::now() + std::chrono::milliseconds(options_.retry_interval_ms);
  return more ? 0 : options_.retry_interval_ms;
}

Status WebhookProcessor::retry_due() {
  return retry_due(nullptr);
}

Status WebhookProcessor::retry_due(bool* full_batch_done) {
  if (full_batch_done) *full_batch_done = false;
  auto found = context_.queries.deliveries_due_for_retry(context_.clock.now_ms(), retry_batch_max);
  if (!found.is_ok()) return found.status();
  const std::vector<int64_t>& due = found.value();
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
  if (worker_.stopping()) return true;
  std::lock_guard lock(mutex_);
  return !queue_.empty();
}

Status WebhookProcessor::process(int64_t delivery_id) {
  {
    std::unique_lock lock(mutex_);
    processed_.wait(lock, [&] { return !processing_.contains(delivery_id); });
    processing_.insert(delivery_id);
  }
  struct Done {
    WebhookProcessor& self;
    int64_t id;
    ~Done() {
      {
        std::lock_guard lock(self.mutex_);
        self.processing_.erase(id);
      }
      self.processed_.notify_all();
    }
  } done{*this, delivery_id};
  auto row = context_.queries.delivery(delivery_id);
  if (!row.is_ok()) return row.status();
  if (!row.value()) {
    return Status(StatusCode::not_found, "no webhook delivery " + std::to_string(delivery_id));
  }
  std::string payload = std::move(row.value()->payload);
  paystack::WebhookResult parsed = paystack::parse_webhook(payload);
  Result<Handled> handled = parsed.is_ok()
                                ? handle(context_, parsed.value(), system_context(delivery_id))
                                : Result<Handled>(ignored("malformed: " + parsed.error().message));
  Handled outcome = handled.is_ok()
                        ? handled.value()
                        : Handled{WebhookOutcome::failed, handled.status().to_string(), false};
  Status recorded =
      log_.record_outcome(delivery_id, outcome.outcome, outcome.detail, webhook_meta(delivery_id));
  if (options_.on_outcome) options_.on_outcome(projections::webhook_outcome_name(outcome.outcome));
  if (outcome.queued_money && options_.money_queued) options_.money_queued();
  if (!recorded.is_ok()) return recorded;
  if (!handled.is_ok()) {
    logging::warn("webhook processing failed",
                  {{"delivery_id", delivery_id}, {"error", handled.status().to_string()}});
    return handled.status();
  }
  return Status::ok();
}

Result<Reception> receive_webhook(projections::WebhookLog& log, WebhookProcessor& processor,
                                  std::string_view secret_key, const std::string& body,
                                  std::string_view signature, const EventMeta& meta,
                                  std::string_view remote_address) {
  std::promise<Result<Reception>> promise;
  std::future<Result<Reception>> received = promise.get_future();
  receive_webhook(log, processor, secret_key, body, signature, meta, remote_address,
                  [&promise](Result<Reception> r) { promise.set_value(std::move(r)); });
  return received.get();
}

void receive_webhook(projections::WebhookLog& log, WebhookProcessor& processor,
                     std::string_view secret_key, const std::string& body,
                     std::string_view signature, const EventMeta& meta,
                     std::string_view remote_address, std::function<void(Result<Reception>)> done) {
  paystack::WebhookResult parsed = paystack::verify_and_parse(secret_key, body, signature);
  if (!parsed.is_ok()) return done(Reception{parsed.error(), {}});
  const paystack::WebhookEvent& event = parsed.value();
  // The dedupe key comes from the event as signed; the stored payload has its account numbers
  // masked, so it no longer matches the signature.
  log.record(projections::WebhookDelivery{event.event, event.dedupe_key, event.reference,
                                          stored_payload(body), std::string(remote_address)},
             meta,
             [&processor, reference = event.reference,
              done = std::move(done)](Result<projections::DeliveryRecord> recorded) {
               if (!recorded.is_ok()) return done(recorded.status());
               if (!recorded->duplicate && !processor.enqueue(recorded->id, reference)) {
                 logging::warn("webhook queue full; the retry pass will process it",
                               {{"delivery_id", recorded->id}});
               }
               done(Reception{std::nullopt, recorded.value()});
             });
}

}  // namespace escrow::service
