/*
 * grpc.h — gRPC over HTTP/2 wire details used by the server: the 5-byte message prefix
 * (compressed flag + big-endian length), grpc-timeout, grpc-message percent-encoding.
 * Pure functions over byte slices; no allocation except into a caller's arena, so the
 * framing code can be fuzzed alone (fuzz/fuzz_grpc_frame.c).
 */
#ifndef ORASI_HTTP_GRPC_H
#define ORASI_HTTP_GRPC_H

#include "core/arena.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

#define GRPC_FRAME_HEADER 5

/* Parse the prefix at p[0..len): returns 5 with *compressed (0/1) and *msg_len set,
 * ORASI_EAGAIN when len < 5, ORASI_EPARSE when the flags byte is neither 0 nor 1. */
int grpc_frame_parse(const uint8_t *p, size_t len, int *compressed, uint32_t *msg_len);
/* Write the prefix for a message of `len` bytes. */
void grpc_frame_header(uint8_t out[GRPC_FRAME_HEADER], int compressed, uint32_t len);
/* The single message of a unary request body (a slice into body). 0; ORASI_ETOOBIG when
 * the declared length exceeds max; ORASI_EPARSE for a bad prefix, a truncated message, no
 * message at all, or bytes after the message (a second message). */
int grpc_frame_unary(const uint8_t *body, size_t len, size_t max, int *compressed,
                     slice_t *msg);
/* grpc-timeout: 1-8 digits and a unit (H M S m u n) -> nanoseconds (saturating).
 * 0 or ORASI_EPARSE. */
int grpc_timeout_parse(slice_t v, uint64_t *ns);
/* Percent-encode a grpc-message value (bytes outside 0x20-0x7e and '%'); NULL when the
 * arena is full. */
char *grpc_percent_encode(arena_t *a, const char *s);

#endif
