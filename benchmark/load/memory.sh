#!/usr/bin/env bash
# Resident memory per active profile (issue 5): a Release server, an audience whose profiles hold 20
# attributes (memory.yaml), then N new visitors in a row (memory.lua: each call activates and keeps a
# profile); RSS before and after, divided by N. Profiles stay active for the idle timeout (10 minutes),
# so all N are in memory at the end. Loopback only; the server is stopped by PID. About 2 minutes.
#
#   benchmark/load/memory.sh [visitors, default 300000]
set -euo pipefail
visitors=${1:-300000}
source "$(dirname "$0")/common.sh" memory
require_wrk
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null
url=http://127.0.0.1:18096
dotnet "$root/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll" --data "$work/data" --urls "$url" --Logging:LogLevel:Default=Warning >"$work/server.log" 2>&1 &
pid=$!
pids+=($pid)
wait_for "$url"
admin=$(cat "$work/data/admin.key")
master=$(curl -sf -X POST "$url/v1/accounts" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d '{"name":"memory"}' | python3 -c "import json,sys;print(json.load(sys.stdin)['master_key'])")
curl -sf -X PUT "$url/v1/config?file=memory.yaml" -H "Authorization: TD1 $master" -H 'Content-Type: application/yaml' --data-binary @"$root/benchmark/load/memory.yaml" >/dev/null
write=$(curl -sf -X POST "$url/v1/keys" -H "Authorization: TD1 $master" -H 'Content-Type: application/json' -d '{"kind":"write"}' | python3 -c "import json,sys;print(json.load(sys.stdin)['key'])")
token=$(curl -sf -X POST "$url/v1/tokens" -H "Authorization: TD1 $master" -H 'Content-Type: application/json' -d '{"service":"web","name":"site"}' | python3 -c "import json,sys;print(json.load(sys.stdin)['token'])")
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
# A short warm-up (JIT, pools), then the measured visitors.
TAILOR_WRITE_KEY=$write TAILOR_TOKEN=$token wrk -t2 -c64 -d3s -s "$root/benchmark/load/memory.lua" "$url" >/dev/null
sleep 2
before=$(rss)
start=$(date +%s)
sent=0
round=1
while [ "$sent" -lt "$visitors" ]; do
  line=$(TAILOR_ROUND=$round TAILOR_WRITE_KEY=$write TAILOR_TOKEN=$token wrk -t2 -c64 -d10s -s "$root/benchmark/load/memory.lua" "$url" | grep '^RESULT')
  n=$(echo "$line" | sed 's/.*requests=\([0-9]*\).*/\1/')
  failed=$(echo "$line" | sed 's/.*non2xx=\([0-9]*\).*/\1/')
  [ "$failed" -eq 0 ] || { echo "memory.sh: $failed calls were not answered 200: $line" >&2; exit 1; }
  sent=$((sent + n))
  round=$((round + 1))
done
sleep 5
after=$(rss)
python3 -c "
before, after, n = $before, $after, $sent
print(f'{n:,} profiles with 20 attributes activated in $(( $(date +%s) - start )) s: RSS {before/1024:,.0f} MiB -> {after/1024:,.0f} MiB, {(after-before)*1024/n:,.0f} bytes per active profile')
"
