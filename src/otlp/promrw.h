/*
 * promrw.h — Prometheus remote write 1.0 (prompb.WriteRequest, snappy block format) into
 * the OTLP metrics model.
 *
 * Mapping: one ResourceMetrics (empty resource) with one ScopeMetrics (scope name
 * "prometheus-remote-write"); each TimeSeries becomes one GAUGE metric whose name is the
 * `__name__` label and whose data points are the series' samples (timestamp ms → ns,
 * value as double, attributes = the other labels as string values; all points of a series
 * share one attribute array). An item is one sample.
 * Rejected (counted in out->rejected, first reason in out->reject_msg):
 *   - every sample of a series without `__name__` (a series with neither name nor
 *     samples counts as one rejected item so that it is visible);
 *   - every sample of a series with a label name or value that is not valid UTF-8;
 *   - a sample whose timestamp is negative or too large to express in ns (int64);
 *   - every native histogram (TimeSeries.histograms): not supported yet.
 * Exemplars and metadata are ignored.
 */
#ifndef ORASI_OTLP_PROMRW_H
#define ORASI_OTLP_PROMRW_H

#include "core/arena.h"
#include "core/buf.h"
#include "otlp/otlp_model.h"

/*
 * Decompress `snappy_body` into the arena (refused with ORASI_ETOOBIG before allocating
 * when its declared length exceeds `max_uncompressed`) and decode it into `*out`. The
 * model's strings point into that arena copy, so the body may be freed right away.
 * Returns 0, ORASI_EPARSE (bad snappy or protobuf; out->reject_msg says why),
 * ORASI_ETOOBIG, ORASI_ENOMEM.
 */
int promrw_decode(slice_t snappy_body, size_t max_uncompressed, arena_t *a, otlp_metrics_t *out);

/* Decode an already uncompressed WriteRequest; strings point into `body`. */
int promrw_decode_raw(slice_t body, arena_t *a, otlp_metrics_t *out);

#endif
