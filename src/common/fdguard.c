/* fdguard.c: the shim's own descriptors: made where no fork splits the steps, kept high, guarded. */
/* SPDX-License-Identifier: MIT */
#include "fdguard.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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

#include "kernel.h"
#include "tshim.h"

#define TSHIM_FDGUARD_TOP 1024 /* highest fd we aim for: keeps the kernel's fd table small */

/* How the guard closes its own descriptors. The library hands it libc's close (its
 * own close() is an override that would refuse them); the command has no override,
 * and until told otherwise the system call does the same job. */
static int tshim_fdguard_sys_close(int fd)
{
    return (int)syscall(SYS_close, fd);
}

static int (*tshim_fdguard_close)(int) = tshim_fdguard_sys_close;

void tshim_fdguard_use_close(int (*real_close)(int))
{
    tshim_fdguard_close = real_close;
}

/* Likewise libc's pthread_sigmask: the library's own is an override that follows
 * the main thread's mask for the hooks, and must not take a moment with every
 * signal blocked, made here, for the host's. */
static int tshim_fdguard_plain_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    return pthread_sigmask(how, set, old);
}

/* A function of ours, not pthread_sigmask's address: that is a symbol lookup at
 * every load, where a call is bound only when made. */
static int (*tshim_fdguard_sigmask)(int, const sigset_t *, sigset_t *) = tshim_fdguard_plain_sigmask;

void tshim_fdguard_use_sigmask(int (*real_sigmask)(int, const sigset_t *, sigset_t *))
{
    tshim_fdguard_sigmask = real_sigmask;
}

void tshim_fdguard_block_signals(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    tshim_fdguard_sigmask(SIG_SETMASK, &all, old);
}

void tshim_fdguard_restore_signals(const sigset_t *old)
{
    tshim_fdguard_sigmask(SIG_SETMASK, old, NULL);
}

/* The shim's descriptors by slot (see fdguard.h), -1 where it holds none: then
 * close() is five loads, five compares and a tail call. */
_Static_assert(TSHIM_FDGUARD_SLOTS == 5, "tshim_fdguard_fds' initialiser and tshim_fdguard_is_ours "
                                         "name every slot");
_Atomic int tshim_fdguard_fds[TSHIM_FDGUARD_SLOTS] = {-1, -1, -1, -1, -1};

/* Futex words, one a slot: the number of calls on its descriptor in flight (see
 * tshim_fdguard_call), plus TSHIM_FDGUARD_WAITER while a thread waits for them to
 * end before it moves or closes the descriptor. A count, not a flag: log lines may
 * be written from more than one thread at once. */
#define TSHIM_FDGUARD_WAITER (1 << 30)
static _Atomic int tshim_fdguard_using[TSHIM_FDGUARD_SLOTS];

/* A fork must not copy a descriptor of ours that is not yet (or no longer) in
 * tshim_fdguard_fds: its child could not know to close it. So the few syscalls that create
 * or move one form a window that fork waits for, and that is not entered while a
 * fork is under way. Two futex words and no lock: nothing of ours can be held by a
 * thread that no longer exists in the child. */
static _Atomic int tshim_fdguard_busy;    /* the pid whose thread is inside the window, or 0 */
static _Atomic int tshim_fdguard_forking; /* forks under way in the process below */
static _Atomic int tshim_fdguard_forking_pid;
static _Atomic int tshim_fdguard_owner; /* the process that registered the descriptors */
/* Host calls that close 0, 1 or 2 (or a range from one of them) under way, and
 * host dup2 or dup3 calls under way. */
static _Atomic int tshim_fdguard_std_closing;
static _Atomic int tshim_fdguard_dupping;
/* The host's closes of 0, 1 or 2 begun so far, and how many there had been when
 * the shim last waited the full 100 ms: until the host begins another, what is
 * closed now is closed for good (a daemon started with 0, 1 and 2 closed would
 * otherwise pay the wait at every descriptor the shim makes), and a count left
 * up by a close that never returned (a handler's siglongjmp) is stale. */
static _Atomic unsigned tshim_fdguard_std_begun;
static _Atomic unsigned tshim_fdguard_std_given_up = ~0u;


/* Both words name a process, not just a state: a child of _Fork(), of a raw fork
 * or of clone() runs no atfork handler, and may copy them set by a thread that
 * does not exist in it. What another process set is no one's in this one. */
