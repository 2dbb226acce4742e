/*
 * otlp.h — the OTLP receivers (HTTP/protobuf, HTTP/JSON, gRPC) and Prometheus remote write.
 *
 * One receiver object serves every listener it is registered on: OTLP/HTTP routes
 * (POST /v1/traces, /v1/metrics, /v1/logs, /api/v1/write) and the three gRPC Export
 * methods. Each request is decoded once into the OTLP model (otlp_model.h) in the
 * request's arena, validated item by item, and handed to the sink; the client is
 * answered only when the sink calls back (see pipeline/sink.h):
 *
 *   outcome                         OTLP/HTTP                     OTLP/gRPC
 *   all accepted                    200 Export*Response           OK
 *   some items invalid              200 + partial_success         OK + partial_success
 *   body undecodable                400 + google.rpc.Status       INVALID_ARGUMENT
 *   other content type              415                           (n/a)
 *   body too large                  413 (HTTP layer)              RESOURCE_EXHAUSTED
 *   sink full                       429 + Retry-After             RESOURCE_EXHAUSTED + RetryInfo
 *   sink unavailable                503 + Retry-After             UNAVAILABLE + RetryInfo
 *
 * Responses use the request's encoding (protobuf or JSON). Counters on /metrics:
 *   orasi_otlp_requests_total{signal,protocol,status}
 *   orasi_otlp_accepted_items_total{signal,protocol}
 *   orasi_otlp_refused_items_total{signal,protocol,reason}   reason: invalid|backpressure|error
 *   orasi_otlp_malformed_requests_total{signal,protocol}
 */
#ifndef ORASI_RECEIVER_OTLP_H
#define ORASI_RECEIVER_OTLP_H

#include "http/http.h"
#include "pipeline/sink.h"
#include "server/settings.h"

typedef struct recv_otlp recv_otlp_t;

/* Borrowed cfg and sink must outlive the receiver. NULL on allocation failure. */
recv_otlp_t *recv_otlp_create(const struct settings_otlp *cfg, const struct settings_http *http,
                              sink_t *sink);
/* OTLP/HTTP routes and Prometheus remote write. */
int recv_otlp_register_http(recv_otlp_t *r, http_router_t *router);
/* The three gRPC Export services. */
int recv_otlp_register_grpc(recv_otlp_t *r, http_router_t *router);
void recv_otlp_destroy(recv_otlp_t *r);

/* Tenant names become directory names in the lake: [A-Za-z0-9_.-]{1,64}, not "." or "..". */
int recv_tenant_valid(slice_t t);

#endif
