/*
 * lggen.c — the simulated shop and its telemetry (see lggen.h for the model of it).
 *
 * Layout of this file:
 *   1. static description of the application: languages, services, operations (routes,
 *      downstream calls, database statements), metric instruments, log bodies;
 *   2. the generator object: per-instance resource attributes built once;
 *   3. model builders: traces (a recursive walk of the call graph), metrics, logs;
 *   4. templates: encode a model once, find where its ids sit in the bytes, and re-stamp
 *      them for every request.
 */
#include "loadgen/lggen.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "loadgen/lgrand.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_pb.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ the application -- */

enum { L_NODE, L_GO, L_JAVA, L_PY, L_DOTNET, L_RUST, L_CPP, L_COUNT };

/* What an SDK of each language reports about itself, and how its errors look. */
static const struct lg_lang {
    const char *sdk_language, *sdk_version, *runtime_name, *runtime_version;
    const char *scope, *scope_version; /* the HTTP server instrumentation's scope */
    const char *exc_type, *frame_fmt;  /* exception.type; one stack frame (fn, file, line) */
    const char *user_agent;            /* for outgoing calls */
} lg_langs[L_COUNT] = {
    [L_NODE] = {"nodejs", "1.30.1", "nodejs", "20.18.1", "@opentelemetry/instrumentation-http",
                "0.57.2", "Error", "    at %s (/app/src/%s.js:%d:17)\n", "node-fetch/1.0"},
    [L_GO] = {"go", "1.34.0", "go", "go1.23.6",
              "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.59.0",
              "*errors.errorString", "main.%s()\n\t/usr/src/app/%s.go:%d +0x1a4\n",
              "Go-http-client/1.1"},
    [L_JAVA] = {"java", "1.47.0", "OpenJDK Runtime Environment", "21.0.6+7-LTS",
                "io.opentelemetry.tomcat-10.0", "2.13.0-alpha", "java.lang.IllegalStateException",
                "\tat oteldemo.%s(%s.java:%d)\n", "Java-http-client/21.0.6"},
    [L_PY] = {"python", "1.30.0", "cpython", "3.12.9", "opentelemetry.instrumentation.flask",
              "0.51b0", "ValueError", "  File \"/app/%s.py\", line %d, in %s\n",
              "python-requests/2.32.3"},
    [L_DOTNET] = {"dotnet", "1.11.2", ".NET", "8.0.13", "OpenTelemetry.Instrumentation.AspNetCore",
                  "1.11.1", "System.InvalidOperationException",
                  "   at cart.%s() in /src/%s.cs:line %d\n", "dotnet-httpclient/8.0"},
    [L_RUST] = {"rust", "0.28.0", "rustc", "1.84.1", "opentelemetry-http", "0.28.0",
                "shipping::Error", "  %d: shipping::%s\n             at ./src/%s.rs\n",
                "reqwest/0.12.12"},
    [L_CPP] = {"cpp", "1.19.0", "gcc", "12.2.0", "opentelemetry-cpp", "1.19.0",
               "std::runtime_error", "#%d 0x55d0c3a1 in currency::%s() %s.cpp\n",
               "cpp-httplib/0.18"},
};

enum {
    S_FRONTEND,
    S_CART,
    S_CHECKOUT,
    S_PAYMENT,
    S_SHIPPING,
    S_CURRENCY,
    S_AD,
    S_RECO,
    S_CATALOG,
    S_COUNT
};
#define LG_INSTANCES 2 /* pods per service */
#define LG_NINST (S_COUNT * LG_INSTANCES)

static const struct lg_svc {
    const char *name, *version, *deployment, *logger;
    int lang;
    const char *app_metric, *app_metric_unit; /* the service's own business counter */
} lg_svcs[S_COUNT] = {
    [S_FRONTEND] = {"frontend", "2.1.3", "frontend", "frontend", L_NODE, "app.frontend.requests",
                    "{request}"},
    [S_CART] = {"cart", "1.8.0", "cart", "cart.CartService", L_DOTNET, "app.cart.items_added",
                "{item}"},
    [S_CHECKOUT] = {"checkout", "1.12.4", "checkout", "checkout", L_GO, "app.orders.placed",
                    "{order}"},
    [S_PAYMENT] = {"payment", "1.4.2", "payment", "payment", L_NODE, "app.payment.transactions",
                   "{transaction}"},
    [S_SHIPPING] = {"shipping", "0.9.1", "shipping", "shipping", L_RUST, "app.shipping.quotes",
                    "{quote}"},
    [S_CURRENCY] = {"currency", "1.3.0", "currency", "currency", L_CPP, "app.currency.conversions",
                    "{conversion}"},
    [S_AD] = {"ad", "1.6.7", "ad", "oteldemo.AdService", L_JAVA, "app.ads.ad_requests",
              "{request}"},
    [S_RECO] = {"recommendation", "1.2.0", "recommendation", "recommendation", L_PY,
                "app.recommendations.counter", "{recommendation}"},
    [S_CATALOG] = {"product-catalog", "1.10.2", "product-catalog", "productcatalog", L_GO,
                   "app.products.queried", "{query}"},
};

enum {
    OP_FE_HOME,
    OP_FE_PRODUCT,
    OP_FE_ADD_CART,
    OP_FE_VIEW_CART,
    OP_FE_CHECKOUT,
    OP_FE_SHIPPING,
    OP_CART_GET,
    OP_CART_ADD,
    OP_CART_EMPTY,
    OP_CO_PLACE,
    OP_PAY_CHARGE,
    OP_SHIP_QUOTE,
    OP_SHIP_ORDER,
    OP_CUR_CONVERT,
    OP_CUR_LIST,
    OP_AD_GET,
    OP_RECO_LIST,
    OP_CAT_GET,
    OP_CAT_LIST,
    OP_COUNT
};

#define LG_MAX_CALLS 8
struct lg_call {
    int op;
    double p; /* probability that the call is made */
};

/* One HTTP endpoint of a service and what serving it involves. Self time is split into
 * work before and after the downstream calls; both are lognormal around `self_us`. */
static const struct lg_op {
    int svc;
    const char *method, *route, *name; /* name = the SERVER span's name */
    double self_us, sigma;
    double weight; /* share of root traffic (frontend operations only) */
    const char *db_system, *db_name, *db_op, *db_stmt, *db_span, *db_host;
    int db_port;
    double db_us;
    const char *internal, *fn; /* INTERNAL span name; function name in stack traces */
    struct lg_call calls[LG_MAX_CALLS];
} lg_ops[OP_COUNT] = {
    [OP_FE_HOME] = {S_FRONTEND, "GET", "/", "GET /", 900, 0.6, 30, .internal = "render page",
                    .fn = "renderHome",
                    .calls = {{OP_CUR_LIST, 1},
                              {OP_CAT_LIST, 1},
                              {OP_AD_GET, 0.8},
                              {OP_RECO_LIST, 0.9},
                              {-1, 0}}},
    [OP_FE_PRODUCT] = {S_FRONTEND, "GET", "/api/products/{id}", "GET /api/products/{id}", 600, 0.6,
                       35, .fn = "getProduct",
                       .calls = {{OP_CAT_GET, 1},
                                 {OP_CUR_CONVERT, 0.7},
                                 {OP_RECO_LIST, 0.7},
                                 {OP_AD_GET, 0.5},
                                 {-1, 0}}},
    [OP_FE_ADD_CART] = {S_FRONTEND, "POST", "/api/cart", "POST /api/cart", 500, 0.5, 10,
                        .fn = "addToCart", .calls = {{OP_CAT_GET, 1}, {OP_CART_ADD, 1}, {-1, 0}}},
    [OP_FE_VIEW_CART] = {S_FRONTEND, "GET", "/api/cart", "GET /api/cart", 450, 0.5, 10,
                         .fn = "viewCart",
                         .calls = {{OP_CART_GET, 1}, {OP_CUR_CONVERT, 0.8}, {-1, 0}}},
    [OP_FE_CHECKOUT] = {S_FRONTEND, "POST", "/api/checkout", "POST /api/checkout", 700, 0.6, 5,
                        .fn = "placeOrder", .calls = {{OP_CO_PLACE, 1}, {-1, 0}}},
    [OP_FE_SHIPPING] = {S_FRONTEND, "GET", "/api/shipping", "GET /api/shipping", 400, 0.5, 10,
                        .fn = "getShipping",
                        .calls = {{OP_SHIP_QUOTE, 1}, {OP_CUR_CONVERT, 1}, {-1, 0}}},
    [OP_CART_GET] = {S_CART, "GET", "/cart/{userId}", "GET /cart/{userId}", 250, 0.5,
                     .db_system = "redis", .db_name = "0", .db_op = "HGETALL",
                     .db_stmt = "HGETALL cart:{userId}", .db_span = "HGETALL",
                     .db_host = "valkey-cart", .db_port = 6379, .db_us = 300, .fn = "GetCart",
                     .calls = {{-1, 0}}},
    [OP_CART_ADD] = {S_CART, "POST", "/cart/{userId}/items", "POST /cart/{userId}/items", 300, 0.5,
                     .db_system = "redis", .db_name = "0", .db_op = "HSET",
                     .db_stmt = "HSET cart:{userId} ? ?", .db_span = "HSET",
                     .db_host = "valkey-cart", .db_port = 6379, .db_us = 350, .fn = "AddItem",
                     .calls = {{-1, 0}}},
    [OP_CART_EMPTY] = {S_CART, "DELETE", "/cart/{userId}", "DELETE /cart/{userId}", 200, 0.5,
                       .db_system = "redis", .db_name = "0", .db_op = "DEL",
                       .db_stmt = "DEL cart:{userId}", .db_span = "DEL", .db_host = "valkey-cart",
                       .db_port = 6379, .db_us = 250, .fn = "EmptyCart", .calls = {{-1, 0}}},
    [OP_CO_PLACE] = {S_CHECKOUT, "POST", "/orders", "POST /orders", 1200, 0.7,
                     .db_system = "postgresql", .db_name = "orders", .db_op = "INSERT",
                     .db_stmt = "INSERT INTO orders (id, user_id, total_usd, created_at) "
                                "VALUES ($1, $2, $3, now())",
                     .db_span = "INSERT orders.orders", .db_host = "postgresql", .db_port = 5432,
                     .db_us = 2500, .internal = "prepareOrderItems", .fn = "PlaceOrder",
                     .calls = {{OP_CART_GET, 1},
                               {OP_CAT_GET, 1},
                               {OP_CUR_CONVERT, 1},
                               {OP_SHIP_QUOTE, 1},
                               {OP_PAY_CHARGE, 1},
                               {OP_SHIP_ORDER, 1},
                               {OP_CART_EMPTY, 1},
                               {-1, 0}}},
    [OP_PAY_CHARGE] = {S_PAYMENT, "POST", "/charge", "POST /charge", 2500, 0.8,
                       .internal = "validate card", .fn = "charge", .calls = {{-1, 0}}},
    [OP_SHIP_QUOTE] = {S_SHIPPING, "POST", "/quote", "POST /quote", 350, 0.5,
                       .internal = "calculate quote", .fn = "get_quote", .calls = {{-1, 0}}},
    [OP_SHIP_ORDER] = {S_SHIPPING, "POST", "/ship", "POST /ship", 500, 0.6, .fn = "ship_order",
                       .calls = {{-1, 0}}},
    [OP_CUR_CONVERT] = {S_CURRENCY, "POST", "/convert", "POST /convert", 120, 0.4,
                        .internal = "convert", .fn = "Convert", .calls = {{-1, 0}}},
    [OP_CUR_LIST] = {S_CURRENCY, "GET", "/currencies", "GET /currencies", 80, 0.4,
                     .fn = "GetSupportedCurrencies", .calls = {{-1, 0}}},
    [OP_AD_GET] = {S_AD, "GET", "/ads", "GET /ads", 700, 0.7, .internal = "getAdsByCategory",
                   .fn = "getAds", .calls = {{-1, 0}}},
    [OP_RECO_LIST] = {S_RECO, "GET", "/recommendations", "GET /recommendations", 900, 0.6,
                      .internal = "get_product_list", .fn = "list_recommendations",
                      .calls = {{OP_CAT_LIST, 1}, {-1, 0}}},
    [OP_CAT_GET] = {S_CATALOG, "GET", "/products/{id}", "GET /products/{id}", 150, 0.5,
                    .db_system = "postgresql", .db_name = "catalog", .db_op = "SELECT",
                    .db_stmt = "SELECT id, name, description, picture, price_usd, categories "
                               "FROM products WHERE id = $1",
                    .db_span = "SELECT catalog.products", .db_host = "postgresql", .db_port = 5432,
                    .db_us = 900, .fn = "GetProduct", .calls = {{-1, 0}}},
    [OP_CAT_LIST] = {S_CATALOG, "GET", "/products", "GET /products", 200, 0.5,
                     .db_system = "postgresql", .db_name = "catalog", .db_op = "SELECT",
                     .db_stmt = "SELECT id, name, description, picture, price_usd, categories "
                                "FROM products ORDER BY id LIMIT 50",
                     .db_span = "SELECT catalog.products", .db_host = "postgresql", .db_port = 5432,
                     .db_us = 1800, .fn = "ListProducts", .calls = {{-1, 0}}},
};

