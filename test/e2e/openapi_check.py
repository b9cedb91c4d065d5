# openapi_check: keeps api/openapi.json, escrowd's OpenAPI document, true to the service.
#
# It checks that the document (api/openapi.json, which the build embeds in escrowd) is valid JSON
# with the OpenAPI 3.0 shape (info, paths, operations with responses, the bearer JWT security
# scheme, the error body schema, every $ref resolving, every path template parameter declared);
# that every
# route of the API table of DESIGN section 5 (kept below, as CI has no copy of the design) is in
# it; that the routes escrowd registers (its router's table, as `escrowd --routes` prints it,
# `:id` read as `{id}`; the admin console page's own files aside) are exactly the document's; and
# that every example validates against its schema with jsonschema (OpenAPI's `nullable` read as
# "or null"). It also starts escrowd against paystack-sim and checks that GET /openapi.json serves
# this document and that every documented operation is routed (no 404/405 from the router without
# a token). Needs escrowd built in BUILD_DIR.
# Usage: python3 openapi_check.py BUILD_DIR SOURCE_DIR
import copy
import json
import os
import re
import subprocess
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

# DESIGN section 5, one row per operation.
DESIGN_ROUTES = {
    ("POST", "/bookings"), ("GET", "/bookings"), ("GET", "/transactions"),
    ("GET", "/bookings/{id}"), ("GET", "/bookings/{id}/events"), ("GET", "/bookings/{id}/at"),
    ("POST", "/bookings/{id}/pay"), ("POST", "/bookings/{id}/complete"),
    ("GET", "/bookings/{id}/proof/{sha256}"), ("POST", "/bookings/{id}/release-payment"),
    ("POST", "/bookings/{id}/dispute"), ("POST", "/bookings/{id}/dispute/resolve"),
    ("POST", "/bookings/{id}/cancel"), ("POST", "/payments/verify"),
    ("PUT", "/providers/{id}/payout-account"), ("GET", "/providers/{id}/balance"),
    ("POST", "/providers/{id}/withdrawals"), ("GET", "/providers/{id}/withdrawals"),
    ("POST", "/webhooks/paystack"), ("GET", "/admin/disputes"), ("GET", "/admin/webhook-events"),
    ("POST", "/admin/webhook-events/{id}/retry"), ("POST", "/admin/payouts/{id}/finalize"),
    ("GET", "/events"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
    ("GET", "/openapi.json"), ("GET", "/admin/"),
}
PUBLIC_ROUTES = {("POST", "/webhooks/paystack"), ("GET", "/healthz"), ("GET", "/readyz"),
                 ("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/admin/")}

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message, file=sys.stderr)


def load_document(source_dir):
    path = os.path.join(source_dir, "api", "openapi.json")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        raise SystemExit(f"FAIL: cannot read api/openapi.json: {e}")
    try:
        return json.loads(text)
    except ValueError as e:
        raise SystemExit(f"FAIL: the OpenAPI document is not valid JSON: {e}")


def operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method], item


