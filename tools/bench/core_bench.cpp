#include "core_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "ledger/store/event_store.h"
#include "ledger/store/migrations.h"
#include "ledger/store/shell.h"
#include "projections/live.h"
#include "projections/rebuild.h"

namespace escrow::bench {

namespace {

using Clock = std::chrono::steady_clock;

// A clock days ahead of the real one: the scheduler's view when auto-confirm deadlines passed.
class AheadClock final : public escrow::Clock {
 public:
  int64_t now_ms() const override { return SystemClock().now_ms() + 30LL * 24 * 3600 * 1000; }
};

struct Totals {
  std::mutex mutex;
  std::vector<int64_t> latencies_ns;
  int64_t commands = 0, rejections = 0, errors = 0, events = 0;
  std::string first_error;
};

// Paystack's NGN local card fee: 1.5% + NGN 100 (waived under NGN 2,500), capped at NGN 2,000.
int64_t paystack_fee(int64_t amount_minor) {
  int64_t fee = amount_minor * 150 / 10000 + (amount_minor >= 250000 ? 10000 : 0);
  return std::min<int64_t>(fee, 200000);
}

class Driver {
 public:
  Driver(CommandShell& shell, CommandShell& scheduler, const CoreOptions& options,
         int64_t providers, uint64_t seed)
      : shell_(shell),
        scheduler_(scheduler),
        options_(options),
        providers_(providers),
        rng_(seed) {}

  void lifecycle(int64_t n);
  void register_account(int64_t provider);
  void merge_into(Totals& totals);

 private:
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }

  template <class Id, class Command>
  CommandResult run(CommandShell& shell, const Id& id, const Command& command, Actor actor);
  bool pay(const std::string& id, const Actor& client);
  void settle(const CommandResult& result);
  void settle_payout(const PayoutRequested& p);
  void settle_refund(const RefundRequested& r);
  void withdraw(const std::string& provider_id);

  CommandShell& shell_;
  CommandShell& scheduler_;
  const CoreOptions& options_;
  int64_t providers_;
  std::mt19937_64 rng_;
  std::vector<int64_t> latencies_ns_;
  int64_t commands_ = 0, rejections_ = 0, errors_ = 0, events_ = 0;
  std::string first_error_;
  int64_t next_transaction_id_ = 4'000'000'000;
};

template <class Id, class Command>
CommandResult Driver::run(CommandShell& shell, const Id& id, const Command& command, Actor actor) {
  auto start = Clock::now();
  CommandResult result =
      shell.execute(id, command, CommandContext{std::move(actor), {}, {}, {}, {}});
  latencies_ns_.push_back(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
  ++commands_;
  if (!result.status.is_ok()) {
    ++errors_;
    if (first_error_.empty()) first_error_ = result.status.to_string();
  } else if (result.rejection) {
    ++rejections_;
  }
  events_ += static_cast<int64_t>(result.events.size());
  return result;
}

void Driver::register_account(int64_t provider) {
  std::string id = "provider-" + std::to_string(provider);
  run(shell_, id,
      ProviderCommand{RegisterPayoutAccount{"RCP_" + std::to_string(provider), "058",
                                            "Provider " + std::to_string(provider), "1234",
                                            Currency::NGN}},
      Actor{"marketplace", Role::service});
}

bool Driver::pay(const std::string& id, const Actor& client) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto state = shell_.load_booking(id);
    if (!state.is_ok()) return false;
    auto due = next_payment(state.value(), SystemClock().now_ms());
    if (!std::holds_alternative<PaymentDue>(due))
      return std::get<Rejection>(due) == Rejection::nothing_due;
    const PaymentDue& d = std::get<PaymentDue>(due);
    std::string access = "ac" + d.reference.substr(3, 12) + std::to_string(d.installment);
    auto init =
        run(shell_, id,
            BookingCommand{InitiatePayment{d.reference, d.installment, d.amount,
                                           "https://checkout.paystack.com/" + access, access}},
            client);
    if (!init.ok()) return false;
    if (chance(0.08)) {  // the card was declined; the client tries again
      run(shell_, id, BookingCommand{FailPayment{d.reference, "Declined"}},
          Actor{"paystack", Role::system});
      continue;
    }
    CapturePayment capture{d.reference,
                           d.installment,
                           d.amount,
                           ++next_transaction_id_,
                           Money{paystack_fee(d.amount.amount_minor), d.amount.currency},
                           "card",
                           SystemClock().now_ms(),
                           "webhook"};
    CommandResult captured =
        run(shell_, id, BookingCommand{capture}, Actor{"paystack", Role::system});
    settle(captured);
    if (chance(0.03))
      run(shell_, id, BookingCommand{capture},
          Actor{"paystack", Role::system});  // a duplicate webhook
  }
  return true;
}

