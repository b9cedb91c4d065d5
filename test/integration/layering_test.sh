#!/usr/bin/env bash
# layering_test: every folder's #includes follow the dependency direction of DESIGN section 1
# (api -> service -> projections, paystack -> ledger/store -> ledger; escrowctl never api), and
# the check itself catches a wrong-direction include, naming its file and line
# (test/check_layers.py --self-test adds such includes to a copy of the tree); and the build
# refuses them too: with a module's own compile flags a header of a module it does not link is
# not found (test/check_build_layers.py).
# Usage: bash layering_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: layering_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
SOURCE=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
export PYTHONDONTWRITEBYTECODE=1
python3 "$SOURCE/test/check_layers.py" "$SOURCE"
python3 "$SOURCE/test/check_layers.py" "$SOURCE" --self-test
python3 "$SOURCE/test/check_build_layers.py" "$BUILD" "$SOURCE"
echo "layering: clean, and the self-test caught every planted include"
