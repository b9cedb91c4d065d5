// Tests of api/http.h and api/router.h, without sockets: handlers see HttpRequest values.
//
// How: the error body is compared byte for byte (also with characters that need escaping);
// every Rejection from booking_not_found to payout_not_awaiting_otp is mapped and checked to be
// a 4xx with its own code, plus spot checks of the DESIGN section 5 table; parse_json_body is
// fed oversized, too-deep, malformed, trailing-garbage, NUL-smuggling, duplicate-key, non-object
// and wrong-media-type bodies; each BodyReader reader gets the wrong JSON types (floats and "100"
// for integers); the router is checked for params, literal-over-param precedence, 404 vs 405 with
// Allow, percent-decoded segments and bad escapes; query strings are decoded ('+', %XX, bad %).
// Last, what the fuzz targets found: a zero with an exponent, a raw NUL in a path or query, a
// lone surrogate escape, a number beyond a double.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>

#include "api/http.h"
#include "api/router.h"

using namespace escrow;
using namespace escrow::api;

namespace {

HttpRequest json_request(std::string body, std::string content_type = "application/json") {
  HttpRequest request;
  request.method = "POST";
  request.target = "/bookings";
  request.headers.set("Content-Type", content_type);
  request.body = std::move(body);
  return request;
}

std::string code_of(const HttpResponse& response) {
  rapidjson::Document doc;
  doc.Parse(response.body.c_str());
  REQUIRE(doc.IsObject());
  REQUIRE(doc["error"].IsObject());
  REQUIRE(doc["error"]["message"].IsString());
  return doc["error"]["code"].GetString();
}

std::string nested(int depth) {
  std::string text;
  for (int i = 0; i < depth - 1; ++i) text += "{\"a\":";
  text += "{}";
  for (int i = 0; i < depth - 1; ++i) text += "}";
  return text;
}

}  // namespace

TEST_CASE("error_response has exactly the documented shape") {
  HttpResponse response = error_response(409, "dispute_open", "A dispute is open.");
  CHECK(response.status == 409);
  CHECK(response.body == R"({"error":{"code":"dispute_open","message":"A dispute is open."}})");
  CHECK(response.headers.get("content-type") ==
        std::optional<std::string_view>("application/json"));

  HttpResponse escaped = error_response(400, "x", "quote \" and \\ and \n");
  CHECK(escaped.body == R"({"error":{"code":"x","message":"quote \" and \\ and \n"}})");
}

TEST_CASE("headers are looked up case-insensitively and set replaces") {
  Headers headers{{"X-Request-Id", "a"}};
  CHECK(headers.get("x-request-id") == std::optional<std::string_view>("a"));
  headers.set("X-REQUEST-ID", "b");
  CHECK(headers.all().size() == 1);
  CHECK(headers.get("X-Request-Id") == std::optional<std::string_view>("b"));
  CHECK_FALSE(headers.get("Authorization").has_value());
}

TEST_CASE("every Rejection maps to a 4xx carrying its own code and message") {
  // all_rejections() is the ledger's table of every enumerator, complete by a compile-time check.
  REQUIRE(all_rejections().size() > 30);
  for (Rejection rejection : all_rejections()) {
    int status = rejection_status(rejection);
    INFO(rejection_code(rejection));
    CHECK(status >= 400);
    CHECK(status < 500);
    HttpResponse response = rejection_response(rejection);
    CHECK(response.status == status);
    CHECK(code_of(response) == rejection_code(rejection));
  }
  CHECK(rejection_status(Rejection::currency_not_paid_out) == 400);
}

TEST_CASE("rejection statuses follow DESIGN section 5") {
  CHECK(rejection_status(Rejection::booking_not_found) == 404);
  CHECK(rejection_status(Rejection::unknown_payout) == 404);
  CHECK(rejection_status(Rejection::unknown_refund) == 404);
  CHECK(rejection_status(Rejection::unknown_payment) == 404);
  CHECK(rejection_status(Rejection::not_allowed) == 403);
  CHECK(rejection_status(Rejection::invalid_amount) == 400);
  CHECK(rejection_status(Rejection::amount_below_minimum) == 400);
  CHECK(rejection_status(Rejection::too_many_files) == 400);
  CHECK(rejection_status(Rejection::invalid_resolution) == 400);
  CHECK(rejection_status(Rejection::booking_exists) == 409);
  CHECK(rejection_status(Rejection::dispute_open) == 409);
  CHECK(rejection_status(Rejection::already_released) == 409);
  CHECK(rejection_status(Rejection::nothing_due) == 409);
  CHECK(rejection_status(Rejection::proof_required) == 409);
  CHECK(rejection_status(Rejection::insufficient_balance) == 409);
  CHECK(rejection_status(Rejection::payout_not_awaiting_otp) == 409);
}