static const char *const lg_products[] = {"OLJCESPC7Z", "66VCHSJNUP", "1YMWWN1N4O", "L9ECAV7KIM",
                                          "2ZYFJ3GM2N", "0PUK6V6EV0", "LS4PSXUNUM", "9SIQT8TOJO",
                                          "6E92ZMYYFZ", "HQTGWGPNH4"};
#define LG_NPRODUCTS (sizeof(lg_products) / sizeof(lg_products[0]))

static const char *const lg_browsers[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/133.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.3 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:135.0) Gecko/20100101 Firefox/135.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.3 Mobile/15E148 Safari/604.1",
    "python-requests/2.32.3 (locust load test)",
};
#define LG_NBROWSERS (sizeof(lg_browsers) / sizeof(lg_browsers[0]))

static const char *const lg_errmsgs[] = {
    "connection reset by peer",   "context deadline exceeded",
    "upstream returned 503",      "invalid credit card number",
    "product not found",          "too many connections",
    "lock wait timeout exceeded", "null reference while reading cart"};
#define LG_NERRMSGS (sizeof(lg_errmsgs) / sizeof(lg_errmsgs[0]))

/* http.server.request.duration buckets: the semantic conventions' advice, in seconds. */
static const double lg_dur_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                       0.5,   0.75, 1,     2.5,  5,     7.5, 10};
#define LG_NBOUNDS (sizeof(lg_dur_bounds) / sizeof(lg_dur_bounds[0]))

/* ------------------------------------------------------------------ generator ------- */

#define LG_RES_ATTRS 18

struct lg_inst {
    int svc;
    otlp_resource_t res;
    otlp_kv_t kv[LG_RES_ATTRS];
    uint64_t uptime_ns;       /* how long the pod has run when first reported */
    uint64_t start_ns;        /* process start (cumulative metrics' start time), set on first use
                                 from the caller's clock so that a seed reproduces the bytes */
    double cpu_user, cpu_sys; /* cumulative counters that only grow */
    int64_t app_count;
    char ip[16];
};

/* Where one id sits in a template's bytes. */
struct lg_site {
    uint32_t off;
    uint32_t group;
};

/* A distinct id value of a template: its kind and its representation in the bytes. */
enum { G_TRACE, G_SPAN, G_UID };
struct lg_group {
    uint8_t kind;
    uint8_t raw[16]; /* the value (trace 16, span 8, uid 8 bytes) */
    uint64_t t0;     /* traces: the trace's earliest timestamp in the template (its anchor) */
};

/* Where one span or event timestamp sits in a template's bytes (traces): fixed64 little
 * endian in protobuf, 19 decimal digits in JSON. Each use moves a trace's timestamps as
 * one: t' = t0 + shift + (t - t0) * scale, with shift and scale drawn per trace, so every
 * use carries its own start times and durations and children stay inside their parents. */
struct lg_tsite {
    uint32_t off;
    uint32_t group; /* the trace's group */
    uint64_t v;     /* the value in the template */
};

/* How one use moves a trace: t' = t0 + shift + (t - t0) * scale. */
struct lg_move {
    int64_t shift; /* ns */
    double scale;
};

struct lg_item_ids {
    uint32_t a, b; /* traces: trace group, span group; logs/metrics: uid group (a) */
};

struct lg_tmpl {
    int valid;
    size_t n;
    uint32_t uses;
    uint64_t built_ns;
    buf_t body;
    struct lg_site *sites;
    size_t nsites;
    struct lg_group *groups;
    size_t ngroups;
    struct lg_item_ids *items;
    size_t nitems;
    struct lg_tsite *tsites; /* traces: every timestamp, in body order */
    size_t ntsites;
};

struct lggen {
    lgrand_t r;   /* content */
    lgrand_t rid; /* ids stamped into requests */
    enum lggen_encoding enc;
    arena_t *fixed;   /* resource attributes and other strings that live as long as g */
    arena_t *scratch; /* one model at a time while building a template */
    struct lg_inst inst[LG_NINST];
    size_t max_trace_spans;
    struct lg_tmpl pool[3][LGGEN_POOL];
    unsigned rr[3];
    uint64_t built;
    uint8_t *newvals; /* per-group fresh values while stamping */
    size_t newvals_cap;
    struct lg_move *moves; /* per group while stamping times (traces) */
    size_t moves_cap;
};

#define KV_S(kv, k, v)                                                                             \
    do {                                                                                           \
        otlp_kv_t *kv_ = (kv); /* (kv) is often &arr[i++]: evaluate it once */                     \
        kv_->key = SLICE_LIT(k);                                                                   \
        kv_->value.type = OTLP_ANY_STRING;                                                         \
        kv_->value.u.str = (v);                                                                    \
    } while (0)
#define KV_I(kv, k, v)                                                                             \
    do {                                                                                           \
        otlp_kv_t *kv_ = (kv); /* (kv) is often &arr[i++]: evaluate it once */                     \
        kv_->key = SLICE_LIT(k);                                                                   \
        kv_->value.type = OTLP_ANY_INT;                                                            \
        kv_->value.u.i64 = (v);                                                                    \
    } while (0)
#define KV_D(kv, k, v)                                                                             \
    do {                                                                                           \
        otlp_kv_t *kv_ = (kv); /* (kv) is often &arr[i++]: evaluate it once */                     \
        kv_->key = SLICE_LIT(k);                                                                   \
        kv_->value.type = OTLP_ANY_DOUBLE;                                                         \
        kv_->value.u.f64 = (v);                                                                    \
    } while (0)

/* printf into arena memory; an empty slice when the arena is full (the caller checks
 * the arena via a later allocation, which fails the same way). */
static slice_t lg_fmt(arena_t *a, int *oom, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static slice_t lg_fmt(arena_t *a, int *oom, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(tmp))
        n = sizeof(tmp) - 1;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p) {
        *oom = 1;
        return slice_make("", 0);
    }
    memcpy(p, tmp, (size_t)n + 1);
    return slice_make(p, (size_t)n);
}

static void lg_hex(char *out, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
}

/* Build one pod's resource: the attributes the SDK resource detectors of its language
 * and the k8s attributes processor would put there. */
