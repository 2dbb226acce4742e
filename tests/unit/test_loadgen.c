/* test_loadgen.c — the load generator's content: PRNG reproducibility, the latency
 * histogram, trace structure (parents, kinds, times), the ~5 % error ratio, heavy-tailed
 * durations, and that every request it sends decodes with the project's own protobuf
 * and JSON decoders with unique, re-stamped ids that match the ack-log lines. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "loadgen/lgclient.h"
#include "loadgen/lggen.h"
#include "loadgen/lghist.h"
#include "loadgen/lgrand.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_pb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---------------------------------------------------------------- helpers ----------- */

/* A set of 8/16-byte keys (open addressing) to check uniqueness over 100k items. */
typedef struct {
    uint8_t *keys;
    uint8_t *used;
    size_t cap, n, klen;
} idset_t;

static void idset_init(idset_t *s, size_t cap, size_t klen)
{
    s->cap = cap;
    s->klen = klen;
    s->n = 0;
    s->keys = calloc(cap, klen);
    s->used = calloc(cap, 1);
    assert_non_null(s->keys);
    assert_non_null(s->used);
}

static void idset_free(idset_t *s)
{
    free(s->keys);
    free(s->used);
}

/* 1 if inserted, 0 if it was there already. */
static int idset_add(idset_t *s, const uint8_t *k)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < s->klen; i++)
        h = (h ^ k[i]) * 1099511628211ull;
    assert_true(s->n < s->cap / 2);
    for (size_t i = h % s->cap;; i = (i + 1) % s->cap) {
        if (!s->used[i]) {
            s->used[i] = 1;
            memcpy(s->keys + i * s->klen, k, s->klen);
            s->n++;
            return 1;
        }
        if (memcmp(s->keys + i * s->klen, k, s->klen) == 0)
            return 0;
    }
}

static slice_t attr(const otlp_attrs_t *a, const char *key)
{
    for (size_t i = 0; i < a->n; i++)
        if (slice_eq_cstr(a->v[i].key, key) && a->v[i].value.type == OTLP_ANY_STRING)
            return a->v[i].value.u.str;
    return slice_make(NULL, 0);
}

static int64_t int_attr(const otlp_attrs_t *a, const char *key)
{
    for (size_t i = 0; i < a->n; i++)
        if (slice_eq_cstr(a->v[i].key, key) && a->v[i].value.type == OTLP_ANY_INT)
            return a->v[i].value.u.i64;
    return -1;
}

static int has_attr(const otlp_attrs_t *a, const char *key)
{
    for (size_t i = 0; i < a->n; i++)
        if (slice_eq_cstr(a->v[i].key, key))
            return 1;
    return 0;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---------------------------------------------------------------- PRNG, histogram --- */

static void test_rand_reproducible(void **state)
{
    (void)state;
    lgrand_t a, b, c;
    lgrand_seed(&a, 42, 0);
    lgrand_seed(&b, 42, 0);
    lgrand_seed(&c, 42, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = lgrand_u64(&a), y = lgrand_u64(&b), z = lgrand_u64(&c);
        assert_true(x == y);
        same_c += x == z;
    }
    assert_int_equal(same_c, 0);
    /* uniformity, roughly: the mean of unit() and the Bernoulli rate */
    double sum = 0;
    int hits = 0;
    for (int i = 0; i < 100000; i++) {
        sum += lgrand_unit(&a);
        hits += lgrand_chance(&a, 0.05);
    }
    assert_true(sum / 100000 > 0.49 && sum / 100000 < 0.51);
    assert_true(hits > 4700 && hits < 5300);
    uint8_t id[16];
    for (int i = 0; i < 1000; i++) {
        lgrand_bytes(&a, id, 16);
        int nz = 0;
        for (int k = 0; k < 16; k++)
            nz |= id[k];
        assert_true(nz != 0);
    }
}

static void test_hist_quantiles(void **state)
{
    (void)state;
    lghist_t *h = malloc(sizeof(*h));
    assert_non_null(h);
    lghist_init(h);
    assert_int_equal(lghist_quantile(h, 0.99), 0);
    for (uint64_t v = 1; v <= 100000; v++)
        lghist_record(h, v);
    assert_int_equal(h->n, 100000);
    assert_int_equal(h->min, 1);
    assert_int_equal(h->max, 100000);
    const double qs[] = {0.5, 0.9, 0.99, 0.999};
    for (int i = 0; i < 4; i++) {
        double want = qs[i] * 100000, got = (double)lghist_quantile(h, qs[i]);
        assert_true(got >= want * 0.98 && got <= want * 1.02);
    }
    assert_int_equal(lghist_quantile(h, 1.0), 100000);
    /* bucket bounds are monotonic and every value lands in a bucket whose range holds it */
    uint64_t probes[] = {0,         1, 127, 128, 129, 255, 256, 1000, 123456789, UINT64_MAX / 3,
                         UINT64_MAX};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        unsigned b = lghist_index(probes[i]);
        assert_true(b < LGHIST_BUCKETS);
        assert_true(lghist_bucket_high(b) >= probes[i]);
        if (b > 0)
            assert_true(lghist_bucket_high(b - 1) < probes[i]);
    }
    for (unsigned b = 1; b < LGHIST_BUCKETS; b++)
        assert_true(lghist_bucket_high(b) > lghist_bucket_high(b - 1));
    /* an interval: diff of two snapshots */
    lghist_t *s1 = malloc(sizeof(*s1)), *s2 = malloc(sizeof(*s2)), *d = malloc(sizeof(*d));
    lghist_snapshot(s1, h);
    for (int i = 0; i < 100; i++)
        lghist_record(h, 5000000);
    lghist_snapshot(s2, h);
    lghist_diff(d, s2, s1);
    assert_int_equal(d->n, 100);
    uint64_t p = lghist_quantile(d, 0.5);
    assert_true(p >= 5000000 && p <= 5000000 * 1.02);
    free(s1);
    free(s2);
    free(d);
    free(h);
}

