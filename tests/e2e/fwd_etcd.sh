#!/usr/bin/env bash
# fwd_etcd.sh — upstream membership from a real etcd (Debian etcd-server, started here on
# free loopback ports with a temporary data dir) through its v3 JSON gateway: bridges
# register themselves under a lease (bridge.register), the gateway reads and watches the
# prefix (forward.regions[].etcd). What it proves:
#   - two registered bridges appear at the gateway and both receive spans;
#   - a bridge that stops cleanly revokes its lease and leaves at once;
#   - a new bridge that registers appears and receives spans;
#   - a bridge killed with SIGKILL disappears when its lease expires (TTL 2 s);
#   - through all of it, every acknowledged span is stored exactly once.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fwd_lib.sh"
e2e_init fwd_etcd
e2e_need_orasi
command -v etcd >/dev/null || e2e_die "etcd not found (scripts/setup --test installs etcd-server)"

read -r EC EP GG GH GA B1G B1H B1A B2G B2H B2A B3G B3H B3A <<<"$(e2e_free_ports 14)"
ETCD=http://127.0.0.1:$EC
etcd --name t --data-dir "$E2E_TMP/etcd" --listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
  --listen-peer-urls "http://127.0.0.1:$EP" --initial-advertise-peer-urls "http://127.0.0.1:$EP" \
  --initial-cluster "t=http://127.0.0.1:$EP" >"$E2E_TMP/etcd.log" 2>&1 &
e2e_register_pid $!
for i in $(seq 1 100); do
  curl -sf -o /dev/null -X POST -d '{}' "$ETCD/v3/maintenance/status" && break
  sleep 0.1
done
curl -sf -o /dev/null -X POST -d '{}' "$ETCD/v3/maintenance/status" || e2e_die "etcd did not start"

bridge_cfg() { # N GRPC HTTP API
  cat >"$E2E_TMP/bridge-$1.yaml" <<EOF
data_dir: $E2E_TMP/b$1
receivers: {otlp: {listen: 127.0.0.1, grpc_port: $2, http_port: $3}}
api: {listen: 127.0.0.1, port: $4}
query: {max_rows: 2000000}
lake: {flush_interval: 1s}
bridge:
  register:
    etcd: [$ETCD]
    prefix: /orasi/bridges/eu/
    name: bridge-$1
    endpoint: http://127.0.0.1:$3
    health: http://127.0.0.1:$4/ready
    ttl: 2s
EOF
}
bridge_cfg 1 "$B1G" "$B1H" "$B1A"
bridge_cfg 2 "$B2G" "$B2H" "$B2A"
bridge_cfg 3 "$B3G" "$B3H" "$B3A"
cat >"$E2E_TMP/gateway.yaml" <<EOF
data_dir: $E2E_TMP/gw
receivers: {otlp: {listen: 127.0.0.1, grpc_port: $GG, http_port: $GH}}
api: {listen: 127.0.0.1, port: $GA}
forward:
  exporter: {protocol: http, compression: zstd}
  batch: {max_age: 50ms}
  balance: {traces: trace_id}
  regions:
    - name: eu
      etcd: {endpoints: [$ETCD], prefix: /orasi/bridges/eu/}
EOF
for f in bridge-1 gateway; do
  e2e_check "config check $f" "$E2E_TMP/$f.yaml: ok" "$("$ORASI_BIN" config check "$E2E_TMP/$f.yaml" 2>&1)"
done

members() { fwd_metric "$GA" orasi_forward_upstreams region=eu; }
wait_members() { # N TIMEOUT_S -> prints seconds waited or "never"
  local i
  for i in $(seq 1 $(($2 * 20))); do
    [ "$(members)" = "$1" ] && { echo "$((i * 50))ms"; return 0; }
    sleep 0.05
  done
  echo never
}
loadgen() { # DURATION ACKLOG
  "$ORASI_BIN" loadgen --url "http://127.0.0.1:$GH" --rate 2000 --batch 40 --connections 2 \
    --duration "$1" --ack-log "$2" --quiet --json --timeout 30s >"$2.json" 2>/dev/null
}

fwd_start bridge-1 bridge "$E2E_TMP/bridge-1.yaml" "$B1A"
fwd_start bridge-2 bridge "$E2E_TMP/bridge-2.yaml" "$B2A"
fwd_start gateway gateway "$E2E_TMP/gateway.yaml" "$GA"
e2e_check "gateway found both registered bridges" 1 "$([ "$(wait_members 2 5)" != never ] && echo 1)"
loadgen 3s "$E2E_TMP/a1.txt"
fwd_wait_drained 20 "$GA" || e2e_fail "gateway did not drain"
n1=$(fwd_metric "$GA" orasi_forward_items_total upstream=bridge-1)
n2=$(fwd_metric "$GA" orasi_forward_items_total upstream=bridge-2)
if python3 -c "import sys; sys.exit(0 if float(sys.argv[1])>0 and float(sys.argv[2])>0 else 1)" "$n1" "$n2"; then
  e2e_ok "both etcd members received spans ($n1 / $n2)"
else e2e_fail "an etcd member got nothing ($n1 / $n2)"; fi

fwd_term bridge-2
w=$(wait_members 1 3)
e2e_log "bridge-2 (clean stop, lease revoked) left the gateway's membership after $w"
e2e_check "a cleanly stopped bridge leaves at once" 1 "$([ "$w" != never ] && echo 1)"

fwd_start bridge-3 bridge "$E2E_TMP/bridge-3.yaml" "$B3A"
w=$(wait_members 2 5)
e2e_log "bridge-3 joined after $w"
e2e_check "a newly registered bridge appears" 1 "$([ "$w" != never ] && echo 1)"
loadgen 3s "$E2E_TMP/a2.txt"
fwd_wait_drained 20 "$GA" || e2e_fail "gateway did not drain"
n3=$(fwd_metric "$GA" orasi_forward_items_total upstream=bridge-3)
if python3 -c "import sys; sys.exit(0 if float(sys.argv[1])>0 else 1)" "$n3"; then
  e2e_ok "the new member received spans ($n3)"
else e2e_fail "the new member got nothing"; fi

fwd_kill bridge-3
w=$(wait_members 1 8)
e2e_log "bridge-3 (SIGKILL) left after its lease expired: $w"
e2e_check "a killed bridge disappears when its lease expires" 1 "$([ "$w" != never ] && echo 1)"
loadgen 2s "$E2E_TMP/a3.txt"
# bridge-3's data stays in its lake; bring it back (without registering) to count it
fwd_wait_drained 20 "$GA" || e2e_fail "gateway did not drain after bridge-3 left"
sed -i '/^bridge:/,$d' "$E2E_TMP/bridge-3.yaml"
fwd_start bridge-3 bridge "$E2E_TMP/bridge-3.yaml" "$B3A"
fwd_start bridge-2 bridge "$E2E_TMP/bridge-2.yaml" "$B2A"
cat "$E2E_TMP"/a[123].txt >"$E2E_TMP/acks.txt"
for n in 1 2 3; do
  p=B${n}A
  fwd_spans "${!p}" "$E2E_TMP/s$n.txt"
done
r=$(fwd_compare "$E2E_TMP/acks.txt" "$E2E_TMP/s1.txt" "$E2E_TMP/s2.txt" "$E2E_TMP/s3.txt")
e2e_log "membership changes: $r"
for k in missing dup extra; do
  e2e_check "through membership changes: $k" "$k=0" "$(tr ' ' '\n' <<<"$r" | grep "^$k=")"
done
fwd_term gateway
fwd_term bridge-1
fwd_term bridge-2
fwd_term bridge-3
e2e_done
