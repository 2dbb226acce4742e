/* test_colbuf.c — colbuf memory reuse and string interning: equal short strings share
 * heap bytes, a column of distinct strings stops interning, a reset table refills
 * without allocating and counts its bytes like a new one, values stay right. */
#include "core/alloc.h"
#include "core/err.h"
#include "lake/colbuf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static colbuf_col_t *col(colbuf_table_t *t, const char *name)
{
    int i = colbuf_col_index(t->schema, name);
    assert_true(i >= 0);
    return &t->cols[i];
}

static slice_t at(const colbuf_col_t *c, size_t i)
{
    return colbuf_str_slice(((const colbuf_str_t *)c->v)[i]);
}

static void test_intern_shares_equal_strings(void **state)
{
    (void)state;
    colbuf_table_t *t = colbuf_table_create(LAKE_TRACES, 0);
    assert_non_null(t);
    colbuf_col_t *name = col(t, "SpanName");
    assert_int_equal(colbuf_put_istr(t, name, "GET /users", 10), 0);
    assert_int_equal(colbuf_put_istr(t, name, "GET /orders", 11), 0);
    assert_int_equal(colbuf_put_istr(t, name, "GET /users", 10), 0);
    assert_ptr_equal(at(name, 0).p, at(name, 2).p);
    assert_ptr_not_equal(at(name, 0).p, at(name, 1).p);
    assert_memory_equal(at(name, 1).p, "GET /orders", 11);
    /* another column keeps its own strings */
    colbuf_col_t *scope = col(t, "ScopeName");
    assert_int_equal(colbuf_put_istr(t, scope, "GET /users", 10), 0);
    assert_ptr_not_equal(at(scope, 0).p, at(name, 0).p);
    /* long strings are copied, not interned */
    char big[COLBUF_INTERN_MAX_LEN + 10];
    memset(big, 'a', sizeof(big));
    assert_int_equal(colbuf_put_istr(t, name, big, sizeof(big)), 0);
    assert_int_equal(colbuf_put_istr(t, name, big, sizeof(big)), 0);
    assert_ptr_not_equal(at(name, 3).p, at(name, 4).p);
    assert_memory_equal(at(name, 4).p, big, sizeof(big));
    /* empty strings cost nothing */
    assert_int_equal(colbuf_put_istr(t, name, "", 0), 0);
    assert_int_equal(at(name, 5).len, 0);
    colbuf_table_destroy(t);
}

static void test_intern_turns_off_for_distinct_values(void **state)
{
    (void)state;
    colbuf_table_t *t = colbuf_table_create(LAKE_TRACES, 0);
    colbuf_col_t *c = col(t, "StatusMessage");
    char s[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(s, sizeof(s), "request-%08d", i);
        assert_int_equal(colbuf_put_istr(t, c, s, (size_t)n), 0);
    }
    /* every value is still right */
    for (int i = 0; i < 20000; i += 997) {
        int n = snprintf(s, sizeof(s), "request-%08d", i);
        assert_int_equal(at(c, (size_t)i).len, n);
        assert_memory_equal(at(c, (size_t)i).p, s, (size_t)n);
    }
    /* off for this column: equal values are copied again */
    assert_int_equal(colbuf_put_istr(t, c, "same", 4), 0);
    assert_int_equal(colbuf_put_istr(t, c, "same", 4), 0);
    assert_ptr_not_equal(at(c, 20000).p, at(c, 20001).p);
    /* a low-cardinality column of the same table still interns */
    colbuf_col_t *k = col(t, "SpanName");
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(s, sizeof(s), "op-%d", i % 7);
        assert_int_equal(colbuf_put_istr(t, k, s, (size_t)n), 0);
    }
    assert_ptr_equal(at(k, 3).p, at(k, 19995).p); /* 3 % 7 == 19995 % 7 */
    colbuf_table_destroy(t);
}

/* Fill some columns with n values (the same way each time). */
static void fill(colbuf_table_t *t, size_t n)
{
    colbuf_col_t *ts = col(t, "Timestamp"), *name = col(t, "SpanName"),
                 *msg = col(t, "StatusMessage"), *attrs = col(t, "SpanAttributes");
    char s[64];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(colbuf_put_i64(t, ts, (int64_t)i * 1000), 0);
        int k = snprintf(s, sizeof(s), "span-%zu", i % 50);
        assert_int_equal(colbuf_put_istr(t, name, s, (size_t)k), 0);
        k = snprintf(s, sizeof(s), "unique message number %zu with some text", i);
        assert_int_equal(colbuf_put_str(t, msg, s, (size_t)k), 0);
        size_t off = attrs->child->n;
        assert_int_equal(colbuf_put_istr(t, attrs->child, "http.route", 10), 0);
        assert_int_equal(colbuf_put_istr(t, attrs->child2, s, (size_t)k), 0);
        assert_int_equal(colbuf_put_range(t, attrs, off, 1), 0);
    }
}

