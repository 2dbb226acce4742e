/* roles.c — role wiring: agent, gateway, bridge (see roles.h). */
#include "server/roles.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "forward/dedupe.h"
#include "forward/fwd.h"
#include "forward/members.h"
#include "lake/lake.h"

#include <stdio.h>
#include <string.h>

const char *roles_name(int role)
{
    static const char *const n[] = {"run", "agent", "gateway", "bridge"};
    return role >= 0 && role <= ROLES_BRIDGE ? n[role] : "?";
}

int roles_config_load(const config_doc_t *doc, const config_node_t *root, struct roles_cfg **out,
                      char *err, size_t errlen)
{
    int rc = 0;
    struct roles_cfg *r = orasi_calloc(1, sizeof(*r));
    *out = NULL;
    if (!r)
        return ORASI_ENOMEM;
    const config_node_t *fw = root ? config_get(root, "forward") : NULL;
    if (fw) {
        if ((rc = fwd_config_load(doc, fw, NULL, &r->fwd, err, errlen)))
            goto out;
        r->has_forward = 1;
    }
    if ((rc = fwd_config_bridge_load(doc, root ? config_get(root, "bridge") : NULL, &r->bridge, err,
                                     errlen)))
        goto out;
    *out = r;
    return 0;
out:
    roles_config_free(r);
    return rc;
}

void roles_config_free(struct roles_cfg *r)
{
    if (!r)
        return;
    if (r->has_forward)
        fwd_config_free(&r->fwd);
    fwd_config_bridge_free(&r->bridge);
    orasi_free(r);
}

int roles_doc_markdown(char *out, size_t outlen)
{
    return fwd_config_doc_markdown(out, outlen);
}

/* ---- the bridge: lake sink + idempotent batches + registration ------------------------ */

struct roles_bridge {
    sink_t base; /* first */
    sink_t *lake;
    dedupe_t *dd;
    members_reg_t *reg;
};

static int bridge_admit(void *ud, slice_t id)
{
    struct roles_bridge *b = ud;
    dedupe_batch_t *x = orasi_malloc(sizeof(*x));
    if (!x)
        return ORASI_ENOMEM;
    int rc = dedupe_parse(id, x);
    if (rc == 0)
        rc = dedupe_begin(b->dd, x);
    else
        rc = ORASI_EINVAL; /* a malformed id header is the client's error */
    orasi_free(x);
    return rc;
}

static void bridge_logged(void *ud, slice_t id, int result)
{
    struct roles_bridge *b = ud;
    dedupe_batch_t *x = orasi_malloc(sizeof(*x));
    if (x && dedupe_parse(id, x) == 0)
        dedupe_end(b->dd, x, result == 0);
    else if (!x)
        LOG_E("bridge", "out of memory ending a batch id; its ids stay in flight");
    orasi_free(x);
}

static uint64_t bridge_replay_from(void *ud)
{
    struct roles_bridge *b = ud;
    return dedupe_covered(b->dd);
}

static void bridge_replayed(void *ud, slice_t id)
{
    struct roles_bridge *b = ud;
    dedupe_batch_t *x = orasi_malloc(sizeof(*x));
    if (x && dedupe_parse(id, x) == 0)
        dedupe_note(b->dd, x);
    orasi_free(x);
}

static int bridge_before_checkpoint(void *ud, uint64_t seq)
{
    struct roles_bridge *b = ud;
    return dedupe_save(b->dd, seq);
}

static void bridge_submit(sink_t *base, const ingest_batch_t *bt, sink_done_fn done, void *ud)
{
    struct roles_bridge *b = (struct roles_bridge *)base;
    b->lake->submit(b->lake, bt, done, ud);
}

static int bridge_flush(sink_t *base, uint64_t deadline)
{
    struct roles_bridge *b = (struct roles_bridge *)base;
    return b->lake->flush ? b->lake->flush(b->lake, deadline) : 0;
}

static int bridge_ready(sink_t *base)
{
    struct roles_bridge *b = (struct roles_bridge *)base;
    return !b->lake->ready || b->lake->ready(b->lake);
}

static void bridge_destroy(sink_t *base)
{
    struct roles_bridge *b = (struct roles_bridge *)base;
    /* leave the membership first so gateways stop sending, then drain the lake */
    members_unregister(b->reg);
    if (b->lake)
        b->lake->destroy(b->lake);
    dedupe_close(b->dd);
    orasi_free(b);
}

static sink_t *roles_bridge_create(struct roles_cfg *r, const struct lake_options *lake,
                                   const char *data_dir, char *err, size_t errlen)
{
    char path[4200];
    struct roles_bridge *b = orasi_calloc(1, sizeof(*b));
    if (!b) {
        snprintf(err, errlen, "bridge: out of memory");
        return NULL;
    }
    b->base = (sink_t){.name = "bridge",
                       .submit = bridge_submit,
                       .flush = bridge_flush,
                       .destroy = bridge_destroy,
                       .ready = bridge_ready};
    snprintf(path, sizeof(path), "%s/dedupe.state", data_dir);
    if (dedupe_open(path, (size_t)r->bridge.dedupe_window, "bridge", &b->dd, err, errlen))
        goto fail;
    struct sink_lake_hooks h = {b,
                                bridge_admit,
                                bridge_logged,
                                bridge_replay_from,
                                bridge_replayed,
                                bridge_before_checkpoint};
    struct lake_options lo = *lake;
    lo.data_dir = data_dir;
    b->lake = sink_lake_create_hooked(&lo, &h, err, errlen);
    if (!b->lake)
        goto fail;
    if (r->bridge.has_register && !(b->reg = members_register(&r->bridge, err, errlen)))
        goto fail;
    return &b->base;
fail:
    bridge_destroy(&b->base);
    return NULL;
}

struct lake *roles_bridge_lake(sink_t *s)
{
    if (!s || s->submit != bridge_submit)
        return NULL;
    return sink_lake_lake(((struct roles_bridge *)s)->lake);
}

sink_t *roles_create_sink(int role, struct roles_cfg *r, const struct lake_options *lake,
                          const char *data_dir, char *err, size_t errlen)
{
    if (role == ROLES_BRIDGE)
        return roles_bridge_create(r, lake, data_dir, err, errlen);
    if (role != ROLES_AGENT && role != ROLES_GATEWAY) {
        snprintf(err, errlen, "no sink for role %s", roles_name(role));
        return NULL;
    }
    if (!r || !r->has_forward) {
        snprintf(err, errlen, "orasi %s needs a `forward:` section naming its upstreams",
                 roles_name(role));
        return NULL;
    }
    char path[4200];
    if (!r->fwd.queue_dir) {
        snprintf(path, sizeof(path), "%s/queue", data_dir);
        if (!(r->fwd.queue_dir = orasi_strdup(path)))
            goto oom;
    }
    if (!r->fwd.dead_letter_dir) {
        snprintf(path, sizeof(path), "%s/dead-letter", data_dir);
        if (!(r->fwd.dead_letter_dir = orasi_strdup(path)))
            goto oom;
    }
    return fwd_create(&r->fwd, roles_name(role), err, errlen);
oom:
    snprintf(err, errlen, "out of memory");
    return NULL;
}
