#!/usr/bin/env bash
# console_test: the admin console (/admin/) in Debian's Chromium, driven by playwright-core:
# refused tokens get a clear message; the admin signs in, resolves a disputed booking as a split
# (with confirmation), sees the booking's money and timeline (seq, hash), filters the webhook
# deliveries on "failed" and retries one until it is processed, finalizes a payout held for an OTP,
# accepts a Paystack chargeback at Paystack, retries a failed refund and reads the revenue page.
# test/console/run.py starts
# paystack-sim and escrowd and seeds the data through the HTTP API; console.spec.mjs drives the
# browser. Screenshots of every step are kept in BUILD_DIR/console-artifacts/.
# Needs chromium, node and npm (./tools/deps installs them, and playwright-core in test/console).
# Usage: bash console_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: console_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
SOURCE=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
for binary in escrowd paystack-sim escrowctl; do
  [[ -x $BUILD/$binary ]] || { echo "FAIL: $BUILD/$binary is not built" >&2; exit 1; }
done
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[[ -x $CHROMIUM ]] || { echo "FAIL: $CHROMIUM is missing; run ./tools/deps" >&2; exit 1; }
command -v node >/dev/null || { echo "FAIL: node is missing; run ./tools/deps" >&2; exit 1; }
if [[ ! -d $SOURCE/test/console/node_modules/playwright-core ]]; then
  (cd "$SOURCE/test/console" && npm ci --no-audit --no-fund --loglevel=error)
fi

artifacts=$BUILD/console-artifacts
rm -rf "$artifacts"
mkdir -p "$artifacts"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
PYTHONDONTWRITEBYTECODE=1 E2E_BUILD_DIR=$BUILD CONSOLE_ARTIFACTS=$artifacts CHROMIUM=$CHROMIUM \
  exec timeout 420 "$PY" "$SOURCE/test/console/run.py"
