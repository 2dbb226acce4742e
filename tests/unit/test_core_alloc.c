/* test_core_alloc.c — the allocation wrapper and its fault injection: counts, the Nth
 * allocation failing and every one after it, reset, realloc keeping the block on failure,
 * and exact counting under threads. */
#include "core/alloc.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_basic(void **state)
{
    (void)state;
    orasi_alloc_fail_after(-1);
    void *p = orasi_malloc(0);
    assert_non_null(p);
    orasi_free(p);
    unsigned char *z = orasi_calloc(16, 4);
    assert_non_null(z);
    for (int i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    z = orasi_realloc(z, 4096);
    assert_non_null(z);
    orasi_free(z);
    assert_null(orasi_calloc(SIZE_MAX / 2, 4)); /* overflow of nmemb * size */
    assert_null(orasi_malloc(SIZE_MAX));
    char *s = orasi_strdup("hello");
    assert_string_equal(s, "hello");
    orasi_free(s);
    s = orasi_strndup("hello world", 5);
    assert_string_equal(s, "hello");
    orasi_free(s);
    orasi_free(NULL);
}

static void test_counting(void **state)
{
    (void)state;
    orasi_alloc_fail_after(-1);
    void *a = orasi_malloc(8), *b = orasi_calloc(1, 8);
    a = orasi_realloc(a, 16);
    char *c = orasi_strdup("x");
    assert_int_equal(orasi_alloc_fail_after(-1), 4);
    assert_int_equal(orasi_alloc_fail_after(-1), 0);
    orasi_free(NULL); /* frees are not counted */
    orasi_free(a);
    orasi_free(b);
    orasi_free(c);
    assert_int_equal(orasi_alloc_fail_after(-1), 0);
}

static void test_fail_nth(void **state)
{
    (void)state;
    long before = orasi_alloc_injected_failures();
    orasi_alloc_fail_after(2);
    void *a = orasi_malloc(8);
    void *b = orasi_malloc(8);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(orasi_malloc(8)); /* the third */
    assert_null(orasi_calloc(1, 1)); /* and every one after it */
    assert_null(orasi_strdup("x"));
    /* A failed realloc leaves the block valid and unchanged. */
    memcpy(a, "abcdefg", 8);
    assert_null(orasi_realloc(a, 1 << 20));
    assert_string_equal(a, "abcdefg");
    assert_int_equal(orasi_alloc_injected_failures() - before, 4);
    /* Counting includes the failed attempts; -1 switches injection off. */
    assert_int_equal(orasi_alloc_fail_after(-1), 6);
    void *c = orasi_malloc(8);
    assert_non_null(c);
    orasi_free(a);
    orasi_free(b);
    orasi_free(c);
    /* fail_after(0) fails the very next one. */
    orasi_alloc_fail_after(0);
    assert_null(orasi_malloc(1));
    orasi_alloc_fail_after(-1);
}

#define NTHREADS 4
#define PER_THREAD 20000

static void *alloc_worker(void *arg)
{
    long *ok = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        void *p = orasi_malloc(16);
        if (p) {
            (*ok)++;
            orasi_free(p);
        }
    }
    return NULL;
}

/* With N allowed and more attempted from several threads, exactly N succeed. */
static void test_threads_exact(void **state)
{
    (void)state;
    long ok[NTHREADS] = {0};
    pthread_t th[NTHREADS];
    long allowed = NTHREADS * PER_THREAD / 2;
    orasi_alloc_fail_after(allowed);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, alloc_worker, &ok[i]), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    long count = orasi_alloc_fail_after(-1);
    long total = 0;
    for (int i = 0; i < NTHREADS; i++)
        total += ok[i];
    assert_int_equal(total, allowed);
    assert_int_equal(count, NTHREADS * PER_THREAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_counting),
        cmocka_unit_test(test_fail_nth),
        cmocka_unit_test(test_threads_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
