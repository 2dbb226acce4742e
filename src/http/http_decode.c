/*
 * http_decode.c — request body decompression (gzip/x-gzip via zlib, zstd) with a hard
 * output cap, so a compression bomb costs at most the cap in memory.
 *
 * Output grows by doubling up to out->max; once the buffer is at the cap and the
 * decompressor still has output, the answer is ORASI_ETOOBIG (HTTP 413 / gRPC 8). zstd's
 * window is limited to what the cap needs, so a frame cannot make the decoder allocate
 * a 128 MiB window for a small body. Decoder states are kept per worker and reset between
 * requests (creating a zstd context costs more than decoding a small body).
 */
#include "http/http_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

struct http_decoder {
    z_stream z;
    int z_ready;
    ZSTD_DCtx *zstd;
};

enum http_enc http_decode_encoding(slice_t v)
{
    if (v.len == 0 || slice_eq_nocase(v, "identity"))
        return HTTP_ENC_IDENTITY;
    /* Snappy (Prometheus remote write) is block-framed and part of that protocol, not a
     * generic transfer coding: the body is left as sent and the handler decodes it within
     * its own cap. Handlers that do not expect it answer 415 themselves. */
    if (slice_eq_nocase(v, "snappy"))
        return HTTP_ENC_IDENTITY;
    if (slice_eq_nocase(v, "gzip") || slice_eq_nocase(v, "x-gzip"))
        return HTTP_ENC_GZIP;
    if (slice_eq_nocase(v, "zstd"))
        return HTTP_ENC_ZSTD;
    return HTTP_ENC_UNSUPPORTED;
}

static voidpf http_decode_zalloc(voidpf opaque, uInt items, uInt size)
{
    return orasi_calloc(items, size);
}

static void http_decode_zfree(voidpf opaque, voidpf p)
{
    orasi_free(p);
}

http_decoder_t *http_decode_create(void)
{
    return orasi_calloc(1, sizeof(http_decoder_t));
}

void http_decode_destroy(http_decoder_t *d)
{
    if (!d)
        return;
    if (d->z_ready)
        inflateEnd(&d->z);
    if (d->zstd)
        ZSTD_freeDCtx(d->zstd);
    orasi_free(d);
}

/* Make room for more output: double, bounded by the cap. ETOOBIG when at the cap. */
static int http_decode_grow(buf_t *out, size_t hint)
{
    if (out->len >= out->max)
        return ORASI_ETOOBIG;
    size_t room = out->cap - out->len;
    if (room >= 4096)
        return 0;
    size_t want = out->cap ? out->cap : hint;
    if (want < 16384)
        want = 16384;
    if (want > out->max - out->len)
        want = out->max - out->len;
    return buf_reserve(out, want);
}

static int http_decode_gzip(http_decoder_t *d, const uint8_t *in, size_t len, buf_t *out)
{
    int rc;
    if (!d->z_ready) {
        d->z.zalloc = http_decode_zalloc;
        d->z.zfree = http_decode_zfree;
        d->z.opaque = NULL;
        d->z.next_in = NULL;
        d->z.avail_in = 0;
        /* 15 + 32: accept gzip and zlib headers (some clients label zlib as gzip) */
        if (inflateInit2(&d->z, 15 + 32) != Z_OK)
            return ORASI_ENOMEM;
        d->z_ready = 1;
    } else if (inflateReset(&d->z) != Z_OK) {
        return ORASI_EINTERNAL;
    }
    size_t pos = 0;
    for (;;) {
        rc = http_decode_grow(out, len * 4);
        if (rc < 0)
            return rc;
        size_t in_chunk = len - pos > UINT32_MAX ? UINT32_MAX : len - pos;
        size_t out_room = out->cap - out->len;
        if (out_room > UINT32_MAX)
            out_room = UINT32_MAX;
        d->z.next_in = (Bytef *)(uintptr_t)(in + pos);
        d->z.avail_in = (uInt)in_chunk;
        d->z.next_out = out->data + out->len;
        d->z.avail_out = (uInt)out_room;
        int zr = inflate(&d->z, Z_NO_FLUSH);
        pos += in_chunk - d->z.avail_in;
        out->len += out_room - d->z.avail_out;
        if (zr == Z_STREAM_END) {
            if (pos == len)
                return 0;
            /* another gzip member follows (concatenated gzip is valid) */
            if (inflateReset(&d->z) != Z_OK)
                return ORASI_EPARSE;
            continue;
        }
        if (zr == Z_MEM_ERROR)
            return ORASI_ENOMEM;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return ORASI_EPARSE;
        if (zr == Z_BUF_ERROR && pos == len && d->z.avail_out > 0)
            return ORASI_EPARSE; /* truncated stream */
        if (pos == len && d->z.avail_out > 0)
            return ORASI_EPARSE;
    }
}

static int http_decode_zstd(http_decoder_t *d, const uint8_t *in, size_t len, buf_t *out)
{
    if (!d->zstd) {
        d->zstd = ZSTD_createDCtx();
        if (!d->zstd)
            return ORASI_ENOMEM;
    } else {
        ZSTD_DCtx_reset(d->zstd, ZSTD_reset_session_only);
    }
    /* window no larger than the output cap needs (min 1 MiB, max 128 MiB) */
    int wl = 20;
    while (wl < 27 && ((size_t)1 << wl) < out->max)
        wl++;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d->zstd, ZSTD_d_windowLogMax, wl)))
        return ORASI_EPARSE;
    unsigned long long declared = ZSTD_getFrameContentSize(in, len);
    if (declared != ZSTD_CONTENTSIZE_ERROR && declared != ZSTD_CONTENTSIZE_UNKNOWN &&
        declared > out->max - out->len)
        return ORASI_ETOOBIG;
    ZSTD_inBuffer ib = {in, len, 0};
    size_t last = 1;
    for (;;) {
        int rc = http_decode_grow(out, len * 4);
        if (rc < 0)
            return last == 0 && ib.pos == ib.size ? 0 : rc;
        ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len, 0};
        last = ZSTD_decompressStream(d->zstd, &ob, &ib);
        out->len += ob.pos;
        if (ZSTD_isError(last)) {
            if (ZSTD_getErrorCode(last) == ZSTD_error_memory_allocation)
                return ORASI_ENOMEM;
            if (ZSTD_getErrorCode(last) == ZSTD_error_frameParameter_windowTooLarge)
                return ORASI_ETOOBIG;
            return ORASI_EPARSE;
        }
        if (ib.pos == ib.size && ob.pos < ob.size)
            return last == 0 ? 0 : ORASI_EPARSE; /* all input used: done or truncated */
    }
}

int http_decode_run(http_decoder_t *d, enum http_enc enc, const uint8_t *in, size_t len,
                    buf_t *out)
{
    if (enc == HTTP_ENC_IDENTITY || len == 0)
        return buf_append(out, in, len);
    if (enc != HTTP_ENC_GZIP && enc != HTTP_ENC_ZSTD)
        return ORASI_EUNSUPPORTED;
    http_decoder_t *tmp = NULL;
    if (!d) {
        d = tmp = http_decode_create();
        if (!d)
            return ORASI_ENOMEM;
    }
    int rc = enc == HTTP_ENC_GZIP ? http_decode_gzip(d, in, len, out)
                                  : http_decode_zstd(d, in, len, out);
    http_decode_destroy(tmp);
    return rc;
}
