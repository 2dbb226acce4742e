/* test_otlp_json.c — OTLP/JSON decoder and encoder (src/otlp/otlp_json.c): realistic
 * requests for each signal (tests/unit/data/otlp_json/), every AnyValue kind, number and
 * enum forms, snake_case names, item rejection vs. request errors, nesting, round trips,
 * the export response, and allocation failure at every step. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "otlp/otlp_json.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static char *read_data(const char *name, size_t *len)
{
    const char *root = getenv("ORASI_SRC");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/unit/data/otlp_json/%s", root ? root : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

static int seq(slice_t s, const char *c)
{
    return slice_eq_cstr(s, c);
}

static void hexeq(const uint8_t *id, size_t len, const char *hex)
{
    char buf[40];
    for (size_t i = 0; i < len; i++)
        snprintf(buf + 2 * i, 3, "%02x", id[i]);
    buf[2 * len] = '\0';
    assert_string_equal(buf, hex);
}

static const otlp_any_t *attr(const otlp_attrs_t *a, const char *key)
{
    for (size_t i = 0; i < a->n; i++)
        if (seq(a->v[i].key, key))
            return &a->v[i].value;
    fail_msg("attribute %s missing", key);
    return NULL;
}

/* ----------------------------------------------------------------- traces ---------- */

static void check_traces_example(const otlp_traces_t *t)
{
    assert_int_equal(t->n_items, 2);
    assert_int_equal(t->rejected, 0);
    assert_null(t->reject_msg);
    assert_int_equal(t->n_resource_spans, 1);
    const otlp_resource_spans_t *rs = &t->resource_spans[0];
    assert_true(seq(rs->schema_url, "https://opentelemetry.io/schemas/1.20.0"));
    assert_int_equal(rs->resource.attrs.n, 2);
    assert_int_equal(rs->resource.dropped_attributes_count, 1);
    assert_true(seq(attr(&rs->resource.attrs, "service.name")->u.str, "checkout"));
    assert_int_equal(attr(&rs->resource.attrs, "host.cpus")->u.i64, 8);
    assert_int_equal(rs->n_scope_spans, 1);
    const otlp_scope_spans_t *ss = &rs->scope_spans[0];
    assert_true(seq(ss->scope.name, "io.opentelemetry.http"));
    assert_true(seq(ss->scope.version, "1.2.3"));
    assert_int_equal(attr(&ss->scope.attrs, "scope.attr")->type, OTLP_ANY_BOOL);
    assert_int_equal(attr(&ss->scope.attrs, "scope.attr")->u.boolean, 1);
    assert_true(seq(ss->schema_url, "https://opentelemetry.io/schemas/1.21.0"));
    assert_int_equal(ss->n_spans, 2);

    const otlp_span_t *s = &ss->spans[0];
    assert_int_equal(s->trace_id.len, 16);
    hexeq(s->trace_id.id, 16, "5b8efff798038103d269b633813fc60c");
    assert_int_equal(s->span_id.len, 8);
    hexeq(s->span_id.id, 8, "eee19b7ec3c1b174");
    hexeq(s->parent_span_id.id, 8, "eee19b7ec3c1b173");
    assert_true(seq(s->trace_state, "rojo=00f067aa0ba902b7"));
    assert_int_equal(s->flags, 257);
    assert_true(seq(s->name, "GET /cart"));
    assert_int_equal(s->kind, OTLP_SPAN_KIND_SERVER);
    assert_true(s->start_time_unix_nano == 1544712660000000000ull);
    assert_true(s->end_time_unix_nano == 1544712661000000000ull);
    assert_int_equal(s->attrs.n, 7);
    assert_int_equal(s->dropped_attributes_count, 2);
    const otlp_any_t *v = attr(&s->attrs, "http.method");
    assert_int_equal(v->type, OTLP_ANY_STRING);
    assert_true(seq(v->u.str, "GET"));
    v = attr(&s->attrs, "http.status_code");
    assert_int_equal(v->type, OTLP_ANY_INT);
    assert_int_equal(v->u.i64, 200);
    v = attr(&s->attrs, "sampled.ratio");
    assert_int_equal(v->type, OTLP_ANY_DOUBLE);
    assert_true(v->u.f64 == 0.25);
    v = attr(&s->attrs, "payload");
    assert_int_equal(v->type, OTLP_ANY_BYTES);
    assert_int_equal(v->u.bytes.len, 4);
    assert_memory_equal(v->u.bytes.p, "\x00\x01\x02\xff", 4);
    v = attr(&s->attrs, "tags");
    assert_int_equal(v->type, OTLP_ANY_ARRAY);
    assert_int_equal(v->u.array.n, 3);
    assert_true(seq(v->u.array.v[0].u.str, "a"));
    assert_int_equal(v->u.array.v[1].type, OTLP_ANY_INT);
    assert_int_equal(v->u.array.v[1].u.i64, -3);
    assert_int_equal(v->u.array.v[2].type, OTLP_ANY_DOUBLE);
    assert_true(isnan(v->u.array.v[2].u.f64));
    v = attr(&s->attrs, "req");
    assert_int_equal(v->type, OTLP_ANY_KVLIST);
    assert_int_equal(v->u.kvlist.n, 2);
    assert_true(seq(v->u.kvlist.v[0].key, "id"));
    assert_true(seq(v->u.kvlist.v[0].value.u.str, "r-1"));
    const otlp_any_t *nested = &v->u.kvlist.v[1].value;
    assert_int_equal(nested->type, OTLP_ANY_KVLIST);
    assert_int_equal(nested->u.kvlist.n, 1);
    assert_int_equal(nested->u.kvlist.v[0].value.type, OTLP_ANY_BOOL);
    assert_int_equal(nested->u.kvlist.v[0].value.u.boolean, 0);
    assert_int_equal(attr(&s->attrs, "empty")->type, OTLP_ANY_EMPTY);

    assert_int_equal(s->n_events, 1);
    assert_true(s->events[0].time_unix_nano == 1544712660500000000ull);
    assert_true(seq(s->events[0].name, "cache miss"));
    assert_true(seq(attr(&s->events[0].attrs, "cache.key")->u.str, "c\xc3\xa9\n\"x\""));
    assert_int_equal(s->dropped_events_count, 3);
    assert_int_equal(s->n_links, 1);
    hexeq(s->links[0].trace_id.id, 16, "0102030405060708090a0b0c0d0e0f10");
    hexeq(s->links[0].span_id.id, 8, "1112131415161718");
    assert_true(seq(s->links[0].trace_state, "k=v"));
    assert_int_equal(s->links[0].attrs.n, 1);
    assert_int_equal(s->links[0].dropped_attributes_count, 4);
    assert_int_equal(s->links[0].flags, 1);
    assert_int_equal(s->dropped_links_count, 5);
    assert_int_equal(s->status.code, OTLP_STATUS_OK);
    assert_true(seq(s->status.message, "all good"));

    s = &ss->spans[1];
    assert_int_equal(s->parent_span_id.len, 0);
    assert_int_equal(s->kind, OTLP_SPAN_KIND_CLIENT);
    assert_int_equal(s->status.code, OTLP_STATUS_ERROR);
    assert_int_equal(s->status.message.len, 0);
    assert_int_equal(s->attrs.n, 0);
    assert_int_equal(s->n_events, 0);
}

