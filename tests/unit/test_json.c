/* test_json.c — the generic JSON parser (src/otlp/json.c): grammar tables, escapes and
 * surrogates, UTF-8, limits, numbers, navigation, writer helpers, allocation failure. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "otlp/json.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int parse(arena_t *a, const char *s, size_t len, json_doc_t *d, json_err_t *e)
{
    return json_parse(slice_make(s, len), NULL, a, d, e);
}

/* Every RFC 8259 construct must parse; each row names the expected root type and token count. */
static void test_valid_table(void **state)
{
    static const struct {
        const char *in;
        enum json_type root;
        uint32_t ntok;
    } rows[] = {
        {"null", JSON_NULL, 1},
        {"true", JSON_TRUE, 1},
        {"false", JSON_FALSE, 1},
        {" \t\r\n0 \n", JSON_NUMBER, 1},
        {"-0", JSON_NUMBER, 1},
        {"-12.5e+3", JSON_NUMBER, 1},
        {"1E-2", JSON_NUMBER, 1},
        {"\"\"", JSON_STRING, 1},
        {"\"abc\"", JSON_STRING, 1},
        {"[]", JSON_ARRAY, 1},
        {"{}", JSON_OBJECT, 1},
        {"[1,2,3]", JSON_ARRAY, 4},
        {"[ [ ] , { } ]", JSON_ARRAY, 3},
        {"{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}", JSON_OBJECT, 12},
        {"\"h\\u00e9llo \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\"", JSON_STRING, 1},
        {"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", JSON_STRING, 1}, /* é € 😀 raw */
        {"[\"a\" , \"b\"\n,\n\"c\"]", JSON_ARRAY, 4},
        {"{\"\":\"\"}", JSON_OBJECT, 3},
        {"{\"a\":1,\"a\":2}", JSON_OBJECT, 5},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        arena_t *a = arena_create(0, 0);
        json_doc_t d;
        json_err_t e;
        int rc = parse(a, rows[i].in, strlen(rows[i].in), &d, &e);
        if (rc != 0)
            fail_msg("row %zu (%s): rc %d: %s", i, rows[i].in, rc, e.msg);
        assert_int_equal(d.t[0].type, rows[i].root);
        assert_int_equal(d.n, rows[i].ntok);
        assert_int_equal(d.t[0].next, d.n);
        arena_destroy(a);
    }
}

