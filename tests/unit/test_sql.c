/*
 * test_sql.c — the SQL engine against a real lake: values checked against numbers the
 * test computes from the rows it wrote itself, the sandbox (each refusal), tenant
 * isolation, partition pruning and the trace-id index (files_scanned), freshness and
 * flush consistency, timeout, row cap, output encoding (JSON and CSV).
 */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "lake/lake.h"
#include "otlp/json.h"
#include "sql/sql.h"
#include "sql/sql_prune.h"

#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define NS_PER_S 1000000000ull
#define NS_PER_HOUR (3600ull * NS_PER_S)

/* ---- fixture ---------------------------------------------------------------------------- */

struct fx {
    char dir[64];
    lake_t *lake;
    sql_engine_t *e;
    arena_t *a;
    int use_seq;  /* appends carry increasing WAL sequence numbers, as behind a WAL */
    uint64_t seq;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void fx_open(struct fx *f, const struct sql_options *so)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/orasi-sql-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct lake_options lo;
    lake_options_default(&lo);
    lo.data_dir = f->dir;
    lo.flush_interval = 3600 * NS_PER_S; /* only explicit flushes */
    lo.maintenance_interval = 3600 * NS_PER_S;
    lo.compaction = 0;
    char err[512];
    int rc = lake_open(&lo, &f->lake, err, sizeof(err));
    if (rc)
        fprintf(stderr, "lake_open: %s\n", err);
    assert_int_equal(rc, 0);
    rc = sql_engine_create(so, f->lake, &f->e, err, sizeof(err));
    if (rc)
        fprintf(stderr, "sql_engine_create: %s\n", err);
    assert_int_equal(rc, 0);
    f->a = arena_create(1 << 20, 0);
    assert_non_null(f->a);
}

static void fx_close(struct fx *f)
{
    sql_engine_destroy(f->e);
    lake_close(f->lake);
    arena_destroy(f->a);
    nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t now_ns(void)
{
    return clock_wall_ns();
}

/* ---- data the test writes ------------------------------------------------------------------- */

static void make_id(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(seed >> 56);
    }
}

static slice_t S(const char *s)
{
    return slice_cstr(s);
}

/* What the test knows about the spans it wrote. */
struct truth {
    uint64_t count;
    int64_t dur_sum;
    uint64_t errors;
};

static int64_t span_dur(uint64_t seed)
{
    return 1000 + (int64_t)(seed % 977) * 1013; /* ns, varied */
}

/* n spans of service svc, trace ids from seed+i (distinct), start t0 + i*step. */
static void add_spans(struct fx *f, const char *tenant, const char *svc, size_t n, uint64_t t0,
                      uint64_t step, uint64_t seed, struct truth *tr)
{
    arena_t *a = f->a;
    otlp_resource_spans_t *rs = arena_calloc(a, sizeof(*rs));
    otlp_scope_spans_t *ss = arena_calloc(a, sizeof(*ss));
    otlp_kv_t *rattr = arena_calloc(a, sizeof(*rattr));
    otlp_span_t *sp = arena_calloc(a, n * sizeof(*sp) + 1);
    assert_true(rs && ss && rattr && sp);
    rattr[0].key = S("service.name");
    rattr[0].value.type = OTLP_ANY_STRING;
    rattr[0].value.u.str = S(arena_strndup(a, svc, strlen(svc)));
    rs->resource.attrs = (otlp_attrs_t){rattr, 1};
    rs->scope_spans = ss;
    rs->n_scope_spans = 1;
    ss->scope.name = S("test");
    ss->spans = sp;
    ss->n_spans = n;
    for (size_t i = 0; i < n; i++) {
        sp[i].trace_id.len = 16;
        make_id(sp[i].trace_id.id, 16, seed + i);
        sp[i].span_id.len = 8;
        make_id(sp[i].span_id.id, 8, ~(seed + i));
        sp[i].name = S(i % 2 ? "GET /a" : "GET /b");
        sp[i].kind = OTLP_SPAN_KIND_SERVER;
        sp[i].start_time_unix_nano = t0 + i * step;
        sp[i].end_time_unix_nano = t0 + i * step + (uint64_t)span_dur(seed + i);
        sp[i].status.code = (seed + i) % 10 == 0 ? OTLP_STATUS_ERROR : OTLP_STATUS_OK;
        if (tr) {
            tr->count++;
            tr->dur_sum += span_dur(seed + i);
            tr->errors += (seed + i) % 10 == 0;
        }
    }
    otlp_traces_t t = {.resource_spans = rs, .n_resource_spans = 1, .n_items = n};
    assert_int_equal(lake_append_traces(f->lake, S(tenant), &t, f->use_seq ? ++f->seq : 0), 0);
    arena_reset(a);
}

static void add_log(struct fx *f, const char *tenant, const char *svc, uint64_t ts,
                    const char *body)
{
    arena_t *a = f->a;
    otlp_resource_logs_t *rl = arena_calloc(a, sizeof(*rl));
    otlp_scope_logs_t *sl = arena_calloc(a, sizeof(*sl));
    otlp_kv_t *rattr = arena_calloc(a, sizeof(*rattr));
    otlp_log_record_t *lr = arena_calloc(a, sizeof(*lr));
    assert_true(rl && sl && rattr && lr);
    rattr[0].key = S("service.name");
    rattr[0].value.type = OTLP_ANY_STRING;
    rattr[0].value.u.str = S(svc);
    rl->resource.attrs = (otlp_attrs_t){rattr, 1};
    rl->scope_logs = sl;
    rl->n_scope_logs = 1;
    sl->log_records = lr;
    sl->n_log_records = 1;
    lr->time_unix_nano = ts;
    lr->severity_number = 17;
    lr->severity_text = S("ERROR");
    lr->body.type = OTLP_ANY_STRING;
    lr->body.u.str = S(body);
    otlp_logs_t m = {.resource_logs = rl, .n_resource_logs = 1, .n_items = 1};
    assert_int_equal(lake_append_logs(f->lake, S(tenant), &m, 0), 0);
    arena_reset(a);
}

static void add_gauge(struct fx *f, const char *tenant, uint64_t ts, double v)
{
    arena_t *a = f->a;
    otlp_resource_metrics_t *rm = arena_calloc(a, sizeof(*rm));
    otlp_scope_metrics_t *sm = arena_calloc(a, sizeof(*sm));
    otlp_metric_t *m = arena_calloc(a, sizeof(*m));
    otlp_number_dp_t *dp = arena_calloc(a, sizeof(*dp));
    assert_true(rm && sm && m && dp);
    rm->scope_metrics = sm;
    rm->n_scope_metrics = 1;
    sm->metrics = m;
    sm->n_metrics = 1;
    m->name = S("queue_depth");
    m->type = OTLP_METRIC_GAUGE;
    m->points.number.v = dp;
    m->points.number.n = 1;
    dp->time_unix_nano = ts;
    dp->as_double = v;
    otlp_metrics_t mm = {.resource_metrics = rm, .n_resource_metrics = 1, .n_items = 1};
    assert_int_equal(lake_append_metrics(f->lake, S(tenant), &mm, 0), 0);
    arena_reset(a);
}

