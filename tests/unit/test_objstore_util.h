/*
 * test_objstore_util.h — helpers shared by the object store tests: temporary
 * directories, files of pseudo-random bytes, whole-file comparison. Header-only.
 */
#ifndef ORASI_TEST_OBJSTORE_UTIL_H
#define ORASI_TEST_OBJSTORE_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static int to_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void to_rmrf(const char *dir)
{
    nftw(dir, to_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory under /tmp; caller frees (and removes with to_rmrf). */
static inline char *to_tmpdir(void)
{
    char t[] = "/tmp/orasi-objstore-test-XXXXXX";
    assert_non_null(mkdtemp(t));
    return strdup(t);
}

/* Write n pseudo-random bytes (xorshift from seed) to path. */
static inline void to_write_random(const char *path, size_t n, uint64_t seed)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    uint8_t blk[8192];
    for (size_t done = 0; done < n;) {
        for (size_t i = 0; i < sizeof(blk); i += 8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(blk + i, &x, 8);
        }
        size_t k = n - done < sizeof(blk) ? n - done : sizeof(blk);
        assert_int_equal(fwrite(blk, 1, k, f), k);
        done += k;
    }
    assert_int_equal(fclose(f), 0);
}

static inline void to_write_str(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, strlen(s), f), strlen(s));
    assert_int_equal(fclose(f), 0);
}

/* Whole file into memory (malloc), size in *n; NULL when it cannot be read. */
static inline uint8_t *to_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(sz > 0 ? (size_t)sz : 1);
    assert_non_null(p);
    size_t got = fread(p, 1, (size_t)sz, f);
    fclose(f);
    assert_int_equal(got, (size_t)sz);
    *n = (size_t)sz;
    return p;
}

/* 1 when both files exist and hold the same bytes. */
static inline int to_same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    uint8_t *pa = to_read_file(a, &na), *pb = to_read_file(b, &nb);
    int same = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

#endif
