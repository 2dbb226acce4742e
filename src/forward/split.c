/*
 * split.c — byte-range splitting of OTLP requests by destination (see split.h).
 *
 * Wire shapes walked here (field numbers from opentelemetry-proto):
 *   Export*ServiceRequest { repeated Resource{Spans,Metrics,Logs} = 1 }
 *   ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2;
 *                   string schema_url = 3 }
 *   ScopeSpans    { InstrumentationScope scope = 1; repeated Span spans = 2;
 *                   string schema_url = 3 }
 *   Span          { bytes trace_id = 1; ... }
 *   Resource      { repeated KeyValue attributes = 1; ... }
 *   KeyValue      { string key = 1; AnyValue value = 2 }   AnyValue { string_value = 1 ... }
 * For a ResourceSpans, a first pass collects the fields that are not scope_spans (copied
 * into each output that receives a span of it), a second pass routes the spans. Output
 * messages are opened lazily per destination and closed with back-patched lengths.
 */
#include "forward/split.h"

#include "core/err.h"
#include "otlp/otlp_pb.h"
#include "otlp/pb.h"

#include <string.h>

uint64_t split_key_hash(slice_t key)
{
    /* FNV-1a, then a murmur finaliser: trace ids are random already, service names not */
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < key.len; i++) {
        h ^= key.p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* Copy every field of `msg` except `skip_field` (tag + value, as they were) into w: the
 * non-repeated parts of a ResourceSpans / ScopeSpans that each output holding one of its
 * spans needs. msg was validated by split_check first. */
static void split_put_extra(pb_writer_t *w, slice_t msg, uint32_t skip_field)
{
    pb_reader_t r = pb_reader(msg);
    while (pb_more(&r)) {
        const uint8_t *start = r.p;
        uint32_t f, wt;
        if (pb_read_tag(&r, &f, &wt) || pb_skip(&r, wt))
            return;
        if (f != skip_field)
            pb_w_raw(w, start, (size_t)(r.p - start));
    }
}

/* The message's fields are well-formed (so split_put_extra cannot stop half way). */
static int split_check(slice_t msg)
{
    pb_reader_t r = pb_reader(msg);
    while (pb_more(&r)) {
        uint32_t f, wt;
        if (pb_read_tag(&r, &f, &wt) || pb_skip(&r, wt))
            return ORASI_EPARSE;
    }
    return 0;
}

static slice_t split_span_trace_id(slice_t span)
{
    static const uint8_t zero[16];
    pb_reader_t r = pb_reader(span);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t s;
        if (pb_read_tag(&r, &f, &wt))
            break;
        if (f == 1 && wt == PB_WT_LEN) {
            if (pb_read_bytes(&r, &s) || s.len != 16)
                break;
            return s;
        }
        if (pb_skip(&r, wt))
            break;
    }
    return slice_make(zero, 16);
}

