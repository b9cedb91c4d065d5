// Reconciliation (DESIGN section 6): what Paystack holds for a period, compared with the ledger,
// and what the ledger missed recorded through the same commands a webhook would execute.
//
// reconcile_compare() lists Paystack's transactions, transfers and refunds created in the period
// (every page) and compares each with the projections (payments, payouts and refunds tables);
// then it takes the ledger's charges, payouts and refunds created in the period that no list
// named and looks each up at Paystack by its reference, so the edge of the period never reads as
// a difference. It only reads. Differences (Difference::kind), and the fix where there is one:
//   missed_capture           Paystack: success; ledger: payment pending, failed or absent (with
//                            a booking of ours in the metadata).   fix: settle_transaction
//   missed_failure           Paystack: failed or reversed; ledger: pending.
//                                                                  fix: settle_transaction
//   charge_not_in_ledger     Paystack: success; no booking of ours knows the reference.
//   capture_not_at_paystack  ledger: captured; Paystack does not know the reference.
//   charge_status            ledger: captured; Paystack: failed, abandoned, or reversed without
//                            the ledger's refunds (not failed) covering the amount.
//   amount_mismatch          the same charge, transfer or refund with another amount or currency.
//   transfer_status          the payout's status differs from payout_status_of(the transfer).
//                            fix, while the ledger may still move: RecordPayoutOutcome
//   transfer_not_in_ledger   a transfer whose reference is no payout of ours.
//   payout_not_at_paystack   ledger: payout sent (pending, otp, success); Paystack does not know
//   it. refund_status            the refund's status differs from refund_status_of(the refund).
//                            fix, while the ledger's refund is not final: RecordRefundOutcome
//   refund_not_in_ledger     a refund at Paystack that no refund of ours matches.
//   refund_not_at_paystack   ledger: refund sent; Paystack has no matching refund.
// A payment still in progress at Paystack (ongoing, pending, an abandoned checkout) against a
// pending ledger payment is no difference: the pending-checkout scheduler owns it.
//
// reconcile_apply() executes the fixes as the system actor "reconcile". Commands are idempotent
// against a running escrowd: the shell refreshes its cached stream states from the log before
// deciding and appends with expected versions, so an outcome escrowd records at the same moment
// either conflicts and is re-decided or turns the other into a no-op.
//
// Thread-safety: single-threaded use; the Paystack client and Services are used as documented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ledger/decider.h"
#include "ledger/store/sqlite.h"
#include "paystack/client.h"
#include "service/context.h"

namespace escrow::service {

struct ReconcilePeriod {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
};

// What apply() executes for a difference.
struct SettleFix {
  paystack::Transaction transaction;
};
struct PayoutFix {
  std::string provider_id;
  PayoutStatus ledger_status = PayoutStatus::queued;
  paystack::Transfer transfer;
};
struct RefundFix {
  std::string booking_id, refund_id;
  RefundStatus status = RefundStatus::pending;
  int64_t paystack_refund_id = 0;
};
using Fix = std::variant<std::monostate, SettleFix, PayoutFix, RefundFix>;

struct Difference {
  std::string kind;                       // see the list above
  std::string reference;                  // transaction or transfer reference, or our refund id
  std::optional<std::string> booking_id;  // when known
  std::string ledger;                     // what the ledger says, for people
  std::string paystack;                   // what Paystack says, for people
  std::string action;                     // what apply() does, or why it leaves it to a person
  Fix fix;                                // monostate: nothing to apply
  bool applied = false;                   // set by apply()
  std::string outcome;                    // set by apply(): "captured", "refused: ...", ...
};

struct ReconcileReport {
  ReconcilePeriod period;
  int64_t transactions = 0, transfers = 0, refunds = 0;  // Paystack objects checked
  std::vector<Difference> differences;
  int64_t applied = 0;
};

inline constexpr int reconcile_page_size = 100;

// `db` is a read connection to the escrow database at the current schema. Not ok for a storage
// error or when Paystack could not be read (the error names the call; never the key).
Result<ReconcileReport> reconcile_compare(sqlite::Db& db, paystack::Client& paystack,
                                          const ReconcilePeriod& period);

// Executes every difference's fix; `applied` and `outcome` tell what happened to each, and
// report.applied counts those now recorded. Not ok only for a storage error.
Status reconcile_apply(const Context& context, ReconcileReport& report);

}  // namespace escrow::service
