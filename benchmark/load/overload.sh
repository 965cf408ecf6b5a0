#!/usr/bin/env bash
# Overload behaviour (issue 6): measure Tailor's capacity for durable personalization calls, set the
# account's ingest limit to half of it, then offer about twice the limit. Admitted calls should keep a
# bounded p99 while the excess gets 429 (code 2003, Retry-After) quickly, with no 5xx. Release build,
# temporary data directory, loopback only; every process it starts is stopped by PID. About 1.5 minutes.
#
#   benchmark/load/overload.sh [seconds per run, default 20] [connections, default 128]
set -euo pipefail
seconds=${1:-20}
connections=${2:-128}
source "$(dirname "$0")/common.sh" overload

echo "building Release..."
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null
dotnet build -c Release "$root/benchmark/Overload" -v q -nologo >/dev/null
url=http://127.0.0.1:18095
dotnet "$root/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll" --demo --data "$work/data" --urls "$url" \
  --Tailor:DemoProfiles=10000 --Logging:LogLevel:Default=Warning >"$work/server.log" 2>&1 &
pids+=($!)
wait_for "$url"
read -r master write token < <(demo_keys "$work/data")
apply() { set_ingest_limit "$url" "$master" "$1"; }
drive() { dotnet "$root/benchmark/Overload/bin/Release/net10.0/Overload.dll" "$url" "$write" "$token" "$connections" "$1" | grep '^RESULT'; }

apply 10000000
drive 10 >/dev/null   # warm-up
capacity_line=$(drive "$seconds")
capacity=$(echo "$capacity_line" | sed 's/.* admitted=\([0-9]*\).*/\1/')
limit=$((capacity / 2))
apply "$limit"
overload_line=$(drive "$seconds")
echo
echo "capacity (no limit):      ${capacity_line#RESULT }"
echo "limit $limit/s (half):  ${overload_line#RESULT }"
