/* test_fwd_forward.c — the forwarder (forward/fwd.h) end to end in one process: requests
 * submitted to its sink are queued on disk, batched and delivered to an upstream HTTP
 * server on a loopback port that can answer 200, 503, 400 or 409. Checks: every item is
 * delivered exactly once, with distinct X-Orasi-Batch ids; retryable failures are retried
 * until the upstream recovers; permanent rejections go to the dead-letter directory with
 * their reason and are counted; a 409 makes the forwarder resend part by part; data
 * queued when the forwarder stops is delivered after a restart, under the same ids; a full
 * queue refuses with ORASI_EFULL (backpressure). */
#include "core/alloc.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/metrics.h"
#include "forward/dedupe.h"
#include "forward/enrich.h"
#include "forward/fwd.h"
#include "http/http.h"
#include "loadgen/lggen.h"
#include "otlp/otlp_pb.h"

#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <netdb.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- the upstream ---------------------------------------------------------------------- */

/* 0 ok, 1 503, 2 400, 3 409 once then ok, 4 429 + Retry-After: 1 once then ok,
 * 5 the first request is logged but answered only after 700 ms (the forwarder has timed out:
 * in doubt), and replays of logged ids are answered 200 without counting them again */
static _Atomic int mode;
static _Atomic uint64_t req_at[8];
static _Atomic long items_ok, requests;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static buf_t ids_seen; /* every id of accepted batches, one per line */

static _Atomic long replays;

struct delayed {
    loop_timer_t t;
    http_req_t *req;
};

static void delayed_fire(loop_t *loop, loop_timer_t *t)
{
    struct delayed *d = t->data;
    http_respond(d->req, 200, "application/x-protobuf", NULL, 0);
    orasi_free(d);
}

static void on_traces(http_req_t *req, void *ud)
{
    long nreq = atomic_fetch_add(&requests, 1);
    if (nreq < 8)
        atomic_store(&req_at[nreq], clock_mono_ns());
    int m = atomic_load(&mode);
    if (getenv("FWD_TEST_DEBUG"))
        fprintf(stderr, "upstream: mode %d batch %.*s len %zu\n", m,
                (int)http_req_header(req, "x-orasi-batch").len,
                (const char *)http_req_header(req, "x-orasi-batch").p, http_req_body(req).len);
    if (m == 1) {
        http_respond(req, 503, NULL, NULL, 0);
        return;
    }
    if (m == 4) {
        atomic_store(&mode, 0);
        http_resp_header(req, "Retry-After", "1");
        http_respond(req, 429, NULL, NULL, 0);
        return;
    }
    if (m == 2) {
        buf_t b;
        buf_init(&b, 4096);
        otlp_pb_encode_grpc_status_details(3, "bad data for the test", 0, &b);
        http_respond(req, 400, "application/x-protobuf", b.data, b.len);
        buf_free(&b);
        return;
    }
    slice_t id = http_req_header(req, "x-orasi-batch");
    dedupe_batch_t *db = orasi_malloc(sizeof(*db));
    int multi = db && dedupe_parse(id, db) == 0 && db->n > 1;
    if (m == 3 && multi) {
        atomic_store(&mode, 0);
        orasi_free(db);
        http_respond(req, 409, NULL, NULL, 0);
        return;
    }
    if (m == 5 && db) {
        /* a replay of ids already logged: acknowledge without counting */
        int seen = 0;
        char line[128];
        pthread_mutex_lock(&mu);
        for (size_t i = 0; i < db->n; i++) {
            int n = snprintf(line, sizeof(line), "%s %llu\n", db->origin,
                             (unsigned long long)db->ids[i]);
            seen += ids_seen.len && memmem(ids_seen.data, ids_seen.len, line, (size_t)n) != NULL;
        }
        pthread_mutex_unlock(&mu);
        if (seen == (int)db->n && seen) {
            orasi_free(db);
            atomic_fetch_add(&replays, 1);
            http_respond(req, 200, "application/x-protobuf", NULL, 0);
            return;
        }
    }
    otlp_scan_t sc;
    if (otlp_pb_scan(OTLP_TRACES, http_req_body(req), &sc) != 0) {
        fprintf(stderr, "upstream: cannot scan %zu bytes (batch %.*s, encoding %.*s)\n",
                http_req_body(req).len, (int)id.len, (const char *)id.p,
                (int)http_req_header(req, "content-encoding").len,
                (const char *)http_req_header(req, "content-encoding").p);
        orasi_free(db);
        http_respond(req, 400, NULL, NULL, 0);
        return;
    }
    atomic_fetch_add(&items_ok, (long)sc.n_items);
    pthread_mutex_lock(&mu);
    for (size_t i = 0; db && i < db->n; i++)
        buf_printf(&ids_seen, "%s %llu\n", db->origin, (unsigned long long)db->ids[i]);
    pthread_mutex_unlock(&mu);
    orasi_free(db);
    if (m == 5 && nreq == 0) {
        struct delayed *d = orasi_calloc(1, sizeof(*d));
        d->req = req;
        loop_timer_init(&d->t, delayed_fire, d);
        loop_timer_start(http_req_loop(req), &d->t, 700000000ull, 0);
        return;
    }
    http_respond(req, 200, "application/x-protobuf", NULL, 0);
}

