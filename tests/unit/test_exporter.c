/* test_exporter.c — the OTLP exporter (exporter/exporter.h) against Orasi's own HTTP
 * server on loopback ports: OTLP/HTTP and OTLP/gRPC answers classified as the OTLP spec
 * says (ok + partial success, permanent 400 / INVALID_ARGUMENT, retryable 429 / 503 /
 * RESOURCE_EXHAUSTED with Retry-After / RetryInfo, 409 / ABORTED conflicts), headers
 * (tenant, X-Orasi-Batch), gzip and zstd bodies decoded by the server to the same bytes,
 * keep-alive reuse, health GETs, refused connections (not in doubt) and timeouts (in
 * doubt). */
#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/metrics.h"
#include "exporter/exporter.h"
#include "http/base64.h"
#include "http/http.h"
#include "otlp/otlp_pb.h"

#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static int mode;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char last_batch[256], last_tenant[64];
static buf_t last_body;
static int requests;

static void remember(http_req_t *req)
{
    pthread_mutex_lock(&mu);
    slice_t b = http_req_header(req, "x-orasi-batch"), t = http_req_header(req, "x-scope-orgid");
    snprintf(last_batch, sizeof(last_batch), "%.*s", (int)b.len, (const char *)b.p);
    snprintf(last_tenant, sizeof(last_tenant), "%.*s", (int)t.len, (const char *)t.p);
    buf_clear(&last_body);
    buf_append_slice(&last_body, http_req_body(req));
    requests++;
    pthread_mutex_unlock(&mu);
}

static void on_http(http_req_t *req, void *ud)
{
    buf_t b;
    buf_init(&b, 1 << 16);
    remember(req);
    switch (mode) {
    case 0:
        otlp_pb_encode_export_response(OTLP_TRACES, 2, SLICE_LIT("two bad spans"), &b);
        http_respond(req, 200, "application/x-protobuf", b.data, b.len);
        break;
    case 1:
        otlp_pb_encode_grpc_status_details(3, "bad data", 0, &b);
        http_respond(req, 400, "application/x-protobuf", b.data, b.len);
        break;
    case 2:
        http_resp_header(req, "Retry-After", "3");
        http_respond(req, 429, "text/plain", "slow down\n", 10);
        break;
    case 3:
        http_respond(req, 409, "text/plain", "conflict\n", 9);
        break;
    default:
        http_respond(req, 503, NULL, NULL, 0);
        break;
    }
    buf_free(&b);
}

static void on_grpc(http_req_t *req, void *ud)
{
    buf_t b;
    buf_init(&b, 1 << 16);
    remember(req);
    if (mode == 0) {
        otlp_pb_encode_export_response(OTLP_TRACES, 1, SLICE_LIT("one bad span"), &b);
        grpc_respond(req, GRPC_OK, NULL, b.data, b.len, NULL, 0);
    } else if (mode == 1) {
        grpc_respond(req, GRPC_INVALID_ARGUMENT, "bad data", NULL, 0, NULL, 0);
    } else if (mode == 2) {
        otlp_pb_encode_grpc_status_details(GRPC_RESOURCE_EXHAUSTED, "full", 2000, &b);
        char *enc = base64_encode_arena(http_req_arena(req), b.data, b.len, 0);
        http_header_t tr = {"grpc-status-details-bin", enc};
        grpc_respond(req, GRPC_RESOURCE_EXHAUSTED, "full", NULL, 0, &tr, 1);
    } else if (mode == 3) {
        grpc_respond(req, 10, "conflict", NULL, 0, NULL, 0);
    } else {
        grpc_respond(req, GRPC_UNAVAILABLE, "down", NULL, 0, NULL, 0);
    }
    buf_free(&b);
}

static void on_ready(http_req_t *req, void *ud)
{
    http_respond(req, mode == 4 ? 503 : 200, "text/plain", "x\n", 2);
}

static http_server_t *srv;
static http_router_t *router;
static int port;
static loop_t *loop;

