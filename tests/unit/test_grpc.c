/* test_grpc.c — unary gRPC over the HTTP/2 server with an nghttp2 client and the real
 * nghttp binary: round trip with framing and trailers, Trailers-Only errors with a
 * percent-encoded grpc-message and a -bin trailer, UNIMPLEMENTED for unknown methods and
 * encodings, RESOURCE_EXHAUSTED for oversize (plain and after gzip), INTERNAL for bad
 * framing, gzip-compressed messages, grpc-timeout, a 4 MiB message through flow control,
 * and gRPC to an HTTP/1.1-only answer path. */
#include "http/base64.h"
#include "http/grpc.h"
#include "test_h2_client.h"
#include "test_http_testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <zlib.h>

#include <cmocka.h>

static struct tsrv S;

/* echo the message back, with an extra trailer */
static void g_echo(http_req_t *req, void *ud)
{
    slice_t b = http_req_body(req);
    http_header_t extra[] = {{"x-echo-len", "set"}};
    char n[32];
    snprintf(n, sizeof(n), "%zu", b.len);
    extra[0].value = n;
    grpc_respond(req, GRPC_OK, NULL, b.p, b.len, extra, 1);
}

/* an error with a message needing escapes and a details trailer */
static void g_fail(http_req_t *req, void *ud)
{
    uint8_t details[] = {0x08, 0x03, 0x12, 0x04, 'o', 'o', 'p', 's'};
    char *b64 = base64_encode_arena(http_req_arena(req), details, sizeof(details), 0);
    http_header_t extra[] = {{"grpc-status-details-bin", b64}};
    grpc_respond(req, GRPC_INVALID_ARGUMENT, "bad span: 100% \xc3\xa9\n", NULL, 0, extra, 1);
}

/* answers with the remaining time of the grpc-timeout deadline in ms */
static void g_deadline(http_req_t *req, void *ud)
{
    uint64_t d = http_req_deadline_ns(req);
    char msg[64];
    int n;
    if (d == 0)
        n = snprintf(msg, sizeof(msg), "none");
    else
        n = snprintf(msg, sizeof(msg), "%lld",
                     (long long)((int64_t)(d - clock_mono_ns()) / 1000000));
    grpc_respond(req, GRPC_OK, NULL, msg, (size_t)n, NULL, 0);
}

static void g_wrong(http_req_t *req, void *ud);

static void add_routes(http_router_t *r)
{
    http_route_grpc(r, "/test.Echo/Unary", g_echo, NULL);
    http_route_grpc(r, "/test.Echo/Fail", g_fail, NULL);
    http_route_grpc(r, "/test.Echo/Deadline", g_deadline, NULL);
    http_route(r, "POST", "/plain", g_wrong, NULL);
}

static int setup(void **state)
{
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    cfg.max_grpc_message_bytes = 6 << 20;
    cfg.max_decoded_bytes = 8 << 20;
    tsrv_extra_routes = add_routes;
    tsrv_start(&S, &cfg);
    return 0;
}

static int teardown(void **state)
{
    tsrv_stop(&S);
    metrics_shutdown();
    return 0;
}

static uint8_t *frame(const void *msg, size_t n, int compressed, size_t *out_len)
{
    uint8_t *f = malloc(n + 5);
    grpc_frame_header(f, compressed, (uint32_t)n);
    memcpy(f + 5, msg, n);
    *out_len = n + 5;
    return f;
}

static size_t gz(const void *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = z.total_out;
    deflateEnd(&z);
    return len;
}

static const char *GRPC_HDRS[] = {"content-type", "application/grpc", "te", "trailers"};

/* one call on a fresh connection; returns the stream (connection kept in *cp) */
static struct h2c_stream *call(struct h2c **cp, const char *path, const char *const *extra,
                               int nextra, const void *body, size_t len)
{
    struct h2c *c = h2c_connect(S.port);
    assert_non_null(c);
    const char *hdrs[16];
    memcpy(hdrs, GRPC_HDRS, sizeof(GRPC_HDRS));
    for (int i = 0; i < 2 * nextra; i++)
        hdrs[4 + i] = extra[i];
    int i = h2c_submit(c, "POST", path, hdrs, 2 + nextra, body, len);
    assert_true(i >= 0);
    assert_int_equal(h2c_run(c, 5000), 0);
    *cp = c;
    return &c->st[i];
}

