/* promrw.c — Prometheus remote write 1.0 decoder into the OTLP metrics model (promrw.h). */
#include "otlp/promrw.h"

#include "core/err.h"
#include "otlp/otlp_utf8.h"
#include "otlp/pb.h"

#include <snappy-c.h>
#include <string.h>

static const char E_WR[] = "malformed prometheus WriteRequest";
static const char E_TS[] = "malformed prometheus TimeSeries";
static const char E_LABEL[] = "malformed prometheus Label";
static const char E_SAMPLE[] = "malformed prometheus Sample";
static const char E_SNAPPY[] = "invalid snappy block";
static const char R_NONAME[] = "series without __name__ label";
static const char R_UTF8[] = "invalid UTF-8 in a label name or value";
static const char R_TS[] = "sample timestamp out of range";
static const char R_HIST[] = "native histograms are not supported";
static const char SCOPE_NAME[] = "prometheus-remote-write";

/* 1 << 63 ns is year 2262: the largest ms value whose ns still fits in int64. */
#define PROMRW_MAX_MS (INT64_MAX / 1000000)

typedef struct {
    arena_t *a;
    otlp_metrics_t *out;
    const char *perr;
} prw_t;

static void prw_reject(prw_t *p, size_t n, const char *why)
{
    p->out->rejected += n;
    if (!p->out->reject_msg)
        p->out->reject_msg = why;
}

static int prw_perr(prw_t *p, const char *m)
{
    if (!p->perr)
        p->perr = m;
    return ORASI_EPARSE;
}

static void *prw_alloc(prw_t *p, size_t n, size_t size, int *rc)
{
    if (n == 0)
        return NULL;
    void *v = n > SIZE_MAX / size ? NULL : arena_alloc(p->a, n * size);
    if (!v)
        *rc = ORASI_ENOMEM;
    return v;
}

/* Label{name = 1, value = 2} */
static int prw_label(prw_t *p, slice_t s, slice_t *name, slice_t *value)
{
    pb_reader_t r = pb_reader(s);
    *name = *value = (slice_t){NULL, 0};
    while (pb_more(&r)) {
        uint32_t f, wt;
        if (pb_read_tag(&r, &f, &wt) < 0)
            return prw_perr(p, E_LABEL);
        if (f == 1 || f == 2) {
            if (wt != PB_WT_LEN || pb_read_bytes(&r, f == 1 ? name : value) < 0)
                return prw_perr(p, E_LABEL);
        } else if (pb_skip(&r, wt) < 0) {
            return prw_perr(p, E_LABEL);
        }
    }
    return 0;
}

/* Sample{double value = 1; int64 timestamp = 2 (ms)} */
static int prw_sample(prw_t *p, slice_t s, double *value, int64_t *ts_ms)
{
    pb_reader_t r = pb_reader(s);
    *value = 0;
    *ts_ms = 0;
    while (pb_more(&r)) {
        uint32_t f, wt;
        uint64_t x = 0;
        if (pb_read_tag(&r, &f, &wt) < 0)
            return prw_perr(p, E_SAMPLE);
        if (f == 1) {
            if (wt != PB_WT_I64 || pb_read_double(&r, value) < 0)
                return prw_perr(p, E_SAMPLE);
        } else if (f == 2) {
            if (wt != PB_WT_VARINT || pb_read_varint(&r, &x) < 0)
                return prw_perr(p, E_SAMPLE);
            *ts_ms = (int64_t)x;
        } else if (pb_skip(&r, wt) < 0) {
            return prw_perr(p, E_SAMPLE);
        }
    }
    return 0;
}

/* One TimeSeries into metric `m` (already zeroed). Two passes over the fields: the first
 * counts labels/samples/histograms so each array is allocated once. */
