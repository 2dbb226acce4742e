/*
 * test_otlp_pb.c — OTLP protobuf decoder/scanner/encoder and the wire reader.
 *
 * Round trips (model → encode → decode → deep compare) for every signal, every metric
 * kind and every AnyValue kind; hand-built malformed inputs (truncation, wrong wire type,
 * 2 GB length prefix, overlong varints, groups); item rejection (ids, UTF-8, depth, and
 * rejection inherited from resource/scope); scan and decode agreeing on every prefix and
 * every single-byte mutation of valid requests; allocation failure at every allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "otlp/otlp_pb.h"
#include "otlp/otlp_utf8.h"
#include "otlp/pb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXBODY (1 << 20)

/* ---------------------------------------------------------------- model builders --- */

static otlp_any_t S(const char *s)
{
    otlp_any_t v = {.type = OTLP_ANY_STRING};
    v.u.str = slice_cstr(s);
    return v;
}
static otlp_any_t I(int64_t i)
{
    otlp_any_t v = {.type = OTLP_ANY_INT};
    v.u.i64 = i;
    return v;
}
static otlp_any_t D(double d)
{
    otlp_any_t v = {.type = OTLP_ANY_DOUBLE};
    v.u.f64 = d;
    return v;
}
static otlp_any_t B(int b)
{
    otlp_any_t v = {.type = OTLP_ANY_BOOL};
    v.u.boolean = b;
    return v;
}
static otlp_any_t BY(const void *p, size_t n)
{
    otlp_any_t v = {.type = OTLP_ANY_BYTES};
    v.u.bytes = slice_make(p, n);
    return v;
}
static otlp_any_t ARR(otlp_any_t *v, size_t n)
{
    otlp_any_t a = {.type = OTLP_ANY_ARRAY};
    a.u.array.v = v;
    a.u.array.n = n;
    return a;
}
static otlp_any_t KVL(otlp_kv_t *v, size_t n)
{
    otlp_any_t a = {.type = OTLP_ANY_KVLIST};
    a.u.kvlist.v = v;
    a.u.kvlist.n = n;
    return a;
}
#define KV(k, val) ((otlp_kv_t){SLICE_LIT(k), (val)})
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void set_tid(otlp_trace_id_t *t, uint8_t seed)
{
    for (int i = 0; i < 16; i++)
        t->id[i] = (uint8_t)(seed + i);
    t->len = 16;
}
static void set_sid(otlp_span_id_t *s, uint8_t seed)
{
    for (int i = 0; i < 8; i++)
        s->id[i] = (uint8_t)(seed * 3 + i);
    s->len = 8;
}

/* AnyValue of every kind, nested ones included (shared by all round trips) */
static const uint8_t BYTES7[7] = {0, 1, 2, 0xff, 0x80, 'x', 0};
static otlp_any_t inner_arr[2], arr_vals[4];
static otlp_kv_t inner_kv[1], kvl_vals[3];
static otlp_kv_t every_kind[9];

static void build_every_kind(void)
{
    inner_arr[0] = I(-5);
    inner_arr[1] = S("in");
    arr_vals[0] = I(1);
    arr_vals[1] = S("x");
    arr_vals[2] = ARR(inner_arr, 2);
    arr_vals[3] = (otlp_any_t){.type = OTLP_ANY_EMPTY};
    inner_kv[0] = KV("c", S("d"));
    kvl_vals[0] = KV("a", I(1));
    kvl_vals[1] = KV("b", KVL(inner_kv, 1));
    kvl_vals[2] = KV("e", ARR(NULL, 0));
    every_kind[0] = KV("str", S("héllo wörld ✓ 𝄞"));
    every_kind[1] = KV("bool", B(1));
    every_kind[2] = KV("int", I(INT64_MIN));
    every_kind[3] = KV("double", D(-1.5e300));
    every_kind[4] = KV("bytes", BY(BYTES7, sizeof(BYTES7)));
    every_kind[5] = KV("array", ARR(arr_vals, 4));
    every_kind[6] = KV("kvlist", KVL(kvl_vals, 3));
    every_kind[7] = KV("empty", ((otlp_any_t){.type = OTLP_ANY_EMPTY}));
    every_kind[8] = KV("", S("")); /* empty key and empty string are still a string */
}

/* traces: two resources; a span with every field set, a minimal root span, a span with
 * unknown enum values */
static otlp_span_t t_spans1[2], t_spans2[1];
static otlp_event_t t_events[2];
static otlp_link_t t_links[1];
static otlp_kv_t t_span_attrs[3], t_ev_attrs[1], t_link_attrs[1], t_scope_attrs[1];
static otlp_scope_spans_t t_ss1[1], t_ss2[1];
static otlp_resource_spans_t t_rs[2];
static otlp_traces_t T;

static void build_traces(void)
{
    build_every_kind();
    memset(&T, 0, sizeof(T));
    t_span_attrs[0] = KV("http.method", S("GET"));
    t_span_attrs[1] = KV("http.status_code", I(200));
    t_span_attrs[2] = KV("ratio", D(0.25));
    t_ev_attrs[0] = KV("exception.type", S("E"));
    t_link_attrs[0] = KV("link.kind", S("follows"));
    t_scope_attrs[0] = KV("scope.attr", B(0));

    otlp_span_t *a = &t_spans1[0];
    memset(a, 0, sizeof(*a));
    set_tid(&a->trace_id, 1);
    set_sid(&a->span_id, 2);
    set_sid(&a->parent_span_id, 3);
    a->trace_state = SLICE_LIT("rojo=00f067aa0ba902b7");
    a->flags = 0x301;
    a->name = SLICE_LIT("GET /users/{id}");
    a->kind = OTLP_SPAN_KIND_SERVER;
    a->start_time_unix_nano = 1700000000000000001ull;
    a->end_time_unix_nano = 1700000000123456789ull;
    a->attrs = (otlp_attrs_t){t_span_attrs, 3};
    a->dropped_attributes_count = 4;
    t_events[0] =
        (otlp_event_t){1700000000000000500ull, SLICE_LIT("exception"), {t_ev_attrs, 1}, 2};
    t_events[1] = (otlp_event_t){0, SLICE_LIT(""), {NULL, 0}, 0};
    a->events = t_events;
    a->n_events = 2;
    a->dropped_events_count = 5;
    memset(&t_links[0], 0, sizeof(t_links[0]));
    set_tid(&t_links[0].trace_id, 9);
    set_sid(&t_links[0].span_id, 10);
    t_links[0].trace_state = SLICE_LIT("k=v");
    t_links[0].attrs = (otlp_attrs_t){t_link_attrs, 1};
    t_links[0].dropped_attributes_count = 1;
    t_links[0].flags = 0x100;
    a->links = t_links;
    a->n_links = 1;
    a->dropped_links_count = 6;
    a->status = (otlp_status_t){OTLP_STATUS_ERROR, SLICE_LIT("boom")};

    otlp_span_t *b = &t_spans1[1];
    memset(b, 0, sizeof(*b));
    set_tid(&b->trace_id, 20);
    set_sid(&b->span_id, 21);

    otlp_span_t *c = &t_spans2[0];
    memset(c, 0, sizeof(*c));
    set_tid(&c->trace_id, 30);
    set_sid(&c->span_id, 31);
    c->kind = 99; /* unknown enum values are kept */
    c->status.code = 7;
    c->name = SLICE_LIT("x");

    t_ss1[0] =
        (otlp_scope_spans_t){{SLICE_LIT("io.test"), SLICE_LIT("1.2.3"), {t_scope_attrs, 1}, 7},
                             t_spans1,
                             2,
                             SLICE_LIT("https://opentelemetry.io/schemas/1.21.0")};
    t_ss2[0] = (otlp_scope_spans_t){.spans = t_spans2, .n_spans = 1};
    memset(t_rs, 0, sizeof(t_rs));
    t_rs[0].resource = (otlp_resource_t){{every_kind, N(every_kind)}, 3, {0}};
    t_rs[0].scope_spans = t_ss1;
    t_rs[0].n_scope_spans = 1;
    t_rs[0].schema_url = SLICE_LIT("https://example.com/schema");
    t_rs[1].scope_spans = t_ss2;
    t_rs[1].n_scope_spans = 1;
    T.resource_spans = t_rs;
    T.n_resource_spans = 2;
    T.n_items = 3;
}

/* metrics: all five kinds, exemplars both ways, optional fields set and unset */
static otlp_number_dp_t m_gauge_pts[2], m_sum_pts[1];
static otlp_histogram_dp_t m_hist_pts[2];
static otlp_exp_histogram_dp_t m_exp_pts[1];
static otlp_summary_dp_t m_sum_dp[1];
static otlp_exemplar_t m_exemplars[2];
static otlp_quantile_t m_quantiles[3];
static otlp_kv_t m_attrs[2], m_meta[1];
static const uint64_t m_counts[4] = {1, 0, 7, UINT64_MAX};
static const double m_bounds[3] = {0.5, 1, 2.5e10};
static const uint64_t m_pos[3] = {3, 300, 1ull << 40}, m_neg[1] = {2};
static otlp_metric_t m_metrics[6];
static otlp_scope_metrics_t m_sm[1];
static otlp_resource_metrics_t m_rm[1];
static otlp_metrics_t M;

