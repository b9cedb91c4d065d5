// Money leaving the ledger: the outbox dispatcher (service/outbox.h), the schedulers
// (service/schedulers.h), the provider routes (payout account, balance, withdrawals) and the
// admin's OTP finalize route, against a real tools/paystack-sim process.
//
// How: each test migrates a fresh SQLite file and builds the service's parts by hand (event
// store, live projections, command shell, read pool, Paystack client pointed at the simulator,
// Services, a Router with the provider and admin routes), drives bookings through the command
// shell, runs the dispatcher or the schedulers one pass at a time, and checks what a user would
// see: the payouts/refunds/bookings tables, the provider's balance over HTTP, and the transfers
// and refunds the simulator recorded (GET /_sim/state). The clock is a ManualClock so that
// "pending for a minute" and "auto-confirm after three days" happen on demand.
//
// Covered: a release is paid with exactly one transfer under the payout's reference; a failed
// transfer returns the money to available; a transfer sent before a "crash" (sent with the client
// directly, then a fresh dispatcher) is found, not sent again; Paystack down leaves the payout
// queued until it answers; a refund is sent once and settled to processed; a refund sent before a
// crash is found by its merchant note; OTP transfers wait for the admin (wrong code: 400
// invalid_otp, nothing recorded); withdrawals are checked against the available balance, and
// one sent again with its Idempotency-Key (a request re-run after a crash) is the same withdrawal;
// a transfer Paystack made but answers 404 for on lookup leaves the payout queued (never failed,
// so never paid twice) until Paystack lists it; a payout whose reference Paystack holds for
// another transfer stays queued and is tried only Outbox::reference_conflict_attempts_max times;
// auto-confirm at the deadline releases and wakes the outbox; pending checkouts are verified and
// settled; a booking past pay_by expires (its open checkout abandoned), and a payment made after
// pay_by is refunded once, with the reason on the booking; the admin's lists of payouts and
// refunds by status (GET /admin/payouts, /admin/refunds); a chargeback whose webhooks were lost is
// found by the scheduler (GET /dispute), a refund of a payment with a chargeback waits for it and
// is never sent when the chargeback returns the money (one Paystack made before a crash is looked
// up first, not settled by it), a recorded one fetched again (a resolution
// whose webhook was lost, at most once per check interval), and answered by an admin over HTTP
// (POST /admin/chargebacks/:id/respond: role and id checks, accepted and resolved at once, no
// refund at Paystack, a second answer refused). Skipped, with a warning, when the simulator binary
// is not built.
#include <rapidjson/document.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/app.h"
#include "api/auth.h"
#include "api/router.h"
#include "ledger/time_format.h"
#include "net/http_client.h"
#include "paystack/client.h"
#include "service/outbox.h"
#include "service/schedulers.h"
#include "test/paystack_sim.h"
#include "test/service_world.h"

using namespace escrow;
using namespace escrow::api;
using namespace escrow::service;
using namespace std::chrono_literals;

namespace {

constexpr const char* sim_key = "sk_test_outbox";
constexpr const char* jwt_secret = "outbox-test-secret-0123456789-abcdefghij";
constexpr int64_t net_of_million = 950'000;  // 1,000,000 less the 5% fee

// One simulator for the run (webhooks go to a closed port: this suite reads Paystack's state
// through the API only), reset before each test.
using Sim = PaystackSim;
Sim* sim_or_skip() {
  return Sim::fresh_or_skip(sim_key);
}

// To the simulator, counting requests; GET /transfer/verify/... can be made to answer 404, as
// Paystack may for a transfer it made a moment ago and does not list yet.
struct CountingTransport : net::HttpTransport {
  std::shared_ptr<net::HttpTransport> sim;
  std::atomic<bool> verify_not_found{false};
  std::atomic<int> initiates{0};
  Result<net::HttpResponse> send(const net::HttpRequest& request) override {
    if (request.method == paystack::HttpMethod::post && request.target == "/transfer") ++initiates;
    if (verify_not_found && request.target.rfind("/transfer/verify/", 0) == 0) {
      return net::HttpResponse{404, R"({"status":false,"message":"Transfer not found"})", {}};
    }
    return sim->send(request);
  }
};

std::shared_ptr<CountingTransport> counting_transport(const std::string& base_url) {
  net::HttpClientConfig config;
  config.base_url = base_url;
  config.secret_key = sim_key;
  auto http = net::HttpClient::create(config);
  REQUIRE(http.is_ok());
  auto transport = std::make_shared<CountingTransport>();
  transport->sim = std::shared_ptr<net::HttpTransport>(std::move(http).value());
  return transport;
}

// ---- the service's parts ---------------------------------------------------------------------

template <class T>
T must(Result<T> result) {
  INFO(result.status().to_string());
  REQUIRE(result.is_ok());
  return std::move(result).value();
}

std::unique_ptr<paystack::Client> sim_client(const std::string& base_url) {
  paystack::ClientConfig config;
  config.base_url = base_url;
  config.secret_key = sim_key;
  return must(paystack::Client::create(config));
}

Router routes(Services& services) {
  Router router;
  add_provider_routes(router, services);
  add_admin_routes(router, services);
  add_read_routes(router, services);
  return router;
}

const Actor service{"marketplace", Role::service};
const Actor admin{"admin-1", Role::admin};
const Actor client_1{"client-1", Role::client};
const Actor provider_1{"provider-1", Role::provider};

struct World : ServiceParts {
  // `start_ms`: where the manual clock starts (the simulator stamps times by its own clock).
  explicit World(Sim& sim_in, int64_t start_ms = 1'800'000'000'000)
      : ServiceParts(start_ms, jwt_secret, sim_key, sim_in.base_url()), sim(sim_in) {}

