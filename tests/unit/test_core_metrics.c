/* test_core_metrics.c — metrics registry: exact exposition text, escaping, number
 * formatting, concurrency of lock-free updates, the overflow series, collectors, and an
 * allocation-failure run over registration + rendering. */
#include "core/alloc.h"
#include "core/err.h"
#include "core/metrics.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int teardown(void **state)
{
    (void)state;
    metrics_shutdown();
    orasi_alloc_fail_after(-1);
    return 0;
}

/* Render into a NUL-terminated heap string the test frees. */
static char *render(void)
{
    buf_t b;
    buf_init(&b, 1 << 24);
    assert_int_equal(metrics_render(&b), 0);
    assert_int_equal(buf_append_byte(&b, 0), 0);
    return (char *)buf_detach(&b, NULL);
}

static void test_render_exact(void **state)
{
    (void)state;
    metric_family_t *req = metrics_counter("orasi_http_requests_total",
                                           "HTTP requests by route and status", 2,
                                           (const char *[]){"route", "status"});
    assert_non_null(req);
    metric_family_t *q = metrics_gauge("orasi_queue_bytes", "Bytes queued", 0, NULL);
    assert_non_null(q);
    static const double bounds[] = {0.005, 0.1, 1, 2.5};
    metric_family_t *lat = metrics_histogram("orasi_http_request_duration_seconds",
                                             "Latency", 1, (const char *[]){"route"}, 4,
                                             bounds);
    assert_non_null(lat);
    metric_family_t *empty = metrics_counter("orasi_unused_total", "never used", 1,
                                             (const char *[]){"x"});
    assert_non_null(empty);

    metric_t *a = metric_series(req, (const char *[]){"/v1/traces", "200"});
    metric_t *b = metric_series(req, (const char *[]){"/v1/logs", "429"});
    metric_add(a, 41);
    metric_inc(a);
    metric_add(b, 0.5);
    /* Same values: same series. */
    assert_ptr_equal(metric_series(req, (const char *[]){"/v1/traces", "200"}), a);
    /* A negative add to a counter is refused. */
    metric_add(a, -5);
    assert_true(metric_value(a) == 42.0);

    metric_t *g = metric_series(q, NULL);
    metric_set(g, 1024);
    metric_add(g, -24);

    metric_t *h = metric_series(lat, (const char *[]){"/v1/traces"});
    metric_observe(h, 0.001); /* le 0.005 */
    metric_observe(h, 0.1);   /* exactly on a bound: le 0.1 */
    metric_observe(h, 2);     /* le 2.5 */
    metric_observe(h, 100);   /* +Inf only */

    char *txt = render();
    const char *want =
        "# HELP orasi_http_requests_total HTTP requests by route and status\n"
        "# TYPE orasi_http_requests_total counter\n"
        "orasi_http_requests_total{route=\"/v1/traces\",status=\"200\"} 42\n"
        "orasi_http_requests_total{route=\"/v1/logs\",status=\"429\"} 0.5\n"
        "# HELP orasi_queue_bytes Bytes queued\n"
        "# TYPE orasi_queue_bytes gauge\n"
        "orasi_queue_bytes 1000\n"
        "# HELP orasi_http_request_duration_seconds Latency\n"
        "# TYPE orasi_http_request_duration_seconds histogram\n"
        "orasi_http_request_duration_seconds_bucket{route=\"/v1/traces\",le=\"0.005\"} 1\n"
        "orasi_http_request_duration_seconds_bucket{route=\"/v1/traces\",le=\"0.1\"} 2\n"
        "orasi_http_request_duration_seconds_bucket{route=\"/v1/traces\",le=\"1\"} 2\n"
        "orasi_http_request_duration_seconds_bucket{route=\"/v1/traces\",le=\"2.5\"} 3\n"
        "orasi_http_request_duration_seconds_bucket{route=\"/v1/traces\",le=\"+Inf\"} 4\n"
        "orasi_http_request_duration_seconds_sum{route=\"/v1/traces\"} 102.101\n"
        "orasi_http_request_duration_seconds_count{route=\"/v1/traces\"} 4\n";
    assert_string_equal(txt, want);
    orasi_free(txt);
}

