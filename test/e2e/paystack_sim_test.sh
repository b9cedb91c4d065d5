#!/usr/bin/env bash
# paystack_sim_test: runs paystack_sim_checks.py against the built paystack-sim: the simulator's
# Paystack paths, errors, balance arithmetic, transfer and refund modes, signed webhooks and
# their faults, checkout, control API, and a validation of every success body against the
# official OpenAPI response schemas (paystack_sim_schema.py). Needs python3 with the Debian
# packages python3-yaml and python3-jsonschema (tools/deps installs them).
# Usage: bash paystack_sim_test.sh BUILD_DIR [SOURCE_DIR]
set -euo pipefail

BUILD=$(cd "${1:?usage: paystack_sim_test.sh BUILD_DIR [SOURCE_DIR]}" && pwd)
SOURCE=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
SIM="$BUILD/paystack-sim"
# shared/ sits beside the repository (CI clones main with shared/ next to it).
SHARED="${PAYSTACK_SHARED_DIR:-$(cd "$SOURCE/.." && pwd)/shared/paystack}"
[[ -d $SHARED ]] || SHARED=/work/shared/paystack

[[ -x $SIM ]] || { echo "FAIL: $SIM is not built" >&2; exit 1; }
[[ -f $SHARED/openapi.yaml ]] || { echo "FAIL: no openapi.yaml under $SHARED" >&2; exit 1; }
# Debian's python3 has the packages tools/deps installs; another python3 first in PATH may not.
PY=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import yaml, jsonschema' 2>/dev/null; then PY=$candidate; break; fi
done
[[ -n $PY ]] || { echo "FAIL: python3-yaml and python3-jsonschema are needed (tools/deps)" >&2; exit 1; }

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
if ! SIM_STDERR="$LOG" timeout 120 "$PY" "$SOURCE/test/paystack_sim_checks.py" "$SIM" "$SHARED"; then
  echo "--- last lines of the simulator's stderr ---" >&2
  tail -n 40 "$LOG" >&2
  exit 1
fi
