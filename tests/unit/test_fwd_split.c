/* test_fwd_split.c — byte-level splitting by destination and resource enrichment
 * (forward/split.h, forward/enrich.h), checked by decoding the outputs with the project's
 * protobuf decoder: every item of the input is in exactly one output, unchanged, under
 * the same resource and scope, and the outputs are routed by their key. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "forward/enrich.h"
#include "forward/split.h"
#include "loadgen/lggen.h"
#include "otlp/otlp_pb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NDEST 3

static int dest_by_hash(void *ud, slice_t key)
{
    (void)ud;
    return (int)(split_key_hash(key) % NDEST);
}

static void body_of(enum otlp_signal sig, size_t n, uint64_t seed, buf_t *body)
{
    lggen_t *g = lggen_create(seed, 0, LGGEN_PROTOBUF);
    assert_non_null(g);
    buf_init(body, 64u << 20);
    assert_int_equal(lggen_next(g, sig, n, 1700000000000000000ull, body, NULL), (int)n);
    lggen_destroy(g);
}

/* "traceid spanid|service|scope" for every span: the identity and placement of a span */
static size_t span_keys(slice_t body, char (*keys)[160], size_t max)
{
    arena_t *a = arena_create(1 << 20, 0);
    otlp_traces_t t;
    assert_int_equal(otlp_pb_decode_traces(body, a, &t), 0);
    assert_int_equal(t.rejected, 0);
    size_t n = 0;
    for (size_t i = 0; i < t.n_resource_spans; i++) {
        const otlp_resource_spans_t *rs = &t.resource_spans[i];
        slice_t svc = {0};
        for (size_t k = 0; k < rs->resource.attrs.n; k++)
            if (slice_eq_cstr(rs->resource.attrs.v[k].key, "service.name"))
                svc = rs->resource.attrs.v[k].value.u.str;
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const otlp_scope_spans_t *ss = &rs->scope_spans[j];
            for (size_t k = 0; k < ss->n_spans; k++) {
                assert_true(n < max);
                char *o = keys[n++];
                int w = 0;
                for (int b = 0; b < 16; b++)
                    w += sprintf(o + w, "%02x", ss->spans[k].trace_id.id[b]);
                o[w++] = ' ';
                for (int b = 0; b < 8; b++)
                    w += sprintf(o + w, "%02x", ss->spans[k].span_id.id[b]);
                snprintf(o + w, 160 - (size_t)w, "|%.*s|%.*s", (int)svc.len, (const char *)svc.p,
                         (int)ss->scope.name.len, (const char *)ss->scope.name.p);
            }
        }
    }
    arena_destroy(a);
    return n;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_split_traces(void **state)
{
    buf_t body;
    body_of(OTLP_TRACES, 300, 42, &body);
    split_out_t outs[NDEST];
    memset(outs, 0, sizeof(outs));
    for (int d = 0; d < NDEST; d++)
        buf_init(&outs[d].body, 64u << 20);
    assert_int_equal(split_request(OTLP_TRACES, buf_slice(&body), NDEST, dest_by_hash, NULL, outs),
                     0);
    static char in_keys[400][160], out_keys[400][160];
    size_t nin = span_keys(buf_slice(&body), in_keys, 400), nout = 0, items = 0;
    assert_int_equal(nin, 300);
    for (int d = 0; d < NDEST; d++) {
        size_t n = span_keys(buf_slice(&outs[d].body), out_keys + nout, 400 - nout);
        assert_int_equal(n, outs[d].items);
        /* every span here belongs here */
        for (size_t i = 0; i < n; i++) {
            uint8_t tid[16];
            for (int b = 0; b < 16; b++)
                sscanf(out_keys[nout + i] + 2 * b, "%2hhx", &tid[b]);
            assert_int_equal(split_key_hash(slice_make(tid, 16)) % NDEST, (uint64_t)d);
        }
        if (n)
            assert_true(outs[d].used);
        nout += n;
        items += outs[d].items;
    }
    assert_int_equal(items, 300);
    assert_int_equal(nout, nin);
    /* same multiset of (span, service, scope): nothing lost, duplicated or moved */
    qsort(in_keys, nin, sizeof(in_keys[0]), cmp_key);
    qsort(out_keys, nout, sizeof(out_keys[0]), cmp_key);
    for (size_t i = 0; i < nin; i++)
        assert_string_equal(in_keys[i], out_keys[i]);
    /* concatenating the outputs is a valid request with every span */
    buf_t cat;
    buf_init(&cat, 64u << 20);
    for (int d = 0; d < NDEST; d++)
        buf_append_slice(&cat, buf_slice(&outs[d].body));
    otlp_scan_t sc;
    assert_int_equal(otlp_pb_scan(OTLP_TRACES, buf_slice(&cat), &sc), 0);
    assert_int_equal(sc.n_items, 300);
    buf_free(&cat);
    for (int d = 0; d < NDEST; d++)
        buf_free(&outs[d].body);
    buf_free(&body);
}

