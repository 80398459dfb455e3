/* events.c: the event fd, the generation counter and the status, and the public functions that read them. */
/* SPDX-License-Identifier: MIT */
#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/board.h"
#include "common/clock.h"
#include "common/fdguard.h"
#include "common/kernel.h"
#include "common/proc.h"
#include "real.h"
#include "toki_shim.h"

/* The counters, in .data (the magic makes it so) where toki-shim check finds them. */
static struct tshim_board tshim_events_board = {.magic = TSHIM_BOARD_MAGIC};
static _Atomic int tshim_events_errno;
static const char *_Atomic tshim_events_error;
static char tshim_events_disabled_why[256];

/* The program's event fd, -1 until it asks. The shim writes only to its own copy
 * (slot TSHIM_FDGUARD_EVENT), which the host cannot close or reuse: if the program closes
 * its number and the number is reused, nothing of ours is ever written there. */
static _Atomic int tshim_events_public = -1;

/* The owner (F_SETOWN_EX, a pid) that the shim gives each eventfd it makes, 0 until
 * one is made: the mark by which it knows its eventfd where kcmp(2) is denied. An
 * eventfd has no fasync, so no signal ever goes to that owner. */
static _Atomic int tshim_events_mark;

/* Marks a new eventfd of ours with this process as owner. Raw system calls: a
 * forked child marks its new one before fork has returned. */
static void tshim_events_mark_fd(int fd)
{
    struct f_owner_ex o = {.type = F_OWNER_PID, .pid = (pid_t)syscall(SYS_getpid)};
    if (syscall(SYS_fcntl, fd, F_SETOWN_EX, &o) == 0)
        atomic_store(&tshim_events_mark, o.pid);
}

/* The owner of fd's open file as a pid, 0 if it has none of type F_OWNER_PID,
 * -1 with errno if it cannot be read. */
static long tshim_events_owner(int fd)
{
    struct f_owner_ex o = {0, 0};
    if (syscall(SYS_fcntl, fd, F_GETOWN_EX, &o) != 0)
        return -1;
    return o.type == F_OWNER_PID ? o.pid : 0;
}

/* Whether descriptor fd is an eventfd: 1, 0, or -1 if /proc cannot say. */
static int tshim_events_is_eventfd(int fd)
{
    static const char want[] = "anon_inode:[eventfd]";
    char path[40] = "/proc/self/fd/", link[sizeof want];
    size_t at = 14; /* strlen("/proc/self/fd/") */
    at += tshim_proc_decimal(path + at, (unsigned long)fd);
    path[at] = '\0';
    long len = syscall(SYS_readlinkat, AT_FDCWD, path, link, sizeof link);
    if (len < 0)
        return -1;
    return len == (long)sizeof want - 1 && memcmp(link, want, sizeof want - 1) == 0;
}

/* Without kcmp: the mark on our copy's file must be on pub's too, and pub must be
 * an eventfd (a program may own its own sockets, for SIGIO, and the number may
 * have been reused for one). -1 when the marks cannot be read or ours is gone. */
static int tshim_events_marked(int pub, int copy)
{
    long mark = atomic_load(&tshim_events_mark), own = tshim_events_owner(pub);
    if (own < 0)
        return errno == EBADF ? 0 : -1;
    if (mark <= 0 || tshim_events_owner(copy) != mark)
        return -1;
    return own == mark ? tshim_events_is_eventfd(pub) : 0;
}

/* Whether the program's number pub still names the open file of copy, the shim's
 * eventfd: 1 yes, 0 no (closed, or reused for another file), -1 cannot tell.
 * kcmp(2) says it; where it is denied (container profiles deny it without
 * CAP_SYS_PTRACE) or absent, the mark says it. Raw system calls only: a forked
 * child asks before fork has returned there. errno may change. */
