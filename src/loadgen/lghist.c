/* lghist.c — logarithmic latency histogram (see lghist.h). */
#include "loadgen/lghist.h"

#include <string.h>

#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

void lghist_init(lghist_t *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

unsigned lghist_index(uint64_t v)
{
    if (v < LGHIST_LINEAR)
        return (unsigned)v;
    int msb = 63 - __builtin_clzll(v); /* >= 7 */
    int shift = msb - 6;               /* keeps the top 7 bits: 64..127 */
    return LGHIST_LINEAR + (unsigned)(shift - 1) * LGHIST_SUB +
           (unsigned)((v >> shift) - LGHIST_SUB);
}

uint64_t lghist_bucket_high(unsigned i)
{
    if (i < LGHIST_LINEAR)
        return i;
    unsigned shift = (i - LGHIST_LINEAR) / LGHIST_SUB + 1;
    uint64_t top = (i - LGHIST_LINEAR) % LGHIST_SUB + LGHIST_SUB;
    if (shift >= 57 && top >= 127)
        return UINT64_MAX;
    return ((top + 1) << shift) - 1;
}

/* Only the owning thread writes, so plain read-modify-write through relaxed atomic
 * loads/stores is race-free and costs no locked instruction. */
void lghist_record(lghist_t *h, uint64_t v)
{
    unsigned i = lghist_index(v);
    ST(&h->counts[i], LD(&h->counts[i]) + 1);
    ST(&h->n, LD(&h->n) + 1);
    ST(&h->sum, LD(&h->sum) + v);
    if (v < LD(&h->min))
        ST(&h->min, v);
    if (v > LD(&h->max))
        ST(&h->max, v);
}

void lghist_snapshot(lghist_t *dst, const lghist_t *src)
{
    for (unsigned i = 0; i < LGHIST_BUCKETS; i++)
        dst->counts[i] = LD(&src->counts[i]);
    dst->n = LD(&src->n);
    dst->sum = LD(&src->sum);
    dst->min = LD(&src->min);
    dst->max = LD(&src->max);
}

void lghist_merge(lghist_t *dst, const lghist_t *src)
{
    lghist_t s;
    lghist_snapshot(&s, src);
    for (unsigned i = 0; i < LGHIST_BUCKETS; i++)
        dst->counts[i] += s.counts[i];
    dst->n += s.n;
    dst->sum += s.sum;
    if (s.min < dst->min)
        dst->min = s.min;
    if (s.max > dst->max)
        dst->max = s.max;
}

void lghist_diff(lghist_t *dst, const lghist_t *a, const lghist_t *b)
{
    lghist_init(dst);
    uint64_t n = 0;
    for (unsigned i = 0; i < LGHIST_BUCKETS; i++) {
        uint64_t c = a->counts[i] >= b->counts[i] ? a->counts[i] - b->counts[i] : 0;
        dst->counts[i] = c;
        if (c) {
            n += c;
            uint64_t lo = i ? lghist_bucket_high(i - 1) + 1 : 0;
            if (lo < dst->min)
                dst->min = lo;
            dst->max = lghist_bucket_high(i);
        }
    }
    dst->n = n;
    dst->sum = a->sum >= b->sum ? a->sum - b->sum : 0;
}

uint64_t lghist_quantile(const lghist_t *h, double q)
{
    if (h->n == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    /* rank of the wanted sample, 1-based: ceil(q * n), at least 1 */
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if ((double)rank < q * (double)h->n)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < LGHIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = lghist_bucket_high(i);
            return v > h->max ? h->max : (v < h->min ? h->min : v);
        }
    }
    return h->max;
}
