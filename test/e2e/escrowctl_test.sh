#!/usr/bin/env bash
# escrowctl_test: drives every escrowctl command as an operator or auditor would, against a
# database that `escrow-bench core` fills with 300 randomized booking lifecycles. It checks that
# verify passes on a healthy log; that a JSON Lines export re-verifies the whole hash chain with
# Python's standard library alone (the formula of schema/README.md) and that the CSV export parses
# to the same rows; replay at an early seq and at the head; balance against the fee events and
# account_balances; stats --json; rebuild without drift and with drift planted in a projection;
# backup (refusal, --force, the copy verifies); and tampering: UPDATE/DELETE on events fail while
# the triggers stand, and an event altered behind the triggers' back makes verify exit 1 naming
# its seq. Usage: bash escrowctl_test.sh BUILD_DIR [SOURCE_DIR]
set -euo pipefail

BUILD=$(cd "${1:?usage: escrowctl_test.sh BUILD_DIR [SOURCE_DIR]}" && pwd)
CTL=$BUILD/escrowctl
BENCH=$BUILD/escrow-bench
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
DB=$T/e.db

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect CODE NAME COMMAND...: runs COMMAND with its stdout in $T/NAME.out and its stderr in
# $T/NAME.err, and checks its exit code. contains NAME TEXT: TEXT is in either.
expect() {
  local code=$1 name=$2; shift 2
  local rc=0
  "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
  [[ $rc == "$code" ]] || { cat "$T/$name.out" "$T/$name.err" >&2; fail "$name: exit $rc, expected $code: $*"; }
}
contains() {
  grep -qF -- "$2" "$T/$1.out" "$T/$1.err" || { cat "$T/$1.out" "$T/$1.err" >&2; fail "$1: no '$2' in the output"; }
}
sql() { sqlite3 -batch -noheader "$@"; }
json_get() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1:]: v=v[int(k)] if isinstance(v,list) else v[k]
print(v)' "$@"; }

"$BENCH" core --db "$DB" --bookings 300 --workers 8 >/dev/null
N=$(sql "$DB" "SELECT count(*) FROM events")
(( N > 300 )) || fail "the bench wrote only $N events"

# --- help, defaults, missing database ---------------------------------------------------------
for cmd in migrate rebuild verify events replay balance stats backup; do
  expect 0 "help-$cmd" "$CTL" "$cmd" --help
  contains "help-$cmd" "--db"
done
expect 3 missing "$CTL" stats --db "$T/nope.db"
contains missing "no database at $T/nope.db"
expect 2 badopt "$CTL" events --db "$DB" --format xml

# --- verify, migrate ---------------------------------------------------------------------------
expect 0 verify "$CTL" verify --db "$DB"
contains verify "OK"
contains verify "events checked:    $N"
expect 0 migrate "$CTL" migrate --db "$DB"
contains migrate "schema version"
expect 0 migrate2 "$CTL" migrate --db "$DB" --json
[[ $(json_get applied <"$T/migrate2.out") == "[]" ]] || fail "a second migrate applied something"
[[ $(json_get projections_rebuilt <"$T/migrate2.out") == "[]" ]] || fail "a second migrate rebuilt"
ESCROW_DB=$DB expect 0 verify-env "$CTL" verify --json
[[ $(json_get ok <"$T/verify-env.out") == True ]] || fail "verify --json via ESCROW_DB not ok"

# --- events: JSONL re-verifies the chain without our code; CSV carries the same rows -----------
cat >"$T/chain.py" <<'EOF'
import csv, hashlib, json, sys
def link(prev, e):
    text = "\n".join([prev, str(e["seq"]), e["stream"], str(e["version"]), e["type"],
                      str(e["recorded_at"]), e["data"], e["meta"]])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
if sys.argv[1] == "jsonl":
    rows = (json.loads(line) for line in sys.stdin)
else:
    rows = ({**r, "seq": int(r["seq"]), "version": int(r["version"]), "recorded_at": int(r["recorded_at"])}
            for r in csv.DictReader(sys.stdin))
prev, n = "0" * 64, 0
for e in rows:
    n += 1
    assert e["seq"] == n, f"seq {e['seq']} where {n} was due"
    assert e["prev_hash"] == prev, f"seq {n}: prev_hash does not link"
    assert isinstance(json.loads(e["data"]), dict) and isinstance(json.loads(e["meta"]), dict)
    assert link(prev, e) == e["hash"], f"seq {n}: recomputed hash differs"
    prev = e["hash"]
