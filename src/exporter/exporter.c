/*
 * exporter.c — OTLP/HTTP and OTLP/gRPC client pool on an event loop (see exporter.h).
 *
 * Connection life: DOWN -> CONNECTING -> READY (idle, watched for a close by the peer)
 * -> BUSY (one request) -> READY, or DOWN on any error. A request is given to a READY
 * connection, else to a DOWN one that is opened for it; its deadline timer runs from
 * exp_send, so time spent queued or connecting counts. A request whose connection fails
 * is answered EXP_RETRY with the transport error: the caller decides whether to retry
 * (the upstream may or may not have the data: that is what X-Orasi-Batch is for).
 *
 * The structure follows the load generator's client (src/loadgen/lgclient.c) but runs on
 * net/loop.h, so a forwarder can own many of these on one thread with its timers.
 */
#include "exporter/exporter.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "http/base64.h"
#include "http/h1_parse.h"
#include "otlp/pb.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define EXP_HEAD_MAX (128u << 10) /* request head: the batch id list can be long */
#define EXP_RESP_HEAD_MAX (64u << 10)

enum exp_cstate { EXP_DOWN, EXP_CONNECTING, EXP_READY, EXP_BUSY };

struct exp_req {
    struct exp_req *next;
    exp_request_t r; /* slices borrowed from the caller until done */
    exp_done_fn done;
    void *ud;
    buf_t wire; /* compressed body (empty when sent as is) */
    uint64_t t0, deadline;
};

struct exp_conn {
    exp_client_t *cl;
    int fd;
    enum exp_cstate st;
    loop_io_t io;
    loop_timer_t timer;
    struct exp_req *req;
    /* HTTP/1.1 */
    buf_t head;
    size_t wr_off;
    buf_t in;
    int closing; /* Connection: close seen */
    int sent;    /* the current request started leaving: a failure now is in doubt */
    /* gRPC */
    nghttp2_session *h2;
    buf_t out;
    size_t out_off;
    size_t body_off; /* bytes of prefix+body handed to nghttp2 */
    uint8_t prefix[5];
    int32_t stream;
    int h2_status, grpc_status;
    char grpc_msg[256];
    uint64_t retry_ns;
    buf_t resp;
};

struct exp_client {
    loop_t *loop;
    exp_config_t cfg;
    char *url, *tenant_header;
    char authority[300];
    char base[256];
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct exp_conn *conns;
    int nconns;
    struct exp_req *qhead, *qtail;
    size_t nqueue, npending;
    loop_timer_t kick;
    nghttp2_session_callbacks *cbs;
    nghttp2_mem mem;
    int destroying;
};

static const char *const exp_http_paths[3] = {"/v1/traces", "/v1/metrics", "/v1/logs"};
static const char *const exp_grpc_paths[3] = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export"};

/* ---- small parsers --------------------------------------------------------------------- */

int exp_compression_parse(const char *s)
{
    if (!s || !strcmp(s, "none") || !strcmp(s, "identity") || !*s)
        return EXP_COMP_NONE;
    if (!strcmp(s, "gzip"))
        return EXP_COMP_GZIP;
    if (!strcmp(s, "zstd"))
        return EXP_COMP_ZSTD;
    return -1;
}

int exp_protocol_parse(const char *s)
{
    if (!s || !strcmp(s, "http") || !strcmp(s, "http/protobuf"))
        return EXP_HTTP_PROTOBUF;
    if (!strcmp(s, "grpc"))
        return EXP_GRPC;
    return -1;
}

enum exp_outcome exp_classify_http(int status)
{
    if (status >= 200 && status < 300)
        return EXP_OK;
    if (status == 409)
        return EXP_CONFLICT;
    if (status == 400 || status == 413 || status == 415)
        return EXP_PERMANENT;
    return EXP_RETRY;
}

enum exp_outcome exp_classify_grpc(int code)
{
    if (code == 0)
        return EXP_OK;
    if (code == 10) /* ABORTED */
        return EXP_CONFLICT;
    if (code == 3 || code == 9) /* INVALID_ARGUMENT, FAILED_PRECONDITION */
        return EXP_PERMANENT;
    return EXP_RETRY;
}

/* google.protobuf.Duration -> ns */
static int exp_parse_duration(slice_t d, uint64_t *ns)
{
    pb_reader_t r = pb_reader(d);
    uint64_t s = 0, n = 0;
    while (pb_more(&r)) {
        uint32_t f, wt;
        uint64_t v;
        if (pb_read_tag(&r, &f, &wt))
            return ORASI_EPARSE;
        if ((f == 1 || f == 2) && wt == PB_WT_VARINT) {
            if (pb_read_varint(&r, &v))
                return ORASI_EPARSE;
            if (f == 1)
                s = v;
            else
                n = v;
        } else if (pb_skip(&r, wt)) {
            return ORASI_EPARSE;
        }
    }
    if (s > 86400 * 365)
        s = 86400 * 365;
    *ns = s * 1000000000ull + (n % 1000000000ull);
    return 0;
}

