// Operations routes (DESIGN sections 5 and 8), open to anyone: GET /healthz (the process
// answers), GET /readyz (the database is writable and migrated and the store has not failed),
// GET /metrics (Prometheus text) and GET /openapi.json (the API document).
// Thread-safety: every handler opens or leases its own connection.
#include <string>

#include "api/app.h"
#include "api/handler_support.h"
#include "api/metrics.h"
#include "api/openapi.h"
#include "ledger/store/read_pool.h"
#include "ledger/store/migrations.h"

namespace escrow::api {

namespace {

struct Readiness {
  bool database_writable = false;
  bool migrations_current = false;
  bool store_ok = false;
  bool ready() const { return database_writable && migrations_current && store_ok; }
};

// A fresh read-write connection per probe: it sees what a restart would see (a file turned
// read-only, a schema changed under us), and a probe every few seconds costs little.
Readiness check_readiness(const Services& services) {
  Readiness r;
  r.store_ok = !services.store.failed();
  Result<sqlite::Db> db = sqlite::Db::open(services.store.path(), sqlite::Db::Mode::read_write);
  if (!db.is_ok()) return r;
  r.database_writable = sqlite3_db_readonly(db->raw(), "main") == 0;
  r.migrations_current = schema_is_current(db.value());
  return r;
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
  w.Bool(r.database_writable);
  write_key(w, "migrations_current");
  w.Bool(r.migrations_current);
  write_key(w, "store_ok");
  w.Bool(r.store_ok);
  w.EndObject();
  w.EndObject();
  return json_response(r.ready() ? 200 : 503, buffer.GetString());
}

HttpResponse metrics(Services& services) {
  Result<ReadPool::Lease> lease = services.reads.lease();
  if (!lease.is_ok()) return internal_error(lease.status());
  Result<Gauges> gauges = read_gauges(lease.value().db(), services.store);
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
