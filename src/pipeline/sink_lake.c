/*
 * sink_lake.c — the lake sink: write-ahead log, then Parquet lake (see sink.h, lake.h).
 *
 * WAL RECORD (type SINK_LAKE_WAL_TYPE + signal), payload:
 *   0    u8      version (1)
 *   1    u8      signal (enum otlp_signal: 0 traces, 1 metrics, 2 logs)
 *   2    u8      tenant length n (1..64)
 *   3    u8[n]   tenant ([A-Za-z0-9_.-], validated by the receiver)
 *   3+n  ...     Export{Trace,Metrics,Logs}ServiceRequest protobuf: the request's own
 *                bytes, or the model re-encoded (otlp_pb_encode_*) for JSON and remote
 *                write requests
 * Version 2 (a request with an X-Orasi-Batch id, written when hooks are set) inserts
 *   3+n  u16     batch id length k (little-endian), then k bytes of the id
 * before the protobuf, so the id is durable with the data it names and the dedupe set
 * of the hooks (forward/dedupe.h) can be rebuilt from the WAL after a crash.
 *
 * Flow of one request: submit() (receiver's loop) -> wal_append -> group commit ->
 * callback on the WAL writer thread, which gathers the group's durable records. At the
 * group's end (WAL group_end), on the same thread:
 *   1. the acknowledgements go out: one item per receiver loop (batch->loop) runs
 *      hold() then done(0) for each of its records (sink.h), so the clients learn the
 *      outcome as soon as it is durable and can send again while the group is appended;
 *   2. the models (kept valid by the hold) are appended to the lake buffers in seq order;
 *   3. one more item per loop runs release() for each.
 * A request offered without hold/release (or without a loop) is answered after step 2
 * instead. Failed records are answered with the error in step 1. lake_acked before
 * step 1 keeps SQL read-your-writes: a query waits until every acknowledged record is in
 * the buffers. The flusher publishes Parquet files and the seq
 * they cover in one catalog transaction, then checkpoints the WAL (lake.h).
 *
 * Recovery: at create, a thread replays the WAL from max(catalog seq, WAL checkpoint)+1
 * into the buffers (decoding each record with otlp_pb_decode_*), in order; until it is
 * done ready() is 0 and submit answers ORASI_EBUSY (503), so no new record can be
 * appended to the buffers out of order.
 */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "lake/lake.h"
#include "net/loop.h"
#include "otlp/otlp_pb.h"
#include "pipeline/sink.h"
#include "wal/wal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SINK_LAKE_WAL_TYPE 0x10
#define SINK_LAKE_VERSION 1
#define SINK_LAKE_VERSION_ID 2
#define APPEND_RETRY_NS (100 * 1000000ull)
#define APPEND_RETRY_MAX 600   /* ~60 s of waiting for the flusher to free memory */
#define SINK_LAKE_PEND_LOOPS 8 /* receiver loops batched per group; more are posted one by one */

struct sink_lake {
    sink_t base; /* first */
    lake_t *lake;
    wal_t *wal;
    _Atomic int ready;
    _Atomic int closing;
    _Atomic int wal_open;
    pthread_t recovery;
    int recovery_started;
    uint64_t max_record;
    metric_t *items[3];
    struct sink_lake_hooks hooks; /* all NULL when not hooked */
    /* WAL writer thread only: the current group's durable records in seq order, and its
     * items per loop (answers/acknowledgements linked by `next`, the later releases and
     * answers by `rnext`), each list posted as one item so a loop wakes once per list. */
    struct sink_lake_call *grp_head, *grp_tail;
    struct sink_lake_pend {
        loop_t *loop;
        struct sink_lake_call *head, *tail;
    } pend[SINK_LAKE_PEND_LOOPS], rel[SINK_LAKE_PEND_LOOPS];
};