int exp_parse_status(slice_t pb, char *msg, size_t msglen, uint64_t *retry_ns)
{
    pb_reader_t r = pb_reader(pb);
    if (msglen)
        msg[0] = '\0';
    *retry_ns = 0;
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t s;
        if (pb_read_tag(&r, &f, &wt))
            return ORASI_EPARSE;
        if (f == 2 && wt == PB_WT_LEN) {
            if (pb_read_bytes(&r, &s))
                return ORASI_EPARSE;
            size_t n = s.len < msglen ? s.len : msglen - 1;
            if (msglen) {
                memcpy(msg, s.p, n);
                msg[n] = '\0';
            }
        } else if (f == 3 && wt == PB_WT_LEN) {
            /* details: google.protobuf.Any{type_url = 1, value = 2} */
            if (pb_read_bytes(&r, &s))
                return ORASI_EPARSE;
            pb_reader_t a = pb_reader(s);
            slice_t type = {0}, value = {0};
            while (pb_more(&a)) {
                uint32_t af, awt;
                if (pb_read_tag(&a, &af, &awt))
                    return ORASI_EPARSE;
                if (af == 1 && awt == PB_WT_LEN) {
                    if (pb_read_bytes(&a, &type))
                        return ORASI_EPARSE;
                } else if (af == 2 && awt == PB_WT_LEN) {
                    if (pb_read_bytes(&a, &value))
                        return ORASI_EPARSE;
                } else if (pb_skip(&a, awt)) {
                    return ORASI_EPARSE;
                }
            }
            static const char ri[] = "google.rpc.RetryInfo";
            if (type.len >= sizeof(ri) - 1 &&
                memcmp(type.p + type.len - (sizeof(ri) - 1), ri, sizeof(ri) - 1) == 0) {
                /* RetryInfo{retry_delay = 1: Duration} */
                pb_reader_t v = pb_reader(value);
                while (pb_more(&v)) {
                    uint32_t vf, vwt;
                    slice_t d;
                    if (pb_read_tag(&v, &vf, &vwt))
                        return ORASI_EPARSE;
                    if (vf == 1 && vwt == PB_WT_LEN) {
                        if (pb_read_bytes(&v, &d) || exp_parse_duration(d, retry_ns))
                            return ORASI_EPARSE;
                    } else if (pb_skip(&v, vwt)) {
                        return ORASI_EPARSE;
                    }
                }
            }
        } else if (pb_skip(&r, wt)) {
            return ORASI_EPARSE;
        }
    }
    return 0;
}

/* Export*ServiceResponse{partial_success = 1 {rejected = 1, error_message = 2}} */
static int exp_parse_partial(slice_t pb, int64_t *rejected, char *msg, size_t msglen)
{
    pb_reader_t r = pb_reader(pb);
    *rejected = 0;
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t s;
        if (pb_read_tag(&r, &f, &wt))
            return ORASI_EPARSE;
        if (f == 1 && wt == PB_WT_LEN) {
            if (pb_read_bytes(&r, &s))
                return ORASI_EPARSE;
            pb_reader_t p = pb_reader(s);
            while (pb_more(&p)) {
                uint32_t pf, pwt;
                uint64_t v;
                slice_t m;
                if (pb_read_tag(&p, &pf, &pwt))
                    return ORASI_EPARSE;
                if (pf == 1 && pwt == PB_WT_VARINT) {
                    if (pb_read_varint(&p, &v))
                        return ORASI_EPARSE;
                    *rejected = (int64_t)v;
                } else if (pf == 2 && pwt == PB_WT_LEN) {
                    if (pb_read_bytes(&p, &m))
                        return ORASI_EPARSE;
                    size_t n = m.len < msglen ? m.len : msglen - 1;
                    memcpy(msg, m.p, n);
                    msg[n] = '\0';
                } else if (pb_skip(&p, pwt)) {
                    return ORASI_EPARSE;
                }
            }
        } else if (pb_skip(&r, wt)) {
            return ORASI_EPARSE;
        }
    }
    return 0;
}

/* ---- compression ------------------------------------------------------------------------ */

int exp_compress(enum exp_compression how, slice_t in, buf_t *out)
{
    int rc = 0;
    if (how == EXP_COMP_ZSTD) {
        size_t bound = ZSTD_compressBound(in.len);
        if ((rc = buf_reserve(out, bound)))
            return rc;
        size_t n = ZSTD_compress(out->data + out->len, bound, in.p, in.len, 1);
        if (ZSTD_isError(n))
            return ORASI_EINTERNAL;
        out->len += n;
        return 0;
    }
    if (how == EXP_COMP_GZIP) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return ORASI_ENOMEM;
        size_t bound = deflateBound(&z, (uLong)in.len) + 32;
        if ((rc = buf_reserve(out, bound)))
            goto out;
        z.next_in = (Bytef *)in.p;
        z.avail_in = (uInt)in.len;
        z.next_out = out->data + out->len;
        z.avail_out = (uInt)bound;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
            rc = ORASI_EINTERNAL;
            goto out;
        }
        out->len += bound - z.avail_out;
    out:
        deflateEnd(&z);
        return rc;
    }
    return buf_append_slice(out, in);
}

/* ---- requests -------------------------------------------------------------------------- */

static slice_t exp_wire_body(const struct exp_req *q)
{
    return q->wire.len ? buf_slice(&q->wire) : q->r.body;
}

static void exp_kick(exp_client_t *cl)
{
    if (!cl->destroying && !loop_timer_active(&cl->kick))
        loop_timer_start(cl->loop, &cl->kick, 0, 0);
}

