/* interpose.c: libc overrides that keep a host from closing, or dup'ing over, the shim's socket. */
#include "interpose.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TIPOSE_EXPORT __attribute__((visibility("default")))
#define TIPOSE_TOP 1024 /* highest fd we aim for: keeps the kernel's fd table small */

typedef int (*tipose_close_fn)(int);
typedef int (*tipose_close_range_fn)(unsigned, unsigned, int);
typedef void (*tipose_closefrom_fn)(int);
typedef int (*tipose_dup2_fn)(int, int);
typedef int (*tipose_dup3_fn)(int, int, int);

/* close and dup2 start at stubs that resolve the real function and call it, so
 * that the wrappers' fast path needs no "resolved yet?" test: even a call made by
 * another library's constructor, before ours has run, finds its way. */
static int tipose_close_first(int fd);
static int tipose_dup2_first(int oldfd, int newfd);
static tipose_close_fn tipose_close = tipose_close_first;
static tipose_close_range_fn tipose_close_range;
static tipose_closefrom_fn tipose_closefrom;
static tipose_dup2_fn tipose_dup2 = tipose_dup2_first;
static tipose_dup3_fn tipose_dup3;

/* -1 while the shim holds no socket: then every override is one load, one compare
 * and a tail call. */
static _Atomic int tipose_fd = -1;

/* A fork must not copy a descriptor of ours that is not yet (or no longer) in
 * tipose_fd: its child could not know to close it. So the few syscalls that create
 * or move one form a window that fork waits for, and that is not entered while a
 * fork is under way. Two futex words and no lock: nothing of ours can be held by a
 * thread that no longer exists in the child. */
static _Atomic int tipose_busy;    /* 1 while a thread is inside the window */
static _Atomic int tipose_forking; /* forks under way in this process */

static void tipose_futex(_Atomic int *word, int op, int val)
{
    syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void tipose_enter(void)
{
    for (;;) {
        while (atomic_exchange(&tipose_busy, 1) != 0)
            tipose_futex(&tipose_busy, FUTEX_WAIT_PRIVATE, 1);
        int forks = atomic_load(&tipose_forking);
        if (forks == 0)
            return;
        atomic_store(&tipose_busy, 0);
        tipose_futex(&tipose_busy, FUTEX_WAKE_PRIVATE, 1);
        tipose_futex(&tipose_forking, FUTEX_WAIT_PRIVATE, forks);
    }
}

static void tipose_leave(void)
{
    atomic_store(&tipose_busy, 0);
    tipose_futex(&tipose_busy, FUTEX_WAKE_PRIVATE, 1);
}

void tipose_fork_prepare(void)
{
    atomic_fetch_add(&tipose_forking, 1);
    while (atomic_load(&tipose_busy))
        tipose_futex(&tipose_busy, FUTEX_WAIT_PRIVATE, 1);
}

void tipose_fork_parent(void)
{
    atomic_fetch_sub(&tipose_forking, 1);
    tipose_futex(&tipose_forking, FUTEX_WAKE_PRIVATE, 1 << 30);
}

void tipose_fork_child(void)
{
    /* The child has one thread: nobody is inside the window, nobody forks. */
    atomic_store(&tipose_forking, 0);
    atomic_store(&tipose_busy, 0);
    tipose_release();
}

/* close and dup2 are resolved by the constructor, because hosts call them often and
 * from signal handlers, where dlsym must not run. The rare ones are resolved at
 * their first call, so that a process that never makes them never pays for it. */
void tipose_init(void)
{
    void *c = dlsym(RTLD_NEXT, "close"), *d = dlsym(RTLD_NEXT, "dup2");
    if (c)
        *(void **)&tipose_close = c;
    if (d)
        *(void **)&tipose_dup2 = d;
}

static int tipose_close_first(int fd)
{
    tipose_init();
    if (tipose_close == tipose_close_first)
        return (int)syscall(SYS_close, fd);
    return tipose_close(fd);
}

static int tipose_dup2_first(int oldfd, int newfd)
{
    tipose_init();
    if (tipose_dup2 == tipose_dup2_first)
        return (int)syscall(SYS_dup2, oldfd, newfd);
    return tipose_dup2(oldfd, newfd);
}

/* For the rarely called functions: resolved once, at first use. */
static void *tipose_lazy(void **slot, const char *name)
{
    if (!*slot) {
        int saved = errno; /* dlsym may set it; a call that then succeeds must not show it */
        *slot = dlsym(RTLD_NEXT, name); /* glibc 2.34+ for close_range and closefrom */
        errno = saved;
    }
    return *slot;
}

int tipose_real_close(int fd)
{
    return tipose_close(fd);
}

int tipose_current(void)
{
    return atomic_load_explicit(&tipose_fd, memory_order_acquire);
}

/* A duplicate of fd as high as it will go below min(RLIMIT_NOFILE, 1024), where
 * hosts that pick their own numbers rarely look; -1 if there is no room at all. */
static int tipose_dup_high(int fd)
{
    struct rlimit rl;
    long top = TIPOSE_TOP;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (long)rl.rlim_cur < top)
        top = (long)rl.rlim_cur;
    for (long below = 1; below <= top; below *= 4) {
        int n = fcntl(fd, F_DUPFD_CLOEXEC, (int)(top - below > 3 ? top - below : 3));
        if (n >= 0)
            return n;
        if (errno != EMFILE && errno != EINVAL)
            break;
    }
    return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

int tipose_socket(int domain, int type, int protocol)
{
    int saved = errno;
    tipose_enter();
    int fd = socket(domain, type, protocol);
    int e = errno;
    if (fd >= 0) {
        int high = tipose_dup_high(fd);
        if (high >= 0) {
            tipose_real_close(fd);
            fd = high;
        }
        atomic_store_explicit(&tipose_fd, fd, memory_order_release);
    }
    tipose_leave();
    errno = fd >= 0 ? saved : e;
    return fd;
}

void tipose_release(void)
{
    int fd = atomic_exchange(&tipose_fd, -1);
    if (fd >= 0) {
            tipose_close(fd);
    }
}

/* The host is about to put something at newfd, which is ours: move our socket out
 * of the way first, or, if no descriptor is free, let it go (the listener notices
 * and reconnects later). Either way the host's call then proceeds unchanged. */
static void tipose_step_aside(int newfd)
{
    int saved = errno;
    tipose_enter();
    int moved = tipose_dup_high(newfd);
    int expected = newfd;
    if (!atomic_compare_exchange_strong(&tipose_fd, &expected, moved) && moved >= 0)
        tipose_close(moved); /* the listener let go meanwhile */
    tipose_leave();
    errno = saved;
}

TIPOSE_EXPORT int close(int fd)
{
    /* One compare on the fast path; with no socket (-1), close(-1) is answered
     * here with exactly what libc would say. */
    if (__builtin_expect(fd == atomic_load_explicit(&tipose_fd, memory_order_relaxed), 0)) {
        /* What close() says of a descriptor that is not open. */
        errno = EBADF;
        return -1;
    }
    return tipose_close(fd);
}

static int tipose_range(unsigned first, unsigned last, int flags)
{
    if (tipose_lazy((void **)&tipose_close_range, "close_range"))
        return tipose_close_range(first, last, flags);
#ifdef SYS_close_range
    return (int)syscall(SYS_close_range, first, last, flags);
#else
    errno = ENOSYS;
    return -1;
#endif
}

TIPOSE_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    int ours = atomic_load_explicit(&tipose_fd, memory_order_relaxed);
    if (__builtin_expect(ours < 0 || (unsigned)ours < first || (unsigned)ours > last, 1))
        return tipose_range(first, last, flags);
    /* Two ranges around ours. The kernel validates flags and first <= last the
     * same way for each, so errors read as they would for the whole range. */
    int r = 0;
    if ((unsigned)ours > first)
        r = tipose_range(first, (unsigned)ours - 1, flags);
    if (r == 0 && (unsigned)ours < last)
        r = tipose_range((unsigned)ours + 1, last, flags);
    return r;
}

