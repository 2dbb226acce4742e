/*
 * lgclient.c — load generator worker: epoll loop, HTTP/1.1 and gRPC (nghttp2) clients,
 * token-bucket pacing, ack accounting (see lgclient.h).
 *
 * Connection life: DOWN -> (connect) CONNECTING -> READY (idle) <-> BUSY (one request
 * in flight) -> DOWN on any error, with a backoff before reconnecting. A request that
 * was in flight when its connection failed is counted as failed, never as acknowledged.
 */
#include "loadgen/lgclient.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
/* single writer: a relaxed load + store is an increment other threads can read */
#define BUMP(p, v) ST((p), LD(p) + (v))

#define ACKBUF_FLUSH (256u << 10) /* ack-log bytes buffered per worker before a write */
#define BACKOFF_MIN_NS 50000000ull
#define BACKOFF_MAX_NS 2000000000ull

enum cstate { C_DOWN, C_CONNECTING, C_READY, C_BUSY };

struct conn {
    struct lgclient *w;
    int fd;
    enum cstate st;
    uint64_t retry_at; /* DOWN: when to reconnect */
    uint64_t backoff;
    /* the request in flight */
    int sig;
    size_t items;
    uint64_t t0;    /* mono ns when the first byte was written */
    buf_t body;     /* HTTP: the body; gRPC: 5-byte prefix + message */
    char hdr[1024]; /* HTTP/1.1 request head */
    size_t hdr_len;
    size_t wr_off; /* HTTP: bytes of hdr+body written */
    buf_t acks;    /* ack-log lines of the items in flight */
    /* HTTP/1.1 response */
    buf_t in;
    /* gRPC */
    nghttp2_session *h2;
    buf_t out; /* bytes nghttp2 produced that the socket has not taken yet */
    size_t out_off;
    size_t body_off; /* how much of body the data provider has handed out */
    int32_t stream;
    int h2_status, grpc_status;
    buf_t resp;  /* gRPC response message bytes */
    int closing; /* HTTP: server said Connection: close */
};

struct lgclient {
    lgclient_config_t cfg;
    lgclient_stats_t st;
    lggen_t *gen;
    int ep;
    struct conn *conns;
    int nconns;
    int *idle; /* stack of READY connections */
    int nidle;
    unsigned next_sig;
    double tokens, req_rate, burst;
    uint64_t last_refill;
    buf_t ackbuf;
    buf_t dechunk; /* a chunked response body, decoded */
    nghttp2_session_callbacks *cbs;
    nghttp2_mem mem;
};

/* ------------------------------------------------------------------ ack log --------- */

int lgclient_acklog_open(lgclient_acklog_t *l, const char *path)
{
    l->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (l->fd < 0)
        return orasi_err_from_errno(errno);
    pthread_mutex_init(&l->mu, NULL);
    return 0;
}

