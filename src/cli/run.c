/* run.c — `orasi run` and `orasi config check`: argument parsing only; the work is in
 * src/server/server.c. */
#include "cli/cli.h"
#include "core/alloc.h"
#include "core/log.h"
#include "server/roles.h"
#include "server/server.h"
#include "server/settings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *flag, const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 0 || n > 65535) {
        fprintf(stderr, "orasi run: %s: '%s' is not a port number (0-65535)\n", flag, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int replace_str(char **dst, const char *v)
{
    char *d = orasi_strdup(v);
    if (!d)
        return -1;
    orasi_free(*dst);
    *dst = d;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    const char *config = NULL, *data_dir = NULL, *listen = NULL, *level = NULL;
    const char *ports[3] = {NULL, NULL, NULL};
    const char *workers = NULL, *sink = NULL;
    struct server_opts opts = {0};
    char err[1024];
    settings_t s;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_usage_of(argv[0], stdout);
            return 0;
        } else if (strcmp(a, "--bench-routes") == 0) {
            opts.bench_routes = 1;
            continue;
        } else if (strcmp(a, "--config") == 0) {
            slot = &config;
        } else if (strcmp(a, "--data-dir") == 0) {
            slot = &data_dir;
        } else if (strcmp(a, "--listen") == 0) {
            slot = &listen;
        } else if (strcmp(a, "--otlp-grpc-port") == 0) {
            slot = &ports[0];
        } else if (strcmp(a, "--otlp-http-port") == 0) {
            slot = &ports[1];
        } else if (strcmp(a, "--api-port") == 0) {
            slot = &ports[2];
        } else if (strcmp(a, "--sink") == 0) {
            slot = &sink;
        } else if (strcmp(a, "--workers") == 0) {
            slot = &workers;
        } else if (strcmp(a, "--log-level") == 0) {
            slot = &level;
        } else {
            fprintf(stderr, "orasi run: unknown option '%s'\n", a);
            cli_usage_of("run", stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "orasi run: %s needs a value\n", a);
            return 2;
        }
        *slot = argv[++i];
    }

    rc = settings_load(config, &s, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if ((data_dir && replace_str(&s.data_dir, data_dir)) ||
        (listen && (replace_str(&s.otlp.listen, listen) || replace_str(&s.api.listen, listen))) ||
        (ports[0] && parse_port("--otlp-grpc-port", ports[0], &s.otlp.grpc_port)) ||
        (ports[1] && parse_port("--otlp-http-port", ports[1], &s.otlp.http_port)) ||
        (ports[2] && parse_port("--api-port", ports[2], &s.api.port))) {
        settings_free(&s);
        return 2;
    }
    if (workers) {
        long n = strtol(workers, NULL, 10);
        if (n < 1 || n > 256) {
            fprintf(stderr, "orasi run: --workers: '%s' is not in 1..256\n", workers);
            settings_free(&s);
            return 2;
        }
        s.http.workers = n;
    }
    if (sink) {
        if (strcmp(sink, "lake") == 0) {
            s.sink = SETTINGS_SINK_LAKE;
        } else if (strcmp(sink, "count") == 0) {
            s.sink = SETTINGS_SINK_COUNT;
        } else {
            fprintf(stderr, "orasi run: --sink: '%s' is not one of lake|count\n", sink);
            settings_free(&s);
            return 2;
        }
    }
    if (level) {
        int l = log_level_parse(level);
        if (l < 0) {
            fprintf(stderr, "orasi run: --log-level: '%s' is not one of debug|info|warn|error\n",
                    level);
            settings_free(&s);
            return 2;
        }
        s.log_level = l;
        opts.log_level_forced = 1;
    }
    opts.config_path = config;
    /* `orasi agent|gateway|bridge` are `orasi run` with another sink (server/roles.h) */
    opts.role = strcmp(argv[0], "agent") == 0     ? ROLES_AGENT
                : strcmp(argv[0], "gateway") == 0 ? ROLES_GATEWAY
                : strcmp(argv[0], "bridge") == 0  ? ROLES_BRIDGE
                                                  : ROLES_RUN;
    rc = server_run(&s, &opts);
    settings_free(&s);
    return rc == 0 ? 0 : 1;
}

int cmd_config(int argc, char **argv)
{
    char err[1024];
    settings_t s;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_usage_of("config", stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "docs") == 0) {
        /* The reference of every option, generated from the option tables. */
        static char doc[262144];
        if (settings_doc_markdown(doc, sizeof(doc)) != 0)
            return 1;
        fputs(doc, stdout);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "check") != 0) {
        cli_usage_of("config", stderr);
        return 2;
    }
    if (settings_load(argv[2], &s, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    settings_free(&s);
    printf("%s: ok\n", argv[2]);
    return 0;
}
