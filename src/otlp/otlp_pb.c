/*
 * otlp_pb.c — OTLP protobuf decoder and validate-only scanner (see otlp_pb.h).
 *
 * One code path does both jobs: with an arena (`d->a != NULL`) it builds the model,
 * without one it validates and counts into stack scratch structs and allocates nothing.
 * Sharing the code is what guarantees that a forwarder's scan and a bridge's decode
 * accept and reject exactly the same items.
 *
 * Arrays are sized by a counting pre-pass over the enclosing message (tag + skip only, the
 * contents are not parsed), then filled in a second pass, so there is exactly one arena
 * allocation per repeated field per message and no growth/copy. Strings are slices of the
 * input. AnyValue nesting recurses, bounded by OTLP_MAX_ANY_DEPTH.
 *
 * Validation scopes: an item (span, data point, log record) is validated while decoded;
 * a failure sets its `why`, and it is counted as rejected and not kept. Failures above the
 * item (resource, scope, metric fields, schema_url) are only known once that enclosing
 * message is fully read — protobuf fields may come in any order — so the items accepted
 * under it are then moved to the rejected count and dropped from the model.
 */
#include "otlp/otlp_pb.h"

#include "otlp/otlp_utf8.h"
#include "otlp/pb.h"

#include <string.h>

typedef struct {
    arena_t *a;       /* NULL: scan mode (validate and count only) */
    size_t items;     /* accepted items so far */
    size_t rejected;  /* rejected items so far */
    const char *msg;  /* first rejection reason */
    const char *perr; /* structural error, when the result is ORASI_EPARSE */
    size_t span_attrs; /* attribute count of the last span decoded (dec_span's first guess) */
} dctx_t;

/* ---------------------------------------------------------------- helpers ----------- */

static int perr(dctx_t *d, const char *m)
{
    if (!d->perr)
        d->perr = m;
    return ORASI_EPARSE;
}

static inline void bad(const char **why, const char *m)
{
    if (!*why)
        *why = m;
}

static void reject_n(dctx_t *d, size_t n, const char *why)
{
    if (!n)
        return;
    d->rejected += n;
    if (!d->msg)
        d->msg = why;
}

/* Items accepted since `items_before` fell under an enclosing message that turned out to
 * be invalid: count them as rejected instead. */
static void demote_since(dctx_t *d, size_t items_before, const char *why)
{
    size_t moved = d->items - items_before;
    d->items = items_before;
    reject_n(d, moved, why);
}

static void *alloc_arr(dctx_t *d, size_t n, size_t size, int *rc)
{
    if (n == 0)
        return NULL;
    if (n > SIZE_MAX / size) {
        *rc = ORASI_ENOMEM;
        return NULL;
    }
    void *p = arena_alloc(d->a, n * size);
    if (!p)
        *rc = ORASI_ENOMEM;
    return p;
}

/* Make room for element n of an arena array of capacity *cap (first: the capacity of a
 * new one), moving it to a twice larger one when full. The old array stays in the arena
 * (its space comes back with the arena), which costs at most as much as the final one. */
static void *arr_room(dctx_t *d, void *v, size_t n, size_t *cap, size_t size, size_t first,
                      int *rc)
{
    if (n < *cap)
        return v;
    size_t nc = *cap ? *cap * 2 : first;
    void *p = alloc_arr(d, nc, size, rc);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, v, n * size);
    *cap = nc;
    return p;
}

enum { CNT_MSG, CNT_FIXED64, CNT_VARINT };

typedef struct {
    uint32_t field;
    uint8_t kind; /* CNT_*: how occurrences turn into elements */
    size_t n;     /* out */
} cnt_t;

/*
 * The counting pre-pass: walk the fields of `s` and count, for each spec, the elements
 * the decode pass will store: sub-messages (LEN occurrences), or packed/unpacked fixed64
 * or varint scalars. Structural errors found here are the same ones the decode pass
 * would find, so they are reported the same way.
 */
static int count_fields(dctx_t *d, slice_t s, cnt_t *c, int nc, const char *ctx)
{
    pb_reader_t r = pb_reader(s);
    for (int i = 0; i < nc; i++)
        c[i].n = 0;
    while (pb_more(&r)) {
        uint32_t f, wt;
        if (pb_read_tag(&r, &f, &wt) < 0)
            return perr(d, ctx);
        int i = 0;
        while (i < nc && c[i].field != f)
            i++;
        if (i < nc && wt == PB_WT_LEN && c[i].kind != CNT_MSG) {
            slice_t v;
            if (pb_read_bytes(&r, &v) < 0)
                return perr(d, ctx);
            if (c[i].kind == CNT_FIXED64) {
                if (v.len % 8)
                    return perr(d, ctx);
                c[i].n += v.len / 8;
            } else {
                for (size_t k = 0; k < v.len; k++)
                    c[i].n += v.p[k] < 0x80;
            }
            continue;
        }
        if (i < nc && ((c[i].kind == CNT_MSG && wt == PB_WT_LEN) ||
                       (c[i].kind == CNT_FIXED64 && wt == PB_WT_I64) ||
                       (c[i].kind == CNT_VARINT && wt == PB_WT_VARINT)))
            c[i].n++;
        if (pb_skip(&r, wt) < 0)
            return perr(d, ctx);
    }
    return 0;
}

/* Typed field readers: the wire type must match the field's declared type. */
static inline int rd_len(dctx_t *d, pb_reader_t *r, uint32_t wt, slice_t *s, const char *ctx)
{
    if (wt != PB_WT_LEN || pb_read_bytes(r, s) < 0)
        return perr(d, ctx);
    return 0;
}

static inline int rd_str(dctx_t *d, pb_reader_t *r, uint32_t wt, slice_t *s, const char *ctx,
                         const char **why, const char *utf8_msg)
{
    if (wt != PB_WT_LEN || pb_read_bytes(r, s) < 0)
        return perr(d, ctx);
    if (!otlp_utf8_valid(s->p, s->len))
        bad(why, utf8_msg);
    return 0;
}

static inline int rd_varint(dctx_t *d, pb_reader_t *r, uint32_t wt, uint64_t *v, const char *ctx)
{
    if (wt != PB_WT_VARINT || pb_read_varint(r, v) < 0)
        return perr(d, ctx);
    return 0;
}

static inline int rd_u32(dctx_t *d, pb_reader_t *r, uint32_t wt, uint32_t *v, const char *ctx)
{
    uint64_t x = 0;
    if (rd_varint(d, r, wt, &x, ctx) < 0)
        return ORASI_EPARSE;
    *v = (uint32_t)x; /* protobuf truncates wider varints for 32-bit fields */
    return 0;
}

static inline int rd_i32(dctx_t *d, pb_reader_t *r, uint32_t wt, int32_t *v, const char *ctx)
{
    uint64_t x = 0;
    if (rd_varint(d, r, wt, &x, ctx) < 0)
        return ORASI_EPARSE;
    *v = (int32_t)(uint32_t)x;
    return 0;
}

static inline int rd_fixed64(dctx_t *d, pb_reader_t *r, uint32_t wt, uint64_t *v, const char *ctx)
{
    if (wt != PB_WT_I64 || pb_read_fixed64(r, v) < 0)
        return perr(d, ctx);
    return 0;
}

static inline int rd_double(dctx_t *d, pb_reader_t *r, uint32_t wt, double *v, const char *ctx)
{
    if (wt != PB_WT_I64 || pb_read_double(r, v) < 0)
        return perr(d, ctx);
    return 0;
}

static inline int rd_fixed32(dctx_t *d, pb_reader_t *r, uint32_t wt, uint32_t *v, const char *ctx)
{
    if (wt != PB_WT_I32 || pb_read_fixed32(r, v) < 0)
        return perr(d, ctx);
    return 0;
}

/* An id field of `want` bytes (16 trace, 8 span). Empty stays len 0 (the caller decides
 * whether empty is allowed); any other length is a validation failure of the item. */
static inline int rd_id(dctx_t *d, pb_reader_t *r, uint32_t wt, uint8_t *dst, uint8_t *len,
                        size_t want, const char *ctx, const char **why, const char *bad_msg)
{
    slice_t s;
    if (rd_len(d, r, wt, &s, ctx) < 0)
        return ORASI_EPARSE;
    if (s.len == want) {
        memcpy(dst, s.p, want);
        *len = (uint8_t)want;
    } else {
        *len = 0;
        if (s.len)
            bad(why, bad_msg);
    }
    return 0;
}

