/*
 * flatten.c — OTLP model -> lake rows (see flatten.h for the rules).
 *
 * The column indexes below (TR_*, LG_*, MH_* ...) follow the schema order in colbuf.c;
 * test_lake_flatten checks them against the schema names so the two cannot drift.
 */
#include "lake/flatten.h"

#include "core/alloc.h"
#include "core/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* traces */
enum {
    TR_TS, TR_TRACEID, TR_SPANID, TR_PARENT, TR_STATE, TR_NAME, TR_KIND, TR_SERVICE, TR_RATTR,
    TR_SCOPE_NAME, TR_SCOPE_VERSION, TR_ATTR, TR_DURATION, TR_STATUS, TR_STATUS_MSG, TR_EV_TS,
    TR_EV_NAME, TR_EV_ATTR, TR_LK_TRACEID, TR_LK_SPANID, TR_LK_STATE, TR_LK_ATTR
};
/* logs */
enum {
    LG_TS, LG_TRACEID, LG_SPANID, LG_FLAGS, LG_SEV_TEXT, LG_SEV_NUM, LG_SERVICE, LG_BODY,
    LG_RSCHEMA, LG_RATTR, LG_SSCHEMA, LG_SCOPE_NAME, LG_SCOPE_VERSION, LG_SATTR, LG_ATTR,
    LG_EVENT_NAME
};
/* metrics: shared head */
enum {
    MH_RATTR, MH_RSCHEMA, MH_SCOPE_NAME, MH_SCOPE_VERSION, MH_SATTR, MH_SDROPPED, MH_SSCHEMA,
    MH_SERVICE, MH_NAME, MH_DESC, MH_UNIT, MH_ATTR, MH_START, MH_TIME, MH__END
};
/* gauge and sum */
enum { NB_VALUE = MH__END, NB_FLAGS, NB_EX0, NB_TEMPORALITY = NB_EX0 + 5, NB_MONOTONIC };
/* histogram */
enum {
    HI_COUNT = MH__END, HI_SUM, HI_BUCKETS, HI_BOUNDS, HI_EX0, HI_FLAGS = HI_EX0 + 5, HI_MIN,
    HI_MAX, HI_TEMPORALITY
};
/* exponential histogram */
enum {
    EH_COUNT = MH__END, EH_SUM, EH_SCALE, EH_ZERO, EH_POS_OFF, EH_POS, EH_NEG_OFF, EH_NEG,
    EH_EX0, EH_FLAGS = EH_EX0 + 5, EH_MIN, EH_MAX, EH_TEMPORALITY
};
/* summary */
enum { SU_COUNT = MH__END, SU_SUM, SU_Q, SU_V, SU_FLAGS };

void flatten_init(flatten_t *f, flatten_table_fn table, void *ctx, size_t scratch_max)
{
    memset(f, 0, sizeof(*f));
    f->table = table;
    f->ctx = ctx;
    buf_init(&f->scratch, scratch_max ? scratch_max : (64u << 20));
}

void flatten_free(flatten_t *f)
{
    buf_free(&f->scratch);
}

int64_t flatten_ts(uint64_t ns)
{
    return ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ns;
}

/* ---- value text ------------------------------------------------------------------------ */

static int b64(const uint8_t *p, size_t n, buf_t *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int rc = buf_reserve(out, (n + 2) / 3 * 4);
    if (rc)
        return rc;
    uint8_t *d = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *d++ = (uint8_t)a[v >> 18];
        *d++ = (uint8_t)a[(v >> 12) & 63];
        *d++ = (uint8_t)a[(v >> 6) & 63];
        *d++ = (uint8_t)a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *d++ = (uint8_t)a[v >> 18];
        *d++ = (uint8_t)a[(v >> 12) & 63];
        *d++ = '=';
        *d++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *d++ = (uint8_t)a[v >> 18];
        *d++ = (uint8_t)a[(v >> 12) & 63];
        *d++ = (uint8_t)a[(v >> 6) & 63];
        *d++ = '=';
    }
    out->len = (size_t)(d - out->data);
    return 0;
}

/* Shortest text that reads back as v, in plain decimal notation (no exponent), like Go's
 * strconv.FormatFloat(v, 'f', -1, 64) which pdata's AsString uses. */
static int fmt_double(double v, buf_t *out)
{
    if (isnan(v))
        return buf_append_str(out, "NaN");
    if (isinf(v))
        return buf_append_str(out, v > 0 ? "+Inf" : "-Inf");
    if (v == 0)
        return buf_append_str(out, signbit(v) ? "-0" : "0");
    char e[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    /* e = [-]d[.ddd]e[+-]XX */
    char digits[24];
    size_t nd = 0;
    const char *p = e;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < sizeof(digits))
            digits[nd++] = *p;
    int exp = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int rc = neg ? buf_append_byte(out, '-') : 0;
    if (rc)
        return rc;
    if (exp >= 0) {
        /* integer part: digits[0..exp], zero padded */
        for (int i = 0; i <= exp && !rc; i++)
            rc = buf_append_byte(out, (size_t)i < nd ? (uint8_t)digits[i] : '0');
        if (!rc && (size_t)exp + 1 < nd) {
            rc = buf_append_byte(out, '.');
            if (!rc)
                rc = buf_append(out, digits + exp + 1, nd - (size_t)exp - 1);
        }
    } else {
        rc = buf_append_str(out, "0.");
        for (int i = 0; i < -exp - 1 && !rc; i++)
            rc = buf_append_byte(out, '0');
        if (!rc)
            rc = buf_append(out, digits, nd);
    }
    return rc;
}

