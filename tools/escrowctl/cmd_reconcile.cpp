// escrowctl reconcile [--from TIME] [--to TIME] [--apply] [--json]: Paystack's transactions,
// transfers and refunds of a period against the ledger (service/reconcile.h lists every kind of
// difference), as lines for people or one JSON object.
//
// Paystack is reached as escrowd reaches it: PAYSTACK_SECRET_KEY (required; never printed) and
// PAYSTACK_BASE_URL (default https://api.paystack.co). Without --apply the database is only read.
// --apply records what the ledger missed through the commands a webhook would execute, as the
// system actor "reconcile", through the service's parts (service/runtime.h: the event store, the
// live projections and the command shell over --db, and the same Paystack client); it needs no
// more environment than the comparison. It is safe while escrowd runs on the same database (see
// service/reconcile.h).
//
// The period defaults to the 7 days before --to, which defaults to now (a date as --to covers
// its whole day, as Paystack's `to`). Exit: 0 no differences
// (or every one applied), 1 differences remain, 2 bad command line or missing environment,
// 3 operating error (database, Paystack unreachable or refusing the key).
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common.h"
#include "ledger/clock.h"
#include "ledger/time_format.h"
#include "paystack/client.h"
#include "service/reconcile.h"
#include "service/runtime.h"

