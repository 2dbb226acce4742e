/*
 * h1_parse.h — zero-copy, allocation-free HTTP/1.x request-head parser and chunked
 * transfer-coding decoder (picohttpparser style).
 *
 * Both work on a caller's byte buffer and are resumable: call again with more bytes.
 * Results are slices pointing into that buffer (valid while it is unchanged). Neither
 * allocates, so both can be fuzzed alone (fuzz/fuzz_http1.c, fuzz/fuzz_chunked.c).
 *
 * The parser is deliberately strict where leniency enables request smuggling: CRLF line
 * ends only, no obs-fold, no whitespace before the colon, token characters in method and
 * header names, no control characters in the target or values, version HTTP/1.0 or 1.1.
 */
#ifndef ORASI_HTTP_H1_PARSE_H
#define ORASI_HTTP_H1_PARSE_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    slice_t name;
    slice_t value; /* leading and trailing blanks removed */
} h1_header_t;

typedef struct {
    slice_t method;
    slice_t target; /* the request-target as sent */
    slice_t path;   /* target up to '?' */
    slice_t query;  /* after '?' (len 0 when absent) */
    int minor_version;  /* 0 = HTTP/1.0, 1 = HTTP/1.1 */
    h1_header_t *headers; /* = the caller's array */
    size_t nheaders;
} h1_request_t;

/*
 * Parse a request head from buf[0..len). `prev_len` is the len of the previous call on
 * the same (grown) buffer, or 0: bytes before it are known not to end the head, so a
 * call per read costs O(new bytes) until the head is complete. Up to `max_headers`
 * headers are stored in `headers` (caller's array).
 * Returns the length of the head including the blank line (and any blank lines before
 * the request line, which are skipped), ORASI_EAGAIN if incomplete, ORASI_EPARSE when
 * malformed, ORASI_ETOOBIG when there are more than max_headers headers.
 */
int h1_parse_request(const uint8_t *buf, size_t len, size_t prev_len, h1_request_t *req,
                     h1_header_t *headers, size_t max_headers);

/* Bounds inside a chunked body (per chunk-size line with extensions, and for all
 * trailer lines together). */
#define H1_CHUNK_LINE_MAX 4096
#define H1_CHUNK_TRAILER_MAX 16384

typedef struct {
    int state;
    int ndigits;
    uint64_t remaining; /* payload bytes left in the current chunk */
    size_t line;        /* bytes of the current size line or trailer section */
} h1_chunked_t;

void h1_parse_chunked_init(h1_chunked_t *c);

/*
 * Decode chunked data in[0..len) (len <= INT_MAX). Payload bytes are written to `out`,
 * *out_len set to how many; out may alias in or lie before it (the copy is a memmove),
 * which lets a caller de-chunk in place. Returns the number of input bytes consumed once
 * the last chunk and its trailers are complete (bytes after that belong to the next
 * message and are untouched), ORASI_EAGAIN when all input was consumed and more is
 * needed, ORASI_EPARSE on malformed input, ORASI_EINVAL when len > INT_MAX.
 */
int h1_parse_chunked(h1_chunked_t *c, const uint8_t *in, size_t len, uint8_t *out,
                     size_t *out_len);

#endif
