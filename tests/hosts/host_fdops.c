/* host_fdops.c: a host whose descriptor calls the shim must pass on unchanged: close_range with
 * CLOSE_RANGE_UNSHARE, a failing dup2 or dup3 onto the shim's number, stdin closed and reopened,
 * forks whose children use the C library's time zone, closefrom on a kernel without close_range. */
/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

/* Every way to copy a descriptor, from the shim's number: each must fail as for
 * a number that is not open, and leave one connection to Toki. */
static int dup_ours(void)
{
    int n = -1;
    if (toki_connections(&n) != 1)
        return 5;
    struct {
        const char *what;
        int r, e;
    } tries[7];
    errno = 0;
    tries[0].r = dup(n), tries[0].e = errno, tries[0].what = "dup";
    errno = 0;
    tries[1].r = fcntl(n, F_DUPFD, 0), tries[1].e = errno, tries[1].what = "F_DUPFD";
    errno = 0;
    tries[2].r = fcntl(n, F_DUPFD_CLOEXEC, 200), tries[2].e = errno, tries[2].what = "F_DUPFD_CLOEXEC";
    errno = 0;
    tries[3].r = dup2(n, 201), tries[3].e = errno, tries[3].what = "dup2";
    errno = 0;
    tries[4].r = dup3(n, 202, O_CLOEXEC), tries[4].e = errno, tries[4].what = "dup3";
    errno = 0;
    tries[5].r = fcntl(n, F_GETFD), tries[5].e = errno, tries[5].what = "F_GETFD";
    errno = 0;
    tries[6].r = fcntl(n, F_SETFL, O_NONBLOCK), tries[6].e = errno, tries[6].what = "F_SETFL";
    for (int i = 0; i < 7; i++)
        printf("%s: %d %s\n", tries[i].what, tries[i].r, strerror(tries[i].e));
    printf("connections %d\n", toki_connections(&n));
    return 0;
}

