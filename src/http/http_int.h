/*
 * http_int.h — private structures shared by the HTTP server files (not for other modules).
 *
 *   http_server.c  workers, listeners, connections, timers, drain
 *   h1.c           HTTP/1.1 connection state machine and responses
 *   h2.c           HTTP/2 (nghttp2) sessions, streams and responses
 *   grpc.c         gRPC framing, grpc-timeout, grpc_respond
 *   http_req.c     request accessors, http_respond, request pool and metrics
 *   http_router.c  routes
 *   http_decode.c  Content-Encoding / grpc-encoding decompression with a cap
 *
 * Ownership: a connection is reference counted. The open socket holds one reference,
 * every request that was handed out holds one, and a function working on a connection
 * takes one for its duration; the memory goes when the count drops to zero. That is what
 * lets a handler answer after the client vanished (the answer is dropped) and lets a
 * callback close the connection it is running on.
 */
#ifndef ORASI_HTTP_HTTP_INT_H
#define ORASI_HTTP_HTTP_INT_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "http/h1_parse.h"
#include "http/http.h"
#include "net/loop.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define HTTP_LISTENERS_MAX 16
#define HTTP_RESP_HEADERS_MAX 32
#define HTTP_RESP_MAX ((size_t)256 << 20) /* largest answer body we queue */
#define HTTP_REQ_POOL_MAX 256             /* idle request objects kept per worker */
#define HTTP_KEEP_BUF_MAX ((size_t)256 << 10) /* keep buffers up to this between requests */
#define HTTP_LINGER_NS (2ull * 1000000000ull)
#define HTTP_STATUS_SLOTS 600

typedef h1_header_t http_hdr_t;

/* ---- metrics ---- */
struct http_route_stats {
    char *label;
    metric_t *duration;
    _Atomic(metric_t *) by_status[HTTP_STATUS_SLOTS];
};

struct http_route_ent {
    char *method; /* "*" = any */
    char *path;
    size_t path_len;
    int grpc;
    http_handler_fn fn;
    void *ud;
    struct http_route_stats *stats; /* shared by routes with the same path */
};

struct http_router {
    struct http_route_ent *routes;
    size_t n, cap;
    struct http_route_stats **stats; /* one per distinct path */
    size_t nstats, stats_cap;
    struct http_route_stats unmatched;
};

/* Lookup result: route (NULL when none), and the HTTP status to answer otherwise (404,
 * 405). stats is never NULL. allow (405) lists the methods of the path, comma-separated,
 * written into the caller's buffer. */
const struct http_route_ent *http_router_find(http_router_t *r, slice_t method, slice_t path,
                                              int grpc, int *status,
                                              struct http_route_stats **stats, char *allow,
                                              size_t allowlen);
void http_router_record(struct http_route_stats *st, int status, double seconds);

/* ---- content decoding ---- */
enum http_enc { HTTP_ENC_IDENTITY = 0, HTTP_ENC_GZIP, HTTP_ENC_ZSTD, HTTP_ENC_UNSUPPORTED };
typedef struct http_decoder http_decoder_t;
enum http_enc http_decode_encoding(slice_t v);
http_decoder_t *http_decode_create(void);
void http_decode_destroy(http_decoder_t *d);
/* Decode in[0..len) into out (appending; out->max is the cap). d may be NULL.
 * 0, ORASI_ETOOBIG past the cap, ORASI_EPARSE on corrupt input, ORASI_ENOMEM. */
int http_decode_run(http_decoder_t *d, enum http_enc enc, const uint8_t *in, size_t len,
                    buf_t *out);

/* ---- server objects ---- */
struct http_listener {
    http_server_t *srv;
    http_router_t *router;
    int port;
    metric_t *conns_gauge;
};

struct http_worker;

struct http_wlisten {
    struct http_worker *w;
    struct http_listener *l;
    int fd;
    loop_io_t io;
};

