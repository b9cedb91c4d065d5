#include "ledger/time_format.h"

#include <chrono>
#include <cstdio>

namespace escrow {

namespace {

bool digits(std::string_view text, size_t pos, size_t count, int& out) {
  if (pos + count > text.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::string format_iso8601_ms(int64_t unix_ms) {
  using namespace std::chrono;
  sys_time<milliseconds> tp{milliseconds(unix_ms)};
  auto day = floor<days>(tp);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> time{tp - day};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()),
                static_cast<int>(time.subseconds().count()));
  return buffer;
}

std::optional<int64_t> parse_iso8601_ms(std::string_view text) {
  using namespace std::chrono;
  int y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
  if (!digits(text, 0, 4, y) || text.size() < 10 || text[4] != '-' || !digits(text, 5, 2, mo) ||
      text[7] != '-' || !digits(text, 8, 2, d))
    return std::nullopt;
  size_t pos = 10;
  int offset_minutes = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return std::nullopt;
    if (!digits(text, pos + 1, 2, h) || text.size() < pos + 9 || text[pos + 3] != ':' ||
        !digits(text, pos + 4, 2, mi) || text[pos + 6] != ':' || !digits(text, pos + 7, 2, s))
      return std::nullopt;
    pos += 9;
    if (pos < text.size() && text[pos] == '.') {
      size_t start = ++pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
      if (pos == start) return std::nullopt;
      std::string frac(text.substr(start, std::min<size_t>(3, pos - start)));
      while (frac.size() < 3) frac += '0';
      ms = std::stoi(frac);
    }
    if (pos < text.size() && text[pos] == 'Z') {
      ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      int oh, om;
      if (!digits(text, pos + 1, 2, oh) || text.size() < pos + 6 || text[pos + 3] != ':' ||
          !digits(text, pos + 4, 2, om))
        return std::nullopt;
      offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
      pos += 6;
    }
    if (pos != text.size()) return std::nullopt;
  }
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  auto tp = sys_days(ymd) + hours(h) + minutes(mi) + seconds(s) + milliseconds(ms) -
            minutes(offset_minutes);
  const int64_t unix_ms = duration_cast<milliseconds>(tp.time_since_epoch()).count();
  // An offset or a leap second can carry the instant out of the years 0000 to 9999, which
  // format_iso8601_ms() could not write back as this format.
  if (unix_ms < iso8601_ms_min || unix_ms > iso8601_ms_max) return std::nullopt;
  return unix_ms;
}

}  // namespace escrow
