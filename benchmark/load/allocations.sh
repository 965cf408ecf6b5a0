#!/usr/bin/env bash
# Bytes Tailor allocates per personalization call: Tailor (Release, --demo with 1,000,000 imported
# profiles on a temporary directory) warmed up closed-loop at 256 connections for 20 s, then driven
# with the harness's calls (personalize.lua) at a fixed rate, with the runtime's allocated-bytes
# counter (GET /v1/runtime) read before and after each measured run. The server runs with DATAS off
# (DOTNET_GCDynamicAdaptationMode=0): with a fixed heap count the counter counts every heap, while
# with DATAS it misses what heaps added during the run allocate (docs/performance.md); what a call
# allocates does not depend on the GC's mode. Then the bare-Kestrel baseline (benchmark/Baseline, the same
# route and body, a small JSON answer) driven the same way: what ASP.NET Core allocates for the request and
# its answer alone, the floor under Tailor's figure. Loopback only; the servers are stopped by PID. Needs
# wrk and python3. About 3 minutes after the import.
#
#   benchmark/load/allocations.sh [rate, default 3000] [duration per run, default 20s] [runs, default 2]
#   PROFILES=1000000 (imported demo profiles; 20000 measures returning customers, without the growth of
#   the identity index and the resident profiles that first visits cause), SERVER_DLL=PATH (another build)
set -euo pipefail
rate=${1:-3000}
duration=${2:-20s}
runs=${3:-2}
source "$(dirname "$0")/common.sh" allocations

require_wrk
echo "building Release..."
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null
dotnet build -c Release "$root/benchmark/Baseline" -v q -nologo >/dev/null

tailor=http://127.0.0.1:18088
DOTNET_GCDynamicAdaptationMode=0 start_tailor_demo "$tailor" "$work/data"
ready_for_load "$tailor" "$work/data"
admin=$(cat "$work/data/admin.key")
allocated() { curl -sf "$tailor/v1/runtime" -H "Authorization: Bearer $admin" | python3 -c "import json,sys;print(json.load(sys.stdin)['allocated_bytes'])"; }

echo "warming up (20 s closed loop, 5 s at $rate/s)..."
personalize_load "$tailor" "$write" "$token" 20s 0 >/dev/null
personalize_load "$tailor" "$write" "$token" 5s "$rate" >/dev/null
for run in $(seq 1 "$runs"); do
  before=$(allocated)
  line=$(personalize_load "$tailor" "$write" "$token" "$duration" "$rate")
  after=$(allocated)
  calls=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
  echo "run $run at $rate/s: $(( (after - before) / calls )) bytes per call (${line#RESULT })"
done
stop_all

baseline=http://127.0.0.1:18089
DOTNET_GCDynamicAdaptationMode=0 start_baseline "$baseline"
wait_for "$baseline"
echo "the baseline, warming up (20 s closed loop, 5 s at $rate/s)..."
personalize_load "$baseline" "$write" "$token" 20s 0 >/dev/null
personalize_load "$baseline" "$write" "$token" 5s "$rate" >/dev/null
for run in $(seq 1 "$runs"); do
  before=$(curl -sf "$baseline/allocated")
  line=$(personalize_load "$baseline" "$write" "$token" "$duration" "$rate")
  after=$(curl -sf "$baseline/allocated")
  calls=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
  echo "baseline run $run at $rate/s: $(( (after - before) / calls )) bytes per request (${line#RESULT })"
done
