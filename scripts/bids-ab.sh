#!/usr/bin/env bash
# The bid scenarios of BENCHMARKS.md (4a: 100 lots, 4b: one hot lot; 64 clients flat out) and a
# 10,000-watcher SSE fan-out, against two builds of the server in turn, each run on a fresh
# server and database: an A/B comparison whose rounds interleave, so a machine that changes
# speed mid-run moves both columns alike. Traffic stays on loopback.
#
#   scripts/bids-ab.sh OLD_GAVEL NEW_GAVEL OUT [ROUNDS]
#
# OLD_GAVEL, NEW_GAVEL: release `gavel` binaries (build the old one from its commit with
# CARGO_TARGET_DIR set elsewhere). The load tool is this tree's target/release/gavel-load, the
# same for both. Each scenario's report goes to OUT/<round>-<build>-<scenario>.txt; a table of
# accepted bids/s, request p99 and fan-out figures is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1 NEW=$2 OUT=$3 ROUNDS=${4:-2}
LOAD=${LOAD:-target/release/gavel-load}
SECS=${SECS:-20}
# Which scenarios, in order.
SCENARIOS=${SCENARIOS:-"4a 4b 1-sse10k"}
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)"
PORT=${PORT:-8290}

run() { # build-name binary scenario-name gavel-load flags...
  local build=$1 bin=$2 name=$3
  shift 3
  PORT=$((PORT + 1))
  local addr=127.0.0.1:$PORT db
  db=$(mktemp -d)
  GAVEL_LIMIT_BIDS_PER_USER=off GAVEL_LIMIT_REGISTRATIONS_PER_ADDRESS=off \
  GAVEL_ADMIN=root:load-admin-password RUST_LOG=warn DATABASE_URL="sqlite://$db/gavel.db" \
    "$bin" --bind "$addr" >"$OUT/$round-$build-$name.server.log" 2>&1 &
  local server=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://$addr/healthz" && break; sleep 0.1; done
  "$LOAD" --server "$addr" --pid "$server" "$@" >"$OUT/$round-$build-$name.txt" 2>&1 || true
  kill "$server"; wait "$server" 2>/dev/null || true
  rm -rf "$db"
  sleep 5
}

for round in $(seq "$ROUNDS"); do
  for pair in "old $OLD" "new $NEW"; do
    set -- $pair
    for s in $SCENARIOS; do
      case $s in
        4a) run "$1" "$2" 4a --lots 100 --watchers 0 --clients 64 --seconds "$SECS" --interval-ms 0 ;;
        4b) run "$1" "$2" 4b --lots 1 --watchers 0 --clients 64 --seconds "$SECS" --interval-ms 0 ;;
        1-sse10k) run "$1" "$2" 1-sse10k --watchers 10000 --transport sse --bids 20 --interval-ms 250 --workers 2 --sources 4 ;;
      esac
    done
  done
done

echo "round build scenario bids/s request_p99_ms delivery_p99_ms us_per_delivery bytes_per_conn"
for f in "$OUT"/*-*-*.txt; do
  base=$(basename "$f" .txt)
  tail -1 "$f" | python3 -c "
import json, sys
try: r = json.loads(sys.stdin.read())
except Exception: print('$base', 'no report'); sys.exit()
print('$base'.replace('-', ' ', 2), r['bids_per_sec'], r['bid_request_ms']['p99'], r['delivery_ms']['p99'],
      r.get('server_cpu_us_per_delivery'), r.get('bytes_per_connection'))"
done
