#!/usr/bin/env bash
# Long polling side by side (issue: Comet for every client, item 4): the same independent load
# client (../shared/cometload) against Nchan and Gavel, interleaved in one run: N pollers of one
# channel/lot, M publishes (bids for Gavel) INTERVAL ms apart. Needs a release build of Gavel,
# cometload built into target/cometload, and Debian's nginx-light with libnginx-mod-nchan.
#
#   scripts/longpoll-vs-nchan.sh [OUT] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-$(mktemp -d)}
ROUNDS=${2:-2}
N=${N:-10000}
M=${M:-20}
INTERVAL=${INTERVAL:-250}
LOAD=target/cometload/release/cometload
NCHANCTL=../shared/cometload/nchanctl.sh
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)"
COMMON=(-n "$N" --procs 2 --src-ips 8 -m "$M" --interval-ms "$INTERVAL")

nchan() {
  local pids workers
  pids=$("$NCHANCTL" start 1)
  workers=${pids#* }
  sleep 1
  "$LOAD" longpoll "${COMMON[@]}" --http-cache-cursor \
    --url 'http://127.0.0.1:8091/lp/r{run}' --pub-url 'http://127.0.0.1:8091/pub/r{run}' \
    --server-pid "$workers" --label "nchan-$1" --json-out "$OUT/runs.jsonl" >"$OUT/nchan-$1.txt" 2>&1 || true
  "$NCHANCTL" stop >/dev/null
  echo "== nchan $1"; grep -v '^{' "$OUT/nchan-$1.txt" | tail -12
}

gavel() {
  local db addr pid admin seller bidder lot cursor
  db=$(mktemp -d)
  addr=127.0.0.1:8093
  GAVEL_LIMIT_BIDS_PER_USER=off GAVEL_LIMIT_REGISTRATIONS_PER_ADDRESS=off \
  GAVEL_ADMIN=root:load-admin-password RUST_LOG=warn DATABASE_URL="sqlite://$db/gavel.db" \
    target/release/gavel --bind "$addr" >"$OUT/gavel-$1.server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://$addr/healthz" && break; sleep 0.1; done
  api() { curl -sf -X POST -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$2" "http://$addr$1"; }
  field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
  admin=$(api /api/v1/tokens '{"username":"root","password":"load-admin-password"}' | field '["token"]')
  api /api/v1/users '{"username":"sam","password":"load-password","role":"seller"}' >/dev/null
  api /api/v1/users '{"username":"bea","password":"load-password"}' >/dev/null
  seller=$(api /api/v1/tokens '{"username":"sam","password":"load-password"}' | field '["token"]')
  bidder=$(api /api/v1/tokens '{"username":"bea","password":"load-password"}' | field '["token"]')
  lot=$(api /api/v1/lots '{"title":"Load","starting_price_cents":100,"duration_secs":86400}' "$seller" | field '["id"]')
  api "/api/v1/lots/$lot/approve" '{}' "$admin" >/dev/null
  cursor=$(curl -sf "http://$addr/lots/$lot/poll?timeout=0" | field '["cursor"]')
  "$LOAD" longpoll "${COMMON[@]}" \
    --url "http://$addr/lots/$lot/poll?after={cursor}&timeout=25" --initial-cursor "$cursor" \
    --cursor-path cursor --events-path events \
    --pub-url "http://$addr/api/v1/lots/$lot/bids" --content-type application/json \
    --pub-header "Authorization: Bearer $bidder" \
    --body '{"amount_cents":{n}}' --value-base 0 --value-step 100000 --match-prefix '"amount_cents":' \
    --server-pid "$pid" --label "gavel-$1" --json-out "$OUT/runs.jsonl" >"$OUT/gavel-$1.txt" 2>&1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$db"
  echo "== gavel $1"; grep -v '^{' "$OUT/gavel-$1.txt" | tail -12
}

date -u +%FT%TZ >"$OUT/started"
for r in $(seq "$ROUNDS"); do
  nchan "$r"; sleep 65   # TIME_WAIT from 10,000 sockets
  gavel "$r"; sleep 65
done
