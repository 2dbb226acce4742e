/*
 * flatten.h — turn a decoded OTLP model (otlp_model.h) into lake rows (colbuf.h).
 *
 * One row per item: a span (traces table), a log record (logs), a data point (one of the
 * five metrics tables by metric type). Resource and scope fields are repeated on every
 * row as the ClickHouse exporter does, but their bytes are stored once per (table,
 * resource) and shared by range, so a 100-span resource costs its attributes once.
 *
 * Attribute values that are not strings become their string form like pdata's
 * Value.AsString(): bool "true"/"false", int decimal, double shortest round-trip text,
 * bytes base64, arrays and maps JSON (bytes inside as base64 strings), empty "".
 * A log Body uses the same rule.
 *
 * The caller decides which table a row goes to (tenant and hour are its business):
 * `table(ctx, sig, ts_ns)` returns the table for that lake signal and partition time,
 * or NULL with an error code in *err (ORASI_ENOMEM, ORASI_EFULL).
 */
#ifndef ORASI_LAKE_FLATTEN_H
#define ORASI_LAKE_FLATTEN_H

#include "core/buf.h"
#include "lake/colbuf.h"
#include "otlp/otlp_model.h"

#include <stdint.h>

typedef colbuf_table_t *(*flatten_table_fn)(void *ctx, int sig, int64_t ts_ns, int *err);

#define FLATTEN_CACHE 16
#define FLATTEN_LAYOUTS 64

typedef struct {
    flatten_table_fn table;
    void *ctx;
    buf_t scratch; /* JSON / number text; capped */
    /* (table, model object) -> stored bytes, so shared resource/scope/metric fields are
     * copied once per table per call. Reset at every call. */
    struct flatten_cache {
        const colbuf_table_t *t;
        const void *key;
        colbuf_range_t r[2];
        slice_t s[4];
    } cache[FLATTEN_CACHE];
    unsigned ncache, next;
    /* Recent maps by (map column, first key): where put_attrs_entries looks for entries
     * to share. Hints only: every entry is compared before it is shared, so a stale one
     * (its table reset and refilled) costs a failed compare. Kept across calls. */
    struct flatten_layout {
        const colbuf_col_t *m;
        colbuf_range_t r;
    } layout[FLATTEN_LAYOUTS];
    size_t rows; /* rows appended by the last call */
    size_t rows_by_sig[LAKE_SIG_COUNT]; /* the same, by lake table */
} flatten_t;

/* Initialise (allocates nothing). `scratch_max` caps the text form of one value. */
void flatten_init(flatten_t *f, flatten_table_fn table, void *ctx, size_t scratch_max);
void flatten_free(flatten_t *f);

/* Append every item of the model. 0, or a negative code; on failure the tables may hold
 * the rows appended before the failing item and part of the failing row: take colbuf
 * marks of every table `table()` hands out and roll them back (lake.c does). */
int flatten_traces(flatten_t *f, const otlp_traces_t *m);
int flatten_logs(flatten_t *f, const otlp_logs_t *m);
int flatten_metrics(flatten_t *f, const otlp_metrics_t *m);

/* The text form of an AnyValue (as stored in MAP values and Body), appended to out. */
int flatten_any_text(const otlp_any_t *v, buf_t *out);

/* Partition time of an item, as the lake uses it (exposed for tests). */
int64_t flatten_ts(uint64_t ns);

#endif
