# test_security: what a hostile or careless caller can do to escrowd over HTTP, end to end
# against the real service and paystack-sim (harness.py):
#   - strangers' tokens (another client, another provider, and roles a route does not admit:
#     auditor, service, a party on an admin route) on every route answer 401/403/404, and nothing
#     changes: the event log's head, the victims' bookings and the simulator's state are the same
#     afterwards, and a stranger's listing shows none of the victim's bookings;
#   - bad tokens (expired, signed with another secret, alg none, HS512, garbage, another scheme,
#     an unknown role, no exp) on every authenticated route answer 401, even with an admin role
#     claimed; the public routes answer without a token;
#   - malformed JSON, wrong types, out-of-range values, a wrong media type, bodies over 1 MiB,
#     deep nesting, duplicate keys, a fake image and bad paths/queries answer a 4xx and change
#     nothing, and the service stays up;
#   - the per-token rate limit (a second escrowd with ESCROW_RATE_LIMIT_PER_MIN=20) answers 429
#     with Retry-After, per token, and leaves the probes alone.
# After the module, `escrowctl verify` must pass on both databases.
# Run by test/e2e/e2e_security_test.sh (E2E_BUILD_DIR names the build directory).
import json
import time
import unittest

from harness import (PNG_1X1, Market, World, mint_jwt, multipart, new_id)

WORLD = None
M = None
V = {}  # the victims and their things, set up once


def setUpModule():
    global WORLD, M
    WORLD = World.start()
    M = Market(WORLD)
    # A victim provider with an account and a victim client with a held, proven booking (B1),
    # an unpaid one (B2).
    V["provider_id"], V["provider"] = M.provider(with_account=True)
    b1, V["client"] = M.funded_booking(V["provider_id"])
    V["client_id"] = b1["client_id"]
    proven = M.submit_proof_png(b1["id"], V["provider"])
    V["b1"], V["sha256"] = b1["id"], proven["proof"]["files"][0]["sha256"]
    V["reference"] = b1["payments"][0]["reference"]
    V["b2"] = M.create_booking(V["client_id"], V["provider_id"])["id"]
    # The victim opened a checkout on B2 with an Idempotency-Key: its answer holds the
    # authorization URL, which must never be replayed to anyone else.
    V["pay_key"] = new_id("victim-pay")
    V["checkout"] = M.expect(WORLD.api.post(f"/bookings/{V['b2']}/pay", {}, token=V["client"],
                                            headers={"Idempotency-Key": V["pay_key"]}), 201, "victim pays")


def tearDownModule():
    result = WORLD.stop()
    if result is None or result.returncode != 0:
        raise AssertionError("escrowctl verify failed after the security module:\n" +
                             (result.stdout + result.stderr if result else "not run"))


def every_route():
    """(method, path, body) for every authenticated route, aimed at the victims' things."""
    b1, b2, p = V["b1"], V["b2"], V["provider_id"]
    return [
        ("POST", "/bookings", {"id": new_id("bk"), "client_id": V["client_id"], "provider_id": p,
                               "client_email": "x@example.com", "amount": 500000, "currency": "NGN",
                               "description": "x", "payment_plan": {"type": "full"}}),
        ("GET", f"/bookings?client_id={V['client_id']}", None),
        ("GET", f"/transactions?party_id={V['client_id']}", None),
        ("GET", f"/bookings/{b1}", None),
        ("GET", f"/bookings/{b1}/events", None),
        ("GET", f"/bookings/{b1}/at?seq=1", None),
        ("POST", f"/bookings/{b2}/pay", {}),
        ("POST", f"/bookings/{b1}/complete", {"notes": "mine now"}),
        ("GET", f"/bookings/{b1}/proof/{V['sha256']}", None),
        ("POST", f"/bookings/{b1}/release-payment", {}),
        ("POST", f"/bookings/{b1}/dispute", {"reason": "x", "description": "x"}),
        ("POST", f"/bookings/{b1}/dispute/resolve", {"outcome": "refund", "note": "x"}),
        ("POST", f"/bookings/{b1}/cancel", {"reason": "x"}),
        ("POST", "/payments/verify", {"reference": V["reference"]}),
        ("PUT", f"/providers/{p}/payout-account", {"bank_code": "044", "account_number": "0987654321",
                                                  "account_name": "Thief", "currency": "NGN"}),
        ("GET", f"/providers/{p}/balance", None),
        ("POST", f"/providers/{p}/withdrawals", {"amount": 1000, "currency": "NGN"}),
        ("GET", f"/providers/{p}/withdrawals", None),
        ("GET", "/admin/disputes?status=open", None),
        ("GET", "/admin/webhook-events", None),
        ("GET", "/admin/webhook-events/1", None),
        ("POST", "/admin/webhook-events/1/retry", {}),
        ("POST", "/admin/payouts/po-does-not-matter-0001/finalize", {"otp": "123456"}),
        ("POST", "/admin/payouts/po-does-not-matter-0001/retry", {}),
        ("POST", "/admin/refunds/rf-does-not-matter-0001/retry", {}),
        ("GET", "/events?after=0", None),
    ]


