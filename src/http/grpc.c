/*
 * grpc.c — unary gRPC on top of the HTTP/2 server: message framing, grpc-encoding,
 * grpc-timeout, and answers with trailers (grpc.h, http.h).
 *
 * Status choices follow the gRPC spec (doc/PROTOCOL-HTTP2.md, doc/compression.md) and
 * what grpc-go does: an unknown method or an unsupported grpc-encoding is UNIMPLEMENTED
 * (12); a message over the size limit, before or after decompression, is
 * RESOURCE_EXHAUSTED (8); bad framing, a compressed flag without an encoding, a
 * message that does not decompress, or a malformed grpc-timeout are INTERNAL (13).
 */
#include "http/grpc.h"
#include "http/http_int.h"

#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

int grpc_frame_parse(const uint8_t *p, size_t len, int *compressed, uint32_t *msg_len)
{
    if (len < GRPC_FRAME_HEADER)
        return ORASI_EAGAIN;
    if (p[0] > 1)
        return ORASI_EPARSE;
    *compressed = p[0];
    *msg_len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    return GRPC_FRAME_HEADER;
}

void grpc_frame_header(uint8_t out[GRPC_FRAME_HEADER], int compressed, uint32_t len)
{
    out[0] = compressed ? 1 : 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

int grpc_frame_unary(const uint8_t *body, size_t len, size_t max, int *compressed,
                     slice_t *msg)
{
    uint32_t mlen;
    int rc = grpc_frame_parse(body, len, compressed, &mlen);
    if (rc == ORASI_EAGAIN)
        return ORASI_EPARSE; /* no message, or a truncated prefix */
    if (rc < 0)
        return rc;
    if (mlen > max)
        return ORASI_ETOOBIG;
    if (len - GRPC_FRAME_HEADER < mlen)
        return ORASI_EPARSE; /* truncated */
    if (len - GRPC_FRAME_HEADER > mlen)
        return ORASI_EPARSE; /* a second message on a unary call */
    *msg = slice_make(body + GRPC_FRAME_HEADER, mlen);
    return 0;
}

int grpc_timeout_parse(slice_t v, uint64_t *ns)
{
    if (v.len < 2 || v.len > 9)
        return ORASI_EPARSE;
    uint64_t n = 0;
    for (size_t i = 0; i + 1 < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return ORASI_EPARSE;
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    uint64_t mul;
    switch (v.p[v.len - 1]) {
    case 'H': mul = 3600ull * 1000000000ull; break;
    case 'M': mul = 60ull * 1000000000ull; break;
    case 'S': mul = 1000000000ull; break;
    case 'm': mul = 1000000ull; break;
    case 'u': mul = 1000ull; break;
    case 'n': mul = 1; break;
    default: return ORASI_EPARSE;
    }
    /* 8 digits of hours overflow 64-bit nanoseconds: saturate */
    *ns = n > UINT64_MAX / mul ? UINT64_MAX / 2 : n * mul;
    return 0;
}

char *grpc_percent_encode(arena_t *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p < 0x20 || *p > 0x7e || *p == '%') ? 3 : 1;
    char *out = arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '%') {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return out;
}

int grpc_prepare(struct http_req *req, const char **msg)
{
    const http_server_config_t *cfg = &req->w->srv->cfg;
    int compressed = 0;
    slice_t m;
    int rc = grpc_frame_unary(req->body.p, req->body.len, cfg->max_grpc_message_bytes,
                              &compressed, &m);
    if (rc == ORASI_ETOOBIG) {
        *msg = "message larger than the server's limit";
        return GRPC_RESOURCE_EXHAUSTED;
    }
    if (rc < 0) {
        *msg = "malformed message framing (unary call needs exactly one message)";
        return GRPC_INTERNAL;
    }
    if (!compressed) {
        req->body = m;
        return 0;
    }
    slice_t enc = http_req_header(req, "grpc-encoding");
    if (!slice_eq_cstr(enc, "gzip")) {
        *msg = "compressed flag set without a grpc-encoding";
        return GRPC_INTERNAL;
    }
    struct http_worker *w = req->w;
    if (!w->decoder)
        w->decoder = http_decode_create();
    if (!w->decoder) {
        *msg = "out of memory";
        return GRPC_RESOURCE_EXHAUSTED;
    }
    req->decoded.len = 0;
    rc = http_decode_run(w->decoder, HTTP_ENC_GZIP, m.p, m.len, &req->decoded);
    if (rc == ORASI_ETOOBIG || rc == ORASI_ENOMEM) {
        *msg = rc == ORASI_ETOOBIG ? "decompressed message larger than the server's limit"
                                   : "out of memory";
        return GRPC_RESOURCE_EXHAUSTED;
    }
    if (rc < 0) {
        *msg = "message does not decompress";
        return GRPC_INTERNAL;
    }
    req->body = buf_slice(&req->decoded);
    return 0;
}

int grpc_error(struct http_req *req, int code, const char *msg)
{
    return grpc_respond(req, code, msg, NULL, 0, NULL, 0);
}

int grpc_respond(http_req_t *req, int grpc_status, const char *grpc_message, const void *msg,
                 size_t len, const http_header_t *extra_trailers, size_t n_extra)
{
    if (!req || req->state == REQ_RESPONDED)
        return ORASI_EINVAL;
    if (!loop_in_thread(req->w->loop)) {
        LOG_E("http", "grpc_respond called off the request's loop thread (use loop_post)");
        return ORASI_EINVAL;
    }
    if (req->proto != HTTP_PROTO_GRPC) {
        static const char text[] = "gRPC answer to a request that is not gRPC\n";
        return http_respond(req, 415, "text/plain", text, sizeof(text) - 1);
    }
    struct http_conn *c = req->conn;
    if (!c || c->closed || req->stream_gone) {
        http_req_mark_responded(req, grpc_status);
        http_req_finish(req);
        return ORASI_ECLOSED;
    }
    if (len > UINT32_MAX || n_extra > 64)
        return grpc_error(req, GRPC_INTERNAL, "answer too large");
    char code[16];
    snprintf(code, sizeof(code), "%d", grpc_status);
    http_header_t tr[66];
    size_t nt = 0;
    tr[nt++] = (http_header_t){"grpc-status", code};
    if (grpc_message && *grpc_message) {
        char *enc = grpc_percent_encode(req->arena, grpc_message);
        if (enc)
            tr[nt++] = (http_header_t){"grpc-message", enc};
    }
    for (size_t i = 0; i < n_extra; i++)
        tr[nt++] = extra_trailers[i];
    if (len == 0 && grpc_status != GRPC_OK)
        return h2_respond(req, 200, "application/grpc", NULL, 0, tr, nt, 2, grpc_status);
    uint8_t pre[GRPC_FRAME_HEADER];
    grpc_frame_header(pre, 0, (uint32_t)len);
    req->resp.len = 0;
    if (buf_append(&req->resp, pre, sizeof(pre)) < 0 || buf_append(&req->resp, msg, len) < 0)
        return grpc_error(req, GRPC_RESOURCE_EXHAUSTED, "answer too large");
    return h2_respond(req, 200, "application/grpc", req->resp.data, req->resp.len, tr, nt, 1,
                      grpc_status);
}
