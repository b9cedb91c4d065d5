// escrowd's structured log: one JSON object per line on stdout, for log shippers and jq.
//
//   {"ts":"2026-12-03T14:00:00.123Z","level":"info","msg":"request","method":"POST",
//    "route":"/bookings/:id/pay","status":201,"ms":3.2,"request_id":"..."}
//
// `ts`, `level` and `msg` come first, then the fields in the order given; every string is
// JSON-escaped (invalid UTF-8 is replaced, never copied through). Callers never pass secrets or
// account numbers: this module cannot tell them apart from other strings. Money never goes here
// as a double; `double` is for durations.
// Thread-safety: every function may be called from any thread; lines never interleave.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace escrow::logging {

using Value = std::variant<std::string_view, int64_t, double, bool>;

struct Field {
  std::string_view key;
  Value value;
};

// Installs the JSON-lines sink on stdout. Idempotent; the log functions call it if needed.
void init();
// Drops every line from now on: for escrow-sim, whose output is its own trace.
void silence();

void info(std::string_view msg, std::initializer_list<Field> fields = {});
void warn(std::string_view msg, std::initializer_list<Field> fields = {});
void error(std::string_view msg, std::initializer_list<Field> fields = {});

// The line info()/warn()/error() would write (without the newline), for tests.
std::string format_line(int64_t unix_ms, std::string_view level, std::string_view msg,
                        std::initializer_list<Field> fields);

}  // namespace escrow::logging
