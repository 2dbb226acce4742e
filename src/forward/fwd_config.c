/* fwd_config.c — option tables of the `forward:` and `bridge:` sections (fwd_config.h). */
#include "forward/fwd_config.h"

#include "core/alloc.h"
#include "core/err.h"
#include "exporter/exporter.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define O(f) offsetof(fwd_config_t, f)

static const char *const sync_choices[] = {"fsync", "os", "none", NULL};
static const char *const proto_choices[] = {"http", "grpc", NULL};
static const char *const comp_choices[] = {"none", "gzip", "zstd", NULL};
static const char *const bal_traces[] = {"round_robin", "trace_id", NULL};
static const char *const bal_other[] = {"round_robin", "service", NULL};
static const char *const validate_choices[] = {"full", "framing", NULL};

static const config_option_t fwd_top_opts[] = {
    {"origin", CONFIG_STR, NULL, O(origin), 0, 0,
     "Sender id in X-Orasi-Batch, [A-Za-z0-9_.-]{1,64}, stable across restarts (default: "
     "generated once, kept in <queue.dir>/origin).",
     NULL, 0},
    {"queue", CONFIG_SECTION, NULL, 0, 0, 0, "The persistent sending queue.", NULL, 0},
    {"exporter", CONFIG_SECTION, NULL, 0, 0, 0, "How batches are sent upstream.", NULL, 0},
    {"batch", CONFIG_SECTION, NULL, 0, 0, 0, "Batching by count, bytes and age.", NULL, 0},
    {"retry", CONFIG_SECTION, NULL, 0, 0, 0, "Exponential backoff with jitter.", NULL, 0},
    {"breaker", CONFIG_SECTION, NULL, 0, 0, 0, "Circuit breaker and health checks per upstream.",
     NULL, 0},
    {"balance", CONFIG_SECTION, NULL, 0, 0, 0, "Load balancing per signal.", NULL, 0},
    {"enrich", CONFIG_SECTION, NULL, 0, 0, 0, "Resource attributes added by an agent.", NULL, 0},
    {"dead_letter_dir", CONFIG_STR, NULL, O(dead_letter_dir), 0, 0,
     "Where permanently rejected batches are written with their reason (default "
     "<data_dir>/dead-letter).",
     NULL, 0},
    {"validate", CONFIG_ENUM, "full", O(validate), 0, 0,
     "full: validate every item as the bridge will (invalid items answered with "
     "partial_success at once); framing: check only the message framing and count items, "
     "leaving item validation to the bridge (faster agents; invalid items are then only "
     "counted at the bridge).",
     validate_choices, 0},
    {"dedupe_window", CONFIG_INT, "65536", O(dedupe_window), 16, 16777216,
     "Batch ids remembered per origin to drop replays of incoming batches.", NULL, 0},
    {"upstreams", CONFIG_SECTION, NULL, 0, 0, 0,
     "Shorthand for one region named `default`: a list of {endpoint, health, name}.", NULL, 0},
    {"regions", CONFIG_SECTION, NULL, 0, 0, 0,
     "Priority groups of upstreams: [{name, priority, upstreams | dns | etcd}].", NULL, 0},
    {"residency", CONFIG_SECTION, NULL, 0, 0, 0,
     "Data residency: [{tenant | attribute + value, region}]; matching data is only ever "
     "sent to that region.",
     NULL, 0},
    {0}};

static const config_option_t fwd_queue_opts[] = {
    {"dir", CONFIG_STR, NULL, O(queue_dir), 0, 0, "Directory (default <data_dir>/queue).", NULL, 0},
    {"max_size", CONFIG_SIZE, "1GiB", O(queue_max_size), 1048576, 0,
     "Disk cap; past it the receivers answer 429/RESOURCE_EXHAUSTED.", NULL, 0},
    {"segment_size", CONFIG_SIZE, "64MiB", O(queue_segment_size), 65536, 0, "Segment file size.",
     NULL, 0},
    {"sync", CONFIG_ENUM, "fsync", O(queue_sync), 0, 0,
     "fsync: acknowledge after fdatasync; os: after write(2); none: when queued in memory.",
     sync_choices, 0},
    {"window", CONFIG_SIZE, "8MiB", O(window), 1048576, 0,
     "Queue bytes read ahead into memory for sending (in flight, waiting for retry).", NULL, 0},
    {0}};

