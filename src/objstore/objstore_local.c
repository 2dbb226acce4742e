/*
 * objstore_local.c — the local-directory backend: object "a/b/c" is the file
 * <root>/a/b/c. Writes are atomic and durable like the lake's own files: copy to
 * <dir>/.tmp-<random>-<name>, fsync, rename, fsync the directory; so a reader sees the
 * whole old object or the whole new one. Names starting with ".tmp-" are never listed.
 */
#include "objstore/objstore_int.h"

#include "core/alloc.h"
#include "core/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCAL_MAX_DEPTH 64

struct local {
    objstore_t base;
    char *root; /* no trailing '/' */
};

static int errno_err(char *err, size_t errlen, const char *what, const char *path)
{
    int e = errno;
    snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
    return e == ENOENT ? ORASI_ENOTFOUND : orasi_err_from_errno(e);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return orasi_err_from_errno(errno);
    int rc = fsync(fd) ? orasi_err_from_errno(errno) : 0;
    close(fd);
    return rc;
}

/* mkdir -p of the directories of `path` (not its last component), from `from` on (the
 * part before it must exist). */
static int mkparents(char *path, size_t from)
{
    for (size_t i = from; path[i]; i++) {
        if (path[i] != '/')
            continue;
        path[i] = 0;
        int r = mkdir(path, 0755);
        int e = errno;
        path[i] = '/';
        if (r != 0 && e != EEXIST)
            return orasi_err_from_errno(e);
    }
    return 0;
}

static int path_of(const struct local *l, const char *key, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%s", l->root, key);
    return n < 0 || (size_t)n >= outlen ? ORASI_ETOOBIG : 0;
}

/*
 * Copy src to dst atomically: a temporary file next to dst, fsync, rename, fsync dir.
 * Copying (not linking) keeps the store independent of the source's later fate.
 */
static int copy_atomic(const char *src, const char *dst, char *err, size_t errlen)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    int in = -1, out = -1, rc = 0;
    uint8_t *buf = NULL;
    const char *slash = strrchr(dst, '/');
    size_t dlen = slash ? (size_t)(slash - dst) : 1;
    uint32_t r = 0;
    if (dlen >= sizeof(dir))
        return ORASI_ETOOBIG;
    if (slash)
        memcpy(dir, dst, dlen);
    else
        dir[0] = '.';
    dir[dlen] = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint32_t)getpid();
    int n = snprintf(tmp, sizeof(tmp), "%s/.tmp-%08x-%s", dir, r, slash ? slash + 1 : dst);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return ORASI_ETOOBIG;
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        rc = errno_err(err, errlen, "open", src);
        goto out;
    }
    out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = errno_err(err, errlen, "create", tmp);
        goto out;
    }
    enum { CHUNK = 1 << 20 };
    buf = orasi_malloc(CHUNK);
    if (!buf) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t got = read(in, buf, CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = errno_err(err, errlen, "read", src);
            goto out;
        }
        if (got == 0)
            break;
        for (ssize_t off = 0; off < got;) {
            ssize_t w = write(out, buf + off, (size_t)(got - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = errno_err(err, errlen, "write", tmp);
                goto out;
            }
            off += w;
        }
    }
    if (fsync(out) != 0) {
        rc = errno_err(err, errlen, "fsync", tmp);
        goto out;
    }
    if (close(out) != 0) {
        out = -1;
        rc = errno_err(err, errlen, "close", tmp);
        goto out;
    }
    out = -1;
    if (rename(tmp, dst) != 0) {
        rc = errno_err(err, errlen, "rename to", dst);
        goto out;
    }
    tmp[0] = 0; /* renamed: nothing to clean up */
    rc = fsync_dir(dir);
    if (rc)
        snprintf(err, errlen, "fsync %s: %s", dir, orasi_strerror(rc));
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (rc && tmp[0])
        unlink(tmp);
    orasi_free(buf);
    return rc;
}

