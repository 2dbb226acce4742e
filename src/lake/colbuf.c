/*
 * colbuf.c — columnar buffers for the lake (see colbuf.h): the seven table schemas, typed
 * append-only columns, a string heap, and the transfer of rows into DuckDB vectors.
 *
 * Column names and types follow the OpenTelemetry Collector ClickHouse exporter's tables
 * (otel_traces, otel_logs, otel_metrics_*), with Nested columns flattened into parallel
 * LIST columns named "Events.Timestamp", "Events.Name", ... exactly as ClickHouse names
 * them. Differences (documented in docs/internals/lake.md): timestamps are TIMESTAMP_NS,
 * Duration is signed BIGINT, SeverityNumber is INTEGER (open enum values survive).
 */
#include "lake/colbuf.h"

#include "core/alloc.h"
#include "core/err.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

/* ---- schemas ------------------------------------------------------------------------- */

#define COL(n, k) {n, k, 0}
#define LIST(n, e) {n, CB_LIST, e}

static const colbuf_coldef_t traces_cols[] = {
    COL("Timestamp", CB_TS),
    COL("TraceId", CB_TRACEID),
    COL("SpanId", CB_SPANID),
    COL("ParentSpanId", CB_SPANID),
    COL("TraceState", CB_STR),
    COL("SpanName", CB_STR),
    COL("SpanKind", CB_SPANKIND),
    COL("ServiceName", CB_STR),
    COL("ResourceAttributes", CB_MAP),
    COL("ScopeName", CB_STR),
    COL("ScopeVersion", CB_STR),
    COL("SpanAttributes", CB_MAP),
    COL("Duration", CB_I64),
    COL("StatusCode", CB_STATUS),
    COL("StatusMessage", CB_STR),
    LIST("Events.Timestamp", CB_TS),
    LIST("Events.Name", CB_STR),
    LIST("Events.Attributes", CB_MAP),
    LIST("Links.TraceId", CB_TRACEID),
    LIST("Links.SpanId", CB_SPANID),
    LIST("Links.TraceState", CB_STR),
    LIST("Links.Attributes", CB_MAP),
};

static const colbuf_coldef_t logs_cols[] = {
    COL("Timestamp", CB_TS),
    COL("TraceId", CB_TRACEID),
    COL("SpanId", CB_SPANID),
    COL("TraceFlags", CB_U8),
    COL("SeverityText", CB_STR),
    COL("SeverityNumber", CB_I32),
    COL("ServiceName", CB_STR),
    COL("Body", CB_STR),
    COL("ResourceSchemaUrl", CB_STR),
    COL("ResourceAttributes", CB_MAP),
    COL("ScopeSchemaUrl", CB_STR),
    COL("ScopeName", CB_STR),
    COL("ScopeVersion", CB_STR),
    COL("ScopeAttributes", CB_MAP),
    COL("LogAttributes", CB_MAP),
    COL("EventName", CB_STR),
};

/* Columns every metrics table starts with, in the exporter's order. */
#define METRIC_HEAD                                                                         \
    COL("ResourceAttributes", CB_MAP), COL("ResourceSchemaUrl", CB_STR),                    \
        COL("ScopeName", CB_STR), COL("ScopeVersion", CB_STR),                              \
        COL("ScopeAttributes", CB_MAP), COL("ScopeDroppedAttrCount", CB_U32),               \
        COL("ScopeSchemaUrl", CB_STR), COL("ServiceName", CB_STR),                          \
        COL("MetricName", CB_STR), COL("MetricDescription", CB_STR),                        \
        COL("MetricUnit", CB_STR), COL("Attributes", CB_MAP),                               \
        COL("StartTimeUnix", CB_TS), COL("TimeUnix", CB_TS)

#define EXEMPLARS                                                                           \
    LIST("Exemplars.FilteredAttributes", CB_MAP), LIST("Exemplars.TimeUnix", CB_TS),        \
        LIST("Exemplars.Value", CB_F64), LIST("Exemplars.SpanId", CB_SPANID),               \
        LIST("Exemplars.TraceId", CB_TRACEID)

static const colbuf_coldef_t gauge_cols[] = {
    METRIC_HEAD, COL("Value", CB_F64), COL("Flags", CB_U32), EXEMPLARS,
};

static const colbuf_coldef_t sum_cols[] = {
    METRIC_HEAD,
    COL("Value", CB_F64),
    COL("Flags", CB_U32),
    EXEMPLARS,
    COL("AggregationTemporality", CB_I32),
    COL("IsMonotonic", CB_BOOL),
};

static const colbuf_coldef_t histogram_cols[] = {
    METRIC_HEAD,
    COL("Count", CB_U64),
    COL("Sum", CB_F64),
    LIST("BucketCounts", CB_U64),
    LIST("ExplicitBounds", CB_F64),
    EXEMPLARS,
    COL("Flags", CB_U32),
    COL("Min", CB_F64),
    COL("Max", CB_F64),
    COL("AggregationTemporality", CB_I32),
};

static const colbuf_coldef_t exp_histogram_cols[] = {
    METRIC_HEAD,
    COL("Count", CB_U64),
    COL("Sum", CB_F64),
    COL("Scale", CB_I32),
    COL("ZeroCount", CB_U64),
    COL("PositiveOffset", CB_I32),
    LIST("PositiveBucketCounts", CB_U64),
    COL("NegativeOffset", CB_I32),
    LIST("NegativeBucketCounts", CB_U64),
    EXEMPLARS,
    COL("Flags", CB_U32),
    COL("Min", CB_F64),
    COL("Max", CB_F64),
    COL("AggregationTemporality", CB_I32),
};

static const colbuf_coldef_t summary_cols[] = {
    METRIC_HEAD,
    COL("Count", CB_U64),
    COL("Sum", CB_F64),
    LIST("ValueAtQuantiles.Quantile", CB_F64),
    LIST("ValueAtQuantiles.Value", CB_F64),
    COL("Flags", CB_U32),
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))
#define METRIC_ORDER "ServiceName, MetricName, TimeUnix"
#define METRIC_SORT {"ServiceName", "MetricName", "TimeUnix", NULL}