static void test_split_metrics_logs(void **state)
{
    for (int s = OTLP_METRICS; s <= OTLP_LOGS; s++) {
        buf_t body;
        body_of((enum otlp_signal)s, 200, 7, &body);
        otlp_scan_t in;
        assert_int_equal(otlp_pb_scan((enum otlp_signal)s, buf_slice(&body), &in), 0);
        split_out_t outs[NDEST];
        memset(outs, 0, sizeof(outs));
        for (int d = 0; d < NDEST; d++)
            buf_init(&outs[d].body, 64u << 20);
        assert_int_equal(
            split_request((enum otlp_signal)s, buf_slice(&body), NDEST, dest_by_hash, NULL, outs),
            0);
        size_t total = 0, res = 0;
        for (int d = 0; d < NDEST; d++) {
            otlp_scan_t o;
            assert_int_equal(otlp_pb_scan((enum otlp_signal)s, buf_slice(&outs[d].body), &o), 0);
            assert_int_equal(o.n_items, outs[d].items);
            total += o.n_items;
            res += o.n_resources;
        }
        assert_int_equal(total, in.n_items);
        assert_int_equal(res, in.n_resources);
        for (int d = 0; d < NDEST; d++)
            buf_free(&outs[d].body);
        buf_free(&body);
    }
}

static void test_split_malformed(void **state)
{
    static const uint8_t bad[][8] = {{0x0a, 0x05, 0x12, 0x09}, {0x0a}, {0x0b, 0x00}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        split_out_t outs[NDEST];
        memset(outs, 0, sizeof(outs));
        for (int d = 0; d < NDEST; d++)
            buf_init(&outs[d].body, 1 << 20);
        int rc = split_request(OTLP_TRACES, slice_make(bad[i], 4), NDEST, dest_by_hash, NULL, outs);
        assert_int_equal(rc, ORASI_EPARSE);
        for (int d = 0; d < NDEST; d++)
            buf_free(&outs[d].body);
    }
    split_out_t o[1];
    assert_int_equal(split_request(OTLP_TRACES, slice_make("", 0), 0, dest_by_hash, NULL, o),
                     ORASI_EINVAL);
}

static slice_t attr_of(const otlp_resource_t *r, const char *key, int *count)
{
    slice_t v = {0};
    *count = 0;
    for (size_t k = 0; k < r->attrs.n; k++)
        if (slice_eq_cstr(r->attrs.v[k].key, key)) {
            v = r->attrs.v[k].value.u.str;
            (*count)++;
        }
    return v;
}

static void test_enrich(void **state)
{
    buf_t body, out;
    body_of(OTLP_TRACES, 100, 3, &body);
    buf_init(&out, 64u << 20);
    enrich_attrs_t a = {0};
    enrich_attrs_add(&a, "orasi.test.node", "node-7");
    enrich_attrs_add(&a, "orasi.test.pod", "shop-1");
    enrich_attrs_add(&a, "service.name", "never-wins"); /* already set by the application */
    assert_int_equal(enrich_request(buf_slice(&body), &a, &out), 0);
    arena_t *ar = arena_create(1 << 20, 0);
    otlp_traces_t in, t;
    assert_int_equal(otlp_pb_decode_traces(buf_slice(&body), ar, &in), 0);
    assert_int_equal(otlp_pb_decode_traces(buf_slice(&out), ar, &t), 0);
    assert_int_equal(t.n_items, 100);
    assert_int_equal(t.rejected, 0);
    assert_int_equal(t.n_resource_spans, in.n_resource_spans);
    for (size_t i = 0; i < t.n_resource_spans; i++) {
        int c;
        assert_true(
            slice_eq_cstr(attr_of(&t.resource_spans[i].resource, "orasi.test.node", &c), "node-7"));
        assert_int_equal(c, 1);
        assert_true(
            slice_eq_cstr(attr_of(&t.resource_spans[i].resource, "orasi.test.pod", &c), "shop-1"));
        slice_t orig = attr_of(&in.resource_spans[i].resource, "service.name", &c);
        slice_t now = attr_of(&t.resource_spans[i].resource, "service.name", &c);
        assert_int_equal(c, 1);
        assert_true(slice_eq(orig, now));
        assert_int_equal(t.resource_spans[i].resource.attrs.n,
                         in.resource_spans[i].resource.attrs.n + 2);
        assert_int_equal(t.resource_spans[i].n_scope_spans, in.resource_spans[i].n_scope_spans);
    }
    /* a ResourceSpans without a resource field gets one */
    static const uint8_t no_res[] = {0x0a, 0x00};
    buf_clear(&out);
    assert_int_equal(enrich_request(slice_make(no_res, 2), &a, &out), 0);
    assert_int_equal(otlp_pb_decode_traces(buf_slice(&out), ar, &t), 0);
    assert_int_equal(t.n_resource_spans, 1);
    int c;
    assert_true(
        slice_eq_cstr(attr_of(&t.resource_spans[0].resource, "orasi.test.node", &c), "node-7"));
    /* no attributes: the same bytes */
    enrich_attrs_t none = {0};
    buf_clear(&out);
    assert_int_equal(enrich_request(buf_slice(&body), &none, &out), 0);
    assert_true(slice_eq(buf_slice(&out), buf_slice(&body)));
    /* malformed */
    static const uint8_t bad[] = {0x0a, 0x05, 0x0a};
    buf_clear(&out);
    assert_int_equal(enrich_request(slice_make(bad, 3), &a, &out), ORASI_EPARSE);
    arena_destroy(ar);
    buf_free(&out);
    buf_free(&body);
}

