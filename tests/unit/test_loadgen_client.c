/* test_loadgen_client.c — the load generator's client against real sockets: small
 * HTTP/1.1 and gRPC (nghttp2) servers in this process that decode every request with the
 * project's decoders and answer 200, 503/RESOURCE_EXHAUSTED, partial_success, chunked
 * bodies and Connection: close. The client's acknowledged counts and ack log must match
 * exactly what the server accepted; the token bucket must hold the asked rate. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "loadgen/lgclient.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_pb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* ---------------------------------------------------------------- the test server --- */

struct srv {
    int lfd, port, grpc;
    int early; /* HTTP: answer 413 right after the head, then drain the body */
    pthread_t tid;
    int stop;
    pthread_mutex_t mu;
    long requests, ok_items, refused, partial, closes, tenant_ok;
    buf_t lines; /* ids of items in fully acknowledged requests */
    const char *want_tenant;
};

static void ids_of(enum otlp_signal sig, const void *model, buf_t *out)
{
    char line[64];
    if (sig == OTLP_TRACES) {
        const otlp_traces_t *t = model;
        for (size_t i = 0; i < t->n_resource_spans; i++)
            for (size_t j = 0; j < t->resource_spans[i].n_scope_spans; j++)
                for (size_t k = 0; k < t->resource_spans[i].scope_spans[j].n_spans; k++) {
                    const otlp_span_t *s = &t->resource_spans[i].scope_spans[j].spans[k];
                    for (int b = 0; b < 16; b++)
                        sprintf(line + 2 * b, "%02x", s->trace_id.id[b]);
                    line[32] = ' ';
                    for (int b = 0; b < 8; b++)
                        sprintf(line + 33 + 2 * b, "%02x", s->span_id.id[b]);
                    line[49] = '\n';
                    buf_append(out, line, 50);
                }
        return;
    }
    /* logs and metrics: the loadgen.id attribute (first attribute of each item) */
    if (sig == OTLP_LOGS) {
        const otlp_logs_t *l = model;
        for (size_t i = 0; i < l->n_resource_logs; i++)
            for (size_t j = 0; j < l->resource_logs[i].n_scope_logs; j++)
                for (size_t k = 0; k < l->resource_logs[i].scope_logs[j].n_log_records; k++) {
                    slice_t id =
                        l->resource_logs[i].scope_logs[j].log_records[k].attrs.v[0].value.u.str;
                    buf_append(out, id.p, id.len);
                    buf_append_byte(out, '\n');
                }
        return;
    }
    const otlp_metrics_t *m = model;
    for (size_t i = 0; i < m->n_resource_metrics; i++)
        for (size_t j = 0; j < m->resource_metrics[i].n_scope_metrics; j++)
            for (size_t k = 0; k < m->resource_metrics[i].scope_metrics[j].n_metrics; k++) {
                const otlp_metric_t *mt = &m->resource_metrics[i].scope_metrics[j].metrics[k];
                int h = mt->type == OTLP_METRIC_HISTOGRAM;
                size_t np = h ? mt->points.histogram.n : mt->points.number.n;
                for (size_t p = 0; p < np; p++) {
                    const otlp_attrs_t *at =
                        h ? &mt->points.histogram.v[p].attrs : &mt->points.number.v[p].attrs;
                    buf_append(out, at->v[0].value.u.str.p, at->v[0].value.u.str.len);
                    buf_append_byte(out, '\n');
                }
            }
}

enum verdict { V_OK, V_REFUSE, V_PARTIAL };

/* Decode one request and decide the answer by its sequence number: every 7th refused,
 * every 5th partially rejected (2 items); count what is accepted. */
