#!/usr/bin/env bash
# tests/e2e/loadgen.sh — issue 7: `orasi loadgen` against a real `orasi run`, once per
# protocol (HTTP/protobuf, HTTP/JSON, gRPC), all three signals: the items the load
# generator reports as acknowledged equal the server's orasi_otlp_accepted_items_total
# (per signal and protocol), and the ack log holds exactly that many unique ids.
# Also: the rate is held, a dead endpoint is reported (exit 1, connection errors).
source "$(dirname "$0")/lib.sh"
e2e_init loadgen
e2e_need_orasi

# json_get FILE KEY.PATH — a value from the loadgen --json summary.
json_get() {
  python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$1" "$2"
}

e2e_start_orasi

declare -A LABEL=([http/protobuf]=http_protobuf [http/json]=http_json [grpc]=grpc)
for proto in http/protobuf http/json grpc; do
  tag=${LABEL[$proto]}
  if [ "$proto" = grpc ]; then url=http://127.0.0.1:$GRPC_PORT; else url=$OTLP_HTTP_URL; fi
  ack=$E2E_TMP/ack-$tag.log
  sum=$E2E_TMP/summary-$tag.json
  st=0
  "$ORASI_BIN" loadgen --url "$url" --protocol "$proto" --duration 3s --rate 2000 \
    --signal all --connections 4 --ack-log "$ack" --json --quiet >"$sum" 2>"$E2E_TMP/lg-$tag.err" || st=$?
  e2e_check "$proto: loadgen exit status" 0 "$st"
  if [ "$st" -ne 0 ]; then cat "$E2E_TMP/lg-$tag.err" >&2; continue; fi
  acked=$(json_get "$sum" items.acked)
  sent=$(json_get "$sum" items.sent)
  e2e_check "$proto: every item sent was acknowledged" "$sent" "$acked"
  # 2000 items/s for 3 s in batches of 100: 60 requests (+1 for the first token)
  reqs=$(json_get "$sum" requests.sent)
  if [ "$reqs" -ge 57 ] && [ "$reqs" -le 63 ]; then e2e_ok "$proto: rate held ($reqs requests in 3 s)"
  else e2e_fail "$proto: $reqs requests in 3 s at 2000 items/s, batch 100 (want ~60)"; fi
  e2e_check "$proto: no failed requests" 0 "$(json_get "$sum" requests.failed)"
  for sig in traces metrics logs; do
    want=$(json_get "$sum" "items.acked_$sig")
    got=$(e2e_wait_metric 5 "$want" orasi_otlp_accepted_items_total signal=$sig protocol=$tag)
    e2e_check "$proto: $sig acknowledged by loadgen = accepted by the server" "$want" "$got"
    if [ "$want" -le 0 ]; then e2e_fail "$proto: no $sig were sent"; fi
  done
  lines=$(wc -l <"$ack")
  uniq=$(sort -u "$ack" | wc -l)
  e2e_check "$proto: ack log lines = items acknowledged" "$acked" "$lines"
  e2e_check "$proto: ack log lines are unique" "$lines" "$uniq"
  # each line is a span '<32 hex> <16 hex>' or a log/metric id '<16 hex>'
  bad=$(grep -cvE '^([0-9a-f]{32} [0-9a-f]{16}|[0-9a-f]{16})$' "$ack" || true)
  e2e_check "$proto: ack log lines are well formed" 0 "$bad"
done

# ids never repeat across runs either (each run has its own seed)
all=$(cat "$E2E_TMP"/ack-*.log | wc -l)
alluniq=$(cat "$E2E_TMP"/ack-*.log | sort -u | wc -l)
e2e_check "ack logs of all runs together are unique" "$all" "$alluniq"

# The text summary is for people; check it names the essentials.
out=$("$ORASI_BIN" loadgen --url "$OTLP_HTTP_URL" --duration 500ms --rate max --batch 10 \
  --connections 2 --quiet 2>&1); st=$?
e2e_check "loadgen --rate max exit status" 0 "$st"
for word in requests items latency throughput p99; do
  if grep -q "$word" <<<"$out"; then e2e_ok "text summary shows '$word'"
  else e2e_fail "text summary lacks '$word': $out"; fi
done

e2e_stop_orasi

# Nothing listening: nothing acknowledged, connection errors counted, exit status 1.
read -r dead < <(e2e_free_ports 1)
st=0
"$ORASI_BIN" loadgen --url "http://127.0.0.1:$dead" --duration 500ms --json --quiet \
  >"$E2E_TMP/dead.json" 2>/dev/null || st=$?
e2e_check "loadgen against a closed port exits 1" 1 "$st"
e2e_check "nothing acknowledged from a closed port" 0 "$(json_get "$E2E_TMP/dead.json" items.acked)"
errs=$(json_get "$E2E_TMP/dead.json" errors.connection)
if [ "$errs" -gt 0 ]; then e2e_ok "connection errors reported ($errs)"
else e2e_fail "no connection errors reported against a closed port"; fi

st=0
"$ORASI_BIN" loadgen --bogus >/dev/null 2>&1 || st=$?
e2e_check "unknown option exits 2" 2 "$st"

e2e_done
