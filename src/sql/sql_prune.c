/*
 * sql_prune.c — time bounds and trace ids from a query's AST (see sql_prune.h).
 *
 * Steps: json_serialize_sql(<query>) on the query's connection; a cheap textual guard
 * (exactly one "BASE_TABLE" and no "SUBQUERY" anywhere in the serialized text: a table
 * name or subquery hiding in a string literal can only make these counts larger, which
 * only turns pruning off); a structural walk of the single SELECT node; each usable
 * bound expression is spliced into the serialized form of
 *   SELECT epoch_ns(CAST(42 AS TIMESTAMPTZ))
 * in place of the constant 42 and run with json_execute_serialized_sql().
 */
#include "sql/sql_prune.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "lake/colbuf.h"
#include "otlp/json.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PRUNE_MAX_AST (4u << 20) /* serialized ASTs larger than this are not analysed */

struct ctx {
    duckdb_connection con;
    const json_doc_t *d;
    const char *table;   /* as written in the query */
    const char *alias;   /* "" when none */
    const char *time_col;
    uint64_t slack;
    struct sql_prune *out;
    const char *tmpl;    /* serialized template */
    size_t tmpl_len;
    size_t hole_off, hole_len; /* the constant 42 inside tmpl */
    int found;
};

/* Run a statement returning one VARCHAR; the result is duckdb_malloc'ed (caller frees). */
static char *query_string(duckdb_connection con, const char *sql, const char *param)
{
    duckdb_prepared_statement ps = NULL;
    duckdb_result res;
    char *out = NULL;
    if (duckdb_prepare(con, sql, &ps) != DuckDBSuccess)
        goto out;
    if (param && duckdb_bind_varchar(ps, 1, param) != DuckDBSuccess)
        goto out;
    if (duckdb_execute_prepared(ps, &res) != DuckDBSuccess) {
        duckdb_destroy_result(&res);
        goto out;
    }
    if (duckdb_row_count(&res) == 1 && duckdb_column_count(&res) == 1 &&
        !duckdb_value_is_null(&res, 0, 0))
        out = duckdb_value_varchar(&res, 0, 0);
    duckdb_destroy_result(&res);
out:
    duckdb_destroy_prepare(&ps);
    return out;
}

/* One past the end of the JSON value starting at p (an object, array or scalar). */
static const char *value_end(const char *p, const char *end)
{
    int depth = 0, in_str = 0;
    for (; p < end; p++) {
        char c = *p;
        if (in_str) {
            if (c == '\\')
                p++;
            else if (c == '"')
                in_str = 0;
            if (!in_str && depth == 0)
                return p + 1;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && (c == ',' || c == ' '))
            return p;
    }
    return NULL;
}

static size_t count_sub(const char *s, size_t n, const char *needle)
{
    size_t k = 0, m = strlen(needle);
    for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), needle, m)); p += m)
        k++;
    return k;
}

/* Member `key` of object token `obj` as a NUL-free string compare helper. */
static int str_is(const json_doc_t *d, uint32_t i, const char *s)
{
    return i != JSON_NONE && json_is(d, i, JSON_STRING) && slice_eq_cstr(json_slice(d, i), s);
}

static int str_is_nocase(const json_doc_t *d, uint32_t i, const char *s)
{
    return i != JSON_NONE && json_is(d, i, JSON_STRING) && slice_eq_nocase(json_slice(d, i), s);
}

static uint32_t get(const json_doc_t *d, uint32_t obj, const char *key)
{
    if (obj == JSON_NONE || !json_is(d, obj, JSON_OBJECT))
        return JSON_NONE;
    return json_obj_get(d, obj, key);
}

/* A column reference to `col` (optionally qualified by the table name or its alias). */
static int is_column(const struct ctx *c, uint32_t e, const char *col)
{
    const json_doc_t *d = c->d;
    if (!str_is(d, get(d, e, "class"), "COLUMN_REF"))
        return 0;
    uint32_t names = get(d, e, "column_names");
    if (names == JSON_NONE || !json_is(d, names, JSON_ARRAY))
        return 0;
    uint32_t n = json_at(d, names)->n;
    if (n == 1)
        return str_is_nocase(d, json_arr_get(d, names, 0), col);
    if (n == 2) {
        uint32_t q = json_arr_get(d, names, 0);
        const char *qual = c->alias[0] ? c->alias : c->table;
        return str_is_nocase(d, q, qual) && str_is_nocase(d, json_arr_get(d, names, 1), col);
    }
    return 0;
}

