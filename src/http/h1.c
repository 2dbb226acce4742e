/*
 * h1.c — the HTTP/1.1 connection state machine: head, body, handler, answer.
 *
 * One request per connection is processed at a time; pipelined requests simply wait in
 * the input buffer, so answers go out in order and a client that sends faster than it
 * reads is held back by TCP (we stop reading while a request is with its handler or its
 * answer is not yet written).
 *
 * The input buffer holds head and body together: once Content-Length is known the
 * buffer is grown to fit the whole request, and the body slice handed to the handler
 * points straight into it (the read(2) is the only copy). Chunked bodies are de-chunked
 * in place. Growing the buffer moves it, so the head is re-parsed afterwards to
 * refresh the slices (cheap, and rare once a connection's buffer has grown).
 *
 * The answer is written with one sendmsg(2) (writev with MSG_NOSIGNAL: a vanished
 * client must not raise SIGPIPE) of head + body straight from the handler's
 * memory; only if the socket takes part of it is the rest copied to the connection's
 * output buffer. Errors that leave unread input behind (413 with a body in flight, a
 * parse error) answer with "Connection: close", then half-close and discard input for a
 * short while (lingering close) so the client reads the answer instead of a reset.
 */
#include "http/http_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define H1_READ_ROOM 16384

static const char h1_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static void h1_process(struct http_conn *c);
static void h1_finish(struct http_conn *c);

static const http_server_config_t *h1_cfg(struct http_conn *c)
{
    return &c->w->srv->cfg;
}

static void h1_update_interest(struct http_conn *c)
{
    if (c->closed)
        return;
    switch (c->h1.phase) {
    case H1_HANDLER:
        http_conn_want(c, 0);
        break;
    case H1_WRITE:
        http_conn_want(c, LOOP_WRITE);
        break;
    default:
        http_conn_want(c, LOOP_READ);
        break;
    }
}

/* Reset per-request state after an answer; keeps the connection. */
static void h1_reset(struct h1_state *h)
{
    h->phase = H1_IDLE;
    h->prev_len = 0;
    h->head_len = 0;
    h->next = 0;
    h->clen = 0;
    h->chunked = 0;
    h->has_body = 0;
    h->keepalive = 0;
    h->expect_continue = 0;
    h->continue_sent = 0;
    h->is_head = 0;
    h->complete = 0;
    h->dec_end = 0;
    h->raw_pos = 0;
    h->headers = NULL;
    h->woff = 0;
}

static void h1_linger(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    shutdown(c->fd, SHUT_WR);
    h->phase = H1_LINGER;
    c->in.len = 0;
    http_conn_set_deadline(c, loop_now(c->w->loop) + HTTP_LINGER_NS);
    h1_update_interest(c);
}

/* ---- writing the answer ------------------------------------------------------------------- */

static int h1_put(buf_t *b, const char *s, size_t n)
{
    return buf_append(b, s, n);
}