static int any_json(const otlp_any_t *v, buf_t *out, int depth);

static int kvlist_json(const otlp_kv_t *kv, size_t n, buf_t *out, int depth)
{
    int rc = buf_append_byte(out, '{');
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = buf_append_byte(out, ',');
        if (!rc)
            rc = buf_append_json_str(out, (const char *)kv[i].key.p, kv[i].key.len);
        if (!rc)
            rc = buf_append_byte(out, ':');
        if (!rc)
            rc = any_json(&kv[i].value, out, depth + 1);
    }
    return rc ? rc : buf_append_byte(out, '}');
}

/* Decimal text of an integer (status codes, sizes, ports: on the hot path, no printf). */
static int put_int_text(buf_t *out, int64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    return buf_append(out, tmp + i, sizeof(tmp) - i);
}

/* JSON of a value nested in an array or map (Go's json.Marshal of AsRaw()). The model's
 * depth cap (OTLP_MAX_ANY_DEPTH) bounds the recursion; the extra check is defensive. */
static int any_json(const otlp_any_t *v, buf_t *out, int depth)
{
    if (depth > OTLP_MAX_ANY_DEPTH + 1)
        return ORASI_EDEPTH;
    switch (v->type) {
    case OTLP_ANY_STRING:
        return buf_append_json_str(out, (const char *)v->u.str.p, v->u.str.len);
    case OTLP_ANY_BOOL:
        return buf_append_str(out, v->u.boolean ? "true" : "false");
    case OTLP_ANY_INT:
        return put_int_text(out, v->u.i64);
    case OTLP_ANY_DOUBLE:
        if (!isfinite(v->u.f64))
            return buf_append_str(out, "null");
        return fmt_double(v->u.f64, out);
    case OTLP_ANY_BYTES: {
        int rc = buf_append_byte(out, '"');
        if (!rc)
            rc = b64(v->u.bytes.p, v->u.bytes.len, out);
        return rc ? rc : buf_append_byte(out, '"');
    }
    case OTLP_ANY_ARRAY: {
        int rc = buf_append_byte(out, '[');
        for (size_t i = 0; i < v->u.array.n && !rc; i++) {
            if (i)
                rc = buf_append_byte(out, ',');
            if (!rc)
                rc = any_json(&v->u.array.v[i], out, depth + 1);
        }
        return rc ? rc : buf_append_byte(out, ']');
    }
    case OTLP_ANY_KVLIST:
        return kvlist_json(v->u.kvlist.v, v->u.kvlist.n, out, depth);
    default:
        return buf_append_str(out, "null");
    }
}

int flatten_any_text(const otlp_any_t *v, buf_t *out)
{
    switch (v->type) {
    case OTLP_ANY_STRING:
        return buf_append(out, v->u.str.p, v->u.str.len);
    case OTLP_ANY_BOOL:
    case OTLP_ANY_INT:
    case OTLP_ANY_ARRAY:
    case OTLP_ANY_KVLIST:
        return any_json(v, out, 1);
    case OTLP_ANY_DOUBLE:
        return fmt_double(v->u.f64, out);
    case OTLP_ANY_BYTES:
        return b64(v->u.bytes.p, v->u.bytes.len, out);
    default:
        return 0; /* empty */
    }
}

/* ---- appending helpers ------------------------------------------------------------------- */

/* Strings of rows are interned per column (colbuf_put_istr): attribute keys, names and
 * most attribute values repeat, and a column of mostly distinct values (a log Body, ids
 * in attributes) turns interning off by itself. */
static int put_slice(colbuf_table_t *t, colbuf_col_t *c, slice_t s)
{
    return colbuf_put_istr(t, c, s.p, s.len);
}

/* Append the text form of v to the STR column c. */
static int put_any(flatten_t *f, colbuf_table_t *t, colbuf_col_t *c, const otlp_any_t *v)
{
    if (v->type == OTLP_ANY_STRING)
        return put_slice(t, c, v->u.str);
    buf_clear(&f->scratch);
    int rc = flatten_any_text(v, &f->scratch);
    if (rc)
        return rc;
    return colbuf_put_istr(t, c, f->scratch.data, f->scratch.len);
}

/* Append attributes as map entries to the children of MAP column m; the new range
 * (offset, length) is returned in *r. */
/* A string already in a column holds the bytes of b. */
static int same_bytes(colbuf_str_t a, slice_t b)
{
    return a.len == b.len && colbuf_bytes_eq(a.p, b.p, a.len);
}

