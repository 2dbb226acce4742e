/* test_h2.c — HTTP/2 cleartext (prior knowledge) against the real curl and nghttp
 * binaries and an nghttp2 client: GET/POST, multi-MB bodies through flow control,
 * Content-Encoding, 404/405/413/415, concurrent streams, a stream reset while its
 * handler is busy, and drain (GOAWAY, in-flight answer delivered, then close). */
#include "test_h2_client.h"
#include "test_http_testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cmocka.h>

static struct tsrv S;
static char tmpdir[256];

static int setup(void **state)
{
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    cfg.max_body_bytes = 12 << 20;
    tsrv_start(&S, &cfg);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/orasi-test-h2-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    tsrv_stop(&S);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return -1;
    metrics_shutdown();
    return 0;
}

/* Run a shell command, capture stdout (malloc'd, NUL-terminated). */
static char *run(const char *cmd, size_t *len)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t r;
    while ((r = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 4096) {
            cap *= 2;
            out = realloc(out, cap);
        }
    }
    out[n] = '\0';
    pclose(p);
    if (len)
        *len = n;
    return out;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_curl_get_post(void **state)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "curl -s --http2-prior-knowledge -w '|%%{http_code}|%%{http_version}' "
             "http://127.0.0.1:%d/hello",
             S.port);
    char *out = run(cmd, NULL);
    assert_string_equal(out, "hello\n|200|2");
    free(out);

    /* 5 MiB body: must pass flow control quickly */
    size_t n = 5 << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('A' + i % 23);
    char path[512];
    snprintf(path, sizeof(path), "%s/big.bin", tmpdir);
    write_file(path, big, n);
    snprintf(cmd, sizeof(cmd),
             "curl -s --http2-prior-knowledge --data-binary @%s -H 'content-type: "
             "application/octet-stream' -D %s/h.txt http://127.0.0.1:%d/echo?x=1",
             path, tmpdir, S.port);
    uint64_t t0 = clock_mono_ns();
    size_t got = 0;
    out = run(cmd, &got);
    assert_true(clock_mono_ns() - t0 < 3000000000ull);
    assert_int_equal(got, n);
    assert_memory_equal(out, big, n);
    free(out);
    snprintf(cmd, sizeof(cmd), "cat %s/h.txt", tmpdir);
    out = run(cmd, NULL);
    assert_non_null(strstr(out, "HTTP/2 200"));
    assert_non_null(strstr(out, "x-body-len: 5242880"));
    assert_non_null(strstr(out, "x-query: x=1"));
    free(out);
    free(big);
}

static void test_curl_errors_and_gzip(void **state)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "curl -s -o /dev/null --http2-prior-knowledge -w '%%{http_code}' "
             "http://127.0.0.1:%d/nope",
             S.port);
    char *out = run(cmd, NULL);
    assert_string_equal(out, "404");
    free(out);
    snprintf(cmd, sizeof(cmd),
             "curl -s -o /dev/null -X DELETE --http2-prior-knowledge -w '%%{http_code}' "
             "http://127.0.0.1:%d/echo",
             S.port);
    out = run(cmd, NULL);
    assert_string_equal(out, "405");
    free(out);
    snprintf(cmd, sizeof(cmd),
             "curl -s -o /dev/null --http2-prior-knowledge -H 'content-encoding: br' -d x "
             "-w '%%{http_code}' http://127.0.0.1:%d/echo",
             S.port);
    out = run(cmd, NULL);
    assert_string_equal(out, "415");
    free(out);

    /* gzip body */
    const char *plain = "compressed telemetry payload, compressed telemetry payload";
    uint8_t z[256];
    z_stream zs = {0};
    deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)(uintptr_t)plain;
    zs.avail_in = (uInt)strlen(plain);
    zs.next_out = z;
    zs.avail_out = sizeof(z);
    deflate(&zs, Z_FINISH);
    char path[512];
    snprintf(path, sizeof(path), "%s/b.gz", tmpdir);
    write_file(path, z, zs.total_out);
    deflateEnd(&zs);
    snprintf(cmd, sizeof(cmd),
             "curl -s --http2-prior-knowledge -H 'content-encoding: gzip' --data-binary @%s "
             "http://127.0.0.1:%d/echo",
             path, S.port);
    out = run(cmd, NULL);
    assert_string_equal(out, plain);
    free(out);

    /* 13 MiB > max_body_bytes (12 MiB): 413 */
    size_t n = 13 << 20;
    char *big = calloc(1, n);
    snprintf(path, sizeof(path), "%s/huge.bin", tmpdir);
    write_file(path, big, n);
    free(big);
    snprintf(cmd, sizeof(cmd),
             "curl -s -o /dev/null --http2-prior-knowledge --data-binary @%s "
             "-w '%%{http_code}' http://127.0.0.1:%d/echo",
             path, S.port);
    out = run(cmd, NULL);
    assert_string_equal(out, "413");
    free(out);
}

