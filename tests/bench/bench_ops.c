/* bench_ops.c: the cost of close() on a bad fd and of dup2(), the calls the shim wraps. */
/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* With no argument: ns per close and per dup2 over 2,000,000 calls each. With
 * "close N" or "dup2 N": just N calls, for an instruction count under callgrind. */
int main(int argc, char **argv)
{
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 2000000;
    int fd = dup(0);
    int only_close = argc > 1 && strcmp(argv[1], "close") == 0;
    int only_dup2 = argc > 1 && strcmp(argv[1], "dup2") == 0;
    double t0 = now();
    /* A number that is surely not open (not -1, which the shim answers itself),
     * so that both sides make the same syscall. */
    for (long i = 0; i < n && !only_dup2; i++)
        close(900000);
    double t1 = now();
    for (long i = 0; i < n && !only_close; i++)
        dup2(0, fd);
    double t2 = now();
    if (argc == 1)
        printf("%.2f %.2f\n", (t1 - t0) / n, (t2 - t1) / n);
    return 0;
}
