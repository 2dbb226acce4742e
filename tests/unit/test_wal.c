/* test_wal.c — the durable queue through its public API on real files in /tmp:
 * append/read back, sequence continuity across reopen and segment rolls, group commit
 * from many threads, checkpoints (segments deleted, persisted, numbering kept), torn and
 * corrupt tails cut at open, the byte cap, every failing-I/O case through wal_io_faulty
 * (short write, EIO, ENOSPC that clears, fsync failure, crash before fsync), the three
 * sync policies, metrics, and allocation-failure runs over open and append. It also
 * prints the fsync latency of the disk under /tmp (docs/internals/wal.md). */
#include "core/alloc.h"
#include "core/clock.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "wal/wal.h"
#include "wal/wal_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- helpers ------------------------------------------------------------------------ */

struct tdir {
    char path[64];
};

static int setup_dir(void **state)
{
    struct tdir *d = calloc(1, sizeof(*d));
    strcpy(d->path, "/tmp/orasi-wal-XXXXXX");
    assert_non_null(mkdtemp(d->path));
    *state = d;
    return 0;
}

static void rm_rf(const char *path)
{
    DIR *dd = opendir(path);
    if (!dd)
        return;
    struct dirent *de;
    char p[512];
    while ((de = readdir(dd)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(p);
        else
            unlink(p);
    }
    closedir(dd);
    rmdir(path);
}

static int teardown_dir(void **state)
{
    struct tdir *d = *state;
    orasi_alloc_fail_after(-1);
    rm_rf(d->path);
    free(d);
    return 0;
}

static const char *D(void **state)
{
    return ((struct tdir *)*state)->path;
}

static wal_options_t opts(enum wal_sync sync, uint64_t seg)
{
    wal_options_t o;
    wal_options_default(&o);
    o.sync = sync;
    o.segment_bytes = seg;
    o.metrics_name = "test";
    return o;
}

static wal_t *open_ok(const char *dir, const wal_options_t *o)
{
    wal_t *w = NULL;
    char err[256];
    int rc = wal_open(dir, o, &w, err, sizeof(err));
    if (rc)
        fail_msg("wal_open: %s (%s)", err, orasi_errname(rc));
    return w;
}

/* Deterministic payload of record i: "rec-<i>|" then bytes derived from i. */
static size_t make_payload(uint64_t i, uint8_t *out, size_t cap)
{
    char head[32];
    int n = snprintf(head, sizeof(head), "rec-%" PRIu64 "|", i);
    size_t h = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap;
    memcpy(out, head, h);
    size_t len = h + (i * 37) % 300;
    if (len > cap)
        len = cap;
    for (size_t k = h; k < len; k++)
        out[k] = (uint8_t)(i * 131 + k);
    return len;
}

static void check_payload(uint64_t i, slice_t p)
{
    uint8_t b[512];
    size_t n = make_payload(i, b, sizeof(b));
    assert_int_equal(p.len, n);
    assert_memory_equal(p.p, b, n);
}

static uint64_t append_rec(wal_t *w, uint64_t i)
{
    uint8_t b[512];
    size_t n = make_payload(i, b, sizeof(b));
    uint64_t seq = 0;
    int rc = wal_append_sync(w, (uint8_t)(i & 0xff), b, n, &seq);
    if (rc)
        fail_msg("append %" PRIu64 ": %s", i, orasi_errname(rc));
    return seq;
}

/* Read everything from the cursor's position; checks seqs are consecutive from `first`
 * and that record seq s carries payload id s + delta. Returns the count. */
static uint64_t read_all(wal_t *w, uint64_t first, int64_t delta)
{
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    uint64_t seq, n = 0, expect = first;
    uint8_t type;
    slice_t p;
    int rc;
    while ((rc = wal_cursor_next(c, &seq, &type, &p)) == 1) {
        assert_int_equal(seq, expect);
        uint64_t id = (uint64_t)((int64_t)seq + delta);
        assert_int_equal(type, (uint8_t)(id & 0xff));
        check_payload(id, p);
        expect++;
        n++;
    }
    assert_int_equal(rc, 0);
    wal_cursor_close(c);
    return n;
}

static int count_segments(const char *dir)
{
    DIR *dd = opendir(dir);
    assert_non_null(dd);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dd)) != NULL)
        if (!strncmp(de->d_name, "seg-", 4))
            n++;
    closedir(dd);
    return n;
}

/* Path of the segment with the highest first seq (the last one). */
static void last_segment(const char *dir, char *out, size_t outlen)
{
    DIR *dd = opendir(dir);
    assert_non_null(dd);
    char best[64] = "";
    struct dirent *de;
    while ((de = readdir(dd)) != NULL)
        if (!strncmp(de->d_name, "seg-", 4) && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%.63s", de->d_name);
    closedir(dd);
    assert_true(best[0]);
    snprintf(out, outlen, "%s/%s", dir, best);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* ---- basic ---------------------------------------------------------------------------- */

static void test_append_read(void **state)
{
    wal_options_t o = opts(WAL_SYNC_FSYNC, 64 * 1024);
    wal_t *w = open_ok(D(state), &o);
    assert_int_equal(wal_last_seq(w), 0);
    assert_int_equal(wal_durable_seq(w), 0);
    /* Nothing to read yet. */
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    assert_int_equal(wal_cursor_next(c, NULL, NULL, NULL), 0);
    for (uint64_t i = 1; i <= 50; i++)
        assert_int_equal(append_rec(w, i), i);
    /* An empty payload is a record too. */
    uint64_t seq;
    assert_int_equal(wal_append_sync(w, 51, NULL, 0, &seq), 0);
    assert_int_equal(seq, 51);
    assert_int_equal(wal_durable_seq(w), 51);
    /* The cursor opened before the appends sees them now. */
    uint8_t type;
    slice_t p;
    for (uint64_t i = 1; i <= 50; i++) {
        assert_int_equal(wal_cursor_next(c, &seq, &type, &p), 1);
        assert_int_equal(seq, i);
        check_payload(i, p);
    }
    assert_int_equal(wal_cursor_next(c, &seq, &type, &p), 1);
    assert_int_equal(seq, 51);
    assert_int_equal(type, 51);
    assert_int_equal(p.len, 0);
    assert_int_equal(wal_cursor_next(c, &seq, &type, &p), 0);
    /* Seek back and forth. */
    assert_int_equal(wal_cursor_seek(c, 17), 0);
    assert_int_equal(wal_cursor_next(c, &seq, &type, &p), 1);
    assert_int_equal(seq, 17);
    check_payload(17, p);
    assert_int_equal(wal_cursor_seek(c, 52), 0);
    assert_int_equal(wal_cursor_next(c, &seq, &type, &p), 0);
    wal_cursor_close(c);
    assert_true(wal_bytes(w) > 50 * 25);
    assert_true(wal_oldest_ns(w) > 0);
    assert_true(wal_oldest_ns(w) <= clock_wall_ns());
    wal_close(w);
}

/* Borrowed pieces: records written straight from the caller's memory, read back whole
 * (after a reopen too), pieces of length 0 skipped; the memory is only read before the
 * callback ran. */
struct borrow_done {
    int calls, rc;
    uint64_t seq;
    uint8_t *mem; /* scribbled over in the callback: the WAL must be done with it */
    size_t len;
};

static void borrow_cb(void *ud, int result, uint64_t seq)
{
    struct borrow_done *b = ud;
    b->calls++;
    b->rc = result;
    b->seq = seq;
    memset(b->mem, 0xee, b->len);
}

static void borrowed_case(void **state, enum wal_sync pol)
{
    wal_options_t o = opts(pol, 64 * 1024);
    wal_t *w = open_ok(D(state), &o);
    enum { N = 40 };
    struct borrow_done d[N];
    uint8_t *mem[N];
    for (int i = 0; i < N; i++) {
        size_t len = 1000 + (size_t)i * 997; /* some records cross segments */
        mem[i] = malloc(len + 16);
        assert_non_null(mem[i]);
        for (size_t k = 0; k < len + 16; k++)
            mem[i][k] = (uint8_t)(k * 31 + (size_t)i);
        d[i] = (struct borrow_done){0, -1, 0, mem[i], len + 16};
        struct iovec v[4] = {{mem[i], 16}, {NULL, 0}, {mem[i] + 16, len / 2},
                             {mem[i] + 16 + len / 2, len - len / 2}};
        assert_int_equal(wal_append_borrowed(w, (uint8_t)i, v, 4, borrow_cb, &d[i]), 0);
    }
    wal_close(w); /* flushes: every callback has run */
    /* bad arguments: too many pieces, a NULL piece with a length */
    w = open_ok(D(state), &o);
    struct iovec five[5] = {{mem[0], 1}, {mem[0], 1}, {mem[0], 1}, {mem[0], 1}, {mem[0], 1}};
    assert_int_equal(wal_append_borrowed(w, 0, five, 5, NULL, NULL), ORASI_EINVAL);
    struct iovec bad = {NULL, 3};
    assert_int_equal(wal_append_borrowed(w, 0, &bad, 1, NULL, NULL), ORASI_EINVAL);
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].rc, 0);
        assert_int_equal(d[i].seq, (uint64_t)i + 1);
        uint64_t seq;
        uint8_t type;
        slice_t p;
        assert_int_equal(wal_cursor_next(c, &seq, &type, &p), 1);
        assert_int_equal(seq, (uint64_t)i + 1);
        assert_int_equal(type, (uint8_t)i);
        size_t len = 1000 + (size_t)i * 997;
        assert_int_equal(p.len, len + 16);
        for (size_t k = 0; k < p.len; k++)
            if (p.p[k] != (uint8_t)(k * 31 + (size_t)i))
                fail_msg("record %d byte %zu differs", i, k);
        free(mem[i]);
    }
    assert_int_equal(wal_cursor_next(c, NULL, NULL, NULL), 0);
    wal_cursor_close(c);
    wal_close(w);
}

