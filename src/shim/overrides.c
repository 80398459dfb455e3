/* overrides.c: every libc function the library overrides, each a thin layer over a guard. */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fdguard.h"
#include "common/kernel.h"
#include "common/proc.h"
#include "dispatch.h"
#include "export.h"
#include "fork.h"
#include "guard.h"
#include "reaper.h"
#include "real.h"
#include "role.h"
#include "threads.h"

/* ---- close, close_range, closefrom, dup2, dup3: the shim's descriptors are not the host's */

/* close() of a number that is ours, off the fast path. */
__attribute__((noinline, cold)) static int tshim_overrides_close_ours(int fd)
{
    /* In a child of a raw fork or clone the number is the child's copy: its own. */
    if (!tshim_fdguard_here())
        return tshim_real.close(fd);
    /* A number being made, moved or let go is settled inside the window: look again
     * once it is over. */
    if (tshim_fdguard_wait_moving(fd))
        return close(fd);
    /* What close() says of a descriptor that is not open. */
    errno = EBADF;
    return -1;
}

/* A number of ours, to the host, is not open. 1 (with errno EBADF) if fd is the
 * shim's in this process; 0 if it is not, or no longer once a move is over. */
static int tshim_overrides_hidden(int fd)
{
    while (tshim_fdguard_slot_of(fd) >= 0)
        if (!tshim_fdguard_wait_moving(fd)) {
            errno = EBADF;
            return 1;
        }
    return 0;
}

/* Ends the count of a close() of 0, 1 or 2, also when its thread is cancelled
 * inside the call (close is a cancellation point). */
static void tshim_overrides_std_close_end(void *arg)
{
    (void)arg;
    tshim_fdguard_std_close_end();
}

/* close() of 0, 1 or 2 while the shim's threads run: a daemon about to reopen it
 * counts on getting that number back, so nothing of the shim's is made at a low
 * number until the close is over, and from then on only once all three are open
 * again (see tshim_fdguard_std_close_begin). */
__attribute__((noinline, cold)) static int tshim_overrides_close_std(int fd)
{
    if (tshim_threads_count() == 0)
        return tshim_real.close(fd);
    int saved = errno, r, e;
    tshim_fdguard_std_close_begin();
    errno = saved;
    pthread_cleanup_push(tshim_overrides_std_close_end, NULL);
    r = tshim_real.close(fd);
    e = errno;
    pthread_cleanup_pop(1);
    errno = e;
    return r;
}

TSHIM_EXPORT int close(int fd)
{
    /* Five compares on the fast path; with no fd of ours (-1), close(-1) is answered
     * here with exactly what libc would say. */
    if (__builtin_expect(tshim_fdguard_is_ours(fd), 0))
        return tshim_overrides_close_ours(fd);
    if (__builtin_expect((unsigned)fd < 3, 0))
        return tshim_overrides_close_std(fd);
    return tshim_real.close(fd);
}

/* The ranges around ours. The kernel validates flags and first <= last the same
 * way for each, so errors read as they would for the whole range. */
static int tshim_overrides_close_range_in(unsigned first, unsigned last, int flags)
{
    unsigned ours[TSHIM_FDGUARD_SLOTS];
    int n = tshim_fdguard_ours_in(first, last, ours);
    if (n == 0)
        return tshim_real.close_range(first, last, flags);
    int r = 0;
    unsigned lo = first;
    for (int i = 0; i < n && r == 0; i++) {
        if (ours[i] > lo)
            r = tshim_real.close_range(lo, ours[i] - 1, flags);
        lo = ours[i] + 1;
    }
    if (r == 0 && ours[n - 1] < last)
        r = tshim_real.close_range(lo, last, flags);
    return r;
}

/* glibc 2.34 and later declare these two; musl has neither, so that its programs
 * can only reach the shim's (which end in the system call), through dlsym. */
TSHIM_EXPORT int close_range(unsigned first, unsigned last, int flags);
TSHIM_EXPORT void closefrom(int lowfd);

/* CLOSE_RANGE_UNSHARE first gives the calling thread a table of its own, a copy,
 * and closes in that. The shim's threads share the table too, so with the flag
 * what a host alone in its table closes would live on in the table they keep (a
 * pipe's write end, whose reader then never sees the end). So when the host has no
 * thread but the caller, the flag goes and the range is closed in the shared
 * table: what the host gets without the shim, where unsharing a table that has one
 * user changes nothing. A host with threads of its own asked for a copy, and libc
 * makes it: ours in the copy may be closed, which is harmless, as the shim's
 * threads go on with the shared table. The count is read inside the window, so
 * that no fork copies its descriptor. */
