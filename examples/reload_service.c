/* reload_service.c: a daemon that rereads its configuration on SIGHUP, unaware of Toki. */
/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t reload_requested;

static void on_sighup(int signo)
{
    (void)signo;
    reload_requested = 1;
}

/* Reads the first line of the configuration file: here, a credential. */
static void load_config(const char *path, int generation)
{
    char line[128] = "(unreadable)";
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            strcpy(line, "(empty)");
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    printf("reload_service: configuration loaded (#%d): credential %s\n", generation, line);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *config = argc > 1 ? argv[1] : "/etc/reload_service.conf";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sighup;
    sigaction(SIGHUP, &sa, NULL);
    int generation = 0;
    load_config(config, generation);
    /* The main loop: work, and reload when asked to. */
    for (;;) {
        pause();
        if (reload_requested) {
            reload_requested = 0;
            load_config(config, ++generation);
        }
    }
}