int lgclient_acklog_write(lgclient_acklog_t *l, const void *p, size_t len)
{
    const uint8_t *b = p;
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    while (len > 0) {
        ssize_t n = write(l->fd, b, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = orasi_err_from_errno(errno);
            break;
        }
        b += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void lgclient_acklog_close(lgclient_acklog_t *l)
{
    if (l->fd >= 0) {
        fsync(l->fd);
        close(l->fd);
        pthread_mutex_destroy(&l->mu);
    }
    l->fd = -1;
}

static int lgc_ackbuf_flush(struct lgclient *w)
{
    int rc = 0;
    if (w->cfg.acklog && w->ackbuf.len)
        rc = lgclient_acklog_write(w->cfg.acklog, w->ackbuf.data, w->ackbuf.len);
    buf_clear(&w->ackbuf);
    return rc;
}

/* ------------------------------------------------------------------ stats ----------- */

const lgclient_stats_t *lgclient_stats(const lgclient_t *w)
{
    return &w->st;
}

void lgclient_stats_add(lgclient_stats_t *d, const lgclient_stats_t *s)
{
    d->req_sent += LD(&s->req_sent);
    d->req_acked += LD(&s->req_acked);
    d->req_failed += LD(&s->req_failed);
    d->req_partial += LD(&s->req_partial);
    d->items_sent += LD(&s->items_sent);
    d->items_acked += LD(&s->items_acked);
    d->items_rejected += LD(&s->items_rejected);
    for (int i = 0; i < 3; i++)
        d->items_acked_sig[i] += LD(&s->items_acked_sig[i]);
    d->bytes_sent += LD(&s->bytes_sent);
    for (int i = 0; i < LGCLIENT_MAX_STATUS; i++)
        d->http_status[i] += LD(&s->http_status[i]);
    for (int i = 0; i < LGCLIENT_GRPC_CODES; i++)
        d->grpc_code[i] += LD(&s->grpc_code[i]);
    d->conn_errors += LD(&s->conn_errors);
    d->timeouts += LD(&s->timeouts);
    d->bad_responses += LD(&s->bad_responses);
    d->connects += LD(&s->connects);
    d->gen_errors += LD(&s->gen_errors);
    lghist_merge(&d->lat_us, &s->lat_us);
}

/* ------------------------------------------------------------------ responses ------- */

static int lgc_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return ORASI_EPARSE;
}

/* Skip one field of wire type `wt`. */
static int lgc_pb_skip(const uint8_t **p, const uint8_t *end, unsigned wt)
{
    uint64_t v;
    switch (wt) {
    case 0:
        return lgc_varint(p, end, &v);
    case 1:
        if (end - *p < 8)
            return ORASI_EPARSE;
        *p += 8;
        return 0;
    case 2:
        if (lgc_varint(p, end, &v) < 0 || v > (uint64_t)(end - *p))
            return ORASI_EPARSE;
        *p += v;
        return 0;
    case 5:
        if (end - *p < 4)
            return ORASI_EPARSE;
        *p += 4;
        return 0;
    }
    return ORASI_EPARSE;
}

int lgclient_parse_partial(enum lgclient_proto proto, const uint8_t *p, size_t len,
                           int64_t *rejected)
{
    *rejected = 0;
    if (len == 0)
        return 0; /* the empty message (p may be NULL) */
    if (proto == LGCLIENT_HTTP_JSON) {
        /* {"partialSuccess":{"rejectedSpans":"3","errorMessage":"..."}}: the count key
         * is the only one starting with "rejected"; int64 may be a string or a number. */
        const char *key = memmem(p, len, "\"rejected", 9);
        if (!key)
            return 0;
        const char *e = (const char *)p + len;
        const char *q = memchr(key + 9, '"', (size_t)(e - (key + 9)));
        if (!q)
            return ORASI_EPARSE;
        q++;
        while (q < e && (*q == ' ' || *q == ':' || *q == '"' || *q == '\t'))
            q++;
        int64_t v = 0;
        int digits = 0;
        while (q < e && *q >= '0' && *q <= '9' && digits < 18) {
            v = v * 10 + (*q++ - '0');
            digits++;
        }
        if (!digits)
            return ORASI_EPARSE;
        *rejected = v;
        return 0;
    }
    /* Export*ServiceResponse { partial_success = 1 { rejected_* = 1; error_message = 2 } } */
    const uint8_t *q = p, *end = p + len;
    while (q < end) {
        uint64_t tag;
        if (lgc_varint(&q, end, &tag) < 0)
            return ORASI_EPARSE;
        if (tag == ((1u << 3) | 2)) {
            uint64_t l;
            if (lgc_varint(&q, end, &l) < 0 || l > (uint64_t)(end - q))
                return ORASI_EPARSE;
            const uint8_t *ps = q, *pe = q + l;
            q = pe;
            while (ps < pe) {
                uint64_t t2, v;
                if (lgc_varint(&ps, pe, &t2) < 0)
                    return ORASI_EPARSE;
                if (t2 == ((1u << 3) | 0)) {
                    if (lgc_varint(&ps, pe, &v) < 0)
                        return ORASI_EPARSE;
                    *rejected = (int64_t)v;
                } else if (lgc_pb_skip(&ps, pe, (unsigned)(t2 & 7)) < 0) {
                    return ORASI_EPARSE;
                }
            }
        } else if (lgc_pb_skip(&q, end, (unsigned)(tag & 7)) < 0) {
            return ORASI_EPARSE;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ connections ----- */

static void lgc_idle_push(struct lgclient *w, struct conn *c)
{
    c->st = C_READY;
    w->idle[w->nidle++] = (int)(c - w->conns);
}

static void lgc_idle_remove(struct lgclient *w, struct conn *c)
{
    int idx = (int)(c - w->conns);
    for (int i = 0; i < w->nidle; i++)
        if (w->idle[i] == idx) {
            w->idle[i] = w->idle[--w->nidle];
            return;
        }
}

/* The request in flight is over: account it (ok = acknowledged, minus `rejected`). */
static void lgc_finish(struct lgclient *w, struct conn *c, int ok, int64_t rejected)
{
    uint64_t now = clock_mono_ns();
    lgclient_stats_t *s = &w->st;
    if (ok) {
        uint64_t acked = rejected > 0 && (uint64_t)rejected < c->items
                             ? c->items - (uint64_t)rejected
                             : (rejected > 0 ? 0 : c->items);
        BUMP(&s->req_acked, 1);
        BUMP(&s->items_acked, acked);
        BUMP(&s->items_acked_sig[c->sig], acked);
        if (rejected > 0) {
            /* which items were refused is not said, so none of them is claimed */
            BUMP(&s->req_partial, 1);
            BUMP(&s->items_rejected, c->items - acked);
        } else if (w->cfg.acklog && c->acks.len) {
            if (buf_append(&w->ackbuf, c->acks.data, c->acks.len) < 0 ||
                w->ackbuf.len >= ACKBUF_FLUSH)
                lgc_ackbuf_flush(w);
            if (w->ackbuf.len == 0 && c->acks.len > ACKBUF_FLUSH) /* append failed: direct */
                lgclient_acklog_write(w->cfg.acklog, c->acks.data, c->acks.len);
        }
    } else {
        BUMP(&s->req_failed, 1);
    }
    lghist_record(&s->lat_us, (now - c->t0) / 1000);
    buf_clear(&c->acks);
    c->items = 0;
    c->st = C_READY; /* no request in flight; the caller makes it idle or closes it */
}

enum { CLOSE_ORDERLY, CLOSE_ERROR, CLOSE_TIMEOUT };

/* Tear a connection down. A request in flight fails; `why` says what to count and
 * whether to back off before reconnecting. */
static void lgc_close(struct lgclient *w, struct conn *c, int why)
{
    if (c->st == C_BUSY)
        lgc_finish(w, c, 0, 0);
    else if (c->st == C_READY)
        lgc_idle_remove(w, c);
    if (why == CLOSE_ERROR)
        BUMP(&w->st.conn_errors, 1);
    else if (why == CLOSE_TIMEOUT)
        BUMP(&w->st.timeouts, 1);
    if (c->fd >= 0) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->stream = -1; /* before the session goes: no callback may touch a finished request */
    if (c->h2) {
        nghttp2_session_del(c->h2);
        c->h2 = NULL;
    }
    buf_clear(&c->in);
    buf_clear(&c->out);
    c->out_off = 0;
    c->closing = 0;
    c->st = C_DOWN;
    if (why != CLOSE_ORDERLY) {
        c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_MIN_NS;
        if (c->backoff > BACKOFF_MAX_NS)
            c->backoff = BACKOFF_MAX_NS;
    } else {
        c->backoff = 0;
    }
    c->retry_at = clock_mono_ns() + c->backoff;
}

static int lgc_watch(struct lgclient *w, struct conn *c, int op, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    return epoll_ctl(w->ep, op, c->fd, &ev) < 0 ? orasi_err_from_errno(errno) : 0;
}

static void lgc_connect(struct lgclient *w, struct conn *c)
{
    int fd = socket(w->cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        lgc_close(w, c, CLOSE_ERROR);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    c->st = C_CONNECTING;
    if (connect(fd, (const struct sockaddr *)&w->cfg.addr, w->cfg.addrlen) < 0 &&
        errno != EINPROGRESS) {
        lgc_close(w, c, CLOSE_ERROR);
        return;
    }
    if (lgc_watch(w, c, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT) < 0)
        lgc_close(w, c, CLOSE_ERROR);
}

/* ------------------------------------------------------------------ gRPC (nghttp2) -- */

static void *lgc_h2_malloc(size_t n, void *ud)
{
    return orasi_malloc(n);
}
static void lgc_h2_free(void *p, void *ud)
{
    orasi_free(p);
}
static void *lgc_h2_calloc(size_t n, size_t s, void *ud)
{
    return orasi_calloc(n, s);
}
static void *lgc_h2_realloc(void *p, size_t n, void *ud)
{
    return orasi_realloc(p, n);
}

static int lgc_h2_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                            size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                            void *ud)
{
    struct conn *c = ud;
    if (f->hd.stream_id != c->stream)
        return 0;
    slice_t n = slice_make(name, namelen);
    if (slice_eq_cstr(n, ":status") || slice_eq_cstr(n, "grpc-status")) {
        int v = 0;
        for (size_t i = 0; i < valuelen && i < 6; i++) {
            if (value[i] < '0' || value[i] > '9') {
                v = -1;
                break;
            }
            v = v * 10 + (value[i] - '0');
        }
        if (namelen == 7)
            c->h2_status = v;
        else
            c->grpc_status = v;
    }
    return 0;
}

static int lgc_h2_on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                          size_t len, void *ud)
{
    struct conn *c = ud;
    if (stream_id == c->stream && buf_append(&c->resp, data, len) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int lgc_h2_on_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    struct conn *c = ud;
    struct lgclient *w = c->w;
    if (stream_id != c->stream || c->st != C_BUSY)
        return 0;
    c->stream = -1;
    if (c->h2_status > 0 && c->h2_status < LGCLIENT_MAX_STATUS)
        BUMP(&w->st.http_status[c->h2_status], 1);
    int ok = 0;
    int64_t rejected = 0;
    if (c->grpc_status >= 0 && c->grpc_status < LGCLIENT_GRPC_CODES)
        BUMP(&w->st.grpc_code[c->grpc_status], 1);
    if (error_code == 0 && c->h2_status == 200 && c->grpc_status == 0) {
        /* the response message: 5-byte prefix (compressed flag, length) + message */
        if (c->resp.len >= 5 && c->resp.data[0] == 0) {
            uint32_t ml = (uint32_t)c->resp.data[1] << 24 | (uint32_t)c->resp.data[2] << 16 |
                          (uint32_t)c->resp.data[3] << 8 | c->resp.data[4];
            if (ml == c->resp.len - 5 &&
                lgclient_parse_partial(LGCLIENT_GRPC, c->resp.data + 5, ml, &rejected) == 0)
                ok = 1;
        } else if (c->resp.len == 0) {
            ok = 1; /* no message is the empty response */
        }
        if (!ok)
            BUMP(&w->st.bad_responses, 1);
    } else if (c->grpc_status < 0) {
        BUMP(&w->st.bad_responses, 1);
    }
    lgc_finish(w, c, ok, rejected);
    buf_clear(&c->resp);
    lgc_idle_push(w, c);
    return 0;
}

static ssize_t lgc_h2_read_body(nghttp2_session *s, int32_t stream_id, uint8_t *out, size_t len,
                                uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    struct conn *c = src->ptr;
    size_t left = c->body.len - c->body_off;
    size_t n = left < len ? left : len;
    memcpy(out, c->body.data + c->body_off, n);
    c->body_off += n;
    if (c->body_off == c->body.len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int lgc_h2_init(struct lgclient *w, struct conn *c)
{
    if (nghttp2_session_client_new3(&c->h2, w->cbs, c, NULL, &w->mem) != 0)
        return ORASI_ENOMEM;
    /* a large window: responses are small, but never let flow control pace us */
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2) != 0)
        return ORASI_ENOMEM;
    c->stream = -1;
    return 0;
}

/* Move what nghttp2 wants to send into c->out and write as much as the socket takes.
 * Frames are gathered (up to 64 KiB) before each write so that one request leaves in one
 * or a few segments rather than a write per frame. */
static int lgc_h2_pump(struct lgclient *w, struct conn *c)
{
    for (;;) {
        while (c->out.len - c->out_off < 65536) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->h2, &data);
            if (n < 0)
                return ORASI_EIO;
            if (n == 0)
                break;
            if (c->out_off == c->out.len) {
                buf_clear(&c->out);
                c->out_off = 0;
            }
            if (buf_append(&c->out, data, (size_t)n) < 0)
                return ORASI_ENOMEM;
        }
        if (c->out_off == c->out.len)
            break;
        /* MSG_NOSIGNAL: a peer that closed must be an error here, not a SIGPIPE that
         * kills whatever process embeds the client */
        ssize_t k = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            return ORASI_EIO;
        }
        BUMP(&w->st.bytes_sent, (uint64_t)k);
        c->out_off += (size_t)k;
        if (c->out_off == c->out.len) {
            buf_clear(&c->out);
            c->out_off = 0;
        }
    }
    int want_out = c->out_off < c->out.len || nghttp2_session_want_write(c->h2);
    return lgc_watch(w, c, EPOLL_CTL_MOD, EPOLLIN | (want_out ? EPOLLOUT : 0));
}

static const char *const lgc_grpc_paths[3] = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export"};

static const char *const lgc_http_paths[3] = {"/v1/traces", "/v1/metrics", "/v1/logs"};

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE             \
    }

