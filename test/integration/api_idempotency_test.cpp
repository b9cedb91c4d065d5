// Tests of api/idempotency.h: the Idempotency-Key contract of DESIGN section 5, on a real
// migrated SQLite file.
//
// How: handlers are counting lambdas, so each case checks both what the caller gets back and how
// often the work ran. Covered: requests without a key run every time; malformed keys are 400 and
// run nothing; a 2xx is stored and replayed (status, body, headers, Idempotent-Replayed: true,
// but not the old X-Request-Id), also by a store reopened later; the same key with another body,
// route or Content-Type is 422; keys are per actor; 4xx, 409 and 502 answers give the key back;
// a handler that throws gives it back too; a second request while the first runs is 409; eight
// threads racing on one key run the handler once; a claim left by another process (a crash) is
// taken over and the request runs again; a claim waits while another connection holds the
// write lock (as the event store's writer does) rather than failing.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/idempotency.h"
#include "ledger/store/migrations.h"
#include "test/temp_dir.h"

using namespace escrow;
using namespace escrow::api;

namespace {

constexpr int64_t now_ms = 1'780'000'000'000;

struct Fixture {
  TempDir dir;
  std::string db_path = dir.path + "/escrow.db";
  std::unique_ptr<IdempotencyStore> store;

  Fixture() {
    REQUIRE(migrate_file(db_path).is_ok());
    store = open_store();
  }
  std::unique_ptr<IdempotencyStore> open_store() {
    auto opened = IdempotencyStore::open(db_path);
    REQUIRE(opened.is_ok());
    return std::move(opened).value();
  }
};

HttpRequest post(std::string body, std::string key, std::string target = "/bookings/b1/pay") {
  HttpRequest request;
  request.method = "POST";
  request.target = std::move(target);
  request.headers.set("Content-Type", "application/json");
  request.headers.set("X-Request-Id", "req-original");
  if (!key.empty()) request.headers.set("Idempotency-Key", key);
  request.body = std::move(body);
  return request;
}

// A handler that counts its runs and answers `status` with a body naming the run.
struct CountingHandler {
  std::atomic<int> runs{0};
  int status = 201;
  std::function<HttpResponse()> fn() {
    return [this] {
      int run = ++runs;
      HttpResponse response = json_response(status, R"({"run":)" + std::to_string(run) + "}");
      response.headers.set("Location", "/bookings/b1");
      response.headers.set("X-Request-Id", "req-original");
      return response;
    };
  }
};

HttpResponse run(IdempotencyStore& store, const HttpRequest& request,
                 const std::function<HttpResponse()>& handler, std::string actor = "client:c1",
                 std::string route = "/bookings/:id/pay") {
  return store.run(actor, request.method, route, request, handler, now_ms);
}

std::string code_of(const HttpResponse& response) {
  auto at = response.body.find(R"("code":")");
  REQUIRE(at != std::string::npos);
  at += 8;
  return response.body.substr(at, response.body.find('"', at) - at);
}

}  // namespace

TEST_CASE("without a key the handler runs every time and nothing is replayed") {
  Fixture f;
  CountingHandler h;
  HttpResponse first = run(*f.store, post("{}", ""), h.fn());
  HttpResponse second = run(*f.store, post("{}", ""), h.fn());
  CHECK(h.runs == 2);
  CHECK(first.body == R"({"run":1})");
  CHECK(second.body == R"({"run":2})");
  CHECK_FALSE(second.headers.contains("Idempotent-Replayed"));
}

TEST_CASE("a malformed key is 400 invalid_idempotency_key and runs nothing") {
  Fixture f;
  CountingHandler h;
  for (std::string key : {std::string(256, 'k'), std::string("tab\tkey"),
                          std::string("caf\xc3\xa9"), std::string("nul\x01")}) {
    INFO("key " << key);
    HttpRequest request = post("{}", "x");
    request.headers.set("Idempotency-Key", key);
    HttpResponse response = run(*f.store, request, h.fn());
    CHECK(response.status == 400);
    CHECK(code_of(response) == "invalid_idempotency_key");
  }
  HttpRequest empty = post("{}", "x");
  empty.headers.set("Idempotency-Key", "");
  CHECK(run(*f.store, empty, h.fn()).status == 400);
  CHECK(h.runs == 0);
  CHECK(idempotency_key_valid(std::string(255, 'k')));
  CHECK(idempotency_key_valid("order 42/pay"));
}

