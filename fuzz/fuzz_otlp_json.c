/* fuzz_otlp_json.c — libFuzzer target for the OTLP/JSON decoder and encoder.
 *
 * The signal is chosen from the input (the first byte when it is not '{' or whitespace,
 * else by trying all three). Properties checked on every input:
 *   - decode returns 0, ORASI_EPARSE or ORASI_ENOMEM, with a message on failure;
 *   - counts add up: n_items equals the items present in the model's arrays;
 *   - an accepted model re-encodes, decodes again with the same item count and nothing
 *     rejected, and re-encodes to the very same bytes (the encoding is canonical).
 * The arena is capped so a hostile input hits ENOMEM instead of exhausting memory. */
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "otlp/otlp_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(x)                                                                                \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static size_t fz_count_traces(const otlp_traces_t *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_resource_spans; i++)
        for (size_t j = 0; j < t->resource_spans[i].n_scope_spans; j++)
            n += t->resource_spans[i].scope_spans[j].n_spans;
    return n;
}

static size_t fz_count_metrics(const otlp_metrics_t *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_resource_metrics; i++)
        for (size_t j = 0; j < m->resource_metrics[i].n_scope_metrics; j++) {
            const otlp_scope_metrics_t *sm = &m->resource_metrics[i].scope_metrics[j];
            for (size_t k = 0; k < sm->n_metrics; k++) {
                const otlp_metric_t *x = &sm->metrics[k];
                switch (x->type) {
                case OTLP_METRIC_GAUGE:
                case OTLP_METRIC_SUM:
                    n += x->points.number.n;
                    break;
                case OTLP_METRIC_HISTOGRAM:
                    n += x->points.histogram.n;
                    break;
                case OTLP_METRIC_EXP_HISTOGRAM:
                    n += x->points.exp_histogram.n;
                    break;
                case OTLP_METRIC_SUMMARY:
                    n += x->points.summary.n;
                    break;
                default:
                    break;
                }
            }
        }
    return n;
}

static size_t fz_count_logs(const otlp_logs_t *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_resource_logs; i++)
        for (size_t j = 0; j < l->resource_logs[i].n_scope_logs; j++)
            n += l->resource_logs[i].scope_logs[j].n_log_records;
    return n;
}

union fz_model {
    otlp_traces_t t;
    otlp_metrics_t m;
    otlp_logs_t l;
};

static int fz_decode(int sig, slice_t in, arena_t *a, union fz_model *m, size_t *items,
                     size_t *rejected, const char **msg)
{
    int rc;
    if (sig == OTLP_TRACES) {
        rc = otlp_json_decode_traces(in, a, &m->t);
        *items = m->t.n_items;
        *rejected = m->t.rejected;
        *msg = m->t.reject_msg;
        if (!rc)
            FZ_CHECK(fz_count_traces(&m->t) == m->t.n_items);
    } else if (sig == OTLP_METRICS) {
        rc = otlp_json_decode_metrics(in, a, &m->m);
        *items = m->m.n_items;
        *rejected = m->m.rejected;
        *msg = m->m.reject_msg;
        if (!rc)
            FZ_CHECK(fz_count_metrics(&m->m) == m->m.n_items);
    } else {
        rc = otlp_json_decode_logs(in, a, &m->l);
        *items = m->l.n_items;
        *rejected = m->l.rejected;
        *msg = m->l.reject_msg;
        if (!rc)
            FZ_CHECK(fz_count_logs(&m->l) == m->l.n_items);
    }
    return rc;
}

static int fz_encode(int sig, const union fz_model *m, buf_t *b)
{
    if (sig == OTLP_TRACES)
        return otlp_json_encode_traces(&m->t, b);
    if (sig == OTLP_METRICS)
        return otlp_json_encode_metrics(&m->m, b);
    return otlp_json_encode_logs(&m->l, b);
}

static void fz_one(int sig, slice_t in)
{
    arena_t *a = arena_create(16384, 128u << 20);
    if (!a)
        return;
    union fz_model m1, m2;
    size_t items, rejected, items2, rejected2;
    const char *msg;
    int rc = fz_decode(sig, in, a, &m1, &items, &rejected, &msg);
    FZ_CHECK(rc == 0 || rc == ORASI_EPARSE || rc == ORASI_ENOMEM);
    if (rc) {
        FZ_CHECK(msg != NULL && msg[0] != '\0');
        goto out;
    }
    FZ_CHECK(!rejected == !msg);
    buf_t b1, b2;
    buf_init(&b1, 64u << 20);
    buf_init(&b2, 64u << 20);
    if (fz_encode(sig, &m1, &b1) == 0) {
        rc = fz_decode(sig, buf_slice(&b1), a, &m2, &items2, &rejected2, &msg);
        if (rc != ORASI_ENOMEM) {
            FZ_CHECK(rc == 0);
            FZ_CHECK(items2 == items && rejected2 == 0);
            FZ_CHECK(fz_encode(sig, &m2, &b2) == 0);
            FZ_CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
        }
    }
    buf_free(&b1);
    buf_free(&b2);
out:
    arena_destroy(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] < 3) {
        fz_one(data[0], slice_make(data + 1, size - 1));
        return 0;
    }
    for (int sig = 0; sig < 3; sig++)
        fz_one(sig, slice_make(data, size));
    return 0;
}
