# test_flows: the money flows of DESIGN sections 4-6 end to end, over loopback HTTP, against the
# real escrowd and the real paystack-sim (harness.py), as the marketplace, its clients and
# providers and an admin would drive them:
#   payment into escrow through a checkout and a signed charge.success webhook; proof (JSON and
#   multipart with a real PNG), release and the Paystack transfer of provider_net; cancellation
#   and its refund; disputes resolved as release, refund and split (amounts add up); a split plan
#   paid as deposit then balance, and an approval that waits for the balance; auto-confirmation,
#   and a dispute freezing it; failed and reversed transfers returning the money, then a
#   withdrawal paying it under a new reference; an admin retrying a failed and a reversed
#   transfer (a new reference at Paystack, paid once, only once, refused when the money was
#   withdrawn meanwhile) and a failed refund (a new refund, the booking refunded); a transfer
#   held for an OTP and finalized by an admin; duplicated, reordered, dropped and badly signed webhooks; a payment of the wrong amount
#   (flagged, never held); idempotent replays and key reuse; a late payment on a cancelled booking
#   refunded at once; a failed refund putting the money back in escrow; who may cancel after
#   proof; an expired booking; Paystack chargebacks opened and resolved at the simulator (accepted
#   by an admin before release: the money returned once, never refunded, and reconciliation
#   finding the reversed transaction covered; declined: the escrow
#   unfrozen; after payout: the provider's balance below zero, withdrawals refused, the next release
#   covering it first; beyond what the provider was paid: the platform's loss) and a signed dispute
#   webhook Paystack does not have changing nothing; concurrent withdrawals and
#   releases that cannot overdraw or release twice; signed outbound notifications; paging and
#   replay by time; the global event feed's hash chain recomputed from the feed alone; the
#   webhook console's listing and retry of an ignored delivery; and that what escrowd answers on
#   every route matches the schemas of its OpenAPI document.
# After the module, escrowd's log must hold no secret and no account number, and `escrowctl
# verify` must pass on the service's database (hash chain, double-entry balance, money
# invariants, projections equal a rebuild).
# Run by test/e2e/e2e_flows_test.sh (E2E_BUILD_DIR names the build directory).
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
import unittest

import openapi_check

from harness import (ACCOUNT_NUMBER, PNG_1X1, SIM_OTP, Market, World, fee_of, new_id, payment)

WORLD = None
M = None
DOC = None  # GET /openapi.json, for checking answers against their schemas


def setUpModule():
    global WORLD, M
    WORLD = World.start(escrowd_env={"ESCROW_PLATFORM_FEE_BPS": "500"}, notify=True)
    M = Market(WORLD)


def tearDownModule():
    logs = WORLD.escrowd_log_text()
    result = WORLD.stop()
    for secret, name in ((WORLD.secret_key, "the Paystack secret key"), (WORLD.jwt_secret, "the JWT secret"),
                         (ACCOUNT_NUMBER, "an account number")):
        if secret in logs:
            raise AssertionError(f"escrowd's log contains {name}")
    if result is None or result.returncode != 0:
        raise AssertionError("escrowctl verify failed after the flows:\n" +
                             (result.stdout + result.stderr if result else "not run"))


class Base(unittest.TestCase):
    def setUp(self):
        # Every test starts from the simulator's default behaviour.
        WORLD.sim_config(transfer_mode="success", refund_mode="processed", webhook_duplicates=0,
                         webhook_shuffle=False, webhook_drop_rate=0, webhook_delay_ms=0,
                         latency_ms=0, error_rate=0)

    def assertError(self, response, status, code):
        self.assertEqual(response.status, status, response)
        self.assertEqual(response.error_code(), code, response)

    def assertSchema(self, body, schema):
        global DOC
        if DOC is None:
            DOC = WORLD.api.get("/openapi.json").json()
        errors = openapi_check.schema_errors(DOC, {"$ref": f"#/components/schemas/{schema}"}, body)
        self.assertEqual(errors, [], f"{schema}: {body}")

    def sim_transfer(self, reference):
        transfers = WORLD.sim_transfers(reference)
        self.assertEqual(len(transfers), 1, f"transfers at the sim for {reference}: {transfers}")
        return transfers[0]


class PaymentIntoEscrow(Base):
    def test_checkout_and_signed_webhook_put_the_money_in_escrow(self):
        client_id, client = M.client()
        provider_id, _ = M.provider()
        b = M.create_booking(client_id, provider_id, amount=750000)
        self.assertEqual((b["status"], b["payment_status"]), ("awaiting_payment", "unpaid"))
        self.assertEqual(b["platform_fee"], fee_of(750000))
        self.assertEqual(b["provider_net"], 750000 - fee_of(750000))

        checkout = M.pay(b["id"], client)
        self.assertEqual((checkout["amount"], checkout["installment"]), (750000, 1))
        self.assertTrue(checkout["authorization_url"].startswith(WORLD.sim.url + "/checkout/"))
        self.assertEqual(M.booking(b["id"])["payment_status"], "pending")

        WORLD.pay_at_sim(checkout["reference"])
        held = M.wait_booking(b["id"], lambda x: x["payment_status"] == "escrow", "escrow")
        self.assertEqual(held["status"], "pending_execution")
        self.assertEqual((held["amount_paid"], held["escrow_balance"]), (750000, 750000))
        self.assertEqual(payment(held, checkout["reference"])["status"], "captured")
        # The sim delivered a signed charge.success and escrowd accepted it with a 200.
        hooks = [h for h in WORLD.sim_state()["webhooks"]
                 if h["reference"] == checkout["reference"] and h["event"] == "charge.success"]
        self.assertTrue(hooks and hooks[0]["last_status"] == 200, hooks)

        # The booking's own stream tells the story, hash-chained.
        events = M.events_of(b["id"])
        types = [e["type"] for e in events]
        self.assertEqual(types[:3], ["BookingCreated", "PaymentInitiated", "PaymentCaptured"])
        self.assertTrue(all(len(e["hash"]) == 64 for e in events))
        # Nothing more is due.
        r = WORLD.api.post(f"/bookings/{b['id']}/pay", {}, token=client)
        self.assertError(r, 409, "nothing_due")

    def test_replay_shows_the_booking_before_capture(self):
        b, client = M.funded_booking()
        events = M.events_of(b["id"])
        initiated = next(e for e in events if e["type"] == "PaymentInitiated")
        r = WORLD.api.get(f"/bookings/{b['id']}/at?seq={initiated['seq']}", token=client)
        self.assertEqual(r.status, 200, r)
        then = r.json()["booking"]
        self.assertEqual((then["payment_status"], then["escrow_balance"]), ("pending", 0))

    def test_verify_applies_a_payment_whose_webhook_was_lost(self):
        WORLD.sim_config(webhook_drop_rate=1)
        client_id, client = M.client()
        b = M.create_booking(client_id, M.provider()[0])
        checkout = M.pay(b["id"], client)
        WORLD.pay_at_sim(checkout["reference"])
        r = WORLD.api.post("/payments/verify", {"reference": checkout["reference"]}, token=client)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["booking"]["payment_status"], "escrow")
        self.assertEqual(M.booking(b["id"])["escrow_balance"], 500000)

    def test_the_scheduler_verifies_a_pending_payment_with_no_webhook(self):
        WORLD.sim_config(webhook_drop_rate=1)
        client_id, client = M.client()
        b = M.create_booking(client_id, M.provider()[0])
        checkout = M.pay(b["id"], client)
        WORLD.pay_at_sim(checkout["reference"])
        # ESCROW_PENDING_CHECK_AFTER_S is 3 in the harness.
        M.wait_booking(b["id"], lambda x: x["payment_status"] == "escrow", "escrow by the scheduler",
                       timeout_s=20)


