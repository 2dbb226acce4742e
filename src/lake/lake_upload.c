/*
 * lake_upload.c — the lake's background uploader to an object store (see lake_upload.h
 * for the model; docs/internals/objstore.md for the story).
 *
 * One thread. It wakes on lake_upload_kick (after a publish or a deletion), every
 * RESCAN_NS anyway (a kick may come while a round runs), or after its backoff. A round
 * reads at most BATCH paths to upload and BATCH to delete, in short read transactions
 * that end before any network I/O, and loops again at once while it found full batches.
 */
#include "lake/lake_upload.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#define NS_PER_S 1000000000ull
#define RESCAN_NS (5 * NS_PER_S)
#define BACKOFF_MIN_NS NS_PER_S
#define BACKOFF_MAX_NS (60 * NS_PER_S)
#define BATCH 64

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS objstore_uploads("
    " path TEXT PRIMARY KEY, state INTEGER NOT NULL, bytes INTEGER NOT NULL DEFAULT 0,"
    " updated_ns INTEGER NOT NULL DEFAULT 0);";

/* Files of the catalog not yet uploaded, oldest first. */
static const char *const pending_sql =
    "SELECT f.path FROM files f WHERE NOT EXISTS (SELECT 1 FROM objstore_uploads o"
    " WHERE o.path = f.path AND o.state = 1) ORDER BY f.created_ns LIMIT ?1";
static const char *const count_sql =
    "SELECT count(*) FROM files f WHERE NOT EXISTS (SELECT 1 FROM objstore_uploads o"
    " WHERE o.path = f.path AND o.state = 1)";
/* Objects whose file the lake has deleted for good. */
static const char *const gone_sql =
    "SELECT o.path FROM objstore_uploads o WHERE"
    " NOT EXISTS (SELECT 1 FROM files f WHERE f.path = o.path) AND"
    " NOT EXISTS (SELECT 1 FROM deletes d WHERE d.path = o.path) LIMIT ?1";
static const char *const listed_sql = "SELECT 1 FROM files WHERE path = ?1";
static const char *const start_sql =
    "INSERT INTO objstore_uploads(path, state, bytes, updated_ns) VALUES(?1, 0, 0, ?2)"
    " ON CONFLICT(path) DO NOTHING";
static const char *const done_sql =
    "UPDATE objstore_uploads SET state = 1, bytes = ?2, updated_ns = ?3 WHERE path = ?1";
static const char *const forget_sql = "DELETE FROM objstore_uploads WHERE path = ?1";

struct up_metrics {
    metric_t *pending, *uploads, *bytes, *errors, *deletes;
};

struct lake_upload {
    char *root;
    sqlite3 *db;
    objstore_t *os;
    uint64_t drain_ns;

    pthread_mutex_t mu;
    pthread_cond_t wake; /* the thread: kicked, closing, stop */
    pthread_cond_t idle; /* a round found nothing to do; the thread exited */
    int kicked, closing, stop, exited, started;
    uint64_t round_seq;  /* rounds started */
    uint64_t idle_round; /* the last round (by round_seq) that found nothing to do */
    pthread_t th;

    struct lake_upload_stats st;
    struct up_metrics m;
};

/* ---- SQLite helpers ------------------------------------------------------------------- */

static int db_err(int rc)
{
    switch (rc) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_NOMEM:
        return ORASI_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ORASI_EBUSY;
    case SQLITE_FULL:
        return ORASI_ENOSPC;
    default:
        return ORASI_EIO;
    }
}

/* Run one statement with up to two text/int64 parameters, no result rows. */
static int db_exec(struct lake_upload *u, const char *sql, const char *p1, int64_t p2, int64_t p3,
                   int nint)
{
    sqlite3_stmt *st = NULL;
    int rc = db_err(sqlite3_prepare_v2(u->db, sql, -1, &st, NULL));
    if (!rc) {
        sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
        if (nint >= 1)
            sqlite3_bind_int64(st, 2, p2);
        if (nint >= 2)
            sqlite3_bind_int64(st, 3, p3);
        rc = db_err(sqlite3_step(st));
    }
    sqlite3_finalize(st);
    return rc;
}

