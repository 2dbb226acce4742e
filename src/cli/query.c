/*
 * query.c — `orasi query`: send SQL to a running Orasi (POST /v1/query) and print the
 * answer as an aligned table (default), CSV or JSON. Exit 0 on success; 1 with the
 * server's (DuckDB's) message on a SQL error or when the server cannot be reached;
 * 2 on a usage error.
 *
 * The table is rendered from the JSON answer: one column per result column, numbers
 * right-aligned, NULL shown as NULL, nested values as compact JSON, cells longer than
 * QUERY_CELL_MAX characters cut with "…", then "(N rows)".
 */
#include "cli/cli.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "lake/lake.h"
#include "otlp/json.h"
#include "sql/sql.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUERY_MAX_ANSWER ((size_t)1 << 30)
#define QUERY_MAX_SQL ((size_t)16 << 20)
#define QUERY_CELL_MAX 120 /* display characters per table cell */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    buf_t *b = ud;
    return buf_append(b, p, sz * n) == 0 ? sz * n : 0;
}

/* Compact JSON text of token i (nested values in table cells). */
static int put_json(buf_t *b, const json_doc_t *d, uint32_t i)
{
    const json_tok_t *t = json_at(d, i);
    int rc = 0;
    switch (t->type) {
    case JSON_NULL: return buf_append_str(b, "null");
    case JSON_TRUE: return buf_append_str(b, "true");
    case JSON_FALSE: return buf_append_str(b, "false");
    case JSON_NUMBER: return buf_append(b, t->p, t->len);
    case JSON_STRING: return buf_append_json_str(b, (const char *)t->p, t->len);
    case JSON_ARRAY:
        rc = buf_append_byte(b, '[');
        JSON_ARR_FOREACH(d, i, el)
        {
            if (!rc && el != i + 1)
                rc = buf_append_byte(b, ',');
            if (!rc)
                rc = put_json(b, d, el);
        }
        return rc ? rc : buf_append_byte(b, ']');
    default:
        rc = buf_append_byte(b, '{');
        JSON_OBJ_FOREACH(d, i, k, v)
        {
            if (!rc && k != i + 1)
                rc = buf_append_byte(b, ',');
            if (!rc)
                rc = put_json(b, d, k);
            if (!rc)
                rc = buf_append_byte(b, ':');
            if (!rc)
                rc = put_json(b, d, v);
        }
        return rc ? rc : buf_append_byte(b, '}');
    }
}

/* Display text of a cell: strings raw (control characters escaped so rows stay on one
 * line), null as NULL, the rest as JSON. */
static int cell_text(buf_t *b, const json_doc_t *d, uint32_t i)
{
    const json_tok_t *t = json_at(d, i);
    if (t->type == JSON_NULL)
        return buf_append_str(b, "NULL");
    if (t->type != JSON_STRING)
        return put_json(b, d, i);
    int rc = 0;
    for (uint32_t k = 0; k < t->len && !rc; k++) {
        uint8_t c = t->p[k];
        if (c == '\n')
            rc = buf_append_str(b, "\\n");
        else if (c == '\t')
            rc = buf_append_str(b, "\\t");
        else if (c == '\r')
            rc = buf_append_str(b, "\\r");
        else if (c < 0x20)
            rc = buf_printf(b, "\\x%02x", c);
        else
            rc = buf_append_byte(b, c);
    }
    return rc;
}

/* Characters (code points) in a UTF-8 string. */
static size_t u8_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((uint8_t)s[i] & 0xC0) != 0x80;
    return w;
}

/* Byte length of the first `chars` code points. */
static size_t u8_prefix(const char *s, size_t n, size_t chars)
{
    size_t i = 0, c = 0;
    for (; i < n; i++) {
        if (((uint8_t)s[i] & 0xC0) != 0x80) {
            if (c == chars)
                break;
            c++;
        }
    }
    return i;
}

struct cellv {
    uint32_t off, len, width;
};

static int is_numeric_type(slice_t t)
{
    static const char *const num[] = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                                      "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
                                      "FLOAT", "DOUBLE", "DECIMAL", NULL};
    for (int i = 0; num[i]; i++) {
        size_t n = strlen(num[i]);
        if (t.len >= n && memcmp(t.p, num[i], n) == 0 && (t.len == n || t.p[n] == '('))
            return 1;
    }
    return 0;
}

