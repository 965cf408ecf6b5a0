#!/usr/bin/env bash
# Where a durable personalization call's CPU goes: Tailor (Release, --demo data with 1,000,000 imported
# profiles on a temporary directory) under the harness's load (wrk, 256 connections, personalize.lua),
# sampled with `perf record -g`, each sample put in one part (HTTP, Orleans, grains, engine, the event
# log's writer, activation reads, checkpoint, GC...) by profile-split.py. Prints the shares and the
# throughput during the sampling (perf's own cost lowers it). Loopback only; every process it starts is
# stopped by PID. Needs wrk, perf (Debian: linux-perf) allowed to sample the process, and python3.
# About 1 minute.
#
#   benchmark/load/profile.sh [seconds sampled, default 12]
#   PROFILES=1000000 (imported demo profiles), KEEP=FILE (keep perf's samples there, and the runtime's /tmp/perf-PID.map),
#   WARMUP=20s (closed-loop load before sampling; 150s puts the sample past the write-behind of the demo's import),
#   RATE=N (sample at a fixed N calls/s instead of closed loop: where the CPU of a call goes below the maximum)
set -euo pipefail
seconds=${1:-12}
source "$(dirname "$0")/common.sh" profile

require_wrk
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)"; exit 1; }
echo "building Release..."
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null

url=http://127.0.0.1:18085
# The runtime writes its JIT-compiled methods' names to /tmp/perf-PID.map for perf; with W^X on, perf
# sees their code through an anonymous double mapping it cannot name.
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 start_tailor_demo "$url" "$work/data"
ready_for_load "$url" "$work/data"

warmup=${WARMUP:-20s}
echo "warming up ($warmup)..."
personalize_load "$url" "$write" "$token" "$warmup" 0 >/dev/null
samples=${KEEP:-$work/perf.data}
rate=${RATE:-0}
personalize_load "$url" "$write" "$token" "$((seconds + 4))s" "$rate" >"$work/wrk.txt" &
wrk_pid=$!
pids+=($wrk_pid)
sleep 2
cpu_before=$(cpu_ticks "$tailor_pid")
perf record -F 499 -g -p "$tailor_pid" -o "$samples" -- sleep "$seconds" >/dev/null 2>&1
cpu_after=$(cpu_ticks "$tailor_pid")
wait "$wrk_pid"

calls_per_second=$(grep '^RESULT' "$work/wrk.txt" | sed 's/.* rps=\([0-9]*\).*/\1/')
echo
echo "Tailor at 256 connections while sampled ($([ "$rate" = 0 ] && echo "closed loop" || echo "$rate calls/s asked")): $calls_per_second calls/s (perf's sampling costs some)"
echo "server CPU per call while sampled: $(( (cpu_after - cpu_before) * 10000 / (calls_per_second * seconds) )) µs"
perf script -i "$samples" -F comm,ip,sym,dso 2>/dev/null | python3 "$root/benchmark/load/profile-split.py"
stop_all
# The runtime's perf maps, left in /tmp by the process (kept with KEEP: perf report needs them to name JIT frames).
[ -n "${KEEP:-}" ] || rm -f "/tmp/perf-$tailor_pid.map" "/tmp/perfinfo-$tailor_pid.map"
