# test_reconcile: `escrowctl reconcile` against the real escrowd and paystack-sim (harness.py) with
# every webhook dropped, so the ledger misses what Paystack did:
#   - a booking paid at Paystack whose charge.success never arrived (ledger: payment pending),
#   - another paid with less than was asked (reconcile records it flagged, never held),
#   - a payout whose transfer went pending and then succeeded with transfer.success dropped,
#   - a refund processed at Paystack with every refund.* webhook dropped.
# reconcile reports exactly these four (text and JSON, exit 1) and changes nothing; --apply, run
# while escrowd runs, records them (exit 0) and escrowd shows the booking in escrow, the payout
# paid and the refund processed, and can still act on the same booking; a rerun finds nothing
# (exit 0). A charge at Paystack that names no booking of ours is reported for a person and left
# alone (exit 1 even with --apply). Missing PAYSTACK_SECRET_KEY is refused with exit 2 and a clear
# message; --apply needs no ESCROW_JWT_SECRET (it records through the service layer, not HTTP). The Paystack key never appears in
# any output. `escrowctl verify` passes on the database afterwards.
import json
import os
import subprocess
import unittest

from harness import Market, World, new_id

WORLD = None
M = None


def setUpModule():
    global WORLD, M
    # No pending check in the service during the test: only reconcile may find what was missed.
    WORLD = World.start(escrowd_env={"ESCROW_PENDING_CHECK_AFTER_S": "3600"})
    M = Market(WORLD)


def tearDownModule():
    result = WORLD.stop()
    assert result is not None and result.returncode == 0, f"escrowctl verify: {result}"


def reconcile(*flags, env=None):
    """Runs escrowctl reconcile on the world's database; (exit code, stdout, stderr)."""
    argv = [os.path.join(WORLD.build, "escrowctl"), "reconcile", "--db", WORLD.db, *flags]
    r = subprocess.run(argv, env=env if env is not None else WORLD.escrowd_environment(),
                       capture_output=True, text=True, timeout=120)
    assert WORLD.secret_key not in r.stdout + r.stderr, "the Paystack key was printed"
    return r.returncode, r.stdout, r.stderr


def reconcile_json(*flags):
    code, out, err = reconcile("--json", *flags)
    assert code in (0, 1), f"exit {code}: {err}"
    return code, json.loads(out)


def snapshot(*bookings):
    """Each booking's event types and its payouts' and refunds' statuses: equal snapshots mean
    nothing was recorded."""
    def of(booking_id):
        b = M.booking(booking_id)
        return ([e["type"] for e in M.events_of(booking_id)],
                [p["status"] for p in b.get("payouts", [])], [r["status"] for r in b.get("refunds", [])])
    return [of(b["id"]) for b in bookings]


def kinds(report):
    return sorted((d["kind"], d["reference"]) for d in report["differences"])


