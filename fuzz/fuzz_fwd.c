/*
 * fuzz_fwd.c — libFuzzer target for the forwarder's byte-level code on hostile input:
 * split by destination (forward/split.h), resource enrichment (forward/enrich.h), the
 * X-Orasi-Batch parser (forward/dedupe.h) and the etcd range-response parser
 * (forward/members.h). Invariants (abort on breach):
 *   - when the input is a valid request (otlp_pb_scan == 0), the split succeeds, and the
 *     concatenated outputs are a valid request with the same accepted and rejected item
 *     counts; the per-output item counts add up to every item of the input;
 *   - enrichment of a valid request gives a valid request with the same counts;
 *   - a batch id that parses formats back to the same text.
 */
#include "core/buf.h"
#include "core/err.h"
#include "forward/dedupe.h"
#include "forward/enrich.h"
#include "forward/fwd.h"
#include "forward/members.h"
#include "forward/split.h"
#include "otlp/otlp_pb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(c)                                                                                \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define NDEST 3

static int fz_dest(void *ud, slice_t key)
{
    (void)ud;
    return (int)(split_key_hash(key) % NDEST);
}

static void fz_split(enum otlp_signal sig, slice_t in)
{
    otlp_scan_t s0;
    int rc0 = otlp_pb_scan(sig, in, &s0);
    split_out_t outs[NDEST];
    memset(outs, 0, sizeof(outs));
    for (int d = 0; d < NDEST; d++)
        buf_init(&outs[d].body, 4 * in.len + 4096);
    int rc = split_request(sig, in, NDEST, fz_dest, NULL, outs);
    if (rc0 == 0) {
        FZ_CHECK(rc == 0);
        buf_t cat;
        buf_init(&cat, 16 * in.len + 4096);
        size_t items = 0;
        for (int d = 0; d < NDEST; d++) {
            FZ_CHECK(buf_append_slice(&cat, buf_slice(&outs[d].body)) == 0);
            items += outs[d].items;
        }
        otlp_scan_t s1;
        FZ_CHECK(otlp_pb_scan(sig, buf_slice(&cat), &s1) == 0);
        FZ_CHECK(s1.n_items == s0.n_items && s1.rejected == s0.rejected);
        FZ_CHECK(items == s0.n_items + s0.rejected);
        buf_free(&cat);
    }
    for (int d = 0; d < NDEST; d++)
        buf_free(&outs[d].body);
}

static void fz_enrich(enum otlp_signal sig, slice_t in)
{
    otlp_scan_t s0, s1;
    if (otlp_pb_scan(sig, in, &s0) != 0)
        return;
    enrich_attrs_t a = {0};
    enrich_attrs_add(&a, "host.name", "fuzz-host");
    enrich_attrs_add(&a, "k8s.pod.name", "pod-1");
    buf_t out;
    buf_init(&out, 2 * in.len + 4096);
    FZ_CHECK(enrich_request(in, &a, &out) == 0);
    FZ_CHECK(otlp_pb_scan(sig, buf_slice(&out), &s1) == 0);
    FZ_CHECK(s1.n_items == s0.n_items && s1.rejected == s0.rejected);
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    slice_t in = slice_make(data, size);
    for (int s = 0; s <= OTLP_LOGS; s++) {
        fz_split((enum otlp_signal)s, in);
        fz_enrich((enum otlp_signal)s, in);
    }
    dedupe_batch_t *b = malloc(sizeof(*b));
    if (b && dedupe_parse(in, b) == 0) {
        buf_t out;
        buf_init(&out, 1 << 20);
        FZ_CHECK(dedupe_format(&out, b->origin, b->ids, b->n) == 0);
        /* ids print canonically: re-parsing gives the same set */
        dedupe_batch_t *c = malloc(sizeof(*c));
        FZ_CHECK(c && dedupe_parse(buf_slice(&out), c) == 0 && c->n == b->n &&
                 memcmp(c->ids, b->ids, b->n * sizeof(b->ids[0])) == 0);
        free(c);
        buf_free(&out);
    }
    free(b);
    fwd_member_spec_t specs[8];
    int64_t rev = 0;
    char *json = malloc(size + 1);
    if (json) {
        memcpy(json, data, size);
        json[size] = '\0';
        int n = members_parse_range(json, size, "/orasi/bridges/eu/", specs, 8, &rev);
        FZ_CHECK(n <= 8);
        for (int i = 0; i < n; i++)
            FZ_CHECK(strncmp(specs[i].endpoint, "http://", 7) == 0);
        free(json);
    }
    return 0;
}