static void test_append_borrowed(void **state)
{
    borrowed_case(state, WAL_SYNC_FSYNC);
}

/* Policy none calls back before the write: the pieces are copied at append, so the
 * caller may scribble over (or free) them in the callback. */
static void test_append_borrowed_none(void **state)
{
    borrowed_case(state, WAL_SYNC_NONE);
}

/* The end of the sequence space: a checkpoint two below WAL_SEQ_MAX leaves room for two
 * records; the next ones fail with ORASI_EFULL (policy none too: not acknowledged), and
 * the two stored ones survive a reopen. Before, a record past WAL_SEQ_MAX was written to
 * a segment whose name the next open ignored: acknowledged and lost. */
static void seqmax_case(void **state, enum wal_sync pol)
{
    const char *dir = D(state);
    uint8_t ck[32] = {'O', 'R', 'W', 'A', 'L', 'C', 'K', 'P', 1};
    uint64_t start = WAL_SEQ_MAX - 2;
    for (int i = 0; i < 8; i++)
        ck[16 + i] = (uint8_t)(start >> (8 * i));
    uint32_t crc = crc32c(0, ck, 24);
    for (int i = 0; i < 4; i++)
        ck[24 + i] = (uint8_t)(crc >> (8 * i));
    char path[512];
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(ck, 1, sizeof(ck), f), sizeof(ck));
    fclose(f);
    wal_options_t o = opts(pol, 4096);
    wal_t *w = open_ok(dir, &o);
    assert_int_equal(wal_last_seq(w), start);
    uint64_t seq = 0;
    assert_int_equal(wal_append_sync(w, 1, "a", 1, &seq), 0);
    assert_int_equal(seq, WAL_SEQ_MAX - 1);
    assert_int_equal(wal_append_sync(w, 1, "b", 1, &seq), 0);
    assert_int_equal(seq, WAL_SEQ_MAX);
    log_set_level(LOG_OFF);
    assert_int_equal(wal_append_sync(w, 1, "c", 1, &seq), ORASI_EFULL);
    assert_int_equal(wal_append_sync(w, 1, "d", 1, &seq), ORASI_EFULL);
    log_set_level(LOG_INFO);
    wal_close(w);
    w = open_ok(dir, &o);
    assert_int_equal(wal_last_seq(w), WAL_SEQ_MAX);
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    uint8_t type;
    slice_t p;
    for (uint64_t want = WAL_SEQ_MAX - 1; want <= WAL_SEQ_MAX; want++) {
        assert_int_equal(wal_cursor_next(c, &seq, &type, &p), 1);
        assert_int_equal(seq, want);
        assert_int_equal(p.len, 1);
        assert_int_equal(p.p[0], want == WAL_SEQ_MAX ? 'b' : 'a');
    }
    assert_int_equal(wal_cursor_next(c, &seq, &type, &p), 0);
    wal_cursor_close(c);
    wal_close(w);
}

static void test_seq_space_end(void **state)
{
    seqmax_case(state, WAL_SYNC_FSYNC);
}

static void test_seq_space_end_none(void **state)
{
    seqmax_case(state, WAL_SYNC_NONE);
}

static void test_large_records(void **state)
{
    /* Records larger than the recovery read window (256 KiB) and than a segment. */
    wal_options_t o = opts(WAL_SYNC_OS, 128 * 1024);
    o.max_record_bytes = 1 << 20;
    wal_t *w = open_ok(D(state), &o);
    size_t sizes[] = {700 * 1024, 10, 1 << 20, 300 * 1024};
    uint8_t *b = malloc(1 << 20);
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < sizes[k]; i++)
            b[i] = (uint8_t)(i * 7 + (size_t)k);
        uint64_t seq;
        assert_int_equal(wal_append_sync(w, (uint8_t)k, b, sizes[k], &seq), 0);
        assert_int_equal(seq, (uint64_t)k + 1);
    }
    assert_int_equal(wal_append_sync(w, 0, b, (1 << 20) + 1, NULL), ORASI_ETOOBIG);
    wal_close(w);
    w = open_ok(D(state), &o);
    assert_int_equal(count_segments(D(state)), 4);
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    uint64_t seq;
    uint8_t type;
    slice_t p;
    for (int k = 0; k < 4; k++) {
        assert_int_equal(wal_cursor_next(c, &seq, &type, &p), 1);
        assert_int_equal(type, k);
        assert_int_equal(p.len, sizes[k]);
        for (size_t i = 0; i < sizes[k]; i++)
            if (p.p[i] != (uint8_t)(i * 7 + (size_t)k))
                fail_msg("record %d byte %zu", k, i);
    }
    assert_int_equal(wal_cursor_next(c, &seq, &type, &p), 0);
    wal_cursor_close(c);
    wal_close(w);
    free(b);
}

static void test_reopen_continuity(void **state)
{
    /* Small segments: records span many files, cursors cross segment boundaries. */
    wal_options_t o = opts(WAL_SYNC_OS, 2048);
    wal_t *w = open_ok(D(state), &o);
    for (uint64_t i = 1; i <= 200; i++)
        assert_int_equal(append_rec(w, i), i);
    wal_close(w);
    assert_true(count_segments(D(state)) > 10);
    w = open_ok(D(state), &o);
    assert_int_equal(wal_last_seq(w), 200);
    assert_int_equal(wal_durable_seq(w), 200);
    assert_int_equal(read_all(w, 1, 0), 200);
    for (uint64_t i = 201; i <= 260; i++)
        assert_int_equal(append_rec(w, i), i);
    /* Seek into the middle of an old segment and read across boundaries. */
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    assert_int_equal(wal_cursor_seek(c, 133), 0);
    uint64_t seq, want = 133;
    slice_t p;
    while (wal_cursor_next(c, &seq, NULL, &p) == 1) {
        assert_int_equal(seq, want);
        check_payload(seq, p);
        want++;
    }
    assert_int_equal(want, 261);
    wal_cursor_close(c);
    wal_close(w);
    w = open_ok(D(state), &o);
    assert_int_equal(read_all(w, 1, 0), 260);
    wal_close(w);
}

/* ---- group commit --------------------------------------------------------------------- */

#define GC_THREADS 8
#define GC_PER 150

struct gc_ctx {
    wal_t *w;
    int tid;
    pthread_mutex_t *mu;
    pthread_cond_t *cv;
    int *done;
    int *bad;
    uint64_t *seqs; /* [GC_THREADS * GC_PER] */
};

struct gc_rec {
    struct gc_ctx *c;
    int idx;
};

static struct gc_rec gc_recs[GC_THREADS * GC_PER];

static void gc_done(void *ud, int result, uint64_t seq)
{
    struct gc_rec *r = ud;
    pthread_mutex_lock(r->c->mu);
    if (result)
        (*r->c->bad)++;
    r->c->seqs[r->idx] = seq;
    (*r->c->done)++;
    pthread_cond_signal(r->c->cv);
    pthread_mutex_unlock(r->c->mu);
}

static void *gc_thread(void *arg)
{
    struct gc_ctx *c = arg;
    for (int i = 0; i < GC_PER; i++) {
        int idx = c->tid * GC_PER + i;
        uint8_t b[512];
        size_t n = make_payload((uint64_t)idx, b, sizeof(b));
        gc_recs[idx] = (struct gc_rec){c, idx};
        int rc;
        while ((rc = wal_append(c->w, (uint8_t)idx, b, n, gc_done, &gc_recs[idx])) == ORASI_EFULL)
            usleep(100);
        assert_int_equal(rc, 0);
    }
    return NULL;
}

#define GC_SYNC_PER 25