static int lg_inst_init(lggen_t *g, struct lg_inst *in, int svc, int k)
{
    const struct lg_svc *s = &lg_svcs[svc];
    const struct lg_lang *l = &lg_langs[s->lang];
    arena_t *a = g->fixed;
    int oom = 0;
    uint8_t u[16];
    lgrand_bytes(&g->r, u, 16);
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* UUID v4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    char uh[32];
    lg_hex(uh, u, 16);
    static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
    char rs[6], hs[10];
    for (int i = 0; i < 5; i++)
        rs[i] = alnum[lgrand_below(&g->r, sizeof(alnum) - 1)];
    rs[5] = 0;
    for (int i = 0; i < 9; i++)
        hs[i] = "0123456789abcdef"[lgrand_below(&g->r, 16)];
    hs[9] = 0;
    in->svc = svc;
    slice_t pod = lg_fmt(a, &oom, "%s-%.9s-%s", s->deployment, hs, rs);
    snprintf(in->ip, sizeof(in->ip), "10.42.%u.%u", lgrand_below(&g->r, 8),
             2 + lgrand_below(&g->r, 250));
    otlp_kv_t *kv = in->kv;
    int i = 0;
    KV_S(&kv[i++], "service.name", slice_cstr(s->name));
    KV_S(&kv[i++], "service.namespace", SLICE_LIT("shop"));
    KV_S(&kv[i++], "service.version", slice_cstr(s->version));
    KV_S(&kv[i++], "service.instance.id",
         lg_fmt(a, &oom, "%.8s-%.4s-%.4s-%.4s-%.12s", uh, uh + 8, uh + 12, uh + 16, uh + 20));
    KV_S(&kv[i++], "telemetry.sdk.name", SLICE_LIT("opentelemetry"));
    KV_S(&kv[i++], "telemetry.sdk.language", slice_cstr(l->sdk_language));
    KV_S(&kv[i++], "telemetry.sdk.version", slice_cstr(l->sdk_version));
    KV_S(&kv[i++], "host.name", pod);
    KV_S(&kv[i++], "host.arch", SLICE_LIT("amd64"));
    KV_S(&kv[i++], "os.type", SLICE_LIT("linux"));
    KV_I(&kv[i++], "process.pid", 1 + (int64_t)lgrand_below(&g->r, 60));
    KV_S(&kv[i++], "process.runtime.name", slice_cstr(l->runtime_name));
    KV_S(&kv[i++], "process.runtime.version", slice_cstr(l->runtime_version));
    KV_S(&kv[i++], "k8s.pod.name", pod);
    KV_S(&kv[i++], "k8s.namespace.name", SLICE_LIT("shop"));
    KV_S(&kv[i++], "k8s.node.name",
         lg_fmt(a, &oom, "ip-10-0-%u-%u.ec2.internal", lgrand_below(&g->r, 4),
                10 + lgrand_below(&g->r, 200)));
    KV_S(&kv[i++], "k8s.deployment.name", slice_cstr(s->deployment));
    KV_S(&kv[i++], "deployment.environment", SLICE_LIT("production"));
    in->res.attrs.v = kv;
    in->res.attrs.n = (size_t)i;
    /* pods started a few minutes to a few days ago */
    in->uptime_ns = (uint64_t)(fmin(lgrand_pareto(&g->r, 300.0, 1.0), 604800.0) * 1e9);
    in->cpu_user = lgrand_unit(&g->r) * 1000;
    in->cpu_sys = in->cpu_user * 0.2;
    in->app_count = (int64_t)lgrand_below(&g->r, 100000);
    (void)k;
    return oom ? ORASI_ENOMEM : 0;
}

/* Largest number of spans one request to `op` can produce (bounds the span buffer). */
static size_t lg_op_max_spans(int op)
{
    const struct lg_op *o = &lg_ops[op];
    size_t n = 1 + (o->db_system ? 1 : 0) + (o->internal ? 1 : 0);
    for (int i = 0; i < LG_MAX_CALLS && o->calls[i].op >= 0; i++)
        n += 1 + lg_op_max_spans(o->calls[i].op);
    return n;
}

lggen_t *lggen_create(uint64_t seed, uint64_t stream, enum lggen_encoding enc)
{
    lggen_t *g = orasi_calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    lgrand_seed(&g->r, seed, stream * 2);
    lgrand_seed(&g->rid, seed, stream * 2 + 1);
    g->enc = enc;
    g->fixed = arena_create(16384, 1u << 20);
    g->scratch = arena_create(1u << 20, 1u << 30);
    if (!g->fixed || !g->scratch)
        goto fail;
    for (int s = 0; s < S_COUNT; s++)
        for (int k = 0; k < LG_INSTANCES; k++)
            if (lg_inst_init(g, &g->inst[s * LG_INSTANCES + k], s, k) < 0)
                goto fail;
    for (int op = 0; op < OP_COUNT; op++) {
        size_t m = lg_op_max_spans(op);
        if (m > g->max_trace_spans)
            g->max_trace_spans = m;
    }
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < LGGEN_POOL; i++)
            buf_init(&g->pool[s][i].body, LGGEN_MAX_BODY);
    return g;
fail:
    lggen_destroy(g);
    return NULL;
}

void lggen_destroy(lggen_t *g)
{
    if (!g)
        return;
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < LGGEN_POOL; i++) {
            struct lg_tmpl *t = &g->pool[s][i];
            buf_free(&t->body);
            orasi_free(t->sites);
            orasi_free(t->groups);
            orasi_free(t->items);
            orasi_free(t->tsites);
        }
    orasi_free(g->newvals);
    orasi_free(g->moves);
    if (g->fixed)
        arena_destroy(g->fixed);
    if (g->scratch)
        arena_destroy(g->scratch);
    orasi_free(g);
}

uint64_t lggen_templates_built(const lggen_t *g)
{
    return g->built;
}

/* ------------------------------------------------------------------ traces ---------- */

struct lg_tctx {
    lggen_t *g;
    arena_t *a;
    otlp_span_t *sp;
    uint16_t *inst; /* resource (pod) of each span */
    size_t n, cap;
    otlp_trace_id_t tid;
    int pod[S_COUNT]; /* the pod of each service serving this trace */
    int oom;
};

static uint64_t lg_ns(double us)
{
    return us <= 0 ? 1 : (uint64_t)(us * 1000.0) + 1;
}

