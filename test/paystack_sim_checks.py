# paystack_sim_checks: drives a real paystack-sim process over loopback HTTP, with Python's
# standard library, the way our Paystack client and the escrow service will: a small webhook
# receiver (http.server on 127.0.0.1:0) whose answers the test controls records every delivery.
# It checks the command line (first stdout line, refusals of a live key and of a non-loopback
# address), authentication on every Paystack path (401 bodies), transaction initialize / verify /
# list / fetch with their validation errors (duplicate_reference, bad characters, missing
# fields), the balance arithmetic (charge fee incl. waiver and cap, transfer amount + fee,
# refunds, re-credits), recipients, banks and account resolution, every transfer mode and refund
# mode with the webhooks they send, disputes (chargebacks opened, reminded and resolved through
# the control API and by the merchant, with reversal and balance debit), duplicate transfer
# references, insufficient balance,
# webhook signatures (HMAC-SHA512 over the exact bytes), retries after a 500, duplicates, drops,
# redelivery, shuffle, delay, injected 5xx, latency, limits, reset, the checkout page's Pay and
# Decline buttons and SIGTERM. Finally every success body the simulator sent is validated
# against the official OpenAPI response schema (paystack_sim_schema.py).
# Usage: python3 paystack_sim_checks.py PAYSTACK_SIM_BINARY SHARED_PAYSTACK_DIR
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paystack_sim_schema  # noqa: E402

BINARY, SHARED = sys.argv[1], sys.argv[2]
KEY = "sk_test_" + secrets.token_hex(16)
OPENING = 100_000_000_000
RECORDED = []  # (method, path, status, body) of every Paystack-path answer


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def equal(actual, expected, what):
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


# --- the webhook receiver ------------------------------------------------------------------

