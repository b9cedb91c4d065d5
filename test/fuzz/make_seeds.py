#!/usr/bin/env python3
# make_seeds: writes the seed corpora of the fuzz targets, test/fuzz/corpus/<target>/seed-*, from
# Paystack's official samples and OpenAPI examples (../shared/paystack: samples/*.json,
# samples/api/*.json, openapi.yaml), escrowd's own OpenAPI document (api/openapi.json) and the
# request shapes of the tests, each prefixed with the choice bytes its target reads first (see
# the comment at the top of each test/fuzz/<target>_fuzz.cpp).
#
# Run it by hand when those sources change; CI only uses the committed files (it has no
# ../shared). Seeds of the event codec also come from the `events` table of an escrow database
# given with --events-db (a demo or an escrow-sim run), one per event type. Existing seed-*
# files are replaced; regression-* inputs are never touched.
#
# Usage: test/fuzz/make_seeds.py [--shared DIR] [--events-db FILE]
import argparse
import base64
import glob
import hashlib
import hmac
import json
import os
import sqlite3
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "test", "fuzz", "corpus")

# The secrets the targets sign with (webhook_fuzz.cpp, jwt_auth_fuzz.cpp).
WEBHOOK_SECRET = b"sk_test_0123456789abcdef0123456789abcdef01234567"
JWT_SECRET = b"fuzz-secret-0123456789abcdef-0123456789abcdef"

# json_body_fuzz.cpp field lists, by index.
JSON_LISTS = {"BookingCreate": 0, "DisputeRequest": 2, "ResolveRequest": 3,
              "CancelRequest": 2, "WithdrawalRequest": 4, "PayoutAccountRequest": 5,
              "FinalizeRequest": 6, "ChargebackResponseRequest": 7, "PayRequest": 8,
              "VerifyRequest": 9, "CompleteJson": 10}

# paystack_decode_fuzz.cpp: decoders and statuses, by index.
DECODERS = {"transactions_initialize": 0, "transactions_verify": 1, "transactions_fetch": 1,
            "transactions_list": 2, "transfer-recipient_create": 3,
            "transfer-recipient_list": 4, "miscellaneous_bank": 5,
            "verification_resolve-account": 6, "transfers_initiate": 7, "transfers_verify": 7,
            "transfers_finalize": 7, "transfers_list": 8, "refunds_create": 9,
            "refunds_fetch": 9, "refunds_retry": 9, "refunds_list": 10}
STATUSES = [200, 201, 200, 400, 401, 404, 422, 429, 500, 503, 302, 0, 299, 600]
# Paystack's OpenAPI paths whose response examples feed a decoder (by operation).
OPENAPI_DECODERS = {("/balance", "get"): 11, ("/dispute/{id}", "get"): 12,
                    ("/dispute/{id}/resolve", "put"): 12, ("/dispute", "get"): 13,
                    ("/transaction/initialize", "post"): 0, ("/transaction/verify/{reference}",
                                                             "get"): 1,
                    ("/transaction", "get"): 2, ("/transfer", "post"): 7,
                    ("/transfer", "get"): 8, ("/refund", "post"): 9, ("/refund", "get"): 10,
                    ("/transferrecipient", "post"): 3, ("/transferrecipient", "get"): 4,
                    ("/bank", "get"): 5, ("/bank/resolve", "get"): 6}

# A 1x1 PNG and a tiny PDF: files libmagic types as image/png and application/pdf.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, "seed-" + name), "wb") as out:
        out.write(data)


def clear(target):
    for path in glob.glob(os.path.join(CORPUS, target, "seed-*")):
        os.remove(path)


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def escrowd_openapi():
    with open(os.path.join(ROOT, "api", "openapi.json")) as f:
        return json.load(f)


# ---- json_body, multipart, router, http_request: escrowd's own API ----------------------------

def json_bodies():
    schemas = escrowd_openapi()["components"]["schemas"]
    for name, index in JSON_LISTS.items():
        example = schemas.get(name, {}).get("example")
        if example is None:
            example = {"resolution": "merchant-accepted", "message": "Refunded",
                       "uploaded_filename": "evidence.pdf"}
        yield name, index, compact(example)
    yield "plan", 1, compact({"type": "split", "deposit_bps": 3000})


