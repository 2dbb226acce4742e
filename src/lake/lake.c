/*
 * lake.c — buffers per (tenant, signal, hour), the flusher, the maintenance thread and
 * crash recovery of the lake (see lake.h; the whole story in docs/internals/lake.md).
 *
 * Locking: `mu` guards the active buffers, the pending (being flushed) set and every
 * counter below. The flusher takes the active set under the lock in O(1) (a list swap)
 * and does all I/O without it, so appends never wait for disk or DuckDB.
 *
 * Exactly once, in one paragraph: appends carry the WAL sequence number of their
 * record, in order, so "every record <= applied_seq is in the buffers or published".
 * A flush detaches ALL buffers together with applied_seq, writes them, and commits the
 * files and that seq in one catalog transaction. At open, any file the catalog does not
 * list is deleted, and the caller replays the WAL after the catalog's seq: each record
 * ends up in exactly one published file.
 */
#include "lake/lake.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "lake/bloom.h"
#include "lake/flatten.h"
#include "lake/lake_upload.h"
#include "lake/parquet.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull
#define NS_PER_HOUR (3600ull * NS_PER_S)
#define LAKE_MAX_BUFFERS 4096 /* distinct (tenant, signal, hour) tables buffered at once */
#define LAKE_SPARE_MAX 8 /* emptied tables kept for reuse */

/* ---- options ------------------------------------------------------------------------------ */

static const char *const wal_sync_choices[] = {"fsync", "os", "none", NULL};
static const char *const store_choices[] = {"local", "s3", NULL};
static const char *const writer_choices[] = {"duckdb", "native", NULL};

#define OPT(name, type, def, field, mn, mx, doc)                                              \
    {name, type, def, offsetof(struct lake_options, field), mn, mx, doc, NULL, 0}

const config_option_t lake_config_options[] = {
    OPT("flush_interval", CONFIG_DURATION, "10s", flush_interval, 0, 0,
        "oldest buffered row age that forces a flush to Parquet"),
    OPT("flush_rows", CONFIG_INT, "1000000", flush_rows, 1, 1e12,
        "rows in one (tenant, signal, hour) buffer that force a flush"),
    OPT("flush_bytes", CONFIG_SIZE, "256MiB", flush_bytes, 0, 0,
        "buffered bytes (all buffers) that force a flush"),
    OPT("max_buffer_bytes", CONFIG_SIZE, "1GiB", max_buffer_bytes, 0, 0,
        "buffered plus in-flight bytes past which new data is refused (429)"),
    OPT("retention_traces", CONFIG_DURATION, "7d", retention_traces, 0, 0,
        "age after which trace partitions are deleted (0 = keep)"),
    OPT("retention_logs", CONFIG_DURATION, "30d", retention_logs, 0, 0,
        "age after which log partitions are deleted (0 = keep)"),
    OPT("retention_metrics", CONFIG_DURATION, "30d", retention_metrics, 0, 0,
        "age after which metric partitions are deleted (0 = keep)"),
    OPT("maintenance_interval", CONFIG_DURATION, "1m", maintenance_interval, 0, 0,
        "period of retention, compaction and delayed unlinks"),
    OPT("compaction", CONFIG_BOOL, "true", compaction, 0, 0,
        "merge the small files of past hours"),
    OPT("compaction_min_files", CONFIG_INT, "4", compaction_min_files, 2, 100000,
        "merge a past hour once it has this many small files"),
    OPT("compaction_target_bytes", CONFIG_SIZE, "128MiB", compaction_target_bytes, 0, 0,
        "files smaller than this are merged"),
    OPT("delete_grace", CONFIG_DURATION, "1m", delete_grace, 0, 0,
        "delay before replaced or expired files are unlinked (readers may still use them)"),
    OPT("duckdb_threads", CONFIG_INT, "1", duckdb_threads, 1, 256,
        "DuckDB threads used to sort and encode one Parquet file"),
    OPT("duckdb_memory_limit", CONFIG_STR, NULL, duckdb_memory_limit, 0, 0,
        "DuckDB memory limit per writer (e.g. 1GB); empty = DuckDB's default"),
    OPT("zstd_level", CONFIG_INT, "1", zstd_level, 1, 22, "Parquet ZSTD compression level"),
    {"parquet_writer", CONFIG_ENUM, "native", offsetof(struct lake_options, parquet_writer), 0, 0,
     "who encodes flushed buffers as Parquet: native (Orasi's own writer, pqwrite.c) or duckdb "
     "(COPY through the embedded DuckDB); same columns, types and values. Compaction always "
     "merges with DuckDB", writer_choices, 0},
    {"wal_sync", CONFIG_ENUM, "fsync", offsetof(struct lake_options, wal_sync), 0, 0,
     "write-ahead log durability: fsync before acknowledging, os, or none", wal_sync_choices,
     0},
    OPT("wal_max_bytes", CONFIG_SIZE, "1GiB", wal_max_bytes, 0, 0,
        "write-ahead log cap; past it clients get 429"),
    OPT("wal_segment_bytes", CONFIG_SIZE, "64MiB", wal_segment_bytes, 0, 0,
        "write-ahead log segment size"),
    {"store", CONFIG_ENUM, "local", offsetof(struct lake_options, store), 0, 0,
     "where published files also go: local (the lake directory only) or s3 (also uploaded "
     "to the bucket of lake.s3, same Hive layout; the local copy stays as the query cache)",
     store_choices, 0},
    {"s3", CONFIG_SECTION, NULL, 0, 0, 0,
     "S3-compatible object store for store: s3 (options: lake.s3)", NULL, 0},
    {0},
};

void lake_options_default(struct lake_options *o)
{
    memset(o, 0, sizeof(*o));
    o->flush_interval = 10 * NS_PER_S;
    o->flush_rows = 1000000;
    o->flush_bytes = 256ull << 20;
    o->max_buffer_bytes = 1ull << 30;
    o->retention_traces = 7 * 24 * NS_PER_HOUR;
    o->retention_logs = 30 * 24 * NS_PER_HOUR;
    o->retention_metrics = 30 * 24 * NS_PER_HOUR;
    o->maintenance_interval = 60 * NS_PER_S;
    o->compaction = 1;
    o->compaction_min_files = 4;
    o->compaction_target_bytes = 128ull << 20;
    o->delete_grace = 60 * NS_PER_S;
    o->duckdb_threads = 1;
    o->zstd_level = 1;
    o->parquet_writer = 1;
    o->wal_sync = 0;
    o->wal_max_bytes = 1ull << 30;
    o->wal_segment_bytes = 64ull << 20;
    objstore_s3_options_default(&o->s3);
}

/* ---- state ------------------------------------------------------------------------------------ */

struct lake_buf {
    struct lake_buf *next;
    char tenant[65];
    int sig;
    int64_t part_ns;
    colbuf_table_t *t;
    /* set once written (flusher only): */
    int written;
    char rel[320];
    catalog_file_t file;
    bloom_t bloom;
};

struct lake_metrics {
    metric_t *rows_buffered, *bytes_buffered, *files, *bytes_written, *flush_seconds,
        *flush_errors, *compactions, *compacted, *retention_runs, *expired, *rows[LAKE_SIG_COUNT];
};

struct lake {
    struct lake_options o;
    char *data_dir, *root, *tmp_dir, *memory_limit;
    catalog_t *cat;
    parquet_writer_t *fw; /* flusher's */
    parquet_writer_t *mw; /* maintenance's */

    pthread_mutex_t mu;
    pthread_cond_t wake;     /* flusher: work to do / stop */
    pthread_cond_t done;     /* flush completed */
    pthread_cond_t mwake;    /* maintenance thread */
    pthread_mutex_t maint_mu; /* one maintenance run at a time */

