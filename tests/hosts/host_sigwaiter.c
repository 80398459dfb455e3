/* host_sigwaiter.c: SIGHUP blocked in every thread and taken with sigwait, by a thread ("thread") or by main ("main"); says "ready" once the waiter sleeps in it. */
/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static sigset_t hup;
static volatile pid_t waiter_tid;

/* Takes SIGHUP for ever, one "reload N" line each. */
static void waits(void)
{
    waiter_tid = (pid_t)syscall(SYS_gettid);
    for (int n = 1;; n++) {
        int sig;
        if (sigwait(&hup, &sig) != 0)
            exit(3);
        printf("reload %d\n", n);
        fflush(stdout);
    }
}

static void *waiter(void *arg)
{
    (void)arg;
    waits();
    return NULL;
}

/* Returns once the waiter's /proc syscall line shows rt_sigtimedwait: only then
 * is the test's first event sure to find it waiting. */
static void until_waiting(void)
{
    char path[64], line[64];
    struct timespec ms = {0, 1000000};
    for (;;) {
        if (waiter_tid) {
            snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)waiter_tid);
            FILE *f = fopen(path, "r");
            if (f && fgets(line, sizeof line, f) && atol(line) == SYS_rt_sigtimedwait) {
                fclose(f);
                return;
            }
            if (f)
                fclose(f);
        }
        nanosleep(&ms, NULL);
    }
}

/* Says ready, then ends the process at the end of stdin. */
static void *reader(void *arg)
{
    (void)arg;
    until_waiting();
    printf("ready\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    printf("bye\n");
    fflush(stdout);
    exit(0);
}

int main(int argc, char **argv)
{
    int in_main = argc > 1 && strcmp(argv[1], "main") == 0;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, NULL); /* before any thread: every thread blocks it */
    pthread_t t;
    pthread_create(&t, NULL, in_main ? reader : waiter, NULL);
    if (in_main)
        waits();
    reader(NULL);
    return 0;
}