# Who may not do what (DESIGN section 5): route index -> the tokens that must be refused.
def strangers():
    _, stranger_client = M.client()
    _, stranger_provider = M.provider()
    victim_client, victim_provider = V["client"], V["provider"]
    auditor, service = M.auditor, M.service
    parties = [stranger_client, stranger_provider]
    not_admin = [stranger_client, stranger_provider, victim_client, victim_provider, service, auditor]
    return {
        "/bookings": [stranger_client, stranger_provider, victim_client, victim_provider, auditor],
        "/bookings/{b1}": parties, "/bookings/{b1}/events": parties, "/bookings/{b1}/at": parties,
        "/bookings/{b2}/pay": parties + [auditor, victim_provider],
        "/bookings/{b1}/complete": parties + [victim_client, service, auditor],
        "/bookings/{b1}/proof": parties + [auditor],
        "/bookings/{b1}/release-payment": parties + [victim_provider, service, auditor],
        "/bookings/{b1}/dispute": parties + [service, auditor],
        "/bookings/{b1}/dispute/resolve": not_admin,
        "/bookings/{b1}/cancel": parties + [service, auditor],
        "/payments/verify": parties + [auditor],
        "/providers/{p}/payout-account": [stranger_provider, stranger_client, victim_client, auditor],
        "/providers/{p}/balance": [stranger_provider, stranger_client, victim_client],
        "POST /providers/{p}/withdrawals": [stranger_provider, stranger_client, victim_client, service,
                                            auditor],
        "GET /providers/{p}/withdrawals": [stranger_provider, stranger_client, victim_client],
        "/admin/disputes": [stranger_client, stranger_provider, service, auditor],
        "/admin/webhook-events": [stranger_client, stranger_provider, service],
        "/admin/webhook-events/1": [stranger_client, stranger_provider, service],
        "/admin/webhook-events/1/retry": not_admin,
        "/admin/payouts/finalize": not_admin,
        "/admin/payouts/retry": not_admin,
        "/admin/refunds/retry": not_admin,
        "/events": [stranger_client, stranger_provider, service],
    }, {"stranger_client": stranger_client, "stranger_provider": stranger_provider}


def route_key(method, path):
    b1, b2, p = V["b1"], V["b2"], V["provider_id"]
    bare = path.split("?")[0].replace(b1, "{b1}").replace(b2, "{b2}").replace(p, "{p}")
    bare = bare.replace("/" + V["sha256"], "").replace("/po-does-not-matter-0001", "")
    bare = bare.replace("/rf-does-not-matter-0001", "")
    return f"{method} {bare}" if bare.startswith("/providers/{p}/withdrawals") else bare


def snapshot():
    """What a refused request must leave alone."""
    sim = WORLD.sim_state()
    return {"events": [e["hash"] for e in M.all_events()],
            "b1": M.booking(V["b1"]), "b2": M.booking(V["b2"]),
            "sim": {k: sim[k] for k in ("transactions", "transfers", "refunds", "recipients")}}


def send(method, path, body, token=None, headers=None):
    return WORLD.api.request(method, path, body=body, token=token, headers=headers)


