/*
 * s3xml.h — the little XML that S3 answers with, read without a parser library:
 * ListObjectsV2 results, InitiateMultipartUpload's UploadId, and <Error> bodies.
 *
 * These responses are flat, with no attributes we need, no CDATA and no nesting of an
 * element inside one of the same name, so "find <Name ...>…</Name>" is enough. Everything
 * works on slices of the body (no copies) except the unescaped text, which goes into a
 * caller's buffer with a cap. Input is untrusted (fuzz/fuzz_s3xml.c).
 */
#ifndef ORASI_OBJSTORE_S3XML_H
#define ORASI_OBJSTORE_S3XML_H

#include "core/buf.h"
#include "objstore/objstore.h"

#include <stddef.h>
#include <stdint.h>

/* The next element `name` starting at or after *pos: its content (between the tags; empty
 * for <name/>) in *content, and *pos moved past its end tag. 1 found, 0 not found (or an
 * unterminated element). */
int s3xml_next(slice_t doc, size_t *pos, const char *name, slice_t *content);
/* The first element `name` anywhere in doc. 1 / 0. */
int s3xml_find(slice_t doc, const char *name, slice_t *content);
/* Replace the five predefined entities and &#N; / &#xH; character references (as UTF-8)
 * and append the text to out. ORASI_EPARSE on a malformed or unknown reference or a
 * code point that is 0, a surrogate or > U+10FFFF; ORASI_ETOOBIG past out's cap. */
int s3xml_unescape(slice_t in, buf_t *out);
/* "2009-10-12T17:50:30.000Z" -> ns since the epoch; ORASI_EPARSE. */
int s3xml_parse_time(slice_t s, int64_t *ns);

/* One ListObjectsV2 page: push every <Contents> whose <Key> starts with `strip` (the
 * store's prefix) with that prefix removed; *truncated from <IsTruncated>, the token of
 * the next page (unescaped) appended to next_token. 0, ORASI_EPARSE (a <Contents> without
 * a usable Key or Size), ORASI_ETOOBIG, ORASI_ENOMEM. */
int s3xml_parse_list(slice_t body, const char *strip, objstore_list_t *out, size_t *cap,
                     int *truncated, buf_t *next_token);
/* "Code: Message" of an <Error> body into out (truncated, NUL-terminated); 0 when the
 * body has no <Error> element (out then empty). */
int s3xml_error(slice_t body, char *out, size_t outlen);

#endif
