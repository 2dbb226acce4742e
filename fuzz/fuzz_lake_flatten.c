/*
 * fuzz_lake_flatten.c — decode arbitrary bytes as an OTLP request (first byte picks the
 * signal) and flatten every accepted item into lake tables: attribute values to text
 * (JSON of nested arrays/maps, doubles, base64), ranges into child columns, the row sort,
 * and the mark/rollback used to undo a record. Invariants checked: every column has
 * exactly `rows` entries, rows appended == items accepted, a rollback restores the
 * marked row count.
 */
#include "core/arena.h"
#include "core/err.h"
#include "lake/colbuf.h"
#include "lake/flatten.h"
#include "otlp/otlp_pb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
    colbuf_table_t *t[LAKE_SIG_COUNT];
    colbuf_mark_t m[LAKE_SIG_COUNT];
};

static colbuf_table_t *table(void *arg, int sig, int64_t ts, int *err)
{
    struct ctx *c = arg;
    (void)ts;
    if (!c->t[sig]) {
        c->t[sig] = colbuf_table_create(sig, 256u << 20);
        if (!c->t[sig]) {
            *err = ORASI_ENOMEM;
            return NULL;
        }
        colbuf_mark(c->t[sig], &c->m[sig]);
    }
    return c->t[sig];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int sig = data[0] % 3;
    slice_t body = slice_make(data + 1, size - 1);
    arena_t *a = arena_create(1 << 16, 64u << 20);
    if (!a)
        return 0;
    struct ctx c;
    memset(&c, 0, sizeof(c));
    flatten_t f;
    flatten_init(&f, table, &c, 1u << 20);
    union {
        otlp_traces_t t;
        otlp_metrics_t m;
        otlp_logs_t l;
    } u;
    int rc;
    size_t items = 0;
    if (sig == 0) {
        rc = otlp_pb_decode_traces(body, a, &u.t);
        if (!rc) {
            items = u.t.n_items;
            rc = flatten_traces(&f, &u.t) ? -1 : 0;
        }
    } else if (sig == 1) {
        rc = otlp_pb_decode_metrics(body, a, &u.m);
        if (!rc) {
            items = u.m.n_items;
            rc = flatten_metrics(&f, &u.m) ? -1 : 0;
        }
    } else {
        rc = otlp_pb_decode_logs(body, a, &u.l);
        if (!rc) {
            items = u.l.n_items;
            rc = flatten_logs(&f, &u.l) ? -1 : 0;
        }
    }
    size_t rows = 0;
    for (int s = 0; s < LAKE_SIG_COUNT; s++) {
        colbuf_table_t *t = c.t[s];
        if (!t)
            continue;
        rows += t->rows;
        if (rc == 0) {
            for (size_t k = 0; k < t->schema->ncols; k++)
                if (t->cols[k].n != t->rows)
                    abort();
            uint32_t *perm = malloc((t->rows ? t->rows : 1) * sizeof(*perm));
            if (perm && colbuf_sort(t, perm) == 0)
                for (size_t i = 1; i < t->rows; i++)
                    if (perm[i] >= t->rows || perm[i] == perm[i - 1])
                        abort();
            free(perm);
        }
        colbuf_rollback(t, &c.m[s]);
        if (t->rows != 0)
            abort();
        colbuf_table_destroy(t);
    }
    /* Exactly one row per accepted item: gauge/sum/histogram/... points, spans, logs. */
    if (rc == 0 && rows != items)
        abort();
    flatten_free(&f);
    arena_destroy(a);
    return 0;
}
