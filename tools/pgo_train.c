/*
 * pgo_train.c — the training run of the release build's profile-guided optimisation
 * (docs/internals/build.md). `make` builds an instrumented copy of the code
 * (-DORASI_PGO=generate), runs this program once, and compiles the release build with the
 * profile it leaves (-DORASI_PGO=use).
 *
 * What it runs is what a busy `orasi run` spends its CPU on, in one process and without
 * a network: `orasi loadgen`'s simulated traffic of all three signals (traces, logs,
 * metrics), as OTLP protobuf and OTLP/JSON, in requests of several sizes, for two
 * tenants; each request decoded (otlp_pb / otlp_json), written to a write-ahead log
 * (policy os: written, not synced) and read back by recovery and a cursor, appended to
 * the lake's buffers (flatten, interning) and flushed to Parquet (writer, ZSTD, catalog).
 * Its seed differs from the benchmark's (bench/run), and traces are a third of the work,
 * so the profile is not a recording of the benchmark. Code it never reaches (HTTP, gRPC,
 * SQL, forwarding) is compiled as without a profile (-fprofile-partial-training).
 *
 *   pgo_train [SCALE=1]     (SCALE multiplies the number of requests; ~15 s at 1 instrumented)
 *
 * Work happens in a fresh directory under $TMPDIR (default /tmp), removed at the end.
 * Exit status 0 on success; any failure is reported and is 1 (the build then stops: a
 * profile of a failed run would be a poor guide).
 */
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/tmpdir.h"
#include "lake/lake.h"
#include "loadgen/lggen.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_pb.h"
#include "wal/wal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRAIN_SEED 20261122 /* not bench/run's loadgen seeds (1, 7) */

/* One request: decode it as `enc`, append it to the lake for `tenant`. */
static int one(lake_t *l, arena_t *a, enum otlp_signal sig, enum lggen_encoding enc,
               slice_t body, slice_t tenant, uint64_t seq)
{
    int rc;
    arena_reset(a);
    switch (sig) {
    case OTLP_TRACES: {
        otlp_traces_t m;
        rc = enc == LGGEN_JSON ? otlp_json_decode_traces(body, a, &m)
                               : otlp_pb_decode_traces(body, a, &m);
        return rc < 0 ? rc : lake_append_traces(l, tenant, &m, seq);
    }
    case OTLP_LOGS: {
        otlp_logs_t m;
        rc = enc == LGGEN_JSON ? otlp_json_decode_logs(body, a, &m)
                               : otlp_pb_decode_logs(body, a, &m);
        return rc < 0 ? rc : lake_append_logs(l, tenant, &m, seq);
    }
    default: {
        otlp_metrics_t m;
        rc = enc == LGGEN_JSON ? otlp_json_decode_metrics(body, a, &m)
                               : otlp_pb_decode_metrics(body, a, &m);
        return rc < 0 ? rc : lake_append_metrics(l, tenant, &m, seq);
    }
    }
}