static int grpc_status_of(struct h2c_stream *st)
{
    char v[32];
    /* trailers, or the headers of a Trailers-Only answer */
    if (h2c_hdr(st->trailers, "grpc-status", v, sizeof(v)) ||
        h2c_hdr(st->headers, "grpc-status", v, sizeof(v)))
        return atoi(v);
    return -1;
}

/* content-type variants: +proto is gRPC, grpc-web is not (plain routing: 404) */
static void test_content_types(void **state)
{
    static const uint8_t f[] = {0, 0, 0, 0, 1, 'x'};
    const char *cts[] = {"application/grpc+proto", "application/grpc;charset=utf-8",
                         "application/grpc-web"};
    for (int k = 0; k < 3; k++) {
        struct h2c *c = h2c_connect(S.port);
        const char *hdr[] = {"content-type", cts[k]};
        int i = h2c_submit(c, "POST", "/test.Echo/Unary", hdr, 1, f, sizeof(f));
        assert_int_equal(h2c_run(c, 3000), 0);
        if (k < 2) {
            assert_int_equal(c->st[i].status, 200);
            assert_int_equal(grpc_status_of(&c->st[i]), 0);
        } else {
            assert_int_equal(c->st[i].status, 404);
        }
        h2c_free(c);
    }
}

static void test_round_trip(void **state)
{
    struct h2c *c;
    const char *msg = "\x0a\x05hello span bytes";
    size_t fl;
    uint8_t *f = frame(msg, strlen(msg), 0, &fl);
    struct h2c_stream *st = call(&c, "/test.Echo/Unary", NULL, 0, f, fl);
    assert_int_equal(st->status, 200);
    char v[64];
    assert_string_equal(h2c_hdr(st->headers, "content-type", v, sizeof(v)), "application/grpc");
    assert_null(h2c_hdr(st->headers, "grpc-status", v, sizeof(v))); /* it is a trailer */
    assert_int_equal(st->len, fl);
    assert_memory_equal(st->data, f, fl); /* same framing, same bytes */
    assert_int_equal(grpc_status_of(st), 0);
    assert_null(h2c_hdr(st->trailers, "grpc-message", v, sizeof(v)));
    char n[32];
    snprintf(n, sizeof(n), "%zu", strlen(msg));
    assert_string_equal(h2c_hdr(st->trailers, "x-echo-len", v, sizeof(v)), n);
    h2c_free(c);
    free(f);

    /* empty message: still a 5-byte frame back, status 0 */
    f = frame("", 0, 0, &fl);
    st = call(&c, "/test.Echo/Unary", NULL, 0, f, fl);
    assert_int_equal(grpc_status_of(st), 0);
    assert_int_equal(st->len, 5);
    h2c_free(c);
    free(f);
}

static void test_error_trailers_only(void **state)
{
    struct h2c *c;
    size_t fl;
    uint8_t *f = frame("x", 1, 0, &fl);
    struct h2c_stream *st = call(&c, "/test.Echo/Fail", NULL, 0, f, fl);
    assert_int_equal(st->status, 200);
    assert_int_equal(st->len, 0); /* no DATA */
    char v[128];
    assert_string_equal(h2c_hdr(st->headers, "grpc-status", v, sizeof(v)), "3");
    assert_string_equal(h2c_hdr(st->headers, "grpc-message", v, sizeof(v)),
                        "bad span: 100%25 %C3%A9%0A");
    assert_non_null(h2c_hdr(st->headers, "grpc-status-details-bin", v, sizeof(v)));
    uint8_t dec[32];
    size_t dn;
    assert_int_equal(base64_decode(v, strlen(v), dec, sizeof(dec), &dn), 0);
    assert_int_equal(dn, 8);
    assert_memory_equal(dec, "\x08\x03\x12\x04oops", 8);
    h2c_free(c);
    free(f);
}

static void test_unimplemented(void **state)
{
    struct h2c *c;
    size_t fl;
    uint8_t *f = frame("x", 1, 0, &fl);
    struct h2c_stream *st = call(&c, "/test.Echo/Nope", NULL, 0, f, fl);
    assert_int_equal(st->status, 200);
    assert_int_equal(grpc_status_of(st), GRPC_UNIMPLEMENTED);
    h2c_free(c);
    const char *enc[] = {"grpc-encoding", "snappy"};
    st = call(&c, "/test.Echo/Unary", enc, 1, f, fl);
    assert_int_equal(grpc_status_of(st), GRPC_UNIMPLEMENTED);
    char v[64];
    assert_non_null(h2c_hdr(st->headers, "grpc-accept-encoding", v, sizeof(v)));
    h2c_free(c);
    free(f);
}

