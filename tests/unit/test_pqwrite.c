/*
 * test_pqwrite.c — the native Parquet writer (pqwrite.c) against DuckDB's (parquet.c).
 *
 * For each of the seven lake tables, rows with varied data (empty and shared maps and
 * lists, lists of maps with empty maps, long and unicode strings, unique and repeated
 * values, absent ids, unknown enum values, extreme integers, NaN and -0.0) are written
 * by both writers; DuckDB then reads both files back and must see the same column types,
 * the same rows in the same order, correct min/max statistics per row group, and a
 * TraceId filter on the native file must return the right rows; hyparquet (an
 * independent JavaScript reader, when installed) must read both to the same values. Small pages, a small
 * dictionary cap and small row groups make every path run: several row groups, several
 * pages per chunk, dictionary kept, dropped on the first page, and dropped mid-chunk.
 */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "lake/colbuf.h"
#include "lake/flatten.h"
#include "lake/parquet.h"
#include "lake/pqwrite.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "test_lake_util.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ---- random tables ------------------------------------------------------------------------ */

static const char *const pool_text[] = {
    "",
    "a",
    "frontend",
    "GET /api/cart",
    "héllo wörld ✓ 日本語",
    "🚀 launch",
    "quote ' and \" and \\ backslash",
    "tab\tnew\nline",
    "zzzz",
    "\xc3\xbf\xc3\xbf last in order",
};

struct gen {
    colbuf_table_t *t;
    slice_t pool[16];
    size_t npool;
    slice_t longs[2];
    uint64_t row;
    otlp_trace_id_t tid;
};

