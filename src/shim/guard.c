/* guard.c: the exit guard that keeps hooks and signals away from a host whose globals are being destroyed. */
/* SPDX-License-Identifier: MIT */
#include "guard.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/kernel.h"
#include "common/log.h"
#include "common/tshim.h"

/* Both words hold a process id, not a flag: the memory they live in may be shared
 * with a vfork child, or copied into a child of _Fork() or a raw fork system call
 * (neither runs the atfork handlers). Such a child sees its parent's number, not
 * its own: its exit() neither waits for the parent's hook nor stops the parent's
 * calls. */
static _Atomic int tshim_guard_exiting_pid; /* the process whose exit has begun, or 0 */
static _Atomic int tshim_guard_in_call;     /* a futex word: the process whose listener is
                                               in a hook or signal, or 0 */
static TSHIM_TLS int tshim_guard_is_listener;

/* getpid(2) itself: glibc caches nothing since 2.25, and a vfork child must see its
 * own number. */
static int tshim_guard_pid(void)
{
    return (int)syscall(SYS_getpid);
}

/* The listener's process: begin_call runs on the listener only, which never runs
 * in a vfork child, and a forked child's listener marks itself anew. */
static int tshim_guard_listener_pid;

void tshim_guard_mark_listener(void)
{
    tshim_guard_is_listener = 1;
    tshim_guard_listener_pid = tshim_guard_pid();
}

/* Dekker-style, with sequentially consistent atomics and no lock: either the
 * listener sees the exit begun and skips, or tshim_guard_exiting sees the call in
 * flight and waits. No lock of ours can therefore be held across the host's fork. */
int tshim_guard_begin_call(void)
{
    int pid = tshim_guard_listener_pid ? tshim_guard_listener_pid : tshim_guard_pid();
    atomic_store(&tshim_guard_in_call, pid);
    if (atomic_load(&tshim_guard_exiting_pid) == pid) {
        tshim_guard_end_call();
        return 0;
    }
    return 1;
}

void tshim_guard_end_call(void)
{
    atomic_store(&tshim_guard_in_call, 0);
    if (atomic_load(&tshim_guard_exiting_pid))
        syscall(SYS_futex, &tshim_guard_in_call, FUTEX_WAKE_PRIVATE, 1 << 30, NULL, NULL, 0);
}

void tshim_guard_exiting(void)
{
    int saved = errno, pid = tshim_guard_pid();
    atomic_store(&tshim_guard_exiting_pid, pid);
    /* A hook that calls exit() itself must not wait for its own return. */
    if (tshim_guard_is_listener)
        return;
    /* The clock is read once a call is found in flight: an exit without one (nearly
     * every exit) reads none, and a short program's exit faults in no clock page. */
    long deadline = -1;
    while (atomic_load(&tshim_guard_in_call) == pid) {
        long now = tshim_clock_now_ms();
        if (deadline < 0)
            deadline = now + TSHIM_GUARD_EXIT_WAIT_MS;
        long left = deadline - now;
        if (left <= 0) {
            /* The hook may be waiting for something this thread holds (a mutex
             * around exit, a signal handler's): exiting is what the host asked. */
            tshim_log(TSHIM_LOG_INFO, "exit went ahead after %d ms with a hook still running",
                      TSHIM_GUARD_EXIT_WAIT_MS);
            break;
        }
        struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
        syscall(SYS_futex, &tshim_guard_in_call, FUTEX_WAIT_PRIVATE, pid, &ts, NULL, 0);
    }
    errno = saved;
}

int tshim_guard_exit_begun(void)
{
    return atomic_load(&tshim_guard_exiting_pid) == tshim_guard_pid();
}

void tshim_guard_fork_child(void)
{
    atomic_store(&tshim_guard_in_call, 0);
    /* A child forked while its parent exits (from an atexit handler) is exiting too. */
    if (atomic_load(&tshim_guard_exiting_pid))
        atomic_store(&tshim_guard_exiting_pid, tshim_guard_pid());
}
