/*
 * loadgen.c — `orasi loadgen`: send realistic OTLP telemetry to a receiver at a fixed
 * rate or as fast as it takes it, and report exactly what was acknowledged.
 *
 * This file is only the command line: options, worker threads (src/loadgen/lgclient.c
 * does the sending), live progress on a terminal, and the summary (text or --json).
 * See docs/internals/loadgen.md.
 */
#include "cli/cli.h"

#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "loadgen/lgclient.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"

#define LG_MAX_THREADS 256

static const char lg_usage[] =
    "usage: orasi loadgen [--url URL] [--protocol http/protobuf|http/json|grpc]\n"
    "                     [--rate N|max] [--duration 60s] [--connections 8]\n"
    "                     [--signal traces|metrics|logs|all] [--batch 100] [--threads 1]\n"
    "                     [--ack-log FILE] [--tenant T] [--seed N] [--timeout 10s]\n"
    "                     [--json] [--quiet]\n"
    "\n"
    "Sends the telemetry of a simulated 9-service shop (traces with realistic call trees,\n"
    "~5 % errors, heavy-tailed latencies; metrics; logs) to an OTLP receiver and reports\n"
    "what was acknowledged. One request carries --batch items (spans, metric data points\n"
    "or log records); every connection has at most one request in flight.\n"
    "  --url URL          receiver (default http://127.0.0.1:4318, :4317 for grpc);\n"
    "                     a path is a prefix for /v1/traces etc. (HTTP only)\n"
    "  --protocol P       http/protobuf (default), http/json or grpc (HTTP/2 cleartext)\n"
    "  --rate N|max       items per second over all threads (default 1000); max = as\n"
    "                     fast as the receiver acknowledges\n"
    "  --duration D       how long to send (default 60s; 500ms, 2m ...)\n"
    "  --connections N    connections over all threads (default 8)\n"
    "  --signal S         traces (default), metrics, logs, or all (round robin)\n"
    "  --batch N          items per request (default 100)\n"
    "  --threads N        worker threads, each with its own connections (default 1)\n"
    "  --ack-log FILE     append the ids of every acknowledged item, one per line:\n"
    "                     spans '<trace id> <span id>', logs/metrics '<loadgen.id>'\n"
    "  --tenant T         send X-Scope-OrgID: T (gRPC: x-scope-orgid metadata)\n"
    "  --seed N           seed of the generator (default: from the clock; printed)\n"
    "  --timeout D        give up on a request after D (default 10s)\n"
    "  --json             print the summary as one JSON object\n"
    "  --quiet            no live progress on stderr\n"
    "Exit status: 0 when at least one request was acknowledged, 1 otherwise, 2 usage.\n";

static const char *const lg_grpc_names[LGCLIENT_GRPC_CODES] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

static const char *const lg_proto_names[] = {"http/protobuf", "http/json", "grpc"};

static int lg_stop_flag;

static void lg_on_signal(int sig)
{
    (void)sig;
    __atomic_store_n(&lg_stop_flag, 1, __ATOMIC_RELAXED);
}

struct lg_opts {
    const char *url, *ack_log, *tenant;
    enum lgclient_proto proto;
    double rate; /* 0 = max */
    uint64_t duration_ns, timeout_ns;
    long connections, batch, threads;
    unsigned signals;
    int sig_all;
    uint64_t seed;
    int json, quiet;
};

static int lg_parse_long(const char *s, long lo, long hi, long *out)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || e == s || *e || v < lo || v > hi)
        return ORASI_EINVAL;
    *out = v;
    return 0;
}

