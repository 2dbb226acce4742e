/*
 * fwd.c — queue-backed forwarding sink and its sender thread (see fwd.h).
 *
 * QUEUE RECORD (WAL record type FWD_WAL_TYPE + signal), payload:
 *   0   u8      version (1)
 *   1   u8      signal (0 traces, 1 metrics, 2 logs)
 *   2   u8      tenant length n (1..64), then n bytes of tenant
 *       u16     incoming X-Orasi-Batch length k (0..65535), then k bytes (kept so the
 *               dedupe set can be rebuilt from the queue after a crash)
 *       u8      pinned region length p (0 = not pinned), then p bytes
 *       u8      number of parts m (1..SPLIT_MAX_DEST)
 *       m x {u32 body length, u32 items, u64 route hash, u8 hint length h, h bytes of the
 *            member name the part was cut for ("" = any)}
 *       the m bodies, concatenated, each an Export*ServiceRequest
 *   (integers little-endian). A part's id in X-Orasi-Batch is <record seq>.<part index>.
 *
 * Threads: submit() runs on the receivers' loops; the WAL writer thread completes
 * appends (done() is posted back to the receiver's loop); the sender thread owns every
 * member, batch and exporter and does all network I/O on its own loop. The routing view
 * that submit() needs to split by destination is published by the sender under a
 * read-write lock.
 */
#include "forward/fwd.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "exporter/exporter.h"
#include "forward/breaker.h"
#include "forward/dedupe.h"
#include "forward/enrich.h"
#include "forward/members.h"
#include "forward/ring.h"
#include "forward/split.h"
#include "net/loop.h"
#include "otlp/otlp_pb.h"
#include "otlp/pb.h"
#include "wal/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FWD_WAL_TYPE 0x30
#define FWD_VERSION 1
#define FWD_TICK_NS (20 * 1000000ull)
#define FWD_CKPT_EVERY_NS (200 * 1000000ull)
#define FWD_IN_DOUBT_NS (10 * 1000000000ull) /* wait for an in-doubt upstream this long */
#define FWD_AFFINITY_SLOTS (1u << 16)
#define FWD_MAX_MEMBERS SPLIT_MAX_DEST
#define FWD_PARK_MAX (2u << 20) /* parked records remembered (16 bytes each) */

static const char *const fwd_sig_names[] = {"traces", "metrics", "logs"};

/* ---- sender-side structures ------------------------------------------------------------- */

struct fwd_rec;

struct fwd_part {
    struct fwd_rec *rec;
    uint8_t idx;
    int done;
    slice_t body, hint;
    uint32_t items;
    uint64_t route;
};

struct fwd_rec {
    struct fwd_rec *next;
    uint64_t seq;
    enum otlp_signal sig;
    slice_t tenant, pin;
    uint8_t *data;
    size_t size;
    int nparts, ndone;
    struct fwd_part parts[];
};

/* A pinned record whose region is down: only its place in the queue is kept in memory;
 * it is read again from the queue when the region is back (seq 0 = unparked). */
struct fwd_parked {
    uint64_t seq;
    size_t region;
};

struct fwd_member;

struct fwd_batch {
    struct fwd_batch *next;
    fwd_t *f;
    struct fwd_member *dest;
    enum otlp_signal sig;
    slice_t tenant, pin;
    struct fwd_part **parts;
    size_t n, cap, bytes;
    uint64_t items, born, next_try, doubt_since;
    uint32_t attempts;
    int sticky; /* in doubt: retry the same upstream (it may have the data) */
    buf_t body, ids;
};

struct fwd_member {
    fwd_member_spec_t spec;
    size_t region;
    int removed;
    exp_client_t *cli, *hc;
    char health_path[FWD_URL_MAX];
    breaker_t br;
    int inflight, health_busy;
    uint64_t next_health;
    struct fwd_batch *forming, *ready, *ready_tail;
    metric_t *m_items, *m_state, *m_req[4];
    int last_state;
    struct fwd_member *grave_next;
};

struct fwd_region {
    char name[64];
    int64_t priority;
    struct fwd_member *m[FWD_MAX_MEMBERS];
    int n;
    ring_t ring;
    unsigned rr;
};

/* What submit() reads to split a request by destination (under view_lock). */
struct fwd_view_region {
    char name[64];
    int n;
    char names[FWD_MAX_MEMBERS][FWD_NAME_MAX];
    uint8_t usable[FWD_MAX_MEMBERS];
    int any_usable;
    ring_t ring;
};

struct fwd_affinity {
    uint64_t key;
    uint32_t gen;
    int16_t member;
    int16_t region;
};

struct fwd {
    sink_t base; /* first */
    const fwd_config_t *cfg;
    char role[16];
    char origin[65];
    wal_t *wal;
    dedupe_t *dedupe;
    enrich_attrs_t enrich;
    /* sender */
    loop_t *loop;
    pthread_t thread;
    int thread_started;
    loop_timer_t tick;
    _Atomic int stopping;
    _Atomic int wake_pending;
    wal_cursor_t *cur, *cur2; /* cur2: re-reads parked records */
    uint64_t cur2_next;
    struct fwd_parked *parked;
    size_t nparked, parked_head, parked_live;
    struct fwd_rec *rhead, *rtail;
    size_t mem_bytes;
    struct fwd_batch *retry;
    struct fwd_region *regions;
    size_t nregions;
    size_t *order;            /* region indexes by priority */
    struct fwd_member *grave; /* removed members waiting for in-flight requests */
    uint64_t last_ckpt_at, ckpt_seq;
    uint64_t epoch_at;
    int view_dirty;
    members_t *watchers;
    /* routing view for submit() */
    pthread_rwlock_t view_lock;
    struct fwd_view_region *view;
    size_t nview;
    uint32_t view_gen;
    _Atomic uint64_t load[FWD_MAX_MEMBERS * 8];
    pthread_mutex_t aff_mu;
    struct fwd_affinity *aff;
    /* stats (sender thread writes, anyone reads) */
    _Atomic uint64_t st_queued, st_done, st_items_sent, st_items_dead, st_sent, st_retried, st_dead,
        st_split, st_replays, st_inflight;
    metric_t *m_queue_bytes, *m_oldest, *m_dead_items, *m_dead_batches, *m_retries, *m_replays,
        *m_inflight, *m_waiting, *m_parked;
    metric_family_t *f_items, *f_state, *f_req, *f_region, *f_members;
    metric_t *m_region_active[16], *m_members[16];
    pthread_mutex_t pend_mu;
    struct fwd_pending_members *pend;
};

/* Members handed over by fwd_set_members, applied on the sender thread. */
struct fwd_pending_members {
    struct fwd_pending_members *next;
    size_t region;
    size_t n;
    fwd_member_spec_t v[];
};

fwd_t *fwd_of(sink_t *s)
{
    return (fwd_t *)s;
}

const char *fwd_origin(const fwd_t *f)
{
    return f->origin;
}

/* ---- little-endian helpers ---------------------------------------------------------- */

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Parse a record header. Fills rec fields (slices into payload) when rec != NULL.
 * Returns the number of parts, or ORASI_ECORRUPT. */
struct fwd_rec_view {
    enum otlp_signal sig;
    slice_t tenant, in_id, pin;
    int nparts;
    uint32_t len[SPLIT_MAX_DEST], items[SPLIT_MAX_DEST];
    uint64_t route[SPLIT_MAX_DEST];
    slice_t hint[SPLIT_MAX_DEST];
    size_t body_off;
};

static int fwd_rec_parse(slice_t p, struct fwd_rec_view *v)
{
    const uint8_t *b = p.p, *end = p.p + p.len;
    if (p.len < 3 || b[0] != FWD_VERSION || b[1] > 2 || b[2] == 0 || b[2] > 64)
        return ORASI_ECORRUPT;
    v->sig = (enum otlp_signal)b[1];
    v->tenant = slice_make(b + 3, b[2]);
    b += 3 + b[2];
    if (end - b < 2)
        return ORASI_ECORRUPT;
    size_t k = (size_t)b[0] | (size_t)b[1] << 8;
    b += 2;
    if ((size_t)(end - b) < k + 2)
        return ORASI_ECORRUPT;
    v->in_id = slice_make(b, k);
    b += k;
    size_t pl = b[0];
    b++;
    if ((size_t)(end - b) < pl + 1)
        return ORASI_ECORRUPT;
    v->pin = slice_make(b, pl);
    b += pl;
    v->nparts = b[0];
    b++;
    if (v->nparts < 1 || v->nparts > SPLIT_MAX_DEST)
        return ORASI_ECORRUPT;
    uint64_t total = 0;
    for (int i = 0; i < v->nparts; i++) {
        if (end - b < 17)
            return ORASI_ECORRUPT;
        v->len[i] = get_u32(b);
        v->items[i] = get_u32(b + 4);
        v->route[i] = get_u64(b + 8);
        size_t h = b[16];
        b += 17;
        if ((size_t)(end - b) < h)
            return ORASI_ECORRUPT;
        v->hint[i] = slice_make(b, h);
        b += h;
        total += v->len[i];
    }
    if ((uint64_t)(end - b) != total)
        return ORASI_ECORRUPT;
    v->body_off = (size_t)(b - p.p);
    return v->nparts;
}

/* ---- routing view (shared with submit) -------------------------------------------------- */

static int fwd_member_usable(const struct fwd_member *m, uint64_t now)
{
    return !m->removed && breaker_usable(&m->br, now);
}

