// The simulator's request handling as a plain function from request to response, apart from
// the socket code (server.cpp): Paystack paths (with key check, injected latency and 5xx
// errors), the checkout pages, and the control API under /_sim/. Thread-safety: none; called
// from the io_context's single thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "state.h"
#include "webhook_queue.h"

namespace paystack_sim {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin form: path and query
  std::optional<std::string> authorization;
  std::string content_type;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  int64_t delay_ms = 0;  // injected latency: wait this long before answering
  Effects effects;       // webhooks and follow-ups for the shell to carry out
};

class Router {
 public:
  Router(SimState& state, WebhookQueue& webhooks, std::string secret_key);
  HttpResponse handle(const HttpRequest& request);

 private:
  HttpResponse paystack(const HttpRequest& request, const std::string& path, const Query& query);
  HttpResponse dispatch(const std::string& method, const std::string& path, const Query& query,
                        const rapidjson::Value& body);
  HttpResponse control(const HttpRequest& request, const std::string& path);
  HttpResponse checkout(const HttpRequest& request, const std::string& path);
  std::optional<HttpResponse> check_key(const HttpRequest& request) const;

  SimState& state_;
  WebhookQueue& webhooks_;
  std::string secret_key_;
};

}  // namespace paystack_sim
