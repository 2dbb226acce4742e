/*
 * parquet.c — writing and merging lake Parquet files with DuckDB (see parquet.h).
 *
 * Why a table function and not an appender: the appender copies every value into a
 * DuckDB table first and then COPY reads it again; the table function hands DuckDB
 * vectors filled directly from our column arrays, one 2048-row chunk at a time, and the
 * sort + Parquet encoding (ZSTD) is DuckDB's own, parallel when threads > 1.
 */
#include "lake/parquet.h"

#include "core/alloc.h"
#include "core/err.h"
#include "lake/pqwrite.h"

#include <duckdb.h>
#include <stdio.h>
#include <string.h>

struct parquet_writer {
    duckdb_database db;
    duckdb_connection con;
    const colbuf_table_t *cur; /* table being scanned by orasi_buffer() */
    const uint32_t *perm;      /* its rows in sort order */
    int fill_err;
    parquet_options_t o;
    pqw_t *native; /* the native writer when o.native */
};

int parquet_sql_quote(buf_t *out, const char *s)
{
    int rc = buf_append_byte(out, '\'');
    for (; *s && !rc; s++)
        rc = *s == '\'' ? buf_append(out, "''", 2) : buf_append_byte(out, (uint8_t)*s);
    return rc ? rc : buf_append_byte(out, '\'');
}

/* "Col1", "Events.Name", ... in schema order. */
static int select_list(buf_t *b, const colbuf_schema_t *s)
{
    int rc = 0;
    for (size_t i = 0; i < s->ncols && !rc; i++)
        rc = buf_printf(b, "%s\"%s\"", i ? ", " : "", s->cols[i].name);
    return rc;
}

/* ---- the orasi_buffer() table function --------------------------------------------------- */

struct scan_state {
    size_t pos;
};

static void tf_bind(duckdb_bind_info info)
{
    struct parquet_writer *w = duckdb_bind_get_extra_info(info);
    if (!w->cur) {
        duckdb_bind_set_error(info, "orasi_buffer: no table to scan");
        return;
    }
    const colbuf_schema_t *s = w->cur->schema;
    for (size_t i = 0; i < s->ncols; i++) {
        duckdb_logical_type t = colbuf_duck_type(s, i);
        duckdb_bind_add_result_column(info, s->cols[i].name, t);
        duckdb_destroy_logical_type(&t);
    }
    duckdb_bind_set_cardinality(info, w->cur->rows, true);
}

static void tf_state_free(void *p)
{
    duckdb_free(p);
}

static void tf_init(duckdb_init_info info)
{
    struct scan_state *st = duckdb_malloc(sizeof(*st));
    if (!st) {
        duckdb_init_set_error(info, "orasi_buffer: out of memory");
        return;
    }
    st->pos = 0;
    duckdb_init_set_init_data(info, st, tf_state_free);
    duckdb_init_set_max_threads(info, 1);
}

static void tf_scan(duckdb_function_info info, duckdb_data_chunk out)
{
    struct parquet_writer *w = duckdb_function_get_extra_info(info);
    struct scan_state *st = duckdb_function_get_init_data(info);
    const colbuf_table_t *t = w->cur;
    size_t left = t->rows - st->pos;
    size_t n = left < duckdb_vector_size() ? left : duckdb_vector_size();
    for (size_t c = 0; c < t->schema->ncols && n; c++) {
        int rc = colbuf_fill_rows(t, c, duckdb_data_chunk_get_vector(out, c), w->perm + st->pos,
                                  n);
        if (rc) {
            w->fill_err = rc;
            duckdb_function_set_error(info, orasi_strerror(rc));
            return;
        }
    }
    st->pos += n;
    duckdb_data_chunk_set_size(out, n);
}

