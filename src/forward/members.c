/* members.c — DNS and etcd membership, bridge registration in etcd (see members.h). */
#include "forward/members.h"

#include "core/alloc.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "forward/fwd.h"
#include "forward/split.h"
#include "http/base64.h"
#include "otlp/json.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MEMBERS_RESP_MAX (8u << 20)

struct members_watch {
    members_t *ms;
    size_t region;
    const struct fwd_region_cfg *rc;
    pthread_t th;
    int started;
};

struct members {
    struct fwd *f;
    _Atomic int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct members_watch *w;
    size_t nw;
};

/* Sleep up to ns, waking early when stopping. Returns 1 when stopping. */
static int members_sleep(members_t *ms, uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + ns;
    ts.tv_sec = (time_t)(t / 1000000000ull);
    ts.tv_nsec = (long)(t % 1000000000ull);
    pthread_mutex_lock(&ms->mu);
    while (!atomic_load(&ms->stop))
        if (pthread_cond_timedwait(&ms->cv, &ms->mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&ms->mu);
    return atomic_load(&ms->stop);
}

static int members_spec_cmp(const void *a, const void *b)
{
    return strcmp(((const fwd_member_spec_t *)a)->name, ((const fwd_member_spec_t *)b)->name);
}

/* ---- DNS ------------------------------------------------------------------------------- */

static int members_resolve(const struct fwd_dns_cfg *d, fwd_member_spec_t *out, size_t max)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(d->name, NULL, &hints, &ai) != 0)
        return ORASI_EUNAVAILABLE;
    size_t n = 0;
    for (struct addrinfo *p = ai; p && n < max; p = p->ai_next) {
        char ip[INET6_ADDRSTRLEN];
        const void *a = p->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr;
        if (!inet_ntop(p->ai_family, a, ip, sizeof(ip)))
            continue;
        int v6 = p->ai_family == AF_INET6;
        fwd_member_spec_t s;
        memset(&s, 0, sizeof(s));
        snprintf(s.name, sizeof(s.name), v6 ? "[%s]:%lld" : "%s:%lld", ip, (long long)d->port);
        snprintf(s.endpoint, sizeof(s.endpoint), "http://%s", s.name);
        if (d->health_port)
            snprintf(s.health, sizeof(s.health), v6 ? "http://[%s]:%lld%s" : "http://%s:%lld%s", ip,
                     (long long)d->health_port, d->health_path ? d->health_path : "/ready");
        int dup = 0;
        for (size_t i = 0; i < n; i++)
            dup |= strcmp(out[i].name, s.name) == 0;
        if (!dup)
            out[n++] = s;
    }
    freeaddrinfo(ai);
    qsort(out, n, sizeof(out[0]), members_spec_cmp);
    return (int)n;
}

static void *members_dns_main(void *arg)
{
    struct members_watch *w = arg;
    fwd_member_spec_t cur[SPLIT_MAX_DEST], nxt[SPLIT_MAX_DEST];
    int ncur = -1;
    do {
        int n = members_resolve(&w->rc->dns, nxt, SPLIT_MAX_DEST);
        if (n < 0) {
            LOG_W("members", "region %s: cannot resolve %s", w->rc->name, w->rc->dns.name);
            continue; /* keep the last known members */
        }
        if (n != ncur || memcmp(cur, nxt, (size_t)n * sizeof(cur[0])) != 0) {
            memcpy(cur, nxt, (size_t)n * sizeof(cur[0]));
            ncur = n;
            fwd_set_members(w->ms->f, w->region, cur, (size_t)n);
            LOG_I("members", "region %s: %s resolves to %d upstreams", w->rc->name, w->rc->dns.name,
                  n);
        }
    } while (!members_sleep(w->ms, w->rc->dns.refresh));
    return NULL;
}

/* ---- etcd ------------------------------------------------------------------------------- */

struct members_http {
    buf_t body;
    _Atomic int *stop;
    int abort_on_event; /* watch: stop the transfer when an event arrives */
    int got_event;
};