static void *gc_sync_thread(void *arg)
{
    struct gc_ctx *c = arg;
    for (int i = 0; i < GC_SYNC_PER; i++) {
        uint8_t b[512];
        size_t n = make_payload((uint64_t)i, b, sizeof(b));
        uint64_t seq;
        assert_int_equal(wal_append_sync(c->w, 0, b, n, &seq), 0);
    }
    return NULL;
}

static void test_group_commit(void **state)
{
    wal_io_faulty_t *f = wal_io_faulty_new(); /* no faults: only to count syncs */
    wal_options_t o = opts(WAL_SYNC_FSYNC, 256 * 1024);
    o.io = wal_io_faulty_io(f);
    wal_t *w = open_ok(D(state), &o);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    int done = 0, bad = 0;
    static uint64_t seqs[GC_THREADS * GC_PER];
    struct gc_ctx ctx[GC_THREADS];
    pthread_t th[GC_THREADS];
    wal_io_faulty_stats_t st0, st1;
    wal_io_faulty_stats(f, &st0);
    uint64_t t0 = clock_mono_ns();
    for (int t = 0; t < GC_THREADS; t++) {
        ctx[t] = (struct gc_ctx){w, t, &mu, &cv, &done, &bad, seqs};
        assert_int_equal(pthread_create(&th[t], NULL, gc_thread, &ctx[t]), 0);
    }
    for (int t = 0; t < GC_THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_lock(&mu);
    while (done < GC_THREADS * GC_PER)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    uint64_t dt = clock_mono_ns() - t0;
    wal_io_faulty_stats(f, &st1);
    uint64_t syncs = st1.syncs - st0.syncs;
    print_message("group commit: %d appends from %d threads, %" PRIu64 " fsyncs, %.1f ms\n",
                  GC_THREADS * GC_PER, GC_THREADS, syncs, (double)dt / 1e6);
    assert_int_equal(bad, 0);
    assert_true(syncs > 0);
    assert_true(syncs < GC_THREADS * GC_PER);
    /* Every seq 1..N handed out exactly once. */
    static uint8_t seen[GC_THREADS * GC_PER + 1];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < GC_THREADS * GC_PER; i++) {
        assert_true(seqs[i] >= 1 && seqs[i] <= GC_THREADS * GC_PER);
        assert_int_equal(seen[seqs[i]], 0);
        seen[seqs[i]] = 1;
    }
    assert_int_equal(wal_durable_seq(w), GC_THREADS * GC_PER);
    wal_close(w);
    /* Durable: reopen with the real file system and find every record at its seq. */
    o.io = NULL;
    w = open_ok(D(state), &o);
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    uint64_t seq, n = 0;
    uint8_t type;
    slice_t p;
    static uint64_t idx_of_seq[GC_THREADS * GC_PER + 1];
    for (int i = 0; i < GC_THREADS * GC_PER; i++)
        idx_of_seq[seqs[i]] = (uint64_t)i;
    while (wal_cursor_next(c, &seq, &type, &p) == 1) {
        check_payload(idx_of_seq[seq], p);
        assert_int_equal(type, (uint8_t)idx_of_seq[seq]);
        n++;
    }
    assert_int_equal(n, GC_THREADS * GC_PER);
    wal_cursor_close(c);
    wal_close(w);

    /* Blocking appenders (each waits for its record to be durable, as a receiver
     * answering a client does): their appends still share fsyncs. */
    o.io = wal_io_faulty_io(f);
    w = open_ok(D(state), &o);
    wal_io_faulty_stats(f, &st0);
    for (int t = 0; t < GC_THREADS; t++) {
        ctx[t] = (struct gc_ctx){w, t, &mu, &cv, &done, &bad, seqs};
        assert_int_equal(pthread_create(&th[t], NULL, gc_sync_thread, &ctx[t]), 0);
    }
    for (int t = 0; t < GC_THREADS; t++)
        pthread_join(th[t], NULL);
    wal_io_faulty_stats(f, &st1);
    syncs = st1.syncs - st0.syncs;
    print_message("group commit: %d blocking appends from %d threads, %" PRIu64 " fsyncs\n",
                  GC_THREADS * GC_SYNC_PER, GC_THREADS, syncs);
    assert_int_equal(wal_durable_seq(w), GC_THREADS * (GC_PER + GC_SYNC_PER));
    assert_true(syncs < GC_THREADS * GC_SYNC_PER);
    wal_close(w);
    wal_io_faulty_free(f);
}

/* group_end: after each group's callbacks (a failed group's too), never before one. */
static int ge_done, ge_failed, ge_calls;
static int ge_snap[1024];

static void ge_done_fn(void *ud, int result, uint64_t seq)
{
    (void)ud;
    (void)seq;
    ge_done++; /* the writer thread only, as group_end */
    if (result)
        ge_failed++;
}

static void ge_end(void *ud)
{
    assert_ptr_equal(ud, &ge_calls);
    if (ge_calls < 1024)
        ge_snap[ge_calls] = ge_done;
    ge_calls++;
}

static void test_group_end(void **state)
{
    wal_io_faulty_t *f = wal_io_faulty_new();
    wal_options_t o = opts(WAL_SYNC_FSYNC, 4096);
    o.io = wal_io_faulty_io(f);
    o.group_end = ge_end;
    o.group_ud = &ge_calls;
    ge_done = ge_failed = ge_calls = 0;
    wal_t *w = open_ok(D(state), &o);
    log_set_level(LOG_OFF);
    wal_io_faulty_fail_write(f, 20, EIO, 1); /* one group fails on the way */
    for (uint64_t i = 1; i <= 300; i++) {
        uint8_t b[512];
        size_t n = make_payload(i, b, sizeof(b));
        assert_int_equal(wal_append(w, 1, b, n, ge_done_fn, NULL), 0);
        if (i % 16 == 0)
            usleep(200); /* several groups */
    }
    wal_close(w); /* runs every pending callback and group end */
    log_set_level(LOG_INFO);
    wal_io_faulty_free(f);
    assert_int_equal(ge_done, 300);
    assert_true(ge_failed > 0);
    assert_true(ge_calls > 1 && ge_calls <= 1024);
    for (int i = 1; i < ge_calls; i++)
        assert_true(ge_snap[i] > ge_snap[i - 1]); /* no group without a callback */
    assert_true(ge_snap[0] > 0);
    assert_int_equal(ge_snap[ge_calls - 1], 300); /* the last one after the last done */
}

/* ---- checkpoints ------------------------------------------------------------------------ */

static void test_checkpoint(void **state)
{
    wal_options_t o = opts(WAL_SYNC_NONE, 2048);
    wal_t *w = open_ok(D(state), &o);
    for (uint64_t i = 1; i <= 100; i++)
        assert_int_equal(append_rec(w, i), i);
    /* Policy none acknowledges before the write: wait until all is readable. */
    while (wal_durable_seq(w) < 100)
        usleep(100);
    int before = count_segments(D(state));
    uint64_t bytes_before = wal_bytes(w), oldest_before = wal_oldest_ns(w);
    assert_int_equal(wal_checkpoint(w, 50), 0);
    assert_int_equal(wal_checkpoint_seq(w), 50);
    int after = count_segments(D(state));
    assert_true(after < before);
    assert_true(wal_bytes(w) < bytes_before);
    assert_true(wal_oldest_ns(w) >= oldest_before);
    /* Never backwards, never past what is durable. */
    assert_int_equal(wal_checkpoint(w, 10), 0);
    assert_int_equal(wal_checkpoint_seq(w), 50);
    assert_int_equal(wal_checkpoint(w, 1000), ORASI_EINVAL);
    /* A new cursor starts at checkpoint + 1. */
    assert_int_equal(read_all(w, 51, 0), 50);
    /* Seeking below the checkpoint into deleted segments lands on the first record
     * still present (<= 51). */
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    assert_int_equal(wal_cursor_seek(c, 1), 0);
    uint64_t seq;
    slice_t p;
    assert_int_equal(wal_cursor_next(c, &seq, NULL, &p), 1);
    assert_true(seq > 1 && seq <= 51);
    check_payload(seq, p);
    wal_cursor_close(c);
    wal_close(w);

    /* Persisted: a reopened WAL reads from 51. */
    w = open_ok(D(state), &o);
    assert_int_equal(wal_checkpoint_seq(w), 50);
    assert_int_equal(read_all(w, 51, 0), 50);
    assert_int_equal(append_rec(w, 101), 101);
    wal_close(w);
}