static int setup(void **state)
{
    buf_init(&last_body, 64u << 20);
    srv = http_server_create(NULL);
    router = http_router_create();
    assert_non_null(srv);
    assert_int_equal(http_route(router, "POST", "/v1/traces", on_http, NULL), 0);
    assert_int_equal(http_route(router, "POST", "/base/v1/traces", on_http, NULL), 0);
    assert_int_equal(http_route(router, "GET", "/ready", on_ready, NULL), 0);
    assert_int_equal(http_route_grpc(router,
                                     "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                                     on_grpc, NULL),
                     0);
    port = http_server_listen(srv, "127.0.0.1", 0, router);
    assert_true(port > 0);
    assert_int_equal(http_server_start(srv), 0);
    loop = loop_create();
    assert_non_null(loop);
    return 0;
}

static int teardown(void **state)
{
    http_server_stop_accepting(srv);
    http_server_drain(srv, clock_mono_ns() + 2000000000ull);
    http_server_destroy(srv);
    http_router_destroy(router);
    loop_destroy(loop);
    buf_free(&last_body);
    metrics_shutdown();
    return 0;
}

struct done_box {
    int done;
    exp_result_t r;
};

static void on_done(void *ud, const exp_result_t *r)
{
    struct done_box *b = ud;
    b->done++;
    b->r = *r;
}

static exp_result_t send_one(exp_client_t *cl, const exp_request_t *q)
{
    struct done_box box = {0};
    assert_int_equal(exp_send(cl, q, on_done, &box), 0);
    assert_int_equal(box.done, 0); /* never called inside exp_send */
    uint64_t end = clock_mono_ns() + 10000000000ull;
    while (!box.done && clock_mono_ns() < end)
        loop_run_once(loop, 50);
    assert_int_equal(box.done, 1);
    return box.r;
}

static exp_client_t *client(enum exp_protocol p, enum exp_compression c, const char *path)
{
    char url[128], err[256];
    exp_config_t cfg;
    exp_config_default(&cfg);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    cfg.url = url;
    cfg.protocol = p;
    cfg.compression = c;
    cfg.timeout_ns = 2000000000ull;
    cfg.max_connections = 2;
    exp_client_t *cl = exp_client_create(loop, &cfg, err, sizeof(err));
    assert_non_null(cl);
    return cl;
}

static const uint8_t body[] = {0x0a, 0x00, 0x0a, 0x00}; /* two empty ResourceSpans */

static void test_http_outcomes(void **state)
{
    exp_client_t *cl = client(EXP_HTTP_PROTOBUF, EXP_COMP_NONE, "");
    exp_request_t q = {OTLP_TRACES, slice_make(body, sizeof(body)), SLICE_LIT("acme"),
                       SLICE_LIT("gw-1:7.0,8.1"), NULL};
    mode = 0;
    exp_result_t r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_OK);
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.rejected, 2);
    assert_string_equal(r.message, "two bad spans");
    assert_string_equal(last_batch, "gw-1:7.0,8.1");
    assert_string_equal(last_tenant, "acme");
    assert_memory_equal(last_body.data, body, sizeof(body));
    mode = 1;
    r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_PERMANENT);
    assert_int_equal(r.http_status, 400);
    assert_string_equal(r.message, "bad data");
    mode = 2;
    r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_RETRY);
    assert_int_equal(r.retry_after_ns, 3000000000ull);
    assert_int_equal(r.err, 0);
    mode = 3;
    r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_CONFLICT);
    mode = 4;
    r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_RETRY);
    assert_int_equal(r.http_status, 503);
    /* keep-alive: all of that over at most the pool's connections */
    assert_true(http_server_connections(srv) <= 2);
    exp_client_destroy(cl);

    /* a base path is a prefix */
    cl = client(EXP_HTTP_PROTOBUF, EXP_COMP_NONE, "/base/");
    mode = 0;
    r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_OK);
    exp_client_destroy(cl);
}

