/*
 * sql.c — the sandboxed query engine (see sql.h; the whole story in docs/internals/sql.md).
 *
 * A query, in order:
 *   1. take a slot (bounded concurrency) and the tenant's database (opened on first use);
 *   2. split the text into statements with DuckDB's parser: exactly one is accepted;
 *   3. analyse its AST for time bounds / a trace id (sql_prune.c);
 *   4. set up, on the slot's own connection, a TEMP table per lake table the text names
 *      (the lake's unflushed rows) and a TEMP VIEW over the catalog's files plus that
 *      table — consistent with each other through lake_hot_begin/check;
 *   5. prepare the user's statement and refuse anything but SELECT before it runs;
 *   6. stream the result into the output with the row and size caps;
 *   7. drop the TEMP objects, release, count, log if slow.
 * A watchdog thread interrupts (duckdb_interrupt) any slot past its deadline.
 *
 * Isolation does not rest on the views: a tenant's database can only read files under
 * <lake>/tenant=<t>/ (DuckDB's allowed_directories with external access disabled), and
 * only SELECT statements run, so no statement can write or reach another tenant's files.
 */
#include "sql/sql.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "lake/catalog.h"
#include "lake/colbuf.h"
#include "sql/sql_prune.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define SQL_SETUP_RETRIES 5            /* a flush started during setup: start over */
#define SQL_PRUNE_MARGIN_NS (60 * NS_PER_S) /* added to the timeout to widen bounds */
#define SQL_SLOW_SQL_MAX 4096          /* bytes of query text in the slow-query log */
#define SQL_VIEW_MAX ((size_t)256 << 20) /* one view definition (file lists) */
#define SQL_HOT_PREFIX "_orasi_hot_"

/* ---- options ---------------------------------------------------------------------------- */

#define OPT(name, type, def, field, mn, mx, doc)                                            \
    {name, type, def, offsetof(struct sql_options, field), mn, mx, doc, NULL, 0}

const config_option_t sql_config_options[] = {
    OPT("timeout", CONFIG_DURATION, "30s", timeout, 1e6, 0,
        "A query running longer is interrupted (duckdb_interrupt) and answers an error; the setup counts."),
    OPT("max_rows", CONFIG_INT, "10000", max_rows, 1, 1e9,
        "Rows in one answer; more are cut and the answer says truncated."),
    OPT("memory_limit", CONFIG_SIZE, "1GiB", memory_limit, 16 << 20, 0,
        "DuckDB memory limit of each tenant's database; a query past it fails (no spilling to disk)."),
    OPT("threads", CONFIG_INT, "2", threads, 1, 64, "DuckDB threads of each tenant's database."),
    OPT("max_concurrent", CONFIG_INT, "4", max_concurrent, 1, 256,
        "Queries running at once (query worker threads); more wait in a short queue, then get 429."),
    OPT("slow_query_threshold", CONFIG_DURATION, "1s", slow_query_threshold, 0, 0,
        "Queries slower than this are logged (WARN) with their SQL, time and files (0 = never)."),
    OPT("max_tenants", CONFIG_INT, "16", max_tenants, 1, 4096,
        "Tenant databases kept open; past it the least recently used idle one is closed."),
    OPT("max_result_size", CONFIG_SIZE, "64MiB", max_result_size, 4096, 4294967296.0,
        "Bytes of one answer; rows past it are cut (truncated)."),
    OPT("max_sql_size", CONFIG_SIZE, "1MiB", max_sql_size, 64, 67108864, "Bytes of query text."),
    {0},
};

void sql_options_default(struct sql_options *o)
{
    memset(o, 0, sizeof(*o));
    o->timeout = 30 * NS_PER_S;
    o->max_rows = 10000;
    o->memory_limit = 1ull << 30;
    o->threads = 2;
    o->max_concurrent = 4;
    o->slow_query_threshold = NS_PER_S;
    o->max_tenants = 16;
    o->max_result_size = 64ull << 20;
    o->max_sql_size = 1ull << 20;
}

/* ---- state ----------------------------------------------------------------------------------- */

struct sql_tenant {
    int used;
    int opening;          /* being opened by one thread; others wait */
    char name[65];
    duckdb_database db;
    duckdb_connection *conns; /* [max_concurrent]: slot i uses conns[i] */
    int busy;             /* queries using it */
    uint64_t last_used;   /* monotonic ns */
};

struct sql_slot {
    int used;
    duckdb_connection running; /* interrupt target while a query runs */
    uint64_t deadline;
    int timed_out;
};

enum { R_OK, R_SQL, R_TIMEOUT, R_BUSY, R_INTERNAL, R__COUNT };
static const char *const result_names[R__COUNT] = {"ok", "sql_error", "timeout", "busy",
                                                   "internal"};

struct sql_metrics {
    metric_t *queries[R__COUNT], *errors, *duration, *files, *files_per_query, *rows,
        *tenants, *running;
};

struct sql_engine {
    struct sql_options o;
    lake_t *lake;
    catalog_t *cat;
    char *root; /* the lake root, resolved (realpath): DuckDB compares path prefixes */
    pthread_mutex_t mu;
    pthread_cond_t changed; /* a slot or a tenant database became free */
    pthread_cond_t wd_wake;
    struct sql_tenant *tenants;
    struct sql_slot *slots;
    size_t nslots, ntenants_max;
    pthread_t wd;
    int sync_init, wd_started, stop;
    struct sql_metrics m;
};