static void test_checkpoint_keeps_numbering(void **state)
{
    wal_options_t o = opts(WAL_SYNC_FSYNC, 4096);
    wal_t *w = open_ok(D(state), &o);
    for (uint64_t i = 1; i <= 10; i++)
        append_rec(w, i);
    assert_int_equal(wal_checkpoint(w, 10), 0);
    assert_int_equal(wal_bytes(w), 0);
    assert_int_equal(wal_oldest_ns(w), 0);
    /* The next append rolls away from the fully checkpointed segment, which goes. */
    assert_int_equal(append_rec(w, 11), 11);
    assert_int_equal(count_segments(D(state)), 1);
    assert_true(wal_oldest_ns(w) > 0);
    assert_int_equal(wal_checkpoint(w, 11), 0);
    wal_close(w);
    /* Delete every segment: only the checkpoint file remembers the numbering. */
    char seg[512];
    last_segment(D(state), seg, sizeof(seg));
    assert_int_equal(unlink(seg), 0);
    assert_int_equal(count_segments(D(state)), 0);
    w = open_ok(D(state), &o);
    assert_int_equal(wal_checkpoint_seq(w), 11);
    assert_int_equal(wal_last_seq(w), 11);
    assert_int_equal(read_all(w, 12, 0), 0);
    assert_int_equal(append_rec(w, 12), 12);
    wal_close(w);
    /* A corrupt checkpoint file means checkpoint 0: everything present is replayed. */
    char ck[512];
    snprintf(ck, sizeof(ck), "%s/checkpoint", D(state));
    int fd = open(ck, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 17), 1);
    close(fd);
    w = open_ok(D(state), &o);
    assert_int_equal(wal_checkpoint_seq(w), 0);
    assert_int_equal(read_all(w, 12, 0), 1);
    assert_int_equal(append_rec(w, 13), 13);
    wal_close(w);
}

/* ---- torn and corrupt tails ------------------------------------------------------------ */

/* Offsets of records in a segment file, read back independently of wal.c's reader. */
static int record_offsets(const char *path, uint64_t *offs, int cap)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    uint64_t off = 32, size = file_size(path);
    int n = 0;
    while (off + 25 <= size && n < cap) {
        uint8_t h[4];
        assert_int_equal(pread(fd, h, 4, (off_t)off), 4);
        uint32_t len =
            (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
        offs[n++] = off;
        off += 25 + len;
    }
    close(fd);
    return n;
}

enum damage { CUT_MID_HEADER, CUT_MID_PAYLOAD, FLIP_CRC, FLIP_PAYLOAD, FLIP_SEQ, HUGE_LEN };

static void damage_and_check(void **state, enum damage how)
{
    const char *dir = D(state);
    wal_options_t o = opts(WAL_SYNC_OS, 1 << 20);
    wal_t *w = open_ok(dir, &o);
    for (uint64_t i = 1; i <= 20; i++)
        append_rec(w, i);
    wal_close(w);
    char seg[512];
    last_segment(dir, seg, sizeof(seg));
    uint64_t offs[64];
    int n = record_offsets(seg, offs, 64);
    assert_int_equal(n, 20);
    /* Damage record 15 (index 14): records 1..14 survive. */
    uint64_t at = offs[14];
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    switch (how) {
    case CUT_MID_HEADER:
        assert_int_equal(ftruncate(fd, (off_t)(at + 10)), 0);
        break;
    case CUT_MID_PAYLOAD:
        assert_int_equal(ftruncate(fd, (off_t)(at + 27)), 0);
        break;
    case FLIP_SEQ: {
        /* A record whose CRC is right but whose seq skips ahead. */
        uint8_t r[25 + 512];
        ssize_t got = pread(fd, r, sizeof(r), (off_t)at);
        assert_true(got >= 25);
        uint32_t len = (uint32_t)r[0] | (uint32_t)r[1] << 8;
        assert_true(25 + len <= (size_t)got);
        r[8] += 5;
        uint32_t c = crc32c(0, r + 8, 17 + len);
        for (int k = 0; k < 4; k++)
            r[4 + k] = (uint8_t)(c >> (8 * k));
        assert_int_equal(pwrite(fd, r, 25 + len, (off_t)at), 25 + len);
        break;
    }
    case FLIP_CRC:
    case FLIP_PAYLOAD: {
        uint64_t pos = how == FLIP_CRC ? at + 5 : at + 30;
        assert_int_equal(pread(fd, &b, 1, (off_t)pos), 1);
        b ^= 0x40;
        assert_int_equal(pwrite(fd, &b, 1, (off_t)pos), 1);
        break;
    }
    case HUGE_LEN: {
        uint8_t len[4] = {0xff, 0xff, 0xff, 0x7f};
        assert_int_equal(pwrite(fd, len, 4, (off_t)at), 4);
        break;
    }
    }
    close(fd);
    /* Add a later segment that must be deleted too (it cannot follow a torn record). */
    char later[512];
    snprintf(later, sizeof(later), "%s/seg-%020d.wal", dir, 21);
    fd = open(later, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "garbage", 7), 7);
    close(fd);

    /* Capture the log line that reports the cut. */
    char logp[512];
    snprintf(logp, sizeof(logp), "%s.log", dir);
    int lfd = open(logp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(lfd >= 0);
    log_set_fd(lfd);
    w = open_ok(dir, &o);
    log_set_fd(2);
    char lb[4096] = {0};
    assert_true(pread(lfd, lb, sizeof(lb) - 1, 0) > 0);
    close(lfd);
    unlink(logp);
    assert_non_null(strstr(lb, "\"level\":\"warn\""));
    assert_non_null(strstr(lb, "\"last_seq\":14"));
    assert_non_null(strstr(lb, "cut_bytes"));

    assert_int_equal(wal_last_seq(w), 14);
    assert_int_equal(read_all(w, 1, 0), 14);
    assert_int_equal(file_size(seg), at);
    assert_int_equal(access(later, F_OK), -1);
    /* Appending continues right after the last good record, and survives a reopen. */
    for (uint64_t i = 15; i <= 25; i++)
        assert_int_equal(append_rec(w, i), i);
    wal_close(w);
    w = open_ok(dir, &o);
    assert_int_equal(read_all(w, 1, 0), 25);
    wal_close(w);
}

static void test_torn_cut_header(void **state)
{
    damage_and_check(state, CUT_MID_HEADER);
}
static void test_torn_cut_payload(void **state)
{
    damage_and_check(state, CUT_MID_PAYLOAD);
}
static void test_corrupt_crc(void **state)
{
    damage_and_check(state, FLIP_CRC);
}
static void test_corrupt_payload(void **state)
{
    damage_and_check(state, FLIP_PAYLOAD);
}
static void test_corrupt_seq(void **state)
{
    damage_and_check(state, FLIP_SEQ);
}
static void test_corrupt_len(void **state)
{
    damage_and_check(state, HUGE_LEN);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_corrupt_middle_segment(void **state)
{
    /* Corruption in an older segment: that segment is cut there and every later one
     * deleted — the log stays a gapless prefix. */
    const char *dir = D(state);
    wal_options_t o = opts(WAL_SYNC_OS, 2048);
    wal_t *w = open_ok(dir, &o);
    for (uint64_t i = 1; i <= 60; i++)
        append_rec(w, i);
    wal_close(w);
    int nseg = count_segments(dir);
    assert_true(nseg >= 4);
    /* The second segment: first seq from its name. */
    DIR *dd = opendir(dir);
    char names[64][64];
    int k = 0;
    struct dirent *de;
    while ((de = readdir(dd)) != NULL && k < 64)
        if (!strncmp(de->d_name, "seg-", 4))
            snprintf(names[k++], 64, "%.63s", de->d_name);
    closedir(dd);
    qsort(names, (size_t)k, 64, name_cmp);
    char seg[512];
    snprintf(seg, sizeof(seg), "%s/%s", dir, names[1]);
    uint64_t first = strtoull(names[1] + 4, NULL, 10);
    uint64_t offs[64];
    int n = record_offsets(seg, offs, 64);
    assert_true(n >= 2);
    int fd = open(seg, O_RDWR);
    uint8_t b = 0;
    assert_int_equal(pread(fd, &b, 1, (off_t)offs[1] + 26), 1);
    b ^= 1;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)offs[1] + 26), 1);
    close(fd);
    log_set_level(LOG_ERROR);
    w = open_ok(dir, &o);
    log_set_level(LOG_INFO);
    assert_int_equal(wal_last_seq(w), first);
    assert_int_equal(count_segments(dir), 2);
    assert_int_equal(read_all(w, 1, 0), first);
    assert_int_equal(append_rec(w, first + 1), first + 1);
    wal_close(w);
}