void Driver::settle_payout(const PayoutRequested& p) {
  Actor system{"paystack", Role::system};
  run(shell_, p.provider_id,
      ProviderCommand{RecordPayoutOutcome{p.payout_id, PayoutStatus::pending,
                                          "TRF_" + p.payout_id.substr(3, 10), std::nullopt, ""}},
      system);
  if (chance(0.03)) {
    run(shell_, p.provider_id,
        ProviderCommand{RecordPayoutOutcome{p.payout_id, PayoutStatus::otp, "", std::nullopt, ""}},
        system);
  }
  if (chance(0.08)) {
    PayoutStatus bad = chance(0.5) ? PayoutStatus::failed : PayoutStatus::reversed;
    run(shell_, p.provider_id,
        ProviderCommand{RecordPayoutOutcome{p.payout_id, bad, "", std::nullopt,
                                            "Account could not be credited"}},
        system);
    CommandResult retry = run(shell_, p.provider_id, ProviderCommand{RetryPayout{p.payout_id, {}}},
                              Actor{"admin-1", Role::admin});
    settle(retry);
    return;
  }
  run(shell_, p.provider_id,
      ProviderCommand{
          RecordPayoutOutcome{p.payout_id, PayoutStatus::success, "", std::nullopt, ""}},
      system);
}

void Driver::settle_refund(const RefundRequested& r) {
  Actor system{"paystack", Role::system};
  run(shell_, r.booking_id,
      BookingCommand{
          RecordRefundOutcome{r.refund_id, RefundStatus::pending, uniform(1, 1LL << 40), ""}},
      system);
  if (chance(0.08)) {
    run(shell_, r.booking_id,
        BookingCommand{
            RecordRefundOutcome{r.refund_id, RefundStatus::failed, std::nullopt, "Bank declined"}},
        system);
    settle(run(shell_, r.booking_id, BookingCommand{RetryRefund{r.refund_id}},
               Actor{"admin-1", Role::admin}));
    return;
  }
  run(shell_, r.booking_id,
      BookingCommand{RecordRefundOutcome{r.refund_id, RefundStatus::processed, std::nullopt, ""}},
      system);
}

// Sends out whatever a command queued: payouts and refunds, with Paystack's answers.
void Driver::settle(const CommandResult& result) {
  std::vector<Event> queued;
  for (const RecordedEvent& r : result.events) {
    if (r.type != PayoutRequested::type && r.type != RefundRequested::type) continue;
    auto event = decode_event(r.type, r.data);
    if (event.is_ok()) queued.push_back(std::move(event).value());
  }
  for (const Event& e : queued) {
    if (const auto* p = std::get_if<PayoutRequested>(&e)) settle_payout(*p);
    if (const auto* r = std::get_if<RefundRequested>(&e)) settle_refund(*r);
  }
}

void Driver::withdraw(const std::string& provider_id) {
  auto state = shell_.load_provider(provider_id);
  if (!state.is_ok() || !state->account) return;
  CommandResult result =
      run(shell_, provider_id,
          ProviderCommand{RequestWithdrawal{Money{uniform(10000, 500000), Currency::NGN}, {}, {}}},
          Actor{provider_id, Role::provider});
  settle(result);
}

