/*
 * members.h — dynamic upstream membership for the forwarder, and self-registration of
 * bridges.
 *
 * DNS: every `refresh`, resolve the name (A and AAAA: what a Kubernetes headless service
 * returns, one record per ready pod); each address becomes a member "ip:port" with
 * endpoint http://ip:port and, when health_port is set, health http://ip:health_port/path.
 *
 * etcd (v3 JSON gateway over libcurl): read every key under the prefix (/v3/kv/range);
 * each value is JSON {"endpoint": "http://...", "health": "http://..."} and the member is
 * named after the key without the prefix. Then watch the prefix (/v3/watch, a streaming
 * response): any event triggers a re-read, so a bridge that registers appears within
 * moments, and one whose lease expires (it died) disappears; a full re-read also runs
 * every `refresh` in case a watch was lost.
 *
 * Registration (bridge): grant a lease with the TTL (/v3/lease/grant), put the key with
 * it, keep it alive every TTL/3 (/v3/lease/keepalive), re-grant and re-put if the lease
 * was lost; revoke it on a clean stop so the bridge leaves at once.
 */
#ifndef ORASI_FORWARD_MEMBERS_H
#define ORASI_FORWARD_MEMBERS_H

#include "forward/fwd_config.h"

#include <stddef.h>
#include <stdint.h>

struct fwd;
typedef struct members members_t;

/* Start a watcher thread per region with dns or etcd membership. *out is NULL when
 * there is nothing to watch. 0 or a negative code with a message in err. */
int members_start(struct fwd *f, const fwd_config_t *cfg, members_t **out, char *err,
                  size_t errlen);
/* Stop and join the watchers (NULL is fine). */
void members_stop(members_t *m);

typedef struct members_reg members_reg_t;
/* Register a bridge under cfg->reg_prefix + cfg->reg_name (copied). The first put is
 * attempted before returning (a failure is logged and retried in the background).
 * NULL only on allocation/thread failure. */
members_reg_t *members_register(const fwd_bridge_config_t *cfg, char *err, size_t errlen);
/* Revoke the lease and stop. */
void members_unregister(members_reg_t *r);

/* Parse an etcd range response body into member specs (exposed for tests).
 * Returns the count (<= max) or a negative code. */
struct fwd_member_spec;
int members_parse_range(const char *json, size_t len, const char *prefix,
                        struct fwd_member_spec *out, size_t max, int64_t *revision);

#endif
