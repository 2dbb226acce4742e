/*
 * test_objstore_lake.c — the lake with `store: s3` against s3rver on a loopback port:
 * every published Parquet file appears in the bucket under the same Hive key with the
 * same bytes; files published while the store is down are uploaded once it is back;
 * a lake closed with uploads pending (drain timeout) uploads them at the next open;
 * retention and compaction delete the objects of the files they delete (the merged file
 * is uploaded); a bad bucket configuration
 * fails lake_open with a clear message.
 */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "lake/catalog.h"
#include "lake/lake.h"
#include "objstore/objstore.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "test_lake_util.h"
#include "test_objstore_s3rver.h"
#include "test_objstore_util.h"

#define SEC 1000000000ull
#define HOUR (3600ull * SEC)

struct env {
    char *dir;
    char data[512]; /* the lake's data_dir */
    char s3dir[512];
    s3rver_t s3;
    char ep[64];
    objstore_t *bucket; /* an independent view of the bucket */
};

static void env_start(struct env *e)
{
    memset(e, 0, sizeof(*e));
    e->dir = to_tmpdir();
    snprintf(e->data, sizeof(e->data), "%s/data", e->dir);
    snprintf(e->s3dir, sizeof(e->s3dir), "%s/s3", e->dir);
    assert_int_equal(mkdir(e->s3dir, 0755), 0);
    assert_int_equal(s3rver_start(&e->s3, e->s3dir, "lake-bucket", 0), 0);
    snprintf(e->ep, sizeof(e->ep), "http://127.0.0.1:%d", e->s3.port);
    struct objstore_s3_options o;
    objstore_s3_options_default(&o);
    o.endpoint = e->ep;
    o.bucket = "lake-bucket";
    o.prefix = "warehouse/orasi";
    o.access_key_id = o.secret_access_key = "S3RVER";
    o.path_style = 1;
    o.max_retries = 1;
    o.retry_base = 20000000;
    char err[256];
    assert_int_equal(objstore_s3_open(&o, &e->bucket, err, sizeof(err)), 0);
}

static void env_stop(struct env *e)
{
    objstore_close(e->bucket);
    s3rver_stop(&e->s3);
    to_rmrf(e->dir);
    free(e->dir);
}

static lake_t *open_s3_lake(struct env *e, struct lake_options *o, uint64_t drain_ns)
{
    lake_options_default(o);
    o->data_dir = e->data;
    o->flush_interval = 3600 * SEC; /* the test flushes */
    o->maintenance_interval = 3600 * SEC;
    o->compaction = 0;
    o->store = 1;
    o->s3.endpoint = e->ep;
    o->s3.bucket = "lake-bucket";
    o->s3.prefix = "warehouse/orasi";
    o->s3.access_key_id = "S3RVER";
    o->s3.secret_access_key = "S3RVER";
    o->s3.path_style = 1;
    o->s3.max_retries = 1;
    o->s3.retry_base = 20000000;
    o->s3.retry_max = 100000000;
    o->s3.timeout = 5 * SEC;
    o->s3.drain_timeout = drain_ns;
    lake_t *l = NULL;
    char err[256] = "";
    int rc = lake_open(o, &l, err, sizeof(err));
    if (rc)
        fprintf(stderr, "lake_open: %s\n", err);
    assert_int_equal(rc, 0);
    return l;
}

/* Wait until every file the catalog lists is in the bucket with the same bytes, and the
 * bucket holds nothing else. Returns the number of objects. */
