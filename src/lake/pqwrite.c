/*
 * pqwrite.c — native Parquet writer for lake tables (see pqwrite.h).
 *
 * Why: DuckDB's COPY spent most of a flush hashing strings for its dictionaries, copying
 * every value into DuckDB vectors and buffering column data; our columns are already
 * typed arrays whose strings are often shared slices, so encoding them directly is much
 * cheaper. Merges (compaction) still go through DuckDB (parquet.c).
 *
 * ---- File layout (Apache Parquet, https://github.com/apache/parquet-format) ----------------
 *
 *   "PAR1"
 *   row group 0: column chunk of leaf 0, leaf 1, ... (leaves in schema order)
 *   row group 1: ...
 *   FileMetaData (Thrift compact protocol)
 *   u32 LE length of FileMetaData, "PAR1"
 *
 * A column chunk is an optional dictionary page followed by data pages. Every page is a
 * PageHeader (Thrift compact) followed by the page body compressed with ZSTD (one frame
 * per page; codec ZSTD in ColumnMetaData):
 *
 *   DICTIONARY_PAGE  body: the distinct values, PLAIN (BYTE_ARRAY: u32 LE length + bytes;
 *                    INT32/INT64/DOUBLE: 4/8 bytes LE); encoding PLAIN. Present when the
 *                    chunk's first page was smaller dictionary-encoded (dictionary +
 *                    indices) than in the leaf's other encoding (below). Booleans never,
 *                    nor leaves whose first PQW_PROBE values are > 50 % distinct. The
 *                    values are those the chunk uses, each once, in first-use order.
 *   DATA_PAGE (v1)   body: [repetition levels][definition levels][values]; each level
 *                    block is u32 LE byte length + RLE/bit-packed hybrid (bit width of the
 *                    max level), present only when the leaf's max level is > 0. Values:
 *                      RLE_DICTIONARY           u8 bit width (>= 1) + hybrid-encoded indices
 *                      DELTA_LENGTH_BYTE_ARRAY  strings without a dictionary: lengths
 *                                               DELTA_BINARY_PACKED, then the bytes
 *                      DELTA_BINARY_PACKED      INT32/INT64 without a dictionary: blocks of
 *                                               128 values, 4 miniblocks of 32, deltas
 *                                               wrapping in the physical width
 *                      BYTE_STREAM_SPLIT        DOUBLE without a dictionary
 *                      PLAIN                    BOOLEAN (bits, LSB first); INT32/INT64 when
 *                                               the plain_ints option is set
 *                    Pages start at row boundaries (repetition level 0). A page holds at
 *                    most 2^20 level entries and about `page_bytes` of raw values, 16
 *                    times that while it is dictionary-encoded (it holds only indices).
 *                    Once the dictionary passes `dict_bytes`, the remaining pages of the
 *                    chunk use the other encoding (parquet-mr's fallback).
 *
 * Schema (one root "schema", then each lake column in colbuf schema order):
 *
 *   scalar            required <physical> Name (<logical type>)
 *   MAP               required group Name (MAP) { repeated group key_value {
 *                       required binary key (STRING); required binary value (STRING); } }
 *   LIST of scalar    required group Name (LIST) { repeated group list {
 *                       required <physical> element; } }
 *   LIST of MAP       required group Name (LIST) { repeated group list {
 *                       required group element (MAP) { repeated group key_value {...} } } }
 *
 * Nothing in the lake is NULL (docs/internals/lake.md), so every field is REQUIRED and
 * the only levels are those of repetition: a MAP/LIST leaf has max levels 1/1 (empty
 * map or list: def 0), a LIST-of-MAP leaf 2/2 (empty list: def 0; an element whose map
 * is empty: def 1). Types:
 *
 *   CB_TS     INT64 TIMESTAMP(NANOS, isAdjustedToUTC=false)  (DuckDB's TIMESTAMP_NS)
 *   CB_I64    INT64 INTEGER(64, signed)      CB_U64  INT64 INTEGER(64, unsigned)
 *   CB_I32    INT32 INTEGER(32, signed)      CB_U32  INT32 INTEGER(32, unsigned)
 *   CB_U8     INT32 INTEGER(8, unsigned)     CB_F64  DOUBLE      CB_BOOL  BOOLEAN
 *   CB_STR, ids (lowercase hex, "" when absent), SpanKind / StatusCode names:
 *             BYTE_ARRAY STRING
 *
 * Every ColumnMetaData carries Statistics with null_count (level entries without a
 * value, i.e. empty maps/lists; 0 for top-level columns) and min_value/max_value in the
 * column's order: unsigned bytewise for strings, signed or unsigned by logical type for
 * integers, IEEE for doubles (NaN ignored, -0.0/+0.0 per the spec). String bounds longer
 * than PQW_STAT_MAX bytes are truncated (min: prefix; max: prefix with its last byte
 * incremented, or none) and flagged inexact. FileMetaData.column_orders says
 * TYPE_DEFINED_ORDER for every leaf, so readers trust min_value/max_value.
 */
#include "lake/pqwrite.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

/* ---- limits -------------------------------------------------------------------------------- */

#define PQW_MAX_LEAVES 128         /* leaf columns of one schema */
#define PQW_BUF_MAX (1u << 30)     /* any one scratch buffer (a page, a chunk) */
#define PQW_META_MAX (256u << 20)  /* the footer */
#define PQW_OUT_FLUSH (4u << 20)   /* write(2) the output buffer past this */
#define PQW_MAX_GROUPS 65535u     /* row groups in one file */
#define PQW_PAGE_LEVELS (1u << 20) /* level entries per page (a long single row may exceed) */
#define PQW_STAT_MAX 64            /* longest string min/max kept exactly */
#define PQW_PCACHE 4096            /* pointer cache slots (shared / interned strings) */
#define PQW_PROBE 8192             /* values a leaf's dictionary pass looks at before it
                                      may give up (> 50 % distinct) */
#define PQW_GPOOL_KEEP (64u << 20) /* table-wide dictionary memory kept between writes */

#define PQW_INLINE inline __attribute__((always_inline))

/* ---- Parquet enums (parquet.thrift) --------------------------------------------------------- */

enum { PT_BOOLEAN = 0, PT_INT32 = 1, PT_INT64 = 2, PT_DOUBLE = 5, PT_BYTE_ARRAY = 6 };
enum { CT_UTF8 = 0, CT_MAP = 1, CT_LIST = 3, CT_UINT_8 = 11, CT_UINT_32 = 13, CT_UINT_64 = 14,
       CT_INT_32 = 17, CT_INT_64 = 18 };
enum { REP_REQUIRED = 0, REP_REPEATED = 2 };
enum { ENC_PLAIN = 0, ENC_RLE = 3, ENC_DELTA_BINARY_PACKED = 5, ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
       ENC_RLE_DICTIONARY = 8, ENC_BYTE_STREAM_SPLIT = 9 };
enum { PAGE_DATA = 0, PAGE_DICTIONARY = 2 };
enum { CODEC_ZSTD = 6 };

/* Thrift compact protocol type ids. */
enum { TT_TRUE = 1, TT_FALSE = 2, TT_BYTE = 3, TT_I32 = 5, TT_I64 = 6, TT_BINARY = 8,
       TT_LIST = 9, TT_STRUCT = 12 };

/* ---- Thrift compact protocol writer ---------------------------------------------------------
 * Errors are sticky (rc) so that building a struct is a flat sequence of calls checked
 * once at the end. Field ids are delta-encoded against the previous field of the same
 * struct, hence the stack of last ids. */

#define TW_DEPTH 16

typedef struct {
    buf_t *b;
    int rc;
    int depth;
    int16_t last[TW_DEPTH];
} tw_t;

static void tw_init(tw_t *t, buf_t *b)
{
    memset(t, 0, sizeof(*t));
    t->b = b;
}

static void tw_raw(tw_t *t, const void *p, size_t n)
{
    if (!t->rc)
        t->rc = buf_append(t->b, p, n);
}

static void tw_byte(tw_t *t, uint8_t v)
{
    tw_raw(t, &v, 1);
}

