#!/usr/bin/env bash
# tests/e2e/hostile.sh — issue 3: hostile inputs get their documented status and the server
# stays healthy (process alive, /health 200) after each one.
#
# Documented answers (README, docs/internals/otlp.md and http.md, and the receiver):
#   structural protobuf errors (truncated, wrong wire type, 2 GB length) → 400 / gRPC 3
#   per-item problems (AnyValue nested deeper than the limit, invalid UTF-8) → 200 with
#     partial_success.rejected_spans counting them; the good spans are accepted
#   decompressed body over max_decoded_size (64 MiB) → 413 (gRPC: 8 RESOURCE_EXHAUSTED)
#   declared Content-Length over max_body_size (20 MiB) → 413 before the body is read
#   broken JSON → 400; Content-Type not protobuf/JSON → 415; unknown Content-Encoding → 415
#   empty protobuf body = an empty Export request → 200
source "$(dirname "$0")/lib.sh"
e2e_init hostile
e2e_need_orasi
e2e_need_node_modules

BODIES="python3 $E2E_DIR/bodies.py"
for k in valid-traces truncated wrong-wire-top wrong-wire-span len-2g nested-100 bad-utf8 broken-json json-bad-id; do
  $BODIES make "$k" "$E2E_TMP/$k.bin" || e2e_die "could not build body $k"
done
: >"$E2E_TMP/empty.bin"
e2e_log "building a gzip body that inflates to 4 GiB of zeros"
$BODIES gzip-bomb "$E2E_TMP/bomb.gz" 4096 || e2e_die "could not build the gzip bomb"
e2e_log "gzip bomb: $(stat -c %s "$E2E_TMP/bomb.gz") bytes compressed"

e2e_start_orasi

healthy() { # after a hostile input: alive and /health 200
  if ! e2e_orasi_alive; then
    e2e_die "orasi died after: $1"
  fi
  local code
  code=$(e2e_http_status "$API_URL/health")
  # A server that stopped answering would make every later check time out: stop here.
  [ "$code" = 200 ] || e2e_die "/health returned '$code' after: $1"
}

# post NAME EXPECTED_STATUS FILE CONTENT_TYPE [extra curl args] — POST to /v1/traces.
post() {
  local name=$1 want=$2 file=$3 ctype=$4 code
  shift 4
  code=$(curl -s -o "$E2E_TMP/resp.$name" -w '%{http_code}' --max-time 30 \
    -H "Content-Type: $ctype" --data-binary "@$file" "$@" "$OTLP_HTTP_URL/v1/traces" 2>/dev/null || true)
  if [ "$code" = "$want" ]; then
    e2e_ok "$name → HTTP $code"
  else
    e2e_fail "$name: expected HTTP $want, got '$code' (body: $(head -c 300 "$E2E_TMP/resp.$name" 2>/dev/null | tr -c '[:print:]' '.'))"
  fi
  healthy "$name"
}

PB=application/x-protobuf
JSON=application/json
accepted() { e2e_metric orasi_otlp_accepted_items_total signal=traces "protocol=$1"; }
refused() { e2e_metric orasi_otlp_refused_items_total signal=traces "protocol=$1" "${@:2}"; }

# ---- a good request first: the baseline must work, or nothing below means anything -----
a0=$(accepted http_protobuf)
post valid-protobuf 200 "$E2E_TMP/valid-traces.bin" $PB
e2e_check "valid request: accepted spans grew by" 2 $(( $(accepted http_protobuf) - a0 ))

# ---- structural protobuf errors → 400, nothing accepted -----------------------------------
a0=$(accepted http_protobuf)
post truncated-protobuf 400 "$E2E_TMP/truncated.bin" $PB
post wrong-wire-type-top 400 "$E2E_TMP/wrong-wire-top.bin" $PB
post wrong-wire-type-span 400 "$E2E_TMP/wrong-wire-span.bin" $PB
post length-prefix-2GB 400 "$E2E_TMP/len-2g.bin" $PB
e2e_check "no span accepted from malformed requests" 0 $(( $(accepted http_protobuf) - a0 ))

# ---- per-item rejections → 200 with partial_success ----------------------------------------
# partial_check NAME OP N: rejected count from the protobuf response compared with OP N.
partial_check() {
  local name=$1 op=$2 n=$3 got msg
  read -r got msg < <($BODIES partial traces "$E2E_TMP/resp.$name" 2>&1)
  if test "$got" "-$op" "$n" 2>/dev/null; then
    e2e_ok "$name: partial_success.rejected_spans = $got ($msg)"
  else
    e2e_fail "$name: partial_success.rejected_spans is '$got $msg', expected -$op $n"
  fi
  if [ -n "$msg" ]; then e2e_ok "$name: error_message is set"
  else e2e_fail "$name: partial_success.error_message is empty"; fi
}
a0=$(accepted http_protobuf); r0=$(refused http_protobuf reason=invalid)
post nested-anyvalue-100 200 "$E2E_TMP/nested-100.bin" $PB
partial_check nested-anyvalue-100 eq 1
e2e_check "nested-100: the good span is accepted" 1 $(( $(accepted http_protobuf) - a0 ))
e2e_check "nested-100: refused{reason=invalid} grew by" 1 $(( $(refused http_protobuf reason=invalid) - r0 ))

