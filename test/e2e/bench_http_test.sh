#!/usr/bin/env bash
# bench_http_test: a smoke test of `escrow-bench http` (no timing is asserted). Through
# tools/bench/http_world.sh it starts a real paystack-sim and escrowd on a fresh database, runs
# every scenario for a tiny count (bookings created, read back, signed webhooks accepted and
# processed, whole lifecycles from payment to payout), and checks that the bench exits 0, reports
# a figure for each scenario with every request answered as expected, and that `escrowctl verify`
# passes on the database afterwards. It also checks that unusable options are refused with exit 2.
# Usage: bash bench_http_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: bench_http_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
SOURCE=$(cd "${2:?usage: bench_http_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

rc=0
bash "$SOURCE/tools/bench/http_world.sh" "$BUILD" --connections 4 --count 40 --lifecycles 3 \
  --json >"$T/out" 2>"$T/err" || rc=$?
cat "$T/out"
[[ $rc == 0 ]] || { cat "$T/err" >&2; fail "the HTTP bench exited $rc"; }
grep -q "^escrowctl verify: ok" "$T/out" || fail "escrowctl verify did not pass"
for scenario in commands reads webhooks lifecycles; do
  grep -qE "^  $scenario +[0-9]+ .* [0-9]+/s; latency ms p50 [0-9.]+ +p90 [0-9.]+ +p99 [0-9.]+" \
    "$T/out" || fail "no figures for $scenario"
done
grep -q "FAILED" "$T/out" && fail "some requests failed"

grep '^{"mode":"http"' "$T/out" >"$T/json" || fail "no JSON line"
python3 - "$T/json" <<'PY'
import json, sys
figures = json.load(open(sys.argv[1]))
expected = {"commands": 40, "reads": 40, "webhooks": 40, "lifecycles": 3}
for name, count in expected.items():
    s = figures[name]
    assert s["ok"] == count and s["failed"] == 0, (name, s)
    assert s["per_s"] > 0 and 0 < s["latency_ms"]["p50"] <= s["latency_ms"]["p99"], (name, s)
assert figures["webhooks"]["processed_per_s"] > 0, figures["webhooks"]
PY

# Unusable options: no secret in the environment, a URL that is not http://HOST:PORT.
rc=0
env -u ESCROW_JWT_SECRET PAYSTACK_SECRET_KEY=sk_test_x "$BUILD/escrow-bench" http \
  --scenario commands --url http://127.0.0.1:9 >"$T/nosecret.out" 2>&1 || rc=$?
[[ $rc == 2 ]] && grep -q "ESCROW_JWT_SECRET is not set" "$T/nosecret.out" || fail "missing secret: exit $rc"
rc=0
ESCROW_JWT_SECRET=x PAYSTACK_SECRET_KEY=y "$BUILD/escrow-bench" http --scenario commands \
  --url https://127.0.0.1:9 >"$T/badurl.out" 2>&1 || rc=$?
[[ $rc == 2 ]] && grep -q "must be http://HOST:PORT" "$T/badurl.out" || fail "bad URL: exit $rc"
echo "bench_http_test: ok"