static const char *const safe_functions[] = {
    "now", "current_timestamp", "get_current_timestamp", "transaction_timestamp",
    "current_date", "today", "+", "-", "*", "/", "to_years", "to_months", "to_weeks",
    "to_days", "to_hours", "to_minutes", "to_seconds", "to_milliseconds", "to_microseconds",
    "to_centuries", "to_decades", "to_millennia", "trunc", "date_trunc", "datetrunc",
    "make_timestamp", "make_timestamptz", "make_date", "to_timestamp", "epoch_ms",
    "strptime", NULL};

/* 1 when the expression is built only of literals, casts and safe functions. */
static int is_constant(const struct ctx *c, uint32_t e, int depth)
{
    const json_doc_t *d = c->d;
    if (depth > 48 || e == JSON_NONE || !json_is(d, e, JSON_OBJECT))
        return 0;
    uint32_t cls = get(d, e, "class");
    if (str_is(d, cls, "CONSTANT"))
        return 1;
    if (str_is(d, cls, "CAST"))
        return is_constant(c, get(d, e, "child"), depth + 1);
    if (str_is(d, cls, "COLUMN_REF")) {
        /* current_timestamp / current_date parse as column references */
        uint32_t names = get(d, e, "column_names");
        if (names == JSON_NONE || !json_is(d, names, JSON_ARRAY) || json_at(d, names)->n != 1)
            return 0;
        uint32_t n0 = json_arr_get(d, names, 0);
        return str_is_nocase(d, n0, "current_timestamp") || str_is_nocase(d, n0, "current_date");
    }
    if (!str_is(d, cls, "FUNCTION"))
        return 0;
    uint32_t fname = get(d, e, "function_name"), schema = get(d, e, "schema");
    uint32_t filter = get(d, e, "filter"), distinct = get(d, e, "distinct");
    uint32_t obys = get(d, get(d, e, "order_bys"), "orders");
    if (!str_is(d, schema, "") || (filter != JSON_NONE && !json_is(d, filter, JSON_NULL)) ||
        (distinct != JSON_NONE && !json_is(d, distinct, JSON_FALSE)) ||
        (obys != JSON_NONE && json_at(d, obys)->n != 0))
        return 0;
    int ok = 0;
    for (int i = 0; safe_functions[i] && !ok; i++)
        ok = str_is_nocase(d, fname, safe_functions[i]);
    if (!ok)
        return 0;
    uint32_t ch = get(d, e, "children");
    if (ch == JSON_NONE || !json_is(d, ch, JSON_ARRAY))
        return 0;
    JSON_ARR_FOREACH(d, ch, el)
    {
        if (!is_constant(c, el, depth + 1))
            return 0;
    }
    return 1;
}

/* epoch ns of a constant expression, evaluated by DuckDB. 0 or -1 (not usable). */
static int eval_ns(struct ctx *c, uint32_t e, int64_t *ns)
{
    const json_doc_t *d = c->d;
    const char *start = (const char *)json_at(d, e)->p;
    const char *end = value_end(start, (const char *)d->input.p + d->input.len);
    if (!end || *start != '{')
        return -1;
    buf_t j, q;
    buf_init(&j, PRUNE_MAX_AST * 2);
    buf_init(&q, PRUNE_MAX_AST * 3);
    int rc = buf_append(&j, c->tmpl, c->hole_off);
    if (!rc)
        rc = buf_append(&j, start, (size_t)(end - start));
    if (!rc)
        rc = buf_append(&j, c->tmpl + c->hole_off + c->hole_len,
                        c->tmpl_len - c->hole_off - c->hole_len);
    /* The spliced document goes in as a quoted literal: json_execute_serialized_sql is a
     * table function whose argument must be constant. */
    if (!rc)
        rc = buf_append_str(&q, "SELECT * FROM json_execute_serialized_sql('");
    for (size_t i = 0; i < j.len && !rc; i++) {
        rc = buf_append_byte(&q, j.data[i]);
        if (!rc && j.data[i] == '\'')
            rc = buf_append_byte(&q, '\'');
    }
    if (!rc)
        rc = buf_append_str(&q, "')");
    if (!rc)
        rc = buf_append_byte(&q, 0);
    char *v = rc ? NULL : query_string(c->con, (const char *)q.data, NULL);
    buf_free(&j);
    buf_free(&q);
    if (!v)
        return -1;
    char *endp;
    long long x = strtoll(v, &endp, 10);
    int ok = *v && !*endp;
    duckdb_free(v);
    if (!ok)
        return -1;
    *ns = (int64_t)x;
    return 0;
}

