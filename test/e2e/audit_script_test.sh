#!/usr/bin/env bash
# audit_script_test: the auditor's standalone checker, tools/audit/verify_chain.py, run with
# Python's standard library alone (python3 -I -S) as docs/audit.md tells an auditor to. On a log
# that `escrow-bench core --bookings 50` writes through the real command path, it checks that
#  - the script accepts the worked example of schema/README.md (formula and test vector agree);
#  - an `escrowctl events` export, the SQLite file, and escrowd's GET /events with an auditor
#    token each verify, ending with the same last hash that `escrowctl verify` reports, and an
#    export that starts at a later seq verifies from there;
#  - one byte changed in one event of a copy of the export makes it exit 1 naming that seq, as
#    does a line removed (the next seq is named) and a changed event behind the database's
#    triggers (the seq `escrowctl verify` names too);
#  - a log cut short at the end passes the chain but fails --expect-last-hash;
#  - unreadable input (no database, a bad token) exits 2, not 0 or 1.
# Needs escrowd, escrowctl and escrow-bench in BUILD_DIR, python3 and sqlite3.
# Usage: bash audit_script_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: audit_script_test.sh BUILD_DIR SOURCE_DIR}" && pwd)
SOURCE=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
SCRIPT=$SOURCE/tools/audit/verify_chain.py
for binary in escrowd escrowctl escrow-bench; do
  [[ -x $BUILD/$binary ]] || { echo "FAIL: $BUILD/$binary is not built" >&2; exit 1; }