static void flush(struct fx *f)
{
    assert_int_equal(lake_flush(f->lake, clock_mono_ns() + 30 * NS_PER_S), 0);
}

/* ---- querying --------------------------------------------------------------------------------- */

struct answer {
    buf_t out;
    struct sql_stats st;
    char err[2048];
    int rc;
    arena_t *a;
    json_doc_t d;
};

static int ask_fmt(struct fx *f, const char *tenant, const char *sql, enum sql_format fmt,
                   struct answer *an)
{
    memset(an, 0, sizeof(*an));
    buf_init(&an->out, (64u << 20) + (64u << 10));
    an->rc = sql_query(f->e, tenant, sql, strlen(sql), fmt, &an->out, &an->st, an->err,
                       sizeof(an->err));
    if (an->rc == 0 && fmt == SQL_FORMAT_JSON) {
        an->a = arena_create(1 << 20, 0);
        json_err_t je;
        int prc = json_parse(buf_slice(&an->out), NULL, an->a, &an->d, &je);
        if (prc)
            fprintf(stderr, "invalid JSON answer (%s): %.*s\n", je.msg, (int)an->out.len,
                    (const char *)an->out.data);
        assert_int_equal(prc, 0);
    }
    return an->rc;
}

static int ask(struct fx *f, const char *tenant, const char *sql, struct answer *an)
{
    return ask_fmt(f, tenant, sql, SQL_FORMAT_JSON, an);
}

static void answer_free(struct answer *an)
{
    buf_free(&an->out);
    arena_destroy(an->a);
    an->a = NULL;
}

/* Must succeed; prints DuckDB's message otherwise. */
static void ask_ok(struct fx *f, const char *tenant, const char *sql, struct answer *an)
{
    if (ask(f, tenant, sql, an) != 0)
        fprintf(stderr, "query failed (%s): %s\n  %s\n", orasi_errname(an->rc), an->err, sql);
    assert_int_equal(an->rc, 0);
}

/* rows[r][c] token index */
static uint32_t cell(struct answer *an, uint32_t r, uint32_t c)
{
    uint32_t rows = json_obj_get(&an->d, 0, "rows");
    assert_int_not_equal(rows, JSON_NONE);
    uint32_t row = json_arr_get(&an->d, rows, r);
    assert_int_not_equal(row, JSON_NONE);
    uint32_t v = json_arr_get(&an->d, row, c);
    assert_int_not_equal(v, JSON_NONE);
    return v;
}

static uint32_t nrows(struct answer *an)
{
    uint32_t rows = json_obj_get(&an->d, 0, "rows");
    assert_int_not_equal(rows, JSON_NONE);
    return json_at(&an->d, rows)->n;
}

static int64_t cell_i64(struct answer *an, uint32_t r, uint32_t c)
{
    int64_t v = 0;
    uint32_t t = cell(an, r, c);
    assert_true(json_is(&an->d, t, JSON_NUMBER));
    assert_int_equal(json_num_i64(json_slice(&an->d, t), &v), 0);
    return v;
}

static int cell_str_is(struct answer *an, uint32_t r, uint32_t c, const char *s)
{
    uint32_t t = cell(an, r, c);
    return json_is(&an->d, t, JSON_STRING) && slice_eq_cstr(json_slice(&an->d, t), s);
}

/* One integer from a one-row, one-column query. */
static int64_t ask_int(struct fx *f, const char *tenant, const char *sql, struct sql_stats *st)
{
    struct answer an;
    ask_ok(f, tenant, sql, &an);
    assert_int_equal(nrows(&an), 1);
    int64_t v = cell_i64(&an, 0, 0);
    if (st)
        *st = an.st;
    answer_free(&an);
    return v;
}

static void expect_refused(struct fx *f, const char *tenant, const char *sql, const char *frag)
{
    struct answer an;
    int rc = ask(f, tenant, sql, &an);
    if (rc != ORASI_EINVAL || (frag && !strstr(an.err, frag)))
        fprintf(stderr, "expected refusal containing '%s' for:\n  %s\ngot %s: %s\n",
                frag ? frag : "", sql, orasi_errname(rc), an.err);
    assert_int_equal(rc, ORASI_EINVAL);
    if (frag)
        assert_non_null(strstr(an.err, frag));
    assert_int_equal(an.out.len, 0);
    answer_free(&an);
}

/* ---- tests ----------------------------------------------------------------------------------------- */

/* Counts, sums, distinct ids per tenant and service, over flushed files and the hot
 * buffer together, against numbers computed here; every table answers. */