static void exp_req_finish(exp_client_t *cl, struct exp_req *q, exp_result_t *res)
{
    res->latency_ns = clock_mono_ns() - q->t0;
    cl->npending--;
    exp_done_fn done = q->done;
    void *ud = q->ud;
    buf_free(&q->wire);
    orasi_free(q);
    done(ud, res);
}

static void exp_fail(exp_client_t *cl, struct exp_req *q, int err, const char *what, int in_doubt)
{
    exp_result_t res = {.outcome = EXP_RETRY, .err = err, .grpc_status = -1, .in_doubt = in_doubt};
    snprintf(res.message, sizeof(res.message), "%s: %s", what, orasi_strerror(err));
    exp_req_finish(cl, q, &res);
}

/* ---- connections ----------------------------------------------------------------------- */

static void exp_conn_io(loop_t *loop, loop_io_t *io, unsigned ev);
static void exp_conn_timeout(loop_t *loop, loop_timer_t *t);

static void exp_conn_close(struct exp_conn *c, int err, const char *what)
{
    exp_client_t *cl = c->cl;
    if (c->fd >= 0) {
        loop_io_stop(cl->loop, &c->io);
        close(c->fd);
        c->fd = -1;
    }
    loop_timer_stop(cl->loop, &c->timer);
    if (c->h2) {
        nghttp2_session_del(c->h2);
        c->h2 = NULL;
    }
    buf_clear(&c->in);
    buf_clear(&c->out);
    buf_clear(&c->resp);
    c->out_off = 0;
    c->closing = 0;
    c->st = EXP_DOWN;
    struct exp_req *q = c->req;
    int sent = c->sent;
    c->req = NULL;
    c->sent = 0;
    if (q)
        exp_fail(cl, q, err, what, sent);
    exp_kick(cl);
}

static void exp_conn_done(struct exp_conn *c, exp_result_t *res)
{
    exp_client_t *cl = c->cl;
    struct exp_req *q = c->req;
    c->req = NULL;
    c->sent = 0;
    loop_timer_stop(cl->loop, &c->timer);
    if (c->closing) {
        exp_conn_close(c, ORASI_ECLOSED, "closed");
    } else {
        c->st = EXP_READY;
        if (c->fd >= 0 && !c->h2)
            loop_io_start(cl->loop, &c->io, LOOP_READ);
    }
    exp_kick(cl);
    if (q)
        exp_req_finish(cl, q, res);
}

static int exp_connect(struct exp_conn *c)
{
    exp_client_t *cl = c->cl;
    int fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return orasi_err_from_errno(errno);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&cl->addr, cl->addrlen) != 0 && errno != EINPROGRESS) {
        int e = orasi_err_from_errno(errno);
        close(fd);
        return e == ORASI_ESYS ? ORASI_EUNAVAILABLE : e;
    }
    c->fd = fd;
    c->st = EXP_CONNECTING;
    loop_io_init(&c->io, fd, exp_conn_io, c);
    return loop_io_start(cl->loop, &c->io, LOOP_WRITE);
}

/* ---- gRPC over nghttp2 ------------------------------------------------------------------ */

static void *exp_h2_malloc(size_t n, void *ud)
{
    return orasi_malloc(n);
}
static void exp_h2_free(void *p, void *ud)
{
    orasi_free(p);
}
static void *exp_h2_calloc(size_t n, size_t s, void *ud)
{
    return orasi_calloc(n, s);
}
static void *exp_h2_realloc(void *p, size_t n, void *ud)
{
    return orasi_realloc(p, n);
}

static int exp_digits(const uint8_t *v, size_t n)
{
    int x = 0;
    if (n == 0 || n > 6)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

static int exp_h2_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                            size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                            void *ud)
{
    struct exp_conn *c = ud;
    if (f->hd.stream_id != c->stream)
        return 0;
    slice_t n = slice_make(name, namelen);
    if (slice_eq_cstr(n, ":status")) {
        c->h2_status = exp_digits(value, valuelen);
    } else if (slice_eq_cstr(n, "grpc-status")) {
        c->grpc_status = exp_digits(value, valuelen);
    } else if (slice_eq_cstr(n, "grpc-message")) {
        size_t k = valuelen < sizeof(c->grpc_msg) - 1 ? valuelen : sizeof(c->grpc_msg) - 1;
        memcpy(c->grpc_msg, value, k);
        c->grpc_msg[k] = '\0';
    } else if (slice_eq_cstr(n, "grpc-status-details-bin") && valuelen < 8192) {
        uint8_t tmp[6200];
        size_t k;
        char msg[8];
        uint64_t rn = 0;
        if (base64_decode((const char *)value, valuelen, tmp, sizeof(tmp), &k) == 0 &&
            exp_parse_status(slice_make(tmp, k), msg, sizeof(msg), &rn) == 0 && rn)
            c->retry_ns = rn;
    }
    return 0;
}

