/*
 * metrics.c — the process-wide metrics registry and its Prometheus text rendering
 * (see metrics.h and docs/internals/metrics.md).
 *
 * Locking: one mutex guards the shape of the registry (family list, series lists, hash
 * tables, collectors). Values are never under the lock: a counter or gauge is one
 * _Atomic uint64_t holding the bits of a double, updated with a CAS loop, so hot paths
 * that kept their metric_t pointer never contend on the mutex. Histograms keep one
 * atomic count per bucket (not cumulative, so an observation touches one bucket) and an
 * atomic double sum; rendering accumulates the buckets and derives _count from them so
 * that _count always equals the +Inf bucket even while observations race the render.
 */
#include "core/metrics.h"

#include "core/alloc.h"
#include "core/err.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_FAMILY_HASH 256 /* buckets of the family-name table (fixed) */
#define METRICS_SERIES_HASH0 16 /* initial buckets of a family's series table */
#define METRICS_MAX_COLLECTORS 64

struct metric {
    metric_family_t *fam;
    struct metric *next;  /* creation order */
    struct metric *hnext; /* hash chain */
    uint64_t hash;
    char **values; /* fam->nlabels copied strings */
    _Atomic uint64_t bits; /* counter/gauge value; histogram sum */
    _Atomic uint64_t *buckets; /* histogram: nbuckets + 1 (last is +Inf), not cumulative */
};

struct metric_family {
    char *name;
    char *help;
    enum metric_type type;
    int nlabels;
    char *labels[METRICS_MAX_LABELS];
    int nbuckets;
    double *bounds;
    struct metric *first, *last; /* series in creation order */
    struct metric **table;       /* series hash table */
    size_t table_size;
    size_t nseries; /* not counting the overflow series */
    struct metric *overflow;
    metric_family_t *next;  /* registration order */
    metric_family_t *hnext; /* family-name hash chain */
};

struct metrics_collector {
    metrics_collect_fn fn;
    void *ud;
};

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static metric_family_t *metrics_first, *metrics_last;
static metric_family_t *metrics_by_name[METRICS_FAMILY_HASH];
static size_t metrics_nfamilies;
static struct metrics_collector metrics_collectors[METRICS_MAX_COLLECTORS];
static int metrics_ncollectors;

/* ---- small helpers --------------------------------------------------------------- */

static uint64_t metrics_hash_bytes(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Hash of a label-value tuple; the length of each value is mixed in so that ("ab","c")
 * and ("a","bc") differ. */
static uint64_t metrics_hash_values(int n, const char *const *values)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(values[i]);
        h = metrics_hash_bytes(h, values[i], len);
        h = metrics_hash_bytes(h, (const char *)&len, sizeof(len));
    }
    return h;
}

