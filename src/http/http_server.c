/*
 * http_server.c — server lifecycle: worker threads (one loop each), listening sockets,
 * accepting, stop-accepting, drain and destroy.
 *
 * Every worker owns one SO_REUSEPORT socket per listener, so accept needs no lock and
 * the kernel spreads connections. Control actions from the owning thread (stop
 * accepting, drain) are posted to each worker's loop and acknowledged through the
 * server's mutex/condvar; the hot path never takes that mutex (in-flight and connection
 * counts are atomics and only signal the condvar while draining).
 */
#include "http/http_int.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "net/listener.h"

#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void http_server_config_default(http_server_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->workers = 1;
    cfg->max_header_bytes = 64 * 1024;
    cfg->max_headers = 100;
    cfg->max_body_bytes = (size_t)20 << 20;
    cfg->max_decoded_bytes = (size_t)64 << 20;
    cfg->max_grpc_message_bytes = (size_t)20 << 20;
    cfg->idle_timeout_ns = 60ull * 1000000000ull;
    cfg->header_timeout_ns = 10ull * 1000000000ull;
    cfg->body_timeout_ns = 30ull * 1000000000ull;
    cfg->max_connections = 10000;
    cfg->h2_max_concurrent_streams = 100;
    cfg->h2_stream_window = 8u << 20;
    cfg->h2_connection_window = 32u << 20;
    cfg->h2_max_buffered_bytes = (size_t)64 << 20;
    cfg->backlog = 511;
}

static void http_server_fill_defaults(http_server_config_t *c)
{
    http_server_config_t d;
    http_server_config_default(&d);
#define HTTP_DEF(f)                                                                        \
    if (!c->f)                                                                             \
        c->f = d.f;
    HTTP_DEF(workers)
    HTTP_DEF(max_header_bytes)
    HTTP_DEF(max_headers)
    HTTP_DEF(max_body_bytes)
    HTTP_DEF(max_decoded_bytes)
    HTTP_DEF(max_grpc_message_bytes)
    HTTP_DEF(idle_timeout_ns)
    HTTP_DEF(header_timeout_ns)
    HTTP_DEF(body_timeout_ns)
    HTTP_DEF(max_connections)
    HTTP_DEF(h2_max_concurrent_streams)
    HTTP_DEF(h2_stream_window)
    HTTP_DEF(h2_connection_window)
    HTTP_DEF(h2_max_buffered_bytes)
    HTTP_DEF(backlog)
#undef HTTP_DEF
    if (c->workers > 256)
        c->workers = 256;
    if (c->h2_stream_window > 0x7fffffffu)
        c->h2_stream_window = 0x7fffffffu;
    if (c->h2_connection_window > 0x7fffffffu)
        c->h2_connection_window = 0x7fffffffu;
}

http_server_t *http_server_create(const http_server_config_t *cfg)
{
    http_server_t *srv = orasi_calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    if (cfg)
        srv->cfg = *cfg;
    http_server_fill_defaults(&srv->cfg);
    atomic_init(&srv->inflight, 0);
    atomic_init(&srv->nconns, 0);
    atomic_init(&srv->draining, 0);
    pthread_mutex_init(&srv->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->cond, &ca);
    pthread_condattr_destroy(&ca);
    metric_family_t *fin = metrics_counter("orasi_http_bytes_received_total",
                                           "Bytes read from HTTP clients", 0, NULL);
    metric_family_t *fout = metrics_counter("orasi_http_bytes_sent_total",
                                            "Bytes written to HTTP clients", 0, NULL);
    srv->bytes_in = fin ? metric_series(fin, NULL) : NULL;
    srv->bytes_out = fout ? metric_series(fout, NULL) : NULL;
    srv->h2_callbacks = h2_callbacks_new();
    if (!srv->h2_callbacks)
        goto fail;
    srv->workers = orasi_calloc((size_t)srv->cfg.workers, sizeof(*srv->workers));
    if (!srv->workers)
        goto fail;
    srv->nworkers = srv->cfg.workers;
    for (int i = 0; i < srv->nworkers; i++) {
        struct http_worker *w = &srv->workers[i];
        w->srv = srv;
        w->idx = i;
        w->loop = loop_create();
        if (!w->loop)
            goto fail;
    }
    return srv;
fail:
    http_server_destroy(srv);
    return NULL;
}

