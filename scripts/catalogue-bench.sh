#!/usr/bin/env bash
# The catalogue benchmarks of BENCHMARKS.md: `/` with 10,000 lots (plain, and a search with a
# category filter), image bytes at their content address (200) and revalidated (304), each
# beside the framework's floor (a static file from memory) measured in the same rounds.
# wrk is the client (64 connections, 2 threads); traffic stays on loopback.
#
#   scripts/catalogue-bench.sh [ROUNDS]       (env: SECS per measurement, default 15)
#
# Needs release builds of gavel and gavel-seed in target/release (or GAVEL=, SEED=) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${SECS:-15}
GAVEL=${GAVEL:-target/release/gavel}
SEED=${SEED:-target/release/gavel-seed}
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
  measure image "$IMAGE"
  measure image-304 "$IMAGE" "If-None-Match: $etag"
done
