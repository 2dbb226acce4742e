/*
 * buf.h — byte slices and growable buffers, every one with a cap.
 *
 * slice_t is a borrowed view (pointer, length): it owns nothing and is valid as long as
 * the memory it points into. buf_t owns its memory (orasi_malloc) and never grows past
 * `max`: an append that would cross it fails with ORASI_ETOOBIG and leaves the buffer
 * unchanged (curl's dynbuf). Appends are amortised O(1).
 */
#ifndef ORASI_CORE_BUF_H
#define ORASI_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const uint8_t *p;
    size_t len;
} slice_t;

#define SLICE_LIT(s) ((slice_t){(const uint8_t *)(s), sizeof(s) - 1})
static inline slice_t slice_make(const void *p, size_t len)
{
    return (slice_t){(const uint8_t *)p, len};
}
static inline slice_t slice_cstr(const char *s)
{
    return (slice_t){(const uint8_t *)s, s ? strlen(s) : 0};
}
static inline int slice_eq(slice_t a, slice_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}
static inline int slice_eq_cstr(slice_t a, const char *s)
{
    return slice_eq(a, slice_cstr(s));
}
/* ASCII case-insensitive comparison (HTTP header names, tokens). */
int slice_eq_nocase(slice_t a, const char *s);

typedef struct {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap; /* allocated */
    size_t max; /* hard cap on len */
} buf_t;

/* Initialise an empty buffer that may hold at most `max` bytes. Allocates nothing. */
void buf_init(buf_t *b, size_t max);
void buf_free(buf_t *b);
/* Drop the contents, keep the memory. */
static inline void buf_clear(buf_t *b)
{
    b->len = 0;
}
/* Make room for `extra` more bytes; ORASI_ETOOBIG past max, ORASI_ENOMEM. */
int buf_reserve(buf_t *b, size_t extra);
int buf_append(buf_t *b, const void *p, size_t n);
static inline int buf_append_slice(buf_t *b, slice_t s)
{
    return buf_append(b, s.p, s.len);
}
int buf_append_str(buf_t *b, const char *s);
int buf_append_byte(buf_t *b, uint8_t c);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf_t *b, const char *fmt, va_list ap);
/* Remove the first n bytes (consumed input), moving the rest to the front. */
void buf_consume(buf_t *b, size_t n);
/* Take ownership of the bytes out of the buffer; the buffer becomes empty. */
uint8_t *buf_detach(buf_t *b, size_t *len);
static inline slice_t buf_slice(const buf_t *b)
{
    return (slice_t){b->data, b->len};
}
/* Append a JSON string literal (with quotes) escaping as RFC 8259 requires. Bytes that
 * are not valid UTF-8 become U+FFFD, so the output is always valid JSON. s may be NULL
 * (written as ""). On failure the buffer is left unchanged. */
int buf_append_json_str(buf_t *b, const char *s, size_t n);
/* Length (1-4) of the well-formed UTF-8 sequence at p[0..n), or 0 if p does not start
 * one (stray continuation byte, overlong form, surrogate, > U+10FFFF, truncated). */
size_t buf_utf8_len(const uint8_t *p, size_t n);

#endif
