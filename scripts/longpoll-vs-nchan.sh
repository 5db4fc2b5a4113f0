#!/usr/bin/env bash
# Long polling side by side (issue: Comet for every client, item 4): the same independent load
# client (../shared/cometload) against Nchan, a bare actix-web poller (the framework's floor,
# `gavel-floor --serve-pollers`) and Gavel, interleaved in one run: N pollers of one channel/lot,
# M publishes (bids for Gavel) INTERVAL ms apart. Needs `cargo build --release`, cometload built
# into target/cometload, and Debian's nginx-light with libnginx-mod-nchan. Prints a table of
# every run at the end (from OUT/runs.jsonl).
#
#   scripts/longpoll-vs-nchan.sh [OUT] [ROUNDS]
#   ONLY="gavel" scripts/longpoll-vs-nchan.sh OUT 1     # a subset, in this order (of nchan,
#                                                       # nchanev, floor, gavel, gavelnext,
#                                                       # gavelnext1, nchansse, gavelsse,
#                                                       # sockets)
#   GAVEL_BIN=path/to/gavel FLOOR_BIN=path/to/gavel-floor …  # other builds
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
GAVEL=127.0.0.1:8093
BID_BODY=(--content-type application/json --body '{"amount_cents":{n}}'
  --value-base 0 --value-step 100000 --match-prefix '"amount_cents":')

