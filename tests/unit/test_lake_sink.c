/* test_lake_sink.c — the lake sink end to end through the real WAL: acknowledged
 * batches land in Parquet exactly once after a hard kill (a child process _exits without
 * any shutdown) and a restart that replays the WAL; JSON-style batches (no raw protobuf)
 * are re-encoded and replay the same; not ready while recovering; WAL cap -> ORASI_EFULL;
 * a batch offered with hold/release is acknowledged on its loop before it is appended,
 * a query started after the answer still sees its rows, and the sink reads nothing of it
 * after release. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "lake/catalog.h"
#include "lake/lake.h"
#include "net/loop.h"
#include "otlp/otlp_pb.h"
#include "pipeline/sink.h"

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include "test_lake_util.h"

#define SEC 1000000000ull
#define T0 1795313767000000000ull
#define SPANS 10

static _Atomic int acked, failed, last_err;

static void on_done(void *ud, int result, uint32_t retry_after)
{
    (void)ud;
    (void)retry_after;
    if (result == 0)
        atomic_fetch_add(&acked, 1);
    else {
        atomic_store(&last_err, result);
        atomic_fetch_add(&failed, 1);
    }
}

static void wait_count(_Atomic int *c, int want)
{
    uint64_t end = clock_mono_ns() + 30 * SEC;
    while (atomic_load(c) < want) {
        assert_true(clock_mono_ns() < end);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static sink_t *make_sink(const char *dir, uint64_t wal_max)
{
    struct lake_options o;
    lake_options_default(&o);
    o.data_dir = dir;
    o.flush_interval = 3600 * SEC;
    o.maintenance_interval = 3600 * SEC;
    if (wal_max)
        o.wal_max_bytes = wal_max;
    char err[256] = "";
    sink_t *s = sink_lake_create(&o, err, sizeof(err));
    if (!s)
        fprintf(stderr, "sink_lake_create: %s\n", err);
    assert_non_null(s);
    uint64_t end = clock_mono_ns() + 30 * SEC;
    while (!s->ready(s)) {
        assert_true(clock_mono_ns() < end);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return s;
}

/* Submit batch i (SPANS spans, ids derived from i); odd batches go without raw_pb like a
 * JSON request, so the sink re-encodes the model. */
static void submit_batch(sink_t *s, arena_t *a, int i)
{
    otlp_traces_t m = tl_traces(a, "svc", SPANS, T0 + (uint64_t)i * SEC, 1000, (uint64_t)i * 100);
    buf_t pb;
    buf_init(&pb, 1 << 20);
    assert_int_equal(otlp_pb_encode_traces(&m, &pb), 0);
    ingest_batch_t b = {.signal = OTLP_TRACES,
                        .protocol = (i & 1) ? PROTO_HTTP_JSON : PROTO_HTTP_PROTOBUF,
                        .tenant = tl_s("acme"),
                        .raw_pb = (i & 1) ? (slice_t){0} : buf_slice(&pb),
                        .model = &m,
                        .items = SPANS};
    int before = atomic_load(&acked);
    s->submit(s, &b, on_done, NULL);
    /* the model and raw bytes must stay valid until done: wait for it */
    wait_count(&acked, before + 1);
    buf_free(&pb);
}

static int64_t lake_rows(const char *dir, tl_duck_t *d, int64_t *distinct)
{
    char dbp[512], err[256];
    catalog_t *c;
    snprintf(dbp, sizeof(dbp), "%s/catalog.db", dir);
    char root[512];
    snprintf(root, sizeof(root), "%s/lake", dir);
    assert_int_equal(catalog_open(dbp, root, &c, err, sizeof(err)), 0);
    catalog_list_t l;
    assert_int_equal(catalog_list(c, "acme", LAKE_TRACES, INT64_MIN, INT64_MAX, &l), 0);
    int64_t rows = 0;
    *distinct = 0;
    if (l.n) {
        buf_t q;
        buf_init(&q, 1 << 20);
        assert_int_equal(buf_append_str(&q, "SELECT count(*), count(DISTINCT SpanId) FROM read_parquet(["), 0);
        for (size_t i = 0; i < l.n; i++)
            assert_int_equal(buf_printf(&q, "%s'%s'", i ? "," : "", l.v[i].path), 0);
        assert_int_equal(buf_append_str(&q, "])"), 0);
        assert_int_equal(buf_append_byte(&q, 0), 0);
        duckdb_result r;
        tl_query(d, (char *)q.data, &r);
        rows = duckdb_value_int64(&r, 0, 0);
        *distinct = duckdb_value_int64(&r, 1, 0);
        duckdb_destroy_result(&r);
        buf_free(&q);
    }
    catalog_list_free(&l);
    catalog_close(c);
    return rows;
}