static void build_metrics(void)
{
    build_every_kind();
    memset(&M, 0, sizeof(M));
    m_attrs[0] = KV("host", S("a"));
    m_attrs[1] = KV("cpu", I(3));
    m_meta[0] = KV("prometheus.type", S("counter"));
    memset(m_exemplars, 0, sizeof(m_exemplars));
    m_exemplars[0].filtered_attrs = (otlp_attrs_t){m_attrs, 1};
    m_exemplars[0].time_unix_nano = 17;
    m_exemplars[0].as_double = 0.125;
    set_tid(&m_exemplars[0].trace_id, 40);
    set_sid(&m_exemplars[0].span_id, 41);
    m_exemplars[1].time_unix_nano = 18;
    m_exemplars[1].is_int = 1;
    m_exemplars[1].as_int = -42;

    memset(m_gauge_pts, 0, sizeof(m_gauge_pts));
    m_gauge_pts[0] = (otlp_number_dp_t){{m_attrs, 2}, 1, 2, 0, 3.5, 0, {m_exemplars, 2}, 0};
    m_gauge_pts[1] = (otlp_number_dp_t){{NULL, 0}, 0, 5, 1, 0, -9, {NULL, 0}, 1};
    m_sum_pts[0] = (otlp_number_dp_t){{m_attrs, 1}, 10, 20, 1, 0, 1234567890123ll, {NULL, 0}, 0};
    memset(m_hist_pts, 0, sizeof(m_hist_pts));
    m_hist_pts[0].attrs = (otlp_attrs_t){m_attrs, 2};
    m_hist_pts[0].start_time_unix_nano = 100;
    m_hist_pts[0].time_unix_nano = 200;
    m_hist_pts[0].count = 8;
    m_hist_pts[0].has_sum = m_hist_pts[0].has_min = m_hist_pts[0].has_max = 1;
    m_hist_pts[0].sum = 0; /* present and zero must survive */
    m_hist_pts[0].min = -1;
    m_hist_pts[0].max = 99;
    m_hist_pts[0].bucket_counts = (otlp_u64s_t){m_counts, 4};
    m_hist_pts[0].explicit_bounds = (otlp_f64s_t){m_bounds, 3};
    m_hist_pts[0].exemplars = (otlp_exemplars_t){m_exemplars, 1};
    m_hist_pts[1].time_unix_nano = 300;
    m_hist_pts[1].flags = OTLP_DATA_POINT_FLAG_NO_RECORDED_VALUE;
    memset(m_exp_pts, 0, sizeof(m_exp_pts));
    m_exp_pts[0].attrs = (otlp_attrs_t){m_attrs, 1};
    m_exp_pts[0].time_unix_nano = 400;
    m_exp_pts[0].count = 306;
    m_exp_pts[0].has_sum = 1;
    m_exp_pts[0].sum = 1e3;
    m_exp_pts[0].has_max = 1;
    m_exp_pts[0].max = 50;
    m_exp_pts[0].scale = -3;
    m_exp_pts[0].zero_count = 1;
    m_exp_pts[0].zero_threshold = 1e-9;
    m_exp_pts[0].positive = (otlp_exp_buckets_t){-2, {m_pos, 3}};
    m_exp_pts[0].negative = (otlp_exp_buckets_t){5, {m_neg, 1}};
    m_exp_pts[0].exemplars = (otlp_exemplars_t){&m_exemplars[1], 1};
    m_exp_pts[0].flags = 0;
    m_quantiles[0] = (otlp_quantile_t){0, 1};
    m_quantiles[1] = (otlp_quantile_t){0.5, 2};
    m_quantiles[2] = (otlp_quantile_t){1, 30};
    m_sum_dp[0] = (otlp_summary_dp_t){{m_attrs, 2}, 1, 2, 3, 33.5, m_quantiles, 3, 0};

    memset(m_metrics, 0, sizeof(m_metrics));
    m_metrics[0] = (otlp_metric_t){.name = SLICE_LIT("temp"),
                                   .description = SLICE_LIT("d"),
                                   .unit = SLICE_LIT("Cel"),
                                   .type = OTLP_METRIC_GAUGE};
    m_metrics[0].points.number.v = m_gauge_pts;
    m_metrics[0].points.number.n = 2;
    m_metrics[1] = (otlp_metric_t){.name = SLICE_LIT("requests"),
                                   .type = OTLP_METRIC_SUM,
                                   .temporality = OTLP_TEMPORALITY_CUMULATIVE,
                                   .is_monotonic = 1,
                                   .metadata = {m_meta, 1}};
    m_metrics[1].points.number.v = m_sum_pts;
    m_metrics[1].points.number.n = 1;
    m_metrics[2] = (otlp_metric_t){.name = SLICE_LIT("latency"),
                                   .type = OTLP_METRIC_HISTOGRAM,
                                   .temporality = OTLP_TEMPORALITY_DELTA};
    m_metrics[2].points.histogram.v = m_hist_pts;
    m_metrics[2].points.histogram.n = 2;
    m_metrics[3] = (otlp_metric_t){.name = SLICE_LIT("exp"),
                                   .type = OTLP_METRIC_EXP_HISTOGRAM,
                                   .temporality = 9 /* unknown, kept */};
    m_metrics[3].points.exp_histogram.v = m_exp_pts;
    m_metrics[3].points.exp_histogram.n = 1;
    m_metrics[4] = (otlp_metric_t){.name = SLICE_LIT("summary"), .type = OTLP_METRIC_SUMMARY};
    m_metrics[4].points.summary.v = m_sum_dp;
    m_metrics[4].points.summary.n = 1;
    m_metrics[5] = (otlp_metric_t){.name = SLICE_LIT("nodata"), .type = OTLP_METRIC_NONE};
    m_sm[0] = (otlp_scope_metrics_t){
        {SLICE_LIT("meter"), {0}, {NULL, 0}, 0}, m_metrics, 6, SLICE_LIT("s")};
    m_rm[0] = (otlp_resource_metrics_t){{{every_kind, N(every_kind)}, 0, {0}}, m_sm, 1, {0}};
    M.resource_metrics = m_rm;
    M.n_resource_metrics = 1;
    M.n_items = 7;
}

/* logs: one record per AnyValue kind as body, one with every field */
static otlp_log_record_t l_recs[10];
static otlp_scope_logs_t l_sl[1];
static otlp_resource_logs_t l_rl[1];
static otlp_logs_t L;

static void build_logs(void)
{
    build_every_kind();
    memset(&L, 0, sizeof(L));
    memset(l_recs, 0, sizeof(l_recs));
    for (size_t i = 0; i < N(every_kind); i++) {
        l_recs[i].body = every_kind[i].value;
        l_recs[i].time_unix_nano = i;
    }
    otlp_log_record_t *r = &l_recs[9];
    r->time_unix_nano = 1;
    r->observed_time_unix_nano = 2;
    r->severity_number = 17;
    r->severity_text = SLICE_LIT("ERROR");
    r->body = S("something failed");
    r->attrs = (otlp_attrs_t){every_kind, N(every_kind)};
    r->dropped_attributes_count = 1;
    r->flags = 1;
    set_tid(&r->trace_id, 50);
    set_sid(&r->span_id, 51);
    r->event_name = SLICE_LIT("app.failure");
    l_sl[0] = (otlp_scope_logs_t){{SLICE_LIT("logger"), {0}, {NULL, 0}, 0}, l_recs, 10, {0}};
    l_rl[0] = (otlp_resource_logs_t){{{every_kind, 2}, 0, {0}}, l_sl, 1, SLICE_LIT("u")};
    L.resource_logs = l_rl;
    L.n_resource_logs = 1;
    L.n_items = 10;
}

/* ---------------------------------------------------------------- deep compare ----- */

static int fails;
#define CHK(c)                                                                                     \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "mismatch at %s:%d: %s\n", __FILE__, __LINE__, #c);                    \
            fails++;                                                                               \
            return 0;                                                                              \
        }                                                                                          \
    } while (0)

static int eq_sl(slice_t a, slice_t b)
{
    return slice_eq(a, b);
}
static int eq_dbl(double a, double b)
{
    return memcmp(&a, &b, 8) == 0 || (a == 0 && b == 0);
}
static int eq_kv(const otlp_kv_t *a, const otlp_kv_t *b);

static int eq_any(const otlp_any_t *a, const otlp_any_t *b)
{
    CHK(a->type == b->type);
    switch (a->type) {
    case OTLP_ANY_STRING:
        CHK(eq_sl(a->u.str, b->u.str));
        break;
    case OTLP_ANY_BOOL:
        CHK(!a->u.boolean == !b->u.boolean);
        break;
    case OTLP_ANY_INT:
        CHK(a->u.i64 == b->u.i64);
        break;
    case OTLP_ANY_DOUBLE:
        CHK(eq_dbl(a->u.f64, b->u.f64));
        break;
    case OTLP_ANY_BYTES:
        CHK(eq_sl(a->u.bytes, b->u.bytes));
        break;
    case OTLP_ANY_ARRAY:
        CHK(a->u.array.n == b->u.array.n);
        for (size_t i = 0; i < a->u.array.n; i++)
            CHK(eq_any(&a->u.array.v[i], &b->u.array.v[i]));
        break;
    case OTLP_ANY_KVLIST:
        CHK(a->u.kvlist.n == b->u.kvlist.n);
        for (size_t i = 0; i < a->u.kvlist.n; i++)
            CHK(eq_kv(&a->u.kvlist.v[i], &b->u.kvlist.v[i]));
        break;
    }
    return 1;
}
static int eq_kv(const otlp_kv_t *a, const otlp_kv_t *b)
{
    CHK(eq_sl(a->key, b->key));
    CHK(eq_any(&a->value, &b->value));
    return 1;
}
static int eq_attrs(const otlp_attrs_t *a, const otlp_attrs_t *b)
{
    CHK(a->n == b->n);
    for (size_t i = 0; i < a->n; i++)
        CHK(eq_kv(&a->v[i], &b->v[i]));
    return 1;
}
static int eq_tid(const otlp_trace_id_t *a, const otlp_trace_id_t *b)
{
    return a->len == b->len && memcmp(a->id, b->id, a->len) == 0;
}
static int eq_sid(const otlp_span_id_t *a, const otlp_span_id_t *b)
{
    return a->len == b->len && memcmp(a->id, b->id, a->len) == 0;
}
static int eq_resource(const otlp_resource_t *a, const otlp_resource_t *b)
{
    CHK(eq_attrs(&a->attrs, &b->attrs));
    CHK(a->dropped_attributes_count == b->dropped_attributes_count);
    return 1;
}
static int eq_scope(const otlp_scope_t *a, const otlp_scope_t *b)
{
    CHK(eq_sl(a->name, b->name) && eq_sl(a->version, b->version));
    CHK(eq_attrs(&a->attrs, &b->attrs));
    CHK(a->dropped_attributes_count == b->dropped_attributes_count);
    return 1;
}
static int eq_span(const otlp_span_t *a, const otlp_span_t *b)
{
    CHK(eq_tid(&a->trace_id, &b->trace_id));
    CHK(eq_sid(&a->span_id, &b->span_id));
    CHK(eq_sid(&a->parent_span_id, &b->parent_span_id));
    CHK(eq_sl(a->trace_state, b->trace_state));
    CHK(a->flags == b->flags);
    CHK(eq_sl(a->name, b->name));
    CHK(a->kind == b->kind);
    CHK(a->start_time_unix_nano == b->start_time_unix_nano);
    CHK(a->end_time_unix_nano == b->end_time_unix_nano);
    CHK(eq_attrs(&a->attrs, &b->attrs));
    CHK(a->dropped_attributes_count == b->dropped_attributes_count);
    CHK(a->n_events == b->n_events);
    for (size_t i = 0; i < a->n_events; i++) {
        const otlp_event_t *x = &a->events[i], *y = &b->events[i];
        CHK(x->time_unix_nano == y->time_unix_nano && eq_sl(x->name, y->name));
        CHK(eq_attrs(&x->attrs, &y->attrs));
        CHK(x->dropped_attributes_count == y->dropped_attributes_count);
    }
    CHK(a->dropped_events_count == b->dropped_events_count);
    CHK(a->n_links == b->n_links);
    for (size_t i = 0; i < a->n_links; i++) {
        const otlp_link_t *x = &a->links[i], *y = &b->links[i];
        CHK(eq_tid(&x->trace_id, &y->trace_id) && eq_sid(&x->span_id, &y->span_id));
        CHK(eq_sl(x->trace_state, y->trace_state));
        CHK(eq_attrs(&x->attrs, &y->attrs));
        CHK(x->dropped_attributes_count == y->dropped_attributes_count);
        CHK(x->flags == y->flags);
    }
    CHK(a->dropped_links_count == b->dropped_links_count);
    CHK(a->status.code == b->status.code && eq_sl(a->status.message, b->status.message));
    return 1;
}
static int eq_traces(const otlp_traces_t *a, const otlp_traces_t *b)
{
    CHK(a->n_resource_spans == b->n_resource_spans);
    CHK(a->n_items == b->n_items);
    for (size_t i = 0; i < a->n_resource_spans; i++) {
        const otlp_resource_spans_t *x = &a->resource_spans[i], *y = &b->resource_spans[i];
        CHK(eq_resource(&x->resource, &y->resource));
        CHK(eq_sl(x->schema_url, y->schema_url));
        CHK(x->n_scope_spans == y->n_scope_spans);
        for (size_t j = 0; j < x->n_scope_spans; j++) {
            const otlp_scope_spans_t *p = &x->scope_spans[j], *q = &y->scope_spans[j];
            CHK(eq_scope(&p->scope, &q->scope));
            CHK(eq_sl(p->schema_url, q->schema_url));
            CHK(p->n_spans == q->n_spans);
            for (size_t k = 0; k < p->n_spans; k++)
                CHK(eq_span(&p->spans[k], &q->spans[k]));
        }
    }
    return 1;
}

