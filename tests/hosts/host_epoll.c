/* host_epoll.c: an epoll program that learns of refreshes from the shim's event fd, and runs without the shim too. */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "toki_shim.h"

/* The name of an errno the helpers give, not strerror's text, which differs from
 * libc to libc (glibc's "Operation not supported" is musl's "Not supported"). */
static const char *errno_name(int e)
{
    return e == ENOTSUP ? "ENOTSUP" : e == ENOSYS ? "ENOSYS" : strerror(e);
}

/* It also has a SIGHUP handler, to show that auto mode sends it no signal. */
static volatile sig_atomic_t hups;
static void on_hup(int s)
{
    (void)s;
    hups++;
}

/* Waits on the event fd and stdin; reports each read; stops at end of stdin. */
static int loop(const char *who, int efd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = efd};
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    ev.data.fd = 0;
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    unsigned long total = 0;
    printf("%s ready\n", who);
    fflush(stdout);
    for (;;) {
        struct epoll_event got[2];
        int n = epoll_wait(ep, got, 2, -1);
        for (int i = 0; i < n; i++) {
            if (got[i].data.fd == efd) {
                uint64_t v;
                if (read(efd, &v, sizeof v) == (ssize_t)sizeof v) {
                    total += v;
                    printf("%s refreshes %lu\n", who, total);
                    fflush(stdout);
                }
            } else {
                char buf[64];
                if (read(0, buf, sizeof buf) <= 0) {
                    printf("%s total %lu generation %lu sighup %d\n", who, total,
                           toki_shim_try_generation(), (int)hups);
                    fflush(stdout);
                    return 0;
                }
            }
        }
    }
}

int main(int argc, char **argv)
{
    /* "secure": says whether the loader ran it as a secure (setuid/setgid) program. */
    if (argc > 1 && strcmp(argv[1], "secure") == 0)
        printf("at_secure %lu\n", getauxval(AT_SECURE));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    int efd = toki_shim_try_event_fd();
    if (efd < 0) {
        printf("no event fd: %s (shim loaded: %d)\n", errno_name(errno), toki_shim_loaded());
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            int again = toki_shim_try_event_fd();
            printf("child event fd: %s\n", again == efd ? "same" : again < 0 ? errno_name(errno) : "other");
            return loop("child", efd);
        }
        int r = loop("parent", efd);
        waitpid(pid, NULL, 0);
        return r;
    }
    return loop("host", efd);
}
