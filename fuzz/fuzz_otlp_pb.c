/*
 * fuzz_otlp_pb.c — libFuzzer target for the OTLP protobuf decoder, scanner and encoder.
 *
 * Every input is tried as traces, metrics and logs. Invariants checked (abort on breach):
 *   - decode and scan return the same code and, on success, the same item and rejection
 *     counts and the same first message (the forwarder/bridge agreement, DESIGN.md).
 *     On ORASI_EPARSE both give a message, not necessarily the same one: decode's
 *     counting pre-pass may meet a broken outer field before scan meets an inner one;
 *   - a decoded model re-encodes, and that encoding decodes with the same number of items
 *     and no rejection (what was accepted is valid);
 *   - re-encoding is stable: encode(decode(encode(model))) == encode(model).
 */
#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "otlp/otlp_pb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(c)                                                                                \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

typedef struct {
    int rc;
    size_t items, rejected;
    const char *msg;
} fz_res_t;

static fz_res_t fz_decode(enum otlp_signal sig, slice_t body, arena_t *a, buf_t *enc)
{
    fz_res_t r;
    otlp_traces_t t;
    otlp_metrics_t m;
    otlp_logs_t l;
    int erc = 0;
    if (sig == OTLP_TRACES) {
        r.rc = otlp_pb_decode_traces(body, a, &t);
        r.items = t.n_items, r.rejected = t.rejected, r.msg = t.reject_msg;
        if (r.rc == 0 && enc)
            erc = otlp_pb_encode_traces(&t, enc);
    } else if (sig == OTLP_METRICS) {
        r.rc = otlp_pb_decode_metrics(body, a, &m);
        r.items = m.n_items, r.rejected = m.rejected, r.msg = m.reject_msg;
        if (r.rc == 0 && enc)
            erc = otlp_pb_encode_metrics(&m, enc);
    } else {
        r.rc = otlp_pb_decode_logs(body, a, &l);
        r.items = l.n_items, r.rejected = l.rejected, r.msg = l.reject_msg;
        if (r.rc == 0 && enc)
            erc = otlp_pb_encode_logs(&l, enc);
    }
    FZ_CHECK(erc == 0);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    slice_t body = slice_make(data, size);
    for (int s = OTLP_TRACES; s <= OTLP_LOGS; s++) {
        enum otlp_signal sig = (enum otlp_signal)s;
        arena_t *a = arena_create(16 * 1024, 256u << 20);
        buf_t e1, e2;
        buf_init(&e1, 64u << 20);
        buf_init(&e2, 64u << 20);
        FZ_CHECK(a != NULL);
        fz_res_t d = fz_decode(sig, body, a, &e1);
        otlp_scan_t sc;
        int src = otlp_pb_scan(sig, body, &sc);
        FZ_CHECK(d.rc == 0 || d.rc == ORASI_EPARSE || d.rc == ORASI_ENOMEM);
        if (d.rc != ORASI_ENOMEM) {
            FZ_CHECK(d.rc == src);
            if (d.rc == 0) {
                FZ_CHECK(d.msg == sc.reject_msg);
                FZ_CHECK(d.items == sc.n_items && d.rejected == sc.rejected);
                fz_res_t d2 = fz_decode(sig, buf_slice(&e1), a, &e2);
                FZ_CHECK(d2.rc == 0 && d2.rejected == 0 && d2.items == d.items);
                FZ_CHECK(e1.len == e2.len &&
                         (e1.len == 0 || memcmp(e1.data, e2.data, e1.len) == 0));
            } else {
                FZ_CHECK(d.msg != NULL);
            }
        }
        buf_free(&e1);
        buf_free(&e2);
        arena_destroy(a);
    }
    return 0;
}
