#!/usr/bin/env bash
# fwd_chain.sh — agent -> gateway -> two bridges, started from examples/one-region/*.yaml
# on loopback ports, under steady load from `orasi loadgen` (OTLP/HTTP, acknowledged
# spans written to an ack log). What it proves:
#   1. stable membership: every acknowledged span is in exactly one bridge's lake, once,
#      and all spans of a trace are on the same bridge (trace affinity by trace id);
#   2. chaos under load: kill -9 a bridge (the gateway's circuit opens within a second,
#      its share goes to the other bridge, it takes its share back after a restart),
#      then kill -9 the gateway for a while (the agent keeps accepting and buffers on
#      disk — /metrics shows queue bytes and the oldest item's age — and delivers
#      everything when the gateway is back). Afterwards: nothing acknowledged is missing,
#      no span is stored twice (idempotent batches), nothing unacknowledged appears.
# ORASI_LONG_TESTS=1 makes the chaos phase longer (gateways away for a minute).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fwd_lib.sh"
e2e_init fwd_chain
e2e_need_orasi
EX=$E2E_SRC/examples/one-region
LONG=${ORASI_LONG_TESTS:-0}

read -r AG AH AA GG GH GA B1G B1H B1A B2G B2H B2A <<<"$(e2e_free_ports 12)"
export AGENT_DATA=$E2E_TMP/agent AGENT_LISTEN=127.0.0.1 AGENT_GRPC_PORT=$AG AGENT_HTTP_PORT=$AH AGENT_API_PORT=$AA
export GATEWAY_DATA=$E2E_TMP/gw GATEWAY_LISTEN=127.0.0.1 GATEWAY_GRPC_PORT=$GG GATEWAY_HTTP_PORT=$GH GATEWAY_API_PORT=$GA
export BRIDGE1_DATA=$E2E_TMP/b1 BRIDGE1_LISTEN=127.0.0.1 BRIDGE1_GRPC_PORT=$B1G BRIDGE1_HTTP_PORT=$B1H BRIDGE1_API_PORT=$B1A
export BRIDGE2_DATA=$E2E_TMP/b2 BRIDGE2_LISTEN=127.0.0.1 BRIDGE2_GRPC_PORT=$B2G BRIDGE2_HTTP_PORT=$B2H BRIDGE2_API_PORT=$B2A
export BRIDGE_FLUSH_INTERVAL=1s BRIDGE_QUERY_MAX_ROWS=2000000
# the agent talks OTLP/gRPC to the gateway (its HTTP port serves gRPC too), the gateway
# OTLP/HTTP to the bridges: both exporters are on the path
export AGENT_EXPORTER_PROTOCOL=grpc

for f in agent gateway bridge-1 bridge-2; do
  out=$("$ORASI_BIN" config check "$EX/$f.yaml" 2>&1)
  e2e_check "orasi config check examples/one-region/$f.yaml" "$EX/$f.yaml: ok" "$out"
done

fwd_start bridge-1 bridge "$EX/bridge-1.yaml" "$B1A"
fwd_start bridge-2 bridge "$EX/bridge-2.yaml" "$B2A"
fwd_start gateway gateway "$EX/gateway.yaml" "$GA"
fwd_start agent agent "$EX/agent.yaml" "$AA"

loadgen() { # DURATION ACKLOG JSONOUT
  "$ORASI_BIN" loadgen --url "http://127.0.0.1:$AH" --rate 3000 --batch 50 --connections 4 \
    --duration "$1" --ack-log "$2" --quiet --json --timeout 30s >"$3" 2>"$3.err"
}
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'d': d}))" "$@"; }