static const config_option_t fwd_exporter_opts[] = {
    {"protocol", CONFIG_ENUM, "grpc", O(protocol), 0, 0, "OTLP transport to the upstreams.",
     proto_choices, 0},
    {"compression", CONFIG_ENUM, "zstd", O(compression), 0, 0, "Body compression.", comp_choices,
     0},
    {"timeout", CONFIG_DURATION, "5s", O(timeout), 1000000, 0,
     "Per request, from queueing to the answer.", NULL, 0},
    {"connections", CONFIG_INT, "4", O(connections), 1, 256,
     "Keep-alive connections (= requests in flight) per upstream.", NULL, 0},
    {0}};

static const config_option_t fwd_batch_opts[] = {
    {"max_items", CONFIG_INT, "8192", O(batch_max_items), 1, 10000000,
     "Send a batch once it holds this many items.", NULL, 0},
    {"max_size", CONFIG_SIZE, "2MiB", O(batch_max_size), 1024, 268435456.0,
     "Send a batch once it holds this many bytes (uncompressed).", NULL, 0},
    {"max_age", CONFIG_DURATION, "200ms", O(batch_max_age), 0, 0,
     "Send a batch at the latest this long after its first item.", NULL, 0},
    {0}};

static const config_option_t fwd_retry_opts[] = {
    {"initial", CONFIG_DURATION, "100ms", O(retry_initial), 1000000, 0,
     "First backoff; doubles per failed attempt, with jitter.", NULL, 0},
    {"max", CONFIG_DURATION, "5s", O(retry_max), 1000000, 0, "Longest backoff.", NULL, 0},
    {0}};

static const config_option_t fwd_breaker_opts[] = {
    {"failures", CONFIG_INT, "3", O(br_failures), 1, 1000,
     "Consecutive failures that open the circuit.", NULL, 0},
    {"error_rate", CONFIG_DOUBLE, "0.5", O(br_error_rate), 0.01, 1.0,
     "Failure ratio over `window` that opens the circuit.", NULL, 0},
    {"min_requests", CONFIG_INT, "20", O(br_min_requests), 1, 1000000,
     "Requests in the window before error_rate applies.", NULL, 0},
    {"window", CONFIG_DURATION, "10s", O(br_window), 1000000, 0, "Error-rate window.", NULL, 0},
    {"open_for", CONFIG_DURATION, "1s", O(br_open_for), 1000000, 0,
     "How long an open circuit refuses traffic before a probe.", NULL, 0},
    {"health_interval", CONFIG_DURATION, "250ms", O(br_health_interval), 10000000, 0,
     "Active health checks (GET of the upstream's health URL) period.", NULL, 0},
    {"health_timeout", CONFIG_DURATION, "500ms", O(br_health_timeout), 1000000, 0,
     "A health check slower than this fails.", NULL, 0},
    {"health_failures", CONFIG_INT, "2", O(br_health_failures), 1, 1000,
     "Consecutive failed health checks that open the circuit.", NULL, 0},
    {0}};

static const config_option_t fwd_balance_opts[] = {
    {"traces", CONFIG_ENUM, "round_robin", O(balance[0]), 0, 0,
     "trace_id: consistent hashing with bounded load by trace id (every span of a trace to "
     "the same upstream while membership is stable); round_robin: whole batches.",
     bal_traces, 0},
    {"metrics", CONFIG_ENUM, "round_robin", O(balance[1]), 0, 0,
     "service: consistent hashing by service.name; round_robin.", bal_other, 0},
    {"logs", CONFIG_ENUM, "round_robin", O(balance[2]), 0, 0,
     "service: consistent hashing by service.name; round_robin.", bal_other, 0},
    {"bounded_load", CONFIG_DOUBLE, "1.25", O(bounded_load), 1.0, 10.0,
     "No upstream takes more than this times the average share (consistent hashing).", NULL, 0},
    {0}};

static const config_option_t fwd_enrich_opts[] = {
    {"host", CONFIG_BOOL, "false", O(enrich_host), 0, 0, "Add host.name.", NULL, 0},
    {"k8s", CONFIG_BOOL, "false", O(enrich_k8s), 0, 0,
     "Add k8s.node.name, k8s.pod.name, k8s.namespace.name, k8s.pod.uid from the downward-API "
     "variables K8S_NODE_NAME, K8S_POD_NAME, K8S_POD_NAMESPACE, K8S_POD_UID when set.",
     NULL, 0},
    {0}};