static void test_traces_example(void **state)
{
    size_t len;
    char *body = read_data("traces.json", &len);
    arena_t *a = arena_create(0, 0);
    otlp_traces_t t;
    assert_int_equal(otlp_json_decode_traces(slice_make(body, len), a, &t), 0);
    /* the model owns its memory: wipe the body before checking */
    memset(body, 'X', len);
    free(body);
    check_traces_example(&t);
    arena_destroy(a);
}

static void check_metrics_example(const otlp_metrics_t *m)
{
    assert_int_equal(m->rejected, 0);
    assert_int_equal(m->n_items, 2 + 3 + 2 + 1 + 1);
    const otlp_scope_metrics_t *sm = &m->resource_metrics[0].scope_metrics[0];
    assert_int_equal(sm->n_metrics, 6);
    const otlp_metric_t *x = &sm->metrics[0];
    assert_true(seq(x->name, "my.counter"));
    assert_true(seq(x->unit, "1"));
    assert_true(seq(x->description, "I am a Counter"));
    assert_int_equal(x->type, OTLP_METRIC_SUM);
    assert_int_equal(x->temporality, OTLP_TEMPORALITY_DELTA);
    assert_int_equal(x->is_monotonic, 1);
    assert_int_equal(x->points.number.n, 2);
    const otlp_number_dp_t *p = &x->points.number.v[0];
    assert_int_equal(p->is_int, 0);
    assert_true(p->as_double == 5.0);
    assert_true(p->start_time_unix_nano == 1544712660300000000ull);
    assert_int_equal(p->attrs.n, 1);
    p = &x->points.number.v[1];
    assert_int_equal(p->is_int, 1);
    assert_int_equal(p->as_int, -7);
    assert_int_equal(p->flags, 1);
    assert_int_equal(p->exemplars.n, 1);
    assert_int_equal(p->exemplars.v[0].is_int, 1);
    assert_int_equal(p->exemplars.v[0].as_int, 3);
    assert_true(p->exemplars.v[0].time_unix_nano == 1544712660350000000ull);
    hexeq(p->exemplars.v[0].trace_id.id, 16, "5b8efff798038103d269b633813fc60c");
    hexeq(p->exemplars.v[0].span_id.id, 8, "eee19b7ec3c1b174");
    assert_int_equal(p->exemplars.v[0].filtered_attrs.n, 1);

    x = &sm->metrics[1];
    assert_int_equal(x->type, OTLP_METRIC_GAUGE);
    assert_int_equal(x->metadata.n, 1);
    assert_int_equal(x->points.number.n, 3);
    assert_true(isinf(x->points.number.v[0].as_double) && x->points.number.v[0].as_double > 0);
    assert_true(isinf(x->points.number.v[1].as_double) && x->points.number.v[1].as_double < 0);
    assert_true(x->points.number.v[2].as_double == -0.5);

    x = &sm->metrics[2];
    assert_int_equal(x->type, OTLP_METRIC_HISTOGRAM);
    assert_int_equal(x->temporality, OTLP_TEMPORALITY_CUMULATIVE);
    assert_int_equal(x->points.histogram.n, 2);
    const otlp_histogram_dp_t *h = &x->points.histogram.v[0];
    assert_int_equal(h->count, 3);
    assert_true(h->has_sum && h->sum == 3.5);
    assert_true(h->has_min && h->min == 0);
    assert_true(h->has_max && h->max == 2.75);
    assert_int_equal(h->bucket_counts.n, 3);
    assert_int_equal(h->bucket_counts.v[0] + h->bucket_counts.v[1] + h->bucket_counts.v[2], 3);
    assert_int_equal(h->explicit_bounds.n, 2);
    assert_true(h->explicit_bounds.v[1] == 2.5);
    assert_int_equal(h->exemplars.n, 1);
    assert_int_equal(h->exemplars.v[0].is_int, 0);
    assert_true(h->exemplars.v[0].as_double == 1.25);
    h = &x->points.histogram.v[1];
    assert_false(h->has_sum || h->has_min || h->has_max);

    x = &sm->metrics[3];
    assert_int_equal(x->type, OTLP_METRIC_EXP_HISTOGRAM);
    assert_int_equal(x->temporality, OTLP_TEMPORALITY_CUMULATIVE);
    const otlp_exp_histogram_dp_t *e = &x->points.exp_histogram.v[0];
    assert_int_equal(e->count, 10);
    assert_int_equal(e->scale, -2);
    assert_int_equal(e->zero_count, 1);
    assert_true(e->zero_threshold == 1e-9);
    assert_int_equal(e->positive.offset, -1);
    assert_int_equal(e->positive.bucket_counts.n, 2);
    assert_int_equal(e->positive.bucket_counts.v[1], 3);
    assert_int_equal(e->negative.offset, 4);
    assert_int_equal(e->negative.bucket_counts.v[0], 4);
    assert_true(e->has_min && e->min == -8 && e->has_max && e->max == 9);

    x = &sm->metrics[4];
    assert_int_equal(x->type, OTLP_METRIC_SUMMARY);
    const otlp_summary_dp_t *su = &x->points.summary.v[0];
    assert_int_equal(su->count, 4);
    assert_true(su->sum == 10);
    assert_int_equal(su->n_quantiles, 2);
    assert_true(su->quantiles[1].quantile == 0.99 && su->quantiles[1].value == 4);

    assert_int_equal(sm->metrics[5].type, OTLP_METRIC_NONE);
    assert_true(seq(sm->metrics[5].name, "no.data"));
}

static void test_metrics_example(void **state)
{
    size_t len;
    char *body = read_data("metrics.json", &len);
    arena_t *a = arena_create(0, 0);
    otlp_metrics_t m;
    assert_int_equal(otlp_json_decode_metrics(slice_make(body, len), a, &m), 0);
    free(body);
    check_metrics_example(&m);
    arena_destroy(a);
}

