/* test_events.c: the event fd, the generation counter and the status, as a program sees them. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hosts/seccomp_filter.h"
#include "shim/dispatch.h"
#include "shim/events.h"
#include "common/fdguard.h"
#include "toki_shim.h"
#include "unit.h"

TestSuite(events, .init = unit_resolve_libc);

static uint64_t drain(int fd)
{
    uint64_t v = 0;
    if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
        return 0;
    return v;
}

Test(events, inert_says_not_supported_and_status_still_answers)
{
    errno = 0;
    cr_assert_eq(toki_shim_event_fd(), -1);
    cr_assert_eq(errno, ENOTSUP);
    cr_assert_eq(toki_shim_generation(), 0);
    struct toki_shim_status s = {.size = sizeof s};
    cr_assert_eq(toki_shim_status(&s), 0);
    cr_assert_eq(s.active, 0);
    cr_assert_eq(s.connected, 0);
    cr_assert_eq(s.version, TOKI_SHIM_STATUS_VERSION);
    cr_assert_eq(s.size, sizeof s);
}

Test(events, one_fd_nonblocking_close_on_exec_posted_with_the_count)
{
    tshim_events_activate(1);
    errno = EXDEV;
    int fd = toki_shim_event_fd();
    cr_assert_geq(fd, 0);
    cr_assert_eq(errno, EXDEV, "errno changed by a call that succeeded");
    cr_assert_eq(toki_shim_event_fd(), fd, "a second call gives the same fd");
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
    cr_assert_eq(drain(fd), 0, "readable before any event");
    tshim_events_post(1);
    tshim_events_post(2);
    cr_assert_eq(drain(fd), 3);
    cr_assert_eq(drain(fd), 0);
    /* The shim writes to a copy of its own, which the host cannot close. */
    int copy = tshim_fdguard_get(TSHIM_FDGUARD_EVENT);
    cr_assert_geq(copy, 0);
    cr_assert_neq(copy, fd);
    cr_assert_eq(close(copy), -1);
    cr_assert_eq(errno, EBADF);
}

Test(events, a_number_the_program_closed_and_reused_is_never_written)
{
    tshim_events_activate(1);
    int fd = toki_shim_event_fd();
    cr_assert_eq(close(fd), 0);
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
    int reused = p[0] == fd ? p[0] : p[1] == fd ? p[1] : dup2(p[1], fd);
    cr_assert_eq(reused, fd);
    tshim_events_post(1);
    char c;
    cr_assert_eq(read(p[0], &c, 1), -1, "the shim wrote into the host's pipe");
    cr_assert_eq(errno, EAGAIN);
}