class Reconcile(unittest.TestCase):
    def test_missed_capture_transfer_and_refund_are_reported_then_applied(self):
        # Money held before the webhooks stop: one booking to release, one to cancel.
        WORLD.sim_config(webhook_drop_rate=0, transfer_mode="pending", refund_mode="processed")
        provider_id, provider = M.provider(with_account=True)
        released, released_client = M.funded_booking(provider_id)
        cancelled, cancelled_client = M.funded_booking(amount=640000)

        WORLD.sim_config(webhook_drop_rate=1)
        M.submit_proof_json(released["id"], provider)
        M.release(released["id"], released_client)
        payout = M.wait_payout(released["id"], "pending")
        WORLD.wait_for(lambda: [t for t in WORLD.sim_transfers(payout["payout_id"])
                                if t["status"] == "success"], "the transfer succeeded at the sim")

        M.expect(WORLD.api.post(f"/bookings/{cancelled['id']}/cancel", {"reason": "changed plans"},
                                token=cancelled_client), 200, "cancel")
        charge = cancelled["payments"][0]["reference"]
        WORLD.wait_for(lambda: [r for r in WORLD.sim_refunds(charge) if r["status"] == "processed"],
                       "the refund processed at the sim")
        refund = M.wait_booking(cancelled["id"], lambda b: b["refunds"] and
                                b["refunds"][0]["status"] == "pending", "refund pending")["refunds"][0]

        client_id, client = M.client()
        unpaid = M.create_booking(client_id, M.provider()[0])
        checkout = M.pay(unpaid["id"], client)
        WORLD.pay_at_sim(checkout["reference"])
        short = M.create_booking(client_id, M.provider()[0])
        short_checkout = M.pay(short["id"], client)
        WORLD.pay_at_sim(short_checkout["reference"], amount=1000)  # less than was asked
        M.quiet()
        self.assertEqual(M.booking(unpaid["id"])["payment_status"], "pending")

        # Report only: three differences, exit 1, nothing recorded.
        before = snapshot(unpaid, short, released, cancelled)
        code, report = reconcile_json()
        self.assertEqual(code, 1, report)
        self.assertEqual(kinds(report), sorted([
            ("missed_capture", checkout["reference"]),
            ("missed_capture", short_checkout["reference"]),
            ("transfer_status", payout["payout_id"]),
            ("refund_status", refund["refund_id"]),
        ]))
        by_kind = {d["kind"]: d for d in report["differences"] if d["reference"] != short_checkout["reference"]}
        self.assertEqual(by_kind["missed_capture"]["booking_id"], unpaid["id"])
        self.assertIn("pending", by_kind["missed_capture"]["ledger"])
        self.assertIn("success", by_kind["missed_capture"]["paystack"])
        self.assertIn("success", by_kind["transfer_status"]["paystack"])
        self.assertIn("processed", by_kind["refund_status"]["paystack"])
        self.assertTrue(all(d["fixable"] for d in report["differences"]))
        self.assertEqual(report["applied"], 0)
        self.assertGreaterEqual(report["checked"]["transactions"], 3)
        self.assertGreaterEqual(report["checked"]["transfers"], 1)
        self.assertGreaterEqual(report["checked"]["refunds"], 1)
        self.assertEqual(snapshot(unpaid, short, released, cancelled), before, "a report must change nothing")

        code, text, _ = reconcile()
        self.assertEqual(code, 1)
        self.assertIn("missed_capture", text)
        self.assertIn(checkout["reference"], text)
        self.assertIn("4 differences", text)
        self.assertIn("--apply", text)

        # --apply with escrowd running: every difference recorded.
        code, applied = reconcile_json("--apply")
        self.assertEqual(code, 0, applied)
        self.assertEqual(applied["applied"], 4)
        self.assertTrue(all(d["applied"] for d in applied["differences"]), applied)
        outcomes = {d["reference"]: d["outcome"] for d in applied["differences"]}
        self.assertEqual((outcomes[checkout["reference"]], outcomes[short_checkout["reference"]]),
                         ("captured", "flagged"))

        paid = M.booking(unpaid["id"])
        self.assertEqual((paid["payment_status"], paid["escrow_balance"]), ("escrow", 500000))
        self.assertEqual([p["status"] for p in M.booking(released["id"])["payouts"]], ["success"])
        self.assertEqual(M.balance(provider_id)["in_flight"], 0)
        after = M.booking(cancelled["id"])
        self.assertEqual([r["status"] for r in after["refunds"]], ["processed"])
        self.assertEqual(after["payment_status"], "refunded")
        flagged = M.booking(short["id"])  # a short payment is flagged, never held
        self.assertEqual((flagged["payments"][0]["status"], flagged["escrow_balance"]), ("flagged", 0))
        capture = [e for e in M.events_of(unpaid["id"]) if e["type"] == "PaymentCaptured"]
        self.assertEqual(len(capture), 1)

        # Nothing left; and escrowd, which cached the booking before reconcile wrote to it, acts on
        # it again (its state is brought up to date from the log).
        code, again = reconcile_json()
        self.assertEqual((code, again["differences"]), (0, []))
        code, text, _ = reconcile()
        self.assertEqual(code, 0)
        self.assertIn("no differences", text)
        WORLD.sim_config(webhook_drop_rate=0)
        cancel = WORLD.api.post(f"/bookings/{unpaid['id']}/cancel", {"reason": "no longer needed"},
                                token=client)
        self.assertEqual(cancel.status, 200, cancel)
        M.wait_booking(unpaid["id"], lambda b: b["payment_status"] == "refunded",
                       "the reconciled capture refunded")

        self.charge_of_no_booking_is_left_for_a_person()

    def charge_of_no_booking_is_left_for_a_person(self):
        reference = new_id("foreign").replace("_", "-")
        r = WORLD.sim_http.post("/transaction/initialize",
                                {"email": "shop@example.com", "amount": 12345, "reference": reference},
                                headers={"Authorization": "Bearer " + WORLD.secret_key})
        self.assertEqual(r.status, 200, r)
        WORLD.pay_at_sim(reference)
        code, report = reconcile_json("--apply")
        self.assertEqual(code, 1, report)
        self.assertEqual(kinds(report), [("charge_not_in_ledger", reference)])
        only = report["differences"][0]
        self.assertEqual((only["fixable"], only["applied"]), (False, False))
        self.assertNotIn("booking_id", only)
        self.assertEqual(report["applied"], 0)
        code, again = reconcile_json()
        self.assertEqual((code, kinds(again)), (1, [("charge_not_in_ledger", reference)]))

    def test_missing_configuration_is_refused_clearly(self):
        env = {k: v for k, v in WORLD.escrowd_environment().items() if k != "PAYSTACK_SECRET_KEY"}
        code, out, err = reconcile(env=env)
        self.assertEqual((code, out), (2, ""))
        self.assertIn("PAYSTACK_SECRET_KEY is not set", err)

        # --apply records through the service layer, not escrowd's HTTP app: it needs no JWT
        # secret (a period with nothing at Paystack: nothing to apply, exit 0).
        env = {k: v for k, v in WORLD.escrowd_environment().items() if k != "ESCROW_JWT_SECRET"}
        code, out, err = reconcile("--apply", "--from", "2030-01-01", "--to", "2030-01-02", env=env)
        self.assertEqual(code, 0, err)
        self.assertIn("no differences", out)

        code, _, err = reconcile("--from", "2030-01-02", "--to", "2030-01-01")
        self.assertEqual(code, 2)
        self.assertIn("--from is after --to", err)

        env = WORLD.escrowd_environment()
        env["PAYSTACK_SECRET_KEY"] = "sk_test_" + "0" * 40  # a key the sim does not know
        code, out, err = reconcile(env=env)
        self.assertEqual((code, out), (3, ""))
        self.assertIn("listing Paystack transactions", err)
        self.assertNotIn(env["PAYSTACK_SECRET_KEY"], err)


if __name__ == "__main__":
    unittest.main()
