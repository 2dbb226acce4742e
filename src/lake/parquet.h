/*
 * parquet.h — Parquet files of the lake: written by the native writer (pqwrite.h) or by
 * an embedded DuckDB, merged and inspected by DuckDB.
 *
 * A writer owns a private in-memory DuckDB database with one connection and a table
 * function, orasi_buffer(), that scans the colbuf table being flushed straight from our
 * columnar arrays (no intermediate DuckDB table). A flush is then one statement:
 *
 *   COPY (SELECT <columns> FROM orasi_buffer() ORDER BY <schema order>)
 *     TO '<path>' (FORMAT parquet, COMPRESSION zstd)
 *
 * A writer is used by one thread at a time (the flusher has one, the maintenance thread
 * another). Nothing here touches the catalog; paths are decided by the caller.
 */
#ifndef ORASI_LAKE_PARQUET_H
#define ORASI_LAKE_PARQUET_H

#include "core/buf.h"
#include "lake/bloom.h"
#include "lake/colbuf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct parquet_writer parquet_writer_t;

typedef struct {
    int threads;              /* DuckDB threads (default 1) */
    const char *memory_limit; /* e.g. "512MB"; NULL = DuckDB default */
    const char *temp_dir;     /* where DuckDB may spill a large sort; NULL = default */
    uint64_t row_group_rows;  /* rows per row group (default 122880) */
    int zstd_level;           /* 1..22 (default 3) */
    int native;               /* 1: parquet_write uses pqwrite.c; 0: DuckDB's COPY */
    size_t keep_bytes;        /* native: pqw_options_t.keep_bytes (0 = its default) */
} parquet_options_t;

/* NULL opts = defaults. 0 or a negative code with a message in err. Caller owns *out. */
int parquet_writer_create(const parquet_options_t *opts, parquet_writer_t **out, char *err,
                          size_t errlen);
void parquet_writer_destroy(parquet_writer_t *w);

/* Write every row of t, sorted by the schema's order, to `path` (replaced if present),
 * with the native writer or DuckDB (options.native); both give the same columns, types
 * and values. The file is NOT fsynced (the caller does it, with the rename). */
int parquet_write(parquet_writer_t *w, const colbuf_table_t *t, const char *path, char *err,
                  size_t errlen);

/* Merge Parquet files of one signal into `out_path`, sorted by the schema's order.
 * *rows receives the number of rows written. */
int parquet_merge(parquet_writer_t *w, int sig, const char *const *paths, size_t n,
                  const char *out_path, uint64_t *rows, char *err, size_t errlen);

/* Build the trace-id Bloom filter of a traces Parquet file (sized for `rows`). */
int parquet_trace_bloom(parquet_writer_t *w, const char *path, uint64_t rows, bloom_t *out,
                        char *err, size_t errlen);

/* Run one SQL statement on the writer's connection and return the first column of the
 * first row as int64 (tests and tools; *out untouched when there is no row). */
int parquet_query_int(parquet_writer_t *w, const char *sql, int64_t *out, char *err,
                      size_t errlen);

/* Append `s` to out as a single-quoted SQL string literal. */
int parquet_sql_quote(buf_t *out, const char *s);

#endif
