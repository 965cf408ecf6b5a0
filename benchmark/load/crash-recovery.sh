#!/usr/bin/env bash
# Recovery after a crash with a backlog: Tailor (Release, --demo with PROFILES imported profiles on a
# temporary directory) under closed-loop load at 256 connections (personalize.lua) for SECONDS, begun
# right after the demo's import, then `kill -9`; prints the changes left pending in the log, then
# restarts it on the same data and times until /health, a lookup of a customer and a personalization
# call answer. Loopback only; every process it starts is stopped by PID. About 2.5 minutes.
#
#   benchmark/load/crash-recovery.sh [SECONDS, default 30]    PROFILES=1000000
set -euo pipefail
seconds=${1:-30}
source "$(dirname "$0")/common.sh" crash
require_wrk
echo "building Release..."
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null
url=http://127.0.0.1:18091
data=$work/data
start_tailor_demo "$url" "$data"
ready_for_load "$url" "$data"
lookup_key=$(python3 -c "import json;print(json.load(open('$data/demo.json'))['lookup_key'])")
echo "load for ${seconds} s, then kill -9:"
personalize_load "$url" "$write" "$token" "${seconds}s" 0
kill -9 "$tailor_pid"; wait "$tailor_pid" 2>/dev/null || true
python3 - "$data/tailor.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
changes, profiles = db.execute("SELECT COUNT(*), COUNT(DISTINCT profile_id) FROM pending_changes").fetchone()
print(f"pending at the kill: {changes:,} changes of {profiles:,} profiles")
PY
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
started=$(date +%s.%N)
dotnet "$root/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll" --data "$data" --urls "$url" \
  --Logging:LogLevel:Default=Warning >>"$work/tailor.log" 2>&1 &
tailor_pid=$!
pids+=($tailor_pid)
wait_for "$url"
health=$(since "$started")
curl -sf --max-time 120 "$url/v5/ei?api_key=$lookup_key&email=customer7@example.com" | grep -q '"age"' || { echo "lookup did not find the customer"; exit 1; }
lookup=$(since "$started")
curl -sf --max-time 120 -X POST "$url/demo_db/pageviews" -H "Authorization: TD1 $write" -H "WP13n-Token: $token" \
  -H 'Content-Type: application/vnd.treasuredata.v1+json' -d '{"td_client_id":"visitor-7","email":"customer7@example.com","td_path":"/"}' >/dev/null
personalize=$(since "$started")
echo "restart after the kill: /health $health s, lookup $lookup s, personalization $personalize s"
