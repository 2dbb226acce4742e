/*
 * json.h — a zero-copy RFC 8259 JSON parser with hard limits, plus small writer helpers.
 *
 * json_parse() turns a whole document into a flat array of tokens in pre-order, allocated
 * in the caller's arena (jsmn's layout, with subtree skip links). Nothing is copied except
 * strings that contain escapes: those are unescaped into the arena. Every other string and
 * every number is a slice into the input, so the input must outlive the document.
 *
 *   json_doc_t d; json_err_t e;
 *   if (json_parse(body, NULL, arena, &d, &e) < 0) { reply 400 with e.msg; }
 *   JSON_OBJ_FOREACH(&d, 0, k, v) { if (json_key_is(&d, k, "name")) ... }
 *
 * Layout: token 0 is the root. A container's children follow it directly; tok.next is
 * the index just past a token's whole subtree, so skipping an unknown value is O(1) and
 * no walk ever recurses. An object's children alternate key (a string token), value.
 *
 * Parsing is iterative (an explicit stack bounded by max_depth): hostile nesting costs an
 * error, never the C stack. Limits: input size, depth, token count; the arena's own cap
 * bounds the rest. Numbers are validated against the grammar but kept as text; the
 * json_num_* helpers convert them exactly (int64/uint64 overflow is an error, never a
 * silent wrap).
 *
 * Errors: ORASI_EPARSE (syntax), ORASI_EUTF8 (invalid UTF-8 or a lone surrogate escape),
 * ORASI_EDEPTH, ORASI_ETOOBIG (input or token limit), ORASI_ENOMEM (arena full / OOM).
 * json_err_t then holds the byte offset, line and column and a one-line message.
 */
#ifndef ORASI_OTLP_JSON_H
#define ORASI_OTLP_JSON_H

#include "core/arena.h"
#include "core/buf.h"

#include <stdint.h>

enum json_type {
    JSON_NULL = 0,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
};

/* Token flags. */
#define JSON_F_ESCAPED 0x01 /* string was unescaped into the arena */
#define JSON_F_BADUTF8 0x02 /* string holds invalid UTF-8 (only with JSON_LENIENT_UTF8) */

/* 24 bytes: token memory is the parser's main cost (~3x a typical OTLP body). */
typedef struct json_tok {
    const uint8_t *p; /* string: bytes (input or arena); number: text; other: the token's
                         first byte in the input */
    uint32_t len;     /* string/number: byte length; else 0 */
    uint32_t next;    /* index of the first token after this token's subtree */
    uint32_t n;       /* array: element count; object: member count; escaped string: its
                         byte offset in the input (use json_off()); else 0 */
    uint8_t type;     /* enum json_type */
    uint8_t flags;    /* JSON_F_* */
} json_tok_t;

/* Parse options. Zero fields take the defaults. */
#define JSON_DEFAULT_MAX_DEPTH 64
#define JSON_MAX_DEPTH_LIMIT 1024 /* hard ceiling for max_depth (the stack lives on ours) */
#define JSON_DEFAULT_MAX_TOKENS (4u << 20)
#define JSON_DEFAULT_MAX_INPUT ((size_t)64 << 20)

/* Option bits. */
#define JSON_LENIENT_UTF8                                                                          \
    0x01 /* mark strings with bad UTF-8 or a lone \u surrogate                                     \
            (JSON_F_BADUTF8) instead of failing the whole document,                                \
            for callers that reject only the item holding the                                      \
            string. Bytes are kept as is. */

typedef struct {
    uint32_t max_depth;  /* nesting of arrays/objects; root container is depth 1 */
    uint32_t max_tokens; /* total tokens (keys count) */
    size_t max_input;    /* bytes; never above 1 GiB (offsets are 32-bit) */
    unsigned flags;      /* JSON_LENIENT_UTF8 */
} json_limits_t;

typedef struct {
    char msg[160]; /* "line 3 col 14 (byte 40): expected ':' after object key" */
    size_t offset; /* byte offset of the problem */
    uint32_t line; /* 1-based */
    uint32_t col;  /* 1-based, in bytes */
} json_err_t;

typedef struct {
    const json_tok_t *t; /* arena-owned; valid until the arena is reset */
    uint32_t n;          /* token count (>= 1 on success) */
    slice_t input;       /* borrowed: the parsed text */
} json_doc_t;