static size_t wait_mirrored(struct env *e, lake_t *l, const char *root, int timeout_s)
{
    uint64_t deadline = clock_mono_ns() + (uint64_t)timeout_s * SEC;
    char err[256], back[600];
    for (;;) {
        catalog_list_t files = {0};
        objstore_list_t objs = {0};
        size_t matched = 0;
        int ok = 1;
        for (int s = 0; s < LAKE_SIG_COUNT && ok; s++) {
            catalog_list_free(&files);
            assert_int_equal(catalog_list(lake_catalog(l), NULL, s, INT64_MIN, INT64_MAX, &files),
                             0);
            for (size_t i = 0; i < files.n && ok; i++) {
                objstore_obj_t info;
                ok = objstore_head(e->bucket, files.v[i].rel, &info, err, sizeof(err)) == 0 &&
                     info.size == files.v[i].bytes;
                matched += ok;
            }
        }
        catalog_list_free(&files);
        if (ok && objstore_list(e->bucket, "", &objs, err, sizeof(err)) == 0 && objs.n == matched) {
            /* the bytes: download each and compare with the local file */
            for (size_t i = 0; i < objs.n; i++) {
                char local[600];
                snprintf(local, sizeof(local), "%s/%s", root, objs.v[i].key);
                snprintf(back, sizeof(back), "%s/back.parquet", e->dir);
                assert_int_equal(
                    objstore_get_file(e->bucket, objs.v[i].key, back, err, sizeof(err)), 0);
                assert_true(to_same_file(local, back));
                assert_non_null(strstr(objs.v[i].key, "tenant="));
                assert_non_null(strstr(objs.v[i].key, "/signal="));
                assert_non_null(strstr(objs.v[i].key, "/date="));
                assert_non_null(strstr(objs.v[i].key, "/hour="));
            }
            size_t n = objs.n;
            objstore_list_free(&objs);
            return n;
        }
        objstore_list_free(&objs);
        if (clock_mono_ns() > deadline) {
            fail_msg("bucket does not mirror the catalog after %d s", timeout_s);
        }
        usleep(100000);
    }
}

static void append_spans(lake_t *l, const char *tenant, uint64_t t0, uint64_t seed)
{
    arena_t *a = arena_create(1 << 16, 0);
    otlp_traces_t m = tl_traces(a, "svc", 20, t0, SEC, seed);
    assert_int_equal(lake_append_traces(l, tl_s(tenant), &m, 0), 0);
    arena_destroy(a);
}

static void test_lake_uploads(void **state)
{
    (void)state;
    if (!s3rver_script()) {
        fprintf(stderr, "s3rver not installed (scripts/setup --test): skipped\n");
        skip();
    }
    struct env e;
    env_start(&e);
    struct lake_options o;
    lake_t *l = open_s3_lake(&e, &o, 20 * SEC);
    char root[600];
    snprintf(root, sizeof(root), "%s", lake_root(l));
    uint64_t now = clock_wall_ns();
    append_spans(l, "t1", now - HOUR, 1);
    append_spans(l, "t2", now - 2 * HOUR, 2);
    assert_int_equal(lake_flush(l, 0), 0);
    assert_int_equal(wait_mirrored(&e, l, root, 20), 2);
    /* the object key is prefix + the catalog's relative path */
    objstore_list_t objs;
    char err[256];
    assert_int_equal(objstore_list(e.bucket, "tenant=t1/signal=traces/", &objs, err, sizeof(err)),
                     0);
    assert_int_equal(objs.n, 1);
    objstore_list_free(&objs);

    /* the store goes down; two more publishes; it comes back: both get uploaded */
    int port = e.s3.port;
    s3rver_stop(&e.s3);
    append_spans(l, "t1", now, 3);
    assert_int_equal(lake_flush(l, 0), 0);
    usleep(300000);
    append_spans(l, "t3", now, 4);
    assert_int_equal(lake_flush(l, 0), 0);
    usleep(700000);
    assert_int_equal(s3rver_start(&e.s3, e.s3dir, "lake-bucket", port), 0);
    assert_int_equal(wait_mirrored(&e, l, root, 30), 4);

    /* retention deletes the objects with the files */
    lake_close(l);
    o.retention_traces = 24 * HOUR;
    o.delete_grace = 0;
    lake_t *l2 = NULL;
    assert_int_equal(lake_open(&o, &l2, err, sizeof(err)), 0);
    append_spans(l2, "t1", now - 3 * 24 * HOUR, 5); /* 3 days old: past retention */
    assert_int_equal(lake_flush(l2, 0), 0);
    assert_int_equal(wait_mirrored(&e, l2, root, 20), 5);
    assert_int_equal(lake_maintain(l2), 0);
    assert_int_equal(wait_mirrored(&e, l2, root, 20), 4);
    lake_close(l2);

    /* compaction: three files of a past hour become one, in the lake and in the bucket */
    o.compaction = 1;
    o.compaction_min_files = 2;
    assert_int_equal(lake_open(&o, &l2, err, sizeof(err)), 0);
    uint64_t past = now - 5 * HOUR;
    for (int i = 0; i < 3; i++) {
        append_spans(l2, "t9", past + (uint64_t)i * SEC, 10 + (uint64_t)i);
        assert_int_equal(lake_flush(l2, 0), 0);
    }
    assert_int_equal(wait_mirrored(&e, l2, root, 20), 7);
    assert_int_equal(lake_maintain(l2), 0);
    assert_int_equal(wait_mirrored(&e, l2, root, 20), 5);
    assert_int_equal(objstore_list(e.bucket, "tenant=t9/", &objs, err, sizeof(err)), 0);
    assert_int_equal(objs.n, 1);
    objstore_list_free(&objs);
    lake_close(l2);
    env_stop(&e);
}