static void test_bad_segment_header(void **state)
{
    const char *dir = D(state);
    wal_options_t o = opts(WAL_SYNC_OS, 1 << 20);
    wal_t *w = open_ok(dir, &o);
    for (uint64_t i = 1; i <= 5; i++)
        append_rec(w, i);
    wal_close(w);
    /* A segment torn while being created (short header) after the good one. */
    char p[512];
    snprintf(p, sizeof(p), "%s/seg-%020d.wal", dir, 6);
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    assert_int_equal(write(fd, "ORWALS", 6), 6);
    close(fd);
    /* And one with a future format version must refuse to open, not be deleted. */
    log_set_level(LOG_ERROR);
    w = open_ok(dir, &o);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(read_all(w, 1, 0), 5);
    assert_int_equal(append_rec(w, 6), 6);
    wal_close(w);
    char seg[512];
    last_segment(dir, seg, sizeof(seg));
    /* Version 9 with a valid header CRC. */
    fd = open(seg, O_RDWR);
    uint8_t h[32];
    assert_int_equal(pread(fd, h, 32, 0), 32);
    h[8] = 9;
    uint32_t c = crc32c(0, h, 24);
    for (int k = 0; k < 4; k++)
        h[24 + k] = (uint8_t)(c >> (8 * k));
    assert_int_equal(pwrite(fd, h, 32, 0), 32);
    close(fd);
    char err[256];
    assert_int_equal(wal_open(dir, &o, &w, err, sizeof(err)), ORASI_EUNSUPPORTED);
    assert_null(w);
    assert_int_equal(access(seg, F_OK), 0);
    log_set_level(LOG_INFO);
}

/* ---- reused segments ------------------------------------------------------------------ */

static ino_t inode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Sorted seg-*.wal names of dir into names (up to cap); returns the count. */
static int segment_names(const char *dir, char (*names)[64], int cap)
{
    DIR *dd = opendir(dir);
    assert_non_null(dd);
    int k = 0;
    struct dirent *de;
    while ((de = readdir(dd)) != NULL && k < cap)
        if (!strncmp(de->d_name, "seg-", 4))
            snprintf(names[k++], 64, "%.63s", de->d_name);
    closedir(dd);
    qsort(names, (size_t)k, 64, name_cmp);
    return k;
}

/* Does some seg-*.wal of dir have inode ino? */
static int segment_has_inode(const char *dir, ino_t ino)
{
    char names[64][64], p[4608];
    int n = segment_names(dir, names, 64);
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        if (inode_of(p) == ino)
            return 1;
    }
    return 0;
}

/* Append the bytes [off, off+n) of file src at the end of file dst. */
static void append_bytes_of(const char *dst, const char *src, uint64_t off, size_t n)
{
    uint8_t b[4096];
    assert_true(n <= sizeof(b));
    int fd = open(src, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
    fd = open(dst, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, n), (ssize_t)n);
    close(fd);
}

static void test_reuse_segments(void **state)
{
    /* Checkpointed segments become free-0/free-1.wal and the next rolls take them: the
     * same inodes come back as new segments, records overwrite the old ones in place and
     * read back intact, live and after reopen (the stale bytes past the last record fail
     * the seq or CRC check). */
    const char *dir = D(state);
    char f0[512], f1[512];
    snprintf(f0, sizeof(f0), "%s/free-0.wal", dir);
    snprintf(f1, sizeof(f1), "%s/free-1.wal", dir);
    wal_options_t o = opts(WAL_SYNC_FSYNC, 2048);
    wal_t *w = open_ok(dir, &o);
    for (uint64_t i = 1; i <= 60; i++)
        assert_int_equal(append_rec(w, i), i);
    int before = count_segments(dir);
    assert_true(before >= 5);
    assert_int_equal(wal_checkpoint(w, 40), 0);
    assert_true(count_segments(dir) < before);
    ino_t i0 = inode_of(f0), i1 = inode_of(f1);
    assert_true(i0 && i1); /* two kept for reuse, the others deleted */
    for (uint64_t i = 61; i <= 120; i++)
        assert_int_equal(append_rec(w, i), i);
    assert_int_equal(access(f0, F_OK), -1);
    assert_int_equal(access(f1, F_OK), -1);
    assert_true(segment_has_inode(dir, i0));
    assert_true(segment_has_inode(dir, i1));
    assert_int_equal(read_all(w, 41, 0), 80);
    wal_close(w);
    log_set_level(LOG_ERROR);
    w = open_ok(dir, &o);
    log_set_level(LOG_INFO);
    assert_int_equal(wal_last_seq(w), 120);
    assert_int_equal(read_all(w, 41, 0), 80);
    /* Free files left at close are adopted at open and taken by the next rolls. */
    assert_int_equal(wal_checkpoint(w, 100), 0);
    i0 = inode_of(f0);
    assert_true(i0);
    wal_close(w);
    w = open_ok(dir, &o);
    assert_int_equal(access(f0, F_OK), 0);
    for (uint64_t i = 121; i <= 160; i++)
        assert_int_equal(append_rec(w, i), i);
    assert_int_equal(access(f0, F_OK), -1);
    assert_true(segment_has_inode(dir, i0));
    assert_int_equal(read_all(w, 101, 0), 60);
    wal_close(w);
}

static void test_reuse_stale_tail_middle(void **state)
{
    /* A crash right after rolling past a reused segment can leave its stale tail (old
     * records of lower seq, or a fragment) in a segment that is not the last. The next
     * segment follows on, so nothing is missing: recovery cuts the tail and keeps every
     * later segment. */
    const char *dir = D(state);
    wal_options_t o = opts(WAL_SYNC_OS, 2048);
    wal_t *w = open_ok(dir, &o);
    for (uint64_t i = 1; i <= 80; i++)
        append_rec(w, i);
    wal_close(w);
    char names[64][64], first[512], mid1[512], mid2[512];
    int n = segment_names(dir, names, 64);
    assert_true(n >= 5);
    snprintf(first, sizeof(first), "%s/%s", dir, names[0]);
    snprintf(mid1, sizeof(mid1), "%s/%s", dir, names[1]);
    snprintf(mid2, sizeof(mid2), "%s/%s", dir, names[2]);
    uint64_t offs[64], size1 = file_size(mid1), size2 = file_size(mid2);
    int nr = record_offsets(first, offs, 64);
    assert_true(nr >= 3);
    /* An old whole record (lower seq: fails the seq check), then part of another. */
    append_bytes_of(mid1, first, offs[0], (size_t)(offs[1] - offs[0]));
    append_bytes_of(mid1, first, offs[1], 30);
    /* A fragment that fails the CRC. */
    append_bytes_of(mid2, first, offs[2] + 3, 60);
    log_set_level(LOG_ERROR);
    w = open_ok(dir, &o);
    log_set_level(LOG_INFO);
    assert_int_equal(count_segments(dir), n);
    assert_int_equal(file_size(mid1), size1);
    assert_int_equal(file_size(mid2), size2);
    assert_int_equal(wal_last_seq(w), 80);
    assert_int_equal(read_all(w, 1, 0), 80);
    wal_close(w);
    /* The same bytes in the last segment are a torn tail: cut, nothing later to keep. */
    char last[512];
    snprintf(last, sizeof(last), "%s/%s", dir, names[n - 1]);
    uint64_t sizel = file_size(last);
    append_bytes_of(last, first, offs[0], (size_t)(offs[1] - offs[0]));
    log_set_level(LOG_ERROR);
    w = open_ok(dir, &o);
    log_set_level(LOG_INFO);
    assert_int_equal(file_size(last), sizel);
    assert_int_equal(read_all(w, 1, 0), 80);
    assert_int_equal(append_rec(w, 81), 81);
    wal_close(w);
}

static void test_reuse_crash_after_rename(void **state)
{
    /* A crash between renaming a free file to its new segment name and rewriting its
     * header leaves a "segment" whose header names another seq: it held nothing
     * acknowledged, and recovery deletes it. */
    const char *dir = D(state);
    wal_options_t o = opts(WAL_SYNC_FSYNC, 2048);
    wal_t *w = open_ok(dir, &o);
    for (uint64_t i = 1; i <= 40; i++)
        append_rec(w, i);
    assert_int_equal(wal_checkpoint(w, 20), 0);
    wal_close(w);
    /* free-0.wal under the next segment's name, its old header still in it */
    char f0[512], renamed[512];
    snprintf(f0, sizeof(f0), "%s/free-0.wal", dir);
    snprintf(renamed, sizeof(renamed), "%s/seg-%020d.wal", dir, 41);
    assert_int_equal(rename(f0, renamed), 0);
    log_set_level(LOG_ERROR);
    w = open_ok(dir, &o);
    log_set_level(LOG_INFO);
    assert_int_equal(access(renamed, F_OK), -1);
    assert_int_equal(wal_last_seq(w), 40);
    assert_int_equal(read_all(w, 21, 0), 20);
    assert_int_equal(append_rec(w, 41), 41);
    wal_close(w);
}

/* ---- caps ----------------------------------------------------------------------------- */

