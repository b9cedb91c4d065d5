// Fuzz target: the router and query strings (api/router.cpp Router::match and dispatch over
// escrowd's route table; api/http.cpp percent_decode and parse_query; the query helpers of
// api/handler_support.cpp page_query, page_request and time_param, with the cursor format of
// projections/page.cpp).
//
// The route table is escrowd's, read from its OpenAPI document (api/openapi.json, which
// test/integration/openapi_test.sh keeps equal to `escrowd --routes`).
// Input: one byte picks the method; the rest is the request target (path, then '?' and query).
// Properties of routing:
// - a path that is empty, relative or longer than path_bytes_max is 400 invalid_path;
// - a match names a route of the table with the request's method, with one non-empty param per
//   `:name` of its pattern, and dispatch() calls that route's handler with those params;
// - a 405 carries an Allow header listing distinct methods other than the request's, each one
//   a route of the table answers this path with;
// - percent-encoding does not change routing: the path written again from its decoded segments,
//   every byte but the unreserved ones percent-encoded, routes the same way with the same params.
// Properties of the query:
// - a refused query is 400 invalid_query; an accepted one is at most query_bytes_max bytes with
//   at most query_params_max pairs, and the pairs written out again percent-encoded parse to the
//   same pairs;
// - page_query's limit is in [1, max] and its cursor 1 to 256 bytes; a cursor page_request
//   accepts is canonical (encode_cursor of what it decoded gives it back);
// - a time time_param accepts is written by format_iso8601_ms as text that parses to the same
//   instant.
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/handler_support.h"
#include "api/http.h"
#include "api/openapi.h"
#include "api/router.h"
#include "fuzz_input.h"
#include "ledger/time_format.h"
#include "projections/page.h"

using namespace escrow;
using namespace escrow::api;
using escrow::fuzz::FuzzInput;

namespace {

struct Route {
  std::string method, pattern;
};

// "/bookings/{id}/proof/{sha256}" -> "/bookings/:id/proof/:sha256".
std::string router_pattern(std::string_view path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '{') {
      out.push_back(path[i]);
      continue;
    }
    std::size_t close = path.find('}', i);
    out += ":" + std::string(path.substr(i + 1, close - i - 1));
    i = close;
  }
  return out;
}

std::vector<Route> read_routes() {
  rapidjson::Document doc;
  std::string_view text = openapi_document();
  doc.Parse(text.data(), text.size());
  FUZZ_CHECK(!doc.HasParseError() && doc.HasMember("paths"));
  std::vector<Route> routes;
  const rapidjson::Value& paths = doc["paths"];
  for (const auto& path : paths.GetObject()) {
    for (const auto& operation : path.value.GetObject()) {
      std::string method = operation.name.GetString();
      if (method == "parameters" || method == "summary" || method == "description") continue;
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      routes.push_back({method, router_pattern(path.name.GetString())});
    }
  }
  FUZZ_CHECK(routes.size() > 20);
  return routes;
}

const std::vector<Route>& routes() {
  static const std::vector<Route> table = read_routes();
  return table;
}

// Every handler answers its own pattern and params, so dispatch() can be checked too.
const Router& router() {
  static const Router table = [] {
    Router r;
    for (const Route& route : routes()) {
      r.add(route.method, route.pattern,
            [pattern = route.pattern](const HttpRequest&, const RouteParams& params) {
              HttpResponse response;
              response.body = pattern;
              for (const auto& [name, value] : params.all())
                response.body += "\n" + name + "=" + value;
              return response;
            });
    }
    return r;
  }();
  return table;
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', hex[c >> 4], hex[c & 0xf]};
    }
  }
  return out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    std::size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

std::size_t param_count(std::string_view pattern) {
  return static_cast<std::size_t>(std::count(pattern.begin(), pattern.end(), ':'));
}

bool same_match(const Router::Match& a, const Router::Match& b) {
  if (a.route != b.route || a.params.all() != b.params.all()) return false;
  if (a.error.has_value() != b.error.has_value()) return false;
  return !a.error || (a.error->status == b.error->status && a.error->body == b.error->body &&
                      a.error->headers.get("Allow") == b.error->headers.get("Allow"));
}

