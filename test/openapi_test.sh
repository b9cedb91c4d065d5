#!/usr/bin/env bash
# openapi_test: runs test/e2e/openapi_check.py, which keeps api/openapi.cpp's OpenAPI document
# true: OpenAPI 3 shape, every route of DESIGN section 5, exactly the routes escrowd registers,
# every example valid against its schema, and (escrowd being built) GET /openapi.json serving it
# with every documented operation routed. Needs python3-jsonschema (tools/deps installs it).
# Usage: bash openapi_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: openapi_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
SOURCE=$(cd "${2:-$(dirname "$0")/..}" && pwd)
# Debian's python3 has the packages tools/deps installs; another python3 first in PATH may not.
PY=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import jsonschema' 2>/dev/null; then PY=$candidate; break; fi
done
[[ -n $PY ]] || { echo "FAIL: python3-jsonschema is needed (tools/deps)" >&2; exit 1; }
PYTHONDONTWRITEBYTECODE=1 exec timeout 300 "$PY" "$SOURCE/test/e2e/openapi_check.py" "$BUILD" "$SOURCE"
