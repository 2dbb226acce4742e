#!/usr/bin/env bash
# bench/lake_ab.sh — scenario 4 (ingest into the Parquet lake) for two builds, side by side.
#
#   bench/lake_ab.sh OLD_ORASI NEW_ORASI [PAIRS]
#
# On a shared VM the same binary measures ±15 % from one minute to the next, so a change
# is judged by alternating runs of the old and the new build (PAIRS pairs, default 4; one
# repetition of bench/run's lake scenario each, 100 spans per request unless
# BENCH_LAKE_BATCHES says otherwise) and comparing each pair. Prints one line per run and
# the median of the per-pair ratios new/old. Build the old one from a commit with e.g.
#   git worktree add /tmp/old <commit> && cmake -S /tmp/old -B /tmp/old/build -G Ninja \
#     -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build /tmp/old/build --target orasi
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,12p' "$0"; exit 2; }
OLD=$1 NEW=$2 PAIRS=${3:-4}
REPO=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/orasi-ab.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
run() { # run BIN OUT — one repetition of scenario 4; prints spans per server CPU-second
  BENCH_SCENARIOS=lake BENCH_REPS=1 BENCH_LAKE_BATCHES=${BENCH_LAKE_BATCHES:-100} \
    BENCH_SKIP_SQL=1 BENCH_SKIP_FWD=1 BENCH_OUT="$2" ORASI_BIN="$1" \
    "$REPO/bench/run" >"$2.log" 2>&1 || { echo "bench/run failed, see $2.log" >&2; exit 1; }
  sed -n 's/^| Ingest into Parquet[^|]*| \([0-9,]*\).*/\1/p' "$2" | tr -d ,
}
measure_pair() { # i — one run of each build
  local o n
  o=$(run "$OLD" "$TMP/old-$1.md")
  n=$(run "$NEW" "$TMP/new-$1.md")
  echo "$o $n"
}
. "$REPO/bench/ab_pairs.sh"
ab_pairs
