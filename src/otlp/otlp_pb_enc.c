/*
 * otlp_pb_enc.c — OTLP protobuf encoders: model → Export*ServiceRequest, export responses
 * with partial_success, and google.rpc.Status for grpc-status-details-bin.
 *
 * Output is canonical-ish proto3: fields in ascending number order, default scalars
 * omitted, packed repeated scalars. Oneof members (AnyValue kinds, as_double/as_int) are
 * always written, even when zero, so the chosen member survives a round trip. The
 * forwarding path never calls this (it keeps the bytes it received, DESIGN.md); the load
 * generator, the JSON→protobuf path and the tests do.
 */
#include "otlp/otlp_pb.h"

#include "otlp/pb.h"

/* ---------------------------------------------------------------- common ------------ */

static int enc_any(pb_writer_t *w, const otlp_any_t *v, int depth);

static int enc_kv(pb_writer_t *w, uint32_t field, const otlp_kv_t *kv, int depth)
{
    size_t m = pb_w_begin(w, field);
    if (kv->key.len)
        pb_w_slice(w, 1, kv->key);
    size_t mv = pb_w_begin(w, 2);
    int rc = enc_any(w, &kv->value, depth);
    if (rc < 0)
        return rc;
    pb_w_end(w, mv);
    pb_w_end(w, m);
    return 0;
}

/* The body of an AnyValue at `depth` (same depth rule as the decoders, otlp_model.h). */
static int enc_any(pb_writer_t *w, const otlp_any_t *v, int depth)
{
    int rc;
    size_t m;
    switch (v->type) {
    case OTLP_ANY_STRING:
        pb_w_slice(w, 1, v->u.str);
        break;
    case OTLP_ANY_BOOL:
        pb_w_uint(w, 2, v->u.boolean != 0);
        break;
    case OTLP_ANY_INT:
        pb_w_uint(w, 3, (uint64_t)v->u.i64);
        break;
    case OTLP_ANY_DOUBLE:
        pb_w_double(w, 4, v->u.f64);
        break;
    case OTLP_ANY_BYTES:
        pb_w_slice(w, 7, v->u.bytes);
        break;
    case OTLP_ANY_ARRAY:
        if (depth >= OTLP_MAX_ANY_DEPTH)
            return ORASI_EDEPTH;
        m = pb_w_begin(w, 5);
        for (size_t i = 0; i < v->u.array.n; i++) {
            size_t me = pb_w_begin(w, 1);
            if ((rc = enc_any(w, &v->u.array.v[i], depth + 1)) < 0)
                return rc;
            pb_w_end(w, me);
        }
        pb_w_end(w, m);
        break;
    case OTLP_ANY_KVLIST:
        if (depth >= OTLP_MAX_ANY_DEPTH)
            return ORASI_EDEPTH;
        m = pb_w_begin(w, 6);
        for (size_t i = 0; i < v->u.kvlist.n; i++)
            if ((rc = enc_kv(w, 1, &v->u.kvlist.v[i], depth + 1)) < 0)
                return rc;
        pb_w_end(w, m);
        break;
    default:
        break; /* EMPTY: the empty message */
    }
    return 0;
}