TIPOSE_EXPORT void closefrom(int lowfd)
{
    int ours = atomic_load_explicit(&tipose_fd, memory_order_relaxed);
    unsigned low = lowfd < 0 ? 0u : (unsigned)lowfd;
    if (__builtin_expect(ours < 0 || (unsigned)ours < low, 1) &&
        tipose_lazy((void **)&tipose_closefrom, "closefrom")) {
        tipose_closefrom(lowfd);
        return;
    }
    int saved = errno;
    if (ours < 0 || (unsigned)ours < low) {
        tipose_range(low, ~0u, 0);
    } else {
        if ((unsigned)ours > low)
            tipose_range(low, (unsigned)ours - 1, 0);
        if (tipose_lazy((void **)&tipose_closefrom, "closefrom"))
            tipose_closefrom(ours + 1);
        else
            tipose_range((unsigned)ours + 1, ~0u, 0);
    }
    errno = saved; /* closefrom returns nothing and sets no errno */
}

TIPOSE_EXPORT int dup2(int oldfd, int newfd)
{
    int ours = atomic_load_explicit(&tipose_fd, memory_order_relaxed);
    if (__builtin_expect(newfd >= 0 && newfd == ours, 0)) {
        if (oldfd == newfd) {
            /* dup2(fd, fd) checks that fd is open; to the host, ours is not. */
            errno = EBADF;
            return -1;
        }
        tipose_step_aside(newfd);
    }
    return tipose_dup2(oldfd, newfd);
}

TIPOSE_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    int ours = atomic_load_explicit(&tipose_fd, memory_order_relaxed);
    if (__builtin_expect(newfd >= 0 && newfd == ours && oldfd != newfd, 0))
        tipose_step_aside(newfd);
    tipose_lazy((void **)&tipose_dup3, "dup3");
    return tipose_dup3(oldfd, newfd, flags);
}