static size_t varint(uint8_t *o, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        o[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[n++] = (uint8_t)v;
    return n;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static void tw_uvar(tw_t *t, uint64_t v)
{
    uint8_t tmp[10];
    tw_raw(t, tmp, varint(tmp, v));
}

static void tw_field(tw_t *t, int16_t id, uint8_t type)
{
    int16_t d = (int16_t)(id - t->last[t->depth]);
    if (d > 0 && d <= 15) {
        tw_byte(t, (uint8_t)((d << 4) | type));
    } else {
        tw_byte(t, type);
        tw_uvar(t, zigzag(id));
    }
    t->last[t->depth] = id;
}

static void tw_i32(tw_t *t, int16_t id, int64_t v)
{
    tw_field(t, id, TT_I32);
    tw_uvar(t, zigzag(v));
}

static void tw_i64(tw_t *t, int16_t id, int64_t v)
{
    tw_field(t, id, TT_I64);
    tw_uvar(t, zigzag(v));
}

static void tw_bool(tw_t *t, int16_t id, int v)
{
    tw_field(t, id, v ? TT_TRUE : TT_FALSE);
}

static void tw_bin(tw_t *t, int16_t id, const void *p, size_t n)
{
    tw_field(t, id, TT_BINARY);
    tw_uvar(t, n);
    tw_raw(t, p, n);
}

/* A struct value without a field header (list element, top level). */
static void tw_push(tw_t *t)
{
    if (t->depth + 1 >= TW_DEPTH) {
        t->rc = ORASI_EINTERNAL;
        return;
    }
    t->last[++t->depth] = 0;
}

static void tw_struct(tw_t *t, int16_t id)
{
    tw_field(t, id, TT_STRUCT);
    tw_push(t);
}

static void tw_end(tw_t *t)
{
    tw_byte(t, 0); /* stop */
    if (t->depth > 0)
        t->depth--;
}

static void tw_list(tw_t *t, int16_t id, uint8_t elem, size_t n)
{
    tw_field(t, id, TT_LIST);
    if (n < 15) {
        tw_byte(t, (uint8_t)((n << 4) | elem));
    } else {
        tw_byte(t, (uint8_t)(0xf0 | elem));
        tw_uvar(t, n);
    }
}

/* An empty struct as a field (union members such as StringType). */
static void tw_empty(tw_t *t, int16_t id)
{
    tw_struct(t, id);
    tw_end(t);
}

/* ---- the writer -------------------------------------------------------------------------- */

/* Shapes of a leaf: top-level scalar, one repeated level (MAP, LIST of scalar), two (LIST
 * of MAP). */
enum { SHAPE_SCALAR = 0, SHAPE_ONE, SHAPE_TWO };

struct leaf {
    const colbuf_col_t *top; /* the table column */
    const colbuf_col_t *mid; /* SHAPE_TWO: the MAP column of the list elements */
    const colbuf_col_t *col; /* the column holding this leaf's values */
    uint8_t shape;
    uint8_t kind;     /* kind of the values in col */
    const char *path[5];
    int npath;
    /* table-wide dictionary (gdict_build); has_gid 0: the leaf is written without one */
    int has_gid;
    size_t gid_off;  /* its values' table-wide ids: w->gids[gid_off .. gid_off + col->n) */
    size_t ent_off;  /* its distinct values: w->gents[ent_off .. ent_off + ngent) */
    size_t ngent;
};

/* A table-wide dictionary entry: one distinct value of a leaf. */
struct gent {
    uint32_t vi;   /* the first value index that had it (its representative) */
    uint32_t tlen; /* length of its PLAIN form (rendered text; fixed width) */
    uint32_t lmap; /* its index + 1 in the dictionary of the chunk being written; 0: absent */
};

/* Key of an entry while the table-wide pass runs: the bytes values compare by (string
 * bytes, binary id, enum int, fixed-width value), their hash, and two 8-byte windows
 * that hold all of a key of up to 16 bytes (key_words), so that most keys compare
 * without touching their bytes. */
struct gkey {
    uint64_t w0, w1;
    const uint8_t *p;
    uint32_t len;
    uint32_t hash;
};

/* Pointer cache of the table-wide pass: (pointer, length) of a string -> its id + 1. */
struct pcache {
    const uint8_t *p;
    uint32_t len;
    uint32_t g; /* table-wide id + 1; 0 = empty */
};

/* Statistics of the chunk being written. */
struct stats {
    int has;
    int64_t imin, imax;   /* signed ints, timestamps */
    uint64_t umin, umax;  /* unsigned ints, bool */
    double dmin, dmax;
    uint32_t smin, smax;  /* string-like: value index into the leaf column */
    uint64_t nulls;
};

struct pqw {
    pqw_options_t o;
    ZSTD_CCtx *zc;
    int fd;
    uint64_t off;    /* file offset of out.data[0] */
    buf_t out;       /* bytes not yet written */
    buf_t page;      /* uncompressed page body being built */
    buf_t pages;     /* data pages of the current chunk, when it has a dictionary */
    buf_t dict;      /* PLAIN dictionary values of the current chunk */
    buf_t z;         /* compression output */
    buf_t hdr;       /* a page header */
    buf_t lev;       /* RLE-encoded levels of a page */
    buf_t txt;       /* rendered strings of a DELTA_LENGTH_BYTE_ARRAY page */
    buf_t rg;        /* ColumnChunk structs of the current row group */
    buf_t meta;      /* FileMetaData */
    /* per-page levels and value indexes */
    uint32_t *rep, *def, *vidx, *idx;
    size_t lcap;
    uint64_t *u64; /* gathered integers for delta encoding */
    size_t ucap;
    /* table-wide dictionaries of every leaf (see "dictionaries" below) */
    uint32_t *gids;      /* table-wide id of every value, leaf after leaf */
    size_t ngids, gidcap;
    struct gent *gents;  /* distinct values, leaf after leaf */
    size_t ngents, gentcap;
    struct gkey *gkeys;  /* keys of the leaf being built (indexed by its ids) */
    size_t gkeycap;
    uint32_t *slots;     /* open addressing: id + 1 of the leaf being built; 0 = empty */
    size_t nslots;
    struct pcache pc[PQW_PCACHE];
    uint32_t *imap;      /* colbuf intern id -> table-wide id + 1 (0: not seen yet) */
    size_t imapcap;
    /* dictionary of the chunk being written: table-wide ids in chunk-index order */
    uint32_t *lents;
    size_t nloc, loccap;
    struct leaf leaves[PQW_MAX_LEAVES];
    int nleaves;
};

int pqw_create(const pqw_options_t *opts, pqw_t **out)
{
    pqw_t *w = orasi_calloc(1, sizeof(*w));
    if (!w)
        return ORASI_ENOMEM;
    if (opts)
        w->o = *opts;
    if (!w->o.row_group_rows)
        w->o.row_group_rows = 122880;
    if (w->o.zstd_level <= 0 || w->o.zstd_level > 22)
        w->o.zstd_level = 3;
    if (!w->o.page_bytes)
        w->o.page_bytes = 1u << 20;
    if (!w->o.dict_bytes)
        w->o.dict_bytes = 1u << 20;
    if (!w->o.keep_bytes)
        w->o.keep_bytes = PQW_GPOOL_KEEP;
    w->fd = -1;
    buf_init(&w->out, PQW_BUF_MAX);
    buf_init(&w->page, PQW_BUF_MAX);
    buf_init(&w->pages, PQW_BUF_MAX);
    buf_init(&w->dict, PQW_BUF_MAX);
    buf_init(&w->z, PQW_BUF_MAX);
    buf_init(&w->hdr, 1u << 16);
    buf_init(&w->lev, PQW_BUF_MAX);
    buf_init(&w->txt, PQW_BUF_MAX);
    buf_init(&w->rg, PQW_META_MAX);
    buf_init(&w->meta, PQW_META_MAX);
    w->zc = ZSTD_createCCtx();
    if (!w->zc) {
        orasi_free(w);
        return ORASI_ENOMEM;
    }
    *out = w;
    return 0;
}

void pqw_destroy(pqw_t *w)
{
    if (!w)
        return;
    ZSTD_freeCCtx(w->zc);
    buf_free(&w->out);
    buf_free(&w->page);
    buf_free(&w->pages);
    buf_free(&w->dict);
    buf_free(&w->z);
    buf_free(&w->hdr);
    buf_free(&w->lev);
    buf_free(&w->txt);
    buf_free(&w->rg);
    buf_free(&w->meta);
    orasi_free(w->rep);
    orasi_free(w->def);
    orasi_free(w->vidx);
    orasi_free(w->idx);
    orasi_free(w->u64);
    orasi_free(w->gids);
    orasi_free(w->imap);
    orasi_free(w->gents);
    orasi_free(w->gkeys);
    orasi_free(w->slots);
    orasi_free(w->lents);
    orasi_free(w);
}

/* ---- output ----------------------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return orasi_err_from_errno(errno);
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int out_flush(pqw_t *w)
{
    int rc = write_all(w->fd, w->out.data, w->out.len);
    if (!rc) {
        w->off += w->out.len;
        buf_clear(&w->out);
    }
    return rc;
}

/* Current file offset of the next byte emitted. */
static uint64_t out_pos(const pqw_t *w)
{
    return w->off + w->out.len;
}

/* Append to the file: small pieces are gathered, big ones written straight through. */
static int emit(pqw_t *w, const void *p, size_t n)
{
    int rc;
    if (n >= PQW_OUT_FLUSH) {
        if ((rc = out_flush(w)) || (rc = write_all(w->fd, p, n)))
            return rc;
        w->off += n;
        return 0;
    }
    if ((rc = buf_append(&w->out, p, n)))
        return rc;
    return w->out.len >= PQW_OUT_FLUSH ? out_flush(w) : 0;
}

/* ---- scratch growth --------------------------------------------------------------------- */

static int grow_u32(uint32_t **p, size_t n)
{
    uint32_t *np = orasi_realloc(*p, n * sizeof(**p));
    if (!np)
        return ORASI_ENOMEM;
    *p = np;
    return 0;
}

/* Room for n level entries in rep/def/vidx/idx. */
static int levels_reserve(pqw_t *w, size_t n)
{
    if (n <= w->lcap)
        return 0;
    if (n > UINT32_MAX / 2)
        return ORASI_ETOOBIG;
    size_t c = w->lcap ? w->lcap : 4096;
    while (c < n)
        c *= 2;
    int rc;
    if ((rc = grow_u32(&w->rep, c)) || (rc = grow_u32(&w->def, c)) ||
        (rc = grow_u32(&w->vidx, c)) || (rc = grow_u32(&w->idx, c)))
        return rc;
    w->lcap = c;
    return 0;
}

static int u64_reserve(pqw_t *w, size_t n)
{
    if (n <= w->ucap)
        return 0;
    size_t c = w->ucap ? w->ucap : 4096;
    while (c < n)
        c *= 2;
    uint64_t *np = orasi_realloc(w->u64, c * sizeof(*np));
    if (!np)
        return ORASI_ENOMEM;
    w->u64 = np;
    w->ucap = c;
    return 0;
}

/* ---- bit packing and the RLE / bit-packed hybrid ------------------------------------------- */

/* Pack n values of bw bits (<= 64), LSB first, appending ceil(n*bw/8) bytes. */
static int bitpack(buf_t *b, const uint64_t *v, size_t n, unsigned bw)
{
    size_t bytes = (n * bw + 7) / 8;
    int rc = buf_reserve(b, bytes + 8);
    if (rc)
        return rc;
    uint8_t *o = b->data + b->len;
    uint64_t acc = 0, mask = bw == 64 ? ~0ull : ((1ull << bw) - 1);
    unsigned nb = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = v[i] & mask;
        acc |= x << nb;
        if (nb + bw >= 64) {
            memcpy(o + at, &acc, 8);
            at += 8;
            acc = nb ? x >> (64 - nb) : 0;
            nb = nb + bw - 64;
        } else {
            nb += bw;
        }
    }
    if (nb)
        memcpy(o + at, &acc, (nb + 7) / 8);
    b->len += bytes;
    return 0;
}

/* Same for 32-bit values (indices and levels, bw <= 32); the generic path. */
static void bitpack32_slow(uint8_t *o, const uint32_t *v, size_t n, unsigned bw)
{
    uint64_t acc = 0;
    unsigned nb = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint64_t)v[i] << nb;
        nb += bw;
        if (nb >= 32) {
            memcpy(o + at, &acc, 4);
            at += 4;
            acc >>= 32;
            nb -= 32;
        }
    }
    if (nb)
        memcpy(o + at, &acc, (nb + 7) / 8);
}

/* ng whole groups of 8 values of bw <= 16 bits: each group is bw bytes, built in one
 * 128-bit word with shifts known at compile time (bw is a constant at every call site
 * below), so a group costs a few instructions and no branch. Writes up to 16 bytes past
 * the last group's end (the caller reserves that slack). Little-endian, like the rest of
 * the file's word stores. */
#define PQW_PACK_SLACK 16
static PQW_INLINE void pack_groups(uint8_t *o, const uint32_t *v, size_t ng, const unsigned bw)
{
    if (bw <= 8) {
        /* 8 values of up to 8 bits fit one 64-bit word */
        for (size_t g = 0; g < ng; g++, v += 8, o += bw) {
            uint64_t acc = 0;
#pragma GCC unroll 8
            for (unsigned k = 0; k < 8; k++)
                acc |= (uint64_t)v[k] << (k * bw);
            memcpy(o, &acc, 8);
        }
        return;
    }
    for (size_t g = 0; g < ng; g++, v += 8, o += bw) {
        unsigned __int128 acc = 0;
#pragma GCC unroll 8
        for (unsigned k = 0; k < 8; k++)
            acc |= (unsigned __int128)v[k] << (k * bw);
        memcpy(o, &acc, 16);
    }
}

/* n values packed as ceil(n / 8) groups (the last one padded with zero values), i.e.
 * ceil(n / 8) * bw bytes appended: the body of one bit-packed run. */
static int bitpack_groups(buf_t *b, const uint32_t *v, size_t n, unsigned bw)
{
    size_t ng = n / 8, tail = n % 8, bytes = (ng + (tail != 0)) * bw;
    int rc = buf_reserve(b, bytes + PQW_PACK_SLACK);
    if (rc)
        return rc;
    uint8_t *o = b->data + b->len;
    uint32_t last[8] = {0};
    memcpy(last, v + ng * 8, tail * sizeof(*v));
    switch (bw) {
#define PQW_PACK_CASE(B)                                                                       \
    case B:                                                                                    \
        pack_groups(o, v, ng, B);                                                              \
        if (tail)                                                                              \
            pack_groups(o + ng * B, last, 1, B);                                               \
        break;
        PQW_PACK_CASE(1) PQW_PACK_CASE(2) PQW_PACK_CASE(3) PQW_PACK_CASE(4) PQW_PACK_CASE(5)
        PQW_PACK_CASE(6) PQW_PACK_CASE(7) PQW_PACK_CASE(8) PQW_PACK_CASE(9) PQW_PACK_CASE(10)
        PQW_PACK_CASE(11) PQW_PACK_CASE(12) PQW_PACK_CASE(13) PQW_PACK_CASE(14)
        PQW_PACK_CASE(15) PQW_PACK_CASE(16)
#undef PQW_PACK_CASE
    default:
        bitpack32_slow(o, v, ng * 8, bw);
        if (tail)
            bitpack32_slow(o + ng * bw, last, 8, bw);
        break;
    }
    b->len += bytes;
    return 0;
}

