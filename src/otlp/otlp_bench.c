/*
 * otlp_bench.c — micro-benchmark of the OTLP protobuf decoder (otlp_bench_decode in
 * otlp_pb.h). It encodes one realistic ExportTraceServiceRequest — 100 spans shaped like
 * what the OpenTelemetry SDKs send for HTTP servers: 5 resource attributes, a scope,
 * 10 span attributes (strings and ints), a status, every tenth span with an exception
 * event — and times full decode and scan over it in CPU time.
 */
#include "otlp/otlp_pb.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define BENCH_SPANS 100
#define BENCH_ATTRS 10

static otlp_any_t any_str(const char *s)
{
    otlp_any_t v = {.type = OTLP_ANY_STRING};
    v.u.str = slice_cstr(s);
    return v;
}

static otlp_any_t any_int(int64_t i)
{
    otlp_any_t v = {.type = OTLP_ANY_INT};
    v.u.i64 = i;
    return v;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Deterministic pseudo-random bytes for ids (xorshift). */
static void fill_id(uint8_t *p, size_t n, uint64_t *state)
{
    for (size_t i = 0; i < n; i++) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        p[i] = (uint8_t)*state;
    }
}

/* Encode the benchmark request into `out`. */
static int bench_build(buf_t *out)
{
    static const char *const routes[] = {"/api/users/{id}", "/api/orders", "/health",
                                         "/api/cart/{id}/items"};
    otlp_kv_t res_attrs[5] = {
        {SLICE_LIT("service.name"), any_str("checkout-service")},
        {SLICE_LIT("service.version"), any_str("1.42.0")},
        {SLICE_LIT("host.name"), any_str("ip-10-0-12-34.eu-west-1.compute.internal")},
        {SLICE_LIT("telemetry.sdk.language"), any_str("nodejs")},
        {SLICE_LIT("telemetry.sdk.version"), any_str("1.30.1")},
    };
    otlp_kv_t attrs[BENCH_SPANS][BENCH_ATTRS];
    otlp_kv_t ev_attrs[2] = {
        {SLICE_LIT("exception.type"), any_str("TimeoutError")},
        {SLICE_LIT("exception.message"), any_str("upstream request timed out after 3000 ms")},
    };
    otlp_event_t ev = {.time_unix_nano = 1700000000500000000ull,
                       .name = SLICE_LIT("exception"),
                       .attrs = {ev_attrs, 2}};
    static otlp_span_t spans[BENCH_SPANS];
    uint64_t rnd = 0x9e3779b97f4a7c15ull;
    uint8_t trace[16];
    for (int i = 0; i < BENCH_SPANS; i++) {
        otlp_span_t *sp = &spans[i];
        const char *route = routes[i % 4];
        memset(sp, 0, sizeof(*sp));
        if (i % 10 == 0)
            fill_id(trace, 16, &rnd);
        memcpy(sp->trace_id.id, trace, 16);
        sp->trace_id.len = 16;
        fill_id(sp->span_id.id, 8, &rnd);
        sp->span_id.len = 8;
        if (i % 10) {
            memcpy(sp->parent_span_id.id, spans[i - 1].span_id.id, 8);
            sp->parent_span_id.len = 8;
        }
        sp->name = slice_cstr(route);
        sp->kind = i % 10 ? OTLP_SPAN_KIND_CLIENT : OTLP_SPAN_KIND_SERVER;
        sp->start_time_unix_nano = 1700000000000000000ull + (uint64_t)i * 1000000u;
        sp->end_time_unix_nano = sp->start_time_unix_nano + 2500000u + (uint64_t)i * 1000u;
        sp->flags = 0x101;
        otlp_kv_t *a = attrs[i];
        a[0] = (otlp_kv_t){SLICE_LIT("http.request.method"), any_str("GET")};
        a[1] = (otlp_kv_t){SLICE_LIT("http.route"), any_str(route)};
        a[2] =
            (otlp_kv_t){SLICE_LIT("http.response.status_code"), any_int(200 + (i % 7 == 0) * 300)};
        a[3] = (otlp_kv_t){SLICE_LIT("url.scheme"), any_str("https")};
        a[4] = (otlp_kv_t){SLICE_LIT("url.path"),
                           any_str("/api/users/8f14e45fceea167a5a36dedd4bea2543")};
        a[5] = (otlp_kv_t){SLICE_LIT("server.address"), any_str("checkout.internal.example.com")};
        a[6] = (otlp_kv_t){SLICE_LIT("server.port"), any_int(8443)};
        a[7] = (otlp_kv_t){SLICE_LIT("network.protocol.version"), any_str("1.1")};
        a[8] = (otlp_kv_t){
            SLICE_LIT("user_agent.original"),
            any_str("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)")};
        a[9] = (otlp_kv_t){SLICE_LIT("client.address"), any_str("10.0.3.17")};
        sp->attrs = (otlp_attrs_t){a, BENCH_ATTRS};
        if (i % 10 == 9) {
            sp->events = &ev;
            sp->n_events = 1;
            sp->status.code = OTLP_STATUS_ERROR;
            sp->status.message = SLICE_LIT("upstream timeout");
        }
    }
    otlp_scope_spans_t ss = {.scope = {.name = SLICE_LIT("@opentelemetry/instrumentation-http"),
                                       .version = SLICE_LIT("0.57.1")},
                             .spans = spans,
                             .n_spans = BENCH_SPANS};
    otlp_resource_spans_t rs = {.resource = {.attrs = {res_attrs, 5}},
                                .scope_spans = &ss,
                                .n_scope_spans = 1,
                                .schema_url = SLICE_LIT("https://opentelemetry.io/schemas/1.26.0")};
    otlp_traces_t t = {.resource_spans = &rs, .n_resource_spans = 1};
    return otlp_pb_encode_traces(&t, out);
}

