/*
 * colbuf.h — in-memory columnar buffers for the lake, one table per (tenant, signal, hour).
 *
 * A table is a fixed set of columns (its schema, one per lake signal: colbuf_schema()).
 * Each column is an append-only typed array; nested columns (MAP, LIST) hold per-row
 * ranges (offset, length) into child columns, so a map or list of any size costs one
 * range per row plus its entries. Several rows may share one range (a span's resource
 * attributes are stored once per resource, not once per span): ranges are read-only
 * once written, so sharing is safe.
 *
 * String bytes live in the table's heap (blocks of COLBUF_HEAP_BLOCK bytes, no alignment),
 * freed with the table. Ids (trace/span) and enums (span kind, status code) are stored in
 * binary form and rendered as text only when the table is handed to DuckDB
 * (colbuf_fill), which keeps the hot append path to a few stores per value.
 *
 * Rows are appended column by column by the flattening code (flatten.c). A row that
 * fails half way (allocation failure, a size cap) is undone with colbuf_mark /
 * colbuf_rollback so every column always has exactly `rows` entries.
 *
 * Not thread-safe: the lake serialises access to a table under its lock.
 */
#ifndef ORASI_LAKE_COLBUF_H
#define ORASI_LAKE_COLBUF_H

#include "core/buf.h"
#include "otlp/otlp_model.h"

#include <duckdb.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The seven lake tables ("signal=" directory names and SQL table names). */
enum lake_sig {
    LAKE_TRACES = 0,
    LAKE_LOGS,
    LAKE_METRICS_GAUGE,
    LAKE_METRICS_SUM,
    LAKE_METRICS_HISTOGRAM,
    LAKE_METRICS_EXP_HISTOGRAM,
    LAKE_METRICS_SUMMARY,
    LAKE_SIG_COUNT
};

/* "traces", "logs", "metrics_gauge", ... ; NULL when out of range. */
const char *colbuf_sig_name(int sig);
/* Inverse of colbuf_sig_name; -1 when unknown. */
int colbuf_sig_parse(const char *name);

/* Value kinds. Fixed-width kinds are stored natively; the DuckDB type is in brackets. */
enum colbuf_kind {
    CB_TS = 1,  /* int64 ns since epoch [TIMESTAMP_NS] */
    CB_I64,     /* int64 [BIGINT] */
    CB_U64,     /* uint64 [UBIGINT] */
    CB_I32,     /* int32 [INTEGER] */
    CB_U32,     /* uint32 [UINTEGER] */
    CB_U8,      /* uint8 [UTINYINT] */
    CB_F64,     /* double [DOUBLE] */
    CB_BOOL,    /* uint8 0/1 [BOOLEAN] */
    CB_STR,     /* slice into the heap [VARCHAR] */
    CB_TRACEID, /* otlp_trace_id_t, rendered as 32 lowercase hex digits or "" [VARCHAR] */
    CB_SPANID,  /* otlp_span_id_t, 16 hex digits or "" [VARCHAR] */
    CB_SPANKIND,/* int32 span kind, rendered "Server", "Client", ... [VARCHAR] */
    CB_STATUS,  /* int32 status code, rendered "Unset", "Ok", "Error" [VARCHAR] */
    CB_MAP,     /* range into key/value CB_STR children [MAP(VARCHAR, VARCHAR)] */
    CB_LIST,    /* range into one child column [LIST(child)] */
};

/* One column of a schema. For CB_LIST, `elem` is the element kind (any kind but LIST). */
typedef struct {
    const char *name;
    uint8_t kind;
    uint8_t elem;
} colbuf_coldef_t;

typedef struct {
    int sig;
    size_t ncols;
    const colbuf_coldef_t *cols;
    const char *order_by;  /* SQL ORDER BY list (DuckDB sorts merged files with it) */
    const char *time_col;  /* column whose value is the row's partition time */
    const char *sort[4];   /* the ORDER BY columns for colbuf_sort (NULL-terminated, <= 3) */
    int schema_version;
} colbuf_schema_t;