print(n, prev)
EOF
LAST_HASH=$(sql "$DB" "SELECT hash FROM events ORDER BY seq DESC LIMIT 1")
"$CTL" events --db "$DB" --format jsonl >"$T/events.jsonl"
[[ $(python3 "$T/chain.py" jsonl <"$T/events.jsonl") == "$N $LAST_HASH" ]] || fail "the JSONL chain does not re-verify"
"$CTL" events --db "$DB" --format csv >"$T/events.csv"
[[ $(head -1 "$T/events.csv" | tr -d '\r') == "seq,stream,version,type,data,meta,recorded_at,recorded_at_iso,prev_hash,hash" ]] \
  || fail "CSV header: $(head -1 "$T/events.csv")"
[[ $(wc -l <"$T/events.csv") == $((N + 1)) ]] || fail "CSV has $(wc -l <"$T/events.csv") lines for $N events"
[[ $(python3 "$T/chain.py" csv <"$T/events.csv") == "$N $LAST_HASH" ]] || fail "the CSV chain does not re-verify"

# Filters: a seq range, one stream, a time range.
[[ $("$CTL" events --db "$DB" --from-seq 10 --to-seq 19 | wc -l) == 10 ]] || fail "--from-seq/--to-seq"
[[ $("$CTL" events --db "$DB" --from-seq 10 --to-seq 10 | json_get seq) == 10 ]] || fail "--from-seq starts there"
BOOKING=$(sql "$DB" "SELECT id FROM bookings WHERE status = 'completed' ORDER BY created_seq LIMIT 1")
STREAM_N=$(sql "$DB" "SELECT count(*) FROM events WHERE stream = 'booking-$BOOKING'")
[[ $("$CTL" events --db "$DB" --stream "booking-$BOOKING" | wc -l) == "$STREAM_N" ]] || fail "--stream"
MID_AT=$(sql "$DB" "SELECT recorded_at FROM events WHERE seq = $((N / 2))")
MID_ISO=$(python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp($MID_AT/1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]+'Z')")
TIME_N=$(sql "$DB" "SELECT count(*) FROM events WHERE recorded_at >= $MID_AT")
[[ $("$CTL" events --db "$DB" --from "$MID_ISO" | wc -l) == "$TIME_N" ]] || fail "--from TIME"
expect 2 badtime "$CTL" events --db "$DB" --from yesterday

# --- replay ------------------------------------------------------------------------------------
CREATED_SEQ=$(sql "$DB" "SELECT created_seq FROM bookings WHERE id = '$BOOKING'")
expect 0 replay-early "$CTL" replay --db "$DB" --booking "$BOOKING" --at "$CREATED_SEQ" --json
[[ $(json_get booking status <"$T/replay-early.out") == awaiting_payment ]] || fail "replay at creation"
[[ $(json_get seq <"$T/replay-early.out") == "$CREATED_SEQ" ]] || fail "replay stops at the creation seq"
expect 0 replay-end "$CTL" replay --db "$DB" --booking "$BOOKING" --at "$N"
contains replay-end '"status": "completed"'
expect 0 replay-head "$CTL" replay --db "$DB" --booking "$BOOKING" --json
[[ $(json_get booking escrow_balance <"$T/replay-head.out") == 0 ]] || fail "completed booking still holds money"
expect 1 replay-before "$CTL" replay --db "$DB" --booking "$BOOKING" --at 2000-01-01T00:00:00Z
contains replay-before "did not exist yet"
expect 1 replay-unknown "$CTL" replay --db "$DB" --booking no-such-booking --at "$N"
contains replay-unknown "no booking 'no-such-booking'"

