// arc4random(3) for the static package build: libstdc++.a (std::random_device) calls it, and glibc
// has it only from 2.36, which would make the binary refuse every older system. Defined here, the
// binary imports no GLIBC_2.36 symbol; the bytes come from getrandom(2) (Linux 3.17, glibc 2.25),
// else /dev/urandom. lstmkit itself never draws random numbers from it.
#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint32_t arc4random(void) {
    uint32_t value = 0;
    for (;;) {
        ssize_t n = getrandom(&value, sizeof value, 0);
        if (n == (ssize_t)sizeof value) return value;
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, &value, sizeof value);
        close(fd);
        if (n == (ssize_t)sizeof value) return value;
    }
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint32_t)(t.tv_nsec ^ (t.tv_sec << 20));
}
#endif