static int put_uvar(buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    return buf_append(b, tmp, varint(tmp, v));
}

/* A bit-packed run of n values (padded with zeros to a multiple of 8; only the last run
 * of a page may be padded, which the encoder below guarantees). */
static int rle_literal(buf_t *b, const uint32_t *v, size_t n, unsigned bw)
{
    int rc = put_uvar(b, (((n + 7) / 8) << 1) | 1);
    return rc ? rc : bitpack_groups(b, v, n, bw);
}

static int rle_run(buf_t *b, uint32_t val, size_t n, unsigned bw)
{
    uint8_t tmp[4];
    int rc = put_uvar(b, (uint64_t)n << 1);
    for (unsigned i = 0; i < (bw + 7) / 8; i++)
        tmp[i] = (uint8_t)(val >> (8 * i));
    return rc ? rc : buf_append(b, tmp, (bw + 7) / 8);
}

/* RLE / bit-packing hybrid (Encodings.md): maximal runs of >= 8 equal values become RLE
 * runs, everything else bit-packed groups of 8. Literal stretches are kept a multiple of
 * 8 by borrowing the first values of the following run.
 *
 * Finding the runs: any 8 consecutive positions contain a pair (4q+3, 4q+4), so a run of
 * >= 8 has two equal neighbours there; only those pairs are compared while scanning (a
 * quarter of the compares and mispredicted branches of a value-by-value scan in literal
 * stretches), and a hit is widened to its maximal run (at most 3 steps back: the pair
 * before it differed). The runs found, and so the output, are those of a full scan. */
static int rle_encode(buf_t *b, const uint32_t *v, size_t n, unsigned bw)
{
    size_t lit = 0, done = 0, q = 3;
    int rc = 0;
    while (q + 1 < n && !rc) {
        if (v[q] != v[q + 1]) {
            q += 4;
            continue;
        }
        uint32_t x = v[q];
        size_t s = q, e = q + 2;
        while (s > done && v[s - 1] == x)
            s--;
        /* long runs (the definition levels of a column without nulls are one run per
         * page): eight at a time, in a loop the compiler vectorises */
        while (e + 8 <= n) {
            uint32_t diff = 0;
            for (size_t k = 0; k < 8; k++)
                diff |= v[e + k] ^ x;
            if (diff)
                break;
            e += 8;
        }
        while (e < n && v[e] == x)
            e++;
        size_t run = e - s;
        if (run >= 8) {
            size_t pend = s - lit, pad = (8 - pend % 8) % 8;
            if (run - pad >= 8) {
                if (pend + pad)
                    rc = rle_literal(b, v + lit, pend + pad, bw);
                if (!rc)
                    rc = rle_run(b, x, run - pad, bw);
                lit = e;
            }
        }
        done = e;
        q = e + ((3 - e) & 3); /* the next position 4k+3 at or after e */
    }
    if (!rc && lit < n)
        rc = rle_literal(b, v + lit, n - lit, bw);
    return rc;
}

static unsigned bits_for(uint64_t max)
{
    unsigned b = 0;
    while (max) {
        b++;
        max >>= 1;
    }
    return b;
}

/* ---- DELTA_BINARY_PACKED ------------------------------------------------------------------ */

#define DBP_BLOCK 128
#define DBP_MINI 4
#define DBP_MINI_N (DBP_BLOCK / DBP_MINI)

/* Encode v[0..n) (INT64 values, or INT32 ones sign-extended when w32) appending to b.
 * Deltas wrap in the physical width, as the spec says. */
static int dbp_encode(buf_t *b, const uint64_t *v, size_t n, int w32)
{
    int rc;
    if ((rc = put_uvar(b, DBP_BLOCK)) || (rc = put_uvar(b, DBP_MINI)) || (rc = put_uvar(b, n)) ||
        (rc = put_uvar(b, zigzag(n == 0 ? 0 : w32 ? (int64_t)(int32_t)(uint32_t)v[0]
                                                  : (int64_t)v[0]))))
        return rc;
    uint64_t d[DBP_BLOCK];
    for (size_t at = 1; at < n;) {
        size_t cnt = n - at < DBP_BLOCK ? n - at : DBP_BLOCK;
        int64_t mn = INT64_MAX;
        for (size_t k = 0; k < cnt; k++) {
            int64_t dv = w32 ? (int64_t)(int32_t)((uint32_t)v[at + k] - (uint32_t)v[at + k - 1])
                             : (int64_t)(v[at + k] - v[at + k - 1]);
            d[k] = (uint64_t)dv;
            if (dv < mn)
                mn = dv;
        }
        uint8_t widths[DBP_MINI] = {0};
        for (size_t k = 0; k < cnt; k++) {
            d[k] = w32 ? (uint64_t)(uint32_t)((uint32_t)d[k] - (uint32_t)mn) : d[k] - (uint64_t)mn;
        }
        for (size_t k = cnt; k < DBP_BLOCK; k++)
            d[k] = 0;
        size_t nmini = (cnt + DBP_MINI_N - 1) / DBP_MINI_N;
        for (size_t m = 0; m < nmini; m++) {
            uint64_t orv = 0;
            for (size_t k = 0; k < DBP_MINI_N; k++)
                orv |= d[m * DBP_MINI_N + k];
            widths[m] = (uint8_t)bits_for(orv);
        }
        if ((rc = put_uvar(b, zigzag(mn))) || (rc = buf_append(b, widths, DBP_MINI)))
            return rc;
        for (size_t m = 0; m < nmini; m++)
            if ((rc = bitpack(b, d + m * DBP_MINI_N, DBP_MINI_N, widths[m])))
                return rc;
        at += cnt;
    }
    return 0;
}

/* ---- schema ------------------------------------------------------------------------------- */

static int is_stringish(uint8_t k)
{
    return k == CB_STR || k == CB_TRACEID || k == CB_SPANID || k == CB_SPANKIND ||
           k == CB_STATUS;
}

static int phys_type(uint8_t k)
{
    switch (k) {
    case CB_TS:
    case CB_I64:
    case CB_U64:
        return PT_INT64;
    case CB_I32:
    case CB_U32:
    case CB_U8:
        return PT_INT32;
    case CB_F64:
        return PT_DOUBLE;
    case CB_BOOL:
        return PT_BOOLEAN;
    default:
        return PT_BYTE_ARRAY;
    }
}

/* A primitive SchemaElement with its converted and logical type. */
static void schema_leaf(tw_t *t, const char *name, uint8_t kind)
{
    tw_push(t);
    tw_i32(t, 1, phys_type(kind));
    tw_i32(t, 3, REP_REQUIRED);
    tw_bin(t, 4, name, strlen(name));
    int ct = -1, bits = 0, sgn = 0;
    switch (kind) {
    case CB_I64: ct = CT_INT_64, bits = 64, sgn = 1; break;
    case CB_U64: ct = CT_UINT_64, bits = 64; break;
    case CB_I32: ct = CT_INT_32, bits = 32, sgn = 1; break;
    case CB_U32: ct = CT_UINT_32, bits = 32; break;
    case CB_U8: ct = CT_UINT_8, bits = 8; break;
    case CB_F64:
    case CB_BOOL:
    case CB_TS: break;
    default: ct = CT_UTF8; break;
    }
    if (ct >= 0)
        tw_i32(t, 6, ct);
    if (kind == CB_TS) {
        tw_struct(t, 10);
        tw_struct(t, 8); /* TIMESTAMP */
        tw_bool(t, 1, 0); /* isAdjustedToUTC: false, as DuckDB writes TIMESTAMP_NS */
        tw_struct(t, 2);  /* unit */
        tw_empty(t, 3);   /* NANOS */
        tw_end(t);
        tw_end(t);
        tw_end(t);
    } else if (bits) {
        tw_struct(t, 10);
        tw_struct(t, 10); /* INTEGER */
        tw_field(t, 1, TT_BYTE);
        tw_byte(t, (uint8_t)bits);
        tw_bool(t, 2, sgn);
        tw_end(t);
        tw_end(t);
    } else if (ct == CT_UTF8) {
        tw_struct(t, 10);
        tw_empty(t, 1); /* STRING */
        tw_end(t);
    }
    tw_end(t);
}

/* A group SchemaElement. ct/lt < 0: none. */
static void schema_group(tw_t *t, const char *name, int rep, int nchild, int ct, int lt)
{
    tw_push(t);
    if (rep >= 0) /* the root has no repetition */
        tw_i32(t, 3, rep);
    tw_bin(t, 4, name, strlen(name));
    tw_i32(t, 5, nchild);
    if (ct >= 0)
        tw_i32(t, 6, ct);
    if (lt >= 0) {
        tw_struct(t, 10);
        tw_empty(t, (int16_t)lt);
        tw_end(t);
    }
    tw_end(t);
}

static void schema_map(tw_t *t, const char *name)
{
    schema_group(t, name, REP_REQUIRED, 1, CT_MAP, 2);
    schema_group(t, "key_value", REP_REPEATED, 2, -1, -1);
    schema_leaf(t, "key", CB_STR);
    schema_leaf(t, "value", CB_STR);
}

/* Number of SchemaElements of a table (for the list header). */
static size_t schema_count(const colbuf_schema_t *s)
{
    size_t n = 1;
    for (size_t i = 0; i < s->ncols; i++) {
        uint8_t k = s->cols[i].kind;
        if (k == CB_MAP)
            n += 4;
        else if (k == CB_LIST)
            n += 2 + (s->cols[i].elem == CB_MAP ? 4 : 1);
        else
            n += 1;
    }
    return n;
}

static void schema_write(tw_t *t, const colbuf_schema_t *s)
{
    tw_list(t, 2, TT_STRUCT, schema_count(s));
    schema_group(t, "schema", -1, (int)s->ncols, -1, -1);
    for (size_t i = 0; i < s->ncols; i++) {
        const colbuf_coldef_t *c = &s->cols[i];
        if (c->kind == CB_MAP) {
            schema_map(t, c->name);
        } else if (c->kind == CB_LIST) {
            schema_group(t, c->name, REP_REQUIRED, 1, CT_LIST, 3);
            schema_group(t, "list", REP_REPEATED, 1, -1, -1);
            if (c->elem == CB_MAP)
                schema_map(t, "element");
            else
                schema_leaf(t, "element", c->elem);
        } else {
            schema_leaf(t, c->name, c->kind);
        }
    }
}

static int leaves_build(pqw_t *w, const colbuf_table_t *t)
{
    const colbuf_schema_t *s = t->schema;
    w->nleaves = 0;
    for (size_t i = 0; i < s->ncols; i++) {
        const colbuf_col_t *c = &t->cols[i];
        const colbuf_coldef_t *d = &s->cols[i];
        struct leaf L[2];
        int n = 0;
        memset(L, 0, sizeof(L));
        L[0].top = L[1].top = c;
        L[0].path[0] = L[1].path[0] = d->name;
        if (d->kind == CB_MAP) {
            for (int k = 0; k < 2; k++) {
                L[k].shape = SHAPE_ONE;
                L[k].col = k ? c->child2 : c->child;
                L[k].path[1] = "key_value";
                L[k].path[2] = k ? "value" : "key";
                L[k].npath = 3;
            }
            n = 2;
        } else if (d->kind == CB_LIST && d->elem == CB_MAP) {
            for (int k = 0; k < 2; k++) {
                L[k].shape = SHAPE_TWO;
                L[k].mid = c->child;
                L[k].col = k ? c->child->child2 : c->child->child;
                L[k].path[1] = "list";
                L[k].path[2] = "element";
                L[k].path[3] = "key_value";
                L[k].path[4] = k ? "value" : "key";
                L[k].npath = 5;
            }
            n = 2;
        } else if (d->kind == CB_LIST) {
            L[0].shape = SHAPE_ONE;
            L[0].col = c->child;
            L[0].path[1] = "list";
            L[0].path[2] = "element";
            L[0].npath = 3;
            n = 1;
        } else {
            L[0].shape = SHAPE_SCALAR;
            L[0].col = c;
            L[0].npath = 1;
            n = 1;
        }
        for (int k = 0; k < n; k++) {
            if (w->nleaves >= PQW_MAX_LEAVES || !L[k].col)
                return ORASI_EINTERNAL;
            L[k].kind = L[k].col->kind;
            w->leaves[w->nleaves++] = L[k];
        }
    }
    return 0;
}