static int prw_series(prw_t *p, slice_t s, otlp_metric_t *m)
{
    int rc = 0;
    size_t n_labels = 0, n_samples = 0, n_hist = 0;
    const char *why = NULL;
    pb_reader_t r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f, wt;
        if (pb_read_tag(&r, &f, &wt) < 0)
            return prw_perr(p, E_TS);
        if ((f == 1 || f == 2 || f == 4) && wt != PB_WT_LEN)
            return prw_perr(p, E_TS);
        n_labels += f == 1;
        n_samples += f == 2;
        n_hist += f == 4;
        if (pb_skip(&r, wt) < 0)
            return prw_perr(p, E_TS);
    }
    otlp_kv_t *attrs = prw_alloc(p, n_labels, sizeof(otlp_kv_t), &rc);
    otlp_number_dp_t *pts = prw_alloc(p, n_samples, sizeof(otlp_number_dp_t), &rc);
    if (rc < 0)
        return rc;
    size_t na = 0, np = 0;
    int have_name = 0;
    m->type = OTLP_METRIC_GAUGE;
    r = pb_reader(s);
    while (pb_more(&r)) {
        uint32_t f = 0, wt = 0;
        slice_t sub = {NULL, 0}, name, value;
        double v;
        int64_t ts;
        (void)pb_read_tag(&r, &f, &wt); /* validated by the first pass */
        if (f != 1 && f != 2) {
            (void)pb_skip(&r, wt);
            continue;
        }
        (void)pb_read_bytes(&r, &sub);
        if (f == 1) {
            if ((rc = prw_label(p, sub, &name, &value)) < 0)
                return rc;
            if (!otlp_utf8_valid(name.p, name.len) || !otlp_utf8_valid(value.p, value.len))
                why = why ? why : R_UTF8;
            if (slice_eq_cstr(name, "__name__")) {
                m->name = value;
                have_name = 1;
                continue;
            }
            attrs[na].key = name;
            attrs[na].value.type = OTLP_ANY_STRING;
            attrs[na].value.u.str = value;
            na++;
        } else {
            if ((rc = prw_sample(p, sub, &v, &ts)) < 0)
                return rc;
            if (ts < 0 || ts > PROMRW_MAX_MS) {
                prw_reject(p, 1, R_TS);
                continue;
            }
            otlp_number_dp_t *dp = &pts[np++];
            memset(dp, 0, sizeof(*dp));
            dp->time_unix_nano = (uint64_t)ts * 1000000u;
            dp->as_double = v;
        }
    }
    if (!have_name)
        why = why ? why : R_NONAME;
    if (n_hist)
        prw_reject(p, n_hist, R_HIST);
    if (why) {
        /* the accepted samples become rejected; a series with nothing in it at all still
         * counts once, so that it shows up */
        prw_reject(p, np ? np : (n_samples || n_hist ? 0 : 1), why);
        np = 0;
    }
    for (size_t i = 0; i < np; i++)
        pts[i].attrs = (otlp_attrs_t){attrs, na};
    m->points.number.v = pts;
    m->points.number.n = np;
    p->out->n_items += np;
    return 0;
}

int promrw_decode_raw(slice_t body, arena_t *a, otlp_metrics_t *out)
{
    int rc = 0;
    prw_t p = {.a = a, .out = out};
    size_t n_series = 0;
    memset(out, 0, sizeof(*out));
    if (!a)
        return ORASI_EINVAL;
    pb_reader_t r = pb_reader(body);
    while (body.len && pb_more(&r)) {
        uint32_t f, wt;
        if (pb_read_tag(&r, &f, &wt) < 0 || (f == 1 && wt != PB_WT_LEN))
            goto bad;
        n_series += f == 1;
        if (pb_skip(&r, wt) < 0)
            goto bad;
    }
    otlp_resource_metrics_t *rm = prw_alloc(&p, 1, sizeof(*rm), &rc);
    otlp_scope_metrics_t *sm = prw_alloc(&p, 1, sizeof(*sm), &rc);
    otlp_metric_t *metrics = prw_alloc(&p, n_series, sizeof(otlp_metric_t), &rc);
    if (rc < 0)
        goto out;
    memset(rm, 0, sizeof(*rm));
    memset(sm, 0, sizeof(*sm));
    sm->scope.name = slice_make(SCOPE_NAME, sizeof(SCOPE_NAME) - 1);
    sm->metrics = metrics;
    rm->scope_metrics = sm;
    rm->n_scope_metrics = 1;
    out->resource_metrics = rm;
    out->n_resource_metrics = 1;
    r = pb_reader(body);
    while (body.len && pb_more(&r)) {
        uint32_t f = 0, wt = 0;
        slice_t sub = {NULL, 0};
        (void)pb_read_tag(&r, &f, &wt); /* validated by the counting pass */
        if (f != 1) {
            (void)pb_skip(&r, wt); /* 3: metadata, ignored */
            continue;
        }
        (void)pb_read_bytes(&r, &sub);
        otlp_metric_t *m = &metrics[sm->n_metrics];
        memset(m, 0, sizeof(*m));
        if ((rc = prw_series(&p, sub, m)) < 0)
            goto out;
        sm->n_metrics++;
    }
out:
    if (rc == ORASI_EPARSE)
        out->reject_msg = p.perr;
    return rc;
bad:
    rc = prw_perr(&p, E_WR);
    goto out;
}

int promrw_decode(slice_t snappy_body, size_t max_uncompressed, arena_t *a, otlp_metrics_t *out)
{
    size_t ulen = 0;
    memset(out, 0, sizeof(*out));
    if (!a)
        return ORASI_EINVAL;
    if (snappy_uncompressed_length((const char *)snappy_body.p, snappy_body.len, &ulen) !=
        SNAPPY_OK) {
        out->reject_msg = E_SNAPPY;
        return ORASI_EPARSE;
    }
    /* the length is the sender's claim: check it before trusting it with memory */
    if (ulen > max_uncompressed)
        return ORASI_ETOOBIG;
    char *raw = arena_alloc(a, ulen ? ulen : 1);
    if (!raw)
        return ORASI_ENOMEM;
    if (snappy_uncompress((const char *)snappy_body.p, snappy_body.len, raw, &ulen) != SNAPPY_OK) {
        out->reject_msg = E_SNAPPY;
        return ORASI_EPARSE;
    }
    return promrw_decode_raw(slice_make(raw, ulen), a, out);
}