TEST_CASE("parse_json_body accepts a JSON object") {
  auto parsed = parse_json_body(
      json_request(R"( {"reason":"late","n":3} )", "Application/JSON; charset=utf-8"));
  REQUIRE(parsed.is_ok());
  CHECK(std::string(parsed.value()["reason"].GetString()) == "late");
}

TEST_CASE("parse_json_body enforces media type, size and depth") {
  CHECK(parse_json_body(json_request("{}", "text/plain")).error().status == 415);
  CHECK(code_of(parse_json_body(json_request("{}", "text/plain")).error()) ==
        "unsupported_media_type");
  HttpRequest no_type = json_request("{}");
  no_type.headers = Headers{};
  CHECK(parse_json_body(no_type).error().status == 415);
  CHECK(parse_json_body(json_request("{}", "application/jsonx")).error().status == 415);

  std::string big = R"({"a":")" + std::string(json_body_bytes_max, 'x') + R"("})";
  auto too_big = parse_json_body(json_request(big));
  REQUIRE_FALSE(too_big.is_ok());
  CHECK(too_big.error().status == 413);
  CHECK(code_of(too_big.error()) == "body_too_large");
  CHECK(parse_json_body(json_request(R"({"a":"x"})"), JsonLimits{8, 32}).error().status == 413);

  CHECK(parse_json_body(json_request(nested(json_depth_max))).is_ok());
  auto deep = parse_json_body(json_request(nested(json_depth_max + 1)));
  REQUIRE_FALSE(deep.is_ok());
  CHECK(deep.error().status == 400);
  CHECK(code_of(deep.error()) == "invalid_json");
  // Far deeper than any stack would like: refused by the pre-scan, not a crash.
  CHECK(parse_json_body(json_request(std::string(100000, '['))).error().status == 400);
  // Brackets inside strings are not nesting.
  CHECK(parse_json_body(json_request(R"({"a":")" + std::string(100, '[') + R"(\""})")).is_ok());
}

TEST_CASE("parse_json_body refuses malformed JSON with 400 invalid_json") {
  for (std::string body :
       {std::string(""), std::string("{"), std::string(R"({"a":})"), std::string(R"({"a":1,})"),
        std::string("{} x"), std::string("{}{}"), std::string(R"({"a":NaN})"), std::string("[]"),
        std::string("42"), std::string(R"({"a":1,"a":2})"), std::string(R"({"o":{"k":1,"k":1}})"),
        std::string("{}\0garbage", 10), std::string("{\"a\":\"\xff\"}")}) {
    INFO(body);
    auto parsed = parse_json_body(json_request(body));
    REQUIRE_FALSE(parsed.is_ok());
    CHECK(parsed.error().status == 400);
    CHECK(code_of(parsed.error()) == "invalid_json");
  }
  CHECK(parse_json_body(json_request("{}  \n")).is_ok());
}

TEST_CASE("BodyReader reads typed fields") {
  auto parsed = parse_json_body(json_request(
      R"({"s":"abc","n":-5,"b":true,"e":"split","null":null,"big":9007199254740993})"));
  REQUIRE(parsed.is_ok());
  BodyReader in(parsed.value());
  CHECK(in.required_string("s", 3) == "abc");
  CHECK(in.required_int("n", -10, 10) == -5);
  CHECK(in.required_bool("b"));
  CHECK(in.required_enum("e", {"full", "split"}) == "split");
  CHECK_FALSE(in.optional_string("missing", 10).has_value());
  CHECK_FALSE(in.optional_int("null", 0, 1).has_value());
  CHECK(in.optional_int("big", 0, INT64_MAX) == 9007199254740993LL);
  CHECK(in.ok());
}

TEST_CASE("BodyReader refuses wrong types with 400 invalid_field naming the field") {
  auto parsed = parse_json_body(json_request(
      R"({"s":5,"long":"abcd","f":1.0,"e3":1e3,"str":"100","b":"true","e":"half","nul":"a\u0000b",)"
      R"("i":7})"));
  REQUIRE(parsed.is_ok());
  auto refuses = [&](auto read, const char* field) {
    INFO(field);
    BodyReader in(parsed.value());
    read(in);
    REQUIRE_FALSE(in.ok());
    CHECK(in.error().status == 400);
    CHECK(code_of(in.error()) == "invalid_field");
    CHECK(in.error().body.find(std::string("'") + field + "'") != std::string::npos);
  };
  refuses([](BodyReader& in) { (void)in.required_string("s", 10); }, "s");
  refuses([](BodyReader& in) { (void)in.required_string("long", 3); }, "long");
  refuses([](BodyReader& in) { (void)in.required_string("nul", 10); }, "nul");
  refuses([](BodyReader& in) { (void)in.required_string("absent", 10); }, "absent");
  refuses([](BodyReader& in) { (void)in.required_int("f", 0, 10); }, "f");
  refuses([](BodyReader& in) { (void)in.required_int("e3", 0, 10000); }, "e3");
  refuses([](BodyReader& in) { (void)in.required_int("str", 0, 1000); }, "str");
  refuses([](BodyReader& in) { (void)in.required_int("i", 0, 6); }, "i");
  refuses([](BodyReader& in) { (void)in.optional_int("long", 0, 10); }, "long");
  refuses([](BodyReader& in) { (void)in.required_bool("b"); }, "b");
  refuses([](BodyReader& in) { (void)in.required_bool("absent"); }, "absent");
  refuses([](BodyReader& in) { (void)in.required_enum("e", {"full", "split"}); }, "e");
  refuses([](BodyReader& in) { (void)in.required_enum("i", {"full", "split"}); }, "i");
  refuses([](BodyReader& in) { (void)in.optional_enum("e", {"release"}); }, "e");

  // The first error sticks; later reads neither overwrite it nor succeed.
  BodyReader in(parsed.value());
  (void)in.required_int("f", 0, 10);
  CHECK(in.required_int("i", 0, 10) == 0);
  CHECK(in.error().body.find("'f'") != std::string::npos);
}

TEST_CASE("BodyReader reads named enums and currencies as the spelled-out lists did") {
  auto parsed = parse_json_body(
      json_request(R"({"plan":"split","outcome":"refund","currency":"KES","bad":"half"})"));
  REQUIRE(parsed.is_ok());
  BodyReader in(parsed.value());
  CHECK(in.required_enum<PaymentPlan>("plan") == PaymentPlan::split);
  CHECK(in.required_enum<ResolutionOutcome>("outcome") == ResolutionOutcome::refund);
  CHECK(in.required_currency("currency") == Currency::KES);
  CHECK(in.ok());

  // The same 400, byte for byte, for a wrong value and for an absent one.
  auto same_error = [&](auto typed, std::initializer_list<std::string_view> names) {
    for (const char* field : {"bad", "absent"}) {
      INFO(field);
      BodyReader typed_in(parsed.value());
      BodyReader listed_in(parsed.value());
      (void)typed(typed_in, field);
      (void)listed_in.required_enum(field, names);
      REQUIRE_FALSE(typed_in.ok());
      CHECK(typed_in.error().body == listed_in.error().body);
    }
  };
  same_error([](BodyReader& r, const char* f) { return r.required_enum<PaymentPlan>(f); },
             {"full", "split"});
  same_error([](BodyReader& r, const char* f) { return r.required_enum<ResolutionOutcome>(f); },
             {"release", "refund", "split"});
  same_error([](BodyReader& r, const char* f) { return r.required_currency(f); },
             {"NGN", "GHS", "ZAR", "KES", "USD"});
}

namespace {
Handler named(std::string name) {
  return [name](const HttpRequest&, const RouteParams& params) {
    std::string body = name;
    for (const auto& [key, value] : params.all()) body += " " + key + "=" + value;
    return json_response(200, body);
  };
}

Router test_router() {
  Router router;
  router.add("GET", "/bookings", named("list"));
  router.add("POST", "/bookings", named("create"));
  router.add("GET", "/bookings/:id", named("get"));
  router.add("GET", "/bookings/search", named("search"));
  router.add("POST", "/bookings/:id/pay", named("pay"));
  router.add("GET", "/bookings/:id/proof/:sha256", named("proof"));
  router.add("GET", "/admin/", named("console"));
  return router;
}

HttpRequest get(std::string target, std::string method = "GET") {
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  return request;
}
}  // namespace

TEST_CASE("router matches method and segments and captures params") {
  Router router = test_router();
  auto proof = router.dispatch(get("/bookings/b-1/proof/abc123?download=1"));
  CHECK(proof.response.body == "proof id=b-1 sha256=abc123");
  CHECK(proof.route == "/bookings/:id/proof/:sha256");
  CHECK(router.dispatch(get("/bookings")).response.body == "list");
  CHECK(router.dispatch(get("/bookings", "POST")).response.body == "create");
  CHECK(router.dispatch(get("/bookings/b-1/pay", "POST")).response.body == "pay id=b-1");
  CHECK(router.dispatch(get("/bookings/search")).response.body == "search");
  CHECK(router.dispatch(get("/bookings/b-1")).response.body == "get id=b-1");
  CHECK(router.dispatch(get("/admin/")).response.body == "console");
  // Segments are decoded after splitting: an encoded '/' stays inside the id.
  CHECK(router.dispatch(get("/bookings/a%2Fb%20c")).response.body == "get id=a/b c");
  auto m = router.match("GET", "/bookings/x");
  REQUIRE(m.handler != nullptr);
  CHECK(m.params.get("id") == "x");
}

TEST_CASE("router lists its routes as added, patterns unexpanded") {
  using Route = std::pair<std::string, std::string>;
  const std::vector<Route> expected = {{"GET", "/bookings"},
                                       {"POST", "/bookings"},
                                       {"GET", "/bookings/:id"},
                                       {"GET", "/bookings/search"},
                                       {"POST", "/bookings/:id/pay"},
                                       {"GET", "/bookings/:id/proof/:sha256"},
                                       {"GET", "/admin/"}};
  CHECK(test_router().routes() == expected);
  CHECK(Router().routes().empty());
}

TEST_CASE("router answers 404 for unknown paths and 405 with Allow for other methods") {
  Router router = test_router();
  for (std::string target : {"/nope", "/bookings/b-1/proof", "/bookings//pay", "/bookings/b-1/",
                             "/admin", "/bookings/b-1/pay/extra"}) {
    INFO(target);
    auto routed = router.dispatch(get(target, "POST"));
    CHECK(routed.response.status == 404);
    CHECK(code_of(routed.response) == "not_found");
    CHECK(routed.route == unmatched_route);
  }
  auto wrong = router.dispatch(get("/bookings", "DELETE"));
  CHECK(wrong.response.status == 405);
  CHECK(code_of(wrong.response) == "method_not_allowed");
  CHECK(wrong.response.headers.get("Allow") == std::optional<std::string_view>("GET, POST"));
  auto pay = router.dispatch(get("/bookings/b-1/pay"));
  CHECK(pay.response.status == 405);
  CHECK(pay.response.headers.get("Allow") == std::optional<std::string_view>("POST"));

  CHECK(router.dispatch(get("/bookings/%zz")).response.status == 400);
  CHECK(router.dispatch(get("/bookings/%00")).response.status == 400);
  CHECK(router.dispatch(get("bookings")).response.status == 400);
  std::string many = "";
  for (int i = 0; i < 40; ++i) many += "/a";
  CHECK(router.dispatch(get(many)).response.status == 400);
}

TEST_CASE("query strings are percent-decoded") {
  auto query = parse_query("client_id=c%201&status=awaiting+payment&empty=&flag&&x=%E2%82%AC");
  REQUIRE(query.is_ok());
  CHECK(query.value().get("client_id") == std::optional<std::string_view>("c 1"));
  CHECK(query.value().get("status") == std::optional<std::string_view>("awaiting payment"));
  CHECK(query.value().get("empty") == std::optional<std::string_view>(""));
  CHECK(query.value().get("flag") == std::optional<std::string_view>(""));
  CHECK(query.value().get("x") == std::optional<std::string_view>("\xE2\x82\xAC"));
  CHECK_FALSE(query.value().get("missing").has_value());
  CHECK(query.value().all().size() == 5);

  HttpRequest request = get("/bookings?limit=10&cursor=a%3Db");
  CHECK(request.path() == "/bookings");
  CHECK(parse_query(request.query()).value().get("cursor") ==
        std::optional<std::string_view>("a=b"));
  CHECK(get("/bookings").query().empty());

  for (std::string bad : {"a=%", "a=%4", "a=%G1", "%zz=1", "a=%00"}) {
    INFO(bad);
    auto refused = parse_query(bad);
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.error().status == 400);
    CHECK(code_of(refused.error()) == "invalid_query");
  }
  std::string many;
  for (std::size_t i = 0; i <= query_params_max; ++i) many += "k=v&";
  CHECK_FALSE(parse_query(many).is_ok());
  CHECK_FALSE(parse_query(std::string(query_bytes_max + 1, 'a')).is_ok());
  CHECK(percent_decode("a+b", false) == std::optional<std::string>("a+b"));
}

