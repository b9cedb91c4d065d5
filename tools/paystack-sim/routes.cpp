// Request handling for the simulator (see routes.h): parses the target with Boost.URL and the
// body as JSON or form-encoded, checks the secret key like Paystack, injects the configured
// latency and 5xx errors on Paystack paths, and dispatches to SimState.
#include "routes.h"

#include <array>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <initializer_list>
#include <vector>

#include "checkout.h"
#include "util.h"

namespace paystack_sim {

namespace urls = boost::urls;

namespace {

constexpr int kJsonDepthMax = 32;
constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::array<int, 3> kInjectedStatuses = {500, 502, 503};

HttpResponse to_http(ApiResult result) {
  HttpResponse response;
  response.status = result.status;
  response.body = std::move(result.body);
  response.effects = std::move(result.effects);
  return response;
}

HttpResponse html(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = std::string(kHtml);
  response.body = std::move(body);
  return response;
}

std::vector<std::string> segments_of(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = path.starts_with('/') ? 1 : 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  while (!segments.empty() && segments.back().empty()) segments.pop_back();
  return segments;
}

// True when `segments` matches `pattern`, where "*" matches any one segment.
bool matches(const std::vector<std::string>& segments,
             std::initializer_list<std::string_view> pattern) {
  if (segments.size() != pattern.size()) return false;
  size_t i = 0;
  for (std::string_view p : pattern) {
    if (p != "*" && segments[i] != p) return false;
    ++i;
  }
  return true;
}

// Rejects bodies nested deeper than kJsonDepthMax before RapidJSON sees them (its writer
// recurses, so depth must be bounded).
bool json_depth_ok(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kJsonDepthMax) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// The request body as a JSON object; form-encoded fields become string members.
bool parse_body(const HttpRequest& request, rapidjson::Document& doc) {
  doc.SetObject();
  const size_t first = request.body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return true;
  // A JSON object sent with a form content type (curl -d does that) is still read as JSON.
  if (request.content_type.starts_with("application/x-www-form-urlencoded") &&
      request.body[first] != '{') {
    if (!urls::parse_query(request.body)) return false;
    urls::encoding_opts opt;
    opt.space_as_plus = true;
    auto& alloc = doc.GetAllocator();
    for (auto param : urls::params_view(request.body, opt)) {
      if (doc.HasMember(param.key.c_str())) continue;
      doc.AddMember(rapidjson::Value(param.key.c_str(), alloc),
                    rapidjson::Value(param.value.c_str(), alloc), alloc);
    }
    return true;
  }
  if (!json_depth_ok(request.body)) return false;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(request.body.data(), request.body.size());
  return !doc.HasParseError() && doc.IsObject();
}

HttpResponse bad_body() {
  return to_http(error_result(400, "Request body must be a JSON object or form-encoded"));
}

}  // namespace

Router::Router(SimState& state, WebhookQueue& webhooks, std::string secret_key)
    : state_(state), webhooks_(webhooks), secret_key_(std::move(secret_key)) {}

HttpResponse Router::handle(const HttpRequest& request) {
  auto parsed = urls::parse_origin_form(request.target);
  if (!parsed) return to_http(error_result(400, "Malformed request target"));
  const std::string path = parsed->path();
  if (path.starts_with("/_sim/")) return control(request, path);  // no latency, no faults
  HttpResponse response;
  if (path.starts_with("/checkout/")) {
    response = checkout(request, path);
  } else {
    Query query;
    urls::encoding_opts opt;
    opt.space_as_plus = true;
    for (auto param : parsed->params(opt)) query.emplace(param.key, param.value);
    response = paystack(request, path, query);
  }
  response.delay_ms = state_.config().latency_ms;
  return response;
}

std::optional<HttpResponse> Router::check_key(const HttpRequest& request) const {
  if (!request.authorization || request.authorization->empty())
    return to_http(error_result(401, "No Authorization Header was found"));
  std::string_view header = *request.authorization;
  if (!header.starts_with("Bearer ") && !header.starts_with("bearer "))
    return to_http(error_result(401, "Format is Authorization Bearer [secret key]"));
  if (header.substr(7) != secret_key_) return to_http(error_result(401, "Invalid key"));
  return std::nullopt;
}

HttpResponse Router::paystack(const HttpRequest& request, const std::string& path,
                              const Query& query) {
  const SimConfig& config = state_.config();
  if (config.error_rate > 0 && random_unit() < config.error_rate) {
    // An injected outage answers before the key check and before any state change.
    int status = kInjectedStatuses[random_below(kInjectedStatuses.size())];
    return to_http(coded_error(status, "An error occurred while processing your request",
                               "Try again later", "api_error", "unknown"));
  }
  if (auto denied = check_key(request)) return std::move(*denied);
  rapidjson::Document body;
  if (request.method == "POST" || request.method == "PUT") {
    if (!parse_body(request, body)) return bad_body();
  } else {
    body.SetObject();
  }
  return dispatch(request.method, path, query, body);
}

HttpResponse Router::dispatch(const std::string& method, const std::string& path,
                              const Query& query, const rapidjson::Value& body) {
  const auto s = segments_of(path);
  const bool get = method == "GET", post = method == "POST", put = method == "PUT";
  if (post && matches(s, {"transaction", "initialize"}))
    return to_http(state_.initialize_transaction(body));
  if (get && matches(s, {"transaction", "verify", "*"}))
    return to_http(state_.verify_transaction(s[2]));
  if (get && matches(s, {"transaction"})) return to_http(state_.list_transactions(query));
  if (get && matches(s, {"transaction", "*"})) return to_http(state_.fetch_transaction(s[1]));
  if (post && matches(s, {"transferrecipient"})) return to_http(state_.create_recipient(body));
  if (get && matches(s, {"transferrecipient"})) return to_http(state_.list_recipients(query));
  if (post && matches(s, {"transfer"})) return to_http(state_.initiate_transfer(body));
  if (get && matches(s, {"transfer"})) return to_http(state_.list_transfers(query));
  if (get && matches(s, {"transfer", "verify", "*"})) return to_http(state_.verify_transfer(s[2]));
  if (post && matches(s, {"transfer", "finalize_transfer"}))
    return to_http(state_.finalize_transfer(body));
  if (post && matches(s, {"refund"})) return to_http(state_.create_refund(body));
  if (get && matches(s, {"refund"})) return to_http(state_.list_refunds(query));
  if (get && matches(s, {"refund", "*"})) return to_http(state_.fetch_refund(s[1]));
  if (post && matches(s, {"refund", "retry_with_customer_details", "*"}))
    return to_http(state_.retry_refund(s[2], body));
  if (get && matches(s, {"bank"})) return to_http(state_.list_banks(query));
  if (get && matches(s, {"bank", "resolve"})) return to_http(state_.resolve_account(query));
  if (get && matches(s, {"balance"})) return to_http(state_.fetch_balance());
  if (get && matches(s, {"dispute"})) return to_http(state_.list_disputes(query));
  if (get && matches(s, {"dispute", "*"})) return to_http(state_.fetch_dispute(s[1]));
  if (put && matches(s, {"dispute", "*", "resolve"}))
    return to_http(state_.resolve_dispute(s[1], body));
  return to_http(error_result(404, "Route not found"));
}

HttpResponse Router::control(const HttpRequest& request, const std::string& path) {
  const auto s = segments_of(path);
  const bool post = request.method == "POST";
  if (request.method == "GET" && matches(s, {"_sim", "state"})) {
    JsonOut out;
    out.begin_object();
    state_.write_state_members(out);
    out.key("webhooks");
    webhooks_.write_records(out);
    out.end_object();
    return to_http(ApiResult{200, out.take(), {}});
  }
  if (!post) return to_http(error_result(404, "Route not found"));
  rapidjson::Document body;
  if (!parse_body(request, body)) return bad_body();
  if (matches(s, {"_sim", "transactions", "*", "pay"})) {
    PayRequest pay;
    std::string outcome = member_text(body, "outcome").value_or("success");
    if (outcome == "failed") {
      pay.outcome = PayOutcome::failed;
    } else if (outcome == "abandoned") {
      pay.outcome = PayOutcome::abandoned;
    } else if (outcome != "success") {
      return to_http(error_result(400, "outcome must be success, failed or abandoned"));
    }
    if (auto it = body.FindMember("amount"); it != body.MemberEnd()) {
      pay.amount = parse_amount(it->value);
      if (!pay.amount) return to_http(error_result(400, "amount must be a positive integer"));
    }
    pay.currency = member_text(body, "currency");
    return to_http(state_.pay(s[2], pay));
  }
  if (matches(s, {"_sim", "transactions", "*", "chargeback"}))
    return to_http(state_.open_chargeback(s[2], body));
  if (matches(s, {"_sim", "disputes", "*", "remind"})) return to_http(state_.remind_dispute(s[2]));
  if (matches(s, {"_sim", "disputes", "*", "resolve"}))
    return to_http(state_.bank_resolve_dispute(s[2], body));
  if (matches(s, {"_sim", "config"})) return to_http(state_.set_config(body));
  if (matches(s, {"_sim", "webhooks", "redeliver"})) {
    size_t count = webhooks_.redeliver(state_.config());
    JsonOut out;
    out.begin_object().kbool("status", true).kstr("message", "Webhooks queued for redelivery");
    out.key("data").begin_object().kuint("count", count).end_object().end_object();
    return to_http(ApiResult{200, out.take(), {}});
  }
  if (matches(s, {"_sim", "reset"})) {
    state_.reset();
    webhooks_.reset();
    return to_http(ApiResult{200, R"({"status":true,"message":"Simulator reset"})", {}});
  }
  return to_http(error_result(404, "Route not found"));
}

HttpResponse Router::checkout(const HttpRequest& request, const std::string& path) {
  const auto s = segments_of(path);
  if (s.size() < 2) return html(404, checkout_not_found_page());
  const Transaction* tx = state_.find_by_access_code(s[1]);
  if (!tx) return html(404, checkout_not_found_page());
  if (request.method == "GET" && s.size() == 2)
    return html(200, checkout_page(*tx, state_.customer_of(*tx)));
  const bool pay = matches(s, {"checkout", "*", "pay"});
  if (request.method != "POST" || (!pay && !matches(s, {"checkout", "*", "decline"})))
    return html(404, checkout_not_found_page());
  ApiResult result =
      state_.pay_by_access_code(s[1], pay ? PayOutcome::success : PayOutcome::failed);
  tx = state_.find_by_access_code(s[1]);
  if (result.status == 409)
    return html(409, checkout_result_page(*tx, "This transaction has already been paid."));
  HttpResponse response = html(200, checkout_result_page(*tx, pay ? "Your payment was successful."
                                                                  : "Your payment was declined."));
  response.effects = std::move(result.effects);
  return response;
}

}  // namespace paystack_sim