static const colbuf_schema_t schemas[LAKE_SIG_COUNT] = {
    /* Traces by trace id (then time), not by the exporter's ServiceName, SpanName: a
     * file's row groups then cover disjoint trace-id ranges, so the min/max statistics of
     * TraceId let a lookup by id read one row group of the one file the catalog's Bloom
     * filter picked (docs/internals/lake.md, "Sort order"). */
    {LAKE_TRACES, NCOLS(traces_cols), traces_cols, "TraceId, \"Timestamp\"",
     "Timestamp", {"TraceId", "Timestamp", NULL, NULL}, 1},
    {LAKE_LOGS, NCOLS(logs_cols), logs_cols, "ServiceName, \"Timestamp\"",
     "Timestamp", {"ServiceName", "Timestamp", NULL, NULL}, 1},
    {LAKE_METRICS_GAUGE, NCOLS(gauge_cols), gauge_cols, METRIC_ORDER, "TimeUnix", METRIC_SORT, 1},
    {LAKE_METRICS_SUM, NCOLS(sum_cols), sum_cols, METRIC_ORDER, "TimeUnix", METRIC_SORT, 1},
    {LAKE_METRICS_HISTOGRAM, NCOLS(histogram_cols), histogram_cols, METRIC_ORDER, "TimeUnix", METRIC_SORT, 1},
    {LAKE_METRICS_EXP_HISTOGRAM, NCOLS(exp_histogram_cols), exp_histogram_cols, METRIC_ORDER,
     "TimeUnix", METRIC_SORT, 1},
    {LAKE_METRICS_SUMMARY, NCOLS(summary_cols), summary_cols, METRIC_ORDER, "TimeUnix", METRIC_SORT, 1},
};

static const char *const sig_names[LAKE_SIG_COUNT] = {
    "traces",        "logs",
    "metrics_gauge", "metrics_sum",
    "metrics_histogram", "metrics_exponential_histogram",
    "metrics_summary",
};

const char *colbuf_sig_name(int sig)
{
    return (sig >= 0 && sig < LAKE_SIG_COUNT) ? sig_names[sig] : NULL;
}

int colbuf_sig_parse(const char *name)
{
    for (int i = 0; name && i < LAKE_SIG_COUNT; i++)
        if (strcmp(name, sig_names[i]) == 0)
            return i;
    return -1;
}

const colbuf_schema_t *colbuf_schema(int sig)
{
    return (sig >= 0 && sig < LAKE_SIG_COUNT) ? &schemas[sig] : NULL;
}

int colbuf_col_index(const colbuf_schema_t *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- tables -------------------------------------------------------------------------- */

/* Heap blocks: most strings are short, so they are packed without alignment into
 * blocks; a string larger than a block gets a block of its own. */
#define COLBUF_HEAP_BLOCK (256u * 1024u)

struct colbuf_block {
    struct colbuf_block *next;
    size_t size;
    uint8_t data[];
};

static uint8_t kind_width(uint8_t k)
{
    switch (k) {
    case CB_TS:
    case CB_I64:
    case CB_U64:
    case CB_F64:
        return 8;
    case CB_I32:
    case CB_U32:
    case CB_SPANKIND:
    case CB_STATUS:
        return 4;
    case CB_U8:
    case CB_BOOL:
        return 1;
    case CB_STR:
        return (uint8_t)sizeof(colbuf_str_t);
    case CB_TRACEID:
        return (uint8_t)sizeof(otlp_trace_id_t);
    case CB_SPANID:
        return (uint8_t)sizeof(otlp_span_id_t);
    case CB_MAP:
    case CB_LIST:
        return (uint8_t)sizeof(colbuf_range_t);
    }
    return 0;
}

/* ---- interning (colbuf_put_istr) ---------------------------------------------------------
 *
 * One open-addressing table per STR column: slots hold a string's hash (0 = empty),
 * length, first and last 8 bytes and where its bytes are (struct intern_slot). It is
 * bounded (INTERN_MAX_SLOTS, at most half full) and switches itself off for the rest of
 * the table's life when fewer than half of the first INTERN_DECIDE lookups hit: a column
 * of unique ids then costs one hash per value for a while, not forever. */
#define INTERN_MIN_SLOTS 256u
#define INTERN_MAX_SLOTS 16384u
#define INTERN_DECIDE 4096u
_Static_assert(INTERN_MAX_SLOTS / 2 <= UINT16_MAX, "intern ids are 16-bit");

/* A slot: the string's hash (0 = empty), length, its first and last 8 bytes
 * (colbuf_words16: for up to 16 bytes they determine it, so a hit reads no heap), and
 * where its bytes are. One 32-byte load per probe. */
struct intern_slot {
    uint32_t hash;
    uint16_t len; /* <= COLBUF_INTERN_MAX_LEN */
    uint16_t id;  /* colbuf_str_t.id: 1.. (at most INTERN_MAX_SLOTS / 2 strings) */
    uint64_t w0, w1;
    const uint8_t *p;
};

/* colbuf_put_istr reads hash and len as the low 48 bits of the slot's first word */
_Static_assert(offsetof(struct intern_slot, hash) == 0 && offsetof(struct intern_slot, len) == 4,
               "intern_slot layout");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian intern probe");

struct colbuf_intern {
    struct intern_slot *slot;
    size_t nslots, used;
    uint64_t lookups, hits;
    int off;
};

static uint32_t intern_hash(const uint8_t *p, size_t n, uint64_t *w0, uint64_t *w1)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n, a, b;
    if (n > 16) {
        /* long strings: every 8-byte word, then the last 16 bytes below */
        for (size_t i = 0; i + 16 < n; i += 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            h = (h ^ w) * 0xff51afd7ed558ccdull;
            h ^= h >> 32;
        }
        colbuf_words16(p + n - 16, 16, &a, &b);
        colbuf_words16(p, n, w0, w1); /* the first and last 8 bytes */
    } else {
        colbuf_words16(p, n, &a, &b);
        *w0 = a;
        *w1 = b;
    }
    h = (h ^ a) * 0xff51afd7ed558ccdull;
    h = (h ^ (h >> 29) ^ b) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 32;
    uint32_t r = (uint32_t)h;
    return r ? r : 1;
}

static void intern_free(struct colbuf_intern *in)
{
    if (!in)
        return;
    orasi_free(in->slot);
    orasi_free(in);
}

/* Put a slot in a free place; the caller guarantees there is one. */
static void intern_insert(struct colbuf_intern *in, const struct intern_slot *x)
{
    size_t mask = in->nslots - 1, i = x->hash & mask;
    while (in->slot[i].hash)
        i = (i + 1) & mask;
    in->slot[i] = *x;
    in->used++;
}