/* The schema of a lake signal (static, never NULL for a valid sig). */
const colbuf_schema_t *colbuf_schema(int sig);

/* A CB_STR value: its bytes (in the table's heap) and, when the column interned it
 * (colbuf_put_istr), its intern id: 1..nids of the column, equal ids meaning equal
 * strings; 0 for a value not interned (too long, put by colbuf_put_str/_ref, the intern
 * table full or switched off). The Parquet writer builds its dictionaries from the ids
 * without hashing the bytes again. 16 bytes, like a slice_t. */
typedef struct {
    const uint8_t *p;
    uint32_t len;
    uint32_t id;
} colbuf_str_t;

static inline slice_t colbuf_str_slice(colbuf_str_t s)
{
    return (slice_t){s.p, s.len};
}

/* Per-row range into a child column. 32-bit: a table's children are capped below 4 Gi
 * entries (appends past it fail with ORASI_ETOOBIG). */
typedef struct {
    uint32_t off;
    uint32_t len;
} colbuf_range_t;

typedef struct colbuf_col {
    uint8_t kind;
    uint8_t width; /* bytes per entry in v */
    size_t n;      /* entries */
    size_t cap;    /* entries allocated in v */
    size_t acct;   /* entries counted in the table's array_bytes (n <= acct <= cap): a
                      recycled table keeps its arrays but counts them again as it refills */
    void *v;       /* typed array (see enum colbuf_kind); colbuf_str_t for CB_STR;
                      colbuf_range_t for CB_MAP / CB_LIST */
    struct colbuf_col *child;  /* LIST: elements; MAP: keys */
    struct colbuf_col *child2; /* MAP: values */
    struct colbuf_intern *intern; /* CB_STR: equal short strings share heap bytes (owned) */
    uint32_t nids; /* CB_STR: intern ids given so far (colbuf_str_t.id <= nids) */
} colbuf_col_t;

/* Heap block list for string bytes. */
struct colbuf_block;

/* A memo of row parts stored once and then shared by reference (flatten.c: a resource's
 * attributes, service name and schema url), keyed by content bytes: key (a resource's
 * encoded bytes) and key2 (its schema url). Entries point at rows of their table, so
 * colbuf_table_reset and colbuf_rollback forget them all. */
#define COLBUF_MEMO_SLOTS 1024 /* 2-way sets by hash (80 KB per table once used) */
typedef struct colbuf_memo {
    uint64_t hash; /* 0: empty slot */
    slice_t key, key2; /* copies in the table's heap */
    colbuf_range_t r;
    slice_t s[2];
} colbuf_memo_t;

typedef struct colbuf_table {
    const colbuf_schema_t *schema;
    colbuf_col_t *cols; /* schema->ncols entries */
    size_t rows;
    size_t heap_bytes;  /* bytes allocated for the string heap */
    size_t array_bytes; /* bytes allocated for column arrays */
    struct colbuf_block *blocks;
    struct colbuf_block *spare; /* emptied heap blocks of a recycled table, reused first */
    size_t block_used;  /* bytes used in the current (first) block */
    size_t max_bytes;   /* cap on heap_bytes + array_bytes */
    int64_t min_ts, max_ts; /* partition-time range of the rows (INT64_MAX/INT64_MIN empty) */
    colbuf_memo_t *memo;    /* COLBUF_MEMO_SLOTS entries once the first is put, owned */
} colbuf_table_t;

/* Create an empty table for `sig` holding at most max_bytes (0 = 4 GiB). NULL on
 * allocation failure. Caller owns it. */
colbuf_table_t *colbuf_table_create(int sig, size_t max_bytes);
void colbuf_table_destroy(colbuf_table_t *t);
/* Empty a table for reuse by the same signal, keeping its memory: column arrays, heap
 * blocks and intern tables stay allocated (and already paged in), so refilling it does
 * not allocate, copy on growth or page-fault. heap_bytes/array_bytes restart from zero
 * and grow as if the table were new (thresholds and caps see the same numbers). */
