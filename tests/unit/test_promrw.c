/*
 * test_promrw.c — Prometheus remote write decoding: WriteRequests built with the protobuf
 * writer, compressed with the real snappy library, decoded and checked field by field;
 * rejection rules, the uncompressed-size cap, malformed input, allocation failure.
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
#include "otlp/pb.h"
#include "otlp/promrw.h"

#include <snappy-c.h>
#include <string.h>

typedef struct {
    const char *labels[8]; /* name, value, name, value, ... NULL-terminated */
    int n_samples;
    double base;
    int64_t ts_ms;
    int n_hist;
} series_t;

static void put_series(pb_writer_t *w, const series_t *s)
{
    size_t m = pb_w_begin(w, 1);
    for (int i = 0; s->labels[i]; i += 2) {
        size_t ml = pb_w_begin(w, 1);
        pb_w_bytes(w, 1, s->labels[i], strlen(s->labels[i]));
        pb_w_bytes(w, 2, s->labels[i + 1], strlen(s->labels[i + 1]));
        pb_w_end(w, ml);
    }
    for (int i = 0; i < s->n_samples; i++) {
        size_t ms = pb_w_begin(w, 2);
        pb_w_double(w, 1, s->base + i);
        pb_w_uint(w, 2, (uint64_t)(s->ts_ms + i * 15000));
        pb_w_end(w, ms);
    }
    for (int i = 0; i < s->n_hist; i++) {
        size_t mh = pb_w_begin(w, 4);
        pb_w_uint(w, 1, 5); /* count_int */
        pb_w_end(w, mh);
    }
    pb_w_end(w, m);
}

/* WriteRequest of `n` series plus one metadata entry, snappy-compressed into *out */
static void build(const series_t *ss, int n, buf_t *raw, uint8_t **out, size_t *out_len)
{
    pb_writer_t w;
    pb_writer_init(&w, raw);
    for (int i = 0; i < n; i++)
        put_series(&w, &ss[i]);
    size_t mm = pb_w_begin(&w, 3); /* MetricMetadata: ignored */
    pb_w_uint(&w, 1, 1);
    pb_w_bytes(&w, 2, "up", 2);
    pb_w_end(&w, mm);
    assert_int_equal(w.err, 0);
    size_t cap = snappy_max_compressed_length(raw->len);
    *out = orasi_malloc(cap);
    assert_non_null(*out);
    *out_len = cap;
    assert_int_equal(snappy_compress((const char *)raw->data, raw->len, (char *)*out, out_len),
                     SNAPPY_OK);
}

static const series_t SERIES[] = {
    {{"__name__", "http_requests_total", "job", "api", "instance", "10.0.0.1:9090", NULL},
     3,
     100,
     1700000000000,
     0},
    {{"job", "nameless", NULL}, 2, 1, 1700000000000, 0},
    {{"le", "0.5", "__name__", "latency_bucket", NULL}, 1, 7, 1700000000123, 1},
    {{"__name__", "bad_label", "x", "\xff\xfe", NULL}, 2, 0, 1700000000000, 0},
    {{"__name__", "neg_ts", NULL}, 1, 0, -5, 0},
};

static void test_decode(void **state)
{
    (void)state;
    buf_t raw;
    buf_init(&raw, 1 << 20);
    uint8_t *z;
    size_t zlen;
    build(SERIES, 5, &raw, &z, &zlen);
    assert_true(zlen < raw.len); /* really compressed */
    arena_t *a = arena_create(4096, 0);
    otlp_metrics_t m;
    assert_int_equal(promrw_decode(slice_make(z, zlen), 1 << 20, a, &m), 0);
    /* the compressed body is not needed once decoded: strings live in the arena */
    memset(z, 0, zlen);
    orasi_free(z);
    /* accepted: 3 + 1 samples; rejected: 2 (nameless) + 1 (histogram) + 2 (bad label)
     * + 1 (negative timestamp) */
    assert_int_equal(m.n_items, 4);
    assert_int_equal(m.rejected, 6);
    assert_string_equal(m.reject_msg, "series without __name__ label");
    assert_int_equal(m.n_resource_metrics, 1);
    const otlp_scope_metrics_t *sm = &m.resource_metrics[0].scope_metrics[0];
    assert_true(slice_eq_cstr(sm->scope.name, "prometheus-remote-write"));
    assert_int_equal(sm->n_metrics, 5);
    const otlp_metric_t *mt = &sm->metrics[0];
    assert_true(slice_eq_cstr(mt->name, "http_requests_total"));
    assert_int_equal(mt->type, OTLP_METRIC_GAUGE);
    assert_int_equal(mt->points.number.n, 3);
    for (int i = 0; i < 3; i++) {
        const otlp_number_dp_t *dp = &mt->points.number.v[i];
        assert_int_equal(dp->is_int, 0);
        assert_true(dp->as_double == 100 + i);
        assert_true(dp->time_unix_nano == (1700000000000ull + (uint64_t)i * 15000) * 1000000ull);
        assert_int_equal(dp->attrs.n, 2);
        assert_true(slice_eq_cstr(dp->attrs.v[0].key, "job"));
        assert_int_equal(dp->attrs.v[0].value.type, OTLP_ANY_STRING);
        assert_true(slice_eq_cstr(dp->attrs.v[0].value.u.str, "api"));
        assert_true(slice_eq_cstr(dp->attrs.v[1].key, "instance"));
        assert_true(slice_eq_cstr(dp->attrs.v[1].value.u.str, "10.0.0.1:9090"));
    }
    assert_int_equal(sm->metrics[1].points.number.n, 0); /* nameless */
    mt = &sm->metrics[2];
    assert_true(slice_eq_cstr(mt->name, "latency_bucket"));
    assert_int_equal(mt->points.number.n, 1);
    assert_true(mt->points.number.v[0].as_double == 7);
    assert_true(mt->points.number.v[0].time_unix_nano == 1700000000123000000ull);
    assert_int_equal(mt->points.number.v[0].attrs.n, 1);
    assert_true(slice_eq_cstr(mt->points.number.v[0].attrs.v[0].key, "le"));
    assert_int_equal(sm->metrics[3].points.number.n, 0); /* bad UTF-8 */
    assert_int_equal(sm->metrics[4].points.number.n, 0); /* negative timestamp */
    arena_destroy(a);
    buf_free(&raw);
}

