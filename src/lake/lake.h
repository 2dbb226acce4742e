/*
 * lake.h — the Parquet data lake: columnar buffers, flushing, catalog, retention,
 * compaction (DESIGN.md "The lake"; docs/internals/lake.md).
 *
 *   <data_dir>/lake/tenant=<t>/signal=<s>/date=YYYY-MM-DD/hour=HH/<uuid>.parquet
 *   <data_dir>/catalog.db
 *
 * Writers call lake_append_* with a decoded model; rows go to in-memory columnar tables,
 * one per (tenant, signal, hour of the item's time, UTC). A background flusher writes
 * ALL non-empty tables when one passes flush_rows, the total passes flush_bytes, or the
 * oldest buffered row is older than flush_interval: for each table a sorted ZSTD Parquet
 * file is written to a temporary name, fsynced, renamed into its partition, the
 * directory fsynced; then ONE catalog transaction lists every new file and records the
 * highest WAL sequence number whose rows they hold; then the checkpoint callback tells
 * the WAL it may drop those records. A crash anywhere in between loses nothing and
 * duplicates nothing: at open, files not in the catalog (and .tmp-* files) are deleted,
 * and the caller replays the WAL from lake_published_seq()+1.
 *
 * A maintenance thread applies retention (per-signal age; whole hour partitions) and
 * compaction (merges a past hour's small files into one sorted file), both through one
 * catalog transaction each, unlinking replaced files only after `delete_grace`.
 *
 * Thread-safety: every function may be called from any thread. lake_append_* are
 * serialised by one lock (they only copy bytes into arrays: no I/O, no DuckDB).
 */
#ifndef ORASI_LAKE_LAKE_H
#define ORASI_LAKE_LAKE_H

#include "core/buf.h"
#include "core/config.h"
#include "lake/catalog.h"
#include "lake/colbuf.h"
#include "objstore/objstore.h"
#include "otlp/otlp_model.h"

#include <stddef.h>
#include <stdint.h>

typedef struct lake lake_t;

/* Called by the flusher after a publish committed: records <= seq are in the lake. */
typedef int (*lake_checkpoint_fn)(void *ud, uint64_t seq);

struct lake_options {
    /* not from the config file */
    const char *data_dir;        /* borrowed for lake_open only */
    lake_checkpoint_fn checkpoint; /* may be NULL */
    void *checkpoint_ud;

    /* the `lake:` section of the configuration (lake_config_options) */
    uint64_t flush_interval;     /* ns: oldest buffered row age that forces a flush (10s) */
    uint64_t flush_rows;         /* rows in one table that force a flush (1000000) */
    uint64_t flush_bytes;        /* buffered bytes (all tables) that force a flush (256MiB) */
    uint64_t max_buffer_bytes;   /* buffered + being-flushed bytes past which lake_full() (1GiB) */
    uint64_t retention_traces;   /* ns; 0 = forever (7d) */
    uint64_t retention_logs;     /* (30d) */
    uint64_t retention_metrics;  /* (30d) */
    uint64_t maintenance_interval; /* retention/compaction/unlink period (1m) */
    int compaction;              /* bool (true) */
    int64_t compaction_min_files; /* merge a past hour with at least this many small files (4) */
    uint64_t compaction_target_bytes; /* files below this size are "small" (128MiB) */
    uint64_t delete_grace;       /* ns before replaced/expired files are unlinked (1m) */
    int64_t duckdb_threads;      /* DuckDB threads per writer (1) */
    char *duckdb_memory_limit;   /* per writer, e.g. "1GB"; NULL = DuckDB default */
    int64_t zstd_level;          /* Parquet ZSTD level (1) */
    int parquet_writer;          /* 0 duckdb, 1 native (pqwrite.c) (native) */
    /* used by the lake sink for its write-ahead log (<data_dir>/wal) */
    int wal_sync;                /* 0 fsync, 1 os, 2 none (fsync) */
    uint64_t wal_max_bytes;      /* WAL byte cap -> 429 (1GiB) */
    uint64_t wal_segment_bytes;  /* (64MiB) */
    /* where published files also go (lake_upload.h): `store: local|s3`, `s3:` */
    int store;                   /* 0 local (the lake directory only), 1 s3 */
    struct objstore_s3_options s3; /* `lake.s3` (objstore_s3_config_options) */
};

