#!/usr/bin/env bash
# e2e_security_test: runs test/e2e/test_security.py against the real escrowd and paystack-sim:
# strangers' and bad tokens on every route, malformed and oversized input, the rate limit; then
# `escrowctl verify` on the service's databases.
# Usage: bash e2e_security_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
exec bash "$(dirname "$0")/run.sh" test_security "$@"
