/*
 * h2.c — HTTP/2 cleartext (prior knowledge) connections on top of nghttp2.
 *
 * nghttp2 does the framing, HPACK, flow control and stream states; we feed it bytes with
 * nghttp2_session_mem_recv and pull what it wants to send with nghttp2_session_mem_send
 * into the connection's output buffer, which we write ourselves. Pulling stops at 64 KiB
 * of unsent output, and reading stops while 1 MiB is unsent, so a client that does not
 * read cannot make us buffer without bound.
 *
 * A stream becomes a request when its HEADERS arrive; the body is accumulated in the
 * request (capped), and at END_STREAM the request is dispatched like an HTTP/1 one.
 * nghttp2 forbids calling mem_send from inside its callbacks, so answers given during
 * mem_recv (synchronous handlers) are only submitted there and flushed afterwards; for the
 * same reason a fatal error inside a callback only marks the connection, which is
 * closed once mem_recv has returned.
 *
 * Flow control: the stream and connection receive windows are raised (8 / 32 MiB by
 * default) so a multi-megabyte gRPC message is not throttled by the 64 KiB default;
 * nghttp2 sends WINDOW_UPDATE automatically as data is consumed.
 */
#include "http/grpc.h"
#include "http/http_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define H2_OUT_PULL 65536         /* pull frames from nghttp2 while less is unsent */
#define H2_OUT_STOP_READ (1 << 20) /* stop reading while this much is unsent */
#define H2_READ_ROOM 65536

struct h2_conn {
    nghttp2_session *session;
    struct http_req *streams; /* requests attached to open streams */
    size_t nhandler;          /* of those, waiting for their handler */
    size_t buffered;          /* request body bytes held by those streams */
    size_t woff;
    int in_recv;
    int fatal;
    int goaway;
};

static void *h2_malloc(size_t size, void *ud)
{
    return orasi_malloc(size);
}
static void h2_free(void *p, void *ud)
{
    orasi_free(p);
}
static void *h2_calloc(size_t n, size_t size, void *ud)
{
    return orasi_calloc(n, size);
}
static void *h2_realloc(void *p, size_t size, void *ud)
{
    return orasi_realloc(p, size);
}

static nghttp2_mem h2_mem = {NULL, h2_malloc, h2_free, h2_calloc, h2_realloc};

static void h2_flush(struct http_conn *c);

/* A fatal problem: close now, or right after mem_recv when inside a callback. */
static void h2_fail(struct http_conn *c)
{
    if (c->h2 && c->h2->in_recv)
        c->h2->fatal = 1;
    else
        http_conn_close(c);
}

static void h2_link(struct h2_conn *h, struct http_req *req)
{
    req->h2_prev = NULL;
    req->h2_next = h->streams;
    if (h->streams)
        h->streams->h2_prev = req;
    h->streams = req;
}

static void h2_unlink(struct h2_conn *h, struct http_req *req)
{
    h->buffered -= req->h2_buffered;
    req->h2_buffered = 0;
    if (req->h2_prev)
        req->h2_prev->h2_next = req->h2_next;
    else if (h->streams == req)
        h->streams = req->h2_next;
    if (req->h2_next)
        req->h2_next->h2_prev = req->h2_prev;
    req->h2_next = req->h2_prev = NULL;
}

/* ---- answering ------------------------------------------------------------------------------ */

