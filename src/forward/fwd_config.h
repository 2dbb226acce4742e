/*
 * fwd_config.h — configuration of a forwarder (`forward:` section of an agent or a
 * gateway) and of a bridge (`bridge:` section), with option tables for validation and
 * docs. See docs/deployment.md for the meaning in context and examples/ for files.
 *
 *   forward:
 *     origin: agent-1                  # id in X-Orasi-Batch (default: generated once and
 *                                      # kept in <queue.dir>/origin)
 *     queue:    {dir, max_size, segment_size, sync: fsync|os|none, window}
 *     exporter: {protocol: grpc|http, compression: none|gzip|zstd, timeout, connections}
 *     batch:    {max_items, max_size, max_age}
 *     retry:    {initial, max}
 *     breaker:  {failures, error_rate, min_requests, window, open_for, health_interval,
 *                health_timeout, health_failures}
 *     balance:  {traces: trace_id|round_robin, metrics: service|round_robin,
 *                logs: service|round_robin, bounded_load: 1.25}
 *     enrich:   {host: bool, k8s: bool}
 *     dead_letter_dir, dedupe_window
 *     upstreams: [{endpoint, health, name}]        # shorthand: one region "default"
 *     regions:
 *       - {name, priority, upstreams: [...], dns: {name, port, health_port, health_path,
 *          refresh}, etcd: {endpoints: [...], prefix, refresh}}
 *     residency:
 *       - {tenant: acme, region: eu}
 *       - {attribute: cloud.region, value: eu-west-1, region: eu}
 *
 *   bridge:
 *     dedupe_window: 65536
 *     register: {etcd: [...], prefix, name, endpoint, health, ttl}
 */
#ifndef ORASI_FORWARD_FWD_CONFIG_H
#define ORASI_FORWARD_FWD_CONFIG_H

#include "core/config.h"

#include <stddef.h>
#include <stdint.h>

struct fwd_upstream_cfg {
    char *name;
    char *endpoint;
    char *health;
};

struct fwd_dns_cfg {
    char *name;
    int64_t port, health_port;
    char *health_path;
    uint64_t refresh;
};

struct fwd_etcd_cfg {
    struct config_strlist endpoints;
    char *prefix;
    uint64_t refresh;
};

struct fwd_region_cfg {
    char *name;
    int64_t priority;
    struct fwd_upstream_cfg *upstreams;
    size_t n_upstreams;
    int has_dns, has_etcd;
    struct fwd_dns_cfg dns;
    struct fwd_etcd_cfg etcd;
};

struct fwd_residency_cfg {
    char *tenant;
    char *attribute;
    char *value;
    char *region;
};

enum fwd_balance { FWD_BALANCE_ROUND_ROBIN = 0, FWD_BALANCE_KEY = 1 };

typedef struct fwd_config {
    char *origin;
    /* queue */
    char *queue_dir;
    uint64_t queue_max_size, queue_segment_size, window;
    int queue_sync; /* 0 fsync, 1 os, 2 none */
    /* exporter */
    int protocol, compression;
    uint64_t timeout;
    int64_t connections;
    /* batch */
    int64_t batch_max_items;
    uint64_t batch_max_size, batch_max_age;
    /* retry */
    uint64_t retry_initial, retry_max;
    /* breaker */
    int64_t br_failures, br_min_requests, br_health_failures;
    double br_error_rate;
    uint64_t br_window, br_open_for, br_health_interval, br_health_timeout;
    /* balance */
    int balance[3];
    double bounded_load;
    /* enrich */
    int enrich_host, enrich_k8s;
    int validate; /* 0 full (otlp_pb_scan), 1 framing (split_count) */
    char *dead_letter_dir;
    int64_t dedupe_window;
    struct fwd_region_cfg *regions;
    size_t n_regions;
    struct fwd_residency_cfg *residency;
    size_t n_residency;
} fwd_config_t;

typedef struct fwd_bridge_config {
    int64_t dedupe_window;
    int has_register;
    struct config_strlist reg_etcd;
    char *reg_prefix, *reg_name, *reg_endpoint, *reg_health;
    uint64_t reg_ttl;
} fwd_bridge_config_t;

/* Bind the `forward:` section (node may be NULL: defaults, but then there is no upstream
 * and the result is ORASI_ECONFIG with "forward: no upstreams"). `data_dir` (may be NULL:
 * left unset) fills the default queue and dead-letter directories. 0 or ORASI_ECONFIG /
 * ORASI_ENOMEM with "file:line: message" in err; on failure nothing stays allocated. */
int fwd_config_load(const config_doc_t *doc, const config_node_t *node, const char *data_dir,
                    fwd_config_t *out, char *err, size_t errlen);
void fwd_config_free(fwd_config_t *c);

int fwd_config_bridge_load(const config_doc_t *doc, const config_node_t *node,
                           fwd_bridge_config_t *out, char *err, size_t errlen);
void fwd_config_bridge_free(fwd_bridge_config_t *c);

/* Markdown reference of the forward and bridge options (appended to out). */
int fwd_config_doc_markdown(char *out, size_t outlen);

#endif