static int exp_h2_on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                          size_t len, void *ud)
{
    struct exp_conn *c = ud;
    if (stream_id == c->stream && buf_append(&c->resp, data, len) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int exp_h2_on_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    struct exp_conn *c = ud;
    if (stream_id != c->stream || c->st != EXP_BUSY || !c->req)
        return 0;
    c->stream = -1;
    exp_result_t res = {
        .http_status = c->h2_status, .grpc_status = c->grpc_status, .retry_after_ns = c->retry_ns};
    if (error_code != 0 || c->h2_status <= 0) {
        res.outcome = EXP_RETRY;
        res.err = ORASI_ECLOSED;
        snprintf(res.message, sizeof(res.message), "stream reset (HTTP/2 error %u)", error_code);
    } else if (c->grpc_status < 0) {
        /* no grpc-status: a proxy or a non-gRPC server answered */
        res.outcome = exp_classify_http(c->h2_status == 200 ? 502 : c->h2_status);
        snprintf(res.message, sizeof(res.message), "HTTP %d without grpc-status", c->h2_status);
    } else {
        res.outcome = exp_classify_grpc(c->grpc_status);
        snprintf(res.message, sizeof(res.message), "%s", c->grpc_msg);
        if (res.outcome == EXP_OK && c->resp.len >= 5 && c->resp.data[0] == 0)
            exp_parse_partial(slice_make(c->resp.data + 5, c->resp.len - 5), &res.rejected,
                              res.message, sizeof(res.message));
    }
    buf_clear(&c->resp);
    exp_conn_done(c, &res);
    return 0;
}

static ssize_t exp_h2_read_body(nghttp2_session *s, int32_t stream_id, uint8_t *out, size_t len,
                                uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    struct exp_conn *c = src->ptr;
    if (!c->req) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
    }
    slice_t body = exp_wire_body(c->req);
    size_t total = 5 + body.len, n = 0;
    while (n < len && c->body_off < total) {
        if (c->body_off < 5) {
            out[n++] = c->prefix[c->body_off++];
            continue;
        }
        size_t off = c->body_off - 5, k = body.len - off;
        if (k > len - n)
            k = len - n;
        memcpy(out + n, body.p + off, k);
        n += k;
        c->body_off += k;
    }
    if (c->body_off == total)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int exp_h2_pump(struct exp_conn *c)
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
        ssize_t k = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
        if (k < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            return ORASI_EIO;
        }
        c->out_off += (size_t)k;
        if (c->out_off == c->out.len) {
            buf_clear(&c->out);
            c->out_off = 0;
        }
    }
    int want_out = c->out_off < c->out.len || nghttp2_session_want_write(c->h2);
    return loop_io_start(c->cl->loop, &c->io, LOOP_READ | (want_out ? LOOP_WRITE : 0));
}

#define EXP_NV(n, v, vl)                                                                           \
    (nghttp2_nv)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), (vl), NGHTTP2_NV_FLAG_NONE                      \
    }

static int exp_h2_submit(struct exp_conn *c)
{
    exp_client_t *cl = c->cl;
    struct exp_req *q = c->req;
    nghttp2_nv nva[12];
    size_t n = 0;
    char path[512], tmo[32];
    snprintf(path, sizeof(path), "%s%s", cl->base, exp_grpc_paths[q->r.signal]);
    uint64_t left = q->deadline > clock_mono_ns() ? q->deadline - clock_mono_ns() : 1000000;
    snprintf(tmo, sizeof(tmo), "%lluu", (unsigned long long)(left / 1000 + 1));
    nva[n++] = EXP_NV(":method", "POST", 4);
    nva[n++] = EXP_NV(":scheme", "http", 4);
    nva[n++] = EXP_NV(":path", path, strlen(path));
    nva[n++] = EXP_NV(":authority", cl->authority, strlen(cl->authority));
    nva[n++] = EXP_NV("content-type", "application/grpc", 16);
    nva[n++] = EXP_NV("te", "trailers", 8);
    nva[n++] = EXP_NV("user-agent", "orasi/" ORASI_VERSION, strlen("orasi/" ORASI_VERSION));
    nva[n++] = EXP_NV("grpc-timeout", tmo, strlen(tmo));
    if (cl->cfg.compression == EXP_COMP_GZIP)
        nva[n++] = EXP_NV("grpc-encoding", "gzip", 4);
    else if (cl->cfg.compression == EXP_COMP_ZSTD)
        nva[n++] = EXP_NV("grpc-encoding", "zstd", 4);
    if (q->r.tenant.len)
        nva[n++] = (nghttp2_nv){(uint8_t *)cl->tenant_header, (uint8_t *)q->r.tenant.p,
                                strlen(cl->tenant_header), q->r.tenant.len, NGHTTP2_NV_FLAG_NONE};
    if (q->r.batch_id.len)
        nva[n++] = (nghttp2_nv){(uint8_t *)"x-orasi-batch", (uint8_t *)q->r.batch_id.p, 13,
                                q->r.batch_id.len, NGHTTP2_NV_FLAG_NONE};
    slice_t body = exp_wire_body(q);
    c->prefix[0] = cl->cfg.compression != EXP_COMP_NONE;
    c->prefix[1] = (uint8_t)(body.len >> 24);
    c->prefix[2] = (uint8_t)(body.len >> 16);
    c->prefix[3] = (uint8_t)(body.len >> 8);
    c->prefix[4] = (uint8_t)body.len;
    c->body_off = 0;
    c->h2_status = 0;
    c->grpc_status = -1;
    c->grpc_msg[0] = '\0';
    c->retry_ns = 0;
    buf_clear(&c->resp);
    nghttp2_data_provider dp = {.source.ptr = c, .read_callback = exp_h2_read_body};
    int32_t id = nghttp2_submit_request(c->h2, NULL, nva, n, &dp, c);
    if (id < 0)
        return ORASI_EIO;
    c->stream = id;
    return exp_h2_pump(c);
}