struct http_worker {
    http_server_t *srv;
    int idx;
    loop_t *loop;
    pthread_t thread;
    int thread_started;
    struct http_wlisten ls[HTTP_LISTENERS_MAX];
    size_t nls;
    int accept_paused;
    int listeners_closed;
    struct http_conn *conns; /* doubly linked */
    size_t nconns;
    int draining;
    struct http_req *pool; /* idle requests */
    size_t npool;
    http_decoder_t *decoder; /* lazily created, reused */
};

struct http_server {
    http_server_config_t cfg;
    struct http_listener listeners[HTTP_LISTENERS_MAX];
    size_t nlisteners;
    struct http_worker *workers;
    int nworkers;
    int started;
    atomic_size_t inflight;
    atomic_size_t nconns;
    atomic_int draining;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int acks; /* workers that finished a posted control task */
    void *h2_callbacks; /* nghttp2_session_callbacks *, shared read-only */
    metric_t *bytes_in, *bytes_out;
};

enum http_conn_proto { CONN_UNKNOWN = 0, CONN_H1, CONN_H2 };

enum h1_phase {
    H1_IDLE = 0, /* waiting for the first byte of a request */
    H1_HEAD,     /* part of a head received */
    H1_BODY,     /* head parsed, reading the body */
    H1_HANDLER,  /* handed to the handler, waiting for its answer */
    H1_WRITE,    /* answer partly written, waiting for the socket */
    H1_LINGER,   /* answered with close: draining input before close(2) */
};

struct h1_state {
    enum h1_phase phase;
    size_t prev_len; /* parser hint */
    size_t head_len;
    size_t next;      /* offset of the byte after this request in c->in */
    uint64_t clen;    /* Content-Length */
    int chunked;
    int has_body;
    int keepalive;
    int expect_continue;
    int continue_sent;
    int is_head;
    int complete; /* the whole request has been read */
    h1_chunked_t ch;
    size_t dec_end; /* chunked: end of de-chunked body in c->in */
    size_t raw_pos; /* chunked: start of raw bytes not yet decoded */
    h1_header_t *headers;
    h1_request_t pr;
    size_t woff;      /* bytes of c->out written */
    struct http_req *req; /* the request in progress, if any */
};

struct http_conn {
    struct http_worker *w;
    struct http_listener *l;
    struct http_conn *prev, *next;
    int fd;
    int refs;
    int closed;      /* socket closed; memory lives while refs > 0 */
    int close_after; /* close once the current answer is out */
    int in_process;  /* inside the processing loop (no re-entry) */
    enum http_conn_proto proto;
    loop_io_t io;
    loop_timer_t timer;
    uint64_t deadline; /* 0 = none */
    buf_t in;
    buf_t out;
    struct h1_state h1;
    struct h2_conn *h2;
    char peer[64];
};

enum http_req_state { REQ_RECV = 0, REQ_HANDLER, REQ_RESPONDED };

struct http_resp_hdr {
    const char *name, *value;
};

struct http_req {
    struct http_req *next_free;
    struct http_conn *conn; /* referenced */
    struct http_worker *w;
    arena_t *arena;
    enum http_proto proto;
    enum http_req_state state;
    int counted; /* in srv->inflight */
    int stream_gone; /* h2 stream closed before the answer */
    int early;       /* answered before the body was complete */
    int held;        /* http_req_hold: finishing waits for http_req_release */
    int finish_deferred; /* finished while held: release finishes it */
    size_t discard;  /* h2, early: body bytes still accepted (and dropped) */
    size_t h2_buffered; /* h2: body bytes counted in the connection's budget */
    int32_t stream_id;
    int status;
    slice_t method, path, query;
    http_hdr_t *headers;
    size_t nheaders, headers_cap;
    size_t header_bytes;
    int header_overflow;
    slice_t body;
    buf_t raw;     /* h2: body as received */
    buf_t decoded; /* decoded body */
    buf_t resp;    /* h2: answer body (framed for gRPC) */
    size_t resp_off;
    struct http_resp_hdr *resp_hdrs;
    size_t nresp_hdrs;
    void *trailers; /* nghttp2_nv * in the arena */
    size_t ntrailers;
    const struct http_route_ent *route;
    struct http_route_stats *stats;
    uint64_t start_ns;
    uint64_t deadline_ns;
    struct http_req *h2_next, *h2_prev; /* streams of an h2 connection */
};