def seed_json_body():
    clear("json_body")
    for name, index, body in json_bodies():
        write("json_body", name, bytes([0, index]) + body.encode())
    write("json_body", "nested", bytes([1, 0]) + b'{"a":[{"b":{"c":[1,2.5,-3e2,true,null]}}]}')
    write("json_body", "escapes", bytes([0, 2]) + b'{"reason":"a\\u00e9\\"\\\\\\n","x":"\xc3\xa9"}')


def form(boundary, parts):
    body = b""
    for name, filename, content_type, data in parts:
        body += b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\""
        if filename is not None:
            body += b"; filename=\"" + filename + b"\""
        body += b"\r\n"
        if content_type:
            body += b"Content-Type: " + content_type + b"\r\n"
        body += b"\r\n" + data + b"\r\n"
    return body + b"--" + boundary + b"--\r\n"


def seed_multipart():
    clear("multipart")
    limits = bytes([7, 31, 7])  # parts_max 8, header lines of 256 bytes, 8 lines, no body cap
    proof = form(b"XyZ-boundary", [(b"notes", None, None, b"All rooms cleaned."),
                                   (b"files", b"photo.png", b"image/png", PNG),
                                   (b"file", b"C:\\\\docs\\\\report.pdf", b"application/pdf",
                                    PDF)])
    header = b"multipart/form-data; boundary=XyZ-boundary\n"
    write("multipart", "proof", bytes([0]) + limits + header + proof)
    write("multipart", "proof-upload", bytes([3]) + header + proof)
    quoted = form(b"a'()+_,-./:=? z", [(b"notes", None, b"text/plain; charset=utf-8", b"x")])
    write("multipart", "quoted-boundary",
          bytes([1]) + limits + b'multipart/form-data; boundary="a\'()+_,-./:=? z"\n' + quoted)
    write("multipart", "preamble", bytes([2]) + limits + header + b"preamble\r\n" +
          form(b"XyZ-boundary", [(b"files", b"", b"application/octet-stream", b"")]) +
          b"epilogue")
    json_proof = compact(escrowd_openapi()["components"]["schemas"]["CompleteJson"]["example"])
    write("multipart", "proof-json", bytes([3]) + b"application/json\n" + json_proof.encode())


def route_targets():
    openapi = escrowd_openapi()
    values = {"id": "bk_2024_0001", "sha256": "ab" * 32}
    for path, operations in openapi["paths"].items():
        concrete = path
        for name, value in values.items():
            concrete = concrete.replace("{" + name + "}", value)
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            query = []
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                schema = parameter.get("schema", {})
                example = {"integer": "10", "string": "x"}.get(schema.get("type"), "x")
                if schema.get("enum"):
                    example = schema["enum"][0]
                if schema.get("format") == "date-time" or parameter["name"] in ("from", "to"):
                    example = "2026-01-02T03:04:05.678Z"
                query.append(parameter["name"] + "=" + example)
            yield method.upper(), concrete, "&".join(query)


def seed_router():
    clear("router")
    methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "get", ""]
    for n, (method, path, query) in enumerate(route_targets()):
        target = path + ("?" + query if query else "")
        write("router", "%02d" % n, bytes([methods.index(method)]) + target.encode())
    write("router", "cursor", bytes([0]) + b"/bookings?limit=5&cursor=" +
          ("1700000000000\nbk_1\n").encode().hex().encode())
    write("router", "escapes", bytes([0]) + b"/bookings/bk%2F1%20x/events?a=%41+b&&c")
    write("router", "dates", bytes([0]) + b"/admin/revenue?from=2026-01-01&to=2026-12-31T23:59:60"
          b".999-01:30&currency=NGN")


def http(method, target, headers, body=b""):
    head = method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
    for name, value in headers:
        head += name + b": " + value + b"\r\n"
    return head + b"\r\n" + body


