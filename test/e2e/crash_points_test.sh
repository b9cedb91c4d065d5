#!/usr/bin/env bash
# The crash-point loop (docs/testing.md): one full scenario (create, pay, webhook, proof, approval,
# release, payout account, withdrawal and payout, dispute, refund) cut at every storage operation
# it makes, killed and killed with the power lost, restarted each time; escrow-sim fails if any
# restart loses an acknowledged command, fails integrity_check or verify, or the finished scenario
# has other than one transfer and one refund at Paystack. The sanitizer build (build-asan) cuts
# every 5th operation to stay within CI's budget.
set -euo pipefail
build=$1
stride=1
case "$build" in *asan*) stride=5 ;; esac
dir=$(mktemp -d -p "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )")
trap 'rm -rf "$dir"' EXIT
"$build/escrow-sim" --crash-points --stride "$stride" --dir "$dir"