class ProofReleasePayout(Base):
    def test_proof_then_release_then_transfer_of_provider_net(self):
        provider_id, provider = M.provider()
        account = M.register_account(provider_id, provider)
        self.assertEqual(account["account_number_last4"], "6789")
        self.assertNotIn("0123456789", json.dumps(account))
        b, client = M.funded_booking(provider_id, amount=1_234_567)

        r = WORLD.api.post(f"/bookings/{b['id']}/release-payment", {}, token=client)
        self.assertError(r, 409, "proof_required")

        done = M.submit_proof_png(b["id"], provider)
        self.assertEqual(done["status"], "awaiting_confirmation")
        files = done["proof"]["files"]
        self.assertEqual([f["sha256"] for f in files], [hashlib.sha256(PNG_1X1).hexdigest()])
        self.assertEqual(files[0]["content_type"], "image/png")
        stored = WORLD.api.get(f"/bookings/{b['id']}/proof/{files[0]['sha256']}", token=client)
        self.assertEqual((stored.status, stored.body), (200, PNG_1X1))

        released = M.release(b["id"], client)
        self.assertEqual((released["status"], released["payment_status"]), ("completed", "released"))
        self.assertEqual(released["escrow_balance"], 0)
        net = 1_234_567 - fee_of(1_234_567)
        self.assertEqual(released["provider_net"], net)

        payout = M.wait_payout(b["id"], "success")
        self.assertEqual(payout["amount"], net)
        transfer = self.sim_transfer(payout["payout_id"])
        self.assertEqual((transfer["amount"], transfer["status"]), (net, "success"))
        self.assertEqual(transfer["recipient_code"], account["recipient_code"])

        self.assertError(WORLD.api.post(f"/bookings/{b['id']}/release-payment", {}, token=client),
                         409, "already_released")
        bal = M.balance(provider_id)
        self.assertEqual((bal["available"], bal["in_flight"], bal["total_earned"]), (0, 0, net))

    def test_auto_confirm_releases_after_the_deadline(self):
        provider_id, provider = M.provider(with_account=True)
        b, _ = M.funded_booking(provider_id, auto_confirm_after_s=1)
        done = M.submit_proof_json(b["id"], provider)
        self.assertIsNotNone(done["auto_confirm_at"])
        self.assertEqual(done["proof"]["attachments"], [{"url": "https://cdn.example.com/proof/1.jpg"}])
        released = M.wait_booking(b["id"], lambda x: x["status"] == "completed", "auto-confirmed")
        self.assertEqual(released["payment_status"], "released")
        self.assertIn("AutoConfirmed", [e["type"] for e in M.events_of(b["id"])])
        payout = M.wait_payout(b["id"], "success")
        self.assertEqual(self.sim_transfer(payout["payout_id"])["amount"], 500000 - fee_of(500000))


class CancelAndRefund(Base):
    def test_cancellation_refunds_the_held_money_at_paystack(self):
        b, client = M.funded_booking(amount=640000)
        reference = b["payments"][0]["reference"]
        cancelled = M.expect(WORLD.api.post(f"/bookings/{b['id']}/cancel", {"reason": "changed plans"},
                                            token=client), 200, "cancel")
        self.assertEqual(cancelled["status"], "cancelled")
        refunded = M.wait_booking(b["id"], lambda x: x["payment_status"] == "refunded", "refunded")
        self.assertEqual(refunded["escrow_balance"], 0)
        self.assertEqual([(r["amount"], r["status"]) for r in refunded["refunds"]], [(640000, "processed")])
        sim = WORLD.sim_refunds(reference)
        self.assertEqual([(r["amount"], r["status"]) for r in sim], [(640000, "processed")])
        # Nothing can be paid on a cancelled booking.
        self.assertEqual(WORLD.api.post(f"/bookings/{b['id']}/pay", {}, token=client).status, 409)


class Disputes(Base):
    def disputed(self, amount=500000):
        provider_id, provider = M.provider(with_account=True)
        b, client = M.funded_booking(provider_id, amount=amount)
        M.submit_proof_json(b["id"], provider)
        opened = M.expect(WORLD.api.post(f"/bookings/{b['id']}/dispute",
                                         {"reason": "not_delivered", "description": "Half done."},
                                         token=client), 200, "open dispute")
        self.assertEqual(opened["status"], "disputed")
        self.assertEqual(opened["dispute"]["status"], "open")
        self.assertError(WORLD.api.post(f"/bookings/{b['id']}/release-payment", {}, token=client),
                         409, "dispute_open")
        listed = M.expect(WORLD.api.get("/admin/disputes?status=open", token=M.admin), 200, "disputes")
        self.assertIn(b["id"], json.dumps(listed))
        return b, client, provider

    def resolve(self, booking_id, **body):
        body.setdefault("note", "Resolved after reviewing the photos.")
        return M.expect(WORLD.api.post(f"/bookings/{booking_id}/dispute/resolve", body, token=M.admin),
                        200, f"resolve {body['outcome']}")

    def test_resolved_as_release(self):
        b, client, provider = self.disputed()
        self.assertEqual(WORLD.api.post(f"/bookings/{b['id']}/dispute/resolve",
                                        {"outcome": "release", "note": "x"}, token=provider).status, 403)
        done = self.resolve(b["id"], outcome="release")
        self.assertEqual((done["status"], done["payment_status"]), ("completed", "released"))
        payout = M.wait_payout(b["id"], "success")
        self.assertEqual(self.sim_transfer(payout["payout_id"])["amount"], 500000 - fee_of(500000))
        self.assertEqual(WORLD.sim_refunds(b["payments"][0]["reference"]), [])

    def test_resolved_as_refund(self):
        b, _, _ = self.disputed()
        self.resolve(b["id"], outcome="refund")
        done = M.wait_booking(b["id"], lambda x: x["payment_status"] == "refunded", "refunded")
        self.assertEqual(done["status"], "refunded")
        self.assertEqual([r["amount"] for r in WORLD.sim_refunds(b["payments"][0]["reference"])], [500000])
        self.assertEqual(done.get("payouts", []), [])

    def test_resolved_as_split_adds_up(self):
        b, _, _ = self.disputed(amount=500000)
        self.assertError(WORLD.api.post(f"/bookings/{b['id']}/dispute/resolve",
                                        {"outcome": "split", "provider_amount": 300000,
                                         "refund_amount": 100000, "note": "x"}, token=M.admin),
                         400, "invalid_resolution")
        done = self.resolve(b["id"], outcome="split", provider_amount=300001, refund_amount=199999)
        self.assertEqual(done["payment_status"], "split")
        self.assertEqual(done["escrow_balance"], 0)
        refunds = M.wait_booking(b["id"], lambda x: [r["status"] for r in x["refunds"]] == ["processed"],
                                 "the refund part processed")["refunds"]
        self.assertEqual(refunds[0]["amount"], 199999)
        self.assertEqual([r["amount"] for r in WORLD.sim_refunds(b["payments"][0]["reference"])], [199999])
        payout = M.wait_payout(b["id"], "success")
        provider_net = 300001 - fee_of(300001)
        self.assertEqual(payout["amount"], provider_net)
        self.assertEqual(self.sim_transfer(payout["payout_id"])["amount"], provider_net)
        # client's part + provider's net + platform fee = what was paid
        self.assertEqual(199999 + provider_net + fee_of(300001), 500000)


