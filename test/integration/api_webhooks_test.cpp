// The Paystack webhook endpoint, the processing of deliveries into ledger commands, background
// retries and the admin webhook routes (service/webhooks.h).
//
// How: each test builds the service's parts by hand on a fresh migrated SQLite file (event store,
// live projections, command shell, read pool, webhook log, outbox not started) and routes
// requests through a Router holding add_webhook_routes(), as escrowd does, without sockets.
// Paystack is the real tools/paystack-sim process: checkouts are initialised and paid there, and
// the bodies posted to the endpoint are the signed ones the simulator sends (read from its
// /_sim/state), so re-verification talks to a Paystack that knows the transaction. Checked: a bad
// or missing signature is 401 and stores nothing; a source outside the allowlist is 403 and an
// oversized body 413; a duplicate delivery is stored once and processed once; charge.success
// captures a checkout into escrow; a paid amount that differs from the asked one is flagged and
// never held, and a checkout no booking recorded is not captured whatever its metadata says;
// transfer.success settles a payout, and is flagged (not applied) for a payout recorded failed;
// refund webhooks are prompts: the booking's open refunds of that transaction get what Paystack
// lists for them, so an old refund.failed processed again never fails the retried refund Paystack
// still has open; the official transfer.success sample is stored and shown with its account
// number masked; a chargeback (opened and resolved at the simulator) is recorded as GET
// /dispute/:id has it: one dispute, reminders change nothing, the customer's win takes the
// money from escrow with no refund at Paystack, and a dispute Paystack does not have is ignored;
// unknown references are ignored; a delivery whose processing failed (Paystack unreachable) is
// recorded failed with the error, and the background retry processes it once Paystack answers;
// the admin list, detail and retry routes answer what a console shows, with their role checks.
// Skipped, with a warning, when paystack-sim is not built.
#include <rapidjson/document.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/app.h"
#include "api/auth.h"
#include "net/http_client.h"
#include "paystack/client.h"
#include "paystack/signature.h"
#include "service/outbox.h"
#include "service/webhooks.h"
#include "test/paystack_sim.h"
#include "test/service_world.h"

using namespace escrow;
using namespace std::chrono_literals;

namespace {

constexpr const char* sim_key = "sk_test_webhooks_key";
constexpr const char* jwt_secret = "test-jwt-secret-with-at-least-32-bytes!!";

// One simulator for the whole run, reset before each test case. Its webhooks go to a closed
// port: the tests post the signed bodies themselves, as Paystack would.
using Sim = PaystackSim;
Sim* sim_or_skip() {
  return Sim::fresh_or_skip(sim_key);
}

// Sends to the simulator, or to a port where nothing listens ("Paystack is down").
struct SwitchTransport : net::HttpTransport {
  std::shared_ptr<net::HttpTransport> live, dead;
  std::atomic<bool> down{false};
  Result<net::HttpResponse> send(const net::HttpRequest& request) override {
    return (down ? dead : live)->send(request);
  }
};

std::shared_ptr<net::HttpTransport> http_to(const std::string& base_url) {
  net::HttpClientConfig config;
  config.base_url = base_url;
  config.secret_key = sim_key;
  config.connect_timeout_ms = 2000;
  auto http = net::HttpClient::create(config);
  REQUIRE(http.is_ok());
  return std::shared_ptr<net::HttpTransport>(std::move(http).value());
}

rapidjson::Document json(const api::HttpResponse& response) {
  rapidjson::Document doc;
  doc.Parse(response.body.c_str());
  REQUIRE(doc.IsObject());
  return doc;
}

int64_t delivery_id_of(const api::HttpResponse& response) {
  INFO(response.body);
  REQUIRE(response.status == 200);
  return json(response)["delivery_id"].GetInt64();
}

// ---- the service's parts, by hand ------------------------------------------------------------

const Actor service_actor{"marketplace", Role::service};
const Actor admin_actor{"admin-1", Role::admin};

// Everything Services refers to, opened on a fresh database; Paystack is the simulator behind a
// switch that can make it unreachable.
struct Parts : ServiceParts {
  Sim& sim;
  std::shared_ptr<SwitchTransport> transport = std::make_shared<SwitchTransport>();
  std::unique_ptr<paystack::Client> paystack;