    struct lake_buf *bufs;   /* active */
    size_t nbufs;
    uint64_t oldest_mono;    /* first append into the active set (0 = empty) */
    uint64_t active_rows, active_bytes;
    struct lake_buf *pending; /* detached, being flushed */
    /* emptied tables of published buffers, reused by new buffers of the same signal so a
     * steady load neither allocates nor page-faults its buffers again (capped) */
    colbuf_table_t *spare[LAKE_SPARE_MAX];
    size_t nspare, spare_bytes;
    uint64_t pending_seq, pending_gen, pending_rows, pending_bytes;
    uint64_t applied_seq, hole_seq, published_seq;
    uint64_t acked_seq; /* lake_acked: answered before appended (read-your-writes) */
    uint64_t open_seq; /* published seq found at open (immutable) */
    uint64_t flush_req, flush_done;
    int flush_err;
    int stop, started_flusher, started_maint;
    int crash_point, crashed;
    pthread_t flusher, maint;
    lake_upload_t *up; /* uploader to the object store (store: s3), else NULL */

    flatten_t fl;
    const char *cur_tenant;
    size_t cur_tenant_len;
    struct lake_buf *last_buf; /* lookup cache for the current append */
    /* tables touched by the current append with their state before it, so a failed
     * record is undone entirely (a record is all in the buffers or not at all) */
    struct lake_touch {
        struct lake_buf *b;
        colbuf_mark_t m;
    } *touch;
    size_t ntouch, touch_cap;

    struct lake_stats st;
    struct lake_metrics m;
};

/* ---- helpers ------------------------------------------------------------------------------- */

static int64_t hour_floor(int64_t ts)
{
    if (ts < 0)
        ts = 0;
    return ts - ts % (int64_t)NS_PER_HOUR;
}

static void part_date(int64_t part_ns, char date[11], int *hour)
{
    time_t s = (time_t)(part_ns / (int64_t)NS_PER_S);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(date, 11, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
    *hour = tm.tm_hour;
}

static void uuid4(char out[37])
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n <= 0) {
            /* never expected; fall back to clock bits so names stay unique-ish */
            uint64_t t = clock_wall_ns() ^ clock_mono_ns();
            memcpy(b, &t, 8);
            t *= 0x9e3779b97f4a7c15ull;
            memcpy(b + 8, &t, 8);
            break;
        }
        got += (size_t)n;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return orasi_err_from_errno(errno);
    int rc = fsync(fd) ? orasi_err_from_errno(errno) : 0;
    close(fd);
    return rc;
}

/* mkdir -p; every directory created is made durable by fsyncing its parent. */
static int mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof(tmp))
        return ORASI_ETOOBIG;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != 0)
            continue;
        char save = tmp[i];
        tmp[i] = 0;
        if (mkdir(tmp, 0755) == 0) {
            char *slash = strrchr(tmp, '/');
            if (slash && slash != tmp) {
                *slash = 0;
                fsync_path(tmp, 1);
                *slash = '/';
            }
        } else if (errno != EEXIST) {
            return orasi_err_from_errno(errno);
        }
        tmp[i] = save;
    }
    return 0;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = orasi_malloc(la + 1 + lb + 1);
    if (p) {
        memcpy(p, a, la);
        p[la] = '/';
        memcpy(p + la + 1, b, lb + 1);
    }
    return p;
}

static int tenant_ok(slice_t t)
{
    if (t.len == 0 || t.len > 64)
        return 0;
    if ((t.len == 1 && t.p[0] == '.') || (t.len == 2 && t.p[0] == '.' && t.p[1] == '.'))
        return 0;
    for (size_t i = 0; i < t.len; i++) {
        uint8_t c = t.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static void metrics_init(struct lake_metrics *m)
{
    static const double flush_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                          0.5,   1,    2.5,   5,    10,  30};
    metric_family_t *f;
    f = metrics_gauge("orasi_lake_rows_buffered", "Rows buffered in memory, not yet in Parquet",
                      0, NULL);
    m->rows_buffered = metric_series(f, NULL);
    f = metrics_gauge("orasi_lake_bytes_buffered", "Bytes of memory held by lake buffers", 0,
                      NULL);
    m->bytes_buffered = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_rows_total", "Rows appended to the lake buffers, by table",
                        1, (const char *[]){"signal"});
    for (int i = 0; i < LAKE_SIG_COUNT; i++)
        m->rows[i] = metric_series(f, (const char *[]){colbuf_sig_name(i)});
    f = metrics_counter("orasi_lake_files_published_total", "Parquet files published", 0, NULL);
    m->files = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_bytes_written_total", "Bytes of Parquet published", 0, NULL);
    m->bytes_written = metric_series(f, NULL);
    f = metrics_histogram("orasi_lake_flush_seconds",
                          "Time to write and publish one flush (all buffers)", 0, NULL,
                          (int)(sizeof(flush_bounds) / sizeof(flush_bounds[0])), flush_bounds);
    m->flush_seconds = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_flush_errors_total", "Flushes that failed (retried)", 0,
                        NULL);
    m->flush_errors = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_compaction_runs_total", "Partitions compacted", 0, NULL);
    m->compactions = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_compaction_files_merged_total",
                        "Files merged away by compaction", 0, NULL);
    m->compacted = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_retention_runs_total", "Retention passes", 0, NULL);
    m->retention_runs = metric_series(f, NULL);
    f = metrics_counter("orasi_lake_retention_files_deleted_total",
                        "Files removed from the catalog by retention", 0, NULL);
    m->expired = metric_series(f, NULL);
}

static void buf_destroy(struct lake_buf *b)
{
    colbuf_table_destroy(b->t);
    bloom_free(&b->bloom);
    orasi_free(b);
}

static void bufs_destroy(struct lake_buf *b)
{
    while (b) {
        struct lake_buf *n = b->next;
        buf_destroy(b);
        b = n;
    }
}

/* Published buffers: keep their tables (emptied) for reuse while the pool has room —
 * at most LAKE_SPARE_MAX tables holding half of max_buffer_bytes (a table filled to
 * flush_rows spans holds ~300 MB of arrays and heap) — else free them. */
static void bufs_recycle(lake_t *l, struct lake_buf *b)
{
    while (b) {
        struct lake_buf *n = b->next;
        colbuf_table_t *t = b->t;
        colbuf_table_reset(t); /* outside the lock: it walks the columns */
        size_t cap = colbuf_table_capacity(t);
        pthread_mutex_lock(&l->mu);
        if (!l->stop && l->nspare < LAKE_SPARE_MAX &&
            l->spare_bytes + cap <= l->o.max_buffer_bytes / 2) {
            l->spare[l->nspare++] = t;
            l->spare_bytes += cap;
            b->t = NULL;
        }
        pthread_mutex_unlock(&l->mu);
        buf_destroy(b);
        b = n;
    }
}

/* A spare table of signal sig, or NULL. Under mu. */
static colbuf_table_t *spare_take(lake_t *l, int sig)
{
    for (size_t i = l->nspare; i-- > 0;) {
        colbuf_table_t *t = l->spare[i];
        if (t->schema->sig != sig)
            continue;
        l->spare[i] = l->spare[--l->nspare];
        l->st.tables_reused++;
        size_t cap = colbuf_table_capacity(t);
        l->spare_bytes = l->spare_bytes > cap ? l->spare_bytes - cap : 0;
        return t;
    }
    return NULL;
}

/* ---- appending ------------------------------------------------------------------------------ */