/* ---------------------------------------------------------------- traces ------------ */

struct span_ref {
    const otlp_span_t *s;
    slice_t service;
};

/* Generate >= 10k spans and check the structure of every trace and the error ratio. */
static void test_trace_structure_and_errors(void **state)
{
    (void)state;
    lggen_t *g = lggen_create(7, 0, LGGEN_PROTOBUF);
    assert_non_null(g);
    arena_t *a = arena_create(1 << 20, 0);
    size_t total = 0, errors = 0, roots = 0;
    uint64_t *root_dur = malloc(10000 * sizeof(uint64_t));
    uint64_t now = clock_wall_ns();
    for (int batch = 0; batch < 10; batch++) {
        arena_reset(a);
        otlp_traces_t t;
        assert_int_equal(lggen_traces(g, a, 1000, now, &t), 0);
        assert_int_equal(t.n_items, 1000);
        size_t n = 0;
        for (size_t i = 0; i < t.n_resource_spans; i++)
            for (size_t j = 0; j < t.resource_spans[i].n_scope_spans; j++)
                n += t.resource_spans[i].scope_spans[j].n_spans;
        assert_int_equal(n, 1000);
        struct span_ref *all = calloc(n, sizeof(*all));
        size_t k = 0;
        for (size_t i = 0; i < t.n_resource_spans; i++) {
            const otlp_resource_spans_t *rs = &t.resource_spans[i];
            /* the resource attributes real SDKs and the k8s processor put there */
            const char *want[] = {"service.name",
                                  "service.version",
                                  "service.instance.id",
                                  "telemetry.sdk.name",
                                  "telemetry.sdk.language",
                                  "telemetry.sdk.version",
                                  "host.name",
                                  "os.type",
                                  "process.pid",
                                  "process.runtime.name",
                                  "k8s.pod.name",
                                  "k8s.namespace.name",
                                  "deployment.environment"};
            for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++)
                assert_true(has_attr(&rs->resource.attrs, want[w]));
            slice_t svc = attr(&rs->resource.attrs, "service.name");
            assert_true(svc.len > 0);
            assert_true(rs->scope_spans[0].scope.name.len > 0);
            for (size_t j = 0; j < rs->n_scope_spans; j++)
                for (size_t m = 0; m < rs->scope_spans[j].n_spans; m++) {
                    all[k].s = &rs->scope_spans[j].spans[m];
                    all[k++].service = svc;
                }
        }
        for (size_t i = 0; i < n; i++) {
            const otlp_span_t *s = all[i].s;
            assert_int_equal(s->trace_id.len, 16);
            assert_int_equal(s->span_id.len, 8);
            assert_true(s->end_time_unix_nano > s->start_time_unix_nano);
            assert_true(s->name.len > 0);
            if (s->status.code == OTLP_STATUS_ERROR) {
                errors++;
                assert_int_equal(s->n_events, 1);
                assert_true(slice_eq_cstr(s->events[0].name, "exception"));
                assert_true(attr(&s->events[0].attrs, "exception.type").len > 0);
                assert_true(attr(&s->events[0].attrs, "exception.message").len > 0);
                assert_true(attr(&s->events[0].attrs, "exception.stacktrace").len > 20);
                assert_true(s->events[0].time_unix_nano >= s->start_time_unix_nano &&
                            s->events[0].time_unix_nano <= s->end_time_unix_nano);
            } else {
                assert_int_equal(s->n_events, 0);
            }
            if (s->kind == OTLP_SPAN_KIND_SERVER) {
                assert_true(has_attr(&s->attrs, "http.route"));
                assert_true(has_attr(&s->attrs, "http.request.method"));
                assert_true(has_attr(&s->attrs, "http.response.status_code"));
                assert_true(has_attr(&s->attrs, "url.path"));
                assert_true(has_attr(&s->attrs, "user_agent.original"));
            }
            if (!s->parent_span_id.len) {
                /* a root: the frontend's SERVER span */
                assert_int_equal(s->kind, OTLP_SPAN_KIND_SERVER);
                assert_true(slice_eq_cstr(all[i].service, "frontend"));
                root_dur[roots++] = s->end_time_unix_nano - s->start_time_unix_nano;
                continue;
            }
            /* the parent is in the same batch, same trace, and encloses the child */
            const struct span_ref *p = NULL;
            for (size_t q = 0; q < n && !p; q++)
                if (memcmp(all[q].s->span_id.id, s->parent_span_id.id, 8) == 0)
                    p = &all[q];
            assert_non_null(p);
            assert_memory_equal(p->s->trace_id.id, s->trace_id.id, 16);
            assert_true(p->s->start_time_unix_nano <= s->start_time_unix_nano);
            assert_true(p->s->end_time_unix_nano >= s->end_time_unix_nano);
            if (s->kind == OTLP_SPAN_KIND_SERVER) {
                /* called over the network: the parent is a CLIENT span elsewhere, which
                 * saw the same status and failed with it */
                assert_int_equal(p->s->kind, OTLP_SPAN_KIND_CLIENT);
                assert_false(slice_eq(p->service, all[i].service));
                assert_int_equal(int_attr(&p->s->attrs, "http.response.status_code"),
                                 int_attr(&s->attrs, "http.response.status_code"));
                assert_int_equal(p->s->status.code, s->status.code);
            } else {
                /* CLIENT (HTTP or database) and INTERNAL spans run inside a SERVER span of
                 * their own service */
                assert_true(s->kind == OTLP_SPAN_KIND_CLIENT || s->kind == OTLP_SPAN_KIND_INTERNAL);
                assert_int_equal(p->s->kind, OTLP_SPAN_KIND_SERVER);
                assert_true(slice_eq(p->service, all[i].service));
            }
            if (s->kind == OTLP_SPAN_KIND_CLIENT && has_attr(&s->attrs, "db.system"))
                assert_true(attr(&s->attrs, "db.statement").len > 0);
        }
        free(all);
        total += n;
    }
    double ratio = (double)errors / (double)total;
    print_message("spans %zu, errors %zu (%.2f %%), roots %zu\n", total, errors, ratio * 100,
                  roots);
    assert_int_equal(total, 10000);
    assert_true(ratio > 0.038 && ratio < 0.062);
    /* heavy tail: the slowest 1 % of requests take many times the median */
    qsort(root_dur, roots, sizeof(uint64_t), cmp_u64);
    double p50 = (double)root_dur[roots / 2], p99 = (double)root_dur[roots * 99 / 100];
    print_message("root span p50 %.2f ms, p99 %.2f ms, ratio %.1f\n", p50 / 1e6, p99 / 1e6,
                  p99 / p50);
    assert_true(p99 / p50 > 5);
    free(root_dur);
    arena_destroy(a);
    lggen_destroy(g);
}