static int enc_attrs(pb_writer_t *w, uint32_t field, const otlp_attrs_t *at)
{
    for (size_t i = 0; i < at->n; i++) {
        int rc = enc_kv(w, field, &at->v[i], 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void w_str(pb_writer_t *w, uint32_t field, slice_t s)
{
    if (s.len)
        pb_w_slice(w, field, s);
}

static void w_u(pb_writer_t *w, uint32_t field, uint64_t v)
{
    if (v)
        pb_w_uint(w, field, v);
}

static void w_i32(pb_writer_t *w, uint32_t field, int32_t v)
{
    if (v)
        pb_w_int32(w, field, v);
}

static void w_f64(pb_writer_t *w, uint32_t field, uint64_t v)
{
    if (v)
        pb_w_fixed64(w, field, v);
}

static void w_f32(pb_writer_t *w, uint32_t field, uint32_t v)
{
    if (v)
        pb_w_fixed32(w, field, v);
}

static void w_dbl(pb_writer_t *w, uint32_t field, double v)
{
    if (v != 0)
        pb_w_double(w, field, v);
}

static void w_id(pb_writer_t *w, uint32_t field, const uint8_t *id, uint8_t len)
{
    if (len)
        pb_w_bytes(w, field, id, len);
}

static int enc_resource(pb_writer_t *w, uint32_t field, const otlp_resource_t *r)
{
    if (!r->attrs.n && !r->dropped_attributes_count)
        return 0;
    size_t m = pb_w_begin(w, field);
    int rc = enc_attrs(w, 1, &r->attrs);
    if (rc < 0)
        return rc;
    w_u(w, 2, r->dropped_attributes_count);
    pb_w_end(w, m);
    return 0;
}

static int enc_scope(pb_writer_t *w, uint32_t field, const otlp_scope_t *s)
{
    if (!s->name.len && !s->version.len && !s->attrs.n && !s->dropped_attributes_count)
        return 0;
    size_t m = pb_w_begin(w, field);
    w_str(w, 1, s->name);
    w_str(w, 2, s->version);
    int rc = enc_attrs(w, 3, &s->attrs);
    if (rc < 0)
        return rc;
    w_u(w, 4, s->dropped_attributes_count);
    pb_w_end(w, m);
    return 0;
}

/* ---------------------------------------------------------------- traces ------------ */

static int enc_span(pb_writer_t *w, const otlp_span_t *sp)
{
    int rc;
    size_t m = pb_w_begin(w, 2);
    w_id(w, 1, sp->trace_id.id, sp->trace_id.len);
    w_id(w, 2, sp->span_id.id, sp->span_id.len);
    w_str(w, 3, sp->trace_state);
    w_id(w, 4, sp->parent_span_id.id, sp->parent_span_id.len);
    w_str(w, 5, sp->name);
    w_i32(w, 6, sp->kind);
    w_f64(w, 7, sp->start_time_unix_nano);
    w_f64(w, 8, sp->end_time_unix_nano);
    if ((rc = enc_attrs(w, 9, &sp->attrs)) < 0)
        return rc;
    w_u(w, 10, sp->dropped_attributes_count);
    for (size_t i = 0; i < sp->n_events; i++) {
        const otlp_event_t *ev = &sp->events[i];
        size_t me = pb_w_begin(w, 11);
        w_f64(w, 1, ev->time_unix_nano);
        w_str(w, 2, ev->name);
        if ((rc = enc_attrs(w, 3, &ev->attrs)) < 0)
            return rc;
        w_u(w, 4, ev->dropped_attributes_count);
        pb_w_end(w, me);
    }
    w_u(w, 12, sp->dropped_events_count);
    for (size_t i = 0; i < sp->n_links; i++) {
        const otlp_link_t *ln = &sp->links[i];
        size_t ml = pb_w_begin(w, 13);
        w_id(w, 1, ln->trace_id.id, ln->trace_id.len);
        w_id(w, 2, ln->span_id.id, ln->span_id.len);
        w_str(w, 3, ln->trace_state);
        if ((rc = enc_attrs(w, 4, &ln->attrs)) < 0)
            return rc;
        w_u(w, 5, ln->dropped_attributes_count);
        w_f32(w, 6, ln->flags);
        pb_w_end(w, ml);
    }
    w_u(w, 14, sp->dropped_links_count);
    if (sp->status.code || sp->status.message.len) {
        size_t ms = pb_w_begin(w, 15);
        w_str(w, 2, sp->status.message);
        w_i32(w, 3, sp->status.code);
        pb_w_end(w, ms);
    }
    w_f32(w, 16, sp->flags);
    pb_w_end(w, m);
    return 0;
}

int otlp_pb_encode_traces(const otlp_traces_t *t, buf_t *out)
{
    pb_writer_t w;
    int rc = 0;
    pb_writer_init(&w, out);
    for (size_t i = 0; i < t->n_resource_spans; i++) {
        const otlp_resource_spans_t *rs = &t->resource_spans[i];
        size_t mr = pb_w_begin(&w, 1);
        if ((rc = enc_resource(&w, 1, &rs->resource)) < 0)
            goto out;
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const otlp_scope_spans_t *ss = &rs->scope_spans[j];
            size_t ms = pb_w_begin(&w, 2);
            if ((rc = enc_scope(&w, 1, &ss->scope)) < 0)
                goto out;
            for (size_t k = 0; k < ss->n_spans; k++)
                if ((rc = enc_span(&w, &ss->spans[k])) < 0)
                    goto out;
            w_str(&w, 3, ss->schema_url);
            pb_w_end(&w, ms);
        }
        w_str(&w, 3, rs->schema_url);
        pb_w_end(&w, mr);
    }
out:
    return rc < 0 ? rc : w.err;
}

/* ---------------------------------------------------------------- metrics ----------- */

static int enc_exemplars(pb_writer_t *w, uint32_t field, const otlp_exemplars_t *exs)
{
    for (size_t i = 0; i < exs->n; i++) {
        const otlp_exemplar_t *ex = &exs->v[i];
        size_t m = pb_w_begin(w, field);
        w_f64(w, 2, ex->time_unix_nano);
        if (ex->is_int)
            pb_w_fixed64(w, 6, (uint64_t)ex->as_int);
        else
            pb_w_double(w, 3, ex->as_double);
        w_id(w, 4, ex->span_id.id, ex->span_id.len);
        w_id(w, 5, ex->trace_id.id, ex->trace_id.len);
        int rc = enc_attrs(w, 7, &ex->filtered_attrs);
        if (rc < 0)
            return rc;
        pb_w_end(w, m);
    }
    return 0;
}

static int enc_ndp(pb_writer_t *w, const otlp_number_dp_t *p)
{
    int rc;
    size_t m = pb_w_begin(w, 1);
    w_f64(w, 2, p->start_time_unix_nano);
    w_f64(w, 3, p->time_unix_nano);
    if (p->is_int)
        pb_w_fixed64(w, 6, (uint64_t)p->as_int);
    else
        pb_w_double(w, 4, p->as_double);
    if ((rc = enc_exemplars(w, 5, &p->exemplars)) < 0 || (rc = enc_attrs(w, 7, &p->attrs)) < 0)
        return rc;
    w_u(w, 8, p->flags);
    pb_w_end(w, m);
    return 0;
}

static int enc_hdp(pb_writer_t *w, const otlp_histogram_dp_t *p)
{
    int rc;
    size_t m = pb_w_begin(w, 1);
    w_f64(w, 2, p->start_time_unix_nano);
    w_f64(w, 3, p->time_unix_nano);
    w_f64(w, 4, p->count);
    if (p->has_sum)
        pb_w_double(w, 5, p->sum);
    /* packed fixed64/double: the native arrays are already the little-endian wire bytes */
    if (p->bucket_counts.n)
        pb_w_bytes(w, 6, p->bucket_counts.v, p->bucket_counts.n * 8);
    if (p->explicit_bounds.n)
        pb_w_bytes(w, 7, p->explicit_bounds.v, p->explicit_bounds.n * 8);
    if ((rc = enc_exemplars(w, 8, &p->exemplars)) < 0 || (rc = enc_attrs(w, 9, &p->attrs)) < 0)
        return rc;
    w_u(w, 10, p->flags);
    if (p->has_min)
        pb_w_double(w, 11, p->min);
    if (p->has_max)
        pb_w_double(w, 12, p->max);
    pb_w_end(w, m);
    return 0;
}

static void enc_buckets(pb_writer_t *w, uint32_t field, const otlp_exp_buckets_t *b)
{
    if (!b->offset && !b->bucket_counts.n)
        return;
    size_t m = pb_w_begin(w, field);
    if (b->offset)
        pb_w_uint(w, 1, pb_zigzag_enc32(b->offset));
    if (b->bucket_counts.n) {
        size_t mc = pb_w_begin(w, 2);
        for (size_t i = 0; i < b->bucket_counts.n; i++)
            pb_w_varint(w, b->bucket_counts.v[i]);
        pb_w_end(w, mc);
    }
    pb_w_end(w, m);
}

static int enc_edp(pb_writer_t *w, const otlp_exp_histogram_dp_t *p)
{
    int rc;
    size_t m = pb_w_begin(w, 1);
    if ((rc = enc_attrs(w, 1, &p->attrs)) < 0)
        return rc;
    w_f64(w, 2, p->start_time_unix_nano);
    w_f64(w, 3, p->time_unix_nano);
    w_f64(w, 4, p->count);
    if (p->has_sum)
        pb_w_double(w, 5, p->sum);
    if (p->scale)
        pb_w_uint(w, 6, pb_zigzag_enc32(p->scale));
    w_f64(w, 7, p->zero_count);
    enc_buckets(w, 8, &p->positive);
    enc_buckets(w, 9, &p->negative);
    w_u(w, 10, p->flags);
    if ((rc = enc_exemplars(w, 11, &p->exemplars)) < 0)
        return rc;
    if (p->has_min)
        pb_w_double(w, 12, p->min);
    if (p->has_max)
        pb_w_double(w, 13, p->max);
    w_dbl(w, 14, p->zero_threshold);
    pb_w_end(w, m);
    return 0;
}

static int enc_sdp(pb_writer_t *w, const otlp_summary_dp_t *p)
{
    size_t m = pb_w_begin(w, 1);
    w_f64(w, 2, p->start_time_unix_nano);
    w_f64(w, 3, p->time_unix_nano);
    w_f64(w, 4, p->count);
    w_dbl(w, 5, p->sum);
    for (size_t i = 0; i < p->n_quantiles; i++) {
        size_t mq = pb_w_begin(w, 6);
        w_dbl(w, 1, p->quantiles[i].quantile);
        w_dbl(w, 2, p->quantiles[i].value);
        pb_w_end(w, mq);
    }
    int rc = enc_attrs(w, 7, &p->attrs);
    if (rc < 0)
        return rc;
    w_u(w, 8, p->flags);
    pb_w_end(w, m);
    return 0;
}

static int enc_metric(pb_writer_t *w, const otlp_metric_t *mt)
{
    int rc = 0;
    size_t m = pb_w_begin(w, 2);
    w_str(w, 1, mt->name);
    w_str(w, 2, mt->description);
    w_str(w, 3, mt->unit);
    size_t md;
    switch (mt->type) {
    case OTLP_METRIC_GAUGE:
    case OTLP_METRIC_SUM:
        md = pb_w_begin(w, mt->type == OTLP_METRIC_GAUGE ? 5 : 7);
        for (size_t i = 0; i < mt->points.number.n && rc == 0; i++)
            rc = enc_ndp(w, &mt->points.number.v[i]);
        if (mt->type == OTLP_METRIC_SUM) {
            w_i32(w, 2, mt->temporality);
            w_u(w, 3, mt->is_monotonic != 0);
        }
        pb_w_end(w, md);
        break;
    case OTLP_METRIC_HISTOGRAM:
        md = pb_w_begin(w, 9);
        for (size_t i = 0; i < mt->points.histogram.n && rc == 0; i++)
            rc = enc_hdp(w, &mt->points.histogram.v[i]);
        w_i32(w, 2, mt->temporality);
        pb_w_end(w, md);
        break;
    case OTLP_METRIC_EXP_HISTOGRAM:
        md = pb_w_begin(w, 10);
        for (size_t i = 0; i < mt->points.exp_histogram.n && rc == 0; i++)
            rc = enc_edp(w, &mt->points.exp_histogram.v[i]);
        w_i32(w, 2, mt->temporality);
        pb_w_end(w, md);
        break;
    case OTLP_METRIC_SUMMARY:
        md = pb_w_begin(w, 11);
        for (size_t i = 0; i < mt->points.summary.n && rc == 0; i++)
            rc = enc_sdp(w, &mt->points.summary.v[i]);
        pb_w_end(w, md);
        break;
    default:
        break;
    }
    if (rc < 0 || (rc = enc_attrs(w, 12, &mt->metadata)) < 0)
        return rc;
    pb_w_end(w, m);
    return 0;
}

int otlp_pb_encode_metrics(const otlp_metrics_t *mm, buf_t *out)
{
    pb_writer_t w;
    int rc = 0;
    pb_writer_init(&w, out);
    for (size_t i = 0; i < mm->n_resource_metrics; i++) {
        const otlp_resource_metrics_t *rm = &mm->resource_metrics[i];
        size_t mr = pb_w_begin(&w, 1);
        if ((rc = enc_resource(&w, 1, &rm->resource)) < 0)
            goto out;
        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            const otlp_scope_metrics_t *sm = &rm->scope_metrics[j];
            size_t ms = pb_w_begin(&w, 2);
            if ((rc = enc_scope(&w, 1, &sm->scope)) < 0)
                goto out;
            for (size_t k = 0; k < sm->n_metrics; k++)
                if ((rc = enc_metric(&w, &sm->metrics[k])) < 0)
                    goto out;
            w_str(&w, 3, sm->schema_url);
            pb_w_end(&w, ms);
        }
        w_str(&w, 3, rm->schema_url);
        pb_w_end(&w, mr);
    }
out:
    return rc < 0 ? rc : w.err;
}

/* ---------------------------------------------------------------- logs -------------- */

static int enc_log(pb_writer_t *w, const otlp_log_record_t *lr)
{
    int rc;
    size_t m = pb_w_begin(w, 2);
    w_f64(w, 1, lr->time_unix_nano);
    w_i32(w, 2, lr->severity_number);
    w_str(w, 3, lr->severity_text);
    if (lr->body.type != OTLP_ANY_EMPTY) {
        size_t mb = pb_w_begin(w, 5);
        if ((rc = enc_any(w, &lr->body, 1)) < 0)
            return rc;
        pb_w_end(w, mb);
    }
    if ((rc = enc_attrs(w, 6, &lr->attrs)) < 0)
        return rc;
    w_u(w, 7, lr->dropped_attributes_count);
    w_f32(w, 8, lr->flags);
    w_id(w, 9, lr->trace_id.id, lr->trace_id.len);
    w_id(w, 10, lr->span_id.id, lr->span_id.len);
    w_f64(w, 11, lr->observed_time_unix_nano);
    w_str(w, 12, lr->event_name);
    pb_w_end(w, m);
    return 0;
}

int otlp_pb_encode_logs(const otlp_logs_t *l, buf_t *out)
{
    pb_writer_t w;
    int rc = 0;
    pb_writer_init(&w, out);
    for (size_t i = 0; i < l->n_resource_logs; i++) {
        const otlp_resource_logs_t *rl = &l->resource_logs[i];
        size_t mr = pb_w_begin(&w, 1);
        if ((rc = enc_resource(&w, 1, &rl->resource)) < 0)
            goto out;
        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            const otlp_scope_logs_t *sl = &rl->scope_logs[j];
            size_t ms = pb_w_begin(&w, 2);
            if ((rc = enc_scope(&w, 1, &sl->scope)) < 0)
                goto out;
            for (size_t k = 0; k < sl->n_log_records; k++)
                if ((rc = enc_log(&w, &sl->log_records[k])) < 0)
                    goto out;
            w_str(&w, 3, sl->schema_url);
            pb_w_end(&w, ms);
        }
        w_str(&w, 3, rl->schema_url);
        pb_w_end(&w, mr);
    }
out:
    return rc < 0 ? rc : w.err;
}

