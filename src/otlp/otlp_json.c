/*
 * otlp_json.c — OTLP/JSON decoder and encoder (see otlp_json.h).
 *
 * Decoding runs in two steps. json_parse() turns the body into a token array in a private
 * scratch arena (lenient about UTF-8, so a bad string only marks its token); then the
 * mapping below walks the tokens and builds the model in the caller's arena. Because the
 * token array knows every array's length up front, each repeated field costs exactly one
 * arena allocation, and skipping an unknown field is one index jump. Nothing recurses
 * except AnyValue, which stops at OTLP_MAX_ANY_DEPTH.
 *
 * Each object is read with oj_fields(): one pass over its members assigns the index of
 * every known field (camelCase or snake_case key) to a local, then the fields are decoded
 * in a fixed order. That order matters: a resource or scope is checked before the items
 * under it, so an item under a bad resource can be rejected as it is met.
 *
 * Failure classes (the same as the protobuf decoder's): a field of the wrong JSON type,
 * an unknown enum name, bad base64, an out-of-range number fail the request (oj_fail,
 * ORASI_EPARSE); a bad id, bad UTF-8 or too-deep AnyValue set `why` and reject the item
 * (or every item under the resource/scope/metric where it was found).
 */
#include "otlp/otlp_json.h"

#include "core/err.h"
#include "otlp/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* JSON nesting allowed by the parser: deep enough that AnyValue nesting beyond
 * OTLP_MAX_ANY_DEPTH (4 JSON levels per AnyValue level) is still an item rejection, like
 * in protobuf; deeper documents are refused whole. */
#define OJ_MAX_JSON_DEPTH JSON_MAX_DEPTH_LIMIT

struct oj {
    json_doc_t d;
    arena_t *a;       /* output arena (model) */
    arena_t *scratch; /* token array */
    const char *err;  /* structural error message (output arena or static) */
    size_t items;     /* accepted items */
    size_t rejected;  /* rejected items */
    const char *msg;  /* first rejection reason */
};

/* ---------------------------------------------------------------- helpers ----------- */