/* One submitted request between wal_append and its callback. */
struct sink_lake_call {
    struct sink_lake *s;
    struct sink_lake_call *next;  /* in a sink_lake.pend list */
    struct sink_lake_call *rnext; /* in a sink_lake.rel list */
    struct sink_lake_call *gnext; /* in the group (grp_head) */
    uint64_t seq;
    void (*hold)(void *ud);      /* ingest_batch_t's; NULL: answered after the append */
    void (*release)(void *ud);
    int early;                   /* acknowledged before the append (held) */
    enum otlp_signal signal;
    const void *model;
    slice_t tenant;
    uint64_t items;
    sink_done_fn done;
    void *ud;
    loop_t *loop;
    int result;
    slice_t batch_id;        /* admitted by hooks.admit: report to hooks.logged */
    uint8_t hdr[3 + 64 + 2]; /* the record's header, borrowed by the WAL until on_durable */
};

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    nanosleep(&ts, NULL);
}

/* Append a model to the lake under `seq`, waiting out transient failures (buffers at
 * their cap while the flusher writes). A record that still fails freezes the lake:
 * it is durable in the WAL and a restart replays it. */
static void append_model(struct sink_lake *s, enum otlp_signal sig, slice_t tenant,
                         const void *model, uint64_t seq)
{
    int rc = ORASI_EINTERNAL;
    for (int attempt = 0; attempt < APPEND_RETRY_MAX; attempt++) {
        if (sig == OTLP_TRACES)
            rc = lake_append_traces(s->lake, tenant, model, seq);
        else if (sig == OTLP_METRICS)
            rc = lake_append_metrics(s->lake, tenant, model, seq);
        else
            rc = lake_append_logs(s->lake, tenant, model, seq);
        if (rc != ORASI_ENOMEM && rc != ORASI_ETOOBIG && rc != ORASI_EFULL)
            break;
        if (attempt == 0)
            LOG_W("lake-sink", "lake buffers full (%s), waiting for the flusher",
                  orasi_strerror(rc));
        lake_flush(s->lake, clock_mono_ns() + APPEND_RETRY_NS);
        sleep_ns(APPEND_RETRY_NS / 10);
    }
    if (rc && rc != ORASI_EUNAVAILABLE)
        LOG_E("lake-sink", "record %llu not added to the lake: %s", (unsigned long long)seq,
              orasi_strerror(rc));
    if (rc)
        lake_hold(s->lake, seq);
}

/* On the receiver's loop: an answer, or an early acknowledgement (c stays: its release
 * follows in a later item). */
static void call_done(void *arg)
{
    struct sink_lake_call *c = arg;
    if (c->early) {
        c->hold(c->ud);
        c->done(c->ud, 0, 0);
        return;
    }
    c->done(c->ud, c->result, c->result ? 1 : 0);
    orasi_free(c);
}

/* On the receiver's loop: the answers of one group, in order. */
static void call_done_list(void *arg)
{
    for (struct sink_lake_call *c = arg, *next; c; c = next) {
        next = c->next;
        call_done(c);
    }
}

/* On the receiver's loop, after the group was appended: releases, and the answers of
 * requests that could not be held. */
static void call_release_list(void *arg)
{
    for (struct sink_lake_call *c = arg, *next; c; c = next) {
        next = c->rnext;
        if (c->early) {
            c->release(c->ud);
            orasi_free(c);
        } else {
            call_done(c);
        }
    }
}

/* Run fn(arg) on loop; a failed post (out of memory) is retried: dropping it would leave
 * a client waiting forever. */
static void post_retrying(loop_t *loop, void (*fn)(void *), void *arg)
{
    while (loop_post(loop, fn, arg) != 0)
        sleep_ns(1000000);
}

/* Queue c on its loop's list in `arr` (linked by next, or rnext when rel); 0, or -1 when
 * more loops than SINK_LAKE_PEND_LOOPS take part (the caller posts c alone). */
static int pend_add(struct sink_lake_pend *arr, struct sink_lake_call *c, int rel)
{
    if (rel)
        c->rnext = NULL;
    else
        c->next = NULL;
    for (int i = 0; i < SINK_LAKE_PEND_LOOPS; i++) {
        struct sink_lake_pend *p = &arr[i];
        if (p->loop && p->loop != c->loop)
            continue;
        if (!p->loop)
            *p = (struct sink_lake_pend){c->loop, c, NULL};
        else if (rel)
            p->tail->rnext = c;
        else
            p->tail->next = c;
        p->tail = c;
        return 0;
    }
    return -1;
}