/* Rebuild the view from the sender's members (sender thread). */
static void fwd_view_publish(fwd_t *f, int membership_changed)
{
    uint64_t now = clock_mono_ns();
    struct fwd_view_region *v = orasi_calloc(f->nregions, sizeof(*v));
    if (!v)
        return; /* keep the old view: routing then uses slightly stale health */
    for (size_t r = 0; r < f->nregions; r++) {
        struct fwd_region *reg = &f->regions[r];
        snprintf(v[r].name, sizeof(v[r].name), "%s", reg->name);
        const char *names[FWD_MAX_MEMBERS];
        for (int i = 0; i < reg->n; i++) {
            snprintf(v[r].names[i], FWD_NAME_MAX, "%s", reg->m[i]->spec.name);
            names[i] = v[r].names[i];
            v[r].usable[i] = (uint8_t)fwd_member_usable(reg->m[i], now);
            v[r].any_usable |= v[r].usable[i];
        }
        v[r].n = reg->n;
        if (ring_build(&v[r].ring, names, reg->n, 128) != 0) {
            for (size_t j = 0; j < r; j++)
                ring_free(&v[j].ring);
            orasi_free(v);
            return;
        }
    }
    pthread_rwlock_wrlock(&f->view_lock);
    struct fwd_view_region *old = f->view;
    size_t nold = f->nview;
    f->view = v;
    f->nview = f->nregions;
    if (membership_changed)
        f->view_gen++;
    pthread_rwlock_unlock(&f->view_lock);
    for (size_t j = 0; old && j < nold; j++)
        ring_free(&old[j].ring);
    orasi_free(old);
}

/* ---- the sink side ---------------------------------------------------------------------- */

struct fwd_split_ctx {
    fwd_t *f;
    const struct fwd_view_region *vr;
    size_t region;
    uint64_t cap;
    uint32_t gen;
};

/* Destination of one routing key at enqueue: the affinity cache first (so every span of
 * a trace seen recently goes where its first span went, whatever the load), then the ring
 * with bounded load. */
static int fwd_split_dest(void *ud, slice_t key)
{
    struct fwd_split_ctx *c = ud;
    fwd_t *f = c->f;
    uint64_t h = split_key_hash(key);
    size_t slot = h & (FWD_AFFINITY_SLOTS - 1);
    _Atomic uint64_t *load = &f->load[c->region * FWD_MAX_MEMBERS];
    struct fwd_affinity *a = &f->aff[slot];
    if (a->key == h && a->gen == c->gen && a->region == (int16_t)c->region &&
        a->member < c->vr->n && c->vr->usable[a->member]) {
        atomic_fetch_add(&load[a->member], 1);
        return a->member;
    }
    uint64_t l[FWD_MAX_MEMBERS];
    for (int i = 0; i < c->vr->n; i++)
        l[i] = atomic_load(&load[i]);
    int m = ring_lookup(&c->vr->ring, h, c->vr->usable, l, c->cap);
    if (m < 0)
        m = ring_lookup(&c->vr->ring, h, NULL, NULL, 0);
    if (m < 0)
        m = 0;
    atomic_fetch_add(&load[m], 1);
    *a = (struct fwd_affinity){h, c->gen, (int16_t)m, (int16_t)c->region};
    return m;
}

struct fwd_pin_ctx {
    const fwd_config_t *cfg;
    const char *region;
};

static int fwd_pin_scan(void *arg, slice_t field, size_t items, size_t rejected)
{
    struct fwd_pin_ctx *c = arg;
    if (c->region)
        return 0;
    /* field = tag + length + payload */
    pb_reader_t r = pb_reader(field);
    uint32_t f, wt;
    slice_t payload;
    if (pb_read_tag(&r, &f, &wt) || pb_read_bytes(&r, &payload))
        return 0;
    for (size_t i = 0; i < c->cfg->n_residency; i++) {
        const struct fwd_residency_cfg *rule = &c->cfg->residency[i];
        if (!rule->attribute)
            continue;
        slice_t v = split_resource_attr(payload, rule->attribute);
        if (v.len && slice_eq_cstr(v, rule->value)) {
            c->region = rule->region;
            break;
        }
    }
    return 0;
}

/* Region this request is pinned to (residency), or NULL. */
static const char *fwd_pin_of(const fwd_t *f, enum otlp_signal sig, slice_t tenant, slice_t body)
{
    const fwd_config_t *cfg = f->cfg;
    int attr_rules = 0;
    for (size_t i = 0; i < cfg->n_residency; i++) {
        if (cfg->residency[i].tenant && slice_eq_cstr(tenant, cfg->residency[i].tenant))
            return cfg->residency[i].region;
        attr_rules |= cfg->residency[i].attribute != NULL;
    }
    if (!attr_rules)
        return NULL;
    struct fwd_pin_ctx c = {cfg, NULL};
    otlp_scan_t sc;
    otlp_pb_scan_resources(sig, body, &sc, fwd_pin_scan, &c);
    return c.region;
}

struct fwd_call {
    fwd_t *f;
    sink_done_fn done;
    void *ud;
    loop_t *loop;
    int result;
    int has_ids;
    dedupe_batch_t ids;
    buf_t rec; /* the record's head when its body is borrowed by the WAL (else empty) */
};

static void fwd_call_done(void *arg)
{
    struct fwd_call *c = arg;
    c->done(c->ud, c->result, c->result ? 1 : 0);
    buf_free(&c->rec);
    orasi_free(c);
}

static void fwd_wake(void *arg)
{
    fwd_t *f = arg;
    atomic_store(&f->wake_pending, 0);
    if (!atomic_load(&f->stopping))
        loop_timer_start(f->loop, &f->tick, 0, FWD_TICK_NS);
}

