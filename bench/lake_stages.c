/*
 * lake_stages.c — the lake's CPU per span, stage by stage, without HTTP, WAL or threads
 * in the way: `orasi loadgen`'s own trace requests (protobuf, BATCH spans each) are
 * decoded (otlp_pb_decode_traces), appended to the buffers (lake_append_traces: flatten,
 * interning) and flushed to Parquet (lake_flush: writer, catalog) ROUNDS times. Prints the
 * minimum over rounds of each stage's CPU time per span: a shared VM only ever adds time,
 * so the minimum is the steadiest figure for comparing two builds (bench/lake_ab.sh
 * measures the whole server instead, with its noise). The decode figure reads every
 * request from memory, not cache, so it is higher than in the server. The lake lives in
 * a fresh directory under $TMPDIR (default /tmp), removed at the end.
 *
 *   build/lake_stages [ROUNDS=9] [REQUESTS=2000] [BATCH=100]
 */
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/tmpdir.h"
#include "lake/lake.h"
#include "loadgen/lggen.h"
#include "otlp/otlp_pb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double cpu_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int arg(int argc, char **argv, int i, int def, int max)
{
    int v = argc > i ? atoi(argv[i]) : def;
    return v < 1 ? 1 : v > max ? max : v;
}

int main(int argc, char **argv)
{
    int rounds = arg(argc, argv, 1, 9, 1000), nreq = arg(argc, argv, 2, 2000, 100000),
        batch = arg(argc, argv, 3, 100, 10000);
    int rc = 1;
    log_set_level(LOG_WARN);
    lggen_t *g = lggen_create(7, 0, LGGEN_PROTOBUF);
    buf_t *body = calloc((size_t)nreq, sizeof(*body));
    arena_t **a = calloc((size_t)nreq, sizeof(*a));
    otlp_traces_t *m = calloc((size_t)nreq, sizeof(*m));
    lake_t *l = NULL;
    char dir[4096], err[256] = "";
    int have_dir = 0;
    if (!g || !body || !a || !m)
        goto out;
    for (int i = 0; i < nreq; i++) {
        buf_init(&body[i], LGGEN_MAX_BODY);
        if (!(a[i] = arena_create(1 << 20, 0)) ||
            lggen_next(g, OTLP_TRACES, (size_t)batch, clock_wall_ns(), &body[i], NULL) < 0)
            goto out;
    }
    if (tmpdir_make("lake_stages", dir, sizeof(dir)))
        goto out;
    have_dir = 1;
    struct lake_options o;
    lake_options_default(&o);
    o.data_dir = dir;
    o.flush_interval = o.maintenance_interval = 3600ull * 1000000000ull; /* flushes: ours */
    o.flush_rows = 100000000;
    o.flush_bytes = 1ull << 34;
    o.max_buffer_bytes = 1ull << 35;
    if (lake_open(&o, &l, err, sizeof(err))) {
        fprintf(stderr, "lake_open: %s\n", err);
        goto out;
    }
    double best[3] = {1e9, 1e9, 1e9};
    uint64_t seq = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < nreq; i++) {
            arena_reset(a[i]);
            if (otlp_pb_decode_traces(slice_make(body[i].data, body[i].len), a[i], &m[i]) < 0)
                goto out;
        }
        double t1 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < nreq; i++)
            if (lake_append_traces(l, slice_cstr("t"), &m[i], ++seq))
                goto out;
        double t2 = cpu_s(CLOCK_THREAD_CPUTIME_ID), p2 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
        if (lake_flush(l, 0))
            goto out;
        double p3 = cpu_s(CLOCK_PROCESS_CPUTIME_ID), t3 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
        /* the flush runs on the lake's flusher thread: the process's time minus ours */
        double us = (double)nreq * batch / 1e6,
               v[3] = {(t1 - t0) / us, (t2 - t1) / us, ((p3 - p2) - (t3 - t2)) / us};
        for (int k = 0; k < 3; k++)
            best[k] = v[k] < best[k] ? v[k] : best[k];
        fprintf(stderr, "round %d: decode %.3f append %.3f flush %.3f us/span\n", r, v[0], v[1],
                v[2]);
    }
    printf("min us/span over %d rounds of %d x %d spans: decode %.3f append %.3f flush %.3f "
           "(append + flush %.3f)\n",
           rounds, nreq, batch, best[0], best[1], best[2], best[1] + best[2]);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "lake_stages failed\n");
    lake_close(l);
    if (have_dir && tmpdir_remove(dir))
        fprintf(stderr, "could not remove %s\n", dir);
    for (int i = 0; a && body && i < nreq; i++) {
        arena_destroy(a[i]);
        buf_free(&body[i]);
    }
    free(a);
    free(body);
    free(m);
    lggen_destroy(g);
    return rc;
}