/* Parse "http://host[:port][/path]" into connect address, authority and path prefix. */
static int lg_parse_url(const char *url, enum lgclient_proto proto, lgclient_config_t *cfg,
                        char *err, size_t errlen)
{
    const char *p = url;
    if (strncmp(p, "https://", 8) == 0) {
        snprintf(err, errlen, "https is not supported by loadgen (use http://)");
        return ORASI_EUNSUPPORTED;
    }
    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    char host[256], port[16];
    const char *hend;
    if (*p == '[') {
        hend = strchr(p, ']');
        if (!hend || (size_t)(hend - p - 1) >= sizeof(host))
            goto bad;
        memcpy(host, p + 1, (size_t)(hend - p - 1));
        host[hend - p - 1] = 0;
        hend++;
    } else {
        hend = p + strcspn(p, ":/");
        if (hend == p || (size_t)(hend - p) >= sizeof(host))
            goto bad;
        memcpy(host, p, (size_t)(hend - p));
        host[hend - p] = 0;
    }
    const char *path = hend;
    if (*hend == ':') {
        size_t pl = strcspn(hend + 1, "/");
        if (pl == 0 || pl >= sizeof(port))
            goto bad;
        memcpy(port, hend + 1, pl);
        port[pl] = 0;
        path = hend + 1 + pl;
    } else {
        snprintf(port, sizeof(port), "%s", proto == LGCLIENT_GRPC ? "4317" : "4318");
    }
    /* strip a trailing '/' so "http://h:1/" and "http://h:1" mean the same */
    size_t plen = strlen(path);
    while (plen > 0 && path[plen - 1] == '/')
        plen--;
    if (plen >= sizeof(cfg->base_path))
        goto bad;
    memcpy(cfg->base_path, path, plen);
    cfg->base_path[plen] = 0;
    snprintf(cfg->authority, sizeof(cfg->authority), "%.255s:%s", host, port);
    if (strchr(host, ':'))
        snprintf(cfg->authority, sizeof(cfg->authority), "[%.255s]:%s", host, port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0 || !res) {
        snprintf(err, errlen, "cannot resolve %s:%s: %s", host, port, gai_strerror(gai));
        return ORASI_EINVAL;
    }
    memcpy(&cfg->addr, res->ai_addr, res->ai_addrlen);
    cfg->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
bad:
    snprintf(err, errlen, "bad --url '%s' (want http://host:port[/path])", url);
    return ORASI_EINVAL;
}

static int lg_parse_args(int argc, char **argv, struct lg_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->rate = 1000;
    o->duration_ns = 60ull * 1000000000ull;
    o->timeout_ns = 10ull * 1000000000ull;
    o->connections = 8;
    o->batch = 100;
    o->threads = 1;
    o->signals = LGCLIENT_SIG_TRACES;
    o->seed = clock_wall_ns() ^ ((uint64_t)getpid() << 32);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(lg_usage, stdout);
            return 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
            takes = 0;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            o->quiet = 1;
            takes = 0;
        } else if (!v) {
            fprintf(stderr, "orasi loadgen: %s needs a value (or is unknown)\n", a);
            return -1;
        } else if (strcmp(a, "--url") == 0) {
            o->url = v;
        } else if (strcmp(a, "--protocol") == 0) {
            if (strcmp(v, "http/protobuf") == 0 || strcmp(v, "http") == 0)
                o->proto = LGCLIENT_HTTP_PROTOBUF;
            else if (strcmp(v, "http/json") == 0)
                o->proto = LGCLIENT_HTTP_JSON;
            else if (strcmp(v, "grpc") == 0)
                o->proto = LGCLIENT_GRPC;
            else
                goto bad;
        } else if (strcmp(a, "--rate") == 0) {
            char *e;
            if (strcmp(v, "max") == 0) {
                o->rate = 0;
            } else {
                o->rate = strtod(v, &e);
                if (e == v || *e || !(o->rate > 0) || o->rate > 1e12)
                    goto bad;
            }
        } else if (strcmp(a, "--duration") == 0) {
            if (config_parse_duration(v, &o->duration_ns) < 0 || o->duration_ns == 0)
                goto bad;
        } else if (strcmp(a, "--timeout") == 0) {
            if (config_parse_duration(v, &o->timeout_ns) < 0 || o->timeout_ns < 1000000)
                goto bad;
        } else if (strcmp(a, "--connections") == 0) {
            if (lg_parse_long(v, 1, LGCLIENT_MAX_CONNS, &o->connections) < 0)
                goto bad;
        } else if (strcmp(a, "--batch") == 0) {
            if (lg_parse_long(v, 1, LGGEN_MAX_BATCH, &o->batch) < 0)
                goto bad;
        } else if (strcmp(a, "--threads") == 0) {
            if (lg_parse_long(v, 1, LG_MAX_THREADS, &o->threads) < 0)
                goto bad;
        } else if (strcmp(a, "--signal") == 0) {
            if (strcmp(v, "traces") == 0)
                o->signals = LGCLIENT_SIG_TRACES;
            else if (strcmp(v, "metrics") == 0)
                o->signals = LGCLIENT_SIG_METRICS;
            else if (strcmp(v, "logs") == 0)
                o->signals = LGCLIENT_SIG_LOGS;
            else if (strcmp(v, "all") == 0)
                o->signals = 7;
            else
                goto bad;
        } else if (strcmp(a, "--ack-log") == 0) {
            o->ack_log = v;
        } else if (strcmp(a, "--tenant") == 0) {
            if (!*v || strlen(v) > 200 || strpbrk(v, "\r\n"))
                goto bad;
            o->tenant = v;
        } else if (strcmp(a, "--seed") == 0) {
            char *e;
            errno = 0;
            o->seed = strtoull(v, &e, 0);
            if (errno || e == v || *e)
                goto bad;
        } else {
            fprintf(stderr, "orasi loadgen: unknown option %s (see --help)\n", a);
            return -1;
        }
        i += takes;
        continue;
    bad:
        fprintf(stderr, "orasi loadgen: bad value '%s' for %s (see --help)\n", v, a);
        return -1;
    }
    if (o->threads > o->connections)
        o->threads = o->connections;
    if (!o->url)
        o->url = o->proto == LGCLIENT_GRPC ? "http://127.0.0.1:4317" : "http://127.0.0.1:4318";
    return 0;
}

