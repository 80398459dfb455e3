/* host_signalfd.c: a daemon that blocks SIGHUP and takes it from a signalfd, as many event-loop daemons do. */
/* SPDX-License-Identifier: MIT */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

int main(void)
{
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigprocmask(SIG_BLOCK, &hup, NULL);
    int sfd = signalfd(-1, &hup, SFD_CLOEXEC);
    if (sfd < 0)
        return 1;
    write(1, "ready\n", 6);
    int reloads = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                char b[32];
                int n = snprintf(b, sizeof b, "reload %d\n", ++reloads);
                write(1, b, (size_t)n);
            }
        }
        char c;
        if (p[0].revents && read(0, &c, 1) <= 0)
            return 0;
    }
}
