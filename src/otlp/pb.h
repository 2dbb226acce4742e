/*
 * pb.h — zero-copy protobuf wire-format reader and a capped writer.
 *
 * Reader: a pb_reader_t is a (cursor, end) pair over borrowed bytes. Every function checks
 * every length against what is left and returns ORASI_EPARSE (never reads past `end`):
 * truncated varints, varints longer than 10 bytes or overflowing 64 bits, field number 0
 * or > 2^29-1, length prefixes past the end (a 2 GB prefix is just "past the end"), and
 * the group wire types 3/4 (deprecated, never used by OTLP) are all errors. Length-
 * delimited values come back as slices pointing into the input: nothing is copied.
 * The hot paths (one-byte varints, tags) are inline.
 *
 * Writer: pb_writer_t appends to a caller-owned buf_t (whose `max` caps the output) and
 * keeps a sticky error, so an encoder can emit a whole message and check once at the end
 * (first failure wins: ORASI_ETOOBIG past the cap, ORASI_ENOMEM). Nested messages are
 * written with pb_w_begin()/pb_w_end(): the length is back-patched; the body is moved
 * only when the length does not fit in the one byte reserved for it.
 */
#ifndef ORASI_OTLP_PB_H
#define ORASI_OTLP_PB_H

#include "core/buf.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum pb_wire_type {
    PB_WT_VARINT = 0,
    PB_WT_I64 = 1,
    PB_WT_LEN = 2,
    PB_WT_SGROUP = 3, /* rejected */
    PB_WT_EGROUP = 4, /* rejected */
    PB_WT_I32 = 5,
};

#define PB_MAX_FIELD ((1u << 29) - 1)

typedef struct {
    const uint8_t *p;   /* cursor */
    const uint8_t *end; /* one past the last readable byte */
} pb_reader_t;

static inline pb_reader_t pb_reader(slice_t s)
{
    return (pb_reader_t){s.p, s.p + s.len};
}
static inline int pb_more(const pb_reader_t *r)
{
    return r->p < r->end;
}
static inline size_t pb_left(const pb_reader_t *r)
{
    return (size_t)(r->end - r->p);
}

/* Out of line slow path of pb_read_varint (multi-byte values). */
int pb_read_varint_slow(pb_reader_t *r, uint64_t *v);

/* Read a base-128 varint. ORASI_EPARSE when truncated or longer than 10 bytes / 64 bits. */
static inline int pb_read_varint(pb_reader_t *r, uint64_t *v)
{
    if (r->p < r->end && *r->p < 0x80) {
        *v = *r->p++;
        return 0;
    }
    return pb_read_varint_slow(r, v);
}

/* Read a field key. ORASI_EPARSE for field 0, > 2^29-1, group or unknown wire types. */
static inline int pb_read_tag(pb_reader_t *r, uint32_t *field, uint32_t *wt)
{
    uint64_t k;
    if (r->p < r->end && *r->p < 0x80) {
        k = *r->p++;
    } else if (pb_read_varint_slow(r, &k) < 0) {
        return ORASI_EPARSE;
    }
    uint64_t f = k >> 3;
    uint32_t t = (uint32_t)(k & 7);
    if (f == 0 || f > PB_MAX_FIELD || t == PB_WT_SGROUP || t == PB_WT_EGROUP || t > PB_WT_I32)
        return ORASI_EPARSE;
    *field = (uint32_t)f;
    *wt = t;
    return 0;
}

static inline int pb_read_fixed64(pb_reader_t *r, uint64_t *v)
{
    if (pb_left(r) < 8)
        return ORASI_EPARSE;
    uint64_t x;
    memcpy(&x, r->p, 8); /* wire is little-endian; so are all our targets */
    r->p += 8;
    *v = x;
    return 0;
}

static inline int pb_read_fixed32(pb_reader_t *r, uint32_t *v)
{
    if (pb_left(r) < 4)
        return ORASI_EPARSE;
    uint32_t x;
    memcpy(&x, r->p, 4);
    r->p += 4;
    *v = x;
    return 0;
}

