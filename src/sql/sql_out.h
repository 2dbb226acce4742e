/*
 * sql_out.h — query results as JSON or CSV, written straight from DuckDB data chunks.
 *
 * JSON (application/json):
 *   {"columns":[{"name":"n","type":"BIGINT"},...],
 *    "rows":[[1,"a",null],...],
 *    "stats":{"rows":2,"elapsed_ms":1.25,"files_scanned":3,"truncated":false}}
 *
 * Values keep their exact form: every integer (up to HUGEINT/UHUGEINT) and DECIMAL is
 * printed digit by digit from its binary value, never through a double; DOUBLE/FLOAT use
 * the shortest text that reads back as the same double, with NaN and infinities as the
 * strings "NaN", "Infinity", "-Infinity". Timestamps are RFC 3339 strings in UTC with
 * the type's precision ("2026-11-22T02:16:07.123456789Z" for TIMESTAMP_NS); DATE
 * "YYYY-MM-DD"; TIME "HH:MM:SS.ffffff"; INTERVAL as DuckDB prints it; UUID in its
 * 8-4-4-4-12 form; BLOB as base64; LIST/ARRAY as arrays; STRUCT and MAP as objects (a
 * non-string MAP key becomes its JSON text as the key); NULL as null.
 *
 * CSV (text/csv, RFC 4180): a header line of column names, CRLF line ends, fields quoted
 * when they hold a comma, quote, CR or LF; NULL is an empty field; nested values are
 * written as their JSON text.
 */
#ifndef ORASI_SQL_SQL_OUT_H
#define ORASI_SQL_SQL_OUT_H

#include "core/buf.h"

#include <duckdb.h>
#include <stdint.h>

enum sql_format { SQL_FORMAT_JSON = 0, SQL_FORMAT_CSV = 1 };

/* What a query did (JSON "stats"; HTTP headers for CSV). */
struct sql_stats {
    uint64_t rows;          /* rows in the answer */
    double elapsed_ms;      /* from accepting the query to its last row */
    uint64_t files_scanned; /* Parquet files the query's views read */
    uint64_t hot_rows;      /* unflushed rows copied from the lake's buffers */
    double setup_ms;        /* of elapsed_ms: catalog listing, buffer copy, views */
    int truncated;          /* the row cap or the size cap cut the answer */
};

typedef struct {
    enum sql_format fmt;
    buf_t *b;               /* borrowed */
    size_t soft_max;        /* rows stop once the output passes this many bytes */
    idx_t ncols;
    struct tnode *cols;     /* owned: one type tree per column (private) */
    uint64_t rows;
} sql_out_t;

/* Start an answer for `res` into b (whose cap must leave room for the trailer: rows stop
 * at soft_max). 0, ORASI_ENOMEM, ORASI_ETOOBIG. */
int sql_out_begin(sql_out_t *o, enum sql_format fmt, buf_t *b, size_t soft_max,
                  duckdb_result *res);
/* Append rows [0, n) of chunk ch; *written receives how many went in. ORASI_ETOOBIG when
 * the size cap stopped it (the output still holds whole rows only). */
int sql_out_rows(sql_out_t *o, duckdb_data_chunk ch, idx_t n, idx_t *written);
/* Close the document (JSON: rows array and stats; CSV: nothing). */
int sql_out_end(sql_out_t *o, const struct sql_stats *st);
void sql_out_free(sql_out_t *o);

/* Append DuckDB's name of a type: "BIGINT", "VARCHAR[]", "MAP(VARCHAR, VARCHAR)",
 * "STRUCT(a INTEGER, \"B c\" VARCHAR)", "DECIMAL(18,3)", "TIMESTAMP WITH TIME ZONE".
 * A struct member's name is quoted unless it is a plain lower-case identifier. */
int sql_out_type_name(buf_t *b, duckdb_logical_type t);
/* Append s between quotes q, a quote inside doubled: q '"' for an identifier, '\''
 * for a string literal. */
int sql_out_quote(buf_t *b, const char *s, char q);
/* Append s as a double-quoted SQL identifier ("" inside). */
int sql_out_ident(buf_t *b, const char *s);
/* Cap of a type name in an answer's column list. */
#define SQL_OUT_TYPE_NAME_MAX (64u << 10)

/* A JSON error document {"error":"..."} (for the HTTP layer and tests). */
int sql_out_error_json(buf_t *b, const char *msg);

#endif