/* Remember b's state before the current append touches it. */
static int touch(lake_t *l, struct lake_buf *b)
{
    for (size_t i = 0; i < l->ntouch; i++)
        if (l->touch[i].b == b)
            return 0;
    if (l->ntouch == l->touch_cap) {
        size_t ncap = l->touch_cap ? l->touch_cap * 2 : 8;
        struct lake_touch *nt = orasi_realloc(l->touch, ncap * sizeof(*nt));
        if (!nt)
            return ORASI_ENOMEM;
        l->touch = nt;
        l->touch_cap = ncap;
    }
    l->touch[l->ntouch].b = b;
    colbuf_mark(b->t, &l->touch[l->ntouch].m);
    l->ntouch++;
    return 0;
}

/* flatten_table_fn: the active table of (current tenant, sig, hour of ts). Under mu. */
static colbuf_table_t *table_for(void *ctx, int sig, int64_t ts, int *err)
{
    lake_t *l = ctx;
    int64_t part = hour_floor(ts);
    struct lake_buf *b = l->last_buf;
    if (b && b->sig == sig && b->part_ns == part)
        return b->t; /* last_buf is always already touched */
    for (b = l->bufs; b; b = b->next)
        if (b->sig == sig && b->part_ns == part && strlen(b->tenant) == l->cur_tenant_len &&
            memcmp(b->tenant, l->cur_tenant, l->cur_tenant_len) == 0)
            break;
    if (!b) {
        if (l->nbufs >= LAKE_MAX_BUFFERS) {
            *err = ORASI_EFULL;
            return NULL;
        }
        b = orasi_calloc(1, sizeof(*b));
        if (b)
            b->t = spare_take(l, sig);
        if (!b || (!b->t && !(b->t = colbuf_table_create(sig, l->o.max_buffer_bytes)))) {
            orasi_free(b);
            *err = ORASI_ENOMEM;
            return NULL;
        }
        memcpy(b->tenant, l->cur_tenant, l->cur_tenant_len);
        b->sig = sig;
        b->part_ns = part;
        b->next = l->bufs;
        l->bufs = b;
        l->nbufs++;
    }
    if ((*err = touch(l, b)))
        return NULL;
    l->last_buf = b;
    return b->t;
}

/* Recount the active set (few buffers) and wake the flusher past a threshold. */
static void after_append(lake_t *l, uint64_t rows_before)
{
    uint64_t rows = 0, bytes = 0, maxrows = 0;
    for (struct lake_buf *b = l->bufs; b; b = b->next) {
        rows += b->t->rows;
        bytes += colbuf_table_bytes(b->t);
        if (b->t->rows > maxrows)
            maxrows = b->t->rows;
    }
    l->st.rows_appended += rows - rows_before;
    l->active_rows = rows;
    l->active_bytes = bytes;
    if (rows && !l->oldest_mono)
        l->oldest_mono = clock_mono_ns();
    metric_set(l->m.rows_buffered, (double)(rows + l->pending_rows));
    metric_set(l->m.bytes_buffered, (double)(bytes + l->pending_bytes));
    if (maxrows >= l->o.flush_rows || (l->o.flush_bytes && bytes >= l->o.flush_bytes))
        pthread_cond_signal(&l->wake);
}

enum { APPEND_TRACES, APPEND_LOGS, APPEND_METRICS };