#define OU(f) offsetof(struct fwd_upstream_cfg, f)
static const config_option_t fwd_upstream_opts[] = {
    {"endpoint", CONFIG_STR, NULL, OU(endpoint), 0, 0,
     "OTLP endpoint, http://host:port (gRPC or HTTP per exporter.protocol).", NULL, 1},
    {"health", CONFIG_STR, NULL, OU(health), 0, 0,
     "Health URL polled for the circuit breaker (e.g. http://host:8080/ready); none: passive "
     "checks only.",
     NULL, 0},
    {"name", CONFIG_STR, NULL, OU(name), 0, 0, "Name in metrics and logs (default: endpoint).",
     NULL, 0},
    {0}};

#define OR(f) offsetof(struct fwd_region_cfg, f)
static const config_option_t fwd_region_opts[] = {
    {"name", CONFIG_STR, NULL, OR(name), 0, 0, "Region name (residency rules refer to it).", NULL,
     1},
    {"priority", CONFIG_INT, "0", OR(priority), 0, 1000000,
     "Lower is preferred; data goes to the best region that has a healthy upstream.", NULL, 0},
    {"upstreams", CONFIG_SECTION, NULL, 0, 0, 0, "Static list of {endpoint, health, name}.", NULL,
     0},
    {"dns", CONFIG_SECTION, NULL, 0, 0, 0,
     "Members from DNS A/AAAA records, re-resolved (a Kubernetes headless service).", NULL, 0},
    {"etcd", CONFIG_SECTION, NULL, 0, 0, 0,
     "Members from an etcd key prefix (v3 JSON gateway), watched.", NULL, 0},
    {0}};

#define OD(f) offsetof(struct fwd_dns_cfg, f)
static const config_option_t fwd_dns_opts[] = {
    {"name", CONFIG_STR, NULL, OD(name), 0, 0, "Host name to resolve.", NULL, 1},
    {"port", CONFIG_INT, "4317", OD(port), 1, 65535, "OTLP port of every address.", NULL, 0},
    {"health_port", CONFIG_INT, "0", OD(health_port), 0, 65535,
     "Port of the health URL (0: passive checks only).", NULL, 0},
    {"health_path", CONFIG_STR, "/ready", OD(health_path), 0, 0, "Path of the health URL.", NULL,
     0},
    {"refresh", CONFIG_DURATION, "5s", OD(refresh), 100000000, 0, "Re-resolve period.", NULL, 0},
    {0}};

#define OE(f) offsetof(struct fwd_etcd_cfg, f)
static const config_option_t fwd_etcd_opts[] = {
    {"endpoints", CONFIG_STRLIST, NULL, OE(endpoints), 0, 0, "etcd client URLs (http://host:2379).",
     NULL, 1},
    {"prefix", CONFIG_STR, NULL, OE(prefix), 0, 0,
     "Key prefix; each key's value is JSON {\"endpoint\": ..., \"health\": ...}.", NULL, 1},
    {"refresh", CONFIG_DURATION, "10s", OE(refresh), 100000000, 0,
     "Full re-read period besides the watch.", NULL, 0},
    {0}};

#define OS(f) offsetof(struct fwd_residency_cfg, f)
static const config_option_t fwd_residency_opts[] = {
    {"tenant", CONFIG_STR, NULL, OS(tenant), 0, 0, "Tenant pinned to the region.", NULL, 0},
    {"attribute", CONFIG_STR, NULL, OS(attribute), 0, 0,
     "Resource attribute key (with `value`) that pins a resource.", NULL, 0},
    {"value", CONFIG_STR, NULL, OS(value), 0, 0, "Resource attribute value.", NULL, 0},
    {"region", CONFIG_STR, NULL, OS(region), 0, 0, "The only region the data may go to.", NULL, 1},
    {0}};

#define OB(f) offsetof(fwd_bridge_config_t, f)
static const config_option_t bridge_opts[] = {
    {"dedupe_window", CONFIG_INT, "65536", OB(dedupe_window), 16, 16777216,
     "Batch ids remembered per origin (idempotent batches).", NULL, 0},
    {"register", CONFIG_SECTION, NULL, 0, 0, 0,
     "Register this bridge in etcd under a lease so gateways find it.", NULL, 0},
    {0}};

