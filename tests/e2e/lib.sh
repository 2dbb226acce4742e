# tests/e2e/lib.sh — shared helpers for the end-to-end tests. Sourced by each test; when
# run on its own (ctest registers every tests/e2e/*.sh) it tests the helpers themselves.
#
# What it gives a test:
#   e2e_init NAME          temp dir ($E2E_TMP), trap that kills every process we started
#   e2e_free_ports N       N distinct free 127.0.0.1 ports (held open together while picked)
#   e2e_start_orasi [ARGS] start `orasi run` on fresh ports with a temp data dir, wait for /ready
#   e2e_stop_orasi         SIGTERM, wait, assert exit status 0
#   e2e_metric NAME [k=v]… sum of the samples of NAME whose labels match every k=v (0 if none)
#   e2e_http_status …      curl's status code for a request (000 on connection failure)
#   e2e_ok / e2e_fail / e2e_check / e2e_done   counted, clearly printed assertions
# Ports are never fixed: each run binds port 0 and reads the port back.

set -u
set -o pipefail

E2E_SRC=${ORASI_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
E2E_DIR=$E2E_SRC/tests/e2e
ORASI_BIN=${ORASI_BIN:-$E2E_SRC/build/orasi}
E2E_NAME=e2e
E2E_TMP=""
E2E_PIDS=()       # every background process we started, killed on exit
E2E_PASS=0
E2E_FAILS=0
ORASI_PID=""

e2e_log() { printf '[%s] %s\n' "$E2E_NAME" "$*" >&2; }

e2e_ok() { E2E_PASS=$((E2E_PASS + 1)); printf '[%s] ok   %s\n' "$E2E_NAME" "$*" >&2; }

# A failed check is recorded and printed; the test goes on so one run shows every
# difference, and e2e_done exits non-zero.
e2e_fail() {
  E2E_FAILS=$((E2E_FAILS + 1))
  printf '[%s] FAIL %s\n' "$E2E_NAME" "$*" >&2
}

# Fatal: something the rest of the test depends on is missing.
e2e_die() {
  printf '[%s] FATAL %s\n' "$E2E_NAME" "$*" >&2
  if [ -n "$E2E_TMP" ] && [ -f "$E2E_TMP/orasi.log" ]; then
    printf '[%s] --- last lines of the orasi log ---\n' "$E2E_NAME" >&2
    tail -n 30 "$E2E_TMP/orasi.log" >&2
  fi
  exit 1
}

# e2e_check DESCRIPTION EXPECTED ACTUAL
e2e_check() {
  if [ "$2" = "$3" ]; then e2e_ok "$1 ($3)"; else e2e_fail "$1: expected '$2', got '$3'"; fi
}

e2e_done() {
  local total=$((E2E_PASS + E2E_FAILS))
  if [ "$E2E_FAILS" -ne 0 ]; then
    if [ -f "$E2E_TMP/orasi.log" ]; then
      printf '[%s] --- last lines of the orasi log ---\n' "$E2E_NAME" >&2
      tail -n 30 "$E2E_TMP/orasi.log" >&2
    fi
    printf '[%s] %d of %d checks FAILED\n' "$E2E_NAME" "$E2E_FAILS" "$total" >&2
    exit 1
  fi
  printf '[%s] all %d checks passed\n' "$E2E_NAME" "$total" >&2
  exit 0
}

e2e_cleanup() {
  local pid
  for pid in "${E2E_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    fi
  done
  if [ -n "$E2E_TMP" ] && [ -d "$E2E_TMP" ]; then
    if [ "$E2E_FAILS" -ne 0 ] && [ -n "${E2E_KEEP:-}" ]; then
      e2e_log "kept $E2E_TMP"
    else
      rm -rf "$E2E_TMP"
    fi
  fi
}

# e2e_init NAME — call first.
e2e_init() {
  E2E_NAME=$1
  E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/orasi-e2e-$1.XXXXXX") || { echo "mktemp failed" >&2; exit 1; }
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
  command -v curl >/dev/null || e2e_die "curl not found (scripts/setup --test installs it)"
  command -v python3 >/dev/null || e2e_die "python3 not found"
}

e2e_need_orasi() {
  [ -x "$ORASI_BIN" ] || e2e_die "orasi binary not found at '$ORASI_BIN' (set ORASI_BIN or build it)"
}

e2e_need_node_modules() {
  command -v node >/dev/null || e2e_die "node not found (scripts/setup --test installs it)"
  [ -d "$E2E_DIR/node_modules/@opentelemetry" ] \
    || e2e_die "tests/e2e/node_modules missing: run scripts/setup --test (npm ci in tests/e2e)"
}

# e2e_free_ports N — prints N distinct ports, space separated. All sockets are held open
# until every port is picked, so the kernel cannot hand the same port out twice.
e2e_free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
n = int(sys.argv[1])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# e2e_register_pid PID — killed on exit if still alive.
e2e_register_pid() { E2E_PIDS+=("$1"); }

# e2e_http_status [curl args…] URL — the HTTP status (000 when no answer). Never fails.
e2e_http_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" 2>/dev/null || true
}