static enum verdict srv_judge(struct srv *s, enum otlp_signal sig, int json, slice_t body,
                              int tenant_ok, int64_t *rejected)
{
    arena_t *a = arena_create(1 << 20, 0);
    union {
        otlp_traces_t t;
        otlp_metrics_t m;
        otlp_logs_t l;
    } model;
    int rc;
    if (json)
        rc = sig == OTLP_TRACES    ? otlp_json_decode_traces(body, a, &model.t)
             : sig == OTLP_METRICS ? otlp_json_decode_metrics(body, a, &model.m)
                                   : otlp_json_decode_logs(body, a, &model.l);
    else
        rc = sig == OTLP_TRACES    ? otlp_pb_decode_traces(body, a, &model.t)
             : sig == OTLP_METRICS ? otlp_pb_decode_metrics(body, a, &model.m)
                                   : otlp_pb_decode_logs(body, a, &model.l);
    assert_int_equal(rc, 0);
    size_t items = sig == OTLP_TRACES    ? model.t.n_items
                   : sig == OTLP_METRICS ? model.m.n_items
                                         : model.l.n_items;
    pthread_mutex_lock(&s->mu);
    long n = ++s->requests;
    s->tenant_ok += tenant_ok;
    enum verdict v = n % 7 == 0 ? V_REFUSE : n % 5 == 0 ? V_PARTIAL : V_OK;
    *rejected = 0;
    if (v == V_REFUSE) {
        s->refused++;
    } else if (v == V_PARTIAL) {
        *rejected = 2;
        s->partial++;
        s->ok_items += (long)items - 2;
    } else {
        s->ok_items += (long)items;
        ids_of(sig, &model, &s->lines);
    }
    pthread_mutex_unlock(&s->mu);
    arena_destroy(a);
    return v;
}

static int read_full(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t k = read(fd, b, n);
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

struct srv_conn {
    struct srv *s;
    int fd;
};

/* HTTP/1.1: one request at a time, keep-alive, now and then Connection: close. */
static void *http_conn_main(void *arg)
{
    struct srv_conn *sc = arg;
    struct srv *s = sc->s;
    int fd = sc->fd;
    free(sc);
    char *in = malloc(1 << 16);
    size_t have = 0;
    for (;;) {
        char *eoh = NULL;
        while (!(eoh = memmem(in, have, "\r\n\r\n", 4))) {
            ssize_t k = read(fd, in + have, (1 << 16) - have);
            if (k <= 0)
                goto done;
            have += (size_t)k;
        }
        size_t hlen = (size_t)(eoh - in) + 4;
        in[hlen - 1] = 0;
        enum otlp_signal sig = strstr(in, "POST /v1/traces ")    ? OTLP_TRACES
                               : strstr(in, "POST /v1/metrics ") ? OTLP_METRICS
                                                                 : OTLP_LOGS;
        assert_non_null(strstr(in, " /v1/"));
        int json = strstr(in, "Content-Type: application/json") != NULL;
        char want[256] = "";
        if (s->want_tenant)
            snprintf(want, sizeof(want), "X-Scope-OrgID: %s\r\n", s->want_tenant);
        int tenant_ok = s->want_tenant && strstr(in, want) != NULL;
        const char *cl = strstr(in, "Content-Length: ");
        assert_non_null(cl);
        size_t clen = strtoul(cl + 16, NULL, 10);
        if (s->early) {
            /* answer before reading the body, as a server refusing a too large request
             * would, then read and drop the body to stay in step */
            static const char r413[] =
                "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n";
            if (write_full(fd, r413, sizeof(r413) - 1) < 0)
                goto done;
            pthread_mutex_lock(&s->mu);
            s->requests++;
            s->refused++;
            pthread_mutex_unlock(&s->mu);
            size_t left = clen, from_buf = have - hlen < clen ? have - hlen : clen;
            memmove(in, in + hlen + from_buf, have - hlen - from_buf);
            have -= hlen + from_buf;
            left -= from_buf;
            while (left > 0) {
                size_t chunk = left < (1 << 16) ? left : (1 << 16);
                ssize_t k =
                    read(fd, in + have, chunk < (1 << 16) - have ? chunk : (1 << 16) - have);
                if (k <= 0)
                    goto done;
                left -= (size_t)k;
            }
            continue;
        }
        uint8_t *body = malloc(clen + 1);
        size_t from_buf = have - hlen < clen ? have - hlen : clen;
        memcpy(body, in + hlen, from_buf);
        if (read_full(fd, body + from_buf, clen - from_buf) < 0) {
            free(body);
            goto done;
        }
        memmove(in, in + hlen + from_buf, have - hlen - from_buf);
        have -= hlen + from_buf;
        int64_t rej;
        enum verdict v = srv_judge(s, sig, json, slice_make(body, clen), tenant_ok, &rej);
        free(body);
        char resp[512];
        int n;
        int close_after = 0;
        pthread_mutex_lock(&s->mu);
        long seq = s->requests;
        pthread_mutex_unlock(&s->mu);
        if (v == V_REFUSE) {
            n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                         "Retry-After: 1\r\n\r\n");
        } else if (v == V_PARTIAL) {
            buf_t b;
            buf_init(&b, 4096);
            if (json)
                otlp_json_encode_export_response(sig, rej, SLICE_LIT("two bad"), &b);
            else
                otlp_pb_encode_export_response(sig, rej, SLICE_LIT("two bad"), &b);
            /* chunked, split in two chunks, to exercise the client's chunk decoder */
            size_t h = b.len / 2;
            n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", h);
            write_full(fd, resp, (size_t)n);
            write_full(fd, b.data, h);
            n = snprintf(resp, sizeof(resp), "\r\n%zx\r\n", b.len - h);
            write_full(fd, resp, (size_t)n);
            write_full(fd, b.data + h, b.len - h);
            n = snprintf(resp, sizeof(resp), "\r\n0\r\n\r\n");
            buf_free(&b);
        } else if (seq % 11 == 0) {
            close_after = 1;
            n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
                         "Connection: close\r\nContent-Length: 0\r\n\r\n");
        } else {
            n = snprintf(resp, sizeof(resp),
                         json ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                "Content-Length: 2\r\n\r\n{}"
                              : "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
                                "Content-Length: 0\r\n\r\n");
        }
        if (write_full(fd, resp, (size_t)n) < 0)
            goto done;
        if (close_after) {
            pthread_mutex_lock(&s->mu);
            s->closes++;
            pthread_mutex_unlock(&s->mu);
            goto done;
        }
    }
