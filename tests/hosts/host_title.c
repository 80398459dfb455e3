/* host_title.c: a daemon that sets its process title as nginx does, over its environment strings. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    extern char **environ;
    (void)argc;
    /* The environment strings follow argv in memory; a title that outgrows argv
     * takes their room, and /proc/PID/environ then shows what was written there. */
    for (char **e = environ; *e; e++)
        memset(*e, 0, strlen(*e));
    strcpy(argv[0], "t");
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char c;
    while (read(0, &c, 1) > 0)
        ;
    return 0;
}
