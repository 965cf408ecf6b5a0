# Sourced by the load scripts: `source "$(dirname "$0")/common.sh" NAME`. Sets root (the repository)
# and work (a temporary directory, removed at exit), and kills every PID a script adds to pids at exit.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "/tmp/tailor-${1:-load}.XXXXXX")
pids=()
# (Waited for inside the redirection, so that bash does not print "Killed" for each.)
stop_all() { for pid in "${pids[@]}"; do { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true; done; }
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT

require_wrk() { command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }; }

# Waits (up to 3 minutes, polling every 50 ms) until URL/health answers.
wait_for() { for _ in $(seq 1 3600); do curl -sf "$1/health" >/dev/null && return 0; sleep 0.05; done; echo "$1 did not start"; exit 1; }

# The demo's keys: prints "master_key write_key token" from DATA/demo.json.
demo_keys() { python3 -c "import json;d=json.load(open('$1/demo.json'));print(d['master_key'],d['write_key'],d['token'])"; }

# Sets the demo account's ingest limit (calls/s) and lifts its per-service concurrency limit, so that a
# load run measures the server rather than its 429s: set_ingest_limit URL MASTER_KEY PER_SECOND
set_ingest_limit() {
  sed "s/ingest_per_second: 20000/ingest_per_second: $3/; s/concurrent: 256/concurrent: 100000/" "$root/samples/demo.yaml" >"$work/load.yaml"
  curl -sf -X PUT "$1/v1/config?file=load.yaml" -H "Authorization: TD1 $2" -H 'Content-Type: application/yaml' --data-binary @"$work/load.yaml" >/dev/null
}
