/* host_sigwaiter.c: SIGHUP taken with sigwait by a thread ("thread"), by main ("main"), once and then unblocked on request ("once"), by a main that never blocked it ("unblocked"), by a thread that works 400 ms after each ("busy"), or after main's pthread_exit ("zombie"); says "ready" once the waiter sleeps in it. */
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
static int once, unblocked, busy;

/* Takes SIGHUP for ever (or once), one "reload N" line each. */
static void waits(void)
{
    waiter_tid = (pid_t)syscall(SYS_gettid);
    for (int n = 1; !once || n == 1; n++) {
        int sig;
        if (sigwait(&hup, &sig) != 0)
            exit(3);
        printf("reload %d\n", n);
        fflush(stdout);
        if (busy) { /* the reload's work, with SIGHUP blocked and no one waiting */
            struct timespec work = {0, 400000000L};
            nanosleep(&work, NULL);
        }
    }
}

static void *waiter(void *arg)
{
    (void)arg;
    waits();
    waiter_tid = 0;
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

/* Says ready, then ends the process at the end of stdin; "once": a line
 * "unblock" unblocks SIGHUP, whose default action then ends the process if one is
 * pending (the shim must have sent none since the wait ended). */
static void *reader(void *arg)
{
    (void)arg;
    if (unblocked) /* this thread only: main waits with it unblocked */
        pthread_sigmask(SIG_BLOCK, &hup, NULL);
    until_waiting();
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin))
        if (once && strcmp(line, "unblock\n") == 0) {
            pthread_sigmask(SIG_UNBLOCK, &hup, NULL);
            printf("unblocked\n");
            fflush(stdout);
        }
    printf("bye\n");
    fflush(stdout);
    exit(0);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "thread";
    int in_main = strcmp(mode, "main") == 0 || strcmp(mode, "unblocked") == 0;
    once = strcmp(mode, "once") == 0;
    unblocked = strcmp(mode, "unblocked") == 0;
    busy = strcmp(mode, "busy") == 0;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    if (!unblocked) /* before any thread: every thread blocks it */
        pthread_sigmask(SIG_BLOCK, &hup, NULL);
    pthread_t t;
    pthread_create(&t, NULL, in_main ? reader : waiter, NULL);
    if (in_main)
        waits();
    if (strcmp(mode, "zombie") == 0) { /* the process ends at stdin's end (reader's exit) */
        pthread_create(&t, NULL, reader, NULL);
        pthread_exit(NULL);
    }
    reader(NULL);
    return 0;
}