static void test_metrics_and_logs_models(void **state)
{
    (void)state;
    lggen_t *g = lggen_create(3, 0, LGGEN_PROTOBUF);
    arena_t *a = arena_create(1 << 20, 0);
    uint64_t now = clock_wall_ns();
    const size_t sizes[] = {1, 5, 6, 7, 100, 1000};
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        size_t n = sizes[si];
        arena_reset(a);
        otlp_metrics_t m;
        assert_int_equal(lggen_metrics(g, a, n, now, &m), 0);
        size_t pts = 0, hist = 0;
        for (size_t i = 0; i < m.n_resource_metrics; i++)
            for (size_t j = 0; j < m.resource_metrics[i].n_scope_metrics; j++)
                for (size_t k = 0; k < m.resource_metrics[i].scope_metrics[j].n_metrics; k++) {
                    const otlp_metric_t *mt = &m.resource_metrics[i].scope_metrics[j].metrics[k];
                    assert_true(mt->name.len > 0);
                    if (mt->type == OTLP_METRIC_HISTOGRAM) {
                        for (size_t p = 0; p < mt->points.histogram.n; p++) {
                            const otlp_histogram_dp_t *h = &mt->points.histogram.v[p];
                            uint64_t c = 0;
                            for (size_t b = 0; b < h->bucket_counts.n; b++)
                                c += h->bucket_counts.v[b];
                            assert_int_equal(c, h->count);
                            assert_int_equal(h->bucket_counts.n, h->explicit_bounds.n + 1);
                            assert_int_equal(attr(&h->attrs, LGGEN_ID_KEY).len, 16);
                        }
                        pts += mt->points.histogram.n;
                        hist += mt->points.histogram.n;
                    } else {
                        assert_true(mt->type == OTLP_METRIC_SUM || mt->type == OTLP_METRIC_GAUGE);
                        for (size_t p = 0; p < mt->points.number.n; p++)
                            assert_int_equal(attr(&mt->points.number.v[p].attrs, LGGEN_ID_KEY).len,
                                             16);
                        pts += mt->points.number.n;
                    }
                }
        assert_int_equal(pts, n);
        assert_int_equal(m.n_items, n);
        if (n >= 100)
            assert_true(hist > 0);

        arena_reset(a);
        otlp_logs_t l;
        assert_int_equal(lggen_logs(g, a, n, now, &l), 0);
        size_t recs = 0, with_ctx = 0;
        int sev_seen[25] = {0};
        for (size_t i = 0; i < l.n_resource_logs; i++)
            for (size_t j = 0; j < l.resource_logs[i].n_scope_logs; j++)
                for (size_t k = 0; k < l.resource_logs[i].scope_logs[j].n_log_records; k++) {
                    const otlp_log_record_t *r = &l.resource_logs[i].scope_logs[j].log_records[k];
                    assert_int_equal(r->body.type, OTLP_ANY_STRING);
                    assert_true(r->body.u.str.len > 0);
                    assert_true(r->severity_number > 0 && r->severity_number < 25);
                    sev_seen[r->severity_number] = 1;
                    assert_int_equal(attr(&r->attrs, LGGEN_ID_KEY).len, 16);
                    with_ctx += r->trace_id.len == 16 && r->span_id.len == 8;
                    recs++;
                }
        assert_int_equal(recs, n);
        if (n >= 1000) {
            assert_true(sev_seen[9] && sev_seen[13] && sev_seen[17]); /* INFO, WARN, ERROR */
            assert_true(with_ctx > n / 2 && with_ctx < n);
        }
    }
    assert_int_equal(lggen_metrics(g, a, 0, now, &(otlp_metrics_t){0}), ORASI_EINVAL);
    arena_destroy(a);
    lggen_destroy(g);
}