static const config_option_t bridge_register_opts[] = {
    {"etcd", CONFIG_STRLIST, NULL, OB(reg_etcd), 0, 0, "etcd client URLs.", NULL, 1},
    {"prefix", CONFIG_STR, NULL, OB(reg_prefix), 0, 0, "Key prefix the gateways watch.", NULL, 1},
    {"name", CONFIG_STR, NULL, OB(reg_name), 0, 0, "Key under the prefix.", NULL, 1},
    {"endpoint", CONFIG_STR, NULL, OB(reg_endpoint), 0, 0, "Advertised OTLP endpoint.", NULL, 1},
    {"health", CONFIG_STR, NULL, OB(reg_health), 0, 0, "Advertised health URL.", NULL, 0},
    {"ttl", CONFIG_DURATION, "3s", OB(reg_ttl), 1000000000, 0,
     "Lease TTL: the key disappears this long after the bridge dies.", NULL, 0},
    {0}};

static int cfg_err(char *err, size_t errlen, const config_doc_t *doc, const config_node_t *n,
                   const char *msg)
{
    snprintf(err, errlen, "%s:%d: %s", doc ? config_file(doc) : "(defaults)",
             n ? config_line(n) : 0, msg);
    return ORASI_ECONFIG;
}

static int cfg_upstreams(const config_doc_t *doc, const config_node_t *list, const char *prefix,
                         struct fwd_region_cfg *r, char *err, size_t errlen)
{
    if (!config_is_seq(list))
        return cfg_err(err, errlen, doc, list, "upstreams: expected a list");
    size_t n = config_len(list);
    r->upstreams = orasi_calloc(n ? n : 1, sizeof(*r->upstreams));
    if (!r->upstreams)
        return ORASI_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s.upstreams[%zu]", prefix, i);
        const config_node_t *u = config_value_at(list, i);
        struct fwd_upstream_cfg *uc = &r->upstreams[i];
        int rc;
        if (config_scalar(u)) {
            /* a bare URL */
            uc->endpoint = orasi_strdup(config_scalar(u));
            rc = uc->endpoint ? 0 : ORASI_ENOMEM;
            if (!rc)
                rc = config_bind(doc, NULL, p, fwd_upstream_opts + 1, uc, err, errlen);
        } else {
            rc = config_bind(doc, u, p, fwd_upstream_opts, uc, err, errlen);
        }
        if (rc)
            return rc;
        r->n_upstreams++;
        if (strncmp(uc->endpoint, "http://", 7) != 0)
            return cfg_err(err, errlen, doc, u, "endpoint must be an http://host:port URL");
        if (uc->health && strncmp(uc->health, "http://", 7) != 0)
            return cfg_err(err, errlen, doc, u, "health must be an http:// URL");
    }
    return 0;
}

static int cfg_region(const config_doc_t *doc, const config_node_t *node, const char *prefix,
                      struct fwd_region_cfg *r, char *err, size_t errlen)
{
    int rc = config_bind(doc, node, prefix, fwd_region_opts, r, err, errlen);
    if (rc)
        return rc;
    const config_node_t *u = config_get(node, "upstreams"), *d = config_get(node, "dns"),
                        *e = config_get(node, "etcd");
    if (u && (rc = cfg_upstreams(doc, u, prefix, r, err, errlen)))
        return rc;
    char p[160];
    if (d) {
        snprintf(p, sizeof(p), "%s.dns", prefix);
        if ((rc = config_bind(doc, d, p, fwd_dns_opts, &r->dns, err, errlen)))
            return rc;
        r->has_dns = 1;
    }
    if (e) {
        snprintf(p, sizeof(p), "%s.etcd", prefix);
        if ((rc = config_bind(doc, e, p, fwd_etcd_opts, &r->etcd, err, errlen)))
            return rc;
        r->has_etcd = 1;
        if (!r->etcd.endpoints.n)
            return cfg_err(err, errlen, doc, e, "etcd.endpoints: at least one URL");
    }
    if (!r->n_upstreams && !r->has_dns && !r->has_etcd)
        return cfg_err(err, errlen, doc, node,
                       "a region needs upstreams, dns or etcd to find its members");
    return 0;
}

