/*
 * sink.h — where receivers hand what they accepted.
 *
 * A receiver decodes and validates a request, then submits one ingest batch to the
 * pipeline's sink. The sink answers through `done`, either before submit returns (the
 * counting sink) or later, on the loop that submitted it (a WAL that acknowledges only
 * after group commit). The receiver answers its client only from `done`, so nothing is
 * acknowledged before the sink has it.
 *
 * Results passed to done:
 *   0                  accepted (and durable, if the sink promises durability)
 *   ORASI_EFULL/EBUSY  cannot take more right now: the receiver answers 429 / 503 with
 *                      Retry-After (gRPC RESOURCE_EXHAUSTED / UNAVAILABLE with RetryInfo)
 *   other negative     failed: 500 / gRPC INTERNAL; the client retries
 */
#ifndef ORASI_PIPELINE_SINK_H
#define ORASI_PIPELINE_SINK_H

#include "core/buf.h"
#include "otlp/otlp_model.h"

#include <stdint.h>

enum ingest_protocol { PROTO_GRPC = 0, PROTO_HTTP_PROTOBUF, PROTO_HTTP_JSON, PROTO_PROM_RW, PROTO__COUNT };

const char *ingest_protocol_name(enum ingest_protocol p);

/* One accepted request. Everything it points to is borrowed: valid until done() runs. */
typedef struct ingest_batch {
    enum otlp_signal signal;
    enum ingest_protocol protocol;
    slice_t tenant;    /* never empty ("default" when the client named none) */
    slice_t raw_pb;    /* the original protobuf bytes when the request was protobuf, else empty */
    const void *model; /* otlp_traces_t / otlp_metrics_t / otlp_logs_t, by signal */
    uint64_t items;    /* accepted items (spans, data points, log records) */
    /* X-Orasi-Batch of the request (forward/dedupe.h): "<origin>:<id>,..." set by an
     * Orasi forwarder, empty otherwise. A sink that logs what it accepts keeps it with the
     * record so that replays of the batch are dropped (idempotent batches). */
    slice_t batch_id;
    /* The event loop of the submitting thread (http_req_loop(req)). A sink that answers
     * later from another thread (the lake sink answers from the WAL's writer thread)
     * posts done() to this loop with loop_post, so done always runs on the receiver's
     * loop. NULL: such a sink calls done() directly from its own thread; only callers
     * whose done is thread-safe (tests) may leave it NULL. */
    struct loop *loop;
    /* Optional (both NULL: not offered). On `loop`, a sink may call hold(ud) just before
     * done(ud, 0, ...) to keep everything the batch borrows (model, raw_pb, tenant,
     * batch_id) valid after done, then must call release(ud), also on `loop`, once it
     * no longer reads them. The lake sink acknowledges as soon as the WAL is durable and
     * appends the model to its buffers after that. `ud` is done's. */
    void (*hold)(void *ud);
    void (*release)(void *ud);
} ingest_batch_t;

typedef void (*sink_done_fn)(void *ud, int result, uint32_t retry_after_s);

typedef struct sink sink_t;
struct sink {
    const char *name;
    /* Take the batch; call done(ud, result, retry_after) exactly once. */
    void (*submit)(sink_t *s, const ingest_batch_t *b, sink_done_fn done, void *ud);
    /* Flush buffered data (drain on shutdown). May be NULL. */
    int (*flush)(sink_t *s, uint64_t deadline_ns);
    void (*destroy)(sink_t *s);
    /* Whether the sink is able to accept work right now (for /ready). May be NULL. */
    int (*ready)(sink_t *s);
    /* 1: the sink only uses raw_pb (a forwarder), so for protobuf requests the receiver
     * validates with otlp_pb_scan (same verdicts and counts, no model: batch.model is
     * NULL) instead of decoding. JSON and remote write are still decoded. */
    int raw_only;
    /* raw_only sinks may also take over validation of protobuf requests: when set, the
     * receiver calls it instead of otlp_pb_scan; it checks what the sink needs (e.g. the
     * framing only) and counts the items. 0 or ORASI_EPARSE (400). May be NULL. */
    int (*check_raw)(sink_t *s, enum otlp_signal sig, slice_t body, uint64_t *items);
};

/* A sink that counts what it is given and discards it (until the lake lands in `orasi run`,
 * and as the benchmark's counting sink). Counts are exposed as metrics
 * orasi_sink_items_total{sink="count",signal}. Caller owns the result. */
sink_t *sink_count_create(void);
uint64_t sink_count_items(sink_t *s, enum otlp_signal sig);

/* The lake sink (sink_lake.c): write-ahead log in <data_dir>/wal, then the Parquet lake
 * (lake.h) in <data_dir>/lake with its catalog. submit() appends the request's protobuf
 * (re-encoded from the model for JSON / remote write) to the WAL; once it is durable the
 * model is appended to the lake buffers and done(0) is posted to batch->loop. Results:
 * ORASI_EBUSY while recovering (WAL replay at start; ready() is 0), ORASI_EFULL when the
 * WAL or the lake buffers are at their cap (429), ORASI_EUNAVAILABLE when the disk is
 * full or the lake is frozen (503). flush() publishes everything buffered. `o` is
 * copied (o->data_dir must be set). NULL with a message in err on failure. */
struct lake_options;
sink_t *sink_lake_create(const struct lake_options *o, char *err, size_t errlen);

/* Idempotent batches on the lake sink (the bridge; forward/dedupe.h). Every hook may be
 * NULL; they are called from the receivers' loops (admit), the WAL writer (logged), the
 * recovery thread (replay_from, replayed) and the flusher (before_checkpoint). */
struct sink_lake_hooks {
    void *ud;
    /* A request with a batch id: 0 = log it (with the id), 1 = a replay (answered success,
     * nothing logged), negative = refuse with that code (ORASI_EEXISTS -> 409). */
    int (*admit)(void *ud, slice_t batch_id);
    /* The log's answer for an admitted request (0 = durable). */
    void (*logged)(void *ud, slice_t batch_id, int result);
    /* Recovery: ids are replayed from the record after this sequence number. */
    uint64_t (*replay_from)(void *ud);
    void (*replayed)(void *ud, slice_t batch_id);
    /* Called before WAL records <= seq are checkpointed away; non-zero keeps them. */
    int (*before_checkpoint)(void *ud, uint64_t seq);
};
/* sink_lake_create with hooks (copied). */
sink_t *sink_lake_create_hooked(const struct lake_options *o, const struct sink_lake_hooks *h,
                                char *err, size_t errlen);
/* The lake a lake sink writes (borrowed: valid until the sink is destroyed), for the SQL
 * engine; NULL when `s` is not a lake sink. */
struct lake;
struct lake *sink_lake_lake(sink_t *s);

#endif
