/*
 * alloc.h — the one allocation wrapper.
 *
 * All heap memory in Orasi goes through orasi_malloc/calloc/realloc/free so that tests
 * can make the Nth allocation fail (orasi_alloc_fail_after) and check that every caller
 * turns that into a clean error (SQLite's test_malloc.c, curl's torture mode). Allocation
 * failure is an error to return, never an abort. Third-party libraries (nghttp2, zlib,
 * DuckDB) keep their own allocators; where they accept a custom one we pass ours.
 */
#ifndef ORASI_CORE_ALLOC_H
#define ORASI_CORE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *orasi_malloc(size_t n);
void *orasi_calloc(size_t nmemb, size_t size);
void *orasi_realloc(void *p, size_t n);
void orasi_free(void *p);
/* Duplicate n bytes plus a NUL terminator; NULL on failure. Caller owns the result. */
char *orasi_strndup(const char *s, size_t n);
char *orasi_strdup(const char *s);

/*
 * Fault injection (tests only; thread-safe but process-wide):
 * after `n` more successful allocations, every allocation fails until reset.
 * n < 0 disables injection. Returns how many allocations have been made since the
 * last call, so a test can first count, then fail each N in turn.
 */
long orasi_alloc_fail_after(long n);
/* Number of allocations that failed because of injection since process start. */
long orasi_alloc_injected_failures(void);

#endif
