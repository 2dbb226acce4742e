/*
 * lggen.h — realistic OTLP telemetry of a simulated microservice shop, for `orasi loadgen`.
 *
 * The simulated application is nine services (frontend, cart, checkout, payment,
 * shipping, currency, ad, recommendation, product-catalog), each with a few instances
 * (pods) whose resource attributes look like what real SDKs emit. A trace starts with a
 * SERVER span at the frontend and fans out through CLIENT -> SERVER span pairs, database
 * CLIENT spans and INTERNAL spans, with HTTP/DB semantic-convention attributes, heavy-
 * tailed (lognormal, occasionally Pareto) durations and ~5 % errors (status ERROR plus an
 * "exception" event). Metrics are the SDKs' usual instruments (request-duration
 * histograms, counters, up-down counters, gauges); logs mix severities, carry trace
 * context and templated bodies.
 *
 * Two levels:
 *  1. lggen_traces/metrics/logs fill an otlp_model.h model with exactly n items (arena
 *     memory) — used by the tests and to build templates.
 *  2. Templates (lggen_next): building and encoding a model per request would cost more
 *     than the server spends decoding it, so each signal keeps a small pool of encoded
 *     requests. Every use re-stamps a template's ids in place with fresh random values
 *     (trace ids, span ids — parents follow their span — and a per-item "loadgen.id"
 *     attribute on log records and metric points), so every request carries unique ids.
 *     Trace templates also move each trace's times by a fresh shift and scale per use,
 *     so start times and durations do not repeat either (parents still enclose children).
 *     A template is rebuilt from scratch after LGGEN_MAX_USES uses or when older than
 *     LGGEN_MAX_AGE_NS, which keeps timestamps fresh and the content varied.
 *
 * An ITEM is a span, a metric data point or a log record (otlp_model.h). The ids of the
 * items of one request are what the --ack-log records, one line per item:
 *   traces:           <32 hex trace id> <16 hex span id>
 *   metrics and logs: <16 hex loadgen.id>
 *
 * Randomness comes from two lgrand streams of the seed given at creation: one for the
 * content, one for the ids, so the id sequence depends only on (seed, stream) and on the
 * order of requests.
 * Not thread-safe: one lggen_t per worker thread.
 */
#ifndef ORASI_LOADGEN_LGGEN_H
#define ORASI_LOADGEN_LGGEN_H

#include "core/arena.h"
#include "core/buf.h"
#include "otlp/otlp_model.h"

#include <stddef.h>
#include <stdint.h>

enum lggen_encoding { LGGEN_PROTOBUF = 0, LGGEN_JSON = 1 };

#define LGGEN_POOL 16                  /* templates per signal */
#define LGGEN_MAX_USES 64              /* uses of a template before it is rebuilt */
#define LGGEN_MAX_AGE_NS 1000000000ull /* ... or after this age (fresh timestamps) */
#define LGGEN_MAX_BATCH 100000         /* items per request */
#define LGGEN_MAX_BODY (64u << 20)     /* cap on one encoded request */
#define LGGEN_ERROR_RATE 0.05          /* share of spans with status ERROR */
#define LGGEN_ID_KEY "loadgen.id"      /* attribute carrying a log/metric item's id */

typedef struct lggen lggen_t;

/* Create a generator for `stream` (e.g. the worker thread number) of `seed`. The encoding
 * is what lggen_next produces. NULL on allocation failure. Caller owns it. */
lggen_t *lggen_create(uint64_t seed, uint64_t stream, enum lggen_encoding enc);
void lggen_destroy(lggen_t *g);

/*
 * Fill `*out` with exactly `n` items (1..LGGEN_MAX_BATCH) of fresh content timestamped
 * around `now_ns` (wall clock). Every array comes from `a` and every string from `a` or
 * the generator: the model is valid until `a` is reset and `g` is destroyed, whichever
 * comes first. Returns 0, ORASI_EINVAL or ORASI_ENOMEM.
 */
int lggen_traces(lggen_t *g, arena_t *a, size_t n, uint64_t now_ns, otlp_traces_t *out);
int lggen_metrics(lggen_t *g, arena_t *a, size_t n, uint64_t now_ns, otlp_metrics_t *out);
int lggen_logs(lggen_t *g, arena_t *a, size_t n, uint64_t now_ns, otlp_logs_t *out);

/*
 * Produce the next request body of signal `sig` with `n` items: its bytes are appended
 * to `body` (not cleared: a caller may put a frame prefix first), and, when `acks` is not NULL, one
 * ack-log line per item (see above; each ending in '\n') is appended to `acks`. `now_ns` is the
 * wall clock. Returns the number of items (n) or ORASI_ENOMEM / ORASI_ETOOBIG (body cap) /
 * ORASI_EINTERNAL (the encoder's output could not be re-stamped: a bug, reported loudly).
 */
int lggen_next(lggen_t *g, enum otlp_signal sig, size_t n, uint64_t now_ns, buf_t *body,
               buf_t *acks);

/* Encode a model with the generator's encoding (protobuf or OTLP/JSON) into `out`. */
int lggen_encode(enum lggen_encoding enc, enum otlp_signal sig, const void *model, buf_t *out);

/* Number of templates built so far (tests and the summary). */
uint64_t lggen_templates_built(const lggen_t *g);

#endif
