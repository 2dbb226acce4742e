/* test_lake_compact.c — compaction merges a past hour's small files into one sorted file
 * while a reader (its own catalog handle and DuckDB, as the SQL engine has) reads the
 * partition in a loop: every read sees every row exactly once; the replaced files are
 * unlinked only after the grace period. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "lake/catalog.h"
#include "lake/lake.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "test_lake_util.h"

#define SEC 1000000000ull
#define HOUR (3600ull * SEC)
#define FILES 6
#define PER_FILE 500

struct reader {
    const char *dir;
    _Atomic int stop;
    int64_t expect;
    _Atomic long reads;
    long bad, files_seen_min, files_seen_max;
    char why[256];
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    char dbp[512], root[512], err[256];
    snprintf(dbp, sizeof(dbp), "%s/catalog.db", r->dir);
    snprintf(root, sizeof(root), "%s/lake", r->dir);
    catalog_t *c;
    if (catalog_open(dbp, root, &c, err, sizeof(err)) != 0) {
        snprintf(r->why, sizeof(r->why), "catalog_open: %.200s", err);
        r->bad++;
        return NULL;
    }
    tl_duck_t d;
    tl_duck_open(&d);
    r->files_seen_min = 1 << 30;
    while (!atomic_load(&r->stop)) {
        catalog_list_t l;
        if (catalog_list(c, "t", LAKE_TRACES, INT64_MIN, INT64_MAX, &l) != 0) {
            r->bad++;
            break;
        }
        buf_t q;
        buf_init(&q, 1 << 20);
        buf_append_str(&q, "SELECT count(*), count(DISTINCT SpanId) FROM read_parquet([");
        for (size_t i = 0; i < l.n; i++)
            buf_printf(&q, "%s'%s'", i ? "," : "", l.v[i].path);
        buf_append_str(&q, "], hive_partitioning=false)");
        buf_append_byte(&q, 0);
        duckdb_result res;
        if (duckdb_query(d.con, (char *)q.data, &res) != DuckDBSuccess) {
            snprintf(r->why, sizeof(r->why), "%s", duckdb_result_error(&res));
            r->bad++;
        } else {
            int64_t n = duckdb_value_int64(&res, 0, 0), nd = duckdb_value_int64(&res, 1, 0);
            if (n != r->expect || nd != r->expect) {
                snprintf(r->why, sizeof(r->why), "read %lld rows (%lld distinct), want %lld",
                         (long long)n, (long long)nd, (long long)r->expect);
                r->bad++;
            }
        }
        duckdb_destroy_result(&res);
        if ((long)l.n < r->files_seen_min)
            r->files_seen_min = (long)l.n;
        if ((long)l.n > r->files_seen_max)
            r->files_seen_max = (long)l.n;
        r->reads++;
        buf_free(&q);
        catalog_list_free(&l);
    }
    tl_duck_close(&d);
    catalog_close(c);
    return NULL;
}

static size_t files_on_disk(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "find '%s/lake' -name '*.parquet' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    assert_int_equal(fscanf(p, "%zu", &n), 1);
    pclose(p);
    return n;
}

static void test_compaction_with_reader(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    struct lake_options o;
    lake_options_default(&o);
    o.data_dir = dir;
    o.flush_interval = 3600 * SEC;
    o.maintenance_interval = 3600 * SEC;
    o.compaction_min_files = 3;
    o.delete_grace = 2 * SEC;
    lake_t *l;
    char err[256];
    assert_int_equal(lake_open(&o, &l, err, sizeof(err)), 0);
    arena_t *a = arena_create(1 << 16, 0);
    uint64_t now = clock_wall_ns();
    uint64_t past = now - 3 * HOUR - now % HOUR; /* start of an hour three hours ago */
    for (int f = 0; f < FILES; f++) {
        /* interleaved timestamps so the merge has to sort */
        otlp_traces_t m = tl_traces(a, f % 2 ? "svc-b" : "svc-a", PER_FILE, past + (uint64_t)f,
                                    FILES * 1000, (uint64_t)f * 100000);
        assert_int_equal(lake_append_traces(l, tl_s("t"), &m, 0), 0);
        assert_int_equal(lake_flush(l, 0), 0);
    }
    /* one file in the current hour: not compacted */
    otlp_traces_t cur = tl_traces(a, "svc-a", 10, now, 1000, 999999999);
    assert_int_equal(lake_append_traces(l, tl_s("t"), &cur, 0), 0);
    assert_int_equal(lake_flush(l, 0), 0);
    assert_int_equal(files_on_disk(dir), FILES + 1);

    struct reader r = {.dir = dir, .expect = FILES * PER_FILE + 10};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
    while (r.reads < 3) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(lake_maintain(l), 0);
    long reads_at_compaction = r.reads;
    while (r.reads < reads_at_compaction + 5) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    if (r.bad)
        fprintf(stderr, "reader: %s\n", r.why);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.files_seen_max, FILES + 1);
    assert_int_equal(r.files_seen_min, 2);

    struct lake_stats st;
    lake_stats(l, &st);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.files_compacted, FILES);
    /* old files still there during the grace period */
    assert_int_equal(files_on_disk(dir), FILES + 2);

    catalog_list_t lst;
    assert_int_equal(catalog_list(lake_catalog(l), "t", LAKE_TRACES, INT64_MIN,
                                  (int64_t)(past + HOUR - 1), &lst), 0);
    assert_int_equal(lst.n, 1);
    assert_int_equal(lst.v[0].rows, FILES * PER_FILE);
    /* merged file sorted by TraceId, Timestamp like a flushed one (the inputs' ids
     * interleave, so the merge had to sort), and its bloom knows ids */
    tl_duck_t d;
    tl_duck_open(&d);
    char q[2048];
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM (SELECT TraceId i, \"Timestamp\" t,"
             " lag(TraceId) OVER w pi, lag(\"Timestamp\") OVER w pt"
             " FROM (SELECT *, row_number() OVER () rn FROM read_parquet('%s')) WINDOW w AS"
             " (ORDER BY rn)) WHERE pi IS NOT NULL AND (pi, pt) > (i, t)",
             lst.v[0].path);
    assert_int_equal(tl_query_int(&d, q), 0);
    /* the order is by id: the first row holds the smallest */
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM (SELECT TraceId, row_number() OVER () rn FROM read_parquet('%s'))"
             " WHERE rn = 1 AND TraceId = (SELECT min(TraceId) FROM read_parquet('%s'))",
             lst.v[0].path, lst.v[0].path);
    assert_int_equal(tl_query_int(&d, q), 1);
    tl_duck_close(&d);
    uint8_t id[16];
    tl_id(id, 16, 3 * 100000 + 17); /* span 17 of file 3 */
    catalog_list_t hit;
    assert_int_equal(catalog_list_trace(lake_catalog(l), "t", id, INT64_MIN,
                                        (int64_t)(past + HOUR - 1), &hit), 0);
    assert_int_equal(hit.n, 1);
    assert_string_equal(hit.v[0].rel, lst.v[0].rel);
    catalog_list_free(&hit);
    catalog_list_free(&lst);

    /* after the grace period the replaced files are unlinked */
    struct timespec ts = {2, 200000000};
    nanosleep(&ts, NULL);
    assert_int_equal(lake_maintain(l), 0);
    assert_int_equal(files_on_disk(dir), 2);
    lake_stats(l, &st);
    assert_int_equal(st.files_unlinked, FILES);

    arena_destroy(a);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compaction_with_reader),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_shutdown();
    return rc;
}
