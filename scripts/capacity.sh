#!/usr/bin/env bash
# Runs every capacity scenario of BENCHMARKS.md in a row on this machine, each against a fresh
# server and database on loopback, and writes each tool's output to OUT (default: a new
# temporary folder). Needs a release build (`cargo build --release`) and, for the pages
# scenario, wrk (`apt-get install wrk`). Takes about twelve minutes.
#
#   scripts/capacity.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release
OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)"
# Sockets a run leaves in TIME_WAIT hold their ports for 60 s; the next large run waits them out.
GAP=${GAP:-65}
PORT=${PORT:-8190}

# serve NAME: a fresh server on the next port, its pid in $SERVER and its address in $ADDR.
serve() {
  PORT=$((PORT + 1))
  ADDR=127.0.0.1:$PORT
  DB=$(mktemp -d)
  # The load tool's bidders are programs bidding flat out from one address: limits off.
  GAVEL_LIMIT_BIDS_PER_USER=off GAVEL_LIMIT_REGISTRATIONS_PER_ADDRESS=off \
  GAVEL_ADMIN=root:load-admin-password RUST_LOG=warn DATABASE_URL="sqlite://$DB/gavel.db" \
    "$BIN/gavel" --bind "$ADDR" >"$OUT/$1.server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://$ADDR/healthz" && return
    sleep 0.1
  done
  echo "the server for $1 did not start" >&2
  exit 1
}

stop() {
  kill "$SERVER"
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DB"
  SERVER=
}
# A failed step stops the script (set -e): no server is left behind.
trap '[ -n "${SERVER:-}" ] && stop' EXIT

# scenario NAME ARGS...: gavel-load against a fresh server; its report goes to OUT/NAME.txt.
scenario() {
  local name=$1
  shift
  serve "$name"
  "$BIN/gavel-load" --server "$ADDR" --pid "$SERVER" "$@" >"$OUT/$name.txt" 2>&1
  stop
  echo "== $name"
  grep -v '^{' "$OUT/$name.txt"
}

date -u +%FT%TZ >"$OUT/started"
"$BIN/gavel-floor" --sockets 19000 >"$OUT/floor-sockets.txt" 2>&1
tail -1 "$OUT/floor-sockets.txt"
sleep "$GAP"
scenario 1-sse --watchers 19000 --transport sse --bids 20 --interval-ms 250 --workers 2 --sources 8
sleep "$GAP"
# The same with the watchers' processes reading every millisecond rather than waking per frame.
scenario 1-sse-paced --watchers 19000 --transport sse --bids 20 --interval-ms 250 --workers 2 --sources 8 \
  --read-every-us 1000
sleep "$GAP"
scenario 2-longpoll --watchers 10000 --transport longpoll --bids 20 --interval-ms 250 --workers 2 --sources 8
sleep "$GAP"
scenario 3-many-lots --lots 1000 --watchers 15 --clients 16 --seconds 30 --interval-ms 2 --workers 2 --sources 8
sleep "$GAP"
scenario 6-limit --watchers 20500 --transport sse --bids 5 --workers 3 --sources 8
sleep "$GAP"
scenario 4a-bids --lots 100 --watchers 0 --clients 64 --seconds 30 --interval-ms 0
sleep 10
scenario 4b-hot-lot --lots 1 --watchers 0 --clients 64 --seconds 30 --interval-ms 0
sleep 10
# The same clients on one lot of a bare actix-web server: the HTTP floor under 4b.
"$BIN/gavel-floor" --hot-lot --clients 64 --seconds 30 >"$OUT/floor-hot-lot.txt" 2>&1
tail -1 "$OUT/floor-hot-lot.txt"
sleep 10

# 5: pages, against one server holding 100 open lots and one lot with 200 bids.
serve 5-pages
"$BIN/gavel-load" --server "$ADDR" --lots 100 --watchers 0 --clients 4 --bids 200 --interval-ms 0 >/dev/null
"$BIN/gavel-load" --server "$ADDR" --lots 1 --watchers 0 --clients 1 --bids 200 --interval-ms 0 >/dev/null
LOT=$(curl -sf "http://$ADDR/api/v1/lots?status=open" |
  python3 -c 'import json, sys; print(max(json.load(sys.stdin)["lots"], key=lambda l: l["bid_count"])["id"])')
echo "== 5a-front-page"
wrk -t2 -c64 -d15s --latency "http://$ADDR/" | tee "$OUT/5a-front-page.txt" | grep -E 'Requests/sec|  50%|  99%'
sleep 5
echo "== 5b-lot-page"
wrk -t2 -c64 -d15s --latency "http://$ADDR/lots/$LOT" | tee "$OUT/5b-lot-page.txt" | grep -E 'Requests/sec|  50%|  99%'
stop

"$BIN/gavel-floor" --seconds 10 >"$OUT/floor-storage.txt" 2>&1
tail -1 "$OUT/floor-storage.txt"
date -u +%FT%TZ >"$OUT/finished"
echo "reports in $OUT"
