/* fuzz_chunked.c — libFuzzer target for the chunked transfer-coding decoder (h1_parse.c).
 *
 * The input is decoded three ways: in one call to a separate buffer, in place, and in
 * pieces whose sizes come from the first input byte. All three must agree on the result,
 * the bytes consumed and the payload; the payload is never longer than the input; and a
 * decoded body re-encoded as one chunk decodes back to itself. */
#include "core/err.h"
#include "http/h1_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(x)                                                                        \
    do {                                                                                   \
        if (!(x))                                                                          \
            abort();                                                                       \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)(data[0] % 17) + 1;
    data++;
    size--;
    uint8_t *out1 = malloc(size + 1), *inplace = malloc(size + 1), *out3 = malloc(size + 1);
    h1_chunked_t c;

    h1_parse_chunked_init(&c);
    size_t n1 = 0;
    int rc1 = h1_parse_chunked(&c, data, size, out1, &n1);
    FZ_CHECK(rc1 == ORASI_EAGAIN || rc1 == ORASI_EPARSE || (rc1 >= 0 && (size_t)rc1 <= size));
    FZ_CHECK(n1 <= size);

    memcpy(inplace, data, size);
    h1_parse_chunked_init(&c);
    size_t n2 = 0;
    int rc2 = h1_parse_chunked(&c, inplace, size, inplace, &n2);
    FZ_CHECK(rc2 == rc1);
    if (rc1 != ORASI_EPARSE) {
        FZ_CHECK(n2 == n1 && memcmp(inplace, out1, n1) == 0);
    }

    /* pieces */
    h1_parse_chunked_init(&c);
    size_t pos = 0, n3 = 0;
    int rc3 = ORASI_EAGAIN;
    while (pos < size && rc3 == ORASI_EAGAIN) {
        size_t n = size - pos < step ? size - pos : step, o = 0;
        rc3 = h1_parse_chunked(&c, data + pos, n, out3 + n3, &o);
        n3 += o;
        if (rc3 >= 0)
            pos += (size_t)rc3;
        else if (rc3 == ORASI_EAGAIN)
            pos += n;
    }
    if (rc1 == ORASI_EPARSE) {
        FZ_CHECK(rc3 == ORASI_EPARSE);
    } else if (rc1 == ORASI_EAGAIN) {
        FZ_CHECK(rc3 == ORASI_EAGAIN && n3 == n1);
    } else {
        FZ_CHECK(rc3 >= 0 && pos == (size_t)rc1 && n3 == n1 && memcmp(out3, out1, n1) == 0);
        /* re-encode as one chunk and decode again */
        size_t cap = n1 + 64;
        uint8_t *enc = malloc(cap), *dec = malloc(cap);
        int h = snprintf((char *)enc, cap, "%zx\r\n", n1);
        size_t e = (size_t)h;
        memcpy(enc + e, out1, n1);
        e += n1;
        memcpy(enc + e, n1 ? "\r\n0\r\n\r\n" : "\r\n", n1 ? 7 : 2);
        e += n1 ? 7 : 2;
        h1_parse_chunked_init(&c);
        size_t nd = 0;
        FZ_CHECK(h1_parse_chunked(&c, enc, e, dec, &nd) == (int)e);
        FZ_CHECK(nd == n1 && memcmp(dec, out1, n1) == 0);
        free(enc);
        free(dec);
    }
    free(out1);
    free(inplace);
    free(out3);
    return 0;
}