int fwd_config_load(const config_doc_t *doc, const config_node_t *node, const char *data_dir,
                    fwd_config_t *out, char *err, size_t errlen)
{
    int rc;
    memset(out, 0, sizeof(*out));
    const config_node_t *sec;
#define BIND(key, opts)                                                                            \
    do {                                                                                           \
        sec = node ? config_get(node, key) : NULL;                                                 \
        if ((rc = config_bind(doc, sec, "forward." key, opts, out, err, errlen)))                  \
            goto out;                                                                              \
    } while (0)
    if ((rc = config_bind(doc, node, "forward", fwd_top_opts, out, err, errlen)))
        goto out;
    BIND("queue", fwd_queue_opts);
    BIND("exporter", fwd_exporter_opts);
    BIND("batch", fwd_batch_opts);
    BIND("retry", fwd_retry_opts);
    BIND("breaker", fwd_breaker_opts);
    BIND("balance", fwd_balance_opts);
    BIND("enrich", fwd_enrich_opts);
#undef BIND
    if (out->origin &&
        !(strlen(out->origin) <= 64 &&
          strspn(out->origin, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
                              "KLMNOPQRSTUVWXYZ0123456789_.-") == strlen(out->origin) &&
          *out->origin)) {
        rc = cfg_err(err, errlen, doc, config_get(node, "origin"),
                     "forward.origin: use 1-64 of [A-Za-z0-9_.-]");
        goto out;
    }
    char path[4096];
    if (!out->queue_dir && data_dir) {
        snprintf(path, sizeof(path), "%s/queue", data_dir);
        if (!(out->queue_dir = orasi_strdup(path))) {
            rc = ORASI_ENOMEM;
            goto out;
        }
    }
    if (!out->dead_letter_dir && data_dir) {
        snprintf(path, sizeof(path), "%s/dead-letter", data_dir);
        if (!(out->dead_letter_dir = orasi_strdup(path))) {
            rc = ORASI_ENOMEM;
            goto out;
        }
    }
    if (out->retry_max < out->retry_initial)
        out->retry_max = out->retry_initial;
    const config_node_t *ups = node ? config_get(node, "upstreams") : NULL;
    const config_node_t *regs = node ? config_get(node, "regions") : NULL;
    size_t nreg = (ups ? 1 : 0) + (regs && config_is_seq(regs) ? config_len(regs) : 0);
    if (regs && !config_is_seq(regs)) {
        rc = cfg_err(err, errlen, doc, regs, "forward.regions: expected a list");
        goto out;
    }
    if (nreg == 0) {
        rc = cfg_err(err, errlen, doc, node,
                     "forward: no upstreams (set forward.upstreams or forward.regions)");
        goto out;
    }
    out->regions = orasi_calloc(nreg, sizeof(*out->regions));
    if (!out->regions) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    if (ups) {
        struct fwd_region_cfg *r = &out->regions[out->n_regions++];
        if (!(r->name = orasi_strdup("default"))) {
            rc = ORASI_ENOMEM;
            goto out;
        }
        if ((rc = cfg_upstreams(doc, ups, "forward", r, err, errlen)))
            goto out;
        if (!r->n_upstreams) {
            rc = cfg_err(err, errlen, doc, ups, "forward.upstreams: empty list");
            goto out;
        }
    }
    for (size_t i = 0; regs && i < config_len(regs); i++) {
        char p[64];
        snprintf(p, sizeof(p), "forward.regions[%zu]", i);
        struct fwd_region_cfg *r = &out->regions[out->n_regions++];
        if ((rc = cfg_region(doc, config_value_at(regs, i), p, r, err, errlen)))
            goto out;
        for (size_t j = 0; j + 1 < out->n_regions; j++) {
            if (strcmp(out->regions[j].name, r->name) == 0) {
                rc = cfg_err(err, errlen, doc, config_value_at(regs, i),
                             "forward.regions: duplicate region name");
                goto out;
            }
        }
    }
    const config_node_t *res = node ? config_get(node, "residency") : NULL;
    if (res) {
        if (!config_is_seq(res)) {
            rc = cfg_err(err, errlen, doc, res, "forward.residency: expected a list");
            goto out;
        }
        size_t n = config_len(res);
        out->residency = orasi_calloc(n ? n : 1, sizeof(*out->residency));
        if (!out->residency) {
            rc = ORASI_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            char p[64];
            const config_node_t *rn = config_value_at(res, i);
            struct fwd_residency_cfg *rr = &out->residency[out->n_residency];
            snprintf(p, sizeof(p), "forward.residency[%zu]", i);
            if ((rc = config_bind(doc, rn, p, fwd_residency_opts, rr, err, errlen)))
                goto out;
            out->n_residency++;
            if (!rr->tenant == !rr->attribute || (!rr->attribute != !rr->value)) {
                rc = cfg_err(err, errlen, doc, rn,
                             "a residency rule names either a tenant, or an attribute and a "
                             "value");
                goto out;
            }
            int found = 0;
            for (size_t j = 0; j < out->n_regions; j++)
                found |= strcmp(out->regions[j].name, rr->region) == 0;
            if (!found) {
                rc = cfg_err(err, errlen, doc, rn, "residency: unknown region");
                goto out;
            }
        }
    }
out:
    if (rc)
        fwd_config_free(out);
    return rc;
}

