#!/usr/bin/env bash
# The catalogue benchmarks of BENCHMARKS.md: `/` with 10,000 lots (plain, and a search with a
# category filter), image bytes at their content address (200) and revalidated (304), each
# beside the framework's floor (a static file from memory) measured in the same rounds.
# wrk is the client (64 connections, 2 threads); traffic stays on loopback.
#
#   scripts/catalogue-bench.sh [ROUNDS]       (env: SECS per measurement, default 15)
#
# A search is kept until the catalogue changes (any event), so `search+bids` asks the same while
# gavel-load bids on another lot 100 times a second: each bid is an event that drops every kept
# search, as busy bidding elsewhere on the site would.
#
# Needs release builds of gavel, gavel-seed and gavel-load in target/release (or GAVEL=, SEED=,
# LOAD=) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${SECS:-15}
GAVEL=${GAVEL:-target/release/gavel}
SEED=${SEED:-target/release/gavel-seed}
LOAD=${LOAD:-target/release/gavel-load}
ADDR=127.0.0.1:${PORT:-8380}
ulimit -n "$(ulimit -Hn)"
db=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$db"' EXIT
GAVEL_LIMIT_BIDS_PER_USER=off GAVEL_LIMIT_REGISTRATIONS_PER_ADDRESS=off \
GAVEL_ADMIN=root:load-admin-password RUST_LOG=warn DATABASE_URL="sqlite://$db/gavel.db" \
  "$GAVEL" --bind "$ADDR" >"$db/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://$ADDR/healthz" && break; sleep 0.1; done
eval "$("$SEED" --server "$ADDR" --lots "${LOTS:-10000}")"
hits=$(curl -s "http://$ADDR/api/v1/lots${SEARCH#/}&per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])' 2>/dev/null || echo "?")
echo "search $SEARCH matches $hits lots; image $IMAGE"
etag="\"$(basename "$IMAGE" .jpg)\""
sleep 5
measure() { # name path [header]
  local name=$1 path=$2 out
  if [ $# -ge 3 ]; then
    out=$(wrk -t2 -c64 -d"${SECS}s" --latency -H "$3" "http://$ADDR$path")
  else
    out=$(wrk -t2 -c64 -d"${SECS}s" --latency "http://$ADDR$path")
  fi
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  echo "$round $name $rps $p50 $p99 ${non2xx:-0}"
  sleep 3
}
echo "round measurement req/s p50 p99 non-2xx/3xx"
for round in $(seq "$ROUNDS"); do
  measure floor-static /static/favicon.svg
  measure index /
  measure search "$SEARCH"
  "$LOAD" --server "$ADDR" --lots 1 --watchers 0 --clients 1 --interval-ms 10 \
    --seconds "$((SECS + 2))" >"$db/bids-$round.txt" 2>&1 &
  bidder=$!
  sleep 1
  measure search+bids "$SEARCH"
  wait "$bidder" || true
  echo "   (bids meanwhile: $(tail -1 "$db/bids-$round.txt" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("bids_per_sec", "?"))' 2>/dev/null || echo '?')/s)"
  measure image "$IMAGE"
  measure image-304 "$IMAGE" "If-None-Match: $etag"
done
