// Tests of service/log.h's line format: every line parses as one JSON object with ts, level and msg
// first, then the fields in order with their JSON types; quotes, control characters and invalid
// UTF-8 from hostile input cannot break the line; NaN becomes null.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "service/log.h"

using namespace escrow;

namespace {

rapidjson::Document parse(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse(line.c_str(), line.size());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

}  // namespace

TEST_CASE("a log line is one JSON object: ts, level, msg, then the fields in order") {
  const std::string line = logging::format_line(
      1'796'306'400'123, "info", "request",
      {{"method", "POST"}, {"status", int64_t{201}}, {"ms", 3.25}, {"replayed", false}});
  CHECK(line ==
        R"({"ts":"2026-12-03T14:00:00.123Z","level":"info","msg":"request","method":"POST",)"
        R"("status":201,"ms":3.25,"replayed":false})");
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("hostile strings stay inside their JSON string") {
  const std::string hostile = std::string("a\"b\\c\nd\re\x01 \xC3\x28 \xED\xA0\x80 \xF0\x9F\x98") +
                              std::string(1, '\0') + "end";
  const std::string line = logging::format_line(0, "warn", hostile, {{hostile, hostile}});
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find('\r') == std::string::npos);
  rapidjson::Document doc = parse(line);
  const std::string msg(doc["msg"].GetString(), doc["msg"].GetStringLength());
  CHECK(msg.starts_with("a\"b\\c\nd\re\x01 "));
  CHECK(msg.find("\xEF\xBF\xBD") != std::string::npos);  // invalid bytes became U+FFFD
  CHECK(msg.find(std::string(1, '\0') + "end") != std::string::npos);
  CHECK(doc.MemberCount() == 4);
}

TEST_CASE("a NaN or infinite duration is logged as null, not as invalid JSON") {
  rapidjson::Document doc =
      parse(logging::format_line(0, "info", "x", {{"ms", std::nan("")}, {"inf", INFINITY}}));
  CHECK(doc["ms"].IsNull());
  CHECK(doc["inf"].IsNull());
}
