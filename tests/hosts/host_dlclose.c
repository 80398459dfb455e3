/* host_dlclose.c: a program that dlopen()s the library given, waits until it has connected, then dlclose()s it. */
/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h)
        return 1;
    puts("loaded");
    fflush(stdout);
    char c;
    if (read(0, &c, 1) != 1) /* the test says when the shim has connected */
        return 3;
    printf("dlclose %d\n", dlclose(h));
    fflush(stdout);
    while (read(0, &c, 1) > 0) /* events keep coming to the listener meanwhile */
        ;
    puts("survived");
    return 0;
}