static int register_scan(struct parquet_writer *w)
{
    duckdb_table_function tf = duckdb_create_table_function();
    if (!tf)
        return ORASI_ENOMEM;
    duckdb_table_function_set_name(tf, "orasi_buffer");
    duckdb_table_function_set_extra_info(tf, w, NULL);
    duckdb_table_function_set_bind(tf, tf_bind);
    duckdb_table_function_set_init(tf, tf_init);
    duckdb_table_function_set_function(tf, tf_scan);
    duckdb_state s = duckdb_register_table_function(w->con, tf);
    duckdb_destroy_table_function(&tf);
    return s == DuckDBSuccess ? 0 : ORASI_EINTERNAL;
}

/* ---- writer ----------------------------------------------------------------------------- */

static int set_cfg(duckdb_config cfg, const char *k, const char *v, char *err, size_t errlen)
{
    if (duckdb_set_config(cfg, k, v) != DuckDBSuccess) {
        snprintf(err, errlen, "duckdb: cannot set %s=%s", k, v);
        return ORASI_ECONFIG;
    }
    return 0;
}

int parquet_writer_create(const parquet_options_t *opts, parquet_writer_t **out, char *err,
                          size_t errlen)
{
    duckdb_config cfg = NULL;
    char *oerr = NULL;
    char num[32];
    int rc = ORASI_ENOMEM;
    struct parquet_writer *w = orasi_calloc(1, sizeof(*w));
    if (!w)
        goto fail;
    if (opts)
        w->o = *opts;
    if (w->o.threads <= 0)
        w->o.threads = 1;
    if (!w->o.row_group_rows)
        w->o.row_group_rows = 122880;
    if (w->o.zstd_level <= 0 || w->o.zstd_level > 22)
        w->o.zstd_level = 3;
    if (duckdb_create_config(&cfg) != DuckDBSuccess)
        goto fail;
    snprintf(num, sizeof(num), "%d", w->o.threads);
    /* No extension may be fetched or loaded behind our back: parquet is built in. */
    if ((rc = set_cfg(cfg, "threads", num, err, errlen)) ||
        (rc = set_cfg(cfg, "autoinstall_known_extensions", "false", err, errlen)) ||
        (rc = set_cfg(cfg, "autoload_known_extensions", "false", err, errlen)))
        goto fail;
    if (w->o.memory_limit && (rc = set_cfg(cfg, "memory_limit", w->o.memory_limit, err, errlen)))
        goto fail;
    if (w->o.temp_dir && (rc = set_cfg(cfg, "temp_directory", w->o.temp_dir, err, errlen)))
        goto fail;
    if (duckdb_open_ext(NULL, &w->db, cfg, &oerr) != DuckDBSuccess) {
        snprintf(err, errlen, "duckdb: %s", oerr ? oerr : "cannot open");
        duckdb_free(oerr);
        rc = ORASI_EINTERNAL;
        goto fail;
    }
    if (duckdb_connect(w->db, &w->con) != DuckDBSuccess) {
        snprintf(err, errlen, "duckdb: cannot connect");
        rc = ORASI_EINTERNAL;
        goto fail;
    }
    rc = register_scan(w);
    if (rc) {
        snprintf(err, errlen, "duckdb: cannot register orasi_buffer()");
        goto fail;
    }
    if (w->o.native) {
        pqw_options_t po = {.row_group_rows = w->o.row_group_rows,
                            .zstd_level = w->o.zstd_level,
                            .keep_bytes = w->o.keep_bytes};
        if ((rc = pqw_create(&po, &w->native)))
            goto fail;
    }
    duckdb_destroy_config(&cfg);
    *out = w;
    return 0;
fail:
    if (cfg)
        duckdb_destroy_config(&cfg);
    if (rc == ORASI_ENOMEM)
        snprintf(err, errlen, "parquet writer: out of memory");
    parquet_writer_destroy(w);
    return rc;
}

void parquet_writer_destroy(parquet_writer_t *w)
{
    if (!w)
        return;
    if (w->con)
        duckdb_disconnect(&w->con);
    if (w->db)
        duckdb_close(&w->db);
    pqw_destroy(w->native);
    orasi_free(w);
}

