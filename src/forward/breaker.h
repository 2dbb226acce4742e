/*
 * breaker.h — a circuit breaker per upstream: closed, open, half-open.
 *
 *   CLOSED     requests flow. Passive checks: `failures` consecutive failures, or an
 *              error rate >= error_rate over at least min_requests in the last window,
 *              open it. An active health check (GET /ready) that fails
 *              `health_failures` times in a row opens it too, so a dead upstream is
 *              noticed even when no data is flowing.
 *   OPEN       nothing is sent. After open_for, or as soon as a health check succeeds
 *              when open_for has passed, it becomes HALF_OPEN.
 *   HALF_OPEN  one probe request at a time; its success closes the breaker, its failure
 *              opens it again (for open_for).
 * Pure state machine on caller-supplied monotonic times: single-threaded (the
 * forwarder's loop) and unit-testable without clocks.
 */
#ifndef ORASI_FORWARD_BREAKER_H
#define ORASI_FORWARD_BREAKER_H

#include <stdint.h>

enum breaker_state { BREAKER_CLOSED = 0, BREAKER_OPEN, BREAKER_HALF_OPEN };

typedef struct {
    uint32_t failures;        /* consecutive failures that open (default 3) */
    double error_rate;        /* 0..1 (default 0.5) */
    uint32_t min_requests;    /* before the rate counts (default 20) */
    uint64_t window_ns;       /* rate window (default 10 s) */
    uint64_t open_ns;         /* open_for (default 1 s) */
    uint32_t health_failures; /* consecutive failed health checks that open (default 2) */
} breaker_config_t;

typedef struct {
    breaker_config_t cfg;
    enum breaker_state state;
    uint32_t consecutive, health_consecutive;
    uint32_t win_req, win_fail;
    uint64_t win_start, opened_at;
    int probe; /* half-open: a probe is in flight */
    uint64_t transitions;
} breaker_t;

void breaker_config_default(breaker_config_t *c);
void breaker_init(breaker_t *b, const breaker_config_t *c);
/* May a request go now? In HALF_OPEN a yes reserves the single probe slot: report its
 * outcome with breaker_success / breaker_failure. */
int breaker_allow(breaker_t *b, uint64_t now);
/* Whether breaker_allow would say yes (no side effect). */
int breaker_usable(const breaker_t *b, uint64_t now);
void breaker_success(breaker_t *b, uint64_t now);
void breaker_failure(breaker_t *b, uint64_t now);
/* The upstream refused a connection: it is down, open now (no need to wait for more
 * evidence: nothing listens there). */
void breaker_down(breaker_t *b, uint64_t now);
/* Result of an active health check. */
void breaker_health(breaker_t *b, int ok, uint64_t now);
const char *breaker_state_name(enum breaker_state s);

#endif
