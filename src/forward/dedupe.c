/*
 * dedupe.c — per-origin sets of batch ids with a snapshot file (see dedupe.h).
 *
 * SNAPSHOT FILE (little-endian):
 *   0   8    magic "ORDEDUP1"
 *   8   u64  covered log sequence number
 *   16  u32  number of origins
 *   per origin: u8 name length n (1..64), name[n], u32 count k, u64 ids[k] (oldest first)
 *   end u32  CRC32C of every byte before it
 * Written to "<path>.tmp", fsynced, renamed over <path>, directory fsynced: a crash leaves
 * the old or the new file. A file whose CRC does not match is refused (ORASI_ECORRUPT)
 * rather than silently emptied, because an empty set would let replays through.
 *
 * Per origin, ids live in a linear-probing hash set (0 = empty slot; ids are never 0
 * since record numbers start at 1) with backward-shift deletion, plus a FIFO ring that
 * says which id to forget when the window is full. Ids in flight live in a second set.
 */
#include "forward/dedupe.h"

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEDUPE_MAGIC "ORDEDUP1"

struct dd_set {
    uint64_t *slot;
    size_t cap; /* power of two, 0 = unallocated */
    size_t n;
};

struct dd_origin {
    char name[65];
    struct dd_set seen, pending;
    uint64_t *ring; /* FIFO of seen ids, `window` entries */
    size_t head, count;
};

struct dedupe {
    pthread_mutex_t mu;
    char *path;
    size_t window;
    uint64_t covered;
    struct dd_origin **o;
    size_t no;
    uint64_t replays;
    metric_t *m_replays, *m_conflicts, *m_untracked;
};

/* ---- header syntax -------------------------------------------------------------------- */

int dedupe_origin_valid(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int dd_num(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    const uint8_t *s = *p;
    while (*p < end && **p >= '0' && **p <= '9') {
        if (x > (UINT64_MAX - 9) / 10)
            return ORASI_EPARSE;
        x = x * 10 + (uint64_t)(**p - '0');
        (*p)++;
    }
    if (*p == s || *p - s > 20)
        return ORASI_EPARSE;
    *v = x;
    return 0;
}

int dedupe_parse(slice_t h, dedupe_batch_t *out)
{
    const uint8_t *p = h.p, *end = h.p + h.len;
    const uint8_t *colon = h.len ? memchr(h.p, ':', h.len) : NULL;
    out->n = 0;
    if (!colon || !dedupe_origin_valid((const char *)p, (size_t)(colon - p)))
        return ORASI_EPARSE;
    memcpy(out->origin, p, (size_t)(colon - p));
    out->origin[colon - p] = '\0';
    p = colon + 1;
    for (;;) {
        uint64_t rec, part;
        if (dd_num(&p, end, &rec) || p >= end || *p != '.')
            return ORASI_EPARSE;
        p++;
        if (dd_num(&p, end, &part) || rec == 0 || rec >= (1ull << 56) || part > 255)
            return ORASI_EPARSE;
        if (out->n >= DEDUPE_MAX_IDS)
            return ORASI_ETOOBIG;
        out->ids[out->n++] = dedupe_id(rec, (unsigned)part);
        if (p == end)
            return 0;
        if (*p != ',')
            return ORASI_EPARSE;
        p++;
    }
}

int dedupe_format(buf_t *out, const char *origin, const uint64_t *ids, size_t n)
{
    int rc = buf_printf(out, "%s:", origin);
    for (size_t i = 0; i < n && !rc; i++)
        rc = buf_printf(out, "%s%llu.%u", i ? "," : "", (unsigned long long)(ids[i] >> 8),
                        (unsigned)(ids[i] & 0xff));
    return rc;
}

/* ---- hash set ----------------------------------------------------------------------------- */

static size_t dd_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k;
}

static int dd_has(const struct dd_set *s, uint64_t k)
{
    if (!s->cap)
        return 0;
    for (size_t i = dd_hash(k) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == k)
            return 1;
        if (s->slot[i] == 0)
            return 0;
    }
}