static void test_limits_and_garbage(void **state)
{
    (void)state;
    buf_t raw;
    buf_init(&raw, 1 << 20);
    uint8_t *z;
    size_t zlen;
    build(SERIES, 1, &raw, &z, &zlen);
    arena_t *a = arena_create(4096, 0);
    otlp_metrics_t m;
    /* the declared uncompressed size is checked before anything is allocated */
    size_t used = arena_used(a);
    assert_int_equal(promrw_decode(slice_make(z, zlen), raw.len - 1, a, &m), ORASI_ETOOBIG);
    assert_int_equal(arena_used(a), used);
    assert_int_equal(promrw_decode(slice_make(z, zlen), raw.len, a, &m), 0);
    assert_int_equal(m.n_items, 3);
    /* a snappy header claiming 2 GB: refused by the cap, not allocated */
    static const uint8_t huge[] = {0x80, 0x80, 0x80, 0x80, 0x08, 0x00};
    assert_int_equal(promrw_decode(slice_make(huge, sizeof(huge)), 1 << 20, a, &m), ORASI_ETOOBIG);
    /* truncated snappy stream */
    assert_int_equal(promrw_decode(slice_make(z, zlen / 2), 1 << 20, a, &m), ORASI_EPARSE);
    assert_non_null(m.reject_msg);
    /* not snappy at all */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(promrw_decode(slice_make(junk, sizeof(junk)), 1 << 20, a, &m), ORASI_EPARSE);
    /* valid snappy around a malformed WriteRequest (field 1 as varint; a truncated
     * sample) */
    static const uint8_t bad1[] = {0x08, 0x01};
    static const uint8_t bad2[] = {0x0a, 0x04, 0x12, 0x02, 0x09, 0x00};
    static const uint8_t bad3[] = {0x0a, 0x03, 0x0a, 0x01, 0x0a, 0x0a};
    const slice_t bads[] = {slice_make(bad1, sizeof(bad1)), slice_make(bad2, sizeof(bad2)),
                            slice_make(bad3, sizeof(bad3))};
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        char zb[64];
        size_t zl = sizeof(zb);
        assert_int_equal(snappy_compress((const char *)bads[i].p, bads[i].len, zb, &zl), SNAPPY_OK);
        assert_int_equal(promrw_decode(slice_make(zb, zl), 1 << 20, a, &m), ORASI_EPARSE);
        assert_non_null(m.reject_msg);
        assert_int_equal(promrw_decode_raw(bads[i], a, &m), ORASI_EPARSE);
    }
    /* the empty request */
    char zb[64];
    size_t zl = sizeof(zb);
    assert_int_equal(snappy_compress("", 0, zb, &zl), SNAPPY_OK);
    assert_int_equal(promrw_decode(slice_make(zb, zl), 1 << 20, a, &m), 0);
    assert_int_equal(m.n_items, 0);
    assert_int_equal(m.rejected, 0);
    arena_destroy(a);
    orasi_free(z);
    buf_free(&raw);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    buf_t raw;
    buf_init(&raw, 1 << 20);
    uint8_t *z;
    size_t zlen;
    build(SERIES, 5, &raw, &z, &zlen);
    long n;
    int rc = -1;
    for (n = 0; n < 1000; n++) {
        orasi_alloc_fail_after(n);
        arena_t *a = arena_create(128, 0);
        otlp_metrics_t m;
        rc = a ? promrw_decode(slice_make(z, zlen), 1 << 20, a, &m) : ORASI_ENOMEM;
        arena_destroy(a);
        orasi_alloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, ORASI_ENOMEM);
    }
    assert_int_equal(rc, 0);
    assert_true(n > 3);
    orasi_free(z);
    buf_free(&raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_limits_and_garbage),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