/* Slot of flatten_t.layout for maps of column m whose first key is k. */
static unsigned layout_slot(const colbuf_col_t *m, slice_t k)
{
    uint64_t h = (uint64_t)(uintptr_t)m * 0x9e3779b97f4a7c15ull;
    uint64_t a, b;
    colbuf_words16(k.p, k.len < 16 ? k.len : 16, &a, &b);
    h = (h ^ a ^ (uint64_t)k.len) * 0xff51afd7ed558ccdull;
    h = (h ^ b) * 0xc4ceb9fe1a85ec53ull;
    return (unsigned)(h >> 58) & (FLATTEN_LAYOUTS - 1);
}

/* Spans from one instrumentation carry the same keys in the same order, often with the
 * same values: entry i of an earlier map is compared first (one short memcmp) and shared
 * when equal, before hashing for the intern table. The earlier map is the last one of
 * the column with the same first key (flatten_t.layout: spans of several kinds
 * interleave, each kind with its own keys), else the column's previous map. */
static int put_attrs_entries(flatten_t *f, colbuf_table_t *t, colbuf_col_t *m,
                             const otlp_attrs_t *a, colbuf_range_t *r)
{
    size_t start = m->child->n;
    colbuf_range_t prev = {0, 0};
    struct flatten_layout *lay = NULL;
    if (a->n) {
        lay = &f->layout[layout_slot(m, a->v[0].key)];
        const colbuf_str_t *k0 = m->child->v;
        if (lay->m == m && lay->r.len && (size_t)lay->r.off + lay->r.len <= m->child->n &&
            same_bytes(k0[lay->r.off], a->v[0].key))
            prev = lay->r;
    }
    if (!prev.len && m->n)
        prev = ((const colbuf_range_t *)m->v)[m->n - 1];
    const colbuf_str_t *pk = m->child->v, *pv = m->child2->v;
    for (size_t i = 0; i < a->n; i++) {
        const otlp_kv_t *e = &a->v[i];
        int rc;
        if (i < prev.len && same_bytes(pk[prev.off + i], e->key)) {
            rc = colbuf_put_again(t, m->child, prev.off + i);
            pk = m->child->v; /* the put may have grown (moved) the array */
        } else {
            rc = put_slice(t, m->child, e->key);
            pk = m->child->v;
        }
        if (rc)
            return rc;
        if (i < prev.len && e->value.type == OTLP_ANY_STRING &&
            same_bytes(pv[prev.off + i], e->value.u.str))
            rc = colbuf_put_again(t, m->child2, prev.off + i);
        else
            rc = put_any(f, t, m->child2, &e->value);
        pv = m->child2->v;
        if (rc)
            return rc;
    }
    if (start > UINT32_MAX || a->n > UINT32_MAX)
        return ORASI_ETOOBIG;
    *r = (colbuf_range_t){(uint32_t)start, (uint32_t)a->n};
    if (lay)
        *lay = (struct flatten_layout){m, *r};
    return 0;
}

static int put_attrs(flatten_t *f, colbuf_table_t *t, colbuf_col_t *m, const otlp_attrs_t *a)
{
    colbuf_range_t r;
    int rc = put_attrs_entries(f, t, m, a, &r);
    return rc ? rc : colbuf_put_range(t, m, r.off, r.len);
}

static struct flatten_cache *cache_get(flatten_t *f, const colbuf_table_t *t, const void *key)
{
    for (unsigned i = 0; i < f->ncache; i++)
        if (f->cache[i].t == t && f->cache[i].key == key)
            return &f->cache[i];
    return NULL;
}

static struct flatten_cache *cache_put(flatten_t *f, const colbuf_table_t *t, const void *key)
{
    struct flatten_cache *e;
    if (f->ncache < FLATTEN_CACHE) {
        e = &f->cache[f->ncache++];
    } else {
        e = &f->cache[f->next];
        f->next = (f->next + 1) % FLATTEN_CACHE;
    }
    memset(e, 0, sizeof(*e));
    e->t = t;
    e->key = key;
    return e;
}

/* Forget cached ranges of a table whose last row was rolled back: they may point at
 * entries that no longer exist. */
static void cache_drop(flatten_t *f, const colbuf_table_t *t)
{
    for (unsigned i = 0; i < f->ncache; i++)
        if (f->cache[i].t == t)
            f->cache[i].t = NULL;
}

/* service.name as the exporter reads it: the string value, "" when absent or not a
 * string. */
static slice_t service_name(const otlp_resource_t *r)
{
    for (size_t i = 0; i < r->attrs.n; i++)
        if (slice_eq_cstr(r->attrs.v[i].key, "service.name"))
            return r->attrs.v[i].value.type == OTLP_ANY_STRING ? r->attrs.v[i].value.u.str
                                                                : (slice_t){0};
    return (slice_t){0};
}

/* Resource fields stored once per table: r[0] = attributes, s[0] = service name,
 * s[1] = schema url. */
