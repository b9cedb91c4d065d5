#include "service/outbox.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "service/chargebacks.h"
#include "service/log.h"

namespace escrow::service {

namespace {

using paystack::ApiError;
using paystack::ErrorKind;

CommandContext outbox_context() {
  return CommandContext{
      Actor{"outbox", Role::system}, std::nullopt, std::nullopt, std::nullopt, {}};
}

std::string payout_key(std::string_view id) {
  return "payout:" + std::string(id);
}
std::string refund_key(std::string_view id) {
  return "refund:" + std::string(id);
}

// Paystack refused the request that creates a transfer or a refund (4xx): nothing was created,
// and sending it again as it is would be refused again. Anything else (5xx, timeout, 429, an
// unreadable answer, a key problem) leaves the outcome unknown or the fault on our side: the item
// waits and is looked up before a resend. Only the creating call's own answer is read so: an
// error of a lookup (a 404 from GET /transfer/verify included) never means "nothing was made".
bool refused(const ApiError& error) {
  return error.kind == ErrorKind::validation || error.kind == ErrorKind::insufficient_balance ||
         error.kind == ErrorKind::not_found;
}

// (first, second) text columns of `sql`, which takes the bound integers in order.
Status executed(const CommandResult& result, std::string_view what, std::string_view id) {
  if (!result.status.is_ok()) return result.status;
  if (result.rejection) {
    logging::error("outbox: recording an outcome was refused",
                   {{"what", what}, {"id", id}, {"code", rejection_code(*result.rejection)}});
  }
  return Status::ok();
}

std::string transfer_reason(const PayoutRecord& p) {
  if (p.booking_id) return "Escrow payout for booking " + *p.booking_id;
  if (p.withdrawal_id) return "Escrow withdrawal " + *p.withdrawal_id;
  return "Escrow payout " + p.payout_id;
}

std::string failure_reason(const paystack::Transfer& t) {
  if (!t.gateway_response.empty()) return t.gateway_response;
  return "transfer " + t.status_text;
}

// Records what Paystack says of payout `payout_id`'s transfer, against the payout as it is now
// (re-read: a webhook may have recorded news while the request was out). A transfer code that
// arrives with a final status is recorded first (PayoutSent), so the payout keeps it.
Status record_transfer(CommandShell& shell, const std::string& provider_id,
                       const std::string& payout_id, const paystack::Transfer& t,
                       const CommandContext& context) {
  auto state = shell.load_provider(provider_id);
  if (!state.is_ok()) return state.status();
  const PayoutRecord* found = state->find_payout(payout_id);
  if (found == nullptr) return Status(StatusCode::not_found, "no payout " + payout_id);
  const PayoutRecord& p = *found;
  PayoutStatus status = payout_status_of(t.status);
  std::optional<int64_t> transfer_id;
  if (t.id != 0) transfer_id = t.id;
  bool final_status = status != PayoutStatus::pending && status != PayoutStatus::otp;
  if (final_status && p.status == PayoutStatus::queued && !t.transfer_code.empty()) {
    RecordPayoutOutcome sent{p.payout_id, PayoutStatus::pending, t.transfer_code, transfer_id, ""};
    Status s = executed(shell.execute(provider_id, sent, context), "the transfer", p.payout_id);
    if (!s.is_ok()) return s;
  }
  std::string reason = status == PayoutStatus::failed || status == PayoutStatus::reversed
                           ? failure_reason(t)
                           : std::string();
  RecordPayoutOutcome outcome{p.payout_id, status, t.transfer_code, transfer_id, reason};
  return executed(shell.execute(provider_id, outcome, context), "the transfer", p.payout_id);
}

// Records what Paystack says of refund `r`; the command's result (nothing ran for a status we do
// not know) or a storage error.
Result<CommandResult> record_refund(CommandShell& shell, const std::string& booking_id,
                                    const RefundRecord& r, const paystack::Refund& refund,
                                    const CommandContext& context) {
  std::optional<RefundStatus> status = refund_status_of(refund.status);
  if (!status) {
    logging::warn("outbox: refund status unknown",
                  {{"refund_id", r.refund_id}, {"status", refund.status_text}});
    return CommandResult{};
  }
  std::string reason = *status == RefundStatus::failed ? "refund " + refund.status_text : "";
  RecordRefundOutcome outcome{r.refund_id, *status, refund.id, reason};
  CommandResult result = shell.execute(booking_id, outcome, context);
  if (Status s = executed(result, "the refund", r.refund_id); !s.is_ok()) return s;
  return result;
}

const RefundRecord* find_refund(const BookingState& state, std::string_view refund_id) {
  for (const RefundRecord& r : state.refunds) {
    if (r.refund_id == refund_id) return &r;
  }
  return nullptr;
}

std::string transaction_of(const RefundRecord& r) {
  return r.paystack_transaction_id != 0 ? std::to_string(r.paystack_transaction_id)
                                        : r.payment_reference;
}

// The refund Paystack already holds for `r`: by its Paystack id once known, else by our refund id
// in merchant_note and the amount.
paystack::ApiResult<std::optional<paystack::Refund>> lookup_refund(paystack::Client& client,
                                                                   const RefundRecord& r) {
  paystack::ListRefundsQuery query;
  query.transaction = transaction_of(r);
  query.per_page = 100;
  auto listed = client.list_refunds(query);
  if (!listed.is_ok()) return listed.error();
  for (const paystack::Refund& refund : listed->items) {
    if (r.paystack_transaction_id != 0 && refund.transaction_id &&
        *refund.transaction_id != r.paystack_transaction_id)
      continue;
    bool same = r.paystack_refund_id
                    ? refund.id == *r.paystack_refund_id
                    : refund.merchant_note == r.refund_id && refund.amount == r.amount;
    if (same) return std::optional<paystack::Refund>(refund);
  }
  return std::optional<paystack::Refund>();
}

// What sending a queued payout's transfer came to.
struct TransferAttempt {
  enum class Kind {
    answered,         // `transfer` is what Paystack holds under the reference (new or earlier)
    refused,          // the initiate itself was refused (`error`): nothing was created
    unknown,          // no answer, or the lookup failed (`error`): the transfer may exist
    reference_taken,  // Paystack holds the reference for another transfer (`transfer`)
  };
  Kind kind = Kind::unknown;
  paystack::Transfer transfer;
  ApiError error;
};

// initiate_transfer(); when Paystack says the reference is taken (an earlier attempt reached it
// before a crash or a timeout), the transfer it holds under it (verify_transfer()), accepted when
// its amount and recipient are the payout's. The two steps are taken here rather than through
// Client::initiate_or_lookup_transfer() so that a refusal of the initiate (the payout failed) is
// told apart from an error of the lookup (the transfer may well exist: the payout waits).
TransferAttempt send_transfer(paystack::Client& client,
                              const paystack::InitiateTransferRequest& request) {
  using Kind = TransferAttempt::Kind;
  auto sent = client.initiate_transfer(request);
  if (sent.is_ok()) return {Kind::answered, sent.value(), {}};
  if (sent.error().kind != ErrorKind::duplicate_transfer_reference)
    return {refused(sent.error()) ? Kind::refused : Kind::unknown, {}, sent.error()};
  auto existing = client.verify_transfer(request.reference);
  if (!existing.is_ok()) return {Kind::unknown, {}, existing.error()};
  bool same_recipient =
      existing->recipient_code.empty() || existing->recipient_code == request.recipient_code;
  if (existing->amount == request.amount && same_recipient)
    return {Kind::answered, existing.value(), {}};
  return {Kind::reference_taken, existing.value(), sent.error()};
}

}  // namespace

Result<RefundCheck> check_refund_at_paystack(CommandShell& shell, paystack::Client& client,
                                             const std::string& booking_id,
                                             const RefundRecord& refund,
                                             const CommandContext& context) {
  RefundCheck out;
  auto listed = lookup_refund(client, refund);
  if (!listed.is_ok()) {
    out.unanswered = listed.error();
    return out;
  }
  if (!listed.value()) return out;
  out.listed = true;
  auto recorded = record_refund(shell, booking_id, refund, **listed, context);
  if (!recorded.is_ok()) return recorded.status();
  out.recorded = std::move(recorded).value();
  return out;
}

PayoutStatus payout_status_of(paystack::TransferStatus status) {
  using T = paystack::TransferStatus;
  switch (status) {
    case T::otp:
      return PayoutStatus::otp;
    case T::success:
      return PayoutStatus::success;
    case T::failed:
    case T::abandoned:  // no OTP within 30 minutes
    case T::blocked:    // the approval URL did not answer
    case T::rejected:   // the approval URL said no
      return PayoutStatus::failed;
    case T::reversed:
      return PayoutStatus::reversed;
    case T::pending:
    case T::received:
    case T::unknown:  // not conclusive: keep waiting
      return PayoutStatus::pending;
  }
  return PayoutStatus::pending;
}

std::optional<RefundStatus> refund_status_of(paystack::RefundStatus status) {
  using R = paystack::RefundStatus;
  switch (status) {
    case R::pending:
      return RefundStatus::pending;
    case R::processing:
      return RefundStatus::processing;
    case R::processed:
      return RefundStatus::processed;
    case R::failed:
      return RefundStatus::failed;
    case R::needs_attention:
      return RefundStatus::needs_attention;
    case R::unknown:
      return std::nullopt;
  }
  return std::nullopt;
}

// An item this pass works on; other passes skip it while the claim lives.
class Outbox::Claim {
 public:
  Claim(Outbox& outbox, std::string key) : outbox_(outbox), key_(std::move(key)) {
    std::lock_guard lock(outbox_.mutex_);
    held_ = outbox_.claimed_.insert(key_).second;
  }
  ~Claim() {
    if (!held_) return;
    std::lock_guard lock(outbox_.mutex_);
    outbox_.claimed_.erase(key_);
  }
  Claim(const Claim&) = delete;
  Claim& operator=(const Claim&) = delete;
  bool held() const { return held_; }

