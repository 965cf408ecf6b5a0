#!/usr/bin/env bash
# What an import of profiles found only by lookup keys costs behind the log: ROWS (default 1,000,000)
# generated people with a name, a street address and a zip, no stitching identifier (two lookup keys
# each: name + address and name + zip), imported with `tailor import` into the demo's `shoppers`
# audience; then the write-behind thread's CPU over the import and the 120 s after it (no load), the
# server's CPU, the profile file's size, and the time a restart takes to answer /health (the lookup
# index is rebuilt from the lookup keys before the server listens). Release build, temporary data
# directory, loopback only; every process it starts is stopped by PID. About 3.5 minutes.
#
#   benchmark/load/import-writebehind.sh [rows, default 1000000]
#   SERVER_DLL=PATH (another build of Tailor.Server.dll, for a comparison; the default is this checkout's)
set -euo pipefail
rows=${1:-1000000}
source "$(dirname "$0")/common.sh" import-writebehind

echo "building Release..."
dotnet build -c Release "$root/src/Tailor.Server" -v q -nologo >/dev/null
dotnet build -c Release "$root/src/Tailor.Cli" -v q -nologo >/dev/null
server_dll=${SERVER_DLL:-$root/src/Tailor.Server/bin/Release/net10.0/Tailor.Server.dll}
url=http://127.0.0.1:18094

python3 - "$rows" "$work" <<'PY'
import random, sys
rows, work = int(sys.argv[1]), sys.argv[2]
random.seed(7)
first = ["john", "mary", "james", "patricia", "robert", "jennifer", "michael", "linda", "william", "elizabeth", "david", "susan", "joseph", "karen"]
with open(f"{work}/people.csv", "w") as f:
    f.write("first,last,street,city,state,zip,loyalty\n")
    for i in range(rows):
        f.write(f"{first[i % 14]},last{i // 14},{i % 997} main st,city{i % 500},CA,{10000 + i % 90000:05d},{random.choice(['high', 'medium', 'low'])}\n")
PY

start_server() {
  dotnet "$server_dll" --demo --data "$work/data" --urls "$url" --Tailor:DemoProfiles=1000 --Logging:LogLevel:Default=Warning >>"$work/server.log" 2>&1 &
  server_pid=$!
  pids+=($server_pid)
  wait_for "$url"
}
# The write-behind thread's CPU time so far, in clock ticks.
write_behind_ticks() {
  for task in "/proc/$server_pid/task/"*; do
    if [[ "$(cat "$task/comm" 2>/dev/null)" == tailor-write* ]]; then awk '{print $14 + $15}' "$task/stat"; fi
  done
}

start_server
master=$(python3 -c "import json;print(json.load(open('$work/data/demo.json'))['master_key'])")
behind_before=$(write_behind_ticks)
cpu_before=$(cpu_ticks "$server_pid")
echo "importing $rows people..."
dotnet "$root/src/Tailor.Cli/bin/Release/net10.0/tailor.dll" import "$work/people.csv" --audience shoppers --url "$url" --key "$master" | head -1
sleep 120
behind=$(( $(write_behind_ticks) - behind_before ))
cpu=$(( $(cpu_ticks "$server_pid") - cpu_before ))
echo "write-behind thread: $((behind / 100)).$((behind % 100 / 10)) CPU-s; server: $((cpu / 100)).$((cpu % 100 / 10)) CPU-s (the import and the 120 s after it)"
echo "profile file: $(( $(stat -c %s "$work/data/tailor-profiles.db") / 1048576 )) MiB"
kill "$server_pid"
while kill -0 "$server_pid" 2>/dev/null; do sleep 0.1; done
started=$(date +%s.%N)
start_server
echo "restart to /health: $(python3 -c "import time;print(f'{time.time() - $started:.1f}')") s"