static int resource_cached(flatten_t *f, colbuf_table_t *t, const otlp_resource_t *res,
                           slice_t schema_url, colbuf_col_t *attrs_col, struct flatten_cache *out)
{
    struct flatten_cache *e = cache_get(f, t, res);
    if (e) {
        *out = *e; /* a copy: a later cache_put may reuse the slot */
        return 0;
    }
    /* the same resource in an earlier request (the same pods send all the time): its
     * entries are in the table already */
    uint64_t h = 0;
    const colbuf_memo_t *mo = res->raw.len ? colbuf_memo_get(t, res->raw, schema_url, &h) : NULL;
    if (mo) {
        e = cache_put(f, t, res);
        e->r[0] = mo->r;
        e->s[0] = mo->s[0];
        e->s[1] = mo->s[1];
        *out = *e;
        return 0;
    }
    colbuf_range_t r;
    slice_t s[2];
    int rc = put_attrs_entries(f, t, attrs_col, &res->attrs, &r);
    if (!rc) {
        slice_t sn = service_name(res);
        rc = colbuf_strdup(t, sn.p, sn.len, &s[0]);
    }
    if (!rc)
        rc = colbuf_strdup(t, schema_url.p, schema_url.len, &s[1]);
    if (rc)
        return rc;
    if (res->raw.len)
        colbuf_memo_put(t, h, res->raw, schema_url, r, s);
    e = cache_put(f, t, res);
    e->r[0] = r;
    e->s[0] = s[0];
    e->s[1] = s[1];
    *out = *e;
    return 0;
}

/* Scope fields once per table: s[0] name, s[1] version, s[2] schema url, r[0] attrs
 * (only when attrs_col is given). */
static int scope_cached(flatten_t *f, colbuf_table_t *t, const otlp_scope_t *sc,
                        slice_t schema_url, colbuf_col_t *attrs_col, struct flatten_cache *out)
{
    struct flatten_cache *e = cache_get(f, t, sc);
    if (e) {
        *out = *e;
        return 0;
    }
    colbuf_range_t r = {0, 0};
    slice_t s[3];
    int rc = colbuf_strdup(t, sc->name.p, sc->name.len, &s[0]);
    if (!rc)
        rc = colbuf_strdup(t, sc->version.p, sc->version.len, &s[1]);
    if (!rc)
        rc = colbuf_strdup(t, schema_url.p, schema_url.len, &s[2]);
    if (!rc && attrs_col)
        rc = put_attrs_entries(f, t, attrs_col, &sc->attrs, &r);
    if (rc)
        return rc;
    e = cache_put(f, t, sc);
    e->r[0] = r;
    memcpy(e->s, s, sizeof(s));
    *out = *e;
    return 0;
}

static colbuf_table_t *get_table(flatten_t *f, int sig, int64_t ts, int *rc)
{
    *rc = 0;
    colbuf_table_t *t = f->table(f->ctx, sig, ts, rc);
    if (!t && !*rc)
        *rc = ORASI_EINTERNAL;
    return t;
}

/* ---- traces ------------------------------------------------------------------------------ */

/* One span's row; re and se are its resource's and scope's fields in t (resource_cached,
 * scope_cached). */
static int span_row(flatten_t *f, colbuf_table_t *t, const struct flatten_cache *re,
                    const struct flatten_cache *se, const otlp_span_t *sp, int64_t ts)
{
    colbuf_col_t *c = t->cols;
    int rc;
    int64_t dur = (int64_t)(sp->end_time_unix_nano - sp->start_time_unix_nano);

    if ((rc = colbuf_put_i64(t, &c[TR_TS], ts)) ||
        (rc = colbuf_put_traceid(t, &c[TR_TRACEID], &sp->trace_id)) ||
        (rc = colbuf_put_spanid(t, &c[TR_SPANID], &sp->span_id)) ||
        (rc = colbuf_put_spanid(t, &c[TR_PARENT], &sp->parent_span_id)) ||
        (rc = put_slice(t, &c[TR_STATE], sp->trace_state)) ||
        (rc = put_slice(t, &c[TR_NAME], sp->name)) ||
        (rc = colbuf_put_i32(t, &c[TR_KIND], sp->kind)) ||
        (rc = colbuf_put_ref(t, &c[TR_SERVICE], re->s[0])) ||
        (rc = colbuf_put_range(t, &c[TR_RATTR], re->r[0].off, re->r[0].len)) ||
        (rc = colbuf_put_ref(t, &c[TR_SCOPE_NAME], se->s[0])) ||
        (rc = colbuf_put_ref(t, &c[TR_SCOPE_VERSION], se->s[1])) ||
        (rc = put_attrs(f, t, &c[TR_ATTR], &sp->attrs)) ||
        (rc = colbuf_put_i64(t, &c[TR_DURATION], dur)) ||
        (rc = colbuf_put_i32(t, &c[TR_STATUS], sp->status.code)) ||
        (rc = put_slice(t, &c[TR_STATUS_MSG], sp->status.message)))
        return rc;

    /* Events.* : three parallel lists */
    size_t s_ts = c[TR_EV_TS].child->n, s_nm = c[TR_EV_NAME].child->n,
           s_at = c[TR_EV_ATTR].child->n;
    for (size_t i = 0; i < sp->n_events; i++) {
        const otlp_event_t *ev = &sp->events[i];
        if ((rc = colbuf_put_i64(t, c[TR_EV_TS].child, flatten_ts(ev->time_unix_nano))) ||
            (rc = put_slice(t, c[TR_EV_NAME].child, ev->name)) ||
            (rc = put_attrs(f, t, c[TR_EV_ATTR].child, &ev->attrs)))
            return rc;
    }
    if ((rc = colbuf_put_range(t, &c[TR_EV_TS], s_ts, sp->n_events)) ||
        (rc = colbuf_put_range(t, &c[TR_EV_NAME], s_nm, sp->n_events)) ||
        (rc = colbuf_put_range(t, &c[TR_EV_ATTR], s_at, sp->n_events)))
        return rc;

    /* Links.* */
    size_t l_t = c[TR_LK_TRACEID].child->n, l_s = c[TR_LK_SPANID].child->n,
           l_st = c[TR_LK_STATE].child->n, l_a = c[TR_LK_ATTR].child->n;
    for (size_t i = 0; i < sp->n_links; i++) {
        const otlp_link_t *lk = &sp->links[i];
        if ((rc = colbuf_put_traceid(t, c[TR_LK_TRACEID].child, &lk->trace_id)) ||
            (rc = colbuf_put_spanid(t, c[TR_LK_SPANID].child, &lk->span_id)) ||
            (rc = put_slice(t, c[TR_LK_STATE].child, lk->trace_state)) ||
            (rc = put_attrs(f, t, c[TR_LK_ATTR].child, &lk->attrs)))
            return rc;
    }
    if ((rc = colbuf_put_range(t, &c[TR_LK_TRACEID], l_t, sp->n_links)) ||
        (rc = colbuf_put_range(t, &c[TR_LK_SPANID], l_s, sp->n_links)) ||
        (rc = colbuf_put_range(t, &c[TR_LK_STATE], l_st, sp->n_links)) ||
        (rc = colbuf_put_range(t, &c[TR_LK_ATTR], l_a, sp->n_links)))
        return rc;
    return colbuf_row_done(t, ts);
}

