/* host_fork.c: fork patterns: a prefork server, a fork storm under events, and exec. */
/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc_count.h"
#include "toki_shim.h"

static int refreshes;

void toki_on_refresh(void)
{
    char b[48];
    int n = snprintf(b, sizeof b, "refresh %d in %d\n", ++refreshes, (int)getpid());
    write(1, b, (size_t)n);
}

/* A master and n workers that live until stdin closes; each says who it is. */
static int prefork(int n)
{
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            printf("worker %d tasks %d sockets %d\n", (int)getpid(), proc_count("/proc/self/task", 0),
                   proc_count("/proc/self/fd", 1));
            fflush(stdout);
            char c;
            while (read(0, &c, 1) > 0)
                ;
            _exit(0);
        }
    }
    printf("ready\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    while (wait(NULL) > 0)
        ;
    return 0;
}

/* Forks n children back to back, each of which uses the loader, malloc and stdio
 * (the locks a careless library could hold across fork); a child that hangs is
 * killed by its alarm and counted. */
static int storm(int n)
{
    int hung = 0;
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(20);
            void *p = malloc(1000);
            char buf[64];
            snprintf(buf, sizeof buf, "%p", dlsym(RTLD_DEFAULT, "toki_on_refresh"));
            void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
            if (h)
                dlclose(h);
            free(p);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            hung++;
    }
    printf("storm done, %d bad children\n", hung);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "prefork") == 0)
        return prefork(atoi(argv[2]));
    if (argc > 2 && strcmp(argv[1], "storm") == 0)
        return storm(atoi(argv[2]));
    if (argc > 2 && strcmp(argv[1], "exec") == 0) {
        /* Wait for the word, then become argv[2] with TOKI_TOKEN gone, so that
         * any socket it sees was inherited. */
        char line[16];
        printf("ready\n");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin))
            return 1;
        unsetenv("TOKI_TOKEN");
        execv(argv[2], argv + 2);
        perror("execv");
        return 127;
    }
    fprintf(stderr, "usage: host_fork prefork N | storm N | exec PROGRAM\n");
    return 2;
}