TEST_CASE("a successful response is stored and replayed, also after a restart") {
  Fixture f;
  CountingHandler h;
  HttpResponse first = run(*f.store, post(R"({"a":1})", "key-1"), h.fn());
  REQUIRE(first.status == 201);
  CHECK_FALSE(first.headers.contains("Idempotent-Replayed"));

  HttpResponse replay = run(*f.store, post(R"({"a":1})", "key-1"), h.fn());
  CHECK(h.runs == 1);
  CHECK(replay.status == 201);
  CHECK(replay.body == first.body);
  CHECK(replay.headers.get("Idempotent-Replayed") == std::optional<std::string_view>("true"));
  CHECK(replay.headers.get("Location") == std::optional<std::string_view>("/bookings/b1"));
  CHECK(replay.headers.get("Content-Type") == std::optional<std::string_view>("application/json"));
  CHECK_FALSE(replay.headers.contains("X-Request-Id"));  // the pipeline sets the new one

  auto reopened = f.open_store();
  HttpResponse after_restart = run(*reopened, post(R"({"a":1})", "key-1"), h.fn());
  CHECK(h.runs == 1);
  CHECK(after_restart.body == first.body);
  CHECK(after_restart.headers.get("Idempotent-Replayed") ==
        std::optional<std::string_view>("true"));
}

TEST_CASE("the same key for a different request is 422 idempotency_key_reused") {
  Fixture f;
  CountingHandler h;
  REQUIRE(run(*f.store, post(R"({"a":1})", "key-1"), h.fn()).status == 201);

  HttpResponse other_body = run(*f.store, post(R"({"a":2})", "key-1"), h.fn());
  CHECK(other_body.status == 422);
  CHECK(code_of(other_body) == "idempotency_key_reused");

  HttpResponse other_route = run(*f.store, post(R"({"a":1})", "key-1", "/bookings/b2/pay"), h.fn());
  CHECK(other_route.status == 422);

  HttpRequest other_type = post(R"({"a":1})", "key-1");
  other_type.headers.set("Content-Type", "text/plain");
  CHECK(run(*f.store, other_type, h.fn()).status == 422);
  CHECK(h.runs == 1);

  // The original request still replays.
  CHECK(run(*f.store, post(R"({"a":1})", "key-1"), h.fn()).body == R"({"run":1})");
}

TEST_CASE("keys belong to one actor") {
  Fixture f;
  CountingHandler h;
  REQUIRE(run(*f.store, post("{}", "shared"), h.fn(), "client:c1").status == 201);
  HttpResponse other = run(*f.store, post(R"({"b":1})", "shared"), h.fn(), "client:c2");
  CHECK(other.status == 201);
  CHECK(other.body == R"({"run":2})");
  CHECK_FALSE(other.headers.contains("Idempotent-Replayed"));
}

TEST_CASE("a refused request does not consume its key") {
  Fixture f;
  for (int refused : {400, 404, 409, 422, 500, 502, 503}) {
    INFO("status " << refused);
    CountingHandler h;
    h.status = refused;
    std::string key = "key-" + std::to_string(refused);
    HttpResponse first = run(*f.store, post(R"({"bad":true})", key), h.fn());
    CHECK(first.status == refused);
    // The same key with a corrected body runs and is then stored.
    h.status = 200;
    HttpResponse corrected = run(*f.store, post(R"({"bad":false})", key), h.fn());
    CHECK(corrected.status == 200);
    CHECK(h.runs == 2);
    CHECK(run(*f.store, post(R"({"bad":false})", key), h.fn())
              .headers.contains("Idempotent-Replayed"));
    CHECK(h.runs == 2);
  }
}

TEST_CASE("a handler that throws gives its key back") {
  Fixture f;
  auto throwing = []() -> HttpResponse { throw std::runtime_error("boom"); };
  CHECK_THROWS_AS(run(*f.store, post("{}", "key-t"), throwing), std::runtime_error);
  CountingHandler h;
  CHECK(run(*f.store, post("{}", "key-t"), h.fn()).status == 201);
  CHECK(h.runs == 1);
}