static void test_grpc_outcomes(void **state)
{
    exp_client_t *cl = client(EXP_GRPC, EXP_COMP_NONE, "");
    exp_request_t q = {OTLP_TRACES, slice_make(body, sizeof(body)), SLICE_LIT("acme"),
                       SLICE_LIT("gw-1:9.0"), NULL};
    mode = 0;
    exp_result_t r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_OK);
    assert_int_equal(r.grpc_status, 0);
    assert_int_equal(r.rejected, 1);
    assert_string_equal(last_batch, "gw-1:9.0");
    assert_string_equal(last_tenant, "acme");
    mode = 1;
    r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_PERMANENT);
    assert_int_equal(r.grpc_status, GRPC_INVALID_ARGUMENT);
    assert_string_equal(r.message, "bad data");
    mode = 2;
    r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_RETRY);
    assert_int_equal(r.grpc_status, GRPC_RESOURCE_EXHAUSTED);
    assert_int_equal(r.retry_after_ns, 2000000000ull);
    mode = 3;
    r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_CONFLICT);
    mode = 4;
    r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_RETRY);
    exp_client_destroy(cl);
}

static void test_compression(void **state)
{
    /* a large compressible body, through gzip and zstd, arrives decoded and intact */
    buf_t big;
    buf_init(&big, 8u << 20);
    for (int i = 0; i < 20000; i++) {
        uint8_t rs[] = {0x0a, 0x04, 0x1a, 0x02, 'h', (uint8_t)('a' + i % 7)};
        buf_append(&big, rs, sizeof(rs));
    }
    exp_request_t q = {OTLP_TRACES, buf_slice(&big), {0}, {0}, NULL};
    mode = 0;
    enum exp_compression cs[] = {EXP_COMP_GZIP, EXP_COMP_ZSTD};
    for (int p = 0; p < 2; p++) {
        for (int c = 0; c < 2; c++) {
            exp_client_t *cl = client(p ? EXP_GRPC : EXP_HTTP_PROTOBUF, cs[c], "");
            exp_result_t r = send_one(cl, &q);
            assert_int_equal(r.outcome, EXP_OK);
            assert_int_equal(last_body.len, big.len);
            assert_memory_equal(last_body.data, big.data, big.len);
            assert_int_equal(last_tenant[0], '\0');
            exp_client_destroy(cl);
        }
    }
    buf_t z;
    buf_init(&z, 8u << 20);
    assert_int_equal(exp_compress(EXP_COMP_ZSTD, buf_slice(&big), &z), 0);
    assert_true(z.len < big.len / 10);
    buf_free(&z);
    buf_free(&big);
    assert_int_equal(exp_compression_parse("zstd"), EXP_COMP_ZSTD);
    assert_int_equal(exp_compression_parse("lz4"), -1);
    assert_int_equal(exp_protocol_parse("grpc"), EXP_GRPC);
    assert_int_equal(exp_protocol_parse("http/protobuf"), EXP_HTTP_PROTOBUF);
}

static void test_health_get(void **state)
{
    exp_client_t *cl = client(EXP_HTTP_PROTOBUF, EXP_COMP_NONE, "");
    exp_request_t q = {.signal = OTLP_TRACES, .get_path = "/ready"};
    mode = 0;
    assert_int_equal(send_one(cl, &q).outcome, EXP_OK);
    mode = 4;
    exp_result_t r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_RETRY);
    assert_int_equal(r.http_status, 503);
    exp_client_destroy(cl);
}

static int free_port(int listen_too, int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    if (listen_too) {
        assert_int_equal(listen(fd, 16), 0);
        *fd_out = fd;
    } else {
        close(fd);
    }
    return ntohs(a.sin_port);
}

