/* test_guard.c: the exit guard: no call into the host after exit began, and exit waits for one in flight. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim/guard.h"
#include "shim/threads.h"

TestSuite(guard, .timeout = 60);

static _Atomic int hook_done, exiter_tid, exiter_returned;

static void *exits_while_a_hook_runs(void *arg)
{
    (void)arg;
    atomic_store(&exiter_tid, (int)syscall(SYS_gettid));
    tshim_guard_exiting(); /* must wait for the main thread's call below */
    cr_assert(atomic_load(&hook_done), "exit did not wait for the hook in progress");
    atomic_store(&exiter_returned, 1);
    return NULL;
}

/* 1 once thread tid is asleep in futex(2): the system call the guard waits in. */
static int asleep_in_futex(int tid)
{
    char path[64], line[128] = "", futex[24];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    /* The file starts with the call's number, which differs between architectures:
     * the guard calls syscall(SYS_futex), so that is the one to look for. */
    snprintf(futex, sizeof futex, "%ld ", (long)SYS_futex);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    return ok && strncmp(line, futex, strlen(futex)) == 0;
}

Test(guard, exit_waits_for_the_call_in_progress_then_refuses_new_ones)
{
    pthread_t t;
    tshim_guard_mark_listener(); /* this thread plays the listener */
    cr_assert(tshim_guard_begin_call());
    cr_assert_eq(pthread_create(&t, NULL, exits_while_a_hook_runs, NULL), 0);
    /* Wait until the exiting thread is asleep in the guard's futex: then exit has
     * begun and is waiting, whatever the machine's speed. Bounded, in case it never
     * waits (the bug this test is for). */
    struct timespec ms = {0, 1000000};
    int tid = 0;
    for (int i = 0; i < 15000 && !(tid && tshim_guard_exit_begun() && asleep_in_futex(tid)); i++) {
        nanosleep(&ms, NULL);
        tid = atomic_load(&exiter_tid);
    }
    cr_assert(tid && asleep_in_futex(tid), "the exiting thread never waited");
    cr_assert_not(atomic_load(&exiter_returned), "exit returned while a hook was running");
    atomic_store(&hook_done, 1);
    tshim_guard_end_call();
    pthread_join(t, NULL);
    cr_assert(atomic_load(&exiter_returned));
    cr_assert_not(tshim_guard_begin_call(), "a hook was allowed after exit began");
}

Test(guard, a_hook_that_calls_exit_does_not_wait_for_itself)
{
    tshim_guard_mark_listener();
    cr_assert(tshim_guard_begin_call());
    tshim_guard_exiting(); /* would deadlock if it waited */
    tshim_guard_end_call();
    cr_assert_not(tshim_guard_begin_call());
}

Test(guard, a_forked_child_has_no_call_in_flight)
{
    cr_assert(tshim_guard_begin_call());
    tshim_guard_fork_child(); /* as the atfork child handler does */
    /* Another thread's exit would now wait for nothing: in_call is clear. */
    pthread_t t;
    atomic_store(&hook_done, 1);
    cr_assert_eq(pthread_create(&t, NULL, exits_while_a_hook_runs, NULL), 0);
    pthread_join(t, NULL);
    cr_assert(atomic_load(&exiter_returned));
}

/* The shim's own threads are counted while they run; a forked child has none. */
Test(guard, the_shims_threads_are_counted_and_a_child_has_none)
{
    int before = tshim_threads_count();
    tshim_threads_started();
    cr_assert_eq(tshim_threads_count(), before + 1);
    tshim_threads_fork_child();
    cr_assert_eq(tshim_threads_count(), 0);
    tshim_threads_started();
    tshim_threads_ended();
    cr_assert_eq(tshim_threads_count(), 0);
}