  Sim& sim;
  std::unique_ptr<paystack::Client> paystack = sim_client(sim.base_url());
  Services services = services_with(*paystack, outbox);
  Outbox outbox{services.service, Outbox::Options{60'000, 60'000, 1}};
  Schedulers schedulers{services.service, [this] { outbox.wake(); },
                        Schedulers::Options{60'000, 15 * 60 * 1000}};
  Router router = routes(services);

  // ---- HTTP ----
  HttpResponse call(const std::string& method, const std::string& target, const Actor& who,
                    const std::string& body = "", const std::string& idempotency_key = "") {
    HttpRequest request;
    if (!idempotency_key.empty()) request.headers.set("Idempotency-Key", idempotency_key);
    request.method = method;
    request.target = target;
    std::string token =
        must(issue_token(jwt_secret, who.id, who.role, 30 * 24 * 3600, clock.now_ms()));
    request.headers.set("Authorization", "Bearer " + token);
    if (!body.empty()) request.headers.set("Content-Type", "application/json");
    request.body = body;
    return router.dispatch(request).response;
  }
  static rapidjson::Document json(const HttpResponse& response) {
    rapidjson::Document doc;
    doc.Parse(response.body.c_str());
    REQUIRE(doc.IsObject());
    return doc;
  }

  // ---- commands ----
  CommandResult run(const std::string& booking, BookingCommand command, const Actor& actor) {
    CommandResult r = shell->execute(booking, command, CommandContext{actor, {}, {}, {}, {}});
    REQUIRE(r.status.is_ok());
    INFO((r.rejection ? rejection_code(*r.rejection) : "ok"));
    REQUIRE(r.ok());
    return r;
  }

  void register_account() {
    HttpResponse r = call("PUT", "/providers/provider-1/payout-account", provider_1,
                          R"({"bank_code":"058","account_number":"0123456789",)"
                          R"("account_name":"Bola Ade","currency":"NGN"})");
    INFO(r.body);
    REQUIRE(r.status == 200);
  }

  void create(const std::string& id, std::optional<int64_t> pay_by_ms = std::nullopt) {
    CreateBooking c{id,
                    "client-1",
                    "provider-1",
                    "ada@example.com",
                    "Deep clean",
                    Money{1'000'000, Currency::NGN},
                    PaymentPlan::full,
                    0,
                    500,
                    3 * 24 * 3600,
                    pay_by_ms};
    run(id, c, service);
  }

  PaymentDue due(const std::string& id) {
    auto state = must(shell->load_booking(id));
    auto next = next_payment(state, clock.now_ms());
    REQUIRE(std::holds_alternative<PaymentDue>(next));
    return std::get<PaymentDue>(next);
  }

  // Opens the checkout at the simulator and records it; the customer then does `outcome`.
  std::string checkout(const std::string& id, const std::string& outcome) {
    PaymentDue d = due(id);
    auto opened =
        paystack->initialize_transaction({"ada@example.com", d.amount, d.reference, "", ""});
    REQUIRE(opened.is_ok());
    run(id,
        InitiatePayment{d.reference, d.installment, d.amount, opened->authorization_url,
                        opened->access_code},
        client_1);
    if (!outcome.empty()) {
      sim.pay(d.reference, outcome);
    }
    return d.reference;
  }

  // A payment the simulator took, captured as a verified charge would be.
  void pay_at_sim(const std::string& id) {
    std::string reference = checkout(id, "success");
    auto tx = paystack->verify_transaction(reference);
    REQUIRE(tx.is_ok());
    run(id,
        CapturePayment{reference, std::nullopt, tx->amount, tx->id,
                       tx->fees.value_or(Money{0, Currency::NGN}), tx->channel, tx->paid_at_ms,
                       "verify"},
        Actor{"paystack", Role::system});
  }

  // Paid, proven and approved: the release queues a payout when the provider has an account.
  void release(const std::string& id) {
    create(id);
    pay_at_sim(id);
    run(id, SubmitProof{"done", {}, {}}, provider_1);
    run(id, ConfirmCompletion{}, client_1);
  }

  // The customer's bank charges back the booking's (only) payment at the simulator, whose
  // webhooks go nowhere; returns Paystack's dispute id.
  int64_t charge_back(const std::string& id, const std::string& body = "{}") {
    std::string reference = text("SELECT reference FROM payments WHERE booking_id = '" + id + "'");
    sim.control("/_sim/transactions/" + reference + "/chargeback", body);
    rapidjson::Document state = sim.state();
    return state["disputes"][state["disputes"].Size() - 1]["id"].GetInt64();
  }

  // ---- reads ----
  std::string text(const std::string& sql) {
    auto lease = must(reads.lease());
    auto stmt = must(lease.db().prepare(sql));
    auto row = stmt.step();
    REQUIRE(row.is_ok());
    if (!row.value()) return "<none>";
    return stmt.column_text(0);
  }
  int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }
  std::string only_payout() { return text("SELECT payout_id FROM payouts"); }
  std::string payout_status() { return text("SELECT status FROM payouts"); }
  int64_t balance_of(const char* field) {
    HttpResponse r = call("GET", "/providers/provider-1/balance", provider_1);
    REQUIRE(r.status == 200);
    auto doc = json(r);
    REQUIRE(doc["balances"].Size() == 1);
    return doc["balances"][0][field].GetInt64();
  }
};

}  // namespace

TEST_CASE("a release to a provider with an account is paid with exactly one transfer") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  HttpResponse account = w.call("PUT", "/providers/provider-1/payout-account", provider_1,
                                R"({"bank_code":"058","account_number":"0123456789",)"
                                R"("account_name":"Bola Ade","currency":"NGN"})");
  REQUIRE(account.status == 200);
  CHECK(account.body.find("0123456789") == std::string::npos);  // only the last four
  auto doc = World::json(account);
  CHECK(std::string(doc["account_number_last4"].GetString()) == "6789");
  CHECK(std::string(doc["recipient_code"].GetString()).rfind("RCP_", 0) == 0);

