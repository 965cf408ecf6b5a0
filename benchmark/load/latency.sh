#!/usr/bin/env bash
# Latency against load: Tailor (Release, --demo data with 1,000,000 imported profiles on a temporary
# directory) driven with the harness's calls (personalize.lua) at a series of fixed rates, after one
# closed-loop run at 256 connections that measures its maximum. Prints, per rate, the rate achieved,
# p50/p95/p99/p99.9/max latency and the server's CPU per call, and the highest rate whose p99 was within
# 10 ms. Loopback only; every process it starts is stopped by PID. Needs wrk and python3. About 4 minutes
# with the defaults.
#
#   benchmark/load/latency.sh [duration per rate, default 20s] [rates, default "20% 35% 50% 70% 8000"]
#   A rate ending in % is that share of the measured maximum; a plain number is calls/s.
#   PROFILES=1000000 (imported demo profiles), DATA_ROOT=DIR (where the data directory goes, e.g. /dev/shm
#   to take the disk out of the measurement; default a temporary directory under /tmp)
set -euo pipefail
duration=${1:-20s}
rates=${2:-"20% 35% 50% 70% 8000"}
source "$(dirname "$0")/common.sh" latency

require_wrk
echo "building Release..."
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null

data=$work/data
if [ -n "${DATA_ROOT:-}" ]; then
  data=$(mktemp -d "$DATA_ROOT/tailor-latency.XXXXXX")
  trap 'cleanup; rm -rf "$data"' EXIT
fi
url=http://127.0.0.1:18086
dotnet "$root/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll" --demo --data "$data" --urls "$url" \
  --Tailor:DemoProfiles="${PROFILES:-1000000}" --Logging:LogLevel:Default=Warning >"$work/tailor.log" 2>&1 &
tailor_pid=$!
pids+=($tailor_pid)
wait_for "$url"
read -r master write token < <(demo_keys "$data")
set_ingest_limit "$url" "$master" 10000000

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
load() { # duration rate (0: closed loop)
  TAILOR_VISITORS=${PROFILES:-1000000} TAILOR_WRITE_KEY=$write TAILOR_TOKEN=$token TAILOR_THREADS=2 TAILOR_RATE=$2 \
    wrk -t2 -c256 -d"$1" --timeout 10s -s "$root/benchmark/load/personalize.lua" "$url" | grep '^RESULT'
}
measure() { # label rate
  local before line after
  before=$(cpu_ticks "$tailor_pid")
  line=$(load "$duration" "$2")
  after=$(cpu_ticks "$tailor_pid")
  echo "$1 asked=$2 cpu_ticks=$((after - before)) ${line#RESULT }" >>"$work/results.txt"
}

echo "warming up (20 s)..."
load 20s 0 >/dev/null
measure max 0
best=$(sed -n 's/^max .* rps=\([0-9]*\).*/\1/p' "$work/results.txt")
for rate in $rates; do
  case $rate in
    *%) calls=$((best * ${rate%\%} / 100)) ;;
    *) calls=$rate ;;
  esac
  echo "at $calls calls/s..."
  load 5s "$calls" >/dev/null
  measure "$rate" "$calls"
done

python3 - "$work/results.txt" "$duration" <<'PY'
import sys
rows = [(line.split()[0], dict(x.split("=") for x in line.split()[1:])) for line in open(sys.argv[1])]
print(f"\n{sys.argv[2]} per rate at 256 connections, wrk -t2 on the same machine; CPU = server process CPU per call")
print(f"{'rate':>6} {'asked/s':>8} {'achieved/s':>10} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} {'max ms':>7} {'CPU us':>7} {'errors':>6}")
within = None
for name, r in rows:
    asked = "closed" if name == "max" else r["asked"]
    cpu = int(r["cpu_ticks"]) * 10_000 / max(1, int(r["requests"]))
    print(f"{name:>6} {asked:>8} {float(r['rps']):10.0f} {float(r['p50']):7.2f} {float(r['p95']):7.2f} {float(r['p99']):7.2f} "
          f"{float(r['p999']):8.2f} {float(r['max']):7.2f} {cpu:7.0f} {int(r['errors']):6d}")
    if name != "max" and float(r["p99"]) <= 10 and int(r["errors"]) == 0:
        within = max(within or 0, float(r["rps"]))
print(f"highest rate measured with p99 <= 10 ms: {within:.0f} calls/s" if within else "no rate measured had p99 <= 10 ms")
PY