static void check_logs_example(const otlp_logs_t *l)
{
    assert_int_equal(l->n_items, 3);
    assert_int_equal(l->rejected, 0);
    const otlp_scope_logs_t *sl = &l->resource_logs[0].scope_logs[0];
    assert_int_equal(sl->n_log_records, 3);
    const otlp_log_record_t *r = &sl->log_records[0];
    assert_true(r->time_unix_nano == 1544712660300000000ull);
    assert_true(r->observed_time_unix_nano == 1544712660300000001ull);
    assert_int_equal(r->severity_number, 10);
    assert_true(seq(r->severity_text, "Information"));
    hexeq(r->trace_id.id, 16, "5b8efff798038103d269b633813fc60c");
    hexeq(r->span_id.id, 8, "eee19b7ec3c1b174");
    assert_true(seq(r->event_name, "app.login"));
    assert_int_equal(r->flags, 1);
    assert_int_equal(r->dropped_attributes_count, 2);
    assert_int_equal(r->body.type, OTLP_ANY_STRING);
    assert_true(seq(r->body.u.str, "Example log record"));
    assert_int_equal(r->attrs.n, 6);
    assert_true(attr(&r->attrs, "double.attribute")->u.f64 == 637.704);
    r = &sl->log_records[1];
    assert_int_equal(r->severity_number, 17);
    assert_int_equal(r->body.type, OTLP_ANY_KVLIST);
    assert_int_equal(r->body.u.kvlist.v[1].value.u.i64, 42);
    r = &sl->log_records[2];
    assert_int_equal(r->trace_id.len, 0);
    assert_int_equal(r->span_id.len, 0);
    assert_int_equal(r->body.type, OTLP_ANY_BYTES);
    assert_true(seq(r->body.u.bytes, "hello"));
}

static void test_logs_example(void **state)
{
    size_t len;
    char *body = read_data("logs.json", &len);
    arena_t *a = arena_create(0, 0);
    otlp_logs_t l;
    assert_int_equal(otlp_json_decode_logs(slice_make(body, len), a, &l), 0);
    free(body);
    check_logs_example(&l);
    arena_destroy(a);
}

/* ----------------------------------------------------------------- forms ----------- */

/* One log record whose body is `body_json`; returns the decode rc. */
static int decode_body(arena_t *a, const char *body_json, otlp_logs_t *l)
{
    char doc[4096];
    snprintf(doc, sizeof(doc),
             "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":%s}]}]}]}", body_json);
    return otlp_json_decode_logs(slice_cstr(doc), a, l);
}

static const otlp_any_t *body_of(const otlp_logs_t *l)
{
    assert_int_equal(l->n_items, 1);
    return &l->resource_logs[0].scope_logs[0].log_records[0].body;
}

static void test_anyvalue_forms(void **state)
{
    arena_t *a = arena_create(0, 0);
    otlp_logs_t l;
    const otlp_any_t *v;

    assert_int_equal(decode_body(a, "{\"intValue\":\"-9223372036854775808\"}", &l), 0);
    v = body_of(&l);
    assert_int_equal(v->type, OTLP_ANY_INT);
    assert_true(v->u.i64 == INT64_MIN);
    assert_int_equal(decode_body(a, "{\"intValue\":9223372036854775807}", &l), 0);
    assert_true(body_of(&l)->u.i64 == INT64_MAX);
    assert_int_equal(decode_body(a, "{\"intValue\":1e3}", &l), 0);
    assert_true(body_of(&l)->u.i64 == 1000);
    assert_int_equal(decode_body(a, "{\"doubleValue\":\"2.5\"}", &l), 0);
    assert_true(body_of(&l)->u.f64 == 2.5);
    assert_int_equal(decode_body(a, "{\"doubleValue\":\"-Infinity\"}", &l), 0);
    assert_true(isinf(body_of(&l)->u.f64));
    assert_int_equal(decode_body(a, "{\"doubleValue\":7}", &l), 0);
    assert_int_equal(body_of(&l)->type, OTLP_ANY_DOUBLE);
    assert_true(body_of(&l)->u.f64 == 7.0);
    assert_int_equal(decode_body(a, "{\"boolValue\":false}", &l), 0);
    assert_int_equal(body_of(&l)->type, OTLP_ANY_BOOL);
    assert_int_equal(decode_body(a, "{\"bytesValue\":\"-_8=\"}", &l), 0); /* URL-safe */
    assert_int_equal(body_of(&l)->u.bytes.len, 2);
    assert_memory_equal(body_of(&l)->u.bytes.p, "\xfb\xff", 2);
    assert_int_equal(decode_body(a, "{\"bytesValue\":\"\"}", &l), 0);
    assert_int_equal(body_of(&l)->type, OTLP_ANY_BYTES);
    assert_int_equal(body_of(&l)->u.bytes.len, 0);
    assert_int_equal(decode_body(a, "{\"stringValue\":\"\"}", &l), 0);
    assert_int_equal(body_of(&l)->type, OTLP_ANY_STRING);
    assert_int_equal(decode_body(a, "{\"arrayValue\":{}}", &l), 0);
    assert_int_equal(body_of(&l)->type, OTLP_ANY_ARRAY);
    assert_int_equal(body_of(&l)->u.array.n, 0);
    assert_int_equal(decode_body(a, "{\"kvlistValue\":{\"values\":[]}}", &l), 0);
    assert_int_equal(body_of(&l)->type, OTLP_ANY_KVLIST);
    assert_int_equal(decode_body(a, "{\"stringValue\":null,\"intValue\":5}", &l), 0);
    assert_int_equal(body_of(&l)->type, OTLP_ANY_INT);
    assert_int_equal(decode_body(a, "{}", &l), 0);
    assert_int_equal(body_of(&l)->type, OTLP_ANY_EMPTY);
    assert_int_equal(decode_body(a, "null", &l), 0);
    assert_int_equal(body_of(&l)->type, OTLP_ANY_EMPTY);
    assert_int_equal(decode_body(a, "{\"string_value\":\"snake\"}", &l), 0);
    assert_true(seq(body_of(&l)->u.str, "snake"));
    assert_int_equal(decode_body(a,
                                 "{\"kvlist_value\":{\"values\":[{\"key\":\"k\",\"value\":"
                                 "{\"array_value\":{\"values\":[{\"bool_value\":true}]}}}]}}",
                                 &l),
                     0);
    assert_int_equal(body_of(&l)->u.kvlist.v[0].value.u.array.v[0].u.boolean, 1);
    arena_destroy(a);
}