static void test_cap_full(void **state)
{
    wal_options_t o = opts(WAL_SYNC_OS, 4096);
    o.max_bytes = 8192;
    o.max_record_bytes = 1000;
    wal_t *w = open_ok(D(state), &o);
    uint8_t b[1001] = {0};
    uint64_t seq = 0, n = 0;
    int rc;
    while ((rc = wal_append_sync(w, 1, b, 500, &seq)) == 0)
        n++;
    assert_int_equal(rc, ORASI_EFULL);
    /* Segment headers count too: 15 records of 525 bytes in three 4 KiB segments. */
    assert_int_equal(n, 15);
    assert_true(wal_bytes(w) <= 8192);
    assert_int_equal(wal_append_sync(w, 1, b, 1001, &seq), ORASI_ETOOBIG);
    /* Checkpointing frees room: appends work again. */
    assert_int_equal(wal_checkpoint(w, wal_durable_seq(w)), 0);
    assert_true(wal_bytes(w) < 1024);
    assert_int_equal(wal_append_sync(w, 1, b, 500, &seq), 0);
    assert_int_equal(seq, n + 1);
    /* A record that could never fit the cap is too big, not "full". */
    o.max_bytes = 400;
    wal_close(w);
    w = open_ok(D(state), &o);
    assert_int_equal(wal_append_sync(w, 1, b, 500, &seq), ORASI_ETOOBIG);
    wal_close(w);
    /* Closed WAL refuses. (Cannot call into a freed WAL; check the contract on a live
     * one via the EINVAL paths instead.) */
    assert_int_equal(wal_append(NULL, 0, b, 1, NULL, NULL), ORASI_EINVAL);
}

/* ---- failing I/O ---------------------------------------------------------------------- */

struct fio {
    wal_io_faulty_t *f;
    wal_options_t o;
    wal_t *w;
};

static void fio_open(void **state, struct fio *x, enum wal_sync sync)
{
    x->f = wal_io_faulty_new();
    assert_non_null(x->f);
    x->o = opts(sync, 8192);
    x->o.io = wal_io_faulty_io(x->f);
    x->w = open_ok(D(state), &x->o);
}

static void fio_close_and_verify(void **state, struct fio *x, uint64_t expect_n)
{
    wal_close(x->w);
    wal_io_faulty_free(x->f);
    x->o.io = NULL;
    wal_t *w = open_ok(D(state), &x->o);
    assert_int_equal(read_all(w, 1, 0), expect_n);
    wal_close(w);
}

static void test_io_short_write(void **state)
{
    struct fio x;
    fio_open(state, &x, WAL_SYNC_FSYNC);
    for (uint64_t i = 1; i <= 5; i++)
        append_rec(x.w, i);
    /* A short write is not an error: the rest is written by the next call. */
    wal_io_faulty_short_write(x.f, 0);
    for (uint64_t i = 6; i <= 10; i++)
        assert_int_equal(append_rec(x.w, i), i);
    wal_io_faulty_stats_t st;
    wal_io_faulty_stats(x.f, &st);
    assert_int_equal(st.injected, 1);
    fio_close_and_verify(state, &x, 10);
}

static void test_io_short_then_enospc(void **state)
{
    struct fio x;
    fio_open(state, &x, WAL_SYNC_FSYNC);
    for (uint64_t i = 1; i <= 5; i++)
        append_rec(x.w, i);
    char seg[512];
    last_segment(D(state), seg, sizeof(seg));
    uint64_t good = file_size(seg);
    /* Half the record lands, then the disk is full: the record fails and the half
     * written bytes are cut again. */
    wal_io_faulty_short_write(x.f, 0);
    wal_io_faulty_fail_write(x.f, 1, ENOSPC, 1);
    uint8_t b[300];
    size_t n = make_payload(6, b, sizeof(b));
    uint64_t seq = 0;
    assert_int_equal(wal_append_sync(x.w, 6, b, n, &seq), ORASI_ENOSPC);
    assert_int_equal(file_size(seg), good);
    assert_int_equal(wal_durable_seq(x.w), 5);
    /* The seq was not consumed: the log stays gapless. */
    assert_int_equal(append_rec(x.w, 6), 6);
    fio_close_and_verify(state, &x, 6);
}

static void test_io_eio(void **state)
{
    struct fio x;
    fio_open(state, &x, WAL_SYNC_FSYNC);
    for (uint64_t i = 1; i <= 3; i++)
        append_rec(x.w, i);
    wal_io_faulty_fail_write(x.f, 0, EIO, 1);
    uint8_t b[8] = "x";
    uint64_t seq;
    assert_int_equal(wal_append_sync(x.w, 1, b, 1, &seq), ORASI_EIO);
    assert_int_equal(wal_last_seq(x.w), 3);
    assert_int_equal(append_rec(x.w, 4), 4);
    /* Errors are counted by reason. */
    buf_t out;
    buf_init(&out, 1 << 20);
    assert_int_equal(metrics_render(&out), 0);
    buf_append_byte(&out, 0);
    assert_non_null(
        strstr((char *)out.data, "orasi_wal_append_errors_total{wal=\"test\",reason=\"io\"}"));
    buf_free(&out);
    fio_close_and_verify(state, &x, 4);
}

static void test_io_enospc_then_recovers(void **state)
{
    struct fio x;
    fio_open(state, &x, WAL_SYNC_FSYNC);
    for (uint64_t i = 1; i <= 3; i++)
        append_rec(x.w, i);
    uint64_t bytes = wal_bytes(x.w);
    wal_io_faulty_fail_write(x.f, 0, ENOSPC, -1); /* until cleared */
    uint8_t b[300];
    for (int k = 0; k < 5; k++) {
        uint64_t seq;
        size_t n = make_payload(4, b, sizeof(b));
        assert_int_equal(wal_append_sync(x.w, 4, b, n, &seq), ORASI_ENOSPC);
    }
    assert_int_equal(wal_bytes(x.w), bytes); /* failed records are not counted */
    assert_int_equal(wal_durable_seq(x.w), 3);
    /* Space comes back: the WAL works again without a restart. Force a segment roll
     * too (segments are 8 KiB). */
    wal_io_faulty_clear(x.f);
    for (uint64_t i = 4; i <= 80; i++)
        assert_int_equal(append_rec(x.w, i), i);
    assert_true(count_segments(D(state)) > 1);
    /* Out of space while rolling to a new segment: fails, then works again. */
    wal_io_faulty_fail_write(x.f, 0, ENOSPC, -1);
    uint64_t seq;
    int rc = 0;
    for (int k = 0; k < 40 && rc == 0; k++) {
        size_t n = make_payload(81, b, sizeof(b));
        rc = wal_append_sync(x.w, 81, b, n, &seq);
    }
    assert_int_equal(rc, ORASI_ENOSPC);
    wal_io_faulty_clear(x.f);
    fio_close_and_verify(state, &x, 80);
}

static void test_io_fsync_fail(void **state)
{
    struct fio x;
    fio_open(state, &x, WAL_SYNC_FSYNC);
    for (uint64_t i = 1; i <= 4; i++)
        append_rec(x.w, i);
    char seg[512];
    last_segment(D(state), seg, sizeof(seg));
    uint64_t good = file_size(seg);
    /* The data was written but the sync failed: not acknowledged, and cut again. */
    wal_io_faulty_fail_fsync(x.f, 0, EIO, 1);
    uint8_t b[300];
    size_t n = make_payload(5, b, sizeof(b));
    uint64_t seq;
    assert_int_equal(wal_append_sync(x.w, 5, b, n, &seq), ORASI_EIO);
    assert_int_equal(file_size(seg), good);
    /* The cut itself cannot be synced either: later appends fail until it can. */
    wal_io_faulty_fail_write(x.f, 0, EIO, 1);
    wal_io_faulty_fail_fsync(x.f, 0, EIO, 2);
    assert_int_equal(wal_append_sync(x.w, 5, b, n, &seq), ORASI_EIO);
    assert_int_equal(wal_append_sync(x.w, 5, b, n, &seq), ORASI_EIO);
    assert_int_equal(append_rec(x.w, 5), 5);
    assert_int_equal(append_rec(x.w, 6), 6);
    fio_close_and_verify(state, &x, 6);
}

/* ---- crashes --------------------------------------------------------------------------- */

#define CR_N 300

struct cr_state {
    pthread_mutex_t mu;
    int result[CR_N];
    uint64_t seq[CR_N];
    int called[CR_N];
    int acked;
};

struct cr_rec {
    struct cr_state *s;
    int i;
};

static void cr_done(void *ud, int result, uint64_t seq)
{
    struct cr_rec *r = ud;
    pthread_mutex_lock(&r->s->mu);
    r->s->called[r->i]++;
    r->s->result[r->i] = result;
    r->s->seq[r->i] = seq;
    if (!result)
        r->s->acked++;
    pthread_mutex_unlock(&r->s->mu);
}

/* reuse: small segments and a consumer checkpointing as it goes, so that segments are
 * reused (renamed, overwritten in place) while the crash happens. */
