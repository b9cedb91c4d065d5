// The webhook log (projections/webhook_log.h) and the store's any_version append under it, on
// real SQLite files.
//
// Covers: a delivery is stored once per dedupe key (sequentially, and with 8 threads racing the
// same key: one event, one row, every caller told the same id); distinct deliveries from 8
// threads are all stored; appends at StreamAppend::any_version never conflict and still take
// gap-free versions, while a stated version still conflicts; record_outcome() numbers attempts and
// updates status and last_error, and refuses an unknown delivery; list() filters by event, status,
// reference and time, pages newest first and counts by status; due_for_retry() follows the
// backoff (30 s doubling, capped at 1 h, attempts_max) and picks up deliveries stuck in
// `received`; the webhook projection equals a fresh rebuild (verify() passes with bookings and
// deliveries in one log, the hash chain included), drift in it is reported and repaired, and a
// second delivery under one key smuggled into the log is reported by verify().
#include "projections/webhook_log.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ledger/store/event_store.h"
#include "ledger/store/shell.h"
#include "projections/live.h"
#include "projections/rebuild.h"
#include "test/ledger_db.h"

using namespace escrow;
using projections::DeliveryFilter;
using projections::WebhookDelivery;
using projections::WebhookLog;
using projections::WebhookOutcome;

namespace {

const EventMeta paystack_meta{"paystack", Role::system, std::string("req-1"), std::nullopt,
                              std::nullopt};
constexpr int64_t start_ms = 1'800'000'000'000;

struct Fixture : LedgerDb {
  std::unique_ptr<WebhookLog> log = std::make_unique<WebhookLog>(*store, live);

  Fixture() : LedgerDb(start_ms) {}

  int64_t record(const std::string& key, const std::string& event = "charge.success",
                 const std::string& reference = "bk-1") {
    auto r = log->record(delivery(key, event, reference), paystack_meta);
    REQUIRE(r.is_ok());
    REQUIRE_FALSE(r->duplicate);
    return r->id;
  }

  static WebhookDelivery delivery(const std::string& key,
                                  const std::string& event = "charge.success",
                                  const std::string& reference = "bk-1") {
    std::string body = R"({"event":")" + event + R"(","data":{"id":)" + key.substr(key.size() - 1) +
                       R"(,"reference":")" + reference + R"(","amount":500000}})";
    return WebhookDelivery{event, key, reference, body, "52.31.139.75"};
  }

  projections::DeliveryRow row(int64_t id) {
    sqlite::Db db = connect();
    auto found = WebhookLog::find(db, id);
    REQUIRE(found.is_ok());
    REQUIRE(found->has_value());
    return **found;
  }

  void outcome(int64_t id, WebhookOutcome outcome, const std::string& detail = "") {
    REQUIRE(log->record_outcome(id, outcome, detail, paystack_meta).is_ok());
  }
};

}  // namespace

TEST_CASE("a delivery is stored once, with its raw payload, and a redelivery is a duplicate",
          "[webhooks]") {
  Fixture f;
  WebhookDelivery d = Fixture::delivery("charge:4100000001");
  d.payload = "{\"event\":\"charge.success\",  \"data\" : {\"note\":\"spacing \\u00e9 kept\"}}";
  auto first = f.log->record(d, paystack_meta);
  REQUIRE(first.is_ok());
  CHECK_FALSE(first->duplicate);
  CHECK(first->id == f.store->last_seq());

  auto again = f.log->record(d, paystack_meta);
  REQUIRE(again.is_ok());
  CHECK(again->duplicate);
  CHECK(again->id == first->id);
  CHECK(f.integer("SELECT count(*) FROM events") == 1);
  CHECK(f.integer("SELECT count(*) FROM webhook_deliveries") == 1);

  projections::DeliveryRow row = f.row(first->id);
  CHECK(row.payload == d.payload);
  CHECK(row.event == "charge.success");
  CHECK(row.reference == "bk-1");
  CHECK(row.status == "received");
  CHECK(row.attempts == 0);
  CHECK(row.received_at_ms == start_ms);

  auto reader = EventReader::open(f.path);
  REQUIRE(reader.is_ok());
  auto events = reader->read_stream(webhook_stream);
  REQUIRE(events.is_ok());
  REQUIRE(events->size() == 1);
  auto decoded = decode_webhook_event(events->front().type, events->front().data);
  REQUIRE(decoded.is_ok());
  const auto& received = std::get<WebhookReceived>(decoded.value());
  CHECK(received.payload == d.payload);
  CHECK(received.remote_address == "52.31.139.75");
  CHECK(events->front().meta.find("req-1") != std::string::npos);

  CHECK(f.log->record(WebhookDelivery{"charge.success", "", "", "{}", ""}, paystack_meta)
            .status()
            .code() == StatusCode::invalid_argument);
  CHECK(f.log->record(WebhookDelivery{"", "k", "", "{}", ""}, paystack_meta).status().code() ==
        StatusCode::invalid_argument);
}

