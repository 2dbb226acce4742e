/*
 * server.h — a running Orasi process: listeners, receivers, sink, API, lifecycle.
 *
 * server_run() wires the components named by the settings, serves until SIGTERM/SIGINT,
 * then drains: /ready turns 503, listeners close, in-flight requests finish, the sink
 * flushes, and it returns 0 — all within settings.shutdown_timeout. SIGHUP reloads the
 * configuration file: what can change live (log level) changes, everything else is
 * reported in the log as needing a restart.
 */
#ifndef ORASI_SERVER_SERVER_H
#define ORASI_SERVER_SERVER_H

#include "server/settings.h"

struct server_opts {
    const char *config_path; /* for SIGHUP reload; NULL when none */
    int bench_routes;        /* POST /bench/discard on the API listener */
    int log_level_forced;    /* --log-level given: a reload does not change it */
    int role;                /* enum roles_role (server/roles.h); 0 = `orasi run` */
};

/* Blocks until shutdown. Borrowed settings. 0 on a clean drain, negative otherwise. */
int server_run(const settings_t *s, const struct server_opts *o);

#endif