static int exp_h2_init(struct exp_conn *c)
{
    exp_client_t *cl = c->cl;
    if (nghttp2_session_client_new3(&c->h2, cl->cbs, c, NULL, &cl->mem) != 0)
        return ORASI_ENOMEM;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2) != 0)
        return ORASI_ENOMEM;
    c->stream = -1;
    return 0;
}

/* ---- HTTP/1.1 ------------------------------------------------------------------------------ */

static int exp_h1_build(struct exp_conn *c)
{
    exp_client_t *cl = c->cl;
    struct exp_req *q = c->req;
    buf_clear(&c->head);
    if (q->r.get_path)
        return buf_printf(
            &c->head, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: orasi/" ORASI_VERSION "\r\n\r\n",
            q->r.get_path, cl->authority);
    slice_t body = exp_wire_body(q);
    int rc = buf_printf(&c->head,
                        "POST %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: orasi/" ORASI_VERSION
                        "\r\nContent-Type: application/x-protobuf\r\nContent-Length: %zu\r\n",
                        cl->base, exp_http_paths[q->r.signal], cl->authority, body.len);
    if (!rc && cl->cfg.compression == EXP_COMP_GZIP)
        rc = buf_append_str(&c->head, "Content-Encoding: gzip\r\n");
    else if (!rc && cl->cfg.compression == EXP_COMP_ZSTD)
        rc = buf_append_str(&c->head, "Content-Encoding: zstd\r\n");
    if (!rc && q->r.tenant.len)
        rc = buf_printf(&c->head, "%s: %.*s\r\n", cl->tenant_header, (int)q->r.tenant.len,
                        (const char *)q->r.tenant.p);
    if (!rc && q->r.batch_id.len)
        rc = buf_printf(&c->head, "X-Orasi-Batch: %.*s\r\n", (int)q->r.batch_id.len,
                        (const char *)q->r.batch_id.p);
    if (!rc)
        rc = buf_append_str(&c->head, "\r\n");
    return rc;
}

static int exp_h1_write(struct exp_conn *c)
{
    slice_t body = c->req->r.get_path ? (slice_t){0} : exp_wire_body(c->req);
    size_t total = c->head.len + body.len;
    while (c->wr_off < total) {
        struct iovec iov[2];
        int n = 0;
        if (c->wr_off < c->head.len) {
            iov[n].iov_base = c->head.data + c->wr_off;
            iov[n++].iov_len = c->head.len - c->wr_off;
            if (body.len) {
                iov[n].iov_base = (void *)body.p;
                iov[n++].iov_len = body.len;
            }
        } else {
            iov[n].iov_base = (void *)(body.p + (c->wr_off - c->head.len));
            iov[n++].iov_len = total - c->wr_off;
        }
        ssize_t k = writev(c->fd, iov, n);
        if (k < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            return ORASI_EIO;
        }
        c->wr_off += (size_t)k;
    }
    return loop_io_start(c->cl->loop, &c->io, LOOP_READ | (c->wr_off < total ? LOOP_WRITE : 0));
}