void Driver::lifecycle(int64_t n) {
  std::string id = "bk" + std::to_string(n);
  std::string provider_id = "provider-" + std::to_string(n % providers_);
  Actor client{"client-" + std::to_string(n % std::max<int64_t>(1, options_.bookings / 2)),
               Role::client};
  Actor provider{provider_id, Role::provider};
  Actor admin{"admin-1", Role::admin};
  bool split = chance(0.3);
  CreateBooking create{id,
                       client.id,
                       provider_id,
                       "client" + std::to_string(n) + "@example.com",
                       "Home cleaning",
                       Money{uniform(5000, 5'000'000), Currency::NGN},
                       split ? PaymentPlan::split : PaymentPlan::full,
                       split ? 5000 : 0,
                       500,
                       3 * 24 * 3600,
                       std::nullopt};
  if (!run(shell_, id, BookingCommand{create}, Actor{"marketplace", Role::service}).ok()) return;

  double path = std::uniform_real_distribution<double>(0, 1)(rng_);
  if (path < 0.08) {  // the client cancels before paying
    run(shell_, id, BookingCommand{CancelBooking{"changed plans"}}, client);
    return;
  }
  if (!pay(id, client)) return;
  if (path < 0.55) {
    run(shell_, id,
        BookingCommand{SubmitProof{
            "Job done", {ProofFile{std::string(64, 'a'), "image/jpeg", "after.jpg", 120000}}, {}}},
        provider);
    settle(run(shell_, id, BookingCommand{ConfirmCompletion{}}, client));
  } else if (path < 0.65) {
    run(shell_, id, BookingCommand{SubmitProof{"Job done", {}, {}}}, provider);
    settle(run(scheduler_, id, BookingCommand{AutoConfirm{}}, Actor{"scheduler", Role::system}));
  } else if (path < 0.85) {
    if (chance(0.5)) run(shell_, id, BookingCommand{SubmitProof{"Job done", {}, {}}}, provider);
    run(shell_, id,
        BookingCommand{OpenDispute{"quality", "The work was not finished", DisputeSource::party,
                                   std::nullopt}},
        chance(0.7) ? client : provider);
    auto state = shell_.load_booking(id);
    int64_t held = state.is_ok() ? state->held_minor() : 0;
    auto outcome = static_cast<ResolutionOutcome>(uniform(0, 2));
    ResolveDispute resolve{outcome, std::nullopt, std::nullopt, "Reviewed the evidence"};
    if (outcome == ResolutionOutcome::split) {
      resolve.provider_amount_minor = held / 2;
      resolve.refund_amount_minor = held - held / 2;
    }
    settle(run(shell_, id, BookingCommand{resolve}, admin));
  } else {
    settle(run(shell_, id, BookingCommand{CancelBooking{"cannot attend"}},
               chance(0.5) ? client : provider));
  }
  if (n % 10 == 0) withdraw(provider_id);
}

void Driver::merge_into(Totals& totals) {
  std::lock_guard lock(totals.mutex);
  totals.latencies_ns.insert(totals.latencies_ns.end(), latencies_ns_.begin(), latencies_ns_.end());
  totals.commands += commands_;
  totals.rejections += rejections_;
  totals.errors += errors_;
  totals.events += events_;
  if (totals.first_error.empty()) totals.first_error = first_error_;
}

double percentile_ms(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index =
      std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[index]) / 1e6;
}

Synchronous parse_synchronous(const std::string& name) {
  if (name == "off") return Synchronous::off;
  if (name == "normal") return Synchronous::normal;
  return Synchronous::full;
}

}  // namespace