static int intern_resize(struct colbuf_intern *in, size_t nslots)
{
    struct intern_slot *os = in->slot;
    size_t on = in->nslots;
    struct intern_slot *ns = orasi_calloc(nslots, sizeof(*ns));
    if (!ns)
        return ORASI_ENOMEM;
    in->slot = ns;
    in->nslots = nslots;
    in->used = 0;
    for (size_t i = 0; i < on; i++)
        if (os[i].hash)
            intern_insert(in, &os[i]);
    orasi_free(os);
    return 0;
}

static void intern_reset(struct colbuf_intern *in)
{
    if (!in)
        return;
    if (in->slot)
        memset(in->slot, 0, in->nslots * sizeof(*in->slot));
    in->used = 0;
    in->lookups = in->hits = 0;
    in->off = 0;
}

static void col_free(colbuf_col_t *c)
{
    if (!c)
        return;
    intern_free(c->intern);
    orasi_free(c->v);
    col_free(c->child);
    col_free(c->child2);
    orasi_free(c->child);
    orasi_free(c->child2);
}

static colbuf_col_t *col_new(uint8_t kind)
{
    colbuf_col_t *c = orasi_calloc(1, sizeof(*c));
    if (c) {
        c->kind = kind;
        c->width = kind_width(kind);
    }
    return c;
}

/* Set up column `c` of kind `kind` (elem for LIST) with its children. */
static int col_init(colbuf_col_t *c, uint8_t kind, uint8_t elem)
{
    c->kind = kind;
    c->width = kind_width(kind);
    if (kind == CB_MAP) {
        c->child = col_new(CB_STR);
        c->child2 = col_new(CB_STR);
        if (!c->child || !c->child2)
            return ORASI_ENOMEM;
    } else if (kind == CB_LIST) {
        c->child = col_new(elem);
        if (!c->child)
            return ORASI_ENOMEM;
        if (elem == CB_MAP) {
            c->child->child = col_new(CB_STR);
            c->child->child2 = col_new(CB_STR);
            if (!c->child->child || !c->child->child2)
                return ORASI_ENOMEM;
        }
    }
    return 0;
}

colbuf_table_t *colbuf_table_create(int sig, size_t max_bytes)
{
    const colbuf_schema_t *s = colbuf_schema(sig);
    if (!s)
        return NULL;
    colbuf_table_t *t = orasi_calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->schema = s;
    t->max_bytes = max_bytes ? max_bytes : ((size_t)4 << 30);
    t->min_ts = INT64_MAX;
    t->max_ts = INT64_MIN;
    t->cols = orasi_calloc(s->ncols, sizeof(*t->cols));
    if (!t->cols)
        goto fail;
    for (size_t i = 0; i < s->ncols; i++)
        if (col_init(&t->cols[i], s->cols[i].kind, s->cols[i].elem))
            goto fail;
    return t;
fail:
    colbuf_table_destroy(t);
    return NULL;
}

void colbuf_table_destroy(colbuf_table_t *t)
{
    if (!t)
        return;
    if (t->cols)
        for (size_t i = 0; i < t->schema->ncols; i++)
            col_free(&t->cols[i]);
    orasi_free(t->cols);
    for (int k = 0; k < 2; k++) {
        struct colbuf_block *b = k ? t->spare : t->blocks;
        while (b) {
            struct colbuf_block *next = b->next;
            orasi_free(b);
            b = next;
        }
    }
    orasi_free(t->memo);
    orasi_free(t);
}

static void col_reset(colbuf_col_t *c)
{
    if (!c)
        return;
    c->n = 0;
    c->acct = 0;
    c->nids = 0;
    intern_reset(c->intern);
    col_reset(c->child);
    col_reset(c->child2);
}

/* Forget every memo entry (they point at rows that are going away). */
static void memo_clear(colbuf_table_t *t)
{
    if (t->memo)
        memset(t->memo, 0, COLBUF_MEMO_SLOTS * sizeof(*t->memo));
}

void colbuf_table_reset(colbuf_table_t *t)
{
    for (size_t i = 0; i < t->schema->ncols; i++)
        col_reset(&t->cols[i]);
    /* standard blocks become spares; a big string's private block is freed */
    struct colbuf_block *b = t->blocks;
    while (b) {
        struct colbuf_block *next = b->next;
        if (b->size == COLBUF_HEAP_BLOCK) {
            b->next = t->spare;
            t->spare = b;
        } else {
            orasi_free(b);
        }
        b = next;
    }
    t->blocks = NULL;
    t->block_used = 0;
    t->rows = 0;
    t->heap_bytes = 0;
    t->array_bytes = 0;
    t->min_ts = INT64_MAX;
    t->max_ts = INT64_MIN;
    memo_clear(t);
}

static size_t col_capacity(const colbuf_col_t *c)
{
    if (!c)
        return 0;
    size_t n = c->cap * c->width + col_capacity(c->child) + col_capacity(c->child2);
    if (c->intern)
        n += c->intern->nslots * sizeof(struct intern_slot);
    return n;
}

size_t colbuf_table_capacity(const colbuf_table_t *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->schema->ncols; i++)
        n += col_capacity(&t->cols[i]);
    if (t->memo)
        n += COLBUF_MEMO_SLOTS * sizeof(*t->memo);
    for (int k = 0; k < 2; k++)
        for (const struct colbuf_block *b = k ? t->spare : t->blocks; b; b = b->next)
            n += b->size;
    return n;
}

/* Make room for one more entry in c. Arrays double; the table's byte cap applies. */
static int col_grow(colbuf_table_t *t, colbuf_col_t *c)
{
    if (c->n < c->acct)
        return 0;
    if (c->acct < c->cap) {
        /* a recycled array: count it again, doubling as if it were allocated now */
        size_t na = c->acct ? c->acct * 2 : 256;
        if (na > c->cap)
            na = c->cap;
        size_t add = (na - c->acct) * c->width;
        if (colbuf_table_bytes(t) + add > t->max_bytes)
            return ORASI_ETOOBIG;
        t->array_bytes += add;
        c->acct = na;
        return 0;
    }
    size_t ncap = c->cap ? c->cap * 2 : 256;
    if (c->kind == CB_STR || c->kind == CB_MAP || c->kind == CB_LIST || c->kind == CB_TRACEID ||
        c->kind == CB_SPANID) {
        /* child ranges are 32-bit */
        if (ncap > UINT32_MAX)
            ncap = UINT32_MAX;
        if (c->n >= UINT32_MAX)
            return ORASI_ETOOBIG;
    }
    size_t add = (ncap - c->cap) * c->width;
    if (colbuf_table_bytes(t) + add > t->max_bytes)
        return ORASI_ETOOBIG;
    void *nv = orasi_realloc(c->v, ncap * c->width);
    if (!nv)
        return ORASI_ENOMEM;
    c->v = nv;
    c->cap = ncap;
    c->acct = ncap;
    t->array_bytes += add;
    return 0;
}