static void test_values(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    uint64_t t0 = now_ns() - 600 * NS_PER_S;
    struct truth a_svc1 = {0}, a_svc2 = {0}, b_svc1 = {0};
    add_spans(&f, "alpha", "checkout", 300, t0, 1000000, 1000, &a_svc1);
    add_spans(&f, "beta", "checkout", 123, t0, 1000000, 5000, &b_svc1);
    flush(&f);
    add_spans(&f, "alpha", "checkout", 50, t0 + NS_PER_S, 1000000, 2000, &a_svc1); /* hot */
    add_spans(&f, "alpha", "cart", 200, t0, 2000000, 3000, &a_svc2);               /* hot */

    struct answer an;
    ask_ok(&f, "alpha",
           "SELECT ServiceName, count(*), sum(Duration), count(DISTINCT TraceId), "
           "count(*) FILTER (WHERE StatusCode = 'Error') FROM traces GROUP BY 1 ORDER BY 1",
           &an);
    assert_int_equal(nrows(&an), 2);
    assert_true(cell_str_is(&an, 0, 0, "cart"));
    assert_int_equal(cell_i64(&an, 0, 1), (int64_t)a_svc2.count);
    assert_int_equal(cell_i64(&an, 0, 2), a_svc2.dur_sum);
    assert_int_equal(cell_i64(&an, 0, 3), (int64_t)a_svc2.count);
    assert_int_equal(cell_i64(&an, 0, 4), (int64_t)a_svc2.errors);
    assert_true(cell_str_is(&an, 1, 0, "checkout"));
    assert_int_equal(cell_i64(&an, 1, 1), (int64_t)a_svc1.count);
    assert_int_equal(cell_i64(&an, 1, 2), a_svc1.dur_sum);
    assert_int_equal(cell_i64(&an, 1, 3), (int64_t)a_svc1.count);
    assert_int_equal(cell_i64(&an, 1, 4), (int64_t)a_svc1.errors);
    assert_int_equal(an.st.rows, 2);
    assert_int_equal(an.st.files_scanned, 1);
    assert_int_equal(an.st.hot_rows, 250);
    assert_false(an.st.truncated);
    answer_free(&an);

    struct sql_stats st;
    assert_int_equal(ask_int(&f, "beta", "SELECT count(*) FROM traces", &st), (int64_t)b_svc1.count);
    assert_int_equal(ask_int(&f, "beta", "SELECT sum(Duration) FROM traces", NULL), b_svc1.dur_sum);
    assert_int_equal(ask_int(&f, "gamma", "SELECT count(*) FROM traces", &st), 0);
    assert_int_equal(st.files_scanned, 0);

    /* the query: Timestamp compares with now() - INTERVAL */
    ask_ok(&f, "alpha",
           "SELECT ServiceName, count(*), quantile_cont(Duration, 0.99) FROM traces "
           "WHERE Timestamp > now() - INTERVAL 1 HOUR GROUP BY 1 ORDER BY 1",
           &an);
    assert_int_equal(nrows(&an), 2);
    assert_int_equal(cell_i64(&an, 1, 1), (int64_t)a_svc1.count);
    answer_free(&an);

    /* every table exists, with its columns, even when empty */
    static const char *const tables[] = {"traces", "logs", "metrics_gauge", "metrics_sum",
                                         "metrics_histogram", "metrics_exponential_histogram",
                                         "metrics_summary"};
    for (size_t i = 0; i < 7; i++) {
        char q[256];
        snprintf(q, sizeof(q), "SELECT count(*) FROM %s", tables[i]);
        assert_int_equal(ask_int(&f, "gamma", q, NULL), 0);
    }
    assert_int_equal(ask_int(&f, "gamma", "SELECT count(*) FROM (SELECT Timestamp, TraceId, "
                                          "SpanId, ParentSpanId, TraceState, SpanName, SpanKind, "
                                          "ServiceName, ResourceAttributes, ScopeName, ScopeVersion, "
                                          "SpanAttributes, Duration, StatusCode, StatusMessage, "
                                          "\"Events.Timestamp\", \"Links.TraceId\" FROM traces)",
                             NULL),
                     0);

    /* logs and metrics, hot then flushed */
    uint64_t now = now_ns();
    add_log(&f, "alpha", "checkout", now - NS_PER_S, "payment declined");
    add_log(&f, "alpha", "checkout", now - 2 * NS_PER_S, "all good");
    add_gauge(&f, "alpha", now - NS_PER_S, 42.5);
    assert_int_equal(ask_int(&f, "alpha",
                             "SELECT count(*) FROM logs WHERE Body LIKE '%declined%' AND "
                             "SeverityText = 'ERROR'",
                             NULL),
                     1);
    ask_ok(&f, "alpha", "SELECT MetricName, Value FROM metrics_gauge", &an);
    assert_int_equal(nrows(&an), 1);
    assert_true(cell_str_is(&an, 0, 0, "queue_depth"));
    {
        slice_t v = json_slice(&an.d, cell(&an, 0, 1));
        assert_true(slice_eq_cstr(v, "42.5"));
    }
    answer_free(&an);
    flush(&f);
    assert_int_equal(ask_int(&f, "alpha", "SELECT count(*) FROM logs", &st), 2);
    assert_int_equal(st.hot_rows, 0);
    assert_int_equal(ask_int(&f, "alpha", "SELECT count(*) FROM traces", NULL),
                     (int64_t)(a_svc1.count + a_svc2.count));
    fx_close(&f);
}

/* Each refusal of the sandbox, through the query function. */
static void test_sandbox(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    uint64_t t0 = now_ns() - 60 * NS_PER_S;
    add_spans(&f, "alpha", "svc", 10, t0, 1000, 1, NULL);
    flush(&f);
    char root[512], q[2048], marker[600];
    assert_non_null(realpath(lake_root(f.lake), root));
    snprintf(marker, sizeof(marker), "%s/tenant=alpha/pwned.csv", root);

    expect_refused(&f, "alpha", "SELECT * FROM read_csv('/etc/passwd')", "Permission Error");
    expect_refused(&f, "alpha", "SELECT * FROM read_csv_auto('/etc/passwd')", "Permission Error");
    expect_refused(&f, "alpha", "SELECT * FROM read_text('/etc/passwd')", "Permission Error");
    expect_refused(&f, "alpha", "SELECT * FROM read_blob('/etc/hostname')", "Permission Error");
    expect_refused(&f, "alpha", "SELECT * FROM read_json('/etc/hostname')", "Permission Error");
    expect_refused(&f, "alpha", "SELECT * FROM read_parquet('/tmp/*.parquet')", "Permission Error");
    expect_refused(&f, "alpha", "SELECT * FROM glob('/etc/*')", "Permission Error");
    snprintf(q, sizeof(q), "SELECT * FROM glob('%s/*')", root);
    expect_refused(&f, "alpha", q, "Permission Error");
    snprintf(q, sizeof(q), "SELECT * FROM read_parquet('%s/**/*.parquet')", root);
    expect_refused(&f, "alpha", q, "Permission Error");
    expect_refused(&f, "alpha", "COPY (SELECT 1) TO '/tmp/orasi-sql-pwned.csv'", "Permission Error");
    snprintf(q, sizeof(q), "COPY (SELECT * FROM traces) TO '%s'", marker);
    expect_refused(&f, "alpha", q, "COPY");
    snprintf(q, sizeof(q), "COPY traces TO '%s'", marker);
    expect_refused(&f, "alpha", q, "COPY");
    snprintf(q, sizeof(q), "EXPORT DATABASE '%s/tenant=alpha/export'", root);
    expect_refused(&f, "alpha", q, "EXPORT");
    expect_refused(&f, "alpha", "ATTACH '/tmp/orasi-sql-pwned.db' AS x", "ATTACH");
    expect_refused(&f, "alpha", "ATTACH ':memory:' AS x", "ATTACH");
    expect_refused(&f, "alpha", "INSTALL httpfs", "INSTALL");
    expect_refused(&f, "alpha", "LOAD httpfs", "LOAD");
    expect_refused(&f, "alpha", "SET enable_external_access = true", "SET");
    expect_refused(&f, "alpha", "SET memory_limit = '100GB'", "SET");
    expect_refused(&f, "alpha", "SET threads = 64", "SET");
    expect_refused(&f, "alpha", "RESET lock_configuration", "SET");
    expect_refused(&f, "alpha", "PRAGMA threads = 64", "PRAGMA");
    expect_refused(&f, "alpha", "PRAGMA enable_profiling", "PRAGMA");
    expect_refused(&f, "alpha", "CREATE TABLE t AS SELECT 1", "CREATE");
    expect_refused(&f, "alpha", "CREATE TEMP TABLE t AS SELECT 1", "CREATE");
    expect_refused(&f, "alpha", "CREATE VIEW v AS SELECT 1", "CREATE");
    expect_refused(&f, "alpha", "CREATE OR REPLACE TEMP VIEW traces AS SELECT 1", "CREATE");
    expect_refused(&f, "alpha", "CREATE MACRO m() AS 1", "CREATE");
    expect_refused(&f, "alpha", "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", NULL);
    expect_refused(&f, "alpha", "CREATE SEQUENCE s", "CREATE");
    expect_refused(&f, "alpha", "INSERT INTO _orasi_hot_traces SELECT * FROM _orasi_hot_traces",
                   "INSERT");
    expect_refused(&f, "alpha", "DROP VIEW traces", "DROP");
    expect_refused(&f, "alpha", "CHECKPOINT", "CHECKPOINT");
    expect_refused(&f, "alpha", "CALL pragma_version()", "CALL");
    expect_refused(&f, "alpha", "SELECT 1; SELECT 2", "one statement");
    expect_refused(&f, "alpha", "SELECT 1; COPY (SELECT 1) TO '/tmp/orasi-sql-pwned.csv'",
                   "one statement");
    expect_refused(&f, "alpha", "SELECT * FROM query('COPY (SELECT 1) TO ''/tmp/x.csv''')", NULL);
    expect_refused(&f, "alpha", "", NULL);
    expect_refused(&f, "alpha", "SELEC 1", "LINE 1");
    /* nothing was written */
    struct stat sb;
    assert_int_not_equal(stat(marker, &sb), 0);
    assert_int_not_equal(stat("/tmp/orasi-sql-pwned.csv", &sb), 0);
    snprintf(q, sizeof(q), "%s/tenant=alpha/export", root);
    assert_int_not_equal(stat(q, &sb), 0);
    /* the configuration really is as set */
    struct answer an;
    ask_ok(&f, "alpha",
           "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), "
           "current_setting('autoload_known_extensions'), current_setting('autoinstall_known_extensions'), "
           "current_setting('threads'), current_setting('TimeZone')",
           &an);
    for (uint32_t c = 0; c < 4; c++) {
        uint32_t t = cell(&an, 0, c);
        assert_true(json_is(&an.d, t, c == 1 ? JSON_TRUE : JSON_FALSE));
    }
    assert_int_equal(cell_i64(&an, 0, 4), 2);
    assert_true(cell_str_is(&an, 0, 5, "UTC"));
    answer_free(&an);
    /* still fine afterwards */
    assert_int_equal(ask_int(&f, "alpha", "SELECT count(*) FROM traces", NULL), 10);
    /* a bad tenant name never reaches DuckDB */
    expect_refused(&f, "../beta", "SELECT 1", "tenant");
    expect_refused(&f, "", "SELECT 1", "tenant");
    fx_close(&f);
}