static size_t members_write(char *p, size_t size, size_t n, void *ud)
{
    struct members_http *h = ud;
    size_t len = size * n;
    if (buf_append(&h->body, p, len))
        return 0;
    if (h->abort_on_event && memmem(h->body.data, h->body.len, "\"events\"", 8)) {
        h->got_event = 1;
        return 0;
    }
    return len;
}

static int members_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct members_http *h = ud;
    return h->stop && atomic_load(h->stop) ? 1 : 0;
}

/* POST JSON to base+path; the answer in h->body. 0 or a negative code. */
static int members_post(const char *base, const char *path, const char *json, long timeout_ms,
                        struct members_http *h)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    CURL *c = curl_easy_init();
    if (!c)
        return ORASI_ENOMEM;
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, members_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, members_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    if (h->got_event)
        return 0;
    if (rc == CURLE_OPERATION_TIMEDOUT && h->abort_on_event)
        return 0; /* a watch that saw nothing in its period */
    if (rc != CURLE_OK)
        return ORASI_EUNAVAILABLE;
    return status == 200 ? 0 : ORASI_EUNAVAILABLE;
}

static int members_b64(const char *s, size_t n, char *out, size_t outlen)
{
    return base64_encode(s, n, 1, out, outlen, NULL);
}

/* prefix -> range_end: the prefix with its last byte incremented */
static void members_range_end(const char *prefix, char *out, size_t outlen)
{
    size_t n = strlen(prefix);
    char tmp[512];
    memcpy(tmp, prefix, n);
    while (n > 0 && (unsigned char)tmp[n - 1] == 0xff)
        n--;
    if (n == 0) {
        members_b64("\0", 1, out, outlen);
        return;
    }
    tmp[n - 1]++;
    members_b64(tmp, n, out, outlen);
}

static int members_b64_field(const json_doc_t *d, uint32_t v, char *out, size_t outlen)
{
    if (v == JSON_NONE || !json_is(d, v, JSON_STRING))
        return ORASI_EPARSE;
    slice_t s = json_slice(d, v);
    size_t n;
    if (base64_decode((const char *)s.p, s.len, (uint8_t *)out, outlen - 1, &n))
        return ORASI_EPARSE;
    out[n] = '\0';
    return 0;
}

int members_parse_range(const char *json, size_t len, const char *prefix, fwd_member_spec_t *out,
                        size_t max, int64_t *revision)
{
    arena_t *a = arena_create(64 << 10, 64u << 20);
    json_doc_t d;
    int n = 0;
    if (!a)
        return ORASI_ENOMEM;
    if (json_parse(slice_make(json, len), NULL, a, &d, NULL) || !json_is(&d, 0, JSON_OBJECT)) {
        n = ORASI_EPARSE;
        goto out;
    }
    uint32_t hdr = json_obj_get(&d, 0, "header");
    if (revision && hdr != JSON_NONE) {
        uint32_t rv = json_obj_get(&d, hdr, "revision");
        if (rv != JSON_NONE)
            json_num_i64(json_slice(&d, rv), revision);
    }
    uint32_t kvs = json_obj_get(&d, 0, "kvs");
    if (kvs == JSON_NONE)
        goto out; /* no keys */
    if (!json_is(&d, kvs, JSON_ARRAY)) {
        n = ORASI_EPARSE;
        goto out;
    }
    size_t pl = strlen(prefix);
    JSON_ARR_FOREACH(&d, kvs, kv)
    {
        char key[512], val[2048];
        if ((size_t)n >= max)
            break;
        if (!json_is(&d, kv, JSON_OBJECT) ||
            members_b64_field(&d, json_obj_get(&d, kv, "key"), key, sizeof(key)) ||
            members_b64_field(&d, json_obj_get(&d, kv, "value"), val, sizeof(val)))
            continue;
        json_doc_t vd;
        if (json_parse(slice_cstr(val), NULL, a, &vd, NULL) || !json_is(&vd, 0, JSON_OBJECT))
            continue;
        uint32_t ep = json_obj_get(&vd, 0, "endpoint"), he = json_obj_get(&vd, 0, "health");
        if (ep == JSON_NONE || !json_is(&vd, ep, JSON_STRING))
            continue;
        fwd_member_spec_t *s = &out[n];
        memset(s, 0, sizeof(*s));
        const char *name = strlen(key) > pl ? key + pl : key;
        snprintf(s->name, sizeof(s->name), "%.*s", (int)(sizeof(s->name) - 1), name);
        slice_t e = json_slice(&vd, ep);
        snprintf(s->endpoint, sizeof(s->endpoint), "%.*s", (int)e.len, (const char *)e.p);
        if (he != JSON_NONE && json_is(&vd, he, JSON_STRING)) {
            slice_t h = json_slice(&vd, he);
            snprintf(s->health, sizeof(s->health), "%.*s", (int)h.len, (const char *)h.p);
        }
        if (strncmp(s->endpoint, "http://", 7) != 0)
            continue;
        n++;
    }
    qsort(out, (size_t)n, sizeof(out[0]), members_spec_cmp);
out:
    arena_destroy(a);
    return n;
}

