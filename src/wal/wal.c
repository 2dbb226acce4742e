/*
 * wal.c — the durable queue (write-ahead log): segment files, group commit, cursors,
 * checkpoints and crash recovery. The contract is in wal.h; this comment is the on-disk
 * format. All integers are little-endian. All I/O goes through wal_io.h.
 *
 * DIRECTORY
 *   seg-<first seq, 20 decimal digits>.wal   segment files, in sequence order
 *   checkpoint                                the checkpoint (replaced atomically)
 *   checkpoint.tmp                            a checkpoint being written (removed at open)
 *   free-<k>.wal, k = 0..1                    a checkpointed segment kept for reuse (below)
 *   lock                                      empty; flock'ed while a process has it open
 *   Anything else is ignored.
 *
 * SEGMENT FILE = header, then records back to back (no padding).
 *   header (32 bytes):
 *     0  u8[8] magic "ORWALSEG"
 *     8  u32   format version (1)
 *     12 u32   flags, 0
 *     16 u64   first seq: the seq of the segment's first record (equals the file name)
 *     24 u32   CRC32C of bytes 0..23
 *     28 u32   0
 *   record (25 + len bytes):
 *     0  u32   payload length `len` (<= max_record_bytes)
 *     4  u32   CRC32C of bytes 8 .. 25+len (seq, time, type and payload)
 *     8  u64   seq (previous record's seq + 1)
 *     16 u64   wall-clock ns when wal_append was called
 *     24 u8    type (caller-defined)
 *     25 u8[len] payload
 *   A new segment is created (O_TRUNC), its header written, then under policy fsync the
 *   file and the directory are fsynced before any record goes in. The writer rolls to a
 *   new segment when the next record would take the current one past segment_bytes (a
 *   record larger than that gets a segment of its own).
 *
 * REUSE. A segment whose records are all checkpointed is renamed to a free-<k>.wal (at
 *   most WAL_FREE_MAX of them, only files of at most segment_bytes; the others are
 *   deleted). The next roll renames a free file to its seg-<seq>.wal name instead of
 *   creating one, overwrites the header, and then syncs the file (fdatasync) and the
 *   directory before any record goes in. Records then overwrite blocks the file already
 *   has, so each group's fdatasync writes data only: no block allocation, no journal.
 *   Past the last record such a file still holds the bytes of its previous life: whole
 *   or partial old records, whose seqs are all lower (seqs never repeat) and so fail the
 *   seq or the CRC check, i.e. they read as a torn tail. When the writer rolls past a
 *   reused segment it cuts those bytes (ftruncate, not synced: recovery copes with them,
 *   see 3). free-*.wal files are adopted for reuse at open; they hold no data.
 *
 * CHECKPOINT FILE (32 bytes): magic "ORWALCKP", u32 version 1, u32 0, u64 seq, u32 CRC32C
 *   of bytes 0..23, u32 0. Records <= seq are no longer needed. It is written to
 *   checkpoint.tmp, fsynced, renamed over checkpoint and the directory fsynced, always
 *   (whatever the sync policy) and before any segment is deleted: it is also what keeps
 *   sequence numbers from restarting once every segment has been deleted, as it holds
 *   the highest seq ever checkpointed.
 *
 * SEQUENCE SPACE. Numbers run from 1 to WAL_SEQ_MAX (2^62, wal.h); a higher one in a
 *   file name or checkpoint is corruption. A record that would get a higher number fails
 *   with ORASI_EFULL before it is numbered (under every policy).
 *
 * RECOVERY (wal_open)
 *   1. Missing or corrupt checkpoint -> checkpoint 0 (replay everything present).
 *   2. Segments are scanned in order of first seq. A segment's first seq must be the
 *      previous segment's last seq + 1, or lie within the checkpoint (<= ckpt + 1; the
 *      records between were checkpointed). The first segment may start anywhere.
 *   3. Scanning stops at the first record that is short (header or payload past the end
 *      of the file), longer than the maximum (max(max_record_bytes, 64 MiB), so that
 *      lowering the option never destroys stored records), fails its CRC, or whose seq
 *      is not previous + 1 — and at a segment header that is short or fails its magic,
 *      CRC or name check. The file is truncated there (ftruncate + fsync; a segment with
 *      a bad header is deleted) and every later segment is deleted: nothing after a torn
 *      record can be trusted to be in order. What was cut is logged (LOG_W: bytes, seq).
 *      Except: when the segment is not the last one and the next segment's first seq
 *      follows the last good record as step 2 requires, nothing is missing (the stale
 *      tail of a reused segment): the tail is cut and the later segments are kept.
 *      A header with an unknown version fails the open instead (never destroy data a
 *      newer build wrote). I/O errors fail the open; only content is ever cut.
 *   4. Segments holding only checkpointed records (and empty ones) other than the last
 *      are deleted. Appends continue at max(last recovered seq, checkpoint,
 *      last segment's first seq - 1) + 1.
 *
 * WRITING (one writer thread per WAL)
 *   wal_append copies the record into a queue. The writer takes the whole queue, assigns
 *   sequence numbers, writes the records with pwritev at the segment's end, fdatasyncs
 *   once (policy fsync) and then runs each callback. A failed write or sync fails every
 *   record of that group still unwritten (their callbacks get the error and their
 *   sequence numbers are reused, so the log stays gapless), and the file is truncated
 *   back to the last good offset before anything else is written there; until that
 *   truncate succeeds, later groups fail too. Nothing is acknowledged before it is fully
 *   written (and synced, under policy fsync).
 *
 * The byte cap counts the segments that still hold records past the checkpoint (the
 * segment holding checkpoint+1 only from that record on) plus the queue.
 */
#include "wal/wal.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "wal/wal_io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#define WAL_VERSION 1
#define WAL_SEG_HDR 32
#define WAL_REC_HDR 25
#define WAL_CKP_SIZE 32
#define WAL_INDEX_SPACING (64u * 1024) /* sparse index: one entry per this many bytes */
#define WAL_MAX_IOV 1024               /* IOV_MAX on Linux */
#define WAL_RD_BUF (256u * 1024)       /* recovery read window */
#define WAL_MAX_SEGMENTS 1000000       /* listing cap; far above any sane configuration */
#define WAL_DEFAULT_MAX_RECORD (64u * 1024 * 1024)
#define WAL_NAME_LEN 28 /* "seg-" + 20 digits + ".wal" */
#define WAL_FREE_MAX 2  /* checkpointed segments kept for reuse (free-<k>.wal), <= 10 */

static const char wal_seg_magic[8] = {'O', 'R', 'W', 'A', 'L', 'S', 'E', 'G'};
static const char wal_ckp_magic[8] = {'O', 'R', 'W', 'A', 'L', 'C', 'K', 'P'};

/* ---- little-endian helpers ------------------------------------------------------------ */

static void wal_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wal_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t wal_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t wal_get64(const uint8_t *p)
{
    return (uint64_t)wal_get32(p) | (uint64_t)wal_get32(p + 4) << 32;
}

