/*
 * metrics.h — process-wide metrics registry rendered in the Prometheus text format.
 *
 * A family has a name, help, type and a fixed list of label names; a series is one
 * combination of label values. Looking a series up costs a hash and a lock, so hot paths
 * look their series up once and keep the pointer (series live until metrics_shutdown()).
 * Updates to a series are lock-free atomics and may come from any thread.
 *
 *   metric_family_t *req = metrics_counter("orasi_http_requests_total",
 *                                          "HTTP requests by route and status", 2,
 *                                          (const char *[]){"route", "status"});
 *   metric_t *m = metric_series(req, (const char *[]){"/v1/traces", "200"});
 *   metric_add(m, 1);
 *
 * Registering the same family name twice returns the existing family (if type and label
 * names match; NULL otherwise). Label values are copied. Families and series have caps
 * (METRICS_MAX_SERIES per family); past the cap metric_series() returns a shared
 * overflow series labelled with every value "_overflow" so updates are never lost silently.
 */
#ifndef ORASI_CORE_METRICS_H
#define ORASI_CORE_METRICS_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_LABELS 8
#define METRICS_MAX_SERIES 4096
#define METRICS_MAX_FAMILIES 1024 /* registering more returns NULL */
#define METRICS_MAX_BUCKETS 64    /* histogram upper bounds per family */
#define METRICS_MAX_VALUE_LEN 1024 /* longer label values go to the overflow series */

typedef struct metric_family metric_family_t;
typedef struct metric metric_t;

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* Families. nlabels <= METRICS_MAX_LABELS; label name strings are copied. */
metric_family_t *metrics_counter(const char *name, const char *help, int nlabels,
                                 const char *const *labels);
metric_family_t *metrics_gauge(const char *name, const char *help, int nlabels,
                               const char *const *labels);
/* Histogram with `nbuckets` upper bounds (ascending, +Inf implied), in the unit of the
 * name (seconds for *_seconds). Bounds are copied. */
metric_family_t *metrics_histogram(const char *name, const char *help, int nlabels,
                                   const char *const *labels, int nbuckets,
                                   const double *bounds);

/* The series for these label values (NULL values array when nlabels == 0).
 * NULL only on allocation failure or a NULL family/value; every update function below
 * accepts NULL and does nothing, so callers need not check. Families return NULL on an
 * invalid name or label name, unsorted/non-finite bounds, a reserved "le" label on a
 * histogram, or allocation failure. */
metric_t *metric_series(metric_family_t *f, const char *const *values);

/* Counter: add a non-negative amount. Gauge: add may be negative. */
void metric_add(metric_t *m, double v);
void metric_inc(metric_t *m);
/* Gauge; also a counter whose total is read from elsewhere by a collector
 * (process_cpu_seconds_total), like client_golang's CounterFunc. */
void metric_set(metric_t *m, double v);
/* Histogram only. */
void metric_observe(metric_t *m, double v);
/* Current value of a counter or gauge (tests, /metrics-driven logic). */
double metric_value(const metric_t *m);

/* A callback run just before rendering, to refresh gauges computed on demand
 * (RSS, open fds, queue depth). */
typedef void (*metrics_collect_fn)(void *ud);
int metrics_add_collector(metrics_collect_fn fn, void *ud);

/* Render every family in the Prometheus text exposition format 0.0.4 into out. */
int metrics_render(buf_t *out);

/* Shortest decimal text that reads back as v ("42", "0.25", "1e+21", "+Inf", "NaN"),
 * as used in the exposition. Returns the snprintf length. */
int metrics_fmt_double(double v, char *out, size_t outlen);

/* Free everything (end of process / between tests). Pointers become invalid. */
void metrics_shutdown(void);

#endif