/* Child: 40 batches acknowledged, a flush after the first 20, then a hard exit. */
static void child_run(const char *dir)
{
    sink_t *s = make_sink(dir, 0);
    arena_t *a = arena_create(1 << 16, 0);
    for (int i = 0; i < 20; i++)
        submit_batch(s, a, i);
    if (s->flush(s, clock_mono_ns() + 30 * SEC) != 0)
        _exit(3);
    for (int i = 20; i < 40; i++)
        submit_batch(s, a, i);
    _exit(atomic_load(&acked) == 40 ? 0 : 4); /* no destroy, no flush: like kill -9 */
}

static void test_hard_kill_replay_exactly_once(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_run(dir);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    tl_duck_t d;
    tl_duck_open(&d);
    int64_t distinct;
    /* only the first 20 batches were published before the "crash" */
    assert_int_equal(lake_rows(dir, &d, &distinct), 20 * SPANS);

    /* restart: the WAL replays batches 20..39 (and only those) */
    sink_t *s = make_sink(dir, 0);
    assert_int_equal(s->flush(s, clock_mono_ns() + 30 * SEC), 0);
    assert_int_equal(lake_rows(dir, &d, &distinct), 40 * SPANS);
    assert_int_equal(distinct, 40 * SPANS);
    /* more data after recovery, then a clean shutdown */
    arena_t *a = arena_create(1 << 16, 0);
    atomic_store(&acked, 0);
    for (int i = 40; i < 45; i++)
        submit_batch(s, a, i);
    s->destroy(s);
    /* and a second restart replays nothing */
    s = make_sink(dir, 0);
    assert_int_equal(s->flush(s, clock_mono_ns() + 30 * SEC), 0);
    s->destroy(s);
    assert_int_equal(lake_rows(dir, &d, &distinct), 45 * SPANS);
    assert_int_equal(distinct, 45 * SPANS);
    arena_destroy(a);
    tl_duck_close(&d);
    tl_rmrf(dir);
    free(dir);
}