static int eq_exemplars(const otlp_exemplars_t *a, const otlp_exemplars_t *b)
{
    CHK(a->n == b->n);
    for (size_t i = 0; i < a->n; i++) {
        const otlp_exemplar_t *x = &a->v[i], *y = &b->v[i];
        CHK(eq_attrs(&x->filtered_attrs, &y->filtered_attrs));
        CHK(x->time_unix_nano == y->time_unix_nano);
        CHK(x->is_int == y->is_int);
        CHK(x->is_int ? x->as_int == y->as_int : eq_dbl(x->as_double, y->as_double));
        CHK(eq_sid(&x->span_id, &y->span_id) && eq_tid(&x->trace_id, &y->trace_id));
    }
    return 1;
}
static int eq_u64s(otlp_u64s_t a, otlp_u64s_t b)
{
    CHK(a.n == b.n);
    for (size_t i = 0; i < a.n; i++)
        CHK(a.v[i] == b.v[i]);
    return 1;
}
static int eq_opt(int ha, double a, int hb, double b)
{
    return ha == hb && (!ha || eq_dbl(a, b));
}
static int eq_metric(const otlp_metric_t *a, const otlp_metric_t *b)
{
    CHK(eq_sl(a->name, b->name) && eq_sl(a->description, b->description));
    CHK(eq_sl(a->unit, b->unit));
    CHK(eq_attrs(&a->metadata, &b->metadata));
    CHK(a->type == b->type);
    CHK(a->temporality == b->temporality && a->is_monotonic == b->is_monotonic);
    switch (a->type) {
    case OTLP_METRIC_GAUGE:
    case OTLP_METRIC_SUM:
        CHK(a->points.number.n == b->points.number.n);
        for (size_t i = 0; i < a->points.number.n; i++) {
            const otlp_number_dp_t *x = &a->points.number.v[i], *y = &b->points.number.v[i];
            CHK(eq_attrs(&x->attrs, &y->attrs));
            CHK(x->start_time_unix_nano == y->start_time_unix_nano);
            CHK(x->time_unix_nano == y->time_unix_nano);
            CHK(x->is_int == y->is_int);
            CHK(x->is_int ? x->as_int == y->as_int : eq_dbl(x->as_double, y->as_double));
            CHK(eq_exemplars(&x->exemplars, &y->exemplars));
            CHK(x->flags == y->flags);
        }
        break;
    case OTLP_METRIC_HISTOGRAM:
        CHK(a->points.histogram.n == b->points.histogram.n);
        for (size_t i = 0; i < a->points.histogram.n; i++) {
            const otlp_histogram_dp_t *x = &a->points.histogram.v[i],
                                      *y = &b->points.histogram.v[i];
            CHK(eq_attrs(&x->attrs, &y->attrs));
            CHK(x->start_time_unix_nano == y->start_time_unix_nano);
            CHK(x->time_unix_nano == y->time_unix_nano && x->count == y->count);
            CHK(eq_opt(x->has_sum, x->sum, y->has_sum, y->sum));
            CHK(eq_opt(x->has_min, x->min, y->has_min, y->min));
            CHK(eq_opt(x->has_max, x->max, y->has_max, y->max));
            CHK(eq_u64s(x->bucket_counts, y->bucket_counts));
            CHK(x->explicit_bounds.n == y->explicit_bounds.n);
            for (size_t k = 0; k < x->explicit_bounds.n; k++)
                CHK(eq_dbl(x->explicit_bounds.v[k], y->explicit_bounds.v[k]));
            CHK(eq_exemplars(&x->exemplars, &y->exemplars));
            CHK(x->flags == y->flags);
        }
        break;
    case OTLP_METRIC_EXP_HISTOGRAM:
        CHK(a->points.exp_histogram.n == b->points.exp_histogram.n);
        for (size_t i = 0; i < a->points.exp_histogram.n; i++) {
            const otlp_exp_histogram_dp_t *x = &a->points.exp_histogram.v[i],
                                          *y = &b->points.exp_histogram.v[i];
            CHK(eq_attrs(&x->attrs, &y->attrs));
            CHK(x->start_time_unix_nano == y->start_time_unix_nano);
            CHK(x->time_unix_nano == y->time_unix_nano && x->count == y->count);
            CHK(eq_opt(x->has_sum, x->sum, y->has_sum, y->sum));
            CHK(eq_opt(x->has_min, x->min, y->has_min, y->min));
            CHK(eq_opt(x->has_max, x->max, y->has_max, y->max));
            CHK(x->scale == y->scale && x->zero_count == y->zero_count);
            CHK(eq_dbl(x->zero_threshold, y->zero_threshold));
            CHK(x->positive.offset == y->positive.offset);
            CHK(eq_u64s(x->positive.bucket_counts, y->positive.bucket_counts));
            CHK(x->negative.offset == y->negative.offset);
            CHK(eq_u64s(x->negative.bucket_counts, y->negative.bucket_counts));
            CHK(eq_exemplars(&x->exemplars, &y->exemplars));
            CHK(x->flags == y->flags);
        }
        break;
    case OTLP_METRIC_SUMMARY:
        CHK(a->points.summary.n == b->points.summary.n);
        for (size_t i = 0; i < a->points.summary.n; i++) {
            const otlp_summary_dp_t *x = &a->points.summary.v[i], *y = &b->points.summary.v[i];
            CHK(eq_attrs(&x->attrs, &y->attrs));
            CHK(x->start_time_unix_nano == y->start_time_unix_nano);
            CHK(x->time_unix_nano == y->time_unix_nano && x->count == y->count);
            CHK(eq_dbl(x->sum, y->sum));
            CHK(x->n_quantiles == y->n_quantiles);
            for (size_t k = 0; k < x->n_quantiles; k++)
                CHK(eq_dbl(x->quantiles[k].quantile, y->quantiles[k].quantile) &&
                    eq_dbl(x->quantiles[k].value, y->quantiles[k].value));
            CHK(x->flags == y->flags);
        }
        break;
    }
    return 1;
}
static int eq_metrics(const otlp_metrics_t *a, const otlp_metrics_t *b)
{
    CHK(a->n_resource_metrics == b->n_resource_metrics && a->n_items == b->n_items);
    for (size_t i = 0; i < a->n_resource_metrics; i++) {
        const otlp_resource_metrics_t *x = &a->resource_metrics[i], *y = &b->resource_metrics[i];
        CHK(eq_resource(&x->resource, &y->resource) && eq_sl(x->schema_url, y->schema_url));
        CHK(x->n_scope_metrics == y->n_scope_metrics);
        for (size_t j = 0; j < x->n_scope_metrics; j++) {
            const otlp_scope_metrics_t *p = &x->scope_metrics[j], *q = &y->scope_metrics[j];
            CHK(eq_scope(&p->scope, &q->scope) && eq_sl(p->schema_url, q->schema_url));
            CHK(p->n_metrics == q->n_metrics);
            for (size_t k = 0; k < p->n_metrics; k++)
                CHK(eq_metric(&p->metrics[k], &q->metrics[k]));
        }
    }
    return 1;
}
static int eq_logs(const otlp_logs_t *a, const otlp_logs_t *b)
{
    CHK(a->n_resource_logs == b->n_resource_logs && a->n_items == b->n_items);
    for (size_t i = 0; i < a->n_resource_logs; i++) {
        const otlp_resource_logs_t *x = &a->resource_logs[i], *y = &b->resource_logs[i];
        CHK(eq_resource(&x->resource, &y->resource) && eq_sl(x->schema_url, y->schema_url));
        CHK(x->n_scope_logs == y->n_scope_logs);
        for (size_t j = 0; j < x->n_scope_logs; j++) {
            const otlp_scope_logs_t *p = &x->scope_logs[j], *q = &y->scope_logs[j];
            CHK(eq_scope(&p->scope, &q->scope) && eq_sl(p->schema_url, q->schema_url));
            CHK(p->n_log_records == q->n_log_records);
            for (size_t k = 0; k < p->n_log_records; k++) {
                const otlp_log_record_t *r = &p->log_records[k], *s = &q->log_records[k];
                CHK(r->time_unix_nano == s->time_unix_nano);
                CHK(r->observed_time_unix_nano == s->observed_time_unix_nano);
                CHK(r->severity_number == s->severity_number);
                CHK(eq_sl(r->severity_text, s->severity_text));
                CHK(eq_any(&r->body, &s->body));
                CHK(eq_attrs(&r->attrs, &s->attrs));
                CHK(r->dropped_attributes_count == s->dropped_attributes_count);
                CHK(r->flags == s->flags);
                CHK(eq_tid(&r->trace_id, &s->trace_id) && eq_sid(&r->span_id, &s->span_id));
                CHK(eq_sl(r->event_name, s->event_name));
            }
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- helpers ---------- */

/* decode + scan of one signal; checks that they agree and returns decode's rc */
typedef struct {
    int rc;
    size_t items, rejected;
    const char *msg;
} res_t;

static res_t run_decode(enum otlp_signal sig, slice_t body, arena_t *a)
{
    res_t r;
    otlp_traces_t t;
    otlp_metrics_t m;
    otlp_logs_t l;
    switch (sig) {
    case OTLP_TRACES:
        r.rc = otlp_pb_decode_traces(body, a, &t);
        r.items = t.n_items;
        r.rejected = t.rejected;
        r.msg = t.reject_msg;
        break;
    case OTLP_METRICS:
        r.rc = otlp_pb_decode_metrics(body, a, &m);
        r.items = m.n_items;
        r.rejected = m.rejected;
        r.msg = m.reject_msg;
        break;
    default:
        r.rc = otlp_pb_decode_logs(body, a, &l);
        r.items = l.n_items;
        r.rejected = l.rejected;
        r.msg = l.reject_msg;
    }
    return r;
}

static res_t decode_and_scan(enum otlp_signal sig, slice_t body)
{
    arena_t *a = arena_create(64 * 1024, 0);
    assert_non_null(a);
    res_t r = run_decode(sig, body, a);
    otlp_scan_t sc;
    int src = otlp_pb_scan(sig, body, &sc);
    assert_int_equal(r.rc, src);
    if (r.rc == 0) {
        assert_int_equal(r.items, sc.n_items);
        assert_int_equal(r.rejected, sc.rejected);
        assert_true(r.msg == sc.reject_msg);
    } else {
        /* both explain; the text may name a different level (see otlp_pb.h) */
        assert_non_null(r.msg);
        assert_non_null(sc.reject_msg);
    }
    arena_destroy(a);
    return r;
}

/* a trace request holding the given span bytes in one resource/scope */
static void wrap_spans(buf_t *out, const buf_t *spans)
{
    pb_writer_t w;
    pb_writer_init(&w, out);
    size_t m1 = pb_w_begin(&w, 1);
    size_t m2 = pb_w_begin(&w, 2);
    pb_w_raw(&w, spans->data, spans->len);
    pb_w_end(&w, m2);
    pb_w_end(&w, m1);
    assert_int_equal(w.err, 0);
}

/* append a Span (field 2 of ScopeSpans) with valid ids and one attribute whose bytes are
 * `kv` (a KeyValue message), or none if kv is NULL */
static void add_span(buf_t *spans, const buf_t *kv, int tid_len, int sid_len)
{
    pb_writer_t w;
    uint8_t id[32];
    memset(id, 0xab, sizeof(id));
    pb_writer_init(&w, spans);
    size_t m = pb_w_begin(&w, 2);
    pb_w_bytes(&w, 1, id, (size_t)tid_len);
    pb_w_bytes(&w, 2, id, (size_t)sid_len);
    pb_w_bytes(&w, 5, "span", 4);
    if (kv)
        pb_w_bytes(&w, 9, kv->data, kv->len);
    pb_w_end(&w, m);
    assert_int_equal(w.err, 0);
}

/* ---------------------------------------------------------------- tests ------------ */

static void test_wire_varint(void **state)
{
    (void)state;
    static const uint64_t vals[] = {
        0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (1ull << 56) + 3, UINT64_MAX};
    buf_t b;
    buf_init(&b, 1024);
    pb_writer_t w;
    pb_writer_init(&w, &b);
    for (size_t i = 0; i < N(vals); i++)
        pb_w_varint(&w, vals[i]);
    assert_int_equal(w.err, 0);
    pb_reader_t r = pb_reader(buf_slice(&b));
    for (size_t i = 0; i < N(vals); i++) {
        uint64_t v;
        assert_int_equal(pb_read_varint(&r, &v), 0);
        assert_true(v == vals[i]);
    }
    assert_false(pb_more(&r));
    buf_free(&b);

    /* 11 bytes: overlong */
    static const uint8_t over[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                   0x80, 0x80, 0x80, 0x80, 0x01};
    uint64_t v;
    r = pb_reader(slice_make(over, sizeof(over)));
    assert_int_equal(pb_read_varint(&r, &v), ORASI_EPARSE);
    /* 10 bytes whose last byte carries more than the 64th bit: overflow */
    static const uint8_t ovf[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    r = pb_reader(slice_make(ovf, sizeof(ovf)));
    assert_int_equal(pb_read_varint(&r, &v), ORASI_EPARSE);
    /* truncated */
    r = pb_reader(slice_make(over, 3));
    assert_int_equal(pb_read_varint(&r, &v), ORASI_EPARSE);
    /* zigzag */
    assert_int_equal(pb_zigzag_dec32(pb_zigzag_enc32(-3)), -3);
    assert_true(pb_zigzag_dec64(pb_zigzag_enc64(INT64_MIN)) == INT64_MIN);
    assert_int_equal(pb_zigzag_enc32(-1), 1);
    /* field 0, groups, wire types 6/7 */
    static const uint8_t tags[][1] = {{0x00}, {0x0b}, {0x0c}, {0x0e}, {0x0f}};
    for (size_t i = 0; i < N(tags); i++) {
        uint32_t f, wt;
        r = pb_reader(slice_make(tags[i], 1));
        assert_int_equal(pb_read_tag(&r, &f, &wt), ORASI_EPARSE);
    }
    /* skip refuses lengths past the end */
    static const uint8_t lenpast[] = {0x05, 'a'};
    r = pb_reader(slice_make(lenpast, 2));
    assert_int_equal(pb_skip(&r, PB_WT_LEN), ORASI_EPARSE);
}

static void test_writer_cap_and_backpatch(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1 << 16);
    pb_writer_t w;
    pb_writer_init(&w, &b);
    uint8_t big[300];
    memset(big, 'z', sizeof(big));
    size_t m = pb_w_begin(&w, 3);
    pb_w_bytes(&w, 1, big, sizeof(big)); /* body > 127: the length takes 2 bytes */
    pb_w_end(&w, m);
    assert_int_equal(w.err, 0);
    pb_reader_t r = pb_reader(buf_slice(&b));
    uint32_t f, wt;
    slice_t s = {NULL, 0}, inner = {NULL, 0};
    assert_int_equal(pb_read_tag(&r, &f, &wt), 0);
    assert_int_equal(f, 3);
    assert_int_equal(pb_read_bytes(&r, &s), 0);
    assert_false(pb_more(&r));
    pb_reader_t r2 = pb_reader(s);
    assert_int_equal(pb_read_tag(&r2, &f, &wt), 0);
    assert_int_equal(pb_read_bytes(&r2, &inner), 0);
    assert_int_equal(inner.len, 300);
    assert_memory_equal(inner.p, big, 300);
    buf_free(&b);

    /* the cap turns into a sticky ORASI_ETOOBIG */
    buf_init(&b, 16);
    pb_writer_init(&w, &b);
    pb_w_bytes(&w, 1, big, 20);
    pb_w_uint(&w, 2, 1);
    assert_int_equal(w.err, ORASI_ETOOBIG);
    build_traces();
    assert_int_equal(otlp_pb_encode_traces(&T, &b), ORASI_ETOOBIG);
    buf_free(&b);
}

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        {"", 1},
        {"plain ascii, longer than eight bytes", 1},
        {"h\xc3\xa9llo", 1},
        {"\xe2\x9c\x93 check", 1},
        {"\xf0\x9d\x84\x9e clef", 1},
        {"\xf4\x8f\xbf\xbf", 1},     /* U+10FFFF */
        {"abc\x80", 0},              /* stray continuation */
        {"\xc0\xaf", 0},             /* overlong '/' */
        {"\xe0\x80\xaf", 0},         /* overlong 3-byte */
        {"\xed\xa0\x80", 0},         /* surrogate */
        {"\xf4\x90\x80\x80", 0},     /* > U+10FFFF */
        {"\xf8\x88\x80\x80\x80", 0}, /* 5-byte form */
        {"abcdefgh\xc3", 0},         /* truncated after the fast path */
        {"abcdefghijklmno\xe2\x9c", 0},
    };
    for (size_t i = 0; i < N(cases); i++)
        assert_int_equal(otlp_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s)),
                         cases[i].ok);
}