static int tshim_overrides_close_range_unshare(unsigned first, unsigned last, int flags)
{
    sigset_t old;
    tshim_fdguard_window_enter(&old);
    int all = tshim_proc_threads();
    if (all < 0 || all - tshim_threads_count() > 1) {
        tshim_fdguard_window_leave(&old);
        return tshim_real.close_range(first, last, flags);
    }
    int r = tshim_overrides_close_range_in(first, last, flags & ~(int)CLOSE_RANGE_UNSHARE);
    int e = errno;
    tshim_fdguard_window_leave(&old);
    errno = e;
    return r;
}

/* close_range and closefrom are rare, and a range can hold a descriptor of ours
 * that is being moved: while the shim holds any, they run inside the window, so
 * that what they skip is what is ours. With none (always so when inert) they go
 * straight to libc: no cost, and nothing to wait for in a child forked while
 * another thread was in the window (only an active shim's fork handlers clear it).
 * A descriptor the shim makes meanwhile is checked as it is made. */
static int tshim_overrides_close_range_any(unsigned first, unsigned last, int flags)
{
    sigset_t old;
    /* What the kernel refuses, refused the same way before any range is split: a
     * range that is all ours would otherwise make no call at all. */
    if (first > last || (flags & ~(int)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))) {
        errno = EINVAL;
        return -1;
    }
    /* Our threads run in the process that started them: a child of clone() that
     * shares this table (CLONE_FILES) has none of them, and asks for a copy. */
    if ((flags & (int)CLOSE_RANGE_UNSHARE) && tshim_threads_count_here() > 0)
        return tshim_overrides_close_range_unshare(first, last, flags);
    if (!tshim_fdguard_holds_any())
        return tshim_real.close_range(first, last, flags);
    tshim_fdguard_window_enter(&old);
    int r = tshim_overrides_close_range_in(first, last, flags), e = errno;
    tshim_fdguard_window_leave(&old);
    errno = e;
    return r;
}

/* A range from 0, 1 or 2 is a close of a standard number, as for close(). */
TSHIM_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    if (first > 2 || tshim_threads_count() == 0)
        return tshim_overrides_close_range_any(first, last, flags);
    int saved = errno;
    tshim_fdguard_std_close_begin();
    errno = saved;
    int r = tshim_overrides_close_range_any(first, last, flags), e = errno;
    tshim_fdguard_std_close_end();
    errno = e;
    return r;
}

/* Closes [lo, hi], a range below one of ours. A kernel before 5.9 has no
 * close_range (glibc 2.34 and later call it all the same, and say ENOSYS): then
 * one descriptor at a time, as glibc's own closefrom falls back to doing. The
 * range ends below our number, itself below 1024 or the descriptor limit, so the
 * loop is bounded. */
static void tshim_overrides_close_below(unsigned lo, unsigned hi)
{
    if (tshim_real.close_range(lo, hi, 0) == 0 || errno != ENOSYS)
        return;
    for (unsigned fd = lo; fd <= hi; fd++)
        tshim_real.close((int)fd);
}

static void tshim_overrides_closefrom_in(int lowfd)
{
    unsigned low = lowfd < 0 ? 0u : (unsigned)lowfd, ours[TSHIM_FDGUARD_SLOTS];
    int n = tshim_fdguard_ours_in(low, ~0u, ours);
    if (n == 0) {
        tshim_real.closefrom(lowfd);
        return;
    }
    unsigned lo = low;
    for (int i = 0; i < n; i++) {
        if (ours[i] > lo)
            tshim_overrides_close_below(lo, ours[i] - 1);
        lo = ours[i] + 1;
    }
    tshim_real.closefrom((int)lo);
}

TSHIM_EXPORT void closefrom(int lowfd)
{
    int saved = errno;
    sigset_t old;
    int std = lowfd <= 2 && tshim_threads_count() > 0;
    if (std)
        tshim_fdguard_std_close_begin();
    if (!tshim_fdguard_holds_any()) {
        tshim_real.closefrom(lowfd);
    } else {
        tshim_fdguard_window_enter(&old);
        tshim_overrides_closefrom_in(lowfd);
        tshim_fdguard_window_leave(&old);
    }
    if (std)
        tshim_fdguard_std_close_end();
    errno = saved; /* closefrom returns nothing and sets no errno */
}

/* dup2's and dup3's arguments, as the overrides pass them on. */
struct tshim_overrides_dup {
    int oldfd, newfd, flags;
    int three; /* dup3 (with flags), not dup2 */
};

/* What the kernel says of the call before it changes anything: 0 if it can go
 * ahead, else -1 with its errno, in the kernel's order. Onto a number of ours this
 * is checked first, so that a call bound to fail leaves the shim where it was. */
