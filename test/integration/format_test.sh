#!/usr/bin/env bash
# format_test: every C++ source and header of the project is formatted as .clang-format says
# (clang-format 14, as Debian ships it), so a change cannot bring its own layout. On failure it
# names each file and shows the first lines clang-format would change; `clang-format-14 -i FILE`
# fixes one.
#
# Usage: format_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
SOURCE=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
FORMAT=$(command -v clang-format-14 || command -v clang-format || true)
[[ -n $FORMAT ]] || { echo "FAIL: no clang-format-14 (tools/deps installs it)" >&2; exit 1; }
"$FORMAT" --version | grep -q "version 14\." ||
  { echo "FAIL: $FORMAT is not clang-format 14: $("$FORMAT" --version)" >&2; exit 1; }

cd "$SOURCE"
mapfile -t files < <(find ledger projections net paystack service api tools test \
  -name node_modules -prune -o \( -name '*.cpp' -o -name '*.h' \) -print | sort)
[[ ${#files[@]} -gt 100 ]] || { echo "FAIL: only ${#files[@]} sources found under $SOURCE" >&2; exit 1; }

unformatted=0
for f in "${files[@]}"; do
  if ! "$FORMAT" --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f"
    diff <("$FORMAT" "$f") "$f" | head -8 | sed 's/^/    /' || true
    unformatted=$((unformatted + 1))
  fi
done
if [[ $unformatted -gt 0 ]]; then
  echo "FAIL: $unformatted of ${#files[@]} files differ from .clang-format" >&2
  exit 1
fi
echo "ok: ${#files[@]} files formatted as .clang-format says"
