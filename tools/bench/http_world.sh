#!/usr/bin/env bash
# Runs `escrow-bench http` against a fresh world: starts paystack-sim and escrowd from BUILD_DIR
# on loopback with new secrets and a temporary database, points the simulator's webhooks at
# escrowd, runs the bench with the remaining arguments, stops escrowd gracefully, runs
# `escrowctl verify` on its database and removes the temporary directory (kept, with the logs,
# when verify fails).
#
#   tools/bench/http_world.sh BUILD_DIR [escrow-bench http options...]
#
# Environment: ESCROW_SYNCHRONOUS (default full, escrowd's default) and ESCROW_THREADS (default:
# escrowd's) pass through to escrowd. Exit status: the bench's, or 1 when verify fails.
set -euo pipefail
BUILD=$(cd "${1:?usage: http_world.sh BUILD_DIR [escrow-bench http options...]}" && pwd)
shift
T=$(mktemp -d)
sim_pid=""
escrowd_pid=""
cleanup() {
  for pid in "$escrowd_pid" "$sim_pid"; do
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  if [ -n "$T" ]; then rm -rf "$T"; fi
}
trap cleanup EXIT

# Prints the URL from the first `NAME listening on URL` line of FILE, waiting up to 30 s.
url_from() {
  local file=$1 pid=$2 line
  for _ in $(seq 1 300); do
    line=$(grep -m1 " listening on http://" "$file" 2>/dev/null || true)
    if [ -n "$line" ]; then echo "${line##* }"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "http_world: $(basename "$file" .out) did not start:" >&2
  cat "${file%.out}.err" >&2 || true
  return 1
}

export ESCROW_JWT_SECRET PAYSTACK_SECRET_KEY
ESCROW_JWT_SECRET=$(openssl rand -hex 32)
PAYSTACK_SECRET_KEY="sk_test_$(openssl rand -hex 20)"

"$BUILD/paystack-sim" --listen 127.0.0.1:0 --secret-key "$PAYSTACK_SECRET_KEY" \
  --webhook-url http://127.0.0.1:9/webhooks/paystack >"$T/sim.out" 2>"$T/sim.err" &
sim_pid=$!
sim_url=$(url_from "$T/sim.out" "$sim_pid")

env PAYSTACK_BASE_URL="$sim_url" ESCROW_DB="$T/escrow.db" ESCROW_BLOB_DIR="$T/blobs" \
  ESCROW_LISTEN=127.0.0.1:0 ESCROW_SYNCHRONOUS="${ESCROW_SYNCHRONOUS:-full}" \
  ESCROW_RATE_LIMIT_PER_MIN=10000000 ${ESCROW_THREADS:+ESCROW_THREADS=$ESCROW_THREADS} \
  "$BUILD/escrowd" >"$T/escrowd.out" 2>"$T/escrowd.err" &
escrowd_pid=$!
escrowd_url=$(url_from "$T/escrowd.out" "$escrowd_pid")
curl -sf -X POST "$sim_url/_sim/config" -H 'Content-Type: application/json' \
  -d "{\"webhook_url\":\"$escrowd_url/webhooks/paystack\"}" >/dev/null

echo "escrowd $escrowd_url (ESCROW_SYNCHRONOUS=${ESCROW_SYNCHRONOUS:-full}), paystack-sim $sim_url"
status=0
"$BUILD/escrow-bench" http --url "$escrowd_url" --sim-url "$sim_url" "$@" || status=$?

kill -TERM "$escrowd_pid"
wait "$escrowd_pid" || true
escrowd_pid=""
if "$BUILD/escrowctl" verify --db "$T/escrow.db" >"$T/verify.out" 2>&1; then
  echo "escrowctl verify: ok ($(tail -n 1 "$T/verify.out"))"
else
  cat "$T/verify.out" >&2
  echo "escrowctl verify FAILED; database and logs kept in $T" >&2
  T=""
  exit 1
fi
exit "$status"
