/*
 * wal.h — the durable queue: write-ahead log of the bridge and `orasi run`, and the
 * persistent sending queue of agents and gateways (one module, DESIGN.md §2).
 *
 * A WAL is a directory of segment files holding records; each record gets a sequence
 * number (strictly increasing, starting at 1, never reused even across restarts).
 * Appends are group-committed by one writer thread: every append that arrives while the
 * previous write+fsync runs is written and synced by the next one, and each append's
 * callback runs only after its bytes are durable under the chosen policy:
 *   WAL_SYNC_FSYNC (default)  fdatasync before the callback
 *   WAL_SYNC_OS               write(2) before the callback, the OS flushes later
 *   WAL_SYNC_NONE             callback as soon as the record is queued in memory
 * A byte cap (total bytes of segments not yet checkpointed + queued) turns into
 * ORASI_EFULL for new appends — backpressure, never silent loss.
 *
 * Consumers read records in sequence order with a cursor (wal_read_next) and, when the
 * data is safe elsewhere (published in Parquet, or acknowledged by the upstream), call
 * wal_checkpoint(seq): records <= seq are no longer needed; the checkpoint is persisted
 * and whole segments below it are deleted. After a restart, wal_open recovers: it scans
 * the segments, cuts a torn or corrupt tail (CRC32C mismatch, short record) and
 * positions readers at checkpoint+1, so everything appended and not checkpointed is
 * read again. The on-disk format is specified at the top of wal.c.
 *
 * All file I/O goes through wal_io.h so tests can inject short writes, EIO, ENOSPC and
 * crashes before fsync.
 *
 * Threads: wal_append may be called from any thread; callbacks run on the WAL's writer
 * thread (post them to your loop with loop_post). Reading, checkpointing and closing are
 * thread-safe.
 *
 * Metrics (label wal = metrics_name): orasi_wal_fsync_seconds, orasi_wal_bytes,
 * orasi_wal_oldest_age_seconds, orasi_wal_appends_total, orasi_wal_group_commits_total,
 * orasi_wal_append_errors_total{reason}. Call metrics_shutdown() only after every WAL is
 * closed. Internals and measurements: docs/internals/wal.md.
 */
#ifndef ORASI_WAL_WAL_H
#define ORASI_WAL_WAL_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct wal_io; /* wal_io.h */

enum wal_sync { WAL_SYNC_FSYNC = 0, WAL_SYNC_OS, WAL_SYNC_NONE };

typedef struct wal_options {
    enum wal_sync sync;        /* default WAL_SYNC_FSYNC */
    uint64_t segment_bytes;    /* roll to a new segment past this size (default 64 MiB) */
    uint64_t max_bytes;        /* byte cap -> ORASI_EFULL (default 1 GiB) */
    uint32_t max_record_bytes; /* largest payload (default 64 MiB) */
    const struct wal_io *io;   /* NULL: the real file system */
    const char *metrics_name;  /* label value for this WAL's metrics ("wal", "queue:gw") */
    /* Optional: called on the writer thread after the done() callbacks of each group of
     * records written together (and after those of a group that failed), so a caller
     * can hand their results on in one batch (sink_lake.c: one wake-up of a loop per
     * group, not one per record). */
    void (*group_end)(void *ud);
    void *group_ud;
} wal_options_t;

typedef struct wal wal_t;

/* Called once per append when the record is durable (result 0) or failed (negative:
 * ORASI_EIO, ORASI_ENOSPC ...; the record is then NOT in the log and will not be read). */
typedef void (*wal_done_fn)(void *ud, int result, uint64_t seq);

void wal_options_default(wal_options_t *o);

/* Open (creating if needed) the WAL in `dir` and recover it. Returns 0 and *out, or a
 * negative code with a message in err. Caller owns *out. ORASI_EBUSY: another wal_t (in
 * this or another process) has the directory open; ORASI_EUNSUPPORTED: written by a newer
 * format version (never cut). The parent of `dir` must exist. */
