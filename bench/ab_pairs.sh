# bench/ab_pairs.sh — sourced by lake_ab.sh and lake_pair.sh: the per-pair lines and the
# median of the new/old ratios. The sourcing script defines measure_pair I, which prints
# "OLD_RATE NEW_RATE" for pair I, and sets PAIRS.
ab_pairs() {
  local ratios=() i o n r
  for i in $(seq 1 "$PAIRS"); do
    read -r o n < <(measure_pair "$i")
    r=$(awk -v a="$o" -v b="$n" 'BEGIN { printf "%.3f", (a > 0 ? b / a : 0) }')
    ratios+=("$r")
    echo "pair $i: old $o, new $n spans per server CPU-second (new/old $r)"
  done
  printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "median new/old over %d pairs: %.3f (min %.3f, max %.3f)\n", NR, m, v[1], v[NR] }'
}
