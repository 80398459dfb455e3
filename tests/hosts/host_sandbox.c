/* host_sandbox.c: a program that sandboxes itself with seccomp after start, while the shim listens. */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp_filter.h"
#include "toki_shim.h"

/* Waits for a line on stdin; 0 at its end. */
static int next_line(void)
{
    char line[64];
    return fgets(line, sizeof line, stdin) != NULL;
}

static void say(const char *text)
{
    printf("%s\n", text);
    fflush(stdout);
}

static void say_status(void)
{
    struct toki_shim_status st = {.size = sizeof st};
    if (toki_shim_try_status(&st) == 0)
        printf("status active=%d error=%s\n", st.active, st.last_error ? st.last_error : "none");
    fflush(stdout);
}

/* "socket": once told, every thread of the process dies at its next socket(2),
 * the listener's included; the program itself goes on without one. */
static int forbid_socket(void)
{
    say("ready");
    if (!next_line())
        return 1;
    if (seccomp_filter_one(SYS_socket, SECCOMP_RET_KILL_PROCESS, SECCOMP_FILTER_FLAG_TSYNC) != 0) {
        printf("seccomp: %s\n", strerror(errno));
        return 3;
    }
    say("sandboxed");
    if (!next_line())
        return 1;
    say_status();
    say("alive");
    return 0;
}

/* A filter that makes poll fail (not kill) for every thread, the listener's too,
 * once it waits for Toki: it must neither spin nor kill the program. */
static int deny_poll(void)
{
    say("ready");
    if (!next_line())
        return 1;
#ifdef SYS_poll
    if (seccomp_filter_one(SYS_poll, SECCOMP_RET_ERRNO | EPERM, SECCOMP_FILTER_FLAG_TSYNC) != 0)
        return 3;
#endif
    if (seccomp_filter_one(SYS_ppoll, SECCOMP_RET_ERRNO | EPERM, SECCOMP_FILTER_FLAG_TSYNC) != 0)
        return 3;
    say("sandboxed");
    if (!next_line())
        return 1;
    say("alive");
    return 0;
}

/* What read(2) of eventfd fd gets now, without waiting: the count, or 0. */
static uint64_t drain(int fd)
{
    uint64_t v = 0;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
        v = 0;
    return v;
}

/* The forked child: is its number still an eventfd, and does it see what the
 * parent posts on its own? */
static int kcmp_child(int efd, int to_parent, int from_parent)
{
    char c, target[64] = "", path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", efd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    if (read(from_parent, &c, 1) != 1) /* the parent has posted its eventfd */
        _exit(5);
    printf("child fd %s, sees %llu\n", target, (unsigned long long)drain(efd));
    fflush(stdout);
    (void)!write(to_parent, "x", 1);
    _exit(0);
}

/* "kcmp": a container's default seccomp profile denies kcmp(2) with EPERM, to
 * every thread. The program asks for the event fd, then, once told, forks; the
 * parent posts its own event fd once, and only the parent may see that. The
 * filter comes only after the shim has connected, which it would not do under a
 * filter added after start (see forbid_socket). */
static int deny_kcmp(void)
{
    int efd = toki_shim_try_event_fd(), down[2], up[2];
    if (efd < 0 || pipe(down) != 0 || pipe(up) != 0) {
        printf("no event fd: %s\n", strerror(errno));
        return 3;
    }
    say("asked");
    if (!next_line())
        return 1;
    if (seccomp_filter_one(SYS_kcmp, SECCOMP_RET_ERRNO | EPERM, SECCOMP_FILTER_FLAG_TSYNC) != 0) {
        printf("seccomp: %s\n", strerror(errno));
        return 3;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        kcmp_child(efd, up[1], down[0]);
    uint64_t one = 1;
    char c;
    if (write(efd, &one, sizeof one) != (ssize_t)sizeof one || write(down[1], "x", 1) != 1 ||
        read(up[0], &c, 1) != 1)
        return 4;
    printf("parent sees %llu\n", (unsigned long long)drain(efd));
    printf("parent event fd %s\n", toki_shim_try_event_fd() == efd ? "same" : "other");
    say("ready");
    /* The shim's events still reach the parent's event fd. */
    struct pollfd p[2] = {{.fd = efd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    char buf[64];
    unsigned long long total = 0;
    while (poll(p, 2, -1) > 0) {
        if (p[0].revents) {
            total += drain(efd);
            printf("parent refreshes %llu\n", total);
            fflush(stdout);
        }
        if (p[1].revents && read(0, buf, sizeof buf) <= 0)
            break;
    }
    waitpid(pid, NULL, 0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "socket") == 0)
        return forbid_socket();
    if (argc > 1 && strcmp(argv[1], "kcmp") == 0)
        return deny_kcmp();
    if (argc > 1 && strcmp(argv[1], "poll") == 0)
        return deny_poll();
    fprintf(stderr, "usage: host_sandbox socket | kcmp | poll\n");
    return 2;
}
