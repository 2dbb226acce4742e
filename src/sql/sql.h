/*
 * sql.h — SQL over the lake: a sandboxed DuckDB query engine (DESIGN.md "SQL is the API";
 * docs/internals/sql.md).
 *
 *   sql_engine_t *e;
 *   sql_engine_create(&opts, lake, &e, err, sizeof(err));
 *   buf_t out; buf_init(&out, opts.max_result_size + 64 KiB);
 *   struct sql_stats st;
 *   rc = sql_query(e, "default", "SELECT count(*) FROM traces", len, SQL_FORMAT_JSON,
 *                  &out, &st, err, sizeof(err));
 *
 * Tables: traces, logs, metrics_gauge, metrics_sum, metrics_histogram,
 * metrics_exponential_histogram, metrics_summary (colbuf.h schemas; timestamp columns
 * are exposed as TIMESTAMP WITH TIME ZONE, UTC, so `Timestamp > now() - INTERVAL 1 HOUR`
 * works). Each is a per-query TEMP VIEW over the Parquet files the catalog lists for
 * the query's time range (or trace id) plus the lake's unflushed rows, so acknowledged
 * data is visible at once.
 *
 * Sandbox: one DuckDB database per tenant (opened lazily, at most max_tenants, least
 * recently used closed first) whose only readable directory is <lake>/tenant=<t>/, with
 * external access off, extension install/autoload off, no spilling to disk, memory and
 * thread limits, and the configuration locked. Only a single SELECT statement is run
 * (the statement type of the prepared statement is checked); views and tables are created
 * by the engine only. A watchdog interrupts queries past their timeout; results stop at
 * max_rows (truncated) and at max_result_size.
 *
 * Threads: each running query holds one of max_concurrent slots; slot i uses its own
 * DuckDB connection (one per tenant database), so a worker owns its connection.
 * sql_query may be called from any thread.
 */
#ifndef ORASI_SQL_SQL_H
#define ORASI_SQL_SQL_H

#include "core/buf.h"
#include "core/config.h"
#include "lake/lake.h"
#include "sql/sql_out.h"

#include <stddef.h>
#include <stdint.h>

struct sql_options {
    uint64_t timeout;              /* ns per query, setup included (30s) */
    int64_t max_rows;              /* rows in an answer before truncation (10000) */
    uint64_t memory_limit;         /* bytes per tenant database (1GiB) */
    int64_t threads;               /* DuckDB threads per tenant database (2) */
    int64_t max_concurrent;        /* queries running at once (4) */
    uint64_t slow_query_threshold; /* ns; queries slower are logged (LOG_W); 0 = off (1s) */
    int64_t max_tenants;           /* tenant databases kept open (16) */
    uint64_t max_result_size;      /* bytes of one answer (64MiB) */
    uint64_t max_sql_size;         /* bytes of query text (1MiB) */
};

/* The option table of the `query:` section (config.h). */
extern const config_option_t sql_config_options[];
void sql_options_default(struct sql_options *o);

typedef struct sql_engine sql_engine_t;

/* `lake` is borrowed and must outlive the engine. NULL opts = defaults. 0 or a negative
 * code with a message in err. Caller owns *out. */
int sql_engine_create(const struct sql_options *opts, lake_t *lake, sql_engine_t **out,
                      char *err, size_t errlen);
/* Interrupts running queries, waits for them, closes every database. */
void sql_engine_destroy(sql_engine_t *e);
const struct sql_options *sql_engine_options(const sql_engine_t *e);

/*
 * Run `sql` (sql_len bytes, need not be NUL-terminated) as `tenant` and append the
 * answer in `fmt` to out (whose cap should exceed max_result_size by a few KiB for the
 * trailer). st (may be NULL) receives the statistics. Returns 0, or:
 *   ORASI_EINVAL    the query was refused or failed in DuckDB (message in err, DuckDB's
 *                   own text with its LINE/caret position when it gave one): HTTP 400
 *   ORASI_ETIMEOUT  interrupted at the timeout: HTTP 400 too (err says so)
 *   ORASI_EBUSY     no slot or tenant database free within the timeout: 429/503
 *   ORASI_ENOMEM, ORASI_EINTERNAL: 500
 * On error `out` is left as it was.
 */
int sql_query(sql_engine_t *e, const char *tenant, const char *sql, size_t sql_len,
              enum sql_format fmt, buf_t *out, struct sql_stats *st, char *err,
              size_t errlen);

/* Interrupt every running query (shutdown). */
void sql_engine_interrupt_all(sql_engine_t *e);

/* 1 when `t` is a valid tenant name ([A-Za-z0-9_.-]{1,64}, not "." or ".."). */
int sql_tenant_valid(slice_t t);

#endif
