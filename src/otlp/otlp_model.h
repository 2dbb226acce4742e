/*
 * otlp_model.h — the decoded in-memory OTLP model (traces, metrics, logs).
 *
 * Both decoders (protobuf: otlp_pb.c, JSON: otlp_json.c) produce it; storage (flattening
 * into Parquet columns) and the encoder (otlp_pb_encode_*) consume it. It mirrors the
 * OTLP hierarchy of opentelemetry/proto/{common,resource,trace,metrics,logs}/v1 one to one,
 * with field names kept close to the .proto names so a reader can go back and forth.
 *
 * Ownership and lifetime (read this before using any pointer below):
 *   - Everything is BORROWED. Nothing in the model is freed individually.
 *   - Arrays (the `v` member of every list struct, and the AnyValue children) are
 *     allocated from the arena_t passed to the decoder; they die with arena_reset/destroy.
 *   - slice_t strings/bytes point INTO THE INPUT BUFFER for protobuf (zero copy: keep the
 *     request body alive as long as the model) and into the arena for JSON (the JSON
 *     decoder has to unescape / hex-decode, so it copies).
 *   - Strings are NOT NUL-terminated. They are valid UTF-8 (decoders reject items
 *     that are not, see below).
 *
 * Items and rejection (shared rule for both decoders):
 *   An ITEM is one span (traces), one metric data point of any of the five kinds
 *   (metrics), or one log record (logs). A decoder validates every item; an item that
 *   fails validation is REJECTED: it is OMITTED from its array (so storage never sees it),
 *   `rejected` is incremented and the first rejection's message is kept in `reject_msg`
 *   (static text or arena memory). The rest of the request is accepted; a request with
 *   rejected items is answered with partial_success, not with an error.
 *   Validation failures that reject the ITEM containing them:
 *     - a trace id that is not 16 bytes or a span id that is not 8 bytes. Empty
 *       (0 bytes) is allowed only where the spec allows it: a span's parent_span_id, a
 *       log record's trace_id/span_id, an exemplar's trace_id/span_id. A span's own
 *       trace_id/span_id and a link's trace_id/span_id must be present.
 *     - invalid UTF-8 in any `string` field inside the item (names, keys, string values,
 *       trace_state, units ...).
 *     - AnyValue nesting (array/kvlist inside array/kvlist) deeper than
 *       OTLP_MAX_ANY_DEPTH.
 *   Problems OUTSIDE any item (a resource attribute with invalid UTF-8, a metric name
 *   with invalid UTF-8, a bad scope) reject every item under that resource/scope/metric.
 *   Structural errors (truncated input, bad wire types, ...) fail the whole request
 *   (ORASI_EPARSE); then the model content is unspecified.
 *   Unknown enum values (span kind, status code, severity, temporality) are kept as the
 *   integer received (proto3 open enums).
 *
 * Absent vs. zero: proto3 scalars have no presence; absent == 0 / empty slice. Fields
 * declared `optional` in the .proto (histogram sum/min/max) carry a has_* flag.
 */
#ifndef ORASI_OTLP_MODEL_H
#define ORASI_OTLP_MODEL_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Maximum AnyValue depth. A value directly in an attribute, a log body or a kvlist entry
 * at top level has depth 1; the elements of an ARRAY/KVLIST at depth d have depth d+1.
 * Values may have depth 1..OTLP_MAX_ANY_DEPTH, so an ARRAY or KVLIST may only appear at
 * depths 1..OTLP_MAX_ANY_DEPTH-1: one at depth OTLP_MAX_ANY_DEPTH rejects its item even
 * when empty (decoders stop there without looking inside). Decoders must not recurse
 * without this bound (100-level input must neither overflow the stack nor be accepted). */
#define OTLP_MAX_ANY_DEPTH 32

enum otlp_signal { OTLP_TRACES = 0, OTLP_METRICS = 1, OTLP_LOGS = 2 };

/* ---------------------------------------------------------------- common ------------ */

enum otlp_any_type {
    OTLP_ANY_EMPTY = 0, /* AnyValue with no field set (or absent value) */
    OTLP_ANY_STRING,
    OTLP_ANY_BOOL,
    OTLP_ANY_INT,
    OTLP_ANY_DOUBLE,
    OTLP_ANY_BYTES,
    OTLP_ANY_ARRAY,
    OTLP_ANY_KVLIST,
};

struct otlp_kv;

