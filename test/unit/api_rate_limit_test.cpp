// Tests of api/rate_limit.h: per-key token buckets with a bounded number of keys.
//
// How: time is an argument, so each case moves a plain integer clock. Covered: the burst
// (per_minute / 6, at least 10) passes and the next request is refused with a Retry-After of
// whole seconds; tokens come back at per_minute a minute, never above the burst; keys are
// independent; a clock going backwards grants nothing; limiting off (per_minute 0); the number of
// buckets stays under keys_max while thousands of keys arrive, and an evicted key starts again
// with a full bucket; eight threads on one key get exactly the burst; the 429 response.
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/rate_limit.h"

using namespace escrow::api;

namespace {

constexpr int64_t t0 = 1'780'000'000'000;

int allowed_in_a_row(RateLimiter& limiter, std::string_view key, int64_t now_ms, int tries) {
  int allowed = 0;
  for (int i = 0; i < tries; ++i) allowed += limiter.allow(key, now_ms) ? 1 : 0;
  return allowed;
}

}  // namespace

TEST_CASE("the burst passes, the next request is refused with Retry-After") {
  RateLimiter limiter(600);  // 10 a second, burst 100
  CHECK(limiter.burst() == 100);
  CHECK(allowed_in_a_row(limiter, "tok", t0, 100) == 100);
  RateLimiter::Decision refused = limiter.take("tok", t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_s == 1);  // one token takes 100 ms; rounded up to a whole second
}

TEST_CASE("tokens come back at per_minute a minute and never exceed the burst") {
  RateLimiter limiter(600);
  REQUIRE(allowed_in_a_row(limiter, "tok", t0, 100) == 100);
  CHECK_FALSE(limiter.allow("tok", t0 + 99));
  CHECK(limiter.allow("tok", t0 + 100));  // 100 ms = one token at 600 a minute
  CHECK_FALSE(limiter.allow("tok", t0 + 100));
  CHECK(allowed_in_a_row(limiter, "tok", t0 + 1100, 20) == 10);  // one more second: 10 tokens

  // A long pause refills to the burst, not beyond it.
  CHECK(allowed_in_a_row(limiter, "tok", t0 + 3'600'000, 500) == 100);
}

TEST_CASE("the burst is at least 10 and a slow limit says how long to wait") {
  RateLimiter limiter(6);  // one request every 10 s
  CHECK(limiter.burst() == 10);
  CHECK(allowed_in_a_row(limiter, "k", t0, 50) == 10);
  RateLimiter::Decision refused = limiter.take("k", t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_s == 10);
  CHECK(limiter.take("k", t0 + 4'000).retry_after_s == 6);
  CHECK(limiter.allow("k", t0 + 10'000));
}

TEST_CASE("keys are limited independently") {
  RateLimiter limiter(60);
  REQUIRE(allowed_in_a_row(limiter, "a", t0, 10) == 10);
  CHECK_FALSE(limiter.allow("a", t0));
  CHECK(allowed_in_a_row(limiter, "b", t0, 10) == 10);
}

TEST_CASE("a clock that goes backwards grants no tokens") {
  RateLimiter limiter(60);
  REQUIRE(allowed_in_a_row(limiter, "a", t0, 10) == 10);
  CHECK_FALSE(limiter.allow("a", t0 - 60'000));
  CHECK_FALSE(limiter.allow("a", t0 + 500));  // the refill counts from t0, not from the past
  CHECK(limiter.allow("a", t0 + 1'000));
}

TEST_CASE("per_minute 0 turns limiting off") {
  RateLimiter limiter(0);
  CHECK(allowed_in_a_row(limiter, "a", t0, 10'000) == 10'000);
  CHECK(limiter.size() == 0);
}

TEST_CASE("memory stays bounded: the least recently used keys are evicted") {
  RateLimiter limiter(60, 64);
  REQUIRE(allowed_in_a_row(limiter, "greedy", t0, 10) == 10);
  CHECK_FALSE(limiter.allow("greedy", t0));
  for (int i = 0; i < 5000; ++i) limiter.allow("key-" + std::to_string(i), t0);
  CHECK(limiter.size() <= 64);
  // "greedy" was pushed out by newer keys; it comes back with a full bucket.
  CHECK(limiter.allow("greedy", t0));
}

TEST_CASE("a recently used key survives while older ones are evicted") {
  RateLimiter limiter(60, 16 * 4);  // four keys per shard
  REQUIRE(allowed_in_a_row(limiter, "busy", t0, 10) == 10);
  for (int i = 0; i < 5000; ++i) {
    limiter.allow("key-" + std::to_string(i), t0);
    CHECK_FALSE(limiter.allow("busy", t0));  // touched every time, so never the oldest
  }
}

TEST_CASE("concurrent requests on one key get exactly the burst") {
  RateLimiter limiter(600);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (limiter.allow("shared", t0)) ++allowed;
    });
  for (auto& t : threads) t.join();
  CHECK(allowed == 100);
}

TEST_CASE("rate_limited_response is 429 rate_limited with Retry-After") {
  HttpResponse response = rate_limited_response(7);
  CHECK(response.status == 429);
  CHECK(response.body.find(R"("code":"rate_limited")") != std::string::npos);
  CHECK(response.headers.get("Retry-After") == std::optional<std::string_view>("7"));
  CHECK(rate_limited_response(0).headers.get("Retry-After") ==
        std::optional<std::string_view>("1"));
}
