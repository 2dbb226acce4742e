/*
 * catalog.c — the SQLite catalog of the lake (see catalog.h and docs/internals/catalog.md).
 *
 * Schema (user_version 1):
 *   files(path TEXT PRIMARY KEY,      -- relative to the lake root
 *         tenant, signal, date, hour, part_ns, min_ts, max_ts, rows, bytes,
 *         schema_version, created_ns, bloom BLOB)
 *   state(key TEXT PRIMARY KEY, value INTEGER)       -- 'wal_seq'
 *   deletes(path TEXT PRIMARY KEY, due_ns INTEGER)   -- unlink after the grace period
 * journal_mode=WAL so readers never block the writer; synchronous=FULL so a committed
 * publish survives power loss (the WAL is checkpointed right after it: losing the commit
 * would lose data).
 */
#include "lake/catalog.h"

#include "core/alloc.h"
#include "core/err.h"
#include "lake/bloom.h"
#include "lake/colbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

struct catalog {
    sqlite3 *db;
    pthread_mutex_t mu;
    char *root;
};

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS files("
    " path TEXT PRIMARY KEY, tenant TEXT NOT NULL, signal TEXT NOT NULL, date TEXT NOT NULL,"
    " hour INTEGER NOT NULL, part_ns INTEGER NOT NULL, min_ts INTEGER NOT NULL,"
    " max_ts INTEGER NOT NULL, rows INTEGER NOT NULL, bytes INTEGER NOT NULL,"
    " schema_version INTEGER NOT NULL, created_ns INTEGER NOT NULL, bloom BLOB);"
    "CREATE INDEX IF NOT EXISTS files_by_time ON files(tenant, signal, min_ts);"
    "CREATE INDEX IF NOT EXISTS files_by_part ON files(signal, part_ns);"
    "CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS deletes(path TEXT PRIMARY KEY, due_ns INTEGER NOT NULL);"
    "PRAGMA user_version=1;";

static int sql_err(int rc)
{
    switch (rc) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_NOMEM:
        return ORASI_ENOMEM;
    case SQLITE_FULL:
        return ORASI_ENOSPC;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ORASI_EBUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return ORASI_ECORRUPT;
    default:
        return ORASI_EIO;
    }
}

int catalog_open(const char *db_path, const char *lake_root, catalog_t **out, char *err,
                 size_t errlen)
{
    catalog_t *c = orasi_calloc(1, sizeof(*c));
    int rc = ORASI_ENOMEM;
    char *emsg = NULL;
    if (!c)
        goto fail;
    pthread_mutex_init(&c->mu, NULL);
    c->root = orasi_strdup(lake_root);
    if (!c->root)
        goto fail;
    int src = sqlite3_open_v2(db_path, &c->db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              NULL);
    if (src != SQLITE_OK) {
        snprintf(err, errlen, "catalog %s: %s", db_path,
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(src));
        rc = sql_err(src);
        goto fail;
    }
    sqlite3_busy_timeout(c->db, 10000);
    src = sqlite3_exec(c->db,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                       "PRAGMA foreign_keys=OFF;"
                       /* reads through a mapping: a trace lookup probes a few bytes
                        * deep inside every file's Bloom filter (overflow pages), which
                        * is then a pointer walk instead of a pread per page */
                       "PRAGMA mmap_size=1073741824;",
                       NULL, NULL, &emsg);
    if (src == SQLITE_OK)
        src = sqlite3_exec(c->db, schema_sql, NULL, NULL, &emsg);
    if (src != SQLITE_OK) {
        snprintf(err, errlen, "catalog %s: %s", db_path, emsg ? emsg : sqlite3_errstr(src));
        sqlite3_free(emsg);
        rc = sql_err(src);
        if (!rc)
            rc = ORASI_EIO;
        goto fail;
    }
    *out = c;
    return 0;
fail:
    if (rc == ORASI_ENOMEM && err && errlen && !err[0])
        snprintf(err, errlen, "catalog: out of memory");
    catalog_close(c);
    return rc;
}

void catalog_close(catalog_t *c)
{
    if (!c)
        return;
    if (c->db)
        sqlite3_close_v2(c->db);
    pthread_mutex_destroy(&c->mu);
    orasi_free(c->root);
    orasi_free(c);
}

const char *catalog_root(const catalog_t *c)
{
    return c->root;
}

/* ---- reading -------------------------------------------------------------------------- */

#define FILE_COLS                                                                           \
    "path, tenant, signal, date, hour, part_ns, min_ts, max_ts, rows, bytes, schema_version," \
    " created_ns, bloom"
