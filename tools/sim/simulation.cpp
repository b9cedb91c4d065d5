// One deterministic run of the service; see simulation.h.
#include "test/randomized_model.h"  // the independent model (Auditor); brings namespace escrow
// (first: it opens namespace escrow for the includes below)

#include <rapidjson/document.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fault_vfs.h"
#include "ledger/events.h"
#include "ledger/hash.h"
#include "ledger/store/event_store.h"
#include "ledger/store/sqlite.h"
#include "paystack/signature.h"
#include "projections/rebuild.h"
#include "projections/webhook_log.h"
#include "rng.h"
#include "service/chargebacks.h"
#include "service/checkout.h"
#include "service/log.h"
#include "service/notifier.h"
#include "service/outbox.h"
#include "service/payments.h"
#include "service/payout_accounts.h"
#include "service/reconcile.h"
#include "service/runtime.h"
#include "service/schedulers.h"
#include "service/webhooks.h"
#include "sim_paystack.h"
#include "simulation.h"
#include "util.h"

namespace escrow::sim {

namespace {

constexpr int64_t start_ms = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr const char* secret_key = "sk_test_escrowsim00000000000000000000000";
constexpr const char* notify_url = "http://127.0.0.1:9/hooks/escrow";
constexpr const char* notify_secret = "escrow-sim-notify-secret";
constexpr const char* valid_otp = "123456";
constexpr int settle_rounds_max = 120;

const char* const client_ids[] = {"client-ada", "client-bayo", "client-chi", "client-dayo"};
const char* const provider_ids[] = {"provider-eze", "provider-funmi", "provider-gbenga"};
constexpr const char* admin_id = "admin-kemi";
constexpr const char* stranger_id = "mallory";

Actor as(const char* id, Role role) {
  return Actor{id, role};
}

// The marketplace's notification endpoint: records what it was sent, fails when told to.
class Receiver final : public net::HttpTransport {
 public:
  explicit Receiver(Rng& rng) : rng_(rng) {}
  Result<net::HttpResponse> send(const net::HttpRequest& request) override {
    if (rng_.chance(failure_rate)) {
      ++failures;
      if (rng_.chance(0.5)) return Status(StatusCode::io_error, "connection refused (simulated)");
      return net::HttpResponse{503, "busy", {}};
    }
    rapidjson::Document doc;
    doc.Parse(request.body.data(), request.body.size());
    if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("id") && doc["id"].IsString())
      delivered.insert(doc["id"].GetString());
    return net::HttpResponse{200, "", {}};
  }
  double failure_rate = 0;
  uint64_t failures = 0;
  std::set<std::string> delivered;

 private:
  Rng& rng_;
};

// The service as one escrowd process would hold it, minus HTTP; destroyed on a crash.
struct Process {
  std::unique_ptr<service::Runtime> runtime;
  std::unique_ptr<service::Checkouts> checkouts;
  std::unique_ptr<service::Outbox> outbox;
  std::unique_ptr<service::Schedulers> schedulers;
  std::unique_ptr<service::WebhookProcessor> processor;
  std::unique_ptr<service::Notifier> notifier;
  std::optional<sqlite::Db> db;  // the simulation's own read connection

  ~Process() {  // what uses the runtime goes first
    db.reset();
    notifier.reset();
    processor.reset();
    schedulers.reset();
    outbox.reset();
    checkouts.reset();
    runtime.reset();
  }
};

struct BookingInfo {
  std::string id, client, provider;
};

const char* command_label(const BookingCommand& command) {
  return std::visit(Overloaded{[](const SubmitProof&) { return "submit proof"; },
                               [](const ConfirmCompletion&) { return "approve"; },
                               [](const OpenDispute&) { return "dispute"; },
                               [](const ResolveDispute&) { return "resolve dispute"; },
                               [](const CancelBooking&) { return "cancel"; },
                               [](const AutoConfirm&) { return "auto-confirm"; },
                               [](const ExpireBooking&) { return "expire"; },
                               [](const RetryRefund&) { return "retry refund"; },
                               [](const auto&) { return "command"; }},
                    command);
}

std::string money_text(int64_t minor) {
  return std::to_string(minor);
}

}  // namespace

class Simulation {
 public:
  explicit Simulation(const Options& options)
      : options_(options),
        rng_(options.seed),
        vfs_(FaultVfs::install()),
        paystack_(std::make_shared<SimPaystack>(clock_, rng_, secret_key)),
        receiver_(std::make_shared<Receiver>(rng_)),
        db_path_(options.dir + "/escrow.db") {}

  Report run();

 private:
  // ---- the process ----------------------------------------------------------------------------
  bool start();
  void crash(bool power_loss);
  service::Context context() { return process_->runtime->context(); }
  CommandShell& shell() { return process_->runtime->shell(); }
  bool store_failed() { return process_->runtime->store().failed(); }

  // ---- the workload ---------------------------------------------------------------------------
  void step();
  std::string act_create();
  std::string act_pay();
  std::string act_customer_pays();
  std::string act_verify();
  std::string act_booking_command();
  std::string act_register();
  std::string act_withdraw();
  std::string act_retry();
  std::string act_finalize();
  std::string act_chargeback();
  std::string act_bank_decides();
  std::string act_answer_chargeback();
  std::string act_deliver_webhooks();
  std::string act_background();
  std::string act_time();
  std::string act_paystack_modes();
  std::string act_network_faults();
  std::string act_storage_fault();
  std::string deliver(size_t index, bool keep);
  void deliver_all();  // every queued webhook once, in order; stops when the store fails
  std::string run_booking(const BookingInfo& b, const BookingCommand& command, const Actor& actor,
                          bool may_race);
  BookingCommand random_booking_command(const BookingInfo& b, Actor& actor);
  std::string outcome(const CommandResult& result);
  const BookingInfo* pick_booking();
  std::optional<std::pair<std::string, std::string>> pick_checkout();  // reference, booking
  std::vector<int64_t> unresolved_disputes();

  // ---- the crash-point scenario ----------------------------------------------------------------
  void run_scenario();
  bool scenario_tick();  // one round of the scenario; true once it is complete

  // ---- checking -------------------------------------------------------------------------------
  void fail(const std::string& what);
  void feed_model();
  void check_states();
  void check_after_restart();
  void settle_down();
  std::string waiting_work();
  void check_paystack();
  void check_transfers(const rapidjson::Document& state);
  void check_refunds(const rapidjson::Document& state);
  void note(const std::string& line);
  int64_t count(const std::string& sql);

  Options options_;
  Report report_;
  ManualClock clock_{start_ms};
  Rng rng_;
  FaultVfs& vfs_;
  std::shared_ptr<SimPaystack> paystack_;
  std::shared_ptr<Receiver> receiver_;
  std::unique_ptr<Process> process_;
  std::string db_path_;
  uint64_t digest_ = 14695981039346656037ULL;
  std::string step_label_ = "start";

  std::vector<BookingInfo> bookings_;
  std::vector<std::pair<std::string, std::string>> checkouts_;  // reference, booking id

  // Crash bookkeeping: a scheduled cut is a kill or a power loss when it is reached.
  bool cut_is_power_loss_ = false;
  std::set<int64_t> command_starts_;
  int64_t last_ack_seq_ = 0;
  std::string last_ack_hash_;
  int64_t last_ack_delivery_ = 0;

