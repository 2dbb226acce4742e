/* test_http_testlib.h — helpers shared by the HTTP server tests (header-only, static):
 * a server with a few routes on 127.0.0.1:<ephemeral>, and a blocking raw-socket client
 * that reads HTTP/1.1 answers (Content-Length framed) with a timeout. */
#ifndef TEST_HTTP_TESTLIB_H
#define TEST_HTTP_TESTLIB_H

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/metrics.h"
#include "http/http.h"
#include "net/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- server ---------------------------------------------------------------------------- */

struct tsrv {
    http_server_t *srv;
    http_router_t *router;
    int port;
};

static void th_echo(http_req_t *req, void *ud)
{
    slice_t b = http_req_body(req);
    char n[32];
    snprintf(n, sizeof(n), "%zu", b.len);
    http_resp_header(req, "X-Body-Len", n);
    slice_t q = http_req_query(req);
    if (q.len) {
        char *qs = arena_strndup(http_req_arena(req), (const char *)q.p, q.len);
        http_resp_header(req, "X-Query", qs);
    }
    http_respond(req, 200, "application/octet-stream", b.p, b.len);
}

static void th_hello(http_req_t *req, void *ud)
{
    http_respond(req, 200, "text/plain", "hello\n", 6);
}

/* answers 503 with Retry-After: the lead's backpressure case */
static void th_busy(http_req_t *req, void *ud)
{
    http_resp_header(req, "Retry-After", "3");
    http_respond(req, 503, "text/plain", "busy\n", 5);
}

/* asynchronous: another thread posts the answer back to the request's loop */
struct tasync {
    http_req_t *req;
    int delay_ms;
};

static void th_async_done(void *arg)
{
    struct tasync *a = arg;
    http_respond(a->req, 200, "text/plain", "async\n", 6);
    free(a);
}

static void *th_async_thread(void *arg)
{
    struct tasync *a = arg;
    usleep((useconds_t)a->delay_ms * 1000);
    loop_t *l = http_req_loop(a->req);
    while (loop_post(l, th_async_done, a) != 0)
        usleep(1000);
    return NULL;
}

static void th_async(http_req_t *req, void *ud)
{
    struct tasync *a = malloc(sizeof(*a));
    a->req = req;
    a->delay_ms = ud ? *(int *)ud : 50;
    pthread_t t;
    pthread_create(&t, NULL, th_async_thread, a);
    pthread_detach(t);
}

static int th_async_delay = 50;

/* held (http_req_hold): answered at once, body and a header checked against a copy
 * 30 ms later on the request's loop, then released */
static _Atomic int th_held_checked, th_held_bad;
struct theld {
    http_req_t *req;
    slice_t body, tag;
    char *want_body, *want_tag;
};

static void th_held_check(void *arg)
{
    struct theld *h = arg;
    if (memcmp(h->body.p, h->want_body, h->body.len) != 0 ||
        memcmp(h->tag.p, h->want_tag, h->tag.len) != 0)
        atomic_fetch_add(&th_held_bad, 1);
    http_req_release(h->req);
    free(h->want_body);
    free(h->want_tag);
    free(h);
    atomic_fetch_add(&th_held_checked, 1);
}

static void *th_held_thread(void *arg)
{
    struct theld *h = arg;
    usleep(30000);
    while (loop_post(http_req_loop(h->req), th_held_check, h) != 0)
        usleep(1000);
    return NULL;
}

static void th_held(http_req_t *req, void *ud)
{
    struct theld *h = calloc(1, sizeof(*h));
    h->req = req;
    h->body = http_req_body(req);
    h->tag = http_req_header(req, "x-tag");
    h->want_body = malloc(h->body.len + 1);
    memcpy(h->want_body, h->body.p, h->body.len);
    h->want_tag = malloc(h->tag.len + 1);
    memcpy(h->want_tag, h->tag.p, h->tag.len);
    http_req_hold(req);
    http_respond(req, 200, "text/plain", "held\n", 5);
    pthread_t t;
    pthread_create(&t, NULL, th_held_thread, h);
    pthread_detach(t);
}

/* set by a test file to add its own routes before the server starts */
static void (*tsrv_extra_routes)(http_router_t *r);

