// Method + path-segment routing; see router.h for the matching rules.
#include "api/router.h"

#include <algorithm>
#include <future>
#include <optional>

#include "ledger/status.h"

namespace escrow::api {

namespace {

// "/a/b/" -> {"a", "b", ""}: the leading '/' is dropped, every other '/' separates.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  path.remove_prefix(1);
  while (true) {
    std::size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

}  // namespace

const std::string& RouteParams::get(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  LEDGER_ASSERT(false, "a handler asks only for params its route declares");
}

void Router::add(std::string method, std::string_view pattern, Handler handler) {
  add_async(std::move(method), pattern,
            [handler = std::move(handler)](const HttpRequest& request, const RouteParams& params)
                -> Task<HttpResponse> { return ready(handler(request, params)); });
}

void Router::add_async(std::string method, std::string_view pattern, AsyncHandler handler,
                       bool only_waits_on_commit) {
  LEDGER_ASSERT(!pattern.empty() && pattern.front() == '/', "a route pattern starts with '/'");
  Route route{
      std::move(method), std::string(pattern), {}, std::move(handler), only_waits_on_commit};
  for (std::string_view text : split_path(pattern)) {
    bool is_param = !text.empty() && text.front() == ':';
    if (is_param) text.remove_prefix(1);
    LEDGER_ASSERT(!is_param || !text.empty(), "a route param has a name");
    route.segments.push_back(Segment{std::string(text), is_param});
  }
  LEDGER_ASSERT(route.segments.size() <= path_segments_max, "a route has few segments");
  for (const Route& existing : routes_) {
    LEDGER_ASSERT(!(existing.method == route.method && existing.pattern == route.pattern),
                  "each (method, pattern) is routed once");
  }
  routes_.push_back(std::move(route));
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> table;
  table.reserve(routes_.size());
  for (const Route& route : routes_) table.emplace_back(route.method, route.pattern);
  return table;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match result;
  if (path.empty() || path.front() != '/' || path.size() > path_bytes_max) {
    result.error = error_response(400, "invalid_path", "The request path is invalid.");
    return result;
  }
  std::vector<std::string> segments;
  for (std::string_view raw : split_path(path)) {
    std::optional<std::string> decoded = percent_decode(raw, false);
    if (!decoded || segments.size() == path_segments_max) {
      result.error = error_response(400, "invalid_path", "The request path is invalid.");
      return result;
    }
    segments.push_back(std::move(*decoded));
  }

  const Route* best = nullptr;
  std::vector<bool> best_literals;  // which segments matched literally: more, earlier wins
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::vector<bool> literals;
    bool matches = true;
    for (std::size_t i = 0; i < segments.size() && matches; ++i) {
      const Segment& want = route.segments[i];
      matches = want.is_param ? !segments[i].empty() : want.text == segments[i];
      literals.push_back(!want.is_param);
    }
    if (!matches) continue;
    if (route.method != method) {
      if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end())
        allowed.push_back(route.method);
      continue;
    }
    if (!best || literals > best_literals) {
      best = &route;
      best_literals = std::move(literals);
    }
  }

  if (!best) {
    if (allowed.empty()) {
      result.error = error_response(404, "not_found", "No such resource.");
      return result;
    }
    std::sort(allowed.begin(), allowed.end());
    std::string allow;
    for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    result.error =
        error_response(405, "method_not_allowed", "This resource does not accept this method.");
    result.error->headers.set("Allow", allow);
    return result;
  }
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (best->segments[i].is_param) result.params.add(best->segments[i].text, segments[i]);
  }
  result.handler = &best->handler;
  result.only_waits_on_commit = best->only_waits_on_commit;
  result.route = best->pattern;
  return result;
}

Router::Dispatched Router::dispatch(const HttpRequest& request) const {
  Match m = match(request.method, request.path());
  if (m.error) return Dispatched{std::move(*m.error), std::move(m.route)};
  std::promise<HttpResponse> answered;
  std::future<HttpResponse> answer = answered.get_future();
  start((*m.handler)(request, m.params),
        [&answered](HttpResponse response) { answered.set_value(std::move(response)); });
  return Dispatched{answer.get(), std::move(m.route)};
}

}  // namespace escrow::api