static int exp_hdr_is(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* Parse a complete response in c->in: 1 when one was handled, 0 when more bytes are
 * needed, negative when malformed. */
static int exp_h1_parse(struct exp_conn *c)
{
    exp_client_t *cl = c->cl;
    const char *p = (const char *)c->in.data;
    size_t len = c->in.len;
    const char *eoh = len >= 4 ? memmem(p, len, "\r\n\r\n", 4) : NULL;
    if (!eoh)
        return len > EXP_RESP_HEAD_MAX ? ORASI_EPARSE : 0;
    size_t hlen = (size_t)(eoh - p) + 4;
    if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0)
        return ORASI_EPARSE;
    int status = exp_digits((const uint8_t *)p + 9, 3);
    if (status < 100)
        return ORASI_EPARSE;
    long long clen = -1;
    int chunked = 0;
    uint64_t retry_ns = 0;
    int conn_close = 0;
    const char *line = (const char *)memchr(p, '\n', hlen) + 1;
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
            if (exp_hdr_is(line, ll, "content-length")) {
                clen = 0;
                for (size_t i = 0; i < vl && v[i] >= '0' && v[i] <= '9'; i++)
                    clen = clen * 10 + (v[i] - '0');
                if (clen > (long long)cl->cfg.max_response_bytes)
                    return ORASI_ETOOBIG;
            } else if (exp_hdr_is(line, ll, "transfer-encoding")) {
                chunked = vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0;
            } else if (exp_hdr_is(line, ll, "connection")) {
                conn_close = vl >= 5 && strncasecmp(v, "close", 5) == 0;
            } else if (exp_hdr_is(line, ll, "retry-after")) {
                /* delta-seconds only; an HTTP-date is rare from OTLP servers */
                uint64_t s = 0;
                size_t i = 0;
                for (; i < vl && i < 9 && v[i] >= '0' && v[i] <= '9'; i++)
                    s = s * 10 + (uint64_t)(v[i] - '0');
                if (i > 0)
                    retry_ns = s * 1000000000ull;
            }
        }
        line = nl + 1;
    }
    slice_t body;
    size_t consumed;
    if (chunked) {
        /* de-chunk in place after the head; restart from scratch on every call (responses
         * are small) */
        h1_chunked_t ch;
        h1_parse_chunked_init(&ch);
        size_t out_len = 0;
        uint8_t *b = c->in.data + hlen;
        buf_t tmp;
        buf_init(&tmp, cl->cfg.max_response_bytes);
        if (buf_append(&tmp, b, len - hlen)) {
            buf_free(&tmp);
            return ORASI_ETOOBIG;
        }
        int n = h1_parse_chunked(&ch, tmp.data, tmp.len, tmp.data, &out_len);
        if (n == ORASI_EAGAIN) {
            buf_free(&tmp);
            return 0;
        }
        if (n < 0) {
            buf_free(&tmp);
            return ORASI_EPARSE;
        }
        consumed = hlen + (size_t)n;
        exp_result_t res = {.http_status = status, .grpc_status = -1, .retry_after_ns = retry_ns};
        body = slice_make(tmp.data, out_len);
        res.outcome = c->req && c->req->r.get_path ? (status / 100 == 2 ? EXP_OK : EXP_RETRY)
                                                   : exp_classify_http(status);
        if (res.outcome == EXP_OK && c->req && !c->req->r.get_path)
            exp_parse_partial(body, &res.rejected, res.message, sizeof(res.message));
        else if (res.outcome != EXP_OK) {
            uint64_t rn = 0;
            if (exp_parse_status(body, res.message, sizeof(res.message), &rn) != 0)
                snprintf(res.message, sizeof(res.message), "HTTP %d", status);
            if (!res.retry_after_ns)
                res.retry_after_ns = rn;
        }
        buf_free(&tmp);
        buf_consume(&c->in, consumed);
        c->closing = conn_close;
        exp_conn_done(c, &res);
        return 1;
    }
    if (clen < 0)
        clen = 0;
    if (len - hlen < (size_t)clen)
        return 0;
    body = slice_make(c->in.data + hlen, (size_t)clen);
    consumed = hlen + (size_t)clen;
    exp_result_t res = {.http_status = status, .grpc_status = -1, .retry_after_ns = retry_ns};
    int get = c->req && c->req->r.get_path;
    res.outcome = get ? (status / 100 == 2 ? EXP_OK : EXP_RETRY) : exp_classify_http(status);
    if (res.outcome == EXP_OK && !get) {
        exp_parse_partial(body, &res.rejected, res.message, sizeof(res.message));
    } else if (res.outcome != EXP_OK) {
        uint64_t rn = 0;
        if (get || exp_parse_status(body, res.message, sizeof(res.message), &rn) != 0 ||
            !res.message[0])
            snprintf(res.message, sizeof(res.message), "HTTP %d", status);
        if (!res.retry_after_ns)
            res.retry_after_ns = rn;
    }
    c->closing = conn_close;
    /* consume before done(): the callback may queue the next request on this conn */
    buf_consume(&c->in, consumed);
    exp_conn_done(c, &res);
    return 1;
}

/* ---- the I/O callback ------------------------------------------------------------------ */

static int exp_start_request(struct exp_conn *c)
{
    c->sent = 1;
    if (c->h2)
        return exp_h2_submit(c);
    int rc = exp_h1_build(c);
    if (rc)
        return rc;
    c->wr_off = 0;
    return exp_h1_write(c);
}

static void exp_on_connected(struct exp_conn *c)
{
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
        exp_conn_close(c, ORASI_EUNAVAILABLE,
                       err == ECONNREFUSED ? "connection refused" : "connect failed");
        return;
    }
    c->st = EXP_BUSY;
    int rc = 0;
    if (c->cl->cfg.protocol == EXP_GRPC && !c->req->r.get_path)
        rc = exp_h2_init(c);
    if (!rc)
        rc = exp_start_request(c);
    if (rc)
        exp_conn_close(c, rc, "send");
}

static void exp_conn_io(loop_t *loop, loop_io_t *io, unsigned ev)
{
    struct exp_conn *c = io->data;
    if (c->st == EXP_CONNECTING) {
        exp_on_connected(c);
        return;
    }
    if (ev & LOOP_WRITE) {
        int rc = c->h2 ? exp_h2_pump(c) : (c->req ? exp_h1_write(c) : 0);
        if (rc) {
            exp_conn_close(c, ORASI_ECLOSED, "write");
            return;
        }
    }
    if (!(ev & (LOOP_READ | LOOP_ERROR)))
        return;
    for (int rounds = 0; rounds < 16 && c->fd >= 0; rounds++) {
        uint8_t tmp[16384];
        ssize_t n = read(c->fd, tmp, sizeof(tmp));
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            exp_conn_close(c, ORASI_ECLOSED, "connection reset");
            return;
        }
        if (n == 0) {
            exp_conn_close(c, ORASI_ECLOSED, "connection closed by the upstream");
            return;
        }
        if (c->h2) {
            if (nghttp2_session_mem_recv(c->h2, tmp, (size_t)n) < 0) {
                exp_conn_close(c, ORASI_EPARSE, "bad HTTP/2 from the upstream");
                return;
            }
            if (c->fd >= 0 && c->h2 && exp_h2_pump(c)) {
                exp_conn_close(c, ORASI_ECLOSED, "write");
                return;
            }
            if (c->h2 && !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
                exp_conn_close(c, ORASI_ECLOSED, "GOAWAY");
                return;
            }
            continue;
        }
        if (!c->req) {
            /* bytes on an idle HTTP/1.1 connection: the server is confused, drop it */
            exp_conn_close(c, ORASI_EPARSE, "unexpected bytes");
            return;
        }
        if (buf_append(&c->in, tmp, (size_t)n)) {
            exp_conn_close(c, ORASI_ETOOBIG, "response too large");
            return;
        }
        int r = exp_h1_parse(c);
        if (r < 0) {
            exp_conn_close(c, r, "bad response");
            return;
        }
        if (r == 1)
            break;
    }
}