static int tshim_fdguard_pid(void)
{
    return (int)syscall(SYS_getpid);
}

static void tshim_fdguard_futex(_Atomic int *word, int op, int val)
{
    syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/* Set while this thread is inside fork(), between the prepare and the parent or
 * child handler: a signal handler that runs there and enters the window must not
 * wait for the fork it interrupted. Its thread cannot copy the process until the
 * handler has returned, so the window is safe for it to hold. */
static TSHIM_TLS int tshim_fdguard_forking_here;

/* Threads asleep on tshim_fdguard_busy: the one who leaves the window makes the
 * wake-up system call only when there is one (sequentially consistent, Dekker-
 * style: either the leaver sees the sleeper counted, or the sleeper's futex wait
 * finds the window open and returns at once). */
static _Atomic int tshim_fdguard_sleepers;

static void tshim_fdguard_sleep_busy(int pid)
{
    atomic_fetch_add(&tshim_fdguard_sleepers, 1);
    if (atomic_load(&tshim_fdguard_busy) == pid)
        tshim_fdguard_futex(&tshim_fdguard_busy, FUTEX_WAIT_PRIVATE, pid);
    atomic_fetch_sub(&tshim_fdguard_sleepers, 1);
}

static void tshim_fdguard_open_window(void)
{
    atomic_store(&tshim_fdguard_busy, 0);
    /* All of them: a fork, and host calls waiting to look at a number again. */
    if (atomic_load(&tshim_fdguard_sleepers))
        tshim_fdguard_futex(&tshim_fdguard_busy, FUTEX_WAKE_PRIVATE, 1 << 30);
}

static void tshim_fdguard_enter(void)
{
    int pid = tshim_fdguard_pid();
    for (;;) {
        while (atomic_exchange(&tshim_fdguard_busy, pid) == pid)
            tshim_fdguard_sleep_busy(pid);
        int forks = atomic_load(&tshim_fdguard_forking);
        if (forks == 0 || tshim_fdguard_forking_here ||
            atomic_load(&tshim_fdguard_forking_pid) != pid)
            return;
        tshim_fdguard_open_window();
        tshim_fdguard_futex(&tshim_fdguard_forking, FUTEX_WAIT_PRIVATE, forks);
    }
}

static void tshim_fdguard_leave(void)
{
    tshim_fdguard_open_window();
}

/* Until no thread is inside the window. */
static void tshim_fdguard_wait_window(void)
{
    int pid = tshim_fdguard_pid();
    while (atomic_load(&tshim_fdguard_busy) == pid)
        tshim_fdguard_sleep_busy(pid);
}

/* For callers on the host's threads, the window is entered with every signal
 * blocked: a handler that dup2()s onto one of our numbers would otherwise wait for
 * the window its own thread holds. The shim's own threads block every signal for
 * good, and pass NULL: no system call. */
void tshim_fdguard_window_enter(sigset_t *old)
{
    if (old)
        tshim_fdguard_block_signals(old);
    tshim_fdguard_enter();
}

void tshim_fdguard_window_leave(const sigset_t *old)
{
    tshim_fdguard_leave();
    if (old)
        tshim_fdguard_restore_signals(old);
}

void tshim_fdguard_fork_prepare(void)
{
    tshim_fdguard_forking_here = 1;
    atomic_store(&tshim_fdguard_forking_pid, tshim_fdguard_pid());
    atomic_fetch_add(&tshim_fdguard_forking, 1);
    tshim_fdguard_wait_window();
}

/* The count goes down before this thread stops counting as forking: a handler
 * that runs in between must find one or the other. */
void tshim_fdguard_fork_parent(void)
{
    atomic_fetch_sub(&tshim_fdguard_forking, 1);
    tshim_fdguard_futex(&tshim_fdguard_forking, FUTEX_WAKE_PRIVATE, 1 << 30);
    tshim_fdguard_forking_here = 0;
}

void tshim_fdguard_fork_child(void)
{
    /* The child has one thread: nobody is inside the window, nobody forks. */
    atomic_store(&tshim_fdguard_forking, 0);
    atomic_store(&tshim_fdguard_busy, 0);
    atomic_store(&tshim_fdguard_sleepers, 0);
    atomic_store(&tshim_fdguard_std_closing, 0);
    atomic_store(&tshim_fdguard_dupping, 0);
    tshim_fdguard_forking_here = 0;
    for (int i = 0; i < TSHIM_FDGUARD_SLOTS; i++) {
        atomic_store(&tshim_fdguard_using[i], 0);
        int fd = atomic_exchange(&tshim_fdguard_fds[i], -1);
        if (fd >= 0)
            tshim_fdguard_close(fd);
    }
}

int tshim_fdguard_get(int slot)
{
    return atomic_load_explicit(&tshim_fdguard_fds[slot], memory_order_acquire);
}

int tshim_fdguard_current(void)
{
    return tshim_fdguard_get(TSHIM_FDGUARD_SOCKET);
}

/* The slot holding fd, or -1 if fd is not ours. Relaxed: the caller only needs to
 * know whether the number is ours now; every change to a slot is made by the
 * thread that owns it, or under the window. */
int tshim_fdguard_here(void)
{
    return atomic_load(&tshim_fdguard_owner) == tshim_fdguard_pid();
}

int tshim_fdguard_slot_of(int fd)
{
    for (int i = 0; i < TSHIM_FDGUARD_SLOTS; i++)
        if (fd == atomic_load_explicit(&tshim_fdguard_fds[i], memory_order_relaxed))
            return tshim_fdguard_here() ? i : -1;
    return -1;
}

/* fcntl(2) by system call: the library overrides fcntl() for the host, and a
 * number of ours is not open to the host. */
static int tshim_fdguard_fcntl(int fd, int cmd, long arg)
{
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

/* A duplicate of fd as high as it will go below min(RLIMIT_NOFILE, 1024), where
 * hosts that pick their own numbers rarely look; -1 if there is no room at all. */
static int tshim_fdguard_dup_high(int fd)
{
    struct rlimit rl;
    long top = TSHIM_FDGUARD_TOP;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (long)rl.rlim_cur < top)
        top = (long)rl.rlim_cur;
    for (long below = 1; below <= top; below *= 4) {
        int n = tshim_fdguard_fcntl(fd, F_DUPFD_CLOEXEC, top - below > 3 ? top - below : 3);
        if (n >= 0)
            return n;
        if (errno != EMFILE && errno != EINVAL)
            break;
    }
    return tshim_fdguard_fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

void tshim_fdguard_std_close_begin(void)
{
    /* Sequentially consistent, Dekker-style with tshim_fdguard_enter_settled:
     * either this sees the window held and waits until it is over, or the thread
     * inside it sees the count and makes nothing there. */
    atomic_fetch_add(&tshim_fdguard_std_begun, 1);
    atomic_fetch_add(&tshim_fdguard_std_closing, 1);
    tshim_fdguard_wait_window();
}

void tshim_fdguard_std_close_end(void)
{
    atomic_fetch_sub(&tshim_fdguard_std_closing, 1);
}

/* 1 to make a descriptor now, 0 to wait; inside the window. */
static int tshim_fdguard_std_settled(int tries)
{
    unsigned begun = atomic_load(&tshim_fdguard_std_begun);
    if (begun == atomic_load(&tshim_fdguard_std_given_up))
        return 1;
    if (atomic_load(&tshim_fdguard_std_closing) == 0 && tshim_fdguard_fcntl(0, F_GETFD, 0) >= 0 &&
        tshim_fdguard_fcntl(1, F_GETFD, 0) >= 0 && tshim_fdguard_fcntl(2, F_GETFD, 0) >= 0)
        return 1;
    if (tries < 100)
        return 0;
    atomic_store(&tshim_fdguard_std_given_up, begun);
    return 1;
}

/* Enters the window once 0, 1 and 2 are open and no host close of one is under
 * way, looked at inside the window: a host's close of one then waits for the
 * window, so what the shim makes cannot take the number the host reopens next. A
 * program that keeps one closed for 100 ms is taken to keep it closed for good. */
static void tshim_fdguard_enter_settled(sigset_t *old)
{
    int saved = errno;
    /* With signals blocked, as on the host's threads (a log line's file): see
     * tshim_fdguard_window_enter. */
    tshim_fdguard_block_signals(old);
    for (int i = 0;; i++) {
        tshim_fdguard_enter();
        if (tshim_fdguard_std_settled(i))
            break;
        tshim_fdguard_leave();
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    errno = saved;
}

void tshim_fdguard_dup_begin(void)
{
    atomic_fetch_add(&tshim_fdguard_dupping, 1);
}

void tshim_fdguard_dup_end(void)
{
    atomic_fetch_sub(&tshim_fdguard_dupping, 1);
}

/* Sequentially consistent, Dekker-style with the host's dup2 (begin, then its look
 * at the numbers): once low is recorded, either the host's call sees it and waits,
 * or it was under way already and this waits until it is over (at most 100 ms: a
 * dup2 that closes a file may block), after which still_ours tells whether the
 * host's file took the number. */
static void tshim_fdguard_wait_dups(void)
{
    for (int i = 0; i < 1000 && atomic_load(&tshim_fdguard_dupping) != 0; i++) {
        struct timespec t = {0, 100000};
        nanosleep(&t, NULL);
    }
}

/* The low number the shim's last descriptor was made at: the host's dup2 that met
 * it in flight may look only after the shim has moved it and left the window. */
static _Atomic int tshim_fdguard_last_low = -1;
/* last_low after an open or socket of ours that failed: the kernel held a number
 * for it (which one cannot be known) until it returned. */
#define TSHIM_FDGUARD_FAILED (-2)

int tshim_fdguard_wait_making(int newfd)
{
    int pid = tshim_fdguard_pid(), saved = errno, expect = newfd, failed = TSHIM_FDGUARD_FAILED;
    if (atomic_load(&tshim_fdguard_busy) != pid)
        return atomic_compare_exchange_strong(&tshim_fdguard_last_low, &expect, -1) ||
               atomic_compare_exchange_strong(&tshim_fdguard_last_low, &failed, -1);
    tshim_fdguard_wait_window();
    errno = saved;
    return 1;
}

/* Inside the window, just after a descriptor of ours was made at low, the lowest
 * free number: until it is recorded, a host thread closing numbers it does not own
 * (a daemon's close-everything loop) could close it, and even reuse the number.
 * So it is recorded at once, checked to be still ours, moved high into slot, and
 * only then is the low number closed: a host's close of it meanwhile is refused or
 * waits (see tshim_fdguard_wait_moving), so nothing of the host's is ever closed.
 * Returns the fd, or -1 with errno. */
static int tshim_fdguard_move_high(int slot, int low, int (*still_ours)(int fd, const void *arg),
                                   const void *arg)
{
    /* This process's from the first instant: a host's close of the number asks. */
    atomic_store(&tshim_fdguard_owner, tshim_fdguard_pid());
    atomic_store(&tshim_fdguard_fds[TSHIM_FDGUARD_LOW], low);
    atomic_store(&tshim_fdguard_last_low, low);
    tshim_fdguard_wait_dups();
    if (!still_ours(low, arg)) {
        /* The host closed it before it was recorded: it is not ours to touch. */
        atomic_store(&tshim_fdguard_fds[TSHIM_FDGUARD_LOW], -1);
        errno = EBADF;
        return -1;
    }
    int high = tshim_fdguard_dup_high(low), e = errno;
    if (high < 0 && e == EBADF) {
        /* A host's range closed it after all: the number may be the host's now. */
        atomic_store(&tshim_fdguard_fds[TSHIM_FDGUARD_LOW], -1);
        errno = e;
        return -1;
    }
    if (high < 0 && e != EMFILE) {
        tshim_fdguard_close(low);
        atomic_store(&tshim_fdguard_fds[TSHIM_FDGUARD_LOW], -1);
        errno = e;
        return -1;
    }
    if (high < 0) {
        /* No free number above it (the host is at its limit): it stays low. */
        atomic_store(&tshim_fdguard_owner, tshim_fdguard_pid());
        atomic_store(&tshim_fdguard_fds[slot], low);
        atomic_store(&tshim_fdguard_fds[TSHIM_FDGUARD_LOW], -1);
        return low;
    }
    atomic_store(&tshim_fdguard_owner, tshim_fdguard_pid());
    atomic_store(&tshim_fdguard_fds[slot], high);
    tshim_fdguard_close(low);
    atomic_store(&tshim_fdguard_fds[TSHIM_FDGUARD_LOW], -1);
    return high;
}

/* A netlink socket of the protocol asked for, not yet bound (the kernel binds it
 * at its first send): what socket(2) just gave us. */
static int tshim_fdguard_fresh_netlink(int fd, int protocol)
{
    int v = 0;
    socklen_t len = sizeof v;
    struct sockaddr_nl a;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 || v != AF_NETLINK)
        return 0;
    len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) != 0 || v != protocol)
        return 0;
    len = sizeof a;
    memset(&a, 0, sizeof a);
    return getsockname(fd, (struct sockaddr *)&a, &len) == 0 && a.nl_pid == 0;
}

