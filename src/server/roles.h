/*
 * roles.h — the roles of one binary (DESIGN.md "Roles"): which sink the receivers feed.
 *
 *   run      receivers -> counting sink (the all-in-one lake wiring lives in server.c)
 *   agent    receivers -> forwarder (persistent queue, enrichment, batching) -> gateways
 *   gateway  receivers -> forwarder (dedupe of agents' batches, split by trace id,
 *            regions, residency) -> bridges
 *   bridge   receivers -> lake sink (WAL -> Parquet) with idempotent batches (dedupe of
 *            forwarded batch ids, atomic with the WAL), optional etcd registration
 *
 * The role-specific sections of the configuration file (`forward:`, `bridge:`) are bound
 * here so that `orasi config check` validates every role's file; the bridge's lake is the
 * `lake:` section of the settings, as for `orasi run`.
 */
#ifndef ORASI_SERVER_ROLES_H
#define ORASI_SERVER_ROLES_H

#include "core/config.h"
#include "forward/fwd_config.h"
#include "pipeline/sink.h"

#include <stddef.h>

enum roles_role { ROLES_RUN = 0, ROLES_AGENT, ROLES_GATEWAY, ROLES_BRIDGE };

struct roles_cfg {
    int has_forward;
    fwd_config_t fwd;
    fwd_bridge_config_t bridge;
};

/* Bind forward/bridge sections of `root` (may be NULL). Caller frees with
 * roles_config_free. 0 or ORASI_ECONFIG with "file:line: message" in err. */
int roles_config_load(const config_doc_t *doc, const config_node_t *root, struct roles_cfg **out,
                      char *err, size_t errlen);
void roles_config_free(struct roles_cfg *r);
int roles_doc_markdown(char *out, size_t outlen);
const char *roles_name(int role);

struct lake_options;
/* The sink of a role (not ROLES_RUN). `r` and `lake` (from the settings) must outlive the
 * sink; default directories are placed under data_dir. NULL with a message in err. */
sink_t *roles_create_sink(int role, struct roles_cfg *r, const struct lake_options *lake,
                          const char *data_dir, char *err, size_t errlen);

/* The lake behind a bridge's sink (for the SQL API); NULL for other sinks. */
struct lake *roles_bridge_lake(sink_t *s);

#endif