static void exp_conn_timeout(loop_t *loop, loop_timer_t *t)
{
    struct exp_conn *c = t->data;
    exp_conn_close(c, ORASI_ETIMEOUT, "no answer in time");
}

/* ---- dispatch -------------------------------------------------------------------------- */

static void exp_dispatch(loop_t *loop, loop_timer_t *t)
{
    exp_client_t *cl = t->data;
    uint64_t now = clock_mono_ns();
    while (cl->qhead && !cl->destroying) {
        struct exp_req *q = cl->qhead;
        if (q->deadline <= now) {
            cl->qhead = q->next;
            if (!cl->qhead)
                cl->qtail = NULL;
            cl->nqueue--;
            exp_fail(cl, q, ORASI_ETIMEOUT, "queued too long", 0);
            continue;
        }
        struct exp_conn *c = NULL;
        for (int i = 0; i < cl->nconns && !c; i++)
            if (cl->conns[i].st == EXP_READY && (!q->r.get_path || !cl->conns[i].h2))
                c = &cl->conns[i];
        for (int i = 0; i < cl->nconns && !c; i++)
            if (cl->conns[i].st == EXP_DOWN)
                c = &cl->conns[i];
        if (!c)
            break;
        cl->qhead = q->next;
        if (!cl->qhead)
            cl->qtail = NULL;
        cl->nqueue--;
        q->next = NULL;
        c->req = q;
        loop_timer_start_at(cl->loop, &c->timer, q->deadline);
        int rc;
        if (c->st == EXP_DOWN) {
            rc = exp_connect(c);
            if (rc) {
                c->req = NULL;
                loop_timer_stop(cl->loop, &c->timer);
                if (c->fd >= 0) {
                    loop_io_stop(cl->loop, &c->io);
                    close(c->fd);
                    c->fd = -1;
                }
                c->st = EXP_DOWN;
                exp_fail(cl, q, rc, "connect", 0);
            }
            continue;
        }
        c->st = EXP_BUSY;
        rc = exp_start_request(c);
        if (rc)
            exp_conn_close(c, rc, "send");
    }
}

/* ---- public API ---------------------------------------------------------------------------- */

void exp_config_default(exp_config_t *c)
{
    memset(c, 0, sizeof(*c));
    c->protocol = EXP_HTTP_PROTOBUF;
    c->timeout_ns = 5000000000ull;
    c->max_connections = 4;
    c->max_queue = 1024;
    c->max_response_bytes = 1u << 20;
    c->tenant_header = "X-Scope-OrgID";
}

/* "http://host:port/base" -> host, port, base */
static int exp_parse_url(const char *url, char *host, size_t hostlen, char *port, size_t portlen,
                         char *base, size_t baselen)
{
    if (strncmp(url, "http://", 7) != 0)
        return ORASI_EINVAL;
    const char *h = url + 7, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    const char *colon = NULL;
    if (h[0] == '[') {
        const char *rb = memchr(h, ']', hl);
        if (!rb)
            return ORASI_EINVAL;
        colon = rb + 1 < h + hl && rb[1] == ':' ? rb + 1 : NULL;
        size_t n = (size_t)(rb - h - 1);
        if (n >= hostlen)
            return ORASI_EINVAL;
        memcpy(host, h + 1, n);
        host[n] = '\0';
    } else {
        colon = memchr(h, ':', hl);
        size_t n = colon ? (size_t)(colon - h) : hl;
        if (n == 0 || n >= hostlen)
            return ORASI_EINVAL;
        memcpy(host, h, n);
        host[n] = '\0';
    }
    size_t pl = colon ? (size_t)(h + hl - colon - 1) : 2;
    if (pl == 0 || pl >= portlen)
        return ORASI_EINVAL;
    if (colon)
        memcpy(port, colon + 1, pl);
    else
        memcpy(port, "80", 2);
    port[pl] = '\0';
    const char *b = slash ? slash : "";
    size_t bl = strlen(b);
    while (bl && b[bl - 1] == '/')
        bl--;
    if (bl >= baselen)
        return ORASI_EINVAL;
    memcpy(base, b, bl);
    base[bl] = '\0';
    return 0;
}