static int lgc_h2_submit(struct lgclient *w, struct conn *c)
{
    nghttp2_nv nva[] = {
        NV(":method", "POST"),
        NV(":scheme", "http"),
        NV(":path", lgc_grpc_paths[c->sig]),
        NV(":authority", w->cfg.authority),
        NV("content-type", "application/grpc"),
        NV("te", "trailers"),
        NV("user-agent", "orasi-loadgen/" ORASI_VERSION),
        NV("x-scope-orgid", w->cfg.tenant ? w->cfg.tenant : ""),
    };
    size_t nn = w->cfg.tenant ? 8 : 7;
    nghttp2_data_provider dp = {.source.ptr = c, .read_callback = lgc_h2_read_body};
    c->body_off = 0;
    c->h2_status = 0;
    c->grpc_status = -1;
    buf_clear(&c->resp);
    int32_t id = nghttp2_submit_request(c->h2, NULL, nva, nn, &dp, c);
    if (id < 0)
        return ORASI_EIO;
    c->stream = id;
    return lgc_h2_pump(w, c);
}

/* ------------------------------------------------------------------ HTTP/1.1 -------- */

static int lgc_http_write(struct lgclient *w, struct conn *c)
{
    size_t total = c->hdr_len + c->body.len;
    while (c->wr_off < total) {
        struct iovec iov[2];
        int n = 0;
        if (c->wr_off < c->hdr_len) {
            iov[n].iov_base = c->hdr + c->wr_off;
            iov[n++].iov_len = c->hdr_len - c->wr_off;
            iov[n].iov_base = c->body.data;
            iov[n++].iov_len = c->body.len;
        } else {
            iov[n].iov_base = c->body.data + (c->wr_off - c->hdr_len);
            iov[n++].iov_len = total - c->wr_off;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t k = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            return ORASI_EIO;
        }
        c->wr_off += (size_t)k;
        BUMP(&w->st.bytes_sent, (uint64_t)k);
    }
    return lgc_watch(w, c, EPOLL_CTL_MOD, EPOLLIN | (c->wr_off < total ? EPOLLOUT : 0));
}

