// Handlers that wait without holding a thread.
//
// A handler that runs a command returns a Task<HttpResponse>: a coroutine that runs on the
// thread that starts it until it awaits a completion (a commit, a stored webhook), then gives
// that thread back. The completion, called on the writer thread, posts the rest of the handler
// to the connection's thread (or a TaskPool), so thousands of requests can wait on one fsync
// with a handful of threads, and nothing a handler does after its command (rendering, reads)
// runs on the writer.
//
//   Task<HttpResponse> create(Services& s, const HttpRequest& r) {
//     CommandResult result = co_await completion<CommandResult>(post, [&](auto done) {
//       s.shell.submit(id, command, context, std::move(done));
//     });
//     co_return json_response(201, ...);
//   }
//
// Task is lazy (it starts when awaited, or by start()) and awaited by one coroutine only; an
// exception thrown inside it is rethrown where it is awaited.
// Thread-safety: a Task is used from one thread at a time; TaskPool::post from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace escrow::api {

template <class T>
class [[nodiscard]] Task {
 public:
  struct promise_type {
    std::optional<T> value;
    std::exception_ptr error;
    std::coroutine_handle<> continuation;  // the coroutine awaiting this one

    Task get_return_object() {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) noexcept {
        if (auto next = self.promise().continuation) return next;
        return std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_value(T v) { value.emplace(std::move(v)); }
    void unhandled_exception() { error = std::current_exception(); }
  };

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&&) = delete;
  Task(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    handle_.promise().continuation = awaiting;
    return handle_;
  }
  T await_resume() {
    promise_type& p = handle_.promise();
    if (p.error) std::rethrow_exception(p.error);
    return std::move(*p.value);
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  std::coroutine_handle<promise_type> handle_;
};

// A Task that already has its value (a handler that never waits).
template <class T>
Task<T> ready(T value) {
  co_return value;
}

namespace detail {
struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

template <class T, class Done>
Detached run_detached(Task<T> task, Done done) {
  done(co_await std::move(task));
}
}  // namespace detail

// Runs `task` on this thread until it first waits, and calls `done` with its value on the thread
// that finishes it. `task` must not throw (App::handle catches everything).
template <class T, class Done>
void start(Task<T> task, Done done) {
  detail::run_detached(std::move(task), std::move(done));
}

// A fixed set of threads running posted work in order of posting; the destructor runs what is
// posted, then joins.
class TaskPool {
 public:
  explicit TaskPool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~TaskPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  void post(std::function<void()> work) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(work));
    }
    wake_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> work;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        work = std::move(queue_.front());
        queue_.pop_front();
      }
      work();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Awaits a callback-style operation: `begin(done)` starts it, and `done(value)` (called exactly
// once, on any thread) finishes it. A `done` called before begin returns resumes the awaiting
// coroutine right there; a later one posts the resumption with `post`.
// Where a coroutine continues after a completion: a function that runs work on some thread.
using Post = std::function<void(std::function<void()>)>;

template <class T>
class Completion {
 public:
  using Done = std::function<void(T)>;
  Completion(Post post, std::function<void(Done)> begin)
      : post_(std::move(post)), begin_(std::move(begin)) {}

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> awaiting) {
    awaiting_ = awaiting;
    begin_([this](T value) {
      value_.emplace(std::move(value));
      if (state_.exchange(finished) == suspended) post_([h = awaiting_] { h.resume(); });
    });
    return state_.exchange(suspended) != finished;
  }
  T await_resume() { return std::move(*value_); }

 private:
  enum State { started, suspended, finished };
  Post post_;
  std::function<void(Done)> begin_;
  std::coroutine_handle<> awaiting_;
  std::optional<T> value_;
  std::atomic<State> state_{started};
};

template <class T>
Completion<T> completion(Post post, std::function<void(typename Completion<T>::Done)> begin) {
  return Completion<T>(std::move(post), std::move(begin));
}

}  // namespace escrow::api
