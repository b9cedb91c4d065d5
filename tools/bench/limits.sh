#!/usr/bin/env bash
# Measures escrowd against two references in one run and prints every figure with its ratio to
# its reference and its target:
#
#   tools/bench/limits.sh BUILD_DIR [--quick] [--no-build] [--json FILE] [--keep]
#
# In order, all in one temporary directory (under $TMPDIR, so on one disk):
#   1. builds the binaries it runs in BUILD_DIR (configures it first when it is not yet);
#   2. bench-raw-append: one ~300-byte event per SQLite transaction, synchronous=FULL, one thread;
#   3. bench-min-server under wrk -t1 -c32: the minimal Beast server answering a small JSON body;
#   4. paystack-sim and escrowd on a fresh database with new secrets and
#      ESCROW_RATE_LIMIT_PER_MIN=10000000 (as tools/bench/http_world.sh starts them), and with the
#      same wrk settings: durable POST /bookings (a new booking each), GET /bookings/:id of one
#      booking, and signed webhooks (distinct deliveries from `escrow-bench webhook-file`);
#   5. `escrow-bench http`: POST /bookings open loop at half the wrk POST rate (the latency row),
#      whole lifecycles, and a burst of webhooks timed until processed;
#   6. a second fresh escrowd under a mixed load for 60 s (wrk/mixed.lua: reads, new bookings,
#      webhooks; and rounds of 20 lifecycles from escrow-bench), then its resident memory (VmRSS);
#   7. `escrow-bench core` writes a log of 400,000+ events; `escrowctl rebuild` and
#      `escrowctl verify` are timed on it;
#   8. `escrowctl verify` on every escrow database the run wrote (the raw append's is not one).
# Any failed request (a non-2xx answer, a socket error, a webhook not accepted as new) or failed
# verify is an error: printed when it happens, listed at the end, exit status 1. Targets not met
# are reported in the table, not errors.
#
# --quick shortens every phase (under a minute; the rebuild, verify and memory rows are then not
# judged). --no-build skips step 1. --json FILE also writes the figures as JSON. --keep keeps the
# temporary directory (databases, logs, each phase's figures). Environment: ESCROW_THREADS
# (default: escrowd's) passes to escrowd and, as --threads, to bench-min-server; TMPDIR chooses
# the disk. Needs wrk, curl, openssl, python3 and sqlite3.
set -euo pipefail

usage() {
  echo "usage: limits.sh BUILD_DIR [--quick] [--no-build] [--json FILE] [--keep]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd)
mkdir -p "$1"
BUILD=$(cd "$1" && pwd)
shift
quick=0 build=1 json_out="" keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --json) json_out=$(realpath -m "${2:?--json needs a file}"); shift ;;
    --keep) keep=1 ;;
    *) usage ;;
  esac
  shift
done

if [ $quick = 1 ]; then
  wrk_s=3 raw_s=3 open_s=3 lifecycles=100 burst=2000 mixed_s=10 core_bookings=2000
else
  wrk_s=10 raw_s=10 open_s=10 lifecycles=1000 burst=20000 mixed_s=60 core_bookings=50000
fi
wrk_threads=1 wrk_connections=32
wrk_settings="wrk -t$wrk_threads -c$wrk_connections -d${wrk_s}s"
webhook_lines=$((20000 * wrk_s))  # more than escrowd accepts in the wrk run, so none repeats
io_threads=${ESCROW_THREADS:-4}   # escrowd's default (api/config.h)

for tool in wrk curl openssl python3 sqlite3; do
  command -v $tool >/dev/null || { echo "limits.sh: $tool is not installed (tools/deps)" >&2; exit 2; }
done

