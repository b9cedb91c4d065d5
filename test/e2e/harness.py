# harness: runs the real escrowd against the real paystack-sim over loopback, for the end-to-end
# suites (test_flows.py, test_security.py, test_crash.py). Python 3 standard library only.
#
#   world = World.start(escrowd_env={...})              # sim first, then escrowd, then wiring
#   r = world.api.post("/bookings", body, token=world.token("service", "svc"))
#   world.pay_at_sim(reference)                         # completes the checkout: charge.success
#   world.wait_for(lambda: ...)                         # polls until an async effect shows
#   world.stop()                                        # escrowctl verify, kill, remove temp dir
#
# Processes are started with their stdout/stderr in files under the world's temp dir, so nothing
# blocks on a pipe; their first stdout line gives the URL. stop() kills both processes even when a
# test failed, then removes the temp dir; an atexit hook does the same if a module dies early.
# JWTs are minted here (HS256 with hmac/hashlib/base64url) so that the tests depend on nothing the
# service ships. Not thread-safe: one World per test module.
import atexit
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

START_TIMEOUT_S = 20
REQUEST_TIMEOUT_S = 30
POLL_TIMEOUT_S = 15

# A 1x1 PNG: a real image, so the server's content sniffing accepts it.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

# A bank account the simulator resolves (10 digits) at a bank it lists.
BANK_CODE = "044"
ACCOUNT_NUMBER = "0123456789"
SIM_OTP = "123456"  # the only OTP paystack-sim accepts (tools/paystack-sim/README.md)


def build_dir():
    return os.environ["E2E_BUILD_DIR"]


# --- tokens -----------------------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_jwt(secret, claims, alg="HS256"):
    """A JWT over `claims`, signed with `secret` (HS256 or HS512); alg "none" leaves the
    signature empty."""
    header = {"alg": alg, "typ": "JWT"}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    if alg == "none":
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    sig = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return signing_input + "." + b64url(sig)


# --- HTTP -------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)

    def error_code(self):
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self):
        return f"<{self.status} {self.body[:600]!r}>"


class Http:
    """A tiny client for one base URL. Bodies: dict/list -> JSON, bytes/str sent as given."""

    def __init__(self, base_url):
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.base_url = base_url

    def request(self, method, path, body=None, token=None, headers=None, content_type=None,
                timeout=REQUEST_TIMEOUT_S):
        all_headers = {}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode()
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        if token is not None:
            all_headers["Authorization"] = "Bearer " + token
        all_headers.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body if body is not None else {}, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body if body is not None else {}, **kw)


def multipart(fields, files):
    """(content_type, body) for multipart/form-data; files are (field, filename, type, bytes)."""
    boundary = "----e2e" + secrets.token_hex(12)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + value.encode() + b"\r\n")
    for field, filename, ctype, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                     f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode() +
                     data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return "multipart/form-data; boundary=" + boundary, b"".join(parts)


# --- processes --------------------------------------------------------------------------------

class Process:
    """A child process whose first stdout line ends with its URL. Its stdout and stderr go to
    files named after it; a restart under the same name appends to them."""

    def __init__(self, name, argv, env, log_dir):
        self.name = name
        self.out_path = os.path.join(log_dir, f"{name}.out")
        self.err_path = os.path.join(log_dir, f"{name}.err")
        earlier = self._listening_lines()
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL)
        self.url = self._wait_for_url(earlier)

    def _listening_lines(self):
        try:
            with open(self.out_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return []
        return [line for line in lines if " listening on http://" in line]

    def _wait_for_url(self, earlier):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n" +
                                   self.log_tail())
            listening = self._listening_lines()
            if len(listening) > len(earlier):
                return listening[-1].rsplit(" ", 1)[-1].rstrip("/")
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"{self.name} printed no URL in {START_TIMEOUT_S}s:\n" + self.log_tail())

    def log_tail(self, lines=40):
        chunks = []
        for path in (self.out_path, self.err_path):
            try:
                with open(path, "rb") as f:
                    text = f.read().decode(errors="replace").splitlines()
                chunks.append(f"--- {os.path.basename(path)} ---\n" + "\n".join(text[-lines:]))
            except OSError:
                pass
        return "\n".join(chunks)

    def alive(self):
        return self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def terminate(self):
        self.kill(signal.SIGTERM)