static int split_traces(slice_t body, int ndest, split_dest_fn fn, void *ud, split_out_t *outs)
{
    pb_writer_t w[SPLIT_MAX_DEST];
    size_t rs_mark[SPLIT_MAX_DEST], ss_mark[SPLIT_MAX_DEST];
    uint8_t rs_open[SPLIT_MAX_DEST], ss_open[SPLIT_MAX_DEST];
    for (int d = 0; d < ndest; d++)
        pb_writer_init(&w[d], &outs[d].body);
    pb_reader_t top = pb_reader(body);
    while (pb_more(&top)) {
        const uint8_t *start = top.p;
        uint32_t f, wt;
        slice_t rs;
        if (pb_read_tag(&top, &f, &wt))
            return ORASI_EPARSE;
        if (f != 1 || wt != PB_WT_LEN) {
            if (pb_skip(&top, wt))
                return ORASI_EPARSE;
            pb_w_raw(&w[0], start, (size_t)(top.p - start));
            continue;
        }
        if (pb_read_bytes(&top, &rs))
            return ORASI_EPARSE;
        if (split_check(rs))
            return ORASI_EPARSE;
        memset(rs_open, 0, (size_t)ndest);
        pb_reader_t rr = pb_reader(rs);
        while (pb_more(&rr)) {
            slice_t ss;
            if (pb_read_tag(&rr, &f, &wt))
                return ORASI_EPARSE;
            if (f != 2 || wt != PB_WT_LEN) {
                if (pb_skip(&rr, wt))
                    return ORASI_EPARSE;
                continue;
            }
            if (pb_read_bytes(&rr, &ss))
                return ORASI_EPARSE;
            if (split_check(ss))
                return ORASI_EPARSE;
            memset(ss_open, 0, (size_t)ndest);
            pb_reader_t sr = pb_reader(ss);
            while (pb_more(&sr)) {
                slice_t span;
                if (pb_read_tag(&sr, &f, &wt))
                    return ORASI_EPARSE;
                if (f != 2 || wt != PB_WT_LEN) {
                    if (pb_skip(&sr, wt))
                        return ORASI_EPARSE;
                    continue;
                }
                if (pb_read_bytes(&sr, &span))
                    return ORASI_EPARSE;
                slice_t tid = split_span_trace_id(span);
                int d = fn(ud, tid);
                if (d < 0 || d >= ndest)
                    return ORASI_EINVAL;
                if (!rs_open[d]) {
                    rs_mark[d] = pb_w_begin(&w[d], 1);
                    split_put_extra(&w[d], rs, 2);
                    rs_open[d] = 1;
                }
                if (!ss_open[d]) {
                    ss_mark[d] = pb_w_begin(&w[d], 2);
                    split_put_extra(&w[d], ss, 2);
                    ss_open[d] = 1;
                }
                pb_w_slice(&w[d], 2, span);
                if (!outs[d].used) {
                    outs[d].used = 1;
                    outs[d].route_hash = split_key_hash(tid);
                }
                outs[d].items++;
            }
            for (int d = 0; d < ndest; d++)
                if (ss_open[d])
                    pb_w_end(&w[d], ss_mark[d]);
        }
        for (int d = 0; d < ndest; d++)
            if (rs_open[d])
                pb_w_end(&w[d], rs_mark[d]);
    }
    for (int d = 0; d < ndest; d++)
        if (w[d].err)
            return w[d].err;
    return 0;
}

slice_t split_resource_attr(slice_t rx, const char *key)
{
    pb_reader_t r = pb_reader(rx);
    slice_t none = {0};
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t res;
        if (pb_read_tag(&r, &f, &wt))
            return none;
        if (f != 1 || wt != PB_WT_LEN) {
            if (pb_skip(&r, wt))
                return none;
            continue;
        }
        if (pb_read_bytes(&r, &res))
            return none;
        pb_reader_t a = pb_reader(res);
        while (pb_more(&a)) {
            slice_t kv;
            if (pb_read_tag(&a, &f, &wt))
                return none;
            if (f != 1 || wt != PB_WT_LEN) {
                if (pb_skip(&a, wt))
                    return none;
                continue;
            }
            if (pb_read_bytes(&a, &kv))
                return none;
            pb_reader_t k = pb_reader(kv);
            slice_t kname = {0}, val = {0};
            while (pb_more(&k)) {
                slice_t s;
                if (pb_read_tag(&k, &f, &wt))
                    return none;
                if ((f == 1 || f == 2) && wt == PB_WT_LEN) {
                    if (pb_read_bytes(&k, &s))
                        return none;
                    if (f == 1)
                        kname = s;
                    else
                        val = s;
                } else if (pb_skip(&k, wt)) {
                    return none;
                }
            }
            if (!slice_eq_cstr(kname, key))
                continue;
            pb_reader_t v = pb_reader(val);
            while (pb_more(&v)) {
                slice_t s;
                if (pb_read_tag(&v, &f, &wt))
                    return none;
                if (f == 1 && wt == PB_WT_LEN)
                    return pb_read_bytes(&v, &s) ? none : s;
                if (pb_skip(&v, wt))
                    return none;
            }
            return none;
        }
    }
    return none;
}

