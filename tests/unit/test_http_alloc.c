/* test_http_alloc.c — allocation failure on the request path: for every N up to the
 * number of allocations a request needs (plus margin), fail every allocation after the
 * Nth and check the server answers (any status) or closes, never crashes, and still
 * serves normally afterwards; ASan/LSan check for leaks and bad accesses. Covers
 * HTTP/1.1 (fresh connection, chunked, gzip), HTTP/2 and gRPC (nghttp2's allocations go
 * through orasi_malloc as well). */
#include "http/grpc.h"
#include "test_h2_client.h"
#include "test_http_testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <zlib.h>

#include <cmocka.h>

static struct tsrv S;
static uint8_t gz_body[256];
static size_t gz_len;

static void g_echo(http_req_t *req, void *ud)
{
    slice_t b = http_req_body(req);
    grpc_respond(req, GRPC_OK, NULL, b.p, b.len, NULL, 0);
}

static void add_routes(http_router_t *r)
{
    http_route_grpc(r, "/t.S/M", g_echo, NULL);
}

static int setup(void **state)
{
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    tsrv_extra_routes = add_routes;
    tsrv_start(&S, &cfg);
    const char *plain = "payload payload payload payload payload";
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)(uintptr_t)plain;
    z.avail_in = (uInt)strlen(plain);
    z.next_out = gz_body;
    z.avail_out = sizeof(gz_body);
    deflate(&z, Z_FINISH);
    gz_len = z.total_out;
    deflateEnd(&z);
    return 0;
}

static int teardown(void **state)
{
    orasi_alloc_fail_after(-1);
    tsrv_stop(&S);
    metrics_shutdown();
    return 0;
}

/* One HTTP/1.1 exchange on a new connection; returns the status, 0 if closed. */
static int h1_once(int kind)
{
    struct tcli c;
    struct tresp r;
    if (tcli_connect(&c, S.port) != 0)
        return -1;
    if (kind == 0) {
        tcli_sends(&c, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    } else if (kind == 1) {
        tcli_sends(&c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n");
    } else {
        char head[128];
        snprintf(head, sizeof(head),
                 "POST /echo HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
                 gz_len);
        tcli_sends(&c, head);
        tcli_send(&c, gz_body, gz_len);
    }
    int rc = tcli_read(&c, &r, 3000);
    int status = rc == 0 ? r.status : 0;
    if (rc == 0)
        tresp_free(&r);
    assert_true(rc == 0 || rc == -1); /* an answer or a close, never a hang */
    tcli_close(&c);
    return status;
}

static int h2_once(int grpc)
{
    struct h2c *c = h2c_connect(S.port);
    if (!c)
        return -1;
    const char *hdr[] = {"content-type", "application/grpc"};
    static const uint8_t framed[] = {0, 0, 0, 0, 3, 'a', 'b', 'c'};
    if (grpc)
        h2c_submit(c, "POST", "/t.S/M", hdr, 1, framed, sizeof(framed));
    else
        h2c_submit(c, "POST", "/echo", NULL, 0, "hello", 5);
    int rc = h2c_run(c, 3000);
    int status = rc == 0 ? c->st[0].status : 0;
    /* either finished or the connection ended: never a hang */
    assert_true(rc == 0 || c->eof || c->st[0].closed);
    h2c_free(c);
    return status;
}

static void sweep(const char *what, int (*once)(int), int kind)
{
    /* count allocations of one healthy request */
    orasi_alloc_fail_after(-1);
    assert_int_equal(once(kind), 200);
    orasi_alloc_fail_after(-1);
    assert_int_equal(once(kind), 200);
    long count = orasi_alloc_fail_after(-1);
    int answered = 0, closed = 0;
    for (long n = 0; n <= count + 8; n++) {
        orasi_alloc_fail_after(n);
        int st = once(kind);
        orasi_alloc_fail_after(-1);
        if (st > 0)
            answered++;
        else
            closed++;
        /* healthy again right away */
        assert_int_equal(once(kind), 200);
    }
    assert_true(answered > 0);
    if (getenv("ORASI_TEST_VERBOSE"))
        fprintf(stderr, "%s: %ld allocations; %d answered, %d closed\n", what, count, answered,
                closed);
    assert_int_equal(tsrv_inflight_settled(S.srv), 0);
}

static void test_h1_plain(void **state)
{
    sweep("h1 plain", h1_once, 0);
}

static void test_h1_chunked(void **state)
{
    sweep("h1 chunked", h1_once, 1);
}

static void test_h1_gzip(void **state)
{
    sweep("h1 gzip", h1_once, 2);
}

static void test_h2(void **state)
{
    sweep("h2", h2_once, 0);
}

static void test_grpc(void **state)
{
    sweep("grpc", h2_once, 1);
}

/* Cold server per attempt: request objects, arenas, decoder states and nghttp2 sessions
 * are all allocated for the first time under the failing allocator. */
static void cold_sweep(int (*once)(int), int kind)
{
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    struct tsrv saved = S;
    tsrv_start(&S, &cfg);
    orasi_alloc_fail_after(-1);
    assert_int_equal(once(kind), 200);
    long count = orasi_alloc_fail_after(-1);
    tsrv_stop(&S);
    int answered = 0;
    for (long n = 0; n <= count + 4; n++) {
        tsrv_start(&S, &cfg);
        orasi_alloc_fail_after(n);
        if (once(kind) > 0)
            answered++;
        orasi_alloc_fail_after(-1);
        assert_int_equal(once(kind), 200);
        tsrv_stop(&S);
    }
    assert_true(answered > 0);
    S = saved;
}

static void test_cold_h1_gzip(void **state)
{
    cold_sweep(h1_once, 2);
}

static void test_cold_grpc(void **state)
{
    cold_sweep(h2_once, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h1_plain), cmocka_unit_test(test_h1_chunked),
        cmocka_unit_test(test_h1_gzip),  cmocka_unit_test(test_h2),
        cmocka_unit_test(test_grpc),     cmocka_unit_test(test_cold_h1_gzip),
        cmocka_unit_test(test_cold_grpc),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