/* http_req.c */
struct http_req *http_req_get(struct http_worker *w, struct http_conn *c);
/* The request is done (answer out or dropped): release it and its connection ref. */
void http_req_finish(struct http_req *req);
/* Record status + duration metrics and move to REQ_RESPONDED. */
void http_req_mark_responded(struct http_req *req, int status);
void http_req_pool_free(struct http_worker *w);
/* Decode req->body per Content-Encoding (HTTP) into req->decoded; sets req->body.
 * Returns 0 or the HTTP status to answer (400, 413, 415, 500). */
int http_req_decode_body(struct http_req *req);
/* Dispatch to the route's handler (counts in-flight). */
void http_req_dispatch(struct http_req *req);

/* http_server.c (connection helpers used by h1.c / h2.c) */
void http_conn_ref(struct http_conn *c);
void http_conn_unref(struct http_conn *c);
void http_conn_close(struct http_conn *c);
void http_conn_set_deadline(struct http_conn *c, uint64_t when);
/* Set read/write interest; closes the connection on failure. */
void http_conn_want(struct http_conn *c, unsigned events);
void http_conn_count_out(struct http_conn *c, size_t n);
/* Read once into c->in, first making room for at least min_room bytes (within the
 * cap). Bytes read, 0 at EOF, ORASI_EAGAIN, or a negative code. */
ssize_t http_conn_read(struct http_conn *c, size_t min_room);
void http_server_signal(http_server_t *srv);
void http_server_resume_accept(struct http_worker *w);
/* New connection on worker w (takes ownership of fd). */
void http_conn_accepted(struct http_worker *w, struct http_listener *l, int fd,
                        const char *peer);
void http_conn_close_all(struct http_worker *w);
void http_conn_drain_all(struct http_worker *w);

/* h1.c */
void h1_on_io(struct http_conn *c, unsigned events);
void h1_on_timeout(struct http_conn *c);
void h1_drain(struct http_conn *c);
int h1_respond(struct http_req *req, int status, const char *ctype, const void *body,
               size_t len);
void h1_release(struct http_conn *c);
/* Answer an error on an HTTP/1 connection and close it afterwards. */
void h1_error(struct http_conn *c, int status);

/* h2.c */
/* Switch a fresh connection to HTTP/2; c->in holds the bytes read so far. */
int h2_start(struct http_conn *c);
void h2_on_io(struct http_conn *c, unsigned events);
void h2_on_timeout(struct http_conn *c);
void h2_drain(struct http_conn *c);
void h2_release(struct http_conn *c);
/* mode 0: plain HTTP (content-length); 1: gRPC, body then trailers; 2: gRPC
 * Trailers-Only (trailers sent in the headers). metric_status labels the request metric
 * (the HTTP status, or the gRPC status for gRPC). */
int h2_respond(struct http_req *req, int status, const char *ctype, const void *body,
               size_t len, const http_header_t *trailers, size_t ntrailers, int mode,
               int metric_status);
void *h2_callbacks_new(void);
void h2_callbacks_free(void *cbs);

/* grpc.c */
/* Validate and unframe a unary gRPC request body into req->body (decompressing).
 * 0, or a gRPC status to answer with *msg a static message. */
int grpc_prepare(struct http_req *req, const char **msg);
/* Answer a gRPC error without a message (Trailers-Only). */
int grpc_error(struct http_req *req, int code, const char *msg);

#endif
