#!/usr/bin/env bash
# tests/e2e/fwd_lib.sh — helpers for the forwarding topologies (agent -> gateway ->
# bridges), sourced after lib.sh by the fwd_*.sh tests. Executed on its own (ctest does),
# it tests fwd_compare and fwd_poll_metric.
#
#   fwd_start NAME ROLE CONFIG API_PORT [ARGS]   start `orasi ROLE --config CONFIG`, wait /ready
#   fwd_kill NAME / fwd_term NAME                 SIGKILL / SIGTERM (and wait)
#   fwd_metric API_PORT NAME [k=v]...             a metric of one process
#   fwd_spans API_PORT FILE [TENANT]             every (TraceId SpanId) in a lake (not the SDK checks')
#   fwd_wait_drained TIMEOUT API_PORT...          until every forwarder's queue is empty
#   fwd_compare ACKS SPANS...                     exact-once check (python, prints a report)

declare -A FWD_PID=()

fwd_start() {
  local name=$1 role=$2 config=$3 api=$4 code
  shift 4
  "$ORASI_BIN" "$role" --config "$config" "$@" >>"$E2E_TMP/$name.log" 2>&1 &
  FWD_PID[$name]=$!
  e2e_register_pid "${FWD_PID[$name]}"
  for _ in $(seq 1 200); do
    if ! kill -0 "${FWD_PID[$name]}" 2>/dev/null; then
      tail -n 20 "$E2E_TMP/$name.log" >&2
      e2e_die "$name ($role) exited during start-up"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$api/ready" 2>/dev/null || true)
    [ "$code" = 200 ] && return 0
    sleep 0.1
  done
  e2e_die "$name not ready after 20 s"
}

fwd_kill() {
  local pid=${FWD_PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  FWD_PID[$1]=""
}

fwd_term() {
  local pid=${FWD_PID[$1]:-} st=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" || st=$?
  FWD_PID[$1]=""
  e2e_check "$1 exits 0 on SIGTERM" 0 "$st"
}

fwd_metric() {
  local port=$1 f=$E2E_TMP/m.$$.$1.txt
  shift
  if ! curl -sf -o "$f" --max-time 5 "http://127.0.0.1:$port/metrics" 2>/dev/null; then echo ERR; return 0; fi
  python3 "$E2E_DIR/promtext.py" sum "$f" "$@"
}

# fwd_spans API_PORT FILE [TENANT] — "traceid spanid" lines of every span in the lake
fwd_spans() {
  local args=(--url "http://127.0.0.1:$1" --format csv --timeout 30)
  [ -n "${3:-}" ] && args+=(--tenant "$3")
  "$ORASI_BIN" query "${args[@]}" "select TraceId, SpanId from traces where ServiceName not like 'orasi-e2e-%'" \
    | tail -n +2 | tr ',' ' ' >"$2"
}

fwd_wait_drained() {
  local timeout=$1 p v ok
  shift
  for _ in $(seq 1 $((timeout * 10))); do
    ok=1
    for p in "$@"; do
      v=$(fwd_metric "$p" orasi_forward_queue_bytes)
      [ "$v" = 0 ] || ok=0
      v=$(fwd_metric "$p" orasi_forward_inflight_batches)
      [ "$v" = 0 ] || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  return 1
}

# fwd_compare ACKS SPANS1 [SPANS2...] — prints "missing=N dup=N extra=N cross=N traces=N"
# cross: traces whose spans are on more than one bridge.
fwd_compare() {
  python3 - "$@" <<'EOF'
import sys, collections
acks = set()
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 2:
        acks.add((p[0], p[1]))
seen = collections.Counter()
where = collections.defaultdict(set)
for i, f in enumerate(sys.argv[2:]):
    for line in open(f):
        p = line.split()
        if len(p) == 2:
            seen[(p[0], p[1])] += 1
            where[p[0]].add(i)
missing = sum(1 for k in acks if seen[k] == 0)
dup = sum(c - 1 for c in seen.values() if c > 1)
extra = sum(1 for k in seen if k not in acks)
ack_traces = {t for t, _ in acks}
cross = sum(1 for t in ack_traces if len(where[t]) > 1)
print(f"missing={missing} dup={dup} extra={extra} cross={cross} traces={len(ack_traces)} acked={len(acks)}")
EOF
}

# fwd_poll_metric API_PORT T0 TIMEOUT_S WANT NAME [k=v]... — poll /metrics (every 10 ms, in
# one python process) until the summed value equals WANT; prints the seconds since T0
# (an epoch time with fractions, from `date +%s.%N`) or "never".
fwd_poll_metric() {
  python3 - "$E2E_DIR" "$@" <<'EOF2'
import sys, time, urllib.request
sys.path.insert(0, sys.argv[1])
port, t0, timeout, want, name = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
labels = dict(a.split("=", 1) for a in sys.argv[7:])
import re
pat = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)')
lab = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
end = time.time() + timeout
while time.time() < end:
    try:
        txt = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
    except Exception:
        time.sleep(0.01); continue
    total = 0.0
    for line in txt.splitlines():
        m = pat.match(line)
        if not m or m.group(1) != name: continue
        ls = dict(lab.findall(m.group(3) or ""))
        if all(ls.get(k) == v for k, v in labels.items()):
            total += float(m.group(4))
    if total == want:
        print(f"{time.time() - t0:.3f}"); sys.exit(0)
    time.sleep(0.01)
print("never")
EOF2
}

# ---- self-test, when executed rather than sourced (ctest runs every tests/e2e/*.sh) ------
fwd_lib_selftest() {
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  e2e_init fwd_lib
  printf 't1 a\nt1 b\nt2 c\nt3 d\n' >"$E2E_TMP/acks"
  printf 't1 a\nt2 c\n' >"$E2E_TMP/s1"
  printf 't1 b\nt3 d\n' >"$E2E_TMP/s2"
  e2e_check "exactly once, t1 on two stores" "missing=0 dup=0 extra=0 cross=1 traces=3 acked=4" \
    "$(fwd_compare "$E2E_TMP/acks" "$E2E_TMP/s1" "$E2E_TMP/s2")"
  printf 't1 a\nt1 a\nt9 z\n' >"$E2E_TMP/s3"
  e2e_check "missing, duplicate and unacknowledged spans are counted" \
    "missing=3 dup=1 extra=1 cross=0 traces=3 acked=4" "$(fwd_compare "$E2E_TMP/acks" "$E2E_TMP/s3")"
  read -r p < <(e2e_free_ports 1)
  e2e_check "fwd_poll_metric gives up on a dead port" never \
    "$(fwd_poll_metric "$p" "$(date +%s.%N)" 0.3 1 orasi_x)"
  e2e_done
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  fwd_lib_selftest
fi