  w.release("b1");
  CHECK(w.payout_status() == "queued");
  CHECK(w.balance_of("in_flight") == net_of_million);
  REQUIRE(w.outbox.run_once().is_ok());

  auto state = sim->state();
  REQUIRE(state["transfers"].Size() == 1);
  const auto& transfer = state["transfers"][0];
  CHECK(std::string(transfer["reference"].GetString()) == w.only_payout());
  CHECK(transfer["amount"].GetInt64() == net_of_million);
  CHECK(std::string(transfer["recipient_code"].GetString()) ==
        std::string(doc["recipient_code"].GetString()));
  CHECK(w.payout_status() == "success");
  CHECK(w.text("SELECT transfer_code FROM payouts") == transfer["transfer_code"].GetString());
  CHECK(w.balance_of("in_flight") == 0);
  CHECK(w.balance_of("available") == 0);
  CHECK(w.balance_of("total_earned") == net_of_million);

  REQUIRE(w.outbox.run_once().is_ok());  // nothing left to send
  CHECK(sim->count("transfers") == 1);
}

TEST_CASE("a transfer that fails returns the money to the provider's available balance") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  sim->control("/_sim/config", R"({"transfer_mode":"fail"})");
  w.register_account();
  w.release("b1");
  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(w.payout_status() == "pending");  // accepted; the outcome comes later
  REQUIRE(sim->wait_for_status("transfers", "failed"));

  REQUIRE(w.outbox.run_once().is_ok());  // no news for a minute yet: not checked
  CHECK(w.payout_status() == "pending");
  w.clock.advance_ms(61'000);
  REQUIRE(w.outbox.run_once().is_ok());  // no webhook came: verify settles it
  CHECK(w.payout_status() == "failed");
  CHECK(w.balance_of("available") == net_of_million);
  CHECK(w.balance_of("in_flight") == 0);
  CHECK(sim->count("transfers") == 1);
}

TEST_CASE("a transfer sent before a crash is looked up, never sent twice") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.register_account();
  w.release("b1");
  // The process sent the transfer and died before recording Paystack's answer.
  std::string payout_id = w.only_payout();
  std::string recipient = w.text("SELECT recipient_code FROM payouts");
  auto sent = w.paystack->initiate_transfer(
      {Money{net_of_million, Currency::NGN}, recipient, payout_id, "", "balance"});
  REQUIRE(sent.is_ok());
  CHECK(w.payout_status() == "queued");

  // After the restart: a dispatcher with no memory of the first one.
  Outbox restarted(w.services.service, Outbox::Options{60'000, 60'000, 1});
  REQUIRE(restarted.run_once().is_ok());
  CHECK(sim->count("transfers") == 1);
  CHECK(w.payout_status() == "success");
  CHECK(w.text("SELECT transfer_code FROM payouts") == sent->transfer_code);
}

TEST_CASE("a transfer Paystack made but cannot list yet leaves the payout queued, never failed") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.register_account();
  w.release("b1");
  // The first POST /transfer reached Paystack, but its answer was lost (a timeout).
  std::string payout_id = w.only_payout();
  auto sent = w.paystack->initiate_transfer({Money{net_of_million, Currency::NGN},
                                             w.text("SELECT recipient_code FROM payouts"),
                                             payout_id, "", "balance"});
  REQUIRE(sent.is_ok());

  // The retry is refused as a duplicate, and the lookup answers 404 for now.
  auto transport = counting_transport(sim->base_url());
  transport->verify_not_found = true;
  paystack::Client client(
      transport, paystack::RetryPolicy{}, [](std::chrono::milliseconds) {}, sim_key);
  Outbox outbox(Context{w.clock, *w.shell, w.reads, w.queries, client},
                Outbox::Options{60'000, 60'000, 1});
  REQUIRE(outbox.run_once().is_ok());
  CHECK(w.payout_status() == "queued");  // not failed: the money stays in flight
  CHECK(w.balance_of("available") == 0);
  CHECK(w.balance_of("in_flight") == net_of_million);

  // Once Paystack lists it, the next attempt finds it: paid once, recorded once.
  transport->verify_not_found = false;
  w.clock.advance_ms(Outbox::backoff_base_ms);
  REQUIRE(outbox.run_once().is_ok());
  CHECK(w.payout_status() == "success");
  CHECK(w.text("SELECT transfer_code FROM payouts") == sent->transfer_code);
  CHECK(sim->count("transfers") == 1);
  CHECK(w.balance_of("available") == 0);
}