static void dd_put_raw(struct dd_set *s, uint64_t k)
{
    size_t i = dd_hash(k) & (s->cap - 1);
    while (s->slot[i] != 0 && s->slot[i] != k)
        i = (i + 1) & (s->cap - 1);
    if (s->slot[i] == 0) {
        s->slot[i] = k;
        s->n++;
    }
}

static int dd_add(struct dd_set *s, uint64_t k)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint64_t *old = s->slot;
        size_t ocap = s->cap;
        uint64_t *ns = orasi_calloc(ncap, sizeof(*ns));
        if (!ns)
            return ORASI_ENOMEM;
        s->slot = ns;
        s->cap = ncap;
        s->n = 0;
        for (size_t i = 0; i < ocap; i++)
            if (old[i])
                dd_put_raw(s, old[i]);
        orasi_free(old);
    }
    dd_put_raw(s, k);
    return 0;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void dd_del(struct dd_set *s, uint64_t k)
{
    if (!s->cap)
        return;
    size_t m = s->cap - 1, i = dd_hash(k) & m;
    while (s->slot[i] != k) {
        if (s->slot[i] == 0)
            return;
        i = (i + 1) & m;
    }
    s->slot[i] = 0;
    s->n--;
    for (size_t j = (i + 1) & m; s->slot[j] != 0; j = (j + 1) & m) {
        size_t h = dd_hash(s->slot[j]) & m;
        /* move slot j back to i if its home is not in (i, j] cyclically */
        if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
            s->slot[i] = s->slot[j];
            s->slot[j] = 0;
            i = j;
        }
    }
}

static void dd_set_free(struct dd_set *s)
{
    orasi_free(s->slot);
    memset(s, 0, sizeof(*s));
}

/* ---- origins -------------------------------------------------------------------------------- */

static struct dd_origin *dd_find(dedupe_t *d, const char *name, int create)
{
    for (size_t i = 0; i < d->no; i++)
        if (strcmp(d->o[i]->name, name) == 0)
            return d->o[i];
    if (!create || d->no >= DEDUPE_MAX_ORIGINS)
        return NULL;
    struct dd_origin *o = orasi_calloc(1, sizeof(*o));
    struct dd_origin **no = orasi_realloc(d->o, (d->no + 1) * sizeof(*no));
    if (!o || !no) {
        orasi_free(o);
        if (no)
            d->o = no;
        return NULL;
    }
    d->o = no;
    snprintf(o->name, sizeof(o->name), "%s", name);
    d->o[d->no++] = o;
    return o;
}

static int dd_remember(dedupe_t *d, struct dd_origin *o, uint64_t id)
{
    if (dd_has(&o->seen, id))
        return 0;
    if (!o->ring) {
        o->ring = orasi_malloc(d->window * sizeof(*o->ring));
        if (!o->ring)
            return ORASI_ENOMEM;
    }
    if (o->count == d->window) {
        dd_del(&o->seen, o->ring[o->head]);
        o->head = (o->head + 1) % d->window;
        o->count--;
    }
    int rc = dd_add(&o->seen, id);
    if (rc)
        return rc;
    o->ring[(o->head + o->count) % d->window] = id;
    o->count++;
    return 0;
}

/* ---- public ---------------------------------------------------------------------------------- */

