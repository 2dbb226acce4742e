#!/usr/bin/env bash
# fwd_regions.sh — regions and data residency, from examples/two-regions/*.yaml:
# gateway-eu sends to bridge-eu (priority 0) and fails over to bridge-us (priority 1).
# Two loads run at once: tenant "default" (free to move) and tenant "eu-only" (pinned to
# eu). What it proves:
#   - while eu is healthy, nothing goes to us;
#   - kill bridge-eu: the gateway's first successful export to us follows within a second
#     (measured from the kill to the first item accepted by bridge-us);
#   - the pinned tenant never reaches us: it waits in the gateway's disk queue;
#   - restart bridge-eu: the gateway fails back (us stops receiving) and the pinned data
#     is delivered to eu;
#   - in the end every acknowledged span is stored exactly once, pinned ones only in eu.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fwd_lib.sh"
e2e_init fwd_regions
e2e_need_orasi
EX=$E2E_SRC/examples/two-regions

read -r GG GH GA EG EH EA UG UH UA <<<"$(e2e_free_ports 9)"
export GATEWAY_EU_DATA=$E2E_TMP/gw GATEWAY_EU_LISTEN=127.0.0.1 GATEWAY_EU_GRPC_PORT=$GG GATEWAY_EU_HTTP_PORT=$GH GATEWAY_EU_API_PORT=$GA
export BRIDGE_EU_DATA=$E2E_TMP/eu BRIDGE_EU_LISTEN=127.0.0.1 BRIDGE_EU_GRPC_PORT=$EG BRIDGE_EU_HTTP_PORT=$EH BRIDGE_EU_API_PORT=$EA
export BRIDGE_US_DATA=$E2E_TMP/us BRIDGE_US_LISTEN=127.0.0.1 BRIDGE_US_GRPC_PORT=$UG BRIDGE_US_HTTP_PORT=$UH BRIDGE_US_API_PORT=$UA
export BRIDGE_FLUSH_INTERVAL=1s BRIDGE_QUERY_MAX_ROWS=2000000

for f in agent gateway-eu gateway-us bridge-eu bridge-us; do
  out=$("$ORASI_BIN" config check "$EX/$f.yaml" 2>&1)
  e2e_check "orasi config check examples/two-regions/$f.yaml" "$EX/$f.yaml: ok" "$out"
done

fwd_start bridge-eu bridge "$EX/bridge-eu.yaml" "$EA"
fwd_start bridge-us bridge "$EX/bridge-us.yaml" "$UA"
fwd_start gateway gateway "$EX/gateway-eu.yaml" "$GA"

loadgen() { # TENANT DURATION ACKLOG JSON
  "$ORASI_BIN" loadgen --url "http://127.0.0.1:$GH" --tenant "$1" --rate 1500 --batch 30 \
    --connections 2 --duration "$2" --ack-log "$3" --quiet --json --timeout 30s >"$4" 2>"$4.err"
}
accepted() { fwd_metric "$1" orasi_otlp_accepted_items_total; }

loadgen default 14s "$E2E_TMP/acks-default.txt" "$E2E_TMP/lg-default.json" &
L1=$!
loadgen eu-only 14s "$E2E_TMP/acks-eu.txt" "$E2E_TMP/lg-eu.json" &
L2=$!
e2e_register_pid $L1
e2e_register_pid $L2
sleep 3
e2e_check "nothing sent to the lower-priority region while eu is healthy" 0 "$(accepted "$UA")"
e2e_check "region eu active" 1 "$(fwd_metric "$GA" orasi_forward_region_active region=eu)"

# lose the whole eu region
us_before=$(accepted "$UA")
t0=$(date +%s.%N)
fwd_kill bridge-eu
fo=$(python3 - "$UA" "$t0" "$us_before" <<'EOF'
import sys, time, urllib.request, re
port, t0, before = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
pat = re.compile(r'^orasi_otlp_accepted_items_total\{[^}]*\}\s+(\S+)', re.M)
end = time.time() + 5
while time.time() < end:
    try:
        txt = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
        if sum(float(v) for v in pat.findall(txt)) > before:
            print(f"{time.time() - t0:.3f}"); sys.exit(0)
    except Exception:
        pass
    time.sleep(0.005)
print("never")
EOF
)
e2e_log "failover: first export accepted by region us $fo s after the eu bridge died"
if [ "$fo" != never ] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)" "$fo"; then
  e2e_ok "failover to the next region in < 1 s ($fo s)"
else e2e_fail "failover to region us took ${fo} s"; fi
sleep 2.5
qb=$(fwd_metric "$GA" orasi_forward_queue_bytes)
if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "$qb"; then
  e2e_ok "pinned data waits in the gateway's queue while eu is down ($qb bytes)"
else e2e_fail "gateway queue empty while eu is down: where did the pinned data go?"; fi
fwd_spans "$UA" "$E2E_TMP/us-pinned-during.txt" eu-only
e2e_check "pinned tenant rows in region us while eu is down" 0 "$(wc -l <"$E2E_TMP/us-pinned-during.txt")"

# eu comes back: fail back (circuit half-open after breaker.open_for, one probe, closed),
# deliver the pinned backlog
fwd_start bridge-eu bridge "$EX/bridge-eu.yaml" "$EA"
sleep 3
us1=$(accepted "$UA")
sleep 2
us2=$(accepted "$UA")
e2e_check "failback: region us receives nothing more once eu is healthy" "$us1" "$us2"
wait $L1
wait $L2
for t in default eu; do
  e2e_check "loadgen ($t) requests failed" 0 \
    "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['requests']['failed'])" "$E2E_TMP/lg-$t.json")"
done
fwd_wait_drained 30 "$GA" || e2e_fail "gateway queue did not drain"

fwd_spans "$EA" "$E2E_TMP/eu-default.txt" default
fwd_spans "$UA" "$E2E_TMP/us-default.txt" default
fwd_spans "$EA" "$E2E_TMP/eu-pinned.txt" eu-only
fwd_spans "$UA" "$E2E_TMP/us-pinned.txt" eu-only
r=$(fwd_compare "$E2E_TMP/acks-default.txt" "$E2E_TMP/eu-default.txt" "$E2E_TMP/us-default.txt")
e2e_log "tenant default: $r (eu $(wc -l <"$E2E_TMP/eu-default.txt"), us $(wc -l <"$E2E_TMP/us-default.txt"))"
for k in missing dup extra; do
  e2e_check "tenant default across regions: $k" "$k=0" "$(tr ' ' '\n' <<<"$r" | grep "^$k=")"
done
r=$(fwd_compare "$E2E_TMP/acks-eu.txt" "$E2E_TMP/eu-pinned.txt")
e2e_log "tenant eu-only: $r"
for k in missing dup extra; do
  e2e_check "pinned tenant, all in eu: $k" "$k=0" "$(tr ' ' '\n' <<<"$r" | grep "^$k=")"
done
e2e_check "pinned tenant rows ever stored in us" 0 "$(wc -l <"$E2E_TMP/us-pinned.txt")"
if [ "$(wc -l <"$E2E_TMP/us-default.txt")" -gt 0 ]; then e2e_ok "the free tenant used region us during the outage"
else e2e_fail "no failover traffic reached region us"; fi

fwd_term gateway
fwd_term bridge-eu
fwd_term bridge-us
e2e_done