/* Case-insensitive prefix test for a header line. */
static int lgc_hdr_is(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && strncasecmp(line, name, n) == 0 && line[n] == ':';
}

int lgclient_http_response(const uint8_t *in, size_t len, buf_t *scratch, lgclient_http_resp_t *out)
{
    const char *p = (const char *)in;
    memset(out, 0, sizeof(*out));
    const char *eoh = len >= 4 ? memmem(p, len, "\r\n\r\n", 4) : NULL;
    if (!eoh)
        return len > LGCLIENT_MAX_HEAD ? ORASI_EPARSE : 0;
    size_t hlen = (size_t)(eoh - p) + 4;
    if (hlen > LGCLIENT_MAX_HEAD || hlen < 16 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
        return ORASI_EPARSE;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return ORASI_EPARSE;
        status = status * 10 + (p[i] - '0');
    }
    long clen = -1;
    int chunked = 0;
    const char *line = memchr(p, '\n', hlen);
    if (!line)
        return ORASI_EPARSE;
    line++;
    while (line < eoh) {
        const char *nl = memchr(line, '\n', (size_t)(eoh + 2 - line));
        if (!nl)
            break;
        size_t ll = (size_t)(nl - line);
        if (ll && line[ll - 1] == '\r')
            ll--;
        const char *v = memchr(line, ':', ll);
        if (v) {
            v++;
            while (v < line + ll && (*v == ' ' || *v == '\t'))
                v++;
            size_t vl = (size_t)(line + ll - v);
            if (lgc_hdr_is(line, ll, "content-length")) {
                if (vl == 0 || clen >= 0)
                    return ORASI_EPARSE; /* empty or repeated: ambiguous framing */
                clen = 0;
                for (size_t i = 0; i < vl; i++) {
                    if (v[i] < '0' || v[i] > '9' || clen > (long)LGCLIENT_MAX_RESP)
                        return ORASI_EPARSE;
                    clen = clen * 10 + (v[i] - '0');
                }
                if (clen > (long)LGCLIENT_MAX_RESP)
                    return ORASI_EPARSE;
            } else if (lgc_hdr_is(line, ll, "transfer-encoding")) {
                chunked = vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0;
            } else if (lgc_hdr_is(line, ll, "connection")) {
                out->conn_close = vl >= 5 && strncasecmp(v, "close", 5) == 0;
            }
        }
        line = nl + 1;
    }
    out->status = status;
    if (chunked) {
        /* decoded into scratch; no trailers expected (OTLP servers send none) */
        size_t at = hlen;
        buf_clear(scratch);
        for (;;) {
            const char *cl = at < len ? memmem(p + at, len - at, "\r\n", 2) : NULL;
            if (!cl)
                return len - at > 64 ? ORASI_EPARSE : 0;
            size_t sz = 0;
            const char *q = p + at;
            int nd = 0;
            for (; q < cl; q++, nd++) {
                int d = (*q >= '0' && *q <= '9')   ? *q - '0'
                        : (*q >= 'a' && *q <= 'f') ? *q - 'a' + 10
                        : (*q >= 'A' && *q <= 'F') ? *q - 'A' + 10
                                                   : -1;
                if (d < 0)
                    break; /* chunk extensions (";...") are ignored */
                sz = sz * 16 + (size_t)d;
                if (sz > LGCLIENT_MAX_RESP)
                    return ORASI_EPARSE;
            }
            if (!nd || (q < cl && *q != ';'))
                return ORASI_EPARSE;
            at = (size_t)(cl - p) + 2;
            if (sz == 0) {
                if (len - at < 2)
                    return 0;
                if (p[at] != '\r' || p[at + 1] != '\n')
                    return ORASI_EPARSE;
                at += 2;
                break;
            }
            if (len - at < sz + 2)
                return 0;
            if (p[at + sz] != '\r' || p[at + sz + 1] != '\n')
                return ORASI_EPARSE;
            if (buf_append(scratch, p + at, sz) < 0)
                return ORASI_EPARSE;
            at += sz + 2;
        }
        out->body = scratch->data;
        out->body_len = scratch->len;
        out->consumed = at;
        return 1;
    }
    /* no Content-Length and not chunked: an empty body (OTLP answers always frame it) */
    if (clen < 0)
        clen = 0;
    if (len - hlen < (size_t)clen)
        return 0;
    out->body = in + hlen;
    out->body_len = (size_t)clen;
    out->consumed = hlen + (size_t)clen;
    return 1;
}

