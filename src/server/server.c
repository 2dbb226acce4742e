/*
 * server.c — wiring and lifecycle of a running Orasi process (see server.h).
 *
 * Threads: the HTTP workers (one event loop each, started by http_server_start) do all
 * request work; the main thread only waits for signals with sigtimedwait() and drives the
 * lifecycle. Signals are blocked before any thread starts, so they are delivered to the
 * main thread alone and no handler runs in a worker.
 *
 * Readiness: /ready answers 503 until every listener is bound and the sink is ready, and
 * again from the moment a drain begins.
 */
#include "server/server.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/procstat.h"
#include "http/http.h"
#include "pipeline/sink.h"
#include "receiver/otlp.h"
#include "server/roles.h"
#include "sql/sql.h"
#include "sql/sql_http.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct server {
    const settings_t *s;
    sink_t *sink;
    _Atomic int ready;
    _Atomic int draining;
};

/* ---- API endpoints ------------------------------------------------------------------ */

static void api_health(http_req_t *req, void *ud)
{
    static const char body[] = "{\"status\":\"ok\"}\n";
    http_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

static void api_ready(http_req_t *req, void *ud)
{
    struct server *srv = ud;
    const char *why = NULL;
    if (atomic_load(&srv->draining))
        why = "draining";
    else if (!atomic_load(&srv->ready))
        why = "starting";
    else if (srv->sink->ready && !srv->sink->ready(srv->sink))
        why = "sink not ready";
    char body[96];
    int n;
    if (why) {
        n = snprintf(body, sizeof(body), "{\"status\":\"not ready\",\"reason\":\"%s\"}\n", why);
        http_resp_header(req, "Retry-After", "1");
        http_respond(req, 503, "application/json", body, (size_t)n);
    } else {
        n = snprintf(body, sizeof(body), "{\"status\":\"ready\"}\n");
        http_respond(req, 200, "application/json", body, (size_t)n);
    }
}

static void api_metrics(http_req_t *req, void *ud)
{
    buf_t b;
    buf_init(&b, 64u << 20);
    if (metrics_render(&b) != 0) {
        http_respond(req, 500, "text/plain", "cannot render metrics\n", 22);
    } else {
        http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    }
    buf_free(&b);
}

/* The HTTP ceiling benchmark's no-op route: the body is read, then dropped. */
static void api_discard(http_req_t *req, void *ud)
{
    http_respond(req, 204, NULL, NULL, 0);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static int server_mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp))
        return ORASI_EINVAL;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return orasi_err_from_errno(errno);
            tmp[i] = c;
        }
    }
    return 0;
}

/* SIGHUP: re-read the file; apply what can change live, report the rest. */
static void server_reload(const settings_t *cur, const struct server_opts *o)
{
    char err[1024];
    settings_t n;
    if (!o->config_path) {
        LOG_I("server", "SIGHUP: no configuration file to reload");
        return;
    }
    if (settings_load(o->config_path, &n, err, sizeof(err)) != 0) {
        log_msg(LOG_ERROR, "server", NULL, "reload failed, keeping the running configuration: %s",
                err);
        return;
    }
    if (!o->log_level_forced && n.log_level != (int)log_get_level()) {
        log_set_level((enum log_level)n.log_level);
        LOG_I("server", "reload: log_level changed");
    }
#define RESTART_IF(cond, what)                                                                     \
    if (cond)                                                                                      \
    LOG_W("server", "reload: %s changed; it takes effect after a restart", what)
    RESTART_IF(strcmp(n.data_dir, cur->data_dir) != 0, "data_dir");
    RESTART_IF(strcmp(n.otlp.listen, cur->otlp.listen) != 0, "receivers.otlp.listen");
    RESTART_IF(n.otlp.grpc_port != cur->otlp.grpc_port, "receivers.otlp.grpc_port");
    RESTART_IF(n.otlp.http_port != cur->otlp.http_port, "receivers.otlp.http_port");
    RESTART_IF(strcmp(n.otlp.tenant_header, cur->otlp.tenant_header) != 0,
               "receivers.otlp.tenant_header");
    RESTART_IF(strcmp(n.api.listen, cur->api.listen) != 0 || n.api.port != cur->api.port,
               "api.listen/api.port");
    RESTART_IF(memcmp(&n.http, &cur->http, sizeof(n.http)) != 0, "http.*");
    RESTART_IF(n.shutdown_timeout != cur->shutdown_timeout, "shutdown_timeout");
#undef RESTART_IF
    LOG_I("server", "configuration reloaded from %s", o->config_path);
    settings_free(&n);
}

