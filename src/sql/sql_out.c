/*
 * sql_out.c — result chunks to JSON or CSV (see sql_out.h for the value forms).
 *
 * Every column's logical type is turned once into a small tree (tnode) holding what the
 * per-value code needs (type id, children, field names, decimal scale, enum and array
 * details), so writing a value costs no DuckDB type calls. Values are read straight
 * from the vectors; nested values recurse through the child vectors.
 */
#include "sql/sql_out.h"

#include "core/alloc.h"
#include "core/err.h"
#include "http/base64.h"
#include "otlp/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TNODE_MAX_DEPTH 32 /* nesting of LIST/STRUCT/MAP handled; deeper is "unsupported" */

typedef struct tnode {
    duckdb_type id;
    duckdb_logical_type lt; /* owned */
    idx_t nchild;
    struct tnode *child;    /* LIST/ARRAY: 1; MAP: 2 (key, value); STRUCT/UNION: members */
    char **names;           /* STRUCT/UNION member names (duckdb_free) */
    idx_t array_size;
    uint8_t scale;          /* DECIMAL */
    duckdb_type internal;   /* DECIMAL / ENUM storage type */
} tnode_t;

/* ---- type trees ------------------------------------------------------------------------- */

static void tnode_free(tnode_t *n)
{
    for (idx_t i = 0; i < n->nchild; i++) {
        if (n->child)
            tnode_free(&n->child[i]);
        if (n->names && n->names[i])
            duckdb_free(n->names[i]);
    }
    orasi_free(n->child);
    orasi_free(n->names);
    if (n->lt)
        duckdb_destroy_logical_type(&n->lt);
    memset(n, 0, sizeof(*n));
}

