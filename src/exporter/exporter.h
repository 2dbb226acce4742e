/*
 * exporter.h — the OTLP exporter: a pool of keep-alive connections to ONE upstream
 * (an Orasi gateway or bridge, or any OTLP receiver), driven by one event loop.
 *
 * Transports: OTLP/HTTP protobuf over HTTP/1.1 keep-alive (POST <base>/v1/{traces,...})
 * and OTLP/gRPC over HTTP/2 cleartext with prior knowledge (nghttp2), one unary Export
 * call per request. Bodies may be compressed with gzip or zstd (Content-Encoding /
 * grpc-encoding). Each connection carries one request at a time; requests beyond the
 * pool wait in a capped FIFO. Every request has a deadline covering connect, send and
 * answer; a connection that fails or times out is closed and reopened on demand.
 *
 * The answer is classified the way OTLP exporters must (OTLP spec, "Failures"):
 *   EXP_OK         200 / grpc-status 0 (a partial_success count is reported, the batch
 *                  is done: the upstream said those items are invalid, retrying is futile)
 *   EXP_RETRY      no answer (refused, reset, timeout), 429/5xx, 401/403/404 (a setup
 *                  problem: data waits rather than being dropped), gRPC codes other than
 *                  the two below; retry_after_ns carries Retry-After or gRPC RetryInfo
 *   EXP_PERMANENT  400/413/415, gRPC INVALID_ARGUMENT / FAILED_PRECONDITION: the bytes
 *                  will never be accepted (dead-letter them)
 *   EXP_CONFLICT   409 / gRPC ABORTED: an Orasi upstream saw some but not all of the
 *                  batch ids in X-Orasi-Batch (forward/dedupe.h): resend part by part
 *
 * Idempotency and tenancy travel as headers (gRPC metadata): X-Orasi-Batch and the
 * tenant header (X-Scope-OrgID by default).
 *
 * Threads: every function runs on the loop's thread (or before the loop runs). done()
 * is never called from inside exp_send(); it runs exactly once per accepted request.
 */
#ifndef ORASI_EXPORTER_EXPORTER_H
#define ORASI_EXPORTER_EXPORTER_H

#include "core/buf.h"
#include "net/loop.h"
#include "otlp/otlp_model.h"

#include <stddef.h>
#include <stdint.h>

enum exp_protocol { EXP_HTTP_PROTOBUF = 0, EXP_GRPC };
/* zstd is sent as Content-Encoding on HTTP; on gRPC it falls back to gzip (grpc-encoding
 * zstd is not in the gRPC core set). */
enum exp_compression { EXP_COMP_NONE = 0, EXP_COMP_GZIP, EXP_COMP_ZSTD };
enum exp_outcome { EXP_OK = 0, EXP_RETRY, EXP_PERMANENT, EXP_CONFLICT };

typedef struct exp_config {
    const char *url; /* "http://host:port[/base]"; copied */
    enum exp_protocol protocol;
    enum exp_compression compression;
    uint64_t timeout_ns;       /* per request, connect included (default 5 s) */
    int max_connections;       /* pool size (default 4) */
    size_t max_queue;          /* requests waiting for a connection (default 1024) */
    size_t max_response_bytes; /* default 1 MiB */
    const char *tenant_header; /* default "X-Scope-OrgID"; copied */
} exp_config_t;

typedef struct exp_result {
    enum exp_outcome outcome;
    int err;                 /* transport error (ORASI_E*) when no answer came, else 0 */
    int http_status;         /* 0 when there was no HTTP answer */
    int grpc_status;         /* -1 when none (HTTP transport, or no answer) */
    uint64_t retry_after_ns; /* Retry-After / RetryInfo; 0 when absent */
    int64_t rejected;        /* partial_success rejected items (EXP_OK only) */
    uint64_t latency_ns;
    int in_doubt;      /* no answer, but the request had left: the upstream may have it */
    char message[256]; /* error message from the upstream, or what went wrong */
} exp_result_t;

typedef struct exp_request {
    enum otlp_signal signal;
    slice_t body;     /* uncompressed Export*ServiceRequest; borrowed until done() */
    slice_t tenant;   /* empty: no tenant header */
    slice_t batch_id; /* empty: no X-Orasi-Batch */
    /* A plain GET of `get_path` instead of an export (health checks): 2xx is EXP_OK,
     * anything else EXP_RETRY. Only with EXP_HTTP_PROTOBUF. */
    const char *get_path;
} exp_request_t;

typedef void (*exp_done_fn)(void *ud, const exp_result_t *r);

typedef struct exp_client exp_client_t;

void exp_config_default(exp_config_t *c);
/* Resolve the URL's host now (blocking getaddrinfo, once). NULL with a message in err
 * (bad URL, unknown host, out of memory). Caller owns the client; the loop is borrowed
 * and must outlive it. */
exp_client_t *exp_client_create(loop_t *loop, const exp_config_t *cfg, char *err, size_t errlen);
/* Queue a request. 0: done() will run exactly once, later. ORASI_EFULL (queue at its
 * cap), ORASI_ENOMEM, ORASI_EINVAL, ORASI_ECLOSED: done() will not run. */
int exp_send(exp_client_t *c, const exp_request_t *req, exp_done_fn done, void *ud);
/* Requests accepted and not yet answered. */
size_t exp_pending(const exp_client_t *c);
/* Connections currently free to take a request right away (idle or not yet opened). */
int exp_free_slots(const exp_client_t *c);
/* "http://host:port/base" as configured. */
const char *exp_url(const exp_client_t *c);
/* Close every connection; pending requests complete with EXP_RETRY / ORASI_ECLOSED
 * (their done() runs inside this call). */
void exp_client_destroy(exp_client_t *c);

/* Compress `in` into `out` (appended). 0, ORASI_ETOOBIG past out->max, ORASI_ENOMEM. */
int exp_compress(enum exp_compression how, slice_t in, buf_t *out);
/* Parse "none|gzip|zstd" / "http|http/protobuf|grpc"; -1 when unknown. */
int exp_compression_parse(const char *s);
int exp_protocol_parse(const char *s);
/* Classify an answer (exposed for tests). */
enum exp_outcome exp_classify_http(int status);
enum exp_outcome exp_classify_grpc(int code);
/* Parse a google.rpc.Status (grpc-status-details-bin, or an OTLP/HTTP error body) for
 * its message and RetryInfo delay. 0 or ORASI_EPARSE. */
int exp_parse_status(slice_t pb, char *msg, size_t msglen, uint64_t *retry_ns);

#endif
