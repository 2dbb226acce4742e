/*
 * enrich.h — agent enrichment: add resource attributes (host.name, Kubernetes node, pod,
 * namespace) to every Resource of an OTLP request by splicing bytes.
 *
 * This is the one place a forwarder changes bytes. Each top-level
 * Resource{Spans,Metrics,Logs} is copied with its `resource` field rewritten as the old
 * Resource payload followed by one KeyValue field per attribute the resource does not
 * already have (an application's own value wins), and both length prefixes re-framed; a
 * Resource* without a `resource` field gets one. Nothing else is touched: scopes, items
 * and unknown fields are copied byte for byte.
 */
#ifndef ORASI_FORWARD_ENRICH_H
#define ORASI_FORWARD_ENRICH_H

#include "core/buf.h"

#include <stddef.h>

#define ENRICH_MAX_ATTRS 8

typedef struct {
    size_t n;
    char key[ENRICH_MAX_ATTRS][64];
    char value[ENRICH_MAX_ATTRS][256];
} enrich_attrs_t;

/* Fill from the environment: host.name (the kernel's hostname, or $HOSTNAME when
 * gethostname fails), and from Kubernetes downward-API variables when set:
 * K8S_NODE_NAME -> k8s.node.name, K8S_POD_NAME -> k8s.pod.name,
 * K8S_POD_NAMESPACE or K8S_NAMESPACE -> k8s.namespace.name, K8S_POD_UID -> k8s.pod.uid. */
void enrich_attrs_from_env(enrich_attrs_t *a, int host, int k8s);
/* Add one attribute (ignored past ENRICH_MAX_ATTRS or when too long). */
void enrich_attrs_add(enrich_attrs_t *a, const char *key, const char *value);

/* Write `body` with the attributes spliced in to `out` (appended). 0, ORASI_EPARSE for a
 * malformed request, ORASI_ETOOBIG / ORASI_ENOMEM from out. With no attributes the
 * output equals the input. */
int enrich_request(slice_t body, const enrich_attrs_t *a, buf_t *out);

#endif