  // The independent model, fed every committed command's events in seq order.
  std::map<std::string, Auditor> booking_models_, provider_models_;
  int64_t model_cursor_ = 0;

  std::function<void()> competitor_;  // run before the next append: a racing command
};

// ---- the process ------------------------------------------------------------------------------

bool Simulation::start() {
  std::error_code error;
  if (!options_.template_path.empty() && !std::filesystem::exists(db_path_, error))
    std::filesystem::copy_file(options_.template_path, db_path_, error);
  auto process = std::make_unique<Process>();
  paystack::RetryPolicy retry;
  retry.attempts_max = 3;
  auto client = std::make_unique<paystack::Client>(
      paystack_, retry, [](std::chrono::milliseconds) {}, secret_key);
  service::Runtime::Options runtime_options;
  runtime_options.db_path = db_path_;
  auto runtime = service::Runtime::open(runtime_options, clock_, std::move(client));
  if (!runtime.is_ok()) {
    fail("the service does not open: " + runtime.status().to_string());
    return false;
  }
  process->runtime = std::move(runtime).value();
  service::Context ctx = process->runtime->context();
  process->checkouts = std::make_unique<service::Checkouts>(ctx);
  process->outbox = std::make_unique<service::Outbox>(ctx, service::Outbox::Options{});
  process->schedulers = std::make_unique<service::Schedulers>(
      ctx, [] {}, service::Schedulers::Options{});
  process->processor = std::make_unique<service::WebhookProcessor>(
      ctx, process->runtime->webhooks(), service::WebhookProcessor::Options{});
  service::Notifier::Options notify{notify_url, notify_secret, db_path_, 500, receiver_};
  auto notifier = service::Notifier::open(notify, clock_);
  if (!notifier.is_ok()) {
    fail("the notifier does not open: " + notifier.status().to_string());
    return false;
  }
  process->notifier = std::move(notifier).value();
  auto db = sqlite::Db::open(db_path_, sqlite::Db::Mode::read_only);
  if (!db.is_ok()) {
    fail("no read connection: " + db.status().to_string());
    return false;
  }
  process->db.emplace(std::move(db).value());

  CommandShell::Hooks hooks;
  hooks.before_append = [this] {
    if (!competitor_) return;
    auto competitor = std::move(competitor_);
    competitor_ = nullptr;
    competitor();
  };
  hooks.committed = [this](std::span<const RecordedEvent> events) {
    if (events.empty()) return;
    command_starts_.insert(events.front().seq);
    last_ack_seq_ = events.back().seq;
    last_ack_hash_ = events.back().hash;
  };
  process->runtime->shell().set_hooks(std::move(hooks));
  process_ = std::move(process);
  return true;
}

// The process dies: at once (nothing more reaches the files), and with the power when
// `power_loss` (the files lose what was not synced). Then a new process starts on the file.
void Simulation::crash(bool power_loss) {
  if (!vfs_.is_cut()) vfs_.cut_at(vfs_.counts().operations() + 1);
  competitor_ = nullptr;
  process_.reset();
  if (power_loss) {
    vfs_.lose_unsynced();
    ++report_.power_losses;
  } else {
    ++report_.crashes;
  }
  vfs_.heal();
  // Whatever follows the last acknowledged command was in flight at the crash: one command.
  command_starts_.insert(std::max(last_ack_seq_, model_cursor_) + 1);
  note(std::string("restart after ") + (power_loss ? "a power loss" : "a kill"));
  if (start()) check_after_restart();
}

// ---- checking ---------------------------------------------------------------------------------

void Simulation::fail(const std::string& what) {
  if (!report_.ok) return;
  report_.ok = false;
  report_.failure = "step " + std::to_string(report_.steps) + " (" + step_label_ + "): " + what;
  note("FAILED: " + what);
}

void Simulation::note(const std::string& line) {
  for (unsigned char c : line) digest_ = (digest_ ^ c) * 1099511628211ULL;
  digest_ = (digest_ ^ '\n') * 1099511628211ULL;
  if (options_.trace) {
    options_.trace("step " + std::to_string(report_.steps) + " t=+" +
                   std::to_string((clock_.now_ms() - start_ms) / 1000) + "s " + line);
  }
}

int64_t Simulation::count(const std::string& sql) {
  auto stmt = process_->db->prepare(sql);
  if (!stmt.is_ok()) {
    fail("query failed: " + stmt.status().to_string());
    return 0;
  }
  auto row = stmt->step();
  if (!row.is_ok() || !row.value()) return 0;
  return stmt->column_int64(0);
}

void Simulation::feed_model() {
  if (!process_ || !report_.ok) return;
  for (;;) {
    auto events = read_log(*process_->db, model_cursor_, 1000);
    if (!events.is_ok()) return fail("the log does not read: " + events.status().to_string());
    if (events->empty()) return;
    size_t i = 0;
    while (i < events->size()) {
      size_t j = i + 1;
      while (j < events->size() && (*events)[j].stream == (*events)[i].stream &&
             !command_starts_.count((*events)[j].seq))
        ++j;
      const RecordedEvent& first = (*events)[i];
      bool booking = first.stream.rfind("booking-", 0) == 0;
      bool provider = first.stream.rfind("provider-", 0) == 0;
      if (booking || provider) {
        std::vector<Event> decided;
        for (size_t k = i; k < j; ++k) {
          auto event = decode_event((*events)[k].type, (*events)[k].data);
          if (!event.is_ok())
            return fail("event " + std::to_string((*events)[k].seq) + " does not decode");
          decided.push_back(std::move(event).value());
        }
        std::string id = first.stream.substr(booking ? 8 : 9);
        Auditor& model = booking ? booking_models_[id] : provider_models_[id];
        if (booking) {
          model.booking_decision(decided, first.recorded_at_ms);
        } else {
          model.provider_decision(decided);
        }
        if (!model.error.empty())
          return fail("the model of " + first.stream + " at seq " + std::to_string(first.seq) +
                      ": " + model.error);
      }
      report_.events += j - i;
      model_cursor_ = (*events)[j - 1].seq;
      i = j;
    }
  }
}

void Simulation::check_states() {
  if (!process_ || !report_.ok) return;
  std::map<std::pair<std::string, Currency>, int64_t> available;  // from the models
  std::set<std::string> debited;  // providers a chargeback took money back from
  for (const BookingInfo& b : bookings_) {
    auto state = shell().load_booking(b.id);
    if (!state.is_ok()) return fail("booking " + b.id + " does not load");
    const BookingState& s = state.value();
    Auditor& m = booking_models_[b.id];
    auto expect = [&](bool ok, const std::string& what) {
      if (!ok) fail("booking " + b.id + ": " + what);
    };
    expect(s.captured_minor == m.captured, "captured " + money_text(s.captured_minor) +
                                               " but the model says " + money_text(m.captured));
    expect(s.released_minor == m.released, "released " + money_text(s.released_minor) +
                                               " but the model says " + money_text(m.released));
    expect(s.refunded_minor == m.refunded, "refunded " + money_text(s.refunded_minor) +
                                               " but the model says " + money_text(m.refunded));
    expect(s.charged_back_minor == m.charged_back, "charged back differs from the model");
    expect(s.held_minor() == m.held,
           "holds " + money_text(s.held_minor()) + " but the model says " + money_text(m.held));
    expect(s.held_minor() >= 0 && s.released_minor >= 0 && s.refunded_minor >= 0 &&
               s.charged_back_minor >= 0,
           "a negative amount");
    expect(s.released_minor + s.refunded_minor + s.charged_back_minor <= s.captured_minor,
           "released, refunded and charged back more than was captured");
    for (const auto& [currency, amount] : m.available) available[{b.provider, currency}] += amount;
    if (s.chargeback_provider_minor > 0) debited.insert(b.provider);
  }
  for (const char* p : provider_ids) {
    Auditor& m = provider_models_[p];
    for (Currency currency : {Currency::NGN, Currency::USD}) {
      int64_t expected = available[{p, currency}];
      auto it = m.available.find(currency);
      if (it != m.available.end()) expected += it->second;
      auto balance = process_->runtime->projections().available_balance(*process_->db, p, currency);
      if (!balance.is_ok()) return fail("no balance for " + std::string(p));
      if (balance->amount_minor != expected)
        fail(std::string(p) + " has " + money_text(balance->amount_minor) + " " +
             currency_code(currency) + " available but the model says " + money_text(expected));
      if (balance->amount_minor < 0 && !debited.count(p))
        fail(std::string(p) + " is below zero without a chargeback");
    }
  }
}