static inline int pb_read_double(pb_reader_t *r, double *v)
{
    uint64_t x;
    if (pb_read_fixed64(r, &x) < 0)
        return ORASI_EPARSE;
    memcpy(v, &x, 8);
    return 0;
}

/* Length-delimited value: `*out` points into the input. */
static inline int pb_read_bytes(pb_reader_t *r, slice_t *out)
{
    uint64_t n;
    if (pb_read_varint(r, &n) < 0 || n > pb_left(r))
        return ORASI_EPARSE;
    out->p = r->p;
    out->len = (size_t)n;
    r->p += n;
    return 0;
}

/* Skip the value of a field of wire type `wt` (unknown fields). */
static inline int pb_skip(pb_reader_t *r, uint32_t wt)
{
    uint64_t v;
    slice_t s;
    switch (wt) {
    case PB_WT_VARINT:
        return pb_read_varint(r, &v);
    case PB_WT_I64:
        if (pb_left(r) < 8)
            return ORASI_EPARSE;
        r->p += 8;
        return 0;
    case PB_WT_LEN:
        return pb_read_bytes(r, &s);
    case PB_WT_I32:
        if (pb_left(r) < 4)
            return ORASI_EPARSE;
        r->p += 4;
        return 0;
    default:
        /* groups (3/4) are deprecated and absent from OTLP; 6/7 do not exist */
        return ORASI_EPARSE;
    }
}

static inline int64_t pb_zigzag_dec64(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}
static inline int32_t pb_zigzag_dec32(uint64_t v)
{
    return (int32_t)((uint32_t)(v >> 1) ^ -(uint32_t)(v & 1));
}
static inline uint64_t pb_zigzag_enc64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline uint32_t pb_zigzag_enc32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

/* Bytes a varint encoding of v takes (1..10). */
static inline size_t pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* ---------------------------------------------------------------- writer ----------- */

typedef struct {
    buf_t *b; /* borrowed; output is appended */
    int err;  /* sticky: first failure, 0 while fine */
} pb_writer_t;

static inline void pb_writer_init(pb_writer_t *w, buf_t *b)
{
    w->b = b;
    w->err = 0;
}

/* Encode v into dst (>= 10 bytes); returns the number of bytes written. */
static inline size_t pb_encode_varint(uint8_t *dst, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        dst[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[n++] = (uint8_t)v;
    return n;
}

void pb_w_raw(pb_writer_t *w, const void *p, size_t n);
void pb_w_varint(pb_writer_t *w, uint64_t v);
void pb_w_tag(pb_writer_t *w, uint32_t field, uint32_t wt);
/* Full fields (tag + value). Nothing is skipped: proto3 "omit defaults" is the caller's
 * choice, so a oneof member that is zero can still be written. */
void pb_w_uint(pb_writer_t *w, uint32_t field, uint64_t v);    /* uint32/uint64/int64/enum */
void pb_w_int32(pb_writer_t *w, uint32_t field, int32_t v);    /* int32/enum: sign-extended */
void pb_w_sint(pb_writer_t *w, uint32_t field, int64_t v);     /* sint32/sint64 (zigzag) */
void pb_w_fixed64(pb_writer_t *w, uint32_t field, uint64_t v); /* fixed64/sfixed64 */
void pb_w_fixed32(pb_writer_t *w, uint32_t field, uint32_t v); /* fixed32/sfixed32 */
void pb_w_double(pb_writer_t *w, uint32_t field, double v);
void pb_w_bytes(pb_writer_t *w, uint32_t field, const void *p, size_t n);
static inline void pb_w_slice(pb_writer_t *w, uint32_t field, slice_t s)
{
    pb_w_bytes(w, field, s.p, s.len);
}
/* Start a nested message (or packed field) `field`; returns a mark for pb_w_end. */
size_t pb_w_begin(pb_writer_t *w, uint32_t field);
/* Close the message opened at `mark`, back-patching its length. */
void pb_w_end(pb_writer_t *w, size_t mark);

#endif
