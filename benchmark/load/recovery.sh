#!/usr/bin/env bash
# Recovery (issue 5): time from start to serving again with 1,000,000 profiles and 10,000,000 logged
# events. A Release server creates the demo with PROFILES imported customers and is stopped; then
# EVENTS pageviews of those customers are written straight into its event log (SQL, not HTTP: ten
# million calls would take the better part of an hour here); then the server is started again and
# timed until (1) /health answers, (2) a lookup of a customer answers, (3) a personalization call of a
# customer answers; RESTARTS times. Loopback only; the server is stopped by PID. About 4 minutes with
# the defaults, and ~6 GB of temporary disk.
#
#   benchmark/load/recovery.sh        PROFILES=1000000 EVENTS=10000000 RESTARTS=3
set -euo pipefail
source "$(dirname "$0")/common.sh" recovery
profiles=${PROFILES:-1000000}
events=${EVENTS:-10000000}
restarts=${RESTARTS:-3}
url=http://127.0.0.1:18097
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null
start_server() {
  dotnet "$root/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll" "$@" --data "$work/data" --urls "$url" \
    --Logging:LogLevel:Default=Warning --Logging:LogLevel:Tailor=Information >>"$work/server.log" 2>&1 &
  server_pid=$!
  pids+=($server_pid)
}
stop_server() { kill "$server_pid"; while kill -0 "$server_pid" 2>/dev/null; do sleep 0.1; done; }

echo "creating the demo with $profiles profiles..."
start_server --demo --Tailor:DemoProfiles="$profiles"
wait_for "$url"
stop_server

echo "writing $events events into the log..."
python3 - "$work/data/tailor.db" "$events" <<'PY'
import sqlite3, sys, time
path, events = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
# The profile tables are in a file of their own beside the log (tailor.db -> tailor-profiles.db).
db.execute("ATTACH DATABASE ? AS profile_store", (path[:-3] + "-profiles.db",))
account, audience = db.execute("SELECT account_id, audience FROM profile_store.profiles LIMIT 1").fetchone()
last = max(db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0],
           db.execute("SELECT COALESCE(MAX(last_seq), 0) FROM log_state").fetchone()[0])
started = time.time()
db.execute("BEGIN")
db.execute("CREATE TEMP TABLE p AS SELECT id FROM profile_store.profiles WHERE account_id = ? AND audience = ?", (account, audience))
count = db.execute("SELECT COUNT(*) FROM p").fetchone()[0]
now = int(time.time())
# Each event goes to profile (i mod count); the body is a ~300-byte pageview like the load's.
db.execute("""
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
    INSERT INTO events (seq, account_id, db, tbl, uuid, client_uuid, time, audience, profile_id, body)
    SELECT ? + 1 + i, ?, 'demo_db', 'pageviews', lower(hex(randomblob(16))), 0, ? - 864000 + i * 864000 / ?, ?,
           (SELECT id FROM p WHERE p.rowid = 1 + i % ?),
           printf('{"td_client_id":"visitor-%d","td_path":"/retail/shoes/running","td_url":"https://shop.example.com/retail/shoes/running?utm_source=mail","td_title":"Trail running shoes","product_category":"women","product_name":"trail runner %d","td_user_agent":"Mozilla/5.0 (X11; Linux x86_64)","time":%d}', i % ?, i % 50, ? - 864000 + i * 864000 / ?)
    FROM n
    """, (events, last, account, now, events, audience, count, count, now, events))
db.execute("COMMIT")
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print(f"  {events:,} events in {time.time() - started:.0f} s; log ends at seq {last + events:,}")
PY
du -h "$work/data/tailor.db" | sed 's/^/  database /'

read -r lookup_key write token < <(python3 -c "import json;d=json.load(open('$work/data/demo.json'));print(d['lookup_key'],d['write_key'],d['token'])")
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
echo
echo "recovery with $profiles profiles and $events logged events (Release, this machine), $restarts restarts:"
echo "  /health   lookup   personalization   RSS"
for run in $(seq 1 "$restarts"); do
  started=$(date +%s.%N)
  start_server
  wait_for "$url"
  health=$(since "$started")
  curl -sf "$url/v5/ei?api_key=$lookup_key&email=customer$run@example.com" | grep -q '"age"' || { echo "lookup did not find the customer"; exit 1; }
  lookup=$(since "$started")
  curl -sf -X POST "$url/demo_db/pageviews" -H "Authorization: TD1 $write" -H "WP13n-Token: $token" \
    -H 'Content-Type: application/vnd.treasuredata.v1+json' -d "{\"td_client_id\":\"visitor-$run\",\"email\":\"customer$run@example.com\",\"td_path\":\"/\"}" >/dev/null
  personalize=$(since "$started")
  rss=$(awk '/VmRSS/ {printf "%d", $2 / 1024}' "/proc/$server_pid/status")
  printf "  %5s s  %5s s  %9s s        %s MiB\n" "$health" "$lookup" "$personalize" "$rss"
  stop_server
done
grep -h "Lookup index of account" "$work/server.log" | tail -"$restarts" | sed 's/^ */  /'
