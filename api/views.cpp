// JSON views of bookings; see views.h.
#include "api/views.h"

#include "ledger/time_format.h"

namespace escrow::api {
namespace {

void write_money_fields(JsonWriter& w, std::string_view key, const Money& money) {
  write_field(w, key, money.amount_minor);
  write_field(w, "currency", currency_code(money.currency));
}

// The fee and the provider's part: planned until money is released, then what was taken; zero
// for a booking that ended without a release. Matches the `bookings` table's columns.
std::pair<int64_t, int64_t> fee_and_net(const BookingState& s) {
  if (s.released_minor > 0) return {s.fee_minor, s.provider_net_minor};
  if (s.status == BookingStatus::cancelled || s.status == BookingStatus::refunded) return {0, 0};
  FeeSplit planned = split_fee(s.terms.amount, s.terms.fee_bps);
  return {planned.fee.amount_minor, planned.provider_net.amount_minor};
}

void write_plan(JsonWriter& w, const BookingCreated& t) {
  write_key(w, "payment_plan");
  w.StartObject();
  write_field(w, "type", enum_name(t.plan));
  if (t.plan == PaymentPlan::split) write_field(w, "deposit_bps", int64_t{t.deposit_bps});
  w.EndObject();
  write_key(w, "installments");
  w.StartArray();
  for (size_t i = 0; i < t.installments.size(); ++i) {
    w.StartObject();
    write_field(w, "installment", static_cast<int64_t>(i + 1));
    write_field(w, "amount", t.installments[i].amount_minor);
    w.EndObject();
  }
  w.EndArray();
}

void write_payments(JsonWriter& w, const BookingState& s) {
  write_key(w, "payments");
  w.StartArray();
  for (const ChargeRecord& c : s.charges) {
    w.StartObject();
    write_field(w, "reference", c.reference);
    write_field(w, "installment", int64_t{c.installment});
    write_money_fields(w, "amount", c.amount);
    write_field(w, "status", charge_status_name(c.status));
    write_key(w, "paystack_transaction_id");
    if (c.paystack_transaction_id != 0) {
      w.Int64(c.paystack_transaction_id);
    } else {
      w.Null();
    }
    write_field(w, "paystack_fee", c.paystack_fee.amount_minor);
    write_field(w, "refunded", c.refunded_minor);
    write_key(w, "in_escrow");
    w.Bool(c.status == ChargeStatus::captured && c.in_escrow);
    w.EndObject();
  }
  w.EndArray();
}

void write_proof(JsonWriter& w, const BookingState& s) {
  write_key(w, "proof");
  if (!s.proof) return (void)w.Null();
  w.StartObject();
  write_field(w, "notes", s.proof->notes);
  write_key(w, "files");
  w.StartArray();
  for (const ProofFile& f : s.proof->files) {
    w.StartObject();
    write_field(w, "sha256", f.sha256);
    write_field(w, "content_type", f.content_type);
    write_field(w, "name", f.name);
    write_field(w, "size_bytes", f.size_bytes);
    write_field(w, "url", proof_file_url(s.terms.booking_id, f.sha256));
    w.EndObject();
  }
  w.EndArray();
  write_key(w, "attachments");
  w.StartArray();
  for (const ProofLink& l : s.proof->attachments) {
    w.StartObject();
    write_field(w, "url", l.url);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void write_dispute(JsonWriter& w, const BookingState& s) {
  write_key(w, "dispute");
  if (!s.dispute) return (void)w.Null();
  const DisputeRecord& d = *s.dispute;
  w.StartObject();
  write_field(w, "status", d.open ? "open" : "resolved");
  write_field(w, "opened_by", d.opened_by);
  write_field(w, "role", role_name(d.role));
  write_field(w, "reason", d.reason);
  write_field(w, "description", d.description);
  write_field(w, "source", enum_name(d.source));
  write_optional(w, "paystack_dispute_id", d.paystack_dispute_id);
  if (!d.open) {
    // A dispute a chargeback closed has no admin outcome: Paystack's resolution is on the
    // chargeback, and the note names it.
    write_key(w, "outcome");
    if (d.outcome)
      w.String(enum_name(*d.outcome));
    else
      w.Null();
    write_field(w, "provider_amount", d.provider_amount.amount_minor);
    write_field(w, "refund_amount", d.refund_amount.amount_minor);
    write_field(w, "note", d.note);
    write_field(w, "resolved_by", d.resolved_by);
  }
  w.EndObject();
}

void write_refunds(JsonWriter& w, const BookingState& s) {
  write_key(w, "refunds");
  w.StartArray();
  for (const RefundRecord& r : s.refunds) {
    w.StartObject();
    write_field(w, "refund_id", r.refund_id);
    write_field(w, "payment_reference", r.payment_reference);
    write_money_fields(w, "amount", r.amount);
    write_field(w, "status", refund_status_name(r.status));
    write_field(w, "reason", r.reason);
    write_field(w, "attempt", int64_t{r.attempt});
    write_optional(w, "paystack_refund_id", r.paystack_refund_id);
    if (!r.failure_reason.empty()) write_field(w, "failure_reason", r.failure_reason);
    w.EndObject();
  }
  w.EndArray();
}

void write_optional_name(JsonWriter& w, const char* name, const char* value) {
  write_key(w, name);
  if (value)
    w.String(value);
  else
    w.Null();
}

void write_chargebacks(JsonWriter& w, const BookingState& s) {
  write_key(w, "chargebacks");
  w.StartArray();
  for (const ChargebackRecord& c : s.chargebacks) {
    w.StartObject();
    write_field(w, "id", c.dispute_id);
    write_field(w, "payment_reference", c.payment_reference);
    write_money_fields(w, "refund_amount", c.refund_amount);
    write_field(w, "status", enum_name(c.status));
    write_optional_name(w, "resolution", c.resolution ? enum_name(*c.resolution) : nullptr);
    write_time(w, "due_at", c.due_at_ms);
    write_optional_name(w, "response", c.response ? enum_name(*c.response) : nullptr);
    write_field(w, "from_escrow", c.from_escrow.amount_minor);
    write_field(w, "from_provider", c.from_provider.amount_minor);
    write_field(w, "platform_loss", c.platform_loss.amount_minor);
    w.EndObject();
  }
  w.EndArray();
}

void write_payouts(JsonWriter& w, const std::vector<projections::PayoutRow>& payouts) {
  write_key(w, "payouts");
  w.StartArray();
  for (const projections::PayoutRow& p : payouts) {
    w.StartObject();
    write_field(w, "payout_id", p.payout_id);
    write_money_fields(w, "amount", p.amount);
    write_field(w, "status", p.status);
    write_field(w, "source", p.source);
    write_field(w, "attempt", p.attempt);
    write_field(w, "transfer_code", p.transfer_code);
    if (!p.reason.empty()) write_field(w, "reason", p.reason);
    write_time(w, "created_at", p.created_at_ms);
    write_time(w, "updated_at", p.updated_at_ms);
    w.EndObject();
  }
  w.EndArray();
}

// The money of the booking as it stands: what was paid, held, and where it went.
void write_amounts(JsonWriter& w, const BookingState& s) {
  auto [fee, net] = fee_and_net(s);
  write_field(w, "amount_paid", s.amount_in_escrow_minor());
  write_field(w, "escrow_balance", s.held_minor());
  write_field(w, "platform_fee", fee);
  write_field(w, "provider_net", net);
  write_field(w, "released", s.released_minor);
  write_field(w, "refunded", s.refunded_minor);
  write_field(w, "charged_back",
              s.charged_back_minor + s.chargeback_provider_minor + s.chargeback_loss_minor);
}

}  // namespace

void write_payout_row(JsonWriter& w, const projections::PayoutRow& p) {
  w.StartObject();
  write_field(w, "payout_id", p.payout_id);
  write_field(w, "provider_id", p.provider_id);
  write_field(w, "amount", p.amount.amount_minor);
  write_field(w, "currency", currency_code(p.amount.currency));
  write_field(w, "status", p.status);
  write_field(w, "source", p.source);
  write_optional(w, "booking_id", p.booking_id);
  write_optional(w, "withdrawal_id", p.withdrawal_id);
  write_optional(w, "retry_of", p.retry_of);
  write_field(w, "attempt", p.attempt);
  write_field(w, "transfer_code", p.transfer_code);
  write_field(w, "reason", p.reason);
  write_time(w, "created_at", p.created_at_ms);
  write_time(w, "updated_at", p.updated_at_ms);
  write_optional(
      w, "requested_by",
      p.requested_by.empty() ? std::nullopt : std::optional<std::string>(p.requested_by));
  w.EndObject();
}

BookingExtras extras_from(projections::BookingOutside outside) {
  return BookingExtras{outside.created_at_ms, std::move(outside.payouts), outside.milestones};
}

std::string proof_file_url(std::string_view booking_id, std::string_view sha256) {
  return "/bookings/" + std::string(booking_id) + "/proof/" + std::string(sha256);
}

void write_booking(JsonWriter& w, const BookingState& s, const BookingExtras& extras) {
  const BookingCreated& t = s.terms;
  w.StartObject();
  write_field(w, "id", t.booking_id);
  write_field(w, "client_id", t.client_id);
  write_field(w, "provider_id", t.provider_id);
  write_field(w, "client_email", t.client_email);
  write_field(w, "description", t.description);
  write_money_fields(w, "amount", t.amount);
  write_plan(w, t);
  write_field(w, "fee_bps", int64_t{t.fee_bps});
  write_field(w, "auto_confirm_after_s", t.auto_confirm_after_s);
  write_field(w, "status", booking_status_name(s.status));
  write_field(w, "payment_status", payment_status_name(s.payment_status));
  write_amounts(w, s);
  write_key(w, "approved");
  w.Bool(s.approved);
  if (!s.release_reason.empty()) write_field(w, "release_reason", s.release_reason);
  write_time(w, "auto_confirm_at", s.auto_confirm_at_ms);
  write_time(w, "pay_by", t.pay_by_ms);
  write_payments(w, s);
  write_proof(w, s);
  write_dispute(w, s);
  if (extras.payouts) write_payouts(w, *extras.payouts);
  write_refunds(w, s);
  write_chargebacks(w, s);
  write_field(w, "version", s.version);
  write_time(w, "created_at", extras.created_at_ms);
  const projections::Milestones& m = extras.milestones;
  write_time(w, "paid_at", m.paid_at);
  write_time(w, "proof_at", m.proof_at);
  write_time(w, "approved_at", m.approved_at);
  write_time(w, "released_at", m.released_at);
  write_time(w, "cancelled_at", m.cancelled_at);
  w.EndObject();
}

std::string booking_json(const BookingState& state, const BookingExtras& extras) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  write_booking(w, state, extras);
  return std::string(buffer.GetString(), buffer.GetSize());
}

void write_booking_summary(JsonWriter& w, const projections::BookingSummaryRow& b) {
  w.StartObject();
  write_field(w, "id", b.id);
  write_field(w, "client_id", b.client_id);
  write_field(w, "provider_id", b.provider_id);
  write_field(w, "description", b.description);
  write_field(w, "amount", b.amount.amount_minor);
  write_field(w, "currency", currency_code(b.amount.currency));
  write_field(w, "status", b.status);
  write_field(w, "payment_status", b.payment_status);
  write_field(w, "amount_paid", b.amount_paid);
  write_field(w, "escrow_balance", b.escrow_balance);
  write_field(w, "platform_fee", b.platform_fee);
  write_field(w, "provider_net", b.provider_net);
  write_time(w, "pay_by", b.pay_by_ms);
  write_time(w, "auto_confirm_at", b.auto_confirm_at_ms);
  write_field(w, "version", b.version);
  write_time(w, "created_at", b.created_at_ms);
  write_time(w, "updated_at", b.updated_at_ms);
  w.EndObject();
}

}  // namespace escrow::api
