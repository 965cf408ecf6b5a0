# Sourced by the load scripts: `source "$(dirname "$0")/common.sh" NAME`. Sets root (the repository)
# and work (a temporary directory, removed at exit), and kills every PID a script adds to pids at exit.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "/tmp/tailor-${1:-load}.XXXXXX")
pids=()
# (Waited for inside the redirection, so that bash does not print "Killed" for each.)
stop_all() { for pid in "${pids[@]}"; do { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true; done; }
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT

require_wrk() { command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }; }

# Waits (up to 3 minutes, polling every 50 ms) until URL/health answers.
wait_for() { for _ in $(seq 1 3600); do curl -sf "$1/health" >/dev/null && return 0; sleep 0.05; done; echo "$1 did not start"; exit 1; }

# The demo's keys: prints "master_key write_key token" from DATA/demo.json.
demo_keys() { python3 -c "import json;d=json.load(open('$1/demo.json'));print(d['master_key'],d['write_key'],d['token'])"; }

# Sets the demo account's ingest limit (calls/s) and lifts its per-service concurrency limit, so that a
# load run measures the server rather than its 429s: set_ingest_limit URL MASTER_KEY PER_SECOND
set_ingest_limit() {
  sed "s/ingest_per_second: 20000/ingest_per_second: $3/; s/concurrent: 256/concurrent: 100000/" "$root/samples/demo.yaml" >"$work/load.yaml"
  curl -sf -X PUT "$1/v1/config?file=load.yaml" -H "Authorization: TD1 $2" -H 'Content-Type: application/yaml' --data-binary @"$work/load.yaml" >/dev/null
}

# Runs a command while the process PID is stopped (SIGSTOP), then lets it go on (SIGCONT). The baseline
# is measured with Tailor paused: Tailor's own background work (its write-behind and its log's
# checkpoint go on for tens of seconds after a load ends, and right after the demo's import) would
# otherwise take cores from the baseline's runs, lowering the floor the ratio is taken against.
# paused PID COMMAND [ARGS...]
paused() {
  local pid=$1 rc=0
  shift
  kill -STOP "$pid"
  "$@" || rc=$?
  kill -CONT "$pid"
  return "$rc"
}

# The server process's CPU time so far, in clock ticks (user + system): cpu_ticks PID
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Bytes the process has caused to be written to storage so far (its WAL and database file, its log):
# written_bytes PID
written_bytes() { awk '/^write_bytes:/ {print $2}' "/proc/$1/io"; }

# Starts the bare-Kestrel baseline (built Release) on URL; sets baseline_pid: start_baseline URL
start_baseline() {
  dotnet "$root/benchmark/Baseline/bin/Release/net10.0/Baseline.dll" --urls "$1" >"$work/baseline.log" 2>&1 &
  baseline_pid=$!
  pids+=($baseline_pid)
}

# Starts Tailor (built Release, or SERVER_DLL: another build's Tailor.Server.dll, for a comparison) with
# the demo and PROFILES (default 1,000,000) imported profiles on DATA; sets tailor_pid. Environment
# variables put before the call reach the server: start_tailor_demo URL DATA
start_tailor_demo() {
  dotnet "${SERVER_DLL:-$root/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll}" --demo --data "$2" --urls "$1" \
    --Tailor:DemoProfiles="${PROFILES:-1000000}" --Logging:LogLevel:Default=Warning >"$work/tailor.log" 2>&1 &
  tailor_pid=$!
  pids+=($tailor_pid)
}

# Waits for the demo server at URL, reads its keys from DATA into master, write and token, and lifts
# its ingest limit (the demo's 20,000/s would turn the excess into 429s): ready_for_load URL DATA
ready_for_load() {
  wait_for "$1"
  read -r master write token < <(demo_keys "$2")
  set_ingest_limit "$1" "$master" 10000000
}

# The baseline and the demo server side by side, both answering, Tailor ready for load (see
# start_baseline, start_tailor_demo, ready_for_load): start_side_by_side BASELINE_URL TAILOR_URL DATA
start_side_by_side() {
  start_baseline "$1"
  start_tailor_demo "$2" "$3"
  wait_for "$1"
  ready_for_load "$2" "$3"
}

# The harness's calls (personalize.lua) from two wrk threads at CONNECTIONS (default 256), closed loop
# (RATE 0) or paced at RATE calls/s; prints wrk's RESULT line:
# personalize_load URL WRITE_KEY TOKEN DURATION RATE [CONNECTIONS]
personalize_load() {
  TAILOR_VISITORS=${PROFILES:-1000000} TAILOR_WRITE_KEY=$2 TAILOR_TOKEN=$3 TAILOR_THREADS=2 TAILOR_RATE=$5 \
    wrk -t2 -c"${6:-256}" -d"$4" --timeout 10s -s "$root/benchmark/load/personalize.lua" "$1" | grep '^RESULT'
}
