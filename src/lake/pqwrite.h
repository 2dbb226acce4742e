/*
 * pqwrite.h — a native Parquet writer for lake tables (colbuf.h), without DuckDB.
 *
 * pqw_write() encodes one colbuf table, rows in the order of a permutation (colbuf_group),
 * as one Parquet file: the same column names, logical types and values DuckDB's
 * `COPY ... (FORMAT parquet)` of that table gives (parquet.c), read back identically by
 * DuckDB and hyparquet. Every column chunk is dictionary encoded when that is smaller,
 * otherwise strings (also hex ids, span kind / status names, map keys and values) are
 * DELTA_LENGTH_BYTE_ARRAY, integers and timestamps DELTA_BINARY_PACKED, doubles
 * BYTE_STREAM_SPLIT; every page is ZSTD-compressed and every leaf column chunk carries
 * min/max statistics. The file layout is specified at the top of pqwrite.c.
 *
 * A writer holds reusable scratch memory (page buffers, table-wide dictionaries: 4 bytes
 * per value of a dictionary-encoded leaf while a table is written, kept up to 64 MiB for
 * the next write; one ZSTD context) and is used by one thread at a time. It never fsyncs
 * or renames: the caller does (lake.c).
 */
#ifndef ORASI_LAKE_PQWRITE_H
#define ORASI_LAKE_PQWRITE_H

#include "lake/colbuf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pqw pqw_t;

typedef struct {
    uint64_t row_group_rows; /* rows per row group (0 = 122880, DuckDB's default) */
    int zstd_level;          /* 1..22 (0 = 3) */
    size_t page_bytes;       /* target uncompressed data page size (0 = 1 MiB) */
    size_t dict_bytes;       /* a column chunk's dictionary past this size makes the
                                remaining pages PLAIN (0 = 1 MiB) */
    int plain_ints;          /* 1: integers/timestamps PLAIN instead of DELTA_BINARY_PACKED */
    size_t keep_bytes;       /* table-wide dictionary memory kept for the next write; more
                                is freed after a write (0 = 64 MiB) */
} pqw_options_t;

/* NULL opts = defaults. 0 or ORASI_ENOMEM. Caller owns *out (pqw_destroy). */
int pqw_create(const pqw_options_t *opts, pqw_t **out);
void pqw_destroy(pqw_t *w);

/* Write the rows of t in the order perm[0..t->rows) (borrowed; a permutation of the row
 * numbers, as colbuf_sort or colbuf_group makes) to `path`, created or truncated (mode
 * 0644). Row groups end at ends[0..ngroups) (positions in perm, increasing, the last
 * t->rows, as colbuf_group makes), or every row_group_rows rows when ends is NULL. The
 * file is not fsynced. *bytes (may be NULL) receives the file size. On failure a message is
 * in err, the code is negative (ORASI_EIO, ORASI_ENOSPC, ORASI_ENOMEM, ORASI_ETOOBIG,
 * ORASI_EINVAL) and the partial file is left for the caller to unlink. */
int pqw_write(pqw_t *w, const colbuf_table_t *t, const uint32_t *perm, const uint32_t *ends,
              size_t ngroups, const char *path, uint64_t *bytes, char *err, size_t errlen);

#endif
