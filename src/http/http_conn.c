/*
 * http_conn.c — one accepted connection: lifetime (reference counted), the deadline
 * timer, I/O dispatch to HTTP/1 or HTTP/2, close and drain.
 *
 * Deadlines are lazy: a connection stores its current deadline and the timer is only
 * moved when the deadline gets earlier. When the timer fires early (the deadline moved
 * later meanwhile) it re-arms itself. A keep-alive request cycle therefore mostly
 * writes one integer instead of touching the timer heap.
 */
#include "http/http_int.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HTTP_CONN_IN_MAX_SLACK ((size_t)64 << 10)

static void http_conn_metric_add(metric_t *m, double v)
{
    if (m)
        metric_add(m, v);
}

void http_conn_ref(struct http_conn *c)
{
    c->refs++;
}

static void http_conn_free(struct http_conn *c)
{
    if (c->proto == CONN_H2)
        h2_release(c);
    buf_free(&c->in);
    buf_free(&c->out);
    orasi_free(c);
}

void http_conn_unref(struct http_conn *c)
{
    if (--c->refs == 0)
        http_conn_free(c);
}

void http_conn_count_out(struct http_conn *c, size_t n)
{
    http_conn_metric_add(c->w->srv->bytes_out, (double)n);
}

static void http_conn_timer_cb(loop_t *loop, loop_timer_t *t)
{
    struct http_conn *c = t->data;
    if (c->closed || c->deadline == 0)
        return;
    if (loop_now(loop) < c->deadline) {
        loop_timer_start_at(loop, &c->timer, c->deadline);
        return;
    }
    c->deadline = 0;
    http_conn_ref(c);
    if (c->proto == CONN_H2)
        h2_on_timeout(c);
    else
        h1_on_timeout(c);
    http_conn_unref(c);
}

void http_conn_set_deadline(struct http_conn *c, uint64_t when)
{
    c->deadline = when;
    if (c->closed)
        return;
    if (when == 0)
        return; /* the timer, if armed, finds no deadline and does nothing */
    if (!loop_timer_active(&c->timer) || when < c->timer.when_ns)
        if (loop_timer_start_at(c->w->loop, &c->timer, when) < 0)
            http_conn_close(c);
}

void http_conn_want(struct http_conn *c, unsigned events)
{
    if (c->closed)
        return;
    if (loop_io_start(c->w->loop, &c->io, events) < 0)
        http_conn_close(c);
}

static void http_conn_io_cb(loop_t *loop, loop_io_t *io, unsigned events)
{
    struct http_conn *c = io->data;
    http_conn_ref(c);
    if (c->proto == CONN_H2)
        h2_on_io(c, events);
    else
        h1_on_io(c, events);
    http_conn_unref(c);
}

ssize_t http_conn_read(struct http_conn *c, size_t min_room)
{
    if (c->in.cap - c->in.len < min_room) {
        int rc = buf_reserve(&c->in, min_room);
        if (rc < 0) {
            /* at the cap: read what still fits */
            if (c->in.cap == c->in.len)
                return rc;
        }
    }
    ssize_t n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
    if (n > 0) {
        c->in.len += (size_t)n;
        http_conn_metric_add(c->w->srv->bytes_in, (double)n);
        return n;
    }
    if (n == 0)
        return 0;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return ORASI_EAGAIN;
    return ORASI_ECLOSED;
}

void http_conn_accepted(struct http_worker *w, struct http_listener *l, int fd,
                        const char *peer)
{
    const http_server_config_t *cfg = &w->srv->cfg;
    struct http_conn *c = orasi_calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->w = w;
    c->l = l;
    c->fd = fd;
    c->refs = 1;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    buf_init(&c->in, cfg->max_header_bytes + cfg->max_body_bytes + HTTP_CONN_IN_MAX_SLACK);
    buf_init(&c->out, HTTP_RESP_MAX + 65536);
    loop_io_init(&c->io, fd, http_conn_io_cb, c);
    loop_timer_init(&c->timer, http_conn_timer_cb, c);
    if (loop_io_start(w->loop, &c->io, LOOP_READ) < 0) {
        close(fd);
        orasi_free(c);
        return;
    }
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    atomic_fetch_add(&w->srv->nconns, 1);
    if (l->conns_gauge)
        metric_add(l->conns_gauge, 1);
    http_conn_set_deadline(c, loop_now(w->loop) + cfg->header_timeout_ns);
    if (w->draining)
        http_conn_close(c);
}

void http_conn_close(struct http_conn *c)
{
    if (c->closed)
        return;
    struct http_worker *w = c->w;
    c->closed = 1;
    loop_io_stop(w->loop, &c->io);
    loop_timer_stop(w->loop, &c->timer);
    close(c->fd);
    c->fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    w->nconns--;
    atomic_fetch_sub(&w->srv->nconns, 1);
    if (c->l->conns_gauge)
        metric_add(c->l->conns_gauge, -1);
    /* let the protocol detach its streams / requests (they may hold references) */
    if (c->proto == CONN_H2)
        h2_release(c);
    else
        h1_release(c);
    if (atomic_load_explicit(&w->srv->draining, memory_order_relaxed))
        http_server_signal(w->srv);
    http_server_resume_accept(w);
    http_conn_unref(c);
}

void http_conn_close_all(struct http_worker *w)
{
    while (w->conns)
        http_conn_close(w->conns);
}

void http_conn_drain_all(struct http_worker *w)
{
    struct http_conn *c = w->conns;
    while (c) {
        struct http_conn *next = c->next;
        /* draining c may close c, never another connection, so `next` stays valid */
        http_conn_ref(c);
        if (c->proto == CONN_H2)
            h2_drain(c);
        else
            h1_drain(c);
        http_conn_unref(c);
        c = next;
    }
}