static void test_nghttp(void **state)
{
    char cmd[1024];
    /* -m 8: the same request 8 times, concurrently on one connection */
    snprintf(cmd, sizeof(cmd), "nghttp -m 8 http://127.0.0.1:%d/hello", S.port);
    char *out = run(cmd, NULL);
    assert_string_equal(out, "hello\nhello\nhello\nhello\nhello\nhello\nhello\nhello\n");
    free(out);
    char path[512];
    snprintf(path, sizeof(path), "%s/n.txt", tmpdir);
    write_file(path, "posted by nghttp", 16);
    snprintf(cmd, sizeof(cmd), "nghttp -d %s http://127.0.0.1:%d/echo", path, S.port);
    out = run(cmd, NULL);
    assert_string_equal(out, "posted by nghttp");
    free(out);
    snprintf(cmd, sizeof(cmd), "nghttp -v http://127.0.0.1:%d/async 2>&1", S.port);
    out = run(cmd, NULL);
    assert_non_null(strstr(out, ":status: 200"));
    assert_non_null(strstr(out, "async\n"));
    assert_non_null(strstr(out, "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100"));
    free(out);
}

static void test_client_streams(void **state)
{
    struct h2c *c = h2c_connect(S.port);
    assert_non_null(c);
    char bodies[20][32];
    for (int i = 0; i < 20; i++) {
        snprintf(bodies[i], sizeof(bodies[i]), "stream body %d", i);
        const char *hdr[] = {"content-type", "text/plain"};
        assert_true(h2c_submit(c, i % 4 == 0 ? "GET" : "POST", i % 4 == 0 ? "/async" : "/echo",
                               hdr, 1, i % 4 == 0 ? NULL : bodies[i],
                               i % 4 == 0 ? 0 : strlen(bodies[i])) >= 0);
    }
    assert_int_equal(h2c_run(c, 5000), 0);
    for (int i = 0; i < 20; i++) {
        struct h2c_stream *st = &c->st[i];
        assert_int_equal(st->status, 200);
        if (i % 4 == 0) {
            assert_int_equal(st->len, 6);
            assert_memory_equal(st->data, "async\n", 6);
        } else {
            assert_int_equal(st->len, strlen(bodies[i]));
            assert_memory_equal(st->data, bodies[i], st->len);
            char v[32];
            assert_non_null(h2c_hdr(st->headers, "content-length", v, sizeof(v)));
        }
    }
    h2c_free(c);
}

/* Held requests (http_req_hold) on h2 streams: answered at once, their bodies and
 * headers still intact when released after the stream closed and others ran. */
static void test_held_streams(void **state)
{
    atomic_store(&th_held_checked, 0);
    atomic_store(&th_held_bad, 0);
    struct h2c *c = h2c_connect(S.port);
    assert_non_null(c);
    char bodies[8][64];
    char tags[8][16];
    for (int i = 0; i < 8; i++) {
        snprintf(bodies[i], sizeof(bodies[i]), "held stream body %d", i);
        snprintf(tags[i], sizeof(tags[i]), "t%d", i);
        const char *hdr[] = {"x-tag", tags[i]};
        assert_true(h2c_submit(c, "POST", i % 2 ? "/echo" : "/held", hdr, 1, bodies[i],
                               strlen(bodies[i])) >= 0);
    }
    assert_int_equal(h2c_run(c, 5000), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(c->st[i].status, 200);
    uint64_t end = clock_mono_ns() + 5000000000ull;
    while (atomic_load(&th_held_checked) < 4 && clock_mono_ns() < end)
        usleep(1000);
    assert_int_equal(atomic_load(&th_held_checked), 4);
    assert_int_equal(atomic_load(&th_held_bad), 0);
    h2c_free(c);
    assert_int_equal(tsrv_inflight_settled(S.srv), 0);
}

/* Reset a stream while its handler is still working: the late answer is dropped, the
 * connection keeps working. */
static void test_reset_while_async(void **state)
{
    struct h2c *c = h2c_connect(S.port);
    int i = h2c_submit(c, "GET", "/async", NULL, 0, NULL, 0);
    h2c_run(c, 20); /* sends the request, the handler is now waiting */
    nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, c->st[i].id, NGHTTP2_CANCEL);
    h2c_run(c, 200);
    assert_true(c->st[i].closed);
    usleep(100000); /* the handler answers into the closed stream */
    int j = h2c_submit(c, "GET", "/hello", NULL, 0, NULL, 0);
    assert_int_equal(h2c_run(c, 2000), 0);
    assert_int_equal(c->st[j].status, 200);
    assert_int_equal(tsrv_inflight_settled(S.srv), 0);
    h2c_free(c);
}