static void fwd_on_durable(void *ud, int result, uint64_t seq)
{
    struct fwd_call *c = ud;
    fwd_t *f = c->f;
    if (c->has_ids && f->dedupe)
        dedupe_end(f->dedupe, &c->ids, result == 0);
    if (result == 0) {
        atomic_fetch_add(&f->st_queued, 1);
        if (!atomic_exchange(&f->wake_pending, 1) && loop_post(f->loop, fwd_wake, f) != 0)
            atomic_store(&f->wake_pending, 0);
    } else {
        LOG_W("forward", "queue append failed: %s", orasi_strerror(result));
        if (result == ORASI_ENOSPC || result == ORASI_EIO)
            result = ORASI_EUNAVAILABLE;
    }
    c->result = result;
    if (!c->loop) {
        fwd_call_done(c);
        return;
    }
    while (loop_post(c->loop, fwd_call_done, c) != 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Build the queue record for one request into rec. When `tail` is not NULL and the
 * record is the whole body in one part, the body is left out of rec and *tail set to it
 * (the caller has the WAL write it from where it is). */
static int fwd_build_record(fwd_t *f, const ingest_batch_t *b, slice_t body, slice_t in_id,
                            buf_t *rec, slice_t *tail)
{
    const fwd_config_t *cfg = f->cfg;
    const char *pin = fwd_pin_of(f, b->signal, b->tenant, body);
    int keyed = cfg->balance[b->signal] == FWD_BALANCE_KEY;
    split_out_t outs[SPLIT_MAX_DEST];
    char hints[SPLIT_MAX_DEST][FWD_NAME_MAX];
    int nout = 1, rc = 0;
    memset(outs, 0, sizeof(outs));
    for (int i = 0; i < SPLIT_MAX_DEST; i++)
        buf_init(&outs[i].body, body.len + 4096);
    if (keyed) {
        pthread_rwlock_rdlock(&f->view_lock);
        /* the region the parts are cut for: the pinned one, else the best usable one */
        const struct fwd_view_region *vr = NULL;
        size_t ri = 0;
        for (size_t k = 0; k < f->nview && f->order; k++) {
            size_t r = f->order[k];
            const struct fwd_view_region *x = &f->view[r];
            if (pin && strcmp(x->name, pin) != 0)
                continue;
            if (!vr || (!f->view[ri].any_usable && x->any_usable)) {
                if (!vr || x->any_usable) {
                    vr = x;
                    ri = r;
                }
            }
            if (vr->any_usable)
                break;
        }
        if (vr && vr->n > 1) {
            uint64_t total = 0;
            int nu = 0;
            for (int i = 0; i < vr->n; i++) {
                total += atomic_load(&f->load[ri * FWD_MAX_MEMBERS + (size_t)i]);
                nu += vr->usable[i];
            }
            struct fwd_split_ctx sc = {f, vr, ri, 0, f->view_gen};
            sc.cap =
                (uint64_t)(cfg->bounded_load * (double)(total + b->items) / (double)(nu ? nu : 1)) +
                1;
            pthread_mutex_lock(&f->aff_mu);
            rc = split_request(b->signal, body, vr->n, fwd_split_dest, &sc, outs);
            pthread_mutex_unlock(&f->aff_mu);
            nout = vr->n;
            for (int i = 0; i < nout; i++)
                snprintf(hints[i], FWD_NAME_MAX, "%s", vr->names[i]);
        } else {
            keyed = 0;
        }
        pthread_rwlock_unlock(&f->view_lock);
        if (rc)
            goto out;
    }
    if (!keyed) {
        nout = 1;
        outs[0].used = 1;
        outs[0].items = (uint32_t)b->items;
        hints[0][0] = '\0';
    }
    int nparts = 0;
    for (int i = 0; i < nout; i++)
        nparts += outs[i].used;
    if (nparts == 0) {
        /* an empty request (no resources): keep it as one empty part so it is counted */
        outs[0].used = 1;
        hints[0][0] = '\0';
        nparts = 1;
        keyed = 0;
    }
    uint8_t hdr[3 + 64 + 2];
    hdr[0] = FWD_VERSION;
    hdr[1] = (uint8_t)b->signal;
    hdr[2] = (uint8_t)b->tenant.len;
    memcpy(hdr + 3, b->tenant.p, b->tenant.len);
    put_u16(hdr + 3 + b->tenant.len, (uint16_t)in_id.len);
    if ((rc = buf_append(rec, hdr, 5 + b->tenant.len)) || (rc = buf_append_slice(rec, in_id)))
        goto out;
    uint8_t pl = pin ? (uint8_t)strlen(pin) : 0;
    if ((rc = buf_append_byte(rec, pl)) || (pl && (rc = buf_append(rec, pin, pl))))
        goto out;
    if ((rc = buf_append_byte(rec, (uint8_t)nparts)))
        goto out;
    for (int i = 0; i < nout; i++) {
        if (!outs[i].used)
            continue;
        uint8_t ph[17];
        size_t len = keyed ? outs[i].body.len : body.len;
        put_u32(ph, (uint32_t)len);
        put_u32(ph + 4, outs[i].items);
        put_u64(ph + 8, outs[i].route_hash);
        size_t hl = keyed ? strlen(hints[i]) : 0;
        ph[16] = (uint8_t)hl;
        if ((rc = buf_append(rec, ph, 17)) || (rc = buf_append(rec, hints[i], hl)))
            goto out;
    }
    if (!keyed && tail) {
        *tail = body;
        goto out;
    }
    for (int i = 0; i < nout; i++) {
        if (!outs[i].used)
            continue;
        if ((rc = buf_append_slice(rec, keyed ? buf_slice(&outs[i].body) : body)))
            goto out;
    }
out:
    for (int i = 0; i < SPLIT_MAX_DEST; i++)
        buf_free(&outs[i].body);
    return rc;
}

static void fwd_submit(sink_t *base, const ingest_batch_t *b, sink_done_fn done, void *ud)
{
    fwd_t *f = (fwd_t *)base;
    buf_t enc, rec;
    int rc = 0;
    struct fwd_call *c = orasi_calloc(1, sizeof(*c));
    if (!c) {
        done(ud, ORASI_ENOMEM, 1);
        return;
    }
    *c = (struct fwd_call){.f = f, .done = done, .ud = ud, .loop = b->loop};
    buf_init(&enc, 256u << 20);
    buf_init(&rec, 512u << 20);
    /* one allocation for the record: header + parts (+ enrichment slack); only the header
     * when the body will be borrowed (below) */
    size_t body_room = b->raw_pb.len && !f->enrich.n ? 0 : b->raw_pb.len + b->raw_pb.len / 8;
    if (buf_reserve(&rec, body_room + 4096)) {
        rc = ORASI_ENOMEM;
        goto fail;
    }
    if (b->tenant.len == 0 || b->tenant.len > 64) {
        rc = ORASI_EINVAL;
        goto fail;
    }
    /* incoming idempotency ids (a gateway behind agents) */
    if (b->batch_id.len && f->dedupe) {
        if (dedupe_parse(b->batch_id, &c->ids) == 0 && b->batch_id.len <= 65535) {
            int d = dedupe_begin(f->dedupe, &c->ids);
            if (d == DEDUPE_REPLAY) {
                atomic_fetch_add(&f->st_replays, 1);
                metric_inc(f->m_replays);
                orasi_free(c);
                buf_free(&enc);
                buf_free(&rec);
                done(ud, 0, 0);
                return;
            }
            if (d < 0) {
                rc = d;
                goto fail;
            }
            c->has_ids = 1;
        }
    }
    slice_t body = b->raw_pb;
    if (!body.len && b->model && b->items) {
        /* JSON / remote write: the one time a forwarder encodes */
        if (b->signal == OTLP_TRACES)
            rc = otlp_pb_encode_traces(b->model, &enc);
        else if (b->signal == OTLP_METRICS)
            rc = otlp_pb_encode_metrics(b->model, &enc);
        else
            rc = otlp_pb_encode_logs(b->model, &enc);
        if (rc)
            goto fail;
        body = buf_slice(&enc);
    }
    if (f->enrich.n && body.len) {
        buf_t e2;
        buf_init(&e2, 256u << 20);
        rc = enrich_request(body, &f->enrich, &e2);
        if (rc) {
            buf_free(&e2);
            goto fail;
        }
        buf_free(&enc);
        enc = e2;
        body = buf_slice(&enc);
    }
    /* the request's own bytes, unchanged, are borrowed by the WAL until fwd_on_durable
     * (done() has not run: they are still there), not copied */
    slice_t tail = {0};
    int own = body.p == b->raw_pb.p && body.len == b->raw_pb.len;
    rc = fwd_build_record(f, b, body, c->has_ids ? b->batch_id : (slice_t){0}, &rec,
                          own ? &tail : NULL);
    if (rc)
        goto fail;
    if (tail.len) {
        c->rec = rec;
        buf_init(&rec, 0);
        struct iovec v[2] = {{c->rec.data, c->rec.len}, {(void *)tail.p, tail.len}};
        rc = wal_append_borrowed(f->wal, (uint8_t)(FWD_WAL_TYPE + b->signal), v, 2,
                                 fwd_on_durable, c);
    } else {
        rc = wal_append(f->wal, (uint8_t)(FWD_WAL_TYPE + b->signal), rec.data, rec.len,
                        fwd_on_durable, c);
    }
    buf_free(&enc);
    buf_free(&rec);
    if (rc == 0)
        return;
fail:
    buf_free(&enc);
    buf_free(&rec);
    buf_free(&c->rec);
    if (c->has_ids)
        dedupe_end(f->dedupe, &c->ids, 0);
    orasi_free(c);
    if (rc == ORASI_EFULL || rc == ORASI_ETOOBIG) {
        done(ud, ORASI_EFULL, 1);
        return;
    }
    if (rc != ORASI_EBUSY && rc != ORASI_EEXISTS)
        LOG_W("forward", "cannot queue the request: %s", orasi_strerror(rc));
    done(ud, rc == ORASI_ECLOSED ? ORASI_EUNAVAILABLE : rc, 1);
}

static int fwd_check_raw(sink_t *base, enum otlp_signal sig, slice_t body, uint64_t *items)
{
    return split_count(sig, body, items);
}

static int fwd_ready(sink_t *base)
{
    fwd_t *f = (fwd_t *)base;
    /* not ready when the queue is almost full: load balancers send elsewhere */
    return wal_bytes(f->wal) < f->cfg->queue_max_size / 100 * 95;
}

/* ---- sender: members --------------------------------------------------------------------- */

static void fwd_batch_free(struct fwd_batch *bt)
{
    buf_free(&bt->body);
    buf_free(&bt->ids);
    orasi_free(bt->parts);
    orasi_free(bt);
}

static void fwd_retry_push(fwd_t *f, struct fwd_batch *bt, uint64_t when)
{
    bt->next_try = when;
    bt->next = f->retry;
    f->retry = bt;
}

/* Take every batch formed or waiting for this member back for re-routing now. */
static void fwd_evacuate(fwd_t *f, struct fwd_member *m, uint64_t now)
{
    struct fwd_batch *lists[2] = {m->forming, m->ready};
    m->forming = m->ready = m->ready_tail = NULL;
    for (int i = 0; i < 2; i++) {
        while (lists[i]) {
            struct fwd_batch *bt = lists[i];
            lists[i] = bt->next;
            if (bt->sticky && !m->removed) {
                /* keep waiting for this member: put it back */
                bt->next = NULL;
                if (m->ready_tail)
                    m->ready_tail->next = bt;
                else
                    m->ready = bt;
                m->ready_tail = bt;
                continue;
            }
            bt->sticky = 0;
            bt->dest = NULL;
            fwd_retry_push(f, bt, now);
        }
    }
}

static void fwd_member_metrics(fwd_t *f, struct fwd_member *m)
{
    const char *lab[] = {m->spec.name};
    m->m_items = metric_series(f->f_items, (const char *[]){m->spec.name, "sent"});
    m->m_state = metric_series(f->f_state, lab);
    static const char *const oc[] = {"ok", "retry", "permanent", "conflict"};
    for (int i = 0; i < 4; i++)
        m->m_req[i] = metric_series(f->f_req, (const char *[]){m->spec.name, oc[i]});
}

static struct fwd_member *fwd_member_new(fwd_t *f, size_t region, const fwd_member_spec_t *s)
{
    char err[256];
    const fwd_config_t *cfg = f->cfg;
    struct fwd_member *m = orasi_calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->spec = *s;
    m->region = region;
    breaker_config_t bc;
    breaker_config_default(&bc);
    bc.failures = (uint32_t)cfg->br_failures;
    bc.error_rate = cfg->br_error_rate;
    bc.min_requests = (uint32_t)cfg->br_min_requests;
    bc.window_ns = cfg->br_window;
    bc.open_ns = cfg->br_open_for;
    bc.health_failures = (uint32_t)cfg->br_health_failures;
    breaker_init(&m->br, &bc);
    exp_config_t ec;
    exp_config_default(&ec);
    ec.url = s->endpoint;
    ec.protocol = cfg->protocol == 1 ? EXP_GRPC : EXP_HTTP_PROTOBUF;
    ec.compression = (enum exp_compression)cfg->compression;
    ec.timeout_ns = cfg->timeout;
    ec.max_connections = (int)cfg->connections;
    m->cli = exp_client_create(f->loop, &ec, err, sizeof(err));
    if (!m->cli) {
        LOG_E("forward", "upstream %s: %s", s->name, err);
        orasi_free(m);
        return NULL;
    }
    if (s->health[0]) {
        /* http://host:port/path: the client takes the base, the GET the path */
        const char *p = strchr(s->health + 7, '/');
        char base[FWD_URL_MAX];
        size_t bl = p ? (size_t)(p - s->health) : strlen(s->health);
        snprintf(base, sizeof(base), "%.*s", (int)bl, s->health);
        snprintf(m->health_path, sizeof(m->health_path), "%s", p ? p : "/");
        exp_config_t hc;
        exp_config_default(&hc);
        hc.url = base;
        hc.timeout_ns = cfg->br_health_timeout;
        hc.max_connections = 1;
        hc.max_queue = 4;
        m->hc = exp_client_create(f->loop, &hc, err, sizeof(err));
        if (!m->hc)
            LOG_W("forward", "upstream %s: health checks off: %s", s->name, err);
    }
    fwd_member_metrics(f, m);
    m->last_state = -1;
    return m;
}

static void fwd_member_free(struct fwd_member *m)
{
    exp_client_destroy(m->cli);
    exp_client_destroy(m->hc);
    orasi_free(m);
}

static void fwd_apply_members(fwd_t *f, struct fwd_pending_members *p)
{
    uint64_t now = clock_mono_ns();
    if (p->region >= f->nregions)
        return;
    struct fwd_region *r = &f->regions[p->region];
    struct fwd_member *keep[FWD_MAX_MEMBERS];
    int nk = 0, changed = 0;
    /* keep the members still listed, in the new order; add the new ones */
    for (size_t i = 0; i < p->n && nk < FWD_MAX_MEMBERS; i++) {
        struct fwd_member *m = NULL;
        for (int j = 0; j < r->n; j++)
            if (r->m[j] && strcmp(r->m[j]->spec.name, p->v[i].name) == 0 &&
                strcmp(r->m[j]->spec.endpoint, p->v[i].endpoint) == 0) {
                m = r->m[j];
                r->m[j] = NULL;
            }
        if (!m) {
            m = fwd_member_new(f, p->region, &p->v[i]);
            if (!m)
                continue;
            changed = 1;
            LOG_I("forward", "region %s: upstream %s (%s) joined", r->name, m->spec.name,
                  m->spec.endpoint);
        }
        keep[nk++] = m;
    }
    for (int j = 0; j < r->n; j++) {
        struct fwd_member *m = r->m[j];
        if (!m)
            continue;
        changed = 1;
        LOG_I("forward", "region %s: upstream %s left", r->name, m->spec.name);
        m->removed = 1;
        fwd_evacuate(f, m, now);
        /* batches waiting for a retry must not keep pointing at it: it is freed once idle */
        for (struct fwd_batch *bt = f->retry; bt; bt = bt->next)
            if (bt->dest == m) {
                bt->dest = NULL;
                bt->sticky = 0;
            }
        m->grave_next = f->grave;
        f->grave = m; /* freed once nothing is in flight */
    }
    memcpy(r->m, keep, sizeof(keep[0]) * (size_t)nk);
    r->n = nk;
    if (changed) {
        const char *names[FWD_MAX_MEMBERS];
        for (int i = 0; i < nk; i++)
            names[i] = r->m[i]->spec.name;
        ring_build(&r->ring, names, nk, 128);
        f->view_dirty = 2;
    }
    if (p->region < 16)
        metric_set(f->m_members[p->region], (double)nk);
}

int fwd_set_members(fwd_t *f, size_t region, const fwd_member_spec_t *v, size_t n)
{
    if (region >= f->nregions || n > FWD_MAX_MEMBERS)
        return ORASI_EINVAL;
    struct fwd_pending_members *p = orasi_malloc(sizeof(*p) + n * sizeof(p->v[0]));
    if (!p)
        return ORASI_ENOMEM;
    p->region = region;
    p->n = n;
    memcpy(p->v, v, n * sizeof(v[0]));
    pthread_mutex_lock(&f->pend_mu);
    p->next = f->pend;
    f->pend = p;
    pthread_mutex_unlock(&f->pend_mu);
    return 0;
}

/* ---- sender: routing ----------------------------------------------------------------------- */

static struct fwd_member *fwd_route(fwd_t *f, enum otlp_signal sig, slice_t pin, slice_t hint,
                                    uint64_t route, uint64_t now)
{
    int keyed = f->cfg->balance[sig] == FWD_BALANCE_KEY;
    for (size_t k = 0; k < f->nregions; k++) {
        struct fwd_region *r = &f->regions[f->order[k]];
        if (pin.len && !slice_eq_cstr(pin, r->name))
            continue;
        uint8_t usable[FWD_MAX_MEMBERS];
        int any = 0;
        for (int i = 0; i < r->n; i++) {
            usable[i] = (uint8_t)fwd_member_usable(r->m[i], now);
            any |= usable[i];
        }
        if (!any)
            continue;
        if (hint.len) {
            for (int i = 0; i < r->n; i++)
                if (usable[i] && slice_eq_cstr(hint, r->m[i]->spec.name))
                    return r->m[i];
        }
        if (keyed && route) {
            int m = ring_lookup(&r->ring, route, usable, NULL, 0);
            if (m >= 0)
                return r->m[m];
        }
        /* round robin, skipping members with a full pipeline when others have room */
        struct fwd_member *best = NULL;
        for (int i = 0; i < r->n; i++) {
            struct fwd_member *m = r->m[(r->rr + (unsigned)i) % (unsigned)r->n];
            if (!usable[(r->rr + (unsigned)i) % (unsigned)r->n])
                continue;
            if (!best || m->inflight < best->inflight)
                best = m;
            if (m->inflight < f->cfg->connections)
                break;
        }
        r->rr++;
        return best;
    }
    return NULL;
}

/* ---- sender: batches ------------------------------------------------------------------------ */

static struct fwd_batch *fwd_batch_new(fwd_t *f, enum otlp_signal sig, slice_t tenant, slice_t pin,
                                       uint64_t now)
{
    struct fwd_batch *bt = orasi_calloc(1, sizeof(*bt));
    if (!bt)
        return NULL;
    bt->f = f;
    bt->sig = sig;
    bt->tenant = tenant;
    bt->pin = pin;
    bt->born = now;
    buf_init(&bt->body, (size_t)f->cfg->batch_max_size * 2 + (64u << 20));
    buf_init(&bt->ids, 256u << 10);
    return bt;
}

static int fwd_batch_add(struct fwd_batch *bt, struct fwd_part *p)
{
    if (bt->n == bt->cap) {
        size_t nc = bt->cap ? bt->cap * 2 : 8;
        struct fwd_part **np = orasi_realloc(bt->parts, nc * sizeof(*np));
        if (!np)
            return ORASI_ENOMEM;
        bt->parts = np;
        bt->cap = nc;
    }
    bt->parts[bt->n++] = p;
    bt->bytes += p->body.len;
    bt->items += p->items;
    if (!bt->pin.len && p->rec->pin.len)
        bt->pin = p->rec->pin;
    return 0;
}

static void fwd_ready_push(struct fwd_member *m, struct fwd_batch *bt)
{
    bt->next = NULL;
    bt->dest = m;
    if (m->ready_tail)
        m->ready_tail->next = bt;
    else
        m->ready = bt;
    m->ready_tail = bt;
}

/* Put a part into the forming batch of (member, signal, tenant); full batches move to the
 * member's ready queue. Parts that cannot be routed wait in the retry list. */
static void fwd_place(fwd_t *f, struct fwd_part *p, uint64_t now)
{
    struct fwd_rec *rec = p->rec;
    struct fwd_member *m = fwd_route(f, rec->sig, rec->pin, p->hint, p->route, now);
    if (!m) {
        struct fwd_batch *bt = fwd_batch_new(f, rec->sig, rec->tenant, rec->pin, now);
        if (!bt || fwd_batch_add(bt, p)) {
            LOG_E("forward", "out of memory placing a part; it stays queued for a restart");
            if (bt)
                fwd_batch_free(bt);
            return;
        }
        fwd_retry_push(f, bt, now + FWD_TICK_NS * 5);
        return;
    }
    struct fwd_batch **pp = &m->forming, *bt = NULL;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->sig == rec->sig && slice_eq((*pp)->tenant, rec->tenant) &&
            slice_eq((*pp)->pin, rec->pin)) {
            bt = *pp;
            break;
        }
    if (bt && (bt->n >= DEDUPE_MAX_IDS || bt->bytes + p->body.len > f->cfg->batch_max_size)) {
        *pp = bt->next;
        fwd_ready_push(m, bt);
        bt = NULL;
    }
    if (!bt) {
        bt = fwd_batch_new(f, rec->sig, rec->tenant, rec->pin, now);
        if (!bt) {
            LOG_E("forward", "out of memory placing a part; it stays queued for a restart");
            return;
        }
        bt->dest = m;
        bt->next = m->forming;
        m->forming = bt;
        pp = &m->forming;
    }
    if (fwd_batch_add(bt, p)) {
        LOG_E("forward", "out of memory placing a part; it stays queued for a restart");
        return;
    }
    if (bt->items >= (uint64_t)f->cfg->batch_max_items || bt->bytes >= f->cfg->batch_max_size ||
        bt->n >= DEDUPE_MAX_IDS) {
        for (pp = &m->forming; *pp && *pp != bt; pp = &(*pp)->next)
            ;
        if (*pp)
            *pp = bt->next;
        fwd_ready_push(m, bt);
    }
}

static void fwd_rec_free(struct fwd_rec *r)
{
    orasi_free(r->data);
    orasi_free(r);
}

static size_t fwd_region_index(const fwd_t *f, slice_t name)
{
    for (size_t r = 0; r < f->nregions; r++)
        if (slice_eq_cstr(name, f->regions[r].name))
            return r;
    return SIZE_MAX;
}

/* 2: a member's circuit is closed (proven healthy); 1: a member may be probed
 * (half-open); 0: nothing usable. */
static int fwd_region_state(const fwd_t *f, size_t r, uint64_t now)
{
    int st = 0;
    for (int i = 0; i < f->regions[r].n; i++) {
        const struct fwd_member *m = f->regions[r].m[i];
        if (!m->removed && m->br.state == BREAKER_CLOSED)
            return 2;
        if (fwd_member_usable(m, now))
            st = 1;
    }
    return st;
}

/* Keep the queue's records in sequence order: parked records come back out of order. */
static void fwd_rec_insert(fwd_t *f, struct fwd_rec *rec)
{
    if (!f->rtail || f->rtail->seq < rec->seq) {
        if (f->rtail)
            f->rtail->next = rec;
        else
            f->rhead = rec;
        f->rtail = rec;
        return;
    }
    struct fwd_rec **pp = &f->rhead;
    while (*pp && (*pp)->seq < rec->seq)
        pp = &(*pp)->next;
    rec->next = *pp;
    *pp = rec;
}

/* Copy a queue record into memory and place its parts. 0, or ORASI_ENOMEM (nothing done). */
static int fwd_rec_load(fwd_t *f, uint64_t seq, slice_t p, const struct fwd_rec_view *v,
                        uint64_t now)
{
    struct fwd_rec *rec = orasi_calloc(1, sizeof(*rec) + (size_t)v->nparts * sizeof(rec->parts[0]));
    uint8_t *data = orasi_malloc(p.len ? p.len : 1);
    if (!rec || !data) {
        orasi_free(rec);
        orasi_free(data);
        return ORASI_ENOMEM;
    }
    memcpy(data, p.p, p.len);
    rec->seq = seq;
    rec->data = data;
    rec->size = p.len;
    rec->sig = v->sig;
    rec->tenant = slice_make(data + (v->tenant.p - p.p), v->tenant.len);
    rec->pin = slice_make(data + (v->pin.p - p.p), v->pin.len);
    rec->nparts = v->nparts;
    size_t off = v->body_off;
    for (int i = 0; i < v->nparts; i++) {
        struct fwd_part *pt = &rec->parts[i];
        pt->rec = rec;
        pt->idx = (uint8_t)i;
        pt->body = slice_make(data + off, v->len[i]);
        pt->items = v->items[i];
        pt->route = v->route[i];
        pt->hint = slice_make(data + (v->hint[i].p - p.p), v->hint[i].len);
        off += v->len[i];
    }
    fwd_rec_insert(f, rec);
    f->mem_bytes += p.len;
    for (int i = 0; i < v->nparts; i++)
        fwd_place(f, &rec->parts[i], now);
    return 0;
}

/* A pinned record whose region has no usable upstream is parked instead of held in memory,
 * so that it does not fill the read-ahead window and stall everyone else's data. */
static int fwd_park(fwd_t *f, uint64_t seq, slice_t pin, uint64_t now)
{
    size_t r = fwd_region_index(f, pin);
    /* park unless the region is proven healthy: records read while it is only being
     * probed would pile up in memory */
    if (r == SIZE_MAX || r >= 64 || fwd_region_state(f, r, now) == 2 ||
        f->parked_live >= FWD_PARK_MAX)
        return 0;
    if (f->nparked == f->parked_head) {
        f->nparked = f->parked_head = 0;
    } else if (f->nparked == FWD_PARK_MAX && f->parked_head > 0) {
        /* compact: drop the unparked entries at the front */
        memmove(f->parked, f->parked + f->parked_head,
                (f->nparked - f->parked_head) * sizeof(f->parked[0]));
        f->nparked -= f->parked_head;
        f->parked_head = 0;
    }
    if (!f->parked) {
        f->parked = orasi_malloc(FWD_PARK_MAX * sizeof(f->parked[0]));
        if (!f->parked)
            return 0;
    }
    if (f->nparked == FWD_PARK_MAX)
        return 0;
    f->parked[f->nparked++] = (struct fwd_parked){seq, r};
    f->parked_live++;
    return 1;
}

static uint64_t fwd_first_parked(fwd_t *f)
{
    while (f->parked_head < f->nparked && f->parked[f->parked_head].seq == 0)
        f->parked_head++;
    return f->parked_head < f->nparked ? f->parked[f->parked_head].seq : 0;
}

/* Regions that came back: read their parked records again (within the window). */
static void fwd_unpark(fwd_t *f, uint64_t now)
{
    uint8_t state[64] = {0};
    int any = 0;
    if (!f->parked_live)
        return;
    for (size_t r = 0; r < f->nregions && r < 64; r++)
        any |= state[r] = (uint8_t)fwd_region_state(f, r, now);
    if (!any)
        return;
    for (size_t i = f->parked_head; i < f->nparked && f->mem_bytes < f->cfg->window; i++) {
        struct fwd_parked *pk = &f->parked[i];
        if (!pk->seq || !state[pk->region])
            continue;
        /* a half-open region gets one record per tick: its probe */
        if (state[pk->region] == 1)
            state[pk->region] = 0;
        uint64_t seq = 0;
        uint8_t type;
        slice_t p;
        struct fwd_rec_view v;
        int rc = 0;
        /* parked records are in increasing order: read forward to the next one (a seek
         * would make the WAL locate the record from the start of its segment) */
        if (pk->seq < f->cur2_next || pk->seq - f->cur2_next > 65536)
            rc = wal_cursor_seek(f->cur2, pk->seq);
        if (!rc) {
            do
                rc = wal_cursor_next(f->cur2, &seq, &type, &p);
            while (rc == 1 && seq < pk->seq);
        }
        if (rc == 1)
            f->cur2_next = seq + 1;
        if (rc != 1 || seq != pk->seq || fwd_rec_parse(p, &v) <= 0) {
            LOG_E("forward",
                  "parked queue record %llu could not be read again; it stays queued for a "
                  "restart",
                  (unsigned long long)pk->seq);
            return;
        }
        if (fwd_rec_load(f, seq, p, &v, now) != 0)
            return; /* out of memory: try again next tick */
        pk->seq = 0;
        f->parked_live--;
    }
}

/* Read newly durable queue records into memory (up to the window) and place their parts. */
static void fwd_read(fwd_t *f, uint64_t now)
{
    fwd_unpark(f, now);
    while (f->mem_bytes < f->cfg->window) {
        uint64_t seq;
        uint8_t type;
        slice_t p;
        int r = wal_cursor_next(f->cur, &seq, &type, &p);
        if (r == 0)
            break;
        if (r < 0) {
            LOG_E("forward", "queue read failed: %s", orasi_strerror(r));
            break;
        }
        struct fwd_rec_view v;
        if (type < FWD_WAL_TYPE || type > FWD_WAL_TYPE + 2 || fwd_rec_parse(p, &v) < 0) {
            LOG_E("forward", "queue record %llu is not a forward record; skipped",
                  (unsigned long long)seq);
            struct fwd_rec *z = orasi_calloc(1, sizeof(*z));
            if (z) {
                z->seq = seq;
                fwd_rec_insert(f, z);
            }
            continue;
        }
        if (v.pin.len && fwd_park(f, seq, v.pin, now))
            continue;
        if (fwd_rec_load(f, seq, p, &v, now) != 0) {
            wal_cursor_seek(f->cur, seq); /* try again next tick */
            break;
        }
    }
    metric_set(f->m_parked, (double)f->parked_live);
}

/* Records fully done leave memory; the queue is checkpointed past them (rate-limited:
 * a checkpoint is an fsync). */
static void fwd_advance(fwd_t *f, uint64_t now, int force)
{
    while (f->rhead && f->rhead->ndone == f->rhead->nparts) {
        struct fwd_rec *r = f->rhead;
        f->rhead = r->next;
        if (!f->rhead)
            f->rtail = NULL;
        f->ckpt_seq = r->seq;
        f->mem_bytes -= r->size;
        if (r->nparts)
            atomic_fetch_add(&f->st_done, 1);
        fwd_rec_free(r);
    }
    /* never past a parked record: it is still only in the queue */
    uint64_t ckpt = f->ckpt_seq, first = fwd_first_parked(f);
    if (first && ckpt >= first)
        ckpt = first - 1;
    if (ckpt > wal_checkpoint_seq(f->wal) &&
        (force || now - f->last_ckpt_at >= FWD_CKPT_EVERY_NS)) {
        f->last_ckpt_at = now;
        int rc = 0;
        if (f->dedupe)
            rc = dedupe_save(f->dedupe, ckpt);
        if (!rc)
            rc = wal_checkpoint(f->wal, ckpt);
        if (rc)
            LOG_W("forward", "queue checkpoint at %llu failed: %s", (unsigned long long)ckpt,
                  orasi_strerror(rc));
    }
}

static void fwd_parts_done(fwd_t *f, struct fwd_batch *bt)
{
    for (size_t i = 0; i < bt->n; i++) {
        struct fwd_part *p = bt->parts[i];
        if (!p->done) {
            p->done = 1;
            p->rec->ndone++;
        }
    }
}

static void fwd_dead_letter(fwd_t *f, struct fwd_batch *bt, const exp_result_t *r)
{
    char path[4400], base[4200];
    uint64_t wall = clock_wall_ns();
    struct fwd_part *p0 = bt->parts[0];
    snprintf(base, sizeof(base), "%s/%s-%llu-%llu.%u-%s", f->cfg->dead_letter_dir, f->origin,
             (unsigned long long)wall, (unsigned long long)p0->rec->seq, p0->idx,
             fwd_sig_names[bt->sig]);
    int ok = 1;
    snprintf(path, sizeof(path), "%s.pb", base);
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        ok = 0;
    } else {
        for (size_t i = 0; i < bt->n; i++)
            ok &= fwrite(bt->parts[i]->body.p, 1, bt->parts[i]->body.len, fp) ==
                  bt->parts[i]->body.len;
        ok &= fflush(fp) == 0 && fsync(fileno(fp)) == 0;
        fclose(fp);
    }
    snprintf(path, sizeof(path), "%s.reason", base);
    fp = fopen(path, "w");
    if (fp) {
        fprintf(fp,
                "upstream: %s\nsignal: %s\ntenant: %.*s\nitems: %llu\nhttp_status: %d\n"
                "grpc_status: %d\nreason: %s\nbatch: %.*s\n",
                bt->dest ? bt->dest->spec.name : "-", fwd_sig_names[bt->sig], (int)bt->tenant.len,
                (const char *)bt->tenant.p, (unsigned long long)bt->items, r->http_status,
                r->grpc_status, r->message, (int)bt->ids.len, (const char *)bt->ids.data);
        ok &= fflush(fp) == 0 && fsync(fileno(fp)) == 0;
        fclose(fp);
    } else {
        ok = 0;
    }
    if (!ok)
        LOG_E("forward", "could not write the dead-letter file %s.pb: %s", base, strerror(errno));
    log_msg(LOG_WARN, "forward", NULL,
            "batch of %llu %s rejected permanently by %s (%s): dead-lettered to %s.pb",
            (unsigned long long)bt->items, fwd_sig_names[bt->sig],
            bt->dest ? bt->dest->spec.name : "-", r->message, base);
    atomic_fetch_add(&f->st_dead, 1);
    atomic_fetch_add(&f->st_items_dead, bt->items);
    metric_inc(f->m_dead_batches);
    metric_add(f->m_dead_items, (double)bt->items);
}