/* Request-level errors: every row must fail with EPARSE and a useful message. */
static void test_request_errors(void **state)
{
    static const struct {
        const char *body;
        const char *msg; /* substring of reject_msg */
    } rows[] = {
        {"", "invalid JSON"},
        {"{\"resourceLogs\":[", "invalid JSON: line 1 col 18"},
        {"[]", "request: expected an object"},
        {"{\"resourceLogs\":{}}", "resourceLogs: expected an array"},
        {"{\"resourceLogs\":[5]}", "resourceLogs: expected an object"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"abc\"}]}]}]}",
         "timeUnixNano: expected an unsigned 64-bit integer"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":-1}]}]}]}",
         "timeUnixNano"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":true}]}]}]}",
         "timeUnixNano: expected an integer"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":1.5}]}]}]}",
         "timeUnixNano"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"flags\":4294967296}]}]}]}",
         "flags: expected an unsigned 32-bit integer"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":\"LOUD\"}]}]}]}",
         "unknown enum value \"LOUD\""},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityText\":5}]}]}]}",
         "severityText: expected a string"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"bytesValue\":\"a$==\"}}]"
         "}]}]}",
         "invalid base64"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"bytesValue\":\"abcde\"}}"
         "]}]}]}",
         "invalid base64 length"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"intValue\":1,"
         "\"stringValue\":\"x\"}}]}]}]}",
         "more than one value"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":\"text\"}]}]}]}",
         "AnyValue: expected an object"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"doubleValue\":\"nan\"}}]"
         "}]}]}",
         "doubleValue"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"doubleValue\":1e999}}]}]"
         "}]}",
         "doubleValue"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"traceId\":7}]}]}]}",
         "traceId: expected a hex string"},
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"attributes\":[{\"key\":\"k\","
         "\"value\":{\"boolValue\":\"true\"}}]}]}]}]}",
         "boolValue: expected true or false"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        arena_t *a = arena_create(0, 0);
        otlp_logs_t l;
        int rc = otlp_json_decode_logs(slice_cstr(rows[i].body), a, &l);
        if (rc != ORASI_EPARSE)
            fail_msg("row %zu: rc %d", i, rc);
        assert_non_null(l.reject_msg);
        if (!strstr(l.reject_msg, rows[i].msg))
            fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, l.reject_msg, rows[i].msg);
        arena_destroy(a);
    }
    /* metrics and traces specifics */
    arena_t *a = arena_create(0, 0);
    otlp_metrics_t m;
    assert_int_equal(
        otlp_json_decode_metrics(
            SLICE_LIT("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"gauge\":{},"
                      "\"sum\":{}}]}]}]}"),
            a, &m),
        ORASI_EPARSE);
    assert_non_null(strstr(m.reject_msg, "more than one of"));
    assert_int_equal(
        otlp_json_decode_metrics(
            SLICE_LIT("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"gauge\":{"
                      "\"dataPoints\":[{\"asInt\":1,\"asDouble\":2}]}}]}]}]}"),
            a, &m),
        ORASI_EPARSE);
    assert_int_equal(
        otlp_json_decode_metrics(
            SLICE_LIT("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"histogram\":{"
                      "\"dataPoints\":[{\"bucketCounts\":[1,null]}]}}]}]}]}"),
            a, &m),
        ORASI_EPARSE);
    otlp_traces_t t;
    assert_int_equal(otlp_json_decode_traces(
                         SLICE_LIT("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":"
                                   "\"SPAN_KIND_NOPE\"}]}]}]}"),
                         a, &t),
                     ORASI_EPARSE);
    assert_non_null(strstr(t.reject_msg, "kind: unknown enum value"));
    arena_destroy(a);
}

/* Limits of the JSON layer: size is ETOOBIG (413), nesting is EPARSE (400). */
static void test_json_limits(void **state)
{
    arena_t *a = arena_create(0, 0);
    otlp_logs_t l;
    /* 4 Mi tokens: a flat array of 0s in an ignored field */
    size_t n = 0, cap = 9u << 20;
    char *d = malloc(cap);
    n += (size_t)sprintf(d, "{\"x\":[0");
    while (n < cap - 16) {
        d[n++] = ',';
        d[n++] = '0';
    }
    n += (size_t)sprintf(d + n, "]}");
    assert_int_equal(otlp_json_decode_logs(slice_make(d, n), a, &l), ORASI_ETOOBIG);
    assert_non_null(strstr(l.reject_msg, "too many tokens"));
    free(d);
    arena_destroy(a);
}

static void test_empty_and_null(void **state)
{
    arena_t *a = arena_create(0, 0);
    otlp_traces_t t;
    assert_int_equal(otlp_json_decode_traces(SLICE_LIT("{}"), a, &t), 0);
    assert_int_equal(t.n_resource_spans, 0);
    assert_int_equal(otlp_json_decode_traces(SLICE_LIT(" {\"resourceSpans\":null} "), a, &t), 0);
    assert_int_equal(otlp_json_decode_traces(SLICE_LIT("{\"resourceSpans\":[]}"), a, &t), 0);
    assert_int_equal(otlp_json_decode_traces(SLICE_LIT("{\"resourceSpans\":[{}]}"), a, &t), 0);
    assert_int_equal(t.n_resource_spans, 1);
    assert_int_equal(t.resource_spans[0].n_scope_spans, 0);
    /* unknown top-level fields are ignored; the last duplicate key wins */
    assert_int_equal(
        otlp_json_decode_traces(
            SLICE_LIT("{\"x\":[[[{}]]],\"resourceSpans\":5,\"resourceSpans\":[]}"), a, &t),
        0);
    arena_destroy(a);
}

