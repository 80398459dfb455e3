/* host_threads.c: several threads, all but one blocking SIGHUP; the one must handle it. */
/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile pid_t handler_tid;
static pid_t open_tid;

static void on_hup(int s)
{
    char b[64];
    (void)s;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int n = snprintf(b, sizeof b, "signal in %s\n", tid == open_tid ? "the open thread" : "a blocking thread");
    write(1, b, (size_t)n);
}

static void *open_thread(void *arg)
{
    sigset_t s;
    (void)arg;
    sigemptyset(&s);
    sigaddset(&s, SIGHUP);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    open_tid = (pid_t)syscall(SYS_gettid);
    write(1, "ready\n", 6);
    for (;;)
        pause();
    return NULL;
}

static void *blocked_thread(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    sigset_t s;
    pthread_t t;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    /* Block in main before creating threads, so every thread inherits the block. */
    sigemptyset(&s);
    sigaddset(&s, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    for (int i = 0; i < 3; i++)
        pthread_create(&t, NULL, blocked_thread, NULL);
    pthread_create(&t, NULL, open_thread, NULL);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    return 0;
}
