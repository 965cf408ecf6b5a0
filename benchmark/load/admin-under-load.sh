#!/usr/bin/env bash
# Operations beside the personalization load: Tailor (Release, --demo with PROFILES imported profiles,
# default 100,000) under wrk's closed-loop calls (200 connections) while one kind of operation repeats
# beside them, a phase of DURATION seconds each (default 20): none, a configuration apply, a 20,000-row
# import, a 10,000-record bulk lookup, an erasure every 3 s, erasures back to back, a profile read, an
# events page, a backup. Prints per phase the calls' throughput and latency, any answer that is not
# 2xx (call or operation), and the operation's own time; then the server's warnings. Loopback only;
# every process it starts is stopped by PID. About 3.5 minutes.
#
#   benchmark/load/admin-under-load.sh [phases, default all]   e.g. "none erase-every-3s"
set -uo pipefail
source "$(dirname "$0")/common.sh" admin-load
require_wrk
echo "building Release..."
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null
url=http://127.0.0.1:18086
PROFILES=${PROFILES:-100000}
start_tailor_demo "$url" "$work/data"
ready_for_load "$url" "$work/data"
lookup=$(python3 -c "import json;print(json.load(open('$work/data/demo.json'))['lookup_key'])")
admin=$(cat "$work/data/admin.key")
python3 -c "
import json
for i in range(1, 20001): print(json.dumps({'email': f'extra{i}@example.com', 'td_client_id': f'visitor-{i}', 'loyalty': 'high' if i % 3 == 0 else 'low'}))
" >"$work/import.ndjson"
python3 -c "
import json
print(json.dumps([{'email': f'customer{i}@example.com'} for i in range(1, 5001)] + [{'email': f'extra{i}@example.com'} for i in range(1, 5001)]))
" >"$work/bulk.json"

# One operation; prints its HTTP status and seconds.
operation() {
  local out=(-s -o "$work/answer.txt" -w "%{http_code} %{time_total}")
  case $1 in
    none) sleep 1; echo "200 0" ;;
    config) curl "${out[@]}" -X PUT "$url/v1/config?file=demo.yaml" -H "Authorization: TD1 $master" -H 'Content-Type: application/yaml' --data-binary @"$root/samples/demo.yaml" ;;
    import) curl "${out[@]}" -X POST "$url/v1/audiences/shoppers/import" -H "Authorization: TD1 $master" -H 'Content-Type: application/x-ndjson' --data-binary @"$work/import.ndjson" ;;
    bulk) curl "${out[@]}" -X POST "$url/v5/ei/bulk?api_key=$lookup" -H 'Content-Type: application/json' --data-binary @"$work/bulk.json" ;;
    erase|erase-every-3s) curl "${out[@]}" -X DELETE "$url/v1/audiences/shoppers/profiles?email=customer$((RANDOM % PROFILES + 1))@example.com" -H "Authorization: TD1 $master"
      [ "$1" = erase ] || sleep 3 ;;
    profile) curl "${out[@]}" "$url/v1/audiences/shoppers/profiles?key=email&value=customer$((RANDOM % PROFILES + 1))@example.com" -H "Authorization: TD1 $master" ;;
    events) curl "${out[@]}" "$url/v1/databases/demo_db/tables/pageviews/events?limit=100" -H "Authorization: TD1 $master" ;;
    backup) curl "${out[@]}" -X POST "$url/v1/backup" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d "{\"directory\":\"$work/backup\"}"; rm -rf "$work/backup" ;;
  esac
}

for phase in ${1:-none config import bulk erase-every-3s erase profile events backup}; do
  TAILOR_LOAD_DIR="$root/benchmark/load" TAILOR_VISITORS=$PROFILES TAILOR_WRITE_KEY=$write TAILOR_TOKEN=$token TAILOR_THREADS=2 TAILOR_RATE=0 \
    wrk -t2 -c200 -d"${DURATION:-20}s" --timeout 10s -s "$root/benchmark/load/statuses.lua" "$url" >"$work/wrk.txt" 2>&1 &
  wrk_pid=$!
  pids+=($wrk_pid)
  sleep 1
  : >"$work/operations.txt"
  while kill -0 "$wrk_pid" 2>/dev/null; do
    result=$(operation "$phase")
    echo "$result" >>"$work/operations.txt"
    case $result in 5*) echo "  $phase answered $(head -c 300 "$work/answer.txt")" ;; esac
  done
  wait "$wrk_pid"
  python3 - "$phase" "$work/wrk.txt" "$work/operations.txt" <<'PY'
import collections, sys
phase, wrk, ops = sys.argv[1:]
result = next((l.split()[1:] for l in open(wrk) if l.startswith("RESULT")), [])
calls = dict(kv.split("=") for kv in result)
statuses = collections.Counter(l.split()[1] for l in open(wrk) if l.startswith("STATUS"))
answers = [l.split() for l in open(ops) if l.strip()]
codes = collections.Counter(a[0] for a in answers)
times = sorted(float(a[1]) for a in answers)
op = f"{len(times)} ops {dict(codes)} p50 {times[len(times) // 2]:.2f} s max {times[-1]:.2f} s" if phase != "none" and times else ""
print(f"{phase:15} calls/s {float(calls.get('rps', 0)):7.0f}  p50 {float(calls.get('p50', 0)):6.2f}  p99 {float(calls.get('p99', 0)):8.2f}  max {float(calls.get('max', 0)):8.2f} ms"
      f"  not 2xx {sum(statuses.values())} {dict(statuses) if statuses else ''}  {op}")
PY
done
echo "server warnings and errors: $(grep -cE '^(warn|fail|crit):' "$work/tailor.log")"
grep -E '^(fail|crit):' -A6 "$work/tailor.log" | head -30