# --- balance -----------------------------------------------------------------------------------
FEES=$(sql "$DB" "SELECT sum(json_extract(data, '\$.fee.amount')) FROM events WHERE type IN ('FundsReleased', 'DisputeResolved')")
LIVE_FEES=$(sql "$DB" "SELECT balance FROM account_balances WHERE account = 'platform:fees' AND currency = 'NGN'")
expect 0 balance "$CTL" balance --db "$DB" --account platform:fees --json
[[ $(json_get balances 0 balance <"$T/balance.out") == "$FEES" ]] || fail "platform:fees is not the sum of fees ($FEES)"
[[ $(json_get balances 0 live <"$T/balance.out") == "$LIVE_FEES" ]] || fail "platform:fees live value"
[[ $(json_get balances 0 agrees <"$T/balance.out") == True ]] || fail "platform:fees disagrees"
HALF_FEES=$(sql "$DB" "SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE credit_account = 'platform:fees' AND seq <= $((N / 2))")
expect 0 balance-at "$CTL" balance --db "$DB" --account platform:fees --at $((N / 2)) --currency NGN --json
[[ $(json_get balances 0 balance <"$T/balance-at.out") == "$HALF_FEES" ]] || fail "platform:fees at seq $((N / 2))"
expect 1 balance-typo "$CTL" balance --db "$DB" --account platform:fee
contains balance-typo "no postings touch account 'platform:fee'"

# --- stats -------------------------------------------------------------------------------------
"$CTL" stats --db "$DB" --json >"$T/stats.json"
python3 -c 'import json,sys; json.load(sys.stdin)' <"$T/stats.json"
[[ $(json_get last_seq <"$T/stats.json") == "$N" ]] || fail "stats last_seq"
[[ $(json_get last_hash <"$T/stats.json") == "$LAST_HASH" ]] || fail "stats last_hash"
[[ $(python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["events_by_type"].values()))' <"$T/stats.json") == "$N" ]] \
  || fail "stats events_by_type does not add up"
expect 0 stats-text "$CTL" stats --db "$DB"
contains stats-text "bookings_by_status:"

# --- rebuild: no drift on a healthy database; drift planted in a projection is found ----------
expect 0 rebuild "$CTL" rebuild --db "$DB"
contains rebuild "drift:             none"
expect 2 rebuild-bad "$CTL" rebuild --db "$DB" --projection nonesuch
contains rebuild-bad "bookings"
sql "$DB" "UPDATE bookings SET escrow_balance = escrow_balance + 1 WHERE id = '$BOOKING'"
expect 1 verify-drift "$CTL" verify --db "$DB"
contains verify-drift "bookings differs from a fresh rebuild"
expect 0 rebuild-drift "$CTL" rebuild --db "$DB" --json
[[ $(json_get drift 0 <"$T/rebuild-drift.out") == bookings ]] || fail "rebuild did not report the planted drift"
expect 0 verify-after "$CTL" verify --db "$DB"

# --- backup ------------------------------------------------------------------------------------
expect 0 backup "$CTL" backup --db "$DB" "$T/backup.db"
contains backup "$LAST_HASH"
expect 0 verify-backup "$CTL" verify --db "$T/backup.db"
expect 1 backup-exists "$CTL" backup --db "$DB" "$T/backup.db"
contains backup-exists "refusing to overwrite"
expect 0 backup-force "$CTL" backup --db "$DB" "$T/backup.db" --force
[[ -z $(find "$T" -name '*.tmp-*') ]] || fail "backup left a temporary file"

# --- tampering ---------------------------------------------------------------------------------
cp "$T/backup.db" "$T/t.db"
BAD=$((N / 2))
! sql "$T/t.db" "UPDATE events SET data = data || ' ' WHERE seq = $BAD" 2>"$T/upd.err" || fail "UPDATE passed the trigger"
grep -q "append-only" "$T/upd.err" || fail "UPDATE refused without the trigger's message"
! sql "$T/t.db" "DELETE FROM events WHERE seq = $N" 2>/dev/null || fail "DELETE passed the trigger"
[[ $(sql "$T/t.db" "SELECT count(*) FROM events") == "$N" ]] || fail "events changed with the triggers intact"
# Behind the triggers' back: one space inside one event's data, still valid JSON meaning the same.
sql "$T/t.db" "DROP TRIGGER events_no_update;
  UPDATE events SET data = '{ ' || substr(data, 2) WHERE seq = $BAD"
expect 1 verify-tampered "$CTL" verify --db "$T/t.db"
contains verify-tampered "first bad seq:     $BAD"
contains verify-tampered "FAILED"
expect 1 verify-tampered-json "$CTL" verify --db "$T/t.db" --json
[[ $(json_get first_bad_seq <"$T/verify-tampered-json.out") == "$BAD" ]] || fail "verify --json first_bad_seq"
! python3 "$T/chain.py" jsonl < <("$CTL" events --db "$T/t.db") 2>/dev/null || fail "the export of a tampered log re-verified"

echo "escrowctl_test: all checks passed ($N events)"