static int h1_put_str(buf_t *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

static int h1_put_num(buf_t *b, uint64_t v)
{
    char tmp[24];
    int i = (int)sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return buf_append(b, tmp + i, sizeof(tmp) - (size_t)i);
}

static int h1_build_head(struct http_conn *c, struct http_req *req, int status,
                         const char *ctype, size_t len, int send_len)
{
    buf_t *o = &c->out;
    int rc = 0;
    o->len = 0;
    rc |= h1_put(o, "HTTP/1.1 ", 9);
    rc |= h1_put_num(o, (uint64_t)status);
    rc |= h1_put(o, " ", 1);
    rc |= h1_put_str(o, http_status_text(status));
    rc |= h1_put(o, "\r\n", 2);
    if (ctype) {
        rc |= h1_put(o, "Content-Type: ", 14);
        rc |= h1_put_str(o, ctype);
        rc |= h1_put(o, "\r\n", 2);
    }
    if (send_len) {
        rc |= h1_put(o, "Content-Length: ", 16);
        rc |= h1_put_num(o, len);
        rc |= h1_put(o, "\r\n", 2);
    }
    if (c->close_after)
        rc |= h1_put(o, "Connection: close\r\n", 19);
    else if (c->h1.pr.minor_version == 0)
        rc |= h1_put(o, "Connection: keep-alive\r\n", 24);
    for (size_t i = 0; i < req->nresp_hdrs; i++) {
        rc |= h1_put_str(o, req->resp_hdrs[i].name);
        rc |= h1_put(o, ": ", 2);
        rc |= h1_put_str(o, req->resp_hdrs[i].value);
        rc |= h1_put(o, "\r\n", 2);
    }
    rc |= h1_put(o, "\r\n", 2);
    return rc ? ORASI_ENOMEM : 0;
}

int h1_respond(struct http_req *req, int status, const char *ctype, const void *body,
               size_t len)
{
    struct http_conn *c = req->conn;
    struct h1_state *h = &c->h1;
    http_req_mark_responded(req, status);
    if (!h->keepalive || c->w->draining)
        c->close_after = 1;
    int no_body = status < 200 || status == 204 || status == 304;
    size_t clen = no_body ? 0 : len; /* HEAD: the length the body would have */
    if (no_body || h->is_head)
        len = 0;
    if (len > HTTP_RESP_MAX) {
        LOG_E("http", "answer of %zu bytes exceeds the cap", len);
        status = 500;
        len = 0;
        c->close_after = 1;
    }
    http_conn_ref(c);
    int rc = h1_build_head(c, req, status, ctype, clen, !no_body);
    if (rc < 0) {
        http_conn_close(c);
        goto out;
    }
    struct iovec iov[2] = {{c->out.data, c->out.len}, {(void *)body, len}};
    int iovcnt = len ? 2 : 1;
    size_t total = c->out.len + len;
    ssize_t n;
    do
        n = sendmsg(c->fd, &(struct msghdr){.msg_iov = iov, .msg_iovlen = (size_t)iovcnt},
                    MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        rc = ORASI_ECLOSED;
        http_conn_close(c);
        goto out;
    }
    if (n < 0)
        n = 0;
    http_conn_count_out(c, (size_t)n);
    if ((size_t)n == total) {
        c->out.len = 0;
        h1_finish(c);
        goto out;
    }
    /* partial write: keep the rest in c->out (copying the body only now) */
    size_t head = c->out.len;
    if ((size_t)n < head) {
        rc = buf_append(&c->out, body, len);
        h->woff = (size_t)n;
    } else {
        size_t done = (size_t)n - head;
        c->out.len = 0;
        rc = buf_append(&c->out, (const uint8_t *)body + done, len - done);
        h->woff = 0;
    }
    if (rc < 0) {
        http_conn_close(c);
        goto out;
    }
    h->phase = H1_WRITE;
    http_conn_set_deadline(c, loop_now(c->w->loop) + h1_cfg(c)->body_timeout_ns);
    if (!c->in_process)
        h1_update_interest(c);
out:
    http_conn_unref(c);
    return rc;
}

static void h1_write_pending(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    if (h->phase != H1_WRITE)
        return;
    ssize_t n = send(c->fd, c->out.data + h->woff, c->out.len - h->woff, MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        http_conn_close(c);
        return;
    }
    http_conn_count_out(c, (size_t)n);
    h->woff += (size_t)n;
    if (h->woff < c->out.len) {
        /* the write timeout is about a client that stopped reading, not a slow one */
        http_conn_set_deadline(c, loop_now(c->w->loop) + h1_cfg(c)->body_timeout_ns);
        return;
    }
    c->out.len = 0;
    h->woff = 0;
    if (c->out.cap > HTTP_KEEP_BUF_MAX)
        buf_free(&c->out);
    h1_finish(c);
}

/* A held request (http_req_hold) keeps its head and body, which live in the input
 * buffer: it takes that buffer, and the connection goes on in the request's spare one
 * with what followed the request (a pipelined request, usually nothing). The two swap
 * memory only: each keeps its own cap. 0, or ORASI_ENOMEM. */
static int h1_give_input(struct http_conn *c, struct http_req *req, size_t *next)
{
    buf_t fresh = req->raw;
    fresh.len = 0;
    fresh.max = c->in.max;
    size_t from = *next < c->in.len ? *next : c->in.len;
    if (c->in.len > from && buf_append(&fresh, c->in.data + from, c->in.len - from))
        return ORASI_ENOMEM;
    size_t raw_max = req->raw.max;
    req->raw = c->in;
    req->raw.max = raw_max;
    c->in = fresh;
    *next = 0;
    return 0;
}

/* The answer is fully written: release the request, then either close or go on with the
 * next (possibly already buffered) request. */
static void h1_finish(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    struct http_req *req = h->req;
    h->req = NULL;
    size_t next = h->next;
    if (req && req->held && !c->closed && h1_give_input(c, req, &next)) {
        http_req_finish(req);
        http_conn_close(c);
        return;
    }
    if (req)
        http_req_finish(req);
    if (c->closed)
        return;
    if (c->close_after) {
        /* nothing unread: a plain close sends FIN, no reset can eat the answer */
        if (h->complete && c->in.len <= next)
            http_conn_close(c);
        else
            h1_linger(c);
        return;
    }
    if (next > c->in.len)
        next = c->in.len;
    buf_consume(&c->in, next);
    if (c->in.cap > HTTP_KEEP_BUF_MAX && c->in.len == 0)
        buf_free(&c->in);
    h1_reset(h);
    http_conn_set_deadline(c, loop_now(c->w->loop) + h1_cfg(c)->idle_timeout_ns);
    if (!c->in_process)
        h1_process(c);
}

/* Answer without a handler (errors, 404/405). close: no keep-alive afterwards. */
static void h1_reject(struct http_conn *c, int status, int close, const char *allow)
{
    struct h1_state *h = &c->h1;
    if (!h->req) {
        h->req = http_req_get(c->w, c);
        if (!h->req) {
            http_conn_close(c);
            return;
        }
    }
    struct http_req *req = h->req;
    if (req->state != REQ_RECV) {
        http_conn_close(c);
        return;
    }
    if (!req->stats)
        req->stats = &c->l->router->unmatched;
    if (close)
        c->close_after = 1;
    if (allow && *allow)
        http_resp_header(req, "Allow", allow);
    char body[64];
    int n = snprintf(body, sizeof(body), "%s\n", http_status_text(status));
    h->phase = H1_HANDLER; /* so that h1_finish/linger see a request in progress */
    h1_respond(req, status, "text/plain", body, (size_t)n);
}

void h1_error(struct http_conn *c, int status)
{
    h1_reject(c, status, 1, NULL);
}

/* ---- reading a request ------------------------------------------------------------------------ */

static int h1_parse_clen(slice_t v, uint64_t *out)
{
    if (v.len == 0 || v.len > 18)
        return ORASI_EPARSE;
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return ORASI_EPARSE;
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = n;
    return 0;
}

/* Does a comma-separated header value contain token t? */
static int h1_has_token(slice_t v, const char *t)
{
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && v.p[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
            e--;
        if (e > s && slice_eq_nocase(slice_make(v.p + s, e - s), t))
            return 1;
    }
    return 0;
}

static void h1_fill_req(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    struct http_req *req = h->req;
    req->method = h->pr.method;
    req->path = h->pr.path;
    req->query = h->pr.query;
    req->headers = h->pr.headers;
    req->nheaders = h->pr.nheaders;
}

/* The input buffer moved: re-parse the (complete, unchanged) head for fresh slices. */
static void h1_rebase(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    if (!h->req || h->head_len == 0)
        return;
    h1_parse_request(c->in.data, h->head_len, 0, &h->pr, h->headers, h1_cfg(c)->max_headers);
    h1_fill_req(c);
}

/* Returns 1 to keep processing, 0 to wait for input or an answer. */
static int h1_step_head(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    const http_server_config_t *cfg = h1_cfg(c);
    if (c->in.len == 0) {
        h->phase = H1_IDLE;
        return 0;
    }
    if (c->proto == CONN_UNKNOWN) {
        size_t n = c->in.len < 24 ? c->in.len : 24;
        if (memcmp(c->in.data, h1_preface, n) == 0) {
            if (n < 24)
                return 0;
            c->proto = CONN_H2;
            if (h2_start(c) < 0)
                http_conn_close(c);
            return 0;
        }
        c->proto = CONN_H1;
    }
    if (!h->req) {
        h->req = http_req_get(c->w, c);
        if (!h->req) {
            http_conn_close(c);
            return 0;
        }
        h->headers = arena_alloc(h->req->arena, cfg->max_headers * sizeof(h1_header_t));
        if (!h->headers) {
            http_conn_close(c);
            return 0;
        }
    }
    int rc = h1_parse_request(c->in.data, c->in.len, h->prev_len, &h->pr, h->headers,
                              cfg->max_headers);
    if (rc == ORASI_EAGAIN) {
        if (c->in.len > cfg->max_header_bytes) {
            h1_error(c, 431);
            return 0;
        }
        if (h->phase != H1_HEAD) {
            h->phase = H1_HEAD;
            http_conn_set_deadline(c, loop_now(c->w->loop) + cfg->header_timeout_ns);
        }
        h->prev_len = c->in.len;
        return 0;
    }
    if (rc == ORASI_ETOOBIG || (rc > 0 && (size_t)rc > cfg->max_header_bytes)) {
        h1_error(c, 431);
        return 0;
    }
    if (rc < 0) {
        h1_error(c, 400);
        return 0;
    }
    h->head_len = (size_t)rc;
    h1_fill_req(c);
    struct http_req *req = h->req;
    req->start_ns = loop_now(c->w->loop);
    h->is_head = slice_eq_cstr(req->method, "HEAD");

    int have_cl = 0, n_te = 0, conn_close = 0, conn_ka = 0, bad = 0;
    uint64_t cl = 0;
    slice_t ce = {NULL, 0};
    for (size_t i = 0; i < req->nheaders; i++) {
        slice_t name = req->headers[i].name, v = req->headers[i].value;
        switch (name.len) {
        case 14:
            if (slice_eq_nocase(name, "content-length")) {
                uint64_t x = 0;
                if (h1_parse_clen(v, &x) < 0 || (have_cl && x != cl))
                    bad = 400;
                cl = x;
                have_cl = 1;
            }
            break;
        case 17:
            if (slice_eq_nocase(name, "transfer-encoding")) {
                n_te++;
                if (!slice_eq_nocase(v, "chunked"))
                    bad = bad ? bad : 501;
                h->chunked = 1;
            }
            break;
        case 10:
            if (slice_eq_nocase(name, "connection")) {
                if (h1_has_token(v, "close"))
                    conn_close = 1;
                if (h1_has_token(v, "keep-alive"))
                    conn_ka = 1;
            }
            break;
        case 6:
            if (slice_eq_nocase(name, "expect")) {
                if (slice_eq_nocase(v, "100-continue"))
                    h->expect_continue = 1;
                else
                    bad = bad ? bad : 417;
            }
            break;
        case 16:
            if (slice_eq_nocase(name, "content-encoding"))
                ce = v;
            break;
        default:
            break;
        }
    }
    if (n_te > 1 || (h->chunked && have_cl))
        bad = 400;
    h->keepalive = h->pr.minor_version == 1 ? !conn_close : (conn_ka && !conn_close);
    h->clen = cl;
    h->has_body = h->chunked || cl > 0;
    h->complete = !h->has_body && !bad;

    char allow[128];
    int status = 0;
    struct http_route_stats *stats = NULL;
    req->route = http_router_find(c->l->router, req->method, req->path, 0, &status, &stats,
                                  allow, sizeof(allow));
    req->stats = stats;
    h->next = h->head_len + (size_t)cl;
    if (bad) {
        h1_error(c, bad);
        return 0;
    }
    if (cl > cfg->max_body_bytes) {
        h1_error(c, 413);
        return 0;
    }
    /* A refused request whose whole body is already here is skipped and the connection
     * kept; otherwise we answer without reading the body and close. */
    int body_here = !h->chunked && c->in.len >= h->next;
    if (!req->route || http_decode_encoding(ce) == HTTP_ENC_UNSUPPORTED) {
        h->complete = body_here;
        h1_reject(c, req->route ? 415 : status, !body_here, req->route ? NULL : allow);
        return 1;
    }
    if (h->chunked) {
        h1_parse_chunked_init(&h->ch);
        h->dec_end = h->raw_pos = h->head_len;
    }
    h->phase = H1_BODY;
    if (h->has_body)
        http_conn_set_deadline(c, loop_now(c->w->loop) + cfg->body_timeout_ns);
    return 1;
}

static void h1_send_continue(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    if (!h->expect_continue || h->continue_sent || h->pr.minor_version == 0)
        return;
    h->continue_sent = 1;
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    /* a fresh socket always has room for 25 bytes; if not, the client sends the body
     * after its own expect timeout anyway */
    ssize_t n = send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);
    if (n > 0)
        http_conn_count_out(c, (size_t)n);
}