static int dd_load(dedupe_t *d, char *err, size_t errlen)
{
    int rc = 0;
    uint8_t *data = NULL;
    FILE *f = fopen(d->path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "dedupe: cannot open %s: %s", d->path, strerror(errno));
        return orasi_err_from_errno(errno);
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (sz < 24 || sz > (1L << 30)) {
        rc = ORASI_ECORRUPT;
        goto out;
    }
    data = orasi_malloc((size_t)sz);
    if (!data) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    if (fread(data, 1, (size_t)sz, f) != (size_t)sz) {
        rc = ORASI_EIO;
        goto out;
    }
    uint32_t crc;
    memcpy(&crc, data + sz - 4, 4);
    if (memcmp(data, DEDUPE_MAGIC, 8) != 0 || crc32c(0, data, (size_t)sz - 4) != crc) {
        rc = ORASI_ECORRUPT;
        goto out;
    }
    const uint8_t *p = data + 8, *end = data + sz - 4;
    uint32_t no;
    memcpy(&d->covered, p, 8);
    memcpy(&no, p + 8, 4);
    p += 12;
    for (uint32_t i = 0; i < no; i++) {
        if (p >= end || p[0] == 0 || p[0] > 64 || end - p < 1 + p[0] + 4) {
            rc = ORASI_ECORRUPT;
            goto out;
        }
        char name[65];
        memcpy(name, p + 1, p[0]);
        name[p[0]] = '\0';
        p += 1 + p[0];
        uint32_t k;
        memcpy(&k, p, 4);
        p += 4;
        if ((uint64_t)(end - p) < (uint64_t)k * 8) {
            rc = ORASI_ECORRUPT;
            goto out;
        }
        struct dd_origin *o = dd_find(d, name, 1);
        for (uint32_t j = 0; j < k; j++) {
            uint64_t id;
            memcpy(&id, p, 8);
            p += 8;
            if (o && id && (rc = dd_remember(d, o, id)))
                goto out;
        }
    }
out:
    if (rc)
        snprintf(err, errlen, "dedupe: %s: %s", d->path, orasi_strerror(rc));
    orasi_free(data);
    fclose(f);
    return rc;
}

int dedupe_open(const char *path, size_t window, const char *name, dedupe_t **out, char *err,
                size_t errlen)
{
    dedupe_t *d = orasi_calloc(1, sizeof(*d));
    if (!d || !(d->path = orasi_strdup(path))) {
        orasi_free(d);
        snprintf(err, errlen, "dedupe: out of memory");
        return ORASI_ENOMEM;
    }
    pthread_mutex_init(&d->mu, NULL);
    d->window = window ? window : 65536;
    int rc = dd_load(d, err, errlen);
    if (rc) {
        dedupe_close(d);
        return rc;
    }
    metric_family_t *f = metrics_counter(
        "orasi_dedupe_batches_total",
        "Forwarded batches by what the idempotency check decided (replay: dropped as already "
        "logged; conflict: some ids already logged; untracked: too many origins)",
        2, (const char *[]){"queue", "result"});
    d->m_replays = metric_series(f, (const char *[]){name, "replay"});
    d->m_conflicts = metric_series(f, (const char *[]){name, "conflict"});
    d->m_untracked = metric_series(f, (const char *[]){name, "untracked"});
    *out = d;
    return 0;
}

void dedupe_close(dedupe_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->no; i++) {
        dd_set_free(&d->o[i]->seen);
        dd_set_free(&d->o[i]->pending);
        orasi_free(d->o[i]->ring);
        orasi_free(d->o[i]);
    }
    orasi_free(d->o);
    orasi_free(d->path);
    pthread_mutex_destroy(&d->mu);
    orasi_free(d);
}

uint64_t dedupe_covered(const dedupe_t *d)
{
    return d->covered;
}

int dedupe_begin(dedupe_t *d, const dedupe_batch_t *b)
{
    int rc;
    pthread_mutex_lock(&d->mu);
    struct dd_origin *o = dd_find(d, b->origin, 1);
    if (!o) {
        metric_inc(d->m_untracked);
        rc = ORASI_EFULL; /* treated as new, untracked */
        goto out;
    }
    size_t seen = 0, pend = 0;
    for (size_t i = 0; i < b->n; i++) {
        seen += dd_has(&o->seen, b->ids[i]);
        pend += dd_has(&o->pending, b->ids[i]);
    }
    if (pend) {
        rc = ORASI_EBUSY;
    } else if (seen == b->n && b->n) {
        d->replays++;
        metric_inc(d->m_replays);
        rc = DEDUPE_REPLAY;
    } else if (seen) {
        metric_inc(d->m_conflicts);
        rc = ORASI_EEXISTS;
    } else {
        rc = DEDUPE_NEW;
        for (size_t i = 0; i < b->n; i++) {
            if (dd_add(&o->pending, b->ids[i])) {
                for (size_t j = 0; j < i; j++)
                    dd_del(&o->pending, b->ids[j]);
                rc = ORASI_ENOMEM;
                break;
            }
        }
    }
out:
    pthread_mutex_unlock(&d->mu);
    /* untracked: let it through without marks (the caller must not call dedupe_end
     * expecting marks; ending an untracked batch is harmless) */
    return rc == ORASI_EFULL ? DEDUPE_NEW : rc;
}