static int64_t sat_sub(int64_t a, uint64_t b)
{
    return (b > (uint64_t)INT64_MAX || a < INT64_MIN + (int64_t)b) ? INT64_MIN : a - (int64_t)b;
}

static int64_t sat_add(int64_t a, uint64_t b)
{
    return (b > (uint64_t)INT64_MAX || a > INT64_MAX - (int64_t)b) ? INT64_MAX : a + (int64_t)b;
}

static void lower_bound(struct ctx *c, uint32_t e)
{
    int64_t v;
    if (is_constant(c, e, 0) && eval_ns(c, e, &v) == 0) {
        v = sat_sub(v, c->slack);
        if (v > c->out->t0)
            c->out->t0 = v;
        c->found = 1;
    }
}

static void upper_bound(struct ctx *c, uint32_t e)
{
    int64_t v;
    if (is_constant(c, e, 0) && eval_ns(c, e, &v) == 0) {
        v = sat_add(v, c->slack);
        if (v < c->out->t1)
            c->out->t1 = v;
        c->found = 1;
    }
}

static int hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* TraceId = '<32 hex>' */
static void trace_conjunct(struct ctx *c, uint32_t col, uint32_t val)
{
    const json_doc_t *d = c->d;
    if (!is_column(c, col, "TraceId") || !str_is(d, get(d, val, "class"), "CONSTANT"))
        return;
    uint32_t v = get(d, val, "value");
    uint32_t ty = get(d, get(d, v, "type"), "id");
    uint32_t s = get(d, v, "value");
    if (!str_is(d, ty, "VARCHAR") || s == JSON_NONE || !json_is(d, s, JSON_STRING))
        return;
    slice_t hex = json_slice(d, s);
    if (hex.len != 32)
        return;
    uint8_t id[16];
    for (int i = 0; i < 16; i++) {
        int hi = hexval(hex.p[2 * i]), lo = hexval(hex.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return;
        id[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(c->out->trace_id, id, 16);
    c->out->has_trace_id = 1;
    c->found = 1;
}

static void conjunct(struct ctx *c, uint32_t e, int depth)
{
    const json_doc_t *d = c->d;
    if (depth > 64 || e == JSON_NONE || !json_is(d, e, JSON_OBJECT))
        return;
    uint32_t cls = get(d, e, "class"), type = get(d, e, "type");
    if (str_is(d, cls, "CONJUNCTION") && str_is(d, type, "CONJUNCTION_AND")) {
        uint32_t ch = get(d, e, "children");
        if (ch != JSON_NONE && json_is(d, ch, JSON_ARRAY)) {
            JSON_ARR_FOREACH(d, ch, el)
            {
                conjunct(c, el, depth + 1);
            }
        }
        return;
    }
    if (str_is(d, cls, "BETWEEN")) {
        if (is_column(c, get(d, e, "input"), c->time_col)) {
            lower_bound(c, get(d, e, "lower"));
            upper_bound(c, get(d, e, "upper"));
        }
        return;
    }
    if (!str_is(d, cls, "COMPARISON"))
        return;
    uint32_t l = get(d, e, "left"), r = get(d, e, "right");
    int gt = str_is(d, type, "COMPARE_GREATERTHAN") ||
             str_is(d, type, "COMPARE_GREATERTHANOREQUALTO");
    int lt = str_is(d, type, "COMPARE_LESSTHAN") || str_is(d, type, "COMPARE_LESSTHANOREQUALTO");
    int eq = str_is(d, type, "COMPARE_EQUAL");
    if (eq && c->out->sig == LAKE_TRACES) {
        trace_conjunct(c, l, r);
        trace_conjunct(c, r, l);
    }
    if (!gt && !lt && !eq)
        return;
    uint32_t other;
    if (is_column(c, l, c->time_col)) {
        other = r;
    } else if (is_column(c, r, c->time_col)) {
        other = l; /* constant on the left: the comparison reads the other way */
        int t = gt;
        gt = lt;
        lt = t;
    } else {
        return;
    }
    if (gt || eq)
        lower_bound(c, other);
    if (lt || eq)
        upper_bound(c, other);
}

/* Where the template's constant sits: the object starting at {"class":"CONSTANT". */
static int find_hole(struct ctx *c)
{
    const char *p = strstr(c->tmpl, "{\"class\":\"CONSTANT\"");
    if (!p || strstr(p + 1, "{\"class\":\"CONSTANT\""))
        return -1;
    const char *e = value_end(p, c->tmpl + c->tmpl_len);
    if (!e)
        return -1;
    c->hole_off = (size_t)(p - c->tmpl);
    c->hole_len = (size_t)(e - p);
    return 0;
}

/* ---- columns the query may read ------------------------------------------------------ */

static int name_eq(slice_t a, const char *b)
{
    return slice_eq_nocase(a, b);
}

static int slices_eq_nocase(slice_t a, slice_t b)
{
    return a.len == b.len && (a.len == 0 || strncasecmp((const char *)a.p, (const char *)b.p, a.len) == 0);
}

/* Fill out->colmask from the whole AST (see sql_prune.h). */
static void column_masks(const json_doc_t *d, const char *ast, size_t len, struct sql_prune *out)
{
    static const char *const give_up[] = {"\"class\":\"STAR\"", "POSITIONAL_REFERENCE",
                                          "\"type\":\"TABLE_FUNCTION\"", "PIVOT", "SHOW_REF",
                                          "NATURAL", NULL};
    uint64_t mask[LAKE_SIG_COUNT] = {0};
    for (int i = 0; give_up[i]; i++)
        if (count_sub(ast, len, give_up[i]))
            return;
    for (int s = 0; s < LAKE_SIG_COUNT; s++)
        if (colbuf_schema(s)->ncols > 64)
            return;
    for (uint32_t i = 0; i < d->n; i++) {
        if (!json_is(d, i, JSON_OBJECT))
            continue;
        uint32_t cls = json_obj_get(d, i, "class");
        if (cls == JSON_NONE) {
            /* a table reference: a using-list names columns outside any COLUMN_REF */
            uint32_t u = json_obj_get(d, i, "using_columns");
            if (u != JSON_NONE && (!json_is(d, u, JSON_ARRAY) || json_at(d, u)->n))
                return;
            continue;
        }
        if (!str_is(d, cls, "COLUMN_REF"))
            continue;
        uint32_t names = json_obj_get(d, i, "column_names");
        if (names == JSON_NONE || !json_is(d, names, JSON_ARRAY) || json_at(d, names)->n == 0)
            return;
        uint32_t last = json_arr_get(d, names, json_at(d, names)->n - 1);
        if (!json_is(d, last, JSON_STRING))
            return;
        slice_t nm = json_slice(d, last);
        int known = 0;
        for (int s = 0; s < LAKE_SIG_COUNT; s++) {
            const colbuf_schema_t *sc = colbuf_schema(s);
            for (size_t c = 0; c < sc->ncols; c++)
                if (name_eq(nm, sc->cols[c].name)) {
                    mask[s] |= 1ull << c;
                    known = 1;
                }
        }
        if (known)
            continue;
        /* not a column: fine only when it is an alias given in an expression (ORDER BY n)
         * and not also the name of a table or a table alias (a whole-row reference) */
        int expr_alias = 0, table_name = 0;
        for (uint32_t k = 0; k < d->n; k++) {
            if (!json_is(d, k, JSON_OBJECT))
                continue;
            int is_expr = json_obj_get(d, k, "class") != JSON_NONE;
            uint32_t a = json_obj_get(d, k, "alias");
            if (a != JSON_NONE && json_is(d, a, JSON_STRING) && slices_eq_nocase(json_slice(d, a), nm)) {
                if (is_expr)
                    expr_alias = 1;
                else
                    table_name = 1;
            }
            uint32_t tn = json_obj_get(d, k, "table_name");
            if (tn != JSON_NONE && json_is(d, tn, JSON_STRING) &&
                slices_eq_nocase(json_slice(d, tn), nm))
                table_name = 1;
        }
        if (!expr_alias || table_name)
            return;
    }
    memcpy(out->colmask, mask, sizeof(mask));
}

/* A constant non-negative integer (LIMIT / OFFSET), or -1. */
static int64_t const_int(const json_doc_t *d, uint32_t e)
{
    if (e == JSON_NONE || !str_is(d, get(d, e, "class"), "CONSTANT"))
        return -1;
    uint32_t v = get(d, get(d, e, "value"), "value");
    int64_t x;
    if (v == JSON_NONE || !json_is(d, v, JSON_NUMBER) || json_num_i64(json_slice(d, v), &x) != 0 ||
        x < 0)
        return -1;
    return x;
}

/* out->hot_limit for "SELECT cols FROM t LIMIT n [OFFSET m]" (see sql_prune.h). */
static void plain_limit(const json_doc_t *d, uint32_t node, uint32_t from, struct sql_prune *out)
{
    uint32_t mods = get(d, node, "modifiers"), sel = get(d, node, "select_list");
    uint32_t groups = get(d, node, "group_expressions"), sets = get(d, node, "group_sets");
    static const char *const nulls[] = {"where_clause", "having", "qualify", "sample", NULL};
    for (int i = 0; nulls[i]; i++) {
        uint32_t x = get(d, node, nulls[i]);
        if (x != JSON_NONE && !json_is(d, x, JSON_NULL))
            return;
    }
    uint32_t fs = get(d, from, "sample");
    if (!str_is(d, get(d, node, "aggregate_handling"), "STANDARD_HANDLING") ||
        (fs != JSON_NONE && !json_is(d, fs, JSON_NULL)) || groups == JSON_NONE ||
        !json_is(d, groups, JSON_ARRAY) || json_at(d, groups)->n || sets == JSON_NONE ||
        !json_is(d, sets, JSON_ARRAY) || json_at(d, sets)->n || mods == JSON_NONE ||
        !json_is(d, mods, JSON_ARRAY) || json_at(d, mods)->n != 1 || sel == JSON_NONE ||
        !json_is(d, sel, JSON_ARRAY))
        return;
    JSON_ARR_FOREACH(d, sel, el)
    {
        uint32_t cls = get(d, el, "class");
        if (str_is(d, cls, "COLUMN_REF"))
            continue;
        uint32_t rl = get(d, el, "replace_list"), ex = get(d, el, "expr");
        if (!str_is(d, cls, "STAR") || rl == JSON_NONE || !json_is(d, rl, JSON_ARRAY) ||
            json_at(d, rl)->n || (ex != JSON_NONE && !json_is(d, ex, JSON_NULL)))
            return;
    }
    uint32_t m = json_arr_get(d, mods, 0);
    if (!str_is(d, get(d, m, "type"), "LIMIT_MODIFIER"))
        return;
    int64_t lim = const_int(d, get(d, m, "limit"));
    uint32_t off = get(d, m, "offset");
    int64_t o = off == JSON_NONE || json_is(d, off, JSON_NULL) ? 0 : const_int(d, off);
    if (lim < 0 || o < 0 || lim > (int64_t)1 << 40 || o > (int64_t)1 << 40)
        return;
    out->hot_limit = (uint64_t)(lim + o) ? (uint64_t)(lim + o) : 1;
}

int sql_prune_analyze(duckdb_connection con, const char *sql, uint64_t slack_ns,
                      struct sql_prune *out)
{
    memset(out, 0, sizeof(*out));
    memset(out->colmask, 0xff, sizeof(out->colmask));
    out->sig = -1;
    out->t0 = INT64_MIN;
    out->t1 = INT64_MAX;
    struct ctx c = {.con = con, .slack = slack_ns, .out = out};
    char *ast = NULL, *tmpl = NULL, *table = NULL, *alias = NULL;
    arena_t *a = NULL;
    json_doc_t d;
    int found = 0;

    ast = query_string(con, "SELECT json_serialize_sql($1::VARCHAR)", sql);
    if (!ast)
        goto out;
    size_t len = strlen(ast);
    out->serialized = 1;
    if (strstr(ast, "\"error\":true") && strstr(ast, "Only SELECT statements"))
        out->not_select = 1;
    if (out->not_select || len > PRUNE_MAX_AST)
        goto out;
    a = arena_create(64 << 10, (size_t)len * 16 + (1u << 20));
    json_limits_t lim = {.max_depth = JSON_MAX_DEPTH_LIMIT, .max_input = PRUNE_MAX_AST};
    if (!a || json_parse(slice_make(ast, len), &lim, a, &d, NULL) != 0)
        goto out;
    c.d = &d;
    if (!json_is(&d, 0, JSON_OBJECT) || !json_is(&d, json_obj_get(&d, 0, "error"), JSON_FALSE))
        goto out;
    column_masks(&d, ast, len, out);
    if (count_sub(ast, len, "BASE_TABLE") != 1 || count_sub(ast, len, "SUBQUERY") != 0)
        goto out;
    uint32_t sts = json_obj_get(&d, 0, "statements");
    if (sts == JSON_NONE || !json_is(&d, sts, JSON_ARRAY) || json_at(&d, sts)->n != 1)
        goto out;
    uint32_t node = get(&d, json_arr_get(&d, sts, 0), "node");
    if (!str_is(&d, get(&d, node, "type"), "SELECT_NODE"))
        goto out;
    uint32_t ctes = get(&d, get(&d, node, "cte_map"), "map");
    if (ctes == JSON_NONE || !json_is(&d, ctes, JSON_ARRAY) || json_at(&d, ctes)->n != 0)
        goto out;
    uint32_t from = get(&d, node, "from_table");
    uint32_t tname = get(&d, from, "table_name"), talias = get(&d, from, "alias");
    uint32_t cna = get(&d, from, "column_name_alias");
    if (!str_is(&d, get(&d, from, "type"), "BASE_TABLE") || !str_is(&d, get(&d, from, "schema_name"), "") ||
        !str_is(&d, get(&d, from, "catalog_name"), "") || tname == JSON_NONE ||
        !json_is(&d, tname, JSON_STRING) || talias == JSON_NONE ||
        !json_is(&d, talias, JSON_STRING) || cna == JSON_NONE || !json_is(&d, cna, JSON_ARRAY) ||
        json_at(&d, cna)->n != 0)
        goto out;
    for (int s = 0; s < LAKE_SIG_COUNT; s++)
        if (str_is_nocase(&d, tname, colbuf_sig_name(s)))
            out->sig = s;
    if (out->sig < 0)
        goto out;
    slice_t ts = json_slice(&d, tname), as = json_slice(&d, talias);
    table = arena_strndup(a, (const char *)ts.p, ts.len);
    alias = arena_strndup(a, (const char *)as.p, as.len);
    if (!table || !alias)
        goto out;
    c.table = table;
    c.alias = alias;
    c.time_col = colbuf_schema(out->sig)->time_col;
    plain_limit(&d, node, from, out);
    uint32_t where = get(&d, node, "where_clause");
    if (where == JSON_NONE || json_is(&d, where, JSON_NULL))
        goto out;
    tmpl = query_string(con, "SELECT json_serialize_sql($1::VARCHAR)",
                        "SELECT epoch_ns(CAST(42 AS TIMESTAMP WITH TIME ZONE))");
    if (!tmpl)
        goto out;
    c.tmpl = tmpl;
    c.tmpl_len = strlen(tmpl);
    if (find_hole(&c) != 0)
        goto out;
    conjunct(&c, where, 0);
    found = c.found;
out:
    if (out->t0 > out->t1) {
        /* contradictory bounds select nothing; keep them ordered for the catalog */
        out->t1 = out->t0;
    }
    duckdb_free(ast);
    duckdb_free(tmpl);
    arena_destroy(a);
    return found;
}
