/* test_fdguard.c: the fd guard, through the overrides of close, close_range, closefrom, dup2 and dup3. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fdguard.h"
#include "unit.h"

static int ours;

static void adopt_a_socket(void)
{
    unit_resolve_libc();
    ours = tshim_fdguard_socket(TSHIM_FDGUARD_SOCKET, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(ours, 0);
    cr_assert_eq(ours, tshim_fdguard_current());
}

/* The descriptor's flags as the kernel has them: the library's fcntl() hides the
 * shim's numbers from the host, and these tests look at them. */
static int fd_flags(int fd)
{
    return (int)syscall(SYS_fcntl, fd, F_GETFD, 0);
}

static int is_open(int fd)
{
    return fd_flags(fd) >= 0;
}

TestSuite(fdguard, .init = adopt_a_socket);

Test(fdguard, adopted_high_and_close_on_exec)
{
    cr_assert_gt(ours, 900, "fd %d", ours);
    cr_assert(fd_flags(ours) & FD_CLOEXEC);
    cr_assert_lt(ours, 1024);
}

Test(fdguard, close_of_ours_reads_as_a_closed_fd)
{
    errno = 0;
    cr_assert_eq(close(ours), -1);
    cr_assert_eq(errno, EBADF);
    cr_assert(is_open(ours));
    int p[2];
    cr_assert_eq(pipe(p), 0);
    errno = EXDEV;
    cr_assert_eq(close(p[0]), 0, "others close as usual");
    cr_assert_eq(errno, EXDEV, "errno untouched on success");
    cr_assert_eq(close(p[0]), -1);
    cr_assert_eq(errno, EBADF);
    close(p[1]);
}

Test(fdguard, close_range_and_closefrom_skip_ours)
{
    /* Ranges around ours only: the test runner's own pipes are low fds. */
    int low = ours - 50;
    int a = fcntl(0, F_DUPFD, low), b = fcntl(0, F_DUPFD, ours + 1);
    cr_assert_eq(close_range((unsigned)low, ~0U, 0), 0);
    cr_assert(is_open(ours));
    cr_assert_not(is_open(a));
    cr_assert_not(is_open(b));
    a = fcntl(0, F_DUPFD, low);
    b = fcntl(0, F_DUPFD, ours + 1);
    closefrom(low);
    cr_assert(is_open(ours));
    cr_assert_not(is_open(a));
    cr_assert_not(is_open(b));
    errno = 0;
    cr_assert_eq(close_range(10, 5, 0), -1, "bad ranges fail as before");
    cr_assert_eq(errno, EINVAL);
}

Test(fdguard, dup2_onto_ours_moves_it_aside)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(dup2(p[1], ours), ours);
    int moved = tshim_fdguard_current();
    cr_assert_neq(moved, ours);
    cr_assert_geq(moved, 0);
    int type = 0;
    socklen_t len = sizeof type;
    cr_assert_eq(getsockopt(moved, SOL_SOCKET, SO_TYPE, &type, &len), 0, "the socket moved");
    cr_assert_eq(write(ours, "z", 1), 1, "the old number is the host's pipe now");
    char c;
    cr_assert_eq(read(p[0], &c, 1), 1);
    cr_assert_eq(dup3(p[1], moved, O_CLOEXEC), moved);
    cr_assert_neq(tshim_fdguard_current(), moved);
    cr_assert_geq(tshim_fdguard_current(), 0);
    errno = 0;
    cr_assert_eq(dup2(tshim_fdguard_current(), tshim_fdguard_current()), -1, "dup2(ours, ours) as for a closed fd");
    cr_assert_eq(errno, EBADF);
}

/* A dup2 onto ours that the kernel refuses after ours has stepped aside (here:
 * the number is above a limit lowered meanwhile) leaves no copy of ours behind at
 * the number, and ours works where it moved to. */
Test(fdguard, a_dup2_that_fails_after_the_step_aside_leaves_no_copy_behind)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct rlimit rl = {.rlim_cur = 100, .rlim_max = RLIM_INFINITY};
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = 100;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    errno = 0;
    cr_assert_eq(dup2(p[1], ours), -1);
    cr_assert_eq(errno, EBADF);
    cr_assert_not(is_open(ours), "a copy of ours stayed at %d", ours);
    int moved = tshim_fdguard_current(), type = 0;
    socklen_t len = sizeof type;
    cr_assert_lt(moved, 100);
    cr_assert_eq(getsockopt(moved, SOL_SOCKET, SO_TYPE, &type, &len), 0, "the socket moved");
}

