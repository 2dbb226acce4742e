/*
 * bloom.h — the trace-id Bloom filter stored with every traces file in the catalog.
 *
 * The SQL engine asks "may this file hold trace id X?" before opening a file, so a trace
 * lookup reads only the few files that can answer it. One filter per file, built while
 * the file is flushed, sized for ~0.07 % false positives (15 bits per id, 10 probes;
 * filters written before were 10 bits and 7 probes, ~1 %: k and nbits are in the header).
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
#define BLOOM_MAX_BYTES (16u << 20) /* cap: 16 MiB of bits (~9 M distinct ids at 0.07 %) */
#define BLOOM_MAX_K 16

typedef struct {
    uint8_t *data; /* header + bits; owned (orasi_malloc) */
    size_t len;
    uint32_t nbits;
    uint8_t k;
} bloom_t;

/* A filter for about `n` ids at false-positive rate ~0.07 %. 0 or ORASI_ENOMEM. */
int bloom_init(bloom_t *b, size_t n);
void bloom_free(bloom_t *b);
void bloom_add(bloom_t *b, const uint8_t id[16]);
/* 1 when the serialized filter may contain id, 0 when it surely does not. A blob that is
 * not a valid filter answers 1 (never hide a file because of a bad filter). */
int bloom_may_contain(const void *blob, size_t len, const uint8_t id[16]);

/* For probing a filter where it is stored, reading only the bytes a lookup needs (the
 * catalog reads them from SQLite): bloom_header checks the header of a serialized filter
 * of `len` bytes (only its first BLOOM_HEADER bytes are read) and gives nbits and k (0,
 * or ORASI_EINVAL: not a valid filter, treat as "may contain"); bloom_probe_bits writes
 * the k bit numbers a lookup of id tests to out[0..k) (k <= BLOOM_MAX_K). Bit i is bit
 * i % 8 of byte BLOOM_HEADER + i / 8 of the blob. */
int bloom_header(const void *blob, size_t len, uint32_t *nbits, unsigned *k);
void bloom_probe_bits(const uint8_t id[16], uint32_t nbits, unsigned k, uint32_t *out);

#endif
