#!/usr/bin/env bash
# e2e_crash_test: runs test/e2e/test_crash.py: escrowd killed with SIGKILL while a payout's
# transfer is in flight, restarted on the same database: exactly one transfer reaches
# paystack-sim and the payout ends in success; then `escrowctl verify` on the database.
# Usage: bash e2e_crash_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
exec bash "$(dirname "$0")/run.sh" test_crash "$@"
