/* A library that calls WASI preview 1 directly (as code built against wasi/api.h's raw imports
 * does): the imports reach the component's WASI adapter through main, which re-exports its own
 * `fd_write` and gains `sched_yield`, which it never imported. */
struct ciovec { const void *buf; unsigned long len; };
__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int raw_fd_write(int fd, const struct ciovec *iovs, int n, unsigned long *written);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("sched_yield")))
int raw_sched_yield(void);
int raw_hello(void)
{
    static const char msg[] = "libraw: written by a raw fd_write\n";
    struct ciovec iov = { msg, sizeof msg - 1 };
    unsigned long n = 0;
    int err = raw_fd_write(1, &iov, 1, &n);
    return err ? -err : (int)n + 1000 * raw_sched_yield();
}
