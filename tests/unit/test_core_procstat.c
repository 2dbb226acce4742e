/* test_core_procstat.c — process metrics: values track real changes (fds opened, CPU
 * burnt, memory touched) and appear in the rendered exposition. */
#include "core/alloc.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "core/procstat.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static void test_read_tracks_reality(void **state)
{
    (void)state;
    struct procstat a, b;
    assert_int_equal(procstat_read(&a), 0);
    assert_true(a.rss_bytes > 1 << 20);
    assert_true(a.vsize_bytes >= a.rss_bytes);
    assert_true(a.open_fds >= 3);
    assert_true(a.max_fds >= a.open_fds);
    double now = (double)time(NULL);
    assert_true(a.start_time > now - 3600 && a.start_time <= now + 1);

    /* Five more descriptors are counted exactly. */
    int fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i] = open("/dev/null", O_RDONLY);
        assert_true(fds[i] >= 0);
    }
    assert_int_equal(procstat_read(&b), 0);
    assert_int_equal(b.open_fds, a.open_fds + 5);
    for (int i = 0; i < 5; i++)
        close(fds[i]);

    /* 64 MiB touched shows in RSS. */
    size_t big = 64u << 20;
    char *mem = malloc(big);
    assert_non_null(mem);
    memset(mem, 1, big);
    assert_int_equal(procstat_read(&b), 0);
    assert_true(b.rss_bytes >= a.rss_bytes + (big / 2));
    free(mem);

    /* CPU burnt shows in cpu_seconds. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile unsigned long x = 0;
    do {
        for (int i = 0; i < 100000; i++)
            x += (unsigned long)i;
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 150000000L);
    assert_true(x > 0);
    assert_int_equal(procstat_read(&b), 0);
    assert_true(b.cpu_seconds >= a.cpu_seconds + 0.05);
    assert_true(b.start_time == a.start_time);
}

/* Value of the unlabelled sample `name` in an exposition, or -1. */
static double sample(const char *txt, const char *name)
{
    char key[128];
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *p = strstr(txt, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

static void test_register_and_render(void **state)
{
    (void)state;
    assert_int_equal(procstat_register("1.2.3-test"), 0);
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(metrics_render(&b), 0);
    assert_int_equal(buf_append_byte(&b, 0), 0);
    const char *txt = (const char *)b.data;
    struct procstat ps;
    assert_int_equal(procstat_read(&ps), 0);
    assert_non_null(strstr(txt, "\norasi_build_info{version=\"1.2.3-test\"} 1\n"));
    assert_non_null(strstr(txt, "# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(txt, "# TYPE process_open_fds gauge\n"));
    assert_true(sample(txt, "process_open_fds") == (double)ps.open_fds);
    assert_true(sample(txt, "process_max_fds") == (double)ps.max_fds);
    assert_true(sample(txt, "process_resident_memory_bytes") > 1 << 20);
    assert_true(sample(txt, "process_virtual_memory_bytes") > 1 << 20);
    assert_true(sample(txt, "process_start_time_seconds") == ps.start_time);
    double cpu = sample(txt, "process_cpu_seconds_total");
    assert_true(cpu > 0 && cpu <= ps.cpu_seconds);
    buf_free(&b);

    /* After a shutdown the registry is empty; registering again works. */
    metrics_shutdown();
    assert_int_equal(procstat_register("2"), 0);
    buf_init(&b, 1 << 20);
    assert_int_equal(metrics_render(&b), 0);
    assert_int_equal(buf_append_byte(&b, 0), 0);
    assert_non_null(strstr((const char *)b.data, "orasi_build_info{version=\"2\"} 1\n"));
    assert_null(strstr((const char *)b.data, "1.2.3-test"));
    buf_free(&b);
    metrics_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_tracks_reality),
        cmocka_unit_test(test_register_and_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