/* Run a statement; on failure copy DuckDB's message into err. */
static int run(parquet_writer_t *w, const char *sql, duckdb_result *res, char *err, size_t errlen)
{
    duckdb_result local;
    duckdb_result *r = res ? res : &local;
    if (duckdb_query(w->con, sql, r) != DuckDBSuccess) {
        const char *m = duckdb_result_error(r);
        snprintf(err, errlen, "duckdb: %s", m ? m : "query failed");
        /* Out of disk space surfaces as an IO error message. */
        int rc = (m && strstr(m, "No space left")) ? ORASI_ENOSPC : ORASI_EIO;
        duckdb_destroy_result(r);
        return rc;
    }
    if (!res)
        duckdb_destroy_result(r);
    return 0;
}

/* The native writer: order our row numbers in row groups (colbuf_group), encode. */
static int write_native(parquet_writer_t *w, const colbuf_table_t *t, const char *path, char *err,
                        size_t errlen)
{
    size_t rg = (size_t)w->o.row_group_rows, ng = 0;
    uint32_t *perm = orasi_malloc((t->rows ? t->rows : 1) * sizeof(*perm));
    uint32_t *ends = orasi_malloc(((t->rows + rg - 1) / rg + 1) * sizeof(*ends));
    int rc = perm && ends ? colbuf_group(t, rg, perm, ends, &ng) : ORASI_ENOMEM;
    if (rc)
        snprintf(err, errlen, "parquet: cannot order the rows: %s", orasi_strerror(rc));
    else
        rc = pqw_write(w->native, t, perm, ends, ng, path, NULL, err, errlen);
    orasi_free(perm);
    orasi_free(ends);
    return rc;
}

int parquet_write(parquet_writer_t *w, const colbuf_table_t *t, const char *path, char *err,
                  size_t errlen)
{
    uint32_t *perm = NULL;
    buf_t q;
    if (w->native)
        return write_native(w, t, path, err, errlen);
    buf_init(&q, 1 << 20);
    int rc = buf_append_str(&q, "COPY (SELECT ");
    if (!rc)
        rc = select_list(&q, t->schema);
    if (!rc)
        rc = buf_append_str(&q, " FROM orasi_buffer()) TO ");
    if (!rc)
        rc = parquet_sql_quote(&q, path);
    if (!rc)
        rc = buf_printf(&q,
                        " (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL %d,"
                        " ROW_GROUP_SIZE %llu, PARQUET_VERSION v2)",
                        w->o.zstd_level, (unsigned long long)w->o.row_group_rows);
    if (!rc)
        rc = buf_append_byte(&q, 0);
    if (rc) {
        snprintf(err, errlen, "parquet: query too long");
        goto out;
    }
    /* Sorting our row numbers is much cheaper than letting DuckDB sort whole rows (maps
     * and lists included); the scan then emits rows in that order and the single-threaded
     * scan keeps it (insertion order is preserved by COPY). */
    perm = orasi_malloc((t->rows ? t->rows : 1) * sizeof(*perm));
    if (!perm) {
        rc = ORASI_ENOMEM;
        snprintf(err, errlen, "parquet: out of memory");
        goto out;
    }
    rc = colbuf_sort(t, perm);
    if (rc) {
        snprintf(err, errlen, "parquet: cannot sort: %s", orasi_strerror(rc));
        goto out;
    }
    w->cur = t;
    w->perm = perm;
    w->fill_err = 0;
    rc = run(w, (const char *)q.data, NULL, err, errlen);
    if (rc && w->fill_err)
        rc = w->fill_err;
    w->cur = NULL;
    w->perm = NULL;
out:
    orasi_free(perm);
    buf_free(&q);
    return rc;
}

/* ['a', 'b', ...] */
static int path_list(buf_t *q, const char *const *paths, size_t n)
{
    int rc = buf_append_byte(q, '[');
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = buf_append(q, ", ", 2);
        if (!rc)
            rc = parquet_sql_quote(q, paths[i]);
    }
    return rc ? rc : buf_append_byte(q, ']');
}