static void test_unlabelled_histogram_and_escaping(void **state)
{
    (void)state;
    metric_family_t *h = metrics_histogram("x_seconds", "line1\nback\\slash \"q\"", 0, NULL,
                                           1, (const double[]){1});
    assert_non_null(h);
    metric_observe(metric_series(h, NULL), 0.5);
    metric_family_t *c = metrics_counter("esc_total", "e", 1, (const char *[]){"v"});
    metric_inc(metric_series(c, (const char *[]){"a\"b\\c\nd"}));
    metric_inc(metric_series(c, (const char *[]){"caf\xc3\xa9\xff"}));
    char *txt = render();
    const char *want = "# HELP x_seconds line1\\nback\\\\slash \"q\"\n"
                       "# TYPE x_seconds histogram\n"
                       "x_seconds_bucket{le=\"1\"} 1\n"
                       "x_seconds_bucket{le=\"+Inf\"} 1\n"
                       "x_seconds_sum 0.5\n"
                       "x_seconds_count 1\n"
                       "# HELP esc_total e\n"
                       "# TYPE esc_total counter\n"
                       "esc_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"
                       "esc_total{v=\"caf\xc3\xa9\xef\xbf\xbd\"} 1\n";
    assert_string_equal(txt, want);
    orasi_free(txt);
}

static void test_fmt_double(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0, "0"},           {42, "42"},          {-3, "-3"},
        {0.1, "0.1"},       {0.25, "0.25"},      {1e21, "1e+21"},
        {123456789012.0, "123456789012"},        {1.0 / 3, "0.3333333333333333"},
        {9007199254740993.0, "9007199254740992"}, {1e-7, "1e-07"},
        {1.0 / 0.0, "+Inf"}, {-1.0 / 0.0, "-Inf"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        metrics_fmt_double(cases[i].v, out, sizeof(out));
        assert_string_equal(out, cases[i].s);
    }
    metrics_fmt_double(0.0 / 0.0, out, sizeof(out));
    assert_string_equal(out, "NaN");
}

static void test_register_rules(void **state)
{
    (void)state;
    const char *l2[] = {"a", "b"};
    metric_family_t *f = metrics_counter("r_total", "h", 2, l2);
    assert_non_null(f);
    /* Same shape: same family. */
    assert_ptr_equal(metrics_counter("r_total", "other help", 2, l2), f);
    /* Different type, label count or label names: refused. */
    assert_null(metrics_gauge("r_total", "h", 2, l2));
    assert_null(metrics_counter("r_total", "h", 1, l2));
    assert_null(metrics_counter("r_total", "h", 2, (const char *[]){"a", "c"}));
    /* Bad names. */
    assert_null(metrics_counter("1abc", "h", 0, NULL));
    assert_null(metrics_counter("a-b", "h", 0, NULL));
    assert_null(metrics_counter("", "h", 0, NULL));
    assert_null(metrics_counter("ok", "h", 1, (const char *[]){"__reserved"}));
    assert_null(metrics_counter("ok", "h", 1, (const char *[]){"a:b"}));
    assert_null(metrics_counter("ok", "h", 2, (const char *[]){"x", "x"}));
    assert_null(metrics_counter("ok", "h", METRICS_MAX_LABELS + 1, l2));
    assert_non_null(metrics_counter("ns:ok_total", "h", 0, NULL));
    /* Histogram bounds must ascend strictly, be finite, and "le" is reserved. */
    assert_null(metrics_histogram("h1", "h", 0, NULL, 2, (const double[]){2, 1}));
    assert_null(metrics_histogram("h2", "h", 0, NULL, 2, (const double[]){1, 1}));
    assert_null(metrics_histogram("h3", "h", 0, NULL, 1, (const double[]){1.0 / 0.0}));
    assert_null(metrics_histogram("h4", "h", 1, (const char *[]){"le"}, 1,
                                  (const double[]){1}));
    metric_family_t *h = metrics_histogram("h5", "h", 0, NULL, 1, (const double[]){1});
    assert_non_null(h);
    assert_null(metrics_histogram("h5", "h", 0, NULL, 1, (const double[]){2}));
    /* Updates of the wrong kind are ignored, NULL is accepted everywhere. */
    metric_t *hs = metric_series(h, NULL);
    metric_add(hs, 5);
    assert_true(metric_value(hs) == 0.0);
    metric_add(NULL, 1);
    metric_inc(NULL);
    metric_set(NULL, 1);
    metric_observe(NULL, 1);
    assert_true(metric_value(NULL) == 0.0);
    assert_null(metric_series(NULL, NULL));
    assert_null(metric_series(f, NULL));
    assert_null(metric_series(f, (const char *[]){"a", NULL}));
}

