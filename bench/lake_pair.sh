#!/usr/bin/env bash
# bench/lake_pair.sh — two builds ingesting into the Parquet lake at the same time.
#
#   bench/lake_pair.sh OLD_ORASI NEW_ORASI [PAIRS] [SECONDS]
#
# bench/lake_ab.sh alternates whole runs, so each build meets a different phase of the
# VM's drifting speed (±15 % minute to minute). Here both servers run at once, pinned to
# the same core (CPU 0), each loaded by its own loadgen on CPU 1 (--rate max, 8
# connections, BENCH_LAKE_BATCH spans per request, default 512) for SECONDS (default 10)
# after a 3 s warm-up: both see the same machine, and each one's spans per server
# CPU-second (rows published ÷ its process CPU time, read after its buffers drained) is
# compared with the other's. The two servers alternate places (which starts first, which
# ports) from pair to pair, since the second one measures ~1 % higher. Prints one line
# per pair and the median of the per-pair ratios new/old; a ratio resolves ~2 %.
# The absolute figures are lower than scenario 4's (two servers share the core).
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,16p' "$0"; exit 2; }
OLD=$1 NEW=$2 PAIRS=${3:-4} SECS=${4:-10} BATCH=${BENCH_LAKE_BATCH:-512}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/orasi-pair.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

metric() { # api_port name — sum of a metric's series
  curl -s "http://127.0.0.1:$1/metrics" |
    awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%.0f\n", s }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
drain() { # api_port — wait until every buffered row is published
  for _ in $(seq 1200); do [ "$(metric "$1" orasi_lake_rows_buffered)" = 0 ] && return; sleep 0.1; done
  echo "buffers did not drain on port $1" >&2; exit 1
}
serve() { # bin port_base dir — start a server on CPU 0; prints its pid
  taskset -c 0 "$1" run --listen 127.0.0.1 --otlp-grpc-port "$2" --otlp-http-port $(($2 + 1)) \
    --api-port $(($2 + 2)) --data-dir "$3" --workers 1 --log-level warn >"$3.log" 2>&1 &
  echo $!
}
load() { # bin http_port duration seed
  taskset -c 1 "$1" loadgen --url "http://127.0.0.1:$2" --protocol http/protobuf --rate max \
    --duration "$3" --connections 8 --batch "$BATCH" --quiet --json --seed "$4" >/dev/null
}
one() { # bin_a bin_b — prints "rate_a rate_b"
  local pa pb p
  pa=$(serve "$1" 25317 "$TMP/a") && PIDS+=("$pa")
  pb=$(serve "$2" 26317 "$TMP/b") && PIDS+=("$pb")
  for p in 25319 26319; do
    for _ in $(seq 200); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/ready" && break; sleep 0.1; done
  done
  load "$1" 25318 3s 7 & load "$1" 26318 3s 7 & wait
  drain 25319; drain 26319
  local a0 b0 ra0 rb0 a1 b1 ra1 rb1
  a0=$(cpu_ticks "$pa"); b0=$(cpu_ticks "$pb")
  ra0=$(metric 25319 orasi_lake_rows_total); rb0=$(metric 26319 orasi_lake_rows_total)
  load "$1" 25318 "${SECS}s" 1 & load "$1" 26318 "${SECS}s" 1 & wait
  drain 25319; drain 26319
  a1=$(cpu_ticks "$pa"); b1=$(cpu_ticks "$pb")
  ra1=$(metric 25319 orasi_lake_rows_total); rb1=$(metric 26319 orasi_lake_rows_total)
  kill "$pa" "$pb"; wait "$pa" "$pb" 2>/dev/null || true
  PIDS=()
  rm -rf "$TMP/a" "$TMP/b" "$TMP/a.log" "$TMP/b.log"
  local hz; hz=$(getconf CLK_TCK)
  awk -v ra=$((ra1 - ra0)) -v rb=$((rb1 - rb0)) -v ca=$((a1 - a0)) -v cb=$((b1 - b0)) -v hz="$hz" \
    'BEGIN { printf "%.0f %.0f\n", ra / (ca / hz), rb / (cb / hz) }'
}
measure_pair() { # i — both servers at once, swapping places every other pair
  local o n
  if [ $(($1 % 2)) = 1 ]; then read -r o n < <(one "$OLD" "$NEW"); else read -r n o < <(one "$NEW" "$OLD"); fi
  echo "$o $n"
}
. "$(cd "$(dirname "$0")" && pwd)/ab_pairs.sh"
ab_pairs