static int tshim_overrides_dup_check(const struct tshim_overrides_dup *d)
{
    int oldfd = d->oldfd;
    if (d->three && (d->flags & ~O_CLOEXEC) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (d->three && oldfd == d->newfd) {
        errno = EINVAL;
        return -1;
    }
    /* A number of ours is no open descriptor to the host, unless it was being made
     * or moved: then look again once that is over. */
    if (tshim_overrides_hidden(oldfd))
        return -1;
    if (tshim_real.fcntl(oldfd, F_GETFD) < 0) {
        errno = EBADF;
        return -1;
    }
    return 0;
}

/* What tshim_overrides_dup_call returns, without a call, when the call touches a
 * number of the shim's. */
#define TSHIM_OVERRIDES_OURS (-2)

/* libc's dup2 or dup3, as the host called it. */
static int tshim_overrides_dup_libc(const struct tshim_overrides_dup *d)
{
    return d->three ? tshim_real.dup3(d->oldfd, d->newfd, d->flags)
                    : tshim_real.dup2(d->oldfd, d->newfd);
}

/* libc's dup2 or dup3, unless oldfd or newfd is the shim's. While the shim's threads
 * run, the call is counted (tshim_fdguard_dup_begin) from before that check to
 * after the call: a descriptor the shim makes meanwhile at newfd, which the check
 * could not see, is then not used before the host's call has put its own there. */
static inline int tshim_overrides_dup_call(const struct tshim_overrides_dup *d)
{
    int counted = tshim_threads_count() > 0;
    if (counted)
        tshim_fdguard_dup_begin();
    /* -1 matches an empty slot: a bad number goes to libc, which orders its errors. */
    if (__builtin_expect((d->newfd >= 0 && tshim_fdguard_is_ours(d->newfd)) |
                             (d->oldfd >= 0 && tshim_fdguard_is_ours(d->oldfd)),
                         0)) {
        if (counted)
            tshim_fdguard_dup_end();
        return TSHIM_OVERRIDES_OURS;
    }
    int r = tshim_overrides_dup_libc(d);
    if (counted) {
        int e = errno;
        tshim_fdguard_dup_end();
        errno = e;
    }
    return r;
}

/* dup2 or dup3 onto the shim's number in slot, off the fast path: ours steps
 * aside, and if the call fails after all (a race with another thread of the
 * host's), what was left at the number goes too. */
__attribute__((noinline, cold)) static int
tshim_overrides_dup_onto(int slot, const struct tshim_overrides_dup *d)
{
    struct tshim_fdguard_aside was;
    if (tshim_overrides_dup_check(d) != 0)
        return -1;
    tshim_fdguard_step_aside(slot, d->newfd, &was);
    int r = tshim_overrides_dup_call(d);
    if (r < 0 && r != TSHIM_OVERRIDES_OURS) {
        int e = errno;
        tshim_fdguard_drop_left(d->newfd, &was);
        errno = e;
    }
    return r;
}

/* dup2() or dup3() from or onto a number that is ours: off the fast path. Returns
 * TSHIM_OVERRIDES_OURS to be called again (the number is no longer ours). */
__attribute__((noinline, cold)) static int tshim_overrides_dup_ours(const struct tshim_overrides_dup *d)
{
    /* In a child of a raw fork or clone the numbers are the child's copies. */
    if (!tshim_fdguard_here())
        return tshim_overrides_dup_libc(d);
    int slot = d->newfd >= 0 ? tshim_fdguard_slot_of(d->newfd) : -1;
    if (slot >= 0)
        return tshim_overrides_dup_onto(slot, d);
    if (tshim_overrides_hidden(d->oldfd))
        return -1;
    return TSHIM_OVERRIDES_OURS;
}

/* dup2 or dup3 as libc makes it, with the shim's numbers out of the host's reach.
 * EBUSY is the kernel's answer for a newfd given to an open() or socket() that has
 * not returned yet: if that is the shim's (which puts nothing there for long), the
 * call is made again once it is over; the host's own race still gets EBUSY. */
static int tshim_overrides_dup_any(const struct tshim_overrides_dup *d)
{
    for (;;) {
        int r = tshim_overrides_dup_call(d);
        if (r == TSHIM_OVERRIDES_OURS)
            r = tshim_overrides_dup_ours(d);
        else if (__builtin_expect(r < 0, 0) && errno == EBUSY &&
                 tshim_fdguard_wait_making(d->newfd))
            continue;
        if (r != TSHIM_OVERRIDES_OURS)
            return r;
    }
}

TSHIM_EXPORT int dup(int oldfd)
{
    if (__builtin_expect(tshim_fdguard_is_ours(oldfd), 0) && tshim_overrides_hidden(oldfd))
        return -1;
    return tshim_real.dup(oldfd);
}

TSHIM_EXPORT int dup2(int oldfd, int newfd)
{
    struct tshim_overrides_dup d = {oldfd, newfd, 0, 0};
    return tshim_overrides_dup_any(&d);
}

TSHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    struct tshim_overrides_dup d = {oldfd, newfd, flags, 1};
    return tshim_overrides_dup_any(&d);
}

