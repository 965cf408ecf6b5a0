#!/usr/bin/env bash
# What bounds a call, by taking parts of it away. Builds the committed tree (HEAD) with ceiling.patch
# applied, in a temporary directory (the patch's switches exist only in that build, never in the
# server), and measures, in each of ROUNDS (default 2) rounds, at 256 connections closed loop or at a
# fixed RATE, each with the demo's 1,000,000 imported profiles as ab.sh runs it:
#   tailor     Tailor as it is;
#   nolog      the log's batches acknowledged without being written: no event or pending row, so the
#              write-behind and the checkpoint have nothing to do (the same answers);
#   noreactor  each call answered after its checks, its parse and its stored body, with the offers of a
#              returning demo customer: no stitching, grains, engine or log;
#   baseline   the bare ASP.NET Core app (benchmark/Baseline).
# Prints each run's RESULT line with the server's CPU µs per call, then each one's ratio to the baseline
# of its round. With PHASES=1, the Tailor runs (but noreactor) also print where their calls' time went
# in the last 10 s of the run: each phase of the call, from the handler's start to its answer, in buckets
# (the patch's CeilingExperiment.RecordPhases; a lock and nine timestamps per call). Loopback only;
# every process is stopped by PID; about 8 minutes a round.
#
#   benchmark/load/ceiling.sh [RATE, default 0]
#   PHASES=1 benchmark/load/ceiling.sh 9000
# When the code the patch touches changes, the patch is made again: apply what still applies
# (git apply --reject), mend the rest by hand in a worktree, then git diff > benchmark/load/ceiling.patch.
set -euo pipefail
rate=${1:-0}
source "$(dirname "$0")/common.sh" ceiling
require_wrk
git -C "$root" archive HEAD | tar -x -C "$work"
(cd "$work" && git apply "$root/benchmark/load/ceiling.patch")
dotnet build -c Release "$work/src/Tailor.Server" >"$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 1; }
dotnet build -c Release "$root/benchmark/Baseline" >"$work/build-baseline.log" 2>&1 || { tail -20 "$work/build-baseline.log"; exit 1; }
dll=$work/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll

# The baseline as ab.sh runs Tailor: a warm-up (10 s), then 30 s measured.
baseline_run() {
  local url=http://127.0.0.1:18093 cpu0 cpu1 line calls
  start_baseline "$url"
  wait_for "$url"
  personalize_load "$url" "" "" 10s "$rate" >/dev/null
  cpu0=$(cpu_ticks "$baseline_pid")
  line=$(personalize_load "$url" "" "" 30s "$rate")
  cpu1=$(cpu_ticks "$baseline_pid")
  calls=$(echo "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
  stop_all
  pids=()
  echo "$line cpu_us=$(( (cpu1 - cpu0) * 10000 / calls ))"
}

for round in $(seq 1 "${ROUNDS:-2}"); do
  for mode in tailor nolog noreactor; do
    phases=$work/phases-$round-$mode
    if [ "${PHASES:-0}" = 1 ] && [ "$mode" != noreactor ]; then export TAILOR_PHASES=$phases; else export TAILOR_PHASES=; fi
    echo "round $round $mode $(TAILOR_EXP=$mode "$root/benchmark/load/ab.sh" "$dll" "$rate")" | tee -a "$work/results"
    if [ -s "$phases" ]; then tail -10 "$phases"; fi
  done
  echo "round $round baseline $(baseline_run)" | tee -a "$work/results"
done
echo
awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^rps=/) rps[$2, $3] = substr($i, 5); if ($2 > last) last = $2 }
  END {
    printf "%-6s %-10s %9s %6s\n", "round", "build", "calls/s", "ratio"
    split("tailor nolog noreactor baseline", modes, " ")
    for (r = 1; r <= last; r++)
      for (m = 1; m <= 4; m++) printf "%-6s %-10s %9d %6.2f\n", r, modes[m], rps[r, modes[m]], rps[r, modes[m]] / rps[r, "baseline"]
  }' "$work/results"