static void pend_post(struct sink_lake_pend *arr, void (*fn)(void *))
{
    for (int i = 0; i < SINK_LAKE_PEND_LOOPS && arr[i].loop; i++) {
        post_retrying(arr[i].loop, fn, arr[i].head);
        arr[i] = (struct sink_lake_pend){0};
    }
}

/* WAL writer thread, after each group's callbacks (see the top of the file). */
static void on_group_end(void *ud)
{
    struct sink_lake *s = ud;
    struct sink_lake_call *g = s->grp_head;
    s->grp_head = s->grp_tail = NULL;
    uint64_t acked = 0;
    /* 1. acknowledgements (and this group's failures, queued by on_durable) */
    for (struct sink_lake_call *c = g; c; c = c->gnext) {
        if (!c->hold || !c->loop)
            continue;
        c->early = 1;
        acked = c->seq;
        if (pend_add(s->pend, c, 0))
            post_retrying(c->loop, call_done, c);
    }
    if (acked)
        lake_acked(s->lake, acked);
    pend_post(s->pend, call_done_list);
    /* 2. the appends, in seq order */
    for (struct sink_lake_call *c = g; c; c = c->gnext) {
        append_model(s, c->signal, c->tenant, c->model, c->seq);
        metric_add(s->items[c->signal], (double)c->items);
    }
    /* 3. releases, and the answers of the others */
    for (struct sink_lake_call *c = g, *next; c; c = next) {
        next = c->gnext;
        if (!c->loop)
            call_done(c);
        else if (pend_add(s->rel, c, 1))
            post_retrying(c->loop, c->early ? call_release_list : call_done, c);
    }
    pend_post(s->rel, call_release_list);
}

/* WAL writer thread: the record is durable (or failed). */
static void on_durable(void *ud, int result, uint64_t seq)
{
    struct sink_lake_call *c = ud;
    struct sink_lake *s = c->s;
    if (c->batch_id.len && s->hooks.logged)
        s->hooks.logged(s->hooks.ud, c->batch_id, result);
    c->result = result;
    if (result == 0) {
        /* acknowledged, appended and answered or released at the group's end */
        c->seq = seq;
        c->gnext = NULL;
        if (s->grp_tail)
            s->grp_tail->gnext = c;
        else
            s->grp_head = c;
        s->grp_tail = c;
        return;
    }
    LOG_W("lake-sink", "WAL append failed: %s", orasi_strerror(result));
    /* disk full is a condition of this node: 503, the client may go elsewhere */
    if (result == ORASI_ENOSPC || result == ORASI_EIO)
        c->result = ORASI_EUNAVAILABLE;
    if (!c->loop) {
        call_done(c);
        return;
    }
    /* The answer runs on the receiver's loop, posted with the rest of its group. */
    if (pend_add(s->pend, c, 0))
        post_retrying(c->loop, call_done, c);
}

/* The record's header (version, signal, tenant, batch id length) into hdr; its length. */
static size_t encode_header(const ingest_batch_t *b, slice_t id, uint8_t *hdr)
{
    hdr[0] = id.len ? SINK_LAKE_VERSION_ID : SINK_LAKE_VERSION;
    hdr[1] = (uint8_t)b->signal;
    hdr[2] = (uint8_t)b->tenant.len;
    memcpy(hdr + 3, b->tenant.p, b->tenant.len);
    hdr[3 + b->tenant.len] = (uint8_t)id.len;
    hdr[4 + b->tenant.len] = (uint8_t)(id.len >> 8);
    return 3 + b->tenant.len + (id.len ? 2 : 0);
}

/* The whole record of a request without protobuf bytes of its own (JSON, remote write):
 * header, id, the model re-encoded. */
static int encode(const ingest_batch_t *b, slice_t id, buf_t *out)
{
    uint8_t hdr[3 + 64 + 2];
    int rc = buf_append(out, hdr, encode_header(b, id, hdr));
    if (!rc && id.len)
        rc = buf_append_slice(out, id);
    if (rc)
        return rc;
    switch (b->signal) {
    case OTLP_TRACES:
        return otlp_pb_encode_traces(b->model, out);
    case OTLP_METRICS:
        return otlp_pb_encode_metrics(b->model, out);
    case OTLP_LOGS:
        return otlp_pb_encode_logs(b->model, out);
    }
    return ORASI_EINVAL;
}

