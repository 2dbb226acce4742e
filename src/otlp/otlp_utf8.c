/* otlp_utf8.c — UTF-8 validation (see otlp_utf8.h). */
#include "otlp/otlp_utf8.h"

#include <string.h>

#define HI8 0x8080808080808080ULL

/* Full validation from the first byte; the ASCII runs still go 8 bytes at a time. */
static int utf8_valid_slow(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* Most telemetry text is ASCII: test 8 bytes per step until a high bit shows. */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & HI8)
                break;
            i += 8;
        }
        while (i < n && s[i] < 0x80)
            i++;
        if (i >= n)
            return 1;
        uint8_t c = s[i];
        size_t left = n - i;
        if (c < 0xC2) {
            return 0; /* stray continuation byte, or overlong 2-byte form (C0/C1) */
        } else if (c < 0xE0) {
            if (left < 2 || (s[i + 1] & 0xC0) != 0x80)
                return 0;
            i += 2;
        } else if (c < 0xF0) {
            if (left < 3)
                return 0;
            uint8_t c1 = s[i + 1], c2 = s[i + 2];
            if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80)
                return 0;
            if (c == 0xE0 && c1 < 0xA0)
                return 0; /* overlong */
            if (c == 0xED && c1 >= 0xA0)
                return 0; /* surrogate */
            i += 3;
        } else if (c < 0xF5) {
            if (left < 4)
                return 0;
            uint8_t c1 = s[i + 1], c2 = s[i + 2], c3 = s[i + 3];
            if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80 || (c3 & 0xC0) != 0x80)
                return 0;
            if (c == 0xF0 && c1 < 0x90)
                return 0; /* overlong */
            if (c == 0xF4 && c1 >= 0x90)
                return 0; /* above U+10FFFF */
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

int otlp_utf8_valid(const uint8_t *s, size_t n)
{
    /* Keys and values are short and nearly always ASCII: OR every byte together with
     * (overlapping) word loads and test the high bits once, without a byte loop. */
    uint64_t acc = 0, w;
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            memcpy(&w, s + i, 8);
            acc |= w;
        }
        memcpy(&w, s + n - 8, 8);
        acc |= w;
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        acc = a | b;
    } else {
        for (size_t i = 0; i < n; i++)
            acc |= s[i];
    }
    if (!(acc & HI8))
        return 1;
    return utf8_valid_slow(s, n);
}
