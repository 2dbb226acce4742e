/*
 * settings.h — the configuration of a running Orasi process (`orasi run` and the roles).
 *
 * One struct per component, each bound from its YAML section by an option table
 * (config.h), so defaults, validation, `orasi config check` and docs/configuration.md all
 * come from the same tables. Layout of the file:
 *
 *   log_level: info              # debug|info|warn|error
 *   data_dir: ./orasi-data
 *   sink: lake                   # lake | count
 *   shutdown_timeout: 30s
 *   http:      {workers, max_body_size, max_decoded_size, max_header_size, idle_timeout,
 *               header_timeout, body_timeout, max_connections}
 *   receivers:
 *     otlp:    {listen, grpc_port, http_port, tenant_header, max_grpc_message_size}
 *   api:       {listen, port}
 *   lake:      {flush_interval, flush_rows, retention_*, compaction, wal_sync, ...}
 *   query:     {timeout, max_rows, memory_limit, threads, max_concurrent,
 *               slow_query_threshold, ...}  (sql_config_options, src/sql/sql.h)
 */
#ifndef ORASI_SERVER_SETTINGS_H
#define ORASI_SERVER_SETTINGS_H

#include "core/config.h"
#include "lake/lake.h"
#include "sql/sql.h"

#include <stdint.h>

struct settings_http {
    int64_t workers;
    uint64_t max_body_size;
    uint64_t max_decoded_size;
    uint64_t max_header_size;
    uint64_t idle_timeout;
    uint64_t header_timeout;
    uint64_t body_timeout;
    int64_t max_connections;
};

struct settings_otlp {
    char *listen;
    int64_t grpc_port;
    int64_t http_port;
    char *tenant_header;
    uint64_t max_grpc_message_size;
};

struct settings_api {
    char *listen;
    int64_t port;
};

enum settings_sink { SETTINGS_SINK_LAKE = 0, SETTINGS_SINK_COUNT = 1 };

typedef struct settings {
    int log_level; /* enum log_level */
    char *data_dir;
    int sink; /* enum settings_sink */
    uint64_t shutdown_timeout;
    struct settings_http http;
    struct settings_otlp otlp;
    struct settings_api api;
    struct sql_options query;
    struct lake_options lake; /* the `lake:` section (lake_config_options) */
    /* forward: and bridge: sections of the roles (server/roles.h); never NULL after a
     * successful settings_load */
    struct roles_cfg *roles;
    char *source; /* file it came from, or NULL for defaults */
} settings_t;

/* Load from `path` (NULL: defaults only). 0, or ORASI_ECONFIG with "file:line: message"
 * in err. On success the caller owns *out's strings: release with settings_free(). */
int settings_load(const char *path, settings_t *out, char *err, size_t errlen);
void settings_free(settings_t *s);
/* Markdown reference of every option (docs/configuration.md is generated from this). */
int settings_doc_markdown(char *out, size_t outlen);

#endif