void Simulation::check_after_restart() {
  if (!report_.ok) return;
  int64_t last = process_->runtime->store().last_seq();
  if (last < model_cursor_)
    return fail("events seen before the crash are gone (log ends at " + std::to_string(last) +
                ", " + std::to_string(model_cursor_) + " were read)");
  if (last_ack_seq_ > 0) {
    auto events = read_log(*process_->db, last_ack_seq_ - 1, 1);
    if (!events.is_ok() || events->empty() || (*events)[0].hash != last_ack_hash_)
      return fail("acknowledged event " + std::to_string(last_ack_seq_) + " was lost");
  }
  if (last_ack_delivery_ > 0) {
    auto found = projections::WebhookLog::find(*process_->db, last_ack_delivery_);
    if (!found.is_ok() || !found.value())
      return fail("acknowledged webhook delivery " + std::to_string(last_ack_delivery_) +
                  " was lost");
  }
  auto integrity = process_->db->prepare("PRAGMA integrity_check");
  if (!integrity.is_ok()) return fail("integrity_check cannot run");
  auto row = integrity->step();
  if (!row.is_ok() || !row.value() || integrity->column_text(0) != "ok")
    return fail("PRAGMA integrity_check is not ok after the restart");
  integrity->reset();
  auto report = projections::verify(*process_->db);
  if (!report.is_ok()) return fail("verify cannot run: " + report.status().to_string());
  if (!report->ok()) return fail("verify: " + report->problems.front());
  feed_model();
  check_states();
}

// ---- the workload -----------------------------------------------------------------------------

const BookingInfo* Simulation::pick_booking() {
  if (bookings_.empty()) return nullptr;
  return &bookings_[rng_.below(bookings_.size())];
}

std::optional<std::pair<std::string, std::string>> Simulation::pick_checkout() {
  if (checkouts_.empty()) return std::nullopt;
  // Mostly the latest checkouts: customers pay soon after opening one.
  size_t n = checkouts_.size();
  size_t back = rng_.chance(0.7) ? rng_.below(std::min<size_t>(n, 3)) : rng_.below(n);
  return checkouts_[n - 1 - back];
}

std::vector<int64_t> Simulation::unresolved_disputes() {
  std::vector<int64_t> ids;
  rapidjson::Document state = paystack_->state_json();
  for (const auto& d : state["disputes"].GetArray()) {
    if (std::string_view(d["status"].GetString()) != "resolved") ids.push_back(d["id"].GetInt64());
  }
  return ids;
}

std::string Simulation::outcome(const CommandResult& result) {
  ++report_.commands;
  if (!result.status.is_ok()) return "error " + result.status.to_string();
  if (result.rejection) {
    ++report_.rejections;
    return std::string("refused ") + rejection_code(*result.rejection);
  }
  if (result.events.empty()) return "no change";
  std::string out = "ok";
  for (const RecordedEvent& e : result.events) out += " " + e.type;
  return out;
}

std::string Simulation::run_booking(const BookingInfo& b, const BookingCommand& command,
                                    const Actor& actor, bool may_race) {
  CommandContext cmd;
  cmd.actor = actor;
  std::string raced;
  if (may_race && rng_.chance(0.15)) {
    // A second request on the same booking, decided on the same version and appended first.
    Actor other_actor;
    BookingCommand other = random_booking_command(b, other_actor);
    competitor_ = [this, b, other, other_actor, &raced] {
      ++report_.races;
      CommandContext c;
      c.actor = other_actor;
      raced =
          " (raced by " + other_actor.id + ": " + outcome(shell().execute(b.id, other, c)) + ")";
    };
  }
  CommandResult result = shell().execute(b.id, command, cmd);
  competitor_ = nullptr;
  return outcome(result) + raced;
}

BookingCommand Simulation::random_booking_command(const BookingInfo& b, Actor& actor) {
  const char* party = rng_.chance(0.5) ? b.client.c_str() : b.provider.c_str();
  Role party_role = party == b.client.c_str() ? Role::client : Role::provider;
  if (rng_.chance(0.08)) party = stranger_id;
  switch (rng_.below(7)) {
    case 0:
      actor = as(rng_.chance(0.9) ? b.provider.c_str() : party, Role::provider);
      return SubmitProof{"the job is done", {}, {}};
    case 1:
      actor = rng_.chance(0.85)  ? as(b.client.c_str(), Role::client)
              : rng_.chance(0.5) ? as(admin_id, Role::admin)
                                 : as(stranger_id, Role::client);
      return ConfirmCompletion{};
    case 2:
      actor = as(party, party_role);
      return OpenDispute{"quality", "not as agreed", DisputeSource::party, std::nullopt};
    case 3: {
      actor =
          as(rng_.chance(0.95) ? admin_id : party, rng_.chance(0.95) ? Role::admin : party_role);
      ResolveDispute r;
      int64_t held = 0;
      if (auto s = shell().load_booking(b.id); s.is_ok()) held = s->held_minor();
      switch (rng_.below(3)) {
        case 0:
          r.outcome = ResolutionOutcome::release;
          break;
        case 1:
          r.outcome = ResolutionOutcome::refund;
          break;
        default:
          r.outcome = ResolutionOutcome::split;
          r.provider_amount_minor = held > 0 ? rng_.between(0, held) : 0;
          r.refund_amount_minor = held - *r.provider_amount_minor;
          if (rng_.chance(0.1)) *r.refund_amount_minor += 1;  // does not add up: refused
          break;
      }
      r.note = "resolved by the simulation";
      return r;
    }
    case 4:
      actor = rng_.chance(0.3) ? as(admin_id, Role::admin) : as(party, party_role);
      return CancelBooking{"plans changed"};
    case 5:
      actor = as("scheduler", Role::system);
      return rng_.chance(0.5) ? BookingCommand{AutoConfirm{}} : BookingCommand{ExpireBooking{}};
    default: {
      actor = as(admin_id, Role::admin);
      std::string refund_id;
      if (auto s = shell().load_booking(b.id); s.is_ok() && !s->refunds.empty())
        refund_id = s->refunds[rng_.below(s->refunds.size())].refund_id;
      return RetryRefund{refund_id.empty() ? "rf-none" : refund_id};
    }
  }
}

