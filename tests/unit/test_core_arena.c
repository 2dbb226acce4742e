/* test_core_arena.c — region allocator: alignment, the cap (including sizes that would
 * overflow), cleanup order, reset reusing the first chunk, and allocation failure. */
#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_alignment_and_contents(void **state)
{
    (void)state;
    arena_t *a = arena_create(256, 0);
    assert_non_null(a);
    unsigned char *prev = NULL;
    for (size_t n = 0; n < 300; n++) {
        unsigned char *p = arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, (int)(n & 0xff), n); /* ASan: every byte handed out is writable */
        if (prev)
            assert_true(p != prev);
        prev = p;
    }
    unsigned char *z = arena_calloc(a, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    char *s = arena_strndup(a, "hello world", 5);
    assert_string_equal(s, "hello");
    arena_destroy(a);
    arena_destroy(NULL);
    arena_reset(NULL);
}

static void test_cap(void **state)
{
    (void)state;
    arena_t *a = arena_create(1024, 4096);
    assert_non_null(a);
    int got = 0;
    while (arena_alloc(a, 100))
        got++;
    /* 4 chunks of 1024 bytes, 9 allocations of 112 (100 rounded to 16) in each. */
    assert_int_equal(got, 36);
    assert_true(arena_used(a) <= 4096);
    assert_int_equal(arena_used(a), 4096);
    /* Sizes that would wrap the cap or the chunk header arithmetic fail cleanly. */
    assert_null(arena_alloc(a, SIZE_MAX));
    assert_null(arena_alloc(a, SIZE_MAX - 8));
    assert_null(arena_alloc(a, SIZE_MAX - 100));
    assert_null(arena_alloc(a, SIZE_MAX / 2));
    arena_reset(a);
    assert_int_equal(arena_used(a), 1024);
    /* One allocation bigger than a chunk gets its own chunk, within the cap. */
    assert_non_null(arena_alloc(a, 3000));
    assert_null(arena_alloc(a, 3000));
    arena_destroy(a);

    /* A request above the cap on a fresh arena, on an arena that has used some. */
    a = arena_create(64, 1000);
    assert_null(arena_alloc(a, 1001));
    assert_non_null(arena_alloc(a, 10));
    assert_null(arena_alloc(a, SIZE_MAX - 32));
    arena_destroy(a);
}

static int order[8];
static int norder;
static void record(void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
}

static void test_cleanups(void **state)
{
    (void)state;
    arena_t *a = arena_create(128, 0);
    norder = 0;
    for (int i = 1; i <= 3; i++)
        assert_int_equal(arena_add_cleanup(a, record, (void *)(intptr_t)i), 0);
    arena_reset(a);
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 3); /* last registered runs first */
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 1);
    arena_reset(a); /* nothing left to run */
    assert_int_equal(norder, 3);
    assert_int_equal(arena_add_cleanup(a, record, (void *)(intptr_t)7), 0);
    assert_int_equal(arena_add_cleanup(a, record, (void *)(intptr_t)8), 0);
    arena_destroy(a);
    assert_int_equal(norder, 5);
    assert_int_equal(order[3], 8);
    assert_int_equal(order[4], 7);

    /* Over the cap, registering fails and the hook is never called. */
    a = arena_create(64, 64);
    assert_non_null(arena_alloc(a, 64));
    norder = 0;
    assert_int_equal(arena_add_cleanup(a, record, NULL), ORASI_ENOMEM);
    arena_destroy(a);
    assert_int_equal(norder, 0);
}

static void test_reset_reuses_first_chunk(void **state)
{
    (void)state;
    arena_t *a = arena_create(512, 0);
    void *first = arena_alloc(a, 32);
    for (int i = 0; i < 50; i++)
        assert_non_null(arena_alloc(a, 200));
    assert_true(arena_used(a) > 512);
    arena_reset(a);
    assert_int_equal(arena_used(a), 512);
    assert_ptr_equal(arena_alloc(a, 32), first);
    arena_destroy(a);

    /* When the oldest chunk is an oversized one, reset frees everything. */
    a = arena_create(64, 0);
    assert_non_null(arena_alloc(a, 1000));
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    assert_non_null(arena_alloc(a, 8));
    arena_destroy(a);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    orasi_alloc_fail_after(0);
    assert_null(arena_create(64, 0));
    orasi_alloc_fail_after(1); /* the arena, then no chunk */
    arena_t *a = arena_create(64, 0);
    assert_non_null(a);
    assert_null(arena_alloc(a, 8));
    assert_int_equal(arena_add_cleanup(a, record, NULL), ORASI_ENOMEM);
    orasi_alloc_fail_after(-1);
    assert_non_null(arena_alloc(a, 8));
    arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_contents),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_cleanups),
        cmocka_unit_test(test_reset_reuses_first_chunk),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
