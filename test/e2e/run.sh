#!/usr/bin/env bash
# Runs one end-to-end module (test_flows, test_security, test_crash) with Python's unittest
# against BUILD_DIR's escrowd, paystack-sim and escrowctl.
# Usage: bash run.sh MODULE BUILD_DIR SOURCE_DIR
set -euo pipefail

MODULE=${1:?usage: run.sh MODULE BUILD_DIR SOURCE_DIR}
BUILD=$(cd "${2:?usage: run.sh MODULE BUILD_DIR SOURCE_DIR}" && pwd)
SOURCE=$(cd "${3:-$(dirname "$0")/../..}" && pwd)
for binary in escrowd paystack-sim escrowctl; do
  [[ -x $BUILD/$binary ]] || { echo "FAIL: $BUILD/$binary is not built" >&2; exit 1; }
done
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
cd "$SOURCE/test/e2e"
PYTHONDONTWRITEBYTECODE=1 E2E_BUILD_DIR=$BUILD exec timeout 540 "$PY" -m unittest -v "$MODULE"
