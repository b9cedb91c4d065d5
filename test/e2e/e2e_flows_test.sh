#!/usr/bin/env bash
# e2e_flows_test: runs test/e2e/test_flows.py: the money flows end to end over loopback HTTP
# against the real escrowd and paystack-sim, then `escrowctl verify` on the service's database.
# Usage: bash e2e_flows_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
exec bash "$(dirname "$0")/run.sh" test_flows "$@"