std::string Simulation::act_create() {
  if (static_cast<int>(bookings_.size()) >= options_.bookings_max) return act_booking_command();
  BookingInfo b{"bk-" + std::to_string(bookings_.size() + 1),
                client_ids[rng_.below(std::size(client_ids))],
                provider_ids[rng_.below(std::size(provider_ids))]};
  CreateBooking c;
  c.booking_id = b.id;
  c.client_id = b.client;
  c.provider_id = b.provider;
  c.client_email = b.client + "@example.com";
  c.description = "a service";
  c.amount =
      Money{rng_.between(1'000, 200'000) * 100, rng_.chance(0.06) ? Currency::USD : Currency::NGN};
  if (rng_.chance(0.05)) c.amount.amount_minor = rng_.between(0, 99);  // below the minimum
  if (rng_.chance(0.3)) {
    c.plan = PaymentPlan::split;
    c.deposit_bps = static_cast<int>(rng_.between(1'000, 9'000));
  }
  c.fee_bps = static_cast<int>(rng_.between(0, 1'500));
  const int64_t confirm_after_s[] = {600, 3'600, 86'400, 3 * 86'400};
  c.auto_confirm_after_s = confirm_after_s[rng_.below(4)];
  if (rng_.chance(0.3)) c.pay_by_ms = clock_.now_ms() + rng_.between(600, 3 * 86'400) * 1000;
  CommandContext cmd;
  cmd.actor = as("marketplace", Role::service);
  CommandResult result = shell().execute(b.id, c, cmd);
  std::string out = outcome(result);
  if (result.ok()) {
    bookings_.push_back(b);
    report_.bookings = bookings_.size();
    if (rng_.chance(0.1)) {  // the same request again (a retry): no change
      out += "; again: " + outcome(shell().execute(b.id, c, cmd));
    }
  }
  return "create " + b.id + " " + money_text(c.amount.amount_minor) + " " +
         currency_code(c.amount.currency) + " -> " + out;
}

std::string Simulation::act_pay() {
  const BookingInfo* b = pick_booking();
  if (!b) return act_create();
  CommandContext cmd;
  cmd.actor = as(b->client.c_str(), Role::client);
  auto opened = process_->checkouts->open(b->id, "https://market.example/return", cmd);
  std::string out = "pay " + b->id + " -> ";
  if (!opened.is_ok()) return out + "error " + opened.status().to_string();
  const service::CheckoutOutcome& o = opened.value();
  if (o.opened) {
    checkouts_.emplace_back(o.opened->checkout.reference, b->id);
    return out + (o.opened->reused ? "same checkout " : "checkout ") + o.opened->checkout.reference;
  }
  if (o.refused) return out + "refused " + rejection_code(*o.refused);
  if (o.paystack) return out + "paystack: " + o.paystack->message;
  if (o.failed) return out + outcome(*o.failed);
  return out + "retry later";
}

std::string Simulation::act_customer_pays() {
  auto checkout = pick_checkout();
  if (!checkout) return act_pay();
  const auto& [reference, booking] = *checkout;
  std::string body;
  uint64_t roll = rng_.below(100);
  if (roll < 78) {
    body = R"({"outcome":"success"})";
  } else if (roll < 88) {
    body = R"({"outcome":"failed"})";
  } else if (roll < 94) {
    body = R"({"outcome":"abandoned"})";
  } else {  // a wrong amount
    body = R"({"outcome":"success","amount":)" + std::to_string(rng_.between(100, 10'000)) + "}";
  }
  auto answer = paystack_->control("POST", "/_sim/transactions/" + reference + "/pay", body);
  return "customer pays " + reference + " " + body + " -> " + std::to_string(answer.status);
}

std::string Simulation::act_verify() {
  auto checkout = pick_checkout();
  if (!checkout) return act_pay();
  const auto& [reference, booking] = *checkout;
  CommandContext cmd;
  cmd.actor = as("marketplace", Role::service);
  auto checked = service::check_payment(context(), reference, booking, cmd);
  std::string out = "verify " + reference + " -> ";
  if (!checked.is_ok()) return out + "error " + checked.status().to_string();
  if (checked->unknown) return out + "unknown";
  if (checked->paystack) return out + "paystack: " + checked->paystack->message;
  return out + service::settlement_name(checked->settled.settlement) + " " +
         (checked->settled.result.status.is_ok() ? "" : checked->settled.result.status.to_string());
}

std::string Simulation::act_booking_command() {
  const BookingInfo* b = pick_booking();
  if (!b) return act_create();
  Actor actor;
  BookingCommand command = random_booking_command(*b, actor);
  std::string name = command_label(command);
  return name + " " + b->id + " by " + actor.id + " -> " + run_booking(*b, command, actor, true);
}

std::string Simulation::act_register() {
  const char* p = provider_ids[rng_.below(std::size(provider_ids))];
  service::PayoutAccount account;
  account.bank_code = rng_.chance(0.9) ? "058" : "999";
  account.account_number = std::to_string(rng_.between(1'000'000'000LL, 9'999'999'999LL));
  if (rng_.chance(0.1)) account.account_number.pop_back();  // nine digits: does not resolve
  account.account_name = std::string(p) + " ltd";
  account.currency = Currency::NGN;
  CommandContext cmd;
  cmd.actor = as(p, Role::provider);
  auto registered = service::register_payout_account(context(), p, account, cmd);
  std::string out = std::string("register account ") + p + " -> ";
  if (!registered.is_ok()) return out + "error " + registered.status().to_string();
  if (registered->invalid) return out + "invalid: " + *registered->invalid;
  if (registered->paystack) return out + "paystack: " + registered->paystack->message;
  return out + outcome(registered->result);
}

std::string Simulation::act_withdraw() {
  const char* p = provider_ids[rng_.below(std::size(provider_ids))];
  auto balance =
      process_->runtime->projections().available_balance(*process_->db, p, Currency::NGN);
  int64_t available = balance.is_ok() ? balance->amount_minor : 0;
  int64_t amount = available > 100 ? rng_.between(100, available + available / 5) : 10'000;
  CommandContext cmd;
  cmd.actor = as(p, Role::provider);
  std::optional<std::string> key;
  if (rng_.chance(0.5)) key = "wd-key-" + std::to_string(rng_.below(1'000'000));
  cmd.idempotency_key = key;
  RequestWithdrawal command{Money{amount, Currency::NGN}, Money{0, Currency::NGN}, key};
  std::string out = outcome(shell().execute(p, command, cmd));
  if (key && rng_.chance(0.3)) out += "; again: " + outcome(shell().execute(p, command, cmd));
  return std::string("withdraw ") + p + " " + money_text(amount) + " -> " + out;
}

std::string Simulation::act_retry() {
  CommandContext cmd;
  cmd.actor = as(admin_id, Role::admin);
  const char* p = provider_ids[rng_.below(std::size(provider_ids))];
  auto state = shell().load_provider(p);
  if (!state.is_ok() || state->payouts.empty()) return act_booking_command();
  const PayoutRecord& payout = state->payouts[rng_.below(state->payouts.size())];
  return "retry payout " + payout.payout_id + " -> " +
         outcome(shell().execute(p, RetryPayout{payout.payout_id, Money{}}, cmd));
}

std::string Simulation::act_finalize() {
  const char* p = provider_ids[rng_.below(std::size(provider_ids))];
  auto state = shell().load_provider(p);
  if (!state.is_ok() || state->payouts.empty()) return act_background();
  const PayoutRecord* target = &state->payouts[rng_.below(state->payouts.size())];
  for (const PayoutRecord& payout : state->payouts)
    if (payout.status == PayoutStatus::otp) target = &payout;
  CommandContext cmd;
  cmd.actor = as(admin_id, Role::admin);
  const char* otp = rng_.chance(0.85) ? valid_otp : "000000";
  auto finalized = service::finalize_payout(context(), target->payout_id, otp, cmd);
  std::string out = "finalize " + target->payout_id + " otp " + otp + " -> ";
  if (!finalized.is_ok()) return out + "error " + finalized.status().to_string();
  if (finalized->rejection) return out + "refused " + rejection_code(*finalized->rejection);
  if (finalized->refused) return out + "paystack: " + finalized->refused->message;
  return out + (finalized->payout ? payout_status_name(finalized->payout->status) : "?");
}

std::string Simulation::act_chargeback() {
  auto checkout = pick_checkout();
  if (!checkout) return act_pay();
  std::string body = "{}";
  if (rng_.chance(0.3))
    body = R"({"refund_amount":)" + std::to_string(rng_.between(100, 5'000)) + "}";
  auto answer =
      paystack_->control("POST", "/_sim/transactions/" + checkout->first + "/chargeback", body);
  if (answer.status == 200) ++report_.chargebacks;
  return "chargeback " + checkout->first + " " + body + " -> " + std::to_string(answer.status);
}

std::string Simulation::act_bank_decides() {
  std::vector<int64_t> open = unresolved_disputes();
  if (open.empty()) return act_chargeback();
  int64_t id = open[rng_.below(open.size())];
  if (rng_.chance(0.2)) {
    auto answer = paystack_->control("POST", "/_sim/disputes/" + std::to_string(id) + "/remind");
    return "dispute " + std::to_string(id) + " remind -> " + std::to_string(answer.status);
  }
  const char* resolutions[] = {"merchant-accepted", "declined", "auto-accepted"};
  std::string resolution = resolutions[rng_.below(3)];
  auto answer = paystack_->control("POST", "/_sim/disputes/" + std::to_string(id) + "/resolve",
                                   R"({"resolution":")" + resolution + "\"}");
  return "bank resolves dispute " + std::to_string(id) + " " + resolution + " -> " +
         std::to_string(answer.status);
}

std::string Simulation::act_answer_chargeback() {
  std::vector<int64_t> open = unresolved_disputes();
  if (open.empty()) return act_chargeback();
  int64_t id = open[rng_.below(open.size())];
  ChargebackResponse response =
      rng_.chance(0.5) ? ChargebackResponse::accept : ChargebackResponse::decline;
  CommandContext cmd;
  cmd.actor = as(admin_id, Role::admin);
  auto answered =
      service::answer_chargeback(context(), id, response, "our answer", "evidence.pdf", cmd);
  std::string out = "answer chargeback " + std::to_string(id) +
                    (response == ChargebackResponse::accept ? " accept" : " decline") + " -> ";
  if (!answered.is_ok()) return out + "error " + answered.status().to_string();
  if (answered->rejection) return out + "refused " + rejection_code(*answered->rejection);
  if (answered->refused) return out + "paystack: " + answered->refused->message;
  return out + outcome(answered->recorded);
}

// Delivers webhook `index` as Paystack's servers would: signed, to the receiving endpoint's
// function; `keep` leaves it queued (it will come again: a duplicate).
std::string Simulation::deliver(size_t index, bool keep) {
  PendingWebhook webhook = paystack_->webhooks()[index];
  if (!keep) paystack_->webhooks().erase(paystack_->webhooks().begin() + index);
  EventMeta meta;
  meta.actor_id = "paystack";
  meta.actor_role = Role::system;
  bool forged = rng_.chance(0.03);  // someone else's signature: refused, nothing stored
  std::string signature =
      paystack::sign_webhook(forged ? "sk_test_other" : secret_key, webhook.body);
  auto received =
      service::receive_webhook(process_->runtime->webhooks(), *process_->processor, secret_key,
                               webhook.body, signature, meta, "52.31.139.75");
  std::string out = "webhook " + webhook.event + " " + webhook.reference + " -> ";
  if (!received.is_ok()) {
    // Not answered 200: Paystack sends it again later.
    if (keep) return out + "error";
    PendingWebhook again = webhook;
    again.due_ms = clock_.now_ms() + 60'000;
    paystack_->webhooks().push_back(again);
    return out + "error " + received.status().to_string() + " (Paystack retries)";
  }
  if (received->refused) {
    if (!forged) fail("a correctly signed webhook was refused: " + received->refused->message);
    if (!keep) paystack_->webhooks().push_back(webhook);  // the real one still comes
    return out + "forged, refused";
  }
  last_ack_delivery_ = std::max(last_ack_delivery_, received->record.id);
  return out + (received->record.duplicate ? "duplicate" : "stored");
}

void Simulation::deliver_all() {
  for (size_t n = paystack_->webhooks().size(); n > 0 && !paystack_->webhooks().empty(); --n) {
    if (vfs_.is_cut() || store_failed()) return;
    deliver(0, false);
  }
}

std::string Simulation::act_deliver_webhooks() {
  auto& queue = paystack_->webhooks();
  if (queue.empty()) return act_background();
  std::string out;
  int n = static_cast<int>(rng_.between(1, 4));
  for (int i = 0; i < n && !queue.empty(); ++i) {
    std::vector<size_t> due;
    for (size_t k = 0; k < queue.size(); ++k)
      if (queue[k].due_ms <= clock_.now_ms()) due.push_back(k);
    if (due.empty()) break;
    // Out of order: any due one, not the oldest.
    size_t index = rng_.chance(0.6) ? due.front() : due[rng_.below(due.size())];
    uint64_t roll = rng_.below(100);
    if (roll < 5) {  // lost on the way
      ++report_.webhook_faults;
      out += "dropped " + queue[index].event + "; ";
      queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(index));
    } else if (roll < 12) {  // late
      ++report_.webhook_faults;
      queue[index].due_ms = clock_.now_ms() + rng_.between(60, 7'200) * 1000;
      out += "delayed " + queue[index].event + "; ";
    } else {
      bool duplicate = roll < 20;
      if (duplicate) ++report_.webhook_faults;
      out += deliver(index, duplicate) + "; ";
    }
  }
  if (rng_.chance(0.7)) {
    Status processed = process_->processor->run_once();
    out += processed.is_ok() ? "processed" : "processing: " + processed.to_string();
  }
  return out;
}

std::string Simulation::act_background() {
  if (rng_.chance(0.05)) {  // an operator's `escrowctl reconcile --apply`
    auto compared = service::reconcile_compare(
        *process_->db, context().paystack, service::ReconcilePeriod{start_ms, clock_.now_ms() + 1});
    if (!compared.is_ok()) return "reconcile -> " + compared.status().to_string();
    Status applied = service::reconcile_apply(context(), compared.value());
    return "reconcile -> " + std::to_string(compared->differences.size()) + " differences, " +
           std::to_string(compared->applied) + " applied " + applied.to_string();
  }
  switch (rng_.below(4)) {
    case 0:
      return "outbox -> " + process_->outbox->run_once().to_string();
    case 1:
      return "schedulers -> " + process_->schedulers->run_once().to_string();
    case 2:
      return "webhook processor -> " + process_->processor->run_once().to_string();
    default:
      return "notifier -> " + process_->notifier->run_once().to_string();
  }
}

std::string Simulation::act_time() {
  int64_t ms = 0;
  uint64_t roll = rng_.below(100);
  if (roll < 60) {
    ms = rng_.between(1, 120) * 1000;
  } else if (roll < 90) {
    ms = rng_.between(10, 360) * 60'000;
  } else {  // across the auto-confirm and expiry deadlines
    ms = rng_.between(24, 96) * 3'600'000;
  }
  clock_.advance_ms(ms);
  paystack_->run_due_follow_ups();
  return "time +" + std::to_string(ms / 1000) + "s";
}

std::string Simulation::act_paystack_modes() {
  const char* transfer_modes[] = {"success", "success", "success", "pending",
                                  "otp",     "fail",    "reverse"};
  const char* refund_modes[] = {"processed", "processed", "processed", "failed", "needs-attention"};
  std::string body = std::string(R"({"transfer_mode":")") + transfer_modes[rng_.below(7)] +
                     R"(","refund_mode":")" + refund_modes[rng_.below(5)] + "\"}";
  auto answer = paystack_->control("POST", "/_sim/config", body);
  if (answer.status != 200) fail("the simulator refused its config: " + answer.body);
  return "paystack " + body;
}

std::string Simulation::act_network_faults() {
  NetworkFaults& f = paystack_->faults;
  if (rng_.chance(0.5)) {
    f = NetworkFaults{};
    receiver_->failure_rate = 0;
    return "network heals";
  }
  f.refused = rng_.below(4) * 0.05;
  f.server_error = rng_.below(4) * 0.05;
  f.lost_answer = rng_.below(4) * 0.05;
  f.slow = rng_.below(3) * 0.1;
  receiver_->failure_rate = rng_.below(3) * 0.2;
  return "network faults refused=" + std::to_string(f.refused) +
         " 5xx=" + std::to_string(f.server_error) + " lost=" + std::to_string(f.lost_answer) +
         " slow=" + std::to_string(f.slow);
}

std::string Simulation::act_storage_fault() {
  uint64_t at = vfs_.counts().operations() + static_cast<uint64_t>(rng_.between(1, 80));
  uint64_t roll = rng_.below(100);
  if (roll < 35) {
    vfs_.cut_at(at);
    cut_is_power_loss_ = false;
    return "the process will be killed at storage operation " + std::to_string(at);
  }
  if (roll < 65) {
    vfs_.cut_at(at);
    cut_is_power_loss_ = true;
    return "the power will fail at storage operation " + std::to_string(at);
  }
  if (roll < 85) {
    vfs_.fail_at(at);
    ++report_.io_errors;
    return "storage operation " + std::to_string(at) + " will fail";
  }
  crash(rng_.chance(0.5));
  return "crashed between steps";
}

void Simulation::step() {
  clock_.advance_ms(1);  // so that what happens in two steps never shares a millisecond
  uint64_t network_before = paystack_->stats().refused + paystack_->stats().server_errors +
                            paystack_->stats().lost_answers + paystack_->stats().slow;
  uint64_t roll = rng_.below(1000);
  std::string line;
  if (roll < 70)
    line = act_create();
  else if (roll < 170)
    line = act_pay();
  else if (roll < 270)
    line = act_customer_pays();
  else if (roll < 300)
    line = act_verify();
  else if (roll < 460)
    line = act_booking_command();
  else if (roll < 490)
    line = act_register();
  else if (roll < 520)
    line = act_withdraw();
  else if (roll < 535)
    line = act_retry();
  else if (roll < 550)
    line = act_finalize();
  else if (roll < 570)
    line = act_chargeback();
  else if (roll < 590)
    line = act_bank_decides();
  else if (roll < 605)
    line = act_answer_chargeback();
  else if (roll < 740)
    line = act_deliver_webhooks();
  else if (roll < 850)
    line = act_background();
  else if (roll < 940)
    line = act_time();
  else if (roll < 960)
    line = act_paystack_modes();
  else if (roll < 985)
    line = act_network_faults();
  else
    line = act_storage_fault();
  report_.network_faults += paystack_->stats().refused + paystack_->stats().server_errors +
                            paystack_->stats().lost_answers + paystack_->stats().slow -
                            network_before;
  note(line);
  paystack_->run_due_follow_ups();
  // A cut reached is a dead process; a failed store needs a restart (escrowd's /readyz says so).
  if (process_ && (vfs_.is_cut() || store_failed())) {
    crash(vfs_.is_cut() && cut_is_power_loss_);
  }
  feed_model();
  if (report_.steps % 8 == 0) check_states();
}

// ---- the crash-point scenario -----------------------------------------------------------------

// One round: what Paystack and the background workers would do by now, then the next thing each
// party of the scenario does given what the ledger shows. Every action is safe to take again
// after a crash (the decider answers a repeated one with no change, the withdrawal carries its
// Idempotency-Key), so the scenario ends the same whatever was cut.
bool Simulation::scenario_tick() {
  deliver_all();
  (void)process_->processor->run_once();
  (void)process_->outbox->run_once();
  const char* provider = provider_ids[0];
  CommandContext client, provider_cmd, admin, service;
  client.actor = as(client_ids[0], Role::client);
  provider_cmd.actor = as(provider, Role::provider);
  admin.actor = as(admin_id, Role::admin);
  service.actor = as("marketplace", Role::service);
  bool done = true;
  for (const BookingInfo& b : bookings_) {
    auto loaded = shell().load_booking(b.id);
    if (!loaded.is_ok()) return false;
    const BookingState& s = loaded.value();
    const bool refunds_it = b.id == "bk-refund";
    std::string action;
    switch (s.status) {
      case BookingStatus::none: {
        CreateBooking c;
        c.booking_id = b.id;
        c.client_id = b.client;
        c.provider_id = b.provider;
        c.client_email = "ada@example.com";
        c.description = "a scenario";
        c.amount = Money{5'000'000, Currency::NGN};
        action = "create " + b.id + " -> " + outcome(shell().execute(b.id, c, service));
        break;
      }
      case BookingStatus::awaiting_payment: {
        const ChargeRecord* pending = pending_checkout(s, 1);
        if (!pending) {
          auto opened = process_->checkouts->open(b.id, "", client);
          action =
              "pay " + b.id + (opened.is_ok() && opened->opened ? " -> checkout" : " -> not yet");
        } else {
          auto paid =
              paystack_->control("POST", "/_sim/transactions/" + pending->reference + "/pay",
                                 R"({"outcome":"success"})");
          action = "customer pays " + pending->reference + " -> " + std::to_string(paid.status);
          if (paid.status == 409) {  // paid before the cut: the verify settles it
            (void)service::check_payment(context(), pending->reference, b.id, service);
          }
        }
        break;
      }
      case BookingStatus::pending_execution:
        if (refunds_it) {
          action =
              "dispute " + b.id + " -> " +
              outcome(shell().execute(
                  b.id, OpenDispute{"no-show", "never came", DisputeSource::party, std::nullopt},
                  client));
        } else {
          action = "proof " + b.id + " -> " +
                   outcome(shell().execute(b.id, SubmitProof{"done", {}, {}}, provider_cmd));
        }
        break;
      case BookingStatus::awaiting_confirmation:
        action = "approve " + b.id + " -> " +
                 outcome(shell().execute(b.id, ConfirmCompletion{}, client));
        break;
      case BookingStatus::disputed: {
        ResolveDispute r;
        r.outcome = ResolutionOutcome::refund;
        r.note = "the provider never came";
        action = "resolve " + b.id + " -> " + outcome(shell().execute(b.id, r, admin));
        break;
      }
      default:
        break;
    }
    if (!action.empty()) note(action);
    bool finished = refunds_it ? s.status == BookingStatus::refunded && !s.refunds.empty() &&
                                     s.refunds.back().status == RefundStatus::processed
                               : s.status == BookingStatus::completed;
    done = done && finished;
  }
  // The provider: an account once paid (the release stays in the balance), then a withdrawal of
  // the whole balance, once.
  auto p = shell().load_provider(provider);
  if (!p.is_ok()) return false;
  auto released = shell().load_booking("bk-release");
  bool release_done = released.is_ok() && released->status == BookingStatus::completed;
  if (release_done && !p->account) {
    service::PayoutAccount account{"058", "0123456789", "Eze Ltd", Currency::NGN};
    auto registered = service::register_payout_account(context(), provider, account, provider_cmd);
    note(std::string("register account -> ") +
         (registered.is_ok() ? outcome(registered->result) : "error"));
    done = false;
  } else if (p->account && p->payouts.empty()) {
    auto balance =
        process_->runtime->projections().available_balance(*process_->db, provider, Currency::NGN);
    if (balance.is_ok() && balance->amount_minor > 0) {
      CommandContext keyed = provider_cmd;
      keyed.idempotency_key = "withdraw-all";
      RequestWithdrawal w{*balance, Money{0, Currency::NGN}, keyed.idempotency_key};
      note("withdraw -> " + outcome(shell().execute(provider, w, keyed)));
    }
    done = false;
  } else {
    done = done && !p->payouts.empty() && p->payouts.back().status == PayoutStatus::success;
  }
  clock_.advance_ms(61'000);
  paystack_->run_due_follow_ups();
  return done;
}

void Simulation::run_scenario() {
  bookings_ = {{"bk-release", client_ids[0], provider_ids[0]},
               {"bk-refund", client_ids[0], provider_ids[0]}};
  report_.bookings = bookings_.size();
  vfs_.heal();  // operations are counted from here: the scenario's, not the first migration's
  if (options_.cut_at > 0) {
    vfs_.cut_at(options_.cut_at);
    cut_is_power_loss_ = options_.cut_loses_power;
  }
  for (int round = 0; round < 60 && report_.ok; ++round) {
    ++report_.steps;
    step_label_ = "scenario";
    bool done = scenario_tick();
    if (process_ && (vfs_.is_cut() || store_failed())) {
      crash(vfs_.is_cut() && cut_is_power_loss_);
      continue;
    }
    feed_model();
    if (done) {
      check_states();
      // Exactly one transfer (the withdrawal) and one refund (the dispute's) at Paystack.
      rapidjson::Document state = paystack_->state_json();
      if (state["transfers"].Size() != 1 || state["refunds"].Size() != 1)
        fail("Paystack has " + std::to_string(state["transfers"].Size()) + " transfers and " +
             std::to_string(state["refunds"].Size()) + " refunds, not one of each");
      return;
    }
  }
  fail("the scenario did not complete");
}

// ---- the end ----------------------------------------------------------------------------------

std::string Simulation::waiting_work() {
  std::string waiting;
  if (!paystack_->webhooks().empty()) waiting += "webhooks to deliver; ";
  if (paystack_->follow_ups_pending()) waiting += "Paystack follow-ups; ";
  for (const char* p : provider_ids) {
    auto state = shell().load_provider(p);
    if (!state.is_ok()) return "provider does not load";
    for (const PayoutRecord& payout : state->payouts)
      if (payout.status == PayoutStatus::queued || payout.status == PayoutStatus::pending ||
          payout.status == PayoutStatus::otp)
        waiting += "payout " + payout.payout_id + " " + payout_status_name(payout.status) + "; ";
  }
  for (const BookingInfo& b : bookings_) {
    auto state = shell().load_booking(b.id);
    if (!state.is_ok()) return "booking does not load";
    for (const RefundRecord& r : state->refunds)
      if (r.status == RefundStatus::queued || r.status == RefundStatus::pending ||
          r.status == RefundStatus::processing)
        waiting += "refund " + r.refund_id + " " + refund_status_name(r.status) + "; ";
    for (const ChargeRecord& c : state->charges)
      if (c.status == ChargeStatus::pending) waiting += "checkout " + c.reference + "; ";
  }
  if (count("SELECT count(*) FROM webhook_deliveries WHERE status = 'received' OR "
            "(status = 'failed' AND attempts < 8)") > 0)
    waiting += "webhook deliveries to process; ";
  if (count("SELECT count(*) FROM notifications WHERE delivered_at_ms IS NULL") > 0)
    waiting += "notifications to send; ";
  return waiting;
}

// The faults stop; the service runs (and an admin sends the OTPs Paystack asks for) until there is
// nothing left to do.
void Simulation::settle_down() {
  step_label_ = "settling";
  paystack_->faults = NetworkFaults{};
  receiver_->failure_rate = 0;
  vfs_.heal();
  if (!process_) return;
  if (store_failed()) crash(false);
  // The banks decide every open chargeback: one the merchant never answered is auto-accepted at
  // its due date, one the merchant declined is decided for the merchant.
  rapidjson::Document disputes = paystack_->state_json();
  for (const auto& d : disputes["disputes"].GetArray()) {
    std::string status = d["status"].GetString();
    if (status == "resolved") continue;
    const char* resolution = status == "awaiting-merchant-feedback" ? "auto-accepted" : "declined";
    paystack_->control("POST", "/_sim/disputes/" + std::to_string(d["id"].GetInt64()) + "/resolve",
                       std::string(R"({"resolution":")") + resolution + "\"}");
  }
  std::string waiting;
  for (int round = 0; round < settle_rounds_max && report_.ok; ++round) {
    clock_.advance_ms(1);
    deliver_all();
    (void)process_->processor->run_once();
    (void)process_->outbox->run_once();
    (void)process_->schedulers->run_once();
    (void)process_->notifier->run_once();
    for (const char* p : provider_ids) {
      auto state = shell().load_provider(p);
      if (!state.is_ok()) continue;
      CommandContext admin;
      admin.actor = as(admin_id, Role::admin);
      for (const PayoutRecord& payout : state->payouts)
        if (payout.status == PayoutStatus::otp)
          (void)service::finalize_payout(context(), payout.payout_id, valid_otp, admin);
    }
    feed_model();
    waiting = waiting_work();
    if (waiting.empty()) break;
    clock_.advance_ms(round < 20 ? 10 * 60'000 : 3 * 3'600'000);
    paystack_->run_due_follow_ups();
  }
  if (!waiting.empty()) fail("not quiescent once the faults stopped: " + waiting);
}

void Simulation::check_paystack() {
  if (!report_.ok) return;
  rapidjson::Document state = paystack_->state_json();
  check_transfers(state);
  if (report_.ok) check_refunds(state);
}

// Every transfer at Paystack is one payout of the ledger, with its amount and outcome, and every
// payout but one Paystack refused has its transfer.
void Simulation::check_transfers(const rapidjson::Document& state) {
  std::map<std::string, PayoutRecord> payouts;  // by Paystack reference
  for (const char* p : provider_ids) {
    auto provider = shell().load_provider(p);
    if (!provider.is_ok()) return fail("provider does not load");
    for (const PayoutRecord& payout : provider->payouts) {
      if (!payouts.emplace(payout.reference, payout).second)
        return fail("two payouts with reference " + payout.reference);
    }
  }
  std::set<std::string> transferred;
  for (const auto& t : state["transfers"].GetArray()) {
    ++report_.payouts;
    std::string reference = t["reference"].GetString();
    std::string status = t["status"].GetString();
    auto it = payouts.find(reference);
    if (it == payouts.end()) return fail("a transfer at Paystack no payout made: " + reference);
    if (!transferred.insert(reference).second)
      return fail("two transfers at Paystack for payout " + it->second.payout_id);
    const PayoutRecord& p = it->second;
    if (t["amount"].GetInt64() != p.amount.amount_minor)
      return fail("transfer " + reference + " is not the payout's amount");
    std::string ours = payout_status_name(p.status);
    bool agrees = status == ours || (status == "abandoned" && ours == "failed");
    if (!agrees)
      return fail("transfer " + reference + " is " + status + " at Paystack, " + ours +
                  " in the ledger");
  }
  for (const auto& [reference, p] : payouts) {
    if (!transferred.count(reference) && p.status != PayoutStatus::failed)
      return fail("payout " + p.payout_id + " is " + payout_status_name(p.status) +
                  " but Paystack has no transfer for it");
  }
}

// Every refund at Paystack is one refund of the ledger (by merchant note), sent once, with its
// amount and outcome; every refund but a failed one was sent; and none was sent once Paystack held
// a chargeback on its payment that then gave the money back (rule 6b).
void Simulation::check_refunds(const rapidjson::Document& state) {
  std::map<std::string, RefundRecord> refunds;  // by refund id
  for (const BookingInfo& b : bookings_) {
    auto booking = shell().load_booking(b.id);
    if (!booking.is_ok()) return fail("booking does not load");
    for (const RefundRecord& r : booking->refunds) refunds.emplace(r.refund_id, r);
  }
  std::map<std::string, int> refunds_at_paystack;
  struct GivenBack {
    int64_t refunded = 0, charged_back = 0;
    std::optional<int64_t> first_chargeback_ms;        // opened: the first for the customer
    std::vector<std::pair<int64_t, int64_t>> refunds;  // created at, amount (processed ones)
  };
  std::map<std::string, GivenBack> given_back;  // per transaction reference
  for (const auto& r : state["refunds"].GetArray()) {
    ++report_.refunds;
    std::string note = r["merchant_note"].GetString();
    std::string status = r["status"].GetString();
    auto it = refunds.find(note);
    if (it == refunds.end()) return fail("a refund at Paystack no refund of ours made: " + note);
    if (++refunds_at_paystack[note] > 1) return fail("refund " + note + " was sent twice");
    const RefundRecord& ours = it->second;
    if (r["amount"].GetInt64() != ours.amount.amount_minor)
      return fail("refund " + note + " is not our amount");
    std::string mine = refund_status_name(ours.status);
    if (mine == "needs_attention") mine = "needs-attention";  // Paystack's spelling
    if (status != mine && !(status == "failed" && ours.settled_by_chargeback))
      return fail("refund " + note + " is " + status + " at Paystack, " + mine + " ours");
    if (status == "processed") {
      GivenBack& g = given_back[r["transaction_reference"].GetString()];
      g.refunded += r["amount"].GetInt64();
      g.refunds.emplace_back(paystack_sim::parse_time(r["created_at"].GetString()).value_or(0),
                             r["amount"].GetInt64());
    }
  }
  for (const auto& [id, r] : refunds) {
    bool sent = refunds_at_paystack.count(id) > 0;
    if (!sent && r.status != RefundStatus::failed)
      return fail("refund " + id + " is " + refund_status_name(r.status) +
                  " but Paystack has no refund for it");
  }
  for (const auto& d : state["disputes"].GetArray()) {
    if (!d["resolution"].IsString()) continue;
    if (std::string_view(d["resolution"].GetString()) == "declined") continue;
    GivenBack& g = given_back[d["transaction_reference"].GetString()];
    g.charged_back += d["refund_amount"].GetInt64();
    int64_t at = paystack_sim::parse_time(d["created_at"].GetString()).value_or(0);
    g.first_chargeback_ms = std::min(g.first_chargeback_ms.value_or(at), at);
  }
  // A bank may still award a chargeback on money refunded before the chargeback was opened (the
  // merchant's evidence is the refund); what the service must never do is send a refund once
  // Paystack holds a chargeback on the payment that then gives the money back.
  for (const auto& tx : state["transactions"].GetArray()) {
    auto it = given_back.find(tx["reference"].GetString());
    if (it == given_back.end() || !it->second.first_chargeback_ms) continue;
    const GivenBack& g = it->second;
    int64_t refunded_after = 0;
    for (const auto& [created_ms, amount] : g.refunds)
      if (created_ms > *g.first_chargeback_ms) refunded_after += amount;
    int64_t before = g.refunded - refunded_after;
    if (refunded_after > 0 && before + g.charged_back + refunded_after > tx["amount"].GetInt64())
      return fail("transaction " + std::string(tx["reference"].GetString()) + " was refunded " +
                  money_text(refunded_after) + " after a chargeback gave back " +
                  money_text(g.charged_back) + " of its " + money_text(tx["amount"].GetInt64()));
  }
}

Report Simulation::run() {
  logging::silence();
  paystack_sim::use_clock([this] { return clock_.now_ms(); });
  paystack_sim::seed_random(options_.seed ^ 0x5eedULL);
  vfs_.heal();
  if (!start()) return report_;
  if (options_.scenario) {
    run_scenario();
  } else {
    while (report_.ok && static_cast<int>(report_.steps) < options_.steps) {
      ++report_.steps;
      step_label_ = "workload";
      step();
    }
  }
  report_.storage_operations = vfs_.counts().operations();
  if (report_.ok) settle_down();
  if (report_.ok) {
    feed_model();
    check_states();
    check_paystack();
    auto verified = projections::verify(*process_->db);
    if (!verified.is_ok() || !verified->ok())
      fail("verify at the end: " +
           (verified.is_ok() ? verified->problems.front() : verified.status().to_string()));
  }
  std::string last_hash = process_ ? last_ack_hash_ : "";
  note("end " + last_hash);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest_));
  report_.digest = hex;
  competitor_ = nullptr;
  process_.reset();
  paystack_sim::use_clock({});
  return report_;
}

bool make_template(const std::string& path) {
  std::error_code error;
  std::filesystem::remove(path, error);
  ManualClock clock(start_ms);
  Rng rng(1);
  auto paystack = std::make_shared<SimPaystack>(clock, rng, secret_key);
  service::Runtime::Options options;
  options.db_path = path;
  auto runtime = service::Runtime::open(
      options, clock,
      std::make_unique<paystack::Client>(
          paystack, paystack::RetryPolicy{}, [](std::chrono::milliseconds) {}, secret_key));
  return runtime.is_ok();  // closing it checkpoints the WAL into the file
}

Report simulate(const Options& options) {
  Simulation simulation(options);
  return simulation.run();
}

}  // namespace escrow::sim
