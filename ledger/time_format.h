// ISO 8601 timestamps in UTC with milliseconds ("2026-11-21T09:30:00.000Z") for the API, exports
// and reports; unix milliseconds everywhere inside. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace escrow {

// The instants the format holds: 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z.
inline constexpr int64_t iso8601_ms_min = -62'167'219'200'000;
inline constexpr int64_t iso8601_ms_max = 253'402'300'799'999;

std::string format_iso8601_ms(int64_t unix_ms);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]" and "YYYY-MM-DD" (midnight UTC), for an
// instant from iso8601_ms_min to iso8601_ms_max: what it accepts, format_iso8601_ms() writes
// back as text that parses to the same instant.
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

}  // namespace escrow
