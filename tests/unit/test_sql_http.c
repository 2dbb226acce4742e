/*
 * test_sql_http.c — POST /v1/query over a real socket (libcurl client, HTTP server on
 * 127.0.0.1:<ephemeral>): JSON and CSV answers, tenant header, 400 errors with DuckDB's
 * position, bad bodies, 64-bit digits, and 429 when the query queue is full.
 */
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/metrics.h"
#include "http/http.h"
#include "lake/lake.h"
#include "sql/sql.h"
#include "sql/sql_http.h"

#include <curl/curl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define NS_PER_S 1000000000ull

struct fx {
    char dir[64];
    lake_t *lake;
    sql_engine_t *e;
    sql_http_t *h;
    http_server_t *srv;
    http_router_t *r;
    int port;
    arena_t *a;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void fx_open(struct fx *f, const struct sql_options *so)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/orasi-sqlhttp-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct lake_options lo;
    lake_options_default(&lo);
    lo.data_dir = f->dir;
    lo.flush_interval = 3600 * NS_PER_S;
    char err[512];
    assert_int_equal(lake_open(&lo, &f->lake, err, sizeof(err)), 0);
    assert_int_equal(sql_engine_create(so, f->lake, &f->e, err, sizeof(err)), 0);
    assert_int_equal(sql_http_create(f->e, NULL, &f->h), 0);
    f->r = http_router_create();
    assert_non_null(f->r);
    assert_int_equal(sql_http_register(f->h, f->r), 0);
    http_server_config_t cfg;
    http_server_config_default(&cfg);
    cfg.workers = 2;
    f->srv = http_server_create(&cfg);
    assert_non_null(f->srv);
    f->port = http_server_listen(f->srv, "127.0.0.1", 0, f->r);
    assert_true(f->port > 0);
    assert_int_equal(http_server_start(f->srv), 0);
    f->a = arena_create(1 << 16, 0);
}

