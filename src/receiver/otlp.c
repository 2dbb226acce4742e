/* otlp.c — OTLP/HTTP, OTLP/gRPC and Prometheus remote-write receivers (see otlp.h). */
#include "receiver/otlp.h"

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_pb.h"
#include "otlp/promrw.h"
#include "http/base64.h"

#include <stdio.h>
#include <string.h>

#define RETRY_AFTER_DEFAULT_S 1


enum recv_encoding { ENC_PROTOBUF, ENC_JSON };

static const char *const signal_names[] = {"traces", "metrics", "logs"};
static const char *const status_names[] = {"200", "400", "415", "429", "500", "503", "204"};

/* Series looked up once per (signal, protocol) so the hot path does no string work. */
struct recv_series {
    metric_t *accepted;
    metric_t *refused_invalid;
    metric_t *refused_backpressure;
    metric_t *refused_error;
    metric_t *malformed;
};

struct recv_otlp {
    const struct settings_otlp *cfg;
    const struct settings_http *http;
    sink_t *sink;
    metric_family_t *f_requests;
    struct recv_series series[3][PROTO__COUNT];
    /* per-route user data */
    struct recv_route {
        recv_otlp_t *r;
        enum otlp_signal signal;
        int promrw;
    } routes[4];
};

/* State of one request between submit and the sink's answer; lives in the request arena. */
struct recv_call {
    recv_otlp_t *r;
    http_req_t *req;
    enum otlp_signal signal;
    enum ingest_protocol protocol;
    enum recv_encoding enc;
    size_t n_items;
    size_t rejected;
    const char *reject_msg;
};

const char *ingest_protocol_name(enum ingest_protocol p)
{
    switch (p) {
    case PROTO_GRPC: return "grpc";
    case PROTO_HTTP_PROTOBUF: return "http_protobuf";
    case PROTO_HTTP_JSON: return "http_json";
    case PROTO_PROM_RW: return "prom_rw";
    default: return "unknown";
    }
}