TEST_CASE("8 threads delivering the same webhook store one event and all learn its id",
          "[webhooks]") {
  Fixture f;
  constexpr int threads = 8;
  std::vector<int64_t> ids(threads, 0);
  std::atomic<int> stored{0}, failures{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      auto r = f.log->record(Fixture::delivery("transfer:77"), paystack_meta);
      if (!r.is_ok()) {
        ++failures;
        return;
      }
      ids[t] = r->id;
      if (!r->duplicate) ++stored;
    });
  }
  go = true;
  for (std::thread& w : workers) w.join();
  CHECK(failures == 0);
  CHECK(stored == 1);
  for (int64_t id : ids) CHECK(id == ids.front());
  CHECK(f.integer("SELECT count(*) FROM events") == 1);
  CHECK(f.integer("SELECT count(*) FROM webhook_deliveries") == 1);
  f.expect_verified();
}

TEST_CASE("distinct deliveries from 8 threads are all stored, one stream, versions gap-free",
          "[webhooks]") {
  Fixture f;
  constexpr int threads = 8, per_thread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        std::string key = "charge:" + std::to_string(t) + "-" + std::to_string(i);
        auto r = f.log->record(Fixture::delivery(key), paystack_meta);
        if (!r.is_ok() || r->duplicate) ++failures;
      }
    });
  }
  for (std::thread& w : workers) w.join();
  CHECK(failures == 0);
  CHECK(f.integer("SELECT count(*) FROM webhook_deliveries") == threads * per_thread);
  CHECK(f.integer("SELECT max(version) FROM events WHERE stream = 'paystack-webhooks'") ==
        threads * per_thread);
  CHECK(f.integer("SELECT count(DISTINCT version) FROM events") == threads * per_thread);
  f.expect_verified();
}

TEST_CASE("any_version appends at the stream's current version; a stated version still conflicts",
          "[event_store]") {
  Fixture f;
  auto event = [](const std::string& key) {
    return to_new_event(WebhookEvent(WebhookReceived{"charge.success", key, "", "{}", ""}), "{}");
  };
  constexpr int threads = 4, per_thread = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        AppendOutcome out = f.store->append(AppendCommand{
            {StreamAppend{
                "shared", StreamAppend::any_version, {event(std::to_string(t * 1000 + i))}}},
            {}});
        if (!out.status.is_ok()) ++failures;
      }
    });
  }
  for (std::thread& w : workers) w.join();
  CHECK(failures == 0);
  auto reader = EventReader::open(f.path);
  REQUIRE(reader.is_ok());
  auto events = reader->read_stream("shared");
  REQUIRE(events.is_ok());
  REQUIRE(events->size() == threads * per_thread);
  for (size_t i = 0; i < events->size(); ++i) {
    CHECK((*events)[i].version == static_cast<int64_t>(i + 1));
    CHECK(event_hash((*events)[i]) == (*events)[i].hash);
  }

  AppendOutcome stale =
      f.store->append(AppendCommand{{StreamAppend{"shared", 3, {event("late")}}}, {}});
  CHECK(stale.status.code() == StatusCode::conflict);
  CHECK(stale.actual_version == threads * per_thread);
  AppendOutcome bad =
      f.store->append(AppendCommand{{StreamAppend{"shared", -1, {event("bad")}}}, {}});
  CHECK(bad.status.code() == StatusCode::invalid_argument);
}