static void pad(FILE *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', f);
}

static int print_table(const uint8_t *body, size_t len, FILE *f)
{
    arena_t *a = arena_create(1 << 20, 0);
    json_doc_t d;
    json_err_t je;
    json_limits_t lim = {.max_depth = 256, .max_tokens = 256u << 20, .max_input = QUERY_MAX_ANSWER};
    buf_t text;
    struct cellv *cells = NULL;
    size_t *w = NULL;
    int *num = NULL, rc = 1;
    buf_init(&text, QUERY_MAX_ANSWER);
    if (!a || json_parse(slice_make(body, len), &lim, a, &d, &je) != 0) {
        fprintf(stderr, "orasi query: the server's answer is not JSON%s%s\n", a ? ": " : "",
                a ? je.msg : "");
        goto out;
    }
    uint32_t cols = json_obj_get(&d, 0, "columns"), rows = json_obj_get(&d, 0, "rows");
    uint32_t stats = json_obj_get(&d, 0, "stats");
    if (cols == JSON_NONE || rows == JSON_NONE || !json_is(&d, cols, JSON_ARRAY) ||
        !json_is(&d, rows, JSON_ARRAY)) {
        fprintf(stderr, "orasi query: unexpected answer (no columns/rows)\n");
        goto out;
    }
    size_t nc = json_at(&d, cols)->n, nr = json_at(&d, rows)->n;
    cells = orasi_calloc((nr + 1) * (nc ? nc : 1), sizeof(*cells));
    w = orasi_calloc(nc ? nc : 1, sizeof(*w));
    num = orasi_calloc(nc ? nc : 1, sizeof(*num));
    if (!cells || !w || !num) {
        fprintf(stderr, "orasi query: out of memory\n");
        goto out;
    }
    /* header */
    size_t c = 0;
    JSON_ARR_FOREACH(&d, cols, col)
    {
        uint32_t name = json_obj_get(&d, col, "name"), type = json_obj_get(&d, col, "type");
        struct cellv *cv = &cells[c];
        cv->off = (uint32_t)text.len;
        if (name != JSON_NONE && json_is(&d, name, JSON_STRING))
            buf_append(&text, json_at(&d, name)->p, json_at(&d, name)->len);
        cv->len = (uint32_t)(text.len - cv->off);
        num[c] = type != JSON_NONE && json_is(&d, type, JSON_STRING) &&
                 is_numeric_type(json_slice(&d, type));
        c++;
    }
    size_t r = 1;
    JSON_ARR_FOREACH(&d, rows, row)
    {
        c = 0;
        if (!json_is(&d, row, JSON_ARRAY))
            continue;
        JSON_ARR_FOREACH(&d, row, v)
        {
            if (c >= nc)
                break;
            struct cellv *cv = &cells[r * nc + c];
            cv->off = (uint32_t)text.len;
            if (cell_text(&text, &d, v) != 0) {
                fprintf(stderr, "orasi query: answer too large to print as a table\n");
                goto out;
            }
            cv->len = (uint32_t)(text.len - cv->off);
            c++;
        }
        r++;
    }
    for (size_t i = 0; i < (nr + 1) * nc; i++) {
        struct cellv *cv = &cells[i];
        const char *s = (const char *)text.data + cv->off;
        cv->width = (uint32_t)u8_width(s, cv->len);
        if (cv->width > QUERY_CELL_MAX) {
            cv->len = (uint32_t)u8_prefix(s, cv->len, QUERY_CELL_MAX - 1);
            cv->width = QUERY_CELL_MAX; /* the cut text plus "…" */
        }
        if (cv->width > w[i % nc])
            w[i % nc] = cv->width;
    }
    for (size_t row = 0; row <= nr; row++) {
        for (c = 0; c < nc; c++) {
            struct cellv *cv = &cells[row * nc + c];
            const char *s = (const char *)text.data + cv->off;
            int cut = u8_width(s, cv->len) < cv->width;
            size_t gap = w[c] - cv->width;
            fputs(c ? " | " : " ", f);
            if (row && num[c])
                pad(f, gap);
            fwrite(s, 1, cv->len, f);
            if (cut)
                fputs("…", f);
            if (!(row && num[c]) && c + 1 < nc)
                pad(f, gap);
        }
        fputc('\n', f);
        if (row == 0) {
            for (c = 0; c < nc; c++) {
                fputs(c ? "-+-" : "-", f);
                for (size_t k = 0; k < w[c]; k++)
                    fputc('-', f);
            }
            fputs("-\n", f);
        }
    }
    uint32_t tr = stats != JSON_NONE ? json_obj_get(&d, stats, "truncated") : JSON_NONE;
    int truncated = tr != JSON_NONE && json_is(&d, tr, JSON_TRUE);
    fprintf(f, "(%zu row%s%s)\n", nr, nr == 1 ? "" : "s",
            truncated ? ", truncated: more rows matched (query.max_rows)" : "");
    rc = 0;
out:
    orasi_free(cells);
    orasi_free(w);
    orasi_free(num);
    buf_free(&text);
    arena_destroy(a);
    return rc;
}

