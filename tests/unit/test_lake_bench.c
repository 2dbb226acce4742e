/* test_lake_bench.c — size and speed of the lake on realistic spans: bytes per span in
 * Parquet vs. the OTLP protobuf requests they came from (printed; the ratio must beat a
 * floor), and spans per second of CPU through append + sort + ZSTD Parquet (printed).
 *
 * The spans look like an instrumented HTTP service: 8 resource attributes, 20 operation
 * names, ~6 attributes per span, 10 spans per trace with random 16-byte trace ids and
 * random span ids, an exception event on 5 % of spans. Random ids are incompressible, so
 * they put a floor under any encoding: 16 + 8 + 8 raw bytes per span. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "lake/catalog.h"
#include "lake/lake.h"
#include "otlp/otlp_pb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "test_lake_util.h"

#define SEC 1000000000ull
#define REQS 1000
#define PER_REQ 100

static uint64_t rng = 0x1234567;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static const char *const ops[20] = {
    "GET /api/cart",     "POST /api/cart",   "GET /api/product", "GET /api/user",
    "POST /api/checkout", "SELECT products", "SELECT users",     "INSERT orders",
    "redis GET",         "redis SET",        "grpc Payment/Charge", "grpc Ship/Quote",
    "GET /healthz",      "kafka publish",    "kafka consume",    "render template",
    "GET /static",       "auth verify",      "GET /api/search",  "POST /api/login"};
static const char *const routes[5] = {"/api/cart", "/api/product/:id", "/api/user/:id",
                                      "/api/checkout", "/api/search"};

/* One request of PER_REQ spans in arena a. */
static otlp_traces_t make_request(arena_t *a, uint64_t t0)
{
    otlp_traces_t t;
    memset(&t, 0, sizeof(t));
    otlp_resource_spans_t *rs = arena_calloc(a, sizeof(*rs));
    otlp_scope_spans_t *ss = arena_calloc(a, sizeof(*ss));
    otlp_kv_t *ra = arena_calloc(a, 8 * sizeof(*ra));
    otlp_span_t *sp = arena_calloc(a, PER_REQ * sizeof(*sp));
    ra[0] = tl_kv_str("service.name", "frontend");
    ra[1] = tl_kv_str("service.version", "2.14.3");
    ra[2] = tl_kv_str("host.name", "ip-10-0-12-34.eu-west-1.compute.internal");
    ra[3] = tl_kv_str("k8s.pod.name", "frontend-7d9f8b6c5-x2k4q");
    ra[4] = tl_kv_str("k8s.namespace.name", "shop");
    ra[5] = tl_kv_str("telemetry.sdk.name", "opentelemetry");
    ra[6] = tl_kv_str("telemetry.sdk.language", "nodejs");
    ra[7] = tl_kv_str("telemetry.sdk.version", "2.12.0");
    rs->resource.attrs = (otlp_attrs_t){ra, 8};
    rs->scope_spans = ss;
    rs->n_scope_spans = 1;
    ss->scope.name = tl_s("@opentelemetry/instrumentation-http");
    ss->scope.version = tl_s("0.223.0");
    ss->spans = sp;
    ss->n_spans = PER_REQ;
    otlp_trace_id_t tid = {.len = 16};
    otlp_span_id_t root = {.len = 8};
    for (size_t i = 0; i < PER_REQ; i++) {
        if (i % 10 == 0) {
            uint64_t x = rnd(), y = rnd();
            memcpy(tid.id, &x, 8);
            memcpy(tid.id + 8, &y, 8);
        }
        otlp_span_t *s = &sp[i];
        s->trace_id = tid;
        s->span_id.len = 8;
        uint64_t sid = rnd();
        memcpy(s->span_id.id, &sid, 8);
        if (i % 10 == 0)
            root = s->span_id;
        else
            s->parent_span_id = root;
        int op = (int)(rnd() % 20);
        s->name = tl_s(ops[op]);
        s->kind = i % 10 == 0 ? OTLP_SPAN_KIND_SERVER : (int32_t)(1 + rnd() % 3);
        s->start_time_unix_nano = t0 + i * 37000 + rnd() % 1000;
        s->end_time_unix_nano = s->start_time_unix_nano + 20000 + rnd() % 5000000;
        otlp_kv_t *at = arena_calloc(a, 6 * sizeof(*at));
        at[0] = tl_kv_str("http.method", op % 3 ? "GET" : "POST");
        at[1] = tl_kv_str("http.route", routes[op % 5]);
        at[2] = tl_kv_int("http.status_code", rnd() % 50 ? 200 : 500);
        at[3] = tl_kv_str("net.peer.name", "cart.shop.svc.cluster.local");
        at[4] = tl_kv_int("net.peer.port", 8080);
        char *ua = arena_alloc(a, 48);
        snprintf(ua, 48, "req-%016llx", (unsigned long long)rnd());
        at[5] = tl_kv_str("request.id", ua);
        s->attrs = (otlp_attrs_t){at, 6};
        if (rnd() % 20 == 0) {
            otlp_event_t *ev = arena_calloc(a, sizeof(*ev));
            otlp_kv_t *ea = arena_calloc(a, 2 * sizeof(*ea));
            ea[0] = tl_kv_str("exception.type", "TimeoutError");
            ea[1] = tl_kv_str("exception.message", "upstream timed out after 5000 ms");
            ev->time_unix_nano = s->end_time_unix_nano;
            ev->name = tl_s("exception");
            ev->attrs = (otlp_attrs_t){ea, 2};
            s->events = ev;
            s->n_events = 1;
            s->status.code = OTLP_STATUS_ERROR;
            s->status.message = tl_s("timeout");
        }
    }
    t.resource_spans = rs;
    t.n_resource_spans = 1;
    t.n_items = PER_REQ;
    return t;
}