/* Collect up to `max` first-column strings of a query (bound ?1 = max). */
static int db_paths(struct lake_upload *u, const char *sql, char **out, size_t max, size_t *n)
{
    sqlite3_stmt *st = NULL;
    *n = 0;
    int rc = db_err(sqlite3_prepare_v2(u->db, sql, -1, &st, NULL));
    if (!rc)
        sqlite3_bind_int64(st, 1, (int64_t)max);
    while (!rc && *n < max) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            rc = db_err(s);
            break;
        }
        const char *p = (const char *)sqlite3_column_text(st, 0);
        if (!p)
            continue;
        if (!(out[*n] = orasi_strdup(p))) {
            rc = ORASI_ENOMEM;
            break;
        }
        (*n)++;
    }
    sqlite3_finalize(st);
    return rc;
}

static int db_count(struct lake_upload *u, const char *sql, const char *p1, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    *v = 0;
    int rc = db_err(sqlite3_prepare_v2(u->db, sql, -1, &st, NULL));
    if (!rc && p1)
        sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
    if (!rc) {
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW)
            *v = sqlite3_column_int64(st, 0);
        else if (s != SQLITE_DONE)
            rc = db_err(s);
    }
    sqlite3_finalize(st);
    return rc;
}

static void free_paths(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        orasi_free(v[i]);
}

/* ---- one round ------------------------------------------------------------------------------- */

static void bump(struct lake_upload *u, uint64_t *field, uint64_t by)
{
    pthread_mutex_lock(&u->mu);
    *field += by;
    pthread_mutex_unlock(&u->mu);
}

/* Upload pending files, then delete objects of deleted files. *more = a batch was full. */
static int run_round(struct lake_upload *u, int *more)
{
    char *paths[BATCH];
    char err[512], local[PATH_MAX];
    size_t n = 0;
    int64_t pending = 0;
    int soft = 0; /* a failure that must not stop the round, but causes a backoff */
    int rc = db_count(u, count_sql, NULL, &pending);
    *more = 0;
    if (rc)
        return rc;
    metric_set(u->m.pending, (double)pending);
    pthread_mutex_lock(&u->mu);
    u->st.pending = (uint64_t)pending;
    pthread_mutex_unlock(&u->mu);

    if ((rc = db_paths(u, pending_sql, paths, BATCH, &n)))
        return rc;
    *more = n == BATCH;
    for (size_t i = 0; i < n && !rc; i++) {
        int len = snprintf(local, sizeof(local), "%s/%s", u->root, paths[i]);
        if (len < 0 || (size_t)len >= sizeof(local)) {
            LOG_E("lake-upload", "path too long: %s", paths[i]);
            continue;
        }
        /* state 0 first: from now on the object may exist and must be cleaned up */
        if ((rc = db_exec(u, start_sql, paths[i], (int64_t)clock_wall_ns(), 0, 1)))
            break;
        struct stat sb;
        if (stat(local, &sb) != 0) {
            /* the file went away meanwhile (compaction, retention): fine if the catalog
             * no longer lists it; the delete pass below removes any partial object */
            int64_t listed = 0;
            if ((rc = db_count(u, listed_sql, paths[i], &listed)))
                break;
            if (!listed)
                continue;
            LOG_E("lake-upload", "%s is in the catalog but cannot be read: %s", paths[i],
                  strerror(errno));
            metric_inc(u->m.errors);
            bump(u, &u->st.errors, 1);
            soft = ORASI_ENOTFOUND; /* go on with the others, then back off */
            continue;
        }
        uint64_t size = (uint64_t)sb.st_size;
        /* any failure here is the store's (a 404 is NoSuchBucket): back off and retry */
        int prc = objstore_put_file(u->os, paths[i], local, err, sizeof(err));
        if (prc) {
            LOG_W("lake-upload", "upload of %s failed (will retry): %s", paths[i], err);
            metric_inc(u->m.errors);
            bump(u, &u->st.errors, 1);
            rc = prc;
            break;
        }
        if ((rc = db_exec(u, done_sql, paths[i], (int64_t)size, (int64_t)clock_wall_ns(), 2)))
            break;
        metric_inc(u->m.uploads);
        metric_add(u->m.bytes, (double)size);
        pthread_mutex_lock(&u->mu);
        u->st.uploaded++;
        u->st.bytes_uploaded += size;
        if (u->st.pending)
            u->st.pending--;
        pthread_mutex_unlock(&u->mu);
        LOG_D("lake-upload", "uploaded %s (%llu bytes)", paths[i], (unsigned long long)size);
    }
    free_paths(paths, n);
    if (rc)
        return rc;

    if ((rc = db_paths(u, gone_sql, paths, BATCH, &n)))
        return rc;
    *more |= n == BATCH;
    for (size_t i = 0; i < n && !rc; i++) {
        int drc = objstore_delete(u->os, paths[i], err, sizeof(err));
        if (drc) {
            LOG_W("lake-upload", "delete of object %s failed (will retry): %s", paths[i], err);
            metric_inc(u->m.errors);
            bump(u, &u->st.errors, 1);
            rc = drc;
            break;
        }
        if ((rc = db_exec(u, forget_sql, paths[i], 0, 0, 0)))
            break;
        metric_inc(u->m.deletes);
        bump(u, &u->st.deleted, 1);
        LOG_D("lake-upload", "deleted object %s", paths[i]);
    }
    free_paths(paths, n);
    return rc ? rc : soft;
}

