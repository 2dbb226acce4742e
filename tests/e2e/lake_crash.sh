#!/usr/bin/env bash
# lake_crash.sh — exactly-once into the lake across hard crashes.
#
# `orasi loadgen` sends traces continuously and logs the id of every span it got an
# acknowledgement for. Meanwhile the server is killed with SIGKILL five times at random
# moments and restarted on the same ports (the WAL is replayed into the buffers at start,
# orphan Parquet files of a crash between rename and commit are deleted), then stopped
# with SIGTERM. Checks:
#   - every acknowledged span is in the lake exactly once (DuckDB over the files the
#     catalog lists, through the small C helper lake_duck.c);
#   - no span is in the lake twice at all (unacknowledged ones may be there once);
#   - the WAL (1 MiB segments here) kept checkpointed segments for reuse (free-*.wal), so
#     the crashes hit segments being filled, rolled past and reused;
#   - hyparquet (+ hyparquet-compressors) and arrow-rs (parquet-wasm), independent readers, read the same files
#     to identical rows (row count and values of 12 columns, maps included).
# Needs: orasi run wired to the lake sink, node + tests/e2e/node_modules (scripts/setup
# --test), a C compiler.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init lake_crash

KILLS=${LAKE_CRASH_KILLS:-5}
DUCK_DIR=$E2E_SRC/.deps/duckdb-1.4.4

e2e_need_orasi
command -v node >/dev/null || e2e_die "node is missing (scripts/setup --test)"
[ -d "$E2E_DIR/node_modules/hyparquet" ] && [ -d "$E2E_DIR/node_modules/hyparquet-compressors" ] && [ -d "$E2E_DIR/node_modules/parquet-wasm" ] \
  || e2e_die "hyparquet or parquet-wasm is missing: run scripts/setup --test (npm ci in tests/e2e)"
[ -f "$DUCK_DIR/lib/libduckdb.so" ] || e2e_die "DuckDB is missing: run scripts/setup"

DUCK=$E2E_TMP/lake_duck
${CC:-cc} -O1 -o "$DUCK" "$E2E_DIR/lake_duck.c" -I"$DUCK_DIR/include" -L"$DUCK_DIR/lib" \
  -Wl,-rpath,"$DUCK_DIR/lib" -lduckdb -lsqlite3 || e2e_die "cannot build lake_duck.c"

ports=$(e2e_free_ports 3) || e2e_die "could not pick free ports"
read -r GRPC_PORT HTTP_PORT API_PORT <<<"$ports"
DATA=$E2E_TMP/data
ACK=$E2E_TMP/acked.txt
CFG=$E2E_TMP/orasi.yaml
mkdir -p "$DATA"
# Flush every second so crashes land at every stage: buffering, writing, publishing.
# Small WAL segments, so that segments fill and roll while they hold unpublished records
# and checkpointed ones are reused (free-*.wal): crashes also land in those steps.
cat >"$CFG" <<EOF
lake:
  wal_segment_bytes: 1MiB
  flush_interval: 1s
  maintenance_interval: 2s
  compaction_min_files: 2
  delete_grace: 1s
EOF

SERVER_PID=""
start_server() {
  "$ORASI_BIN" run --config "$CFG" --data-dir "$DATA" --listen 127.0.0.1 \
    --otlp-grpc-port "$GRPC_PORT" --otlp-http-port "$HTTP_PORT" --api-port "$API_PORT" \
    >>"$E2E_TMP/orasi.log" 2>&1 &
  SERVER_PID=$!
  e2e_register_pid "$SERVER_PID"
  local i code=""
  for i in $(seq 1 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || e2e_die "orasi exited during start-up (log above)"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$API_PORT/ready" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.1
  done
  e2e_die "orasi not ready after 30 s (last /ready status '$code')"
}

start_server
[ -f "$DATA/catalog.db" ] && [ -d "$DATA/wal" ] \
  || e2e_die "orasi run does not write the lake (server.c must create the sink with sink_lake_create)"

# 22 s of traffic; the kills happen inside that window.
"$ORASI_BIN" loadgen --url "http://127.0.0.1:$HTTP_PORT" --signal traces --rate 3000 \
  --batch 50 --connections 4 --duration 22s --timeout 2s --ack-log "$ACK" --seed 42 --quiet \
  >"$E2E_TMP/loadgen.txt" 2>&1 &
LG_PID=$!
e2e_register_pid "$LG_PID"

for k in $(seq 1 "$KILLS"); do
  # random moment: 1 .. 3.5 s after the previous start
  sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 1 + (r % 250) / 100 }')"
  kill -KILL "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null
  e2e_log "kill -9 #$k ($(wc -l <"$ACK" 2>/dev/null || echo 0) spans acknowledged so far)"
  start_server
