/*
 * wal_io.c — the WAL's file-system layer: the POSIX implementation and the faulty one
 * used by tests and the fuzz target (see wal_io.h for the contract).
 *
 * The faulty layer forwards to POSIX and keeps, per file path, the length known to be
 * durable: it becomes the file size at each successful fsync/fdatasync and shrinks with
 * ftruncate. A file created with O_CREAT stays "unsynced" until the directory holding it
 * is fsynced. wal_io_faulty_crash() applies that model to the real files: what was not
 * made durable is cut (or, in torn mode, partly kept and scribbled on), as a power loss
 * on a file system that keeps nothing it was not told to would do. Bytes overwritten
 * inside the durable length since the last sync (a reused WAL segment) are zeroed from
 * the lowest such offset on (torn mode: from a random point after it): they read as
 * neither the old nor the new content. Renames and unlinks
 * are modelled as durable at once (the WAL fsyncs the directory right after each rename
 * that matters, and a resurrected unlinked segment is harmless to recovery).
 */
#include "wal/wal_io.h"

#include "core/alloc.h"
#include "core/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- POSIX ---------------------------------------------------------------------------- */

static int walio_err(void)
{
    int e = errno ? errno : EIO;
    errno = e;
    return orasi_err_from_errno(e);
}

static int walio_posix_open(const struct wal_io *io, const char *path, int flags, int mode)
{
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? walio_err() : fd;
}

static int walio_posix_close(const struct wal_io *io, int fd)
{
    /* No retry on EINTR: on Linux the fd is gone either way. */
    return close(fd) < 0 && errno != EINTR ? walio_err() : 0;
}

