/*
 * ring.h — consistent hashing with bounded load (Mirrokni, Thorup, Zadimoghaddam 2016).
 *
 * Each member gets `vnodes` points on a 64-bit ring (hash of "name#i"); a key goes to the
 * owner of the first point at or after its hash. Membership changes move only the keys
 * of the member that came or went. With bounded load, a member whose current load is at
 * or above its cap is skipped (the walk continues clockwise), so no member takes more
 * than (1 + epsilon) times the average. Members can also be skipped as unusable (open
 * circuit breaker).
 */
#ifndef ORASI_FORWARD_RING_H
#define ORASI_FORWARD_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t point;
    int member;
} ring_point_t;

typedef struct {
    ring_point_t *v; /* owned, sorted by point */
    size_t n;
    int nmembers;
} ring_t;

/* Build from member names (index = member id). 0 or ORASI_ENOMEM. Frees the old ring. */
int ring_build(ring_t *r, const char *const *names, int n, int vnodes);
void ring_free(ring_t *r);
/* The member for hash h: the first point >= h whose member is usable (usable may be
 * NULL: all) and, when load/cap are given, has load[m] < cap. Falls back to the first
 * usable member ignoring load when every usable one is at its cap. -1 when none. */
int ring_lookup(const ring_t *r, uint64_t h, const uint8_t *usable, const uint64_t *load,
                uint64_t cap);

#endif
