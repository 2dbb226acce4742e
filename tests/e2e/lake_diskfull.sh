#!/usr/bin/env bash
# lake_diskfull.sh — a full disk is backpressure, never loss or a crash.
#
# The data directory is a 16 MiB tmpfs. `orasi loadgen` sends traces faster than the
# disk can hold them and logs every span it got an acknowledgement for. Checks:
#   - once the disk is full the server answers 429/503 (with Retry-After), and stays alive
#     and healthy;
#   - when space returns (the tmpfs is grown with a remount) ingest resumes: new spans are
#     acknowledged again;
#   - after SIGTERM (exit 0) every acknowledged span is in the lake exactly once.
# Needs root (mount). Without root the test says so and fails: CI runs as root.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init lake_diskfull
e2e_need_orasi
[ "$(id -u)" = 0 ] || e2e_die "needs root to mount a small tmpfs"
DUCK_DIR=$E2E_SRC/.deps/duckdb-1.4.4
DUCK=$E2E_TMP/lake_duck
${CC:-cc} -O1 -o "$DUCK" "$E2E_DIR/lake_duck.c" -I"$DUCK_DIR/include" -L"$DUCK_DIR/lib" \
  -Wl,-rpath,"$DUCK_DIR/lib" -lduckdb -lsqlite3 || e2e_die "cannot build lake_duck.c"

MNT=$E2E_TMP/mnt
mkdir -p "$MNT"
mount -t tmpfs -o size=16m tmpfs "$MNT" || e2e_die "cannot mount a tmpfs on $MNT"
umount_mnt() { umount -l "$MNT" 2>/dev/null || true; }
trap 'umount_mnt; e2e_cleanup' EXIT

CFG=$E2E_TMP/orasi.yaml
cat >"$CFG" <<CFGEOF
lake:
  flush_interval: 1s
  wal_segment_bytes: 4MiB
CFGEOF
ports=$(e2e_free_ports 3) || e2e_die "could not pick free ports"
read -r GRPC_PORT HTTP_PORT API_PORT <<<"$ports"
API_URL=http://127.0.0.1:$API_PORT
"$ORASI_BIN" run --config "$CFG" --data-dir "$MNT/data" --listen 127.0.0.1 \
  --otlp-grpc-port "$GRPC_PORT" --otlp-http-port "$HTTP_PORT" --api-port "$API_PORT" \
  >>"$E2E_TMP/orasi.log" 2>&1 &
ORASI_PID=$!
e2e_register_pid "$ORASI_PID"
for i in $(seq 1 200); do
  [ "$(e2e_http_status "$API_URL/ready")" = 200 ] && break
  kill -0 "$ORASI_PID" 2>/dev/null || e2e_die "orasi exited during start-up"
  sleep 0.1
done

ACK=$E2E_TMP/acked1.txt
# Phase 1: fill the disk.
"$ORASI_BIN" loadgen --url "http://127.0.0.1:$HTTP_PORT" --signal traces --rate 60000 \
  --batch 500 --connections 4 --duration 12s --timeout 5s --ack-log "$ACK" --seed 7 --quiet \
  >"$E2E_TMP/loadgen1.txt" 2>&1
e2e_log "phase 1: $(grep -E '^(items|refusals)' "$E2E_TMP/loadgen1.txt" | tr '\n' ' ')"
e2e_log "disk: $(df -h "$MNT" | tail -1)"
refused=$(grep -E '^refusals' "$E2E_TMP/loadgen1.txt")
if grep -qE '^refusals.*(429|503)' "$E2E_TMP/loadgen1.txt"; then
  e2e_ok "a full disk is answered with 429/503 ($refused)"
else
  e2e_fail "no 429/503 while the disk was full: $(cat "$E2E_TMP/loadgen1.txt")"
fi
kill -0 "$ORASI_PID" 2>/dev/null && e2e_ok "orasi is alive with the disk full" \
  || e2e_die "orasi died when the disk filled (log: $(tail -5 "$E2E_TMP/orasi.log"))"
e2e_check "GET /health with the disk full" 200 "$(e2e_http_status "$API_URL/health")"
acked1=$(sort -u "$ACK" | wc -l)

# Phase 2: space returns.
ACK=$E2E_TMP/acked2.txt
mount -o remount,size=1g "$MNT" || e2e_die "cannot grow the tmpfs"
sleep 2
"$ORASI_BIN" loadgen --url "http://127.0.0.1:$HTTP_PORT" --signal traces --rate 2000 \
  --batch 100 --connections 2 --duration 4s --timeout 5s --ack-log "$ACK" --seed 8 --quiet \
  >"$E2E_TMP/loadgen2.txt" 2>&1
e2e_log "phase 2: $(grep -E '^(items|refusals)' "$E2E_TMP/loadgen2.txt" | tr '\n' ' ')"
acked2=$(sort -u "$ACK" | wc -l)
[ "$acked2" -gt 0 ] && e2e_ok "ingest resumes when space returns ($acked2 more spans acknowledged)" \
  || e2e_fail "nothing acknowledged after space returned"

kill -TERM "$ORASI_PID"
st=0
wait "$ORASI_PID" || st=$?
e2e_check "orasi exit status after SIGTERM" 0 "$st"

e2e_log "phase 1 acknowledged $acked1 spans"
sort -u "$E2E_TMP/acked1.txt" "$E2E_TMP/acked2.txt" >"$E2E_TMP/acked.sorted"
"$DUCK" "$MNT/data" traces \
  "SELECT TraceId || ' ' || SpanId FROM read_parquet({files}, hive_partitioning=false)" \
  | sort >"$E2E_TMP/lake.sorted" || e2e_die "DuckDB could not read the lake"
e2e_check "spans stored twice" 0 "$(uniq -d "$E2E_TMP/lake.sorted" | wc -l)"
e2e_check "acknowledged spans missing from the lake" 0 \
  "$(comm -23 "$E2E_TMP/acked.sorted" "$E2E_TMP/lake.sorted" | wc -l)"
e2e_log "acknowledged $(wc -l <"$E2E_TMP/acked.sorted"), lake holds $(wc -l <"$E2E_TMP/lake.sorted")"
e2e_done