static void test_wal_cap_is_backpressure(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    /* a WAL cap smaller than one segment's worth of batches: appends start failing */
    sink_t *s = make_sink(dir, 8192);
    arena_t *a = arena_create(1 << 16, 0);
    atomic_store(&acked, 0);
    atomic_store(&failed, 0);
    int i = 0;
    for (; i < 200 && atomic_load(&failed) == 0; i++) {
        otlp_traces_t m = tl_traces(a, "svc", SPANS, T0, 1000, (uint64_t)i);
        ingest_batch_t b = {.signal = OTLP_TRACES, .tenant = tl_s("acme"), .model = &m,
                            .items = SPANS};
        int before = atomic_load(&acked) + atomic_load(&failed);
        s->submit(s, &b, on_done, NULL);
        while (atomic_load(&acked) + atomic_load(&failed) == before) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(atomic_load(&failed) == 1);
    assert_int_equal(atomic_load(&last_err), ORASI_EFULL);
    /* publishing checkpoints the WAL, which makes room again */
    assert_int_equal(s->flush(s, clock_mono_ns() + 30 * SEC), 0);
    atomic_store(&failed, 0);
    otlp_traces_t m = tl_traces(a, "svc", SPANS, T0, 1000, 9999);
    ingest_batch_t b = {.signal = OTLP_TRACES, .tenant = tl_s("acme"), .model = &m, .items = SPANS};
    int before = atomic_load(&acked);
    s->submit(s, &b, on_done, NULL);
    wait_count(&acked, before + 1);
    assert_int_equal(atomic_load(&failed), 0);
    s->destroy(s);
    arena_destroy(a);
    tl_rmrf(dir);
    free(dir);
}

/* Early acknowledgement: the events of each batch on its loop, in order. */
#define EA_BATCHES 6
#define EA_SPANS 4000 /* big enough that appending takes a while after the answer */
struct ea_batch {
    int idx;
    char ev[4];           /* 'H' hold, 'D' done, 'R' release */
    int nev;
    uint64_t rows_at_done; /* rows the lake had appended when the answer ran */
    int rc_at_done;
    arena_t *a;            /* the model's memory, freed at release */
    buf_t pb;
};
static struct ea_batch ea[EA_BATCHES];
static lake_t *ea_lake;
static _Atomic int ea_released, ea_acked;

static void ea_hold(void *ud)
{
    struct ea_batch *b = ud;
    b->ev[b->nev++] = 'H';
}

static void ea_done(void *ud, int result, uint32_t retry_after)
{
    (void)retry_after;
    struct ea_batch *b = ud;
    b->ev[b->nev++] = 'D';
    /* what a query started now sees: lake_hot_begin waits for acknowledged rows (not for
     * the last batch, whose flush right after its answer is checked instead) */
    lake_hot_snap_t snap;
    b->rc_at_done = result                     ? result
                    : b->idx == EA_BATCHES - 1 ? 0
                                               : lake_hot_begin(ea_lake, clock_mono_ns() + 10 * SEC,
                                                                NULL, &snap);
    struct lake_stats st;
    lake_stats(ea_lake, &st);
    b->rows_at_done = st.rows_appended;
    atomic_fetch_add(&ea_acked, 1);
}

static void ea_release(void *ud)
{
    struct ea_batch *b = ud;
    b->ev[b->nev++] = 'R';
    /* the sink must not read the batch any more: poison and free it (ASan sees a read) */
    memset(b->pb.data, 0xEE, b->pb.len);
    buf_free(&b->pb);
    arena_destroy(b->a);
    b->a = NULL;
    atomic_fetch_add(&ea_released, 1);
}

static void *ea_loop_main(void *arg)
{
    loop_run(arg);
    return NULL;
}

static void test_early_ack(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    sink_t *s = make_sink(dir, 0);
    ea_lake = sink_lake_lake(s);
    loop_t *loop = loop_create();
    assert_non_null(loop);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, ea_loop_main, loop), 0);
    atomic_store(&ea_released, 0);
    atomic_store(&ea_acked, 0);
    for (int i = 0; i < EA_BATCHES; i++) {
        struct ea_batch *b = &ea[i];
        memset(b, 0, sizeof(*b));
        b->idx = i;
        b->a = arena_create(1 << 20, 0);
        otlp_traces_t *m = arena_alloc(b->a, sizeof(*m));
        *m = tl_traces(b->a, "svc", EA_SPANS, T0 + (uint64_t)i * SEC, 1000, (uint64_t)i * 100000);
        buf_init(&b->pb, 64 << 20);
        assert_int_equal(otlp_pb_encode_traces(m, &b->pb), 0);
        ingest_batch_t bt = {.signal = OTLP_TRACES,
                             .protocol = PROTO_HTTP_PROTOBUF,
                             .tenant = tl_s("acme"),
                             .raw_pb = buf_slice(&b->pb),
                             .model = m,
                             .items = EA_SPANS,
                             .loop = loop,
                             .hold = ea_hold,
                             .release = ea_release};
        s->submit(s, &bt, ea_done, b); /* from the test thread: the sink posts to loop */
    }
    uint64_t end = clock_mono_ns() + 30 * SEC;
    while (atomic_load(&ea_acked) < EA_BATCHES) {
        assert_true(clock_mono_ns() < end);
        sched_yield();
    }
    /* a flush right after the last answer publishes every acknowledged row (the sink's
     * flush waits for acknowledged appends; the lake's lock, which the append holds
     * while the answer travels, mostly orders the two already, so this rarely fails
     * without that wait) */
    assert_int_equal(s->flush(s, clock_mono_ns() + 30 * SEC), 0);
    struct lake_stats st;
    lake_stats(ea_lake, &st);
    assert_int_equal(st.rows_published, (uint64_t)EA_BATCHES * EA_SPANS);
    while (atomic_load(&ea_released) < EA_BATCHES) {
        assert_true(clock_mono_ns() < end);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    loop_stop(loop);
    pthread_join(th, NULL);
    for (int i = 0; i < EA_BATCHES; i++) {
        struct ea_batch *b = &ea[i];
        assert_int_equal(b->nev, 3);
        assert_memory_equal(b->ev, "HDR", 3);
        assert_int_equal(b->rc_at_done, 0);
        /* read-your-writes: this batch and every one before it were in the buffers */
        if (i < EA_BATCHES - 1)
            assert_true(b->rows_at_done >= (uint64_t)(i + 1) * EA_SPANS);
    }
    /* everything acknowledged is published, exactly once */
    s->destroy(s);
    loop_destroy(loop);
    tl_duck_t d;
    tl_duck_open(&d);
    int64_t distinct = 0;
    assert_int_equal(lake_rows(dir, &d, &distinct), (int64_t)EA_BATCHES * EA_SPANS);
    assert_int_equal(distinct, (int64_t)EA_BATCHES * EA_SPANS);
    tl_duck_close(&d);
    tl_rmrf(dir);
    free(dir);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hard_kill_replay_exactly_once),
        cmocka_unit_test(test_wal_cap_is_backpressure),
        cmocka_unit_test(test_early_ack),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_shutdown();
    return rc;
}
