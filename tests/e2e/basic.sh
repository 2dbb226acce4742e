#!/usr/bin/env bash
# tests/e2e/basic.sh — issue 2: the `orasi` command line and a running `orasi run`:
# version/help/config check, /health, /ready, /metrics (valid Prometheus text with build
# info, process and HTTP metrics), HTTP/2 prior knowledge on the API port, SIGTERM → exit 0.
source "$(dirname "$0")/lib.sh"
e2e_init basic
e2e_need_orasi

# ---- command line ---------------------------------------------------------------------
out=$("$ORASI_BIN" --version 2>&1); st=$?
e2e_check "orasi --version exit status" 0 "$st"
if [[ $out =~ ^orasi\ [0-9]+\.[0-9]+\.[0-9]+ ]]; then e2e_ok "--version prints '$out'"
else e2e_fail "--version printed '$out', expected 'orasi X.Y.Z'"; fi
VERSION=$(awk '{print $2}' <<<"$out")

out=$("$ORASI_BIN" --help 2>&1); st=$?
e2e_check "orasi --help exit status" 0 "$st"
for cmd in run config help; do
  if grep -qw "$cmd" <<<"$out"; then e2e_ok "--help lists '$cmd'"
  else e2e_fail "--help does not list '$cmd': $out"; fi
done

out=$("$ORASI_BIN" help run 2>&1); st=$?
e2e_check "orasi help run exit status" 0 "$st"
for opt in --data-dir --config --otlp-grpc-port --otlp-http-port --api-port; do
  if grep -q -- "$opt" <<<"$out"; then e2e_ok "help run documents $opt"
  else e2e_fail "help run does not mention $opt: $out"; fi
done

out=$("$ORASI_BIN" no-such-command 2>&1); st=$?
if [ "$st" -ne 0 ]; then e2e_ok "unknown command exits non-zero ($st)"
else e2e_fail "unknown command exited 0: $out"; fi

# ---- config check -----------------------------------------------------------------------
good=$E2E_TMP/good.yaml
cat >"$good" <<'EOF'
# a valid configuration: every key documented in the README
log_level: info
data_dir: ${E2E_UNSET_DIR:-/tmp/orasi-e2e-unused}
shutdown_timeout: 30s
http:
  workers: 2
  max_body_size: 20MiB
receivers:
  otlp:
    listen: 127.0.0.1
    grpc_port: 4317
    http_port: 4318
    tenant_header: X-Scope-OrgID
api:
  port: 8080
EOF
out=$("$ORASI_BIN" config check "$good" 2>&1); st=$?
e2e_check "config check of a good file: exit status" 0 "$st"
[ "$st" = 0 ] || e2e_log "output: $out"

# bad_config NAME LINE CONTENT: exit 1 and "file:LINE: message" on stderr.
bad_config() {
  local f=$E2E_TMP/$1.yaml want_line=$2 err st
  printf '%s\n' "$3" >"$f"
  err=$("$ORASI_BIN" config check "$f" 2>&1 >/dev/null); st=$?
  e2e_check "config check of $1: exit status" 1 "$st"
  # want_line is a regex: libyaml names the line where it noticed a syntax error.
  if grep -Eq "^$f:$want_line: .+" <<<"$err"; then
    e2e_ok "config check of $1 reports '$(grep -E "^$f:" <<<"$err" | head -1)'"
  else
    e2e_fail "config check of $1: expected '$f:$want_line: <message>' on stderr, got: $err"
  fi
}
bad_config port-range 4 "receivers:
  otlp:
    listen: 127.0.0.1
    grpc_port: 70000"
bad_config unknown-key 3 "log_level: info
http:
  wrokers: 2"
