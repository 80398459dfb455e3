/* host_probe.c: reports its own threads and sockets (from /proc/self) for each line on stdin. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc_count.h"

int main(void)
{
    char line[256];
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("ready\n");
    while (fgets(line, sizeof line, stdin))
        printf("tasks %d sockets %d\n", proc_count("/proc/self/task", 0),
               proc_count("/proc/self/fd", 1));
    return 0;
}