/* Tenant A cannot read B's rows: not through the views, nor read_parquet/glob of B's
 * paths (also via ../), nor write into B's part with COPY. */
static void test_tenant_isolation(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    uint64_t t0 = now_ns() - 60 * NS_PER_S;
    add_spans(&f, "a", "svc-a", 20, t0, 1000, 100, NULL);
    add_spans(&f, "b", "svc-b", 30, t0, 1000, 200, NULL);
    add_spans(&f, "ab", "svc-ab", 5, t0, 1000, 300, NULL);
    flush(&f);
    add_spans(&f, "b", "svc-b", 7, t0, 1000, 400, NULL); /* hot rows of b */
    char root[512], q[2048];
    assert_non_null(realpath(lake_root(f.lake), root));

    assert_int_equal(ask_int(&f, "a", "SELECT count(*) FROM traces", NULL), 20);
    assert_int_equal(ask_int(&f, "a", "SELECT count(*) FROM traces WHERE ServiceName <> 'svc-a'",
                             NULL),
                     0);
    assert_int_equal(ask_int(&f, "b", "SELECT count(*) FROM traces", NULL), 37);
    assert_int_equal(ask_int(&f, "a", "SELECT count(*) FROM _orasi_hot_traces", NULL), 0);
    /* a's own files are readable directly (the allowed directory) */
    snprintf(q, sizeof(q), "SELECT count(*) FROM read_parquet('%s/tenant=a/**/*.parquet')", root);
    assert_int_equal(ask_int(&f, "a", q, NULL), 20);

    const char *const attacks[] = {
        "SELECT count(*) FROM read_parquet('%s/tenant=b/**/*.parquet')",
        "SELECT count(*) FROM read_parquet('%s/tenant=a/../tenant=b/**/*.parquet')",
        "SELECT count(*) FROM read_parquet('%s/tenant=*/**/*.parquet')",
        "SELECT count(*) FROM read_parquet('%s/tenant=ab/**/*.parquet')",
        "SELECT * FROM glob('%s/tenant=b/**')",
        "SELECT * FROM glob('%s/*')",
        "SELECT * FROM parquet_metadata('%s/tenant=b/**/*.parquet')",
        "COPY (SELECT * FROM traces) TO '%s/tenant=b/x.parquet'",
    };
    for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
        snprintf(q, sizeof(q), attacks[i], root);
        expect_refused(&f, "a", q, NULL);
    }
    /* the file list of b, taken from the catalog, is refused as well */
    catalog_list_t l;
    assert_int_equal(catalog_list(lake_catalog(f.lake), "b", LAKE_TRACES, INT64_MIN, INT64_MAX, &l),
                     0);
    assert_true(l.n >= 1);
    snprintf(q, sizeof(q), "SELECT count(*) FROM read_parquet('%s')", l.v[0].path);
    expect_refused(&f, "a", q, "Permission Error");
    assert_int_equal(ask_int(&f, "b", q, NULL), 30);
    catalog_list_free(&l);
    struct stat sb;
    snprintf(q, sizeof(q), "%s/tenant=b/x.parquet", root);
    assert_int_not_equal(stat(q, &sb), 0);
    fx_close(&f);
}

