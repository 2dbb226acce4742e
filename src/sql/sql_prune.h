/*
 * sql_prune.h — which part of the lake a query can possibly read.
 *
 * The query's AST comes from DuckDB itself (json_serialize_sql, the json extension is
 * built into libduckdb), so there is no second SQL parser to disagree with DuckDB. Only
 * the simplest shape is pruned, and anything unclear keeps the full range (correctness
 * first):
 *
 *   one SELECT, FROM exactly one of the lake tables (no join, no subquery, no CTE, no
 *   set operation, no column renaming), and top-level AND-ed conjuncts of the WHERE
 *   clause of the form
 *     <time column> {> | >= | < | <= | =} <constant expr>   (either side)
 *     <time column> BETWEEN <constant expr> AND <constant expr>
 *     TraceId = '<32 hex digits>'                            (traces only)
 *
 * The time column is the table's partition-time column (Timestamp; TimeUnix for metrics).
 * A constant expression is built only of literals, casts, arithmetic and a list of
 * deterministic time functions (now(), INTERVAL arithmetic, date_trunc, ...); it is
 * evaluated by DuckDB on the query's own connection. Bounds are then widened by `slack`
 * (the query's timeout plus a margin), because now() is evaluated again, a little later,
 * by the query itself, and because comparisons may round to microseconds.
 */
#ifndef ORASI_SQL_SQL_PRUNE_H
#define ORASI_SQL_SQL_PRUNE_H

#include "lake/colbuf.h"

#include <duckdb.h>
#include <stdint.h>

struct sql_prune {
    int serialized;        /* DuckDB's serializer answered (with an AST or an error) */
    int not_select;        /* ... and said this is not a SELECT statement */
    int sig;               /* the only lake table the query reads, or -1 */
    int64_t t0, t1;        /* inclusive bounds on its time column (INT64_MIN/MAX: none) */
    int has_trace_id;      /* a TraceId = '...' conjunct was found */
    uint8_t trace_id[16];
    /* Columns the query may read, per lake table: bit i = column i of colbuf_schema(sig);
     * all ones when unknown. Every COLUMN_REF of the AST is matched by name; a star, a
     * positional reference, a table function, PIVOT, SUMMARIZE/SHOW, NATURAL joins or a
     * name that is neither a lake column nor a select-list alias make it "all". The
     * engine copies only these columns of the unflushed rows (the rest stay NULL). */
    uint64_t colmask[LAKE_SIG_COUNT];
    /* A plain "SELECT columns FROM t LIMIT n [OFFSET m]" (no WHERE, grouping, ordering,
     * distinct, sampling or expression): any n+m rows answer it, so at most that many
     * buffered rows are needed. 0 = no such limit. */
    uint64_t hot_limit;
};

/* Analyse `sql` (NUL-terminated, a single statement) on `con`. Never fails the query: on
 * any problem (not serializable, unexpected shape, allocation failure) the result says
 * "no pruning" (sig -1 or full range). Returns 1 when some bound or trace id was found.
 * Since json_serialize_sql accepts only SELECT statements, this is also how the engine
 * learns, without preparing it (binding some statements, EXPORT for one, already touches
 * the file system), that a statement is not a SELECT: out->not_select. */
int sql_prune_analyze(duckdb_connection con, const char *sql, uint64_t slack_ns,
                      struct sql_prune *out);

#endif
