#!/usr/bin/env bash
# tests/e2e/prometheus.sh — issue 3: a real Prometheus (Debian's /usr/bin/prometheus) scrapes
# Orasi's own /metrics every second and remote-writes the samples to Orasi's
# /api/v1/write. Passes when Orasi has accepted remote-write data points (protocol prom_rw)
# and refused none, within 60 s.
source "$(dirname "$0")/lib.sh"
e2e_init prometheus
e2e_need_orasi
PROM=${PROMETHEUS_BIN:-/usr/bin/prometheus}
[ -x "$PROM" ] || e2e_die "prometheus not found at $PROM (scripts/setup --test installs the Debian package)"

e2e_start_orasi

read -r PROM_PORT < <(e2e_free_ports 1)
mkdir -p "$E2E_TMP/tsdb"
cat >"$E2E_TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: orasi
    static_configs:
      - targets: ['127.0.0.1:$API_PORT']
remote_write:
  - url: http://127.0.0.1:$HTTP_PORT/api/v1/write
    remote_timeout: 5s
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
YML
e2e_log "starting $PROM on 127.0.0.1:$PROM_PORT"
"$PROM" --config.file="$E2E_TMP/prometheus.yml" --storage.tsdb.path="$E2E_TMP/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$E2E_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
e2e_register_pid "$PROM_PID"

ok=0
for i in $(seq 1 120); do
  kill -0 "$PROM_PID" 2>/dev/null || { cat "$E2E_TMP/prometheus.log" >&2; e2e_die "prometheus exited"; }
  acc=$(e2e_metric orasi_otlp_accepted_items_total signal=metrics protocol=prom_rw)
  if [ "$acc" != ERR ] && [ "$acc" -gt 0 ] 2>/dev/null; then ok=1; break; fi
  sleep 0.5
done
if [ $ok = 1 ]; then e2e_ok "Orasi accepted $acc remote-write samples after ~$((i / 2)) s"
else e2e_fail "no remote-write sample accepted within 60 s (last value '$acc')"; fi

# Prometheus really scraped Orasi (its own view of the target), and its sends succeeded.
up=$(curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query?query=up%7Bjob%3D%22orasi%22%7D" \
  | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")' 2>/dev/null)
e2e_check "Prometheus sees the Orasi target up" 1 "$up"
curl -s --max-time 5 -o "$E2E_TMP/prom-metrics.txt" "http://127.0.0.1:$PROM_PORT/metrics"
grep -q '^prometheus_remote_storage_samples_failed_total' "$E2E_TMP/prom-metrics.txt" \
  || e2e_fail "Prometheus' /metrics lacks prometheus_remote_storage_samples_failed_total"
failed=$(e2e_metric_in "$E2E_TMP/prom-metrics.txt" prometheus_remote_storage_samples_failed_total)
e2e_check "Prometheus' failed remote-write samples" 0 "$failed"
sent=$(e2e_metric_in "$E2E_TMP/prom-metrics.txt" prometheus_remote_storage_samples_total)
if [ "${sent:-0}" -gt 0 ] 2>/dev/null; then e2e_ok "Prometheus reports $sent samples sent"
else e2e_fail "Prometheus reports '$sent' remote-write samples"; fi

refused=$(e2e_metric orasi_otlp_refused_items_total signal=metrics protocol=prom_rw)
e2e_check "remote-write items refused by Orasi" 0 "$refused"
req_bad=$(python3 "$E2E_DIR/promtext.py" sum <(curl -s --max-time 5 "$API_URL/metrics") \
  orasi_otlp_requests_total signal=metrics protocol=prom_rw status=400)
e2e_check "remote-write requests answered 400" 0 "$req_bad"

kill -TERM "$PROM_PID"
for _ in $(seq 1 100); do kill -0 "$PROM_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PROM_PID" 2>/dev/null; then e2e_fail "prometheus did not stop on SIGTERM"; fi
wait "$PROM_PID" 2>/dev/null

e2e_stop_orasi
e2e_done