static void http_server_accept_cb(loop_t *loop, loop_io_t *io, unsigned events)
{
    struct http_wlisten *wl = io->data;
    struct http_worker *w = wl->w;
    /* bounded so one busy listener cannot starve the connections already open */
    for (int i = 0; i < 64; i++) {
        if (w->nconns >= w->srv->cfg.max_connections) {
            for (size_t k = 0; k < w->nls; k++)
                loop_io_stop(loop, &w->ls[k].io);
            w->accept_paused = 1;
            return;
        }
        char peer[64];
        int fd = listener_accept(wl->fd, peer, sizeof(peer));
        if (fd == ORASI_EAGAIN)
            return;
        if (fd < 0) {
            LOG_W("http", "accept on port %d failed: %s", wl->l->port, orasi_strerror(fd));
            return;
        }
        http_conn_accepted(w, wl->l, fd, peer);
    }
}

/* Called by http_conn.c when a connection closed on a paused worker. */
void http_server_resume_accept(struct http_worker *w)
{
    if (!w->accept_paused || w->listeners_closed || w->nconns >= w->srv->cfg.max_connections)
        return;
    w->accept_paused = 0;
    for (size_t k = 0; k < w->nls; k++)
        if (w->ls[k].fd >= 0 && loop_io_start(w->loop, &w->ls[k].io, LOOP_READ) < 0)
            LOG_E("http", "cannot watch listener on port %d", w->ls[k].l->port);
}

int http_server_listen(http_server_t *srv, const char *host, int port, http_router_t *router)
{
    if (!srv || !router || srv->started)
        return ORASI_EINVAL;
    if (srv->nlisteners >= HTTP_LISTENERS_MAX)
        return ORASI_EFULL;
    struct http_listener *l = &srv->listeners[srv->nlisteners];
    memset(l, 0, sizeof(*l));
    l->srv = srv;
    l->router = router;
    int bound = port, rc = 0, i;
    for (i = 0; i < srv->nworkers; i++) {
        int fd = listener_open(host, bound, srv->cfg.backlog, &bound);
        if (fd < 0) {
            rc = fd;
            break;
        }
        struct http_worker *w = &srv->workers[i];
        struct http_wlisten *wl = &w->ls[w->nls];
        wl->w = w;
        wl->l = l;
        wl->fd = fd;
        loop_io_init(&wl->io, fd, http_server_accept_cb, wl);
        w->nls++;
    }
    if (rc < 0) {
        for (int k = 0; k < i; k++) {
            struct http_worker *w = &srv->workers[k];
            w->nls--;
            close(w->ls[w->nls].fd);
            w->ls[w->nls].fd = -1;
        }
        return rc;
    }
    l->port = bound;
    metric_family_t *g = metrics_gauge("orasi_http_connections",
                                       "Open HTTP connections by listener port", 1,
                                       (const char *[]){"port"});
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", bound);
    l->conns_gauge = g ? metric_series(g, (const char *[]){ps}) : NULL;
    srv->nlisteners++;
    LOG_I("http", "listening on %s:%d (%d workers)", host && *host ? host : "0.0.0.0", bound,
          srv->nworkers);
    return bound;
}

static void *http_server_worker_main(void *arg)
{
    struct http_worker *w = arg;
    char tn[16];
    snprintf(tn, sizeof(tn), "http-%d", w->idx);
    pthread_setname_np(pthread_self(), tn); /* top -H, perf, bench/run */
    int rc = loop_run(w->loop);
    if (rc < 0)
        LOG_E("http", "worker %d loop failed: %s", w->idx, orasi_strerror(rc));
    return NULL;
}

int http_server_start(http_server_t *srv)
{
    if (!srv || srv->started)
        return ORASI_EINVAL;
    for (int i = 0; i < srv->nworkers; i++) {
        struct http_worker *w = &srv->workers[i];
        for (size_t k = 0; k < w->nls; k++) {
            int rc = loop_io_start(w->loop, &w->ls[k].io, LOOP_READ);
            if (rc < 0)
                return rc;
        }
    }
    srv->started = 1;
    for (int i = 0; i < srv->nworkers; i++) {
        struct http_worker *w = &srv->workers[i];
        if (pthread_create(&w->thread, NULL, http_server_worker_main, w) != 0) {
            LOG_E("http", "cannot start worker thread %d", i);
            return ORASI_ESYS;
        }
        w->thread_started = 1;
    }
    return 0;
}

void http_server_signal(http_server_t *srv)
{
    pthread_mutex_lock(&srv->mu);
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->mu);
}

