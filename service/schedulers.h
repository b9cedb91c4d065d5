// Time-driven work (DESIGN section 4 rule 4, section 6):
//
// - Auto-confirm: a booking in awaiting_confirmation, not yet approved, whose auto_confirm_at has
//   passed (a dispute moves the booking out of awaiting_confirmation and stops the clock) gets
//   AutoConfirm as the system actor. When that release queued a payout, the outbox is woken.
// - Pending checkouts: Paystack sends no webhook for failed or abandoned payments, so a payment
//   still pending pending_payment_check_after_ms after its checkout opened is verified with
//   GET /transaction/verify/:reference and settled like POST /payments/verify (payments.h). An
//   `abandoned` answer only means the customer has not paid yet (Paystack says it of every
//   unpaid checkout), so it fails the payment only once the checkout is abandoned_after_ms old;
//   before that it is checked again later. Each payment is verified at most once per
//   pending_payment_check_after_ms.
//
// - Expiry: a booking still awaiting_payment whose pay_by has passed gets ExpireBooking as the
//   system actor (its open checkouts are failed; DESIGN section 4). Its pending checkouts are
//   verified first, so a payment made in time whose webhook is late is held, not refunded; when
//   Paystack cannot answer, the booking waits for a later pass.
//
// - Chargebacks: Paystack's charge.dispute.* webhooks can be lost like any other, so once per
//   chargeback_check_after_ms (the first pass, then on that interval) one sweep lists Paystack's
//   disputes of the last chargeback_lookback_ms (GET /dispute) and records those never heard
//   of, then fetches every chargeback still unresolved (sync_chargeback(): GET /dispute/:id) and
//   records what Paystack has: a resolution whose webhook never came still settles the money.
//
// All read their work from the projections (bookings, payments, chargebacks tables), in bounded
// batches.
// Thread-safety: every public member may be called from any thread; passes never overlap.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ledger/store/read_pool.h"
#include "ledger/store/shell.h"
#include "paystack/client.h"
#include "service/chargebacks.h"
#include "service/context.h"
#include "service/outbox.h"
#include "service/payments.h"
#include "service/worker.h"

namespace escrow::service {

// Applies what Paystack says of a transaction (settle_transaction() in the service).
using SettleFn = std::function<Result<SettleOutcome>(const paystack::Transaction& transaction,
                                                     const CommandContext& context)>;

// Records what Paystack has of a chargeback (sync_chargeback() in the service), and the
// chargebacks Paystack opened since a time that the ledger has not heard of
// (discover_chargebacks()).
using ChargebackSyncFn =
    std::function<Result<ChargebackSync>(int64_t dispute_id, const CommandContext& context)>;
using ChargebackDiscoverFn =
    std::function<Result<ChargebackDiscovery>(int64_t since_ms, const CommandContext& context)>;

// The parts the schedulers use; a test may give its own settle function.
struct SchedulerDeps {
  const Clock& clock;
  CommandShell& shell;
  projections::Queries& queries;
  paystack::Client& paystack;
  SettleFn settle;
  std::function<void()> payout_queued;  // wakes the outbox
  ChargebackSyncFn sync_chargeback;     // empty: chargebacks are not checked
  ChargebackDiscoverFn discover_chargebacks;
};

class Schedulers {
 public:
  static constexpr int batch_max = 100;          // bookings or payments per pass
  static constexpr int chargebacks_max = 1'000;  // unresolved chargebacks looked at per pass
  static constexpr int64_t abandoned_after_ms = 24LL * 3600 * 1000;

  struct Options {
    int64_t interval_ms = 1000;
    int64_t pending_payment_check_after_ms = 15 * 60 * 1000;
    int64_t chargeback_check_after_ms = 60 * 60 * 1000;
    int64_t chargeback_lookback_ms = 120LL * 24 * 3600 * 1000;  // Paystack's disputes listed
  };

  // Over the service's parts: payments are settled with settle_transaction() (no metadata
  // fallback), and `money_queued` (the outbox's wake) is called after a command queued money.
  Schedulers(const Context& context, std::function<void()> money_queued, Options options)
      : Schedulers(SchedulerDeps{
                       context.clock, context.shell, context.queries, context.paystack,
                       [context](const paystack::Transaction& tx, const CommandContext& command) {
                         return settle_transaction(context, tx, "verify", command,
                                                   MetadataFallback::refused);
                       },
                       std::move(money_queued),
                       [context](int64_t dispute_id, const CommandContext& command) {
                         return sync_chargeback(context, dispute_id, command);
                       },
                       [context](int64_t since_ms, const CommandContext& command) {
                         return discover_chargebacks(context, since_ms, command);
                       }},
                   options) {}
  Schedulers(SchedulerDeps deps, Options options);
  ~Schedulers();  // stop()
  Schedulers(const Schedulers&) = delete;
  Schedulers& operator=(const Schedulers&) = delete;

  void start();  // idempotent
  void stop();   // idempotent; waits for the pass in progress
  // One pass of every job. Not ok when storage failed; Paystack errors only delay a check.
  Status run_once();

 private:
  int64_t pass();  // run_once(), logged; the worker's pass
  Status auto_confirm_due();
  Status expire_due();
  Status check_pending_payments();
  Status check_payment(const std::string& reference, int64_t created_at_ms);
  Status check_chargebacks();

  SchedulerDeps deps_;
  Options options_;

  std::mutex pass_mutex_;                           // one pass at a time
  std::mutex mutex_;                                // guards the member below
  std::map<std::string, int64_t> last_checked_ms_;  // payment reference -> last verify
  std::optional<int64_t> chargebacks_swept_ms_;     // the last chargeback sweep

  Worker worker_;  // last: its thread stops before the members above go
};

}  // namespace escrow::service
