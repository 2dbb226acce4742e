/*
 * lgclient.h — the load generator's client side: one worker = one thread, one epoll loop,
 * many connections, each with at most one request in flight.
 *
 * Transports:
 *   - OTLP/HTTP (protobuf or JSON) over HTTP/1.1 keep-alive, one POST per request to
 *     <base>/v1/{traces,metrics,logs}; the request is acknowledged on status 200 (minus
 *     the items a partial_success in the response body reports as rejected);
 *   - OTLP/gRPC over HTTP/2 with prior knowledge (cleartext, no upgrade), one unary
 *     Export call per request with the 5-byte gRPC message framing; acknowledged when the
 *     trailers (or a trailers-only response) carry grpc-status 0.
 * Pacing: a token bucket at request granularity (rate/batch requests per second) or, with
 * rate 0, as fast as the connections allow. Latency is measured from the first byte
 * written to the last byte of the response, in microseconds.
 *
 * Statistics are written by the worker thread only, with relaxed atomic stores, so another
 * thread may read them at any time (live progress) with lgclient_stats_read().
 */
#ifndef ORASI_LOADGEN_LGCLIENT_H
#define ORASI_LOADGEN_LGCLIENT_H

#include "loadgen/lggen.h"
#include "loadgen/lghist.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

enum lgclient_proto { LGCLIENT_HTTP_PROTOBUF = 0, LGCLIENT_HTTP_JSON, LGCLIENT_GRPC };

#define LGCLIENT_SIG_TRACES (1u << OTLP_TRACES)
#define LGCLIENT_SIG_METRICS (1u << OTLP_METRICS)
#define LGCLIENT_SIG_LOGS (1u << OTLP_LOGS)
#define LGCLIENT_MAX_CONNS 4096
#define LGCLIENT_MAX_STATUS 600 /* HTTP status codes counted individually below this */
#define LGCLIENT_GRPC_CODES 17
#define LGCLIENT_MAX_RESP (1u << 20) /* cap on a response body */
#define LGCLIENT_MAX_HEAD 65536      /* cap on a response head */

/* The ack log, shared by every worker: lines are appended in blocks under a mutex. */
typedef struct {
    int fd;
    pthread_mutex_t mu;
} lgclient_acklog_t;

/* Open (create/truncate) the ack log at `path`. 0 or a negative ORASI_E* code. */
int lgclient_acklog_open(lgclient_acklog_t *l, const char *path);
/* Append `len` bytes (whole lines) atomically with respect to other workers. */
int lgclient_acklog_write(lgclient_acklog_t *l, const void *p, size_t len);
void lgclient_acklog_close(lgclient_acklog_t *l);

typedef struct {
    struct sockaddr_storage addr; /* where to connect */
    socklen_t addrlen;
    char authority[300]; /* Host / :authority, e.g. "127.0.0.1:4318" */
    char base_path[256]; /* prefix of /v1/traces (HTTP), "" for none */
    enum lgclient_proto proto;
    unsigned signals;     /* LGCLIENT_SIG_* mask; requests rotate over them */
    size_t batch;         /* items per request */
    double rate;          /* items per second for this worker; 0 = max */
    uint64_t duration_ns; /* how long to send */
    uint64_t timeout_ns;  /* per request; also the drain time at the end */
    int connections;      /* for this worker */
    const char *tenant;   /* X-Scope-OrgID, or NULL (borrowed) */
    uint64_t seed;
    unsigned index;            /* worker number: the generator's stream */
    lgclient_acklog_t *acklog; /* NULL: no ack log (borrowed) */
    const int *stop;           /* set to 1 (atomically) to stop early (borrowed) */
} lgclient_config_t;

typedef struct {
    uint64_t req_sent, req_acked, req_failed, req_partial;
    uint64_t items_sent, items_acked, items_rejected;
    uint64_t items_acked_sig[3];
    uint64_t bytes_sent;
    uint64_t http_status[LGCLIENT_MAX_STATUS]; /* non-200 responses (and 200s) by status */
    uint64_t grpc_code[LGCLIENT_GRPC_CODES];   /* gRPC responses by grpc-status */
    uint64_t conn_errors;   /* connections refused, reset or closed with a request in flight */
    uint64_t timeouts;      /* requests with no answer within timeout (incl. at the end) */
    uint64_t bad_responses; /* unparsable responses */
    uint64_t connects;
    uint64_t gen_errors; /* the generator failed (should never happen) */
    lghist_t lat_us;
} lgclient_stats_t;

typedef struct lgclient lgclient_t;

/* Create a worker (copies cfg; the borrowed pointers must outlive it). NULL on OOM or
 * an invalid configuration. */
lgclient_t *lgclient_create(const lgclient_config_t *cfg);
/* Run until the duration is over (or *stop) and in-flight requests are answered or timed
 * out. Returns 0, or a negative code if the worker could not run at all. */
int lgclient_run(lgclient_t *w);
/* The live statistics (written by the running worker). */
const lgclient_stats_t *lgclient_stats(const lgclient_t *w);
/* Add a snapshot of `src` (possibly being written) to `dst`. */
void lgclient_stats_add(lgclient_stats_t *dst, const lgclient_stats_t *src);
void lgclient_destroy(lgclient_t *w);

/* One parsed HTTP/1.1 response. `body` points into the input or into `scratch`
 * (chunked), valid until either changes. */
typedef struct {
    int status;
    int conn_close; /* Connection: close */
    const uint8_t *body;
    size_t body_len;
    size_t consumed; /* bytes of input the response took */
} lgclient_http_resp_t;

/* Parse the response at the start of `in` (Content-Length or chunked framing; a body
 * longer than LGCLIENT_MAX_RESP or a head longer than LGCLIENT_MAX_HEAD is an error).
 * Returns 1 with *out filled, 0 when more bytes are needed, ORASI_EPARSE when malformed.
 * Exposed for tests and the fuzzer. */
int lgclient_http_response(const uint8_t *in, size_t len, buf_t *scratch,
                           lgclient_http_resp_t *out);

/* Parse an Export*ServiceResponse body (protobuf or JSON) for partial_success: the
 * rejected count (0 when absent). Exposed for tests. 0 or ORASI_EPARSE. */
int lgclient_parse_partial(enum lgclient_proto proto, const uint8_t *p, size_t len,
                           int64_t *rejected);

#endif