/* Time predicates choose the files; an OR keeps everything and still answers right. */
static void test_pruning(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    uint64_t now = now_ns();
    struct truth recent = {0}, all = {0};
    /* 6 periods, 3 hours apart, two flushes (= two files) each */
    for (int k = 5; k >= 0; k--) {
        uint64_t base = now - (uint64_t)k * 3 * NS_PER_HOUR - 20 * 60 * NS_PER_S;
        for (int part = 0; part < 2; part++) {
            struct truth *tr = k == 0 ? &recent : NULL;
            add_spans(&f, "t", k == 0 ? "new" : "old", 40, base + (uint64_t)part * NS_PER_S,
                      1000000, (uint64_t)(k * 1000 + part * 100), tr);
            add_spans(&f, "t", "x", 0, base, 1, 0, NULL);
            flush(&f);
        }
    }
    all.count = 6 * 2 * 40;
    struct sql_stats st;
    int64_t n = ask_int(&f, "t", "SELECT count(*) FROM traces WHERE Timestamp > now() - INTERVAL 1 HOUR",
                        &st);
    assert_int_equal(n, (int64_t)recent.count);
    assert_int_equal(st.files_scanned, 2);
    /* qualified column, reversed comparison, BETWEEN with literals */
    n = ask_int(&f, "t", "SELECT count(*) FROM traces AS s WHERE now() - INTERVAL 1 HOUR < s.Timestamp "
                         "AND ServiceName = 'new'",
                &st);
    assert_int_equal(n, (int64_t)recent.count);
    assert_int_equal(st.files_scanned, 2);
    char q[512], lo[40], hi[40];
    time_t s0 = (time_t)((now - 7 * NS_PER_HOUR) / NS_PER_S), s1 = (time_t)((now - 5 * NS_PER_HOUR) / NS_PER_S);
    struct tm tm;
    strftime(lo, sizeof(lo), "%Y-%m-%d %H:%M:%S", gmtime_r(&s0, &tm));
    strftime(hi, sizeof(hi), "%Y-%m-%d %H:%M:%S", gmtime_r(&s1, &tm));
    snprintf(q, sizeof(q), "SELECT count(*) FROM traces WHERE Timestamp BETWEEN '%s' AND '%s'", lo,
             hi);
    n = ask_int(&f, "t", q, &st);
    assert_int_equal(n, 80); /* the k = 2 period */
    assert_int_equal(st.files_scanned, 2);
    /* OR: no pruning, every matching row */
    n = ask_int(&f, "t",
                "SELECT count(*) FROM traces WHERE Timestamp > now() - INTERVAL 1 HOUR OR "
                "ServiceName = 'old'",
                &st);
    assert_int_equal(n, (int64_t)all.count);
    assert_int_equal(st.files_scanned, 12);
    /* a subquery or a second table: no pruning either, still right */
    n = ask_int(&f, "t",
                "SELECT count(*) FROM traces WHERE Timestamp > now() - INTERVAL 1 HOUR AND "
                "TraceId IN (SELECT TraceId FROM traces)",
                &st);
    assert_int_equal(n, (int64_t)recent.count);
    assert_int_equal(st.files_scanned, 12);
    n = ask_int(&f, "t",
                "SELECT (SELECT count(*) FROM traces) FROM traces WHERE Timestamp > now() - "
                "INTERVAL 1 HOUR LIMIT 1",
                &st);
    assert_int_equal(n, (int64_t)all.count);
    /* NOT over a conjunction, and a non-constant bound: no pruning (NOT of a single
     * comparison is turned into the opposite comparison by DuckDB's parser: pruned) */
    n = ask_int(&f, "t", "SELECT count(*) FROM traces WHERE NOT (Timestamp < now() - INTERVAL 1 HOUR)",
                &st);
    assert_int_equal(n, (int64_t)recent.count);
    assert_int_equal(st.files_scanned, 2);
    n = ask_int(&f, "t",
                "SELECT count(*) FROM traces WHERE NOT (Timestamp < now() - INTERVAL 1 HOUR AND "
                "ServiceName = 'old')",
                &st);
    assert_int_equal(n, (int64_t)recent.count);
    assert_int_equal(st.files_scanned, 12);
    n = ask_int(&f, "t",
                "SELECT count(*) FROM traces WHERE Timestamp > now() - to_hours(CAST(random() * 0 + 1 AS BIGINT))",
                &st);
    assert_int_equal(n, (int64_t)recent.count);
    assert_int_equal(st.files_scanned, 12);
    /* no time predicate: everything */
    assert_int_equal(ask_int(&f, "t", "SELECT count(*) FROM traces", &st), (int64_t)all.count);
    assert_int_equal(st.files_scanned, 12);
    fx_close(&f);
}

/* A lookup by TraceId opens only the file that may hold it. */
/* The views repeat the query's time bounds on the stored nanosecond column inside the
 * file side: bounds that cut through one file keep exactly the rows the query selects,
 * also at microsecond ties (the views expose microseconds, the files hold nanoseconds). */
static void test_time_bounds_in_file(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    uint64_t now = now_ns(), minute = 60 * NS_PER_S;
    uint64_t h = now - now % NS_PER_HOUR - 3 * NS_PER_HOUR;
    /* 60 spans one minute apart, 789 ns past each minute: one file */
    add_spans(&f, "t", "svc", 60, h + 789, minute, 5000, NULL);
    flush(&f);
    long long x_us = (long long)((h + 30 * minute) / 1000); /* row 30, its ns truncated */
    char q[512];
    struct sql_stats st;
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM traces WHERE Timestamp >= make_timestamp(%lld)", x_us);
    assert_int_equal(ask_int(&f, "t", q, &st), 30);
    assert_int_equal(st.files_scanned, 1);
    snprintf(q, sizeof(q), "SELECT count(*) FROM traces WHERE Timestamp = make_timestamp(%lld)",
             x_us);
    assert_int_equal(ask_int(&f, "t", q, &st), 1);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM traces WHERE Timestamp < make_timestamp(%lld) AND "
             "Timestamp > make_timestamp(%lld)",
             x_us, x_us - 10 * 60 * 1000000ll);
    assert_int_equal(ask_int(&f, "t", q, &st), 9); /* rows 21..29 */
    snprintf(q, sizeof(q),
             "SELECT sum(Duration) FROM traces WHERE Timestamp BETWEEN make_timestamp(%lld) "
             "AND make_timestamp(%lld)",
             x_us - 60 * 1000000ll, x_us + 60 * 1000000ll);
    /* rows 29 and 31 are 789 ns past the bounds, equal to them in microseconds */
    assert_int_equal(ask_int(&f, "t", q, &st),
                     span_dur(5000 + 29) + span_dur(5000 + 30) + span_dur(5000 + 31));
    fx_close(&f);
}

static void test_trace_lookup(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    uint64_t t0 = now_ns() - 3600 * NS_PER_S;
    for (int i = 0; i < 16; i++) {
        add_spans(&f, "t", "svc", 200, t0 + (uint64_t)i * NS_PER_S, 1000, (uint64_t)i * 1000000,
                  NULL);
        flush(&f);
    }
    uint8_t id[16];
    make_id(id, 16, 7 * 1000000 + 17);
    char hex[33], q[256];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    snprintf(q, sizeof(q), "SELECT count(*) FROM traces WHERE TraceId = '%s'", hex);
    struct sql_stats st;
    assert_int_equal(ask_int(&f, "t", q, &st), 1);
    assert_int_equal(st.files_scanned, 1);
    snprintf(q, sizeof(q), "SELECT SpanName, Duration FROM traces WHERE TraceId = '%s'", hex);
    struct answer an;
    ask_ok(&f, "t", q, &an);
    assert_int_equal(nrows(&an), 1);
    assert_int_equal(an.st.files_scanned, 1);
    assert_int_equal(cell_i64(&an, 0, 1), span_dur(7 * 1000000 + 17));
    answer_free(&an);
    /* an id nobody has: (almost) no file */
    snprintf(q, sizeof(q), "SELECT count(*) FROM traces WHERE TraceId = '%s'",
             "0123456789abcdef0123456789abcdef");
    assert_int_equal(ask_int(&f, "t", q, &st), 0);
    assert_true(st.files_scanned <= 1);
    fx_close(&f);
}

/* A query past the timeout is interrupted with a clear error, and the slot is usable
 * again afterwards. */
static void test_timeout(void **state)
{
    (void)state;
    struct sql_options o;
    sql_options_default(&o);
    o.timeout = 300 * 1000000ull;
    o.threads = 1;
    struct fx f;
    fx_open(&f, &o);
    uint64_t t = clock_mono_ns();
    struct answer an;
    int rc = ask(&f, "t",
                 "SELECT count(*) FROM range(1000000000) a, range(1000) b WHERE a.range + b.range = -1",
                 &an);
    uint64_t took = clock_mono_ns() - t;
    assert_int_equal(rc, ORASI_ETIMEOUT);
    assert_non_null(strstr(an.err, "interrupted"));
    assert_non_null(strstr(an.err, "300 ms"));
    assert_true(took < 5 * NS_PER_S);
    assert_int_equal(an.out.len, 0);
    answer_free(&an);
    /* the same for a query over the lake views (setup is inside the timeout too) */
    rc = ask(&f, "t",
             "SELECT count(*) FROM traces, range(1000000000) a, range(100) b WHERE a.range = -1", &an);
    assert_int_equal(rc, ORASI_ETIMEOUT);
    answer_free(&an);
    assert_int_equal(ask_int(&f, "t", "SELECT 41 + 1", NULL), 42);
    fx_close(&f);
}

