#!/usr/bin/env bash
# openapi_test: keeps api/openapi.json, escrowd's OpenAPI document, true and clean.
#  1. test/e2e/openapi_check.py: OpenAPI 3 shape, every route of DESIGN section 5, exactly the
#     routes escrowd registers (as `escrowd --routes` prints them), every example valid against
#     its schema, and GET /openapi.json serving the document with every operation routed. Needs
#     python3-jsonschema and a built escrowd.
#  2. Redocly CLI's recommended rules (test/openapi/redocly.yaml), as an API user would lint the
#     document: any error or warning fails. The Redocly CLI version is pinned in
#     test/openapi/package-lock.json; tools/deps installs it (npm ci) with Node.js.
# Usage: bash openapi_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: openapi_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
SOURCE=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
# Debian's python3 has the packages tools/deps installs; another python3 first in PATH may not.
PY=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import jsonschema' 2>/dev/null; then PY=$candidate; break; fi
done
[[ -n $PY ]] || { echo "FAIL: python3-jsonschema is needed (tools/deps)" >&2; exit 1; }
LINT_DIR=$SOURCE/test/openapi
command -v node >/dev/null || { echo "FAIL: Node.js is needed (tools/deps)" >&2; exit 1; }
[[ -x $LINT_DIR/node_modules/.bin/redocly ]] ||
  { echo "FAIL: no Redocly CLI in test/openapi/node_modules (tools/deps installs it)" >&2; exit 1; }

# Both parts run, whatever the first finds; the test fails if either does.
checked=0
PYTHONDONTWRITEBYTECODE=1 timeout 300 "$PY" "$SOURCE/test/e2e/openapi_check.py" "$BUILD" "$SOURCE" ||
  checked=$?

report=$(mktemp)
trap 'rm -f "$report"' EXIT
# No telemetry (redocly.yaml says so too) and no update notice: this runs offline, unattended.
# lint exits non-zero on errors only; its JSON report counts the warnings as well.
status=0
(cd "$LINT_DIR" && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  timeout 120 npx --no-install redocly lint --config redocly.yaml --format=json \
  ../../api/openapi.json >"$report") || status=$?
"$PY" - "$report" "$status" <<'PY'
import json, sys
path, status = sys.argv[1], int(sys.argv[2])
try:
    report = json.load(open(path, encoding="utf-8"))
    totals = report["totals"]
except (ValueError, KeyError) as e:
    sys.exit(f"FAIL: redocly lint (exit {status}) wrote no JSON report: {e}")
for p in report["problems"]:
    where = ", ".join(loc.get("pointer", "?") for loc in p.get("location", []))
    print(f"FAIL: redocly {p['severity']} {p['ruleId']} at {where}: {p['message']}",
          file=sys.stderr)
if totals["errors"] or totals["warnings"] or status != 0:
    sys.exit(f"FAIL: redocly lint of api/openapi.json (Redocly CLI {report.get('version')}, "
             f"recommended rules): {totals['errors']} error(s), {totals['warnings']} warning(s)")
print(f"OK: redocly lint (Redocly CLI {report.get('version')}, recommended rules): 0 errors, "
      f"0 warnings, {totals['ignored']} ignored as test/openapi/.redocly.lint-ignore.yaml says")
PY
[[ $checked -eq 0 ]] || { echo "FAIL: openapi_check.py exited $checked" >&2; exit 1; }