int sql_tenant_valid(slice_t t)
{
    if (t.len == 0 || t.len > 64)
        return 0;
    if ((t.len == 1 && t.p[0] == '.') || (t.len == 2 && t.p[0] == '.' && t.p[1] == '.'))
        return 0;
    for (size_t i = 0; i < t.len; i++) {
        uint8_t c = t.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static void metrics_init(struct sql_metrics *m)
{
    static const double dur_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1,     2.5,  5,     10,   30};
    static const double file_bounds[] = {0, 1, 2, 5, 10, 25, 50, 100, 250, 1000, 10000};
    metric_family_t *f = metrics_counter("orasi_sql_queries_total", "SQL queries by result", 1,
                                         (const char *[]){"result"});
    for (int i = 0; i < R__COUNT; i++)
        m->queries[i] = metric_series(f, (const char *[]){result_names[i]});
    f = metrics_counter("orasi_sql_query_errors_total",
                        "SQL queries that did not answer rows (any reason)", 0, NULL);
    m->errors = metric_series(f, NULL);
    f = metrics_histogram("orasi_sql_query_duration_seconds",
                          "Time from accepting a query to its last row", 0, NULL,
                          (int)(sizeof(dur_bounds) / sizeof(dur_bounds[0])), dur_bounds);
    m->duration = metric_series(f, NULL);
    f = metrics_counter("orasi_sql_files_scanned_total",
                        "Parquet files put in the views of SQL queries", 0, NULL);
    m->files = metric_series(f, NULL);
    f = metrics_histogram("orasi_sql_query_files_scanned", "Parquet files per SQL query", 0,
                          NULL, (int)(sizeof(file_bounds) / sizeof(file_bounds[0])),
                          file_bounds);
    m->files_per_query = metric_series(f, NULL);
    f = metrics_counter("orasi_sql_rows_returned_total", "Rows answered by SQL queries", 0,
                        NULL);
    m->rows = metric_series(f, NULL);
    f = metrics_gauge("orasi_sql_tenant_databases", "Tenant DuckDB databases open", 0, NULL);
    m->tenants = metric_series(f, NULL);
    f = metrics_gauge("orasi_sql_queries_running", "SQL queries running now", 0, NULL);
    m->running = metric_series(f, NULL);
}

/* ---- small helpers -------------------------------------------------------------------------- */

static void abs_deadline(struct timespec *ts, uint64_t mono_ns)
{
    ts->tv_sec = (time_t)(mono_ns / NS_PER_S);
    ts->tv_nsec = (long)(mono_ns % NS_PER_S);
}

/* Run internal SQL; DuckDB's message into err on failure. */
static int exec(duckdb_connection con, const char *sql, char *err, size_t errlen)
{
    duckdb_result r;
    int rc = 0;
    if (duckdb_query(con, sql, &r) != DuckDBSuccess) {
        const char *m = duckdb_result_error(&r);
        snprintf(err, errlen, "%s", m ? m : "DuckDB error");
        rc = ORASI_EINVAL;
    }
    duckdb_destroy_result(&r);
    return rc;
}

static int sql_quote(buf_t *b, const char *s)
{
    return sql_out_quote(b, s, '\'');
}

static int nocase_contains(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (strncasecmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

static const char *stmt_type_name(duckdb_statement_type t)
{
    static const char *const names[] = {
        "INVALID", "SELECT", "INSERT",  "UPDATE", "EXPLAIN", "DELETE",   "PREPARE",
        "CREATE",  "EXECUTE", "ALTER",  "TRANSACTION", "COPY", "ANALYZE", "SET",
        "CREATE FUNCTION", "DROP", "EXPORT", "PRAGMA", "VACUUM", "CALL", "SET", "LOAD",
        "RELATION", "EXTENSION", "LOGICAL PLAN", "ATTACH", "DETACH", "MULTI"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

/* The statement's first keyword (upper case) for messages, skipping blanks and
 * comments. */
static void first_word(const char *s, char *out, size_t n)
{
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '(')
            s++;
        if (s[0] == '-' && s[1] == '-') {
            while (*s && *s != '\n')
                s++;
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e ? e + 2 : s + strlen(s);
        } else {
            break;
        }
    }
    size_t k = 0;
    while (k + 1 < n && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) {
        out[k++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
        s++;
    }
    if (k == 0 && n > 1)
        out[k++] = '?';
    out[k] = 0;
}

/* ---- tenant databases ------------------------------------------------------------------------- */

/* A fresh in-memory database whose only readable directory is the tenant's part of the
 * lake. The order matters: allowed_directories can only be set while external access is
 * still on, and nothing can be changed once the configuration is locked. */
static int tenant_db_open(sql_engine_t *e, const char *tenant, duckdb_database *out, char *err,
                          size_t errlen)
{
    duckdb_config cfg = NULL;
    duckdb_database db = NULL;
    duckdb_connection con = NULL;
    char v[64], *oerr = NULL;
    buf_t q;
    int rc = ORASI_EINTERNAL;
    buf_init(&q, 8192);
    if (duckdb_create_config(&cfg) != DuckDBSuccess) {
        snprintf(err, errlen, "DuckDB: cannot create a configuration");
        goto out;
    }
    snprintf(v, sizeof(v), "%lld", (long long)e->o.threads);
    struct {
        const char *k, *v;
    } kv[] = {{"threads", v},
              {"autoinstall_known_extensions", "false"},
              {"autoload_known_extensions", "false"},
              {"allow_community_extensions", "false"},
              {"allow_unsigned_extensions", "false"},
              {"enable_external_access", "true"}};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (duckdb_set_config(cfg, kv[i].k, kv[i].v) != DuckDBSuccess) {
            snprintf(err, errlen, "DuckDB: cannot set %s", kv[i].k);
            goto out;
        }
    if (duckdb_open_ext(NULL, &db, cfg, &oerr) != DuckDBSuccess) {
        snprintf(err, errlen, "DuckDB: %s", oerr ? oerr : "cannot open a database");
        duckdb_free(oerr);
        db = NULL;
        goto out;
    }
    if (duckdb_connect(db, &con) != DuckDBSuccess) {
        snprintf(err, errlen, "DuckDB: cannot connect");
        con = NULL;
        goto out;
    }
    rc = buf_printf(&q, "SET GLOBAL memory_limit='%lluKiB'", (unsigned long long)(e->o.memory_limit >> 10));
    if (!rc)
        rc = buf_append_byte(&q, 0);
    if (rc || (rc = exec(con, (const char *)q.data, err, errlen)))
        goto out;
    buf_clear(&q);
    rc = buf_printf(&q, "SET GLOBAL allowed_directories=[");
    if (!rc) {
        char dir[PATH_MAX + 80];
        snprintf(dir, sizeof(dir), "%s/tenant=%s/", e->root, tenant);
        rc = sql_quote(&q, dir);
    }
    if (!rc)
        rc = buf_append_str(&q, "]");
    if (!rc)
        rc = buf_append_byte(&q, 0);
    if (rc)
        goto out;
    static const char *const setup[] = {
        "SET GLOBAL TimeZone='UTC'",
        "SET GLOBAL temp_directory=''", /* no spilling: nothing is written outside the lake */
        NULL,                    /* allowed_directories (q) */
        "SET GLOBAL enable_external_access=false",
        "SET GLOBAL lock_configuration=true",
    };
    for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
        if ((rc = exec(con, setup[i] ? setup[i] : (const char *)q.data, err, errlen)))
            goto out;
    *out = db;
    db = NULL;
    rc = 0;
out:
    if (con)
        duckdb_disconnect(&con);
    if (db)
        duckdb_close(&db);
    if (cfg)
        duckdb_destroy_config(&cfg);
    buf_free(&q);
    return rc;
}

static void tenant_close(sql_engine_t *e, struct sql_tenant *t)
{
    for (size_t i = 0; t->conns && i < e->nslots; i++)
        if (t->conns[i])
            duckdb_disconnect(&t->conns[i]);
    orasi_free(t->conns);
    if (t->db)
        duckdb_close(&t->db);
    memset(t, 0, sizeof(*t));
}

/* The tenant's database with busy++ (release with tenant_release). */
static int tenant_acquire(sql_engine_t *e, const char *name, uint64_t deadline,
                          struct sql_tenant **out, char *err, size_t errlen)
{
    struct sql_tenant victim;
    int rc = 0;
    memset(&victim, 0, sizeof(victim));
    pthread_mutex_lock(&e->mu);
    for (;;) {
        struct sql_tenant *t = NULL, *free_ent = NULL, *lru = NULL;
        for (size_t i = 0; i < e->ntenants_max; i++) {
            struct sql_tenant *x = &e->tenants[i];
            if (!x->used) {
                if (!free_ent)
                    free_ent = x;
            } else if (strcmp(x->name, name) == 0) {
                t = x;
            } else if (!x->busy && !x->opening && (!lru || x->last_used < lru->last_used)) {
                lru = x;
            }
        }
        if (t && !t->opening) {
            t->busy++;
            t->last_used = clock_mono_ns();
            pthread_mutex_unlock(&e->mu);
            *out = t;
            return 0;
        }
        if (!t && (free_ent || lru)) {
            if (!free_ent) {
                /* close the least recently used idle database, outside the lock */
                victim = *lru;
                memset(lru, 0, sizeof(*lru));
                free_ent = lru;
            }
            t = free_ent;
            t->used = 1;
            t->opening = 1;
            snprintf(t->name, sizeof(t->name), "%s", name);
            pthread_mutex_unlock(&e->mu);
            if (victim.used)
                tenant_close(e, &victim);
            duckdb_database db = NULL;
            duckdb_connection *conns = orasi_calloc(e->nslots, sizeof(*conns));
            rc = conns ? tenant_db_open(e, name, &db, err, errlen) : ORASI_ENOMEM;
            pthread_mutex_lock(&e->mu);
            if (rc) {
                orasi_free(conns);
                memset(t, 0, sizeof(*t));
                t = NULL;
            } else {
                t->db = db;
                t->conns = conns;
                t->opening = 0;
                t->busy = 1;
                t->last_used = clock_mono_ns();
            }
            size_t open = 0;
            for (size_t i = 0; i < e->ntenants_max; i++)
                open += e->tenants[i].used;
            metric_set(e->m.tenants, (double)open);
            pthread_cond_broadcast(&e->changed);
            pthread_mutex_unlock(&e->mu);
            if (rc == ORASI_EINVAL)
                rc = ORASI_EINTERNAL; /* a setup statement failed: not the user's fault */
            *out = t;
            return rc;
        }
        /* being opened by another thread, or every database is busy: wait */
        if (clock_mono_ns() >= deadline || e->stop) {
            snprintf(err, errlen, "every tenant database is busy (query.max_tenants = %lld)",
                     (long long)e->o.max_tenants);
            pthread_mutex_unlock(&e->mu);
            return ORASI_EBUSY;
        }
        struct timespec ts;
        abs_deadline(&ts, deadline);
        pthread_cond_timedwait(&e->changed, &e->mu, &ts);
    }
}

static void tenant_release(sql_engine_t *e, struct sql_tenant *t)
{
    pthread_mutex_lock(&e->mu);
    t->busy--;
    t->last_used = clock_mono_ns();
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->mu);
}

/* ---- slots and the watchdog ----------------------------------------------------------------- */

static int slot_acquire(sql_engine_t *e, uint64_t deadline, size_t *out)
{
    pthread_mutex_lock(&e->mu);
    for (;;) {
        for (size_t i = 0; i < e->nslots; i++)
            if (!e->slots[i].used) {
                e->slots[i].used = 1;
                pthread_mutex_unlock(&e->mu);
                *out = i;
                return 0;
            }
        if (clock_mono_ns() >= deadline || e->stop) {
            pthread_mutex_unlock(&e->mu);
            return ORASI_EBUSY;
        }
        struct timespec ts;
        abs_deadline(&ts, deadline);
        pthread_cond_timedwait(&e->changed, &e->mu, &ts);
    }
}

static void slot_release(sql_engine_t *e, size_t i)
{
    pthread_mutex_lock(&e->mu);
    memset(&e->slots[i], 0, sizeof(e->slots[i]));
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->mu);
}

static void watch_start(sql_engine_t *e, size_t i, duckdb_connection con, uint64_t deadline)
{
    pthread_mutex_lock(&e->mu);
    e->slots[i].running = con;
    e->slots[i].deadline = deadline;
    e->slots[i].timed_out = 0;
    pthread_cond_signal(&e->wd_wake);
    pthread_mutex_unlock(&e->mu);
}

/* Stop watching; 1 when the watchdog interrupted the query. */
static int watch_stop(sql_engine_t *e, size_t i)
{
    pthread_mutex_lock(&e->mu);
    e->slots[i].running = NULL;
    int t = e->slots[i].timed_out;
    pthread_mutex_unlock(&e->mu);
    return t;
}

static int timed_out(sql_engine_t *e, size_t i)
{
    pthread_mutex_lock(&e->mu);
    int t = e->slots[i].timed_out;
    pthread_mutex_unlock(&e->mu);
    return t;
}

static void *watchdog_main(void *arg)
{
    sql_engine_t *e = arg;
    pthread_setname_np(pthread_self(), "sql-watchdog");
    pthread_mutex_lock(&e->mu);
    while (!e->stop) {
        uint64_t now = clock_mono_ns(), next = now + NS_PER_S;
        for (size_t i = 0; i < e->nslots; i++) {
            struct sql_slot *s = &e->slots[i];
            if (!s->running || s->timed_out)
                continue;
            if (now >= s->deadline) {
                s->timed_out = 1;
                duckdb_interrupt(s->running);
            } else if (s->deadline < next) {
                next = s->deadline;
            }
        }
        struct timespec ts;
        abs_deadline(&ts, next);
        pthread_cond_timedwait(&e->wd_wake, &e->mu, &ts);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

void sql_engine_interrupt_all(sql_engine_t *e)
{
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < e->nslots; i++)
        if (e->slots[i].running) {
            e->slots[i].timed_out = 1;
            duckdb_interrupt(e->slots[i].running);
        }
    pthread_mutex_unlock(&e->mu);
}

/* ---- lake tables ------------------------------------------------------------------------------ */

static int col_on(uint64_t colmask, size_t c)
{
    return c >= 64 || (colmask >> c & 1);
}

/* The columns copied from the buffers: what the query reads, and never none (column 0,
 * the time, keeps the row count). */
static uint64_t hot_mask(const struct sql_prune *pr, int sig)
{
    return pr->colmask[sig] | 1;
}

/* CREATE OR REPLACE TEMP TABLE _orasi_hot_<sig> with the selected columns of the schema
 * (their types, in schema order): unselected columns are not stored at all. */
static int hot_table_sql(buf_t *b, int sig, uint64_t mask)
{
    const colbuf_schema_t *s = colbuf_schema(sig);
    int rc = buf_printf(b, "CREATE OR REPLACE TEMP TABLE " SQL_HOT_PREFIX "%s (",
                        colbuf_sig_name(sig));
    for (size_t c = 0, k = 0; c < s->ncols && !rc; c++) {
        if (!col_on(mask, c))
            continue;
        if (k++)
            rc = buf_append_str(b, ", ");
        if (!rc)
            rc = sql_out_ident(b, s->cols[c].name);
        if (!rc)
            rc = buf_append_byte(b, ' ');
        duckdb_logical_type t = colbuf_duck_type(s, c);
        if (!t)
            return ORASI_ENOMEM;
        if (!rc)
            rc = sql_out_type_name(b, t);
        duckdb_destroy_logical_type(&t);
    }
    if (!rc)
        rc = buf_append_byte(b, ')');
    return rc ? rc : buf_append_byte(b, 0);
}

/* The view: timestamp columns as TIMESTAMP WITH TIME ZONE (UTC) so that comparisons with
 * now() and INTERVAL arithmetic work, everything else as stored. The hot side names every
 * column, typed NULL for those not copied. */
static int view_sql(buf_t *b, sql_engine_t *e, int sig, const catalog_list_t *files,
                    uint64_t mask, int64_t t0, int64_t t1)
{
    const colbuf_schema_t *s = colbuf_schema(sig);
    const char *name = colbuf_sig_name(sig);
    int rc = buf_printf(b, "CREATE OR REPLACE TEMP VIEW %s AS SELECT ", name);
    for (size_t c = 0; c < s->ncols && !rc; c++) {
        const colbuf_coldef_t *cd = &s->cols[c];
        if (c)
            rc = buf_append_str(b, ", ");
        int ts = cd->kind == CB_TS || (cd->kind == CB_LIST && cd->elem == CB_TS);
        if (!rc && ts)
            rc = buf_append_str(b, "CAST(");
        if (!rc)
            rc = sql_out_ident(b, cd->name);
        if (!rc && ts)
            rc = buf_append_str(b, cd->kind == CB_TS ? " AS TIMESTAMP WITH TIME ZONE)"
                                                     : " AS TIMESTAMP WITH TIME ZONE[])");
        if (!rc && ts)
            rc = buf_append_str(b, " AS ");
        if (!rc && ts)
            rc = sql_out_ident(b, cd->name);
    }
    if (!rc)
        rc = buf_append_str(b, " FROM (");
    if (!rc && files->n) {
        rc = buf_append_str(b, "SELECT * FROM read_parquet([");
        char path[PATH_MAX + 512];
        for (size_t i = 0; i < files->n && !rc; i++) {
            snprintf(path, sizeof(path), "%s/%s", e->root, files->v[i].rel);
            if (i)
                rc = buf_append_byte(b, ',');
            if (!rc)
                rc = sql_quote(b, path);
        }
        /* union_by_name reads every file's schema while binding: only when the files do
         * not all have the current schema version */
        int mixed = 0;
        for (size_t i = 0; i < files->n; i++)
            mixed |= files->v[i].schema_version != s->schema_version;
        if (!rc)
            rc = buf_printf(b, "], hive_partitioning=false, union_by_name=%s)",
                            mixed ? "true" : "false");
        /* The query's own time bounds (sql_prune: top-level conjuncts, widened by the
         * timeout and more) again on the stored nanosecond column, inside the file side:
         * DuckDB does not push a predicate on the CAST column below into the Parquet scan,
         * so without this it decodes and casts every row of the listed files and filters
         * afterwards; a raw predicate is evaluated in the scan (row-group statistics,
         * cheap integer compares, other columns decoded only for the rows kept). Rows it
         * drops are rows the query's WHERE drops. */
        if (!rc && t0 != INT64_MIN)
            rc = buf_printf(b, " WHERE \"%s\" >= make_timestamp_ns(%lld)", s->time_col,
                            (long long)t0);
        if (!rc && t1 != INT64_MAX)
            rc = buf_printf(b, " %s \"%s\" <= make_timestamp_ns(%lld)",
                            t0 != INT64_MIN ? "AND" : "WHERE", s->time_col, (long long)t1);
        if (!rc)
            rc = buf_append_str(b, " UNION ALL BY NAME ");
    }
    if (!rc)
        rc = buf_append_str(b, "SELECT ");
    for (size_t c = 0; c < s->ncols && !rc; c++) {
        if (c)
            rc = buf_append_str(b, ", ");
        if (!rc && !col_on(mask, c)) {
            duckdb_logical_type t = colbuf_duck_type(s, c);
            if (!t)
                return ORASI_ENOMEM;
            rc = buf_append_str(b, "CAST(NULL AS ");
            if (!rc)
                rc = sql_out_type_name(b, t);
            if (!rc)
                rc = buf_append_str(b, ") AS ");
            duckdb_destroy_logical_type(&t);
        }
        if (!rc)
            rc = sql_out_ident(b, s->cols[c].name);
    }
    if (!rc)
        rc = buf_printf(b, " FROM temp.main." SQL_HOT_PREFIX "%s)", name);
    return rc ? rc : buf_append_byte(b, 0);
}

struct setup {
    int used[LAKE_SIG_COUNT];
    catalog_list_t files[LAKE_SIG_COUNT];
    uint64_t nfiles, hot_rows;
};

static void setup_free(struct setup *s)
{
    for (int i = 0; i < LAKE_SIG_COUNT; i++)
        catalog_list_free(&s->files[i]);
    memset(s->files, 0, sizeof(s->files));
}

/* Fill the hot tables and list the files, consistently (see lake.h), then create the
 * views. */
static int setup_tables(sql_engine_t *e, duckdb_connection con, const char *tenant,
                        const struct sql_prune *pr, uint64_t deadline, struct setup *su,
                        char *err, size_t errlen)
{
    buf_t q;
    int rc = 0;
    buf_init(&q, SQL_VIEW_MAX);
    lake_hot_snap_t snap, prev;
    int have_prev = 0;
    for (int attempt = 0;; attempt++) {
        setup_free(su);
        su->hot_rows = su->nfiles = 0;
        /* after "committed meanwhile", wait for that flush to drop its buffers */
        rc = lake_hot_begin(e->lake, deadline, have_prev ? &prev : NULL, &snap);
        if (rc) {
            snprintf(err, errlen, "the lake is %s; retry the query",
                     rc == ORASI_EBUSY ? "busy publishing a flush" : "closing");
            goto out;
        }
        for (int s = 0; s < LAKE_SIG_COUNT && !rc; s++) {
            if (!su->used[s])
                continue;
            int64_t t0 = INT64_MIN, t1 = INT64_MAX;
            if (pr->sig == s) {
                t0 = pr->t0;
                t1 = pr->t1;
            }
            buf_clear(&q);
            if ((rc = hot_table_sql(&q, s, hot_mask(pr, s))) ||
                (rc = exec(con, (const char *)q.data, err, errlen)))
                goto out;
            duckdb_appender app = NULL;
            char tname[64];
            snprintf(tname, sizeof(tname), SQL_HOT_PREFIX "%s", colbuf_sig_name(s));
            if (duckdb_appender_create_ext(con, "temp", "main", tname, &app) != DuckDBSuccess) {
                snprintf(err, errlen, "cannot append to %s: %s", tname,
                         app ? duckdb_appender_error(app) : "?");
                duckdb_appender_destroy(&app);
                rc = ORASI_EINTERNAL;
                goto out;
            }
            uint64_t n = 0;
            struct lake_hot_filter hf = {
                .t0 = t0,
                .t1 = t1,
                .colmask = hot_mask(pr, s),
                .trace_id = s == LAKE_TRACES && pr->sig == s && pr->has_trace_id ? pr->trace_id
                                                                                  : NULL,
                .max_rows = pr->sig == s ? pr->hot_limit : 0,
            };
            rc = lake_hot_fill(e->lake, &snap, tenant, s, &hf, app, &n);
            if (duckdb_appender_close(app) != DuckDBSuccess && !rc) {
                snprintf(err, errlen, "buffered rows: %s", duckdb_appender_error(app));
                rc = ORASI_EINTERNAL;
            }
            duckdb_appender_destroy(&app);
            su->hot_rows += n;
            if (rc == ORASI_EAGAIN)
                break;
            if (rc) {
                if (!err[0])
                    snprintf(err, errlen, "buffered rows: %s", orasi_strerror(rc));
                goto out;
            }
            if (s == LAKE_TRACES && pr->sig == s && pr->has_trace_id)
                rc = catalog_list_trace(e->cat, tenant, pr->trace_id, t0, t1, &su->files[s]);
            else
                rc = catalog_list(e->cat, tenant, s, t0, t1, &su->files[s]);
            if (rc) {
                snprintf(err, errlen, "catalog: %s", orasi_strerror(rc));
                goto out;
            }
            su->nfiles += su->files[s].n;
        }
        if (!rc)
            rc = lake_hot_check(e->lake, &snap);
        have_prev = rc == ORASI_EBUSY;
        if (have_prev)
            prev = snap;
        if (rc != ORASI_EAGAIN && rc != ORASI_EBUSY)
            break;
        if (attempt + 1 >= SQL_SETUP_RETRIES) {
            snprintf(err, errlen, "the lake flushed %d times while the query was set up; retry",
                     SQL_SETUP_RETRIES);
            rc = ORASI_EBUSY;
            goto out;
        }
    }
    for (int s = 0; s < LAKE_SIG_COUNT && !rc; s++) {
        if (!su->used[s])
            continue;
        buf_clear(&q);
        if ((rc = view_sql(&q, e, s, &su->files[s], hot_mask(pr, s),
                           pr->sig == s ? pr->t0 : INT64_MIN,
                           pr->sig == s ? pr->t1 : INT64_MAX)) == ORASI_ETOOBIG)
            snprintf(err, errlen, "the query would read too many files (%zu); narrow its time range",
                     su->files[s].n);
        if (!rc)
            rc = exec(con, (const char *)q.data, err, errlen);
        if (rc == ORASI_EINVAL)
            rc = ORASI_EINTERNAL;
    }
out:
    buf_free(&q);
    return rc;
}

/* Drop what setup created, so nothing outlives the query on this connection. */
static void cleanup_tables(duckdb_connection con, const struct setup *su)
{
    char q[160], err[256];
    for (int s = 0; s < LAKE_SIG_COUNT; s++) {
        if (!su->used[s])
            continue;
        snprintf(q, sizeof(q), "DROP VIEW IF EXISTS temp.main.%s", colbuf_sig_name(s));
        exec(con, q, err, sizeof(err));
        snprintf(q, sizeof(q), "DROP TABLE IF EXISTS temp.main." SQL_HOT_PREFIX "%s",
                 colbuf_sig_name(s));
        exec(con, q, err, sizeof(err));
    }
}

/* ---- running a query --------------------------------------------------------------------------- */

struct run {
    sql_engine_t *e;
    size_t slot;
    duckdb_connection con;
    const char *tenant;
    const char *sql;
    size_t sql_len;
    enum sql_format fmt;
    uint64_t start, deadline;
    buf_t *out;
    struct sql_stats *st;
    char *err;
    size_t errlen;
};

/* Prepare statement 0 of ex and require SELECT. */
static int prepare_select(struct run *r, duckdb_extracted_statements ex,
                          duckdb_prepared_statement *ps, int *refused)
{
    *refused = 0;
    if (duckdb_prepare_extracted_statement(r->con, ex, 0, ps) != DuckDBSuccess) {
        const char *m = duckdb_prepare_error(*ps);
        snprintf(r->err, r->errlen, "%s", m ? m : "cannot prepare the statement");
        return ORASI_EINVAL;
    }
    duckdb_statement_type t = duckdb_prepared_statement_type(*ps);
    if (t != DUCKDB_STATEMENT_TYPE_SELECT) {
        snprintf(r->err, r->errlen,
                 "Permission Error: only a single SELECT statement may run here; this is a "
                 "%s statement",
                 stmt_type_name(t));
        *refused = 1;
        return ORASI_EINVAL;
    }
    return 0;
}

static int stream_result(struct run *r, duckdb_prepared_statement ps, uint64_t nfiles,
                         uint64_t hot_rows)
{
    sql_engine_t *e = r->e;
    duckdb_result res;
    sql_out_t o;
    int rc, truncated = 0, open = 0;
    uint64_t rows = 0, max_rows = (uint64_t)e->o.max_rows;
    if (duckdb_execute_prepared_streaming(ps, &res) != DuckDBSuccess) {
        const char *m = duckdb_result_error(&res);
        snprintf(r->err, r->errlen, "%s", m ? m : "query failed");
        duckdb_destroy_result(&res);
        return ORASI_EINVAL;
    }
    rc = sql_out_begin(&o, r->fmt, r->out, r->out->len + e->o.max_result_size, &res);
    if (rc) {
        snprintf(r->err, r->errlen, "answer: %s", orasi_strerror(rc));
        goto out;
    }
    open = 1;
    for (;;) {
        duckdb_data_chunk ch = duckdb_fetch_chunk(res);
        if (!ch)
            break;
        idx_t n = duckdb_data_chunk_get_size(ch);
        if (n == 0) {
            duckdb_destroy_data_chunk(&ch);
            break;
        }
        if (rows >= max_rows) {
            truncated = 1;
            duckdb_destroy_data_chunk(&ch);
            break;
        }
        idx_t take = n, wrote = 0;
        if (take > max_rows - rows) {
            take = (idx_t)(max_rows - rows);
            truncated = 1;
        }
        rc = sql_out_rows(&o, ch, take, &wrote);
        duckdb_destroy_data_chunk(&ch);
        rows += wrote;
        if (rc == ORASI_ETOOBIG) {
            truncated = 1;
            rc = 0;
            break;
        }
        if (rc) {
            snprintf(r->err, r->errlen, "answer: %s", orasi_strerror(rc));
            goto out;
        }
        if (truncated)
            break;
    }
    const char *m = duckdb_result_error(&res);
    if (m) {
        snprintf(r->err, r->errlen, "%s", m);
        rc = ORASI_EINVAL;
        goto out;
    }
    r->st->rows = rows;
    r->st->truncated = truncated;
    r->st->files_scanned = nfiles;
    r->st->hot_rows = hot_rows;
    r->st->elapsed_ms = (double)(clock_mono_ns() - r->start) / 1e6;
    rc = sql_out_end(&o, r->st);
    if (rc)
        snprintf(r->err, r->errlen, "answer: %s", orasi_strerror(rc));
out:
    if (open)
        sql_out_free(&o);
    duckdb_destroy_result(&res);
    return rc;
}

static int run_query(struct run *r)
{
    sql_engine_t *e = r->e;
    duckdb_extracted_statements ex = NULL;
    duckdb_prepared_statement ps = NULL;
    struct setup su;
    struct sql_prune pr;
    int rc, refused = 0, any = 0;
    memset(&su, 0, sizeof(su));

    idx_t n = duckdb_extract_statements(r->con, r->sql, &ex);
    if (n == 0) {
        const char *m = duckdb_extract_statements_error(ex);
        snprintf(r->err, r->errlen, "%s", m ? m : "the query holds no statement");
        rc = ORASI_EINVAL;
        goto out;
    }
    if (n > 1) {
        snprintf(r->err, r->errlen,
                 "Permission Error: one statement per query (this text holds %llu)",
                 (unsigned long long)n);
        rc = ORASI_EINVAL;
        goto out;
    }
    /* Never prepare what DuckDB's parser does not call a SELECT: binding alone has side
     * effects for some statements (EXPORT DATABASE creates its directory). */
    memset(&pr, 0, sizeof(pr));
    pr.sig = -1;
    pr.t0 = INT64_MIN;
    pr.t1 = INT64_MAX;
    sql_prune_analyze(r->con, r->sql, e->o.timeout + SQL_PRUNE_MARGIN_NS, &pr);
    if (!pr.serialized) {
        snprintf(r->err, r->errlen, "the statement could not be checked");
        rc = ORASI_EINTERNAL;
        goto out;
    }
    if (pr.not_select) {
        char word[24];
        first_word(r->sql, word, sizeof(word));
        snprintf(r->err, r->errlen,
                 "Permission Error: only a single SELECT statement may run here; this is a "
                 "%s statement",
                 word);
        rc = ORASI_EINVAL;
        goto out;
    }
    for (int s = 0; s < LAKE_SIG_COUNT; s++)
        any |= su.used[s] = nocase_contains(r->sql, r->sql_len, colbuf_sig_name(s));
    uint64_t t_setup = clock_mono_ns();
    if (any && (rc = setup_tables(e, r->con, r->tenant, &pr, r->deadline, &su, r->err,
                                  r->errlen)))
        goto out;
    r->st->setup_ms = (double)(clock_mono_ns() - t_setup) / 1e6;
    if ((rc = prepare_select(r, ex, &ps, &refused)))
        goto out;
    rc = stream_result(r, ps, su.nfiles, su.hot_rows);
out:
    if (rc && timed_out(e, r->slot)) {
        snprintf(r->err, r->errlen,
                 "the query was interrupted after %llu ms (query.timeout); narrow its time "
                 "range or simplify it",
                 (unsigned long long)(e->o.timeout / NS_PER_MS));
        rc = ORASI_ETIMEOUT;
    }
    duckdb_destroy_prepare(&ps);
    if (ex)
        duckdb_destroy_extracted(&ex);
    if (any) {
        watch_stop(e, r->slot); /* the cleanup must not be interrupted */
        cleanup_tables(r->con, &su);
    }
    setup_free(&su);
    return rc;
}

static void slow_log(sql_engine_t *e, const char *tenant, const char *sql, size_t len,
                     double ms, const struct sql_stats *st, int rc)
{
    buf_t f;
    buf_init(&f, SQL_SLOW_SQL_MAX * 6 + 512);
    int r = buf_append_str(&f, "\"tenant\":");
    if (!r)
        r = buf_append_json_str(&f, tenant, strlen(tenant));
    if (!r)
        r = buf_printf(&f, ",\"elapsed_ms\":%.3f,\"files\":%" PRIu64 ",\"rows\":%" PRIu64
                           ",\"result\":\"%s\",\"sql\":",
                       ms, st->files_scanned, st->rows, rc ? orasi_errname(rc) : "ok");
    if (!r)
        r = buf_append_json_str(&f, sql, len > SQL_SLOW_SQL_MAX ? SQL_SLOW_SQL_MAX : len);
    if (!r)
        r = buf_append_byte(&f, 0);
    log_msg(LOG_WARN, "sql", r ? NULL : (const char *)f.data, "slow query: %.0f ms, %" PRIu64
            " files", ms, st->files_scanned);
    buf_free(&f);
}

int sql_query(sql_engine_t *e, const char *tenant, const char *sql, size_t sql_len,
              enum sql_format fmt, buf_t *out, struct sql_stats *st, char *err, size_t errlen)
{
    struct sql_stats local;
    struct sql_tenant *t = NULL;
    char *text = NULL;
    size_t slot = SIZE_MAX, out_len0 = out->len;
    int rc;
    uint64_t start = clock_mono_ns(), deadline = start + e->o.timeout;
    if (!st)
        st = &local;
    memset(st, 0, sizeof(*st));
    err[0] = 0;

    if (!tenant || !sql_tenant_valid(slice_cstr(tenant))) {
        snprintf(err, errlen, "invalid tenant name (allowed: 1-64 of A-Z a-z 0-9 _ . -)");
        rc = ORASI_EINVAL;
        goto out;
    }
    if (sql_len > e->o.max_sql_size) {
        snprintf(err, errlen, "the query text is %zu bytes; the limit is %llu (query.max_sql_size)",
                 sql_len, (unsigned long long)e->o.max_sql_size);
        rc = ORASI_EINVAL;
        goto out;
    }
    if (memchr(sql, 0, sql_len)) {
        snprintf(err, errlen, "the query text holds a NUL byte");
        rc = ORASI_EINVAL;
        goto out;
    }
    if (!(text = orasi_strndup(sql, sql_len))) {
        rc = ORASI_ENOMEM;
        goto out;
    }
    if ((rc = slot_acquire(e, deadline, &slot))) {
        snprintf(err, errlen, "too many queries running (query.max_concurrent = %lld); retry",
                 (long long)e->o.max_concurrent);
        goto out;
    }
    metric_add(e->m.running, 1);
    if ((rc = tenant_acquire(e, tenant, deadline, &t, err, errlen)))
        goto out;
    duckdb_connection *con = &t->conns[slot];
    if (!*con && duckdb_connect(t->db, con) != DuckDBSuccess) {
        *con = NULL;
        snprintf(err, errlen, "DuckDB: cannot connect");
        rc = ORASI_EINTERNAL;
        goto out;
    }
    watch_start(e, slot, *con, deadline);
    struct run r = {e, slot, *con, tenant, text, sql_len, fmt, start, deadline, out, st, err,
                    errlen};
    rc = run_query(&r);
    watch_stop(e, slot);
out:
    if (t)
        tenant_release(e, t);
    if (slot != SIZE_MAX) {
        slot_release(e, slot);
        metric_add(e->m.running, -1);
    }
    if (rc) {
        out->len = out_len0;
        if (!err[0])
            snprintf(err, errlen, "%s", orasi_strerror(rc));
    }
    uint64_t ns = clock_mono_ns() - start;
    st->elapsed_ms = (double)ns / 1e6;
    int res = rc == 0                 ? R_OK
              : rc == ORASI_EINVAL    ? R_SQL
              : rc == ORASI_ETIMEOUT  ? R_TIMEOUT
              : rc == ORASI_EBUSY     ? R_BUSY
                                      : R_INTERNAL;
    metric_inc(e->m.queries[res]);
    if (rc)
        metric_inc(e->m.errors);
    metric_observe(e->m.duration, (double)ns / 1e9);
    metric_add(e->m.files, (double)st->files_scanned);
    metric_observe(e->m.files_per_query, (double)st->files_scanned);
    metric_add(e->m.rows, (double)st->rows);
    if (e->o.slow_query_threshold && ns >= e->o.slow_query_threshold)
        slow_log(e, tenant ? tenant : "", sql, sql_len, st->elapsed_ms, st, rc);
    orasi_free(text);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------------------ */

const struct sql_options *sql_engine_options(const sql_engine_t *e)
{
    return &e->o;
}

int sql_engine_create(const struct sql_options *opts, lake_t *lake, sql_engine_t **out,
                      char *err, size_t errlen)
{
    sql_engine_t *e = NULL;
    int rc = ORASI_ENOMEM;
    char real[PATH_MAX];
    *out = NULL;
    if (!lake) {
        snprintf(err, errlen, "sql: no lake");
        return ORASI_EINVAL;
    }
    e = orasi_calloc(1, sizeof(*e));
    if (!e)
        goto fail;
    if (opts)
        e->o = *opts;
    else
        sql_options_default(&e->o);
    if (e->o.max_concurrent < 1 || e->o.max_tenants < 1 || e->o.max_rows < 1 ||
        e->o.threads < 1 || !e->o.timeout || e->o.max_result_size < 1024) {
        snprintf(err, errlen, "sql: invalid options");
        rc = ORASI_EINVAL;
        goto fail;
    }
    e->lake = lake;
    e->cat = lake_catalog(lake);
    if (!realpath(lake_root(lake), real)) {
        rc = orasi_err_from_errno(errno);
        snprintf(err, errlen, "sql: cannot resolve the lake root %s: %s", lake_root(lake),
                 orasi_strerror(rc));
        goto fail;
    }
    if (!(e->root = orasi_strdup(real)))
        goto fail;
    e->nslots = (size_t)e->o.max_concurrent;
    e->ntenants_max = (size_t)e->o.max_tenants;
    e->slots = orasi_calloc(e->nslots, sizeof(*e->slots));
    e->tenants = orasi_calloc(e->ntenants_max, sizeof(*e->tenants));
    if (!e->slots || !e->tenants)
        goto fail;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->changed, &ca);
    pthread_cond_init(&e->wd_wake, &ca);
    pthread_condattr_destroy(&ca);
    e->sync_init = 1;
    metrics_init(&e->m);
    if (pthread_create(&e->wd, NULL, watchdog_main, e) != 0) {
        rc = ORASI_ESYS;
        snprintf(err, errlen, "sql: cannot start the watchdog thread");
        goto fail;
    }
    e->wd_started = 1;
    *out = e;
    return 0;
fail:
    if (rc == ORASI_ENOMEM)
        snprintf(err, errlen, "sql: out of memory");
    sql_engine_destroy(e);
    return rc;
}

void sql_engine_destroy(sql_engine_t *e)
{
    if (!e)
        return;
    if (e->sync_init) {
        sql_engine_interrupt_all(e);
        /* wait for running queries to give their slots back */
        pthread_mutex_lock(&e->mu);
        for (;;) {
            int busy = 0;
            for (size_t i = 0; i < e->nslots; i++)
                busy |= e->slots[i].used;
            if (!busy)
                break;
            struct timespec ts;
            abs_deadline(&ts, clock_mono_ns() + 100 * NS_PER_MS);
            pthread_cond_timedwait(&e->changed, &e->mu, &ts);
        }
        e->stop = 1;
        pthread_cond_broadcast(&e->wd_wake);
        pthread_cond_broadcast(&e->changed);
        pthread_mutex_unlock(&e->mu);
    }
    if (e->wd_started)
        pthread_join(e->wd, NULL);
    for (size_t i = 0; e->tenants && i < e->ntenants_max; i++)
        if (e->tenants[i].used)
            tenant_close(e, &e->tenants[i]);
    if (e->sync_init) {
        pthread_mutex_destroy(&e->mu);
        pthread_cond_destroy(&e->changed);
        pthread_cond_destroy(&e->wd_wake);
    }
    metric_set(e->m.tenants, 0);
    orasi_free(e->tenants);
    orasi_free(e->slots);
    orasi_free(e->root);
    orasi_free(e);
}