done:
    free(in);
    close(fd);
    return NULL;
}

/* gRPC over HTTP/2: a blocking nghttp2 server session per connection. */
struct h2s {
    struct srv *s;
    nghttp2_session *ses;
    int32_t stream;
    enum otlp_signal sig;
    int tenant_ok;
    buf_t req;
    buf_t resp;
    size_t resp_off;
    int verdict;
};

static int h2s_on_begin(nghttp2_session *ses, const nghttp2_frame *f, void *ud)
{
    struct h2s *h = ud;
    h->stream = f->hd.stream_id;
    buf_clear(&h->req);
    h->tenant_ok = 0;
    return 0;
}

static int h2s_on_header(nghttp2_session *ses, const nghttp2_frame *f, const uint8_t *name,
                         size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    struct h2s *h = ud;
    if (nl == 5 && memcmp(name, ":path", 5) == 0)
        h->sig = memmem(value, vl, "trace", 5)     ? OTLP_TRACES
                 : memmem(value, vl, "metrics", 7) ? OTLP_METRICS
                                                   : OTLP_LOGS;
    if (nl == 13 && memcmp(name, "x-scope-orgid", 13) == 0 && h->s->want_tenant &&
        vl == strlen(h->s->want_tenant) && memcmp(value, h->s->want_tenant, vl) == 0)
        h->tenant_ok = 1;
    return 0;
}

static int h2s_on_data(nghttp2_session *ses, uint8_t flags, int32_t id, const uint8_t *d,
                       size_t len, void *ud)
{
    struct h2s *h = ud;
    buf_append(&h->req, d, len);
    return 0;
}