struct lg_thread {
    pthread_t tid;
    lgclient_t *w;
    int rc;
    int started;
};

static void *lg_thread_main(void *arg)
{
    struct lg_thread *t = arg;
    t->rc = lgclient_run(t->w);
    return NULL;
}

static void lg_collect(struct lg_thread *th, long n, lgclient_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    lghist_init(&out->lat_us);
    for (long i = 0; i < n; i++)
        if (th[i].w)
            lgclient_stats_add(out, lgclient_stats(th[i].w));
}

static double lg_ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static void lg_print_text(const struct lg_opts *o, const lgclient_stats_t *s, double secs)
{
    const char *sig = o->signals == 7                      ? "all"
                      : o->signals == LGCLIENT_SIG_METRICS ? "metrics"
                      : o->signals == LGCLIENT_SIG_LOGS    ? "logs"
                                                           : "traces";
    printf("orasi loadgen: %s %s, signal %s, batch %ld, %ld connection(s), %ld thread(s), "
           "seed %llu\n",
           lg_proto_names[o->proto], o->url, sig, o->batch, o->connections, o->threads,
           (unsigned long long)o->seed);
    printf("duration     %.2f s\n", secs);
    printf("requests     sent %llu  acknowledged %llu  failed %llu  partially rejected %llu\n",
           (unsigned long long)s->req_sent, (unsigned long long)s->req_acked,
           (unsigned long long)s->req_failed, (unsigned long long)s->req_partial);
    printf("items        sent %llu  acknowledged %llu  rejected %llu  (traces %llu, metrics "
           "%llu, logs %llu)\n",
           (unsigned long long)s->items_sent, (unsigned long long)s->items_acked,
           (unsigned long long)s->items_rejected, (unsigned long long)s->items_acked_sig[0],
           (unsigned long long)s->items_acked_sig[1], (unsigned long long)s->items_acked_sig[2]);
    printf("refusals    ");
    int any = 0;
    for (int i = 0; i < LGCLIENT_MAX_STATUS; i++)
        if (s->http_status[i] && i != 200) {
            printf(" http %d: %llu", i, (unsigned long long)s->http_status[i]);
            any = 1;
        }
    for (int i = 1; i < LGCLIENT_GRPC_CODES; i++)
        if (s->grpc_code[i]) {
            printf(" grpc %d %s: %llu", i, lg_grpc_names[i], (unsigned long long)s->grpc_code[i]);
            any = 1;
        }
    printf("%s\n", any ? "" : " none");
    printf("errors       connection %llu  timeout %llu  bad response %llu  generator %llu\n",
           (unsigned long long)s->conn_errors, (unsigned long long)s->timeouts,
           (unsigned long long)s->bad_responses, (unsigned long long)s->gen_errors);
    printf("latency      p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  (%llu requests)\n",
           lg_ms(lghist_quantile(&s->lat_us, 0.5)), lg_ms(lghist_quantile(&s->lat_us, 0.9)),
           lg_ms(lghist_quantile(&s->lat_us, 0.99)), lg_ms(s->lat_us.n ? s->lat_us.max : 0),
           (unsigned long long)s->lat_us.n);
    printf("throughput   %.0f items/s acknowledged, %.0f requests/s, %.1f MB/s sent\n",
           secs > 0 ? (double)s->items_acked / secs : 0, secs > 0 ? (double)s->req_acked / secs : 0,
           secs > 0 ? (double)s->bytes_sent / secs / 1e6 : 0);
}