int recv_tenant_valid(slice_t t)
{
    if (t.len == 0 || t.len > 64)
        return 0;
    if ((t.len == 1 && t.p[0] == '.') || (t.len == 2 && t.p[0] == '.' && t.p[1] == '.'))
        return 0;
    for (size_t i = 0; i < t.len; i++) {
        uint8_t c = t.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static void recv_count_request(recv_otlp_t *r, enum otlp_signal sig, enum ingest_protocol p,
                               int status)
{
    char st[16];
    snprintf(st, sizeof(st), "%d", status);
    metric_t *m = metric_series(
        r->f_requests, (const char *[]){signal_names[sig], ingest_protocol_name(p), st});
    if (m)
        metric_inc(m);
}

/* ---- responses ---------------------------------------------------------------------- */

/* An HTTP error body: google.rpc.Status in the request's encoding (OTLP/HTTP spec). */
static void recv_http_error(struct recv_call *c, int status, int grpc_code, const char *msg,
                            uint32_t retry_after)
{
    buf_t b;
    buf_init(&b, 64 * 1024);
    int json = c->enc == ENC_JSON;
    if (retry_after) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%u", retry_after);
        http_resp_header(c->req, "Retry-After", ra);
    }
    /* counted first: c lives in the request's arena, which answering releases */
    recv_count_request(c->r, c->signal, c->protocol, status);
    if (c->protocol == PROTO_PROM_RW) {
        /* Prometheus logs the body as text. */
        buf_append_str(&b, msg);
        buf_append_byte(&b, '\n');
        http_respond(c->req, status, "text/plain; charset=utf-8", b.data, b.len);
    } else if (json) {
        buf_printf(&b, "{\"code\":%d,\"message\":", grpc_code);
        buf_append_json_str(&b, msg, strlen(msg));
        buf_append_byte(&b, '}');
        http_respond(c->req, status, "application/json", b.data, b.len);
    } else {
        otlp_pb_encode_grpc_status_details(grpc_code, msg, 0, &b);
        http_respond(c->req, status, "application/x-protobuf", b.data, b.len);
    }
    buf_free(&b);
}

static void recv_grpc_error(struct recv_call *c, int code, const char *msg, uint32_t retry_after)
{
    buf_t b;
    buf_init(&b, 64 * 1024);
    /* counted first: c lives in the request's arena, which answering releases */
    recv_count_request(c->r, c->signal, c->protocol, code);
    if (retry_after && otlp_pb_encode_grpc_status_details(code, msg, retry_after * 1000ull, &b) == 0) {
        char *enc = base64_encode_arena(http_req_arena(c->req), b.data, b.len, 0);
        if (enc) {
            http_header_t tr = {"grpc-status-details-bin", enc};
            grpc_respond(c->req, code, msg, NULL, 0, &tr, 1);
            goto out;
        }
    }
    grpc_respond(c->req, code, msg, NULL, 0, NULL, 0);
out:
    buf_free(&b);
}

static void recv_success(struct recv_call *c)
{
    buf_t b;
    buf_init(&b, 64 * 1024);
    slice_t msg = c->reject_msg ? slice_cstr(c->reject_msg) : (slice_t){0};
    int rc;
    /* counted before answering: c lives in the request's arena, which answering releases */
    if (c->protocol == PROTO_PROM_RW) {
        recv_count_request(c->r, c->signal, c->protocol, 204);
        http_respond(c->req, 204, NULL, NULL, 0);
        goto out;
    }
    if (c->enc == ENC_JSON)
        rc = otlp_json_encode_export_response(c->signal, (int64_t)c->rejected, msg, &b);
    else
        rc = otlp_pb_encode_export_response(c->signal, (int64_t)c->rejected, msg, &b);
    if (rc) {
        /* Only possible on OOM; the data is accepted, so answer success without details. */
        buf_clear(&b);
    }
    if (c->protocol == PROTO_GRPC) {
        recv_count_request(c->r, c->signal, c->protocol, 0);
        grpc_respond(c->req, GRPC_OK, NULL, b.data, b.len, NULL, 0);
    } else {
        recv_count_request(c->r, c->signal, c->protocol, 200);
        http_respond(c->req, 200, c->enc == ENC_JSON ? "application/json" : "application/x-protobuf",
                     b.data, b.len);
    }
out:
    buf_free(&b);
}

/* The sink's answer: now, and only now, the client learns the outcome. */
static void recv_done(void *ud, int result, uint32_t retry_after)
{
    struct recv_call *c = ud;
    struct recv_series *s = &c->r->series[c->signal][c->protocol];
    if (result == 0) {
        metric_add(s->accepted, (double)c->n_items);
        recv_success(c);
        return;
    }
    if (!retry_after)
        retry_after = RETRY_AFTER_DEFAULT_S;
    if (result == ORASI_EFULL || result == ORASI_ENOSPC) {
        metric_add(s->refused_backpressure, (double)c->n_items);
        if (c->protocol == PROTO_GRPC)
            recv_grpc_error(c, GRPC_RESOURCE_EXHAUSTED, "orasi is at capacity, retry later",
                            retry_after);
        else
            recv_http_error(c, 429, GRPC_RESOURCE_EXHAUSTED, "orasi is at capacity, retry later",
                            retry_after);
    } else if (result == ORASI_EINVAL) {
        /* the sink refused the request itself, e.g. a malformed X-Orasi-Batch header */
        metric_add(s->refused_invalid, (double)c->n_items);
        if (c->protocol == PROTO_GRPC)
            recv_grpc_error(c, GRPC_INVALID_ARGUMENT, "invalid request metadata (X-Orasi-Batch)", 0);
        else
            recv_http_error(c, 400, GRPC_INVALID_ARGUMENT,
                            "invalid request metadata (X-Orasi-Batch)", 0);
    } else if (result == ORASI_EEXISTS) {
        /* idempotent batches (forward/dedupe.h): part of this batch was logged before;
         * an Orasi forwarder resends it part by part */
        if (c->protocol == PROTO_GRPC)
            recv_grpc_error(c, 10 /* ABORTED */, "some batch ids were already received", 0);
        else
            recv_http_error(c, 409, 10, "some batch ids were already received", 0);
    } else if (result == ORASI_EBUSY || result == ORASI_EUNAVAILABLE) {
        metric_add(s->refused_backpressure, (double)c->n_items);
        if (c->protocol == PROTO_GRPC)
            recv_grpc_error(c, GRPC_UNAVAILABLE, "orasi is not accepting data right now",
                            retry_after);
        else
            recv_http_error(c, 503, GRPC_UNAVAILABLE, "orasi is not accepting data right now",
                            retry_after);
    } else {
        metric_add(s->refused_error, (double)c->n_items);
        LOG_W("receiver", "sink failed: %s", orasi_strerror(result));
        if (c->protocol == PROTO_GRPC)
            recv_grpc_error(c, GRPC_UNAVAILABLE, orasi_strerror(result), retry_after);
        else
            recv_http_error(c, 503, GRPC_UNAVAILABLE, orasi_strerror(result), retry_after);
    }
}

/* The sink keeps the batch past its answer (sink.h): so does the request, c with it. */
static void recv_hold(void *ud)
{
    struct recv_call *c = ud;
    http_req_hold(c->req);
}

static void recv_release(void *ud)
{
    struct recv_call *c = ud;
    http_req_release(c->req); /* c may be gone now */
}

/* ---- decoding ----------------------------------------------------------------------- */

union recv_model {
    otlp_traces_t traces;
    otlp_metrics_t metrics;
    otlp_logs_t logs;
};

static int recv_decode(struct recv_call *c, slice_t body, arena_t *a, union recv_model *m,
                       const char **errmsg)
{
    int rc;
    memset(m, 0, sizeof(*m));
    *errmsg = NULL;
    if (c->protocol == PROTO_PROM_RW) {
        rc = promrw_decode(body, c->r->http->max_decoded_size, a, &m->metrics);
        c->n_items = m->metrics.n_items;
        c->rejected = m->metrics.rejected;
        c->reject_msg = m->metrics.reject_msg;
        return rc;
    }
    if (c->enc == ENC_PROTOBUF && c->r->sink->raw_only) {
        /* a forwarder keeps the bytes: validate and count without building a model */
        otlp_scan_t sc;
        sink_t *sk = c->r->sink;
        if (sk->check_raw) {
            uint64_t n = 0;
            rc = sk->check_raw(sk, c->signal, body, &n);
            c->n_items = (size_t)n;
            c->rejected = 0;
            c->reject_msg = rc ? "malformed protobuf framing" : NULL;
            if (rc)
                *errmsg = c->reject_msg;
            return rc;
        }
        rc = otlp_pb_scan(c->signal, body, &sc);
        c->n_items = sc.n_items;
        c->rejected = sc.rejected;
        c->reject_msg = sc.reject_msg;
        if (rc && c->reject_msg)
            *errmsg = c->reject_msg;
        return rc;
    }
    if (c->enc == ENC_JSON) {
        switch (c->signal) {
        case OTLP_TRACES: rc = otlp_json_decode_traces(body, a, &m->traces); break;
        case OTLP_METRICS: rc = otlp_json_decode_metrics(body, a, &m->metrics); break;
        default: rc = otlp_json_decode_logs(body, a, &m->logs); break;
        }
    } else {
        switch (c->signal) {
        case OTLP_TRACES: rc = otlp_pb_decode_traces(body, a, &m->traces); break;
        case OTLP_METRICS: rc = otlp_pb_decode_metrics(body, a, &m->metrics); break;
        default: rc = otlp_pb_decode_logs(body, a, &m->logs); break;
        }
    }
    switch (c->signal) {
    case OTLP_TRACES:
        c->n_items = m->traces.n_items; c->rejected = m->traces.rejected;
        c->reject_msg = m->traces.reject_msg; break;
    case OTLP_METRICS:
        c->n_items = m->metrics.n_items; c->rejected = m->metrics.rejected;
        c->reject_msg = m->metrics.reject_msg; break;
    default:
        c->n_items = m->logs.n_items; c->rejected = m->logs.rejected;
        c->reject_msg = m->logs.reject_msg; break;
    }
    if (rc && c->reject_msg)
        *errmsg = c->reject_msg;
    return rc;
}

/* Decode, validate and submit; answer errors directly. */
static void recv_handle(struct recv_call *c, slice_t body)
{
    arena_t *a = http_req_arena(c->req);
    union recv_model *m = arena_alloc(a, sizeof(*m));
    const char *errmsg = NULL;
    struct recv_series *s = &c->r->series[c->signal][c->protocol];
    char msg[256];
    slice_t tenant = http_req_header(c->req, c->r->cfg->tenant_header);

    if (!m) {
        recv_done(c, ORASI_ENOMEM, 1);
        return;
    }
    if (tenant.len == 0)
        tenant = SLICE_LIT("default");
    else if (!recv_tenant_valid(tenant)) {
        snprintf(msg, sizeof(msg), "invalid tenant in %s: use 1-64 of [A-Za-z0-9_.-]",
                 c->r->cfg->tenant_header);
        metric_inc(s->malformed);
        if (c->protocol == PROTO_GRPC)
            recv_grpc_error(c, GRPC_INVALID_ARGUMENT, msg, 0);
        else
            recv_http_error(c, 400, GRPC_INVALID_ARGUMENT, msg, 0);
        return;
    }
    int rc = recv_decode(c, body, a, m, &errmsg);
    if (rc) {
        metric_inc(s->malformed);
        if (rc == ORASI_ENOMEM || rc == ORASI_ETOOBIG) {
            /* The model of a pathological body (millions of empty spans) can be ~100x its
             * size; the request arena's cap stops it. Retrying the same body cannot help. */
            snprintf(msg, sizeof(msg), "the decoded %s request exceeds the per-request memory cap",
                     signal_names[c->signal]);
            if (c->protocol == PROTO_GRPC)
                recv_grpc_error(c, GRPC_RESOURCE_EXHAUSTED, msg, 0);
            else
                recv_http_error(c, 413, GRPC_RESOURCE_EXHAUSTED, msg, 0);
            return;
        }
        snprintf(msg, sizeof(msg), "cannot decode the %s request: %s", signal_names[c->signal],
                 errmsg ? errmsg : orasi_strerror(rc));
        if (c->protocol == PROTO_GRPC)
            recv_grpc_error(c, GRPC_INVALID_ARGUMENT, msg, 0);
        else
            recv_http_error(c, 400, GRPC_INVALID_ARGUMENT, msg, 0);
        return;
    }
    if (c->rejected)
        metric_add(s->refused_invalid, (double)c->rejected);

    ingest_batch_t batch = {
        .signal = c->signal,
        .protocol = c->protocol,
        .tenant = tenant,
        .raw_pb = (c->enc == ENC_PROTOBUF && c->protocol != PROTO_PROM_RW) ? body : (slice_t){0},
        .model = (c->enc == ENC_PROTOBUF && c->protocol != PROTO_PROM_RW &&
                  c->r->sink->raw_only)
                     ? NULL
                     : (const void *)m,
        .items = c->n_items,
        .loop = http_req_loop(c->req),
        .batch_id = http_req_header(c->req, "x-orasi-batch"),
        .hold = recv_hold,
        .release = recv_release,
    };
    c->r->sink->submit(c->r->sink, &batch, recv_done, c);
}

/* Media type of the Content-Type header without parameters, lower-cased comparison. */
static int recv_media_is(slice_t ct, const char *want)
{
    size_t n = 0;
    while (n < ct.len && ct.p[n] != ';' && ct.p[n] != ' ')
        n++;
    return slice_eq_nocase((slice_t){ct.p, n}, want);
}

static void recv_http_handler(http_req_t *req, void *ud)
{
    struct recv_route *rt = ud;
    struct recv_call *c = arena_calloc(http_req_arena(req), sizeof(*c));
    if (!c) {
        http_respond(req, 503, "text/plain", "out of memory\n", 14);
        return;
    }
    c->r = rt->r;
    c->req = req;
    c->signal = rt->signal;
    c->protocol = rt->promrw ? PROTO_PROM_RW : PROTO_HTTP_PROTOBUF;
    c->enc = ENC_PROTOBUF;
    slice_t ct = http_req_header(req, "content-type");
    slice_t ce = http_req_header(req, "content-encoding");
    /* The HTTP layer decoded gzip/zstd and left snappy alone: snappy belongs to remote
     * write only. */
    int snappy = slice_eq_nocase(ce, "snappy");
    if (rt->promrw) {
        if ((ct.len && !recv_media_is(ct, "application/x-protobuf")) || (ce.len && !snappy)) {
            recv_http_error(c, 415, GRPC_INVALID_ARGUMENT,
                            "remote write needs Content-Type: application/x-protobuf and "
                            "Content-Encoding: snappy",
                            0);
            return;
        }
    } else if (snappy) {
        recv_http_error(c, 415, GRPC_INVALID_ARGUMENT,
                        "unsupported Content-Encoding: use gzip, zstd or identity", 0);
        return;
    } else if (recv_media_is(ct, "application/x-protobuf") ||
               recv_media_is(ct, "application/protobuf")) {
        c->protocol = PROTO_HTTP_PROTOBUF;
    } else if (recv_media_is(ct, "application/json")) {
        c->protocol = PROTO_HTTP_JSON;
        c->enc = ENC_JSON;
    } else {
        recv_http_error(c, 415, GRPC_INVALID_ARGUMENT,
                        "unsupported Content-Type: use application/x-protobuf or application/json",
                        0);
        return;
    }
    recv_handle(c, http_req_body(req));
}

static void recv_grpc_handler(http_req_t *req, void *ud)
{
    struct recv_route *rt = ud;
    struct recv_call *c = arena_calloc(http_req_arena(req), sizeof(*c));
    if (!c) {
        grpc_respond(req, GRPC_RESOURCE_EXHAUSTED, "out of memory", NULL, 0, NULL, 0);
        return;
    }
    c->r = rt->r;
    c->req = req;
    c->signal = rt->signal;
    c->protocol = PROTO_GRPC;
    c->enc = ENC_PROTOBUF;
    recv_handle(c, http_req_body(req));
}

/* ---- lifecycle ---------------------------------------------------------------------- */

recv_otlp_t *recv_otlp_create(const struct settings_otlp *cfg, const struct settings_http *http,
                              sink_t *sink)
{
    recv_otlp_t *r = orasi_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = cfg;
    r->http = http;
    r->sink = sink;
    r->f_requests = metrics_counter("orasi_otlp_requests_total",
                                    "OTLP and remote-write requests answered, by signal, "
                                    "protocol and status (HTTP status, or gRPC code for grpc)",
                                    3, (const char *[]){"signal", "protocol", "status"});
    metric_family_t *acc = metrics_counter(
        "orasi_otlp_accepted_items_total",
        "Items accepted (spans, metric data points, log records)", 2,
        (const char *[]){"signal", "protocol"});
    metric_family_t *ref = metrics_counter(
        "orasi_otlp_refused_items_total",
        "Items refused: invalid (partial success), backpressure (429/503), error", 3,
        (const char *[]){"signal", "protocol", "reason"});
    metric_family_t *mal = metrics_counter("orasi_otlp_malformed_requests_total",
                                           "Requests refused whole because they could not be "
                                           "decoded",
                                           2, (const char *[]){"signal", "protocol"});
    if (!r->f_requests || !acc || !ref || !mal)
        goto fail;
    for (int s = 0; s < 3; s++) {
        for (int p = 0; p < PROTO__COUNT; p++) {
            if (p == PROTO_PROM_RW && s != OTLP_METRICS)
                continue;
            const char *sn = signal_names[s], *pn = ingest_protocol_name((enum ingest_protocol)p);
            struct recv_series *x = &r->series[s][p];
            x->accepted = metric_series(acc, (const char *[]){sn, pn});
            x->refused_invalid = metric_series(ref, (const char *[]){sn, pn, "invalid"});
            x->refused_backpressure = metric_series(ref, (const char *[]){sn, pn, "backpressure"});
            x->refused_error = metric_series(ref, (const char *[]){sn, pn, "error"});
            x->malformed = metric_series(mal, (const char *[]){sn, pn});
            if (!x->accepted || !x->refused_invalid || !x->refused_backpressure ||
                !x->refused_error || !x->malformed)
                goto fail;
        }
    }
    for (int i = 0; i < 3; i++)
        r->routes[i] = (struct recv_route){r, (enum otlp_signal)i, 0};
    r->routes[3] = (struct recv_route){r, OTLP_METRICS, 1};
    (void)status_names;
    return r;
fail:
    orasi_free(r);
    return NULL;
}

int recv_otlp_register_http(recv_otlp_t *r, http_router_t *router)
{
    static const char *const paths[] = {"/v1/traces", "/v1/metrics", "/v1/logs"};
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++)
        rc = http_route(router, "POST", paths[i], recv_http_handler, &r->routes[i]);
    if (!rc)
        rc = http_route(router, "POST", "/api/v1/write", recv_http_handler, &r->routes[3]);
    return rc;
}

int recv_otlp_register_grpc(recv_otlp_t *r, http_router_t *router)
{
    static const char *const methods[] = {
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export"};
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++)
        rc = http_route_grpc(router, methods[i], recv_grpc_handler, &r->routes[i]);
    return rc;
}

void recv_otlp_destroy(recv_otlp_t *r)
{
    orasi_free(r);
}
