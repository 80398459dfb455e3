/* host_fdops.c: a host whose descriptor calls the shim must pass on unchanged: close_range with
 * CLOSE_RANGE_UNSHARE, a failing dup2 or dup3 onto the shim's number, stdin closed and reopened,
 * forks whose children use the C library's time zone. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
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

/* The sockets in this process connected to TOKI_PORT on loopback: how many, and
 * the number of the last one (the shim's, as the host has none of its own). */
static int toki_connections(int *last)
{
    long port = strtol(getenv("TOKI_PORT") ? getenv("TOKI_PORT") : "0", NULL, 10);
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end || fd == dirfd(d) ||
            getpeername((int)fd, (struct sockaddr *)&peer, &len) != 0 || peer.ss_family != AF_INET ||
            ntohs(((struct sockaddr_in *)&peer)->sin_port) != port)
            continue;
        n++;
        *last = (int)fd;
    }
    closedir(d);
    return n;
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

/* What a failing dup2 or dup3 onto the shim's number leaves: the error, how many
 * connections to Toki there are, and whether the host can close the number. */
static void say_after(const char *what, int r, int e, int n)
{
    int last = -1, conns = toki_connections(&last);
    errno = 0;
    int c = close(n);
    printf("%s: %d %s; connections %d; close: %s\n", what, r, strerror(e), conns,
           c == 0 ? "closed" : strerror(errno));
}

static int dup_fails(void)
{
    int n = -1;
    if (toki_connections(&n) != 1 || fcntl(999, F_GETFD) >= 0)
        return 5;
    int r = dup2(999, n), e = errno;
    say_after("dup2", r, e, n);
    if (toki_connections(&n) != 1)
        return 6;
    r = dup3(0, n, O_NONBLOCK);
    e = errno;
    say_after("dup3", r, e, n);
    return 0;
}

/* A daemon's idiom, again and again: fd 0 closed, then reopened, which must give
 * 0 every time, while the shim writes its log lines. Commands come on a copy of
 * stdin from here on; a line on it ends the loop. */
static int reopen_stdin(void)
{
    int cmd = fcntl(0, F_DUPFD_CLOEXEC, 10);
    long rounds = 0, missed = 0;
    int first = -1;
    if (cmd < 0 || close(0) != 0)
        return 7;
    printf("spinning\n");
    for (;; rounds++) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd != 0 && missed++ == 0)
            first = fd;
        close(fd);
        struct pollfd p = {.fd = cmd, .events = POLLIN};
        if (rounds % 256 == 0 && poll(&p, 1, 0) == 1)
            break;
    }
    printf("reopened stdin %ld times: %ld not at 0 (the first at %d)\n", rounds, missed, first);
    if (open("/dev/null", O_RDONLY) != 0)
        return 8;
    char c;
    while (read(cmd, &c, 1) > 0)
        ;
    return 0;
}

/* Forks until a line comes on stdin; each child asks for the local time, which
 * takes the C library's time zone lock, and exits. */
static int fork_and_localtime(void)
{
    long n = 0;
    printf("forking\n");
    for (;; n++) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        if (poll(&p, 1, 0) == 1)
            break;
        pid_t pid = fork();
        if (pid == 0) {
            struct tm tm;
            time_t t = time(NULL);
            _exit(localtime_r(&t, &tm) ? 0 : 1);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 9;
    }
    printf("forked %ld children\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    char line[64];
    int r = 2;
    /* Each line in one write: unbuffered, puts writes the text and the newline
     * apart, and the lines of the hook's thread or of a child could come between. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    if (!fgets(line, sizeof line, stdin))
        return 1;
    if (strcmp(mode, "unshare") == 0)
        r = unshare_close();
    else if (strcmp(mode, "dupfail") == 0)
        r = dup_fails();
    else if (strcmp(mode, "reopen0") == 0)
        r = reopen_stdin();
    else if (strcmp(mode, "forks") == 0)
        r = fork_and_localtime();
    if (r != 0)
        return r;
    while (fgets(line, sizeof line, stdin))
        ;
    return 0;
}