/* Try to complete the response in c->in: 1 when one was consumed and accounted, 0 when
 * more bytes are needed, a negative code when it is malformed. */
static int lgc_http_parse(struct lgclient *w, struct conn *c)
{
    lgclient_http_resp_t r;
    int rc = lgclient_http_response(c->in.data, c->in.len, &w->dechunk, &r);
    if (rc <= 0)
        return rc;
    if (r.status < LGCLIENT_MAX_STATUS)
        BUMP(&w->st.http_status[r.status], 1);
    int64_t rejected = 0;
    int ok = r.status == 200;
    if (ok && lgclient_parse_partial(w->cfg.proto, r.body, r.body_len, &rejected) < 0) {
        BUMP(&w->st.bad_responses, 1);
        ok = 0;
    }
    lgc_finish(w, c, ok, rejected);
    buf_consume(&c->in, r.consumed);
    c->closing = r.conn_close;
    return 1;
}

/* ------------------------------------------------------------------ requests -------- */

static int lgc_next_sig(struct lgclient *w)
{
    for (int i = 0; i < 3; i++) {
        int s = (int)(w->next_sig++ % 3);
        if (w->cfg.signals & (1u << s))
            return s;
    }
    return OTLP_TRACES;
}

static int lgc_send(struct lgclient *w, struct conn *c)
{
    int sig = lgc_next_sig(w);
    buf_t *acks = w->cfg.acklog ? &c->acks : NULL;
    int rc;
    buf_clear(&c->acks);
    buf_clear(&c->body);
    if (w->cfg.proto == LGCLIENT_GRPC) {
        /* gRPC message framing: compressed flag 0, then the length (filled in below) */
        static const uint8_t zero[5];
        if ((rc = buf_append(&c->body, zero, 5)) < 0)
            return rc;
    }
    rc = lggen_next(w->gen, (enum otlp_signal)sig, w->cfg.batch, clock_wall_ns(), &c->body, acks);
    if (rc < 0) {
        BUMP(&w->st.gen_errors, 1);
        return rc;
    }
    if (w->cfg.proto == LGCLIENT_GRPC) {
        uint32_t ml = (uint32_t)(c->body.len - 5);
        c->body.data[1] = (uint8_t)(ml >> 24);
        c->body.data[2] = (uint8_t)(ml >> 16);
        c->body.data[3] = (uint8_t)(ml >> 8);
        c->body.data[4] = (uint8_t)ml;
    }
    c->sig = sig;
    c->items = w->cfg.batch;
    c->st = C_BUSY;
    c->t0 = clock_mono_ns();
    BUMP(&w->st.req_sent, 1);
    BUMP(&w->st.items_sent, c->items);
    if (w->cfg.proto == LGCLIENT_GRPC)
        return lgc_h2_submit(w, c);
    int n =
        snprintf(c->hdr, sizeof(c->hdr),
                 "POST %s%s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
                 "Content-Length: %zu\r\nUser-Agent: orasi-loadgen/%s\r\n%s%s%s\r\n",
                 w->cfg.base_path, lgc_http_paths[sig], w->cfg.authority,
                 w->cfg.proto == LGCLIENT_HTTP_JSON ? "application/json" : "application/x-protobuf",
                 c->body.len, ORASI_VERSION, w->cfg.tenant ? "X-Scope-OrgID: " : "",
                 w->cfg.tenant ? w->cfg.tenant : "", w->cfg.tenant ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof(c->hdr))
        return ORASI_ETOOBIG;
    c->hdr_len = (size_t)n;
    c->wr_off = 0;
    return lgc_http_write(w, c);
}