TEST_CASE("outcomes number the attempts and set status and last_error", "[webhooks]") {
  Fixture f;
  int64_t id = f.record("charge:1");
  f.clock.advance_ms(1000);
  f.outcome(id, WebhookOutcome::failed, "paystack verify timed out");
  projections::DeliveryRow row = f.row(id);
  CHECK(row.status == "failed");
  CHECK(row.attempts == 1);
  CHECK(row.last_error == "paystack verify timed out");
  CHECK(row.updated_at_ms == start_ms + 1000);
  CHECK(row.received_at_ms == start_ms);

  f.clock.advance_ms(1000);
  f.outcome(id, WebhookOutcome::processed);
  row = f.row(id);
  CHECK(row.status == "processed");
  CHECK(row.attempts == 2);
  CHECK(row.last_error.empty());

  int64_t unknown = f.record("charge:2", "charge.success", "bk-nobody-knows");
  f.outcome(unknown, WebhookOutcome::ignored, "unknown reference");
  row = f.row(unknown);
  CHECK(row.status == "ignored");
  CHECK(row.last_error == "unknown reference");

  CHECK(f.log->record_outcome(9999, WebhookOutcome::processed, "", paystack_meta).code() ==
        StatusCode::not_found);
  CHECK(f.integer("SELECT count(*) FROM events") == 5);
  sqlite::Db db = f.connect();
  auto missing = WebhookLog::find(db, 9999);
  REQUIRE(missing.is_ok());
  CHECK_FALSE(missing->has_value());
  f.expect_verified();
}

TEST_CASE("outcomes recorded at once for one delivery get consecutive attempts", "[webhooks]") {
  Fixture f;
  int64_t id = f.record("charge:1");
  constexpr int threads = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      Status s = f.log->record_outcome(id, WebhookOutcome::failed, "boom", paystack_meta);
      if (!s.is_ok() && s.code() != StatusCode::conflict) ++failures;
    });
  }
  for (std::thread& w : workers) w.join();
  CHECK(failures == 0);
  int64_t recorded = f.integer("SELECT count(*) FROM events WHERE type = 'WebhookProcessed'");
  CHECK(recorded >= 1);
  CHECK(f.row(id).attempts == recorded);
  f.expect_verified();  // verify checks the attempts are numbered 1, 2, 3, ...
}