/* Closed while the store is down: the drain timeout cuts it short, nothing is lost; the
 * next open uploads the pending files. */
static void test_lake_resume_after_restart(void **state)
{
    (void)state;
    if (!s3rver_script())
        skip();
    struct env e;
    env_start(&e);
    struct lake_options o;
    lake_t *l = open_s3_lake(&e, &o, 1 * SEC);
    char root[600], err[256];
    snprintf(root, sizeof(root), "%s", lake_root(l));
    int port = e.s3.port;
    s3rver_stop(&e.s3);
    uint64_t now = clock_wall_ns();
    append_spans(l, "t1", now, 1);
    append_spans(l, "t2", now, 2);
    assert_int_equal(lake_flush(l, 0), 0);
    uint64_t t0 = clock_mono_ns();
    lake_close(l); /* gives up after the 1 s drain timeout */
    assert_true(clock_mono_ns() - t0 < 5 * SEC);
    /* the store is back: a new open uploads both files */
    assert_int_equal(s3rver_start(&e.s3, e.s3dir, "lake-bucket", port), 0);
    assert_int_equal(lake_open(&o, &l, err, sizeof(err)), 0);
    assert_int_equal(wait_mirrored(&e, l, root, 30), 2);
    lake_close(l);
    env_stop(&e);
}

/* A bucket that does not exist yet (404 NoSuchBucket) is a failure to retry, not a
 * reason to skip files: once the bucket exists, everything is uploaded. */
static void test_lake_bucket_created_later(void **state)
{
    (void)state;
    if (!s3rver_script())
        skip();
    struct env e;
    env_start(&e);
    struct lake_options o;
    lake_t *l = open_s3_lake(&e, &o, 5 * SEC);
    lake_close(l);
    o.s3.bucket = "later-bucket";
    char root[600], err[256];
    assert_int_equal(lake_open(&o, &l, err, sizeof(err)), 0);
    snprintf(root, sizeof(root), "%s", lake_root(l));
    append_spans(l, "t1", clock_wall_ns(), 1);
    assert_int_equal(lake_flush(l, 0), 0);
    usleep(500000);
    objstore_list_t objs;
    assert_int_equal(objstore_list(e.bucket, "", &objs, err, sizeof(err)), 0);
    assert_int_equal(objs.n, 0);
    objstore_list_free(&objs);
    /* the same server now also has later-bucket; look at it through e.bucket */
    int port = e.s3.port;
    s3rver_stop(&e.s3);
    assert_int_equal(s3rver_start(&e.s3, e.s3dir, "later-bucket", port), 0);
    objstore_close(e.bucket);
    struct objstore_s3_options bo;
    objstore_s3_options_default(&bo);
    bo.endpoint = e.ep;
    bo.bucket = "later-bucket";
    bo.prefix = "warehouse/orasi";
    bo.access_key_id = bo.secret_access_key = "S3RVER";
    bo.path_style = 1;
    assert_int_equal(objstore_s3_open(&bo, &e.bucket, err, sizeof(err)), 0);
    assert_int_equal(wait_mirrored(&e, l, root, 30), 1);
    lake_close(l);
    env_stop(&e);
}

static void test_lake_bad_config(void **state)
{
    (void)state;
    char *dir = to_tmpdir();
    struct lake_options o;
    lake_options_default(&o);
    o.data_dir = dir;
    o.store = 1; /* no bucket */
    lake_t *l = NULL;
    char err[256] = "";
    assert_int_equal(lake_open(&o, &l, err, sizeof(err)), ORASI_ECONFIG);
    assert_non_null(strstr(err, "bucket"));
    assert_null(l);
    to_rmrf(dir);
    free(dir);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lake_uploads),
        cmocka_unit_test(test_lake_resume_after_restart),
        cmocka_unit_test(test_lake_bucket_created_later),
        cmocka_unit_test(test_lake_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
