/*
 * otlp_utf8.h — strict UTF-8 validation (RFC 3629) with an 8-bytes-at-a-time ASCII path.
 *
 * Rejects overlong forms, UTF-16 surrogates (U+D800..U+DFFF), code points above U+10FFFF
 * and truncated sequences. Protobuf `string` fields must be valid UTF-8; OTLP decoders
 * use this to reject items that carry invalid text.
 */
#ifndef ORASI_OTLP_OTLP_UTF8_H
#define ORASI_OTLP_OTLP_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if s[0..n) is valid UTF-8 (the empty string is), 0 otherwise. */
int otlp_utf8_valid(const uint8_t *s, size_t n);

#endif
