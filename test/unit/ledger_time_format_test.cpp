// Tests of ledger/time_format.h: ISO 8601 times in and out.
//
// How: known instants are written and read back; offsets, a leap second and dates alone are
// read; malformed text is refused; and an instant the format cannot hold is refused on the way
// in (found by the router fuzz target: "9999-12-31T23:59:60.999-23:59" read as a time in year
// 10000, which was then written back as "10000-01-01T...", text no reader of this format takes).
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "ledger/time_format.h"

using namespace escrow;

TEST_CASE("times are written with milliseconds in UTC and read back") {
  CHECK(format_iso8601_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_iso8601_ms(1'700'000'000'123) == "2023-11-14T22:13:20.123Z");
  CHECK(parse_iso8601_ms("2023-11-14T22:13:20.123Z") == 1'700'000'000'123);
  CHECK(parse_iso8601_ms("2023-11-14T23:13:20.1234+01:00") == 1'700'000'000'123);
  CHECK(parse_iso8601_ms("2023-11-14") == 1'699'920'000'000);
  CHECK(parse_iso8601_ms("2016-12-31T23:59:60Z") == parse_iso8601_ms("2017-01-01T00:00:00Z"));
  for (const char* bad : {"", "2023-11-14T", "2023-13-01", "2023-02-30", "2023-11-14T24:00:00Z",
                          "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+0100", "x023-11-14"}) {
    INFO(bad);
    CHECK_FALSE(parse_iso8601_ms(bad).has_value());
  }
}

TEST_CASE("an instant outside the years 0000 to 9999 is refused (router fuzz)") {
  // regression-time-beyond-year-9999
  CHECK_FALSE(parse_iso8601_ms("9999-12-31T23:59:60.999-23:59").has_value());
  CHECK_FALSE(parse_iso8601_ms("9999-12-31T23:59:59.999-00:01").has_value());
  CHECK_FALSE(parse_iso8601_ms("0000-01-01T00:00:00+00:01").has_value());
  CHECK(parse_iso8601_ms("9999-12-31T23:59:59.999Z") == iso8601_ms_max);
  CHECK(parse_iso8601_ms("0000-01-01T00:00:00Z") == iso8601_ms_min);
  CHECK(format_iso8601_ms(iso8601_ms_max) == "9999-12-31T23:59:59.999Z");
  CHECK(format_iso8601_ms(iso8601_ms_min) == "0000-01-01T00:00:00.000Z");
}