static ssize_t h2s_read(nghttp2_session *ses, int32_t id, uint8_t *out, size_t len, uint32_t *flags,
                        nghttp2_data_source *src, void *ud)
{
    struct h2s *h = ud;
    size_t n = h->resp.len - h->resp_off < len ? h->resp.len - h->resp_off : len;
    memcpy(out, h->resp.data + h->resp_off, n);
    h->resp_off += n;
    if (h->resp_off == h->resp.len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_nv tr[] = {{(uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, 0}};
        nghttp2_submit_trailer(ses, id, tr, 1);
    }
    return (ssize_t)n;
}

static int h2s_on_frame(nghttp2_session *ses, const nghttp2_frame *f, void *ud)
{
    struct h2s *h = ud;
    if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
        (f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS))
        return 0;
    assert_true(h->req.len >= 5);
    assert_int_equal(h->req.data[0], 0);
    uint32_t ml = (uint32_t)h->req.data[1] << 24 | (uint32_t)h->req.data[2] << 16 |
                  (uint32_t)h->req.data[3] << 8 | h->req.data[4];
    assert_int_equal(ml, h->req.len - 5);
    int64_t rej;
    enum verdict v =
        srv_judge(h->s, h->sig, 0, slice_make(h->req.data + 5, ml), h->tenant_ok, &rej);
    if (v == V_REFUSE) {
        /* trailers-only response */
        nghttp2_nv hd[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                           {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0},
                           {(uint8_t *)"grpc-status", (uint8_t *)"8", 11, 1, 0},
                           {(uint8_t *)"grpc-message", (uint8_t *)"full", 12, 4, 0}};
        nghttp2_submit_response(ses, f->hd.stream_id, hd, 4, NULL);
        return 0;
    }
    buf_t msg;
    buf_init(&msg, 4096);
    otlp_pb_encode_export_response(h->sig, rej,
                                   v == V_PARTIAL ? SLICE_LIT("two bad") : SLICE_LIT(""), &msg);
    buf_clear(&h->resp);
    uint8_t pre[5] = {0, 0, 0, (uint8_t)(msg.len >> 8), (uint8_t)msg.len};
    buf_append(&h->resp, pre, 5);
    buf_append(&h->resp, msg.data, msg.len);
    buf_free(&msg);
    h->resp_off = 0;
    nghttp2_nv hd[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
                       {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0}};
    nghttp2_data_provider dp = {.read_callback = h2s_read};
    nghttp2_submit_response(ses, f->hd.stream_id, hd, 2, &dp);
    return 0;
}

static void *grpc_conn_main(void *arg)
{
    struct srv_conn *sc = arg;
    struct h2s h = {.s = sc->s};
    int fd = sc->fd;
    free(sc);
    buf_init(&h.req, 64 << 20);
    buf_init(&h.resp, 1 << 20);
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, h2s_on_begin);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2s_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2s_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2s_on_frame);
    nghttp2_session_server_new(&h.ses, cb, &h);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(h.ses, NGHTTP2_FLAG_NONE, iv, 1);
    uint8_t in[16384];
    for (;;) {
        const uint8_t *out;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(h.ses, &out)) > 0)
            if (write_full(fd, out, (size_t)n) < 0)
                goto done;
        if (!nghttp2_session_want_read(h.ses) && !nghttp2_session_want_write(h.ses))
            break;
        ssize_t k = read(fd, in, sizeof(in));
        if (k <= 0)
            break;
        if (nghttp2_session_mem_recv(h.ses, in, (size_t)k) < 0)
            break;
    }
done:
    nghttp2_session_del(h.ses);
    nghttp2_session_callbacks_del(cb);
    buf_free(&h.req);
    buf_free(&h.resp);
    close(fd);
    return NULL;
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0 || __atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
            if (fd >= 0)
                close(fd);
            break;
        }
        int one = 1; /* small response writes must not wait for delayed ACKs */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct srv_conn *sc = malloc(sizeof(*sc));
        sc->s = s;
        sc->fd = fd;
        pthread_t t;
        pthread_create(&t, NULL, s->grpc ? grpc_conn_main : http_conn_main, sc);
        pthread_detach(t);
    }
    return NULL;
}

static void srv_start(struct srv *s, int grpc, const char *tenant)
{
    memset(s, 0, sizeof(*s));
    s->grpc = grpc;
    s->want_tenant = tenant;
    pthread_mutex_init(&s->mu, NULL);
    buf_init(&s->lines, 1 << 28);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 64), 0);
    socklen_t al = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->tid, NULL, srv_main, s);
}

static void srv_stop(struct srv *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
    /* wake accept() with one last connection */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    connect(fd, (struct sockaddr *)&a, sizeof(a));
    pthread_join(s->tid, NULL);
    close(fd);
    close(s->lfd);
    usleep(100000); /* let connection threads see EOF and exit */
}

static void srv_free(struct srv *s)
{
    buf_free(&s->lines);
    pthread_mutex_destroy(&s->mu);
}

/* ---------------------------------------------------------------- helpers ----------- */