/* common.v1.AnyValue. Exactly one member of the union is meaningful, per `type`. */
typedef struct otlp_any {
    uint8_t type; /* enum otlp_any_type */
    union {
        slice_t str;   /* STRING (valid UTF-8) */
        int boolean;   /* BOOL: 0 or 1 */
        int64_t i64;   /* INT */
        double f64;    /* DOUBLE */
        slice_t bytes; /* BYTES (raw bytes, any content) */
        struct {
            struct otlp_any *v;
            size_t n;
        } array; /* ARRAY: common.v1.ArrayValue.values */
        struct {
            struct otlp_kv *v;
            size_t n;
        } kvlist; /* KVLIST: common.v1.KeyValueList.values */
    } u;
} otlp_any_t;

/* common.v1.KeyValue */
typedef struct otlp_kv {
    slice_t key; /* valid UTF-8; duplicates are kept as received */
    otlp_any_t value;
} otlp_kv_t;

/* repeated KeyValue (attributes everywhere) */
typedef struct {
    otlp_kv_t *v;
    size_t n;
} otlp_attrs_t;

/* resource.v1.Resource (entity_refs, still in development, is skipped) */
typedef struct {
    otlp_attrs_t attrs;
    uint32_t dropped_attributes_count;
    /* The Resource message's own bytes when it was decoded from protobuf, else empty.
     * Decoding is a function of the bytes, so equal bytes mean an equal resource: the
     * lake stores a resource it has seen before by reference (flatten.c). Code that
     * changes attrs after decoding must clear it. */
    slice_t raw;
} otlp_resource_t;

/* common.v1.InstrumentationScope */
typedef struct {
    slice_t name;
    slice_t version;
    otlp_attrs_t attrs;
    uint32_t dropped_attributes_count;
} otlp_scope_t;

/* Packed numeric arrays, decoded to native (host-order, aligned) arrays in the arena. */
typedef struct {
    const uint64_t *v;
    size_t n;
} otlp_u64s_t;
typedef struct {
    const double *v;
    size_t n;
} otlp_f64s_t;

/* ---------------------------------------------------------------- traces ------------ */

/* trace.v1.Span.SpanKind (open enum: other values are kept) */
enum otlp_span_kind {
    OTLP_SPAN_KIND_UNSPECIFIED = 0,
    OTLP_SPAN_KIND_INTERNAL = 1,
    OTLP_SPAN_KIND_SERVER = 2,
    OTLP_SPAN_KIND_CLIENT = 3,
    OTLP_SPAN_KIND_PRODUCER = 4,
    OTLP_SPAN_KIND_CONSUMER = 5,
};

/* trace.v1.Status.StatusCode (open enum) */
enum otlp_status_code {
    OTLP_STATUS_UNSET = 0,
    OTLP_STATUS_OK = 1,
    OTLP_STATUS_ERROR = 2,
};

/* Ids are fixed-size arrays plus a length: 0 = empty (absent), otherwise exactly 16 (trace)
 * or 8 (span) bytes in accepted items. Copied (24 bytes) rather than sliced: they are read
 * constantly (hex columns, routing) and this avoids a length check at every use. */
typedef struct {
    uint8_t id[16];
    uint8_t len; /* 0 or 16 */
} otlp_trace_id_t;
typedef struct {
    uint8_t id[8];
    uint8_t len; /* 0 or 8 */
} otlp_span_id_t;

/* trace.v1.Span.Event */
typedef struct {
    uint64_t time_unix_nano;
    slice_t name;
    otlp_attrs_t attrs;
    uint32_t dropped_attributes_count;
} otlp_event_t;

/* trace.v1.Span.Link */
typedef struct {
    otlp_trace_id_t trace_id; /* 16 bytes in accepted items */
    otlp_span_id_t span_id;   /* 8 bytes in accepted items */
    slice_t trace_state;
    otlp_attrs_t attrs;
    uint32_t dropped_attributes_count;
    uint32_t flags; /* fixed32 */
} otlp_link_t;

/* trace.v1.Status */
typedef struct {
    int32_t code; /* enum otlp_status_code, unknown values kept */
    slice_t message;
} otlp_status_t;