int otlp_bench_decode(int iterations, FILE *out)
{
    buf_t body;
    arena_t *a = NULL;
    int rc;
    buf_init(&body, 1 << 20);
    if (iterations < 1)
        iterations = 1;
    if ((rc = bench_build(&body)) < 0)
        goto out;
    a = arena_create(256 * 1024, 0);
    if (!a) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    slice_t s = buf_slice(&body);
    otlp_traces_t t;
    otlp_scan_t sc;
    /* warm up and check that the request is what we think it is */
    if ((rc = otlp_pb_decode_traces(s, a, &t)) < 0)
        goto out;
    if (t.n_items != BENCH_SPANS || t.rejected) {
        rc = ORASI_EINTERNAL;
        goto out;
    }
    double t0 = cpu_seconds();
    for (int i = 0; i < iterations; i++) {
        arena_reset(a);
        if ((rc = otlp_pb_decode_traces(s, a, &t)) < 0)
            goto out;
    }
    double t1 = cpu_seconds();
    for (int i = 0; i < iterations; i++)
        if ((rc = otlp_pb_scan(OTLP_TRACES, s, &sc)) < 0)
            goto out;
    double t2 = cpu_seconds();
    double mb = (double)s.len * iterations / 1e6;
    double dd = t1 - t0 > 1e-9 ? t1 - t0 : 1e-9, ds = t2 - t1 > 1e-9 ? t2 - t1 : 1e-9;
    fprintf(out, "request: %zu bytes, %d spans; %d iterations\n", s.len, BENCH_SPANS, iterations);
    fprintf(out, "decode: %.1f MB/s, %.0f spans/s\n", mb / dd,
            BENCH_SPANS * (double)iterations / dd);
    fprintf(out, "scan:   %.1f MB/s, %.0f spans/s\n", mb / ds,
            BENCH_SPANS * (double)iterations / ds);
    rc = 0;
out:
    arena_destroy(a);
    buf_free(&body);
    return rc;
}