int wal_open(const char *dir, const wal_options_t *o, wal_t **out, char *err, size_t errlen);
/* Flush queued appends, stop the writer thread, close files. Pending callbacks run.
 * Close every cursor first; never call it from a done() callback (it joins the writer). */
void wal_close(wal_t *w);

/* Append one record (payload copied). `type` is a caller-defined byte stored with it.
 * Returns 0 when queued (done() will run exactly once), or ORASI_EFULL / ORASI_ETOOBIG /
 * ORASI_ECLOSED immediately, in which case done() is NOT called (also ORASI_ENOMEM, and
 * ORASI_EINVAL for a NULL payload with len > 0). done may be NULL. Sequence numbers are
 * assigned by the writer in queue order; a failed record's number is reused. */
int wal_append(wal_t *w, uint8_t type, const void *payload, size_t len, wal_done_fn done, void *ud);
/* Like wal_append for a payload in n (<= WAL_MAX_PIECES) pieces that are borrowed, not
 * copied: they must stay valid and unchanged until done() has run (or until the call
 * returns an error), and the writer reads them straight from the caller's memory. Saves
 * the copy of each request body (sink_lake.c, fwd.c). Under policy none, whose done()
 * runs before the write, the pieces are copied as by wal_append. */
#define WAL_MAX_PIECES 4
int wal_append_borrowed(wal_t *w, uint8_t type, const struct iovec *iov, int n, wal_done_fn done,
                        void *ud);
/* The highest sequence number. Higher ones in a file name or checkpoint are taken as
 * corruption, so that arithmetic on them can never wrap (2^62 appends is ~146 years at
 * 1 GHz); a record that would get a higher one fails with ORASI_EFULL. */
#define WAL_SEQ_MAX (UINT64_C(1) << 62)
/* Append and wait until durable; returns the result and the sequence number. */
int wal_append_sync(wal_t *w, uint8_t type, const void *payload, size_t len, uint64_t *seq);

/* Reading: a cursor over durable records in sequence order, from checkpoint+1 at open
 * (or from `from_seq` with wal_cursor_seek). */
typedef struct wal_cursor wal_cursor_t;
int wal_cursor_open(wal_t *w, wal_cursor_t **out);
int wal_cursor_seek(wal_cursor_t *c, uint64_t from_seq);
/* Next record: 1 with *seq, *type and *payload (payload valid until the next call on this
 * cursor), 0 at the end of what is durable now, negative on error (ORASI_ECORRUPT: a
 * record went bad on disk after recovery). A position below the oldest record still on
 * disk (checkpointed and deleted) continues at the oldest one present. Any of the out
 * pointers may be NULL. */
int wal_cursor_next(wal_cursor_t *c, uint64_t *seq, uint8_t *type, slice_t *payload);
void wal_cursor_close(wal_cursor_t *c);

/* Records <= seq are no longer needed. Persisted (atomically) before it returns; whole
 * segments below it are deleted. Checkpoints never go backwards (an older seq is a no-op
 * returning 0); seq > wal_durable_seq() is ORASI_EINVAL (wal_last_seq() under WAL_SYNC_NONE).
 * Always fsynced, whatever the sync policy: it also carries the numbering across restarts. */
int wal_checkpoint(wal_t *w, uint64_t seq);

uint64_t wal_last_seq(const wal_t *w); /* last sequence assigned by the writer (0 if none) */
/* Last sequence durable under the policy (written, and synced for WAL_SYNC_FSYNC): what
 * cursors can read. Under WAL_SYNC_NONE callbacks may run before this reaches them. */
uint64_t wal_durable_seq(const wal_t *w);
uint64_t wal_checkpoint_seq(const wal_t *w); /* last checkpoint (0 if none) */
uint64_t wal_bytes(const wal_t *w);          /* bytes on disk + queued, counted for the cap */
/* Wall-clock ns of the oldest record not checkpointed (0 if none): "age of oldest item". */
uint64_t wal_oldest_ns(const wal_t *w);

#endif
