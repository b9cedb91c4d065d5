// Clock: the one seam through which the shell learns the time. The decider never reads a clock;
// it receives `now` as an argument. Thread-safety: implementations must be safe to call from any
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace escrow {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;  // unix milliseconds
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

// A clock tests move by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_ms_(start_ms) {}
  int64_t now_ms() const override { return now_ms_.load(); }
  void set_ms(int64_t ms) { now_ms_.store(ms); }
  void advance_ms(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace escrow