static void *members_etcd_main(void *arg)
{
    struct members_watch *w = arg;
    members_t *ms = w->ms;
    const struct fwd_etcd_cfg *e = &w->rc->etcd;
    char kb[700], eb[700], body[2048];
    fwd_member_spec_t cur[SPLIT_MAX_DEST], nxt[SPLIT_MAX_DEST];
    int ncur = -1;
    size_t ep = 0;
    members_b64(e->prefix, strlen(e->prefix), kb, sizeof(kb));
    members_range_end(e->prefix, eb, sizeof(eb));
    while (!atomic_load(&ms->stop)) {
        const char *base = e->endpoints.items[ep % e->endpoints.n];
        struct members_http h = {.stop = &ms->stop};
        buf_init(&h.body, MEMBERS_RESP_MAX);
        snprintf(body, sizeof(body), "{\"key\":\"%s\",\"range_end\":\"%s\"}", kb, eb);
        int64_t rev = 0;
        int rc = members_post(base, "/v3/kv/range", body, 3000, &h);
        int n = rc ? rc
                   : members_parse_range((const char *)h.body.data, h.body.len, e->prefix, nxt,
                                         SPLIT_MAX_DEST, &rev);
        buf_free(&h.body);
        if (n < 0) {
            LOG_W("members", "region %s: etcd %s: cannot read %s", w->rc->name, base, e->prefix);
            ep++;
            if (members_sleep(ms, 500000000ull))
                break;
            continue;
        }
        if (n != ncur || memcmp(cur, nxt, (size_t)n * sizeof(cur[0])) != 0) {
            memcpy(cur, nxt, (size_t)n * sizeof(cur[0]));
            ncur = n;
            fwd_set_members(ms->f, w->region, cur, (size_t)n);
            LOG_I("members", "region %s: etcd lists %d upstreams under %s", w->rc->name, n,
                  e->prefix);
        }
        /* watch from the next revision; any event (or the refresh period) re-reads */
        struct members_http wh = {.stop = &ms->stop, .abort_on_event = 1};
        buf_init(&wh.body, MEMBERS_RESP_MAX);
        snprintf(body, sizeof(body),
                 "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
                 "\"start_revision\":\"%lld\"}}",
                 kb, eb, (long long)(rev + 1));
        rc = members_post(base, "/v3/watch", body, (long)(e->refresh / 1000000), &wh);
        buf_free(&wh.body);
        if (rc && members_sleep(ms, 200000000ull))
            break;
    }
    return NULL;
}

