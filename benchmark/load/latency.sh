#!/usr/bin/env bash
# Latency against load: Tailor (Release, --demo data with 1,000,000 imported profiles on a temporary
# directory) driven with the harness's calls (personalize.lua) at a series of fixed rates, after one
# closed-loop run at 256 connections that measures its maximum; the bare-Kestrel baseline driven at
# the same rates with Tailor paused (SIGSTOP; the machine's floor at that rate: HTTP, the generator and
# the scheduler, nothing of Tailor's, not even its background work). During each run, wakeup-jitter.py
# measures how late a real-time thread that sleeps 1 ms wakes up (the machine's own stalls), and
# disk-stalls.py how long a 4 KiB write and its fdatasync take beside Tailor's data (the disk's own
# stalls; in the baseline's runs, the idle disk's). Prints, per server and rate, the rate achieved,
# p50/p95/p99/p99.9/max latency, the server's CPU per call, the worst wake-up delay and the slowest
# small durable write, and the highest rate at which Tailor's p99 was within 10 ms. Loopback only;
# every process it starts is stopped by PID. Needs wrk and python3 (chrt, from util-linux, for the
# real-time probe; without it the probe runs at normal priority). About 7 minutes with the defaults.
#
#   benchmark/load/latency.sh [duration per rate, default 20s] [rates, default "20% 35% 50% 70% 8000"]
#   A rate ending in % is that share of Tailor's measured maximum; a plain number is calls/s.
#   PROFILES=1000000 (imported demo profiles), DATA_ROOT=DIR (where Tailor's data directory goes, e.g.
#   /dev/shm to take the disk out of the measurement; default a temporary directory under /tmp)
set -euo pipefail
duration=${1:-20s}
rates=${2:-"20% 35% 50% 70% 8000"}
source "$(dirname "$0")/common.sh" latency

require_wrk
echo "building Release..."
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null
dotnet build -c Release "$root/benchmark/Baseline" -v q -nologo >/dev/null

data=$work/data
if [ -n "${DATA_ROOT:-}" ]; then
  data=$(mktemp -d "$DATA_ROOT/tailor-latency.XXXXXX")
  trap 'cleanup; rm -rf "$data"' EXIT
fi
tailor=http://127.0.0.1:18086
baseline=http://127.0.0.1:18087
start_side_by_side "$baseline" "$tailor" "$data"

probe=(python3 "$root/benchmark/load/wakeup-jitter.py")
command -v chrt >/dev/null && chrt -f 50 true 2>/dev/null && probe=(chrt -f 50 "${probe[@]}")
measure() { # server url key token pid label rate
  local before line after written_before seconds=${duration%s}
  before=$(cpu_ticks "$5")
  written_before=$(written_bytes "$5")
  "${probe[@]}" "$seconds" >"$work/jitter.txt" &
  local probe_pid=$!
  python3 "$root/benchmark/load/disk-stalls.py" "$(dirname "$data")" "$seconds" >"$work/disk.txt" &
  local disk_pid=$!
  pids+=($probe_pid $disk_pid)
  line=$(personalize_load "$2" "$3" "$4" "$duration" "$7")
  wait "$probe_pid" "$disk_pid" || true
  after=$(cpu_ticks "$5")
  echo "$1 label=$6 asked=$7 cpu_ticks=$((after - before)) written=$(($(written_bytes "$5") - written_before)) $(cat "$work/jitter.txt") $(cat "$work/disk.txt") ${line#RESULT }" >>"$work/results.txt"
}

echo "warming up (20 s each)..."
paused "$tailor_pid" personalize_load "$baseline" "" "" 20s 0 >/dev/null
personalize_load "$tailor" "$write" "$token" 20s 0 >/dev/null
measure tailor "$tailor" "$write" "$token" "$tailor_pid" max 0
best=$(sed -n 's/^tailor label=max .* rps=\([0-9]*\).*/\1/p' "$work/results.txt")
for rate in $rates; do
  case $rate in
    *%) calls=$((best * ${rate%\%} / 100)) ;;
    *) calls=$rate ;;
  esac
  echo "at $calls calls/s..."
  personalize_load "$tailor" "$write" "$token" 5s "$calls" >/dev/null
  measure tailor "$tailor" "$write" "$token" "$tailor_pid" "$rate" "$calls"
  paused "$tailor_pid" measure baseline "$baseline" "" "" "$baseline_pid" "$rate" "$calls"
done

python3 - "$work/results.txt" "$duration" <<'PY'
import sys
rows = [(line.split()[0], dict(x.split("=") for x in line.split()[1:])) for line in open(sys.argv[1])]
print(f"\n{sys.argv[2]} per rate at 256 connections, wrk -t2 on the same machine; CPU = server process CPU per call;")
print("wake-up = the worst delay of a real-time thread's 1 ms sleep during the run (the machine's own stalls);")
print("disk = the slowest of a 4 KiB write + fdatasync every 50 ms beside the data during the run (the disk's own stalls);")
print("KB written = what the server wrote to storage per call (/proc/PID/io write_bytes: the WAL, the database file written back)")
print(f"{'server':8} {'rate':>5} {'asked/s':>8} {'achieved/s':>10} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} {'max ms':>7} {'CPU us':>7} {'wake-up':>7} {'disk':>7} {'KB written':>10} {'errors':>6}")
within = None
for server, r in rows:
    asked = "closed" if r["label"] == "max" else r["asked"]
    cpu = int(r["cpu_ticks"]) * 10_000 / max(1, int(r["requests"]))
    written = int(r["written"]) / 1024 / max(1, int(r["requests"]))
    print(f"{server:8} {r['label']:>5} {asked:>8} {float(r['rps']):10.0f} {float(r['p50']):7.2f} {float(r['p95']):7.2f} {float(r['p99']):7.2f} "
          f"{float(r['p999']):8.2f} {float(r['max']):7.2f} {cpu:7.0f} {float(r['wakeup_max']):7.2f} {float(r.get('disk_max', 'nan')):7.2f} {written:10.1f} {int(r['errors']):6d}")
    if server == "tailor" and r["label"] != "max" and float(r["p99"]) <= 10 and int(r["errors"]) == 0:
        within = max(within or 0, float(r["rps"]))
print(f"highest rate measured with Tailor's p99 <= 10 ms: {within:.0f} calls/s" if within else "no rate measured had Tailor's p99 <= 10 ms")
PY