static int tshim_events_names_ours(int pub, int copy)
{
    if (pub < 0 || copy < 0)
        return 0;
    long me = syscall(SYS_getpid);
    long r = syscall(SYS_kcmp, me, me, KCMP_FILE, pub, copy);
    if (r >= 0)
        return r == 0;
    if (errno == EBADF)
        return 0; /* pub is closed: copy is ours, and open */
    if (errno != EPERM && errno != ENOSYS && errno != EACCES)
        return -1;
    return tshim_events_marked(pub, copy);
}

/* The program's number still names our eventfd (or cannot be told not to: then,
 * as it was before it could be told, it is taken as ours). A "no" is asked again
 * inside the window, where our copy cannot be moved by a host's dup2 meanwhile. */
static int tshim_events_still_ours(int pub)
{
    if (tshim_events_names_ours(pub, tshim_fdguard_get(TSHIM_FDGUARD_EVENT)) != 0)
        return 1;
    sigset_t old;
    tshim_fdguard_window_enter(&old);
    int r = tshim_events_names_ours(pub, tshim_fdguard_get(TSHIM_FDGUARD_EVENT));
    tshim_fdguard_window_leave(&old);
    return r != 0;
}

void tshim_events_activate(int on)
{
    atomic_store(&tshim_events_board.pid, (long)syscall(SYS_getpid));
    atomic_store(&tshim_events_board.on, on);
}

void tshim_events_disabled(const char *why, int err)
{
    size_t n = strlen(why);
    if (n >= sizeof tshim_events_disabled_why)
        n = sizeof tshim_events_disabled_why - 1;
    memcpy(tshim_events_disabled_why, why, n);
    tshim_events_disabled_why[n] = '\0';
    tshim_events_fail(tshim_events_disabled_why, err);
}

void tshim_events_line(void)
{
    atomic_store_explicit(&tshim_events_board.last_event_ms, tshim_clock_wall_ms(),
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&tshim_events_board.lines, 1, memory_order_relaxed);
}

unsigned long tshim_events_trigger(void)
{
    return atomic_fetch_add(&tshim_events_board.generation, 1) + 1;
}

void tshim_events_action(void)
{
    atomic_fetch_add_explicit(&tshim_events_board.actions, 1, memory_order_relaxed);
}

void tshim_events_up(int reconnect)
{
    if (reconnect)
        atomic_fetch_add_explicit(&tshim_events_board.reconnects, 1, memory_order_relaxed);
    atomic_store(&tshim_events_board.connected, 1);
}

void tshim_events_down(void)
{
    atomic_store(&tshim_events_board.connected, 0);
}

void tshim_events_fail(const char *what, int err)
{
    atomic_store(&tshim_events_errno, err);
    atomic_store(&tshim_events_error, what);
}

int tshim_events_requested(void)
{
    int pub = atomic_load_explicit(&tshim_events_public, memory_order_relaxed);
    return pub >= 0 && tshim_events_still_ours(pub);
}

void tshim_events_post(unsigned long n)
{
    uint64_t v = n;
    tshim_fdguard_write_slot(TSHIM_FDGUARD_EVENT, &v, sizeof v);
}

void tshim_events_fork_child(void)
{
    atomic_store(&tshim_events_board.pid, (long)syscall(SYS_getpid));
    atomic_store(&tshim_events_board.on, 0);
    atomic_store(&tshim_events_board.connected, 0);
    int pub = atomic_load(&tshim_events_public), copy = tshim_fdguard_get(TSHIM_FDGUARD_EVENT);
    if (pub < 0)
        return;
    /* The program may have closed its number and reused it for a file of its own:
     * only if it still names our eventfd is it replaced. If that cannot be told
     * (neither kcmp nor the mark can be read), the number is left alone: it may be
     * the program's file now, and replacing that would break the program; the child
     * then shares the parent's eventfd, as a child of a program that made its own
     * would. Raw syscalls: this runs between fork and its return, where only
     * async-signal-safe calls may be made. */
    atomic_store(&tshim_events_public, -1);
    if (tshim_events_names_ours(pub, copy) != 1)
        return;
    int fresh = (int)syscall(SYS_eventfd2, 0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fresh >= 0) {
        tshim_events_mark_fd(fresh);
        if (syscall(SYS_dup3, fresh, pub, O_CLOEXEC) == pub)
            atomic_store(&tshim_events_public, pub);
        syscall(SYS_close, fresh);
    }
}