static void check(colbuf_table_t *t, size_t n)
{
    colbuf_col_t *ts = col(t, "Timestamp"), *name = col(t, "SpanName"),
                 *msg = col(t, "StatusMessage");
    char s[64];
    assert_int_equal(ts->n, n);
    for (size_t i = 0; i < n; i += 101) {
        assert_int_equal(((int64_t *)ts->v)[i], (int64_t)i * 1000);
        int k = snprintf(s, sizeof(s), "span-%zu", i % 50);
        assert_int_equal(at(name, i).len, k);
        assert_memory_equal(at(name, i).p, s, (size_t)k);
        k = snprintf(s, sizeof(s), "unique message number %zu with some text", i);
        assert_memory_equal(at(msg, i).p, s, (size_t)k);
    }
}

static void test_reset_reuses_memory(void **state)
{
    (void)state;
    const size_t n = 60000;
    colbuf_table_t *fresh = colbuf_table_create(LAKE_TRACES, 0);
    fill(fresh, n);
    size_t heap = fresh->heap_bytes, arrays = fresh->array_bytes;
    size_t cap = colbuf_table_capacity(fresh);
    assert_true(heap > 0 && arrays > 0);

    colbuf_table_reset(fresh);
    assert_int_equal(fresh->rows, 0);
    assert_int_equal(colbuf_table_bytes(fresh), 0);
    assert_int_equal(col(fresh, "Timestamp")->n, 0);
    assert_int_equal(colbuf_table_capacity(fresh), cap); /* memory kept */

    /* refilled: same figures as a new table, no new memory, right values */
    orasi_alloc_fail_after(0); /* any allocation would fail the refill */
    fill(fresh, n);
    orasi_alloc_fail_after(-1);
    assert_int_equal(fresh->heap_bytes, heap);
    assert_int_equal(fresh->array_bytes, arrays);
    assert_int_equal(colbuf_table_capacity(fresh), cap);
    check(fresh, n);

    /* a smaller refill counts only what it uses */
    colbuf_table_reset(fresh);
    fill(fresh, 100);
    assert_true(colbuf_table_bytes(fresh) < (heap + arrays) / 10);
    check(fresh, 100);
    colbuf_table_destroy(fresh);
}

static void test_reset_respects_cap(void **state)
{
    (void)state;
    colbuf_table_t *t = colbuf_table_create(LAKE_TRACES, 4u << 20);
    colbuf_col_t *msg = col(t, "StatusMessage");
    char s[200];
    memset(s, 'x', sizeof(s));
    int rc = 0;
    size_t n1 = 0;
    while ((rc = colbuf_put_str(t, msg, s, sizeof(s))) == 0)
        n1++;
    assert_int_equal(rc, ORASI_ETOOBIG);
    colbuf_table_reset(t);
    size_t n2 = 0;
    while ((rc = colbuf_put_str(t, msg, s, sizeof(s))) == 0)
        n2++;
    assert_int_equal(rc, ORASI_ETOOBIG);
    assert_int_equal(n1, n2);
    colbuf_table_destroy(t);
}

