#include "projections/tables.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "ledger/overloaded.h"
#include "ledger/time_format.h"

namespace escrow::projections {

namespace {

SqlValue text(std::string value) {
  return SqlValue(std::move(value));
}
SqlValue integer(int64_t value) {
  return SqlValue(value);
}
template <class T>
SqlValue optional_value(const std::optional<T>& value) {
  if (!value) return SqlValue();
  return SqlValue(*value);
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void key(JsonWriter& w, const char* name) {
  w.Key(name);
}
void str(JsonWriter& w, const char* name, std::string_view value) {
  w.Key(name);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}
void num(JsonWriter& w, const char* name, int64_t value) {
  w.Key(name);
  w.Int64(value);
}
void time_or_null(JsonWriter& w, const char* name, std::optional<int64_t> ms) {
  w.Key(name);
  if (ms) {
    std::string iso = format_iso8601_ms(*ms);
    w.String(iso.c_str());
  } else {
    w.Null();
  }
}

// Planned until money was released; what was actually taken afterwards.
std::pair<int64_t, int64_t> fee_and_net(const BookingState& s) {
  if (s.released_minor > 0) return {s.fee_minor, s.provider_net_minor};
  if (s.status == BookingStatus::cancelled || s.status == BookingStatus::refunded) return {0, 0};
  FeeSplit planned = split_fee(s.terms.amount, s.terms.fee_bps);
  return {planned.fee.amount_minor, planned.provider_net.amount_minor};
}

void write_payments(JsonWriter& w, const BookingState& s) {
  key(w, "payments");
  w.StartArray();
  for (const ChargeRecord& c : s.charges) {
    w.StartObject();
    str(w, "reference", c.reference);
    num(w, "installment", c.installment);
    num(w, "amount", c.amount.amount_minor);
    str(w, "currency", currency_code(c.amount.currency));
    str(w, "status", charge_status_name(c.status));
    num(w, "paystack_transaction_id", c.paystack_transaction_id);
    num(w, "paystack_fee", c.paystack_fee.amount_minor);
    num(w, "refunded", c.refunded_minor);
    w.EndObject();
  }
  w.EndArray();
}

void write_refunds(JsonWriter& w, const BookingState& s) {
  key(w, "refunds");
  w.StartArray();
  for (const RefundRecord& r : s.refunds) {
    w.StartObject();
    str(w, "refund_id", r.refund_id);
    str(w, "payment_reference", r.payment_reference);
    num(w, "amount", r.amount.amount_minor);
    str(w, "currency", currency_code(r.amount.currency));
    str(w, "status", refund_status_name(r.status));
    str(w, "reason", r.reason);
    num(w, "attempt", r.attempt);
    if (r.paystack_refund_id) num(w, "paystack_refund_id", *r.paystack_refund_id);
    if (!r.failure_reason.empty()) str(w, "failure_reason", r.failure_reason);
    w.EndObject();
  }
  w.EndArray();
}

void write_chargebacks(JsonWriter& w, const BookingState& s) {
  key(w, "chargebacks");
  w.StartArray();
  for (const ChargebackRecord& c : s.chargebacks) {
    w.StartObject();
    num(w, "id", c.dispute_id);
    str(w, "payment_reference", c.payment_reference);
    num(w, "refund_amount", c.refund_amount.amount_minor);
    str(w, "currency", currency_code(c.refund_amount.currency));
    str(w, "status", enum_name(c.status));
    key(w, "resolution");
    if (c.resolution)
      w.String(enum_name(*c.resolution));
    else
      w.Null();
    time_or_null(w, "due_at", c.due_at_ms);
    key(w, "response");
    if (c.response)
      w.String(enum_name(*c.response));
    else
      w.Null();
    num(w, "from_escrow", c.from_escrow.amount_minor);
    num(w, "from_provider", c.from_provider.amount_minor);
    num(w, "platform_loss", c.platform_loss.amount_minor);
    w.EndObject();
  }
  w.EndArray();
}

void write_proof_value(JsonWriter& w, const BookingState& s) {
  if (!s.proof) return (void)w.Null();
  w.StartObject();
  str(w, "notes", s.proof->notes);
  key(w, "files");
  w.StartArray();
  for (const ProofFile& f : s.proof->files) {
    w.StartObject();
    str(w, "sha256", f.sha256);
    str(w, "content_type", f.content_type);
    str(w, "name", f.name);
    num(w, "size_bytes", f.size_bytes);
    w.EndObject();
  }
  w.EndArray();
  key(w, "attachments");
  w.StartArray();
  for (const ProofLink& l : s.proof->attachments) {
    w.StartObject();
    str(w, "url", l.url);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void write_proof(JsonWriter& w, const BookingState& s) {
  key(w, "proof");
  write_proof_value(w, s);
}

// Empty while the dispute is open, as the disputes table has always stored it.
const char* outcome_name(const DisputeRecord& d) {
  return d.outcome ? enum_name(*d.outcome) : "";
}

void write_dispute(JsonWriter& w, const BookingState& s) {
  key(w, "dispute");
  if (!s.dispute) return (void)w.Null();
  const DisputeRecord& d = *s.dispute;
  w.StartObject();
  str(w, "status", d.open ? "open" : "resolved");
  str(w, "opened_by", d.opened_by);
  str(w, "role", role_name(d.role));
  str(w, "reason", d.reason);
  str(w, "description", d.description);
  str(w, "source", enum_name(d.source));
  if (!d.open) {
    str(w, "outcome", outcome_name(d));
    num(w, "provider_amount", d.provider_amount.amount_minor);
    num(w, "refund_amount", d.refund_amount.amount_minor);
    str(w, "note", d.note);
    str(w, "resolved_by", d.resolved_by);
  }
  w.EndObject();
}

}  // namespace

const std::vector<TableSpec>& table_specs() {
  static const std::vector<TableSpec> specs = {
      {Table::bookings,
       "bookings",
       "bookings",
       "2",
       {"id",
        "client_id",
        "provider_id",
        "client_email",
        "description",
        "status",
        "payment_status",
        "currency",
        "amount",
        "plan",
        "deposit_bps",
        "fee_bps",
        "auto_confirm_after_s",
        "pay_by",
        "amount_paid",
        "escrow_balance",
        "released",
        "refunded",
        "platform_fee",
        "provider_net",
        "auto_confirm_at",
        "approved",
        "release_reason",
        "proof",
        "created_seq",
        "created_at",
        "updated_at",
        "version",
        "paid_at",
        "proof_at",
        "approved_at",
        "released_at",
        "cancelled_at"},
       1,
       {"created_seq", "created_at"},
       {"paid_at", "proof_at", "approved_at", "released_at", "cancelled_at"}},
      {Table::payments,
       "payments",
       "payments",
       "1",
       {"reference", "booking_id", "installment", "amount", "currency", "status",
        "paystack_transaction_id", "paystack_fee", "created_at", "updated_at"},
       1,
       {"created_at"}},
      {Table::refunds,
       "refunds",
       "refunds",
       "2",
       {"refund_id", "booking_id", "client_id", "payment_reference", "paystack_transaction_id",
        "amount", "currency", "status", "reason", "attempt", "paystack_refund_id", "failure_reason",
        "created_at", "updated_at", "requested_by"},
       1,
       {"created_at"}},
      {Table::disputes,
       "disputes",
       "disputes",
       "1",
       {"booking_id", "status", "opened_by", "role", "reason", "description", "source", "outcome",
        "provider_amount", "refund_amount", "currency", "note", "resolved_by", "created_at",
        "updated_at"},
       1,
       {"created_at"}},
      {Table::chargebacks,
       "chargebacks",
       "chargebacks",
       "1",
       {"dispute_id", "booking_id", "provider_id", "client_id", "payment_reference",
        "refund_amount", "currency", "status", "resolution", "due_at", "response",
        "response_message", "answered_by", "from_escrow", "from_provider", "platform_loss",
        "created_at", "updated_at"},
       1,
       {"created_at"}},
      {Table::payouts,
       "payouts",
       "payouts",
       "2",
       {"payout_id", "provider_id", "amount", "currency", "status", "source", "booking_id",
        "withdrawal_id", "retry_of", "attempt", "recipient_code", "transfer_code", "reason",
        "created_at", "updated_at", "requested_by"},
       1,
       {"created_at"}},
      {Table::provider_balances,
       "provider_balances",
       "provider_balances",
       "1",
       {"provider_id", "currency", "available", "pending_escrow", "in_flight", "total_earned"},
       2,
       {}},
      {Table::ledger_entries,
       "ledger_entries",
       "ledger",
       "1",
       {"seq", "idx", "debit_account", "credit_account", "amount", "currency"},
       2,
       {}},
      {Table::account_balances,
       "account_balances",
       "ledger",
       "1",
       {"account", "currency", "balance"},
       2,
       {}},
      {Table::webhook_deliveries,
       "webhook_deliveries",
       "webhooks",
       "1",
       {"id", "dedupe_key", "event", "reference", "status", "attempts", "last_error",
        "received_at_ms", "updated_at_ms", "payload"},
       1,
       {"dedupe_key", "event", "reference", "received_at_ms", "payload"}},
  };
  return specs;
}

const TableSpec& spec(Table table) {
  const TableSpec& s = table_specs()[static_cast<int>(table)];
  LEDGER_ASSERT(s.table == table, "table_specs follows the Table enum");
  return s;
}

std::vector<std::string> projection_names() {
  std::vector<std::string> names;
  for (const TableSpec& s : table_specs()) {
    if (names.empty() || names.back() != s.projection) names.push_back(s.projection);
  }
  return names;
}

std::string booking_doc(const BookingState& s) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  const BookingCreated& t = s.terms;
  auto [fee, net] = fee_and_net(s);
  w.StartObject();
  str(w, "id", t.booking_id);
  str(w, "client_id", t.client_id);
  str(w, "provider_id", t.provider_id);
  str(w, "client_email", t.client_email);
  str(w, "description", t.description);
  num(w, "amount", t.amount.amount_minor);
  str(w, "currency", currency_code(t.amount.currency));
  key(w, "payment_plan");
  w.StartObject();
  str(w, "type", enum_name(t.plan));
  if (t.plan == PaymentPlan::split) num(w, "deposit_bps", t.deposit_bps);
  w.EndObject();
  key(w, "installments");
  w.StartArray();
  for (size_t i = 0; i < t.installments.size(); ++i) {
    w.StartObject();
    num(w, "installment", static_cast<int64_t>(i + 1));
    num(w, "amount", t.installments[i].amount_minor);
    key(w, "paid");
    w.Bool(s.installment_captured(static_cast<int>(i + 1)));
    w.EndObject();
  }
  w.EndArray();
  num(w, "fee_bps", t.fee_bps);
  num(w, "auto_confirm_after_s", t.auto_confirm_after_s);
  time_or_null(w, "pay_by", t.pay_by_ms);
  str(w, "status", booking_status_name(s.status));
  str(w, "payment_status", payment_status_name(s.payment_status));
  num(w, "amount_paid", s.amount_in_escrow_minor());
  num(w, "escrow_balance", s.held_minor());
  num(w, "platform_fee", fee);
  num(w, "provider_net", net);
  num(w, "released", s.released_minor);
  num(w, "refunded", s.refunded_minor);
  time_or_null(w, "auto_confirm_at", s.auto_confirm_at_ms);
  key(w, "approved");
  w.Bool(s.approved);
  if (!s.release_reason.empty()) str(w, "release_reason", s.release_reason);
  write_payments(w, s);
  write_proof(w, s);
  write_dispute(w, s);
  write_refunds(w, s);
  write_chargebacks(w, s);
  num(w, "version", s.version);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string proof_json(const BookingState& s) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  write_proof_value(w, s);
  return std::string(buffer.GetString(), buffer.GetSize());
}

void Milestones::note(const Event& event, int64_t at, const BookingState& after) {
  std::visit(Overloaded{
                 [&](const PaymentCaptured& e) {
                   for (const ChargeRecord& c : after.charges)
                     if (c.reference == e.reference && c.in_escrow) paid_at = at;
                 },
                 [&](const ProofSubmitted&) { proof_at = at; },
                 [&](const CompletionConfirmed&) { approved_at = at; },
                 [&](const AutoConfirmed&) { approved_at = at; },
                 [&](const FundsReleased&) { released_at = at; },
                 [&](const DisputeResolved& e) {
                   if (e.provider_amount.amount_minor > 0) released_at = at;
                 },
                 [&](const BookingCancelled&) { cancelled_at = at; },
                 [&](const auto&) {},
             },
             event);
}

Row booking_row(const BookingState& s, const Times& times, int64_t created_seq,
                const Milestones& milestones) {
  auto [fee, net] = fee_and_net(s);
  const BookingCreated& t = s.terms;
  return Row{text(t.booking_id),
             text(t.client_id),
             text(t.provider_id),
             text(t.client_email),
             text(t.description),
             text(booking_status_name(s.status)),
             text(payment_status_name(s.payment_status)),
             text(currency_code(t.amount.currency)),
             integer(t.amount.amount_minor),
             text(enum_name(t.plan)),
             integer(t.deposit_bps),
             integer(t.fee_bps),
             integer(t.auto_confirm_after_s),
             optional_value(t.pay_by_ms),
             integer(s.amount_in_escrow_minor()),
             integer(s.held_minor()),
             integer(s.released_minor),
             integer(s.refunded_minor),
             integer(fee),
             integer(net),
             optional_value(s.auto_confirm_at_ms),
             integer(s.approved ? 1 : 0),
             text(s.release_reason),
             s.proof ? text(proof_json(s)) : SqlValue(),
             integer(created_seq),
             integer(times.created_at),
             integer(times.updated_at),
             integer(s.version),
             optional_value(milestones.paid_at),
             optional_value(milestones.proof_at),
             optional_value(milestones.approved_at),
             optional_value(milestones.released_at),
             optional_value(milestones.cancelled_at)};
}

Row payment_row(const BookingState& s, const ChargeRecord& c, const Times& times) {
  return Row{text(c.reference),
             text(s.terms.booking_id),
             integer(c.installment),
             integer(c.amount.amount_minor),
             text(currency_code(c.amount.currency)),
             text(charge_status_name(c.status)),
             integer(c.paystack_transaction_id),
             integer(c.paystack_fee.amount_minor),
             integer(times.created_at),
             integer(times.updated_at)};
}

Row refund_row(const BookingState& s, const RefundRecord& r, const Times& times) {
  return Row{text(r.refund_id),
             text(s.terms.booking_id),
             text(s.terms.client_id),
             text(r.payment_reference),
             integer(r.paystack_transaction_id),
             integer(r.amount.amount_minor),
             text(currency_code(r.amount.currency)),
             text(refund_status_name(r.status)),
             text(r.reason),
             integer(r.attempt),
             optional_value(r.paystack_refund_id),
             text(r.failure_reason),
             integer(times.created_at),
             integer(times.updated_at),
             text(r.requested_by)};
}

Row dispute_row(const BookingState& s, const Times& times) {
  const DisputeRecord& d = *s.dispute;
  return Row{text(s.terms.booking_id),
             text(d.open ? "open" : "resolved"),
             text(d.opened_by),
             text(role_name(d.role)),
             text(d.reason),
             text(d.description),
             text(enum_name(d.source)),
             text(outcome_name(d)),
             integer(d.provider_amount.amount_minor),
             integer(d.refund_amount.amount_minor),
             text(currency_code(s.currency())),
             text(d.note),
             text(d.resolved_by),
             integer(times.created_at),
             integer(times.updated_at)};
}

Row chargeback_row(const BookingState& s, const ChargebackRecord& c, const Times& times) {
  return Row{integer(c.dispute_id),
             text(s.terms.booking_id),
             text(s.terms.provider_id),
             text(s.terms.client_id),
             text(c.payment_reference),
             integer(c.refund_amount.amount_minor),
             text(currency_code(c.refund_amount.currency)),
             text(enum_name(c.status)),
             text(c.resolution ? enum_name(*c.resolution) : ""),
             optional_value(c.due_at_ms),
             text(c.response ? enum_name(*c.response) : ""),
             text(c.response_message),
             text(c.answered_by),
             integer(c.from_escrow.amount_minor),
             integer(c.from_provider.amount_minor),
             integer(c.platform_loss.amount_minor),
             integer(times.created_at),
             integer(times.updated_at)};
}

Row payout_row(const ProviderState& s, const PayoutRecord& p, const Times& times) {
  return Row{text(p.payout_id),
             text(s.provider_id),
             integer(p.amount.amount_minor),
             text(currency_code(p.amount.currency)),
             text(payout_status_name(p.status)),
             text(enum_name(p.source)),
             optional_value(p.booking_id),
             optional_value(p.withdrawal_id),
             optional_value(p.retry_of),
             integer(p.attempt),
             text(p.recipient_code),
             text(p.transfer_code),
             text(p.reason),
             integer(times.created_at),
             integer(times.updated_at),
             text(p.requested_by)};
}

Row ledger_entry_row(int64_t seq, int idx, const Posting& posting) {
  return Row{integer(seq),
             integer(idx),
             text(posting.debit_account),
             text(posting.credit_account),
             integer(posting.amount.amount_minor),
             text(currency_code(posting.amount.currency))};
}

DeliveryRow delivery_received(int64_t seq, int64_t recorded_at_ms, const WebhookReceived& e) {
  return DeliveryRow{seq, e.dedupe_key, e.event,        e.reference,    "received",
                     0,   "",           recorded_at_ms, recorded_at_ms, e.payload};
}

void delivery_processed(DeliveryRow& d, const WebhookProcessed& e, int64_t recorded_at_ms) {
  d.status = e.outcome;
  d.attempts = e.attempt;
  d.last_error = e.outcome == "processed" ? "" : e.detail;
  d.updated_at_ms = recorded_at_ms;
}

Row delivery_row(const DeliveryRow& d) {
  return Row{integer(d.id),
             text(d.dedupe_key),
             text(d.event),
             text(d.reference),
             text(d.status),
             integer(d.attempts),
             text(d.last_error),
             integer(d.received_at_ms),
             integer(d.updated_at_ms),
             text(d.payload)};
}

DeliveryRow delivery_from_row(const Row& row) {
  LEDGER_ASSERT(row.size() == spec(Table::webhook_deliveries).columns.size(),
                "a webhook_deliveries row has every column");
  auto integer_at = [&](size_t i) {
    const int64_t* v = std::get_if<int64_t>(&row[i]);
    return v ? *v : 0;
  };
  auto text_at = [&](size_t i) {
    const std::string* v = std::get_if<std::string>(&row[i]);
    return v ? *v : std::string();
  };
  return DeliveryRow{integer_at(0), text_at(1),    text_at(2),
                     text_at(3),    text_at(4),    static_cast<int>(integer_at(5)),
                     text_at(6),    integer_at(7), integer_at(8),
                     text_at(9)};
}

std::vector<Touch> touches(const Event& event) {
  std::vector<Touch> out;
  std::visit(Overloaded{
                 [&](const PaymentInitiated& e) {
                   out.push_back({Table::payments, e.reference});
                 },
                 [&](const PaymentCaptured& e) {
                   out.push_back({Table::payments, e.reference});
                 },
                 [&](const PaymentFailed& e) {
                   out.push_back({Table::payments, e.reference});
                 },
                 [&](const PaymentFlagged& e) {
                   out.push_back({Table::payments, e.reference});
                 },
                 [&](const DisputeOpened& e) {
                   out.push_back({Table::disputes, e.booking_id});
                 },
                 [&](const DisputeResolved& e) {
                   out.push_back({Table::disputes, e.booking_id});
                 },
                 [&](const RefundRequested& e) {
                   out.push_back({Table::refunds, e.refund_id});
                 },
                 [&](const ChargebackOpened& e) {
                   out.push_back({Table::chargebacks, std::to_string(e.dispute_id)});
                 },
                 [&](const ChargebackUpdated& e) {
                   out.push_back({Table::chargebacks, std::to_string(e.dispute_id)});
                 },
                 [&](const ChargebackAnswered& e) {
                   out.push_back({Table::chargebacks, std::to_string(e.dispute_id)});
                 },
                 [&](const ChargebackResolved& e) {
                   out.push_back({Table::chargebacks, std::to_string(e.dispute_id)});
                   if (e.dispute_closed) out.push_back({Table::disputes, e.booking_id});
                 },
                 [&](const RefundUpdated& e) {
                   out.push_back({Table::refunds, e.refund_id});
                 },
                 [&](const RefundProcessed& e) {
                   out.push_back({Table::refunds, e.refund_id});
                 },
                 [&](const RefundFailed& e) {
                   out.push_back({Table::refunds, e.refund_id});
                 },
                 [&](const PayoutRequested& e) {
                   out.push_back({Table::payouts, e.payout_id});
                 },
                 [&](const PayoutSent& e) {
                   out.push_back({Table::payouts, e.payout_id});
                 },
                 [&](const PayoutAwaitingOtp& e) {
                   out.push_back({Table::payouts, e.payout_id});
                 },
                 [&](const PayoutSucceeded& e) {
                   out.push_back({Table::payouts, e.payout_id});
                 },
                 [&](const PayoutFailed& e) {
                   out.push_back({Table::payouts, e.payout_id});
                 },
                 [&](const PayoutReversed& e) {
                   out.push_back({Table::payouts, e.payout_id});
                 },
                 [&](const auto&) {},
             },
             event);
  return out;
}

std::vector<ProviderBalanceDelta> provider_balance_deltas(const Event& event,
                                                          const std::vector<Posting>& postings,
                                                          std::string_view booking_provider) {
  std::vector<ProviderBalanceDelta> out;
  auto delta_for = [&](std::string_view provider, Currency currency) -> ProviderBalanceDelta& {
    for (ProviderBalanceDelta& d : out) {
      if (d.provider_id == provider && d.currency == currency) return d;
    }
    out.push_back(ProviderBalanceDelta{std::string(provider), currency});
    return out.back();
  };
  auto apply = [&](const std::string& account, int64_t signed_amount, Currency currency) {
    if (account.starts_with("escrow:")) {
      delta_for(booking_provider, currency).pending_escrow += signed_amount;
    } else if (account.starts_with("provider:")) {
      size_t last = account.rfind(':');
      std::string provider = account.substr(9, last - 9);
      ProviderBalanceDelta& d = delta_for(provider, currency);
      if (account.ends_with(":available"))
        d.available += signed_amount;
      else
        d.in_flight += signed_amount;
    }
  };
  for (const Posting& p : postings) {
    apply(p.debit_account, -p.amount.amount_minor, p.amount.currency);
    apply(p.credit_account, p.amount.amount_minor, p.amount.currency);
  }
  if (const auto* r = std::get_if<FundsReleased>(&event))
    delta_for(r->provider_id, r->provider_net.currency).total_earned +=
        r->provider_net.amount_minor;
  if (const auto* r = std::get_if<DisputeResolved>(&event))
    delta_for(r->provider_id, r->provider_net.currency).total_earned +=
        r->provider_net.amount_minor;
  return out;
}

}  // namespace escrow::projections