namespace escrow::ctl {

namespace {

constexpr int64_t day_ms = int64_t{24} * 3600 * 1000;
constexpr int64_t default_period_ms = 7 * day_ms;
constexpr size_t iso_date_chars = 10;  // YYYY-MM-DD
constexpr const char* command_name = "reconcile";

struct ReconcileArgs {
  std::string db, from, to;
  bool apply = false;
  bool json = false;
};

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// The Paystack client of the report-only mode, from the variables escrowd reads.
Result<paystack::ClientConfig> paystack_from_env() {
  std::optional<std::string> key = env("PAYSTACK_SECRET_KEY");
  if (!key) {
    return Status(StatusCode::invalid_argument,
                  "PAYSTACK_SECRET_KEY is not set (the key escrowd uses to call Paystack)");
  }
  paystack::ClientConfig config;
  config.secret_key = *key;
  config.base_url = env("PAYSTACK_BASE_URL").value_or(config.base_url);
  return config;
}

// ---- output -----------------------------------------------------------------------------------

void print_text(const service::ReconcileReport& report, bool applying) {
  std::printf(
      "Paystack against the ledger, %s to %s: %lld transactions, %lld transfers, "
      "%lld refunds checked\n",
      format_iso8601_ms(report.period.from_ms).c_str(),
      format_iso8601_ms(report.period.to_ms).c_str(), static_cast<long long>(report.transactions),
      static_cast<long long>(report.transfers), static_cast<long long>(report.refunds));
  int64_t by_hand = 0;
  for (const service::Difference& d : report.differences) {
    std::printf("\n%-24s %s%s\n", d.kind.c_str(), d.reference.c_str(),
                d.booking_id ? ("  booking " + *d.booking_id).c_str() : "");
    std::printf("  ledger:   %s\n  paystack: %s\n", d.ledger.c_str(), d.paystack.c_str());
    std::string action = d.action;
    if (applying && !d.outcome.empty()) action += " -> " + d.outcome;
    std::printf("  action:   %s\n", action.c_str());
    if (std::holds_alternative<std::monostate>(d.fix)) ++by_hand;
  }
  size_t count = report.differences.size();
  if (count == 0) {
    std::printf("\nno differences\n");
    return;
  }
  std::printf("\n%zu difference%s, %lld for a person to review", count, count == 1 ? "" : "s",
              static_cast<long long>(by_hand));
  if (applying) {
    std::printf(", %lld applied\n", static_cast<long long>(report.applied));
  } else if (by_hand < static_cast<int64_t>(count)) {
    std::printf("; run with --apply to record what the ledger missed\n");
  } else {
    std::printf("\n");
  }
}

void print_report_json(const service::ReconcileReport& report, bool applying) {
  print_json([&](JsonWriter& w) {
    w.StartObject();
    w.Key("period");
    w.StartObject();
    json_field(w, "from", format_iso8601_ms(report.period.from_ms));
    json_field(w, "to", format_iso8601_ms(report.period.to_ms));
    w.EndObject();
    w.Key("checked");
    w.StartObject();
    json_field(w, "transactions", report.transactions);
    json_field(w, "transfers", report.transfers);
    json_field(w, "refunds", report.refunds);
    w.EndObject();
    w.Key("differences");
    w.StartArray();
    for (const service::Difference& d : report.differences) {
      w.StartObject();
      json_field(w, "kind", d.kind);
      json_field(w, "reference", d.reference);
      if (d.booking_id) json_field(w, "booking_id", *d.booking_id);
      json_field(w, "ledger", d.ledger);
      json_field(w, "paystack", d.paystack);
      json_field(w, "action", d.action);
      w.Key("fixable");
      w.Bool(!std::holds_alternative<std::monostate>(d.fix));
      if (applying) {
        w.Key("applied");
        w.Bool(d.applied);
        if (!d.outcome.empty()) json_field(w, "outcome", d.outcome);
      }
      w.EndObject();
    }
    w.EndArray();
    json_field(w, "applied", report.applied);
    w.EndObject();
  });
}

// ---- running ----------------------------------------------------------------------------------

Result<service::ReconcilePeriod> period_of(const ReconcileArgs& args, int64_t now_ms) {
  service::ReconcilePeriod period;
  period.to_ms = args.to.empty() ? now_ms : parse_iso8601_ms(args.to).value_or(now_ms);
  if (args.to.size() == iso_date_chars) period.to_ms += day_ms - 1;  // a date: its whole day
  period.from_ms = args.from.empty() ? period.to_ms - default_period_ms
                                     : parse_iso8601_ms(args.from).value_or(0);
  if (period.from_ms > period.to_ms)
    return Status(StatusCode::invalid_argument, "--from is after --to");
  return period;
}

// The service's parts, for --apply: escrowd's configuration with --db as the database.
Result<std::unique_ptr<service::Runtime>> open_runtime(const ReconcileArgs& args,
                                                       const paystack::ClientConfig& paystack,
                                                       const Clock& clock) {
  service::Runtime::Options options;
  options.db_path = args.db;
  options.paystack = paystack;
  return service::Runtime::open(options, clock);
}

int run_reconcile(const ReconcileArgs& args) {
  SystemClock clock;
  auto period = period_of(args, clock.now_ms());
  if (!period.is_ok()) return fail(command_name, exit_usage, period.status().message());
  auto db = open_db(args.db, sqlite::Db::Mode::read_only, true);
  if (!db.is_ok()) return fail(command_name, db.status(), "opening the database");

  auto paystack_config = paystack_from_env();
  if (!paystack_config.is_ok())
    return fail(command_name, exit_usage, paystack_config.status().message());
  std::unique_ptr<service::Runtime> runtime;
  std::unique_ptr<paystack::Client> own_client;
  paystack::Client* client = nullptr;
  if (args.apply) {
    auto opened = open_runtime(args, paystack_config.value(), clock);
    if (!opened.is_ok() && opened.status().code() == StatusCode::invalid_argument)
      return fail(command_name, exit_usage, opened.status().message());
    if (!opened.is_ok()) return fail(command_name, opened.status(), "opening the service's parts");
    runtime = std::move(opened).value();
    client = &runtime->paystack();
  } else {
    auto created = paystack::Client::create(paystack_config.value());
    if (!created.is_ok()) return fail(command_name, exit_usage, created.status().message());
    own_client = std::move(created).value();
    client = own_client.get();
  }

  auto report = service::reconcile_compare(db.value(), *client, period.value());
  if (!report.is_ok()) return fail(command_name, report.status(), "comparing with Paystack");
  if (args.apply) {
    Status applied = service::reconcile_apply(runtime->context(), report.value());
    if (!applied.is_ok()) {
      // What was recorded before the error stays recorded; a rerun finds the rest.
      fail(command_name, applied, "recording what the ledger missed");
      return exit_error;
    }
  }
  if (args.json) {
    print_report_json(report.value(), args.apply);
  } else {
    print_text(report.value(), args.apply);
  }
  const auto& r = report.value();
  return r.applied == static_cast<int64_t>(r.differences.size()) ? exit_ok : exit_failed;
}

}  // namespace

void add_reconcile(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<ReconcileArgs>();
  CLI::App* command = app.add_subcommand(
      "reconcile",
      "Compare Paystack's transactions, transfers and refunds of a period with the ledger "
      "(needs $PAYSTACK_SECRET_KEY; --apply also escrowd's environment)");
  add_db_option(*command, args->db);
  command->add_option("--from", args->from, "start of the period (default: 7 days before --to)")
      ->check(time_validator());
  command->add_option("--to", args->to, "end of the period (default: now; a date: its whole day)")
      ->check(time_validator());
  command->add_flag("--apply", args->apply,
                    "record what the ledger missed (captures, payout and refund outcomes)");
  add_json_flag(*command, args->json);
  command->callback([&runner, args] { runner = [args] { return run_reconcile(*args); }; });
}

}  // namespace escrow::ctl