  explicit Parts(Sim& s)
      : ServiceParts(ServiceParts::wall_ms(), jwt_secret, sim_key, s.base_url()), sim(s) {
    transport->live = http_to(sim.base_url());
    transport->dead = http_to("http://127.0.0.1:1");
    paystack = std::make_unique<paystack::Client>(
        transport, paystack::RetryPolicy{}, [](std::chrono::milliseconds) {}, sim_key);
  }
};

// The parts wired as App wires them; the outbox is never started (nothing sends payouts here).
struct Fixture : Parts {
  // Services names the outbox before it is built, as App does; nothing uses it until then.
  api::Services services = services_with(*paystack, outbox);
  service::Outbox outbox{services.service, service::Outbox::Options{60'000, 60'000, 1}};
  service::WebhookProcessor processor{
      services.service, webhooks,
      service::WebhookProcessor::Options{
          /*retry_interval_ms=*/100,
          [this](std::string_view outcome) { metrics.count_webhook(outcome); },
          [this] { outbox.wake(); }}};
  api::Router router;

  explicit Fixture(Sim& s) : Parts(s) { api::add_webhook_routes(router, services, processor); }

  // ---- requests ------------------------------------------------------------------------------

  api::HttpResponse post_webhook(const std::string& body, std::optional<std::string> signature,
                                 const std::string& from = "127.0.0.1") {
    api::HttpRequest request;
    request.method = "POST";
    request.target = "/webhooks/paystack";
    request.headers.set("Content-Type", "application/json");
    if (signature) request.headers.set("x-paystack-signature", *signature);
    request.body = body;
    request.remote_address = from;
    return router.dispatch(request).response;
  }
  api::HttpResponse post_signed(const std::string& body) {
    return post_webhook(body, paystack::sign_webhook(sim_key, body));
  }

  std::string token(Role role) {
    auto t = api::issue_token(jwt_secret, std::string(role_name(role)) + "-1", role, 3600,
                              clock.now_ms());
    REQUIRE(t.is_ok());
    return t.value();
  }
  api::HttpResponse admin_request(const std::string& method, const std::string& target,
                                  Role role = Role::admin) {
    api::HttpRequest request;
    request.method = method;
    request.target = target;
    request.headers.set("Authorization", "Bearer " + token(role));
    request.remote_address = "127.0.0.1";
    return router.dispatch(request).response;
  }

  // ---- reading what a user sees --------------------------------------------------------------

  sqlite::Db connect() {
    auto db = sqlite::Db::open(path, sqlite::Db::Mode::read_only);
    REQUIRE(db.is_ok());
    return std::move(db).value();
  }
  std::optional<std::string> text(const std::string& sql, const std::string& arg = "") {
    sqlite::Db db = connect();
    auto stmt = db.prepare(sql);
    REQUIRE(stmt.is_ok());
    if (sql.find('?') != std::string::npos) stmt->bind(1, arg);
    auto row = stmt->step();
    REQUIRE(row.is_ok());
    if (!row.value()) return std::nullopt;
    return stmt->column_text(0);
  }
  int64_t count(const std::string& sql, const std::string& arg = "") {
    return std::stoll(text(sql, arg).value_or("0"));
  }

  projections::DeliveryRow delivery(int64_t id) {
    sqlite::Db db = connect();
    auto row = projections::WebhookLog::find(db, id);
    REQUIRE(row.is_ok());
    REQUIRE(row.value());
    return *row.value();
  }
  // Waits until the worker has recorded an outcome other than `unless` for the delivery.
  projections::DeliveryRow settled(int64_t id, const std::string& unless = "received") {
    for (int i = 0; i < 400; ++i) {
      projections::DeliveryRow row = delivery(id);
      if (row.status != unless) return row;
      std::this_thread::sleep_for(25ms);
    }
    FAIL("delivery " << id << " stayed " << unless);
    return {};
  }

  // ---- bookings ------------------------------------------------------------------------------

  void create_booking(const std::string& id, int64_t amount = 500'000) {
    CreateBooking c;
    c.booking_id = id;
    c.client_id = "client-" + id;
    c.provider_id = "provider-1";
    c.client_email = "client@example.com";
    c.description = "Plumbing";
    c.amount = Money{amount, Currency::NGN};
    CommandResult r = shell->execute(id, c, CommandContext{service_actor, {}, {}, {}, {}});
    REQUIRE(r.ok());
  }