/* ---- values: keys, rendering, comparison ------------------------------------------------- */

/* The bytes a string-like value is identified by (dictionary key). */
static inline void value_key(uint8_t kind, const colbuf_col_t *c, uint32_t i, const uint8_t **p,
                             uint32_t *len)
{
    switch (kind) {
    case CB_STR: {
        const colbuf_str_t *s = (const colbuf_str_t *)c->v + i;
        *p = s->p;
        *len = (uint32_t)s->len;
        return;
    }
    case CB_TRACEID: {
        const otlp_trace_id_t *id = (const otlp_trace_id_t *)c->v + i;
        *p = id->id;
        *len = id->len == 16 ? 16 : 0;
        return;
    }
    case CB_SPANID: {
        const otlp_span_id_t *id = (const otlp_span_id_t *)c->v + i;
        *p = id->id;
        *len = id->len == 8 ? 8 : 0;
        return;
    }
    case CB_U8:
    case CB_BOOL:
        *p = (const uint8_t *)c->v + i;
        *len = 1;
        return;
    default: /* 4 or 8 bytes: SPANKIND, STATUS, I32, U32; TS, I64, U64, F64 */
        *p = (const uint8_t *)c->v + (size_t)i * c->width;
        *len = c->width;
        return;
    }
}

/* The text of a value as colbuf_fill renders it. tmp must hold 40 bytes. */
static inline const uint8_t *value_text(uint8_t kind, const colbuf_col_t *c, uint32_t i,
                                        char *tmp, uint32_t *len)
{
    const uint8_t *k;
    uint32_t kl;
    value_key(kind, c, i, &k, &kl);
    switch (kind) {
    case CB_STR:
        *len = kl;
        return k;
    case CB_TRACEID:
    case CB_SPANID:
        *len = (uint32_t)(kl ? colbuf_hex(k, kl, tmp) : 0);
        return (const uint8_t *)tmp;
    case CB_U8: /* PLAIN INT32 */
        memset(tmp, 0, 4);
        tmp[0] = (char)k[0];
        *len = 4;
        return (const uint8_t *)tmp;
    case CB_SPANKIND:
    case CB_STATUS: {
        int32_t e;
        memcpy(&e, k, 4);
        const char *s = kind == CB_SPANKIND ? colbuf_span_kind_name(e, tmp, 40)
                                            : colbuf_status_name(e, tmp, 40);
        *len = (uint32_t)strlen(s);
        return (const uint8_t *)s;
    }
    default: /* fixed width: the value's PLAIN bytes (little-endian host) */
        *len = kl;
        return k;
    }
}

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int r = n ? memcmp(a, b, n) : 0;
    if (r)
        return r;
    return al < bl ? -1 : al > bl;
}

/* Order of two string-like values by their text (unsigned bytewise). Binary ids order as
 * their hex does (same length, or absent = ""), so they compare without rendering. */
static int value_cmp(uint8_t kind, const colbuf_col_t *c, uint32_t a, uint32_t b)
{
    if (kind == CB_SPANKIND || kind == CB_STATUS) {
        char ta[40], tb[40];
        uint32_t la, lb;
        const uint8_t *pa = value_text(kind, c, a, ta, &la), *pb = value_text(kind, c, b, tb, &lb);
        return bytes_cmp(pa, la, pb, lb);
    }
    const uint8_t *pa, *pb;
    uint32_t la, lb;
    value_key(kind, c, a, &pa, &la);
    value_key(kind, c, b, &pb, &lb);
    return bytes_cmp(pa, la, pb, lb);
}

static void stats_str(struct stats *st, uint8_t kind, const colbuf_col_t *c, uint32_t i)
{
    if (!st->has) {
        st->has = 1;
        st->smin = st->smax = i;
        return;
    }
    if (value_cmp(kind, c, i, st->smin) < 0)
        st->smin = i;
    else if (value_cmp(kind, c, i, st->smax) > 0)
        st->smax = i;
}

/* ---- dictionaries ----------------------------------------------------------------------------
 * Two levels, so that no value is hashed while rows are visited in sort order (random with
 * respect to arrival for traces: a cache miss per slice, per string and per hash slot):
 *
 *  1. Table-wide, in storage order (gdict_build): before the first row group, one
 *     sequential pass per leaf over its column gives every value a table-wide id (w->gids,
 *     one uint32 per value) and every distinct value an entry (struct gent). Columns and
 *     heap bytes were appended in arrival order, so the pass streams through memory.
 *     Strings at a (pointer, length) seen before (resource fields stored once per request,
 *     strings colbuf interns) hit a pointer cache without hashing their bytes; equal bytes
 *     at different addresses still meet in the hash table, so every distinct value has
 *     exactly one entry whether or not strings were shared.
 *  2. Per column chunk, in sort order (page_write): the chunk's dictionary is the subset of
 *     table-wide entries its rows use, numbered in first-use order; gent.lmap maps a
 *     table-wide id to that number (+1) and is reset from the chunk's list (w->lents) when
 *     the chunk ends. Per value this is two array loads, no hashing, no string bytes.
 *
 * A leaf whose first PQW_PROBE values are more than half distinct (span ids, parent span
 * ids, timestamps) gets no ids and no dictionary: the per-chunk rule (dictionary +
 * indices must beat the other encoding on the first page) would mostly drop it anyway,
 * and ZSTD finds the repeats of such a column in its plain encoding (ParentSpanId:
 * the same bytes per span either way, for half the writer's time on that column).
 * Booleans never have one.
 */

/* Two words that determine a key of up to 16 bytes given its length (overlapping
 * windows: [0,8) and [n-8,n); [0,4) and [n-4,n); bytes 0, n/2, n-1), and filter longer
 * ones (their first and last 8 bytes). Never reads outside [p, p+n). */
static inline void key_words(const uint8_t *p, uint32_t n, uint64_t *w0, uint64_t *w1)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + n - 4, 4);
        a = x;
        b = y;
    } else if (n) {
        a = (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
    }
    *w0 = a;
    *w1 = b;
}

static inline uint64_t hmix(uint64_t h, uint64_t x)
{
    h = (h ^ x) * 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 31);
}

/* Hash of a key: its words when they determine it, every byte otherwise. */
static inline uint32_t key_hash(const uint8_t *p, uint32_t n, uint64_t w0, uint64_t w1)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    if (n <= 16) {
        h = hmix(hmix(h, w0), w1);
    } else {
        uint32_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t x;
            memcpy(&x, p + i, 8);
            h = hmix(h, x);
        }
        if (i < n)
            h = hmix(h, w1); /* the last 8 bytes, overlapping */
    }
    h *= 0x94d049bb133111ebull;
    return (uint32_t)(h >> 32);
}

/* Grow an array of `size`-byte elements to hold at least n (doubling, from 4096). */
static int pool_reserve(void **p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return 0;
    if (n > PQW_BUF_MAX / size)
        return ORASI_ETOOBIG;
    size_t c = *cap ? *cap : 4096;
    while (c < n)
        c *= 2;
    if (c > PQW_BUF_MAX / size)
        c = PQW_BUF_MAX / size;
    void *np = orasi_realloc(*p, c * size);
    if (!np)
        return ORASI_ENOMEM;
    *p = np;
    *cap = c;
    return 0;
}

/* Length of the PLAIN form of value i (key length kl), without a length prefix. */
static uint32_t text_len(uint8_t kind, const colbuf_col_t *c, uint32_t i, uint32_t kl)
{
    char tmp[40];
    switch (kind) {
    case CB_TRACEID:
    case CB_SPANID:
        return kl * 2;
    case CB_U8:
        return 4;
    case CB_SPANKIND:
    case CB_STATUS: {
        uint32_t tl;
        (void)value_text(kind, c, i, tmp, &tl);
        return tl;
    }
    default:
        return kl;
    }
}

/* A fresh slot table of nslots (a power of two) holding the first n ids of the leaf
 * being built. */
static int gslots_resize(pqw_t *w, size_t n, size_t nslots)
{
    uint32_t *ns = orasi_calloc(nslots, sizeof(*ns));
    if (!ns)
        return ORASI_ENOMEM;
    uint32_t mask = (uint32_t)(nslots - 1);
    for (size_t g = 0; g < n; g++) {
        uint32_t s = w->gkeys[g].hash & mask;
        while (ns[s])
            s = (s + 1) & mask;
        ns[s] = (uint32_t)g + 1;
    }
    orasi_free(w->slots);
    w->slots = ns;
    w->nslots = nslots;
    return 0;
}

/* Empty the slot table of the n ids of the leaf just built: each is found again from its
 * hash (cheaper than clearing a table sized for the largest leaf, for every leaf). */
static void gslots_clear(pqw_t *w, size_t n)
{
    uint32_t mask = (uint32_t)(w->nslots - 1);
    for (size_t g = 0; g < n; g++) {
        uint32_t s = w->gkeys[g].hash & mask;
        while (w->slots[s] != (uint32_t)g + 1)
            s = (s + 1) & mask;
        w->slots[s] = 0;
    }
}

/* One value in the table-wide pass's pipeline (see gdict_build). */
struct gin {
    const uint8_t *p;
    uint32_t len;
    uint32_t h;
    uint64_t w0, w1;
    uint32_t g;  /* GIN_KNOWN: its id */
    int state;
};
enum { GIN_LOOKUP = 0, GIN_KNOWN, GIN_SAME }; /* hash it; known (pointer cache); as previous */

#define GD_AHEAD 8 /* values between hashing one (and prefetching its slot) and using it */

/* Look at value j ahead of its turn: the pointer cache (strings), then "equal to the
 * previous value" (trace ids of one trace arrive together), else hash it and prefetch
 * its slot. */

static PQW_INLINE void gin_prepare(pqw_t *w, const uint8_t kind, const colbuf_col_t *c, size_t j,
                               struct gin *x, const struct gin *prev)
{
    value_key(kind, c, (uint32_t)j, &x->p, &x->len);
    if (kind == CB_STR) {
        const struct pcache *pc = &w->pc[((uintptr_t)x->p * 0x9e3779b97f4a7c15ull) >> 52];
        if (pc->g && pc->p == x->p && pc->len == x->len) {
            x->state = GIN_KNOWN;
            x->g = pc->g - 1;
            return;
        }
    }
    key_words(x->p, x->len, &x->w0, &x->w1);
    if (prev && prev->state != GIN_KNOWN && prev->len == x->len && prev->w0 == x->w0 &&
        prev->w1 == x->w1 && (x->len <= 16 || memcmp(prev->p, x->p, x->len) == 0)) {
        x->state = GIN_SAME;
        return;
    }
    x->state = GIN_LOOKUP;
    x->h = key_hash(x->p, x->len, x->w0, x->w1);
    __builtin_prefetch(&w->slots[x->h & (w->nslots - 1)]);
}

