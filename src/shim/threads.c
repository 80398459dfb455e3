/* threads.c: starts the shim's threads with signals blocked and a stack that fits, and counts them. */
/* SPDX-License-Identifier: MIT */
#include "threads.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

static _Atomic int tshim_threads_running;
/* The process that started the threads counted: a child of a raw fork or of clone
 * copies the count, not the threads, and sees another number here. */
static _Atomic int tshim_threads_pid;

/* getpid(2) itself: glibc caches nothing since 2.25, and a vfork child must see its
 * own number. */
static int tshim_threads_getpid(void)
{
    return (int)syscall(SYS_getpid);
}

int tshim_threads_spawn(void *(*fn)(void *), void *arg, size_t stack_bytes)
{
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    int r = pthread_attr_init(&attr);
    if (r != 0)
        return r;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* The size asked for is the shim's own: glibc carves the thread's static TLS
     * out of the same stack, and a host with much TLS would leave it too little. */
    if (stack_bytes > 0)
        r = pthread_attr_setstacksize(&attr, stack_bytes + tshim_real_min_stack(&attr));
    if (r == 0) {
        atomic_store(&tshim_threads_pid, tshim_threads_getpid());
        /* The thread inherits this mask. libc's call, not our override: the mask
         * held for a moment here is no mask of the program's for the hooks to take
         * (nor does a start pay twice for recording one). */
        sigfillset(&all);
        tshim_real.pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&tid, &attr, fn, arg);
        tshim_real.pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    pthread_attr_destroy(&attr);
    return r;
}

void tshim_threads_started(void)
{
    atomic_fetch_add(&tshim_threads_running, 1);
}

void tshim_threads_ended(void)
{
    atomic_fetch_sub(&tshim_threads_running, 1);
}

int tshim_threads_count(void)
{
    return atomic_load(&tshim_threads_running);
}

int tshim_threads_count_here(void)
{
    return atomic_load(&tshim_threads_pid) == tshim_threads_getpid() ? tshim_threads_count() : 0;
}

void tshim_threads_fork_child(void)
{
    atomic_store(&tshim_threads_running, 0);
}