/* Every malformed text must fail with the expected code and a positioned message. */
static void test_invalid_table(void **state)
{
    static const struct {
        const char *in;
        size_t len; /* 0: strlen */
        int code;
        size_t off; /* expected error offset, (size_t)-1: any */
    } rows[] = {
        {"", 0, ORASI_EPARSE, 0},
        {"   ", 0, ORASI_EPARSE, 3},
        {"[", 0, ORASI_EPARSE, 1},
        {"[1,]", 0, ORASI_EPARSE, 3},
        {"[,1]", 0, ORASI_EPARSE, 1},
        {"{\"a\":1,}", 0, ORASI_EPARSE, 7},
        {"{\"a\" 1}", 0, ORASI_EPARSE, 5},
        {"{a:1}", 0, ORASI_EPARSE, 1},
        {"{\"a\":}", 0, ORASI_EPARSE, 5},
        {"[1 2]", 0, ORASI_EPARSE, 3},
        {"[1}", 0, ORASI_EPARSE, 2},
        {"{\"a\":1]", 0, ORASI_EPARSE, 6},
        {"01", 0, ORASI_EPARSE, 1},
        {"-", 0, ORASI_EPARSE, 0},
        {"1.", 0, ORASI_EPARSE, 0},
        {".5", 0, ORASI_EPARSE, 0},
        {"1e", 0, ORASI_EPARSE, 0},
        {"1e+", 0, ORASI_EPARSE, 0},
        {"+1", 0, ORASI_EPARSE, 0},
        {"0x10", 0, ORASI_EPARSE, 1},
        {"NaN", 0, ORASI_EPARSE, 0},
        {"Infinity", 0, ORASI_EPARSE, 0},
        {"tru", 0, ORASI_EPARSE, 0},
        {"nul", 0, ORASI_EPARSE, 0},
        {"truex", 0, ORASI_EPARSE, 4},
        {"\"abc", 0, ORASI_EPARSE, 0},
        {"\"a\\\"", 0, ORASI_EPARSE, 0},
        {"\"\\x\"", 0, ORASI_EPARSE, 1},
        {"\"\\u12\"", 0, ORASI_EPARSE, 1},
        {"\"\\u12G4\"", 0, ORASI_EPARSE, 1},
        {"\"a\tb\"", 0, ORASI_EPARSE, 2},
        {"\"a\nb\"", 0, ORASI_EPARSE, 2},
        {"\"\\ud800\"", 0, ORASI_EUTF8, 0},
        {"\"\\udc00\"", 0, ORASI_EUTF8, 0},
        {"\"\\ud800\\u0041\"", 0, ORASI_EUTF8, 0},
        {"\"\\ud800x\"", 0, ORASI_EUTF8, 0},
        {"\"\xff\"", 0, ORASI_EUTF8, 1},
        {"\"\xc0\xaf\"", 0, ORASI_EUTF8, 1},         /* overlong '/' */
        {"\"\xe0\x80\xaf\"", 0, ORASI_EUTF8, 1},     /* overlong 3-byte */
        {"\"\xed\xa0\x80\"", 0, ORASI_EUTF8, 1},     /* encoded surrogate */
        {"\"\xf4\x90\x80\x80\"", 0, ORASI_EUTF8, 1}, /* > U+10FFFF */
        {"\"\xc3\"", 0, ORASI_EUTF8, 1},             /* truncated sequence */
        {"\"abcdefgh\x80ijkl\"", 0, ORASI_EUTF8, 9}, /* after the SWAR fast path */
        {"\xc3\xa9", 0, ORASI_EPARSE, 0},            /* non-ASCII outside a string */
        {"[1] x", 0, ORASI_EPARSE, 4},
        {"{} {}", 0, ORASI_EPARSE, 3},
        {"[\"a\"\0]", 5, ORASI_EPARSE, 4},
        {"\"a\0b\"", 5, ORASI_EPARSE, 2},
        {"\xef\xbb\xbf{}", 0, ORASI_EPARSE, 0}, /* BOM is not accepted */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        arena_t *a = arena_create(0, 0);
        json_doc_t d;
        json_err_t e;
        size_t len = rows[i].len ? rows[i].len : strlen(rows[i].in);
        int rc = parse(a, rows[i].in, len, &d, &e);
        if (rc != rows[i].code)
            fail_msg("row %zu: rc %d (%s), want %d", i, rc, e.msg, rows[i].code);
        if (rows[i].off != (size_t)-1 && e.offset != rows[i].off)
            fail_msg("row %zu: offset %zu, want %zu (%s)", i, e.offset, rows[i].off, e.msg);
        assert_true(strlen(e.msg) > 0);
        assert_non_null(strstr(e.msg, "line 1 col"));
        assert_null(d.t);
        arena_destroy(a);
    }
}

static void test_error_line_col(void **state)
{
    const char *s = "{\n  \"a\": 1,\n  \"b\": [1, 2,,]\n}";
    arena_t *a = arena_create(0, 0);
    json_doc_t d;
    json_err_t e;
    assert_int_equal(parse(a, s, strlen(s), &d, &e), ORASI_EPARSE);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.col, 14);
    assert_non_null(strstr(e.msg, "line 3 col 14"));
    arena_destroy(a);
}