/* The SIGHUPs a signalfd has taken so far, each announced on stdout. */
static void count_signals(int sfd, long *taken)
{
    struct signalfd_siginfo si;
    while (sfd >= 0 && read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
        printf("signal %ld\n", ++*taken);
}

/* Every 256 rounds of a spinning loop: counts the signals taken, and says whether
 * a line has come on cmd (the copy of stdin), which ends the loop. */
static int time_to_stop(long rounds, int cmd, int sfd, long *taken)
{
    struct pollfd p = {.fd = cmd, .events = POLLIN};
    if (rounds % 256 != 0)
        return 0;
    count_signals(sfd, taken);
    return poll(&p, 1, 0) == 1;
}

/* A daemon's idiom, again and again: fd 0 closed, then reopened, which must give
 * 0 every time, while the shim writes its log lines (or, with sfd, reads /proc
 * at each event to see that the SIGHUP it blocks is taken by the signalfd sfd).
 * Commands come on a copy of stdin from here on; a line on it ends the loop. */
static int reopen_stdin(int sfd)
{
    int cmd = fcntl(0, F_DUPFD_CLOEXEC, 10);
    long rounds = 0, missed = 0, taken = 0;
    int first = -1;
    if (cmd < 0 || close(0) != 0)
        return 7;
    printf("spinning\n");
    for (;; rounds++) {
        /* The close is here, at the top, as a daemon's would be: the shim may make
         * a descriptor between any two of these calls. */
        if (rounds > 0)
            close(0);
        int fd = open("/dev/null", O_RDONLY);
        if (fd != 0 && missed++ == 0)
            first = fd;
        if (fd != 0)
            close(fd);
        if (time_to_stop(rounds, cmd, sfd, &taken))
            break;
    }
    if (close(0) != 0)
        return 7;
    printf("reopened stdin %ld times: %ld not at 0 (the first at %d)\n", rounds, missed, first);
    if (open("/dev/null", O_RDONLY) != 0)
        return 8;
    char c;
    while (read(cmd, &c, 1) > 0)
        ;
    return 0;
}

/* A single-threaded host's dup2 onto the lowest free number, again and again,
 * while the shim reads /proc at each event (see reopen_stdin): the kernel says
 * EBUSY to a dup2 onto a number that an open() in flight has taken, and without
 * the shim nothing here is in flight. */
static int dup2_lowest(int sfd)
{
    int cmd = fcntl(0, F_DUPFD_CLOEXEC, 10), src = open("/dev/null", O_RDONLY | O_CLOEXEC);
    long rounds = 0, busy = 0, taken = 0;
    if (cmd < 0 || src < 0)
        return 7;
    printf("spinning\n");
    for (;; rounds++) {
        int low = fcntl(0, F_DUPFD, 0);
        if (low < 0)
            return 8;
        close(low);
        if (dup2(src, low) < 0)
            busy += errno == EBUSY;
        else
            close(low);
        if (time_to_stop(rounds, cmd, sfd, &taken))
            break;
    }
    printf("dup2 onto the lowest free number %ld times: %ld EBUSY\n", rounds, busy);
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

#if defined(__x86_64__)
#define HOST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define HOST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* This thread's close_range fails with ENOSYS from now on, as on a kernel before
 * 5.9: a seccomp filter that checks the architecture and the system call. */
static int without_close_range(void)
{
#ifdef HOST_AUDIT_ARCH
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, HOST_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close_range, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        return -1;
    return close_range(1000000, 1000000, 0) == -1 && errno == ENOSYS ? 0 : -1;
#else
    errno = ENOTSUP;
    return -1;
#endif
}

/* closefrom(3) with close_range gone: descriptors below the shim's and above it
 * must all be closed, and none of the shim's. */
static int closefrom_without_close_range(void)
{
    struct rlimit rl;
    int fds[4], open_after = 0;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (without_close_range() != 0) {
        printf("closefrom not tried: no seccomp filter (%s)\n", strerror(errno));
        return 0;
    }
    for (int i = 0; i < 3; i++)
        fds[i] = open("/dev/null", O_RDONLY);
    fds[3] = fcntl(0, F_DUPFD, 2000);
    closefrom(3);
    for (int i = 0; i < 4; i++)
        open_after += fds[i] >= 0 && fcntl(fds[i], F_GETFD) >= 0;
    printf("closefrom without close_range: %d of 4 still open\n", open_after);
    return 0;
}

/* A thread cancelled in close(0), a cancellation point: the cancel pending when
 * it enables cancellation is acted upon inside the call. */
static pthread_barrier_t cancel_steps;

static void *closer(void *arg)
{
    (void)arg;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    pthread_barrier_wait(&cancel_steps); /* cancelled now */
    pthread_barrier_wait(&cancel_steps);
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    close(0);
    return NULL;
}

/* Then answers each line on stdin with the signals its signalfd took meanwhile. */
static int cancel_in_close(int sfd)
{
    pthread_t t;
    void *res = NULL;
    long taken = 0;
    char line[64];
    if (pthread_barrier_init(&cancel_steps, NULL, 2) != 0 ||
        pthread_create(&t, NULL, closer, NULL) != 0)
        return 7;
    pthread_barrier_wait(&cancel_steps);
    pthread_cancel(t);
    pthread_barrier_wait(&cancel_steps);
    pthread_join(t, &res);
    printf("closer %s, fd 0 %s\n", res == PTHREAD_CANCELED ? "cancelled" : "returned",
           fcntl(0, F_GETFD) >= 0 ? "open" : "closed");
    for (;;) {
        struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents)
            count_signals(sfd, &taken);
        if (p[0].revents && !fgets(line, sizeof line, stdin))
            return 0;
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    char line[64];
    int r = 2;
    /* Each line in one write: unbuffered, puts writes the text and the newline
     * apart, and the lines of the hook's thread or of a child could come between. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* SIGHUP blocked and taken by a signalfd: the shim reads /proc at each event to
     * see that it may send it. */
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    int sfd = -1;
    if ((strcmp(mode, "reopen0sfd") == 0 || strcmp(mode, "dup2lowsfd") == 0 ||
         strcmp(mode, "cancel0sfd") == 0) &&
        (sigprocmask(SIG_BLOCK, &hup, NULL) != 0 ||
         (sfd = signalfd(-1, &hup, SFD_NONBLOCK | SFD_CLOEXEC)) < 0))
        return 9;
    printf("ready\n");
    if (!fgets(line, sizeof line, stdin))
        return 1;
    if (strcmp(mode, "unshare") == 0)
        r = unshare_close();
    else if (strcmp(mode, "dupours") == 0)
        r = dup_ours();
    else if (strcmp(mode, "dupfail") == 0)
        r = dup_fails();
    else if (strcmp(mode, "reopen0") == 0)
        r = reopen_stdin(-1);
    else if (strcmp(mode, "reopen0sfd") == 0)
        r = reopen_stdin(sfd);
    else if (strcmp(mode, "dup2lowsfd") == 0)
        r = dup2_lowest(sfd);
    else if (strcmp(mode, "forks") == 0)
        r = fork_and_localtime();
    else if (strcmp(mode, "closefrom") == 0)
        r = closefrom_without_close_range();
    else if (strcmp(mode, "cancel0sfd") == 0)
        r = cancel_in_close(sfd);
    if (r != 0)
        return r;
    while (fgets(line, sizeof line, stdin))
        ;
    return 0;
}