/* The "error" member of a JSON error answer, printed to stderr. */
static void print_error(const uint8_t *body, size_t len, long status)
{
    arena_t *a = arena_create(64 << 10, 0);
    json_doc_t d;
    if (a && json_parse(slice_make(body, len), NULL, a, &d, NULL) == 0 &&
        json_is(&d, 0, JSON_OBJECT)) {
        uint32_t e = json_obj_get(&d, 0, "error");
        if (e != JSON_NONE && json_is(&d, e, JSON_STRING)) {
            fprintf(stderr, "orasi query: %.*s\n", (int)json_at(&d, e)->len,
                    (const char *)json_at(&d, e)->p);
            arena_destroy(a);
            return;
        }
    }
    arena_destroy(a);
    fprintf(stderr, "orasi query: HTTP %ld: %.*s\n", status, (int)(len > 2000 ? 2000 : len),
            (const char *)body);
}

static int read_stdin(buf_t *b)
{
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), stdin)) > 0)
        if (buf_append(b, tmp, n) != 0)
            return -1;
    return ferror(stdin) ? -1 : 0;
}

int cmd_query(int argc, char **argv)
{
    const char *url = "http://127.0.0.1:8080", *tenant = NULL, *format = "table", *sql = NULL;
    long timeout_s = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_usage_of("query", stdout);
            return 0;
        } else if (strcmp(a, "--url") == 0) {
            slot = &url;
        } else if (strcmp(a, "--tenant") == 0) {
            slot = &tenant;
        } else if (strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) {
            slot = &format;
        } else if (strcmp(a, "--timeout") == 0) {
            if (i + 1 >= argc || (timeout_s = strtol(argv[i + 1], NULL, 10)) <= 0) {
                fprintf(stderr, "orasi query: --timeout needs a number of seconds\n");
                return 2;
            }
            i++;
            continue;
        } else if (a[0] == '-' && a[1] && strcmp(a, "-") != 0) {
            fprintf(stderr, "orasi query: unknown option '%s'\n", a);
            cli_usage_of("query", stderr);
            return 2;
        } else if (!sql) {
            sql = a;
            continue;
        } else {
            fprintf(stderr, "orasi query: one SQL argument only (quote it)\n");
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "orasi query: %s needs a value\n", a);
            return 2;
        }
        *slot = argv[++i];
    }
    int fmt_table = strcmp(format, "table") == 0, fmt_csv = strcmp(format, "csv") == 0;
    if (!fmt_table && !fmt_csv && strcmp(format, "json") != 0) {
        fprintf(stderr, "orasi query: --format must be table, csv or json\n");
        return 2;
    }
    if (!sql) {
        fprintf(stderr, "orasi query: no SQL given\n");
        cli_usage_of("query", stderr);
        return 2;
    }
    buf_t text, req, resp;
    buf_init(&text, QUERY_MAX_SQL);
    buf_init(&req, QUERY_MAX_SQL * 6 + 64);
    buf_init(&resp, QUERY_MAX_ANSWER);
    int rc = 1;
    CURL *c = NULL;
    struct curl_slist *hdr = NULL;
    char endpoint[2048], th[256], errbuf[CURL_ERROR_SIZE] = "";
    if (strcmp(sql, "-") == 0) {
        if (read_stdin(&text) != 0) {
            fprintf(stderr, "orasi query: cannot read the SQL from stdin\n");
            goto out;
        }
    } else if (buf_append_str(&text, sql) != 0) {
        fprintf(stderr, "orasi query: SQL too long\n");
        goto out;
    }
    if (buf_append_str(&req, "{\"sql\":") || buf_append_json_str(&req, (const char *)text.data, text.len) ||
        buf_append_str(&req, "}")) {
        fprintf(stderr, "orasi query: SQL too long\n");
        goto out;
    }
    size_t ul = strlen(url);
    while (ul && url[ul - 1] == '/')
        ul--;
    snprintf(endpoint, sizeof(endpoint), "%.*s/v1/query", (int)ul, url);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(c = curl_easy_init())) {
        fprintf(stderr, "orasi query: cannot initialise libcurl\n");
        goto out;
    }
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, fmt_csv ? "Accept: text/csv" : "Accept: application/json");
    if (tenant) {
        snprintf(th, sizeof(th), "X-Scope-OrgID: %s", tenant);
        hdr = curl_slist_append(hdr, th);
    }
    curl_easy_setopt(c, CURLOPT_URL, endpoint);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    if (timeout_s)
        curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    CURLcode cr = curl_easy_perform(c);
    if (cr != CURLE_OK) {
        fprintf(stderr, "orasi query: %s: %s\n", endpoint, errbuf[0] ? errbuf : curl_easy_strerror(cr));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        print_error(resp.data, resp.len, status);
        goto out;
    }
    if (fmt_table) {
        rc = print_table(resp.data, resp.len, stdout);
    } else {
        fwrite(resp.data, 1, resp.len, stdout);
        rc = 0;
    }
    if (fflush(stdout) != 0)
        rc = 1;
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    buf_free(&text);
    buf_free(&req);
    buf_free(&resp);
    return rc;
}

