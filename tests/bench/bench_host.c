/* bench_host.c: reports CLOCK_MONOTONIC at the first instruction of its hook, its SIGHUP handler, or its event-fd wakeup. */
/* SPDX-License-Identifier: MIT */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "toki_shim.h"

static int report_fd = -1;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void send_report(int64_t ns)
{
    (void)!write(report_fd, &ns, sizeof ns);
}

static void report(void)
{
    send_report(now_ns());
}

void toki_on_refresh(void)
{
    report();
}

static void on_hup(int s)
{
    (void)s;
    report();
}

int main(void)
{
    const char *fd = getenv("BENCH_FD");
    report_fd = fd ? atoi(fd) : 1; /* bench code: the driver set it */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    char c;
    if (getenv("BENCH_EVENTFD")) {
        /* An event loop: poll the shim's event fd and stdin. */
        struct pollfd p[2] = {{toki_shim_try_event_fd(), POLLIN, 0}, {0, POLLIN, 0}};
        (void)!write(1, "r", 1);
        while (poll(p, 2, -1) > 0) {
            if (p[0].revents & POLLIN) {
                /* The time of the wakeup, but reported only once the fd is read:
                 * the driver's next event must not be read along with this one. */
                int64_t t = now_ns();
                uint64_t n;
                (void)!read(p[0].fd, &n, sizeof n);
                send_report(t);
            }
            if (p[1].revents && read(0, &c, 1) <= 0)
                break;
        }
        return 0;
    }
    (void)!write(1, "r", 1); /* ready: the handler is in place */
    if (getenv("BENCH_IDLE")) {
        /* A daemon between timers: the driver kills it. */
        struct timespec hour = {3600, 0};
        for (;;)
            nanosleep(&hour, NULL);
    }
    while (read(0, &c, 1) > 0)
        ;
    return 0;
}
