/*
 * wal_io.h — the thin file-system layer under the WAL (SQLite's VFS idea, much smaller).
 *
 * Every file operation the WAL makes goes through a `struct wal_io`, a const table of
 * function pointers. `wal_io_posix` is the real one. `wal_io_faulty` wraps it for tests
 * and the fuzz target: it can fail the Nth write or fsync with EIO/ENOSPC, do a short
 * write, and "crash" — throw away every byte that was not fsynced (per file, the synced
 * length is tracked in memory) and remove files whose creation was never made durable
 * with a directory fsync — so tests can prove that what was acknowledged survives a
 * crash and that what was lost never corrupts recovery.
 *
 * Conventions: every function returns >= 0 on success (a byte count, an fd, or 0) and a
 * negative ORASI_E* code on failure (errno mapped with orasi_err_from_errno; the errno
 * itself is left in errno for logs). Paths are full paths built by the caller. Short
 * reads and writes are returned as such; callers loop.
 */
#ifndef ORASI_WAL_WAL_IO_H
#define ORASI_WAL_WAL_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct wal_io;

/* Called once per directory entry name (not "." or ".."); a non-zero return stops the
 * listing and is returned by listdir. `name` is borrowed for the call. */
typedef int (*wal_io_dirent_fn)(void *ud, const char *name);

struct wal_io {
    /* open(2) flags and mode; returns an fd. */
    int (*open)(const struct wal_io *io, const char *path, int flags, int mode);
    int (*close)(const struct wal_io *io, int fd);
    /* Positional I/O (never moves a file offset, so readers and the writer share fds). */
    ssize_t (*pread)(const struct wal_io *io, int fd, void *p, size_t n, uint64_t off);
    ssize_t (*pwritev)(const struct wal_io *io, int fd, const struct iovec *iov, int iovcnt,
                       uint64_t off);
    int (*fdatasync)(const struct wal_io *io, int fd);
    int (*fsync)(const struct wal_io *io, int fd);
    int (*ftruncate)(const struct wal_io *io, int fd, uint64_t len);
    int (*fsize)(const struct wal_io *io, int fd, uint64_t *size);
    int (*rename)(const struct wal_io *io, const char *from, const char *to);
    int (*unlink)(const struct wal_io *io, const char *path);
    /* mkdir(path, 0755); ORASI_EEXISTS when it already exists. */
    int (*mkdir)(const struct wal_io *io, const char *path);
    /* open the directory, fsync it, close it: makes creates, renames, unlinks durable. */
    int (*fsync_dir)(const struct wal_io *io, const char *path);
    int (*listdir)(const struct wal_io *io, const char *path, wal_io_dirent_fn fn, void *ud);
    void *ctx; /* implementation state (NULL for posix) */
};

/* The real file system. */
extern const struct wal_io wal_io_posix;

/* ---- fault injection (tests, fuzzing) ----------------------------------------------- */

typedef struct wal_io_faulty wal_io_faulty_t;

/* A faulty layer over the real file system. Caller owns the result (wal_io_faulty_free,
 * after every WAL using it is closed). NULL on allocation failure. */
wal_io_faulty_t *wal_io_faulty_new(void);
void wal_io_faulty_free(wal_io_faulty_t *f);
/* The io table to put in wal_options_t.io; valid until wal_io_faulty_free. */
const struct wal_io *wal_io_faulty_io(wal_io_faulty_t *f);

/* After `skip` more successful writes (pwritev calls), fail the next `count` writes with
 * errno `err` (EIO, ENOSPC ...); count < 0: every write until wal_io_faulty_clear. */
void wal_io_faulty_fail_write(wal_io_faulty_t *f, unsigned skip, int err, int count);
/* After `skip` more successful writes, the next write stores only part of its bytes
 * (about half, at least one byte fewer) and returns that short count. */
void wal_io_faulty_short_write(wal_io_faulty_t *f, unsigned skip);
/* After `skip` more successful fsync/fdatasync calls (on files, not directories), fail
 * the next `count` of them with `err`; count < 0: until cleared. A failed sync does not
 * advance the synced length. */
void wal_io_faulty_fail_fsync(wal_io_faulty_t *f, unsigned skip, int err, int count);
/* Stop injecting (writes and syncs succeed again; a crashed layer stays crashed). */
void wal_io_faulty_clear(wal_io_faulty_t *f);

/* Simulate a power loss now: every tracked file is cut back to its synced length (torn:
 * keep a pseudo-random part of the unsynced bytes and scribble on one of them, seeded by
 * `seed`), and files created since the last fsync_dir of their directory are removed.
 * Afterwards every operation except close fails with EIO, as for a dead machine, until
 * wal_io_faulty_revive (which a test calls after closing the WAL, before reopening). */
void wal_io_faulty_crash(wal_io_faulty_t *f, int torn, uint32_t seed);
void wal_io_faulty_revive(wal_io_faulty_t *f);

/* Counters since creation: successful writes, file syncs and renames, injected
 * failures. */
typedef struct wal_io_faulty_stats {
    uint64_t writes;
    uint64_t syncs;
    uint64_t dir_syncs;
    uint64_t renames;
    uint64_t injected;
} wal_io_faulty_stats_t;
void wal_io_faulty_stats(wal_io_faulty_t *f, wal_io_faulty_stats_t *out);

#endif