/* The listings leave the filters where they are: a filter is ~1.2 bytes per span (a
 * megabyte per million-span file), and copying every file's filter out of SQLite cost
 * more than the query itself on a 100 M-span lake. column 12 is NULL, 13 the rowid. */
#define LIST_COLS                                                                           \
    "path, tenant, signal, date, hour, part_ns, min_ts, max_ts, rows, bytes, schema_version," \
    " created_ns, NULL, rowid"

void catalog_list_free(catalog_list_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        orasi_free(l->v[i].path);
        orasi_free(l->v[i].tenant);
        orasi_free((void *)l->v[i].bloom);
    }
    orasi_free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Append the current row (FILE_COLS order) of st to l. */
static int row_to_file(catalog_t *c, sqlite3_stmt *st, catalog_list_t *l, size_t *cap)
{
    if (l->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        catalog_file_t *nv = orasi_realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return ORASI_ENOMEM;
        l->v = nv;
        *cap = ncap;
    }
    catalog_file_t *f = &l->v[l->n];
    memset(f, 0, sizeof(*f));
    const char *rel = (const char *)sqlite3_column_text(st, 0);
    const char *tenant = (const char *)sqlite3_column_text(st, 1);
    const char *sig = (const char *)sqlite3_column_text(st, 2);
    const char *date = (const char *)sqlite3_column_text(st, 3);
    size_t rl = rel ? strlen(rel) : 0, tl = strlen(c->root);
    f->path = orasi_malloc(tl + 1 + rl + 1);
    f->tenant = orasi_strdup(tenant ? tenant : "");
    if (!f->path || !f->tenant) {
        orasi_free(f->path);
        orasi_free(f->tenant);
        return ORASI_ENOMEM;
    }
    memcpy(f->path, c->root, tl);
    f->path[tl] = '/';
    memcpy(f->path + tl + 1, rel ? rel : "", rl + 1);
    f->rel = f->path + tl + 1;
    f->sig = colbuf_sig_parse(sig);
    snprintf(f->date, sizeof(f->date), "%s", date ? date : "");
    f->hour = sqlite3_column_int(st, 4);
    f->part_ns = sqlite3_column_int64(st, 5);
    f->min_ts = sqlite3_column_int64(st, 6);
    f->max_ts = sqlite3_column_int64(st, 7);
    f->rows = (uint64_t)sqlite3_column_int64(st, 8);
    f->bytes = (uint64_t)sqlite3_column_int64(st, 9);
    f->schema_version = sqlite3_column_int(st, 10);
    f->created_ns = sqlite3_column_int64(st, 11);
    int bl = sqlite3_column_bytes(st, 12);
    if (bl > 0) {
        uint8_t *b = orasi_malloc((size_t)bl);
        if (!b) {
            orasi_free(f->path);
            orasi_free(f->tenant);
            return ORASI_ENOMEM;
        }
        memcpy(b, sqlite3_column_blob(st, 12), (size_t)bl);
        f->bloom = b;
        f->bloom_len = (size_t)bl;
    }
    l->n++;
    return 0;
}

/* 0 when the Bloom filter of files row `rowid` surely does not hold `trace`, 1 otherwise
 * (no filter, an invalid one, or a read error: never hide a file). Reads the header and
 * the k probed bytes in place through SQLite's incremental blob I/O, not the whole
 * filter; *bh is reused from row to row (the caller closes it). */
static int probe_bloom(catalog_t *c, sqlite3_blob **bh, sqlite3_int64 rowid, const uint8_t *trace)
{
    int src = *bh ? sqlite3_blob_reopen(*bh, rowid)
                  : sqlite3_blob_open(c->db, "main", "files", "bloom", rowid, 0, bh);
    if (src != SQLITE_OK) {
        /* a NULL bloom is an error for the blob API: a file without a filter */
        if (*bh) {
            sqlite3_blob_close(*bh);
            *bh = NULL;
        }
        return 1;
    }
    int len = sqlite3_blob_bytes(*bh);
    uint8_t hdr[BLOOM_HEADER];
    uint32_t nbits, bit[BLOOM_MAX_K];
    unsigned k;
    if (len < BLOOM_HEADER || sqlite3_blob_read(*bh, hdr, BLOOM_HEADER, 0) != SQLITE_OK ||
        bloom_header(hdr, (size_t)len, &nbits, &k) != 0)
        return 1;
    bloom_probe_bits(trace, nbits, k, bit);
    for (unsigned j = 0; j < k; j++) {
        uint8_t byte;
        if (sqlite3_blob_read(*bh, &byte, 1, BLOOM_HEADER + (int)(bit[j] >> 3)) != SQLITE_OK)
            return 1;
        if (!(byte & (1u << (bit[j] & 7))))
            return 0;
    }
    return 1;
}