static void test_refused_and_timeout(void **state)
{
    char url[64], err[256];
    exp_config_t cfg;
    exp_config_default(&cfg);
    cfg.url = url;
    cfg.timeout_ns = 300000000ull;
    exp_request_t q = {OTLP_TRACES, slice_make(body, sizeof(body)), {0}, {0}, NULL};
    /* nothing listens: refused, and certainly not delivered (not in doubt) */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port(0, NULL));
    exp_client_t *cl = exp_client_create(loop, &cfg, err, sizeof(err));
    assert_non_null(cl);
    exp_result_t r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_RETRY);
    assert_int_equal(r.err, ORASI_EUNAVAILABLE);
    assert_int_equal(r.in_doubt, 0);
    exp_client_destroy(cl);
    /* accepts (backlog) but never answers: a timeout, in doubt since the request left */
    int lfd;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port(1, &lfd));
    cl = exp_client_create(loop, &cfg, err, sizeof(err));
    uint64_t t0 = clock_mono_ns();
    r = send_one(cl, &q);
    assert_int_equal(r.outcome, EXP_RETRY);
    assert_int_equal(r.err, ORASI_ETIMEOUT);
    assert_int_equal(r.in_doubt, 1);
    assert_true(clock_mono_ns() - t0 >= 250000000ull);
    exp_client_destroy(cl);
    close(lfd);
    /* bad URLs */
    cfg.url = "https://x:1";
    assert_null(exp_client_create(loop, &cfg, err, sizeof(err)));
    cfg.url = "http://:80";
    assert_null(exp_client_create(loop, &cfg, err, sizeof(err)));
}

static void test_queue_and_destroy(void **state)
{
    /* more requests than connections queue up; destroy answers the rest as closed */
    exp_client_t *cl = client(EXP_HTTP_PROTOBUF, EXP_COMP_NONE, "");
    exp_request_t q = {OTLP_TRACES, slice_make(body, sizeof(body)), {0}, {0}, NULL};
    struct done_box boxes[10];
    memset(boxes, 0, sizeof(boxes));
    mode = 0;
    for (int i = 0; i < 10; i++)
        assert_int_equal(exp_send(cl, &q, on_done, &boxes[i]), 0);
    assert_int_equal(exp_pending(cl), 10);
    uint64_t end = clock_mono_ns() + 5000000000ull;
    int n = 0;
    while (n < 10 && clock_mono_ns() < end) {
        loop_run_once(loop, 50);
        n = 0;
        for (int i = 0; i < 10; i++)
            n += boxes[i].done;
    }
    assert_int_equal(n, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(boxes[i].r.outcome, EXP_OK);
    assert_int_equal(exp_pending(cl), 0);
    memset(boxes, 0, sizeof(boxes));
    for (int i = 0; i < 3; i++)
        assert_int_equal(exp_send(cl, &q, on_done, &boxes[i]), 0);
    exp_client_destroy(cl);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(boxes[i].done, 1);
        assert_int_equal(boxes[i].r.err, ORASI_ECLOSED);
    }
}

static void test_parse_status(void **state)
{
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(otlp_pb_encode_grpc_status_details(8, "busy", 1500, &b), 0);
    char msg[64];
    uint64_t ns;
    assert_int_equal(exp_parse_status(buf_slice(&b), msg, sizeof(msg), &ns), 0);
    assert_string_equal(msg, "busy");
    assert_int_equal(ns, 1500000000ull);
    static const uint8_t bad[] = {0x12, 0x09, 'x'};
    assert_int_equal(exp_parse_status(slice_make(bad, 3), msg, sizeof(msg), &ns), ORASI_EPARSE);
    buf_free(&b);
    assert_int_equal(exp_classify_http(200), EXP_OK);
    assert_int_equal(exp_classify_http(413), EXP_PERMANENT);
    assert_int_equal(exp_classify_http(404), EXP_RETRY);
    assert_int_equal(exp_classify_grpc(9), EXP_PERMANENT);
    assert_int_equal(exp_classify_grpc(16), EXP_RETRY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_outcomes),       cmocka_unit_test(test_grpc_outcomes),
        cmocka_unit_test(test_compression),         cmocka_unit_test(test_health_get),
        cmocka_unit_test(test_refused_and_timeout), cmocka_unit_test(test_queue_and_destroy),
        cmocka_unit_test(test_parse_status),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