static void tsrv_start(struct tsrv *t, const http_server_config_t *cfg)
{
    t->srv = http_server_create(cfg);
    if (!t->srv) {
        fprintf(stderr, "server create failed\n");
        abort();
    }
    t->router = http_router_create();
    http_route(t->router, "POST", "/echo", th_echo, NULL);
    http_route(t->router, "PUT", "/echo", th_echo, NULL);
    http_route(t->router, "GET", "/hello", th_hello, NULL);
    http_route(t->router, "HEAD", "/hello", th_hello, NULL);
    http_route(t->router, "*", "/any", th_hello, NULL);
    http_route(t->router, "POST", "/busy", th_busy, NULL);
    http_route(t->router, "POST", "/async", th_async, &th_async_delay);
    http_route(t->router, "GET", "/async", th_async, &th_async_delay);
    http_route(t->router, "POST", "/held", th_held, NULL);
    if (tsrv_extra_routes)
        tsrv_extra_routes(t->router);
    t->port = http_server_listen(t->srv, "127.0.0.1", 0, t->router);
    if (t->port <= 0) {
        fprintf(stderr, "listen failed: %d\n", t->port);
        abort();
    }
    if (http_server_start(t->srv) != 0)
        abort();
}

static void tsrv_stop(struct tsrv *t)
{
    http_server_destroy(t->srv);
    http_router_destroy(t->router);
    t->srv = NULL;
    t->router = NULL;
}

/* In-flight count once the workers caught up (a client can read an answer a moment
 * before the worker has finished the request). */
__attribute__((unused)) static size_t tsrv_inflight_settled(http_server_t *srv)
{
    for (int i = 0; i < 200 && http_server_inflight(srv) != 0; i++)
        usleep(5000);
    return http_server_inflight(srv);
}

/* ---- client ---------------------------------------------------------------------------- */

struct tcli {
    int fd;
    char *buf;
    size_t len, cap;
};

struct tresp {
    int status;
    char head[16384];
    char *body; /* malloc'd, NUL-terminated */
    size_t body_len;
};

static int tcli_connect(struct tcli *c, int port)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->cap = 1 << 16;
    c->buf = malloc(c->cap);
    return 0;
}

static void tcli_close(struct tcli *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}

static int tcli_send(struct tcli *c, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int tcli_sends(struct tcli *c, const char *s)
{
    return tcli_send(c, s, strlen(s));
}

/* Read more bytes: >0 read, 0 EOF, -1 error, -2 timeout. */
static int tcli_fill(struct tcli *c, int timeout_ms)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    int pr = poll(&p, 1, timeout_ms);
    if (pr == 0)
        return -2;
    if (c->len == c->cap) {
        c->cap *= 2;
        c->buf = realloc(c->buf, c->cap);
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n < 0)
        return -1;
    c->len += (size_t)n;
    return n > 0 ? 1 : 0;
}

/* Read one answer. 0 on success, -1 on EOF/error before a whole answer, -2 timeout. */
static int tcli_read(struct tcli *c, struct tresp *r, int timeout_ms)
{
    memset(r, 0, sizeof(*r));
    uint64_t deadline = clock_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    char *end;
    for (;;) {
        end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end)
            break;
        int left = (int)((deadline - clock_mono_ns()) / 1000000ull);
        if (clock_mono_ns() >= deadline)
            return -2;
        int f = tcli_fill(c, left > 0 ? left : 1);
        if (f <= 0)
            return f == -2 ? -2 : -1;
    }
    size_t hl = (size_t)(end - c->buf) + 4;
    size_t cp = hl < sizeof(r->head) ? hl : sizeof(r->head) - 1;
    memcpy(r->head, c->buf, cp);
    r->head[cp] = '\0';
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    size_t clen = 0;
    char *cl = strcasestr(r->head, "\r\nContent-Length:");
    if (cl)
        clen = strtoull(cl + 17, NULL, 10);
    if (r->status < 200)
        clen = 0;
    while (c->len < hl + clen) {
        if (clock_mono_ns() >= deadline)
            return -2;
        int left = (int)((deadline - clock_mono_ns()) / 1000000ull);
        int f = tcli_fill(c, left > 0 ? left : 1);
        if (f <= 0)
            return f == -2 ? -2 : -1;
    }
    r->body = malloc(clen + 1);
    memcpy(r->body, c->buf + hl, clen);
    r->body[clen] = '\0';
    r->body_len = clen;
    memmove(c->buf, c->buf + hl + clen, c->len - hl - clen);
    c->len -= hl + clen;
    return 0;
}

static void tresp_free(struct tresp *r)
{
    free(r->body);
    r->body = NULL;
}

/* 1 when the server closed the connection (EOF or reset) within timeout_ms. */
__attribute__((unused)) static int tcli_closed(struct tcli *c, int timeout_ms)
{
    uint64_t deadline = clock_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (clock_mono_ns() < deadline) {
        int f = tcli_fill(c, 50);
        if (f == 0 || f == -1)
            return 1;
    }
    return 0;
}

__attribute__((unused)) static int thead_has(const struct tresp *r, const char *needle)
{
    return strcasestr(r->head, needle) != NULL;
}

#endif
