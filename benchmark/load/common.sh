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