static ssize_t h2_read_cb(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                          size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                          void *user_data)
{
    struct http_req *req = source->ptr;
    size_t left = req->resp.len - req->resp_off;
    size_t n = left < length ? left : length;
    if (n)
        memcpy(buf, req->resp.data + req->resp_off, n);
    req->resp_off += n;
    if (req->resp_off == req->resp.len) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        if (req->ntrailers) {
            *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            if (nghttp2_submit_trailer(session, stream_id, req->trailers, req->ntrailers) != 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
    }
    return (ssize_t)n;
}

static nghttp2_nv h2_nv(const char *name, const char *value)
{
    nghttp2_nv nv = {(uint8_t *)(uintptr_t)name, (uint8_t *)(uintptr_t)value, strlen(name),
                     strlen(value), NGHTTP2_NV_FLAG_NONE};
    return nv;
}

int h2_respond(struct http_req *req, int status, const char *ctype, const void *body,
               size_t len, const http_header_t *trailers, size_t ntrailers, int mode,
               int metric_status)
{
    struct http_conn *c = req->conn;
    struct h2_conn *h = c->h2;
    if (req->state == REQ_HANDLER && h->nhandler > 0)
        h->nhandler--;
    http_req_mark_responded(req, metric_status);
    int rc = 0;
    http_conn_ref(c);
    if (slice_eq_cstr(req->method, "HEAD") || status == 204 || status == 304)
        len = 0;
    /* mode 0: plain HTTP; 1: gRPC, body then trailers; 2: gRPC Trailers-Only */
    if (body != req->resp.data || len != req->resp.len) {
        req->resp.len = 0;
        rc = buf_append(&req->resp, body, len);
        if (rc < 0)
            goto fail;
    }
    req->resp_off = 0;
    size_t nmax = 4 + req->nresp_hdrs + (mode == 2 ? ntrailers : 0);
    nghttp2_nv *nva = arena_alloc(req->arena, nmax * sizeof(*nva));
    if (!nva) {
        rc = ORASI_ENOMEM;
        goto fail;
    }
    char st[8], clen[24];
    snprintf(st, sizeof(st), "%d", status);
    size_t n = 0;
    nva[n++] = h2_nv(":status", st);
    if (ctype)
        nva[n++] = h2_nv("content-type", ctype);
    if (mode == 0 && status != 204 && status != 304) {
        snprintf(clen, sizeof(clen), "%zu", req->resp.len);
        nva[n++] = h2_nv("content-length", clen);
    }
    for (size_t i = 0; i < req->nresp_hdrs; i++)
        nva[n++] = h2_nv(req->resp_hdrs[i].name, req->resp_hdrs[i].value);
    if (mode == 2)
        for (size_t i = 0; i < ntrailers; i++)
            nva[n++] = h2_nv(trailers[i].name, trailers[i].value);
    req->ntrailers = 0;
    if (mode == 1 && ntrailers) {
        nghttp2_nv *tv = arena_alloc(req->arena, ntrailers * sizeof(*tv));
        if (!tv) {
            rc = ORASI_ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < ntrailers; i++) {
            const char *tn = arena_strndup(req->arena, trailers[i].name, strlen(trailers[i].name));
            const char *tvv =
                arena_strndup(req->arena, trailers[i].value, strlen(trailers[i].value));
            if (!tn || !tvv) {
                rc = ORASI_ENOMEM;
                goto fail;
            }
            tv[i] = h2_nv(tn, tvv);
        }
        req->trailers = tv;
        req->ntrailers = ntrailers;
    }
    nghttp2_data_provider prd = {.source.ptr = req, .read_callback = h2_read_cb};
    int with_data = mode == 1 || (mode == 0 && req->resp.len > 0);
    if (nghttp2_submit_response(h->session, req->stream_id, nva, n, with_data ? &prd : NULL) != 0) {
        rc = ORASI_EINTERNAL;
        goto fail;
    }
    if (req->early)
        http_conn_set_deadline(c, loop_now(c->w->loop) + c->w->srv->cfg.body_timeout_ns);
    h2_flush(c);
    http_conn_unref(c);
    return 0;
fail:
    /* the stream cannot be answered: reset it; its close callback finishes the request */
    if (nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, req->stream_id,
                                  NGHTTP2_INTERNAL_ERROR) != 0)
        h2_fail(c);
    h2_flush(c);
    http_conn_unref(c);
    return rc;
}

/* Answer before the request is complete (limits, routing). Further DATA is ignored and
 * discarded (see h2_on_data_chunk). */