  // Opens the booking's checkout at the simulator and records it; returns the reference.
  std::string checkout(const std::string& booking_id) {
    auto state = shell->load_booking(booking_id);
    REQUIRE(state.is_ok());
    auto due = next_payment(state.value(), clock.now_ms());
    REQUIRE(std::holds_alternative<PaymentDue>(due));
    const PaymentDue& d = std::get<PaymentDue>(due);
    auto init = paystack->initialize_transaction({"client@example.com", d.amount, d.reference, "",
                                                  R"({"booking_id":")" + booking_id +
                                                      R"(","installment":)" +
                                                      std::to_string(d.installment) + "}"});
    if (!init.is_ok()) FAIL(init.error().to_string());
    InitiatePayment command{d.reference, d.installment, d.amount, init->authorization_url,
                            init->access_code};
    CommandResult r =
        shell->execute(booking_id, command, CommandContext{service_actor, {}, {}, {}, {}});
    REQUIRE(r.ok());
    return d.reference;
  }

  // Pays the checkout at the simulator; returns the signed charge.success body it sent.
  std::string pay(const std::string& reference, const std::string& extra = "") {
    sim.control("/_sim/transactions/" + reference + "/pay",
                R"({"outcome":"success")" + extra + "}");
    return sim.webhook_body("charge.success", reference);
  }

  // A booking whose checkout was paid and captured through the webhook; returns the reference.
  std::string paid_booking(const std::string& booking_id) {
    create_booking(booking_id);
    std::string reference = checkout(booking_id);
    api::HttpResponse posted = post_signed(pay(reference));
    REQUIRE(processor.process(delivery_id_of(posted)).is_ok());
    REQUIRE(payment_status(booking_id) == "escrow");
    return reference;
  }

  std::string payment_status(const std::string& booking_id) {
    return text("SELECT payment_status FROM bookings WHERE id = ?", booking_id).value_or("");
  }

  // provider-1's payout account, registered at the simulator; returns its recipient code.
  std::string register_payout_account() {
    auto banks = paystack->list_banks({Currency::NGN, "", "", {}, false, ""});
    REQUIRE(banks.is_ok());
    REQUIRE_FALSE(banks->items.empty());
    auto recipient = paystack->create_transfer_recipient(
        {"nuban", "Ada Provider", "0123456789", banks->items[0].code, Currency::NGN});
    REQUIRE(recipient.is_ok());
    RegisterPayoutAccount account{recipient->recipient_code, banks->items[0].code, "Ada Provider",
                                  "6789", Currency::NGN};
    REQUIRE(
        shell->execute("provider-1", account, CommandContext{service_actor, {}, {}, {}, {}}).ok());
    return recipient->recipient_code;
  }

  // Paid through the webhook, then released by an admin: returns the queued payout's id.
  std::string released_payout(const std::string& booking_id) {
    paid_booking(booking_id);
    REQUIRE(
        shell->execute(booking_id, ConfirmCompletion{}, CommandContext{admin_actor, {}, {}, {}, {}})
            .ok());
    std::string payout_id =
        text("SELECT payout_id FROM payouts WHERE booking_id = ?", booking_id).value_or("");
    REQUIRE_FALSE(payout_id.empty());
    return payout_id;
  }
};

