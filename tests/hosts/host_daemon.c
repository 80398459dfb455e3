/* host_daemon.c: a service that daemonizes with daemon(3), keeping its stdio, and reports each hook call. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "toki_shim.h"

static int refreshes, done[2];

void toki_on_refresh(void)
{
    char b[48];
    int n = snprintf(b, sizeof b, "daemon %d refresh %d\n", (int)getpid(), ++refreshes);
    write(1, b, (size_t)n);
    if (refreshes == 3)
        write(done[1], "x", 1);
}

int main(void)
{
    if (pipe(done) != 0 || daemon(1, 1) != 0)
        return 1;
    char b[32];
    int n = snprintf(b, sizeof b, "daemon %d ready\n", (int)getpid());
    write(1, b, (size_t)n);
    char c;
    /* Three refreshes, then the daemon ends. */
    while (read(done[0], &c, 1) < 0)
        ;
    return 0;
}