/*
 * Parse `in` as one JSON text (any value at top level, surrounded by optional
 * whitespace). `lim` may be NULL (defaults). Tokens and unescaped strings go into `a`.
 * `err` may be NULL. Returns 0 or a negative ORASI_E* code (see above).
 */
int json_parse(slice_t in, const json_limits_t *lim, arena_t *a, json_doc_t *doc, json_err_t *err);

/* Line and column (1-based, column in bytes) of byte `off` of `in`, for messages. */
void json_pos(slice_t in, size_t off, uint32_t *line, uint32_t *col);

/* --- navigation (indices into doc->t; JSON_NONE when absent) --- */
#define JSON_NONE UINT32_MAX

static inline const json_tok_t *json_at(const json_doc_t *d, uint32_t i)
{
    return &d->t[i];
}
static inline slice_t json_slice(const json_doc_t *d, uint32_t i)
{
    return (slice_t){d->t[i].p, d->t[i].len};
}
/* Byte offset of token i in the input (its opening quote for strings). */
static inline uint32_t json_off(const json_doc_t *d, uint32_t i)
{
    const json_tok_t *t = &d->t[i];
    if (t->flags & JSON_F_ESCAPED)
        return t->n;
    return (uint32_t)(t->p - d->input.p) - (t->type == JSON_STRING);
}
static inline int json_is(const json_doc_t *d, uint32_t i, enum json_type ty)
{
    return d->t[i].type == ty;
}
static inline int json_key_is(const json_doc_t *d, uint32_t k, const char *s)
{
    return slice_eq_cstr(json_slice(d, k), s);
}
/* Value of member `key` in object `obj` (the last one if repeated), or JSON_NONE. */
uint32_t json_obj_get(const json_doc_t *d, uint32_t obj, const char *key);
/* Element `idx` of array `arr` (linear), or JSON_NONE. */
uint32_t json_arr_get(const json_doc_t *d, uint32_t arr, uint32_t idx);

/* Iterate an array: `el` is each element's index. */
#define JSON_ARR_FOREACH(d, arr, el)                                                               \
    for (uint32_t el##_k_ = 0, el = (arr) + 1; el##_k_ < (d)->t[(arr)].n;                          \
         el##_k_++, el = (d)->t[el].next)
/* Iterate an object: `key` is each member's key token, `val` its value token. */
#define JSON_OBJ_FOREACH(d, obj, key, val)                                                         \
    for (uint32_t key##_k_ = 0, key = (obj) + 1, val = (obj) + 2; key##_k_ < (d)->t[(obj)].n;      \
         key##_k_++, key = (d)->t[val].next, val = key + 1)

/* --- numbers (text from a JSON_NUMBER token, or any string meant to hold one) --- */

/* Exact conversion of a JSON number text. Integral values written with a fraction or
 * exponent ("1.0", "1e3") are accepted when they are exact integers (proto3 JSON allows
 * that); "1.5" or out-of-range values return ORASI_EINVAL / ORASI_ETOOBIG (overflow).
 * Text that is not a JSON number: ORASI_EPARSE. */
int json_num_i64(slice_t s, int64_t *out);
int json_num_u64(slice_t s, uint64_t *out);
/* Nearest double (strtod in the C locale). Overflow to infinity: ORASI_ETOOBIG.
 * Texts over 512 bytes: ORASI_ETOOBIG. */
int json_num_f64(slice_t s, double *out);
/* 1 when s is a complete JSON number per RFC 8259's grammar. */
int json_num_valid(slice_t s);

/* --- UTF-8 --- */
/* 1 when s is valid UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
int json_utf8_valid(slice_t s);

/* --- writer helpers (buf_append_json_str covers strings) --- */
/* Shortest text that reads back as the same double; NaN/Inf are not JSON numbers, so
 * they are written as the strings "NaN", "Infinity", "-Infinity" (proto3 JSON). */
int json_write_double(buf_t *b, double v);
/* A 64-bit integer as a quoted decimal string (proto3 JSON's int64 form). */
int json_write_i64_str(buf_t *b, int64_t v);
int json_write_u64_str(buf_t *b, uint64_t v);

#endif
