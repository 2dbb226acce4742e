#!/usr/bin/env bash
# fwd_dedupe.sh — idempotent batches at a bridge, with curl as the "forwarder": the same
# OTLP/HTTP request sent again with the same X-Orasi-Batch id is acknowledged but stored
# once; a batch whose ids are partly known is refused with 409; and the ids survive a
# kill -9 both while still only in the write-ahead log and after the lake published them
# and the WAL was checkpointed (snapshot file). Rows are counted with SQL at the bridge.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fwd_lib.sh"
e2e_init fwd_dedupe
e2e_need_orasi
BODY=$E2E_SRC/fuzz/corpus/fwd/own-traces.bin
[ -f "$BODY" ] || e2e_die "missing $BODY"

read -r G H A <<<"$(e2e_free_ports 3)"
cat >"$E2E_TMP/bridge.yaml" <<EOF
data_dir: $E2E_TMP/b
receivers: {otlp: {listen: 127.0.0.1, grpc_port: $G, http_port: $H}}
api: {listen: 127.0.0.1, port: $A}
lake: {flush_interval: 1s}
EOF
post() { # BATCH-ID -> HTTP status
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/x-protobuf' \
    -H "X-Orasi-Batch: $1" --data-binary "@$BODY" "http://127.0.0.1:$H/v1/traces"
}
rows() {
  "$ORASI_BIN" query --url "http://127.0.0.1:$A" --format csv --timeout 30 \
    "select count(*) from traces" | tail -1 | tr -d '\r '
}

fwd_start bridge bridge "$E2E_TMP/bridge.yaml" "$A"
e2e_check "first delivery of gw:1.0" 200 "$(post gw:1.0)"
k=$(rows)
if [ "$k" -gt 0 ]; then e2e_ok "the request holds $k spans"; else e2e_die "no rows after the first post"; fi
e2e_check "replay of gw:1.0 acknowledged" 200 "$(post gw:1.0)"
e2e_check "rows after the replay" "$k" "$(rows)"
e2e_check "replays counted" 1 "$(fwd_metric "$A" orasi_dedupe_batches_total result=replay)"
e2e_check "partly known ids: 409" 409 "$(post gw:1.0,2.0)"
e2e_check "rows after the 409" "$k" "$(rows)"
e2e_check "another origin with the same numbers is new" 200 "$(post other:1.0)"
e2e_check "gw:2.0 is new" 200 "$(post gw:2.0)"
e2e_check "rows" "$((3 * k))" "$(rows)"

# crash while the ids are only in the WAL (the lake has not flushed yet: 1 s interval)
fwd_kill bridge
fwd_start bridge bridge "$E2E_TMP/bridge.yaml" "$A"
e2e_check "after kill -9: replay of gw:2.0 acknowledged" 200 "$(post gw:2.0)"
e2e_check "after kill -9: rows unchanged (ids rebuilt from the WAL)" "$((3 * k))" "$(rows)"

# let the lake publish and checkpoint the WAL, then crash: ids come from the snapshot
sleep 3
[ -f "$E2E_TMP/b/dedupe.state" ] && e2e_ok "dedupe snapshot written before the WAL checkpoint" \
  || e2e_fail "no dedupe.state after a flush"
fwd_kill bridge
fwd_start bridge bridge "$E2E_TMP/bridge.yaml" "$A"
for id in gw:1.0 gw:2.0 other:1.0; do
  e2e_check "after publish + kill -9: replay of $id acknowledged" 200 "$(post "$id")"
done
e2e_check "after publish + kill -9: rows unchanged" "$((3 * k))" "$(rows)"
e2e_check "a malformed id is the client's error" 400 "$(post 'gw:1.x')"
fwd_term bridge
e2e_done