int colbuf_strdup(colbuf_table_t *t, const void *p, size_t len, slice_t *out)
{
    if (len == 0) {
        *out = (slice_t){(const uint8_t *)"", 0};
        return 0;
    }
    if (len > UINT32_MAX)
        return ORASI_ETOOBIG;
    struct colbuf_block *b = t->blocks;
    if (!b || b->size - t->block_used < len) {
        size_t size = len > COLBUF_HEAP_BLOCK / 4 ? len : COLBUF_HEAP_BLOCK;
        if (colbuf_table_bytes(t) + size > t->max_bytes)
            return ORASI_ETOOBIG;
        struct colbuf_block *nb;
        if (size == COLBUF_HEAP_BLOCK && t->spare) {
            nb = t->spare; /* a recycled table's block: already paged in */
            t->spare = nb->next;
        } else {
            nb = orasi_malloc(sizeof(*nb) + size);
            if (!nb)
                return ORASI_ENOMEM;
        }
        nb->size = size;
        t->heap_bytes += size;
        if (size != COLBUF_HEAP_BLOCK && b) {
            /* A big string gets a private block linked behind the current one, so the
             * current block keeps filling. */
            nb->next = b->next;
            b->next = nb;
            memcpy(nb->data, p, len);
            *out = (slice_t){nb->data, len};
            return 0;
        }
        nb->next = b;
        t->blocks = nb;
        t->block_used = 0;
        b = nb;
    }
    uint8_t *dst = b->data + t->block_used;
    memcpy(dst, p, len);
    t->block_used += len;
    *out = (slice_t){dst, len};
    return 0;
}

#define PUT(type, expr)                                                                     \
    do {                                                                                    \
        int rc_ = col_grow(t, c);                                                           \
        if (rc_)                                                                            \
            return rc_;                                                                     \
        ((type *)c->v)[c->n++] = (expr);                                                    \
        return 0;                                                                           \
    } while (0)

int colbuf_put_i64(colbuf_table_t *t, colbuf_col_t *c, int64_t v)
{
    PUT(int64_t, v);
}
int colbuf_put_u64(colbuf_table_t *t, colbuf_col_t *c, uint64_t v)
{
    PUT(uint64_t, v);
}
int colbuf_put_i32(colbuf_table_t *t, colbuf_col_t *c, int32_t v)
{
    PUT(int32_t, v);
}
int colbuf_put_u32(colbuf_table_t *t, colbuf_col_t *c, uint32_t v)
{
    PUT(uint32_t, v);
}
int colbuf_put_u8(colbuf_table_t *t, colbuf_col_t *c, uint8_t v)
{
    PUT(uint8_t, v);
}
int colbuf_put_f64(colbuf_table_t *t, colbuf_col_t *c, double v)
{
    PUT(double, v);
}
int colbuf_put_ref(colbuf_table_t *t, colbuf_col_t *c, slice_t s)
{
    if (s.len > UINT32_MAX)
        return ORASI_ETOOBIG;
    PUT(colbuf_str_t, ((colbuf_str_t){s.p, (uint32_t)s.len, 0}));
}

int colbuf_put_again(colbuf_table_t *t, colbuf_col_t *c, size_t i)
{
    if (i >= c->n)
        return ORASI_EINVAL;
    int rc = col_grow(t, c);
    if (rc)
        return rc;
    colbuf_str_t *v = c->v;
    v[c->n] = v[i];
    c->n++;
    return 0;
}
int colbuf_put_traceid(colbuf_table_t *t, colbuf_col_t *c, const otlp_trace_id_t *id)
{
    PUT(otlp_trace_id_t, *id);
}
int colbuf_put_spanid(colbuf_table_t *t, colbuf_col_t *c, const otlp_span_id_t *id)
{
    PUT(otlp_span_id_t, *id);
}

int colbuf_put_str(colbuf_table_t *t, colbuf_col_t *c, const void *p, size_t len)
{
    slice_t s;
    int rc = col_grow(t, c);
    if (rc)
        return rc;
    rc = colbuf_strdup(t, p, len, &s);
    if (rc)
        return rc;
    ((colbuf_str_t *)c->v)[c->n++] = (colbuf_str_t){s.p, (uint32_t)s.len, 0};
    return 0;
}

int colbuf_put_istr(colbuf_table_t *t, colbuf_col_t *c, const void *p, size_t len)
{
    struct colbuf_intern *in = c->intern;
    if (len == 0 || len > COLBUF_INTERN_MAX_LEN || c->kind != CB_STR || (in && in->off))
        return colbuf_put_str(t, c, p, len);
    if (!in) {
        /* interning only saves work: without memory for it, copy */
        in = orasi_calloc(1, sizeof(*in));
        if (!in || intern_resize(in, INTERN_MIN_SLOTS)) {
            intern_free(in);
            return colbuf_put_str(t, c, p, len);
        }
        c->intern = in;
    }
    int rc = col_grow(t, c);
    if (rc)
        return rc;
    if (!in->nslots && intern_resize(in, INTERN_MIN_SLOTS))
        return colbuf_put_str(t, c, p, len);
    struct intern_slot x;
    x.hash = intern_hash(p, len, &x.w0, &x.w1);
    x.len = (uint16_t)len;
    x.id = 0;
    size_t mask = in->nslots - 1;
    in->lookups++;
    /* hash and length compared as one 64-bit word built in a register (a word assembled
     * from x's fields on the stack would be a store-forwarding stall at every probe) */
    const uint64_t hl = (uint64_t)x.hash | (uint64_t)x.len << 32;
    for (size_t i = x.hash & mask; in->slot[i].hash; i = (i + 1) & mask) {
        const struct intern_slot *e = &in->slot[i];
        uint64_t ehl;
        memcpy(&ehl, e, sizeof(ehl));
        if ((ehl & 0xffffffffffffull) == hl && e->w0 == x.w0 && e->w1 == x.w1 &&
            (len <= 16 || memcmp(e->p, p, len) == 0)) {
            in->hits++;
            ((colbuf_str_t *)c->v)[c->n++] = (colbuf_str_t){e->p, (uint32_t)len, e->id};
            return 0;
        }
    }
    slice_t sl;
    rc = colbuf_strdup(t, p, len, &sl);
    if (rc)
        return rc;
    x.p = sl.p;
    if ((in->used + 1) * 2 > in->nslots && in->nslots < INTERN_MAX_SLOTS)
        (void)intern_resize(in, in->nslots * 2); /* on failure the table just stays full */
    if ((in->used + 1) * 2 <= in->nslots) {
        x.id = (uint16_t)++c->nids;
        intern_insert(in, &x);
    }
    ((colbuf_str_t *)c->v)[c->n++] = (colbuf_str_t){sl.p, (uint32_t)len, x.id};
    if (in->lookups >= INTERN_DECIDE && in->hits * 2 < in->lookups)
        in->off = 1;
    return 0;
}

