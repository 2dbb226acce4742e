/*
 * objstore.c — the object store's front: key validation, locking, dispatch to a backend's
 * table, listings, and the S3 option table (see objstore.h).
 */
#include "objstore/objstore_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

#define OPT(name, type, def, field, mn, mx, doc)                                                   \
    {                                                                                              \
        name, type, def, offsetof(struct objstore_s3_options, field), mn, mx, doc, NULL, 0         \
    }

const config_option_t objstore_s3_config_options[] = {
    OPT("endpoint", CONFIG_STR, NULL, endpoint, 0, 0,
        "S3 endpoint URL, e.g. http://127.0.0.1:9000; empty: $AWS_ENDPOINT_URL, else "
        "https://s3.<region>.amazonaws.com"),
    OPT("region", CONFIG_STR, NULL, region, 0, 0,
        "signing region; empty: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1"),
    OPT("bucket", CONFIG_STR, NULL, bucket, 0, 0, "bucket name (required with store: s3)"),
    OPT("prefix", CONFIG_STR, "", prefix, 0, 0,
        "key prefix inside the bucket; the Hive layout goes below it"),
    OPT("access_key_id", CONFIG_STR, NULL, access_key_id, 0, 0,
        "access key id; empty: $AWS_ACCESS_KEY_ID"),
    OPT("secret_access_key", CONFIG_STR, NULL, secret_access_key, 0, 0,
        "secret access key; empty: $AWS_SECRET_ACCESS_KEY"),
    OPT("session_token", CONFIG_STR, NULL, session_token, 0, 0,
        "session token of temporary credentials; empty: $AWS_SESSION_TOKEN"),
    OPT("path_style", CONFIG_BOOL, "false", path_style, 0, 0,
        "path-style URLs (endpoint/bucket/key), as MinIO and s3rver want"),
    OPT("multipart_threshold", CONFIG_SIZE, "16MiB", multipart_threshold, 5242880, 0,
        "files of at least this size are uploaded in parts"),
    OPT("part_size", CONFIG_SIZE, "8MiB", part_size, 5242880, 5368709120.0,
        "size of one multipart part (S3 minimum 5MiB)"),
    OPT("timeout", CONFIG_DURATION, "5m", timeout, 1e9, 0,
        "one HTTP request, connect to last byte"),
    OPT("connect_timeout", CONFIG_DURATION, "10s", connect_timeout, 1e8, 0,
        "TCP and TLS connection setup"),
    OPT("max_retries", CONFIG_INT, "5", max_retries, 0, 100,
        "retries of one request on 5xx, 429, timeouts and connection errors"),
    OPT("retry_base", CONFIG_DURATION, "200ms", retry_base, 1e6, 0,
        "first retry backoff; doubles each retry, with jitter"),
    OPT("retry_max", CONFIG_DURATION, "20s", retry_max, 1e6, 0, "longest retry backoff"),
    OPT("drain_timeout", CONFIG_DURATION, "30s", drain_timeout, 0, 0,
        "at shutdown, wait this long for pending uploads (the rest resume at the next start)"),
    {0},
};

void objstore_s3_options_default(struct objstore_s3_options *o)
{
    memset(o, 0, sizeof(*o));
    o->multipart_threshold = 16ull << 20;
    o->part_size = 8ull << 20;
    o->timeout = 300 * NS_PER_S;
    o->connect_timeout = 10 * NS_PER_S;
    o->max_retries = 5;
    o->retry_base = 200 * NS_PER_MS;
    o->retry_max = 20 * NS_PER_S;
    o->drain_timeout = 30 * NS_PER_S;
}

void objstore_base_init(objstore_t *os, const struct objstore_ops *ops)
{
    os->ops = ops;
    pthread_mutex_init(&os->mu, NULL);
    atomic_store(&os->cancel, 0);
}

void objstore_cancel(objstore_t *os, int on)
{
    atomic_store(&os->cancel, on ? 1 : 0);
}

int objstore_cancelled(objstore_t *os)
{
    return atomic_load(&os->cancel);
}

void objstore_close(objstore_t *os)
{
    if (!os)
        return;
    pthread_mutex_destroy(&os->mu);
    os->ops->destroy(os);
}

const char *objstore_kind(const objstore_t *os)
{
    return os->ops->kind;
}

int objstore_key_ok(const char *key)
{
    if (!key)
        return 0;
    size_t n = strlen(key);
    if (n == 0 || n > OBJSTORE_MAX_KEY || key[0] == '/')
        return 0;
    /* walk segments: none empty, "." or ".."; no control bytes */
    size_t seg = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (i < n && (c < 0x20 || c == 0x7f))
            return 0;
        if (i == n || c == '/') {
            size_t len = i - seg;
            if (len == 0 || (len == 1 && key[seg] == '.') ||
                (len == 2 && key[seg] == '.' && key[seg + 1] == '.'))
                return 0;
            seg = i + 1;
        }
    }
    return 1;
}

