/* host_probe.c: reports its own threads and sockets (from /proc/self) for each line on stdin, or the role main's envp holds. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc_count.h"

/* TOKI_SHIM_ROLE's value in main's third argument, which a host may pass to
 * execve instead of environ. */
static const char *envp_role(char **envp)
{
    for (; envp && *envp; envp++)
        if (strncmp(*envp, "TOKI_SHIM_ROLE=", 15) == 0)
            return *envp + 15;
    return "(unset)";
}

int main(int argc, char **argv, char **envp)
{
    char line[256];
    (void)argc;
    (void)argv;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("ready\n");
    while (fgets(line, sizeof line, stdin)) {
        if (strcmp(line, "envp\n") == 0)
            printf("envp role %s pid %d\n", envp_role(envp), (int)getpid());
        else
            printf("tasks %d sockets %d\n", proc_count("/proc/self/task", 0),
                   proc_count("/proc/self/fd", 1));
    }
    return 0;
}
