#ifndef CTENSORIO_H
#define CTENSORIO_H

#include <stddef.h>
#include <stdint.h>

/// C helpers for TensorFormats.

/// CRC-32 (ZIP / gzip: reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF) with
/// carry-less multiplication (PCLMULQDQ, SSE4.1), selected at run time; the rest of the package is
/// built for baseline x86-64.

/// 1 when this CPU runs `lstmkit_crc32_clmul` (x86-64 with PCLMULQDQ and SSE4.1), else 0.
int lstmkit_crc32_clmul_available(void);

/// `crc` continued over `len` bytes at `data`, as zlib's `crc32(crc, data, len)` would return it.
/// Only call when `lstmkit_crc32_clmul_available()` returned 1.
uint32_t lstmkit_crc32_clmul(uint32_t crc, const void *data, size_t len);

/// Copies `len` bytes from file `in` at `*offset` (advanced by the bytes copied) to file `out` at
/// its current position, inside the kernel (Linux `copy_file_range`). Returns the bytes copied, or
/// -errno (-ENOSYS where the call does not exist).
long lstmkit_copy_file_range(int in, int64_t *offset, int out, size_t len);

/// Starts writing `len` bytes of file `fd` from `offset` to disk without waiting (Linux
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that a later fsync has less left to wait for.
/// Returns 0, or -errno (-ENOSYS where the call does not exist).
int lstmkit_start_writeback(int fd, int64_t offset, int64_t len);

#endif
