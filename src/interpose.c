/* interpose.c: libc overrides that keep a host from closing, or dup'ing over, the shim's own fds. */
#include "interpose.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* The shim's descriptors by slot (see interpose.h), -1 where it holds none: then
 * close() is four loads, four compares and a tail call. */
_Static_assert(TIPOSE_SLOTS == 4, "tipose_fds' initialiser names every slot");
static _Atomic int tipose_fds[TIPOSE_SLOTS] = {-1, -1, -1, -1};

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
    /* All of them: a fork, and host calls waiting to look at a number again. */
    tipose_futex(&tipose_busy, FUTEX_WAKE_PRIVATE, 1 << 30);
}

/* Until no thread is inside the window. */
static void tipose_wait_window(void)
{
    while (atomic_load(&tipose_busy))
        tipose_futex(&tipose_busy, FUTEX_WAIT_PRIVATE, 1);
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
        int fd = atomic_exchange(&tipose_fds[i], -1);
        if (fd >= 0)
            tipose_close(fd);
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

/* Whether fd is ours, for the wrappers' fast path: written out, so that it compiles
 * to four loads and compares with no loop and no stack frame. */
static inline int tipose_is_ours(int fd)
{
#define TIPOSE_AT(i) atomic_load_explicit(&tipose_fds[i], memory_order_relaxed)
    return (fd == TIPOSE_AT(0)) | (fd == TIPOSE_AT(1)) | (fd == TIPOSE_AT(2)) | (fd == TIPOSE_AT(3));
#undef TIPOSE_AT
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

/* Inside the window, just after a descriptor of ours was made at low, the lowest
 * free number: until it is recorded, a host thread closing numbers it does not own
 * (a daemon's close-everything loop) could close it, and even reuse the number.
 * So it is recorded at once, checked to be still ours, moved high into slot, and
 * only then is the low number closed: a host's close of it meanwhile is refused or
 * waits (see close()), so nothing of the host's is ever closed. Returns the fd, or
 * -1 with errno. */
static int tipose_move_high(int slot, int low, int (*still_ours)(int fd, const void *arg),
                            const void *arg)
{
    atomic_store(&tipose_fds[TIPOSE_LOW], low);
    if (!still_ours(low, arg)) {
        /* The host closed it before it was recorded: it is not ours to touch. */
        atomic_store(&tipose_fds[TIPOSE_LOW], -1);
        errno = EBADF;
        return -1;
    }
    int high = tipose_dup_high(low), e = errno;
    if (high < 0 && e == EBADF) {
        /* A host's range closed it after all: the number may be the host's now. */
        atomic_store(&tipose_fds[TIPOSE_LOW], -1);
        errno = e;
        return -1;
    }
    if (high < 0 && e != EMFILE) {
        tipose_close(low);
        atomic_store(&tipose_fds[TIPOSE_LOW], -1);
        errno = e;
        return -1;
    }
    if (high < 0) {
        /* No free number above it (the host is at its limit): it stays low. */
        atomic_store(&tipose_fds[slot], low);
        atomic_store(&tipose_fds[TIPOSE_LOW], -1);
        return low;
    }
    atomic_store(&tipose_fds[slot], high);
    tipose_close(low);
    atomic_store(&tipose_fds[TIPOSE_LOW], -1);
    return high;
}

/* A socket that nobody has bound or connected yet: what socket(2) just gave us. */
static int tipose_fresh_socket(int fd, const void *arg)
{
    (void)arg;
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    /* ENOTCONN, not ENOTSOCK or EBADF: a socket, and not connected. */
    if (getpeername(fd, (struct sockaddr *)&a, &len) == 0 || errno != ENOTCONN)
        return 0;
    len = sizeof a;
    memset(&a, 0, sizeof a);
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return 0;
    /* Unbound: port 0 for both families (the port sits at the same offset). */
    return ((struct sockaddr_in *)&a)->sin_port == 0;
}

/* The file that open(2) was asked for, by device and inode. */
static int tipose_same_file(int fd, const void *arg)
{
    const struct stat *want = arg;
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

int tipose_socket(int domain, int type, int protocol)
{
    int saved = errno, e = 0;
    tipose_settle();
    tipose_enter();
    int fd = socket(domain, type, protocol);
    if (fd < 0 || (fd = tipose_move_high(TIPOSE_SOCKET, fd, tipose_fresh_socket, NULL)) < 0)
        e = errno;
    tipose_leave();
    errno = fd >= 0 ? saved : e;
    return fd;
}

int tipose_open(int slot, const char *path)
{
    int saved = errno, e = 0;
    struct stat want;
    if (stat(path, &want) != 0)
        return -1;
    tipose_settle();
    tipose_enter();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (fd = tipose_move_high(slot, fd, tipose_same_file, &want)) < 0)
        e = errno;
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
    tipose_enter();
    int fd = atomic_load(&tipose_fds[slot]);
    if (fd >= 0)
        tipose_close(fd);
    atomic_store(&tipose_fds[slot], -1);
    tipose_leave();
}

/* One read or write on the descriptor in slot, by the one thread that owns the
 * slot. Sequentially consistent, Dekker-style with tipose_step_aside: either the
 * load below sees the moved number, or the host's dup2 sees the flag and waits
 * until the call is over, so the call never lands in the host's file. */
static ssize_t tipose_io_slot(int slot, void *buf, size_t len, int writing)
{
    atomic_store(&tipose_using[slot], 1);
    int fd = atomic_load(&tipose_fds[slot]);
    ssize_t r = fd < 0 ? -1 : writing ? write(fd, buf, len) : read(fd, buf, len);
    if (fd < 0)
        errno = EBADF;
    int e = errno;
    if (atomic_exchange(&tipose_using[slot], 0) == 2)
        tipose_futex(&tipose_using[slot], FUTEX_WAKE_PRIVATE, 1 << 30);
    errno = e;
    return r;
}

ssize_t tipose_write_slot(int slot, const void *buf, size_t len)
{
    return tipose_io_slot(slot, (void *)(uintptr_t)buf, len, 1);
}

ssize_t tipose_read_slot(int slot, void *buf, size_t len)
{
    return tipose_io_slot(slot, buf, len, 0);
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
    if (atomic_load(&tipose_fds[slot]) != newfd) {
        /* Let go or moved while this thread waited for the window. */
        tipose_leave();
        errno = saved;
        return;
    }
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

/* close() of a number that is ours, off the fast path. */
__attribute__((noinline, cold)) static int tipose_close_ours(int fd)
{
    if (fd >= 0 && atomic_load(&tipose_busy)) {
        /* A number of ours that is being made, moved or let go: that is settled
         * inside the window, so look again once it is over. */
        int saved = errno;
        tipose_wait_window();
        errno = saved;
        return close(fd);
    }
    /* What close() says of a descriptor that is not open. */
    errno = EBADF;
    return -1;
}

TIPOSE_EXPORT int close(int fd)
{
    /* Four compares on the fast path; with no fd of ours (-1), close(-1) is answered
     * here with exactly what libc would say. */
    if (__builtin_expect(tipose_is_ours(fd), 0))
        return tipose_close_ours(fd);
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
    for (int i = 1; i < n; i++) /* insertion sort: at most four */
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            unsigned t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

/* close_range and closefrom are rare, and a range can hold a descriptor of ours
 * that is being moved: while the shim holds any, they run inside the window, so
 * that what they skip is what is ours. With none (always so when inert) they go
 * straight to libc: no cost, and nothing to wait for in a child forked while
 * another thread was in the window (only an active shim's fork handlers clear it).
 * A descriptor the shim makes meanwhile is checked by tipose_move_high. */
static int tipose_holds_any(void)
{
    for (int i = 0; i < TIPOSE_SLOTS; i++)
        if (atomic_load(&tipose_fds[i]) >= 0)
            return 1;
    return 0;
}

static int tipose_close_range_in(unsigned first, unsigned last, int flags)
{
    unsigned ours[TIPOSE_SLOTS];
    int n = tipose_ours_in(first, last, ours);
    if (n == 0)
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

TIPOSE_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    sigset_t old;
    tipose_lazy((void **)&tipose_close_range, "close_range");
    if (!tipose_holds_any())
        return tipose_range(first, last, flags);
    tipose_window_enter(&old);
    int r = tipose_close_range_in(first, last, flags), e = errno;
    tipose_window_leave(&old);
    errno = e;
    return r;
}

static void tipose_closefrom_in(int lowfd)
{
    unsigned low = lowfd < 0 ? 0u : (unsigned)lowfd, ours[TIPOSE_SLOTS];
    int n = tipose_ours_in(low, ~0u, ours);
    if (n == 0 && tipose_closefrom) {
        tipose_closefrom(lowfd);
        return;
    }
    unsigned lo = low;
    for (int i = 0; i < n; i++) {
        if (ours[i] > lo)
            tipose_range(lo, ours[i] - 1, 0);
        lo = ours[i] + 1;
    }
    if (tipose_closefrom)
        tipose_closefrom((int)lo);
    else
        tipose_range(lo, ~0u, 0);
}

TIPOSE_EXPORT void closefrom(int lowfd)
{
    int saved = errno;
    sigset_t old;
    tipose_lazy((void **)&tipose_closefrom, "closefrom");
    tipose_lazy((void **)&tipose_close_range, "close_range"); /* no dlsym inside the window */
    if (!tipose_holds_any()) {
        tipose_closefrom_in(lowfd);
        errno = saved;
        return;
    }
    tipose_window_enter(&old);
    tipose_closefrom_in(lowfd);
    tipose_window_leave(&old);
    errno = saved; /* closefrom returns nothing and sets no errno */
}

static int tipose_dup2_ours(int oldfd, int newfd);

TIPOSE_EXPORT int dup2(int oldfd, int newfd)
{
    if (__builtin_expect(newfd >= 0 && tipose_is_ours(newfd), 0))
        return tipose_dup2_ours(oldfd, newfd);
    return tipose_dup2(oldfd, newfd);
}

/* dup2() onto a number that is ours, off the fast path. */
__attribute__((noinline, cold)) static int tipose_dup2_ours(int oldfd, int newfd)
{
    int slot = tipose_slot_of(newfd);
    if (slot >= 0) {
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
