/*
 * sql_http.c — the /v1/query handler and its worker pool (see sql_http.h).
 *
 * A job owns copies of everything it needs (tenant, SQL text, the answer), so the worker
 * never touches the request; only the loop thread does, in respond_cb. Every request is
 * answered exactly once: by the handler (bad request, queue full, shutting down), or by
 * respond_cb posted from a worker or from shutdown.
 */
#include "sql/sql_http.h"

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "otlp/json.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SQL_HTTP_MAX_BODY ((size_t)2 << 20) /* JSON around the SQL text */
#define SQL_HTTP_TRAILER (64u << 10)        /* room past max_result_size for the stats */

struct job {
    struct job *next;
    http_req_t *req;
    loop_t *loop;
    char tenant[65];
    char *sql;
    size_t sql_len;
    enum sql_format fmt;
    /* the answer */
    int status;
    buf_t body;
    struct sql_stats st;
};

struct sql_http {
    sql_engine_t *e;
    char *tenant_header;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    size_t queued, max_queued;
    int stop;
    size_t nworkers;
    pthread_t *workers;
    size_t started;
};

static void job_free(struct job *j)
{
    if (!j)
        return;
    buf_free(&j->body);
    orasi_free(j->sql);
    orasi_free(j);
}

static void respond_json_error(http_req_t *req, int status, const char *msg)
{
    buf_t b;
    buf_init(&b, 8192);
    if (sql_out_error_json(&b, msg) != 0) {
        buf_clear(&b);
        buf_append_str(&b, "{\"error\":\"internal error\"}\n");
    }
    if (status == 429 || status == 503)
        http_resp_header(req, "Retry-After", "1");
    http_respond(req, status, "application/json", b.data, b.len);
    buf_free(&b);
}

/* On the request's loop. */
static void respond_cb(void *arg)
{
    struct job *j = arg;
    if (j->status == 200 && j->fmt == SQL_FORMAT_CSV) {
        char v[64];
        snprintf(v, sizeof(v), "%llu", (unsigned long long)j->st.rows);
        http_resp_header(j->req, "X-Orasi-Rows", v);
        http_resp_header(j->req, "X-Orasi-Truncated", j->st.truncated ? "true" : "false");
        snprintf(v, sizeof(v), "%llu", (unsigned long long)j->st.files_scanned);
        http_resp_header(j->req, "X-Orasi-Files-Scanned", v);
        snprintf(v, sizeof(v), "%.3f", j->st.elapsed_ms);
        http_resp_header(j->req, "X-Orasi-Elapsed-Ms", v);
    }
    if (j->status == 429 || j->status == 503)
        http_resp_header(j->req, "Retry-After", "1");
    const char *ct = j->status == 200 && j->fmt == SQL_FORMAT_CSV
                         ? "text/csv; charset=utf-8; header=present"
                         : "application/json";
    http_respond(j->req, j->status, ct, j->body.data, j->body.len);
    job_free(j);
}