static void test_escapes(void **state)
{
    static const struct {
        const char *in;
        const char *out;
        size_t outlen;
        int escaped;
    } rows[] = {
        {"\"plain\"", "plain", 5, 0},
        {"\"a\\nb\"", "a\nb", 3, 1},
        {"\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6, 1},
        {"\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80", 4, 1},
        {"\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4, 1}, /* U+10FFFF */
        {"\"\\u0000x\"", "\0x", 2, 1},
        {"\"\\\"\\\\\\/\\b\\f\\r\\t\"", "\"\\/\b\f\r\t", 7, 1},
        {"\"0123456789abcdef\\n0123456789abcdef\"", "0123456789abcdef\n0123456789abcdef", 33, 1},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        arena_t *a = arena_create(0, 0);
        json_doc_t d;
        json_err_t e;
        int rc = parse(a, rows[i].in, strlen(rows[i].in), &d, &e);
        if (rc)
            fail_msg("row %zu: %s", i, e.msg);
        slice_t s = json_slice(&d, 0);
        assert_int_equal(s.len, rows[i].outlen);
        assert_memory_equal(s.p, rows[i].out, s.len);
        assert_int_equal(!!(d.t[0].flags & JSON_F_ESCAPED), rows[i].escaped);
        if (!rows[i].escaped) /* zero copy: points into the input */
            assert_ptr_equal(s.p, (const uint8_t *)rows[i].in + 1);
        arena_destroy(a);
    }
}

static void test_lenient_utf8(void **state)
{
    const char *s = "[\"ok\",\"bad\xff\",\"\\ud800\",\"\\ud83d\\ude00\"]";
    json_limits_t lim = {.flags = JSON_LENIENT_UTF8};
    arena_t *a = arena_create(0, 0);
    json_doc_t d;
    json_err_t e;
    assert_int_equal(json_parse(slice_cstr(s), &lim, a, &d, &e), 0);
    assert_int_equal(d.n, 5);
    assert_int_equal(d.t[1].flags & JSON_F_BADUTF8, 0);
    assert_int_equal(d.t[2].flags & JSON_F_BADUTF8, JSON_F_BADUTF8);
    assert_int_equal(d.t[3].flags & JSON_F_BADUTF8, JSON_F_BADUTF8);
    assert_int_equal(d.t[4].flags & JSON_F_BADUTF8, 0);
    /* strict mode rejects the same document */
    assert_int_equal(json_parse(slice_cstr(s), NULL, a, &d, &e), ORASI_EUTF8);
    arena_destroy(a);
}

static char *nest(const char *open, const char *close, int depth, size_t *len)
{
    size_t lo = strlen(open), lc = strlen(close);
    char *s = malloc(depth * (lo + lc) + 2);
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        memcpy(s + n, open, lo);
        n += lo;
    }
    s[n++] = '1';
    for (int i = 0; i < depth; i++) {
        memcpy(s + n, close, lc);
        n += lc;
    }
    s[n] = '\0';
    *len = n;
    return s;
}

static void test_depth_limit(void **state)
{
    arena_t *a = arena_create(0, 0);
    json_doc_t d;
    json_err_t e;
    size_t len;
    char *s = nest("[", "]", 64, &len);
    assert_int_equal(json_parse(slice_make(s, len), NULL, a, &d, &e), 0);
    free(s);
    s = nest("[", "]", 65, &len);
    assert_int_equal(json_parse(slice_make(s, len), NULL, a, &d, &e), ORASI_EDEPTH);
    assert_int_equal(e.offset, 64);
    free(s);
    s = nest("{\"a\":", "}", 65, &len);
    assert_int_equal(json_parse(slice_make(s, len), NULL, a, &d, &e), ORASI_EDEPTH);
    free(s);
    /* a million levels: an error, not a stack overflow */
    s = nest("[", "]", 1000000, &len);
    json_limits_t big = {.max_depth = 1000000};
    assert_int_equal(json_parse(slice_make(s, len), &big, a, &d, &e), ORASI_EDEPTH);
    assert_int_equal(e.offset, JSON_MAX_DEPTH_LIMIT); /* max_depth is clamped */
    free(s);
    json_limits_t l3 = {.max_depth = 3};
    assert_int_equal(json_parse(SLICE_LIT("[[[1]]]"), &l3, a, &d, &e), 0);
    assert_int_equal(json_parse(SLICE_LIT("[[[[1]]]]"), &l3, a, &d, &e), ORASI_EDEPTH);
    arena_destroy(a);
}

static void test_size_limits(void **state)
{
    arena_t *a = arena_create(0, 0);
    json_doc_t d;
    json_err_t e;
    json_limits_t l = {.max_tokens = 4};
    assert_int_equal(json_parse(SLICE_LIT("[1,2,3]"), &l, a, &d, &e), 0);
    assert_int_equal(json_parse(SLICE_LIT("[1,2,3,4]"), &l, a, &d, &e), ORASI_ETOOBIG);
    assert_non_null(strstr(e.msg, "too many tokens"));
    json_limits_t li = {.max_input = 8};
    assert_int_equal(json_parse(SLICE_LIT("[1,2,3]"), &li, a, &d, &e), 0);
    assert_int_equal(json_parse(SLICE_LIT("[1,2,3,4]"), &li, a, &d, &e), ORASI_ETOOBIG);
    arena_destroy(a);
    /* an arena cap turns into ORASI_ENOMEM, not a crash */
    arena_t *small = arena_create(256, 1024);
    char big[4096];
    size_t n = 0;
    big[n++] = '[';
    for (int i = 0; i < 1000; i++) {
        big[n++] = '1';
        big[n++] = ',';
    }
    big[n++] = '1';
    big[n++] = ']';
    assert_int_equal(json_parse(slice_make(big, n), NULL, small, &d, &e), ORASI_ENOMEM);
    arena_destroy(small);
}

/* Token growth: a document far larger than the initial guess keeps every token right. */
static void test_many_tokens(void **state)
{
    size_t cap = 1 << 20, n = 0;
    char *s = malloc(cap);
    s[n++] = '[';
    for (int i = 0; i < 50000; i++)
        n += (size_t)sprintf(s + n, "%s[%d]", i ? "," : "", i);
    s[n++] = ']';
    arena_t *a = arena_create(0, 0);
    json_doc_t d;
    json_err_t e;
    assert_int_equal(json_parse(slice_make(s, n), NULL, a, &d, &e), 0);
    assert_int_equal(d.n, 1 + 2 * 50000);
    assert_int_equal(d.t[0].n, 50000);
    uint32_t k = 0;
    JSON_ARR_FOREACH(&d, 0, el)
    {
        assert_int_equal(d.t[el].type, JSON_ARRAY);
        int64_t v;
        assert_int_equal(json_num_i64(json_slice(&d, el + 1), &v), 0);
        assert_int_equal(v, k);
        k++;
    }
    assert_int_equal(k, 50000);
    assert_int_equal(json_arr_get(&d, 0, 49999), d.n - 2);
    assert_int_equal(json_arr_get(&d, 0, 50000), JSON_NONE);
    arena_destroy(a);
    free(s);
}

/* Sparse start, dense end: the token array must regrow several times and stay right. */
static void test_uneven_density(void **state)
{
    size_t cap = 1 << 20, n = 0;
    char *s = malloc(cap);
    n += (size_t)sprintf(s + n, "[\"");
    for (int i = 0; i < 20000; i++)
        s[n++] = 'x';
    n += (size_t)sprintf(s + n, "\\n\"");
    for (int i = 0; i < 100000; i++)
        n += (size_t)sprintf(s + n, ",%d", i % 10);
    s[n++] = ']';
    arena_t *a = arena_create(0, 0);
    json_doc_t d;
    json_err_t e;
    assert_int_equal(json_parse(slice_make(s, n), NULL, a, &d, &e), 0);
    assert_int_equal(d.n, 100002);
    assert_int_equal(d.t[1].len, 20001);
    assert_true(d.t[1].flags & JSON_F_ESCAPED);
    assert_int_equal(json_off(&d, 1), 1);
    assert_int_equal(d.t[d.n - 1].p[0], '0' + 99999 % 10);
    /* growth stays near the final size: no more than ~2x the final array in the arena */
    assert_true(arena_used(a) < 3 * (size_t)d.n * sizeof(json_tok_t) + (1 << 20));
    arena_destroy(a);
    free(s);
}

static void test_navigation(void **state)
{
    const char *s =
        "{\"a\":{\"x\":[1,{\"y\":2}],\"z\":null},\"b\":\"str\",\"a2\":[],\"b\":\"last\"}";
    arena_t *a = arena_create(0, 0);
    json_doc_t d;
    json_err_t e;
    assert_int_equal(parse(a, s, strlen(s), &d, &e), 0);
    assert_int_equal(d.t[0].n, 4);
    uint32_t va = json_obj_get(&d, 0, "a");
    assert_true(json_is(&d, va, JSON_OBJECT));
    uint32_t vx = json_obj_get(&d, va, "x");
    assert_true(json_is(&d, vx, JSON_ARRAY));
    uint32_t el1 = json_arr_get(&d, vx, 1);
    uint32_t vy = json_obj_get(&d, el1, "y");
    assert_true(json_is(&d, vy, JSON_NUMBER));
    assert_true(slice_eq_cstr(json_slice(&d, vy), "2"));
    assert_true(json_is(&d, json_obj_get(&d, va, "z"), JSON_NULL));
    /* duplicate key: last wins */
    assert_true(slice_eq_cstr(json_slice(&d, json_obj_get(&d, 0, "b")), "last"));
    assert_int_equal(json_obj_get(&d, 0, "nope"), JSON_NONE);
    /* offsets point at each token's first byte, for messages */
    assert_int_equal(json_off(&d, 0), 0);
    assert_int_equal(json_off(&d, 1), 1);  /* "a" */
    assert_int_equal(json_off(&d, va), 5); /* { */
    assert_int_equal(json_off(&d, vy), (uint32_t)(strstr(s, "2}") - s));
    assert_int_equal(json_obj_get(&d, vx, "a"), JSON_NONE); /* not an object */
    /* iteration skips whole subtrees */
    const char *keys[] = {"a", "b", "a2", "b"};
    int i = 0;
    JSON_OBJ_FOREACH(&d, 0, k, v)
    {
        assert_true(json_key_is(&d, k, keys[i]));
        (void)v;
        i++;
    }
    assert_int_equal(i, 4);
    arena_destroy(a);
}

static void test_numbers(void **state)
{
    static const struct {
        const char *in;
        int rc;
        int64_t v;
    } i64[] = {
        {"0", 0, 0},
        {"-0", 0, 0},
        {"42", 0, 42},
        {"-42", 0, -42},
        {"9223372036854775807", 0, INT64_MAX},
        {"-9223372036854775808", 0, INT64_MIN},
        {"9223372036854775808", ORASI_ETOOBIG, 0},
        {"-9223372036854775809", ORASI_ETOOBIG, 0},
        {"99999999999999999999999", ORASI_ETOOBIG, 0},
        {"1e3", 0, 1000},
        {"1.5e1", 0, 15},
        {"1.0", 0, 1},
        {"-2.000", 0, -2},
        {"1500e-2", 0, 15},
        {"0e999999", 0, 0},
        {"1.5", ORASI_EINVAL, 0},
        {"1e-1", ORASI_EINVAL, 0},
        {"1e19", ORASI_ETOOBIG, 0},
        {"9.223372036854775807e18", 0, INT64_MAX},
        {"", ORASI_EPARSE, 0},
        {"12a", ORASI_EPARSE, 0},
        {" 1", ORASI_EPARSE, 0},
        {"+1", ORASI_EPARSE, 0},
        {"01", ORASI_EPARSE, 0},
    };
    for (size_t i = 0; i < sizeof(i64) / sizeof(i64[0]); i++) {
        int64_t v = 12345;
        int rc = json_num_i64(slice_cstr(i64[i].in), &v);
        if (rc != i64[i].rc)
            fail_msg("i64 row %zu (%s): rc %d want %d", i, i64[i].in, rc, i64[i].rc);
        if (!rc)
            assert_true(v == i64[i].v);
    }
    uint64_t u;
    assert_int_equal(json_num_u64(SLICE_LIT("18446744073709551615"), &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(json_num_u64(SLICE_LIT("18446744073709551616"), &u), ORASI_ETOOBIG);
    assert_int_equal(json_num_u64(SLICE_LIT("-1"), &u), ORASI_EINVAL);
    assert_int_equal(json_num_u64(SLICE_LIT("-0"), &u), 0);
    assert_true(u == 0);
    assert_int_equal(json_num_u64(SLICE_LIT("1544712660300000000"), &u), 0);
    assert_true(u == 1544712660300000000ull);

    double f;
    assert_int_equal(json_num_f64(SLICE_LIT("1.5"), &f), 0);
    assert_true(f == 1.5);
    assert_int_equal(json_num_f64(SLICE_LIT("-2.5e-3"), &f), 0);
    assert_true(f == -2.5e-3);
    assert_int_equal(json_num_f64(SLICE_LIT("1e400"), &f), ORASI_ETOOBIG);
    assert_int_equal(json_num_f64(SLICE_LIT("1e-400"), &f), 0);
    assert_true(f == 0);
    assert_int_equal(json_num_f64(SLICE_LIT("NaN"), &f), ORASI_EPARSE);
    assert_int_equal(json_num_f64(SLICE_LIT("0.1"), &f), 0);
    assert_true(f == 0.1);
    /* a number token at the very end of the input (no NUL after it) */
    char num[3] = {'4', '2', 'x'};
    assert_int_equal(json_num_f64(slice_make(num, 2), &f), 0);
    assert_true(f == 42);
    assert_true(json_num_valid(SLICE_LIT("-0.0e-0")));
    assert_false(json_num_valid(SLICE_LIT("-")));
}

static void test_utf8_valid(void **state)
{
    assert_true(json_utf8_valid(SLICE_LIT("")));
    assert_true(json_utf8_valid(SLICE_LIT("hello world, long ascii run")));
    assert_true(json_utf8_valid(SLICE_LIT("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf")));
    assert_false(json_utf8_valid(SLICE_LIT("abcdefgh\x80")));
    assert_false(json_utf8_valid(SLICE_LIT("\xed\xbf\xbf")));
    assert_false(json_utf8_valid(SLICE_LIT("\xf8\x88\x80\x80\x80")));
    assert_false(json_utf8_valid(SLICE_LIT("\xe2\x82")));
}

static void test_writer(void **state)
{
    buf_t b;
    buf_init(&b, 4096);
    static const double vals[] = {0.0,   -0.0,      1.0,           0.1,    1.0 / 3.0,
                                  1e300, -2.5e-300, 123456789.125, 5e-324, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        buf_clear(&b);
        assert_int_equal(json_write_double(&b, vals[i]), 0);
        double back;
        assert_int_equal(json_num_f64(buf_slice(&b), &back), 0);
        assert_memory_equal(&back, &vals[i], sizeof(double)); /* bit-exact, keeps -0 */
    }
    buf_clear(&b);
    json_write_double(&b, 0.1);
    assert_true(slice_eq_cstr(buf_slice(&b), "0.1"));
    buf_clear(&b);
    json_write_double(&b, NAN);
    json_write_double(&b, INFINITY);
    json_write_double(&b, -INFINITY);
    assert_true(slice_eq_cstr(buf_slice(&b), "\"NaN\"\"Infinity\"\"-Infinity\""));
    buf_clear(&b);
    json_write_i64_str(&b, INT64_MIN);
    json_write_u64_str(&b, UINT64_MAX);
    assert_true(slice_eq_cstr(buf_slice(&b), "\"-9223372036854775808\"\"18446744073709551615\""));
    buf_free(&b);
}

/* Fail each allocation in turn: every failure is a clean ORASI_ENOMEM. */
static void test_alloc_failure(void **state)
{
    char doc[8192];
    size_t n = 0;
    n += (size_t)sprintf(doc + n, "{\"list\":[");
    for (int i = 0; i < 200; i++)
        n += (size_t)sprintf(doc + n, "%s{\"k\":\"v\\n%d\",\"n\":%d}", i ? "," : "", i, i);
    n += (size_t)sprintf(doc + n, "]}");
    long total = -1;
    for (long k = 0;; k++) {
        orasi_alloc_fail_after(k);
        arena_t *a = arena_create(512, 0);
        int rc = ORASI_ENOMEM;
        if (a) {
            json_doc_t d;
            json_err_t e;
            rc = json_parse(slice_make(doc, n), NULL, a, &d, &e);
            if (rc == 0)
                assert_int_equal(d.t[json_obj_get(&d, 0, "list")].n, 200);
        }
        arena_destroy(a);
        long made = orasi_alloc_fail_after(-1);
        if (rc == 0) {
            total = made;
            break;
        }
        assert_int_equal(rc, ORASI_ENOMEM);
        assert_true(k < 10000);
    }
    assert_true(total > 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_table),    cmocka_unit_test(test_invalid_table),
        cmocka_unit_test(test_error_line_col), cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_lenient_utf8),   cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_size_limits),    cmocka_unit_test(test_many_tokens),
        cmocka_unit_test(test_navigation),     cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_uneven_density), cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_writer),         cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
