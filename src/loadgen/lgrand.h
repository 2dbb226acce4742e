/*
 * lgrand.h — the load generator's seeded pseudo-random numbers.
 *
 * xoshiro256** (Blackman & Vigna): fast, 256 bits of state, good enough for ids and
 * sampling (not for secrets). Seeded through splitmix64 so any 64-bit seed, including 0,
 * gives a well-mixed state; the same seed reproduces the same stream (--seed). Each worker
 * thread derives its own stream with lgrand_seed(seed, stream) so threads never share
 * state. The distributions are the ones telemetry needs: heavy-tailed durations
 * (lognormal, Pareto), weighted choices and Bernoulli draws.
 * Not thread-safe: one lgrand_t per thread.
 */
#ifndef ORASI_LOADGEN_LGRAND_H
#define ORASI_LOADGEN_LGRAND_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} lgrand_t;

/* Seed the generator for stream number `stream` of `seed` (distinct streams of one seed
 * are independent for all practical purposes). */
void lgrand_seed(lgrand_t *r, uint64_t seed, uint64_t stream);

static inline uint64_t lgrand_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Next 64 random bits. */
static inline uint64_t lgrand_u64(lgrand_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = lgrand_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = lgrand_rotl(s[3], 45);
    return result;
}

/* Uniform double in [0, 1). */
static inline double lgrand_unit(lgrand_t *r)
{
    return (double)(lgrand_u64(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) (n > 0); Lemire's multiply-shift, bias < 2^-32 for our n. */
static inline uint32_t lgrand_below(lgrand_t *r, uint32_t n)
{
    return (uint32_t)(((lgrand_u64(r) >> 32) * (uint64_t)n) >> 32);
}

/* 1 with probability p. */
static inline int lgrand_chance(lgrand_t *r, double p)
{
    return lgrand_unit(r) < p;
}

/* Fill n bytes with random bytes; never produces an all-zero id of 8 or 16 bytes
 * (an all-zero trace/span id is invalid in OTLP). */
void lgrand_bytes(lgrand_t *r, uint8_t *out, size_t n);
/* Standard normal deviate (Box–Muller; one of the pair is discarded for simplicity). */
double lgrand_normal(lgrand_t *r);
/* Lognormal with the given median and shape sigma: median * exp(sigma * N(0,1)). */
double lgrand_lognormal(lgrand_t *r, double median, double sigma);
/* Pareto (type I) with scale xm > 0 and shape alpha > 0: xm / U^(1/alpha). */
double lgrand_pareto(lgrand_t *r, double xm, double alpha);
/* Index in [0, n) chosen with the given non-negative weights (sum > 0). */
size_t lgrand_weighted(lgrand_t *r, const double *weights, size_t n);

#endif
