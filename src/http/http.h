/*
 * http.h — the HTTP server other modules use: HTTP/1.1, HTTP/2 cleartext (prior
 * knowledge) and unary gRPC on every listener, served by N worker threads, one event
 * loop each (src/net/loop.h).
 *
 *   http_server_config_t cfg;
 *   http_server_config_default(&cfg);
 *   cfg.workers = 2;
 *   http_server_t *srv = http_server_create(&cfg);
 *   http_router_t *r = http_router_create();
 *   http_route(r, "POST", "/v1/traces", on_traces, ctx);
 *   http_route_grpc(r, "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
 *                   on_grpc_traces, ctx);
 *   int port = http_server_listen(srv, "0.0.0.0", 4318, r);
 *   http_server_start(srv);
 *   ...
 *   http_server_stop_accepting(srv);
 *   http_server_drain(srv, clock_mono_ns() + 10 * 1000000000ull);
 *   http_server_destroy(srv);
 *   http_router_destroy(r);
 *
 * Handlers run on a worker's loop thread and must answer every request exactly once with
 * http_respond() or grpc_respond() — before returning or later. To answer later from
 * another thread, loop_post(http_req_loop(req), fn, arg) and respond inside fn. A request
 * stays valid until it has been answered, even if its connection died meanwhile (the
 * answer is then dropped). Everything reachable from a request (method, path, headers,
 * body, arena memory) is valid until the respond call returns.
 */
#ifndef ORASI_HTTP_HTTP_H
#define ORASI_HTTP_HTTP_H

#include "core/arena.h"
#include "core/buf.h"
#include "http/base64.h"
#include "net/loop.h"

#include <stddef.h>
#include <stdint.h>

typedef struct http_server http_server_t;
typedef struct http_router http_router_t;
typedef struct http_req http_req_t;

typedef void (*http_handler_fn)(http_req_t *req, void *ud);

/* A response header or trailer: NUL-terminated strings, borrowed for the call. */
typedef struct {
    const char *name;
    const char *value;
} http_header_t;

enum http_proto { HTTP_PROTO_H1 = 1, HTTP_PROTO_H2 = 2, HTTP_PROTO_GRPC = 3 };

typedef struct {
    int workers;                 /* worker threads (default 1) */
    size_t max_header_bytes;     /* request head / HTTP/2 header block (64 KiB) -> 431 */
    size_t max_headers;          /* header lines per request (100) -> 431 */
    size_t max_body_bytes;       /* body as sent on the wire (20 MiB) -> 413 */
    size_t max_decoded_bytes;    /* body after Content-Encoding / grpc-encoding (64 MiB) */
    size_t max_grpc_message_bytes; /* uncompressed gRPC message (20 MiB) -> status 8 */
    uint64_t idle_timeout_ns;    /* keep-alive idle connection (60 s) */
    uint64_t header_timeout_ns;  /* whole request head must arrive within (10 s) -> 408 */
    uint64_t body_timeout_ns;    /* whole body must arrive within (30 s) -> 408; also the
                                    limit for a client that stops reading our answer */
    size_t max_connections;      /* per worker (10000); beyond, accepting pauses */
    uint32_t h2_max_concurrent_streams;  /* (100) */
    uint32_t h2_stream_window;   /* initial stream receive window (8 MiB) */
    uint32_t h2_connection_window; /* connection receive window (32 MiB) */
    size_t h2_max_buffered_bytes; /* request bodies buffered per HTTP/2 connection, all
                                     streams together (64 MiB) -> 503 / gRPC 8 */
    int backlog;                 /* listen(2) backlog (511) */
} http_server_config_t;

void http_server_config_default(http_server_config_t *cfg);

/* ---- router (exact path match) ---------------------------------------------------------- */

/* NULL on allocation failure. Caller owns it; it must outlive every server listening with
 * it. Routes must be added before the listener starts serving (not thread-safe). */
http_router_t *http_router_create(void);
void http_router_destroy(http_router_t *r);
/* method "*" = any method. A known path with a method not routed -> 405 (with Allow);
 * an unknown path -> 404. Strings are copied. 0, ORASI_ENOMEM, ORASI_EEXISTS (same
 * method and path twice), ORASI_EFULL (more than HTTP_ROUTES_MAX), ORASI_EINVAL. */
#define HTTP_ROUTES_MAX 256
int http_route(http_router_t *r, const char *method, const char *path, http_handler_fn fn,
               void *ud);
/* gRPC method "/pkg.Service/Method": HTTP/2 POST with content-type application/grpc*.
 * gRPC to a path not routed here -> grpc-status 12 UNIMPLEMENTED. */
int http_route_grpc(http_router_t *r, const char *path, http_handler_fn fn, void *ud);

/* ---- server lifecycle -------------------------------------------------------------------- */

/* cfg may be NULL (defaults); zero fields take their defaults. NULL on failure. */
http_server_t *http_server_create(const http_server_config_t *cfg);
/* Listen on host:port (port 0 = a free port) with `router` (borrowed). Every worker gets
 * its own SO_REUSEPORT socket. Call before http_server_start. Returns the bound port or a
 * negative ORASI_E* code (ORASI_EEXISTS: address in use). */