static http_server_t *srv;
static http_router_t *router;
static int port;
static char dir[128];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/orasi-test-fwd-XXXXXX");
    assert_non_null(mkdtemp(dir));
    buf_init(&ids_seen, 64u << 20);
    srv = http_server_create(NULL);
    router = http_router_create();
    assert_int_equal(http_route(router, "POST", "/v1/traces", on_traces, NULL), 0);
    port = http_server_listen(srv, "127.0.0.1", 0, router);
    assert_true(port > 0);
    assert_int_equal(http_server_start(srv), 0);
    return 0;
}

static int teardown(void **state)
{
    http_server_stop_accepting(srv);
    http_server_drain(srv, clock_mono_ns() + 2000000000ull);
    http_server_destroy(srv);
    http_router_destroy(router);
    buf_free(&ids_seen);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    metrics_shutdown();
    return 0;
}

static void reset_upstream(int m)
{
    atomic_store(&mode, m);
    atomic_store(&items_ok, 0);
    atomic_store(&requests, 0);
    atomic_store(&replays, 0);
    pthread_mutex_lock(&mu);
    buf_clear(&ids_seen);
    pthread_mutex_unlock(&mu);
}

/* ---- the forwarder ----------------------------------------------------------------------- */

static int dead_port;

static sink_t *make_fwd(fwd_config_t *cfg, const char *sub, const char *extra)
{
    char yaml[4096], err[512], qd[256], ups[1024];
    snprintf(qd, sizeof(qd), "%s/%s", dir, sub);
    if (strstr(extra, "PIN"))
        snprintf(ups, sizeof(ups),
                 "  regions:\n"
                 "    - {name: eu, priority: 0, upstreams: ['http://127.0.0.1:%d']}\n"
                 "    - {name: us, priority: 1, upstreams: ['http://127.0.0.1:%d']}\n"
                 "  residency:\n"
                 "    - {tenant: eu-only, region: eu}\n"
                 "    - {attribute: cloud.region, value: eu-west-1, region: eu}\n",
                 dead_port, port);
    else if (strstr(extra, "DNS"))
        snprintf(ups, sizeof(ups),
                 "  regions: [{name: d, dns: {name: localhost, port: %d, refresh: 200ms}}]\n",
                 port);
    else
        snprintf(ups, sizeof(ups), "  upstreams: [{endpoint: 'http://127.0.0.1:%d', name: up}]\n",
                 port);
    snprintf(yaml, sizeof(yaml),
             "forward:\n"
             "  origin: test-agent\n"
             "  queue: {dir: %s/queue, max_size: %s, window: %s}\n"
             "  exporter: {protocol: http, compression: zstd, timeout: %s, connections: 2}\n"
             "  batch: {max_items: 500, max_size: 1MiB, max_age: 20ms}\n"
             "  retry: {initial: 10ms, max: 100ms}\n"
             "  breaker: {failures: 1000, open_for: 100ms}\n"
             "  dead_letter_dir: %s/dlq\n"
             "%s",
             qd, strstr(extra, "SMALL") ? "1MiB" : "64MiB", strstr(extra, "WIN") ? "1MiB" : "8MiB",
             strstr(extra, "FAST") ? "300ms" : "2s", qd, ups);
    config_doc_t *doc = config_load_string("t.yaml", yaml, strlen(yaml), err, sizeof(err));
    assert_non_null(doc);
    assert_int_equal(
        fwd_config_load(doc, config_get(config_root(doc), "forward"), dir, cfg, err, sizeof(err)),
        0);
    config_doc_free(doc);
    sink_t *s = fwd_create(cfg, "agent", err, sizeof(err));
    if (!s)
        fprintf(stderr, "fwd_create: %s\n", err);
    assert_non_null(s);
    return s;
}

