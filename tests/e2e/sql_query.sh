#!/usr/bin/env bash
# tests/e2e/sql_query.sh — issue 5: SQL over the lake of a running `orasi run`.
#
# Spans go in with `orasi loadgen` (ack log) and with curl (OTLP/JSON); then:
#   - POST /v1/query (JSON and CSV) counts exactly the acknowledged spans, per tenant,
#     and a tenant without data sees none;
#   - freshness: a span acknowledged is visible to a query within one second (default
#     settings: the lake has not flushed it yet, the query reads the buffer);
#   - `orasi query` prints the issue's query as an aligned table, and CSV and JSON;
#   - a SQL error answers 400 with DuckDB's position, `orasi query` exits 1 with it;
#   - refused statements (COPY, read_csv of /etc/passwd) answer 400;
#   - after a restart (SIGTERM flushes everything to Parquet) the same counts come from
#     files (files_scanned > 0), and /metrics counts the queries.
# Needs: orasi run wired to the lake sink (POST /v1/query is on the API port then).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init sql_query
e2e_need_orasi

# q TENANT SQL [ACCEPT] — POST /v1/query; body in $E2E_TMP/q.out, prints the status.
q() {
  local tenant=$1 sql=$2 accept=${3:-application/json} body
  body=$(python3 -c 'import json,sys; print(json.dumps({"sql": sys.argv[1]}))' "$sql")
  curl -s -o "$E2E_TMP/q.out" -w '%{http_code}' --max-time 30 -X POST \
    -H 'Content-Type: application/json' -H "Accept: $accept" \
    ${tenant:+-H "X-Scope-OrgID: $tenant"} --data-binary "$body" "$API_URL/v1/query" || true
}
# jget EXPR — evaluate a Python expression on the JSON answer `d` in q.out.
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$E2E_TMP/q.out" 2>&1; }

e2e_start_orasi

st=$(q "" "SELECT 42 AS answer")
e2e_check "POST /v1/query is served (status)" 200 "$st"
[ "$st" = 200 ] || e2e_die "no /v1/query on the API port: is orasi run wired to the lake? $(cat "$E2E_TMP/q.out")"
e2e_check "SELECT 42 answers [[42]]" "[[42]]" "$(jget 'json.dumps(d["rows"])')"

# ---- spans in, through loadgen, acknowledged ---------------------------------------------------
ACK=$E2E_TMP/acked.txt
"$ORASI_BIN" loadgen --url "$OTLP_HTTP_URL" --signal traces --rate 3000 --duration 2s \
  --tenant acme --ack-log "$ACK" --quiet >"$E2E_TMP/loadgen.txt" 2>&1
st=$?
e2e_check "loadgen exit status" 0 "$st"
ACKED=$(wc -l <"$ACK")
e2e_log "loadgen acknowledged $ACKED spans"
[ "$ACKED" -gt 100 ] || e2e_die "loadgen acknowledged only $ACKED spans"

st=$(q acme "SELECT count(*) AS n, count(DISTINCT TraceId || SpanId) AS ids FROM traces")
e2e_check "count query status" 200 "$st"
e2e_check "every acknowledged span is counted (right after the ack)" "$ACKED" "$(jget 'd["rows"][0][0]')"
e2e_check "and each once" "$ACKED" "$(jget 'd["rows"][0][1]')"
# the ack log lists "<trace id> <span id>": the same set must be in the lake
st=$(q acme "SELECT TraceId || ' ' || SpanId FROM traces ORDER BY 1 LIMIT 5")
first=$(sort "$ACK" | head -5 | tr '\n' '|')
got=$(jget '"|".join(r[0] for r in d["rows"]) + "|"')
e2e_check "the lake holds the acknowledged ids" "$first" "$got"
st=$(q "" "SELECT count(*) FROM traces")
e2e_check "tenant 'default' sees none of acme's spans" 0 "$(jget 'd["rows"][0][0]')"
st=$(q other "SELECT count(*) FROM traces")
e2e_check "tenant 'other' sees none of acme's spans" 0 "$(jget 'd["rows"][0][0]')"