/* The row cap cuts and says so; exactly max_rows is not truncated. */
static void test_row_cap(void **state)
{
    (void)state;
    struct sql_options o;
    sql_options_default(&o);
    o.max_rows = 5;
    struct fx f;
    fx_open(&f, &o);
    struct answer an;
    ask_ok(&f, "t", "SELECT * FROM range(100)", &an);
    assert_int_equal(nrows(&an), 5);
    assert_int_equal(an.st.rows, 5);
    assert_true(an.st.truncated);
    assert_non_null(strstr((const char *)an.out.data, "\"truncated\":true"));
    answer_free(&an);
    ask_ok(&f, "t", "SELECT * FROM range(5)", &an);
    assert_int_equal(nrows(&an), 5);
    assert_false(an.st.truncated);
    answer_free(&an);
    ask_ok(&f, "t", "SELECT * FROM range(5000)", &an); /* more than one chunk */
    assert_int_equal(nrows(&an), 5);
    assert_true(an.st.truncated);
    answer_free(&an);
    fx_close(&f);

    /* the size cap truncates too, on whole rows */
    sql_options_default(&o);
    o.max_result_size = 4096;
    fx_open(&f, &o);
    ask_ok(&f, "t", "SELECT repeat('x', 100) FROM range(1000)", &an);
    assert_true(an.st.truncated);
    assert_true(an.st.rows > 10 && an.st.rows < 50);
    assert_int_equal(nrows(&an), an.st.rows);
    answer_free(&an);
    fx_close(&f);
}

/* JSON value forms: every digit of 64/128-bit integers and decimals, NaN/Inf strings,
 * timestamps RFC 3339, nested types, NULL, escapes. And the same as CSV. */
static void test_output(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    struct answer an;
    const char *q =
        "SELECT 9223372036854775807::BIGINT AS big, (-9223372036854775807 - 1)::BIGINT AS small, "
        "18446744073709551615::UBIGINT AS ubig, "
        "170141183460469231731687303715884105727::HUGEINT AS huge, "
        "340282366920938463463374607431768211455::UHUGEINT AS uhuge, "
        "-12.345::DECIMAL(10,3) AS dec, 0.05::DECIMAL(4,2) AS dec2, "
        "12345678901234567890.123456789::DECIMAL(38,9) AS dec38, "
        "'NaN'::DOUBLE AS nan, 'inf'::DOUBLE AS inf, 0.1::DOUBLE AS d, 1.5::FLOAT AS fl, "
        "NULL AS n, true AS b, 'a\"b\\c\nd' AS s, "
        "TIMESTAMP_NS '2024-01-02 03:04:05.123456789' AS tsn, "
        "TIMESTAMP '1969-12-31 23:59:59.5' AS ts, DATE '2024-02-29' AS dt, "
        "TIME '13:14:15.5' AS tm, INTERVAL 90 MINUTE AS iv, "
        "'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS u, "
        "MAP {'k': 'v', 'q\"': NULL} AS m, [1, NULL, 3] AS l, {'x': 1, 'y': 'z'} AS st, "
        "'\\xAA\\xBB'::BLOB AS bl, [[1], []] AS ll";
    ask_ok(&f, "t", q, &an);
    const char *expect =
        "[[9223372036854775807,-9223372036854775808,18446744073709551615,"
        "170141183460469231731687303715884105727,340282366920938463463374607431768211455,"
        "-12.345,0.05,12345678901234567890.123456789,\"NaN\",\"Infinity\",0.1,1.5,null,true,"
        "\"a\\\"b\\\\c\\nd\",\"2024-01-02T03:04:05.123456789Z\",\"1969-12-31T23:59:59.500000Z\","
        "\"2024-02-29\",\"13:14:15.500000\",\"01:30:00\",\"6ba7b810-9dad-11d1-80b4-00c04fd430c8\","
        "{\"k\":\"v\",\"q\\\"\":null},[1,null,3],{\"x\":1,\"y\":\"z\"},\"qrs=\",[[1],[]]]]";
    const char *rows = strstr((const char *)an.out.data, "\"rows\":");
    assert_non_null(rows);
    if (strncmp(rows + 7, expect, strlen(expect)) != 0)
        fprintf(stderr, "got:    %.*s\nexpect: %s\n", (int)strlen(expect), rows + 7, expect);
    assert_memory_equal(rows + 7, expect, strlen(expect));
    assert_non_null(strstr((const char *)an.out.data,
                           "{\"name\":\"big\",\"type\":\"BIGINT\"},{\"name\":\"small\""));
    assert_non_null(strstr((const char *)an.out.data, "\"type\":\"MAP(VARCHAR, VARCHAR)\""));
    assert_non_null(strstr((const char *)an.out.data, "\"type\":\"DECIMAL(10,3)\""));
    assert_non_null(strstr((const char *)an.out.data, "\"type\":\"STRUCT(x INTEGER, y VARCHAR)\""));
    answer_free(&an);

    /* Struct member names are arbitrary text: the column's type name stays valid JSON
     * (ask() parses the answer) and quotes them the way DuckDB does (fuzz_sql found one). */
    assert_int_equal(ask(&f, "t", "SELECT {'x\"type\":\"y': 1, 'Big': 2, 'ok_1': 3} AS s", &an),
                     0);
    assert_non_null(strstr((const char *)an.out.data,
                           "\"type\":\"STRUCT(\\\"x\\\"\\\"type\\\"\\\":\\\"\\\"y\\\" INTEGER, "
                           "\\\"Big\\\" INTEGER, ok_1 INTEGER)\""));
    answer_free(&an);

    /* CSV */
    assert_int_equal(ask_fmt(&f, "t",
                             "SELECT 1 AS \"a,b\", 'x\"y' AS s, NULL AS n, 'line\nbreak' AS l, "
                             "18446744073709551615::UBIGINT AS u, [1,2] AS li UNION ALL "
                             "SELECT 2, 'plain', 'v', 'w', 0, []",
                             SQL_FORMAT_CSV, &an),
                     0);
    const char *csv = "\"a,b\",s,n,l,u,li\r\n"
                      "1,\"x\"\"y\",,\"line\nbreak\",18446744073709551615,\"[1,2]\"\r\n"
                      "2,plain,v,w,0,[]\r\n";
    if (an.out.len != strlen(csv) || memcmp(an.out.data, csv, an.out.len) != 0)
        fprintf(stderr, "csv got: %.*s\n", (int)an.out.len, (const char *)an.out.data);
    assert_int_equal(an.out.len, strlen(csv));
    assert_memory_equal(an.out.data, csv, an.out.len);
    assert_int_equal(an.st.rows, 2);
    answer_free(&an);

    /* lake columns: ids as hex, ns timestamps, maps */
    uint64_t ts = 1700000000123456789ull;
    add_spans(&f, "t", "svc", 1, ts, 0, 77, NULL);
    ask_ok(&f, "t", "SELECT TraceId, Timestamp, ResourceAttributes, SpanKind, typeof(Timestamp) FROM traces",
           &an);
    uint8_t id[16];
    char hex[33];
    make_id(id, 16, 77);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    assert_true(cell_str_is(&an, 0, 0, hex));
    assert_true(cell_str_is(&an, 0, 1, "2023-11-14T22:13:20.123456Z"));
    assert_true(cell_str_is(&an, 0, 3, "Server"));
    assert_true(cell_str_is(&an, 0, 4, "TIMESTAMP WITH TIME ZONE"));
    uint32_t m = cell(&an, 0, 2);
    assert_true(json_is(&an.d, m, JSON_OBJECT));
    assert_true(slice_eq_cstr(json_slice(&an.d, json_obj_get(&an.d, m, "service.name")), "svc"));
    answer_free(&an);
    fx_close(&f);
}