void dedupe_end(dedupe_t *d, const dedupe_batch_t *b, int committed)
{
    pthread_mutex_lock(&d->mu);
    struct dd_origin *o = dd_find(d, b->origin, 0);
    for (size_t i = 0; o && i < b->n; i++) {
        dd_del(&o->pending, b->ids[i]);
        if (committed && dd_remember(d, o, b->ids[i]))
            LOG_E("dedupe", "out of memory remembering a batch id: a replay may be logged twice");
    }
    pthread_mutex_unlock(&d->mu);
}

void dedupe_note(dedupe_t *d, const dedupe_batch_t *b)
{
    pthread_mutex_lock(&d->mu);
    struct dd_origin *o = dd_find(d, b->origin, 1);
    for (size_t i = 0; o && i < b->n; i++)
        if (dd_remember(d, o, b->ids[i]))
            LOG_E("dedupe", "out of memory remembering a batch id: a replay may be logged twice");
    pthread_mutex_unlock(&d->mu);
}

static int dd_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return orasi_err_from_errno(errno);
        }
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

int dedupe_save(dedupe_t *d, uint64_t seq)
{
    buf_t b;
    char tmp[4200], dir[4200];
    int rc = 0, fd = -1;
    buf_init(&b, (size_t)1 << 31);
    pthread_mutex_lock(&d->mu);
    if (seq < d->covered)
        seq = d->covered;
    uint32_t no = (uint32_t)d->no;
    rc = buf_append(&b, DEDUPE_MAGIC, 8);
    if (!rc)
        rc = buf_append(&b, &seq, 8);
    if (!rc)
        rc = buf_append(&b, &no, 4);
    for (size_t i = 0; i < d->no && !rc; i++) {
        struct dd_origin *o = d->o[i];
        uint8_t nl = (uint8_t)strlen(o->name);
        uint32_t k = (uint32_t)o->count;
        rc = buf_append(&b, &nl, 1);
        if (!rc)
            rc = buf_append(&b, o->name, nl);
        if (!rc)
            rc = buf_append(&b, &k, 4);
        for (size_t j = 0; j < o->count && !rc; j++)
            rc = buf_append(&b, &o->ring[(o->head + j) % d->window], 8);
    }
    pthread_mutex_unlock(&d->mu);
    if (rc)
        goto out;
    uint32_t crc = crc32c(0, b.data, b.len);
    if ((rc = buf_append(&b, &crc, 4)))
        goto out;
    snprintf(tmp, sizeof(tmp), "%s.tmp", d->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = orasi_err_from_errno(errno);
        goto out;
    }
    if ((rc = dd_write_all(fd, b.data, b.len)))
        goto out;
    if (fsync(fd) != 0) {
        rc = orasi_err_from_errno(errno);
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, d->path) != 0) {
        rc = orasi_err_from_errno(errno);
        goto out;
    }
    snprintf(dir, sizeof(dir), "%s", d->path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    pthread_mutex_lock(&d->mu);
    if (seq > d->covered)
        d->covered = seq;
    pthread_mutex_unlock(&d->mu);
out:
    if (fd >= 0)
        close(fd);
    buf_free(&b);
    return rc;
}

uint64_t dedupe_replays(const dedupe_t *d)
{
    return d->replays;
}

size_t dedupe_origins(const dedupe_t *d)
{
    return d->no;
}