int members_start(struct fwd *f, const fwd_config_t *cfg, members_t **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t n = 0;
    for (size_t r = 0; r < cfg->n_regions; r++)
        n += (size_t)cfg->regions[r].has_dns + (size_t)cfg->regions[r].has_etcd;
    if (!n)
        return 0;
    members_t *ms = orasi_calloc(1, sizeof(*ms));
    if (!ms || !(ms->w = orasi_calloc(n, sizeof(*ms->w)))) {
        orasi_free(ms);
        snprintf(err, errlen, "members: out of memory");
        return ORASI_ENOMEM;
    }
    ms->f = f;
    pthread_mutex_init(&ms->mu, NULL);
    pthread_cond_init(&ms->cv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t r = 0; r < cfg->n_regions; r++) {
        for (int kind = 0; kind < 2; kind++) {
            if (kind == 0 ? !cfg->regions[r].has_dns : !cfg->regions[r].has_etcd)
                continue;
            struct members_watch *w = &ms->w[ms->nw++];
            w->ms = ms;
            w->region = r;
            w->rc = &cfg->regions[r];
            if (pthread_create(&w->th, NULL, kind == 0 ? members_dns_main : members_etcd_main, w) !=
                0) {
                snprintf(err, errlen, "members: cannot start a watcher thread");
                members_stop(ms);
                return ORASI_ESYS;
            }
            w->started = 1;
        }
    }
    *out = ms;
    return 0;
}

void members_stop(members_t *ms)
{
    if (!ms)
        return;
    pthread_mutex_lock(&ms->mu);
    atomic_store(&ms->stop, 1);
    pthread_cond_broadcast(&ms->cv);
    pthread_mutex_unlock(&ms->mu);
    for (size_t i = 0; i < ms->nw; i++)
        if (ms->w[i].started)
            pthread_join(ms->w[i].th, NULL);
    pthread_mutex_destroy(&ms->mu);
    pthread_cond_destroy(&ms->cv);
    orasi_free(ms->w);
    orasi_free(ms);
}

/* ---- registration ------------------------------------------------------------------------- */

struct members_reg {
    members_t base; /* stop flag, mutex, condvar */
    char key_b64[700];
    char val_b64[2800];
    char *etcd[8];
    size_t netcd;
    uint64_t ttl_ns;
    char lease[32];
    pthread_t th;
    int started;
};

