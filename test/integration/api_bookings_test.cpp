// The booking routes (api/handlers_bookings.cpp), their JSON views (api/views.h) and the
// settlement of Paystack transactions (service/payments.h), driven as the marketplace, the parties,
// an admin and an auditor would drive them.
//
// How: every test builds the real parts by hand (a migrated SQLite file in a temporary
// directory, the event store, the command shell with the live projections, the read pool, the
// JWT authenticator, the blob store, the outbox) and the routes on a Router; requests are
// HttpRequest values with real signed tokens, without sockets. Paystack is tools/paystack-sim,
// started once on a free port (and reset per test): checkouts are opened at it, paid through its
// control API (/_sim/transactions/REF/pay) and verified back, and refunds the outbox sends land
// in its state. Covered: create (201, 200 for the same terms, 409 for other terms, generated
// ids, 400s), who may do what (401 without a token, 403 for a wrong role, 404 for a stranger),
// listing with filters and cursor paging, the event history with its hash chain, replay at a
// seq and a time, pay -> checkout -> pay at the sim -> verify -> escrow -> proof (JSON and a
// multipart PNG, served back) -> release, a split plan disputed and resolved (the parts add up),
// cancellation refunding what was held, pay refusals (nothing due, expired, Paystack down), a
// booking past pay_by expiring when read (and listed as expired), and
// a checkout opened before a crash being adopted instead of opened twice, a second pay answering
// the checkout still pending, and a keyed request whose process stops after its command
// committed being replayed by the next process instead of run again (api/idempotency.h), and the
// booking's milestone times (paid_at, proof_at, approved_at, released_at, cancelled_at).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/app.h"
#include "api/auth.h"
#include "api/handler_support.h"
#include "api/idempotency.h"
#include "api/router.h"
#include "ledger/hash.h"
#include "ledger/time_format.h"
#include "paystack/client.h"
#include "service/outbox.h"
#include "service/payments.h"
#include "test/paystack_sim.h"
#include "test/service_world.h"

using namespace escrow;
using namespace escrow::api;
using namespace escrow::service;
using namespace std::chrono_literals;

namespace {

constexpr const char* jwt_secret = "bookings-test-secret-0123456789abcdef";
constexpr const char* sim_key = "sk_test_bookings";

// The one simulator of this run, started on a free port; Sim::fresh(sim_key) resets it first in
// each test case, and the test fails when it cannot start.
using Sim = PaystackSim;

// ---- the service, without its sockets --------------------------------------------------------

std::unique_ptr<paystack::Client> paystack_client(const std::string& base_url) {
  paystack::ClientConfig config;
  config.base_url = base_url;
  config.secret_key = sim_key;
  config.connect_timeout_ms = 2'000;
  config.retry.attempts_max = 1;
  auto client = paystack::Client::create(config);
  REQUIRE(client.is_ok());
  return std::move(client).value();
}

struct World : ServiceParts {
  std::unique_ptr<paystack::Client> paystack;
  std::unique_ptr<Outbox> outbox;
  std::unique_ptr<Services> services;
  Router router;

  // `paystack_url` empty: the simulator.
  explicit World(const std::string& paystack_url = "")
      : ServiceParts(wall_ms(), jwt_secret, sim_key,
                     paystack_url.empty() ? Sim::running(sim_key).base_url() : paystack_url) {
    paystack = paystack_client(config.paystack_base_url);
    outbox = std::make_unique<Outbox>(Context{clock, *shell, reads, queries, *paystack},
                                      Outbox::Options{});
    services = std::make_unique<Services>(services_with(*paystack, *outbox));
    add_booking_routes(router, *services);
  }

  std::string token(Role role, const std::string& sub) {
    auto t = issue_token(jwt_secret, sub, role, 3600, clock.now_ms());
    REQUIRE(t.is_ok());
    return t.value();
  }

  HttpResponse call(const std::string& method, const std::string& target, const std::string& token,
                    const std::string& body = "",
                    const std::string& content_type = "application/json") {
    HttpRequest request;
    request.method = method;
    request.target = target;
    if (!token.empty()) request.headers.set("Authorization", "Bearer " + token);
    if (!body.empty()) request.headers.set("Content-Type", content_type);
    request.body = body;
    return router.dispatch(request).response;
  }
};

rapidjson::Document json(const HttpResponse& response) {
  rapidjson::Document doc;
  doc.Parse(response.body.c_str(), response.body.size());
  INFO(response.body);
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

std::string error_code(const HttpResponse& response) {
  auto doc = json(response);
  INFO(response.body);
  REQUIRE(doc.HasMember("error"));
  return doc["error"]["code"].GetString();
}

std::string str(const rapidjson::Value& v, const char* key) {
  REQUIRE(v.HasMember(key));
  REQUIRE(v[key].IsString());
  return v[key].GetString();
}
int64_t num(const rapidjson::Value& v, const char* key) {
  REQUIRE(v.HasMember(key));
  REQUIRE(v[key].IsInt64());
  return v[key].GetInt64();
}

std::string booking_body(const std::string& id, const std::string& client = "client-1",
                         int64_t amount = 1'000'000, const std::string& extra = "") {
  std::string id_field = id.empty() ? "" : R"("id":")" + id + R"(",)";
  return "{" + id_field + R"("client_id":")" + client +
         R"(","provider_id":"provider-1","client_email":"ada@example.com",)"
         R"("description":"Plumbing, two hours","amount":)" +
         std::to_string(amount) + R"(,"currency":"NGN")" + extra + "}";
}