// ---- found by the fuzz targets (docs/testing.md, "Fuzzing") ----------------------------------

TEST_CASE("a zero with an exponent reads as zero (json_body fuzz: regression-zero-with-exponent)") {
  // RapidJSON's full-precision path read 0e300 as -2.2e-75, through a clz(0).
  auto parsed = parse_json_body(json_request(R"({"amount":0e300,"fee":-0e-5,"x":0.0e10})"));
  REQUIRE(parsed.is_ok());
  CHECK(parsed.value()["amount"].GetDouble() == 0.0);
  CHECK(parsed.value()["fee"].GetDouble() == 0.0);
  CHECK(parsed.value()["x"].GetDouble() == 0.0);
  BodyReader in(parsed.value());
  in.required_int("amount", 0, 100);
  CHECK_FALSE(in.ok());  // still not an integer
}

TEST_CASE("a raw NUL is refused like an escaped one (router fuzz: regression-raw-nul-in-path)") {
  CHECK_FALSE(percent_decode(std::string("a\0b", 3), false).has_value());
  CHECK_FALSE(percent_decode(std::string("\0", 1), true).has_value());
  Router router = test_router();
  CHECK(router.match("GET", std::string("/bookings/a\0b", 13)).error->status == 400);
  CHECK(router.match("GET", "/bookings/a%00b").error->status == 400);
  auto query = parse_query(std::string("a=\0", 3));
  REQUIRE_FALSE(query.is_ok());
  CHECK(code_of(query.error()) == "invalid_query");
}