/* ---- memo ------------------------------------------------------------------------------ */

/* 64-bit hash of two byte strings (a resource is ~0.5-1 KB): four independent lanes of
 * 8 bytes each per step, so the multiplies overlap. Never 0: 0 marks an empty slot. */
static uint64_t memo_hash(slice_t a, slice_t b)
{
    const uint64_t K1 = 0xff51afd7ed558ccdull, K2 = 0xc4ceb9fe1a85ec53ull;
    uint64_t h[4] = {0x9e3779b97f4a7c15ull ^ a.len, 0x2545f4914f6cdd1dull ^ b.len,
                     0x94d049bb133111ebull, 0xbf58476d1ce4e5b9ull};
    for (int k = 0; k < 2; k++) {
        const uint8_t *p = k ? b.p : a.p;
        size_t n = k ? b.len : a.len, i = 0;
        for (; i + 32 <= n; i += 32)
            for (int j = 0; j < 4; j++) {
                uint64_t w;
                memcpy(&w, p + i + 8 * j, 8);
                h[j] = (h[j] ^ w) * K1;
                h[j] ^= h[j] >> 31;
            }
        for (int j = 0; i < n; i += 8, j++) {
            uint64_t w = 0;
            memcpy(&w, p + i, n - i < 8 ? n - i : 8);
            h[j] = (h[j] ^ w) * K1;
            h[j] ^= h[j] >> 31;
        }
    }
    uint64_t x = (h[0] ^ (h[1] * K2)) + (h[2] ^ (h[3] * K1));
    x = (x ^ (x >> 29)) * K2;
    x ^= x >> 32;
    return x ? x : 1;
}

/* First slot of the 2-way set of a hash. */
static size_t memo_set(uint64_t hash)
{
    return (size_t)(hash % (COLBUF_MEMO_SLOTS / 2)) * 2;
}

const colbuf_memo_t *colbuf_memo_get(const colbuf_table_t *t, slice_t key, slice_t key2,
                                     uint64_t *hash)
{
    *hash = memo_hash(key, key2);
    if (!t->memo)
        return NULL;
    const colbuf_memo_t *set = &t->memo[memo_set(*hash)];
    for (int w = 0; w < 2; w++) {
        const colbuf_memo_t *e = &set[w];
        if (e->hash == *hash && e->key.len == key.len && e->key2.len == key2.len &&
            memcmp(e->key.p, key.p, key.len) == 0 &&
            (!key2.len || memcmp(e->key2.p, key2.p, key2.len) == 0))
            return e;
    }
    return NULL;
}

void colbuf_memo_put(colbuf_table_t *t, uint64_t hash, slice_t key, slice_t key2,
                     colbuf_range_t r, const slice_t s[2])
{
    if (!t->memo && !(t->memo = orasi_calloc(COLBUF_MEMO_SLOTS, sizeof(*t->memo))))
        return;
    /* an empty way, else one picked by the hash: two hot keys of one set both stay */
    colbuf_memo_t *set = &t->memo[memo_set(hash)];
    colbuf_memo_t *e = !set[0].hash ? &set[0] : !set[1].hash ? &set[1] : &set[(hash >> 40) & 1];
    slice_t k, k2 = {0};
    e->hash = 0;
    if (colbuf_strdup(t, key.p, key.len, &k) ||
        (key2.len && colbuf_strdup(t, key2.p, key2.len, &k2)))
        return;
    *e = (colbuf_memo_t){hash, k, k2, r, {s[0], s[1]}};
}

int colbuf_put_range(colbuf_table_t *t, colbuf_col_t *c, size_t off, size_t len)
{
    if (off > UINT32_MAX || len > UINT32_MAX - off)
        return ORASI_ETOOBIG;
    PUT(colbuf_range_t, ((colbuf_range_t){(uint32_t)off, (uint32_t)len}));
}

/* ---- marks ----------------------------------------------------------------------------- */

static void mark_col(const colbuf_col_t *c, size_t *n, size_t *i)
{
    if (*i < COLBUF_MAX_SLOTS)
        n[*i] = c->n;
    (*i)++;
    if (c->child)
        mark_col(c->child, n, i);
    if (c->child2)
        mark_col(c->child2, n, i);
}

static void rollback_col(colbuf_col_t *c, const size_t *n, size_t *i)
{
    if (*i < COLBUF_MAX_SLOTS && n[*i] < c->n)
        c->n = n[*i];
    (*i)++;
    if (c->child)
        rollback_col(c->child, n, i);
    if (c->child2)
        rollback_col(c->child2, n, i);
}

void colbuf_mark(const colbuf_table_t *t, colbuf_mark_t *m)
{
    size_t i = 0;
    for (size_t k = 0; k < t->schema->ncols; k++)
        mark_col(&t->cols[k], m->n, &i);
    m->rows = t->rows;
}

/* Heap bytes of the undone row are not reclaimed (they are freed with the table). */
void colbuf_rollback(colbuf_table_t *t, const colbuf_mark_t *m)
{
    memo_clear(t); /* entries made since the mark may point at the undone rows */
    size_t i = 0;
    for (size_t k = 0; k < t->schema->ncols; k++)
        rollback_col(&t->cols[k], m->n, &i);
    t->rows = m->rows;
}

int colbuf_row_done(colbuf_table_t *t, int64_t ts)
{
    for (size_t k = 0; k < t->schema->ncols; k++)
        if (t->cols[k].n != t->rows + 1)
            return ORASI_EINTERNAL;
    t->rows++;
    if (ts < t->min_ts)
        t->min_ts = ts;
    if (ts > t->max_ts)
        t->max_ts = ts;
    return 0;
}

/* ---- rendering --------------------------------------------------------------------------- */

