#!/usr/bin/env bash
# The lookup API's figures (issue 4) on this machine: import of 1,000,000 CSV rows with `tailor import`,
# 10,000-record bulk lookups (half matching) against them on one connection, two accounts at once,
# the lookup index's memory per profile, and the time from start to serving again with the index
# rebuilt. Release build, temporary data directory, loopback only; every process it starts is stopped
# by PID. Needs wrk (apt-get install wrk) and python3. About 3 minutes.
#
#   benchmark/load/lookup.sh [rows, default 1000000] [bulk duration, default 20s]
set -euo pipefail
rows=${1:-1000000}
duration=${2:-20s}
source "$(dirname "$0")/common.sh" lookup

require_wrk
echo "building Release..."
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null
dotnet build -c Release "$root/src/Tailor.Cli" -v q -nologo >/dev/null
server_dll="$root/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll"
tailor() { dotnet "$root/src/Tailor.Cli/bin/Release/net10.0/tailor.dll" "$@"; }
url=http://127.0.0.1:18090

echo "generating $rows people..."
python3 - "$rows" "$work" <<'PY'
import json, random, sys
rows, work = int(sys.argv[1]), sys.argv[2]
random.seed(1)
first = ["john", "mary", "james", "patricia", "robert", "jennifer", "michael", "linda", "william", "elizabeth", "david", "susan", "joseph", "karen"]
ages = ["18-20", "21-24", "25-34", "35-44", "45-54", "55-64", "65+"]
incomes = ["0-15k", "15k-25k", "25k-35k", "35k-50k", "50k-75k", "75k-100k", "100k-150k", "150k-250k", "250k+"]
with open(f"{work}/people.csv", "w") as f:
    f.write("email,first,last,zip,age,gender,household_income,interests,loyalty\n")
    for i in range(rows):
        interests = ",".join('""%s"":true' % x for x in ["sports", "travel", "cooking", "fashion"] if random.random() < 0.3)
        f.write(f'person{i}@example.com,{first[i % 14]},last{i // 14},{10000 + i % 90000:05d},{random.choice(ages)},'
                f'{random.choice(["Male", "Female"])},{random.choice(incomes)},"{{{interests}}}",{random.choice(["high", "medium", "low"])}\n')
def bulk(name, population, seed):
    random.seed(seed)
    people = [{"email": f"person{random.randrange(population)}@example.com"} if i % 2 == 0 else {"email": f"nobody{i}@example.org"} for i in range(10000)]
    json.dump(people, open(f"{work}/{name}", "w"))
bulk("bulk-a.json", rows, 3)
bulk("bulk-b.json", min(rows, 100000), 4)
PY
head -n $((1 + (rows < 100000 ? rows : 100000))) "$work/people.csv" >"$work/people-b.csv"

start_server() {
  dotnet "$server_dll" --demo --data "$work/data" --urls "$url" --Tailor:DemoProfiles=1000 \
    --Logging:LogLevel:Default=Warning --Logging:LogLevel:Tailor.Server.Lookup=Information >>"$work/server.log" 2>&1 &
  server_pid=$!
  pids+=($server_pid)
}
start_server
wait_for "$url"
read -r master lookup_key < <(python3 -c "import json;d=json.load(open('$work/data/demo.json'));print(d['master_key'],d['lookup_key'])")

echo "importing..."
import_line=$(tailor import "$work/people.csv" --audience shoppers --url "$url" --key "$master" | head -1)
echo "  $import_line"