TEST_CASE("a second request while the first still runs is 409 idempotency_in_flight") {
  Fixture f;
  std::promise<void> entered, finish;
  std::shared_future<void> finish_signal = finish.get_future().share();
  auto slow = [&]() {
    entered.set_value();
    finish_signal.wait();
    return json_response(201, R"({"slow":true})");
  };
  auto first = std::async(std::launch::async, [&] { return run(*f.store, post("{}", "k"), slow); });
  entered.get_future().wait();

  CountingHandler h;
  HttpResponse during = run(*f.store, post("{}", "k"), h.fn());
  CHECK(during.status == 409);
  CHECK(code_of(during) == "idempotency_in_flight");
  // A different body is still 422, in flight or not.
  CHECK(run(*f.store, post(R"({"x":1})", "k"), h.fn()).status == 422);

  finish.set_value();
  CHECK(first.get().status == 201);
  HttpResponse after = run(*f.store, post("{}", "k"), h.fn());
  CHECK(after.body == R"({"slow":true})");
  CHECK(after.headers.contains("Idempotent-Replayed"));
  CHECK(h.runs == 0);
}

TEST_CASE("eight threads racing on one key run the handler once") {
  Fixture f;
  std::atomic<int> runs{0};
  auto handler = [&]() {
    ++runs;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return json_response(201, R"({"done":true})");
  };
  constexpr int thread_count = 8;
  std::vector<HttpResponse> responses(thread_count);
  std::vector<std::thread> threads;
  for (int i = 0; i < thread_count; ++i)
    threads.emplace_back([&, i] { responses[i] = run(*f.store, post("{}", "race"), handler); });
  for (auto& t : threads) t.join();

  CHECK(runs == 1);
  int original = 0, replayed = 0, in_flight = 0;
  for (const HttpResponse& r : responses) {
    if (r.status == 201 && !r.headers.contains("Idempotent-Replayed")) ++original;
    if (r.status == 201 && r.headers.contains("Idempotent-Replayed")) ++replayed;
    if (r.status == 409) ++in_flight;
  }
  CHECK(original == 1);
  CHECK(original + replayed + in_flight == thread_count);
}

TEST_CASE("a claim left by a process that died is taken over: the request runs again") {
  Fixture f;
  CountingHandler h;
  auto restarted = f.open_store();  // a new process on the same file
  REQUIRE(restarted->instance_id() != f.store->instance_id());

  // While the old process holds the claim (its handler is running, then it "dies" before
  // answering), the new process gets the same request: the claim is stale to it, so it runs.
  HttpResponse fresh;
  auto dying = [&]() {
    fresh = run(*restarted, post("{}", "k-crash"), h.fn());
    return json_response(201, R"({"from":"dead process"})");
  };
  (void)run(*f.store, post("{}", "k-crash"), dying);
  CHECK(h.runs == 1);
  CHECK(fresh.status == 201);
  CHECK_FALSE(fresh.headers.contains("Idempotent-Replayed"));

  // The new process's answer is the one kept; the old one's late completion changes nothing.
  auto third = f.open_store();
  HttpResponse replay = run(*third, post("{}", "k-crash"), h.fn());
  CHECK(replay.body == R"({"run":1})");
  CHECK(replay.headers.contains("Idempotent-Replayed"));
  CHECK(h.runs == 1);
}

TEST_CASE("a claim waits for another writer of the same file instead of failing") {
  Fixture f;
  auto other = sqlite::Db::open(f.db_path, sqlite::Db::Mode::read_write);
  REQUIRE(other.is_ok());
  REQUIRE(other->exec("BEGIN IMMEDIATE").is_ok());  // as the event store's writer mid-commit
  std::thread committer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    (void)other->exec("COMMIT");
  });
  CountingHandler h;
  auto started = std::chrono::steady_clock::now();
  HttpResponse response = run(*f.store, post("{}", "k-wait"), h.fn());
  auto waited = std::chrono::steady_clock::now() - started;
  committer.join();
  CHECK(response.status == 201);
  CHECK(h.runs == 1);
  CHECK(waited >= std::chrono::milliseconds(100));
  CHECK(run(*f.store, post("{}", "k-wait"), h.fn()).headers.contains("Idempotent-Replayed"));
}

TEST_CASE("the fingerprint covers method, route, target, content type and body without ambiguity") {
  HttpRequest a = post("xy", "k", "/a");
  HttpRequest b = post("y", "k", "/ax");
  CHECK(request_fingerprint("POST", "/a", a) != request_fingerprint("POST", "/a", b));
  CHECK(request_fingerprint("POST", "/r", a) == request_fingerprint("POST", "/r", a));
  CHECK(request_fingerprint("POST", "/r", a) != request_fingerprint("PUT", "/r", a));
  CHECK(request_fingerprint("POST", "/r", a).size() == 64);
}