struct split_res_ctx {
    int ndest;
    split_dest_fn fn;
    void *ud;
    split_out_t *outs;
    int err;
};

static int split_on_resource(void *arg, slice_t field, size_t items, size_t rejected)
{
    struct split_res_ctx *c = arg;
    /* field = tag + length + payload: find the payload for the attribute lookup */
    pb_reader_t r = pb_reader(field);
    uint32_t f, wt;
    slice_t payload;
    if (pb_read_tag(&r, &f, &wt) || pb_read_bytes(&r, &payload))
        return ORASI_EPARSE;
    slice_t svc = split_resource_attr(payload, "service.name");
    int d = c->fn(c->ud, svc);
    if (d < 0 || d >= c->ndest)
        return ORASI_EINVAL;
    int rc = buf_append_slice(&c->outs[d].body, field);
    if (rc)
        return rc;
    if (!c->outs[d].used) {
        c->outs[d].used = 1;
        c->outs[d].route_hash = split_key_hash(svc);
    }
    c->outs[d].items += (uint32_t)(items + rejected);
    return 0;
}

/* Count the length-delimited fields `field` of msg (other fields must be well-formed). */
static int split_walk(slice_t msg, uint32_t field, int (*fn)(slice_t, uint64_t *), uint64_t *items)
{
    pb_reader_t r = pb_reader(msg);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t v;
        if (pb_read_tag(&r, &f, &wt))
            return ORASI_EPARSE;
        if (f == field && wt == PB_WT_LEN) {
            if (pb_read_bytes(&r, &v))
                return ORASI_EPARSE;
            if (fn) {
                if (fn(v, items))
                    return ORASI_EPARSE;
            } else {
                (*items)++;
            }
        } else if (pb_skip(&r, wt)) {
            return ORASI_EPARSE;
        }
    }
    return 0;
}

static int split_count_items(slice_t scope_x, uint64_t *items)
{
    return split_walk(scope_x, 2, NULL, items); /* spans = 2, log_records = 2 */
}

static int split_count_scopes(slice_t res_x, uint64_t *items)
{
    return split_walk(res_x, 2, split_count_items, items);
}

/* Metric { gauge = 5, sum = 7, histogram = 9, exponential_histogram = 10, summary = 11 },
 * each with repeated data_points = 1 */
static int split_count_metric(slice_t metric, uint64_t *items)
{
    pb_reader_t r = pb_reader(metric);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t v;
        if (pb_read_tag(&r, &f, &wt))
            return ORASI_EPARSE;
        if ((f == 5 || f == 7 || f == 9 || f == 10 || f == 11) && wt == PB_WT_LEN) {
            if (pb_read_bytes(&r, &v) || split_walk(v, 1, NULL, items))
                return ORASI_EPARSE;
        } else if (pb_skip(&r, wt)) {
            return ORASI_EPARSE;
        }
    }
    return 0;
}

static int split_count_metrics(slice_t scope_m, uint64_t *items)
{
    return split_walk(scope_m, 2, split_count_metric, items);
}

static int split_count_scope_metrics(slice_t res_m, uint64_t *items)
{
    return split_walk(res_m, 2, split_count_metrics, items);
}

int split_count(enum otlp_signal sig, slice_t body, uint64_t *items)
{
    *items = 0;
    return split_walk(body, 1, sig == OTLP_METRICS ? split_count_scope_metrics : split_count_scopes,
                      items);
}

int split_request(enum otlp_signal sig, slice_t body, int ndest, split_dest_fn fn, void *ud,
                  split_out_t *outs)
{
    if (ndest <= 0 || ndest > SPLIT_MAX_DEST)
        return ORASI_EINVAL;
    if (sig == OTLP_TRACES)
        return split_traces(body, ndest, fn, ud, outs);
    struct split_res_ctx c = {ndest, fn, ud, outs, 0};
    otlp_scan_t sc;
    int rc = otlp_pb_scan_resources(sig, body, &sc, split_on_resource, &c);
    return rc;
}