static void gen_init(struct gen *g, colbuf_table_t *t)
{
    memset(g, 0, sizeof(*g));
    g->t = t;
    for (size_t i = 0; i < sizeof(pool_text) / sizeof(pool_text[0]); i++)
        assert_int_equal(colbuf_strdup(t, pool_text[i], strlen(pool_text[i]), &g->pool[i]), 0);
    g->npool = sizeof(pool_text) / sizeof(pool_text[0]);
    char big[5000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(colbuf_strdup(t, big, 300, &g->longs[0]), 0);
    assert_int_equal(colbuf_strdup(t, big, sizeof(big), &g->longs[1]), 0);
}

/* A string for column `mode`: 0 = from the pool (shared slices: dictionary), 1 = unique
 * per value (dictionary dropped on the first page), 2 = repeated at first and unique
 * later (the dictionary outgrows its cap mid-chunk). */
static void put_string(struct gen *g, colbuf_col_t *c, int mode)
{
    colbuf_table_t *t = g->t;
    uint64_t r = rnd();
    if (r % 97 == 0) {
        assert_int_equal(colbuf_put_ref(t, c, g->longs[r % 2]), 0);
        return;
    }
    if (mode == 0 || (mode == 2 && g->row < 600)) {
        slice_t s = g->pool[r % g->npool];
        if (r % 5 == 0) /* the same text, not shared */
            assert_int_equal(colbuf_put_str(t, c, s.p, s.len), 0);
        else
            assert_int_equal(colbuf_put_ref(t, c, s), 0);
        return;
    }
    char tmp[64];
    int n = snprintf(tmp, sizeof(tmp), "v-%016llx-ü", (unsigned long long)rnd());
    assert_int_equal(colbuf_put_str(t, c, tmp, (size_t)n), 0);
}

static double rnd_double(void)
{
    uint64_t r = rnd();
    switch (r % 16) {
    case 0:
        return NAN;
    case 1:
        return -0.0;
    case 2:
        return 0.0;
    case 3:
        return INFINITY;
    case 4:
        return -INFINITY;
    default:
        return ((double)(int64_t)rnd() / 1e12);
    }
}

/* 1: maps and lists are shaped for the level and index encoders' fast paths instead of
 * random: empty for the first 1200 rows (whole row groups of empty maps), then exactly
 * one entry each, then 8-37 entries whose values come in long runs of one text or
 * cycle through ~1500 distinct short texts (dictionary indices up to 11 bits). */
static int shape_mode;

static void put_shaped_map(struct gen *g, colbuf_col_t *c)
{
    colbuf_table_t *t = g->t;
    uint64_t r = rnd();
    size_t n = g->row < 1200 ? 0 : g->row < 2400 ? 1 : 8 + (r >> 8) % 30;
    size_t start = c->child->n;
    for (size_t i = 0; i < n; i++) {
        char tmp[32];
        int len = snprintf(tmp, sizeof(tmp), "k%zu", i % 3);
        assert_int_equal(colbuf_put_str(t, c->child, tmp, (size_t)len), 0);
        if (r % 2) {
            assert_int_equal(colbuf_put_ref(t, c->child2, g->pool[1]), 0);
        } else {
            len = snprintf(tmp, sizeof(tmp), "v%llu", (unsigned long long)((g->row * 7 + i) % 1500));
            assert_int_equal(colbuf_put_str(t, c->child2, tmp, (size_t)len), 0);
        }
    }
    assert_int_equal(colbuf_put_range(t, c, start, n), 0);
}

static void put_value(struct gen *g, colbuf_col_t *c, uint8_t kind, int mode, int64_t ts)
{
    colbuf_table_t *t = g->t;
    uint64_t r = rnd();
    switch (kind) {
    case CB_TS:
        assert_int_equal(colbuf_put_i64(t, c, ts + (int64_t)(r % 1000)), 0);
        break;
    case CB_I64: {
        int64_t v = r % 50 == 0 ? INT64_MIN : r % 50 == 1 ? INT64_MAX : (int64_t)(r % 2000000) - 1000000;
        assert_int_equal(colbuf_put_i64(t, c, v), 0);
        break;
    }
    case CB_U64:
        assert_int_equal(colbuf_put_u64(t, c, r % 40 == 0 ? UINT64_MAX : r % 100000), 0);
        break;
    case CB_I32:
        assert_int_equal(colbuf_put_i32(t, c, r % 40 == 0 ? INT32_MIN : (int32_t)(r % 200) - 100), 0);
        break;
    case CB_U32:
        assert_int_equal(colbuf_put_u32(t, c, r % 40 == 0 ? UINT32_MAX : (uint32_t)(r % 7)), 0);
        break;
    case CB_U8:
        assert_int_equal(colbuf_put_u8(t, c, (uint8_t)r), 0);
        break;
    case CB_BOOL:
        assert_int_equal(colbuf_put_u8(t, c, (uint8_t)(r & 1)), 0);
        break;
    case CB_F64:
        assert_int_equal(colbuf_put_f64(t, c, rnd_double()), 0);
        break;
    case CB_STR:
        put_string(g, c, mode);
        break;
    case CB_TRACEID: {
        if (g->row % 10 == 0) {
            g->tid.len = 16;
            for (int i = 0; i < 16; i++)
                g->tid.id[i] = (uint8_t)rnd();
        }
        otlp_trace_id_t id = g->tid;
        if (r % 23 == 0)
            id.len = 0;
        assert_int_equal(colbuf_put_traceid(t, c, &id), 0);
        break;
    }
    case CB_SPANID: {
        otlp_span_id_t id = {.len = r % 19 ? 8 : 0};
        uint64_t x = rnd();
        memcpy(id.id, &x, 8);
        assert_int_equal(colbuf_put_spanid(t, c, &id), 0);
        break;
    }
    case CB_SPANKIND:
        assert_int_equal(colbuf_put_i32(t, c, r % 31 == 0 ? 42 : r % 37 == 0 ? -1 : (int32_t)(r % 6)), 0);
        break;
    case CB_STATUS:
        assert_int_equal(colbuf_put_i32(t, c, r % 29 == 0 ? 7 : (int32_t)(r % 3)), 0);
        break;
    case CB_MAP: {
        colbuf_range_t *rv = c->v;
        if (shape_mode) {
            put_shaped_map(g, c);
            break;
        }
        if (c->n && r % 4 == 0) { /* share the previous row's map */
            colbuf_range_t prev = rv[c->n - 1];
            assert_int_equal(colbuf_put_range(t, c, prev.off, prev.len), 0);
            break;
        }
        size_t n = r % 5 == 0 ? 0 : 1 + (r >> 8) % 4, start = c->child->n;
        for (size_t i = 0; i < n; i++) {
            put_string(g, c->child, 0);
            put_string(g, c->child2, mode);
        }
        assert_int_equal(colbuf_put_range(t, c, start, n), 0);
        break;
    }
    default:
        fail();
    }
}

static void put_list(struct gen *g, colbuf_col_t *c, uint8_t elem, int mode, int64_t ts)
{
    uint64_t r = rnd();
    size_t n = r % 3 == 0 ? 0 : (r >> 8) % 4, start = c->child->n;
    if (shape_mode)
        n = g->row < 1200 ? 0 : g->row < 2400 ? 1 : 8 + (r >> 8) % 30;
    for (size_t i = 0; i < n; i++)
        put_value(g, c->child, elem, mode, ts);
    assert_int_equal(colbuf_put_range(g->t, c, start, n), 0);
}

/* `rows` random rows for signal sig; times within one hour from t0. */
/* Append `rows` random rows to t. */
static void random_fill(colbuf_table_t *t, size_t rows, int64_t t0)
{
    struct gen g;
    gen_init(&g, t);
    const colbuf_schema_t *s = t->schema;
    int tc = colbuf_col_index(s, s->time_col);
    assert_true(tc >= 0);
    for (size_t row = 0; row < rows; row++) {
        g.row = row;
        int64_t ts = t0 + (int64_t)(rnd() % 3000000000000ull);
        int64_t row_ts = 0;
        for (size_t i = 0; i < s->ncols; i++) {
            colbuf_col_t *c = &t->cols[i];
            int mode = (int)(i % 3);
            if (strcmp(s->cols[i].name, "ServiceName") == 0 || strcmp(s->cols[i].name, "SpanName") == 0 ||
                strcmp(s->cols[i].name, "MetricName") == 0)
                mode = 0; /* sort keys: few distinct values so ties reach the time column */
            if (s->cols[i].kind == CB_LIST)
                put_list(&g, c, s->cols[i].elem, mode, ts);
            else
                put_value(&g, c, s->cols[i].kind, mode, ts);
            if ((int)i == tc)
                row_ts = ((int64_t *)c->v)[c->n - 1];
        }
        assert_int_equal(colbuf_row_done(t, row_ts), 0);
    }
}

static colbuf_table_t *random_table(int sig, size_t rows, int64_t t0)
{
    colbuf_table_t *t = colbuf_table_create(sig, 0);
    assert_non_null(t);
    random_fill(t, rows, t0);
    return t;
}

/* ---- comparing the two files ------------------------------------------------------------- */

struct env {
    char *dir;
    tl_duck_t d;
    parquet_writer_t *dw;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->dir = tl_tmpdir();
    tl_duck_open(&e->d);
    char err[256];
    parquet_options_t po = {.row_group_rows = 2048};
    assert_int_equal(parquet_writer_create(&po, &e->dw, err, sizeof(err)), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    parquet_writer_destroy(e->dw);
    tl_duck_close(&e->d);
    if (getenv("PQW_KEEP")) /* debugging: keep the files */
        fprintf(stderr, "kept %s\n", e->dir);
    else
        tl_rmrf(e->dir);
    free(e->dir);
    free(e);
    return 0;
}

/* "name type, name type, ..." of DESCRIBE. */
static void describe(tl_duck_t *d, const char *path, char *out, size_t len)
{
    char q[1024];
    snprintf(q, sizeof(q), "SELECT string_agg(column_name || ' ' || column_type, ', ') FROM "
                           "(DESCRIBE SELECT * FROM read_parquet('%s'))", path);
    duckdb_result r;
    tl_query(d, q, &r);
    tl_cell(&r, 0, 0, out, len);
    duckdb_destroy_result(&r);
}

static int64_t qint(tl_duck_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t qint(tl_duck_t *d, const char *fmt, ...)
{
    char q[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof(q), fmt, ap);
    va_end(ap);
    return tl_query_int(d, q);
}

static void write_both(struct env *e, const colbuf_table_t *t, const pqw_options_t *po,
                       const char *a, const char *b)
{
    char err[512] = "";
    uint32_t *perm = malloc((t->rows ? t->rows : 1) * sizeof(*perm));
    assert_non_null(perm);
    assert_int_equal(colbuf_sort(t, perm), 0);
    pqw_t *w;
    assert_int_equal(pqw_create(po, &w), 0);
    uint64_t bytes = 0;
    int rc = pqw_write(w, t, perm, NULL, 0, a, &bytes, err, sizeof(err));
    if (rc)
        fprintf(stderr, "pqw_write: %s\n", err);
    assert_int_equal(rc, 0);
    struct stat sb;
    assert_int_equal(stat(a, &sb), 0);
    assert_int_equal((uint64_t)sb.st_size, bytes);
    pqw_destroy(w);
    free(perm);
    rc = parquet_write(e->dw, t, b, err, sizeof(err));
    if (rc)
        fprintf(stderr, "parquet_write: %s\n", err);
    assert_int_equal(rc, 0);
}

/* Both files hold the same rows (as multisets, in any order). */
static void assert_same_rows(struct env *e, const char *a, const char *b)
{
    assert_int_equal(qint(&e->d, "SELECT count(*) FROM (SELECT * FROM read_parquet('%s') EXCEPT ALL "
                                 "SELECT * FROM read_parquet('%s'))", a, b), 0);
    assert_int_equal(qint(&e->d, "SELECT count(*) FROM (SELECT * FROM read_parquet('%s') EXCEPT ALL "
                                 "SELECT * FROM read_parquet('%s'))", b, a), 0);
}

/* Both files hold the same rows in the same order with the same types. */
static void compare_files(struct env *e, const colbuf_table_t *t, const char *a, const char *b)
{
    char da[4096], db[4096];
    describe(&e->d, a, da, sizeof(da));
    describe(&e->d, b, db, sizeof(db));
    assert_string_equal(da, db);
    assert_int_equal(qint(&e->d, "SELECT count(*) FROM read_parquet('%s')", a), (int64_t)t->rows);
    assert_int_equal(qint(&e->d, "SELECT count(*) FROM read_parquet('%s')", b), (int64_t)t->rows);
    /* set equality, both ways, then row order (file_row_number) */
    assert_same_rows(e, a, b);
    assert_int_equal(qint(&e->d,
                          "SELECT count(*) FROM (SELECT * FROM read_parquet('%s', file_row_number=true) "
                          "EXCEPT ALL SELECT * FROM read_parquet('%s', file_row_number=true))",
                          a, b),
                     0);
}

/* Per row group of the native file: min/max statistics of `col` equal DuckDB's own
 * min()/max() over that row group's rows (exact), or bound them (strings cut to 64 B).
 * One query for all row groups: a row's group comes from file_row_number and the
 * groups' row counts. */
static void check_stats(struct env *e, const char *a, const char *col, int exact)
{
    char q[8192];
    snprintf(q, sizeof(q),
             "WITH g AS (SELECT DISTINCT row_group_id id, row_group_num_rows n FROM parquet_metadata('%s')), "
             "b AS (SELECT id, sum(n) OVER (ORDER BY id) - n AS lo, n FROM g), "
             "s AS (SELECT row_group_id id, stats_min_value mn, stats_max_value mx FROM "
             "  parquet_metadata('%s') WHERE path_in_schema = '%s'), "
             "v AS (SELECT b.id, min(\"%s\")::VARCHAR mn, max(\"%s\")::VARCHAR mx FROM "
             "  read_parquet('%s', file_row_number=true) r JOIN b ON r.file_row_number >= b.lo "
             "  AND r.file_row_number < b.lo + b.n GROUP BY b.id) "
             "SELECT count(*), count(*) FILTER (WHERE %s), "
             "  coalesce(string_agg(CASE WHEN NOT (%s) THEN s.id || ': [' || s.mn || ', ' || s.mx || "
             "  '] vs [' || v.mn || ', ' || v.mx || ']' END, '; '), '') "
             "FROM s JOIN v USING (id)",
             a, a, col, col, col, a,
             exact ? "s.mn = v.mn AND s.mx = v.mx" : "v.mn >= s.mn AND v.mx <= s.mx",
             exact ? "s.mn = v.mn AND s.mx = v.mx" : "v.mn >= s.mn AND v.mx <= s.mx");
    duckdb_result r;
    tl_query(&e->d, q, &r);
    int64_t groups = duckdb_value_int64(&r, 0, 0), ok = duckdb_value_int64(&r, 1, 0);
    char bad[1024];
    tl_cell(&r, 2, 0, bad, sizeof(bad));
    duckdb_destroy_result(&r);
    if (ok != groups)
        fprintf(stderr, "stats of %s wrong in row groups %s\n", col, bad);
    assert_true(groups >= 1);
    assert_int_equal(ok, groups);
    assert_int_equal(groups, qint(&e->d, "SELECT count(DISTINCT row_group_id) FROM parquet_metadata('%s')", a));
}

/* TraceId = x on the native file gives exactly the rows with that id (counted in C). */
static void check_traceid_filter(struct env *e, const colbuf_table_t *t, const char *a)
{
    int ci = colbuf_col_index(t->schema, "TraceId");
    assert_true(ci >= 0);
    const otlp_trace_id_t *ids = t->cols[ci].v;
    for (int k = 0; k < 3; k++) {
        size_t pick = (size_t)(rnd() % t->rows);
        if (ids[pick].len != 16)
            continue;
        int64_t want = 0;
        for (size_t i = 0; i < t->rows; i++)
            want += ids[i].len == 16 && memcmp(ids[i].id, ids[pick].id, 16) == 0;
        char hex[33];
        colbuf_hex(ids[pick].id, 16, hex);
        assert_int_equal(qint(&e->d, "SELECT count(*) FROM read_parquet('%s') WHERE TraceId = '%s'",
                              a, hex),
                         want);
    }
    /* an id that is not there, below and above every id */
    assert_int_equal(qint(&e->d, "SELECT count(*) FROM read_parquet('%s') WHERE TraceId = "
                                 "'0000000000000000000000000000000g'", a), 0);
}

/* hyparquet (tests/e2e/node_modules, an independent reader in JavaScript) reads both
 * files to the same values, row by row. Skipped (returns 0) when node or the module is
 * not installed; 1 when compared and equal. */
static const char hyp_script[] =
    "const m = process.env.HYP_DIR;"
    "const { parquetReadObjects, asyncBufferFromFile } = await import(m + '/hyparquet/src/node.js');"
    "const { compressors } = await import(m + '/hyparquet-compressors/src/index.js');"
    "const ser = (v) => JSON.stringify(v, (k, x) => typeof x === 'bigint' ? 'n' + x :"
    "  typeof x === 'number' && !Number.isFinite(x) ? String(x) : Object.is(x, -0) ? '-0' : x);"
    "const rd = async (f) => parquetReadObjects({ file: await asyncBufferFromFile(f), compressors });"
    "const a = await rd(process.argv[1]), b = await rd(process.argv[2]);"
    "if (a.length !== b.length) { console.error('rows', a.length, b.length); process.exit(1) }"
    "for (let i = 0; i < a.length; i++) if (ser(a[i]) !== ser(b[i])) {"
    "  console.error('row', i, ser(a[i]).slice(0, 400), ser(b[i]).slice(0, 400)); process.exit(1) }"
    "process.exit(0);";

static int hyparquet_compare(const char *a, const char *b)
{
    const char *src = getenv("ORASI_SRC");
    char dir[1024], cmd[4096];
    snprintf(dir, sizeof(dir), "%s/tests/e2e/node_modules", src ? src : ".");
    char probe[1200];
    snprintf(probe, sizeof(probe), "%s/hyparquet/src/index.js", dir);
    if (access(probe, R_OK) != 0 || system("node --version >/dev/null 2>&1") != 0)
        return 0;
    setenv("HYP_DIR", dir, 1);
    snprintf(cmd, sizeof(cmd), "node --input-type=module -e \"$PQW_HYP_SCRIPT\" '%s' '%s'", a, b);
    setenv("PQW_HYP_SCRIPT", hyp_script, 1);
    int rc = system(cmd);
    assert_int_equal(rc, 0);
    return 1;
}

static const pqw_options_t small_opts = {
    .row_group_rows = 1000, .page_bytes = 4096, .dict_bytes = 2048, .zstd_level = 3};

static void run_signal(void **state, int sig, size_t rows, const pqw_options_t *po)
{
    struct env *e = *state;
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/%s-native.parquet", e->dir, colbuf_sig_name(sig));
    snprintf(b, sizeof(b), "%s/%s-duckdb.parquet", e->dir, colbuf_sig_name(sig));
    colbuf_table_t *t = random_table(sig, rows, 1700000000000000000ll);
    write_both(e, t, po, a, b);
    compare_files(e, t, a, b);
    if (!hyparquet_compare(a, b))
        fprintf(stderr, "(hyparquet not installed: independent read skipped)\n");
    const colbuf_schema_t *s = t->schema;
    if (rows) {
        /* every top-level column's statistics; strings may be cut to 64 bytes */
        for (size_t i = 0; i < s->ncols; i++) {
            uint8_t k = s->cols[i].kind;
            if (k == CB_MAP || k == CB_LIST || k == CB_F64)
                continue;
            check_stats(e, a, s->cols[i].name, k != CB_STR);
        }
        if (colbuf_col_index(s, "TraceId") >= 0)
            check_traceid_filter(e, t, a);
    }
    colbuf_table_destroy(t);
}

static void test_traces(void **state)
{
    run_signal(state, LAKE_TRACES, 5000, &small_opts);
}
static void test_logs(void **state)
{
    run_signal(state, LAKE_LOGS, 4000, &small_opts);
}
static void test_gauge(void **state)
{
    run_signal(state, LAKE_METRICS_GAUGE, 3000, &small_opts);
}
static void test_sum(void **state)
{
    run_signal(state, LAKE_METRICS_SUM, 3000, &small_opts);
}
static void test_histogram(void **state)
{
    run_signal(state, LAKE_METRICS_HISTOGRAM, 3000, &small_opts);
}
static void test_exp_histogram(void **state)
{
    run_signal(state, LAKE_METRICS_EXP_HISTOGRAM, 3000, &small_opts);
}
static void test_summary(void **state)
{
    run_signal(state, LAKE_METRICS_SUMMARY, 3000, &small_opts);
}

/* Default options (one row group, 1 MiB pages) and PLAIN integers. */
static void test_defaults_and_plain(void **state)
{
    run_signal(state, LAKE_TRACES, 3000, NULL);
    pqw_options_t po = small_opts;
    po.plain_ints = 1;
    run_signal(state, LAKE_METRICS_EXP_HISTOGRAM, 2500, &po);
}

/* Maps and lists empty in whole row groups, with exactly one entry, and long with runs
 * of equal values and wide dictionary indices (the RLE hybrid's run scan and the
 * group-of-8 bit packing at widths 1..11), in small and default pages. */
static void test_shapes(void **state)
{
    pqw_options_t po = small_opts;
    po.dict_bytes = 1u << 20;
    shape_mode = 1;
    run_signal(state, LAKE_TRACES, 3000, &po);
    run_signal(state, LAKE_LOGS, 2600, NULL);
    shape_mode = 0;
}

static void test_empty_table(void **state)
{
    run_signal(state, LAKE_TRACES, 0, NULL);
    run_signal(state, LAKE_METRICS_SUMMARY, 0, NULL);
}

/* ---- rows made by the flattening code (shared resource slices, real maps) --------------------- */

static colbuf_table_t *flat_tables[LAKE_SIG_COUNT];

static colbuf_table_t *flat_table(void *ctx, int sig, int64_t ts, int *err)
{
    (void)ctx;
    (void)ts;
    if (!flat_tables[sig])
        flat_tables[sig] = colbuf_table_create(sig, 0);
    if (!flat_tables[sig])
        *err = ORASI_ENOMEM;
    return flat_tables[sig];
}

static void test_flattened_traces(void **state)
{
    struct env *e = *state;
    flatten_t f;
    flatten_init(&f, flat_table, NULL, 0);
    arena_t *ar = arena_create(1 << 20, 0);
    assert_non_null(ar);
    static const char *const svcs[] = {"checkout", "cart", "ünïcode-svc"};
    for (int r = 0; r < 30; r++) {
        arena_reset(ar);
        otlp_traces_t m = tl_traces(ar, svcs[r % 3], 100, 1700000000000000000ull + (uint64_t)r * 1000000,
                                    1000, (uint64_t)r * 1000);
        assert_int_equal(flatten_traces(&f, &m), 0);
    }
    colbuf_table_t *t = flat_tables[LAKE_TRACES];
    assert_non_null(t);
    assert_int_equal(t->rows, 3000);
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/flat-native.parquet", e->dir);
    snprintf(b, sizeof(b), "%s/flat-duckdb.parquet", e->dir);
    write_both(e, t, &small_opts, a, b);
    compare_files(e, t, a, b);
    hyparquet_compare(a, b);
    check_stats(e, a, "Timestamp", 1);
    check_stats(e, a, "TraceId", 1);
    check_stats(e, a, "ServiceName", 1);
    check_traceid_filter(e, t, a);
    /* the shared resource map reads back on every row */
    assert_int_equal(qint(&e->d, "SELECT count(*) FROM read_parquet('%s') WHERE "
                                 "ResourceAttributes['service.name'] = ServiceName", a),
                     3000);
    colbuf_table_destroy(t);
    flat_tables[LAKE_TRACES] = NULL;
    arena_destroy(ar);
    flatten_free(&f);
}

/* Writing to a place that cannot be opened fails cleanly; so does every allocation. */
static void test_errors(void **state)
{
    struct env *e = *state;
    colbuf_table_t *t = random_table(LAKE_LOGS, 500, 1700000000000000000ll);
    uint32_t *perm = malloc(t->rows * sizeof(*perm));
    assert_int_equal(colbuf_sort(t, perm), 0);
    pqw_t *w;
    char err[256], path[512];
    assert_int_equal(pqw_create(&small_opts, &w), 0);
    assert_true(pqw_write(w, t, perm, NULL, 0, "/nonexistent-dir/x.parquet", NULL, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "open"));
    perm[0] = (uint32_t)t->rows; /* out of range */
    assert_int_equal(pqw_write(w, t, perm, NULL, 0, "/tmp/never.parquet", NULL, err, sizeof(err)),
                     ORASI_EINVAL);
    assert_int_equal(colbuf_sort(t, perm), 0);
    pqw_destroy(w);
    /* fail the Nth allocation for each N until a write succeeds */
    snprintf(path, sizeof(path), "%s/alloc.parquet", e->dir);
    int ok = 0;
    for (long n = 0; n < 200 && !ok; n++) {
        orasi_alloc_fail_after(n);
        pqw_t *w2 = NULL;
        int rc = pqw_create(&small_opts, &w2);
        if (rc == 0) {
            rc = pqw_write(w2, t, perm, NULL, 0, path, NULL, err, sizeof(err));
            pqw_destroy(w2);
        }
        orasi_alloc_fail_after(-1);
        if (rc == 0)
            ok = 1;
        else
            assert_int_equal(rc, ORASI_ENOMEM);
    }
    assert_true(ok);
    assert_int_equal(qint(&e->d, "SELECT count(*) FROM read_parquet('%s')", path), 500);
    free(perm);
    colbuf_table_destroy(t);
}

/* ---- dictionaries: one entry per distinct value, shared slices or not ------------------------ */

/* Thrift compact protocol, just enough to read a PageHeader (parquet.thrift): an
 * independent reader of what the writer put at a chunk's dictionary_page_offset. */
static uint64_t tc_uvar(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int sh = 0; *p < end && sh < 64; sh += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80))
            break;
    }
    return v;
}

