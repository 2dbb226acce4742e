/* test_fwd_ring.c — consistent hashing with bounded load (forward/ring.h) and the circuit
 * breaker state machine (forward/breaker.h). */
#include "core/err.h"
#include "forward/breaker.h"
#include "forward/ring.h"
#include "forward/split.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define KEYS 20000

static uint64_t key(int i)
{
    char k[32];
    int n = snprintf(k, sizeof(k), "trace-%d", i);
    return split_key_hash(slice_make(k, (size_t)n));
}

static void test_ring_balance_and_stability(void **state)
{
    const char *names[] = {"b1", "b2", "b3", "b4"};
    ring_t r = {0}, r3 = {0};
    assert_int_equal(ring_build(&r, names, 4, 128), 0);
    assert_int_equal(ring_build(&r3, names, 3, 128), 0); /* b4 gone */
    int count[4] = {0}, moved = 0;
    for (int i = 0; i < KEYS; i++) {
        int m = ring_lookup(&r, key(i), NULL, NULL, 0);
        assert_true(m >= 0 && m < 4);
        count[m]++;
        int m3 = ring_lookup(&r3, key(i), NULL, NULL, 0);
        if (m != 3)
            assert_int_equal(m3, m); /* only b4's keys move */
        else
            moved++;
        /* skipping an unusable member gives what the ring without it gives */
        uint8_t usable[4] = {1, 1, 1, 0};
        assert_int_equal(ring_lookup(&r, key(i), usable, NULL, 0), m3);
    }
    for (int m = 0; m < 4; m++)
        assert_true(count[m] > KEYS / 4 * 6 / 10 && count[m] < KEYS / 4 * 14 / 10);
    assert_int_equal(moved, count[3]);
    uint8_t none[4] = {0};
    assert_int_equal(ring_lookup(&r, key(1), none, NULL, 0), -1);
    ring_free(&r);
    ring_free(&r3);
    ring_t empty = {0};
    assert_int_equal(ring_lookup(&empty, 1, NULL, NULL, 0), -1);
}

static void test_ring_bounded_load(void **state)
{
    const char *names[] = {"b1", "b2", "b3"};
    ring_t r = {0};
    assert_int_equal(ring_build(&r, names, 3, 128), 0);
    uint64_t load[3] = {0};
    const double eps = 1.25;
    for (int i = 0; i < 9000; i++) {
        uint64_t total = load[0] + load[1] + load[2];
        uint64_t cap = (uint64_t)(eps * (double)(total + 1) / 3.0) + 1;
        int m = ring_lookup(&r, key(i) & 0xffff000000000000ull, NULL, load, cap); /* skewed */
        assert_true(m >= 0);
        load[m]++;
    }
    for (int m = 0; m < 3; m++)
        assert_true(load[m] <= (uint64_t)(eps * 9000 / 3) + 2);
    /* everyone at the cap: falls back to the owner rather than failing */
    uint64_t full[3] = {10, 10, 10};
    assert_true(ring_lookup(&r, key(5), NULL, full, 10) >= 0);
    ring_free(&r);
}

static void test_breaker(void **state)
{
    breaker_config_t c;
    breaker_config_default(&c);
    c.failures = 3;
    c.open_ns = 1000;
    c.min_requests = 10;
    c.error_rate = 0.5;
    c.window_ns = 100000;
    breaker_t b;
    breaker_init(&b, &c);
    uint64_t t = 1;
    assert_true(breaker_allow(&b, t));
    breaker_failure(&b, t);
    breaker_failure(&b, t);
    breaker_success(&b, t); /* resets the consecutive count */
    breaker_failure(&b, t);
    breaker_failure(&b, t);
    assert_int_equal(b.state, BREAKER_CLOSED);
    breaker_failure(&b, t);
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_false(breaker_allow(&b, t + 10));
    assert_false(breaker_usable(&b, t + 999));
    /* half-open after open_for: exactly one probe */
    assert_true(breaker_usable(&b, t + 1000));
    assert_true(breaker_allow(&b, t + 1000));
    assert_int_equal(b.state, BREAKER_HALF_OPEN);
    assert_false(breaker_allow(&b, t + 1001));
    breaker_failure(&b, t + 1002); /* the probe failed: open again */
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_true(breaker_allow(&b, t + 2002));
    breaker_success(&b, t + 2003); /* the probe worked: closed */
    assert_int_equal(b.state, BREAKER_CLOSED);
    assert_true(breaker_allow(&b, t + 2004));
    /* error rate: alternate success/failure, never 3 in a row */
    breaker_init(&b, &c);
    for (int i = 0; i < 9; i++) {
        if (i % 2)
            breaker_success(&b, 10);
        else
            breaker_failure(&b, 10);
    }
    assert_int_equal(b.state, BREAKER_CLOSED);
    breaker_failure(&b, 10); /* 10 requests, 6 failures */
    assert_int_equal(b.state, BREAKER_OPEN);
    /* health checks: two failures open, a refused connection opens at once */
    breaker_init(&b, &c);
    breaker_health(&b, 0, 5);
    assert_int_equal(b.state, BREAKER_CLOSED);
    breaker_health(&b, 0, 6);
    assert_int_equal(b.state, BREAKER_OPEN);
    breaker_health(&b, 0, 500); /* still failing: the open period restarts */
    assert_false(breaker_usable(&b, 1200));
    assert_true(breaker_usable(&b, 1500));
    breaker_init(&b, &c);
    breaker_down(&b, 7);
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_balance_and_stability),
        cmocka_unit_test(test_ring_bounded_load),
        cmocka_unit_test(test_breaker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