def seed_http_request():
    clear("http_request")
    token = b"Bearer " + jwt_token({"sub": "marketplace", "role": "service", "exp": 4102444800})
    create = compact(escrowd_openapi()["components"]["schemas"]["BookingCreate"]["example"])
    requests = {
        "healthz": http(b"GET", b"/healthz", []),
        "create": http(b"POST", b"/bookings", [(b"Authorization", token),
                                                (b"Content-Type", b"application/json"),
                                                (b"Idempotency-Key", b"k-1"),
                                                (b"Content-Length", b"%d" % len(create))],
                       create.encode()),
        "chunked": http(b"POST", b"/webhooks/paystack", [(b"Transfer-Encoding", b"chunked"),
                                                         (b"x-paystack-signature", b"ab" * 64)],
                        b"5\r\nhello\r\n0\r\n\r\n"),
        "upload": http(b"POST", b"/bookings/bk_1/complete",
                       [(b"Authorization", token), (b"Expect", b"100-continue"),
                        (b"Content-Type", b"multipart/form-data; boundary=XyZ"),
                        (b"Content-Length", b"60000000")]),
        "pipelined": http(b"GET", b"/readyz", []) + http(b"GET", b"/metrics",
                                                         [(b"Connection", b"close")]),
        "http10": b"GET /openapi.json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "too-large": http(b"POST", b"/bookings", [(b"Content-Length", b"99999999")]),
        # A provider's token valid at the target's clock (2026-01-01): the large upload limit.
        "upload-provider": http(b"POST", b"/bookings/bk_1/complete",
                                [(b"Authorization", b"Bearer " + jwt_token(
                                    {"sub": "pr_1", "role": "provider", "exp": 4102444800})),
                                 (b"Content-Type", b"multipart/form-data; boundary=XyZ"),
                                 (b"Content-Length", b"2000000")]),
        "xchunked": http(b"POST", b"/bookings", [(b"Transfer-Encoding", b"xchunked")]) +
        http(b"GET", b"/admin/bookings", []),
        "gzip-chunked": http(b"POST", b"/bookings", [(b"Transfer-Encoding", b"gzip, chunked")],
                             b"0\r\n\r\n"),
    }
    for n, (name, data) in enumerate(requests.items()):
        write("http_request", name, bytes([n % 8, 0]) + data)
    write("http_request", "small-limits", bytes([6, 0x80 | 0x3f]) + requests["create"])


# ---- webhook and paystack_decode: Paystack's samples ------------------------------------------

def seed_webhook(shared):
    clear("webhook")
    for path in sorted(glob.glob(os.path.join(shared, "samples", "*.json"))):
        name = os.path.basename(path)[:-5]
        with open(path, "rb") as f:
            body = f.read()
        signature = hmac.new(WEBHOOK_SECRET, body, hashlib.sha512).hexdigest().encode()
        write("webhook", name, bytes([0]) + body)
        write("webhook", name + "-signature", bytes([1]) + signature + b"\n" + body)
    example = escrowd_openapi()["paths"]["/webhooks/paystack"]["post"]["requestBody"]
    body = compact(example["content"]["application/json"]["example"])
    write("webhook", "openapi", bytes([0]) + body.encode())
    write("webhook", "unsigned", bytes([3]) + body.encode())
    write("webhook", "altered", bytes([6]) + body.encode())


def seed_paystack_decode(shared):
    clear("paystack_decode")
    for path in sorted(glob.glob(os.path.join(shared, "samples", "api", "*.json"))):
        name = os.path.basename(path)[:-5]
        with open(path) as f:
            by_status = json.load(f)
        for status, response in by_status.items():
            status_index = STATUSES.index(int(status)) if int(status) in STATUSES else 3
            body = compact(response["data"])
            write("paystack_decode", "%s-%s" % (name, status),
                  bytes([DECODERS[name], status_index, 0]) + body.encode())
    with open(os.path.join(shared, "openapi.yaml")) as f:
        spec = yaml.safe_load(f)
    for (path, method), decoder in OPENAPI_DECODERS.items():
        operation = spec.get("paths", {}).get(path, {}).get(method, {})
        for status, response in operation.get("responses", {}).items():
            if not str(status).isdigit():
                continue
            response = resolve(spec, response)
            for content in response.get("content", {}).values():
                value = content.get("example")
                if value is None and "schema" in content:
                    value = example_of(spec, content["schema"])
                index = STATUSES.index(int(status)) if int(status) in STATUSES else 3
                name = "openapi%s-%s-%s" % (path.replace("/", "_").replace("{", "")
                                            .replace("}", ""), method, status)
                write("paystack_decode", name,
                      bytes([decoder, index, 0]) + compact(value).encode())
    write("paystack_decode", "rate-limited",
          bytes([1, 7, 1]) + b"42\n" + b'{"status":false,"message":"Too many requests"}')


