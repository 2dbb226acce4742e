/* test_core_buf.c — capped buffers and slices: the cap is never crossed and a failed
 * append changes nothing, printf (short, long, exactly at the cap), consume, detach,
 * appending from itself, JSON string escaping including invalid UTF-8. */
#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void assert_buf(const buf_t *b, const char *want)
{
    assert_int_equal(b->len, strlen(want));
    if (b->len)
        assert_memory_equal(b->data, want, b->len);
}

static void test_slices(void **state)
{
    (void)state;
    slice_t s = SLICE_LIT("Content-Type");
    assert_int_equal(s.len, 12);
    assert_true(slice_eq_cstr(s, "Content-Type"));
    assert_false(slice_eq_cstr(s, "content-type"));
    assert_true(slice_eq_nocase(s, "content-TYPE"));
    assert_false(slice_eq_nocase(s, "content-typ"));
    assert_false(slice_eq_nocase(s, "content_type"));
    assert_true(slice_eq(slice_make(NULL, 0), slice_cstr("")));
    assert_int_equal(slice_cstr(NULL).len, 0);
}

static void test_cap(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 10);
    assert_null(b.data);
    assert_int_equal(buf_append_str(&b, "0123456789"), 0);
    assert_int_equal(buf_append_byte(&b, 'x'), ORASI_ETOOBIG);
    assert_int_equal(buf_append_str(&b, ""), 0);
    assert_int_equal(buf_printf(&b, "%d", 1), ORASI_ETOOBIG);
    assert_buf(&b, "0123456789");
    assert_true(b.cap <= 10);
    buf_clear(&b);
    assert_int_equal(buf_append_str(&b, "abc"), 0);
    assert_int_equal(buf_append(&b, "12345678", 8), ORASI_ETOOBIG);
    assert_buf(&b, "abc");
    assert_int_equal(buf_reserve(&b, 7), 0);
    assert_int_equal(buf_reserve(&b, 8), ORASI_ETOOBIG);
    assert_int_equal(buf_reserve(&b, SIZE_MAX), ORASI_ETOOBIG);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);

    buf_t z;
    buf_init(&z, 0);
    assert_int_equal(buf_append_byte(&z, 1), ORASI_ETOOBIG);
    buf_free(&z);

    /* Growth is amortised: 100k single bytes need few reallocations. */
    buf_init(&b, 1 << 20);
    orasi_alloc_fail_after(-1);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(buf_append_byte(&b, (uint8_t)i), 0);
    assert_true(orasi_alloc_fail_after(-1) < 20);
    buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(buf_printf(&b, "%s=%d;", "a", 42), 0);
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(buf_printf(&b, "[%s]", big), 0);
    assert_int_equal(b.len, 5 + 1001);
    assert_memory_equal(b.data, "a=42;[xxx", 9);
    assert_int_equal(b.data[b.len - 1], ']');
    buf_free(&b);

    /* A long formatted text that exactly fills the cap fits (the NUL is not counted). */
    buf_init(&b, 600);
    char s600[601];
    memset(s600, 'y', 600);
    s600[600] = '\0';
    assert_int_equal(buf_printf(&b, "%s", s600), 0);
    assert_int_equal(b.len, 600);
    buf_free(&b);
    buf_init(&b, 599);
    assert_int_equal(buf_printf(&b, "%s", s600), ORASI_ETOOBIG);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    /* Same at the edge of existing content and capacity. */
    buf_init(&b, 1024);
    assert_int_equal(buf_append(&b, s600, 424), 0);
    assert_int_equal(buf_printf(&b, "%s", s600), 0);
    assert_int_equal(b.len, 1024);
    buf_free(&b);
}