static void h2_early(struct http_req *req, int status)
{
    req->early = 1;
    req->discard = req->w->srv->cfg.max_body_bytes;
    /* the body will not be used: give its memory and budget back now */
    if (req->conn->h2) {
        req->conn->h2->buffered -= req->h2_buffered;
        req->h2_buffered = 0;
    }
    buf_free(&req->raw);
    if (req->proto == HTTP_PROTO_GRPC) {
        int code = status == 413 || status == 431 || status == 503 ? GRPC_RESOURCE_EXHAUSTED
                   : status == 404 || status == 405 ? GRPC_UNIMPLEMENTED
                                                    : GRPC_INTERNAL;
        grpc_error(req, code, http_status_text(status));
        return;
    }
    char body[64];
    int n = snprintf(body, sizeof(body), "%s\n", http_status_text(status));
    http_respond(req, status, "text/plain", body, (size_t)n);
}

/* ---- receiving ------------------------------------------------------------------------------ */

static int h2_add_header(struct http_req *req, const uint8_t *name, size_t nlen,
                         const uint8_t *value, size_t vlen, size_t max_headers)
{
    if (req->nheaders == req->headers_cap) {
        size_t ncap = req->headers_cap ? req->headers_cap * 2 : 16;
        if (ncap > max_headers)
            ncap = max_headers;
        if (ncap <= req->nheaders)
            return ORASI_EFULL;
        http_hdr_t *nh = arena_alloc(req->arena, ncap * sizeof(*nh));
        if (!nh)
            return ORASI_ENOMEM;
        if (req->nheaders)
            memcpy(nh, req->headers, req->nheaders * sizeof(*nh));
        req->headers = nh;
        req->headers_cap = ncap;
    }
    char *n = arena_strndup(req->arena, (const char *)name, nlen);
    char *v = arena_strndup(req->arena, (const char *)value, vlen);
    if (!n || !v)
        return ORASI_ENOMEM;
    req->headers[req->nheaders].name = slice_make(n, nlen);
    req->headers[req->nheaders].value = slice_make(v, vlen);
    req->nheaders++;
    return 0;
}

static int h2_on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame,
                               void *user_data)
{
    struct http_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct http_req *req = http_req_get(c->w, c);
    if (!req)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    req->proto = HTTP_PROTO_H2;
    req->stream_id = frame->hd.stream_id;
    req->stats = &c->l->router->unmatched;
    if (nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, req) != 0) {
        http_req_finish(req);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    h2_link(c->h2, req);
    return 0;
}