/* fcntl() and fcntl64() on a number of ours: to the host it is not open, so that
 * no F_DUPFD copies the shim's connection to a number the host can use. */
static int tshim_overrides_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    if (__builtin_expect(tshim_fdguard_is_ours(fd), 0) && tshim_overrides_hidden(fd))
        return -1;
    return real(fd, cmd, arg);
}

/* The third argument, when there is one, is an int or a pointer: read and passed
 * on as a pointer, as libc itself reads it. */
TSHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return tshim_overrides_fcntl(tshim_real.fcntl, fd, cmd, arg);
}

/* glibc declares it; musl has no fcntl64 (its fcntl is already 64-bit), so a musl
 * program never calls this one. */
TSHIM_EXPORT int fcntl64(int fd, int cmd, ...);
TSHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return tshim_overrides_fcntl(tshim_real.fcntl64, fd, cmd, arg);
}

/* ---- pthread_key_delete: the reaper's key is not the host's ------------------- */

TSHIM_EXPORT int pthread_key_delete(pthread_key_t key)
{
    if (tshim_reaper_owns_key(key))
        return EINVAL; /* what libc says of a key that was never created */
    return tshim_real.pthread_key_delete(key);
}

/* ---- fork: the handlers are registered by fork.c; this is the child's after-fork */

TSHIM_EXPORT pid_t fork(void)
{
    pid_t pid = tshim_real.fork();
    if (pid == 0)
        tshim_fork_child_returned();
    return pid;
}

/* glibc's daemon() forks with its internal fork, which no fork() override sees, and
 * its parent exits at once: the process that listened goes on as the child. */
TSHIM_EXPORT int daemon(int nochdir, int noclose)
{
    int r = tshim_real.daemon(nochdir, noclose);
    if (r == 0)
        tshim_fork_daemonized();
    return r;
}

/* ---- sigprocmask, pthread_sigmask: the main thread's mask, for the hooks ---- */

/* Calls libc's, then tells dispatch the mask the calling thread has now (it keeps
 * the main thread's only). set and old may be the same object. */
static int tshim_overrides_sigmask(int (*real)(int, const sigset_t *, sigset_t *), int how,
                                   const sigset_t *set, sigset_t *old)
{
    sigset_t was, want;
    if (!set)
        return real(how, set, old);
    want = *set;
    int r = real(how, &want, &was), e = errno;
    if (r == 0) {
        if (old)
            *old = was;
        if (how == SIG_BLOCK)
            sigorset(&was, &was, &want);
        else if (how == SIG_UNBLOCK)
            for (int s = 1; s < NSIG; s++)
                if (sigismember(&want, s) == 1)
                    sigdelset(&was, s);
        tshim_dispatch_mask_changed(how == SIG_SETMASK ? &want : &was);
    }
    errno = e;
    return r;
}

TSHIM_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    return tshim_overrides_sigmask(tshim_real.sigprocmask, how, set, old);
}

TSHIM_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    return tshim_overrides_sigmask(tshim_real.pthread_sigmask, how, set, old);
}

/* ---- exit and main's return: the exit guard ------------------------------------ */

/* main's return is not a call to exit() that we could interpose; so main itself
 * is wrapped, through the libc entry point that every C program's _start calls.
 * glibc's _start passes seven arguments, musl's six: the seventh is then whatever
 * the calling convention leaves there, and musl, which never reads it, gets it back. */
static tshim_real_main_fn tshim_overrides_main_fn;

static int tshim_overrides_main(int argc, char **argv, char **envp)
{
    extern char **environ;
    /* main sees the role too, whichever array it reads: glibc passes it environ,
     * musl the array the kernel gave, which a role added to the environment
     * leaves behind (a child the host starts with main's envp would listen too). */
    tshim_role_republish();
    if (tshim_role_published())
        envp = environ;
    int status = tshim_overrides_main_fn(argc, argv, envp);
    tshim_guard_exiting();
    return status;
}

TSHIM_EXPORT int __libc_start_main(tshim_real_main_fn main_fn, int argc, char **argv, void *init,
                                   void *fini, void *rtld_fini, void *stack_end);
int __libc_start_main(tshim_real_main_fn main_fn, int argc, char **argv, void *init, void *fini,
                      void *rtld_fini, void *stack_end)
{
    tshim_overrides_main_fn = main_fn;
    return tshim_real.libc_start_main(tshim_overrides_main, argc, argv, init, fini, rtld_fini,
                                      stack_end);
}

TSHIM_EXPORT __attribute__((noreturn)) void exit(int status)
{
    tshim_guard_exiting();
    tshim_real.exit(status); /* does not return */
    _exit(status);
}
