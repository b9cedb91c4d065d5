// Serving the embedded admin console; see console.h.
#include "api/console.h"

#include <memory>
#include <string>

#include "ledger/hash.h"

namespace escrow::api {
namespace {

constexpr const char* content_security_policy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

std::string_view content_type_of(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

void set_page_headers(HttpResponse& response) {
  response.headers.set("Content-Security-Policy", content_security_policy);
  response.headers.set("X-Frame-Options", "DENY");
  response.headers.set("X-Content-Type-Options", "nosniff");
  response.headers.set("Referrer-Policy", "no-referrer");
  response.headers.set("Cache-Control", "no-cache");
}

// One file, with its headers prepared once; the body is a view of the embedded bytes.
struct ServedFile {
  std::string_view body;
  std::string content_type;
  std::string etag;
};

HttpResponse serve(const ServedFile& file, const HttpRequest& request) {
  HttpResponse response;
  set_page_headers(response);
  response.headers.set("ETag", file.etag);
  if (request.headers.get("If-None-Match") == std::optional<std::string_view>(file.etag)) {
    response.status = 304;
    return response;
  }
  response.status = 200;
  response.headers.set("Content-Type", file.content_type);
  response.body = std::string(file.body);
  return response;
}

}  // namespace

void add_console_routes(Router& router) {
  for (const ConsoleAsset& asset : console_assets()) {
    auto file = std::make_shared<const ServedFile>(
        ServedFile{asset.body, std::string(content_type_of(asset.name)),
                   "\"" + sha256_hex(asset.body).substr(0, 32) + "\""});
    auto handler = [file](const HttpRequest& r, const RouteParams&) { return serve(*file, r); };
    if (asset.name == "index.html") {
      router.add("GET", "/admin/", handler);
    } else {
      router.add("GET", "/admin/" + std::string(asset.name), handler);
    }
  }
}

}  // namespace escrow::api