static void lg_print_json(const struct lg_opts *o, const lgclient_stats_t *s, double secs)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    buf_printf(&b, "{\"protocol\":\"%s\",\"url\":", lg_proto_names[o->proto]);
    buf_append_json_str(&b, o->url, strlen(o->url));
    buf_printf(&b,
               ",\"signal\":\"%s\",\"batch\":%ld,\"connections\":%ld,\"threads\":%ld,"
               "\"seed\":%llu,\"rate\":%.17g,\"duration_s\":%.6f,"
               "\"requests\":{\"sent\":%llu,\"acked\":%llu,\"failed\":%llu,\"partial\":%llu},"
               "\"items\":{\"sent\":%llu,\"acked\":%llu,\"rejected\":%llu,"
               "\"acked_traces\":%llu,\"acked_metrics\":%llu,\"acked_logs\":%llu},"
               "\"http_status\":{",
               o->signals == 7                      ? "all"
               : o->signals == LGCLIENT_SIG_METRICS ? "metrics"
               : o->signals == LGCLIENT_SIG_LOGS    ? "logs"
                                                    : "traces",
               o->batch, o->connections, o->threads, (unsigned long long)o->seed, o->rate, secs,
               (unsigned long long)s->req_sent, (unsigned long long)s->req_acked,
               (unsigned long long)s->req_failed, (unsigned long long)s->req_partial,
               (unsigned long long)s->items_sent, (unsigned long long)s->items_acked,
               (unsigned long long)s->items_rejected, (unsigned long long)s->items_acked_sig[0],
               (unsigned long long)s->items_acked_sig[1],
               (unsigned long long)s->items_acked_sig[2]);
    const char *sep = "";
    for (int i = 0; i < LGCLIENT_MAX_STATUS; i++)
        if (s->http_status[i]) {
            buf_printf(&b, "%s\"%d\":%llu", sep, i, (unsigned long long)s->http_status[i]);
            sep = ",";
        }
    buf_append_str(&b, "},\"grpc_status\":{");
    sep = "";
    for (int i = 0; i < LGCLIENT_GRPC_CODES; i++)
        if (s->grpc_code[i]) {
            buf_printf(&b, "%s\"%d\":%llu", sep, i, (unsigned long long)s->grpc_code[i]);
            sep = ",";
        }
    buf_printf(&b,
               "},\"errors\":{\"connection\":%llu,\"timeout\":%llu,\"bad_response\":%llu,"
               "\"generator\":%llu},\"latency_us\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,"
               "\"max\":%llu,\"count\":%llu},\"items_per_s\":%.1f,\"bytes_sent\":%llu}\n",
               (unsigned long long)s->conn_errors, (unsigned long long)s->timeouts,
               (unsigned long long)s->bad_responses, (unsigned long long)s->gen_errors,
               (unsigned long long)lghist_quantile(&s->lat_us, 0.5),
               (unsigned long long)lghist_quantile(&s->lat_us, 0.9),
               (unsigned long long)lghist_quantile(&s->lat_us, 0.99),
               (unsigned long long)(s->lat_us.n ? s->lat_us.max : 0),
               (unsigned long long)s->lat_us.n, secs > 0 ? (double)s->items_acked / secs : 0,
               (unsigned long long)s->bytes_sent);
    fwrite(b.data, 1, b.len, stdout);
    buf_free(&b);
}