# Nchan as cometload publishes to it by default (a ~20-byte body), and `nchanev`: the same with
# a body the size of Gavel's bid event (~870 bytes), so that both servers move the same bytes.
nchan() { nchan_run nchan "$1"; }
nchanev() {
  local pad
  pad=$(printf 'x%.0s' $(seq 800))
  nchan_run nchanev "$1" --body "{\"amount_cents\":{n},\"pad\":\"$pad\"}" --match-prefix '"amount_cents":'
}
# Nchan's SSE (`/sub/<ch>`), the broadcaster Gavel's SSE is held against.
nchansse() {
  local label=nchansse-$1 pids workers
  pids=$("$NCHANCTL" start 1)
  workers=${pids#* }
  sleep 1
  "$LOAD" sse "${COMMON[@]}" \
    --url 'http://127.0.0.1:8091/sub/r{run}' --pub-url 'http://127.0.0.1:8091/pub/r{run}' \
    --server-pid "$workers" --label "$label" --json-out "$OUT/runs.jsonl" >"$OUT/$label.txt" 2>&1 || true
  "$NCHANCTL" stop >/dev/null
  echo "== $label"; grep -v '^{' "$OUT/$label.txt" | tail -12
}

nchan_run() {
  local label=$1-$2 pids workers
  shift 2
  pids=$("$NCHANCTL" start 1)
  workers=${pids#* }
  sleep 1
  "$LOAD" longpoll "${COMMON[@]}" --http-cache-cursor "$@" \
    --url 'http://127.0.0.1:8091/lp/r{run}' --pub-url 'http://127.0.0.1:8091/pub/r{run}' \
    --server-pid "$workers" --label "$label" --json-out "$OUT/runs.jsonl" >"$OUT/$label.txt" 2>&1 || true
  "$NCHANCTL" stop >/dev/null
  echo "== $label"; grep -v '^{' "$OUT/$label.txt" | tail -12
}

floor() {
  local addr=127.0.0.1:8094 pid
  "${FLOOR_BIN:-target/release/gavel-floor}" --serve-pollers "$addr" >"$OUT/floor-$1.server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://$addr/poll" && break; sleep 0.1; done
  "$LOAD" longpoll "${COMMON[@]}" \
    --url "http://$addr/poll?after={cursor}&timeout=25" --initial-cursor 0 \
    --cursor-path cursor --events-path events \
    --pub-url "http://$addr/pub" --content-type application/json \
    --body '{"amount_cents":{n}}' --value-base 0 --value-step 100000 --match-prefix '"amount_cents":' \
    --server-pid "$pid" --label "floor-$1" --json-out "$OUT/runs.jsonl" >"$OUT/floor-$1.txt" 2>&1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "== floor $1"; grep -v '^{' "$OUT/floor-$1.txt" | tail -12
}

# Starts Gavel on a fresh database with one open lot; sets pid, lot and bidder.
gavel_up() {
  local db admin seller
  db=$(mktemp -d)
  GAVEL_LIMIT_BIDS_PER_USER=off GAVEL_LIMIT_REGISTRATIONS_PER_ADDRESS=off \
  GAVEL_ADMIN=root:load-admin-password RUST_LOG=warn DATABASE_URL="sqlite://$db/gavel.db" \
    "${GAVEL_BIN:-target/release/gavel}" --bind "$GAVEL" >"$OUT/$1.server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://$GAVEL/healthz" && break; sleep 0.1; done
  admin=$(api /api/v1/tokens '{"username":"root","password":"load-admin-password"}' | field '["token"]')
  api /api/v1/users '{"username":"sam","password":"load-password","role":"seller"}' >/dev/null
  api /api/v1/users '{"username":"bea","password":"load-password"}' >/dev/null
  seller=$(api /api/v1/tokens '{"username":"sam","password":"load-password"}' | field '["token"]')
  bidder=$(api /api/v1/tokens '{"username":"bea","password":"load-password"}' | field '["token"]')
  lot=$(api /api/v1/lots '{"title":"Load","starting_price_cents":100,"duration_secs":86400}' "$seller" | field '["id"]')
  api "/api/v1/lots/$lot/approve" '{}' "$admin" >/dev/null
}
api() { curl -sf -X POST -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$2" "http://$GAVEL$1"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

gavel() {
  local pid lot bidder cursor
  gavel_up "gavel-$1"
  cursor=$(curl -sf "http://$GAVEL/lots/$lot/poll?timeout=0" | field '["cursor"]')
  "$LOAD" longpoll "${COMMON[@]}" \
    --url "http://$GAVEL/lots/$lot/poll?after={cursor}&timeout=25" --initial-cursor "$cursor" \
    --cursor-path cursor --events-path events \
    --pub-url "http://$GAVEL/api/v1/lots/$lot/bids" --pub-header "Authorization: Bearer $bidder" \
    "${BID_BODY[@]}" \
    --server-pid "$pid" --label "gavel-$1" --json-out "$OUT/runs.jsonl" >"$OUT/gavel-$1.txt" 2>&1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "== gavel $1"; grep -v '^{' "$OUT/gavel-$1.txt" | tail -12
}

# Gavel in Nchan's own long-poll protocol (`/lots/{id}/next`: one event per answer, the cursor
# in ETag / If-None-Match), so the client does for Gavel exactly what it does for Nchan.
gavelnext() {
  local pid lot bidder
  gavel_up "next-$1"
  "$LOAD" longpoll "${COMMON[@]}" --http-cache-cursor \
    --url "http://$GAVEL/lots/$lot/next?timeout=25" \
    --pub-url "http://$GAVEL/api/v1/lots/$lot/bids" --pub-header "Authorization: Bearer $bidder" \
    "${BID_BODY[@]}" \
    --server-pid "$pid" --label "next-$1" --json-out "$OUT/runs.jsonl" >"$OUT/next-$1.txt" 2>&1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "== gavel next $1"; grep -v '^{' "$OUT/next-$1.txt" | tail -12
}

# The same on one worker thread, as the Nchan beside it runs one worker process.
gavelnext1() { GAVEL_WORKERS=1 gavelnext "w1-$1"; }

# Gavel's SSE on the same work, and the kernel's floor under it (`gavel-floor --sockets`:
# a frame of the event's size written to as many held loopback connections, no HTTP).
gavelsse() {
  local pid lot bidder
  gavel_up "sse-$1"
  "$LOAD" sse "${COMMON[@]}" --url "http://$GAVEL/lots/$lot/events" \
    --pub-url "http://$GAVEL/api/v1/lots/$lot/bids" --pub-header "Authorization: Bearer $bidder" \
    "${BID_BODY[@]}" \
    --server-pid "$pid" --label "sse-$1" --json-out "$OUT/runs.jsonl" >"$OUT/sse-$1.txt" 2>&1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "== sse $1"; grep -v '^{' "$OUT/sse-$1.txt" | tail -12
}

sockets() {
  "${FLOOR_BIN:-target/release/gavel-floor}" --sockets "$N" --rounds "$M" --interval-ms "$INTERVAL" \
    --frame-bytes 1000 | tee -a "$OUT/sockets.jsonl"
}

date -u +%FT%TZ >"$OUT/started"
for r in $(seq "$ROUNDS"); do
  for server in ${ONLY:-nchan nchanev floor gavel gavelnext nchansse gavelsse sockets}; do
    "$server" "$r"
    sleep "${PAUSE:-65}"   # TIME_WAIT from 10,000 sockets
  done
done
python3 - "$OUT/runs.jsonl" <<'TABLE'
import json, sys
print(f"{'run':<10} {'delivered':>9} {'missing':>7} {'dup':>4} {'p50':>6} {'p99':>6} {'max':>6} "
      f"{'us/deliv':>8} {'B/poller':>8} {'B held':>7} {'busy':>5}")
for line in open(sys.argv[1]):
    r = json.loads(line)
    lat, srv = r["latency_ms"] or {}, r["server"] or {}
    f = lambda v, d=0: "-" if v is None else f"{v:.{d}f}"
    print(f"{r['label']:<10} {r['delivered']:>9} {r['missing']:>7} {r['duplicates']:>4} "
          f"{f(lat.get('p50')):>6} {f(lat.get('p99')):>6} {f(lat.get('max')):>6} "
          f"{f(srv.get('cpu_us_per_delivery'), 1):>8} {f(srv.get('bytes_per_conn')):>8} "
          f"{f(srv.get('bytes_per_conn_end')):>7} {f(r['machine_busy']['fanout'], 2):>5}")
TABLE