void fwd_config_free(fwd_config_t *c)
{
    config_free_struct(fwd_top_opts, c);
    config_free_struct(fwd_queue_opts, c);
    config_free_struct(fwd_exporter_opts, c);
    config_free_struct(fwd_batch_opts, c);
    config_free_struct(fwd_retry_opts, c);
    config_free_struct(fwd_breaker_opts, c);
    config_free_struct(fwd_balance_opts, c);
    config_free_struct(fwd_enrich_opts, c);
    for (size_t i = 0; i < c->n_regions; i++) {
        struct fwd_region_cfg *r = &c->regions[i];
        config_free_struct(fwd_region_opts, r);
        for (size_t j = 0; j < r->n_upstreams; j++)
            config_free_struct(fwd_upstream_opts, &r->upstreams[j]);
        orasi_free(r->upstreams);
        config_free_struct(fwd_dns_opts, &r->dns);
        config_free_struct(fwd_etcd_opts, &r->etcd);
    }
    orasi_free(c->regions);
    for (size_t i = 0; i < c->n_residency; i++)
        config_free_struct(fwd_residency_opts, &c->residency[i]);
    orasi_free(c->residency);
    memset(c, 0, sizeof(*c));
}

int fwd_config_bridge_load(const config_doc_t *doc, const config_node_t *node,
                           fwd_bridge_config_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int rc = config_bind(doc, node, "bridge", bridge_opts, out, err, errlen);
    const config_node_t *reg = node ? config_get(node, "register") : NULL;
    if (!rc && reg) {
        rc = config_bind(doc, reg, "bridge.register", bridge_register_opts, out, err, errlen);
        out->has_register = rc == 0;
    }
    if (rc)
        fwd_config_bridge_free(out);
    return rc;
}

void fwd_config_bridge_free(fwd_bridge_config_t *c)
{
    config_free_struct(bridge_opts, c);
    config_free_struct(bridge_register_opts, c);
    memset(c, 0, sizeof(*c));
}

int fwd_config_doc_markdown(char *out, size_t outlen)
{
    struct {
        const char *name;
        const config_option_t *opts;
    } s[] = {{"forward", fwd_top_opts},
             {"forward.queue", fwd_queue_opts},
             {"forward.exporter", fwd_exporter_opts},
             {"forward.batch", fwd_batch_opts},
             {"forward.retry", fwd_retry_opts},
             {"forward.breaker", fwd_breaker_opts},
             {"forward.balance", fwd_balance_opts},
             {"forward.enrich", fwd_enrich_opts},
             {"forward.regions[]", fwd_region_opts},
             {"forward.regions[].upstreams[] (and forward.upstreams[])", fwd_upstream_opts},
             {"forward.regions[].dns", fwd_dns_opts},
             {"forward.regions[].etcd", fwd_etcd_opts},
             {"forward.residency[]", fwd_residency_opts},
             {"bridge", bridge_opts},
             {"bridge.register", bridge_register_opts}};
    size_t off = strlen(out);
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        int rc = config_doc_markdown(s[i].name, s[i].opts, out + off, outlen - off);
        if (rc < 0)
            return rc;
        off += strlen(out + off);
    }
    return 0;
}
