/*
 * json.c — iterative, zero-copy JSON parser into a flat token array (see json.h).
 *
 * Speed comes from three things: one pass over the input with no recursion; strings are
 * scanned eight bytes at a time (SWAR) until a quote, backslash, control or non-ASCII byte
 * shows up; and only strings with escapes are copied. Tokens live in one array that grows
 * by doubling inside the arena (the abandoned smaller copies cost at most as much again).
 */
#include "otlp/json.h"

#include "core/err.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct json_parser {
    const uint8_t *in;
    const uint8_t *end;
    const uint8_t *pos;
    arena_t *a;
    json_tok_t *t;
    uint32_t n, cap, max_tokens;
    unsigned flags;
    json_err_t *err;
};

void json_pos(slice_t in, size_t off, uint32_t *line, uint32_t *col)
{
    uint32_t l = 1, c = 1;
    if (off > in.len)
        off = in.len;
    /* Only used to report errors, so a rescan is fine. */
    for (size_t i = 0; i < off; i++) {
        if (in.p[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Fill err with position and message; returns `code` so callers can `return fail(...)`. */
static int json_fail(struct json_parser *p, const uint8_t *at, int code, const char *msg)
{
    if (!p->err)
        return code;
    if (at > p->end)
        at = p->end;
    size_t off = (size_t)(at - p->in);
    uint32_t line, col;
    json_pos(slice_make(p->in, (size_t)(p->end - p->in)), off, &line, &col);
    p->err->offset = off;
    p->err->line = line;
    p->err->col = col;
    snprintf(p->err->msg, sizeof(p->err->msg), "line %u col %u (byte %zu): %s", line, col, off,
             msg);
    return code;
}

/*
 * Grow the token array. Rather than blindly doubling (which leaves up to as much again
 * abandoned in the arena), extrapolate from the density seen so far: tokens per input
 * byte times the whole input, plus 1/8. Homogeneous documents (OTLP requests are) then
 * need at most one regrowth; the 1.5x floor keeps odd ones linear.
 */
static uint32_t json_grow_cap(const struct json_parser *p, const uint8_t *at)
{
    uint64_t seen = (uint64_t)(at - p->in) + 1, total = (uint64_t)(p->end - p->in) + 1;
    uint64_t want = (uint64_t)p->n * total / seen;
    want += want / 8 + 64;
    uint64_t floor = (uint64_t)p->cap + p->cap / 2 + 16;
    if (want < floor)
        want = floor;
    return want > p->max_tokens ? p->max_tokens : (uint32_t)want;
}

static json_tok_t *json_new_tok(struct json_parser *p, enum json_type ty, const uint8_t *at)
{
    if (p->n == p->cap) {
        if (p->cap >= p->max_tokens)
            return NULL;
        uint32_t ncap = json_grow_cap(p, at);
        json_tok_t *nt = arena_alloc(p->a, (size_t)ncap * sizeof(*nt));
        if (!nt)
            return NULL;
        if (p->n)
            memcpy(nt, p->t, (size_t)p->n * sizeof(*nt));
        p->t = nt;
        p->cap = ncap;
    }
    json_tok_t *t = &p->t[p->n];
    t->p = at;
    t->len = 0;
    t->next = p->n + 1;
    t->n = 0;
    t->type = (uint8_t)ty;
    t->flags = 0;
    p->n++;
    return t;
}

/* Why a token could not be added: the token cap or the arena. */
static int json_tok_fail(struct json_parser *p, const uint8_t *at)
{
    if (p->n == p->cap && p->cap >= p->max_tokens)
        return json_fail(p, at, ORASI_ETOOBIG, "too many tokens");
    return json_fail(p, at, ORASI_ENOMEM, "out of memory");
}

/*
 * Length of the UTF-8 sequence starting at s (s < end, *s >= 0x80), or 0 when invalid.
 * Follows RFC 3629's table so overlongs, surrogates and values past U+10FFFF fail.
 */
static size_t json_utf8_seq(const uint8_t *s, const uint8_t *end)
{
    uint8_t c = s[0];
    size_t avail = (size_t)(end - s);
    if (c >= 0xC2 && c <= 0xDF) {
        if (avail < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && s[1] > 0x9F)
            return 0; /* UTF-16 surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && s[1] > 0x8F)
            return 0; /* > U+10FFFF */
        return 4;
    }
    return 0;
}

int json_utf8_valid(slice_t s)
{
    const uint8_t *q = s.p, *end = s.p + s.len;
    while (q < end) {
        /* skip ASCII eight bytes at a time */
        while (end - q >= 8) {
            uint64_t v;
            memcpy(&v, q, 8);
            if (v & 0x8080808080808080ull)
                break;
            q += 8;
        }
        if (q >= end)
            break;
        if (*q < 0x80) {
            q++;
            continue;
        }
        size_t l = json_utf8_seq(q, end);
        if (!l)
            return 0;
        q += l;
    }
    return 1;
}

static int json_hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int json_hex4(const uint8_t *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = json_hexval(s[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* Any byte in v that is '"', '\\', < 0x20 or >= 0x80? (exact "any" test: a borrow can
 * only propagate past a byte that already matched). */
static inline int json_swar_special(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"');
    uint64_t b = v ^ (ones * '\\');
    uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v) | v;
    return (hit & high) != 0;
}

/*
 * Unescape the raw string [s, e) (no quotes; already validated by the scanner except for
 * surrogate pairing) into dst. Returns the output length, or -1 on a lone surrogate.
 * With `lenient`, a lone surrogate is written as its (invalid) 3-byte form and *bad set,
 * so the caller can reject just the item holding it.
 */
static long json_unescape(const uint8_t *s, const uint8_t *e, uint8_t *dst, int lenient, int *bad)
{
    uint8_t *o = dst;
    while (s < e) {
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        s++;
        uint8_t c = *s++;
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '/':
            *o++ = '/';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        default: { /* 'u': four hex digits, checked by the scanner */
            uint32_t cp = (uint32_t)json_hex4(s);
            s += 4;
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                int lo = -1;
                if (cp <= 0xDBFF && e - s >= 6 && s[0] == '\\' && s[1] == 'u')
                    lo = json_hex4(s + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                    s += 6;
                } else if (!lenient) {
                    return -1; /* lone high or low surrogate */
                } else {
                    *bad = 1; /* falls through to the 3-byte form below */
                }
            }
            if (cp < 0x80) {
                *o++ = (uint8_t)cp;
            } else if (cp < 0x800) {
                *o++ = (uint8_t)(0xC0 | (cp >> 6));
                *o++ = (uint8_t)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (uint8_t)(0xE0 | (cp >> 12));
                *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (uint8_t)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (uint8_t)(0xF0 | (cp >> 18));
                *o++ = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (uint8_t)(0x80 | (cp & 0x3F));
            }
        }
        }
    }
    return (long)(o - dst);
}

/* p->pos is at the opening quote. Adds a string token and leaves pos after the closing
 * quote. */
static int json_string(struct json_parser *p)
{
    const uint8_t *start = p->pos + 1, *q = start, *end = p->end;
    int escaped = 0, bad = 0;
    for (;;) {
        while (end - q >= 8) {
            uint64_t v;
            memcpy(&v, q, 8);
            if (json_swar_special(v))
                break;
            q += 8;
        }
        if (q >= end)
            return json_fail(p, p->pos, ORASI_EPARSE, "unterminated string");
        uint8_t c = *q;
        if (c == '"')
            break;
        if (c == '\\') {
            escaped = 1;
            if (q + 1 >= end)
                return json_fail(p, p->pos, ORASI_EPARSE, "unterminated string");
            switch (q[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                q += 2;
                break;
            case 'u':
                if (end - q < 6 || json_hex4(q + 2) < 0)
                    return json_fail(p, q, ORASI_EPARSE, "bad \\u escape (need 4 hex digits)");
                q += 6;
                break;
            default:
                return json_fail(p, q, ORASI_EPARSE, "invalid escape in string");
            }
            continue;
        }
        if (c < 0x20)
            return json_fail(p, q, ORASI_EPARSE, "control character in string (must be escaped)");
        if (c < 0x80) {
            q++;
            continue;
        }
        size_t l = json_utf8_seq(q, end);
        if (!l) {
            if (!(p->flags & JSON_LENIENT_UTF8))
                return json_fail(p, q, ORASI_EUTF8, "invalid UTF-8 in string");
            bad = 1;
            l = 1;
        }
        q += l;
    }
    json_tok_t *t = json_new_tok(p, JSON_STRING, p->pos);
    if (!t)
        return json_tok_fail(p, p->pos);
    if (bad)
        t->flags |= JSON_F_BADUTF8;
    if (!escaped) {
        t->p = start;
        t->len = (uint32_t)(q - start);
    } else {
        /* unescaped text is never longer than the escaped one */
        uint8_t *dst = arena_alloc(p->a, (size_t)(q - start));
        if (!dst)
            return json_fail(p, p->pos, ORASI_ENOMEM, "out of memory");
        int lone = 0;
        long l = json_unescape(start, q, dst, (p->flags & JSON_LENIENT_UTF8) != 0, &lone);
        if (lone)
            t->flags |= JSON_F_BADUTF8;
        if (l < 0)
            return json_fail(p, p->pos, ORASI_EUTF8, "lone UTF-16 surrogate in \\u escape");
        t->p = dst;
        t->len = (uint32_t)l;
        t->n = (uint32_t)(p->pos - p->in); /* keeps the position for messages */
        t->flags |= JSON_F_ESCAPED;
    }
    p->pos = q + 1;
    return 0;
}

static inline int json_isdigit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Length of the JSON number at [s, end) per the RFC grammar, or 0 when malformed. */
static size_t json_num_len(const uint8_t *s, const uint8_t *end)
{
    const uint8_t *q = s;
    if (q < end && *q == '-')
        q++;
    if (q >= end)
        return 0;
    if (*q == '0') {
        q++;
    } else if (*q >= '1' && *q <= '9') {
        while (q < end && json_isdigit(*q))
            q++;
    } else {
        return 0;
    }
    if (q < end && *q == '.') {
        q++;
        if (q >= end || !json_isdigit(*q))
            return 0;
        while (q < end && json_isdigit(*q))
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || !json_isdigit(*q))
            return 0;
        while (q < end && json_isdigit(*q))
            q++;
    }
    return (size_t)(q - s);
}

int json_num_valid(slice_t s)
{
    return s.len > 0 && json_num_len(s.p, s.p + s.len) == s.len;
}

static inline void json_skip_ws(struct json_parser *p)
{
    const uint8_t *q = p->pos, *end = p->end;
    while (q < end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
        q++;
    p->pos = q;
}

int json_parse(slice_t in, const json_limits_t *lim, arena_t *a, json_doc_t *doc, json_err_t *err)
{
    uint32_t max_depth = lim && lim->max_depth ? lim->max_depth : JSON_DEFAULT_MAX_DEPTH;
    uint32_t max_tokens = lim && lim->max_tokens ? lim->max_tokens : JSON_DEFAULT_MAX_TOKENS;
    size_t max_input = lim && lim->max_input ? lim->max_input : JSON_DEFAULT_MAX_INPUT;
    if (max_depth > JSON_MAX_DEPTH_LIMIT)
        max_depth = JSON_MAX_DEPTH_LIMIT;
    if (max_input > ((size_t)1 << 30))
        max_input = (size_t)1 << 30;
    if (max_tokens > UINT32_MAX / 2)
        max_tokens = UINT32_MAX / 2;

    static const uint8_t empty[1];
    if (!in.p) {
        if (in.len)
            return ORASI_EINVAL;
        in.p = empty; /* keep pointer arithmetic defined */
    }
    struct json_parser p = {
        .in = in.p,
        .end = in.p + in.len,
        .pos = in.p,
        .a = a,
        .max_tokens = max_tokens,
        .flags = lim ? lim->flags : 0,
        .err = err,
    };
    uint32_t stack[JSON_MAX_DEPTH_LIMIT]; /* open containers, innermost last */
    uint32_t depth = 0;
    int rc;

    doc->t = NULL;
    doc->n = 0;
    doc->input = in;
    if (err) {
        err->msg[0] = '\0';
        err->offset = 0;
        err->line = err->col = 0;
    }
    if (in.len > max_input)
        return json_fail(&p, p.in, ORASI_ETOOBIG, "input larger than the limit");

    /* A first guess that fits typical OTLP documents (about a token per 8 bytes); see
     * json_grow_cap() for when it does not. */
    uint64_t guess = in.len / 8 + 16;
    p.cap = guess < max_tokens ? (uint32_t)guess : max_tokens;
    p.t = arena_alloc(a, (size_t)p.cap * sizeof(json_tok_t));
    if (!p.t)
        return json_fail(&p, p.in, ORASI_ENOMEM, "out of memory");

    json_skip_ws(&p);
value:
    if (p.pos >= p.end)
        return json_fail(&p, p.pos, ORASI_EPARSE,
                         p.n == 0 ? "empty document" : "unexpected end of input");
    switch (*p.pos) {
    case '{':
    case '[': {
        int is_obj = *p.pos == '{';
        if (depth >= max_depth)
            return json_fail(&p, p.pos, ORASI_EDEPTH, "nesting deeper than the limit");
        json_tok_t *t = json_new_tok(&p, is_obj ? JSON_OBJECT : JSON_ARRAY, p.pos);
        if (!t)
            return json_tok_fail(&p, p.pos);
        stack[depth++] = p.n - 1;
        p.pos++;
        json_skip_ws(&p);
        if (p.pos < p.end && *p.pos == (is_obj ? '}' : ']')) {
            p.pos++;
            depth--;
            goto done_value; /* next is already n */
        }
        if (is_obj)
            goto key;
        goto value;
    }
    case '"':
        if ((rc = json_string(&p)) < 0)
            return rc;
        goto done_value;
    case 't':
    case 'f':
    case 'n': {
        static const char *const lit[] = {"true", "false", "null"};
        static const uint8_t lty[] = {JSON_TRUE, JSON_FALSE, JSON_NULL};
        int k = *p.pos == 't' ? 0 : *p.pos == 'f' ? 1 : 2;
        size_t l = strlen(lit[k]);
        if ((size_t)(p.end - p.pos) < l || memcmp(p.pos, lit[k], l) != 0)
            return json_fail(&p, p.pos, ORASI_EPARSE, "invalid literal");
        if (!json_new_tok(&p, (enum json_type)lty[k], p.pos))
            return json_tok_fail(&p, p.pos);
        p.pos += l;
        goto done_value;
    }
    default: {
        size_t l = json_num_len(p.pos, p.end);
        if (!l) {
            if (*p.pos == '-' || json_isdigit(*p.pos))
                return json_fail(&p, p.pos, ORASI_EPARSE, "invalid number");
            return json_fail(&p, p.pos, ORASI_EPARSE, "unexpected character, expected a value");
        }
        json_tok_t *t = json_new_tok(&p, JSON_NUMBER, p.pos);
        if (!t)
            return json_tok_fail(&p, p.pos);
        t->len = (uint32_t)l;
        p.pos += l;
        if (p.pos < p.end && (json_isdigit(*p.pos) || *p.pos == '.'))
            return json_fail(&p, p.pos, ORASI_EPARSE, "invalid number (leading zero?)");
        goto done_value;
    }
    }

key:
    /* p.pos at a non-space inside an object, where a member must start */
    if (p.pos >= p.end)
        return json_fail(&p, p.pos, ORASI_EPARSE, "unexpected end of input in object");
    if (*p.pos != '"')
        return json_fail(&p, p.pos, ORASI_EPARSE, "expected a string as object key");
    if ((rc = json_string(&p)) < 0)
        return rc;
    json_skip_ws(&p);
    if (p.pos >= p.end || *p.pos != ':')
        return json_fail(&p, p.pos, ORASI_EPARSE, "expected ':' after object key");
    p.pos++;
    json_skip_ws(&p);
    goto value;

done_value:
    if (depth == 0) {
        json_skip_ws(&p);
        if (p.pos != p.end)
            return json_fail(&p, p.pos, ORASI_EPARSE, "trailing data after the JSON value");
        doc->t = p.t;
        doc->n = p.n;
        return 0;
    }
    {
        json_tok_t *c = &p.t[stack[depth - 1]];
        int is_obj = c->type == JSON_OBJECT;
        c->n++;
        json_skip_ws(&p);
        if (p.pos >= p.end)
            return json_fail(&p, p.pos, ORASI_EPARSE,
                             is_obj ? "unexpected end of input in object"
                                    : "unexpected end of input in array");
        if (*p.pos == ',') {
            p.pos++;
            json_skip_ws(&p);
            if (is_obj)
                goto key;
            goto value;
        }
        if (*p.pos == (is_obj ? '}' : ']')) {
            p.pos++;
            c->next = p.n;
            depth--;
            goto done_value;
        }
        return json_fail(&p, p.pos, ORASI_EPARSE,
                         is_obj ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
    }
}

uint32_t json_obj_get(const json_doc_t *d, uint32_t obj, const char *key)
{
    uint32_t found = JSON_NONE;
    if (obj >= d->n || d->t[obj].type != JSON_OBJECT)
        return JSON_NONE;
    JSON_OBJ_FOREACH(d, obj, k, v)
    {
        if (json_key_is(d, k, key))
            found = v;
    }
    return found;
}

uint32_t json_arr_get(const json_doc_t *d, uint32_t arr, uint32_t idx)
{
    if (arr >= d->n || d->t[arr].type != JSON_ARRAY || idx >= d->t[arr].n)
        return JSON_NONE;
    uint32_t i = 0;
    JSON_ARR_FOREACH(d, arr, el)
    {
        if (i++ == idx)
            return el;
    }
    return JSON_NONE;
}

/*
 * Split a JSON number into its significant decimal digits and a power of ten:
 * value = sign * digits * 10^exp10, leading zeros dropped. Returns 0 or ORASI_EPARSE.
 * The digits are not copied: integer and fraction parts are reported separately.
 */
struct json_dec {
    int neg;
    const uint8_t *ip, *fp; /* integer and fraction digit runs */
    size_t il, fl;
    long long exp; /* explicit exponent */
};

static int json_dec_split(slice_t s, struct json_dec *d)
{
    if (!json_num_valid(s))
        return ORASI_EPARSE;
    const uint8_t *q = s.p, *end = s.p + s.len;
    memset(d, 0, sizeof(*d));
    if (*q == '-') {
        d->neg = 1;
        q++;
    }
    d->ip = q;
    while (q < end && json_isdigit(*q))
        q++;
    d->il = (size_t)(q - d->ip);
    if (q < end && *q == '.') {
        q++;
        d->fp = q;
        while (q < end && json_isdigit(*q))
            q++;
        d->fl = (size_t)(q - d->fp);
    }
    if (q < end) { /* exponent */
        q++;
        int eneg = 0;
        if (*q == '+' || *q == '-')
            eneg = *q++ == '-';
        long long e = 0;
        while (q < end) {
            if (e < 100000)
                e = e * 10 + (*q - '0');
            q++;
        }
        d->exp = eneg ? -e : e;
    }
    return 0;
}

/* Magnitude of the number as an exact uint64, when it is an integer. */
static int json_num_mag(slice_t s, int *neg, uint64_t *mag)
{
    struct json_dec d;
    int rc = json_dec_split(s, &d);
    if (rc)
        return rc;
    *neg = d.neg;
    /* Fast path: plain integer text. */
    if (!d.fl && !d.exp) {
        uint64_t v = 0;
        for (size_t i = 0; i < d.il; i++) {
            unsigned dig = (unsigned)(d.ip[i] - '0');
            if (v > (UINT64_MAX - dig) / 10)
                return ORASI_ETOOBIG;
            v = v * 10 + dig;
        }
        *mag = v;
        return 0;
    }
    /* General path: digits D = int||frac, value = D * 10^(exp - fl). Walk the digits,
     * accumulating the first (il + exp) of them; the rest must all be zero. */
    long long keep = (long long)d.il + d.exp; /* digits before the decimal point */
    size_t total = d.il + d.fl;
    uint64_t v = 0;
    for (size_t i = 0; i < total; i++) {
        unsigned dig = (unsigned)((i < d.il ? d.ip[i] : d.fp[i - d.il]) - '0');
        if ((long long)i < keep) {
            if (v > (UINT64_MAX - dig) / 10)
                return ORASI_ETOOBIG;
            v = v * 10 + dig;
        } else if (dig) {
            return ORASI_EINVAL; /* a non-zero fractional digit */
        }
    }
    /* trailing zeros implied by a large exponent */
    for (long long i = (long long)total; i < keep; i++) {
        if (v == 0)
            break;
        if (v > UINT64_MAX / 10)
            return ORASI_ETOOBIG;
        v *= 10;
    }
    *mag = v;
    return 0;
}

int json_num_u64(slice_t s, uint64_t *out)
{
    int neg;
    uint64_t m;
    int rc = json_num_mag(s, &neg, &m);
    if (rc)
        return rc;
    if (neg && m)
        return ORASI_EINVAL;
    *out = m;
    return 0;
}

int json_num_i64(slice_t s, int64_t *out)
{
    int neg;
    uint64_t m;
    int rc = json_num_mag(s, &neg, &m);
    if (rc)
        return rc;
    if (neg) {
        if (m > (uint64_t)INT64_MAX + 1)
            return ORASI_ETOOBIG;
        *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    } else {
        if (m > (uint64_t)INT64_MAX)
            return ORASI_ETOOBIG;
        *out = (int64_t)m;
    }
    return 0;
}

int json_num_f64(slice_t s, double *out)
{
    char tmp[513];
    if (!json_num_valid(s))
        return ORASI_EPARSE;
    if (s.len >= sizeof(tmp))
        return ORASI_ETOOBIG;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = '\0';
    errno = 0;
    double v = strtod(tmp, NULL);
    if (isinf(v))
        return ORASI_ETOOBIG;
    *out = v;
    return 0;
}

int json_write_double(buf_t *b, double v)
{
    if (isnan(v))
        return buf_append_str(b, "\"NaN\"");
    if (isinf(v))
        return buf_append_str(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    char tmp[40];
    /* shortest of %.15g..%.17g that reads back exactly */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }
    return buf_append_str(b, tmp);
}

int json_write_i64_str(buf_t *b, int64_t v)
{
    return buf_printf(b, "\"%lld\"", (long long)v);
}

int json_write_u64_str(buf_t *b, uint64_t v)
{
    return buf_printf(b, "\"%llu\"", (unsigned long long)v);
}