/* trace.v1.Span — one ITEM */
typedef struct {
    otlp_trace_id_t trace_id;      /* always 16 bytes in accepted spans */
    otlp_span_id_t span_id;        /* always 8 bytes in accepted spans */
    otlp_span_id_t parent_span_id; /* 0 (root span) or 8 bytes */
    slice_t trace_state;
    uint32_t flags; /* fixed32: W3C trace flags + has-remote-parent bits */
    slice_t name;
    int32_t kind; /* enum otlp_span_kind, unknown values kept */
    uint64_t start_time_unix_nano;
    uint64_t end_time_unix_nano;
    otlp_attrs_t attrs;
    uint32_t dropped_attributes_count;
    otlp_event_t *events;
    size_t n_events;
    uint32_t dropped_events_count;
    otlp_link_t *links;
    size_t n_links;
    uint32_t dropped_links_count;
    otlp_status_t status;
} otlp_span_t;

/* trace.v1.ScopeSpans */
typedef struct {
    otlp_scope_t scope;
    otlp_span_t *spans;
    size_t n_spans;
    slice_t schema_url;
} otlp_scope_spans_t;

/* trace.v1.ResourceSpans */
typedef struct {
    otlp_resource_t resource;
    otlp_scope_spans_t *scope_spans;
    size_t n_scope_spans;
    slice_t schema_url;
} otlp_resource_spans_t;

/* ExportTraceServiceRequest / TracesData */
typedef struct {
    otlp_resource_spans_t *resource_spans;
    size_t n_resource_spans;
    size_t n_items;         /* accepted spans (present in the arrays) */
    size_t rejected;        /* rejected spans (omitted) */
    const char *reject_msg; /* first rejection's reason, NUL-terminated; NULL if none */
} otlp_traces_t;

/* ---------------------------------------------------------------- metrics ----------- */

enum otlp_metric_type {
    OTLP_METRIC_NONE = 0, /* no data field set: the metric carries no points */
    OTLP_METRIC_GAUGE,
    OTLP_METRIC_SUM,
    OTLP_METRIC_HISTOGRAM,
    OTLP_METRIC_EXP_HISTOGRAM,
    OTLP_METRIC_SUMMARY,
};

/* metrics.v1.AggregationTemporality (open enum) */
enum otlp_temporality {
    OTLP_TEMPORALITY_UNSPECIFIED = 0,
    OTLP_TEMPORALITY_DELTA = 1,
    OTLP_TEMPORALITY_CUMULATIVE = 2,
};

/* metrics.v1.DataPointFlags bit */
#define OTLP_DATA_POINT_FLAG_NO_RECORDED_VALUE 1u

/* metrics.v1.Exemplar */
typedef struct {
    otlp_attrs_t filtered_attrs;
    uint64_t time_unix_nano;
    int is_int; /* 1: as_int holds the value; 0: as_double (or neither set) */
    double as_double;
    int64_t as_int;
    otlp_span_id_t span_id;   /* 0 or 8 bytes */
    otlp_trace_id_t trace_id; /* 0 or 16 bytes */
} otlp_exemplar_t;

typedef struct {
    otlp_exemplar_t *v;
    size_t n;
} otlp_exemplars_t;

/* metrics.v1.NumberDataPoint — one ITEM (gauge and sum points) */
typedef struct {
    otlp_attrs_t attrs;
    uint64_t start_time_unix_nano;
    uint64_t time_unix_nano;
    int is_int; /* 1: as_int holds the value; 0: as_double (or neither set) */
    double as_double;
    int64_t as_int;
    otlp_exemplars_t exemplars;
    uint32_t flags;
} otlp_number_dp_t;

/* metrics.v1.HistogramDataPoint — one ITEM */
typedef struct {
    otlp_attrs_t attrs;
    uint64_t start_time_unix_nano;
    uint64_t time_unix_nano;
    uint64_t count;
    int has_sum, has_min, has_max;
    double sum, min, max;
    otlp_u64s_t bucket_counts; /* n = explicit_bounds.n + 1 when well formed (not enforced) */
    otlp_f64s_t explicit_bounds;
    otlp_exemplars_t exemplars;
    uint32_t flags;
} otlp_histogram_dp_t;

/* metrics.v1.ExponentialHistogramDataPoint.Buckets */
typedef struct {
    int32_t offset;            /* sint32 */
    otlp_u64s_t bucket_counts; /* packed varint uint64 on the wire */
} otlp_exp_buckets_t;

/* metrics.v1.ExponentialHistogramDataPoint — one ITEM */
typedef struct {
    otlp_attrs_t attrs;
    uint64_t start_time_unix_nano;
    uint64_t time_unix_nano;
    uint64_t count;
    int has_sum, has_min, has_max;
    double sum, min, max;
    int32_t scale; /* sint32 */
    uint64_t zero_count;
    double zero_threshold;
    otlp_exp_buckets_t positive;
    otlp_exp_buckets_t negative;
    otlp_exemplars_t exemplars;
    uint32_t flags;
} otlp_exp_histogram_dp_t;

