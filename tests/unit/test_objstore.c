/*
 * test_objstore.c — the object store through its interface, on both backends:
 * the local directory, and S3 against s3rver (npm, a real S3-protocol server started on a
 * loopback port). Small and multipart (20 MiB in 8 MiB parts) objects come back
 * byte-identical; listings honour prefixes and the store's own prefix; deletes are
 * idempotent; a missing key is ORASI_ENOTFOUND; an upload started while the server is
 * down completes once it is back (retries with backoff). Key validation.
 */
#include "core/alloc.h"
#include "core/err.h"
#include "objstore/objstore.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "test_objstore_s3rver.h"
#include "test_objstore_util.h"

static void test_key_ok(void **state)
{
    (void)state;
    const char *good[] = {
        "a",       "a/b",       "tenant=x/signal=traces/date=2026-01-01/hour=00/u.parquet",
        "a b/c+d", ".hidden/x", "a..b",
        "x/...",   "\xc3\xa9"};
    const char *bad[] = {"",     "/a",   "a//b", "a/",    "./a", "a/./b",
                         "../a", "a/..", "a\nb", "a\x7f", NULL};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(objstore_key_ok(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(objstore_key_ok(bad[i]));
    char big[OBJSTORE_MAX_KEY + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[OBJSTORE_MAX_KEY + 1] = 0;
    assert_false(objstore_key_ok(big));
    big[OBJSTORE_MAX_KEY] = 0;
    assert_true(objstore_key_ok(big));
}

/* The same scenario on any backend. big_size 0 skips the large object. */
static void exercise(objstore_t *os, const char *dir, size_t big_size)
{
    char small[512], big[512], back[512], err[512];
    snprintf(small, sizeof(small), "%s/small.bin", dir);
    snprintf(big, sizeof(big), "%s/big.bin", dir);
    snprintf(back, sizeof(back), "%s/back.bin", dir);
    to_write_random(small, 1000, 11);
    const char *k1 = "tenant=t1/signal=traces/date=2026-01-02/hour=03/a.parquet";
    const char *k2 = "tenant=t1/signal=traces/date=2026-01-02/hour=04/b c+d.parquet";
    const char *k3 = "tenant=t2/signal=logs/date=2026-01-02/hour=03/c.parquet";
    assert_int_equal(objstore_put_file(os, k1, small, err, sizeof(err)), 0);
    assert_int_equal(objstore_put_file(os, k3, small, err, sizeof(err)), 0);
    if (big_size) {
        to_write_random(big, big_size, 12);
        int rc = objstore_put_file(os, k2, big, err, sizeof(err));
        if (rc)
            fprintf(stderr, "put big: %s\n", err);
        assert_int_equal(rc, 0);
        assert_int_equal(objstore_get_file(os, k2, back, err, sizeof(err)), 0);
        assert_true(to_same_file(big, back));
    } else {
        assert_int_equal(objstore_put_file(os, k2, small, err, sizeof(err)), 0);
    }
    assert_int_equal(objstore_get_file(os, k1, back, err, sizeof(err)), 0);
    assert_true(to_same_file(small, back));
    /* overwrite: the new bytes win */
    to_write_str(small, "replaced");
    assert_int_equal(objstore_put_file(os, k1, small, err, sizeof(err)), 0);
    assert_int_equal(objstore_get_file(os, k1, back, err, sizeof(err)), 0);
    assert_true(to_same_file(small, back));

    objstore_obj_t info;
    assert_int_equal(objstore_head(os, k1, &info, err, sizeof(err)), 0);
    assert_int_equal(info.size, 8);
    assert_null(info.key);
    assert_true(info.mtime_ns > 0);
    assert_int_equal(objstore_head(os, "tenant=t1/none", &info, err, sizeof(err)), ORASI_ENOTFOUND);
    assert_int_equal(objstore_get_file(os, "tenant=t1/none", back, err, sizeof(err)),
                     ORASI_ENOTFOUND);

    objstore_list_t l;
    assert_int_equal(objstore_list(os, "tenant=t1/", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].key, k1);
    assert_int_equal(l.v[0].size, 8);
    assert_string_equal(l.v[1].key, k2);
    assert_int_equal(l.v[1].size, big_size ? big_size : 8);
    objstore_list_free(&l);
    /* a prefix that ends inside a name, the whole store, and nothing */
    assert_int_equal(objstore_list(os, "tenant=t", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 3);
    objstore_list_free(&l);
    assert_int_equal(objstore_list(os, "", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[2].key, k3);
    objstore_list_free(&l);
    assert_int_equal(objstore_list(os, "tenant=t1/signal=traces/date=2026-01-02/hour=03/a", &l, err,
                                   sizeof(err)),
                     0);
    assert_int_equal(l.n, 1);
    objstore_list_free(&l);
    assert_int_equal(objstore_list(os, "nothing/", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    objstore_list_free(&l);

    assert_int_equal(objstore_delete(os, k1, err, sizeof(err)), 0);
    assert_int_equal(objstore_delete(os, k1, err, sizeof(err)), 0); /* idempotent */
    assert_int_equal(objstore_head(os, k1, &info, err, sizeof(err)), ORASI_ENOTFOUND);
    assert_int_equal(objstore_list(os, "tenant=t1/", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].key, k2);
    objstore_list_free(&l);
    assert_int_equal(objstore_delete(os, k2, err, sizeof(err)), 0);
    assert_int_equal(objstore_delete(os, k3, err, sizeof(err)), 0);
    assert_int_equal(objstore_list(os, "", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    objstore_list_free(&l);

    /* invalid keys never reach the backend */
    assert_int_equal(objstore_put_file(os, "../escape", small, err, sizeof(err)), ORASI_EINVAL);
    assert_non_null(strstr(err, "invalid object key"));
    assert_int_equal(objstore_delete(os, "/abs", NULL, 0), ORASI_EINVAL);
    assert_int_equal(objstore_list(os, "/abs", &l, err, sizeof(err)), ORASI_EINVAL);
    /* a missing source file */
    snprintf(back, sizeof(back), "%s/does-not-exist", dir);
    assert_int_equal(objstore_put_file(os, "x", back, err, sizeof(err)), ORASI_ENOTFOUND);
}

static void test_local(void **state)
{
    (void)state;
    char *dir = to_tmpdir(), root[512], err[256];
    snprintf(root, sizeof(root), "%s/store/nested", dir);
    objstore_t *os = NULL;
    assert_int_equal(objstore_local_open(root, &os, err, sizeof(err)), 0);
    assert_string_equal(objstore_kind(os), "local");
    exercise(os, dir, 3u << 20);
    /* deletes leave no empty directories behind, temporary files are never listed */
    char p[600];
    snprintf(p, sizeof(p), "%s/tenant=t1", root);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof(p), "%s/.tmp-1234-x", root);
    to_write_str(p, "partial");
    objstore_list_t l;
    assert_int_equal(objstore_list(os, "", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    objstore_list_free(&l);
    /* putting a file onto itself (a store rooted where the file lives) is a no-op */
    snprintf(p, sizeof(p), "%s/self.bin", root);
    to_write_str(p, "self");
    assert_int_equal(objstore_put_file(os, "self.bin", p, err, sizeof(err)), 0);
    size_t n = 0;
    uint8_t *got = to_read_file(p, &n);
    assert_int_equal(n, 4);
    free(got);
    objstore_close(os);
    assert_int_equal(objstore_local_open("", &os, err, sizeof(err)), ORASI_EINVAL);
    to_rmrf(dir);
    free(dir);
}

static objstore_t *open_s3rver(const s3rver_t *s, const char *prefix, int retries)
{
    struct objstore_s3_options o;
    objstore_s3_options_default(&o);
    char ep[64], err[256];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", s->port);
    o.endpoint = ep;
    o.bucket = (char *)s->bucket;
    o.prefix = (char *)prefix;
    o.access_key_id = "S3RVER";
    o.secret_access_key = "S3RVER";
    o.path_style = 1;
    o.multipart_threshold = 16u << 20;
    o.part_size = 8u << 20;
    o.max_retries = retries;
    o.retry_base = 50000000; /* 50 ms */
    o.retry_max = 500000000; /* 0.5 s */
    o.timeout = 20000000000ull;
    objstore_t *os = NULL;
    int rc = objstore_s3_open(&o, &os, err, sizeof(err));
    if (rc)
        fprintf(stderr, "objstore_s3_open: %s\n", err);
    assert_int_equal(rc, 0);
    return os;
}

static void test_s3rver(void **state)
{
    (void)state;
    if (!s3rver_script()) {
        fprintf(stderr, "s3rver not installed (scripts/setup --test): skipped\n");
        skip();
    }
    char *dir = to_tmpdir(), data[512], err[256];
    snprintf(data, sizeof(data), "%s/s3", dir);
    assert_int_equal(mkdir(data, 0755), 0);
    s3rver_t s;
    assert_int_equal(s3rver_start(&s, data, "orasi-test", 0), 0);
    objstore_t *os = open_s3rver(&s, "lake/root", 2);
    exercise(os, dir, 20u << 20);
    objstore_close(os);

    /* the store's prefix is invisible in keys and confines listings */
    objstore_t *a = open_s3rver(&s, "one", 2), *b = open_s3rver(&s, "one/two/", 2);
    char f[512];
    snprintf(f, sizeof(f), "%s/f", dir);
    to_write_str(f, "x");
    assert_int_equal(objstore_put_file(a, "k1", f, err, sizeof(err)), 0);
    assert_int_equal(objstore_put_file(b, "k2", f, err, sizeof(err)), 0);
    objstore_list_t l;
    assert_int_equal(objstore_list(a, "", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].key, "k1");
    assert_string_equal(l.v[1].key, "two/k2");
    objstore_list_free(&l);
    assert_int_equal(objstore_list(b, "", &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].key, "k2");
    objstore_list_free(&l);
    /* more keys than one ListObjectsV2 page (1000) */
    for (int i = 0; i < 1005; i++) {
        char k[64];
        snprintf(k, sizeof(k), "many/%04d", i);
        int rc = objstore_put_file(b, k, f, err, sizeof(err));
        if (rc)
            fprintf(stderr, "put %s: %s\n", k, err);
        assert_int_equal(rc, 0);
    }
    int lrc = objstore_list(b, "many/", &l, err, sizeof(err));
    if (lrc)
        fprintf(stderr, "list: %s\n", err);
    assert_int_equal(lrc, 0);
    assert_int_equal(l.n, 1005);
    assert_string_equal(l.v[1004].key, "many/1004");
    objstore_list_free(&l);
    objstore_close(a);
    objstore_close(b);

    /* a bucket that does not exist: S3's error code in the message, no retries */
    struct objstore_s3_options o;
    objstore_s3_options_default(&o);
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", s.port);
    o.endpoint = ep;
    o.bucket = "no-such-bucket";
    o.access_key_id = o.secret_access_key = "S3RVER";
    o.path_style = 1;
    assert_int_equal(objstore_s3_open(&o, &os, err, sizeof(err)), 0);
    assert_int_equal(objstore_put_file(os, "k", f, err, sizeof(err)), ORASI_ENOTFOUND);
    assert_non_null(strstr(err, "NoSuchBucket"));
    objstore_close(os);
    s3rver_stop(&s);
    to_rmrf(dir);
    free(dir);
}

struct put_job {
    objstore_t *os;
    const char *key, *path;
    int rc;
    char err[256];
};

static void *put_main(void *arg)
{
    struct put_job *j = arg;
    j->rc = objstore_put_file(j->os, j->key, j->path, j->err, sizeof(j->err));
    return NULL;
}

/* The server goes away before an upload starts and comes back 1.5 s later on the same
 * port: the upload retries with backoff and succeeds. */
static void test_s3rver_outage(void **state)
{
    (void)state;
    if (!s3rver_script())
        skip();
    char *dir = to_tmpdir(), data[512], f[512], back[512], err[256];
    snprintf(data, sizeof(data), "%s/s3", dir);
    snprintf(f, sizeof(f), "%s/f", dir);
    snprintf(back, sizeof(back), "%s/back", dir);
    assert_int_equal(mkdir(data, 0755), 0);
    to_write_random(f, 200000, 5);
    s3rver_t s;
    assert_int_equal(s3rver_start(&s, data, "orasi-test", 0), 0);
    int port = s.port;
    objstore_t *os = open_s3rver(&s, "", 40);
    s3rver_stop(&s);
    struct put_job j = {os, "after/outage", f, -1, ""};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, put_main, &j), 0);
    usleep(1500000);
    assert_int_equal(j.rc, -1); /* still retrying */
    assert_int_equal(s3rver_start(&s, data, "orasi-test", port), 0);
    pthread_join(th, NULL);
    if (j.rc)
        fprintf(stderr, "put: %s\n", j.err);
    assert_int_equal(j.rc, 0);
    assert_int_equal(objstore_get_file(os, "after/outage", back, err, sizeof(err)), 0);
    assert_true(to_same_file(f, back));
    objstore_close(os);
    s3rver_stop(&s);
    to_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_ok),
        cmocka_unit_test(test_local),
        cmocka_unit_test(test_s3rver),
        cmocka_unit_test(test_s3rver_outage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
