// Tests of api/metrics.h and of the Paystack client's call observer that feeds it.
//
// How: the rendered text is parsed line by line the way a Prometheus scraper reads format
// 0.0.4: every family has # HELP and # TYPE, every sample line is `name{labels} value`, label
// values are escaped (quote, backslash, line feed) so a hostile route string cannot break a
// line, histogram buckets are cumulative and end with +Inf equal to _count, and each request
// lands in the right bucket (bounds are inclusive). Counting from eight threads loses nothing.
// read_gauges() is run on a migrated database with queued and settled payouts and refunds and
// escrow balances in two currencies. The observer is driven by a scripted HTTP transport: one
// report per call, whatever the retries, with the error kind as the outcome.
#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/metrics.h"
#include "ledger/store/migrations.h"
#include "paystack/client.h"
#include "test/temp_dir.h"

using namespace escrow;
using namespace escrow::api;

namespace {

struct Scrape {
  std::map<std::string, std::string> types;  // family -> counter | gauge | histogram
  std::map<std::string, std::string> helps;
  std::vector<std::pair<std::string, std::string>> samples;  // "name{labels}" -> value

  std::optional<std::string> value(const std::string& series) const {
    for (const auto& [name, value] : samples)
      if (name == series) return value;
    return std::nullopt;
  }
};

// Parses the exposition text, failing the test on any line a scraper would reject.
Scrape parse(const std::string& text) {
  static const std::regex sample_line(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9]+(\.[0-9]+)?|\+Inf)$)");
  static const std::regex type_line(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
  static const std::regex help_line(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  Scrape scrape;
  REQUIRE(!text.empty());
  REQUIRE(text.back() == '\n');
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    INFO("line: " << line);
    std::smatch m;
    if (std::regex_match(line, m, type_line)) {
      scrape.types[m[1]] = m[2];
    } else if (std::regex_match(line, m, help_line)) {
      scrape.helps[m[1]] = line;
    } else {
      REQUIRE(std::regex_match(line, m, sample_line));
      std::string name = m[1];
      std::string family = name;
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        if (name.ends_with(suffix) && !scrape.types.count(name))
          family = name.substr(0, name.size() - std::string(suffix).size());
      CHECK(scrape.types.count(family) == 1);  // TYPE comes before the samples
      std::string series = line.substr(0, line.rfind(' '));
      scrape.samples.emplace_back(series, line.substr(line.rfind(' ') + 1));
    }
  }
  for (const auto& [family, type] : scrape.types) CHECK(scrape.helps.count(family) == 1);
  return scrape;
}

Gauges some_gauges() {
  Gauges g;
  g.events_appended = 42;
  g.last_seq = 99;
  g.outbox_depth = 3;
  g.escrow_held_by_currency = {{"GHS", 1500}, {"NGN", 250000}};
  return g;
}

}  // namespace

