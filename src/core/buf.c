/* buf.c — capped growable buffers (see buf.h). */
#include "core/buf.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>

int slice_eq_nocase(slice_t a, const char *s)
{
    size_t n = strlen(s);
    if (a.len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = a.p[i], y = (unsigned char)s[i];
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return 0;
    }
    return 1;
}

void buf_init(buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void buf_free(buf_t *b)
{
    orasi_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int buf_reserve(buf_t *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return ORASI_ETOOBIG;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max)
        ncap = b->max;
    uint8_t *d = orasi_realloc(b->data, ncap);
    if (!d)
        return ORASI_ENOMEM;
    b->data = d;
    b->cap = ncap;
    return 0;
}

int buf_append(buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    /* Appending part of the buffer to itself: remember the offset, since growing may
     * move the data (realloc) and leave p dangling. */
    const uint8_t *src = p;
    int self = b->data && src >= b->data && src < b->data + b->cap;
    size_t off = self ? (size_t)(src - b->data) : 0;
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (self)
        src = b->data + off;
    memmove(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

int buf_append_str(buf_t *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_append_byte(buf_t *b, uint8_t c)
{
    return buf_append(b, &c, 1);
}

int buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return ORASI_EINVAL;
    if ((size_t)n < sizeof(tmp))
        return buf_append(b, tmp, (size_t)n);
    /* The cap applies to the n bytes of text, not to vsnprintf's terminating NUL: a
     * text that exactly fills the buffer must fit. */
    int rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    if (b->cap - b->len > (size_t)n) {
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
    }
    char *big = orasi_malloc((size_t)n + 1);
    if (!big)
        return ORASI_ENOMEM;
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    rc = buf_append(b, big, (size_t)n);
    orasi_free(big);
    return rc;
}

int buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_consume(buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

uint8_t *buf_detach(buf_t *b, size_t *len)
{
    uint8_t *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

size_t buf_utf8_len(const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte (RFC 3629 table) */
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

int buf_append_json_str(buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) { /* (NULL, 0) is the empty string; no arithmetic on a null pointer below */
        s = "";
        n = 0;
    }
    const uint8_t *u = (const uint8_t *)s;
    size_t orig = b->len; /* restored on failure: no half-written literal */
    int rc = buf_append_byte(b, '"');
    size_t start = 0, i = 0;
    while (i < n && !rc) {
        unsigned char c = u[i];
        if (c >= 0x80) {
            size_t l = buf_utf8_len(u + i, n - i);
            if (l) {
                i += l;
                continue;
            }
            /* Invalid byte: flush the run before it and write U+FFFD instead. */
            rc = buf_append(b, s + start, i - start);
            if (!rc)
                rc = buf_append(b, "\xef\xbf\xbd", 3);
            start = ++i;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        rc = buf_append(b, s + start, i - start);
        if (rc)
            break;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            elen = 6;
        }
        rc = buf_append(b, esc, elen);
        start = ++i;
    }
    if (!rc)
        rc = buf_append(b, s + start, n - start);
    if (!rc)
        rc = buf_append_byte(b, '"');
    if (rc)
        b->len = orig;
    return rc;
}
