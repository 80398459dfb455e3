/* reload_service.c: a daemon that rereads its configuration on SIGHUP, unaware of Toki. */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t reload_requested;

static void on_sighup(int signo)
{
    (void)signo;
    reload_requested = 1;
}

/* Reads the first line of the configuration file: here, a credential. */
static void load_config(const char *path, long generation)
{
    char line[128] = "(unreadable)";
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            strcpy(line, "(empty)");
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    printf("reload_service: configuration loaded (#%ld): credential %s\n", generation, line);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *config = argc > 1 ? argv[1] : "/etc/reload_service.conf";
    /* An optional second argument: exit after that many reloads (for a demo that ends). */
    long last = 0;
    if (argc > 2) {
        char *end;
        errno = 0;
        last = strtol(argv[2], &end, 10);
        if (*end || end == argv[2] || errno || last < 1 || last > 1000000) {
            fprintf(stderr, "usage: reload_service CONFIG [RELOADS (1-1000000)]\n");
            return 2;
        }
    }
    /* SIGHUP stays blocked except inside sigsuspend, which unblocks it and waits in
     * one step: a SIGHUP that lands while the service works (or between the test
     * of the flag and the wait, with pause()) is held pending, not handled then and
     * noticed only at the next signal, one refresh late. */
    sigset_t hup, waiting;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigprocmask(SIG_BLOCK, &hup, &waiting);
    sigdelset(&waiting, SIGHUP);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sighup;
    sigaction(SIGHUP, &sa, NULL);
    long generation = 0;
    load_config(config, generation);
    /* The main loop: work, and reload when asked to. */
    while (last == 0 || generation < last) {
        while (!reload_requested)
            sigsuspend(&waiting);
        reload_requested = 0;
        load_config(config, ++generation);
    }
    return 0;
}
