/*
 * sql_http.h — POST /v1/query on the API listener.
 *
 *   POST /v1/query
 *   X-Scope-OrgID: acme                 (tenant; absent = "default")
 *   Accept: text/csv                    (optional; JSON otherwise)
 *   {"sql": "SELECT ServiceName, count(*) FROM traces GROUP BY 1"}
 *
 *   200 application/json  {"columns":[...],"rows":[...],"stats":{...}}   (sql_out.h)
 *   200 text/csv          header line + rows; stats in X-Orasi-Rows, X-Orasi-Truncated,
 *                         X-Orasi-Files-Scanned, X-Orasi-Elapsed-Ms
 *   400 {"error":"..."}   bad request body, bad tenant, SQL refused or failed (DuckDB's
 *                         message with its LINE/caret position), timeout
 *   429 {"error":"..."}   the query queue is full (Retry-After: 1)
 *   500 {"error":"..."}   internal failure
 *
 * Queries never run on the HTTP event loops: the handler queues the request for a pool
 * of query.max_concurrent worker threads (each with its own slot and DuckDB connections)
 * and the answer is posted back to the request's loop (loop_post).
 */
#ifndef ORASI_SQL_SQL_HTTP_H
#define ORASI_SQL_SQL_HTTP_H

#include "http/http.h"
#include "sql/sql.h"

typedef struct sql_http sql_http_t;

/* Requests waiting for a worker, beyond which the handler answers 429. */
#define SQL_HTTP_QUEUE_PER_WORKER 16

/* Start the worker pool for engine `e` (borrowed; must outlive the pool). tenant_header
 * is copied (NULL = "X-Scope-OrgID"). 0 or a negative code. Caller owns *out. */
int sql_http_create(sql_engine_t *e, const char *tenant_header, sql_http_t **out);
/* Add POST /v1/query to router r. */
int sql_http_register(sql_http_t *h, http_router_t *r);
/* Stop: refuse new requests (503), interrupt running queries, join the workers, answer
 * what was still queued with 503. The HTTP loops must still be running (call before
 * http_server_destroy). */
void sql_http_shutdown(sql_http_t *h);
/* Shutdown if needed, then free. */
void sql_http_destroy(sql_http_t *h);

#endif