done

wait "$LG_PID"
e2e_log "loadgen: $(grep -E '^items' "$E2E_TMP/loadgen.txt" || true)"
sleep 1.5
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
e2e_check "orasi exits 0 on SIGTERM after the crashes" 0 "$?"
# The WAL kept checkpointed segments for reuse (free-0/1.wal), so the crashes above hit
# a log whose segments were being reused.
ls "$DATA"/wal/free-*.wal >/dev/null 2>&1 && e2e_ok "checkpointed WAL segments kept for reuse (free-*.wal present)" \
  || e2e_fail "no reused WAL segment in $DATA/wal: $(ls "$DATA/wal" | head -5 | tr '\n' ' ')"

acked=$(sort -u "$ACK" | tee "$E2E_TMP/acked.sorted" | wc -l)
[ "$acked" -gt 1000 ] && e2e_ok "$acked spans acknowledged across $KILLS crashes" \
  || e2e_fail "too few spans acknowledged ($acked)"

"$DUCK" "$DATA" traces \
  "SELECT TraceId || ' ' || SpanId FROM read_parquet({files}, hive_partitioning=false)" \
  | sort >"$E2E_TMP/lake.sorted" || e2e_die "DuckDB could not read the lake"
rows=$(wc -l <"$E2E_TMP/lake.sorted")
dups=$(uniq -d "$E2E_TMP/lake.sorted" | wc -l)
e2e_check "spans stored twice" 0 "$dups"
missing=$(comm -23 "$E2E_TMP/acked.sorted" "$E2E_TMP/lake.sorted" | wc -l)
e2e_check "acknowledged spans missing from the lake" 0 "$missing"
e2e_log "lake holds $rows spans ($((rows - acked + missing)) sent but not acknowledged before a kill);" \
  "restarts removed $(grep -c 'removing orphan' "$E2E_TMP/orasi.log") orphan files"

# The same files through hyparquet: identical rows.
QUERY="SELECT TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, StatusCode, Duration,
  epoch_ms(\"Timestamp\"),
  array_to_string(list_sort(list_transform(map_entries(SpanAttributes), e -> e.key || '=' || e.value)), ';'),
  len(\"Events.Name\"), coalesce(ResourceAttributes['service.name'], '')
  FROM read_parquet({files}, hive_partitioning=false)"
"$DUCK" "$DATA" traces "$QUERY" | sort >"$E2E_TMP/duck.tsv"
mapfile -t files < <("$DUCK" "$DATA" traces --list)
(cd "$E2E_DIR" && node lake_read.mjs "${files[@]}") | sort >"$E2E_TMP/hyparquet.tsv" \
  || e2e_fail "hyparquet could not read the lake"
e2e_check "rows read by hyparquet" "$(wc -l <"$E2E_TMP/duck.tsv")" "$(wc -l <"$E2E_TMP/hyparquet.tsv")"
if cmp -s "$E2E_TMP/duck.tsv" "$E2E_TMP/hyparquet.tsv"; then
  e2e_ok "hyparquet and DuckDB read identical values (${#files[@]} files)"
else
  e2e_fail "hyparquet and DuckDB disagree: $(diff "$E2E_TMP/duck.tsv" "$E2E_TMP/hyparquet.tsv" | head -4)"
fi
# And through arrow-rs (parquet-wasm): a third, stricter implementation of the format.
(cd "$E2E_DIR" && node lake_read.mjs --arrow "${files[@]}") | sort >"$E2E_TMP/arrow.tsv" \
  || e2e_fail "arrow-rs (parquet-wasm) could not read the lake"
if cmp -s "$E2E_TMP/duck.tsv" "$E2E_TMP/arrow.tsv"; then
  e2e_ok "arrow-rs and DuckDB read identical values (${#files[@]} files)"
else
  e2e_fail "arrow-rs and DuckDB disagree: $(diff "$E2E_TMP/duck.tsv" "$E2E_TMP/arrow.tsv" | head -4)"
fi
# Files are ZSTD-compressed, as the lake promises.
nz=$("$DUCK" "$DATA" traces \
  "SELECT count(*) FROM parquet_metadata({files}) WHERE compression <> 'ZSTD'")
e2e_check "column chunks not ZSTD" 0 "$nz"

e2e_done