static int local_put(objstore_t *os, const char *key, const char *path, char *err, size_t errlen)
{
    struct local *l = (struct local *)os;
    char dst[PATH_MAX];
    struct stat a, b;
    int rc = path_of(l, key, dst, sizeof(dst));
    if (rc)
        return rc;
    /* the source already is the object (a store rooted where the files are) */
    if (stat(path, &a) == 0 && stat(dst, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return 0;
    if ((rc = mkparents(dst, strlen(l->root) + 1))) {
        snprintf(err, errlen, "mkdir for %s: %s", dst, orasi_strerror(rc));
        return rc;
    }
    return copy_atomic(path, dst, err, errlen);
}

static int local_get(objstore_t *os, const char *key, const char *path, char *err, size_t errlen)
{
    struct local *l = (struct local *)os;
    char src[PATH_MAX];
    struct stat sb;
    int rc = path_of(l, key, src, sizeof(src));
    if (rc)
        return rc;
    if (stat(src, &sb) != 0)
        return errno_err(err, errlen, "stat", src);
    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", src);
        return ORASI_ENOTFOUND;
    }
    return copy_atomic(src, path, err, errlen);
}

static int local_del(objstore_t *os, const char *key, char *err, size_t errlen)
{
    struct local *l = (struct local *)os;
    char p[PATH_MAX];
    int rc = path_of(l, key, p, sizeof(p));
    if (rc)
        return rc;
    if (unlink(p) != 0 && errno != ENOENT)
        return errno_err(err, errlen, "unlink", p);
    /* drop directories left empty, up to (not including) the root */
    size_t rootlen = strlen(l->root);
    for (;;) {
        char *slash = strrchr(p, '/');
        if (!slash || (size_t)(slash - p) <= rootlen)
            break;
        *slash = 0;
        if (rmdir(p) != 0)
            break;
    }
    return 0;
}

/* Walk dir (whose key prefix is rel, "" or ending in '/') and push every regular file
 * whose key starts with prefix. */
static int walk(const char *dir, const char *rel, const char *prefix, int depth,
                objstore_list_t *out, size_t *cap, char *err, size_t errlen)
{
    if (depth > LOCAL_MAX_DEPTH)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? 0 : errno_err(err, errlen, "opendir", dir);
    int rc = 0;
    size_t plen = strlen(prefix);
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strncmp(e->d_name, ".tmp-", 5) == 0)
            continue;
        char path[PATH_MAX], key[PATH_MAX];
        int n1 = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        int n2 = snprintf(key, sizeof(key), "%s%s", rel, e->d_name);
        if (n1 < 0 || (size_t)n1 >= sizeof(path) || n2 < 0 || (size_t)n2 >= sizeof(key))
            continue;
        struct stat sb;
        if (lstat(path, &sb) != 0)
            continue;
        size_t klen = (size_t)n2;
        if (S_ISDIR(sb.st_mode)) {
            /* descend only where the prefix may still match below */
            size_t m = klen < plen ? klen : plen;
            if (strncmp(key, prefix, m) != 0 || klen + 1 >= sizeof(key))
                continue;
            key[klen] = '/';
            key[klen + 1] = 0;
            rc = walk(path, key, prefix, depth + 1, out, cap, err, errlen);
        } else if (S_ISREG(sb.st_mode) && klen >= plen && strncmp(key, prefix, plen) == 0 &&
                   klen <= OBJSTORE_MAX_KEY) {
            char etag[48];
            int en = snprintf(etag, sizeof(etag), "%llx-%llx", (unsigned long long)sb.st_size,
                              (unsigned long long)sb.st_mtim.tv_nsec);
            rc = objstore_list_push(out, cap, key, klen, (uint64_t)sb.st_size,
                                    (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec,
                                    etag, (size_t)en);
        }
    }
    closedir(d);
    return rc;
}

static int local_list(objstore_t *os, const char *prefix, objstore_list_t *out, size_t *cap,
                      char *err, size_t errlen)
{
    struct local *l = (struct local *)os;
    return walk(l->root, "", prefix, 0, out, cap, err, errlen);
}

static int local_head(objstore_t *os, const char *key, objstore_obj_t *info, char *err,
                      size_t errlen)
{
    struct local *l = (struct local *)os;
    char p[PATH_MAX];
    struct stat sb;
    int rc = path_of(l, key, p, sizeof(p));
    if (rc)
        return rc;
    if (stat(p, &sb) != 0)
        return errno_err(err, errlen, "stat", p);
    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", p);
        return ORASI_ENOTFOUND;
    }
    info->size = (uint64_t)sb.st_size;
    info->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    snprintf(info->etag, sizeof(info->etag), "%llx-%llx", (unsigned long long)sb.st_size,
             (unsigned long long)sb.st_mtim.tv_nsec);
    return 0;
}

static void local_destroy(objstore_t *os)
{
    struct local *l = (struct local *)os;
    orasi_free(l->root);
    orasi_free(l);
}

static const struct objstore_ops local_ops = {
    .kind = "local",
    .put_file = local_put,
    .get_file = local_get,
    .del = local_del,
    .list = local_list,
    .head = local_head,
    .destroy = local_destroy,
};

int objstore_local_open(const char *root, objstore_t **out, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    *out = NULL;
    if (!root || !root[0]) {
        snprintf(err, errlen, "objstore: local root directory is required");
        return ORASI_EINVAL;
    }
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (n + 2 >= sizeof(buf)) {
        snprintf(err, errlen, "objstore: local root too long");
        return ORASI_ETOOBIG;
    }
    memcpy(buf, root, n);
    buf[n] = '/';
    buf[n + 1] = 0;
    int rc = mkparents(buf, 1);
    if (rc) {
        snprintf(err, errlen, "objstore: cannot create %.*s: %s", (int)n, root, orasi_strerror(rc));
        return rc;
    }
    struct local *l = orasi_calloc(1, sizeof(*l));
    if (!l || !(l->root = orasi_strndup(root, n))) {
        orasi_free(l);
        snprintf(err, errlen, "objstore: out of memory");
        return ORASI_ENOMEM;
    }
    objstore_base_init(&l->base, &local_ops);
    *out = &l->base;
    return 0;
}
