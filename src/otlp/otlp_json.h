/*
 * otlp_json.h — OTLP/JSON (the proto3 JSON mapping of Export*ServiceRequest) to and from
 * the decoded model in otlp_model.h.
 *
 * Decoding follows https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding:
 *   - field names in lowerCamelCase; the original snake_case proto names are accepted too;
 *     unknown fields are ignored; `null` means "absent" (default value);
 *   - traceId / spanId / parentSpanId (and exemplar / log ids) are hex strings, any case;
 *     other bytes (AnyValue bytesValue) are base64 (standard or URL-safe, padding optional);
 *   - 64-bit integers as decimal strings or JSON numbers ("1e3" / "1.0" accepted when
 *     exactly integral); 32-bit integers the same way;
 *   - enums as integers or by name ("SPAN_KIND_SERVER"); unknown integers are kept;
 *   - doubles as numbers, numeric strings, or "NaN" / "Infinity" / "-Infinity".
 *
 * Validation and rejection are those of the protobuf decoder (see otlp_model.h):
 *   - whole request fails (ORASI_EPARSE, HTTP 400): JSON syntax errors, a value of the
 *     wrong JSON type for a known field, an unknown enum name, bad base64, an integer out
 *     of range, JSON nesting over 1024 levels, more than one field of a oneof set (all
 *     ORASI_EPARSE, as in otlp_pb.h); input over 64 MiB or over 4 Mi JSON tokens
 *     (ORASI_ETOOBIG: answer 413);
 *   - the ITEM (span / data point / log record) is rejected and counted: an id with the
 *     wrong length or non-hex characters, a missing required id, invalid UTF-8 in any
 *     string inside it (including lone \u surrogates), AnyValue nesting deeper than
 *     OTLP_MAX_ANY_DEPTH; the same problems in a resource, scope or metric reject every
 *     item beneath it.
 * On failure the return value is negative and out->reject_msg holds a one-line message
 * with the position ("line 3 col 14: spans[0].startTimeUnixNano: expected an integer").
 *
 * Memory: every array and string of the model is allocated in `a` (nothing points into
 * `body`, which may be freed after the call). Parsing scratch (the JSON token array) lives
 * in a private arena that is released before returning. No per-token malloc.
 */
#ifndef ORASI_OTLP_OTLP_JSON_H
#define ORASI_OTLP_OTLP_JSON_H

#include "core/arena.h"
#include "core/buf.h"
#include "otlp/otlp_model.h"

#include <stdint.h>

/* Decode an OTLP/JSON Export*ServiceRequest body. `out` is overwritten; its arrays and
 * strings are owned by `a`. Returns 0 (possibly with out->rejected > 0), ORASI_EPARSE
 * (answer 400), ORASI_ETOOBIG (413) or ORASI_ENOMEM (arena cap or OOM), with
 * out->reject_msg set to the reason;
 * on failure the model content is unspecified. */
int otlp_json_decode_traces(slice_t body, arena_t *a, otlp_traces_t *out);
int otlp_json_decode_metrics(slice_t body, arena_t *a, otlp_metrics_t *out);
int otlp_json_decode_logs(slice_t body, arena_t *a, otlp_logs_t *out);

/*
 * Export*ServiceResponse as JSON, appended to `out`: `{}` when rejected == 0 and msg is
 * empty, else {"partialSuccess":{"rejectedSpans":"3","errorMessage":"..."}} (the count
 * field is rejectedSpans / rejectedDataPoints / rejectedLogRecords by signal; int64 as a
 * string per proto3 JSON). ORASI_EINVAL for an unknown signal; buf errors otherwise.
 */
int otlp_json_encode_export_response(enum otlp_signal sig, int64_t rejected, slice_t msg,
                                     buf_t *out);

/*
 * Encode a model as an OTLP/JSON Export*ServiceRequest (lowerCamelCase names, hex ids,
 * int64 as strings, enums as integers, default values omitted), appended to `out`.
 * Returns 0, ORASI_ETOOBIG / ORASI_ENOMEM from the buffer, or ORASI_EDEPTH for AnyValue
 * nesting deeper than OTLP_MAX_ANY_DEPTH. On error `out` holds a partial document.
 */
int otlp_json_encode_traces(const otlp_traces_t *m, buf_t *out);
int otlp_json_encode_metrics(const otlp_metrics_t *m, buf_t *out);
int otlp_json_encode_logs(const otlp_logs_t *m, buf_t *out);

#endif
