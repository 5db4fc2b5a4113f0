#!/usr/bin/env bash
# The sale benchmark of BENCHMARKS.md: a sale of 500 lots closing 1 s apart, each lot watched by
# 50 SSE streams (12,500 streams of two lots each), on a fresh server and database. Reports how
# late each lot closed against its time and whether every watcher got every close exactly once.
# Traffic stays on loopback. Takes about ten minutes (the sale itself runs 500 s).
#
#   scripts/sale-bench.sh [gavel-sale-bench flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
GAVEL=${GAVEL:-target/release/gavel}
BENCH=${BENCH:-target/release/gavel-sale-bench}
ADDR=127.0.0.1:${PORT:-8480}
ulimit -n "$(ulimit -Hn)"
db=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$db"' EXIT
GAVEL_ADMIN=root:load-admin-password RUST_LOG=warn DATABASE_URL="sqlite://$db/gavel.db" \
  GAVEL_LIMIT_REGISTRATIONS_PER_ADDRESS=off "$GAVEL" --bind "$ADDR" >"$db/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://$ADDR/healthz" && break; sleep 0.1; done
"$BENCH" --server "$ADDR" "$@"