/* Room for the table-wide ids of a leaf of n values, and a slot table. */
static int gdict_begin(pqw_t *w, size_t n)
{
    if (n >= UINT32_MAX / 2)
        return ORASI_ETOOBIG;
    int rc = pool_reserve((void **)&w->gids, &w->gidcap, w->ngids + n, sizeof(*w->gids));
    if (!rc && !w->nslots)
        rc = gslots_resize(w, 0, 1u << 12);
    return rc;
}

/* Leaf L (n values) keeps the ids and the nd entries (from gents[e0]) just built. */
static int gdict_keep(pqw_t *w, struct leaf *L, size_t n, size_t e0, size_t nd)
{
    gslots_clear(w, nd);
    L->has_gid = 1;
    L->gid_off = w->ngids;
    L->ent_off = e0;
    L->ngent = nd;
    w->ngids += n;
    w->ngents += nd;
    return 0;
}

/* The table-wide id of value i (prepared in x: key, words, hash) of the leaf being built,
 * from the slot table, or a new entry (the leaf's nd-th, at gents[e0 + nd]). */
static PQW_INLINE int gdict_find(pqw_t *w, const uint8_t kind, const colbuf_col_t *c, uint32_t i,
                                 const struct gin *x, size_t e0, size_t *nd, uint32_t *out)
{
    uint32_t mask = (uint32_t)(w->nslots - 1), s = x->h & mask;
    int rc;
    for (;;) {
        uint32_t e = w->slots[s];
        if (!e) {
            /* a new distinct value */
            if ((rc = pool_reserve((void **)&w->gents, &w->gentcap, e0 + *nd + 1,
                                   sizeof(*w->gents))) ||
                (rc = pool_reserve((void **)&w->gkeys, &w->gkeycap, *nd + 1, sizeof(*w->gkeys))))
                return rc;
            uint32_t g = (uint32_t)(*nd)++;
            struct gent *d = &w->gents[e0 + g];
            d->vi = i;
            d->tlen = text_len(kind, c, i, x->len);
            d->lmap = 0;
            struct gkey *k = &w->gkeys[g];
            k->w0 = x->w0;
            k->w1 = x->w1;
            k->p = x->p;
            k->len = x->len;
            k->hash = x->h;
            w->slots[s] = g + 1;
            *out = g;
            if (*nd * 2 > w->nslots)
                return gslots_resize(w, *nd, w->nslots * 2);
            return 0;
        }
        const struct gkey *k = &w->gkeys[e - 1];
        if (k->hash == x->h && k->len == x->len && k->w0 == x->w0 && k->w1 == x->w1 &&
            (x->len <= 16 || memcmp(k->p, x->p, x->len) == 0)) {
            *out = e - 1;
            return 0;
        }
        s = (s + 1) & mask;
    }
}

/* The table-wide dictionary of leaf L: ids of all its values in storage order. A
 * software pipeline: value i + 2*GD_AHEAD has its string bytes prefetched, value
 * i + GD_AHEAD is prepared (gin_prepare), value i is looked up (its slot is in cache by
 * then). */
static PQW_INLINE int gdict_run(pqw_t *w, struct leaf *L, const uint8_t kind)
{
    const colbuf_col_t *c = L->col;
    size_t n = c->n, e0 = w->ngents, nd = 0;
    int rc;
    L->has_gid = 0;
    if (kind == CB_BOOL || n == 0)
        return 0;
    if ((rc = gdict_begin(w, n)))
        return rc;
    uint32_t *gids = w->gids + w->ngids;
    const colbuf_str_t *sv = kind == CB_STR ? c->v : NULL;
    if (sv)
        memset(w->pc, 0, sizeof(w->pc));
    size_t probe = n < PQW_PROBE ? n : PQW_PROBE;
    struct gin ring[GD_AHEAD];
    for (size_t j = 0; j < GD_AHEAD && j < n; j++)
        gin_prepare(w, kind, c, j, &ring[j], j ? &ring[j - 1] : NULL);
    for (size_t i = 0; i < n; i++) {
        struct gin x = ring[i % GD_AHEAD];
        if (i + GD_AHEAD < n) {
            size_t j = i + GD_AHEAD;
            if (sv && j + GD_AHEAD < n && sv[j + GD_AHEAD].len)
                __builtin_prefetch(sv[j + GD_AHEAD].p);
            gin_prepare(w, kind, c, j, &ring[j % GD_AHEAD], &ring[(j - 1) % GD_AHEAD]);
        }
        uint32_t g;
        if (x.state == GIN_KNOWN) {
            g = x.g; /* from the pointer cache */
        } else if (x.state == GIN_SAME) {
            g = gids[i - 1];
        } else if ((rc = gdict_find(w, kind, c, (uint32_t)i, &x, e0, &nd, &g))) {
            goto fail;
        }
        gids[i] = g;
        if (sv && x.state != GIN_KNOWN) {
            struct pcache *pc = &w->pc[((uintptr_t)x.p * 0x9e3779b97f4a7c15ull) >> 52];
            pc->p = x.p;
            pc->len = x.len;
            pc->g = g + 1;
        }
        if (i + 1 == probe && probe >= 256 && nd * 2 > probe) {
            gslots_clear(w, nd); /* mostly distinct: no dictionary */
            return 0;
        }
    }
    return gdict_keep(w, L, n, e0, nd);
fail:
    gslots_clear(w, nd);
    return rc;
}

/* gdict_run for a string column that colbuf interned (colbuf_str_t.id): a value whose
 * intern id was seen before takes that id's table-wide id (two array loads, no hashing);
 * the first value of each intern id, and the values not interned, are looked up by their
 * bytes as in gdict_run, so equal strings still get one entry however they were put. */
static int gdict_ids(pqw_t *w, struct leaf *L)
{
    const colbuf_col_t *c = L->col;
    const colbuf_str_t *sv = c->v;
    size_t n = c->n, e0 = w->ngents, nd = 0;
    int rc;
    L->has_gid = 0;
    if (n == 0)
        return 0;
    if ((rc = gdict_begin(w, n)) ||
        (rc = pool_reserve((void **)&w->imap, &w->imapcap, (size_t)c->nids + 1,
                           sizeof(*w->imap))))
        return rc;
    memset(w->imap, 0, ((size_t)c->nids + 1) * sizeof(*w->imap));
    memset(w->pc, 0, sizeof(w->pc));
    uint32_t *gids = w->gids + w->ngids;
    size_t probe = n < PQW_PROBE ? n : PQW_PROBE;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = sv[i].id, g;
        if (id && w->imap[id]) {
            g = w->imap[id] - 1;
        } else {
            struct gin x;
            x.p = sv[i].p;
            x.len = sv[i].len;
            struct pcache *pc = &w->pc[((uintptr_t)x.p * 0x9e3779b97f4a7c15ull) >> 52];
            if (!id && pc->g && pc->p == x.p && pc->len == x.len) {
                g = pc->g - 1; /* a string put by reference (resource fields) */
            } else {
                key_words(x.p, x.len, &x.w0, &x.w1);
                x.h = key_hash(x.p, x.len, x.w0, x.w1);
                if ((rc = gdict_find(w, CB_STR, c, (uint32_t)i, &x, e0, &nd, &g)))
                    goto fail;
                if (id) {
                    w->imap[id] = g + 1;
                } else {
                    pc->p = x.p;
                    pc->len = x.len;
                    pc->g = g + 1;
                }
            }
        }
        gids[i] = g;
        if (i + 1 == probe && probe >= 256 && nd * 2 > probe) {
            gslots_clear(w, nd); /* mostly distinct: no dictionary */
            return 0;
        }
    }
    return gdict_keep(w, L, n, e0, nd);
fail:
    gslots_clear(w, nd);
    return rc;
}

/* gdict_run with the kind a constant, so that each loop is compiled for its kind. */
static int gdict_build(pqw_t *w, struct leaf *L)
{
    switch (L->kind) {
    case CB_STR:
        return L->col->nids ? gdict_ids(w, L) : gdict_run(w, L, CB_STR);
    case CB_TRACEID:
        return gdict_run(w, L, CB_TRACEID);
    case CB_SPANID:
        return gdict_run(w, L, CB_SPANID);
    case CB_TS:
    case CB_I64:
    case CB_U64:
    case CB_F64:
        return gdict_run(w, L, CB_I64); /* 8 bytes */
    case CB_I32:
    case CB_U32:
        return gdict_run(w, L, CB_I32); /* 4 bytes */
    default:
        return gdict_run(w, L, L->kind);
    }
}

/* Table-wide memory past keep_bytes (PQW_GPOOL_KEEP) is given back after a write (a big
 * flush should not pin it until the next one). */
static void gpool_trim(pqw_t *w)
{
    if (w->gidcap * sizeof(*w->gids) + w->gentcap * sizeof(*w->gents) +
            w->gkeycap * sizeof(*w->gkeys) + w->nslots * sizeof(*w->slots) <=
        w->o.keep_bytes)
        return;
    orasi_free(w->gids); /* (imap is small: at most 8193 ids, kept) */
    orasi_free(w->gents);
    orasi_free(w->gkeys);
    orasi_free(w->slots);
    w->gids = NULL;
    w->gents = NULL;
    w->gkeys = NULL;
    w->slots = NULL;
    w->gidcap = w->gentcap = w->gkeycap = w->nslots = 0;
}

/* Add table-wide entry g of leaf L to the chunk's dictionary (and its PLAIN form to
 * w->dict). */
static int local_add(pqw_t *w, const struct leaf *L, uint32_t g)
{
    int rc;
    if (w->nloc >= UINT32_MAX / 4)
        return ORASI_ETOOBIG;
    if ((rc = pool_reserve((void **)&w->lents, &w->loccap, w->nloc + 1, sizeof(*w->lents))))
        return rc;
    struct gent *e = &w->gents[L->ent_off + g];
    char tmp[40];
    uint32_t tl;
    const uint8_t *txt = value_text(L->kind, L->col, e->vi, tmp, &tl);
    uint8_t l4[4] = {(uint8_t)tl, (uint8_t)(tl >> 8), (uint8_t)(tl >> 16), (uint8_t)(tl >> 24)};
    rc = is_stringish(L->kind) ? buf_append(&w->dict, l4, 4) : 0;
    if (!rc)
        rc = buf_append(&w->dict, txt, tl);
    if (rc)
        return rc;
    w->lents[w->nloc++] = g;
    e->lmap = (uint32_t)w->nloc;
    return 0;
}

/* Forget the chunk's dictionary. When `reps` is set, w->lents[k] becomes the
 * representative value index of chunk entry k (for statistics over the dictionary). */
static void local_reset(pqw_t *w, const struct leaf *L, int reps)
{
    struct gent *ge = w->gents + L->ent_off;
    for (size_t k = 0; k < w->nloc; k++) {
        struct gent *e = &ge[w->lents[k]];
        e->lmap = 0;
        if (reps)
            w->lents[k] = e->vi;
    }
    if (!reps) {
        w->nloc = 0;
        buf_clear(&w->dict);
    }
}

/* ---- pages ---------------------------------------------------------------------------------- */

/* Chunk state while its pages are written. */
struct chunk {
    const struct leaf *L;
    int max_level;     /* 0, 1 or 2 (max rep == max def) */
    int use_dict;      /* dictionary encoding still on */
    int dict_tried;    /* the first page decided */
    int had_dict;      /* a dictionary page will be written */
    unsigned encs;     /* bit set of encodings used */
    uint64_t num_values;
    uint64_t usize, csize; /* page bytes incl. headers */
    uint64_t data_off;     /* file offset of the first data page (no dictionary) */
    size_t npages;
    size_t page_raw;       /* raw bytes of the page's values (strings: text + 4) */
    struct stats st;
};

/* Raw value bytes a page may cover. A dictionary-encoded page holds only indices, so it
 * may span 16 times more (which also bounds how much one page can add to the dictionary);
 * a page that may end up PLAIN (no dictionary, or the first page, which decides) is
 * held to page_bytes. Bigger pages give ZSTD more to work with. */