static void sink_lake_submit(sink_t *base, const ingest_batch_t *b, sink_done_fn done, void *ud)
{
    struct sink_lake *s = (struct sink_lake *)base;
    buf_t payload;
    if (!atomic_load(&s->ready)) {
        done(ud, ORASI_EBUSY, 1);
        return;
    }
    if (!lake_healthy(s->lake)) {
        done(ud, ORASI_EUNAVAILABLE, 5);
        return;
    }
    if (lake_full(s->lake)) {
        done(ud, ORASI_EFULL, 1);
        return;
    }
    slice_t id = {0};
    if (b->batch_id.len && s->hooks.admit) {
        int a = s->hooks.admit(s->hooks.ud, b->batch_id);
        if (a == 1) {
            done(ud, 0, 0); /* a replay: already logged */
            return;
        }
        if (a < 0) {
            done(ud, a, 1);
            return;
        }
        id = b->batch_id;
    }
    struct sink_lake_call *c = orasi_calloc(1, sizeof(*c));
    if (!c) {
        if (id.len && s->hooks.logged)
            s->hooks.logged(s->hooks.ud, id, ORASI_ENOMEM);
        done(ud, ORASI_ENOMEM, 1);
        return;
    }
    *c = (struct sink_lake_call){.s = s,
                                 .signal = b->signal,
                                 .model = b->model,
                                 .tenant = b->tenant,
                                 .items = b->items,
                                 .done = done,
                                 .ud = ud,
                                 .loop = (loop_t *)b->loop,
                                 .hold = b->hold && b->release ? b->hold : NULL,
                                 .release = b->release,
                                 .batch_id = id};
    int rc = 0;
    uint8_t type = (uint8_t)(SINK_LAKE_WAL_TYPE + b->signal);
    if (b->tenant.len == 0 || b->tenant.len > 64 || id.len > 65535) {
        rc = ORASI_EINVAL;
    } else if (b->raw_pb.len) {
        /* the request's own bytes: borrowed until on_durable (done() has not run, so the
         * request, its body and its batch id are still there), not copied */
        struct iovec v[3] = {{c->hdr, encode_header(b, id, c->hdr)},
                             {(void *)id.p, id.len},
                             {(void *)b->raw_pb.p, b->raw_pb.len}};
        rc = wal_append_borrowed(s->wal, type, v, 3, on_durable, c);
    } else {
        buf_init(&payload, s->max_record);
        rc = encode(b, id, &payload);
        if (!rc)
            rc = wal_append(s->wal, type, payload.data, payload.len, on_durable, c);
        buf_free(&payload);
    }
    if (rc) {
        if (id.len && s->hooks.logged)
            s->hooks.logged(s->hooks.ud, id, rc);
        orasi_free(c);
        if (rc != ORASI_EFULL)
            LOG_W("lake-sink", "cannot log the request: %s", orasi_strerror(rc));
        done(ud, rc == ORASI_EFULL ? ORASI_EFULL : rc == ORASI_ECLOSED ? ORASI_EUNAVAILABLE : rc,
             1);
    }
}

/* ---- recovery ----------------------------------------------------------------------------- */

/* Decode one WAL record and append it. Undecodable records (never written by this
 * sink) are skipped with an error log, and their seq is noted so it can be published. */