int server_run(const settings_t *s, const struct server_opts *o)
{
    struct server srv = {.s = s};
    http_server_t *hs = NULL;
    http_router_t *r_grpc = NULL, *r_http = NULL, *r_api = NULL;
    recv_otlp_t *recv = NULL;
    sql_engine_t *sql = NULL;
    sql_http_t *sqlh = NULL;
    sigset_t sigs;
    int rc = 0;
    char fields[256];

    log_set_level((enum log_level)s->log_level);
    /* Block the lifecycle signals in every thread; the main thread takes them below. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = server_mkdir_p(s->data_dir);
    if (rc) {
        LOG_E("server", "cannot create data directory %s: %s", s->data_dir, strerror(errno));
        goto out;
    }
    procstat_register(ORASI_VERSION);

    if (o->role != ROLES_RUN) {
        char serr[1024];
        srv.sink = roles_create_sink(o->role, s->roles, &s->lake, s->data_dir, serr, sizeof(serr));
        if (!srv.sink) {
            LOG_E("server", "orasi %s: %s", roles_name(o->role), serr);
            rc = ORASI_ECONFIG;
            goto out;
        }
    } else if (s->sink == SETTINGS_SINK_COUNT) {
        srv.sink = sink_count_create();
    } else {
        char lerr[512];
        struct lake_options lo = s->lake;
        lo.data_dir = s->data_dir;
        srv.sink = sink_lake_create(&lo, lerr, sizeof(lerr));
        if (!srv.sink) {
            LOG_E("server", "cannot open the lake in %s: %s", s->data_dir, lerr);
            rc = ORASI_EIO;
            goto out;
        }
    }
    http_server_config_t hc;
    http_server_config_default(&hc);
    hc.workers = (int)s->http.workers;
    hc.max_body_bytes = s->http.max_body_size;
    hc.max_decoded_bytes = s->http.max_decoded_size;
    hc.max_header_bytes = s->http.max_header_size;
    hc.idle_timeout_ns = s->http.idle_timeout;
    hc.header_timeout_ns = s->http.header_timeout;
    hc.body_timeout_ns = s->http.body_timeout;
    hc.max_connections = (int)s->http.max_connections;
    hc.max_grpc_message_bytes = s->otlp.max_grpc_message_size;
    hs = http_server_create(&hc);
    r_grpc = http_router_create();
    r_http = http_router_create();
    r_api = http_router_create();
    if (!srv.sink || !hs || !r_grpc || !r_http || !r_api) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    recv = recv_otlp_create(&s->otlp, &s->http, srv.sink);
    if (!recv) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    /* 4317 speaks gRPC; 4318 speaks OTLP/HTTP and gRPC too (as Fluent Bit does); the API
     * port serves health, readiness and metrics. */
    if ((rc = recv_otlp_register_grpc(recv, r_grpc)) || (rc = recv_otlp_register_http(recv, r_http)) ||
        (rc = recv_otlp_register_grpc(recv, r_http)) ||
        (rc = http_route(r_api, "GET", "/health", api_health, &srv)) ||
        (rc = http_route(r_api, "GET", "/ready", api_ready, &srv)) ||
        (rc = http_route(r_api, "GET", "/metrics", api_metrics, &srv)) ||
        (o->bench_routes && (rc = http_route(r_api, "POST", "/bench/discard", api_discard, &srv))))
        goto out;

    /* SQL over the lake (POST /v1/query) when the sink keeps a lake (run, bridge). */
    struct lake *lk = o->role == ROLES_BRIDGE ? roles_bridge_lake(srv.sink) : sink_lake_lake(srv.sink);
    if (lk) {
        char serr[512];
        rc = sql_engine_create(&s->query, lk, &sql, serr, sizeof(serr));
        if (rc) {
            LOG_E("server", "%s", serr);
            goto out;
        }
        if ((rc = sql_http_create(sql, s->otlp.tenant_header, &sqlh)) ||
            (rc = sql_http_register(sqlh, r_api)))
            goto out;
    }

    int p_grpc = http_server_listen(hs, s->otlp.listen, (int)s->otlp.grpc_port, r_grpc);
    int p_http = p_grpc < 0 ? p_grpc : http_server_listen(hs, s->otlp.listen, (int)s->otlp.http_port, r_http);
    int p_api = p_http < 0 ? p_http : http_server_listen(hs, s->api.listen, (int)s->api.port, r_api);
    if (p_grpc < 0 || p_http < 0 || p_api < 0) {
        rc = p_grpc < 0 ? p_grpc : p_http < 0 ? p_http : p_api;
        LOG_E("server", "cannot listen (otlp %s grpc %lld http %lld, api %s %lld): %s",
              s->otlp.listen, (long long)s->otlp.grpc_port, (long long)s->otlp.http_port,
              s->api.listen, (long long)s->api.port, orasi_strerror(rc));
        goto out;
    }
    rc = http_server_start(hs);
    if (rc)
        goto out;
    atomic_store(&srv.ready, 1);
    snprintf(fields, sizeof(fields),
             "\"otlp_grpc_port\":%d,\"otlp_http_port\":%d,\"api_port\":%d,\"workers\":%lld,"
             "\"role\":\"%s\"", p_grpc,
             p_http, p_api, (long long)s->http.workers, roles_name(o->role));
    log_msg(LOG_INFO, "server", fields, "orasi %s ready (data in %s)", ORASI_VERSION, s->data_dir);

    for (;;) {
        siginfo_t si;
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(&sigs, &si, &ts);
        if (sig < 0)
            continue; /* timeout or EINTR */
        if (sig == SIGHUP) {
            server_reload(s, o);
            continue;
        }
        break; /* SIGTERM / SIGINT */
    }

    /* Drain: not ready, stop accepting, finish in-flight work, flush, exit. */
    uint64_t deadline = clock_mono_ns() + s->shutdown_timeout;
    atomic_store(&srv.draining, 1);
    LOG_I("server", "draining: no longer ready, closing listeners");
    http_server_stop_accepting(hs);
    rc = http_server_drain(hs, deadline);
    if (rc)
        LOG_W("server", "drain deadline passed with %zu requests in flight",
              http_server_inflight(hs));
    sql_http_shutdown(sqlh); /* running queries are interrupted and answered */
    if (srv.sink->flush) {
        int frc = srv.sink->flush(srv.sink, deadline);
        if (frc) {
            LOG_E("server", "flush failed: %s", orasi_strerror(frc));
            rc = frc;
        }
    }
    LOG_I("server", "stopped");
out:
    sql_http_destroy(sqlh); /* before the loops go: it posts its last answers to them */
    if (hs)
        http_server_destroy(hs);
    if (recv)
        recv_otlp_destroy(recv);
    http_router_destroy(r_grpc);
    http_router_destroy(r_http);
    http_router_destroy(r_api);
    sql_engine_destroy(sql);
    if (srv.sink)
        srv.sink->destroy(srv.sink);
    return rc;
}