static int h2_on_header(nghttp2_session *session, const nghttp2_frame *frame,
                        const uint8_t *name, size_t namelen, const uint8_t *value,
                        size_t valuelen, uint8_t flags, void *user_data)
{
    struct http_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers from the client are ignored */
    struct http_req *req = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!req || req->header_overflow)
        return 0;
    const http_server_config_t *cfg = &c->w->srv->cfg;
    req->header_bytes += namelen + valuelen + 32; /* RFC 9113 6.5.2 accounting */
    if (req->header_bytes > cfg->max_header_bytes) {
        req->header_overflow = 1;
        return 0;
    }
    if (namelen > 0 && name[0] == ':') {
        char *v = arena_strndup(req->arena, (const char *)value, valuelen);
        if (!v)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
            req->method = slice_make(v, valuelen);
        } else if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
            const char *q = memchr(v, '?', valuelen);
            if (q) {
                req->path = slice_make(v, (size_t)(q - v));
                req->query = slice_make(q + 1, valuelen - (size_t)(q - v) - 1);
            } else {
                req->path = slice_make(v, valuelen);
            }
        } else if (namelen == 10 && memcmp(name, ":authority", 10) == 0) {
            if (h2_add_header(req, (const uint8_t *)"host", 4, value, valuelen,
                              cfg->max_headers) < 0)
                req->header_overflow = 1;
        }
        return 0;
    }
    int rc = h2_add_header(req, name, namelen, value, valuelen, cfg->max_headers);
    if (rc == ORASI_EFULL)
        req->header_overflow = 1;
    else if (rc < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

/* The request head is complete: classify (gRPC or not), check limits, route. */
static void h2_headers_done(struct http_conn *c, struct http_req *req)
{
    const http_server_config_t *cfg = &c->w->srv->cfg;
    slice_t ct = http_req_header(req, "content-type");
    /* application/grpc, application/grpc+proto, application/grpc;...: not grpc-web */
    if (slice_eq_cstr(req->method, "POST") && ct.len >= 16 &&
        slice_eq_nocase(slice_make(ct.p, 16), "application/grpc") &&
        (ct.len == 16 || ct.p[16] == '+' || ct.p[16] == ';'))
        req->proto = HTTP_PROTO_GRPC;
    int grpc = req->proto == HTTP_PROTO_GRPC;
    req->start_ns = loop_now(c->w->loop);
    char allow[128];
    int status = 0;
    struct http_route_stats *stats = NULL;
    req->route = http_router_find(c->l->router, req->method, req->path, grpc, &status, &stats,
                                  allow, sizeof(allow));
    req->stats = stats;
    if (req->header_overflow) {
        h2_early(req, 431);
        return;
    }
    slice_t cl = http_req_header(req, "content-length");
    uint64_t clen = 0;
    for (size_t i = 0; i < cl.len && clen <= UINT32_MAX * 16ull; i++)
        clen = clen * 10 + (uint64_t)(cl.p[i] >= '0' && cl.p[i] <= '9' ? cl.p[i] - '0' : 0);
    size_t max = grpc ? cfg->max_grpc_message_bytes + GRPC_FRAME_HEADER : cfg->max_body_bytes;
    req->raw.max = max;
    if (clen > max) {
        h2_early(req, 413);
        return;
    }
    if (grpc) {
        if (!req->route) {
            req->early = 1;
            req->discard = cfg->max_body_bytes;
            grpc_error(req, GRPC_UNIMPLEMENTED, "unknown method");
            return;
        }
        slice_t enc = http_req_header(req, "grpc-encoding");
        if (enc.len && !slice_eq_cstr(enc, "identity") && !slice_eq_cstr(enc, "gzip")) {
            req->early = 1;
            req->discard = cfg->max_body_bytes;
            http_resp_header(req, "grpc-accept-encoding", "identity,gzip");
            grpc_error(req, GRPC_UNIMPLEMENTED, "unsupported grpc-encoding");
            return;
        }
        slice_t to = http_req_header(req, "grpc-timeout");
        uint64_t ns;
        if (to.len) {
            if (grpc_timeout_parse(to, &ns) < 0) {
                req->early = 1;
                req->discard = cfg->max_body_bytes;
                grpc_error(req, GRPC_INTERNAL, "malformed grpc-timeout");
                return;
            }
            req->deadline_ns = loop_now(c->w->loop) + ns;
        }
    } else {
        if (!req->route) {
            if (status == 405)
                http_resp_header(req, "allow", allow);
            h2_early(req, status);
            return;
        }
        if (http_decode_encoding(http_req_header(req, "content-encoding")) ==
            HTTP_ENC_UNSUPPORTED) {
            h2_early(req, 415);
            return;
        }
    }
    if (clen > 0 && buf_reserve(&req->raw, (size_t)clen) < 0) {
        h2_early(req, 503);
        return;
    }
}

static void h2_request_done(struct http_conn *c, struct http_req *req)
{
    if (req->state != REQ_RECV || req->early)
        return;
    req->body = buf_slice(&req->raw);
    if (req->proto == HTTP_PROTO_GRPC) {
        const char *msg = NULL;
        int code = grpc_prepare(req, &msg);
        if (code) {
            grpc_error(req, code, msg);
            return;
        }
    } else {
        int st = http_req_decode_body(req);
        if (st) {
            char body[64];
            int n = snprintf(body, sizeof(body), "%s\n", http_status_text(st));
            http_respond(req, st, "text/plain", body, (size_t)n);
            return;
        }
    }
    c->h2->nhandler++;
    http_req_dispatch(req);
}

static int h2_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame,
                            void *user_data)
{
    struct http_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    struct http_req *req = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!req)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        h2_headers_done(c, req);
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        h2_request_done(c, req);
    return 0;
}