static int h1_step_body(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    const http_server_config_t *cfg = h1_cfg(c);
    struct http_req *req = h->req;
    if (!h->chunked) {
        if (c->in.len < h->next) {
            h1_send_continue(c);
            return 0;
        }
        req->body = slice_make(c->in.data + h->head_len, (size_t)h->clen);
    } else {
        size_t out = 0;
        int rc = h1_parse_chunked(&h->ch, c->in.data + h->raw_pos, c->in.len - h->raw_pos,
                                  c->in.data + h->dec_end, &out);
        h->dec_end += out;
        if (h->dec_end - h->head_len > cfg->max_body_bytes) {
            h1_error(c, 413);
            return 0;
        }
        if (rc == ORASI_EAGAIN) {
            h->raw_pos = h->dec_end;
            c->in.len = h->dec_end;
            h1_send_continue(c);
            return 0;
        }
        if (rc < 0) {
            h1_error(c, 400);
            return 0;
        }
        h->raw_pos += (size_t)rc;
        h->next = h->raw_pos;
        req->body = slice_make(c->in.data + h->head_len, h->dec_end - h->head_len);
    }
    h->complete = 1;
    int st = http_req_decode_body(req);
    if (st) {
        h1_error(c, st);
        return 0;
    }
    h->phase = H1_HANDLER;
    http_conn_set_deadline(c, 0);
    http_req_dispatch(req);
    return 1;
}