# ---- 1. stable membership --------------------------------------------------------------
loadgen 4s "$E2E_TMP/acks1.txt" "$E2E_TMP/lg1.json"
e2e_check "phase 1: loadgen requests failed" 0 "$(json_get "$E2E_TMP/lg1.json" "d['requests']['failed']")"
fwd_wait_drained 20 "$AA" "$GA" || e2e_fail "phase 1: queues did not drain in 20 s"
fwd_spans "$B1A" "$E2E_TMP/s1a.txt"
fwd_spans "$B2A" "$E2E_TMP/s1b.txt"
r=$(fwd_compare "$E2E_TMP/acks1.txt" "$E2E_TMP/s1a.txt" "$E2E_TMP/s1b.txt")
e2e_log "phase 1: $r"
for k in missing dup extra cross; do
  e2e_check "phase 1 (stable): $k" "$k=0" "$(tr ' ' '\n' <<<"$r" | grep "^$k=")"
done
n1=$(wc -l <"$E2E_TMP/s1a.txt"); n2=$(wc -l <"$E2E_TMP/s1b.txt")
if [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]; then e2e_ok "both bridges got a share ($n1 / $n2 spans)"
else e2e_fail "one bridge got nothing ($n1 / $n2)"; fi
e2e_check "agent enrichment: host.name on every span's resource" 0 \
  "$("$ORASI_BIN" query --url "http://127.0.0.1:$B1A" --format csv "select count(*) from traces where ResourceAttributes['host.name'] is null" | tail -1 | tr -d '\r ')"

# ---- 1b. an OpenTelemetry SDK -> agent -> gateway -> bridges, queried at the bridges ------
if command -v node >/dev/null && [ -d "$E2E_DIR/node_modules/@opentelemetry" ]; then
  if node "$E2E_DIR/otel_send.mjs" send --grpc "http://127.0.0.1:$AG" --http "http://127.0.0.1:$AH" \
       --api "http://127.0.0.1:$AA" --spans 60 --logs 60 --protocols http/protobuf,grpc \
       >"$E2E_TMP/sdk.log" 2>&1; then
    e2e_ok "OpenTelemetry JS SDK exports to the agent succeeded (counts match at the agent)"
  else
    cat "$E2E_TMP/sdk.log" >&2
    e2e_fail "OpenTelemetry JS SDK run against the agent reported mismatches"
  fi
  fwd_wait_drained 20 "$AA" "$GA" || e2e_fail "SDK data: queues did not drain"
  for sig in traces logs; do
    want=$(grep -E "^\[otel_send\] ok [^ ]+ $sig \(" "$E2E_TMP/sdk.log" | sed 's/.*= exported //' \
           | python3 -c "import sys; print(sum(int(x) for x in sys.stdin.read().split()))")
    got=0
    for p in "$B1A" "$B2A"; do
      n=$("$ORASI_BIN" query --url "http://127.0.0.1:$p" --format csv \
            "select count(*) from $sig where ServiceName like 'orasi-e2e-%'" | tail -1 | tr -d '\r ')
      got=$((got + n))
    done
    e2e_check "SDK $sig exported to the agent = rows queryable at the bridges" "$want" "$got"
  done
else
  e2e_log "node modules missing: skipping the SDK check (scripts/setup --test)"
fi

# ---- 2. chaos under steady load ----------------------------------------------------------
if [ "$LONG" = 1 ]; then DUR=90s; GW_AWAY=60; else DUR=20s; GW_AWAY=5; fi
loadgen "$DUR" "$E2E_TMP/acks2.txt" "$E2E_TMP/lg2.json" &
LG=$!
e2e_register_pid $LG
sleep 2

# kill a bridge: the gateway notices within a second
t0=$(date +%s.%N)
fwd_kill bridge-1
notice=$(fwd_poll_metric "$GA" "$t0" 5 1 orasi_forward_upstream_state upstream=bridge-1)
e2e_log "gateway opened the circuit of bridge-1 ${notice:-never} s after the kill"
if [ "$notice" != never ] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)" "$notice"; then
  e2e_ok "gateway noticed the dead bridge in < 1 s ($notice s)"