static int64_t tc_zz(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Walk a struct; field `want` (an i32) of it, or of its struct field `sub` when sub > 0,
 * into *out. */
static void tc_struct(const uint8_t **p, const uint8_t *end, int want, int sub, int64_t *out)
{
    int16_t last = 0;
    while (*p < end) {
        uint8_t b = *(*p)++;
        if (b == 0)
            return;
        int16_t id = (b >> 4) ? (int16_t)(last + (b >> 4)) : (int16_t)tc_zz(tc_uvar(p, end));
        last = id;
        switch (b & 15) {
        case 1:
        case 2:
            break;
        case 3:
            (*p)++;
            break;
        case 4:
        case 5:
        case 6: {
            int64_t v = tc_zz(tc_uvar(p, end));
            if (sub == 0 && id == want)
                *out = v;
            break;
        }
        case 8: {
            uint64_t n = tc_uvar(p, end);
            *p += n;
            break;
        }
        case 12:
            if (sub > 0 && id == sub)
                tc_struct(p, end, want, 0, out);
            else
                tc_struct(p, end, -1, 0, out);
            break;
        default:
            fail_msg("thrift type %d not expected in a page header", b & 15);
        }
    }
}

/* num_values of the dictionary page at `off` of file `path` (-1: not a dictionary page). */
static int64_t dict_page_values(const char *path, int64_t off)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t hdr[256];
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    size_t n = fread(hdr, 1, sizeof(hdr), f);
    fclose(f);
    const uint8_t *p = hdr;
    int64_t type = -1, nv = -1;
    tc_struct(&p, hdr + n, 1, 0, &type);
    if (type != 2) /* DICTIONARY_PAGE */
        return -1;
    p = hdr;
    tc_struct(&p, hdr + n, 1, 7, &nv); /* dictionary_page_header.num_values */
    return nv;
}

