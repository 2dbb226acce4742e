/* pb.c — protobuf wire-format reader slow paths and the capped writer (see pb.h). */
#include "otlp/pb.h"

int pb_read_varint_slow(pb_reader_t *r, uint64_t *v)
{
    uint64_t x = 0;
    const uint8_t *p = r->p;
    for (unsigned i = 0; i < 10; i++) {
        if (p >= r->end)
            return ORASI_EPARSE; /* truncated */
        uint8_t b = *p++;
        /* the 10th byte may only carry the 64th bit: anything more overflows */
        if (i == 9 && b > 1)
            return ORASI_EPARSE;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            r->p = p;
            *v = x;
            return 0;
        }
    }
    return ORASI_EPARSE; /* more than 10 bytes */
}

/* ---------------------------------------------------------------- writer ----------- */

void pb_w_raw(pb_writer_t *w, const void *p, size_t n)
{
    if (w->err)
        return;
    int rc = buf_append(w->b, p, n);
    if (rc < 0)
        w->err = rc;
}

void pb_w_varint(pb_writer_t *w, uint64_t v)
{
    uint8_t tmp[10];
    pb_w_raw(w, tmp, pb_encode_varint(tmp, v));
}

void pb_w_tag(pb_writer_t *w, uint32_t field, uint32_t wt)
{
    pb_w_varint(w, ((uint64_t)field << 3) | wt);
}

void pb_w_uint(pb_writer_t *w, uint32_t field, uint64_t v)
{
    uint8_t tmp[20];
    size_t n = pb_encode_varint(tmp, ((uint64_t)field << 3) | PB_WT_VARINT);
    n += pb_encode_varint(tmp + n, v);
    pb_w_raw(w, tmp, n);
}

void pb_w_int32(pb_writer_t *w, uint32_t field, int32_t v)
{
    /* protobuf int32/enum: negative values are sign-extended to 64 bits (10 bytes) */
    pb_w_uint(w, field, (uint64_t)(int64_t)v);
}

void pb_w_sint(pb_writer_t *w, uint32_t field, int64_t v)
{
    pb_w_uint(w, field, pb_zigzag_enc64(v));
}

void pb_w_fixed64(pb_writer_t *w, uint32_t field, uint64_t v)
{
    uint8_t tmp[18];
    size_t n = pb_encode_varint(tmp, ((uint64_t)field << 3) | PB_WT_I64);
    memcpy(tmp + n, &v, 8);
    pb_w_raw(w, tmp, n + 8);
}

void pb_w_fixed32(pb_writer_t *w, uint32_t field, uint32_t v)
{
    uint8_t tmp[14];
    size_t n = pb_encode_varint(tmp, ((uint64_t)field << 3) | PB_WT_I32);
    memcpy(tmp + n, &v, 4);
    pb_w_raw(w, tmp, n + 4);
}

void pb_w_double(pb_writer_t *w, uint32_t field, double v)
{
    uint64_t x;
    memcpy(&x, &v, 8);
    pb_w_fixed64(w, field, x);
}

void pb_w_bytes(pb_writer_t *w, uint32_t field, const void *p, size_t n)
{
    uint8_t tmp[20];
    size_t h = pb_encode_varint(tmp, ((uint64_t)field << 3) | PB_WT_LEN);
    h += pb_encode_varint(tmp + h, n);
    pb_w_raw(w, tmp, h);
    if (n)
        pb_w_raw(w, p, n);
}

size_t pb_w_begin(pb_writer_t *w, uint32_t field)
{
    pb_w_tag(w, field, PB_WT_LEN);
    /* one byte reserved for the length: most OTLP sub-messages (attributes, ids) are
     * shorter than 128 bytes, so most never move */
    pb_w_raw(w, "", 1);
    return w->err ? 0 : w->b->len - 1;
}

void pb_w_end(pb_writer_t *w, size_t mark)
{
    if (w->err)
        return;
    size_t body = w->b->len - mark - 1;
    size_t need = pb_varint_size(body);
    if (need > 1) {
        int rc = buf_reserve(w->b, need - 1);
        if (rc < 0) {
            w->err = rc;
            return;
        }
        memmove(w->b->data + mark + need, w->b->data + mark + 1, body);
        w->b->len += need - 1;
    }
    pb_encode_varint(w->b->data + mark, body);
}
