/* epoll_service.c: an event-loop service that learns of refreshes from the shim's event fd; runs with or without the shim. */
/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <toki_shim.h>

/* Not linked with -ltoki_shim: the toki_shim_try_* helpers find the library when it
 * is preloaded, and say ENOSYS when it is not, so the same binary runs both ways. */
int main(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    /* The service's own work: a tick every second, standing in for its sockets. */
    int tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec every = {{1, 0}, {1, 0}};
    timerfd_settime(tick, 0, &every, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = tick};
    epoll_ctl(ep, EPOLL_CTL_ADD, tick, &ev);

    int refreshed = toki_shim_try_event_fd();
    if (refreshed >= 0) {
        ev.data.fd = refreshed;
        epoll_ctl(ep, EPOLL_CTL_ADD, refreshed, &ev);
        printf("epoll_service: started; watching Toki's refreshes on fd %d\n", refreshed);
    } else {
        printf("epoll_service: started without toki-shim (%s)\n", strerror(errno));
    }
    fflush(stdout);

    unsigned long reloads = 0;
    for (;;) {
        struct epoll_event got[4];
        int n = epoll_wait(ep, got, 4, -1);
        for (int i = 0; i < n; i++) {
            uint64_t count;
            if (read(got[i].data.fd, &count, sizeof count) != (ssize_t)sizeof count)
                continue;
            if (got[i].data.fd == refreshed) {
                /* count: refreshes since the last read; one reload covers them all. */
                printf("epoll_service: credentials refreshed %llu time(s); reloading (#%lu, "
                       "generation %lu)\n", (unsigned long long)count, ++reloads,
                       toki_shim_try_generation());
                fflush(stdout);
            }
        }
    }
}
