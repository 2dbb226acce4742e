/* settings.c — option tables for the process configuration (see settings.h). */
#include "server/settings.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "server/roles.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const log_levels[] = {"debug", "info", "warn", "error", "off", NULL};
static const char *const sinks[] = {"lake", "count", NULL};

static const config_option_t top_opts[] = {
    {"log_level", CONFIG_ENUM, "info", offsetof(settings_t, log_level), 0, 0,
     "Lowest level of log lines written to stderr (JSON lines).", log_levels, 0},
    {"data_dir", CONFIG_STR, "./orasi-data", offsetof(settings_t, data_dir), 0, 0,
     "Directory for the write-ahead log, the lake and the catalog.", NULL, 0},
    {"sink", CONFIG_ENUM, "lake", offsetof(settings_t, sink), 0, 0,
     "Where accepted data goes: `lake` (write-ahead log, then Parquet) or `count` (count and "
     "discard: benchmarks of the receive path).",
     sinks, 0},
    {"shutdown_timeout", CONFIG_DURATION, "30s", offsetof(settings_t, shutdown_timeout), 0, 0,
     "On SIGTERM/SIGINT: how long to wait for in-flight requests and flushes before exiting.",
     NULL, 0},
    {"http", CONFIG_SECTION, NULL, 0, 0, 0, "HTTP server limits shared by every listener.", NULL,
     0},
    {"receivers", CONFIG_SECTION, NULL, 0, 0, 0, "Receivers (receivers.otlp).", NULL, 0},
    {"api", CONFIG_SECTION, NULL, 0, 0, 0, "The API listener (health, readiness, metrics, query).",
     NULL, 0},
    {"lake", CONFIG_SECTION, NULL, 0, 0, 0,
     "The Parquet lake: write-ahead log, flushing, retention, compaction.", NULL, 0},
    {"forward", CONFIG_SECTION, NULL, 0, 0, 0,
     "Agents and gateways: the sending queue and the upstreams (forward.* below).", NULL, 0},
    {"bridge", CONFIG_SECTION, NULL, 0, 0, 0,
     "Bridges: idempotent batches, etcd registration (bridge.* below).", NULL, 0},
    {"query", CONFIG_SECTION, NULL, 0, 0, 0,
     "The SQL engine behind POST /v1/query (limits of the sandbox).", NULL, 0},
    {0}};

static const config_option_t http_opts[] = {
    {"workers", CONFIG_INT, "1", offsetof(struct settings_http, workers), 1, 256,
     "Worker threads, each with its own event loop and SO_REUSEPORT listeners.", NULL, 0},
    {"max_body_size", CONFIG_SIZE, "20MiB", offsetof(struct settings_http, max_body_size), 1,
     4294967296.0, "Largest request body accepted on the wire (413 above it).", NULL, 0},
    {"max_decoded_size", CONFIG_SIZE, "64MiB", offsetof(struct settings_http, max_decoded_size),
     1, 4294967296.0, "Largest body after gzip/zstd decoding (413 above it).", NULL, 0},
    {"max_header_size", CONFIG_SIZE, "64KiB", offsetof(struct settings_http, max_header_size),
     1024, 16777216, "Largest request head (request line plus headers; 431 above it).", NULL, 0},
    {"idle_timeout", CONFIG_DURATION, "60s", offsetof(struct settings_http, idle_timeout), 0, 0,
     "Keep-alive connections idle this long are closed.", NULL, 0},
    {"header_timeout", CONFIG_DURATION, "10s", offsetof(struct settings_http, header_timeout), 0,
     0, "A client must send a complete request head within this time.", NULL, 0},
    {"body_timeout", CONFIG_DURATION, "30s", offsetof(struct settings_http, body_timeout), 0, 0,
     "A client must send a complete body within this time.", NULL, 0},
    {"max_connections", CONFIG_INT, "10000", offsetof(struct settings_http, max_connections), 1,
     1000000, "Open connections per worker; more are refused.", NULL, 0},
    {0}};

static const config_option_t otlp_opts[] = {
    {"listen", CONFIG_STR, "0.0.0.0", offsetof(struct settings_otlp, listen), 0, 0,
     "Address the OTLP receivers bind to.", NULL, 0},
    {"grpc_port", CONFIG_INT, "4317", offsetof(struct settings_otlp, grpc_port), 0, 65535,
     "OTLP/gRPC port (0 = any free port).", NULL, 0},
    {"http_port", CONFIG_INT, "4318", offsetof(struct settings_otlp, http_port), 0, 65535,
     "OTLP/HTTP port, also serving OTLP/gRPC and Prometheus remote write (0 = any free port).",
     NULL, 0},
    {"tenant_header", CONFIG_STR, "X-Scope-OrgID", offsetof(struct settings_otlp, tenant_header),
     0, 0, "Request header naming the tenant; absent means tenant `default`.", NULL, 0},
    {"max_grpc_message_size", CONFIG_SIZE, "20MiB",
     offsetof(struct settings_otlp, max_grpc_message_size), 1, 4294967296.0,
     "Largest gRPC message (RESOURCE_EXHAUSTED above it).", NULL, 0},
    {0}};

