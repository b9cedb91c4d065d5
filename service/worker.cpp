// The background loop of the service's workers; see worker.h.
#include "service/worker.h"

#include <algorithm>
#include <chrono>

#include "ledger/status.h"

namespace escrow::service {

Worker::Worker(Options options, Pass pass) : options_(options), pass_(std::move(pass)) {
  LEDGER_ASSERT(options_.threads >= 1 && options_.threads <= threads_max,
                "a worker runs 1 to threads_max threads");
}

Worker::~Worker() {
  stop();
}

void Worker::start() {
  std::lock_guard lock(mutex_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { loop(); });
}

void Worker::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (std::thread& t : threads) t.join();
}

void Worker::wake() {
  {
    std::lock_guard lock(mutex_);
    ++wakes_;
  }
  cv_.notify_all();
}

bool Worker::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void Worker::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const uint64_t seen = wakes_;  // a wake() from now on ends the wait after this pass
    lock.unlock();
    int64_t wait_ms = pass_();
    lock.lock();
    if (wait_ms > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                   [&] { return stopping_ || wakes_ != seen; });
    }
  }
}

}  // namespace escrow::service