void colbuf_table_reset(colbuf_table_t *t);
/* The memo entry for (key, key2), or NULL; *hash is set for colbuf_memo_put. */
const colbuf_memo_t *colbuf_memo_get(const colbuf_table_t *t, slice_t key, slice_t key2,
                                     uint64_t *hash);
/* Remember (key, key2) -> r, s[0], s[1], copying the keys into the table's heap. A
 * failure (no memory) only means nothing is remembered. */
void colbuf_memo_put(colbuf_table_t *t, uint64_t hash, slice_t key, slice_t key2,
                     colbuf_range_t r, const slice_t s[2]);
/* Memory the table holds, used or not (for capping a pool of recycled tables). */
size_t colbuf_table_capacity(const colbuf_table_t *t);
/* Memory held by the table. */
static inline size_t colbuf_table_bytes(const colbuf_table_t *t)
{
    return t->heap_bytes + t->array_bytes;
}
/* Two words that cover every byte of a string of at most 16 bytes (overlapping loads
 * for 4..16 bytes, single bytes below): equal strings of equal length give equal words
 * and, for n <= 16, equal words of equal length mean equal strings. */
static inline void colbuf_words16(const uint8_t *p, size_t n, uint64_t *a, uint64_t *b)
{
    if (n >= 8) {
        memcpy(a, p, 8);
        memcpy(b, p + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + n - 4, 4);
        *a = x;
        *b = y;
    } else {
        *a = n ? (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16 : 0;
        *b = 0;
    }
}
/* Byte equality of two strings, without a call for the short ones that dominate. */
static inline int colbuf_bytes_eq(const void *x, const void *y, size_t n)
{
    if (n <= 16) {
        uint64_t a1, b1, a2, b2;
        colbuf_words16(x, n, &a1, &b1);
        colbuf_words16(y, n, &a2, &b2);
        return a1 == a2 && b1 == b2;
    }
    return memcmp(x, y, n) == 0;
}
/* Column index by name; -1 when absent. */
int colbuf_col_index(const colbuf_schema_t *s, const char *name);

/* ---- appending (the row being built is rows; call colbuf_row_done after each row) ---- */

/* Copy bytes into the table's heap; the slice stays valid as long as the table. */
int colbuf_strdup(colbuf_table_t *t, const void *p, size_t len, slice_t *out);

int colbuf_put_i64(colbuf_table_t *t, colbuf_col_t *c, int64_t v);  /* TS, I64 */
int colbuf_put_u64(colbuf_table_t *t, colbuf_col_t *c, uint64_t v);
int colbuf_put_i32(colbuf_table_t *t, colbuf_col_t *c, int32_t v);  /* I32, SPANKIND, STATUS */
int colbuf_put_u32(colbuf_table_t *t, colbuf_col_t *c, uint32_t v);
int colbuf_put_u8(colbuf_table_t *t, colbuf_col_t *c, uint8_t v);    /* U8, BOOL */
int colbuf_put_f64(colbuf_table_t *t, colbuf_col_t *c, double v);
/* STR: copies the bytes into the heap. */
int colbuf_put_str(colbuf_table_t *t, colbuf_col_t *c, const void *p, size_t len);
/* STR: like colbuf_put_str, but a string of at most COLBUF_INTERN_MAX_LEN bytes equal to
 * one put before into the same column of this table shares its bytes (same pointer).
 * Worth it for low-cardinality columns (attribute keys, names, enum-like values): no
 * copy, a smaller heap, and the Parquet writer sees equal values as equal pointers. A
 * column whose strings turn out mostly distinct stops interning by itself. */
#define COLBUF_INTERN_MAX_LEN 64
int colbuf_put_istr(colbuf_table_t *t, colbuf_col_t *c, const void *p, size_t len);
/* STR: a slice already in this table's heap (shared, not copied). */
int colbuf_put_ref(colbuf_table_t *t, colbuf_col_t *c, slice_t s);
/* STR: value i of the same column again (its slice and intern id). */
int colbuf_put_again(colbuf_table_t *t, colbuf_col_t *c, size_t i);
int colbuf_put_traceid(colbuf_table_t *t, colbuf_col_t *c, const otlp_trace_id_t *id);
int colbuf_put_spanid(colbuf_table_t *t, colbuf_col_t *c, const otlp_span_id_t *id);
/* MAP / LIST: a range of the child column(s). A new range is built by appending to
 * the child(ren) and then colbuf_put_range(t, c, start, child->n - start). */
int colbuf_put_range(colbuf_table_t *t, colbuf_col_t *c, size_t off, size_t len);

/* Snapshot of every column's length, to undo a partially appended row. */
#define COLBUF_MAX_SLOTS 96
typedef struct {
    size_t n[COLBUF_MAX_SLOTS];
    size_t rows;
} colbuf_mark_t;
void colbuf_mark(const colbuf_table_t *t, colbuf_mark_t *m);
void colbuf_rollback(colbuf_table_t *t, const colbuf_mark_t *m);
/* Finish the row: checks every top-level column has rows+1 entries (ORASI_EINTERNAL if
 * not), updates the time range and the row count. */
int colbuf_row_done(colbuf_table_t *t, int64_t ts);

/* ---- DuckDB ----------------------------------------------------------------------------- */

/* The DuckDB logical type of column `i` of a schema. Caller destroys it. */
duckdb_logical_type colbuf_duck_type(const colbuf_schema_t *s, size_t i);
/* Write rows [row, row+count) of column `ci` into vector v at index 0.. (count <=
 * duckdb_vector_size()). v must be a fresh (reset) vector of colbuf_duck_type's type. */
int colbuf_fill(const colbuf_table_t *t, size_t ci, duckdb_vector v, size_t row, size_t count);

/* Sort order of the rows by the schema's sort columns (ties by row number, so the
 * order is deterministic): perm[0..rows) receives row numbers. Rows are written to
 * Parquet in this order, the same order as the schema's order_by gives in DuckDB (trace
 * ids compare as their hex text does). Sort columns are CB_STR, CB_TS, CB_I64 or
 * CB_TRACEID. */
int colbuf_sort(const colbuf_table_t *t, uint32_t *perm);
/* The rows in row groups for the native Parquet writer, about `group_rows` (> 0) rows
 * each: perm[0..rows) receives row numbers group by group and ends[g] the end of group
 * g in perm (ends has room for ceil(rows / group_rows) entries; *ngroups receives the
 * count, at least 1). For a table whose first sort column is a CB_TRACEID (traces), each
 * group holds the rows of its own slice of the trace-id space (cut on the ids' first 16
 * bits at the quantiles of the table), in row (arrival) order: the row groups' TraceId
 * min/max are disjoint as with colbuf_sort, while the writer reads every column in
 * ascending order instead of at random. If the ids are so skewed that a group would pass
 * 2 * group_rows, and for every other table, it is colbuf_sort's order cut every
 * group_rows rows. 0, ORASI_ENOMEM, ORASI_EINVAL, ORASI_ETOOBIG. */
int colbuf_group(const colbuf_table_t *t, size_t group_rows, uint32_t *perm, uint32_t *ends,
                 size_t *ngroups);
/* Like colbuf_fill for the rows rows[0..count) (any order). */
int colbuf_fill_rows(const colbuf_table_t *t, size_t ci, duckdb_vector v, const uint32_t *rows,
                     size_t count);

/* Render helpers shared with tests. out must hold 33 / 17 bytes; returns length. */
size_t colbuf_hex(const uint8_t *p, size_t n, char *out);
const char *colbuf_span_kind_name(int32_t k, char *scratch, size_t len);
const char *colbuf_status_name(int32_t c, char *scratch, size_t len);

#endif
