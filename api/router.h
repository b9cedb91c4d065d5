// Routing for escrowd: (method, path) -> handler, with `:name` segments captured as params.
//
// Patterns are '/'-separated segments, each a literal or `:name` (e.g.
// "/bookings/:id/proof/:sha256"). A request path is split on '/' first and each segment is then
// percent-decoded, so "%2F" inside an id stays inside that id. Matching is exact: no trailing-
// slash folding, and a `:name` never matches an empty segment. When several patterns match, the
// one with a literal earlier wins ("/bookings/search" over "/bookings/:id"). A path no pattern
// matches is 404 `not_found`; a path some pattern matches with another method is 405
// `method_not_allowed` with an Allow header. The matched pattern (not the raw path) labels
// metrics, so label cardinality stays bounded.
// Thread-safety: build the table once at start-up, then dispatch from any thread (const).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http.h"
#include "api/task.h"

namespace escrow::api {

inline constexpr std::size_t path_segments_max = 16;
inline constexpr std::size_t path_bytes_max = 2048;

class RouteParams {
 public:
  // The decoded value of `:name`; asserts that the route declares it (a handler bug otherwise).
  const std::string& get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return params_; }
  void add(std::string name, std::string value) {
    params_.emplace_back(std::move(name), std::move(value));
  }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

using Handler = std::function<HttpResponse(const HttpRequest&, const RouteParams&)>;
// A handler that may wait for a completion (a commit) without holding its thread (api/task.h).
// The request and params stay valid until the task finishes.
using AsyncHandler = std::function<Task<HttpResponse>(const HttpRequest&, const RouteParams&)>;

// The label for requests that matched no route.
inline constexpr const char* unmatched_route = "unmatched";

class Router {
 public:
  // Asserts on a malformed pattern (not starting with '/', an empty `:`, too many segments) or
  // a duplicate (method, pattern): both are programming errors in the route table.
  void add(std::string method, std::string_view pattern, Handler handler);
  // `only_waits_on_commit`: before its command the handler does nothing slower than parsing and
  // point reads, and it writes nothing itself, so it may run on an I/O thread (App::runs_inline).
  void add_async(std::string method, std::string_view pattern, AsyncHandler handler,
                 bool only_waits_on_commit = false);

  // Every (method, pattern) added, in the order add() was called (e.g. {"GET", "/bookings/:id"}).
  // `escrowd --routes` prints them; test/e2e/openapi_check.py compares them with the OpenAPI
  // document.
  std::vector<std::pair<std::string, std::string>> routes() const;

  struct Match {
    const AsyncHandler* handler = nullptr;  // null when `error` is set
    bool only_waits_on_commit = false;
    RouteParams params;
    std::string route = unmatched_route;  // the pattern, for logs and metrics labels
    std::optional<HttpResponse> error;    // 400 invalid_path, 404 or 405
  };
  Match match(std::string_view method, std::string_view path) const;

  struct Dispatched {
    HttpResponse response;
    std::string route;
  };
  // match() then run the handler to its end (waiting for it), or return the routing error.
  Dispatched dispatch(const HttpRequest& request) const;

 private:
  struct Segment {
    std::string text;  // the literal, or the param name without ':'
    bool is_param = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    AsyncHandler handler;
    bool only_waits_on_commit = false;
  };
  std::vector<Route> routes_;
};

}  // namespace escrow::api