/* Encode `in` into *b (initialised here) and decode it into *got from arena a: every item
 * accepted and equal to what was encoded, and encoding the decoded model gives the same
 * bytes again. */
static void traces_roundtrip(const otlp_traces_t *in, buf_t *b, arena_t *a, otlp_traces_t *got)
{
    buf_t b2;
    buf_init(b, MAXBODY);
    buf_init(&b2, MAXBODY);
    assert_int_equal(otlp_pb_encode_traces(in, b), 0);
    assert_int_equal(otlp_pb_decode_traces(buf_slice(b), a, got), 0);
    assert_int_equal(got->n_items, in->n_items);
    assert_int_equal(got->rejected, 0);
    assert_null(got->reject_msg);
    fails = 0;
    assert_true(eq_traces(in, got));
    assert_int_equal(otlp_pb_encode_traces(got, &b2), 0);
    assert_int_equal(b->len, b2.len);
    assert_memory_equal(b->data, b2.data, b->len);
    buf_free(&b2);
}

static void test_roundtrip_traces(void **state)
{
    (void)state;
    build_traces();
    buf_t b;
    arena_t *a = arena_create(4096, 0);
    otlp_traces_t got;
    traces_roundtrip(&T, &b, a, &got);
    assert_int_equal(got.n_items, 3);
    /* zero copy: strings point into the request body */
    slice_t name = got.resource_spans[0].scope_spans[0].spans[0].name;
    assert_true(name.p > b.data && name.p < b.data + b.len);
    res_t r = decode_and_scan(OTLP_TRACES, buf_slice(&b));
    assert_int_equal(r.items, 3);
    arena_destroy(a);
    buf_free(&b);
}

/* A span's attribute, event and link arrays grow as they are decoded (one pass, the first
 * guess is the previous span's attribute count): counts below, at and past every guess and
 * doubling come back whole and in order. */
static void test_span_arrays_grow(void **state)
{
    (void)state;
    static const size_t nattrs[] = {2, 19, 1, 40, 8, 9, 0, 17};
    enum { NS = sizeof(nattrs) / sizeof(nattrs[0]), MAXA = 40 };
    static otlp_kv_t kvs[NS][MAXA];
    static char keys[NS][MAXA][16];
    static otlp_event_t evs[7];
    static otlp_link_t lns[3];
    static otlp_span_t spans[NS];
    memset(spans, 0, sizeof(spans));
    for (size_t i = 0; i < NS; i++) {
        for (size_t k = 0; k < nattrs[i]; k++) {
            snprintf(keys[i][k], sizeof(keys[i][k]), "k%zu.%zu", i, k);
            kvs[i][k] = (otlp_kv_t){slice_cstr(keys[i][k]), I((int64_t)(i * 100 + k))};
        }
        set_tid(&spans[i].trace_id, (uint8_t)i);
        set_sid(&spans[i].span_id, (uint8_t)(i + 50));
        spans[i].attrs = (otlp_attrs_t){nattrs[i] ? kvs[i] : NULL, nattrs[i]};
    }
    for (size_t e = 0; e < N(evs); e++)
        evs[e] = (otlp_event_t){1000 + e, SLICE_LIT("ev"), {kvs[1], e}, 0};
    for (size_t l = 0; l < N(lns); l++) {
        memset(&lns[l], 0, sizeof(lns[l]));
        set_tid(&lns[l].trace_id, (uint8_t)(90 + l));
        set_sid(&lns[l].span_id, (uint8_t)(95 + l));
    }
    spans[3].events = evs;
    spans[3].n_events = N(evs);
    spans[3].links = lns;
    spans[3].n_links = N(lns);
    spans[5].events = evs;
    spans[5].n_events = 1;
    otlp_scope_spans_t ss = {.spans = spans, .n_spans = NS};
    otlp_resource_spans_t rs = {.scope_spans = &ss, .n_scope_spans = 1};
    otlp_traces_t in = {.resource_spans = &rs, .n_resource_spans = 1, .n_items = NS};
    buf_t b;
    arena_t *a = arena_create(4096, 0);
    otlp_traces_t got;
    traces_roundtrip(&in, &b, a, &got);
    const otlp_span_t *g = got.resource_spans[0].scope_spans[0].spans;
    for (size_t i = 0; i < NS; i++)
        assert_int_equal(g[i].attrs.n, nattrs[i]);
    assert_int_equal(g[3].n_events, N(evs));
    assert_int_equal(g[3].n_links, N(lns));
    assert_int_equal(g[3].events[6].attrs.n, 6);
    arena_destroy(a);
    buf_free(&b);
}

