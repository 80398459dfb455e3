/* host_sigwait.c: SIGHUP blocked everywhere but taken by nothing (a helper thread sigwaits for SIGTERM): it must never be sent. */
/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void *waits_for_term(void *arg)
{
    sigset_t term;
    int sig;
    (void)arg;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigwait(&term, &sig);
    return NULL;
}

int main(void)
{
    sigset_t all, hup;
    sigfillset(&all);
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_t t;
    pthread_create(&t, NULL, waits_for_term, NULL);
    pthread_sigmask(SIG_SETMASK, &hup, NULL); /* main blocks SIGHUP only */
    write(1, "ready\n", 6);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    pthread_sigmask(SIG_UNBLOCK, &hup, NULL); /* a SIGHUP sent meanwhile kills it now */
    write(1, "bye\n", 4);
    return 0;
}