static void test_size_and_speed(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    struct lake_options o;
    lake_options_default(&o);
    o.data_dir = dir;
    o.flush_interval = 3600 * SEC;
    o.maintenance_interval = 3600 * SEC;
    if (getenv("LAKE_BENCH_THREADS"))
        o.duckdb_threads = atoi(getenv("LAKE_BENCH_THREADS"));
    if (getenv("LAKE_BENCH_ZSTD"))
        o.zstd_level = atoi(getenv("LAKE_BENCH_ZSTD"));
    lake_t *l;
    char err[256];
    assert_int_equal(lake_open(&o, &l, err, sizeof(err)), 0);
    arena_t *a = arena_create(1 << 20, 0);
    uint64_t pb_bytes = 0, append_ns = 0;
    uint64_t t0 = (clock_wall_ns() / (3600 * SEC)) * 3600 * SEC; /* all in one hour */
    buf_t pb;
    buf_init(&pb, 64u << 20);
    for (int r = 0; r < REQS; r++) {
        arena_reset(a);
        otlp_traces_t m = make_request(a, t0 + (uint64_t)r * PER_REQ * 37000);
        buf_clear(&pb);
        assert_int_equal(otlp_pb_encode_traces(&m, &pb), 0);
        pb_bytes += pb.len;
        uint64_t c0 = cpu_ns();
        assert_int_equal(lake_append_traces(l, tl_s("bench"), &m, 0), 0);
        append_ns += cpu_ns() - c0;
    }
    uint64_t c0 = cpu_ns(), w0 = clock_mono_ns();
    assert_int_equal(lake_flush(l, 0), 0);
    uint64_t flush_cpu = cpu_ns() - c0, flush_wall = clock_mono_ns() - w0;
    struct lake_stats st;
    lake_stats(l, &st);
    uint64_t spans = (uint64_t)REQS * PER_REQ;
    assert_int_equal(st.rows_published, spans);
    double pq = (double)st.bytes_written / (double)spans, pbs = (double)pb_bytes / (double)spans;
    double total_s = (double)(append_ns + flush_cpu) / 1e9;
    printf("lake bench: %llu spans, protobuf %.1f B/span, parquet %.1f B/span, ratio %.1fx\n",
           (unsigned long long)spans, pbs, pq, pbs / pq);
    printf("lake bench: append %.0f spans/s, flush %.0f spans/s (cpu) %.0f spans/s (wall),"
           " end to end %.0f spans/s of CPU\n",
           (double)spans / ((double)append_ns / 1e9), (double)spans / ((double)flush_cpu / 1e9),
           (double)spans / ((double)flush_wall / 1e9), (double)spans / total_s);
    if (getenv("LAKE_BENCH_COLUMNS")) {
        /* where the bytes go, per column */
        catalog_list_t lst;
        assert_int_equal(catalog_list(lake_catalog(l), "bench", LAKE_TRACES, INT64_MIN, INT64_MAX,
                                      &lst), 0);
        tl_duck_t d;
        tl_duck_open(&d);
        char q[1024];
        snprintf(q, sizeof(q),
                 "SELECT path_in_schema, sum(total_compressed_size) / %llu AS b FROM"
                 " parquet_metadata('%s') GROUP BY 1 ORDER BY 2 DESC",
                 (unsigned long long)spans, lst.v[0].path);
        duckdb_result r;
        tl_query(&d, q, &r);
        for (idx_t i = 0; i < duckdb_row_count(&r); i++) {
            char a1[256], a2[64];
            tl_cell(&r, 0, i, a1, sizeof(a1));
            tl_cell(&r, 1, i, a2, sizeof(a2));
            printf("  %-50s %s B/span\n", a1, a2);
        }
        duckdb_destroy_result(&r);
        tl_duck_close(&d);
        catalog_list_free(&lst);
    }
    /* Floor, not goal: random ids alone are 32 B/span raw. */
    assert_true(pbs / pq > 4.0);
    buf_free(&pb);
    arena_destroy(a);
    lake_close(l);
    tl_rmrf(dir);
    free(dir);
}

int main(void)
{
    log_set_level(getenv("LAKE_BENCH_DEBUG") ? LOG_DEBUG : LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_and_speed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_shutdown();
    return rc;
}