static int members_json_id(const buf_t *b, const char *field, char *out, size_t outlen)
{
    /* {"...","ID":"7587868410351935521","TTL":"3"}: ids are quoted decimal strings */
    char pat[32];
    snprintf(pat, sizeof(pat), "\"%s\":", field);
    const char *p = b->len ? memmem(b->data, b->len, pat, strlen(pat)) : NULL;
    if (!p)
        return ORASI_ENOTFOUND;
    p += strlen(pat);
    const char *end = (const char *)b->data + b->len;
    while (p < end && (*p == '"' || *p == ' '))
        p++;
    size_t n = 0;
    while (p + n < end && p[n] >= '0' && p[n] <= '9' && n + 1 < outlen)
        n++;
    if (!n)
        return ORASI_EPARSE;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int members_reg_put(members_reg_t *r, const char *base)
{
    char body[4096];
    struct members_http h = {.stop = &r->base.stop};
    buf_init(&h.body, 1 << 16);
    snprintf(body, sizeof(body), "{\"TTL\":\"%llu\"}",
             (unsigned long long)((r->ttl_ns + 999999999ull) / 1000000000ull));
    int rc = members_post(base, "/v3/lease/grant", body, 2000, &h);
    if (!rc)
        rc = members_json_id(&h.body, "ID", r->lease, sizeof(r->lease));
    buf_free(&h.body);
    if (rc)
        return rc;
    struct members_http p = {.stop = &r->base.stop};
    buf_init(&p.body, 1 << 16);
    snprintf(body, sizeof(body), "{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%s\"}", r->key_b64,
             r->val_b64, r->lease);
    rc = members_post(base, "/v3/kv/put", body, 2000, &p);
    buf_free(&p.body);
    return rc;
}

static int members_reg_keepalive(members_reg_t *r, const char *base)
{
    char body[128], ttl[32];
    struct members_http h = {.stop = &r->base.stop};
    buf_init(&h.body, 1 << 16);
    snprintf(body, sizeof(body), "{\"ID\":\"%s\"}", r->lease);
    int rc = members_post(base, "/v3/lease/keepalive", body, 2000, &h);
    /* an expired lease answers without a TTL (or TTL 0) */
    if (!rc && (members_json_id(&h.body, "TTL", ttl, sizeof(ttl)) || strcmp(ttl, "0") == 0))
        rc = ORASI_ENOTFOUND;
    buf_free(&h.body);
    return rc;
}

static void *members_reg_main(void *arg)
{
    members_reg_t *r = arg;
    size_t ep = 0;
    int registered = 1; /* the first put was tried by members_register */
    if (!r->lease[0])
        registered = 0;
    while (!members_sleep(&r->base, registered ? r->ttl_ns / 3 : 300000000ull)) {
        const char *base = r->etcd[ep % r->netcd];
        if (registered && members_reg_keepalive(r, base) == 0)
            continue;
        if (registered)
            LOG_W("members", "etcd lease lost or unreachable; registering again");
        registered = members_reg_put(r, base) == 0;
        if (!registered)
            ep++;
        else
            LOG_I("members", "registered in etcd %s", base);
    }
    return NULL;
}

members_reg_t *members_register(const fwd_bridge_config_t *cfg, char *err, size_t errlen)
{
    char key[600], val[2048];
    members_reg_t *r = orasi_calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "register: out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->base.mu, NULL);
    pthread_cond_init(&r->base.cv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(key, sizeof(key), "%s%s", cfg->reg_prefix, cfg->reg_name);
    snprintf(val, sizeof(val), "{\"endpoint\":\"%s\",\"health\":\"%s\"}", cfg->reg_endpoint,
             cfg->reg_health ? cfg->reg_health : "");
    members_b64(key, strlen(key), r->key_b64, sizeof(r->key_b64));
    members_b64(val, strlen(val), r->val_b64, sizeof(r->val_b64));
    for (size_t i = 0; i < cfg->reg_etcd.n && r->netcd < 8; i++)
        if ((r->etcd[r->netcd] = orasi_strdup(cfg->reg_etcd.items[i])))
            r->netcd++;
    r->ttl_ns = cfg->reg_ttl;
    if (!r->netcd) {
        snprintf(err, errlen, "register: no etcd endpoint");
        members_unregister(r);
        return NULL;
    }
    if (members_reg_put(r, r->etcd[0]) != 0) {
        r->lease[0] = '\0';
        LOG_W("members", "cannot register in etcd %s yet; retrying", r->etcd[0]);
    } else {
        LOG_I("members", "registered as %s in etcd %s", key, r->etcd[0]);
    }
    if (pthread_create(&r->th, NULL, members_reg_main, r) != 0) {
        snprintf(err, errlen, "register: cannot start the keepalive thread");
        members_unregister(r);
        return NULL;
    }
    r->started = 1;
    return r;
}

void members_unregister(members_reg_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->base.mu);
    atomic_store(&r->base.stop, 1);
    pthread_cond_broadcast(&r->base.cv);
    pthread_mutex_unlock(&r->base.mu);
    if (r->started)
        pthread_join(r->th, NULL);
    if (r->lease[0] && r->netcd) {
        char body[128];
        struct members_http h = {0};
        buf_init(&h.body, 1 << 16);
        snprintf(body, sizeof(body), "{\"ID\":\"%s\"}", r->lease);
        members_post(r->etcd[0], "/v3/lease/revoke", body, 1000, &h);
        buf_free(&h.body);
    }
    for (size_t i = 0; i < r->netcd; i++)
        orasi_free(r->etcd[i]);
    pthread_mutex_destroy(&r->base.mu);
    pthread_cond_destroy(&r->base.cv);
    orasi_free(r);
}