static void seterr(char *err, size_t errlen, const char *fmt, const char *a)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a);
}

/* The common path of every keyed call: validate, lock, call, unlock. */
#define KEYED_CALL(os, key, err, errlen, call)                                                     \
    do {                                                                                           \
        char scratch_[256];                                                                        \
        if (!err || !errlen) {                                                                     \
            err = scratch_;                                                                        \
            errlen = sizeof(scratch_);                                                             \
        }                                                                                          \
        err[0] = 0;                                                                                \
        if (!objstore_key_ok(key)) {                                                               \
            seterr(err, errlen, "invalid object key \"%.200s\"", key ? key : "(null)");            \
            return ORASI_EINVAL;                                                                   \
        }                                                                                          \
        if (objstore_cancelled(os)) {                                                              \
            seterr(err, errlen, "%s", "object store calls cancelled (shutting down)");             \
            return ORASI_ECLOSED;                                                                  \
        }                                                                                          \
        pthread_mutex_lock(&(os)->mu);                                                             \
        int rc_ = (call);                                                                          \
        pthread_mutex_unlock(&(os)->mu);                                                           \
        if (rc_ && !err[0])                                                                        \
            seterr(err, errlen, "%s", orasi_strerror(rc_));                                        \
        return rc_;                                                                                \
    } while (0)

int objstore_put_file(objstore_t *os, const char *key, const char *local_path, char *err,
                      size_t errlen)
{
    KEYED_CALL(os, key, err, errlen, os->ops->put_file(os, key, local_path, err, errlen));
}

int objstore_get_file(objstore_t *os, const char *key, const char *local_path, char *err,
                      size_t errlen)
{
    KEYED_CALL(os, key, err, errlen, os->ops->get_file(os, key, local_path, err, errlen));
}

int objstore_delete(objstore_t *os, const char *key, char *err, size_t errlen)
{
    KEYED_CALL(os, key, err, errlen, os->ops->del(os, key, err, errlen));
}

int objstore_head(objstore_t *os, const char *key, objstore_obj_t *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof(*info));
    KEYED_CALL(os, key, err, errlen, os->ops->head(os, key, info, err, errlen));
}

static int obj_cmp(const void *a, const void *b)
{
    return strcmp(((const objstore_obj_t *)a)->key, ((const objstore_obj_t *)b)->key);
}

int objstore_list(objstore_t *os, const char *prefix, objstore_list_t *out, char *err,
                  size_t errlen)
{
    char scratch[256];
    size_t cap = 0;
    if (!err || !errlen) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    err[0] = 0;
    out->v = NULL;
    out->n = 0;
    if (!prefix)
        prefix = "";
    if (strlen(prefix) > OBJSTORE_MAX_KEY || prefix[0] == '/') {
        seterr(err, errlen, "invalid list prefix \"%.200s\"", prefix);
        return ORASI_EINVAL;
    }
    pthread_mutex_lock(&os->mu);
    int rc = os->ops->list(os, prefix, out, &cap, err, errlen);
    pthread_mutex_unlock(&os->mu);
    if (rc) {
        objstore_list_free(out);
        if (!err[0])
            seterr(err, errlen, "%s", orasi_strerror(rc));
        return rc;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(out->v[0]), obj_cmp);
    return 0;
}

void objstore_list_free(objstore_list_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        orasi_free(l->v[i].key);
    orasi_free(l->v);
    l->v = NULL;
    l->n = 0;
}

int objstore_list_push(objstore_list_t *l, size_t *cap, const char *key, size_t keylen,
                       uint64_t size, int64_t mtime_ns, const char *etag, size_t etaglen)
{
    if (l->n >= OBJSTORE_MAX_LIST)
        return ORASI_ETOOBIG;
    if (l->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        objstore_obj_t *nv = orasi_realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return ORASI_ENOMEM;
        l->v = nv;
        *cap = ncap;
    }
    objstore_obj_t *o = &l->v[l->n];
    memset(o, 0, sizeof(*o));
    o->key = orasi_strndup(key, keylen);
    if (!o->key)
        return ORASI_ENOMEM;
    o->size = size;
    o->mtime_ns = mtime_ns;
    objstore_etag_copy(o->etag, etag, etaglen);
    l->n++;
    return 0;
}

void objstore_etag_copy(char out[80], const char *etag, size_t n)
{
    out[0] = 0;
    if (!etag)
        return;
    while (n && (etag[0] == '"' || etag[0] == ' ')) {
        etag++;
        n--;
    }
    while (n &&
           (etag[n - 1] == '"' || etag[n - 1] == ' ' || etag[n - 1] == '\r' || etag[n - 1] == '\n'))
        n--;
    if (n > 79)
        n = 79;
    memcpy(out, etag, n);
    out[n] = 0;
}
