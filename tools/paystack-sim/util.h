// Small helpers shared by the simulator's units: the clock, random codes in Paystack's formats,
// lenient amount parsing (integers or numeric strings, as Paystack accepts), loopback URL checks
// and HTML escaping. Thread-safety: the random source is thread_local; the clock is set once,
// before any other call; everything else is pure.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace paystack_sim {

int64_t now_ms();  // the system clock, unless use_clock() gave another
// The time source of now_ms() from now on (escrow-sim's simulated clock); empty: the system clock.
void use_clock(std::function<int64_t()> clock);
std::string iso_time(int64_t unix_ms);                     // "2024-08-22T09:15:02.000Z"
std::optional<int64_t> parse_time(std::string_view text);  // ISO 8601 date-time or YYYY-MM-DD

// `length` random characters from [a-z0-9] (access codes, references, code suffixes).
std::string random_code(size_t length);
std::string random_digits(size_t length);
// A uniform double in [0, 1) for the configured rates.
double random_unit();
uint64_t random_below(uint64_t bound);
// Restarts this thread's random source from `seed`: the same seed gives the same codes.
void seed_random(uint64_t seed);

// A positive integer amount given as a JSON integer or a string of digits; nullopt otherwise.
std::optional<int64_t> parse_amount(const rapidjson::Value& value);
std::optional<int64_t> parse_amount_text(std::string_view text);
// Strict decimal parse of a non-negative integer (no sign, no spaces).
std::optional<uint64_t> parse_uint(std::string_view text);

// Member `name` of `object` as a string (numbers are given as their decimal text), if present.
std::optional<std::string> member_text(const rapidjson::Value& object, const char* name);
// Compact JSON text of a value, as RapidJSON writes it.
std::string to_json_text(const rapidjson::Value& value);

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);
// Accepts "http://<loopback host>[:port][/path]"; sets an explanation otherwise.
bool is_loopback_http_url(std::string_view url, std::string* why);

// Opaque pagination cursors as Paystack's look (base64 of "<kind>:<value>").
std::string make_cursor(std::string_view kind, uint64_t value);
std::optional<uint64_t> read_cursor(std::string_view cursor, std::string_view kind);

std::string html_escape(std::string_view text);
std::string url_encode(std::string_view text);

}  // namespace paystack_sim
