/* fuzz_http1.c — libFuzzer target for the HTTP/1.x request-head parser (h1_parse.c).
 *
 * Beyond "does not crash", it checks properties:
 *   - a complete head's length is within the input and every slice points inside it;
 *   - method and header names are non-empty tokens, values hold no CR/LF;
 *   - feeding the same bytes in two pieces (with the prev_len hint) gives the same
 *     answer as one call (the parser is resumable);
 *   - writing the parsed head back out in canonical form parses to the same fields.
 * A violated property aborts, which libFuzzer reports. */
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

#define FZ_MAXH 32

static int fz_inside(slice_t s, const uint8_t *b, size_t n)
{
    return s.len == 0 || (s.p >= b && s.p + s.len <= b + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h1_request_t r;
    h1_header_t hs[FZ_MAXH];
    int rc = h1_parse_request(data, size, 0, &r, hs, FZ_MAXH);
    FZ_CHECK(rc == ORASI_EAGAIN || rc == ORASI_EPARSE || rc == ORASI_ETOOBIG ||
             (rc > 0 && (size_t)rc <= size));

    /* resumability: first part, then the whole with the hint */
    if (size > 1) {
        size_t cut = data[0] % size;
        h1_request_t r2;
        h1_header_t hs2[FZ_MAXH];
        int a = h1_parse_request(data, cut, 0, &r2, hs2, FZ_MAXH);
        if (a == ORASI_EAGAIN) {
            int b = h1_parse_request(data, size, cut, &r2, hs2, FZ_MAXH);
            FZ_CHECK(b == rc);
        }
    }
    if (rc <= 0)
        return 0;

    FZ_CHECK(r.method.len > 0 && fz_inside(r.method, data, size));
    FZ_CHECK(r.target.len > 0 && fz_inside(r.target, data, size));
    FZ_CHECK(fz_inside(r.path, data, size) && fz_inside(r.query, data, size));
    FZ_CHECK(r.path.len <= r.target.len);
    FZ_CHECK(r.minor_version == 0 || r.minor_version == 1);
    FZ_CHECK(r.nheaders <= FZ_MAXH);
    for (size_t i = 0; i < r.nheaders; i++) {
        FZ_CHECK(hs[i].name.len > 0 && fz_inside(hs[i].name, data, size));
        FZ_CHECK(fz_inside(hs[i].value, data, size));
        for (size_t k = 0; k < hs[i].value.len; k++)
            FZ_CHECK(hs[i].value.p[k] != '\r' && hs[i].value.p[k] != '\n');
    }

    /* canonical re-serialization parses to the same fields */
    size_t cap = (size_t)rc * 2 + 256; /* canonical form adds at most 2 bytes per line */
    char *out = malloc(cap);
    size_t o = 0;
    o += (size_t)snprintf(out + o, cap - o, "%.*s %.*s HTTP/1.%d\r\n", (int)r.method.len,
                          (const char *)r.method.p, (int)r.target.len,
                          (const char *)r.target.p, r.minor_version);
    for (size_t i = 0; i < r.nheaders && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%.*s: %.*s\r\n", (int)hs[i].name.len,
                              (const char *)hs[i].name.p, (int)hs[i].value.len,
                              (const char *)hs[i].value.p);
    if (o + 2 < cap) {
        out[o++] = '\r';
        out[o++] = '\n';
        h1_request_t r3;
        h1_header_t hs3[FZ_MAXH];
        int c = h1_parse_request((const uint8_t *)out, o, 0, &r3, hs3, FZ_MAXH);
        FZ_CHECK(c == (int)o);
        FZ_CHECK(slice_eq(r3.method, r.method) && slice_eq(r3.target, r.target));
        FZ_CHECK(r3.nheaders == r.nheaders);
        for (size_t i = 0; i < r.nheaders; i++)
            FZ_CHECK(slice_eq(hs3[i].name, hs[i].name) && slice_eq(hs3[i].value, hs[i].value));
    }
    free(out);
    return 0;
}
