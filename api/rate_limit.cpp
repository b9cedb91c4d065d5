// Token buckets per key, sharded and bounded; see rate_limit.h.
#include "api/rate_limit.h"

#include <algorithm>
#include <functional>

namespace escrow::api {

RateLimiter::RateLimiter(int64_t per_minute, size_t keys_max)
    : per_minute_(per_minute),
      burst_(std::max(per_minute / 6, rate_limit_burst_min)),
      shard_keys_max_(std::max<size_t>(keys_max / shard_count, 1)) {}

RateLimiter::Shard& RateLimiter::shard_for(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % shard_count];
}

RateLimiter::Decision RateLimiter::take(std::string_view key, int64_t now_ms) {
  if (per_minute_ <= 0) return {};
  const int64_t capacity = burst_ * units_per_token;
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);

  auto found = shard.buckets.find(std::string(key));
  if (found == shard.buckets.end()) {
    if (shard.buckets.size() >= shard_keys_max_) {
      shard.buckets.erase(shard.recent.back());
      shard.recent.pop_back();
    }
    shard.recent.emplace_front(key);
    found = shard.buckets.emplace(shard.recent.front(), Bucket{capacity, now_ms, {}}).first;
    found->second.lru = shard.recent.begin();
  } else {
    shard.recent.splice(shard.recent.begin(), shard.recent, found->second.lru);
  }

  Bucket& bucket = found->second;
  // Clamp the elapsed time first so that a long idle key cannot overflow the product.
  int64_t elapsed_ms =
      std::clamp<int64_t>(now_ms - bucket.updated_ms, 0, capacity / per_minute_ + 1);
  bucket.units = std::min(capacity, bucket.units + elapsed_ms * per_minute_);
  bucket.updated_ms = std::max(bucket.updated_ms, now_ms);
  if (bucket.units >= units_per_token) {
    bucket.units -= units_per_token;
    return {};
  }
  int64_t wait_ms = (units_per_token - bucket.units + per_minute_ - 1) / per_minute_;
  return Decision{false, std::max<int64_t>((wait_ms + 999) / 1000, 1)};
}

size_t RateLimiter::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.buckets.size();
  }
  return total;
}

HttpResponse rate_limited_response(int64_t retry_after_s) {
  HttpResponse response =
      error_response(429, "rate_limited", "Too many requests; retry after the Retry-After delay.");
  response.headers.set("Retry-After", std::to_string(std::max<int64_t>(retry_after_s, 1)));
  return response;
}

}  // namespace escrow::api