static size_t page_budget(const pqw_t *w, int dict)
{
    return dict ? w->o.page_bytes * 16 : w->o.page_bytes;
}

/* While a chunk is dictionary-encoded, value vi (the k-th of the page) gets its chunk
 * dictionary index in w->idx[k] (the entry is added at first use) and adds its raw size
 * to *bytes. Done while the page's values are collected, so that the value's id and entry
 * are loaded once, not once to size the page and again to encode it. */
static inline int dict_take(pqw_t *w, const struct leaf *L, const uint32_t *gids,
                            struct gent *ge, uint32_t vi, size_t k, size_t *bytes, int str)
{
    uint32_t g = gids[vi];
    int rc;
    if (!ge[g].lmap && (rc = local_add(w, L, g)))
        return rc;
    w->idx[k] = ge[g].lmap - 1;
    *bytes += str ? ge[g].tlen + 4u : 8u;
    return 0;
}

/* Value vi of a nested leaf becomes the page's next value (w->vidx[*nv]): its chunk
 * dictionary index while the chunk is dictionary-encoded (gids set), else its raw size
 * (the slice's length for strings, vbytes otherwise) added to *bytes. */
static inline int value_take(pqw_t *w, const struct leaf *L, const uint32_t *gids,
                             struct gent *ge, const colbuf_str_t *sv, size_t vbytes, int str,
                             uint32_t vi, size_t *nv, size_t *bytes)
{
    int rc;
    if (gids) {
        if ((rc = dict_take(w, L, gids, ge, vi, *nv, bytes, str)))
            return rc;
    } else {
        *bytes += sv ? sv[vi].len + 4 : vbytes;
    }
    w->vidx[(*nv)++] = vi;
    return 0;
}

/* Rows are visited in sort order, i.e. at random places of the column arrays: loads are
 * prefetched this many rows ahead. */
#define PQW_AHEAD 16
/* Maps of PQW_SEEN_MIN entries or more that page_levels remembers (direct-mapped by
 * offset): where on the page their levels and indices went. */
#define PQW_SEEN 16
#define PQW_SEEN_MIN 4

/* Levels and value indexes for rows perm[r..rend) of a nested leaf into w->rep/def/vidx
 * (and w->idx while the chunk is dictionary-encoded), stopping at page limits (after at
 * least one row). *nlev / *nval are the counts, *next the first row not taken. */
static int page_levels(pqw_t *w, struct chunk *ch, const uint32_t *perm, size_t r, size_t rend,
                       size_t *nlev, size_t *nval, size_t *next)
{
    const struct leaf *L = ch->L;
    const colbuf_range_t *top = L->top->v;
    const colbuf_range_t *mid = L->mid ? L->mid->v : NULL;
    const int dict = ch->use_dict, str = is_stringish(L->kind);
    const uint32_t *gids = dict ? w->gids + L->gid_off : NULL;
    struct gent *ge = dict ? w->gents + L->ent_off : NULL;
    size_t nl = 0, nv = 0, bytes = 0;
    size_t vbytes = L->kind == CB_STR ? 0 : (phys_type(L->kind) == PT_BYTE_ARRAY ? 36 : 8);
    const colbuf_str_t *sv = L->kind == CB_STR ? L->col->v : NULL;
    size_t budget = page_budget(w, dict && ch->dict_tried);
    /* A map stored once and shared by reference (a resource's attributes, flatten.c)
     * recurs in many rows: while the chunk is dictionary-encoded, its levels, indices and
     * size are copied from its last occurrence on this page instead of being taken value
     * by value. */
    struct seen_map {
        colbuf_range_t r;
        uint32_t nl, nv;
        size_t bytes;
    } seen[PQW_SEEN];
    memset(seen, 0, sizeof(seen));
    int rc;
    for (; r < rend; r++) {
        if (nl && (nl >= PQW_PAGE_LEVELS || bytes >= budget))
            break;
        if (r + PQW_AHEAD < rend)
            __builtin_prefetch(&top[perm[r + PQW_AHEAD]]);
        if (!mid && r + PQW_AHEAD / 2 < rend) {
            /* the first values of a row a few rows ahead (its range arrived by now) */
            colbuf_range_t pr = top[perm[r + PQW_AHEAD / 2]];
            if (pr.len)
                __builtin_prefetch(gids ? (const void *)&gids[pr.off]
                                        : sv ? (const void *)&sv[pr.off] : (const void *)top);
        }
        colbuf_range_t tr = top[perm[r]];
        size_t need = 1;
        if (L->shape == SHAPE_ONE) {
            need = tr.len ? tr.len : 1;
        } else {
            for (uint32_t e = 0; e < tr.len; e++)
                need += mid[tr.off + e].len + 1;
        }
        if ((rc = levels_reserve(w, nl + need)))
            return rc;
        if (tr.len == 0) {
            w->rep[nl] = 0;
            w->def[nl++] = 0;
            ch->st.nulls++;
            continue;
        }
        if (L->shape == SHAPE_ONE) {
            struct seen_map *sk = NULL; /* this map's slot when it is remembered */
            if (gids && tr.len >= PQW_SEEN_MIN) {
                sk = &seen[(tr.off ^ tr.off >> 7) & (PQW_SEEN - 1)];
                if (sk->r.off == tr.off && sk->r.len == tr.len) {
                    memcpy(&w->rep[nl], &w->rep[sk->nl], tr.len * sizeof(*w->rep));
                    memcpy(&w->def[nl], &w->def[sk->nl], tr.len * sizeof(*w->def));
                    memcpy(&w->idx[nv], &w->idx[sk->nv], tr.len * sizeof(*w->idx));
                    memcpy(&w->vidx[nv], &w->vidx[sk->nv], tr.len * sizeof(*w->vidx));
                    nl += tr.len;
                    nv += tr.len;
                    bytes += sk->bytes;
                    continue;
                }
                sk->r = tr;
                sk->nl = (uint32_t)nl;
                sk->nv = (uint32_t)nv;
                sk->bytes = bytes; /* made the difference below */
            }
            for (uint32_t j = 0; j < tr.len; j++) {
                uint32_t vi = tr.off + j;
                w->rep[nl] = j ? 1 : 0;
                w->def[nl++] = 1;
                if ((rc = value_take(w, L, gids, ge, sv, vbytes, str, vi, &nv, &bytes)))
                    return rc;
            }
            if (sk)
                sk->bytes = bytes - sk->bytes;
            continue;
        }
        for (uint32_t e = 0; e < tr.len; e++) {
            colbuf_range_t mr = mid[tr.off + e];
            uint32_t re = e ? 1 : 0;
            if (mr.len == 0) {
                w->rep[nl] = re;
                w->def[nl++] = 1;
                ch->st.nulls++;
                continue;
            }
            for (uint32_t j = 0; j < mr.len; j++) {
                uint32_t vi = mr.off + j;
                w->rep[nl] = j ? 2 : re;
                w->def[nl++] = 2;
                if ((rc = value_take(w, L, gids, ge, sv, vbytes, str, vi, &nv, &bytes)))
                    return rc;
            }
        }
    }
    *nlev = nl;
    *nval = nv;
    *next = r;
    ch->page_raw = bytes;
    return 0;
}

/* Rows of a top-level leaf for one page (their values are perm[r..r + *nval)); w->idx
 * as above. */
static int page_scalar(pqw_t *w, struct chunk *ch, const uint32_t *perm, size_t r, size_t rend,
                       size_t *nval)
{
    const struct leaf *L = ch->L;
    size_t n = rend - r, bytes = 0, k = 0;
    int rc;
    if (n > PQW_PAGE_LEVELS)
        n = PQW_PAGE_LEVELS;
    size_t budget = page_budget(w, ch->use_dict && ch->dict_tried);
    if (ch->use_dict) {
        const uint32_t *gids = w->gids + L->gid_off;
        struct gent *ge = w->gents + L->ent_off;
        const int str = is_stringish(L->kind);
        if ((rc = levels_reserve(w, n)))
            return rc;
        for (; k < n && (k == 0 || bytes < budget); k++) {
            if (k + PQW_AHEAD < n)
                __builtin_prefetch(&gids[perm[r + k + PQW_AHEAD]]);
            if (k + PQW_AHEAD / 2 < n)
                __builtin_prefetch(&ge[gids[perm[r + k + PQW_AHEAD / 2]]]);
            if ((rc = dict_take(w, L, gids, ge, perm[r + k], k, &bytes, str)))
                return rc;
        }
    } else if (L->kind == CB_STR) {
        const colbuf_str_t *sv = L->col->v;
        for (; k < n && (k == 0 || bytes < budget); k++) {
            if (k + PQW_AHEAD < n)
                __builtin_prefetch(&sv[perm[r + k + PQW_AHEAD]]);
            bytes += sv[perm[r + k]].len + 4;
        }
    } else {
        size_t per = phys_type(L->kind) == PT_BYTE_ARRAY ? 36 : 8;
        size_t m = budget / per;
        k = n < m ? n : (m ? m : 1);
    }
    if ((rc = levels_reserve(w, k)))
        return rc;
    *nval = k;
    ch->page_raw = bytes;
    return 0;
}

/* DELTA_LENGTH_BYTE_ARRAY of string-like values vi[0..n) into the page (lengths
 * DELTA_BINARY_PACKED, then the bytes back to back: the lengths of ids and most strings
 * cost next to nothing, unlike PLAIN's 4 bytes per value), with their statistics. */
static int dlba_strings(pqw_t *w, struct chunk *ch, const uint32_t *vi, size_t n)
{
    const struct leaf *L = ch->L;
    const colbuf_col_t *c = L->col;
    char tmp[40];
    int rc = u64_reserve(w, n ? n : 1);
    if (rc)
        return rc;
    /* one pass over the values (each rendered once, into w->txt), since each is a cache
     * miss; the lengths go first in the page */
    buf_clear(&w->txt);
    for (size_t k = 0; k < n; k++) {
        if (k + PQW_AHEAD < n)
            __builtin_prefetch((const uint8_t *)c->v + (size_t)vi[k + PQW_AHEAD] * c->width);
        if (L->kind == CB_STR && k + PQW_AHEAD / 2 < n)
            __builtin_prefetch(((const colbuf_str_t *)c->v)[vi[k + PQW_AHEAD / 2]].p);
        uint32_t tl;
        const uint8_t *txt = value_text(L->kind, c, vi[k], tmp, &tl);
        w->u64[k] = tl;
        if ((rc = buf_append(&w->txt, txt, tl)))
            return rc;
        stats_str(&ch->st, L->kind, c, vi[k]);
    }
    if ((rc = dbp_encode(&w->page, w->u64, n, 1)))
        return rc;
    return buf_append(&w->page, w->txt.data, w->txt.len);
}

/* Statistics of fixed-width values vi[0..n); integers and booleans are also gathered
 * into w->u64 (as 64-bit) for the encoders. */
