/*
 * lake_duck.c — e2e helper: query the lake's published files with DuckDB, independently
 * of orasi (compiled by tests/e2e/lake_crash.sh against the pinned libduckdb).
 *
 *   lake_duck DATA_DIR SIGNAL --list      paths of the files the catalog lists for SIGNAL
 *   lake_duck DATA_DIR SIGNAL 'SQL'       run SQL with {files} replaced by a list literal of
 *                                         those paths; print rows as tab-separated text
 *
 * Only catalog-listed files are read: files on disk that are not listed (compaction
 * leftovers waiting for their grace period) must not be counted.
 */
#include <duckdb.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *append(char *s, size_t *len, size_t *cap, const char *add)
{
    size_t n = strlen(add);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        s = realloc(s, *cap);
        if (!s) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
    memcpy(s + *len, add, n + 1);
    *len += n;
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: lake_duck DATA_DIR SIGNAL --list|SQL\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/catalog.db", argv[1]);
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT path FROM files WHERE signal=?1 ORDER BY path", -1, &st,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "catalog: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_bind_text(st, 1, argv[2], -1, SQLITE_STATIC);
    size_t len = 0, cap = 0, nfiles = 0;
    char *list = append(NULL, &len, &cap, "[");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *rel = (const char *)sqlite3_column_text(st, 0);
        if (strcmp(argv[3], "--list") == 0) {
            printf("%s/lake/%s\n", argv[1], rel);
            continue;
        }
        list = append(list, &len, &cap, nfiles ? ",'" : "'");
        list = append(list, &len, &cap, argv[1]);
        list = append(list, &len, &cap, "/lake/");
        list = append(list, &len, &cap, rel);
        list = append(list, &len, &cap, "'");
        nfiles++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    list = append(list, &len, &cap, "]");
    if (strcmp(argv[3], "--list") == 0)
        return 0;
    if (!nfiles) {
        fprintf(stderr, "no files listed for %s\n", argv[2]);
        return 1;
    }
    /* substitute {files} */
    size_t qlen = 0, qcap = 0;
    char *q = append(NULL, &qlen, &qcap, "");
    const char *p = argv[3];
    for (;;) {
        const char *hit = strstr(p, "{files}");
        if (!hit) {
            q = append(q, &qlen, &qcap, p);
            break;
        }
        char save[4096];
        size_t n = (size_t)(hit - p) < sizeof(save) - 1 ? (size_t)(hit - p) : sizeof(save) - 1;
        memcpy(save, p, n);
        save[n] = 0;
        q = append(q, &qlen, &qcap, save);
        q = append(q, &qlen, &qcap, list);
        p = hit + 7;
    }
    duckdb_database ddb;
    duckdb_connection con;
    duckdb_result r;
    if (duckdb_open(NULL, &ddb) != DuckDBSuccess || duckdb_connect(ddb, &con) != DuckDBSuccess) {
        fprintf(stderr, "duckdb open failed\n");
        return 1;
    }
    if (duckdb_query(con, q, &r) != DuckDBSuccess) {
        fprintf(stderr, "query failed: %s\n", duckdb_result_error(&r));
        return 1;
    }
    idx_t cols = duckdb_column_count(&r), rows = duckdb_row_count(&r);
    for (idx_t i = 0; i < rows; i++) {
        for (idx_t c = 0; c < cols; c++) {
            char *v = duckdb_value_varchar(&r, c, i);
            printf("%s%s", c ? "\t" : "", v ? v : "NULL");
            duckdb_free(v);
        }
        printf("\n");
    }
    duckdb_destroy_result(&r);
    duckdb_disconnect(&con);
    duckdb_close(&ddb);
    free(q);
    free(list);
    return 0;
}