TEST_CASE("a lone surrogate escape is invalid JSON (json_body fuzz: regression-lone-surrogate)") {
  // RapidJSON decoded "\udEEE" into bytes that are not UTF-8, and the body was accepted.
  for (std::string body :
       {R"({"account_name":"a\udEEEb"})", R"({"\uDC00":1})", R"({"notes":["x",{"y":"\udfff"}]})"}) {
    INFO(body);
    auto parsed = parse_json_body(json_request(body));
    REQUIRE_FALSE(parsed.is_ok());
    CHECK(code_of(parsed.error()) == "invalid_json");
  }
  auto pair = parse_json_body(json_request(R"({"s":"\ud83d\ude00"})"));
  REQUIRE(pair.is_ok());
  CHECK(std::string(pair.value()["s"].GetString()) == "\xF0\x9F\x98\x80");
}

TEST_CASE(
    "a number beyond a double is invalid JSON (json_body fuzz: regression-number-beyond-double)") {
  // RapidJSON read 922337101842738791e304 as infinity, which no JSON writer can write back.
  for (std::string body :
       {R"({"amount":922337101842738791e304})", R"({"a":[-922337101842738791e304]})"}) {
    INFO(body);
    auto parsed = parse_json_body(json_request(body));
    REQUIRE_FALSE(parsed.is_ok());
    CHECK(code_of(parsed.error()) == "invalid_json");
  }
  CHECK(parse_json_body(json_request(R"({"a":1.7e308,"b":-4.9e-324})")).is_ok());
}
