/*
 * enrich.c — resource attribute splicing (see enrich.h).
 *
 * Request { repeated Resource{Spans,Metrics,Logs} = 1 }; each of those has
 * `Resource resource = 1`, and Resource { repeated KeyValue attributes = 1 }. Appending a
 * repeated field at the end of a message is valid protobuf (fields may come in any
 * order), so the new KeyValues simply follow the old Resource payload.
 */
#include "forward/enrich.h"

#include "core/err.h"
#include "otlp/pb.h"
#include "forward/split.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void enrich_attrs_add(enrich_attrs_t *a, const char *key, const char *value)
{
    if (a->n >= ENRICH_MAX_ATTRS || !key || !value || !*value || strlen(key) >= sizeof(a->key[0]) ||
        strlen(value) >= sizeof(a->value[0]))
        return;
    snprintf(a->key[a->n], sizeof(a->key[0]), "%s", key);
    snprintf(a->value[a->n], sizeof(a->value[0]), "%s", value);
    a->n++;
}

void enrich_attrs_from_env(enrich_attrs_t *a, int host, int k8s)
{
    if (host) {
        char h[256];
        if (gethostname(h, sizeof(h)) == 0) {
            h[sizeof(h) - 1] = '\0';
            enrich_attrs_add(a, "host.name", h);
        } else {
            enrich_attrs_add(a, "host.name", getenv("HOSTNAME"));
        }
    }
    if (k8s) {
        enrich_attrs_add(a, "k8s.node.name", getenv("K8S_NODE_NAME"));
        enrich_attrs_add(a, "k8s.pod.name", getenv("K8S_POD_NAME"));
        const char *ns = getenv("K8S_POD_NAMESPACE");
        enrich_attrs_add(a, "k8s.namespace.name", ns ? ns : getenv("K8S_NAMESPACE"));
        enrich_attrs_add(a, "k8s.pod.uid", getenv("K8S_POD_UID"));
    }
}

/* Does the Resource payload already have attribute `key`? */
static int enrich_has(slice_t resource, const char *key)
{
    pb_reader_t r = pb_reader(resource);
    while (pb_more(&r)) {
        uint32_t f, wt;
        slice_t kv;
        if (pb_read_tag(&r, &f, &wt))
            return 0;
        if (f != 1 || wt != PB_WT_LEN) {
            if (pb_skip(&r, wt))
                return 0;
            continue;
        }
        if (pb_read_bytes(&r, &kv))
            return 0;
        pb_reader_t k = pb_reader(kv);
        while (pb_more(&k)) {
            slice_t s;
            if (pb_read_tag(&k, &f, &wt))
                break;
            if (f == 1 && wt == PB_WT_LEN) {
                if (pb_read_bytes(&k, &s))
                    break;
                if (slice_eq_cstr(s, key))
                    return 1;
            } else if (pb_skip(&k, wt)) {
                break;
            }
        }
    }
    return 0;
}

static void enrich_put_resource(pb_writer_t *w, slice_t old, const enrich_attrs_t *a)
{
    size_t m = pb_w_begin(w, 1);
    pb_w_raw(w, old.p, old.len);
    for (size_t i = 0; i < a->n; i++) {
        if (old.len && enrich_has(old, a->key[i]))
            continue;
        size_t kv = pb_w_begin(w, 1);
        pb_w_bytes(w, 1, a->key[i], strlen(a->key[i]));
        size_t av = pb_w_begin(w, 2);
        pb_w_bytes(w, 1, a->value[i], strlen(a->value[i]));
        pb_w_end(w, av);
        pb_w_end(w, kv);
    }
    pb_w_end(w, m);
}

int enrich_request(slice_t body, const enrich_attrs_t *a, buf_t *out)
{
    if (!a || a->n == 0)
        return buf_append_slice(out, body);
    pb_writer_t w;
    pb_writer_init(&w, out);
    pb_reader_t top = pb_reader(body);
    while (pb_more(&top)) {
        const uint8_t *start = top.p;
        uint32_t f, wt;
        slice_t rx;
        if (pb_read_tag(&top, &f, &wt))
            return ORASI_EPARSE;
        if (f != 1 || wt != PB_WT_LEN) {
            if (pb_skip(&top, wt))
                return ORASI_EPARSE;
            pb_w_raw(&w, start, (size_t)(top.p - start));
            continue;
        }
        if (pb_read_bytes(&top, &rx))
            return ORASI_EPARSE;
        size_t mark = pb_w_begin(&w, 1);
        int seen = 0;
        pb_reader_t r = pb_reader(rx);
        while (pb_more(&r)) {
            const uint8_t *fs = r.p;
            slice_t res;
            if (pb_read_tag(&r, &f, &wt))
                return ORASI_EPARSE;
            if (f == 1 && wt == PB_WT_LEN) {
                if (pb_read_bytes(&r, &res))
                    return ORASI_EPARSE;
                if (!seen)
                    enrich_put_resource(&w, res, a);
                else /* a second resource field merges into the first: keep its bytes */
                    pb_w_raw(&w, fs, (size_t)(r.p - fs));
                seen = 1;
                continue;
            }
            if (pb_skip(&r, wt))
                return ORASI_EPARSE;
            if (!seen) {
                enrich_put_resource(&w, (slice_t){0}, a);
                seen = 1;
            }
            pb_w_raw(&w, fs, (size_t)(r.p - fs));
        }
        if (!seen)
            enrich_put_resource(&w, (slice_t){0}, a);
        pb_w_end(&w, mark);
    }
    return w.err;
}
