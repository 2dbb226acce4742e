/*
 * http_router.c — exact-path routing and the per-route metric series.
 *
 * Routing is a linear scan: a listener has a handful of routes and comparing the length
 * first rejects almost every entry in one instruction, which beats hashing at this size.
 * Metric series for a route are looked up once, the first time a status is seen, and
 * cached in an array indexed by status code, so the hot path formats no strings.
 */
#include "http/http_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const double http_router_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,   0.25,   0.5,   1,     2.5,
                                             5,      10};

static metric_family_t *http_router_requests_family(void)
{
    return metrics_counter("orasi_http_requests_total", "HTTP requests by route and status",
                           2, (const char *[]){"route", "status"});
}

static metric_family_t *http_router_duration_family(void)
{
    return metrics_histogram("orasi_http_request_duration_seconds",
                             "Time from request head to answer, by route", 1,
                             (const char *[]){"route"},
                             (int)(sizeof(http_router_buckets) / sizeof(double)),
                             http_router_buckets);
}

static int http_router_stats_init(struct http_route_stats *st, const char *label)
{
    st->label = orasi_strdup(label);
    if (!st->label)
        return ORASI_ENOMEM;
    metric_family_t *f = http_router_duration_family();
    st->duration = f ? metric_series(f, (const char *[]){st->label}) : NULL;
    for (int i = 0; i < HTTP_STATUS_SLOTS; i++)
        atomic_init(&st->by_status[i], NULL);
    return 0;
}

void http_router_record(struct http_route_stats *st, int status, double seconds)
{
    if (!st)
        return;
    if (status >= 0 && status < HTTP_STATUS_SLOTS) {
        metric_t *m = atomic_load_explicit(&st->by_status[status], memory_order_acquire);
        if (!m) {
            metric_family_t *f = http_router_requests_family();
            char code[16];
            snprintf(code, sizeof(code), "%d", status);
            m = f ? metric_series(f, (const char *[]){st->label, code}) : NULL;
            if (!m)
                goto dur;
            /* benign race: every thread gets the same series from the registry */
            atomic_store_explicit(&st->by_status[status], m, memory_order_release);
        }
        metric_inc(m);
    }
dur:
    if (st->duration)
        metric_observe(st->duration, seconds);
}

http_router_t *http_router_create(void)
{
    http_router_t *r = orasi_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (http_router_stats_init(&r->unmatched, "unmatched") < 0) {
        orasi_free(r);
        return NULL;
    }
    return r;
}

void http_router_destroy(http_router_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        orasi_free(r->routes[i].method);
        orasi_free(r->routes[i].path);
    }
    for (size_t i = 0; i < r->nstats; i++) {
        orasi_free(r->stats[i]->label);
        orasi_free(r->stats[i]);
    }
    orasi_free(r->stats);
    orasi_free(r->routes);
    orasi_free(r->unmatched.label);
    orasi_free(r);
}

static struct http_route_stats *http_router_stats_for(http_router_t *r, const char *path)
{
    for (size_t i = 0; i < r->nstats; i++)
        if (strcmp(r->stats[i]->label, path) == 0)
            return r->stats[i];
    if (r->nstats == r->stats_cap) {
        size_t ncap = r->stats_cap ? r->stats_cap * 2 : 8;
        struct http_route_stats **s = orasi_realloc(r->stats, ncap * sizeof(*s));
        if (!s)
            return NULL;
        r->stats = s;
        r->stats_cap = ncap;
    }
    struct http_route_stats *st = orasi_calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    if (http_router_stats_init(st, path) < 0) {
        orasi_free(st);
        return NULL;
    }
    r->stats[r->nstats++] = st;
    return st;
}

static int http_router_add(http_router_t *r, const char *method, const char *path, int grpc,
                           http_handler_fn fn, void *ud)
{
    if (!r || !method || !*method || !path || path[0] != '/' || !fn)
        return ORASI_EINVAL;
    for (size_t i = 0; i < r->n; i++)
        if (r->routes[i].grpc == grpc && strcmp(r->routes[i].path, path) == 0 &&
            strcmp(r->routes[i].method, method) == 0)
            return ORASI_EEXISTS;
    if (r->n >= HTTP_ROUTES_MAX)
        return ORASI_EFULL;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 8;
        struct http_route_ent *rt = orasi_realloc(r->routes, ncap * sizeof(*rt));
        if (!rt)
            return ORASI_ENOMEM;
        r->routes = rt;
        r->cap = ncap;
    }
    struct http_route_ent *e = &r->routes[r->n];
    memset(e, 0, sizeof(*e));
    e->method = orasi_strdup(method);
    e->path = orasi_strdup(path);
    e->stats = http_router_stats_for(r, path);
    if (!e->method || !e->path || !e->stats) {
        orasi_free(e->method);
        orasi_free(e->path);
        return ORASI_ENOMEM;
    }
    e->path_len = strlen(path);
    e->grpc = grpc;
    e->fn = fn;
    e->ud = ud;
    r->n++;
    return 0;
}

int http_route(http_router_t *r, const char *method, const char *path, http_handler_fn fn,
               void *ud)
{
    return http_router_add(r, method, path, 0, fn, ud);
}

int http_route_grpc(http_router_t *r, const char *path, http_handler_fn fn, void *ud)
{
    return http_router_add(r, "POST", path, 1, fn, ud);
}

const struct http_route_ent *http_router_find(http_router_t *r, slice_t method, slice_t path,
                                              int grpc, int *status,
                                              struct http_route_stats **stats, char *allow,
                                              size_t allowlen)
{
    const struct http_route_ent *path_hit = NULL;
    size_t alen = 0;
    if (allow && allowlen)
        allow[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        const struct http_route_ent *e = &r->routes[i];
        if (e->grpc != grpc || e->path_len != path.len || memcmp(e->path, path.p, path.len))
            continue;
        if ((e->method[0] == '*' && e->method[1] == '\0') || slice_eq_cstr(method, e->method)) {
            *status = 0;
            *stats = e->stats;
            return e;
        }
        path_hit = e;
        if (allow && allowlen) {
            int n = snprintf(allow + alen, allowlen - alen, "%s%s", alen ? ", " : "",
                             e->method);
            if (n > 0 && (size_t)n < allowlen - alen)
                alen += (size_t)n;
        }
    }
    if (path_hit) {
        *status = 405;
        *stats = path_hit->stats;
    } else {
        *status = 404;
        *stats = &r->unmatched;
    }
    return NULL;
}
