/*
 * arena.h — region allocator for per-request and per-batch memory (nginx's pools).
 *
 * Memory is bump-allocated from chunks and released all at once by arena_reset() or
 * arena_destroy(). An arena has a hard cap on the total bytes it may hold; past it
 * arena_alloc() returns NULL and the caller reports ORASI_ETOOBIG/ENOMEM. Cleanup hooks
 * run (last registered first) when the arena is reset or destroyed, for resources that
 * are not memory (fds, library objects).
 * Not thread-safe: an arena belongs to one request on one loop.
 */
#ifndef ORASI_CORE_ARENA_H
#define ORASI_CORE_ARENA_H

#include <stddef.h>

typedef struct arena arena_t;
typedef void (*arena_cleanup_fn)(void *arg);

/* Create an arena whose chunks are `chunk_size` bytes and whose total is capped at
 * `cap` bytes (0 = 1 GiB). NULL on allocation failure. Caller owns it. */
arena_t *arena_create(size_t chunk_size, size_t cap);
void arena_destroy(arena_t *a);
/* Free everything allocated since creation (keeps the first chunk for reuse). */
void arena_reset(arena_t *a);
/* `n` bytes aligned to 16; valid until reset/destroy. NULL when over cap or OOM. */
void *arena_alloc(arena_t *a, size_t n);
void *arena_calloc(arena_t *a, size_t n);
char *arena_strndup(arena_t *a, const char *s, size_t n);
/* Register fn(arg) to run at reset/destroy. ORASI_ENOMEM on failure (fn not called). */
int arena_add_cleanup(arena_t *a, arena_cleanup_fn fn, void *arg);
/* Bytes currently handed out (sum of chunk sizes in use). */
size_t arena_used(const arena_t *a);

#endif