T=$(mktemp -d)
R=$T/results
mkdir -p "$R"
pids=()
errors=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ $keep = 1 ] || [ ${#errors[@]} -gt 0 ]; then
    echo "limits.sh: databases, logs and figures kept in $T"
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT

phase() { printf '\n== %s\n' "$*"; }
error() {
  echo "ERROR: $*" >&2
  errors+=("$*")
}
forget_pid() {
  local kept=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]+"${kept[@]}"}")
}
now() { date +%s.%N; }
# Runs a JSON-printing command; saves its last line starting with `{"` as results/NAME.json.
save_json() {
  local name=$1 file=$2
  grep '^{"' "$file" | tail -n 1 >"$R/$name.json" || true
  [ -s "$R/$name.json" ] || { rm -f "$R/$name.json"; error "$name printed no figures ($file)"; }
}
json_get() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v=v[k]
print(v)' "$@"; }

# Prints the URL from the first `NAME listening on URL` line of FILE, waiting up to 30 s.
url_from() {
  local file=$1 pid=$2 line
  for _ in $(seq 1 300); do
    line=$(grep -m1 " listening on http://" "$file" 2>/dev/null || true)
    if [ -n "$line" ]; then
      line=${line#* listening on }
      echo "${line%% *}"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "limits.sh: $(basename "$file" .out) did not start:" >&2
  cat "${file%.out}.err" >&2 || true
  return 1
}

# wrk NAME URL SCRIPT [VAR=VALUE...]: the common wrk settings; figures to results/NAME.json.
run_wrk() {
  local name=$1 url=$2 script=$3
  shift 3
  env "$@" BENCH_WRK_THREADS=$wrk_threads $wrk_settings --timeout 5s -s "$HERE/wrk/$script" \
    "$url" >"$T/$name.wrk" 2>&1 || error "$name: wrk exited $?"
  python3 "$HERE/limits_report.py" wrk "$name" "$T/$name.wrk" "$R" || error "$name: failed requests"
}

# start_world DIR: paystack-sim and escrowd on DIR/escrow.db; sets sim_pid, escrowd_pid, sim_url,
# escrowd_url.
start_world() {
  local dir=$1
  mkdir -p "$dir"
  "$BUILD/paystack-sim" --listen 127.0.0.1:0 --secret-key "$PAYSTACK_SECRET_KEY" \
    --webhook-url http://127.0.0.1:9/webhooks/paystack >"$dir/sim.out" 2>"$dir/sim.err" &
  sim_pid=$!
  pids+=("$sim_pid")
  sim_url=$(url_from "$dir/sim.out" "$sim_pid")
  env PAYSTACK_BASE_URL="$sim_url" ESCROW_DB="$dir/escrow.db" ESCROW_BLOB_DIR="$dir/blobs" \
    ESCROW_LISTEN=127.0.0.1:0 ESCROW_SYNCHRONOUS=full ESCROW_RATE_LIMIT_PER_MIN=10000000 \
    ${ESCROW_THREADS:+ESCROW_THREADS=$ESCROW_THREADS} \
    "$BUILD/escrowd" >"$dir/escrowd.out" 2>"$dir/escrowd.err" &
  escrowd_pid=$!
  pids+=("$escrowd_pid")
  escrowd_url=$(url_from "$dir/escrowd.out" "$escrowd_pid")
  curl -sf -X POST "$sim_url/_sim/config" -H 'Content-Type: application/json' \
    -d "{\"webhook_url\":\"$escrowd_url/webhooks/paystack\"}" >/dev/null
  echo "  escrowd $escrowd_url on $dir/escrow.db, paystack-sim $sim_url"
}

# stop_world: escrowd gracefully (its exit status checked), then the simulator.
stop_world() {
  local rc=0
  kill -TERM "$escrowd_pid"
  wait "$escrowd_pid" || rc=$?
  forget_pid "$escrowd_pid"
  [ $rc = 0 ] || error "escrowd exited $rc on SIGTERM (see its log)"
  kill -TERM "$sim_pid"
  wait "$sim_pid" || true
  forget_pid "$sim_pid"
}

verify_db() {
  local db=$1 out=$T/verify-$(basename "$(dirname "$1")")-$(basename "$1").out
  if "$BUILD/escrowctl" verify --db "$db" >"$out" 2>&1; then
    echo "  escrowctl verify $db: ok ($(grep -m1 'events checked' "$out" | tr -s ' '))"
  else
    cat "$out" >&2
    error "escrowctl verify FAILED on $db"
  fi
}

# create_booking ID: one booking through escrowd, as the service.
create_booking() {
  curl -sf -o /dev/null -X POST "$escrowd_url/bookings" -H "Authorization: Bearer $service_token" \
    -H 'Content-Type: application/json' -d "{\"id\":\"$1\",\"client_id\":\"wc-read\",\
\"provider_id\":\"wp-read\",\"client_email\":\"wc-read@example.com\",\"description\":\"Deep clean, \
3-bedroom flat\",\"amount\":5000000,\"currency\":\"NGN\"}" || error "creating booking $1"
}

load_average() { cut -d' ' -f1-3 /proc/loadavg; }
# escrow-bench http against the world started last.
bench() { "$BUILD/escrow-bench" http --url "$escrowd_url" --sim-url "$sim_url" --json "$@"; }

# ---- 1. build ----------------------------------------------------------------------------------
targets=(escrowd paystack-sim escrowctl escrow-bench bench-raw-append bench-min-server)
if [ $build = 1 ]; then
  phase "building ${targets[*]} in $BUILD"
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$SOURCE" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  nice cmake --build "$BUILD" --target "${targets[@]}" | tail -n 1
fi
for binary in "${targets[@]}"; do
  [ -x "$BUILD/$binary" ] || { echo "limits.sh: $BUILD/$binary is missing" >&2; exit 2; }
done

export ESCROW_JWT_SECRET PAYSTACK_SECRET_KEY
ESCROW_JWT_SECRET=$(openssl rand -hex 32)
PAYSTACK_SECRET_KEY="sk_test_$(openssl rand -hex 20)"
service_token=$("$BUILD/escrowctl" token --role service --sub bench-market)
admin_token=$("$BUILD/escrowctl" token --role admin --sub bench-admin)
started=$(now)
load_start=$(load_average)
echo "limits.sh: $(git -C "$SOURCE" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores," \
  "load average $load_start, $T ($(df -P "$T" | awk 'NR==2 {print $1}'))$([ $quick = 1 ] && echo ', --quick')"

# ---- 2, 3. the references ----------------------------------------------------------------------
phase "reference: bench-raw-append, ${raw_s} s"
"$BUILD/bench-raw-append" --db "$T/raw.db" --seconds "$raw_s" --json >"$T/raw.out" 2>&1 ||
  error "bench-raw-append exited $?"
grep -v '^{' "$T/raw.out" || true
save_json raw_append "$T/raw.out"

phase "reference: bench-min-server ($io_threads threads), $wrk_settings"
"$BUILD/bench-min-server" --threads "$io_threads" >"$T/min.out" 2>"$T/min.err" &
min_pid=$!
pids+=("$min_pid")
min_url=$(url_from "$T/min.out" "$min_pid")
run_wrk min_server "$min_url" get.lua BENCH_PATH=/bookings/b-1
kill -TERM "$min_pid"
wait "$min_pid" || true
forget_pid "$min_pid"

# ---- 4. escrowd under wrk ----------------------------------------------------------------------
phase "escrow-bench webhook-file: $webhook_lines signed deliveries"
"$BUILD/escrow-bench" webhook-file --out "$T/webhooks.txt" --count "$webhook_lines" \
  --reference-prefix "wrk$(openssl rand -hex 3)" || error "escrow-bench webhook-file exited $?"

phase "escrowd (ESCROW_SYNCHRONOUS=full), $wrk_settings"
start_world "$T/a"
run_wrk post_bookings "$escrowd_url" post_bookings.lua BENCH_TOKEN="$service_token" \
  BENCH_ID_PREFIX=wrk
create_booking read-1
run_wrk get_booking "$escrowd_url" get.lua BENCH_PATH=/bookings/read-1 BENCH_TOKEN="$admin_token"

# ---- 5. escrow-bench: open loop, lifecycles, webhook processing ---------------------------------
post_rate=$(json_get "$R/post_bookings.json" ok_per_s 2>/dev/null || echo 0)
open_rate=$(python3 -c "print(max(1, round(float('$post_rate') / 2)))")
phase "escrow-bench: POST /bookings open loop at $open_rate/s (half of $post_rate/s) for ${open_s} s"
bench --scenario commands --rate "$open_rate" --seconds "$open_s" --connections 64 \
  >"$T/open_loop.out" 2>&1 || error "open loop: escrow-bench exited $?"
grep -v '^{' "$T/open_loop.out" || true
save_json open_loop "$T/open_loop.out"

phase "escrow-bench: $lifecycles lifecycles, 32 connections"
bench --scenario lifecycles --lifecycles "$lifecycles" --connections 32 \
  >"$T/lifecycles.out" 2>&1 || error "lifecycles: escrow-bench exited $?"
grep -v '^{' "$T/lifecycles.out" || true
save_json lifecycles "$T/lifecycles.out"

phase "escrow-bench: a burst of $burst webhooks, accepted and then processed, 32 connections"
bench --scenario webhooks --count "$burst" --connections 32 \
  >"$T/webhook_burst.out" 2>&1 || error "webhook burst: escrow-bench exited $?"
grep -v '^{' "$T/webhook_burst.out" || true
save_json webhook_burst "$T/webhook_burst.out"

# Last on this escrowd: what it accepts here is processed long after wrk ends.
phase "escrowd: signed webhooks, $wrk_settings"
run_wrk webhooks "$escrowd_url" webhooks.lua BENCH_WEBHOOK_FILE="$T/webhooks.txt"
phase "stopping escrowd"
stop_world
verify_db "$T/a/escrow.db"

# ---- 6. memory after the mixed load ------------------------------------------------------------
phase "escrowd resident memory: a fresh escrowd, ${mixed_s} s of mixed load" \
  "(wrk/mixed.lua, wrk -t$wrk_threads -c$wrk_connections; lifecycles from 4 more connections)"
start_world "$T/b"
create_booking read-1
env BENCH_PATH=/bookings/read-1 BENCH_READ_TOKEN="$admin_token" BENCH_TOKEN="$service_token" \
  BENCH_ID_PREFIX=mix BENCH_WEBHOOK_FILE="$T/webhooks.txt" BENCH_WRK_THREADS=$wrk_threads \
  wrk -t$wrk_threads -c$wrk_connections -d${mixed_s}s --timeout 5s -s "$HERE/wrk/mixed.lua" \
  "$escrowd_url" >"$T/mixed.wrk" 2>&1 &
mixed_pid=$!
pids+=("$mixed_pid")
# Rounds of lifecycles while wrk runs; a round that fails stops them (its output is kept).
(
  rounds=0
  while kill -0 "$mixed_pid" 2>/dev/null; do
    bench --scenario lifecycles --lifecycles 20 --connections 4 >"$T/mixed-lifecycles.out" 2>&1 ||
      { echo "failed" >"$T/mixed-lifecycles.failed"; break; }
    rounds=$((rounds + 1))
    echo $rounds >"$T/mixed-lifecycles.rounds"
  done
) &
lifecycles_pid=$!
pids+=("$lifecycles_pid")
wait "$mixed_pid" || error "mixed load: wrk exited $?"
forget_pid "$mixed_pid"
rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$escrowd_pid/status")
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$escrowd_pid/status")
wait "$lifecycles_pid" || true
forget_pid "$lifecycles_pid"
[ ! -f "$T/mixed-lifecycles.failed" ] ||
  error "mixed load: escrow-bench lifecycles failed (see $T/mixed-lifecycles.out)"
rounds=$(cat "$T/mixed-lifecycles.rounds" 2>/dev/null || echo 0)
python3 "$HERE/limits_report.py" wrk mixed "$T/mixed.wrk" "$R" || error "mixed load: failed requests"
waiting=$(curl -sf "$escrowd_url/admin/webhook-events?limit=1" -H "Authorization: Bearer $admin_token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"].get("received", 0))' || echo '?')
echo "  lifecycles alongside: $((rounds * 20)) in $rounds rounds of 20;" \
  "webhook deliveries still waiting to be processed: $waiting"