static uint64_t fwd_backoff(const fwd_t *f, uint32_t attempts)
{
    uint64_t d = f->cfg->retry_initial;
    for (uint32_t i = 1; i < attempts && d < f->cfg->retry_max; i++)
        d *= 2;
    if (d > f->cfg->retry_max)
        d = f->cfg->retry_max;
    /* jitter: uniformly in [d/2, d] so that many senders do not retry in lockstep */
    return d / 2 + (uint64_t)((double)(d / 2) * ((double)random() / (double)RAND_MAX));
}

static void fwd_on_result(void *ud, const exp_result_t *r);

static int fwd_batch_build(fwd_t *f, struct fwd_batch *bt)
{
    int rc = 0;
    if (bt->ids.len == 0) {
        uint64_t ids[DEDUPE_MAX_IDS];
        for (size_t i = 0; i < bt->n; i++)
            ids[i] = dedupe_id(bt->parts[i]->rec->seq, bt->parts[i]->idx);
        rc = dedupe_format(&bt->ids, f->origin, ids, bt->n);
    }
    if (!rc && bt->n > 1 && bt->body.len == 0)
        for (size_t i = 0; i < bt->n && !rc; i++)
            rc = buf_append_slice(&bt->body, bt->parts[i]->body);
    return rc;
}

