#!/usr/bin/env bash
# Side-by-side load run on this machine: the bare-Kestrel baseline and Tailor (Release, --demo data
# on a temporary directory), driven by the same wrk script, closed loop. Prints one table with
# Tailor's ratio to the baseline measured in the same run. Loopback only; every process it starts
# is stopped by PID. Needs: wrk (apt-get install wrk), python3.
#
#   benchmark/load/run.sh [duration, default 20s] [connections, default 64]
set -euo pipefail
duration=${1:-20s}
connections=${2:-64}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/tailor-load.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
echo "building Release..."
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null
dotnet build -c Release "$root/benchmark/Baseline" -v q -nologo >/dev/null

wait_for() { for _ in $(seq 1 120); do curl -sf "$1/health" >/dev/null && return 0; sleep 0.5; done; echo "$1 did not start"; exit 1; }

baseline=http://127.0.0.1:18081
tailor=http://127.0.0.1:18080
dotnet "$root/benchmark/Baseline/bin/Release/net10.0/Baseline.dll" --urls "$baseline" >"$work/baseline.log" 2>&1 &
pids+=($!)
dotnet "$root/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll" --demo --data "$work/data" --urls "$tailor" \
  --Tailor:DemoProfiles=100000 --Logging:LogLevel:Default=Warning >"$work/tailor.log" 2>&1 &
tailor_pid=$!
pids+=($tailor_pid)
wait_for "$baseline"
wait_for "$tailor"

read -r account master write token < <(python3 -c "import json;d=json.load(open('$work/data/demo.json'));print(d['account_id'],d['master_key'],d['write_key'],d['token'])")
# The demo's ingest limit (20,000/s) would turn the excess into 429s: raise it for the measurement.
sed 's/ingest_per_second: 20000/ingest_per_second: 10000000/; s/concurrent: 256/concurrent: 100000/' "$root/samples/demo.yaml" >"$work/load.yaml"
curl -sf -X PUT "$tailor/v1/config?file=load.yaml" -H "Authorization: TD1 $master" -H 'Content-Type: application/yaml' --data-binary @"$work/load.yaml" >/dev/null

run() { # name url key token
  TAILOR_WRITE_KEY=$3 TAILOR_TOKEN=$4 wrk -t2 -c"$connections" -d"${WARMUP:-20s}" -s "$root/benchmark/load/personalize.lua" "$2" >/dev/null 2>&1 # warm-up
  TAILOR_WRITE_KEY=$3 TAILOR_TOKEN=$4 wrk -t2 -c"$connections" -d"$duration" --timeout 10s -s "$root/benchmark/load/personalize.lua" "$2" | grep '^RESULT' | sed "s/^RESULT/$1/"
}
base=$(run baseline "$baseline" "" "")
tail=$(run tailor "$tailor" "$write" "$token")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$tailor_pid/status")
events=$(curl -sf "$tailor/v1/databases/demo_db/tables/pageviews/events?after=0&limit=1" -H "Authorization: TD1 $master" >/dev/null && echo ok)

python3 - "$base" "$tail" "$connections" "$duration" "$rss" <<'PY'
import sys
def parse(line):
    name, *kv = line.split()
    return name, dict(x.split("=") for x in kv)
rows = [parse(sys.argv[1]), parse(sys.argv[2])]
base = float(rows[0][1]["rps"])
print(f"\nclosed loop, {sys.argv[3]} connections, {sys.argv[4]}, wrk -t2 on the same 2-core machine")
print(f"{'server':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'errors':>7} {'ratio':>6}")
for name, r in rows:
    print(f"{name:10} {float(r['rps']):9.0f} {float(r['p50']):8.2f} {float(r['p99']):8.2f} {float(r['p999']):9.2f} {int(r['errors']):7d} {float(r['rps'])/base:6.2f}")
print(f"tailor RSS after the run: {int(sys.argv[5])/1024:.0f} MiB")
PY