exp_client_t *exp_client_create(loop_t *loop, const exp_config_t *cfg, char *err, size_t errlen)
{
    char host[256], port[16];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    exp_client_t *cl = orasi_calloc(1, sizeof(*cl));
    if (!cl) {
        snprintf(err, errlen, "exporter: out of memory");
        return NULL;
    }
    cl->loop = loop;
    cl->cfg = *cfg;
    if (cl->cfg.max_connections <= 0)
        cl->cfg.max_connections = 4;
    if (!cl->cfg.max_queue)
        cl->cfg.max_queue = 1024;
    if (!cl->cfg.timeout_ns)
        cl->cfg.timeout_ns = 5000000000ull;
    if (!cl->cfg.max_response_bytes)
        cl->cfg.max_response_bytes = 1u << 20;
    loop_timer_init(&cl->kick, exp_dispatch, cl);
    cl->url = orasi_strdup(cfg->url ? cfg->url : "");
    cl->tenant_header = orasi_strdup(cfg->tenant_header ? cfg->tenant_header : "X-Scope-OrgID");
    if (!cl->url || !cl->tenant_header)
        goto oom;
    cl->cfg.url = cl->url;
    cl->cfg.tenant_header = cl->tenant_header;
    /* grpc-encoding zstd is not in the gRPC core set (Orasi's own server takes identity and
     * gzip): gzip it is on gRPC */
    if (cl->cfg.protocol == EXP_GRPC && cl->cfg.compression == EXP_COMP_ZSTD)
        cl->cfg.compression = EXP_COMP_GZIP;
    if (exp_parse_url(cl->url, host, sizeof(host), port, sizeof(port), cl->base,
                      sizeof(cl->base))) {
        snprintf(err, errlen, "exporter: '%s' is not an http://host:port[/path] URL", cl->url);
        goto fail;
    }
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, errlen, "exporter: cannot resolve %s: %s", host, gai_strerror(gai));
        goto fail;
    }
    memcpy(&cl->addr, ai->ai_addr, ai->ai_addrlen);
    cl->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    snprintf(cl->authority, sizeof(cl->authority), "%s:%s", host, port);
    cl->nconns = cl->cfg.max_connections;
    cl->conns = orasi_calloc((size_t)cl->nconns, sizeof(*cl->conns));
    if (!cl->conns)
        goto oom;
    for (int i = 0; i < cl->nconns; i++) {
        struct exp_conn *c = &cl->conns[i];
        c->cl = cl;
        c->fd = -1;
        c->stream = -1;
        loop_timer_init(&c->timer, exp_conn_timeout, c);
        buf_init(&c->head, EXP_HEAD_MAX);
        buf_init(&c->in, EXP_RESP_HEAD_MAX + cl->cfg.max_response_bytes);
        buf_init(&c->out, 64u << 20);
        buf_init(&c->resp, cl->cfg.max_response_bytes + 5);
    }
    if (cl->cfg.protocol == EXP_GRPC) {
        if (nghttp2_session_callbacks_new(&cl->cbs) != 0)
            goto oom;
        nghttp2_session_callbacks_set_on_header_callback(cl->cbs, exp_h2_on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cl->cbs, exp_h2_on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(cl->cbs, exp_h2_on_close);
        cl->mem = (nghttp2_mem){NULL, exp_h2_malloc, exp_h2_free, exp_h2_calloc, exp_h2_realloc};
    }
    return cl;
oom:
    snprintf(err, errlen, "exporter: out of memory");
fail:
    exp_client_destroy(cl);
    return NULL;
}

int exp_send(exp_client_t *cl, const exp_request_t *req, exp_done_fn done, void *ud)
{
    if (cl->destroying)
        return ORASI_ECLOSED;
    if (!done || (unsigned)req->signal > OTLP_LOGS)
        return ORASI_EINVAL;
    if (cl->nqueue >= cl->cfg.max_queue)
        return ORASI_EFULL;
    struct exp_req *q = orasi_calloc(1, sizeof(*q));
    if (!q)
        return ORASI_ENOMEM;
    q->r = *req;
    q->done = done;
    q->ud = ud;
    q->t0 = clock_mono_ns();
    q->deadline = q->t0 + cl->cfg.timeout_ns;
    buf_init(&q->wire, (size_t)1 << 31);
    if (!req->get_path && cl->cfg.compression != EXP_COMP_NONE) {
        int rc = exp_compress(cl->cfg.compression, req->body, &q->wire);
        if (rc) {
            buf_free(&q->wire);
            orasi_free(q);
            return rc;
        }
    }
    if (cl->qtail)
        cl->qtail->next = q;
    else
        cl->qhead = q;
    cl->qtail = q;
    cl->nqueue++;
    cl->npending++;
    exp_kick(cl);
    return 0;
}

size_t exp_pending(const exp_client_t *c)
{
    return c->npending;
}

int exp_free_slots(const exp_client_t *c)
{
    int n = 0;
    for (int i = 0; i < c->nconns; i++)
        n += c->conns[i].st == EXP_READY || c->conns[i].st == EXP_DOWN;
    return n - (int)c->nqueue;
}

const char *exp_url(const exp_client_t *c)
{
    return c->url;
}

void exp_client_destroy(exp_client_t *cl)
{
    if (!cl)
        return;
    cl->destroying = 1;
    loop_timer_stop(cl->loop, &cl->kick);
    for (int i = 0; cl->conns && i < cl->nconns; i++) {
        exp_conn_close(&cl->conns[i], ORASI_ECLOSED, "exporter closed");
        buf_free(&cl->conns[i].head);
        buf_free(&cl->conns[i].in);
        buf_free(&cl->conns[i].out);
        buf_free(&cl->conns[i].resp);
    }
    while (cl->qhead) {
        struct exp_req *q = cl->qhead;
        cl->qhead = q->next;
        cl->nqueue--;
        exp_fail(cl, q, ORASI_ECLOSED, "exporter closed", 0);
    }
    if (cl->cbs)
        nghttp2_session_callbacks_del(cl->cbs);
    orasi_free(cl->conns);
    orasi_free(cl->url);
    orasi_free(cl->tenant_header);
    orasi_free(cl);
}