# A second account, for two accounts' bulk lookups at once.
admin=$(cat "$work/data/admin.key")
master_b=$(curl -sf -X POST "$url/v1/accounts" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d '{"name":"second"}' | python3 -c "import json,sys;print(json.load(sys.stdin)['master_key'])")
curl -sf -X PUT "$url/v1/config?file=demo.yaml" -H "Authorization: TD1 $master_b" -H 'Content-Type: application/yaml' --data-binary @"$root/samples/demo.yaml" >/dev/null
lookup_b=$(curl -sf -X POST "$url/v1/keys" -H "Authorization: TD1 $master_b" -H 'Content-Type: application/json' -d '{"kind":"lookup"}' | python3 -c "import json,sys;print(json.load(sys.stdin)['key'])")
tailor import "$work/people-b.csv" --audience shoppers --url "$url" --key "$master_b" >/dev/null || true

bulk() { # key file duration
  TAILOR_BULK_FILE=$2 TAILOR_LOOKUP_KEY=$1 wrk -t1 -c1 -d"$3" --timeout 10s -s "$root/benchmark/load/bulk.lua" "$url" | grep '^RESULT'
}
echo "bulk lookups..."
bulk "$lookup_key" "$work/bulk-a.json" 5s >/dev/null
rss_warm=$(awk '/VmRSS/ {printf "%d", $2 / 1024}' "/proc/$server_pid/status")
one=$(bulk "$lookup_key" "$work/bulk-a.json" "$duration")
bulk "$lookup_b" "$work/bulk-b.json" 5s >/dev/null
bulk "$lookup_key" "$work/bulk-a.json" "$duration" >"$work/two-a.txt" &
two_a=$!
two_b=$(bulk "$lookup_b" "$work/bulk-b.json" "$duration")
wait $two_a
status=$(curl -sf "$url/v1/lookup/status" -H "Authorization: TD1 $master")
rss=$(awk '/VmRSS/ {printf "%d", $2 / 1024}' "/proc/$server_pid/status")

echo "restarting..."
kill "$server_pid"
while kill -0 "$server_pid" 2>/dev/null; do sleep 0.1; done
started=$(date +%s.%N)
start_server
wait_for "$url"
restart=$(python3 -c "import time;print(f'{time.time() - $started:.1f}')")

python3 - "$import_line" "$one" "$(cat "$work/two-a.txt")" "$two_b" "$status" "$rss" "$restart" "$duration" "$rss_warm" <<'PY'
import json, re, sys
import_line, one, two_a, two_b, status, rss, restart, duration, rss_warm = sys.argv[1:]
kv = lambda line: dict(x.split("=") for x in line.split()[1:])
one, two_a, two_b, status = kv(one), kv(two_a), kv(two_b), json.loads(status)
seconds = re.search(r"in ([0-9.]+) s", import_line).group(1)
profiles = status["profiles"]
print(f"\nlookup figures ({profiles:,} profiles in the lookup index; bulk runs of {duration}, wrk -c1 per account)")
print(f"import                    {import_line.split(':', 1)[1].strip()}")
print(f"bulk 10,000 (half match)  p50 {float(one['p50']):.1f} ms  p99 {float(one['p99']):.1f} ms  p99.9 {float(one['p999']):.1f} ms  "
      f"{float(one['rps']) * 10000:,.0f} records/s  errors {one['errors']}")
total = (float(two_a['rps']) + float(two_b['rps'])) * 10000
print(f"two accounts at once      {total:,.0f} records/s  (p50 {float(two_a['p50']):.1f} / {float(two_b['p50']):.1f} ms, p99 {float(two_a['p99']):.1f} / {float(two_b['p99']):.1f} ms)")
overhead = (status["index_bytes"] - status["record_bytes"]) / profiles
print(f"lookup index              {status['index_bytes'] / 2**20:,.0f} MiB: {status['record_bytes'] / profiles:.0f} bytes of answers + {overhead:.0f} bytes of index per profile ({status['keys']:,} keys)")
print(f"server RSS                {int(rss_warm):,} MiB after 5 s of bulk calls, {int(rss):,} MiB after all of them (flat: bulk calls keep nothing)")
print(f"restart to serving        {restart} s (index rebuilt from the store)")
PY
grep -h "Lookup index of account" "$work/server.log" | tail -2 | sed 's/^ */  /'