std::string official_sample(const std::string& name) {
  std::filesystem::path beside =
      std::filesystem::path(ESCROW_SOURCE_DIR) / ".." / "shared" / "paystack" / "samples";
  std::filesystem::path dir =
      std::filesystem::exists(beside) ? beside : "/work/shared/paystack/samples";
  std::ifstream in(dir / name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

// ---- receiving -------------------------------------------------------------------------------

TEST_CASE("a delivery without a valid signature is refused and nothing is stored", "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  std::string body =
      R"({"event":"charge.success","data":{"reference":"ref-1","status":"success"}})";

  api::HttpResponse wrong = f.post_webhook(body, paystack::sign_webhook("sk_test_other", body));
  CHECK(wrong.status == 401);
  CHECK(json(wrong)["error"]["code"] == "invalid_signature");
  CHECK(f.post_webhook(body, std::nullopt).status == 401);
  // A signature over other bytes (a re-serialised body) is not the body's.
  CHECK(f.post_webhook(body + " ", paystack::sign_webhook(sim_key, body)).status == 401);

  CHECK(f.count("SELECT COUNT(*) FROM webhook_deliveries") == 0);
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE stream = 'paystack-webhooks'") == 0);
}

TEST_CASE("the source allowlist and the body limit apply before anything is stored", "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  std::string body =
      R"({"event":"charge.success","data":{"reference":"ref-2","status":"success"}})";
  f.config.paystack_ips = {"52.31.139.75", "52.49.173.169"};
  api::HttpResponse outsider =
      f.post_webhook(body, paystack::sign_webhook(sim_key, body), "10.0.0.7");
  CHECK(outsider.status == 403);
  CHECK(f.count("SELECT COUNT(*) FROM webhook_deliveries") == 0);
  // An IPv4 peer seen through a dual-stack socket is the same address.
  CHECK(
      f.post_webhook(body, paystack::sign_webhook(sim_key, body), "::ffff:52.49.173.169").status ==
      200);

  f.config.paystack_ips.clear();
  std::string huge = R"({"event":"x","data":{"pad":")" + std::string(1 << 20, 'a') + "\"}}";
  CHECK(f.post_webhook(huge, paystack::sign_webhook(sim_key, huge)).status == 413);
  CHECK(f.count("SELECT COUNT(*) FROM webhook_deliveries") == 1);
}

// ---- processing ------------------------------------------------------------------------------

TEST_CASE("charge.success captures the checkout into escrow, once for duplicate deliveries",
          "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  f.create_booking("bk-pay");
  std::string reference = f.checkout("bk-pay");
  std::string body = f.pay(reference);
  CHECK(f.payment_status("bk-pay") == "pending");

  // Two deliveries of the same event before the worker runs: one is stored, one is processed.
  api::HttpResponse first = f.post_signed(body);
  api::HttpResponse again = f.post_signed(body);
  int64_t id = delivery_id_of(first);
  CHECK(json(first)["status"] == "accepted");
  CHECK_FALSE(json(first)["duplicate"].GetBool());
  CHECK(delivery_id_of(again) == id);
  CHECK(json(again)["duplicate"].GetBool());

  f.processor.start();
  projections::DeliveryRow row = f.settled(id);
  CHECK(row.status == "processed");
  CHECK(row.attempts == 1);
  CHECK(f.payment_status("bk-pay") == "escrow");
  CHECK(f.count("SELECT escrow_balance FROM bookings WHERE id = ?", "bk-pay") == 500'000);
  CHECK(f.text("SELECT status FROM payments WHERE reference = ?", reference) == "captured");

  // A third delivery after processing changes nothing either.
  CHECK(json(f.post_signed(body))["duplicate"].GetBool());
  std::this_thread::sleep_for(300ms);
  CHECK(f.delivery(id).attempts == 1);
  CHECK(f.count("SELECT COUNT(*) FROM webhook_deliveries") == 1);
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type = 'WebhookReceived'") == 1);
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type = 'PaymentCaptured'") == 1);
}

TEST_CASE("a charge whose verified amount differs is flagged and never held", "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  f.create_booking("bk-short");
  std::string reference = f.checkout("bk-short");
  std::string body = f.pay(reference, R"(,"amount":400000)");

  int64_t id = delivery_id_of(f.post_signed(body));
  REQUIRE(f.processor.process(id).is_ok());
  CHECK(f.delivery(id).status == "processed");
  CHECK(f.text("SELECT status FROM payments WHERE reference = ?", reference) == "flagged");
  CHECK(f.payment_status("bk-short") != "escrow");
  CHECK(f.count("SELECT escrow_balance FROM bookings WHERE id = ?", "bk-short") == 0);
}

TEST_CASE("a charge.success that verify calls abandoned stays pending and is retried",
          "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  f.create_booking("bk-contradicted");
  std::string reference = f.checkout("bk-contradicted");
  // The customer left the checkout page: verify says abandoned, but a charge.success naming the
  // reference arrives (the body of another paid checkout with this reference put in).
  sim->control("/_sim/transactions/" + reference + "/pay", R"({"outcome":"abandoned"})");
  f.create_booking("bk-other");
  std::string other = f.checkout("bk-other");
  std::string body = f.pay(other);
  for (size_t at = body.find(other); at != std::string::npos; at = body.find(other, at))
    body.replace(at, other.size(), reference);

  int64_t id = delivery_id_of(f.post_signed(body));
  CHECK_FALSE(f.processor.process(id).is_ok());
  CHECK(f.delivery(id).status == "failed");  // retried later with its backoff
  CHECK(f.text("SELECT status FROM payments WHERE reference = ?", reference) == "pending");
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type = 'PaymentFailed'") == 0);
  CHECK(f.payment_status("bk-contradicted") == "pending");
}

TEST_CASE("transfer.success settles the payout it names", "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  std::string recipient = f.register_payout_account();
  std::string payout_id = f.released_payout("bk-out");
  CHECK(f.text("SELECT status FROM payouts WHERE payout_id = ?", payout_id) == "queued");

  // The transfer as the outbox would send it; the simulator then reports transfer.success.
  int64_t amount = f.count("SELECT amount FROM payouts WHERE payout_id = ?", payout_id);
  auto transfer = f.paystack->initiate_transfer(
      {Money{amount, Currency::NGN}, recipient, payout_id, "Payout", "balance"});
  if (!transfer.is_ok()) FAIL(transfer.error().to_string());
  std::string body = sim->webhook_body("transfer.success", payout_id);

  int64_t id = delivery_id_of(f.post_signed(body));
  REQUIRE(f.processor.process(id).is_ok());
  CHECK(f.delivery(id).status == "processed");
  CHECK(f.text("SELECT status FROM payouts WHERE payout_id = ?", payout_id) == "success");
  CHECK(f.count("SELECT in_flight FROM provider_balances WHERE provider_id = 'provider-1'") == 0);
}

TEST_CASE("transfer.success for a payout recorded failed changes nothing and is flagged",
          "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  std::string recipient = f.register_payout_account();
  std::string payout_id = f.released_payout("bk-paid-twice");
  int64_t amount = f.count("SELECT amount FROM payouts WHERE payout_id = ?", payout_id);
  // Paystack made the transfer, but the ledger recorded the payout failed (its money went back
  // to the provider's available balance).
  auto transfer = f.paystack->initiate_transfer(
      {Money{amount, Currency::NGN}, recipient, payout_id, "Payout", "balance"});
  if (!transfer.is_ok()) FAIL(transfer.error().to_string());
  RecordPayoutOutcome failed{payout_id, PayoutStatus::failed, "", std::nullopt, "refused"};
  REQUIRE(f.shell->execute("provider-1", failed, CommandContext{admin_actor, {}, {}, {}, {}}).ok());
  REQUIRE(f.count("SELECT available FROM provider_balances WHERE provider_id = 'provider-1'") ==
          amount);

  int64_t id = delivery_id_of(f.post_signed(sim->webhook_body("transfer.success", payout_id)));
  REQUIRE(f.processor.process(id).is_ok());
  projections::DeliveryRow row = f.delivery(id);
  CHECK(row.status == "ignored");  // shown to the console with its note, for an operator
  CHECK(row.last_error.find("recorded failed") != std::string::npos);
  CHECK(f.text("SELECT status FROM payouts WHERE payout_id = ?", payout_id) == "failed");
}

TEST_CASE("deliveries about references the ledger does not know are kept and ignored",
          "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  std::string charge =
      R"({"event":"charge.success","data":{"id":77,"reference":"nobody-has-this-reference",)"
      R"("status":"success","amount":10000,"currency":"NGN"}})";
  std::string transfer =
      R"({"event":"transfer.success","data":{"id":78,"reference":"no-payout-has-this-ref",)"
      R"("status":"success","amount":10000,"currency":"NGN","transfer_code":"TRF_x"}})";
  std::string other = R"({"event":"subscription.create","data":{"id":79}})";
  for (const std::string& body : {charge, transfer, other}) {
    int64_t id = delivery_id_of(f.post_signed(body));
    REQUIRE(f.processor.process(id).is_ok());
    projections::DeliveryRow row = f.delivery(id);
    CHECK(row.status == "ignored");
    CHECK_FALSE(row.last_error.empty());
  }
  CHECK(f.delivery(1).last_error.find("no booking has this reference") != std::string::npos);
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE stream <> 'paystack-webhooks'") == 0);
}

TEST_CASE("a delivery that failed while Paystack was down is retried in the background",
          "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  f.create_booking("bk-retry");
  std::string reference = f.checkout("bk-retry");
  std::string body = f.pay(reference);

  f.transport->down = true;
  f.processor.start();
  int64_t id = delivery_id_of(f.post_signed(body));
  projections::DeliveryRow failed = f.settled(id);
  CHECK(failed.status == "failed");
  CHECK(failed.attempts == 1);
  CHECK(failed.last_error.find("Paystack") != std::string::npos);
  CHECK(failed.last_error.find(sim_key) == std::string::npos);
  CHECK(f.payment_status("bk-retry") == "pending");

  // Paystack is back; once the backoff has passed the retry pass processes it.
  f.transport->down = false;
  f.clock.advance_ms(projections::WebhookLog::retry_backoff_first_ms + 1);
  projections::DeliveryRow retried = f.settled(id, "failed");
  CHECK(retried.status == "processed");
  CHECK(retried.attempts == 2);
  CHECK(f.payment_status("bk-retry") == "escrow");
}

TEST_CASE("refund webhooks settle the booking's refund of that transaction", "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  std::string reference = f.paid_booking("bk-refund");
  REQUIRE(f.shell
              ->execute("bk-refund", CancelBooking{"client changed plans"},
                        CommandContext{admin_actor, {}, {}, {}, {}})
              .ok());
  std::string refund_id =
      f.text("SELECT refund_id FROM refunds WHERE booking_id = ?", "bk-refund").value_or("");
  REQUIRE_FALSE(refund_id.empty());
  CHECK(f.payment_status("bk-refund") == "refunding");

  // The refund as the outbox would create it; the simulator reports pending ... processed.
  paystack::CreateRefundRequest request;
  request.transaction_reference = reference;
  request.amount = Money{500'000, Currency::NGN};
  request.merchant_note = refund_id;
  auto created = f.paystack->create_refund(request);
  if (!created.is_ok()) FAIL(created.error().to_string());

  // A webhook is a prompt: the refund gets what Paystack lists for it now, so the pending
  // delivery processed after Paystack finished records processed.
  std::string pending_body = sim->webhook_body("refund.pending", reference);
  std::string processed_body = sim->webhook_body("refund.processed", reference);
  int64_t pending = delivery_id_of(f.post_signed(pending_body));
  REQUIRE(f.processor.process(pending).is_ok());
  CHECK(f.delivery(pending).status == "processed");
  CHECK(f.text("SELECT status FROM refunds WHERE refund_id = ?", refund_id) == "processed");
  CHECK(f.count("SELECT paystack_refund_id FROM refunds WHERE refund_id = ?", refund_id) ==
        created->id);
  CHECK(f.payment_status("bk-refund") == "refunded");
  // The later delivery finds the refund settled: processed, nothing new.
  int64_t processed = delivery_id_of(f.post_signed(processed_body));
  REQUIRE(f.processor.process(processed).is_ok());
  CHECK(f.delivery(processed).status == "processed");
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type = 'RefundProcessed'") == 1);

  // A refund of a transaction no booking has is kept and ignored.
  std::string stray = R"({"event":"refund.processed","data":{"status":"processed",)"
                      R"("transaction_reference":"no-booking-has-this-one",)"
                      R"("refund_reference":"999","amount":"1234","currency":"NGN"}})";
  int64_t stray_id = delivery_id_of(f.post_signed(stray));
  REQUIRE(f.processor.process(stray_id).is_ok());
  CHECK(f.delivery(stray_id).status == "ignored");
}

TEST_CASE("an old refund.failed processed again never fails the retry Paystack has open",
          "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  std::string reference = f.paid_booking("bk-retried");
  REQUIRE(f.shell
              ->execute("bk-retried", CancelBooking{"client changed plans"},
                        CommandContext{admin_actor, {}, {}, {}, {}})
              .ok());
  auto refund_status = [&](const std::string& id) {
    return f.text("SELECT status FROM refunds WHERE refund_id = ?", id).value_or("<none>");
  };
  std::string r1 =
      f.text("SELECT refund_id FROM refunds WHERE booking_id = ?", "bk-retried").value_or("");

  // R1 is sent and fails at Paystack; its refund.failed webhook records it failed.
  sim->control("/_sim/config", R"({"refund_mode":"failed"})");
  REQUIRE(f.outbox.run_once().is_ok());
  int64_t old_failed = delivery_id_of(f.post_signed(sim->webhook_body("refund.failed", reference)));
  REQUIRE(f.processor.process(old_failed).is_ok());
  REQUIRE(refund_status(r1) == "failed");

  // An admin retries: R2, same transaction and amount, is sent and stays open at Paystack.
  REQUIRE(
      f.shell->execute("bk-retried", RetryRefund{r1}, CommandContext{admin_actor, {}, {}, {}, {}})
          .ok());
  std::string r2 = f.text("SELECT refund_id FROM refunds WHERE refund_id <> ?", r1).value_or("");
  REQUIRE_FALSE(r2.empty());
  sim->control("/_sim/config", R"({"refund_mode":"needs-attention"})");
  REQUIRE(f.outbox.run_once().is_ok());
  REQUIRE(refund_status(r2) == "pending");
  sim->webhook_body("refund.needs-attention", reference);  // Paystack has moved R2 on

  // The old delivery processed again (an admin's retry, or Paystack redelivering it late).
  api::HttpResponse again =
      f.admin_request("POST", "/admin/webhook-events/" + std::to_string(old_failed) + "/retry");
  REQUIRE(again.status == 200);
  CHECK(json(again)["status"] == "processed");
  CHECK(refund_status(r2) == "needs_attention");  // what Paystack lists for R2, never failed
  CHECK(refund_status(r1) == "failed");
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type = 'RefundFailed'") == 1);
}

TEST_CASE("a checkout the ledger never recorded is not captured from its metadata", "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  f.create_booking("bk-target");
  // Anyone with the public key can open an Inline checkout naming a booking in its metadata.
  auto init = f.paystack->initialize_transaction(
      {"stranger@example.com", Money{500'000, Currency::NGN}, "inline-not-ours-0001", "",
       R"({"booking_id":"bk-target","installment":1})"});
  if (!init.is_ok()) FAIL(init.error().to_string());
  int64_t id = delivery_id_of(f.post_signed(f.pay("inline-not-ours-0001")));
  REQUIRE(f.processor.process(id).is_ok());
  projections::DeliveryRow row = f.delivery(id);
  CHECK(row.status == "ignored");
  CHECK(row.last_error.find("no booking has this reference") != std::string::npos);
  CHECK(f.payment_status("bk-target") != "escrow");
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type = 'PaymentCaptured'") == 0);
}

TEST_CASE("account numbers in a delivery are stored masked", "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  // Paystack's own transfer.success sample: data.recipient.details.account_number.
  std::string body = official_sample("transfer.success.json");
  REQUIRE(body.find("9876543210") != std::string::npos);
  int64_t id = delivery_id_of(f.post_signed(body));
  CHECK(json(f.post_signed(body))["duplicate"].GetBool());  // deduplicated as signed

  CHECK(f.delivery(id).payload.find("9876543210") == std::string::npos);
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE data LIKE '%9876543210%'") == 0);
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type = 'WebhookReceived'") == 1);
  api::HttpResponse shown =
      f.admin_request("GET", "/admin/webhook-events/" + std::to_string(id), Role::auditor);
  REQUIRE(shown.status == 200);
  CHECK(shown.body.find("9876543210") == std::string::npos);
  rapidjson::Document doc = json(shown);
  CHECK(doc["payload"]["data"]["recipient"]["details"]["account_number"] == "******3210");
  CHECK(doc["payload"]["data"]["reference"] == "acv_9ee55786-2323-4760-98e2-6380c9cb3f68");
  CHECK(doc["payload"]["data"]["amount"].GetInt64() == 100000);
  // The masked payload is still processed (here: no payout has the sample's reference).
  REQUIRE(f.processor.process(id).is_ok());
  CHECK(f.delivery(id).status == "ignored");
}

TEST_CASE("a chargeback is recorded as Paystack has it, and resolved for the customer from escrow",
          "[webhooks][chargeback]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  std::string reference = f.paid_booking("bk-chargeback");
  sim->control("/_sim/transactions/" + reference + "/chargeback", "{}");
  std::string created_body = sim->webhook_body("charge.dispute.create", reference);
  rapidjson::Document created_doc;
  created_doc.Parse(created_body.c_str());
  REQUIRE(created_doc.IsObject());
  const int64_t dispute_id = created_doc["data"]["id"].GetInt64();
  CHECK(created_doc["data"]["transaction_reference"].IsNull());  // as Paystack's samples

  int64_t created = delivery_id_of(f.post_signed(created_body));
  REQUIRE(f.processor.process(created).is_ok());
  CHECK(f.delivery(created).status == "processed");
  CHECK(f.text("SELECT status FROM bookings WHERE id = ?", "bk-chargeback") == "disputed");
  CHECK(f.text("SELECT source FROM disputes WHERE booking_id = ?", "bk-chargeback") ==
        "chargeback");
  CHECK(f.text("SELECT status FROM chargebacks WHERE booking_id = ?", "bk-chargeback") ==
        "awaiting-merchant-feedback");

  // A reminder changes nothing: the dispute Paystack has is the one recorded.
  sim->control("/_sim/disputes/" + std::to_string(dispute_id) + "/remind", "{}");
  int64_t remind =
      delivery_id_of(f.post_signed(sim->webhook_body("charge.dispute.remind", reference)));
  REQUIRE(f.processor.process(remind).is_ok());
  CHECK(f.delivery(remind).status == "processed");
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type = 'DisputeOpened'") == 1);
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type = 'ChargebackOpened'") == 1);

  // The bank sides with the customer: the money is recorded returned, never refunded again.
  sim->control("/_sim/disputes/" + std::to_string(dispute_id) + "/resolve",
               R"({"resolution":"merchant-accepted"})");
  int64_t resolved =
      delivery_id_of(f.post_signed(sim->webhook_body("charge.dispute.resolve", reference)));
  REQUIRE(f.processor.process(resolved).is_ok());
  CHECK(f.delivery(resolved).status == "processed");
  CHECK(f.text("SELECT status FROM bookings WHERE id = ?", "bk-chargeback") == "refunded");
  CHECK(f.text("SELECT payment_status FROM bookings WHERE id = ?", "bk-chargeback") == "refunded");
  CHECK(f.text("SELECT resolution FROM chargebacks WHERE booking_id = ?", "bk-chargeback") ==
        "merchant-accepted");
  CHECK(f.count("SELECT from_escrow FROM chargebacks WHERE booking_id = 'bk-chargeback'") ==
        500000);
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type = 'RefundRequested'") == 0);
  CHECK(sim->state()["refunds"].GetArray().Size() == 0);
  CHECK(f.count("SELECT escrow_balance FROM bookings WHERE id = 'bk-chargeback'") == 0);

  // The create delivery processed again (a console retry) records nothing new.
  REQUIRE(f.processor.process(created).is_ok());
  CHECK(f.count("SELECT COUNT(*) FROM events WHERE type LIKE 'Chargeback%'") == 2);

  // A signed webhook naming a dispute Paystack does not have is ignored.
  std::string unknown = R"({"event":"charge.dispute.create","data":{"id":999999001,)"
                        R"("refund_amount":500000,"currency":"NGN","status":"pending",)"
                        R"("transaction":{"reference":")" +
                        reference + R"("},"updated_at":"2026-12-01T10:00:00.000Z"}})";
  int64_t stranger = delivery_id_of(f.post_signed(unknown));
  REQUIRE(f.processor.process(stranger).is_ok());
  CHECK(f.delivery(stranger).status == "ignored");
}

