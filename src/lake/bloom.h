/*
 * bloom.h — the trace-id Bloom filter stored with every traces file in the catalog.
 *
 * The SQL engine asks "may this file hold trace id X?" before opening a file, so a trace
 * lookup reads only the few files that can answer it. One filter per file, built while
 * the file is flushed, sized for ~1 % false positives.
 *
 * Serialized form (the catalog's files.bloom BLOB), little endian:
 *   u8  version (1)
 *   u8  k        number of probes (1..16)
 *   u16 reserved (0)
 *   u32 nbits    filter size in bits (multiple of 64, >= 64)
 *   nbits/8 bytes of bits (bit i is byte i/8, bit i%8)
 * Probe j of id (16 bytes) is (h1 + j*h2) mod nbits with h1/h2 two 64-bit mixes of the
 * id's halves (double hashing, Kirsch & Mitzenmacher).
 */
#ifndef ORASI_LAKE_BLOOM_H
#define ORASI_LAKE_BLOOM_H

#include <stddef.h>
#include <stdint.h>

#define BLOOM_HEADER 8
#define BLOOM_MAX_BYTES (16u << 20) /* cap: 16 MiB of bits (~14 M distinct ids at 1 %) */

typedef struct {
    uint8_t *data; /* header + bits; owned (orasi_malloc) */
    size_t len;
    uint32_t nbits;
    uint8_t k;
} bloom_t;

/* A filter for about `n` ids at false-positive rate ~1 %. 0 or ORASI_ENOMEM. */
int bloom_init(bloom_t *b, size_t n);
void bloom_free(bloom_t *b);
void bloom_add(bloom_t *b, const uint8_t id[16]);
/* 1 when the serialized filter may contain id, 0 when it surely does not. A blob that is
 * not a valid filter answers 1 (never hide a file because of a bad filter). */
int bloom_may_contain(const void *blob, size_t len, const uint8_t id[16]);

#endif
