/* alloc.c — allocation wrapper with a fault-injection hook (see alloc.h). */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long alloc_countdown = -1; /* <0: injection off */
static _Atomic long alloc_count;
static _Atomic long alloc_failed;

static int alloc_should_fail(void)
{
    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
    long c = atomic_load_explicit(&alloc_countdown, memory_order_relaxed);
    /* Decrement with a CAS: a plain load-then-subtract lets two threads that both saw 1
     * drive the countdown to -1, which would switch injection off instead of failing. */
    for (;;) {
        if (c < 0)
            return 0;
        if (c == 0) {
            atomic_fetch_add_explicit(&alloc_failed, 1, memory_order_relaxed);
            return 1;
        }
        if (atomic_compare_exchange_weak_explicit(&alloc_countdown, &c, c - 1,
                                                  memory_order_relaxed, memory_order_relaxed))
            return 0;
    }
}

/* Sizes no allocator can satisfy are refused here, as a plain NULL: the C library would
 * say the same, but sanitizer allocators abort on them instead of returning NULL. */
#define ALLOC_MAX ((size_t)PTRDIFF_MAX)

void *orasi_malloc(size_t n)
{
    if (alloc_should_fail() || n > ALLOC_MAX)
        return NULL;
    return malloc(n ? n : 1);
}

void *orasi_calloc(size_t nmemb, size_t size)
{
    if (alloc_should_fail())
        return NULL;
    if (size && nmemb > ALLOC_MAX / size)
        return NULL;
    return calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *orasi_realloc(void *p, size_t n)
{
    if (alloc_should_fail() || n > ALLOC_MAX)
        return NULL;
    return realloc(p, n ? n : 1);
}

void orasi_free(void *p)
{
    free(p);
}

char *orasi_strndup(const char *s, size_t n)
{
    char *d = orasi_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *orasi_strdup(const char *s)
{
    return orasi_strndup(s, strlen(s));
}

long orasi_alloc_fail_after(long n)
{
    long before = atomic_exchange(&alloc_count, 0);
    atomic_store(&alloc_countdown, n);
    return before;
}

long orasi_alloc_injected_failures(void)
{
    return atomic_load(&alloc_failed);
}