static int append(lake_t *l, slice_t tenant, int what, const void *model, uint64_t seq)
{
    if (!tenant_ok(tenant))
        return ORASI_EINVAL;
    pthread_mutex_lock(&l->mu);
    if (l->hole_seq) {
        /* frozen by lake_hold: nothing more may enter until a restart replays the WAL */
        pthread_mutex_unlock(&l->mu);
        return ORASI_EUNAVAILABLE;
    }
    uint64_t before = l->active_rows;
    l->cur_tenant = (const char *)tenant.p;
    l->cur_tenant_len = tenant.len;
    l->last_buf = NULL;
    l->ntouch = 0;
    int rc;
    if (what == APPEND_TRACES)
        rc = flatten_traces(&l->fl, model);
    else if (what == APPEND_LOGS)
        rc = flatten_logs(&l->fl, model);
    else
        rc = flatten_metrics(&l->fl, model);
    l->cur_tenant = NULL;
    l->last_buf = NULL;
    if (rc) {
        /* undo the whole record; tables it created stay empty (never written) */
        for (size_t i = 0; i < l->ntouch; i++)
            colbuf_rollback(l->touch[i].b->t, &l->touch[i].m);
    } else {
        if (seq > l->applied_seq)
            l->applied_seq = seq;
        for (int i = 0; i < LAKE_SIG_COUNT; i++)
            if (l->fl.rows_by_sig[i])
                metric_add(l->m.rows[i], (double)l->fl.rows_by_sig[i]);
    }
    l->ntouch = 0;
    after_append(l, before);
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int lake_append_traces(lake_t *l, slice_t tenant, const otlp_traces_t *m, uint64_t seq)
{
    return append(l, tenant, APPEND_TRACES, m, seq);
}

int lake_append_logs(lake_t *l, slice_t tenant, const otlp_logs_t *m, uint64_t seq)
{
    return append(l, tenant, APPEND_LOGS, m, seq);
}

int lake_append_metrics(lake_t *l, slice_t tenant, const otlp_metrics_t *m, uint64_t seq)
{
    return append(l, tenant, APPEND_METRICS, m, seq);
}

void lake_hold(lake_t *l, uint64_t seq)
{
    pthread_mutex_lock(&l->mu);
    if (seq && (!l->hole_seq || seq < l->hole_seq)) {
        l->hole_seq = seq;
        LOG_E("lake", "WAL record %llu could not be added to the lake: publishing stops here,"
                      " restart to replay it from the WAL",
              (unsigned long long)seq);
    }
    pthread_mutex_unlock(&l->mu);
}

void lake_acked(lake_t *l, uint64_t seq)
{
    pthread_mutex_lock(&l->mu);
    if (seq > l->acked_seq)
        l->acked_seq = seq;
    pthread_mutex_unlock(&l->mu);
}

/* Under mu: wait until every acknowledged record is appended (lake_acked). Appends are
 * not signalled (a group's take well under a millisecond): poll every 0.2 ms. */
static int wait_acked_locked(lake_t *l, uint64_t deadline_ns)
{
    while (l->acked_seq > l->applied_seq && !l->hole_seq) {
        if (l->crashed || l->stop)
            return ORASI_ECLOSED;
        uint64_t now = clock_mono_ns();
        if (deadline_ns && now >= deadline_ns)
            return ORASI_ETIMEOUT;
        uint64_t until = now + 200000ull;
        if (deadline_ns && until > deadline_ns)
            until = deadline_ns;
        struct timespec ts = {(time_t)(until / NS_PER_S), (long)(until % NS_PER_S)};
        pthread_cond_timedwait(&l->done, &l->mu, &ts);
    }
    return 0;
}

int lake_wait_acked(lake_t *l, uint64_t deadline_ns)
{
    pthread_mutex_lock(&l->mu);
    int rc = wait_acked_locked(l, deadline_ns);
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int lake_healthy(lake_t *l)
{
    pthread_mutex_lock(&l->mu);
    int ok = !l->hole_seq && !l->crashed;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void lake_note_seq(lake_t *l, uint64_t seq)
{
    pthread_mutex_lock(&l->mu);
    if (seq > l->applied_seq)
        l->applied_seq = seq;
    pthread_mutex_unlock(&l->mu);
}

int lake_full(lake_t *l)
{
    pthread_mutex_lock(&l->mu);
    int full = l->o.max_buffer_bytes &&
               l->active_bytes + l->pending_bytes >= l->o.max_buffer_bytes;
    pthread_mutex_unlock(&l->mu);
    return full;
}

/* ---- flushing ------------------------------------------------------------------------------- */

/* The seq a flush of the current active set may publish: every record up to it is
 * complete in the buffers (appends come in seq order and are atomic). */
static uint64_t covered_seq(const lake_t *l)
{
    return l->applied_seq;
}

/* Write one buffer as a Parquet file in its partition: tmp name, fsync, rename, fsync
 * directory. Fills b->file. */
static int write_buf(lake_t *l, struct lake_buf *b, char *err, size_t errlen)
{
    char date[11], uuid[37], dir[PATH_MAX], tmp[PATH_MAX + 64], fin[PATH_MAX + 64];
    int hour;
    part_date(b->part_ns, date, &hour);
    const char *sname = colbuf_sig_name(b->sig);
    uuid4(uuid);
    int n = snprintf(b->rel, sizeof(b->rel), "tenant=%s/signal=%s/date=%s/hour=%02d/%s.parquet",
                     b->tenant, sname, date, hour, uuid);
    if (n < 0 || (size_t)n >= sizeof(b->rel))
        return ORASI_ETOOBIG;
    n = snprintf(dir, sizeof(dir), "%s/tenant=%s/signal=%s/date=%s/hour=%02d", l->root, b->tenant,
                 sname, date, hour);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return ORASI_ETOOBIG;
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s.parquet", dir, uuid);
    snprintf(fin, sizeof(fin), "%s/%s.parquet", dir, uuid);
    int rc = mkdirs(dir);
    if (rc) {
        snprintf(err, errlen, "mkdir %.300s: %s", dir, orasi_strerror(rc));
        return rc;
    }
    uint64_t t0 = clock_mono_ns();
    rc = parquet_write(l->fw, b->t, tmp, err, errlen);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    uint64_t t1 = clock_mono_ns();
    struct stat sb;
    if ((rc = fsync_path(tmp, 0)) || stat(tmp, &sb) != 0) {
        if (!rc)
            rc = orasi_err_from_errno(errno);
        snprintf(err, errlen, "fsync %.300s: %s", tmp, orasi_strerror(rc));
        unlink(tmp);
        return rc;
    }
    if (rename(tmp, fin) != 0) {
        rc = orasi_err_from_errno(errno);
        snprintf(err, errlen, "rename %.300s: %s", tmp, orasi_strerror(rc));
        unlink(tmp);
        return rc;
    }
    rc = fsync_path(dir, 1);
    if (rc) {
        /* the file is in place but maybe not durable: drop it, retry the whole buffer */
        snprintf(err, errlen, "fsync %.300s: %s", dir, orasi_strerror(rc));
        unlink(fin);
        return rc;
    }
    LOG_D("lake", "wrote %s: %zu rows, %lld bytes, encode %.3f s, sync+rename %.3f s", b->rel,
          b->t->rows, (long long)sb.st_size, (double)(t1 - t0) / 1e9,
          (double)(clock_mono_ns() - t1) / 1e9);
    /* Trace-id filter straight from the binary id column. */
    if (b->sig == LAKE_TRACES) {
        rc = bloom_init(&b->bloom, b->t->rows);
        if (rc) {
            unlink(fin);
            return rc;
        }
        const otlp_trace_id_t *ids = b->t->cols[1].v;
        for (size_t i = 0; i < b->t->rows; i++)
            if (ids[i].len == 16)
                bloom_add(&b->bloom, ids[i].id);
    }
    catalog_file_t *f = &b->file;
    memset(f, 0, sizeof(*f));
    f->rel = b->rel;
    f->tenant = b->tenant;
    f->sig = b->sig;
    memcpy(f->date, date, sizeof(f->date));
    f->hour = hour;
    f->part_ns = b->part_ns;
    f->min_ts = b->t->min_ts;
    f->max_ts = b->t->max_ts;
    f->rows = b->t->rows;
    f->bytes = (uint64_t)sb.st_size;
    f->schema_version = b->t->schema->schema_version;
    f->created_ns = (int64_t)clock_wall_ns();
    f->bloom = b->bloom.data;
    f->bloom_len = b->bloom.len;
    b->written = 1;
    return 0;
}

/* One flush round; returns 0 when the pending set is published (or there was nothing). */
static int flush_once(lake_t *l)
{
    char err[512] = "";
    uint64_t t0 = clock_mono_ns();
    pthread_mutex_lock(&l->mu);
    if (l->crashed) {
        pthread_mutex_unlock(&l->mu);
        return ORASI_ECLOSED;
    }
    if (!l->pending && l->hole_seq) {
        /* frozen: buffers may hold records past the hole, never publish them */
        l->flush_done = l->flush_req;
        pthread_cond_broadcast(&l->done);
        pthread_mutex_unlock(&l->mu);
        return ORASI_EUNAVAILABLE;
    }
    if (!l->pending) {
        l->pending = l->bufs;
        l->bufs = NULL;
        l->nbufs = 0;
        l->pending_rows = l->active_rows;
        l->pending_bytes = l->active_bytes;
        l->active_rows = l->active_bytes = 0;
        l->oldest_mono = 0;
        l->pending_seq = covered_seq(l);
        l->pending_gen = l->flush_req;
    }
    struct lake_buf *p = l->pending;
    uint64_t seq = l->pending_seq;
    int crash = l->crash_point;
    pthread_mutex_unlock(&l->mu);

    int rc = 0;
    size_t nfiles = 0;
    for (struct lake_buf *b = p; b && !rc; b = b->next) {
        if (!b->written && b->t->rows)
            rc = write_buf(l, b, err, sizeof(err));
        if (b->written)
            nfiles++;
    }
    catalog_file_t *files = NULL;
    if (!rc && nfiles) {
        files = orasi_calloc(nfiles, sizeof(*files));
        if (!files)
            rc = ORASI_ENOMEM;
        size_t i = 0;
        for (struct lake_buf *b = p; b && files; b = b->next)
            if (b->written)
                files[i++] = b->file;
    }
    if (!rc && crash == 1) {
        orasi_free(files);
        pthread_mutex_lock(&l->mu);
        l->crashed = 1;
        pthread_mutex_unlock(&l->mu);
        return ORASI_ECLOSED;
    }
    if (!rc && (nfiles || seq > l->published_seq)) {
        rc = catalog_publish(l->cat, files, nfiles, seq);
        if (rc)
            snprintf(err, sizeof(err), "catalog publish: %s", orasi_strerror(rc));
    }
    orasi_free(files);
    if (rc) {
        LOG_E("lake", "flush failed (will retry): %s", err[0] ? err : orasi_strerror(rc));
        metric_inc(l->m.flush_errors);
        pthread_mutex_lock(&l->mu);
        l->st.flush_errors++;
        l->flush_err = rc;
        pthread_cond_broadcast(&l->done);
        pthread_mutex_unlock(&l->mu);
        return rc;
    }
    uint64_t rows = 0, bytes = 0;
    for (struct lake_buf *b = p; b; b = b->next)
        if (b->written) {
            rows += b->file.rows;
            bytes += b->file.bytes;
        }
    if (crash == 2) {
        pthread_mutex_lock(&l->mu);
        l->crashed = 1;
        pthread_mutex_unlock(&l->mu);
        return ORASI_ECLOSED;
    }
    if (seq > l->published_seq && l->o.checkpoint) {
        int crc = l->o.checkpoint(l->o.checkpoint_ud, seq);
        if (crc)
            LOG_W("lake", "WAL checkpoint %llu failed: %s (replay skips it by the catalog)",
                  (unsigned long long)seq, orasi_strerror(crc));
    }
    pthread_mutex_lock(&l->mu);
    l->pending = NULL;
    l->pending_rows = l->pending_bytes = 0;
    /* the gauges count active + pending: the published rows leave them now */
    metric_set(l->m.rows_buffered, (double)l->active_rows);
    metric_set(l->m.bytes_buffered, (double)l->active_bytes);
    if (seq > l->published_seq)
        l->published_seq = seq;
    l->st.files_published += nfiles;
    l->st.rows_published += rows;
    l->st.bytes_written += bytes;
    l->st.flushes++;
    l->st.published_seq = l->published_seq;
    l->flush_err = 0;
    uint64_t gen = l->pending_gen;
    pthread_mutex_unlock(&l->mu);
    /* the tables go back to the pool before the flush counts as done, so a caller of
     * lake_flush() finds them there */
    bufs_recycle(l, p);
    pthread_mutex_lock(&l->mu);
    if (gen > l->flush_done)
        l->flush_done = gen;
    pthread_cond_broadcast(&l->done);
    pthread_mutex_unlock(&l->mu);
    if (nfiles)
        lake_upload_kick(l->up); /* after the commit: the files are listed */
    metric_add(l->m.files, (double)nfiles);
    metric_add(l->m.bytes_written, (double)bytes);
    if (nfiles)
        metric_observe(l->m.flush_seconds, (double)(clock_mono_ns() - t0) / 1e9);
    if (nfiles)
        LOG_D("lake", "published %zu files, %llu rows, %llu bytes, seq %llu", nfiles,
              (unsigned long long)rows, (unsigned long long)bytes, (unsigned long long)seq);
    return 0;
}

/* Whether the flusher has something to do now; *wait_ns says how long until it might. */
static int flush_due(lake_t *l, uint64_t now, uint64_t *wait_ns)
{
    *wait_ns = NS_PER_S;
    if (l->crashed || (l->hole_seq && !l->pending))
        return 0;
    if (l->pending || l->flush_req > l->flush_done)
        return 1;
    if (l->active_rows) {
        uint64_t maxrows = 0;
        for (struct lake_buf *b = l->bufs; b; b = b->next)
            if (b->t->rows > maxrows)
                maxrows = b->t->rows;
        if (maxrows >= l->o.flush_rows || (l->o.flush_bytes && l->active_bytes >= l->o.flush_bytes))
            return 1;
        uint64_t age = now - l->oldest_mono;
        if (age >= l->o.flush_interval)
            return 1;
        if (l->o.flush_interval - age < *wait_ns)
            *wait_ns = l->o.flush_interval - age;
    } else if (covered_seq(l) > l->published_seq) {
        /* records with no rows: publish their seq so the WAL can drop them */
        return 1;
    }
    return 0;
}

static void *flusher_main(void *arg)
{
    lake_t *l = arg;
    pthread_setname_np(pthread_self(), "lake-flush");
    uint64_t backoff = 0;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        uint64_t wait_ns;
        int due = flush_due(l, clock_mono_ns(), &wait_ns);
        if (l->stop)
            break;
        if (!due || backoff) {
            uint64_t w = backoff ? backoff : wait_ns;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t until = (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec + w;
            ts.tv_sec = (time_t)(until / NS_PER_S);
            ts.tv_nsec = (long)(until % NS_PER_S);
            pthread_cond_timedwait(&l->wake, &l->mu, &ts);
            backoff = 0;
            continue;
        }
        pthread_mutex_unlock(&l->mu);
        int rc = flush_once(l);
        pthread_mutex_lock(&l->mu);
        /* on failure wait a little before retrying: disk full does not fix itself in 1 ms */
        backoff = rc ? 500000000ull : 0;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int lake_flush(lake_t *l, uint64_t deadline_ns)
{
    pthread_mutex_lock(&l->mu);
    uint64_t gen = ++l->flush_req;
    pthread_cond_signal(&l->wake);
    int rc = 0;
    while (l->flush_done < gen) {
        if (l->crashed || l->stop) {
            rc = ORASI_ECLOSED;
            break;
        }
        if (l->hole_seq && !l->pending) {
            rc = ORASI_EUNAVAILABLE;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
        if (deadline_ns && now >= deadline_ns) {
            rc = l->flush_err ? l->flush_err : ORASI_ETIMEOUT;
            break;
        }
        uint64_t until = now + 200000000ull;
        if (deadline_ns && until > deadline_ns)
            until = deadline_ns;
        ts.tv_sec = (time_t)(until / NS_PER_S);
        ts.tv_nsec = (long)(until % NS_PER_S);
        pthread_cond_timedwait(&l->done, &l->mu, &ts);
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

/* ---- maintenance ------------------------------------------------------------------------------ */

/* Remove empty partition directories up to (not including) the lake root. */
static void prune_dirs(lake_t *l, const char *rel)
{
    char p[PATH_MAX];
    int n = snprintf(p, sizeof(p), "%s/%s", l->root, rel);
    if (n < 0 || (size_t)n >= sizeof(p))
        return;
    size_t rootlen = strlen(l->root);
    for (;;) {
        char *slash = strrchr(p, '/');
        if (!slash || (size_t)(slash - p) <= rootlen)
            return;
        *slash = 0;
        if (rmdir(p) != 0)
            return;
    }
}

static int run_deletes(lake_t *l)
{
    char **rel = NULL;
    size_t n = 0;
    int rc = catalog_due_deletes(l->cat, (int64_t)clock_wall_ns(), &rel, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char *p = join(l->root, rel[i]);
        if (!p) {
            rc = ORASI_ENOMEM;
            break;
        }
        int u = unlink(p);
        int e = errno;
        orasi_free(p);
        if (u != 0 && e != ENOENT) {
            LOG_W("lake", "unlink %s: %s", rel[i], strerror(e));
            continue;
        }
        rc = catalog_delete_done(l->cat, rel[i]);
        if (rc)
            break;
        prune_dirs(l, rel[i]);
        pthread_mutex_lock(&l->mu);
        l->st.files_unlinked++;
        pthread_mutex_unlock(&l->mu);
    }
    if (n)
        lake_upload_kick(l->up); /* their objects go too */
    catalog_strings_free(rel, n);
    return rc;
}

static int run_retention(lake_t *l)
{
    const uint64_t ret[LAKE_SIG_COUNT] = {
        l->o.retention_traces,  l->o.retention_logs,    l->o.retention_metrics,
        l->o.retention_metrics, l->o.retention_metrics, l->o.retention_metrics,
        l->o.retention_metrics,
    };
    int64_t now = (int64_t)clock_wall_ns();
    int rc = 0;
    metric_inc(l->m.retention_runs);
    for (int s = 0; s < LAKE_SIG_COUNT && !rc; s++) {
        if (!ret[s] || ret[s] > (uint64_t)now)
            continue;
        catalog_list_t lst;
        rc = catalog_expired(l->cat, s, now - (int64_t)ret[s], &lst);
        if (rc || !lst.n) {
            catalog_list_free(&lst);
            continue;
        }
        const char **rels = orasi_calloc(lst.n, sizeof(*rels));
        if (!rels) {
            catalog_list_free(&lst);
            return ORASI_ENOMEM;
        }
        for (size_t i = 0; i < lst.n; i++)
            rels[i] = lst.v[i].rel;
        rc = catalog_retire(l->cat, rels, lst.n, now + (int64_t)l->o.delete_grace);
        if (!rc) {
            LOG_I("lake", "retention: %zu %s files expired", lst.n, colbuf_sig_name(s));
            metric_add(l->m.expired, (double)lst.n);
            pthread_mutex_lock(&l->mu);
            l->st.files_expired += lst.n;
            pthread_mutex_unlock(&l->mu);
        }
        orasi_free(rels);
        catalog_list_free(&lst);
    }
    return rc;
}

/* Merge the small files of one partition into one. */
static int compact_partition(lake_t *l, const catalog_file_t *cand)
{
    catalog_list_t lst;
    char err[512] = "", uuid[37], tmp[PATH_MAX + 64], fin[PATH_MAX + 64], dir[PATH_MAX], rel[320];
    const colbuf_schema_t *schema = colbuf_schema(cand->sig);
    int rc = catalog_partition_files(l->cat, cand->tenant, cand->sig, cand->part_ns,
                                     l->o.compaction_target_bytes, schema->schema_version, &lst);
    const char **paths = NULL, **rels = NULL;
    bloom_t bloom = {0};
    if (rc)
        return rc;
    if (lst.n < 2 || lst.n < (size_t)l->o.compaction_min_files)
        goto out;
    paths = orasi_calloc(lst.n, sizeof(*paths));
    rels = orasi_calloc(lst.n, sizeof(*rels));
    if (!paths || !rels) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    uint64_t rows = 0;
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (size_t i = 0; i < lst.n; i++) {
        paths[i] = lst.v[i].path;
        rels[i] = lst.v[i].rel;
        rows += lst.v[i].rows;
        if (lst.v[i].min_ts < mn)
            mn = lst.v[i].min_ts;
        if (lst.v[i].max_ts > mx)
            mx = lst.v[i].max_ts;
    }
    uuid4(uuid);
    const catalog_file_t *f0 = &lst.v[0];
    snprintf(dir, sizeof(dir), "%s/tenant=%s/signal=%s/date=%s/hour=%02d", l->root, f0->tenant,
             colbuf_sig_name(f0->sig), f0->date, f0->hour);
    snprintf(rel, sizeof(rel), "tenant=%s/signal=%s/date=%s/hour=%02d/%s.parquet", f0->tenant,
             colbuf_sig_name(f0->sig), f0->date, f0->hour, uuid);
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s.parquet", dir, uuid);
    snprintf(fin, sizeof(fin), "%s/%s.parquet", dir, uuid);
    uint64_t written = 0;
    rc = parquet_merge(l->mw, cand->sig, paths, lst.n, tmp, &written, err, sizeof(err));
    if (!rc && written != rows) {
        snprintf(err, sizeof(err), "merged %llu rows, catalog says %llu",
                 (unsigned long long)written, (unsigned long long)rows);
        rc = ORASI_ECORRUPT;
    }
    struct stat sb;
    if (!rc && ((rc = fsync_path(tmp, 0)) || stat(tmp, &sb) != 0)) {
        if (!rc)
            rc = orasi_err_from_errno(errno);
    }
    if (!rc && cand->sig == LAKE_TRACES)
        rc = parquet_trace_bloom(l->mw, tmp, rows, &bloom, err, sizeof(err));
    if (!rc && rename(tmp, fin) != 0)
        rc = orasi_err_from_errno(errno);
    if (!rc)
        rc = fsync_path(dir, 1);
    if (rc) {
        unlink(tmp);
        unlink(fin);
        LOG_E("lake", "compaction of %s failed: %s", dir, err[0] ? err : orasi_strerror(rc));
        goto out;
    }
    catalog_file_t nf = *f0;
    nf.path = fin;
    nf.rel = rel;
    nf.min_ts = mn;
    nf.max_ts = mx;
    nf.rows = rows;
    nf.bytes = (uint64_t)sb.st_size;
    nf.created_ns = (int64_t)clock_wall_ns();
    nf.bloom = bloom.data;
    nf.bloom_len = bloom.len;
    rc = catalog_replace(l->cat, rels, lst.n, &nf,
                         (int64_t)clock_wall_ns() + (int64_t)l->o.delete_grace);
    if (rc) {
        /* not committed: the merged file is an orphan, the old files stay listed */
        unlink(fin);
        LOG_E("lake", "compaction commit failed: %s", orasi_strerror(rc));
        goto out;
    }
    LOG_I("lake", "compacted %zu files (%llu rows) into %s", lst.n, (unsigned long long)rows, rel);
    metric_inc(l->m.compactions);
    metric_add(l->m.compacted, (double)lst.n);
    pthread_mutex_lock(&l->mu);
    l->st.compactions++;
    l->st.files_compacted += lst.n;
    pthread_mutex_unlock(&l->mu);
out:
    bloom_free(&bloom);
    orasi_free(paths);
    orasi_free(rels);
    catalog_list_free(&lst);
    return rc;
}

static int run_compaction(lake_t *l)
{
    if (!l->o.compaction)
        return 0;
    catalog_list_t cands;
    /* only hours that are over: the current hour still receives flushes */
    int64_t before = hour_floor((int64_t)clock_wall_ns());
    int rc = catalog_compaction_candidates(l->cat, before, l->o.compaction_target_bytes,
                                           (unsigned)l->o.compaction_min_files, &cands);
    if (rc)
        return rc;
    for (size_t i = 0; i < cands.n; i++) {
        pthread_mutex_lock(&l->mu);
        int stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop)
            break;
        int crc = compact_partition(l, &cands.v[i]);
        if (crc && !rc)
            rc = crc;
    }
    catalog_list_free(&cands);
    return rc;
}

int lake_maintain(lake_t *l)
{
    pthread_mutex_lock(&l->maint_mu);
    int rc = run_deletes(l);
    int r2 = run_retention(l);
    int r3 = run_compaction(l);
    int r4 = run_deletes(l);
    pthread_mutex_unlock(&l->maint_mu);
    return rc ? rc : r2 ? r2 : r3 ? r3 : r4;
}

static void *maint_main(void *arg)
{
    lake_t *l = arg;
    pthread_setname_np(pthread_self(), "lake-maint");
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t iv = l->o.maintenance_interval ? l->o.maintenance_interval : 60 * NS_PER_S;
        uint64_t until = (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec + iv;
        ts.tv_sec = (time_t)(until / NS_PER_S);
        ts.tv_nsec = (long)(until % NS_PER_S);
        int w = pthread_cond_timedwait(&l->mwake, &l->mu, &ts);
        if (l->stop)
            break;
        if (w != ETIMEDOUT)
            continue;
        pthread_mutex_unlock(&l->mu);
        int rc = lake_maintain(l);
        if (rc)
            LOG_W("lake", "maintenance: %s", orasi_strerror(rc));
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---- recovery --------------------------------------------------------------------------------- */

/* Delete .tmp-* files and .parquet files the catalog does not know (crash between rename
 * and commit). Recursive walk with a depth cap (the layout is 4 levels deep). */
static int clean_dir(lake_t *l, const char *dir, const char *rel, int depth, size_t *removed)
{
    if (depth > 8)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : orasi_err_from_errno(errno);
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[PATH_MAX], r[PATH_MAX];
        int n1 = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        int n2 = rel[0] ? snprintf(r, sizeof(r), "%s/%s", rel, e->d_name)
                        : snprintf(r, sizeof(r), "%s", e->d_name);
        if (n1 < 0 || (size_t)n1 >= sizeof(path) || n2 < 0 || (size_t)n2 >= sizeof(r))
            continue;
        struct stat sb;
        if (lstat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            rc = clean_dir(l, path, r, depth + 1, removed);
            rmdir(path); /* only succeeds when empty */
            continue;
        }
        if (!S_ISREG(sb.st_mode))
            continue;
        size_t nl = strlen(e->d_name);
        int is_tmp = strncmp(e->d_name, ".tmp-", 5) == 0;
        int is_pq = nl > 8 && strcmp(e->d_name + nl - 8, ".parquet") == 0;
        if (!is_tmp && !is_pq)
            continue;
        if (!is_tmp) {
            int k = catalog_knows(l->cat, r);
            if (k < 0) {
                rc = k;
                break;
            }
            if (k)
                continue;
            LOG_W("lake", "removing orphan %s (not in the catalog: crash before commit)", r);
        }
        if (unlink(path) == 0)
            (*removed)++;
    }
    closedir(d);
    return rc;
}

int lake_open(const struct lake_options *o, lake_t **out, char *err, size_t errlen)
{
    int rc = ORASI_ENOMEM;
    char *dbpath = NULL;
    if (!o || !o->data_dir || !o->data_dir[0]) {
        snprintf(err, errlen, "lake: data_dir is required");
        return ORASI_EINVAL;
    }
    lake_t *l = orasi_calloc(1, sizeof(*l));
    if (!l)
        goto fail;
    l->o = *o;
    if (!l->o.flush_rows)
        l->o.flush_rows = 1000000;
    if (!l->o.flush_interval)
        l->o.flush_interval = 10 * NS_PER_S;
    if (l->o.compaction_min_files < 2)
        l->o.compaction_min_files = 2;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->maint_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->wake, &ca);
    pthread_cond_init(&l->done, &ca);
    pthread_cond_init(&l->mwake, &ca);
    pthread_condattr_destroy(&ca);
    metrics_init(&l->m);
    flatten_init(&l->fl, table_for, l, 0);

    l->data_dir = orasi_strdup(o->data_dir);
    if (!l->data_dir || !(l->root = join(o->data_dir, "lake")) ||
        !(l->tmp_dir = join(o->data_dir, ".duckdb_tmp")) ||
        !(dbpath = join(o->data_dir, "catalog.db")))
        goto fail;
    l->o.data_dir = l->data_dir;
    if (o->duckdb_memory_limit && o->duckdb_memory_limit[0]) {
        l->memory_limit = orasi_strdup(o->duckdb_memory_limit);
        if (!l->memory_limit)
            goto fail;
    }
    l->o.duckdb_memory_limit = l->memory_limit;
    if ((rc = mkdirs(l->root))) {
        snprintf(err, errlen, "lake: cannot create %s: %s", l->root, orasi_strerror(rc));
        goto fail;
    }
    if ((rc = catalog_open(dbpath, l->root, &l->cat, err, errlen)))
        goto fail;
    size_t removed = 0;
    if ((rc = clean_dir(l, l->root, "", 0, &removed))) {
        snprintf(err, errlen, "lake: recovery scan of %s: %s", l->root, orasi_strerror(rc));
        goto fail;
    }
    if ((rc = catalog_wal_seq(l->cat, &l->published_seq))) {
        snprintf(err, errlen, "lake: catalog: %s", orasi_strerror(rc));
        goto fail;
    }
    l->applied_seq = l->published_seq;
    l->open_seq = l->published_seq;
    l->st.published_seq = l->published_seq;
    if (l->o.store == 1 &&
        (rc = lake_upload_open(l->root, dbpath, &l->o.s3, &l->up, err, errlen)))
        goto fail;
    parquet_options_t po = {
        .threads = (int)l->o.duckdb_threads,
        .memory_limit = l->memory_limit,
        .temp_dir = l->tmp_dir,
        .zstd_level = (int)l->o.zstd_level,
    };
    if ((rc = parquet_writer_create(&po, &l->mw, err, errlen)))
        goto fail;
    po.native = l->o.parquet_writer == 1; /* the flusher's; merges stay on DuckDB */
    /* The writer's table-wide dictionary memory is ~1/4 of a flushed buffer (a 32-bit id
     * per string value): keep what a flush at flush_bytes needs, so that every flush does
     * not grow it again from nothing (realloc copies, page faults: ~4 % of the CPU). */
    po.keep_bytes = (size_t)(l->o.flush_bytes / 2); /* 0 (tiny flushes): the default */
    if ((rc = parquet_writer_create(&po, &l->fw, err, errlen)))
        goto fail;
    if (pthread_create(&l->flusher, NULL, flusher_main, l) != 0) {
        rc = ORASI_ESYS;
        snprintf(err, errlen, "lake: cannot start the flusher thread");
        goto fail;
    }
    l->started_flusher = 1;
    if (pthread_create(&l->maint, NULL, maint_main, l) != 0) {
        rc = ORASI_ESYS;
        snprintf(err, errlen, "lake: cannot start the maintenance thread");
        goto fail;
    }
    l->started_maint = 1;
    if (removed)
        LOG_I("lake", "recovery removed %zu orphan or temporary files", removed);
    LOG_I("lake", "lake open at %s, published WAL seq %llu", l->root,
          (unsigned long long)l->published_seq);
    orasi_free(dbpath);
    *out = l;
    return 0;
fail:
    if (rc == ORASI_ENOMEM && err && errlen)
        snprintf(err, errlen, "lake: out of memory");
    orasi_free(dbpath);
    if (l) {
        l->crashed = 1; /* no final flush of a lake that never opened */
        lake_close(l);
    }
    return rc;
}

void lake_close(lake_t *l)
{
    if (!l)
        return;
    /* Final flush unless a simulated crash froze the lake. */
    if (l->started_flusher && !l->crashed) {
        int rc = lake_flush(l, clock_mono_ns() + 60 * NS_PER_S);
        if (rc)
            LOG_W("lake", "final flush: %s (the WAL still holds the data)", orasi_strerror(rc));
    }
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->wake);
    pthread_cond_broadcast(&l->mwake);
    pthread_cond_broadcast(&l->done);
    pthread_mutex_unlock(&l->mu);
    if (l->started_flusher)
        pthread_join(l->flusher, NULL);
    if (l->started_maint)
        pthread_join(l->maint, NULL);
    lake_upload_close(l->up); /* uploads what is pending, up to s3.drain_timeout */
    bufs_destroy(l->bufs);
    bufs_destroy(l->pending);
    for (size_t i = 0; i < l->nspare; i++)
        colbuf_table_destroy(l->spare[i]);
    orasi_free(l->touch);
    parquet_writer_destroy(l->fw);
    parquet_writer_destroy(l->mw);
    catalog_close(l->cat);
    flatten_free(&l->fl);
    pthread_cond_destroy(&l->wake);
    pthread_cond_destroy(&l->done);
    pthread_cond_destroy(&l->mwake);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->maint_mu);
    orasi_free(l->data_dir);
    orasi_free(l->root);
    orasi_free(l->tmp_dir);
    orasi_free(l->memory_limit);
    orasi_free(l);
}

uint64_t lake_published_seq(const lake_t *l)
{
    return l->open_seq;
}

void lake_stats(lake_t *l, struct lake_stats *s)
{
    pthread_mutex_lock(&l->mu);
    *s = l->st;
    s->rows_buffered = l->active_rows + l->pending_rows;
    s->bytes_buffered = l->active_bytes + l->pending_bytes;
    s->published_seq = l->published_seq;
    pthread_mutex_unlock(&l->mu);
}

catalog_t *lake_catalog(lake_t *l)
{
    return l->cat;
}

const char *lake_root(const lake_t *l)
{
    return l->root;
}

void lake_test_crash_point(lake_t *l, int where)
{
    pthread_mutex_lock(&l->mu);
    l->crash_point = where;
    pthread_mutex_unlock(&l->mu);
}

/* ---- unflushed rows for the SQL engine (see lake.h) ------------------------------------------
 * Buffers are detached (pending) and freed only by a flush, and a new pending set cannot
 * start before the current one is dropped. So while the count of completed flushes and
 * the pending pointer are what the snapshot saw, every active buffer seen under the lock
 * is alive and append-only (rows [0, n) never change) and the pending buffers are alive
 * and no longer written: both may be copied chunk by chunk, re-taking the lock for each. */

static int hot_valid(const lake_t *l, const lake_hot_snap_t *s)
{
    return !l->stop && !l->crashed && l->st.flushes == s->gen &&
           (const void *)l->pending == s->pending;
}

int lake_hot_begin(lake_t *l, uint64_t deadline_ns, const lake_hot_snap_t *after,
                   lake_hot_snap_t *snap)
{
    pthread_mutex_lock(&l->mu);
    /* records acknowledged before the query are still on their way into the buffers */
    int rc = wait_acked_locked(l, deadline_ns);
    if (rc == ORASI_ETIMEOUT)
        rc = ORASI_EBUSY;
    while (!rc) {
        if (l->stop || l->crashed) {
            rc = ORASI_ECLOSED;
            break;
        }
        /* wait while the pending set `after` saw committed is not dropped yet, or while a
         * pending set exists whose commit could not be recognised (no new WAL seq) */
        int wait = (after && after->pending && l->st.flushes == after->gen) ||
                   (l->pending && l->pending_seq <= l->published_seq);
        if (!wait)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
        if (deadline_ns && now >= deadline_ns) {
            rc = ORASI_EBUSY;
            break;
        }
        uint64_t until = now + 100000000ull;
        if (deadline_ns && until > deadline_ns)
            until = deadline_ns;
        ts.tv_sec = (time_t)(until / NS_PER_S);
        ts.tv_nsec = (long)(until % NS_PER_S);
        pthread_cond_timedwait(&l->done, &l->mu, &ts);
    }
    snap->gen = l->st.flushes;
    snap->pending = l->pending;
    snap->pending_seq = l->pending_seq;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int lake_hot_check(lake_t *l, const lake_hot_snap_t *snap)
{
    pthread_mutex_lock(&l->mu);
    int ok = hot_valid(l, snap);
    pthread_mutex_unlock(&l->mu);
    if (!ok)
        return ORASI_EAGAIN;
    if (snap->pending) {
        /* The caller listed the catalog before this: if the pending set's commit is not
         * visible now, it was not then either. */
        uint64_t seq = 0;
        if (catalog_wal_seq(l->cat, &seq) != 0 || seq >= snap->pending_seq)
            return ORASI_EBUSY;
    }
    return 0;
}

/* Whether column c is copied (columns past 63 always are). */
static int hot_col_on(uint64_t colmask, size_t c)
{
    return c >= 64 || (colmask >> c & 1);
}

/* Rows [row, row+n) of t into the fresh chunk ch, which holds the selected columns only,
 * in schema order. Under mu. */
static int hot_fill_rows(const colbuf_table_t *t, uint64_t colmask, size_t row, size_t n,
                         duckdb_data_chunk ch)
{
    const colbuf_schema_t *s = t->schema;
    int rc = 0;
    for (size_t c = 0, k = 0; c < s->ncols && !rc; c++)
        if (hot_col_on(colmask, c))
            rc = colbuf_fill(t, c, duckdb_data_chunk_get_vector(ch, k++), row, n);
    if (!rc)
        duckdb_data_chunk_set_size(ch, n);
    return rc;
}

int lake_hot_fill(lake_t *l, const lake_hot_snap_t *snap, const char *tenant, int sig,
                  const struct lake_hot_filter *f, duckdb_appender app, uint64_t *rows)
{
    const colbuf_schema_t *s = colbuf_schema(sig);
    struct hot_src {
        colbuf_table_t *t;
        size_t rows;
    } *src = NULL;
    duckdb_logical_type *types = NULL;
    size_t nsrc = 0;
    int rc = 0;
    *rows = 0;
    if (!s || !tenant || !f)
        return ORASI_EINVAL;
    int tid_col = f->trace_id ? colbuf_col_index(s, "TraceId") : -1;
    if (tid_col >= 0 && s->cols[tid_col].kind != CB_TRACEID)
        tid_col = -1;
    types = orasi_calloc(s->ncols, sizeof(*types));
    if (!types)
        return ORASI_ENOMEM;
    size_t ntypes = 0;
    for (size_t c = 0; c < s->ncols; c++)
        if (hot_col_on(f->colmask, c))
            types[ntypes++] = colbuf_duck_type(s, c);
    if (ntypes == 0) {
        orasi_free(types);
        return ORASI_EINVAL;
    }

    pthread_mutex_lock(&l->mu);
    size_t cap = l->nbufs;
    for (struct lake_buf *b = l->pending; b; b = b->next)
        cap++;
    if (!hot_valid(l, snap)) {
        rc = ORASI_EAGAIN;
    } else if (cap && !(src = orasi_calloc(cap, sizeof(*src)))) {
        rc = ORASI_ENOMEM;
    } else {
        /* the active buffers, then the pending set (both alive while the snapshot holds) */
        for (int list = 0; list < 2; list++)
            for (struct lake_buf *b = list ? l->pending : l->bufs; b && nsrc < cap; b = b->next)
                if (b->sig == sig && b->t->rows && strcmp(b->tenant, tenant) == 0 &&
                    b->t->max_ts >= f->t0 && b->t->min_ts <= f->t1)
                    src[nsrc++] = (struct hot_src){b->t, b->t->rows};
    }
    pthread_mutex_unlock(&l->mu);

    size_t vs = duckdb_vector_size();
    for (size_t i = 0; i < nsrc && !rc; i++) {
        for (size_t row = 0; row < src[i].rows && !rc; row += vs) {
            if (f->max_rows && *rows >= f->max_rows)
                break;
            size_t n = src[i].rows - row < vs ? src[i].rows - row : vs;
            if (f->max_rows && n > f->max_rows - *rows)
                n = (size_t)(f->max_rows - *rows);
            /* one chunk for a block of rows, or one per matching row of a trace lookup */
            size_t r = row, end = row + n;
            while (!rc && r < end) {
                size_t take = n;
                pthread_mutex_lock(&l->mu);
                if (!hot_valid(l, snap)) {
                    rc = ORASI_EAGAIN;
                } else if (tid_col >= 0) {
                    const otlp_trace_id_t *ids = src[i].t->cols[tid_col].v;
                    while (r < end && (ids[r].len != 16 || memcmp(ids[r].id, f->trace_id, 16)))
                        r++;
                    take = 1;
                }
                duckdb_data_chunk ch = NULL;
                if (!rc && r < end) {
                    ch = duckdb_create_data_chunk(types, ntypes);
                    rc = ch ? hot_fill_rows(src[i].t, f->colmask, r, take, ch) : ORASI_ENOMEM;
                }
                pthread_mutex_unlock(&l->mu);
                if (!rc && ch) {
                    if (duckdb_append_data_chunk(app, ch) != DuckDBSuccess)
                        rc = ORASI_EINTERNAL;
                    else
                        *rows += take;
                }
                if (ch)
                    duckdb_destroy_data_chunk(&ch);
                r += take;
            }
        }
    }
    for (size_t c = 0; c < ntypes; c++)
        duckdb_destroy_logical_type(&types[c]);
    orasi_free(types);
    orasi_free(src);
    return rc;
}