/* ------------------------------------------------------------------ events ---------- */

static void lgc_on_connected(struct lgclient *w, struct conn *c)
{
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
        lgc_close(w, c, CLOSE_ERROR);
        return;
    }
    BUMP(&w->st.connects, 1);
    c->backoff = 0;
    if (w->cfg.proto == LGCLIENT_GRPC) {
        if (lgc_h2_init(w, c) < 0 || lgc_h2_pump(w, c) < 0) {
            lgc_close(w, c, CLOSE_ERROR);
            return;
        }
    } else if (lgc_watch(w, c, EPOLL_CTL_MOD, EPOLLIN) < 0) {
        lgc_close(w, c, CLOSE_ERROR);
        return;
    }
    lgc_idle_push(w, c);
}

static void lgc_on_readable(struct lgclient *w, struct conn *c)
{
    uint8_t tmp[65536];
    for (;;) {
        ssize_t n = read(c->fd, tmp, sizeof(tmp));
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            lgc_close(w, c, CLOSE_ERROR);
            return;
        }
        if (n == 0) {
            /* the server closed: fine between requests, a failure during one */
            lgc_close(w, c, c->st == C_BUSY ? CLOSE_ERROR : CLOSE_ORDERLY);
            return;
        }
        if (w->cfg.proto == LGCLIENT_GRPC) {
            if (nghttp2_session_mem_recv(c->h2, tmp, (size_t)n) < 0) {
                BUMP(&w->st.bad_responses, 1);
                lgc_close(w, c, CLOSE_ERROR);
                return;
            }
            continue;
        }
        if (c->st != C_BUSY) {
            /* bytes nobody asked for: the connection is out of sync */
            BUMP(&w->st.bad_responses, 1);
            lgc_close(w, c, CLOSE_ERROR);
            return;
        }
        if (buf_append(&c->in, tmp, (size_t)n) < 0) {
            BUMP(&w->st.bad_responses, 1);
            lgc_close(w, c, CLOSE_ERROR);
            return;
        }
        int rc = lgc_http_parse(w, c);
        if (rc < 0) {
            BUMP(&w->st.bad_responses, 1);
            lgc_close(w, c, CLOSE_ERROR);
            return;
        }
        if (rc == 1) {
            /* Reuse only a connection in step with us: not one the server wants closed,
             * not one with extra bytes, not one that answered before taking the whole
             * request (the rest of our body would be read as the next request). */
            if (c->closing || c->in.len || c->wr_off < c->hdr_len + c->body.len) {
                lgc_close(w, c, CLOSE_ORDERLY);
                return;
            }
            lgc_idle_push(w, c);
        }
    }
    if (w->cfg.proto == LGCLIENT_GRPC) {
        if (lgc_h2_pump(w, c) < 0 ||
            (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)))
            lgc_close(w, c, c->st == C_BUSY ? CLOSE_ERROR : CLOSE_ORDERLY);
    }
}

