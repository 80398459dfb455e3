/* plugin.c: a shared library that defines toki_on_refresh, for a program to dlopen after start. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <unistd.h>

#include "toki_shim.h"

static int refreshes;

void toki_on_refresh(void)
{
    char b[40];
    int n = snprintf(b, sizeof b, "plugin refresh %d\n", ++refreshes);
    write(1, b, (size_t)n);
}
