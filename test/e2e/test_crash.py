# test_crash: escrowd killed with SIGKILL while money is leaving, then restarted on the same
# database, end to end against the real paystack-sim (harness.py). The simulator answers Paystack
# calls slowly (latency_ms) so that the transfer (or the refund) is in flight when the process
# dies. After the restart the service must find out what happened before sending anything again
# (DESIGN section 6): exactly one transfer exists at the simulator for the payout's reference,
# none under any other reference, it carries provider_net and the payout ends in success; a
# refund in flight ends processed, once. Then `escrowctl verify` passes on the database.
# Run by test/e2e/e2e_crash_test.sh (E2E_BUILD_DIR names the build directory).
import time
import unittest

from harness import Market, World, fee_of

WORLD = None
M = None
LATENCY_MS = 1500


def setUpModule():
    global WORLD, M
    WORLD = World.start()
    M = Market(WORLD)


def tearDownModule():
    result = WORLD.stop()
    if result is None or result.returncode != 0:
        raise AssertionError("escrowctl verify failed after the crashes:\n" +
                             (result.stdout + result.stderr if result else "not run"))


class Crash(unittest.TestCase):
    def setUp(self):
        WORLD.sim_config(latency_ms=0, transfer_mode="success", refund_mode="processed")

    def crash_and_restart(self):
        """Kills escrowd as soon as the slow Paystack call has started, then restarts it."""
        time.sleep(LATENCY_MS / 1000 / 3)
        WORLD.kill_escrowd()
        self.assertFalse(WORLD.escrowd.alive())
        WORLD.start_escrowd()
        WORLD.sim_config(latency_ms=0)

    def test_a_transfer_in_flight_is_sent_once(self):
        provider_id, provider = M.provider(with_account=True)
        b, client = M.funded_booking(provider_id, amount=987654)
        M.submit_proof_json(b["id"], provider)
        transfers_before = len(WORLD.sim_transfers())
        WORLD.sim_config(latency_ms=LATENCY_MS)
        M.release(b["id"], client)
        self.crash_and_restart()

        payout = M.wait_payout(b["id"], "success", timeout_s=30)
        net = 987654 - fee_of(987654)
        self.assertEqual(payout["amount"], net)
        # Give a wrongly re-sent transfer the time to show up before counting.
        M.quiet()
        time.sleep(1)
        transfers = WORLD.sim_transfers()[transfers_before:]
        self.assertEqual([(t["reference"], t["amount"], t["status"]) for t in transfers],
                         [(payout["payout_id"], net, "success")])
        self.assertEqual([p["payout_id"] for p in M.booking(b["id"])["payouts"]], [payout["payout_id"]])
        bal = M.balance(provider_id)
        self.assertEqual((bal["available"], bal["in_flight"], bal["total_earned"]), (0, 0, net))

    def test_a_refund_in_flight_is_sent_once(self):
        b, client = M.funded_booking(amount=432100)
        reference = b["payments"][0]["reference"]
        WORLD.sim_config(latency_ms=LATENCY_MS)
        M.expect(M.api.post(f"/bookings/{b['id']}/cancel", {"reason": "changed plans"}, token=client),
                 200, "cancel")
        self.crash_and_restart()

        done = M.wait_booking(b["id"], lambda x: x["payment_status"] == "refunded", "refunded",
                              timeout_s=30)
        self.assertEqual([(r["amount"], r["status"]) for r in done["refunds"]], [(432100, "processed")])
        M.quiet()
        time.sleep(1)
        self.assertEqual([(r["amount"], r["status"]) for r in WORLD.sim_refunds(reference)],
                         [(432100, "processed")])

    def test_a_crash_between_payment_and_webhook_loses_nothing(self):
        client_id, client = M.client()
        b = M.create_booking(client_id, M.provider()[0], amount=250000)
        checkout = M.pay(b["id"], client)
        WORLD.kill_escrowd()
        # Paid while the service is down: the webhook fails and the sim retries it.
        WORLD.pay_at_sim(checkout["reference"])
        WORLD.start_escrowd()
        held = M.wait_booking(b["id"], lambda x: x["payment_status"] == "escrow", "escrow", timeout_s=30)
        self.assertEqual(held["escrow_balance"], 250000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