static void test_roundtrip_metrics(void **state)
{
    (void)state;
    build_metrics();
    buf_t b, b2;
    buf_init(&b, MAXBODY);
    buf_init(&b2, MAXBODY);
    assert_int_equal(otlp_pb_encode_metrics(&M, &b), 0);
    arena_t *a = arena_create(4096, 0);
    otlp_metrics_t got;
    assert_int_equal(otlp_pb_decode_metrics(buf_slice(&b), a, &got), 0);
    assert_int_equal(got.n_items, 7);
    assert_int_equal(got.rejected, 0);
    fails = 0;
    assert_true(eq_metrics(&M, &got));
    assert_int_equal(otlp_pb_encode_metrics(&got, &b2), 0);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    decode_and_scan(OTLP_METRICS, buf_slice(&b));
    arena_destroy(a);
    buf_free(&b);
    buf_free(&b2);
}

static void test_roundtrip_logs(void **state)
{
    (void)state;
    build_logs();
    buf_t b, b2;
    buf_init(&b, MAXBODY);
    buf_init(&b2, MAXBODY);
    assert_int_equal(otlp_pb_encode_logs(&L, &b), 0);
    arena_t *a = arena_create(4096, 0);
    otlp_logs_t got;
    assert_int_equal(otlp_pb_decode_logs(buf_slice(&b), a, &got), 0);
    assert_int_equal(got.n_items, 10);
    assert_int_equal(got.rejected, 0);
    fails = 0;
    assert_true(eq_logs(&L, &got));
    /* each AnyValue kind came back as that kind */
    const otlp_log_record_t *lr = got.resource_logs[0].scope_logs[0].log_records;
    static const uint8_t kinds[] = {OTLP_ANY_STRING, OTLP_ANY_BOOL,  OTLP_ANY_INT,
                                    OTLP_ANY_DOUBLE, OTLP_ANY_BYTES, OTLP_ANY_ARRAY,
                                    OTLP_ANY_KVLIST, OTLP_ANY_EMPTY, OTLP_ANY_STRING};
    for (size_t i = 0; i < N(kinds); i++)
        assert_int_equal(lr[i].body.type, kinds[i]);
    assert_int_equal(otlp_pb_encode_logs(&got, &b2), 0);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    decode_and_scan(OTLP_LOGS, buf_slice(&b));
    arena_destroy(a);
    buf_free(&b);
    buf_free(&b2);
}

static void test_empty_and_concatenation(void **state)
{
    (void)state;
    res_t r = decode_and_scan(OTLP_TRACES, slice_make(NULL, 0));
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.items, 0);
    /* two requests concatenated are one request holding both (DESIGN.md: batching) */
    build_traces();
    buf_t b;
    buf_init(&b, MAXBODY);
    assert_int_equal(otlp_pb_encode_traces(&T, &b), 0);
    size_t one = b.len;
    assert_int_equal(otlp_pb_encode_traces(&T, &b), 0);
    assert_int_equal(b.len, 2 * one);
    arena_t *a = arena_create(4096, 0);
    otlp_traces_t got;
    assert_int_equal(otlp_pb_decode_traces(buf_slice(&b), a, &got), 0);
    assert_int_equal(got.n_items, 6);
    assert_int_equal(got.n_resource_spans, 4);
    arena_destroy(a);
    buf_free(&b);
}

/* collects what otlp_pb_scan_resources reports */
typedef struct {
    slice_t fields[8];
    size_t items[8];
    int n;
} cb_acc_t;

static int collect_cb(void *arg, slice_t field, size_t items, size_t rejected)
{
    cb_acc_t *acc = arg;
    (void)rejected;
    if (acc->n >= 8)
        return ORASI_EFULL;
    acc->fields[acc->n] = field;
    acc->items[acc->n++] = items;
    return 0;
}

static void test_scan_resource_ranges(void **state)
{
    (void)state;
    build_traces();
    buf_t b;
    buf_init(&b, MAXBODY);
    assert_int_equal(otlp_pb_encode_traces(&T, &b), 0);
    cb_acc_t acc = {0};
    otlp_scan_t sc;
    assert_int_equal(otlp_pb_scan_resources(OTLP_TRACES, buf_slice(&b), &sc, collect_cb, &acc), 0);
    assert_int_equal(acc.n, 2);
    assert_int_equal(sc.n_resources, 2);
    assert_int_equal(acc.items[0], 2);
    assert_int_equal(acc.items[1], 1);
    /* the ranges tile the body, and each one alone is a valid request */
    assert_true(acc.fields[0].p == b.data);
    assert_true(acc.fields[0].p + acc.fields[0].len == acc.fields[1].p);
    assert_true(acc.fields[1].p + acc.fields[1].len == b.data + b.len);
    for (int i = 0; i < 2; i++) {
        res_t r = decode_and_scan(OTLP_TRACES, acc.fields[i]);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.items, acc.items[i]);
    }
    /* a callback error stops the scan with that error */
    acc.n = 8;
    assert_int_equal(otlp_pb_scan_resources(OTLP_TRACES, buf_slice(&b), &sc, collect_cb, &acc),
                     ORASI_EFULL);
    buf_free(&b);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t bytes[24];
        size_t len;
    } cases[] = {
        {"2 GB length prefix", {0x0a, 0x80, 0x80, 0x80, 0x80, 0x08, 0x12, 0x00}, 8},
        {"length past end", {0x0a, 0x05, 0x12, 0x00}, 4},
        {"overlong varint length",
         {0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
         12},
        {"overlong tag",
         {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
         12},
        {"top-level field 1 as varint", {0x08, 0x01}, 2},
        {"group start", {0x0b, 0x0c}, 2},
        {"wire type 7", {0x0f}, 1},
        {"field number 0", {0x02, 0x00}, 2},
        {"truncated tag", {0x80}, 1},
        {"truncated fixed64 unknown field", {0x79, 1, 2, 3}, 4},
        {"truncated fixed32 unknown field", {0x7d, 1, 2}, 3},
        /* ResourceSpans{ScopeSpans{Span{name(5) as varint}}} */
        {"span name with varint wire type", {0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x28, 0x01}, 8},
        /* ResourceSpans{ScopeSpans{Span{start_time(7) as varint}}} */
        {"span time with varint wire type", {0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x38, 0x01}, 8},
        /* ResourceSpans{resource(1) as fixed32} */
        {"resource as fixed32", {0x0a, 0x05, 0x0d, 1, 2, 3, 4}, 7},
        /* a sub-message whose inner length runs past its own end */
        {"inner length past outer end", {0x0a, 0x02, 0x12, 0x05, 0x12, 0x00, 0x00, 0x00, 0x00}, 9},
    };
    for (size_t i = 0; i < N(cases); i++) {
        for (int sig = OTLP_TRACES; sig <= OTLP_LOGS; sig++) {
            res_t r =
                decode_and_scan((enum otlp_signal)sig, slice_make(cases[i].bytes, cases[i].len));
            if (r.rc != ORASI_EPARSE && !(sig != OTLP_TRACES && i >= 11)) {
                fprintf(stderr, "case '%s' signal %d: rc %d\n", cases[i].what, sig, r.rc);
                fail();
            }
        }
    }
    /* the message says what was malformed */
    res_t r = decode_and_scan(OTLP_TRACES, slice_make(cases[11].bytes, cases[11].len));
    assert_non_null(strstr(r.msg, "Span"));

    /* every proper prefix of a valid request is either a valid request (cut between
     * top-level fields) or ORASI_EPARSE — never a crash, scan agreeing */
    build_traces();
    buf_t b;
    buf_init(&b, MAXBODY);
    assert_int_equal(otlp_pb_encode_traces(&T, &b), 0);
    size_t parse_errors = 0;
    for (size_t cut = 0; cut < b.len; cut++) {
        res_t rc = decode_and_scan(OTLP_TRACES, slice_make(b.data, cut));
        assert_true(rc.rc == 0 || rc.rc == ORASI_EPARSE);
        parse_errors += rc.rc == ORASI_EPARSE;
    }
    assert_true(parse_errors >= b.len - 2);
    buf_free(&b);
}

/* A repeated message field carrying the wrong wire type at every level of every signal:
 * the pre-pass counts nothing for it, so the decoder must reject it before it touches an
 * array slot (regression: a NULL array was written to). */
static void test_wrong_wire_type_every_level(void **state)
{
    (void)state;
    /* path of field numbers from the request down to the repeated field under test */
    static const struct {
        int sig;
        uint32_t path[6];
        int depth;
    } cases[] = {
        {OTLP_TRACES, {1}, 1},
        {OTLP_TRACES, {1, 2}, 2},
        {OTLP_TRACES, {1, 2, 2}, 3},
        {OTLP_TRACES, {1, 2, 2, 9}, 4},
        {OTLP_TRACES, {1, 2, 2, 11}, 4},
        {OTLP_TRACES, {1, 2, 2, 13}, 4},
        {OTLP_TRACES, {1, 1, 1}, 3},
        {OTLP_METRICS, {1}, 1},
        {OTLP_METRICS, {1, 2}, 2},
        {OTLP_METRICS, {1, 2, 2}, 3},
        {OTLP_METRICS, {1, 2, 2, 5}, 4},
        {OTLP_METRICS, {1, 2, 2, 5, 1}, 5},
        {OTLP_METRICS, {1, 2, 2, 9, 1}, 5},
        {OTLP_METRICS, {1, 2, 2, 11, 1}, 5},
        {OTLP_METRICS, {1, 2, 2, 10, 1}, 5},
        {OTLP_METRICS, {1, 2, 2, 12}, 4},
        {OTLP_LOGS, {1}, 1},
        {OTLP_LOGS, {1, 2}, 2},
        {OTLP_LOGS, {1, 2, 2}, 3},
        {OTLP_LOGS, {1, 2, 2, 6}, 4},
    };
    for (size_t i = 0; i < N(cases); i++) {
        for (int wt = 0; wt < 3; wt += 1) {
            if (wt == PB_WT_LEN)
                continue;
            buf_t cur, next;
            buf_init(&cur, 1024);
            pb_writer_t w;
            pb_writer_init(&w, &cur);
            /* the innermost: the repeated field with a scalar wire type */
            uint32_t last = cases[i].path[cases[i].depth - 1];
            if (wt == PB_WT_VARINT)
                pb_w_uint(&w, last, 1);
            else
                pb_w_fixed64(&w, last, 1);
            for (int lvl = cases[i].depth - 2; lvl >= 0; lvl--) {
                buf_init(&next, 1024);
                pb_writer_init(&w, &next);
                pb_w_bytes(&w, cases[i].path[lvl], cur.data, cur.len);
                buf_free(&cur);
                cur = next;
            }
            assert_int_equal(w.err, 0);
            res_t r = decode_and_scan((enum otlp_signal)cases[i].sig, buf_slice(&cur));
            if (r.rc != ORASI_EPARSE) {
                fprintf(stderr, "case %zu wt %d: rc %d\n", i, wt, r.rc);
                fail();
            }
            buf_free(&cur);
        }
    }
}

/* AnyValue nested `levels` deep in arrays (or kvlists) around a string */
static void nested_kv(buf_t *kv, int levels, int kvlist)
{
    buf_t cur, next;
    buf_init(&cur, MAXBODY);
    pb_writer_t w;
    pb_writer_init(&w, &cur);
    pb_w_bytes(&w, 1, "leaf", 4); /* AnyValue{string_value} */
    for (int i = 0; i < levels; i++) {
        buf_init(&next, MAXBODY);
        pb_writer_init(&w, &next);
        size_t m = pb_w_begin(&w, kvlist ? 6 : 5); /* AnyValue{array/kvlist} */
        if (kvlist) {
            size_t mk = pb_w_begin(&w, 1); /* KeyValue */
            pb_w_bytes(&w, 1, "k", 1);
            pb_w_bytes(&w, 2, cur.data, cur.len);
            pb_w_end(&w, mk);
        } else {
            pb_w_bytes(&w, 1, cur.data, cur.len); /* ArrayValue.values */
        }
        pb_w_end(&w, m);
        assert_int_equal(w.err, 0);
        buf_free(&cur);
        cur = next;
    }
    pb_writer_init(&w, kv);
    pb_w_bytes(&w, 1, "deep", 4);
    pb_w_bytes(&w, 2, cur.data, cur.len);
    assert_int_equal(w.err, 0);
    buf_free(&cur);
}

static void test_nesting_depth(void **state)
{
    (void)state;
    static const struct {
        int levels, kvlist, rejected;
    } cases[] = {
        {100, 0, 1},
        {100, 1, 1},
        {1000, 0, 1},
        {OTLP_MAX_ANY_DEPTH - 1, 0, 0},
        {OTLP_MAX_ANY_DEPTH, 0, 1},
        {OTLP_MAX_ANY_DEPTH - 1, 1, 0},
        {OTLP_MAX_ANY_DEPTH, 1, 1},
    };
    for (size_t i = 0; i < N(cases); i++) {
        buf_t kv, spans, req;
        buf_init(&kv, MAXBODY);
        buf_init(&spans, MAXBODY);
        buf_init(&req, MAXBODY);
        nested_kv(&kv, cases[i].levels, cases[i].kvlist);
        add_span(&spans, &kv, 16, 8);
        add_span(&spans, NULL, 16, 8);
        wrap_spans(&req, &spans);
        res_t r = decode_and_scan(OTLP_TRACES, buf_slice(&req));
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.rejected, (size_t)cases[i].rejected);
        assert_int_equal(r.items, 2 - (size_t)cases[i].rejected);
        if (cases[i].rejected)
            assert_non_null(strstr(r.msg, "nested too deeply"));
        if (!cases[i].rejected) {
            /* the accepted deep value is really there, all levels */
            arena_t *a = arena_create(4096, 0);
            otlp_traces_t t;
            assert_int_equal(otlp_pb_decode_traces(buf_slice(&req), a, &t), 0);
            const otlp_any_t *v = &t.resource_spans[0].scope_spans[0].spans[0].attrs.v[0].value;
            for (int l = 0; l < cases[i].levels; l++) {
                assert_int_equal(v->type, cases[i].kvlist ? OTLP_ANY_KVLIST : OTLP_ANY_ARRAY);
                v = cases[i].kvlist ? &v->u.kvlist.v[0].value : &v->u.array.v[0];
            }
            assert_int_equal(v->type, OTLP_ANY_STRING);
            /* and the encoder writes it back */
            buf_t re;
            buf_init(&re, MAXBODY);
            assert_int_equal(otlp_pb_encode_traces(&t, &re), 0);
            buf_free(&re);
            arena_destroy(a);
        }
        buf_free(&kv);
        buf_free(&spans);
        buf_free(&req);
    }
    /* the encoder refuses to write what the decoder would reject */
    otlp_any_t chain[OTLP_MAX_ANY_DEPTH + 1];
    for (int i = 0; i < OTLP_MAX_ANY_DEPTH; i++)
        chain[i] = ARR(&chain[i + 1], 1);
    chain[OTLP_MAX_ANY_DEPTH] = S("leaf");
    otlp_log_record_t lr = {.body = chain[0]};
    otlp_scope_logs_t sl = {.log_records = &lr, .n_log_records = 1};
    otlp_resource_logs_t rl = {.scope_logs = &sl, .n_scope_logs = 1};
    otlp_logs_t l = {.resource_logs = &rl, .n_resource_logs = 1};
    buf_t b;
    buf_init(&b, MAXBODY);
    assert_int_equal(otlp_pb_encode_logs(&l, &b), ORASI_EDEPTH);
    buf_free(&b);
}