/* ---- `orasi bench-query`: the SQL benchmark (bench/query_bench.sh) ----------------------
 *
 *   orasi bench-query --data-dir D --generate-spans N [--hours 24] [--files-per-hour 4]
 *       writes a lake of N spans (9 services, ~40 routes, 2 % errors, heavy-tailed
 *       durations) spread evenly over the last `hours`, plus N/10 log records (5 %
 *       ERROR), through the lake itself (lake_append_* + flushes): files and catalog are
 *       what `orasi run` would have written.
 *   orasi bench-query --data-dir D [--reps 20]
 *       runs the four queries of the issue through the SQL engine (in process) and the
 *       same SQL in a plain DuckDB over read_parquet of the glob "<lake>/tenant=default/
 *       signal=S/<any depth>/<any>.parquet" with hive_partitioning=true; prints one JSON
 *       object per query and engine with p50/p99 latency (ms) and files. */

#define BQ_SERVICES 9
static const char *const bq_services[BQ_SERVICES] = {
    "frontend", "cart", "checkout", "payment", "shipping",
    "email", "currency", "product-catalog", "recommendation"};
static const char *const bq_verbs[] = {"GET", "POST", "PUT", "DELETE"};

static uint64_t bq_rand(uint64_t *s)
{
    /* splitmix64: fast, deterministic */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double bq_unit(uint64_t *s)
{
    return (double)(bq_rand(s) >> 11) / 9007199254740992.0;
}

/* One batch of `n` spans of one service at times t0 + i*step (ns). */
static int bq_spans(lake_t *l, arena_t *a, uint64_t *seed, int svc, size_t n, uint64_t t0,
                    uint64_t step, char (*saved)[33], size_t *nsaved, size_t maxsaved,
                    uint64_t save_every)
{
    otlp_resource_spans_t *rs = arena_calloc(a, sizeof(*rs));
    otlp_scope_spans_t *ss = arena_calloc(a, sizeof(*ss));
    otlp_kv_t *rk = arena_calloc(a, 2 * sizeof(*rk));
    otlp_span_t *sp = arena_calloc(a, n * sizeof(*sp));
    otlp_kv_t *at = arena_calloc(a, 3 * n * sizeof(*at));
    char *routes = arena_alloc(a, n * 48);
    if (!rs || !ss || !rk || !sp || !at || !routes)
        return ORASI_ENOMEM;
    rk[0] = (otlp_kv_t){slice_cstr("service.name"), {.type = OTLP_ANY_STRING}};
    rk[0].value.u.str = slice_cstr(bq_services[svc]);
    rk[1] = (otlp_kv_t){slice_cstr("host.name"), {.type = OTLP_ANY_STRING}};
    rk[1].value.u.str = slice_cstr("node-1");
    rs->resource.attrs = (otlp_attrs_t){rk, 2};
    rs->scope_spans = ss;
    rs->n_scope_spans = 1;
    ss->scope.name = slice_cstr("bench");
    ss->spans = sp;
    ss->n_spans = n;
    for (size_t i = 0; i < n; i++) {
        otlp_span_t *s = &sp[i];
        uint64_t r = bq_rand(seed), r2 = bq_rand(seed);
        s->trace_id.len = 16;
        memcpy(s->trace_id.id, &r, 8);
        memcpy(s->trace_id.id + 8, &r2, 8);
        s->span_id.len = 8;
        uint64_t r3 = bq_rand(seed);
        memcpy(s->span_id.id, &r3, 8);
        int route = (int)(r3 % 5);
        char *rt = routes + i * 48;
        int k = snprintf(rt, 48, "%s /api/%s/%d", bq_verbs[route % 4], bq_services[svc], route);
        s->name = slice_make(rt, (size_t)k);
        s->kind = OTLP_SPAN_KIND_SERVER;
        /* heavy tail: log-normal-ish, median ~20 ms, p99 ~ 0.5 s */
        double u = bq_unit(seed);
        double ms = 20.0 * exp(1.4 * (u < 1e-12 ? -7 : sqrt(-2 * log(u))) *
                               cos(6.283185307 * bq_unit(seed)));
        uint64_t dur = (uint64_t)(ms * 1e6) + 1000;
        s->start_time_unix_nano = t0 + i * step;
        s->end_time_unix_nano = s->start_time_unix_nano + dur;
        int err = bq_rand(seed) % 50 == 0;
        s->status.code = err ? OTLP_STATUS_ERROR : OTLP_STATUS_OK;
        at[3 * i] = (otlp_kv_t){slice_cstr("http.method"), {.type = OTLP_ANY_STRING}};
        at[3 * i].value.u.str = slice_cstr(bq_verbs[route % 4]);
        at[3 * i + 1] = (otlp_kv_t){slice_cstr("http.status_code"), {.type = OTLP_ANY_INT}};
        at[3 * i + 1].value.u.i64 = err ? 500 : 200;
        at[3 * i + 2] = (otlp_kv_t){slice_cstr("http.route"), {.type = OTLP_ANY_STRING}};
        at[3 * i + 2].value.u.str = s->name;
        s->attrs = (otlp_attrs_t){&at[3 * i], 3};
        if (*nsaved < maxsaved && r % save_every == 0) {
            for (int b = 0; b < 16; b++)
                snprintf(saved[*nsaved] + 2 * b, 3, "%02x", s->trace_id.id[b]);
            (*nsaved)++;
        }
    }
    otlp_traces_t t = {.resource_spans = rs, .n_resource_spans = 1, .n_items = n};
    return lake_append_traces(l, slice_cstr("default"), &t, 0);
}

static int bq_logs(lake_t *l, arena_t *a, uint64_t *seed, int svc, size_t n, uint64_t t0,
                   uint64_t step)
{
    static const char *const msgs[] = {"request served", "cache miss", "upstream timeout after 5s",
                                       "payment declined", "retrying connection"};
    otlp_resource_logs_t *rl = arena_calloc(a, sizeof(*rl));
    otlp_scope_logs_t *sl = arena_calloc(a, sizeof(*sl));
    otlp_kv_t *rk = arena_calloc(a, sizeof(*rk));
    otlp_log_record_t *lr = arena_calloc(a, n * sizeof(*lr));
    if (!rl || !sl || !rk || !lr)
        return ORASI_ENOMEM;
    rk[0] = (otlp_kv_t){slice_cstr("service.name"), {.type = OTLP_ANY_STRING}};
    rk[0].value.u.str = slice_cstr(bq_services[svc]);
    rl->resource.attrs = (otlp_attrs_t){rk, 1};
    rl->scope_logs = sl;
    rl->n_scope_logs = 1;
    sl->log_records = lr;
    sl->n_log_records = n;
    for (size_t i = 0; i < n; i++) {
        int err = bq_rand(seed) % 20 == 0;
        lr[i].time_unix_nano = t0 + i * step;
        lr[i].severity_number = err ? 17 : 9;
        lr[i].severity_text = slice_cstr(err ? "ERROR" : "INFO");
        lr[i].body.type = OTLP_ANY_STRING;
        lr[i].body.u.str = slice_cstr(msgs[err ? 2 + bq_rand(seed) % 3 : bq_rand(seed) % 2]);
    }
    otlp_logs_t m = {.resource_logs = rl, .n_resource_logs = 1, .n_items = n};
    return lake_append_logs(l, slice_cstr("default"), &m, 0);
}

static int bq_generate(lake_t *l, uint64_t spans, int hours, int files_per_hour, FILE *ids_out)
{
    arena_t *a = arena_create(4 << 20, 0);
    uint64_t seed = 12345, hour_ns = 3600ull * 1000000000ull;
    uint64_t now = clock_wall_ns(), start = now - (uint64_t)hours * hour_ns;
    uint64_t per_hour = spans / (uint64_t)hours, per_file = per_hour / (uint64_t)files_per_hour;
    char saved[64][33];
    size_t nsaved = 0;
    /* about 128 candidates in the second half of the lake, whatever its size: the first
     * 64 of them are the trace ids the benchmark looks up */
    uint64_t save_every = spans / 256 ? spans / 256 : 1;
    int rc = 0;
    if (!a)
        return ORASI_ENOMEM;
    if (per_file == 0)
        per_file = 1;
    for (int h = 0; h < hours && !rc; h++) {
        for (int f = 0; f < files_per_hour && !rc; f++) {
            uint64_t t0 = start + (uint64_t)h * hour_ns + (uint64_t)f * (hour_ns / (uint64_t)files_per_hour);
            uint64_t span_step = (hour_ns / (uint64_t)files_per_hour) / per_file;
            for (uint64_t done = 0; done < per_file && !rc;) {
                size_t n = per_file - done > 4000 ? 4000 : (size_t)(per_file - done);
                int svc = (int)(bq_rand(&seed) % BQ_SERVICES);
                rc = bq_spans(l, a, &seed, svc, n, t0 + done * span_step, span_step, saved,
                              &nsaved, h >= hours / 2 ? 64 : 0, save_every);
                if (!rc && n >= 10)
                    rc = bq_logs(l, a, &seed, svc, n / 10, t0 + done * span_step, span_step * 10);
                arena_reset(a);
                done += n;
            }
            if (!rc)
                rc = lake_flush(l, 0);
        }
        if (!rc && ((h + 1) % 6 == 0 || h + 1 == hours))
            fprintf(stderr, "bench-query: %d of %d hours written\n", h + 1, hours);
    }
    for (size_t i = 0; i < nsaved; i++)
        fprintf(ids_out, "%s\n", saved[i]);
    arena_destroy(a);
    return rc;
}

static int bq_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double bq_pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), bq_cmp);
    size_t i = (size_t)ceil(p * (double)n) - 1;
    return v[i < n ? i : n - 1];
}