static int h2_on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                            const uint8_t *data, size_t len, void *user_data)
{
    struct http_req *req = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!req)
        return 0;
    if (req->early) {
        /* Answered early (413, 404...): discard the rest of the body, up to a budget,
         * so clients that finish their upload before reading (curl 7.88) still see the
         * answer; past the budget, RST_STREAM(NO_ERROR) as RFC 9113 8.1 allows. */
        if (req->discard < len) {
            if (!nghttp2_session_get_stream_remote_close(session, stream_id))
                nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id,
                                          NGHTTP2_NO_ERROR);
            req->discard = 0;
        } else {
            req->discard -= len;
        }
        return 0;
    }
    if (req->state != REQ_RECV)
        return 0;
    struct http_conn *c = user_data;
    struct h2_conn *h = c->h2;
    /* all streams of a connection together may not hold more than the budget: 100
     * streams each allowed max_body_bytes would otherwise be gigabytes */
    if (h->buffered + len > c->w->srv->cfg.h2_max_buffered_bytes) {
        h2_early(req, 503);
        return 0;
    }
    h->buffered += len;
    req->h2_buffered += len;
    int rc = buf_append(&req->raw, data, len);
    if (rc == ORASI_ETOOBIG)
        h2_early(req, 413);
    else if (rc < 0)
        h2_early(req, 503);
    return 0;
}

static int h2_on_stream_close(nghttp2_session *session, int32_t stream_id,
                              uint32_t error_code, void *user_data)
{
    struct http_conn *c = user_data;
    struct http_req *req = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!req)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    h2_unlink(c->h2, req);
    if (req->state == REQ_HANDLER) {
        /* the handler still holds it; its answer will be dropped */
        req->stream_gone = 1;
        if (c->h2->nhandler > 0)
            c->h2->nhandler--;
        return 0;
    }
    http_req_finish(req);
    return 0;
}

void *h2_callbacks_new(void)
{
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return NULL;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, h2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_on_stream_close);
    return cbs;
}

void h2_callbacks_free(void *cbs)
{
    nghttp2_session_callbacks_del(cbs);
}

/* ---- connection ------------------------------------------------------------------------------ */

static void h2_update(struct http_conn *c)
{
    struct h2_conn *h = c->h2;
    if (c->closed)
        return;
    size_t pending = c->out.len - h->woff;
    int wr = nghttp2_session_want_read(h->session);
    int ww = nghttp2_session_want_write(h->session);
    if (!wr && !ww && pending == 0) {
        http_conn_close(c);
        return;
    }
    unsigned ev = 0;
    if (wr && pending < H2_OUT_STOP_READ)
        ev |= LOOP_READ;
    if (pending)
        ev |= LOOP_WRITE;
    http_conn_want(c, ev);
    const http_server_config_t *cfg = &c->w->srv->cfg;
    uint64_t now = loop_now(c->w->loop);
    if (h->nhandler > 0)
        http_conn_set_deadline(c, 0);
    else if (h->streams || pending)
        http_conn_set_deadline(c, now + cfg->body_timeout_ns);
    else
        http_conn_set_deadline(c, now + cfg->idle_timeout_ns);
}