static void fwd_send(fwd_t *f, struct fwd_member *m, struct fwd_batch *bt)
{
    int rc = fwd_batch_build(f, bt);
    if (rc) {
        LOG_E("forward", "cannot build a batch: %s", orasi_strerror(rc));
        fwd_retry_push(f, bt, clock_mono_ns() + f->cfg->retry_max);
        return;
    }
    exp_request_t req = {
        .signal = bt->sig,
        .body = bt->n > 1 ? buf_slice(&bt->body) : bt->parts[0]->body,
        .tenant = bt->tenant,
        .batch_id = buf_slice(&bt->ids),
    };
    bt->dest = m;
    rc = exp_send(m->cli, &req, fwd_on_result, bt);
    if (rc) {
        fwd_retry_push(f, bt, clock_mono_ns() + fwd_backoff(f, ++bt->attempts));
        return;
    }
    m->inflight++;
    atomic_fetch_add(&f->st_inflight, 1);
}

/* A batch whose ids the upstream partly has: resend part by part (each part is all-or-
 * nothing at the upstream). */
static void fwd_split_batch(fwd_t *f, struct fwd_batch *bt, uint64_t now)
{
    atomic_fetch_add(&f->st_split, 1);
    for (size_t i = 0; i < bt->n; i++) {
        /* tenant and pin from the part's own record: the batch's point into its first
         * part's record, which may be freed before this part is done */
        struct fwd_rec *rec = bt->parts[i]->rec;
        struct fwd_batch *one = fwd_batch_new(f, bt->sig, rec->tenant, rec->pin, now);
        if (!one || fwd_batch_add(one, bt->parts[i])) {
            if (one)
                fwd_batch_free(one);
            LOG_E("forward", "out of memory splitting a batch: it stays queued for a restart");
            continue;
        }
        one->dest = bt->dest;
        one->sticky = bt->sticky;
        fwd_retry_push(f, one, now);
    }
    fwd_batch_free(bt);
}