static double metrics_bits_to_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static uint64_t metrics_double_to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static void metrics_atomic_add_double(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    for (;;) {
        uint64_t nw = metrics_double_to_bits(metrics_bits_to_double(old) + v);
        if (atomic_compare_exchange_weak_explicit(a, &old, nw, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

/* Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. Label names: no ':' and no
 * reserved "__" prefix. */
static int metrics_valid_name(const char *s, int label)
{
    if (!s || !*s)
        return 0;
    if (label && s[0] == '_' && s[1] == '_')
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (!label && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* ---- series ------------------------------------------------------------------- */

static void metrics_series_free(struct metric *m)
{
    if (!m)
        return;
    if (m->values) {
        for (int i = 0; i < m->fam->nlabels; i++)
            orasi_free(m->values[i]);
        orasi_free(m->values);
    }
    orasi_free((void *)m->buckets);
    orasi_free(m);
}

static struct metric *metrics_series_new(metric_family_t *f, const char *const *values,
                                         uint64_t hash)
{
    struct metric *m = orasi_calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->fam = f;
    m->hash = hash;
    atomic_init(&m->bits, metrics_double_to_bits(0.0));
    if (f->nlabels > 0) {
        m->values = orasi_calloc((size_t)f->nlabels, sizeof(char *));
        if (!m->values)
            goto fail;
        for (int i = 0; i < f->nlabels; i++) {
            m->values[i] = orasi_strdup(values[i]);
            if (!m->values[i])
                goto fail;
        }
    }
    if (f->type == METRIC_HISTOGRAM) {
        m->buckets = orasi_calloc((size_t)f->nbuckets + 1, sizeof(*m->buckets));
        if (!m->buckets)
            goto fail;
        for (int i = 0; i <= f->nbuckets; i++)
            atomic_init(&m->buckets[i], 0);
    }
    return m;
fail:
    metrics_series_free(m);
    return NULL;
}

static void metrics_series_link(metric_family_t *f, struct metric *m)
{
    size_t slot = m->hash & (f->table_size - 1);
    m->hnext = f->table[slot];
    f->table[slot] = m;
    if (f->last)
        f->last->next = m;
    else
        f->first = m;
    f->last = m;
}

/* Double the series table when it is fuller than one entry per bucket. A failed grow is
 * harmless (chains just get longer), so it returns nothing. */
static void metrics_table_grow(metric_family_t *f)
{
    if (f->nseries < f->table_size || f->table_size >= METRICS_MAX_SERIES)
        return;
    size_t nsize = f->table_size * 2;
    struct metric **nt = orasi_calloc(nsize, sizeof(*nt));
    if (!nt)
        return;
    for (size_t i = 0; i < f->table_size; i++) {
        struct metric *m = f->table[i];
        while (m) {
            struct metric *next = m->hnext;
            size_t slot = m->hash & (nsize - 1);
            m->hnext = nt[slot];
            nt[slot] = m;
            m = next;
        }
    }
    orasi_free(f->table);
    f->table = nt;
    f->table_size = nsize;
}

static struct metric *metrics_series_find(metric_family_t *f, const char *const *values,
                                          uint64_t hash)
{
    for (struct metric *m = f->table[hash & (f->table_size - 1)]; m; m = m->hnext) {
        if (m->hash != hash)
            continue;
        int i = 0;
        while (i < f->nlabels && strcmp(m->values[i], values[i]) == 0)
            i++;
        if (i == f->nlabels)
            return m;
    }
    return NULL;
}

/* The shared "_overflow" series, created on first need. Caller holds the mutex. */
static struct metric *metrics_overflow_locked(metric_family_t *f)
{
    if (f->overflow)
        return f->overflow;
    const char *vals[METRICS_MAX_LABELS];
    for (int i = 0; i < f->nlabels; i++)
        vals[i] = "_overflow";
    uint64_t h = metrics_hash_values(f->nlabels, vals);
    struct metric *m = metrics_series_new(f, vals, h);
    if (!m)
        return NULL;
    metrics_series_link(f, m);
    f->overflow = m;
    return m;
}

metric_t *metric_series(metric_family_t *f, const char *const *values)
{
    if (!f)
        return NULL;
    if (f->nlabels > 0 && !values)
        return NULL;
    int too_long = 0;
    for (int i = 0; i < f->nlabels; i++) {
        if (!values[i])
            return NULL;
        too_long |= strlen(values[i]) > METRICS_MAX_VALUE_LEN;
    }
    struct metric *m;
    if (too_long) { /* counted, but not worth a series of its own */
        pthread_mutex_lock(&metrics_mu);
        m = metrics_overflow_locked(f);
        pthread_mutex_unlock(&metrics_mu);
        return m;
    }
    uint64_t h = metrics_hash_values(f->nlabels, values);
    pthread_mutex_lock(&metrics_mu);
    m = metrics_series_find(f, values, h);
    if (m)
        goto out;
    if (f->nseries >= METRICS_MAX_SERIES) {
        m = metrics_overflow_locked(f);
        goto out;
    }
    m = metrics_series_new(f, values, h);
    if (!m)
        goto out;
    metrics_series_link(f, m);
    f->nseries++;
    metrics_table_grow(f);
out:
    pthread_mutex_unlock(&metrics_mu);
    return m;
}

/* ---- families ----------------------------------------------------------------- */

static void metrics_family_free(metric_family_t *f)
{
    if (!f)
        return;
    struct metric *m = f->first;
    while (m) {
        struct metric *next = m->next;
        metrics_series_free(m);
        m = next;
    }
    for (int i = 0; i < f->nlabels; i++)
        orasi_free(f->labels[i]);
    orasi_free(f->table);
    orasi_free(f->bounds);
    orasi_free(f->name);
    orasi_free(f->help);
    orasi_free(f);
}

static int metrics_family_matches(const metric_family_t *f, enum metric_type type,
                                  int nlabels, const char *const *labels, int nbuckets,
                                  const double *bounds)
{
    if (f->type != type || f->nlabels != nlabels || f->nbuckets != nbuckets)
        return 0;
    for (int i = 0; i < nlabels; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return 0;
    for (int i = 0; i < nbuckets; i++)
        if (f->bounds[i] != bounds[i])
            return 0;
    return 1;
}

static int metrics_check_args(const char *name, int nlabels, const char *const *labels,
                              enum metric_type type, int nbuckets, const double *bounds)
{
    if (!metrics_valid_name(name, 0))
        return 0;
    if (nlabels < 0 || nlabels > METRICS_MAX_LABELS || (nlabels > 0 && !labels))
        return 0;
    for (int i = 0; i < nlabels; i++) {
        if (!metrics_valid_name(labels[i], 1))
            return 0;
        /* "le" is the bucket label of histograms. */
        if (type == METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0)
            return 0;
        for (int j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return 0;
    }
    if (type == METRIC_HISTOGRAM) {
        if (nbuckets < 0 || nbuckets > METRICS_MAX_BUCKETS || (nbuckets > 0 && !bounds))
            return 0;
        for (int i = 0; i < nbuckets; i++) {
            if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
                return 0;
        }
    }
    return 1;
}

static metric_family_t *metrics_register(const char *name, const char *help,
                                         enum metric_type type, int nlabels,
                                         const char *const *labels, int nbuckets,
                                         const double *bounds)
{
    if (!metrics_check_args(name, nlabels, labels, type, nbuckets, bounds))
        return NULL;
    if (type != METRIC_HISTOGRAM)
        nbuckets = 0;
    uint64_t h = metrics_hash_bytes(0xcbf29ce484222325ull, name, strlen(name));
    metric_family_t *f = NULL, *res = NULL;
    pthread_mutex_lock(&metrics_mu);
    for (f = metrics_by_name[h % METRICS_FAMILY_HASH]; f; f = f->hnext) {
        if (strcmp(f->name, name) == 0) {
            if (metrics_family_matches(f, type, nlabels, labels, nbuckets, bounds))
                res = f;
            f = NULL; /* not ours to free */
            goto out;
        }
    }
    if (metrics_nfamilies >= METRICS_MAX_FAMILIES)
        goto out;
    f = orasi_calloc(1, sizeof(*f));
    if (!f)
        goto out;
    f->type = type;
    f->name = orasi_strdup(name);
    f->help = orasi_strdup(help ? help : "");
    f->table_size = METRICS_SERIES_HASH0;
    f->table = orasi_calloc(f->table_size, sizeof(*f->table));
    if (!f->name || !f->help || !f->table)
        goto out;
    for (int i = 0; i < nlabels; i++) {
        f->labels[i] = orasi_strdup(labels[i]);
        if (!f->labels[i])
            goto out;
        f->nlabels = i + 1;
    }
    if (nbuckets > 0) {
        f->bounds = orasi_malloc((size_t)nbuckets * sizeof(double));
        if (!f->bounds)
            goto out;
        memcpy(f->bounds, bounds, (size_t)nbuckets * sizeof(double));
    }
    f->nbuckets = nbuckets;
    /* An unlabelled family has exactly one series; creating it now makes it render as 0
     * before the first update, as Prometheus client libraries do. */
    if (nlabels == 0) {
        struct metric *m = metrics_series_new(f, NULL, metrics_hash_values(0, NULL));
        if (!m)
            goto out;
        metrics_series_link(f, m);
        f->nseries = 1;
    }
    f->hnext = metrics_by_name[h % METRICS_FAMILY_HASH];
    metrics_by_name[h % METRICS_FAMILY_HASH] = f;
    if (metrics_last)
        metrics_last->next = f;
    else
        metrics_first = f;
    metrics_last = f;
    metrics_nfamilies++;
    res = f;
    f = NULL;
out:
    pthread_mutex_unlock(&metrics_mu);
    metrics_family_free(f);
    return res;
}

metric_family_t *metrics_counter(const char *name, const char *help, int nlabels,
                                 const char *const *labels)
{
    return metrics_register(name, help, METRIC_COUNTER, nlabels, labels, 0, NULL);
}

metric_family_t *metrics_gauge(const char *name, const char *help, int nlabels,
                               const char *const *labels)
{
    return metrics_register(name, help, METRIC_GAUGE, nlabels, labels, 0, NULL);
}

metric_family_t *metrics_histogram(const char *name, const char *help, int nlabels,
                                   const char *const *labels, int nbuckets,
                                   const double *bounds)
{
    return metrics_register(name, help, METRIC_HISTOGRAM, nlabels, labels, nbuckets,
                            bounds);
}

/* ---- updates (lock-free) ------------------------------------------------------ */

void metric_add(metric_t *m, double v)
{
    if (!m || m->fam->type == METRIC_HISTOGRAM)
        return;
    /* Counters only go up; a negative or NaN add is a caller bug we refuse to render. */
    if (m->fam->type == METRIC_COUNTER && !(v >= 0))
        return;
    metrics_atomic_add_double(&m->bits, v);
}

void metric_inc(metric_t *m)
{
    metric_add(m, 1.0);
}

void metric_set(metric_t *m, double v)
{
    if (!m || m->fam->type == METRIC_HISTOGRAM)
        return;
    atomic_store_explicit(&m->bits, metrics_double_to_bits(v), memory_order_relaxed);
}

void metric_observe(metric_t *m, double v)
{
    if (!m || m->fam->type != METRIC_HISTOGRAM || isnan(v))
        return;
    const metric_family_t *f = m->fam;
    /* Bucket i counts bounds[i-1] < v <= bounds[i]; few buckets, so a linear scan. */
    int i = 0;
    while (i < f->nbuckets && v > f->bounds[i])
        i++;
    atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    metrics_atomic_add_double(&m->bits, v);
}

double metric_value(const metric_t *m)
{
    if (!m)
        return 0.0;
    return metrics_bits_to_double(
        atomic_load_explicit(&((metric_t *)m)->bits, memory_order_relaxed));
}

/* ---- collectors ---------------------------------------------------------------- */

int metrics_add_collector(metrics_collect_fn fn, void *ud)
{
    if (!fn)
        return ORASI_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&metrics_mu);
    for (int i = 0; i < metrics_ncollectors; i++)
        if (metrics_collectors[i].fn == fn && metrics_collectors[i].ud == ud)
            goto out;
    if (metrics_ncollectors >= METRICS_MAX_COLLECTORS) {
        rc = ORASI_EFULL;
        goto out;
    }
    metrics_collectors[metrics_ncollectors].fn = fn;
    metrics_collectors[metrics_ncollectors].ud = ud;
    metrics_ncollectors++;
out:
    pthread_mutex_unlock(&metrics_mu);
    return rc;
}

/* ---- rendering ----------------------------------------------------------------- */

/* Shortest text that reads back as the same double ("42", "0.1", "1e+21"), with the
 * spellings Prometheus expects for the non-finite values. */
int metrics_fmt_double(double v, char *out, size_t outlen)
{
    if (isnan(v))
        return snprintf(out, outlen, "NaN");
    if (isinf(v))
        return snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
    /* Whole numbers (counts, bytes) print as integers: %g alone would say "1e+03". */
    if (v == floor(v) && fabs(v) < 1e16)
        return snprintf(out, outlen, "%.0f", v);
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(out, outlen, "%.*g", prec, v);
        if (n > 0 && (size_t)n < outlen && strtod(out, NULL) == v)
            break;
    }
    return n;
}

static int metrics_put_double(buf_t *b, double v)
{
    char tmp[40];
    metrics_fmt_double(v, tmp, sizeof(tmp));
    return buf_append_str(b, tmp);
}

/* Label values escape \, " and newline; HELP text escapes \ and newline only. The
 * format is UTF-8, so bytes that are not (label values may come from requests) are
 * written as U+FFFD rather than breaking the scrape. */
static int metrics_put_escaped(buf_t *b, const char *s, int quotes)
{
    int rc = 0;
    size_t n = strlen(s), start = 0, i = 0;
    const uint8_t *u = (const uint8_t *)s;
    while (i < n && !rc) {
        const char *rep = NULL;
        size_t adv = 1;
        if (s[i] == '\\')
            rep = "\\\\";
        else if (s[i] == '\n')
            rep = "\\n";
        else if (s[i] == '"' && quotes)
            rep = "\\\"";
        else if (u[i] >= 0x80 && (adv = buf_utf8_len(u + i, n - i)) == 0) {
            rep = "\xef\xbf\xbd";
            adv = 1;
        }
        if (!rep) {
            i += adv;
            continue;
        }
        rc = buf_append(b, s + start, i - start);
        if (!rc)
            rc = buf_append_str(b, rep);
        i += adv;
        start = i;
    }
    if (!rc)
        rc = buf_append(b, s + start, n - start);
    return rc;
}

/* `name{l1="v1",...[,le="x"]}` — braces omitted when there is nothing inside. */
static int metrics_put_labels(buf_t *b, const metric_family_t *f, const struct metric *m,
                              const char *le)
{
    if (f->nlabels == 0 && !le)
        return 0;
    int rc = buf_append_byte(b, '{');
    for (int i = 0; i < f->nlabels && !rc; i++) {
        rc = buf_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
        if (!rc)
            rc = metrics_put_escaped(b, m->values[i], 1);
        if (!rc)
            rc = buf_append_byte(b, '"');
    }
    if (!rc && le)
        rc = buf_printf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    if (!rc)
        rc = buf_append_byte(b, '}');
    return rc;
}

static int metrics_put_sample(buf_t *b, const metric_family_t *f, const struct metric *m,
                              const char *suffix, const char *le, double v)
{
    int rc = buf_append_str(b, f->name);
    if (!rc && suffix)
        rc = buf_append_str(b, suffix);
    if (!rc)
        rc = metrics_put_labels(b, f, m, le);
    if (!rc)
        rc = buf_append_byte(b, ' ');
    if (!rc)
        rc = metrics_put_double(b, v);
    if (!rc)
        rc = buf_append_byte(b, '\n');
    return rc;
}

static int metrics_render_histogram(buf_t *b, const metric_family_t *f,
                                    const struct metric *m)
{
    int rc = 0;
    uint64_t cum = 0;
    char le[40];
    for (int i = 0; i <= f->nbuckets && !rc; i++) {
        cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
        if (i < f->nbuckets)
            metrics_fmt_double(f->bounds[i], le, sizeof(le));
        else
            snprintf(le, sizeof(le), "+Inf");
        rc = metrics_put_sample(b, f, m, "_bucket", le, (double)cum);
    }
    if (!rc)
        rc = metrics_put_sample(b, f, m, "_sum", NULL, metric_value(m));
    if (!rc)
        rc = metrics_put_sample(b, f, m, "_count", NULL, (double)cum);
    return rc;
}

static int metrics_render_family(buf_t *b, const metric_family_t *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    if (!f->first)
        return 0; /* a labelled family with no series yet: nothing to say */
    int rc = buf_printf(b, "# HELP %s ", f->name);
    if (!rc)
        rc = metrics_put_escaped(b, f->help, 0);
    if (!rc)
        rc = buf_printf(b, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    for (const struct metric *m = f->first; m && !rc; m = m->next) {
        if (f->type == METRIC_HISTOGRAM)
            rc = metrics_render_histogram(b, f, m);
        else
            rc = metrics_put_sample(b, f, m, NULL, NULL, metric_value(m));
    }
    return rc;
}

int metrics_render(buf_t *out)
{
    if (!out)
        return ORASI_EINVAL;
    /* Collectors run without the lock: they update series and may look them up. */
    struct metrics_collector cs[METRICS_MAX_COLLECTORS];
    pthread_mutex_lock(&metrics_mu);
    int nc = metrics_ncollectors;
    memcpy(cs, metrics_collectors, (size_t)nc * sizeof(cs[0]));
    pthread_mutex_unlock(&metrics_mu);
    for (int i = 0; i < nc; i++)
        cs[i].fn(cs[i].ud);

    size_t start = out->len;
    int rc = 0;
    pthread_mutex_lock(&metrics_mu);
    for (const metric_family_t *f = metrics_first; f && !rc; f = f->next)
        rc = metrics_render_family(out, f);
    pthread_mutex_unlock(&metrics_mu);
    if (rc)
        out->len = start; /* no half-rendered exposition */
    return rc;
}

void metrics_shutdown(void)
{
    pthread_mutex_lock(&metrics_mu);
    metric_family_t *f = metrics_first;
    metrics_first = metrics_last = NULL;
    memset(metrics_by_name, 0, sizeof(metrics_by_name));
    metrics_nfamilies = 0;
    metrics_ncollectors = 0;
    pthread_mutex_unlock(&metrics_mu);
    while (f) {
        metric_family_t *next = f->next;
        metrics_family_free(f);
        f = next;
    }
}
