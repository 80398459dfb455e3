/* lifecycle.c: fork child handling, and the exit guard that keeps hooks away from destructed globals. */
#include "lifecycle.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "event.h"
#include "interpose.h"
#include "listener.h"

#define TLIFE_EXPORT __attribute__((visibility("default")))

static const struct tcfg *tlife_cfg;
static _Atomic int tlife_exit_begun;
static _Atomic int tlife_in_call; /* a futex word: 1 while a hook or signal runs */
static __thread int tlife_is_listener;

void tlife_mark_listener(void)
{
    tlife_is_listener = 1;
}

/* Dekker-style, with sequentially consistent atomics and no lock: either the
 * listener sees tlife_exit_begun and skips, or tlife_exiting sees tlife_in_call and
 * waits. No lock of ours can therefore be held across the host's fork. */
int tlife_begin_call(void)
{
    atomic_store(&tlife_in_call, 1);
    if (atomic_load(&tlife_exit_begun)) {
        tlife_end_call();
        return 0;
    }
    return 1;
}

void tlife_end_call(void)
{
    atomic_store(&tlife_in_call, 0);
    if (atomic_load(&tlife_exit_begun))
        syscall(SYS_futex, &tlife_in_call, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void tlife_exiting(void)
{
    int saved = errno;
    atomic_store(&tlife_exit_begun, 1);
    /* A hook that calls exit() itself must not wait for its own return. */
    while (!tlife_is_listener && atomic_load(&tlife_in_call))
        syscall(SYS_futex, &tlife_in_call, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
    errno = saved;
}

/* In the child of a fork, async-signal-safe calls only: the parent's listener does
 * not exist here, nor does its call in progress, and its socket must go. */
static void tlife_child(void)
{
    int saved = errno;
    atomic_store(&tlife_in_call, 0);
    tevent_fork_child(); /* first: it compares with our copy, which the next one closes */
    tipose_fork_child();
    errno = saved;
}

static pid_t (*tlife_real_fork)(void);

void tlife_forget(void)
{
    tlife_cfg = NULL;
}

void tlife_install(const struct tcfg *c)
{
    tlife_cfg = c;
    pthread_atfork(tipose_fork_prepare, tipose_fork_parent, tlife_child);
}

/* TOKI_SHIM_FOLLOW_FORK starts the child's listener here, after fork() has returned,
 * not in an atfork child handler: handlers registered after ours (a sanitizer's, an
 * allocator's) may still hold the locks that creating a thread needs. */
TLIFE_EXPORT pid_t fork(void)
{
    if (!tlife_real_fork) { /* resolved at the first fork: most processes never fork */
        int saved = errno;
        *(void **)&tlife_real_fork = dlsym(RTLD_NEXT, "fork");
        errno = saved;
    }
    pid_t pid = tlife_real_fork();
    if (pid == 0 && tlife_cfg && tlife_cfg->follow_fork && !atomic_load(&tlife_exit_begun)) {
        int saved = errno;
        tevent_follow();
        tevent_activate(1);
        if (tlisten_start(tlife_cfg) != 0)
            tevent_activate(0);
        errno = saved;
    }
    return pid;
}

/* main's return is not a call to exit() that we could interpose; so main itself
 * is wrapped, through the libc entry point that every C program's _start calls. */
typedef int (*tlife_main_fn)(int, char **, char **);
typedef int (*tlife_start_fn)(tlife_main_fn, int, char **, void *, void *, void *, void *);
static tlife_main_fn tlife_real_main;

static int tlife_main(int argc, char **argv, char **envp)
{
    int status = tlife_real_main(argc, argv, envp);
    tlife_exiting();
    return status;
}

TLIFE_EXPORT int __libc_start_main(tlife_main_fn main_fn, int argc, char **argv, void *init,
                                   void *fini, void *rtld_fini, void *stack_end);
int __libc_start_main(tlife_main_fn main_fn, int argc, char **argv, void *init, void *fini,
                      void *rtld_fini, void *stack_end)
{
    tlife_start_fn real;
    *(void **)&real = dlsym(RTLD_NEXT, "__libc_start_main");
    tlife_real_main = main_fn;
    return real(tlife_main, argc, argv, init, fini, rtld_fini, stack_end);
}

TLIFE_EXPORT __attribute__((noreturn)) void exit(int status)
{
    void (*real)(int);
    tlife_exiting();
    *(void **)&real = dlsym(RTLD_NEXT, "exit");
    if (real)
        real(status); /* does not return */
    _exit(status);
}