a0=$(accepted http_protobuf)
post invalid-utf8-span-name 200 "$E2E_TMP/bad-utf8.bin" $PB
partial_check invalid-utf8-span-name ge 1
e2e_check "bad-utf8: the good span is accepted" 1 $(( $(accepted http_protobuf) - a0 ))

# The same rule in OTLP/JSON: a span with a 15-byte trace id is rejected, the other accepted.
a0=$(accepted http_json)
post json-short-trace-id 200 "$E2E_TMP/json-bad-id.bin" $JSON
got=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])).get("partialSuccess",{}); print(p.get("rejectedSpans"), bool(p.get("errorMessage")))' "$E2E_TMP/resp.json-short-trace-id" 2>&1)
e2e_check "json-short-trace-id: partialSuccess (rejectedSpans, has errorMessage)" "1 True" "$got"
e2e_check "json-short-trace-id: the good span is accepted" 1 $(( $(accepted http_json) - a0 ))

# ---- compression bomb → 413, memory stays small ---------------------------------------------
# Peak RSS during one request: reset the kernel's high-water mark (clear_refs 5), note the
# current RSS, send, read the new peak.
proc_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$ORASI_PID/status"; }
peak_reset() {
  echo 5 >"/proc/$ORASI_PID/clear_refs" 2>/dev/null || e2e_log "cannot reset VmHWM; peak is since start"
  proc_kb VmRSS
}
hwm0=$(peak_reset)
post gzip-bomb-4GiB 413 "$E2E_TMP/bomb.gz" $PB -H "Content-Encoding: gzip"
hwm1=$(proc_kb VmHWM)
grow=$(( (hwm1 - hwm0) / 1024 ))
# max_decoded_size is 64 MiB; allow it twice over plus slack, far below the 4 GiB inflated.
if [ "$grow" -lt 256 ]; then e2e_ok "peak RSS grew by $grow MiB during the bomb (${hwm1} kB peak)"
else e2e_fail "peak RSS grew by $grow MiB during the gzip bomb (limit 256 MiB)"; fi

# ---- HTTP-level problems -------------------------------------------------------------------
post broken-json 400 "$E2E_TMP/broken-json.bin" $JSON
post wrong-content-type 415 "$E2E_TMP/valid-traces.bin" "text/plain"
post unknown-content-encoding 415 "$E2E_TMP/valid-traces.bin" $PB -H "Content-Encoding: br"
post empty-protobuf-body 200 "$E2E_TMP/empty.bin" $PB
if [ -s "$E2E_TMP/resp.empty-protobuf-body" ]; then
  e2e_fail "empty request: response should be an empty ExportTraceServiceResponse, got $(stat -c %s "$E2E_TMP/resp.empty-protobuf-body") bytes"
else e2e_ok "empty request: empty ExportTraceServiceResponse"; fi
printf '{}' >"$E2E_TMP/empty.json"
post empty-json-object 200 "$E2E_TMP/empty.json" $JSON
e2e_check "GET /v1/traces" 405 "$(e2e_http_status "$OTLP_HTTP_URL/v1/traces")"
e2e_check "POST /v1/nothing" 404 "$(e2e_http_status -X POST -H "Content-Type: $PB" --data-binary @"$E2E_TMP/valid-traces.bin" "$OTLP_HTTP_URL/v1/nothing")"
healthy "405/404"

# Content-Length over 20 MiB: the answer must come while the body is still unsent.
# raw_big NAME [extra header line] — prints the status line's code, or "timeout".
raw_big() {
  python3 - "$HTTP_PORT" "${1:-}" <<'EOF'
import socket, sys
port, extra = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
req = ("POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
       "Content-Length: 21000000\r\n" + (extra + "\r\n" if extra else "") + "\r\n")
s.sendall(req.encode())
s.sendall(b"\x0a" * 1000)  # a little of the body, far from all of it
try:
    data = s.recv(4096)
except socket.timeout:
    print("timeout"); sys.exit(0)
line = data.split(b"\r\n", 1)[0].decode("latin-1")
print(line.split(" ")[1] if line.startswith("HTTP/1.") else "bad:" + line[:60])
EOF
}
e2e_check "Content-Length 21000000, body not sent" 413 "$(raw_big)"
healthy "Content-Length over the cap"
e2e_check "Content-Length 21000000 with Expect: 100-continue" 413 "$(raw_big 'Expect: 100-continue')"
healthy "Content-Length over the cap with Expect"