#define NTHREADS 4
#define NINCS 100000

struct worker {
    metric_family_t *fam;
    int id;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* Every thread also looks its series up concurrently (the mutex path). */
    metric_t *shared = metric_series(w->fam, (const char *[]){"shared"});
    char mine[16];
    snprintf(mine, sizeof(mine), "t%d", w->id);
    metric_t *own = metric_series(w->fam, (const char *[]){mine});
    for (int i = 0; i < NINCS; i++) {
        metric_inc(shared);
        metric_add(own, 0.5);
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    (void)state;
    metric_family_t *f = metrics_counter("conc_total", "c", 1, (const char *[]){"k"});
    metric_family_t *hf = metrics_histogram("conc_seconds", "c", 0, NULL, 1,
                                            (const double[]){0.5});
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i].fam = f;
        w[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    /* Render concurrently with the updates: must not crash or tear. */
    for (int i = 0; i < 5; i++)
        orasi_free(render());
    metric_t *h = metric_series(hf, NULL);
    for (int i = 0; i < 1000; i++)
        metric_observe(h, i % 2 ? 1.0 : 0.25);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    assert_true(metric_value(metric_series(f, (const char *[]){"shared"})) ==
                (double)NTHREADS * NINCS);
    for (int i = 0; i < NTHREADS; i++) {
        char mine[16];
        snprintf(mine, sizeof(mine), "t%d", i);
        assert_true(metric_value(metric_series(f, (const char *[]){mine})) == NINCS * 0.5);
    }
    char *txt = render();
    assert_non_null(strstr(txt, "conc_total{k=\"shared\"} 400000\n"));
    assert_non_null(strstr(txt, "conc_seconds_bucket{le=\"0.5\"} 500\n"));
    assert_non_null(strstr(txt, "conc_seconds_bucket{le=\"+Inf\"} 1000\n"));
    assert_non_null(strstr(txt, "conc_seconds_sum 625\n"));
    assert_non_null(strstr(txt, "conc_seconds_count 1000\n"));
    orasi_free(txt);
}

static void test_overflow(void **state)
{
    (void)state;
    metric_family_t *f = metrics_gauge("ovf", "o", 2, (const char *[]){"a", "b"});
    metric_t *first = NULL;
    for (int i = 0; i < METRICS_MAX_SERIES; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        metric_t *m = metric_series(f, (const char *[]){v, "x"});
        assert_non_null(m);
        if (i == 0)
            first = m;
        metric_set(m, i);
    }
    metric_t *o1 = metric_series(f, (const char *[]){"new1", "x"});
    metric_t *o2 = metric_series(f, (const char *[]){"new2", "y"});
    assert_non_null(o1);
    assert_ptr_equal(o1, o2);
    metric_add(o1, 2);
    metric_add(o2, 3);
    /* Existing series are still found, not redirected. */
    assert_ptr_equal(metric_series(f, (const char *[]){"0", "x"}), first);
    /* An over-long label value is counted in the overflow series too. */
    char longv[METRICS_MAX_VALUE_LEN + 2];
    memset(longv, 'l', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    metric_family_t *f2 = metrics_counter("ovf2_total", "o", 1, (const char *[]){"a"});
    metric_inc(metric_series(f2, (const char *[]){longv}));
    longv[METRICS_MAX_VALUE_LEN] = '\0'; /* exactly at the limit: its own series */
    metric_inc(metric_series(f2, (const char *[]){longv}));
    assert_ptr_not_equal(metric_series(f2, (const char *[]){longv}),
                         metric_series(f2, (const char *[]){"_overflow"}));
    char *txt = render();
    assert_non_null(strstr(txt, "ovf2_total{a=\"_overflow\"} 1\n"));
    assert_non_null(strstr(txt, "ovf{a=\"_overflow\",b=\"_overflow\"} 5\n"));
    assert_non_null(strstr(txt, "ovf{a=\"4095\",b=\"x\"} 4095\n"));
    assert_null(strstr(txt, "new1"));
    /* Series render in creation order: 0 before 1 before 4095 before overflow. */
    const char *p0 = strstr(txt, "ovf{a=\"0\",");
    const char *p1 = strstr(txt, "ovf{a=\"1\",");
    const char *pl = strstr(txt, "ovf{a=\"4095\",");
    const char *po = strstr(txt, "_overflow");
    assert_true(p0 && p1 && pl && po && p0 < p1 && p1 < pl && pl < po);
    orasi_free(txt);
}

static int collector_calls;
static void collector(void *ud)
{
    collector_calls++;
    metric_set(ud, 7 + collector_calls);
}

static void test_collector_and_cap(void **state)
{
    (void)state;
    metric_t *g = metric_series(metrics_gauge("coll", "c", 0, NULL), NULL);
    collector_calls = 0;
    assert_int_equal(metrics_add_collector(collector, g), 0);
    assert_int_equal(metrics_add_collector(collector, g), 0); /* deduplicated */
    assert_int_equal(metrics_add_collector(NULL, g), ORASI_EINVAL);
    char *txt = render();
    assert_int_equal(collector_calls, 1);
    assert_non_null(strstr(txt, "coll 8\n"));
    orasi_free(txt);

    /* A render that does not fit the buffer fails and leaves it as it was. */
    buf_t b;
    buf_init(&b, 16);
    assert_int_equal(buf_append_str(&b, "keep"), 0);
    assert_int_equal(metrics_render(&b), ORASI_ETOOBIG);
    assert_int_equal(b.len, 4);
    buf_free(&b);
}

/* Registration + series + render, failing every allocation in turn. */
static int build_and_render(void)
{
    int rc = ORASI_ENOMEM;
    buf_t b;
    buf_init(&b, 1 << 20);
    metric_family_t *c = metrics_counter("af_total", "a", 1, (const char *[]){"k"});
    metric_family_t *g = metrics_gauge("af_gauge", "g", 0, NULL);
    metric_family_t *h = metrics_histogram("af_seconds", "h", 1, (const char *[]){"k"}, 3,
                                           (const double[]){0.1, 1, 10});
    if (!c || !g || !h)
        goto out;
    for (int i = 0; i < 40; i++) { /* enough to grow the series table */
        char v[16];
        snprintf(v, sizeof(v), "v%d", i);
        metric_inc(metric_series(c, (const char *[]){v}));
    }
    metric_set(metric_series(g, NULL), 3);
    metric_t *hs = metric_series(h, (const char *[]){"x"});
    if (!hs)
        goto out;
    metric_observe(hs, 0.5);
    rc = metrics_render(&b);
out:
    buf_free(&b);
    metrics_shutdown();
    return rc;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    orasi_alloc_fail_after(-1);
    assert_int_equal(build_and_render(), 0);
    long count = orasi_alloc_fail_after(-1);
    assert_true(count > 40);
    long before = orasi_alloc_injected_failures();
    for (long n = 0; n <= count; n++) {
        orasi_alloc_fail_after(n);
        int rc = build_and_render();
        orasi_alloc_fail_after(-1);
        /* Injection fails every allocation from the Nth on, so the render's own buffer
         * fails too: ENOMEM exactly when something was refused. */
        assert_int_equal(rc, n < count ? ORASI_ENOMEM : 0);
    }
    assert_true(orasi_alloc_injected_failures() > before);
    /* And after all that, a normal run still works. */
    assert_int_equal(build_and_render(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_render_exact, teardown),
        cmocka_unit_test_teardown(test_unlabelled_histogram_and_escaping, teardown),
        cmocka_unit_test_teardown(test_fmt_double, teardown),
        cmocka_unit_test_teardown(test_register_rules, teardown),
        cmocka_unit_test_teardown(test_concurrency, teardown),
        cmocka_unit_test_teardown(test_overflow, teardown),
        cmocka_unit_test_teardown(test_collector_and_cap, teardown),
        cmocka_unit_test_teardown(test_alloc_failures, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