# shellcheck disable=SC2120,SC2034 # optional args; the URLs are for the sourcing tests
# e2e_start_orasi [extra args for `orasi run`] — sets ORASI_PID, GRPC_PORT, HTTP_PORT,
# API_PORT, API_URL, OTLP_HTTP_URL, ORASI_DATA. Waits ≤ 20 s for /ready 200.
e2e_start_orasi() {
  e2e_need_orasi
  local ports
  ports=$(e2e_free_ports 3) || e2e_die "could not pick free ports"
  read -r GRPC_PORT HTTP_PORT API_PORT <<<"$ports"
  ORASI_DATA=$E2E_TMP/data
  mkdir -p "$ORASI_DATA"
  API_URL=http://127.0.0.1:$API_PORT
  OTLP_HTTP_URL=http://127.0.0.1:$HTTP_PORT
  e2e_log "starting $ORASI_BIN run (grpc $GRPC_PORT, http $HTTP_PORT, api $API_PORT)"
  "$ORASI_BIN" run --data-dir "$ORASI_DATA" --listen 127.0.0.1 \
    --otlp-grpc-port "$GRPC_PORT" --otlp-http-port "$HTTP_PORT" --api-port "$API_PORT" "$@" \
    >>"$E2E_TMP/orasi.log" 2>&1 &
  ORASI_PID=$!
  e2e_register_pid "$ORASI_PID"
  local i code
  for i in $(seq 1 200); do
    if ! kill -0 "$ORASI_PID" 2>/dev/null; then
      wait "$ORASI_PID"
      e2e_die "orasi exited during start-up with status $? (log above)"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$API_URL/ready" 2>/dev/null || true)
    if [ "$code" = 200 ]; then
      e2e_log "orasi ready after ~$((i / 10)).$((i % 10)) s (pid $ORASI_PID)"
      return 0
    fi
    sleep 0.1
  done
  e2e_die "orasi not ready after 20 s (last /ready status '$code')"
}

e2e_orasi_alive() { [ -n "$ORASI_PID" ] && kill -0 "$ORASI_PID" 2>/dev/null; }

# e2e_stop_orasi — SIGTERM and assert a clean exit 0 within 20 s.
e2e_stop_orasi() {
  [ -n "$ORASI_PID" ] || return 0
  if ! kill -0 "$ORASI_PID" 2>/dev/null; then
    wait "$ORASI_PID"
    e2e_fail "orasi had already exited (status $?) before SIGTERM"
    ORASI_PID=""
    return 0
  fi
  kill -TERM "$ORASI_PID"
  local i
  for i in $(seq 1 200); do
    kill -0 "$ORASI_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$ORASI_PID" 2>/dev/null; then
    e2e_fail "orasi still running 20 s after SIGTERM; killing it"
    kill -KILL "$ORASI_PID" 2>/dev/null
    wait "$ORASI_PID" 2>/dev/null
  else
    local st=0
    wait "$ORASI_PID" || st=$?
    e2e_check "orasi exit status after SIGTERM" 0 "$st"
  fi
  ORASI_PID=""
}

# e2e_scrape [FILE] — GET /metrics into FILE (default $E2E_TMP/metrics.txt); fails on non-200.
e2e_scrape() {
  local out=${1:-$E2E_TMP/metrics.txt} code
  code=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 "$API_URL/metrics" 2>/dev/null || true)
  [ "$code" = 200 ] || { e2e_fail "GET /metrics returned '$code'"; return 1; }
}

# e2e_metric NAME [label=value]… — sum over matching samples in a fresh scrape (0 if none).
# Prints "ERR" if /metrics could not be read, so a comparison with a number fails loudly.
e2e_metric() {
  local f=$E2E_TMP/metrics.$$.txt
  if ! curl -sf -o "$f" --max-time 10 "$API_URL/metrics" 2>/dev/null; then echo ERR; return 0; fi
  e2e_metric_in "$f" "$@"
}

# e2e_metric_in FILE NAME [label=value]… — like e2e_metric on a saved scrape.
e2e_metric_in() {
  python3 "$E2E_DIR/promtext.py" sum "$@"
}

