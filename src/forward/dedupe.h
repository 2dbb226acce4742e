/*
 * dedupe.h — idempotent batches: drop replays of forwarded batches (DESIGN.md §4).
 *
 * Every batch a forwarder sends carries its ids in the header
 *     X-Orasi-Batch: <origin>:<id>,<id>,...      (gRPC: the same metadata key)
 * where <origin> names the sender's queue ([A-Za-z0-9_.-]{1,64}, stable across restarts)
 * and each <id> is "<record>.<part>": the sender's queue record sequence number and the
 * part of that record (a gateway splits a record by destination). A part's bytes never
 * change once written to the sender's queue, so an id names the same bytes forever.
 *
 * A receiver that writes what it accepts to a write-ahead log (bridge, gateway) keeps,
 * per origin, the ids it has logged. For each incoming batch:
 *   every id seen     -> a replay: answer success, log nothing
 *   no id seen        -> new: log it (the ids are marked in flight until the log answers)
 *   some seen         -> ORASI_EEXISTS: the sender re-formed batches after a crash; it
 *                        answers 409 / ABORTED and the sender resends part by part
 *   some in flight    -> ORASI_EBUSY: a retry raced the first attempt; 503, retry later
 *
 * Memory is bounded: per origin the newest `window` ids are remembered (FIFO); an id
 * older than that is treated as new (at-least-once for replays that old). At most
 * DEDUPE_MAX_ORIGINS origins are tracked; batches from more are accepted unchecked and
 * counted (orasi_dedupe_untracked_total).
 *
 * Durability (atomic with the log): the ids travel inside the log record, so after a
 * crash the set is rebuilt from (a) the snapshot file, which covers every record up to
 * dedupe_covered(), plus (b) the ids of the log records after that. The owner must call
 * dedupe_save(seq) BEFORE it checkpoints (deletes) log records <= seq.
 *
 * Thread-safe (one mutex).
 */
#ifndef ORASI_FORWARD_DEDUPE_H
#define ORASI_FORWARD_DEDUPE_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

#define DEDUPE_MAX_IDS 1024 /* ids in one batch header */
#define DEDUPE_MAX_ORIGINS 4096
#define DEDUPE_HEADER "X-Orasi-Batch"

typedef struct {
    char origin[65];
    size_t n;
    uint64_t ids[DEDUPE_MAX_IDS]; /* dedupe_id(record, part) */
} dedupe_batch_t;

static inline uint64_t dedupe_id(uint64_t record, unsigned part)
{
    return record << 8 | (part & 0xff);
}

/* Parse a header value. 0, or ORASI_EPARSE (syntax, empty, bad origin, id 0) /
 * ORASI_ETOOBIG (more than DEDUPE_MAX_IDS ids). */
int dedupe_parse(slice_t header, dedupe_batch_t *out);
/* Append "<origin>:<r>.<p>,..." for ids (formatted as dedupe_parse reads them). */
int dedupe_format(buf_t *out, const char *origin, const uint64_t *ids, size_t n);
/* [A-Za-z0-9_.-]{1,64} */
int dedupe_origin_valid(const char *s, size_t n);

typedef struct dedupe dedupe_t;

enum { DEDUPE_NEW = 0, DEDUPE_REPLAY = 1 };

/* Open with the snapshot at `path` (created at the first save; a missing file is an
 * empty set, a corrupt one is an error: ORASI_ECORRUPT). window 0 = 65536. `name`
 * labels the metrics. */
int dedupe_open(const char *path, size_t window, const char *name, dedupe_t **out, char *err,
                size_t errlen);
void dedupe_close(dedupe_t *d);
/* Log sequence number covered by the loaded snapshot: rebuild from the records after it. */
uint64_t dedupe_covered(const dedupe_t *d);
/* Decide (see above). DEDUPE_NEW marks the ids in flight: call dedupe_end exactly once. */
int dedupe_begin(dedupe_t *d, const dedupe_batch_t *b);
/* The log answered: committed != 0 remembers the ids, else forgets them. */
void dedupe_end(dedupe_t *d, const dedupe_batch_t *b, int committed);
/* Remember ids of a record found in the log during recovery. */
void dedupe_note(dedupe_t *d, const dedupe_batch_t *b);
/* Persist the set as covering log records <= seq (write temp, fsync, rename, fsync dir). */
int dedupe_save(dedupe_t *d, uint64_t seq);
/* Totals for tests and metrics. */
uint64_t dedupe_replays(const dedupe_t *d);
size_t dedupe_origins(const dedupe_t *d);

#endif