/* ---------------------------------------------------------------- requests ---------- */

static int decode(enum lggen_encoding enc, enum otlp_signal sig, slice_t body, arena_t *a,
                  void *out)
{
    if (enc == LGGEN_JSON)
        return sig == OTLP_TRACES    ? otlp_json_decode_traces(body, a, out)
               : sig == OTLP_METRICS ? otlp_json_decode_metrics(body, a, out)
                                     : otlp_json_decode_logs(body, a, out);
    return sig == OTLP_TRACES    ? otlp_pb_decode_traces(body, a, out)
           : sig == OTLP_METRICS ? otlp_pb_decode_metrics(body, a, out)
                                 : otlp_pb_decode_logs(body, a, out);
}

/* The ack-log lines a decoded request should produce, in model order, into `out`. */
static void expected_lines(enum otlp_signal sig, const void *model, buf_t *out)
{
    char line[64];
    if (sig == OTLP_TRACES) {
        const otlp_traces_t *t = model;
        for (size_t i = 0; i < t->n_resource_spans; i++)
            for (size_t j = 0; j < t->resource_spans[i].n_scope_spans; j++)
                for (size_t k = 0; k < t->resource_spans[i].scope_spans[j].n_spans; k++) {
                    const otlp_span_t *s = &t->resource_spans[i].scope_spans[j].spans[k];
                    hex(line, s->trace_id.id, 16);
                    line[32] = ' ';
                    hex(line + 33, s->span_id.id, 8);
                    line[49] = '\n';
                    buf_append(out, line, 50);
                }
    } else if (sig == OTLP_LOGS) {
        const otlp_logs_t *l = model;
        for (size_t i = 0; i < l->n_resource_logs; i++)
            for (size_t j = 0; j < l->resource_logs[i].n_scope_logs; j++)
                for (size_t k = 0; k < l->resource_logs[i].scope_logs[j].n_log_records; k++) {
                    slice_t id =
                        attr(&l->resource_logs[i].scope_logs[j].log_records[k].attrs, LGGEN_ID_KEY);
                    buf_append(out, id.p, id.len);
                    buf_append_byte(out, '\n');
                }
    } else {
        const otlp_metrics_t *m = model;
        for (size_t i = 0; i < m->n_resource_metrics; i++)
            for (size_t j = 0; j < m->resource_metrics[i].n_scope_metrics; j++)
                for (size_t k = 0; k < m->resource_metrics[i].scope_metrics[j].n_metrics; k++) {
                    const otlp_metric_t *mt = &m->resource_metrics[i].scope_metrics[j].metrics[k];
                    size_t np = mt->type == OTLP_METRIC_HISTOGRAM ? mt->points.histogram.n
                                                                  : mt->points.number.n;
                    for (size_t p = 0; p < np; p++) {
                        const otlp_attrs_t *at = mt->type == OTLP_METRIC_HISTOGRAM
                                                     ? &mt->points.histogram.v[p].attrs
                                                     : &mt->points.number.v[p].attrs;
                        slice_t id = attr(at, LGGEN_ID_KEY);
                        buf_append(out, id.p, id.len);
                        buf_append_byte(out, '\n');
                    }
                }
    }
}

