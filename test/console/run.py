# Starts paystack-sim and escrowd (test/e2e/harness.py), seeds what the admin console must show
# through the HTTP API, then runs console.spec.mjs in Chromium against it:
#   - a booking paid in full, with proof (notes and a PNG) submitted by the provider, disputed by
#     the client: the dispute the browser resolves;
#   - a charge.success delivery whose processing failed, because Paystack (the simulator in
#     error mode) did not answer verify: the delivery the browser retries once the simulator
#     answers again (console.spec.mjs switches the error mode off just before);
#   - transfers that wait for an OTP, so that the provider's part of the split is a payout the
#     browser finalizes on the payouts page;
#   - a booking held in escrow and charged back at the simulator (recorded by escrowd from the
#     dispute Paystack has): the chargeback the browser accepts;
#   - a cancelled booking whose refund Paystack failed: the refund the browser retries.
# The fixture goes to the browser test as JSON in CONSOLE_FIXTURE. Afterwards escrowctl verify
# checks the database. Exits with the browser test's status.
# Environment: E2E_BUILD_DIR (escrowd, paystack-sim, escrowctl), CONSOLE_ARTIFACTS (screenshots).
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import harness  # noqa: E402

BROWSER_TIMEOUT_S = 300


def seed_dispute(world, market):
    world.sim_config(transfer_mode="otp")  # the provider's payout will wait for an admin's OTP
    provider_id, provider = market.provider(with_account=True)
    booking, client = market.funded_booking(provider_id=provider_id, amount=500000)
    market.submit_proof_png(booking["id"], provider, notes="Cleaned all three rooms; photo of the kitchen attached.")
    market.expect(world.api.post(f"/bookings/{booking['id']}/dispute",
                                 {"reason": "work_incomplete",
                                  "description": "The kitchen and the balcony were not cleaned."},
                                 token=client), 200, "open dispute")
    return booking["id"], provider_id


def seed_chargeback(world, market):
    booking, _ = market.funded_booking(amount=400000)
    reference = booking["payments"][0]["reference"]
    r = world.sim_http.post(f"/_sim/transactions/{reference}/chargeback", {})
    assert r.status == 200, r
    dispute_id = r.json()["data"]["id"]
    market.wait_booking(booking["id"], lambda b: len(b["chargebacks"]) == 1 and b["status"] == "disputed",
                        "the chargeback recorded")
    return booking["id"], dispute_id


def seed_failed_refund(world, market):
    world.sim_config(refund_mode="failed")
    booking, client = market.funded_booking(amount=300000)
    market.expect(world.api.post(f"/bookings/{booking['id']}/cancel", {"reason": "changed plans"},
                                 token=client), 200, "cancel")
    failed = market.wait_booking(booking["id"], lambda b: any(r["status"] == "failed" for r in b["refunds"]),
                                 "the refund failed", timeout_s=60)
    world.sim_config(refund_mode="processed")
    return booking["id"], [r for r in failed["refunds"] if r["status"] == "failed"][0]["refund_id"]


def seed_failed_delivery(world, market):
    client_id, client = market.client()
    provider_id, _ = market.provider()
    booking = market.create_booking(client_id, provider_id, amount=250000)
    checkout = market.pay(booking["id"], client)
    reference = checkout["reference"]
    world.sim_config(error_rate=1)  # Paystack's verify now fails: processing cannot finish
    world.pay_at_sim(reference)     # the simulator sends charge.success

    def failed_delivery():
        r = world.api.get("/admin/webhook-events?" + "event=charge.success&reference=" + reference,
                          token=market.admin)
        assert r.status == 200, r
        rows = [d for d in r.json()["data"] if d["status"] == "failed"]
        return rows[0] if rows else None

    delivery = world.wait_for(failed_delivery, "a failed charge.success delivery", timeout_s=60)
    return booking["id"], reference, delivery["id"]


def main():
    world = harness.World.start()
    status = 1
    try:
        market = harness.Market(world)
        chargeback_booking, dispute_id = seed_chargeback(world, market)
        refund_booking, failed_refund = seed_failed_refund(world, market)
        dispute_booking, provider_id = seed_dispute(world, market)
        paid_booking, reference, delivery_id = seed_failed_delivery(world, market)
        fixture = {
            "escrowd_url": world.escrowd.url,
            "sim_url": world.sim.url,
            "admin_token": market.admin,
            "expired_token": world.token("admin", "admin-ops", ttl_s=-3600),
            "client_token": world.token("client", "cl_someone"),
            "dispute_booking": dispute_booking,
            "provider_id": provider_id,
            "paid_booking": paid_booking,
            "failed_reference": reference,
            "failed_delivery": delivery_id,
            "sim_otp": harness.SIM_OTP,
            "chargeback_booking": chargeback_booking,
            "dispute_id": dispute_id,
            "refund_booking": refund_booking,
            "failed_refund": failed_refund,
            "artifacts": os.environ["CONSOLE_ARTIFACTS"],
        }
        env = dict(os.environ, CONSOLE_FIXTURE=json.dumps(fixture))
        status = subprocess.run(["node", os.path.join(HERE, "console.spec.mjs")], env=env, cwd=HERE,
                                timeout=BROWSER_TIMEOUT_S).returncode
        if status != 0:
            print(world.logs(), file=sys.stderr)
    finally:
        verify = world.stop()
    if verify is None or verify.returncode != 0:
        print("escrowctl verify failed:", verify and (verify.stdout + verify.stderr), file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
