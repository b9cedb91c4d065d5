// Opening checkouts and checking payments; see checkout.h.
#include "service/checkout.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <variant>

namespace escrow::service {

namespace {

// {booking_id, installment}: what read_metadata() reads back (payments.h).
std::string checkout_metadata(const std::string& booking_id, int installment) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("booking_id");
  w.String(booking_id.data(), static_cast<rapidjson::SizeType>(booking_id.size()));
  w.Key("installment");
  w.Int64(installment);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

paystack::InitializeTransactionRequest checkout_request(const BookingState& state,
                                                        const PaymentDue& due,
                                                        const std::string& callback_url) {
  paystack::InitializeTransactionRequest r;
  r.email = state.terms.client_email;
  r.amount = due.amount;
  r.reference = due.reference;
  r.callback_url = callback_url;
  r.metadata_json = checkout_metadata(state.terms.booking_id, due.installment);
  return r;
}

// A checkout Paystack holds for `due.reference` that we never recorded: record it (without its
// URL, which Paystack does not give twice) and apply what Paystack says of it. True when the
// caller may decide again; otherwise `out` says why not.
Result<bool> adopt_checkout(const Context& ctx, const std::string& id, const PaymentDue& due,
                            const CommandContext& command, CheckoutOutcome& out) {
  auto tx = ctx.paystack.verify_transaction(due.reference);
  if (!tx.is_ok()) {
    out.paystack = tx.error();
    return false;
  }
  CommandResult recorded = ctx.shell.execute(
      id, InitiatePayment{due.reference, due.installment, due.amount, "", ""}, command);
  if (!recorded.ok()) {
    out.failed = std::move(recorded);
    return false;
  }
  auto settled = settle_transaction(ctx, tx.value(), "verify", command);
  if (!settled.is_ok()) return settled.status();
  if (settled->settlement == Settlement::refused && settled->result.rejection) {
    out.refused = settled->result.rejection;
    return false;
  }
  out.money_queued = out.money_queued || queued_money(settled->result);
  return true;
}

}  // namespace

bool queued_money(const CommandResult& result) {
  for (const RecordedEvent& e : result.events) {
    if (e.type == PayoutRequested::type || e.type == RefundRequested::type) return true;
  }
  return false;
}

Result<CheckoutOutcome> Checkouts::open(const std::string& booking_id,
                                        const std::string& callback_url,
                                        const CommandContext& command) {
  std::lock_guard lock(lock_of(booking_id));
  CheckoutOutcome out;
  for (int attempt = 1; attempt <= attempts_max; ++attempt) {
    auto state = context_.shell.load_booking(booking_id);
    if (!state.is_ok()) return state.status();
    auto due = next_payment(state.value(), context_.clock.now_ms());
    if (auto* refused = std::get_if<Rejection>(&due)) {
      out.refused = *refused;
      return out;
    }
    const PaymentDue& d = std::get<PaymentDue>(due);
    if (const ChargeRecord* pending = pending_checkout(state.value(), d.installment)) {
      out.opened = CheckoutOutcome::Opened{
          PaymentDue{pending->installment, pending->amount, pending->reference},
          paystack::InitializedTransaction{pending->authorization_url, pending->access_code,
                                           pending->reference},
          state.value(), /*reused=*/true};
      return out;
    }
    auto checkout =
        context_.paystack.initialize_transaction(checkout_request(state.value(), d, callback_url));
    if (checkout.is_ok()) {
      CommandResult result = context_.shell.execute(
          booking_id,
          InitiatePayment{d.reference, d.installment, d.amount, checkout->authorization_url,
                          checkout->access_code},
          command);
      if (!result.ok()) {
        out.failed = std::move(result);
      } else {
        out.opened = CheckoutOutcome::Opened{d, checkout.value(), *result.states.booking, false};
      }
      return out;
    }
    if (checkout.error().kind != paystack::ErrorKind::duplicate_transaction_reference) {
      out.paystack = checkout.error();
      return out;
    }
    auto again = adopt_checkout(context_, booking_id, d, command, out);
    if (!again.is_ok()) return again.status();
    if (!again.value()) return out;
  }
  return out;  // every attempt met a held reference
}

Result<PaymentCheck> check_payment(const Context& ctx, const std::string& reference,
                                   const std::optional<std::string>& known_booking,
                                   const CommandContext& command) {
  PaymentCheck out;
  auto tx = ctx.paystack.verify_transaction(reference);
  if (!tx.is_ok()) {
    if (tx.error().kind == paystack::ErrorKind::not_found) {
      out.unknown = true;
    } else {
      out.paystack = tx.error();
    }
    return out;
  }
  if (tx->status == paystack::TransactionStatus::abandoned) {
    if (!known_booking) {
      out.unknown = true;
    } else {
      out.settled = SettleOutcome{Settlement::in_progress, *known_booking, {}};
    }
    return out;
  }
  auto settled = settle_transaction(ctx, tx.value(), "verify", command);
  if (!settled.is_ok()) return settled.status();
  out.settled = std::move(settled).value();
  return out;
}

}  // namespace escrow::service