/* Every request decodes without rejections, holds `batch` items, and the ack lines the
 * generator reported are exactly the ids in the bytes (so re-stamping hit every site). */
static void check_requests(enum lggen_encoding enc)
{
    lggen_t *g = lggen_create(11, 3, enc);
    assert_non_null(g);
    arena_t *a = arena_create(1 << 20, 0);
    buf_t body, acks, want;
    buf_init(&body, LGGEN_MAX_BODY);
    buf_init(&acks, 1 << 24);
    buf_init(&want, 1 << 24);
    const size_t batches[] = {1, 7, 100, 512};
    for (int sig = 0; sig < 3; sig++)
        for (size_t bi = 0; bi < sizeof(batches) / sizeof(batches[0]); bi++)
            for (int rep = 0; rep < LGGEN_POOL * 2 + 3; rep++) {
                size_t n = batches[bi];
                buf_clear(&body);
                buf_clear(&acks);
                buf_clear(&want);
                assert_int_equal(
                    lggen_next(g, (enum otlp_signal)sig, n, clock_wall_ns(), &body, &acks), (int)n);
                arena_reset(a);
                union {
                    otlp_traces_t t;
                    otlp_metrics_t m;
                    otlp_logs_t l;
                } model;
                int rc = decode(enc, (enum otlp_signal)sig, buf_slice(&body), a, &model);
                assert_int_equal(rc, 0);
                size_t items = sig == OTLP_TRACES    ? model.t.n_items
                               : sig == OTLP_METRICS ? model.m.n_items
                                                     : model.l.n_items;
                size_t rejected = sig == OTLP_TRACES    ? model.t.rejected
                                  : sig == OTLP_METRICS ? model.m.rejected
                                                        : model.l.rejected;
                assert_int_equal(items, n);
                assert_int_equal(rejected, 0);
                expected_lines((enum otlp_signal)sig, &model, &want);
                assert_int_equal(acks.len, want.len);
                assert_memory_equal(acks.data, want.data, want.len);
            }
    assert_true(lggen_templates_built(g) >= 3 * 4);
    buf_free(&body);
    buf_free(&acks);
    buf_free(&want);
    arena_destroy(a);
    lggen_destroy(g);
}

static void test_requests_decode_protobuf(void **state)
{
    (void)state;
    check_requests(LGGEN_PROTOBUF);
}

static void test_requests_decode_json(void **state)
{
    (void)state;
    check_requests(LGGEN_JSON);
}

