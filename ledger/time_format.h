// ISO 8601 timestamps in UTC with milliseconds ("2026-11-21T09:30:00.000Z") for the API, exports
// and reports; unix milliseconds everywhere inside. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace escrow {

std::string format_iso8601_ms(int64_t unix_ms);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]" and "YYYY-MM-DD" (midnight UTC).
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

}  // namespace escrow