static inline int skip(dctx_t *d, pb_reader_t *r, uint32_t wt, const char *ctx)
{
    if (pb_skip(r, wt) < 0)
        return perr(d, ctx);
    return 0;
}

#define NEXT_TAG(d, r, f, wt, ctx)                                                                 \
    do {                                                                                           \
        if (pb_read_tag(&(r), &(f), &(wt)) < 0)                                                    \
            return perr((d), (ctx));                                                               \
    } while (0)

/* ---------------------------------------------------------------- common ------------ */

static const char E_ANY[] = "malformed AnyValue";
static const char E_KV[] = "malformed KeyValue";
static const char E_RES[] = "malformed Resource";
static const char E_SCOPE[] = "malformed InstrumentationScope";
static const char R_KEY_UTF8[] = "invalid UTF-8 in an attribute key";
static const char R_STR_UTF8[] = "invalid UTF-8 in a string value";
static const char R_DEPTH[] = "AnyValue nested too deeply";
static const char R_SCOPE_UTF8[] = "invalid UTF-8 in the instrumentation scope";
static const char R_SCHEMA_UTF8[] = "invalid UTF-8 in schema_url";

static int dec_any(dctx_t *d, slice_t s, otlp_any_t *v, int depth, const char **why);
static int dec_kv(dctx_t *d, slice_t s, otlp_kv_t *kv, int depth, const char **why);

/* ArrayValue (kvlist == 0) or KeyValueList (kvlist == 1) whose elements have depth
 * `depth`. Builds into `v`. */
static int dec_container(dctx_t *d, slice_t s, otlp_any_t *v, int kvlist, int depth,
                         const char **why)
{
    int rc = 0;
    size_t n = 0;
    void *arr = NULL;
    if (d->a) {
        cnt_t c = {1, CNT_MSG, 0};
        if (count_fields(d, s, &c, 1, E_ANY) < 0)
            return ORASI_EPARSE;
        arr = alloc_arr(d, c.n, kvlist ? sizeof(otlp_kv_t) : sizeof(otlp_any_t), &rc);
        if (rc < 0)
            return rc;
    }
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        NEXT_TAG(d, r, f, wt, E_ANY);
        if (f != 1) {
            if (skip(d, &r, wt, E_ANY) < 0)
                return ORASI_EPARSE;
            continue;
        }
        slice_t sub;
        if (rd_len(d, &r, wt, &sub, E_ANY) < 0)
            return ORASI_EPARSE;
        if (kvlist) {
            otlp_kv_t tmp, *kv = arr ? (otlp_kv_t *)arr + n : &tmp;
            rc = dec_kv(d, sub, kv, depth, why);
        } else {
            otlp_any_t tmp, *el = arr ? (otlp_any_t *)arr + n : &tmp;
            rc = dec_any(d, sub, el, depth, why);
        }
        if (rc < 0)
            return rc;
        if (arr)
            n++;
    }
    if (kvlist) {
        v->type = OTLP_ANY_KVLIST;
        v->u.kvlist.v = arr;
        v->u.kvlist.n = n;
    } else {
        v->type = OTLP_ANY_ARRAY;
        v->u.array.v = arr;
        v->u.array.n = n;
    }
    return 0;
}

/* common.v1.AnyValue at nesting depth `depth` (1 = directly in an attribute or body). */
static int dec_any(dctx_t *d, slice_t s, otlp_any_t *v, int depth, const char **why)
{
    /* Fast path for the most common value, exactly one string_value field with a one-byte
     * length (what the generic loop below would conclude too). */
    if (s.len >= 2 && s.p[0] == 0x0a && (size_t)s.p[1] + 2 == s.len) {
        v->type = OTLP_ANY_STRING;
        v->u.str = slice_make(s.p + 2, s.p[1]);
        if (!otlp_utf8_valid(s.p + 2, s.p[1]))
            bad(why, R_STR_UTF8);
        return 0;
    }
    pb_reader_t r = pb_reader(s);
    v->type = OTLP_ANY_EMPTY;
    while (pb_more(&r)) {
        uint32_t f, wt;
        uint64_t x = 0;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_ANY);
        /* a oneof: when several members are present the last one wins (protobuf rule) */
        switch (f) {
        case 1:
            if (rd_str(d, &r, wt, &v->u.str, E_ANY, why, R_STR_UTF8) < 0)
                return ORASI_EPARSE;
            v->type = OTLP_ANY_STRING;
            break;
        case 2:
            if (rd_varint(d, &r, wt, &x, E_ANY) < 0)
                return ORASI_EPARSE;
            v->type = OTLP_ANY_BOOL;
            v->u.boolean = x != 0;
            break;
        case 3:
            if (rd_varint(d, &r, wt, &x, E_ANY) < 0)
                return ORASI_EPARSE;
            v->type = OTLP_ANY_INT;
            v->u.i64 = (int64_t)x;
            break;
        case 4:
            if (rd_double(d, &r, wt, &v->u.f64, E_ANY) < 0)
                return ORASI_EPARSE;
            v->type = OTLP_ANY_DOUBLE;
            break;
        case 5:
        case 6:
            if (rd_len(d, &r, wt, &sub, E_ANY) < 0)
                return ORASI_EPARSE;
            if (depth >= OTLP_MAX_ANY_DEPTH) {
                /* stop here: the contents are not even looked at, so 100 levels cost
                 * 32 stack frames, and the item is rejected */
                bad(why, R_DEPTH);
                v->type = OTLP_ANY_EMPTY;
                break;
            }
            {
                int rc = dec_container(d, sub, v, f == 6, depth + 1, why);
                if (rc < 0)
                    return rc;
            }
            break;
        case 7:
            if (rd_len(d, &r, wt, &v->u.bytes, E_ANY) < 0)
                return ORASI_EPARSE;
            v->type = OTLP_ANY_BYTES;
            break;
        default:
            if (skip(d, &r, wt, E_ANY) < 0)
                return ORASI_EPARSE;
        }
    }
    return 0;
}

static int dec_kv(dctx_t *d, slice_t s, otlp_kv_t *kv, int depth, const char **why)
{
    /* Fast path for the shape every SDK emits: key (field 1) then value (field 2), both
     * with one-byte lengths, filling the message exactly. Same result as the loop. */
    const uint8_t *p = s.p, *e = s.p + s.len;
    if (s.len >= 4 && p[0] == 0x0a && p[1] < 0x80 && (size_t)p[1] + 4 <= s.len) {
        const uint8_t *q = p + 2 + p[1];
        if (q[0] == 0x12 && q[1] < 0x80 && q + 2 + q[1] == e) {
            kv->key = slice_make(p + 2, p[1]);
            if (!otlp_utf8_valid(p + 2, p[1]))
                bad(why, R_KEY_UTF8);
            return dec_any(d, slice_make(q + 2, q[1]), &kv->value, depth, why);
        }
    }
    pb_reader_t r = pb_reader(s);
    kv->key = (slice_t){NULL, 0};
    kv->value.type = OTLP_ANY_EMPTY;
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_KV);
        if (f == 1) {
            if (rd_str(d, &r, wt, &kv->key, E_KV, why, R_KEY_UTF8) < 0)
                return ORASI_EPARSE;
        } else if (f == 2) {
            if (rd_len(d, &r, wt, &sub, E_KV) < 0)
                return ORASI_EPARSE;
            int rc = dec_any(d, sub, &kv->value, depth, why);
            if (rc < 0)
                return rc;
        } else if (skip(d, &r, wt, E_KV) < 0) {
            return ORASI_EPARSE;
        }
    }
    return 0;
}

/* Size an attribute array for `n` entries (build mode only). */
static int attrs_alloc(dctx_t *d, otlp_attrs_t *at, size_t n)
{
    int rc = 0;
    at->n = 0;
    at->v = d->a ? alloc_arr(d, n, sizeof(otlp_kv_t), &rc) : NULL;
    return rc;
}

/* Decode the KeyValue at `r` into the next slot of `at` (sized by the pre-pass). */
static int add_kv(dctx_t *d, pb_reader_t *r, uint32_t wt, otlp_attrs_t *at, const char *ctx,
                  const char **why)
{
    slice_t sub;
    if (rd_len(d, r, wt, &sub, ctx) < 0)
        return ORASI_EPARSE;
    otlp_kv_t tmp, *kv = d->a ? &at->v[at->n] : &tmp;
    int rc = dec_kv(d, sub, kv, 1, why);
    if (rc < 0)
        return rc;
    if (d->a)
        at->n++;
    return 0;
}