/* colbuf_bytes_eq agrees with memcmp for every length and every single differing byte. */
static void test_bytes_eq(void **state)
{
    (void)state;
    uint8_t a[48], b[48];
    for (size_t n = 0; n <= sizeof(a); n++) {
        for (size_t i = 0; i < sizeof(a); i++) /* (only the first n bytes are compared) */
            a[i] = b[i] = (uint8_t)(i * 37 + n);
        assert_true(colbuf_bytes_eq(a, b, n));
        for (size_t k = 0; k < n; k++) {
            b[k] ^= 0x40;
            assert_false(colbuf_bytes_eq(a, b, n));
            b[k] ^= 0x40;
        }
    }
    /* interning finds equal strings of every length, keeps different ones apart */
    colbuf_table_t *t = colbuf_table_create(LAKE_TRACES, 0);
    colbuf_col_t *c = col(t, "SpanName");
    char s1[64], s2[64];
    for (size_t n = 1; n <= COLBUF_INTERN_MAX_LEN; n++) {
        for (size_t i = 0; i < sizeof(s1); i++) /* (only the first n bytes are put) */
            s1[i] = s2[i] = (char)('a' + (i + n) % 26);
        s2[n - 1] = '#';
        size_t at0 = c->n;
        assert_int_equal(colbuf_put_istr(t, c, s1, n), 0);
        assert_int_equal(colbuf_put_istr(t, c, s2, n), 0);
        assert_int_equal(colbuf_put_istr(t, c, s1, n), 0);
        assert_ptr_equal(at(c, at0).p, at(c, at0 + 2).p);
        assert_ptr_not_equal(at(c, at0).p, at(c, at0 + 1).p);
        assert_memory_equal(at(c, at0 + 1).p, s2, n);
    }
    colbuf_table_destroy(t);
}

/* The memo finds an entry only by both keys' exact bytes, and forgets everything on
 * reset and on rollback (its entries may point at undone rows). */
static void test_memo(void **state)
{
    (void)state;
    colbuf_table_t *t = colbuf_table_create(LAKE_TRACES, 0);
    assert_non_null(t);
    char k1[700], k2[700];
    for (size_t i = 0; i < sizeof(k1); i++)
        k1[i] = k2[i] = (char)('a' + i % 23);
    k2[350] ^= 1; /* differs in the middle only */
    slice_t a = slice_make(k1, sizeof(k1)), b = slice_make(k2, sizeof(k2));
    slice_t url = SLICE_LIT("https://opentelemetry.io/schemas/1.24.0"), none = {0};
    slice_t s[2] = {SLICE_LIT("svc"), SLICE_LIT("u")};
    uint64_t h;
    assert_null(colbuf_memo_get(t, a, url, &h));
    colbuf_memo_put(t, h, a, url, (colbuf_range_t){7, 18}, s);
    const colbuf_memo_t *e = colbuf_memo_get(t, a, url, &h);
    assert_non_null(e);
    assert_int_equal(e->r.off, 7);
    assert_int_equal(e->r.len, 18);
    assert_ptr_equal(e->s[0].p, s[0].p);
    assert_ptr_not_equal(e->key.p, k1); /* the key was copied */
    k1[0] = 'z'; /* ... so the caller's bytes may change */
    assert_null(colbuf_memo_get(t, a, url, &h));
    k1[0] = 'a';
    assert_non_null(colbuf_memo_get(t, a, url, &h));
    assert_null(colbuf_memo_get(t, b, url, &h));
    assert_null(colbuf_memo_get(t, a, none, &h));
    assert_null(colbuf_memo_get(t, slice_make(k1, 699), url, &h));
    colbuf_table_reset(t);
    assert_null(colbuf_memo_get(t, a, url, &h));
    colbuf_mark_t m;
    colbuf_mark(t, &m);
    assert_null(colbuf_memo_get(t, b, none, &h));
    colbuf_memo_put(t, h, b, none, (colbuf_range_t){0, 3}, s);
    assert_non_null(colbuf_memo_get(t, b, none, &h));
    colbuf_rollback(t, &m);
    assert_null(colbuf_memo_get(t, b, none, &h));
    /* a gateway's few dozen pods all stay remembered (2-way sets) */
    char keys[40][64];
    for (int i = 0; i < 40; i++) {
        snprintf(keys[i], sizeof(keys[i]), "service.name=svc-%d host.name=pod-%d-x7f", i / 2, i);
        slice_t ki = slice_cstr(keys[i]);
        assert_null(colbuf_memo_get(t, ki, url, &h));
        colbuf_memo_put(t, h, ki, url, (colbuf_range_t){(uint32_t)i, 4}, s);
    }
    for (int i = 0; i < 40; i++) {
        e = colbuf_memo_get(t, slice_cstr(keys[i]), url, &h);
        assert_non_null(e);
        assert_int_equal(e->r.off, i);
    }
    colbuf_table_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intern_shares_equal_strings),
        cmocka_unit_test(test_intern_turns_off_for_distinct_values),
        cmocka_unit_test(test_reset_reuses_memory),
        cmocka_unit_test(test_reset_respects_cap),
        cmocka_unit_test(test_bytes_eq),
        cmocka_unit_test(test_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