/* ---- the thread --------------------------------------------------------------------------- */

static uint64_t jitter(uint64_t d)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint32_t)clock_mono_ns();
    return d / 2 + (uint64_t)r % (d / 2 + 1);
}

static void wait_ns(struct lake_upload *u, uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t until = (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec + ns;
    ts.tv_sec = (time_t)(until / NS_PER_S);
    ts.tv_nsec = (long)(until % NS_PER_S);
    pthread_cond_timedwait(&u->wake, &u->mu, &ts);
}

static void *up_main(void *arg)
{
    struct lake_upload *u = arg;
    pthread_setname_np(pthread_self(), "lake-upload");
    uint64_t backoff = 0;
    int failing = 0;
    pthread_mutex_lock(&u->mu);
    for (;;) {
        if (u->stop)
            break;
        if (backoff)
            wait_ns(u, backoff); /* kicks do not cut a backoff short, closing does */
        else if (!u->kicked && !u->closing)
            wait_ns(u, RESCAN_NS);
        if (u->stop)
            break;
        u->kicked = 0;
        uint64_t my_round = ++u->round_seq;
        pthread_mutex_unlock(&u->mu);
        int more = 0;
        int rc = run_round(u, &more);
        pthread_mutex_lock(&u->mu);
        u->st.rounds++;
        if (rc) {
            if (!failing)
                LOG_W("lake-upload", "object store round failed: %s (retrying with backoff)",
                      orasi_strerror(rc));
            failing = 1;
            backoff = backoff ? backoff * 2 : BACKOFF_MIN_NS;
            if (backoff > BACKOFF_MAX_NS)
                backoff = BACKOFF_MAX_NS;
            backoff = jitter(backoff) + BACKOFF_MIN_NS / 2;
            if (u->closing && backoff > NS_PER_S)
                backoff = NS_PER_S; /* draining: keep trying until the deadline */
            continue;
        }
        if (failing)
            LOG_I("lake-upload", "object store reachable again; uploads resumed");
        failing = 0;
        backoff = 0;
        if (more) {
            u->kicked = 1;
            continue;
        }
        u->idle_round = my_round;
        pthread_cond_broadcast(&u->idle);
        if (u->closing)
            break;
    }
    u->exited = 1;
    pthread_cond_broadcast(&u->idle);
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

/* ---- API ------------------------------------------------------------------------------------- */

static void up_free(struct lake_upload *u)
{
    if (!u)
        return;
    if (u->db)
        sqlite3_close_v2(u->db);
    objstore_close(u->os);
    pthread_cond_destroy(&u->wake);
    pthread_cond_destroy(&u->idle);
    pthread_mutex_destroy(&u->mu);
    orasi_free(u->root);
    orasi_free(u);
}

int lake_upload_open_store(const char *root, const char *catalog_db, objstore_t *os,
                           uint64_t drain_timeout_ns, lake_upload_t **out, char *err, size_t errlen)
{
    int rc = ORASI_ENOMEM;
    char *emsg = NULL;
    struct lake_upload *u = orasi_calloc(1, sizeof(*u));
    *out = NULL;
    if (!u) {
        objstore_close(os);
        snprintf(err, errlen, "lake upload: out of memory");
        return ORASI_ENOMEM;
    }
    u->os = os;
    u->drain_ns = drain_timeout_ns;
    pthread_mutex_init(&u->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&u->wake, &ca);
    pthread_cond_init(&u->idle, &ca);
    pthread_condattr_destroy(&ca);
    if (!(u->root = orasi_strdup(root))) {
        snprintf(err, errlen, "lake upload: out of memory");
        goto fail;
    }
    int src =
        sqlite3_open_v2(catalog_db, &u->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src == SQLITE_OK) {
        sqlite3_busy_timeout(u->db, 10000);
        src = sqlite3_exec(u->db, schema_sql, NULL, NULL, &emsg);
    }
    if (src != SQLITE_OK) {
        snprintf(err, errlen, "lake upload: catalog %s: %s", catalog_db,
                 emsg    ? emsg
                 : u->db ? sqlite3_errmsg(u->db)
                         : sqlite3_errstr(src));
        sqlite3_free(emsg);
        rc = db_err(src);
        if (!rc)
            rc = ORASI_EIO;
        goto fail;
    }
    metric_family_t *f;
    f = metrics_gauge("orasi_lake_upload_pending_files",
                      "Published lake files not yet in the object store", 0, NULL);
    u->m.pending = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_uploads_total", "Lake files uploaded to the object store", 0,
                        NULL);
    u->m.uploads = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_upload_bytes_total", "Bytes uploaded to the object store", 0,
                        NULL);
    u->m.bytes = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_upload_errors_total",
                        "Failed object store uploads or deletes (retried)", 0, NULL);
    u->m.errors = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_object_deletes_total",
                        "Objects deleted after the lake deleted their file", 0, NULL);
    u->m.deletes = metric_series(f, NULL);
    u->kicked = 1; /* resume what a previous run left pending */
    if (pthread_create(&u->th, NULL, up_main, u) != 0) {
        rc = ORASI_ESYS;
        snprintf(err, errlen, "lake upload: cannot start the uploader thread");
        goto fail;
    }
    u->started = 1;
    *out = u;
    return 0;