TEST_CASE("a payout whose reference Paystack holds for another transfer stays queued") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.register_account();
  w.release("b1");
  // Something else took the payout's reference, for another amount.
  std::string payout_id = w.only_payout();
  REQUIRE(w.paystack
              ->initiate_transfer({Money{1'000, Currency::NGN},
                                   w.text("SELECT recipient_code FROM payouts"), payout_id, "",
                                   "balance"})
              .is_ok());

  auto transport = counting_transport(sim->base_url());
  paystack::Client client(
      transport, paystack::RetryPolicy{}, [](std::chrono::milliseconds) {}, sim_key);
  Outbox outbox(Context{w.clock, *w.shell, w.reads, w.queries, client},
                Outbox::Options{60'000, 60'000, 1});
  for (int pass = 0; pass < Outbox::reference_conflict_attempts_max + 3; ++pass) {
    REQUIRE(outbox.run_once().is_ok());
    w.clock.advance_ms(Outbox::backoff_max_ms);
  }
  // Tried as often as the limit says, then left for an operator: never failed, never paid.
  CHECK(transport->initiates == Outbox::reference_conflict_attempts_max);
  CHECK(w.payout_status() == "queued");
  CHECK(w.balance_of("in_flight") == net_of_million);
  CHECK(sim->count("transfers") == 1);
}

TEST_CASE("while Paystack is down a payout stays queued, and is sent once it answers") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.register_account();
  w.release("b1");
  sim->control("/_sim/config", R"({"error_rate":1})");
  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(w.payout_status() == "queued");
  CHECK(sim->count("transfers") == 0);

  sim->control("/_sim/config", R"({"error_rate":0})");
  REQUIRE(w.outbox.run_once().is_ok());  // still backing off
  CHECK(w.payout_status() == "queued");
  w.clock.advance_ms(Outbox::backoff_base_ms);
  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(w.payout_status() == "success");
  CHECK(sim->count("transfers") == 1);
}

TEST_CASE("a refund is sent once and settled to processed") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.create("b1");
  w.pay_at_sim("b1");
  w.run("b1", CancelBooking{"client changed plans"}, admin);
  std::string refund_id = w.text("SELECT refund_id FROM refunds");
  CHECK(w.text("SELECT status FROM refunds") == "queued");

  REQUIRE(w.outbox.run_once().is_ok());
  auto state = sim->state();
  REQUIRE(state["refunds"].Size() == 1);
  CHECK(state["refunds"][0]["amount"].GetInt64() == 1'000'000);
  CHECK(w.text("SELECT status FROM refunds") == "pending");
  REQUIRE(sim->wait_for_status("refunds", "processed"));

  w.clock.advance_ms(61'000);
  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(w.text("SELECT status FROM refunds") == "processed");
  CHECK(w.text("SELECT payment_status FROM bookings WHERE id = 'b1'") == "refunded");
  CHECK(sim->count("refunds") == 1);
}

TEST_CASE("a refund sent before a crash is found by its note, never sent twice") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.create("b1");
  w.pay_at_sim("b1");
  w.run("b1", CancelBooking{"client changed plans"}, admin);
  std::string refund_id = w.text("SELECT refund_id FROM refunds");
  std::string reference = w.text("SELECT payment_reference FROM refunds");
  auto sent = w.paystack->create_refund(
      {reference, std::nullopt, Money{1'000'000, Currency::NGN}, "", refund_id});
  REQUIRE(sent.is_ok());

  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(sim->count("refunds") == 1);
  CHECK(w.text("SELECT status FROM refunds") != "queued");
  CHECK(w.integer("SELECT paystack_refund_id FROM refunds") == sent->id);
}

TEST_CASE("an OTP transfer waits for the admin, who finalizes it") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  sim->control("/_sim/config", R"({"transfer_mode":"otp"})");
  w.register_account();
  w.release("b1");
  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(w.payout_status() == "otp");
  std::string target = "/admin/payouts/" + w.only_payout() + "/finalize";

  CHECK(w.call("POST", target, provider_1, R"({"otp":"123456"})").status == 403);
  CHECK(
      w.call("POST", "/admin/payouts/po-unknown-1/finalize", admin, R"({"otp":"123456"})").status ==
      404);
  CHECK(w.call("POST", target, admin, R"({"otp":"12x"})").status == 400);

  HttpResponse wrong = w.call("POST", target, admin, R"({"otp":"000000"})");
  CHECK(wrong.status == 400);
  CHECK(wrong.body.find("invalid_otp") != std::string::npos);
  CHECK(w.payout_status() == "otp");  // nothing recorded; the admin may type it again

  HttpResponse right = w.call("POST", target, admin, R"({"otp":"123456"})");
  INFO(right.body);
  REQUIRE(right.status == 200);
  CHECK(std::string(World::json(right)["status"].GetString()) == "success");
  CHECK(w.payout_status() == "success");
  CHECK(sim->count("transfers") == 1);

  HttpResponse again = w.call("POST", target, admin, R"({"otp":"123456"})");
  CHECK(again.status == 409);  // payout_not_awaiting_otp
}

TEST_CASE("a finalize Paystack refuses for a transfer settled meanwhile records what it is") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  sim->control("/_sim/config", R"({"transfer_mode":"otp"})");
  w.register_account();
  w.release("b1");
  REQUIRE(w.outbox.run_once().is_ok());
  REQUIRE(w.payout_status() == "otp");
  // Another admin finalized it at Paystack's dashboard: it no longer waits for an OTP.
  auto held = w.paystack->verify_transfer(w.only_payout());
  REQUIRE(held.is_ok());
  REQUIRE(w.paystack->finalize_transfer(held->transfer_code, "123456").is_ok());

  std::string target = "/admin/payouts/" + w.only_payout() + "/finalize";
  HttpResponse late = w.call("POST", target, admin, R"({"otp":"654321"})");
  INFO(late.body);
  REQUIRE(late.status == 200);  // not invalid_otp: Paystack's answer was recorded
  CHECK(std::string(World::json(late)["status"].GetString()) == "success");
  CHECK(w.payout_status() == "success");
  CHECK(sim->count("transfers") == 1);
}

