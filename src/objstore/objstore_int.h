/*
 * objstore_int.h — what a backend implements (objstore.h's operations as a const table)
 * and helpers shared by the backends. Not for users of the object store.
 */
#ifndef ORASI_OBJSTORE_OBJSTORE_INT_H
#define ORASI_OBJSTORE_OBJSTORE_INT_H

#include "objstore/objstore.h"

#include <pthread.h>
#include <stdatomic.h>

struct objstore_ops {
    const char *kind;
    /* Keys are validated by objstore.c before a backend sees them; err is never NULL
     * (objstore.c passes a scratch buffer when the caller gave none). */
    int (*put_file)(objstore_t *os, const char *key, const char *path, char *err, size_t errlen);
    int (*get_file)(objstore_t *os, const char *key, const char *path, char *err, size_t errlen);
    int (*del)(objstore_t *os, const char *key, char *err, size_t errlen);
    /* Appends to out (empty on entry) with objstore_list_push; need not sort. */
    int (*list)(objstore_t *os, const char *prefix, objstore_list_t *out, size_t *cap, char *err,
                size_t errlen);
    int (*head)(objstore_t *os, const char *key, objstore_obj_t *info, char *err, size_t errlen);
    void (*destroy)(objstore_t *os);
};

/* Every backend's handle starts with this. */
struct objstore {
    const struct objstore_ops *ops;
    pthread_mutex_t mu; /* serialises calls (objstore.c) */
    _Atomic int cancel; /* objstore_cancel */
};

/* Set up the common part (objstore_close tears it down through ops->destroy). */
void objstore_base_init(objstore_t *os, const struct objstore_ops *ops);
/* Append a copy of key[0..keylen) with its attributes; *cap is the allocated length.
 * ORASI_ETOOBIG past OBJSTORE_MAX_LIST entries, ORASI_ENOMEM. */
int objstore_list_push(objstore_list_t *l, size_t *cap, const char *key, size_t keylen,
                       uint64_t size, int64_t mtime_ns, const char *etag, size_t etaglen);
/* Strip surrounding double quotes of an ETag into out (80 bytes, truncated). */
void objstore_etag_copy(char out[80], const char *etag, size_t n);

#endif