/* Plain fields read by the const getters from any thread. */
static uint64_t wal_ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void wal_st(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* ---- types ------------------------------------------------------------------------------ */

struct wal_idx {
    uint64_t seq, off, ns;
};

/* A segment file. Owned by the segment array (one reference) and by every cursor or
 * reader that pinned it; the fd is closed when the last reference goes. */
struct wal_seg {
    uint64_t first_seq;
    uint64_t last_seq; /* last record in the file; first_seq - 1 when empty  [mu] */
    uint64_t size;     /* bytes of header + valid records                    [mu] */
    uint64_t fsize;    /* bytes in the file (> size: stale tail of a reuse)  [mu] */
    int fd;
    int refs;            /* [mu] */
    struct wal_idx *idx; /* sparse (seq, offset, time) index; [mu]; best effort */
    uint32_t nidx, capidx;
    char path[]; /* full path */
};

/* One queued append; the record header is built by the writer. */
struct wal_item {
    struct wal_item *next;
    wal_done_fn done;
    void *ud;
    uint64_t seq, ns;
    uint32_t len; /* payload bytes, all pieces */
    uint8_t type;
    uint8_t npieces; /* 1 (copied into payload[]) .. WAL_MAX_PIECES (borrowed) */
    uint8_t hdr[WAL_REC_HDR];
    struct iovec piece[WAL_MAX_PIECES];
    uint8_t payload[];
};

/* A free-<k>.wal slot: no file, being renamed (to or from it), or a file ready. */
enum wal_free_state { WF_EMPTY, WF_BUSY, WF_READY };

enum wal_reason { WR_FULL, WR_TOOBIG, WR_CLOSED, WR_NOMEM, WR_NOSPC, WR_IO, WR_OTHER, WR__N };
static const char *const wal_reason_names[WR__N] = {"full",  "too_big", "closed", "nomem",
                                                    "nospc", "io",      "other"};

struct wal {
    char *dir;
    wal_options_t o;
    const struct wal_io *io;
    uint32_t rec_limit; /* largest payload accepted by recovery */

    pthread_mutex_t mu;      /* queue, segment array, counters marked [mu] */
    pthread_cond_t cv;       /* wakes the writer */
    pthread_mutex_t ckpt_mu; /* serialises checkpoints */
    pthread_t thr;
    int thr_started;
    int lock_fd; /* flock'ed "lock" file: one opener per directory */
    int closing; /* [mu] */

    struct wal_item *qhead, *qtail; /* [mu] */
    uint64_t qbytes;                /* [mu] record bytes queued or being written */
    uint64_t inflight_ns;           /* [mu] time of the oldest record being written */

    struct wal_seg **segs; /* [mu] ascending; the last one is where the writer appends */
    size_t nsegs, capsegs;
    uint64_t ckpt_seg_first, ckpt_off; /* [mu] where checkpoint+1 is (0: unknown) */
    uint64_t disk_live;                /* [mu] segment bytes counted for the cap */

    uint64_t next_seq;                /* writer thread only (and open) */
    int tail_dirty;                   /* writer only: bytes past the active segment's size to cut */
    int failing;                      /* writer only: last group failed (log on transitions) */
    struct iovec *iov;                /* writer only, WAL_MAX_IOV entries */
    uint8_t free_state[WAL_FREE_MAX]; /* [mu] enum wal_free_state of free-<k>.wal */

    /* atomics (wal_ld / wal_st) */
    uint64_t last_seq, durable_seq, ckpt_seq, bytes, oldest_ns;

    metric_t *m_fsync, *m_bytes, *m_oldest, *m_appends, *m_groups;
    metric_t *m_err[WR__N];

    struct wal *list_next; /* open WALs, for the metrics collector */
};

struct wal_cursor {
    wal_t *w;
    uint64_t next_seq;
    struct wal_seg *seg; /* pinned, or NULL */
    uint64_t off;        /* offset of record off_seq in seg */
    uint64_t off_seq;
    buf_t buf;
};

/* The open WALs, so that one metrics collector can refresh their gauges; a collector
 * per WAL could not be unregistered at close (metrics.h has no removal). */
static pthread_mutex_t wal_list_mu = PTHREAD_MUTEX_INITIALIZER;
static wal_t *wal_list;

/* ---- options, metrics ------------------------------------------------------------------ */

void wal_options_default(wal_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->sync = WAL_SYNC_FSYNC;
    o->segment_bytes = 64u * 1024 * 1024;
    o->max_bytes = 1024u * 1024 * 1024;
    o->max_record_bytes = WAL_DEFAULT_MAX_RECORD;
    o->io = NULL;
    o->metrics_name = "wal";
}

static enum wal_reason wal_reason_of(int rc)
{
    switch (rc) {
    case ORASI_EFULL:
        return WR_FULL;
    case ORASI_ETOOBIG:
        return WR_TOOBIG;
    case ORASI_ECLOSED:
        return WR_CLOSED;
    case ORASI_ENOMEM:
        return WR_NOMEM;
    case ORASI_ENOSPC:
        return WR_NOSPC;
    case ORASI_EIO:
        return WR_IO;
    default:
        return WR_OTHER;
    }
}

static void wal_count_error(wal_t *w, int rc, uint64_t n)
{
    metric_add(w->m_err[wal_reason_of(rc)], (double)n);
}

static void wal_collect(void *ud)
{
    (void)ud;
    uint64_t now = clock_wall_ns();
    pthread_mutex_lock(&wal_list_mu);
    for (wal_t *w = wal_list; w; w = w->list_next) {
        uint64_t ns = wal_oldest_ns(w);
        metric_set(w->m_bytes, (double)wal_bytes(w));
        metric_set(w->m_oldest, ns && now > ns ? (double)(now - ns) / 1e9 : 0.0);
    }
    pthread_mutex_unlock(&wal_list_mu);
}

static void wal_metrics_init(wal_t *w)
{
    static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
    const char *l1[] = {"wal"}, *l2[] = {"wal", "reason"};
    const char *v1[] = {w->o.metrics_name};
    metric_family_t *f;
    f = metrics_histogram("orasi_wal_fsync_seconds", "WAL fdatasync latency", 1, l1,
                          (int)(sizeof(bounds) / sizeof(bounds[0])), bounds);
    w->m_fsync = metric_series(f, v1);
    f = metrics_gauge("orasi_wal_bytes", "WAL bytes counted against the cap", 1, l1);
    w->m_bytes = metric_series(f, v1);
    f = metrics_gauge("orasi_wal_oldest_age_seconds",
                      "Age of the oldest WAL record not checkpointed", 1, l1);
    w->m_oldest = metric_series(f, v1);
    f = metrics_counter("orasi_wal_appends_total", "WAL appends accepted", 1, l1);
    w->m_appends = metric_series(f, v1);
    f = metrics_counter("orasi_wal_group_commits_total", "WAL group commits (write+sync)", 1, l1);
    w->m_groups = metric_series(f, v1);
    f = metrics_counter("orasi_wal_append_errors_total", "WAL appends that failed", 2, l2);
    for (int i = 0; i < WR__N; i++)
        w->m_err[i] = metric_series(f, (const char *[]){w->o.metrics_name, wal_reason_names[i]});
    metrics_add_collector(wal_collect, NULL); /* idempotent */
}

/* ---- segments ---------------------------------------------------------------------------- */

static struct wal_seg *wal_seg_new(const wal_t *w, uint64_t first_seq)
{
    size_t n = strlen(w->dir) + 1 + WAL_NAME_LEN + 1;
    struct wal_seg *s = orasi_calloc(1, sizeof(*s) + n);
    if (!s)
        return NULL;
    snprintf(s->path, n, "%s/seg-%020" PRIu64 ".wal", w->dir, first_seq);
    s->first_seq = first_seq;
    s->last_seq = first_seq - 1;
    s->size = s->fsize = WAL_SEG_HDR;
    s->fd = -1;
    s->refs = 1;
    return s;
}

static void wal_seg_destroy(const wal_t *w, struct wal_seg *s)
{
    if (s->fd >= 0)
        w->io->close(w->io, s->fd);
    orasi_free(s->idx);
    orasi_free(s);
}

static void wal_seg_unref(wal_t *w, struct wal_seg *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&w->mu);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&w->mu);
    if (last)
        wal_seg_destroy(w, s);
}

/* Remember where record `seq` starts, every WAL_INDEX_SPACING bytes. Failure to grow only
 * makes seeks scan further. Caller holds mu (or is the only thread, during open). */
static void wal_seg_index(struct wal_seg *s, uint64_t seq, uint64_t off, uint64_t ns)
{
    if (s->nidx && off - s->idx[s->nidx - 1].off < WAL_INDEX_SPACING)
        return;
    if (s->nidx == s->capidx) {
        uint32_t cap = s->capidx ? s->capidx * 2 : 16;
        struct wal_idx *p = orasi_realloc(s->idx, cap * sizeof(*p));
        if (!p)
            return;
        s->idx = p;
        s->capidx = cap;
    }
    s->idx[s->nidx++] = (struct wal_idx){seq, off, ns};
}

/* The last index entry at or before `seq` (or the segment start). Caller holds mu. */
static void wal_seg_index_find(const struct wal_seg *s, uint64_t seq, uint64_t *off,
                               uint64_t *at_seq)
{
    *off = WAL_SEG_HDR;
    *at_seq = s->first_seq;
    uint32_t lo = 0, hi = s->nidx;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->idx[mid].seq <= seq) {
            *off = s->idx[mid].off;
            *at_seq = s->idx[mid].seq;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
}

static int wal_seg_has_records(const struct wal_seg *s)
{
    return s->last_seq >= s->first_seq;
}

static void wal_seg_header(uint8_t *h, uint64_t first_seq)
{
    memset(h, 0, WAL_SEG_HDR);
    memcpy(h, wal_seg_magic, 8);
    wal_put32(h + 8, WAL_VERSION);
    wal_put64(h + 16, first_seq);
    wal_put32(h + 24, crc32c(0, h, 24));
}