static void fx_close(struct fx *f)
{
    http_server_stop_accepting(f->srv);
    http_server_drain(f->srv, clock_mono_ns() + 10 * NS_PER_S);
    sql_http_destroy(f->h);
    http_server_destroy(f->srv);
    http_router_destroy(f->r);
    sql_engine_destroy(f->e);
    lake_close(f->lake);
    arena_destroy(f->a);
    nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Spans for tenant t (the model lives only for the call). */
static void add_spans(struct fx *f, const char *tenant, size_t n)
{
    arena_t *a = f->a;
    otlp_resource_spans_t *rs = arena_calloc(a, sizeof(*rs));
    otlp_scope_spans_t *ss = arena_calloc(a, sizeof(*ss));
    otlp_kv_t *kv = arena_calloc(a, sizeof(*kv));
    otlp_span_t *sp = arena_calloc(a, n * sizeof(*sp));
    assert_true(rs && ss && kv && sp);
    kv->key = slice_cstr("service.name");
    kv->value.type = OTLP_ANY_STRING;
    kv->value.u.str = slice_cstr("web");
    rs->resource.attrs = (otlp_attrs_t){kv, 1};
    rs->scope_spans = ss;
    rs->n_scope_spans = 1;
    ss->spans = sp;
    ss->n_spans = n;
    uint64_t t0 = clock_wall_ns() - 10 * NS_PER_S;
    for (size_t i = 0; i < n; i++) {
        sp[i].trace_id.len = 16;
        sp[i].trace_id.id[0] = (uint8_t)(i + 1);
        sp[i].trace_id.id[15] = 0xab;
        sp[i].span_id.len = 8;
        sp[i].span_id.id[0] = (uint8_t)(i + 1);
        sp[i].name = slice_cstr("GET /");
        sp[i].start_time_unix_nano = t0 + i;
        sp[i].end_time_unix_nano = t0 + i + 5000;
    }
    otlp_traces_t t = {.resource_spans = rs, .n_resource_spans = 1, .n_items = n};
    assert_int_equal(lake_append_traces(f->lake, slice_cstr(tenant), &t, 0), 0);
    arena_reset(a);
}

struct resp {
    long status;
    buf_t body;
    char ctype[128];
    char rows_hdr[32];
    char retry_after[16];
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    return buf_append(&r->body, p, sz * n) == 0 ? sz * n : 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = sz * n;
    struct {
        const char *name;
        char *dst;
        size_t cap;
    } want[] = {{"X-Orasi-Rows:", r->rows_hdr, sizeof(r->rows_hdr)},
                {"Retry-After:", r->retry_after, sizeof(r->retry_after)},
                {"Content-Type:", r->ctype, sizeof(r->ctype)}};
    for (size_t i = 0; i < 3; i++) {
        size_t k = strlen(want[i].name);
        if (len > k && strncasecmp(p, want[i].name, k) == 0) {
            size_t s = k;
            while (s < len && p[s] == ' ')
                s++;
            size_t e = len;
            while (e > s && (p[e - 1] == '\r' || p[e - 1] == '\n'))
                e--;
            snprintf(want[i].dst, want[i].cap, "%.*s", (int)(e - s), p + s);
        }
    }
    return len;
}

static void post(int port, const char *tenant, const char *accept, const char *body,
                 struct resp *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, 64u << 20);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[128], th[128], ah[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/query", port);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (tenant) {
        snprintf(th, sizeof(th), "X-Scope-OrgID: %s", tenant);
        h = curl_slist_append(h, th);
    }
    if (accept) {
        snprintf(ah, sizeof(ah), "Accept: %s", accept);
        h = curl_slist_append(h, ah);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    buf_append_byte(&r->body, 0);
    r->body.len--;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static const char *B(struct resp *r)
{
    return (const char *)r->body.data;
}

static void test_query_http(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    add_spans(&f, "alpha", 7);
    add_spans(&f, "default", 3);
    struct resp r;

    post(f.port, "alpha", NULL, "{\"sql\": \"SELECT count(*) AS n FROM traces\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_non_null(strstr(B(&r), "\"columns\":[{\"name\":\"n\",\"type\":\"BIGINT\"}]"));
    assert_non_null(strstr(B(&r), "\"rows\":[[7]]"));
    assert_non_null(strstr(B(&r), "\"files_scanned\":0"));
    assert_non_null(strstr(B(&r), "\"truncated\":false"));
    buf_free(&r.body);

    /* no header: tenant "default" */
    post(f.port, NULL, NULL, "{\"sql\": \"SELECT count(*) FROM traces\"}", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(B(&r), "\"rows\":[[3]]"));
    buf_free(&r.body);

    /* CSV */
    post(f.port, "alpha", "text/csv",
         "{\"sql\": \"SELECT ServiceName, count(*) AS n FROM traces GROUP BY 1\"}", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.ctype, "text/csv"));
    assert_string_equal(B(&r), "ServiceName,n\r\nweb,7\r\n");
    assert_string_equal(r.rows_hdr, "1");
    buf_free(&r.body);

    /* every digit of 64-bit integers */
    post(f.port, "alpha", NULL,
         "{\"sql\": \"SELECT 9223372036854775807::BIGINT, 18446744073709551615::UBIGINT\"}", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(B(&r), "[[9223372036854775807,18446744073709551615]]"));
    buf_free(&r.body);

    /* SQL error: 400, DuckDB's message with its position */
    post(f.port, "alpha", NULL, "{\"sql\": \"SELECT nope FROM traces\"}", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(B(&r), "{\"error\":\"Binder Error"));
    assert_non_null(strstr(B(&r), "LINE 1: SELECT nope FROM traces"));
    buf_free(&r.body);
    post(f.port, "alpha", NULL, "{\"sql\": \"SELECT * FORM traces\"}", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(B(&r), "Parser Error"));
    assert_non_null(strstr(B(&r), "LINE 1"));
    buf_free(&r.body);

    /* refusals */
    post(f.port, "alpha", NULL, "{\"sql\": \"COPY traces TO '/tmp/x.csv'\"}", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(B(&r), "Permission Error"));
    buf_free(&r.body);
    post(f.port, "alpha", NULL, "{\"sql\": \"SELECT * FROM read_csv('/etc/passwd')\"}", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(B(&r), "Permission Error"));
    buf_free(&r.body);

    /* bad requests */
    post(f.port, "alpha", NULL, "{\"query\": \"SELECT 1\"}", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(B(&r), "member \\\"sql\\\""));
    buf_free(&r.body);
    post(f.port, "alpha", NULL, "SELECT 1", &r);
    assert_int_equal(r.status, 400);
    buf_free(&r.body);
    post(f.port, "../etc", NULL, "{\"sql\": \"SELECT 1\"}", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(B(&r), "X-Scope-OrgID"));
    buf_free(&r.body);
    fx_close(&f);
}

struct par {
    int port;
    long status;
};

static void *par_main(void *p)
{
    struct par *a = p;
    struct resp r;
    post(a->port, "t", NULL,
         "{\"sql\": \"SELECT count(*) FROM range(1000000000) a, range(1000) b WHERE a.range = -b.range - 1\"}",
         &r);
    a->status = r.status;
    buf_free(&r.body);
    return NULL;
}

/* One worker, a queue of SQL_HTTP_QUEUE_PER_WORKER: a burst beyond gets 429 at once;
 * the accepted ones time out (400) one after the other. */
static void test_queue_full(void **state)
{
    (void)state;
    struct sql_options o;
    sql_options_default(&o);
    o.max_concurrent = 1;
    o.timeout = 150 * 1000000ull;
    o.threads = 1;
    struct fx f;
    fx_open(&f, &o);
    enum { N = SQL_HTTP_QUEUE_PER_WORKER + 6 };
    pthread_t th[N];
    struct par a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (struct par){f.port, 0};
        assert_int_equal(pthread_create(&th[i], NULL, par_main, &a[i]), 0);
    }
    int n429 = 0, n400 = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        n429 += a[i].status == 429;
        n400 += a[i].status == 400;
    }
    assert_int_equal(n429 + n400, N);
    assert_true(n429 >= 1);
    assert_true(n400 >= 1);
    fx_close(&f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_http),
        cmocka_unit_test(test_queue_full),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    metrics_shutdown();
    curl_global_cleanup();
    return rc;
}
