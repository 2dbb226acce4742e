/* ring.c — consistent hashing with bounded load (see ring.h). */
#include "forward/ring.h"

#include "core/alloc.h"
#include "core/err.h"
#include "forward/split.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ring_cmp(const void *a, const void *b)
{
    const ring_point_t *x = a, *y = b;
    return x->point < y->point ? -1 : x->point > y->point ? 1 : x->member - y->member;
}

int ring_build(ring_t *r, const char *const *names, int n, int vnodes)
{
    if (vnodes <= 0)
        vnodes = 128;
    ring_point_t *v = n ? orasi_malloc((size_t)n * (size_t)vnodes * sizeof(*v)) : NULL;
    if (n && !v)
        return ORASI_ENOMEM;
    size_t k = 0;
    for (int m = 0; m < n; m++) {
        for (int i = 0; i < vnodes; i++) {
            char key[320];
            int len = snprintf(key, sizeof(key), "%s#%d", names[m], i);
            v[k].point = split_key_hash((slice_t){(const uint8_t *)key, (size_t)len});
            v[k++].member = m;
        }
    }
    if (k)
        qsort(v, k, sizeof(*v), ring_cmp);
    ring_free(r);
    r->v = v;
    r->n = k;
    r->nmembers = n;
    return 0;
}

void ring_free(ring_t *r)
{
    orasi_free(r->v);
    r->v = NULL;
    r->n = 0;
    r->nmembers = 0;
}

int ring_lookup(const ring_t *r, uint64_t h, const uint8_t *usable, const uint64_t *load,
                uint64_t cap)
{
    if (!r->n)
        return -1;
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->v[mid].point < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    int fallback = -1;
    for (size_t i = 0; i < r->n; i++) {
        int m = r->v[(lo + i) % r->n].member;
        if (usable && !usable[m])
            continue;
        if (fallback < 0)
            fallback = m;
        if (!load || load[m] < cap)
            return m;
    }
    return fallback;
}