static ssize_t walio_posix_pread(const struct wal_io *io, int fd, void *p, size_t n, uint64_t off)
{
    ssize_t r;
    do
        r = pread(fd, p, n, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r < 0 ? walio_err() : r;
}

static ssize_t walio_posix_pwritev(const struct wal_io *io, int fd, const struct iovec *iov,
                                   int iovcnt, uint64_t off)
{
    ssize_t r;
    do
        r = pwritev(fd, iov, iovcnt, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r < 0 ? walio_err() : r;
}

static int walio_posix_fdatasync(const struct wal_io *io, int fd)
{
    int r;
    do
        r = fdatasync(fd);
    while (r < 0 && errno == EINTR);
    return r < 0 ? walio_err() : 0;
}

static int walio_posix_fsync(const struct wal_io *io, int fd)
{
    int r;
    do
        r = fsync(fd);
    while (r < 0 && errno == EINTR);
    return r < 0 ? walio_err() : 0;
}

static int walio_posix_ftruncate(const struct wal_io *io, int fd, uint64_t len)
{
    int r;
    do
        r = ftruncate(fd, (off_t)len);
    while (r < 0 && errno == EINTR);
    return r < 0 ? walio_err() : 0;
}

static int walio_posix_fsize(const struct wal_io *io, int fd, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return walio_err();
    *size = (uint64_t)st.st_size;
    return 0;
}

static int walio_posix_rename(const struct wal_io *io, const char *from, const char *to)
{
    return rename(from, to) < 0 ? walio_err() : 0;
}

static int walio_posix_unlink(const struct wal_io *io, const char *path)
{
    return unlink(path) < 0 ? walio_err() : 0;
}

static int walio_posix_mkdir(const struct wal_io *io, const char *path)
{
    return mkdir(path, 0755) < 0 ? walio_err() : 0;
}

static int walio_posix_fsync_dir(const struct wal_io *io, const char *path)
{
    int fd = walio_posix_open(io, path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    int rc = walio_posix_fsync(io, fd);
    close(fd);
    return rc;
}

static int walio_posix_listdir(const struct wal_io *io, const char *path, wal_io_dirent_fn fn,
                               void *ud)
{
    DIR *d = opendir(path);
    if (!d)
        return walio_err();
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        rc = fn(ud, de->d_name);
        if (rc)
            break;
        errno = 0;
    }
    if (!rc && errno)
        rc = walio_err();
    closedir(d);
    return rc;
}

const struct wal_io wal_io_posix = {
    .open = walio_posix_open,
    .close = walio_posix_close,
    .pread = walio_posix_pread,
    .pwritev = walio_posix_pwritev,
    .fdatasync = walio_posix_fdatasync,
    .fsync = walio_posix_fsync,
    .ftruncate = walio_posix_ftruncate,
    .fsize = walio_posix_fsize,
    .rename = walio_posix_rename,
    .unlink = walio_posix_unlink,
    .mkdir = walio_posix_mkdir,
    .fsync_dir = walio_posix_fsync_dir,
    .listdir = walio_posix_listdir,
    .ctx = NULL,
};

/* ---- faulty ---------------------------------------------------------------------------- */

#define WALIO_MAX_FILES 512 /* tracked paths; tests use far fewer */
#define WALIO_MAX_FDS 512

struct walio_file {
    char *path; /* owned; NULL: slot free */
    uint64_t synced;
    uint64_t dirty_lo; /* lowest offset written since the last sync; UINT64_MAX: none */
    int created;       /* created since the last fsync_dir of its directory */
};

struct walio_inject {
    unsigned skip;
    int err;
    int count; /* 0: off; < 0: until cleared */
};

struct wal_io_faulty {
    struct wal_io io; /* ctx points back here */
    pthread_mutex_t mu;
    struct walio_file files[WALIO_MAX_FILES];
    struct {
        int fd;
        int file; /* index into files */
    } fds[WALIO_MAX_FDS];
    int nfds;
    struct walio_inject wr, sync;
    int short_armed;
    unsigned short_skip;
    int dead;
    wal_io_faulty_stats_t st;
};

static wal_io_faulty_t *walio_f(const struct wal_io *io)
{
    return (wal_io_faulty_t *)io->ctx;
}

static int walio_dead(wal_io_faulty_t *f)
{
    errno = EIO;
    f->st.injected++;
    return ORASI_EIO;
}

static int walio_file_find(wal_io_faulty_t *f, const char *path)
{
    for (int i = 0; i < WALIO_MAX_FILES; i++)
        if (f->files[i].path && !strcmp(f->files[i].path, path))
            return i;
    return -1;
}

static int walio_file_add(wal_io_faulty_t *f, const char *path)
{
    for (int i = 0; i < WALIO_MAX_FILES; i++)
        if (!f->files[i].path) {
            f->files[i].path = orasi_strdup(path);
            if (!f->files[i].path)
                return ORASI_ENOMEM;
            f->files[i].synced = 0;
            f->files[i].dirty_lo = UINT64_MAX;
            f->files[i].created = 0;
            return i;
        }
    return ORASI_EFULL;
}

static void walio_file_drop(wal_io_faulty_t *f, int i)
{
    orasi_free(f->files[i].path);
    f->files[i].path = NULL;
    for (int k = 0; k < f->nfds; k++)
        if (f->fds[k].file == i)
            f->fds[k].file = -1; /* fd still open on an unlinked file: no longer tracked */
}

static int walio_fd_file(wal_io_faulty_t *f, int fd)
{
    for (int k = 0; k < f->nfds; k++)
        if (f->fds[k].fd == fd)
            return f->fds[k].file;
    return -1;
}

/* Whether this injection fires now (consumes skip and count). Caller holds mu. */
static int walio_inject_fire(struct walio_inject *in)
{
    if (!in->count)
        return 0;
    if (in->skip) {
        in->skip--;
        return 0;
    }
    if (in->count > 0)
        in->count--;
    return 1;
}

static int walio_f_open(const struct wal_io *io, const char *path, int flags, int mode)
{
    wal_io_faulty_t *f = walio_f(io);
    int rc;
    pthread_mutex_lock(&f->mu);
    if (f->dead) {
        rc = walio_dead(f);
        goto out;
    }
    if (f->nfds >= WALIO_MAX_FDS) {
        rc = ORASI_EFULL;
        goto out;
    }
    struct stat st;
    int existed = stat(path, &st) == 0;
    int i = walio_file_find(f, path);
    if (i < 0) {
        i = walio_file_add(f, path);
        if (i < 0) {
            rc = i;
            goto out;
        }
        /* A file we did not see being written is taken as durable as it is. */
        f->files[i].synced = existed ? (uint64_t)st.st_size : 0;
    }
    rc = walio_posix_open(io, path, flags, mode);
    if (rc < 0) {
        if (!existed)
            walio_file_drop(f, i);
        goto out;
    }
    if (!existed)
        f->files[i].created = 1;
    if (flags & O_TRUNC)
        f->files[i].synced = 0;
    f->fds[f->nfds].fd = rc;
    f->fds[f->nfds].file = i;
    f->nfds++;
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int walio_f_close(const struct wal_io *io, int fd)
{
    wal_io_faulty_t *f = walio_f(io);
    pthread_mutex_lock(&f->mu);
    for (int k = 0; k < f->nfds; k++)
        if (f->fds[k].fd == fd) {
            f->fds[k] = f->fds[--f->nfds];
            break;
        }
    pthread_mutex_unlock(&f->mu);
    return walio_posix_close(io, fd);
}

static ssize_t walio_f_pread(const struct wal_io *io, int fd, void *p, size_t n, uint64_t off)
{
    wal_io_faulty_t *f = walio_f(io);
    pthread_mutex_lock(&f->mu);
    int dead = f->dead ? walio_dead(f) : 0;
    pthread_mutex_unlock(&f->mu);
    return dead ? dead : walio_posix_pread(io, fd, p, n, off);
}

static ssize_t walio_f_pwritev(const struct wal_io *io, int fd, const struct iovec *iov, int iovcnt,
                               uint64_t off)
{
    wal_io_faulty_t *f = walio_f(io);
    ssize_t rc;
    struct iovec part[64];
    pthread_mutex_lock(&f->mu);
    if (f->dead) {
        rc = walio_dead(f);
        goto out;
    }
    if (walio_inject_fire(&f->wr)) {
        f->st.injected++;
        errno = f->wr.err;
        rc = orasi_err_from_errno(f->wr.err);
        goto out;
    }
    if (f->short_armed && f->short_skip) {
        f->short_skip--;
    } else if (f->short_armed) {
        f->short_armed = 0;
        size_t total = 0;
        for (int k = 0; k < iovcnt; k++)
            total += iov[k].iov_len;
        if (total >= 2) {
            /* Keep the first half of the bytes: copy the iovecs up to that point. */
            size_t want = total / 2, got = 0;
            int n = 0;
            for (int k = 0; k < iovcnt && got < want && n < 64; k++, n++) {
                part[n] = iov[k];
                if (part[n].iov_len > want - got)
                    part[n].iov_len = want - got;
                got += part[n].iov_len;
            }
            f->st.injected++;
            iov = part;
            iovcnt = n;
        }
    }
    rc = walio_posix_pwritev(io, fd, iov, iovcnt, off);
    if (rc >= 0) {
        f->st.writes++;
        int i = walio_fd_file(f, fd);
        if (i >= 0 && off < f->files[i].dirty_lo)
            f->files[i].dirty_lo = off;
    }
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int walio_f_sync(const struct wal_io *io, int fd, int data_only)
{
    wal_io_faulty_t *f = walio_f(io);
    int rc;
    pthread_mutex_lock(&f->mu);
    if (f->dead) {
        rc = walio_dead(f);
        goto out;
    }
    if (walio_inject_fire(&f->sync)) {
        f->st.injected++;
        errno = f->sync.err;
        rc = orasi_err_from_errno(f->sync.err);
        goto out;
    }
    rc = data_only ? walio_posix_fdatasync(io, fd) : walio_posix_fsync(io, fd);
    if (rc < 0)
        goto out;
    f->st.syncs++;
    int i = walio_fd_file(f, fd);
    uint64_t size = 0;
    if (i >= 0 && walio_posix_fsize(io, fd, &size) == 0) {
        f->files[i].synced = size;
        f->files[i].dirty_lo = UINT64_MAX;
    }
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int walio_f_fdatasync(const struct wal_io *io, int fd)
{
    return walio_f_sync(io, fd, 1);
}

static int walio_f_fsync(const struct wal_io *io, int fd)
{
    return walio_f_sync(io, fd, 0);
}

static int walio_f_ftruncate(const struct wal_io *io, int fd, uint64_t len)
{
    wal_io_faulty_t *f = walio_f(io);
    int rc;
    pthread_mutex_lock(&f->mu);
    if (f->dead) {
        rc = walio_dead(f);
        goto out;
    }
    rc = walio_posix_ftruncate(io, fd, len);
    int i = walio_fd_file(f, fd);
    if (!rc && i >= 0 && f->files[i].synced > len)
        f->files[i].synced = len;
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int walio_f_fsize(const struct wal_io *io, int fd, uint64_t *size)
{
    wal_io_faulty_t *f = walio_f(io);
    pthread_mutex_lock(&f->mu);
    int dead = f->dead ? walio_dead(f) : 0;
    pthread_mutex_unlock(&f->mu);
    return dead ? dead : walio_posix_fsize(io, fd, size);
}

static int walio_f_rename(const struct wal_io *io, const char *from, const char *to)
{
    wal_io_faulty_t *f = walio_f(io);
    int rc;
    pthread_mutex_lock(&f->mu);
    if (f->dead) {
        rc = walio_dead(f);
        goto out;
    }
    rc = walio_posix_rename(io, from, to);
    if (rc)
        goto out;
    f->st.renames++;
    int t = walio_file_find(f, to), s = walio_file_find(f, from);
    if (t >= 0)
        walio_file_drop(f, t);
    if (s >= 0) {
        char *p = orasi_strdup(to);
        if (p) {
            orasi_free(f->files[s].path);
            f->files[s].path = p;
        } else {
            walio_file_drop(f, s); /* untracked from now on: treated as durable */
        }
    }
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int walio_f_unlink(const struct wal_io *io, const char *path)
{
    wal_io_faulty_t *f = walio_f(io);
    int rc;
    pthread_mutex_lock(&f->mu);
    if (f->dead) {
        rc = walio_dead(f);
        goto out;
    }
    rc = walio_posix_unlink(io, path);
    int i = walio_file_find(f, path);
    if (!rc && i >= 0)
        walio_file_drop(f, i);
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int walio_f_mkdir(const struct wal_io *io, const char *path)
{
    wal_io_faulty_t *f = walio_f(io);
    pthread_mutex_lock(&f->mu);
    int dead = f->dead ? walio_dead(f) : 0;
    pthread_mutex_unlock(&f->mu);
    return dead ? dead : walio_posix_mkdir(io, path);
}

static int walio_f_fsync_dir(const struct wal_io *io, const char *path)
{
    wal_io_faulty_t *f = walio_f(io);
    int rc;
    pthread_mutex_lock(&f->mu);
    if (f->dead) {
        rc = walio_dead(f);
        goto out;
    }
    rc = walio_posix_fsync_dir(io, path);
    if (rc)
        goto out;
    f->st.dir_syncs++;
    size_t n = strlen(path);
    for (int i = 0; i < WALIO_MAX_FILES; i++) {
        const char *p = f->files[i].path;
        if (p && !strncmp(p, path, n) && p[n] == '/' && !strchr(p + n + 1, '/'))
            f->files[i].created = 0;
    }
out:
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int walio_f_listdir(const struct wal_io *io, const char *path, wal_io_dirent_fn fn, void *ud)
{
    wal_io_faulty_t *f = walio_f(io);
    pthread_mutex_lock(&f->mu);
    int dead = f->dead ? walio_dead(f) : 0;
    pthread_mutex_unlock(&f->mu);
    return dead ? dead : walio_posix_listdir(io, path, fn, ud);
}

wal_io_faulty_t *wal_io_faulty_new(void)
{
    wal_io_faulty_t *f = orasi_calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    f->io = (struct wal_io){
        .open = walio_f_open,
        .close = walio_f_close,
        .pread = walio_f_pread,
        .pwritev = walio_f_pwritev,
        .fdatasync = walio_f_fdatasync,
        .fsync = walio_f_fsync,
        .ftruncate = walio_f_ftruncate,
        .fsize = walio_f_fsize,
        .rename = walio_f_rename,
        .unlink = walio_f_unlink,
        .mkdir = walio_f_mkdir,
        .fsync_dir = walio_f_fsync_dir,
        .listdir = walio_f_listdir,
        .ctx = f,
    };
    return f;
}

void wal_io_faulty_free(wal_io_faulty_t *f)
{
    if (!f)
        return;
    for (int i = 0; i < WALIO_MAX_FILES; i++)
        orasi_free(f->files[i].path);
    pthread_mutex_destroy(&f->mu);
    orasi_free(f);
}

const struct wal_io *wal_io_faulty_io(wal_io_faulty_t *f)
{
    return &f->io;
}

void wal_io_faulty_fail_write(wal_io_faulty_t *f, unsigned skip, int err, int count)
{
    pthread_mutex_lock(&f->mu);
    f->wr = (struct walio_inject){.skip = skip, .err = err ? err : EIO, .count = count};
    pthread_mutex_unlock(&f->mu);
}

void wal_io_faulty_short_write(wal_io_faulty_t *f, unsigned skip)
{
    pthread_mutex_lock(&f->mu);
    f->short_armed = 1;
    f->short_skip = skip;
    pthread_mutex_unlock(&f->mu);
}

void wal_io_faulty_fail_fsync(wal_io_faulty_t *f, unsigned skip, int err, int count)
{
    pthread_mutex_lock(&f->mu);
    f->sync = (struct walio_inject){.skip = skip, .err = err ? err : EIO, .count = count};
    pthread_mutex_unlock(&f->mu);
}

void wal_io_faulty_clear(wal_io_faulty_t *f)
{
    pthread_mutex_lock(&f->mu);
    f->wr.count = 0;
    f->sync.count = 0;
    f->short_armed = 0;
    pthread_mutex_unlock(&f->mu);
}

static uint32_t walio_rand(uint32_t *s)
{
    /* xorshift32: deterministic per seed, good enough to pick cut points. */
    uint32_t x = *s ? *s : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Zero bytes [from, to) of a file; best effort (a crash that keeps them is valid too). */
static void walio_zero(const char *path, uint64_t from, uint64_t to)
{
    static const uint8_t zero[4096];
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    while (from < to) {
        size_t n = to - from > sizeof(zero) ? sizeof(zero) : (size_t)(to - from);
        ssize_t r = pwrite(fd, zero, n, (off_t)from);
        if (r <= 0)
            break;
        from += (uint64_t)r;
    }
    close(fd);
}

void wal_io_faulty_crash(wal_io_faulty_t *f, int torn, uint32_t seed)
{
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < WALIO_MAX_FILES; i++) {
        struct walio_file *fl = &f->files[i];
        if (!fl->path)
            continue;
        if (fl->created) {
            unlink(fl->path);
            walio_file_drop(f, i);
            continue;
        }
        if (fl->dirty_lo < fl->synced) {
            /* Overwritten in place, not synced: lost from some point on. */
            uint64_t from = fl->dirty_lo;
            if (torn)
                from += walio_rand(&seed) % (fl->synced - from + 1);
            walio_zero(fl->path, from, fl->synced);
            fl->dirty_lo = UINT64_MAX;
        }
        struct stat st;
        if (stat(fl->path, &st) < 0 || (uint64_t)st.st_size <= fl->synced)
            continue;
        uint64_t unsynced = (uint64_t)st.st_size - fl->synced;
        uint64_t keep = fl->synced;
        if (torn)
            keep += walio_rand(&seed) % (unsynced + 1);
        if (truncate(fl->path, (off_t)keep) < 0)
            continue;
        if (torn && keep > fl->synced) {
            /* One garbage byte somewhere in what survived unsynced (a torn sector). */
            int fd = open(fl->path, O_WRONLY | O_CLOEXEC);
            if (fd >= 0) {
                uint8_t b = (uint8_t)walio_rand(&seed);
                uint64_t at = fl->synced + walio_rand(&seed) % (keep - fl->synced);
                if (pwrite(fd, &b, 1, (off_t)at) < 0) {
                    /* best effort: the cut alone is a valid crash too */
                }
                close(fd);
            }
        }
        fl->synced = keep;
    }
    f->dead = 1;
    pthread_mutex_unlock(&f->mu);
}

void wal_io_faulty_revive(wal_io_faulty_t *f)
{
    pthread_mutex_lock(&f->mu);
    f->dead = 0;
    f->wr.count = 0;
    f->sync.count = 0;
    f->short_armed = 0;
    pthread_mutex_unlock(&f->mu);
}

void wal_io_faulty_stats(wal_io_faulty_t *f, wal_io_faulty_stats_t *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->st;
    pthread_mutex_unlock(&f->mu);
}
