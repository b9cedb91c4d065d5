// Paystack chargebacks between Paystack and the ledger; see chargebacks.h.
#include "service/chargebacks.h"

#include "paystack/client.h"
#include "service/outbox.h"
#include "service/payments.h"

namespace escrow::service {

Result<RecordChargeback> chargeback_report(const paystack::Dispute& d) {
  if (!d.refund_amount)
    return Status(StatusCode::invalid_argument, "the dispute has no refund_amount in a currency");
  if (d.transaction_reference.empty())
    return Status(StatusCode::invalid_argument, "the dispute names no transaction reference");
  RecordChargeback c;
  c.dispute_id = d.id;
  c.payment_reference = d.transaction_reference;
  c.refund_amount = *d.refund_amount;
  c.status = parse_enum<ChargebackStatus>(d.status).value_or(ChargebackStatus::pending);
  c.due_at_ms = d.due_at_ms;
  if (c.status == ChargebackStatus::resolved) {
    std::optional<ChargebackResolution> resolution = parse_enum<ChargebackResolution>(d.resolution);
    if (!resolution && d.transaction_status == "reversed")
      resolution = ChargebackResolution::auto_accepted;
    else if (!resolution && !d.transaction_status.empty())
      resolution = ChargebackResolution::declined;  // resolved, and the transaction stands
    // Resolved with no word on how (a short record whose transaction is only an id): a final
    // outcome is never guessed; it stays pending until Paystack says more.
    if (!resolution) c.status = ChargebackStatus::pending;
    c.resolution = resolution;
  }
  return c;
}

namespace {

// Before a chargeback resolved for the customer settles the payment's refunds still queued
// (rule 6b), each is looked up at Paystack: a refund Paystack made before a crash or a timeout
// kept the ledger from hearing of it is recorded as it is there, so that only one never sent is
// settled by the chargeback. The first refund Paystack could not be asked about is returned.
Result<std::optional<paystack::ApiError>> look_up_queued_refunds(
    const Context& ctx, const std::string& booking_id, const std::string& payment_reference,
    const CommandContext& context) {
  auto state = ctx.shell.load_booking(booking_id);
  if (!state.is_ok()) return state.status();
  for (const RefundRecord& r : state->refunds) {
    if (r.payment_reference != payment_reference || r.status != RefundStatus::queued) continue;
    auto checked = check_refund_at_paystack(ctx.shell, ctx.paystack, booking_id, r, context);
    if (!checked.is_ok()) return checked.status();
    if (checked->unanswered) return std::optional<paystack::ApiError>(*checked->unanswered);
    if (!checked->recorded.status.is_ok()) return checked->recorded.status;
  }
  return std::optional<paystack::ApiError>();
}

bool for_the_customer(const RecordChargeback& report) {
  return report.resolution && *report.resolution != ChargebackResolution::declined;
}

// Records `dispute` (as Paystack gave it) on the booking of its transaction.
Result<ChargebackSync> record_dispute(const Context& ctx, const paystack::Dispute& dispute,
                                      const CommandContext& context) {
  ChargebackSync out;
  auto report = chargeback_report(dispute);
  if (!report.is_ok()) {
    out.recorded.status = report.status();
    return out;
  }
  auto booking = booking_of_reference(ctx, report->payment_reference);
  if (!booking.is_ok()) return booking.status();
  out.booking_id = booking.value();
  if (!out.booking_id) return out;
  if (for_the_customer(report.value())) {
    auto unanswered =
        look_up_queued_refunds(ctx, *out.booking_id, report->payment_reference, context);
    if (!unanswered.is_ok()) return unanswered.status();
    if (unanswered.value()) {  // nothing recorded: asked again with the next webhook or sweep
      out.unanswered = unanswered.value();
      return out;
    }
  }
  out.recorded = ctx.shell.execute(*out.booking_id, report.value(), context);
  return out;
}

}  // namespace

Result<ChargebackSync> sync_chargeback(const Context& ctx, int64_t dispute_id,
                                       const CommandContext& context) {
  auto dispute = ctx.paystack.fetch_dispute(dispute_id);
  if (!dispute.is_ok()) {
    ChargebackSync out;
    if (dispute.error().kind == paystack::ErrorKind::not_found)
      out.unknown_at_paystack = true;
    else
      out.unanswered = dispute.error();
    return out;
  }
  return record_dispute(ctx, dispute.value(), context);
}

Result<ChargebackDiscovery> discover_chargebacks(const Context& ctx, int64_t since_ms,
                                                 const CommandContext& context) {
  ChargebackDiscovery out;
  for (int page = 1; page <= discovery_pages_max; ++page) {
    paystack::ListDisputesQuery query;
    query.page = page;
    query.per_page = discovery_page_size;
    query.from_ms = since_ms;
    auto listed = ctx.paystack.list_disputes(query);
    if (!listed.is_ok()) {
      out.unanswered = listed.error();
      return out;
    }
    for (const paystack::Dispute& dispute : listed->items) {
      auto known = ctx.queries.chargeback_booking(dispute.id);
      if (!known.is_ok()) return known.status();
      if (known.value()) continue;  // recorded: the scheduler's checks keep it current
      // Recorded as GET /dispute/:id has it, as for a webhook (a list item may be shorter).
      auto recorded = sync_chargeback(ctx, dispute.id, context);
      if (!recorded.is_ok()) return recorded.status();
      if (recorded->unanswered) {
        out.unanswered = recorded->unanswered;
        return out;
      }
      if (!recorded->booking_id) continue;  // not a transaction of ours
      if (!recorded->recorded.status.is_ok() &&
          recorded->recorded.status.code() != StatusCode::invalid_argument)
        return recorded->recorded.status;
      if (recorded->recorded.ok()) out.recorded.push_back(std::move(recorded->recorded));
    }
    if (static_cast<int>(listed->items.size()) < discovery_page_size) break;
  }
  return out;
}

Result<ChargebackAnswer> answer_chargeback(const Context& ctx, int64_t dispute_id,
                                           ChargebackResponse response, const std::string& message,
                                           const std::string& uploaded_filename,
                                           const CommandContext& context) {
  ChargebackAnswer out;
  auto booking = ctx.queries.chargeback_booking(dispute_id);
  if (!booking.is_ok()) return booking.status();
  if (!booking.value()) {
    out.rejection = Rejection::unknown_chargeback;
    return out;
  }
  out.booking_id = *booking.value();
  auto state = ctx.shell.load_booking(out.booking_id);
  if (!state.is_ok()) return state.status();
  if (auto rejection = check_chargeback_answer(state.value(), context.actor, dispute_id)) {
    out.rejection = rejection;
    return out;
  }
  const ChargebackRecord record = *state->find_chargeback(dispute_id);
  paystack::ResolveDisputeRequest request;
  request.dispute_id = dispute_id;
  request.resolution = response == ChargebackResponse::accept ? "merchant-accepted" : "declined";
  request.message = message;
  request.refund_amount = record.refund_amount;
  request.uploaded_filename = uploaded_filename;
  auto answered = ctx.paystack.resolve_dispute(request);
  if (!answered.is_ok()) {
    out.refused = answered.error();
    // Paystack may refuse because it already has an answer (one whose reply was lost): what it
    // has now is recorded, so the chargeback shows where it stands.
    if (answered.error().kind == paystack::ErrorKind::validation) {
      auto synced = sync_chargeback(ctx, dispute_id, context);
      if (!synced.is_ok()) return synced.status();
    }
    return out;
  }
  // The answer is Paystack's short record; the dispute itself says where it now stands. When it
  // cannot be fetched, the short record's status and resolution are what Paystack said.
  paystack::Dispute now = answered.value();
  if (auto fetched = ctx.paystack.fetch_dispute(dispute_id); fetched.is_ok()) now = fetched.value();
  now.transaction_reference = record.payment_reference;
  if (!now.refund_amount) now.refund_amount = record.refund_amount;
  auto report = chargeback_report(now);
  if (!report.is_ok()) return report.status();
  if (for_the_customer(report.value())) {
    auto unanswered =
        look_up_queued_refunds(ctx, out.booking_id, record.payment_reference, context);
    if (!unanswered.is_ok()) return unanswered.status();
    if (unanswered.value()) {  // the answer is recorded; the resolution waits for a later sync
      report->resolution.reset();
      report->status = ChargebackStatus::pending;
    }
  }
  out.recorded = ctx.shell.execute(out.booking_id,
                                   AnswerChargeback{response, message, report.value()}, context);
  return out;
}

}  // namespace escrow::service