/* The same few texts reach a column through one shared slice, through copies at other
 * addresses (equal bytes, different pointers) and as the previous row's slice: every
 * chunk's dictionary has exactly one entry per distinct text used in its row group (no
 * duplicates whatever the pointers), for a top-level column and a map value leaf, and
 * the file still reads back like DuckDB's. */
static void test_dict_shared_strings(void **state)
{
    struct env *e = *state;
    static const char *const texts[] = {"alpha", "", "beta: longer than sixteen bytes", "γ"};
    enum { NT = 4, ROWS = 3000 };
    colbuf_table_t *t = random_table(LAKE_TRACES, ROWS, 1700000000000000000ll);
    slice_t shared[NT];
    for (int k = 0; k < NT; k++)
        assert_int_equal(colbuf_strdup(t, texts[k], strlen(texts[k]), &shared[k]), 0);
    int sn = colbuf_col_index(t->schema, "SpanName"), sa = colbuf_col_index(t->schema, "SpanAttributes");
    assert_true(sn >= 0 && sa >= 0);
    colbuf_col_t *cols[2] = {&t->cols[sn], t->cols[sa].child2};
    static int which[2][ROWS * 8];
    for (int c = 0; c < 2; c++) {
        colbuf_str_t *v = cols[c]->v;
        assert_true(cols[c]->n <= ROWS * 8);
        for (size_t i = 0; i < cols[c]->n; i++) {
            uint64_t r = rnd();
            int k = c == 0 && r % 2 ? 2 : (int)(r % NT); /* SpanName: some rows sort-tied */
            which[c][i] = k;
            slice_t x;
            switch ((r >> 8) % 3) {
            case 0:
                x = shared[k];
                break;
            case 1: /* a copy: equal bytes elsewhere */
                assert_int_equal(colbuf_strdup(t, texts[k], strlen(texts[k]), &x), 0);
                break;
            default: /* the previous value's slice when it is the same text */
                if (i && which[c][i - 1] == k)
                    x = colbuf_str_slice(v[i - 1]);
                else
                    assert_int_equal(colbuf_strdup(t, texts[k], strlen(texts[k]), &x), 0);
            }
            v[i] = (colbuf_str_t){x.p, (uint32_t)x.len, 0};
        }
    }
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/dict-native.parquet", e->dir);
    snprintf(b, sizeof(b), "%s/dict-duckdb.parquet", e->dir);
    uint32_t *perm = malloc(ROWS * sizeof(*perm));
    assert_non_null(perm);
    assert_int_equal(colbuf_sort(t, perm), 0);
    for (int opt = 0; opt < 2; opt++) {
        const pqw_options_t *po = opt ? NULL : &small_opts;
        size_t rg = opt ? ROWS : small_opts.row_group_rows;
        write_both(e, t, po, a, b);
        compare_files(e, t, a, b);
        static const char *const paths[2] = {"SpanName", "SpanAttributes.key_value.value"};
        for (int c = 0; c < 2; c++) {
            char q[1024];
            snprintf(q, sizeof(q),
                     "SELECT row_group_id, dictionary_page_offset FROM parquet_metadata('%s') WHERE "
                     "array_to_string(string_split(path_in_schema, ', '), '.') = '%s' ORDER BY 1",
                     a, paths[c]);
            duckdb_result r;
            tl_query(&e->d, q, &r);
            idx_t nrg = duckdb_row_count(&r);
            assert_int_equal(nrg, (ROWS + rg - 1) / rg);
            const colbuf_range_t *ranges = t->cols[sa].v;
            for (idx_t g = 0; g < nrg; g++) {
                /* distinct texts in this row group, counted in C */
                int used[NT] = {0}, want = 0;
                for (size_t row = g * rg; row < (g + 1) * rg && row < ROWS; row++) {
                    uint32_t pr = perm[row];
                    if (c == 0) {
                        used[which[0][pr]] = 1;
                    } else {
                        for (uint32_t j = 0; j < ranges[pr].len; j++)
                            used[which[1][ranges[pr].off + j]] = 1;
                    }
                }
                for (int k = 0; k < NT; k++)
                    want += used[k];
                int64_t off = duckdb_value_int64(&r, 1, g);
                assert_true(off > 0);
                assert_int_equal(dict_page_values(a, off), want);
            }
            duckdb_destroy_result(&r);
        }
    }
    free(perm);
    colbuf_table_destroy(t);
}