static void lgc_on_event(struct lgclient *w, struct conn *c, uint32_t ev)
{
    if (c->st == C_CONNECTING) {
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            lgc_on_connected(w, c);
        return;
    }
    if (c->fd < 0)
        return;
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        lgc_on_readable(w, c);
        if (c->fd < 0)
            return;
    }
    if (ev & EPOLLOUT) {
        int rc = w->cfg.proto == LGCLIENT_GRPC ? lgc_h2_pump(w, c)
                 : c->st == C_BUSY             ? lgc_http_write(w, c)
                                               : 0;
        if (rc < 0)
            lgc_close(w, c, CLOSE_ERROR);
    }
}

/* ------------------------------------------------------------------ the loop -------- */

lgclient_t *lgclient_create(const lgclient_config_t *cfg)
{
    if (cfg->connections <= 0 || cfg->connections > LGCLIENT_MAX_CONNS || cfg->batch == 0 ||
        cfg->batch > LGGEN_MAX_BATCH || !(cfg->signals & 7))
        return NULL;
    lgclient_t *w = orasi_calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->cfg = *cfg;
    w->ep = -1;
    lghist_init(&w->st.lat_us);
    buf_init(&w->ackbuf, 64u << 20);
    buf_init(&w->dechunk, LGCLIENT_MAX_RESP);
    w->gen = lggen_create(cfg->seed, cfg->index,
                          cfg->proto == LGCLIENT_HTTP_JSON ? LGGEN_JSON : LGGEN_PROTOBUF);
    w->conns = orasi_calloc((size_t)cfg->connections, sizeof(*w->conns));
    w->idle = orasi_calloc((size_t)cfg->connections, sizeof(*w->idle));
    if (!w->gen || !w->conns || !w->idle)
        goto fail;
    w->nconns = cfg->connections;
    for (int i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        c->w = w;
        c->fd = -1;
        c->stream = -1;
        buf_init(&c->body, LGGEN_MAX_BODY + 5);
        buf_init(&c->acks, (size_t)LGGEN_MAX_BATCH * 64);
        buf_init(&c->in, LGCLIENT_MAX_RESP + 65536);
        buf_init(&c->out, LGGEN_MAX_BODY + 65536);
        buf_init(&c->resp, LGCLIENT_MAX_RESP);
    }
    if (cfg->proto == LGCLIENT_GRPC) {
        if (nghttp2_session_callbacks_new(&w->cbs) != 0)
            goto fail;
        nghttp2_session_callbacks_set_on_header_callback(w->cbs, lgc_h2_on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(w->cbs, lgc_h2_on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(w->cbs, lgc_h2_on_close);
        w->mem = (nghttp2_mem){NULL, lgc_h2_malloc, lgc_h2_free, lgc_h2_calloc, lgc_h2_realloc};
    }
    return w;
fail:
    lgclient_destroy(w);
    return NULL;
}

void lgclient_destroy(lgclient_t *w)
{
    if (!w)
        return;
    for (int i = 0; w->conns && i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        if (c->fd >= 0)
            close(c->fd);
        if (c->h2)
            nghttp2_session_del(c->h2);
        buf_free(&c->body);
        buf_free(&c->acks);
        buf_free(&c->in);
        buf_free(&c->out);
        buf_free(&c->resp);
    }
    if (w->cbs)
        nghttp2_session_callbacks_del(w->cbs);
    if (w->ep >= 0)
        close(w->ep);
    lggen_destroy(w->gen);
    buf_free(&w->ackbuf);
    buf_free(&w->dechunk);
    orasi_free(w->conns);
    orasi_free(w->idle);
    orasi_free(w);
}

static void lgc_refill(struct lgclient *w, uint64_t now)
{
    if (w->req_rate <= 0)
        return;
    w->tokens += (double)(now - w->last_refill) * 1e-9 * w->req_rate;
    if (w->tokens > w->burst)
        w->tokens = w->burst;
    w->last_refill = now;
}

int lgclient_run(lgclient_t *w)
{
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    if (w->ep < 0)
        return orasi_err_from_errno(errno);
    uint64_t start = clock_mono_ns();
    uint64_t end = start + w->cfg.duration_ns;
    uint64_t drain_end = 0;
    w->req_rate = w->cfg.rate > 0 ? w->cfg.rate / (double)w->cfg.batch : 0;
    /* A burst of up to one request per connection (or one second's worth, if smaller)
     * lets a fixed rate catch up after a stall without ever exceeding it on average. */
    w->burst = w->req_rate > 0 ? (w->req_rate < w->nconns ? (w->req_rate < 1 ? 1 : w->req_rate)
                                                          : (double)w->nconns)
                               : 0;
    w->tokens = w->req_rate > 0 ? 1 : 0;
    w->last_refill = start;
    for (int i = 0; i < w->nconns; i++)
        lgc_connect(w, &w->conns[i]);

    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = clock_mono_ns();
        int stopping = now >= end || (w->cfg.stop && LD(w->cfg.stop));
        if (stopping && !drain_end)
            drain_end = now + w->cfg.timeout_ns;
        int busy = 0;
        uint64_t wake = stopping ? drain_end : end;
        for (int i = 0; i < w->nconns; i++) {
            struct conn *c = &w->conns[i];
            if (c->st == C_BUSY) {
                if (now - c->t0 >= w->cfg.timeout_ns) {
                    lgc_close(w, c, CLOSE_TIMEOUT);
                } else {
                    busy++;
                    if (c->t0 + w->cfg.timeout_ns < wake)
                        wake = c->t0 + w->cfg.timeout_ns;
                }
            }
            if (c->st == C_DOWN && !stopping) {
                if (now >= c->retry_at)
                    lgc_connect(w, c);
                else if (c->retry_at < wake)
                    wake = c->retry_at;
            }
        }
        if (stopping && (busy == 0 || now >= drain_end))
            break;
        if (!stopping) {
            lgc_refill(w, now);
            while (w->nidle > 0 && (w->req_rate <= 0 || w->tokens >= 1)) {
                struct conn *c = &w->conns[w->idle[--w->nidle]];
                if (w->req_rate > 0)
                    w->tokens -= 1;
                if (lgc_send(w, c) < 0)
                    lgc_close(w, c, CLOSE_ERROR);
            }
            if (w->req_rate > 0 && w->nidle > 0) {
                uint64_t t = now + (uint64_t)((1 - w->tokens) / w->req_rate * 1e9) + 1;
                if (t < wake)
                    wake = t;
            }
        }
        now = clock_mono_ns();
        int ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
        if (ms > 100)
            ms = 100; /* notice *stop promptly */
        int n = epoll_wait(w->ep, evs, 256, ms);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++)
            lgc_on_event(w, evs[i].data.ptr, evs[i].events);
    }
    for (int i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        if (c->st == C_BUSY)
            lgc_close(w, c, CLOSE_TIMEOUT); /* unanswered when the drain time ran out */
        else if (c->fd >= 0)
            lgc_close(w, c, CLOSE_ORDERLY);
    }
    return lgc_ackbuf_flush(w);
}
