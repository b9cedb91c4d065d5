#!/usr/bin/env bash
# escrow-sim in CI (docs/testing.md): a fixed set of 200 seeds of the deterministic simulation
# (every invariant checked after every step and at the end), and a replay: the same seed gives the
# same run, digest for digest, with and without the trace. A sanitizer build (build-asan) runs
# the same seeds.
set -euo pipefail
build=$1
sim="$build/escrow-sim"
dir=$(mktemp -d -p "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )")
trap 'rm -rf "$dir"' EXIT

"$sim" --seeds 200 --dir "$dir"

first=$("$sim" --seed 4242 --dir "$dir" | grep '^seed 4242:')
again=$("$sim" --seed 4242 --trace --dir "$dir" | grep '^seed 4242:')
echo "$first"
if [ "$first" != "$again" ]; then
  echo "a replay of seed 4242 differs: '$first' then '$again'" >&2
  exit 1
fi
case "$first" in
  *": ok, digest "*) ;;
  *) echo "seed 4242 did not pass" >&2; exit 1 ;;
esac