/* 100k spans sent as 1000 requests: every span id unique, no trace id shared between two
 * requests (templates are reused, ids are not), and after re-stamping every parent id
 * still points at a span of the same request and trace. */
static void test_ids_unique_100k(void **state)
{
    (void)state;
    lggen_t *g = lggen_create(99, 0, LGGEN_PROTOBUF);
    arena_t *a = arena_create(1 << 20, 0);
    buf_t body;
    buf_init(&body, LGGEN_MAX_BODY);
    idset_t spans, traces;
    idset_init(&spans, 1 << 18, 8);
    idset_init(&traces, 1 << 17, 16);
    size_t total = 0;
    for (int r = 0; r < 1000; r++) {
        buf_clear(&body);
        assert_int_equal(lggen_next(g, OTLP_TRACES, 100, clock_wall_ns(), &body, NULL), 100);
        arena_reset(a);
        otlp_traces_t t;
        assert_int_equal(otlp_pb_decode_traces(buf_slice(&body), a, &t), 0);
        assert_int_equal(t.n_items, 100);
        idset_t local_tr, local_sp;
        idset_init(&local_tr, 512, 16);
        idset_init(&local_sp, 512, 8);
        for (size_t i = 0; i < t.n_resource_spans; i++)
            for (size_t j = 0; j < t.resource_spans[i].n_scope_spans; j++)
                for (size_t k = 0; k < t.resource_spans[i].scope_spans[j].n_spans; k++) {
                    const otlp_span_t *s = &t.resource_spans[i].scope_spans[j].spans[k];
                    assert_int_equal(idset_add(&spans, s->span_id.id), 1);
                    idset_add(&local_sp, s->span_id.id);
                    if (idset_add(&local_tr, s->trace_id.id))
                        assert_int_equal(idset_add(&traces, s->trace_id.id), 1);
                    total++;
                }
        /* parents resolve inside the request */
        for (size_t i = 0; i < t.n_resource_spans; i++)
            for (size_t j = 0; j < t.resource_spans[i].n_scope_spans; j++)
                for (size_t k = 0; k < t.resource_spans[i].scope_spans[j].n_spans; k++) {
                    const otlp_span_t *s = &t.resource_spans[i].scope_spans[j].spans[k];
                    if (s->parent_span_id.len)
                        assert_int_equal(idset_add(&local_sp, s->parent_span_id.id), 0);
                }
        idset_free(&local_tr);
        idset_free(&local_sp);
    }
    assert_int_equal(total, 100000);
    assert_int_equal(spans.n, 100000);
    print_message("100000 spans, %zu traces, %llu templates built\n", traces.n,
                  (unsigned long long)lggen_templates_built(g));
    idset_free(&spans);
    idset_free(&traces);
    buf_free(&body);
    arena_destroy(a);
    lggen_destroy(g);
}

/* Same seed and stream, same requests (content and ids): --seed reproduces a run. */
static void test_seed_reproducible(void **state)
{
    (void)state;
    lggen_t *g1 = lggen_create(5, 1, LGGEN_PROTOBUF), *g2 = lggen_create(5, 1, LGGEN_PROTOBUF);
    buf_t b1, b2;
    buf_init(&b1, LGGEN_MAX_BODY);
    buf_init(&b2, LGGEN_MAX_BODY);
    uint64_t now = clock_wall_ns();
    for (int i = 0; i < 50; i++) {
        buf_clear(&b1);
        buf_clear(&b2);
        assert_true(lggen_next(g1, (enum otlp_signal)(i % 3), 50, now, &b1, NULL) > 0);
        assert_true(lggen_next(g2, (enum otlp_signal)(i % 3), 50, now, &b2, NULL) > 0);
        assert_int_equal(b1.len, b2.len);
        assert_memory_equal(b1.data, b2.data, b1.len);
    }
    buf_free(&b1);
    buf_free(&b2);
    lggen_destroy(g1);
    lggen_destroy(g2);
}

/* Allocation failure anywhere in building a template is an error, never a crash. */
static void test_alloc_failure(void **state)
{
    (void)state;
    buf_t body;
    buf_init(&body, LGGEN_MAX_BODY);
    int failed = 0, ok = 0;
    for (long k = 0; k < 400; k += 3) {
        orasi_alloc_fail_after(k);
        lggen_t *g = lggen_create(1, 0, LGGEN_PROTOBUF);
        if (g) {
            buf_clear(&body);
            int rc = lggen_next(g, (enum otlp_signal)(k % 3), 50, clock_wall_ns(), &body, NULL);
            if (rc < 0) {
                assert_true(rc == ORASI_ENOMEM || rc == ORASI_ETOOBIG);
                failed++;
            } else {
                ok++;
            }
            lggen_destroy(g);
        } else {
            failed++;
        }
        orasi_alloc_fail_after(-1);
    }
    assert_true(failed > 0);
    assert_true(ok > 0);
    buf_free(&body);
}