def resolve(doc, node):
    """Follows $ref chains within the document."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise KeyError(f"external $ref {ref}")
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        seen += 1
        if seen > 20:
            raise KeyError(f"$ref loop at {ref}")
    return node


def check_refs(doc, node, where):
    if isinstance(node, dict):
        if "$ref" in node:
            try:
                resolve(doc, node)
            except (KeyError, TypeError) as e:
                fail(f"{where}: unresolved $ref {node['$ref']} ({e})")
        for key, value in node.items():
            check_refs(doc, value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            check_refs(doc, value, f"{where}/{i}")


def check_shape(doc):
    if not str(doc.get("openapi", "")).startswith("3.0"):
        fail(f"openapi is {doc.get('openapi')!r}, expected 3.0.x")
    info = doc.get("info", {})
    if not info.get("title") or not info.get("version"):
        fail("info needs title and version")
    if not isinstance(doc.get("paths"), dict) or not doc["paths"]:
        fail("no paths")
        return
    scheme = doc.get("components", {}).get("securitySchemes", {}).get("bearerAuth", {})
    if (scheme.get("type"), scheme.get("scheme"), scheme.get("bearerFormat")) != ("http", "bearer", "JWT"):
        fail(f"securitySchemes.bearerAuth must be http bearer JWT, got {scheme}")
    if doc.get("security") != [{"bearerAuth": []}]:
        fail("the document's default security must be bearerAuth")
    error = resolve(doc, {"$ref": "#/components/schemas/Error"})
    inner = error.get("properties", {}).get("error", {})
    if error.get("required") != ["error"] or sorted(inner.get("required", [])) != ["code", "message"]:
        fail("components.schemas.Error must be {error: {code, message}} with both required")
    check_refs(doc, doc, "#")
    for method, path, op, item in operations(doc):
        where = f"{method} {path}"
        if not op.get("responses"):
            fail(f"{where}: no responses")
        if not op.get("operationId"):
            fail(f"{where}: no operationId")
        declared = set()
        for param in item.get("parameters", []) + op.get("parameters", []):
            param = resolve(doc, param)
            if param.get("in") == "path":
                declared.add(param["name"])
                if not param.get("required"):
                    fail(f"{where}: path parameter {param['name']} must be required")
        in_template = set(re.findall(r"{([^}]+)}", path))
        if declared != in_template:
            fail(f"{where}: path parameters declared {sorted(declared)} != template {sorted(in_template)}")
        public = (method, path) in PUBLIC_ROUTES
        if public and op.get("security") != []:
            fail(f"{where}: a public route must say security: []")
        if not public and "security" in op:
            fail(f"{where}: must use the default bearerAuth security")
        if not public and "401" not in op["responses"]:
            fail(f"{where}: an authenticated route must document 401")
        for status, response in op["responses"].items():
            response = resolve(doc, response)
            if status[0] in "45" and status != "503":
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") != "#/components/schemas/Error":
                    fail(f"{where} {status}: error responses must use the Error schema")
        if method in ("POST", "PUT") and path != "/webhooks/paystack":
            names = [resolve(doc, p).get("name") for p in op.get("parameters", [])]
            if "Idempotency-Key" not in names:
                fail(f"{where}: POST/PUT must document the Idempotency-Key header")


def registered_routes(build_dir):
    """escrowd's route table, from `escrowd --routes`: one `METHOD /pattern` per line."""
    escrowd = os.path.join(build_dir, "escrowd")
    if not os.access(escrowd, os.X_OK):
        fail(f"no escrowd in {build_dir}: build it, the route table comes from `escrowd --routes`")
        return set()
    try:
        run = subprocess.run([escrowd, "--routes"], capture_output=True, text=True, timeout=60,
                             env={k: v for k, v in os.environ.items() if k in ("PATH", "TMPDIR")})
    except subprocess.TimeoutExpired:
        fail("escrowd --routes did not finish in 60 s")
        return set()
    if run.returncode != 0:
        fail(f"escrowd --routes exited {run.returncode}: {run.stderr.strip()}")
        return set()
    routes = set()
    line_pattern = re.compile(r"(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (/\S*)")
    for line in run.stdout.splitlines():
        match = line_pattern.fullmatch(line)
        if not match:
            fail(f"escrowd --routes printed {line!r}, not `METHOD /pattern`")
            continue
        method, route = match.groups()
        route = re.sub(r":([A-Za-z0-9_]+)", r"{\1}", route)
        if (method, route) in routes:
            fail(f"escrowd --routes lists {method} {route} twice")
        routes.add((method, route))
    return routes


def console_file_routes(source_dir):
    """GET /admin/<file> for every file of the admin console but its page (index.html, served
    as GET /admin/): the page's stylesheet, script and icon, which are not API operations."""
    folder = os.path.join(source_dir, "api", "console")
    return {("GET", "/admin/" + name) for name in os.listdir(folder)
            if name != "index.html" and os.path.isfile(os.path.join(folder, name))}


