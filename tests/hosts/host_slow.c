/* host_slow.c: a hook that reports the generation and then waits for a line on stdin before it returns. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <unistd.h>

#include "toki_shim.h"

static int refreshes;

void toki_on_refresh(void)
{
    char b[80];
    int n = snprintf(b, sizeof b, "refresh %d generation %lu\n", ++refreshes,
                     toki_shim_try_generation());
    write(1, b, (size_t)n);
    /* Held here until the test lets it go: events meanwhile wait for the next action. */
    char c;
    while (read(0, &c, 1) == 1 && c != '\n')
        ;
}

int main(void)
{
    write(1, "ready\n", 6);
    for (;;)
        pause();
}