# ---- the same over gRPC ----------------------------------------------------------------------
TRACE_EXPORT=/opentelemetry.proto.collector.trace.v1.TraceService/Export
# grpc_batch PORT NAME=FILE[+gzip]… — one grpc-js process makes the calls in order and
# checks /health after each; results land in $E2E_TMP/grpc.NAME (one JSON line each).
grpc_batch() {
  local port=$1 line name
  shift
  node "$E2E_DIR/grpc_raw.mjs" "127.0.0.1:$port" "$TRACE_EXPORT" --health "$API_URL/health" "$@" \
    >"$E2E_TMP/grpc.out" 2>"$E2E_TMP/grpc.err" || e2e_die "grpc_raw.mjs failed: $(cat "$E2E_TMP/grpc.err")"
  while IFS= read -r line; do
    name=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["name"])' "$line")
    printf '%s\n' "$line" >"$E2E_TMP/grpc.$name"
  done <"$E2E_TMP/grpc.out"
}
# grpc_expect NAME WANT_CODE — the status of that call, and /health 200 right after it.
grpc_expect() {
  local name=$1 want=$2 f=$E2E_TMP/grpc.$1 code health
  [ -s "$f" ] || { e2e_fail "gRPC $name: no result (orasi crashed mid-batch?)"; return; }
  read -r code health < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["code"], d.get("health"))' "$f")
  if [ "$code" = "$want" ]; then e2e_ok "gRPC $name → status $code"
  else e2e_fail "gRPC $name: expected status $want, got: $(cat "$f")"; fi
  [ "$health" = 200 ] || e2e_fail "/health returned '$health' after gRPC $name"
}
a0=$(accepted grpc)
grpc_batch "$GRPC_PORT" valid="$E2E_TMP/valid-traces.bin" valid-gzip="$E2E_TMP/valid-traces.bin+gzip" \
  truncated="$E2E_TMP/truncated.bin" wrong-wire-type="$E2E_TMP/wrong-wire-span.bin" \
  length-prefix-2GB="$E2E_TMP/len-2g.bin" empty="$E2E_TMP/empty.bin" \
  nested-anyvalue-100="$E2E_TMP/nested-100.bin"
healthy "the gRPC calls"
grpc_expect valid 0
grpc_expect valid-gzip 0
grpc_expect truncated 3
grpc_expect wrong-wire-type 3
grpc_expect length-prefix-2GB 3
grpc_expect empty 0
grpc_expect nested-anyvalue-100 0
python3 -c 'import json,sys; open(sys.argv[2],"wb").write(bytes.fromhex(json.load(open(sys.argv[1])).get("response_hex","")))' \
  "$E2E_TMP/grpc.nested-anyvalue-100" "$E2E_TMP/resp.grpc-nested" 2>/dev/null
partial_check grpc-nested eq 1
e2e_check "gRPC: accepted spans (2 + 2 + 1 good ones)" 5 $(( $(accepted grpc) - a0 ))
# OTLP/gRPC is served on the HTTP port too (README): same answers there.
a0=$(accepted grpc)
grpc_batch "$HTTP_PORT" valid-on-http-port="$E2E_TMP/valid-traces.bin" \
  truncated-on-http-port="$E2E_TMP/truncated.bin"
healthy "the gRPC calls on the HTTP port"
grpc_expect valid-on-http-port 0
grpc_expect truncated-on-http-port 3
e2e_check "gRPC on the HTTP port: accepted spans" 2 $(( $(accepted grpc) - a0 ))

# A gzip bomb inside a gRPC message (compressed flag + grpc-encoding: gzip) via nghttp.
if command -v nghttp >/dev/null; then
  python3 - "$E2E_TMP/bomb.gz" "$E2E_TMP/bomb.grpc" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(b"\x01" + struct.pack(">I", len(data)) + data)
EOF
  hwm0=$(peak_reset)
  out=$(nghttp -v -t 30 -d "$E2E_TMP/bomb.grpc" -H ':method: POST' -H 'content-type: application/grpc' \
    -H 'te: trailers' -H 'grpc-encoding: gzip' "http://127.0.0.1:$GRPC_PORT$TRACE_EXPORT" 2>&1)
  st=$(grep -o 'grpc-status: [0-9]*' <<<"$out" | head -1 | awk '{print $2}')
  e2e_check "gRPC gzip bomb → grpc-status (8 RESOURCE_EXHAUSTED)" 8 "${st:-none}"
  grow=$(( ($(proc_kb VmHWM) - hwm0) / 1024 ))
  if [ "$grow" -lt 256 ]; then e2e_ok "peak RSS grew by $grow MiB during the gRPC bomb"
  else e2e_fail "peak RSS grew by $grow MiB during the gRPC gzip bomb (limit 256 MiB)"; fi
  healthy "gRPC gzip bomb"
fi

# ---- still serving normally afterwards ---------------------------------------------------------
a0=$(accepted http_protobuf)
post valid-after-all 200 "$E2E_TMP/valid-traces.bin" $PB
e2e_check "after everything: accepted spans grew by" 2 $(( $(accepted http_protobuf) - a0 ))

e2e_stop_orasi
e2e_done