class SplitPlan(Base):
    def test_deposit_then_balance(self):
        client_id, client = M.client()
        b = M.create_booking(client_id, M.provider()[0], amount=500001,
                             payment_plan={"type": "split", "deposit_bps": 3000})
        deposit = 500001 * 3000 // 10000
        first = M.fund(b["id"], client)
        self.assertEqual((first["installment"], first["amount"]), (1, deposit))
        partly = M.booking(b["id"])
        self.assertEqual((partly["payment_status"], partly["escrow_balance"]), ("partially_paid", deposit))
        second = M.fund(b["id"], client)
        self.assertEqual((second["installment"], second["amount"]), (2, 500001 - deposit))
        full = M.booking(b["id"])
        self.assertEqual((full["payment_status"], full["amount_paid"]), ("escrow", 500001))
        self.assertError(WORLD.api.post(f"/bookings/{b['id']}/pay", {}, token=client), 409, "nothing_due")


class Payouts(Base):
    def released_with_mode(self, mode):
        """A released booking of a provider with an account, its transfer sent in `mode`."""
        WORLD.sim_config(transfer_mode=mode)
        provider_id, provider = M.provider(with_account=True)
        b, client = M.funded_booking(provider_id)
        M.submit_proof_json(b["id"], provider)
        M.release(b["id"], client)
        return b, provider_id, provider

    def test_failed_transfer_returns_the_money_then_a_withdrawal_pays_it(self):
        b, provider_id, provider = self.released_with_mode("fail")
        failed = M.wait_payout(b["id"], "failed")
        self.assertEqual(self.sim_transfer(failed["payout_id"])["status"], "failed")
        net = 500000 - fee_of(500000)
        WORLD.wait_for(lambda: (M.balance(provider_id)["available"], M.balance(provider_id)["in_flight"])
                       == (net, 0), "the failed amount available again")

        WORLD.sim_config(transfer_mode="success")
        self.assertError(WORLD.api.post(f"/providers/{provider_id}/withdrawals",
                                        {"amount": net + 1, "currency": "NGN"}, token=provider),
                         409, "insufficient_balance")
        part = 200000
        r = WORLD.api.post(f"/providers/{provider_id}/withdrawals", {"amount": part, "currency": "NGN"},
                           token=provider)
        self.assertEqual(r.status, 201, r)
        withdrawal = r.json()
        self.assertNotEqual(withdrawal["payout_id"], failed["payout_id"])  # a new reference
        WORLD.wait_for(lambda: [t for t in WORLD.sim_transfers(withdrawal["payout_id"])
                                if t["status"] == "success"], "the withdrawal's transfer")
        self.assertEqual(self.sim_transfer(withdrawal["payout_id"])["amount"], part)
        WORLD.wait_for(lambda: M.balance(provider_id)["available"] == net - part and
                       M.balance(provider_id)["in_flight"] == 0, "available = net - withdrawn")
        history = M.expect(WORLD.api.get(f"/providers/{provider_id}/withdrawals", token=provider), 200,
                           "payout history")
        statuses = {p["payout_id"]: p["status"] for p in history["data"]}
        self.assertEqual(statuses.get(withdrawal["payout_id"]), "success")
        self.assertEqual(statuses.get(failed["payout_id"]), "failed")

    def test_reversed_transfer_returns_the_money(self):
        b, provider_id, _ = self.released_with_mode("reverse")
        reversed_ = M.wait_payout(b["id"], "reversed")
        self.assertEqual(self.sim_transfer(reversed_["payout_id"])["status"], "reversed")
        WORLD.wait_for(lambda: M.balance(provider_id)["available"] == 500000 - fee_of(500000),
                       "the reversed amount available again")

    def retry_payout(self, payout_id, token=None, **kw):
        return WORLD.api.post(f"/admin/payouts/{payout_id}/retry", {}, token=token or M.admin, **kw)

    def assert_retry_pays_once(self, mode, final_status):
        """A transfer that ended `final_status` at the sim, retried by an admin: paid under a new
        reference, the provider's balance settled, and the old payout not retryable again."""
        b, provider_id, provider = self.released_with_mode(mode)
        old = M.wait_payout(b["id"], final_status)
        net = 500000 - fee_of(500000)
        WORLD.wait_for(lambda: (M.balance(provider_id)["available"], M.balance(provider_id)["in_flight"])
                       == (net, 0), f"the {final_status} amount available again")
        self.assertEqual(self.retry_payout(old["payout_id"], token=provider).status, 403)

        WORLD.sim_config(transfer_mode="success")
        key = {"Idempotency-Key": new_id("retry")}
        r = self.retry_payout(old["payout_id"], headers=key)
        self.assertEqual(r.status, 201, r)
        retry = r.json()
        self.assertSchema(retry, "RetriedPayout")
        self.assertEqual((retry["retry_of"], retry["amount"], retry["currency"], retry["status"]),
                         (old["payout_id"], net, "NGN", "queued"))
        self.assertNotEqual(retry["reference"], old["payout_id"])  # a new transfer reference
        self.assertEqual(retry["payout_id"], retry["reference"])
        self.assertEqual((retry["provider_id"], retry["booking_id"], retry["attempt"]),
                         (provider_id, b["id"], 2))
        # A replay of the same request answers the same and queues nothing more.
        again = self.retry_payout(old["payout_id"], headers=key)
        self.assertEqual((again.status, again.body), (201, r.body))
        self.assertEqual(again.headers.get("idempotent-replayed"), "true")

        WORLD.wait_for(lambda: [t for t in WORLD.sim_transfers(retry["reference"]) if t["status"] == "success"],
                       "the retry's transfer at the sim")
        self.assertEqual(self.sim_transfer(retry["reference"])["amount"], net)
        self.assertEqual(self.sim_transfer(old["payout_id"])["status"], final_status)  # not re-sent
        WORLD.wait_for(lambda: (M.balance(provider_id)["available"], M.balance(provider_id)["in_flight"])
                       == (0, 0), "the retried amount paid out")
        self.assertEqual(M.balance(provider_id)["total_earned"], net)
        payouts = {p["payout_id"]: (p["status"], p["source"]) for p in M.booking(b["id"])["payouts"]}
        self.assertEqual(payouts, {old["payout_id"]: (final_status, old["source"]),
                                   retry["payout_id"]: ("success", "retry")})
        history = M.expect(WORLD.api.get(f"/providers/{provider_id}/withdrawals", token=provider), 200,
                           "payout history")
        retried = [p for p in history["data"] if p["payout_id"] == retry["payout_id"]]
        self.assertEqual([(p["retry_of"], p["status"]) for p in retried], [(old["payout_id"], "success")])
        listed = M.expect(WORLD.api.get(f"/admin/payouts?provider_id={provider_id}", token=M.admin), 200,
                          "admin payouts")["data"]
        self.assertEqual({p["payout_id"]: p["requested_by"] for p in listed},
                         {old["payout_id"]: None, retry["payout_id"]: "admin-ops"})  # who retried it
        # Once retried, neither the old payout nor the paid one can be paid again.
        for payout_id in (old["payout_id"], retry["payout_id"]):
            self.assertError(self.retry_payout(payout_id), 409, "payout_not_retryable")
        self.assertEqual(len(WORLD.sim_transfers(retry["reference"])), 1)

    def test_an_admin_retries_a_failed_transfer_under_a_new_reference(self):
        self.assert_retry_pays_once("fail", "failed")

    def test_an_admin_retries_a_reversed_transfer_under_a_new_reference(self):
        self.assert_retry_pays_once("reverse", "reversed")

    def test_a_retry_cannot_pay_money_withdrawn_meanwhile_nor_an_unknown_payout(self):
        b, provider_id, provider = self.released_with_mode("fail")
        failed = M.wait_payout(b["id"], "failed")
        net = 500000 - fee_of(500000)
        WORLD.wait_for(lambda: M.balance(provider_id)["available"] == net, "the failed amount available again")
        WORLD.sim_config(transfer_mode="success")
        before = {t["reference"] for t in WORLD.sim_transfers()}
        withdrawal = M.expect(WORLD.api.post(f"/providers/{provider_id}/withdrawals",
                                             {"amount": 1000, "currency": "NGN"}, token=provider),
                              201, "withdraw a little")
        self.assertError(self.retry_payout(failed["payout_id"]), 409, "insufficient_balance")
        self.assertError(self.retry_payout("po-0000000000000000-1"), 404, "unknown_payout")
        WORLD.wait_for(lambda: M.balance(provider_id)["available"] == net - 1000 and
                       M.balance(provider_id)["in_flight"] == 0, "only the withdrawal paid")
        self.assertEqual({t["reference"] for t in WORLD.sim_transfers()} - before, {withdrawal["payout_id"]})
        self.assertEqual([p["status"] for p in M.booking(b["id"])["payouts"]], ["failed"])

    def test_otp_transfer_finalized_by_an_admin(self):
        b, _, provider = self.released_with_mode("otp")
        held = M.wait_payout(b["id"], "otp")
        path = f"/admin/payouts/{held['payout_id']}/finalize"
        self.assertEqual(WORLD.api.post(path, {"otp": SIM_OTP}, token=provider).status, 403)
        wrong = WORLD.api.post(path, {"otp": "000000"}, token=M.admin)
        self.assertIn(wrong.status, (400, 409, 422, 502), wrong)
        self.assertEqual(self.sim_transfer(held["payout_id"])["status"], "otp")
        r = WORLD.api.post(path, {"otp": SIM_OTP}, token=M.admin)
        self.assertEqual(r.status, 200, r)
        M.wait_payout(b["id"], "success")
        self.assertEqual(self.sim_transfer(held["payout_id"])["status"], "success")
        self.assertError(WORLD.api.post(path, {"otp": SIM_OTP}, token=M.admin), 409,
                         "payout_not_awaiting_otp")