/* A socket that nobody has bound or connected yet: what socket(2) just gave us.
 * arg points to the {domain, protocol} asked for. */
static int tshim_fdguard_fresh_socket(int fd, const void *arg)
{
    const int *asked = arg;
    if (asked[0] == AF_NETLINK)
        return tshim_fdguard_fresh_netlink(fd, asked[1]);
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
static int tshim_fdguard_same_file(int fd, const void *arg)
{
    const struct stat *want = arg;
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

int tshim_fdguard_socket(int slot, int domain, int type, int protocol)
{
    int saved = errno, e = 0, asked[2] = {domain, protocol};
    sigset_t old;
    tshim_fdguard_enter_settled(&old);
    int fd = socket(domain, type, protocol);
    if (fd < 0)
        atomic_store(&tshim_fdguard_last_low, TSHIM_FDGUARD_FAILED);
    if (fd < 0 || (fd = tshim_fdguard_move_high(slot, fd, tshim_fdguard_fresh_socket, asked)) < 0)
        e = errno;
    tshim_fdguard_window_leave(&old);
    errno = fd >= 0 ? saved : e;
    return fd;
}

/* The file at path, as it is before the open: what the descriptor that open(2)
 * returns is checked against. With O_CREAT a missing file is made first, by mknod,
 * which needs no descriptor. */
static int tshim_fdguard_stat_for_open(const char *path, int flags, mode_t mode, struct stat *want)
{
    if (stat(path, want) == 0)
        return 0;
    if (errno != ENOENT || !(flags & O_CREAT))
        return -1;
    if (mknod(path, S_IFREG | (mode & 07777), 0) != 0 && errno != EEXIST)
        return -1;
    return stat(path, want);
}

int tshim_fdguard_open(int slot, const char *path, int flags, mode_t mode)
{
    int saved = errno, e = 0;
    struct stat want;
    if (tshim_fdguard_stat_for_open(path, flags, mode, &want) != 0)
        return -1;
    sigset_t old;
    tshim_fdguard_enter_settled(&old);
    /* Two threads may open the same slot (log lines): the second keeps the first's. */
    int fd = atomic_load(&tshim_fdguard_fds[slot]);
    if (fd < 0) {
        fd = open(path, flags | O_CLOEXEC, mode);
        if (fd < 0) /* a file of /proc gone between the stat and the open */
            atomic_store(&tshim_fdguard_last_low, TSHIM_FDGUARD_FAILED);
        if (fd < 0 || (fd = tshim_fdguard_move_high(slot, fd, tshim_fdguard_same_file, &want)) < 0)
            e = errno;
    }
    tshim_fdguard_window_leave(&old);
    errno = fd >= 0 ? saved : e;
    return fd;
}

/* One call on the descriptor in slot. Sequentially consistent, Dekker-style with
 * tshim_fdguard_wait_calls: either the load below sees the number the descriptor
 * moved to, or the mover sees the count and waits until the call is over, so the
 * call never lands in a file the host put at the old number. */
ssize_t tshim_fdguard_call(int slot, tshim_fdguard_fn fn, void *arg)
{
    atomic_fetch_add(&tshim_fdguard_using[slot], 1);
    int fd = atomic_load(&tshim_fdguard_fds[slot]);
    ssize_t r = -1;
    if (fd >= 0)
        r = fn(fd, arg);
    else
        errno = EBADF;
    int e = errno;
    /* The call that brings the count to zero clears the waiter bit in the same
     * step, and wakes the waiter if the bit was set: the bit is only ever set
     * while calls are in flight, so a later waiter never sleeps on a stale one. */
    int u = atomic_load(&tshim_fdguard_using[slot]), next;
    do
        next = (u & ~TSHIM_FDGUARD_WAITER) == 1 ? 0 : u - 1;
    while (!atomic_compare_exchange_weak(&tshim_fdguard_using[slot], &u, next));
    if (u == (1 | TSHIM_FDGUARD_WAITER))
        tshim_fdguard_futex(&tshim_fdguard_using[slot], FUTEX_WAKE_PRIVATE, 1 << 30);
    errno = e;
    return r;
}

/* Until no call on slot's descriptor is in flight. Inside the window, so there is
 * one waiter at a time; a call that starts meanwhile sees the slot as it is now. */
static void tshim_fdguard_wait_calls(int slot)
{
    int u;
    while (((u = atomic_load(&tshim_fdguard_using[slot])) & ~TSHIM_FDGUARD_WAITER) != 0) {
        if (!(u & TSHIM_FDGUARD_WAITER) &&
            !atomic_compare_exchange_strong(&tshim_fdguard_using[slot], &u,
                                            u | TSHIM_FDGUARD_WAITER))
            continue;
        tshim_fdguard_futex(&tshim_fdguard_using[slot], FUTEX_WAIT_PRIVATE,
                            u | TSHIM_FDGUARD_WAITER);
    }
}

int tshim_fdguard_adopt_copy(int slot, int fd)
{
    int copy = tshim_fdguard_dup_high(fd);
    if (copy < 0)
        return -1;
    atomic_store(&tshim_fdguard_owner, tshim_fdguard_pid());
    int old = atomic_exchange(&tshim_fdguard_fds[slot], copy);
    if (old >= 0) {
        tshim_fdguard_wait_calls(slot);
        tshim_fdguard_close(old);
    }
    return copy;
}

/* The buffer of a read, write or getdents64 made through tshim_fdguard_call. */
struct tshim_fdguard_buf {
    void *buf;
    size_t len;
};

static ssize_t tshim_fdguard_do_read(int fd, void *arg)
{
    struct tshim_fdguard_buf *b = arg;
    return read(fd, b->buf, b->len);
}

static ssize_t tshim_fdguard_do_write(int fd, void *arg)
{
    struct tshim_fdguard_buf *b = arg;
    return write(fd, b->buf, b->len);
}

static ssize_t tshim_fdguard_do_getdents(int fd, void *arg)
{
    struct tshim_fdguard_buf *b = arg;
    return syscall(SYS_getdents64, fd, b->buf, b->len);
}

ssize_t tshim_fdguard_write_slot(int slot, const void *buf, size_t len)
{
    struct tshim_fdguard_buf b = {(void *)(uintptr_t)buf, len};
    return tshim_fdguard_call(slot, tshim_fdguard_do_write, &b);
}

ssize_t tshim_fdguard_read_slot(int slot, void *buf, size_t len)
{
    struct tshim_fdguard_buf b = {buf, len};
    return tshim_fdguard_call(slot, tshim_fdguard_do_read, &b);
}

ssize_t tshim_fdguard_getdents_slot(int slot, void *buf, size_t len)
{
    struct tshim_fdguard_buf b = {buf, len};
    return tshim_fdguard_call(slot, tshim_fdguard_do_getdents, &b);
}

void tshim_fdguard_release_slot(int slot)
{
    tshim_fdguard_enter();
    /* Calls that start from here on find no descriptor; one that had loaded the
     * number already (another thread's log line) must be over before the number is
     * free for the host to reuse. Meanwhile it is held as the low slot, so that a
     * host's close of it still waits for the window. */
    int fd = atomic_load(&tshim_fdguard_fds[slot]);
    atomic_store(&tshim_fdguard_fds[TSHIM_FDGUARD_LOW], fd);
    atomic_store(&tshim_fdguard_fds[slot], -1);
    tshim_fdguard_wait_calls(slot);
    if (fd >= 0)
        tshim_fdguard_close(fd);
    atomic_store(&tshim_fdguard_fds[TSHIM_FDGUARD_LOW], -1);
    tshim_fdguard_leave();
}

static ssize_t tshim_fdguard_read_file_once(int slot, const char *path, char *buf, size_t size)
{
    size_t have = 0;
    ssize_t r = 0;
    buf[0] = '\0';
    if (tshim_fdguard_open(slot, path, O_RDONLY, 0) < 0)
        return -1;
    while (have < size - 1 && (r = tshim_fdguard_read_slot(slot, buf + have, size - 1 - have)) > 0)
        have += (size_t)r;
    int e = errno;
    tshim_fdguard_release_slot(slot);
    buf[have] = '\0';
    if (r < 0 && have == 0) {
        errno = e;
        return -1;
    }
    return (ssize_t)have;
}

/* EBADF says that a host's close (a range, say) took the descriptor as it was
 * made: that is no answer about the file, so it is read again. */
ssize_t tshim_fdguard_read_file(int slot, const char *path, char *buf, size_t size)
{
    ssize_t r = -1;
    for (int tries = 0; tries < 3 && r < 0; tries++)
        if ((r = tshim_fdguard_read_file_once(slot, path, buf, size)) < 0 && errno != EBADF)
            break;
    return r;
}

void tshim_fdguard_release(void)
{
    tshim_fdguard_release_slot(TSHIM_FDGUARD_SOCKET);
}

/* The host is about to put something at newfd, which is ours: move our socket out
 * of the way first, or, if no descriptor is free, let it go (the listener notices
 * and reconnects later). Either way the host's call then proceeds unchanged. */
void tshim_fdguard_step_aside(int slot, int newfd, struct tshim_fdguard_aside *was)
{
    int saved = errno;
    sigset_t old;
    struct stat st;
    was->known = 0;
    /* A host thread, whose signal handler may dup2 onto our number too: the window
     * is held with signals blocked, so no handler waits for its own thread. */
    tshim_fdguard_window_enter(&old);
    if (atomic_load(&tshim_fdguard_fds[slot]) != newfd) {
        /* Let go or moved while this thread waited for the window. */
        tshim_fdguard_window_leave(&old);
        errno = saved;
        return;
    }
    if (fstat(newfd, &st) == 0)
        *was = (struct tshim_fdguard_aside){1, st.st_dev, st.st_ino};
    int moved = tshim_fdguard_dup_high(newfd);
    int expected = newfd;
    if (!atomic_compare_exchange_strong(&tshim_fdguard_fds[slot], &expected, moved) && moved >= 0)
        tshim_fdguard_close(moved); /* the owner let go meanwhile */
    /* A call that loaded the old number before the exchange must be over before
     * the host's call puts its own file there. */
    tshim_fdguard_wait_calls(slot);
    tshim_fdguard_window_leave(&old);
    errno = saved;
}

/* Inside the window, so that no fork copies the leftover between the look and the
 * close. Another host thread may have put a file of its own at newfd meanwhile:
 * only the very file that was ours is closed. */
void tshim_fdguard_drop_left(int newfd, const struct tshim_fdguard_aside *was)
{
    int saved = errno;
    sigset_t old;
    struct stat st;
    if (!was->known)
        return;
    tshim_fdguard_window_enter(&old);
    if (tshim_fdguard_slot_of(newfd) < 0 && fstat(newfd, &st) == 0 && st.st_dev == was->dev &&
        st.st_ino == was->ino)
        tshim_fdguard_close(newfd);
    tshim_fdguard_window_leave(&old);
    errno = saved;
}

/* Ours within [first, last], in increasing order; returns how many. */
int tshim_fdguard_ours_in(unsigned first, unsigned last, unsigned out[TSHIM_FDGUARD_SLOTS])
{
    int n = 0;
    for (int i = 0; i < TSHIM_FDGUARD_SLOTS; i++) {
        int fd = atomic_load_explicit(&tshim_fdguard_fds[i], memory_order_relaxed);
        if (fd >= 0 && (unsigned)fd >= first && (unsigned)fd <= last)
            out[n++] = (unsigned)fd;
    }
    for (int i = 1; i < n; i++) /* insertion sort: at most five */
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            unsigned t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

int tshim_fdguard_holds_any(void)
{
    for (int i = 0; i < TSHIM_FDGUARD_SLOTS; i++)
        if (atomic_load(&tshim_fdguard_fds[i]) >= 0)
            return tshim_fdguard_here();
    return 0;
}

int tshim_fdguard_wait_moving(int fd)
{
    if (fd < 0 || atomic_load(&tshim_fdguard_busy) != tshim_fdguard_pid())
        return 0;
    int saved = errno;
    tshim_fdguard_wait_window();
    errno = saved;
    return 1;
}
