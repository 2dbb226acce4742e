/*
 * crc32c.h — CRC-32C (Castagnoli), as used by the WAL record framing.
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time),
 * a slicing table otherwise. crc32c(0, p, n) starts a new checksum; pass a previous
 * result to continue over more bytes.
 */
#ifndef ORASI_CORE_CRC32C_H
#define ORASI_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *p, size_t n);
/* The portable implementation, exposed so tests can compare both paths. */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);
/* 1 when the hardware path is in use. */
int crc32c_hw_available(void);

#endif