# ---- freshness: acknowledged -> visible within 1 s ----------------------------------------------
TID=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
SID=$(python3 -c 'import secrets; print(secrets.token_hex(8))')
NOW=$(python3 -c 'import time; print(time.time_ns())')
span='{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"fresh-svc"}}]},"scopeSpans":[{"spans":[{"traceId":"'$TID'","spanId":"'$SID'","name":"GET /fresh","kind":2,"startTimeUnixNano":"'$NOW'","endTimeUnixNano":"'$((NOW + 1234567))'"}]}]}]}'
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
  -H 'X-Scope-OrgID: acme' --data-binary "$span" "$OTLP_HTTP_URL/v1/traces")
e2e_check "OTLP/JSON span acknowledged" 200 "$st"
t0=$(date +%s%N)
seen="" polls=0
while :; do
  polls=$((polls + 1))
  q acme "SELECT Duration FROM traces WHERE TraceId = '$TID'" >/dev/null
  if [ "$(jget 'len(d["rows"])')" = 1 ]; then seen=$(( ($(date +%s%N) - t0) / 1000000 )); break; fi
  [ $(( $(date +%s%N) - t0 )) -gt 1000000000 ] && break
  sleep 0.05
done
if [ -n "$seen" ] && [ "$seen" -le 1000 ]; then e2e_ok "acknowledged span visible after $seen ms (query $polls, timed with this script's curl+python)"
else e2e_fail "acknowledged span not visible within 1 s"; fi
e2e_check "visible to the very first query after the ack" 1 "$polls"
e2e_check "its Duration (ns, every digit)" 1234567 "$(jget 'd["rows"][0][0]')"
e2e_check "found by the trace-id index" 0 "$(jget 'd["stats"]["files_scanned"]')"

# ---- CSV over HTTP --------------------------------------------------------------------------------
st=$(q acme "SELECT ServiceName, count(*) AS n FROM traces GROUP BY 1 ORDER BY 1" text/csv)
e2e_check "CSV status" 200 "$st"
e2e_check "CSV header" "ServiceName,n" "$(head -1 "$E2E_TMP/q.out" | tr -d '\r')"
csv_total=$(python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); print(sum(int(x[1]) for x in r[1:]))' "$E2E_TMP/q.out")
e2e_check "CSV counts add up" "$((ACKED + 1))" "$csv_total"

# ---- orasi query: table, csv, json ----------------------------------------------------------------
ISSUE_SQL="SELECT ServiceName, count(*), quantile_cont(Duration, 0.99) FROM traces WHERE Timestamp > now() - INTERVAL 1 HOUR GROUP BY 1"
out=$("$ORASI_BIN" query --url "$API_URL" --tenant acme "$ISSUE_SQL" 2>"$E2E_TMP/err.txt"); st=$?
e2e_check "orasi query (table) exit status" 0 "$st"
printf '%s\n' "$out" >"$E2E_TMP/table.txt"
e2e_log "table:"; head -5 "$E2E_TMP/table.txt" | sed 's/^/    /' >&2
hdr=$(sed -n 1p <<<"$out")
if grep -q 'ServiceName' <<<"$hdr" && grep -q 'count_star()' <<<"$hdr" && grep -q 'quantile_cont' <<<"$hdr"; then
  e2e_ok "table header names the columns"
else e2e_fail "table header: $hdr"; fi
aligned=$(python3 - "$E2E_TMP/table.txt" <<'EOF'
import sys
lines = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8")]
body = [l for l in lines if l and not l.startswith("(")]
# every line has its column separators at the same character positions
pos = {tuple(i for i, ch in enumerate(l) if ch in "|+") for l in body}
print("yes" if len(pos) == 1 and len(body) >= 3 else "no: %r" % pos)
EOF
)
e2e_check "table columns are aligned" yes "$aligned"
tab_total=$(awk -F'|' 'NR>2 && NF==3 {gsub(/ /,"",$2); s+=$2} END {print s+0}' "$E2E_TMP/table.txt")
e2e_check "table counts add up to the acknowledged spans" "$((ACKED + 1))" "$tab_total"
grep -qE '^\([0-9]+ rows?\)$' <<<"$(tail -1 <<<"$out")" && e2e_ok "table ends with the row count" \
  || e2e_fail "table footer: $(tail -1 <<<"$out")"

