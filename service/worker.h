// The background loop every worker of the service runs (outbox, schedulers, webhook processing,
// notifications): threads that run a pass, then sleep until the pass's chosen wait has passed, a
// wake() or stop().
//
//   Worker worker({"outbox", 1}, [this] { return pass_then_wait_ms(); });
//   worker.start();  ...  worker.wake();  ...  worker.stop();
//
// A pass returns how long to wait before the next one, in milliseconds (0: run again at once).
// A wake() during a pass makes the next wait end at once, so no wake is ever lost. stop() waits
// for the passes in progress to return; a long pass should check stopping() between items.
// Thread-safety: every member may be called from any thread; a Worker is neither copied nor
// moved (its threads hold `this`).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace escrow::service {

class Worker {
 public:
  static constexpr int threads_max = 64;

  struct Options {
    const char* name = "worker";  // for logs
    int threads = 1;              // 1..threads_max
  };
  using Pass = std::function<int64_t()>;  // returns the wait before the next pass, in ms

  Worker(Options options, Pass pass);
  ~Worker();  // stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();  // idempotent
  void stop();   // idempotent; waits for the passes in progress
  void wake();   // run a pass now (or right after the one in progress)
  bool stopping() const;

 private:
  void loop();

  Options options_;
  Pass pass_;
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t wakes_ = 0;  // wake() calls so far: every thread sees each one
  std::vector<std::thread> threads_;
};

}  // namespace escrow::service