int cmd_loadgen(int argc, char **argv)
{
    struct lg_opts o;
    int prc = lg_parse_args(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    lgclient_config_t base;
    memset(&base, 0, sizeof(base));
    char err[512];
    if (lg_parse_url(o.url, o.proto, &base, err, sizeof(err)) < 0) {
        fprintf(stderr, "orasi loadgen: %s\n", err);
        return 2;
    }
    lgclient_acklog_t acklog = {.fd = -1};
    struct lg_thread *th = orasi_calloc((size_t)o.threads, sizeof(*th));
    lgclient_stats_t *sum = orasi_calloc(1, sizeof(*sum));
    lgclient_stats_t *prev = orasi_calloc(1, sizeof(*prev));
    lghist_t *iv = orasi_malloc(sizeof(*iv));
    int rc = 1;
    struct sigaction sa = {.sa_handler = lg_on_signal}, old_int, old_term;
    int handlers = 0;
    if (!th || !sum || !prev || !iv) {
        fprintf(stderr, "orasi loadgen: out of memory\n");
        goto out;
    }
    if (o.ack_log) {
        int arc = lgclient_acklog_open(&acklog, o.ack_log);
        if (arc < 0) {
            fprintf(stderr, "orasi loadgen: cannot open --ack-log %s: %s\n", o.ack_log,
                    orasi_strerror(arc));
            rc = 2;
            goto out;
        }
    }
    base.proto = o.proto;
    base.signals = o.signals;
    base.batch = (size_t)o.batch;
    base.duration_ns = o.duration_ns;
    base.timeout_ns = o.timeout_ns;
    base.tenant = o.tenant;
    base.seed = o.seed;
    base.acklog = o.ack_log ? &acklog : NULL;
    base.stop = &lg_stop_flag;
    __atomic_store_n(&lg_stop_flag, 0, __ATOMIC_RELAXED);
    for (long i = 0; i < o.threads; i++) {
        lgclient_config_t c = base;
        c.index = (unsigned)i;
        c.connections = (int)(o.connections / o.threads + (i < o.connections % o.threads));
        c.rate = o.rate > 0 ? o.rate / (double)o.threads : 0;
        th[i].w = lgclient_create(&c);
        if (!th[i].w) {
            fprintf(stderr, "orasi loadgen: cannot create worker %ld (out of memory?)\n", i);
            goto out;
        }
    }
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    handlers = 1;
    signal(SIGPIPE, SIG_IGN);
    uint64_t t0 = clock_mono_ns();
    for (long i = 0; i < o.threads; i++) {
        if (pthread_create(&th[i].tid, NULL, lg_thread_main, &th[i]) != 0) {
            fprintf(stderr, "orasi loadgen: cannot start thread %ld\n", i);
            __atomic_store_n(&lg_stop_flag, 1, __ATOMIC_RELAXED);
            break;
        }
        th[i].started = 1;
    }
    /* Live progress once per second on a terminal; the workers end by themselves. */
    int live = !o.quiet && isatty(STDERR_FILENO);
    uint64_t deadline = t0 + o.duration_ns + o.timeout_ns + 2000000000ull;
    lg_collect(th, o.threads, prev);
    uint64_t tprev = t0;
    for (;;) {
        int running = 0;
        for (long i = 0; i < o.threads; i++)
            if (th[i].started && pthread_tryjoin_np(th[i].tid, NULL) == EBUSY)
                running = 1;
            else
                th[i].started = 0;
        if (!running)
            break;
        usleep(100000);
        uint64_t now = clock_mono_ns();
        if (now > deadline)
            __atomic_store_n(&lg_stop_flag, 1, __ATOMIC_RELAXED);
        if (live && now - tprev >= 1000000000ull) {
            lg_collect(th, o.threads, sum);
            lghist_diff(iv, &sum->lat_us, &prev->lat_us);
            double dt = (double)(now - tprev) / 1e9;
            fprintf(stderr,
                    "[%5.1fs] %10.0f items/s acked  %8.0f req/s  errors %llu  p99 %.2f ms\n",
                    (double)(now - t0) / 1e9, (double)(sum->items_acked - prev->items_acked) / dt,
                    (double)(sum->req_acked - prev->req_acked) / dt,
                    (unsigned long long)(sum->req_failed + sum->req_partial),
                    lg_ms(lghist_quantile(iv, 0.99)));
            lgclient_stats_t *t = prev;
            prev = sum;
            sum = t;
            tprev = now;
        }
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    for (long i = 0; i < o.threads; i++)
        if (th[i].rc < 0)
            fprintf(stderr, "orasi loadgen: worker %ld failed: %s\n", i, orasi_strerror(th[i].rc));
    lg_collect(th, o.threads, sum);
    if (o.json)
        lg_print_json(&o, sum, secs);
    else
        lg_print_text(&o, sum, secs);
    fflush(stdout);
    rc = sum->req_acked > 0 && sum->gen_errors == 0 ? 0 : 1;
out:
    if (handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    for (long i = 0; th && i < o.threads; i++)
        lgclient_destroy(th[i].w);
    lgclient_acklog_close(&acklog);
    orasi_free(th);
    orasi_free(sum);
    orasi_free(prev);
    orasi_free(iv);
    return rc;
}
