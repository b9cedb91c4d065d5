// JSON-lines logging on stdout (see log.h): RapidJSON writes the object, spdlog serialises the
// output so that lines from different threads never interleave.
#include "service/log.h"

#include <rapidjson/encodings.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>

#include "ledger/time_format.h"

namespace escrow::logging {

namespace {

// A byte stream for rapidjson::UTF8<>::Decode, which reads one code point and says whether it
// is well formed (it refuses overlong forms, surrogates and truncated sequences).
struct ByteInput {
  using Ch = char;
  std::string_view text;
  size_t pos = 0;
  char Peek() const { return pos < text.size() ? text[pos] : '\0'; }
  char Take() { return pos < text.size() ? text[pos++] : '\0'; }
  size_t Tell() const { return pos; }
};
// `text` with every byte that does not begin a valid UTF-8 sequence (overlong forms and
// surrogates included) replaced by U+FFFD, so that a hostile header cannot break the line.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  ByteInput in{text};
  while (in.pos < text.size()) {
    const size_t start = in.pos;
    unsigned codepoint = 0;
    if (rapidjson::UTF8<>::Decode(in, &codepoint)) {
      out.append(text.substr(start, in.pos - start));
    } else {
      out.append("\xEF\xBF\xBD");
      in.pos = start + 1;
    }
  }
  return out;
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& w, std::string_view text) {
  const std::string clean = valid_utf8(text);
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
}

void write_value(JsonWriter& w, const Value& value) {
  if (const auto* s = std::get_if<std::string_view>(&value)) {
    write_string(w, *s);
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    w.Int64(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    if (std::isfinite(*d)) {
      w.Double(*d);
    } else {
      w.Null();  // JSON has no NaN or infinity
    }
  } else {
    w.Bool(std::get<bool>(value));
  }
}

std::shared_ptr<spdlog::logger> logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    auto made = std::make_shared<spdlog::logger>("escrowd", std::move(sink));
    made->set_pattern("%v");  // the JSON line is the whole message
    made->set_level(spdlog::level::info);
    made->flush_on(spdlog::level::info);  // a line is visible as soon as it is logged
    return made;
  }();
  return instance;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::atomic<bool> silenced{false};

void log(spdlog::level::level_enum level, std::string_view name, std::string_view msg,
         std::initializer_list<Field> fields) {
  if (silenced.load(std::memory_order_relaxed)) return;
  const std::string line = format_line(now_ms(), name, msg, fields);
  logger()->log(level, "{}", line);
}

}  // namespace

std::string format_line(int64_t unix_ms, std::string_view level, std::string_view msg,
                        std::initializer_list<Field> fields) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("ts");
  write_string(w, format_iso8601_ms(unix_ms));
  w.Key("level");
  write_string(w, level);
  w.Key("msg");
  write_string(w, msg);
  for (const Field& field : fields) {
    const std::string key = valid_utf8(field.key);
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    write_value(w, field.value);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void init() {
  logger();
}

void silence() {
  silenced.store(true);
}

void info(std::string_view msg, std::initializer_list<Field> fields) {
  log(spdlog::level::info, "info", msg, fields);
}

void warn(std::string_view msg, std::initializer_list<Field> fields) {
  log(spdlog::level::warn, "warn", msg, fields);
}

void error(std::string_view msg, std::initializer_list<Field> fields) {
  log(spdlog::level::err, "error", msg, fields);
}

}  // namespace escrow::logging