def check_routes(doc, build_dir, source_dir):
    documented = {(m, p) for m, p, _, _ in operations(doc)}
    for route in sorted(DESIGN_ROUTES - documented):
        fail(f"DESIGN route {route[0]} {route[1]} is not in the document")
    registered = registered_routes(build_dir)
    if not registered:
        fail("escrowd --routes listed no route")
        return
    console_files = console_file_routes(source_dir)
    for route in sorted(console_files - registered):
        fail(f"escrowd does not serve the console file {route[1]} (api/console/)")
    registered -= console_files
    for route in sorted(registered - documented):
        fail(f"escrowd registers {route[0]} {route[1]} but the document does not list it")
    for route in sorted(documented - registered):
        fail(f"the document lists {route[0]} {route[1]} but escrowd does not register it")


def json_schema(doc, schema):
    """An OpenAPI 3.0 schema as a self-contained JSON Schema: $refs inlined, nullable as null."""
    def convert(node):
        if isinstance(node, list):
            return [convert(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return convert(copy.deepcopy(resolve(doc, node)))
        out = {k: convert(v) for k, v in node.items() if k not in ("nullable", "example")}
        if node.get("nullable"):
            return {"anyOf": [out, {"type": "null"}]}
        return out
    return convert(schema)


def schema_errors(doc, schema, instance):
    """jsonschema's complaints about `instance` against an OpenAPI schema (or a $ref to one)."""
    validator = jsonschema.Draft4Validator(json_schema(doc, schema))
    return [f"{e.message} at {list(e.path)}" for e in
            sorted(validator.iter_errors(instance), key=lambda e: list(e.path))]


def source_document():
    """The document of the source tree this file belongs to."""
    return load_document(os.path.dirname(os.path.dirname(HERE)))


def validate_example(doc, schema, example, where):
    for error in schema_errors(doc, schema, example)[:3]:
        fail(f"{where}: example does not match its schema: {error}")
    return 1


def check_examples(doc):
    count = 0
    for name, schema in doc["components"]["schemas"].items():
        if "example" in schema:
            count += validate_example(doc, schema, schema["example"], f"schemas/{name}")

    def media_types(node, where):
        if isinstance(node, dict):
            if "schema" in node and ("example" in node or "examples" in node):
                yield where, node
            for key, value in node.items():
                yield from media_types(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from media_types(value, f"{where}/{i}")

    for where, media in media_types({"paths": doc["paths"], "components": doc["components"]}, "#"):
        if "example" in media:
            count += validate_example(doc, media["schema"], media["example"], where)
        for key, example in media.get("examples", {}).items():
            count += validate_example(doc, media["schema"], resolve(doc, example)["value"],
                                      f"{where}/examples/{key}")
    if count < 20:
        fail(f"only {count} examples: every request body and the main schemas need one")
    return count


def check_served(doc, build_dir):
    """escrowd serves this document and routes every documented operation."""
    import harness
    world = harness.World.start(build_dir)
    try:
        r = world.api.get("/openapi.json")
        if r.status != 200 or not r.headers.get("content-type", "").startswith("application/json"):
            fail(f"GET /openapi.json: {r.status} {r.headers.get('content-type')}")
        elif r.json() != doc:
            fail("GET /openapi.json does not serve api/openapi.json's document")
        for method, path, _, _ in operations(doc):
            concrete = re.sub(r"{sha256}", "0" * 64, re.sub(r"{[^}]+}", "x1", path))
            r = world.api.request(method, concrete, body=b"{}" if method != "GET" else None,
                                  content_type="application/json" if method != "GET" else None)
            if r.status == 405 or (r.status == 404 and r.error_code() == "not_found"):
                fail(f"{method} {path}: escrowd answers {r.status} {r.error_code()}: not routed")
    finally:
        world.stop(verify=False)


def main():
    build_dir, source_dir = sys.argv[1], sys.argv[2]
    doc = load_document(source_dir)
    check_shape(doc)
    check_routes(doc, build_dir, source_dir)
    examples = check_examples(doc)
    if os.access(os.path.join(build_dir, "escrowd"), os.X_OK):
        os.environ["E2E_BUILD_DIR"] = build_dir
        check_served(doc, build_dir)
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    print(f"OK: {sum(1 for _ in operations(doc))} operations, {examples} examples, "
          "the routes of escrowd --routes, served by escrowd")
    return 0


if __name__ == "__main__":
    sys.exit(main())