TEST_CASE("released money waits in available until the provider withdraws it") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.release("b1");  // no payout account yet
  CHECK(w.text("SELECT count(*) FROM payouts") == "0");
  CHECK(w.balance_of("available") == net_of_million);

  const std::string withdraw = R"({"amount":400000,"currency":"NGN"})";
  HttpResponse no_account =
      w.call("POST", "/providers/provider-1/withdrawals", provider_1, withdraw);
  CHECK(no_account.status == 409);
  w.register_account();
  CHECK(w.text("SELECT count(*) FROM payouts") == "0");  // registering pays nothing by itself

  CHECK(w.call("POST", "/providers/provider-2/withdrawals", provider_1, withdraw).status == 403);
  CHECK(w.call("POST", "/providers/provider-1/withdrawals", provider_1,
               R"({"amount":2000000,"currency":"NGN"})")
            .status == 409);  // insufficient_balance
  CHECK(w.call("POST", "/providers/provider-1/withdrawals", provider_1,
               R"({"amount":1.5,"currency":"NGN"})")
            .status == 400);

  HttpResponse made = w.call("POST", "/providers/provider-1/withdrawals", provider_1, withdraw);
  INFO(made.body);
  REQUIRE(made.status == 201);
  auto doc = World::json(made);
  CHECK(std::string(doc["status"].GetString()) == "queued");
  CHECK(doc["amount"].GetInt64() == 400'000);
  CHECK(w.balance_of("available") == net_of_million - 400'000);
  CHECK(w.balance_of("in_flight") == 400'000);

  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(sim->count("transfers") == 1);
  CHECK(w.balance_of("in_flight") == 0);

  HttpResponse list = w.call("GET", "/providers/provider-1/withdrawals?limit=1", admin);
  REQUIRE(list.status == 200);
  auto listed = World::json(list);
  REQUIRE(listed["data"].Size() == 1);
  CHECK(std::string(listed["data"][0]["payout_id"].GetString()) == doc["payout_id"].GetString());
  CHECK(std::string(listed["data"][0]["status"].GetString()) == "success");
  CHECK(listed["next_cursor"].IsNull());
  CHECK(w.call("GET", "/providers/provider-1/withdrawals", Actor{"provider-2", Role::provider})
            .status == 403);
}

TEST_CASE("a withdrawal request run again with its Idempotency-Key withdraws once") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.release("b1");  // no payout account yet: the money waits in available
  w.register_account();
  const std::string withdraw = R"({"amount":600000,"currency":"NGN"})";
  const std::string target = "/providers/provider-1/withdrawals";

  // The idempotency store runs a request again when the process that claimed its key died
  // before answering: the handler then sees the same request a second time.
  HttpResponse first = w.call("POST", target, provider_1, withdraw, "wd-key-1");
  INFO(first.body);
  REQUIRE(first.status == 201);
  HttpResponse again = w.call("POST", target, provider_1, withdraw, "wd-key-1");
  INFO(again.body);
  REQUIRE(again.status == 201);  // not 409 insufficient_balance: it is the same withdrawal
  auto a = World::json(first);
  auto b = World::json(again);
  CHECK(std::string(a["withdrawal_id"].GetString()) == b["withdrawal_id"].GetString());
  CHECK(std::string(a["payout_id"].GetString()) == b["payout_id"].GetString());
  CHECK(b["amount"].GetInt64() == 600'000);
  CHECK(w.integer("SELECT count(*) FROM payouts") == 1);
  CHECK(w.balance_of("available") == net_of_million - 600'000);

  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(sim->count("transfers") == 1);
  // Asked again after it was paid: the same withdrawal, as it stands now.
  HttpResponse later = w.call("POST", target, provider_1, withdraw, "wd-key-1");
  REQUIRE(later.status == 201);
  CHECK(std::string(World::json(later)["status"].GetString()) == "success");
  CHECK(sim->count("transfers") == 1);

  // Another key, or none, is another withdrawal.
  const std::string small = R"({"amount":100000,"currency":"NGN"})";
  HttpResponse other = w.call("POST", target, provider_1, small, "wd-key-2");
  REQUIRE(other.status == 201);
  CHECK(std::string(World::json(other)["withdrawal_id"].GetString()) !=
        a["withdrawal_id"].GetString());
  REQUIRE(w.call("POST", target, provider_1, small).status == 201);
  REQUIRE(w.call("POST", target, provider_1, small).status == 201);
  CHECK(w.integer("SELECT count(*) FROM payouts") == 4);
  CHECK(w.balance_of("available") == net_of_million - 900'000);
}

TEST_CASE("auto-confirm releases a proven booking at its deadline and wakes the outbox") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.register_account();
  w.create("b1");
  w.pay_at_sim("b1");
  w.run("b1", SubmitProof{"done", {}, {}}, provider_1);
  w.outbox.start();  // polls every minute: only a wake() makes it send at once

  REQUIRE(w.schedulers.run_once().is_ok());
  CHECK(w.text("SELECT status FROM bookings WHERE id = 'b1'") == "awaiting_confirmation");
  w.clock.advance_ms(3LL * 24 * 3600 * 1000 + 1000);
  REQUIRE(w.schedulers.run_once().is_ok());
  CHECK(w.text("SELECT status FROM bookings WHERE id = 'b1'") == "completed");
  CHECK(w.text("SELECT release_reason FROM bookings WHERE id = 'b1'") == "auto_confirmed");
  CHECK(sim->wait_for_status("transfers", "success"));
  w.outbox.stop();
}

TEST_CASE("pending checkouts with no webhook are verified and settled") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  for (const char* id : {"paid", "declined", "open"}) w.create(id);
  std::string paid = w.checkout("paid", "success");  // its webhook never arrives
  std::string declined = w.checkout("declined", "failed");
  std::string open = w.checkout("open", "");  // the customer is still on the checkout page

  REQUIRE(w.schedulers.run_once().is_ok());  // too young to check
  CHECK(w.text("SELECT status FROM payments WHERE reference = '" + paid + "'") == "pending");
  w.clock.advance_ms(15 * 60 * 1000);
  REQUIRE(w.schedulers.run_once().is_ok());
  CHECK(w.text("SELECT status FROM payments WHERE reference = '" + paid + "'") == "captured");
  CHECK(w.text("SELECT payment_status FROM bookings WHERE id = 'paid'") == "escrow");
  CHECK(w.text("SELECT status FROM payments WHERE reference = '" + declined + "'") == "failed");
  CHECK(w.text("SELECT status FROM payments WHERE reference = '" + open + "'") == "pending");

  w.clock.advance_ms(Schedulers::abandoned_after_ms);  // abandoned for a day: failed
  REQUIRE(w.schedulers.run_once().is_ok());
  CHECK(w.text("SELECT status FROM payments WHERE reference = '" + open + "'") == "failed");
}

TEST_CASE("a booking past pay_by expires, and money paid after pay_by is refunded once") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  const int64_t start = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  World w(*sim, start);
  // "lapsed": a checkout opened and never paid. "late": paid at the simulator after pay_by
  // (Paystack's paid_at is the simulator's clock), its webhook never arriving.
  w.create("lapsed", start + 3'600'000);
  w.create("late", start);
  std::string lapsed = w.checkout("lapsed", "");
  std::string late = w.checkout("late", "");
  std::this_thread::sleep_for(std::chrono::milliseconds(1'100));
  sim->pay(late, "success");

  w.clock.advance_ms(60'000);  // past "late"'s pay_by only
  REQUIRE(w.schedulers.run_once().is_ok());
  CHECK(w.text("SELECT status FROM bookings WHERE id = 'lapsed'") == "awaiting_payment");
  // Verified before expiring: captured, the booking expired, the money on its way back.
  CHECK(w.text("SELECT status FROM bookings WHERE id = 'late'") == "expired");
  CHECK(w.text("SELECT status FROM payments WHERE reference = '" + late + "'") == "captured");
  CHECK(w.text("SELECT reason FROM refunds WHERE booking_id = 'late'") == "paid_after_pay_by");
  CHECK(w.integer("SELECT escrow_balance FROM bookings WHERE id = 'late'") == 0);
  REQUIRE(w.outbox.run_once().is_ok());
  REQUIRE(sim->wait_for_status("refunds", "processed"));

  w.clock.advance_ms(2 * 3'600'000);  // past "lapsed"'s pay_by too
  REQUIRE(w.schedulers.run_once().is_ok());
  CHECK(w.text("SELECT status FROM bookings WHERE id = 'lapsed'") == "expired");
  CHECK(w.text("SELECT status FROM payments WHERE reference = '" + lapsed + "'") == "failed");
  // Passes later change nothing: one refund, of the late payment only.
  REQUIRE(w.schedulers.run_once().is_ok());
  w.clock.advance_ms(61'000);
  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(sim->count("refunds") == 1);
  CHECK(w.text("SELECT payment_status FROM bookings WHERE id = 'late'") == "refunded");
  CHECK(w.integer("SELECT COUNT(*) FROM refunds") == 1);
}

TEST_CASE("admins and auditors list payouts and refunds across providers by status") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  sim->control("/_sim/config", R"({"transfer_mode":"fail"})");
  w.register_account();
  w.release("b1");
  REQUIRE(w.outbox.run_once().is_ok());
  REQUIRE(sim->wait_for_status("transfers", "failed"));
  w.clock.advance_ms(61'000);
  REQUIRE(w.outbox.run_once().is_ok());
  REQUIRE(w.payout_status() == "failed");
  w.create("b2");
  w.pay_at_sim("b2");
  w.run("b2", CancelBooking{"client changed plans"}, admin);

  const Actor auditor{"auditor-1", Role::auditor};
  auto failed = World::json(w.call("GET", "/admin/payouts?status=failed", auditor));
  REQUIRE(failed["data"].Size() == 1);
  CHECK(std::string(failed["data"][0]["payout_id"].GetString()) == w.only_payout());
  CHECK(std::string(failed["data"][0]["provider_id"].GetString()) == "provider-1");
  CHECK(failed["data"][0]["booking_id"].GetString() == std::string("b1"));
  CHECK(World::json(w.call("GET", "/admin/payouts?status=otp", admin))["data"].Size() == 0);
  CHECK(World::json(w.call("GET", "/admin/payouts?provider_id=provider-2", admin))["data"].Size() ==
        0);

  auto queued = World::json(w.call("GET", "/admin/refunds?status=queued", admin));
  REQUIRE(queued["data"].Size() == 1);
  CHECK(queued["data"][0]["booking_id"].GetString() == std::string("b2"));
  CHECK(queued["data"][0]["amount"].GetInt64() == 1'000'000);
  CHECK(queued["data"][0]["reason"].GetString() == std::string("cancellation"));
  CHECK(World::json(w.call("GET", "/admin/refunds?status=failed", admin))["data"].Size() == 0);

  // Paged: one row per page, then the end.
  auto first = World::json(w.call("GET", "/admin/refunds?limit=1", admin));
  CHECK(first["next_cursor"].IsNull());  // one refund only
  HttpResponse bad = w.call("GET", "/admin/payouts?status=lost", admin);
  CHECK(bad.status == 400);
  CHECK(bad.body.find("queued, pending, otp, success, failed, reversed") != std::string::npos);
  CHECK(w.call("GET", "/admin/refunds", client_1).status == 403);
  CHECK(w.call("GET", "/admin/payouts", provider_1).status == 403);
}

TEST_CASE(
    "a chargeback whose webhooks never came is found by the scheduler and answered by an admin") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.register_account();
  w.create("cb1");
  w.pay_at_sim("cb1");
  // The simulator sends its webhooks to a closed port: escrowd hears nothing of the chargeback.
  const int64_t dispute_id = w.charge_back("cb1", R"({"refund_amount":400000})");
  CHECK(w.integer("SELECT COUNT(*) FROM chargebacks") == 0);

  // The scheduler lists Paystack's disputes and records the one it never heard of, frozen.
  REQUIRE(w.schedulers.run_once().is_ok());
  CHECK(w.text("SELECT status FROM bookings WHERE id = 'cb1'") == "disputed");
  CHECK(w.text("SELECT due_at IS NOT NULL FROM chargebacks") == "1");
  CHECK(w.integer("SELECT refund_amount FROM chargebacks") == 400'000);
  REQUIRE(w.schedulers.run_once().is_ok());  // again: nothing new
  CHECK(w.integer("SELECT COUNT(*) FROM events WHERE type = 'ChargebackOpened'") == 1);

  // The admin answers at Paystack: accepted, resolved at once for the amount claimed.
  HttpResponse refused =
      w.call("POST", "/admin/chargebacks/" + std::to_string(dispute_id) + "/respond", provider_1,
             R"({"resolution":"accept","message":"ok"})");
  CHECK(refused.status == 403);
  HttpResponse bad = w.call("POST", "/admin/chargebacks/abc/respond", admin,
                            R"({"resolution":"accept","message":"ok"})");
  CHECK(bad.status == 404);
  HttpResponse answered =
      w.call("POST", "/admin/chargebacks/" + std::to_string(dispute_id) + "/respond", admin,
             R"({"resolution":"accept","message":"We agree with the customer."})");
  INFO(answered.body);
  REQUIRE(answered.status == 200);
  rapidjson::Document booking = World::json(answered);
  CHECK(booking["chargebacks"][0]["resolution"] == "merchant-accepted");
  CHECK(booking["chargebacks"][0]["response"] == "accept");
  CHECK(booking["escrow_balance"].GetInt64() == 600'000);
  CHECK(booking["status"] == "disputed");  // the rest waits for an admin's resolution
  CHECK(w.text("SELECT answered_by FROM chargebacks") == "admin-1");
  HttpResponse again =
      w.call("POST", "/admin/chargebacks/" + std::to_string(dispute_id) + "/respond", admin,
             R"({"resolution":"accept","message":"again"})");
  CHECK(again.status == 409);
  CHECK(sim->count("refunds") == 0);
}

TEST_CASE(
    "a refund waits while its payment has a chargeback, and is never sent if it returns the "
    "money") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.create("cb3");
  w.pay_at_sim("cb3");
  // The customer's bank opens a chargeback; its webhook never reaches the ledger.
  const int64_t dispute_id = w.charge_back("cb3");
  w.run("cb3", CancelBooking{"the provider cannot come"}, admin);
  CHECK(w.text("SELECT status FROM refunds") == "queued");

  // The outbox asks Paystack for the payment's chargebacks before refunding: it records the one
  // it finds and holds the refund.
  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(sim->count("refunds") == 0);
  CHECK(w.integer("SELECT COUNT(*) FROM chargebacks") == 1);
  CHECK(w.text("SELECT status FROM refunds") == "queued");

  // The card network gives the money back: the refund is settled by it, never sent.
  sim->control("/_sim/disputes/" + std::to_string(dispute_id) + "/resolve",
               R"({"resolution":"auto-accepted"})");
  w.clock.advance_ms(Schedulers::Options{}.chargeback_check_after_ms);
  REQUIRE(w.schedulers.run_once().is_ok());
  CHECK(w.text("SELECT resolution FROM chargebacks") == "auto-accepted");
  CHECK(w.text("SELECT status FROM refunds") == "failed");
  w.clock.advance_ms(Outbox::backoff_max_ms);
  REQUIRE(w.outbox.run_once().is_ok());
  CHECK(sim->count("refunds") == 0);
  CHECK(w.integer("SELECT escrow_balance FROM bookings WHERE id = 'cb3'") == 0);

  SECTION("declined, the refund goes out") {
    World v(*sim);
    v.create("cb4");
    v.pay_at_sim("cb4");
    const int64_t second = v.charge_back("cb4");
    v.run("cb4", CancelBooking{"the provider cannot come"}, admin);
    REQUIRE(v.outbox.run_once().is_ok());
    size_t before = sim->count("refunds");
    sim->control("/_sim/disputes/" + std::to_string(second) + "/resolve",
                 R"({"resolution":"declined"})");
    v.clock.advance_ms(Schedulers::Options{}.chargeback_check_after_ms);
    REQUIRE(v.schedulers.run_once().is_ok());
    v.clock.advance_ms(Outbox::backoff_max_ms);
    REQUIRE(v.outbox.run_once().is_ok());
    CHECK(sim->count("refunds") == before + 1);
    CHECK(v.text("SELECT status FROM refunds") == "pending");
  }
}

TEST_CASE("a refund Paystack made before a crash is looked up, not settled by a chargeback") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.create("cb5");
  w.pay_at_sim("cb5");
  w.run("cb5", CancelBooking{"client changed plans"}, admin);
  std::string refund_id = w.text("SELECT refund_id FROM refunds");
  std::string reference = w.text("SELECT payment_reference FROM refunds");
  // The outbox created the refund, then the process died before it recorded Paystack's answer.
  auto sent = w.paystack->create_refund(
      {reference, std::nullopt, Money{1'000'000, Currency::NGN}, "", refund_id});
  REQUIRE(sent.is_ok());
  const int64_t dispute_id = w.charge_back("cb5");
  sim->control("/_sim/disputes/" + std::to_string(dispute_id) + "/resolve",
               R"({"resolution":"auto-accepted"})");

  // The sweep finds the chargeback resolved; the refund still reads queued in the ledger, so it
  // is looked up first: Paystack has it, so it is recorded as sent, not settled by the chargeback,
  // and the money given back twice is the platform's loss.
  REQUIRE(w.schedulers.run_once().is_ok());
  CHECK(w.text("SELECT resolution FROM chargebacks") == "auto-accepted");
  CHECK(w.text("SELECT status FROM refunds") != "queued");
  CHECK(w.text("SELECT status FROM refunds") != "failed");
  CHECK(w.integer("SELECT paystack_refund_id FROM refunds") == sent->id);
  CHECK(w.integer("SELECT platform_loss FROM chargebacks") == 1'000'000);
  CHECK(sim->count("refunds") == 1);
}

TEST_CASE("the scheduler records a chargeback resolution whose webhook was lost") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  w.create("cb2");
  w.pay_at_sim("cb2");
  const int64_t dispute_id = w.charge_back("cb2");
  std::string reference = w.text("SELECT reference FROM payments WHERE booking_id = 'cb2'");
  REQUIRE(w.shell
              ->execute("cb2",
                        RecordChargeback{dispute_id, reference, Money{1'000'000, Currency::NGN},
                                         ChargebackStatus::awaiting_merchant_feedback, std::nullopt,
                                         std::nullopt},
                        CommandContext{Actor{"paystack-webhook", Role::system}, {}, {}, {}, {}})
              .ok());
  REQUIRE(w.schedulers.run_once().is_ok());  // checked: nothing new
  sim->control("/_sim/disputes/" + std::to_string(dispute_id) + "/resolve",
               R"({"resolution":"declined"})");
  REQUIRE(w.schedulers.run_once().is_ok());  // checked within the hour: not asked again
  CHECK(w.text("SELECT status FROM bookings WHERE id = 'cb2'") == "disputed");
  w.clock.advance_ms(Schedulers::Options{}.chargeback_check_after_ms);
  REQUIRE(w.schedulers.run_once().is_ok());
  CHECK(w.text("SELECT resolution FROM chargebacks") == "declined");
  CHECK(w.text("SELECT status FROM bookings WHERE id = 'cb2'") == "pending_execution");
  CHECK(w.integer("SELECT escrow_balance FROM bookings WHERE id = 'cb2'") == 1'000'000);
}

TEST_CASE("the revenue report sums the platform's fees, Paystack's fees and chargeback losses") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  World w(*sim);
  const int64_t start = w.clock.now_ms();
  w.release("r1");  // fee 5% of 1,000,000; no payout account, so the net stays available
  int64_t paystack_fee = w.integer("SELECT paystack_fee FROM payments WHERE booking_id = 'r1'");
  REQUIRE(paystack_fee > 0);
  w.clock.advance_ms(3'600'000);
  const int64_t dispute_id = w.charge_back("r1");
  sim->control("/_sim/disputes/" + std::to_string(dispute_id) + "/resolve",
               R"({"resolution":"merchant-accepted"})");
  REQUIRE(w.schedulers.run_once().is_ok());  // found by listing Paystack's disputes, resolved
  REQUIRE(w.text("SELECT resolution FROM chargebacks") == "merchant-accepted");

  auto report = [&](const std::string& query, const Actor& who = admin) {
    return w.call("GET", "/admin/revenue" + query, who);
  };
  HttpResponse all = report("");
  INFO(all.body);
  REQUIRE(all.status == 200);
  rapidjson::Document doc = World::json(all);
  REQUIRE(doc["data"].Size() == 1);
  const auto& ngn = doc["data"][0];
  CHECK(ngn["currency"] == "NGN");
  CHECK(ngn["platform_fees"].GetInt64() == 50'000);
  CHECK(ngn["paystack_fees"].GetInt64() == paystack_fee);
  CHECK(ngn["chargeback_losses"].GetInt64() == 50'000);  // the fee earned, given back
  CHECK(ngn["net"].GetInt64() == -paystack_fee);
  CHECK(doc["from"].IsNull());

  // The first hour holds the release only; the chargeback came after it.
  std::string first_hour =
      "?from=" + format_iso8601_ms(start) + "&to=" + format_iso8601_ms(start + 1'800'000);
  rapidjson::Document early = World::json(report(first_hour));
  REQUIRE(early["data"].Size() == 1);
  CHECK(early["data"][0]["chargeback_losses"].GetInt64() == 0);
  CHECK(early["data"][0]["platform_fees"].GetInt64() == 50'000);
  CHECK(World::json(report("?currency=GHS"))["data"].Size() == 0);
  CHECK(World::json(report("?from=2100-01-01"))["data"].Size() == 0);
  CHECK(report("?currency=XYZ").status == 400);
  CHECK(report("?from=2026-02-01&to=2026-01-01").status == 400);
  CHECK(report("?from=yesterday").status == 400);
  CHECK(report("", Actor{"auditor-1", Role::auditor}).status == 200);
  CHECK(report("", provider_1).status == 403);
}