/* Substitute {id} and {userId} in a route: the concrete url.path. */
static slice_t lg_path(struct lg_tctx *c, const char *route, const char *product, unsigned user)
{
    char out[256];
    size_t o = 0;
    for (const char *p = route; *p && o < sizeof(out) - 32;) {
        if (strncmp(p, "{id}", 4) == 0) {
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", product);
            p += 4;
        } else if (strncmp(p, "{userId}", 8) == 0) {
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%u", user);
            p += 8;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = 0;
    return lg_fmt(c->a, &c->oom, "%s", out);
}

static otlp_span_t *lg_new_span(struct lg_tctx *c, int pod, size_t parent, int kind, size_t *idx)
{
    /* cap is n + max_trace_spans, so a trace in progress always fits */
    size_t i = c->n++;
    otlp_span_t *s = &c->sp[i];
    memset(s, 0, sizeof(*s));
    s->trace_id = c->tid;
    s->span_id.len = 8;
    lgrand_bytes(&c->g->r, s->span_id.id, 8);
    if (parent != SIZE_MAX) {
        s->parent_span_id = c->sp[parent].span_id;
        s->flags = 0x101; /* sampled, parent is known to be local/remote */
        if (kind == OTLP_SPAN_KIND_SERVER)
            s->flags |= 0x200; /* the parent is in another process */
    } else {
        s->flags = 0x101;
    }
    s->kind = kind;
    c->inst[i] = (uint16_t)pod;
    *idx = i;
    return s;
}

static otlp_kv_t *lg_attrs(struct lg_tctx *c, otlp_attrs_t *at, size_t cap)
{
    otlp_kv_t *kv = arena_alloc(c->a, cap * sizeof(*kv));
    if (!kv) {
        c->oom = 1;
        return NULL;
    }
    at->v = kv;
    at->n = 0;
    return kv;
}

/* Mark a span failed: status ERROR plus the "exception" event SDKs record. */
static void lg_fail(struct lg_tctx *c, otlp_span_t *s, int lang, const char *fn)
{
    const struct lg_lang *l = &lg_langs[lang];
    const char *msg = lg_errmsgs[lgrand_below(&c->g->r, LG_NERRMSGS)];
    s->status.code = OTLP_STATUS_ERROR;
    s->status.message = slice_cstr(msg);
    otlp_event_t *ev = arena_calloc(c->a, sizeof(*ev));
    otlp_kv_t *kv = ev ? lg_attrs(c, &ev->attrs, 3) : NULL;
    if (!kv) {
        c->oom = 1;
        return;
    }
    char stack[900];
    size_t o = (size_t)snprintf(stack, sizeof(stack), "%s: %s\n", l->exc_type, msg);
    int depth = 3 + (int)lgrand_below(&c->g->r, 5);
    for (int d = 0; d < depth && o < sizeof(stack) - 200; d++) {
        int line = 20 + (int)lgrand_below(&c->g->r, 400);
        switch (lang) {
        case L_PY:
            o += (size_t)snprintf(stack + o, sizeof(stack) - o, l->frame_fmt, fn, line, fn);
            break;
        case L_RUST:
        case L_CPP:
            o += (size_t)snprintf(stack + o, sizeof(stack) - o, l->frame_fmt, d, fn, fn);
            break;
        default:
            o += (size_t)snprintf(stack + o, sizeof(stack) - o, l->frame_fmt, fn, fn, line);
        }
    }
    uint64_t dur = s->end_time_unix_nano - s->start_time_unix_nano;
    ev->time_unix_nano = s->end_time_unix_nano - (dur > 20000 ? 10000 : dur / 2);
    ev->name = SLICE_LIT("exception");
    KV_S(&kv[0], "exception.type", slice_cstr(l->exc_type));
    KV_S(&kv[1], "exception.message", slice_cstr(msg));
    KV_S(&kv[2], "exception.stacktrace", lg_fmt(c->a, &c->oom, "%s", stack));
    ev->attrs.n = 3;
    s->events = ev;
    s->n_events = 1;
}

/*
 * Serve `op` in its service: a SERVER span starting at `start` whose parent is the
 * caller's CLIENT span (SIZE_MAX for the root), then its database call, its INTERNAL
 * span and its downstream calls in sequence. `failed` was decided by the caller (the
 * CLIENT and SERVER span of one call fail together). Returns the SERVER span's end time.
 */
static uint64_t lg_serve(struct lg_tctx *c, int op, size_t parent, uint64_t start, int failed,
                         const char *ua, int *status_out)
{
    const struct lg_op *o = &lg_ops[op];
    const struct lg_svc *sv = &lg_svcs[o->svc];
    lgrand_t *r = &c->g->r;
    int pod = c->pod[o->svc];
    size_t si;
    otlp_span_t *s = lg_new_span(c, pod, parent, OTLP_SPAN_KIND_SERVER, &si);
    const char *product = lg_products[lgrand_below(r, LG_NPRODUCTS)];
    unsigned user = 100000 + lgrand_below(r, 900000);
    int status = failed ? 500 : (lgrand_chance(r, 0.02) ? 404 : 200);
    *status_out = status;

    s->name = slice_cstr(o->name);
    otlp_kv_t *kv = lg_attrs(c, &s->attrs, 12);
    if (!kv)
        return start + 1;
    size_t k = 0;
    KV_S(&kv[k++], "http.request.method", slice_cstr(o->method));
    KV_S(&kv[k++], "http.route", slice_cstr(o->route));
    KV_S(&kv[k++], "url.path", lg_path(c, o->route, product, user));
    KV_S(&kv[k++], "url.scheme", SLICE_LIT("http"));
    KV_S(&kv[k++], "server.address", slice_cstr(sv->name));
    KV_I(&kv[k++], "server.port", 8080);
    KV_S(&kv[k++], "network.protocol.version", SLICE_LIT("1.1"));
    KV_S(&kv[k++], "user_agent.original", slice_cstr(ua));
    KV_S(&kv[k++], "client.address",
         parent == SIZE_MAX ? lg_fmt(c->a, &c->oom, "203.0.113.%u", 1 + lgrand_below(r, 254))
                            : slice_cstr(c->g->inst[c->inst[parent]].ip));
    KV_I(&kv[k++], "http.response.status_code", status);
    if (strstr(o->route, "{id}"))
        KV_S(&kv[k++], "app.product.id", slice_cstr(product));
    s->attrs.n = k;

    uint64_t cursor = start + lg_ns(lgrand_lognormal(r, o->self_us * 0.4, o->sigma));

    if (o->internal) {
        size_t ii;
        otlp_span_t *in = lg_new_span(c, pod, si, OTLP_SPAN_KIND_INTERNAL, &ii);
        in->name = slice_cstr(o->internal);
        in->start_time_unix_nano = cursor;
        cursor += lg_ns(lgrand_lognormal(r, o->self_us * 0.3, o->sigma));
        in->end_time_unix_nano = cursor;
        otlp_kv_t *ikv = lg_attrs(c, &in->attrs, 2);
        if (ikv) {
            KV_S(&ikv[0], "code.function", slice_cstr(o->fn));
            KV_I(&ikv[1], "app.items.count", 1 + (int64_t)lgrand_below(r, 10));
            in->attrs.n = 2;
        }
        if (lgrand_chance(r, LGGEN_ERROR_RATE))
            lg_fail(c, in, sv->lang, o->fn);
    }

    for (int i = 0; i < LG_MAX_CALLS && o->calls[i].op >= 0; i++) {
        if (!lgrand_chance(r, o->calls[i].p))
            continue;
        const struct lg_op *co = &lg_ops[o->calls[i].op];
        const char *callee = lg_svcs[co->svc].name;
        const char *cproduct = lg_products[lgrand_below(r, LG_NPRODUCTS)];
        size_t ci;
        otlp_span_t *cs = lg_new_span(c, pod, si, OTLP_SPAN_KIND_CLIENT, &ci);
        int cfail = lgrand_chance(r, LGGEN_ERROR_RATE);
        cs->name = slice_cstr(co->method);
        cs->start_time_unix_nano = cursor;
        uint64_t net = lg_ns(lgrand_lognormal(r, 150, 0.5));
        int cstatus = 200;
        uint64_t send = lg_serve(c, o->calls[i].op, ci, cursor + net, cfail,
                                 lg_langs[sv->lang].user_agent, &cstatus);
        cs = &c->sp[ci];
        cs->end_time_unix_nano = send + lg_ns(lgrand_lognormal(r, 150, 0.5));
        otlp_kv_t *ckv = lg_attrs(c, &cs->attrs, 6);
        if (ckv) {
            slice_t path = lg_path(c, co->route, cproduct, user);
            KV_S(&ckv[0], "http.request.method", slice_cstr(co->method));
            KV_S(&ckv[1], "url.full",
                 lg_fmt(c->a, &c->oom, "http://%s:8080%.*s", callee, (int)path.len,
                        (const char *)path.p));
            KV_S(&ckv[2], "server.address", slice_cstr(callee));
            KV_I(&ckv[3], "server.port", 8080);
            KV_S(&ckv[4], "network.protocol.version", SLICE_LIT("1.1"));
            /* the callee's status as the client saw it */
            KV_I(&ckv[5], "http.response.status_code", cstatus);
            cs->attrs.n = 6;
        }
        if (cfail)
            lg_fail(c, cs, sv->lang, o->fn);
        cursor = cs->end_time_unix_nano + lg_ns(lgrand_lognormal(r, 20, 0.5));
    }

    if (o->db_system) {
        size_t di;
        otlp_span_t *ds = lg_new_span(c, pod, si, OTLP_SPAN_KIND_CLIENT, &di);
        ds->name = slice_cstr(o->db_span);
        ds->start_time_unix_nano = cursor;
        /* most queries are quick; a few hit a lock or a cold cache: Pareto tail */
        double us = lgrand_chance(r, 0.02) ? lgrand_pareto(r, o->db_us * 10, 1.1)
                                           : lgrand_lognormal(r, o->db_us, 0.7);
        cursor += lg_ns(us);
        ds->end_time_unix_nano = cursor;
        otlp_kv_t *dkv = lg_attrs(c, &ds->attrs, 6);
        if (dkv) {
            KV_S(&dkv[0], "db.system", slice_cstr(o->db_system));
            KV_S(&dkv[1], "db.name", slice_cstr(o->db_name));
            KV_S(&dkv[2], "db.operation", slice_cstr(o->db_op));
            KV_S(&dkv[3], "db.statement", slice_cstr(o->db_stmt));
            KV_S(&dkv[4], "server.address", slice_cstr(o->db_host));
            KV_I(&dkv[5], "server.port", o->db_port);
            ds->attrs.n = 6;
        }
        if (lgrand_chance(r, LGGEN_ERROR_RATE))
            lg_fail(c, ds, sv->lang, o->fn);
    }

    /* now and then a garbage-collection pause or a queue in front of a saturated pool */
    double post = lgrand_lognormal(r, o->self_us * 0.3, o->sigma);
    if (lgrand_chance(r, 0.01))
        post += lgrand_pareto(r, o->self_us * 5, 1.3);
    uint64_t end = cursor + lg_ns(post);
    s = &c->sp[si];
    s->start_time_unix_nano = start;
    s->end_time_unix_nano = end;
    if (failed)
        lg_fail(c, s, sv->lang, o->fn);
    return end;
}

/* Group spans by pod: one ResourceSpans (with one ScopeSpans) per pod, in the order the
 * pods first appear, keeping each pod's spans in generation order. */
static int lg_group_spans(struct lg_tctx *c, size_t n, otlp_traces_t *out)
{
    size_t count[LG_NINST] = {0};
    int order[LG_NINST], norder = 0;
    for (size_t i = 0; i < n; i++)
        if (count[c->inst[i]]++ == 0)
            order[norder++] = c->inst[i];
    otlp_resource_spans_t *rs = arena_calloc(c->a, (size_t)norder * sizeof(*rs));
    otlp_scope_spans_t *ss = arena_calloc(c->a, (size_t)norder * sizeof(*ss));
    otlp_span_t *all = arena_alloc(c->a, n * sizeof(*all));
    if (!rs || !ss || !all)
        return ORASI_ENOMEM;
    size_t slot[LG_NINST], at = 0;
    for (int k = 0; k < norder; k++) {
        int p = order[k];
        const struct lg_lang *l = &lg_langs[lg_svcs[c->g->inst[p].svc].lang];
        slot[p] = at;
        rs[k].resource = c->g->inst[p].res;
        rs[k].scope_spans = &ss[k];
        rs[k].n_scope_spans = 1;
        rs[k].schema_url = SLICE_LIT("https://opentelemetry.io/schemas/1.24.0");
        ss[k].scope.name = slice_cstr(l->scope);
        ss[k].scope.version = slice_cstr(l->scope_version);
        ss[k].spans = all + at;
        ss[k].n_spans = count[p];
        at += count[p];
    }
    for (size_t i = 0; i < n; i++)
        all[slot[c->inst[i]]++] = c->sp[i];
    memset(out, 0, sizeof(*out));
    out->resource_spans = rs;
    out->n_resource_spans = (size_t)norder;
    out->n_items = n;
    return 0;
}

int lggen_traces(lggen_t *g, arena_t *a, size_t n, uint64_t now_ns, otlp_traces_t *out)
{
    if (n == 0 || n > LGGEN_MAX_BATCH)
        return ORASI_EINVAL;
    struct lg_tctx c = {.g = g, .a = a, .cap = n + g->max_trace_spans};
    c.sp = arena_alloc(a, c.cap * sizeof(*c.sp));
    c.inst = arena_alloc(a, c.cap * sizeof(*c.inst));
    if (!c.sp || !c.inst)
        return ORASI_ENOMEM;
    double w[OP_COUNT];
    for (int i = 0; i < OP_COUNT; i++)
        w[i] = lg_ops[i].weight;
    /* Traces end within the last few seconds. Whole traces are generated in pre-order
     * (a parent before its children) and the batch is cut at exactly n spans: a prefix
     * of a pre-order never holds a child without its parent. */
    while (c.n < n && !c.oom) {
        c.tid.len = 16;
        lgrand_bytes(&g->r, c.tid.id, 16);
        for (int s = 0; s < S_COUNT; s++)
            c.pod[s] = s * LG_INSTANCES + (int)lgrand_below(&g->r, LG_INSTANCES);
        int op = (int)lgrand_weighted(&g->r, w, OP_COUNT);
        uint64_t start = now_ns - 3000000000ull + lgrand_below(&g->r, 2000000000u);
        int status;
        lg_serve(&c, op, SIZE_MAX, start, lgrand_chance(&g->r, LGGEN_ERROR_RATE),
                 lg_browsers[lgrand_below(&g->r, LG_NBROWSERS)], &status);
    }
    if (c.oom)
        return ORASI_ENOMEM;
    return lg_group_spans(&c, n, out);
}

/* ------------------------------------------------------------------ metrics --------- */

/* Standard normal CDF, for turning a lognormal latency model into bucket counts. */
static double lg_phi(double x)
{
    return 0.5 * erfc(-x / M_SQRT2);
}

static slice_t lg_uid(lggen_t *g, arena_t *a, int *oom)
{
    uint8_t b[8];
    lgrand_bytes(&g->rid, b, 8);
    char *p = arena_alloc(a, 16);
    if (!p) {
        *oom = 1;
        return slice_make("", 0);
    }
    lg_hex(p, b, 8);
    return slice_make(p, 16);
}

/* Attributes of a data point: `extra` semantic attributes plus the loadgen.id. */
static otlp_kv_t *lg_dp_attrs(lggen_t *g, arena_t *a, otlp_attrs_t *at, size_t extra, int *oom)
{
    otlp_kv_t *kv = arena_alloc(a, (extra + 1) * sizeof(*kv));
    if (!kv) {
        *oom = 1;
        return NULL;
    }
    KV_S(&kv[0], LGGEN_ID_KEY, lg_uid(g, a, oom));
    at->v = kv;
    at->n = 1;
    return kv;
}

enum { M_DURATION, M_ACTIVE, M_CPU, M_MEMORY, M_UTIL, M_APP, M_KINDS };

/* Points of one metric of a pod, at most `room` of them. Returns the number made. */
static size_t lg_metric(lggen_t *g, arena_t *a, struct lg_inst *in, int kind, size_t room,
                        uint64_t now, otlp_metric_t *m, int *oom)
{
    lgrand_t *r = &g->r;
    const struct lg_svc *sv = &lg_svcs[in->svc];
    memset(m, 0, sizeof(*m));
    if (!in->start_ns || in->start_ns > now)
        in->start_ns = now - in->uptime_ns;
    switch (kind) {
    case M_DURATION: {
        int ops[OP_COUNT], nops = 0;
        for (int i = 0; i < OP_COUNT; i++)
            if (lg_ops[i].svc == in->svc)
                ops[nops++] = i;
        size_t np = (size_t)nops * 2; /* one series for 200 and one for 500 per route */
        if (np > room)
            np = room;
        otlp_histogram_dp_t *dp = arena_calloc(a, np * sizeof(*dp));
        if (!dp) {
            *oom = 1;
            return 0;
        }
        m->name = SLICE_LIT("http.server.request.duration");
        m->description = SLICE_LIT("Duration of HTTP server requests.");
        m->unit = SLICE_LIT("s");
        m->type = OTLP_METRIC_HISTOGRAM;
        m->temporality = OTLP_TEMPORALITY_CUMULATIVE;
        for (size_t i = 0; i < np; i++) {
            const struct lg_op *o = &lg_ops[ops[i / 2]];
            int err = (int)(i & 1);
            otlp_kv_t *kv = lg_dp_attrs(g, a, &dp[i].attrs, 4, oom);
            uint64_t *bc = arena_alloc(a, (LG_NBOUNDS + 1) * sizeof(uint64_t));
            if (!kv || !bc) {
                *oom = 1;
                return 0;
            }
            KV_S(&kv[1], "http.request.method", slice_cstr(o->method));
            KV_S(&kv[2], "http.route", slice_cstr(o->route));
            KV_I(&kv[3], "http.response.status_code", err ? 500 : 200);
            KV_S(&kv[4], "url.scheme", SLICE_LIT("http"));
            dp[i].attrs.n = 5;
            double uptime = (double)(now - in->start_ns) / 1e9;
            double rps = err ? 0.05 : 1 + lgrand_unit(r) * 20;
            uint64_t count = (uint64_t)(uptime * rps) + 1;
            /* latency model in seconds: lognormal around ~3x the self time */
            double mu = log(o->self_us * 3e-6), sig = o->sigma + 0.3;
            uint64_t acc = 0;
            double prev = 0;
            for (size_t b = 0; b < LG_NBOUNDS; b++) {
                double cdf = lg_phi((log(lg_dur_bounds[b]) - mu) / sig);
                uint64_t cum = (uint64_t)(cdf * (double)count);
                bc[b] = cum > acc ? cum - acc : 0;
                acc += bc[b];
                prev = cdf;
            }
            (void)prev;
            bc[LG_NBOUNDS] = count - acc;
            dp[i].start_time_unix_nano = in->start_ns;
            dp[i].time_unix_nano = now;
            dp[i].count = count;
            dp[i].has_sum = dp[i].has_min = dp[i].has_max = 1;
            dp[i].sum = (double)count * exp(mu + sig * sig / 2);
            dp[i].min = exp(mu - 2.5 * sig);
            dp[i].max = exp(mu + 3.5 * sig) * (1 + lgrand_unit(r));
            dp[i].bucket_counts.v = bc;
            dp[i].bucket_counts.n = LG_NBOUNDS + 1;
            dp[i].explicit_bounds.v = lg_dur_bounds;
            dp[i].explicit_bounds.n = LG_NBOUNDS;
        }
        m->points.histogram.v = dp;
        m->points.histogram.n = np;
        return np;
    }
    case M_ACTIVE:
    case M_CPU:
    case M_MEMORY:
    case M_UTIL:
    case M_APP: {
        size_t np = kind == M_CPU ? 2 : 1;
        if (np > room)
            np = room;
        otlp_number_dp_t *dp = arena_calloc(a, np * sizeof(*dp));
        if (!dp) {
            *oom = 1;
            return 0;
        }
        for (size_t i = 0; i < np; i++) {
            otlp_kv_t *kv = lg_dp_attrs(g, a, &dp[i].attrs, 2, oom);
            if (!kv)
                return 0;
            dp[i].time_unix_nano = now;
            switch (kind) {
            case M_ACTIVE:
                KV_S(&kv[1], "http.request.method", SLICE_LIT("GET"));
                KV_S(&kv[2], "url.scheme", SLICE_LIT("http"));
                dp[i].attrs.n = 3;
                dp[i].start_time_unix_nano = in->start_ns;
                dp[i].is_int = 1;
                dp[i].as_int = (int64_t)lgrand_below(r, 40);
                break;
            case M_CPU:
                KV_S(&kv[1], "cpu.mode", i ? SLICE_LIT("system") : SLICE_LIT("user"));
                dp[i].attrs.n = 2;
                dp[i].start_time_unix_nano = in->start_ns;
                in->cpu_user += lgrand_unit(r) * 0.5;
                in->cpu_sys += lgrand_unit(r) * 0.1;
                dp[i].as_double = i ? in->cpu_sys : in->cpu_user;
                break;
            case M_MEMORY:
                dp[i].is_int = 1;
                dp[i].as_int = (int64_t)(lgrand_lognormal(r, 180e6, 0.4));
                break;
            case M_UTIL:
                dp[i].as_double = lgrand_unit(r) * 0.9;
                break;
            default: /* M_APP */
                KV_S(&kv[1], "app.service", slice_cstr(sv->name));
                dp[i].attrs.n = 2;
                dp[i].start_time_unix_nano = in->start_ns;
                in->app_count += 1 + (int64_t)lgrand_below(r, 20);
                dp[i].is_int = 1;
                dp[i].as_int = in->app_count;
                break;
            }
        }
        m->points.number.v = dp;
        m->points.number.n = np;
        switch (kind) {
        case M_ACTIVE:
            m->name = SLICE_LIT("http.server.active_requests");
            m->description = SLICE_LIT("Number of active HTTP server requests.");
            m->unit = SLICE_LIT("{request}");
            m->type = OTLP_METRIC_SUM;
            m->temporality = OTLP_TEMPORALITY_CUMULATIVE;
            m->is_monotonic = 0;
            break;
        case M_CPU:
            m->name = SLICE_LIT("process.cpu.time");
            m->description = SLICE_LIT("Total CPU seconds broken down by different CPU modes.");
            m->unit = SLICE_LIT("s");
            m->type = OTLP_METRIC_SUM;
            m->temporality = OTLP_TEMPORALITY_CUMULATIVE;
            m->is_monotonic = 1;
            break;
        case M_MEMORY:
            m->name = SLICE_LIT("process.memory.usage");
            m->description = SLICE_LIT("The amount of physical memory in use.");
            m->unit = SLICE_LIT("By");
            m->type = OTLP_METRIC_GAUGE;
            break;
        case M_UTIL:
            m->name = SLICE_LIT("process.cpu.utilization");
            m->description = SLICE_LIT("Difference in process.cpu.time since the last "
                                       "measurement, divided by the elapsed time and number "
                                       "of CPUs available to the process.");
            m->unit = SLICE_LIT("1");
            m->type = OTLP_METRIC_GAUGE;
            break;
        default:
            m->name = slice_cstr(sv->app_metric);
            m->unit = slice_cstr(sv->app_metric_unit);
            m->type = OTLP_METRIC_SUM;
            m->temporality = OTLP_TEMPORALITY_CUMULATIVE;
            m->is_monotonic = 1;
        }
        return np;
    }
    }
    return 0;
}

int lggen_metrics(lggen_t *g, arena_t *a, size_t n, uint64_t now_ns, otlp_metrics_t *out)
{
    if (n == 0 || n > LGGEN_MAX_BATCH)
        return ORASI_EINVAL;
    /* every pod export holds at least min(6, what is left) points, so this many
     * resources always suffice */
    size_t maxres = n / 6 + 2;
    otlp_resource_metrics_t *rm = arena_calloc(a, maxres * sizeof(*rm));
    if (!rm)
        return ORASI_ENOMEM;
    size_t nres = 0, made = 0;
    int oom = 0;
    while (made < n && nres < maxres && !oom) {
        struct lg_inst *in = &g->inst[lgrand_below(&g->r, LG_NINST)];
        const struct lg_lang *l = &lg_langs[lg_svcs[in->svc].lang];
        otlp_scope_metrics_t *sm = arena_calloc(a, sizeof(*sm));
        otlp_metric_t *ms = arena_calloc(a, M_KINDS * sizeof(*ms));
        if (!sm || !ms)
            return ORASI_ENOMEM;
        rm[nres].resource = in->res;
        rm[nres].scope_metrics = sm;
        rm[nres].n_scope_metrics = 1;
        rm[nres].schema_url = SLICE_LIT("https://opentelemetry.io/schemas/1.24.0");
        sm->scope.name = slice_cstr(l->scope);
        sm->scope.version = slice_cstr(l->scope_version);
        sm->metrics = ms;
        for (int k = 0; k < M_KINDS && made < n && !oom; k++) {
            size_t got = lg_metric(g, a, in, k, n - made, now_ns, &ms[sm->n_metrics], &oom);
            if (got) {
                sm->n_metrics++;
                made += got;
            }
        }
        nres++;
    }
    if (oom)
        return ORASI_ENOMEM;
    memset(out, 0, sizeof(*out));
    out->resource_metrics = rm;
    out->n_resource_metrics = nres;
    out->n_items = made;
    return made == n ? 0 : ORASI_EINTERNAL;
}

/* ------------------------------------------------------------------ logs ------------ */

static const struct lg_sev {
    int number;
    const char *text;
    double weight;
} lg_sevs[] = {
    {5, "DEBUG", 10}, {9, "INFO", 70}, {13, "WARN", 12}, {17, "ERROR", 7.5}, {21, "FATAL", 0.5}};
#define LG_NSEVS (sizeof(lg_sevs) / sizeof(lg_sevs[0]))

static slice_t lg_log_body(lggen_t *g, arena_t *a, int sev, const struct lg_inst *in, int *oom)
{
    lgrand_t *r = &g->r;
    const char *product = lg_products[lgrand_below(r, LG_NPRODUCTS)];
    unsigned user = 100000 + lgrand_below(r, 900000);
    switch (sev) {
    case 5:
        if (lgrand_chance(r, 0.5))
            return lg_fmt(a, oom, "cache hit key=product:%s ttl=%us", product,
                          30 + lgrand_below(r, 300));
        return lg_fmt(a, oom, "query took %.2fms rows=%u", lgrand_lognormal(r, 1.2, 0.8),
                      lgrand_below(r, 50));
    case 9:
        switch (lgrand_below(r, 4)) {
        case 0: {
            const struct lg_op *o = &lg_ops[lgrand_below(r, OP_COUNT)];
            return lg_fmt(a, oom, "%s %s 200 %.1fms", o->method, o->route,
                          lgrand_lognormal(r, o->self_us / 300.0, o->sigma));
        }
        case 1:
            return lg_fmt(a, oom, "order placed order_id=%08x-%04x items=%u total=%.2f USD",
                          (unsigned)lgrand_u64(r), lgrand_below(r, 65536), 1 + lgrand_below(r, 6),
                          lgrand_lognormal(r, 60, 0.8));
        case 2:
            return lg_fmt(a, oom, "cart updated user=%u product=%s quantity=%u", user, product,
                          1 + lgrand_below(r, 5));
        default:
            return lg_fmt(a, oom, "served %u ads for context=%s", 1 + lgrand_below(r, 3), product);
        }
    case 13:
        if (lgrand_chance(r, 0.5))
            return lg_fmt(a, oom, "slow request %s took %.0fms", lg_svcs[in->svc].name,
                          lgrand_pareto(r, 500, 1.5));
        return lg_fmt(a, oom, "retrying call to %s attempt=%u",
                      lg_svcs[lgrand_below(r, S_COUNT)].name, 1 + lgrand_below(r, 3));
    case 17:
        if (lgrand_chance(r, 0.5))
            return lg_fmt(a, oom, "failed to charge card: %s",
                          lg_errmsgs[lgrand_below(r, LG_NERRMSGS)]);
        return lg_fmt(a, oom, "connection to postgresql:5432 refused (attempt %u)",
                      1 + lgrand_below(r, 5));
    default:
        return lg_fmt(a, oom, "out of memory: heap limit of %u MiB reached, exiting",
                      256u << lgrand_below(r, 3));
    }
}

int lggen_logs(lggen_t *g, arena_t *a, size_t n, uint64_t now_ns, otlp_logs_t *out)
{
    if (n == 0 || n > LGGEN_MAX_BATCH)
        return ORASI_EINVAL;
    otlp_log_record_t *lr = arena_alloc(a, n * sizeof(*lr));
    uint16_t *pod = arena_alloc(a, n * sizeof(*pod));
    if (!lr || !pod)
        return ORASI_ENOMEM;
    double w[LG_NSEVS];
    for (size_t i = 0; i < LG_NSEVS; i++)
        w[i] = lg_sevs[i].weight;
    int oom = 0;
    for (size_t i = 0; i < n && !oom; i++) {
        otlp_log_record_t *l = &lr[i];
        memset(l, 0, sizeof(*l));
        pod[i] = (uint16_t)lgrand_below(&g->r, LG_NINST);
        const struct lg_inst *in = &g->inst[pod[i]];
        const struct lg_sev *sv = &lg_sevs[lgrand_weighted(&g->r, w, LG_NSEVS)];
        l->time_unix_nano = now_ns - 2000000000ull + lgrand_below(&g->r, 1000000000u);
        l->observed_time_unix_nano = l->time_unix_nano + lg_ns(lgrand_lognormal(&g->r, 800, 1));
        l->severity_number = sv->number;
        l->severity_text = slice_cstr(sv->text);
        l->body.type = OTLP_ANY_STRING;
        l->body.u.str = lg_log_body(g, a, sv->number, in, &oom);
        otlp_kv_t *kv = arena_alloc(a, 3 * sizeof(*kv));
        if (!kv)
            return ORASI_ENOMEM;
        KV_S(&kv[0], LGGEN_ID_KEY, lg_uid(g, a, &oom));
        KV_S(&kv[1], "code.namespace", slice_cstr(lg_svcs[in->svc].logger));
        KV_I(&kv[2], "thread.id", 1 + (int64_t)lgrand_below(&g->r, 32));
        l->attrs.v = kv;
        l->attrs.n = 3;
        /* most application logs are written inside a request and carry its context */
        if (lgrand_chance(&g->r, 0.7)) {
            l->trace_id.len = 16;
            lgrand_bytes(&g->r, l->trace_id.id, 16);
            l->span_id.len = 8;
            lgrand_bytes(&g->r, l->span_id.id, 8);
            l->flags = 1;
        }
    }
    if (oom)
        return ORASI_ENOMEM;
    /* one ResourceLogs per pod, pods in order of first appearance */
    size_t count[LG_NINST] = {0}, slot[LG_NINST];
    int order[LG_NINST], norder = 0;
    for (size_t i = 0; i < n; i++)
        if (count[pod[i]]++ == 0)
            order[norder++] = pod[i];
    otlp_resource_logs_t *rl = arena_calloc(a, (size_t)norder * sizeof(*rl));
    otlp_scope_logs_t *sl = arena_calloc(a, (size_t)norder * sizeof(*sl));
    otlp_log_record_t *all = arena_alloc(a, n * sizeof(*all));
    if (!rl || !sl || !all)
        return ORASI_ENOMEM;
    size_t at = 0;
    for (int k = 0; k < norder; k++) {
        int p = order[k];
        slot[p] = at;
        rl[k].resource = g->inst[p].res;
        rl[k].scope_logs = &sl[k];
        rl[k].n_scope_logs = 1;
        rl[k].schema_url = SLICE_LIT("https://opentelemetry.io/schemas/1.24.0");
        sl[k].scope.name = slice_cstr(lg_svcs[g->inst[p].svc].logger);
        sl[k].log_records = all + at;
        sl[k].n_log_records = count[p];
        at += count[p];
    }
    for (size_t i = 0; i < n; i++)
        all[slot[pod[i]]++] = lr[i];
    memset(out, 0, sizeof(*out));
    out->resource_logs = rl;
    out->n_resource_logs = (size_t)norder;
    out->n_items = n;
    return 0;
}

/* ------------------------------------------------------------------ templates ------- */

int lggen_encode(enum lggen_encoding enc, enum otlp_signal sig, const void *model, buf_t *out)
{
    switch (sig) {
    case OTLP_TRACES:
        return enc == LGGEN_JSON ? otlp_json_encode_traces(model, out)
                                 : otlp_pb_encode_traces(model, out);
    case OTLP_METRICS:
        return enc == LGGEN_JSON ? otlp_json_encode_metrics(model, out)
                                 : otlp_pb_encode_metrics(model, out);
    case OTLP_LOGS:
        return enc == LGGEN_JSON ? otlp_json_encode_logs(model, out)
                                 : otlp_pb_encode_logs(model, out);
    }
    return ORASI_EINVAL;
}

/* How a group's value is written in the body: raw bytes in protobuf, lowercase hex in
 * JSON; the loadgen.id is a hex string attribute in both. */
static size_t lg_rep_len(enum lggen_encoding enc, int kind)
{
    if (kind == G_UID)
        return 16;
    size_t raw = kind == G_TRACE ? 16 : 8;
    return enc == LGGEN_JSON ? raw * 2 : raw;
}

static void lg_rep(enum lggen_encoding enc, int kind, const uint8_t *raw, uint8_t *out)
{
    if (kind == G_UID)
        lg_hex((char *)out, raw, 8);
    else if (enc == LGGEN_JSON)
        lg_hex((char *)out, raw, kind == G_TRACE ? 16 : 8);
    else
        memcpy(out, raw, kind == G_TRACE ? 16 : 8);
}

/* Collects a template's groups and items while walking its model. */
struct lg_collect {
    struct lg_group *groups;
    size_t ngroups, cap;
    struct lg_item_ids *items;
    size_t nitems;
    size_t expect_sites; /* occurrences the encoded body must contain */
    uint32_t *tab;       /* dedup table: group numbers, UINT32_MAX = empty */
    size_t tmask;
    struct lg_tsite *ts; /* traces: timestamps in the order the encoders write them */
    size_t nts, tscap;
    int oom;
};

/* Note timestamp v of trace group tg (lg_find_tsites finds its offset later). */
static void lg_ts_add(struct lg_collect *c, uint64_t v, uint32_t tg)
{
    if (c->oom || v == 0) /* (the protobuf encoder omits a zero field) */
        return;
    if (c->nts == c->tscap) {
        size_t ncap = c->tscap ? c->tscap * 2 : 256;
        struct lg_tsite *n = orasi_realloc(c->ts, ncap * sizeof(*n));
        if (!n) {
            c->oom = 1;
            return;
        }
        c->ts = n;
        c->tscap = ncap;
    }
    c->ts[c->nts].off = 0;
    c->ts[c->nts].group = tg;
    c->ts[c->nts++].v = v;
    if (!c->groups[tg].t0 || v < c->groups[tg].t0)
        c->groups[tg].t0 = v;
}

static int lg_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static uint64_t lg_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t lg_hash64(uint64_t k)
{
    return (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> 32);
}

/* Add a distinct value (or find it: spans of one trace share the trace id, spread over
 * several resources). Deduplication must be exact: two groups with one value would
 * leave one of them without sites, and its ack-log ids would not be in the body.
 * Returns the group number or -1 when full. */
static long lg_group_add(struct lg_collect *c, int kind, const uint8_t *raw)
{
    size_t len = kind == G_TRACE ? 16 : 8;
    uint32_t h = lg_hash64(lg_load64(raw) ^ (uint64_t)kind) & (uint32_t)c->tmask;
    for (; c->tab[h] != UINT32_MAX; h = (h + 1) & (uint32_t)c->tmask) {
        const struct lg_group *g = &c->groups[c->tab[h]];
        if (g->kind == kind && memcmp(g->raw, raw, len) == 0)
            return (long)c->tab[h];
    }
    if (c->ngroups >= c->cap)
        return -1;
    struct lg_group *g = &c->groups[c->ngroups];
    memset(g, 0, sizeof(*g));
    g->kind = (uint8_t)kind;
    memcpy(g->raw, raw, len);
    c->tab[h] = (uint32_t)c->ngroups;
    return (long)c->ngroups++;
}

static int lg_uid_raw(slice_t s, uint8_t raw[8])
{
    if (s.len != 16)
        return -1;
    for (int i = 0; i < 8; i++) {
        int hi = lg_hexval(s.p[2 * i]), lo = lg_hexval(s.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        raw[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int lg_collect_attr_uid(struct lg_collect *c, const otlp_attrs_t *at)
{
    uint8_t raw[8];
    if (at->n == 0 || !slice_eq_cstr(at->v[0].key, LGGEN_ID_KEY) ||
        lg_uid_raw(at->v[0].value.u.str, raw) < 0)
        return ORASI_EINTERNAL;
    long u = lg_group_add(c, G_UID, raw);
    if (u < 0)
        return ORASI_EINTERNAL;
    c->items[c->nitems].a = (uint32_t)u;
    c->items[c->nitems++].b = 0;
    c->expect_sites++;
    return 0;
}

static int lg_collect(enum otlp_signal sig, const void *model, struct lg_collect *c)
{
    int rc = 0;
    if (sig == OTLP_TRACES) {
        const otlp_traces_t *t = model;
        for (size_t i = 0; i < t->n_resource_spans; i++)
            for (size_t j = 0; j < t->resource_spans[i].n_scope_spans; j++) {
                const otlp_scope_spans_t *ss = &t->resource_spans[i].scope_spans[j];
                for (size_t k = 0; k < ss->n_spans; k++) {
                    const otlp_span_t *s = &ss->spans[k];
                    long tg = lg_group_add(c, G_TRACE, s->trace_id.id);
                    long sg = lg_group_add(c, G_SPAN, s->span_id.id);
                    if (tg < 0 || sg < 0)
                        return ORASI_EINTERNAL;
                    c->items[c->nitems].a = (uint32_t)tg;
                    c->items[c->nitems++].b = (uint32_t)sg;
                    c->expect_sites += 2 + (s->parent_span_id.len ? 1 : 0);
                    /* both encoders write start, end, then each event's time */
                    lg_ts_add(c, s->start_time_unix_nano, (uint32_t)tg);
                    lg_ts_add(c, s->end_time_unix_nano, (uint32_t)tg);
                    for (size_t e = 0; e < s->n_events; e++)
                        lg_ts_add(c, s->events[e].time_unix_nano, (uint32_t)tg);
                }
            }
        if (c->oom)
            return ORASI_ENOMEM;
    } else if (sig == OTLP_LOGS) {
        const otlp_logs_t *l = model;
        for (size_t i = 0; i < l->n_resource_logs; i++)
            for (size_t j = 0; j < l->resource_logs[i].n_scope_logs; j++) {
                const otlp_scope_logs_t *sl = &l->resource_logs[i].scope_logs[j];
                for (size_t k = 0; k < sl->n_log_records; k++) {
                    const otlp_log_record_t *r = &sl->log_records[k];
                    if ((rc = lg_collect_attr_uid(c, &r->attrs)) < 0)
                        return rc;
                    if (r->trace_id.len) {
                        if (lg_group_add(c, G_TRACE, r->trace_id.id) < 0 ||
                            lg_group_add(c, G_SPAN, r->span_id.id) < 0)
                            return ORASI_EINTERNAL;
                        c->expect_sites += 2;
                    }
                }
            }
    } else {
        const otlp_metrics_t *m = model;
        for (size_t i = 0; i < m->n_resource_metrics; i++)
            for (size_t j = 0; j < m->resource_metrics[i].n_scope_metrics; j++) {
                const otlp_scope_metrics_t *sm = &m->resource_metrics[i].scope_metrics[j];
                for (size_t k = 0; k < sm->n_metrics; k++) {
                    const otlp_metric_t *mt = &sm->metrics[k];
                    if (mt->type == OTLP_METRIC_HISTOGRAM) {
                        for (size_t p = 0; p < mt->points.histogram.n; p++)
                            if ((rc = lg_collect_attr_uid(c, &mt->points.histogram.v[p].attrs)) < 0)
                                return rc;
                    } else if (mt->type == OTLP_METRIC_GAUGE || mt->type == OTLP_METRIC_SUM) {
                        for (size_t p = 0; p < mt->points.number.n; p++)
                            if ((rc = lg_collect_attr_uid(c, &mt->points.number.v[p].attrs)) < 0)
                                return rc;
                    } else {
                        return ORASI_EINTERNAL; /* the generator makes no other kind */
                    }
                }
            }
    }
    return 0;
}

/*
 * Find every occurrence of every group's representation in the body: one pass over the
 * bytes, looking each 8-byte window up in an open-addressing table keyed by the first 8
 * bytes of each representation (random values, so keys collide only by accident, and a
 * hit is confirmed by comparing the whole representation). Independent of how the
 * encoder orders fields. Returns the number of sites or a negative code.
 */
static long lg_find_sites(enum lggen_encoding enc, const struct lg_collect *c, slice_t body,
                          struct lg_site *sites, size_t cap)
{
    size_t tsize = 16;
    while (tsize < c->ngroups * 4)
        tsize <<= 1;
    uint64_t *keys = orasi_malloc(tsize * sizeof(*keys));
    uint32_t *grp = orasi_malloc(tsize * sizeof(*grp));
    uint8_t *reps = orasi_malloc(c->ngroups * 32 + 1);
    long rc = 0;
    if (!keys || !grp || !reps) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < tsize; i++)
        grp[i] = UINT32_MAX;
    for (size_t gi = 0; gi < c->ngroups; gi++) {
        uint8_t *rep = reps + gi * 32;
        lg_rep(enc, c->groups[gi].kind, c->groups[gi].raw, rep);
        uint64_t k = lg_load64(rep);
        uint32_t h = lg_hash64(k) & (uint32_t)(tsize - 1);
        while (grp[h] != UINT32_MAX)
            h = (h + 1) & (uint32_t)(tsize - 1);
        keys[h] = k;
        grp[h] = (uint32_t)gi;
    }
    size_t n = 0;
    const uint8_t *p = body.p;
    /* Every id sits right after a fixed byte: in protobuf the length prefix of a 16- or
     * 8-byte field (0x10 or 0x08), in JSON the opening quote of a hex string. Looking up
     * only those offsets skips the hash for ~95 % of the bytes. */
    uint8_t lead1 = enc == LGGEN_JSON ? '"' : 0x10, lead2 = enc == LGGEN_JSON ? '"' : 0x08;
    for (size_t off = 1; off + 8 <= body.len; off++) {
        if (p[off - 1] != lead1 && p[off - 1] != lead2)
            continue;
        uint64_t k = lg_load64(p + off);
        uint32_t h = lg_hash64(k) & (uint32_t)(tsize - 1);
        for (; grp[h] != UINT32_MAX; h = (h + 1) & (uint32_t)(tsize - 1)) {
            if (keys[h] != k)
                continue;
            uint32_t gi = grp[h];
            size_t len = lg_rep_len(enc, c->groups[gi].kind);
            if (off + len > body.len || memcmp(p + off, reps + (size_t)gi * 32, len) != 0)
                continue;
            if (n >= cap) {
                rc = ORASI_EINTERNAL;
                goto out;
            }
            sites[n].off = (uint32_t)off;
            sites[n].group = gi;
            n++;
            off += len - 1;
            break;
        }
    }
    rc = (long)n;
out:
    orasi_free(keys);
    orasi_free(grp);
    orasi_free(reps);
    return rc;
}

/* How timestamp v is written: 8 bytes little endian (protobuf fixed64), or 19 decimal
 * digits (JSON's quoted uint64; every time between 2001 and 2286). Returns the length,
 * 0 when v has no such form. */
static size_t lg_ts_rep(enum lggen_encoding enc, uint64_t v, uint8_t out[20])
{
    if (enc != LGGEN_JSON) {
        for (int i = 0; i < 8; i++)
            out[i] = (uint8_t)(v >> (8 * i));
        return 8;
    }
    if (v < 1000000000000000000ull || v > 9999999999999999999ull)
        return 0;
    for (int i = 18; i >= 0; i--, v /= 10)
        out[i] = (uint8_t)('0' + v % 10);
    return 19;
}

/*
 * Find each collected timestamp in the body, in order: the encoders write a trace
 * request's timestamps in model order, so each is searched from just past the previous
 * one, and must be preceded by a fixed64 tag of the span/event time fields (protobuf) or
 * a quote (JSON). Returns 0 or ORASI_EINTERNAL when one is missing.
 */
static int lg_find_tsites(enum lggen_encoding enc, struct lg_tsite *ts, size_t nts, slice_t body)
{
    size_t from = 1;
    for (size_t i = 0; i < nts; i++) {
        uint8_t rep[20];
        size_t len = lg_ts_rep(enc, ts[i].v, rep);
        if (len == 0)
            return ORASI_EINTERNAL;
        size_t off = from;
        for (;; off++) {
            if (off + len > body.len)
                return ORASI_EINTERNAL;
            uint8_t lead = body.p[off - 1];
            /* fixed64 tags: span start (7) 0x39, span end (8) 0x41, event time (1) 0x09 */
            int lead_ok =
                enc == LGGEN_JSON ? lead == '"' : (lead == 0x39 || lead == 0x41 || lead == 0x09);
            if (lead_ok && body.p[off] == rep[0] && memcmp(body.p + off, rep, len) == 0)
                break;
        }
        ts[i].off = (uint32_t)off;
        from = off + len + 1;
    }
    return 0;
}

static int lg_tmpl_build(lggen_t *g, struct lg_tmpl *t, enum otlp_signal sig, size_t n,
                         uint64_t now_ns)
{
    int rc;
    union {
        otlp_traces_t t;
        otlp_metrics_t m;
        otlp_logs_t l;
    } model;
    struct lg_collect c = {0};
    t->valid = 0;
    arena_reset(g->scratch);
    if (sig == OTLP_TRACES)
        rc = lggen_traces(g, g->scratch, n, now_ns, &model.t);
    else if (sig == OTLP_METRICS)
        rc = lggen_metrics(g, g->scratch, n, now_ns, &model.m);
    else
        rc = lggen_logs(g, g->scratch, n, now_ns, &model.l);
    if (rc < 0)
        goto out;
    buf_clear(&t->body);
    if ((rc = lggen_encode(g->enc, sig, &model, &t->body)) < 0)
        goto out;
    /* at most 3 groups per item (logs: uid, trace, span; spans: trace, span) */
    c.cap = 3 * n;
    c.groups = orasi_malloc(c.cap * sizeof(*c.groups));
    c.items = orasi_malloc(n * sizeof(*c.items));
    size_t tsize = 16;
    while (tsize < c.cap * 2)
        tsize <<= 1;
    c.tab = orasi_malloc(tsize * sizeof(*c.tab));
    c.tmask = tsize - 1;
    if (!c.groups || !c.items || !c.tab) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < tsize; i++)
        c.tab[i] = UINT32_MAX;
    if ((rc = lg_collect(sig, &model, &c)) < 0)
        goto out;
    if (c.nitems != n) {
        rc = ORASI_EINTERNAL;
        goto out;
    }
    struct lg_site *sites = orasi_realloc(t->sites, (c.expect_sites + 1) * sizeof(*sites));
    if (!sites) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    t->sites = sites;
    long ns = lg_find_sites(g->enc, &c, buf_slice(&t->body), t->sites, c.expect_sites);
    if (ns < 0) {
        rc = (int)ns;
        goto out;
    }
    /* Every id the model holds must have been found exactly where the encoder put it;
     * anything else means the re-stamping would leave stale ids behind. */
    if ((size_t)ns != c.expect_sites) {
        rc = ORASI_EINTERNAL;
        goto out;
    }
    if ((rc = lg_find_tsites(g->enc, c.ts, c.nts, buf_slice(&t->body))) < 0)
        goto out;
    orasi_free(t->groups);
    orasi_free(t->items);
    t->groups = c.groups;
    t->ngroups = c.ngroups;
    t->items = c.items;
    t->nitems = c.nitems;
    orasi_free(t->tsites);
    t->tsites = c.ts;
    t->ntsites = c.nts;
    c.groups = NULL;
    c.items = NULL;
    c.ts = NULL;
    t->nsites = (size_t)ns;
    t->n = n;
    t->uses = 0;
    t->built_ns = now_ns;
    t->valid = 1;
    g->built++;
    rc = 0;
out:
    orasi_free(c.groups);
    orasi_free(c.items);
    orasi_free(c.tab);
    orasi_free(c.ts);
    arena_reset(g->scratch);
    return rc;
}

/* Move every trace of template t in the copy at `out` by its own shift (±250 ms) and
 * scale (lognormal, median 1, clamped to [0.5, 2]): fresh start times and durations for
 * every use, the structure of each trace kept (see struct lg_tsite). */
static int lg_stamp_times(lggen_t *g, const struct lg_tmpl *t, uint8_t *out)
{
    if (g->moves_cap < t->ngroups) {
        struct lg_move *m = orasi_realloc(g->moves, t->ngroups * sizeof(*m));
        if (!m)
            return ORASI_ENOMEM;
        g->moves = m;
        g->moves_cap = t->ngroups;
    }
    for (size_t i = 0; i < t->ngroups; i++) {
        if (t->groups[i].kind != G_TRACE)
            continue;
        double f = lgrand_lognormal(&g->rid, 1.0, 0.2);
        g->moves[i].shift = (int64_t)lgrand_below(&g->rid, 500000000u) - 250000000;
        g->moves[i].scale = f < 0.5 ? 0.5 : f > 2.0 ? 2.0 : f;
    }
    for (size_t i = 0; i < t->ntsites; i++) {
        const struct lg_tsite *s = &t->tsites[i];
        const struct lg_move *m = &g->moves[s->group];
        uint64_t t0 = t->groups[s->group].t0;
        uint64_t nv =
            (uint64_t)((int64_t)t0 + m->shift) + (uint64_t)((double)(s->v - t0) * m->scale);
        uint8_t rep[20];
        size_t len = lg_ts_rep(g->enc, nv, rep);
        if (len) /* (JSON: a time outside 2001..2286 keeps the template's value) */
            memcpy(out + s->off, rep, len);
    }
    return 0;
}

int lggen_next(lggen_t *g, enum otlp_signal sig, size_t n, uint64_t now_ns, buf_t *body,
               buf_t *acks)
{
    if ((unsigned)sig > OTLP_LOGS || n == 0 || n > LGGEN_MAX_BATCH)
        return ORASI_EINVAL;
    struct lg_tmpl *t = &g->pool[sig][g->rr[sig]++ % LGGEN_POOL];
    int rc;
    if (!t->valid || t->n != n || t->uses >= LGGEN_MAX_USES ||
        now_ns - t->built_ns > LGGEN_MAX_AGE_NS || now_ns < t->built_ns) {
        if ((rc = lg_tmpl_build(g, t, sig, n, now_ns)) < 0)
            return rc;
    }
    t->uses++;
    if (g->newvals_cap < t->ngroups * 16) {
        uint8_t *nv = orasi_realloc(g->newvals, t->ngroups * 16);
        if (!nv)
            return ORASI_ENOMEM;
        g->newvals = nv;
        g->newvals_cap = t->ngroups * 16;
    }
    for (size_t i = 0; i < t->ngroups; i++)
        lgrand_bytes(&g->rid, g->newvals + i * 16, t->groups[i].kind == G_TRACE ? 16 : 8);
    size_t base = body->len;
    if ((rc = buf_append(body, t->body.data, t->body.len)) < 0)
        return rc;
    for (size_t i = 0; i < t->nsites; i++) {
        const struct lg_site *s = &t->sites[i];
        lg_rep(g->enc, t->groups[s->group].kind, g->newvals + (size_t)s->group * 16,
               body->data + base + s->off);
    }
    if (t->ntsites && (rc = lg_stamp_times(g, t, body->data + base)) < 0)
        return rc;
    if (acks) {
        size_t line = sig == OTLP_TRACES ? 50 : 17;
        if ((rc = buf_reserve(acks, t->nitems * line)) < 0)
            return rc;
        char *o = (char *)acks->data + acks->len;
        for (size_t i = 0; i < t->nitems; i++) {
            const struct lg_item_ids *it = &t->items[i];
            if (sig == OTLP_TRACES) {
                lg_hex(o, g->newvals + (size_t)it->a * 16, 16);
                o[32] = ' ';
                lg_hex(o + 33, g->newvals + (size_t)it->b * 16, 8);
                o[49] = '\n';
            } else {
                lg_hex(o, g->newvals + (size_t)it->a * 16, 8);
                o[16] = '\n';
            }
            o += line;
        }
        acks->len += t->nitems * line;
    }
    return (int)n;
}
