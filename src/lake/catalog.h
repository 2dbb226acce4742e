/*
 * catalog.h — the lake's catalog: which Parquet files exist, what they hold, and how far
 * the write-ahead log has been published (SQLite, <data_dir>/catalog.db, WAL journal).
 *
 * Invariant (crash consistency): a file listed in `files` always exists on disk. Files
 * are renamed into place and fsynced BEFORE their row is committed; they are unlinked
 * only AFTER their row is deleted (and, for compaction and retention, after a grace
 * period recorded in `deletes`, so a reader that listed them a moment ago still finds
 * them). A .parquet file on disk that is in neither table is an orphan of a crash and is
 * removed at start (lake.c).
 *
 * Readers (the SQL engine) open their own catalog_t (any thread; the handle is
 * internally locked) and call catalog_list / catalog_list_trace. Each call is one SQLite
 * read transaction, i.e. one consistent snapshot: during a compaction a reader sees
 * either all the old files or the new one, never both or neither.
 *
 * Tables: see docs/internals/catalog.md.
 */
#ifndef ORASI_LAKE_CATALOG_H
#define ORASI_LAKE_CATALOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct catalog catalog_t;

/* One published Parquet file. Strings are owned by the list they come from (or, when
 * passed in, borrowed for the call). */
typedef struct {
    char *path;         /* absolute path (root + "/" + rel) */
    const char *rel;    /* relative to the lake root: tenant=/signal=/date=/hour=/x.parquet */
    char *tenant;
    int sig;            /* enum lake_sig (colbuf.h) */
    char date[11];      /* YYYY-MM-DD (UTC) */
    int hour;           /* 0..23 */
    int64_t part_ns;    /* start of the hour partition, ns since epoch */
    int64_t min_ts, max_ts; /* range of the partition-time column over the rows */
    uint64_t rows;
    uint64_t bytes;
    int schema_version;
    int64_t created_ns;
    const uint8_t *bloom; /* traces only: bloom.h format; NULL in catalog_list and
                             catalog_list_trace answers (the filter stays in SQLite) */
    size_t bloom_len;
} catalog_file_t;

typedef struct {
    catalog_file_t *v;
    size_t n;
} catalog_list_t;

/* Open (creating if needed) the catalog database `db_path` for the lake rooted at
 * `lake_root` (both copied). 0 or a negative code with a message in err. Caller owns
 * *out. */
int catalog_open(const char *db_path, const char *lake_root, catalog_t **out, char *err,
                 size_t errlen);
void catalog_close(catalog_t *c);
const char *catalog_root(const catalog_t *c);

/* ---- reading -------------------------------------------------------------------------- */

/* Files of (tenant, sig) whose [min_ts, max_ts] overlaps [t0, t1] (inclusive; pass
 * INT64_MIN / INT64_MAX for no bound), ordered by min_ts. tenant NULL = every tenant.
 * Caller frees with catalog_list_free. */
int catalog_list(catalog_t *c, const char *tenant, int sig, int64_t t0, int64_t t1,
                 catalog_list_t *out);
/* Traces files of `tenant` overlapping [t0, t1] whose Bloom filter may hold trace_id
 * (each filter is probed in place: only its k probed bytes are read). */
int catalog_list_trace(catalog_t *c, const char *tenant, const uint8_t trace_id[16], int64_t t0,
                       int64_t t1, catalog_list_t *out);
void catalog_list_free(catalog_list_t *l);
/* 1 when f may hold the trace id (always 1 for files without a filter). */
int catalog_file_may_contain(const catalog_file_t *f, const uint8_t trace_id[16]);

/* Totals over every file (tests, metrics). NULL outputs are skipped. */
int catalog_totals(catalog_t *c, uint64_t *files, uint64_t *rows, uint64_t *bytes);

/* ---- writing (the lake) -------------------------------------------------------------------- */

/* The WAL sequence number recorded by the last publish (0 if none). */
int catalog_wal_seq(catalog_t *c, uint64_t *seq);
/* One transaction: insert every file (rel, tenant, sig, date, hour, part_ns, min_ts,
 * max_ts, rows, bytes, schema_version, created_ns, bloom are read; path is ignored) and
 * raise the recorded WAL sequence number to wal_seq (never lowered). n may be 0. */
int catalog_publish(catalog_t *c, const catalog_file_t *files, size_t n, uint64_t wal_seq);
/* Compaction, one transaction: delete the rows of old[] (all must still be listed, else
 * ORASI_ENOTFOUND and nothing changes), insert `merged`, and schedule the old files for
 * unlinking at delete_at_ns (wall clock). */
int catalog_replace(catalog_t *c, const char *const *old_rel, size_t nold,
                    const catalog_file_t *merged, int64_t delete_at_ns);
/* Retention, one transaction: delete these rows and schedule the files for unlinking. */
int catalog_retire(catalog_t *c, const char *const *rel, size_t n, int64_t delete_at_ns);

/* Scheduled deletions due at now_ns: relative paths (caller frees with
 * catalog_strings_free). After unlinking, catalog_delete_done removes the entry. */
int catalog_due_deletes(catalog_t *c, int64_t now_ns, char ***rel, size_t *n);
int catalog_delete_done(catalog_t *c, const char *rel);
void catalog_strings_free(char **v, size_t n);

/* 1 if `rel` is listed in files or scheduled for deletion (orphan check), 0 if not. */
int catalog_knows(catalog_t *c, const char *rel);

/* Partition candidates for compaction: (tenant, sig, part_ns) with at least min_files
 * files smaller than small_bytes and part_ns < before_ns. Returned as a list of
 * catalog_file_t with only tenant/sig/part_ns/rows(=file count)/bytes(=sum) set. */
int catalog_compaction_candidates(catalog_t *c, int64_t before_ns, uint64_t small_bytes,
                                  unsigned min_files, catalog_list_t *out);
/* Files of one partition smaller than small_bytes (compaction input), schema version v. */
int catalog_partition_files(catalog_t *c, const char *tenant, int sig, int64_t part_ns,
                            uint64_t small_bytes, int schema_version, catalog_list_t *out);
/* Files of sig whose whole hour ended at or before cutoff_ns (retention input). */
int catalog_expired(catalog_t *c, int sig, int64_t cutoff_ns, catalog_list_t *out);

#endif