/* snake_case throughout, ints as numbers, enums by name */
static void test_snake_case(void **state)
{
    const char *doc =
        "{\"resource_spans\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":{\"int_"
        "value\":1}}],"
        "\"dropped_attributes_count\":2},\"scope_spans\":[{\"scope\":{\"name\":\"s\"},\"schema_"
        "url\":\"u\","
        "\"spans\":[{\"trace_id\":\"000102030405060708090a0b0c0d0e0f\",\"span_id\":"
        "\"0001020304050607\","
        "\"parent_span_id\":\"0706050403020100\",\"trace_state\":\"ts\",\"start_time_unix_nano\":5,"
        "\"end_time_unix_nano\":\"6\",\"kind\":\"SPAN_KIND_PRODUCER\",\"dropped_attributes_count\":"
        "1,"
        "\"dropped_events_count\":2,\"dropped_links_count\":3,\"events\":[{\"time_unix_nano\":7}],"
        "\"links\":[{\"trace_id\":\"000102030405060708090a0b0c0d0e0f\",\"span_id\":"
        "\"0001020304050607\"}],"
        "\"status\":{\"code\":\"STATUS_CODE_ERROR\",\"message\":\"m\"}}]}]}]}";
    arena_t *a = arena_create(0, 0);
    otlp_traces_t t;
    assert_int_equal(otlp_json_decode_traces(slice_cstr(doc), a, &t), 0);
    assert_int_equal(t.n_items, 1);
    const otlp_resource_spans_t *rs = &t.resource_spans[0];
    assert_int_equal(rs->resource.dropped_attributes_count, 2);
    assert_int_equal(rs->resource.attrs.v[0].value.u.i64, 1);
    assert_true(seq(rs->scope_spans[0].schema_url, "u"));
    const otlp_span_t *s = &rs->scope_spans[0].spans[0];
    hexeq(s->parent_span_id.id, 8, "0706050403020100");
    assert_true(seq(s->trace_state, "ts"));
    assert_int_equal(s->start_time_unix_nano, 5);
    assert_int_equal(s->end_time_unix_nano, 6);
    assert_int_equal(s->kind, OTLP_SPAN_KIND_PRODUCER);
    assert_int_equal(s->dropped_links_count, 3);
    assert_int_equal(s->events[0].time_unix_nano, 7);
    assert_int_equal(s->n_links, 1);
    assert_int_equal(s->status.code, OTLP_STATUS_ERROR);

    const char *mdoc = "{\"resource_metrics\":[{\"scope_metrics\":[{\"metrics\":[{\"name\":\"h\","
                       "\"exponential_histogram\":"
                       "{\"aggregation_temporality\":\"AGGREGATION_TEMPORALITY_DELTA\",\"data_"
                       "points\":[{\"zero_count\":3,"
                       "\"zero_threshold\":0.5,\"positive\":{\"bucket_counts\":[1]}}]}},{\"name\":"
                       "\"s\",\"summary\":{"
                       "\"data_points\":[{\"quantile_values\":[{\"quantile\":1,\"value\":2}]}]}},{"
                       "\"name\":\"c\",\"sum\":{"
                       "\"is_monotonic\":true,\"data_points\":[{\"as_int\":\"4\",\"start_time_unix_"
                       "nano\":1}]}}]}]}]}";
    otlp_metrics_t m;
    assert_int_equal(otlp_json_decode_metrics(slice_cstr(mdoc), a, &m), 0);
    assert_int_equal(m.n_items, 3);
    const otlp_metric_t *x = m.resource_metrics[0].scope_metrics[0].metrics;
    assert_int_equal(x[0].temporality, OTLP_TEMPORALITY_DELTA);
    assert_int_equal(x[0].points.exp_histogram.v[0].zero_count, 3);
    assert_true(x[0].points.exp_histogram.v[0].zero_threshold == 0.5);
    assert_int_equal(x[0].points.exp_histogram.v[0].positive.bucket_counts.n, 1);
    assert_int_equal(x[1].points.summary.v[0].n_quantiles, 1);
    assert_int_equal(x[2].is_monotonic, 1);
    assert_int_equal(x[2].points.number.v[0].as_int, 4);

    const char *ldoc =
        "{\"resource_logs\":[{\"scope_logs\":[{\"log_records\":[{\"severity_number\":\"SEVERITY_"
        "NUMBER_FATAL4\","
        "\"severity_text\":\"F\",\"observed_time_unix_nano\":\"9\",\"event_name\":\"e\"}]}]}]}";
    otlp_logs_t l;
    assert_int_equal(otlp_json_decode_logs(slice_cstr(ldoc), a, &l), 0);
    const otlp_log_record_t *r = &l.resource_logs[0].scope_logs[0].log_records[0];
    assert_int_equal(r->severity_number, 24);
    assert_int_equal(r->observed_time_unix_nano, 9);
    assert_true(seq(r->event_name, "e"));
    arena_destroy(a);
}

/* --------------------------------------------------------------- rejection ---------- */

static char *spans_doc(const char *const *spans, int n, const char *resource_attr)
{
    size_t cap = 65536, len = 0;
    char *d = malloc(cap);
    len += (size_t)snprintf(d + len, cap - len,
                            "{\"resourceSpans\":[{\"resource\":{\"attributes\":[%s]},"
                            "\"scopeSpans\":[{\"spans\":[",
                            resource_attr ? resource_attr : "");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(d + len, cap - len, "%s%s", i ? "," : "", spans[i]);
    snprintf(d + len, cap - len, "]}]}]}");
    return d;
}

#define GOOD_IDS "\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\""

static void test_item_rejection(void **state)
{
    const char *spans[] = {
        "{" GOOD_IDS ",\"name\":\"ok1\"}",
        "{\"traceId\":\"5b8efff798038103d269b633813fc6\",\"spanId\":\"eee19b7ec3c1b174\",\"name\":"
        "\"short\"}",
        "{\"traceId\":\"5b8efff798038103d269b633813fc60g\",\"spanId\":\"eee19b7ec3c1b174\","
        "\"name\":\"nonhex\"}",
        "{" GOOD_IDS ",\"parentSpanId\":\"abcd\",\"name\":\"badparent\"}",
        "{\"spanId\":\"eee19b7ec3c1b174\",\"name\":\"notrace\"}",
        "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"\",\"name\":\"emptyspan\"}",
        "{" GOOD_IDS ",\"name\":\"bad\xff utf8\"}",
        "{" GOOD_IDS ",\"name\":\"lone \\ud800 surrogate\"}",
        "{" GOOD_IDS ",\"attributes\":[{\"key\":\"k\xc0\xaf\",\"value\":{}}]}",
        "{" GOOD_IDS ",\"links\":[{\"traceId\":\"00\",\"spanId\":\"0001020304050607\"}]}",
        "{" GOOD_IDS ",\"events\":[{\"name\":\"\xed\xa0\x80\"}]}",
        "{" GOOD_IDS ",\"name\":\"ok2\",\"parentSpanId\":\"\"}",
    };
    int n = (int)(sizeof(spans) / sizeof(spans[0]));
    char *doc = spans_doc(spans, n, NULL);
    arena_t *a = arena_create(0, 0);
    otlp_traces_t t;
    assert_int_equal(otlp_json_decode_traces(slice_cstr(doc), a, &t), 0);
    assert_int_equal(t.n_items, 2);
    assert_int_equal(t.rejected, (size_t)n - 2);
    assert_non_null(t.reject_msg);
    assert_non_null(strstr(t.reject_msg, "span trace_id must be 16 bytes")); /* the first reason */
    const otlp_scope_spans_t *ss = &t.resource_spans[0].scope_spans[0];
    assert_int_equal(ss->n_spans, 2);
    assert_true(seq(ss->spans[0].name, "ok1"));
    assert_true(seq(ss->spans[1].name, "ok2"));
    free(doc);

    /* a bad resource attribute rejects every span under it */
    const char *good[] = {"{" GOOD_IDS "}", "{" GOOD_IDS "}", "{" GOOD_IDS "}"};
    doc = spans_doc(good, 3, "{\"key\":\"k\",\"value\":{\"stringValue\":\"\xfe\"}}");
    assert_int_equal(otlp_json_decode_traces(slice_cstr(doc), a, &t), 0);
    assert_int_equal(t.n_items, 0);
    assert_int_equal(t.rejected, 3);
    assert_string_equal(t.reject_msg, "invalid UTF-8 in stringValue");
    assert_int_equal(t.resource_spans[0].scope_spans[0].n_spans, 0);
    free(doc);

    /* logs: ids are optional but must be well formed when present */
    otlp_logs_t l;
    assert_int_equal(otlp_json_decode_logs(
                         SLICE_LIT("{\"resourceLogs\":[{\"scopeLogs\":[{\"scope\":{\"name\":\"x\"},"
                                   "\"logRecords\":[{},{\"spanId\":\"0102\"},{\"traceId\":\"zz\"},"
                                   "{\"severityText\":\"ok\"}]}]}]}"),
                         a, &l),
                     0);
    assert_int_equal(l.n_items, 2);
    assert_int_equal(l.rejected, 2);
    assert_non_null(strstr(l.reject_msg, "log record span_id must be empty or 8 bytes"));
    /* a bad scope rejects the records under it only */
    assert_int_equal(
        otlp_json_decode_logs(
            SLICE_LIT("{\"resourceLogs\":[{\"scopeLogs\":[{\"scope\":{\"version\":\"\xff\"},"
                      "\"logRecords\":[{},{}]},{\"logRecords\":[{}]}]}]}"),
            a, &l),
        0);
    assert_int_equal(l.n_items, 1);
    assert_int_equal(l.rejected, 2);

    /* metrics: a bad metric name rejects all its points; other metrics are kept */
    otlp_metrics_t m;
    assert_int_equal(
        otlp_json_decode_metrics(SLICE_LIT("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
                                           "{\"name\":\"\xff\",\"gauge\":{\"dataPoints\":[{},{}]}},"
                                           "{\"name\":\"ok\",\"sum\":{\"dataPoints\":[{},"
                                           "{\"exemplars\":[{\"traceId\":\"0011\"}]}]}}]}]}]}"),
                                 a, &m),
        0);
    assert_int_equal(m.n_items, 1);
    assert_int_equal(m.rejected, 3);
    const otlp_metric_t *x = m.resource_metrics[0].scope_metrics[0].metrics;
    assert_int_equal(x[0].points.number.n, 0);
    assert_int_equal(x[0].name.len, 0); /* invalid text never reaches the model */
    assert_int_equal(x[1].points.number.n, 1);
    arena_destroy(a);
}

/* AnyValue nested `levels` arrays deep inside a log body (plus a scalar at the bottom). */
static char *nested_body(int levels, int kvlist)
{
    size_t cap = (size_t)levels * 64 + 256, len = 0;
    char *d = malloc(cap);
    len += (size_t)snprintf(d + len, cap - len,
                            "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":");
    for (int i = 0; i < levels; i++)
        len += (size_t)snprintf(d + len, cap - len, "%s",
                                kvlist ? "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":"
                                       : "{\"arrayValue\":{\"values\":[");
    len += (size_t)snprintf(d + len, cap - len, "{\"intValue\":1}");
    for (int i = 0; i < levels; i++)
        len += (size_t)snprintf(d + len, cap - len, "%s", kvlist ? "}]}}" : "]}}");
    snprintf(d + len, cap - len, "},{\"body\":{\"stringValue\":\"fine\"}}]}]}]}");
    return d;
}

static void test_nesting(void **state)
{
    arena_t *a = arena_create(0, 0);
    otlp_logs_t l;
    for (int kv = 0; kv < 2; kv++) {
        /* 31 containers: the scalar sits at depth 32, the limit: accepted */
        char *d = nested_body(OTLP_MAX_ANY_DEPTH - 1, kv);
        assert_int_equal(otlp_json_decode_logs(slice_cstr(d), a, &l), 0);
        assert_int_equal(l.n_items, 2);
        assert_int_equal(l.rejected, 0);
        const otlp_any_t *v = &l.resource_logs[0].scope_logs[0].log_records[0].body;
        for (int i = 0; i < OTLP_MAX_ANY_DEPTH - 1; i++)
            v = kv ? &v->u.kvlist.v[0].value : &v->u.array.v[0];
        assert_int_equal(v->type, OTLP_ANY_INT);
        free(d);
        /* one more level: the item is rejected, the other record kept */
        d = nested_body(OTLP_MAX_ANY_DEPTH, kv);
        assert_int_equal(otlp_json_decode_logs(slice_cstr(d), a, &l), 0);
        assert_int_equal(l.n_items, 1);
        assert_int_equal(l.rejected, 1);
        assert_non_null(strstr(l.reject_msg, "AnyValue nested too deeply"));
        free(d);
        /* 100 levels: still a rejection, no crash */
        d = nested_body(100, kv);
        assert_int_equal(otlp_json_decode_logs(slice_cstr(d), a, &l), 0);
        assert_int_equal(l.rejected, 1);
        assert_int_equal(l.n_items, 1);
        free(d);
        /* beyond what the JSON parser allows at all: the request fails cleanly */
        d = nested_body(2000, kv);
        assert_int_equal(otlp_json_decode_logs(slice_cstr(d), a, &l), ORASI_EPARSE);
        assert_non_null(strstr(l.reject_msg, "nesting"));
        free(d);
    }
    /* raw JSON nesting in an ignored field */
    char *deep = malloc(300000);
    size_t n = (size_t)sprintf(deep, "{\"x\":");
    for (int i = 0; i < 100000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100000; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    otlp_traces_t t;
    assert_int_equal(otlp_json_decode_traces(slice_make(deep, n), a, &t), ORASI_EPARSE);
    free(deep);
    arena_destroy(a);
}

/* --------------------------------------------------------------- round trips -------- */

typedef int (*enc_fn)(const void *, buf_t *);

static void roundtrip(const char *file, int sig)
{
    size_t len;
    char *body = read_data(file, &len);
    arena_t *a = arena_create(0, 0);
    union {
        otlp_traces_t t;
        otlp_metrics_t m;
        otlp_logs_t l;
    } m1, m2;
    buf_t j2, j3;
    buf_init(&j2, 1 << 20);
    buf_init(&j3, 1 << 20);
    switch (sig) {
    case OTLP_TRACES:
        assert_int_equal(otlp_json_decode_traces(slice_make(body, len), a, &m1.t), 0);
        assert_int_equal(otlp_json_encode_traces(&m1.t, &j2), 0);
        assert_int_equal(otlp_json_decode_traces(buf_slice(&j2), a, &m2.t), 0);
        check_traces_example(&m2.t);
        assert_int_equal(otlp_json_encode_traces(&m2.t, &j3), 0);
        break;
    case OTLP_METRICS:
        assert_int_equal(otlp_json_decode_metrics(slice_make(body, len), a, &m1.m), 0);
        assert_int_equal(otlp_json_encode_metrics(&m1.m, &j2), 0);
        assert_int_equal(otlp_json_decode_metrics(buf_slice(&j2), a, &m2.m), 0);
        check_metrics_example(&m2.m);
        assert_int_equal(otlp_json_encode_metrics(&m2.m, &j3), 0);
        break;
    default:
        assert_int_equal(otlp_json_decode_logs(slice_make(body, len), a, &m1.l), 0);
        assert_int_equal(otlp_json_encode_logs(&m1.l, &j2), 0);
        assert_int_equal(otlp_json_decode_logs(buf_slice(&j2), a, &m2.l), 0);
        check_logs_example(&m2.l);
        assert_int_equal(otlp_json_encode_logs(&m2.l, &j3), 0);
        break;
    }
    /* the encoding is canonical: the second pass reproduces it byte for byte */
    assert_int_equal(j2.len, j3.len);
    assert_memory_equal(j2.data, j3.data, j2.len);
    /* and it uses the canonical forms: camelCase, lowercase hex, int64 as strings */
    assert_int_equal(buf_append_byte(&j2, 0), 0);
    assert_null(strstr((const char *)j2.data, "_unix_nano"));
    if (sig == OTLP_TRACES) {
        assert_non_null(
            strstr((const char *)j2.data, "\"traceId\":\"5b8efff798038103d269b633813fc60c\""));
        assert_non_null(
            strstr((const char *)j2.data, "\"startTimeUnixNano\":\"1544712660000000000\""));
        assert_non_null(strstr((const char *)j2.data, "\"intValue\":\"200\""));
        assert_non_null(strstr((const char *)j2.data, "\"doubleValue\":\"NaN\""));
        assert_non_null(strstr((const char *)j2.data, "\"bytesValue\":\"AAEC/w==\""));
    }
    buf_free(&j2);
    buf_free(&j3);
    arena_destroy(a);
    free(body);
}

static void test_roundtrip_traces(void **state)
{
    roundtrip("traces.json", OTLP_TRACES);
}
static void test_roundtrip_metrics(void **state)
{
    roundtrip("metrics.json", OTLP_METRICS);
}
static void test_roundtrip_logs(void **state)
{
    roundtrip("logs.json", OTLP_LOGS);
}

static void test_encode_limits(void **state)
{
    /* a model nested deeper than the limit is refused by the encoder */
    arena_t *a = arena_create(0, 0);
    otlp_any_t *vals = arena_calloc(a, sizeof(otlp_any_t) * 40);
    for (int i = 0; i < 39; i++) {
        vals[i].type = OTLP_ANY_ARRAY;
        vals[i].u.array.v = &vals[i + 1];
        vals[i].u.array.n = 1;
    }
    vals[39].type = OTLP_ANY_INT;
    otlp_log_record_t rec = {.body = vals[0]};
    otlp_scope_logs_t sl = {.log_records = &rec, .n_log_records = 1};
    otlp_resource_logs_t rl = {.scope_logs = &sl, .n_scope_logs = 1};
    otlp_logs_t l = {.resource_logs = &rl, .n_resource_logs = 1};
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(otlp_json_encode_logs(&l, &b), ORASI_EDEPTH);
    /* a small output cap is ORASI_ETOOBIG */
    buf_free(&b);
    vals[5].type = OTLP_ANY_STRING;
    vals[5].u.str = SLICE_LIT("leaf");
    buf_init(&b, 1 << 20);
    assert_int_equal(otlp_json_encode_logs(&l, &b), 0);
    size_t full = b.len;
    buf_free(&b);
    buf_init(&b, full - 1);
    assert_int_equal(otlp_json_encode_logs(&l, &b), ORASI_ETOOBIG);
    buf_free(&b);
    arena_destroy(a);
}

/* Integer edge values survive encode -> decode exactly. */
static void test_encode_integers(void **state)
{
    otlp_log_record_t rec[3] = {
        {.time_unix_nano = UINT64_MAX,
         .severity_number = -5,
         .flags = UINT32_MAX,
         .body = {.type = OTLP_ANY_INT, .u.i64 = INT64_MIN}},
        {.observed_time_unix_nano = 1,
         .severity_number = INT32_MIN,
         .body = {.type = OTLP_ANY_INT, .u.i64 = INT64_MAX}},
        {.body = {.type = OTLP_ANY_INT, .u.i64 = 0}},
    };
    otlp_scope_logs_t sl = {.log_records = rec, .n_log_records = 3};
    otlp_resource_logs_t rl = {.scope_logs = &sl, .n_scope_logs = 1};
    otlp_logs_t l = {.resource_logs = &rl, .n_resource_logs = 1};
    buf_t b;
    buf_init(&b, 1 << 16);
    assert_int_equal(otlp_json_encode_logs(&l, &b), 0);
    assert_int_equal(buf_append_byte(&b, 0), 0);
    assert_non_null(strstr((char *)b.data, "\"timeUnixNano\":\"18446744073709551615\""));
    assert_non_null(strstr((char *)b.data, "\"intValue\":\"-9223372036854775808\""));
    assert_non_null(strstr((char *)b.data, "\"severityNumber\":-5,"));
    assert_non_null(strstr((char *)b.data, "\"intValue\":\"0\""));
    arena_t *a = arena_create(0, 0);
    otlp_logs_t back;
    assert_int_equal(otlp_json_decode_logs(slice_make(b.data, b.len - 1), a, &back), 0);
    const otlp_log_record_t *r = back.resource_logs[0].scope_logs[0].log_records;
    assert_true(r[0].time_unix_nano == UINT64_MAX);
    assert_int_equal(r[0].severity_number, -5);
    assert_true(r[0].flags == UINT32_MAX);
    assert_true(r[0].body.u.i64 == INT64_MIN);
    assert_int_equal(r[1].severity_number, INT32_MIN);
    assert_true(r[1].body.u.i64 == INT64_MAX);
    assert_int_equal(r[2].body.type, OTLP_ANY_INT);
    arena_destroy(a);
    buf_free(&b);
}

static void test_export_response(void **state)
{
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(otlp_json_encode_export_response(OTLP_TRACES, 0, (slice_t){0}, &b), 0);
    assert_true(seq(buf_slice(&b), "{}"));
    buf_clear(&b);
    assert_int_equal(otlp_json_encode_export_response(OTLP_TRACES, 3, SLICE_LIT("bad \"id\""), &b),
                     0);
    assert_true(
        seq(buf_slice(&b),
            "{\"partialSuccess\":{\"rejectedSpans\":\"3\",\"errorMessage\":\"bad \\\"id\\\"\"}}"));
    buf_clear(&b);
    assert_int_equal(otlp_json_encode_export_response(OTLP_METRICS, 1, (slice_t){0}, &b), 0);
    assert_true(seq(buf_slice(&b), "{\"partialSuccess\":{\"rejectedDataPoints\":\"1\"}}"));
    buf_clear(&b);
    assert_int_equal(otlp_json_encode_export_response(OTLP_LOGS, 9000000000LL, SLICE_LIT("x"), &b),
                     0);
    assert_true(
        seq(buf_slice(&b),
            "{\"partialSuccess\":{\"rejectedLogRecords\":\"9000000000\",\"errorMessage\":\"x\"}}"));
    buf_clear(&b);
    assert_int_equal(otlp_json_encode_export_response(OTLP_LOGS, 0, SLICE_LIT("warning"), &b), 0);
    assert_true(seq(buf_slice(&b), "{\"partialSuccess\":{\"errorMessage\":\"warning\"}}"));
    buf_clear(&b);
    assert_int_equal(otlp_json_encode_export_response((enum otlp_signal)7, 0, (slice_t){0}, &b),
                     ORASI_EINVAL);
    buf_free(&b);
}

/* --------------------------------------------------------------- allocation --------- */

/* Fail the Nth allocation for every N: each run is a clean ENOMEM (or success at the end),
 * never a crash or a leak (ASan checks the latter). Small arena chunks so the arena itself
 * allocates often. */
static void alloc_fail_run(const char *file, int sig)
{
    size_t len;
    char *body = read_data(file, &len);
    int ok = 0;
    for (long k = 0; k < 100000 && !ok; k++) {
        orasi_alloc_fail_after(k);
        arena_t *a = arena_create(256, 0);
        int rc = ORASI_ENOMEM;
        const char *msg = "x";
        if (a) {
            union {
                otlp_traces_t t;
                otlp_metrics_t m;
                otlp_logs_t l;
            } m;
            if (sig == OTLP_TRACES) {
                rc = otlp_json_decode_traces(slice_make(body, len), a, &m.t);
                msg = m.t.reject_msg;
                if (!rc)
                    check_traces_example(&m.t);
            } else if (sig == OTLP_METRICS) {
                rc = otlp_json_decode_metrics(slice_make(body, len), a, &m.m);
                msg = m.m.reject_msg;
                if (!rc)
                    check_metrics_example(&m.m);
            } else {
                rc = otlp_json_decode_logs(slice_make(body, len), a, &m.l);
                msg = m.l.reject_msg;
                if (!rc)
                    check_logs_example(&m.l);
            }
            if (rc)
                assert_non_null(msg);
        }
        arena_destroy(a);
        orasi_alloc_fail_after(-1);
        if (rc == 0)
            ok = 1;
        else
            assert_int_equal(rc, ORASI_ENOMEM);
    }
    assert_true(ok);
    free(body);
}

static void test_alloc_failure(void **state)
{
    alloc_fail_run("traces.json", OTLP_TRACES);
    alloc_fail_run("metrics.json", OTLP_METRICS);
    alloc_fail_run("logs.json", OTLP_LOGS);
}

/* An arena cap reached mid-decode is ENOMEM with a message, not a crash. */
static void test_arena_cap(void **state)
{
    size_t len;
    char *body = read_data("traces.json", &len);
    arena_t *a = arena_create(512, 2048);
    otlp_traces_t t;
    assert_int_equal(otlp_json_decode_traces(slice_make(body, len), a, &t), ORASI_ENOMEM);
    assert_non_null(t.reject_msg);
    arena_destroy(a);
    free(body);
}

/* --------------------------------------------------------------- speed -------------- */

/* A realistic 100-span request (ids, 8 attributes, an event), decoded repeatedly. The
 * throughput is printed for the record; the assertion is a loose floor that only a gross
 * regression (per-token malloc, quadratic scans) would break, even under ASan. */
static void test_throughput_100_spans(void **state)
{
    size_t cap = 1 << 20, n = 0;
    char *d = malloc(cap);
    n += (size_t)snprintf(
        d + n, cap - n,
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"frontend\"}},{\"key\":\"host.name\",\"value\":"
        "{\"stringValue\":\"node-17.eu-west-1\"}}]},\"scopeSpans\":[{\"scope\":{"
        "\"name\":\"io.opentelemetry.express\",\"version\":\"0.41.0\"},\"spans\":[");
    for (int i = 0; i < 100; i++) {
        n += (size_t)snprintf(
            d + n, cap - n,
            "%s{\"traceId\":\"%032x\",\"spanId\":\"%016x\",\"parentSpanId\":\"%016x\","
            "\"name\":\"GET "
            "/api/v1/products/{id}\",\"kind\":2,\"startTimeUnixNano\":\"17000000000%08d\","
            "\"endTimeUnixNano\":\"17000000001%08d\",\"attributes\":["
            "{\"key\":\"http.request.method\",\"value\":{\"stringValue\":\"GET\"}},"
            "{\"key\":\"url.path\",\"value\":{\"stringValue\":\"/api/v1/products/%d\"}},"
            "{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"200\"}},"
            "{\"key\":\"server.address\",\"value\":{\"stringValue\":\"shop.example.com\"}},"
            "{\"key\":\"server.port\",\"value\":{\"intValue\":443}},"
            "{\"key\":\"user_agent.original\",\"value\":{\"stringValue\":\"Mozilla/5.0 (X11; Linux "
            "x86_64)\"}},"
            "{\"key\":\"network.protocol.version\",\"value\":{\"stringValue\":\"1.1\"}},"
            "{\"key\":\"sampling.ratio\",\"value\":{\"doubleValue\":0.125}}],"
            "\"events\":[{\"timeUnixNano\":\"17000000000%08d\",\"name\":\"cache.lookup\","
            "\"attributes\":"
            "[{\"key\":\"hit\",\"value\":{\"boolValue\":true}}]}],"
            "\"status\":{\"code\":1}}",
            i ? "," : "", i + 1, i + 1, i + 1000, i, i, i, i);
    }
    n += (size_t)snprintf(d + n, cap - n, "]}]}]}");
    arena_t *a = arena_create(64 * 1024, 0);
    otlp_traces_t t;
    assert_int_equal(otlp_json_decode_traces(slice_make(d, n), a, &t), 0);
    assert_int_equal(t.n_items, 100);
    assert_int_equal(t.resource_spans[0].scope_spans[0].spans[99].attrs.n, 8);
    int iters = 300;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < iters; i++) {
        arena_reset(a);
        assert_int_equal(otlp_json_decode_traces(slice_make(d, n), a, &t), 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double mbs = (double)n * iters / sec / 1e6;
    printf("# otlp_json: 100-span request of %zu bytes: %.0f MB/s, %.0f spans/s\n", n, mbs,
           100.0 * iters / sec);
    assert_true(mbs > 5.0);
    arena_destroy(a);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traces_example),       cmocka_unit_test(test_metrics_example),
        cmocka_unit_test(test_logs_example),         cmocka_unit_test(test_anyvalue_forms),
        cmocka_unit_test(test_request_errors),       cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_json_limits),          cmocka_unit_test(test_snake_case),
        cmocka_unit_test(test_item_rejection),       cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_roundtrip_traces),     cmocka_unit_test(test_roundtrip_metrics),
        cmocka_unit_test(test_roundtrip_logs),       cmocka_unit_test(test_encode_limits),
        cmocka_unit_test(test_encode_integers),      cmocka_unit_test(test_export_response),
        cmocka_unit_test(test_alloc_failure),        cmocka_unit_test(test_arena_cap),
        cmocka_unit_test(test_throughput_100_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