/* Plain DuckDB over the globbed files, with the same views (timestamps as TIMESTAMPTZ so
 * the same SQL binds). */
static int bq_plain_open(const char *root, duckdb_database *db, duckdb_connection *con,
                         uint64_t *files)
{
    char q[4096];
    if (duckdb_open(NULL, db) != DuckDBSuccess || duckdb_connect(*db, con) != DuckDBSuccess)
        return ORASI_EINTERNAL;
    static const char *const sigs[] = {"traces", "logs"};
    duckdb_result r;
    snprintf(q, sizeof(q), "SET TimeZone='UTC'");
    duckdb_query(*con, q, NULL);
    for (int i = 0; i < 2; i++) {
        snprintf(q, sizeof(q),
                 "CREATE VIEW %s AS SELECT * REPLACE (CAST(\"Timestamp\" AS TIMESTAMPTZ) AS "
                 "\"Timestamp\") FROM read_parquet('%.*s/tenant=default/signal=%s/**/*.parquet', "
                 "hive_partitioning=true)",
                 sigs[i], (int)(sizeof(q) / 2), root, sigs[i]);
        if (duckdb_query(*con, q, &r) != DuckDBSuccess) {
            fprintf(stderr, "bench-query: %s\n", duckdb_result_error(&r));
            duckdb_destroy_result(&r);
            return ORASI_EINTERNAL;
        }
        duckdb_destroy_result(&r);
        snprintf(q, sizeof(q), "SELECT count(*) FROM glob('%.*s/tenant=default/signal=%s/**/*.parquet')",
                 (int)(sizeof(q) / 2), root, sigs[i]);
        if (duckdb_query(*con, q, &r) == DuckDBSuccess)
            files[i] = (uint64_t)duckdb_value_int64(&r, 0, 0);
        duckdb_destroy_result(&r);
    }
    return 0;
}