static void test_enrich_env(void **state)
{
    setenv("K8S_NODE_NAME", "node-a", 1);
    setenv("K8S_POD_NAME", "shop-7f9c", 1);
    setenv("K8S_POD_NAMESPACE", "prod", 1);
    unsetenv("K8S_POD_UID");
    enrich_attrs_t a = {0};
    enrich_attrs_from_env(&a, 1, 1);
    assert_int_equal(a.n, 4); /* host.name + three downward-API values; no uid */
    assert_string_equal(a.key[0], "host.name");
    assert_true(a.value[0][0] != '\0');
    assert_string_equal(a.key[1], "k8s.node.name");
    assert_string_equal(a.value[1], "node-a");
    assert_string_equal(a.key[2], "k8s.pod.name");
    assert_string_equal(a.value[2], "shop-7f9c");
    assert_string_equal(a.key[3], "k8s.namespace.name");
    assert_string_equal(a.value[3], "prod");
    enrich_attrs_t none = {0};
    enrich_attrs_from_env(&none, 0, 0);
    assert_int_equal(none.n, 0);
    unsetenv("K8S_NODE_NAME");
    unsetenv("K8S_POD_NAME");
    unsetenv("K8S_POD_NAMESPACE");
}

static void test_count(void **state)
{
    for (int s = 0; s <= OTLP_LOGS; s++) {
        buf_t body;
        body_of((enum otlp_signal)s, 250, 9, &body);
        otlp_scan_t sc;
        assert_int_equal(otlp_pb_scan((enum otlp_signal)s, buf_slice(&body), &sc), 0);
        uint64_t n = 0;
        assert_int_equal(split_count((enum otlp_signal)s, buf_slice(&body), &n), 0);
        assert_int_equal(n, sc.n_items + sc.rejected);
        assert_int_equal(n, 250);
        /* a cut body is a framing error */
        assert_int_equal(split_count((enum otlp_signal)s, slice_make(body.data, body.len - 3), &n),
                         ORASI_EPARSE);
        buf_free(&body);
    }
}

static void test_resource_attr(void **state)
{
    buf_t body;
    body_of(OTLP_LOGS, 20, 11, &body);
    /* first ResourceLogs payload */
    const uint8_t *p = body.data;
    assert_int_equal(p[0], 0x0a);
    size_t len = 0, i = 1, shift = 0;
    while (p[i] & 0x80) {
        len |= (size_t)(p[i++] & 0x7f) << shift;
        shift += 7;
    }
    len |= (size_t)p[i++] << shift;
    slice_t svc = split_resource_attr(slice_make(p + i, len), "service.name");
    assert_true(svc.len > 0);
    assert_int_equal(split_resource_attr(slice_make(p + i, len), "no.such.key").len, 0);
    buf_free(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_traces),    cmocka_unit_test(test_split_metrics_logs),
        cmocka_unit_test(test_split_malformed), cmocka_unit_test(test_enrich),
        cmocka_unit_test(test_resource_attr),   cmocka_unit_test(test_count),
        cmocka_unit_test(test_enrich_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
