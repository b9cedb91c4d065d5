// Operations routes (DESIGN sections 5 and 8), open to anyone: GET /healthz (the process
// answers), GET /readyz (the database is writable and migrated and the store has not failed),
// GET /metrics (Prometheus text) and GET /openapi.json (the API document).
// Thread-safety: every handler opens its own connection or reads through Queries.
#include <string>

#include "api/app.h"
#include "api/handler_support.h"
#include "api/metrics.h"
#include "api/openapi.h"
#include "ledger/store/migrations.h"

namespace escrow::api {

namespace {

struct Readiness {
  DatabaseReadiness database;
  bool store_ok = false;
  bool ready() const { return database.writable && database.migrations_current && store_ok; }
};

// A fresh probe of the file each time: a probe every few seconds costs little.
Readiness check_readiness(const Services& services) {
  return Readiness{probe_database(services.store.path()), !services.store.failed()};
}

HttpResponse readyz(const Services& services) {
  Readiness r = check_readiness(services);
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_field(w, "status", r.ready() ? "ok" : "unavailable");
  write_key(w, "checks");
  w.StartObject();
  write_key(w, "database_writable");
  w.Bool(r.database.writable);
  write_key(w, "migrations_current");
  w.Bool(r.database.migrations_current);
  write_key(w, "store_ok");
  w.Bool(r.store_ok);
  w.EndObject();
  w.EndObject();
  return json_response(r.ready() ? 200 : 503, buffer.GetString());
}

HttpResponse metrics(Services& services) {
  Result<Gauges> gauges = read_gauges(services.queries, services.store);
  if (!gauges.is_ok()) return internal_error(gauges.status());
  HttpResponse response;
  response.headers.set("Content-Type", metrics_content_type);
  response.body = services.metrics.render(gauges.value());
  return response;
}

}  // namespace

void add_ops_routes(Router& router, Services& services) {
  router.add("GET", "/healthz", [](const HttpRequest&, const RouteParams&) {
    return json_response(200, R"({"status":"ok"})");
  });
  router.add("GET", "/readyz",
             [&services](const HttpRequest&, const RouteParams&) { return readyz(services); });
  router.add("GET", "/metrics",
             [&services](const HttpRequest&, const RouteParams&) { return metrics(services); });
  router.add("GET", "/openapi.json", [](const HttpRequest&, const RouteParams&) {
    return json_response(200, std::string(openapi_document()));
  });
}

}  // namespace escrow::api