size_t colbuf_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = 0;
    return 2 * n;
}

/* Names as pdata's SpanKind.String() / StatusCode.String(), which the ClickHouse exporter
 * stores; unknown (open enum) values become their number. */
const char *colbuf_span_kind_name(int32_t k, char *scratch, size_t len)
{
    static const char *const names[] = {"Unspecified", "Internal", "Server",
                                        "Client",      "Producer", "Consumer"};
    if (k >= 0 && k < 6)
        return names[k];
    snprintf(scratch, len, "%d", (int)k);
    return scratch;
}

const char *colbuf_status_name(int32_t c, char *scratch, size_t len)
{
    static const char *const names[] = {"Unset", "Ok", "Error"};
    if (c >= 0 && c < 3)
        return names[c];
    snprintf(scratch, len, "%d", (int)c);
    return scratch;
}

/* ---- DuckDB -------------------------------------------------------------------------------- */

static duckdb_logical_type kind_type(uint8_t kind, uint8_t elem)
{
    switch (kind) {
    case CB_TS:
        return duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP_NS);
    case CB_I64:
        return duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    case CB_U64:
        return duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
    case CB_I32:
        return duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
    case CB_U32:
        return duckdb_create_logical_type(DUCKDB_TYPE_UINTEGER);
    case CB_U8:
        return duckdb_create_logical_type(DUCKDB_TYPE_UTINYINT);
    case CB_F64:
        return duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
    case CB_BOOL:
        return duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
    case CB_STR:
    case CB_TRACEID:
    case CB_SPANID:
    case CB_SPANKIND:
    case CB_STATUS:
        return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    case CB_MAP: {
        duckdb_logical_type k = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
        duckdb_logical_type v = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
        duckdb_logical_type m = duckdb_create_map_type(k, v);
        duckdb_destroy_logical_type(&k);
        duckdb_destroy_logical_type(&v);
        return m;
    }
    case CB_LIST: {
        duckdb_logical_type e = kind_type(elem, 0);
        duckdb_logical_type l = duckdb_create_list_type(e);
        duckdb_destroy_logical_type(&e);
        return l;
    }
    }
    return NULL;
}

duckdb_logical_type colbuf_duck_type(const colbuf_schema_t *s, size_t i)
{
    return kind_type(s->cols[i].kind, s->cols[i].elem);
}

static int fill_col(duckdb_vector v, size_t dst, const colbuf_col_t *c, size_t src,
                    size_t count);

/* MAP / LIST: entries dst.. of v get the ranges of source rows src.. (or rows[0..count)
 * when rows is not NULL); the child entries are copied behind what the child vector
 * already holds, reserving once for the whole batch. */
static int fill_nested(duckdb_vector v, size_t dst, const colbuf_col_t *c, size_t src,
                       size_t count, const uint32_t *rows)
{
    const colbuf_range_t *rv = c->v;
    size_t base = duckdb_list_vector_get_size(v), total = 0;
    for (size_t i = 0; i < count; i++)
        total += rv[rows ? rows[i] : src + i].len;
    if (duckdb_list_vector_reserve(v, base + total) != DuckDBSuccess)
        return ORASI_ENOMEM;
    duckdb_list_entry *e = duckdb_vector_get_data(v);
    duckdb_vector child = duckdb_list_vector_get_child(v);
    duckdb_vector kv = NULL, vv = NULL;
    if (c->kind == CB_MAP) {
        kv = duckdb_struct_vector_get_child(child, 0);
        vv = duckdb_struct_vector_get_child(child, 1);
    }
    size_t at = base;
    for (size_t i = 0; i < count; i++) {
        colbuf_range_t r = rv[rows ? rows[i] : src + i];
        e[dst + i].offset = at;
        e[dst + i].length = r.len;
        if (r.len) {
            int rc;
            if (c->kind == CB_MAP) {
                rc = fill_col(kv, at, c->child, r.off, r.len);
                if (!rc)
                    rc = fill_col(vv, at, c->child2, r.off, r.len);
            } else {
                rc = fill_col(child, at, c->child, r.off, r.len);
            }
            if (rc)
                return rc;
        }
        at += r.len;
    }
    if (duckdb_list_vector_set_size(v, base + total) != DuckDBSuccess)
        return ORASI_EINTERNAL;
    return 0;
}

/* Fill `count` entries of column c starting at source index `src` into vector v starting
 * at index `dst`. Recursive for MAP and LIST: the child entries of each row are copied
 * behind what the child vector already holds. */
static int fill_col(duckdb_vector v, size_t dst, const colbuf_col_t *c, size_t src, size_t count)
{
    char tmp[40];
    switch (c->kind) {
    case CB_TS:
    case CB_I64:
    case CB_U64:
    case CB_F64:
    case CB_I32:
    case CB_U32:
    case CB_U8: {
        uint8_t *d = duckdb_vector_get_data(v);
        memcpy(d + dst * c->width, (const uint8_t *)c->v + src * c->width, count * c->width);
        return 0;
    }
    case CB_BOOL: {
        bool *d = duckdb_vector_get_data(v);
        const uint8_t *s = (const uint8_t *)c->v + src;
        for (size_t i = 0; i < count; i++)
            d[dst + i] = s[i] != 0;
        return 0;
    }
    case CB_STR: {
        const colbuf_str_t *s = (const colbuf_str_t *)c->v + src;
        for (size_t i = 0; i < count; i++)
            duckdb_vector_assign_string_element_len(v, dst + i, (const char *)s[i].p, s[i].len);
        return 0;
    }
    case CB_TRACEID: {
        const otlp_trace_id_t *s = (const otlp_trace_id_t *)c->v + src;
        for (size_t i = 0; i < count; i++) {
            size_t n = s[i].len == 16 ? colbuf_hex(s[i].id, 16, tmp) : 0;
            duckdb_vector_assign_string_element_len(v, dst + i, tmp, n);
        }
        return 0;
    }
    case CB_SPANID: {
        const otlp_span_id_t *s = (const otlp_span_id_t *)c->v + src;
        for (size_t i = 0; i < count; i++) {
            size_t n = s[i].len == 8 ? colbuf_hex(s[i].id, 8, tmp) : 0;
            duckdb_vector_assign_string_element_len(v, dst + i, tmp, n);
        }
        return 0;
    }
    case CB_SPANKIND:
    case CB_STATUS: {
        const int32_t *s = (const int32_t *)c->v + src;
        for (size_t i = 0; i < count; i++) {
            const char *name = c->kind == CB_SPANKIND
                                   ? colbuf_span_kind_name(s[i], tmp, sizeof(tmp))
                                   : colbuf_status_name(s[i], tmp, sizeof(tmp));
            duckdb_vector_assign_string_element_len(v, dst + i, name, strlen(name));
        }
        return 0;
    }
    case CB_MAP:
    case CB_LIST:
        return fill_nested(v, dst, c, src, count, NULL);
    }
    return ORASI_EINTERNAL;
}