class Webhooks(Base):
    def test_duplicated_and_reordered_webhooks_capture_once(self):
        WORLD.sim_config(webhook_duplicates=3, webhook_shuffle=True)
        bookings = []
        for _ in range(3):
            client_id, client = M.client()
            b = M.create_booking(client_id, M.provider()[0], amount=300000)
            bookings.append((b["id"], M.pay(b["id"], client)["reference"]))
        for _, reference in bookings:
            WORLD.pay_at_sim(reference)
        for booking_id, reference in bookings:
            b = M.wait_booking(booking_id, lambda x: x["payment_status"] == "escrow", "escrow")
            self.assertEqual((b["amount_paid"], b["escrow_balance"], b["refunds"]), (300000, 300000, []))
            captured = [e for e in M.events_of(booking_id) if e["type"] == "PaymentCaptured"]
            self.assertEqual(len(captured), 1)
        # Redelivering everything again changes nothing either.
        self.assertEqual(WORLD.sim_http.post("/_sim/webhooks/redeliver", {}).status, 200)
        WORLD.wait_for(lambda: all(h["state"] != "queued" for h in WORLD.sim_state()["webhooks"]),
                       "redeliveries done")
        for booking_id, _ in bookings:
            self.assertEqual(M.booking(booking_id)["escrow_balance"], 300000)

    def test_badly_signed_webhooks_are_refused_and_not_stored(self):
        client_id, client = M.client()
        b = M.create_booking(client_id, M.provider()[0])
        reference = M.pay(b["id"], client)["reference"]
        before = M.expect(WORLD.api.get("/admin/webhook-events", token=M.admin), 200, "webhook events")
        body = json.dumps({"event": "charge.success",
                           "data": {"id": 1, "reference": reference, "amount": 500000, "currency": "NGN",
                                    "status": "success", "fees": 0, "channel": "card"}},
                          separators=(",", ":")).encode()
        wrong_key = hmac.new(b"sk_test_not_the_key", body, hashlib.sha512).hexdigest()
        right_key_other_body = hmac.new(WORLD.secret_key.encode(), body + b" ", hashlib.sha512).hexdigest()
        for headers in ({"x-paystack-signature": wrong_key}, {"x-paystack-signature": right_key_other_body},
                        {"x-paystack-signature": "zz"}, {}):
            r = WORLD.api.post("/webhooks/paystack", body, headers=headers, content_type="application/json")
            self.assertEqual(r.status, 401, (headers, r))
        after = M.expect(WORLD.api.get("/admin/webhook-events", token=M.admin), 200, "webhook events")
        self.assertEqual(after.get("counts"), before.get("counts"))
        self.assertEqual(M.booking(b["id"])["payment_status"], "pending")


class WrongAmount(Base):
    def test_a_payment_of_the_wrong_amount_is_flagged_and_never_held(self):
        client_id, client = M.client()
        b = M.create_booking(client_id, M.provider()[0], amount=500000)
        checkout = M.pay(b["id"], client)
        WORLD.pay_at_sim(checkout["reference"], amount=400000)
        flagged = M.wait_booking(b["id"], lambda x: payment(x, checkout["reference"])["status"] == "flagged",
                                 "payment flagged")
        self.assertNotEqual(flagged["payment_status"], "escrow")
        self.assertEqual((flagged["amount_paid"], flagged["escrow_balance"]), (0, 0))
        self.assertEqual(flagged["status"], "awaiting_payment")
        self.assertIn("PaymentFlagged", [e["type"] for e in M.events_of(b["id"])])
        listed = M.expect(WORLD.api.get("/admin/payments?status=flagged", token=M.auditor), 200,
                          "flagged payments")["data"]
        self.assertIn((checkout["reference"], b["id"], 400000),
                      [(p["reference"], p["booking_id"], p["amount"]) for p in listed])
        self.assertError(WORLD.api.get("/admin/payments?status=weird", token=M.admin), 400, "invalid_query")
        # The client can pay again, the right amount this time.
        again = M.fund(b["id"], client)
        self.assertNotEqual(again["reference"], checkout["reference"])
        self.assertEqual(M.booking(b["id"])["escrow_balance"], 500000)


class Idempotency(Base):
    def test_same_key_and_body_replays_and_another_body_is_422(self):
        client_id, _ = M.client()
        body = {"id": new_id("bk"), "client_id": client_id, "provider_id": M.provider()[0],
                "client_email": "a@example.com", "amount": 500000, "currency": "NGN",
                "description": "Plumbing", "payment_plan": {"type": "full"}}
        key = {"Idempotency-Key": new_id("key")}
        first = WORLD.api.post("/bookings", body, token=M.service, headers=key)
        self.assertEqual(first.status, 201, first)
        self.assertNotIn("idempotent-replayed", first.headers)
        second = WORLD.api.post("/bookings", body, token=M.service, headers=key)
        self.assertEqual((second.status, second.body), (201, first.body))
        self.assertEqual(second.headers.get("idempotent-replayed"), "true")
        other = dict(body, amount=600000)
        self.assertError(WORLD.api.post("/bookings", other, token=M.service, headers=key), 422,
                         "idempotency_key_reused")
        self.assertEqual(M.booking(body["id"])["amount"], 500000)
        self.assertEqual(len([e for e in M.events_of(body["id"]) if e["type"] == "BookingCreated"]), 1)

    def test_a_replayed_pay_opens_no_second_checkout(self):
        client_id, client = M.client()
        b = M.create_booking(client_id, M.provider()[0])
        key = {"Idempotency-Key": new_id("pay")}
        first = WORLD.api.post(f"/bookings/{b['id']}/pay", {}, token=client, headers=key)
        second = WORLD.api.post(f"/bookings/{b['id']}/pay", {}, token=client, headers=key)
        self.assertEqual((first.status, second.status), (201, 201))
        self.assertEqual(first.json()["reference"], second.json()["reference"])
        self.assertEqual(second.headers.get("idempotent-replayed"), "true")
        refs = [t["reference"] for t in WORLD.sim_state()["transactions"]
                if t["reference"] == first.json()["reference"]]
        self.assertEqual(len(refs), 1)

    def test_the_same_booking_twice_is_200_and_other_terms_409(self):
        client_id, _ = M.client()
        provider_id, _ = M.provider()
        b = M.create_booking(client_id, provider_id)
        same = {k: b[k] for k in ("id", "client_id", "provider_id", "client_email", "amount", "currency",
                                  "description")}
        same["payment_plan"] = {"type": "full"}
        again = WORLD.api.post("/bookings", same, token=M.service)
        self.assertEqual(again.status, 200, again)
        self.assertError(WORLD.api.post("/bookings", dict(same, amount=999999), token=M.service), 409,
                         "booking_exists")


