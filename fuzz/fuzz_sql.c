/* fuzz_sql.c — libFuzzer target for the SQL engine's gate and analysis: arbitrary bytes
 * as the query text of a tenant over a small lake (flushed and buffered spans of two
 * tenants). Properties: nothing crashes or leaks; an answer is valid JSON whose row count
 * is the one in its stats; an error leaves the output untouched; whatever the text,
 * nothing new appears in the data directory (no statement may write). (Tenant isolation
 * has no output oracle here — any value can be computed — and is tested in
 * test_sql.c.) The engine's timeout is short so hostile queries end. */
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "lake/lake.h"
#include "otlp/json.h"
#include "sql/sql.h"

#include <dirent.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static lake_t *fz_lake;
static sql_engine_t *fz_eng;
static char fz_dir[64];
static size_t fz_entries;

static void fz_spans(const char *tenant, const char *svc, size_t n, uint64_t seed)
{
    otlp_kv_t kv = {slice_cstr("service.name"), {.type = OTLP_ANY_STRING}};
    kv.value.u.str = slice_cstr(svc);
    otlp_span_t sp[16];
    memset(sp, 0, sizeof(sp));
    uint64_t t0 = clock_wall_ns() - 60ull * 1000000000ull;
    for (size_t i = 0; i < n && i < 16; i++) {
        sp[i].trace_id.len = 16;
        sp[i].trace_id.id[0] = (uint8_t)(seed + i);
        sp[i].span_id.len = 8;
        sp[i].span_id.id[0] = (uint8_t)(seed + i);
        sp[i].name = slice_cstr("op");
        sp[i].start_time_unix_nano = t0 + i;
        sp[i].end_time_unix_nano = t0 + i + 100;
    }
    otlp_scope_spans_t ss = {.spans = sp, .n_spans = n};
    otlp_resource_spans_t rs = {.resource = {.attrs = {&kv, 1}}, .scope_spans = &ss,
                                .n_scope_spans = 1};
    otlp_traces_t t = {.resource_spans = &rs, .n_resource_spans = 1, .n_items = n};
    lake_append_traces(fz_lake, slice_cstr(tenant), &t, 0);
}

/* Entries under the data directory (recursive). */
static size_t fz_count(const char *path, int depth)
{
    DIR *d = opendir(path);
    size_t n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        struct stat sb;
        if (depth < 8 && lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
            n += fz_count(sub, depth + 1);
    }
    closedir(d);
    return n;
}

static int fz_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* At exit: the engine and lake threads may still run; only the files go. */
static void fz_cleanup(void)
{
    if (fz_dir[0])
        nftw(fz_dir, fz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void fz_init(void)
{
    char err[512];
    log_set_level(LOG_ERROR);
    snprintf(fz_dir, sizeof(fz_dir), "/tmp/orasi-fuzz-sql-XXXXXX");
    if (!mkdtemp(fz_dir))
        abort();
    atexit(fz_cleanup);
    struct lake_options lo;
    lake_options_default(&lo);
    lo.data_dir = fz_dir;
    lo.flush_interval = 3600ull * 1000000000ull;
    lo.maintenance_interval = 3600ull * 1000000000ull;
    lo.compaction = 0;
    if (lake_open(&lo, &fz_lake, err, sizeof(err)) != 0)
        abort();
    fz_spans("a", "a-svc", 5, 1);
    fz_spans("b", "b-secret", 5, 100);
    lake_flush(fz_lake, 0);
    fz_spans("a", "a-svc", 3, 50);
    fz_spans("b", "b-secret", 3, 150);
    struct sql_options so;
    sql_options_default(&so);
    so.timeout = 2000ull * 1000000ull;
    so.max_rows = 100;
    so.max_concurrent = 1;
    so.threads = 1;
    so.memory_limit = 256ull << 20;
    so.slow_query_threshold = 0;
    if (sql_engine_create(&so, fz_lake, &fz_eng, err, sizeof(err)) != 0)
        abort();
    /* one query so the tenant database exists before counting */
    buf_t out;
    buf_init(&out, 1 << 20);
    sql_query(fz_eng, "a", "SELECT 1", 8, SQL_FORMAT_JSON, &out, NULL, err, sizeof(err));
    buf_free(&out);
    fz_entries = fz_count(fz_dir, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        fz_init();
        inited = 1;
    }
    if (size > 4096)
        return 0;
    buf_t out;
    char err[4096];
    struct sql_stats st;
    buf_init(&out, (1u << 20) + (64u << 10));
    int rc = sql_query(fz_eng, "a", (const char *)data, size, size & 1 ? SQL_FORMAT_CSV : SQL_FORMAT_JSON,
                       &out, &st, err, sizeof(err));
    if (rc == 0) {
        if (!(size & 1)) {
            arena_t *a = arena_create(1 << 16, 0);
            json_doc_t d;
            if (!a || json_parse(buf_slice(&out), NULL, a, &d, NULL) != 0)
                abort();
            uint32_t rows = json_obj_get(&d, 0, "rows");
            if (rows == JSON_NONE || json_at(&d, rows)->n != st.rows)
                abort();
            arena_destroy(a);
        }
    } else if (out.len != 0) {
        abort(); /* an error leaves the output untouched */
    }
    buf_free(&out);
    if (fz_count(fz_dir, 0) != fz_entries)
        abort(); /* something was written */
    return 0;
}