fail:
    up_free(u);
    return rc;
}

int lake_upload_open(const char *root, const char *catalog_db, const struct objstore_s3_options *s3,
                     lake_upload_t **out, char *err, size_t errlen)
{
    objstore_t *os = NULL;
    *out = NULL;
    int rc = objstore_s3_open(s3, &os, err, errlen);
    if (rc)
        return rc;
    rc = lake_upload_open_store(root, catalog_db, os, s3->drain_timeout, out, err, errlen);
    if (!rc)
        LOG_I("lake-upload", "uploading the lake to s3 bucket %s%s%s", s3->bucket ? s3->bucket : "",
              s3->prefix && s3->prefix[0] ? " prefix " : "", s3->prefix ? s3->prefix : "");
    return rc;
}

void lake_upload_kick(lake_upload_t *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->mu);
    u->kicked = 1;
    pthread_cond_signal(&u->wake);
    pthread_mutex_unlock(&u->mu);
}

void lake_upload_close(lake_upload_t *u)
{
    if (!u)
        return;
    if (u->started) {
        uint64_t deadline = clock_mono_ns() + u->drain_ns;
        pthread_mutex_lock(&u->mu);
        u->closing = 1;
        pthread_cond_signal(&u->wake);
        while (!u->exited) {
            uint64_t now = clock_mono_ns();
            if (now >= deadline) {
                /* out of time: cut the transfer in flight; the rest resumes at the next
                 * start (the catalog still lists those files as pending) */
                u->stop = 1;
                objstore_cancel(u->os, 1);
                pthread_cond_signal(&u->wake);
                LOG_W("lake-upload", "drain timeout: %llu files left for the next start",
                      (unsigned long long)u->st.pending);
                break;
            }
            struct timespec ts = {(time_t)(deadline / NS_PER_S), (long)(deadline % NS_PER_S)};
            pthread_cond_timedwait(&u->idle, &u->mu, &ts);
        }
        pthread_mutex_unlock(&u->mu);
        pthread_join(u->th, NULL);
    }
    up_free(u);
}

void lake_upload_stats(lake_upload_t *u, struct lake_upload_stats *s)
{
    pthread_mutex_lock(&u->mu);
    *s = u->st;
    pthread_mutex_unlock(&u->mu);
}

int lake_upload_wait_idle(lake_upload_t *u, uint64_t deadline_ns)
{
    int rc = 0;
    pthread_mutex_lock(&u->mu);
    /* a round already running may have missed the latest changes: wait for one that
     * starts after this call */
    uint64_t want = u->round_seq + 1;
    u->kicked = 1;
    pthread_cond_signal(&u->wake);
    while (u->idle_round < want && !u->exited) {
        if (clock_mono_ns() >= deadline_ns) {
            rc = ORASI_ETIMEOUT;
            break;
        }
        struct timespec ts = {(time_t)(deadline_ns / NS_PER_S), (long)(deadline_ns % NS_PER_S)};
        pthread_cond_timedwait(&u->idle, &u->mu, &ts);
    }
    pthread_mutex_unlock(&u->mu);
    return rc;
}