echo "  escrowd VmRSS $((rss_kib / 1024)) MiB, VmHWM (peak) $((hwm_kib / 1024)) MiB," \
  "read when wrk ended"
echo "{\"vm_rss_mib\":$(python3 -c "print($rss_kib/1024)"),\"vm_hwm_mib\":$(python3 -c "print($hwm_kib/1024)")}" \
  >"$R/memory.json"
stop_world
verify_db "$T/b/escrow.db"

# ---- 7. rebuild and verify on a big log --------------------------------------------------------
phase "escrow-bench core: $core_bookings bookings into $T/core.db"
"$BUILD/escrow-bench" core --db "$T/core.db" --bookings "$core_bookings" --json >"$T/core.out" \
  2>&1 || error "escrow-bench core exited $?"
grep -v '^{' "$T/core.out" | tail -n 3 || true
events=$(sqlite3 "$T/core.db" 'SELECT coalesce(max(seq), 0) FROM events')
echo "{\"events\":$events}" >"$R/core.json"
for command in rebuild verify; do
  phase "escrowctl $command on $events events"
  began=$(now)
  if "$BUILD/escrowctl" $command --db "$T/core.db" --json >"$T/$command.out" 2>"$T/$command.err"
  then
    ended=$(now)
    python3 - "$T/$command.out" "$R/$command.json" "$began" "$ended" "$events" <<'PY'
