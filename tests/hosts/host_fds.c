/* host_fds.c: a daemon that closes, dup2s over, or uses up every descriptor, then keeps reloading. */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "toki_shim.h"

static int refreshes;

void toki_on_refresh(void)
{
    char b[32];
    int n = snprintf(b, sizeof b, "refresh %d\n", ++refreshes);
    write(1, b, (size_t)n);
}

/* dup2 one pipe's write end onto every fd from 3 to 1024, write a byte through
 * each, and read them all back: none may go elsewhere, none may be missing. */
static void dup2_everything(void)
{
    int p[2];
    if (pipe(p) != 0 || fcntl(p[0], F_SETPIPE_SZ, 1 << 16) < 0)
        exit(3);
    /* Move the read end out of the way of the loop. */
    int r = fcntl(p[0], F_DUPFD, 1100);
    close(p[0]);
    int wrote = 0, got = 0;
    for (int fd = 3; fd <= 1024; fd++)
        if (fd != p[1] && dup2(p[1], fd) != fd)
            exit(4);
    for (int fd = 3; fd <= 1024; fd++)
        wrote += write(fd, "x", 1) == 1;
    char buf[2048];
    fcntl(r, F_SETFL, O_NONBLOCK);
    ssize_t n;
    while ((n = read(r, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            got += buf[i] == 'x' ? 1 : -10000;
    printf("wrote %d read %d\n", wrote, got);
    for (int fd = 3; fd <= 1024; fd++)
        close(fd);
    close(r);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    char line[16];
    struct rlimit rl;
    /* Room above 1024, so that the dup2 loop leaves the shim somewhere to go. */
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
    setrlimit(RLIMIT_NOFILE, &rl);
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("ready\n");
    if (!fgets(line, sizeof line, stdin))
        return 1;
    if (strcmp(mode, "loop") == 0) {
        int failed = 0;
        for (int fd = 3; fd < (int)rl.rlim_cur; fd++)
            failed += close(fd) != 0;
        printf("closed, %d not open\n", failed);
    } else if (strcmp(mode, "closefrom") == 0) {
        closefrom(3);
    } else if (strcmp(mode, "close_range") == 0) {
        if (close_range(3, ~0U, 0) != 0)
            return 5;
    } else if (strcmp(mode, "dup2") == 0) {
        dup2_everything();
    } else if (strcmp(mode, "exhaust") == 0) {
        /* Every descriptor the limit allows, until a line on stdin: then they go
         * back, and each must have been a working descriptor of ours. */
        int n = 0, bad = 0, fd;
        while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
            n++;
        printf("full: %d opened, then %s\n", n, strerror(errno));
        if (!fgets(line, sizeof line, stdin))
            return 1;
        for (fd = 3; fd < (int)rl.rlim_cur; fd++) {
            char path[64], target[64];
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            ssize_t len = readlink(path, target, sizeof target - 1);
            if (len < 0)
                continue;
            target[len] = '\0';
            if (strcmp(target, "/dev/null") == 0)
                bad += close(fd) != 0;
        }
        printf("freed, %d failed\n", bad);
    } else if (strcmp(mode, "churn") == 0 && argc > 2) {
        /* Closes every low descriptor it does not hold, again and again, as a
         * daemon's start-up does, while the shim reconnects: the shim's short-lived
         * descriptors appear at exactly these numbers. Each round's own pipe must
         * stay open and keep its byte: none closed or read by anyone else. */
        long rounds = strtol(argv[2], NULL, 10), bad = 0;
        for (long k = 0; k < rounds; k++) {
            for (int fd = 3; fd < 64; fd++)
                close(fd);
            int p[2];
            char c = 0;
            if (pipe2(p, O_NONBLOCK) != 0)
                return 7;
            for (int spin = 0; spin < 200; spin++) /* a moment for the shim to act */
                getppid();
            bad += write(p[1], "y", 1) != 1 || read(p[0], &c, 1) != 1 || c != 'y' ||
                   fcntl(p[0], F_GETFD) < 0 || fcntl(p[1], F_GETFD) < 0;
        }
        printf("churned %ld rounds, %ld broken\n", rounds, bad);
    } else if (strcmp(mode, "stderr") == 0 && argc > 2) {
        /* A daemon's move: stderr closed, the number reused for its own data. */
        close(2);
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd != 2 || write(fd, "host data\n", 10) != 10)
            return 6;
    } else {
        return 2;
    }
    printf("done\n");
    while (fgets(line, sizeof line, stdin))
        ;
    return 0;
}
