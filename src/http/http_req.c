/*
 * http_req.c — the request object: accessors, answering, the per-worker pool.
 *
 * Requests are pooled per worker with their arena and buffers, so a keep-alive
 * connection doing thousands of requests allocates nothing per request once warm:
 * arena_reset keeps the first chunk and buffers keep their capacity (up to
 * HTTP_KEEP_BUF_MAX, beyond which they are freed so one huge upload does not pin memory).
 */
#include "http/http_int.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#include <string.h>

#define HTTP_REQ_ARENA_CHUNK 8192

static void http_req_free(struct http_req *req)
{
    arena_destroy(req->arena);
    buf_free(&req->raw);
    buf_free(&req->decoded);
    buf_free(&req->resp);
    orasi_free(req);
}

struct http_req *http_req_get(struct http_worker *w, struct http_conn *c)
{
    const http_server_config_t *cfg = &w->srv->cfg;
    struct http_req *req = w->pool;
    if (req) {
        w->pool = req->next_free;
        w->npool--;
    } else {
        req = orasi_calloc(1, sizeof(*req));
        if (!req)
            return NULL;
        req->arena = arena_create(HTTP_REQ_ARENA_CHUNK,
                                  cfg->max_decoded_bytes * 2 + ((size_t)16 << 20));
        if (!req->arena) {
            orasi_free(req);
            return NULL;
        }
        buf_init(&req->raw, cfg->max_body_bytes);
        buf_init(&req->decoded, cfg->max_decoded_bytes);
        buf_init(&req->resp, HTTP_RESP_MAX);
    }
    req->next_free = NULL;
    req->conn = c;
    http_conn_ref(c);
    req->w = w;
    req->proto = HTTP_PROTO_H1;
    req->state = REQ_RECV;
    req->start_ns = loop_now(w->loop);
    return req;
}

/* Keep a buffer's memory for the next request unless it grew large. */
static void http_req_buf_recycle(buf_t *b)
{
    if (b->cap > HTTP_KEEP_BUF_MAX)
        buf_free(b);
    b->len = 0;
}

void http_req_hold(http_req_t *req)
{
    req->held = 1;
}

void http_req_release(http_req_t *req)
{
    req->held = 0;
    if (req->finish_deferred)
        http_req_finish(req);
}

void http_req_finish(struct http_req *req)
{
    if (req->held) {
        req->finish_deferred = 1; /* answered (or dropped): its memory waits for release */
        return;
    }
    struct http_worker *w = req->w;
    struct http_conn *c = req->conn;
    if (req->counted) {
        http_server_t *srv = w->srv;
        atomic_fetch_sub(&srv->inflight, 1);
        if (atomic_load_explicit(&srv->draining, memory_order_relaxed))
            http_server_signal(srv);
    }
    arena_reset(req->arena);
    http_req_buf_recycle(&req->raw);
    http_req_buf_recycle(&req->decoded);
    http_req_buf_recycle(&req->resp);
    buf_t raw = req->raw, dec = req->decoded, resp = req->resp;
    arena_t *a = req->arena;
    memset(req, 0, sizeof(*req));
    req->raw = raw;
    req->decoded = dec;
    req->resp = resp;
    req->arena = a;
    if (w->npool < HTTP_REQ_POOL_MAX) {
        req->next_free = w->pool;
        w->pool = req;
        w->npool++;
    } else {
        http_req_free(req);
    }
    if (c)
        http_conn_unref(c);
}

void http_req_pool_free(struct http_worker *w)
{
    while (w->pool) {
        struct http_req *r = w->pool;
        w->pool = r->next_free;
        http_req_free(r);
    }
    w->npool = 0;
}

void http_req_mark_responded(struct http_req *req, int status)
{
    req->state = REQ_RESPONDED;
    req->status = status;
    double secs = (double)(clock_mono_ns() - req->start_ns) / 1e9;
    http_router_record(req->stats, status, secs);
}

int http_req_decode_body(struct http_req *req)
{
    slice_t ce = http_req_header(req, "content-encoding");
    enum http_enc enc = http_decode_encoding(ce);
    if (enc == HTTP_ENC_UNSUPPORTED)
        return 415;
    if (enc == HTTP_ENC_IDENTITY)
        return 0;
    struct http_worker *w = req->w;
    if (!w->decoder)
        w->decoder = http_decode_create();
    if (!w->decoder)
        return 500;
    req->decoded.len = 0;
    int rc = http_decode_run(w->decoder, enc, req->body.p, req->body.len, &req->decoded);
    if (rc == ORASI_ETOOBIG)
        return 413;
    if (rc == ORASI_ENOMEM)
        return 503;
    if (rc < 0)
        return 400;
    req->body = buf_slice(&req->decoded);
    return 0;
}

