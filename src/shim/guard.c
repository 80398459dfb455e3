/* guard.c: the exit guard that keeps hooks and signals away from a host whose globals are being destroyed. */
#include "guard.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic int tshim_guard_exit_begun_flag;
static _Atomic int tshim_guard_in_call; /* a futex word: 1 while a hook or signal runs */
static __thread int tshim_guard_is_listener;
static _Atomic int tshim_guard_thread_count; /* the shim's own threads that run now */

void tshim_guard_mark_listener(void)
{
    tshim_guard_is_listener = 1;
}

/* Dekker-style, with sequentially consistent atomics and no lock: either the
 * listener sees the exit begun and skips, or tshim_guard_exiting sees the call in
 * flight and waits. No lock of ours can therefore be held across the host's fork. */
int tshim_guard_begin_call(void)
{
    atomic_store(&tshim_guard_in_call, 1);
    if (atomic_load(&tshim_guard_exit_begun_flag)) {
        tshim_guard_end_call();
        return 0;
    }
    return 1;
}

void tshim_guard_end_call(void)
{
    atomic_store(&tshim_guard_in_call, 0);
    if (atomic_load(&tshim_guard_exit_begun_flag))
        syscall(SYS_futex, &tshim_guard_in_call, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void tshim_guard_exiting(void)
{
    int saved = errno;
    atomic_store(&tshim_guard_exit_begun_flag, 1);
    /* A hook that calls exit() itself must not wait for its own return. */
    while (!tshim_guard_is_listener && atomic_load(&tshim_guard_in_call))
        syscall(SYS_futex, &tshim_guard_in_call, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
    errno = saved;
}

int tshim_guard_exit_begun(void)
{
    return atomic_load(&tshim_guard_exit_begun_flag);
}

void tshim_guard_fork_child(void)
{
    atomic_store(&tshim_guard_in_call, 0);
    atomic_store(&tshim_guard_thread_count, 0); /* fork copies only the thread that forks */
}

void tshim_guard_thread_started(void)
{
    atomic_fetch_add(&tshim_guard_thread_count, 1);
}

void tshim_guard_thread_ended(void)
{
    atomic_fetch_sub(&tshim_guard_thread_count, 1);
}

int tshim_guard_threads(void)
{
    return atomic_load(&tshim_guard_thread_count);
}