static void post_answer(struct job *j)
{
    /* The answer must reach the loop; a failed post (out of memory) is retried: dropping
     * it would leave the client waiting forever. */
    while (loop_post(j->loop, respond_cb, j) != 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void set_error(struct job *j, int status, const char *msg)
{
    j->status = status;
    buf_free(&j->body);
    buf_init(&j->body, 64u << 10);
    if (sql_out_error_json(&j->body, msg) != 0) {
        buf_clear(&j->body);
        buf_append_str(&j->body, "{\"error\":\"internal error\"}\n");
    }
}

static void run_job(sql_http_t *h, struct job *j)
{
    char err[4096];
    const struct sql_options *o = sql_engine_options(h->e);
    buf_init(&j->body, o->max_result_size + SQL_HTTP_TRAILER);
    int rc = sql_query(h->e, j->tenant, j->sql, j->sql_len, j->fmt, &j->body, &j->st, err,
                       sizeof(err));
    if (rc == 0) {
        j->status = 200;
        return;
    }
    int status = rc == ORASI_EINVAL || rc == ORASI_ETIMEOUT ? 400 : rc == ORASI_EBUSY ? 429 : 500;
    if (status == 500)
        LOG_E("sql", "query failed: %s", err);
    set_error(j, status, err);
}

static void *worker_main(void *arg)
{
    sql_http_t *h = arg;
    pthread_setname_np(pthread_self(), "sql");
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->head && !h->stop)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->stop)
            break;
        struct job *j = h->head;
        h->head = j->next;
        if (!h->head)
            h->tail = NULL;
        h->queued--;
        pthread_mutex_unlock(&h->mu);
        run_job(h, j);
        post_answer(j);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static int accepts_csv(slice_t accept)
{
    static const char csv[] = "text/csv";
    for (size_t i = 0; i + sizeof(csv) - 1 <= accept.len; i++)
        if (slice_eq_nocase(slice_make(accept.p + i, sizeof(csv) - 1), csv))
            return 1;
    return 0;
}

/* POST /v1/query, on a loop thread. */
static void handle_query(http_req_t *req, void *ud)
{
    sql_http_t *h = ud;
    slice_t body = http_req_body(req);
    json_doc_t d;
    json_err_t je;
    char msg[256];
    json_limits_t lim = {.max_depth = 16, .max_tokens = 4096, .max_input = SQL_HTTP_MAX_BODY};
    if (body.len > SQL_HTTP_MAX_BODY) {
        respond_json_error(req, 413, "request body too large");
        return;
    }
    if (json_parse(body, &lim, http_req_arena(req), &d, &je) != 0) {
        snprintf(msg, sizeof(msg), "the body must be JSON {\"sql\": \"...\"}: %s", je.msg);
        respond_json_error(req, 400, msg);
        return;
    }
    uint32_t s = json_is(&d, 0, JSON_OBJECT) ? json_obj_get(&d, 0, "sql") : JSON_NONE;
    if (s == JSON_NONE || !json_is(&d, s, JSON_STRING)) {
        respond_json_error(req, 400, "the body must be a JSON object with a string member \"sql\"");
        return;
    }
    slice_t tenant = http_req_header(req, h->tenant_header);
    if (!tenant.p || tenant.len == 0)
        tenant = SLICE_LIT("default");
    if (!sql_tenant_valid(tenant)) {
        snprintf(msg, sizeof(msg), "invalid %s header (allowed: 1-64 of A-Z a-z 0-9 _ . -)",
                 h->tenant_header);
        respond_json_error(req, 400, msg);
        return;
    }
    struct job *j = orasi_calloc(1, sizeof(*j));
    slice_t sql = json_slice(&d, s);
    if (!j || !(j->sql = orasi_strndup((const char *)sql.p, sql.len))) {
        job_free(j);
        respond_json_error(req, 500, "out of memory");
        return;
    }
    j->sql_len = sql.len;
    j->req = req;
    j->loop = http_req_loop(req);
    memcpy(j->tenant, tenant.p, tenant.len);
    j->fmt = accepts_csv(http_req_header(req, "Accept")) ? SQL_FORMAT_CSV : SQL_FORMAT_JSON;
    pthread_mutex_lock(&h->mu);
    int why = h->stop ? 503 : h->queued >= h->max_queued ? 429 : 0;
    if (!why) {
        if (h->tail)
            h->tail->next = j;
        else
            h->head = j;
        h->tail = j;
        h->queued++;
        pthread_cond_signal(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    if (why) {
        job_free(j);
        respond_json_error(req, why,
                           why == 503 ? "shutting down" : "too many queries waiting; retry");
    }
}

int sql_http_create(sql_engine_t *e, const char *tenant_header, sql_http_t **out)
{
    *out = NULL;
    sql_http_t *h = orasi_calloc(1, sizeof(*h));
    if (!h)
        return ORASI_ENOMEM;
    h->e = e;
    h->nworkers = (size_t)sql_engine_options(e)->max_concurrent;
    h->max_queued = h->nworkers * SQL_HTTP_QUEUE_PER_WORKER;
    h->tenant_header = orasi_strdup(tenant_header ? tenant_header : "X-Scope-OrgID");
    h->workers = orasi_calloc(h->nworkers, sizeof(pthread_t));
    if (!h->tenant_header || !h->workers) {
        orasi_free(h->tenant_header);
        orasi_free(h->workers);
        orasi_free(h);
        return ORASI_ENOMEM;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    for (; h->started < h->nworkers; h->started++)
        if (pthread_create(&h->workers[h->started], NULL, worker_main, h) != 0) {
            sql_http_destroy(h);
            return ORASI_ESYS;
        }
    *out = h;
    return 0;
}

int sql_http_register(sql_http_t *h, http_router_t *r)
{
    return http_route(r, "POST", "/v1/query", handle_query, h);
}

void sql_http_shutdown(sql_http_t *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    int was = h->stop;
    h->stop = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (was)
        return;
    sql_engine_interrupt_all(h->e);
    for (size_t i = 0; i < h->started; i++)
        pthread_join(h->workers[i], NULL);
    h->started = 0;
    struct job *j = h->head;
    h->head = h->tail = NULL;
    h->queued = 0;
    while (j) {
        struct job *n = j->next;
        set_error(j, 503, "shutting down");
        post_answer(j);
        j = n;
    }
}

void sql_http_destroy(sql_http_t *h)
{
    if (!h)
        return;
    sql_http_shutdown(h);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    orasi_free(h->workers);
    orasi_free(h->tenant_header);
    orasi_free(h);
}
