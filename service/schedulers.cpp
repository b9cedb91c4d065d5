#include "service/schedulers.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "service/log.h"

namespace escrow::service {

namespace {

CommandContext scheduler_context() {
  return CommandContext{
      Actor{"scheduler", Role::system}, std::nullopt, std::nullopt, std::nullopt, {}};
}

// A payout or a refund the outbox should send now.
bool queued_payout(const CommandResult& result) {
  for (const Event& e : result.states.events) {
    if (std::holds_alternative<PayoutRequested>(e) || std::holds_alternative<RefundRequested>(e))
      return true;
  }
  return false;
}

}  // namespace

Schedulers::Schedulers(SchedulerDeps deps, Options options)
    : deps_(std::move(deps)),
      options_(options),
      worker_(Worker::Options{"schedulers", 1}, [this] { return pass(); }) {}

Schedulers::~Schedulers() {
  stop();
}

void Schedulers::start() {
  worker_.start();
}

void Schedulers::stop() {
  worker_.stop();
}

int64_t Schedulers::pass() {
  if (Status s = run_once(); !s.is_ok())
    logging::error("schedulers: pass failed", {{"error", s.to_string()}});
  return options_.interval_ms;
}

Status Schedulers::run_once() {
  std::lock_guard pass(pass_mutex_);
  Status confirmed = auto_confirm_due();
  Status expired = expire_due();
  Status checked = check_pending_payments();
  Status chargebacks = check_chargebacks();
  for (const Status& s : {confirmed, expired, checked}) {
    if (!s.is_ok()) return s;
  }
  return chargebacks;
}

// One sweep per chargeback_check_after_ms: Paystack's disputes listed (those never heard of are
// recorded), then every chargeback still unresolved fetched again.
Status Schedulers::check_chargebacks() {
  if (!deps_.sync_chargeback) return Status::ok();
  const int64_t now = deps_.clock.now_ms();
  {
    std::lock_guard lock(mutex_);
    if (chargebacks_swept_ms_ && now - *chargebacks_swept_ms_ < options_.chargeback_check_after_ms)
      return Status::ok();
    chargebacks_swept_ms_ = now;
  }
  bool wake = false;
  if (deps_.discover_chargebacks) {
    auto found =
        deps_.discover_chargebacks(now - options_.chargeback_lookback_ms, scheduler_context());
    if (!found.is_ok()) return found.status();
    if (found->unanswered) {
      logging::warn("schedulers: cannot list Paystack's disputes",
                    {{"error", found->unanswered->to_string()}});
    }
    for (const CommandResult& recorded : found->recorded) wake = wake || queued_payout(recorded);
  }
  auto open = deps_.queries.unresolved_chargebacks(chargebacks_max);
  if (!open.is_ok()) return open.status();
  for (int64_t dispute_id : open.value()) {
    auto synced = deps_.sync_chargeback(dispute_id, scheduler_context());
    if (!synced.is_ok()) return synced.status();
    if (synced->unanswered) {
      logging::warn(
          "schedulers: cannot fetch a chargeback",
          {{"dispute_id", std::to_string(dispute_id)}, {"error", synced->unanswered->to_string()}});
      continue;
    }
    const Status& recorded = synced->recorded.status;
    if (recorded.code() == StatusCode::invalid_argument) {  // Paystack's dispute lacks a field
      logging::warn("schedulers: chargeback not recorded",
                    {{"dispute_id", std::to_string(dispute_id)}, {"error", recorded.to_string()}});
      continue;
    }
    if (!recorded.is_ok()) return recorded;
    wake = wake || queued_payout(synced->recorded);
  }
  if (wake && deps_.payout_queued) deps_.payout_queued();
  return Status::ok();
}

Status Schedulers::auto_confirm_due() {
  auto due = deps_.queries.auto_confirm_due(deps_.clock.now_ms(), batch_max);
  if (!due.is_ok()) return due.status();
  bool wake = false;
  for (const std::string& booking_id : due.value()) {
    CommandResult result = deps_.shell.execute(booking_id, AutoConfirm{}, scheduler_context());
    if (!result.status.is_ok()) return result.status;
    if (result.rejection) {  // the booking moved on since it was read (a dispute, an approval)
      logging::info("schedulers: auto-confirm skipped",
                    {{"booking_id", booking_id}, {"code", rejection_code(*result.rejection)}});
      continue;
    }
    wake = wake || queued_payout(result);
  }
  if (wake && deps_.payout_queued) deps_.payout_queued();
  return Status::ok();
}

Status Schedulers::expire_due() {
  auto due = deps_.queries.expiry_due(deps_.clock.now_ms(), batch_max);
  if (!due.is_ok()) return due.status();
  bool wake = false;
  for (const std::string& booking_id : due.value()) {
    // A checkout paid in time whose webhook has not come yet is asked about first: such a
    // payment is held (or refunded, if Paystack says it was paid after pay_by), never lost to
    // the expiry. When Paystack cannot say, the booking waits for the next pass.
    auto state = deps_.shell.load_booking(booking_id);
    if (!state.is_ok()) return state.status();
    bool unsure = false;
    for (const ChargeRecord& charge : state->charges) {
      if (charge.status != ChargeStatus::pending) continue;
      auto tx = deps_.paystack.verify_transaction(charge.reference);
      if (!tx.is_ok()) {
        unsure = unsure || tx.error().kind != paystack::ErrorKind::not_found;
        continue;
      }
      if (tx->status != paystack::TransactionStatus::success) continue;
      auto settled = deps_.settle(tx.value(), scheduler_context());
      if (!settled.is_ok()) return settled.status();
      wake = wake || queued_payout(settled->result);
    }
    if (unsure) {
      logging::warn("schedulers: expiry waits for Paystack", {{"booking_id", booking_id}});
      continue;
    }
    CommandResult result = deps_.shell.execute(booking_id, ExpireBooking{}, scheduler_context());
    if (!result.status.is_ok()) return result.status;
    if (result.rejection) {  // paid meanwhile: the booking goes on
      logging::info("schedulers: expiry skipped",
                    {{"booking_id", booking_id}, {"code", rejection_code(*result.rejection)}});
    }
  }
  if (wake && deps_.payout_queued) deps_.payout_queued();
  return Status::ok();
}

Status Schedulers::check_pending_payments() {
  const int64_t now = deps_.clock.now_ms();
  auto pending =
      deps_.queries.pending_payments(now - options_.pending_payment_check_after_ms, batch_max);
  if (!pending.is_ok()) return pending.status();
  {
    std::lock_guard lock(mutex_);
    std::erase_if(last_checked_ms_, [&](const auto& entry) {
      return now - entry.second >= options_.pending_payment_check_after_ms;
    });
  }
  for (const auto& [reference, created_at_ms] : pending.value()) {
    {
      std::lock_guard lock(mutex_);
      if (!last_checked_ms_.try_emplace(reference, now).second) continue;  // checked recently
    }
    if (Status s = check_payment(reference, created_at_ms); !s.is_ok()) return s;
  }
  return Status::ok();
}

Status Schedulers::check_payment(const std::string& reference, int64_t created_at_ms) {
  auto tx = deps_.paystack.verify_transaction(reference);
  if (!tx.is_ok()) {
    logging::warn("schedulers: cannot verify a payment",
                  {{"reference", reference}, {"error", tx.error().to_string()}});
    return Status::ok();  // checked again after pending_payment_check_after_ms
  }
  bool young = deps_.clock.now_ms() - created_at_ms < abandoned_after_ms;
  if (tx->status == paystack::TransactionStatus::abandoned && young) return Status::ok();
  auto settled = deps_.settle(tx.value(), scheduler_context());
  if (!settled.is_ok()) return settled.status();
  // A capture completes an approved booking's escrow and releases it (rule 4).
  if (queued_payout(settled->result) && deps_.payout_queued) deps_.payout_queued();
  if (settled->settlement == Settlement::refused && settled->result.rejection) {
    logging::info("schedulers: payment not settled",
                  {{"reference", reference}, {"code", rejection_code(*settled->result.rejection)}});
  }
  return Status::ok();
}

}  // namespace escrow::service