else e2e_fail "gateway did not notice the dead bridge within 1 s (${notice:-never})"; fi
b2_before=$(fwd_metric "$GA" orasi_forward_items_total upstream=bridge-2)
sleep 2
b2_after=$(fwd_metric "$GA" orasi_forward_items_total upstream=bridge-2)
e2e_log "bridge-2 took $(python3 -c "print(int($b2_after-$b2_before))") spans in 2 s while bridge-1 was down"
fwd_start bridge-1 bridge "$EX/bridge-1.yaml" "$B1A"
b1_back=$(fwd_metric "$GA" orasi_forward_items_total upstream=bridge-1)
sleep 3
b1_later=$(fwd_metric "$GA" orasi_forward_items_total upstream=bridge-1)
if python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) > float(sys.argv[1]) else 1)" "$b1_back" "$b1_later"; then
  e2e_ok "bridge-1 takes its share back after the restart ($b1_back -> $b1_later)"
else e2e_fail "bridge-1 got nothing after its restart ($b1_back -> $b1_later)"; fi

# stop every gateway: the agent keeps accepting, buffers on disk, then delivers
fwd_kill gateway
acked_before=$(fwd_metric "$AA" orasi_otlp_accepted_items_total)
sleep "$GW_AWAY"
qb=$(fwd_metric "$AA" orasi_forward_queue_bytes)
age=$(fwd_metric "$AA" orasi_forward_queue_oldest_age_seconds)
acked_during=$(fwd_metric "$AA" orasi_otlp_accepted_items_total)
e2e_log "gateway away ${GW_AWAY}s: agent queue $qb bytes, oldest item $age s, accepted $acked_before -> $acked_during"
if python3 -c "import sys; q,a,x,y=map(float,sys.argv[1:]); sys.exit(0 if q>0 and a>0.5 and y>x else 1)" "$qb" "$age" "$acked_before" "$acked_during"; then
  e2e_ok "agent kept accepting and buffered on disk while the gateway was away"
else e2e_fail "agent did not buffer (queue $qb bytes, age $age s, accepted $acked_before -> $acked_during)"; fi
e2e_check "agent /ready while its upstream is away" 200 "$(e2e_http_status "http://127.0.0.1:$AA/ready")"
fwd_start gateway gateway "$EX/gateway.yaml" "$GA"
wait $LG
e2e_check "phase 2: loadgen requests failed" 0 "$(json_get "$E2E_TMP/lg2.json" "d['requests']['failed']")"

fwd_wait_drained 60 "$AA" "$GA" || e2e_fail "phase 2: queues did not drain in 60 s"
e2e_check "agent queue empty after the gateway returned" 0 "$(fwd_metric "$AA" orasi_forward_queue_bytes)"
fwd_spans "$B1A" "$E2E_TMP/s2a.txt"
fwd_spans "$B2A" "$E2E_TMP/s2b.txt"
cat "$E2E_TMP/acks1.txt" "$E2E_TMP/acks2.txt" >"$E2E_TMP/acks.txt"
r=$(fwd_compare "$E2E_TMP/acks.txt" "$E2E_TMP/s2a.txt" "$E2E_TMP/s2b.txt")
e2e_log "after chaos: $r"
for k in missing dup extra; do
  e2e_check "after kills and restarts: $k" "$k=0" "$(tr ' ' '\n' <<<"$r" | grep "^$k=")"
done
e2e_log "replays dropped: bridges $(fwd_metric "$B1A" orasi_dedupe_batches_total result=replay)+$(fwd_metric "$B2A" orasi_dedupe_batches_total result=replay), gateway $(fwd_metric "$GA" orasi_forward_replays_dropped_total)"
e2e_check "dead-lettered items at the agent" 0 "$(fwd_metric "$AA" orasi_forward_dead_letter_items_total)"

fwd_term agent
fwd_term gateway
fwd_term bridge-1
fwd_term bridge-2
e2e_done