/* The option table of the `lake:` section (config.h), for binding, checking and docs. */
extern const config_option_t lake_config_options[];

/* Defaults as in the table above (data_dir NULL). */
void lake_options_default(struct lake_options *o);

/* Open the lake under o->data_dir: create directories, open the catalog, delete orphans
 * and temporary files, start the flusher and maintenance threads. 0 or a negative code
 * with a message in err. Caller owns *out. */
int lake_open(const struct lake_options *o, lake_t **out, char *err, size_t errlen);
/* Flush everything (best effort), stop the threads, free. */
void lake_close(lake_t *l);

/* The WAL sequence number covered by the catalog at open (replay from +1). */
uint64_t lake_published_seq(const lake_t *l);

/* Append every item of a model to the buffers of `tenant` (validated by the receiver:
 * [A-Za-z0-9_.-]{1,64}). `seq` is the WAL sequence number of the record holding this
 * model (0 when there is no WAL); appends with seq must come in increasing seq order.
 * Atomic: on failure nothing of the model is buffered. Returns 0, ORASI_EINVAL (bad
 * tenant), ORASI_ENOMEM / ORASI_ETOOBIG / ORASI_EFULL (memory or buffer caps: retry
 * after the flusher caught up), ORASI_EUNAVAILABLE (frozen by lake_hold). The model is
 * only read during the call. */
int lake_append_traces(lake_t *l, slice_t tenant, const otlp_traces_t *m, uint64_t seq);
int lake_append_logs(lake_t *l, slice_t tenant, const otlp_logs_t *m, uint64_t seq);
int lake_append_metrics(lake_t *l, slice_t tenant, const otlp_metrics_t *m, uint64_t seq);
/* A durable WAL record `seq` could not be appended (after retrying): the lake freezes
 * (publishes nothing more, appends fail with ORASI_EUNAVAILABLE, lake_healthy() is 0)
 * so that a restart replays the record from the WAL instead of losing or duplicating
 * it. */
void lake_hold(lake_t *l, uint64_t seq);
/* 0 after lake_hold or a simulated crash: not ready. */
int lake_healthy(lake_t *l);
/* Read-your-writes when acknowledgements precede the appends (sink_lake.c): records up
 * to `seq` are being acknowledged (called before the answers go out). lake_hot_begin
 * then waits until they are appended, so a query started after an answer sees its
 * rows. */
void lake_acked(lake_t *l, uint64_t seq);
/* Wait until every acknowledged record is appended (for a flush that must publish what
 * was acknowledged before it): 0, ORASI_ETIMEOUT at deadline_ns (0 = none), ORASI_ECLOSED.
 * Not from the thread that appends. */
int lake_wait_acked(lake_t *l, uint64_t deadline_ns);
/* Record that `seq` holds nothing for the lake (an empty request): lets the published
 * seq advance past it. */
void lake_note_seq(lake_t *l, uint64_t seq);

/* 1 when buffered + in-flight bytes passed max_buffer_bytes: the caller should refuse
 * new data (429) until the flusher catches up. */
int lake_full(lake_t *l);

/* Flush everything buffered now and wait until it is published, or until deadline_ns
 * (CLOCK_MONOTONIC; 0 = no deadline). 0, ORASI_ETIMEOUT, or the flush error. */
int lake_flush(lake_t *l, uint64_t deadline_ns);
/* Run retention, compaction and due deletions now, on the calling thread (tests,
 * admin). 0 or the first error. */
int lake_maintain(lake_t *l);

struct lake_stats {
    uint64_t rows_buffered;   /* rows in tables not yet published */
    uint64_t bytes_buffered;
    uint64_t rows_appended;   /* since open */
    uint64_t files_published;
    uint64_t rows_published;
    uint64_t bytes_written;
    uint64_t flushes;
    uint64_t flush_errors;
    uint64_t compactions;
    uint64_t files_compacted;
    uint64_t files_expired;
    uint64_t files_unlinked;
    uint64_t published_seq;
    uint64_t tables_reused;   /* buffers started on an emptied published table */
};
void lake_stats(lake_t *l, struct lake_stats *s);