class Strangers(unittest.TestCase):
    def test_strangers_and_wrong_roles_are_refused_on_every_route_and_nothing_changes(self):
        refusals, _ = strangers()
        before = snapshot()
        checked = 0
        for method, path, body in every_route():
            key = route_key(method, path)
            if method == "GET" and key in ("/bookings", "/transactions"):
                continue  # listings answer 200 filtered to the caller: see the next test
            tokens = refusals.get(key, refusals.get(key.split("?")[0]))
            self.assertIsNotNone(tokens, f"no refusal list for {key}")
            for token in tokens:
                r = send(method, path, body, token=token)
                self.assertIn(r.status, (401, 403, 404), f"{method} {path}: {r}")
                self.assertIsNotNone(r.error_code(), f"{method} {path}: not the error body: {r}")
                checked += 1
        self.assertGreater(checked, 60)
        self.assertEqual(snapshot(), before)

    def test_a_strangers_listings_show_none_of_the_victims_money(self):
        _, who = strangers()
        for token in (who["stranger_client"], who["stranger_provider"]):
            r = send("GET", f"/bookings?client_id={V['client_id']}", None, token=token)
            if r.status == 200:
                self.assertNotIn(V["b1"], r.body.decode(), r)
            else:
                self.assertIn(r.status, (403, 404), r)
            r = send("GET", "/bookings", None, token=token)
            self.assertEqual(r.status, 200, r)
            self.assertNotIn(V["b1"], r.body.decode())
            r = send("GET", f"/transactions?party_id={V['client_id']}", None, token=token)
            if r.status == 200:
                self.assertNotIn(V["reference"], r.body.decode(), r)
            else:
                self.assertIn(r.status, (403, 404), r)

    def test_another_actors_idempotency_key_replays_nothing(self):
        _, who = strangers()
        before = snapshot()
        for token in (who["stranger_client"], M.auditor):
            r = send("POST", f"/bookings/{V['b2']}/pay", {}, token=token,
                     headers={"Idempotency-Key": V["pay_key"]})
            self.assertIn(r.status, (403, 404), r)
            self.assertNotIn("idempotent-replayed", r.headers)
            self.assertNotIn(V["checkout"]["access_code"], r.body.decode())
        self.assertEqual(snapshot(), before)

    def test_the_victims_still_can(self):
        # The refusals above are about who asks, not about broken routes.
        self.assertEqual(send("GET", f"/bookings/{V['b1']}", None, token=V["client"]).status, 200)
        self.assertEqual(send("GET", f"/providers/{V['provider_id']}/balance", None,
                              token=V["provider"]).status, 200)
        r = send("GET", f"/bookings/{V['b1']}/proof/{V['sha256']}", None, token=V["client"])
        self.assertEqual((r.status, r.body), (200, PNG_1X1))


