/*
 * objstore.h — where the lake's files go: a local directory or an S3-compatible bucket
 * (docs/internals/objstore.md).
 *
 * One small interface with two backends, after Redis's ae.c: a const table of callbacks
 * behind five operations on whole files, addressed by keys ("a/b/c.parquet"):
 *
 *   put_file(key, local_path)   upload (S3: single PUT, or multipart above a threshold)
 *   get_file(key, local_path)   download to a temporary name, then rename into place
 *   delete(key)                 a missing key is success (idempotent)
 *   list(prefix)                every key starting with prefix, sorted, with sizes
 *   head(key)                   size, ETag and modification time; ORASI_ENOTFOUND
 *
 * Keys: 1..1024 bytes, no leading '/', no empty, "." or ".." segments, no NUL or control
 * bytes (the local backend maps them to paths; S3 allows more, we allow what both do).
 * A backend's configured prefix (S3 `prefix`, the local root) is invisible in keys.
 *
 * Errors: 0 or a negative ORASI_E* code, with a human message (S3's <Code> and
 * <Message> when there is one) written to err (may be NULL). ORASI_ENOTFOUND: no such
 * key. ORASI_EUNAVAILABLE / ORASI_ETIMEOUT: the store could not be reached or kept
 * failing with 5xx/429 after max_retries (worth retrying later). ORASI_EINVAL: the store
 * refused the request (4xx: bad credentials, no such bucket, ...): retrying the same
 * request will not help until the configuration changes.
 *
 * Thread-safety: a handle may be used from several threads; calls on one handle are
 * serialised by an internal lock (the S3 backend keeps one connection). Open one handle
 * per thread for parallel transfers.
 */
#ifndef ORASI_OBJSTORE_OBJSTORE_H
#define ORASI_OBJSTORE_OBJSTORE_H

#include "core/buf.h"
#include "core/config.h"

#include <stddef.h>
#include <stdint.h>

typedef struct objstore objstore_t;

#define OBJSTORE_MAX_KEY 1024
/* A listing longer than this fails with ORASI_ETOOBIG (every list has a cap). */
#define OBJSTORE_MAX_LIST 1000000

/* The S3 backend's options: the `lake.s3:` section (objstore_s3_config_options). Strings
 * are owned by the struct (config_free_struct). Empty or NULL fields take the usual AWS
 * environment variables at objstore_s3_open time. */
struct objstore_s3_options {
    char *endpoint;               /* "http://127.0.0.1:4568"; NULL: AWS_ENDPOINT_URL, else
                                   * https://s3.<region>.amazonaws.com */
    char *region;                 /* NULL: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1 */
    char *bucket;                 /* required */
    char *prefix;                 /* key prefix inside the bucket ("" = none); no leading '/' */
    char *access_key_id;          /* NULL: AWS_ACCESS_KEY_ID */
    char *secret_access_key;      /* NULL: AWS_SECRET_ACCESS_KEY */
    char *session_token;          /* NULL: AWS_SESSION_TOKEN (may stay unset) */
    int path_style;               /* 1: endpoint/bucket/key (MinIO, s3rver); 0: bucket.host/key */
    uint64_t multipart_threshold; /* files of at least this size go multipart (16MiB) */
    uint64_t part_size;           /* multipart part size (8MiB; S3's minimum is 5MiB) */
    uint64_t timeout;             /* ns: one HTTP request, connect to last byte (5m) */
    uint64_t connect_timeout;     /* ns (10s) */
    int64_t max_retries;          /* retries of one request on 5xx/429/network (5) */
    uint64_t retry_base;          /* ns: first backoff; doubles per retry, jittered (200ms) */
    uint64_t retry_max;           /* ns: backoff cap (20s) */
    uint64_t drain_timeout;       /* ns: at lake close, wait this long for pending
                                   * uploads (30s); the rest resume at the next start */
};

/* The option table of the S3 section, for binding, `config check` and docs. */
extern const config_option_t objstore_s3_config_options[];
/* Defaults of the table (every string NULL). */
void objstore_s3_options_default(struct objstore_s3_options *o);

/* One object of a listing or a HEAD. */
typedef struct {
    char *key; /* owned by the list (NULL in a HEAD result) */
    uint64_t size;
    int64_t mtime_ns; /* last modification, ns since the epoch (0 if unknown) */
    char etag[80];    /* as the store sent it, quotes removed ("" if unknown) */
} objstore_obj_t;

typedef struct {
    objstore_obj_t *v; /* sorted by key */
    size_t n;
} objstore_list_t;

/* Backends. Caller owns *out (objstore_close). 0 or a negative code with a message. */
int objstore_local_open(const char *root, objstore_t **out, char *err, size_t errlen);
int objstore_s3_open(const struct objstore_s3_options *o, objstore_t **out, char *err,
                     size_t errlen);
void objstore_close(objstore_t *os);
/* "local" or "s3". */
const char *objstore_kind(const objstore_t *os);

/* The operations (see the top of this file). Strings are borrowed for the call. */
int objstore_put_file(objstore_t *os, const char *key, const char *local_path, char *err,
                      size_t errlen);
int objstore_get_file(objstore_t *os, const char *key, const char *local_path, char *err,
                      size_t errlen);
int objstore_delete(objstore_t *os, const char *key, char *err, size_t errlen);
/* Caller frees *out with objstore_list_free (also after a failure: it is then empty). */
int objstore_list(objstore_t *os, const char *prefix, objstore_list_t *out, char *err,
                  size_t errlen);
void objstore_list_free(objstore_list_t *l);
/* info->key is set to NULL. */
int objstore_head(objstore_t *os, const char *key, objstore_obj_t *info, char *err, size_t errlen);

/* With on = 1, calls in progress on os fail soon with ORASI_ECLOSED (a transfer is
 * aborted, a retry backoff cut short) and so do later calls, until on = 0. Any thread,
 * without the handle's lock: this is how a shutdown deadline stops a long upload. */
void objstore_cancel(objstore_t *os, int on);
/* Whether os is cancelled (backends poll this). */
int objstore_cancelled(objstore_t *os);

/* 1 when key is acceptable (rules above), else 0. */
int objstore_key_ok(const char *key);

/* ---- S3 request pieces, exposed for tests (objstore_s3.c) ------------------------------ */

/* RFC 3986 percent-encoding as SigV4 wants it: unreserved bytes (A-Z a-z 0-9 - . _ ~)
 * stay, everything else becomes %XX (upper-case hex); '/' stays when keep_slash.
 * Appends to out (cap respected): 0, ORASI_ETOOBIG, ORASI_ENOMEM. */
int objstore_s3_uri_encode(buf_t *out, const char *s, size_t n, int keep_slash);
/* The canonical query string of SigV4 from n (name, value) pairs (value may be NULL or
 * "" for a bare parameter, which becomes "name="): each name and value encoded, pairs
 * sorted by encoded name then value, joined with '&'. Appends to out. */
int objstore_s3_canonical_query(buf_t *out, const char *const *names, const char *const *values,
                                size_t n);
/* Lower-case hex SHA-256 of bytes [off, off+len) of the file at fd (pread; the offset of
 * fd is not used), or of mem when fd < 0. out receives 64 chars and a NUL. */
int objstore_s3_sha256_hex(int fd, const void *mem, uint64_t off, uint64_t len, char out[65]);

#endif
