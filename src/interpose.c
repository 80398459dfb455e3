/* interpose.c: libc overrides that keep a host from closing, or dup'ing over, the shim's own fds. */
#include "interpose.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
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

/* The shim's descriptors by slot (the socket; the private copy of the event fd),
 * -1 where it holds none: then every override is two loads, two compares and a
 * tail call. */
static _Atomic int tipose_fds[TIPOSE_SLOTS] = {-1, -1};

/* Futex words: 1 while the owner of a slot writes to its fd, 2 if a host thread
 * waits for that write to end (see tipose_write_slot). */
static _Atomic int tipose_using[TIPOSE_SLOTS];

/* A fork must not copy a descriptor of ours that is not yet (or no longer) in
 * tipose_fds: its child could not know to close it. So the few syscalls that create
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

/* For callers on the host's threads, the window is entered with every signal
 * blocked: a handler that dup2()s onto one of our numbers would otherwise wait for
 * the window its own thread holds. */
void tipose_window_enter(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, old);
    tipose_enter();
}

void tipose_window_leave(const sigset_t *old)
{
    tipose_leave();
    pthread_sigmask(SIG_SETMASK, old, NULL);
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
    for (int i = 0; i < TIPOSE_SLOTS; i++) {
        atomic_store(&tipose_using[i], 0);
        tipose_release_slot(i);
    }
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

int tipose_get(int slot)
{
    return atomic_load_explicit(&tipose_fds[slot], memory_order_acquire);
}

int tipose_current(void)
{
    return tipose_get(TIPOSE_SOCKET);
}

/* The slot holding fd, or -1 if fd is not ours. Relaxed: the caller only needs to
 * know whether the number is ours now; every change to a slot is made by the
 * thread that owns it, or under the window. */
static int tipose_slot_of(int fd)
{
    for (int i = 0; i < TIPOSE_SLOTS; i++)
        if (fd == atomic_load_explicit(&tipose_fds[i], memory_order_relaxed))
            return i;
    return -1;
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

void tipose_settle(void)
{
    int saved = errno;
    for (int i = 0; i < 100; i++) {
        if (fcntl(0, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0 && fcntl(2, F_GETFD) >= 0)
            break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    errno = saved;
}

int tipose_socket(int domain, int type, int protocol)
{
    int saved = errno;
    tipose_settle();
    tipose_enter();
    int fd = socket(domain, type, protocol);
    int e = errno;
    if (fd >= 0) {
        int high = tipose_dup_high(fd);
        if (high >= 0) {
            tipose_real_close(fd);
            fd = high;
        }
        atomic_store_explicit(&tipose_fds[TIPOSE_SOCKET], fd, memory_order_release);
    }
    tipose_leave();
    errno = fd >= 0 ? saved : e;
    return fd;
}

int tipose_adopt_copy(int slot, int fd)
{
    int copy = tipose_dup_high(fd);
    if (copy >= 0)
        atomic_store_explicit(&tipose_fds[slot], copy, memory_order_release);
    return copy;
}

void tipose_release_slot(int slot)
{
    int fd = atomic_exchange(&tipose_fds[slot], -1);
    if (fd >= 0)
        tipose_close(fd);
}

ssize_t tipose_write_slot(int slot, const void *buf, size_t len)
{
    /* Sequentially consistent, Dekker-style with tipose_step_aside: either this
     * load sees the moved number, or the host's dup2 sees the flag and waits. */
    atomic_store(&tipose_using[slot], 1);
    int fd = atomic_load(&tipose_fds[slot]);
    ssize_t r = fd >= 0 ? write(fd, buf, len) : -1;
    if (atomic_exchange(&tipose_using[slot], 0) == 2)
        tipose_futex(&tipose_using[slot], FUTEX_WAKE_PRIVATE, 1 << 30);
    return r;
}

void tipose_release(void)
{
    tipose_release_slot(TIPOSE_SOCKET);
}

/* The host is about to put something at newfd, which is ours: move our socket out
 * of the way first, or, if no descriptor is free, let it go (the listener notices
 * and reconnects later). Either way the host's call then proceeds unchanged. */
static void tipose_step_aside(int slot, int newfd)
{
    int saved = errno;
    tipose_enter();
    int moved = tipose_dup_high(newfd);
    int expected = newfd;
    if (!atomic_compare_exchange_strong(&tipose_fds[slot], &expected, moved) && moved >= 0)
        tipose_close(moved); /* the owner let go meanwhile */
    /* A write that loaded the old number before the exchange must land before the
     * host's call puts its own file there. */
    int u;
    while ((u = atomic_load(&tipose_using[slot])) != 0) {
        if (u == 1 && !atomic_compare_exchange_strong(&tipose_using[slot], &u, 2))
            continue;
        tipose_futex(&tipose_using[slot], FUTEX_WAIT_PRIVATE, 2);
    }
    tipose_leave();
    errno = saved;
}

TIPOSE_EXPORT int close(int fd)
{
    /* Two compares on the fast path; with no fd of ours (-1), close(-1) is answered
     * here with exactly what libc would say. */
    if (__builtin_expect(fd == atomic_load_explicit(&tipose_fds[0], memory_order_relaxed) ||
                             fd == atomic_load_explicit(&tipose_fds[1], memory_order_relaxed),
                         0)) {
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

/* Ours within [first, last], in increasing order; returns how many. */
static int tipose_ours_in(unsigned first, unsigned last, unsigned out[TIPOSE_SLOTS])
{
    int n = 0;
    for (int i = 0; i < TIPOSE_SLOTS; i++) {
        int fd = atomic_load_explicit(&tipose_fds[i], memory_order_relaxed);
        if (fd >= 0 && (unsigned)fd >= first && (unsigned)fd <= last)
            out[n++] = (unsigned)fd;
    }
    if (n == 2 && out[0] > out[1]) {
        unsigned t = out[0];
        out[0] = out[1];
        out[1] = t;
    }
    return n;
}

TIPOSE_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    unsigned ours[TIPOSE_SLOTS];
    int n = tipose_ours_in(first, last, ours);
    if (__builtin_expect(n == 0, 1))
        return tipose_range(first, last, flags);
    /* The ranges around ours. The kernel validates flags and first <= last the
     * same way for each, so errors read as they would for the whole range. */
    int r = 0;
    unsigned lo = first;
    for (int i = 0; i < n && r == 0; i++) {
        if (ours[i] > lo)
            r = tipose_range(lo, ours[i] - 1, flags);
        lo = ours[i] + 1;
    }
    if (r == 0 && ours[n - 1] < last)
        r = tipose_range(lo, last, flags);
    return r;
}

TIPOSE_EXPORT void closefrom(int lowfd)
{
    unsigned low = lowfd < 0 ? 0u : (unsigned)lowfd, ours[TIPOSE_SLOTS];
    int n = tipose_ours_in(low, ~0u, ours);
    if (__builtin_expect(n == 0, 1) && tipose_lazy((void **)&tipose_closefrom, "closefrom")) {
        tipose_closefrom(lowfd);
        return;
    }
    int saved = errno;
    unsigned lo = low;
    for (int i = 0; i < n; i++) {
        if (ours[i] > lo)
            tipose_range(lo, ours[i] - 1, 0);
        lo = ours[i] + 1;
    }
    if (tipose_lazy((void **)&tipose_closefrom, "closefrom"))
        tipose_closefrom((int)lo);
    else
        tipose_range(lo, ~0u, 0);
    errno = saved; /* closefrom returns nothing and sets no errno */
}

TIPOSE_EXPORT int dup2(int oldfd, int newfd)
{
    int slot = newfd >= 0 ? tipose_slot_of(newfd) : -1;
    if (__builtin_expect(slot >= 0, 0)) {
        if (oldfd == newfd) {
            /* dup2(fd, fd) checks that fd is open; to the host, ours is not. */
            errno = EBADF;
            return -1;
        }
        tipose_step_aside(slot, newfd);
    }
    return tipose_dup2(oldfd, newfd);
}

TIPOSE_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    int slot = newfd >= 0 ? tipose_slot_of(newfd) : -1;
    if (__builtin_expect(slot >= 0 && oldfd != newfd, 0))
        tipose_step_aside(slot, newfd);
    tipose_lazy((void **)&tipose_dup3, "dup3");
    return tipose_dup3(oldfd, newfd, flags);
}