bad_config yaml-syntax '[0-9]+' "api:
  port: [8080
log_level: info"
bad_config bad-enum 1 "log_level: loud"

out=$("$ORASI_BIN" config check "$E2E_TMP/does-not-exist.yaml" 2>&1); st=$?
if [ "$st" -ne 0 ]; then e2e_ok "config check of a missing file fails ($st)"
else e2e_fail "config check of a missing file exited 0"; fi

# ---- the running server -----------------------------------------------------------------
e2e_start_orasi

e2e_check "GET /health" 200 "$(e2e_http_status "$API_URL/health")"
e2e_check "GET /ready" 200 "$(e2e_http_status "$API_URL/ready")"
e2e_check "GET /no-such-path" 404 "$(e2e_http_status "$API_URL/no-such-path")"

hdr=$E2E_TMP/metrics.hdr
code=$(curl -s -D "$hdr" -o "$E2E_TMP/metrics.txt" -w '%{http_code}' --max-time 10 "$API_URL/metrics")
e2e_check "GET /metrics" 200 "$code"
ctype=$(grep -i '^content-type:' "$hdr" | tr -d '\r' | cut -d' ' -f2-)
if [[ $ctype == text/plain* ]]; then e2e_ok "/metrics content type '$ctype'"
else e2e_fail "/metrics content type '$ctype', expected text/plain; version=0.0.4"; fi

# Valid exposition: Prometheus' own parser (promtool) when installed, and our strict one.
if command -v promtool >/dev/null; then
  if perr=$(promtool check metrics <"$E2E_TMP/metrics.txt" 2>&1); then
    e2e_ok "promtool check metrics accepts /metrics"
  elif grep -qiE 'error parsing|expected|invalid' <<<"$perr"; then
    e2e_fail "promtool cannot parse /metrics: $perr"
  else
    # Lint remarks (naming advice) are not format errors; show them without failing.
    e2e_ok "promtool parses /metrics (lint remarks: $(head -3 <<<"$perr" | tr '\n' ' '))"
  fi
fi
if names=$(python3 "$E2E_DIR/promtext.py" names "$E2E_TMP/metrics.txt"); then
  e2e_ok "/metrics parses as Prometheus text ($(wc -l <<<"$names") sample names)"
else
  e2e_fail "/metrics is not valid Prometheus text"
  names=""
fi
# Every sample family has # HELP and # TYPE lines.
missing=$(python3 - "$E2E_TMP/metrics.txt" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
typed = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
helped = set(re.findall(r"^# HELP (\S+) ", text, re.M))
bad = set()
for line in text.splitlines():
    if not line or line.startswith("#"):
        continue
    name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
    fam = re.sub(r"_(bucket|sum|count)$", "", name)
    if not ({name, fam} & typed and {name, fam} & helped):
        bad.add(name)
print(" ".join(sorted(bad)))
EOF
)
if [ -z "$missing" ]; then e2e_ok "every family has # HELP and # TYPE"
else e2e_fail "families without # HELP/# TYPE: $missing"; fi

# build info carries the version; process and HTTP metrics exist and make sense.
bi=$(e2e_metric_in "$E2E_TMP/metrics.txt" orasi_build_info version="$VERSION")
e2e_check "orasi_build_info{version=\"$VERSION\"}" 1 "$bi"
for m in process_cpu_seconds_total process_resident_memory_bytes process_start_time_seconds; do
  if grep -qx "$m" <<<"$names"; then e2e_ok "/metrics has $m"
  else e2e_fail "/metrics lacks $m"; fi
done
rss=$(e2e_metric_in "$E2E_TMP/metrics.txt" process_resident_memory_bytes)
if [ "${rss:-0}" != 0 ] && python3 -c "import sys; sys.exit(not (1e6 < float('$rss') < 8e9))" 2>/dev/null; then
  e2e_ok "process_resident_memory_bytes is plausible ($rss)"
else e2e_fail "process_resident_memory_bytes implausible: '$rss'"; fi
start=$(e2e_metric_in "$E2E_TMP/metrics.txt" process_start_time_seconds)
now=$(date +%s)
if python3 -c "import sys; sys.exit(not ($now - 120 < float('$start') <= $now + 1))" 2>/dev/null; then
  e2e_ok "process_start_time_seconds is recent ($start)"
else e2e_fail "process_start_time_seconds '$start' is not within 2 minutes of now ($now)"; fi

# The earlier GET /health must have been counted by the HTTP metrics.
h=$(e2e_metric_in "$E2E_TMP/metrics.txt" orasi_http_requests_total route=/health status=200)
if [ "${h:-0}" != 0 ] && [ "$h" -ge 1 ] 2>/dev/null; then e2e_ok "orasi_http_requests_total{route=\"/health\",status=\"200\"} = $h"
else e2e_fail "orasi_http_requests_total{route=\"/health\",status=\"200\"} is '$h', expected >= 1"; fi
for m in orasi_http_request_duration_seconds_bucket orasi_http_connections; do
  if grep -qx "$m" <<<"$names"; then e2e_ok "/metrics has $m"
  else e2e_fail "/metrics lacks $m"; fi
done
# The OTLP counters exist before any traffic (zero series are exported, so dashboards work).
for m in orasi_otlp_accepted_items_total orasi_otlp_refused_items_total; do
  if grep -q "^# TYPE $m counter" "$E2E_TMP/metrics.txt"; then e2e_ok "$m is declared as a counter"
  else e2e_fail "$m is not declared ('# TYPE $m counter' missing)"; fi
done

# The counter grows: three more /health requests are counted.
before=$(e2e_metric orasi_http_requests_total route=/health status=200)
for _ in 1 2 3; do curl -s -o /dev/null --max-time 5 "$API_URL/health"; done
after=$(e2e_metric orasi_http_requests_total route=/health status=200)
if [ "$before" != ERR ] && [ "$after" != ERR ] && [ $((after - before)) -eq 3 ]; then
  e2e_ok "three GET /health counted ($before -> $after)"
else e2e_fail "orasi_http_requests_total{route=/health} went $before -> $after, expected +3"; fi

# HTTP/2 with prior knowledge on the API port.
out=$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' --max-time 10 "$API_URL/health")
e2e_check "curl --http2-prior-knowledge /health (version status)" "2 200" "$out"
out=$(curl -s --http2-prior-knowledge -o "$E2E_TMP/metrics2.txt" -w '%{http_version} %{http_code}' --max-time 10 "$API_URL/metrics")
e2e_check "curl --http2-prior-knowledge /metrics (version status)" "2 200" "$out"
if python3 "$E2E_DIR/promtext.py" names "$E2E_TMP/metrics2.txt" >/dev/null; then
  e2e_ok "/metrics over HTTP/2 parses"
else e2e_fail "/metrics over HTTP/2 is not valid Prometheus text"; fi
if command -v nghttp >/dev/null; then
  out=$(nghttp -v -t 10 "$API_URL/ready" 2>&1)
  if grep -q ':status: 200' <<<"$out"; then e2e_ok "nghttp /ready → :status 200"
  else e2e_fail "nghttp /ready did not get :status 200: $(tail -5 <<<"$out")"; fi
fi
# HTTP/1.0 still works (no keep-alive by default).
e2e_check "HTTP/1.0 GET /health" 200 "$(e2e_http_status --http1.0 "$API_URL/health")"

# ---- SIGTERM ------------------------------------------------------------------------------
e2e_stop_orasi
code=$(e2e_http_status "$API_URL/health")
e2e_check "nothing listens on the API port after exit" 000 "$code"

e2e_done