/* The lake's catalog (borrowed; valid until lake_close) and root directory. */
catalog_t *lake_catalog(lake_t *l);
const char *lake_root(const lake_t *l);

/* Test hook: fail the next publish after the files are renamed into place and before
 * the catalog commit (1), or after the commit and before the checkpoint callback (2),
 * simulating a crash there: the flusher then stops doing anything until lake_close,
 * which skips its final flush. 0 disables. */
void lake_test_crash_point(lake_t *l, int where);

/* ---- unflushed rows for the SQL engine (src/sql; docs/internals/sql.md) ------------------
 *
 * A query must see every acknowledged row exactly once: either in a published file (the
 * catalog) or in the buffers, never both, never neither. The flusher detaches the active
 * buffers (the pending set), writes them, commits their files together with the WAL seq
 * they cover (pending_seq) in one catalog transaction, and only then drops them. A reader:
 *
 *   lake_hot_begin(l, deadline, NULL, &snap);  the generation, and the pending set if any
 *   lake_hot_fill(l, &snap, tenant, sig, ...); copies active AND pending rows (EAGAIN if a
 *                                              flush completed or started meanwhile)
 *   catalog_list(...);                          one catalog snapshot
 *   lake_hot_check(l, &snap);                   0: the listing and the copy agree
 *
 * With no pending set, "no flush started since begin" is enough. With one, the copy holds
 * the pending rows, so the listing must predate their commit: lake_hot_check reads the
 * catalog's WAL seq after the listing; below pending_seq means not committed yet, else it
 * answers ORASI_EBUSY and the caller begins again passing this snapshot as `after`, which
 * waits until that pending set is dropped (right after its commit). A pending set whose
 * commit cannot be recognised (it covers no new WAL seq, as without a WAL) is waited out
 * at begin. So a query waits for a flush at most in the short window between its commit
 * and its drop, not while it writes Parquet. */
typedef struct {
    uint64_t gen;          /* completed flushes */
    const void *pending;   /* the pending set copied too (NULL: none) */
    uint64_t pending_seq;  /* the WAL seq its commit will record */
} lake_hot_snap_t;
/* Take a snapshot; `after` (may be NULL) is the snapshot whose check said EBUSY: wait
 * until its pending set is dropped first. 0, ORASI_EBUSY (still waiting at deadline_ns,
 * CLOCK_MONOTONIC), ORASI_ECLOSED (closing or frozen). */
int lake_hot_begin(lake_t *l, uint64_t deadline_ns, const lake_hot_snap_t *after,
                   lake_hot_snap_t *snap);
/* Which buffered rows and columns lake_hot_fill copies. */
struct lake_hot_filter {
    int64_t t0, t1;          /* buffers whose time range overlaps [t0, t1] */
    uint64_t colmask;        /* bit i: copy column i of the schema (columns past 63 are
                                always copied); at least one column */
    const uint8_t *trace_id; /* traces: only rows of this trace (16 bytes); NULL = all */
    uint64_t max_rows;       /* stop after this many rows; 0 = all */
};
/* Append the buffered rows of (tenant, sig) that pass `f` to `app` (an appender on a
 * table with the selected columns of colbuf_schema(sig), their types, in schema order), in chunks of
 * duckdb_vector_size() rows; the lake lock is held only while a chunk is copied out of
 * the buffers, never while DuckDB works. *rows receives the number of rows appended.
 * 0, ORASI_EAGAIN (a flush completed or started: begin again), ORASI_ENOMEM,
 * ORASI_EINTERNAL (DuckDB refused a chunk). The caller flushes/destroys the appender. */
int lake_hot_fill(lake_t *l, const lake_hot_snap_t *snap, const char *tenant, int sig,
                  const struct lake_hot_filter *f, duckdb_appender app, uint64_t *rows);
/* After the caller's catalog listing: 0 when it agrees with the copy; ORASI_EAGAIN when a
 * flush completed or started since begin (begin again); ORASI_EBUSY when the pending set
 * was committed meanwhile (begin again with this snapshot as `after`). */
int lake_hot_check(lake_t *l, const lake_hot_snap_t *snap);

#endif