static int replay_record(struct sink_lake *s, arena_t *a, uint64_t seq, uint8_t type,
                         slice_t p, int ids_only)
{
    size_t idlen = 0;
    if (p.len >= 3 && p.p[0] == SINK_LAKE_VERSION_ID && p.p[2] <= 64 && p.len >= 5u + p.p[2])
        idlen = 2u + ((size_t)p.p[3 + p.p[2]] | (size_t)p.p[4 + p.p[2]] << 8);
    if (type < SINK_LAKE_WAL_TYPE || type > SINK_LAKE_WAL_TYPE + 2 || p.len < 3 ||
        (p.p[0] != SINK_LAKE_VERSION && p.p[0] != SINK_LAKE_VERSION_ID) || p.p[1] > 2 ||
        p.p[2] == 0 || p.p[2] > 64 || p.len < 3u + p.p[2] + idlen) {
        if (ids_only)
            return 0;
        LOG_E("lake-sink", "WAL record %llu is not a lake record, skipped",
              (unsigned long long)seq);
        lake_note_seq(s->lake, seq);
        return 0;
    }
    enum otlp_signal sig = (enum otlp_signal)p.p[1];
    slice_t tenant = slice_make(p.p + 3, p.p[2]);
    if (idlen > 2 && s->hooks.replayed)
        s->hooks.replayed(s->hooks.ud, slice_make(p.p + 5 + p.p[2], idlen - 2));
    if (ids_only)
        return 0;
    slice_t body = slice_make(p.p + 3 + p.p[2] + idlen, p.len - 3 - p.p[2] - idlen);
    union {
        otlp_traces_t t;
        otlp_metrics_t m;
        otlp_logs_t l;
    } u;
    int rc;
    arena_reset(a);
    if (sig == OTLP_TRACES)
        rc = otlp_pb_decode_traces(body, a, &u.t);
    else if (sig == OTLP_METRICS)
        rc = otlp_pb_decode_metrics(body, a, &u.m);
    else
        rc = otlp_pb_decode_logs(body, a, &u.l);
    if (rc == ORASI_ENOMEM)
        return rc;
    if (rc) {
        LOG_E("lake-sink", "WAL record %llu does not decode (%s), skipped",
              (unsigned long long)seq, orasi_strerror(rc));
        lake_note_seq(s->lake, seq);
        return 0;
    }
    append_model(s, sig, tenant, &u, seq);
    return 0;
}

