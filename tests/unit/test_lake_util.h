/*
 * test_lake_util.h — helpers shared by the lake tests: temporary directories, an
 * independent DuckDB connection to read Parquet back, and builders for OTLP models.
 * Header-only (static functions) so each test executable stays self-contained.
 */
#ifndef ORASI_TEST_LAKE_UTIL_H
#define ORASI_TEST_LAKE_UTIL_H

#include "core/arena.h"
#include "core/buf.h"
#include "otlp/otlp_model.h"

#include <duckdb.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static int tl_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void tl_rmrf(const char *dir)
{
    nftw(dir, tl_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory under /tmp; caller frees (and removes with tl_rmrf). */
static inline char *tl_tmpdir(void)
{
    char t[] = "/tmp/orasi-lake-test-XXXXXX";
    assert_non_null(mkdtemp(t));
    return strdup(t);
}

/* ---- independent reader -------------------------------------------------------------- */

typedef struct {
    duckdb_database db;
    duckdb_connection con;
} tl_duck_t;

static inline void tl_duck_open(tl_duck_t *d)
{
    assert_int_equal(duckdb_open(NULL, &d->db), DuckDBSuccess);
    assert_int_equal(duckdb_connect(d->db, &d->con), DuckDBSuccess);
}

static inline void tl_duck_close(tl_duck_t *d)
{
    duckdb_disconnect(&d->con);
    duckdb_close(&d->db);
}

/* Run a query that must succeed. */
static inline void tl_query(tl_duck_t *d, const char *sql, duckdb_result *res)
{
    if (duckdb_query(d->con, sql, res) != DuckDBSuccess) {
        fprintf(stderr, "query failed: %s\n  %s\n", duckdb_result_error(res), sql);
        duckdb_destroy_result(res);
        fail();
    }
}

/* First column of the first row as int64. */
static inline int64_t tl_query_int(tl_duck_t *d, const char *sql)
{
    duckdb_result r;
    tl_query(d, sql, &r);
    assert_true(duckdb_row_count(&r) >= 1);
    int64_t v = duckdb_value_int64(&r, 0, 0);
    duckdb_destroy_result(&r);
    return v;
}

/* Value at (row, col) as text into out. */
static inline void tl_cell(duckdb_result *r, idx_t col, idx_t row, char *out, size_t len)
{
    char *v = duckdb_value_varchar(r, col, row);
    snprintf(out, len, "%s", v ? v : "(null)");
    duckdb_free(v);
}

/* ---- model builders ------------------------------------------------------------------- */

static inline slice_t tl_s(const char *s)
{
    return slice_cstr(s);
}

static inline otlp_kv_t tl_kv_str(const char *k, const char *v)
{
    otlp_kv_t kv = {tl_s(k), {.type = OTLP_ANY_STRING}};
    kv.value.u.str = tl_s(v);
    return kv;
}

static inline otlp_kv_t tl_kv_int(const char *k, int64_t v)
{
    otlp_kv_t kv = {tl_s(k), {.type = OTLP_ANY_INT}};
    kv.value.u.i64 = v;
    return kv;
}

static inline otlp_kv_t tl_kv_dbl(const char *k, double v)
{
    otlp_kv_t kv = {tl_s(k), {.type = OTLP_ANY_DOUBLE}};
    kv.value.u.f64 = v;
    return kv;
}

static inline otlp_kv_t tl_kv_bool(const char *k, int v)
{
    otlp_kv_t kv = {tl_s(k), {.type = OTLP_ANY_BOOL}};
    kv.value.u.boolean = v;
    return kv;
}

static inline void tl_id(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(seed >> 56);
    }
}

/* A traces model with one resource (service `svc`), one scope and `n` spans starting at
 * t0 + i*step, allocated in arena a. Span i: name "op-<i%7>", 3 attributes, trace id
 * from seed+i. */
static inline otlp_traces_t tl_traces(arena_t *a, const char *svc, size_t n, uint64_t t0,
                                      uint64_t step, uint64_t seed)
{
    otlp_traces_t t;
    memset(&t, 0, sizeof(t));
    otlp_resource_spans_t *rs = arena_calloc(a, sizeof(*rs));
    otlp_scope_spans_t *ss = arena_calloc(a, sizeof(*ss));
    otlp_kv_t *rattr = arena_calloc(a, 2 * sizeof(*rattr));
    otlp_span_t *sp = arena_calloc(a, n * sizeof(*sp) + 1);
    assert_non_null(rs);
    assert_non_null(ss);
    assert_non_null(rattr);
    assert_non_null(sp);
    char *svcname = arena_strndup(a, svc, strlen(svc));
    rattr[0] = tl_kv_str("service.name", svcname);
    rattr[1] = tl_kv_str("host.name", "node-1");
    rs->resource.attrs = (otlp_attrs_t){rattr, 2};
    rs->scope_spans = ss;
    rs->n_scope_spans = 1;
    ss->scope.name = tl_s("test-scope");
    ss->scope.version = tl_s("1.0");
    ss->spans = sp;
    ss->n_spans = n;
    static const char *const names[] = {"op-0", "op-1", "op-2", "op-3", "op-4", "op-5", "op-6"};
    for (size_t i = 0; i < n; i++) {
        otlp_kv_t *at = arena_calloc(a, 3 * sizeof(*at));
        char *idx = arena_alloc(a, 24);
        assert_non_null(at);
        assert_non_null(idx);
        snprintf(idx, 24, "%zu", i);
        at[0] = tl_kv_str("i", idx);
        at[1] = tl_kv_int("http.status_code", 200 + (int64_t)(i % 3));
        at[2] = tl_kv_str("http.method", "GET");
        sp[i].trace_id.len = 16;
        tl_id(sp[i].trace_id.id, 16, seed + i);
        sp[i].span_id.len = 8;
        tl_id(sp[i].span_id.id, 8, ~(seed + i));
        sp[i].name = tl_s(names[i % 7]);
        sp[i].kind = OTLP_SPAN_KIND_SERVER;
        sp[i].start_time_unix_nano = t0 + i * step;
        sp[i].end_time_unix_nano = t0 + i * step + 1000 + i;
        sp[i].attrs = (otlp_attrs_t){at, 3};
    }
    t.resource_spans = rs;
    t.n_resource_spans = 1;
    t.n_items = n;
    return t;
}

#endif