class NotificationReceiver:
    """The marketplace's end of ESCROW_NOTIFY_URL: records every POST (headers and raw body) and
    answers 200. Runs an http.server on 127.0.0.1:0 in a daemon thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = []  # (headers dict with lowercase names, body bytes)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/escrow-events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def deliveries(self):
        with self.lock:
            return list(self.received)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class World:
    """One paystack-sim and one escrowd on a fresh database, and what tests need to drive them."""

    _live = []

    def __init__(self, build, escrowd_env=None):
        self.build = build
        self.tmp = tempfile.mkdtemp(prefix="escrow-e2e-")
        self.secret_key = "sk_test_" + secrets.token_hex(20)
        self.jwt_secret = secrets.token_hex(32)
        self.db = os.path.join(self.tmp, "escrow.db")
        self.blob_dir = os.path.join(self.tmp, "blobs")
        self.escrowd_env = dict(escrowd_env or {})
        self.sim = None
        self.escrowd = None
        self.notifications = None
        self.notify_secret = secrets.token_hex(16)
        World._live.append(self)

    @classmethod
    def start(cls, build=None, escrowd_env=None, notify=False):
        """notify: escrowd posts its notifications to a NotificationReceiver (world.notifications)."""
        world = cls(build or build_dir(), escrowd_env)
        try:
            if notify:
                world.notifications = NotificationReceiver()
                world.escrowd_env.update({"ESCROW_NOTIFY_URL": world.notifications.url,
                                          "ESCROW_NOTIFY_SECRET": world.notify_secret})
            world.start_sim()
            world.start_escrowd()
        except BaseException:
            world.stop(verify=False)
            raise
        return world

    # -- processes --

    def start_sim(self):
        argv = [os.path.join(self.build, "paystack-sim"), "--listen", "127.0.0.1:0",
                "--secret-key", self.secret_key,
                # escrowd's port is known only once it runs: start_escrowd() points the sim at it.
                "--webhook-url", "http://127.0.0.1:9/webhooks/paystack"]
        env = {k: v for k, v in os.environ.items() if k != "PAYSTACK_SECRET_KEY"}
        self.sim = Process("paystack-sim", argv, env, self.tmp)
        self.sim_http = Http(self.sim.url)

    def escrowd_environment(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ESCROW_", "PAYSTACK_"))}
        env.update({
            "PAYSTACK_SECRET_KEY": self.secret_key,
            "PAYSTACK_BASE_URL": self.sim.url,
            "ESCROW_LISTEN": "127.0.0.1:0",
            "ESCROW_DB": self.db,
            "ESCROW_BLOB_DIR": self.blob_dir,
            "ESCROW_JWT_SECRET": self.jwt_secret,
            "ESCROW_SYNCHRONOUS": "normal",
            "ESCROW_SCHEDULER_INTERVAL_MS": "200",
            "ESCROW_PENDING_CHECK_AFTER_S": "3",
            "ESCROW_THREADS": "4",
            # The tests poll as fast as a dashboard would; the rate-limit test sets its own.
            "ESCROW_RATE_LIMIT_PER_MIN": "100000",
        })
        env.update(self.escrowd_env)
        return env

    def start_escrowd(self):
        """Starts (or restarts, on the same database) escrowd and points the sim's webhooks at it."""
        self.escrowd = Process("escrowd", [os.path.join(self.build, "escrowd")],
                               self.escrowd_environment(), self.tmp)
        self.api = Http(self.escrowd.url)
        self.sim_config(webhook_url=self.escrowd.url + "/webhooks/paystack")

    def kill_escrowd(self):
        self.escrowd.kill(signal.SIGKILL)

    def stop(self, verify=True):
        """Stops escrowd gracefully, runs `escrowctl verify` on its database, kills the sim and
        removes the temp dir. Returns the verify result (None when not run)."""
        result = None
        try:
            if self.escrowd is not None:
                self.escrowd.terminate()
            if verify and os.path.exists(self.db):
                result = subprocess.run([os.path.join(self.build, "escrowctl"), "verify",
                                         "--db", self.db], capture_output=True, text=True,
                                        timeout=120)
        finally:
            if self.sim is not None:
                self.sim.terminate()
            if self.notifications is not None:
                self.notifications.stop()
            if result is not None and result.returncode != 0:
                # Keep the evidence: the database and the logs stay for a post-mortem.
                print(f"escrowctl verify failed; kept {self.tmp}", flush=True)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
            if self in World._live:
                World._live.remove(self)
        return result

    def escrowd_log_text(self):
        """Everything escrowd wrote to stdout and stderr so far (every run under this world)."""
        text = ""
        for path in (self.escrowd.out_path, self.escrowd.err_path):
            with open(path, "rb") as f:
                text += f.read().decode(errors="replace")
        return text

    def logs(self):
        parts = []
        for p in (self.escrowd, self.sim):
            if p is not None:
                parts.append(p.log_tail())
        return "\n".join(parts)

    # -- identities --

    def token(self, role, sub, ttl_s=3600):
        now = int(time.time())
        return mint_jwt(self.jwt_secret, {"sub": sub, "role": role, "iat": now, "exp": now + ttl_s})

    # -- the simulator's control API --

    def sim_config(self, **settings):
        r = self.sim_http.post("/_sim/config", settings)
        if r.status != 200:
            raise AssertionError(f"sim config {settings}: {r}")
        return r.json()["data"]

    def sim_state(self):
        r = self.sim_http.get("/_sim/state")
        assert r.status == 200, r
        return r.json()

    def pay_at_sim(self, reference, outcome="success", **extra):
        body = {"outcome": outcome}
        body.update(extra)
        r = self.sim_http.post(f"/_sim/transactions/{urllib.parse.quote(reference)}/pay", body)
        if r.status != 200:
            raise AssertionError(f"sim pay {reference}: {r}")
        return r.json()["data"]

    def sim_transfers(self, reference=None):
        transfers = self.sim_state()["transfers"]
        return [t for t in transfers if reference is None or t["reference"] == reference]

    def sim_refunds(self, transaction_reference=None):
        refunds = self.sim_state()["refunds"]
        return [r for r in refunds
                if transaction_reference is None or r["transaction_reference"] == transaction_reference]

    # -- waiting --

    def wait_for(self, probe, what, timeout_s=POLL_TIMEOUT_S, interval_s=0.1):
        """Calls probe() until it returns a truthy value and returns that value."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            time.sleep(interval_s)
        raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last: {last!r}\n"
                             + self.logs())


@atexit.register
def _stop_leftovers():
    for world in list(World._live):
        world.stop(verify=False)


# --- the marketplace's side: bookings, payments, providers ------------------------------------

def new_id(prefix):
    return f"{prefix}_{secrets.token_hex(6)}"


def fee_of(gross, fee_bps=500):
    return gross * fee_bps // 10000


class Market:
    """Drives escrowd as the marketplace, its users and an admin would, through a World.
    Every helper asserts the status it expects and returns the parsed JSON."""

    def __init__(self, world):
        self.world = world
        self.service = world.token("service", "market-backend")
        self.admin = world.token("admin", "admin-ops")
        self.auditor = world.token("auditor", "auditor-1")

    @property
    def api(self):
        return self.world.api  # a restart gives escrowd a new port

    def expect(self, response, status, what):
        if response.status != status:
            raise AssertionError(f"{what}: expected {status}, got {response!r}")
        return response.json() if response.body else None

    # -- parties --

    def client(self):
        cid = new_id("cl")
        return cid, self.world.token("client", cid)

    def provider(self, with_account=False):
        pid = new_id("pr")
        token = self.world.token("provider", pid)
        if with_account:
            self.register_account(pid, token)
        return pid, token

    def register_account(self, provider_id, token, currency="NGN"):
        body = {"bank_code": BANK_CODE, "account_number": ACCOUNT_NUMBER,
                "account_name": "Bola Ade", "currency": currency}
        return self.expect(self.api.put(f"/providers/{provider_id}/payout-account", body, token=token),
                           200, "register payout account")

    # -- bookings --

    def create_booking(self, client_id, provider_id, amount=500000, currency="NGN", **extra):
        body = {"id": new_id("bk"), "client_id": client_id, "provider_id": provider_id,
                "client_email": f"{client_id}@example.com", "amount": amount, "currency": currency,
                "description": "Deep clean, 3-bedroom flat", "payment_plan": {"type": "full"}}
        body.update(extra)
        return self.expect(self.api.post("/bookings", body, token=self.service), 201, "create booking")

    def booking(self, booking_id, token=None):
        return self.expect(self.api.get(f"/bookings/{booking_id}", token=token or self.admin), 200,
                           f"GET /bookings/{booking_id}")

    def wait_booking(self, booking_id, predicate, what, timeout_s=POLL_TIMEOUT_S):
        def probe():
            b = self.booking(booking_id)
            return b if predicate(b) else None
        return self.world.wait_for(probe, f"booking {booking_id}: {what}", timeout_s)

    def pay(self, booking_id, token):
        return self.expect(self.api.post(f"/bookings/{booking_id}/pay", {}, token=token), 201,
                           f"pay {booking_id}")

    def fund(self, booking_id, token, **sim_pay):
        """Pays the next installment at the sim and waits until escrowd captured it."""
        checkout = self.pay(booking_id, token)
        self.world.pay_at_sim(checkout["reference"], **sim_pay)
        self.wait_booking(booking_id, lambda b: payment(b, checkout["reference"])["status"] == "captured",
                          f"payment {checkout['reference']} captured")
        return checkout

    def funded_booking(self, provider_id=None, amount=500000, **extra):
        """A booking of a new client, paid in full and held in escrow: (booking, client token)."""
        client_id, client = self.client()
        if provider_id is None:
            provider_id, _ = self.provider()
        b = self.create_booking(client_id, provider_id, amount=amount, **extra)
        self.fund(b["id"], client)
        return self.booking(b["id"]), client

    def submit_proof_json(self, booking_id, provider_token, notes="Done; photos attached."):
        body = {"notes": notes, "attachments": [{"url": "https://cdn.example.com/proof/1.jpg"}]}
        return self.expect(self.api.post(f"/bookings/{booking_id}/complete", body, token=provider_token),
                           200, "submit proof (JSON)")

    def submit_proof_png(self, booking_id, provider_token, notes="Done; photo attached."):
        ctype, body = multipart({"notes": notes}, [("files", "after.png", "image/png", PNG_1X1)])
        return self.expect(self.api.post(f"/bookings/{booking_id}/complete", body, token=provider_token,
                                         content_type=ctype), 200, "submit proof (multipart)")

    def release(self, booking_id, token):
        return self.expect(self.api.post(f"/bookings/{booking_id}/release-payment", {}, token=token),
                           200, "release")

    def wait_payout(self, booking_id, status, timeout_s=POLL_TIMEOUT_S):
        b = self.wait_booking(booking_id, lambda b: any(p["status"] == status for p in b.get("payouts", [])),
                              f"a payout {status}", timeout_s)
        return [p for p in b["payouts"] if p["status"] == status][-1]

    def balance(self, provider_id, currency="NGN"):
        """The provider's balance entry in `currency` (zeros when it has none)."""
        data = self.expect(self.api.get(f"/providers/{provider_id}/balance", token=self.admin), 200,
                           "provider balance")
        for entry in data.get("balances", []):
            if entry["currency"] == currency:
                return entry
        return {"currency": currency, "available": 0, "pending_escrow": 0, "in_flight": 0,
                "total_earned": 0}

    def events_of(self, booking_id):
        data = self.expect(self.api.get(f"/bookings/{booking_id}/events", token=self.admin), 200,
                           "booking events")
        return data["data"]

    def all_events(self):
        """The whole global log, page after page."""
        events, after = [], 0
        while True:
            page = self.expect(self.api.get(f"/events?after={after}&limit=1000", token=self.admin), 200,
                               "GET /events")
            if not page["data"]:
                return events
            events += page["data"]
            after = page["next_after"]

    def quiet(self):
        """Waits until no payout or refund is still on its way (the outbox is idle)."""
        def idle():
            state = self.world.sim_state()
            busy = [t for t in state["transfers"] if t["status"] in ("pending", "otp")]
            busy += [r for r in state["refunds"] if r["status"] in ("pending", "processing")]
            return not busy
        self.world.wait_for(idle, "transfers and refunds to settle")


def payment(booking, reference):
    for p in booking.get("payments", []):
        if p["reference"] == reference:
            return p
    return {"status": None}
