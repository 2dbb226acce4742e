#!/usr/bin/env bash
# lake_s3.sh — the lake mirrored to an S3-compatible bucket (lake.store: s3).
#
# s3rver (npm, pinned) serves a bucket on a loopback port. `orasi run` is pointed at it
# with credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; spans come from
# `orasi loadgen` plus a few spans two days old (OTLP/JSON). Halfway through, s3rver is
# stopped for ~4 s while files keep being published, then started again on the same port.
# Then SIGTERM (flush, drain the uploads). Checks, with an independent client (the curl
# CLI signing with --aws-sigv4, python parsing ListObjectsV2):
#   - every object key is <prefix>/tenant=…/signal=…/date=YYYY-MM-DD/hour=HH/<uuid>.parquet;
#   - the set of objects equals the set of local Parquet files, byte for byte (nothing was
#     lost during the outage: upload errors were counted, then nothing stayed pending);
#   - after a restart with retention_traces: 1d, the two-day-old partition is gone from
#     the lake AND from the bucket, the rest is still there.
# s3rver does not verify SigV4 signatures (tests/unit/test_objstore_s3.c does).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init lake_s3
e2e_need_orasi
command -v node >/dev/null || e2e_die "node is missing (scripts/setup --test)"
S3RVER=$E2E_DIR/node_modules/s3rver/bin/s3rver.js
[ -f "$S3RVER" ] || e2e_die "s3rver is missing: run scripts/setup --test (npm ci in tests/e2e)"

BUCKET=orasi-lake
PREFIX=warehouse/orasi
read -r GRPC_PORT HTTP_PORT API_PORT S3_PORT <<<"$(e2e_free_ports 4)" \
  || e2e_die "could not pick free ports"
S3_URL=http://127.0.0.1:$S3_PORT
S3_DIR=$E2E_TMP/s3
DATA=$E2E_TMP/data
API_URL=http://127.0.0.1:$API_PORT
mkdir -p "$S3_DIR" "$DATA"

S3_PID=""
start_s3rver() {
  # --openssl-legacy-provider: s3rver's continuation tokens use DES (OpenSSL 3 legacy)
  node --openssl-legacy-provider "$S3RVER" -s -d "$S3_DIR" -a 127.0.0.1 -p "$S3_PORT" \
    --configure-bucket "$BUCKET" >>"$E2E_TMP/s3rver.log" 2>&1 &
  S3_PID=$!
  e2e_register_pid "$S3_PID"
  for _ in $(seq 1 100); do
    [ "$(e2e_http_status "$S3_URL/")" != 000 ] && return 0
    sleep 0.1
  done
  e2e_die "s3rver did not start on port $S3_PORT (see $E2E_TMP/s3rver.log)"
}
stop_s3rver() {
  kill -TERM "$S3_PID" 2>/dev/null
  wait "$S3_PID" 2>/dev/null
  S3_PID=""
}

# s3 METHOD PATH [curl args] — a SigV4-signed request with the curl CLI.
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3() {
  local m=$1 p=$2
  shift 2
  curl -sf --max-time 30 -X "$m" --aws-sigv4 "aws:amz:us-east-1:s3" -u S3RVER:S3RVER \
    -H "x-amz-content-sha256: $EMPTY_SHA" "$@" "$S3_URL/$BUCKET$p"
}

# list_keys — every key under $PREFIX/, one per line, sorted (all pages).
list_keys() {
  local token="" page=0 out
  : >"$E2E_TMP/keys.txt"
  while :; do
    page=$((page + 1))
    local q
    q="list-type=2&prefix=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PREFIX/")"
    if [ -n "$token" ]; then
      q="continuation-token=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$token")&$q"
    fi
    out=$E2E_TMP/list-$page.xml
    s3 GET "?$q" -o "$out" || { echo "LIST-FAILED"; return 0; }
    token=$(python3 - "$out" "$E2E_TMP/keys.txt" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = root.tag[:root.tag.index('}') + 1] if root.tag.startswith('{') else ''
with open(sys.argv[2], 'a') as f:
    for c in root.iter(ns + 'Contents'):
        f.write(c.find(ns + 'Key').text + '\n')
trunc = root.find(ns + 'IsTruncated')
tok = root.find(ns + 'NextContinuationToken')
print(tok.text if trunc is not None and trunc.text == 'true' and tok is not None else '')
EOF
)
    [ -n "$token" ] || break
  done
  sort "$E2E_TMP/keys.txt"
}

