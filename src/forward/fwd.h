/*
 * fwd.h — the forwarder of agents and gateways: a sink (pipeline/sink.h) backed by a
 * persistent sending queue (wal/wal.h), and a sender thread that batches what is queued
 * and delivers it upstream through the exporter (exporter/exporter.h).
 *
 *   receiver -> submit: [dedupe incoming ids] [enrich] [residency pin] [split by
 *               destination] -> one queue record -> group commit -> client answered
 *   sender   -> read records -> route each part (region by priority and residency,
 *               upstream by circuit breaker, consistent hash or round robin) -> batch per
 *               (upstream, signal, tenant) by count/bytes/age, bodies concatenated ->
 *               export with X-Orasi-Batch ids -> ok: checkpoint the queue; retryable:
 *               exponential backoff with jitter (Retry-After / RetryInfo honoured), on
 *               another upstream if this one's circuit opened; permanent: dead-letter
 *               directory with the reason, counted.
 *
 * Nothing acknowledged is dropped: a record leaves the queue (checkpoint) only when every
 * part of it was acknowledged upstream or dead-lettered. Pinned data (residency) waits in
 * the queue while its region is down. The queue's byte cap turns into 429 at the
 * receiver (backpressure) while upstreams are away. Internals: docs/internals/forward.md.
 */
#ifndef ORASI_FORWARD_FWD_H
#define ORASI_FORWARD_FWD_H

#include "forward/fwd_config.h"
#include "pipeline/sink.h"

#include <stddef.h>
#include <stdint.h>

#define FWD_NAME_MAX 160
#define FWD_URL_MAX 256

/* One upstream as membership sees it. */
typedef struct fwd_member_spec {
    char name[FWD_NAME_MAX];
    char endpoint[FWD_URL_MAX];
    char health[FWD_URL_MAX]; /* "" = passive checks only */
} fwd_member_spec_t;

typedef struct fwd fwd_t;

/* Open the queue (cfg->queue_dir), start the sender thread and the membership watchers
 * (DNS, etcd). `role` names the metrics ("agent", "gateway"). `cfg` is borrowed and must
 * outlive the forwarder. Returns the sink (destroy() stops and frees everything) or NULL
 * with a message in err. */
sink_t *fwd_create(const fwd_config_t *cfg, const char *role, char *err, size_t errlen);
/* The forwarder behind a sink made by fwd_create. */
fwd_t *fwd_of(sink_t *s);

/* Replace the members of region `region` (index in cfg->regions). Thread-safe: copies and
 * hands the list to the sender thread. 0, ORASI_ENOMEM, ORASI_EINVAL. */
int fwd_set_members(fwd_t *f, size_t region, const fwd_member_spec_t *v, size_t n);

/* Introspection for tests and /metrics. */
struct fwd_stats {
    uint64_t records_queued; /* records appended to the queue */
    uint64_t records_done;   /* records fully delivered or dead-lettered */
    uint64_t items_sent;     /* items acknowledged upstream */
    uint64_t items_dead;     /* items dead-lettered */
    uint64_t batches_sent, batches_retried, batches_dead, batches_split;
    uint64_t replays_dropped; /* incoming batches dropped as replays */
    uint64_t queue_bytes;
    uint64_t oldest_age_ns;
    size_t inflight; /* batches in flight */
};
void fwd_stats(fwd_t *f, struct fwd_stats *out);
/* The origin id this forwarder stamps on its batches. */
const char *fwd_origin(const fwd_t *f);

#endif
