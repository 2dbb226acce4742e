/*
 * h1_parse.c — HTTP/1.x request head parser and chunked decoder (h1_parse.h).
 *
 * The head parser first looks for the blank line that ends the head (memmem from where
 * the previous call stopped), and only then parses the whole head in one pass. That
 * keeps it stateless — nothing to carry between calls but `prev_len` — and still linear
 * in the bytes received. The chunked decoder is a byte-level state machine instead,
 * because a body can be megabytes and must not be rescanned.
 */
#include "http/h1_parse.h"

#include "core/err.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 tchar */
static const uint8_t h1_tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
    ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
    ['~'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1,
    ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,
    ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,
    ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* field-value bytes: VCHAR, obs-text, SP, HTAB */
static inline int h1_value_char(uint8_t c)
{
    return c >= 0x20 ? c != 0x7f : c == '\t';
}

int h1_parse_request(const uint8_t *buf, size_t len, size_t prev_len, h1_request_t *req,
                     h1_header_t *headers, size_t max_headers)
{
    size_t skip = 0;
    /* RFC 9112 2.2: ignore blank lines before the request line */
    while (skip + 2 <= len && buf[skip] == '\r' && buf[skip + 1] == '\n')
        skip += 2;
    if (skip + 1 == len && buf[skip] == '\r')
        return ORASI_EAGAIN;
    size_t from = prev_len > 3 ? prev_len - 3 : 0;
    if (from < skip)
        from = skip;
    if (len < from + 4)
        return ORASI_EAGAIN;
    const uint8_t *end = memmem(buf + from, len - from, "\r\n\r\n", 4);
    if (!end)
        return ORASI_EAGAIN;
    size_t head_len = (size_t)(end - buf) + 4;
    if (head_len > INT_MAX)
        return ORASI_ETOOBIG;

    const uint8_t *p = buf + skip, *lim = end + 2; /* lim: just past the last CRLF line */
    /* method */
    const uint8_t *s = p;
    while (p < lim && h1_tchar[*p])
        p++;
    if (p == s || p >= lim || *p != ' ')
        return ORASI_EPARSE;
    req->method = slice_make(s, (size_t)(p - s));
    p++;
    /* target */
    s = p;
    const uint8_t *q = NULL;
    while (p < lim && *p > 0x20 && *p < 0x7f) {
        if (*p == '?' && !q)
            q = p;
        p++;
    }
    if (p == s || p >= lim || *p != ' ')
        return ORASI_EPARSE;
    req->target = slice_make(s, (size_t)(p - s));
    const uint8_t *pe = q ? q : p; /* end of the path */
    if (q)
        req->query = slice_make(q + 1, (size_t)(p - q - 1));
    else
        req->query = slice_make(p, 0);
    /* absolute-form ("http://host:port/path", RFC 9112 3.2.2, sent through proxies):
     * the path starts at the first '/' after the authority */
    const uint8_t *ps = s;
    size_t tl = (size_t)(pe - s);
    size_t scheme = tl >= 7 && strncasecmp((const char *)s, "http://", 7) == 0    ? 7
                  : tl >= 8 && strncasecmp((const char *)s, "https://", 8) == 0 ? 8
                                                                                : 0;
    if (scheme) {
        ps = s + scheme;
        while (ps < pe && *ps != '/')
            ps++;
    }
    req->path = slice_make(ps, (size_t)(pe - ps));
    p++;
    /* version */
    if ((size_t)(lim - p) < 10 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
        p[8] != '\r' || p[9] != '\n')
        return ORASI_EPARSE;
    req->minor_version = p[7] - '0';
    p += 10;

    /* headers: every line up to `end` */
    size_t n = 0;
    while (p < end + 2) {
        if (p == end + 2)
            break;
        if (*p == ' ' || *p == '\t') /* obs-fold */
            return ORASI_EPARSE;
        s = p;
        while (h1_tchar[*p])
            p++;
        if (p == s || *p != ':')
            return ORASI_EPARSE;
        slice_t name = slice_make(s, (size_t)(p - s));
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        s = p;
        while (h1_value_char(*p))
            p++;
        if (p[0] != '\r' || p[1] != '\n')
            return ORASI_EPARSE;
        const uint8_t *ve = p;
        while (ve > s && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if (n == max_headers)
            return ORASI_ETOOBIG;
        headers[n].name = name;
        headers[n].value = slice_make(s, (size_t)(ve - s));
        n++;
        p += 2;
    }
    req->headers = headers;
    req->nheaders = n;
    return (int)head_len;
}

/* ---- chunked ----------------------------------------------------------------------------- */

enum {
    CH_SIZE = 0,   /* first hex digit of a chunk size */
    CH_SIZE_MORE,  /* more hex digits, BWS, ';' or CR */
    CH_SIZE_WS,    /* blanks after the size: ';' or CR */
    CH_EXT,        /* extension text until CR */
    CH_SIZE_LF,    /* LF ending the size line */
    CH_DATA,       /* payload */
    CH_DATA_CR,    /* CR after payload */
    CH_DATA_LF,    /* LF after payload */
    CH_TRAILER,    /* start of a trailer line or the final CRLF */
    CH_TRAILER_LINE,
    CH_TRAILER_LF,
    CH_END_LF, /* LF of the final blank line */
    CH_DONE,
};

void h1_parse_chunked_init(h1_chunked_t *c)
{
    memset(c, 0, sizeof(*c));
    c->state = CH_SIZE;
}

static int h1_hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int h1_parse_chunked(h1_chunked_t *c, const uint8_t *in, size_t len, uint8_t *out,
                     size_t *out_len)
{
    size_t i = 0, o = 0;
    int rc = ORASI_EAGAIN;
    *out_len = 0;
    if (len > INT_MAX)
        return ORASI_EINVAL;
    while (i < len) {
        uint8_t ch = in[i];
        switch (c->state) {
        case CH_SIZE:
        case CH_SIZE_MORE: {
            int v = h1_hexval(ch);
            if (v >= 0) {
                /* 15 hex digits bound the size below 2^60: no overflow anywhere */
                if (++c->ndigits > 15)
                    goto bad;
                c->remaining = c->remaining * 16 + (uint64_t)v;
                c->state = CH_SIZE_MORE;
                c->line++;
                i++;
                break;
            }
            if (c->state == CH_SIZE)
                goto bad;
            if (ch == ' ' || ch == '\t')
                c->state = CH_SIZE_WS;
            else if (ch == ';')
                c->state = CH_EXT;
            else if (ch == '\r')
                c->state = CH_SIZE_LF;
            else
                goto bad;
            c->line++;
            i++;
            break;
        }
        case CH_SIZE_WS:
            if (ch == ';')
                c->state = CH_EXT;
            else if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch != ' ' && ch != '\t')
                goto bad;
            if (++c->line > H1_CHUNK_LINE_MAX)
                goto bad;
            i++;
            break;
        case CH_EXT: {
            /* skip extension bytes quickly; they are tolerated, not interpreted */
            size_t j = i;
            while (j < len && in[j] != '\r' && (in[j] >= 0x20 || in[j] == '\t') && in[j] != 0x7f)
                j++;
            c->line += j - i;
            if (c->line > H1_CHUNK_LINE_MAX)
                goto bad;
            i = j;
            if (i < len) {
                if (in[i] != '\r')
                    goto bad;
                c->state = CH_SIZE_LF;
                i++;
            }
            break;
        }
        case CH_SIZE_LF:
            if (ch != '\n')
                goto bad;
            i++;
            c->line = 0;
            c->ndigits = 0;
            c->state = c->remaining ? CH_DATA : CH_TRAILER;
            break;
        case CH_DATA: {
            size_t avail = len - i;
            size_t take = c->remaining < avail ? (size_t)c->remaining : avail;
            if (out + o != in + i)
                memmove(out + o, in + i, take);
            o += take;
            i += take;
            c->remaining -= take;
            if (c->remaining == 0)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (ch != '\r')
                goto bad;
            c->state = CH_DATA_LF;
            i++;
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                goto bad;
            c->state = CH_SIZE;
            i++;
            break;
        case CH_TRAILER:
            if (ch == '\r') {
                c->state = CH_END_LF;
                i++;
                break;
            }
            c->state = CH_TRAILER_LINE; /* the byte starts a trailer line */
            __attribute__((fallthrough));
        case CH_TRAILER_LINE:
            if (ch == '\r')
                c->state = CH_TRAILER_LF;
            else if (ch < 0x20 && ch != '\t')
                goto bad;
            if (++c->line > H1_CHUNK_TRAILER_MAX)
                goto bad;
            i++;
            break;
        case CH_TRAILER_LF:
            if (ch != '\n')
                goto bad;
            c->state = CH_TRAILER;
            i++;
            break;
        case CH_END_LF:
            if (ch != '\n')
                goto bad;
            c->state = CH_DONE;
            i++;
            rc = (int)i;
            goto out;
        default: /* CH_DONE: nothing more belongs to this body */
            rc = 0;
            goto out;
        }
    }
    if (c->state == CH_DONE)
        rc = 0;
out:
    *out_len = o;
    return rc;
bad:
    *out_len = o;
    return ORASI_EPARSE;
}