def resolve(spec, node):
    """`node` with its $ref (a "#/..." pointer into `spec`) followed, repeatedly."""
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def example_of(spec, schema, depth=0, name=""):
    """A value for `schema` made of the examples it gives (Paystack's spec has them per field),
    with a supported currency and ISO times where it gives none."""
    schema = resolve(spec, schema)
    if name == "currency" and "example" not in schema:
        return "NGN"
    if name.endswith(("_at", "At")) and "example" not in schema:
        return "2024-05-06T07:08:09.000Z"
    if "example" in schema:
        return schema["example"]
    if depth > 8:
        return None
    if "allOf" in schema:
        merged = {}
        for part in schema["allOf"]:
            value = example_of(spec, part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {key: example_of(spec, sub, depth + 1, key)
                for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_of(spec, schema.get("items", {}), depth + 1)]
    return {"boolean": True, "integer": 1, "number": 1, "string": "x"}.get(kind)


# ---- jwt_auth --------------------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jwt_token(claims, header=None, secret=JWT_SECRET):
    header = header or {"alg": "HS256", "typ": "JWT"}
    signing_input = b64url(compact(header).encode()) + b"." + b64url(compact(claims).encode())
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return signing_input + b"." + b64url(signature)


def seed_jwt_auth():
    clear("jwt_auth")
    claims = {"sub": "marketplace", "role": "service", "iat": 1700000000, "exp": 1700003600}
    write("jwt_auth", "bearer", bytes([1, 1]) + jwt_token(claims))
    write("jwt_auth", "header", bytes([0, 1]) + b"Bearer " + jwt_token(claims))
    write("jwt_auth", "claims", bytes([2, 1, 0]) + compact(claims).encode())
    write("jwt_auth", "claims-nbf", bytes([2, 1, 1]) +
          compact(dict(claims, nbf=1700000000, role="admin")).encode())
    write("jwt_auth", "header-alg-none", bytes([2, 1, 7]) + b'{"alg":"none"}\n' +
          compact(claims).encode())
    write("jwt_auth", "other-secret", bytes([3, 1, 0]) + compact(claims).encode())
    write("jwt_auth", "altered", bytes([4, 1, 5]) + compact(claims).encode())
    write("jwt_auth", "built", bytes([5, 1, 0x10, 20, 0]) + b"provider-17")


# ---- event_codec -----------------------------------------------------------------------------

def seed_event_codec(events_db):
    clear("event_codec")
    if not events_db:
        print("make_seeds: no --events-db, event_codec seeds left out", file=sys.stderr)
        return
    # Event's types then the webhook stream's, in their variants' order, as event_codec_fuzz.cpp
    # picks them.
    with open(os.path.join(ROOT, "ledger", "events.h")) as f:
        header = f.read()
    ordered = []
    for variant in ("using Event =", "using WebhookEvent ="):
        listed = header[header.index(variant):].split("<", 1)[1].split(">;", 1)[0]
        ordered += [name.strip() for name in listed.split(",")]
    for index, type_name in enumerate(ordered):
        write("event_codec", "built-" + type_name, bytes([1, index]) + bytes(range(1, 97)))
    db = sqlite3.connect("file:%s?mode=ro" % events_db, uri=True)
    for which in ("min", "max"):
        query = ("SELECT type, data FROM events WHERE seq IN "
                 "(SELECT %s(seq) FROM events GROUP BY type)" % which)
        for type_name, data in db.execute(query):
            if type_name in ordered:
                write("event_codec", "%s-%s" % (type_name, which),
                      bytes([0, ordered.index(type_name)]) + data.encode())
    write("event_codec", "unknown-type", bytes([0, len(ordered)]) + b"{}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "paystack"))
    parser.add_argument("--events-db")
    args = parser.parse_args()
    seed_json_body()
    seed_multipart()
    seed_router()
    seed_http_request()
    seed_webhook(args.shared)
    seed_paystack_decode(args.shared)
    seed_jwt_auth()
    seed_event_codec(args.events_db)


if __name__ == "__main__":
    main()
