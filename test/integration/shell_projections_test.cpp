// The command shell (ledger/store/shell.h) and the inline projections (projections/live.h,
// projections/rebuild.h) together, on real SQLite files.
//
// How: each test migrates a fresh database in its own temporary directory, opens the event store
// with group commit, and drives bookings through CommandShell exactly as the HTTP service will.
// It then reads the projection tables with SQL and checks what a user of the API would see
// (statuses, balances, payouts), that a release pays the provider out in the same atomic append,
// that a stale cached state is re-decided after a version conflict (also for a command submitted
// without waiting, answered once from the writer), that a withdrawal is checked
// against the available balance, and that the live tables always equal a fresh rebuild: verify()
// passes, rebuild() reports no drift, a hand-edited projection row is reported as drift and
// repaired, and a projection whose recorded version is stale is rebuilt by rebuild_stale(); a
// chargeback after payout shows in the chargebacks table and takes the provider's balance below
// zero (blocking withdrawals) while verify passes, and verify names a chargeback resolved twice.
#include <stdlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/store/event_store.h"
#include "ledger/store/shell.h"
#include "projections/live.h"
#include "projections/rebuild.h"
#include "test/ledger_db.h"

using namespace escrow;

namespace {

const Actor service{"marketplace", Role::service};
const Actor admin{"admin-1", Role::admin};
const Actor paystack_system{"paystack", Role::system};

struct Fixture : LedgerDb {
  CommandResult run(const std::string& booking, BookingCommand command, Actor actor) {
    CommandResult r =
        shell->execute(booking, command, CommandContext{std::move(actor), {}, {}, {}, {}});
    REQUIRE(r.status.is_ok());
    return r;
  }
  CommandResult run_provider(const std::string& provider, ProviderCommand command, Actor actor) {
    CommandResult r =
        shell->execute(provider, command, CommandContext{std::move(actor), {}, {}, {}, {}});
    REQUIRE(r.status.is_ok());
    return r;
  }

  void create(const std::string& id, int64_t amount, PaymentPlan plan = PaymentPlan::full) {
    CreateBooking c{id,           "client-1",
                    "provider-1", "ada@example.com",
                    "Deep clean", Money{amount, Currency::NGN},
                    plan,         plan == PaymentPlan::split ? 3000 : 0,
                    500,          3 * 24 * 3600,
                    std::nullopt};
    REQUIRE(run(id, c, service).ok());
  }

  // Opens a checkout for what is due and captures it, as a verified charge.success would.
  void pay_next(const std::string& id) {
    auto state = shell->load_booking(id);
    REQUIRE(state.is_ok());
    auto due = next_payment(state.value(), clock.now_ms());
    REQUIRE(std::holds_alternative<PaymentDue>(due));
    const PaymentDue& d = std::get<PaymentDue>(due);
    REQUIRE(run(id,
                InitiatePayment{d.reference, d.installment, d.amount, "https://checkout/x", "x"},
                Actor{"client-1", Role::client})
                .ok());
    REQUIRE(run(id,
                CapturePayment{d.reference, std::nullopt, d.amount, 4'100'000'000LL + d.installment,
                               Money{100, Currency::NGN}, "card", std::nullopt, "webhook"},
                paystack_system)
                .ok());
  }
};

}  // namespace