Test(events, status_fits_callers_of_any_size)
{
    tshim_events_activate(1);
    tshim_events_trigger();
    tshim_events_trigger();
    tshim_events_line();
    tshim_events_up(0);
    tshim_events_down();
    tshim_events_up(1);
    tshim_events_fail("the connection to Toki was lost", ECONNRESET);
    cr_assert_eq(toki_shim_generation(), 2);

    struct toki_shim_status s;
    memset(&s, 0xff, sizeof s);
    s.size = sizeof s;
    cr_assert_eq(toki_shim_status(&s), 0);
    cr_assert_eq(s.active, 1);
    cr_assert_eq(s.connected, 1);
    cr_assert_eq(s.generation, 2);
    cr_assert_eq(s.events, 1);
    cr_assert_eq(s.reconnects, 1);
    cr_assert_eq(s.last_errno, ECONNRESET);
    cr_assert_str_eq(s.last_error, "the connection to Toki was lost");

    /* An older caller that knows only size and version: nothing written past them. */
    unsigned char old[16];
    memset(old, 0xaa, sizeof old);
    unsigned size = 8;
    memcpy(old, &size, sizeof size);
    cr_assert_eq(toki_shim_status((struct toki_shim_status *)(void *)old), 0);
    memcpy(&size, old, sizeof size);
    cr_assert_eq(size, 8);
    for (size_t i = 8; i < sizeof old; i++)
        cr_assert_eq(old[i], 0xaa, "byte %zu written", i);

    /* A newer caller with a bigger struct: ours, then zeros, and size says how much. */
    unsigned char newer[sizeof s + 32];
    memset(newer, 0xaa, sizeof newer);
    size = sizeof newer;
    memcpy(newer, &size, sizeof size);
    cr_assert_eq(toki_shim_status((struct toki_shim_status *)(void *)newer), 0);
    memcpy(&size, newer, sizeof size);
    cr_assert_eq(size, sizeof s);
    for (size_t i = sizeof s; i < sizeof newer; i++)
        cr_assert_eq(newer[i], 0, "byte %zu not zeroed", i);

    errno = 0;
    s.size = 2;
    cr_assert_eq(toki_shim_status(&s), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(toki_shim_status(NULL), -1);
}

Test(events, a_forked_child_has_an_eventfd_of_its_own_at_the_same_number)
{
    tshim_events_activate(1);
    int fd = toki_shim_event_fd();
    pid_t pid = fork();
    if (pid == 0) {
        tshim_events_fork_child(); /* what the atfork handler does */
        uint64_t five = 5;
        int inert = toki_shim_event_fd() == -1 && errno == ENOTSUP;
        int open = fcntl(fd, F_GETFD) >= 0;
        _exit(write(fd, &five, sizeof five) == sizeof five && inert && open ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert_eq(status, 0, "in the child: the number is open, and the shim inert");
    cr_assert_eq(drain(fd), 0, "the child's write reached the parent's eventfd");
    tshim_events_post(1);
    cr_assert_eq(drain(fd), 1);
}

/* The program closed its event fd and reused the number for a pipe: a forked
 * child must find its pipe there, not an eventfd of ours. */
Test(events, a_number_the_program_reused_is_left_alone_in_a_forked_child)
{
    tshim_events_activate(1);
    int fd = toki_shim_event_fd(), p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(close(fd), 0);
    cr_assert_eq(dup2(p[1], fd), fd);
    pid_t pid = fork();
    if (pid == 0) {
        tshim_events_fork_child();
        struct stat st;
        _exit(fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && write(fd, "k", 1) == 1 ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert_eq(status, 0, "the child's descriptor %d is no longer its pipe (status %x)", fd, status);
    char c;
    cr_assert_eq(read(p[0], &c, 1), 1);
    cr_assert_eq(c, 'k');
}

static void *posts(void *arg);

/* A number the program closed (closefrom(3) does) is no longer its event fd: the
 * listener takes it as not asked for, and the next call makes a new one in place
 * of the shim's copy of the old. */
Test(events, a_closed_and_reused_number_is_forgotten_and_a_new_one_made)
{
    tshim_events_activate(1);
    int fd = toki_shim_event_fd(), copy = tshim_fdguard_get(TSHIM_FDGUARD_EVENT), p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
    cr_assert(tshim_events_requested());
    cr_assert_eq(close(fd), 0);
    cr_assert_not(tshim_events_requested(), "a closed number still counts as asked for");
    cr_assert_eq(dup2(p[1], fd), fd);
    cr_assert_not(tshim_events_requested(), "a reused number still counts as asked for");
    errno = EXDEV;
    int again = toki_shim_event_fd();
    cr_assert_geq(again, 0);
    cr_assert_neq(again, fd);
    cr_assert_eq(errno, EXDEV);
    cr_assert(tshim_events_requested());
    cr_assert_eq(toki_shim_event_fd(), again);
    cr_assert_neq(tshim_fdguard_get(TSHIM_FDGUARD_EVENT), copy);
    cr_assert_eq(fcntl(copy, F_GETFD), -1, "the copy of the old eventfd is still open");
    tshim_events_post(2);
    cr_assert_eq(drain(again), 2);
    char c;
    cr_assert_eq(read(p[0], &c, 1), -1, "the shim wrote into the host's pipe");
    cr_assert_eq(errno, EAGAIN);
}

/* Where kcmp is denied, the shim knows its eventfd by the owner it gave it: not a
 * socket of the program's at the same number that this process owns too (for
 * SIGIO). */
Test(events, with_kcmp_denied_the_mark_tells_ours_from_a_reused_number)
{
    tshim_events_activate(1);
    int fd = toki_shim_event_fd();
    cr_assert_eq(seccomp_filter_one(SYS_kcmp, SECCOMP_RET_ERRNO | EPERM, 0), 0, "%s", strerror(errno));
    cr_assert_eq(toki_shim_event_fd(), fd);
    cr_assert(tshim_events_requested());
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(sock, 0);
    cr_assert_eq(fcntl(sock, F_SETOWN, getpid()), 0);
    cr_assert_eq(dup2(sock, fd), fd);
    cr_assert_not(tshim_events_requested());
    int again = toki_shim_event_fd();
    cr_assert_neq(again, fd);
    cr_assert_geq(again, 0);
    cr_assert_eq(toki_shim_event_fd(), again, "the new one is known by its mark too");
    pid_t pid = fork();
    if (pid == 0) {
        tshim_events_fork_child();
        struct stat st;
        int sock_kept = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
        _exit(sock_kept && drain(again) == 0 ? 0 : 1);
    }
    tshim_events_post(1); /* the parent's, before or after the child's drain */
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert_eq(status, 0, "the child lost its socket, or shares the parent's eventfd");
    cr_assert_eq(drain(again), 1);
}

/* The listener posts while the program's number is reused and a new one made,
 * again and again, and the host takes the number of the old copy at once: no
 * post may land in the host's pipe (the old copy is closed only after a post
 * that loaded it). */
Test(events, posts_racing_a_new_event_fd_never_reach_the_hosts_files)
{
    int p[2];
    tshim_events_activate(1);
    cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, posts, NULL), 0);
    for (int i = 0; i < 2000; i++) {
        int fd = toki_shim_event_fd(), old = tshim_fdguard_get(TSHIM_FDGUARD_EVENT);
        cr_assert_eq(dup2(p[1], fd), fd);
        cr_assert_neq(toki_shim_event_fd(), fd);
        cr_assert_eq(dup2(p[1], old), old, "the old copy's number is not free");
        cr_assert_eq(close(old), 0);
        cr_assert_eq(close(fd), 0);
    }
    pthread_join(t, NULL);
    char c;
    cr_assert_eq(read(p[0], &c, 1), -1, "a post landed in the host's pipe");
    cr_assert_eq(errno, EAGAIN);
}

static volatile sig_atomic_t hups;
static void on_hup(int s)
{
    (void)s;
    hups++;
}

Test(events, auto_posts_the_fd_and_sends_no_signal_once_the_program_asked_for_it)
{
    tshim_log_setup(TSHIM_LOG_QUIET, NULL);
    signal(SIGHUP, on_hup);
    struct tshim_config c = {.action = TSHIM_DECIDE_AUTO};
    c.signo = SIGHUP;
    c.events = "AUTH_REFRESHED\0";
    tshim_events_activate(1);
    tshim_dispatch_act(&c, "AUTH_REFRESHED", 1);
    cr_assert_eq(hups, 1, "before the program asked for the fd, auto signals");
    int fd = toki_shim_event_fd();
    tshim_dispatch_act(&c, "AUTH_REFRESHED", 4);
    cr_assert_eq(hups, 1, "a signal on top of the fd");
    cr_assert_eq(drain(fd), 4);
    c.action = TSHIM_DECIDE_SIGNAL;
    tshim_dispatch_act(&c, "AUTH_REFRESHED", 1);
    cr_assert_eq(hups, 2, "an explicit signal action still signals");
    cr_assert_eq(drain(fd), 1, "and posts the fd too");
}

static pthread_barrier_t start;

static void *asks_for_the_fd(void *arg)
{
    pthread_barrier_wait(&start);
    *(int *)arg = toki_shim_event_fd();
    return NULL;
}

Test(events, threads_asking_at_once_all_get_the_same_fd)
{
    enum { N = 8 };
    pthread_t t[N];
    int fds[N];
    tshim_events_activate(1);
    pthread_barrier_init(&start, NULL, N);
    for (int i = 0; i < N; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, asks_for_the_fd, &fds[i]), 0);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    cr_assert_geq(fds[0], 0);
    for (int i = 1; i < N; i++)
        cr_assert_eq(fds[i], fds[0], "thread %d got another fd", i);
    cr_assert_neq(tshim_fdguard_get(TSHIM_FDGUARD_EVENT), -1);
}

#define POSTS 20000

static void *posts(void *arg)
{
    (void)arg;
    for (int i = 0; i < POSTS; i++)
        tshim_events_post(1);
    return NULL;
}

/* The listener posts while the host dup2s its own pipe onto the number of the
 * shim's copy, again and again: every post must reach the eventfd (the copy moves
 * aside first), and none the host's pipe (a post that read the old number lands
 * before the host's file takes it). */
Test(events, posts_racing_a_host_dup2_onto_our_copy_all_arrive_and_none_strays)
{
    tshim_events_activate(1);
    int fd = toki_shim_event_fd();
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, posts, NULL), 0);
    uint64_t got = 0;
    for (int i = 0; i < 2000; i++) {
        int copy = tshim_fdguard_get(TSHIM_FDGUARD_EVENT);
        cr_assert_eq(dup2(p[1], copy), copy);
        cr_assert_neq(tshim_fdguard_get(TSHIM_FDGUARD_EVENT), copy, "the copy did not move aside");
        cr_assert_eq(close(copy), 0, "the host could not close its own descriptor");
        got += drain(fd);
    }
    pthread_join(t, NULL);
    got += drain(fd);
    cr_assert_eq(got, POSTS, "%llu of %d posts arrived", (unsigned long long)got, POSTS);
    char c;
    cr_assert_eq(read(p[0], &c, 1), -1, "a post landed in the host's pipe");
    cr_assert_eq(errno, EAGAIN);
}