local_files() { (cd "$DATA/lake" && find . -name '*.parquet' ! -name '.tmp-*' | sed 's|^\./||' | sort); }

write_config() {
  cat >"$E2E_TMP/orasi.yaml" <<EOF
lake:
  flush_interval: 1s
  maintenance_interval: 1s
  delete_grace: 0s
  compaction: false
  retention_traces: $1
  store: s3
  s3:
    endpoint: \${S3_ENDPOINT}
    bucket: $BUCKET
    prefix: /$PREFIX/
    path_style: true
    max_retries: 1
    retry_base: 100ms
    retry_max: 500ms
    timeout: 20s
    drain_timeout: 30s
EOF
}

ORASI_PID=""
start_orasi() {
  S3_ENDPOINT=$S3_URL AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 \
    "$ORASI_BIN" run --config "$E2E_TMP/orasi.yaml" --data-dir "$DATA" --listen 127.0.0.1 \
    --otlp-grpc-port "$GRPC_PORT" --otlp-http-port "$HTTP_PORT" --api-port "$API_PORT" \
    >>"$E2E_TMP/orasi.log" 2>&1 &
  ORASI_PID=$!
  e2e_register_pid "$ORASI_PID"
  local code=""
  for _ in $(seq 1 300); do
    kill -0 "$ORASI_PID" 2>/dev/null || e2e_die "orasi exited during start-up (log above)"
    code=$(e2e_http_status "$API_URL/ready")
    [ "$code" = 200 ] && return 0
    sleep 0.1
  done
  e2e_die "orasi not ready after 30 s (last /ready status '$code')"
}

# Two spans 48 h old, in one OTLP/JSON request; OLD_PART is their partition.
OLD_S=$(($(date +%s) - 48 * 3600))
OLD_PART="/date=$(date -u -d "@$OLD_S" +%F)/hour=$(date -u -d "@$OLD_S" +%H)/"
send_old_spans() {
  local t=$((OLD_S * 1000000000))
  curl -sf --max-time 10 -H 'Content-Type: application/json' "http://127.0.0.1:$HTTP_PORT/v1/traces" \
    -d '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"old"}}]},
      "scopeSpans":[{"spans":[
        {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"old-1",
         "kind":1,"startTimeUnixNano":"'"$t"'","endTimeUnixNano":"'"$((t + 1000))"'"},
        {"traceId":"0af7651916cd43dd8448eb211c80319d","spanId":"b7ad6b7169203332","name":"old-2",
         "kind":1,"startTimeUnixNano":"'"$t"'","endTimeUnixNano":"'"$((t + 2000))"'"}]}]}]}' \
    >/dev/null
}

# ---- 1: publish and upload, with an outage in the middle ------------------------------------
start_s3rver
write_config 0
start_orasi
send_old_spans || e2e_fail "OTLP/JSON request with old spans refused"
"$ORASI_BIN" loadgen --url "http://127.0.0.1:$HTTP_PORT" --signal traces --rate 1000 \
  --batch 50 --connections 2 --duration 8s --quiet >"$E2E_TMP/loadgen.txt" 2>&1 &
LG_PID=$!
e2e_register_pid "$LG_PID"
sleep 2.5
stop_s3rver
e2e_log "s3rver stopped"
sleep 4
errs=$(e2e_metric orasi_lake_upload_errors_total)
pend=$(e2e_metric orasi_lake_upload_pending_files)
if [ "$errs" != ERR ] && [ "${errs%.*}" -gt 0 ]; then e2e_ok "uploads failed while the store was down ($errs errors)"
else e2e_fail "no upload errors counted during the outage (got '$errs')"; fi
if [ "$pend" != ERR ] && [ "${pend%.*}" -gt 0 ]; then e2e_ok "files pending during the outage ($pend)"
else e2e_fail "no files pending during the outage (got '$pend')"; fi
start_s3rver
e2e_log "s3rver started again"
wait "$LG_PID" || e2e_fail "loadgen failed: $(tail -3 "$E2E_TMP/loadgen.txt")"
sleep 1.5
e2e_stop_orasi