static void test_resource_exhausted(void **state)
{
    struct h2c *c;
    /* 7 MiB > max_grpc_message_bytes (6 MiB) */
    size_t n = 7 << 20, fl;
    char *big = calloc(1, n);
    uint8_t *f = frame(big, n, 0, &fl);
    struct h2c_stream *st = call(&c, "/test.Echo/Unary", NULL, 0, f, fl);
    assert_int_equal(grpc_status_of(st), GRPC_RESOURCE_EXHAUSTED);
    h2c_free(c);
    free(f);

    /* 12 MiB of zeros gzip to a few KiB but exceed max_decoded_bytes (8 MiB) */
    free(big);
    n = 12 << 20;
    big = calloc(1, n);
    uint8_t *z = malloc(1 << 20);
    size_t zn = gz(big, n, z, 1 << 20);
    f = frame(z, zn, 1, &fl);
    const char *enc[] = {"grpc-encoding", "gzip"};
    st = call(&c, "/test.Echo/Unary", enc, 1, f, fl);
    assert_int_equal(grpc_status_of(st), GRPC_RESOURCE_EXHAUSTED);
    h2c_free(c);
    free(f);
    free(z);
    free(big);
}

static void test_malformed(void **state)
{
    struct h2c *c;
    /* truncated prefix */
    struct h2c_stream *st = call(&c, "/test.Echo/Unary", NULL, 0, "\x00\x00\x00", 3);
    assert_int_equal(grpc_status_of(st), GRPC_INTERNAL);
    h2c_free(c);
    /* declared 10 bytes, 2 sent */
    st = call(&c, "/test.Echo/Unary", NULL, 0, "\x00\x00\x00\x00\x0a" "ab", 7);
    assert_int_equal(grpc_status_of(st), GRPC_INTERNAL);
    h2c_free(c);
    /* bad flags byte */
    st = call(&c, "/test.Echo/Unary", NULL, 0, "\x07\x00\x00\x00\x01x", 6);
    assert_int_equal(grpc_status_of(st), GRPC_INTERNAL);
    h2c_free(c);
    /* two messages on a unary call */
    st = call(&c, "/test.Echo/Unary", NULL, 0, "\x00\x00\x00\x00\x01" "x" "\x00\x00\x00\x00\x01" "y", 12);
    assert_int_equal(grpc_status_of(st), GRPC_INTERNAL);
    h2c_free(c);
    /* no body at all */
    st = call(&c, "/test.Echo/Unary", NULL, 0, NULL, 0);
    assert_int_equal(grpc_status_of(st), GRPC_INTERNAL);
    h2c_free(c);
    /* compressed flag without grpc-encoding */
    st = call(&c, "/test.Echo/Unary", NULL, 0, "\x01\x00\x00\x00\x01x", 6);
    assert_int_equal(grpc_status_of(st), GRPC_INTERNAL);
    h2c_free(c);
    /* compressed flag, gzip declared, but not gzip data */
    const char *enc[] = {"grpc-encoding", "gzip"};
    st = call(&c, "/test.Echo/Unary", enc, 1, "\x01\x00\x00\x00\x03xyz", 8);
    assert_int_equal(grpc_status_of(st), GRPC_INTERNAL);
    h2c_free(c);
    /* malformed grpc-timeout */
    const char *to[] = {"grpc-timeout", "soon"};
    st = call(&c, "/test.Echo/Unary", to, 1, "\x00\x00\x00\x00\x01x", 6);
    assert_int_equal(grpc_status_of(st), GRPC_INTERNAL);
    h2c_free(c);
}

static void test_gzip_message(void **state)
{
    struct h2c *c;
    size_t n = 300000;
    char *plain = malloc(n);
    for (size_t i = 0; i < n; i++)
        plain[i] = (char)("resource spans "[i % 15]);
    uint8_t *z = malloc(n);
    size_t zn = gz(plain, n, z, n);
    size_t fl;
    uint8_t *f = frame(z, zn, 1, &fl);
    const char *enc[] = {"grpc-encoding", "gzip", "grpc-accept-encoding", "gzip"};
    struct h2c_stream *st = call(&c, "/test.Echo/Unary", enc, 2, f, fl);
    assert_int_equal(grpc_status_of(st), 0);
    assert_int_equal(st->len, n + 5);
    assert_int_equal(st->data[0], 0); /* answered uncompressed */
    assert_memory_equal(st->data + 5, plain, n);
    h2c_free(c);
    /* identity encoding declared, uncompressed message */
    free(f);
    f = frame("abc", 3, 0, &fl);
    const char *ident[] = {"grpc-encoding", "identity"};
    st = call(&c, "/test.Echo/Unary", ident, 1, f, fl);
    assert_int_equal(grpc_status_of(st), 0);
    assert_int_equal(st->len, 8);
    h2c_free(c);
    free(f);
    free(z);
    free(plain);
}