 private:
  Outbox& outbox_;
  std::string key_;
  bool held_ = false;
};

Outbox::Outbox(Context context, Options options)
    : deps_(context),
      options_(options),
      worker_(Worker::Options{"outbox", std::clamp(options.workers, 1, Worker::threads_max)},
              [this] { return pass(); }) {}

Outbox::~Outbox() {
  stop();
}

void Outbox::start() {
  worker_.start();
}

void Outbox::stop() {
  worker_.stop();
}

void Outbox::wake() {
  worker_.wake();
}

int64_t Outbox::pass() {
  if (Status s = run_once(); !s.is_ok())
    logging::error("outbox: pass failed", {{"error", s.to_string()}});
  return options_.poll_interval_ms;
}

Status Outbox::run_once() {
  {
    // Checks older than the interval would be due anyway: forget them (bounded memory).
    std::lock_guard lock(mutex_);
    int64_t now = deps_.clock.now_ms();
    std::erase_if(last_checked_ms_, [&](const auto& entry) {
      return now - entry.second >= options_.pending_check_after_ms;
    });
  }
  Status first = Status::ok();
  for (Status s : {send_queued_payouts(), send_queued_refunds(), check_pending_payouts(),
                   check_pending_refunds()}) {
    if (first.is_ok() && !s.is_ok()) first = s;
  }
  return first;
}

Status Outbox::send_queued_payouts() {
  auto rows = deps_.queries.queued_payouts(batch_max);
  if (!rows.is_ok()) return rows.status();
  Status first = Status::ok();
  for (const auto& [provider_id, payout_id] : rows.value()) {
    std::string key = payout_key(payout_id);
    if (!due(key) || given_up(payout_id)) continue;
    Claim claim(*this, key);
    if (!claim.held()) continue;
    Status s = send_payout(provider_id, payout_id);
    if (!s.is_ok()) failed(key);
    if (first.is_ok() && !s.is_ok()) first = s;
  }
  return first;
}

Status Outbox::send_payout(const std::string& provider_id, const std::string& payout_id) {
  const std::string key = payout_key(payout_id);
  auto state = deps_.shell.load_provider(provider_id);  // fresh: the claim is ours now
  if (!state.is_ok()) return state.status();
  const PayoutRecord* found = state->find_payout(payout_id);
  if (found == nullptr || found->status != PayoutStatus::queued) {
    succeeded(key);
    return Status::ok();
  }
  const PayoutRecord p = *found;
  paystack::InitiateTransferRequest request{p.amount, p.recipient_code, p.reference,
                                            transfer_reason(p), "balance"};
  TransferAttempt sent = send_transfer(deps_.paystack, request);
  switch (sent.kind) {
    case TransferAttempt::Kind::answered:
      succeeded(key);
      return record_transfer(deps_.shell, provider_id, payout_id, sent.transfer, outbox_context());
    case TransferAttempt::Kind::refused: {
      logging::warn("outbox: Paystack refused a payout",
                    {{"payout_id", payout_id}, {"error", sent.error.to_string()}});
      succeeded(key);
      RecordPayoutOutcome outcome{payout_id, PayoutStatus::failed, "", std::nullopt,
                                  sent.error.message};
      return executed(deps_.shell.execute(provider_id, outcome, outbox_context()), "the refusal",
                      payout_id);
    }
    case TransferAttempt::Kind::reference_taken:
      reference_taken(payout_id, p, sent.transfer);
      failed(key);
      return Status::ok();
    case TransferAttempt::Kind::unknown:
      break;
  }
  // Unknown outcome: the next attempt starts with the initiate again, whose duplicate refusal
  // leads to the transfer if Paystack did make it.
  logging::warn("outbox: payout not confirmed, will retry",
                {{"payout_id", payout_id}, {"error", sent.error.to_string()}});
  failed(key);
  return Status::ok();
}

void Outbox::reference_taken(const std::string& payout_id, const PayoutRecord& p,
                             const paystack::Transfer& other) {
  int attempts = 0;
  {
    std::lock_guard lock(mutex_);
    attempts = ++reference_conflicts_[payout_id];
  }
  // Amounts and transfer codes only: never the recipient's account.
  logging::error(
      "outbox: Paystack holds this payout's reference for another transfer; the payout stays "
      "queued until an operator acts",
      {{"payout_id", payout_id},
       {"amount", p.amount.amount_minor},
       {"paystack_amount", other.amount.amount_minor},
       {"paystack_transfer_code", other.transfer_code},
       {"attempt", static_cast<int64_t>(attempts)},
       {"gives_up", attempts >= reference_conflict_attempts_max}});
}

bool Outbox::given_up(const std::string& payout_id) {
  std::lock_guard lock(mutex_);
  auto it = reference_conflicts_.find(payout_id);
  return it != reference_conflicts_.end() && it->second >= reference_conflict_attempts_max;
}

Status Outbox::check_pending_payouts() {
  auto rows = deps_.queries.unsettled_payouts(
      deps_.clock.now_ms() - options_.pending_check_after_ms, batch_max);
  if (!rows.is_ok()) return rows.status();
  Status first = Status::ok();
  for (const auto& [provider_id, payout_id] : rows.value()) {
    std::string key = payout_key(payout_id);
    Claim claim(*this, key);
    if (!claim.held() || checked_recently(key)) continue;
    Status s = verify_payout(provider_id, payout_id);
    if (first.is_ok() && !s.is_ok()) first = s;
  }
  return first;
}

Status Outbox::verify_payout(const std::string& provider_id, const std::string& payout_id) {
  auto state = deps_.shell.load_provider(provider_id);
  if (!state.is_ok()) return state.status();
  const PayoutRecord* found = state->find_payout(payout_id);
  if (found == nullptr ||
      (found->status != PayoutStatus::pending && found->status != PayoutStatus::otp))
    return Status::ok();
  auto transfer = deps_.paystack.verify_transfer(found->reference);
  if (!transfer.is_ok()) {
    logging::warn("outbox: could not verify a payout",
                  {{"payout_id", payout_id}, {"error", transfer.error().to_string()}});
    return Status::ok();  // checked again after pending_check_after_ms
  }
  return record_transfer(deps_.shell, provider_id, payout_id, transfer.value(), outbox_context());
}

Status Outbox::send_queued_refunds() {
  auto rows = deps_.queries.queued_refunds(batch_max);
  if (!rows.is_ok()) return rows.status();
  Status first = Status::ok();
  for (const auto& [booking_id, refund_id] : rows.value()) {
    std::string key = refund_key(refund_id);
    if (!due(key)) continue;
    Claim claim(*this, key);
    if (!claim.held()) continue;
    Status s = send_refund(booking_id, refund_id);
    if (!s.is_ok()) failed(key);
    if (first.is_ok() && !s.is_ok()) first = s;
  }
  return first;
}

Result<bool> Outbox::held_by_chargeback(const std::string& booking_id, const RefundRecord& r) {
  paystack::ListDisputesQuery query;
  query.transaction = r.paystack_transaction_id != 0 ? std::to_string(r.paystack_transaction_id)
                                                     : r.payment_reference;
  query.per_page = 100;
  auto listed = deps_.paystack.list_disputes(query);
  if (!listed.is_ok()) {
    logging::warn("outbox: cannot list a payment's chargebacks; the refund waits",
                  {{"refund_id", r.refund_id}, {"error", listed.error().to_string()}});
    return true;
  }
  for (const paystack::Dispute& d : listed.value().items) {
    if (d.transaction_reference != r.payment_reference &&
        (!d.transaction_id || *d.transaction_id != r.paystack_transaction_id))
      continue;  // another transaction's
    auto synced = sync_chargeback(deps_, d.id, outbox_context());
    if (!synced.is_ok()) return synced.status();
    if (!synced->recorded.status.is_ok()) return synced->recorded.status;
    if (synced->unanswered) return true;  // Paystack could not say: wait
  }
  auto state = deps_.shell.load_booking(booking_id);
  if (!state.is_ok()) return state.status();
  const RefundRecord* now = find_refund(state.value(), r.refund_id);
  if (now == nullptr || now->status != RefundStatus::queued) return true;  // settled meanwhile
  return std::any_of(state->chargebacks.begin(), state->chargebacks.end(),
                     [&](const ChargebackRecord& c) {
                       return c.payment_reference == r.payment_reference && !c.resolved();
                     });
}

Status Outbox::send_refund(const std::string& booking_id, const std::string& refund_id) {
  const std::string key = refund_key(refund_id);
  auto state = deps_.shell.load_booking(booking_id);
  if (!state.is_ok()) return state.status();
  const RefundRecord* found = find_refund(state.value(), refund_id);
  if (found == nullptr || found->status != RefundStatus::queued) {
    succeeded(key);
    return Status::ok();
  }
  const RefundRecord r = *found;
  // Rule 9: an earlier attempt may have reached Paystack before a crash or a timeout.
  auto existing = lookup_refund(deps_.paystack, r);
  if (!existing.is_ok()) {
    logging::warn("outbox: cannot look a refund up, will retry",
                  {{"refund_id", refund_id}, {"error", existing.error().to_string()}});
    failed(key);
    return Status::ok();
  }
  if (existing.value()) {
    succeeded(key);
    return record_refund(deps_.shell, booking_id, r, **existing, outbox_context()).status();
  }
  auto held = held_by_chargeback(booking_id, r);
  if (!held.is_ok()) return held.status();
  if (held.value()) {
    failed(key);  // looked at again after the backoff
    return Status::ok();
  }
  paystack::CreateRefundRequest request;
  if (r.paystack_transaction_id != 0) {
    request.transaction_id = r.paystack_transaction_id;
  } else {
    request.transaction_reference = r.payment_reference;
  }
  request.amount = r.amount;
  request.merchant_note = r.refund_id;  // how lookup_refund() recognises it
  auto created = deps_.paystack.create_refund(request);
  if (created.is_ok()) {
    succeeded(key);
    return record_refund(deps_.shell, booking_id, r, created.value(), outbox_context()).status();
  }
  const ApiError& error = created.error();
  if (refused(error)) {
    logging::warn("outbox: Paystack refused a refund",
                  {{"refund_id", refund_id}, {"error", error.to_string()}});
    succeeded(key);
    RecordRefundOutcome outcome{refund_id, RefundStatus::failed, std::nullopt, error.message};
    return executed(deps_.shell.execute(booking_id, outcome, outbox_context()), "the refusal",
                    refund_id);
  }
  logging::warn("outbox: refund not confirmed, will look it up",
                {{"refund_id", refund_id}, {"error", error.to_string()}});
  failed(key);
  return Status::ok();
}

Status Outbox::check_pending_refunds() {
  auto rows = deps_.queries.unsettled_refunds(
      deps_.clock.now_ms() - options_.pending_check_after_ms, batch_max);
  if (!rows.is_ok()) return rows.status();
  Status first = Status::ok();
  for (const auto& [booking_id, refund_id] : rows.value()) {
    std::string key = refund_key(refund_id);
    Claim claim(*this, key);
    if (!claim.held() || checked_recently(key)) continue;
    Status s = check_refund(booking_id, refund_id);
    if (first.is_ok() && !s.is_ok()) first = s;
  }
  return first;
}

Status Outbox::check_refund(const std::string& booking_id, const std::string& refund_id) {
  auto state = deps_.shell.load_booking(booking_id);
  if (!state.is_ok()) return state.status();
  const RefundRecord* found = find_refund(state.value(), refund_id);
  if (found == nullptr || found->status == RefundStatus::queued ||
      found->status == RefundStatus::processed || found->status == RefundStatus::failed)
    return Status::ok();
  const RefundRecord r = *found;
  auto checked =
      check_refund_at_paystack(deps_.shell, deps_.paystack, booking_id, r, outbox_context());
  if (!checked.is_ok()) return checked.status();
  if (checked->unanswered) {
    logging::warn("outbox: cannot look a refund up",
                  {{"refund_id", refund_id}, {"error", checked->unanswered->to_string()}});
  } else if (!checked->listed) {
    logging::warn("outbox: Paystack lists no such refund",
                  {{"refund_id", refund_id}, {"transaction", transaction_of(r)}});
  }
  return Status::ok();
}

bool Outbox::due(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = backoff_.find(key);
  return it == backoff_.end() || deps_.clock.now_ms() >= it->second.next_attempt_ms;
}

void Outbox::failed(const std::string& key) {
  std::lock_guard lock(mutex_);
  Backoff& b = backoff_[key];
  b.failures = std::min(b.failures + 1, 30);
  int64_t wait = std::min(backoff_max_ms, backoff_base_ms << std::min(b.failures - 1, 20));
  b.next_attempt_ms = deps_.clock.now_ms() + wait;
}

void Outbox::succeeded(const std::string& key) {
  std::lock_guard lock(mutex_);
  backoff_.erase(key);
}

bool Outbox::checked_recently(const std::string& key) {
  std::lock_guard lock(mutex_);
  int64_t now = deps_.clock.now_ms();
  auto [it, inserted] = last_checked_ms_.try_emplace(key, now);
  if (inserted) return false;
  if (now - it->second < options_.pending_check_after_ms) return true;
  it->second = now;
  return false;
}

Result<FinalizeOutcome> finalize_payout(const Context& deps, std::string_view payout_id,
                                        std::string_view otp, const CommandContext& context) {
  FinalizeOutcome out;
  auto provider = deps.queries.payout_provider(payout_id);
  if (!provider.is_ok()) return provider.status();
  if (!provider.value()) {
    out.rejection = Rejection::unknown_payout;
    return out;
  }
  out.provider_id = *provider.value();
  auto state = deps.shell.load_provider(out.provider_id);
  if (!state.is_ok()) return state.status();
  if (auto rejection = check_finalize(state.value(), payout_id)) {
    out.rejection = rejection;
    return out;
  }
  const PayoutRecord p = *state->find_payout(payout_id);
  std::string transfer_code = p.transfer_code;
  if (transfer_code.empty()) {  // held for OTP but its code was not reported: ask Paystack
    auto transfer = deps.paystack.verify_transfer(p.reference);
    if (!transfer.is_ok()) {
      out.refused = transfer.error();
      return out;
    }
    transfer_code = transfer->transfer_code;
  }
  auto answer = deps.paystack.finalize_transfer(transfer_code, otp);
  if (!answer.is_ok() && answer.error().kind == paystack::ErrorKind::validation) {
    // Paystack refuses an OTP also for a transfer that no longer waits for one (it succeeded,
    // failed or expired meanwhile): what the transfer is now is then recorded and answered, and
    // only a transfer still waiting for its OTP keeps the refusal.
    auto now = deps.paystack.verify_transfer(p.reference);
    if (now.is_ok() && payout_status_of(now->status) != PayoutStatus::otp) answer = now;
  }
  if (!answer.is_ok()) {
    out.refused = answer.error();
    return out;
  }
  Status recorded =
      record_transfer(deps.shell, out.provider_id, p.payout_id, answer.value(), context);
  if (!recorded.is_ok()) return recorded;
  auto after = deps.shell.load_provider(out.provider_id);
  if (!after.is_ok()) return after.status();
  out.payout = *after->find_payout(payout_id);
  return out;
}

}  // namespace escrow::service