int run_core(const CoreOptions& options) {
  auto migrated = migrate_file(options.db_path);
  if (!migrated.is_ok()) {
    std::fprintf(stderr, "escrow-bench: %s\n", migrated.status().to_string().c_str());
    return 1;
  }
  {  // record the projections' code versions, as escrowd and escrowctl migrate do at start
    auto db = sqlite::Db::open(options.db_path, sqlite::Db::Mode::read_write);
    auto stale = db.is_ok() ? projections::rebuild_stale(db.value())
                            : Result<std::vector<std::string>>(db.status());
    if (!stale.is_ok()) {
      std::fprintf(stderr, "escrow-bench: %s\n", stale.status().to_string().c_str());
      return 1;
    }
  }
  SystemClock clock;
  auto store = EventStore::open(EventStoreOptions{options.db_path, options.group_commit,
                                                  parse_synchronous(options.synchronous), 1024,
                                                  65536, &clock});
  if (!store.is_ok()) {
    std::fprintf(stderr, "escrow-bench: %s\n", store.status().to_string().c_str());
    return 1;
  }
  if (store.value()->last_seq() != 0) {
    std::fprintf(stderr, "escrow-bench: %s already holds events; use a new file\n",
                 options.db_path.c_str());
    return 1;
  }
  projections::LiveProjections live;
  AheadClock ahead;
  CommandShell shell(*store.value(), live, clock);
  CommandShell scheduler(*store.value(), live, ahead);

  int64_t providers = std::max<int64_t>(4, options.bookings / 20);
  Totals totals;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> next_provider{0};
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < options.workers; ++w) {
    workers.emplace_back([&, w] {
      Driver driver(shell, scheduler, options, providers,
                    options.seed * 1000003 + static_cast<uint64_t>(w));
      // Half of the providers have a payout account: their releases go straight out.
      for (int64_t p; (p = next_provider.fetch_add(2)) < providers;) driver.register_account(p);
      for (int64_t n; (n = next.fetch_add(1)) < options.bookings;) driver.lifecycle(n);
      driver.merge_into(totals);
    });
  }
  for (std::thread& t : workers) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EventStore::Stats stats = store.value()->stats();

  std::sort(totals.latencies_ns.begin(), totals.latencies_ns.end());
  double commands_per_s = static_cast<double>(totals.commands) / seconds;
  double events_per_s = static_cast<double>(totals.events) / seconds;
  double p50 = percentile_ms(totals.latencies_ns, 0.50),
         p90 = percentile_ms(totals.latencies_ns, 0.90);
  double p99 = percentile_ms(totals.latencies_ns, 0.99),
         max = percentile_ms(totals.latencies_ns, 1.0);
  std::printf("escrow-bench core: %lld bookings, %d workers, group commit %s, synchronous=%s\n",
              static_cast<long long>(options.bookings), options.workers,
              options.group_commit ? "on" : "off", options.synchronous.c_str());
  std::printf("  %lld commands (%lld refused by the rules), %lld events in %.2f s\n",
              static_cast<long long>(totals.commands), static_cast<long long>(totals.rejections),
              static_cast<long long>(totals.events), seconds);
  std::printf("  %.0f commands/s, %.0f events/s, %llu commits (%.1f commands per commit)\n",
              commands_per_s, events_per_s, static_cast<unsigned long long>(stats.commits),
              stats.commits
                  ? static_cast<double>(stats.commands) / static_cast<double>(stats.commits)
                  : 0.0);
  std::printf("  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", p50, p90, p99, max);
  if (totals.errors) {
    std::printf("  %lld commands failed; first: %s\n", static_cast<long long>(totals.errors),
                totals.first_error.c_str());
  }
  if (options.json) {
    std::printf(
        "{\"mode\":\"core\",\"bookings\":%lld,\"workers\":%d,\"group_commit\":%s,\"synchronous\":"
        "\"%s\","
        "\"commands\":%lld,\"rejections\":%lld,\"events\":%lld,\"seconds\":%.3f,\"commands_per_s\":"
        "%.0f,"
        "\"events_per_s\":%.0f,\"commits\":%llu,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%"
        ".3f,\"max\":%.3f},\"errors\":%lld}\n",
        static_cast<long long>(options.bookings), options.workers,
        options.group_commit ? "true" : "false", options.synchronous.c_str(),
        static_cast<long long>(totals.commands), static_cast<long long>(totals.rejections),
        static_cast<long long>(totals.events), seconds, commands_per_s, events_per_s,
        static_cast<unsigned long long>(stats.commits), p50, p90, p99, max,
        static_cast<long long>(totals.errors));
  }
  return totals.errors ? 1 : 0;
}

}  // namespace escrow::bench