TEST_CASE("a booking paid, proven and approved shows as released and pays the provider out") {
  Fixture f;
  REQUIRE(f.run_provider("provider-1",
                         RegisterPayoutAccount{"RCP_1", "058", "Bola", "6789", Currency::NGN},
                         service)
              .ok());
  f.create("b1", 1'000'000);
  f.pay_next("b1");
  CHECK(f.text("SELECT status || '/' || payment_status FROM bookings WHERE id='b1'") ==
        "pending_execution/escrow");
  CHECK(f.integer("SELECT escrow_balance FROM bookings WHERE id='b1'") == 1'000'000);
  CHECK(f.integer("SELECT pending_escrow FROM provider_balances WHERE provider_id='provider-1'") ==
        1'000'000);

  REQUIRE(f.run("b1", SubmitProof{"done", {}, {}}, Actor{"provider-1", Role::provider}).ok());
  CommandResult approved = f.run("b1", ConfirmCompletion{}, Actor{"client-1", Role::client});
  REQUIRE(approved.ok());
  // One atomic append wrote the approval, the release and the provider's payout.
  std::vector<std::string> types;
  for (const RecordedEvent& e : approved.events) types.push_back(e.type);
  CHECK(types ==
        std::vector<std::string>{"CompletionConfirmed", "FundsReleased", "PayoutRequested"});

  CHECK(f.text("SELECT status || '/' || payment_status FROM bookings WHERE id='b1'") ==
        "completed/released");
  CHECK(f.integer("SELECT platform_fee FROM bookings WHERE id='b1'") == 50'000);
  CHECK(f.text("SELECT status || '/' || amount FROM payouts WHERE booking_id='b1'") ==
        "queued/950000");
  CHECK(f.integer("SELECT in_flight FROM provider_balances WHERE provider_id='provider-1'") ==
        950'000);
  CHECK(f.integer("SELECT total_earned FROM provider_balances WHERE provider_id='provider-1'") ==
        950'000);
  CHECK(f.integer("SELECT balance FROM account_balances WHERE account='platform:fees'") == 50'000);
  CHECK(f.integer("SELECT SUM(balance) FROM account_balances") == 0);

  std::string payout = f.text("SELECT payout_id FROM payouts WHERE booking_id='b1'");
  REQUIRE(f.run_provider("provider-1",
                         RecordPayoutOutcome{payout, PayoutStatus::success, "TRF_1", 77, ""},
                         paystack_system)
              .ok());
  CHECK(f.integer("SELECT in_flight FROM provider_balances WHERE provider_id='provider-1'") == 0);
  CHECK(f.text("SELECT status FROM payouts WHERE payout_id='" + payout + "'") == "success");
  f.expect_verified();
}

TEST_CASE("a withdrawal is checked against the available balance the projections hold") {
  Fixture f;
  f.create("b1", 200'000);
  f.pay_next("b1");
  REQUIRE(f.run("b1", ConfirmCompletion{}, admin).ok());  // released; no payout account yet
  CHECK(f.integer("SELECT available FROM provider_balances WHERE provider_id='provider-1'") ==
        190'000);
  Actor provider{"provider-1", Role::provider};
  CHECK(f.run_provider("provider-1", RequestWithdrawal{Money{10'000, Currency::NGN}, {}, {}},
                       provider)
            .rejection == Rejection::payout_account_missing);
  REQUIRE(f.run_provider("provider-1",
                         RegisterPayoutAccount{"RCP_1", "058", "Bola", "6789", Currency::NGN},
                         provider)
              .ok());
  // The shell fetches the balance itself: whatever the caller claims is ignored.
  CHECK(f.run_provider("provider-1",
                       RequestWithdrawal{
                           Money{190'001, Currency::NGN}, Money{999'999'999, Currency::NGN}, {}},
                       provider)
            .rejection == Rejection::insufficient_balance);
  REQUIRE(f.run_provider("provider-1", RequestWithdrawal{Money{150'000, Currency::NGN}, {}, {}},
                         provider)
              .ok());
  CHECK(f.integer("SELECT available FROM provider_balances WHERE provider_id='provider-1'") ==
        40'000);
  CHECK(f.run_provider("provider-1", RequestWithdrawal{Money{50'000, Currency::NGN}, {}, {}},
                       provider)
            .rejection == Rejection::insufficient_balance);
  f.expect_verified();
}

TEST_CASE("a shell deciding on a stale cached state re-decides after the conflict") {
  Fixture f;
  f.create("b1", 500'000);
  CommandShell other(*f.store, f.live, f.clock);
  REQUIRE(other.load_booking("b1").is_ok());  // caches version 1
  f.pay_next("b1");                           // moves the stream on through the first shell
  // The second shell's cache is stale; its append conflicts, it reloads and decides again.
  CommandResult r = other.execute("b1", CancelBooking{"changed plans"},
                                  CommandContext{Actor{"client-1", Role::client}, {}, {}, {}, {}});
  REQUIRE(r.ok());
  CHECK(r.events.size() == 2);  // BookingCancelled + the refund of what was captured meanwhile
  CHECK(f.text("SELECT status || '/' || payment_status FROM bookings WHERE id='b1'") ==
        "cancelled/refunding");
  CHECK(f.integer("SELECT COUNT(*) FROM refunds WHERE booking_id='b1'") == 1);
  f.expect_verified();
}

TEST_CASE("a submitted command on a stale cached state is decided again and answered once") {
  Fixture f;
  f.create("b1", 500'000);
  CommandShell other(*f.store, f.live, f.clock);
  REQUIRE(other.load_booking("b1").is_ok());  // caches version 1
  f.pay_next("b1");
  std::promise<CommandResult> answered;
  std::atomic<int> answers{0};
  other.submit("b1", CancelBooking{"changed plans"},
               CommandContext{Actor{"client-1", Role::client}, {}, {}, {}, {}},
               [&](CommandResult result) {
                 if (++answers == 1) answered.set_value(std::move(result));
               });
  std::future<CommandResult> result = answered.get_future();
  REQUIRE(result.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CommandResult r = result.get();
  REQUIRE(r.ok());
  CHECK(r.events.size() == 2);  // decided again on the paid booking: cancelled and refunded
  CHECK(answers == 1);
  CHECK(f.text("SELECT status || '/' || payment_status FROM bookings WHERE id='b1'") ==
        "cancelled/refunding");
  f.expect_verified();
}

TEST_CASE("commands submitted from one thread without waiting all commit, releases with payouts") {
  Fixture f;
  REQUIRE(f.run_provider("provider-1",
                         RegisterPayoutAccount{"RCP_1", "058", "Bola", "6789", Currency::NGN},
                         service)
              .ok());
  constexpr int bookings = 60;
  for (int i = 0; i < bookings; ++i) {
    f.create("b" + std::to_string(i), 100'000);
    f.pay_next("b" + std::to_string(i));
  }
  // Every release at once from this thread: each appends to its booking and to the one provider
  // stream, so most are decided again after a conflict on the provider stream.
  std::mutex mutex;
  std::condition_variable all_in;
  int ok = 0, answered = 0;
  for (int i = 0; i < bookings; ++i) {
    f.shell->submit("b" + std::to_string(i), ConfirmCompletion{},
                    CommandContext{admin, {}, {}, {}, {}}, [&](CommandResult r) {
                      std::lock_guard lock(mutex);
                      if (r.ok()) ++ok;
                      if (++answered == bookings) all_in.notify_all();
                    });
  }
  {
    std::unique_lock lock(mutex);
    REQUIRE(all_in.wait_for(lock, std::chrono::seconds(30), [&] { return answered == bookings; }));
  }
  CHECK(ok == bookings);
  CHECK(f.integer("SELECT COUNT(*) FROM bookings WHERE status='completed'") == bookings);
  CHECK(f.integer("SELECT COUNT(*) FROM payouts WHERE provider_id='provider-1'") == bookings);
  f.expect_verified();
}

TEST_CASE("concurrent commands on many bookings keep the projections equal to a rebuild") {
  Fixture f;
  // Catch2 assertions are not thread-safe: the threads count what went wrong instead.
  std::atomic<int> failures{0};
  auto run = [&](const std::string& id, BookingCommand command, Actor actor) {
    CommandResult r =
        f.shell->execute(id, command, CommandContext{std::move(actor), {}, {}, {}, {}});
    if (!r.status.is_ok()) ++failures;
    return r;
  };
  auto pay_next = [&](const std::string& id) {
    auto state = f.shell->load_booking(id);
    if (!state.is_ok()) return (void)++failures;
    auto due = next_payment(state.value(), f.clock.now_ms());
    if (!std::holds_alternative<PaymentDue>(due)) return (void)++failures;
    const PaymentDue& d = std::get<PaymentDue>(due);
    if (!run(id, InitiatePayment{d.reference, d.installment, d.amount, "u", "a"},
             Actor{"client-1", Role::client})
             .ok())
      ++failures;
    if (!run(id,
             CapturePayment{d.reference, std::nullopt, d.amount, 1, Money{0, Currency::NGN}, "card",
                            std::nullopt, "webhook"},
             paystack_system)
             .ok())
      ++failures;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string id = "b" + std::to_string(t) + "-" + std::to_string(i);
        bool split = i % 3 == 0;
        CreateBooking c{id,
                        "client-1",
                        "provider-1",
                        "ada@example.com",
                        "Deep clean",
                        Money{100'000 + i * 1000, Currency::NGN},
                        split ? PaymentPlan::split : PaymentPlan::full,
                        split ? 3000 : 0,
                        500,
                        3 * 24 * 3600,
                        std::nullopt};
        if (!run(id, c, service).ok()) ++failures;
        pay_next(id);
        if (split) pay_next(id);
        if (i % 4 == 0) {
          run(id, OpenDispute{"late", "never came", DisputeSource::party, std::nullopt},
              Actor{"client-1", Role::client});
          if (run(id, ResolveDispute{ResolutionOutcome::split, 30'000, std::nullopt, "half"}, admin)
                  .rejection != Rejection::invalid_resolution)
            ++failures;
          if (!run(id,
                   ResolveDispute{ResolutionOutcome::refund, std::nullopt, std::nullopt, "refund"},
                   admin)
                   .ok())
            ++failures;
        } else if (!run(id, ConfirmCompletion{}, admin).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(f.integer("SELECT COUNT(*) FROM bookings") == 100);
  CHECK(f.integer("SELECT COUNT(*) FROM bookings WHERE status='refunded'") == 28);
  CHECK(f.integer("SELECT COUNT(*) FROM bookings WHERE status='completed'") == 72);
  f.expect_verified();

  sqlite::Db db = f.connect(sqlite::Db::Mode::read_write);
  auto rebuilt = projections::rebuild(db, {});
  REQUIRE(rebuilt.is_ok());
  CHECK(rebuilt->differed.empty());
  CHECK(rebuilt->events == f.store->last_seq());
}

TEST_CASE("drift in a projection table is reported by verify and repaired by rebuild") {
  Fixture f;
  f.create("b1", 300'000);
  f.pay_next("b1");
  sqlite::Db db = f.connect(sqlite::Db::Mode::read_write);
  REQUIRE(db.exec("UPDATE bookings SET escrow_balance = 1 WHERE id = 'b1'").is_ok());
  auto report = projections::verify(db);
  REQUIRE(report.is_ok());
  REQUIRE_FALSE(report->ok());
  CHECK(report->problems.front().find("bookings") != std::string::npos);

  auto rebuilt = projections::rebuild(db, projections::RebuildOptions{"bookings", {}});
  REQUIRE(rebuilt.is_ok());
  CHECK(rebuilt->differed == std::vector<std::string>{"bookings"});
  CHECK(f.integer("SELECT escrow_balance FROM bookings WHERE id='b1'") == 300'000);
  f.expect_verified();

  CHECK(projections::rebuild(db, projections::RebuildOptions{"nonsense", {}}).status().code() ==
        StatusCode::invalid_argument);
}

TEST_CASE("a projection recorded with an older code version is rebuilt by rebuild_stale") {
  Fixture f;
  f.create("b1", 300'000);
  sqlite::Db db = f.connect(sqlite::Db::Mode::read_write);
  auto first = projections::rebuild_stale(db);  // nothing recorded yet: every projection
  REQUIRE(first.is_ok());
  CHECK(first->size() == projections::projection_names().size());
  auto second = projections::rebuild_stale(db);
  REQUIRE(second.is_ok());
  CHECK(second->empty());
  REQUIRE(db.exec("UPDATE projection_versions SET version = '0' WHERE name = 'payouts'").is_ok());
  auto third = projections::rebuild_stale(db);
  REQUIRE(third.is_ok());
  CHECK(*third == std::vector<std::string>{"payouts"});
}

TEST_CASE("verify names the seq of an event altered behind the triggers' back") {
  Fixture f;
  f.create("b1", 300'000);
  f.pay_next("b1");
  f.create("b2", 400'000);
  sqlite::Db db = f.connect(sqlite::Db::Mode::read_write);
  int64_t seq = f.integer("SELECT seq FROM events WHERE type='PaymentCaptured'");
  REQUIRE(db.exec("DROP TRIGGER IF EXISTS events_no_update").is_ok());
  // Whatever the trigger is called, an UPDATE must not pass with it in place; drop every trigger.
  auto triggers =
      db.prepare("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='events'");
  REQUIRE(triggers.is_ok());
  std::vector<std::string> names;
  while (triggers->step().value()) names.push_back(triggers->column_text(0));
  triggers = sqlite::Stmt();
  for (const std::string& name : names) REQUIRE(db.exec("DROP TRIGGER " + name).is_ok());
  REQUIRE(db.exec("UPDATE events SET data = replace(data, '300000', '900000') WHERE seq = " +
                  std::to_string(seq))
              .is_ok());
  auto report = projections::verify(db);
  REQUIRE(report.is_ok());
  REQUIRE_FALSE(report->ok());
  CHECK(report->first_bad_seq == seq);
  CHECK(report->problems.front().find("seq " + std::to_string(seq)) != std::string::npos);
}

TEST_CASE("a chargeback after payout shows in the projections, and verify checks its split") {
  Fixture f;
  REQUIRE(f.run_provider("provider-1",
                         RegisterPayoutAccount{"RCP_1", "058", "Bola", "6789", Currency::NGN},
                         service)
              .ok());
  f.create("b1", 1'000'000);
  f.pay_next("b1");
  REQUIRE(f.run("b1", SubmitProof{"done", {}, {}}, Actor{"provider-1", Role::provider}).ok());
  REQUIRE(f.run("b1", ConfirmCompletion{}, Actor{"client-1", Role::client}).ok());
  std::string payout = f.text("SELECT payout_id FROM payouts WHERE booking_id='b1'");
  REQUIRE(f.run_provider("provider-1",
                         RecordPayoutOutcome{payout, PayoutStatus::success, "TRF_1", 77, ""},
                         paystack_system)
              .ok());
  std::string reference = f.text("SELECT reference FROM payments WHERE booking_id='b1'");
  RecordChargeback report{358951,
                          reference,
                          Money{1'000'000, Currency::NGN},
                          ChargebackStatus::awaiting_merchant_feedback,
                          std::nullopt,
                          1'800'000'000'000};
  REQUIRE(f.run("b1", report, paystack_system).ok());
  CHECK(f.text("SELECT status || '/' || resolution FROM chargebacks WHERE dispute_id=358951") ==
        "awaiting-merchant-feedback/");
  CHECK(f.integer("SELECT due_at FROM chargebacks WHERE dispute_id=358951") == 1'800'000'000'000);
  report.status = ChargebackStatus::resolved;
  report.resolution = ChargebackResolution::merchant_accepted;
  REQUIRE(f.run("b1", report, paystack_system).ok());

  CHECK(f.text("SELECT resolution FROM chargebacks WHERE dispute_id=358951") ==
        "merchant-accepted");
  CHECK(f.integer("SELECT from_provider FROM chargebacks WHERE dispute_id=358951") == 950'000);
  CHECK(f.integer("SELECT platform_loss FROM chargebacks WHERE dispute_id=358951") == 50'000);
  CHECK(f.integer("SELECT available FROM provider_balances WHERE provider_id='provider-1'") ==
        -950'000);
  CHECK(f.integer("SELECT balance FROM account_balances WHERE "
                  "account='platform:chargeback_losses'") == -50'000);
  CHECK(f.integer("SELECT SUM(balance) FROM account_balances") == 0);
  CHECK(f.text("SELECT status FROM bookings WHERE id='b1'") == "completed");
  // The debt blocks withdrawals.
  CommandResult withdrawal = f.run_provider(
      "provider-1", RequestWithdrawal{Money{1, Currency::NGN}, Money{}, std::nullopt},
      Actor{"provider-1", Role::provider});
  CHECK(withdrawal.rejection == Rejection::insufficient_balance);
  f.expect_verified();

  // The same chargeback resolved a second time, appended behind the decider's back: verify
  // names it instead of counting the money twice.
  auto state = f.shell->load_booking("b1");
  REQUIRE(state.is_ok());
  ChargebackResolved twice{"b1",
                           "provider-1",
                           358951,
                           ChargebackResolution::merchant_accepted,
                           Money{1'000'000, Currency::NGN},
                           Money{0, Currency::NGN},
                           Money{950'000, Currency::NGN},
                           Money{50'000, Currency::NGN},
                           false,
                           std::nullopt};
  AppendOutcome out = f.store->append(AppendCommand{
      {StreamAppend{booking_stream("b1"),
                    state->version,
                    {to_new_event(Event{twice}, encode_meta(EventMeta{"x", Role::system}))}}},
      {}});
  REQUIRE(out.status.is_ok());
  sqlite::Db db = f.connect(sqlite::Db::Mode::read_only);
  auto report_after = projections::verify(db);
  REQUIRE(report_after.is_ok());
  REQUIRE_FALSE(report_after->ok());
  CHECK(report_after->first_bad_seq == out.events.front().seq);
  CHECK(report_after->problems.front().find("chargeback 358951") != std::string::npos);
}