static void http_server_ack(http_server_t *srv)
{
    pthread_mutex_lock(&srv->mu);
    srv->acks++;
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->mu);
}

static void http_server_close_listeners(struct http_worker *w)
{
    for (size_t k = 0; k < w->nls; k++) {
        if (w->ls[k].fd >= 0) {
            loop_io_stop(w->loop, &w->ls[k].io);
            close(w->ls[k].fd);
            w->ls[k].fd = -1;
        }
    }
    w->listeners_closed = 1;
}

static void http_server_stop_accepting_task(void *arg)
{
    struct http_worker *w = arg;
    http_server_close_listeners(w);
    http_server_ack(w->srv);
}

/* Run task on every worker (posted) and wait until all acknowledged. Workers whose
 * thread is not running get the task run here directly. */
static void http_server_broadcast(http_server_t *srv, loop_post_fn task)
{
    pthread_mutex_lock(&srv->mu);
    srv->acks = 0;
    pthread_mutex_unlock(&srv->mu);
    int expected = 0;
    for (int i = 0; i < srv->nworkers; i++) {
        struct http_worker *w = &srv->workers[i];
        if (w->thread_started && loop_post(w->loop, task, w) == 0) {
            expected++;
            continue;
        }
        if (w->thread_started) {
            /* could not post (out of memory): wait and retry rather than touch the
             * worker's state from this thread */
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            i--;
            continue;
        }
        task(w);
        pthread_mutex_lock(&srv->mu);
        srv->acks--; /* task() acknowledged; not an expected post */
        pthread_mutex_unlock(&srv->mu);
    }
    pthread_mutex_lock(&srv->mu);
    while (srv->acks < expected)
        pthread_cond_wait(&srv->cond, &srv->mu);
    pthread_mutex_unlock(&srv->mu);
}

void http_server_stop_accepting(http_server_t *srv)
{
    if (!srv)
        return;
    http_server_broadcast(srv, http_server_stop_accepting_task);
}

static void http_server_drain_task(void *arg)
{
    struct http_worker *w = arg;
    w->draining = 1;
    http_conn_drain_all(w);
    http_server_ack(w->srv);
}

int http_server_drain(http_server_t *srv, uint64_t deadline_ns)
{
    if (!srv)
        return ORASI_EINVAL;
    atomic_store(&srv->draining, 1);
    http_server_broadcast(srv, http_server_drain_task);
    struct timespec ts = {(time_t)(deadline_ns / 1000000000ull),
                          (long)(deadline_ns % 1000000000ull)};
    int rc = 0;
    pthread_mutex_lock(&srv->mu);
    while (atomic_load(&srv->inflight) > 0 || atomic_load(&srv->nconns) > 0) {
        if (clock_mono_ns() >= deadline_ns) {
            rc = ORASI_ETIMEOUT;
            break;
        }
        int e = pthread_cond_timedwait(&srv->cond, &srv->mu, &ts);
        if (e == ETIMEDOUT && (atomic_load(&srv->inflight) > 0 || atomic_load(&srv->nconns) > 0)) {
            rc = ORASI_ETIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&srv->mu);
    return rc;
}

size_t http_server_inflight(const http_server_t *srv)
{
    return atomic_load(&((http_server_t *)srv)->inflight);
}

size_t http_server_connections(const http_server_t *srv)
{
    return atomic_load(&((http_server_t *)srv)->nconns);
}

void http_server_destroy(http_server_t *srv)
{
    if (!srv)
        return;
    for (int i = 0; srv->workers && i < srv->nworkers; i++) {
        struct http_worker *w = &srv->workers[i];
        if (w->thread_started) {
            loop_stop(w->loop);
            pthread_join(w->thread, NULL);
            w->thread_started = 0;
        }
    }
    for (int i = 0; srv->workers && i < srv->nworkers; i++) {
        struct http_worker *w = &srv->workers[i];
        if (!w->loop)
            continue;
        http_server_close_listeners(w);
        http_conn_close_all(w);
        /* run what connections posted to themselves while closing */
        loop_run_once(w->loop, 0);
        http_req_pool_free(w);
        http_decode_destroy(w->decoder);
        loop_destroy(w->loop);
    }
    orasi_free(srv->workers);
    if (srv->h2_callbacks)
        h2_callbacks_free(srv->h2_callbacks);
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->mu);
    orasi_free(srv);
}