/* Rows acknowledged are visible at once, and every query sees each row exactly once
 * while flushes move rows from the buffers to files concurrently. */
struct flusher_arg {
    struct fx *f;
    int stop;
    int flushes;
};

static void *flusher(void *p)
{
    struct flusher_arg *fa = p;
    while (!__atomic_load_n(&fa->stop, __ATOMIC_ACQUIRE)) {
        lake_flush(fa->f->lake, clock_mono_ns() + 10 * NS_PER_S);
        fa->flushes++;
        usleep(3000);
    }
    return NULL;
}

static void test_fresh_and_consistent(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    uint64_t t0 = now_ns() - 30 * NS_PER_S;
    struct sql_stats st;
    add_spans(&f, "t", "svc", 10, t0, 1000, 1, NULL);
    assert_int_equal(ask_int(&f, "t", "SELECT count(*) FROM traces", &st), 10);
    assert_int_equal(st.hot_rows, 10);
    assert_int_equal(st.files_scanned, 0);
    flush(&f);
    assert_int_equal(ask_int(&f, "t", "SELECT count(*) FROM traces", &st), 10);
    assert_int_equal(st.hot_rows, 0);
    assert_int_equal(st.files_scanned, 1);

    /* appends and flushes racing with queries: the count only grows by whole batches and
     * never shows a batch twice or loses one. With WAL sequence numbers the engine copies
     * a pending (being flushed) set instead of waiting for it: both paths are raced. */
    f.use_seq = 1;
    struct flusher_arg fa = {&f, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, flusher, &fa), 0);
    int64_t total = 10;
    for (int i = 0; i < 40; i++) {
        add_spans(&f, "t", "svc", 25, t0 + (uint64_t)i * 1000000, 1000, 1000 + (uint64_t)i * 100,
                  NULL);
        total += 25;
        struct answer an;
        int rc = ask(&f, "t", "SELECT count(*), count(DISTINCT TraceId) FROM traces", &an);
        if (rc == ORASI_EBUSY) { /* the lake flushed during setup several times: allowed */
            answer_free(&an);
            continue;
        }
        if (rc)
            fprintf(stderr, "%s\n", an.err);
        assert_int_equal(rc, 0);
        assert_int_equal(cell_i64(&an, 0, 0), total);
        assert_int_equal(cell_i64(&an, 0, 1), total);
        answer_free(&an);
    }
    __atomic_store_n(&fa.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    assert_true(fa.flushes > 0);
    assert_int_equal(ask_int(&f, "t", "SELECT count(*) FROM traces", NULL), total);
    fx_close(&f);
}

/* More tenants than databases: the least recently used idle one is closed. Concurrent
 * queries from threads share the slots. */
struct qarg {
    struct fx *f;
    const char *tenant;
    int64_t expect;
    int ok;
};

static void *query_thread(void *p)
{
    struct qarg *q = p;
    for (int i = 0; i < 5; i++) {
        buf_t out;
        char err[512];
        struct sql_stats st;
        buf_init(&out, 1 << 20);
        const char *sql = "SELECT count(*) FROM traces";
        int rc = sql_query(q->f->e, q->tenant, sql, strlen(sql), SQL_FORMAT_CSV, &out, &st, err,
                           sizeof(err));
        char expect[64];
        snprintf(expect, sizeof(expect), "count_star()\r\n%lld\r\n", (long long)q->expect);
        if (rc == 0 && out.len == strlen(expect) && memcmp(out.data, expect, out.len) == 0)
            q->ok++;
        else
            fprintf(stderr, "thread query: rc %d %s: %.*s\n", rc, err, (int)out.len,
                    (const char *)out.data);
        buf_free(&out);
    }
    return NULL;
}