/* Run a call that adds to a row (its shared fields, or the row itself). A failure leaves
 * a partial row in the table: the caller undoes the whole call with colbuf marks taken
 * before it (lake.c does), so a record is either entirely in the buffers or not at all. */
#define ROW_PART(f, t, call)                                                                \
    do {                                                                                    \
        int rc_ = (call);                                                                   \
        if (rc_) {                                                                          \
            cache_drop((f), (t));                                                           \
            return rc_;                                                                     \
        }                                                                                   \
    } while (0)

/* Run one row function and count the row. */
#define ROW(f, t, call)                                                                     \
    do {                                                                                    \
        ROW_PART(f, t, call);                                                               \
        (f)->rows++;                                                                        \
        (f)->rows_by_sig[(t)->schema->sig]++;                                               \
    } while (0)

static void begin(flatten_t *f)
{
    f->ncache = 0;
    f->next = 0;
    f->rows = 0;
    memset(f->rows_by_sig, 0, sizeof(f->rows_by_sig));
}

int flatten_traces(flatten_t *f, const otlp_traces_t *m)
{
    begin(f);
    for (size_t i = 0; i < m->n_resource_spans; i++) {
        const otlp_resource_spans_t *rs = &m->resource_spans[i];
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const otlp_scope_spans_t *ss = &rs->scope_spans[j];
            /* the spans of a scope mostly share one table (hour): its resource and
             * scope fields are looked up when the table changes, not for every span */
            colbuf_table_t *last = NULL;
            struct flatten_cache re, se;
            for (size_t k = 0; k < ss->n_spans; k++) {
                const otlp_span_t *sp = &ss->spans[k];
                int64_t ts = flatten_ts(sp->start_time_unix_nano);
                int rc;
                colbuf_table_t *t = get_table(f, LAKE_TRACES, ts, &rc);
                if (!t)
                    return rc;
                if (t != last) {
                    ROW_PART(f, t, resource_cached(f, t, &rs->resource, rs->schema_url,
                                                     &t->cols[TR_RATTR], &re));
                    ROW_PART(f, t, scope_cached(f, t, &ss->scope, ss->schema_url, NULL, &se));
                    last = t;
                }
                ROW(f, t, span_row(f, t, &re, &se, sp, ts));
            }
        }
    }
    return 0;
}

/* ---- logs ---------------------------------------------------------------------------------- */