class Receiver:
    def __init__(self):
        self.cond = threading.Condition()
        self.deliveries = []  # dicts: event, reference, body, signature, content_type, at, status
        self.plan = {}        # reference -> statuses to answer before 200, or one for always
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                data = json.loads(body).get("data", {})
                # Dispute webhooks have transaction_reference null and the transaction embedded.
                embedded = data.get("transaction")
                reference = (data.get("reference") or data.get("transaction_reference") or
                             (embedded.get("reference") if isinstance(embedded, dict) else None))
                with receiver.cond:
                    plan = receiver.plan.get(reference, [])
                    if isinstance(plan, int):  # always this status
                        status = plan
                    else:
                        status = plan.pop(0) if plan else 200
                    receiver.deliveries.append({
                        "event": json.loads(body)["event"], "reference": reference,
                        "body": body, "signature": self.headers.get("x-paystack-signature"),
                        "content_type": self.headers.get("Content-Type"),
                        "at": time.monotonic(), "status": status, "path": self.path})
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, reference, event=None):
        with self.cond:
            return [d for d in self.deliveries
                    if d["reference"] == reference and (event is None or d["event"] == event)]

    def wait(self, reference, event, count=1, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [d for d in self.deliveries if d["reference"] == reference and
                       d["event"] == event]
                if len(got) >= count or time.monotonic() > deadline:
                    break
                self.cond.wait(0.05)
        check(len(got) >= count, f"expected {count} {event} webhook(s) for {reference}, got "
                                 f"{len(got)}: {[d['event'] for d in self.of(reference)]}")
        return got


# --- the simulator process and HTTP helpers ------------------------------------------------

class Sim:
    def __init__(self, receiver):
        self.stderr = open(os.environ.get("SIM_STDERR", os.devnull), "w")
        self.proc = subprocess.Popen(
            [BINARY, "--listen", "127.0.0.1:0", "--secret-key", KEY, "--webhook-url",
             f"http://127.0.0.1:{receiver.port}/paystack/webhook"],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline().rstrip("\n")
        m = re.fullmatch(r"paystack-sim listening on http://127\.0\.0\.1:(\d+)", line)
        check(m is not None, f"first stdout line: {line!r}")
        self.port = int(m.group(1))
        self.base = f"http://127.0.0.1:{self.port}"


SIM = None


def request(method, path, body=None, key=KEY, form=False, auth=None, raw=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", SIM.port, timeout=timeout)
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth
    elif key is not None:
        headers["Authorization"] = "Bearer " + key
    data = raw
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    text = response.read()
    conn.close()
    content_type = response.getheader("Content-Type", "")
    parsed = json.loads(text) if content_type.startswith("application/json") else text.decode()
    if not path.startswith("/_sim/") and not path.startswith("/checkout/"):
        RECORDED.append((method, path.split("?")[0], response.status, parsed))
    return response.status, parsed


def api(method, path, body=None, expect=200, **kw):
    status, parsed = request(method, path, body, **kw)
    check(status == expect, f"{method} {path}: HTTP {status}, expected {expect}: {parsed}")
    if expect < 300:
        check(parsed["status"] is True and isinstance(parsed["message"], str),
              f"{method} {path}: envelope {parsed}")
    return parsed


def control(path, body=None, expect=200):
    status, parsed = request("POST", path, body if body is not None else {}, key=None)
    check(status == expect, f"POST {path}: HTTP {status}, expected {expect}: {parsed}")
    return parsed


def config(**settings):
    return control("/_sim/config", settings)


def state():
    status, parsed = request("GET", "/_sim/state", key=None)
    equal(status, 200, "GET /_sim/state")
    return parsed


def balance(currency="NGN"):
    data = api("GET", "/balance")["data"]
    return next(b["balance"] for b in data if b["currency"] == currency)


def new_reference(prefix="ref"):
    return f"{prefix}-{secrets.token_hex(6)}"


def initialize(amount=500_000, currency="NGN", email="client@example.com", **extra):
    body = {"email": email, "amount": amount, "currency": currency, **extra}
    return api("POST", "/transaction/initialize", body)["data"]


def paid_transaction(amount=500_000, currency="NGN"):
    data = initialize(amount, currency, reference=new_reference("paid"))
    control(f"/_sim/transactions/{data['reference']}/pay", {"outcome": "success"})
    return data["reference"]


def ngn_charge_fee(amount):
    fee = (amount * 15 + 500) // 1000
    if amount >= 250_000:
        fee += 10_000
    return min(fee, 200_000)


def ngn_transfer_fee(amount):
    return 1_000 if amount <= 500_000 else 2_500 if amount <= 5_000_000 else 5_000


def verify_signature(delivery):
    expected = hmac.new(KEY.encode(), delivery["body"], hashlib.sha512).hexdigest()
    check(hmac.compare_digest(expected, delivery["signature"] or ""),
          f"bad x-paystack-signature on {delivery['event']}")
    equal(delivery["content_type"], "application/json", "webhook Content-Type")
    parsed = json.loads(delivery["body"])
    compact = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode()
    equal(delivery["body"], compact, "webhook body is compact JSON")
    equal(list(parsed), ["event", "data"], "webhook envelope keys")
    return parsed["data"]


# --- the checks ----------------------------------------------------------------------------

def check_command_line(receiver):
    url = f"http://127.0.0.1:{receiver.port}/"
    for args, why in [
        (["--secret-key", "sk_live_" + "x" * 8, "--webhook-url", url], "a live key"),
        (["--listen", "0.0.0.0:0", "--secret-key", KEY, "--webhook-url", url], "0.0.0.0"),
        (["--secret-key", KEY, "--webhook-url", "http://example.com/hook"], "remote webhooks"),
        (["--secret-key", KEY], "no webhook url"),
    ]:
        run = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=10)
        check(run.returncode != 0 and run.stdout == "", f"paystack-sim accepted {why}")


PAYSTACK_PATHS = [
    ("POST", "/transaction/initialize"), ("GET", "/transaction/verify/abc"),
    ("GET", "/transaction"), ("GET", "/transaction/4099260516"),
    ("POST", "/transferrecipient"), ("GET", "/transferrecipient"), ("POST", "/transfer"),
    ("GET", "/transfer"), ("GET", "/transfer/verify/abcdefghijklmnopq"),
    ("POST", "/transfer/finalize_transfer"), ("POST", "/refund"), ("GET", "/refund"),
    ("GET", "/refund/3018284"), ("GET", "/bank"), ("GET", "/bank/resolve"), ("GET", "/balance"),
    ("GET", "/dispute"), ("GET", "/dispute/358951"), ("PUT", "/dispute/358951/resolve"),
]


def check_auth():
    for method, path in PAYSTACK_PATHS:
        body = {} if method == "POST" else None
        status, parsed = request(method, path, body, key="sk_test_wrong")
        equal((status, parsed), (401, {"status": False, "message": "Invalid key"}),
              f"{method} {path} with a wrong key")
        status, parsed = request(method, path, body, key=None)
        equal((status, parsed),
              (401, {"status": False, "message": "No Authorization Header was found"}),
              f"{method} {path} without a key")
    status, parsed = request("GET", "/balance", auth="Token " + KEY)
    equal(status, 401, "malformed Authorization header")
    status, parsed = request("GET", "/no/such/path")
    equal(status, 404, "unknown path")


def check_initialize_and_verify(receiver):
    ref = new_reference("init")
    metadata = {"booking_id": "bk_1", "installment": 1, "tags": ["a", "é"], "nested": {"x": None}}
    data = initialize(250_000, reference=ref, metadata=metadata, callback_url="http://cb.test/r")
    equal(data["reference"], ref, "initialize reference")
    equal(data["authorization_url"], f"{SIM.base}/checkout/{data['access_code']}",
          "authorization_url")
    # Amount as a numeric string, and a form-encoded body, are accepted too.
    api("POST", "/transaction/initialize", {"email": "s@example.com", "amount": "20000"})
    form = api("POST", "/transaction/initialize",
               {"email": "f@example.com", "amount": "30000", "metadata": '{"k":"v"}'}, form=True)
    check(re.fullmatch(r"[a-z0-9]{10}", form["data"]["reference"]), "generated reference")

    status, body = request("POST", "/transaction/initialize",
                           {"email": "d@example.com", "amount": 5000, "reference": ref})
    equal((status, body), (400, {
        "status": False, "message": "Duplicate Transaction Reference",
        "meta": {"nextStep": "Try and create the Transaction or Charge with a new reference"},
        "type": "validation_error", "code": "duplicate_reference",
        "errorCodeMappingNotFound": False}), "duplicate transaction reference")
    for body, message in [
        ({"amount": 5000}, "Email Address is required"),
        ({"email": "x@example.com"}, "Amount is required"),
        ({"email": "x@example.com", "amount": "12a"}, "Invalid Amount Sent"),
        ({"email": "x@example.com", "amount": 5000, "reference": "bad ref!"},
         "Invalid character in transaction reference"),
        ({"email": "x@example.com", "amount": 5000, "currency": "EUR"},
         "Currency not supported by merchant"),
        ({"email": "not-an-email", "amount": 5000}, "Invalid Email Address Passed"),
    ]:
        status, parsed = request("POST", "/transaction/initialize", body)
        equal((status, parsed.get("status"), parsed.get("message")), (400, False, message),
              f"initialize {body}")

    # Verify: unknown, unpaid (abandoned), empty reference, then paid.
    equal(request("GET", "/transaction/verify/nope-123"),
          (400, {"status": False, "message": "Transaction reference not found"}), "unknown ref")
    unpaid = api("GET", f"/transaction/verify/{ref}")
    equal(unpaid["message"], "Verification successful", "verify message")
    equal(unpaid["data"]["status"], "abandoned", "unpaid status")
    equal(unpaid["data"]["paid_at"], None, "unpaid paid_at")
    equal(request("GET", "/transaction/verify/"),
          (400, {"status": False, "message": "Transaction ID should be numeric."}), "empty ref")
    tx_id = unpaid["data"]["id"]
    check(tx_id > 2**31, f"transaction id {tx_id} should not fit a signed 32-bit int")

    before = balance()
    control(f"/_sim/transactions/{ref}/pay", {"outcome": "success"})
    webhook = receiver.wait(ref, "charge.success")[0]
    data = verify_signature(webhook)
    equal(data["metadata"], metadata, "metadata echoed in charge.success")
    check(b'"metadata":{"booking_id":"bk_1","installment":1,"tags":["a","\xc3\xa9"],'
          b'"nested":{"x":null}}' in webhook["body"], "metadata echoed byte for byte")
    equal(data["fees"], ngn_charge_fee(250_000), "charge.success fees")
    equal((data["status"], data["amount"], data["currency"], data["customer"]["email"]),
          ("success", 250_000, "NGN", "client@example.com"), "charge.success data")
    check(data["authorization"]["authorization_code"].startswith("AUTH_"), "authorization")
    verified = api("GET", f"/transaction/verify/{ref}")["data"]
    equal((verified["status"], verified["fees"], verified["metadata"]),
          ("success", 13_750, metadata), "verify after payment")
    equal(balance() - before, 250_000 - 13_750, "charge credit")
    fetched = api("GET", f"/transaction/{tx_id}")
    equal((fetched["message"], fetched["data"]["reference"]), ("Transaction retrieved", ref),
          "fetch by id")
    equal(request("GET", "/transaction/9999999999")[0], 404, "unknown transaction id")
    equal(request("GET", "/transaction/abc"),
          (400, {"status": False, "message": "Transaction ID should be numeric."}), "fetch abc")
    equal(request("POST", f"/_sim/transactions/{ref}/pay", {}, key=None)[0], 409, "paid twice")


def check_fees_and_outcomes(receiver):
    for amount in (100_000, 249_999, 250_000, 13_000_000, 20_000_000):
        before = balance()
        ref = paid_transaction(amount)
        fee = ngn_charge_fee(amount)
        equal(api("GET", f"/transaction/verify/{ref}")["data"]["fees"], fee, f"fee on {amount}")
        equal(balance() - before, amount - fee, f"balance credit for {amount}")
    equal(ngn_charge_fee(100_000), 1_500, "waiver under NGN 2,500")
    equal(ngn_charge_fee(20_000_000), 200_000, "cap at NGN 2,000")

    # A wrong-amount payment: amount is what was charged, requested_amount what was asked.
    data = initialize(300_000)
    control(f"/_sim/transactions/{data['reference']}/pay", {"outcome": "success",
                                                             "amount": 100_000, "currency": "GHS"})
    v = api("GET", f"/transaction/verify/{data['reference']}")["data"]
    equal((v["amount"], v["requested_amount"], v["currency"]), (100_000, 300_000, "GHS"),
          "wrong-amount payment")
    # Failed and abandoned payments send no webhook.
    for outcome in ("failed", "abandoned"):
        data = initialize(50_000)
        control(f"/_sim/transactions/{data['reference']}/pay", {"outcome": outcome})
        equal(api("GET", f"/transaction/verify/{data['reference']}")["data"]["status"], outcome,
              f"{outcome} payment")
        time.sleep(0.1)
        equal(receiver.of(data["reference"]), [], f"no webhook for a {outcome} payment")
    control("/_sim/transactions/nope/pay", {"outcome": "success"}, expect=404)
    control(f"/_sim/transactions/{data['reference']}/pay", {"outcome": "maybe"}, expect=400)


def check_transaction_list():
    listed = api("GET", "/transaction?perPage=2&page=1")
    meta = listed["meta"]
    equal(len(listed["data"]), 2, "perPage")
    equal((meta["perPage"], meta["page"], meta["skipped"]), (2, 1, 0), "list meta")
    check(meta["total"] >= 10 and meta["pageCount"] == (meta["total"] + 1) // 2, f"meta {meta}")
    check(isinstance(meta["total_volume"], int), "total_volume")
    second = api("GET", "/transaction?per_page=2&page=2")
    equal(second["meta"]["skipped"], 2, "per_page spelling and page 2")
    check(listed["data"][0]["id"] > second["data"][0]["id"], "newest first")
    future = api("GET", "/transaction?from=2999-01-01T00:00:00Z")
    equal(future["meta"]["total"], 0, "from in the future")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    check(api("GET", f"/transaction?from={today}&to={today}")["meta"]["total"] >= 10, "to=today")
    success = api("GET", "/transaction?status=success&perPage=100")["data"]
    check(success and all(t["status"] == "success" for t in success), "status filter")
    equal(request("GET", "/transaction?from=yesterday")[0], 400, "bad from date")
    # Cursor pagination: next, then previous back to the first page.
    first = api("GET", "/transaction?use_cursor=true&perPage=3")
    equal((first["meta"]["previous"], first["meta"]["perPage"]), (None, 3), "cursor meta")
    check(first["meta"]["next"], "cursor next")
    following = api("GET", "/transaction?use_cursor=true&perPage=3&next=" +
                    urllib.parse.quote(first["meta"]["next"]))
    check(following["data"][0]["id"] < first["data"][-1]["id"], "next page is older")
    back = api("GET", "/transaction?use_cursor=true&perPage=3&previous=" +
               urllib.parse.quote(following["meta"]["previous"]))
    equal([t["id"] for t in back["data"]], [t["id"] for t in first["data"]], "previous page")


def check_checkout(receiver):
    callback = "http://merchant.test/done?x=1"
    data = initialize(777_700, email="buyer@example.com", reference=new_reference("co"),
                      callback_url=callback)
    status, page = request("GET", f"/checkout/{data['access_code']}", key=None)
    equal(status, 200, "checkout page")
    for text in ("NGN 7,777.00", "buyer@example.com", data["reference"],
                 f'action="/checkout/{data["access_code"]}/pay"',
                 f'action="/checkout/{data["access_code"]}/decline"'):
        check(text in page, f"checkout page lacks {text!r}")
    status, page = request("POST", f"/checkout/{data['access_code']}/pay", key=None)
    equal(status, 200, "Pay button")
    ref = urllib.parse.quote(data["reference"])
    check(f"{callback}&amp;trxref={ref}&amp;reference={ref}" in page, "callback link")
    receiver.wait(data["reference"], "charge.success")
    equal(api("GET", f"/transaction/verify/{data['reference']}")["data"]["status"], "success",
          "paid through checkout")
    declined = initialize(10_000)
    status, page = request("POST", f"/checkout/{declined['access_code']}/decline", key=None)
    equal(status, 200, "Decline button")
    check("Payment failed" in page, "decline page")
    equal(api("GET", f"/transaction/verify/{declined['reference']}")["data"]["status"], "failed",
          "declined through checkout")
    equal(request("GET", "/checkout/nosuchcode", key=None)[0], 404, "unknown checkout")


def check_banks_and_recipients():
    banks = api("GET", "/bank")
    equal(banks["message"], "Banks retrieved", "banks message")
    check(any(b["code"] == "058" for b in banks["data"]), "GTBank listed")
    ghs = api("GET", "/bank?currency=GHS")["data"]
    check(ghs and all(b["currency"] == "GHS" for b in ghs), "currency filter")
    page = api("GET", "/bank?perPage=3")
    check(len(page["data"]) == 3 and page["meta"]["next"], "bank cursor")
    following = api("GET", "/bank?perPage=3&next=" + urllib.parse.quote(page["meta"]["next"]))
    check(following["data"][0]["code"] != page["data"][0]["code"], "next page of banks")
    resolved = api("GET", "/bank/resolve?account_number=0001234567&bank_code=058")
    equal((resolved["message"], resolved["data"]["account_number"]),
          ("Account number resolved", "0001234567"), "resolve")
    check(resolved["data"]["account_name"], "resolved name")
    status, body = request("GET", "/bank/resolve?account_number=12345&bank_code=058")
    equal((status, body["message"]),
          (422, "Could not resolve account name. Check parameters or try again."), "bad account")
    equal(request("GET", "/bank/resolve?account_number=0001234567&bank_code=999")[0], 400,
          "unknown bank code")

    body = {"type": "nuban", "name": "Ada Provider", "account_number": "0123456789",
            "bank_code": "058", "currency": "NGN"}
    created = api("POST", "/transferrecipient", body, expect=201)
    data = created["data"]
    equal(created["message"], "Transfer recipient created successfully", "recipient message")
    check(data["recipient_code"].startswith("RCP_"), "recipient code")
    equal((data["details"]["account_number"], data["details"]["bank_code"],
           data["details"]["bank_name"]), ("0123456789", "058", "Guaranty Trust Bank"), "details")
    check(data["details"]["account_name"], "account_name")
    again = api("POST", "/transferrecipient", body, expect=201)
    equal(again["data"]["recipient_code"], data["recipient_code"], "same account, same recipient")
    equal(request("POST", "/transferrecipient", {**body, "bank_code": "999"})[0], 400,
          "unknown bank")
    equal(request("POST", "/transferrecipient", {"type": "nuban", "bank_code": "058"})[0], 400,
          "missing name")
    listed = api("GET", "/transferrecipient")
    check(any(r["recipient_code"] == data["recipient_code"] for r in listed["data"]), "listed")
    equal(listed["meta"]["page"], 1, "recipient list meta")
    return data["recipient_code"]


def transfer(recipient, amount, reference=None, expect=200):
    body = {"source": "balance", "amount": amount, "recipient": recipient, "reason": "payout",
            "reference": reference or "tr-" + secrets.token_hex(10)}
    return api("POST", "/transfer", body, expect=expect)


def check_transfers(receiver, recipient):
    before = balance()
    t = transfer(recipient, 100_000)
    data = t["data"]
    equal((t["message"], data["status"]), ("Transfer has been queued", "success"), "success mode")
    check(data["transfer_code"].startswith("TRF_"), "transfer code")
    equal(before - balance(), 100_000 + ngn_transfer_fee(100_000), "transfer debit")
    hook = verify_signature(receiver.wait(data["reference"], "transfer.success")[0])
    equal((hook["amount"], hook["status"], hook["recipient"]["recipient_code"]),
          (100_000, "success", recipient), "transfer.success data")
    check(isinstance(hook["integration"], dict), "integration object in transfer webhooks")
    verified = api("GET", f"/transfer/verify/{data['reference']}")["data"]
    equal((verified["fee_charged"], verified["recipient"]["recipient_code"]),
          (1_000, recipient), "verify transfer")

    # Duplicate reference: refused, no second transfer, no second debit.
    after_first = balance()
    count = len(state()["transfers"])
    status, body = request("POST", "/transfer", {"source": "balance", "amount": 5_000,
                                                 "recipient": recipient,
                                                 "reference": data["reference"]})
    equal((status, body), (400, {
        "status": False,
        "message": "Please provide a unique reference. Reference already exists on a transfer",
        "meta": {"nextStep": "Create a new reference for the new transfer"},
        "type": "validation_error", "code": "duplicate_transfer_reference"}), "duplicate transfer")
    equal((len(state()["transfers"]), balance()), (count, after_first), "nothing changed")
    for reference in ("UPPERCASE-REFERENCE-1", "short-ref", "dots.are.not.allowed.here"):
        equal(request("POST", "/transfer", {"source": "balance", "amount": 5_000,
                                            "recipient": recipient,
                                            "reference": reference})[0], 400, reference)
    status, body = request("POST", "/transfer", {"source": "balance", "amount": 2 * OPENING,
                                                 "recipient": recipient})
    equal((status, body), (400, {"status": False, "message":
                                 "Your balance is not enough to fulfil this request"}),
          "insufficient balance")
    equal(balance(), after_first, "insufficient balance debits nothing")
    status, body = request("POST", "/transfer", {"source": "balance", "amount": 5_000,
                                                 "recipient": "RCP_nosuchone"})
    equal((status, body["code"]), (400, "invalid_transfer_recipient"), "unknown recipient")
    equal(request("GET", "/transfer/verify/no-such-transfer-ref"),
          (404, {"status": False, "message": "Transfer not found"}), "unknown transfer")

    # pending: queued as pending, then transfer.success.
    config(transfer_mode="pending")
    data = transfer(recipient, 1_000_000)["data"]
    equal(data["status"], "pending", "pending mode")
    receiver.wait(data["reference"], "transfer.success")
    equal(api("GET", f"/transfer/verify/{data['reference']}")["data"]["status"], "success",
          "pending settles")

    # otp: finalize with a wrong OTP (refused), then the right one.
    config(transfer_mode="otp")
    t = transfer(recipient, 20_000)
    equal((t["message"], t["data"]["status"]), ("Transfer requires OTP to continue", "otp"),
          "otp mode")
    code = t["data"]["transfer_code"]
    equal(request("POST", "/transfer/finalize_transfer",
                  {"transfer_code": code, "otp": "000000"})[0], 400, "wrong OTP")
    equal(request("POST", "/transfer/finalize_transfer", {"transfer_code": "TRF_nope",
                                                          "otp": "123456"}),
          (400, {"status": False, "message": "Transfer code is invalid"}), "unknown code")
    done = api("POST", "/transfer/finalize_transfer", {"transfer_code": code, "otp": "123456"})
    equal((done["message"], done["data"]["status"]), ("Transfer has been queued", "success"),
          "finalize")
    receiver.wait(t["data"]["reference"], "transfer.success")
    equal(request("POST", "/transfer/finalize_transfer",
                  {"transfer_code": code, "otp": "123456"})[0], 400, "finalize twice")

    # fail and reverse: pending, then the webhook, and the money comes back.
    for mode, event in (("fail", "transfer.failed"), ("reverse", "transfer.reversed")):
        config(transfer_mode=mode)
        before = balance()
        data = transfer(recipient, 600_000)["data"]
        equal(data["status"], "pending", f"{mode} mode")
        equal(before - balance(), 600_000 + 2_500, f"{mode}: debited at creation")
        hook = verify_signature(receiver.wait(data["reference"], event)[0])
        equal(hook["status"], event.split(".")[1], f"{event} status")
        equal(balance(), before, f"{mode}: re-credited")
    config(transfer_mode="success")
    listed = api("GET", "/transfer?status=reversed")
    check(listed["data"] and all(t["status"] == "reversed" for t in listed["data"]),
          "transfer list filter")
    equal(api("GET", "/transfer?perPage=1")["meta"]["perPage"], 1, "transfer list meta")


def check_refunds(receiver):
    # processed: pending, processing, processed; partial then the rest; then nothing remains.
    ref = paid_transaction(400_000)
    before = balance()
    created = api("POST", "/refund", {"transaction": ref, "amount": 150_000})
    equal((created["message"], created["data"]["status"], created["data"]["amount"]),
          ("Refund has been queued for processing", "pending", 150_000), "refund create")
    equal(created["data"]["transaction"]["reference"], ref, "refund transaction object")
    equal(before - balance(), 150_000, "refund debit")
    for event in ("refund.pending", "refund.processing", "refund.processed"):
        hook = verify_signature(receiver.wait(ref, event)[0])
        equal((hook["amount"], hook["transaction_reference"]), ("150000", ref), f"{event} data")
    refund_id = created["data"]["id"]
    fetched = api("GET", f"/refund/{refund_id}")["data"]
    equal((fetched["status"], fetched["transaction"]), ("processed", api(
        "GET", f"/transaction/verify/{ref}")["data"]["id"]), "fetch refund")
    status, body = request("POST", "/refund", {"transaction": ref, "amount": 250_001})
    equal((status, body["status"]), (400, False), "refund beyond what remains")
    tx_id = api("GET", f"/transaction/verify/{ref}")["data"]["id"]
    rest = api("POST", "/refund", {"transaction": tx_id})["data"]  # by id, defaulting to the rest
    equal(rest["amount"], 250_000, "refund of the remainder")
    receiver.wait(ref, "refund.processed", count=2)
    equal(api("GET", f"/transaction/verify/{ref}")["data"]["status"], "reversed",
          "fully refunded transaction")
    status, body = request("POST", "/refund", {"transaction": ref, "amount": 1})
    equal((status, body["message"]), (400, "Transaction has been fully reversed"), "exhausted")
    listed = api("GET", f"/refund?transaction={ref}")
    equal((len(listed["data"]), listed["meta"]["total"]), (2, 2), "refunds of one transaction")
    equal(request("GET", "/refund/1")[0], 404, "unknown refund")
    equal(request("POST", "/refund", {"transaction": "no-such-ref"})[0], 404, "unknown transaction")
    unpaid = initialize(5_000)
    equal(request("POST", "/refund", {"transaction": unpaid["reference"]})[0], 400,
          "refund of an unpaid transaction")

    # failed: pending, then failed with the money back.
    config(refund_mode="failed")
    ref = paid_transaction(90_000)
    before = balance()
    api("POST", "/refund", {"transaction": ref})
    hook = verify_signature(receiver.wait(ref, "refund.failed")[0])
    equal(hook["amount"], 90_000, "refund.failed amount is an integer")
    equal(balance(), before, "failed refund re-credited")
    equal(api("GET", f"/transaction/verify/{ref}")["data"]["status"], "success",
          "a failed refund leaves the transaction paid")

    # needs-attention, then retried with the customer's account details.
    config(refund_mode="needs-attention")
    ref = paid_transaction(80_000)
    refund = api("POST", "/refund", {"transaction": ref, "amount": 30_000})["data"]
    hook = verify_signature(receiver.wait(ref, "refund.needs-attention")[0])
    equal((hook["id"], hook["amount"]), (str(refund["id"]), 30_000), "needs-attention data")
    retried = api("POST", f"/refund/retry_with_customer_details/{refund['id']}",
                  {"refund_account_details": {"currency": "NGN", "account_number": "0123456789",
                                              "bank_id": "9"}})
    equal(retried["data"]["status"], "processing", "retry")
    receiver.wait(ref, "refund.processed")
    status, body = request("POST", f"/refund/retry_with_customer_details/{refund['id']}",
                           {"refund_account_details": {"account_number": "1", "bank_id": "9"}})
    equal((status, body["code"]), (422, "invalid_params"), "retry in the wrong state")
    config(refund_mode="processed")


def iso_ms(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp() * 1000


def webhook_sample(event):
    with open(os.path.join(SHARED, "samples", event + ".json")) as f:
        return json.load(f)["data"]


def same_keys_as_sample(data, event):
    """The dispute webhook has the official sample's keys, in its order, at every level."""
    sample = webhook_sample(event)
    equal(list(data), list(sample), f"{event} keys")
    for key in ("transaction", "customer"):
        equal(list(data[key]), list(sample[key]), f"{event} {key} keys")
    for key in ("history", "messages"):
        equal([list(item) for item in data[key]][:1], [list(sample[key][0])], f"{event} {key}")


def dispute(dispute_id):
    return api("GET", f"/dispute/{dispute_id}")["data"]


def resolve(dispute_id, body, expect=200, **kw):
    return api("PUT", f"/dispute/{dispute_id}/resolve", body, expect=expect, **kw)


def check_disputes(receiver):
    # Refused chargebacks: unknown, unpaid, bad amounts. Nothing is opened.
    count = len(state()["disputes"])
    control("/_sim/transactions/no-such-ref/chargeback", expect=404)
    unpaid = initialize(50_000)["reference"]
    status, body = request("POST", f"/_sim/transactions/{unpaid}/chargeback", {}, key=None)
    equal((status, body), (409, {"status": False, "message": "Only a successful transaction can "
                                 "be charged back; this one is abandoned"}), "unpaid chargeback")
    ref = paid_transaction(400_000)
    for amount in (0, -5, 400_001, "x", 1.5):
        control(f"/_sim/transactions/{ref}/chargeback", {"refund_amount": amount}, expect=400)
    equal(len(state()["disputes"]), count, "refused chargebacks open nothing")

    # A chargeback of the whole amount (the default): no money moves until it is resolved.
    before = balance()
    opened = control(f"/_sim/transactions/{ref}/chargeback")["data"]
    equal((opened["status"], opened["resolution"], opened["refund_amount"], opened["currency"],
           opened["category"], opened["transaction_reference"], opened["transaction"]["reference"],
           opened["transaction"]["status"]),
          ("awaiting-merchant-feedback", None, 400_000, "NGN", "chargeback", None, ref, "success"),
          "chargeback opened")
    check(100_000 <= opened["id"] < 10_000_000, f"dispute id {opened['id']} like Paystack's")
    equal(iso_ms(opened["dueAt"]) - iso_ms(opened["createdAt"]), 72 * 3600 * 1000, "dueAt")
    equal((opened["resolvedAt"], opened["evidence"], opened["attachments"], opened["note"]),
          (None, None, None, None), "fields not set yet")
    equal(balance(), before, "opening a chargeback moves no money")
    created = verify_signature(receiver.wait(ref, "charge.dispute.create")[0])
    same_keys_as_sample(created, "charge.dispute.create")
    equal((created["id"], created["refund_amount"], created["status"], created["resolution"],
           created["transaction_reference"], created["transaction"]["reference"],
           created["transaction"]["status"], created["customer"]["email"]),
          (opened["id"], 400_000, "awaiting-merchant-feedback", None, None, ref, "success",
           "client@example.com"), "charge.dispute.create data")
    equal(created["messages"][0]["body"], "Customer complained about debit without value",
          "the complaint, as in the sample")
    equal(control(f"/_sim/transactions/{ref}/chargeback", expect=409)["message"],
          f"Transaction already has an unresolved dispute ({opened['id']})", "second chargeback")

    # Remind: the same dispute again, with a later updated_at; duplicates apply as to any webhook.
    time.sleep(0.01)
    config(webhook_duplicates=1)
    control(f"/_sim/disputes/{opened['id']}/remind")
    reminded = [verify_signature(d) for d in receiver.wait(ref, "charge.dispute.remind", 2)]
    config(webhook_duplicates=0)
    same_keys_as_sample(reminded[0], "charge.dispute.remind")
    equal(reminded[0], reminded[1], "a duplicated remind")
    check(reminded[0]["updated_at"] > created["updated_at"], "remind updates updated_at")
    equal({k: v for k, v in reminded[0].items() if k != "updated_at"},
          {k: v for k, v in created.items() if k != "updated_at"}, "remind carries the same data")
    control("/_sim/disputes/1/remind", expect=404)

    # Fetch and list (newest first), with the filters.
    fetched = api("GET", f"/dispute/{opened['id']}")
    equal((fetched["message"], fetched["data"]["id"], fetched["data"]["transaction"]["reference"]),
          ("Dispute retrieved", opened["id"], ref), "fetch dispute")
    equal(request("GET", "/dispute/1"), (404, {"status": False, "message": "Dispute not found"}),
          "unknown dispute")
    equal(request("GET", "/dispute/abc")[0], 400, "non-numeric dispute id")
    ref2 = paid_transaction(300_000)
    partial = control(f"/_sim/transactions/{ref2}/chargeback", {"refund_amount": 120_000})["data"]
    equal(partial["refund_amount"], 120_000, "partial chargeback")
    tx2 = api("GET", f"/transaction/verify/{ref2}")["data"]["id"]
    listed = api("GET", f"/dispute?transaction={tx2}")
    equal(([d["id"] for d in listed["data"]], listed["message"], listed["meta"]["total"]),
          ([partial["id"]], "Disputes retrieved", 1), "disputes of one transaction")
    page = api("GET", "/dispute?perPage=1&page=2")
    equal((page["meta"]["perPage"], page["meta"]["page"], page["meta"]["skipped"],
           [d["id"] for d in page["data"]]), (1, 2, 1, [opened["id"]]), "dispute list paging")
    awaiting = [d["id"] for d in api("GET", "/dispute?status=awaiting-merchant-feedback")["data"]]
    equal(awaiting[:2], [partial["id"], opened["id"]], "status filter, newest first")
    equal(api("GET", "/dispute?status=resolved")["meta"]["total"], 0, "none resolved yet")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    check(api("GET", f"/dispute?from={today}&to={today}")["meta"]["total"] >= 2, "date range")
    equal(api("GET", "/dispute?from=2999-01-01T00:00:00Z")["meta"]["total"], 0, "future from")
    equal(request("GET", "/dispute?to=soon")[0], 400, "bad to date")

    # The bank decides for the customer (auto-accepted): reversed, and the balance pays for it.
    status, body = request("POST", f"/_sim/disputes/{opened['id']}/resolve",
                           {"resolution": "maybe"}, key=None)
    equal(status, 400, "bad control resolution")
    before = balance()
    done = control(f"/_sim/disputes/{opened['id']}/resolve", {"resolution": "auto-accepted"})
    done = done["data"]
    equal((done["status"], done["resolution"], done["transaction"]["status"]),
          ("resolved", "auto-accepted", "reversed"), "auto-accepted dispute")
    check(done["resolvedAt"], "resolvedAt")
    equal(before - balance(), 400_000, "a chargeback debits its refund_amount")
    hook = verify_signature(receiver.wait(ref, "charge.dispute.resolve")[0])
    same_keys_as_sample(hook, "charge.dispute.resolve")
    equal((hook["status"], hook["resolution"], hook["transaction"]["status"],
           hook["refund_amount"]), ("resolved", "auto-accepted", "reversed", 400_000),
          "charge.dispute.resolve data")
    tx1 = api("GET", f"/transaction/verify/{ref}")["data"]
    equal(tx1["status"], "reversed", "verify shows the reversal")
    equal(api("GET", f"/transaction/{tx1['id']}")["data"]["status"], "reversed", "fetch too")
    check(tx1["id"] in [t["id"] for t in api("GET", "/transaction?status=reversed&perPage=1000")[
        "data"]], "the reversed transaction is listed as reversed")
    # Resolving again, reminding, or another chargeback: refused, nothing changes.
    after = balance()
    control(f"/_sim/disputes/{opened['id']}/resolve", {"resolution": "declined"}, expect=409)
    control(f"/_sim/disputes/{opened['id']}/remind", expect=409)
    control(f"/_sim/transactions/{ref}/chargeback", expect=409)
    status, body = request("PUT", f"/dispute/{opened['id']}/resolve", {
        "resolution": "declined", "message": "no", "refund_amount": 1, "uploaded_filename": "f"})
    equal((status, body["message"]), (400, "Dispute has already been resolved"), "PUT twice")
    time.sleep(0.1)
    equal((balance(), len(receiver.of(ref, "charge.dispute.resolve")), dispute(opened["id"])[
        "resolution"]), (after, 1, "auto-accepted"), "a resolved dispute stays as it was")

    # The bank decides for the merchant (declined): no money moves, the transaction stays paid,
    # and a new chargeback may then be opened on it.
    done = control(f"/_sim/disputes/{partial['id']}/resolve", {"resolution": "declined"})["data"]
    equal((done["status"], done["resolution"], done["transaction"]["status"]),
          ("resolved", "declined", "success"), "declined by the bank")
    hook = verify_signature(receiver.wait(ref2, "charge.dispute.resolve")[0])
    equal((hook["resolution"], hook["transaction"]["status"]), ("declined", "success"),
          "declined charge.dispute.resolve")
    equal(balance(), after, "a declined chargeback moves no money")
    equal(api("GET", f"/transaction/verify/{ref2}")["data"]["status"], "success", "still paid")

    # The merchant accepts (PUT /dispute/:id/resolve), with a refund_amount of its own; the bad
    # requests before it change nothing.
    third = control(f"/_sim/transactions/{ref2}/chargeback")["data"]
    good = {"resolution": "merchant-accepted", "message": "Refunding the customer",
            "refund_amount": 100_000}
    for change, message in [
        ({"resolution": None}, "Resolution is required"),
        ({"resolution": "auto-accepted"}, "Resolution must be merchant-accepted or declined"),
        ({"message": None}, "Message is required"),
        ({"message": ""}, "Message is required"),
        ({"refund_amount": None}, "Refund amount is required"),
        ({"refund_amount": "abc"}, "Refund amount must be an integer from 1 to the transaction "
                                   "amount"),
        ({"refund_amount": 0}, "Refund amount must be an integer from 1 to the transaction "
                               "amount"),
        ({"refund_amount": 300_001}, "Refund amount must be an integer from 1 to the transaction "
                                     "amount"),
        ({"refund_amount": 10.5}, "Refund amount must be an integer from 1 to the transaction "
                                  "amount"),
        ({"resolution": "declined"}, "Uploaded filename is required to decline a dispute"),
        ({"evidence": "x"}, "Evidence must be the id of an evidence record"),
    ]:
        body = {k: v for k, v in {**good, **change}.items() if v is not None}
        status, parsed = request("PUT", f"/dispute/{third['id']}/resolve", body)
        equal((status, parsed["status"], parsed["message"]), (400, False, message),
              f"resolve {change}")
        check(parsed["code"] in ("missing_params", "invalid_params"), f"error code {parsed}")
    equal(request("PUT", "/dispute/1/resolve", good),
          (404, {"status": False, "message": "Dispute not found"}), "resolve unknown dispute")
    unchanged = dispute(third["id"])
    equal((unchanged["status"], len(unchanged["messages"]), balance()),
          ("awaiting-merchant-feedback", 1, after), "refused resolves change nothing")
    # error_rate applies to the dispute paths too, before any change.
    config(error_rate=1)
    check(request("PUT", f"/dispute/{third['id']}/resolve", good)[0] in (500, 502, 503),
          "error_rate on PUT /dispute/:id/resolve")
    config(error_rate=0)
    equal(dispute(third["id"])["status"], "awaiting-merchant-feedback", "an injected error")
    accepted = resolve(third["id"], good)
    data = accepted["data"]
    equal((accepted["message"], data["status"], data["resolution"], data["refund_amount"],
           data["transaction"], data["merchant_transaction_reference"], data["message"]["body"],
           data["message"]["dispute"], data["attachments"]),
          ("Dispute successfully resolved", "resolved", "merchant-accepted", 100_000, tx2, ref2,
           "Refunding the customer", third["id"], None), "merchant-accepted")
    equal(after - balance(), 100_000, "merchant-accepted debits the refund_amount given")
    hook = verify_signature(receiver.wait(ref2, "charge.dispute.resolve", count=2)[-1])
    equal((hook["id"], hook["resolution"], hook["refund_amount"], hook["transaction"]["status"],
           hook["messages"][-1]["sender"]),
          (third["id"], "merchant-accepted", 100_000, "reversed", "merchant@paystack-sim.test"),
          "merchant-accepted charge.dispute.resolve")
    equal(api("GET", f"/transaction/verify/{ref2}")["data"]["status"], "reversed", "reversed")
    after = balance()
    status, body = request("PUT", f"/dispute/{third['id']}/resolve", good)
    equal((status, body["message"]), (400, "Dispute has already been resolved"), "accept twice")
    equal(balance(), after, "accepting twice debits once")

    # The merchant declines with evidence (form-encoded, as the spec allows): the dispute waits
    # for the bank, with no webhook, until the control resolve decides it.
    ref4 = paid_transaction(200_000)
    fourth = control(f"/_sim/transactions/{ref4}/chargeback")["data"]
    after = balance()
    declined = resolve(fourth["id"], {"resolution": "declined", "message": "Service delivered",
                                      "refund_amount": "200000", "evidence": "21",
                                      "uploaded_filename": "qesp8a4df1xejihd9x5q"}, form=True)
    data = declined["data"]
    equal((data["status"], data["resolution"], data["resolvedAt"], data["attachments"],
           data["evidence"], data["refund_amount"]),
          ("awaiting-bank-feedback", "declined", None, "qesp8a4df1xejihd9x5q", 21, 200_000),
          "merchant declined")
    waiting = dispute(fourth["id"])
    equal(([m["body"] for m in waiting["messages"]], [h["status"] for h in waiting["history"]]),
          (["Customer complained about debit without value", "Service delivered"],
           ["pending", "awaiting-bank-feedback"]), "decline message and history")
    equal(api("GET", "/dispute?status=awaiting-bank-feedback")["data"][0]["id"], fourth["id"],
          "awaiting-bank-feedback filter")
    status, body = request("PUT", f"/dispute/{fourth['id']}/resolve", good)
    equal(status, 400, "the merchant answers once")
    time.sleep(0.2)
    equal(receiver.of(ref4, "charge.dispute.resolve"), [], "a decline sends no webhook")
    equal((balance(), api("GET", f"/transaction/verify/{ref4}")["data"]["status"]),
          (after, "success"), "a decline moves no money")
    control(f"/_sim/disputes/{fourth['id']}/resolve", {"resolution": "declined"})
    hook = verify_signature(receiver.wait(ref4, "charge.dispute.resolve")[0])
    equal((hook["status"], hook["resolution"], hook["attachments"], hook["evidence"]),
          ("resolved", "declined", "qesp8a4df1xejihd9x5q", 21), "the bank upholds the decline")
    equal(balance(), after, "an upheld decline moves no money")

    listed = {d["id"]: d for d in state()["disputes"]}
    equal((listed[opened["id"]]["status"], listed[opened["id"]]["resolution"],
           listed[fourth["id"]]["transaction_reference"]), ("resolved", "auto-accepted", ref4),
          "disputes in /_sim/state")


def check_webhook_faults(receiver):
    # A 500, then 200: retried after ~0.2 s; both attempts recorded.
    ref = new_reference("retry")
    receiver.plan[ref] = [500]
    initialize(10_000, reference=ref)
    control(f"/_sim/transactions/{ref}/pay")
    got = receiver.wait(ref, "charge.success", count=2)
    equal([d["status"] for d in got], [500, 200], "receiver answers")
    equal(got[0]["body"], got[1]["body"], "a retry sends the same bytes")
    check(got[1]["at"] - got[0]["at"] >= 0.15, "retry waited")
    time.sleep(0.1)
    record = next(w for w in state()["webhooks"] if w["reference"] == ref)
    equal((record["attempts"], record["last_status"], record["state"]), (2, 200, "delivered"),
          "delivery record")

    # Duplicates: each delivery sent twice more.
    config(webhook_duplicates=2)
    ref = paid_transaction(10_000)
    got = receiver.wait(ref, "charge.success", count=3)
    check(len({d["body"] for d in got}) == 1, "duplicates are identical")
    config(webhook_duplicates=0)

    # Drops: never sent, still listed.
    config(webhook_drop_rate=1)
    dropped = paid_transaction(10_000)
    time.sleep(0.3)
    equal(receiver.of(dropped), [], "dropped webhook not sent")
    record = next(w for w in state()["webhooks"] if w["reference"] == dropped)
    equal((record["state"], record["attempts"]), ("dropped", 0), "dropped record")
    config(webhook_drop_rate=0)

    # Delay.
    config(webhook_delay_ms=400)
    ref = new_reference("delay")
    initialize(10_000, reference=ref)
    started = time.monotonic()
    control(f"/_sim/transactions/{ref}/pay")
    got = receiver.wait(ref, "charge.success")
    check(got[0]["at"] - started >= 0.35, "webhook_delay_ms")
    config(webhook_delay_ms=0)

    # Shuffle: eight payments in a row arrive in another order (retry on the rare same order).
    config(webhook_shuffle=True)
    for attempt in range(3):
        refs = [new_reference("shuffle") for _ in range(8)]
        for r in refs:
            initialize(10_000, reference=r)
            control(f"/_sim/transactions/{r}/pay")
        arrivals = [receiver.wait(r, "charge.success")[0]["at"] for r in refs]
        if arrivals != sorted(arrivals):
            print(f"   shuffled on try {attempt + 1}")
            break
    else:
        raise Failure("webhook_shuffle delivered in creation order three times")
    config(webhook_shuffle=False)

    # Redeliver: every webhook sent so far, once more (the dropped one was never sent). The
    # receiver sees a delivery before the simulator records its answer, so the list is read once
    # nothing is queued any more (else a delivery in flight counts at redelivery, not here).
    deadline = time.monotonic() + 10
    while True:
        webhooks = state()["webhooks"]
        if all(w["state"] != "queued" for w in webhooks) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    sent = [w for w in webhooks
            if w["attempts"] > 0 and not w["duplicate"] and not w["redelivery"]]
    count = control("/_sim/webhooks/redeliver")["data"]["count"]
    equal(count, len(sent), "redelivered count")
    receiver.wait(ref, "charge.success", count=2)
    equal(receiver.of(dropped), [], "a dropped webhook is not redelivered")


def check_faults_and_limits():
    # error_rate=1: every Paystack path answers 5xx before any state change.
    before = len(state()["transactions"])
    config(error_rate=1)
    for _ in range(5):
        status, body = request("POST", "/transaction/initialize",
                               {"email": "e@example.com", "amount": 5000})
        check(status in (500, 502, 503) and body["status"] is False, f"error_rate: {status}")
    equal(len(state()["transactions"]), before, "an injected error changes nothing")
    config(error_rate=0)

    config(latency_ms=300)
    started = time.monotonic()
    api("GET", "/balance")
    check(time.monotonic() - started >= 0.28, "latency_ms")
    config(latency_ms=0)

    for settings in ({"nope": 1}, {"transfer_mode": "sometimes"}, {"error_rate": 2},
                     {"webhook_duplicates": -1}, {"webhook_shuffle": "yes"},
                     {"latency_ms": 10**9}, {"webhook_url": "http://example.com/"}):
        control("/_sim/config", settings, expect=400)

    # Keep-alive: two requests on one connection.
    conn = http.client.HTTPConnection("127.0.0.1", SIM.port, timeout=5)
    for _ in range(2):
        conn.request("GET", "/balance", headers={"Authorization": "Bearer " + KEY})
        response = conn.getresponse()
        equal(response.status, 200, "keep-alive request")
        response.read()
    conn.close()
    # A body over 1 MiB is refused with 413.
    with socket.create_connection(("127.0.0.1", SIM.port), timeout=5) as sock:
        sock.sendall(b"POST /transaction/initialize HTTP/1.1\r\nHost: x\r\n"
                     b"Authorization: Bearer " + KEY.encode() + b"\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{")
        answer = sock.recv(4096)
    check(answer.startswith(b"HTTP/1.1 413"), f"body limit: {answer[:60]!r}")
    equal(request("POST", "/transaction/initialize", raw="[" * 5000)[0], 400, "JSON depth")


def check_reset():
    control("/_sim/reset")
    s = state()
    equal((s["transactions"], s["transfers"], s["refunds"], s["recipients"], s["disputes"],
           s["webhooks"]), ([], [], [], [], [], []), "state after reset")
    equal(request("GET", "/dispute")[1]["meta"]["total"], 0, "no disputes after reset")
    equal(set(s["balance"].values()), {OPENING}, "balance after reset")
    equal(s["config"]["transfer_mode"], "success", "config after reset")


def _shape(value, path="", into=None):
    """{path: {JSON types}} for every key of `value`, into objects and every array item."""
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
             dict: "object", type(None): "null"}
    shape = {} if into is None else into
    shape.setdefault(path or "(root)", set()).add(kinds[type(value)])
    if isinstance(value, dict):
        for key, sub in value.items():
            _shape(sub, f"{path}/{key}", shape)
    elif isinstance(value, list):
        for item in value:
            _shape(item, f"{path}/[]", shape)
    return shape


def _compare_shapes(theirs, ours, label, exceptions):
    """Problems where `ours` lacks a key of the sample `theirs` or has another non-null type;
    metadata is free-form and skipped."""
    problems = set()
    for key, kinds in theirs.items():
        if key in exceptions or "/metadata/" in key:
            continue
        if key not in ours:
            problems.add(f"{label}: {key} is missing")
            continue
        if key.endswith("/metadata"):
            continue
        theirs_typed, ours_typed = kinds - {"null"}, ours[key] - {"null"}
        if theirs_typed and ours_typed and not theirs_typed & ours_typed:
            problems.add(f"{label}: {key} is {sorted(ours_typed)}, the sample has "
                         f"{sorted(theirs_typed)}")
    return problems


# Keys of the official webhook samples that the simulator leaves out, and why.
WEBHOOK_SAMPLE_EXCEPTIONS = {
    # The 2016 charge.success sample logs a PIN step the simulated card never takes.
    "/data/log/authentication", "/data/log/channel",
    # Only the newest transfer.success sample carries the integration's logo.
    "/data/integration/logo_path",
}


# Keys of the official API samples that the simulator answers differently, and why.
API_SAMPLE_EXCEPTIONS = {}


def check_webhook_shapes(receiver):
    """Every key of Paystack's official webhook samples is in what the simulator sent, with the
    same JSON type wherever both are non-null."""
    ours_by_event = {}
    for delivery in receiver.deliveries:
        _shape(json.loads(delivery["body"]), "", ours_by_event.setdefault(delivery["event"], {}))
    problems = set()
    for event, ours in ours_by_event.items():
        for name in (event, event + "-2"):
            path = os.path.join(SHARED, "samples", name + ".json")
            if os.path.exists(path):
                with open(path) as f:
                    problems |= _compare_shapes(_shape(json.load(f)), ours, name,
                                                WEBHOOK_SAMPLE_EXCEPTIONS)
    checked = set(ours_by_event)
    expected = {"charge.success", "transfer.success", "transfer.failed", "transfer.reversed",
                "refund.pending", "refund.processing", "refund.processed", "refund.failed",
                "refund.needs-attention", "charge.dispute.create", "charge.dispute.remind",
                "charge.dispute.resolve"}
    check(expected <= checked, f"webhooks never seen: {sorted(expected - checked)}")
    check(not problems, "webhook shapes differ from the official samples:\n  " +
          "\n  ".join(sorted(problems)))


def check_api_shapes(schemas):
    """Every key of the official API response samples appears in the simulator's answers to the
    same operation (in some state), with the same JSON type wherever both are non-null."""
    ours_by_sample = {}
    for method, path, status, body in RECORDED:
        op = schemas.operation_of(method, path)
        name = paystack_sim_schema.OPERATIONS.get(op) if op else None
        if status < 300 and name:
            _shape(body, "", ours_by_sample.setdefault(name, {}))
    problems = set()
    for name, ours in ours_by_sample.items():
        problems |= _compare_shapes(_shape(schemas.sample(name)), ours, name,
                                    API_SAMPLE_EXCEPTIONS.get(name, ()))
    check(not problems, "API bodies differ from the official samples:\n  " +
          "\n  ".join(sorted(problems)))
    return len(ours_by_sample)


def check_schemas(schemas):
    # The check must be able to fail: a wrong type and a missing key are caught.
    op = ("get", "/transaction/verify/{reference}")
    good = next(b for m, p, st, b in RECORDED if st == 200 and schemas.operation_of(m, p) == op)
    check(schemas.validate(op, 200, good) is None, "a verify body should validate")
    wrong = json.loads(json.dumps(good))
    wrong["data"]["amount"] = str(wrong["data"]["amount"])
    check(schemas.validate(op, 200, wrong), "a string amount should fail the schema")
    del wrong["data"]["reference"]
    check(schemas.validate(op, 200, wrong), "a missing reference should fail the schema")
    problems = schemas.check_fixes_are_justified()
    seen = set()
    for method, path, status, body in RECORDED:
        if status >= 300:
            continue
        op = schemas.operation_of(method, path)
        check(op is not None, f"no OpenAPI operation for {method} {path}")
        seen.add(op)
        error = schemas.validate(op, status, body)
        if error:
            problems.append(f"{method} {path} ({op[1]}) HTTP {status}: {error}")
    missing = set(paystack_sim_schema.OPERATIONS) - seen
    check(not missing, f"operations never exercised: {sorted(missing)}")
    if problems:
        raise Failure("schema check failed:\n  " + "\n  ".join(problems[:40]))
    return len(RECORDED)


def main():
    global SIM
    started = time.monotonic()
    receiver = Receiver()
    schemas = paystack_sim_schema.Schemas(os.path.join(SHARED, "openapi.yaml"),
                                          os.path.join(SHARED, "samples", "api"))
    check_command_line(receiver)
    SIM = Sim(receiver)
    # A webhook the receiver always refuses: five retries over ~9 s, then given up.
    doomed = new_reference("doomed")
    receiver.plan[doomed] = 500
    try:
        steps = [
            ("auth", check_auth),
            ("initialize/verify/fetch", lambda: check_initialize_and_verify(receiver)),
            ("doomed webhook started", lambda: (initialize(10_000, reference=doomed),
                                                control(f"/_sim/transactions/{doomed}/pay"))),
            ("fees and outcomes", lambda: check_fees_and_outcomes(receiver)),
            ("transaction list", check_transaction_list),
            ("checkout", lambda: check_checkout(receiver)),
            ("banks and recipients", lambda: globals().update(
                RECIPIENT=check_banks_and_recipients())),
            ("transfers", lambda: check_transfers(receiver, RECIPIENT)),  # noqa: F821
            ("refunds", lambda: check_refunds(receiver)),
            ("disputes", lambda: check_disputes(receiver)),
            ("webhook faults", lambda: check_webhook_faults(receiver)),
            ("faults and limits", check_faults_and_limits),
        ]
        for name, step in steps:
            step()
            print(f"ok {name} ({time.monotonic() - started:.1f}s)")
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            record = next(w for w in state()["webhooks"] if w["reference"] == doomed)
            if record["state"] != "queued":
                break
            time.sleep(0.2)
        equal((record["state"], record["attempts"], record["last_status"]), ("failed", 6, 500),
              "a webhook refused every time is given up after 6 attempts")
        check(len(receiver.of(doomed)) >= 6, "attempts the receiver saw")
        print(f"ok retries exhausted ({time.monotonic() - started:.1f}s)")
        check_webhook_shapes(receiver)
        print("ok webhook bodies have every key of the official samples")
        check_reset()
        print("ok reset")
        count = check_api_shapes(schemas)
        print(f"ok API bodies have every key of the {count} official samples")
        count = check_schemas(schemas)
        print(f"ok schema check of {count} responses against openapi.yaml")
        SIM.proc.send_signal(signal.SIGTERM)
        equal(SIM.proc.wait(timeout=5), 0, "exit status after SIGTERM")
        print(f"ok SIGTERM; all checks passed in {time.monotonic() - started:.1f}s")
    finally:
        if SIM.proc.poll() is None:
            SIM.proc.kill()
        receiver.server.shutdown()


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
