// Status and Result<T>: the channel for operating errors (I/O, SQLite, corrupt data).
//
// Business refusals are not Statuses: they are Rejection values (see decider.h). Broken
// invariants are not Statuses either: they abort through LEDGER_ASSERT. Thread-safety: plain
// values, safe to copy between threads.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace escrow {

enum class StatusCode {
  ok,
  invalid_argument,  // the caller passed something malformed
  not_found,
  conflict,      // optimistic concurrency: the stream moved on since the decision
  busy,          // a bounded queue is full; try again later
  io_error,      // SQLite or file-system failure
  corrupt,       // stored data does not parse or does not verify
  store_failed,  // a commit failed; the store refuses writes until restarted
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::ok; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool is_ok() const { return status_.is_ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line, const char* why);

}  // namespace escrow

// Always on, also in release builds: a broken invariant in a ledger must stop the process.
#define LEDGER_ASSERT(expr, why)                                             \
  do {                                                                       \
    if (!(expr)) ::escrow::assertion_failed(#expr, __FILE__, __LINE__, why); \
  } while (0)
