// Applying Paystack's word on a transaction to its booking; see payments.h.
#include "service/payments.h"

#include <rapidjson/document.h>

#include <charconv>

#include "ledger/store/read_pool.h"

namespace escrow::service {
namespace {

std::optional<int> read_installment(const rapidjson::Value& value) {
  if (value.IsInt()) return value.GetInt();
  if (!value.IsString()) return std::nullopt;
  std::string_view text(value.GetString(), value.GetStringLength());
  int number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

CapturePayment capture_of(const paystack::Transaction& tx, std::optional<int> installment,
                          std::string_view source) {
  CapturePayment c;
  c.reference = tx.reference;
  c.installment = installment;
  c.amount = tx.amount;
  c.paystack_transaction_id = tx.id;
  c.paystack_fee = tx.fees.value_or(Money{0, tx.amount.currency});
  c.channel = tx.channel;
  c.paid_at_ms = tx.paid_at_ms;
  c.source = std::string(source);
  return c;
}

std::string failure_reason(const paystack::Transaction& tx) {
  if (!tx.gateway_response.empty()) return tx.status_text + ": " + tx.gateway_response;
  return tx.status_text.empty() ? paystack::transaction_status_name(tx.status) : tx.status_text;
}

// The charge's status after the command names the outcome, so a repeated capture, a late
// failure report for a captured charge and a flagged amount all read as what they are.
Settlement settlement_of(const CommandResult& result, std::string_view reference) {
  if (result.rejection) {
    return *result.rejection == Rejection::booking_not_found ? Settlement::unknown_reference
                                                             : Settlement::refused;
  }
  if (result.states.booking) {
    for (const ChargeRecord& c : result.states.booking->charges) {
      if (c.reference != reference) continue;
      switch (c.status) {
        case ChargeStatus::captured:
          return Settlement::captured;
        case ChargeStatus::flagged:
          return Settlement::flagged;
        case ChargeStatus::failed:
          return Settlement::failed;
        case ChargeStatus::pending:
          return Settlement::in_progress;
      }
    }
  }
  return Settlement::refused;
}

}  // namespace

CheckoutMetadata read_metadata(const std::string& metadata_json) {
  CheckoutMetadata out;
  rapidjson::Document doc;
  doc.Parse(metadata_json.c_str(), metadata_json.size());
  if (!doc.HasParseError() && doc.IsString()) {
    std::string inner(doc.GetString(), doc.GetStringLength());
    doc.Parse(inner.c_str(), inner.size());
  }
  if (doc.HasParseError() || !doc.IsObject()) return out;
  auto id = doc.FindMember("booking_id");
  if (id != doc.MemberEnd() && id->value.IsString())
    out.booking_id.assign(id->value.GetString(), id->value.GetStringLength());
  auto installment = doc.FindMember("installment");
  if (installment != doc.MemberEnd()) out.installment = read_installment(installment->value);
  return out;
}

const char* settlement_name(Settlement settlement) {
  switch (settlement) {
    case Settlement::captured:
      return "captured";
    case Settlement::flagged:
      return "flagged";
    case Settlement::failed:
      return "failed";
    case Settlement::in_progress:
      return "in_progress";
    case Settlement::unknown_reference:
      return "unknown_reference";
    case Settlement::refused:
      return "refused";
  }
  return "refused";
}

Result<std::optional<std::string>> booking_of_reference(const Context& ctx,
                                                        std::string_view reference) {
  return ctx.queries.payment_booking(reference);
}

Result<SettleOutcome> settle_transaction(const Context& ctx, const paystack::Transaction& tx,
                                         std::string_view source, const CommandContext& context,
                                         MetadataFallback fallback) {
  auto known = booking_of_reference(ctx, tx.reference);
  if (!known.is_ok()) return known.status();
  CheckoutMetadata metadata = read_metadata(tx.metadata_json);
  SettleOutcome out;
  if (known.value()) {
    out.booking_id = *known.value();
  } else if (fallback == MetadataFallback::allowed) {
    out.booking_id = metadata.booking_id;
  }
  if (out.booking_id.empty()) {
    out.settlement = Settlement::unknown_reference;
    return out;
  }
  BookingCommand command;
  switch (tx.status) {
    case paystack::TransactionStatus::success:
      command = capture_of(tx, metadata.installment, source);
      break;
    case paystack::TransactionStatus::failed:
    case paystack::TransactionStatus::abandoned:
    case paystack::TransactionStatus::reversed:
      command = FailPayment{tx.reference, failure_reason(tx)};
      break;
    default:
      out.settlement = Settlement::in_progress;
      return out;
  }
  out.result = ctx.shell.execute(out.booking_id, command, context);
  if (!out.result.status.is_ok()) return out.result.status;
  out.settlement = settlement_of(out.result, tx.reference);
  return out;
}

}  // namespace escrow::service