/* A string column that colbuf interned (colbuf_col_t.ids) gets its dictionary from the
 * intern ids: the same text put by every route (interned, copied, by reference, again,
 * too long to intern) and after the table is reset and refilled (ids start over) is one
 * dictionary entry, and every row reads back its own text. */
static void test_dict_intern_ids(void **state)
{
    struct env *e = *state;
    char longtext[100];
    memset(longtext, 'L', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = 0;
    const char *const texts[] = {"alpha", "", "beta: longer than sixteen bytes", "γ", longtext};
    enum { NT = 5, ROWS = 3000 };
    colbuf_table_t *t = random_table(LAKE_TRACES, ROWS, 1700000000000000000ll);
    int sn = colbuf_col_index(t->schema, "SpanName");
    assert_true(sn >= 0);
    colbuf_col_t *c = &t->cols[sn];
    slice_t shared[NT];
    for (int k = 0; k < NT; k++)
        assert_int_equal(colbuf_strdup(t, texts[k], strlen(texts[k]), &shared[k]), 0);
    static int which[ROWS];
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/ids-native.parquet", e->dir);
    snprintf(b, sizeof(b), "%s/ids-duckdb.parquet", e->dir);
    for (int round = 0; round < 2; round++) {
        /* (re)fill SpanName: in round 1 the table was reset and refilled, so its intern
         * table and ids restarted and the ids array is a recycled one */
        c->n = 0;
        size_t last[NT] = {0};
        int seen[NT] = {0};
        for (size_t i = 0; i < ROWS; i++) {
            uint64_t r = rnd();
            int k = i == 0 ? 0 : (int)(r % NT);
            which[i] = k;
            const char *x = texts[k];
            switch (i == 0 ? 0 : (r >> 8) % 4) {
            case 0:
                assert_int_equal(colbuf_put_istr(t, c, x, strlen(x)), 0);
                break;
            case 1:
                assert_int_equal(colbuf_put_str(t, c, x, strlen(x)), 0);
                break;
            case 2:
                assert_int_equal(colbuf_put_ref(t, c, shared[k]), 0);
                break;
            default:
                if (seen[k])
                    assert_int_equal(colbuf_put_again(t, c, last[k]), 0);
                else
                    assert_int_equal(colbuf_put_istr(t, c, x, strlen(x)), 0);
            }
            last[k] = i;
            seen[k] = 1;
        }
        assert_int_equal(c->n, ROWS);
        assert_true(c->nids >= 3 && c->nids <= 4); /* the long text is never interned */
        write_both(e, t, NULL, a, b);
        compare_files(e, t, a, b);
        /* every row its own text (file row order is colbuf_sort's) */
        uint32_t *perm = malloc(ROWS * sizeof(*perm));
        assert_non_null(perm);
        assert_int_equal(colbuf_sort(t, perm), 0);
        duckdb_result r;
        char q[1024];
        snprintf(q, sizeof(q), "SELECT SpanName FROM read_parquet('%s', file_row_number=true) "
                               "ORDER BY file_row_number", a);
        tl_query(&e->d, q, &r);
        assert_int_equal(duckdb_row_count(&r), ROWS);
        for (idx_t i = 0; i < ROWS; i++) {
            char *v = duckdb_value_varchar(&r, 0, i);
            assert_string_equal(v, texts[which[perm[i]]]);
            duckdb_free(v);
        }
        duckdb_destroy_result(&r);
        free(perm);
        /* one row group: its dictionary holds each text once */
        assert_int_equal(qint(&e->d, "SELECT count(*) FROM parquet_metadata('%s') WHERE "
                                     "path_in_schema = 'SpanName'", a), 1);
        int64_t off = qint(&e->d, "SELECT dictionary_page_offset FROM parquet_metadata('%s') "
                                  "WHERE path_in_schema = 'SpanName'", a);
        assert_true(off > 0);
        assert_int_equal(dict_page_values(a, off), NT);
        if (!round) {
            /* start the table over the way the lake recycles one, and fill it again */
            colbuf_table_reset(t);
            random_fill(t, ROWS, 1700000000000000000ll);
            for (int k = 0; k < NT; k++)
                assert_int_equal(colbuf_strdup(t, texts[k], strlen(texts[k]), &shared[k]), 0);
        }
    }
    /* one writer for several writes, giving its table-wide memory back after each (what
     * a big flush does): every file the same rows */
    pqw_options_t po = {.keep_bytes = 1};
    pqw_t *w;
    assert_int_equal(pqw_create(&po, &w), 0);
    uint32_t *perm = malloc(ROWS * sizeof(*perm));
    assert_non_null(perm);
    assert_int_equal(colbuf_sort(t, perm), 0);
    for (int k = 0; k < 3; k++) {
        char err[256];
        assert_int_equal(pqw_write(w, t, perm, NULL, 0, k ? b : a, NULL, err, sizeof(err)), 0);
        if (k)
            assert_same_rows(e, a, b);
    }
    free(perm);
    pqw_destroy(w);
    colbuf_table_destroy(t);
}

/* colbuf_sort's trace order (radix sort on an id prefix, then runs of equal prefixes
 * ordered in full) is exactly: TraceId (absent first, then bytewise), Timestamp, row;
 * checked pair by pair on ids sharing 4- and 8-byte prefixes, long runs of one id, many
 * absent ids (a run long enough for the qsort fix-up) and tied timestamps. */
/* A random 16-byte trace id; *x and *y receive its two halves. */
static otlp_trace_id_t rnd_trace_id(uint64_t *x, uint64_t *y)
{
    otlp_trace_id_t id = {.len = 16};
    *x = rnd();
    *y = rnd();
    memcpy(id.id, x, 8);
    memcpy(id.id + 8, y, 8);
    return id;
}

static int ref_trace_cmp(const otlp_trace_id_t *ids, const int64_t *ts, uint32_t a, uint32_t b)
{
    if (ids[a].len != ids[b].len)
        return ids[a].len < ids[b].len ? -1 : 1;
    int r = ids[a].len ? memcmp(ids[a].id, ids[b].id, 16) : 0;
    if (r)
        return r;
    if (ts[a] != ts[b])
        return ts[a] < ts[b] ? -1 : 1;
    return a < b ? -1 : a > b;
}

static void test_sort_traces(void **state)
{
    (void)state;
    static const size_t sizes[] = {2, 3, 17, 300, 20000};
    for (size_t round = 0; round < sizeof(sizes) / sizeof(sizes[0]); round++) {
        size_t rows = sizes[round];
        colbuf_table_t *t = random_table(LAKE_TRACES, rows, 1700000000000000000ll);
        int ci = colbuf_col_index(t->schema, "TraceId"), ti = colbuf_col_index(t->schema, "Timestamp");
        assert_true(ci >= 0 && ti >= 0);
        otlp_trace_id_t *ids = t->cols[ci].v;
        int64_t *ts = t->cols[ti].v;
        for (size_t i = 0; i < rows; i++) {
            uint64_t r = rnd(), x, y;
            otlp_trace_id_t id = rnd_trace_id(&x, &y);
            switch (r % 8) {
            case 0: /* absent: its bytes must not matter */
                id.len = 0;
                break;
            case 1: /* a shared 4-byte prefix of zeros (also the absent ids' radix key) */
                memset(id.id, 0, 4);
                break;
            case 2: /* a shared 8-byte prefix, few distinct tails */
                memset(id.id, 0xab, 8);
                id.id[15] = (uint8_t)(y % 3);
                memset(id.id + 8, 0, 7);
                break;
            case 3: /* the previous row's id (spans of one trace) */
                if (i)
                    id = ids[i - 1];
                break;
            default:
                break;
            }
            ids[i] = id;
            ts[i] = (r >> 8) % 3 == 0 ? 1700000000000000000ll : 1700000000000000000ll + (int64_t)(x % 50);
        }
        uint32_t *perm = malloc(rows * sizeof(*perm));
        uint8_t *seen = calloc(rows, 1);
        assert_non_null(perm);
        assert_non_null(seen);
        assert_int_equal(colbuf_sort(t, perm), 0);
        for (size_t i = 0; i < rows; i++) {
            assert_true(perm[i] < rows);
            assert_int_equal(seen[perm[i]], 0);
            seen[perm[i]] = 1;
            if (i)
                assert_true(ref_trace_cmp(ids, ts, perm[i - 1], perm[i]) < 0);
        }
        free(seen);
        free(perm);
        colbuf_table_destroy(t);
    }
}

/* colbuf_group on traces: each row group holds its own slice of the trace-id space (so
 * the groups' TraceId ranges are disjoint and ascending), rows in arrival order inside
 * a group, no group over twice the target; the native file has exactly those row
 * groups, statistics that prune, and the same rows as DuckDB's writer. Skewed ids, and
 * tables not keyed by TraceId, get colbuf_sort's order cut every group_rows rows. */
static int id_cmp(const otlp_trace_id_t *a, const otlp_trace_id_t *b)
{
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return a->len ? memcmp(a->id, b->id, 16) : 0;
}

static void check_sorted_cuts(const colbuf_table_t *t, size_t rg)
{
    size_t n = t->rows, ng = 0;
    uint32_t *perm = malloc((n ? n : 1) * sizeof(*perm)), *ref = malloc((n ? n : 1) * sizeof(*ref));
    uint32_t *ends = malloc(((n + rg - 1) / rg + 1) * sizeof(*ends));
    assert_int_equal(colbuf_group(t, rg, perm, ends, &ng), 0);
    assert_int_equal(colbuf_sort(t, ref), 0);
    assert_memory_equal(perm, ref, n * sizeof(*perm));
    assert_int_equal(ng, n ? (n + rg - 1) / rg : 1);
    for (size_t g = 0; g < ng; g++)
        assert_int_equal(ends[g], (g + 1) * rg < n ? (g + 1) * rg : n);
    free(perm);
    free(ref);
    free(ends);
}

static void test_group_traces(void **state)
{
    struct env *e = *state;
    const size_t rows = 20000, rg = 1000;
    colbuf_table_t *t = random_table(LAKE_TRACES, rows, 1700000000000000000ll);
    int ci = colbuf_col_index(t->schema, "TraceId");
    assert_true(ci >= 0);
    otlp_trace_id_t *ids = t->cols[ci].v;
    for (size_t i = 0; i < rows; i++) {
        uint64_t r = rnd(), x, y;
        otlp_trace_id_t id = rnd_trace_id(&x, &y);
        if (r % 64 == 0)
            id.len = 0; /* absent: first */
        else if (r % 4 == 1 && i)
            id = ids[i - 1]; /* spans of one trace */
        ids[i] = id;
    }
    size_t ng = 0;
    uint32_t *perm = malloc(rows * sizeof(*perm)), *ends = malloc((rows / rg + 1) * sizeof(*ends));
    uint8_t *seen = calloc(rows, 1);
    assert_int_equal(colbuf_group(t, rg, perm, ends, &ng), 0);
    assert_true(ng >= rows / rg - 1 && ng <= rows / rg);
    for (size_t g = 0, r0 = 0; g < ng; r0 = ends[g], g++) {
        assert_true(ends[g] > r0 && ends[g] - r0 <= 2 * rg);
        for (size_t i = r0; i < ends[g]; i++) {
            assert_true(perm[i] < rows);
            assert_int_equal(seen[perm[i]], 0);
            seen[perm[i]] = 1;
            if (i > r0)
                assert_true(perm[i] > perm[i - 1]); /* arrival order */
            if (g + 1 < ng) /* below every id of the next groups */
                for (size_t j = ends[g]; j < ends[ng - 1]; j += 97)
                    assert_true(id_cmp(&ids[perm[i]], &ids[perm[j]]) < 0);
        }
    }
    assert_int_equal(ends[ng - 1], rows);

    /* the file: those row groups, TraceId statistics per group, the same rows */
    char a[512], b[512], err[512] = "";
    snprintf(a, sizeof(a), "%s/grouped-native.parquet", e->dir);
    snprintf(b, sizeof(b), "%s/grouped-duckdb.parquet", e->dir);
    pqw_t *w;
    assert_int_equal(pqw_create(&small_opts, &w), 0);
    int rc = pqw_write(w, t, perm, ends, ng, a, NULL, err, sizeof(err));
    if (rc)
        fprintf(stderr, "pqw_write: %s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(parquet_write(e->dw, t, b, err, sizeof(err)), 0);
    assert_int_equal(qint(&e->d, "SELECT count(DISTINCT row_group_id) FROM parquet_metadata('%s')", a),
                     (int64_t)ng);
    for (size_t g = 0; g < ng; g++)
        assert_int_equal(qint(&e->d, "SELECT max(row_group_num_rows) FROM parquet_metadata('%s') "
                                     "WHERE row_group_id = %zu", a, g),
                         (int64_t)(ends[g] - (g ? ends[g - 1] : 0)));
    assert_same_rows(e, a, b);
    check_stats(e, a, "TraceId", 1);
    check_stats(e, a, "Timestamp", 1);
    check_traceid_filter(e, t, a);
    /* disjoint groups: no two row groups' TraceId ranges overlap */
    assert_int_equal(qint(&e->d, "WITH s AS (SELECT row_group_id id, stats_min_value mn, "
                                 "stats_max_value mx FROM parquet_metadata('%s') WHERE "
                                 "path_in_schema = 'TraceId') SELECT count(*) FROM s x JOIN s y "
                                 "ON x.id < y.id AND x.mx >= y.mn", a), 0);

    /* bad groups are refused */
    uint32_t bad[2] = {(uint32_t)rows, (uint32_t)rows};
    assert_int_equal(pqw_write(w, t, perm, bad, 2, a, NULL, err, sizeof(err)), ORASI_EINVAL);
    bad[0] = (uint32_t)rows - 1;
    assert_int_equal(pqw_write(w, t, perm, bad, 1, a, NULL, err, sizeof(err)), ORASI_EINVAL);
    pqw_destroy(w);

    /* skewed ids (one 16-bit prefix): sorted, fixed cuts */
    for (size_t i = 0; i < rows; i++)
        ids[i].id[0] = ids[i].id[1] = 0x42;
    check_sorted_cuts(t, rg);
    /* fewer rows than a group: one group in arrival order */
    colbuf_table_t *s1 = random_table(LAKE_TRACES, 300, 1700000000000000000ll);
    size_t n1 = 0;
    uint32_t p1[300], e1[2];
    assert_int_equal(colbuf_group(s1, rg, p1, e1, &n1), 0);
    assert_int_equal(n1, 1);
    assert_int_equal(e1[0], 300);
    for (uint32_t i = 0; i < 300; i++)
        assert_int_equal(p1[i], i);
    colbuf_table_destroy(s1);
    /* logs are not keyed by a trace id */
    colbuf_table_t *l = random_table(LAKE_LOGS, 5000, 1700000000000000000ll);
    check_sorted_cuts(l, rg);
    colbuf_table_destroy(l);
    free(seen);
    free(perm);
    free(ends);
    colbuf_table_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_traces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gauge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exp_histogram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_and_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flattened_traces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dict_shared_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dict_intern_ids, setup, teardown),
        cmocka_unit_test(test_sort_traces),
        cmocka_unit_test_setup_teardown(test_group_traces, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
