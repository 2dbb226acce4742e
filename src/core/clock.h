/* clock.h — monotonic and wall clocks in nanoseconds. */
#ifndef ORASI_CORE_CLOCK_H
#define ORASI_CORE_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ns: for durations, deadlines and timers. */
uint64_t clock_mono_ns(void);
/* CLOCK_REALTIME in ns since the Unix epoch: for timestamps users see. */
uint64_t clock_wall_ns(void);
/* Format a wall-clock ns value as RFC 3339 UTC with milliseconds into out (>= 32 bytes). */
void clock_fmt_rfc3339(uint64_t wall_ns, char *out, unsigned outlen);

#endif