/* A call the kernel refuses before it looks at the target changes nothing. */
Test(fdguard, a_dup_bound_to_fail_leaves_ours_in_place)
{
    errno = 0;
    cr_assert_eq(dup3(0, ours, O_NONBLOCK), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(dup3(-1, ours, -1), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(dup2(999, ours), -1);
    cr_assert_eq(errno, EBADF);
    cr_assert_eq(tshim_fdguard_current(), ours);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int copy = tshim_fdguard_adopt_copy(TSHIM_FDGUARD_EVENT, p[1]);
    cr_assert_eq(dup2(copy, ours), -1, "ours is no open descriptor to the host");
    cr_assert_eq(errno, EBADF);
    cr_assert_eq(tshim_fdguard_current(), ours);
}

Test(fdguard, release_closes_and_forgets)
{
    tshim_fdguard_release();
    cr_assert_eq(tshim_fdguard_current(), -1);
    cr_assert_not(is_open(ours));
    errno = 0;
    cr_assert_eq(close(ours), -1);
    cr_assert_eq(errno, EBADF);
}

/* A second fd of ours (the event fd's copy) is hidden the same way, and a write to
 * it follows it when the host dup2s over its number. */
Test(fdguard, both_of_our_fds_survive_ranges_and_a_write_follows_a_move)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int copy = tshim_fdguard_adopt_copy(TSHIM_FDGUARD_EVENT, p[1]);
    cr_assert_gt(copy, 900);
    cr_assert_neq(copy, ours);
    int lo = (copy < ours ? copy : ours) - 10;
    int a = fcntl(0, F_DUPFD, lo), b = fcntl(0, F_DUPFD, (copy < ours ? ours : copy) + 1);
    cr_assert_eq(close_range((unsigned)lo, ~0U, 0), 0);
    cr_assert(is_open(ours));
    cr_assert(is_open(copy));
    cr_assert_not(is_open(a));
    cr_assert_not(is_open(b));
    a = fcntl(0, F_DUPFD, lo);
    closefrom(lo);
    cr_assert(is_open(ours));
    cr_assert(is_open(copy));
    cr_assert_not(is_open(a));
    cr_assert_eq(close(copy), -1);
    cr_assert_eq(errno, EBADF);

    int q[2];
    cr_assert_eq(pipe(q), 0);
    cr_assert_eq(dup2(q[1], copy), copy);
    cr_assert_neq(tshim_fdguard_get(TSHIM_FDGUARD_EVENT), copy);
    cr_assert_eq(tshim_fdguard_write_slot(TSHIM_FDGUARD_EVENT, "x", 1), 1);
    char c;
    cr_assert_eq(read(p[0], &c, 1), 1, "the write went to our pipe, where it moved");
    cr_assert_eq(c, 'x');
    cr_assert_eq(write(copy, "y", 1), 1);
    cr_assert_eq(read(q[0], &c, 1), 1, "the old number is the host's now");
    tshim_fdguard_release_slot(TSHIM_FDGUARD_EVENT);
    cr_assert_eq(tshim_fdguard_get(TSHIM_FDGUARD_EVENT), -1);
    cr_assert_eq(tshim_fdguard_write_slot(TSHIM_FDGUARD_EVENT, "x", 1), -1);
}

/* A file the shim reads for a while (the peer check's table) lives high, in its own
 * slot, like the socket: the host can neither close it nor be read in its place,
 * and letting it go leaves the low numbers as they were. */
Test(fdguard, a_file_the_shim_reads_is_opened_high_and_hidden)
{
    int before = fcntl(0, F_DUPFD, 0); /* the lowest free number now */
    cr_assert_geq(before, 0);
    close(before);
    int fd = tshim_fdguard_open(TSHIM_FDGUARD_SCAN, "/proc/self/stat", O_RDONLY, 0);
    cr_assert_gt(fd, 900, "fd %d", fd);
    cr_assert(fd_flags(fd) & FD_CLOEXEC);
    cr_assert_not(is_open(before), "the low number it was made at is still held");
    cr_assert_eq(close(fd), -1);
    cr_assert_eq(errno, EBADF);
    closefrom(fd - 5); /* not lower: the test runner's own descriptors live there */
    cr_assert(is_open(fd));
    char buf[64];
    cr_assert_gt(tshim_fdguard_read_slot(TSHIM_FDGUARD_SCAN, buf, sizeof buf), 0);
    tshim_fdguard_release_slot(TSHIM_FDGUARD_SCAN);
    cr_assert_not(is_open(fd));
    cr_assert_eq(tshim_fdguard_get(TSHIM_FDGUARD_SCAN), -1);
    errno = 0;
    cr_assert_eq(tshim_fdguard_read_slot(TSHIM_FDGUARD_SCAN, buf, sizeof buf), -1);
    cr_assert_eq(errno, EBADF);
    cr_assert_eq(tshim_fdguard_open(TSHIM_FDGUARD_SCAN, "/nonexistent/file", O_RDONLY, 0), -1);
    cr_assert_eq(errno, ENOENT);
}

Test(fdguard, read_file_reads_a_proc_file_whole_and_holds_nothing_after)
{
    char buf[8192];
    ssize_t n = tshim_fdguard_read_file(TSHIM_FDGUARD_SCAN, "/proc/self/status", buf, sizeof buf);
    cr_assert_gt(n, 0);
    cr_assert_eq((size_t)n, strlen(buf));
    cr_assert_not_null(strstr(buf, "\nSigBlk:"), "%s", buf); /* well past the first read's worth */
    cr_assert_eq(tshim_fdguard_get(TSHIM_FDGUARD_SCAN), -1);
    char small[8];
    cr_assert_eq(tshim_fdguard_read_file(TSHIM_FDGUARD_SCAN, "/proc/self/status", small, sizeof small), 7);
    cr_assert_str_eq(small, "Name:\tt");
    errno = 0;
    cr_assert_eq(tshim_fdguard_read_file(TSHIM_FDGUARD_SCAN, "/nonexistent/file", buf, sizeof buf), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_str_eq(buf, "");
}

/* A host whose signal handler dup2()s onto the shim's number, while the thread it
 * interrupted was itself moving the shim's descriptor aside or forking. */
static int devnull = -1;

static void dup2_onto_ours(int sig)
{
    (void)sig;
    int saved = errno, n = tshim_fdguard_current();
    if (n >= 0 && dup2(devnull, n) == n)
        close(n);
    errno = saved;
}

static void storm(int forks)
{
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer defers a handler to the thread's next intercepted call and
     * forks through its own machinery: a different host than the one tested here. */
    cr_skip_test("signal storms run in the plain and ASan builds");
#endif
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert_geq(devnull, 0);
    /* SIGPROF, on CPU time: SIGALRM and the real-time timer are Criterion's, for
     * the test's timeout. */
    struct sigaction sa = {.sa_handler = dup2_onto_ours, .sa_flags = SA_RESTART};
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval every = {{0, 50}, {0, 50}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &every, NULL);
    for (int i = 0; i < 20000; i++) {
        if (forks && i % 20 == 0) {
            pid_t pid = fork();
            if (pid == 0)
                _exit(0);
            waitpid(pid, NULL, 0);
        }
        dup2_onto_ours(0);
        if (tshim_fdguard_current() < 0) /* let go for want of a number: make another */
            tshim_fdguard_socket(TSHIM_FDGUARD_SOCKET, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    setitimer(ITIMER_PROF, &off, NULL);
}

Test(fdguard, a_handler_that_dup2s_onto_ours_never_waits_for_its_own_thread, .timeout = 60)
{
    storm(0);
}

Test(fdguard, a_handler_that_dup2s_onto_ours_during_a_fork_never_waits_for_it, .timeout = 60)
{
    pthread_atfork(tshim_fdguard_fork_prepare, tshim_fdguard_fork_parent, tshim_fdguard_fork_child);
    storm(1);
}

/* ---- calls in flight: a host's dup2, or a release, waits until they are over ---- */

/* The system call the thread is in, from /proc: its number, or -1 while it runs. */
static long syscall_of(pid_t tid)
{
    char path[64], buf[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    char *end;
    long nr = strtol(buf, &end, 10);
    return end == buf ? -1 : nr;
}

/* A thread and what the test knows of it: its id once it started, 1 in done once
 * its call has returned. */
struct party {
    pthread_t thread;
    _Atomic pid_t tid;
    _Atomic int done;
    int fd; /* for dup2: the host's descriptor to put at our number */
};

static void *write_into_full_pipe(void *arg)
{
    struct party *p = arg;
    p->tid = (pid_t)syscall(SYS_gettid);
    cr_assert_eq(tshim_fdguard_write_slot(TSHIM_FDGUARD_EVENT, "a", 1), 1);
    p->done = 1;
    return NULL;
}

static void *dup2_onto_event_copy(void *arg)
{
    struct party *p = arg;
    p->tid = (pid_t)syscall(SYS_gettid);
    int n = tshim_fdguard_get(TSHIM_FDGUARD_EVENT);
    cr_assert_eq(dup2(p->fd, n), n);
    p->done = 1;
    return NULL;
}

static void *release_event_copy(void *arg)
{
    struct party *p = arg;
    p->tid = (pid_t)syscall(SYS_gettid);
    tshim_fdguard_release_slot(TSHIM_FDGUARD_EVENT);
    p->done = 1;
    return NULL;
}

/* Until the thread has returned, or sleeps in the given system call. */
static void until_done_or_in(struct party *p, long nr)
{
    while (p->tid == 0)
        sched_yield();
    while (!p->done && syscall_of(p->tid) != nr)
        sched_yield();
}

/* The event slot holds a pipe that is full, and a write to it is in flight (it
 * blocks until the test reads); then a second call on the slot starts and ends
 * (if overlap), and then `then` runs on a thread of its own: it must wait for the
 * write, however many calls came and went meanwhile. */
static void while_a_write_is_in_flight(void *(*then)(void *), int overlap)
{
    int p[2], host[2];
    char buf[4096] = "";
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(pipe(host), 0);
    cr_assert_eq(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
    cr_assert_eq(write(p[1], buf, sizeof buf), (ssize_t)sizeof buf, "the pipe is full");
    cr_assert_geq(tshim_fdguard_adopt_copy(TSHIM_FDGUARD_EVENT, p[1]), 0);
    struct party writer = {0}, other = {.fd = host[1]};
    pthread_create(&writer.thread, NULL, write_into_full_pipe, &writer);
    until_done_or_in(&writer, SYS_write);
    cr_assert_not(writer.done, "the write did not block");
    if (overlap)
        cr_assert_eq(tshim_fdguard_read_slot(TSHIM_FDGUARD_EVENT, buf, 1), -1,
                     "a read on a pipe's write end fails, once through the guard");
    pthread_create(&other.thread, NULL, then, &other);
    until_done_or_in(&other, SYS_futex);
    cr_assert_not(other.done, "it did not wait for the write in flight");
    cr_assert_eq(read(p[0], buf, sizeof buf), (ssize_t)sizeof buf);
    pthread_join(writer.thread, NULL);
    pthread_join(other.thread, NULL);
    cr_assert_eq(read(p[0], buf, 1), 1);
    cr_assert_eq(buf[0], 'a', "the write went to our pipe");
}

Test(fdguard, a_dup2_onto_ours_waits_for_a_write_in_flight_when_another_call_came_and_went)
{
    while_a_write_is_in_flight(dup2_onto_event_copy, 1);
}

Test(fdguard, a_release_waits_for_a_call_in_flight)
{
    while_a_write_is_in_flight(release_event_copy, 1);
    cr_assert_eq(tshim_fdguard_get(TSHIM_FDGUARD_EVENT), -1);
}

/* Several threads write through the guard to the event slot while the host dup2s
 * its own pipe onto the slot's number, again and again: no byte of theirs may land
 * in the host's pipe, however their calls overlap. */
static _Atomic int writing;

static void *keep_writing(void *arg)
{
    (void)arg;
    while (writing) {
        tshim_fdguard_write_slot(TSHIM_FDGUARD_EVENT, "w", 1);
        sched_yield(); /* a pause: a slot kept busy without one would starve the dup2 */
    }
    return NULL;
}

Test(fdguard, overlapping_writes_never_land_in_the_hosts_file, .timeout = 30)
{
    int p[2], host[2];
    char c;
    cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
    cr_assert_eq(pipe2(host, O_NONBLOCK), 0);
    cr_assert_geq(tshim_fdguard_adopt_copy(TSHIM_FDGUARD_EVENT, p[1]), 0);
    pthread_t t[3];
    writing = 1;
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, keep_writing, NULL);
    for (int i = 0; i < 20000; i++) {
        int n = tshim_fdguard_get(TSHIM_FDGUARD_EVENT);
        cr_assert_eq(dup2(host[1], n), n);
        close(n);
        while (read(p[0], &c, 1) == 1)
            ;
    }
    writing = 0;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(read(host[0], &c, 1), -1, "a write landed in the host's pipe");
    cr_assert_eq(errno, EAGAIN);
}