static void cfg_for(lgclient_config_t *c, const struct srv *s, enum lgclient_proto proto)
{
    memset(c, 0, sizeof(*c));
    struct sockaddr_in *a = (struct sockaddr_in *)&c->addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)s->port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->addrlen = sizeof(*a);
    snprintf(c->authority, sizeof(c->authority), "127.0.0.1:%d", s->port);
    c->proto = proto;
    c->signals = 7;
    c->batch = 50;
    c->duration_ns = 700000000ull;
    c->timeout_ns = 5000000000ull;
    c->connections = 3;
    c->seed = 1234;
}

/* Compare two multisets of lines (any lengths) by sorting copies as strings. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t split_lines(char *p, size_t len, char ***out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += p[i] == '\n';
    char **v = malloc((n + 1) * sizeof(*v));
    assert_non_null(v);
    size_t k = 0;
    char *start = p;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '\n') {
            p[i] = 0;
            v[k++] = start;
            start = p + i + 1;
        }
    qsort(v, n, sizeof(*v), cmp_str);
    *out = v;
    return n;
}

static void run_against(enum lgclient_proto proto)
{
    struct srv s;
    srv_start(&s, proto == LGCLIENT_GRPC, "acme");
    lgclient_config_t c;
    cfg_for(&c, &s, proto);
    c.tenant = "acme";
    char path[] = "/tmp/orasi-lg-ack-XXXXXX";
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);
    lgclient_acklog_t log;
    assert_int_equal(lgclient_acklog_open(&log, path), 0);
    c.acklog = &log;
    lgclient_t *w = lgclient_create(&c);
    assert_non_null(w);
    assert_int_equal(lgclient_run(w), 0);
    lgclient_acklog_close(&log);
    lgclient_stats_t *st = calloc(1, sizeof(*st));
    lghist_init(&st->lat_us);
    lgclient_stats_add(st, lgclient_stats(w));
    srv_stop(&s);
    print_message("%s: sent %llu acked %llu failed %llu partial %llu items acked %llu; server "
                  "requests %ld ok items %ld refused %ld partial %ld closes %ld\n",
                  proto == LGCLIENT_GRPC        ? "grpc"
                  : proto == LGCLIENT_HTTP_JSON ? "json"
                                                : "pb",
                  (unsigned long long)st->req_sent, (unsigned long long)st->req_acked,
                  (unsigned long long)st->req_failed, (unsigned long long)st->req_partial,
                  (unsigned long long)st->items_acked, s.requests, s.ok_items, s.refused, s.partial,
                  s.closes);
    /* every request was answered, and the two sides agree on every count */
    assert_true(st->req_sent > 20);
    assert_int_equal(st->req_sent, s.requests);
    assert_int_equal(st->req_sent, st->req_acked + st->req_failed);
    assert_int_equal(st->items_acked, s.ok_items);
    assert_int_equal(st->req_partial, s.partial);
    assert_int_equal(st->items_rejected, 2 * s.partial);
    assert_int_equal(s.tenant_ok, s.requests);
    if (proto == LGCLIENT_GRPC) {
        assert_int_equal(st->grpc_code[8], s.refused);
        assert_int_equal(st->grpc_code[0], st->req_acked);
    } else {
        assert_int_equal(st->http_status[503], s.refused);
        assert_int_equal(st->http_status[200], st->req_acked);
        assert_true(s.closes > 0);
        assert_true(st->connects > 3); /* reconnected after Connection: close */
    }
    assert_int_equal(st->req_failed, s.refused);
    assert_int_equal(st->conn_errors + st->timeouts + st->bad_responses, 0);
    assert_int_equal(st->items_acked_sig[0] + st->items_acked_sig[1] + st->items_acked_sig[2],
                     st->items_acked);
    assert_true(st->items_acked_sig[0] > 0 && st->items_acked_sig[1] > 0 &&
                st->items_acked_sig[2] > 0);
    assert_int_equal(st->lat_us.n, st->req_sent);
    /* the ack log holds exactly the ids of the fully acknowledged requests */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *ack = malloc((size_t)sz + 1);
    assert_int_equal(fread(ack, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    unlink(path);
    char **a, **b;
    size_t na = split_lines(ack, (size_t)sz, &a);
    size_t nb = split_lines((char *)s.lines.data, s.lines.len, &b);
    assert_int_equal(na, nb);
    /* partially rejected requests add no lines (which items were refused is not said) */
    assert_int_equal(na + (size_t)(st->req_partial * c.batch - st->items_rejected),
                     st->items_acked);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(a[i], b[i]);
    for (size_t i = 1; i < na; i++)
        assert_true(strcmp(a[i - 1], a[i]) != 0); /* and every id is unique */
    free(a);
    free(b);
    free(ack);
    free(st);
    srv_free(&s);
    lgclient_destroy(w);
}

static void test_http_protobuf(void **state)
{
    (void)state;
    run_against(LGCLIENT_HTTP_PROTOBUF);
}

static void test_http_json(void **state)
{
    (void)state;
    run_against(LGCLIENT_HTTP_JSON);
}

static void test_grpc(void **state)
{
    (void)state;
    run_against(LGCLIENT_GRPC);
}

/* --rate: 3000 items/s in batches of 50 for 1 s is 60 requests, give or take the first
 * token and scheduling. */
static void test_rate(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, 0, NULL);
    lgclient_config_t c;
    cfg_for(&c, &s, LGCLIENT_HTTP_PROTOBUF);
    c.rate = 3000;
    c.duration_ns = 1000000000ull;
    c.signals = LGCLIENT_SIG_TRACES;
    lgclient_t *w = lgclient_create(&c);
    assert_int_equal(lgclient_run(w), 0);
    uint64_t sent = lgclient_stats(w)->req_sent;
    srv_stop(&s);
    srv_free(&s);
    print_message("rate 3000/s batch 50 for 1 s: %llu requests\n", (unsigned long long)sent);
    assert_true(sent >= 57 && sent <= 64);
    lgclient_destroy(w);
}

