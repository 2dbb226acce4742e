/*
 * lghist.h — latency histogram with logarithmic buckets (HDR-like).
 *
 * Values are unsigned integers (the load generator records microseconds). Values below
 * 128 have a bucket each; above, every power of two is split into 64 sub-buckets, so a
 * reported percentile is within 1/64 (~1.6 %) of the true value, from 1 us to centuries,
 * in a fixed 30 KB array — no allocation, no cap to hit, mergeable by addition.
 *
 * One thread records (lghist_record); another may read a consistent-enough snapshot at
 * the same time (lghist_snapshot) because every counter is read and written with relaxed
 * atomics. Exact min/max/total are kept beside the buckets.
 */
#ifndef ORASI_LOADGEN_LGHIST_H
#define ORASI_LOADGEN_LGHIST_H

#include <stdint.h>

#define LGHIST_LINEAR 128
#define LGHIST_SUB 64
#define LGHIST_BUCKETS (LGHIST_LINEAR + 57 * LGHIST_SUB)

typedef struct {
    uint64_t counts[LGHIST_BUCKETS];
    uint64_t n;
    uint64_t min, max; /* min is UINT64_MAX while empty */
    uint64_t sum;
} lghist_t;

void lghist_init(lghist_t *h);
/* Record one value (writer thread only). */
void lghist_record(lghist_t *h, uint64_t v);
/* dst += src (both quiescent, or src being written: then dst is a snapshot of it). */
void lghist_merge(lghist_t *dst, const lghist_t *src);
/* Copy src (possibly being written by another thread) into dst. */
void lghist_snapshot(lghist_t *dst, const lghist_t *src);
/* dst = a - b for two snapshots of one histogram taken in that order (an interval's
 * distribution); min/max of the result are bucket bounds, not exact. */
void lghist_diff(lghist_t *dst, const lghist_t *a, const lghist_t *b);
/* The value at quantile q in [0, 1] (upper bound of its bucket, clamped to max);
 * 0 when empty. */
uint64_t lghist_quantile(const lghist_t *h, double q);
/* Bucket index of v and the largest value that falls in bucket i (exposed for tests). */
unsigned lghist_index(uint64_t v);
uint64_t lghist_bucket_high(unsigned i);

#endif