static void test_tenants_and_concurrency(void **state)
{
    (void)state;
    struct sql_options o;
    sql_options_default(&o);
    o.max_tenants = 2;
    o.max_concurrent = 3;
    struct fx f;
    fx_open(&f, &o);
    uint64_t t0 = now_ns() - 30 * NS_PER_S;
    const char *tenants[] = {"t1", "t2", "t3", "t4"};
    for (int i = 0; i < 4; i++)
        add_spans(&f, tenants[i], "svc", (size_t)(i + 1) * 3, t0, 1000, (uint64_t)i * 1000, NULL);
    flush(&f);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 4; i++)
            assert_int_equal(ask_int(&f, tenants[i], "SELECT count(*) FROM traces", NULL),
                             (i + 1) * 3);
    pthread_t th[4];
    struct qarg qa[4];
    for (int i = 0; i < 4; i++) {
        qa[i] = (struct qarg){&f, tenants[i], (i + 1) * 3, 0};
        assert_int_equal(pthread_create(&th[i], NULL, query_thread, &qa[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(qa[i].ok, 5);
    }
    /* metrics */
    buf_t m;
    buf_init(&m, 1 << 20);
    assert_int_equal(metrics_render(&m), 0);
    assert_int_equal(buf_append_byte(&m, 0), 0);
    assert_non_null(strstr((const char *)m.data, "orasi_sql_queries_total{result=\"ok\"}"));
    assert_non_null(strstr((const char *)m.data, "orasi_sql_query_duration_seconds_bucket"));
    assert_non_null(strstr((const char *)m.data, "orasi_sql_files_scanned_total"));
    assert_non_null(strstr((const char *)m.data, "orasi_sql_tenant_databases 2"));
    buf_free(&m);
    fx_close(&f);
}


/* Only the columns a query reads are copied from the buffers; anything that could read
 * a column without naming it copies them all. Checked on the analysis and end to end. */
static void test_hot_columns(void **state)
{
    (void)state;
    duckdb_database db;
    duckdb_connection con;
    assert_int_equal(duckdb_open(NULL, &db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(db, &con), DuckDBSuccess);
    const colbuf_schema_t *ts = colbuf_schema(LAKE_TRACES);
    uint64_t svc = 1ull << colbuf_col_index(ts, "ServiceName");
    uint64_t dur = 1ull << colbuf_col_index(ts, "Duration");
    uint64_t tsb = 1ull << colbuf_col_index(ts, "Timestamp");
    struct {
        const char *sql;
        uint64_t mask; /* traces; ~0 = all */
    } cases[] = {
        {"SELECT count(*) FROM traces", 0},
        {"SELECT ServiceName, sum(Duration) AS d FROM traces GROUP BY 1 ORDER BY d", svc | dur},
        {"SELECT servicename AS s FROM traces t WHERE t.Timestamp > now() ORDER BY s", svc | tsb},
        {"SELECT * FROM traces", ~0ull},
        {"SELECT traces.* EXCLUDE (Duration) FROM traces", ~0ull},
        {"SELECT COLUMNS('Dur.*') FROM traces", ~0ull},
        {"SELECT t FROM traces t", ~0ull},
        {"SELECT traces FROM traces", ~0ull},
        {"SELECT #1 FROM traces", ~0ull},
        {"SELECT list_filter([1], x -> x > 0) FROM traces", ~0ull},
        {"SELECT ServiceName FROM query('SELECT SpanName AS ServiceName FROM traces')", ~0ull},
        {"SELECT a.ServiceName FROM traces a JOIN logs b USING (ServiceName)", ~0ull},
        {"SELECT a.ServiceName FROM traces a NATURAL JOIN logs b", ~0ull},
        {"SUMMARIZE traces", ~0ull},
        {"PIVOT traces ON ServiceName USING count(*)", ~0ull},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sql_prune pr;
        sql_prune_analyze(con, cases[i].sql, 0, &pr);
        if (pr.colmask[LAKE_TRACES] != cases[i].mask)
            fprintf(stderr, "%s: mask %llx, expected %llx\n", cases[i].sql,
                    (unsigned long long)pr.colmask[LAKE_TRACES], (unsigned long long)cases[i].mask);
        assert_true(pr.colmask[LAKE_TRACES] == cases[i].mask);
    }
    struct {
        const char *sql;
        uint64_t limit;
    } lims[] = {
        {"SELECT * FROM traces LIMIT 10", 10},
        {"SELECT TraceId, * FROM traces LIMIT 5 OFFSET 2", 7},
        {"SELECT * FROM traces WHERE Duration > 0 LIMIT 5", 0},
        {"SELECT count(*) FROM traces LIMIT 5", 0},
        {"SELECT * FROM traces ORDER BY Duration LIMIT 5", 0},
        {"SELECT DISTINCT ServiceName FROM traces LIMIT 3", 0},
        {"SELECT * REPLACE (Duration * 2 AS Duration) FROM traces LIMIT 3", 0},
        {"SELECT ServiceName FROM traces GROUP BY ALL LIMIT 3", 0},
        {"SELECT * FROM traces USING SAMPLE 10 LIMIT 3", 0},
        {"SELECT * FROM traces", 0},
    };
    for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
        struct sql_prune pr;
        sql_prune_analyze(con, lims[i].sql, 0, &pr);
        if (pr.hot_limit != lims[i].limit)
            fprintf(stderr, "%s: hot_limit %llu, expected %llu\n", lims[i].sql,
                    (unsigned long long)pr.hot_limit, (unsigned long long)lims[i].limit);
        assert_true(pr.hot_limit == lims[i].limit);
    }
    duckdb_disconnect(&con);
    duckdb_close(&db);

    /* end to end on unflushed rows: every shape reads real values */
    struct fx f;
    fx_open(&f, NULL);
    uint64_t t0 = now_ns() - 60 * NS_PER_S;
    struct truth tr = {0};
    add_spans(&f, "t", "svc", 100, t0, 1000, 42, &tr);
    struct sql_stats st;
    assert_int_equal(ask_int(&f, "t", "SELECT count(*) FROM traces WHERE SpanName IS NULL", NULL), 0);
    assert_int_equal(ask_int(&f, "t", "SELECT sum(Duration) FROM traces", NULL), tr.dur_sum);
    assert_int_equal(ask_int(&f, "t", "SELECT count(*) FROM (SELECT * FROM traces) WHERE SpanId IS NULL", NULL), 0);
    assert_int_equal(ask_int(&f, "t", "SELECT count(*) FROM traces t WHERE t.SpanName IS NULL", NULL), 0);
    assert_int_equal(ask_int(&f, "t", "SELECT count(*) FROM (SELECT t FROM traces t) WHERE t.Duration IS NULL", NULL), 0);
    assert_int_equal(ask_int(&f, "t", "SELECT count(*) FROM query('SELECT * FROM traces WHERE Duration IS NULL')", NULL), 0);
    assert_int_equal(ask_int(&f, "t", "SELECT sum(d) FROM (SELECT Duration AS d FROM traces) ORDER BY 1", NULL), tr.dur_sum);
    /* a trace lookup copies only that trace's rows */
    uint8_t id[16];
    char hex[33], q[256];
    make_id(id, 16, 42 + 7);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    snprintf(q, sizeof(q), "SELECT Duration FROM traces WHERE TraceId = '%s'", hex);
    assert_int_equal(ask_int(&f, "t", q, &st), span_dur(42 + 7));
    assert_int_equal(st.hot_rows, 1);
    /* a plain LIMIT needs only that many buffered rows */
    struct answer an;
    ask_ok(&f, "t", "SELECT * FROM traces LIMIT 7", &an);
    assert_int_equal(nrows(&an), 7);
    assert_int_equal(an.st.hot_rows, 7);
    answer_free(&an);
    ask_ok(&f, "t", "SELECT SpanId FROM traces LIMIT 7 OFFSET 95", &an);
    assert_int_equal(nrows(&an), 5);
    assert_int_equal(an.st.hot_rows, 100);
    answer_free(&an);
    ask_ok(&f, "t", "SELECT * FROM traces WHERE Duration > 0 LIMIT 7", &an);
    assert_int_equal(nrows(&an), 7);
    assert_int_equal(an.st.hot_rows, 100);
    answer_free(&an);
    fx_close(&f);
}

/* A query over the threshold is logged at WARN with its SQL, time and files. */
static void test_slow_log(void **state)
{
    (void)state;
    struct sql_options o;
    sql_options_default(&o);
    o.slow_query_threshold = 1; /* ns: every query */
    struct fx f;
    fx_open(&f, &o);
    char path[] = "/tmp/orasi-sql-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    log_set_fd(fd);
    assert_int_equal(ask_int(&f, "t", "SELECT 7 -- \"quoted\"", NULL), 7);
    log_set_fd(2);
    char text[8192] = "";
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    if (!strstr(text, "\"level\":\"warn\""))
        fprintf(stderr, "log: %s\n", text);
    assert_non_null(strstr(text, "\"level\":\"warn\""));
    assert_non_null(strstr(text, "slow query"));
    assert_non_null(strstr(text, "\"sql\":\"SELECT 7 -- \\\"quoted\\\"\""));
    assert_non_null(strstr(text, "\"files\":0"));
    assert_non_null(strstr(text, "\"tenant\":\"t\""));
    assert_non_null(strstr(text, "\"elapsed_ms\":"));
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_tenant_isolation),
        cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_time_bounds_in_file),
        cmocka_unit_test(test_trace_lookup),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_row_cap),
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_fresh_and_consistent),
        cmocka_unit_test(test_tenants_and_concurrency),
        cmocka_unit_test(test_hot_columns),
        cmocka_unit_test(test_slow_log),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_shutdown();
    return rc;
}