static void test_timeout_header(void **state)
{
    struct h2c *c;
    size_t fl;
    uint8_t *f = frame("", 0, 0, &fl);
    const char *to[] = {"grpc-timeout", "1500m"};
    struct h2c_stream *st = call(&c, "/test.Echo/Deadline", to, 1, f, fl);
    assert_int_equal(grpc_status_of(st), 0);
    assert_true(st->len > 5);
    char txt[32] = {0};
    memcpy(txt, st->data + 5, st->len - 5 < 31 ? st->len - 5 : 31);
    long ms = atol(txt);
    assert_true(ms > 1000 && ms <= 1500);
    h2c_free(c);
    st = call(&c, "/test.Echo/Deadline", NULL, 0, f, fl);
    assert_int_equal(st->len, 9);
    assert_memory_equal(st->data + 5, "none", 4);
    h2c_free(c);
    free(f);
}

/* 4 MiB message: the raised windows must let it through quickly */
static void test_big_message(void **state)
{
    struct h2c *c;
    size_t n = 4 << 20, fl;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 31 + 7);
    uint8_t *f = frame(big, n, 0, &fl);
    uint64_t t0 = clock_mono_ns();
    struct h2c_stream *st = call(&c, "/test.Echo/Unary", NULL, 0, f, fl);
    uint64_t dt = clock_mono_ns() - t0;
    assert_int_equal(grpc_status_of(st), 0);
    assert_int_equal(st->len, fl);
    assert_memory_equal(st->data, f, fl);
    assert_true(dt < 2000000000ull);
    h2c_free(c);
    free(f);
    free(big);
}

/* gRPC content-type over HTTP/1.1 is not gRPC: plain routing applies (404 here), and
 * grpc_respond on a plain request answers 415. */
static void g_wrong(http_req_t *req, void *ud)
{
    grpc_respond(req, 0, NULL, "x", 1, NULL, 0);
}

static void test_not_grpc(void **state)
{
    struct tcli cl;
    struct tresp r;
    assert_int_equal(tcli_connect(&cl, S.port), 0);
    static const char req[] = "POST /test.Echo/Unary HTTP/1.1\r\ncontent-type: application/grpc"
                              "\r\nContent-Length: 6\r\n\r\n\x00\x00\x00\x00\x01x";
    tcli_send(&cl, req, sizeof(req) - 1);
    assert_int_equal(tcli_read(&cl, &r, 2000), 0);
    assert_int_equal(r.status, 404);
    tresp_free(&r);
    tcli_sends(&cl, "POST /plain HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(tcli_read(&cl, &r, 2000), 0);
    assert_int_equal(r.status, 415);
    tresp_free(&r);
    tcli_close(&cl);
}

/* The real nghttp client with a framed message from a file. */
static void test_nghttp_binary(void **state)
{
    char path[] = "/tmp/orasi-grpc-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t fl;
    uint8_t *f = frame("nghttp says hi", 14, 0, &fl);
    assert_int_equal(write(fd, f, fl), (ssize_t)fl);
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "nghttp -v -H ':method: POST' -H 'content-type: application/grpc' -H 'te: "
             "trailers' -d %s http://127.0.0.1:%d/test.Echo/Unary 2>&1",
             path, S.port);
    FILE *p = popen(cmd, "r");
    static char out[65536];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    pclose(p);
    unlink(path);
    /* the output holds the framed body (NUL bytes): search with memmem */
    assert_non_null(memmem(out, n, ":status: 200", 12));
    assert_non_null(memmem(out, n, "content-type: application/grpc", 30));
    assert_non_null(memmem(out, n, "grpc-status: 0", 14));
    assert_non_null(memmem(out, n, "nghttp says hi", 14));
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_error_trailers_only),
        cmocka_unit_test(test_unimplemented),     cmocka_unit_test(test_resource_exhausted),
        cmocka_unit_test(test_malformed),         cmocka_unit_test(test_gzip_message),
        cmocka_unit_test(test_timeout_header),    cmocka_unit_test(test_big_message),
        cmocka_unit_test(test_not_grpc),          cmocka_unit_test(test_nghttp_binary),
        cmocka_unit_test(test_content_types),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
