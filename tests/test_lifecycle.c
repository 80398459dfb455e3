/* test_lifecycle.c: the exit guard: no call into the host after exit began, and exit waits for one in flight. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "lifecycle.h"

static _Atomic int hook_done;

static void *exits_while_a_hook_runs(void *arg)
{
    (void)arg;
    tlife_exiting(); /* must wait for the main thread's call below */
    cr_assert(atomic_load(&hook_done), "exit did not wait for the hook in progress");
    return NULL;
}

Test(lifecycle, exit_waits_for_the_call_in_progress_then_refuses_new_ones)
{
    pthread_t t;
    tlife_mark_listener(); /* this thread plays the listener */
    cr_assert(tlife_begin_call());
    cr_assert_eq(pthread_create(&t, NULL, exits_while_a_hook_runs, NULL), 0);
    usleep(100000); /* the exiting thread is now waiting (it would fail the test otherwise) */
    atomic_store(&hook_done, 1);
    tlife_end_call();
    pthread_join(t, NULL);
    cr_assert_not(tlife_begin_call(), "a hook was allowed after exit began");
}

Test(lifecycle, a_hook_that_calls_exit_does_not_wait_for_itself)
{
    tlife_mark_listener();
    cr_assert(tlife_begin_call());
    tlife_exiting(); /* would deadlock if it waited */
    tlife_end_call();
    cr_assert_not(tlife_begin_call());
}