static const config_option_t api_opts[] = {
    {"listen", CONFIG_STR, "0.0.0.0", offsetof(struct settings_api, listen), 0, 0,
     "Address the API listener binds to.", NULL, 0},
    {"port", CONFIG_INT, "8080", offsetof(struct settings_api, port), 0, 65535,
     "API port: /health, /ready, /metrics, /v1/query (0 = any free port).", NULL, 0},
    {0}};

int settings_load(const char *path, settings_t *out, char *err, size_t errlen)
{
    int rc = ORASI_OK;
    config_doc_t *doc = NULL;
    const config_node_t *root = NULL, *recv = NULL;
    static const char *const recv_keys[] = {"otlp", NULL};

    memset(out, 0, sizeof(*out));
    if (path) {
        doc = config_load_file(path, err, errlen);
        if (!doc)
            return ORASI_ECONFIG;
        root = config_root(doc);
        if (root && !config_is_map(root)) {
            snprintf(err, errlen, "%s:%d: the top level must be a map of options", path,
                     config_line(root));
            rc = ORASI_ECONFIG;
            goto out;
        }
    }
    rc = config_bind(doc, root, "", top_opts, out, err, errlen);
    if (rc)
        goto out;
    rc = config_bind(doc, root ? config_get(root, "http") : NULL, "http", http_opts, &out->http,
                     err, errlen);
    if (rc)
        goto out;
    recv = root ? config_get(root, "receivers") : NULL;
    if (recv) {
        /* receivers: only known receiver names are allowed */
        for (size_t i = 0; i < config_len(recv); i++) {
            const char *k = config_key_at(recv, i);
            int known = 0;
            for (int j = 0; recv_keys[j]; j++)
                known |= strcmp(k, recv_keys[j]) == 0;
            if (!known) {
                snprintf(err, errlen, "%s:%d: receivers.%s: unknown receiver (known: otlp)",
                         path, config_line(config_value_at(recv, i)), k);
                rc = ORASI_ECONFIG;
                goto out;
            }
        }
    }
    rc = config_bind(doc, recv ? config_get(recv, "otlp") : NULL, "receivers.otlp", otlp_opts,
                     &out->otlp, err, errlen);
    if (rc)
        goto out;
    rc = config_bind(doc, root ? config_get(root, "api") : NULL, "api", api_opts, &out->api, err,
                     errlen);
    if (rc)
        goto out;
    rc = config_bind(doc, root ? config_get(root, "query") : NULL, "query", sql_config_options,
                     &out->query, err, errlen);
    if (rc)
        goto out;
    rc = config_bind(doc, root ? config_get(root, "lake") : NULL, "lake", lake_config_options,
                     &out->lake, err, errlen);
    if (rc)
        goto out;
    rc = config_bind(doc, root ? config_get(root, "lake.s3") : NULL, "lake.s3",
                     objstore_s3_config_options, &out->lake.s3, err, errlen);
    if (rc)
        goto out;
    rc = roles_config_load(doc, root, &out->roles, err, errlen);
    if (rc)
        goto out;
    if (path) {
        out->source = orasi_strdup(path);
        if (!out->source) {
            rc = ORASI_ENOMEM;
            goto out;
        }
    }
out:
    if (rc)
        settings_free(out);
    config_doc_free(doc);
    return rc;
}

void settings_free(settings_t *s)
{
    config_free_struct(top_opts, s);
    config_free_struct(http_opts, &s->http);
    config_free_struct(otlp_opts, &s->otlp);
    config_free_struct(api_opts, &s->api);
    config_free_struct(lake_config_options, &s->lake);
    config_free_struct(objstore_s3_config_options, &s->lake.s3);
    roles_config_free(s->roles);
    s->roles = NULL;
    config_free_struct(sql_config_options, &s->query);
    orasi_free(s->source);
    s->source = NULL;
}

int settings_doc_markdown(char *out, size_t outlen)
{
    size_t off = 0;
    struct {
        const char *name;
        const config_option_t *opts;
    } sections[] = {{"(top level)", top_opts},
                    {"http", http_opts},
                    {"receivers.otlp", otlp_opts},
                    {"api", api_opts},
                    {"query", sql_config_options},
                    {"lake", lake_config_options},
                    {"lake.s3", objstore_s3_config_options}};
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        int rc = config_doc_markdown(sections[i].name, sections[i].opts, out + off, outlen - off);
        if (rc < 0)
            return rc;
        off += strlen(out + off);
    }
    return roles_doc_markdown(out + off, outlen - off);
}