void http_req_dispatch(struct http_req *req)
{
    http_server_t *srv = req->w->srv;
    req->state = REQ_HANDLER;
    req->counted = 1;
    atomic_fetch_add(&srv->inflight, 1);
    req->route->fn(req, req->route->ud);
}

/* ---- accessors ---------------------------------------------------------------------------- */

enum http_proto http_req_proto(const http_req_t *req)
{
    return req->proto;
}

slice_t http_req_method(const http_req_t *req)
{
    return req->method;
}

slice_t http_req_path(const http_req_t *req)
{
    return req->path;
}

slice_t http_req_query(const http_req_t *req)
{
    return req->query;
}

slice_t http_req_header(const http_req_t *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++)
        if (req->headers[i].name.len == n && slice_eq_nocase(req->headers[i].name, name))
            return req->headers[i].value;
    return (slice_t){NULL, 0};
}

size_t http_req_header_count(const http_req_t *req)
{
    return req->nheaders;
}

int http_req_header_at(const http_req_t *req, size_t i, slice_t *name, slice_t *value)
{
    if (i >= req->nheaders)
        return ORASI_ENOTFOUND;
    *name = req->headers[i].name;
    *value = req->headers[i].value;
    return 0;
}

slice_t http_req_body(const http_req_t *req)
{
    return req->body;
}

arena_t *http_req_arena(http_req_t *req)
{
    return req->arena;
}

const char *http_req_peer(const http_req_t *req)
{
    return req->conn ? req->conn->peer : "";
}

loop_t *http_req_loop(http_req_t *req)
{
    return req->w->loop;
}

uint64_t http_req_deadline_ns(const http_req_t *req)
{
    return req->deadline_ns;
}

const char *http_req_route(const http_req_t *req)
{
    return req->stats ? req->stats->label : "unmatched";
}

int http_req_connected(const http_req_t *req)
{
    return req->conn && !req->conn->closed && !req->stream_gone;
}

/* ---- answering ------------------------------------------------------------------------------- */

static int http_req_token_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n' || *s == '\0')
            return 0;
    return 1;
}

int http_resp_header(http_req_t *req, const char *name, const char *value)
{
    if (req->state == REQ_RESPONDED || !name || !*name || !value ||
        !http_req_token_ok(name) || !http_req_token_ok(value))
        return ORASI_EINVAL;
    if (slice_eq_nocase(slice_cstr(name), "content-length") ||
        slice_eq_nocase(slice_cstr(name), "content-type") ||
        slice_eq_nocase(slice_cstr(name), "connection") ||
        slice_eq_nocase(slice_cstr(name), "transfer-encoding"))
        return 0;
    if (!req->resp_hdrs) {
        req->resp_hdrs = arena_alloc(req->arena, HTTP_RESP_HEADERS_MAX * sizeof(*req->resp_hdrs));
        if (!req->resp_hdrs)
            return ORASI_ENOMEM;
    }
    if (req->nresp_hdrs >= HTTP_RESP_HEADERS_MAX)
        return ORASI_EFULL;
    char *n = arena_strndup(req->arena, name, strlen(name));
    char *v = arena_strndup(req->arena, value, strlen(value));
    if (!n || !v)
        return ORASI_ENOMEM;
    req->resp_hdrs[req->nresp_hdrs].name = n;
    req->resp_hdrs[req->nresp_hdrs].value = v;
    req->nresp_hdrs++;
    return 0;
}

int http_respond(http_req_t *req, int status, const char *content_type, const void *body,
                 size_t len)
{
    if (!req || req->state == REQ_RESPONDED)
        return ORASI_EINVAL;
    if (!loop_in_thread(req->w->loop)) {
        LOG_E("http", "http_respond called off the request's loop thread (use loop_post)");
        return ORASI_EINVAL;
    }
    if (status < 100 || status > 599)
        status = 500;
    struct http_conn *c = req->conn;
    if (!c || c->closed || req->stream_gone) {
        http_req_mark_responded(req, status);
        http_req_finish(req);
        return ORASI_ECLOSED;
    }
    if (c->proto == CONN_H2)
        return h2_respond(req, status, content_type, body, len, NULL, 0, 0, status);
    return h1_respond(req, status, content_type, body, len);
}

const char *http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