import json, sys
out, saved, began, ended, events = sys.argv[1:]
figures = json.loads([line for line in open(out) if line.startswith("{")][-1])
figures["seconds_wall"] = float(ended) - float(began)
figures["events_per_s_wall"] = int(events) / figures["seconds_wall"]
json.dump(figures, open(saved, "w"))
print(f"  {events} events in {figures['seconds_wall']:.2f} s wall: "
      f"{figures['events_per_s_wall']:,.0f} events/s (the tool's own: "
      f"{figures['events_per_s']:,.0f}/s in {figures['seconds']:.2f} s)")
PY
  else
    cat "$T/$command.out" "$T/$command.err" >&2
    error "escrowctl $command FAILED on $T/core.db"
  fi
done

# ---- the table ---------------------------------------------------------------------------------
load_end=$(load_average)
elapsed=$(python3 -c "print(round($(now) - $started))")
cat >"$R/run.json" <<EOF
{"quick":$quick,"wrk":"$wrk_settings","burst":$burst,"lifecycles":$lifecycles,
 "mixed_seconds":$mixed_s,"core_bookings":$core_bookings,"load_average_start":"$load_start",
 "load_average_end":"$load_end","seconds":$elapsed,"errors":${#errors[@]}}
EOF
phase "limits ($elapsed s; load average $load_start at the start, $load_end at the end)"
python3 "$HERE/limits_report.py" table "$R" ${json_out:+--json "$json_out"}
echo "  escrowctl verify: every escrow database of the run (a/, b/, core.db) checked above;" \
  "raw.db is plain SQLite, not an escrow log"
if [ ${#errors[@]} -gt 0 ]; then
  printf '\nERRORS (%d):\n' ${#errors[@]} >&2
  printf '  %s\n' "${errors[@]}" >&2
  exit 1
fi
echo "limits.sh: every request answered as expected, every database verified"