// ---- admin routes ----------------------------------------------------------------------------

TEST_CASE("admins list, read and retry deliveries; auditors only read", "[webhooks]") {
  Sim* sim = sim_or_skip();
  if (sim == nullptr) return;
  Fixture f(*sim);
  f.create_booking("bk-admin");
  std::string reference = f.checkout("bk-admin");
  std::string body = f.pay(reference);
  std::string other = R"({"event":"subscription.create","data":{"id":5}})";
  int64_t ignored_id = delivery_id_of(f.post_signed(other));
  REQUIRE(f.processor.process(ignored_id).is_ok());
  f.transport->down = true;
  int64_t id = delivery_id_of(f.post_signed(body));
  CHECK_FALSE(f.processor.process(id).is_ok());
  f.transport->down = false;

  // The list: counts by state, rows with the payload as a JSON object, filters.
  api::HttpResponse list = f.admin_request("GET", "/admin/webhook-events", Role::auditor);
  REQUIRE(list.status == 200);
  rapidjson::Document doc = json(list);
  CHECK(doc["total"].GetInt64() == 2);
  CHECK(doc["counts"]["failed"].GetInt64() == 1);
  CHECK(doc["counts"]["ignored"].GetInt64() == 1);
  CHECK(doc["counts"]["processed"].GetInt64() == 0);
  REQUIRE(doc["data"].Size() == 2);
  const auto& newest = doc["data"][0];
  CHECK(newest["id"].GetInt64() == id);
  CHECK(newest["event"] == "charge.success");
  CHECK(newest["reference"] == reference.c_str());
  CHECK(newest["status"] == "failed");
  CHECK(newest["attempts"].GetInt64() == 1);
  CHECK(newest["last_error"].IsString());
  CHECK(newest["received_at"].IsString());
  CHECK(newest["payload"].IsObject());
  CHECK(newest["payload"]["data"]["reference"] == reference.c_str());

  rapidjson::Document failed_only =
      json(f.admin_request("GET", "/admin/webhook-events?processed=failed&limit=10&page=1"));
  REQUIRE(failed_only["data"].Size() == 1);
  CHECK(failed_only["data"][0]["id"].GetInt64() == id);
  rapidjson::Document by_event =
      json(f.admin_request("GET", "/admin/webhook-events?event=subscription.create"));
  REQUIRE(by_event["data"].Size() == 1);
  CHECK(by_event["data"][0]["id"].GetInt64() == ignored_id);
  rapidjson::Document by_reference =
      json(f.admin_request("GET", "/admin/webhook-events?reference=" + reference));
  CHECK(by_reference["data"].Size() == 1);
  CHECK(json(f.admin_request("GET", "/admin/webhook-events?page=2&limit=1"))["data"].Size() == 1);
  CHECK(f.admin_request("GET", "/admin/webhook-events?processed=maybe").status == 400);
  CHECK(f.admin_request("GET", "/admin/webhook-events?from=yesterday").status == 400);
  CHECK(f.admin_request("GET", "/admin/webhook-events?limit=0").status == 400);
  CHECK(f.admin_request("GET", "/admin/webhook-events", Role::client).status == 403);

  // One delivery.
  api::HttpResponse one =
      f.admin_request("GET", "/admin/webhook-events/" + std::to_string(id), Role::auditor);
  REQUIRE(one.status == 200);
  CHECK(json(one)["payload"]["event"] == "charge.success");
  CHECK(f.admin_request("GET", "/admin/webhook-events/999999").status == 404);
  CHECK(f.admin_request("GET", "/admin/webhook-events/abc").status == 404);

  // Retry: admins only, processed at once, answered with the row after processing.
  std::string retry = "/admin/webhook-events/" + std::to_string(id) + "/retry";
  CHECK(f.admin_request("POST", retry, Role::auditor).status == 403);
  CHECK(f.delivery(id).attempts == 1);
  api::HttpResponse retried = f.admin_request("POST", retry);
  REQUIRE(retried.status == 200);
  rapidjson::Document after = json(retried);
  CHECK(after["status"] == "processed");
  CHECK(after["attempts"].GetInt64() == 2);
  CHECK(f.payment_status("bk-admin") == "escrow");
  CHECK(f.admin_request("POST", "/admin/webhook-events/999999/retry").status == 404);
}
