#!/usr/bin/env bash
# reconcile_test: `escrowctl reconcile` against the real escrowd and paystack-sim with every
# webhook dropped (test/reconcile/test_reconcile.py): a capture, a transfer outcome and a refund
# outcome the ledger never heard of are reported (exit 1), recorded by --apply while escrowd runs
# (exit 0, the booking in escrow, the payout paid, the refund processed, escrowd still able to act
# on the same streams), a rerun finds nothing; a charge of no booking of ours stays for a person;
# missing Paystack configuration is refused with a clear message, and --apply needs no JWT secret; the Paystack key is
# never printed; `escrowctl verify` passes afterwards.
# Usage: bash reconcile_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: reconcile_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
SOURCE=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
for binary in escrowd paystack-sim escrowctl; do
  [[ -x $BUILD/$binary ]] || { echo "FAIL: $BUILD/$binary is not built" >&2; exit 1; }
done
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
cd "$SOURCE/test/reconcile"
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$SOURCE/test/e2e" E2E_BUILD_DIR=$BUILD \
  exec timeout 300 "$PY" -m unittest -v test_reconcile