static void test_parse_partial(void **state)
{
    (void)state;
    int64_t r = -1;
    assert_int_equal(lgclient_parse_partial(LGCLIENT_HTTP_PROTOBUF, NULL, 0, &r), 0);
    assert_int_equal(r, 0);
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(otlp_pb_encode_export_response(OTLP_TRACES, 7, SLICE_LIT("bad ids"), &b), 0);
    assert_int_equal(lgclient_parse_partial(LGCLIENT_GRPC, b.data, b.len, &r), 0);
    assert_int_equal(r, 7);
    buf_clear(&b);
    assert_int_equal(otlp_json_encode_export_response(OTLP_LOGS, 300, SLICE_LIT("x"), &b), 0);
    assert_int_equal(lgclient_parse_partial(LGCLIENT_HTTP_JSON, b.data, b.len, &r), 0);
    assert_int_equal(r, 300);
    assert_int_equal(lgclient_parse_partial(LGCLIENT_HTTP_JSON, (const uint8_t *)"{}", 2, &r), 0);
    assert_int_equal(r, 0);
    const uint8_t trunc[] = {0x0a, 0x05, 0x08};
    assert_int_equal(lgclient_parse_partial(LGCLIENT_HTTP_PROTOBUF, trunc, 3, &r), ORASI_EPARSE);
    buf_free(&b);
}

/* The HTTP/1.1 response parser, table-driven: complete, incomplete and malformed heads
 * and bodies, with Content-Length and chunked framing. */
static void test_http_response_parser(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc, status, close;
        const char *body;
        size_t consumed; /* 0: the whole input */
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1, 200, 0, "", 0},
        {"HTTP/1.1 204 No Content\r\n\r\n", 1, 204, 0, "", 0},
        {"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", 1, 200, 0, "{}", 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 2", 1, 200, 0, "{}", 40},
        {"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 1, 503, 1, "", 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n"
         "\r\n",
         1, 200, 0, "abcde", 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", 0, 0, 0, NULL, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", -1, 0, 0,
         NULL, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", -1, 0, 0, NULL, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", 0, 0, 0, NULL, 0},
        {"HTTP/1.1 200 OK\r\nContent-Len", 0, 0, 0, NULL, 0},
        {"HTTP/1.1 2x0 OK\r\n\r\n", -1, 0, 0, NULL, 0},
        {"SMTP ready\r\n\r\n", -1, 0, 0, NULL, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", -1, 0, 0, NULL, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", -1, 0, 0, NULL, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", -1, 0, 0, NULL, 0},
    };
    buf_t scratch;
    buf_init(&scratch, LGCLIENT_MAX_RESP);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lgclient_http_resp_t r;
        size_t len = strlen(cases[i].in);
        int rc = lgclient_http_response((const uint8_t *)cases[i].in, len, &scratch, &r);
        if (cases[i].rc < 0) {
            assert_int_equal(rc, ORASI_EPARSE);
            continue;
        }
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0)
            continue;
        assert_int_equal(r.status, cases[i].status);
        assert_int_equal(r.conn_close, cases[i].close);
        assert_int_equal(r.body_len, strlen(cases[i].body));
        assert_memory_equal(r.body, cases[i].body, r.body_len);
        assert_int_equal(r.consumed, cases[i].consumed ? cases[i].consumed : len);
    }
    /* an over-long head is an error, not a wait for more */
    buf_t big;
    buf_init(&big, 1 << 20);
    buf_append_str(&big, "HTTP/1.1 200 OK\r\n");
    while (big.len <= LGCLIENT_MAX_HEAD)
        buf_append_str(&big, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    lgclient_http_resp_t r;
    assert_int_equal(lgclient_http_response(big.data, big.len, &scratch, &r), ORASI_EPARSE);
    buf_free(&big);
    buf_free(&scratch);
}

static size_t distinct_u64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        d += i == 0 || v[i] != v[i - 1];
    return d;
}

/* Templates are reused (LGGEN_MAX_USES), but each use moves every trace's times by its
 * own shift and scale: start times and durations do not repeat from use to use (as they
 * do not in real traffic: a repeated value would flatter the lake's compression), and a
 * child still starts after its parent and ends before it. */
