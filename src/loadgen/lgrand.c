/* lgrand.c — seeding and distributions for the load generator's PRNG (see lgrand.h). */
#include "loadgen/lgrand.h"

#include <math.h>
#include <string.h>

/* splitmix64: the seeding function the xoshiro authors recommend. */
static uint64_t lgrand_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void lgrand_seed(lgrand_t *r, uint64_t seed, uint64_t stream)
{
    /* Mix the stream number in through a second splitmix round so that (seed, stream)
     * pairs that differ only slightly still start far apart. */
    uint64_t x = seed;
    uint64_t m = lgrand_splitmix(&x) ^ (stream * 0xd1342543de82ef95ull + 0x632be59bd9b4e019ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = lgrand_splitmix(&m);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1; /* the all-zero state is a fixed point */
}

void lgrand_bytes(lgrand_t *r, uint8_t *out, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t v = lgrand_u64(r);
        size_t k = n - i < 8 ? n - i : 8;
        memcpy(out + i, &v, k);
        i += k;
    }
    /* An all-zero id means "absent" in OTLP; make that impossible rather than unlikely. */
    for (i = 0; i < n; i++)
        if (out[i])
            return;
    if (n)
        out[0] = 1;
}

double lgrand_normal(lgrand_t *r)
{
    double u1 = lgrand_unit(r);
    double u2 = lgrand_unit(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double lgrand_lognormal(lgrand_t *r, double median, double sigma)
{
    return median * exp(sigma * lgrand_normal(r));
}

double lgrand_pareto(lgrand_t *r, double xm, double alpha)
{
    double u = 1.0 - lgrand_unit(r); /* (0, 1] */
    return xm / pow(u, 1.0 / alpha);
}

size_t lgrand_weighted(lgrand_t *r, const double *weights, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += weights[i];
    double x = lgrand_unit(r) * total;
    for (size_t i = 0; i < n; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    return n - 1;
}
