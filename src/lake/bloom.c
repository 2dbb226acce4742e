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
    /* m = -n ln(p) / ln(2)^2 ~ 9.59 n bits for p = 1 %; k = m/n ln 2 ~ 7 */
    uint64_t bits = (uint64_t)n * 10;
    bits = (bits + 63) / 64 * 64;
    if (bits / 8 > BLOOM_MAX_BYTES)
        bits = (uint64_t)BLOOM_MAX_BYTES * 8;
    b->nbits = (uint32_t)bits;
    b->k = 7;
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

int bloom_may_contain(const void *blob, size_t len, const uint8_t id[16])
{
    const uint8_t *p = blob;
    if (!p || len < BLOOM_HEADER || p[0] != 1 || p[1] == 0 || p[1] > 16)
        return 1;
    uint32_t nbits = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                     (uint32_t)p[7] << 24;
    if (nbits < 64 || nbits % 64 || (size_t)nbits / 8 != len - BLOOM_HEADER)
        return 1;
    uint64_t h1, h2;
    hashes(id, &h1, &h2);
    const uint8_t *bits = p + BLOOM_HEADER;
    for (unsigned j = 0; j < p[1]; j++) {
        uint64_t i = (h1 + j * h2) % nbits;
        if (!(bits[i >> 3] & (1u << (i & 7))))
            return 0;
    }
    return 1;
}