/* Write all of iov at off, looping over short writes. The iov array is consumed. */
static int wal_pwrite_all(const wal_t *w, int fd, struct iovec *iov, int cnt, uint64_t off)
{
    while (cnt > 0) {
        ssize_t r = w->io->pwritev(w->io, fd, iov, cnt, off);
        if (r < 0)
            return (int)r;
        if (r == 0)
            return ORASI_EIO; /* no progress: do not spin */
        off += (uint64_t)r;
        size_t left = (size_t)r;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

static int wal_pread_all(const wal_t *w, int fd, void *p, size_t n, uint64_t off)
{
    uint8_t *d = p;
    while (n) {
        ssize_t r = w->io->pread(w->io, fd, d, n, off);
        if (r < 0)
            return (int)r;
        if (r == 0)
            return ORASI_ECORRUPT; /* the file is shorter than the index says */
        d += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Recompute the bytes counted for the cap. Caller holds mu. */
static void wal_account(wal_t *w)
{
    uint64_t live = 0, ckpt = wal_ld(&w->ckpt_seq);
    for (size_t i = 0; i < w->nsegs; i++) {
        const struct wal_seg *s = w->segs[i];
        if (!wal_seg_has_records(s) || s->last_seq <= ckpt)
            continue;
        live += s->size;
        if (w->ckpt_off && s->first_seq == w->ckpt_seg_first && w->ckpt_off <= s->size)
            live -= w->ckpt_off - WAL_SEG_HDR;
    }
    w->disk_live = live;
    wal_st(&w->bytes, live + w->qbytes);
    metric_set(w->m_bytes, (double)(live + w->qbytes));
}

static char *wal_path(const wal_t *w, const char *name)
{
    size_t n = strlen(w->dir) + 1 + strlen(name) + 1;
    char *p = orasi_malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", w->dir, name);
    return p;
}

/* Path of free-<k>.wal (caller frees), or NULL. */
static char *wal_free_path(const wal_t *w, int k)
{
    char name[] = "free-0.wal";
    name[5] = (char)('0' + k); /* k < WAL_FREE_MAX <= 10 */
    return wal_path(w, name);
}

/* Claim a free slot in state `from` (setting it BUSY): its index, or -1. Caller holds mu. */
static int wal_free_claim(wal_t *w, enum wal_free_state from)
{
    for (int k = 0; k < WAL_FREE_MAX; k++)
        if (w->free_state[k] == from) {
            w->free_state[k] = WF_BUSY;
            return k;
        }
    return -1;
}

static void wal_free_set(wal_t *w, int k, enum wal_free_state st)
{
    pthread_mutex_lock(&w->mu);
    w->free_state[k] = (uint8_t)st;
    pthread_mutex_unlock(&w->mu);
}

/* Take out of the array every segment other than the last that holds no record past the
 * checkpoint; keep up to WAL_FREE_MAX of them for reuse (REUSE above) and delete the
 * others. Any thread. */
static void wal_drop_checkpointed(wal_t *w)
{
    struct wal_seg *gone[64];
    int slot[64];
    size_t ngone;
    do {
        ngone = 0;
        pthread_mutex_lock(&w->mu);
        uint64_t ckpt = wal_ld(&w->ckpt_seq);
        size_t keep = 0;
        for (size_t i = 0; i < w->nsegs; i++) {
            struct wal_seg *s = w->segs[i];
            int last = i + 1 == w->nsegs;
            if (!last && ngone < 64 && (!wal_seg_has_records(s) || s->last_seq <= ckpt)) {
                /* Only a file no cursor still reads, and not an oversized one. */
                slot[ngone] = s->refs == 1 && s->fsize <= w->o.segment_bytes
                                  ? wal_free_claim(w, WF_EMPTY)
                                  : -1;
                gone[ngone++] = s;
            } else {
                w->segs[keep++] = s;
            }
        }
        w->nsegs = keep;
        wal_account(w);
        pthread_mutex_unlock(&w->mu);
        for (size_t i = 0; i < ngone; i++) {
            int rc = ORASI_ENOMEM, k = slot[i];
            if (k >= 0) {
                char *fp = wal_free_path(w, k);
                rc = fp ? w->io->rename(w->io, gone[i]->path, fp) : ORASI_ENOMEM;
                orasi_free(fp);
                wal_free_set(w, k, rc ? WF_EMPTY : WF_READY);
            }
            if (rc) {
                rc = w->io->unlink(w->io, gone[i]->path);
                if (rc && rc != ORASI_ENOTFOUND)
                    LOG_W("wal", "cannot delete checkpointed segment %s: %s", gone[i]->path,
                          orasi_strerror(rc));
            }
            wal_seg_unref(w, gone[i]);
        }
    } while (ngone == 64);
}

/* ---- recovery ---------------------------------------------------------------------------- */

/* A read window over one file, for the sequential scan. */
struct wal_rd {
    const wal_t *w;
    int fd;
    uint64_t fsize;
    uint8_t *buf; /* WAL_RD_BUF bytes */
    uint64_t boff;
    size_t blen;
};

/* Make n (<= WAL_RD_BUF) bytes at off available: 1 and *p, 0 if the file ends first. */
static int wal_rd_get(struct wal_rd *r, uint64_t off, size_t n, const uint8_t **p)
{
    if (off < r->fsize && n <= r->fsize - off && off >= r->boff && off + n <= r->boff + r->blen) {
        *p = r->buf + (off - r->boff);
        return 1;
    }
    if (off > r->fsize || n > r->fsize - off)
        return 0;
    size_t want = WAL_RD_BUF;
    if (r->fsize - off < want)
        want = (size_t)(r->fsize - off);
    int rc = wal_pread_all(r->w, r->fd, r->buf, want, off);
    if (rc)
        return rc == ORASI_ECORRUPT ? 0 : rc; /* shrank under us: treat as short */
    r->boff = off;
    r->blen = want;
    *p = r->buf;
    return 1;
}

struct wal_list_ctx {
    uint64_t *seqs;
    size_t n, cap;
    int tmp_seen;
    uint8_t free_seen[WAL_FREE_MAX];
};

static int wal_list_cb(void *ud, const char *name)
{
    struct wal_list_ctx *c = ud;
    if (!strcmp(name, "checkpoint.tmp")) {
        c->tmp_seen = 1;
        return 0;
    }
    if (!strncmp(name, "free-", 5) && name[5] >= '0' && name[5] < '0' + WAL_FREE_MAX &&
        !strcmp(name + 6, ".wal")) {
        c->free_seen[name[5] - '0'] = 1;
        return 0;
    }
    if (strlen(name) != WAL_NAME_LEN || strncmp(name, "seg-", 4) || strcmp(name + 24, ".wal"))
        return 0;
    uint64_t v = 0;
    for (int i = 4; i < 24; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (v == 0 || v > WAL_SEQ_MAX)
        return 0;
    if (c->n == c->cap) {
        if (c->cap >= WAL_MAX_SEGMENTS)
            return ORASI_EFULL;
        size_t cap = c->cap ? c->cap * 2 : 16;
        uint64_t *p = orasi_realloc(c->seqs, cap * sizeof(*p));
        if (!p)
            return ORASI_ENOMEM;
        c->seqs = p;
        c->cap = cap;
    }
    c->seqs[c->n++] = v;
    return 0;
}

static int wal_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Read the checkpoint file: 0 and *seq (0 when missing or corrupt), or an I/O error. */
static int wal_ckpt_read(wal_t *w, uint64_t *seq)
{
    int rc = 0, fd = -1;
    uint8_t b[WAL_CKP_SIZE];
    char *path = wal_path(w, "checkpoint");
    *seq = 0;
    if (!path)
        return ORASI_ENOMEM;
    fd = w->io->open(w->io, path, O_RDONLY, 0);
    if (fd == ORASI_ENOTFOUND)
        goto out;
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    ssize_t r = w->io->pread(w->io, fd, b, sizeof(b), 0);
    if (r < 0) {
        rc = (int)r;
        goto out;
    }
    if (r != WAL_CKP_SIZE || memcmp(b, wal_ckp_magic, 8) || wal_get32(b + 8) != WAL_VERSION ||
        wal_get32(b + 24) != crc32c(0, b, 24) || wal_get64(b + 16) > WAL_SEQ_MAX) {
        LOG_W("wal", "%s: corrupt checkpoint file ignored (replaying everything present)", w->dir);
        goto out;
    }
    *seq = wal_get64(b + 16);
out:
    if (fd >= 0)
        w->io->close(w->io, fd);
    orasi_free(path);
    return rc;
}

static int wal_ckpt_write(wal_t *w, uint64_t seq)
{
    int rc, fd = -1;
    uint8_t b[WAL_CKP_SIZE] = {0};
    char *tmp = wal_path(w, "checkpoint.tmp"), *path = wal_path(w, "checkpoint");
    if (!tmp || !path) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    memcpy(b, wal_ckp_magic, 8);
    wal_put32(b + 8, WAL_VERSION);
    wal_put64(b + 16, seq);
    wal_put32(b + 24, crc32c(0, b, 24));
    fd = w->io->open(w->io, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    struct iovec iov = {b, sizeof(b)};
    rc = wal_pwrite_all(w, fd, &iov, 1, 0);
    if (!rc)
        rc = w->io->fsync(w->io, fd);
    w->io->close(w->io, fd);
    fd = -1;
    if (!rc)
        rc = w->io->rename(w->io, tmp, path);
    if (!rc)
        rc = w->io->fsync_dir(w->io, w->dir);
    else
        w->io->unlink(w->io, tmp);
out:
    orasi_free(tmp);
    orasi_free(path);
    return rc;
}

/* Why a segment's content ends where it does. */
enum wal_cut { CUT_NONE, CUT_SHORT, CUT_TOOLONG, CUT_CRC, CUT_SEQ, CUT_HEADER };
static const char *const wal_cut_names[] = {"",
                                            "short record",
                                            "length above maximum",
                                            "CRC mismatch",
                                            "sequence not previous + 1",
                                            "bad segment header"};

/* Scan one opened segment: validate records from the header on, fill last_seq, size and
 * the index, note checkpoint+1's time and offset. *cut says why scanning stopped early
 * (CUT_NONE at a clean end). Returns 0 or an I/O error. */
static int wal_scan_segment(wal_t *w, struct wal_seg *s, struct wal_rd *rd, uint64_t ckpt,
                            enum wal_cut *cut)
{
    const uint8_t *p;
    *cut = CUT_NONE;
    int r = wal_rd_get(rd, 0, WAL_SEG_HDR, &p);
    if (r < 0)
        return r;
    if (r == 0 || memcmp(p, wal_seg_magic, 8) || wal_get32(p + 24) != crc32c(0, p, 24) ||
        wal_get64(p + 16) != s->first_seq) {
        *cut = CUT_HEADER;
        return 0;
    }
    if (wal_get32(p + 8) != WAL_VERSION) {
        LOG_E("wal", "%s: segment format version %u not supported", s->path, wal_get32(p + 8));
        return ORASI_EUNSUPPORTED;
    }
    uint64_t off = WAL_SEG_HDR, expect = s->first_seq;
    while (off < rd->fsize) {
        r = wal_rd_get(rd, off, WAL_REC_HDR, &p);
        if (r < 0)
            return r;
        if (r == 0) {
            *cut = CUT_SHORT;
            break;
        }
        uint32_t len = wal_get32(p), crc = wal_get32(p + 4);
        uint64_t seq = wal_get64(p + 8), ns = wal_get64(p + 16);
        if (len > w->rec_limit) {
            *cut = CUT_TOOLONG;
            break;
        }
        if (rd->fsize - off - WAL_REC_HDR < len) {
            *cut = CUT_SHORT;
            break;
        }
        uint32_t c = crc32c(0, p + 8, WAL_REC_HDR - 8);
        for (uint64_t done = 0; done < len;) {
            size_t n = len - done > WAL_RD_BUF ? WAL_RD_BUF : (size_t)(len - done);
            r = wal_rd_get(rd, off + WAL_REC_HDR + done, n, &p);
            if (r <= 0)
                return r < 0 ? r : ORASI_EIO;
            c = crc32c(c, p, n);
            done += n;
        }
        if (c != crc) {
            *cut = CUT_CRC;
            break;
        }
        if (seq != expect) {
            *cut = CUT_SEQ;
            break;
        }
        wal_seg_index(s, seq, off, ns);
        if (seq > ckpt && !w->ckpt_off) { /* the oldest record not checkpointed */
            w->ckpt_seg_first = s->first_seq;
            w->ckpt_off = off;
            wal_st(&w->oldest_ns, ns);
        }
        s->last_seq = seq;
        expect++;
        off += WAL_REC_HDR + (uint64_t)len;
    }
    s->size = off;
    s->fsize = rd->fsize > off ? rd->fsize : off;
    return 0;
}

/* Cut segment s back to its valid records (ftruncate + fsync); `what` names the tail
 * in the error message. */
static int wal_cut_tail(wal_t *w, struct wal_seg *s, const char *what, char *err, size_t errlen)
{
    int rc = w->io->ftruncate(w->io, s->fd, s->size);
    if (!rc)
        rc = w->io->fsync(w->io, s->fd);
    if (rc)
        snprintf(err, errlen, "%s: cannot cut %s tail: %s", s->path, what, orasi_strerror(rc));
    else
        s->fsize = s->size;
    return rc;
}

static int wal_recover(wal_t *w, char *err, size_t errlen)
{
    struct wal_list_ctx lc = {0};
    struct wal_rd rd = {.w = w, .fd = -1};
    uint64_t ckpt = 0;
    size_t cut_at = SIZE_MAX; /* segments from here on are deleted */
    int rc = w->io->listdir(w->io, w->dir, wal_list_cb, &lc);
    if (rc) {
        snprintf(err, errlen, "%s: cannot list: %s", w->dir, orasi_strerror(rc));
        goto out;
    }
    if (lc.tmp_seen) {
        char *tmp = wal_path(w, "checkpoint.tmp");
        if (tmp)
            w->io->unlink(w->io, tmp);
        orasi_free(tmp);
    }
    rc = wal_ckpt_read(w, &ckpt);
    if (rc) {
        snprintf(err, errlen, "%s: cannot read checkpoint: %s", w->dir, orasi_strerror(rc));
        goto out;
    }
    wal_st(&w->ckpt_seq, ckpt);
    if (lc.n)
        qsort(lc.seqs, lc.n, sizeof(uint64_t), wal_u64_cmp);
    rd.buf = orasi_malloc(WAL_RD_BUF);
    w->segs = orasi_calloc(lc.n ? lc.n : 1, sizeof(*w->segs));
    if (!rd.buf || !w->segs) {
        rc = ORASI_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    w->capsegs = lc.n ? lc.n : 1;
    for (size_t i = 0; i < lc.n; i++) {
        struct wal_seg *s = wal_seg_new(w, lc.seqs[i]);
        if (!s) {
            rc = ORASI_ENOMEM;
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        w->segs[w->nsegs++] = s;
        const struct wal_seg *prev = i ? w->segs[i - 1] : NULL;
        if (prev && s->first_seq != prev->last_seq + 1 &&
            !(s->first_seq > prev->last_seq + 1 && s->first_seq <= ckpt + 1)) {
            LOG_W("wal",
                  "%s: first seq %" PRIu64 " does not follow %" PRIu64
                  "; deleting it and every later segment",
                  s->path, s->first_seq, prev->last_seq);
            cut_at = i;
            break;
        }
        s->fd = w->io->open(w->io, s->path, O_RDWR, 0);
        if (s->fd < 0) {
            rc = s->fd;
            snprintf(err, errlen, "%s: cannot open: %s", s->path, orasi_strerror(rc));
            goto out;
        }
        rc = w->io->fsize(w->io, s->fd, &rd.fsize);
        if (rc) {
            snprintf(err, errlen, "%s: cannot stat: %s", s->path, orasi_strerror(rc));
            goto out;
        }
        rd.fd = s->fd;
        rd.boff = rd.blen = 0;
        enum wal_cut cut;
        rc = wal_scan_segment(w, s, &rd, ckpt, &cut);
        if (rc) {
            snprintf(err, errlen, "%s: recovery failed: %s", s->path, orasi_strerror(rc));
            goto out;
        }
        if (cut == CUT_HEADER) {
            LOG_W("wal", "%s: %s (%" PRIu64 " bytes); deleting it and every later segment", s->path,
                  wal_cut_names[cut], rd.fsize);
            cut_at = i;
            break;
        }
        if (cut != CUT_NONE && i + 1 < lc.n &&
            (lc.seqs[i + 1] == s->last_seq + 1 ||
             (lc.seqs[i + 1] > s->last_seq + 1 && lc.seqs[i + 1] <= ckpt + 1))) {
            /* The next segment follows on: what is cut is the stale tail of a reused
             * segment (REUSE, RECOVERY 3), nothing is missing. */
            LOG_I("wal",
                  "%s: %s at offset %" PRIu64 ": cut %" PRIu64 " stale bytes after seq %" PRIu64,
                  s->path, wal_cut_names[cut], s->size, rd.fsize - s->size, s->last_seq);
            if ((rc = wal_cut_tail(w, s, "stale", err, errlen)))
                goto out;
            continue;
        }
        if (cut != CUT_NONE) {
            char fields[96];
            snprintf(fields, sizeof(fields), "\"cut_bytes\":%" PRIu64 ",\"last_seq\":%" PRIu64,
                     rd.fsize - s->size, s->last_seq);
            log_msg(LOG_WARN, "wal", fields,
                    "%s: %s at offset %" PRIu64 ": cut %" PRIu64 " bytes after seq %" PRIu64
                    "; %zu later segment(s) deleted",
                    s->path, wal_cut_names[cut], s->size, rd.fsize - s->size, s->last_seq,
                    lc.n - i - 1);
            if ((rc = wal_cut_tail(w, s, "torn", err, errlen)))
                goto out;
            cut_at = i + 1;
            break;
        }
    }
    if (cut_at != SIZE_MAX) {
        /* Delete the rejected segments (from cut_at on), including ones not opened. */
        for (size_t i = cut_at; i < lc.n; i++) {
            char name[WAL_NAME_LEN + 1];
            snprintf(name, sizeof(name), "seg-%020" PRIu64 ".wal", lc.seqs[i]);
            char *path = wal_path(w, name);
            if (!path) {
                rc = ORASI_ENOMEM;
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            rc = w->io->unlink(w->io, path);
            orasi_free(path);
            if (rc && rc != ORASI_ENOTFOUND) {
                snprintf(err, errlen, "%s: cannot delete segment: %s", w->dir, orasi_strerror(rc));
                goto out;
            }
            rc = 0;
        }
        while (w->nsegs > cut_at)
            wal_seg_destroy(w, w->segs[--w->nsegs]);
        rc = w->io->fsync_dir(w->io, w->dir);
        if (rc) {
            snprintf(err, errlen, "%s: cannot fsync directory: %s", w->dir, orasi_strerror(rc));
            goto out;
        }
    }
    /* Where numbering continues. */
    uint64_t last = ckpt;
    if (w->nsegs) {
        const struct wal_seg *s = w->segs[w->nsegs - 1];
        if (s->last_seq > last)
            last = s->last_seq;
    }
    if (w->nsegs && w->segs[0]->first_seq > ckpt + 1 && wal_seg_has_records(w->segs[0]))
        LOG_W("wal", "%s: records %" PRIu64 "..%" PRIu64 " are missing (not checkpointed)", w->dir,
              ckpt + 1, w->segs[0]->first_seq - 1);
    w->next_seq = last + 1;
    for (int k = 0; k < WAL_FREE_MAX; k++)
        w->free_state[k] = lc.free_seen[k] ? WF_READY : WF_EMPTY;
    wal_st(&w->last_seq, last);
    wal_st(&w->durable_seq, last);
    if (last <= ckpt)
        wal_st(&w->oldest_ns, 0);
    if (lc.n)
        LOG_I("wal", "%s: recovered %zu segment(s), checkpoint %" PRIu64 ", next seq %" PRIu64,
              w->dir, w->nsegs, ckpt, w->next_seq);
    rc = 0;
out:
    orasi_free(lc.seqs);
    orasi_free(rd.buf);
    return rc;
}

/* ---- writer ------------------------------------------------------------------------------ */

static uint64_t wal_item_bytes(const struct wal_item *it)
{
    return WAL_REC_HDR + (uint64_t)it->len;
}

static void wal_item_header(struct wal_item *it)
{
    wal_put32(it->hdr, it->len);
    wal_put64(it->hdr + 8, it->seq);
    wal_put64(it->hdr + 16, it->ns);
    it->hdr[24] = it->type;
    uint32_t c = crc32c(0, it->hdr + 8, WAL_REC_HDR - 8);
    for (int i = 0; i < it->npieces; i++)
        c = crc32c(c, it->piece[i].iov_base, it->piece[i].iov_len);
    wal_put32(it->hdr + 4, c);
}

static int wal_sync_data(wal_t *w, int fd)
{
    uint64_t t0 = clock_mono_ns();
    int rc = w->io->fdatasync(w->io, fd);
    metric_observe(w->m_fsync, (double)(clock_mono_ns() - t0) / 1e9);
    return rc;
}

/* Give the new segment s a file: a free one renamed (1), else none (0: the caller creates
 * one). A free file that cannot be taken is deleted. */
static int wal_reuse(wal_t *w, struct wal_seg *s)
{
    pthread_mutex_lock(&w->mu);
    int k = wal_free_claim(w, WF_READY);
    pthread_mutex_unlock(&w->mu);
    if (k < 0)
        return 0;
    char *fp = wal_free_path(w, k);
    int rc = fp ? w->io->rename(w->io, fp, s->path) : ORASI_ENOMEM;
    if (!rc) {
        s->fd = w->io->open(w->io, s->path, O_RDWR, 0);
        rc = s->fd < 0 ? s->fd : w->io->fsize(w->io, s->fd, &s->fsize);
        if (rc) {
            if (s->fd >= 0)
                w->io->close(w->io, s->fd);
            s->fd = -1;
            w->io->unlink(w->io, s->path);
        }
    } else if (fp) {
        w->io->unlink(w->io, fp);
    }
    orasi_free(fp);
    wal_free_set(w, k, WF_EMPTY);
    if (s->fsize < WAL_SEG_HDR)
        s->fsize = WAL_SEG_HDR;
    return !rc;
}

/* Create the segment whose first record is `seq` and make it the active one. */
static int wal_roll(wal_t *w, uint64_t seq)
{
    int rc;
    uint8_t h[WAL_SEG_HDR];
    struct wal_seg *s = wal_seg_new(w, seq), *prev = NULL;
    if (!s)
        return ORASI_ENOMEM;
    pthread_mutex_lock(&w->mu);
    if (w->nsegs)
        prev = w->segs[w->nsegs - 1];
    if (prev && (prev->fsize <= prev->size || prev->last_seq <= wal_ld(&w->ckpt_seq)))
        prev = NULL; /* no stale tail, or about to be dropped (and reused) anyway */
    pthread_mutex_unlock(&w->mu);
    if (prev && !w->io->ftruncate(w->io, prev->fd, prev->size)) {
        /* the stale tail of a reused segment we roll past (not synced: REUSE) */
        pthread_mutex_lock(&w->mu);
        prev->fsize = prev->size;
        pthread_mutex_unlock(&w->mu);
    }
    int reused = wal_reuse(w, s);
    if (!reused)
        s->fd = w->io->open(w->io, s->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (s->fd < 0) {
        rc = s->fd;
        goto fail;
    }
    wal_seg_header(h, seq);
    struct iovec iov = {h, sizeof(h)};
    rc = wal_pwrite_all(w, s->fd, &iov, 1, 0);
    if (!rc && w->o.sync == WAL_SYNC_FSYNC) {
        rc = reused ? w->io->fdatasync(w->io, s->fd) : w->io->fsync(w->io, s->fd);
        if (!rc)
            rc = w->io->fsync_dir(w->io, w->dir);
    }
    if (rc)
        goto fail;
    pthread_mutex_lock(&w->mu);
    if (w->nsegs == w->capsegs) {
        size_t cap = w->capsegs ? w->capsegs * 2 : 8;
        struct wal_seg **p = orasi_realloc(w->segs, cap * sizeof(*p));
        if (!p) {
            pthread_mutex_unlock(&w->mu);
            rc = ORASI_ENOMEM;
            goto fail;
        }
        w->segs = p;
        w->capsegs = cap;
    }
    w->segs[w->nsegs++] = s;
    pthread_mutex_unlock(&w->mu);
    wal_drop_checkpointed(w); /* the previous one, if fully checkpointed */
    return 0;
fail:
    if (s->fd >= 0)
        w->io->unlink(w->io, s->path);
    wal_seg_destroy(w, s);
    return rc;
}

/* Make the active segment ready to take record `it`: cut a dirty tail, roll if needed. */
static int wal_prepare(wal_t *w, const struct wal_item *it, struct wal_seg **out)
{
    int rc;
    pthread_mutex_lock(&w->mu);
    struct wal_seg *s = w->nsegs ? w->segs[w->nsegs - 1] : NULL;
    pthread_mutex_unlock(&w->mu);
    if (s && w->tail_dirty) {
        /* A failed group may have left bytes (even whole valid-looking records whose
         * seqs are being reused) past the good end: cut them before writing there. */
        rc = w->io->ftruncate(w->io, s->fd, s->size);
        if (!rc && w->o.sync == WAL_SYNC_FSYNC)
            rc = wal_sync_data(w, s->fd);
        if (rc)
            return rc;
        w->tail_dirty = 0;
    }
    int roll = !s || s->last_seq + 1 != it->seq;
    if (!roll && wal_seg_has_records(s))
        roll = s->size + wal_item_bytes(it) > w->o.segment_bytes ||
               s->last_seq <= wal_ld(&w->ckpt_seq);
    if (roll) {
        rc = wal_roll(w, it->seq);
        if (rc)
            return rc;
        pthread_mutex_lock(&w->mu);
        s = w->segs[w->nsegs - 1];
        pthread_mutex_unlock(&w->mu);
    }
    *out = s;
    return 0;
}

/* Run callbacks for items [it, end) and free them. */
static void wal_finish(wal_t *w, struct wal_item *it, struct wal_item *end, int result, int call)
{
    while (it != end) {
        struct wal_item *next = it->next;
        if (call && it->done)
            it->done(it->ud, result, it->seq);
        orasi_free(it);
        it = next;
    }
}

static void wal_group_end(wal_t *w)
{
    if (w->o.group_end)
        w->o.group_end(w->o.group_ud);
}

/* Records that would get a number past WAL_SEQ_MAX fail before they get one (under
 * policy none too: they were not acknowledged). A segment or checkpoint named after such
 * a number would be taken for corruption at the next open and its records lost
 * (fuzz_wal_recovery found it, from a checkpoint at WAL_SEQ_MAX). */
static void wal_refuse(wal_t *w, struct wal_item *it)
{
    uint64_t n = 0, bytes = 0;
    for (struct wal_item *p = it; p; p = p->next) {
        n++;
        bytes += wal_item_bytes(p);
    }
    LOG_E("wal", "%s: %" PRIu64 " record(s) refused: the sequence space is used up (next seq %" PRIu64
                 ")", w->dir, n, w->next_seq);
    pthread_mutex_lock(&w->mu);
    w->qbytes -= bytes;
    wal_account(w);
    pthread_mutex_unlock(&w->mu);
    wal_count_error(w, ORASI_EFULL, n);
    wal_finish(w, it, NULL, ORASI_EFULL, 1);
    wal_group_end(w);
}

/* Write one group (everything the queue held), segment by segment. */
static void wal_write_group(wal_t *w, struct wal_item *head)
{
    int early = w->o.sync == WAL_SYNC_NONE;
    uint64_t room = w->next_seq <= WAL_SEQ_MAX ? WAL_SEQ_MAX - w->next_seq + 1 : 0;
    struct wal_item **pp = &head;
    while (*pp && room) {
        pp = &(*pp)->next;
        room--;
    }
    if (*pp) {
        struct wal_item *over = *pp;
        *pp = NULL;
        wal_refuse(w, over);
        if (!head)
            return;
    }
    for (struct wal_item *it = head; it; it = it->next) {
        it->seq = w->next_seq++;
        wal_item_header(it);
    }
    wal_st(&w->last_seq, w->next_seq - 1);
    if (early) { /* policy none: acknowledged once queued */
        for (struct wal_item *it = head; it; it = it->next)
            if (it->done)
                it->done(it->ud, 0, it->seq);
        wal_group_end(w);
    }

    struct wal_item *it = head;
    int rc = 0;
    while (it) {
        struct wal_seg *s;
        rc = wal_prepare(w, it, &s);
        if (rc)
            break;
        /* The run of records that fits in this segment (at least one). */
        uint64_t off = s->size, bytes = 0, n = 0;
        struct wal_item *end = it;
        while (end && (n == 0 || s->size + bytes + wal_item_bytes(end) <= w->o.segment_bytes)) {
            bytes += wal_item_bytes(end);
            n++;
            end = end->next;
        }
        /* Write it in pwritev calls of up to WAL_MAX_IOV vectors. */
        for (struct wal_item *p = it; p != end && !rc;) {
            int cnt = 0;
            uint64_t part = 0;
            while (p != end && cnt + 1 + WAL_MAX_PIECES <= WAL_MAX_IOV) {
                w->iov[cnt++] = (struct iovec){p->hdr, WAL_REC_HDR};
                for (int i = 0; i < p->npieces; i++)
                    if (p->piece[i].iov_len)
                        w->iov[cnt++] = p->piece[i];
                part += wal_item_bytes(p);
                p = p->next;
            }
            rc = wal_pwrite_all(w, s->fd, w->iov, cnt, off);
            off += part;
        }
        if (!rc && w->o.sync == WAL_SYNC_FSYNC)
            rc = wal_sync_data(w, s->fd);
        if (rc) {
            w->tail_dirty = 1;
            /* Try to cut right away so the file holds no unacknowledged record. */
            int trc = w->io->ftruncate(w->io, s->fd, s->size);
            if (!trc && w->o.sync == WAL_SYNC_FSYNC)
                trc = wal_sync_data(w, s->fd);
            if (!trc)
                w->tail_dirty = 0;
            break;
        }
        /* Durable: publish, then acknowledge. */
        struct wal_item *lastit = it;
        for (struct wal_item *p = it; p != end; p = p->next) {
            lastit = p;
        }
        pthread_mutex_lock(&w->mu);
        uint64_t o2 = s->size;
        for (struct wal_item *p = it; p != end; p = p->next) {
            wal_seg_index(s, p->seq, o2, p->ns);
            o2 += wal_item_bytes(p);
        }
        s->size = o2;
        if (o2 > s->fsize)
            s->fsize = o2;
        s->last_seq = lastit->seq;
        if (wal_ld(&w->durable_seq) <= wal_ld(&w->ckpt_seq)) {
            /* The first record past the checkpoint is now the oldest one. */
            for (struct wal_item *p = it; p != end; p = p->next)
                if (p->seq > wal_ld(&w->ckpt_seq)) {
                    wal_st(&w->oldest_ns, p->ns);
                    break;
                }
        }
        wal_st(&w->durable_seq, lastit->seq);
        w->qbytes -= bytes;
        w->inflight_ns = end ? end->ns : 0;
        wal_account(w);
        pthread_mutex_unlock(&w->mu);
        metric_inc(w->m_groups);
        if (w->failing) {
            LOG_I("wal", "%s: writes succeed again from seq %" PRIu64, w->dir, it->seq);
            w->failing = 0;
        }
        wal_finish(w, it, end, 0, !early);
        if (!early)
            wal_group_end(w);
        it = end;
    }
    if (!it)
        return;
    /* Everything from `it` on failed: not in the log, seqs reused by later appends. */
    uint64_t n = 0, bytes = 0;
    for (struct wal_item *p = it; p; p = p->next) {
        n++;
        bytes += wal_item_bytes(p);
    }
    if (!w->failing || early)
        LOG_E("wal", "%s: write of %" PRIu64 " record(s) from seq %" PRIu64 " failed: %s%s", w->dir,
              n, it->seq, orasi_strerror(rc),
              early ? " (policy none: they were already acknowledged and are lost)" : "");
    w->failing = 1;
    /* Reuse the failed numbers — except, under policy none, ones a consumer has already
     * checkpointed (it saw the early callbacks): reusing those would mark new records as
     * done. The gap this leaves is inside the checkpoint, which recovery accepts (the
     * writer starts a new segment there). ckpt_mu orders this with wal_checkpoint. */
    pthread_mutex_lock(&w->ckpt_mu);
    uint64_t ckpt = wal_ld(&w->ckpt_seq);
    w->next_seq = it->seq > ckpt ? it->seq : ckpt + 1;
    wal_st(&w->last_seq, w->next_seq - 1);
    pthread_mutex_unlock(&w->ckpt_mu);
    pthread_mutex_lock(&w->mu);
    w->qbytes -= bytes;
    wal_account(w);
    pthread_mutex_unlock(&w->mu);
    wal_count_error(w, rc, n);
    wal_finish(w, it, NULL, rc, !early);
    if (!early)
        wal_group_end(w);
}

static void *wal_writer(void *arg)
{
    wal_t *w = arg;
    pthread_setname_np(pthread_self(), "wal");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->qhead && !w->closing)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->qhead)
            break;
        struct wal_item *head = w->qhead;
        w->qhead = w->qtail = NULL;
        w->inflight_ns = head->ns;
        pthread_mutex_unlock(&w->mu);
        wal_write_group(w, head);
        pthread_mutex_lock(&w->mu);
        w->inflight_ns = 0;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- open / close ------------------------------------------------------------------------ */

static void wal_free(wal_t *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nsegs; i++)
        wal_seg_unref(w, w->segs[i]);
    if (w->lock_fd >= 0)
        w->io->close(w->io, w->lock_fd); /* releases the flock */
    orasi_free(w->segs);
    orasi_free(w->iov);
    orasi_free(w->dir);
    orasi_free((char *)w->o.metrics_name);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->ckpt_mu);
    pthread_cond_destroy(&w->cv);
    orasi_free(w);
}

/* Two writers on one directory would interleave segments and destroy each other's
 * tails at recovery (a restarted bridge whose old process still runs): take an
 * exclusive flock on <dir>/lock, held until close. The fd comes from the io layer, so
 * it is a real fd for both implementations. */
static int wal_lock(wal_t *w, char *err, size_t errlen)
{
    char *path = wal_path(w, "lock");
    if (!path) {
        snprintf(err, errlen, "out of memory");
        return ORASI_ENOMEM;
    }
    int rc = 0;
    w->lock_fd = w->io->open(w->io, path, O_RDWR | O_CREAT, 0644);
    if (w->lock_fd < 0) {
        rc = w->lock_fd;
        snprintf(err, errlen, "%s: cannot open: %s", path, orasi_strerror(rc));
        goto out;
    }
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? ORASI_EBUSY : orasi_err_from_errno(errno);
        snprintf(err, errlen, "%s: %s", w->dir,
                 rc == ORASI_EBUSY ? "already open (another WAL holds its lock)"
                                   : orasi_strerror(rc));
    }
out:
    orasi_free(path);
    return rc;
}

int wal_open(const char *dir, const wal_options_t *o, wal_t **out, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    *out = NULL;
    wal_options_t def;
    wal_options_default(&def);
    if (!o)
        o = &def;
    if (!dir || !*dir || strlen(dir) > PATH_MAX - WAL_NAME_LEN - 2) {
        snprintf(err, errlen, "wal: invalid directory");
        return ORASI_EINVAL;
    }
    if (o->sync > WAL_SYNC_NONE || o->segment_bytes < WAL_SEG_HDR + WAL_REC_HDR ||
        !o->max_record_bytes || !o->max_bytes) {
        snprintf(err, errlen, "wal: invalid options");
        return ORASI_EINVAL;
    }
    int rc;
    wal_t *w = orasi_calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return ORASI_ENOMEM;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->ckpt_mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->lock_fd = -1;
    w->o = *o;
    w->io = o->io ? o->io : &wal_io_posix;
    w->rec_limit =
        o->max_record_bytes > WAL_DEFAULT_MAX_RECORD ? o->max_record_bytes : WAL_DEFAULT_MAX_RECORD;
    w->dir = orasi_strdup(dir);
    w->o.metrics_name = orasi_strdup(o->metrics_name ? o->metrics_name : "wal");
    w->iov = orasi_calloc(WAL_MAX_IOV, sizeof(*w->iov));
    if (!w->dir || !w->o.metrics_name || !w->iov) {
        rc = ORASI_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = w->io->mkdir(w->io, dir);
    if (rc && rc != ORASI_EEXISTS) {
        snprintf(err, errlen, "%s: cannot create: %s", dir, orasi_strerror(rc));
        goto out;
    }
    rc = wal_lock(w, err, errlen);
    if (rc)
        goto out;
    rc = wal_recover(w, err, errlen);
    if (rc)
        goto out;
    wal_drop_checkpointed(w);
    wal_metrics_init(w);
    pthread_mutex_lock(&w->mu);
    wal_account(w);
    pthread_mutex_unlock(&w->mu);
    int e = pthread_create(&w->thr, NULL, wal_writer, w);
    if (e) {
        rc = orasi_err_from_errno(e);
        snprintf(err, errlen, "wal: cannot start writer thread: %s", strerror(e));
        goto out;
    }
    w->thr_started = 1;
    pthread_mutex_lock(&wal_list_mu);
    w->list_next = wal_list;
    wal_list = w;
    pthread_mutex_unlock(&wal_list_mu);
    *out = w;
    w = NULL;
out:
    wal_free(w);
    return rc;
}

void wal_close(wal_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&wal_list_mu);
    for (wal_t **pp = &wal_list; *pp; pp = &(*pp)->list_next)
        if (*pp == w) {
            *pp = w->list_next;
            break;
        }
    pthread_mutex_unlock(&wal_list_mu);
    pthread_mutex_lock(&w->mu);
    w->closing = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->thr_started)
        pthread_join(w->thr, NULL);
    wal_free(w);
}

/* ---- append ------------------------------------------------------------------------------ */

/* wal_append and wal_append_borrowed: copy the pieces into the item (borrow = 0), or
 * keep pointers to them. */
static int wal_enqueue(wal_t *w, uint8_t type, const struct iovec *iov, int n, int borrow,
                       wal_done_fn done, void *ud)
{
    int rc;
    struct wal_item *it = NULL;
    size_t len = 0;
    if (!w || n < 0 || n > WAL_MAX_PIECES)
        return ORASI_EINVAL;
    /* policy none calls done() before the write: the caller may free borrowed pieces
     * then, so they are copied */
    if (w->o.sync == WAL_SYNC_NONE)
        borrow = 0;
    for (int i = 0; i < n; i++) {
        if (iov[i].iov_len && !iov[i].iov_base)
            return ORASI_EINVAL;
        if (iov[i].iov_len > UINT32_MAX - len)
            return ORASI_ETOOBIG;
        len += iov[i].iov_len;
    }
    uint64_t rec = WAL_REC_HDR + (uint64_t)len;
    if (len > w->o.max_record_bytes || rec > w->o.max_bytes) {
        rc = ORASI_ETOOBIG;
        goto out;
    }
    if (wal_ld(&w->bytes) + rec > w->o.max_bytes) { /* cheap early refusal, no copy */
        rc = ORASI_EFULL;
        goto out;
    }
    it = orasi_malloc(sizeof(*it) + (borrow ? 0 : len));
    if (!it) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    it->next = NULL;
    it->done = done;
    it->ud = ud;
    it->len = (uint32_t)len;
    it->type = type;
    it->seq = 0;
    if (borrow) {
        for (int i = 0; i < n; i++)
            it->piece[i] = iov[i];
        it->npieces = (uint8_t)n;
    } else {
        size_t at = 0;
        for (int i = 0; i < n; i++) {
            if (iov[i].iov_len)
                memcpy(it->payload + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
        it->piece[0] = (struct iovec){it->payload, len};
        it->npieces = 1;
    }
    it->ns = clock_wall_ns();
    pthread_mutex_lock(&w->mu);
    if (w->closing)
        rc = ORASI_ECLOSED;
    else if (w->disk_live + w->qbytes + rec > w->o.max_bytes)
        rc = ORASI_EFULL;
    else
        rc = 0;
    if (!rc) {
        if (w->qtail)
            w->qtail->next = it;
        else
            w->qhead = it;
        w->qtail = it;
        w->qbytes += rec;
        wal_st(&w->bytes, w->disk_live + w->qbytes);
        pthread_cond_signal(&w->cv);
        it = NULL;
    }
    pthread_mutex_unlock(&w->mu);
out:
    orasi_free(it);
    if (rc)
        wal_count_error(w, rc, 1);
    else
        metric_inc(w->m_appends);
    return rc;
}

int wal_append(wal_t *w, uint8_t type, const void *payload, size_t len, wal_done_fn done, void *ud)
{
    if (len && !payload)
        return ORASI_EINVAL;
    struct iovec v = {(void *)payload, len};
    return wal_enqueue(w, type, &v, 1, 0, done, ud);
}

int wal_append_borrowed(wal_t *w, uint8_t type, const struct iovec *iov, int n, wal_done_fn done,
                        void *ud)
{
    return wal_enqueue(w, type, iov, n, 1, done, ud);
}

struct wal_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, rc;
    uint64_t seq;
};

static void wal_waiter_done(void *ud, int result, uint64_t seq)
{
    struct wal_waiter *x = ud;
    pthread_mutex_lock(&x->mu);
    x->rc = result;
    x->seq = seq;
    x->done = 1;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

int wal_append_sync(wal_t *w, uint8_t type, const void *payload, size_t len, uint64_t *seq)
{
    struct wal_waiter x = {.done = 0};
    pthread_mutex_init(&x.mu, NULL);
    pthread_cond_init(&x.cv, NULL);
    int rc = wal_append(w, type, payload, len, wal_waiter_done, &x);
    if (!rc) {
        pthread_mutex_lock(&x.mu);
        while (!x.done)
            pthread_cond_wait(&x.cv, &x.mu);
        pthread_mutex_unlock(&x.mu);
        rc = x.rc;
        if (seq && !rc)
            *seq = x.seq;
    }
    pthread_mutex_destroy(&x.mu);
    pthread_cond_destroy(&x.cv);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Position (seg pinned, off) at record *seq or, when that was checkpointed and deleted,
 * at the first record still present (*seq moves up). 1 found, 0 nothing durable at or
 * after *seq, negative error. Scans record headers forward from the nearest index
 * entry. */
static int wal_locate(wal_t *w, uint64_t *seq, struct wal_seg **segp, uint64_t *offp)
{
    struct wal_seg *s = NULL;
    uint64_t off, at;
    pthread_mutex_lock(&w->mu);
    uint64_t dur = wal_ld(&w->durable_seq);
    for (size_t i = 0; i < w->nsegs; i++)
        if (wal_seg_has_records(w->segs[i]) && w->segs[i]->last_seq >= *seq) {
            s = w->segs[i];
            break;
        }
    if (!s || *seq > dur) {
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    if (s->first_seq > *seq)
        *seq = s->first_seq;
    wal_seg_index_find(s, *seq, &off, &at);
    s->refs++;
    pthread_mutex_unlock(&w->mu);
    while (at < *seq) {
        uint8_t h[WAL_REC_HDR];
        int rc = wal_pread_all(w, s->fd, h, sizeof(h), off);
        if (!rc && (wal_get64(h + 8) != at || wal_get32(h) > w->rec_limit))
            rc = ORASI_ECORRUPT;
        if (rc) {
            wal_seg_unref(w, s);
            return rc;
        }
        off += WAL_REC_HDR + (uint64_t)wal_get32(h);
        at++;
    }
    *segp = s;
    *offp = off;
    return 1;
}

int wal_cursor_open(wal_t *w, wal_cursor_t **out)
{
    if (!w || !out)
        return ORASI_EINVAL;
    wal_cursor_t *c = orasi_calloc(1, sizeof(*c));
    if (!c)
        return ORASI_ENOMEM;
    c->w = w;
    c->next_seq = wal_ld(&w->ckpt_seq) + 1;
    buf_init(&c->buf, w->rec_limit);
    *out = c;
    return 0;
}

int wal_cursor_seek(wal_cursor_t *c, uint64_t from_seq)
{
    if (!c)
        return ORASI_EINVAL;
    c->next_seq = from_seq ? from_seq : 1;
    return 0;
}

int wal_cursor_next(wal_cursor_t *c, uint64_t *seq, uint8_t *type, slice_t *payload)
{
    if (!c)
        return ORASI_EINVAL;
    wal_t *w = c->w;
    if (c->next_seq > wal_ld(&w->durable_seq))
        return 0;
    pthread_mutex_lock(&w->mu);
    int fast = c->seg && c->off_seq == c->next_seq && c->next_seq <= c->seg->last_seq;
    pthread_mutex_unlock(&w->mu);
    if (!fast) {
        wal_seg_unref(w, c->seg);
        c->seg = NULL;
        uint64_t want = c->next_seq;
        int rc = wal_locate(w, &want, &c->seg, &c->off);
        if (rc <= 0)
            return rc;
        c->next_seq = c->off_seq = want;
    }
    uint8_t h[WAL_REC_HDR];
    int rc = wal_pread_all(w, c->seg->fd, h, sizeof(h), c->off);
    if (rc)
        return rc;
    uint32_t len = wal_get32(h);
    if (wal_get64(h + 8) != c->next_seq || len > w->rec_limit)
        return ORASI_ECORRUPT;
    buf_clear(&c->buf);
    rc = buf_reserve(&c->buf, len ? len : 1);
    if (rc)
        return rc;
    rc = wal_pread_all(w, c->seg->fd, c->buf.data, len, c->off + WAL_REC_HDR);
    if (rc)
        return rc;
    c->buf.len = len;
    uint32_t crc = crc32c(crc32c(0, h + 8, WAL_REC_HDR - 8), c->buf.data, len);
    if (crc != wal_get32(h + 4))
        return ORASI_ECORRUPT;
    c->off += WAL_REC_HDR + (uint64_t)len;
    c->off_seq++;
    if (seq)
        *seq = c->next_seq;
    if (type)
        *type = h[24];
    if (payload)
        *payload = slice_make(c->buf.data, len);
    c->next_seq++;
    return 1;
}

void wal_cursor_close(wal_cursor_t *c)
{
    if (!c)
        return;
    wal_seg_unref(c->w, c->seg);
    buf_free(&c->buf);
    orasi_free(c);
}

/* ---- checkpoint ---------------------------------------------------------------------------- */

int wal_checkpoint(wal_t *w, uint64_t seq)
{
    if (!w)
        return ORASI_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&w->ckpt_mu);
    if (seq <= wal_ld(&w->ckpt_seq))
        goto out;
    /* Under policy none the callbacks run before the write, so a consumer may checkpoint
     * what it was given before it is on disk. */
    if (seq > wal_ld(w->o.sync == WAL_SYNC_NONE ? &w->last_seq : &w->durable_seq)) {
        rc = ORASI_EINVAL;
        goto out;
    }
    rc = wal_ckpt_write(w, seq);
    if (rc) {
        LOG_E("wal", "%s: cannot write checkpoint %" PRIu64 ": %s", w->dir, seq,
              orasi_strerror(rc));
        goto out;
    }
    pthread_mutex_lock(&w->mu);
    wal_st(&w->ckpt_seq, seq);
    w->ckpt_off = 0;
    int more = wal_ld(&w->durable_seq) > seq;
    if (!more)
        wal_st(&w->oldest_ns, 0); /* the writer sets it with the next durable record */
    pthread_mutex_unlock(&w->mu);
    wal_drop_checkpointed(w);
    if (more) {
        /* Find checkpoint+1 for the age gauge and the byte count (best effort). */
        uint64_t want = seq + 1, off;
        struct wal_seg *s = NULL;
        if (wal_locate(w, &want, &s, &off) == 1) {
            uint8_t h[WAL_REC_HDR];
            int r = wal_pread_all(w, s->fd, h, sizeof(h), off);
            pthread_mutex_lock(&w->mu);
            if (!r && wal_ld(&w->ckpt_seq) == seq) {
                wal_st(&w->oldest_ns, wal_get64(h + 16));
                w->ckpt_seg_first = s->first_seq;
                w->ckpt_off = off;
            }
            wal_account(w);
            pthread_mutex_unlock(&w->mu);
            wal_seg_unref(w, s);
        }
    }
out:
    pthread_mutex_unlock(&w->ckpt_mu);
    return rc;
}

/* ---- getters ------------------------------------------------------------------------------- */

uint64_t wal_last_seq(const wal_t *w)
{
    return w ? wal_ld(&w->last_seq) : 0;
}

uint64_t wal_durable_seq(const wal_t *w)
{
    return w ? wal_ld(&w->durable_seq) : 0;
}

uint64_t wal_checkpoint_seq(const wal_t *w)
{
    return w ? wal_ld(&w->ckpt_seq) : 0;
}

uint64_t wal_bytes(const wal_t *w)
{
    return w ? wal_ld(&w->bytes) : 0;
}

uint64_t wal_oldest_ns(const wal_t *w)
{
    if (!w)
        return 0;
    wal_t *m = (wal_t *)w; /* the lock is not part of the value */
    pthread_mutex_lock(&m->mu);
    uint64_t ns = 0;
    if (wal_ld(&m->durable_seq) > wal_ld(&m->ckpt_seq))
        ns = wal_ld(&m->oldest_ns);
    else if (m->inflight_ns)
        ns = m->inflight_ns;
    else if (m->qhead)
        ns = m->qhead->ns;
    pthread_mutex_unlock(&m->mu);
    return ns;
}
