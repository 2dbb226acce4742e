/*
 * base64.h — RFC 4648 base64 (standard alphabet), with or without padding.
 * gRPC binary headers ("-bin", e.g. grpc-status-details-bin) are sent unpadded;
 * decoding accepts both forms.
 */
#ifndef ORASI_HTTP_BASE64_H
#define ORASI_HTTP_BASE64_H

#include "core/arena.h"

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes (without the NUL). */
size_t base64_encoded_len(size_t n, int pad);
/* Encode src[0..n) into dst, NUL-terminated; *out_len (may be NULL) = characters written.
 * 0, or ORASI_ETOOBIG when dstlen < base64_encoded_len(n, pad) + 1. */
int base64_encode(const void *src, size_t n, int pad, char *dst, size_t dstlen,
                  size_t *out_len);
/* Encode into arena memory; NULL when the arena is full. */
char *base64_encode_arena(arena_t *a, const void *src, size_t n, int pad);
/* Decode (padding optional, no whitespace). 0, ORASI_EPARSE on a bad character or
 * length, ORASI_ETOOBIG when dst is too small (needs n / 4 * 3 + 3 bytes at most). */
int base64_decode(const char *src, size_t n, uint8_t *dst, size_t dstlen, size_t *out_len);

#endif