int cmd_bench_query(int argc, char **argv)
{
    const char *dir = NULL, *ids_path = NULL;
    uint64_t gen = 0;
    int hours = 24, fph = 4, reps = 20;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            fprintf(stderr, "orasi bench-query: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--data-dir") == 0)
            dir = argv[++i];
        else if (strcmp(argv[i], "--generate-spans") == 0)
            gen = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--hours") == 0)
            hours = atoi(argv[++i]);
        else if (strcmp(argv[i], "--files-per-hour") == 0)
            fph = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--trace-ids") == 0)
            ids_path = argv[++i];
        else {
            fprintf(stderr, "orasi bench-query: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!dir || hours < 1 || fph < 1 || reps < 1 || !ids_path) {
        fprintf(stderr, "usage: orasi bench-query --data-dir D --trace-ids FILE "
                        "[--generate-spans N [--hours 24] [--files-per-hour 4]] [--reps 20]\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    struct lake_options lo;
    lake_options_default(&lo);
    lo.data_dir = dir;
    lo.flush_interval = 3600ull * 1000000000ull;
    lo.flush_rows = 100000000;
    lo.flush_bytes = 0;
    lo.compaction = 0;
    lo.retention_traces = lo.retention_logs = lo.retention_metrics = 0;
    lo.maintenance_interval = 3600ull * 1000000000ull;
    char err[4096];
    lake_t *l = NULL;
    sql_engine_t *e = NULL;
    duckdb_database pdb = NULL;
    duckdb_connection pcon = NULL;
    int rc = lake_open(&lo, &l, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "orasi bench-query: %s\n", err);
        return 1;
    }
    if (gen) {
        FILE *f = fopen(ids_path, "w");
        uint64_t t0 = clock_mono_ns();
        rc = f ? bq_generate(l, gen, hours, fph, f) : ORASI_EIO;
        if (f)
            fclose(f);
        uint64_t files = 0, rows = 0, bytes = 0;
        catalog_totals(lake_catalog(l), &files, &rows, &bytes);
        printf("{\"generated_spans\":%llu,\"hours\":%d,\"files_per_hour\":%d,\"files\":%llu,"
               "\"rows\":%llu,\"bytes\":%llu,\"seconds\":%.1f}\n",
               (unsigned long long)gen, hours, fph, (unsigned long long)files,
               (unsigned long long)rows, (unsigned long long)bytes,
               (double)(clock_mono_ns() - t0) / 1e9);
        lake_close(l);
        return rc ? 1 : 0;
    }
    char ids[64][40];
    size_t nids = 0;
    FILE *f = fopen(ids_path, "r");
    while (f && nids < 64 && fgets(ids[nids], sizeof(ids[nids]), f))
        if (strlen(ids[nids]) >= 32)
            ids[nids++][32] = 0;
    if (f)
        fclose(f);
    if (!nids) {
        fprintf(stderr, "orasi bench-query: no trace ids in %s\n", ids_path);
        lake_close(l);
        return 1;
    }
    struct sql_options so;
    sql_options_default(&so);
    so.max_rows = 100000;
    if (sql_engine_create(&so, l, &e, err, sizeof(err)) != 0) {
        fprintf(stderr, "orasi bench-query: %s\n", err);
        lake_close(l);
        return 1;
    }
    uint64_t plain_files[2] = {0, 0};
    char root[4096];
    if (!realpath(lake_root(l), root) || bq_plain_open(root, &pdb, &pcon, plain_files) != 0) {
        fprintf(stderr, "orasi bench-query: cannot open plain DuckDB\n");
        rc = 1;
        goto out;
    }
    struct {
        const char *name, *sql;
        int sig; /* index into plain_files */
    } qs[] = {
        {"RED per service, last hour",
         "SELECT ServiceName, count(*) AS requests, count(*) FILTER (WHERE StatusCode = 'Error') "
         "AS errors, quantile_cont(Duration, 0.5) AS p50, quantile_cont(Duration, 0.99) AS p99 "
         "FROM traces WHERE Timestamp > now() - INTERVAL 1 HOUR AND SpanKind = 'Server' "
         "GROUP BY 1 ORDER BY 1", 0},
        {"p99 per route, last day",
         "SELECT SpanName, quantile_cont(Duration, 0.99) AS p99 FROM traces WHERE Timestamp > "
         "now() - INTERVAL 1 DAY GROUP BY 1 ORDER BY 2 DESC", 0},
        {"error-log search, last 6 hours",
         "SELECT Timestamp, ServiceName, Body FROM logs WHERE Timestamp > now() - INTERVAL 6 HOUR "
         "AND SeverityText = 'ERROR' AND Body LIKE '%timeout%' ORDER BY Timestamp DESC LIMIT 100", 1},
        {"trace by id", NULL, 0},
    };
    for (size_t qi = 0; qi < sizeof(qs) / sizeof(qs[0]); qi++) {
        for (int engine = 0; engine < 2; engine++) {
            double *lat = orasi_calloc(2 * (size_t)reps, sizeof(double));
            double *setup = lat + reps;
            uint64_t files = 0, rows = 0;
            int ok = 1;
            if (!lat) {
                rc = 1;
                goto out;
            }
            for (int r = -1; r < reps && ok; r++) { /* r = -1: warm-up */
                char sql[512];
                if (qs[qi].sql)
                    snprintf(sql, sizeof(sql), "%s", qs[qi].sql);
                else
                    snprintf(sql, sizeof(sql), "SELECT * FROM traces WHERE TraceId = '%s'",
                             ids[(size_t)(r + 1) % nids]);
                uint64_t t0 = clock_mono_ns();
                if (engine == 0) {
                    buf_t out;
                    struct sql_stats st;
                    buf_init(&out, (64u << 20) + (64u << 10));
                    ok = sql_query(e, "default", sql, strlen(sql), SQL_FORMAT_JSON, &out, &st, err,
                                   sizeof(err)) == 0;
                    if (!ok)
                        fprintf(stderr, "bench-query: %s: %s\n", qs[qi].name, err);
                    files = st.files_scanned;
                    rows = st.rows;
                    if (r >= 0)
                        setup[r] = st.setup_ms;
                    buf_free(&out);
                } else {
                    duckdb_result res;
                    ok = duckdb_query(pcon, sql, &res) == DuckDBSuccess;
                    if (!ok)
                        fprintf(stderr, "bench-query: plain: %s\n", duckdb_result_error(&res));
                    else
                        rows = duckdb_row_count(&res);
                    duckdb_destroy_result(&res);
                    files = plain_files[qs[qi].sig];
                }
                if (r >= 0)
                    lat[r] = (double)(clock_mono_ns() - t0) / 1e6;
            }
            if (ok)
                printf("{\"query\":\"%s\",\"engine\":\"%s\",\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
                       "\"setup_p50_ms\":%.2f,\"files\":%llu,\"rows\":%llu,\"reps\":%d}\n",
                       qs[qi].name, engine == 0 ? "orasi" : "plain duckdb", bq_pct(lat, (size_t)reps, 0.5),
                       bq_pct(lat, (size_t)reps, 0.99), bq_pct(setup, (size_t)reps, 0.5),
                       (unsigned long long)files, (unsigned long long)rows, reps);
            else
                rc = 1;
            fflush(stdout);
            orasi_free(lat);
        }
    }
out:
    if (pcon)
        duckdb_disconnect(&pcon);
    if (pdb)
        duckdb_close(&pdb);
    sql_engine_destroy(e);
    lake_close(l);
    return rc;
}
