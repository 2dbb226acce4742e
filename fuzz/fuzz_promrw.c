/*
 * fuzz_promrw.c — libFuzzer target for the Prometheus remote-write decoder.
 *
 * The input is decoded twice: as an uncompressed WriteRequest (promrw_decode_raw) and,
 * after real snappy compression, through promrw_decode — both must agree. The input is
 * also fed to promrw_decode as if it were a snappy body (garbage snappy must fail
 * cleanly, with the size cap honoured). Counts must match the model.
 */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "otlp/promrw.h"

#include <snappy-c.h>
#include <stdint.h>
#include <stdlib.h>

#define FZ_CHECK(c)                                                                                \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static size_t fz_points(const otlp_metrics_t *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_resource_metrics; i++)
        for (size_t j = 0; j < m->resource_metrics[i].n_scope_metrics; j++) {
            const otlp_scope_metrics_t *sm = &m->resource_metrics[i].scope_metrics[j];
            for (size_t k = 0; k < sm->n_metrics; k++) {
                FZ_CHECK(sm->metrics[k].type == OTLP_METRIC_GAUGE);
                n += sm->metrics[k].points.number.n;
            }
        }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t *a = arena_create(16 * 1024, 256u << 20);
    FZ_CHECK(a != NULL);
    otlp_metrics_t raw, z, g;
    int rc1 = promrw_decode_raw(slice_make(data, size), a, &raw);
    FZ_CHECK(rc1 == 0 || rc1 == ORASI_EPARSE || rc1 == ORASI_ENOMEM);
    if (rc1 == 0)
        FZ_CHECK(fz_points(&raw) == raw.n_items);

    size_t zcap = snappy_max_compressed_length(size), zlen = zcap;
    char *zb = orasi_malloc(zcap ? zcap : 1);
    FZ_CHECK(zb != NULL);
    FZ_CHECK(snappy_compress((const char *)data, size, zb, &zlen) == SNAPPY_OK);
    int rc2 = promrw_decode(slice_make(zb, zlen), 16u << 20, a, &z);
    if (rc1 != ORASI_ENOMEM && rc2 != ORASI_ENOMEM) {
        FZ_CHECK(rc1 == rc2);
        if (rc1 == 0)
            FZ_CHECK(z.n_items == raw.n_items && z.rejected == raw.rejected);
    }
    /* a cap below the real size is refused before decoding */
    if (size > 0)
        FZ_CHECK(promrw_decode(slice_make(zb, zlen), size - 1, a, &z) == ORASI_ETOOBIG);
    orasi_free(zb);

    int rc3 = promrw_decode(slice_make(data, size), 1u << 20, a, &g);
    FZ_CHECK(rc3 == 0 || rc3 == ORASI_EPARSE || rc3 == ORASI_ETOOBIG || rc3 == ORASI_ENOMEM);
    arena_destroy(a);
    return 0;
}