static void test_item_rejection(void **state)
{
    (void)state;
    /* trace id / span id lengths */
    static const struct {
        int tid, sid, rejected;
        const char *msg;
    } ids[] = {
        {16, 8, 0, NULL},       {15, 8, 1, "trace_id"}, {17, 8, 1, "trace_id"},
        {0, 8, 1, "trace_id"},  {16, 0, 1, "span_id"},  {16, 9, 1, "span_id"},
        {32, 8, 1, "trace_id"},
    };
    for (size_t i = 0; i < N(ids); i++) {
        buf_t spans, req;
        buf_init(&spans, MAXBODY);
        buf_init(&req, MAXBODY);
        add_span(&spans, NULL, 16, 8);
        add_span(&spans, NULL, ids[i].tid, ids[i].sid);
        add_span(&spans, NULL, 16, 8);
        wrap_spans(&req, &spans);
        res_t r = decode_and_scan(OTLP_TRACES, buf_slice(&req));
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.rejected, (size_t)ids[i].rejected);
        assert_int_equal(r.items, 3 - (size_t)ids[i].rejected);
        if (ids[i].msg)
            assert_non_null(strstr(r.msg, ids[i].msg));
        /* the rejected span is omitted from the model */
        arena_t *a = arena_create(4096, 0);
        otlp_traces_t t;
        assert_int_equal(otlp_pb_decode_traces(buf_slice(&req), a, &t), 0);
        assert_int_equal(t.resource_spans[0].scope_spans[0].n_spans, r.items);
        arena_destroy(a);
        buf_free(&spans);
        buf_free(&req);
    }

    /* invalid UTF-8 in a key, in a string value, in a nested kvlist key */
    static const char *const bad_kvs[][2] = {
        {"k\xff", "v"},
        {"k", "v\xc0\x80"},
        {"k", "\xed\xa0\x80"},
    };
    for (size_t i = 0; i < N(bad_kvs); i++) {
        buf_t kv, spans, req;
        buf_init(&kv, 1024);
        buf_init(&spans, MAXBODY);
        buf_init(&req, MAXBODY);
        pb_writer_t w;
        pb_writer_init(&w, &kv);
        pb_w_bytes(&w, 1, bad_kvs[i][0], strlen(bad_kvs[i][0]));
        size_t m = pb_w_begin(&w, 2);
        pb_w_bytes(&w, 1, bad_kvs[i][1], strlen(bad_kvs[i][1]));
        pb_w_end(&w, m);
        add_span(&spans, &kv, 16, 8);
        add_span(&spans, NULL, 16, 8);
        wrap_spans(&req, &spans);
        res_t r = decode_and_scan(OTLP_TRACES, buf_slice(&req));
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.rejected, 1);
        assert_int_equal(r.items, 1);
        assert_non_null(strstr(r.msg, "UTF-8"));
        buf_free(&kv);
        buf_free(&spans);
        buf_free(&req);
    }
    /* bytes values are not text: anything goes */
    {
        buf_t kv, spans, req;
        buf_init(&kv, 1024);
        buf_init(&spans, MAXBODY);
        buf_init(&req, MAXBODY);
        pb_writer_t w;
        pb_writer_init(&w, &kv);
        pb_w_bytes(&w, 1, "k", 1);
        size_t m = pb_w_begin(&w, 2);
        pb_w_bytes(&w, 7, "\xff\xfe", 2);
        pb_w_end(&w, m);
        add_span(&spans, &kv, 16, 8);
        wrap_spans(&req, &spans);
        res_t r = decode_and_scan(OTLP_TRACES, buf_slice(&req));
        assert_int_equal(r.rejected, 0);
        assert_int_equal(r.items, 1);
        buf_free(&kv);
        buf_free(&spans);
        buf_free(&req);
    }
}

static void test_inherited_rejection(void **state)
{
    (void)state;
    /* bad UTF-8 in a resource attribute rejects every span of that resource (wherever
     * the resource field sits in the message), not the other resource's spans */
    build_traces();
    static otlp_kv_t bad_attr[1];
    bad_attr[0] = KV("service.name", S("bad\xff"));
    t_rs[1].resource.attrs = (otlp_attrs_t){bad_attr, 1};
    buf_t b;
    buf_init(&b, MAXBODY);
    assert_int_equal(otlp_pb_encode_traces(&T, &b), 0);
    res_t r = decode_and_scan(OTLP_TRACES, buf_slice(&b));
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.items, 2);
    assert_int_equal(r.rejected, 1);
    assert_non_null(strstr(r.msg, "UTF-8"));
    arena_t *a = arena_create(4096, 0);
    otlp_traces_t t;
    assert_int_equal(otlp_pb_decode_traces(buf_slice(&b), a, &t), 0);
    assert_int_equal(t.resource_spans[1].scope_spans[0].n_spans, 0);
    assert_int_equal(t.resource_spans[0].scope_spans[0].n_spans, 2);
    arena_destroy(a);
    buf_free(&b);

    /* bad scope name: the spans of that scope */
    build_traces();
    t_ss1[0].scope.name = SLICE_LIT("sc\xc3");
    buf_init(&b, MAXBODY);
    assert_int_equal(otlp_pb_encode_traces(&T, &b), 0);
    r = decode_and_scan(OTLP_TRACES, buf_slice(&b));
    assert_int_equal(r.items, 1);
    assert_int_equal(r.rejected, 2);
    buf_free(&b);

    /* bad metric name: the points of that metric */
    build_metrics();
    m_metrics[2].name = SLICE_LIT("lat\xff");
    buf_init(&b, MAXBODY);
    assert_int_equal(otlp_pb_encode_metrics(&M, &b), 0);
    r = decode_and_scan(OTLP_METRICS, buf_slice(&b));
    assert_int_equal(r.items, 5);
    assert_int_equal(r.rejected, 2);
    assert_non_null(strstr(r.msg, "metric"));
    buf_free(&b);

    /* exemplar with a 3-byte span id: its data point */
    build_metrics();
    m_exemplars[1].span_id.len = 3;
    buf_init(&b, MAXBODY);
    assert_int_equal(otlp_pb_encode_metrics(&M, &b), 0);
    r = decode_and_scan(OTLP_METRICS, buf_slice(&b));
    assert_int_equal(r.rejected, 2); /* used by gauge point 0 and the exp histogram point */
    assert_int_equal(r.items, 5);
    assert_non_null(strstr(r.msg, "exemplar"));
    buf_free(&b);

    /* log record: 8-byte trace id, bad UTF-8 body */
    build_logs();
    l_recs[9].trace_id.len = 8;
    l_recs[0].body = S("\xff");
    buf_init(&b, MAXBODY);
    assert_int_equal(otlp_pb_encode_logs(&L, &b), 0);
    r = decode_and_scan(OTLP_LOGS, buf_slice(&b));
    assert_int_equal(r.items, 8);
    assert_int_equal(r.rejected, 2);
    buf_free(&b);
}