int parquet_merge(parquet_writer_t *w, int sig, const char *const *paths, size_t n,
                  const char *out_path, uint64_t *rows, char *err, size_t errlen)
{
    const colbuf_schema_t *s = colbuf_schema(sig);
    duckdb_result res;
    buf_t q;
    if (!s || !n)
        return ORASI_EINVAL;
    buf_init(&q, 64u << 20);
    int rc = buf_append_str(&q, "COPY (SELECT ");
    if (!rc)
        rc = select_list(&q, s);
    if (!rc)
        rc = buf_append_str(&q, " FROM read_parquet(");
    if (!rc)
        rc = path_list(&q, paths, n);
    if (!rc)
        rc = buf_printf(&q, ", hive_partitioning=false, union_by_name=true) ORDER BY %s) TO ",
                        s->order_by);
    if (!rc)
        rc = parquet_sql_quote(&q, out_path);
    if (!rc)
        rc = buf_printf(&q,
                        " (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL %d,"
                        " ROW_GROUP_SIZE %llu, PARQUET_VERSION v2)",
                        w->o.zstd_level, (unsigned long long)w->o.row_group_rows);
    if (!rc)
        rc = buf_append_byte(&q, 0);
    if (rc) {
        snprintf(err, errlen, "parquet: merge query too long");
        goto out;
    }
    rc = run(w, (const char *)q.data, &res, err, errlen);
    if (!rc) {
        /* COPY answers with the number of rows written */
        if (rows)
            *rows = (uint64_t)duckdb_value_int64(&res, 0, 0);
        duckdb_destroy_result(&res);
    }
out:
    buf_free(&q);
    return rc;
}

static int unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

int parquet_trace_bloom(parquet_writer_t *w, const char *path, uint64_t rows, bloom_t *out,
                        char *err, size_t errlen)
{
    duckdb_result res;
    buf_t q;
    buf_init(&q, 1 << 16);
    int rc = buf_append_str(&q, "SELECT DISTINCT TraceId FROM read_parquet(");
    if (!rc)
        rc = parquet_sql_quote(&q, path);
    if (!rc)
        rc = buf_append_str(&q, ", hive_partitioning=false)");
    if (!rc)
        rc = buf_append_byte(&q, 0);
    if (rc)
        goto out;
    rc = bloom_init(out, rows);
    if (rc)
        goto out;
    rc = run(w, (const char *)q.data, &res, err, errlen);
    if (rc) {
        bloom_free(out);
        goto out;
    }
    for (;;) {
        duckdb_data_chunk ch = duckdb_fetch_chunk(res);
        if (!ch)
            break;
        size_t n = duckdb_data_chunk_get_size(ch);
        duckdb_vector v = duckdb_data_chunk_get_vector(ch, 0);
        duckdb_string_t *d = duckdb_vector_get_data(v);
        uint64_t *valid = duckdb_vector_get_validity(v);
        for (size_t i = 0; i < n; i++) {
            if (valid && !duckdb_validity_row_is_valid(valid, i))
                continue;
            uint32_t len = duckdb_string_t_length(d[i]);
            const char *p = duckdb_string_t_data(&d[i]);
            uint8_t id[16];
            if (len == 32 && unhex(p, 16, id) == 0)
                bloom_add(out, id);
        }
        duckdb_destroy_data_chunk(&ch);
    }
    duckdb_destroy_result(&res);
out:
    buf_free(&q);
    return rc;
}

int parquet_query_int(parquet_writer_t *w, const char *sql, int64_t *out, char *err,
                      size_t errlen)
{
    duckdb_result res;
    int rc = run(w, sql, &res, err, errlen);
    if (rc)
        return rc;
    if (duckdb_row_count(&res) > 0)
        *out = duckdb_value_int64(&res, 0, 0);
    duckdb_destroy_result(&res);
    return 0;
}