class MoreRules(Base):
    def test_a_late_payment_on_a_cancelled_booking_is_refunded_at_once(self):
        client_id, client = M.client()
        b = M.create_booking(client_id, M.provider()[0], amount=350000)
        checkout = M.pay(b["id"], client)
        M.expect(WORLD.api.post(f"/bookings/{b['id']}/cancel", {"reason": "found another"}, token=client),
                 200, "cancel before paying")
        WORLD.pay_at_sim(checkout["reference"])  # the client paid on the open checkout anyway
        done = M.wait_booking(b["id"], lambda x: [r["status"] for r in x["refunds"]] == ["processed"],
                              "the late payment refunded")
        self.assertEqual((done["status"], done["escrow_balance"]), ("cancelled", 0))
        self.assertEqual(done["refunds"][0]["amount"], 350000)
        self.assertEqual([r["amount"] for r in WORLD.sim_refunds(checkout["reference"])], [350000])
        history = M.expect(WORLD.api.get("/transactions", token=client), 200, "the client's history")
        kinds = sorted(t["kind"] for t in history["data"] if t["booking_id"] == b["id"])
        self.assertEqual(kinds, ["payment", "refund"])

    def test_a_failed_refund_puts_the_money_back_in_escrow(self):
        WORLD.sim_config(refund_mode="failed")
        b, client = M.funded_booking(amount=420000)
        M.expect(WORLD.api.post(f"/bookings/{b['id']}/cancel", {"reason": "x"}, token=client), 200, "cancel")
        failed = M.wait_booking(b["id"], lambda x: [r["status"] for r in x["refunds"]] == ["failed"],
                                "the refund failed")
        self.assertEqual(failed["escrow_balance"], 420000)
        self.assertEqual(failed["payment_status"], "refunding")
        self.assertEqual([r["status"] for r in WORLD.sim_refunds(b["payments"][0]["reference"])], ["failed"])

    def test_an_admin_retries_a_failed_refund_and_the_booking_is_refunded(self):
        WORLD.sim_config(refund_mode="failed")
        b, client = M.funded_booking(amount=430000)
        reference = b["payments"][0]["reference"]
        M.expect(WORLD.api.post(f"/bookings/{b['id']}/cancel", {"reason": "x"}, token=client), 200, "cancel")
        failed = M.wait_booking(b["id"], lambda x: [r["status"] for r in x["refunds"]] == ["failed"],
                                "the refund failed")["refunds"][0]
        path = f"/admin/refunds/{failed['refund_id']}/retry"
        for token in (client, M.service, M.auditor):
            self.assertEqual(WORLD.api.post(path, {}, token=token).status, 403)
        self.assertError(WORLD.api.post("/admin/refunds/rf-0000000000000000-1/retry", {}, token=M.admin), 404,
                         "unknown_refund")

        WORLD.sim_config(refund_mode="processed")
        r = WORLD.api.post(path, {}, token=M.admin)
        self.assertEqual(r.status, 201, r)
        retry = r.json()
        self.assertSchema(retry, "RetriedRefund")
        self.assertEqual((retry["retry_of"], retry["booking_id"], retry["payment_reference"], retry["amount"],
                          retry["status"], retry["attempt"]),
                         (failed["refund_id"], b["id"], reference, 430000, "queued", 2))
        self.assertNotEqual(retry["refund_id"], failed["refund_id"])
        done = M.wait_booking(b["id"], lambda x: x["payment_status"] == "refunded", "refunded by the retry")
        self.assertEqual((done["status"], done["escrow_balance"]), ("cancelled", 0))
        self.assertEqual({r["refund_id"]: r["status"] for r in done["refunds"]},
                         {failed["refund_id"]: "failed", retry["refund_id"]: "processed"})
        self.assertEqual(sorted((r["amount"], r["status"]) for r in WORLD.sim_refunds(reference)),
                         [(430000, "failed"), (430000, "processed")])
        for refund_id in (failed["refund_id"], retry["refund_id"]):
            self.assertError(WORLD.api.post(f"/admin/refunds/{refund_id}/retry", {}, token=M.admin), 409,
                             "refund_not_retryable")
        history = M.expect(WORLD.api.get("/transactions", token=client), 200, "the client's history")
        refunds = [t["status"] for t in history["data"] if t["kind"] == "refund" and t["booking_id"] == b["id"]]
        self.assertEqual(sorted(refunds), ["failed", "processed"])

    def test_the_client_cannot_cancel_after_proof_but_the_provider_can(self):
        provider_id, provider = M.provider()
        b, client = M.funded_booking(provider_id)
        M.submit_proof_json(b["id"], provider)
        self.assertError(WORLD.api.post(f"/bookings/{b['id']}/cancel", {"reason": "x"}, token=client), 409,
                         "proof_submitted")
        M.expect(WORLD.api.post(f"/bookings/{b['id']}/cancel", {"reason": "cannot finish"}, token=provider),
                 200, "the provider gives the job up")
        done = M.wait_booking(b["id"], lambda x: x["payment_status"] == "refunded", "refunded")
        self.assertEqual((done["status"], done["escrow_balance"]), ("cancelled", 0))

    def test_an_expired_booking_refuses_payment(self):
        client_id, client = M.client()
        pay_by = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
        b = M.create_booking(client_id, M.provider()[0], pay_by=pay_by)
        time.sleep(3)
        checkouts = len(WORLD.sim_state()["transactions"])
        self.assertError(WORLD.api.post(f"/bookings/{b['id']}/pay", {}, token=client), 409, "booking_expired")
        self.assertEqual(len(WORLD.sim_state()["transactions"]), checkouts)  # no checkout opened

    def test_a_signed_dispute_webhook_paystack_does_not_have_changes_nothing(self):
        b, _ = M.funded_booking()
        reference = b["payments"][0]["reference"]
        body = json.dumps({"event": "charge.dispute.create", "data": {
            "id": 358900, "refund_amount": 500000, "currency": "NGN", "status": "awaiting-merchant-feedback",
            "resolution": None, "domain": "test", "category": "chargeback", "transaction_reference": None,
            "transaction": {"id": b["payments"][0]["paystack_transaction_id"], "status": "success",
                            "reference": reference, "amount": 500000, "currency": "NGN"},
            "customer": {"email": b["client_email"]}, "created_at": "2026-01-05T10:00:00.000Z",
            "updated_at": "2026-01-05T10:00:00.000Z"}}, separators=(",", ":")).encode()
        signature = hmac.new(WORLD.secret_key.encode(), body, hashlib.sha512).hexdigest()
        r = WORLD.api.post("/webhooks/paystack", body, headers={"x-paystack-signature": signature},
                           content_type="application/json")
        self.assertEqual(r.status, 200, r)
        delivery = r.json()["delivery_id"]
        WORLD.wait_for(lambda: M.expect(WORLD.api.get(f"/admin/webhook-events/{delivery}", token=M.admin),
                                        200, "delivery")["status"] == "ignored", "the delivery ignored")
        self.assertEqual(M.booking(b["id"])["status"], "pending_execution")