static void fwd_on_result(void *ud, const exp_result_t *r)
{
    struct fwd_batch *bt = ud;
    fwd_t *f = bt->f;
    struct fwd_member *m = bt->dest;
    uint64_t now = clock_mono_ns();
    m->inflight--;
    atomic_fetch_sub(&f->st_inflight, 1);
    metric_inc(m->m_req[r->outcome]);
    if (atomic_load(&f->stopping) && r->err == ORASI_ECLOSED) {
        /* shutting down: the data stays in the queue */
        fwd_batch_free(bt);
        return;
    }
    switch (r->outcome) {
    case EXP_OK:
        breaker_success(&m->br, now);
        if (r->rejected > 0)
            LOG_W("forward", "%s rejected %lld of %llu items: %s", m->spec.name,
                  (long long)r->rejected, (unsigned long long)bt->items, r->message);
        atomic_fetch_add(&f->st_sent, 1);
        atomic_fetch_add(&f->st_items_sent, bt->items);
        metric_add(m->m_items, (double)bt->items);
        fwd_parts_done(f, bt);
        fwd_batch_free(bt);
        break;
    case EXP_PERMANENT:
        breaker_success(&m->br, now); /* it answered: the upstream is healthy */
        fwd_dead_letter(f, bt, r);
        fwd_parts_done(f, bt);
        fwd_batch_free(bt);
        break;
    case EXP_CONFLICT:
        breaker_success(&m->br, now);
        if (bt->n > 1) {
            fwd_split_batch(f, bt, now);
        } else {
            /* one part "partly" seen cannot be: treat as a transient upstream problem */
            fwd_retry_push(f, bt, now + fwd_backoff(f, ++bt->attempts));
        }
        break;
    default: {
        /* 429 / RESOURCE_EXHAUSTED are backpressure from a live upstream, not failures */
        int backpressure = r->http_status == 429 || r->grpc_status == 8;
        if (r->err == ORASI_EUNAVAILABLE && !r->in_doubt)
            breaker_down(&m->br, now); /* connection refused */
        else if (!backpressure)
            breaker_failure(&m->br, now);
        atomic_fetch_add(&f->st_retried, 1);
        metric_inc(f->m_retries);
        bt->attempts++;
        /* In doubt (the request left, no answer came): the upstream may have logged it.
         * Prefer waiting for that upstream for a while, so its dedupe drops the replay,
         * over sending the bytes to another one (which would duplicate them). */
        int in_doubt = r->in_doubt;
        if (in_doubt && !bt->sticky) {
            bt->sticky = 1;
            bt->doubt_since = now;
        }
        if (bt->sticky && now - bt->doubt_since > FWD_IN_DOUBT_NS)
            bt->sticky = 0;
        uint64_t delay = fwd_backoff(f, bt->attempts);
        if (r->retry_after_ns > delay)
            delay = r->retry_after_ns;
        if (!bt->sticky && !breaker_usable(&m->br, now) && !backpressure)
            delay = 0; /* fail over now: routing skips this upstream */
        if (!bt->sticky)
            bt->dest = NULL;
        if (m->br.state == BREAKER_OPEN)
            fwd_evacuate(f, m, now);
        if (bt->attempts == 1 || bt->attempts % 20 == 0)
            LOG_W("forward", "%s: %s (attempt %u, retry in %llu ms%s)", m->spec.name, r->message,
                  bt->attempts, (unsigned long long)(delay / 1000000),
                  bt->sticky ? ", in doubt: same upstream" : "");
        fwd_retry_push(f, bt, now + delay);
        break;
    }
    }
    if (!atomic_load(&f->stopping))
        loop_timer_start(f->loop, &f->tick, 0, FWD_TICK_NS);
}

/* ---- sender: health checks -------------------------------------------------------------- */

static void fwd_on_health(void *ud, const exp_result_t *r)
{
    struct fwd_member *m = ud;
    m->health_busy = 0;
    if (m->removed)
        return;
    if (r->err == ORASI_EUNAVAILABLE)
        breaker_down(&m->br, clock_mono_ns()); /* connection refused */
    else
        breaker_health(&m->br, r->outcome == EXP_OK, clock_mono_ns());
}

static void fwd_health(fwd_t *f, struct fwd_member *m, uint64_t now)
{
    if (!m->hc || m->health_busy || now < m->next_health || m->removed)
        return;
    m->next_health = now + f->cfg->br_health_interval;
    exp_request_t q = {.signal = OTLP_TRACES, .get_path = m->health_path};
    if (exp_send(m->hc, &q, fwd_on_health, m) == 0)
        m->health_busy = 1;
}

/* ---- sender: the tick ----------------------------------------------------------------------- */

static void fwd_dispatch(fwd_t *f, struct fwd_member *m, uint64_t now)
{
    while (m->ready && m->inflight < f->cfg->connections) {
        if (!breaker_allow(&m->br, now)) {
            if (m->br.state == BREAKER_OPEN)
                fwd_evacuate(f, m, now);
            break;
        }
        struct fwd_batch *bt = m->ready;
        m->ready = bt->next;
        if (!m->ready)
            m->ready_tail = NULL;
        bt->next = NULL;
        fwd_send(f, m, bt);
        if (m->br.state == BREAKER_HALF_OPEN)
            break; /* one probe */
    }
}

static void fwd_collect(void *ud)
{
    fwd_t *f = ud;
    uint64_t oldest = wal_oldest_ns(f->wal), wall = clock_wall_ns();
    metric_set(f->m_queue_bytes, (double)wal_bytes(f->wal));
    metric_set(f->m_oldest, oldest && wall > oldest ? (double)(wall - oldest) / 1e9 : 0);
}