static void test_unknown_fields_and_encodings(void **state)
{
    (void)state;
    /* unknown fields of every wire type, at every level, are skipped */
    uint8_t tid[16], sid[8];
    memset(tid, 1, 16);
    memset(sid, 2, 8);
    buf_t b;
    buf_init(&b, MAXBODY);
    pb_writer_t w;
    pb_writer_init(&w, &b);
#define UNKNOWN()                                                                                  \
    do {                                                                                           \
        pb_w_uint(&w, 900, 12345);                                                                 \
        pb_w_fixed64(&w, 901, 1);                                                                  \
        pb_w_bytes(&w, 902, "zz", 2);                                                              \
        pb_w_fixed32(&w, 903, 7);                                                                  \
    } while (0)
    UNKNOWN();
    size_t m1 = pb_w_begin(&w, 1);
    UNKNOWN();
    size_t m2 = pb_w_begin(&w, 2);
    UNKNOWN();
    size_t m3 = pb_w_begin(&w, 2);
    UNKNOWN();
    pb_w_bytes(&w, 1, tid, 16);
    pb_w_bytes(&w, 2, sid, 8);
    size_t m4 = pb_w_begin(&w, 9);
    UNKNOWN();
    pb_w_bytes(&w, 1, "k", 1);
    size_t m5 = pb_w_begin(&w, 2);
    UNKNOWN();
    pb_w_uint(&w, 3, 77);
    pb_w_end(&w, m5);
    pb_w_end(&w, m4);
    pb_w_end(&w, m3);
    pb_w_end(&w, m2);
    pb_w_end(&w, m1);
    assert_int_equal(w.err, 0);
    arena_t *a = arena_create(4096, 0);
    otlp_traces_t t;
    assert_int_equal(otlp_pb_decode_traces(buf_slice(&b), a, &t), 0);
    assert_int_equal(t.n_items, 1);
    const otlp_kv_t *kv = &t.resource_spans[0].scope_spans[0].spans[0].attrs.v[0];
    assert_int_equal(kv->value.type, OTLP_ANY_INT);
    assert_int_equal(kv->value.u.i64, 77);
    decode_and_scan(OTLP_TRACES, buf_slice(&b));

    /* histogram counts/bounds unpacked (one field per element) decode like packed ones */
    buf_clear(&b);
    pb_writer_init(&w, &b);
    m1 = pb_w_begin(&w, 1);
    m2 = pb_w_begin(&w, 2);
    m3 = pb_w_begin(&w, 2);
    pb_w_bytes(&w, 1, "h", 1);
    m4 = pb_w_begin(&w, 9);
    m5 = pb_w_begin(&w, 1);
    pb_w_fixed64(&w, 6, 5);
    uint64_t packed[2] = {6, 7};
    pb_w_bytes(&w, 6, packed, 16);
    pb_w_fixed64(&w, 6, 8);
    pb_w_double(&w, 7, 1.5);
    pb_w_double(&w, 7, 2.5);
    pb_w_end(&w, m5);
    pb_w_end(&w, m4);
    /* and exponential buckets with unpacked varints */
    m4 = pb_w_begin(&w, 10);
    m5 = pb_w_begin(&w, 1);
    size_t m6 = pb_w_begin(&w, 8);
    pb_w_uint(&w, 2, 300);
    pb_w_uint(&w, 2, 1);
    pb_w_end(&w, m6);
    pb_w_end(&w, m5);
    pb_w_end(&w, m4);
    pb_w_end(&w, m3);
    pb_w_end(&w, m2);
    pb_w_end(&w, m1);
    assert_int_equal(w.err, 0);
    otlp_metrics_t mm;
    assert_int_equal(otlp_pb_decode_metrics(buf_slice(&b), a, &mm), 0);
    /* the later data field (exponential histogram) replaces the histogram: a oneof */
    const otlp_metric_t *mt = &mm.resource_metrics[0].scope_metrics[0].metrics[0];
    assert_int_equal(mt->type, OTLP_METRIC_EXP_HISTOGRAM);
    assert_int_equal(mm.n_items, 1);
    assert_int_equal(mt->points.exp_histogram.v[0].positive.bucket_counts.n, 2);
    assert_int_equal(mt->points.exp_histogram.v[0].positive.bucket_counts.v[0], 300);
    decode_and_scan(OTLP_METRICS, buf_slice(&b));
    /* without the exponential histogram: the histogram with mixed encodings */
    buf_t b2;
    buf_init(&b2, MAXBODY);
    pb_writer_init(&w, &b2);
    m1 = pb_w_begin(&w, 1);
    m2 = pb_w_begin(&w, 2);
    m3 = pb_w_begin(&w, 2);
    m4 = pb_w_begin(&w, 9);
    m5 = pb_w_begin(&w, 1);
    pb_w_fixed64(&w, 6, 5);
    pb_w_bytes(&w, 6, packed, 16);
    pb_w_fixed64(&w, 6, 8);
    pb_w_double(&w, 7, 1.5);
    pb_w_end(&w, m5);
    pb_w_end(&w, m4);
    pb_w_end(&w, m3);
    pb_w_end(&w, m2);
    pb_w_end(&w, m1);
    assert_int_equal(otlp_pb_decode_metrics(buf_slice(&b2), a, &mm), 0);
    mt = &mm.resource_metrics[0].scope_metrics[0].metrics[0];
    assert_int_equal(mt->type, OTLP_METRIC_HISTOGRAM);
    const otlp_histogram_dp_t *hp = &mt->points.histogram.v[0];
    assert_int_equal(hp->bucket_counts.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(hp->bucket_counts.v[i], 5 + i);
    assert_int_equal(hp->explicit_bounds.n, 1);
    assert_true(hp->explicit_bounds.v[0] == 1.5);
    /* a packed fixed64 field whose length is not a multiple of 8 is malformed */
    buf_clear(&b2);
    pb_writer_init(&w, &b2);
    m1 = pb_w_begin(&w, 1);
    m2 = pb_w_begin(&w, 2);
    m3 = pb_w_begin(&w, 2);
    m4 = pb_w_begin(&w, 9);
    m5 = pb_w_begin(&w, 1);
    pb_w_bytes(&w, 6, packed, 12);
    pb_w_end(&w, m5);
    pb_w_end(&w, m4);
    pb_w_end(&w, m3);
    pb_w_end(&w, m2);
    pb_w_end(&w, m1);
    assert_int_equal(decode_and_scan(OTLP_METRICS, buf_slice(&b2)).rc, ORASI_EPARSE);
    buf_free(&b2);
    arena_destroy(a);
    buf_free(&b);
}

/* Every single-byte mutation of valid requests: decode and scan agree, nothing crashes,
 * and a decoded model re-encodes to a request that decodes with no rejections. */
static void test_mutations_agree(void **state)
{
    (void)state;
    buf_t bodies[3];
    for (int i = 0; i < 3; i++)
        buf_init(&bodies[i], MAXBODY);
    build_traces();
    assert_int_equal(otlp_pb_encode_traces(&T, &bodies[0]), 0);
    build_metrics();
    assert_int_equal(otlp_pb_encode_metrics(&M, &bodies[1]), 0);
    build_logs();
    assert_int_equal(otlp_pb_encode_logs(&L, &bodies[2]), 0);
    static const uint8_t flips[] = {0x01, 0x80, 0xff, 0x7f};
    size_t ok = 0, perr = 0, rejected = 0;
    arena_t *a = arena_create(64 * 1024, 0);
    buf_t re;
    buf_init(&re, MAXBODY);
    for (int sig = 0; sig < 3; sig++) {
        buf_t *b = &bodies[sig];
        for (size_t pos = 0; pos < b->len; pos++) {
            for (size_t f = 0; f < N(flips); f++) {
                uint8_t saved = b->data[pos];
                b->data[pos] ^= flips[f];
                res_t r = decode_and_scan((enum otlp_signal)sig, buf_slice(b));
                assert_true(r.rc == 0 || r.rc == ORASI_EPARSE);
                if (r.rc == 0) {
                    ok++;
                    rejected += r.rejected > 0;
                    /* re-encode the accepted part: it must be fully acceptable */
                    arena_reset(a);
                    buf_clear(&re);
                    otlp_traces_t t;
                    otlp_metrics_t m;
                    otlp_logs_t l;
                    int rc;
                    if (sig == 0) {
                        assert_int_equal(otlp_pb_decode_traces(buf_slice(b), a, &t), 0);
                        rc = otlp_pb_encode_traces(&t, &re);
                    } else if (sig == 1) {
                        assert_int_equal(otlp_pb_decode_metrics(buf_slice(b), a, &m), 0);
                        rc = otlp_pb_encode_metrics(&m, &re);
                    } else {
                        assert_int_equal(otlp_pb_decode_logs(buf_slice(b), a, &l), 0);
                        rc = otlp_pb_encode_logs(&l, &re);
                    }
                    assert_int_equal(rc, 0);
                    res_t r2 = decode_and_scan((enum otlp_signal)sig, buf_slice(&re));
                    assert_int_equal(r2.rc, 0);
                    assert_int_equal(r2.rejected, 0);
                    assert_int_equal(r2.items, r.items);
                } else {
                    perr++;
                }
                b->data[pos] = saved;
            }
        }
    }
    /* the mutations exercised all three outcomes */
    assert_true(ok > 100);
    assert_true(perr > 100);
    assert_true(rejected > 10);
    buf_free(&re);
    arena_destroy(a);
    for (int i = 0; i < 3; i++)
        buf_free(&bodies[i]);
}

static void test_arena_cap(void **state)
{
    (void)state;
    build_traces();
    buf_t b;
    buf_init(&b, MAXBODY);
    assert_int_equal(otlp_pb_encode_traces(&T, &b), 0);
    arena_t *a = arena_create(256, 512); /* far too small for the model */
    otlp_traces_t t;
    assert_int_equal(otlp_pb_decode_traces(buf_slice(&b), a, &t), ORASI_ENOMEM);
    arena_destroy(a);
    assert_int_equal(otlp_pb_decode_traces(buf_slice(&b), NULL, &t), ORASI_EINVAL);
    buf_free(&b);
}

/* Worst-case amplification bodies decode within otlp_pb_arena_cap_hint(len). */
static void test_arena_cap_hint(void **state)
{
    (void)state;
    /* a span of 2 bytes each (rejected: no ids, but its slot is sized by the pre-pass);
     * an accepted span with empty attributes; an exponential histogram of empty points */
    static const uint8_t shapes[][3] = {{0x12, 0x00, 0}, {0x4a, 0x00, 0}, {0x0a, 0x00, 0}};
    for (int k = 0; k < 3; k++) {
        buf_t inner, mid, req;
        buf_init(&inner, MAXBODY);
        buf_init(&mid, MAXBODY);
        buf_init(&req, MAXBODY);
        pb_writer_t w;
        pb_writer_init(&w, &inner);
        uint8_t id[16];
        memset(id, 7, sizeof(id));
        if (k == 1) {
            pb_w_bytes(&w, 1, id, 16);
            pb_w_bytes(&w, 2, id, 8);
        }
        for (int i = 0; i < 20000; i++)
            pb_w_raw(&w, shapes[k], 2);
        pb_writer_init(&w, &mid);
        if (k == 0) {
            pb_w_raw(&w, inner.data, inner.len); /* spans directly in ScopeSpans */
        } else if (k == 1) {
            pb_w_bytes(&w, 2, inner.data, inner.len); /* one span full of attributes */
        } else {
            size_t m = pb_w_begin(&w, 2);              /* Metric */
            pb_w_bytes(&w, 10, inner.data, inner.len); /* ExponentialHistogram */
            pb_w_end(&w, m);
        }
        pb_writer_init(&w, &req);
        size_t m1 = pb_w_begin(&w, 1);
        pb_w_bytes(&w, 2, mid.data, mid.len);
        pb_w_end(&w, m1);
        assert_int_equal(w.err, 0);
        enum otlp_signal sig = k == 2 ? OTLP_METRICS : OTLP_TRACES;
        /* small and large chunks (the lake sink uses 1 MiB chunks) */
        static const size_t chunks[] = {4096, 64 * 1024, 1 << 20};
        for (size_t c = 0; c < N(chunks); c++) {
            size_t cap = otlp_pb_arena_cap_hint(req.len, chunks[c]);
            arena_t *a = arena_create(chunks[c], cap);
            res_t r = run_decode(sig, buf_slice(&req), a);
            assert_int_equal(r.rc, 0);
            assert_int_equal(r.items + r.rejected, k == 1 ? 1 : 20000);
            assert_true(arena_used(a) <= cap);
            arena_destroy(a);
        }
        arena_t *a;
        /* and a much smaller cap really is too small (the hint is not vacuous) */
        a = arena_create(64 * 1024, req.len * 4);
        assert_int_equal(run_decode(sig, buf_slice(&req), a).rc, ORASI_ENOMEM);
        arena_destroy(a);
        buf_free(&inner);
        buf_free(&mid);
        buf_free(&req);
    }
    assert_true(otlp_pb_arena_cap_hint(SIZE_MAX, 4096) == SIZE_MAX);
    assert_true(otlp_pb_arena_cap_hint(10, SIZE_MAX) == SIZE_MAX);
}

/* Fail every allocation in turn: a clean ORASI_ENOMEM each time, nothing leaked (ASan). */
static void test_alloc_failure(void **state)
{
    (void)state;
    buf_t bodies[3];
    for (int i = 0; i < 3; i++)
        buf_init(&bodies[i], MAXBODY);
    build_traces();
    assert_int_equal(otlp_pb_encode_traces(&T, &bodies[0]), 0);
    build_metrics();
    assert_int_equal(otlp_pb_encode_metrics(&M, &bodies[1]), 0);
    build_logs();
    assert_int_equal(otlp_pb_encode_logs(&L, &bodies[2]), 0);
    for (int sig = 0; sig < 3; sig++) {
        long n;
        int rc = -1;
        for (n = 0; n < 10000; n++) {
            orasi_alloc_fail_after(n);
            /* tiny chunks: many allocations, so failure hits every level */
            arena_t *a = arena_create(128, 0);
            if (a) {
                rc = run_decode((enum otlp_signal)sig, buf_slice(&bodies[sig]), a).rc;
                arena_destroy(a);
            } else {
                rc = ORASI_ENOMEM;
            }
            orasi_alloc_fail_after(-1);
            if (rc == 0)
                break;
            assert_int_equal(rc, ORASI_ENOMEM);
        }
        assert_int_equal(rc, 0);
        assert_true(n > 5);
        /* the encoder, too */
        for (n = 0; n < 10000; n++) {
            buf_t out;
            buf_init(&out, MAXBODY);
            orasi_alloc_fail_after(n);
            if (sig == 0)
                rc = otlp_pb_encode_traces(&T, &out);
            else if (sig == 1)
                rc = otlp_pb_encode_metrics(&M, &out);
            else
                rc = otlp_pb_encode_logs(&L, &out);
            orasi_alloc_fail_after(-1);
            buf_free(&out);
            if (rc == 0)
                break;
            assert_int_equal(rc, ORASI_ENOMEM);
        }
        assert_int_equal(rc, 0);
    }
    for (int i = 0; i < 3; i++)
        buf_free(&bodies[i]);
}

/* read one field of a tiny message: returns its slice or value */
static int find_field(slice_t msg, uint32_t want, uint64_t *v, slice_t *s)
{
    pb_reader_t r = pb_reader(msg);
    while (pb_more(&r)) {
        uint32_t f, wt;
        if (pb_read_tag(&r, &f, &wt) < 0)
            return -1;
        if (f == want && wt == PB_WT_VARINT)
            return pb_read_varint(&r, v) < 0 ? -1 : 1;
        if (f == want && wt == PB_WT_LEN)
            return pb_read_bytes(&r, s) < 0 ? -1 : 1;
        if (pb_skip(&r, wt) < 0)
            return -1;
    }
    return 0;
}

static void test_responses(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 4096);
    /* nothing rejected: the empty message */
    assert_int_equal(otlp_pb_encode_export_response(OTLP_TRACES, 0, slice_make(NULL, 0), &b), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(otlp_pb_encode_export_response(OTLP_LOGS, 3, SLICE_LIT("bad ids"), &b), 0);
    uint64_t v = 0;
    slice_t ps = {0}, msg = {0};
    assert_int_equal(find_field(buf_slice(&b), 1, &v, &ps), 1);
    assert_int_equal(find_field(ps, 1, &v, &msg), 1);
    assert_int_equal(v, 3);
    assert_int_equal(find_field(ps, 2, &v, &msg), 1);
    assert_true(slice_eq_cstr(msg, "bad ids"));
    assert_int_equal(otlp_pb_encode_export_response(7, 1, msg, &b), ORASI_EINVAL);

    /* google.rpc.Status with RetryInfo{retry_delay: 2.5 s} */
    buf_clear(&b);
    assert_int_equal(otlp_pb_encode_grpc_status_details(8, "queue full", 2500, &b), 0);
    slice_t any = {0}, url = {0}, ri = {0}, dur = {0};
    assert_int_equal(find_field(buf_slice(&b), 1, &v, &msg), 1);
    assert_int_equal(v, 8);
    assert_int_equal(find_field(buf_slice(&b), 2, &v, &msg), 1);
    assert_true(slice_eq_cstr(msg, "queue full"));
    assert_int_equal(find_field(buf_slice(&b), 3, &v, &any), 1);
    assert_int_equal(find_field(any, 1, &v, &url), 1);
    assert_true(slice_eq_cstr(url, "type.googleapis.com/google.rpc.RetryInfo"));
    assert_int_equal(find_field(any, 2, &v, &ri), 1);
    assert_int_equal(find_field(ri, 1, &v, &dur), 1);
    assert_int_equal(find_field(dur, 1, &v, &msg), 1);
    assert_int_equal(v, 2);
    assert_int_equal(find_field(dur, 2, &v, &msg), 1);
    assert_int_equal(v, 500000000);
    /* no delay: no details */
    buf_clear(&b);
    assert_int_equal(otlp_pb_encode_grpc_status_details(3, NULL, 0, &b), 0);
    assert_int_equal(find_field(buf_slice(&b), 3, &v, &any), 0);
    buf_free(&b);
}

/* Bodies captured from the real OpenTelemetry JS SDK (committed as fuzz seeds): decode
 * with nothing rejected, scan agrees, and the model survives encode → decode intact. */
static void test_sdk_bodies(void **state)
{
    (void)state;
    static const char *const names[3] = {"traces", "metrics", "logs"};
    const char *src = getenv("ORASI_SRC");
    for (int sig = 0; sig < 3; sig++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/fuzz/corpus/otlp_pb/sdk-%s.bin", src ? src : ".",
                 names[sig]);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        buf_t b, re;
        buf_init(&b, MAXBODY);
        buf_init(&re, MAXBODY);
        uint8_t chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            assert_int_equal(buf_append(&b, chunk, n), 0);
        fclose(f);
        res_t r = decode_and_scan((enum otlp_signal)sig, buf_slice(&b));
        assert_int_equal(r.rc, 0);
        assert_true(r.items >= 5);
        assert_int_equal(r.rejected, 0);
        arena_t *a = arena_create(4096, 0);
        otlp_traces_t t, t2;
        otlp_metrics_t m, m2;
        otlp_logs_t l, l2;
        fails = 0;
        if (sig == 0) {
            assert_int_equal(otlp_pb_decode_traces(buf_slice(&b), a, &t), 0);
            assert_int_equal(otlp_pb_encode_traces(&t, &re), 0);
            assert_int_equal(otlp_pb_decode_traces(buf_slice(&re), a, &t2), 0);
            assert_true(eq_traces(&t, &t2));
        } else if (sig == 1) {
            assert_int_equal(otlp_pb_decode_metrics(buf_slice(&b), a, &m), 0);
            assert_int_equal(otlp_pb_encode_metrics(&m, &re), 0);
            assert_int_equal(otlp_pb_decode_metrics(buf_slice(&re), a, &m2), 0);
            assert_true(eq_metrics(&m, &m2));
            /* the SDK sends every instrument kind we map: gauge, sum, histograms */
            int seen[OTLP_METRIC_SUMMARY + 1] = {0};
            const otlp_scope_metrics_t *sm = &m.resource_metrics[0].scope_metrics[0];
            for (size_t i = 0; i < sm->n_metrics; i++)
                seen[sm->metrics[i].type]++;
            assert_true(seen[OTLP_METRIC_GAUGE] && seen[OTLP_METRIC_SUM] &&
                        seen[OTLP_METRIC_HISTOGRAM] && seen[OTLP_METRIC_EXP_HISTOGRAM]);
        } else {
            assert_int_equal(otlp_pb_decode_logs(buf_slice(&b), a, &l), 0);
            assert_int_equal(otlp_pb_encode_logs(&l, &re), 0);
            assert_int_equal(otlp_pb_decode_logs(buf_slice(&re), a, &l2), 0);
            assert_true(eq_logs(&l, &l2));
        }
        arena_destroy(a);
        buf_free(&b);
        buf_free(&re);
    }
}

static void test_bench_runs(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(otlp_bench_decode(3, f), 0);
    fclose(f);
    assert_non_null(strstr(text, "decode:"));
    assert_non_null(strstr(text, "100 spans"));
    free(text); /* open_memstream memory comes from libc */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_varint),
        cmocka_unit_test(test_writer_cap_and_backpatch),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_roundtrip_traces),
        cmocka_unit_test(test_span_arrays_grow),
        cmocka_unit_test(test_roundtrip_metrics),
        cmocka_unit_test(test_roundtrip_logs),
        cmocka_unit_test(test_empty_and_concatenation),
        cmocka_unit_test(test_scan_resource_ranges),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_wrong_wire_type_every_level),
        cmocka_unit_test(test_nesting_depth),
        cmocka_unit_test(test_item_rejection),
        cmocka_unit_test(test_inherited_rejection),
        cmocka_unit_test(test_unknown_fields_and_encodings),
        cmocka_unit_test(test_mutations_agree),
        cmocka_unit_test(test_arena_cap),
        cmocka_unit_test(test_arena_cap_hint),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_sdk_bodies),
        cmocka_unit_test(test_bench_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