# e2e_wait_metric TIMEOUT_S EXPECTED NAME [label=value]… — poll until the value equals
# EXPECTED (counters arrive after the response on some paths); prints the last value.
e2e_wait_metric() {
  local timeout=$1 want=$2 v="" i
  shift 2
  for i in $(seq 1 $((timeout * 10))); do
    v=$(e2e_metric "$@")
    [ "$v" = "$want" ] && break
    sleep 0.1
  done
  echo "$v"
}

# ---- self-test, when executed rather than sourced ------------------------------------------
e2e_selftest() {
  e2e_init lib
  # Ports: distinct, in range, and really free (bindable right after).
  local ports p n
  ports=$(e2e_free_ports 6)
  n=$(tr ' ' '\n' <<<"$ports" | sort -u | grep -c '^[0-9][0-9]*$')
  e2e_check "e2e_free_ports 6 gives distinct numbers" 6 "$n"
  # shellcheck disable=SC2086 # one argument per port
  if python3 -c "
import socket, sys
for p in sys.argv[1:]:
    socket.socket().bind(('127.0.0.1', int(p)))" $ports; then e2e_ok "those ports are bindable"
  else e2e_fail "a port from e2e_free_ports ($ports) is not bindable"; fi
  # Nothing listens on a port we just picked: status 000, not an error exit.
  read -r p < <(e2e_free_ports 1)
  e2e_check "e2e_http_status on a closed port" 000 "$(e2e_http_status "http://127.0.0.1:$p/")"
  # The exposition parser: label matching, escapes, sums; malformed input is an error.
  cat >"$E2E_TMP/sample.txt" <<'EOF2'
# HELP orasi_otlp_accepted_items_total Items accepted
# TYPE orasi_otlp_accepted_items_total counter
orasi_otlp_accepted_items_total{signal="traces",protocol="grpc"} 7
orasi_otlp_accepted_items_total{signal="traces",protocol="http_json"} 5
orasi_otlp_accepted_items_total{protocol="grpc",signal="logs"} 11 1700000000000
odd_labels{msg="a \"quoted\", comma } brace",x="y"} 2.5
h_bucket{le="+Inf"} 3
EOF2
  e2e_check "sum by two labels" 7 "$(e2e_metric_in "$E2E_TMP/sample.txt" orasi_otlp_accepted_items_total signal=traces protocol=grpc)"
  e2e_check "sum by one label, order-free" 18 "$(e2e_metric_in "$E2E_TMP/sample.txt" orasi_otlp_accepted_items_total protocol=grpc)"
  e2e_check "sum of all series" 23 "$(e2e_metric_in "$E2E_TMP/sample.txt" orasi_otlp_accepted_items_total)"
  e2e_check "no match is 0" 0 "$(e2e_metric_in "$E2E_TMP/sample.txt" orasi_otlp_accepted_items_total signal=metrics)"
  e2e_check "escaped label value" 2.5 "$(e2e_metric_in "$E2E_TMP/sample.txt" odd_labels 'msg=a "quoted", comma } brace')"
  printf 'good 1\nbad{x="1" 2\n' >"$E2E_TMP/bad.txt"
  if python3 "$E2E_DIR/promtext.py" names "$E2E_TMP/bad.txt" 2>/dev/null; then
    e2e_fail "promtext.py accepted a malformed exposition"
  else e2e_ok "promtext.py rejects a malformed exposition"; fi
  # A server that cannot start is reported, not waited for.
  if ( ORASI_BIN=/bin/false; e2e_start_orasi ) 2>/dev/null; then
    e2e_fail "e2e_start_orasi succeeded with a binary that exits at once"
  else e2e_ok "e2e_start_orasi fails when orasi exits during start-up"; fi
  # Body generator: the gzip bomb inflates to exactly what it claims (96 MiB in 1 MiB
  # chunks: the same construction as hostile.sh's 4 GiB in 64 MiB chunks, checkable quickly).
  python3 "$E2E_DIR/bodies.py" gzip-bomb "$E2E_TMP/b.gz" 96 1048576
  # gzip -dc checks the CRC-32 and length trailer; pipefail carries its status out.
  if n=$(gzip -dc "$E2E_TMP/b.gz" | wc -c); then
    e2e_check "gzip bomb of 96 MiB inflates (trailer valid) to" 100663296 "$n"
  else e2e_fail "gzip rejects the bomb (CRC/length trailer wrong), inflated $n bytes"; fi
  e2e_done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  e2e_selftest
fi