static void fwd_tick(loop_t *loop, loop_timer_t *t)
{
    fwd_t *f = t->data;
    uint64_t now = clock_mono_ns();
    if (atomic_load(&f->stopping)) {
        loop_stop(loop);
        return;
    }
    /* membership updates */
    pthread_mutex_lock(&f->pend_mu);
    struct fwd_pending_members *p = f->pend;
    f->pend = NULL;
    pthread_mutex_unlock(&f->pend_mu);
    /* applied oldest first */
    struct fwd_pending_members *rev = NULL;
    while (p) {
        struct fwd_pending_members *n = p->next;
        p->next = rev;
        rev = p;
        p = n;
    }
    while (rev) {
        struct fwd_pending_members *n = rev->next;
        fwd_apply_members(f, rev);
        orasi_free(rev);
        rev = n;
    }
    /* breaker states: publish changes to the view, count them in metrics */
    int states_changed = 0;
    for (size_t r = 0; r < f->nregions; r++) {
        struct fwd_region *reg = &f->regions[r];
        int any = 0;
        for (int i = 0; i < reg->n; i++) {
            struct fwd_member *m = reg->m[i];
            fwd_health(f, m, now);
            int st = fwd_member_usable(m, now) ? (int)m->br.state : BREAKER_OPEN;
            if (st != m->last_state) {
                if (m->last_state >= 0)
                    log_msg(LOG_INFO, "forward", NULL, "upstream %s (region %s): circuit %s",
                            m->spec.name, reg->name, breaker_state_name((enum breaker_state)st));
                m->last_state = st;
                states_changed = 1;
                metric_set(m->m_state, (double)st);
            }
            any |= st != BREAKER_OPEN;
        }
        (void)any;
    }
    if (states_changed || f->view_dirty) {
        fwd_view_publish(f, f->view_dirty == 2);
        f->view_dirty = 0;
        /* the preferred region, as routing sees it now */
        int chosen = 0;
        for (size_t k = 0; k < f->nregions; k++) {
            size_t r = f->order[k];
            int any = 0;
            for (int i = 0; i < f->regions[r].n; i++)
                any |= fwd_member_usable(f->regions[r].m[i], now);
            metric_set(f->m_region_active[r < 16 ? r : 15], any && !chosen ? 1 : 0);
            chosen |= any;
        }
    }
    /* bounded-load epoch: shares are measured per second */
    if (now - f->epoch_at >= 1000000000ull) {
        f->epoch_at = now;
        for (size_t i = 0; i < sizeof(f->load) / sizeof(f->load[0]); i++)
            atomic_store(&f->load[i], 0);
    }
    fwd_read(f, now);
    /* retries and parts waiting for a route */
    struct fwd_batch *due = NULL, **pp = &f->retry;
    size_t waiting = 0;
    while (*pp) {
        struct fwd_batch *bt = *pp;
        if (bt->next_try <= now) {
            *pp = bt->next;
            bt->next = due;
            due = bt;
        } else {
            pp = &bt->next;
            waiting++;
        }
    }
    while (due) {
        struct fwd_batch *bt = due;
        due = bt->next;
        bt->next = NULL;
        struct fwd_member *m = NULL;
        if (bt->sticky && bt->dest && !bt->dest->removed)
            m = bt->dest;
        else
            m = fwd_route(f, bt->sig, bt->pin, bt->n == 1 ? bt->parts[0]->hint : (slice_t){0},
                          bt->parts[0]->route, now);
        if (!m) {
            fwd_retry_push(f, bt, now + FWD_TICK_NS * 5);
            waiting++;
            continue;
        }
        fwd_ready_push(m, bt);
    }
    metric_set(f->m_waiting, (double)waiting);
    /* age-based flush, then send */
    for (size_t r = 0; r < f->nregions; r++) {
        struct fwd_region *reg = &f->regions[r];
        for (int i = 0; i < reg->n; i++) {
            struct fwd_member *m = reg->m[i];
            struct fwd_batch **fp = &m->forming;
            while (*fp) {
                struct fwd_batch *bt = *fp;
                if (now - bt->born >= f->cfg->batch_max_age) {
                    *fp = bt->next;
                    fwd_ready_push(m, bt);
                } else {
                    fp = &bt->next;
                }
            }
            fwd_dispatch(f, m, now);
        }
    }
    /* removed members are freed once idle */
    struct fwd_member **gp = &f->grave;
    while (*gp) {
        struct fwd_member *m = *gp;
        if (m->inflight == 0 && !m->health_busy) {
            *gp = m->grave_next;
            fwd_member_free(m);
        } else {
            gp = &m->grave_next;
        }
    }
    fwd_advance(f, now, 0);
    metric_set(f->m_inflight, (double)atomic_load(&f->st_inflight));
    fwd_collect(f);
}

static void *fwd_main(void *arg)
{
    fwd_t *f = arg;
    pthread_setname_np(pthread_self(), "forward");
    loop_timer_start(f->loop, &f->tick, 0, FWD_TICK_NS);
    loop_run(f->loop);
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

void fwd_stats(fwd_t *f, struct fwd_stats *o)
{
    memset(o, 0, sizeof(*o));
    o->records_queued = atomic_load(&f->st_queued);
    o->records_done = atomic_load(&f->st_done);
    o->items_sent = atomic_load(&f->st_items_sent);
    o->items_dead = atomic_load(&f->st_items_dead);
    o->batches_sent = atomic_load(&f->st_sent);
    o->batches_retried = atomic_load(&f->st_retried);
    o->batches_dead = atomic_load(&f->st_dead);
    o->batches_split = atomic_load(&f->st_split);
    o->replays_dropped = atomic_load(&f->st_replays);
    o->queue_bytes = wal_bytes(f->wal);
    uint64_t oldest = wal_oldest_ns(f->wal), wall = clock_wall_ns();
    o->oldest_age_ns = oldest && wall > oldest ? wall - oldest : 0;
    o->inflight = (size_t)atomic_load(&f->st_inflight);
}

static int fwd_flush(sink_t *base, uint64_t deadline_ns)
{
    /* The queue is durable: what is not delivered now is sent after the restart. Give the
     * sender until the deadline to empty it, but do not hold a shutdown while nothing
     * moves (upstreams away). */
    fwd_t *f = (fwd_t *)base;
    uint64_t last_done = 0, last_change = clock_mono_ns();
    while (clock_mono_ns() < deadline_ns && wal_bytes(f->wal) > 0) {
        struct fwd_stats s;
        fwd_stats(f, &s);
        if (s.records_done != last_done) {
            last_done = s.records_done;
            last_change = clock_mono_ns();
        } else if (s.inflight == 0 && clock_mono_ns() - last_change > 1000000000ull) {
            break;
        }
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void fwd_stop_cb(void *arg)
{
    fwd_t *f = arg;
    loop_stop(f->loop);
}

static void fwd_destroy(sink_t *base)
{
    fwd_t *f = (fwd_t *)base;
    if (!f)
        return;
    members_stop(f->watchers);
    f->watchers = NULL;
    atomic_store(&f->stopping, 1);
    if (f->thread_started) {
        loop_post(f->loop, fwd_stop_cb, f);
        pthread_join(f->thread, NULL);
    }
    /* close exporters (their done() frees batches), then the rest */
    for (size_t r = 0; r < f->nregions; r++) {
        struct fwd_region *reg = &f->regions[r];
        for (int i = 0; i < reg->n; i++) {
            struct fwd_member *m = reg->m[i];
            exp_client_destroy(m->cli);
            m->cli = NULL;
            exp_client_destroy(m->hc);
            m->hc = NULL;
            struct fwd_batch *lists[2] = {m->forming, m->ready};
            for (int k = 0; k < 2; k++)
                while (lists[k]) {
                    struct fwd_batch *bt = lists[k];
                    lists[k] = bt->next;
                    fwd_batch_free(bt);
                }
            orasi_free(m);
        }
        ring_free(&reg->ring);
    }
    while (f->grave) {
        struct fwd_member *m = f->grave;
        f->grave = m->grave_next;
        fwd_member_free(m);
    }
    while (f->retry) {
        struct fwd_batch *bt = f->retry;
        f->retry = bt->next;
        fwd_batch_free(bt);
    }
    /* a last checkpoint of what was delivered */
    if (f->wal && f->cur) {
        fwd_advance(f, clock_mono_ns(), 1);
    }
    while (f->rhead) {
        struct fwd_rec *r = f->rhead;
        f->rhead = r->next;
        fwd_rec_free(r);
    }
    if (f->cur)
        wal_cursor_close(f->cur);
    if (f->cur2)
        wal_cursor_close(f->cur2);
    orasi_free(f->parked);
    if (f->wal)
        wal_close(f->wal);
    dedupe_close(f->dedupe);
    while (f->pend) {
        struct fwd_pending_members *p = f->pend;
        f->pend = p->next;
        orasi_free(p);
    }
    if (f->loop) {
        /* posted wakeups may remain; run them out before freeing */
        loop_run_once(f->loop, 0);
        loop_destroy(f->loop);
    }
    for (size_t j = 0; f->view && j < f->nview; j++)
        ring_free(&f->view[j].ring);
    orasi_free(f->view);
    orasi_free(f->regions);
    orasi_free(f->order);
    orasi_free(f->aff);
    pthread_rwlock_destroy(&f->view_lock);
    pthread_mutex_destroy(&f->aff_mu);
    pthread_mutex_destroy(&f->pend_mu);
    orasi_free(f);
}

static int fwd_mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp))
        return ORASI_EINVAL;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return orasi_err_from_errno(errno);
            tmp[i] = c;
        }
    }
    return 0;
}

/* The origin id: configured, or generated once and kept next to the queue. */
static int fwd_load_origin(fwd_t *f, char *err, size_t errlen)
{
    char path[4200];
    if (f->cfg->origin) {
        snprintf(f->origin, sizeof(f->origin), "%s", f->cfg->origin);
        return 0;
    }
    snprintf(path, sizeof(path), "%s/origin", f->cfg->queue_dir);
    FILE *fp = fopen(path, "r");
    if (fp) {
        char buf[80] = {0};
        size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
        fclose(fp);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
            buf[--n] = '\0';
        if (dedupe_origin_valid(buf, n)) {
            snprintf(f->origin, sizeof(f->origin), "%.64s", buf);
            return 0;
        }
    }
    uint8_t rnd[8] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
        uint64_t x = clock_wall_ns() ^ (uint64_t)getpid() << 32;
        memcpy(rnd, &x, 8);
    }
    if (fd >= 0)
        close(fd);
    char host[64] = "orasi";
    gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    for (char *c = host; *c; c++)
        if (!dedupe_origin_valid(c, 1))
            *c = '-';
    host[40] = '\0';
    snprintf(f->origin, sizeof(f->origin), "%.8s-%.30s-%02x%02x%02x%02x%02x%02x%02x%02x", f->role,
             host, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    char tmp[4300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fp = fopen(tmp, "w");
    if (!fp || fprintf(fp, "%s\n", f->origin) < 0 || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        if (fp)
            fclose(fp);
        snprintf(err, errlen, "forward: cannot write %s: %s", tmp, strerror(errno));
        return ORASI_EIO;
    }
    fclose(fp);
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "forward: cannot rename %s: %s", tmp, strerror(errno));
        return ORASI_EIO;
    }
    return 0;
}