static int fixed_gather(pqw_t *w, struct chunk *ch, const uint32_t *vi, size_t n)
{
    const struct leaf *L = ch->L;
    struct stats *st = &ch->st;
    int rc;
    if (n == 0)
        return 0;
    if (L->kind == CB_F64) {
        const double *v = L->col->v;
        for (size_t k = 0; k < n; k++) {
            double x = v[vi[k]];
            if (isnan(x))
                continue;
            if (!st->has) {
                st->has = 1;
                st->dmin = st->dmax = x;
            } else if (x < st->dmin || (x == 0 && st->dmin == 0 && signbit(x))) {
                st->dmin = x;
            } else if (x > st->dmax || (x == 0 && st->dmax == 0 && !signbit(x))) {
                st->dmax = x;
            }
        }
        return 0;
    }
    if ((rc = u64_reserve(w, n)))
        return rc;
    uint64_t *u = w->u64;
    for (size_t k = 0; k < n && k < PQW_AHEAD; k++)
        __builtin_prefetch((const uint8_t *)L->col->v + (size_t)vi[k] * L->col->width);
    switch (L->kind) {
    case CB_TS:
    case CB_I64:
    case CB_U64: {
        const uint64_t *v = L->col->v;
        for (size_t k = 0; k < n; k++) {
            if (k + PQW_AHEAD < n)
                __builtin_prefetch(&v[vi[k + PQW_AHEAD]]);
            u[k] = v[vi[k]];
        }
        break;
    }
    case CB_I32: {
        const int32_t *v = L->col->v;
        for (size_t k = 0; k < n; k++)
            u[k] = (uint64_t)(int64_t)v[vi[k]];
        break;
    }
    case CB_U32: {
        const uint32_t *v = L->col->v;
        for (size_t k = 0; k < n; k++)
            u[k] = v[vi[k]];
        break;
    }
    case CB_U8:
    case CB_BOOL: {
        const uint8_t *v = L->col->v;
        for (size_t k = 0; k < n; k++)
            u[k] = L->kind == CB_BOOL ? v[vi[k]] != 0 : v[vi[k]];
        break;
    }
    default:
        return ORASI_EINTERNAL;
    }
    int sgn = L->kind == CB_TS || L->kind == CB_I64 || L->kind == CB_I32;
    if (sgn) {
        int64_t mn = st->has ? st->imin : (int64_t)u[0], mx = st->has ? st->imax : (int64_t)u[0];
        for (size_t k = 0; k < n; k++) {
            int64_t x = (int64_t)u[k];
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
        }
        st->imin = mn;
        st->imax = mx;
    } else {
        uint64_t mn = st->has ? st->umin : u[0], mx = st->has ? st->umax : u[0];
        for (size_t k = 0; k < n; k++) {
            mn = u[k] < mn ? u[k] : mn;
            mx = u[k] > mx ? u[k] : mx;
        }
        st->umin = mn;
        st->umax = mx;
    }
    st->has = 1;
    return 0;
}

/* The encoding of a fixed-width leaf when not dictionary-encoded. */
static int fixed_enc(const pqw_t *w, uint8_t kind)
{
    if (kind == CB_F64)
        return ENC_BYTE_STREAM_SPLIT;
    if (kind == CB_BOOL || w->o.plain_ints)
        return ENC_PLAIN;
    return ENC_DELTA_BINARY_PACKED;
}

/* Fixed-width values vi[0..n) (gathered by fixed_gather) appended to b in fixed_enc's
 * encoding: doubles BYTE_STREAM_SPLIT (byte k of every value together: exponents and
 * high mantissa bytes compress), booleans bit-packed, integers DELTA_BINARY_PACKED or
 * PLAIN. A DELTA page without values still has its header. */
static int fixed_encode(pqw_t *w, const struct leaf *L, const uint32_t *vi, size_t n, buf_t *b)
{
    int rc;
    int enc = fixed_enc(w, L->kind);
    int w32 = phys_type(L->kind) == PT_INT32;
    if (enc == ENC_DELTA_BINARY_PACKED)
        return dbp_encode(b, w->u64, n, w32);
    if (L->kind == CB_BOOL)
        return bitpack(b, w->u64, n, 1);
    if (L->kind == CB_F64) {
        const double *v = L->col->v;
        if ((rc = buf_reserve(b, n * 8)))
            return rc;
        uint8_t *o = b->data + b->len;
        for (size_t k = 0; k < n; k++) {
            uint8_t x[8];
            memcpy(x, &v[vi[k]], 8);
            for (int j = 0; j < 8; j++)
                o[(size_t)j * n + k] = x[j];
        }
        b->len += n * 8;
        return 0;
    }
    size_t width = w32 ? 4 : 8;
    if ((rc = buf_reserve(b, n * width)))
        return rc;
    uint8_t *o = b->data + b->len;
    for (size_t k = 0; k < n; k++)
        memcpy(o + k * width, &w->u64[k], width); /* little-endian host */
    b->len += n * width;
    return 0;
}

/* Compress w->page and append header + body to `dst` (NULL: the file). */
static int page_finish(pqw_t *w, struct chunk *ch, int type, size_t nvals, int enc, buf_t *dst)
{
    size_t usize = w->page.len;
    if (usize > INT32_MAX)
        return ORASI_ETOOBIG;
    size_t bound = ZSTD_compressBound(usize);
    buf_clear(&w->z);
    int rc = buf_reserve(&w->z, bound);
    if (rc)
        return rc;
    size_t cs = ZSTD_compressCCtx(w->zc, w->z.data, bound, w->page.data, usize, w->o.zstd_level);
    if (ZSTD_isError(cs))
        return ORASI_EINTERNAL;
    w->z.len = cs;
    tw_t t;
    buf_clear(&w->hdr);
    tw_init(&t, &w->hdr);
    tw_i32(&t, 1, type);
    tw_i32(&t, 2, (int64_t)usize);
    tw_i32(&t, 3, (int64_t)cs);
    if (type == PAGE_DICTIONARY) {
        tw_struct(&t, 7);
        tw_i32(&t, 1, (int64_t)nvals);
        tw_i32(&t, 2, ENC_PLAIN);
        tw_end(&t);
    } else {
        tw_struct(&t, 5);
        tw_i32(&t, 1, (int64_t)nvals);
        tw_i32(&t, 2, enc);
        tw_i32(&t, 3, ENC_RLE);
        tw_i32(&t, 4, ENC_RLE);
        tw_end(&t);
    }
    tw_end(&t);
    if (t.rc)
        return t.rc;
    if (dst) {
        if ((rc = buf_append(dst, w->hdr.data, w->hdr.len)) ||
            (rc = buf_append(dst, w->z.data, w->z.len)))
            return rc;
    } else {
        if (!ch->npages && type == PAGE_DATA)
            ch->data_off = out_pos(w);
        if ((rc = emit(w, w->hdr.data, w->hdr.len)) || (rc = emit(w, w->z.data, w->z.len)))
            return rc;
    }
    ch->usize += w->hdr.len + usize;
    ch->csize += w->hdr.len + cs;
    if (type == PAGE_DATA)
        ch->npages++;
    return 0;
}

/* Append a level block (u32 length + hybrid) to the page. */
static int page_levels_block(pqw_t *w, const uint32_t *lv, size_t n, unsigned bw)
{
    buf_clear(&w->lev);
    int rc = rle_encode(&w->lev, lv, n, bw);
    if (rc)
        return rc;
    uint32_t l = (uint32_t)w->lev.len;
    uint8_t l4[4] = {(uint8_t)l, (uint8_t)(l >> 8), (uint8_t)(l >> 16), (uint8_t)(l >> 24)};
    if ((rc = buf_append(&w->page, l4, 4)))
        return rc;
    return buf_append(&w->page, w->lev.data, w->lev.len);
}

/* One data page: levels (nlev entries, nested leaves) and values vi[0..nval). */
static int page_write(pqw_t *w, struct chunk *ch, size_t nlev, const uint32_t *vi, size_t nval)
{
    const struct leaf *L = ch->L;
    int str = is_stringish(L->kind), rc;
    buf_clear(&w->page);
    if (ch->max_level) {
        unsigned bw = bits_for((uint64_t)ch->max_level);
        if ((rc = page_levels_block(w, w->rep, nlev, bw)) ||
            (rc = page_levels_block(w, w->def, nlev, bw)))
            return rc;
        ch->encs |= 1u << ENC_RLE;
    } else {
        nlev = nval;
    }
    ch->num_values += nlev;
    /* Fixed-width values are gathered (with their statistics) unless the page is sure to
     * be dictionary-encoded: the statistics of those come from the chunk's dictionary. */
    int first = ch->use_dict && !ch->dict_tried;
    if (!str && (!ch->use_dict || first) && (rc = fixed_gather(w, ch, vi, nval)))
        return rc;
    if (ch->use_dict) {
        /* w->idx was filled while the page's values were collected (dict_take); the size
         * of this page without the dictionary (first page only) */
        size_t est = str ? ch->page_raw - 4 * nval : 0;
        unsigned bw = bits_for(w->nloc ? w->nloc - 1 : 0);
        if (bw == 0)
            bw = 1;
        if (!ch->dict_tried) {
            /* parquet-mr's rule: keep the dictionary only if dictionary + indices beat the
             * other encoding on the first page, so unique values (span ids, random
             * timestamps) skip it at once. */
            ch->dict_tried = 1;
            if (!str) {
                buf_clear(&w->lev);
                if ((rc = fixed_encode(w, L, vi, nval, &w->lev)))
                    return rc;
                est = w->lev.len;
            }
            if (nval && w->dict.len + (nval * bw + 7) / 8 >= est) {
                local_reset(w, L, 0);
                ch->use_dict = 0;
            }
        }
        if (ch->use_dict) {
            uint8_t b = (uint8_t)bw;
            if ((rc = buf_append(&w->page, &b, 1)) ||
                (rc = rle_encode(&w->page, w->idx, nval, bw)))
                return rc;
            ch->had_dict = 1;
            ch->encs |= 1u << ENC_RLE_DICTIONARY;
            if ((rc = page_finish(w, ch, PAGE_DATA, nlev, ENC_RLE_DICTIONARY, &w->pages)))
                return rc;
            if (w->dict.len > w->o.dict_bytes)
                ch->use_dict = 0; /* remaining pages without, the dictionary stays */
            return 0;
        }
    }
    int enc;
    if (str) {
        rc = dlba_strings(w, ch, vi, nval);
        enc = ENC_DELTA_LENGTH_BYTE_ARRAY;
    } else {
        rc = fixed_encode(w, L, vi, nval, &w->page);
        enc = fixed_enc(w, L->kind);
    }
    if (rc)
        return rc;
    ch->encs |= 1u << enc;
    return page_finish(w, ch, PAGE_DATA, nlev, enc, ch->had_dict ? &w->pages : NULL);
}

/* ---- statistics --------------------------------------------------------------------------- */

static void stat_bin(tw_t *t, int16_t id, const void *p, size_t n)
{
    tw_bin(t, id, p, n);
}

