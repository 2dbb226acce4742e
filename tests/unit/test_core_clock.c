/* test_core_clock.c — monotonic clock never goes back and measures real sleeps; wall clock
 * agrees with time(2); RFC 3339 formatting of known instants. */
#include "core/clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static void test_monotonic(void **state)
{
    (void)state;
    uint64_t prev = clock_mono_ns();
    for (int i = 0; i < 200000; i++) {
        uint64_t now = clock_mono_ns();
        assert_true(now >= prev);
        prev = now;
    }
    uint64_t t0 = clock_mono_ns();
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint64_t d = clock_mono_ns() - t0;
    assert_true(d >= 20u * 1000 * 1000);
    assert_true(d < 2000u * 1000 * 1000);
}

static void test_wall(void **state)
{
    (void)state;
    /* Not time(2): glibc answers it from the coarse clock, which may still be in the
     * previous second for a few milliseconds after CLOCK_REALTIME has moved on. */
    struct timespec before, after;
    clock_gettime(CLOCK_REALTIME, &before);
    uint64_t w = clock_wall_ns();
    clock_gettime(CLOCK_REALTIME, &after);
    assert_true(w >= (uint64_t)before.tv_sec * 1000000000ull + (uint64_t)before.tv_nsec);
    assert_true(w <= (uint64_t)after.tv_sec * 1000000000ull + (uint64_t)after.tv_nsec);
}

static void test_rfc3339(void **state)
{
    (void)state;
    static const struct {
        uint64_t ns;
        const char *s;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {999999, "1970-01-01T00:00:00.000Z"},
        {1000000, "1970-01-01T00:00:00.001Z"},
        {1700000000123456789ull, "2023-11-14T22:13:20.123Z"},
        {951782400000000000ull, "2000-02-29T00:00:00.000Z"},
        {4102444799999000000ull, "2099-12-31T23:59:59.999Z"},
    };
    char out[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        clock_fmt_rfc3339(cases[i].ns, out, sizeof(out));
        assert_string_equal(out, cases[i].s);
    }
    /* A short buffer is truncated, never overrun. */
    char small[8];
    memset(small, 'Z', sizeof(small));
    clock_fmt_rfc3339(0, small, sizeof(small));
    assert_string_equal(small, "1970-01");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic),
        cmocka_unit_test(test_wall),
        cmocka_unit_test(test_rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
