#ifndef CCRC32_H
#define CCRC32_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32 (ZIP / gzip: reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF) with
/// carry-less multiplication (PCLMULQDQ, SSE4.1), selected at run time; the rest of the package is
/// built for baseline x86-64.

/// 1 when this CPU runs `lstmkit_crc32_clmul` (x86-64 with PCLMULQDQ and SSE4.1), else 0.
int lstmkit_crc32_clmul_available(void);

/// `crc` continued over `len` bytes at `data`, as zlib's `crc32(crc, data, len)` would return it.
/// Only call when `lstmkit_crc32_clmul_available()` returned 1.
uint32_t lstmkit_crc32_clmul(uint32_t crc, const void *data, size_t len);

#endif