/* Statistics struct (field 12 of ColumnMetaData). */
static void stats_write(tw_t *t, const struct chunk *ch)
{
    const struct leaf *L = ch->L;
    const struct stats *st = &ch->st;
    tw_struct(t, 12);
    tw_i64(t, 3, (int64_t)st->nulls);
    if (st->has) {
        uint8_t mn[8], mx[8];
        size_t n = 8;
        int sgn = 0;
        switch (L->kind) {
        case CB_TS:
        case CB_I64:
            memcpy(mn, &st->imin, 8);
            memcpy(mx, &st->imax, 8);
            sgn = 1;
            break;
        case CB_I32: {
            int32_t a = (int32_t)st->imin, b = (int32_t)st->imax;
            memcpy(mn, &a, 4);
            memcpy(mx, &b, 4);
            n = 4;
            sgn = 1;
            break;
        }
        case CB_U64:
            memcpy(mn, &st->umin, 8);
            memcpy(mx, &st->umax, 8);
            break;
        case CB_U32:
        case CB_U8: {
            uint32_t a = (uint32_t)st->umin, b = (uint32_t)st->umax;
            memcpy(mn, &a, 4);
            memcpy(mx, &b, 4);
            n = 4;
            break;
        }
        case CB_F64:
            memcpy(mn, &st->dmin, 8);
            memcpy(mx, &st->dmax, 8);
            break;
        case CB_BOOL:
            mn[0] = (uint8_t)st->umin;
            mx[0] = (uint8_t)st->umax;
            n = 1;
            break;
        default: {
            /* strings: bounds of at most PQW_STAT_MAX bytes */
            char ta[40], tb[40];
            uint32_t la, lb;
            const uint8_t *pa = value_text(L->kind, L->col, st->smin, ta, &la);
            const uint8_t *pb = value_text(L->kind, L->col, st->smax, tb, &lb);
            uint8_t maxb[PQW_STAT_MAX];
            int max_ok = 1, max_exact = 1;
            if (lb > PQW_STAT_MAX) {
                /* smallest string above every value with this prefix */
                memcpy(maxb, pb, PQW_STAT_MAX);
                int k = PQW_STAT_MAX - 1;
                while (k >= 0 && maxb[k] == 0xff)
                    k--;
                if (k < 0) {
                    max_ok = 0;
                } else {
                    maxb[k]++;
                    lb = (uint32_t)k + 1;
                    pb = maxb;
                    max_exact = 0;
                }
            }
            if (max_ok)
                stat_bin(t, 5, pb, lb);
            stat_bin(t, 6, pa, la > PQW_STAT_MAX ? PQW_STAT_MAX : la);
            if (max_ok)
                tw_bool(t, 7, max_exact);
            tw_bool(t, 8, la <= PQW_STAT_MAX);
            tw_end(t);
            return;
        }
        }
        /* Signed integers also get the deprecated min/max (signed order) for old
         * readers; unsigned ones must not. */
        if (sgn) {
            stat_bin(t, 1, mx, n);
            stat_bin(t, 2, mn, n);
        }
        stat_bin(t, 5, mx, n);
        stat_bin(t, 6, mn, n);
    }
    tw_end(t);
}

/* ---- column chunks and row groups --------------------------------------------------------- */

static const int enc_order[] = {ENC_PLAIN,
                                ENC_RLE,
                                ENC_DELTA_BINARY_PACKED,
                                ENC_DELTA_LENGTH_BYTE_ARRAY,
                                ENC_RLE_DICTIONARY,
                                ENC_BYTE_STREAM_SPLIT};

/* Write the chunk of leaf L for rows perm[r0..r1) and its ColumnChunk struct into w->rg. */
static int chunk_write(pqw_t *w, const struct leaf *L, const uint32_t *perm, size_t r0, size_t r1,
                       uint64_t *usize)
{
    struct chunk ch;
    int rc;
    memset(&ch, 0, sizeof(ch));
    ch.L = L;
    ch.max_level = L->shape;
    ch.use_dict = L->has_gid;
    w->nloc = 0;
    buf_clear(&w->dict);
    buf_clear(&w->pages);
    uint64_t chunk_off = out_pos(w);
    for (size_t r = r0; r < r1;) {
        size_t next, nlev = 0, nval;
        const uint32_t *vi;
        if (L->shape == SHAPE_SCALAR) {
            if ((rc = page_scalar(w, &ch, perm, r, r1, &nval)))
                return rc;
            vi = perm + r;
            next = r + nval;
        } else {
            if ((rc = page_levels(w, &ch, perm, r, r1, &nlev, &nval, &next)))
                return rc;
            vi = w->vidx;
        }
        if ((rc = page_write(w, &ch, nlev, vi, nval)))
            return rc;
        r = next;
    }
    if (r0 == r1) {
        /* an empty chunk still has one (empty) page so that readers find a data page */
        if ((rc = page_write(w, &ch, 0, perm, 0)))
            return rc;
    }
    uint64_t dict_off = 0;
    if (ch.had_dict) {
        /* statistics over the distinct values, then the dictionary page, then the data
         * pages gathered behind it */
        size_t nd = w->nloc;
        local_reset(w, L, 1); /* lents[] now hold the entries' value indexes */
        if (is_stringish(L->kind)) {
            for (size_t i = 0; i < nd; i++)
                stats_str(&ch.st, L->kind, L->col, w->lents[i]);
        } else if ((rc = fixed_gather(w, &ch, w->lents, nd))) {
            return rc;
        }
        w->nloc = 0;
        dict_off = out_pos(w);
        buf_t tmp = w->page;
        w->page = w->dict; /* compress the dictionary values as a page body */
        rc = page_finish(w, &ch, PAGE_DICTIONARY, nd, ENC_PLAIN, NULL);
        w->dict = w->page;
        w->page = tmp;
        if (rc)
            return rc;
        ch.data_off = out_pos(w);
        if ((rc = emit(w, w->pages.data, w->pages.len)))
            return rc;
        ch.encs |= 1u << ENC_PLAIN;
    }
    /* ColumnChunk */
    tw_t t;
    tw_init(&t, &w->rg);
    tw_push(&t);
    tw_i64(&t, 2, (int64_t)chunk_off);
    tw_struct(&t, 3);
    tw_i32(&t, 1, phys_type(L->kind));
    size_t nenc = 0;
    for (size_t k = 0; k < sizeof(enc_order) / sizeof(enc_order[0]); k++)
        nenc += (ch.encs >> enc_order[k]) & 1;
    tw_list(&t, 2, TT_I32, nenc);
    for (size_t k = 0; k < sizeof(enc_order) / sizeof(enc_order[0]); k++)
        if ((ch.encs >> enc_order[k]) & 1)
            tw_uvar(&t, zigzag(enc_order[k]));
    tw_list(&t, 3, TT_BINARY, (size_t)L->npath);
    for (int k = 0; k < L->npath; k++) {
        tw_uvar(&t, strlen(L->path[k]));
        tw_raw(&t, L->path[k], strlen(L->path[k]));
    }
    tw_i32(&t, 4, CODEC_ZSTD);
    tw_i64(&t, 5, (int64_t)ch.num_values);
    tw_i64(&t, 6, (int64_t)ch.usize);
    tw_i64(&t, 7, (int64_t)ch.csize);
    tw_i64(&t, 9, (int64_t)ch.data_off);
    if (ch.had_dict)
        tw_i64(&t, 11, (int64_t)dict_off);
    stats_write(&t, &ch);
    tw_end(&t); /* ColumnMetaData */
    tw_end(&t); /* ColumnChunk */
    *usize += ch.usize;
    return t.rc;
}

/* ---- the file ------------------------------------------------------------------------------ */

static int write_file(pqw_t *w, const colbuf_table_t *t, const uint32_t *perm,
                      const uint32_t *ends, size_t nends, char *err, size_t errlen)
{
    const colbuf_schema_t *s = t->schema;
    int rc;
    if ((rc = leaves_build(w, t))) {
        snprintf(err, errlen, "pqwrite: schema has too many leaves");
        return rc;
    }
    buf_clear(&w->out);
    buf_clear(&w->meta);
    w->off = 0;
    w->ngids = w->ngents = 0;
    for (int k = 0; k < w->nleaves; k++)
        if ((rc = gdict_build(w, &w->leaves[k]))) {
            snprintf(err, errlen, "pqwrite: dictionary of %s: %s", w->leaves[k].path[0],
                     orasi_strerror(rc));
            return rc;
        }
    if ((rc = emit(w, "PAR1", 4)))
        goto io;
    size_t rgn = (size_t)w->o.row_group_rows;
    size_t ngroups = ends ? nends : (t->rows + rgn - 1) / rgn;
    tw_t m;
    tw_init(&m, &w->meta);
    tw_push(&m);
    tw_i32(&m, 1, 2); /* version */
    schema_write(&m, s);
    tw_i64(&m, 3, (int64_t)t->rows);
    tw_list(&m, 4, TT_STRUCT, ngroups);
    if (m.rc)
        goto meta;
    for (size_t g = 0; g < ngroups; g++) {
        size_t r0 = ends ? (g ? ends[g - 1] : 0) : g * rgn;
        size_t r1 = ends ? ends[g] : r0 + rgn < t->rows ? r0 + rgn : t->rows;
        uint64_t start = out_pos(w), usize = 0;
        buf_clear(&w->rg);
        for (int k = 0; k < w->nleaves; k++) {
            rc = chunk_write(w, &w->leaves[k], perm, r0, r1, &usize);
            if (rc)
                goto chunk;
        }
        /* RowGroup: columns, total_byte_size (uncompressed), num_rows, file_offset,
         * total_compressed_size */
        uint64_t csize = out_pos(w) - start;
        tw_push(&m);
        tw_list(&m, 1, TT_STRUCT, (size_t)w->nleaves);
        tw_raw(&m, w->rg.data, w->rg.len);
        tw_i64(&m, 2, (int64_t)usize);
        tw_i64(&m, 3, (int64_t)(r1 - r0));
        tw_i64(&m, 5, (int64_t)start);
        tw_i64(&m, 6, (int64_t)csize);
        tw_end(&m);
        if (m.rc)
            goto meta;
    }
    const char *cb = "orasi version " ORASI_VERSION " (pqwrite)";
    tw_bin(&m, 6, cb, strlen(cb));
    /* column_orders: TYPE_DEFINED_ORDER for every leaf */
    tw_list(&m, 7, TT_STRUCT, (size_t)w->nleaves);
    for (int k = 0; k < w->nleaves; k++) {
        tw_push(&m);
        tw_empty(&m, 1);
        tw_end(&m);
    }
    tw_end(&m);
    if (m.rc)
        goto meta;
    uint32_t ml = (uint32_t)w->meta.len;
    uint8_t tail[8] = {(uint8_t)ml, (uint8_t)(ml >> 8), (uint8_t)(ml >> 16), (uint8_t)(ml >> 24),
                       'P', 'A', 'R', '1'};
    if ((rc = emit(w, w->meta.data, w->meta.len)) || (rc = emit(w, tail, 8)) ||
        (rc = out_flush(w)))
        goto io;
    return 0;
chunk:
    if (rc == ORASI_EIO || rc == ORASI_ENOSPC || rc == ORASI_ESYS)
        goto io;
    snprintf(err, errlen, "pqwrite: encoding a column chunk: %s", orasi_strerror(rc));
    return rc;
meta:
    rc = m.rc;
    snprintf(err, errlen, "pqwrite: file metadata: %s", orasi_strerror(rc));
    return rc;
io:
    snprintf(err, errlen, "pqwrite: write: %s", orasi_strerror(rc));
    return rc;
}

int pqw_write(pqw_t *w, const colbuf_table_t *t, const uint32_t *perm, const uint32_t *ends,
              size_t ngroups, const char *path, uint64_t *bytes, char *err, size_t errlen)
{
    int rc;
    for (size_t i = 0; i < t->rows; i++)
        if (perm[i] >= t->rows) {
            snprintf(err, errlen, "pqwrite: bad permutation");
            return ORASI_EINVAL;
        }
    if (ends) {
        /* groups: non-empty, in order, covering every row (one empty group for no rows) */
        int ok = ngroups > 0 && ngroups <= PQW_MAX_GROUPS && ends[ngroups - 1] == t->rows;
        for (size_t g = 0; ok && g < ngroups; g++)
            ok = g ? ends[g] > ends[g - 1] : (ends[0] > 0 || t->rows == 0);
        if (!ok) {
            snprintf(err, errlen, "pqwrite: bad row groups");
            return ORASI_EINVAL;
        }
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = orasi_err_from_errno(errno);
        snprintf(err, errlen, "pqwrite: open %.300s: %s", path, strerror(errno));
        return rc;
    }
    rc = write_file(w, t, perm, ends, ngroups, err, errlen);
    if (close(w->fd) != 0 && !rc) {
        rc = orasi_err_from_errno(errno);
        snprintf(err, errlen, "pqwrite: close %.300s: %s", path, strerror(errno));
    }
    w->fd = -1;
    if (!rc && bytes)
        *bytes = w->off;
    buf_clear(&w->out);
    gpool_trim(w);
    return rc;
}