static void check_times_fresh(enum lggen_encoding enc)
{
    lggen_t *g = lggen_create(5, 1, enc);
    assert_non_null(g);
    arena_t *a = arena_create(1 << 20, 0);
    buf_t body;
    buf_init(&body, LGGEN_MAX_BODY);
    enum { REQS = 3 * LGGEN_POOL, N = 100 };
    uint64_t *starts = calloc(REQS * N, sizeof(*starts));
    uint64_t *durs = calloc(REQS * N, sizeof(*durs));
    assert_non_null(starts);
    assert_non_null(durs);
    size_t ns = 0, nested = 0;
    uint64_t now = clock_wall_ns();
    for (int r = 0; r < REQS; r++) {
        buf_clear(&body);
        assert_int_equal(lggen_next(g, OTLP_TRACES, N, now, &body, NULL), N);
        arena_reset(a);
        otlp_traces_t t;
        assert_int_equal(decode(enc, OTLP_TRACES, buf_slice(&body), a, &t), 0);
        const otlp_span_t *all[N];
        size_t k = 0;
        for (size_t i = 0; i < t.n_resource_spans; i++)
            for (size_t j = 0; j < t.resource_spans[i].n_scope_spans; j++)
                for (size_t m = 0; m < t.resource_spans[i].scope_spans[j].n_spans; m++)
                    all[k++] = &t.resource_spans[i].scope_spans[j].spans[m];
        assert_int_equal(k, N);
        for (size_t i = 0; i < N; i++) {
            const otlp_span_t *s = all[i];
            assert_true(s->end_time_unix_nano > s->start_time_unix_nano);
            /* within a few seconds of the clock (the shift is at most 250 ms) */
            assert_true(s->start_time_unix_nano > now - 10 * 1000000000ull);
            assert_true(s->end_time_unix_nano < now + 10 * 1000000000ull);
            for (size_t e = 0; e < s->n_events; e++) {
                assert_true(s->events[e].time_unix_nano >= s->start_time_unix_nano);
                assert_true(s->events[e].time_unix_nano <= s->end_time_unix_nano);
            }
            starts[ns] = s->start_time_unix_nano;
            durs[ns++] = s->end_time_unix_nano - s->start_time_unix_nano;
            if (!s->parent_span_id.len)
                continue;
            for (size_t q = 0; q < N; q++)
                if (all[q]->span_id.len == 8 &&
                    memcmp(all[q]->span_id.id, s->parent_span_id.id, 8) == 0) {
                    assert_true(s->start_time_unix_nano >= all[q]->start_time_unix_nano);
                    assert_true(s->end_time_unix_nano <= all[q]->end_time_unix_nano);
                    nested++;
                }
        }
    }
    size_t ds = distinct_u64(starts, ns), dd = distinct_u64(durs, ns);
    print_message("%zu spans over %d requests: %zu distinct start times, %zu distinct "
                  "durations, %zu parent/child pairs checked, %llu templates built\n",
                  ns, REQS, ds, dd, nested, (unsigned long long)lggen_templates_built(g));
    /* every template was used 3 times: without fresh times at most a third would differ */
    assert_true(lggen_templates_built(g) <= LGGEN_POOL);
    assert_true(ds * 100 >= ns * 99);
    assert_true(dd * 100 >= ns * 99);
    assert_true(nested > ns / 2);
    free(starts);
    free(durs);
    buf_free(&body);
    arena_destroy(a);
    lggen_destroy(g);
}

static void test_times_fresh_protobuf(void **state)
{
    (void)state;
    check_times_fresh(LGGEN_PROTOBUF);
}

static void test_times_fresh_json(void **state)
{
    (void)state;
    check_times_fresh(LGGEN_JSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rand_reproducible),
        cmocka_unit_test(test_hist_quantiles),
        cmocka_unit_test(test_trace_structure_and_errors),
        cmocka_unit_test(test_metrics_and_logs_models),
        cmocka_unit_test(test_requests_decode_protobuf),
        cmocka_unit_test(test_requests_decode_json),
        cmocka_unit_test(test_ids_unique_100k),
        cmocka_unit_test(test_times_fresh_protobuf),
        cmocka_unit_test(test_times_fresh_json),
        cmocka_unit_test(test_seed_reproducible),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_parse_partial),
        cmocka_unit_test(test_http_response_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