// The marketplace, the parties and the staff of one world.
struct Cast {
  std::string service, client, provider, admin, auditor, stranger_client, stranger_provider;
  explicit Cast(World& w)
      : service(w.token(Role::service, "marketplace")),
        client(w.token(Role::client, "client-1")),
        provider(w.token(Role::provider, "provider-1")),
        admin(w.token(Role::admin, "admin-1")),
        auditor(w.token(Role::auditor, "auditor-1")),
        stranger_client(w.token(Role::client, "client-2")),
        stranger_provider(w.token(Role::provider, "provider-2")) {}
};

// Creates a booking, opens its checkout, pays it at the simulator and verifies it: escrow.
std::string paid_booking(World& w, Cast& c, const std::string& id, const std::string& extra = "") {
  REQUIRE(w.call("POST", "/bookings", c.service, booking_body(id, "client-1", 1'000'000, extra))
              .status == 201);
  for (;;) {
    HttpResponse pay = w.call("POST", "/bookings/" + id + "/pay", c.client);
    if (pay.status == 409) break;  // nothing due
    INFO(pay.body);
    REQUIRE(pay.status == 201);
    std::string reference = str(json(pay), "reference");
    Sim::running(sim_key).pay(reference);
    HttpResponse verified =
        w.call("POST", "/payments/verify", c.client, R"({"reference":")" + reference + R"("})");
    INFO(verified.body);
    REQUIRE(verified.status == 200);
    REQUIRE(str(json(verified), "settlement") == "captured");
  }
  return id;
}

}  // namespace