static void crash_run(void **state, enum wal_sync sync, int torn, uint32_t seed, int reuse)
{
    const char *dir = D(state);
    rm_rf(dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    wal_io_faulty_t *f = wal_io_faulty_new();
    wal_options_t o = opts(sync, reuse ? 1024 : 4096);
    o.io = wal_io_faulty_io(f);
    wal_t *w = open_ok(dir, &o);
    static struct cr_state s;
    static struct cr_rec recs[CR_N];
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.mu, NULL);
    int crash_after = (reuse ? 120 : 20) + (int)(seed % 150);
    for (int i = 0; i < CR_N; i++) {
        uint8_t b[512];
        size_t n = make_payload((uint64_t)i, b, sizeof(b));
        recs[i] = (struct cr_rec){&s, i};
        assert_int_equal(wal_append(w, (uint8_t)i, b, n, cr_done, &recs[i]), 0);
        if (i == crash_after / 2) {
            /* Let some records be acknowledged first, so the test has teeth. */
            for (int k = 0; k < 20000; k++) {
                pthread_mutex_lock(&s.mu);
                int a = s.acked;
                pthread_mutex_unlock(&s.mu);
                if (a > 0)
                    break;
                usleep(100);
            }
        }
        if ((seed & 2) && i > crash_after / 2)
            usleep(30); /* a trickle: the crash lands between smaller groups */
        if (reuse && i % 8 == 7 && i < crash_after) {
            usleep(300); /* let the writer catch up, so that there is something to drop */
            uint64_t d = wal_durable_seq(w);
            if (d > 3)
                (void)wal_checkpoint(w, d - 3);
        }
        if (i == crash_after) {
            /* Power loss while later groups are queued, being written or synced. */
            usleep((seed % 4) * 150);
            wal_io_faulty_crash(f, torn, seed);
        }
    }
    wal_close(w); /* whatever was queued fails: the machine is "dead" */
    pthread_mutex_lock(&s.mu);
    for (int i = 0; i < CR_N; i++)
        assert_int_equal(s.called[i], 1);
    pthread_mutex_unlock(&s.mu);
    wal_io_faulty_stats_t st;
    wal_io_faulty_stats(f, &st);
    if (reuse)
        assert_true(st.renames > 0); /* segments went to free-*.wal and back */
    wal_io_faulty_revive(f);
    wal_io_faulty_free(f);

    /* Reopen on the real file system: recovery must succeed and every record
     * acknowledged under policy fsync (and not checkpointed) must be there, at its seq,
     * intact. */
    o.io = NULL;
    log_set_level(LOG_ERROR);
    w = open_ok(dir, &o);
    log_set_level(LOG_INFO);
    uint64_t ck = wal_checkpoint_seq(w);
    static int present[CR_N + 1];
    static uint8_t payload_ok[CR_N + 1];
    memset(present, 0, sizeof(present));
    memset(payload_ok, 0, sizeof(payload_ok));
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    uint64_t seq, expect = ck + 1;
    slice_t p;
    int rc;
    while ((rc = wal_cursor_next(c, &seq, NULL, &p)) == 1) {
        assert_int_equal(seq, expect); /* a gapless prefix */
        assert_true(seq <= CR_N);
        present[seq] = 1;
        /* The record must be one of the appended payloads: its id is in the text. */
        unsigned long id = 0;
        assert_int_equal(sscanf((const char *)p.p, "rec-%lu|", &id), 1);
        assert_true(id < CR_N);
        check_payload(id, p);
        expect++;
    }
    assert_int_equal(rc, 0);
    wal_cursor_close(c);
    int acked = 0;
    for (int i = 0; i < CR_N; i++)
        if (s.result[i] == 0 && sync == WAL_SYNC_FSYNC && s.seq[i] > ck) {
            assert_true(present[s.seq[i]]);
            acked++;
        }
    if (sync == WAL_SYNC_FSYNC)
        assert_true(acked > 0);
    /* New appends continue after what survived. */
    assert_int_equal(wal_append_sync(w, 1, "z", 1, &seq), 0);
    assert_int_equal(seq, expect);
    wal_close(w);
    pthread_mutex_destroy(&s.mu);
    print_message("crash seed %u%s: %d acked, checkpoint %" PRIu64 ", %" PRIu64 " recovered\n",
                  seed, reuse ? " (reuse)" : "", acked, ck, expect - 1 - ck);
}

static void test_crash_before_fsync(void **state)
{
    for (uint32_t seed = 1; seed <= 6; seed++)
        crash_run(state, WAL_SYNC_FSYNC, 0, seed * 2654435761u, 0);
}

static void test_crash_torn(void **state)
{
    for (uint32_t seed = 1; seed <= 6; seed++)
        crash_run(state, WAL_SYNC_FSYNC, 1, seed * 40503u + 7, 0);
}

static void test_crash_policy_os(void **state)
{
    /* Under policy os acknowledged records may be lost in a crash, but recovery always
     * yields a clean prefix. */
    for (uint32_t seed = 1; seed <= 4; seed++)
        crash_run(state, WAL_SYNC_OS, (int)(seed & 1), seed * 977u, 0);
}

static void test_crash_reused_segments(void **state)
{
    for (uint32_t seed = 1; seed <= 8; seed++)
        crash_run(state, WAL_SYNC_FSYNC, (int)(seed & 1), seed * 69069u + 3, 1);
}

/* ---- policies --------------------------------------------------------------------------- */

static int none_calls;
static void none_done(void *ud, int result, uint64_t seq)
{
    (void)ud;
    (void)seq;
    if (!result)
        __atomic_fetch_add(&none_calls, 1, __ATOMIC_RELAXED);
}

static void test_policies(void **state)
{
    for (int pol = WAL_SYNC_OS; pol <= WAL_SYNC_NONE; pol++) {
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/p%d", D(state), pol);
        wal_options_t o = opts((enum wal_sync)pol, 4096);
        wal_t *w = open_ok(dir, &o);
        none_calls = 0;
        for (uint64_t i = 1; i <= 100; i++) {
            uint8_t b[512];
            size_t n = make_payload(i, b, sizeof(b));
            assert_int_equal(wal_append(w, (uint8_t)i, b, n, none_done, NULL), 0);
        }
        wal_close(w); /* flushes the queue, every callback runs */
        assert_int_equal(none_calls, 100);
        w = open_ok(dir, &o);
        assert_int_equal(read_all(w, 1, 0), 100);
        wal_close(w);
    }
}

struct none_ckpt {
    wal_t *w;
    uint64_t at;
    int rc;
    int calls;
};

static void none_ckpt_done(void *ud, int result, uint64_t seq)
{
    struct none_ckpt *x = ud;
    if (!result && seq == x->at)
        x->rc = wal_checkpoint(x->w, seq); /* before the write: allowed under none */
    __atomic_fetch_add(&x->calls, 1, __ATOMIC_RELEASE);
}

static void test_policy_none_checkpoint_before_write(void **state)
{
    /* Under policy none a consumer may checkpoint records it was handed before they are
     * written. If that write then fails, those numbers must not be handed out again. */
    struct fio x;
    fio_open(state, &x, WAL_SYNC_NONE);
    uint64_t seq;
    assert_int_equal(wal_append_sync(x.w, 1, "a", 1, &seq), 0);
    while (wal_durable_seq(x.w) < 1)
        usleep(100);
    struct none_ckpt nc = {x.w, 2, 1, 0};
    /* Record 2's callback checkpoints it (the checkpoint file's write is let through),
     * then the group holding record 2 fails, as does every later write until cleared.
     * However 2..4 are grouped, numbering must go on at 3. */
    wal_io_faulty_fail_write(x.f, 1, ENOSPC, -1);
    log_set_level(LOG_OFF);
    for (int i = 2; i <= 4; i++)
        assert_int_equal(wal_append(x.w, 1, "b", 1, none_ckpt_done, &nc), 0);
    /* Until every failed group is accounted for (record 1 is checkpointed, so the
     * queue's bytes are all that count). */
    while (__atomic_load_n(&nc.calls, __ATOMIC_ACQUIRE) < 3 || wal_bytes(x.w) > 0)
        usleep(100);
    log_set_level(LOG_INFO);
    assert_int_equal(nc.rc, 0);
    assert_int_equal(wal_checkpoint_seq(x.w), 2);
    assert_int_equal(wal_durable_seq(x.w), 1);
    assert_int_equal(wal_last_seq(x.w), 2);
    wal_io_faulty_clear(x.f);
    assert_int_equal(wal_append_sync(x.w, 1, "d", 1, &seq), 0);
    assert_int_equal(seq, 3);
    while (wal_durable_seq(x.w) < seq)
        usleep(100);
    wal_close(x.w);
    wal_io_faulty_free(x.f);
    x.o.io = NULL;
    wal_t *w = open_ok(D(state), &x.o);
    assert_int_equal(wal_checkpoint_seq(w), 2);
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    uint64_t rs;
    slice_t p;
    assert_int_equal(wal_cursor_next(c, &rs, NULL, &p), 1);
    assert_int_equal(rs, seq);
    assert_int_equal(p.len, 1);
    assert_int_equal(p.p[0], 'd');
    assert_int_equal(wal_cursor_next(c, &rs, NULL, &p), 0);
    wal_cursor_close(c);
    wal_close(w);
}