static int log_row(flatten_t *f, colbuf_table_t *t, const otlp_resource_logs_t *rl,
                   const otlp_scope_logs_t *sl, const otlp_log_record_t *lr, int64_t ts)
{
    colbuf_col_t *c = t->cols;
    struct flatten_cache res, scp, *re = &res, *se = &scp;
    int rc = resource_cached(f, t, &rl->resource, rl->schema_url, &c[LG_RATTR], re);
    if (!rc)
        rc = scope_cached(f, t, &sl->scope, sl->schema_url, &c[LG_SATTR], se);
    if (rc)
        return rc;
    if ((rc = colbuf_put_i64(t, &c[LG_TS], ts)) ||
        (rc = colbuf_put_traceid(t, &c[LG_TRACEID], &lr->trace_id)) ||
        (rc = colbuf_put_spanid(t, &c[LG_SPANID], &lr->span_id)) ||
        (rc = colbuf_put_u8(t, &c[LG_FLAGS], (uint8_t)(lr->flags & 0xff))) ||
        (rc = put_slice(t, &c[LG_SEV_TEXT], lr->severity_text)) ||
        (rc = colbuf_put_i32(t, &c[LG_SEV_NUM], lr->severity_number)) ||
        (rc = colbuf_put_ref(t, &c[LG_SERVICE], re->s[0])) ||
        (rc = put_any(f, t, &c[LG_BODY], &lr->body)) ||
        (rc = colbuf_put_ref(t, &c[LG_RSCHEMA], re->s[1])) ||
        (rc = colbuf_put_range(t, &c[LG_RATTR], re->r[0].off, re->r[0].len)) ||
        (rc = colbuf_put_ref(t, &c[LG_SSCHEMA], se->s[2])) ||
        (rc = colbuf_put_ref(t, &c[LG_SCOPE_NAME], se->s[0])) ||
        (rc = colbuf_put_ref(t, &c[LG_SCOPE_VERSION], se->s[1])) ||
        (rc = colbuf_put_range(t, &c[LG_SATTR], se->r[0].off, se->r[0].len)) ||
        (rc = put_attrs(f, t, &c[LG_ATTR], &lr->attrs)) ||
        (rc = put_slice(t, &c[LG_EVENT_NAME], lr->event_name)))
        return rc;
    return colbuf_row_done(t, ts);
}

int flatten_logs(flatten_t *f, const otlp_logs_t *m)
{
    begin(f);
    for (size_t i = 0; i < m->n_resource_logs; i++) {
        const otlp_resource_logs_t *rl = &m->resource_logs[i];
        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            const otlp_scope_logs_t *sl = &rl->scope_logs[j];
            for (size_t k = 0; k < sl->n_log_records; k++) {
                const otlp_log_record_t *lr = &sl->log_records[k];
                uint64_t when = lr->time_unix_nano ? lr->time_unix_nano
                                                   : lr->observed_time_unix_nano;
                int64_t ts = flatten_ts(when);
                int rc;
                colbuf_table_t *t = get_table(f, LAKE_LOGS, ts, &rc);
                if (!t)
                    return rc;
                ROW(f, t, log_row(f, t, rl, sl, lr, ts));
            }
        }
    }
    return 0;
}

/* ---- metrics ------------------------------------------------------------------------------- */

struct mctx {
    const otlp_resource_metrics_t *rm;
    const otlp_scope_metrics_t *sm;
    const otlp_metric_t *m;
};

/* The columns every metrics table starts with. */
static int metric_head(flatten_t *f, colbuf_table_t *t, const struct mctx *x,
                       const otlp_attrs_t *attrs, uint64_t start, int64_t ts)
{
    colbuf_col_t *c = t->cols;
    struct flatten_cache res, scp, met, *re = &res, *se = &scp, *me = &met;
    int rc = resource_cached(f, t, &x->rm->resource, x->rm->schema_url, &c[MH_RATTR], re);
    if (!rc)
        rc = scope_cached(f, t, &x->sm->scope, x->sm->schema_url, &c[MH_SATTR], se);
    if (rc)
        return rc;
    /* metric name/description/unit once per table and metric */
    struct flatten_cache *e = cache_get(f, t, x->m);
    if (!e) {
        slice_t s[3];
        if ((rc = colbuf_strdup(t, x->m->name.p, x->m->name.len, &s[0])) ||
            (rc = colbuf_strdup(t, x->m->description.p, x->m->description.len, &s[1])) ||
            (rc = colbuf_strdup(t, x->m->unit.p, x->m->unit.len, &s[2])))
            return rc;
        e = cache_put(f, t, x->m);
        memcpy(e->s, s, sizeof(s));
    }
    met = *e;
    if ((rc = colbuf_put_range(t, &c[MH_RATTR], re->r[0].off, re->r[0].len)) ||
        (rc = colbuf_put_ref(t, &c[MH_RSCHEMA], re->s[1])) ||
        (rc = colbuf_put_ref(t, &c[MH_SCOPE_NAME], se->s[0])) ||
        (rc = colbuf_put_ref(t, &c[MH_SCOPE_VERSION], se->s[1])) ||
        (rc = colbuf_put_range(t, &c[MH_SATTR], se->r[0].off, se->r[0].len)) ||
        (rc = colbuf_put_u32(t, &c[MH_SDROPPED], x->sm->scope.dropped_attributes_count)) ||
        (rc = colbuf_put_ref(t, &c[MH_SSCHEMA], se->s[2])) ||
        (rc = colbuf_put_ref(t, &c[MH_SERVICE], re->s[0])) ||
        (rc = colbuf_put_ref(t, &c[MH_NAME], me->s[0])) ||
        (rc = colbuf_put_ref(t, &c[MH_DESC], me->s[1])) ||
        (rc = colbuf_put_ref(t, &c[MH_UNIT], me->s[2])) ||
        (rc = put_attrs(f, t, &c[MH_ATTR], attrs)) ||
        (rc = colbuf_put_i64(t, &c[MH_START], flatten_ts(start))) ||
        (rc = colbuf_put_i64(t, &c[MH_TIME], ts)))
        return rc;
    return 0;
}

