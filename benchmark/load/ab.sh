#!/usr/bin/env bash
# One side of an A/B comparison of two builds on the same host: runs a built Tailor.Server.dll with the
# demo's 1,000,000 imported profiles (temporary directory) and measures it at 256 connections, closed
# loop (RATE 0) or at a fixed RATE calls/s: 20 s closed-loop warm-up (and 10 s at RATE when paced),
# then 30 s measured. Prints wrk's RESULT line with the server's CPU µs and KB written per call.
# Alternate the two builds, several pairs: the host's speed drifts. Loopback only; about 2 minutes.
#
#   benchmark/load/ab.sh PATH/TO/Tailor.Server.dll [RATE, default 0]
#   e.g. git worktree add /tmp/old COMMIT && (cd /tmp/old && dotnet build -c Release src/Tailor.Server)
#        benchmark/load/ab.sh /tmp/old/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll 4600
set -euo pipefail
dll=$1; rate=${2:-0}
source "$(dirname "$0")/common.sh" ab
require_wrk
url=http://127.0.0.1:18092
dotnet "$dll" --demo --data "$work/data" --urls "$url" --Tailor:DemoProfiles="${PROFILES:-1000000}" --Logging:LogLevel:Default=Warning >"$work/tailor.log" 2>&1 &
tailor_pid=$!
pids+=($tailor_pid)
ready_for_load "$url" "$work/data"
personalize_load "$url" "$write" "$token" 20s 0 >/dev/null
if [ "$rate" != 0 ]; then personalize_load "$url" "$write" "$token" 10s "$rate" >/dev/null; fi
cpu0=$(cpu_ticks "$tailor_pid"); written0=$(written_bytes "$tailor_pid")
line=$(personalize_load "$url" "$write" "$token" 30s "$rate")
cpu1=$(cpu_ticks "$tailor_pid"); written1=$(written_bytes "$tailor_pid")
calls=$(echo "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
echo "$line cpu_us=$(( (cpu1 - cpu0) * 10000 / calls )) KB/call=$(( (written1 - written0) / calls / 1024 ))"
