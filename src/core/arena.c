/* arena.c — chunked bump allocator with a cap and cleanup hooks (see arena.h). */
#include "core/arena.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stdint.h>
#include <string.h>

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(16) unsigned char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    arena_cleanup_fn fn;
    void *arg;
};

struct arena {
    struct arena_chunk *head; /* current chunk (newest first) */
    struct arena_cleanup *cleanups;
    size_t chunk_size;
    size_t cap;
    size_t total; /* bytes of chunks allocated */
};

#define ARENA_ALIGN 16

static struct arena_chunk *arena_new_chunk(arena_t *a, size_t need)
{
    size_t size = need > a->chunk_size ? need : a->chunk_size;
    /* Written so nothing can wrap: a huge request must fail here, not turn into a small
     * malloc that is then overrun. */
    if (size > a->cap - a->total || size > SIZE_MAX - sizeof(struct arena_chunk))
        return NULL;
    struct arena_chunk *c = orasi_malloc(sizeof(*c) + size);
    if (!c)
        return NULL;
    c->next = a->head;
    c->size = size;
    c->used = 0;
    a->head = c;
    a->total += size;
    return c;
}

arena_t *arena_create(size_t chunk_size, size_t cap)
{
    arena_t *a = orasi_calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->chunk_size = chunk_size ? chunk_size : 4096;
    a->cap = cap ? cap : ((size_t)1 << 30);
    return a;
}

static void arena_run_cleanups(arena_t *a)
{
    while (a->cleanups) {
        struct arena_cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->arg);
    }
}

void arena_reset(arena_t *a)
{
    if (!a)
        return;
    arena_run_cleanups(a);
    /* keep the oldest chunk (the last in the list) if it is of the default size */
    struct arena_chunk *c = a->head, *keep = NULL;
    while (c) {
        struct arena_chunk *next = c->next;
        if (!next && c->size == a->chunk_size)
            keep = c;
        else
            orasi_free(c);
        c = next;
    }
    a->head = keep;
    a->total = keep ? keep->size : 0;
    if (keep)
        keep->used = 0;
}

void arena_destroy(arena_t *a)
{
    if (!a)
        return;
    arena_run_cleanups(a);
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        orasi_free(c);
        c = next;
    }
    orasi_free(a);
}

void *arena_alloc(arena_t *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        c = arena_new_chunk(a, n);
        if (!c)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void *arena_calloc(arena_t *a, size_t n)
{
    void *p = arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int arena_add_cleanup(arena_t *a, arena_cleanup_fn fn, void *arg)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
    if (!c)
        return ORASI_ENOMEM;
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

size_t arena_used(const arena_t *a)
{
    return a->total;
}