/* Exemplars.* (five parallel lists) starting at column ex0. */
static int exemplars(flatten_t *f, colbuf_table_t *t, int ex0, const otlp_exemplars_t *e)
{
    colbuf_col_t *c = &t->cols[ex0];
    size_t s0 = c[0].child->n, s1 = c[1].child->n, s2 = c[2].child->n, s3 = c[3].child->n,
           s4 = c[4].child->n;
    int rc;
    for (size_t i = 0; i < e->n; i++) {
        const otlp_exemplar_t *x = &e->v[i];
        double v = x->is_int ? (double)x->as_int : x->as_double;
        if ((rc = put_attrs(f, t, c[0].child, &x->filtered_attrs)) ||
            (rc = colbuf_put_i64(t, c[1].child, flatten_ts(x->time_unix_nano))) ||
            (rc = colbuf_put_f64(t, c[2].child, v)) ||
            (rc = colbuf_put_spanid(t, c[3].child, &x->span_id)) ||
            (rc = colbuf_put_traceid(t, c[4].child, &x->trace_id)))
            return rc;
    }
    if ((rc = colbuf_put_range(t, &c[0], s0, e->n)) || (rc = colbuf_put_range(t, &c[1], s1, e->n)) ||
        (rc = colbuf_put_range(t, &c[2], s2, e->n)) || (rc = colbuf_put_range(t, &c[3], s3, e->n)) ||
        (rc = colbuf_put_range(t, &c[4], s4, e->n)))
        return rc;
    return 0;
}

static int u64_list(colbuf_table_t *t, colbuf_col_t *c, const otlp_u64s_t *a)
{
    size_t s = c->child->n;
    for (size_t i = 0; i < a->n; i++) {
        int rc = colbuf_put_u64(t, c->child, a->v[i]);
        if (rc)
            return rc;
    }
    return colbuf_put_range(t, c, s, a->n);
}

static int f64_list(colbuf_table_t *t, colbuf_col_t *c, const double *v, size_t n, size_t stride)
{
    size_t s = c->child->n;
    for (size_t i = 0; i < n; i++) {
        int rc = colbuf_put_f64(t, c->child, *(const double *)((const char *)v + i * stride));
        if (rc)
            return rc;
    }
    return colbuf_put_range(t, c, s, n);
}

static int number_row(flatten_t *f, colbuf_table_t *t, const struct mctx *x,
                      const otlp_number_dp_t *p, int64_t ts)
{
    colbuf_col_t *c = t->cols;
    int rc = metric_head(f, t, x, &p->attrs, p->start_time_unix_nano, ts);
    double v = p->is_int ? (double)p->as_int : p->as_double;
    if (rc || (rc = colbuf_put_f64(t, &c[NB_VALUE], v)) ||
        (rc = colbuf_put_u32(t, &c[NB_FLAGS], p->flags)) ||
        (rc = exemplars(f, t, NB_EX0, &p->exemplars)))
        return rc;
    if (x->m->type == OTLP_METRIC_SUM &&
        ((rc = colbuf_put_i32(t, &c[NB_TEMPORALITY], x->m->temporality)) ||
         (rc = colbuf_put_u8(t, &c[NB_MONOTONIC], x->m->is_monotonic ? 1 : 0))))
        return rc;
    return colbuf_row_done(t, ts);
}

static int histogram_row(flatten_t *f, colbuf_table_t *t, const struct mctx *x,
                         const otlp_histogram_dp_t *p, int64_t ts)
{
    colbuf_col_t *c = t->cols;
    int rc = metric_head(f, t, x, &p->attrs, p->start_time_unix_nano, ts);
    if (rc || (rc = colbuf_put_u64(t, &c[HI_COUNT], p->count)) ||
        (rc = colbuf_put_f64(t, &c[HI_SUM], p->has_sum ? p->sum : 0)) ||
        (rc = u64_list(t, &c[HI_BUCKETS], &p->bucket_counts)) ||
        (rc = f64_list(t, &c[HI_BOUNDS], p->explicit_bounds.v, p->explicit_bounds.n,
                       sizeof(double))) ||
        (rc = exemplars(f, t, HI_EX0, &p->exemplars)) ||
        (rc = colbuf_put_u32(t, &c[HI_FLAGS], p->flags)) ||
        (rc = colbuf_put_f64(t, &c[HI_MIN], p->has_min ? p->min : 0)) ||
        (rc = colbuf_put_f64(t, &c[HI_MAX], p->has_max ? p->max : 0)) ||
        (rc = colbuf_put_i32(t, &c[HI_TEMPORALITY], x->m->temporality)))
        return rc;
    return colbuf_row_done(t, ts);
}

