/*
 * split.h — cut an OTLP Export*ServiceRequest into per-destination requests by copying
 * byte ranges (no decode into a model, no re-encode of any item).
 *
 * Traces are split per span by trace id: each output holds, for every ResourceSpans and
 * ScopeSpans that had a span for it, the Resource / scope / schema_url fields copied as
 * they were and the spans themselves, with the length prefixes of the enclosing
 * messages re-framed. Metrics and logs are split per Resource* by the resource's
 * `service.name` (a resource is never cut, so the metric/log bytes are untouched).
 * Unknown fields of the enclosing messages are copied into every output that contains the
 * message; unknown fields at the top level of the request are copied into output 0 only.
 *
 * Concatenating the outputs gives a request with the same items as the input (in a
 * different grouping): nothing is lost, nothing is duplicated.
 *
 * The input must be a well-formed request (the receiver validated it): malformed input
 * returns ORASI_EPARSE, never reads out of bounds (fuzz/fuzz_split.c).
 */
#ifndef ORASI_FORWARD_SPLIT_H
#define ORASI_FORWARD_SPLIT_H

#include "core/buf.h"
#include "otlp/otlp_model.h"

#include <stddef.h>
#include <stdint.h>

#define SPLIT_MAX_DEST 64

/* Destination for a routing key: 0..ndest-1. For traces the key is the 16-byte trace id
 * (a span with a missing or malformed trace id is given a key of 16 zero bytes); for
 * metrics and logs it is the service.name value ("" when absent). */
typedef int (*split_dest_fn)(void *ud, slice_t key);

typedef struct {
    buf_t body;          /* caller-initialised (buf_init with a cap); appended to */
    uint32_t items;      /* spans / data points / log records routed here */
    uint64_t route_hash; /* split_key_hash of the first key routed here */
    int used;
} split_out_t;

/* Route every item of `body` (signal sig) with fn into outs[0..ndest). 0, ORASI_EPARSE,
 * ORASI_EINVAL (ndest out of range), ORASI_ETOOBIG / ORASI_ENOMEM from the buffers. */
int split_request(enum otlp_signal sig, slice_t body, int ndest, split_dest_fn fn, void *ud,
                  split_out_t *outs);

/* Framing check and item count without validating items (what an agent that defers
 * validation to the bridge does): every message on the path request -> Resource* ->
 * Scope* -> item (-> metric data points) must be a well-formed protobuf message; items are
 * counted, their contents are not looked at. 0 or ORASI_EPARSE. */
int split_count(enum otlp_signal sig, slice_t body, uint64_t *items);

/* 64-bit hash of a routing key (trace id or service name), well mixed. */
uint64_t split_key_hash(slice_t key);

/* The string value of resource attribute `key` in a Resource{Spans,Metrics,Logs}
 * message payload (the bytes inside its length prefix); len 0 when absent. */
slice_t split_resource_attr(slice_t resource_x, const char *key);

#endif
