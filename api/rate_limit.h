// RateLimiter: a token bucket per key (the bearer token's subject, or the peer address for
// requests without a token), DESIGN section 5 "per-token rate limit".
//
// Each key may make `per_minute` requests a minute on average, with bursts of
// burst = max(per_minute / 6, 10) requests. Buckets refill continuously; the arithmetic is in
// integers (a token is 60,000 units, refilled at per_minute units a millisecond). Memory is
// bounded: at most keys_max buckets, the least recently used evicted first (an evicted key starts
// again with a full bucket, which only ever errs towards letting a request through).
// per_minute <= 0 turns limiting off.
//
// Thread-safety: allow()/take() may be called from any thread; keys are spread over shards,
// each with its own mutex, so concurrent requests rarely wait for each other.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/http.h"

namespace escrow::api {

inline constexpr int64_t rate_limit_burst_min = 10;

class RateLimiter {
 public:
  explicit RateLimiter(int64_t per_minute, size_t keys_max = 100000);

  struct Decision {
    bool allowed = true;
    int64_t retry_after_s = 0;  // when refused: whole seconds until a request would pass (>= 1)
  };
  // Takes one token from `key`'s bucket if it has one.
  Decision take(std::string_view key, int64_t now_ms);
  bool allow(std::string_view key, int64_t now_ms) { return take(key, now_ms).allowed; }

  int64_t burst() const { return burst_; }
  size_t size() const;  // buckets held now

 private:
  static constexpr size_t shard_count = 16;
  static constexpr int64_t units_per_token = 60'000;  // one token = a minute's worth of ms

  struct Bucket {
    int64_t units = 0;  // tokens * units_per_token
    int64_t updated_ms = 0;
    std::list<std::string>::iterator lru;  // position in Shard::recent
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
    std::list<std::string> recent;  // most recently used first
  };
  Shard& shard_for(std::string_view key);

  int64_t per_minute_;
  int64_t burst_;
  size_t shard_keys_max_;
  std::array<Shard, shard_count> shards_;
};

// 429 `rate_limited` with Retry-After.
HttpResponse rate_limited_response(int64_t retry_after_s);

}  // namespace escrow::api