static void *recovery_main(void *arg)
{
    struct sink_lake *s = arg;
    pthread_setname_np(pthread_self(), "lake-replay");
    wal_cursor_t *cur = NULL;
    arena_t *a = arena_create(1 << 20, 0);
    uint64_t from = lake_published_seq(s->lake);
    if (wal_checkpoint_seq(s->wal) > from)
        from = wal_checkpoint_seq(s->wal);
    /* the hooks' ids may need records the lake already has (from their snapshot on) */
    uint64_t ids_from = s->hooks.replay_from ? s->hooks.replay_from(s->hooks.ud) : from;
    uint64_t n = 0, t0 = clock_mono_ns();
    int rc = a ? wal_cursor_open(s->wal, &cur) : ORASI_ENOMEM;
    if (!rc)
        rc = wal_cursor_seek(cur, (ids_from < from ? ids_from : from) + 1);
    while (!rc && !atomic_load(&s->closing)) {
        uint64_t seq;
        uint8_t type;
        slice_t p;
        int r = wal_cursor_next(cur, &seq, &type, &p);
        if (r == 0)
            break;
        if (r < 0) {
            rc = r;
            break;
        }
        if (seq <= from) {
            if (s->hooks.replayed && seq > ids_from)
                replay_record(s, a, seq, type, p, 1);
            continue;
        }
        rc = replay_record(s, a, seq, type, p, 0);
        n++;
    }
    if (cur)
        wal_cursor_close(cur);
    arena_destroy(a);
    if (rc) {
        /* Without the replay the buffers would miss records: stay not ready. */
        LOG_E("lake-sink", "WAL replay failed after %llu records: %s", (unsigned long long)n,
              orasi_strerror(rc));
        return NULL;
    }
    LOG_I("lake-sink", "replayed %llu WAL records after seq %llu in %.3f s",
          (unsigned long long)n, (unsigned long long)from,
          (double)(clock_mono_ns() - t0) / 1e9);
    atomic_store(&s->ready, 1);
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int checkpoint_cb(void *ud, uint64_t seq)
{
    struct sink_lake *s = ud;
    if (!atomic_load(&s->wal_open))
        return 0; /* closing: the catalog's seq covers it at the next start */
    if (s->hooks.before_checkpoint) {
        int rc = s->hooks.before_checkpoint(s->hooks.ud, seq);
        if (rc)
            return rc; /* keep the records: the hooks could not persist their state */
    }
    return wal_checkpoint(s->wal, seq);
}

static int sink_lake_flush(sink_t *base, uint64_t deadline_ns)
{
    struct sink_lake *s = (struct sink_lake *)base;
    /* what was acknowledged before the call is published by it */
    int rc = lake_wait_acked(s->lake, deadline_ns);
    return rc ? rc : lake_flush(s->lake, deadline_ns);
}

static int sink_lake_ready(sink_t *base)
{
    struct sink_lake *s = (struct sink_lake *)base;
    return atomic_load(&s->ready) && lake_healthy(s->lake);
}

static void sink_lake_destroy(sink_t *base)
{
    struct sink_lake *s = (struct sink_lake *)base;
    if (!s)
        return;
    atomic_store(&s->closing, 1);
    if (s->recovery_started)
        pthread_join(s->recovery, NULL);
    /* Publish while the WAL can still be checkpointed, then let the WAL finish its
     * queue (callbacks append to the lake), then the lake's final flush. */
    if (s->lake && atomic_load(&s->ready))
        lake_flush(s->lake, clock_mono_ns() + 60 * 1000000000ull);
    if (s->wal) {
        wal_close(s->wal);
        atomic_store(&s->wal_open, 0);
    }
    lake_close(s->lake);
    orasi_free(s);
}

sink_t *sink_lake_create(const struct lake_options *o, char *err, size_t errlen)
{
    return sink_lake_create_hooked(o, NULL, err, errlen);
}

sink_t *sink_lake_create_hooked(const struct lake_options *o, const struct sink_lake_hooks *h,
                                char *err, size_t errlen)
{
    char wal_dir[4096];
    struct lake_options lo;
    struct sink_lake *s = orasi_calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "lake sink: out of memory");
        return NULL;
    }
    s->base.name = "lake";
    s->base.submit = sink_lake_submit;
    s->base.flush = sink_lake_flush;
    s->base.destroy = sink_lake_destroy;
    s->base.ready = sink_lake_ready;
    if (h)
        s->hooks = *h;
    if (!o || !o->data_dir) {
        snprintf(err, errlen, "lake sink: data_dir is required");
        goto fail;
    }
    lo = *o;
    lo.checkpoint = checkpoint_cb;
    lo.checkpoint_ud = s;
    if (lake_open(&lo, &s->lake, err, errlen))
        goto fail;
    wal_options_t wo;
    wal_options_default(&wo);
    wo.sync = o->wal_sync == 1 ? WAL_SYNC_OS : o->wal_sync == 2 ? WAL_SYNC_NONE : WAL_SYNC_FSYNC;
    if (o->wal_max_bytes)
        wo.max_bytes = o->wal_max_bytes;
    if (o->wal_segment_bytes)
        wo.segment_bytes = o->wal_segment_bytes;
    wo.metrics_name = "lake";
    wo.group_end = on_group_end;
    wo.group_ud = s;
    s->max_record = wo.max_record_bytes;
    int n = snprintf(wal_dir, sizeof(wal_dir), "%s/wal", o->data_dir);
    if (n < 0 || (size_t)n >= sizeof(wal_dir)) {
        snprintf(err, errlen, "lake sink: data_dir too long");
        goto fail;
    }
    if (wal_open(wal_dir, &wo, &s->wal, err, errlen))
        goto fail;
    atomic_store(&s->wal_open, 1);
    if (wal_last_seq(s->wal) < lake_published_seq(s->lake))
        LOG_W("lake-sink",
              "the WAL (last seq %llu) is behind the catalog (seq %llu): was %s replaced?",
              (unsigned long long)wal_last_seq(s->wal),
              (unsigned long long)lake_published_seq(s->lake), wal_dir);
    metric_family_t *f = metrics_counter("orasi_sink_items_total",
                                         "Items delivered to a sink, by sink and signal", 2,
                                         (const char *[]){"sink", "signal"});
    static const char *const sig[] = {"traces", "metrics", "logs"};
    for (int i = 0; i < 3 && f; i++)
        s->items[i] = metric_series(f, (const char *[]){"lake", sig[i]});
    if (pthread_create(&s->recovery, NULL, recovery_main, s) != 0) {
        snprintf(err, errlen, "lake sink: cannot start the recovery thread");
        goto fail;
    }
    s->recovery_started = 1;
    return &s->base;
fail:
    sink_lake_destroy(&s->base);
    return NULL;
}

/* The SQL engine reads the lake this sink writes (src/sql). */
lake_t *sink_lake_lake(sink_t *base)
{
    if (!base || base->submit != sink_lake_submit)
        return NULL;
    return ((struct sink_lake *)base)->lake;
}
