#include "paystack/types.h"

#include <algorithm>
#include <array>
#include <utility>

namespace escrow::paystack {

namespace {

template <class Enum, size_t N>
Enum lookup(const std::array<std::pair<Enum, const char*>, N>& table, std::string_view text,
            Enum fallback) {
  for (const auto& [value, name] : table) {
    if (text == name) return value;
  }
  return fallback;
}

template <class Enum, size_t N>
const char* name_of(const std::array<std::pair<Enum, const char*>, N>& table, Enum value) {
  for (const auto& [entry, name] : table) {
    if (entry == value) return name;
  }
  return "unknown";
}

constexpr std::array<std::pair<TransactionStatus, const char*>, 8> transaction_statuses = {{
    {TransactionStatus::success, "success"},
    {TransactionStatus::failed, "failed"},
    {TransactionStatus::abandoned, "abandoned"},
    {TransactionStatus::ongoing, "ongoing"},
    {TransactionStatus::pending, "pending"},
    {TransactionStatus::processing, "processing"},
    {TransactionStatus::queued, "queued"},
    {TransactionStatus::reversed, "reversed"},
}};

constexpr std::array<std::pair<TransferStatus, const char*>, 9> transfer_statuses = {{
    {TransferStatus::pending, "pending"},
    {TransferStatus::otp, "otp"},
    {TransferStatus::received, "received"},
    {TransferStatus::success, "success"},
    {TransferStatus::failed, "failed"},
    {TransferStatus::reversed, "reversed"},
    {TransferStatus::abandoned, "abandoned"},
    {TransferStatus::blocked, "blocked"},
    {TransferStatus::rejected, "rejected"},
}};

constexpr std::array<std::pair<RefundStatus, const char*>, 5> refund_statuses = {{
    {RefundStatus::pending, "pending"},
    {RefundStatus::processing, "processing"},
    {RefundStatus::processed, "processed"},
    {RefundStatus::failed, "failed"},
    {RefundStatus::needs_attention, "needs-attention"},
}};

}  // namespace

TransactionStatus parse_transaction_status(std::string_view text) {
  return lookup(transaction_statuses, text, TransactionStatus::unknown);
}
TransferStatus parse_transfer_status(std::string_view text) {
  return lookup(transfer_statuses, text, TransferStatus::unknown);
}
RefundStatus parse_refund_status(std::string_view text) {
  // The webhook event name spells it refund.needs-attention; accept the underscore too.
  if (text == "needs_attention") return RefundStatus::needs_attention;
  return lookup(refund_statuses, text, RefundStatus::unknown);
}
const char* transaction_status_name(TransactionStatus status) {
  return name_of(transaction_statuses, status);
}
const char* transfer_status_name(TransferStatus status) {
  return name_of(transfer_statuses, status);
}
const char* refund_status_name(RefundStatus status) {
  return name_of(refund_statuses, status);
}

bool transfer_reference_valid(std::string_view reference) {
  if (reference.size() < transfer_reference_chars_min ||
      reference.size() > transfer_reference_chars_max)
    return false;
  return std::all_of(reference.begin(), reference.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace escrow::paystack