TEST_CASE("create: 201, the same terms 200, other terms 409, generated ids, bad input 400") {
  Sim::fresh(sim_key);
  World w;
  Cast c(w);

  HttpResponse created = w.call("POST", "/bookings", c.service, booking_body("bk-1"));
  INFO(created.body);
  REQUIRE(created.status == 201);
  auto doc = json(created);
  CHECK(str(doc, "id") == "bk-1");
  CHECK(str(doc, "status") == "awaiting_payment");
  CHECK(str(doc, "payment_status") == "unpaid");
  CHECK(num(doc, "amount") == 1'000'000);
  CHECK(str(doc, "currency") == "NGN");
  CHECK(num(doc, "fee_bps") == 500);  // the configured default
  CHECK(num(doc, "platform_fee") == 50'000);
  CHECK(num(doc, "provider_net") == 950'000);
  CHECK(num(doc, "escrow_balance") == 0);
  CHECK(str(doc["payment_plan"], "type") == "full");
  CHECK(doc["payments"].Size() == 0);
  CHECK(doc["payouts"].Size() == 0);
  CHECK(doc["proof"].IsNull());
  CHECK(doc["dispute"].IsNull());
  CHECK(num(doc, "version") == 1);
  CHECK(doc["created_at"].IsString());
  // The answer to the create is what a read of the booking shows, byte for byte.
  HttpResponse read = w.call("GET", "/bookings/bk-1", c.service);
  CHECK(read.body == created.body);

  HttpResponse again = w.call("POST", "/bookings", c.service, booking_body("bk-1"));
  CHECK(again.status == 200);
  CHECK(num(json(again), "version") == 1);  // nothing new recorded

  HttpResponse other =
      w.call("POST", "/bookings", c.service, booking_body("bk-1", "client-1", 2'000'000));
  CHECK(other.status == 409);
  CHECK(error_code(other) == "booking_exists");

  HttpResponse generated = w.call("POST", "/bookings", c.admin, booking_body(""));
  REQUIRE(generated.status == 201);
  std::string id = str(json(generated), "id");
  CHECK(id.size() == 27);
  CHECK(id.rfind("bk_", 0) == 0);

  HttpResponse split = w.call("POST", "/bookings", c.service,
                              booking_body("bk-split", "client-1", 1'000'001,
                                           R"(,"payment_plan":{"type":"split","deposit_bps":3000},)"
                                           R"("fee_bps":250,"auto_confirm_after_s":0,)"
                                           R"("pay_by":"2099-01-01T00:00:00Z")"));
  INFO(split.body);
  REQUIRE(split.status == 201);
  auto s = json(split);
  CHECK(num(s["payment_plan"], "deposit_bps") == 3000);
  CHECK(num(s["installments"][0], "amount") + num(s["installments"][1], "amount") == 1'000'001);
  CHECK(num(s["installments"][0], "amount") == 300'000);
  CHECK(num(s, "fee_bps") == 250);
  CHECK(str(s, "pay_by") == "2099-01-01T00:00:00.000Z");

  SECTION("bad input is refused and records nothing") {
    struct Case {
      std::string body, code;
    };
    std::vector<Case> cases = {
        {"{", "invalid_json"},
        {booking_body("bad id!"), "invalid_field"},
        {booking_body(std::string(65, 'a')), "invalid_field"},
        {booking_body("bk-x", "client-1", 0), "invalid_field"},
        {booking_body("bk-x", "client-1", 1'000, "").replace(0, 1, "{\"amount\":1.5,"),
         "invalid_json"},  // duplicate key
        {R"({"id":"bk-x","client_id":"c","provider_id":"p","client_email":"a@b.c",)"
         R"("description":"d","amount":"1000","currency":"NGN"})",
         "invalid_field"},
        {R"({"id":"bk-x","client_id":"c","provider_id":"p","client_email":"a@b.c",)"
         R"("description":"d","amount":100000,"currency":"EUR"})",
         "invalid_field"},
        {booking_body("bk-x", "client-1", 100'000, R"(,"pay_by":"next tuesday")"), "invalid_field"},
        {booking_body("bk-x", "client-1", 100'000, R"(,"fee_bps":10001)"), "invalid_field"},
        {booking_body("bk-x", "client-1", 100'000, R"(,"payment_plan":{"type":"split"})"),
         "invalid_field"},
        {booking_body("bk-x", "client-1", 100'000, R"(,"payment_plan":"full")"), "invalid_field"},
        {booking_body("bk-x", "", 100'000), "invalid_field"},
        {booking_body("bk-x", "client-1", 100'000)
             .replace(booking_body("bk-x", "client-1", 100'000).find("ada@example.com"), 15,
                      "not-an-email"),
         "invalid_field"},
    };
    for (const Case& bad : cases) {
      HttpResponse r = w.call("POST", "/bookings", c.service, bad.body);
      INFO(bad.body << " -> " << r.body);
      CHECK(r.status == 400);
      CHECK(error_code(r) == bad.code);
    }
    HttpResponse below =
        w.call("POST", "/bookings", c.service, booking_body("bk-x", "client-1", 4'999));
    CHECK(below.status == 400);
    CHECK(error_code(below) == "amount_below_minimum");
    CHECK(w.call("GET", "/bookings/bk-x", c.admin).status == 404);
    CHECK(w.call("POST", "/bookings", c.service, booking_body("bk-y"), "text/plain").status == 415);
  }
  SECTION("only the marketplace and admins create; a token is required") {
    CHECK(w.call("POST", "/bookings", "", booking_body("bk-z")).status == 401);
    CHECK(w.call("POST", "/bookings", "not-a-jwt", booking_body("bk-z")).status == 401);
    HttpResponse client = w.call("POST", "/bookings", c.client, booking_body("bk-z"));
    CHECK(client.status == 403);
    CHECK(error_code(client) == "not_allowed");
    CHECK(w.call("POST", "/bookings", c.auditor, booking_body("bk-z")).status == 403);
    CHECK(w.call("GET", "/bookings/bk-z", c.admin).status == 404);
  }
}

TEST_CASE("reads: parties see only their bookings; lists page newest first; history and replay") {
  Sim::fresh(sim_key);
  World w;
  Cast c(w);
  for (std::string id : {"bk-a1", "bk-a2", "bk-a3"}) {
    REQUIRE(w.call("POST", "/bookings", c.service, booking_body(id)).status == 201);
  }
  REQUIRE(w.call("POST", "/bookings", c.service, booking_body("bk-b1", "client-2")).status == 201);

  SECTION("a stranger learns nothing: 404 as for an unknown booking") {
    CHECK(w.call("GET", "/bookings/bk-a1", c.client).status == 200);
    CHECK(w.call("GET", "/bookings/bk-a1", c.provider).status == 200);
    CHECK(w.call("GET", "/bookings/bk-a1", c.auditor).status == 200);
    for (const std::string& token : {c.stranger_client, c.stranger_provider}) {
      for (const char* path :
           {"/bookings/bk-a1", "/bookings/bk-a1/events", "/bookings/bk-a1/at?seq=1"}) {
        HttpResponse r = w.call("GET", path, token);
        INFO(path);
        CHECK(r.status == 404);
        CHECK(error_code(r) == "booking_not_found");
        CHECK(r.body == w.call("GET", "/bookings/no-such-booking", token).body);
      }
      CHECK(w.call("POST", "/bookings/bk-a1/cancel", token, R"({"reason":"x"})").status == 404);
    }
    CHECK(w.call("GET", "/bookings/bk-a1", "").status == 401);
  }
  SECTION("lists: newest first, paged by cursor, parties limited to their own") {
    HttpResponse first = w.call("GET", "/bookings?limit=3", c.service);
    REQUIRE(first.status == 200);
    auto page1 = json(first);
    REQUIRE(page1["data"].Size() == 3);
    CHECK(str(page1["data"][0], "id") == "bk-b1");
    CHECK(str(page1["data"][2], "id") == "bk-a2");
    REQUIRE(page1["next_cursor"].IsString());
    auto page2 =
        json(w.call("GET", "/bookings?limit=3&cursor=" + str(page1, "next_cursor"), c.service));
    REQUIRE(page2["data"].Size() == 1);
    CHECK(str(page2["data"][0], "id") == "bk-a1");
    CHECK(page2["next_cursor"].IsNull());

    auto mine = json(w.call("GET", "/bookings", c.stranger_client));
    REQUIRE(mine["data"].Size() == 1);
    CHECK(str(mine["data"][0], "id") == "bk-b1");
    // Asking for someone else's bookings by filter shows nothing.
    CHECK(json(w.call("GET", "/bookings?client_id=client-1", c.stranger_client))["data"].Size() ==
          0);
    CHECK(json(w.call("GET", "/bookings?client_id=client-2", c.admin))["data"].Size() == 1);
    CHECK(json(w.call("GET", "/bookings?status=awaiting_payment&payment_status=unpaid",
                      c.auditor))["data"]
              .Size() == 4);
    CHECK(json(w.call("GET", "/bookings?status=completed", c.auditor))["data"].Size() == 0);
    CHECK(json(w.call("GET", "/bookings", c.stranger_provider))["data"].Size() == 0);
    CHECK(w.call("GET", "/bookings?status=bogus", c.admin).status == 400);
    CHECK(w.call("GET", "/bookings?status=none", c.admin).status == 400);  // before creation only
    CHECK(w.call("GET", "/bookings?payment_status=bogus", c.admin).status == 400);
    CHECK(w.call("GET", "/bookings?limit=0", c.admin).status == 400);
    CHECK(w.call("GET", "/bookings?cursor=abc", c.admin).status == 400);
  }
  SECTION("history: the stream with actors and the hash chain; replay at a seq or a time") {
    w.clock.advance_ms(60'000);
    REQUIRE(w.call("POST", "/bookings/bk-a1/cancel", c.client, R"({"reason":"changed plans"})")
                .status == 200);
    HttpResponse history = w.call("GET", "/bookings/bk-a1/events", c.auditor);
    REQUIRE(history.status == 200);
    auto events = json(history);
    REQUIRE(events["data"].Size() == 2);
    const auto& created = events["data"][0];
    CHECK(str(created, "type") == "BookingCreated");
    CHECK(num(created, "version") == 1);
    CHECK(str(created["actor"], "id") == "marketplace");
    CHECK(str(created["actor"], "role") == "service");
    CHECK(str(created["data"], "client_id") == "client-1");
    const auto& cancelled = events["data"][1];
    CHECK(str(cancelled, "type") == "BookingCancelled");
    CHECK(str(cancelled["actor"], "id") == "client-1");
    // An auditor can recompute each hash from what the route returns.
    for (const auto& e : events["data"].GetArray()) {
      rapidjson::StringBuffer data, meta;
      rapidjson::Writer<rapidjson::StringBuffer> dw(data), mw(meta);
      e["data"].Accept(dw);
      e["meta"].Accept(mw);
      RecordedEvent r;
      r.seq = num(e, "seq");
      r.stream = str(e, "stream");
      r.version = num(e, "version");
      r.type = str(e, "type");
      r.data = data.GetString();
      r.meta = meta.GetString();
      r.recorded_at_ms = num(e, "recorded_at_ms");
      r.prev_hash = str(e, "prev_hash");
      CHECK(event_hash(r) == str(e, "hash"));
    }

    int64_t created_seq = num(created, "seq");
    auto then =
        json(w.call("GET", "/bookings/bk-a1/at?seq=" + std::to_string(created_seq), c.client));
    CHECK(str(then["booking"], "status") == "awaiting_payment");
    CHECK(num(then["booking"], "version") == 1);
    CHECK(num(then["as_of"], "seq") == created_seq);
    auto now = json(w.call("GET", "/bookings/bk-a1/at?time=2999-01-01T00:00:00Z", c.client));
    CHECK(str(now["booking"], "status") == "cancelled");
    HttpResponse before = w.call("GET", "/bookings/bk-a1/at?time=2000-01-01", c.client);
    CHECK(before.status == 404);
    CHECK(w.call("GET", "/bookings/bk-a1/at", c.client).status == 400);
    CHECK(w.call("GET", "/bookings/bk-a1/at?seq=1&time=2000-01-01", c.client).status == 400);
    CHECK(w.call("GET", "/bookings/bk-a1/at?seq=-3", c.client).status == 400);
  }
}

TEST_CASE("pay, capture into escrow, proof, release") {
  Sim& sim = Sim::fresh(sim_key);
  World w;
  Cast c(w);
  REQUIRE(w.call("POST", "/bookings", c.service, booking_body("bk-pay")).status == 201);

  CHECK(w.call("POST", "/bookings/bk-pay/pay", c.provider).status == 403);
  CHECK(w.call("POST", "/bookings/bk-pay/pay", c.stranger_client).status == 404);
  CHECK(w.call("POST", "/bookings/bk-pay/pay", c.client, R"({"callback_url":"ftp://x"})").status ==
        400);

  HttpResponse pay = w.call("POST", "/bookings/bk-pay/pay", c.client,
                            R"({"callback_url":"https://market.example/return"})");
  INFO(pay.body);
  REQUIRE(pay.status == 201);
  auto checkout = json(pay);
  std::string reference = str(checkout, "reference");
  CHECK(num(checkout, "amount") == 1'000'000);
  CHECK(num(checkout, "installment") == 1);
  CHECK(str(checkout, "authorization_url").rfind(sim.base_url() + "/checkout/", 0) == 0);
  CHECK(str(checkout, "authorization_url").find(str(checkout, "access_code")) != std::string::npos);
  CHECK(str(checkout["booking"], "payment_status") == "pending");
  CHECK(str(checkout["booking"]["payments"][0], "status") == "pending");

  // Verified before the customer paid: still in progress, nothing held.
  auto early =
      json(w.call("POST", "/payments/verify", c.client, R"({"reference":")" + reference + R"("})"));
  CHECK(str(early, "settlement") == "in_progress");
  CHECK(num(early["booking"], "escrow_balance") == 0);

  sim.pay(reference);
  CHECK(w.call("POST", "/payments/verify", c.stranger_client,
               R"({"reference":")" + reference + R"("})")
            .status == 404);
  CHECK(
      w.call("POST", "/payments/verify", c.client, R"({"reference":"unknown-ref-1234"})").status ==
      404);
  CHECK(w.call("POST", "/payments/verify", c.client, R"({"ref":"x"})").status == 400);
  HttpResponse verified =
      w.call("POST", "/payments/verify", c.client, R"({"reference":")" + reference + R"("})");
  REQUIRE(verified.status == 200);
  auto held = json(verified);
  CHECK(str(held, "settlement") == "captured");
  CHECK(str(held["booking"], "status") == "pending_execution");
  CHECK(str(held["booking"], "payment_status") == "escrow");
  CHECK(num(held["booking"], "escrow_balance") == 1'000'000);
  CHECK(num(held["booking"], "amount_paid") == 1'000'000);
  const auto& payment = held["booking"]["payments"][0];
  CHECK(str(payment, "status") == "captured");
  CHECK(num(payment, "paystack_transaction_id") > 0);
  CHECK(num(payment, "paystack_fee") > 0);  // the simulator's fee on the charge

  // Verifying again changes nothing.
  auto again = json(
      w.call("POST", "/payments/verify", c.service, R"({"reference":")" + reference + R"("})"));
  CHECK(str(again, "settlement") == "captured");
  CHECK(num(again["booking"], "version") == num(held["booking"], "version"));

  HttpResponse nothing_due = w.call("POST", "/bookings/bk-pay/pay", c.client);
  CHECK(nothing_due.status == 409);
  CHECK(error_code(nothing_due) == "nothing_due");

  HttpResponse too_soon = w.call("POST", "/bookings/bk-pay/release-payment", c.client);
  CHECK(too_soon.status == 409);
  CHECK(error_code(too_soon) == "proof_required");

  // A PNG and a note, as a browser form sends them; the file is sniffed, stored and served back.
  const std::string png(
      "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
      "\0\0\0\rIDATx\x9c"
      "c\0\x01\0\0\x05\0\x01\x0d\x0a-\xb4\0\0\0\0IEND\xae"
      "B`\x82",
      67);
  std::string form =
      "--XyZ\r\nContent-Disposition: form-data; name=\"notes\"\r\n\r\nFixed the leak\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"after.png\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n" +
      png + "\r\n--XyZ--\r\n";
  CHECK(w.call("POST", "/bookings/bk-pay/complete", c.stranger_provider, form,
               "multipart/form-data; boundary=XyZ")
            .status == 404);
  CHECK(w.call("POST", "/bookings/bk-pay/complete", c.client, form,
               "multipart/form-data; boundary=XyZ")
            .status == 403);
  HttpResponse completed = w.call("POST", "/bookings/bk-pay/complete", c.provider, form,
                                  "multipart/form-data; boundary=XyZ");
  INFO(completed.body);
  REQUIRE(completed.status == 200);
  auto proven = json(completed);
  CHECK(str(proven, "status") == "awaiting_confirmation");
  CHECK(proven["auto_confirm_at"].IsString());
  const auto& file = proven["proof"]["files"][0];
  CHECK(str(file, "content_type") == "image/png");
  CHECK(num(file, "size_bytes") == 67);
  CHECK(str(file, "url") == "/bookings/bk-pay/proof/" + str(file, "sha256"));

  // A second upload is refused before its files are stored: no orphan blob is left behind.
  const std::string other_png = png + "trailing";
  std::string second_form =
      "--XyZ\r\nContent-Disposition: form-data; name=\"notes\"\r\n\r\nAgain\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"b.png\"\r\n\r\n" +
      other_png + "\r\n--XyZ--\r\n";
  HttpResponse second = w.call("POST", "/bookings/bk-pay/complete", c.provider, second_form,
                               "multipart/form-data; boundary=XyZ");
  CHECK(second.status == 409);
  CHECK(error_code(second) == "proof_already_submitted");
  auto orphan = w.blobs->get(sha256_hex(other_png));
  REQUIRE(orphan.is_ok());
  CHECK_FALSE(orphan.value().has_value());

  HttpResponse served = w.call("GET", str(file, "url"), c.client);
  REQUIRE(served.status == 200);
  CHECK(served.body == png);
  CHECK(served.headers.get("Content-Type") == std::optional<std::string_view>("image/png"));
  CHECK(w.call("GET", str(file, "url"), c.stranger_client).status == 404);
  HttpResponse for_service = w.call("GET", str(file, "url"), c.service);
  CHECK(for_service.status == 200);
  CHECK(for_service.body == png);
  CHECK(w.call("GET", str(file, "url"), c.auditor).status == 403);
  CHECK(w.call("GET", "/bookings/bk-pay/proof/" + std::string(64, 'a'), c.client).status == 404);

  CHECK(w.call("POST", "/bookings/bk-pay/release-payment", c.provider).status == 403);
  HttpResponse released = w.call("POST", "/bookings/bk-pay/release-payment", c.client);
  REQUIRE(released.status == 200);
  auto done = json(released);
  CHECK(str(done, "status") == "completed");
  CHECK(str(done, "payment_status") == "released");
  CHECK(num(done, "escrow_balance") == 0);
  CHECK(num(done, "platform_fee") == 50'000);
  CHECK(num(done, "provider_net") == 950'000);
  CHECK(num(done, "released") == 1'000'000);
  HttpResponse twice = w.call("POST", "/bookings/bk-pay/release-payment", c.client);
  CHECK(twice.status == 409);
  CHECK(error_code(twice) == "already_released");
}

TEST_CASE("a split plan disputed and resolved: the parts add up to what was held") {
  Sim::fresh(sim_key);
  World w;
  Cast c(w);
  paid_booking(w, c, "bk-split", R"(,"payment_plan":{"type":"split","deposit_bps":4000})");
  auto paid = json(w.call("GET", "/bookings/bk-split", c.provider));
  CHECK(paid["payments"].Size() == 2);
  CHECK(num(paid, "escrow_balance") == 1'000'000);

  HttpResponse json_proof =
      w.call("POST", "/bookings/bk-split/complete", c.provider,
             R"({"notes":"Done","attachments":[{"url":"https://photos.example/1"}]})");
  REQUIRE(json_proof.status == 200);
  CHECK(str(json(json_proof)["proof"]["attachments"][0], "url") == "https://photos.example/1");

  CHECK(w.call("POST", "/bookings/bk-split/dispute", c.client, R"({"description":"no reason"})")
            .status == 400);
  CHECK(w.call("POST", "/bookings/bk-split/dispute", c.admin, R"({"reason":"x"})").status == 403);
  HttpResponse opened = w.call("POST", "/bookings/bk-split/dispute", c.client,
                               R"({"reason":"leak is back","description":"water again"})");
  REQUIRE(opened.status == 200);
  auto disputed = json(opened);
  CHECK(str(disputed, "status") == "disputed");
  CHECK(str(disputed["dispute"], "status") == "open");
  CHECK(str(disputed["dispute"], "opened_by") == "client-1");

  HttpResponse blocked = w.call("POST", "/bookings/bk-split/release-payment", c.client);
  CHECK(blocked.status == 409);
  CHECK(error_code(blocked) == "dispute_open");
  CHECK(w.call("POST", "/bookings/bk-split/dispute/resolve", c.client,
               R"({"outcome":"release","note":"x"})")
            .status == 403);
  CHECK(w.call("POST", "/bookings/bk-split/dispute/resolve", c.admin,
               R"({"outcome":"halve","note":"x"})")
            .status == 400);
  HttpResponse wrong_sum =
      w.call("POST", "/bookings/bk-split/dispute/resolve", c.admin,
             R"({"outcome":"split","provider_amount":600000,"refund_amount":300000,"note":"x"})");
  CHECK(wrong_sum.status == 400);
  CHECK(error_code(wrong_sum) == "invalid_resolution");

  HttpResponse resolved = w.call(
      "POST", "/bookings/bk-split/dispute/resolve", c.admin,
      R"({"outcome":"split","provider_amount":600001,"refund_amount":399999,"note":"Partly redone"})");
  INFO(resolved.body);
  REQUIRE(resolved.status == 200);
  auto r = json(resolved);
  CHECK(str(r["dispute"], "status") == "resolved");
  CHECK(str(r["dispute"], "outcome") == "split");
  CHECK(str(r["dispute"], "resolved_by") == "admin-1");
  CHECK(num(r, "released") == 600'001);
  CHECK(num(r, "platform_fee") == 30'000);  // floor(600001 * 5%)
  CHECK(num(r, "provider_net") == 570'001);
  int64_t refunded = 0;
  for (const auto& refund : r["refunds"].GetArray()) {
    CHECK(str(refund, "reason") == "dispute");
    refunded += num(refund, "amount");
  }
  CHECK(refunded == 399'999);
  CHECK(num(r, "refunded") == 399'999);
  CHECK(num(r, "escrow_balance") == 0);
  CHECK(num(r, "released") + num(r, "refunded") == num(r, "amount_paid"));
}

TEST_CASE("cancellation refunds what was held, through the outbox to Paystack") {
  Sim& sim = Sim::fresh(sim_key);
  World w;
  Cast c(w);
  paid_booking(w, c, "bk-cancel");
  CHECK(w.call("POST", "/bookings/bk-cancel/cancel", c.provider, R"({})").status == 400);
  CHECK(w.call("POST", "/bookings/bk-cancel/cancel", c.auditor, R"({"reason":"x"})").status == 403);
  HttpResponse cancelled =
      w.call("POST", "/bookings/bk-cancel/cancel", c.provider, R"({"reason":"cannot make it"})");
  REQUIRE(cancelled.status == 200);
  auto doc = json(cancelled);
  CHECK(str(doc, "status") == "cancelled");
  CHECK(str(doc, "payment_status") == "refunding");
  REQUIRE(doc["refunds"].Size() == 1);
  CHECK(num(doc["refunds"][0], "amount") == 1'000'000);
  CHECK(str(doc["refunds"][0], "status") == "queued");
  CHECK(num(doc, "platform_fee") == 0);

  REQUIRE(w.outbox->run_once().is_ok());
  auto state = sim.state();
  REQUIRE(state["refunds"].Size() == 1);
  CHECK(state["refunds"][0]["amount"].GetInt64() == 1'000'000);
  auto after = json(w.call("GET", "/bookings/bk-cancel", c.client));
  CHECK(str(after["refunds"][0], "status") != "queued");

  HttpResponse again = w.call("POST", "/bookings/bk-cancel/cancel", c.client, R"({"reason":"x"})");
  CHECK(again.status == 409);
  CHECK(error_code(again) == "already_cancelled");
  HttpResponse pay = w.call("POST", "/bookings/bk-cancel/pay", c.client);
  CHECK(pay.status == 409);
  CHECK(error_code(pay) == "booking_cancelled");
}

TEST_CASE("pay refusals: an expired booking, and Paystack unreachable") {
  Sim::fresh(sim_key);
  SECTION("a request not paid by pay_by expires") {
    World w;
    Cast c(w);
    REQUIRE(
        w.call("POST", "/bookings", c.service,
               booking_body("bk-late", "client-1", 100'000,
                            R"(,"pay_by":")" + format_iso8601_ms(w.clock.now_ms() + 60'000) + "\""))
            .status == 201);
    w.clock.advance_ms(120'000);
    HttpResponse late = w.call("POST", "/bookings/bk-late/pay", c.client);
    CHECK(late.status == 409);
    CHECK(error_code(late) == "booking_expired");
    // Read before the scheduler came by: expired on the read, and listed as expired.
    auto read = json(w.call("GET", "/bookings/bk-late", c.client));
    CHECK(str(read, "status") == "expired");
    auto listed = json(w.call("GET", "/bookings?status=expired", c.admin));
    REQUIRE(listed["data"].Size() == 1);
    CHECK(str(listed["data"][0], "id") == "bk-late");
    CHECK(json(w.call("GET", "/bookings?status=awaiting_payment", c.admin))["data"].Size() == 0);
    CHECK(error_code(w.call("POST", "/bookings/bk-late/cancel", c.client,
                            R"({"reason":"too late"})")) == "booking_expired");
  }
  SECTION("Paystack down: 502, nothing recorded") {
    World w("http://127.0.0.1:9");  // nothing listens on the discard port
    Cast c(w);
    REQUIRE(w.call("POST", "/bookings", c.service, booking_body("bk-down")).status == 201);
    HttpResponse down = w.call("POST", "/bookings/bk-down/pay", c.service);
    CHECK(down.status == 502);
    CHECK(error_code(down) == "paystack_unavailable");
    CHECK(json(w.call("GET", "/bookings/bk-down", c.admin))["payments"].Size() == 0);
  }
}

TEST_CASE("a checkout opened before a crash is adopted, never opened twice") {
  Sim& sim = Sim::fresh(sim_key);
  World w;
  Cast c(w);
  REQUIRE(w.call("POST", "/bookings", c.service,
                 booking_body("bk-crash", "client-1", 1'000'000,
                              R"(,"payment_plan":{"type":"split","deposit_bps":5000})"))
              .status == 201);
  // The service opened the deposit's checkout and stopped before recording it; the customer paid.
  std::string lost = payment_reference("bk-crash", 1, 1);
  auto opened =
      w.paystack->initialize_transaction({"ada@example.com", Money{500'000, Currency::NGN}, lost,
                                          "", R"({"booking_id":"bk-crash","installment":1})"});
  REQUIRE(opened.is_ok());
  sim.pay(lost);

  HttpResponse pay = w.call("POST", "/bookings/bk-crash/pay", c.client);
  INFO(pay.body);
  REQUIRE(pay.status == 201);
  auto doc = json(pay);
  CHECK(num(doc, "installment") == 2);  // the deposit was captured from the lost checkout
  CHECK(str(doc, "reference") != lost);
  const auto& payments = doc["booking"]["payments"];
  REQUIRE(payments.Size() == 2);
  CHECK(str(payments[0], "reference") == lost);
  CHECK(str(payments[0], "status") == "captured");
  CHECK(str(doc["booking"], "payment_status") == "partially_paid");
  CHECK(num(doc["booking"], "escrow_balance") == 500'000);
  // One Paystack transaction per reference.
  auto state = sim.state();
  CHECK(state["transactions"].Size() == 2);
}

TEST_CASE("a failed payment is recorded and paying again opens a new reference") {
  Sim& sim = Sim::fresh(sim_key);
  World w;
  Cast c(w);
  REQUIRE(w.call("POST", "/bookings", c.service, booking_body("bk-fail")).status == 201);
  std::string first = str(json(w.call("POST", "/bookings/bk-fail/pay", c.client)), "reference");
  sim.pay(first, "failed");
  auto failed =
      json(w.call("POST", "/payments/verify", c.client, R"({"reference":")" + first + R"("})"));
  CHECK(str(failed, "settlement") == "failed");
  CHECK(str(failed["booking"], "payment_status") == "failed");
  CHECK(num(failed["booking"], "escrow_balance") == 0);

  HttpResponse again = w.call("POST", "/bookings/bk-fail/pay", c.client);
  REQUIRE(again.status == 201);
  CHECK(str(json(again), "reference") != first);

  SECTION("an unrecorded checkout the customer never paid is adopted as failed") {
    REQUIRE(w.call("POST", "/bookings", c.service, booking_body("bk-lost")).status == 201);
    std::string lost = payment_reference("bk-lost", 1, 1);
    REQUIRE(w.paystack
                ->initialize_transaction({"ada@example.com", Money{1'000'000, Currency::NGN}, lost,
                                          "", R"({"booking_id":"bk-lost","installment":1})"})
                .is_ok());
    HttpResponse pay = w.call("POST", "/bookings/bk-lost/pay", c.client);
    INFO(pay.body);
    REQUIRE(pay.status == 201);
    auto doc = json(pay);
    CHECK(str(doc, "reference") == payment_reference("bk-lost", 1, 2));
    REQUIRE(doc["booking"]["payments"].Size() == 2);
    CHECK(str(doc["booking"]["payments"][0], "reference") == lost);
    CHECK(str(doc["booking"]["payments"][0], "status") == "failed");
  }
}

TEST_CASE("a pay while the checkout is pending answers that same checkout, not a new one") {
  Sim& sim = Sim::fresh(sim_key);
  World w;
  Cast c(w);
  REQUIRE(w.call("POST", "/bookings", c.service, booking_body("bk-twice")).status == 201);
  HttpResponse first = w.call("POST", "/bookings/bk-twice/pay", c.client);
  REQUIRE(first.status == 201);
  // The client taps "pay" again, and the marketplace retries for them.
  HttpResponse again = w.call("POST", "/bookings/bk-twice/pay", c.client);
  HttpResponse retried = w.call("POST", "/bookings/bk-twice/pay", c.service);
  INFO(again.body);
  REQUIRE(again.status == 200);
  REQUIRE(retried.status == 200);
  for (const HttpResponse* same : {&again, &retried}) {
    auto doc = json(*same);
    CHECK(str(doc, "reference") == str(json(first), "reference"));
    CHECK(str(doc, "authorization_url") == str(json(first), "authorization_url"));
    CHECK(str(doc, "access_code") == str(json(first), "access_code"));
    CHECK(doc["booking"]["payments"].Size() == 1);
  }
  CHECK(sim.state()["transactions"].Size() == 1);  // one Paystack transaction, paid once

  // Paid on that checkout: held once, and nothing more is due.
  std::string reference = str(json(first), "reference");
  sim.pay(reference);
  auto held =
      json(w.call("POST", "/payments/verify", c.client, R"({"reference":")" + reference + R"("})"));
  CHECK(num(held["booking"], "escrow_balance") == 1'000'000);
  CHECK(error_code(w.call("POST", "/bookings/bk-twice/pay", c.client)) == "nothing_due");
}

TEST_CASE("a keyed request whose process stops after the commit is replayed, never run again") {
  Sim& sim = Sim::fresh(sim_key);
  World w;
  Cast c(w);
  REQUIRE(w.call("POST", "/bookings", c.service, booking_body("bk-once")).status == 201);

  auto keyed = [&](const std::string& target, const std::string& token, const std::string& body) {
    HttpRequest request;
    request.method = "POST";
    request.target = target;
    request.headers.set("Authorization", "Bearer " + token);
    request.headers.set("Content-Type", "application/json");
    request.headers.set("Idempotency-Key", "once-1");
    request.body = body;
    return request;
  };
  struct Case {
    std::string target, route, actor, token, body;
  };
  const std::vector<Case> cases = {
      {"/bookings/bk-once/pay", "/bookings/:id/pay", "client:client-1", c.client, "{}"},
      {"/bookings", "/bookings", "service:marketplace", c.service, booking_body("bk-once-2")},
  };
  for (const Case& k : cases) {
    INFO(k.target);
    // The first process runs the command, and stops before the answer leaves it: the throw
    // stands for the stop, after which the process records nothing more of the request.
    auto first_process = IdempotencyStore::open(w.path);
    REQUIRE(first_process.is_ok());
    HttpRequest request = keyed(k.target, k.token, k.body);
    request.idempotency = first_process.value()->hold_for(k.actor, request);
    HttpResponse lost;
    CHECK_THROWS(first_process.value()->run(
        k.actor, "POST", k.route, request,
        [&]() -> HttpResponse {
          lost = w.router.dispatch(request).response;
          throw std::runtime_error("the process stopped before answering");
        },
        w.clock.now_ms()));
    REQUIRE(lost.status == 201);

    // The client retries against the restarted process: the answer the commit stored, as it was.
    auto next_process = IdempotencyStore::open(w.path);
    REQUIRE(next_process.is_ok());
    HttpRequest retry = keyed(k.target, k.token, k.body);
    retry.idempotency = next_process.value()->hold_for(k.actor, retry);
    int runs = 0;
    HttpResponse replayed = next_process.value()->run(
        k.actor, "POST", k.route, retry,
        [&] {
          ++runs;
          return w.router.dispatch(retry).response;
        },
        w.clock.now_ms());
    CHECK(runs == 0);
    CHECK(replayed.status == 201);
    CHECK(replayed.body == lost.body);
    CHECK(replayed.headers.get("Idempotent-Replayed").value_or("") == "true");
  }
  CHECK(sim.state()["transactions"].Size() == 1);
}

TEST_CASE("a booking says when it was paid, proven, approved, released and cancelled") {
  Sim::fresh(sim_key);
  World w;
  Cast c(w);
  auto at = [](const rapidjson::Value& b, const char* key) -> std::optional<int64_t> {
    REQUIRE(b.HasMember(key));  // present, null until the step is reached
    if (b[key].IsNull()) return std::nullopt;
    auto ms = parse_iso8601_ms(b[key].GetString());
    REQUIRE(ms.has_value());
    return ms;
  };
  REQUIRE(w.call("POST", "/bookings", c.service, booking_body("bk-times")).status == 201);
  auto created = json(w.call("GET", "/bookings/bk-times", c.client));
  for (const char* key : {"paid_at", "proof_at", "approved_at", "released_at", "cancelled_at"})
    CHECK_FALSE(at(created, key).has_value());

  paid_booking(w, c, "bk-paid-times");
  auto paid = json(w.call("GET", "/bookings/bk-paid-times", c.client));
  REQUIRE(at(paid, "paid_at").has_value());
  CHECK(*at(paid, "paid_at") >= *at(paid, "created_at"));
  CHECK_FALSE(at(paid, "proof_at").has_value());

  w.clock.advance_ms(1'000);
  REQUIRE(w.call("POST", "/bookings/bk-paid-times/complete", c.provider,
                 R"({"notes":"done","attachments":[{"url":"https://cdn.example.com/p.jpg"}]})")
              .status == 200);
  w.clock.advance_ms(1'000);
  auto released = json(w.call("POST", "/bookings/bk-paid-times/release-payment", c.client));
  CHECK(*at(released, "proof_at") >= *at(released, "paid_at") + 1'000);
  CHECK(*at(released, "approved_at") >= *at(released, "proof_at") + 1'000);
  CHECK(at(released, "released_at") == at(released, "approved_at"));  // one command
  CHECK_FALSE(at(released, "cancelled_at").has_value());
  // Later commands keep them.
  auto read = json(w.call("GET", "/bookings/bk-paid-times", c.admin));
  CHECK(at(read, "paid_at") == at(paid, "paid_at"));

  paid_booking(w, c, "bk-cancel-times");
  auto cancelled = json(
      w.call("POST", "/bookings/bk-cancel-times/cancel", c.admin, R"({"reason":"double booked"})"));
  CHECK(at(cancelled, "cancelled_at").has_value());
  CHECK_FALSE(at(cancelled, "released_at").has_value());
}