/* Gather rows[0..count) of a top-level column into v. */
static int fill_rows(duckdb_vector v, const colbuf_col_t *c, const uint32_t *rows, size_t count)
{
    char tmp[40];
    switch (c->kind) {
    case CB_TS:
    case CB_I64:
    case CB_U64:
    case CB_F64: {
        uint64_t *d = duckdb_vector_get_data(v);
        const uint64_t *s = c->v;
        for (size_t i = 0; i < count; i++)
            d[i] = s[rows[i]];
        return 0;
    }
    case CB_I32:
    case CB_U32: {
        uint32_t *d = duckdb_vector_get_data(v);
        const uint32_t *s = c->v;
        for (size_t i = 0; i < count; i++)
            d[i] = s[rows[i]];
        return 0;
    }
    case CB_U8: {
        uint8_t *d = duckdb_vector_get_data(v);
        const uint8_t *s = c->v;
        for (size_t i = 0; i < count; i++)
            d[i] = s[rows[i]];
        return 0;
    }
    case CB_BOOL: {
        bool *d = duckdb_vector_get_data(v);
        const uint8_t *s = c->v;
        for (size_t i = 0; i < count; i++)
            d[i] = s[rows[i]] != 0;
        return 0;
    }
    case CB_STR: {
        const colbuf_str_t *s = c->v;
        for (size_t i = 0; i < count; i++)
            duckdb_vector_assign_string_element_len(v, i, (const char *)s[rows[i]].p,
                                                    s[rows[i]].len);
        return 0;
    }
    case CB_TRACEID: {
        const otlp_trace_id_t *s = c->v;
        for (size_t i = 0; i < count; i++) {
            const otlp_trace_id_t *id = &s[rows[i]];
            size_t n = id->len == 16 ? colbuf_hex(id->id, 16, tmp) : 0;
            duckdb_vector_assign_string_element_len(v, i, tmp, n);
        }
        return 0;
    }
    case CB_SPANID: {
        const otlp_span_id_t *s = c->v;
        for (size_t i = 0; i < count; i++) {
            const otlp_span_id_t *id = &s[rows[i]];
            size_t n = id->len == 8 ? colbuf_hex(id->id, 8, tmp) : 0;
            duckdb_vector_assign_string_element_len(v, i, tmp, n);
        }
        return 0;
    }
    case CB_SPANKIND:
    case CB_STATUS: {
        const int32_t *s = c->v;
        for (size_t i = 0; i < count; i++) {
            const char *name = c->kind == CB_SPANKIND
                                   ? colbuf_span_kind_name(s[rows[i]], tmp, sizeof(tmp))
                                   : colbuf_status_name(s[rows[i]], tmp, sizeof(tmp));
            duckdb_vector_assign_string_element_len(v, i, name, strlen(name));
        }
        return 0;
    }
    default:
        return fill_nested(v, 0, c, 0, count, rows);
    }
}

int colbuf_fill_rows(const colbuf_table_t *t, size_t ci, duckdb_vector v, const uint32_t *rows,
                     size_t count)
{
    if (ci >= t->schema->ncols)
        return ORASI_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (rows[i] >= t->rows)
            return ORASI_EINVAL;
    return fill_rows(v, &t->cols[ci], rows, count);
}

/* ---- sorting --------------------------------------------------------------------------- */

struct sort_ctx {
    const colbuf_col_t *key[3];
    int nkeys;
};

static int cmp_rows(const void *a, const void *b, void *arg)
{
    const struct sort_ctx *x = arg;
    uint32_t ra = *(const uint32_t *)a, rb = *(const uint32_t *)b;
    for (int k = 0; k < x->nkeys; k++) {
        const colbuf_col_t *c = x->key[k];
        if (c->kind == CB_TRACEID) {
            /* binary order is the order of the lowercase hex text DuckDB sorts when it
             * merges; an absent id ("") first */
            const otlp_trace_id_t *ta = (const otlp_trace_id_t *)c->v + ra,
                                  *tb = (const otlp_trace_id_t *)c->v + rb;
            if (ta->len != tb->len)
                return ta->len < tb->len ? -1 : 1;
            int r = ta->len ? memcmp(ta->id, tb->id, sizeof(ta->id)) : 0;
            if (r)
                return r;
        } else if (c->kind == CB_STR) {
            const colbuf_str_t *sa = (const colbuf_str_t *)c->v + ra;
            const colbuf_str_t *sb = (const colbuf_str_t *)c->v + rb;
            if (sa->p == sb->p && sa->len == sb->len)
                continue; /* shared bytes (service name of one resource): equal */
            size_t n = sa->len < sb->len ? sa->len : sb->len;
            int r = n ? memcmp(sa->p, sb->p, n) : 0;
            if (r)
                return r;
            if (sa->len != sb->len)
                return sa->len < sb->len ? -1 : 1;
        } else {
            int64_t va = ((const int64_t *)c->v)[ra], vb = ((const int64_t *)c->v)[rb];
            if (va != vb)
                return va < vb ? -1 : 1;
        }
    }
    return ra < rb ? -1 : ra > rb;
}

/* Rows sorted by TraceId (binary order, absent first), then the other keys, then row.
 * qsort with a callback per comparison of random rows dominated the flush; instead the
 * rows are radix-sorted on the first 4 bytes of their id (LSD, up to 4 passes of 8 bits
 * over 8-byte items; stable, so equal prefixes stay in row order) and each run of equal
 * prefixes (mostly the spans of one trace) is then put in cmp_rows order. ORASI_ENOMEM
 * when the scratch cannot be had (the caller falls back to qsort). */
