/* thread_floor.c: the physical floor of the shim's design: a preloaded object whose constructor starts one idle thread. */
/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static void *idle(void *arg)
{
    (void)arg;
    for (;;)
        pause(); /* every signal blocked: never returns */
    return NULL;
}

/* Like the shim's listener: detached, 256 KiB of stack, every signal blocked. */
__attribute__((constructor)) static void start(void)
{
    pthread_attr_t a;
    pthread_t t;
    sigset_t all, old;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 256 * 1024);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_create(&t, &a, idle, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&a);
}