struct drain_arg {
    http_server_t *srv;
    int rc;
};

static void *drain_thread(void *p)
{
    struct drain_arg *a = p;
    http_server_stop_accepting(a->srv);

    a->rc = http_server_drain(a->srv, clock_mono_ns() + 3000000000ull);
    return NULL;
}

static void test_drain_goaway(void **state)
{
    struct tsrv t;
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    tsrv_start(&t, &cfg);
    th_async_delay = 300;
    struct h2c *c = h2c_connect(t.port);
    int i = h2c_submit(c, "GET", "/async", NULL, 0, NULL, 0);
    h2c_run(c, 20);
    assert_false(c->st[i].closed);
    struct drain_arg a = {t.srv, -1};
    pthread_t th;
    pthread_create(&th, NULL, drain_thread, &a);
    assert_int_equal(h2c_run(c, 3000), 0);
    assert_int_equal(c->st[i].status, 200);
    assert_int_equal(c->st[i].len, 6);
    assert_true(c->goaway);
    assert_true(h2c_wait_eof(c, 3000));
    pthread_join(th, NULL);
    assert_int_equal(a.rc, 0);
    th_async_delay = 50;
    h2c_free(c);
    tsrv_stop(&t);
}

/* All streams of a connection share a body budget: two 700 KiB uploads against 1 MiB. */
static void test_connection_budget(void **state)
{
    struct tsrv t;
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    cfg.h2_max_buffered_bytes = 1 << 20;
    tsrv_start(&t, &cfg);
    struct h2c *c = h2c_connect(t.port);
    size_t n = 700 << 10;
    char *body = calloc(1, n);
    h2c_submit(c, "POST", "/async", NULL, 0, body, n); /* held while the handler waits */
    h2c_submit(c, "POST", "/echo", NULL, 0, body, n);
    assert_int_equal(h2c_run(c, 5000), 0);
    int s503 = 0, s200 = 0;
    for (int i = 0; i < 2; i++) {
        s503 += c->st[i].status == 503;
        s200 += c->st[i].status == 200;
    }
    assert_int_equal(s503, 1);
    assert_int_equal(s200, 1);
    /* budget released: the same upload alone passes */
    int k = h2c_submit(c, "POST", "/echo", NULL, 0, body, n);
    assert_int_equal(h2c_run(c, 5000), 0);
    assert_int_equal(c->st[k].status, 200);
    assert_int_equal(c->st[k].len, n);
    free(body);
    h2c_free(c);
    tsrv_stop(&t);
}

/* HTTP/1.1 and HTTP/2 on the same listener, and a broken preface. */
static void test_protocol_detection(void **state)
{
    struct tcli c;
    struct tresp r;
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"); /* not the real preface */
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 400);
    tresp_free(&r);
    tcli_close(&c);
    /* the preface split over several writes is still recognised */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "PRI * HTTP/2");
    usleep(20000);
    tcli_sends(&c, ".0\r\n\r\nSM\r\n\r\n");
    /* the server speaks first with SETTINGS: a 9-byte frame header, type 4 */
    while (c.len < 9)
        assert_int_equal(tcli_fill(&c, 2000), 1);
    assert_int_equal((uint8_t)c.buf[3], 4);
    tcli_close(&c);
    /* garbage after a good preface: connection error, closed */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nthis is not a frame at all....");
    assert_true(tcli_closed(&c, 2000));
    tcli_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curl_get_post),   cmocka_unit_test(test_curl_errors_and_gzip),
        cmocka_unit_test(test_nghttp),          cmocka_unit_test(test_client_streams),
        cmocka_unit_test(test_held_streams),
        cmocka_unit_test(test_reset_while_async), cmocka_unit_test(test_protocol_detection),
        cmocka_unit_test(test_drain_goaway),    cmocka_unit_test(test_connection_budget),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
