/* host_fdops.c: a host whose descriptor calls the shim must pass on unchanged: close_range with
 * CLOSE_RANGE_UNSHARE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toki_shim.h"

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

static int refreshes;

void toki_on_refresh(void)
{
    char b[32];
    int n = snprintf(b, sizeof b, "refresh %d\n", ++refreshes);
    (void)!write(1, b, (size_t)n);
}

/* close_range(3, ~0U, CLOSE_RANGE_UNSHARE) with a pipe whose reader is a child:
 * the child must see the end of the pipe once the host has closed its write end. */
static int unshare_close(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 3;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(p[1]);
        while (read(p[0], &c, 1) > 0)
            ;
        printf("reader saw the end\n");
        _exit(0);
    }
    if (pid < 0 || close_range(3, ~0U, CLOSE_RANGE_UNSHARE) != 0)
        return 4;
    printf("closed\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    char line[64];
    int r = 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("ready\n");
    if (!fgets(line, sizeof line, stdin))
        return 1;
    if (strcmp(mode, "unshare") == 0)
        r = unshare_close();
    if (r != 0)
        return r;
    while (fgets(line, sizeof line, stdin))
        ;
    return 0;
}