void check_allow(const HttpResponse& response, std::string_view method, std::string_view path) {
  std::optional<std::string_view> allow = response.headers.get("Allow");
  FUZZ_CHECK(allow && !allow->empty());
  std::vector<std::string_view> methods = split(*allow, ',');
  for (std::string_view& m : methods) {
    if (m.starts_with(' ')) m.remove_prefix(1);
    FUZZ_CHECK(m != method);
    FUZZ_CHECK(!router().match(m, path).error);
  }
  std::sort(methods.begin(), methods.end());
  FUZZ_CHECK(std::adjacent_find(methods.begin(), methods.end()) == methods.end());
}

// The path written again from its decoded segments, fully percent-encoded.
std::optional<std::string> reencoded(std::string_view path) {
  std::string out;
  for (std::string_view raw : split(path.substr(1), '/')) {
    std::optional<std::string> decoded = percent_decode(raw, false);
    if (!decoded) return std::nullopt;
    out += "/" + percent_encode(*decoded);
  }
  return out;
}

void check_routing(std::string_view method, const HttpRequest& request) {
  const std::string_view path = request.path();
  Router::Match match = router().match(method, path);
  if (path.empty() || path.front() != '/' || path.size() > path_bytes_max) {
    FUZZ_CHECK(match.error && match.error->status == 400 && !match.handler);
    return;
  }
  if (match.error) {
    const int status = match.error->status;
    FUZZ_CHECK(!match.handler && match.route == unmatched_route);
    FUZZ_CHECK(status == 400 || status == 404 || status == 405);
    if (status == 405) check_allow(*match.error, method, path);
  } else {
    FUZZ_CHECK(match.handler != nullptr);
    auto route = std::find_if(routes().begin(), routes().end(), [&](const Route& r) {
      return r.pattern == match.route && r.method == method;
    });
    FUZZ_CHECK(route != routes().end());
    FUZZ_CHECK(match.params.all().size() == param_count(match.route));
    for (const auto& [name, value] : match.params.all()) FUZZ_CHECK(!value.empty());
    Router::Dispatched dispatched = router().dispatch(request);
    FUZZ_CHECK(dispatched.route == match.route &&
               dispatched.response.body.starts_with(match.route));
  }
  std::optional<std::string> again = reencoded(path);
  if (!again || again->size() > path_bytes_max) return;
  FUZZ_CHECK(same_match(router().match(method, *again), match));
}

// ---- the query ---------------------------------------------------------------------------------

void check_query_round_trip(const Query& query) {
  std::string text;
  for (const auto& [key, value] : query.all()) {
    text += (text.empty() ? "" : "&") + percent_encode(key) + "=" + percent_encode(value);
  }
  if (text.size() > query_bytes_max) return;
  HttpResult<Query> again = parse_query(text);
  FUZZ_CHECK(again.is_ok() && again.value().all() == query.all());
}

void check_helpers(const Query& query) {
  HttpResult<PageQuery> page = page_query(query, 50, 200);
  if (page.is_ok()) {
    FUZZ_CHECK(page.value().limit >= 1 && page.value().limit <= 200);
    if (page.value().cursor)
      FUZZ_CHECK(!page.value().cursor->empty() && page.value().cursor->size() <= 256);
  } else {
    FUZZ_CHECK(page.error().status == 400);
  }
  HttpResult<projections::PageRequest> request = page_request(query, 50, 200);
  FUZZ_CHECK(
      request.is_ok() ==
      (page.is_ok() && (!page.value().cursor || projections::decode_cursor(*page.value().cursor))));
  if (request.is_ok() && request.value().after) {
    FUZZ_CHECK(projections::encode_cursor(*request.value().after) == *page.value().cursor);
  }
  for (const char* name : {"from", "to", "time"}) {
    HttpResult<std::optional<int64_t>> time = time_param(query, name);
    if (!time.is_ok() || !time.value()) continue;
    const std::string written = format_iso8601_ms(*time.value());
    FUZZ_CHECK(parse_iso8601_ms(written) == *time.value());
  }
}

void check_query(std::string_view text) {
  HttpResult<Query> query = parse_query(text);
  if (!query.is_ok()) {
    FUZZ_CHECK(query.error().status == 400 &&
               query.error().body.find("\"invalid_query\"") != std::string::npos);
    return;
  }
  FUZZ_CHECK(text.size() <= query_bytes_max && query.value().all().size() <= query_params_max);
  check_query_round_trip(query.value());
  check_helpers(query.value());
}

constexpr std::string_view methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "get", ""};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  HttpRequest request;
  request.method = std::string(methods[input.pick(std::size(methods))]);
  request.target = std::string(input.rest());
  check_routing(request.method, request);
  check_query(request.query());
  return 0;
}
