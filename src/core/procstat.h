/*
 * procstat.h — the standard Prometheus process metrics, read from /proc on demand.
 *
 * procstat_register() adds these to the metrics registry and a collector that refreshes
 * them just before each render (so /metrics costs a few /proc reads, nothing otherwise):
 *   process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
 *   process_max_fds, process_cpu_seconds_total, process_start_time_seconds,
 *   orasi_build_info{version="..."} 1
 * Linux only (uses /proc/self).
 */
#ifndef ORASI_CORE_PROCSTAT_H
#define ORASI_CORE_PROCSTAT_H

#include <stdint.h>

struct procstat {
    uint64_t rss_bytes;
    uint64_t vsize_bytes;
    uint64_t open_fds;
    uint64_t max_fds;      /* RLIMIT_NOFILE soft limit */
    double cpu_seconds;    /* user + system */
    double start_time;     /* seconds since the Unix epoch */
};

/* Read the current values. 0, or ORASI_EIO / ORASI_EPARSE when /proc is unreadable. */
int procstat_read(struct procstat *out);

/* Register the gauges and their collector; `version` is copied into the build_info
 * label. Calling again (e.g. after metrics_shutdown) registers afresh.
 * 0 or ORASI_ENOMEM / ORASI_EFULL. */
int procstat_register(const char *version);

#endif