static int oj_fail(struct oj *c, uint32_t tok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A structural error at token `tok` (JSON_NONE: no position): EPARSE with a message
 * "line L col C: ..." kept in the output arena so it outlives the call. */
static int oj_fail(struct oj *c, uint32_t tok, const char *fmt, ...)
{
    if (c->err)
        return ORASI_EPARSE;
    char *m = arena_alloc(c->a, 256);
    if (!m) {
        c->err = "malformed OTLP/JSON request";
        return ORASI_EPARSE;
    }
    int n = 0;
    if (tok != JSON_NONE && tok < c->d.n) {
        uint32_t line, col;
        json_pos(c->d.input, json_off(&c->d, tok), &line, &col);
        n = snprintf(m, 256, "line %u col %u: ", line, col);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m + n, 256 - (size_t)n, fmt, ap);
    va_end(ap);
    c->err = m;
    return ORASI_EPARSE;
}

static inline void oj_bad(const char **why, const char *m)
{
    if (!*why)
        *why = m;
}

static void oj_reject(struct oj *c, const char *why)
{
    c->rejected++;
    if (!c->msg)
        c->msg = why;
}

/* Arena array of n elements (NULL for n == 0). *rc = ORASI_ENOMEM on failure. */
static void *oj_arr(struct oj *c, size_t n, size_t size, int *rc)
{
    if (n == 0)
        return NULL;
    void *p = n > SIZE_MAX / size ? NULL : arena_alloc(c->a, n * size);
    if (!p)
        *rc = ORASI_ENOMEM;
    return p;
}

/* Key equality accepting lowerCamelCase and its snake_case form: "time_unix_nano"
 * matches "timeUnixNano" ('_' + lowercase letter stands for the uppercase letter). */
static int oj_key_eq(slice_t k, const char *camel)
{
    size_t i = 0;
    for (const char *p = camel; *p; p++) {
        if (i >= k.len)
            return 0;
        uint8_t ch = k.p[i];
        if (ch == (uint8_t)*p) {
            i++;
            continue;
        }
        if (ch == '_' && *p >= 'A' && *p <= 'Z' && i + 1 < k.len &&
            k.p[i + 1] == (uint8_t)(*p - 'A' + 'a')) {
            i += 2;
            continue;
        }
        return 0;
    }
    return i == k.len;
}

struct oj_field {
    const char *name; /* lowerCamelCase */
    uint32_t *slot;   /* out: value token index, JSON_NONE when absent or null */
};

/* Read object `obj` (`what` names it in messages): set every field's slot to its value
 * token. `null` values count as absent; a repeated key keeps its last value. */
static int oj_fields(struct oj *c, uint32_t obj, const char *what, const struct oj_field *f,
                     size_t nf)
{
    const json_doc_t *d = &c->d;
    for (size_t i = 0; i < nf; i++)
        *f[i].slot = JSON_NONE;
    if (d->t[obj].type != JSON_OBJECT)
        return oj_fail(c, obj, "%s: expected an object", what);
    JSON_OBJ_FOREACH(d, obj, k, v)
    {
        const json_tok_t *kt = &d->t[k];
        if (kt->len == 0)
            continue;
        for (size_t i = 0; i < nf; i++) {
            if (kt->p[0] != (uint8_t)f[i].name[0] || !oj_key_eq(json_slice(d, k), f[i].name))
                continue;
            *f[i].slot = d->t[v].type == JSON_NULL ? JSON_NONE : v;
            break;
        }
    }
    return 0;
}

#define OJ_NF(arr) (sizeof(arr) / sizeof((arr)[0]))

/* Array field (absent -> 0 elements). */
static int oj_array(struct oj *c, uint32_t v, const char *what, uint32_t *n)
{
    *n = 0;
    if (v == JSON_NONE)
        return 0;
    if (c->d.t[v].type != JSON_ARRAY)
        return oj_fail(c, v, "%s: expected an array", what);
    *n = c->d.t[v].n;
    return 0;
}

/* A string field, copied into the output arena. Invalid UTF-8 leaves it empty and sets
 * `why` (the model only holds valid UTF-8). */
static int oj_str(struct oj *c, uint32_t v, const char *what, slice_t *out, const char **why)
{
    *out = (slice_t){0};
    if (v == JSON_NONE)
        return 0;
    const json_tok_t *t = &c->d.t[v];
    if (t->type != JSON_STRING)
        return oj_fail(c, v, "%s: expected a string", what);
    if (t->flags & JSON_F_BADUTF8) {
        if (!*why) {
            /* name the field; only the first reason is kept, so this allocates once */
            char *m = arena_alloc(c->a, 96);
            if (m)
                snprintf(m, 96, "invalid UTF-8 in %s", what);
            *why = m ? m : "invalid UTF-8 in a string field";
        }
        return 0;
    }
    if (t->len == 0)
        return 0;
    uint8_t *p = arena_alloc(c->a, t->len);
    if (!p)
        return ORASI_ENOMEM;
    memcpy(p, t->p, t->len);
    *out = slice_make(p, t->len);
    return 0;
}

/* Text of an integer given as a JSON number or a string holding one. */
static int oj_numtext(struct oj *c, uint32_t v, const char *what, slice_t *s)
{
    const json_tok_t *t = &c->d.t[v];
    if (t->type != JSON_NUMBER && t->type != JSON_STRING)
        return oj_fail(c, v, "%s: expected an integer", what);
    *s = json_slice(&c->d, v);
    return 0;
}

static int oj_u64(struct oj *c, uint32_t v, const char *what, uint64_t *out)
{
    slice_t s;
    *out = 0;
    if (v == JSON_NONE)
        return 0;
    int rc = oj_numtext(c, v, what, &s);
    if (rc)
        return rc;
    if (json_num_u64(s, out) < 0)
        return oj_fail(c, v, "%s: expected an unsigned 64-bit integer", what);
    return 0;
}

static int oj_i64(struct oj *c, uint32_t v, const char *what, int64_t *out)
{
    slice_t s;
    *out = 0;
    if (v == JSON_NONE)
        return 0;
    int rc = oj_numtext(c, v, what, &s);
    if (rc)
        return rc;
    if (json_num_i64(s, out) < 0)
        return oj_fail(c, v, "%s: expected a signed 64-bit integer", what);
    return 0;
}

static int oj_u32(struct oj *c, uint32_t v, const char *what, uint32_t *out)
{
    uint64_t x;
    int rc = oj_u64(c, v, what, &x);
    if (rc)
        return rc;
    if (x > UINT32_MAX)
        return oj_fail(c, v, "%s: expected an unsigned 32-bit integer", what);
    *out = (uint32_t)x;
    return 0;
}

static int oj_i32(struct oj *c, uint32_t v, const char *what, int32_t *out)
{
    int64_t x;
    int rc = oj_i64(c, v, what, &x);
    if (rc)
        return rc;
    if (x < INT32_MIN || x > INT32_MAX)
        return oj_fail(c, v, "%s: expected a signed 32-bit integer", what);
    *out = (int32_t)x;
    return 0;
}

/* double: a JSON number, or a string: "NaN", "Infinity", "-Infinity" or a number. */
static int oj_f64(struct oj *c, uint32_t v, const char *what, double *out)
{
    *out = 0;
    if (v == JSON_NONE)
        return 0;
    const json_tok_t *t = &c->d.t[v];
    slice_t s = json_slice(&c->d, v);
    if (t->type == JSON_STRING) {
        if (slice_eq_cstr(s, "NaN")) {
            *out = NAN;
            return 0;
        }
        if (slice_eq_cstr(s, "Infinity")) {
            *out = INFINITY;
            return 0;
        }
        if (slice_eq_cstr(s, "-Infinity")) {
            *out = -INFINITY;
            return 0;
        }
    } else if (t->type != JSON_NUMBER) {
        return oj_fail(c, v, "%s: expected a number", what);
    }
    if (json_num_f64(s, out) < 0)
        return oj_fail(c, v, "%s: expected a finite double, \"NaN\" or \"[-]Infinity\"", what);
    return 0;
}

static int oj_bool(struct oj *c, uint32_t v, const char *what, int *out)
{
    *out = 0;
    if (v == JSON_NONE)
        return 0;
    uint8_t ty = c->d.t[v].type;
    if (ty != JSON_TRUE && ty != JSON_FALSE)
        return oj_fail(c, v, "%s: expected true or false", what);
    *out = ty == JSON_TRUE;
    return 0;
}

struct oj_enum {
    const char *name;
    int32_t value;
};

/* Enum: integer (any value kept: open enums) or one of the names in `tab`. */
static int oj_enum(struct oj *c, uint32_t v, const char *what, const struct oj_enum *tab,
                   int32_t *out)
{
    *out = 0;
    if (v == JSON_NONE)
        return 0;
    if (c->d.t[v].type == JSON_STRING) {
        slice_t s = json_slice(&c->d, v);
        for (; tab->name; tab++) {
            if (slice_eq_cstr(s, tab->name)) {
                *out = tab->value;
                return 0;
            }
        }
        /* an integer written as a string is still an integer */
        if (json_num_valid(s))
            return oj_i32(c, v, what, out);
        return oj_fail(c, v, "%s: unknown enum value \"%.*s\"", what,
                       (int)(s.len > 64 ? 64 : s.len), (const char *)s.p);
    }
    if (c->d.t[v].type != JSON_NUMBER)
        return oj_fail(c, v, "%s: expected an enum name or integer", what);
    return oj_i32(c, v, what, out);
}

static const struct oj_enum oj_span_kinds[] = {
    {"SPAN_KIND_UNSPECIFIED", 0},
    {"SPAN_KIND_INTERNAL", 1},
    {"SPAN_KIND_SERVER", 2},
    {"SPAN_KIND_CLIENT", 3},
    {"SPAN_KIND_PRODUCER", 4},
    {"SPAN_KIND_CONSUMER", 5},
    {NULL, 0},
};
static const struct oj_enum oj_status_codes[] = {
    {"STATUS_CODE_UNSET", 0},
    {"STATUS_CODE_OK", 1},
    {"STATUS_CODE_ERROR", 2},
    {NULL, 0},
};
static const struct oj_enum oj_temporalities[] = {
    {"AGGREGATION_TEMPORALITY_UNSPECIFIED", 0},
    {"AGGREGATION_TEMPORALITY_DELTA", 1},
    {"AGGREGATION_TEMPORALITY_CUMULATIVE", 2},
    {NULL, 0},
};
static const struct oj_enum oj_severities[] = {
    {"SEVERITY_NUMBER_UNSPECIFIED", 0}, {"SEVERITY_NUMBER_TRACE", 1},
    {"SEVERITY_NUMBER_TRACE2", 2},      {"SEVERITY_NUMBER_TRACE3", 3},
    {"SEVERITY_NUMBER_TRACE4", 4},      {"SEVERITY_NUMBER_DEBUG", 5},
    {"SEVERITY_NUMBER_DEBUG2", 6},      {"SEVERITY_NUMBER_DEBUG3", 7},
    {"SEVERITY_NUMBER_DEBUG4", 8},      {"SEVERITY_NUMBER_INFO", 9},
    {"SEVERITY_NUMBER_INFO2", 10},      {"SEVERITY_NUMBER_INFO3", 11},
    {"SEVERITY_NUMBER_INFO4", 12},      {"SEVERITY_NUMBER_WARN", 13},
    {"SEVERITY_NUMBER_WARN2", 14},      {"SEVERITY_NUMBER_WARN3", 15},
    {"SEVERITY_NUMBER_WARN4", 16},      {"SEVERITY_NUMBER_ERROR", 17},
    {"SEVERITY_NUMBER_ERROR2", 18},     {"SEVERITY_NUMBER_ERROR3", 19},
    {"SEVERITY_NUMBER_ERROR4", 20},     {"SEVERITY_NUMBER_FATAL", 21},
    {"SEVERITY_NUMBER_FATAL2", 22},     {"SEVERITY_NUMBER_FATAL3", 23},
    {"SEVERITY_NUMBER_FATAL4", 24},     {NULL, 0},
};

static int oj_hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/*
 * A hex id of exactly `size` bytes into dst; *len = 0 (absent/empty) or size. A wrong
 * length or a non-hex character is an item problem (`why`), not a request error, as a
 * wrong-length id is in protobuf. A non-string value is a request error.
 */
static int oj_hexid(struct oj *c, uint32_t v, const char *what, uint8_t *dst, size_t size,
                    uint8_t *len, int required, const char *badmsg, const char **why)
{
    *len = 0;
    if (v == JSON_NONE || c->d.t[v].len == 0) {
        if (v != JSON_NONE && c->d.t[v].type != JSON_STRING)
            return oj_fail(c, v, "%s: expected a hex string", what);
        if (required)
            oj_bad(why, badmsg);
        return 0;
    }
    const json_tok_t *t = &c->d.t[v];
    if (t->type != JSON_STRING)
        return oj_fail(c, v, "%s: expected a hex string", what);
    if (t->len != 2 * size) {
        oj_bad(why, badmsg);
        return 0;
    }
    for (size_t i = 0; i < size; i++) {
        int hi = oj_hexval(t->p[2 * i]), lo = oj_hexval(t->p[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            oj_bad(why, badmsg);
            return 0;
        }
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = (uint8_t)size;
    return 0;
}

/* Rejection reasons worded like the protobuf decoder's, plus the JSON form expected. */
static const char R_TRACE_ID[] = "span trace_id must be 16 bytes (32 hex digits)";
static const char R_SPAN_ID[] = "span span_id must be 8 bytes (16 hex digits)";
static const char R_PARENT_ID[] = "span parent_span_id must be empty or 8 bytes (16 hex digits)";
static const char R_LINK_TRACE_ID[] = "link trace_id must be 16 bytes (32 hex digits)";
static const char R_LINK_SPAN_ID[] = "link span_id must be 8 bytes (16 hex digits)";
static const char R_EX_TRACE_ID[] = "exemplar trace_id must be empty or 16 bytes (32 hex digits)";
static const char R_EX_SPAN_ID[] = "exemplar span_id must be empty or 8 bytes (16 hex digits)";
static const char R_LOG_TRACE_ID[] =
    "log record trace_id must be empty or 16 bytes (32 hex digits)";
static const char R_LOG_SPAN_ID[] = "log record span_id must be empty or 8 bytes (16 hex digits)";
static const char R_DEPTH[] = "AnyValue nested too deeply";

static int oj_trace_id(struct oj *c, uint32_t v, const char *what, otlp_trace_id_t *id,
                       int required, const char *badmsg, const char **why)
{
    return oj_hexid(c, v, what, id->id, sizeof(id->id), &id->len, required, badmsg, why);
}

static int oj_span_id(struct oj *c, uint32_t v, const char *what, otlp_span_id_t *id, int required,
                      const char *badmsg, const char **why)
{
    return oj_hexid(c, v, what, id->id, sizeof(id->id), &id->len, required, badmsg, why);
}

/* Value of a base64 digit (standard or URL-safe alphabet), -1 otherwise. Arithmetic
 * rather than a lazily built table: no shared mutable state between threads. */
static inline int oj_b64val(uint8_t ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Base64 (standard or URL-safe alphabet, padding optional) into the output arena. */
static int oj_base64(struct oj *c, uint32_t v, const char *what, slice_t *out)
{
    *out = (slice_t){0};
    if (v == JSON_NONE)
        return 0;
    const json_tok_t *t = &c->d.t[v];
    if (t->type != JSON_STRING)
        return oj_fail(c, v, "%s: expected a base64 string", what);
    size_t n = t->len;
    const uint8_t *s = t->p;
    if (n % 4 == 0 && n >= 2 && s[n - 1] == '=')
        n -= s[n - 2] == '=' ? 2 : 1;
    if (n % 4 == 1)
        return oj_fail(c, v, "%s: invalid base64 length", what);
    if (n == 0)
        return 0;
    uint8_t *dst = arena_alloc(c->a, n / 4 * 3 + 3);
    if (!dst)
        return ORASI_ENOMEM;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int x = oj_b64val(s[i]);
        if (x < 0)
            return oj_fail(c, v, "%s: invalid base64 character", what);
        acc = acc << 6 | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out = slice_make(dst, o);
    return 0;
}

/* ---------------------------------------------------------------- attributes -------- */

static int oj_kv(struct oj *c, uint32_t obj, otlp_kv_t *kv, int depth, const char **why);

/* AnyValue object `v` at `depth` (1 = directly in an attribute or body). Recursion is
 * bounded: containers at OTLP_MAX_ANY_DEPTH reject the item without being read. */
static int oj_any(struct oj *c, uint32_t v, otlp_any_t *out, int depth, const char **why)
{
    const json_doc_t *d = &c->d;
    int rc = 0, nset = 0;
    memset(out, 0, sizeof(*out));
    if (v == JSON_NONE)
        return 0;
    if (d->t[v].type != JSON_OBJECT)
        return oj_fail(c, v, "AnyValue: expected an object");
    JSON_OBJ_FOREACH(d, v, k, val)
    {
        slice_t key = json_slice(d, k);
        if (d->t[val].type == JSON_NULL || key.len == 0)
            continue;
        switch (key.p[0]) {
        case 's':
            if (!oj_key_eq(key, "stringValue"))
                continue;
            out->type = OTLP_ANY_STRING;
            rc = oj_str(c, val, "stringValue", &out->u.str, why);
            break;
        case 'b':
            if (oj_key_eq(key, "boolValue")) {
                out->type = OTLP_ANY_BOOL;
                rc = oj_bool(c, val, "boolValue", &out->u.boolean);
            } else if (oj_key_eq(key, "bytesValue")) {
                out->type = OTLP_ANY_BYTES;
                rc = oj_base64(c, val, "bytesValue", &out->u.bytes);
            } else {
                continue;
            }
            break;
        case 'i':
            if (!oj_key_eq(key, "intValue"))
                continue;
            out->type = OTLP_ANY_INT;
            rc = oj_i64(c, val, "intValue", &out->u.i64);
            break;
        case 'd':
            if (!oj_key_eq(key, "doubleValue"))
                continue;
            out->type = OTLP_ANY_DOUBLE;
            rc = oj_f64(c, val, "doubleValue", &out->u.f64);
            break;
        case 'a':
        case 'k': {
            int is_kv = key.p[0] == 'k';
            if (!oj_key_eq(key, is_kv ? "kvlistValue" : "arrayValue"))
                continue;
            const char *what = is_kv ? "kvlistValue" : "arrayValue";
            uint32_t fv;
            const struct oj_field f[] = {{"values", &fv}};
            out->type = is_kv ? OTLP_ANY_KVLIST : OTLP_ANY_ARRAY;
            out->u.array.v = NULL;
            out->u.array.n = 0;
            if ((rc = oj_fields(c, val, what, f, 1)) < 0)
                break;
            if (depth >= OTLP_MAX_ANY_DEPTH) {
                /* Do not look inside: the item is rejected anyway. The value is left
                 * EMPTY so a model never holds a container deeper than the limit (a
                 * resource above rejected items stays in the model). */
                oj_bad(why, R_DEPTH);
                out->type = OTLP_ANY_EMPTY;
                break;
            }
            uint32_t n;
            if ((rc = oj_array(c, fv, "values", &n)) < 0 || n == 0)
                break;
            if (is_kv) {
                otlp_kv_t *arr = oj_arr(c, n, sizeof(*arr), &rc);
                if (rc)
                    break;
                uint32_t i = 0;
                JSON_ARR_FOREACH(d, fv, el)
                {
                    if ((rc = oj_kv(c, el, &arr[i++], depth + 1, why)) < 0)
                        break;
                }
                out->u.kvlist.v = arr;
                out->u.kvlist.n = n;
            } else {
                otlp_any_t *arr = oj_arr(c, n, sizeof(*arr), &rc);
                if (rc)
                    break;
                uint32_t i = 0;
                JSON_ARR_FOREACH(d, fv, el)
                {
                    if ((rc = oj_any(c, el, &arr[i++], depth + 1, why)) < 0)
                        break;
                }
                out->u.array.v = arr;
                out->u.array.n = n;
            }
            break;
        }
        default:
            continue;
        }
        if (rc < 0)
            return rc;
        nset++;
    }
    if (nset > 1)
        return oj_fail(c, v, "AnyValue: more than one value field set");
    return 0;
}

/* KeyValue {key, value}; the value is at `depth`. */
static int oj_kv(struct oj *c, uint32_t obj, otlp_kv_t *kv, int depth, const char **why)
{
    uint32_t fk, fv;
    const struct oj_field f[] = {{"key", &fk}, {"value", &fv}};
    int rc = oj_fields(c, obj, "KeyValue", f, OJ_NF(f));
    if (!rc)
        rc = oj_str(c, fk, "key", &kv->key, why);
    if (!rc)
        rc = oj_any(c, fv, &kv->value, depth, why);
    return rc;
}

static int oj_attrs(struct oj *c, uint32_t v, const char *what, otlp_attrs_t *out, const char **why)
{
    uint32_t n;
    int rc = oj_array(c, v, what, &n);
    out->v = NULL;
    out->n = 0;
    if (rc || !n)
        return rc;
    otlp_kv_t *arr = oj_arr(c, n, sizeof(*arr), &rc);
    if (rc)
        return rc;
    uint32_t i = 0;
    JSON_ARR_FOREACH(&c->d, v, el)
    {
        if ((rc = oj_kv(c, el, &arr[i++], 1, why)) < 0)
            return rc;
    }
    out->v = arr;
    out->n = n;
    return 0;
}

static int oj_resource(struct oj *c, uint32_t v, otlp_resource_t *r, const char **why)
{
    uint32_t fa, fd;
    const struct oj_field f[] = {{"attributes", &fa}, {"droppedAttributesCount", &fd}};
    memset(r, 0, sizeof(*r));
    if (v == JSON_NONE)
        return 0;
    int rc = oj_fields(c, v, "resource", f, OJ_NF(f));
    if (!rc)
        rc = oj_attrs(c, fa, "resource.attributes", &r->attrs, why);
    if (!rc)
        rc = oj_u32(c, fd, "droppedAttributesCount", &r->dropped_attributes_count);
    return rc;
}

static int oj_scope(struct oj *c, uint32_t v, otlp_scope_t *s, const char **why)
{
    uint32_t fn, fv, fa, fd;
    const struct oj_field f[] = {
        {"name", &fn}, {"version", &fv}, {"attributes", &fa}, {"droppedAttributesCount", &fd}};
    memset(s, 0, sizeof(*s));
    if (v == JSON_NONE)
        return 0;
    int rc = oj_fields(c, v, "scope", f, OJ_NF(f));
    if (!rc)
        rc = oj_str(c, fn, "scope.name", &s->name, why);
    if (!rc)
        rc = oj_str(c, fv, "scope.version", &s->version, why);
    if (!rc)
        rc = oj_attrs(c, fa, "scope.attributes", &s->attrs, why);
    if (!rc)
        rc = oj_u32(c, fd, "droppedAttributesCount", &s->dropped_attributes_count);
    return rc;
}

/* Keep or drop item `i` of a list: `parent` (resource/scope/metric problem) wins over
 * the item's own reason. Returns 1 when kept. */
static int oj_settle(struct oj *c, const char *parent, const char *own)
{
    const char *why = parent ? parent : own;
    if (why) {
        oj_reject(c, why);
        return 0;
    }
    c->items++;
    return 1;
}

/* ---------------------------------------------------------------- traces ------------ */

static int oj_event(struct oj *c, uint32_t v, otlp_event_t *e, const char **why)
{
    uint32_t ft, fn, fa, fd;
    const struct oj_field f[] = {
        {"timeUnixNano", &ft}, {"name", &fn}, {"attributes", &fa}, {"droppedAttributesCount", &fd}};
    int rc = oj_fields(c, v, "event", f, OJ_NF(f));
    if (!rc)
        rc = oj_u64(c, ft, "event.timeUnixNano", &e->time_unix_nano);
    if (!rc)
        rc = oj_str(c, fn, "event.name", &e->name, why);
    if (!rc)
        rc = oj_attrs(c, fa, "event.attributes", &e->attrs, why);
    if (!rc)
        rc = oj_u32(c, fd, "event.droppedAttributesCount", &e->dropped_attributes_count);
    return rc;
}

static int oj_link(struct oj *c, uint32_t v, otlp_link_t *l, const char **why)
{
    uint32_t ft, fs, fts, fa, fd, ff;
    const struct oj_field f[] = {{"traceId", &ft},
                                 {"spanId", &fs},
                                 {"traceState", &fts},
                                 {"attributes", &fa},
                                 {"droppedAttributesCount", &fd},
                                 {"flags", &ff}};
    int rc = oj_fields(c, v, "link", f, OJ_NF(f));
    if (!rc)
        rc = oj_trace_id(c, ft, "link.traceId", &l->trace_id, 1, R_LINK_TRACE_ID, why);
    if (!rc)
        rc = oj_span_id(c, fs, "link.spanId", &l->span_id, 1, R_LINK_SPAN_ID, why);
    if (!rc)
        rc = oj_str(c, fts, "link.traceState", &l->trace_state, why);
    if (!rc)
        rc = oj_attrs(c, fa, "link.attributes", &l->attrs, why);
    if (!rc)
        rc = oj_u32(c, fd, "link.droppedAttributesCount", &l->dropped_attributes_count);
    if (!rc)
        rc = oj_u32(c, ff, "link.flags", &l->flags);
    return rc;
}

static int oj_span(struct oj *c, uint32_t v, otlp_span_t *s, const char **why)
{
    uint32_t ftid, fsid, fts, fpid, ffl, fn, fk, fst, fet, fa, fda, fev, fde, fli, fdl, fstat;
    const struct oj_field f[] = {
        {"traceId", &ftid},
        {"spanId", &fsid},
        {"traceState", &fts},
        {"parentSpanId", &fpid},
        {"flags", &ffl},
        {"name", &fn},
        {"kind", &fk},
        {"startTimeUnixNano", &fst},
        {"endTimeUnixNano", &fet},
        {"attributes", &fa},
        {"droppedAttributesCount", &fda},
        {"events", &fev},
        {"droppedEventsCount", &fde},
        {"links", &fli},
        {"droppedLinksCount", &fdl},
        {"status", &fstat},
    };
    const json_doc_t *d = &c->d;
    int rc = oj_fields(c, v, "span", f, OJ_NF(f));
    if (!rc)
        rc = oj_trace_id(c, ftid, "traceId", &s->trace_id, 1, R_TRACE_ID, why);
    if (!rc)
        rc = oj_span_id(c, fsid, "spanId", &s->span_id, 1, R_SPAN_ID, why);
    if (!rc)
        rc = oj_span_id(c, fpid, "parentSpanId", &s->parent_span_id, 0, R_PARENT_ID, why);
    if (!rc)
        rc = oj_str(c, fts, "traceState", &s->trace_state, why);
    if (!rc)
        rc = oj_u32(c, ffl, "flags", &s->flags);
    if (!rc)
        rc = oj_str(c, fn, "name", &s->name, why);
    if (!rc)
        rc = oj_enum(c, fk, "kind", oj_span_kinds, &s->kind);
    if (!rc)
        rc = oj_u64(c, fst, "startTimeUnixNano", &s->start_time_unix_nano);
    if (!rc)
        rc = oj_u64(c, fet, "endTimeUnixNano", &s->end_time_unix_nano);
    if (!rc)
        rc = oj_attrs(c, fa, "attributes", &s->attrs, why);
    if (!rc)
        rc = oj_u32(c, fda, "droppedAttributesCount", &s->dropped_attributes_count);
    if (!rc)
        rc = oj_u32(c, fde, "droppedEventsCount", &s->dropped_events_count);
    if (!rc)
        rc = oj_u32(c, fdl, "droppedLinksCount", &s->dropped_links_count);
    if (rc)
        return rc;

    uint32_t n;
    if ((rc = oj_array(c, fev, "events", &n)) < 0)
        return rc;
    s->events = oj_arr(c, n, sizeof(*s->events), &rc);
    if (rc)
        return rc;
    s->n_events = n;
    if (n) {
        uint32_t i = 0;
        JSON_ARR_FOREACH(d, fev, el)
        {
            memset(&s->events[i], 0, sizeof(s->events[i]));
            if ((rc = oj_event(c, el, &s->events[i++], why)) < 0)
                return rc;
        }
    }
    if ((rc = oj_array(c, fli, "links", &n)) < 0)
        return rc;
    s->links = oj_arr(c, n, sizeof(*s->links), &rc);
    if (rc)
        return rc;
    s->n_links = n;
    if (n) {
        uint32_t i = 0;
        JSON_ARR_FOREACH(d, fli, el)
        {
            memset(&s->links[i], 0, sizeof(s->links[i]));
            if ((rc = oj_link(c, el, &s->links[i++], why)) < 0)
                return rc;
        }
    }
    if (fstat != JSON_NONE) {
        uint32_t fm, fc;
        const struct oj_field sf[] = {{"message", &fm}, {"code", &fc}};
        rc = oj_fields(c, fstat, "status", sf, OJ_NF(sf));
        if (!rc)
            rc = oj_str(c, fm, "status.message", &s->status.message, why);
        if (!rc)
            rc = oj_enum(c, fc, "status.code", oj_status_codes, &s->status.code);
    }
    return rc;
}

static int oj_scope_spans(struct oj *c, uint32_t v, otlp_scope_spans_t *ss, const char *pwhy)
{
    uint32_t fsc, fsp, fsu;
    const struct oj_field f[] = {{"scope", &fsc}, {"spans", &fsp}, {"schemaUrl", &fsu}};
    const char *why = pwhy;
    uint32_t n;
    int rc = oj_fields(c, v, "scopeSpans", f, OJ_NF(f));
    if (!rc)
        rc = oj_scope(c, fsc, &ss->scope, &why);
    if (!rc)
        rc = oj_str(c, fsu, "schemaUrl", &ss->schema_url, &why);
    if (!rc)
        rc = oj_array(c, fsp, "spans", &n);
    if (rc)
        return rc;
    ss->spans = oj_arr(c, n, sizeof(*ss->spans), &rc);
    if (rc)
        return rc;
    size_t k = 0;
    if (n) {
        JSON_ARR_FOREACH(&c->d, fsp, el)
        {
            const char *own = NULL;
            memset(&ss->spans[k], 0, sizeof(ss->spans[k]));
            if ((rc = oj_span(c, el, &ss->spans[k], &own)) < 0)
                return rc;
            k += (size_t)oj_settle(c, why, own);
        }
    }
    ss->n_spans = k;
    return 0;
}

static int oj_resource_spans(struct oj *c, uint32_t v, otlp_resource_spans_t *rs)
{
    uint32_t fr, fss, fsu;
    const struct oj_field f[] = {{"resource", &fr}, {"scopeSpans", &fss}, {"schemaUrl", &fsu}};
    const char *why = NULL;
    uint32_t n;
    int rc = oj_fields(c, v, "resourceSpans", f, OJ_NF(f));
    if (!rc)
        rc = oj_resource(c, fr, &rs->resource, &why);
    if (!rc)
        rc = oj_str(c, fsu, "schemaUrl", &rs->schema_url, &why);
    if (!rc)
        rc = oj_array(c, fss, "scopeSpans", &n);
    if (rc)
        return rc;
    rs->scope_spans = oj_arr(c, n, sizeof(*rs->scope_spans), &rc);
    if (rc)
        return rc;
    rs->n_scope_spans = n;
    uint32_t i = 0;
    if (n) {
        JSON_ARR_FOREACH(&c->d, fss, el)
        {
            memset(&rs->scope_spans[i], 0, sizeof(rs->scope_spans[i]));
            if ((rc = oj_scope_spans(c, el, &rs->scope_spans[i++], why)) < 0)
                return rc;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- metrics ----------- */

static int oj_u64s(struct oj *c, uint32_t v, const char *what, otlp_u64s_t *out)
{
    uint32_t n;
    int rc = oj_array(c, v, what, &n);
    out->v = NULL;
    out->n = 0;
    if (rc || !n)
        return rc;
    uint64_t *arr = oj_arr(c, n, sizeof(*arr), &rc);
    if (rc)
        return rc;
    uint32_t i = 0;
    JSON_ARR_FOREACH(&c->d, v, el)
    {
        if (c->d.t[el].type == JSON_NULL)
            return oj_fail(c, el, "%s: null element", what);
        if ((rc = oj_u64(c, el, what, &arr[i++])) < 0)
            return rc;
    }
    out->v = arr;
    out->n = n;
    return 0;
}

static int oj_f64s(struct oj *c, uint32_t v, const char *what, otlp_f64s_t *out)
{
    uint32_t n;
    int rc = oj_array(c, v, what, &n);
    out->v = NULL;
    out->n = 0;
    if (rc || !n)
        return rc;
    double *arr = oj_arr(c, n, sizeof(*arr), &rc);
    if (rc)
        return rc;
    uint32_t i = 0;
    JSON_ARR_FOREACH(&c->d, v, el)
    {
        if (c->d.t[el].type == JSON_NULL)
            return oj_fail(c, el, "%s: null element", what);
        if ((rc = oj_f64(c, el, what, &arr[i++])) < 0)
            return rc;
    }
    out->v = arr;
    out->n = n;
    return 0;
}

/* oneof value { as_double, as_int }: both set is a request error, like any oneof. */
static int oj_number_value(struct oj *c, uint32_t fd, uint32_t fi, int *is_int, double *dv,
                           int64_t *iv)
{
    if (fd != JSON_NONE && fi != JSON_NONE)
        return oj_fail(c, fi, "asDouble and asInt are both set");
    *is_int = fi != JSON_NONE;
    int rc = oj_f64(c, fd, "asDouble", dv);
    if (!rc)
        rc = oj_i64(c, fi, "asInt", iv);
    return rc;
}

static int oj_exemplars(struct oj *c, uint32_t v, otlp_exemplars_t *out, const char **why)
{
    uint32_t n;
    int rc = oj_array(c, v, "exemplars", &n);
    out->v = NULL;
    out->n = 0;
    if (rc || !n)
        return rc;
    otlp_exemplar_t *arr = oj_arr(c, n, sizeof(*arr), &rc);
    if (rc)
        return rc;
    uint32_t i = 0;
    JSON_ARR_FOREACH(&c->d, v, el)
    {
        otlp_exemplar_t *e = &arr[i++];
        uint32_t ffa, ft, fd, fi, fs, ftr;
        const struct oj_field f[] = {{"filteredAttributes", &ffa},
                                     {"timeUnixNano", &ft},
                                     {"asDouble", &fd},
                                     {"asInt", &fi},
                                     {"spanId", &fs},
                                     {"traceId", &ftr}};
        memset(e, 0, sizeof(*e));
        rc = oj_fields(c, el, "exemplar", f, OJ_NF(f));
        if (!rc)
            rc = oj_attrs(c, ffa, "exemplar.filteredAttributes", &e->filtered_attrs, why);
        if (!rc)
            rc = oj_u64(c, ft, "exemplar.timeUnixNano", &e->time_unix_nano);
        if (!rc)
            rc = oj_number_value(c, fd, fi, &e->is_int, &e->as_double, &e->as_int);
        if (!rc)
            rc = oj_span_id(c, fs, "exemplar.spanId", &e->span_id, 0, R_EX_SPAN_ID, why);
        if (!rc)
            rc = oj_trace_id(c, ftr, "exemplar.traceId", &e->trace_id, 0, R_EX_TRACE_ID, why);
        if (rc)
            return rc;
    }
    out->v = arr;
    out->n = n;
    return 0;
}

static int oj_number_dp(struct oj *c, uint32_t v, otlp_number_dp_t *p, const char **why)
{
    uint32_t fa, fs, ft, fd, fi, fe, ff;
    const struct oj_field f[] = {
        {"attributes", &fa}, {"startTimeUnixNano", &fs}, {"timeUnixNano", &ft}, {"asDouble", &fd},
        {"asInt", &fi},      {"exemplars", &fe},         {"flags", &ff}};
    int rc = oj_fields(c, v, "dataPoint", f, OJ_NF(f));
    if (!rc)
        rc = oj_attrs(c, fa, "attributes", &p->attrs, why);
    if (!rc)
        rc = oj_u64(c, fs, "startTimeUnixNano", &p->start_time_unix_nano);
    if (!rc)
        rc = oj_u64(c, ft, "timeUnixNano", &p->time_unix_nano);
    if (!rc)
        rc = oj_number_value(c, fd, fi, &p->is_int, &p->as_double, &p->as_int);
    if (!rc)
        rc = oj_exemplars(c, fe, &p->exemplars, why);
    if (!rc)
        rc = oj_u32(c, ff, "flags", &p->flags);
    return rc;
}

/* An optional double (proto3 `optional`): presence is recorded. */
static int oj_opt_f64(struct oj *c, uint32_t v, const char *what, int *has, double *out)
{
    *has = v != JSON_NONE;
    return oj_f64(c, v, what, out);
}

static int oj_histogram_dp(struct oj *c, uint32_t v, otlp_histogram_dp_t *p, const char **why)
{
    uint32_t fa, fs, ft, fc, fsum, fbc, feb, fe, ff, fmin, fmax;
    const struct oj_field f[] = {{"attributes", &fa},
                                 {"startTimeUnixNano", &fs},
                                 {"timeUnixNano", &ft},
                                 {"count", &fc},
                                 {"sum", &fsum},
                                 {"bucketCounts", &fbc},
                                 {"explicitBounds", &feb},
                                 {"exemplars", &fe},
                                 {"flags", &ff},
                                 {"min", &fmin},
                                 {"max", &fmax}};
    int rc = oj_fields(c, v, "dataPoint", f, OJ_NF(f));
    if (!rc)
        rc = oj_attrs(c, fa, "attributes", &p->attrs, why);
    if (!rc)
        rc = oj_u64(c, fs, "startTimeUnixNano", &p->start_time_unix_nano);
    if (!rc)
        rc = oj_u64(c, ft, "timeUnixNano", &p->time_unix_nano);
    if (!rc)
        rc = oj_u64(c, fc, "count", &p->count);
    if (!rc)
        rc = oj_opt_f64(c, fsum, "sum", &p->has_sum, &p->sum);
    if (!rc)
        rc = oj_u64s(c, fbc, "bucketCounts", &p->bucket_counts);
    if (!rc)
        rc = oj_f64s(c, feb, "explicitBounds", &p->explicit_bounds);
    if (!rc)
        rc = oj_exemplars(c, fe, &p->exemplars, why);
    if (!rc)
        rc = oj_u32(c, ff, "flags", &p->flags);
    if (!rc)
        rc = oj_opt_f64(c, fmin, "min", &p->has_min, &p->min);
    if (!rc)
        rc = oj_opt_f64(c, fmax, "max", &p->has_max, &p->max);
    return rc;
}

static int oj_exp_buckets(struct oj *c, uint32_t v, const char *what, otlp_exp_buckets_t *b)
{
    uint32_t fo, fb;
    const struct oj_field f[] = {{"offset", &fo}, {"bucketCounts", &fb}};
    memset(b, 0, sizeof(*b));
    if (v == JSON_NONE)
        return 0;
    int rc = oj_fields(c, v, what, f, OJ_NF(f));
    if (!rc)
        rc = oj_i32(c, fo, "offset", &b->offset);
    if (!rc)
        rc = oj_u64s(c, fb, "bucketCounts", &b->bucket_counts);
    return rc;
}

static int oj_exp_histogram_dp(struct oj *c, uint32_t v, otlp_exp_histogram_dp_t *p,
                               const char **why)
{
    uint32_t fa, fs, ft, fc, fsum, fsc, fzc, fpos, fneg, ff, fe, fmin, fmax, fzt;
    const struct oj_field f[] = {{"attributes", &fa},   {"startTimeUnixNano", &fs},
                                 {"timeUnixNano", &ft}, {"count", &fc},
                                 {"sum", &fsum},        {"scale", &fsc},
                                 {"zeroCount", &fzc},   {"positive", &fpos},
                                 {"negative", &fneg},   {"flags", &ff},
                                 {"exemplars", &fe},    {"min", &fmin},
                                 {"max", &fmax},        {"zeroThreshold", &fzt}};
    int rc = oj_fields(c, v, "dataPoint", f, OJ_NF(f));
    if (!rc)
        rc = oj_attrs(c, fa, "attributes", &p->attrs, why);
    if (!rc)
        rc = oj_u64(c, fs, "startTimeUnixNano", &p->start_time_unix_nano);
    if (!rc)
        rc = oj_u64(c, ft, "timeUnixNano", &p->time_unix_nano);
    if (!rc)
        rc = oj_u64(c, fc, "count", &p->count);
    if (!rc)
        rc = oj_opt_f64(c, fsum, "sum", &p->has_sum, &p->sum);
    if (!rc)
        rc = oj_i32(c, fsc, "scale", &p->scale);
    if (!rc)
        rc = oj_u64(c, fzc, "zeroCount", &p->zero_count);
    if (!rc)
        rc = oj_exp_buckets(c, fpos, "positive", &p->positive);
    if (!rc)
        rc = oj_exp_buckets(c, fneg, "negative", &p->negative);
    if (!rc)
        rc = oj_u32(c, ff, "flags", &p->flags);
    if (!rc)
        rc = oj_exemplars(c, fe, &p->exemplars, why);
    if (!rc)
        rc = oj_opt_f64(c, fmin, "min", &p->has_min, &p->min);
    if (!rc)
        rc = oj_opt_f64(c, fmax, "max", &p->has_max, &p->max);
    if (!rc)
        rc = oj_f64(c, fzt, "zeroThreshold", &p->zero_threshold);
    return rc;
}

static int oj_summary_dp(struct oj *c, uint32_t v, otlp_summary_dp_t *p, const char **why)
{
    uint32_t fa, fs, ft, fc, fsum, fq, ff;
    const struct oj_field f[] = {
        {"attributes", &fa}, {"startTimeUnixNano", &fs}, {"timeUnixNano", &ft}, {"count", &fc},
        {"sum", &fsum},      {"quantileValues", &fq},    {"flags", &ff}};
    uint32_t n = 0;
    int rc = oj_fields(c, v, "dataPoint", f, OJ_NF(f));
    if (!rc)
        rc = oj_attrs(c, fa, "attributes", &p->attrs, why);
    if (!rc)
        rc = oj_u64(c, fs, "startTimeUnixNano", &p->start_time_unix_nano);
    if (!rc)
        rc = oj_u64(c, ft, "timeUnixNano", &p->time_unix_nano);
    if (!rc)
        rc = oj_u64(c, fc, "count", &p->count);
    if (!rc)
        rc = oj_f64(c, fsum, "sum", &p->sum);
    if (!rc)
        rc = oj_u32(c, ff, "flags", &p->flags);
    if (!rc)
        rc = oj_array(c, fq, "quantileValues", &n);
    if (rc || !n)
        return rc;
    p->quantiles = oj_arr(c, n, sizeof(*p->quantiles), &rc);
    if (rc)
        return rc;
    p->n_quantiles = n;
    uint32_t i = 0;
    JSON_ARR_FOREACH(&c->d, fq, el)
    {
        uint32_t fqq, fqv;
        const struct oj_field qf[] = {{"quantile", &fqq}, {"value", &fqv}};
        otlp_quantile_t *q = &p->quantiles[i++];
        rc = oj_fields(c, el, "quantileValue", qf, OJ_NF(qf));
        if (!rc)
            rc = oj_f64(c, fqq, "quantile", &q->quantile);
        if (!rc)
            rc = oj_f64(c, fqv, "value", &q->value);
        if (rc)
            return rc;
    }
    return 0;
}

/* Data points of one metric. `pwhy`: a problem of the metric or above, which rejects
 * every point. */
static int oj_points(struct oj *c, uint32_t arr, otlp_metric_t *m, const char *pwhy)
{
    uint32_t n;
    int rc = oj_array(c, arr, "dataPoints", &n);
    if (rc || !n)
        return rc;
    size_t k = 0, size;
    switch (m->type) {
    case OTLP_METRIC_GAUGE:
    case OTLP_METRIC_SUM:
        size = sizeof(otlp_number_dp_t);
        break;
    case OTLP_METRIC_HISTOGRAM:
        size = sizeof(otlp_histogram_dp_t);
        break;
    case OTLP_METRIC_EXP_HISTOGRAM:
        size = sizeof(otlp_exp_histogram_dp_t);
        break;
    default:
        size = sizeof(otlp_summary_dp_t);
        break;
    }
    /* every member of the union starts with {v, n}: fill through the number view */
    uint8_t *base = oj_arr(c, n, size, &rc);
    if (rc)
        return rc;
    JSON_ARR_FOREACH(&c->d, arr, el)
    {
        const char *own = NULL;
        void *slot = base + k * size;
        memset(slot, 0, size);
        switch (m->type) {
        case OTLP_METRIC_GAUGE:
        case OTLP_METRIC_SUM:
            rc = oj_number_dp(c, el, slot, &own);
            break;
        case OTLP_METRIC_HISTOGRAM:
            rc = oj_histogram_dp(c, el, slot, &own);
            break;
        case OTLP_METRIC_EXP_HISTOGRAM:
            rc = oj_exp_histogram_dp(c, el, slot, &own);
            break;
        default:
            rc = oj_summary_dp(c, el, slot, &own);
            break;
        }
        if (rc)
            return rc;
        k += (size_t)oj_settle(c, pwhy, own);
    }
    switch (m->type) {
    case OTLP_METRIC_GAUGE:
    case OTLP_METRIC_SUM:
        m->points.number.v = (otlp_number_dp_t *)(void *)base;
        m->points.number.n = k;
        break;
    case OTLP_METRIC_HISTOGRAM:
        m->points.histogram.v = (otlp_histogram_dp_t *)(void *)base;
        m->points.histogram.n = k;
        break;
    case OTLP_METRIC_EXP_HISTOGRAM:
        m->points.exp_histogram.v = (otlp_exp_histogram_dp_t *)(void *)base;
        m->points.exp_histogram.n = k;
        break;
    default:
        m->points.summary.v = (otlp_summary_dp_t *)(void *)base;
        m->points.summary.n = k;
        break;
    }
    return 0;
}

static int oj_metric(struct oj *c, uint32_t v, otlp_metric_t *m, const char *pwhy)
{
    uint32_t fn, fd, fu, fmd, fg, fs, fh, feh, fsm;
    const struct oj_field f[] = {
        {"name", &fn},    {"description", &fd}, {"unit", &fu},      {"metadata", &fmd},
        {"gauge", &fg},   {"sum", &fs},         {"histogram", &fh}, {"exponentialHistogram", &feh},
        {"summary", &fsm}};
    const char *why = pwhy;
    int rc = oj_fields(c, v, "metric", f, OJ_NF(f));
    if (!rc)
        rc = oj_str(c, fn, "metric.name", &m->name, &why);
    if (!rc)
        rc = oj_str(c, fd, "metric.description", &m->description, &why);
    if (!rc)
        rc = oj_str(c, fu, "metric.unit", &m->unit, &why);
    if (!rc)
        rc = oj_attrs(c, fmd, "metric.metadata", &m->metadata, &why);
    if (rc)
        return rc;
    static const uint8_t types[] = {OTLP_METRIC_GAUGE, OTLP_METRIC_SUM, OTLP_METRIC_HISTOGRAM,
                                    OTLP_METRIC_EXP_HISTOGRAM, OTLP_METRIC_SUMMARY};
    const uint32_t data[] = {fg, fs, fh, feh, fsm};
    static const char *const names[] = {"gauge", "sum", "histogram", "exponentialHistogram",
                                        "summary"};
    uint32_t dv = JSON_NONE;
    for (int i = 0; i < 5; i++) {
        if (data[i] == JSON_NONE)
            continue;
        if (dv != JSON_NONE)
            return oj_fail(c, data[i],
                           "metric: more than one of gauge/sum/histogram/"
                           "exponentialHistogram/summary set");
        dv = data[i];
        m->type = types[i];
    }
    if (dv == JSON_NONE)
        return 0;
    uint32_t fdp, fat, fmono;
    const struct oj_field df[] = {
        {"dataPoints", &fdp}, {"aggregationTemporality", &fat}, {"isMonotonic", &fmono}};
    rc = oj_fields(c, dv, names[m->type - 1], df, OJ_NF(df));
    if (!rc && m->type != OTLP_METRIC_GAUGE && m->type != OTLP_METRIC_SUMMARY)
        rc = oj_enum(c, fat, "aggregationTemporality", oj_temporalities, &m->temporality);
    if (!rc && m->type == OTLP_METRIC_SUM)
        rc = oj_bool(c, fmono, "isMonotonic", &m->is_monotonic);
    if (!rc)
        rc = oj_points(c, fdp, m, why);
    return rc;
}

static int oj_scope_metrics(struct oj *c, uint32_t v, otlp_scope_metrics_t *sm, const char *pwhy)
{
    uint32_t fsc, fm, fsu, n;
    const struct oj_field f[] = {{"scope", &fsc}, {"metrics", &fm}, {"schemaUrl", &fsu}};
    const char *why = pwhy;
    int rc = oj_fields(c, v, "scopeMetrics", f, OJ_NF(f));
    if (!rc)
        rc = oj_scope(c, fsc, &sm->scope, &why);
    if (!rc)
        rc = oj_str(c, fsu, "schemaUrl", &sm->schema_url, &why);
    if (!rc)
        rc = oj_array(c, fm, "metrics", &n);
    if (rc)
        return rc;
    sm->metrics = oj_arr(c, n, sizeof(*sm->metrics), &rc);
    if (rc)
        return rc;
    sm->n_metrics = n;
    uint32_t i = 0;
    if (n) {
        JSON_ARR_FOREACH(&c->d, fm, el)
        {
            memset(&sm->metrics[i], 0, sizeof(sm->metrics[i]));
            if ((rc = oj_metric(c, el, &sm->metrics[i++], why)) < 0)
                return rc;
        }
    }
    return 0;
}

static int oj_resource_metrics(struct oj *c, uint32_t v, otlp_resource_metrics_t *rm)
{
    uint32_t fr, fsm, fsu, n;
    const struct oj_field f[] = {{"resource", &fr}, {"scopeMetrics", &fsm}, {"schemaUrl", &fsu}};
    const char *why = NULL;
    int rc = oj_fields(c, v, "resourceMetrics", f, OJ_NF(f));
    if (!rc)
        rc = oj_resource(c, fr, &rm->resource, &why);
    if (!rc)
        rc = oj_str(c, fsu, "schemaUrl", &rm->schema_url, &why);
    if (!rc)
        rc = oj_array(c, fsm, "scopeMetrics", &n);
    if (rc)
        return rc;
    rm->scope_metrics = oj_arr(c, n, sizeof(*rm->scope_metrics), &rc);
    if (rc)
        return rc;
    rm->n_scope_metrics = n;
    uint32_t i = 0;
    if (n) {
        JSON_ARR_FOREACH(&c->d, fsm, el)
        {
            memset(&rm->scope_metrics[i], 0, sizeof(rm->scope_metrics[i]));
            if ((rc = oj_scope_metrics(c, el, &rm->scope_metrics[i++], why)) < 0)
                return rc;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- logs -------------- */

static int oj_log_record(struct oj *c, uint32_t v, otlp_log_record_t *r, const char **why)
{
    uint32_t ft, fot, fsn, fst, fb, fa, fda, ff, ftid, fsid, fen;
    const struct oj_field f[] = {{"timeUnixNano", &ft},
                                 {"observedTimeUnixNano", &fot},
                                 {"severityNumber", &fsn},
                                 {"severityText", &fst},
                                 {"body", &fb},
                                 {"attributes", &fa},
                                 {"droppedAttributesCount", &fda},
                                 {"flags", &ff},
                                 {"traceId", &ftid},
                                 {"spanId", &fsid},
                                 {"eventName", &fen}};
    int rc = oj_fields(c, v, "logRecord", f, OJ_NF(f));
    if (!rc)
        rc = oj_u64(c, ft, "timeUnixNano", &r->time_unix_nano);
    if (!rc)
        rc = oj_u64(c, fot, "observedTimeUnixNano", &r->observed_time_unix_nano);
    if (!rc)
        rc = oj_enum(c, fsn, "severityNumber", oj_severities, &r->severity_number);
    if (!rc)
        rc = oj_str(c, fst, "severityText", &r->severity_text, why);
    if (!rc)
        rc = oj_any(c, fb, &r->body, 1, why);
    if (!rc)
        rc = oj_attrs(c, fa, "attributes", &r->attrs, why);
    if (!rc)
        rc = oj_u32(c, fda, "droppedAttributesCount", &r->dropped_attributes_count);
    if (!rc)
        rc = oj_u32(c, ff, "flags", &r->flags);
    if (!rc)
        rc = oj_trace_id(c, ftid, "traceId", &r->trace_id, 0, R_LOG_TRACE_ID, why);
    if (!rc)
        rc = oj_span_id(c, fsid, "spanId", &r->span_id, 0, R_LOG_SPAN_ID, why);
    if (!rc)
        rc = oj_str(c, fen, "eventName", &r->event_name, why);
    return rc;
}

static int oj_scope_logs(struct oj *c, uint32_t v, otlp_scope_logs_t *sl, const char *pwhy)
{
    uint32_t fsc, flr, fsu, n;
    const struct oj_field f[] = {{"scope", &fsc}, {"logRecords", &flr}, {"schemaUrl", &fsu}};
    const char *why = pwhy;
    int rc = oj_fields(c, v, "scopeLogs", f, OJ_NF(f));
    if (!rc)
        rc = oj_scope(c, fsc, &sl->scope, &why);
    if (!rc)
        rc = oj_str(c, fsu, "schemaUrl", &sl->schema_url, &why);
    if (!rc)
        rc = oj_array(c, flr, "logRecords", &n);
    if (rc)
        return rc;
    sl->log_records = oj_arr(c, n, sizeof(*sl->log_records), &rc);
    if (rc)
        return rc;
    size_t k = 0;
    if (n) {
        JSON_ARR_FOREACH(&c->d, flr, el)
        {
            const char *own = NULL;
            memset(&sl->log_records[k], 0, sizeof(sl->log_records[k]));
            if ((rc = oj_log_record(c, el, &sl->log_records[k], &own)) < 0)
                return rc;
            k += (size_t)oj_settle(c, why, own);
        }
    }
    sl->n_log_records = k;
    return 0;
}

static int oj_resource_logs(struct oj *c, uint32_t v, otlp_resource_logs_t *rl)
{
    uint32_t fr, fsl, fsu, n;
    const struct oj_field f[] = {{"resource", &fr}, {"scopeLogs", &fsl}, {"schemaUrl", &fsu}};
    const char *why = NULL;
    int rc = oj_fields(c, v, "resourceLogs", f, OJ_NF(f));
    if (!rc)
        rc = oj_resource(c, fr, &rl->resource, &why);
    if (!rc)
        rc = oj_str(c, fsu, "schemaUrl", &rl->schema_url, &why);
    if (!rc)
        rc = oj_array(c, fsl, "scopeLogs", &n);
    if (rc)
        return rc;
    rl->scope_logs = oj_arr(c, n, sizeof(*rl->scope_logs), &rc);
    if (rc)
        return rc;
    rl->n_scope_logs = n;
    uint32_t i = 0;
    if (n) {
        JSON_ARR_FOREACH(&c->d, fsl, el)
        {
            memset(&rl->scope_logs[i], 0, sizeof(rl->scope_logs[i]));
            if ((rc = oj_scope_logs(c, el, &rl->scope_logs[i++], why)) < 0)
                return rc;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- entry points ------ */

/* Parse `body` into c->d (scratch arena) and find the top-level list `list`. */
static int oj_begin(struct oj *c, slice_t body, arena_t *a, const char *list, uint32_t *arr,
                    uint32_t *n)
{
    memset(c, 0, sizeof(*c));
    c->a = a;
    *arr = JSON_NONE;
    *n = 0;
    /* Tokens take ~4x the body; one chunk fits a typical request. */
    c->scratch =
        arena_create(body.len * 4 + 4096 < (1u << 20) ? body.len * 4 + 4096 : (1u << 20), 0);
    if (!c->scratch) {
        c->err = "out of memory";
        return ORASI_ENOMEM;
    }
    json_limits_t lim = {.max_depth = OJ_MAX_JSON_DEPTH, .flags = JSON_LENIENT_UTF8};
    json_err_t e;
    int rc = json_parse(body, &lim, c->scratch, &c->d, &e);
    if (rc < 0) {
        if (rc == ORASI_ENOMEM) {
            c->err = "out of memory";
            return rc;
        }
        char *m = arena_alloc(a, sizeof(e.msg) + 32);
        if (m)
            snprintf(m, sizeof(e.msg) + 32, "invalid JSON: %s", e.msg);
        c->err = m ? m : "invalid JSON";
        /* Too many tokens / bytes is "request too large" (the receiver answers 413);
         * everything else, depth included, is a malformed body (400), the code the
         * protobuf decoder uses. */
        return rc == ORASI_ETOOBIG ? ORASI_ETOOBIG : ORASI_EPARSE;
    }
    const struct oj_field f[] = {{list, arr}};
    if ((rc = oj_fields(c, 0, "request", f, 1)) < 0)
        return rc;
    return oj_array(c, *arr, list, n);
}

static int oj_end(struct oj *c, int rc, const char **reject_msg, size_t *items, size_t *rejected)
{
    arena_destroy(c->scratch);
    c->scratch = NULL;
    *items = c->items;
    *rejected = c->rejected;
    *reject_msg = c->msg;
    if (rc < 0) {
        if (rc == ORASI_ENOMEM && !c->err)
            c->err = "out of memory";
        *reject_msg = c->err ? c->err : "malformed OTLP/JSON request";
    }
    return rc;
}

int otlp_json_decode_traces(slice_t body, arena_t *a, otlp_traces_t *out)
{
    struct oj c;
    uint32_t arr, n;
    memset(out, 0, sizeof(*out));
    int rc = oj_begin(&c, body, a, "resourceSpans", &arr, &n);
    if (!rc && n) {
        out->resource_spans = oj_arr(&c, n, sizeof(*out->resource_spans), &rc);
        if (!rc) {
            out->n_resource_spans = n;
            uint32_t i = 0;
            JSON_ARR_FOREACH(&c.d, arr, el)
            {
                memset(&out->resource_spans[i], 0, sizeof(out->resource_spans[i]));
                if ((rc = oj_resource_spans(&c, el, &out->resource_spans[i++])) < 0)
                    break;
            }
        }
    }
    return oj_end(&c, rc, &out->reject_msg, &out->n_items, &out->rejected);
}

int otlp_json_decode_metrics(slice_t body, arena_t *a, otlp_metrics_t *out)
{
    struct oj c;
    uint32_t arr, n;
    memset(out, 0, sizeof(*out));
    int rc = oj_begin(&c, body, a, "resourceMetrics", &arr, &n);
    if (!rc && n) {
        out->resource_metrics = oj_arr(&c, n, sizeof(*out->resource_metrics), &rc);
        if (!rc) {
            out->n_resource_metrics = n;
            uint32_t i = 0;
            JSON_ARR_FOREACH(&c.d, arr, el)
            {
                memset(&out->resource_metrics[i], 0, sizeof(out->resource_metrics[i]));
                if ((rc = oj_resource_metrics(&c, el, &out->resource_metrics[i++])) < 0)
                    break;
            }
        }
    }
    return oj_end(&c, rc, &out->reject_msg, &out->n_items, &out->rejected);
}

int otlp_json_decode_logs(slice_t body, arena_t *a, otlp_logs_t *out)
{
    struct oj c;
    uint32_t arr, n;
    memset(out, 0, sizeof(*out));
    int rc = oj_begin(&c, body, a, "resourceLogs", &arr, &n);
    if (!rc && n) {
        out->resource_logs = oj_arr(&c, n, sizeof(*out->resource_logs), &rc);
        if (!rc) {
            out->n_resource_logs = n;
            uint32_t i = 0;
            JSON_ARR_FOREACH(&c.d, arr, el)
            {
                memset(&out->resource_logs[i], 0, sizeof(out->resource_logs[i]));
                if ((rc = oj_resource_logs(&c, el, &out->resource_logs[i++])) < 0)
                    break;
            }
        }
    }
    return oj_end(&c, rc, &out->reject_msg, &out->n_items, &out->rejected);
}

/* ================================================================ encoder =========== */

/* A writer with a sticky error and comma tracking: `first` is 1 right after an opening
 * bracket, so the next member or element is written without a leading comma. */
struct ow {
    buf_t *b;
    int rc;
    int first;
};

static void ow_raw(struct ow *w, const char *s, size_t n)
{
    if (!w->rc)
        w->rc = buf_append(w->b, s, n);
}
static void ow_cstr(struct ow *w, const char *s)
{
    ow_raw(w, s, strlen(s));
}
static void ow_open(struct ow *w, char ch)
{
    ow_raw(w, &ch, 1);
    w->first = 1;
}
static void ow_close(struct ow *w, char ch)
{
    ow_raw(w, &ch, 1);
    w->first = 0;
}
static void ow_sep(struct ow *w)
{
    if (!w->first)
        ow_raw(w, ",", 1);
    w->first = 0;
}
/* `,"name":` in one append (names are our own short constants: no escaping needed) */
static void ow_key(struct ow *w, const char *name)
{
    char tmp[64];
    size_t n = 0, l = strlen(name);
    if (!w->first)
        tmp[n++] = ',';
    w->first = 0;
    if (l > sizeof(tmp) - 4) { /* cannot happen with our names; stay correct anyway */
        ow_raw(w, tmp, n);
        ow_raw(w, "\"", 1);
        ow_raw(w, name, l);
        ow_raw(w, "\":", 2);
        return;
    }
    tmp[n++] = '"';
    memcpy(tmp + n, name, l);
    n += l;
    tmp[n++] = '"';
    tmp[n++] = ':';
    ow_raw(w, tmp, n);
}

/* Decimal digits of v into the end of tmp[24]; returns the first digit. No printf: the
 * encoder writes many timestamps. */
static char *ow_utoa(uint64_t v, char *end)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

/* Integer (as a JSON number, or quoted as proto3 JSON writes 64-bit ones). */
static void ow_num(struct ow *w, int neg, uint64_t mag, int quoted)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp) - 1, *p;
    if (quoted)
        *end-- = '"';
    p = ow_utoa(mag, end + 1);
    if (neg)
        *--p = '-';
    if (quoted)
        *--p = '"';
    ow_raw(w, p, (size_t)(tmp + sizeof(tmp) - p));
}
static void ow_strval(struct ow *w, slice_t s)
{
    /* empty slices may carry a NULL pointer; never hand that to pointer arithmetic */
    if (!w->rc)
        w->rc = buf_append_json_str(w->b, s.len ? (const char *)s.p : "", s.len);
}
/* Optional fields: proto3 JSON omits defaults. */
static void ow_str(struct ow *w, const char *name, slice_t s)
{
    if (!s.len)
        return;
    ow_key(w, name);
    ow_strval(w, s);
}
static uint64_t ow_mag(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}
static void ow_u64(struct ow *w, const char *name, uint64_t v)
{
    if (!v)
        return;
    ow_key(w, name);
    ow_num(w, 0, v, 1);
}
static void ow_i64_always(struct ow *w, const char *name, int64_t v)
{
    ow_key(w, name);
    ow_num(w, v < 0, ow_mag(v), 1);
}
static void ow_int(struct ow *w, const char *name, int64_t v)
{
    if (!v)
        return;
    ow_key(w, name);
    ow_num(w, v < 0, ow_mag(v), 0);
}
static void ow_f64_always(struct ow *w, const char *name, double v)
{
    ow_key(w, name);
    if (!w->rc)
        w->rc = json_write_double(w->b, v);
}
static void ow_hex(struct ow *w, const char *name, const uint8_t *id, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[2 + 2 * 16];
    if (!len)
        return;
    ow_key(w, name);
    size_t n = 0;
    tmp[n++] = '"';
    for (size_t i = 0; i < len && i < 16; i++) {
        tmp[n++] = hex[id[i] >> 4];
        tmp[n++] = hex[id[i] & 15];
    }
    tmp[n++] = '"';
    ow_raw(w, tmp, n);
}
static void ow_base64(struct ow *w, slice_t s)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    ow_raw(w, "\"", 1);
    for (size_t i = 0; i < s.len && !w->rc; i += 3) {
        uint32_t v = (uint32_t)s.p[i] << 16;
        size_t left = s.len - i;
        if (left > 1)
            v |= (uint32_t)s.p[i + 1] << 8;
        if (left > 2)
            v |= s.p[i + 2];
        char q[4] = {a[v >> 18], a[(v >> 12) & 63], left > 1 ? a[(v >> 6) & 63] : '=',
                     left > 2 ? a[v & 63] : '='};
        ow_raw(w, q, 4);
    }
    ow_raw(w, "\"", 1);
}

static void ow_attrs(struct ow *w, const char *name, const otlp_attrs_t *a, int depth);

static void ow_any(struct ow *w, const otlp_any_t *v, int depth)
{
    ow_open(w, '{');
    switch (v->type) {
    case OTLP_ANY_STRING:
        ow_key(w, "stringValue");
        ow_strval(w, v->u.str);
        break;
    case OTLP_ANY_BOOL:
        ow_key(w, "boolValue");
        ow_cstr(w, v->u.boolean ? "true" : "false");
        break;
    case OTLP_ANY_INT:
        ow_i64_always(w, "intValue", v->u.i64);
        break;
    case OTLP_ANY_DOUBLE:
        ow_f64_always(w, "doubleValue", v->u.f64);
        break;
    case OTLP_ANY_BYTES:
        ow_key(w, "bytesValue");
        ow_base64(w, v->u.bytes);
        break;
    case OTLP_ANY_ARRAY:
    case OTLP_ANY_KVLIST:
        if (depth >= OTLP_MAX_ANY_DEPTH) {
            if (!w->rc)
                w->rc = ORASI_EDEPTH;
            return;
        }
        ow_key(w, v->type == OTLP_ANY_ARRAY ? "arrayValue" : "kvlistValue");
        ow_open(w, '{');
        if (v->type == OTLP_ANY_ARRAY) {
            if (v->u.array.n) {
                ow_key(w, "values");
                ow_open(w, '[');
                for (size_t i = 0; i < v->u.array.n && !w->rc; i++) {
                    ow_sep(w);
                    ow_any(w, &v->u.array.v[i], depth + 1);
                }
                ow_close(w, ']');
            }
        } else {
            otlp_attrs_t kv = {v->u.kvlist.v, v->u.kvlist.n};
            ow_attrs(w, "values", &kv, depth + 1);
        }
        ow_close(w, '}');
        break;
    default:
        break; /* EMPTY: {} */
    }
    ow_close(w, '}');
}

/* KeyValue list whose values are at `depth`. */
static void ow_attrs(struct ow *w, const char *name, const otlp_attrs_t *a, int depth)
{
    if (!a->n)
        return;
    ow_key(w, name);
    ow_open(w, '[');
    for (size_t i = 0; i < a->n && !w->rc; i++) {
        ow_sep(w);
        ow_open(w, '{');
        ow_key(w, "key");
        ow_strval(w, a->v[i].key);
        ow_key(w, "value");
        ow_any(w, &a->v[i].value, depth);
        ow_close(w, '}');
    }
    ow_close(w, ']');
}

static void ow_resource(struct ow *w, const otlp_resource_t *r)
{
    ow_key(w, "resource");
    ow_open(w, '{');
    ow_attrs(w, "attributes", &r->attrs, 1);
    ow_int(w, "droppedAttributesCount", r->dropped_attributes_count);
    ow_close(w, '}');
}

static void ow_scope(struct ow *w, const otlp_scope_t *s)
{
    ow_key(w, "scope");
    ow_open(w, '{');
    ow_str(w, "name", s->name);
    ow_str(w, "version", s->version);
    ow_attrs(w, "attributes", &s->attrs, 1);
    ow_int(w, "droppedAttributesCount", s->dropped_attributes_count);
    ow_close(w, '}');
}

static void ow_span(struct ow *w, const otlp_span_t *s)
{
    ow_open(w, '{');
    ow_hex(w, "traceId", s->trace_id.id, s->trace_id.len);
    ow_hex(w, "spanId", s->span_id.id, s->span_id.len);
    ow_str(w, "traceState", s->trace_state);
    ow_hex(w, "parentSpanId", s->parent_span_id.id, s->parent_span_id.len);
    ow_int(w, "flags", s->flags);
    ow_str(w, "name", s->name);
    ow_int(w, "kind", s->kind);
    ow_u64(w, "startTimeUnixNano", s->start_time_unix_nano);
    ow_u64(w, "endTimeUnixNano", s->end_time_unix_nano);
    ow_attrs(w, "attributes", &s->attrs, 1);
    ow_int(w, "droppedAttributesCount", s->dropped_attributes_count);
    if (s->n_events) {
        ow_key(w, "events");
        ow_open(w, '[');
        for (size_t i = 0; i < s->n_events; i++) {
            const otlp_event_t *e = &s->events[i];
            ow_sep(w);
            ow_open(w, '{');
            ow_u64(w, "timeUnixNano", e->time_unix_nano);
            ow_str(w, "name", e->name);
            ow_attrs(w, "attributes", &e->attrs, 1);
            ow_int(w, "droppedAttributesCount", e->dropped_attributes_count);
            ow_close(w, '}');
        }
        ow_close(w, ']');
    }
    ow_int(w, "droppedEventsCount", s->dropped_events_count);
    if (s->n_links) {
        ow_key(w, "links");
        ow_open(w, '[');
        for (size_t i = 0; i < s->n_links; i++) {
            const otlp_link_t *l = &s->links[i];
            ow_sep(w);
            ow_open(w, '{');
            ow_hex(w, "traceId", l->trace_id.id, l->trace_id.len);
            ow_hex(w, "spanId", l->span_id.id, l->span_id.len);
            ow_str(w, "traceState", l->trace_state);
            ow_attrs(w, "attributes", &l->attrs, 1);
            ow_int(w, "droppedAttributesCount", l->dropped_attributes_count);
            ow_int(w, "flags", l->flags);
            ow_close(w, '}');
        }
        ow_close(w, ']');
    }
    ow_int(w, "droppedLinksCount", s->dropped_links_count);
    if (s->status.code || s->status.message.len) {
        ow_key(w, "status");
        ow_open(w, '{');
        ow_str(w, "message", s->status.message);
        ow_int(w, "code", s->status.code);
        ow_close(w, '}');
    }
    ow_close(w, '}');
}

int otlp_json_encode_traces(const otlp_traces_t *m, buf_t *out)
{
    struct ow w = {out, 0, 0};
    ow_open(&w, '{');
    if (m->n_resource_spans) {
        ow_key(&w, "resourceSpans");
        ow_open(&w, '[');
        for (size_t i = 0; i < m->n_resource_spans && !w.rc; i++) {
            const otlp_resource_spans_t *rs = &m->resource_spans[i];
            ow_sep(&w);
            ow_open(&w, '{');
            ow_resource(&w, &rs->resource);
            if (rs->n_scope_spans) {
                ow_key(&w, "scopeSpans");
                ow_open(&w, '[');
                for (size_t j = 0; j < rs->n_scope_spans && !w.rc; j++) {
                    const otlp_scope_spans_t *ss = &rs->scope_spans[j];
                    ow_sep(&w);
                    ow_open(&w, '{');
                    ow_scope(&w, &ss->scope);
                    if (ss->n_spans) {
                        ow_key(&w, "spans");
                        ow_open(&w, '[');
                        for (size_t k = 0; k < ss->n_spans && !w.rc; k++) {
                            ow_sep(&w);
                            ow_span(&w, &ss->spans[k]);
                        }
                        ow_close(&w, ']');
                    }
                    ow_str(&w, "schemaUrl", ss->schema_url);
                    ow_close(&w, '}');
                }
                ow_close(&w, ']');
            }
            ow_str(&w, "schemaUrl", rs->schema_url);
            ow_close(&w, '}');
        }
        ow_close(&w, ']');
    }
    ow_close(&w, '}');
    return w.rc;
}

static void ow_f64s(struct ow *w, const char *name, const otlp_f64s_t *a)
{
    if (!a->n)
        return;
    ow_key(w, name);
    ow_open(w, '[');
    for (size_t i = 0; i < a->n && !w->rc; i++) {
        ow_sep(w);
        w->rc = json_write_double(w->b, a->v[i]);
    }
    ow_close(w, ']');
}

static void ow_u64s(struct ow *w, const char *name, const otlp_u64s_t *a)
{
    if (!a->n)
        return;
    ow_key(w, name);
    ow_open(w, '[');
    for (size_t i = 0; i < a->n && !w->rc; i++) {
        ow_sep(w);
        ow_num(w, 0, a->v[i], 1);
    }
    ow_close(w, ']');
}

static void ow_exemplars(struct ow *w, const otlp_exemplars_t *ex)
{
    if (!ex->n)
        return;
    ow_key(w, "exemplars");
    ow_open(w, '[');
    for (size_t i = 0; i < ex->n && !w->rc; i++) {
        const otlp_exemplar_t *e = &ex->v[i];
        ow_sep(w);
        ow_open(w, '{');
        ow_attrs(w, "filteredAttributes", &e->filtered_attrs, 1);
        ow_u64(w, "timeUnixNano", e->time_unix_nano);
        if (e->is_int)
            ow_i64_always(w, "asInt", e->as_int);
        else
            ow_f64_always(w, "asDouble", e->as_double);
        ow_hex(w, "spanId", e->span_id.id, e->span_id.len);
        ow_hex(w, "traceId", e->trace_id.id, e->trace_id.len);
        ow_close(w, '}');
    }
    ow_close(w, ']');
}

static void ow_dp_common(struct ow *w, const otlp_attrs_t *attrs, uint64_t start, uint64_t t)
{
    ow_attrs(w, "attributes", attrs, 1);
    ow_u64(w, "startTimeUnixNano", start);
    ow_u64(w, "timeUnixNano", t);
}

static void ow_exp_buckets(struct ow *w, const char *name, const otlp_exp_buckets_t *b)
{
    if (!b->offset && !b->bucket_counts.n)
        return;
    ow_key(w, name);
    ow_open(w, '{');
    ow_int(w, "offset", b->offset);
    ow_u64s(w, "bucketCounts", &b->bucket_counts);
    ow_close(w, '}');
}

static void ow_metric(struct ow *w, const otlp_metric_t *m)
{
    static const char *const names[] = {
        "", "gauge", "sum", "histogram", "exponentialHistogram", "summary"};
    ow_open(w, '{');
    ow_str(w, "name", m->name);
    ow_str(w, "description", m->description);
    ow_str(w, "unit", m->unit);
    ow_attrs(w, "metadata", &m->metadata, 1);
    if (m->type >= OTLP_METRIC_GAUGE && m->type <= OTLP_METRIC_SUMMARY) {
        ow_key(w, names[m->type]);
        ow_open(w, '{');
        size_t n = m->points.number.n; /* every union member starts with {v, n} */
        if (m->type == OTLP_METRIC_HISTOGRAM)
            n = m->points.histogram.n;
        else if (m->type == OTLP_METRIC_EXP_HISTOGRAM)
            n = m->points.exp_histogram.n;
        else if (m->type == OTLP_METRIC_SUMMARY)
            n = m->points.summary.n;
        if (n) {
            ow_key(w, "dataPoints");
            ow_open(w, '[');
        }
        for (size_t i = 0; i < n && !w->rc; i++) {
            ow_sep(w);
            ow_open(w, '{');
            switch (m->type) {
            case OTLP_METRIC_GAUGE:
            case OTLP_METRIC_SUM: {
                const otlp_number_dp_t *p = &m->points.number.v[i];
                ow_dp_common(w, &p->attrs, p->start_time_unix_nano, p->time_unix_nano);
                if (p->is_int)
                    ow_i64_always(w, "asInt", p->as_int);
                else
                    ow_f64_always(w, "asDouble", p->as_double);
                ow_exemplars(w, &p->exemplars);
                ow_int(w, "flags", p->flags);
                break;
            }
            case OTLP_METRIC_HISTOGRAM: {
                const otlp_histogram_dp_t *p = &m->points.histogram.v[i];
                ow_dp_common(w, &p->attrs, p->start_time_unix_nano, p->time_unix_nano);
                ow_u64(w, "count", p->count);
                if (p->has_sum)
                    ow_f64_always(w, "sum", p->sum);
                ow_u64s(w, "bucketCounts", &p->bucket_counts);
                ow_f64s(w, "explicitBounds", &p->explicit_bounds);
                ow_exemplars(w, &p->exemplars);
                ow_int(w, "flags", p->flags);
                if (p->has_min)
                    ow_f64_always(w, "min", p->min);
                if (p->has_max)
                    ow_f64_always(w, "max", p->max);
                break;
            }
            case OTLP_METRIC_EXP_HISTOGRAM: {
                const otlp_exp_histogram_dp_t *p = &m->points.exp_histogram.v[i];
                ow_dp_common(w, &p->attrs, p->start_time_unix_nano, p->time_unix_nano);
                ow_u64(w, "count", p->count);
                if (p->has_sum)
                    ow_f64_always(w, "sum", p->sum);
                ow_int(w, "scale", p->scale);
                ow_u64(w, "zeroCount", p->zero_count);
                ow_exp_buckets(w, "positive", &p->positive);
                ow_exp_buckets(w, "negative", &p->negative);
                ow_int(w, "flags", p->flags);
                ow_exemplars(w, &p->exemplars);
                if (p->has_min)
                    ow_f64_always(w, "min", p->min);
                if (p->has_max)
                    ow_f64_always(w, "max", p->max);
                if (p->zero_threshold != 0 || signbit(p->zero_threshold))
                    ow_f64_always(w, "zeroThreshold", p->zero_threshold);
                break;
            }
            default: {
                const otlp_summary_dp_t *p = &m->points.summary.v[i];
                ow_dp_common(w, &p->attrs, p->start_time_unix_nano, p->time_unix_nano);
                ow_u64(w, "count", p->count);
                if (p->sum != 0 || signbit(p->sum))
                    ow_f64_always(w, "sum", p->sum);
                if (p->n_quantiles) {
                    ow_key(w, "quantileValues");
                    ow_open(w, '[');
                    for (size_t q = 0; q < p->n_quantiles; q++) {
                        ow_sep(w);
                        ow_open(w, '{');
                        ow_f64_always(w, "quantile", p->quantiles[q].quantile);
                        ow_f64_always(w, "value", p->quantiles[q].value);
                        ow_close(w, '}');
                    }
                    ow_close(w, ']');
                }
                ow_int(w, "flags", p->flags);
                break;
            }
            }
            ow_close(w, '}');
        }
        if (n)
            ow_close(w, ']');
        if (m->type != OTLP_METRIC_GAUGE && m->type != OTLP_METRIC_SUMMARY)
            ow_int(w, "aggregationTemporality", m->temporality);
        if (m->type == OTLP_METRIC_SUM && m->is_monotonic) {
            ow_key(w, "isMonotonic");
            ow_cstr(w, "true");
        }
        ow_close(w, '}');
    }
    ow_close(w, '}');
}

int otlp_json_encode_metrics(const otlp_metrics_t *m, buf_t *out)
{
    struct ow w = {out, 0, 0};
    ow_open(&w, '{');
    if (m->n_resource_metrics) {
        ow_key(&w, "resourceMetrics");
        ow_open(&w, '[');
        for (size_t i = 0; i < m->n_resource_metrics && !w.rc; i++) {
            const otlp_resource_metrics_t *rm = &m->resource_metrics[i];
            ow_sep(&w);
            ow_open(&w, '{');
            ow_resource(&w, &rm->resource);
            if (rm->n_scope_metrics) {
                ow_key(&w, "scopeMetrics");
                ow_open(&w, '[');
                for (size_t j = 0; j < rm->n_scope_metrics && !w.rc; j++) {
                    const otlp_scope_metrics_t *sm = &rm->scope_metrics[j];
                    ow_sep(&w);
                    ow_open(&w, '{');
                    ow_scope(&w, &sm->scope);
                    if (sm->n_metrics) {
                        ow_key(&w, "metrics");
                        ow_open(&w, '[');
                        for (size_t k = 0; k < sm->n_metrics && !w.rc; k++) {
                            ow_sep(&w);
                            ow_metric(&w, &sm->metrics[k]);
                        }
                        ow_close(&w, ']');
                    }
                    ow_str(&w, "schemaUrl", sm->schema_url);
                    ow_close(&w, '}');
                }
                ow_close(&w, ']');
            }
            ow_str(&w, "schemaUrl", rm->schema_url);
            ow_close(&w, '}');
        }
        ow_close(&w, ']');
    }
    ow_close(&w, '}');
    return w.rc;
}

static void ow_log_record(struct ow *w, const otlp_log_record_t *r)
{
    ow_open(w, '{');
    ow_u64(w, "timeUnixNano", r->time_unix_nano);
    ow_u64(w, "observedTimeUnixNano", r->observed_time_unix_nano);
    ow_int(w, "severityNumber", r->severity_number);
    ow_str(w, "severityText", r->severity_text);
    if (r->body.type != OTLP_ANY_EMPTY) {
        ow_key(w, "body");
        ow_any(w, &r->body, 1);
    }
    ow_attrs(w, "attributes", &r->attrs, 1);
    ow_int(w, "droppedAttributesCount", r->dropped_attributes_count);
    ow_int(w, "flags", r->flags);
    ow_hex(w, "traceId", r->trace_id.id, r->trace_id.len);
    ow_hex(w, "spanId", r->span_id.id, r->span_id.len);
    ow_str(w, "eventName", r->event_name);
    ow_close(w, '}');
}

int otlp_json_encode_logs(const otlp_logs_t *m, buf_t *out)
{
    struct ow w = {out, 0, 0};
    ow_open(&w, '{');
    if (m->n_resource_logs) {
        ow_key(&w, "resourceLogs");
        ow_open(&w, '[');
        for (size_t i = 0; i < m->n_resource_logs && !w.rc; i++) {
            const otlp_resource_logs_t *rl = &m->resource_logs[i];
            ow_sep(&w);
            ow_open(&w, '{');
            ow_resource(&w, &rl->resource);
            if (rl->n_scope_logs) {
                ow_key(&w, "scopeLogs");
                ow_open(&w, '[');
                for (size_t j = 0; j < rl->n_scope_logs && !w.rc; j++) {
                    const otlp_scope_logs_t *sl = &rl->scope_logs[j];
                    ow_sep(&w);
                    ow_open(&w, '{');
                    ow_scope(&w, &sl->scope);
                    if (sl->n_log_records) {
                        ow_key(&w, "logRecords");
                        ow_open(&w, '[');
                        for (size_t k = 0; k < sl->n_log_records && !w.rc; k++) {
                            ow_sep(&w);
                            ow_log_record(&w, &sl->log_records[k]);
                        }
                        ow_close(&w, ']');
                    }
                    ow_str(&w, "schemaUrl", sl->schema_url);
                    ow_close(&w, '}');
                }
                ow_close(&w, ']');
            }
            ow_str(&w, "schemaUrl", rl->schema_url);
            ow_close(&w, '}');
        }
        ow_close(&w, ']');
    }
    ow_close(&w, '}');
    return w.rc;
}

int otlp_json_encode_export_response(enum otlp_signal sig, int64_t rejected, slice_t msg,
                                     buf_t *out)
{
    static const char *const field[] = {"rejectedSpans", "rejectedDataPoints",
                                        "rejectedLogRecords"};
    if ((unsigned)sig > OTLP_LOGS)
        return ORASI_EINVAL;
    struct ow w = {out, 0, 0};
    ow_open(&w, '{');
    if (rejected || msg.len) {
        ow_key(&w, "partialSuccess");
        ow_open(&w, '{');
        if (rejected)
            ow_i64_always(&w, field[sig], rejected);
        ow_str(&w, "errorMessage", msg);
        ow_close(&w, '}');
    }
    ow_close(&w, '}');
    return w.rc;
}
