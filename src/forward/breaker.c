/* breaker.c — circuit breaker state machine (see breaker.h). */
#include "forward/breaker.h"

#include <string.h>

void breaker_config_default(breaker_config_t *c)
{
    c->failures = 3;
    c->error_rate = 0.5;
    c->min_requests = 20;
    c->window_ns = 10000000000ull;
    c->open_ns = 1000000000ull;
    c->health_failures = 2;
}

void breaker_init(breaker_t *b, const breaker_config_t *c)
{
    memset(b, 0, sizeof(*b));
    b->cfg = *c;
    if (!b->cfg.failures)
        b->cfg.failures = 1;
    if (!b->cfg.health_failures)
        b->cfg.health_failures = 1;
}

static void breaker_open(breaker_t *b, uint64_t now)
{
    if (b->state != BREAKER_OPEN)
        b->transitions++;
    b->state = BREAKER_OPEN;
    b->opened_at = now;
    b->probe = 0;
    b->consecutive = 0;
    b->win_req = b->win_fail = 0;
    b->win_start = now;
}

static void breaker_tick(breaker_t *b, uint64_t now)
{
    if (b->state == BREAKER_OPEN && now - b->opened_at >= b->cfg.open_ns) {
        b->state = BREAKER_HALF_OPEN;
        b->probe = 0;
        b->transitions++;
    }
    if (now - b->win_start >= b->cfg.window_ns) {
        b->win_start = now;
        b->win_req = b->win_fail = 0;
    }
}

int breaker_usable(const breaker_t *b, uint64_t now)
{
    switch (b->state) {
    case BREAKER_CLOSED:
        return 1;
    case BREAKER_OPEN:
        return now - b->opened_at >= b->cfg.open_ns;
    default:
        return !b->probe;
    }
}

int breaker_allow(breaker_t *b, uint64_t now)
{
    breaker_tick(b, now);
    if (b->state == BREAKER_CLOSED)
        return 1;
    if (b->state == BREAKER_HALF_OPEN && !b->probe) {
        b->probe = 1;
        return 1;
    }
    return 0;
}

void breaker_success(breaker_t *b, uint64_t now)
{
    breaker_tick(b, now);
    b->consecutive = 0;
    b->health_consecutive = 0;
    if (b->state == BREAKER_HALF_OPEN) {
        b->state = BREAKER_CLOSED;
        b->probe = 0;
        b->transitions++;
        b->win_req = b->win_fail = 0;
        b->win_start = now;
    }
    if (b->state == BREAKER_CLOSED)
        b->win_req++;
}

void breaker_failure(breaker_t *b, uint64_t now)
{
    breaker_tick(b, now);
    if (b->state == BREAKER_HALF_OPEN) {
        breaker_open(b, now);
        return;
    }
    if (b->state == BREAKER_OPEN)
        return;
    b->consecutive++;
    b->win_req++;
    b->win_fail++;
    if (b->consecutive >= b->cfg.failures ||
        (b->win_req >= b->cfg.min_requests &&
         (double)b->win_fail >= b->cfg.error_rate * (double)b->win_req))
        breaker_open(b, now);
}

void breaker_down(breaker_t *b, uint64_t now)
{
    breaker_tick(b, now);
    if (b->state == BREAKER_OPEN)
        b->opened_at = now;
    else
        breaker_open(b, now);
}

void breaker_health(breaker_t *b, int ok, uint64_t now)
{
    breaker_tick(b, now);
    if (ok) {
        b->health_consecutive = 0;
        /* a healthy check ends the open period early only once open_for has passed:
         * breaker_tick already moved it to HALF_OPEN then; the next request probes */
        return;
    }
    b->health_consecutive++;
    if (b->state != BREAKER_OPEN && b->health_consecutive >= b->cfg.health_failures)
        breaker_open(b, now);
    else if (b->state == BREAKER_OPEN)
        b->opened_at = now; /* still down: stay open a full period from now */
}

const char *breaker_state_name(enum breaker_state s)
{
    return s == BREAKER_CLOSED ? "closed" : s == BREAKER_OPEN ? "open" : "half_open";
}