"$ORASI_BIN" query --url "$API_URL" --tenant acme --format csv "$ISSUE_SQL" >"$E2E_TMP/cli.csv"; st=$?
e2e_check "orasi query --format csv exit status" 0 "$st"
csv_total=$(python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); print(sum(int(x[1]) for x in r[1:]))' "$E2E_TMP/cli.csv")
e2e_check "orasi query csv counts add up" "$((ACKED + 1))" "$csv_total"

"$ORASI_BIN" query --url "$API_URL" --tenant acme --format json \
  "SELECT count(*) AS n, 9223372036854775807 AS big FROM traces" >"$E2E_TMP/q.out"; st=$?
e2e_check "orasi query --format json exit status" 0 "$st"
e2e_check "json rows" "[[$((ACKED + 1)), 9223372036854775807]]" "$(jget 'json.dumps(d["rows"])')"
e2e_check "json stats present" "False" "$(jget 'd["stats"]["truncated"]')"
grep -q '9223372036854775807' "$E2E_TMP/q.out" && e2e_ok "64-bit integer keeps every digit" \
  || e2e_fail "64-bit integer lost digits"

# ---- errors -------------------------------------------------------------------------------------------
"$ORASI_BIN" query --url "$API_URL" "SELEC 1" >"$E2E_TMP/o.txt" 2>"$E2E_TMP/err.txt"; st=$?
e2e_check "orasi query on a SQL error exits" 1 "$st"
grep -q 'Parser Error' "$E2E_TMP/err.txt" && grep -q 'LINE 1' "$E2E_TMP/err.txt" \
  && e2e_ok "orasi query prints DuckDB's message with the position" \
  || e2e_fail "orasi query error output: $(cat "$E2E_TMP/err.txt")"
st=$(q acme "SELECT nope FROM traces")
e2e_check "SQL error status" 400 "$st"
e2e_check "error names the position" True "$(jget '"LINE 1" in d["error"] and "^" in d["error"]')"
st=$(q acme "COPY (SELECT * FROM traces) TO '/tmp/orasi-e2e-pwned.csv'")
e2e_check "COPY refused" 400 "$st"
st=$(q acme "SELECT * FROM read_csv('/etc/passwd')")
e2e_check "read_csv('/etc/passwd') refused" 400 "$st"
e2e_check "refusal says why" True "$(jget '"Permission Error" in d["error"]')"
[ ! -e /tmp/orasi-e2e-pwned.csv ] && e2e_ok "nothing written by COPY" || e2e_fail "COPY wrote a file"
"$ORASI_BIN" query --url "http://127.0.0.1:1" "SELECT 1" >/dev/null 2>"$E2E_TMP/err.txt"; st=$?
e2e_check "orasi query against nothing exits" 1 "$st"

e2e_check "orasi_sql_queries_total{result=ok} counted" yes \
  "$( [ "$(e2e_metric orasi_sql_queries_total result=ok)" -ge 10 ] 2>/dev/null && echo yes || echo no)"
e2e_check "orasi_sql_queries_total{result=sql_error} counted" yes \
  "$( [ "$(e2e_metric orasi_sql_queries_total result=sql_error)" -ge 3 ] 2>/dev/null && echo yes || echo no)"

# ---- after a restart: the same rows, now from Parquet --------------------------------------------------
e2e_stop_orasi
e2e_start_orasi
st=$(q acme "SELECT count(*) FROM traces")
e2e_check "count after restart" "$((ACKED + 1))" "$(jget 'd["rows"][0][0]')"
files=$(jget 'd["stats"]["files_scanned"]')
[ "${files:-0}" -ge 1 ] 2>/dev/null && e2e_ok "read from $files Parquet file(s)" || e2e_fail "files_scanned = $files"
st=$(q acme "SELECT count(*) FROM traces WHERE TraceId = '$TID'")
e2e_check "trace-id lookup after restart" 1 "$(jget 'd["rows"][0][0]')"
e2e_check "trace-id lookup opens one file" 1 "$(jget 'd["stats"]["files_scanned"]')"
e2e_stop_orasi
e2e_done
