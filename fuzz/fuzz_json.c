/* fuzz_json.c — libFuzzer target for the generic JSON parser (src/otlp/json.c).
 *
 * Arbitrary bytes are parsed strictly and leniently, with a small depth limit and the
 * default one. On success the checks are properties, not just "did not crash":
 *   - the token tree is consistent (next links nest, counts match);
 *   - strings not flagged JSON_F_BADUTF8 are valid UTF-8 (strict mode: all of them);
 *   - number tokens satisfy the grammar and the number helpers never misbehave;
 *   - re-serializing the tokens gives a document that parses to the same token shape
 *     (strict mode only: lenient strings may hold bytes that cannot be written back).
 * Any violated property aborts, which libFuzzer reports as a crash. */
#include "core/arena.h"
#include "core/buf.h"
#include "otlp/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(x)                                                                                \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

/* Check the subtree of token i (links nest, counts match, object keys are strings) and
 * return the index just past it. Iterative, like the parser. */
static uint32_t fz_check_tree(const json_doc_t *d, uint32_t i, int strict)
{
    uint32_t stack[JSON_MAX_DEPTH_LIMIT + 1], left[JSON_MAX_DEPTH_LIMIT + 1];
    int sp = 0;
    uint32_t end = d->t[i].next;
    FZ_CHECK(end <= d->n);
    for (uint32_t k = i; k < end; k++) {
        const json_tok_t *t = &d->t[k];
        while (sp > 0 && d->t[stack[sp - 1]].next == k) {
            FZ_CHECK(left[sp - 1] == 0);
            sp--;
        }
        FZ_CHECK(t->next > k && t->next <= end);
        if (sp > 0) {
            const json_tok_t *parent = &d->t[stack[sp - 1]];
            FZ_CHECK(parent->next > k && left[sp - 1] > 0);
            if (parent->type == JSON_OBJECT && (2 * parent->n - left[sp - 1]) % 2 == 0)
                FZ_CHECK(t->type == JSON_STRING); /* a key */
            left[sp - 1]--;
        }
        switch (t->type) {
        case JSON_STRING:
            FZ_CHECK(t->next == k + 1);
            if (strict || !(t->flags & JSON_F_BADUTF8))
                FZ_CHECK(json_utf8_valid(json_slice(d, k)));
            break;
        case JSON_NUMBER: {
            FZ_CHECK(t->next == k + 1);
            slice_t s = json_slice(d, k);
            FZ_CHECK(json_num_valid(s));
            int64_t iv;
            uint64_t uv;
            double dv;
            int ri = json_num_i64(s, &iv), ru = json_num_u64(s, &uv);
            (void)json_num_f64(s, &dv);
            /* both succeed on a non-negative int64: they must agree */
            if (ri == 0 && ru == 0)
                FZ_CHECK(iv >= 0 && (uint64_t)iv == uv);
            break;
        }
        case JSON_ARRAY:
        case JSON_OBJECT: {
            uint32_t kids = t->type == JSON_OBJECT ? 2 * t->n : t->n;
            if (kids) {
                FZ_CHECK(sp <= JSON_MAX_DEPTH_LIMIT);
                stack[sp] = k;
                left[sp] = kids;
                sp++;
            } else {
                FZ_CHECK(t->next == k + 1);
            }
            break;
        }
        default:
            FZ_CHECK(t->next == k + 1);
        }
    }
    while (sp > 0 && d->t[stack[sp - 1]].next == end) {
        FZ_CHECK(left[sp - 1] == 0);
        sp--;
    }
    FZ_CHECK(sp == 0);
    return end;
}

/* Write the document back as JSON. */
static int fz_write(const json_doc_t *d, buf_t *b)
{
    uint32_t close_at[JSON_MAX_DEPTH_LIMIT + 1];
    uint8_t kind[JSON_MAX_DEPTH_LIMIT + 1];
    uint32_t pos[JSON_MAX_DEPTH_LIMIT + 1];
    int sp = 0, rc = 0;
    for (uint32_t k = 0; k < d->n && !rc; k++) {
        if (sp > 0) {
            /* separators: in objects, key ':' value ',' key ... */
            uint32_t p = pos[sp - 1]++;
            if (kind[sp - 1] == JSON_OBJECT)
                rc = p == 0 ? 0 : buf_append_byte(b, p % 2 ? ':' : ',');
            else if (p)
                rc = buf_append_byte(b, ',');
        }
        const json_tok_t *t = &d->t[k];
        switch (t->type) {
        case JSON_NULL:
            rc = rc ? rc : buf_append_str(b, "null");
            break;
        case JSON_TRUE:
            rc = rc ? rc : buf_append_str(b, "true");
            break;
        case JSON_FALSE:
            rc = rc ? rc : buf_append_str(b, "false");
            break;
        case JSON_NUMBER:
            rc = rc ? rc : buf_append_slice(b, json_slice(d, k));
            break;
        case JSON_STRING:
            rc = rc ? rc : buf_append_json_str(b, (const char *)t->p, t->len);
            break;
        default:
            rc = rc ? rc : buf_append_byte(b, t->type == JSON_ARRAY ? '[' : '{');
            close_at[sp] = t->next;
            kind[sp] = t->type;
            pos[sp] = 0;
            sp++;
        }
        while (!rc && sp > 0 && close_at[sp - 1] == k + 1) {
            rc = buf_append_byte(b, kind[sp - 1] == JSON_ARRAY ? ']' : '}');
            sp--;
        }
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t *a = arena_create(4096, 64u << 20);
    if (!a)
        return 0;
    json_doc_t d;
    json_err_t e;
    slice_t in = slice_make(data, size);

    int rc = json_parse(in, NULL, a, &d, &e);
    if (rc == 0) {
        FZ_CHECK(d.n >= 1 && fz_check_tree(&d, 0, 1) == d.n);
        buf_t b;
        buf_init(&b, 8u << 20);
        if (fz_write(&d, &b) == 0) {
            json_doc_t d2;
            FZ_CHECK(json_parse(buf_slice(&b), NULL, a, &d2, &e) == 0);
            FZ_CHECK(d2.n == d.n);
            for (uint32_t k = 0; k < d.n; k++) {
                FZ_CHECK(d2.t[k].type == d.t[k].type && d2.t[k].next == d.t[k].next);
                if (d.t[k].type == JSON_STRING || d.t[k].type == JSON_NUMBER)
                    FZ_CHECK(slice_eq(json_slice(&d, k), json_slice(&d2, k)));
            }
        }
        buf_free(&b);
    } else {
        FZ_CHECK(rc < 0 && e.msg[0] != '\0' && e.offset <= size);
    }
    arena_reset(a);

    json_limits_t lim = {.max_depth = 8, .max_tokens = 4096, .flags = JSON_LENIENT_UTF8};
    rc = json_parse(in, &lim, a, &d, &e);
    if (rc == 0)
        FZ_CHECK(d.n <= 4096 && fz_check_tree(&d, 0, 0) == d.n);
    arena_destroy(a);

    /* the number helpers on the raw bytes, too */
    if (size < 600) {
        int64_t iv;
        uint64_t uv;
        double dv;
        (void)json_num_i64(in, &iv);
        (void)json_num_u64(in, &uv);
        (void)json_num_f64(in, &dv);
        (void)json_utf8_valid(in);
    }
    return 0;
}
