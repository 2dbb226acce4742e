/* test_core_crc32c.c — CRC-32C: published vectors on both paths, hardware vs table over
 * random lengths and alignments, and incremental (split) computation. */
#include "core/crc32c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

/* Bitwise reference straight from the definition, independent of both tables. */
static uint32_t crc_ref(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static void check_vectors(crc_fn f)
{
    uint8_t buf[48];
    assert_int_equal(f(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(f(0, "", 0), 0);
    assert_int_equal(f(0, NULL, 0), 0);
    /* RFC 3720 (iSCSI) B.4 vectors. */
    memset(buf, 0, 32);
    assert_int_equal(f(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    assert_int_equal(f(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(f(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(f(0, buf, 32), 0x113FDB5Cu);
    /* The iSCSI read PDU of B.4 (48 bytes). */
    static const uint8_t pdu[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(f(0, pdu, sizeof(pdu)), 0xD9963A56u);
}

static void test_vectors_sw(void **state)
{
    (void)state;
    check_vectors(crc32c_sw);
}

static void test_vectors_dispatch(void **state)
{
    (void)state;
    check_vectors(crc32c);
    printf("# hardware path: %s\n", crc32c_hw_available() ? "sse4.2" : "not available");
}

static void test_random_hw_vs_sw(void **state)
{
    (void)state;
    enum { MAX = 20000 + 64 }; /* past several rounds of the three-stream loop */
    uint8_t *buf = malloc(MAX);
    assert_non_null(buf);
    srand(12345);
    for (int i = 0; i < MAX; i++)
        buf[i] = (uint8_t)rand();
    for (int iter = 0; iter < 3000; iter++) {
        size_t off = (size_t)rand() % 16;
        size_t len = iter < 128 ? (size_t)iter : (size_t)rand() % (iter % 2 ? 4096 : 20000);
        uint32_t seed = iter % 3 ? 0 : (uint32_t)rand();
        uint32_t ref = crc_ref(seed, buf + off, len);
        assert_int_equal(crc32c_sw(seed, buf + off, len), ref);
        assert_int_equal(crc32c(seed, buf + off, len), ref);
        /* Splitting anywhere gives the same result (continuation). */
        size_t cut = len ? (size_t)rand() % len : 0;
        uint32_t c = crc32c(seed, buf + off, cut);
        assert_int_equal(crc32c(c, buf + off + cut, len - cut), ref);
        c = crc32c_sw(seed, buf + off, cut);
        assert_int_equal(crc32c_sw(c, buf + off + cut, len - cut), ref);
    }
    free(buf);
}

static void test_large(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 24);
    assert_int_equal(crc32c(0, buf, n), crc32c_sw(0, buf, n));
    assert_int_equal(crc32c(0, buf, n), crc_ref(0, buf, n));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_sw),
        cmocka_unit_test(test_vectors_dispatch),
        cmocka_unit_test(test_random_hw_vs_sw),
        cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