/* Run a prepared SELECT of FILE_COLS or LIST_COLS and collect the rows; `trace` (with
 * LIST_COLS) filters by Bloom. */
static int collect(catalog_t *c, sqlite3_stmt *st, catalog_list_t *out, const uint8_t *trace)
{
    size_t cap = 0;
    int rc = 0, src;
    sqlite3_blob *bh = NULL;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (trace && !probe_bloom(c, &bh, sqlite3_column_int64(st, 13), trace))
            continue;
        rc = row_to_file(c, st, out, &cap);
        if (rc)
            break;
    }
    if (bh)
        sqlite3_blob_close(bh);
    if (!rc && src != SQLITE_DONE)
        rc = sql_err(src);
    if (rc)
        catalog_list_free(out);
    return rc;
}

static int list_common(catalog_t *c, const char *tenant, int sig, int64_t t0, int64_t t1,
                       const uint8_t *trace, catalog_list_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *sname = colbuf_sig_name(sig);
    if (!sname)
        return ORASI_EINVAL;
    const char *q = tenant ? "SELECT " LIST_COLS " FROM files WHERE tenant=?1 AND signal=?2"
                             " AND max_ts>=?3 AND min_ts<=?4 ORDER BY min_ts, path"
                           : "SELECT " LIST_COLS " FROM files WHERE signal=?2"
                             " AND max_ts>=?3 AND min_ts<=?4 ORDER BY min_ts, path";
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&c->mu);
    int rc = sql_err(sqlite3_prepare_v2(c->db, q, -1, &st, NULL));
    if (rc)
        goto out;
    if (tenant)
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sname, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, t0);
    sqlite3_bind_int64(st, 4, t1);
    rc = collect(c, st, out, trace);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int catalog_list(catalog_t *c, const char *tenant, int sig, int64_t t0, int64_t t1,
                 catalog_list_t *out)
{
    return list_common(c, tenant, sig, t0, t1, NULL, out);
}

int catalog_list_trace(catalog_t *c, const char *tenant, const uint8_t trace_id[16], int64_t t0,
                       int64_t t1, catalog_list_t *out)
{
    return list_common(c, tenant, LAKE_TRACES, t0, t1, trace_id, out);
}

int catalog_file_may_contain(const catalog_file_t *f, const uint8_t trace_id[16])
{
    if (!f->bloom || !f->bloom_len)
        return 1;
    return bloom_may_contain(f->bloom, f->bloom_len, trace_id);
}

