/* test_http_server.c — the HTTP/1.1 server over real sockets on 127.0.0.1: keep-alive,
 * pipelining, chunked bodies, 100-continue, limits (413 before the body, 431), malformed
 * input (400 + close), timeouts (408), Content-Encoding gzip/zstd, a gzip bomb against
 * the decoded-size cap with a peak-RSS check, 415, HTTP/1.0, routing (404/405/"*"),
 * asynchronous answers, slow readers, drain, metrics. */
#include "test_http_testlib.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <zlib.h>
#include <zstd.h>

#include <cmocka.h>

static struct tsrv S;

static int setup_default(void **state)
{
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    cfg.max_header_bytes = 8192;
    cfg.max_body_bytes = 8 << 20;
    cfg.max_decoded_bytes = 16 << 20;
    cfg.header_timeout_ns = 300 * 1000000ull;
    cfg.body_timeout_ns = 300 * 1000000ull;
    cfg.idle_timeout_ns = 600 * 1000000ull;
    tsrv_start(&S, &cfg);
    return 0;
}

static int teardown_default(void **state)
{
    tsrv_stop(&S);
    return 0;
}

static void test_keepalive_and_routes(void **state)
{
    struct tcli c;
    struct tresp r;
    assert_int_equal(tcli_connect(&c, S.port), 0);
    for (int i = 0; i < 3; i++) {
        tcli_sends(&c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_int_equal(tcli_read(&c, &r, 2000), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "hello\n");
        assert_true(thead_has(&r, "Content-Type: text/plain"));
        assert_false(thead_has(&r, "Connection: close"));
        tresp_free(&r);
    }
    tcli_sends(&c, "GET /nope HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 404);
    tresp_free(&r);
    tcli_sends(&c, "DELETE /echo HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 405);
    assert_true(thead_has(&r, "Allow: POST, PUT"));
    tresp_free(&r);
    tcli_sends(&c, "PATCH /any HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    tresp_free(&r);
    tcli_sends(&c, "HEAD /hello HTTP/1.1\r\n\r\n");
    /* Content-Length 6, but no body: read the head only */
    while (!memmem(c.buf, c.len, "\r\n\r\n", 4))
        assert_int_equal(tcli_fill(&c, 2000), 1);
    c.buf[c.len] = '\0';
    assert_non_null(strstr(c.buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(c.buf, "Content-Length: 6\r\n"));
    assert_true(tcli_fill(&c, 100) == -2); /* nothing follows */
    assert_int_equal(strstr(c.buf, "\r\n\r\n") + 4 - c.buf, (long)c.len);
    c.len = 0;
    /* still open after all that */
    tcli_sends(&c, "POST /busy HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 503);
    assert_true(thead_has(&r, "Retry-After: 3"));
    tresp_free(&r);
    tcli_close(&c);
}

static void test_pipelined(void **state)
{
    struct tcli c;
    struct tresp r;
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "POST /echo?n=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nonePOST /echo?n=2 "
                   "HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
                   "GET /hello HTTP/1.1\r\n\r\nPOST /echo?n=4 HTTP/1.1\r\nContent-Length: 4\r\n"
                   "\r\nfour");
    const char *want[] = {"one", "two", "hello\n", "four"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tcli_read(&c, &r, 2000), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, want[i]);
        tresp_free(&r);
    }
    /* pipelined behind a slow asynchronous request: answers stay in order */
    tcli_sends(&c, "GET /async HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_string_equal(r.body, "async\n");
    tresp_free(&r);
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_string_equal(r.body, "hello\n");
    tresp_free(&r);
    tcli_close(&c);
}

/* A held request (http_req_hold) keeps its body and headers after its answer while the
 * connection goes on with the next requests, pipelined ones too; releasing finishes it. */
static void test_hold(void **state)
{
    struct tcli c;
    struct tresp r;
    char req[3 * 8192];
    char body[6000];
    atomic_store(&th_held_checked, 0);
    atomic_store(&th_held_bad, 0);
    assert_int_equal(tcli_connect(&c, S.port), 0);
    for (int round = 0; round < 2; round++) {
        /* round 0: one request at a time; round 1: held + echo + held pipelined */
        size_t n = 0;
        for (int k = 0; k < (round ? 3 : 1); k++) {
            memset(body, k == 1 ? 'B' : 'A' + 2 * k + round, sizeof(body));
            n += (size_t)snprintf(req + n, sizeof(req) - n,
                                  "POST /%s HTTP/1.1\r\nX-Tag: tag-%d-%d\r\nContent-Length: %zu\r\n\r\n",
                                  k == 1 ? "echo" : "held", round, k, sizeof(body));
            memcpy(req + n, body, sizeof(body));
            n += sizeof(body);
        }
        tcli_send(&c, req, n);
        for (int k = 0; k < (round ? 3 : 1); k++) {
            assert_int_equal(tcli_read(&c, &r, 2000), 0);
            assert_int_equal(r.status, 200);
            if (k == 1)
                assert_int_equal(r.body_len, sizeof(body));
            else
                assert_string_equal(r.body, "held\n");
            tresp_free(&r);
        }
        if (!round) {
            /* the next request on the connection while the first is still held */
            tcli_sends(&c, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nZZZZZ");
            assert_int_equal(tcli_read(&c, &r, 2000), 0);
            assert_string_equal(r.body, "ZZZZZ");
            tresp_free(&r);
        }
    }
    uint64_t end = clock_mono_ns() + 5000000000ull;
    while (atomic_load(&th_held_checked) < 3 && clock_mono_ns() < end)
        usleep(1000);
    assert_int_equal(atomic_load(&th_held_checked), 3);
    assert_int_equal(atomic_load(&th_held_bad), 0);
    /* released requests are finished: nothing stays in flight */
    assert_int_equal(tsrv_inflight_settled(S.srv), 0);
    tcli_close(&c);
}

static void test_chunked(void **state)
{
    struct tcli c;
    struct tresp r;
    assert_int_equal(tcli_connect(&c, S.port), 0);
    /* sent in pieces, with extensions and trailers */
    tcli_sends(&c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val");
    usleep(20000);
    tcli_sends(&c, "\r\nhello\r\n1\r\n \r\n");
    usleep(20000);
    tcli_sends(&c, "6\r\nworld!\r\n0\r\nX-Trailer: yes\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello world!");
    tresp_free(&r);

    /* a big chunked body (forces the input buffer to grow and move) */
    size_t total = 3 << 20;
    char *big = malloc(total);
    for (size_t i = 0; i < total; i++)
        big[i] = (char)('a' + i % 26);
    tcli_sends(&c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (size_t off = 0; off < total; off += 100000) {
        size_t n = total - off < 100000 ? total - off : 100000;
        char hdr[32];
        snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
        tcli_sends(&c, hdr);
        tcli_send(&c, big + off, n);
        tcli_sends(&c, "\r\n");
    }
    tcli_sends(&c, "0\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, total);
    assert_memory_equal(r.body, big, total);
    tresp_free(&r);
    free(big);

    /* bad chunk framing -> 400 and close */
    tcli_sends(&c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 400);
    assert_true(thead_has(&r, "Connection: close"));
    tresp_free(&r);
    assert_true(tcli_closed(&c, 2000));
    tcli_close(&c);
}

static void test_expect_continue(void **state)
{
    struct tcli c;
    struct tresp r;
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 100);
    tresp_free(&r);
    tcli_sends(&c, "12345");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "12345");
    tresp_free(&r);
    /* too big: 413 straight away, no 100 */
    tcli_sends(&c, "POST /echo HTTP/1.1\r\nContent-Length: 999999999\r\nExpect: 100-continue\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 413);
    tresp_free(&r);
    assert_true(tcli_closed(&c, 2000));
    tcli_close(&c);
    /* unknown path: 404, no 100 either */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "POST /nope HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 404);
    tresp_free(&r);
    tcli_close(&c);
}

static void test_limits(void **state)
{
    struct tcli c;
    struct tresp r;
    /* 413 as soon as the head declares too much; the body is never sent */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "POST /echo HTTP/1.1\r\nContent-Length: 104857600\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 413);
    assert_true(thead_has(&r, "Connection: close"));
    tresp_free(&r);
    assert_true(tcli_closed(&c, 3000));
    tcli_close(&c);

    /* also before routing */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "POST /nope HTTP/1.1\r\nContent-Length: 104857600\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 413);
    tresp_free(&r);
    tcli_close(&c);

    /* chunked past the cap -> 413 */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    char *blk = calloc(1, 1 << 20);
    int got = -1;
    for (int i = 0; i < 12 && got != 0; i++) {
        tcli_sends(&c, "100000\r\n");
        if (tcli_send(&c, blk, 1 << 20) < 0 || tcli_sends(&c, "\r\n") < 0)
            break;
    }
    free(blk);
    assert_int_equal(tcli_read(&c, &r, 3000), 0);
    assert_int_equal(r.status, 413);
    tresp_free(&r);
    tcli_close(&c);

    /* header too large -> 431 */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    char *hdr = malloc(20000);
    strcpy(hdr, "GET /hello HTTP/1.1\r\nX-Big: ");
    size_t n = strlen(hdr);
    memset(hdr + n, 'a', 10000);
    strcpy(hdr + n + 10000, "\r\n\r\n");
    tcli_sends(&c, hdr);
    free(hdr);
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 431);
    tresp_free(&r);
    assert_true(tcli_closed(&c, 2000));
    tcli_close(&c);
}

static void test_malformed(void **state)
{
    static const struct {
        const char *req;
        int status;
    } cases[] = {
        {"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400},
        {"GARBAGE\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"POST /echo HTTP/1.1\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx", 417},
        {"POST /echo HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx", 415},
        {"GET / HTTP/1.1\nHost: x\n\n\r\n\r\n", 400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tcli c;
        struct tresp r;
        assert_int_equal(tcli_connect(&c, S.port), 0);
        tcli_sends(&c, cases[i].req);
        assert_int_equal(tcli_read(&c, &r, 2000), 0);
        if (r.status != cases[i].status)
            fail_msg("case %zu: status %d", i, r.status);
        tresp_free(&r);
        if (cases[i].status != 415)
            assert_true(tcli_closed(&c, 2000));
        tcli_close(&c);
    }
}

static void test_timeouts(void **state)
{
    struct tcli c;
    struct tresp r;
    /* half a head, then silence: 408 and close after header_timeout (300 ms) */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    uint64_t t0 = clock_mono_ns();
    tcli_sends(&c, "GET /hello HTTP/1.1\r\nHo");
    assert_int_equal(tcli_read(&c, &r, 3000), 0);
    assert_int_equal(r.status, 408);
    tresp_free(&r);
    assert_true(clock_mono_ns() - t0 >= 250000000ull);
    assert_true(tcli_closed(&c, 3000));
    tcli_close(&c);
    /* body never completes: 408 after body_timeout */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345");
    assert_int_equal(tcli_read(&c, &r, 3000), 0);
    assert_int_equal(r.status, 408);
    tresp_free(&r);
    tcli_close(&c);
    /* a connection that never sends anything is closed quietly */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    assert_true(tcli_closed(&c, 3000));
    assert_int_equal(c.len, 0);
    tcli_close(&c);
    /* idle keep-alive connection closed after idle_timeout (600 ms) */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "GET /hello HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    tresp_free(&r);
    t0 = clock_mono_ns();
    assert_true(tcli_closed(&c, 3000));
    assert_true(clock_mono_ns() - t0 >= 400000000ull);
    tcli_close(&c);
}

static size_t gzip_buf(const void *in, size_t n, uint8_t *out, size_t cap)
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

static void post_encoded(struct tcli *c, const char *enc, const void *body, size_t n)
{
    char head[256];
    snprintf(head, sizeof(head),
             "POST /echo HTTP/1.1\r\nContent-Encoding: %s\r\nContent-Length: %zu\r\n\r\n", enc,
             n);
    tcli_sends(c, head);
    tcli_send(c, body, n);
}

static void test_content_encoding(void **state)
{
    struct tcli c;
    struct tresp r;
    size_t n = 200000;
    char *plain = malloc(n);
    for (size_t i = 0; i < n; i++)
        plain[i] = (char)("telemetry"[i % 9] + (i / 1000) % 3);
    uint8_t *z = malloc(n + 1024);
    assert_int_equal(tcli_connect(&c, S.port), 0);

    size_t zn = gzip_buf(plain, n, z, n + 1024);
    post_encoded(&c, "gzip", z, zn);
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, n);
    assert_memory_equal(r.body, plain, n);
    tresp_free(&r);

    post_encoded(&c, "x-gzip", z, zn);
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, n);
    tresp_free(&r);

    size_t sn = ZSTD_compress(z, n + 1024, plain, n, 3);
    assert_false(ZSTD_isError(sn));
    post_encoded(&c, "zstd", z, sn);
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, n);
    assert_memory_equal(r.body, plain, n);
    tresp_free(&r);

    post_encoded(&c, "identity", plain, 10);
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.body_len, 10);
    tresp_free(&r);

    /* corrupt gzip -> 400 (and close) */
    z[zn / 2] ^= 0x55;
    z[zn / 2 + 1] ^= 0x55;
    post_encoded(&c, "gzip", z, zn / 2 + 10);
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 400);
    tresp_free(&r);
    tcli_close(&c);

    /* unsupported -> 415 before the handler */
    assert_int_equal(tcli_connect(&c, S.port), 0);
    post_encoded(&c, "deflate", plain, 10);
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 415);
    tresp_free(&r);
    tcli_close(&c);
    free(plain);
    free(z);
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

/* A gzip stream of 1 GiB of zeros (~1 MiB) must stop at max_decoded_bytes (16 MiB here)
 * with 413, and the process must not grow by anything like a gigabyte.
 * Deflating 1 GiB takes seconds, so the stream is built from repeated blocks: after a
 * Z_FULL_FLUSH, deflate forgets its history, so every further 1 MiB of zeros compresses
 * to the same bytes; those are repeated, then the gzip trailer (CRC32, size) is written
 * for the full gigabyte. */
static uint8_t *make_gzip_bomb(size_t *out_len)
{
    enum { MB = 1 << 20, CHUNKS = 1024 };
    static uint8_t zeros[MB];
    uint8_t *tmp = malloc(4 * MB);
    z_stream zs = {0};
    deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
    size_t off[4];
    zs.next_out = tmp;
    zs.avail_out = 4 * MB;
    for (int i = 0; i < 3; i++) {
        zs.next_in = zeros;
        zs.avail_in = MB;
        assert_int_equal(deflate(&zs, Z_FULL_FLUSH), Z_OK);
        off[i] = zs.total_out;
    }
    size_t unit = off[2] - off[1];
    assert_int_equal(off[1] - off[0], unit);
    assert_memory_equal(tmp + off[0], tmp + off[1], unit); /* position-independent */
    zs.next_in = zeros;
    zs.avail_in = 0;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t tail = zs.total_out - off[2] - 8; /* final empty block, without the trailer */
    size_t total = off[0] + unit * (CHUNKS - 1) + tail + 8;
    uint8_t *z = malloc(total);
    size_t p = 0;
    memcpy(z, tmp, off[0]); /* gzip header + first MiB */
    p = off[0];
    for (int i = 1; i < CHUNKS; i++, p += unit)
        memcpy(z + p, tmp + off[0], unit);
    memcpy(z + p, tmp + off[2], tail);
    p += tail;
    uLong crc1 = crc32(0, zeros, MB), crc = crc1;
    for (int i = 1; i < CHUNKS; i++)
        crc = crc32_combine(crc, crc1, MB);
    uint32_t isize = (uint32_t)((uint64_t)CHUNKS * MB); /* mod 2^32 */
    for (int i = 0; i < 4; i++)
        z[p++] = (uint8_t)(crc >> (8 * i));
    for (int i = 0; i < 4; i++)
        z[p++] = (uint8_t)(isize >> (8 * i));
    deflateEnd(&zs);
    free(tmp);
    *out_len = p;
    return z;
}

static void test_gzip_bomb(void **state)
{
    size_t zn;
    uint8_t *z = make_gzip_bomb(&zn);
    assert_true(zn < (2 << 20));
    /* sanity: it really inflates to 1 GiB (streamed here, 1 MiB at a time) */
    {
        z_stream is = {0};
        inflateInit2(&is, 31);
        static uint8_t out[1 << 20];
        is.next_in = z;
        is.avail_in = (uInt)zn;
        uint64_t total = 0;
        int zr;
        do {
            is.next_out = out;
            is.avail_out = sizeof(out);
            zr = inflate(&is, Z_NO_FLUSH);
            total += sizeof(out) - is.avail_out;
        } while (zr == Z_OK);
        assert_int_equal(zr, Z_STREAM_END);
        assert_true(total == (1ull << 30));
        inflateEnd(&is);
    }

    /* reset the peak-RSS counter (Linux: "5" to clear_refs) when allowed */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
    long before = peak_rss_kb();
    struct tcli c;
    struct tresp r;
    assert_int_equal(tcli_connect(&c, S.port), 0);
    post_encoded(&c, "gzip", z, zn);
    assert_int_equal(tcli_read(&c, &r, 10000), 0);
    assert_int_equal(r.status, 413);
    tresp_free(&r);
    tcli_close(&c);
    long after = peak_rss_kb();
    /* body (~1 MiB) + decoded cap (16 MiB) + slack; a real bomb would be ~1 GiB */
    assert_true(after - before < 128 * 1024);
    free(z);
}

static void test_http10(void **state)
{
    struct tcli c;
    struct tresp r;
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "GET /hello HTTP/1.0\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    assert_true(thead_has(&r, "Connection: close"));
    tresp_free(&r);
    assert_true(tcli_closed(&c, 2000));
    tcli_close(&c);

    assert_int_equal(tcli_connect(&c, S.port), 0);
    for (int i = 0; i < 2; i++) {
        tcli_sends(&c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_int_equal(tcli_read(&c, &r, 2000), 0);
        assert_int_equal(r.status, 200);
        assert_true(thead_has(&r, "Connection: keep-alive"));
        tresp_free(&r);
    }
    tcli_sends(&c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_true(thead_has(&r, "Connection: close"));
    tresp_free(&r);
    assert_true(tcli_closed(&c, 2000));
    tcli_close(&c);
}

/* The client does not read a 7 MiB answer for a while: the server must keep the rest
 * and finish when the client reads (partial writes + write interest). */
static void test_slow_reader(void **state)
{
    struct tcli c;
    struct tresp r;
    size_t n = 7 << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7);
    assert_int_equal(tcli_connect(&c, S.port), 0);
    char head[128];
    snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", n);
    tcli_sends(&c, head);
    tcli_send(&c, big, n);
    usleep(100000);
    int rr = tcli_read(&c, &r, 5000);
    if (rr)
        fprintf(stderr, "slow reader: rc %d, have %zu bytes: %.60s\n", rr, c.len, c.buf);
    assert_int_equal(rr, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, n);
    assert_memory_equal(r.body, big, n);
    tresp_free(&r);
    /* connection still usable */
    tcli_sends(&c, "GET /hello HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    tresp_free(&r);
    tcli_close(&c);
    free(big);
}

/* The client reads a bit of a big answer and vanishes: the server's next writes fail
 * (ECONNRESET / EPIPE) and must not raise SIGPIPE (default action restored in main). */
static void test_reader_vanishes(void **state)
{
    size_t n = 7 << 20;
    char *big = calloc(1, n);
    for (int round = 0; round < 3; round++) {
        struct tcli c;
        assert_int_equal(tcli_connect(&c, S.port), 0);
        char head[128];
        snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", n);
        tcli_sends(&c, head);
        tcli_send(&c, big, n);
        while (c.len < 100000)
            if (tcli_fill(&c, 2000) <= 0)
                break;
        tcli_close(&c); /* unread data: the kernel sends RST */
        usleep(50000);
    }
    free(big);
    assert_int_equal(tsrv_inflight_settled(S.srv), 0);
    /* still serving */
    struct tcli c;
    struct tresp r;
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "GET /hello HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    tresp_free(&r);
    tcli_close(&c);
}

/* A client that vanishes while its request is with an asynchronous handler: the late
 * answer is dropped safely (ASan checks the memory). */
static void test_async_client_gone(void **state)
{
    struct tcli c;
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "GET /async HTTP/1.1\r\n\r\n");
    usleep(10000);
    tcli_close(&c);
    usleep(150000); /* the handler answers after 50 ms into a closed connection */
    assert_int_equal(tsrv_inflight_settled(S.srv), 0);
}

static void test_metrics(void **state)
{
    struct tcli c;
    struct tresp r;
    assert_int_equal(tcli_connect(&c, S.port), 0);
    tcli_sends(&c, "GET /hello HTTP/1.1\r\n\r\nGET /missing HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    tresp_free(&r);
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    tresp_free(&r);
    buf_t b;
    buf_init(&b, 1 << 22);
    assert_int_equal(metrics_render(&b), 0);
    buf_append_byte(&b, 0);
    const char *txt = (const char *)b.data;
    assert_non_null(strstr(txt, "orasi_http_requests_total{route=\"/hello\",status=\"200\"}"));
    assert_non_null(strstr(txt, "orasi_http_requests_total{route=\"unmatched\",status=\"404\"}"));
    assert_non_null(strstr(txt, "orasi_http_request_duration_seconds_bucket{route=\"/hello\""));
    char g[64];
    snprintf(g, sizeof(g), "orasi_http_connections{port=\"%d\"} 1", S.port);
    assert_non_null(strstr(txt, g));
    assert_non_null(strstr(txt, "orasi_http_bytes_received_total"));
    assert_non_null(strstr(txt, "orasi_http_bytes_sent_total"));
    buf_free(&b);
    tcli_close(&c);
}

struct drain_arg {
    http_server_t *srv;
    int rc;
};

static void test_drain(void **state)
{
    /* own server: drain is terminal */
    struct tsrv t;
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    cfg.workers = 2;
    tsrv_start(&t, &cfg);
    struct tcli busy, idle;
    struct tresp r;
    assert_int_equal(tcli_connect(&busy, t.port), 0);
    assert_int_equal(tcli_connect(&idle, t.port), 0);
    tcli_sends(&idle, "GET /hello HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&idle, &r, 2000), 0);
    tresp_free(&r);
    tcli_sends(&busy, "GET /async HTTP/1.1\r\n\r\n"); /* answered 50 ms later */
    usleep(10000);
    assert_int_equal(http_server_inflight(t.srv), 1);

    http_server_stop_accepting(t.srv);
    struct tcli late;
    assert_int_equal(tcli_connect(&late, t.port), -1); /* refused */
    tcli_close(&late);

    uint64_t t0 = clock_mono_ns();
    assert_int_equal(http_server_drain(t.srv, clock_mono_ns() + 3000000000ull), 0);
    assert_true(clock_mono_ns() - t0 < 2000000000ull);
    assert_int_equal(http_server_inflight(t.srv), 0);
    assert_int_equal(http_server_connections(t.srv), 0);
    assert_int_equal(tcli_read(&busy, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    assert_true(thead_has(&r, "Connection: close"));
    tresp_free(&r);
    assert_true(tcli_closed(&busy, 1000));
    assert_true(tcli_closed(&idle, 1000));
    tcli_close(&busy);
    tcli_close(&idle);
    tsrv_stop(&t);
}

static void test_drain_timeout(void **state)
{
    struct tsrv t;
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    tsrv_start(&t, &cfg);
    th_async_delay = 400;
    struct tcli busy;
    assert_int_equal(tcli_connect(&busy, t.port), 0);
    tcli_sends(&busy, "GET /async HTTP/1.1\r\n\r\n");
    usleep(20000);
    assert_int_equal(http_server_drain(t.srv, clock_mono_ns() + 100000000ull), ORASI_ETIMEOUT);
    /* and once the handler is done, it drains */
    assert_int_equal(http_server_drain(t.srv, clock_mono_ns() + 3000000000ull), 0);
    th_async_delay = 50;
    tcli_close(&busy);
    tsrv_stop(&t);
}

/* Many connections and requests from several threads against 2 workers. */
struct load_arg {
    int port;
    int ok;
};

static void *load_thread(void *p)
{
    struct load_arg *a = p;
    for (int k = 0; k < 5; k++) {
        struct tcli c;
        if (tcli_connect(&c, a->port) != 0)
            continue;
        for (int i = 0; i < 40; i++) {
            struct tresp r;
            tcli_sends(&c, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde");
            if (tcli_read(&c, &r, 2000) == 0 && r.status == 200 && r.body_len == 5)
                a->ok++;
            tresp_free(&r);
        }
        tcli_close(&c);
    }
    return NULL;
}

static void test_multi_worker_load(void **state)
{
    struct tsrv t;
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    cfg.workers = 2;
    tsrv_start(&t, &cfg);
    pthread_t th[6];
    struct load_arg a[6];
    for (int i = 0; i < 6; i++) {
        a[i] = (struct load_arg){t.port, 0};
        pthread_create(&th[i], NULL, load_thread, &a[i]);
    }
    int total = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        total += a[i].ok;
    }
    assert_int_equal(total, 6 * 5 * 40);
    tsrv_stop(&t);
}

/* max_connections per worker: the third connection waits in the backlog and is served
 * as soon as one of the first two closes. */
static void test_max_connections(void **state)
{
    struct tsrv t;
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    cfg.max_connections = 2;
    tsrv_start(&t, &cfg);
    struct tcli a, b, c;
    struct tresp r;
    assert_int_equal(tcli_connect(&a, t.port), 0);
    assert_int_equal(tcli_connect(&b, t.port), 0);
    tcli_sends(&a, "GET /hello HTTP/1.1\r\n\r\n");
    tcli_sends(&b, "GET /hello HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&a, &r, 2000), 0);
    tresp_free(&r);
    assert_int_equal(tcli_read(&b, &r, 2000), 0);
    tresp_free(&r);
    assert_int_equal(tcli_connect(&c, t.port), 0); /* completes in the kernel backlog */
    tcli_sends(&c, "GET /hello HTTP/1.1\r\n\r\n");
    assert_int_equal(tcli_read(&c, &r, 300), -2); /* not accepted yet */
    assert_int_equal(http_server_connections(t.srv), 2);
    tcli_close(&a);
    assert_int_equal(tcli_read(&c, &r, 2000), 0);
    assert_int_equal(r.status, 200);
    tresp_free(&r);
    tcli_close(&b);
    tcli_close(&c);
    tsrv_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip_bomb), /* first: cleanest peak-RSS baseline */
        cmocka_unit_test(test_keepalive_and_routes),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_content_encoding),
        cmocka_unit_test(test_http10),
        cmocka_unit_test(test_slow_reader),
        cmocka_unit_test(test_reader_vanishes),
        cmocka_unit_test(test_async_client_gone),
        cmocka_unit_test(test_metrics),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_drain),
        cmocka_unit_test(test_drain_timeout),
        cmocka_unit_test(test_multi_worker_load),
        cmocka_unit_test(test_max_connections),
    };
    signal(SIGPIPE, SIG_DFL); /* a stray SIGPIPE must kill the test, not pass unseen */
    int rc = cmocka_run_group_tests_name("shared server", tests, setup_default, teardown_default);
    rc |= cmocka_run_group_tests_name("own servers", own, NULL, NULL);
    metrics_shutdown();
    return rc;
}