static _Atomic int done_ok, done_err, done_full;

static void on_done(void *ud, int result, uint32_t retry_after)
{
    if (result == 0)
        atomic_fetch_add(&done_ok, 1);
    else if (result == ORASI_EFULL)
        atomic_fetch_add(&done_full, 1);
    else
        atomic_fetch_add(&done_err, 1);
}

/* Submit n requests of `per` spans; returns the spans submitted. */
static long submit(sink_t *s, int n, int per, uint64_t seed)
{
    lggen_t *g = lggen_create(seed, 0, LGGEN_PROTOBUF);
    long total = 0;
    for (int i = 0; i < n; i++) {
        buf_t body;
        buf_init(&body, 16u << 20);
        assert_int_equal(lggen_next(g, OTLP_TRACES, (size_t)per, clock_wall_ns(), &body, NULL),
                         per);
        ingest_batch_t b = {.signal = OTLP_TRACES,
                            .protocol = PROTO_HTTP_PROTOBUF,
                            .tenant = SLICE_LIT("default"),
                            .raw_pb = buf_slice(&body),
                            .items = (uint64_t)per};
        int before = atomic_load(&done_ok) + atomic_load(&done_err) + atomic_load(&done_full);
        s->submit(s, &b, on_done, NULL);
        /* the body must stay valid until done(): wait for it */
        for (int k = 0; k < 5000; k++) {
            if (atomic_load(&done_ok) + atomic_load(&done_err) + atomic_load(&done_full) > before)
                break;
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        buf_free(&body);
        total += per;
    }
    lggen_destroy(g);
    return total;
}

static int wait_for(long want, int seconds)
{
    for (int i = 0; i < seconds * 100; i++) {
        if (atomic_load(&items_ok) >= want)
            return 1;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int wait_done(sink_t *s, int seconds)
{
    for (int i = 0; i < seconds * 100; i++) {
        struct fwd_stats st;
        fwd_stats(fwd_of(s), &st);
        if (st.records_done >= st.records_queued && st.queue_bytes == 0 && st.inflight == 0)
            return 1;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* No id accepted twice. */
static void assert_ids_unique(void)
{
    pthread_mutex_lock(&mu);
    size_t n = 0;
    char **lines = orasi_calloc(ids_seen.len / 4 + 1, sizeof(char *));
    char *p = (char *)ids_seen.data;
    for (size_t off = 0; off < ids_seen.len;) {
        char *nl = memchr(p + off, '\n', ids_seen.len - off);
        *nl = '\0';
        lines[n++] = p + off;
        off = (size_t)(nl - p) + 1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(lines[i], lines[j]);
    for (size_t i = 0; i < n; i++)
        lines[i][strlen(lines[i])] = '\n';
    orasi_free(lines);
    pthread_mutex_unlock(&mu);
}

static void test_deliver_once(void **state)
{
    fwd_config_t cfg;
    reset_upstream(0);
    sink_t *s = make_fwd(&cfg, "a", "");
    long sent = submit(s, 30, 40, 1);
    assert_int_equal(atomic_load(&done_ok), 30);
    assert_true(wait_for(sent, 10));
    assert_true(wait_done(s, 10));
    assert_int_equal(atomic_load(&items_ok), sent);
    assert_ids_unique();
    struct fwd_stats st;
    fwd_stats(fwd_of(s), &st);
    assert_int_equal(st.items_sent, sent);
    assert_int_equal(st.records_done, 30);
    /* batching: fewer requests than submissions */
    assert_true(atomic_load(&requests) < 30);
    assert_string_equal(fwd_origin(fwd_of(s)), "test-agent");
    s->destroy(s);
    fwd_config_free(&cfg);
}

static void test_retry_until_up(void **state)
{
    fwd_config_t cfg;
    reset_upstream(1);
    atomic_store(&done_ok, 0);
    sink_t *s = make_fwd(&cfg, "b", "");
    long sent = submit(s, 10, 30, 2);
    assert_int_equal(atomic_load(&done_ok), 10); /* acknowledged: it is on disk */
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL);
    assert_true(atomic_load(&requests) > 2); /* retried */
    assert_int_equal(atomic_load(&items_ok), 0);
    struct fwd_stats st;
    fwd_stats(fwd_of(s), &st);
    assert_true(st.queue_bytes > 0);
    assert_true(st.batches_retried > 0);
    atomic_store(&mode, 0);
    assert_true(wait_for(sent, 10));
    assert_true(wait_done(s, 10));
    assert_int_equal(atomic_load(&items_ok), sent);
    assert_ids_unique();
    s->destroy(s);
    fwd_config_free(&cfg);
}

static int count_files(const char *d, const char *suffix)
{
    DIR *dp = opendir(d);
    int n = 0;
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        n += l > sl && strcmp(e->d_name + l - sl, suffix) == 0;
    }
    if (dp)
        closedir(dp);
    return n;
}

static void test_dead_letter(void **state)
{
    fwd_config_t cfg;
    reset_upstream(2);
    sink_t *s = make_fwd(&cfg, "c", "");
    long sent = submit(s, 5, 20, 3);
    assert_true(wait_done(s, 10));
    struct fwd_stats st;
    fwd_stats(fwd_of(s), &st);
    assert_int_equal(st.items_dead, sent);
    assert_int_equal(st.items_sent, 0);
    char d[300];
    snprintf(d, sizeof(d), "%s/c/dlq", dir);
    int pb = count_files(d, ".pb"), reason = count_files(d, ".reason");
    assert_true(pb >= 1);
    assert_int_equal(pb, (int)st.batches_dead);
    assert_int_equal(reason, pb);
    /* the reason names the upstream's message; the bodies hold every span */
    DIR *dp = opendir(d);
    struct dirent *e;
    size_t spans = 0;
    while ((e = readdir(dp))) {
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        FILE *f = fopen(p, "rb");
        if (!f)
            continue;
        static char data[1 << 22];
        size_t n = fread(data, 1, sizeof(data), f);
        fclose(f);
        if (strstr(e->d_name, ".reason")) {
            data[n] = '\0';
            assert_non_null(strstr(data, "bad data for the test"));
            assert_non_null(strstr(data, "http_status: 400"));
        } else if (strstr(e->d_name, ".pb")) {
            otlp_scan_t sc;
            assert_int_equal(otlp_pb_scan(OTLP_TRACES, slice_make(data, n), &sc), 0);
            spans += sc.n_items;
        }
    }
    closedir(dp);
    assert_int_equal(spans, (size_t)sent);
    s->destroy(s);
    fwd_config_free(&cfg);
}

static void test_conflict_split(void **state)
{
    fwd_config_t cfg;
    reset_upstream(3);
    sink_t *s = make_fwd(&cfg, "d", "");
    long sent = submit(s, 8, 10, 4);
    int ok = wait_for(sent, 10);
    if (!ok) {
        struct fwd_stats x;
        fwd_stats(fwd_of(s), &x);
        fprintf(stderr,
                "items %ld/%ld requests %ld split %llu retried %llu inflight %zu done %llu/%llu\n",
                atomic_load(&items_ok), sent, atomic_load(&requests),
                (unsigned long long)x.batches_split, (unsigned long long)x.batches_retried,
                x.inflight, (unsigned long long)x.records_done,
                (unsigned long long)x.records_queued);
    }
    assert_true(ok);
    assert_true(wait_done(s, 10));
    struct fwd_stats st;
    fwd_stats(fwd_of(s), &st);
    assert_true(st.batches_split >= 1);
    assert_int_equal(atomic_load(&items_ok), sent);
    assert_ids_unique();
    s->destroy(s);
    fwd_config_free(&cfg);
}

static void test_restart_keeps_queue(void **state)
{
    fwd_config_t cfg;
    reset_upstream(1);
    sink_t *s = make_fwd(&cfg, "e", "");
    long sent = submit(s, 6, 25, 5);
    s->destroy(s); /* upstream never answered: everything is still queued */
    fwd_config_free(&cfg);
    assert_int_equal(atomic_load(&items_ok), 0);
    atomic_store(&mode, 0);
    s = make_fwd(&cfg, "e", "");
    assert_true(wait_for(sent, 10));
    assert_true(wait_done(s, 10));
    assert_int_equal(atomic_load(&items_ok), sent);
    assert_ids_unique();
    s->destroy(s);
    fwd_config_free(&cfg);
}

/* 429 with Retry-After: 1 — the next attempt waits at least that long. */
static void test_retry_after(void **state)
{
    fwd_config_t cfg;
    reset_upstream(4);
    sink_t *s = make_fwd(&cfg, "h", "");
    long sent = submit(s, 1, 10, 8);
    assert_true(wait_for(sent, 10));
    assert_true(atomic_load(&requests) >= 2);
    uint64_t gap = atomic_load(&req_at[1]) - atomic_load(&req_at[0]);
    assert_true(gap >= 900000000ull); /* retry.max is 100 ms: only Retry-After explains this */
    s->destroy(s);
    fwd_config_free(&cfg);
}

/* The upstream logs a batch but answers too late: the forwarder times out (in doubt) and
 * resends the same ids to the same upstream, whose dedupe acknowledges the replay. */
static void test_in_doubt(void **state)
{
    fwd_config_t cfg;
    reset_upstream(5);
    sink_t *s = make_fwd(&cfg, "i", "FAST");
    long sent = submit(s, 1, 10, 9);
    assert_true(wait_for(sent, 10));
    assert_true(wait_done(s, 10));
    assert_int_equal(atomic_load(&items_ok), sent); /* counted once */
    assert_true(atomic_load(&replays) >= 1);
    struct fwd_stats st;
    fwd_stats(fwd_of(s), &st);
    assert_true(st.batches_retried >= 1);
    s->destroy(s);
    fwd_config_free(&cfg);
}

/* A gateway drops a replay of an incoming batch id (the agent retried after a lost ack). */
static void test_incoming_replay(void **state)
{
    fwd_config_t cfg;
    reset_upstream(0);
    atomic_store(&done_ok, 0);
    sink_t *s = make_fwd(&cfg, "j", "");
    lggen_t *g = lggen_create(10, 0, LGGEN_PROTOBUF);
    buf_t body;
    buf_init(&body, 16u << 20);
    assert_int_equal(lggen_next(g, OTLP_TRACES, 20, clock_wall_ns(), &body, NULL), 20);
    ingest_batch_t b = {.signal = OTLP_TRACES,
                        .protocol = PROTO_HTTP_PROTOBUF,
                        .tenant = SLICE_LIT("default"),
                        .raw_pb = buf_slice(&body),
                        .items = 20,
                        .batch_id = SLICE_LIT("agent-7:42.0")};
    for (int i = 0; i < 3; i++) {
        int before = atomic_load(&done_ok);
        s->submit(s, &b, on_done, NULL);
        for (int k = 0; k < 5000 && atomic_load(&done_ok) == before; k++) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(atomic_load(&done_ok), 3); /* every attempt acknowledged */
    assert_true(wait_for(20, 10));
    assert_true(wait_done(s, 10));
    struct fwd_stats st;
    fwd_stats(fwd_of(s), &st);
    assert_int_equal(st.replays_dropped, 2);
    assert_int_equal(st.records_queued, 1);
    s->destroy(s);
    /* after a restart the id is still known (snapshot / queue) */
    fwd_config_free(&cfg);
    s = make_fwd(&cfg, "j", "");
    int before = atomic_load(&done_ok);
    s->submit(s, &b, on_done, NULL);
    for (int k = 0; k < 5000 && atomic_load(&done_ok) == before; k++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    fwd_stats(fwd_of(s), &st);
    assert_int_equal(st.replays_dropped, 1);
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
    assert_int_equal(atomic_load(&items_ok), 20);
    s->destroy(s);
    fwd_config_free(&cfg);
    buf_free(&body);
    lggen_destroy(g);
}

/* Residency: region eu (preferred) is down, region us is up. Unpinned data fails over to
 * us; data of tenant eu-only and resources with cloud.region=eu-west-1 wait in the queue. */
static void test_residency(void **state)
{
    fwd_config_t cfg;
    reset_upstream(0);
    atomic_store(&done_ok, 0);
    {
        /* a port where nothing listens */
        http_server_t *tmp = http_server_create(NULL);
        http_router_t *tr = http_router_create();
        dead_port = http_server_listen(tmp, "127.0.0.1", 0, tr);
        http_server_destroy(tmp);
        http_router_destroy(tr);
    }
    sink_t *s = make_fwd(&cfg, "k", "PIN");
    lggen_t *g = lggen_create(11, 0, LGGEN_PROTOBUF);
    enrich_attrs_t eu = {0};
    enrich_attrs_add(&eu, "cloud.region", "eu-west-1");
    long free_items = 0;
    for (int i = 0; i < 9; i++) {
        buf_t body, pinned;
        buf_init(&body, 16u << 20);
        buf_init(&pinned, 16u << 20);
        assert_int_equal(lggen_next(g, OTLP_TRACES, 15, clock_wall_ns(), &body, NULL), 15);
        assert_int_equal(enrich_request(buf_slice(&body), &eu, &pinned), 0);
        int kind = i % 3; /* 0 free, 1 tenant-pinned, 2 attribute-pinned */
        ingest_batch_t b = {.signal = OTLP_TRACES,
                            .protocol = PROTO_HTTP_PROTOBUF,
                            .tenant = kind == 1 ? SLICE_LIT("eu-only") : SLICE_LIT("default"),
                            .raw_pb = kind == 2 ? buf_slice(&pinned) : buf_slice(&body),
                            .items = 15};
        int before = atomic_load(&done_ok);
        s->submit(s, &b, on_done, NULL);
        for (int k = 0; k < 5000 && atomic_load(&done_ok) == before; k++) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        free_items += kind == 0 ? 15 : 0;
        buf_free(&body);
        buf_free(&pinned);
    }
    assert_int_equal(atomic_load(&done_ok), 9);
    assert_true(wait_for(free_items, 10));
    struct timespec ts = {0, 500000000};
    nanosleep(&ts, NULL);
    /* only the free data left: the pinned data waits in the queue */
    assert_int_equal(atomic_load(&items_ok), free_items);
    struct fwd_stats st;
    fwd_stats(fwd_of(s), &st);
    assert_true(st.queue_bytes > 0);
    assert_int_equal(st.items_sent, (uint64_t)free_items);
    assert_int_equal(st.records_done, 1); /* the queue moves past done records in order */
    s->destroy(s);
    fwd_config_free(&cfg);
    lggen_destroy(g);
}

/* Pinned data whose region stays down longer than the read-ahead window lasts: it is
 * parked on disk, so unpinned data keeps flowing; when the region comes back, every parked
 * record is read again and delivered, and the queue drains. */
static void test_park(void **state)
{
    fwd_config_t cfg;
    reset_upstream(0);
    atomic_store(&done_ok, 0);
    http_server_t *tmp = http_server_create(NULL);
    http_router_t *tr = http_router_create();
    dead_port = http_server_listen(tmp, "127.0.0.1", 0, tr);
    http_server_destroy(tmp);
    sink_t *s = make_fwd(&cfg, "l", "PIN WIN");
    lggen_t *g = lggen_create(12, 0, LGGEN_PROTOBUF);
    long free_items = 0, pinned_items = 0;
    for (int i = 0; i < 240; i++) {
        buf_t body;
        buf_init(&body, 16u << 20);
        assert_int_equal(lggen_next(g, OTLP_TRACES, 15, clock_wall_ns(), &body, NULL), 15);
        int pinned = i % 3 != 0; /* two thirds pinned: more than the 1 MiB window */
        ingest_batch_t b = {.signal = OTLP_TRACES,
                            .protocol = PROTO_HTTP_PROTOBUF,
                            .tenant = pinned ? SLICE_LIT("eu-only") : SLICE_LIT("default"),
                            .raw_pb = buf_slice(&body),
                            .items = 15};
        int before = atomic_load(&done_ok);
        s->submit(s, &b, on_done, NULL);
        for (int k = 0; k < 5000 && atomic_load(&done_ok) == before; k++) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (pinned)
            pinned_items += 15;
        else
            free_items += 15;
        buf_free(&body);
    }
    assert_int_equal(atomic_load(&done_ok), 240);
    assert_true(wait_for(free_items, 10)); /* unpinned data was not stalled */
    struct fwd_stats st;
    fwd_stats(fwd_of(s), &st);
    assert_true(st.queue_bytes > (1u << 20)); /* the backlog is larger than the window */
    assert_int_equal(atomic_load(&items_ok), free_items);
    /* region eu comes back */
    http_server_t *eu = http_server_create(NULL);
    assert_int_equal(http_server_listen(eu, "127.0.0.1", dead_port, router), dead_port);
    assert_int_equal(http_server_start(eu), 0);
    assert_true(wait_for(free_items + pinned_items, 20));
    assert_true(wait_done(s, 20));
    assert_int_equal(atomic_load(&items_ok), free_items + pinned_items);
    assert_ids_unique();
    s->destroy(s);
    fwd_config_free(&cfg);
    lggen_destroy(g);
    http_server_stop_accepting(eu);
    http_server_drain(eu, clock_mono_ns() + 2000000000ull);
    http_server_destroy(eu);
    http_router_destroy(tr);
}

/* Members from DNS: "localhost" resolves to 127.0.0.1 (and maybe ::1, where nothing
 * listens: that member's circuit opens and everything goes to the other). */
static void test_dns_members(void **state)
{
    fwd_config_t cfg;
    /* DNS membership resolves "localhost" through the system resolver; a bare chroot
     * without /etc/hosts cannot, and that says nothing about Orasi. Every Debian install
     * has it, so this skip only shows up in stripped-down roots. */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo("localhost", NULL, &hints, &res) != 0) {
        print_message("skipped: the system resolver cannot resolve localhost here\n");
        skip();
    }
    freeaddrinfo(res);
    reset_upstream(0);
    sink_t *s = make_fwd(&cfg, "g", "DNS");
    long sent = submit(s, 10, 20, 7);
    assert_true(wait_for(sent, 10));
    assert_true(wait_done(s, 10));
    assert_int_equal(atomic_load(&items_ok), sent);
    assert_ids_unique();
    s->destroy(s);
    fwd_config_free(&cfg);
}

static void test_queue_full(void **state)
{
    fwd_config_t cfg;
    reset_upstream(1);
    atomic_store(&done_full, 0);
    sink_t *s = make_fwd(&cfg, "f", "SMALL");
    submit(s, 40, 400, 6); /* ~ 40 x 60 KiB into a 1 MiB queue */
    assert_true(atomic_load(&done_full) > 0);
    assert_int_equal(s->ready(s), 0); /* full: not ready */
    s->destroy(s);
    fwd_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deliver_once),
        cmocka_unit_test(test_retry_until_up),
        cmocka_unit_test(test_dead_letter),
        cmocka_unit_test(test_conflict_split),
        cmocka_unit_test(test_restart_keeps_queue),
        cmocka_unit_test(test_dns_members),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_in_doubt),
        cmocka_unit_test(test_incoming_replay),
        cmocka_unit_test(test_residency),
        cmocka_unit_test(test_park),
        cmocka_unit_test(test_queue_full),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