class Chargebacks(Base):
    """DESIGN rule 6b, against the simulator's dispute paths and control calls."""

    def open_chargeback(self, reference, **body):
        r = WORLD.sim_http.post(f"/_sim/transactions/{reference}/chargeback", body)
        self.assertEqual(r.status, 200, r)
        return r.json()["data"]["id"]

    def bank_resolves(self, dispute_id, resolution):
        r = WORLD.sim_http.post(f"/_sim/disputes/{dispute_id}/resolve", {"resolution": resolution})
        self.assertEqual(r.status, 200, r)

    def chargeback(self, booking, dispute_id):
        return [c for c in booking["chargebacks"] if c["id"] == dispute_id][0]

    def test_before_release_the_admin_accepts_and_the_money_goes_back_once(self):
        provider_id, provider = M.provider(with_account=True)
        b, client = M.funded_booking(provider_id)
        M.submit_proof_json(b["id"], provider)
        reference = b["payments"][0]["reference"]
        dispute_id = self.open_chargeback(reference)
        frozen = M.wait_booking(b["id"], lambda x: x["status"] == "disputed", "frozen by the chargeback")
        c = self.chargeback(frozen, dispute_id)
        self.assertEqual((c["status"], c["resolution"], c["refund_amount"]),
                         ("awaiting-merchant-feedback", None, 500000))
        self.assertIsNotNone(c["due_at"])
        self.assertError(WORLD.api.post(f"/bookings/{b['id']}/release-payment", {}, token=client), 409,
                         "dispute_open")
        # An admin refund now could pay the client twice: refused while Paystack decides.
        self.assertError(WORLD.api.post(f"/bookings/{b['id']}/dispute/resolve",
                                        {"outcome": "refund", "note": "x"}, token=M.admin), 409,
                         "chargeback_open")
        listed = M.expect(WORLD.api.get("/admin/chargebacks?status=awaiting-merchant-feedback",
                                        token=M.auditor), 200, "chargebacks")
        self.assertIn(dispute_id, [x["id"] for x in listed["data"]])
        self.assertError(WORLD.api.post(f"/admin/chargebacks/{dispute_id}/respond",
                                        {"resolution": "accept", "message": "ok"},
                                        token=M.auditor), 403, "not_allowed")

        answered = M.expect(WORLD.api.post(f"/admin/chargebacks/{dispute_id}/respond",
                                           {"resolution": "accept", "message": "We refund the customer."},
                                           token=M.admin), 200, "accept")
        c = self.chargeback(answered, dispute_id)
        self.assertEqual((answered["status"], answered["payment_status"]), ("refunded", "refunded"))
        self.assertEqual((c["resolution"], c["response"], c["from_escrow"]), ("merchant-accepted", "accept", 500000))
        self.assertEqual((answered["escrow_balance"], answered["charged_back"], answered["refunds"]), (0, 500000, []))
        # The resolve webhook arrives too and changes nothing; Paystack holds no refund of it.
        time.sleep(0.5)
        again = M.booking(b["id"])
        self.assertEqual(again["version"], answered["version"])
        self.assertEqual(WORLD.sim_refunds(reference), [])
        paystack_side = [t for t in WORLD.sim_state()["transactions"] if t["reference"] == reference]
        self.assertEqual(paystack_side[0]["status"], "reversed")
        self.assertError(WORLD.api.post(f"/admin/chargebacks/{dispute_id}/respond",
                                        {"resolution": "accept", "message": "again"}, token=M.admin),
                         409, "chargeback_not_answerable")
        self.assertEqual(M.balance(provider_id)["available"], 0)
        # Reconciliation sees the reversed transaction covered by the chargeback, not a mismatch.
        r = subprocess.run([os.path.join(WORLD.build, "escrowctl"), "reconcile", "--json", "--db", WORLD.db],
                           env=WORLD.escrowd_environment(), capture_output=True, text=True, timeout=120)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        flagged = [d for d in json.loads(r.stdout)["differences"] if d["reference"] == reference]
        self.assertEqual(flagged, [])

    def test_before_release_declined_unfreezes_and_the_booking_goes_on(self):
        provider_id, provider = M.provider(with_account=True)
        b, client = M.funded_booking(provider_id)
        M.submit_proof_json(b["id"], provider)
        dispute_id = self.open_chargeback(b["payments"][0]["reference"])
        M.wait_booking(b["id"], lambda x: x["status"] == "disputed", "frozen by the chargeback")
        self.assertError(WORLD.api.post(f"/admin/chargebacks/{dispute_id}/respond",
                                        {"resolution": "decline", "message": "Delivered."}, token=M.admin),
                         400, "invalid_field")
        declined = M.expect(WORLD.api.post(f"/admin/chargebacks/{dispute_id}/respond",
                                           {"resolution": "decline", "message": "Delivered, see photos.",
                                            "uploaded_filename": "evidence-1.pdf"}, token=M.admin),
                            200, "decline")
        c = self.chargeback(declined, dispute_id)
        self.assertEqual((declined["status"], c["status"], c["response"], c["resolution"]),
                         ("disputed", "awaiting-bank-feedback", "decline", None))
        self.bank_resolves(dispute_id, "declined")
        on = M.wait_booking(b["id"], lambda x: x["status"] == "awaiting_confirmation", "unfrozen")
        self.assertEqual((self.chargeback(on, dispute_id)["resolution"], on["escrow_balance"]), ("declined", 500000))
        self.assertIsNotNone(on["auto_confirm_at"])  # the paused clock runs again
        released = M.release(b["id"], client)
        self.assertEqual(released["status"], "completed")
        payout = M.wait_payout(b["id"], "success")
        self.assertEqual(payout["amount"], 500000 - fee_of(500000))

    def test_after_payout_the_provider_owes_it_and_the_next_release_covers_it_first(self):
        provider_id, provider = M.provider(with_account=True)
        b, client = M.funded_booking(provider_id)
        M.submit_proof_json(b["id"], provider)
        M.release(b["id"], client)
        net = 500000 - fee_of(500000)
        M.wait_payout(b["id"], "success")
        dispute_id = self.open_chargeback(b["payments"][0]["reference"], refund_amount=300000)
        opened = M.wait_booking(b["id"], lambda x: len(x["chargebacks"]) == 1, "the chargeback recorded")
        self.assertEqual(opened["status"], "completed")  # nothing held to freeze
        self.bank_resolves(dispute_id, "auto-accepted")
        done = M.wait_booking(b["id"], lambda x: x["chargebacks"][0]["resolution"] == "auto-accepted",
                              "the chargeback resolved")
        c = self.chargeback(done, dispute_id)
        self.assertEqual((c["from_escrow"], c["from_provider"], c["platform_loss"]), (0, 300000, 0))
        self.assertEqual(M.balance(provider_id)["available"], -300000)
        self.assertError(WORLD.api.post(f"/providers/{provider_id}/withdrawals", {"amount": 100, "currency": "NGN"},
                                        token=provider), 409, "insufficient_balance")
        # The next booking's release pays the debt first: only the rest is transferred.
        b2, client2 = M.funded_booking(provider_id)
        M.submit_proof_json(b2["id"], provider)
        M.release(b2["id"], client2)
        payout = M.wait_payout(b2["id"], "success")
        self.assertEqual(payout["amount"], net - 300000)
        self.assertEqual(M.balance(provider_id)["available"], 0)

    def test_a_chargeback_beyond_what_the_provider_was_paid_is_the_platforms_loss(self):
        provider_id, provider = M.provider()  # no payout account: the release stays available
        b, client = M.funded_booking(provider_id)
        M.submit_proof_json(b["id"], provider)
        M.release(b["id"], client)
        dispute_id = self.open_chargeback(b["payments"][0]["reference"])
        M.wait_booking(b["id"], lambda x: len(x["chargebacks"]) == 1, "the chargeback recorded")
        self.bank_resolves(dispute_id, "merchant-accepted")
        done = M.wait_booking(b["id"], lambda x: x["chargebacks"][0]["resolution"] is not None, "resolved")
        c = self.chargeback(done, dispute_id)
        self.assertEqual((c["from_provider"], c["platform_loss"]), (500000 - fee_of(500000), fee_of(500000)))
        self.assertEqual(M.balance(provider_id)["available"], 0)
        self.assertEqual(done["charged_back"], 500000)