/* Every record of the WAL in `dir`, read back after a reopen (recovery + cursor). */
static int wal_readback(const char *dir, uint64_t want)
{
    wal_options_t o;
    wal_options_default(&o);
    o.sync = WAL_SYNC_OS;
    wal_t *w = NULL;
    wal_cursor_t *c = NULL;
    char err[256] = "";
    uint64_t n = 0;
    slice_t p;
    int rc = wal_open(dir, &o, &w, err, sizeof(err));
    if (!rc)
        rc = wal_cursor_open(w, &c);
    while (!rc) {
        int r = wal_cursor_next(c, NULL, NULL, &p);
        if (r != 1) {
            rc = r;
            break;
        }
        n++;
    }
    wal_cursor_close(c);
    wal_close(w);
    if (rc < 0 || n != want) {
        fprintf(stderr, "pgo_train: WAL read back %llu of %llu records (%d) %s\n",
                (unsigned long long)n, (unsigned long long)want, rc, err);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1 || scale > 100) {
        fprintf(stderr, "usage: pgo_train [SCALE 1..100]\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    static const enum otlp_signal sigs[] = {OTLP_TRACES, OTLP_LOGS, OTLP_METRICS};
    static const size_t batches[] = {50, 200, 512, 2048};
    char dir[4096], sub[4200], err[256] = "";
    lake_t *l = NULL;
    wal_t *w = NULL;
    arena_t *a = arena_create(1 << 20, 0);
    buf_t body;
    buf_init(&body, LGGEN_MAX_BODY);
    lggen_t *gen[2] = {lggen_create(TRAIN_SEED, 0, LGGEN_PROTOBUF),
                       lggen_create(TRAIN_SEED, 1, LGGEN_JSON)};
    int rc = 1, have_dir = 0;
    uint64_t seq = 0, walrecs = 0;
    if (!a || !gen[0] || !gen[1] || tmpdir_make("orasi-pgo", dir, sizeof(dir))) {
        fprintf(stderr, "pgo_train: setup failed\n");
        goto out;
    }
    have_dir = 1;
    struct lake_options lo;
    lake_options_default(&lo);
    lo.data_dir = dir;
    lo.flush_interval = lo.maintenance_interval = 3600ull * 1000000000ull; /* ours below */
    if (lake_open(&lo, &l, err, sizeof(err))) {
        fprintf(stderr, "pgo_train: lake_open: %s\n", err);
        goto out;
    }
    wal_options_t wo;
    wal_options_default(&wo);
    wo.sync = WAL_SYNC_OS;
    wo.segment_bytes = 8u << 20; /* a few rolls */
    wo.max_bytes = 1ull << 34;
    snprintf(sub, sizeof(sub), "%s/wal", dir);
    if (wal_open(sub, &wo, &w, err, sizeof(err))) {
        fprintf(stderr, "pgo_train: wal_open: %s\n", err);
        goto out;
    }
    /* items per (signal, encoding, batch size): protobuf is the common case */
    for (int round = 0; round < 2 * scale; round++)
        for (size_t s = 0; s < sizeof(sigs) / sizeof(sigs[0]); s++)
            for (int e = 0; e < 2; e++)
                for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
                    size_t items = e == LGGEN_JSON ? 8000 : 60000;
                    for (size_t k = 0; k * batches[b] < items; k++) {
                        slice_t tenant = slice_cstr(k % 4 == 3 ? "team-b" : "default");
                        buf_clear(&body);
                        if (lggen_next(gen[e], sigs[s], batches[b], clock_wall_ns(), &body,
                                       NULL) < 0) {
                            fprintf(stderr, "pgo_train: lggen_next failed\n");
                            goto out;
                        }
                        uint64_t wseq;
                        if (e == LGGEN_PROTOBUF && k % 2 == 0) {
                            if (wal_append_sync(w, (uint8_t)sigs[s], body.data, body.len,
                                                &wseq)) {
                                fprintf(stderr, "pgo_train: wal_append failed\n");
                                goto out;
                            }
                            walrecs++;
                        }
                        int r = one(l, a, sigs[s], (enum lggen_encoding)e,
                                    slice_make(body.data, body.len), tenant, ++seq);
                        if (r < 0) {
                            fprintf(stderr, "pgo_train: request failed (%d)\n", r);
                            goto out;
                        }
                    }
                    if (lake_flush(l, 0)) {
                        fprintf(stderr, "pgo_train: lake_flush failed\n");
                        goto out;
                    }
                }
    wal_close(w);
    w = NULL;
    rc = wal_readback(sub, walrecs);
out:
    wal_close(w);
    lake_close(l);
    if (have_dir && tmpdir_remove(dir)) {
        fprintf(stderr, "pgo_train: could not remove %s\n", dir);
        rc = 1;
    }
    lggen_destroy(gen[0]);
    lggen_destroy(gen[1]);
    buf_free(&body);
    arena_destroy(a);
    return rc;
}