int catalog_totals(catalog_t *c, uint64_t *files, uint64_t *rows, uint64_t *bytes)
{
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&c->mu);
    int rc = sql_err(sqlite3_prepare_v2(
        c->db, "SELECT count(*), coalesce(sum(rows),0), coalesce(sum(bytes),0) FROM files", -1,
        &st, NULL));
    if (!rc) {
        int src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            if (files)
                *files = (uint64_t)sqlite3_column_int64(st, 0);
            if (rows)
                *rows = (uint64_t)sqlite3_column_int64(st, 1);
            if (bytes)
                *bytes = (uint64_t)sqlite3_column_int64(st, 2);
        } else {
            rc = sql_err(src);
            if (!rc)
                rc = ORASI_EINTERNAL;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int exec(catalog_t *c, const char *sql)
{
    return sql_err(sqlite3_exec(c->db, sql, NULL, NULL, NULL));
}

int catalog_wal_seq(catalog_t *c, uint64_t *seq)
{
    sqlite3_stmt *st = NULL;
    *seq = 0;
    pthread_mutex_lock(&c->mu);
    int rc = sql_err(sqlite3_prepare_v2(c->db, "SELECT value FROM state WHERE key='wal_seq'", -1,
                                        &st, NULL));
    if (!rc) {
        int src = sqlite3_step(st);
        if (src == SQLITE_ROW)
            *seq = (uint64_t)sqlite3_column_int64(st, 0);
        else
            rc = sql_err(src);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int insert_file(catalog_t *c, sqlite3_stmt *st, const catalog_file_t *f)
{
    const char *sname = colbuf_sig_name(f->sig);
    if (!sname || !f->rel || !f->tenant)
        return ORASI_EINVAL;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, f->rel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sname, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, f->date, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, f->hour);
    sqlite3_bind_int64(st, 6, f->part_ns);
    sqlite3_bind_int64(st, 7, f->min_ts);
    sqlite3_bind_int64(st, 8, f->max_ts);
    sqlite3_bind_int64(st, 9, (int64_t)f->rows);
    sqlite3_bind_int64(st, 10, (int64_t)f->bytes);
    sqlite3_bind_int(st, 11, f->schema_version);
    sqlite3_bind_int64(st, 12, f->created_ns);
    if (f->bloom && f->bloom_len)
        sqlite3_bind_blob(st, 13, f->bloom, (int)f->bloom_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 13);
    (void)c;
    return sql_err(sqlite3_step(st));
}

static const char *const insert_sql =
    "INSERT INTO files(" FILE_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)";

int catalog_publish(catalog_t *c, const catalog_file_t *files, size_t n, uint64_t wal_seq)
{
    sqlite3_stmt *ins = NULL, *seq = NULL;
    pthread_mutex_lock(&c->mu);
    int rc = exec(c, "BEGIN IMMEDIATE");
    if (rc)
        goto out_unlock;
    rc = sql_err(sqlite3_prepare_v2(c->db, insert_sql, -1, &ins, NULL));
    for (size_t i = 0; !rc && i < n; i++)
        rc = insert_file(c, ins, &files[i]);
    if (!rc)
        rc = sql_err(sqlite3_prepare_v2(
            c->db,
            "INSERT INTO state(key, value) VALUES('wal_seq', ?1) ON CONFLICT(key) DO UPDATE"
            " SET value=max(value, excluded.value)",
            -1, &seq, NULL));
    if (!rc) {
        sqlite3_bind_int64(seq, 1, (int64_t)wal_seq);
        rc = sql_err(sqlite3_step(seq));
    }
    if (!rc)
        rc = exec(c, "COMMIT");
    if (rc)
        exec(c, "ROLLBACK");
    sqlite3_finalize(ins);
    sqlite3_finalize(seq);
out_unlock:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* Delete the listed rows and schedule their files; every row must exist. Caller holds
 * the lock and the transaction. */
static int retire_rows(catalog_t *c, const char *const *rel, size_t n, int64_t due_ns)
{
    sqlite3_stmt *del = NULL, *sch = NULL;
    int rc = sql_err(sqlite3_prepare_v2(c->db, "DELETE FROM files WHERE path=?1", -1, &del, NULL));
    if (!rc)
        rc = sql_err(sqlite3_prepare_v2(
            c->db, "INSERT OR REPLACE INTO deletes(path, due_ns) VALUES(?1, ?2)", -1, &sch, NULL));
    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_reset(del);
        sqlite3_bind_text(del, 1, rel[i], -1, SQLITE_STATIC);
        rc = sql_err(sqlite3_step(del));
        if (!rc && sqlite3_changes(c->db) != 1)
            rc = ORASI_ENOTFOUND;
        if (!rc) {
            sqlite3_reset(sch);
            sqlite3_bind_text(sch, 1, rel[i], -1, SQLITE_STATIC);
            sqlite3_bind_int64(sch, 2, due_ns);
            rc = sql_err(sqlite3_step(sch));
        }
    }
    sqlite3_finalize(del);
    sqlite3_finalize(sch);
    return rc;
}

int catalog_replace(catalog_t *c, const char *const *old_rel, size_t nold,
                    const catalog_file_t *merged, int64_t delete_at_ns)
{
    sqlite3_stmt *ins = NULL;
    pthread_mutex_lock(&c->mu);
    int rc = exec(c, "BEGIN IMMEDIATE");
    if (rc)
        goto out_unlock;
    rc = retire_rows(c, old_rel, nold, delete_at_ns);
    if (!rc)
        rc = sql_err(sqlite3_prepare_v2(c->db, insert_sql, -1, &ins, NULL));
    if (!rc)
        rc = insert_file(c, ins, merged);
    if (!rc)
        rc = exec(c, "COMMIT");
    if (rc)
        exec(c, "ROLLBACK");
    sqlite3_finalize(ins);
out_unlock:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int catalog_retire(catalog_t *c, const char *const *rel, size_t n, int64_t delete_at_ns)
{
    pthread_mutex_lock(&c->mu);
    int rc = exec(c, "BEGIN IMMEDIATE");
    if (!rc) {
        rc = retire_rows(c, rel, n, delete_at_ns);
        if (!rc)
            rc = exec(c, "COMMIT");
        if (rc)
            exec(c, "ROLLBACK");
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void catalog_strings_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        orasi_free(v[i]);
    orasi_free(v);
}

int catalog_due_deletes(catalog_t *c, int64_t now_ns, char ***rel, size_t *n)
{
    sqlite3_stmt *st = NULL;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    *rel = NULL;
    *n = 0;
    pthread_mutex_lock(&c->mu);
    int rc = sql_err(sqlite3_prepare_v2(c->db, "SELECT path FROM deletes WHERE due_ns<=?1", -1,
                                        &st, NULL));
    if (rc)
        goto out;
    sqlite3_bind_int64(st, 1, now_ns);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nv = orasi_realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                rc = ORASI_ENOMEM;
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        v[cnt] = orasi_strdup((const char *)sqlite3_column_text(st, 0));
        if (!v[cnt]) {
            rc = ORASI_ENOMEM;
            goto out;
        }
        cnt++;
    }
    if (src != SQLITE_DONE)
        rc = sql_err(src);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->mu);
    if (rc) {
        catalog_strings_free(v, cnt);
        return rc;
    }
    *rel = v;
    *n = cnt;
    return 0;
}

int catalog_delete_done(catalog_t *c, const char *rel)
{
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&c->mu);
    int rc = sql_err(sqlite3_prepare_v2(c->db, "DELETE FROM deletes WHERE path=?1", -1, &st, NULL));
    if (!rc) {
        sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
        rc = sql_err(sqlite3_step(st));
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int catalog_knows(catalog_t *c, const char *rel)
{
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&c->mu);
    int rc = sql_err(sqlite3_prepare_v2(
        c->db,
        "SELECT 1 FROM files WHERE path=?1 UNION ALL SELECT 1 FROM deletes WHERE path=?1 LIMIT 1",
        -1, &st, NULL));
    if (!rc) {
        sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        rc = src == SQLITE_ROW ? 1 : src == SQLITE_DONE ? 0 : sql_err(src);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int catalog_compaction_candidates(catalog_t *c, int64_t before_ns, uint64_t small_bytes,
                                  unsigned min_files, catalog_list_t *out)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->mu);
    int rc = sql_err(sqlite3_prepare_v2(
        c->db,
        "SELECT tenant, signal, part_ns, count(*), sum(bytes) FROM files"
        " WHERE part_ns<?1 AND bytes<?2 GROUP BY tenant, signal, part_ns"
        " HAVING count(*)>=?3 ORDER BY part_ns",
        -1, &st, NULL));
    if (rc)
        goto out;
    sqlite3_bind_int64(st, 1, before_ns);
    sqlite3_bind_int64(st, 2, (int64_t)small_bytes);
    sqlite3_bind_int(st, 3, (int)min_files);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            catalog_file_t *nv = orasi_realloc(out->v, ncap * sizeof(*nv));
            if (!nv) {
                rc = ORASI_ENOMEM;
                break;
            }
            out->v = nv;
            cap = ncap;
        }
        catalog_file_t *f = &out->v[out->n];
        memset(f, 0, sizeof(*f));
        f->tenant = orasi_strdup((const char *)sqlite3_column_text(st, 0));
        if (!f->tenant) {
            rc = ORASI_ENOMEM;
            break;
        }
        f->sig = colbuf_sig_parse((const char *)sqlite3_column_text(st, 1));
        f->part_ns = sqlite3_column_int64(st, 2);
        f->rows = (uint64_t)sqlite3_column_int64(st, 3);
        f->bytes = (uint64_t)sqlite3_column_int64(st, 4);
        out->n++;
    }
    if (!rc && src != SQLITE_DONE)
        rc = sql_err(src);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->mu);
    if (rc)
        catalog_list_free(out);
    return rc;
}

