// Status and Result<T, E>: the channel for operating errors (I/O, SQLite, corrupt data).
//
// Result<T, E> holds a value or the error saying why there is none; E is Status unless said
// otherwise (the HTTP layer's HttpResult<T> is Result<T, HttpResponse>, the Paystack client's
// ApiResult<T> is Result<T, ApiError>). Reading the value of an error, or the error of a value,
// is a bug and aborts (LEDGER_ASSERT), in every build.
//
// Business refusals are not Statuses: they are Rejection values (see decider.h). Broken
// invariants are not Statuses either: they abort through LEDGER_ASSERT. Thread-safety: plain
// values, safe to copy between threads.
#pragma once

#include <concepts>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

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

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line, const char* why);

}  // namespace escrow

// Always on, also in release builds: a broken invariant in a ledger must stop the process.
#define LEDGER_ASSERT(expr, why)                                             \
  do {                                                                       \
    if (!(expr)) ::escrow::assertion_failed(#expr, __FILE__, __LINE__, why); \
  } while (0)

namespace escrow {

template <class T, class E = Status>
class [[nodiscard]] Result {
  static_assert(!std::same_as<T, E>, "a Result's value and error types differ");

 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {   // NOLINT: implicit by design
    if constexpr (std::same_as<E, Status>) {
      LEDGER_ASSERT(!std::get<1>(v_).is_ok(), "a Result of an ok Status holds no value");
    }
  }

  bool is_ok() const { return v_.index() == 0; }

  T& value() & { return std::get<0>(checked_value()); }
  const T& value() const& { return std::get<0>(checked_value()); }
  T&& value() && { return std::get<0>(std::move(checked_value())); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

  E& error() & { return std::get<1>(checked_error()); }
  const E& error() const& { return std::get<1>(checked_error()); }
  E&& error() && { return std::get<1>(std::move(checked_error())); }

  // For Result<T> (E = Status): the error, or an ok Status when there is a value.
  const Status& status() const requires std::same_as<E, Status> {
    static const Status ok_status;
    return is_ok() ? ok_status : std::get<1>(v_);
  }

 private:
  std::variant<T, E>& checked_value() {
    LEDGER_ASSERT(is_ok(), "value() of a Result that holds an error");
    return v_;
  }
  const std::variant<T, E>& checked_value() const {
    LEDGER_ASSERT(is_ok(), "value() of a Result that holds an error");
    return v_;
  }
  std::variant<T, E>& checked_error() {
    LEDGER_ASSERT(!is_ok(), "error() of a Result that holds a value");
    return v_;
  }
  const std::variant<T, E>& checked_error() const {
    LEDGER_ASSERT(!is_ok(), "error() of a Result that holds a value");
    return v_;
  }

  std::variant<T, E> v_;
};

}  // namespace escrow