void tshim_events_follow(void)
{
    int pub = atomic_load(&tshim_events_public);
    if (pub < 0)
        return;
    sigset_t old;
    tshim_fdguard_window_enter(&old);
    tshim_fdguard_adopt_copy(TSHIM_FDGUARD_EVENT, pub);
    tshim_fdguard_window_leave(&old);
}

/* Inside the window: a new eventfd for the program, marked, with its copy in the
 * slot in place of any older one. Returns it, or -1 with errno. */
static int tshim_events_make(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return -1;
    tshim_events_mark_fd(fd);
    if (tshim_fdguard_adopt_copy(TSHIM_FDGUARD_EVENT, fd) < 0) {
        int e = errno;
        tshim_real.close(fd);
        errno = e;
        return -1;
    }
    atomic_store_explicit(&tshim_events_public, fd, memory_order_release);
    atomic_store(&tshim_events_board.fd_asked, 1);
    return fd;
}

int toki_shim_event_fd(void)
{
    /* Inert first: in a forked child that does not listen, the number the parent
     * got names an eventfd that nothing will ever post. */
    if (!atomic_load(&tshim_events_board.on)) {
        errno = ENOTSUP;
        return -1;
    }
    int saved = errno, e = 0;
    int fd = atomic_load_explicit(&tshim_events_public, memory_order_acquire);
    /* The number is the program's to close (closefrom(3) does) and to reuse: it is
     * handed out again only while it names our eventfd. */
    if (fd >= 0 && tshim_events_names_ours(fd, tshim_fdguard_get(TSHIM_FDGUARD_EVENT)) != 0) {
        errno = saved;
        return fd;
    }
    sigset_t old;
    /* Made inside the window, so that no fork copies the pair before both are
     * recorded; two threads asking at once get the same one. One that is no longer
     * the program's is forgotten first: even if no new one can be made, the
     * automatic action goes back to the signal. */
    tshim_fdguard_window_enter(&old);
    fd = atomic_load(&tshim_events_public);
    if (fd >= 0 && tshim_events_names_ours(fd, tshim_fdguard_get(TSHIM_FDGUARD_EVENT)) == 0) {
        atomic_store(&tshim_events_public, -1);
        fd = -1;
    }
    if (fd < 0 && (fd = tshim_events_make()) < 0)
        e = errno;
    tshim_fdguard_window_leave(&old);
    errno = fd >= 0 ? saved : e;
    return fd;
}

unsigned long toki_shim_generation(void)
{
    return atomic_load(&tshim_events_board.generation);
}

int toki_shim_status(struct toki_shim_status *out)
{
    const size_t head = offsetof(struct toki_shim_status, active);
    if (!out || out->size < head) {
        errno = EINVAL;
        return -1;
    }
    struct toki_shim_status s;
    memset(&s, 0, sizeof s);
    s.version = TOKI_SHIM_STATUS_VERSION;
    s.active = atomic_load(&tshim_events_board.on);
    s.connected = s.active && atomic_load(&tshim_events_board.connected);
    s.generation = atomic_load(&tshim_events_board.generation);
    s.events = atomic_load(&tshim_events_board.lines);
    s.actions = atomic_load(&tshim_events_board.actions);
    s.reconnects = atomic_load(&tshim_events_board.reconnects);
    s.last_errno = atomic_load(&tshim_events_errno);
    s.last_error = atomic_load(&tshim_events_error);
    /* A caller built against an older header gets the fields it knows; one built
     * against a newer header gets ours, the rest zeroed, and size says which. */
    size_t want = out->size, n = want < sizeof s ? want : sizeof s;
    s.size = (unsigned)n;
    memcpy(out, &s, n);
    if (want > sizeof s)
        memset((char *)out + sizeof s, 0, want - sizeof s);
    return 0;
}
