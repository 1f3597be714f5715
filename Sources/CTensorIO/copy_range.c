#define _GNU_SOURCE
#include "CTensorIO.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#if defined(__linux__)
long lstmkit_copy_file_range(int in, int64_t *offset, int out, size_t len) {
    off_t from = (off_t)*offset;
    ssize_t n = copy_file_range(in, &from, out, NULL, len, 0);
    if (n < 0) return -errno;
    *offset = (int64_t)from;
    return (long)n;
}

int lstmkit_start_writeback(int fd, int64_t offset, int64_t len) {
    return sync_file_range(fd, (off_t)offset, (off_t)len, SYNC_FILE_RANGE_WRITE) == 0 ? 0 : -errno;
}
#else
int lstmkit_start_writeback(int fd, int64_t offset, int64_t len) {
    (void)fd; (void)offset; (void)len;
    return -ENOSYS;
}

long lstmkit_copy_file_range(int in, int64_t *offset, int out, size_t len) {
    (void)in; (void)offset; (void)out; (void)len;
    return -ENOSYS;
}
#endif
