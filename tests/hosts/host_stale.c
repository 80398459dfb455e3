/* host_stale.c: a program that closes every descriptor above 2, the event fd's number too, reuses the number, and goes on. */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "toki_shim.h"

static volatile sig_atomic_t hups;

static void on_hup(int s)
{
    (void)s;
    hups++;
    (void)!write(1, "sighup\n", 7);
}

/* What descriptor fd is, as /proc/self/fd says. */
static const char *what(int fd, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, buf, size - 1);
    if (n < 0)
        return "closed";
    buf[n] = '\0';
    return buf;
}

/* Until the end of stdin, reads the event fd (if there is one) whenever it is
 * posted; then the totals. */
static int watch(int efd)
{
    struct pollfd p[2] = {{.fd = efd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    unsigned long long total = 0;
    char buf[64];
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno == EINTR)
            continue;
        uint64_t v;
        if ((p[0].revents & POLLIN) && read(efd, &v, sizeof v) == (ssize_t)sizeof v)
            printf("refreshes %llu\n", total += v);
        fflush(stdout);
        if (p[1].revents && read(0, buf, sizeof buf) <= 0)
            break;
    }
    printf("total %llu sighup %d\n", total, (int)hups);
    return 0;
}

/* "signal": after that, the reloads come as SIGHUP, as for a program that never
 * asked for the event fd. "again": once told, it asks for the event fd again, and
 * must get a new one, which the reloads then post. */
int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    struct sigaction sa;
    char a[128], b[128], line[16];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    setvbuf(stdout, NULL, _IONBF, 0);
    int efd = toki_shim_try_event_fd();
    if (efd < 0) {
        printf("no event fd: %s\n", strerror(errno));
        return 3;
    }
    closefrom(3);
    int reused = open("/dev/null", O_RDONLY | O_CLOEXEC);
    printf("event fd %d, now %d is %s\n", efd, reused, what(reused, a, sizeof a));
    printf("ready\n");
    if (strcmp(mode, "signal") == 0)
        return watch(-1);
    if (strcmp(mode, "again") != 0 || !fgets(line, sizeof line, stdin))
        return 2;
    int again = toki_shim_try_event_fd();
    printf("again %s: %s, and %d is still %s\n", again == reused ? "the same number" : "a new number",
           again < 0 ? strerror(errno) : what(again, a, sizeof a), reused, what(reused, b, sizeof b));
    return watch(again);
}