TEST_CASE("format_seconds writes exact decimal seconds") {
  CHECK(format_seconds(0) == "0");
  CHECK(format_seconds(1'000) == "0.001");
  CHECK(format_seconds(2'500) == "0.0025");
  CHECK(format_seconds(2'500'000) == "2.5");
  CHECK(format_seconds(10'000'000) == "10");
  CHECK(format_seconds(1'234'567) == "1.234567");
  CHECK(format_seconds(-1'500'000) == "-1.5");
}

TEST_CASE("label values are escaped") {
  CHECK(escape_label_value(R"(a"b\c)") == R"(a\"b\\c)");
  CHECK(escape_label_value("line\nbreak") == R"(line\nbreak)");
  CHECK(escape_label_value("/bookings/:id") == "/bookings/:id");
}

TEST_CASE("a scrape with nothing recorded is valid and carries the gauges") {
  Metrics metrics;
  Scrape s = parse(metrics.render(some_gauges()));
  CHECK(s.types["escrow_http_requests_total"] == "counter");
  CHECK(s.types["escrow_http_request_duration_seconds"] == "histogram");
  CHECK(s.types["escrow_webhooks_total"] == "counter");
  CHECK(s.types["escrow_paystack_calls_total"] == "counter");
  CHECK(s.types["escrow_notifications_total"] == "counter");
  CHECK(s.types["escrow_outbox_depth"] == "gauge");
  CHECK(s.value("escrow_events_appended_total") == "42");
  CHECK(s.value("escrow_event_log_last_seq") == "99");
  CHECK(s.value("escrow_outbox_depth") == "3");
  CHECK(s.value(R"(escrow_escrow_held_minor{currency="NGN"})") == "250000");
  CHECK(s.value(R"(escrow_escrow_held_minor{currency="GHS"})") == "1500");
  CHECK(s.value("escrow_store_failed") == "0");
}

TEST_CASE("requests are counted by method, route and status, durations bucketed cumulatively") {
  Metrics metrics;
  metrics.observe_request("GET", "/bookings/:id", 200, 1'000);       // exactly 1 ms: le 0.001
  metrics.observe_request("GET", "/bookings/:id", 200, 1'001);       // le 0.0025
  metrics.observe_request("GET", "/bookings/:id", 404, 400'000);     // le 0.5
  metrics.observe_request("GET", "/bookings/:id", 200, 20'000'000);  // above every bound
  metrics.observe_request("POST", "/bookings", 201, 7'000);
  Scrape s = parse(metrics.render({}));

  CHECK(s.value(R"(escrow_http_requests_total{method="GET",route="/bookings/:id",status="200"})") ==
        "3");
  CHECK(s.value(R"(escrow_http_requests_total{method="GET",route="/bookings/:id",status="404"})") ==
        "1");
  CHECK(s.value(R"(escrow_http_requests_total{method="POST",route="/bookings",status="201"})") ==
        "1");

  const std::string prefix =
      R"(escrow_http_request_duration_seconds_bucket{method="GET",route="/bookings/:id",le=")";
  std::vector<std::pair<std::string, std::string>> expected = {
      {"0.001", "1"}, {"0.0025", "2"}, {"0.005", "2"}, {"0.25", "2"},
      {"0.5", "3"},   {"10", "3"},     {"+Inf", "4"}};
  for (const auto& [le, count] : expected) {
    INFO("le " << le);
    CHECK(s.value(prefix + le + "\"}") == count);
  }
  // Every bucket series is non-decreasing and ends at _count.
  uint64_t previous = 0;
  int buckets = 0;
  for (const auto& [series, value] : s.samples) {
    if (series.rfind(prefix, 0) != 0) continue;
    uint64_t v = std::stoull(value);
    CHECK(v >= previous);
    previous = v;
    ++buckets;
  }
  CHECK(buckets == static_cast<int>(http_duration_buckets_us.size()) + 1);
  CHECK(s.value(
            R"(escrow_http_request_duration_seconds_count{method="GET",route="/bookings/:id"})") ==
        "4");
  CHECK(
      s.value(R"(escrow_http_request_duration_seconds_sum{method="GET",route="/bookings/:id"})") ==
      "20.402001");
}

TEST_CASE("hostile label values cannot break the format, odd methods fold into OTHER") {
  Metrics metrics;
  metrics.observe_request("BREW", "/x\"}\nfake_metric 1\\", 418, 10);
  metrics.count_webhook("ignored\"quote");
  Scrape s = parse(metrics.render({}));  // parse() fails on any malformed line
  CHECK(
      s.value(
          R"(escrow_http_requests_total{method="OTHER",route="/x\"}\nfake_metric 1\\",status="418"})") ==
      "1");
  CHECK(s.value(R"(escrow_webhooks_total{outcome="ignored\"quote"})") == "1");
  CHECK_FALSE(s.value("fake_metric").has_value());
}

TEST_CASE("webhook, Paystack and notification counters") {
  Metrics metrics;
  metrics.count_webhook("processed");
  metrics.count_webhook("processed");
  metrics.count_webhook("duplicate");
  metrics.count_paystack_call("transfer.initiate", "ok");
  metrics.count_paystack_call("transfer.initiate", "unavailable");
  metrics.count_notification("delivered");
  Scrape s = parse(metrics.render({}));
  CHECK(s.value(R"(escrow_webhooks_total{outcome="processed"})") == "2");
  CHECK(s.value(R"(escrow_webhooks_total{outcome="duplicate"})") == "1");
  CHECK(s.value(R"(escrow_paystack_calls_total{endpoint="transfer.initiate",outcome="ok"})") ==
        "1");
  CHECK(s.value(
            R"(escrow_paystack_calls_total{endpoint="transfer.initiate",outcome="unavailable"})") ==
        "1");
  CHECK(s.value(R"(escrow_notifications_total{outcome="delivered"})") == "1");
}

TEST_CASE("counting from many threads loses nothing") {
  Metrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < 5000; ++i) {
        metrics.observe_request("GET", "/r" + std::to_string(i % 4), 200, 100);
        metrics.count_webhook(t % 2 ? "processed" : "failed");
      }
    });
  for (auto& t : threads) t.join();
  Scrape s = parse(metrics.render({}));
  for (int r = 0; r < 4; ++r)
    CHECK(s.value("escrow_http_requests_total{method=\"GET\",route=\"/r" + std::to_string(r) +
                  "\",status=\"200\"}") == "10000");
  CHECK(s.value(R"(escrow_webhooks_total{outcome="processed"})") == "20000");
}

TEST_CASE("read_gauges reads the outbox depth and the escrow held per currency") {
  TempDir dir;
  std::string path = dir.path + "/escrow.db";
  REQUIRE(migrate_file(path).is_ok());
  auto db = sqlite::Db::open(path, sqlite::Db::Mode::read_write);
  REQUIRE(db.is_ok());
  REQUIRE(db->exec(R"sql(
    INSERT INTO payouts VALUES
      ('po-a', 'p1', 1000, 'NGN', 'queued',  'release', 'b1', NULL, NULL, 1, 'RCP_1', '', '', 1, 1, ''),
      ('po-b', 'p1', 2000, 'NGN', 'success', 'release', 'b2', NULL, NULL, 1, 'RCP_1', 'TRF_1', '', 1, 1, ''),
      ('po-c', 'p2', 3000, 'GHS', 'queued',  'withdrawal', NULL, 'wd-1', NULL, 1, 'RCP_2', '', '', 1, 1, '');
    INSERT INTO refunds VALUES
      ('rf-1', 'b3', 'c1', 'ref-1', 11, 500, 'NGN', 'queued',    'cancelled', 1, NULL, '', 1, 1, ''),
      ('rf-2', 'b4', 'c1', 'ref-2', 12, 700, 'NGN', 'processed', 'cancelled', 1, 99,   '', 1, 1, '');
    INSERT INTO account_balances VALUES
      ('escrow:b5', 'NGN', 10000), ('escrow:b6', 'NGN', 2500), ('escrow:b7', 'GHS', 900),
      ('escrow:b8', 'NGN', 0), ('escrowed:x', 'NGN', 1), ('provider:p1:available', 'NGN', 777),
      ('paystack:clearing', 'NGN', -14177);
  )sql")
              .is_ok());

  EventStoreOptions options;
  options.path = path;
  auto store = EventStore::open(options);
  REQUIRE(store.is_ok());
  ReadPool reads(path);
  projections::Queries queries(reads);
  Result<Gauges> gauges = read_gauges(queries, *store.value());
  REQUIRE(gauges.is_ok());
  CHECK(gauges->outbox_depth == 3);  // po-a, po-c, rf-1
  REQUIRE(gauges->escrow_held_by_currency.size() == 2);
  CHECK(gauges->escrow_held_by_currency[0] == std::pair<std::string, int64_t>("GHS", 900));
  CHECK(gauges->escrow_held_by_currency[1] == std::pair<std::string, int64_t>("NGN", 12500));
  CHECK(gauges->events_appended == 0);
  CHECK_FALSE(gauges->store_failed);
  // The snapshot transaction is closed: the pool took the connection back (it drops one left in
  // a transaction).
  CHECK(reads.idle_count() == 1);
}

// ---- the Paystack call observer ----------------------------------------------------------------

namespace {

struct ScriptedTransport : net::HttpTransport {
  std::vector<Result<net::HttpResponse>> script;
  size_t next = 0;
  Result<net::HttpResponse> send(const net::HttpRequest&) override {
    REQUIRE(next < script.size());
    return script[next++];
  }
};

net::HttpResponse reply(int status, std::string body) {
  net::HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace

TEST_CASE("the Paystack client reports each call once, with its endpoint and outcome") {
  auto transport = std::make_shared<ScriptedTransport>();
  transport->script = {
      reply(
          200,
          R"({"status":true,"message":"Balances retrieved","data":[{"currency":"NGN","balance":5000}]})"),
      reply(404, R"({"status":false,"message":"Transaction reference not found"})"),
      Status(StatusCode::io_error, "connection reset"),
      reply(502, R"({"status":false,"message":"Bad gateway"})"),
      reply(503, R"({"status":false,"message":"Unavailable"})"),
      reply(500, R"({"status":false,"message":"Oops"})"),
  };
  paystack::Client client(transport, paystack::RetryPolicy{}, [](std::chrono::milliseconds) {});
  std::vector<std::pair<std::string, std::string>> seen;
  client.set_observer([&](std::string_view endpoint, std::string_view outcome) {
    seen.emplace_back(endpoint, outcome);
  });

  CHECK(client.balance().is_ok());
  CHECK_FALSE(client.verify_transaction("ref-missing").is_ok());
  CHECK_FALSE(client.verify_transfer("trf-0000000000000001").is_ok());  // 4 attempts, 1 report
  CHECK_FALSE(client.verify_transaction("").is_ok());  // refused locally: nothing sent
  CHECK(transport->next == transport->script.size());

  std::vector<std::pair<std::string, std::string>> expected = {
      {"balance.fetch", "ok"},
      {"transaction.verify", "not_found"},
      {"transfer.verify", "unavailable"},
  };
  CHECK(seen == expected);
}