static int sort_by_traceid(const colbuf_table_t *t, const struct sort_ctx *x, uint32_t *perm)
{
    size_t n = t->rows;
    uint64_t *a = orasi_malloc(2 * n * sizeof(*a)); /* (prefix << 32 | row), twice */
    if (!a)
        return ORASI_ENOMEM;
    uint64_t *b = a + n;
    const otlp_trace_id_t *ids = x->key[0]->v;
    uint32_t cnt[4][256];
    memset(cnt, 0, sizeof(cnt));
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = ids[i].id;
        uint32_t k = ids[i].len ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                                      (uint32_t)p[2] << 8 | p[3]
                                : 0;
        a[i] = (uint64_t)k << 32 | i;
        for (int d = 0; d < 4; d++)
            cnt[d][(k >> (8 * d)) & 255]++;
    }
    for (int d = 0; d < 4; d++) {
        unsigned shift = 32 + 8 * (unsigned)d;
        if (cnt[d][(a[0] >> shift) & 255] == n)
            continue; /* every row has the same digit here */
        uint32_t pos[256], sum = 0;
        for (int v = 0; v < 256; v++) {
            pos[v] = sum;
            sum += cnt[d][v];
        }
        for (size_t i = 0; i < n; i++)
            b[pos[(a[i] >> shift) & 255]++] = a[i];
        uint64_t *tmp = a;
        a = b;
        b = tmp;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)a[i];
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && a[j] >> 32 == a[i] >> 32)
            j++;
        if (j - i > 16) {
            qsort_r(perm + i, j - i, sizeof(*perm), cmp_rows, (void *)x);
        } else {
            for (size_t k = i + 1; k < j; k++) /* insertion sort of a short run */
                for (size_t m = k; m > i && cmp_rows(&perm[m], &perm[m - 1], (void *)x) < 0; m--) {
                    uint32_t s = perm[m];
                    perm[m] = perm[m - 1];
                    perm[m - 1] = s;
                }
        }
        i = j;
    }
    orasi_free(a < b ? a : b); /* the allocation starts at the lower of the two halves */
    return 0;
}

int colbuf_sort(const colbuf_table_t *t, uint32_t *perm)
{
    struct sort_ctx x = {{NULL}, 0};
    for (int k = 0; k < 3 && t->schema->sort[k]; k++) {
        int ci = colbuf_col_index(t->schema, t->schema->sort[k]);
        if (ci < 0)
            return ORASI_EINTERNAL;
        const colbuf_col_t *c = &t->cols[ci];
        if (c->kind != CB_STR && c->kind != CB_TS && c->kind != CB_I64 && c->kind != CB_TRACEID)
            return ORASI_EINTERNAL;
        x.key[x.nkeys++] = c;
    }
    if (t->rows > UINT32_MAX)
        return ORASI_ETOOBIG;
    if (x.nkeys && x.key[0]->kind == CB_TRACEID && t->rows > 1 &&
        sort_by_traceid(t, &x, perm) == 0)
        return 0;
    for (size_t i = 0; i < t->rows; i++)
        perm[i] = (uint32_t)i;
    qsort_r(perm, t->rows, sizeof(*perm), cmp_rows, &x);
    return 0;
}

/* Trace-id groups (colbuf_group): 1 when done, 0 when the ids are too skewed. */
#define GROUP_PREFIXES 65536u
static int group_by_traceid(const colbuf_table_t *t, const colbuf_col_t *ids_col, size_t rg,
                            uint32_t *perm, uint32_t *ends, size_t *ngroups, int *rc)
{
    size_t n = t->rows, G = (n + rg - 1) / rg;
    const otlp_trace_id_t *ids = ids_col->v;
    uint32_t *hist = orasi_calloc(GROUP_PREFIXES, sizeof(*hist));
    uint16_t *map = orasi_malloc(GROUP_PREFIXES * sizeof(*map));
    uint32_t *pos = orasi_calloc(G, sizeof(*pos));
    int done = 0;
    *rc = 0;
    if (!hist || !map || !pos) {
        *rc = ORASI_ENOMEM;
        goto out;
    }
    /* an absent id ("") has prefix 0: first, as its empty text sorts */
#define PREFIX(i) (ids[i].len ? (uint32_t)ids[i].id[0] << 8 | ids[i].id[1] : 0u)
    for (size_t i = 0; i < n; i++)
        hist[PREFIX(i)]++;
    /* group g ends at the first prefix where the running count reaches (g+1) * n / G */
    size_t g = 0, acc = 0;
    for (uint32_t p = 0; p < GROUP_PREFIXES; p++) {
        map[p] = (uint16_t)g;
        acc += hist[p];
        pos[g] += hist[p];
        if (g + 1 < G && acc * G >= (g + 1) * n)
            g++;
    }
    size_t ng = 0, sum = 0;
    for (size_t k = 0; k < G; k++) {
        if (pos[k] > 2 * rg)
            goto out; /* skewed ids: sort instead */
        uint32_t c = pos[k];
        pos[k] = (uint32_t)sum;
        sum += c;
        if (c)
            ends[ng++] = (uint32_t)sum;
    }
    for (size_t i = 0; i < n; i++)
        perm[pos[map[PREFIX(i)]]++] = (uint32_t)i;
#undef PREFIX
    *ngroups = ng ? ng : 1;
    if (!ng)
        ends[0] = 0;
    done = 1;
out:
    orasi_free(hist);
    orasi_free(map);
    orasi_free(pos);
    return done;
}

int colbuf_group(const colbuf_table_t *t, size_t group_rows, uint32_t *perm, uint32_t *ends,
                 size_t *ngroups)
{
    if (!group_rows)
        return ORASI_EINVAL;
    if (t->rows > UINT32_MAX)
        return ORASI_ETOOBIG;
    size_t n = t->rows, G = (n + group_rows - 1) / group_rows;
    int ci = t->schema->sort[0] ? colbuf_col_index(t->schema, t->schema->sort[0]) : -1;
    if (ci >= 0 && t->cols[ci].kind == CB_TRACEID && n > 0 && G <= UINT16_MAX) {
        int rc;
        if (group_by_traceid(t, &t->cols[ci], group_rows, perm, ends, ngroups, &rc))
            return 0;
        if (rc)
            return rc;
    }
    int rc = colbuf_sort(t, perm);
    if (rc)
        return rc;
    size_t ng = 0;
    for (size_t r = 0; r < n; r += group_rows)
        ends[ng++] = (uint32_t)(r + group_rows < n ? r + group_rows : n);
    if (!ng)
        ends[ng++] = 0;
    *ngroups = ng;
    return 0;
}

int colbuf_fill(const colbuf_table_t *t, size_t ci, duckdb_vector v, size_t row, size_t count)
{
    if (ci >= t->schema->ncols || row + count > t->rows)
        return ORASI_EINVAL;
    return fill_col(v, 0, &t->cols[ci], row, count);
}
