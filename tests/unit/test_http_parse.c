/* test_http_parse.c — table tests of the HTTP/1.x head parser and the chunked decoder
 * (h1_parse.h): good and bad request lines and headers, incremental input byte by byte,
 * chunk extensions and trailers, limits; plus base64 and gRPC framing helpers. */
#include "core/arena.h"
#include "core/err.h"
#include "http/base64.h"
#include "http/grpc.h"
#include "http/h1_parse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct head_case {
    const char *in;
    int expect; /* >0: consumed = strlen(in) - tail; or an ORASI_E* code */
    const char *method, *path, *query;
    int minor;
    int nheaders;
};

static void test_head_table(void **state)
{
    (void)state;
    static const struct head_case cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", 1, "GET", "/", "", 1, 0},
        {"GET /a?b=c&d HTTP/1.0\r\nHost: x\r\n\r\n", 1, "GET", "/a", "b=c&d", 0, 1},
        {"POST /v1/traces HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n", 1, "POST",
         "/v1/traces", "", 1, 2},
        {"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 1, "GET", "/", "", 1, 0}, /* leading blank lines */
        {"GET / HTTP/1.1\r\nX:\r\n\r\n", 1, "GET", "/", "", 1, 1},   /* empty value */
        {"GET / HTTP/1.1\r\nX:  a b \t\r\n\r\n", 1, "GET", "/", "", 1, 1},
        {"M-SEARCH * HTTP/1.1\r\n\r\n", 1, "M-SEARCH", "*", "", 1, 0},
        {"POST http://h:4318/v1/traces?a HTTP/1.1\r\n\r\n", 1, "POST", "/v1/traces", "a", 1, 0},
        {"GET HTTPS://h HTTP/1.1\r\n\r\n", 1, "GET", "", "", 1, 0},
        {"GET / HTTP/1.1\r\nHost: x\r\n", ORASI_EAGAIN, 0, 0, 0, 0, 0},
        {"GET / HTTP/1.1\r\n", ORASI_EAGAIN, 0, 0, 0, 0, 0},
        {"", ORASI_EAGAIN, 0, 0, 0, 0, 0},
        {"\r", ORASI_EAGAIN, 0, 0, 0, 0, 0},
        {"GET / HTTP/2.0\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"GET / HTTP/1.2\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"GET  / HTTP/1.1\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"GET / HTTP/1.1 \r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"G(T / HTTP/1.1\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {" GET / HTTP/1.1\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"GET /\x01 HTTP/1.1\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"GET / HTTP/1.1\r\n: x\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0}, /* obs-fold */
        {"GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0}, /* bare LF */
        {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"GET / HTTP/1.1\r\nA: \x7f\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
        {"GET\r\n\r\n", ORASI_EPARSE, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct head_case *tc = &cases[i];
        h1_request_t r;
        h1_header_t hs[8];
        size_t len = strlen(tc->in);
        int rc = h1_parse_request((const uint8_t *)tc->in, len, 0, &r, hs, 8);
        if (rc != (tc->expect > 0 ? (int)len : tc->expect))
            fail_msg("case %zu (%s): got %d", i, tc->in, rc);
        if (tc->expect <= 0)
            continue;
        assert_true(slice_eq_cstr(r.method, tc->method));
        assert_true(slice_eq_cstr(r.path, tc->path));
        assert_true(slice_eq_cstr(r.query, tc->query));
        assert_int_equal(r.minor_version, tc->minor);
        assert_int_equal((int)r.nheaders, tc->nheaders);
    }
}

static void test_head_values_trimmed(void **state)
{
    (void)state;
    const char *in = "POST /x HTTP/1.1\r\nA:  a b \t\r\nContent-Type:application/x-protobuf\r\n"
                     "\r\nBODY";
    h1_request_t r;
    h1_header_t hs[4];
    int rc = h1_parse_request((const uint8_t *)in, strlen(in), 0, &r, hs, 4);
    assert_int_equal(rc, (int)strlen(in) - 4);
    assert_true(slice_eq_cstr(hs[0].name, "A"));
    assert_true(slice_eq_cstr(hs[0].value, "a b"));
    assert_true(slice_eq_cstr(hs[1].value, "application/x-protobuf"));
    /* more headers than room */
    assert_int_equal(h1_parse_request((const uint8_t *)in, strlen(in), 0, &r, hs, 1),
                     ORASI_ETOOBIG);
}

/* Feed a head one byte at a time with prev_len hints: EAGAIN until the last byte. */
static void test_head_incremental(void **state)
{
    (void)state;
    const char *in = "PUT /p?q HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\n";
    size_t len = strlen(in), prev = 0;
    h1_request_t r;
    h1_header_t hs[4];
    for (size_t n = 1; n <= len; n++) {
        int rc = h1_parse_request((const uint8_t *)in, n, prev, &r, hs, 4);
        if (n < len) {
            assert_int_equal(rc, ORASI_EAGAIN);
            prev = n;
        } else {
            assert_int_equal(rc, (int)len);
        }
    }
    assert_int_equal((int)r.nheaders, 2);
    assert_true(slice_eq_cstr(r.query, "q"));
}

struct chunk_case {
    const char *in;
    int rc; /* >=0: consumed (-1 = strlen) ; or code */
    const char *out;
};

static void test_chunked_table(void **state)
{
    (void)state;
    static const struct chunk_case cases[] = {
        {"0\r\n\r\n", -1, ""},
        {"3\r\nabc\r\n0\r\n\r\n", -1, "abc"},
        {"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", -1, "abcde"},
        {"A\r\n0123456789\r\n0\r\n\r\n", -1, "0123456789"},
        {"a;ext=1;x=\"y\"\r\n0123456789\r\n0;last\r\n\r\n", -1, "0123456789"},
        {"3 ;e\r\nabc\r\n0\r\n\r\n", -1, "abc"},
        {"3\r\nabc\r\n0\r\nTrailer: v\r\nOther: w\r\n\r\n", -1, "abc"},
        {"003\r\nabc\r\n0\r\n\r\nGET /next", 15, "abc"},
        {"3\r\nabc\r\n", ORASI_EAGAIN, "abc"},
        {"3\r\nab", ORASI_EAGAIN, "ab"},
        {"", ORASI_EAGAIN, ""},
        {"x\r\n", ORASI_EPARSE, ""},
        {"\r\n", ORASI_EPARSE, ""},
        {"3\r\nabcd\r\n", ORASI_EPARSE, "abc"},
        {"3\nabc\r\n", ORASI_EPARSE, ""},
        {"-1\r\n", ORASI_EPARSE, ""},
        {"1000000000000000\r\n", ORASI_EPARSE, ""}, /* 16 digits */
        {"3\r\nabc\r\n0\r\nBad\x01: v\r\n\r\n", ORASI_EPARSE, "abc"},
        {"3;\x01\r\nabc\r\n", ORASI_EPARSE, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct chunk_case *tc = &cases[i];
        h1_chunked_t ch;
        h1_parse_chunked_init(&ch);
        size_t len = strlen(tc->in);
        uint8_t *buf = malloc(len + 1);
        memcpy(buf, tc->in, len + 1);
        size_t out = 0;
        int rc = h1_parse_chunked(&ch, buf, len, buf, &out); /* in place */
        int want = tc->rc == -1 ? (int)len : tc->rc;
        if (rc != want)
            fail_msg("chunk case %zu: rc %d want %d", i, rc, want);
        if (rc != ORASI_EPARSE &&
            (out != strlen(tc->out) || memcmp(buf, tc->out, out) != 0))
            fail_msg("chunk case %zu: output %.*s", i, (int)out, buf);
        free(buf);
    }
}

/* Every split point of a body with extensions and trailers decodes the same. */
static void test_chunked_resumable(void **state)
{
    (void)state;
    const char *in = "5;a=b\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nT: 1\r\n\r\n";
    size_t len = strlen(in);
    for (size_t step = 1; step <= len; step++) {
        h1_chunked_t ch;
        h1_parse_chunked_init(&ch);
        char out[64];
        size_t olen = 0, pos = 0;
        int rc = ORASI_EAGAIN;
        while (pos < len && rc == ORASI_EAGAIN) {
            size_t n = len - pos < step ? len - pos : step;
            size_t o = 0;
            rc = h1_parse_chunked(&ch, (const uint8_t *)in + pos, n, (uint8_t *)out + olen, &o);
            olen += o;
            pos += rc >= 0 ? (size_t)rc : n;
        }
        assert_true(rc >= 0);
        assert_int_equal(pos, len);
        assert_int_equal(olen, 12);
        assert_memory_equal(out, "hello world!", 12);
    }
}

static void test_chunked_limits(void **state)
{
    (void)state;
    /* extension longer than H1_CHUNK_LINE_MAX */
    size_t n = H1_CHUNK_LINE_MAX + 16;
    char *big = malloc(n + 8);
    memset(big, 'e', n);
    big[0] = '1';
    big[1] = ';';
    memcpy(big + n, "\r\n", 3);
    h1_chunked_t ch;
    h1_parse_chunked_init(&ch);
    uint8_t out[8];
    size_t o;
    assert_int_equal(h1_parse_chunked(&ch, (uint8_t *)big, n + 2, out, &o), ORASI_EPARSE);
    free(big);
    /* trailers beyond H1_CHUNK_TRAILER_MAX */
    n = H1_CHUNK_TRAILER_MAX * 2;
    big = malloc(n);
    memcpy(big, "0\r\n", 3);
    for (size_t i = 3; i < n; i += 8)
        memcpy(big + i, "X: yyy\r\n", n - i < 8 ? n - i : 8);
    h1_parse_chunked_init(&ch);
    assert_int_equal(h1_parse_chunked(&ch, (uint8_t *)big, n, out, &o), ORASI_EPARSE);
    free(big);
}

static void test_base64(void **state)
{
    (void)state;
    static const struct {
        const char *in, *pad, *nopad;
    } v[] = {{"", "", ""},         {"f", "Zg==", "Zg"},       {"fo", "Zm8=", "Zm8"},
             {"foo", "Zm9v", "Zm9v"}, {"foob", "Zm9vYg==", "Zm9vYg"},
             {"fooba", "Zm9vYmE=", "Zm9vYmE"}, {"foobar", "Zm9vYmFy", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[32];
        size_t n;
        assert_int_equal(base64_encode(v[i].in, strlen(v[i].in), 1, out, sizeof(out), &n), 0);
        assert_string_equal(out, v[i].pad);
        assert_int_equal(base64_encode(v[i].in, strlen(v[i].in), 0, out, sizeof(out), &n), 0);
        assert_string_equal(out, v[i].nopad);
        uint8_t dec[32];
        assert_int_equal(base64_decode(v[i].pad, strlen(v[i].pad), dec, sizeof(dec), &n), 0);
        assert_int_equal(n, strlen(v[i].in));
        assert_memory_equal(dec, v[i].in, n);
        assert_int_equal(base64_decode(v[i].nopad, strlen(v[i].nopad), dec, sizeof(dec), &n), 0);
        assert_int_equal(n, strlen(v[i].in));
    }
    char small[4];
    assert_int_equal(base64_encode("foo", 3, 1, small, sizeof(small), NULL), ORASI_ETOOBIG);
    uint8_t d[8];
    size_t n;
    assert_int_equal(base64_decode("Z", 1, d, sizeof(d), &n), ORASI_EPARSE);
    assert_int_equal(base64_decode("Zm9v!", 5, d, sizeof(d), &n), ORASI_EPARSE);
    arena_t *a = arena_create(256, 0);
    uint8_t bin[3] = {0xff, 0xfe, 0x00};
    assert_string_equal(base64_encode_arena(a, bin, 3, 0), "//4A");
    arena_destroy(a);
}

static void test_grpc_helpers(void **state)
{
    (void)state;
    uint8_t f[16];
    grpc_frame_header(f, 1, 0x01020304);
    assert_memory_equal(f, "\x01\x01\x02\x03\x04", 5);
    int comp;
    uint32_t len;
    assert_int_equal(grpc_frame_parse(f, 5, &comp, &len), 5);
    assert_int_equal(comp, 1);
    assert_int_equal(len, 0x01020304);
    assert_int_equal(grpc_frame_parse(f, 4, &comp, &len), ORASI_EAGAIN);
    f[0] = 2;
    assert_int_equal(grpc_frame_parse(f, 5, &comp, &len), ORASI_EPARSE);

    slice_t m;
    grpc_frame_header(f, 0, 3);
    memcpy(f + 5, "abc", 3);
    assert_int_equal(grpc_frame_unary(f, 8, 100, &comp, &m), 0);
    assert_true(slice_eq_cstr(m, "abc"));
    assert_int_equal(grpc_frame_unary(f, 7, 100, &comp, &m), ORASI_EPARSE); /* truncated */
    assert_int_equal(grpc_frame_unary(f, 8, 2, &comp, &m), ORASI_ETOOBIG);
    assert_int_equal(grpc_frame_unary(f, 0, 100, &comp, &m), ORASI_EPARSE); /* none */
    grpc_frame_header(f + 8, 0, 0);
    assert_int_equal(grpc_frame_unary(f, 13, 100, &comp, &m), ORASI_EPARSE); /* two */

    uint64_t ns;
    assert_int_equal(grpc_timeout_parse(SLICE_LIT("100m"), &ns), 0);
    assert_int_equal(ns, 100000000ull);
    assert_int_equal(grpc_timeout_parse(SLICE_LIT("2S"), &ns), 0);
    assert_int_equal(ns, 2000000000ull);
    assert_int_equal(grpc_timeout_parse(SLICE_LIT("99999999H"), &ns), 0);
    assert_true(ns > 1000000000ull * 3600 * 1000);
    assert_int_equal(grpc_timeout_parse(SLICE_LIT("5n"), &ns), 0);
    assert_int_equal(ns, 5);
    assert_int_equal(grpc_timeout_parse(SLICE_LIT("123456789S"), &ns), ORASI_EPARSE);
    assert_int_equal(grpc_timeout_parse(SLICE_LIT("10"), &ns), ORASI_EPARSE);
    assert_int_equal(grpc_timeout_parse(SLICE_LIT("1x"), &ns), ORASI_EPARSE);
    assert_int_equal(grpc_timeout_parse(SLICE_LIT("S"), &ns), ORASI_EPARSE);

    arena_t *a = arena_create(256, 0);
    assert_string_equal(grpc_percent_encode(a, "ok 100% \xc3\xa9\n"), "ok 100%25 %C3%A9%0A");
    arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_table),        cmocka_unit_test(test_head_values_trimmed),
        cmocka_unit_test(test_head_incremental),  cmocka_unit_test(test_chunked_table),
        cmocka_unit_test(test_chunked_resumable), cmocka_unit_test(test_chunked_limits),
        cmocka_unit_test(test_base64),            cmocka_unit_test(test_grpc_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