static void h1_process(struct http_conn *c)
{
    if (c->in_process)
        return;
    c->in_process = 1;
    http_conn_ref(c);
    while (!c->closed && c->proto != CONN_H2) {
        enum h1_phase p = c->h1.phase;
        int more;
        if (p == H1_IDLE || p == H1_HEAD)
            more = h1_step_head(c);
        else if (p == H1_BODY)
            more = h1_step_body(c);
        else
            more = 0;
        if (!more)
            break;
    }
    c->in_process = 0;
    if (c->proto != CONN_H2)
        h1_update_interest(c);
    http_conn_unref(c);
}

static void h1_on_readable(struct http_conn *c, unsigned events)
{
    struct h1_state *h = &c->h1;
    if (h->phase == H1_LINGER) {
        char junk[16384];
        for (int i = 0; i < 16; i++) {
            ssize_t n = read(c->fd, junk, sizeof(junk));
            if (n > 0)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return;
            http_conn_close(c);
            return;
        }
        return;
    }
    if (h->phase == H1_HANDLER || h->phase == H1_WRITE) {
        /* not reading now; an error/hangup means the client is gone */
        if ((events & LOOP_ERROR) && h->phase == H1_HANDLER)
            http_conn_close(c);
        return;
    }
    size_t room = H1_READ_ROOM;
    if (h->phase == H1_BODY && !h->chunked && h->next > c->in.len)
        room = h->next - c->in.len; /* exactly the rest of the body: one read, no waste */
    const uint8_t *before = c->in.data;
    ssize_t n = http_conn_read(c, room);
    if (c->in.data != before && h->phase == H1_BODY)
        h1_rebase(c);
    if (n == ORASI_EAGAIN)
        return;
    if (n == ORASI_ETOOBIG) {
        h1_error(c, h->phase == H1_BODY ? 413 : 431);
        return;
    }
    if (n <= 0) {
        http_conn_close(c);
        return;
    }
    h1_process(c);
}

void h1_on_io(struct http_conn *c, unsigned events)
{
    if (events & LOOP_WRITE)
        h1_write_pending(c);
    if (!c->closed && (events & (LOOP_READ | LOOP_ERROR)))
        h1_on_readable(c, events);
}

void h1_on_timeout(struct http_conn *c)
{
    switch (c->h1.phase) {
    case H1_HEAD:
    case H1_BODY:
        h1_error(c, 408);
        break;
    case H1_HANDLER:
        break;
    default: /* idle, write stalled, lingering */
        http_conn_close(c);
        break;
    }
}

void h1_drain(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    if (h->phase == H1_IDLE || h->phase == H1_HEAD) {
        http_conn_close(c);
        return;
    }
    c->close_after = 1;
}

void h1_release(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    struct http_req *req = h->req;
    h->req = NULL;
    /* a request with its handler stays alive; its answer will be dropped */
    if (req && req->state != REQ_HANDLER)
        http_req_finish(req);
}
