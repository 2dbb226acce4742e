/*
 * query.c — `orasi query`: send SQL to a running Orasi (POST /v1/query) and print the
 * answer as an aligned table (default), CSV or JSON. Exit 0 on success; 1 with the
 * server's (DuckDB's) message on a SQL error or when the server cannot be reached;
 * 2 on a usage error.
 *
 * The table is rendered from the JSON answer: one column per result column, numbers
 * right-aligned, NULL shown as NULL, nested values as compact JSON, cells longer than
 * QUERY_CELL_MAX characters cut with "…", then "(N rows)".
 */
#include "cli/cli.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "otlp/json.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUERY_MAX_ANSWER ((size_t)1 << 30)
#define QUERY_MAX_SQL ((size_t)16 << 20)
#define QUERY_CELL_MAX 120 /* display characters per table cell */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    buf_t *b = ud;
    return buf_append(b, p, sz * n) == 0 ? sz * n : 0;
}

/* Compact JSON text of token i (nested values in table cells). */
static int put_json(buf_t *b, const json_doc_t *d, uint32_t i)
{
    const json_tok_t *t = json_at(d, i);
    int rc = 0;
    switch (t->type) {
    case JSON_NULL: return buf_append_str(b, "null");
    case JSON_TRUE: return buf_append_str(b, "true");
    case JSON_FALSE: return buf_append_str(b, "false");
    case JSON_NUMBER: return buf_append(b, t->p, t->len);
    case JSON_STRING: return buf_append_json_str(b, (const char *)t->p, t->len);
    case JSON_ARRAY:
        rc = buf_append_byte(b, '[');
        JSON_ARR_FOREACH(d, i, el)
        {
            if (!rc && el != i + 1)
                rc = buf_append_byte(b, ',');
            if (!rc)
                rc = put_json(b, d, el);
        }
        return rc ? rc : buf_append_byte(b, ']');
    default:
        rc = buf_append_byte(b, '{');
        JSON_OBJ_FOREACH(d, i, k, v)
        {
            if (!rc && k != i + 1)
                rc = buf_append_byte(b, ',');
            if (!rc)
                rc = put_json(b, d, k);
            if (!rc)
                rc = buf_append_byte(b, ':');
            if (!rc)
                rc = put_json(b, d, v);
        }
        return rc ? rc : buf_append_byte(b, '}');
    }
}

/* Display text of a cell: strings raw (control characters escaped so rows stay on one
 * line), null as NULL, the rest as JSON. */
static int cell_text(buf_t *b, const json_doc_t *d, uint32_t i)
{
    const json_tok_t *t = json_at(d, i);
    if (t->type == JSON_NULL)
        return buf_append_str(b, "NULL");
    if (t->type != JSON_STRING)
        return put_json(b, d, i);
    int rc = 0;
    for (uint32_t k = 0; k < t->len && !rc; k++) {
        uint8_t c = t->p[k];
        if (c == '\n')
            rc = buf_append_str(b, "\\n");
        else if (c == '\t')
            rc = buf_append_str(b, "\\t");
        else if (c == '\r')
            rc = buf_append_str(b, "\\r");
        else if (c < 0x20)
            rc = buf_printf(b, "\\x%02x", c);
        else
            rc = buf_append_byte(b, c);
    }
    return rc;
}

/* Characters (code points) in a UTF-8 string. */
static size_t u8_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((uint8_t)s[i] & 0xC0) != 0x80;
    return w;
}

/* Byte length of the first `chars` code points. */
static size_t u8_prefix(const char *s, size_t n, size_t chars)
{
    size_t i = 0, c = 0;
    for (; i < n; i++) {
        if (((uint8_t)s[i] & 0xC0) != 0x80) {
            if (c == chars)
                break;
            c++;
        }
    }
    return i;
}

struct cellv {
    uint32_t off, len, width;
};

static int is_numeric_type(slice_t t)
{
    static const char *const num[] = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                                      "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
                                      "FLOAT", "DOUBLE", "DECIMAL", NULL};
    for (int i = 0; num[i]; i++) {
        size_t n = strlen(num[i]);
        if (t.len >= n && memcmp(t.p, num[i], n) == 0 && (t.len == n || t.p[n] == '('))
            return 1;
    }
    return 0;
}

static void pad(FILE *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', f);
}