static void h2_flush(struct http_conn *c)
{
    struct h2_conn *h = c->h2;
    if (c->closed || !h || h->in_recv)
        return;
    for (;;) {
        while (c->out.len - h->woff < H2_OUT_PULL) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(h->session, &data);
            if (n < 0) {
                http_conn_close(c);
                return;
            }
            if (n == 0)
                break;
            if (buf_append(&c->out, data, (size_t)n) < 0) {
                http_conn_close(c);
                return;
            }
        }
        size_t pending = c->out.len - h->woff;
        if (pending == 0)
            break;
        ssize_t n = send(c->fd, c->out.data + h->woff, pending, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            http_conn_close(c);
            return;
        }
        http_conn_count_out(c, (size_t)n);
        h->woff += (size_t)n;
        if (h->woff == c->out.len) {
            c->out.len = 0;
            h->woff = 0;
            continue;
        }
        break;
    }
    if (c->out.len == 0 && c->out.cap > HTTP_KEEP_BUF_MAX)
        buf_free(&c->out);
    h2_update(c);
}

static void h2_recv_buffered(struct http_conn *c)
{
    struct h2_conn *h = c->h2;
    h->in_recv = 1;
    ssize_t rv = nghttp2_session_mem_recv(h->session, c->in.data, c->in.len);
    h->in_recv = 0;
    c->in.len = 0;
    if (c->closed) {
        h2_release(c); /* deferred from the close inside a callback */
        return;
    }
    if (rv < 0 || h->fatal) {
        if (rv < 0)
            LOG_D("http", "h2 from %s: %s", c->peer, nghttp2_strerror((int)rv));
        http_conn_close(c);
        return;
    }
    if (c->w->draining && !h->goaway)
        h2_drain(c);
    h2_flush(c);
}

int h2_start(struct http_conn *c)
{
    const http_server_config_t *cfg = &c->w->srv->cfg;
    struct h2_conn *h = orasi_calloc(1, sizeof(*h));
    if (!h)
        return ORASI_ENOMEM;
    c->h2 = h;
    if (nghttp2_session_server_new3(&h->session, c->w->srv->h2_callbacks, c, NULL, &h2_mem) != 0) {
        h->session = NULL;
        return ORASI_ENOMEM;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->h2_max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, cfg->h2_stream_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)cfg->max_header_bytes},
    };
    if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0)
        return ORASI_ENOMEM;
    if (nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)cfg->h2_connection_window) != 0)
        return ORASI_ENOMEM;
    h2_recv_buffered(c);
    return 0;
}

void h2_on_io(struct http_conn *c, unsigned events)
{
    if (events & LOOP_WRITE)
        h2_flush(c);
    if (c->closed || !(events & (LOOP_READ | LOOP_ERROR)))
        return;
    ssize_t n = http_conn_read(c, H2_READ_ROOM);
    if (n == ORASI_EAGAIN)
        return;
    if (n <= 0) {
        http_conn_close(c);
        return;
    }
    h2_recv_buffered(c);
}

void h2_on_timeout(struct http_conn *c)
{
    if (c->h2 && c->h2->nhandler > 0)
        return;
    http_conn_close(c);
}

void h2_drain(struct http_conn *c)
{
    struct h2_conn *h = c->h2;
    if (!h || h->goaway || c->closed)
        return;
    h->goaway = 1;
    nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(h->session),
                          NGHTTP2_NO_ERROR, NULL, 0);
    h2_flush(c);
}

void h2_release(struct http_conn *c)
{
    struct h2_conn *h = c->h2;
    if (!h)
        return;
    while (h->streams) {
        struct http_req *req = h->streams;
        h2_unlink(h, req);
        if (h->session)
            nghttp2_session_set_stream_user_data(h->session, req->stream_id, NULL);
        if (req->state == REQ_HANDLER)
            req->stream_gone = 1;
        else
            http_req_finish(req);
    }
    if (h->in_recv) {
        h->fatal = 1; /* freed after mem_recv returns (see h2_recv_buffered) */
        return;
    }
    if (h->session)
        nghttp2_session_del(h->session);
    orasi_free(h);
    c->h2 = NULL;
}
