/*
 * lake_upload.h — the lake's background uploader: copies every published Parquet file
 * to an object store (S3) under the same Hive key, and deletes the object once the lake
 * has deleted the file (retention, compaction). docs/internals/objstore.md.
 *
 *   lake file  <data_dir>/lake/tenant=t/signal=s/date=D/hour=H/<uuid>.parquet
 *   object     s3://<bucket>/<prefix>/tenant=t/signal=s/date=D/hour=H/<uuid>.parquet
 *
 * State lives in the catalog database (<data_dir>/catalog.db), in a table of its own
 * that this module creates and alone writes:
 *
 *   objstore_uploads(path TEXT PRIMARY KEY,  -- the file's key = catalog files.path
 *                    state INTEGER,          -- 0 upload started, 1 uploaded
 *                    bytes INTEGER, updated_ns INTEGER)
 *
 * What to do is derived from the catalog at every round, so nothing is lost across a
 * crash or restart and no hook in the lake has to be transactional:
 *   - upload: every row of `files` without an objstore_uploads row in state 1, oldest
 *     first (state 0 is written before the PUT, so an object whose upload was cut short
 *     is known and cleaned up if its file goes away meanwhile);
 *   - delete: every objstore_uploads row whose path is neither in `files` nor in
 *     `deletes` (the lake unlinked the local file after its grace period, so readers of
 *     the bucket get the same grace).
 * PUT and DELETE are idempotent, so doing one twice after a crash is harmless.
 *
 * Failures are retried: each request by the object store itself (max_retries, backoff),
 * then the whole round after an exponential pause of 1 s .. 60 s with jitter. The local
 * file always stays: the SQL engine reads the local lake (it is the query cache); the
 * bucket is the durable, shared copy that other engines (Athena, Trino, Spark, DuckDB)
 * read as it is.
 */
#ifndef ORASI_LAKE_LAKE_UPLOAD_H
#define ORASI_LAKE_LAKE_UPLOAD_H

#include "objstore/objstore.h"

#include <stddef.h>
#include <stdint.h>

typedef struct lake_upload lake_upload_t;

/* Start the uploader for the lake rooted at `root` whose catalog is `catalog_db`, with
 * the S3 options `s3` (copied). The bucket is not contacted here: an unreachable store
 * only delays uploads. 0 or a negative code with a message in err. */
int lake_upload_open(const char *root, const char *catalog_db, const struct objstore_s3_options *s3,
                     lake_upload_t **out, char *err, size_t errlen);
/* Same with a store the caller built (tests, other backends): takes ownership of os. */
int lake_upload_open_store(const char *root, const char *catalog_db, objstore_t *os,
                           uint64_t drain_timeout_ns, lake_upload_t **out, char *err,
                           size_t errlen);
/* Something changed in the catalog (a publish, a deletion): start a round now. NULL ok. */
void lake_upload_kick(lake_upload_t *u);
/* Upload what is pending for up to the drain timeout, then cancel the rest (it resumes
 * at the next start) and free. NULL ok. */
void lake_upload_close(lake_upload_t *u);

struct lake_upload_stats {
    uint64_t pending;  /* files not yet uploaded, as of the last round */
    uint64_t uploaded; /* since open */
    uint64_t bytes_uploaded;
    uint64_t deleted; /* objects deleted */
    uint64_t errors;  /* failed uploads or deletes (retried) */
    uint64_t rounds;
};
void lake_upload_stats(lake_upload_t *u, struct lake_upload_stats *s);
/* Wait until a round found nothing to upload or delete, or deadline_ns (CLOCK_MONOTONIC)
 * passed: 0 or ORASI_ETIMEOUT. It kicks a round first. For tests and admin. */
int lake_upload_wait_idle(lake_upload_t *u, uint64_t deadline_ns);

#endif