static int print_table(const uint8_t *body, size_t len, FILE *f)
{
    arena_t *a = arena_create(1 << 20, 0);
    json_doc_t d;
    json_err_t je;
    json_limits_t lim = {.max_depth = 256, .max_tokens = 256u << 20, .max_input = QUERY_MAX_ANSWER};
    buf_t text;
    struct cellv *cells = NULL;
    size_t *w = NULL;
    int *num = NULL, rc = 1;
    buf_init(&text, QUERY_MAX_ANSWER);
    if (!a || json_parse(slice_make(body, len), &lim, a, &d, &je) != 0) {
        fprintf(stderr, "orasi query: the server's answer is not JSON%s%s\n", a ? ": " : "",
                a ? je.msg : "");
        goto out;
    }
    uint32_t cols = json_obj_get(&d, 0, "columns"), rows = json_obj_get(&d, 0, "rows");
    uint32_t stats = json_obj_get(&d, 0, "stats");
    if (cols == JSON_NONE || rows == JSON_NONE || !json_is(&d, cols, JSON_ARRAY) ||
        !json_is(&d, rows, JSON_ARRAY)) {
        fprintf(stderr, "orasi query: unexpected answer (no columns/rows)\n");
        goto out;
    }
    size_t nc = json_at(&d, cols)->n, nr = json_at(&d, rows)->n;
    cells = orasi_calloc((nr + 1) * (nc ? nc : 1), sizeof(*cells));
    w = orasi_calloc(nc ? nc : 1, sizeof(*w));
    num = orasi_calloc(nc ? nc : 1, sizeof(*num));
    if (!cells || !w || !num) {
        fprintf(stderr, "orasi query: out of memory\n");
        goto out;
    }
    /* header */
    size_t c = 0;
    JSON_ARR_FOREACH(&d, cols, col)
    {
        uint32_t name = json_obj_get(&d, col, "name"), type = json_obj_get(&d, col, "type");
        struct cellv *cv = &cells[c];
        cv->off = (uint32_t)text.len;
        if (name != JSON_NONE && json_is(&d, name, JSON_STRING))
            buf_append(&text, json_at(&d, name)->p, json_at(&d, name)->len);
        cv->len = (uint32_t)(text.len - cv->off);
        num[c] = type != JSON_NONE && json_is(&d, type, JSON_STRING) &&
                 is_numeric_type(json_slice(&d, type));
        c++;
    }
    size_t r = 1;
    JSON_ARR_FOREACH(&d, rows, row)
    {
        c = 0;
        if (!json_is(&d, row, JSON_ARRAY))
            continue;
        JSON_ARR_FOREACH(&d, row, v)
        {
            if (c >= nc)
                break;
            struct cellv *cv = &cells[r * nc + c];
            cv->off = (uint32_t)text.len;
            if (cell_text(&text, &d, v) != 0) {
                fprintf(stderr, "orasi query: answer too large to print as a table\n");
                goto out;
            }
            cv->len = (uint32_t)(text.len - cv->off);
            c++;
        }
        r++;
    }
    for (size_t i = 0; i < (nr + 1) * nc; i++) {
        struct cellv *cv = &cells[i];
        const char *s = (const char *)text.data + cv->off;
        cv->width = (uint32_t)u8_width(s, cv->len);
        if (cv->width > QUERY_CELL_MAX) {
            cv->len = (uint32_t)u8_prefix(s, cv->len, QUERY_CELL_MAX - 1);
            cv->width = QUERY_CELL_MAX; /* the cut text plus "…" */
        }
        if (cv->width > w[i % nc])
            w[i % nc] = cv->width;
    }
    for (size_t row = 0; row <= nr; row++) {
        for (c = 0; c < nc; c++) {
            struct cellv *cv = &cells[row * nc + c];
            const char *s = (const char *)text.data + cv->off;
            int cut = u8_width(s, cv->len) < cv->width;
            size_t gap = w[c] - cv->width;
            fputs(c ? " | " : " ", f);
            if (row && num[c])
                pad(f, gap);
            fwrite(s, 1, cv->len, f);
            if (cut)
                fputs("…", f);
            if (!(row && num[c]) && c + 1 < nc)
                pad(f, gap);
        }
        fputc('\n', f);
        if (row == 0) {
            for (c = 0; c < nc; c++) {
                fputs(c ? "-+-" : "-", f);
                for (size_t k = 0; k < w[c]; k++)
                    fputc('-', f);
            }
            fputs("-\n", f);
        }
    }
    uint32_t tr = stats != JSON_NONE ? json_obj_get(&d, stats, "truncated") : JSON_NONE;
    int truncated = tr != JSON_NONE && json_is(&d, tr, JSON_TRUE);
    fprintf(f, "(%zu row%s%s)\n", nr, nr == 1 ? "" : "s",
            truncated ? ", truncated: more rows matched (query.max_rows)" : "");
    rc = 0;
out:
    orasi_free(cells);
    orasi_free(w);
    orasi_free(num);
    buf_free(&text);
    arena_destroy(a);
    return rc;
}

