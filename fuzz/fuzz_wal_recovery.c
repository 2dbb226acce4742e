/*
 * fuzz_wal_recovery.c — WAL recovery on arbitrary files. Must never crash, and must
 * leave a log that reads back cleanly and keeps working.
 *
 * Input: byte 0 = flags, then (flags & 1) 32 bytes of checkpoint file, then segment files
 * concatenated; a new segment starts at each "ORWALSEG" (its name's first seq is taken
 * from its header, so real segments keep their names). Flags also let the fuzzer get
 * past the checksums: 2 = make the checkpoint's magic/version/CRC valid, 0x10 = fix
 * each segment header's CRC, 0x20 = fix every record CRC along the chain, 0x40 = after
 * recovery, append with the faulty I/O layer, crash (torn) and check that everything
 * acknowledged survives a second recovery.
 *
 * Checked after open: every record from checkpoint+1 reads back (no ECORRUPT: recovery
 * must have cut whatever is bad) in gapless sequence; an append gets last_seq + 1; after
 * close and reopen that record is there. Files live in a directory on /dev/shm (tmpfs:
 * fsync is free) when it exists.
 */
#include "core/crc32c.h"
#include "core/err.h"
#include "core/log.h"
#include "wal/wal.h"
#include "wal/wal_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fz_dir[256];

static void fz_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t fz_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fz_clean(void)
{
    DIR *d = opendir(fz_dir);
    if (!d)
        return;
    struct dirent *de;
    char p[512];
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", fz_dir, de->d_name);
        unlink(p);
    }
    closedir(d);
}

static void fz_write(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", fz_dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        abort();
    if (n && write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

/* Write one segment file from the chunk [p, p+n), optionally fixing its checksums. */
static void fz_segment(uint8_t *p, size_t n, int flags)
{
    uint64_t first = 1;
    if (n >= 24) {
        first = 0;
        for (int i = 0; i < 8; i++)
            first |= (uint64_t)p[16 + i] << (8 * i);
        if (!first)
            first = 1;
        if (first > 99999999999999999ull) /* keep it a 20-digit name */
            first %= 99999999999999999ull;
    }
    if ((flags & 0x10) && n >= 32)
        fz_put32(p + 24, crc32c(0, p, 24));
    if (flags & 0x20) {
        size_t off = 32;
        while (off + 25 <= n) {
            uint32_t len = fz_get32(p + off);
            if (len > n - off - 25)
                break;
            fz_put32(p + off + 4, crc32c(0, p + off + 8, 17 + (size_t)len));
            off += 25 + (size_t)len;
        }
    }
    char name[64];
    snprintf(name, sizeof(name), "seg-%020" PRIu64 ".wal", first);
    fz_write(name, p, n);
}

static wal_options_t fz_opts(const struct wal_io *io, enum wal_sync sync)
{
    wal_options_t o;
    wal_options_default(&o);
    o.sync = sync;
    o.segment_bytes = 4096;
    o.max_bytes = 1 << 20;
    o.max_record_bytes = 8192;
    o.io = io;
    o.metrics_name = "fuzz";
    return o;
}

/* Read everything from the checkpoint on; abort on any error or gap. Returns the last
 * seq read (or checkpoint when none) and, if want_seq matches, compares its payload. */
static uint64_t fz_read_all(wal_t *w, uint64_t want_seq, const void *want, size_t wantlen,
                            int *found)
{
    wal_cursor_t *c;
    if (wal_cursor_open(w, &c))
        abort();
    uint64_t seq, expect = wal_checkpoint_seq(w) + 1, last = wal_checkpoint_seq(w);
    uint8_t type;
    slice_t p;
    int rc;
    while ((rc = wal_cursor_next(c, &seq, &type, &p)) == 1) {
        if (seq < expect) /* checkpointed records may be skipped, never repeated */
            abort();
        if (seq != expect && expect != wal_checkpoint_seq(w) + 1)
            abort();
        if (seq == want_seq && found) {
            if (p.len != wantlen || memcmp(p.p, want, wantlen))
                abort();
            *found = 1;
        }
        last = seq;
        expect = seq + 1;
    }
    if (rc != 0)
        abort();
    wal_cursor_close(c);
    return last;
}

static void fz_atexit(void)
{
    fz_clean();
    rmdir(fz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_OFF);
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fz_dir, sizeof(fz_dir), "%s/orasi-fuzz-wal-%d", base, (int)getpid());
    mkdir(fz_dir, 0700);
    atexit(fz_atexit);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 20))
        return 0;
    fz_clean();
    int flags = data[0];
    data++;
    size--;
    if ((flags & 1) && size >= 32) {
        uint8_t ck[32];
        memcpy(ck, data, 32);
        if (flags & 2) {
            memcpy(ck, "ORWALCKP", 8);
            fz_put32(ck + 8, 1);
            fz_put32(ck + 24, crc32c(0, ck, 24));
        }
        fz_write("checkpoint", ck, 32);
        data += 32;
        size -= 32;
    }
    /* Split at each "ORWALSEG". */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    size_t start = 0;
    for (size_t i = 1; i + 8 <= size; i++)
        if (!memcmp(copy + i, "ORWALSEG", 8)) {
            fz_segment(copy + start, i - start, flags);
            start = i;
        }
    if (size)
        fz_segment(copy + start, size - start, flags);
    free(copy);

    wal_options_t o = fz_opts(NULL, WAL_SYNC_NONE);
    wal_t *w = NULL;
    char err[256];
    int rc = wal_open(fz_dir, &o, &w, err, sizeof(err));
    if (rc == ORASI_EUNSUPPORTED)
        return 0;
    if (rc) {
        fprintf(stderr, "wal_open: %s\n", err);
        abort();
    }
    uint64_t last = fz_read_all(w, 0, NULL, 0, NULL);
    if (last > wal_last_seq(w))
        abort();
    uint64_t seq, before = wal_last_seq(w);
    if (before < wal_checkpoint_seq(w) || wal_durable_seq(w) != before)
        abort();
    static const char msg[] = "fuzz-append";
    rc = wal_append_sync(w, 7, msg, sizeof(msg), &seq);
    if (before >= WAL_SEQ_MAX) {
        /* a checkpoint or segment at the end of the sequence space: nothing more fits */
        if (rc != ORASI_EFULL)
            abort();
        wal_close(w);
        return 0;
    }
    if (rc || seq != before + 1)
        abort();
    uint64_t expect_seq = seq;
    wal_close(w);

    if (flags & 0x40) {
        /* Crash a few fsync'ed appends; acknowledged ones must survive. */
        wal_io_faulty_t *f = wal_io_faulty_new();
        if (!f)
            return 0;
        o = fz_opts(wal_io_faulty_io(f), WAL_SYNC_FSYNC);
        if (wal_open(fz_dir, &o, &w, err, sizeof(err)))
            abort();
        for (int i = 0; i < 3; i++)
            if (wal_append_sync(w, 8, msg, sizeof(msg), &seq) == 0)
                expect_seq = seq;
        wal_append(w, 9, "unsynced", 8, NULL, NULL);
        wal_io_faulty_crash(f, 1, (uint32_t)size);
        wal_close(w);
        wal_io_faulty_free(f);
        o = fz_opts(NULL, WAL_SYNC_NONE);
    }

    rc = wal_open(fz_dir, &o, &w, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "reopen: %s\n", err);
        abort();
    }
    int found = 0;
    last = fz_read_all(w, expect_seq, msg, sizeof(msg), &found);
    if (!found || last < expect_seq)
        abort();
    wal_close(w);
    return 0;
}