class ReleaseRules(Base):
    def test_an_approval_before_the_balance_is_paid_releases_when_it_arrives(self):
        provider_id, provider = M.provider(with_account=True)
        client_id, client = M.client()
        b = M.create_booking(client_id, provider_id, payment_plan={"type": "split", "deposit_bps": 5000})
        M.fund(b["id"], client)
        M.submit_proof_json(b["id"], provider)
        approved = M.release(b["id"], client)
        self.assertEqual((approved["approved"], approved["status"], approved["escrow_balance"]),
                         (True, "awaiting_confirmation", 250000))
        self.assertEqual(approved.get("payouts", []), [])
        M.fund(b["id"], client)
        done = M.wait_booking(b["id"], lambda x: x["status"] == "completed", "released on the last installment")
        self.assertEqual((done["payment_status"], done["escrow_balance"]), ("released", 0))
        self.assertEqual(M.wait_payout(b["id"], "success")["amount"], 500000 - fee_of(500000))

    def test_a_dispute_freezes_the_auto_confirm_clock(self):
        provider_id, provider = M.provider()
        b, client = M.funded_booking(provider_id, auto_confirm_after_s=2)
        M.submit_proof_json(b["id"], provider)
        M.expect(WORLD.api.post(f"/bookings/{b['id']}/dispute", {"reason": "bad work"}, token=provider), 200,
                 "the provider may dispute too")
        time.sleep(3)
        still = M.booking(b["id"])
        self.assertEqual((still["status"], still["escrow_balance"]), ("disputed", 500000))

    def test_refusals_that_need_no_money_movement(self):
        client_id, client = M.client()
        provider_id, provider = M.provider()
        unpaid = M.create_booking(client_id, provider_id)
        self.assertError(WORLD.api.post(f"/bookings/{unpaid['id']}/dispute", {"reason": "x"}, token=client),
                         409, "nothing_held")
        self.assertError(WORLD.api.post(f"/bookings/{unpaid['id']}/complete", {"notes": "x"}, token=provider),
                         409, "nothing_held")
        self.assertError(WORLD.api.post(f"/providers/{provider_id}/withdrawals",
                                        {"amount": 1000, "currency": "NGN"}, token=provider),
                         409, "payout_account_missing")
        recipients = len(WORLD.sim_state()["recipients"])
        for bank_code, number in (("044", "12345"), ("999", "0123456789")):  # too short; no such bank
            bad = WORLD.api.put(f"/providers/{provider_id}/payout-account",
                                {"bank_code": bank_code, "account_number": number, "account_name": "X",
                                 "currency": "NGN"}, token=provider)
            self.assertIn(bad.status, (400, 422, 502), bad)
            self.assertNotIn(number, bad.body.decode())
        self.assertEqual(len(WORLD.sim_state()["recipients"]), recipients)


class Feeds(Base):
    def test_signed_notifications_tell_the_marketplace_what_happened(self):
        provider_id, provider = M.provider(with_account=True)
        b, client = M.funded_booking(provider_id)
        M.submit_proof_json(b["id"], provider)
        M.release(b["id"], client)
        payout = M.wait_payout(b["id"], "success")
        wanted = {"payment.held", "completion.requested", "funds.released", "payout.paid"}

        def mine():
            found = []
            for headers, body in WORLD.notifications.deliveries():
                note = json.loads(body)
                if note.get("booking_id") == b["id"] or payout["payout_id"] in json.dumps(note["data"]):
                    found.append((headers, note, body))
            return found if wanted <= {n["type"] for _, n, _ in found} else None
        found = WORLD.wait_for(mine, "the booking's notifications")
        for headers, note, body in found:
            parts = dict(part.split("=", 1) for part in headers["x-escrow-signature"].split(","))
            expected = hmac.new(WORLD.notify_secret.encode(), parts["t"].encode() + b"." + body,
                                hashlib.sha256).hexdigest()
            self.assertEqual(parts["v1"], expected, note["type"])
            self.assertLess(abs(int(parts["t"]) - time.time()), 300)
            self.assertEqual(note["id"], f"ntf_{note['seq']}")
        by_type = {n["type"]: n for _, n, _ in found}
        self.assertEqual(by_type["payment.held"]["data"]["amount"]["amount"], 500000)
        self.assertEqual(by_type["payout.paid"].get("provider_id"), provider_id)
        # At least once: the receiver deduplicates by id, and no two events share one.
        self.assertEqual(len({n["id"] for _, n, _ in found}), len({n["seq"] for _, n, _ in found}))

    def test_booking_pages_follow_the_cursor_newest_first(self):
        client_id, client = M.client()
        provider_id, _ = M.provider()
        made = [M.create_booking(client_id, provider_id)["id"] for _ in range(5)]
        seen, cursor = [], None
        while True:
            path = "/bookings?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = M.expect(WORLD.api.get(path, token=client), 200, "a page of bookings")
            self.assertLessEqual(len(page["data"]), 2)
            seen += [row["id"] for row in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, list(reversed(made)))
        theirs = M.expect(WORLD.api.get(f"/bookings?provider_id={provider_id}&status=awaiting_payment",
                                        token=M.service), 200, "filtered")
        self.assertEqual(sorted(row["id"] for row in theirs["data"]), sorted(made))

    def test_the_global_feed_is_one_unbroken_hash_chain(self):
        M.funded_booking()
        events = M.all_events()
        self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)))
        self.assertEqual(events[0]["prev_hash"], "0" * 64)
        for before, after in zip(events, events[1:]):
            self.assertEqual(after["prev_hash"], before["hash"], after["seq"])
        # An auditor recomputes a hash from the feed alone (schema/README.md): data and meta are
        # served as stored, compact, so re-serialising them gives the hashed text back.
        for e in events[:50]:
            text = "\n".join([e["prev_hash"], str(e["seq"]), e["stream"], str(e["version"]), e["type"],
                              str(e["recorded_at_ms"]),
                              json.dumps(e["data"], separators=(",", ":"), ensure_ascii=False),
                              json.dumps(e["meta"], separators=(",", ":"), ensure_ascii=False)])
            self.assertEqual(hashlib.sha256(text.encode()).hexdigest(), e["hash"], e["seq"])

    def test_replay_by_time(self):
        b, client = M.funded_booking()
        events = M.events_of(b["id"])
        created = events[0]["recorded_at"]
        then = M.expect(WORLD.api.get(f"/bookings/{b['id']}/at?time={created}", token=client), 200, "replay")
        self.assertEqual(then["booking"]["payment_status"], "unpaid")
        now = M.expect(WORLD.api.get(f"/bookings/{b['id']}/at?time=2999-01-01T00:00:00Z", token=client), 200,
                       "replay at the head")
        self.assertEqual(now["booking"]["escrow_balance"], 500000)

    def test_an_unknown_reference_is_kept_ignored_and_can_be_retried(self):
        reference = new_id("not-ours")
        body = json.dumps({"event": "charge.success", "data": {
            "id": 77, "reference": reference, "amount": 10000, "currency": "NGN", "status": "success",
            "fees": 100, "channel": "card", "paid_at": "2026-01-05T10:00:00.000Z"}}, separators=(",", ":"))
        signature = hmac.new(WORLD.secret_key.encode(), body.encode(), hashlib.sha512).hexdigest()
        r = WORLD.api.post("/webhooks/paystack", body, headers={"x-paystack-signature": signature},
                           content_type="application/json")
        self.assertEqual(r.status, 200, r)
        delivery = r.json()["delivery_id"]
        stored = WORLD.wait_for(lambda: (lambda d: d if d["status"] != "received" else None)(
            M.expect(WORLD.api.get(f"/admin/webhook-events/{delivery}", token=M.auditor), 200, "delivery")),
            "the delivery processed")
        self.assertEqual((stored["status"], stored["reference"]), ("ignored", reference))
        listed = M.expect(WORLD.api.get(f"/admin/webhook-events?reference={reference}&processed=ignored",
                                        token=M.admin), 200, "filtered deliveries")
        self.assertEqual([d["id"] for d in listed["data"]], [delivery])
        retried = M.expect(WORLD.api.post(f"/admin/webhook-events/{delivery}/retry", {}, token=M.admin), 200,
                           "retry")
        self.assertEqual(retried["status"], "ignored")


