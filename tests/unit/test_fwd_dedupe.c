/* test_fwd_dedupe.c — idempotent batches (forward/dedupe.h): header syntax, the
 * new / replay / conflict / in-flight decisions, the bounded window, and the snapshot file
 * (round trip, covered sequence, corruption refused, crash-safe replacement). */
#include "core/alloc.h"
#include "core/err.h"
#include "core/metrics.h"
#include "forward/dedupe.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/orasi-test-dedupe-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    metrics_shutdown();
    return 0;
}

static dedupe_batch_t *batch(const char *hdr)
{
    static dedupe_batch_t b;
    assert_int_equal(dedupe_parse(slice_cstr(hdr), &b), 0);
    return &b;
}

static void test_parse_format(void **state)
{
    dedupe_batch_t b;
    assert_int_equal(dedupe_parse(SLICE_LIT("gw-1:5.0,5.1,7.3"), &b), 0);
    assert_string_equal(b.origin, "gw-1");
    assert_int_equal(b.n, 3);
    assert_int_equal(b.ids[0], dedupe_id(5, 0));
    assert_int_equal(b.ids[2], dedupe_id(7, 3));
    buf_t out;
    buf_init(&out, 4096);
    assert_int_equal(dedupe_format(&out, b.origin, b.ids, b.n), 0);
    assert_memory_equal(out.data, "gw-1:5.0,5.1,7.3", out.len);
    buf_free(&out);
    static const char *const bad[] = {"",
                                      "gw",
                                      ":1.0",
                                      "gw:",
                                      "gw:1",
                                      "gw:1.",
                                      "gw:0.0",
                                      "gw:1.256",
                                      "gw:1.0,",
                                      "g w:1.0",
                                      "gw:1.0x",
                                      "gw:a.0",
                                      "gw:1.0,,2.0",
                                      "gw:99999999999999999999999.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dedupe_parse(slice_cstr(bad[i]), &b), ORASI_EPARSE);
    /* too many ids */
    buf_init(&out, 1 << 20);
    buf_append_str(&out, "o:");
    for (int i = 1; i <= DEDUPE_MAX_IDS + 1; i++)
        buf_printf(&out, "%s%d.0", i > 1 ? "," : "", i);
    assert_int_equal(dedupe_parse(buf_slice(&out), &b), ORASI_ETOOBIG);
    buf_free(&out);
}

static void test_decisions(void **state)
{
    char path[300], err[256];
    dedupe_t *d;
    snprintf(path, sizeof(path), "%s/state", dir);
    assert_int_equal(dedupe_open(path, 0, "t", &d, err, sizeof(err)), 0);
    assert_int_equal(dedupe_covered(d), 0);
    assert_int_equal(dedupe_begin(d, batch("a:1.0,1.1")), DEDUPE_NEW);
    /* a retry racing the first attempt */
    assert_int_equal(dedupe_begin(d, batch("a:1.1")), ORASI_EBUSY);
    dedupe_end(d, batch("a:1.0,1.1"), 1);
    assert_int_equal(dedupe_begin(d, batch("a:1.0,1.1")), DEDUPE_REPLAY);
    assert_int_equal(dedupe_begin(d, batch("a:1.1,1.0")), DEDUPE_REPLAY);
    assert_int_equal(dedupe_begin(d, batch("a:1.0,2.0")), ORASI_EEXISTS);
    /* another origin is independent */
    assert_int_equal(dedupe_begin(d, batch("b:1.0")), DEDUPE_NEW);
    /* a failed log forgets the ids: the retry is new again */
    dedupe_end(d, batch("b:1.0"), 0);
    assert_int_equal(dedupe_begin(d, batch("b:1.0")), DEDUPE_NEW);
    dedupe_end(d, batch("b:1.0"), 1);
    assert_int_equal(dedupe_replays(d), 2);
    assert_int_equal(dedupe_origins(d), 2);
    dedupe_close(d);
}

static void test_window(void **state)
{
    char path[300], err[256], hdr[64];
    dedupe_t *d;
    snprintf(path, sizeof(path), "%s/state", dir);
    assert_int_equal(dedupe_open(path, 100, "t", &d, err, sizeof(err)), 0);
    for (int i = 1; i <= 1000; i++) {
        snprintf(hdr, sizeof(hdr), "w:%d.0", i);
        assert_int_equal(dedupe_begin(d, batch(hdr)), DEDUPE_NEW);
        dedupe_end(d, batch(hdr), 1);
    }
    /* the newest 100 are remembered, older ones forgotten (treated as new) */
    assert_int_equal(dedupe_begin(d, batch("w:1000.0")), DEDUPE_REPLAY);
    assert_int_equal(dedupe_begin(d, batch("w:901.0")), DEDUPE_REPLAY);
    assert_int_equal(dedupe_begin(d, batch("w:900.0")), DEDUPE_NEW);
    dedupe_end(d, batch("w:900.0"), 0);
    dedupe_close(d);
}

static void test_snapshot(void **state)
{
    char path[300], err[256], hdr[64];
    dedupe_t *d;
    snprintf(path, sizeof(path), "%s/state", dir);
    assert_int_equal(dedupe_open(path, 0, "t", &d, err, sizeof(err)), 0);
    for (int i = 1; i <= 500; i++) {
        snprintf(hdr, sizeof(hdr), "%s:%d.%d", i % 2 ? "odd" : "even", i, i % 3);
        dedupe_note(d, batch(hdr));
    }
    assert_int_equal(dedupe_save(d, 77), 0);
    assert_int_equal(dedupe_covered(d), 77);
    /* a lower seq never lowers the covered mark */
    assert_int_equal(dedupe_save(d, 10), 0);
    assert_int_equal(dedupe_covered(d), 77);
    dedupe_close(d);
    assert_int_equal(dedupe_open(path, 0, "t", &d, err, sizeof(err)), 0);
    assert_int_equal(dedupe_covered(d), 77);
    assert_int_equal(dedupe_origins(d), 2);
    for (int i = 1; i <= 500; i++) {
        snprintf(hdr, sizeof(hdr), "%s:%d.%d", i % 2 ? "odd" : "even", i, i % 3);
        assert_int_equal(dedupe_begin(d, batch(hdr)), DEDUPE_REPLAY);
    }
    assert_int_equal(dedupe_begin(d, batch("odd:2.2")), DEDUPE_NEW);
    dedupe_end(d, batch("odd:2.2"), 0);
    dedupe_close(d);
    /* no temp file left behind */
    char tmp[320];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);
    /* a flipped byte is refused, not silently emptied */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 30, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 30, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
    assert_int_equal(dedupe_open(path, 0, "t", &d, err, sizeof(err)), ORASI_ECORRUPT);
    assert_non_null(strstr(err, "corrupt"));
    /* a truncated file too */
    assert_int_equal(truncate(path, 10), 0);
    assert_int_equal(dedupe_open(path, 0, "t", &d, err, sizeof(err)), ORASI_ECORRUPT);
}

static void test_alloc_failures(void **state)
{
    char path[300], err[256];
    snprintf(path, sizeof(path), "%s/state", dir);
    /* every allocation failure is an error or a degraded-but-safe answer, never a crash */
    for (long n = 0; n < 40; n++) {
        dedupe_t *d = NULL;
        orasi_alloc_fail_after(n);
        int rc = dedupe_open(path, 0, "t", &d, err, sizeof(err));
        if (rc == 0) {
            int r = dedupe_begin(d, batch("x:1.0,2.0,3.0"));
            if (r == DEDUPE_NEW)
                dedupe_end(d, batch("x:1.0,2.0,3.0"), 1);
            dedupe_save(d, 5);
            dedupe_close(d);
        }
        orasi_alloc_fail_after(-1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test_setup_teardown(test_decisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