TEST_CASE("list filters, pages newest first and counts by status", "[webhooks]") {
  Fixture f;
  int64_t a = f.record("charge:1", "charge.success", "bk-a");
  f.clock.advance_ms(10'000);
  int64_t b = f.record("transfer:2", "transfer.success", "po-b");
  f.clock.advance_ms(10'000);
  int64_t c = f.record("charge:3", "charge.success", "bk-c");
  f.clock.advance_ms(10'000);
  int64_t d = f.record("refund:4", "refund.processed", "rf-d");
  f.outcome(a, WebhookOutcome::processed);
  f.outcome(b, WebhookOutcome::failed, "boom");
  f.outcome(c, WebhookOutcome::ignored, "unknown reference");
  sqlite::Db db = f.connect();

  auto all = WebhookLog::list(db, DeliveryFilter{});
  REQUIRE(all.is_ok());
  REQUIRE(all->rows.size() == 4);
  CHECK(all->rows[0].id == d);
  CHECK(all->rows[3].id == a);
  CHECK(all->total == 4);
  CHECK(all->counts_by_status ==
        std::map<std::string, int64_t>{
            {"received", 1}, {"processed", 1}, {"ignored", 1}, {"failed", 1}});

  DeliveryFilter charges;
  charges.event = "charge.success";
  auto by_event = WebhookLog::list(db, charges);
  REQUIRE(by_event.is_ok());
  REQUIRE(by_event->rows.size() == 2);
  CHECK(by_event->rows[0].id == c);
  CHECK(by_event->counts_by_status.at("processed") == 1);
  CHECK(by_event->counts_by_status.at("failed") == 0);

  DeliveryFilter failed;
  failed.status = "failed";
  auto by_status = WebhookLog::list(db, failed);
  REQUIRE(by_status.is_ok());
  REQUIRE(by_status->rows.size() == 1);
  CHECK(by_status->rows[0].id == b);
  CHECK(by_status->rows[0].last_error == "boom");
  CHECK(by_status->total == 1);
  CHECK(by_status->counts_by_status.at("received") == 1);  // the tabs ignore the status filter

  DeliveryFilter reference;
  reference.reference = "rf-d";
  auto by_reference = WebhookLog::list(db, reference);
  REQUIRE(by_reference.is_ok());
  REQUIRE(by_reference->rows.size() == 1);
  CHECK(by_reference->rows[0].id == d);

  DeliveryFilter window;
  window.from_ms = start_ms + 10'000;
  window.to_ms = start_ms + 30'000;  // excludes d, received at exactly +30 s
  auto by_time = WebhookLog::list(db, window);
  REQUIRE(by_time.is_ok());
  REQUIRE(by_time->rows.size() == 2);
  CHECK(by_time->rows[0].id == c);
  CHECK(by_time->rows[1].id == b);

  DeliveryFilter page;
  page.limit = 2;
  page.offset = 2;
  auto second = WebhookLog::list(db, page);
  REQUIRE(second.is_ok());
  REQUIRE(second->rows.size() == 2);
  CHECK(second->rows[0].id == b);
  CHECK(second->total == 4);

  page.limit = 0;
  CHECK(WebhookLog::list(db, page).status().code() == StatusCode::invalid_argument);
  page.limit = WebhookLog::list_limit_max + 1;
  CHECK(WebhookLog::list(db, page).status().code() == StatusCode::invalid_argument);
  page.limit = 10;
  page.offset = -1;
  CHECK(WebhookLog::list(db, page).status().code() == StatusCode::invalid_argument);
}

TEST_CASE("due_for_retry follows the backoff and picks up deliveries stuck in received",
          "[webhooks]") {
  Fixture f;
  int64_t failing = f.record("charge:1");
  f.outcome(failing, WebhookOutcome::failed, "boom");  // attempt 1 at start_ms
  int64_t done = f.record("charge:2");
  f.outcome(done, WebhookOutcome::processed);
  int64_t stuck = f.record("charge:3");  // received at start_ms, never processed
  sqlite::Db db = f.connect();
  auto due = [&](int64_t now_ms, int attempts_max = 8) {
    auto ids = WebhookLog::due_for_retry(db, now_ms, 100, attempts_max);
    REQUIRE(ids.is_ok());
    return ids.value();
  };
  using Ids = std::vector<int64_t>;

  CHECK(due(start_ms + 29'999) == Ids{});
  CHECK(due(start_ms + 30'000) == Ids{failing});  // 30 s after the first failure
  CHECK(due(start_ms + 60'000) == Ids{failing});  // received: only after more than 60 s
  CHECK(due(start_ms + 60'001) == (Ids{failing, stuck}));
  CHECK(due(start_ms + 60'001, 1) == Ids{stuck});  // attempts_max reached
  CHECK(WebhookLog::due_for_retry(db, start_ms + 60'001, 1).value() == Ids{failing});

  // Each failure doubles the wait from the last attempt: 60 s after the 2nd, 120 s after the 3rd.
  f.clock.set_ms(start_ms + 100'000);
  f.outcome(failing, WebhookOutcome::failed, "boom");
  f.outcome(stuck, WebhookOutcome::processed);
  CHECK(due(start_ms + 159'999) == Ids{});
  CHECK(due(start_ms + 160'000) == Ids{failing});
  f.outcome(failing, WebhookOutcome::failed, "boom");  // attempt 3 at +100 s
  CHECK(due(start_ms + 219'999) == Ids{});
  CHECK(due(start_ms + 220'000) == Ids{failing});

  // Capped at an hour: attempt 9 waits 1 h, not 30 s * 2^8.
  for (int i = 0; i < 6; ++i) f.outcome(failing, WebhookOutcome::failed, "boom");
  CHECK(f.row(failing).attempts == 9);
  CHECK(due(start_ms + 100'000 + 3'600'000, 10) == Ids{failing});
  CHECK(due(start_ms + 100'000 + 3'599'999, 10) == Ids{});
  CHECK(due(start_ms + 100'000 + 3'600'000, 9) == Ids{});
}

TEST_CASE("the webhook projection equals a fresh rebuild next to bookings, and drift is repaired",
          "[webhooks][projections]") {
  Fixture f;
  CommandShell& shell = *f.shell;
  CreateBooking create{"b1",
                       "client-1",
                       "provider-1",
                       "ada@example.com",
                       "Deep clean",
                       Money{1'000'000, Currency::NGN},
                       PaymentPlan::full,
                       0,
                       500,
                       3 * 24 * 3600,
                       std::nullopt};
  REQUIRE(shell.execute("b1", create, CommandContext{Actor{"svc", Role::service}, {}, {}, {}, {}})
              .ok());
  int64_t a = f.record("charge:1");
  f.outcome(a, WebhookOutcome::failed, "boom");
  f.outcome(a, WebhookOutcome::processed);
  f.record("charge:2");
  REQUIRE(shell
              .execute("b1", CancelBooking{"changed plans"},
                       CommandContext{Actor{"client-1", Role::client}, {}, {}, {}, {}})
              .ok());
  f.expect_verified();

  sqlite::Db db = f.connect(sqlite::Db::Mode::read_write);
  auto rebuilt = projections::rebuild(db, {});
  REQUIRE(rebuilt.is_ok());
  CHECK(rebuilt->differed.empty());
  CHECK(std::find(rebuilt->tables.begin(), rebuilt->tables.end(), "webhook_deliveries") !=
        rebuilt->tables.end());
  CHECK(f.row(a).attempts == 2);

  REQUIRE(
      db.exec("UPDATE webhook_deliveries SET status = 'received' WHERE id = " + std::to_string(a))
          .is_ok());
  auto report = projections::verify(db);
  REQUIRE(report.is_ok());
  REQUIRE_FALSE(report->ok());
  CHECK(report->problems.front().find("webhook_deliveries") != std::string::npos);
  auto repaired = projections::rebuild(db, projections::RebuildOptions{"webhooks", {}});
  REQUIRE(repaired.is_ok());
  CHECK(repaired->differed == std::vector<std::string>{"webhook_deliveries"});
  CHECK(f.row(a).status == "processed");
  f.expect_verified();

  // The log keeps working after the swap (the live statements are prepared again).
  f.record("charge:3");
  f.expect_verified();
}

TEST_CASE("verify reports a second delivery under one key smuggled into the log", "[webhooks]") {
  Fixture f;
  f.record("charge:1");
  // Bypasses the log's check: appended straight to the store, as no code path does.
  auto twice = to_new_event(
      WebhookEvent(WebhookReceived{"charge.success", "charge:1", "bk-1", "{}", ""}), "{}");
  AppendOutcome out = f.store->append(AppendCommand{
      {StreamAppend{webhook_stream, StreamAppend::any_version, {std::move(twice)}}}, {}});
  REQUIRE(out.status.is_ok());
  sqlite::Db db = f.connect();
  auto report = projections::verify(db);
  REQUIRE(report.is_ok());
  REQUIRE_FALSE(report->ok());
  CHECK(report->first_bad_seq == out.events.front().seq);
  CHECK(report->problems.front().find("charge:1") != std::string::npos);
}