/* The "error" member of a JSON error answer, printed to stderr. */
static void print_error(const uint8_t *body, size_t len, long status)
{
    arena_t *a = arena_create(64 << 10, 0);
    json_doc_t d;
    if (a && json_parse(slice_make(body, len), NULL, a, &d, NULL) == 0 &&
        json_is(&d, 0, JSON_OBJECT)) {
        uint32_t e = json_obj_get(&d, 0, "error");
        if (e != JSON_NONE && json_is(&d, e, JSON_STRING)) {
            fprintf(stderr, "orasi query: %.*s\n", (int)json_at(&d, e)->len,
                    (const char *)json_at(&d, e)->p);
            arena_destroy(a);
            return;
        }
    }
    arena_destroy(a);
    fprintf(stderr, "orasi query: HTTP %ld: %.*s\n", status, (int)(len > 2000 ? 2000 : len),
            (const char *)body);
}

static int read_stdin(buf_t *b)
{
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), stdin)) > 0)
        if (buf_append(b, tmp, n) != 0)
            return -1;
    return ferror(stdin) ? -1 : 0;
}

int cmd_query(int argc, char **argv)
{
    const char *url = "http://127.0.0.1:8080", *tenant = NULL, *format = "table", *sql = NULL;
    long timeout_s = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_usage_of("query", stdout);
            return 0;
        } else if (strcmp(a, "--url") == 0) {
            slot = &url;
        } else if (strcmp(a, "--tenant") == 0) {
            slot = &tenant;
        } else if (strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) {
            slot = &format;
        } else if (strcmp(a, "--timeout") == 0) {
            if (i + 1 >= argc || (timeout_s = strtol(argv[i + 1], NULL, 10)) <= 0) {
                fprintf(stderr, "orasi query: --timeout needs a number of seconds\n");
                return 2;
            }
            i++;
            continue;
        } else if (a[0] == '-' && a[1] && strcmp(a, "-") != 0) {
            fprintf(stderr, "orasi query: unknown option '%s'\n", a);
            cli_usage_of("query", stderr);
            return 2;
        } else if (!sql) {
            sql = a;
            continue;
        } else {
            fprintf(stderr, "orasi query: one SQL argument only (quote it)\n");
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "orasi query: %s needs a value\n", a);
            return 2;
        }
        *slot = argv[++i];
    }
    int fmt_table = strcmp(format, "table") == 0, fmt_csv = strcmp(format, "csv") == 0;
    if (!fmt_table && !fmt_csv && strcmp(format, "json") != 0) {
        fprintf(stderr, "orasi query: --format must be table, csv or json\n");
        return 2;
    }
    if (!sql) {
        fprintf(stderr, "orasi query: no SQL given\n");
        cli_usage_of("query", stderr);
        return 2;
    }
    buf_t text, req, resp;
    buf_init(&text, QUERY_MAX_SQL);
    buf_init(&req, QUERY_MAX_SQL * 6 + 64);
    buf_init(&resp, QUERY_MAX_ANSWER);
    int rc = 1;
    CURL *c = NULL;
    struct curl_slist *hdr = NULL;
    char endpoint[2048], th[256], errbuf[CURL_ERROR_SIZE] = "";
    if (strcmp(sql, "-") == 0) {
        if (read_stdin(&text) != 0) {
            fprintf(stderr, "orasi query: cannot read the SQL from stdin\n");
            goto out;
        }
    } else if (buf_append_str(&text, sql) != 0) {
        fprintf(stderr, "orasi query: SQL too long\n");
        goto out;
    }
    if (buf_append_str(&req, "{\"sql\":") || buf_append_json_str(&req, (const char *)text.data, text.len) ||
        buf_append_str(&req, "}")) {
        fprintf(stderr, "orasi query: SQL too long\n");
        goto out;
    }
    size_t ul = strlen(url);
    while (ul && url[ul - 1] == '/')
        ul--;
    snprintf(endpoint, sizeof(endpoint), "%.*s/v1/query", (int)ul, url);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(c = curl_easy_init())) {
        fprintf(stderr, "orasi query: cannot initialise libcurl\n");
        goto out;
    }
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, fmt_csv ? "Accept: text/csv" : "Accept: application/json");
    if (tenant) {
        snprintf(th, sizeof(th), "X-Scope-OrgID: %s", tenant);
        hdr = curl_slist_append(hdr, th);
    }
    curl_easy_setopt(c, CURLOPT_URL, endpoint);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    if (timeout_s)
        curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    CURLcode cr = curl_easy_perform(c);
    if (cr != CURLE_OK) {
        fprintf(stderr, "orasi query: %s: %s\n", endpoint, errbuf[0] ? errbuf : curl_easy_strerror(cr));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        print_error(resp.data, resp.len, status);
        goto out;
    }
    if (fmt_table) {
        rc = print_table(resp.data, resp.len, stdout);
    } else {
        fwrite(resp.data, 1, resp.len, stdout);
        rc = 0;
    }
    if (fflush(stdout) != 0)
        rc = 1;
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    buf_free(&text);
    buf_free(&req);
    buf_free(&resp);
    return rc;
}