int http_server_listen(http_server_t *srv, const char *host, int port, http_router_t *router);
/* Spawn the worker threads. 0 or a negative code. */
int http_server_start(http_server_t *srv);
/* Close every listening socket (new connections are refused); connections already
 * accepted keep being served. Blocks until every worker has closed its sockets. */
void http_server_stop_accepting(http_server_t *srv);
/* Finish in-flight work: HTTP/1 connections get "Connection: close" on their next answer
 * and idle ones are closed; HTTP/2 connections get GOAWAY. Waits until no request is in
 * flight and every connection is closed, or until deadline_ns (CLOCK_MONOTONIC).
 * 0 when drained, ORASI_ETIMEOUT otherwise. */
int http_server_drain(http_server_t *srv, uint64_t deadline_ns);
/* Requests received and not yet answered (all workers). */
size_t http_server_inflight(const http_server_t *srv);
/* Open connections (all workers). */
size_t http_server_connections(const http_server_t *srv);
/* Stop the workers, join them, close every connection and free the server. Requests
 * still held by a handler must not be answered afterwards: drain first. */
void http_server_destroy(http_server_t *srv);

/* ---- the request -------------------------------------------------------------------------- */

enum http_proto http_req_proto(const http_req_t *req);
slice_t http_req_method(const http_req_t *req);
slice_t http_req_path(const http_req_t *req);
slice_t http_req_query(const http_req_t *req); /* without '?'; len 0 when none */
/* First header with this name (case-insensitive); len 0 and p NULL when absent. HTTP/2
 * pseudo-headers are not headers here (use method/path). */
slice_t http_req_header(const http_req_t *req, const char *name);
size_t http_req_header_count(const http_req_t *req);
/* The i-th header; 0, or ORASI_ENOTFOUND when i is out of range. */
int http_req_header_at(const http_req_t *req, size_t i, slice_t *name, slice_t *value);
/* The complete body: de-chunked and decoded (Content-Encoding gzip, x-gzip, zstd,
 * identity; for gRPC the one message, unframed and decompressed). */
slice_t http_req_body(const http_req_t *req);
/* Memory freed when the request is finished (after the answer was sent). */
arena_t *http_req_arena(http_req_t *req);
/* "ip:port" of the client. */
const char *http_req_peer(const http_req_t *req);
/* The loop (thread) this request belongs to, for loop_post. */
loop_t *http_req_loop(http_req_t *req);
/* Deadline from the grpc-timeout header (CLOCK_MONOTONIC ns); 0 = none. */
uint64_t http_req_deadline_ns(const http_req_t *req);
/* The registered route path, or "unmatched". */
const char *http_req_route(const http_req_t *req);
/* 1 while the connection is still open (an answer can still be delivered). */
int http_req_connected(const http_req_t *req);

/* Keep a request after its answer: everything reachable from it (body, headers, arena
 * memory) stays valid past http_respond/grpc_respond until http_req_release. For a
 * handler that answers as soon as it may and reads what the request carried afterwards
 * (the lake sink acknowledges once the WAL is durable, then appends the decoded model to
 * its buffers). Both on the request's loop thread; hold before answering. An HTTP/1.1
 * connection goes on with its next request meanwhile (the held request keeps the input
 * buffer it arrived in). */
void http_req_hold(http_req_t *req);
/* End a hold: the request is finished now if its answer is out (or was dropped), else
 * when it is. The request must not be touched afterwards. */
void http_req_release(http_req_t *req);

/* ---- answering ------------------------------------------------------------------------------ */

/* Add a response header (copied) before responding; e.g. Retry-After. Content-Length,
 * Content-Type, Connection and Transfer-Encoding are managed by the server and ignored
 * here. 0, ORASI_ENOMEM, ORASI_EFULL (more than 32), ORASI_EINVAL (after responding, or
 * CR/LF in the name or value). */
int http_resp_header(http_req_t *req, const char *name, const char *value);
/* Answer (on the request's loop thread). content_type may be NULL (no Content-Type);
 * the body is copied. 0, or a negative code when the answer could not be queued (the
 * request is finished either way and must not be touched again). */
int http_respond(http_req_t *req, int status, const char *content_type, const void *body,
                 size_t len);
/* Answer a gRPC request: HTTP status 200, content-type application/grpc, `msg` framed
 * with the 5-byte prefix when len > 0 (or when grpc_status is 0), then trailers
 * grpc-status, grpc-message (percent-encoded; NULL or "" = omitted) and the extras (e.g.
 * grpc-status-details-bin, which the caller base64-encodes without padding). With no
 * message an error is sent as a Trailers-Only response. On a request that did not come
 * in as gRPC it answers HTTP 415. Same return rules as http_respond. */
int grpc_respond(http_req_t *req, int grpc_status, const char *grpc_message, const void *msg,
                 size_t len, const http_header_t *extra_trailers, size_t n_extra);

/* gRPC status codes used by the server itself. */
enum {
    GRPC_OK = 0,
    GRPC_CANCELLED = 1,
    GRPC_UNKNOWN = 2,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14,
};

/* Reason phrase for a status code ("OK", "Not Found", ...; "Unknown" otherwise). */
const char *http_status_text(int status);

#endif