static void test_consume_detach_self(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1 << 16);
    assert_int_equal(buf_append_str(&b, "hello world"), 0);
    buf_consume(&b, 6);
    assert_buf(&b, "world");
    buf_consume(&b, 0);
    assert_buf(&b, "world");
    buf_consume(&b, 100);
    assert_buf(&b, "");

    /* Appending the buffer to itself, across a reallocation. */
    assert_int_equal(buf_append_str(&b, "abcdefgh"), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(buf_append(&b, b.data, b.len), 0);
    assert_int_equal(b.len, 8 * 256);
    for (size_t i = 0; i < b.len; i++)
        assert_int_equal(b.data[i], "abcdefgh"[i % 8]);
    assert_int_equal(buf_append(&b, b.data + 2, 3), 0);
    assert_memory_equal(b.data + b.len - 3, "cde", 3);

    size_t len = 0;
    uint8_t *d = buf_detach(&b, &len);
    assert_int_equal(len, 8 * 256 + 3);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 1 << 16); /* still usable */
    assert_int_equal(buf_append_str(&b, "again"), 0);
    assert_buf(&b, "again");
    orasi_free(d);
    buf_free(&b);
    buf_init(&b, 10);
    assert_null(buf_detach(&b, &len));
    assert_int_equal(len, 0);
}

static void test_json(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"", 0, "\"\""},
        {"q\"b\\s/", 6, "\"q\\\"b\\\\s/\""},
        {"\n\r\t\b\f", 5, "\"\\n\\r\\t\\u0008\\u000c\""},
        {"a\0b", 3, "\"a\\u0000b\""},
        {"\x1f\x7f", 2, "\"\\u001f\x7f\""},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        /* invalid UTF-8 becomes U+FFFD, one per bad byte */
        {"a\xff" "b", 3, "\"a\xef\xbf\xbd" "b\""},
        {"\xc3", 1, "\"\xef\xbf\xbd\""},                             /* truncated */
        {"\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},             /* overlong */
        {"\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* surrogate */
        {"\xf4\x90\x80\x80", 4,
         "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* > U+10FFFF */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_t b;
        buf_init(&b, 256);
        assert_int_equal(buf_append_json_str(&b, cases[i].in, cases[i].n), 0);
        if (b.len != strlen(cases[i].out) || memcmp(b.data, cases[i].out, b.len) != 0)
            fail_msg("case %zu: got %.*s", i, (int)b.len, (const char *)b.data);
        buf_free(&b);
    }
    buf_t b;
    buf_init(&b, 8);
    assert_int_equal(buf_append_json_str(&b, NULL, 0), 0);
    assert_buf(&b, "\"\"");
    buf_clear(&b);
    /* Not enough room: fails and leaves the buffer as it was. */
    assert_int_equal(buf_append_str(&b, "ab"), 0);
    assert_int_equal(buf_append_json_str(&b, "\n\n\n", 3), ORASI_ETOOBIG);
    assert_buf(&b, "ab");
    buf_free(&b);
}

static void test_utf8_len(void **state)
{
    (void)state;
    assert_int_equal(buf_utf8_len((const uint8_t *)"a", 1), 1);
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xc3\xa9", 2), 2);
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xe2\x82\xac", 3), 3);
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xf0\x9f\x98\x80", 4), 4);
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xed\x9f\xbf", 3), 3);     /* U+D7FF */
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xe2\x82\xac", 2), 0);
    assert_int_equal(buf_utf8_len((const uint8_t *)"\x80", 1), 0);
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xc1\xbf", 2), 0);
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xe0\x9f\xbf", 3), 0);
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xf0\x8f\xbf\xbf", 4), 0);
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xf5\x80\x80\x80", 4), 0);
    assert_int_equal(buf_utf8_len((const uint8_t *)"\xe2\x28\xac", 3), 0);
    assert_int_equal(buf_utf8_len((const uint8_t *)"", 0), 0);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1 << 20);
    orasi_alloc_fail_after(0);
    assert_int_equal(buf_append_str(&b, "x"), ORASI_ENOMEM);
    assert_int_equal(b.len, 0);
    orasi_alloc_fail_after(-1);
    assert_int_equal(buf_append_str(&b, "x"), 0);
    char big[300];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    orasi_alloc_fail_after(0);
    assert_int_equal(buf_printf(&b, "%s", big), ORASI_ENOMEM);
    assert_int_equal(buf_append_json_str(&b, big, 299), ORASI_ENOMEM);
    orasi_alloc_fail_after(-1);
    assert_buf(&b, "x");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_consume_detach_self),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_utf8_len),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