static int dec_resource(dctx_t *d, slice_t s, otlp_resource_t *res, const char **why)
{
    int rc;
    cnt_t c = {1, CNT_MSG, 0};
    memset(res, 0, sizeof(*res));
    res->raw = s;
    if (d->a && ((rc = count_fields(d, s, &c, 1, E_RES)) < 0 ||
                 (rc = attrs_alloc(d, &res->attrs, c.n)) < 0))
        return rc;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        NEXT_TAG(d, r, f, wt, E_RES);
        if (f == 1)
            rc = add_kv(d, &r, wt, &res->attrs, E_RES, why);
        else if (f == 2)
            rc = rd_u32(d, &r, wt, &res->dropped_attributes_count, E_RES);
        else
            rc = skip(d, &r, wt, E_RES); /* entity_refs (development) and unknowns */
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int dec_scope(dctx_t *d, slice_t s, otlp_scope_t *sc, const char **why)
{
    int rc;
    cnt_t c = {3, CNT_MSG, 0};
    memset(sc, 0, sizeof(*sc));
    if (d->a && ((rc = count_fields(d, s, &c, 1, E_SCOPE)) < 0 ||
                 (rc = attrs_alloc(d, &sc->attrs, c.n)) < 0))
        return rc;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        NEXT_TAG(d, r, f, wt, E_SCOPE);
        switch (f) {
        case 1:
            rc = rd_str(d, &r, wt, &sc->name, E_SCOPE, why, R_SCOPE_UTF8);
            break;
        case 2:
            rc = rd_str(d, &r, wt, &sc->version, E_SCOPE, why, R_SCOPE_UTF8);
            break;
        case 3:
            rc = add_kv(d, &r, wt, &sc->attrs, E_SCOPE, why);
            break;
        case 4:
            rc = rd_u32(d, &r, wt, &sc->dropped_attributes_count, E_SCOPE);
            break;
        default:
            rc = skip(d, &r, wt, E_SCOPE);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- traces ------------ */

static const char E_SPAN[] = "malformed Span";
static const char E_EVENT[] = "malformed Span.Event";
static const char E_LINK[] = "malformed Span.Link";
static const char E_STATUS[] = "malformed Status";
static const char E_SS[] = "malformed ScopeSpans";
static const char E_RS[] = "malformed ResourceSpans";
static const char E_TREQ[] = "malformed ExportTraceServiceRequest";
static const char R_TRACE_ID[] = "span trace_id must be 16 bytes";
static const char R_SPAN_ID[] = "span span_id must be 8 bytes";
static const char R_PARENT_ID[] = "span parent_span_id must be empty or 8 bytes";
static const char R_LINK_TRACE_ID[] = "link trace_id must be 16 bytes";
static const char R_LINK_SPAN_ID[] = "link span_id must be 8 bytes";
static const char R_SPAN_UTF8[] =
    "invalid UTF-8 in a span name, trace_state, event name or status message";

static int dec_event(dctx_t *d, slice_t s, otlp_event_t *ev, const char **why)
{
    int rc;
    cnt_t c = {3, CNT_MSG, 0};
    if (d->a && ((rc = count_fields(d, s, &c, 1, E_EVENT)) < 0 ||
                 (rc = attrs_alloc(d, &ev->attrs, c.n)) < 0))
        return rc;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        NEXT_TAG(d, r, f, wt, E_EVENT);
        switch (f) {
        case 1:
            rc = rd_fixed64(d, &r, wt, &ev->time_unix_nano, E_EVENT);
            break;
        case 2:
            rc = rd_str(d, &r, wt, &ev->name, E_EVENT, why, R_SPAN_UTF8);
            break;
        case 3:
            rc = add_kv(d, &r, wt, &ev->attrs, E_EVENT, why);
            break;
        case 4:
            rc = rd_u32(d, &r, wt, &ev->dropped_attributes_count, E_EVENT);
            break;
        default:
            rc = skip(d, &r, wt, E_EVENT);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int dec_link(dctx_t *d, slice_t s, otlp_link_t *ln, const char **why)
{
    int rc;
    cnt_t c = {4, CNT_MSG, 0};
    if (d->a && ((rc = count_fields(d, s, &c, 1, E_LINK)) < 0 ||
                 (rc = attrs_alloc(d, &ln->attrs, c.n)) < 0))
        return rc;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        NEXT_TAG(d, r, f, wt, E_LINK);
        switch (f) {
        case 1:
            rc = rd_id(d, &r, wt, ln->trace_id.id, &ln->trace_id.len, 16, E_LINK, why,
                       R_LINK_TRACE_ID);
            break;
        case 2:
            rc = rd_id(d, &r, wt, ln->span_id.id, &ln->span_id.len, 8, E_LINK, why, R_LINK_SPAN_ID);
            break;
        case 3:
            rc = rd_str(d, &r, wt, &ln->trace_state, E_LINK, why, R_SPAN_UTF8);
            break;
        case 4:
            rc = add_kv(d, &r, wt, &ln->attrs, E_LINK, why);
            break;
        case 5:
            rc = rd_u32(d, &r, wt, &ln->dropped_attributes_count, E_LINK);
            break;
        case 6:
            rc = rd_fixed32(d, &r, wt, &ln->flags, E_LINK);
            break;
        default:
            rc = skip(d, &r, wt, E_LINK);
        }
        if (rc < 0)
            return rc;
    }
    if (ln->trace_id.len != 16)
        bad(why, R_LINK_TRACE_ID);
    if (ln->span_id.len != 8)
        bad(why, R_LINK_SPAN_ID);
    return 0;
}

static int dec_status(dctx_t *d, slice_t s, otlp_status_t *st, const char **why)
{
    int rc;
    pb_reader_t r = pb_reader(s);
    st->code = 0;
    st->message = (slice_t){NULL, 0};
    while (pb_more(&r)) {
        uint32_t f, wt;
        NEXT_TAG(d, r, f, wt, E_STATUS);
        if (f == 2)
            rc = rd_str(d, &r, wt, &st->message, E_STATUS, why, R_SPAN_UTF8);
        else if (f == 3)
            rc = rd_i32(d, &r, wt, &st->code, E_STATUS);
        else
            rc = skip(d, &r, wt, E_STATUS); /* 1: deprecated_code, reserved */
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* trace.v1.Span into a zeroed `sp`. One pass: unlike the other messages (sized by
 * count_fields first), the arrays of a span grow as its fields come (spans are most of a
 * trace request; the attribute array starts at the size of the previous span's). */
static int dec_span(dctx_t *d, slice_t s, otlp_span_t *sp, const char **why)
{
    int rc = 0;
    size_t acap = 0, ecap = 0, lcap = 0;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_SPAN);
        switch (f) {
        case 1:
            rc = rd_id(d, &r, wt, sp->trace_id.id, &sp->trace_id.len, 16, E_SPAN, why, R_TRACE_ID);
            break;
        case 2:
            rc = rd_id(d, &r, wt, sp->span_id.id, &sp->span_id.len, 8, E_SPAN, why, R_SPAN_ID);
            break;
        case 3:
            rc = rd_str(d, &r, wt, &sp->trace_state, E_SPAN, why, R_SPAN_UTF8);
            break;
        case 4:
            rc = rd_id(d, &r, wt, sp->parent_span_id.id, &sp->parent_span_id.len, 8, E_SPAN, why,
                       R_PARENT_ID);
            break;
        case 5:
            rc = rd_str(d, &r, wt, &sp->name, E_SPAN, why, R_SPAN_UTF8);
            break;
        case 6:
            rc = rd_i32(d, &r, wt, &sp->kind, E_SPAN);
            break;
        case 7:
            rc = rd_fixed64(d, &r, wt, &sp->start_time_unix_nano, E_SPAN);
            break;
        case 8:
            rc = rd_fixed64(d, &r, wt, &sp->end_time_unix_nano, E_SPAN);
            break;
        case 9:
            if (d->a && !(sp->attrs.v = arr_room(d, sp->attrs.v, sp->attrs.n, &acap,
                                                 sizeof(otlp_kv_t),
                                                 d->span_attrs ? d->span_attrs : 8, &rc)))
                break;
            rc = add_kv(d, &r, wt, &sp->attrs, E_SPAN, why);
            break;
        case 10:
            rc = rd_u32(d, &r, wt, &sp->dropped_attributes_count, E_SPAN);
            break;
        case 11:
            if ((rc = rd_len(d, &r, wt, &sub, E_SPAN)) < 0)
                break;
            if (d->a && !(sp->events = arr_room(d, sp->events, sp->n_events, &ecap,
                                                sizeof(otlp_event_t), 2, &rc)))
                break;
            {
                otlp_event_t tmp, *ev = d->a ? &sp->events[sp->n_events] : &tmp;
                memset(ev, 0, sizeof(*ev));
                if ((rc = dec_event(d, sub, ev, why)) == 0 && d->a)
                    sp->n_events++;
            }
            break;
        case 12:
            rc = rd_u32(d, &r, wt, &sp->dropped_events_count, E_SPAN);
            break;
        case 13:
            if ((rc = rd_len(d, &r, wt, &sub, E_SPAN)) < 0)
                break;
            if (d->a && !(sp->links = arr_room(d, sp->links, sp->n_links, &lcap,
                                               sizeof(otlp_link_t), 2, &rc)))
                break;
            {
                otlp_link_t tmp, *ln = d->a ? &sp->links[sp->n_links] : &tmp;
                memset(ln, 0, sizeof(*ln));
                if ((rc = dec_link(d, sub, ln, why)) == 0 && d->a)
                    sp->n_links++;
            }
            break;
        case 14:
            rc = rd_u32(d, &r, wt, &sp->dropped_links_count, E_SPAN);
            break;
        case 15:
            if ((rc = rd_len(d, &r, wt, &sub, E_SPAN)) == 0)
                rc = dec_status(d, sub, &sp->status, why);
            break;
        case 16:
            rc = rd_fixed32(d, &r, wt, &sp->flags, E_SPAN);
            break;
        default:
            rc = skip(d, &r, wt, E_SPAN);
        }
        if (rc < 0)
            return rc;
    }
    if (sp->attrs.n)
        d->span_attrs = sp->attrs.n;
    if (sp->trace_id.len != 16)
        bad(why, R_TRACE_ID);
    if (sp->span_id.len != 8)
        bad(why, R_SPAN_ID);
    return 0;
}

static int dec_scope_spans(dctx_t *d, slice_t s, otlp_scope_spans_t *ss)
{
    int rc = 0;
    const char *swhy = NULL;
    size_t items0 = d->items;
    memset(ss, 0, sizeof(*ss));
    if (d->a) {
        cnt_t c = {2, CNT_MSG, 0};
        if ((rc = count_fields(d, s, &c, 1, E_SS)) < 0)
            return rc;
        ss->spans = alloc_arr(d, c.n, sizeof(otlp_span_t), &rc);
        if (rc < 0)
            return rc;
    }
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_SS);
        if (f == 1) {
            if ((rc = rd_len(d, &r, wt, &sub, E_SS)) == 0)
                rc = dec_scope(d, sub, &ss->scope, &swhy);
        } else if (f == 2) {
            if ((rc = rd_len(d, &r, wt, &sub, E_SS)) < 0)
                return rc;
            otlp_span_t tmp, *sp = d->a ? &ss->spans[ss->n_spans] : &tmp;
            const char *why = NULL;
            memset(sp, 0, sizeof(*sp));
            if ((rc = dec_span(d, sub, sp, &why)) < 0)
                return rc;
            if (why) {
                reject_n(d, 1, why);
            } else {
                d->items++;
                if (d->a)
                    ss->n_spans++;
            }
        } else if (f == 3) {
            rc = rd_str(d, &r, wt, &ss->schema_url, E_SS, &swhy, R_SCHEMA_UTF8);
        } else {
            rc = skip(d, &r, wt, E_SS);
        }
        if (rc < 0)
            return rc;
    }
    if (swhy) {
        demote_since(d, items0, swhy);
        ss->n_spans = 0;
    }
    return 0;
}

static int dec_resource_spans(dctx_t *d, slice_t s, void *elem)
{
    otlp_resource_spans_t *rs = elem;
    int rc = 0;
    const char *rwhy = NULL;
    size_t items0 = d->items;
    memset(rs, 0, sizeof(*rs));
    if (d->a) {
        cnt_t c = {2, CNT_MSG, 0};
        if ((rc = count_fields(d, s, &c, 1, E_RS)) < 0)
            return rc;
        rs->scope_spans = alloc_arr(d, c.n, sizeof(otlp_scope_spans_t), &rc);
        if (rc < 0)
            return rc;
    }
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_RS);
        if (f == 1) {
            if ((rc = rd_len(d, &r, wt, &sub, E_RS)) == 0)
                rc = dec_resource(d, sub, &rs->resource, &rwhy);
        } else if (f == 2) {
            /* the element slot only exists once the wire type is known to be right: the
             * pre-pass counted LEN occurrences only */
            if ((rc = rd_len(d, &r, wt, &sub, E_RS)) < 0)
                return rc;
            otlp_scope_spans_t tmp, *ss = d->a ? &rs->scope_spans[rs->n_scope_spans] : &tmp;
            if ((rc = dec_scope_spans(d, sub, ss)) == 0 && d->a)
                rs->n_scope_spans++;
        } else if (f == 3) {
            rc = rd_str(d, &r, wt, &rs->schema_url, E_RS, &rwhy, R_SCHEMA_UTF8);
        } else {
            rc = skip(d, &r, wt, E_RS); /* 1000: deprecated instrumentation_library_spans */
        }
        if (rc < 0)
            return rc;
    }
    if (rwhy) {
        demote_since(d, items0, rwhy);
        for (size_t i = 0; i < rs->n_scope_spans; i++)
            rs->scope_spans[i].n_spans = 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- metrics ----------- */

static const char E_METRIC[] = "malformed Metric";
static const char E_MDATA[] = "malformed Gauge/Sum/Histogram/ExponentialHistogram/Summary";
static const char E_NDP[] = "malformed NumberDataPoint";
static const char E_HDP[] = "malformed HistogramDataPoint";
static const char E_EDP[] = "malformed ExponentialHistogramDataPoint";
static const char E_BUCKETS[] = "malformed ExponentialHistogramDataPoint.Buckets";
static const char E_SDP[] = "malformed SummaryDataPoint";
static const char E_QUANTILE[] = "malformed SummaryDataPoint.ValueAtQuantile";
static const char E_EXEMPLAR[] = "malformed Exemplar";
static const char E_SM[] = "malformed ScopeMetrics";
static const char E_RM[] = "malformed ResourceMetrics";
static const char E_MREQ[] = "malformed ExportMetricsServiceRequest";
static const char R_METRIC_UTF8[] = "invalid UTF-8 in a metric name, description or unit";
static const char R_EX_TRACE_ID[] = "exemplar trace_id must be empty or 16 bytes";
static const char R_EX_SPAN_ID[] = "exemplar span_id must be empty or 8 bytes";

/* A repeated fixed64/double field, packed (LEN) or not (I64), appended to arr[*n] (arr is
 * NULL when scanning). Both encodings may be mixed, as protobuf parsers must accept. */
static int rd_rep_fixed64(dctx_t *d, pb_reader_t *r, uint32_t wt, void *arr, size_t *n,
                          const char *ctx)
{
    if (wt == PB_WT_LEN) {
        slice_t v;
        if (pb_read_bytes(r, &v) < 0 || v.len % 8)
            return perr(d, ctx);
        if (arr && v.len)
            memcpy((uint8_t *)arr + *n * 8, v.p, v.len);
        *n += v.len / 8;
        return 0;
    }
    uint64_t x = 0;
    if (rd_fixed64(d, r, wt, &x, ctx) < 0)
        return ORASI_EPARSE;
    if (arr)
        memcpy((uint8_t *)arr + *n * 8, &x, 8);
    (*n)++;
    return 0;
}

/* A repeated uint64 varint field, packed or not. */
static int rd_rep_varint(dctx_t *d, pb_reader_t *r, uint32_t wt, uint64_t *arr, size_t *n,
                         const char *ctx)
{
    uint64_t x = 0;
    if (wt == PB_WT_LEN) {
        slice_t v;
        if (pb_read_bytes(r, &v) < 0)
            return perr(d, ctx);
        pb_reader_t pr = pb_reader(v);
        while (pb_more(&pr)) {
            if (pb_read_varint(&pr, &x) < 0)
                return perr(d, ctx);
            if (arr)
                arr[*n] = x;
            (*n)++;
        }
        return 0;
    }
    if (rd_varint(d, r, wt, &x, ctx) < 0)
        return ORASI_EPARSE;
    if (arr)
        arr[*n] = x;
    (*n)++;
    return 0;
}

static int dec_exemplar(dctx_t *d, slice_t s, otlp_exemplar_t *ex, const char **why)
{
    int rc;
    cnt_t c = {7, CNT_MSG, 0};
    memset(ex, 0, sizeof(*ex));
    if (d->a && ((rc = count_fields(d, s, &c, 1, E_EXEMPLAR)) < 0 ||
                 (rc = attrs_alloc(d, &ex->filtered_attrs, c.n)) < 0))
        return rc;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        uint64_t x = 0;
        NEXT_TAG(d, r, f, wt, E_EXEMPLAR);
        switch (f) {
        case 7:
            rc = add_kv(d, &r, wt, &ex->filtered_attrs, E_EXEMPLAR, why);
            break;
        case 2:
            rc = rd_fixed64(d, &r, wt, &ex->time_unix_nano, E_EXEMPLAR);
            break;
        case 3:
            rc = rd_double(d, &r, wt, &ex->as_double, E_EXEMPLAR);
            ex->is_int = 0;
            break;
        case 6:
            rc = rd_fixed64(d, &r, wt, &x, E_EXEMPLAR);
            ex->as_int = (int64_t)x;
            ex->is_int = 1;
            break;
        case 4:
            rc = rd_id(d, &r, wt, ex->span_id.id, &ex->span_id.len, 8, E_EXEMPLAR, why,
                       R_EX_SPAN_ID);
            break;
        case 5:
            rc = rd_id(d, &r, wt, ex->trace_id.id, &ex->trace_id.len, 16, E_EXEMPLAR, why,
                       R_EX_TRACE_ID);
            break;
        default:
            rc = skip(d, &r, wt, E_EXEMPLAR);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int add_exemplar(dctx_t *d, pb_reader_t *r, uint32_t wt, otlp_exemplars_t *exs,
                        const char *ctx, const char **why)
{
    slice_t sub;
    if (rd_len(d, r, wt, &sub, ctx) < 0)
        return ORASI_EPARSE;
    otlp_exemplar_t tmp, *ex = d->a ? &exs->v[exs->n] : &tmp;
    int rc = dec_exemplar(d, sub, ex, why);
    if (rc == 0 && d->a)
        exs->n++;
    return rc;
}

/* Size attribute and exemplar arrays of a data point from one pre-pass. */
static int dp_alloc(dctx_t *d, slice_t s, uint32_t f_attrs, uint32_t f_ex, otlp_attrs_t *at,
                    otlp_exemplars_t *ex, cnt_t *extra, int n_extra, const char *ctx)
{
    int rc = 0;
    cnt_t c[4] = {{f_attrs, CNT_MSG, 0}, {f_ex, CNT_MSG, 0}};
    for (int i = 0; i < n_extra; i++)
        c[2 + i] = extra[i];
    if ((rc = count_fields(d, s, c, 2 + n_extra, ctx)) < 0 || (rc = attrs_alloc(d, at, c[0].n)) < 0)
        return rc;
    for (int i = 0; i < n_extra; i++)
        extra[i].n = c[2 + i].n;
    ex->n = 0;
    ex->v = alloc_arr(d, c[1].n, sizeof(otlp_exemplar_t), &rc);
    return rc;
}

static int dec_ndp(dctx_t *d, slice_t s, otlp_number_dp_t *p, const char **why)
{
    int rc;
    uint64_t x = 0;
    if (d->a && (rc = dp_alloc(d, s, 7, 5, &p->attrs, &p->exemplars, NULL, 0, E_NDP)) < 0)
        return rc;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        NEXT_TAG(d, r, f, wt, E_NDP);
        switch (f) {
        case 7:
            rc = add_kv(d, &r, wt, &p->attrs, E_NDP, why);
            break;
        case 2:
            rc = rd_fixed64(d, &r, wt, &p->start_time_unix_nano, E_NDP);
            break;
        case 3:
            rc = rd_fixed64(d, &r, wt, &p->time_unix_nano, E_NDP);
            break;
        case 4:
            rc = rd_double(d, &r, wt, &p->as_double, E_NDP);
            p->is_int = 0;
            break;
        case 6:
            rc = rd_fixed64(d, &r, wt, &x, E_NDP);
            p->as_int = (int64_t)x;
            p->is_int = 1;
            break;
        case 5:
            rc = add_exemplar(d, &r, wt, &p->exemplars, E_NDP, why);
            break;
        case 8:
            rc = rd_u32(d, &r, wt, &p->flags, E_NDP);
            break;
        default:
            rc = skip(d, &r, wt, E_NDP);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int dec_hdp(dctx_t *d, slice_t s, otlp_histogram_dp_t *p, const char **why)
{
    int rc = 0;
    uint64_t *counts = NULL;
    double *bounds = NULL;
    if (d->a) {
        cnt_t extra[2] = {{6, CNT_FIXED64, 0}, {7, CNT_FIXED64, 0}};
        if ((rc = dp_alloc(d, s, 9, 8, &p->attrs, &p->exemplars, extra, 2, E_HDP)) < 0)
            return rc;
        counts = alloc_arr(d, extra[0].n, sizeof(uint64_t), &rc);
        bounds = alloc_arr(d, extra[1].n, sizeof(double), &rc);
        if (rc < 0)
            return rc;
    }
    p->bucket_counts.v = counts;
    p->explicit_bounds.v = bounds;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        NEXT_TAG(d, r, f, wt, E_HDP);
        switch (f) {
        case 9:
            rc = add_kv(d, &r, wt, &p->attrs, E_HDP, why);
            break;
        case 2:
            rc = rd_fixed64(d, &r, wt, &p->start_time_unix_nano, E_HDP);
            break;
        case 3:
            rc = rd_fixed64(d, &r, wt, &p->time_unix_nano, E_HDP);
            break;
        case 4:
            rc = rd_fixed64(d, &r, wt, &p->count, E_HDP);
            break;
        case 5:
            rc = rd_double(d, &r, wt, &p->sum, E_HDP);
            p->has_sum = 1;
            break;
        case 6:
            rc = rd_rep_fixed64(d, &r, wt, counts, &p->bucket_counts.n, E_HDP);
            break;
        case 7:
            rc = rd_rep_fixed64(d, &r, wt, bounds, &p->explicit_bounds.n, E_HDP);
            break;
        case 8:
            rc = add_exemplar(d, &r, wt, &p->exemplars, E_HDP, why);
            break;
        case 10:
            rc = rd_u32(d, &r, wt, &p->flags, E_HDP);
            break;
        case 11:
            rc = rd_double(d, &r, wt, &p->min, E_HDP);
            p->has_min = 1;
            break;
        case 12:
            rc = rd_double(d, &r, wt, &p->max, E_HDP);
            p->has_max = 1;
            break;
        default:
            rc = skip(d, &r, wt, E_HDP);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int dec_buckets(dctx_t *d, slice_t s, otlp_exp_buckets_t *b)
{
    int rc = 0;
    uint64_t *counts = NULL;
    memset(b, 0, sizeof(*b));
    if (d->a) {
        cnt_t c = {2, CNT_VARINT, 0};
        if ((rc = count_fields(d, s, &c, 1, E_BUCKETS)) < 0)
            return rc;
        counts = alloc_arr(d, c.n, sizeof(uint64_t), &rc);
        if (rc < 0)
            return rc;
    }
    b->bucket_counts.v = counts;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        uint64_t x = 0;
        NEXT_TAG(d, r, f, wt, E_BUCKETS);
        if (f == 1) {
            rc = rd_varint(d, &r, wt, &x, E_BUCKETS);
            b->offset = pb_zigzag_dec32(x);
        } else if (f == 2) {
            rc = rd_rep_varint(d, &r, wt, counts, &b->bucket_counts.n, E_BUCKETS);
        } else {
            rc = skip(d, &r, wt, E_BUCKETS);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int dec_edp(dctx_t *d, slice_t s, otlp_exp_histogram_dp_t *p, const char **why)
{
    int rc;
    uint64_t x = 0;
    slice_t sub;
    if (d->a && (rc = dp_alloc(d, s, 1, 11, &p->attrs, &p->exemplars, NULL, 0, E_EDP)) < 0)
        return rc;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        NEXT_TAG(d, r, f, wt, E_EDP);
        switch (f) {
        case 1:
            rc = add_kv(d, &r, wt, &p->attrs, E_EDP, why);
            break;
        case 2:
            rc = rd_fixed64(d, &r, wt, &p->start_time_unix_nano, E_EDP);
            break;
        case 3:
            rc = rd_fixed64(d, &r, wt, &p->time_unix_nano, E_EDP);
            break;
        case 4:
            rc = rd_fixed64(d, &r, wt, &p->count, E_EDP);
            break;
        case 5:
            rc = rd_double(d, &r, wt, &p->sum, E_EDP);
            p->has_sum = 1;
            break;
        case 6:
            rc = rd_varint(d, &r, wt, &x, E_EDP);
            p->scale = pb_zigzag_dec32(x);
            break;
        case 7:
            rc = rd_fixed64(d, &r, wt, &p->zero_count, E_EDP);
            break;
        case 8:
        case 9:
            if ((rc = rd_len(d, &r, wt, &sub, E_EDP)) == 0)
                rc = dec_buckets(d, sub, f == 8 ? &p->positive : &p->negative);
            break;
        case 10:
            rc = rd_u32(d, &r, wt, &p->flags, E_EDP);
            break;
        case 11:
            rc = add_exemplar(d, &r, wt, &p->exemplars, E_EDP, why);
            break;
        case 12:
            rc = rd_double(d, &r, wt, &p->min, E_EDP);
            p->has_min = 1;
            break;
        case 13:
            rc = rd_double(d, &r, wt, &p->max, E_EDP);
            p->has_max = 1;
            break;
        case 14:
            rc = rd_double(d, &r, wt, &p->zero_threshold, E_EDP);
            break;
        default:
            rc = skip(d, &r, wt, E_EDP);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int dec_sdp(dctx_t *d, slice_t s, otlp_summary_dp_t *p, const char **why)
{
    int rc = 0;
    if (d->a) {
        cnt_t c[2] = {{7, CNT_MSG, 0}, {6, CNT_MSG, 0}};
        if ((rc = count_fields(d, s, c, 2, E_SDP)) < 0 ||
            (rc = attrs_alloc(d, &p->attrs, c[0].n)) < 0)
            return rc;
        p->quantiles = alloc_arr(d, c[1].n, sizeof(otlp_quantile_t), &rc);
        if (rc < 0)
            return rc;
    }
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_SDP);
        switch (f) {
        case 7:
            rc = add_kv(d, &r, wt, &p->attrs, E_SDP, why);
            break;
        case 2:
            rc = rd_fixed64(d, &r, wt, &p->start_time_unix_nano, E_SDP);
            break;
        case 3:
            rc = rd_fixed64(d, &r, wt, &p->time_unix_nano, E_SDP);
            break;
        case 4:
            rc = rd_fixed64(d, &r, wt, &p->count, E_SDP);
            break;
        case 5:
            rc = rd_double(d, &r, wt, &p->sum, E_SDP);
            break;
        case 6:
            if ((rc = rd_len(d, &r, wt, &sub, E_SDP)) < 0)
                break;
            {
                otlp_quantile_t tmp = {0, 0}, *q = d->a ? &p->quantiles[p->n_quantiles] : &tmp;
                pb_reader_t qr = pb_reader(sub);
                *q = (otlp_quantile_t){0, 0};
                while (rc == 0 && pb_more(&qr)) {
                    uint32_t qf, qwt;
                    NEXT_TAG(d, qr, qf, qwt, E_QUANTILE);
                    if (qf == 1)
                        rc = rd_double(d, &qr, qwt, &q->quantile, E_QUANTILE);
                    else if (qf == 2)
                        rc = rd_double(d, &qr, qwt, &q->value, E_QUANTILE);
                    else
                        rc = skip(d, &qr, qwt, E_QUANTILE);
                }
                if (rc == 0 && d->a)
                    p->n_quantiles++;
            }
            break;
        case 8:
            rc = rd_u32(d, &r, wt, &p->flags, E_SDP);
            break;
        default:
            rc = skip(d, &r, wt, E_SDP);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static size_t dp_size(int type)
{
    switch (type) {
    case OTLP_METRIC_HISTOGRAM:
        return sizeof(otlp_histogram_dp_t);
    case OTLP_METRIC_EXP_HISTOGRAM:
        return sizeof(otlp_exp_histogram_dp_t);
    case OTLP_METRIC_SUMMARY:
        return sizeof(otlp_summary_dp_t);
    default:
        return sizeof(otlp_number_dp_t);
    }
}

static void metric_set_points(otlp_metric_t *m, void *arr, size_t n)
{
    switch (m->type) {
    case OTLP_METRIC_HISTOGRAM:
        m->points.histogram.v = arr;
        m->points.histogram.n = n;
        break;
    case OTLP_METRIC_EXP_HISTOGRAM:
        m->points.exp_histogram.v = arr;
        m->points.exp_histogram.n = n;
        break;
    case OTLP_METRIC_SUMMARY:
        m->points.summary.v = arr;
        m->points.summary.n = n;
        break;
    case OTLP_METRIC_GAUGE:
    case OTLP_METRIC_SUM:
        m->points.number.v = arr;
        m->points.number.n = n;
        break;
    default:
        break;
    }
}

/* Gauge/Sum/Histogram/ExponentialHistogram/Summary (which one: `type`): every data point
 * is an item. */
static int dec_metric_data(dctx_t *d, slice_t s, otlp_metric_t *m, int type)
{
    int rc = 0;
    size_t esz = dp_size(type), n = 0;
    uint8_t *arr = NULL;
    union {
        otlp_number_dp_t a;
        otlp_histogram_dp_t b;
        otlp_exp_histogram_dp_t c;
        otlp_summary_dp_t e;
    } scratch;
    m->type = (uint8_t)type;
    m->temporality = 0;
    m->is_monotonic = 0;
    memset(&m->points, 0, sizeof(m->points));
    if (d->a) {
        cnt_t c = {1, CNT_MSG, 0};
        if ((rc = count_fields(d, s, &c, 1, E_MDATA)) < 0)
            return rc;
        arr = alloc_arr(d, c.n, esz, &rc);
        if (rc < 0)
            return rc;
    }
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        uint64_t x = 0;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_MDATA);
        if (f == 1) {
            if ((rc = rd_len(d, &r, wt, &sub, E_MDATA)) < 0)
                return rc;
            void *el = arr ? arr + n * esz : (void *)&scratch;
            const char *why = NULL;
            memset(el, 0, esz);
            switch (type) {
            case OTLP_METRIC_HISTOGRAM:
                rc = dec_hdp(d, sub, el, &why);
                break;
            case OTLP_METRIC_EXP_HISTOGRAM:
                rc = dec_edp(d, sub, el, &why);
                break;
            case OTLP_METRIC_SUMMARY:
                rc = dec_sdp(d, sub, el, &why);
                break;
            default:
                rc = dec_ndp(d, sub, el, &why);
            }
            if (rc < 0)
                return rc;
            if (why) {
                reject_n(d, 1, why);
            } else {
                d->items++;
                if (arr)
                    n++;
            }
        } else if (f == 2 && type != OTLP_METRIC_GAUGE && type != OTLP_METRIC_SUMMARY) {
            rc = rd_i32(d, &r, wt, &m->temporality, E_MDATA);
        } else if (f == 3 && type == OTLP_METRIC_SUM) {
            rc = rd_varint(d, &r, wt, &x, E_MDATA);
            m->is_monotonic = x != 0;
        } else {
            rc = skip(d, &r, wt, E_MDATA);
        }
        if (rc < 0)
            return rc;
    }
    metric_set_points(m, arr, n);
    return 0;
}

static int dec_metric(dctx_t *d, slice_t s, otlp_metric_t *m)
{
    int rc;
    const char *mwhy = NULL;
    size_t items0 = d->items, rej0 = d->rejected;
    cnt_t c = {12, CNT_MSG, 0};
    if (d->a && ((rc = count_fields(d, s, &c, 1, E_METRIC)) < 0 ||
                 (rc = attrs_alloc(d, &m->metadata, c.n)) < 0))
        return rc;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_METRIC);
        switch (f) {
        case 1:
            rc = rd_str(d, &r, wt, &m->name, E_METRIC, &mwhy, R_METRIC_UTF8);
            break;
        case 2:
            rc = rd_str(d, &r, wt, &m->description, E_METRIC, &mwhy, R_METRIC_UTF8);
            break;
        case 3:
            rc = rd_str(d, &r, wt, &m->unit, E_METRIC, &mwhy, R_METRIC_UTF8);
            break;
        case 5:
        case 7:
        case 9:
        case 10:
        case 11:
            if ((rc = rd_len(d, &r, wt, &sub, E_METRIC)) < 0)
                break;
            /* the data oneof: a later member replaces an earlier one, and so do its
             * counts (the earlier points never existed) */
            d->items = items0;
            d->rejected = rej0;
            rc = dec_metric_data(d, sub, m,
                                 f == 5    ? OTLP_METRIC_GAUGE
                                 : f == 7  ? OTLP_METRIC_SUM
                                 : f == 9  ? OTLP_METRIC_HISTOGRAM
                                 : f == 10 ? OTLP_METRIC_EXP_HISTOGRAM
                                           : OTLP_METRIC_SUMMARY);
            break;
        case 12:
            rc = add_kv(d, &r, wt, &m->metadata, E_METRIC, &mwhy);
            break;
        default:
            rc = skip(d, &r, wt, E_METRIC);
        }
        if (rc < 0)
            return rc;
    }
    if (mwhy) {
        demote_since(d, items0, mwhy);
        metric_set_points(m, NULL, 0);
    }
    return 0;
}

static int dec_scope_metrics(dctx_t *d, slice_t s, otlp_scope_metrics_t *sm)
{
    int rc = 0;
    const char *swhy = NULL;
    size_t items0 = d->items;
    memset(sm, 0, sizeof(*sm));
    if (d->a) {
        cnt_t c = {2, CNT_MSG, 0};
        if ((rc = count_fields(d, s, &c, 1, E_SM)) < 0)
            return rc;
        sm->metrics = alloc_arr(d, c.n, sizeof(otlp_metric_t), &rc);
        if (rc < 0)
            return rc;
    }
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_SM);
        if (f == 1) {
            if ((rc = rd_len(d, &r, wt, &sub, E_SM)) == 0)
                rc = dec_scope(d, sub, &sm->scope, &swhy);
        } else if (f == 2) {
            if ((rc = rd_len(d, &r, wt, &sub, E_SM)) < 0)
                return rc; /* before touching a slot: the pre-pass counted LEN only */
            otlp_metric_t tmp, *m = d->a ? &sm->metrics[sm->n_metrics] : &tmp;
            memset(m, 0, sizeof(*m));
            if ((rc = dec_metric(d, sub, m)) == 0 && d->a)
                sm->n_metrics++;
        } else if (f == 3) {
            rc = rd_str(d, &r, wt, &sm->schema_url, E_SM, &swhy, R_SCHEMA_UTF8);
        } else {
            rc = skip(d, &r, wt, E_SM);
        }
        if (rc < 0)
            return rc;
    }
    if (swhy) {
        demote_since(d, items0, swhy);
        sm->n_metrics = 0;
    }
    return 0;
}

static int dec_resource_metrics(dctx_t *d, slice_t s, void *elem)
{
    otlp_resource_metrics_t *rm = elem;
    int rc = 0;
    const char *rwhy = NULL;
    size_t items0 = d->items;
    memset(rm, 0, sizeof(*rm));
    if (d->a) {
        cnt_t c = {2, CNT_MSG, 0};
        if ((rc = count_fields(d, s, &c, 1, E_RM)) < 0)
            return rc;
        rm->scope_metrics = alloc_arr(d, c.n, sizeof(otlp_scope_metrics_t), &rc);
        if (rc < 0)
            return rc;
    }
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_RM);
        if (f == 1) {
            if ((rc = rd_len(d, &r, wt, &sub, E_RM)) == 0)
                rc = dec_resource(d, sub, &rm->resource, &rwhy);
        } else if (f == 2) {
            if ((rc = rd_len(d, &r, wt, &sub, E_RM)) < 0)
                return rc;
            otlp_scope_metrics_t tmp, *sm = d->a ? &rm->scope_metrics[rm->n_scope_metrics] : &tmp;
            if ((rc = dec_scope_metrics(d, sub, sm)) == 0 && d->a)
                rm->n_scope_metrics++;
        } else if (f == 3) {
            rc = rd_str(d, &r, wt, &rm->schema_url, E_RM, &rwhy, R_SCHEMA_UTF8);
        } else {
            rc = skip(d, &r, wt, E_RM);
        }
        if (rc < 0)
            return rc;
    }
    if (rwhy) {
        demote_since(d, items0, rwhy);
        for (size_t i = 0; i < rm->n_scope_metrics; i++)
            rm->scope_metrics[i].n_metrics = 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- logs -------------- */

static const char E_LOG[] = "malformed LogRecord";
static const char E_SL[] = "malformed ScopeLogs";
static const char E_RL[] = "malformed ResourceLogs";
static const char E_LREQ[] = "malformed ExportLogsServiceRequest";
static const char R_LOG_TRACE_ID[] = "log record trace_id must be empty or 16 bytes";
static const char R_LOG_SPAN_ID[] = "log record span_id must be empty or 8 bytes";
static const char R_LOG_UTF8[] = "invalid UTF-8 in a log record severity_text or event_name";

static int dec_log(dctx_t *d, slice_t s, otlp_log_record_t *lr, const char **why)
{
    int rc;
    cnt_t c = {6, CNT_MSG, 0};
    if (d->a &&
        ((rc = count_fields(d, s, &c, 1, E_LOG)) < 0 || (rc = attrs_alloc(d, &lr->attrs, c.n)) < 0))
        return rc;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_LOG);
        switch (f) {
        case 1:
            rc = rd_fixed64(d, &r, wt, &lr->time_unix_nano, E_LOG);
            break;
        case 11:
            rc = rd_fixed64(d, &r, wt, &lr->observed_time_unix_nano, E_LOG);
            break;
        case 2:
            rc = rd_i32(d, &r, wt, &lr->severity_number, E_LOG);
            break;
        case 3:
            rc = rd_str(d, &r, wt, &lr->severity_text, E_LOG, why, R_LOG_UTF8);
            break;
        case 5:
            if ((rc = rd_len(d, &r, wt, &sub, E_LOG)) == 0)
                rc = dec_any(d, sub, &lr->body, 1, why);
            break;
        case 6:
            rc = add_kv(d, &r, wt, &lr->attrs, E_LOG, why);
            break;
        case 7:
            rc = rd_u32(d, &r, wt, &lr->dropped_attributes_count, E_LOG);
            break;
        case 8:
            rc = rd_fixed32(d, &r, wt, &lr->flags, E_LOG);
            break;
        case 9:
            rc = rd_id(d, &r, wt, lr->trace_id.id, &lr->trace_id.len, 16, E_LOG, why,
                       R_LOG_TRACE_ID);
            break;
        case 10:
            rc = rd_id(d, &r, wt, lr->span_id.id, &lr->span_id.len, 8, E_LOG, why, R_LOG_SPAN_ID);
            break;
        case 12:
            rc = rd_str(d, &r, wt, &lr->event_name, E_LOG, why, R_LOG_UTF8);
            break;
        default:
            rc = skip(d, &r, wt, E_LOG);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int dec_scope_logs(dctx_t *d, slice_t s, otlp_scope_logs_t *sl)
{
    int rc = 0;
    const char *swhy = NULL;
    size_t items0 = d->items;
    memset(sl, 0, sizeof(*sl));
    if (d->a) {
        cnt_t c = {2, CNT_MSG, 0};
        if ((rc = count_fields(d, s, &c, 1, E_SL)) < 0)
            return rc;
        sl->log_records = alloc_arr(d, c.n, sizeof(otlp_log_record_t), &rc);
        if (rc < 0)
            return rc;
    }
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_SL);
        if (f == 1) {
            if ((rc = rd_len(d, &r, wt, &sub, E_SL)) == 0)
                rc = dec_scope(d, sub, &sl->scope, &swhy);
        } else if (f == 2) {
            if ((rc = rd_len(d, &r, wt, &sub, E_SL)) < 0)
                return rc;
            otlp_log_record_t tmp, *lr = d->a ? &sl->log_records[sl->n_log_records] : &tmp;
            const char *why = NULL;
            memset(lr, 0, sizeof(*lr));
            if ((rc = dec_log(d, sub, lr, &why)) < 0)
                return rc;
            if (why) {
                reject_n(d, 1, why);
            } else {
                d->items++;
                if (d->a)
                    sl->n_log_records++;
            }
        } else if (f == 3) {
            rc = rd_str(d, &r, wt, &sl->schema_url, E_SL, &swhy, R_SCHEMA_UTF8);
        } else {
            rc = skip(d, &r, wt, E_SL);
        }
        if (rc < 0)
            return rc;
    }
    if (swhy) {
        demote_since(d, items0, swhy);
        sl->n_log_records = 0;
    }
    return 0;
}

static int dec_resource_logs(dctx_t *d, slice_t s, void *elem)
{
    otlp_resource_logs_t *rl = elem;
    int rc = 0;
    const char *rwhy = NULL;
    size_t items0 = d->items;
    memset(rl, 0, sizeof(*rl));
    if (d->a) {
        cnt_t c = {2, CNT_MSG, 0};
        if ((rc = count_fields(d, s, &c, 1, E_RL)) < 0)
            return rc;
        rl->scope_logs = alloc_arr(d, c.n, sizeof(otlp_scope_logs_t), &rc);
        if (rc < 0)
            return rc;
    }
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        NEXT_TAG(d, r, f, wt, E_RL);
        if (f == 1) {
            if ((rc = rd_len(d, &r, wt, &sub, E_RL)) == 0)
                rc = dec_resource(d, sub, &rl->resource, &rwhy);
        } else if (f == 2) {
            if ((rc = rd_len(d, &r, wt, &sub, E_RL)) < 0)
                return rc;
            otlp_scope_logs_t tmp, *sl = d->a ? &rl->scope_logs[rl->n_scope_logs] : &tmp;
            if ((rc = dec_scope_logs(d, sub, sl)) == 0 && d->a)
                rl->n_scope_logs++;
        } else if (f == 3) {
            rc = rd_str(d, &r, wt, &rl->schema_url, E_RL, &rwhy, R_SCHEMA_UTF8);
        } else {
            rc = skip(d, &r, wt, E_RL);
        }
        if (rc < 0)
            return rc;
    }
    if (rwhy) {
        demote_since(d, items0, rwhy);
        for (size_t i = 0; i < rl->n_scope_logs; i++)
            rl->scope_logs[i].n_log_records = 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- requests ---------- */

typedef int (*dec_resource_fn)(dctx_t *d, slice_t s, void *elem);

typedef struct {
    dec_resource_fn fn;
    size_t elem_size;
    const char *ctx;
} signal_desc_t;

static const signal_desc_t SIGNALS[3] = {
    [OTLP_TRACES] = {dec_resource_spans, sizeof(otlp_resource_spans_t), E_TREQ},
    [OTLP_METRICS] = {dec_resource_metrics, sizeof(otlp_resource_metrics_t), E_MREQ},
    [OTLP_LOGS] = {dec_resource_logs, sizeof(otlp_resource_logs_t), E_LREQ},
};

/* Export*ServiceRequest{repeated Resource* = 1}. Builds into arr/n when d->a is set;
 * reports each resource to `cb` (scan only). */
static int dec_request(dctx_t *d, enum otlp_signal sig, slice_t body, void **arr, size_t *n,
                       size_t *n_res, otlp_scan_resource_fn cb, void *arg)
{
    const signal_desc_t *sd = &SIGNALS[sig];
    int rc = 0;
    union {
        otlp_resource_spans_t a;
        otlp_resource_metrics_t b;
        otlp_resource_logs_t c;
    } scratch;
    uint8_t *out = NULL;
    *n = 0;
    *n_res = 0;
    if (body.len == 0)
        return 0; /* the empty message: a valid request with nothing in it */
    if (d->a) {
        cnt_t c = {1, CNT_MSG, 0};
        if ((rc = count_fields(d, body, &c, 1, sd->ctx)) < 0)
            return rc;
        out = alloc_arr(d, c.n, sd->elem_size, &rc);
        if (rc < 0)
            return rc;
        *arr = out;
    }
    pb_reader_t r = pb_reader(body);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t sub;
        const uint8_t *start = r.p;
        NEXT_TAG(d, r, f, wt, sd->ctx);
        if (f != 1) {
            if (skip(d, &r, wt, sd->ctx) < 0)
                return ORASI_EPARSE;
            continue;
        }
        if ((rc = rd_len(d, &r, wt, &sub, sd->ctx)) < 0)
            return rc;
        size_t items0 = d->items, rej0 = d->rejected;
        void *el = out ? out + *n * sd->elem_size : (void *)&scratch;
        if ((rc = sd->fn(d, sub, el)) < 0)
            return rc;
        if (out)
            (*n)++;
        (*n_res)++;
        if (cb && (rc = cb(arg, slice_make(start, (size_t)(r.p - start)), d->items - items0,
                           d->rejected - rej0)) < 0)
            return rc;
    }
    return 0;
}

static int decode(enum otlp_signal sig, slice_t body, arena_t *a, void **arr, size_t *n,
                  size_t *items, size_t *rejected, const char **msg)
{
    dctx_t d = {.a = a};
    size_t n_res;
    *arr = NULL;
    if (!a)
        return ORASI_EINVAL;
    int rc = dec_request(&d, sig, body, arr, n, &n_res, NULL, NULL);
    *items = d.items;
    *rejected = d.rejected;
    *msg = rc == ORASI_EPARSE ? d.perr : d.msg;
    return rc;
}

int otlp_pb_decode_traces(slice_t body, arena_t *a, otlp_traces_t *out)
{
    void *arr;
    memset(out, 0, sizeof(*out));
    int rc = decode(OTLP_TRACES, body, a, &arr, &out->n_resource_spans, &out->n_items,
                    &out->rejected, &out->reject_msg);
    out->resource_spans = arr;
    return rc;
}

int otlp_pb_decode_metrics(slice_t body, arena_t *a, otlp_metrics_t *out)
{
    void *arr;
    memset(out, 0, sizeof(*out));
    int rc = decode(OTLP_METRICS, body, a, &arr, &out->n_resource_metrics, &out->n_items,
                    &out->rejected, &out->reject_msg);
    out->resource_metrics = arr;
    return rc;
}

int otlp_pb_decode_logs(slice_t body, arena_t *a, otlp_logs_t *out)
{
    void *arr;
    memset(out, 0, sizeof(*out));
    int rc = decode(OTLP_LOGS, body, a, &arr, &out->n_resource_logs, &out->n_items, &out->rejected,
                    &out->reject_msg);
    out->resource_logs = arr;
    return rc;
}

int otlp_pb_scan_resources(enum otlp_signal sig, slice_t body, otlp_scan_t *out,
                           otlp_scan_resource_fn fn, void *arg)
{
    dctx_t d = {.a = NULL};
    void *arr = NULL;
    size_t n;
    memset(out, 0, sizeof(*out));
    if ((unsigned)sig > OTLP_LOGS)
        return ORASI_EINVAL;
    int rc = dec_request(&d, sig, body, &arr, &n, &out->n_resources, fn, arg);
    out->n_items = d.items;
    out->rejected = d.rejected;
    out->reject_msg = rc == ORASI_EPARSE ? d.perr : d.msg;
    return rc;
}

int otlp_pb_scan(enum otlp_signal sig, slice_t body, otlp_scan_t *out)
{
    return otlp_pb_scan_resources(sig, body, out, NULL, NULL);
}

size_t otlp_pb_arena_cap_hint(size_t body_len, size_t chunk_size)
{
    /* Every array element stored costs at least 2 body bytes of its own (tag + length or
     * value), except packed varints (1 byte -> 8) and packed fixed64 (8 -> 8); the largest
     * element is otlp_span_t (200 bytes); each non-empty array allocation adds < 16 bytes
     * of padding: <= 108 bytes requested per body byte. An arena abandons the tail of a
     * chunk only when an allocation larger than that tail arrives, so the tails are at
     * most what is requested: 216 per byte, rounded up, plus the first chunk. */
    const size_t per_byte = 256, slack = 4096;
    if (chunk_size > SIZE_MAX / 2 || body_len > (SIZE_MAX - 2 * chunk_size - slack) / per_byte)
        return SIZE_MAX;
    return body_len * per_byte + chunk_size + slack;
}