/* Takes ownership of lt. */
static int tnode_build(tnode_t *n, duckdb_logical_type lt, int depth)
{
    memset(n, 0, sizeof(*n));
    n->lt = lt;
    n->id = duckdb_get_type_id(lt);
    if (depth > TNODE_MAX_DEPTH) {
        n->id = DUCKDB_TYPE_INVALID;
        return 0;
    }
    switch (n->id) {
    case DUCKDB_TYPE_DECIMAL:
        n->scale = duckdb_decimal_scale(lt);
        n->internal = duckdb_decimal_internal_type(lt);
        return 0;
    case DUCKDB_TYPE_ENUM:
        n->internal = duckdb_enum_internal_type(lt);
        return 0;
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY:
        n->nchild = 1;
        if (!(n->child = orasi_calloc(1, sizeof(tnode_t))))
            return ORASI_ENOMEM;
        if (n->id == DUCKDB_TYPE_ARRAY)
            n->array_size = duckdb_array_type_array_size(lt);
        return tnode_build(&n->child[0],
                           n->id == DUCKDB_TYPE_LIST ? duckdb_list_type_child_type(lt)
                                                     : duckdb_array_type_child_type(lt),
                           depth + 1);
    case DUCKDB_TYPE_MAP: {
        n->nchild = 2;
        if (!(n->child = orasi_calloc(2, sizeof(tnode_t))))
            return ORASI_ENOMEM;
        int rc = tnode_build(&n->child[0], duckdb_map_type_key_type(lt), depth + 1);
        return rc ? rc : tnode_build(&n->child[1], duckdb_map_type_value_type(lt), depth + 1);
    }
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_UNION: {
        int uni = n->id == DUCKDB_TYPE_UNION;
        idx_t k = uni ? duckdb_union_type_member_count(lt) : duckdb_struct_type_child_count(lt);
        if (k == 0)
            return 0;
        n->child = orasi_calloc(k, sizeof(tnode_t));
        n->names = orasi_calloc(k, sizeof(char *));
        if (!n->child || !n->names)
            return ORASI_ENOMEM;
        n->nchild = k;
        for (idx_t i = 0; i < k; i++) {
            n->names[i] = uni ? duckdb_union_type_member_name(lt, i)
                              : duckdb_struct_type_child_name(lt, i);
            int rc = tnode_build(&n->child[i],
                                 uni ? duckdb_union_type_member_type(lt, i)
                                     : duckdb_struct_type_child_type(lt, i),
                                 depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* ---- type names ----------------------------------------------------------------------------- */

static const char *scalar_type_name(duckdb_type id)
{
    switch (id) {
    case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT: return "TINYINT";
    case DUCKDB_TYPE_SMALLINT: return "SMALLINT";
    case DUCKDB_TYPE_INTEGER: return "INTEGER";
    case DUCKDB_TYPE_BIGINT: return "BIGINT";
    case DUCKDB_TYPE_UTINYINT: return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT: return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER: return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT: return "UBIGINT";
    case DUCKDB_TYPE_FLOAT: return "FLOAT";
    case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
    case DUCKDB_TYPE_TIMESTAMP: return "TIMESTAMP";
    case DUCKDB_TYPE_DATE: return "DATE";
    case DUCKDB_TYPE_TIME: return "TIME";
    case DUCKDB_TYPE_INTERVAL: return "INTERVAL";
    case DUCKDB_TYPE_HUGEINT: return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT: return "UHUGEINT";
    case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
    case DUCKDB_TYPE_BLOB: return "BLOB";
    case DUCKDB_TYPE_TIMESTAMP_S: return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS: return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS: return "TIMESTAMP_NS";
    case DUCKDB_TYPE_ENUM: return "ENUM";
    case DUCKDB_TYPE_UUID: return "UUID";
    case DUCKDB_TYPE_BIT: return "BIT";
    case DUCKDB_TYPE_TIME_TZ: return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_BIGNUM: return "BIGNUM";
    case DUCKDB_TYPE_SQLNULL: return "NULL";
    case DUCKDB_TYPE_TIME_NS: return "TIME_NS";
    default: return NULL;
    }
}

int sql_out_quote(buf_t *b, const char *s, char q)
{
    int rc = buf_append_byte(b, (uint8_t)q);
    for (; *s && !rc; s++) {
        rc = buf_append_byte(b, (uint8_t)*s);
        if (!rc && *s == q)
            rc = buf_append_byte(b, (uint8_t)q);
    }
    return rc ? rc : buf_append_byte(b, (uint8_t)q);
}

int sql_out_ident(buf_t *b, const char *s)
{
    return sql_out_quote(b, s, '"');
}

/* A struct member's name as DuckDB prints it: bare when it is a plain lower-case
 * identifier, quoted otherwise. */
static int member_name(buf_t *b, const char *s)
{
    int plain = *s && !(*s >= '0' && *s <= '9');
    for (const char *p = s; *p && plain; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
    return plain ? buf_append_str(b, s) : sql_out_ident(b, s);
}

static int type_name_node(buf_t *b, const tnode_t *n)
{
    const char *s = scalar_type_name(n->id);
    if (s)
        return buf_append_str(b, s);
    int rc = 0;
    switch (n->id) {
    case DUCKDB_TYPE_DECIMAL:
        return buf_printf(b, "DECIMAL(%u,%u)", (unsigned)duckdb_decimal_width(n->lt),
                          (unsigned)n->scale);
    case DUCKDB_TYPE_LIST:
        rc = type_name_node(b, &n->child[0]);
        return rc ? rc : buf_append_str(b, "[]");
    case DUCKDB_TYPE_ARRAY:
        rc = type_name_node(b, &n->child[0]);
        return rc ? rc : buf_printf(b, "[%llu]", (unsigned long long)n->array_size);
    case DUCKDB_TYPE_MAP:
        if ((rc = buf_append_str(b, "MAP(")) || (rc = type_name_node(b, &n->child[0])) ||
            (rc = buf_append_str(b, ", ")) || (rc = type_name_node(b, &n->child[1])))
            return rc;
        return buf_append_byte(b, ')');
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_UNION:
        rc = buf_append_str(b, n->id == DUCKDB_TYPE_STRUCT ? "STRUCT(" : "UNION(");
        for (idx_t i = 0; i < n->nchild && !rc; i++) {
            if (i)
                rc = buf_append_str(b, ", ");
            if (!rc)
                rc = member_name(b, n->names[i] ? n->names[i] : "");
            if (!rc)
                rc = buf_append_byte(b, ' ');
            if (!rc)
                rc = type_name_node(b, &n->child[i]);
        }
        return rc ? rc : buf_append_byte(b, ')');
    default:
        return buf_printf(b, "UNKNOWN(%d)", (int)n->id);
    }
}

int sql_out_type_name(buf_t *b, duckdb_logical_type t)
{
    /* tnode_build takes ownership of the root handle and the C API has no clone: build
     * on the caller's handle and detach it before freeing the tree. */
    tnode_t n;
    int rc = tnode_build(&n, t, 0);
    if (!rc)
        rc = type_name_node(b, &n);
    n.lt = NULL;
    tnode_free(&n);
    return rc;
}

/* ---- scalar formatting ------------------------------------------------------------------- */

/* Decimal digits of a 128-bit unsigned value; returns the length (out >= 40 bytes). */
static size_t u128_dec(unsigned __int128 v, char *out)
{
    char tmp[48];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return n;
}

static size_t i128_dec(__int128 v, char *out)
{
    if (v < 0) {
        out[0] = '-';
        return 1 + u128_dec((unsigned __int128)0 - (unsigned __int128)v, out + 1);
    }
    return u128_dec((unsigned __int128)v, out);
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm, proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* v in units of 1/per_sec seconds since the epoch; `digits` fraction digits. */
static int fmt_timestamp(char *out, size_t n, int64_t v, int64_t per_sec, int digits)
{
    if (v == INT64_MAX)
        return snprintf(out, n, "infinity");
    if (v == -INT64_MAX || v == INT64_MIN)
        return snprintf(out, n, "-infinity");
    int64_t secs = floor_div(v, per_sec);
    int64_t frac = v - secs * per_sec;
    int64_t days = floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int k = snprintf(out, n, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", y, m, d, (int)(sod / 3600),
                     (int)(sod / 60 % 60), (int)(sod % 60));
    if (k < 0 || (size_t)k >= n)
        return k;
    if (digits)
        k += snprintf(out + k, n - (size_t)k, ".%0*" PRId64, digits, frac);
    if ((size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, "Z");
    return k;
}

static int fmt_date(char *out, size_t n, int32_t days)
{
    if (days == INT32_MAX)
        return snprintf(out, n, "infinity");
    if (days == -INT32_MAX || days == INT32_MIN)
        return snprintf(out, n, "-infinity");
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    return snprintf(out, n, "%04" PRId64 "-%02u-%02u", y, m, d);
}

static int fmt_time(char *out, size_t n, int64_t v, int64_t per_sec, int digits)
{
    int64_t secs = floor_div(v, per_sec), frac = v - secs * per_sec;
    return snprintf(out, n, "%02d:%02d:%02d.%0*" PRId64, (int)(secs / 3600),
                    (int)(secs / 60 % 60), (int)(secs % 60), digits, frac);
}

static int put_str(buf_t *b, const char *p, size_t len, int text)
{
    return text ? buf_append(b, p, len) : buf_append_json_str(b, p, len);
}

static int put_double(buf_t *b, double v, int text)
{
    if (!isfinite(v)) {
        const char *s = isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
        return put_str(b, s, strlen(s), text);
    }
    return json_write_double(b, v);
}

static int put_float(buf_t *b, float v, int text)
{
    if (!isfinite(v))
        return put_double(b, (double)v, text);
    char tmp[48];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)v);
        if (prec == 9 || strtof(tmp, NULL) == v)
            break;
    }
    return buf_append_str(b, tmp);
}

static int put_decimal(buf_t *b, const tnode_t *t, const void *data, idx_t i)
{
    __int128 v;
    switch (t->internal) {
    case DUCKDB_TYPE_SMALLINT: v = ((const int16_t *)data)[i]; break;
    case DUCKDB_TYPE_INTEGER: v = ((const int32_t *)data)[i]; break;
    case DUCKDB_TYPE_BIGINT: v = ((const int64_t *)data)[i]; break;
    default: {
        const duckdb_hugeint *h = (const duckdb_hugeint *)data + i;
        v = (__int128)(((unsigned __int128)(uint64_t)h->upper << 64) | h->lower);
        break;
    }
    }
    char digits[48];
    int neg = v < 0;
    size_t n = u128_dec(neg ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v,
                        digits);
    char out[96];
    size_t k = 0;
    if (neg)
        out[k++] = '-';
    unsigned sc = t->scale;
    if (n <= sc) { /* 0.00ddd */
        out[k++] = '0';
        if (sc) {
            out[k++] = '.';
            for (size_t z = n; z < sc; z++)
                out[k++] = '0';
            memcpy(out + k, digits, n);
            k += n;
        }
    } else {
        memcpy(out + k, digits, n - sc);
        k += n - sc;
        if (sc) {
            out[k++] = '.';
            memcpy(out + k, digits + n - sc, sc);
            k += sc;
        }
    }
    return buf_append(b, out, k);
}

static int put_uuid(buf_t *b, const duckdb_hugeint *h, int text)
{
    uint64_t hi = (uint64_t)h->upper ^ (1ull << 63), lo = h->lower;
    char s[40];
    snprintf(s, sizeof(s), "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48, lo & (uint64_t)0xffffffffffff);
    return put_str(b, s, 36, text);
}

static int put_blob(buf_t *b, const char *p, size_t len, int text)
{
    size_t n = base64_encoded_len(len, 1);
    if (n > b->max)
        return ORASI_ETOOBIG;
    char *tmp = orasi_malloc(n + 1);
    if (!tmp)
        return ORASI_ENOMEM;
    int rc = base64_encode(p, len, 1, tmp, n + 1, NULL);
    if (!rc)
        rc = put_str(b, tmp, n, text);
    orasi_free(tmp);
    return rc;
}

/* ---- values ---------------------------------------------------------------------------------- */

static int row_valid(duckdb_vector v, idx_t i)
{
    uint64_t *valid = duckdb_vector_get_validity(v);
    return !valid || duckdb_validity_row_is_valid(valid, i);
}

static int put_value(buf_t *b, duckdb_vector v, const tnode_t *t, idx_t i, int text);

/* A MAP key as a JSON object key: strings as they are, anything else as its JSON text. */
static int put_map_key(buf_t *b, duckdb_vector kv, const tnode_t *kt, idx_t i)
{
    if (kt->id == DUCKDB_TYPE_VARCHAR && row_valid(kv, i)) {
        duckdb_string_t *s = (duckdb_string_t *)duckdb_vector_get_data(kv) + i;
        return buf_append_json_str(b, duckdb_string_t_data(s), duckdb_string_t_length(*s));
    }
    buf_t tmp;
    buf_init(&tmp, b->max);
    int rc = put_value(&tmp, kv, kt, i, 1);
    if (!rc)
        rc = buf_append_json_str(b, (const char *)tmp.data, tmp.len);
    buf_free(&tmp);
    return rc;
}

static int put_value(buf_t *b, duckdb_vector v, const tnode_t *t, idx_t i, int text)
{
    char tmp[128];
    int n;
    if (!row_valid(v, i))
        return text ? 0 : buf_append_str(b, "null");
    void *data = duckdb_vector_get_data(v);
    switch (t->id) {
    case DUCKDB_TYPE_BOOLEAN:
        return buf_append_str(b, ((const bool *)data)[i] ? "true" : "false");
    case DUCKDB_TYPE_TINYINT:
        return buf_printf(b, "%d", (int)((const int8_t *)data)[i]);
    case DUCKDB_TYPE_SMALLINT:
        return buf_printf(b, "%d", (int)((const int16_t *)data)[i]);
    case DUCKDB_TYPE_INTEGER:
        return buf_printf(b, "%" PRId32, ((const int32_t *)data)[i]);
    case DUCKDB_TYPE_BIGINT:
        return buf_printf(b, "%" PRId64, ((const int64_t *)data)[i]);
    case DUCKDB_TYPE_UTINYINT:
        return buf_printf(b, "%u", (unsigned)((const uint8_t *)data)[i]);
    case DUCKDB_TYPE_USMALLINT:
        return buf_printf(b, "%u", (unsigned)((const uint16_t *)data)[i]);
    case DUCKDB_TYPE_UINTEGER:
        return buf_printf(b, "%" PRIu32, ((const uint32_t *)data)[i]);
    case DUCKDB_TYPE_UBIGINT:
        return buf_printf(b, "%" PRIu64, ((const uint64_t *)data)[i]);
    case DUCKDB_TYPE_HUGEINT: {
        const duckdb_hugeint *h = (const duckdb_hugeint *)data + i;
        __int128 x = (__int128)(((unsigned __int128)(uint64_t)h->upper << 64) | h->lower);
        size_t k = i128_dec(x, tmp);
        return buf_append(b, tmp, k);
    }
    case DUCKDB_TYPE_UHUGEINT: {
        const duckdb_uhugeint *h = (const duckdb_uhugeint *)data + i;
        size_t k = u128_dec(((unsigned __int128)h->upper << 64) | h->lower, tmp);
        return buf_append(b, tmp, k);
    }
    case DUCKDB_TYPE_FLOAT:
        return put_float(b, ((const float *)data)[i], text);
    case DUCKDB_TYPE_DOUBLE:
        return put_double(b, ((const double *)data)[i], text);
    case DUCKDB_TYPE_DECIMAL:
        return put_decimal(b, t, data, i);
    case DUCKDB_TYPE_VARCHAR: {
        duckdb_string_t *s = (duckdb_string_t *)data + i;
        return put_str(b, duckdb_string_t_data(s), duckdb_string_t_length(*s), text);
    }
    case DUCKDB_TYPE_BLOB: {
        duckdb_string_t *s = (duckdb_string_t *)data + i;
        return put_blob(b, duckdb_string_t_data(s), duckdb_string_t_length(*s), text);
    }
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
        n = fmt_timestamp(tmp, sizeof(tmp), ((const int64_t *)data)[i], 1000000, 6);
        return put_str(b, tmp, (size_t)n, text);
    case DUCKDB_TYPE_TIMESTAMP_S:
        n = fmt_timestamp(tmp, sizeof(tmp), ((const int64_t *)data)[i], 1, 0);
        return put_str(b, tmp, (size_t)n, text);
    case DUCKDB_TYPE_TIMESTAMP_MS:
        n = fmt_timestamp(tmp, sizeof(tmp), ((const int64_t *)data)[i], 1000, 3);
        return put_str(b, tmp, (size_t)n, text);
    case DUCKDB_TYPE_TIMESTAMP_NS:
        n = fmt_timestamp(tmp, sizeof(tmp), ((const int64_t *)data)[i], 1000000000, 9);
        return put_str(b, tmp, (size_t)n, text);
    case DUCKDB_TYPE_DATE:
        n = fmt_date(tmp, sizeof(tmp), ((const int32_t *)data)[i]);
        return put_str(b, tmp, (size_t)n, text);
    case DUCKDB_TYPE_TIME:
        n = fmt_time(tmp, sizeof(tmp), ((const int64_t *)data)[i], 1000000, 6);
        return put_str(b, tmp, (size_t)n, text);
    case DUCKDB_TYPE_TIME_NS:
        n = fmt_time(tmp, sizeof(tmp), ((const int64_t *)data)[i], 1000000000, 9);
        return put_str(b, tmp, (size_t)n, text);
    case DUCKDB_TYPE_TIME_TZ: {
        duckdb_time_tz_struct s = duckdb_from_time_tz(((const duckdb_time_tz *)data)[i]);
        int off = s.offset < 0 ? -s.offset : s.offset;
        n = snprintf(tmp, sizeof(tmp), "%02d:%02d:%02d.%06d%c%02d:%02d", s.time.hour, s.time.min,
                     s.time.sec, s.time.micros, s.offset < 0 ? '-' : '+', off / 3600,
                     off / 60 % 60);
        return put_str(b, tmp, (size_t)n, text);
    }
    case DUCKDB_TYPE_INTERVAL: {
        duckdb_value val = duckdb_create_interval(((const duckdb_interval *)data)[i]);
        char *s = val ? duckdb_get_varchar(val) : NULL;
        int rc = s ? put_str(b, s, strlen(s), text) : ORASI_ENOMEM;
        duckdb_free(s);
        duckdb_destroy_value(&val);
        return rc;
    }
    case DUCKDB_TYPE_UUID:
        return put_uuid(b, (const duckdb_hugeint *)data + i, text);
    case DUCKDB_TYPE_ENUM: {
        idx_t k = t->internal == DUCKDB_TYPE_UTINYINT    ? ((const uint8_t *)data)[i]
                  : t->internal == DUCKDB_TYPE_USMALLINT ? ((const uint16_t *)data)[i]
                                                         : ((const uint32_t *)data)[i];
        char *s = duckdb_enum_dictionary_value(t->lt, k);
        int rc = s ? put_str(b, s, strlen(s), text) : ORASI_ENOMEM;
        duckdb_free(s);
        return rc;
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY:
    case DUCKDB_TYPE_MAP: {
        idx_t off, len;
        duckdb_vector child;
        if (t->id == DUCKDB_TYPE_ARRAY) {
            off = i * t->array_size;
            len = t->array_size;
            child = duckdb_array_vector_get_child(v);
        } else {
            const duckdb_list_entry *e = (const duckdb_list_entry *)data + i;
            off = e->offset;
            len = e->length;
            child = duckdb_list_vector_get_child(v);
        }
        int map = t->id == DUCKDB_TYPE_MAP;
        int rc = buf_append_byte(b, map ? '{' : '[');
        duckdb_vector kv = map ? duckdb_struct_vector_get_child(child, 0) : NULL;
        duckdb_vector vv = map ? duckdb_struct_vector_get_child(child, 1) : NULL;
        for (idx_t k = 0; k < len && !rc; k++) {
            if (k)
                rc = buf_append_byte(b, ',');
            if (rc)
                break;
            if (map) {
                if (!(rc = put_map_key(b, kv, &t->child[0], off + k)) &&
                    !(rc = buf_append_byte(b, ':')))
                    rc = put_value(b, vv, &t->child[1], off + k, 0);
            } else {
                rc = put_value(b, child, &t->child[0], off + k, 0);
            }
        }
        return rc ? rc : buf_append_byte(b, map ? '}' : ']');
    }
    case DUCKDB_TYPE_STRUCT: {
        int rc = buf_append_byte(b, '{');
        for (idx_t k = 0; k < t->nchild && !rc; k++) {
            if (k)
                rc = buf_append_byte(b, ',');
            const char *name = t->names[k] ? t->names[k] : "";
            if (!rc && !(rc = buf_append_json_str(b, name, strlen(name))) &&
                !(rc = buf_append_byte(b, ':')))
                rc = put_value(b, duckdb_struct_vector_get_child(v, k), &t->child[k], i, 0);
        }
        return rc ? rc : buf_append_byte(b, '}');
    }
    case DUCKDB_TYPE_UNION: {
        /* child 0 of the struct vector is the tag, members follow */
        duckdb_vector tag = duckdb_struct_vector_get_child(v, 0);
        uint8_t k = ((const uint8_t *)duckdb_vector_get_data(tag))[i];
        if (k >= t->nchild)
            return text ? 0 : buf_append_str(b, "null");
        return put_value(b, duckdb_struct_vector_get_child(v, (idx_t)k + 1), &t->child[k], i,
                         text);
    }
    default: {
        buf_t name;
        buf_init(&name, 256);
        int rc = type_name_node(&name, t);
        n = snprintf(tmp, sizeof(tmp), "(unsupported type %.*s)", (int)name.len,
                     name.data ? (const char *)name.data : "");
        buf_free(&name);
        (void)rc;
        return put_str(b, tmp, (size_t)n, text);
    }
    }
}

/* ---- CSV ------------------------------------------------------------------------------------ */

static int csv_field(buf_t *b, const uint8_t *p, size_t n)
{
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n';
    if (!quote)
        return buf_append(b, p, n);
    int rc = buf_append_byte(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (p[i] == '"') {
            rc = buf_append(b, p + start, i + 1 - start); /* up to and including the quote */
            if (!rc)
                rc = buf_append_byte(b, '"');
            start = i + 1;
        }
    if (!rc)
        rc = buf_append(b, p + start, n - start);
    return rc ? rc : buf_append_byte(b, '"');
}

/* ---- documents ---------------------------------------------------------------------------------- */

int sql_out_begin(sql_out_t *o, enum sql_format fmt, buf_t *b, size_t soft_max,
                  duckdb_result *res)
{
    memset(o, 0, sizeof(*o));
    o->fmt = fmt;
    o->b = b;
    o->soft_max = soft_max;
    o->ncols = duckdb_column_count(res);
    int rc = 0;
    tnode_t *cols = NULL;
    if (o->ncols) {
        cols = orasi_calloc(o->ncols, sizeof(*cols));
        if (!cols)
            return ORASI_ENOMEM;
    }
    o->cols = cols;
    for (idx_t c = 0; c < o->ncols && !rc; c++)
        rc = tnode_build(&cols[c], duckdb_column_logical_type(res, c), 0);
    if (fmt == SQL_FORMAT_JSON) {
        if (!rc)
            rc = buf_append_str(b, "{\"columns\":[");
        for (idx_t c = 0; c < o->ncols && !rc; c++) {
            const char *name = duckdb_column_name(res, c);
            if (c)
                rc = buf_append_byte(b, ',');
            if (!rc)
                rc = buf_append_str(b, "{\"name\":");
            if (!rc)
                rc = buf_append_json_str(b, name, name ? strlen(name) : 0);
            if (!rc)
                rc = buf_append_str(b, ",\"type\":");
            if (!rc) {
                /* a member name may hold any character: escape the whole type name */
                buf_t tn;
                buf_init(&tn, SQL_OUT_TYPE_NAME_MAX);
                rc = type_name_node(&tn, &cols[c]);
                if (!rc)
                    rc = buf_append_json_str(b, (const char *)tn.data, tn.len);
                buf_free(&tn);
            }
            if (!rc)
                rc = buf_append_byte(b, '}');
        }
        if (!rc)
            rc = buf_append_str(b, "],\"rows\":[");
    } else {
        for (idx_t c = 0; c < o->ncols && !rc; c++) {
            const char *name = duckdb_column_name(res, c);
            if (c)
                rc = buf_append_byte(b, ',');
            if (!rc)
                rc = csv_field(b, (const uint8_t *)name, name ? strlen(name) : 0);
        }
        if (!rc)
            rc = buf_append_str(b, "\r\n");
    }
    if (rc)
        sql_out_free(o);
    return rc;
}

int sql_out_rows(sql_out_t *o, duckdb_data_chunk ch, idx_t n, idx_t *written)
{
    buf_t *b = o->b;
    tnode_t *cols = o->cols;
    buf_t cell;
    int rc = 0;
    idx_t r = 0;
    buf_init(&cell, b->max);
    duckdb_vector vecs[256];
    duckdb_vector *vv = o->ncols <= 256 ? vecs : orasi_calloc(o->ncols, sizeof(*vv));
    if (!vv)
        return ORASI_ENOMEM;
    for (idx_t c = 0; c < o->ncols; c++)
        vv[c] = duckdb_data_chunk_get_vector(ch, c);
    for (r = 0; r < n; r++) {
        size_t mark = b->len;
        if (o->fmt == SQL_FORMAT_JSON) {
            rc = buf_append_str(b, o->rows ? ",[" : "[");
            for (idx_t c = 0; c < o->ncols && !rc; c++) {
                if (c)
                    rc = buf_append_byte(b, ',');
                if (!rc)
                    rc = put_value(b, vv[c], &cols[c], r, 0);
            }
            if (!rc)
                rc = buf_append_byte(b, ']');
        } else {
            for (idx_t c = 0; c < o->ncols && !rc; c++) {
                if (c)
                    rc = buf_append_byte(b, ',');
                buf_clear(&cell);
                if (!rc)
                    rc = put_value(&cell, vv[c], &cols[c], r, 1);
                if (!rc)
                    rc = csv_field(b, cell.data, cell.len);
            }
            if (!rc)
                rc = buf_append_str(b, "\r\n");
        }
        if (!rc && b->len > o->soft_max)
            rc = ORASI_ETOOBIG;
        if (rc) {
            b->len = mark; /* whole rows only */
            break;
        }
        o->rows++;
    }
    *written = r;
    buf_free(&cell);
    if (vv != vecs)
        orasi_free(vv);
    return rc;
}

int sql_out_end(sql_out_t *o, const struct sql_stats *st)
{
    if (o->fmt != SQL_FORMAT_JSON)
        return 0;
    return buf_printf(o->b,
                      "],\"stats\":{\"rows\":%" PRIu64 ",\"elapsed_ms\":%.3f,\"files_scanned\":%" PRIu64
                      ",\"hot_rows\":%" PRIu64 ",\"truncated\":%s}}\n",
                      st->rows, st->elapsed_ms, st->files_scanned, st->hot_rows,
                      st->truncated ? "true" : "false");
}

void sql_out_free(sql_out_t *o)
{
    for (idx_t c = 0; o->cols && c < o->ncols; c++)
        tnode_free(&o->cols[c]);
    orasi_free(o->cols);
    o->cols = NULL;
    o->ncols = 0;
}

int sql_out_error_json(buf_t *b, const char *msg)
{
    int rc = buf_append_str(b, "{\"error\":");
    if (!rc)
        rc = buf_append_json_str(b, msg, msg ? strlen(msg) : 0);
    return rc ? rc : buf_append_str(b, "}\n");
}