int catalog_partition_files(catalog_t *c, const char *tenant, int sig, int64_t part_ns,
                            uint64_t small_bytes, int schema_version, catalog_list_t *out)
{
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->mu);
    int rc = sql_err(sqlite3_prepare_v2(
        c->db,
        "SELECT " FILE_COLS " FROM files WHERE tenant=?1 AND signal=?2 AND part_ns=?3"
        " AND bytes<?4 AND schema_version=?5 ORDER BY min_ts, path",
        -1, &st, NULL));
    if (!rc) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, colbuf_sig_name(sig), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, part_ns);
        sqlite3_bind_int64(st, 4, (int64_t)small_bytes);
        sqlite3_bind_int(st, 5, schema_version);
        rc = collect(c, st, out, NULL);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int catalog_expired(catalog_t *c, int sig, int64_t cutoff_ns, catalog_list_t *out)
{
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->mu);
    int rc = sql_err(sqlite3_prepare_v2(
        c->db,
        "SELECT " FILE_COLS " FROM files WHERE signal=?1 AND part_ns<=?2 - 3600000000000"
        " ORDER BY part_ns, path",
        -1, &st, NULL));
    if (!rc) {
        sqlite3_bind_text(st, 1, colbuf_sig_name(sig), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, cutoff_ns);
        rc = collect(c, st, out, NULL);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->mu);
    return rc;
}