/* Nothing listening: every connection attempt fails, nothing is acknowledged, the run
 * still ends on time. */
static void test_refused(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, 0, NULL);
    srv_stop(&s); /* the port is now closed */
    srv_free(&s);
    lgclient_config_t c;
    cfg_for(&c, &s, LGCLIENT_HTTP_PROTOBUF);
    c.duration_ns = 300000000ull;
    lgclient_t *w = lgclient_create(&c);
    assert_int_equal(lgclient_run(w), 0);
    const lgclient_stats_t *st = lgclient_stats(w);
    assert_int_equal(st->req_acked, 0);
    assert_int_equal(st->req_sent, 0);
    assert_true(st->conn_errors >= 3);
    lgclient_destroy(w);
}

/* A server that answers before it has read the body: the answer counts, and the
 * connection is not reused with half a request in it (no garbage, no errors). */
static void test_early_answer(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, 0, NULL);
    s.early = 1;
    /* a small receive window so the client is still writing when the answer comes */
    int small = 4096;
    setsockopt(s.lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    lgclient_config_t c;
    cfg_for(&c, &s, LGCLIENT_HTTP_PROTOBUF);
    c.signals = LGCLIENT_SIG_TRACES;
    c.batch = 20000; /* ~8.5 MB: more than the socket buffers take at once */
    c.connections = 2;
    c.duration_ns = 500000000ull;
    lgclient_t *w = lgclient_create(&c);
    assert_int_equal(lgclient_run(w), 0);
    const lgclient_stats_t *st = lgclient_stats(w);
    srv_stop(&s);
    print_message("early answers: sent %llu, 413s %llu, server saw %ld\n",
                  (unsigned long long)st->req_sent, (unsigned long long)st->http_status[413],
                  s.requests);
    assert_true(st->req_sent >= 2);
    assert_int_equal(st->http_status[413], st->req_sent);
    assert_int_equal(st->req_acked, 0);
    assert_int_equal(st->req_failed, st->req_sent);
    assert_int_equal(st->bad_responses + st->timeouts, 0);
    assert_int_equal((uint64_t)s.requests, st->req_sent);
    srv_free(&s);
    lgclient_destroy(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_protobuf), cmocka_unit_test(test_http_json),
        cmocka_unit_test(test_grpc),          cmocka_unit_test(test_rate),
        cmocka_unit_test(test_refused),       cmocka_unit_test(test_early_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
