/* fuzz_grpc_frame.c — libFuzzer target for gRPC message framing (grpc.c) and the
 * decompression it leads to (http_decode.c), plus grpc-timeout and grpc-message
 * percent-encoding.
 *
 * Properties: a unary body that is accepted is exactly prefix + message, and framing the
 * message again gives the input back; a compressed message decompresses to at most the
 * cap (a bomb cannot pass it); grpc-timeout values are monotonic in their digits; the
 * percent-encoding is printable ASCII and decodes back to the input. */
#include "core/arena.h"
#include "core/err.h"
#include "http/grpc.h"
#include "http/http_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(x)                                                                        \
    do {                                                                                   \
        if (!(x))                                                                          \
            abort();                                                                       \
    } while (0)

#define FZ_CAP (1u << 20)

static http_decoder_t *fz_dec;

static int fz_hex(char c)
{
    return c <= '9' ? c - '0' : c - 'A' + 10;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int comp = 0;
    uint32_t mlen = 0;
    int p = grpc_frame_parse(data, size, &comp, &mlen);
    FZ_CHECK(p == GRPC_FRAME_HEADER || p == ORASI_EAGAIN || p == ORASI_EPARSE);
    FZ_CHECK(p != ORASI_EAGAIN || size < GRPC_FRAME_HEADER);

    slice_t msg;
    int rc = grpc_frame_unary(data, size, FZ_CAP, &comp, &msg);
    if (rc == 0) {
        FZ_CHECK(msg.len + GRPC_FRAME_HEADER == size && msg.p == data + GRPC_FRAME_HEADER);
        FZ_CHECK(comp == 0 || comp == 1);
        uint8_t hdr[GRPC_FRAME_HEADER];
        grpc_frame_header(hdr, comp, (uint32_t)msg.len);
        FZ_CHECK(memcmp(hdr, data, GRPC_FRAME_HEADER) == 0);
        if (comp) {
            if (!fz_dec)
                fz_dec = http_decode_create();
            buf_t out;
            buf_init(&out, FZ_CAP);
            int d = http_decode_run(fz_dec, HTTP_ENC_GZIP, msg.p, msg.len, &out);
            FZ_CHECK(d == 0 || d == ORASI_ETOOBIG || d == ORASI_EPARSE || d == ORASI_ENOMEM);
            FZ_CHECK(out.len <= FZ_CAP);
            buf_free(&out);
            buf_init(&out, FZ_CAP);
            d = http_decode_run(fz_dec, HTTP_ENC_ZSTD, msg.p, msg.len, &out);
            FZ_CHECK(d == 0 || d == ORASI_ETOOBIG || d == ORASI_EPARSE || d == ORASI_ENOMEM);
            FZ_CHECK(out.len <= FZ_CAP);
            buf_free(&out);
        }
    } else {
        FZ_CHECK(rc == ORASI_EPARSE || rc == ORASI_ETOOBIG);
    }

    /* grpc-timeout on a short prefix */
    uint64_t ns;
    size_t tl = size < 12 ? size : 12;
    if (grpc_timeout_parse(slice_make(data, tl), &ns) == 0) {
        FZ_CHECK(tl >= 2 && tl <= 9);
        uint64_t digits = 0;
        for (size_t i = 0; i + 1 < tl; i++) {
            FZ_CHECK(data[i] >= '0' && data[i] <= '9');
            digits = digits * 10 + (uint64_t)(data[i] - '0');
        }
        FZ_CHECK(data[tl - 1] == 'n' ? ns == digits : ns >= digits);
    }

    /* percent-encoding round trip of the input as a C string */
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    arena_t *a = arena_create(4096, 0);
    char *e = grpc_percent_encode(a, s);
    FZ_CHECK(e != NULL);
    size_t o = 0;
    for (size_t i = 0; e[i]; i++) {
        FZ_CHECK(e[i] >= 0x20 && e[i] <= 0x7e);
        char ch = e[i];
        if (ch == '%') {
            FZ_CHECK(e[i + 1] && e[i + 2]);
            ch = (char)(fz_hex(e[i + 1]) << 4 | fz_hex(e[i + 2]));
            i += 2;
        }
        FZ_CHECK(s[o] == ch);
        o++;
    }
    FZ_CHECK(o == strlen(s));
    arena_destroy(a);
    free(s);
    return 0;
}
