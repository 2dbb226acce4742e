#!/usr/bin/env bash
# tests/e2e/otel_sdk.sh — issue 3: the official OpenTelemetry JS SDK (exporters pinned to the
# 0.223 line in package.json) sends traces, metrics of every instrument kind and logs over
# http/protobuf (gzip), http/json and grpc; every export must succeed and Orasi's accepted
# counters must equal, per signal and protocol, exactly what the SDK exported.
# The work and the comparison are in otel_send.mjs; this script runs the server around it.
source "$(dirname "$0")/lib.sh"
e2e_init otel_sdk
e2e_need_orasi
e2e_need_node_modules

# The SDK reads OTEL_* variables; the test must not inherit someone's endpoint or headers.
for v in $(env | grep -o '^OTEL_[A-Z_]*'); do unset "$v"; done

e2e_start_orasi

SPANS=${E2E_SPANS:-150}
LOGS=${E2E_LOGS:-150}
if node "$E2E_DIR/otel_send.mjs" send --grpc "http://127.0.0.1:$GRPC_PORT" \
     --http "$OTLP_HTTP_URL" --api "$API_URL" --spans "$SPANS" --logs "$LOGS" \
     --protocols http/protobuf,http/json,grpc --gzip http/protobuf 2>&1 | tee "$E2E_TMP/send.log" >&2; then
  e2e_ok "OpenTelemetry JS SDK: http/protobuf (gzip), http/json, grpc — all exports succeeded, counts match"
else
  e2e_fail "OpenTelemetry JS SDK run reported mismatches (see MISMATCH lines above)"
fi
# The sender printed "ok" lines per protocol and signal; make sure all nine comparisons ran.
n=$(grep -c '^\[otel_send\] ok ' "$E2E_TMP/send.log" || true)
e2e_check "signal×protocol comparisons made" 9 "$n"

# A short second run: gzip on grpc and http/json too, and the gRPC exporter pointed at the
# OTLP HTTP port, which serves OTLP/gRPC as well (README).
if node "$E2E_DIR/otel_send.mjs" send --grpc "http://127.0.0.1:$HTTP_PORT" \
     --http "$OTLP_HTTP_URL" --api "$API_URL" --spans 20 --logs 20 \
     --protocols grpc,http/json --gzip grpc,http/json 2>&1 | tee "$E2E_TMP/send2.log" >&2; then
  e2e_ok "SDK with gzip on grpc (via the HTTP port) and http/json: counts match"
else
  e2e_fail "SDK with gzip on grpc and http/json reported mismatches"
fi

refused=$(e2e_metric orasi_otlp_refused_items_total)
e2e_check "no item refused over the whole run" 0 "$refused"

e2e_stop_orasi
e2e_done
