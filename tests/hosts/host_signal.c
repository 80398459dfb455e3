/* host_signal.c: a daemon-like program that counts the signal named in argv[1] (HUP or USR1). */
/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void on_signal(int signo)
{
    char b[32];
    (void)signo;
    int n = snprintf(b, sizeof b, "signal %d\n", (int)++count);
    write(1, b, (size_t)n);
}

int main(int argc, char **argv)
{
    int signo = argc > 1 && strcmp(argv[1], "USR1") == 0 ? SIGUSR1 : SIGHUP;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(signo, &sa, NULL);
    write(1, "ready\n", 6);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    write(1, "bye\n", 4);
    return 0;
}