/* ---- metrics --------------------------------------------------------------------------- */

static void test_metrics(void **state)
{
    wal_options_t o = opts(WAL_SYNC_FSYNC, 1 << 20);
    o.metrics_name = "mtest";
    wal_t *w = open_ok(D(state), &o);
    for (uint64_t i = 1; i <= 5; i++)
        append_rec(w, i);
    usleep(20000);
    buf_t out;
    buf_init(&out, 1 << 20);
    assert_int_equal(metrics_render(&out), 0);
    buf_append_byte(&out, 0);
    const char *t = (const char *)out.data;
    assert_non_null(strstr(t, "orasi_wal_appends_total{wal=\"mtest\"} 5\n"));
    assert_non_null(strstr(t, "orasi_wal_group_commits_total{wal=\"mtest\"} 5\n"));
    assert_non_null(strstr(t, "orasi_wal_fsync_seconds_count{wal=\"mtest\"} 5\n"));
    char line[128];
    snprintf(line, sizeof(line), "orasi_wal_bytes{wal=\"mtest\"} %" PRIu64 "\n", wal_bytes(w));
    assert_non_null(strstr(t, line));
    const char *age = strstr(t, "orasi_wal_oldest_age_seconds{wal=\"mtest\"} ");
    assert_non_null(age);
    double a = strtod(age + strlen("orasi_wal_oldest_age_seconds{wal=\"mtest\"} "), NULL);
    assert_true(a >= 0.02 && a < 60);
    buf_free(&out);
    wal_close(w);
}

/* Measure the fsync latency of the disk under /tmp (one record per commit). */
static void test_fsync_latency(void **state)
{
    wal_options_t o = opts(WAL_SYNC_FSYNC, 1 << 20);
    wal_t *w = open_ok(D(state), &o);
    enum { N = 100 };
    double lat[N];
    uint8_t b[1024];
    memset(b, 'x', sizeof(b));
    for (int i = 0; i < N; i++) {
        uint64_t t0 = clock_mono_ns(), seq;
        assert_int_equal(wal_append_sync(w, 0, b, sizeof(b), &seq), 0);
        lat[i] = (double)(clock_mono_ns() - t0) / 1e3;
    }
    for (int i = 1; i < N; i++) /* insertion sort */
        for (int k = i; k > 0 && lat[k] < lat[k - 1]; k--) {
            double t = lat[k];
            lat[k] = lat[k - 1];
            lat[k - 1] = t;
        }
    print_message("append+fdatasync of 1 KiB on /tmp: p50 %.0f us, p90 %.0f us, p99 %.0f us, "
                  "max %.0f us\n",
                  lat[N / 2], lat[N * 9 / 10], lat[N * 99 / 100], lat[N - 1]);
    assert_int_equal(wal_durable_seq(w), N);
    wal_close(w);
}

/* ---- allocation failure ------------------------------------------------------------------ */

static void test_alloc_fail_open(void **state)
{
    const char *dir = D(state);
    wal_options_t o = opts(WAL_SYNC_NONE, 2048);
    wal_t *w = open_ok(dir, &o);
    for (uint64_t i = 1; i <= 60; i++)
        append_rec(w, i);
    while (wal_durable_seq(w) < 60)
        usleep(100);
    assert_int_equal(wal_checkpoint(w, 10), 0);
    wal_close(w);
    log_set_level(LOG_OFF);
    int ok = 0;
    for (long n = 0; n < 10000 && !ok; n++) {
        char err[256];
        orasi_alloc_fail_after(n);
        int rc = wal_open(dir, &o, &w, err, sizeof(err));
        orasi_alloc_fail_after(-1);
        if (rc == 0) {
            ok = 1;
            assert_int_equal(read_all(w, 11, 0), 50);
            wal_close(w);
        } else {
            assert_int_equal(rc, ORASI_ENOMEM);
            assert_null(w);
        }
    }
    log_set_level(LOG_INFO);
    assert_true(ok);
    /* Nothing was lost or cut by the failed attempts. */
    w = open_ok(dir, &o);
    assert_int_equal(read_all(w, 11, 0), 50);
    wal_close(w);
}

static void test_alloc_fail_append(void **state)
{
    wal_options_t o = opts(WAL_SYNC_OS, 2048);
    wal_t *w = open_ok(D(state), &o);
    log_set_level(LOG_OFF);
    /* Append with the Nth allocation failing (in wal_append or in the writer, which
     * allocates when it rolls a segment). Each record either fails cleanly or is in the
     * log; the ones that succeeded are read back in order. */
    static uint64_t ids[400];
    uint64_t nok = 0;
    for (long n = 0; n < 400; n++) {
        uint8_t b[512];
        size_t len = make_payload((uint64_t)n, b, sizeof(b));
        uint64_t seq = 0;
        orasi_alloc_fail_after(n % 4);
        int rc = wal_append_sync(w, (uint8_t)n, b, len, &seq);
        orasi_alloc_fail_after(-1);
        if (rc == 0) {
            assert_int_equal(seq, nok + 1);
            ids[nok++] = (uint64_t)n;
        } else {
            assert_int_equal(rc, ORASI_ENOMEM);
        }
    }
    log_set_level(LOG_INFO);
    assert_true(nok > 0 && nok < 400);
    wal_close(w);
    w = open_ok(D(state), &o);
    wal_cursor_t *c;
    assert_int_equal(wal_cursor_open(w, &c), 0);
    uint64_t seq, k = 0;
    slice_t p;
    while (wal_cursor_next(c, &seq, NULL, &p) == 1) {
        assert_int_equal(seq, k + 1);
        check_payload(ids[k], p);
        k++;
    }
    assert_int_equal(k, nok);
    /* A cursor allocation failure is an error, not a crash. */
    wal_cursor_t *c2 = NULL;
    orasi_alloc_fail_after(0);
    assert_int_equal(wal_cursor_open(w, &c2), ORASI_ENOMEM);
    orasi_alloc_fail_after(-1);
    wal_cursor_close(c);
    wal_close(w);
}

static void test_bad_args(void **state)
{
    wal_options_t o = opts(WAL_SYNC_OS, 10);
    wal_t *w = NULL;
    char err[128];
    assert_int_equal(wal_open(D(state), &o, &w, err, sizeof(err)), ORASI_EINVAL);
    o = opts(WAL_SYNC_OS, 4096);
    assert_int_equal(wal_open("", &o, &w, err, sizeof(err)), ORASI_EINVAL);
    assert_int_equal(wal_open("/nonexistent-parent/x/y", &o, &w, err, sizeof(err)),
                     ORASI_ENOTFOUND);
    assert_non_null(strstr(err, "cannot create"));
    /* One opener per directory. */
    w = open_ok(D(state), &o);
    wal_t *w2 = NULL;
    assert_int_equal(wal_open(D(state), &o, &w2, err, sizeof(err)), ORASI_EBUSY);
    assert_null(w2);
    assert_non_null(strstr(err, "already open"));
    wal_close(w);
    w = open_ok(D(state), &o);
    wal_close(w);
    /* Default options (NULL): real fsync, defaults. */
    char sub[512];
    snprintf(sub, sizeof(sub), "%s/d", D(state));
    assert_int_equal(wal_open(sub, NULL, &w, err, sizeof(err)), 0);
    uint64_t seq;
    assert_int_equal(wal_append_sync(w, 1, "a", 1, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(wal_checkpoint(w, 1), 0);
    wal_close(w);
}

static int group_teardown(void **state)
{
    (void)state;
    metrics_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_read, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_large_records, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_append_borrowed, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_append_borrowed_none, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_seq_space_end, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_seq_space_end_none, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_reopen_continuity, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_group_commit, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_group_end, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_checkpoint, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_checkpoint_keeps_numbering, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_torn_cut_header, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_torn_cut_payload, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_corrupt_crc, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_corrupt_payload, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_corrupt_seq, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_corrupt_len, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_corrupt_middle_segment, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_bad_segment_header, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_reuse_segments, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_reuse_stale_tail_middle, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_reuse_crash_after_rename, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_cap_full, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_io_short_write, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_io_short_then_enospc, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_io_eio, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_io_enospc_then_recovers, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_io_fsync_fail, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_crash_before_fsync, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_crash_torn, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_crash_policy_os, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_crash_reused_segments, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_policies, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_policy_none_checkpoint_before_write, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_metrics, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_fsync_latency, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_alloc_fail_open, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_alloc_fail_append, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_bad_args, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, group_teardown);
}
