/* bloom.c — trace-id Bloom filters (format in bloom.h). */
#include "lake/bloom.h"

#include "core/alloc.h"
#include "core/err.h"

#include <string.h>

/* splitmix64 finalizer: trace ids are random already, but a client may send structured
 * ones (counters, zero halves), so mix before probing. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static void hashes(const uint8_t id[16], uint64_t *h1, uint64_t *h2)
{
    uint64_t a, b;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    *h1 = mix(a ^ mix(b));
    *h2 = mix(b + 0x9e3779b97f4a7c15ull) | 1; /* odd: probes cycle through all bits */
}

int bloom_init(bloom_t *b, size_t n)
{
    memset(b, 0, sizeof(*b));
    if (n == 0)
        n = 1;
    /* 15 bits per id and k = 10 (~ m/n ln 2): p = (1 - e^(-k n/m))^k ~ 0.07 %. A lookup
     * without a time range probes every file of the tenant, so the false positives grow
     * with the lake: at 1 % (10 bits, k = 7) a lake of 1000 files opened ~10 files that
     * do not hold the trace, each costing a scan of its TraceId column. */
    uint64_t bits = (uint64_t)n * 15;
    bits = (bits + 63) / 64 * 64;
    if (bits / 8 > BLOOM_MAX_BYTES)
        bits = (uint64_t)BLOOM_MAX_BYTES * 8;
    b->nbits = (uint32_t)bits;
    b->k = 10;
    b->len = BLOOM_HEADER + bits / 8;
    b->data = orasi_calloc(1, b->len);
    if (!b->data)
        return ORASI_ENOMEM;
    b->data[0] = 1;
    b->data[1] = b->k;
    b->data[4] = (uint8_t)(b->nbits);
    b->data[5] = (uint8_t)(b->nbits >> 8);
    b->data[6] = (uint8_t)(b->nbits >> 16);
    b->data[7] = (uint8_t)(b->nbits >> 24);
    return 0;
}

void bloom_free(bloom_t *b)
{
    orasi_free(b->data);
    memset(b, 0, sizeof(*b));
}

void bloom_add(bloom_t *b, const uint8_t id[16])
{
    uint64_t h1, h2;
    hashes(id, &h1, &h2);
    uint8_t *bits = b->data + BLOOM_HEADER;
    for (unsigned j = 0; j < b->k; j++) {
        uint64_t i = (h1 + j * h2) % b->nbits;
        bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
}

int bloom_header(const void *blob, size_t len, uint32_t *nbits, unsigned *k)
{
    const uint8_t *p = blob;
    if (!p || len < BLOOM_HEADER || p[0] != 1 || p[1] == 0 || p[1] > BLOOM_MAX_K)
        return ORASI_EINVAL;
    uint32_t n = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                 (uint32_t)p[7] << 24;
    if (n < 64 || n % 64 || (size_t)n / 8 != len - BLOOM_HEADER)
        return ORASI_EINVAL;
    *nbits = n;
    *k = p[1];
    return 0;
}

void bloom_probe_bits(const uint8_t id[16], uint32_t nbits, unsigned k, uint32_t *out)
{
    uint64_t h1, h2;
    hashes(id, &h1, &h2);
    for (unsigned j = 0; j < k; j++)
        out[j] = (uint32_t)((h1 + j * h2) % nbits);
}

int bloom_may_contain(const void *blob, size_t len, const uint8_t id[16])
{
    uint32_t nbits, bit[BLOOM_MAX_K];
    unsigned k;
    if (bloom_header(blob, len, &nbits, &k) != 0)
        return 1;
    bloom_probe_bits(id, nbits, k, bit);
    const uint8_t *bits = (const uint8_t *)blob + BLOOM_HEADER;
    for (unsigned j = 0; j < k; j++)
        if (!(bits[bit[j] >> 3] & (1u << (bit[j] & 7))))
            return 0;
    return 1;
}
