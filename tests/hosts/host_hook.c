/* host_hook.c: a program that defines both hooks (linked -rdynamic) and reports each call. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "toki_shim.h"

static int refreshes;

void toki_on_refresh(void)
{
    char b[32];
    int n = snprintf(b, sizeof b, "refresh %d\n", ++refreshes);
    write(1, b, (size_t)n);
}

void toki_on_event(const char *name)
{
    char b[300];
    int n = snprintf(b, sizeof b, "event %s\n", name);
    write(1, b, (size_t)n);
}

int main(void)
{
    char c;
    write(1, "ready\n", 6);
    while (read(0, &c, 1) > 0)
        ;
    write(1, "bye\n", 4);
    return 0;
}
