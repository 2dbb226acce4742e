/*
 * otlp_pb.h — OTLP protobuf: decode into the model, validate-only scan, encode.
 *
 * Input is an Export{Trace,Metrics,Logs}ServiceRequest (the same bytes as
 * {Traces,Metrics,Logs}Data). See otlp_model.h for the model, the definition of an item
 * and what rejects one; docs/internals/otlp.md for the whole story.
 *
 * Return values of decode and scan:
 *   0               success; items that failed validation are counted in `rejected`
 *                   (first reason in `reject_msg`) and omitted from the model;
 *   ORASI_EPARSE    the bytes are not a well-formed message of that type (truncated,
 *                   wire-type mismatch on a known field, length past the end, overlong
 *                   varint, group wire type ...): answer 400 / INVALID_ARGUMENT;
 *                   `reject_msg` then says what was wrong;
 *   ORASI_ENOMEM    the arena (cap reached or real OOM) could not hold the model.
 * On failure the model content is unspecified (but everything it points to is arena or
 * input memory, so there is nothing to free besides the arena).
 */
#ifndef ORASI_OTLP_OTLP_PB_H
#define ORASI_OTLP_OTLP_PB_H

#include "core/arena.h"
#include "core/buf.h"
#include "otlp/otlp_model.h"

#include <stdint.h>
#include <stdio.h>

/* Decode `body` into `*out`. Arrays come from `a`; strings point into `body`, which must
 * stay alive (and unchanged) as long as the model is used. `*out` is overwritten. */
int otlp_pb_decode_traces(slice_t body, arena_t *a, otlp_traces_t *out);
int otlp_pb_decode_metrics(slice_t body, arena_t *a, otlp_metrics_t *out);
int otlp_pb_decode_logs(slice_t body, arena_t *a, otlp_logs_t *out);

/*
 * An arena cap under which decoding a well-formed body of `body_len` bytes never fails
 * for lack of room, for an arena created with `chunk_size`. The model can be far larger
 * than the body: an empty span is 2 bytes on the wire and a 200-byte otlp_span_t in the
 * model, so the bound is ~108 model bytes per body byte (with alignment padding), doubled
 * for the chunk tails an arena may abandon, plus one chunk. Receivers should cap their
 * decode arena with it. Saturates at SIZE_MAX.
 */
size_t otlp_pb_arena_cap_hint(size_t body_len, size_t chunk_size);

/* Result of a scan: the same counts a decode would produce. */
typedef struct {
    size_t n_items;         /* accepted items */
    size_t rejected;        /* rejected items */
    const char *reject_msg; /* first rejection (or parse error) reason; static text */
    size_t n_resources;     /* Resource{Spans,Metrics,Logs} messages seen */
} otlp_scan_t;

/*
 * Called once per top-level Resource{Spans,Metrics,Logs} after it has been validated.
 * `field` is the complete field (tag + length prefix + payload) inside `body`: any
 * concatenation of such fields is itself a valid request, so a gateway can split or
 * regroup a request by copying byte ranges. `items`/`rejected` are this resource's counts.
 * Return 0 to continue, or a negative ORASI_E* code to stop the scan with that code.
 */
typedef int (*otlp_scan_resource_fn)(void *arg, slice_t field, size_t items, size_t rejected);

/* Validate `body` exactly as the decoder would, counting items and rejections, without
 * allocating or building anything. Same return code, counts and first rejection message
 * as decode (never ORASI_ENOMEM). Only on ORASI_EPARSE may the message differ: decode
 * sizes arrays with a pre-pass over a message's own fields, so it can meet a broken outer
 * field before scan meets a broken inner one. */
int otlp_pb_scan(enum otlp_signal sig, slice_t body, otlp_scan_t *out);
/* Same, calling `fn(arg, ...)` for every resource (fn may be NULL). */
int otlp_pb_scan_resources(enum otlp_signal sig, slice_t body, otlp_scan_t *out,
                           otlp_scan_resource_fn fn, void *arg);

/*
 * Encode a model as an Export*ServiceRequest, appended to `out` (whose max caps it).
 * Default (zero/empty) scalar fields are omitted as proto3 does. Returns 0,
 * ORASI_ETOOBIG (past out->max), ORASI_ENOMEM, or ORASI_EDEPTH for an AnyValue nested
 * deeper than OTLP_MAX_ANY_DEPTH. On failure `out` may hold a partial message.
 */
int otlp_pb_encode_traces(const otlp_traces_t *t, buf_t *out);
int otlp_pb_encode_metrics(const otlp_metrics_t *m, buf_t *out);
int otlp_pb_encode_logs(const otlp_logs_t *l, buf_t *out);

/* Export{Trace,Metrics,Logs}ServiceResponse. Nothing is appended (the empty message)
 * when rejected == 0 and the message is empty; otherwise partial_success carries
 * rejected_{spans,data_points,log_records} and error_message. */
int otlp_pb_encode_export_response(enum otlp_signal sig, int64_t rejected, slice_t message,
                                   buf_t *out);

/* google.rpc.Status{code, message, details} for the grpc-status-details-bin trailer.
 * When retry_delay_ms > 0, details holds one Any wrapping google.rpc.RetryInfo with
 * that delay (what OTLP exporters read to back off). `msg` may be NULL. */
int otlp_pb_encode_grpc_status_details(int code, const char *msg, uint64_t retry_delay_ms,
                                       buf_t *out);

/* Decode benchmark (otlp_bench.c): builds a realistic 100-span request with the encoder,
 * then full-decodes it and scans it `iterations` times each, printing MB/s and spans/s of
 * CPU time to `out`. Returns 0 or a negative ORASI_E* code. */
int otlp_bench_decode(int iterations, FILE *out);

#endif
