/* base64.c — RFC 4648 base64 encode/decode (base64.h). */
#include "http/base64.h"

#include "core/err.h"

static const char base64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t n, int pad)
{
    if (pad)
        return (n + 2) / 3 * 4;
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

int base64_encode(const void *src, size_t n, int pad, char *dst, size_t dstlen,
                  size_t *out_len)
{
    size_t need = base64_encoded_len(n, pad);
    if (n > (SIZE_MAX - 4) / 4 * 3 || dstlen < need + 1)
        return ORASI_ETOOBIG;
    const uint8_t *s = src;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        dst[o++] = base64_chars[v >> 18];
        dst[o++] = base64_chars[(v >> 12) & 63];
        dst[o++] = base64_chars[(v >> 6) & 63];
        dst[o++] = base64_chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        dst[o++] = base64_chars[v >> 18];
        dst[o++] = base64_chars[(v >> 12) & 63];
        if (pad) {
            dst[o++] = '=';
            dst[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        dst[o++] = base64_chars[v >> 18];
        dst[o++] = base64_chars[(v >> 12) & 63];
        dst[o++] = base64_chars[(v >> 6) & 63];
        if (pad)
            dst[o++] = '=';
    }
    dst[o] = '\0';
    if (out_len)
        *out_len = o;
    return 0;
}

char *base64_encode_arena(arena_t *a, const void *src, size_t n, int pad)
{
    if (n > (SIZE_MAX - 4) / 4 * 3)
        return NULL;
    size_t need = base64_encoded_len(n, pad) + 1;
    char *d = arena_alloc(a, need);
    if (!d || base64_encode(src, n, pad, d, need, NULL) < 0)
        return NULL;
    return d;
}

static int base64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int base64_decode(const char *src, size_t n, uint8_t *dst, size_t dstlen, size_t *out_len)
{
    /* strip up to two '=' of padding; then the length must not be 1 mod 4 */
    if (n % 4 == 0 && n >= 1 && src[n - 1] == '=') {
        n--;
        if (src[n - 1] == '=')
            n--;
    }
    if (n % 4 == 1)
        return ORASI_EPARSE;
    size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (need > dstlen)
        return ORASI_ETOOBIG;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = base64_val(src[i]);
        if (v < 0)
            return ORASI_EPARSE;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (out_len)
        *out_len = o;
    return 0;
}