/* metrics.v1.SummaryDataPoint.ValueAtQuantile */
typedef struct {
    double quantile;
    double value;
} otlp_quantile_t;

/* metrics.v1.SummaryDataPoint — one ITEM */
typedef struct {
    otlp_attrs_t attrs;
    uint64_t start_time_unix_nano;
    uint64_t time_unix_nano;
    uint64_t count;
    double sum;
    otlp_quantile_t *quantiles;
    size_t n_quantiles;
    uint32_t flags;
} otlp_summary_dp_t;

/* metrics.v1.Metric. `type` says which data member is set; the points array of that
 * member holds only accepted points. Gauge and Sum share otlp_number_dp_t. */
typedef struct {
    slice_t name;
    slice_t description;
    slice_t unit;
    otlp_attrs_t metadata;
    uint8_t type;        /* enum otlp_metric_type */
    int32_t temporality; /* SUM, HISTOGRAM, EXP_HISTOGRAM; enum otlp_temporality */
    int is_monotonic;    /* SUM only */
    union {
        struct {
            otlp_number_dp_t *v;
            size_t n;
        } number; /* GAUGE, SUM */
        struct {
            otlp_histogram_dp_t *v;
            size_t n;
        } histogram; /* HISTOGRAM */
        struct {
            otlp_exp_histogram_dp_t *v;
            size_t n;
        } exp_histogram;
        struct {
            otlp_summary_dp_t *v;
            size_t n;
        } summary; /* SUMMARY */
    } points;
} otlp_metric_t;

/* metrics.v1.ScopeMetrics */
typedef struct {
    otlp_scope_t scope;
    otlp_metric_t *metrics;
    size_t n_metrics;
    slice_t schema_url;
} otlp_scope_metrics_t;

/* metrics.v1.ResourceMetrics */
typedef struct {
    otlp_resource_t resource;
    otlp_scope_metrics_t *scope_metrics;
    size_t n_scope_metrics;
    slice_t schema_url;
} otlp_resource_metrics_t;

/* ExportMetricsServiceRequest / MetricsData */
typedef struct {
    otlp_resource_metrics_t *resource_metrics;
    size_t n_resource_metrics;
    size_t n_items;         /* accepted data points, all kinds */
    size_t rejected;        /* rejected data points (omitted) */
    const char *reject_msg; /* first rejection's reason; NULL if none */
} otlp_metrics_t;

/* ---------------------------------------------------------------- logs -------------- */

/* logs.v1.LogRecord — one ITEM */
typedef struct {
    uint64_t time_unix_nano;
    uint64_t observed_time_unix_nano;
    int32_t severity_number; /* logs.v1.SeverityNumber 0..24, unknown values kept */
    slice_t severity_text;
    otlp_any_t body; /* OTLP_ANY_EMPTY when absent */
    otlp_attrs_t attrs;
    uint32_t dropped_attributes_count;
    uint32_t flags;           /* fixed32 */
    otlp_trace_id_t trace_id; /* 0 or 16 bytes */
    otlp_span_id_t span_id;   /* 0 or 8 bytes */
    slice_t event_name;
} otlp_log_record_t;

/* logs.v1.ScopeLogs */
typedef struct {
    otlp_scope_t scope;
    otlp_log_record_t *log_records;
    size_t n_log_records;
    slice_t schema_url;
} otlp_scope_logs_t;

/* logs.v1.ResourceLogs */
typedef struct {
    otlp_resource_t resource;
    otlp_scope_logs_t *scope_logs;
    size_t n_scope_logs;
    slice_t schema_url;
} otlp_resource_logs_t;

/* ExportLogsServiceRequest / LogsData */
typedef struct {
    otlp_resource_logs_t *resource_logs;
    size_t n_resource_logs;
    size_t n_items;         /* accepted log records */
    size_t rejected;        /* rejected log records (omitted) */
    const char *reject_msg; /* first rejection's reason; NULL if none */
} otlp_logs_t;

/* Record one rejected item: both decoders call this so counting and the "first message
 * wins" rule stay identical. `why` must outlive the model (static text or arena). */
static inline void otlp_model_reject(size_t *rejected, const char **reject_msg, const char *why)
{
    (*rejected)++;
    if (!*reject_msg)
        *reject_msg = why;
}

#endif