class BadTokens(unittest.TestCase):
    def bad_tokens(self):
        now = int(time.time())
        secret = WORLD.jwt_secret
        admin = {"sub": "admin-ops", "role": "admin"}
        return {
            "expired": mint_jwt(secret, dict(admin, exp=now - 3600)),
            "wrong secret": mint_jwt("another-secret-" + "x" * 40, dict(admin, exp=now + 600)),
            "alg none": mint_jwt(secret, dict(admin, exp=now + 600), alg="none"),
            "HS512": mint_jwt(secret, dict(admin, exp=now + 600), alg="HS512"),
            "no exp": mint_jwt(secret, admin),
            "unknown role": mint_jwt(secret, {"sub": "x", "role": "superuser", "exp": now + 600}),
            "system role": mint_jwt(secret, {"sub": "x", "role": "system", "exp": now + 600}),
            "garbage": "abc.def.ghi",
            "truncated": WORLD.token("admin", "admin-ops")[:-5],
        }

    def test_bad_tokens_are_401_on_every_authenticated_route(self):
        before = snapshot()
        for method, path, body in every_route():
            for name, token in self.bad_tokens().items():
                r = send(method, path, body, token=token)
                self.assertEqual(r.status, 401, f"{name} on {method} {path}: {r}")
                self.assertEqual(r.error_code(), "unauthorized", r)
            self.assertEqual(send(method, path, body).status, 401, f"no token on {method} {path}")
            r = send(method, path, body, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
            self.assertEqual(r.status, 401, f"Basic auth on {method} {path}: {r}")
        self.assertEqual(snapshot(), before)

    def test_refusals_echo_no_token_and_carry_a_request_id(self):
        token = mint_jwt("another-secret-" + "x" * 40, {"sub": "s", "role": "admin", "exp": int(time.time()) + 60})
        r = send("GET", f"/bookings/{V['b1']}", None, token=token)
        self.assertEqual(r.status, 401)
        self.assertNotIn(token.split(".")[2], r.body.decode())
        self.assertTrue(r.headers.get("x-request-id"))
        self.assertIn("bearer", r.headers.get("www-authenticate", "").lower())

    def test_public_routes_need_no_token(self):
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            r = send("GET", path, None)
            self.assertEqual(r.status, 200, f"{path}: {r}")
            self.assertTrue(r.headers.get("x-request-id"), path)
        self.assertNotIn(WORLD.secret_key, send("GET", "/metrics", None).body.decode())


class BadInput(unittest.TestCase):
    def booking_body(self, **changes):
        body = {"id": new_id("bk"), "client_id": "cl_x", "provider_id": "pr_x",
                "client_email": "x@example.com", "amount": 500000, "currency": "NGN",
                "description": "x", "payment_plan": {"type": "full"}}
        body.update(changes)
        return body

    def assert_refused(self, response, statuses, what):
        self.assertIn(response.status, statuses, f"{what}: {response}")
        self.assertIsNotNone(response.error_code(), f"{what}: {response}")

    def test_malformed_and_mistyped_bodies_are_4xx_and_change_nothing(self):
        before = snapshot()
        post = lambda body, ctype="application/json": WORLD.api.request(  # noqa: E731
            "POST", "/bookings", body=body, token=M.service, content_type=ctype)
        self.assert_refused(post(b'{"id": "x", '), (400,), "truncated JSON")
        self.assert_refused(post(b"[1, 2]"), (400,), "an array")
        self.assert_refused(post(b'{"amount": 1, "amount": 2}'), (400,), "duplicate keys")
        self.assert_refused(post(b"\xff\xfe{}"), (400,), "invalid UTF-8")
        self.assert_refused(post(b"{}"), (400,), "missing fields")
        for field, value in [("amount", "500000"), ("amount", 5000.5), ("amount", -1), ("amount", 0),
                             ("amount", 2 ** 70), ("amount", True), ("currency", "XYZ"),
                             ("currency", 566), ("id", "has space"), ("id", "x" * 65),
                             ("client_email", 12), ("payment_plan", {"type": "monthly"}),
                             ("payment_plan", {"type": "split", "deposit_bps": 0}),
                             ("payment_plan", {"type": "split", "deposit_bps": 10000}),
                             ("fee_bps", 10001), ("fee_bps", -5), ("auto_confirm_after_s", -1),
                             ("pay_by", "next tuesday"), ("description", None)]:
            self.assert_refused(post(json.dumps(self.booking_body(**{field: value}))), (400,),
                                f"{field}={value!r}")
        self.assert_refused(post(json.dumps(self.booking_body(amount=1))), (400, 409), "below minimum")
        self.assert_refused(post(json.dumps(self.booking_body()), "text/plain"), (415,), "text/plain")
        self.assert_refused(post(json.dumps(self.booking_body()), "application/x-www-form-urlencoded"),
                            (415,), "form body")
        self.assertEqual(snapshot(), before)

    def test_huge_and_deeply_nested_bodies(self):
        before = snapshot()
        huge = json.dumps(self.booking_body(description="x" * (1024 * 1024 + 10)))
        try:
            r = WORLD.api.request("POST", "/bookings", body=huge, token=M.service,
                                  content_type="application/json")
            self.assert_refused(r, (413,), "a body over 1 MiB")
        except (BrokenPipeError, ConnectionResetError) as e:
            self.fail(f"a body over 1 MiB: the connection was dropped without a 413 ({e!r})")
        deep = '{"a":' * 200 + "1" + "}" * 200
        r = WORLD.api.request("POST", "/bookings", body=deep, token=M.service, content_type="application/json")
        self.assert_refused(r, (400,), "200 levels of nesting")
        deeper = "[" * 100000 + "]" * 100000
        r = WORLD.api.request("POST", f"/bookings/{V['b1']}/dispute", body=deeper, token=V["client"],
                              content_type="application/json")
        self.assert_refused(r, (400, 413), "100000 levels of nesting")
        self.assertEqual(WORLD.api.get("/healthz").status, 200)
        self.assertEqual(snapshot(), before)

    def test_uploads_are_sniffed_and_bounded(self):
        provider_id, provider = M.provider()
        b, _ = M.funded_booking(provider_id)
        before = snapshot()
        path = f"/bookings/{b['id']}/complete"
        ctype, body = multipart({"notes": "n"}, [("files", "a.png", "image/png", b"#!/bin/sh\nrm -rf /\n")])
        self.assert_refused(WORLD.api.post(path, body, token=provider, content_type=ctype), (400, 415),
                            "a script declared as a PNG")
        big = PNG_1X1 + b"\0" * (10 * 1024 * 1024)
        ctype, body = multipart({"notes": "n"}, [("files", "big.png", "image/png", big)])
        self.assert_refused(WORLD.api.post(path, body, token=provider, content_type=ctype), (400, 413),
                            "a file over 10 MiB")
        files = [("files", f"{i}.png", "image/png", PNG_1X1) for i in range(11)]
        ctype, body = multipart({"notes": "n"}, files)
        self.assert_refused(WORLD.api.post(path, body, token=provider, content_type=ctype), (400, 409, 413),
                            "11 files")
        self.assert_refused(WORLD.api.post(path, b"--x\r\nnot really\r\n", token=provider,
                                           content_type="multipart/form-data; boundary=zzz"), (400,),
                            "a broken multipart body")
        self.assertEqual(snapshot(), before)
        self.assertEqual(M.booking(b["id"])["status"], "pending_execution")

    def test_bad_paths_and_queries(self):
        before = snapshot()
        for path in ("/bookings/%00", "/bookings/" + "x" * 3000, "/bookings?limit=0",
                     "/bookings?limit=abc", "/bookings?limit=100000", "/bookings?status=nonsense",
                     "/bookings?cursor=%%%", f"/bookings/{V['b1']}/at?seq=-1",
                     f"/bookings/{V['b1']}/at?seq=1&time=2026-01-01T00:00:00Z", "/events?after=-5"):
            r = WORLD.api.get(path, token=M.admin)
            self.assert_refused(r, (400, 404, 414), path)
        self.assertEqual(WORLD.api.request("DELETE", f"/bookings/{V['b1']}", token=M.admin).status, 405)
        for name in ("..%2F..%2Fescrow.db", "..", "%2e%2e", "A" * 64, V["sha256"].upper()):
            r = WORLD.api.get(f"/bookings/{V['b1']}/proof/{name}", token=V["client"])
            self.assert_refused(r, (400, 404), f"proof file {name}")
        self.assertEqual(snapshot(), before)

    def test_an_oversized_header_block_is_refused(self):
        r = WORLD.api.get("/healthz", headers={"X-Padding": "p" * (64 * 1024)})
        self.assertIn(r.status, (400, 431), r)
        self.assertEqual(WORLD.api.get("/healthz").status, 200)


class RateLimit(unittest.TestCase):
    def test_a_token_over_its_limit_gets_429_and_others_do_not(self):
        world = World.start(escrowd_env={"ESCROW_RATE_LIMIT_PER_MIN": "20"})
        try:
            greedy = world.token("client", "greedy")
            statuses = [world.api.get("/bookings", token=greedy) for _ in range(40)]
            limited = [r for r in statuses if r.status == 429]
            self.assertTrue(limited, [r.status for r in statuses])
            self.assertEqual(limited[0].error_code(), "rate_limited")
            self.assertTrue(limited[0].headers.get("retry-after"), limited[0].headers)
            self.assertTrue(all(r.status in (200, 429) for r in statuses))
            self.assertLessEqual(len(statuses) - len(limited), 25)
            # Another token and the probes are not held back by the greedy one.
            self.assertEqual(world.api.get("/bookings", token=world.token("client", "modest")).status, 200)
            self.assertEqual(world.api.get("/healthz").status, 200)
        finally:
            result = world.stop()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