done
T=$(mktemp -d)
escrowd_pid=""
cleanup() {
  if [[ -n $escrowd_pid ]]; then kill "$escrowd_pid" 2>/dev/null || true; wait "$escrowd_pid" 2>/dev/null || true; fi
  rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# check CODE NAME COMMAND...: runs COMMAND with stdout+stderr in $T/NAME.out, checks its exit code.
check() {
  local code=$1 name=$2; shift 2
  local rc=0
  "$@" >"$T/$name.out" 2>&1 || rc=$?
  [[ $rc == "$code" ]] || { cat "$T/$name.out" >&2; fail "$name: exit $rc, expected $code"; }
}
says() { grep -qF -- "$2" "$T/$1.out" || { cat "$T/$1.out" >&2; fail "$1: no '$2' in the output"; }; }
verify_chain() { python3 -I -S "$SCRIPT" "$@"; }

# The worked example of schema/README.md.
printf '%s\n' '{"seq":1,"stream":"booking-b1","version":1,"type":"BookingCreated","data":"{\"amount\":250000,\"currency\":\"NGN\"}","meta":"{\"actor\":{\"id\":\"svc\",\"role\":\"service\"}}","recorded_at":1700000000000,"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","hash":"a338ccf340645884857457eadfa8982a2639f8ba0530fa7998acebc704c2fe6e"}' >"$T/example.jsonl"
check 0 example verify_chain "$T/example.jsonl"
says example "ok: 1 events, last hash a338ccf340645884857457eadfa8982a2639f8ba0530fa7998acebc704c2fe6e"

DB=$T/escrow.db
"$BUILD/escrow-bench" core --db "$DB" --bookings 50 --workers 4 >/dev/null
N=$(sqlite3 -batch -noheader "$DB" "SELECT count(*) FROM events")
(( N > 100 )) || fail "the bench wrote only $N events"
HEAD=$("$BUILD/escrowctl" verify --db "$DB" --json 2>/dev/null |
  python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["ok"], r; print(r["last_hash"])')

# A whole export, from a file and from stdin, and the database file: all agree with escrowctl.
"$BUILD/escrowctl" events --db "$DB" >"$T/log.jsonl"
check 0 export verify_chain "$T/log.jsonl"
says export "ok: $N events, last hash $HEAD"
check 0 stdin sh -c 'python3 -I -S "$1" <"$2"' sh "$SCRIPT" "$T/log.jsonl"
says stdin "ok: $N events, last hash $HEAD"
check 0 sqlite verify_chain --sqlite "$DB"
says sqlite "ok: $N events, last hash $HEAD"
check 0 anchored verify_chain --expect-last-hash "$HEAD" "$T/log.jsonl"

# An export from a later seq is checked from there on.
"$BUILD/escrowctl" events --db "$DB" --from-seq 40 >"$T/tail.jsonl"
check 0 tail verify_chain "$T/tail.jsonl"
says tail "the input starts at seq 40"
says tail "ok: $((N - 39)) events, last hash $HEAD"

# One byte changed in one event (a digit of its data) in a copy of the export.
BAD=$(( N / 2 ))
python3 - "$T/log.jsonl" "$T/tampered.jsonl" "$BAD" <<'EOF'
import re, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
line = lines[int(sys.argv[3]) - 1]
at = re.search(rb'"data":"[^0-9]*', line).end()  # the first digit inside the data text
digit = line[at:at + 1]
assert digit.isdigit(), line
lines[int(sys.argv[3]) - 1] = line[:at] + (b"1" if digit != b"1" else b"2") + line[at + 1:]
open(sys.argv[2], "wb").write(b"\n".join(lines))
EOF
(( $(cmp -l "$T/log.jsonl" "$T/tampered.jsonl" | wc -l) == 1 )) || fail "the copy differs by more than one byte"
check 1 tampered verify_chain "$T/tampered.jsonl"
says tampered "chain broken at seq $BAD: hash does not match the event's content (altered)"
says tampered "first bad seq: $BAD"

# A line removed: the event after the gap is named.
sed "${BAD}d" "$T/log.jsonl" >"$T/removed.jsonl"
check 1 removed verify_chain "$T/removed.jsonl"
says removed "first bad seq: $((BAD + 1))"

# The last events cut off: the chain still links; only a hash kept elsewhere catches it.
head -n $((N - 3)) "$T/log.jsonl" >"$T/short.jsonl"
check 0 short verify_chain "$T/short.jsonl"
check 1 short_anchored verify_chain --expect-last-hash "$HEAD" "$T/short.jsonl"
says short_anchored "not the expected $HEAD"

# An event changed in a copy of the database, behind the append-only triggers' back.
cp "$DB" "$T/altered.db"
sqlite3 -batch "$T/altered.db" "DROP TRIGGER events_no_update;
  UPDATE events SET meta = replace(meta, '\"actor_id\":\"', '\"actor_id\":\"x') WHERE seq = $BAD;"
check 1 altered_db verify_chain --sqlite "$T/altered.db"
says altered_db "first bad seq: $BAD"
check 1 altered_ctl "$BUILD/escrowctl" verify --db "$T/altered.db" --json
says altered_ctl "\"first_bad_seq\":$BAD,"

# Unreadable input is exit 2.
check 2 no_db verify_chain --sqlite "$T/missing.db"
says no_db "no database at"

# escrowd's GET /events, read page by page with an auditor token, on a copy of the database.
# Paystack is a loopback port nobody listens on: the service needs no answer to serve the log.
cp "$DB" "$T/served.db"
JWT=$(openssl rand -hex 32)
PAYSTACK_SECRET_KEY=sk_test_audit PAYSTACK_BASE_URL=http://127.0.0.1:9 ESCROW_JWT_SECRET=$JWT \
  ESCROW_DB="$T/served.db" ESCROW_BLOB_DIR="$T/blobs" ESCROW_LISTEN=127.0.0.1:0 \
  "$BUILD/escrowd" >"$T/escrowd.log" 2>&1 &
escrowd_pid=$!
URL=""
for _ in $(seq 1 100); do
  URL=$(sed -n 's/^escrowd listening on //p' "$T/escrowd.log" | head -n 1)
  [[ -n $URL ]] && break
  kill -0 "$escrowd_pid" 2>/dev/null || { cat "$T/escrowd.log" >&2; fail "escrowd did not start"; }
  sleep 0.1
done
[[ -n $URL ]] || fail "escrowd did not report its address"
AUDITOR=$(ESCROW_JWT_SECRET=$JWT "$BUILD/escrowctl" token --role auditor --sub audit-1 --ttl 600)
check 0 http env ESCROW_TOKEN="$AUDITOR" python3 -I -S "$SCRIPT" --url "$URL"
says http "ok: $N events, last hash $HEAD"
check 2 http_bad_token env ESCROW_TOKEN=not-a-token python3 -I -S "$SCRIPT" --url "$URL"
says http_bad_token "401"

echo "audit_script_test: ok ($N events)"