static int exp_histogram_row(flatten_t *f, colbuf_table_t *t, const struct mctx *x,
                             const otlp_exp_histogram_dp_t *p, int64_t ts)
{
    colbuf_col_t *c = t->cols;
    int rc = metric_head(f, t, x, &p->attrs, p->start_time_unix_nano, ts);
    if (rc || (rc = colbuf_put_u64(t, &c[EH_COUNT], p->count)) ||
        (rc = colbuf_put_f64(t, &c[EH_SUM], p->has_sum ? p->sum : 0)) ||
        (rc = colbuf_put_i32(t, &c[EH_SCALE], p->scale)) ||
        (rc = colbuf_put_u64(t, &c[EH_ZERO], p->zero_count)) ||
        (rc = colbuf_put_i32(t, &c[EH_POS_OFF], p->positive.offset)) ||
        (rc = u64_list(t, &c[EH_POS], &p->positive.bucket_counts)) ||
        (rc = colbuf_put_i32(t, &c[EH_NEG_OFF], p->negative.offset)) ||
        (rc = u64_list(t, &c[EH_NEG], &p->negative.bucket_counts)) ||
        (rc = exemplars(f, t, EH_EX0, &p->exemplars)) ||
        (rc = colbuf_put_u32(t, &c[EH_FLAGS], p->flags)) ||
        (rc = colbuf_put_f64(t, &c[EH_MIN], p->has_min ? p->min : 0)) ||
        (rc = colbuf_put_f64(t, &c[EH_MAX], p->has_max ? p->max : 0)) ||
        (rc = colbuf_put_i32(t, &c[EH_TEMPORALITY], x->m->temporality)))
        return rc;
    return colbuf_row_done(t, ts);
}

static int summary_row(flatten_t *f, colbuf_table_t *t, const struct mctx *x,
                       const otlp_summary_dp_t *p, int64_t ts)
{
    colbuf_col_t *c = t->cols;
    int rc = metric_head(f, t, x, &p->attrs, p->start_time_unix_nano, ts);
    if (rc || (rc = colbuf_put_u64(t, &c[SU_COUNT], p->count)) ||
        (rc = colbuf_put_f64(t, &c[SU_SUM], p->sum)) ||
        (rc = f64_list(t, &c[SU_Q], p->quantiles ? &p->quantiles[0].quantile : NULL,
                       p->n_quantiles, sizeof(otlp_quantile_t))) ||
        (rc = f64_list(t, &c[SU_V], p->quantiles ? &p->quantiles[0].value : NULL,
                       p->n_quantiles, sizeof(otlp_quantile_t))) ||
        (rc = colbuf_put_u32(t, &c[SU_FLAGS], p->flags)))
        return rc;
    return colbuf_row_done(t, ts);
}

static int metric_rows(flatten_t *f, const struct mctx *x)
{
    const otlp_metric_t *m = x->m;
    int rc;
    switch (m->type) {
    case OTLP_METRIC_GAUGE:
    case OTLP_METRIC_SUM: {
        int sig = m->type == OTLP_METRIC_GAUGE ? LAKE_METRICS_GAUGE : LAKE_METRICS_SUM;
        for (size_t i = 0; i < m->points.number.n; i++) {
            const otlp_number_dp_t *p = &m->points.number.v[i];
            int64_t ts = flatten_ts(p->time_unix_nano);
            colbuf_table_t *t = get_table(f, sig, ts, &rc);
            if (!t)
                return rc;
            ROW(f, t, number_row(f, t, x, p, ts));
        }
        return 0;
    }
    case OTLP_METRIC_HISTOGRAM:
        for (size_t i = 0; i < m->points.histogram.n; i++) {
            const otlp_histogram_dp_t *p = &m->points.histogram.v[i];
            int64_t ts = flatten_ts(p->time_unix_nano);
            colbuf_table_t *t = get_table(f, LAKE_METRICS_HISTOGRAM, ts, &rc);
            if (!t)
                return rc;
            ROW(f, t, histogram_row(f, t, x, p, ts));
        }
        return 0;
    case OTLP_METRIC_EXP_HISTOGRAM:
        for (size_t i = 0; i < m->points.exp_histogram.n; i++) {
            const otlp_exp_histogram_dp_t *p = &m->points.exp_histogram.v[i];
            int64_t ts = flatten_ts(p->time_unix_nano);
            colbuf_table_t *t = get_table(f, LAKE_METRICS_EXP_HISTOGRAM, ts, &rc);
            if (!t)
                return rc;
            ROW(f, t, exp_histogram_row(f, t, x, p, ts));
        }
        return 0;
    case OTLP_METRIC_SUMMARY:
        for (size_t i = 0; i < m->points.summary.n; i++) {
            const otlp_summary_dp_t *p = &m->points.summary.v[i];
            int64_t ts = flatten_ts(p->time_unix_nano);
            colbuf_table_t *t = get_table(f, LAKE_METRICS_SUMMARY, ts, &rc);
            if (!t)
                return rc;
            ROW(f, t, summary_row(f, t, x, p, ts));
        }
        return 0;
    default:
        return 0; /* a metric without points has no rows */
    }
}

int flatten_metrics(flatten_t *f, const otlp_metrics_t *m)
{
    begin(f);
    for (size_t i = 0; i < m->n_resource_metrics; i++) {
        const otlp_resource_metrics_t *rm = &m->resource_metrics[i];
        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            const otlp_scope_metrics_t *sm = &rm->scope_metrics[j];
            for (size_t k = 0; k < sm->n_metrics; k++) {
                struct mctx x = {rm, sm, &sm->metrics[k]};
                int rc = metric_rows(f, &x);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}