/* Rebuild the incoming-ids set from queue records after the snapshot. */
static int fwd_rebuild_dedupe(fwd_t *f)
{
    wal_cursor_t *c = NULL;
    int rc = wal_cursor_open(f->wal, &c);
    if (rc)
        return rc;
    uint64_t from = dedupe_covered(f->dedupe);
    rc = wal_cursor_seek(c, from + 1);
    dedupe_batch_t *ids = orasi_malloc(sizeof(*ids));
    if (!ids)
        rc = ORASI_ENOMEM;
    while (!rc) {
        uint64_t seq;
        uint8_t type;
        slice_t p;
        int r = wal_cursor_next(c, &seq, &type, &p);
        if (r <= 0) {
            rc = r;
            break;
        }
        struct fwd_rec_view v;
        if (seq <= from || fwd_rec_parse(p, &v) < 0 || !v.in_id.len)
            continue;
        if (dedupe_parse(v.in_id, ids) == 0)
            dedupe_note(f->dedupe, ids);
    }
    orasi_free(ids);
    wal_cursor_close(c);
    return rc;
}

static int fwd_order_cmp(const void *a, const void *b, void *ud)
{
    const fwd_t *f = ud;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int64_t px = f->regions[x].priority, py = f->regions[y].priority;
    return px < py ? -1 : px > py ? 1 : (x < y ? -1 : x > y);
}

sink_t *fwd_create(const fwd_config_t *cfg, const char *role, char *err, size_t errlen)
{
    fwd_t *f = orasi_calloc(1, sizeof(*f));
    if (!f) {
        snprintf(err, errlen, "forward: out of memory");
        return NULL;
    }
    f->base.name = "forward";
    f->base.submit = fwd_submit;
    f->base.flush = fwd_flush;
    f->base.destroy = fwd_destroy;
    f->base.ready = fwd_ready;
    f->base.raw_only = 1; /* forwarders never need the decoded model of protobuf requests */
    if (cfg->validate == 1)
        f->base.check_raw = fwd_check_raw;
    f->cfg = cfg;
    snprintf(f->role, sizeof(f->role), "%s", role ? role : "forward");
    pthread_rwlock_init(&f->view_lock, NULL);
    pthread_mutex_init(&f->aff_mu, NULL);
    pthread_mutex_init(&f->pend_mu, NULL);
    srandom((unsigned)(clock_mono_ns() ^ (uint64_t)getpid()));
    if (cfg->enrich_host || cfg->enrich_k8s)
        enrich_attrs_from_env(&f->enrich, cfg->enrich_host, cfg->enrich_k8s);
    int rc = fwd_mkdir_p(cfg->queue_dir);
    if (!rc)
        rc = fwd_mkdir_p(cfg->dead_letter_dir);
    if (rc) {
        snprintf(err, errlen, "forward: cannot create %s or %s: %s", cfg->queue_dir,
                 cfg->dead_letter_dir, orasi_strerror(rc));
        goto fail;
    }
    if (fwd_load_origin(f, err, errlen))
        goto fail;
    wal_options_t wo;
    wal_options_default(&wo);
    wo.sync = cfg->queue_sync == 1   ? WAL_SYNC_OS
              : cfg->queue_sync == 2 ? WAL_SYNC_NONE
                                     : WAL_SYNC_FSYNC;
    wo.max_bytes = cfg->queue_max_size;
    wo.segment_bytes = cfg->queue_segment_size;
    wo.metrics_name = "queue";
    if (wal_open(cfg->queue_dir, &wo, &f->wal, err, errlen))
        goto fail;
    char dpath[4200];
    snprintf(dpath, sizeof(dpath), "%s/dedupe.state", cfg->queue_dir);
    if (dedupe_open(dpath, (size_t)cfg->dedupe_window, "queue", &f->dedupe, err, errlen))
        goto fail;
    if ((rc = fwd_rebuild_dedupe(f))) {
        snprintf(err, errlen, "forward: reading the queue: %s", orasi_strerror(rc));
        goto fail;
    }
    if ((rc = wal_cursor_open(f->wal, &f->cur)) || (rc = wal_cursor_open(f->wal, &f->cur2))) {
        snprintf(err, errlen, "forward: queue cursor: %s", orasi_strerror(rc));
        goto fail;
    }
    f->aff = orasi_calloc(FWD_AFFINITY_SLOTS, sizeof(*f->aff));
    f->loop = loop_create();
    f->regions = orasi_calloc(cfg->n_regions, sizeof(*f->regions));
    f->order = orasi_calloc(cfg->n_regions, sizeof(*f->order));
    if (!f->aff || !f->loop || !f->regions || !f->order) {
        snprintf(err, errlen, "forward: out of memory");
        goto fail;
    }
    f->nregions = cfg->n_regions;
    loop_timer_init(&f->tick, fwd_tick, f);
    /* metrics */
    metric_family_t *g;
    g = metrics_gauge("orasi_forward_queue_bytes", "Bytes in the persistent sending queue", 1,
                      (const char *[]){"role"});
    f->m_queue_bytes = metric_series(g, (const char *[]){f->role});
    g = metrics_gauge("orasi_forward_queue_oldest_age_seconds",
                      "Age of the oldest item not yet delivered upstream", 1,
                      (const char *[]){"role"});
    f->m_oldest = metric_series(g, (const char *[]){f->role});
    g = metrics_counter("orasi_forward_dead_letter_items_total",
                        "Items rejected permanently upstream and written to the dead-letter "
                        "directory",
                        1, (const char *[]){"role"});
    f->m_dead_items = metric_series(g, (const char *[]){f->role});
    g = metrics_counter("orasi_forward_dead_letter_batches_total",
                        "Batches written to the dead-letter directory", 1,
                        (const char *[]){"role"});
    f->m_dead_batches = metric_series(g, (const char *[]){f->role});
    g = metrics_counter("orasi_forward_retries_total", "Batch send attempts that will be retried",
                        1, (const char *[]){"role"});
    f->m_retries = metric_series(g, (const char *[]){f->role});
    g = metrics_counter("orasi_forward_replays_dropped_total",
                        "Incoming batches dropped because their ids were already queued", 1,
                        (const char *[]){"role"});
    f->m_replays = metric_series(g, (const char *[]){f->role});
    g = metrics_gauge(
        "orasi_forward_parked_records",
        "Queue records pinned to a region that is down, left on disk until it is back", 1,
        (const char *[]){"role"});
    f->m_parked = metric_series(g, (const char *[]){f->role});
    g = metrics_gauge("orasi_forward_inflight_batches", "Batches sent and not yet answered", 1,
                      (const char *[]){"role"});
    f->m_inflight = metric_series(g, (const char *[]){f->role});
    g = metrics_gauge("orasi_forward_waiting_batches",
                      "Batches waiting for a retry or for a usable upstream", 1,
                      (const char *[]){"role"});
    f->m_waiting = metric_series(g, (const char *[]){f->role});
    f->f_items = metrics_counter("orasi_forward_items_total", "Items delivered upstream", 2,
                                 (const char *[]){"upstream", "result"});
    f->f_state = metrics_gauge("orasi_forward_upstream_state",
                               "Circuit breaker per upstream: 0 closed, 1 open, 2 half-open", 1,
                               (const char *[]){"upstream"});
    f->f_req =
        metrics_counter("orasi_forward_requests_total", "Export requests by upstream and outcome",
                        2, (const char *[]){"upstream", "outcome"});
    f->f_members = metrics_gauge("orasi_forward_upstreams",
                                 "Upstreams currently known per region (static, DNS or etcd)", 1,
                                 (const char *[]){"region"});
    f->f_region = metrics_gauge("orasi_forward_region_active",
                                "1 for the region new data is routed to (highest priority with a "
                                "usable upstream)",
                                1, (const char *[]){"region"});
    for (size_t r = 0; r < cfg->n_regions; r++) {
        const struct fwd_region_cfg *rc_ = &cfg->regions[r];
        struct fwd_region *reg = &f->regions[r];
        snprintf(reg->name, sizeof(reg->name), "%s", rc_->name);
        reg->priority = rc_->priority;
        f->order[r] = r;
        if (r < 16) {
            f->m_region_active[r] = metric_series(f->f_region, (const char *[]){reg->name});
            f->m_members[r] = metric_series(f->f_members, (const char *[]){reg->name});
        }
        fwd_member_spec_t specs[FWD_MAX_MEMBERS];
        size_t n = 0;
        for (size_t i = 0; i < rc_->n_upstreams && n < FWD_MAX_MEMBERS; i++) {
            const struct fwd_upstream_cfg *u = &rc_->upstreams[i];
            fwd_member_spec_t *s = &specs[n++];
            memset(s, 0, sizeof(*s));
            snprintf(s->name, sizeof(s->name), "%s", u->name ? u->name : u->endpoint);
            snprintf(s->endpoint, sizeof(s->endpoint), "%s", u->endpoint);
            snprintf(s->health, sizeof(s->health), "%s", u->health ? u->health : "");
        }
        struct fwd_pending_members *p = orasi_malloc(sizeof(*p) + n * sizeof(p->v[0]));
        if (!p) {
            snprintf(err, errlen, "forward: out of memory");
            goto fail;
        }
        p->region = r;
        p->n = n;
        memcpy(p->v, specs, n * sizeof(specs[0]));
        fwd_apply_members(f, p);
        orasi_free(p);
    }
    qsort_r(f->order, f->nregions, sizeof(f->order[0]), fwd_order_cmp, f);
    fwd_view_publish(f, 1);
    f->view_dirty = 0;
    f->epoch_at = clock_mono_ns();
    if (pthread_create(&f->thread, NULL, fwd_main, f) != 0) {
        snprintf(err, errlen, "forward: cannot start the sender thread");
        goto fail;
    }
    f->thread_started = 1;
    if (members_start(f, cfg, &f->watchers, err, errlen))
        goto fail;
    log_msg(LOG_INFO, "forward", NULL, "%s forwarding as origin %s: %zu regions, queue %s", f->role,
            f->origin, f->nregions, cfg->queue_dir);
    return &f->base;
fail:
    fwd_destroy(&f->base);
    return NULL;
}
