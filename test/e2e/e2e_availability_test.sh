#!/usr/bin/env bash
# e2e_availability_test: runs test/e2e/test_availability.py against the real escrowd and
# paystack-sim: a slow Paystack, a dribbling connection flood, garbage-token large bodies and an
# unknown transfer coding; then `escrowctl verify` on the service's databases.
# Usage: bash e2e_availability_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
exec bash "$(dirname "$0")/run.sh" test_availability "$@"