grep -q "uploads resumed" "$E2E_TMP/orasi.log" && e2e_ok "the log says uploads resumed" \
  || e2e_fail "no 'uploads resumed' in the log"
list_keys >"$E2E_TMP/objects.txt"
local_files >"$E2E_TMP/local.txt"
nobj=$(wc -l <"$E2E_TMP/objects.txt")
nloc=$(wc -l <"$E2E_TMP/local.txt")
if [ "$nloc" -ge 4 ]; then e2e_ok "$nloc Parquet files published"; else e2e_fail "only $nloc local files"; fi
bad=$(grep -cvE "^$PREFIX/tenant=[A-Za-z0-9_.-]+/signal=traces/date=[0-9]{4}-[0-9]{2}-[0-9]{2}/hour=[0-9]{2}/[0-9a-f-]{36}\.parquet$" \
  "$E2E_TMP/objects.txt" || true)
e2e_check "every object key follows the Hive layout under the prefix" 0 "$bad"
sed "s|^$PREFIX/||" "$E2E_TMP/objects.txt" >"$E2E_TMP/objects-rel.txt"
if cmp -s "$E2E_TMP/objects-rel.txt" "$E2E_TMP/local.txt"; then
  e2e_ok "the bucket holds exactly the local files ($nobj objects)"
else
  e2e_fail "bucket and lake differ: $(diff "$E2E_TMP/objects-rel.txt" "$E2E_TMP/local.txt" | head -5 | tr '\n' ' ')"
fi
same=0
while read -r rel; do
  s3 GET "/$PREFIX/$rel" -o "$E2E_TMP/obj.parquet" && cmp -s "$E2E_TMP/obj.parquet" "$DATA/lake/$rel" \
    && same=$((same + 1))
done <"$E2E_TMP/local.txt"
e2e_check "objects equal their local files byte for byte" "$nloc" "$same"
head -c 4 "$E2E_TMP/obj.parquet" | grep -q PAR1 && e2e_ok "objects are Parquet (PAR1)" \
  || e2e_fail "object does not start with PAR1"
old_objs=$(grep -c "$OLD_PART" "$E2E_TMP/objects.txt" || true)
if [ "$old_objs" -ge 1 ]; then e2e_ok "the two-day-old partition was uploaded ($old_objs objects)"
else e2e_fail "the two-day-old partition is not in the bucket"; fi

# ---- 2: retention deletes the objects too -----------------------------------------------------
write_config 1d
start_orasi
gone=""
for _ in $(seq 1 100); do
  list_keys >"$E2E_TMP/objects2.txt"
  if ! grep -q "$OLD_PART" "$E2E_TMP/objects2.txt" \
    && ! grep -q LIST-FAILED "$E2E_TMP/objects2.txt"; then gone=1; break; fi
  sleep 0.2
done
e2e_stop_orasi
if [ -n "$gone" ]; then e2e_ok "retention deleted the old partition's objects"
else e2e_fail "the old partition's objects are still in the bucket"; fi
list_keys | sed "s|^$PREFIX/||" >"$E2E_TMP/objects3.txt"
local_files >"$E2E_TMP/local3.txt"
e2e_check "after retention, the lake has $((nloc - old_objs)) files" "$((nloc - old_objs))" "$(wc -l <"$E2E_TMP/local3.txt")"
if cmp -s "$E2E_TMP/objects3.txt" "$E2E_TMP/local3.txt"; then e2e_ok "after retention, bucket = lake"
else e2e_fail "after retention bucket and lake differ"; fi
stop_s3rver
e2e_done