/* ---------------------------------------------------------------- responses --------- */

int otlp_pb_encode_export_response(enum otlp_signal sig, int64_t rejected, slice_t message,
                                   buf_t *out)
{
    pb_writer_t w;
    if ((unsigned)sig > OTLP_LOGS)
        return ORASI_EINVAL;
    pb_writer_init(&w, out);
    if (rejected == 0 && message.len == 0)
        return 0;
    /* Export{Trace,Metrics,Logs}PartialSuccess all number their fields the same way:
     * rejected_{spans,data_points,log_records} = 1 (int64), error_message = 2 */
    size_t m = pb_w_begin(&w, 1);
    if (rejected)
        pb_w_uint(&w, 1, (uint64_t)rejected);
    w_str(&w, 2, message);
    pb_w_end(&w, m);
    return w.err;
}

int otlp_pb_encode_grpc_status_details(int code, const char *msg, uint64_t retry_delay_ms,
                                       buf_t *out)
{
    static const char RETRY_INFO[] = "type.googleapis.com/google.rpc.RetryInfo";
    pb_writer_t w;
    pb_writer_init(&w, out);
    w_i32(&w, 1, (int32_t)code);
    if (msg)
        w_str(&w, 2, slice_cstr(msg));
    if (retry_delay_ms) {
        size_t many = pb_w_begin(&w, 3); /* google.protobuf.Any */
        pb_w_bytes(&w, 1, RETRY_INFO, sizeof(RETRY_INFO) - 1);
        size_t mval = pb_w_begin(&w, 2);                          /* Any.value = RetryInfo */
        size_t mdur = pb_w_begin(&w, 1);                          /* retry_delay: Duration */
        w_u(&w, 1, retry_delay_ms / 1000);                        /* seconds */
        w_i32(&w, 2, (int32_t)(retry_delay_ms % 1000) * 1000000); /* nanos */
        pb_w_end(&w, mdur);
        pb_w_end(&w, mval);
        pb_w_end(&w, many);
    }
    return w.err;
}