class Concurrency(Base):
    def run_together(self, calls):
        results = [None] * len(calls)
        def run(i):
            results[i] = calls[i]()
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def test_concurrent_withdrawals_never_overdraw(self):
        WORLD.sim_config(transfer_mode="fail")
        provider_id, provider = M.provider(with_account=True)
        b, client = M.funded_booking(provider_id)
        M.submit_proof_json(b["id"], provider)
        M.release(b["id"], client)
        M.wait_payout(b["id"], "failed")
        net = 500000 - fee_of(500000)
        WORLD.wait_for(lambda: M.balance(provider_id)["available"] == net, "the money available again")
        WORLD.sim_config(transfer_mode="success")
        ask = lambda: WORLD.api.post(f"/providers/{provider_id}/withdrawals",  # noqa: E731
                                     {"amount": 300000, "currency": "NGN"}, token=provider)
        results = self.run_together([ask] * 8)
        self.assertEqual(sorted(r.status for r in results), [201] + [409] * 7, results)
        self.assertTrue(all(r.error_code() == "insufficient_balance" for r in results if r.status == 409))
        WORLD.wait_for(lambda: (M.balance(provider_id)["available"], M.balance(provider_id)["in_flight"])
                       == (net - 300000, 0), "one withdrawal paid")

    def test_concurrent_approvals_release_once(self):
        provider_id, provider = M.provider()
        b, client = M.funded_booking(provider_id)
        M.submit_proof_json(b["id"], provider)
        release = lambda token: lambda: WORLD.api.post(  # noqa: E731
            f"/bookings/{b['id']}/release-payment", {}, token=token)
        results = self.run_together([release(client), release(M.admin)] * 3)
        self.assertEqual(sorted(r.status for r in results), [200] + [409] * 5, results)
        self.assertEqual(len([e for e in M.events_of(b["id"]) if e["type"] == "FundsReleased"]), 1)
        self.assertEqual(M.balance(provider_id)["available"], 500000 - fee_of(500000))


class ResponsesMatchTheDocument(Base):
    """Every answer of a whole lifecycle validates against GET /openapi.json's schemas."""

    def assertMatches(self, response, status, schema):
        self.assertEqual(response.status, status, response)
        errors = openapi_check.schema_errors(self.doc, {"$ref": f"#/components/schemas/{schema}"},
                                             response.json())
        self.assertEqual(errors, [], f"{schema}: {response}")
        return response.json()

    def test_a_lifecycles_answers_match_the_schemas(self):
        self.doc = WORLD.api.get("/openapi.json").json()
        api = WORLD.api
        provider_id, provider = M.provider()
        self.assertMatches(api.put(f"/providers/{provider_id}/payout-account",
                                   {"bank_code": "044", "account_number": "0123456789",
                                    "account_name": "Bola Ade", "currency": "NGN"}, token=provider),
                           200, "PayoutAccount")
        client_id, client = M.client()
        body = {"id": new_id("bk"), "client_id": client_id, "provider_id": provider_id,
                "client_email": "c@example.com", "amount": 500000, "currency": "NGN",
                "description": "Painting", "payment_plan": {"type": "split", "deposit_bps": 4000}}
        b = self.assertMatches(api.post("/bookings", body, token=M.service), 201, "Booking")
        checkout = self.assertMatches(api.post(f"/bookings/{b['id']}/pay", {}, token=client), 201,
                                      "PayResponse")
        WORLD.pay_at_sim(checkout["reference"])
        self.assertMatches(api.post("/payments/verify", {"reference": checkout["reference"]}, token=client),
                           200, "VerifyResponse")
        M.fund(b["id"], client)
        self.assertMatches(api.post(f"/bookings/{b['id']}/complete", {"notes": "done"}, token=provider), 200,
                           "Booking")
        self.assertMatches(api.post(f"/bookings/{b['id']}/dispute", {"reason": "late"}, token=client), 200,
                           "Booking")
        self.assertMatches(api.post(f"/bookings/{b['id']}/dispute/resolve",
                                    {"outcome": "split", "provider_amount": 250000, "refund_amount": 250000,
                                     "note": "shared"}, token=M.admin), 200, "Booking")
        M.wait_payout(b["id"], "success")
        # The refund part spans both installments' charges: one refund per charge.
        refunds = M.wait_booking(b["id"], lambda x: x["refunds"] and all(r["status"] == "processed"
                                                                         for r in x["refunds"]),
                                 "refunds processed")["refunds"]
        self.assertEqual(sum(r["amount"] for r in refunds), 250000)
        self.assertMatches(api.get(f"/bookings/{b['id']}", token=client), 200, "Booking")
        self.assertMatches(api.get(f"/bookings?provider_id={provider_id}&limit=1", token=M.service), 200,
                           "BookingPage")
        events = self.assertMatches(api.get(f"/bookings/{b['id']}/events", token=M.auditor), 200,
                                    "BookingEvents")["data"]
        self.assertMatches(api.get(f"/bookings/{b['id']}/at?seq={events[1]['seq']}", token=M.auditor), 200,
                           "BookingAt")
        self.assertMatches(api.get(f"/transactions?party_id={client_id}", token=M.service), 200,
                           "TransactionPage")
        self.assertMatches(api.get(f"/providers/{provider_id}/balance", token=provider), 200, "Balance")
        self.assertMatches(api.get(f"/providers/{provider_id}/withdrawals", token=provider), 200, "PayoutPage")
        self.assertMatches(api.get("/events?after=0&limit=5", token=M.auditor), 200, "EventPage")
        self.assertMatches(api.get("/admin/disputes?status=resolved", token=M.admin), 200, "DisputePage")
        deliveries = self.assertMatches(api.get("/admin/webhook-events?limit=3", token=M.admin), 200,
                                        "WebhookDeliveryPage")
        first = deliveries["data"][0]["id"]
        self.assertMatches(api.get(f"/admin/webhook-events/{first}", token=M.auditor), 200, "WebhookDelivery")
        self.assertMatches(api.post(f"/admin/webhook-events/{first}/retry", {}, token=M.admin), 200,
                           "WebhookDelivery")
        self.assertMatches(api.get("/healthz"), 200, "Health")
        self.assertMatches(api.get("/readyz"), 200, "Readiness")
        self.assertMatches(api.get(f"/bookings/{b['id']}", token=M.auditor), 200, "Booking")
        self.assertMatches(api.post(f"/bookings/{b['id']}/pay", {}, token=client), 409, "Error")
        self.assertMatches(api.get("/bookings/nope", token=M.admin), 404, "Error")


if __name__ == "__main__":
    unittest.main(verbosity=2)
