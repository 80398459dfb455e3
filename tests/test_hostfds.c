/* test_hostfds.c: a host's descriptor calls that touch the shim's numbers or its table do what they do without it. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

TestSuite(hostfds, .fini = h_fini, .timeout = 120);

/* host_fdops in mode under the shim, connected to h_srv, and ready for "go". */
static void start(const char *mode, const char *extra_env, const char *more_env)
{
    h_start_server(NULL);
    const char *argv[] = {H_HOST("host_fdops"), mode, NULL};
    h_start_host_ready(argv, 1, 1, "ready", extra_env, more_env, NULL);
}

/* The shim still delivers: one more event runs the hook the nth time. */
static void still_listens(int n)
{
    char want[32];
    snprintf(want, sizeof want, "refresh %d\n", n);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, want, H_WAIT_MS), 0, "%s / %s",
                 h_host.out.data ? h_host.out.data : "", h_host.err.data ? h_host.err.data : "");
}

Test(hostfds, close_range_with_unshare_closes_in_the_table_the_shim_shares)
{
    start("unshare", NULL, NULL);
    h_write(&h_host, "go\n");
    /* The reader, a child forked before, holds the read end: it sees the end only
     * if no table the host's process uses still holds the write end. The two
     * processes print in any order: count lines rather than follow a cursor. */
    cr_assert_eq(h_wait_count(&h_host, &h_host.out, "closed", 1, H_WAIT_MS), 1, "%s",
                 h_host.out.data);
    cr_assert_eq(h_wait_count(&h_host, &h_host.out, "reader saw the end", 1, H_WAIT_MS), 1,
                 "the write end stayed open in the table the shim's thread kept: %s",
                 h_host.out.data);
    still_listens(1);
}

Test(hostfds, a_failing_dup2_or_dup3_onto_the_shims_number_leaves_nothing_behind)
{
    start("dupfail", NULL, NULL);
    h_write(&h_host, "go\n");
    /* The call fails as it would without the shim, with no second connection to
     * Toki left open, and the number is still none of the host's. */
    cr_assert_eq(h_expect(&h_host, &h_host.out,
                          "dup2: -1 Bad file descriptor; connections 1; close: Bad file descriptor",
                          H_WAIT_MS),
                 0, "%s", h_host.out.data);
    cr_assert_eq(h_expect(&h_host, &h_host.out,
                          "dup3: -1 Invalid argument; connections 1; close: Bad file descriptor",
                          H_WAIT_MS),
                 0, "%s", h_host.out.data);
    still_listens(1);
}

/* A host that finds the shim's socket (by its peer, in /proc/self/fd) cannot copy
 * it: to the host the number is not open, whatever the call. */
Test(hostfds, no_call_copies_the_shims_socket_from_its_number)
{
    static const char *const said[] = {"dup: -1 Bad file descriptor",
                                       "F_DUPFD: -1 Bad file descriptor",
                                       "F_DUPFD_CLOEXEC: -1 Bad file descriptor",
                                       "dup2: -1 Bad file descriptor",
                                       "dup3: -1 Bad file descriptor",
                                       "F_GETFD: -1 Bad file descriptor",
                                       "F_SETFL: -1 Bad file descriptor",
                                       "connections 1"};
    start("dupours", NULL, NULL);
    h_write(&h_host, "go\n");
    for (size_t i = 0; i < sizeof said / sizeof *said; i++)
        cr_assert_eq(h_expect(&h_host, &h_host.out, said[i], H_WAIT_MS), 0, "%s", h_host.out.data);
    still_listens(1);
}

/* A daemon that closes fd 0 and opens a file expects that file at 0; the shim
 * writes log lines meanwhile, to a file that must never be at 0. */
Test(hostfds, the_log_file_never_takes_the_stdin_a_daemon_reopens)
{
    char log_dir[] = "/tmp/toki-hostfds-XXXXXX", env[96], path[128], buf[256];
    cr_assert_not_null(mkdtemp(log_dir));
    snprintf(env, sizeof env, "TOKI_SHIM_LOG_FILE=%s/log", log_dir);
    start("reopen0", "TOKI_SHIM_LOG=info", env);
    /* The first line, "connected", is written before the first event runs the hook. */
    still_listens(1);
    h_write(&h_host, "go\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "spinning", H_WAIT_MS), 0, "%s", h_host.out.data);
    /* While the host closes and reopens fd 0 over and over, each event writes a line. */
    h_send_events(300);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 301\n", H_WAIT_MS), 0, "%s", h_host.err.data);
    h_write(&h_host, "stop\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "reopened stdin", H_WAIT_MS), 0, "%s", h_host.out.data);
    const char *said = strstr(h_host.out.data, "reopened stdin");
    cr_assert_not_null(strstr(said, " 0 not at 0"),
                       "the host's open got another number than the 0 it had closed: %s", said);
    snprintf(path, sizeof path, "%s/log", log_dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    int events = 0;
    while (fgets(buf, sizeof buf, f))
        events += strstr(buf, "]: event AUTH_REFRESHED: called toki_on_refresh") != NULL;
    fclose(f);
    cr_assert_eq(events, 301, "%d lines for 301 events", events);
    unlink(path);
    rmdir(log_dir);
}

/* The host forks again and again while the shim writes log lines, and each child
 * asks for the local time: no child may inherit a lock that a line held (glibc's
 * gmtime_r takes the time zone lock, which its fork does not reset). At debug,
 * an event that is no trigger costs the shim little but its log line; a raw
 * server sends them by the ten thousand, which toki-shim serve would not queue. */
Test(hostfds, a_child_forked_while_a_log_line_is_written_gets_the_local_time)
{
    static char notes[10000 * 5 + 16];
    char log_dir[] = "/tmp/toki-hostfds-XXXXXX", env_log[96], env_port[32], path[128];
    int port, l = h_raw_listen(&port);
    cr_assert_not_null(mkdtemp(log_dir));
    snprintf(env_log, sizeof env_log, "TOKI_SHIM_LOG_FILE=%s/log", log_dir);
    snprintf(env_port, sizeof env_port, "TOKI_PORT=%d", port);
    const char *argv[] = {H_HOST("host_fdops"), "forks", NULL};
    const char *env[] = {env_port, "TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_LOG=debug", env_log, NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    int c = h_raw_accept(l, H_WAIT_MS);
    cr_assert_geq(c, 0, "%s", h_host.err.data);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s", h_host.err.data);
    h_write(&h_host, "go\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "forking", H_WAIT_MS), 0, "%s", h_host.out.data);
    for (int i = 0; i < 10000; i++)
        memcpy(notes + 5 * i, "NOTE\n", 5);
    strcpy(notes + 5 * 10000, "AUTH_REFRESHED\n");
    for (int i = 1; i <= 30; i++) {
        char want[32];
        h_raw_send(c, notes);
        snprintf(want, sizeof want, "refresh %d\n", i);
        cr_assert_eq(h_expect(&h_host, &h_host.out, want, H_WAIT_MS), 0, "%s", h_host.out.data);
    }
    h_write(&h_host, "stop\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "forked", H_WAIT_MS), 0,
                 "a child hung, or failed: %s", h_signals(&h_host));
    snprintf(path, sizeof path, "%s/log", log_dir);
    unlink(path);
    rmdir(log_dir);
    close(c);
    close(l);
}

/* On a kernel without close_range (before 5.9), glibc's closefrom falls back to
 * closing one descriptor at a time; the shim's split of the range around its own
 * must do the same below them. The host makes close_range fail with ENOSYS for
 * its own thread with a seccomp filter. */
Test(hostfds, closefrom_closes_everything_but_ours_on_a_kernel_without_close_range)
{
    start("closefrom", NULL, NULL);
    h_write(&h_host, "go\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "closefrom", H_WAIT_MS), 0, "%s", h_host.out.data);
    if (strstr(h_host.out.data, "closefrom not tried"))
        cr_skip_test("%s", strstr(h_host.out.data, "closefrom not tried"));
    cr_assert_not_null(strstr(h_host.out.data, "closefrom without close_range: 0 of 4 still open"),
                       "%s", h_host.out.data);
    still_listens(1);
}

/* A host that spins on a descriptor idiom while the shim makes descriptors of its
 * own at every event: it blocks SIGHUP and takes it with a signalfd, and the shim
 * reads /proc (a directory and a file per thread) before it may send the signal.
 * Returns the host's summary line, which starts with head. */
static const char *spin_through_events(const char *mode, const char *head)
{
    start(mode, "TOKI_SHIM_ACTION=signal", NULL);
    h_write(&h_host, "go\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "spinning", H_WAIT_MS), 0, "%s", h_host.out.data);
    for (int i = 1; i <= 300; i++) {
        char want[32];
        h_send_events(1);
        snprintf(want, sizeof want, "signal %d\n", i);
        cr_assert_eq(h_expect(&h_host, &h_host.out, want, H_WAIT_MS), 0, "%s / %s",
                     h_host.out.data, h_host.err.data ? h_host.err.data : "");
    }
    h_write(&h_host, "stop\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, head, H_WAIT_MS), 0, "%s", h_host.out.data);
    return strstr(h_host.out.data, head);
}

/* A host close of 0 made just before the shim's open must still leave 0 to the
 * host's next open. */
Test(hostfds, a_daemon_reopening_stdin_gets_it_back_while_the_shim_reads_proc)
{
    const char *said = spin_through_events("reopen0sfd", "reopened stdin");
    cr_assert_not_null(strstr(said, " 0 not at 0"),
                       "the host's open got another number than the 0 it had closed: %s", said);
}

/* A single-threaded host's dup2 onto the lowest free number never meets one of the
 * shim's opens in flight there (the kernel's EBUSY). */
Test(hostfds, a_dup2_onto_the_lowest_free_number_never_says_ebusy)
{
    const char *said = spin_through_events("dup2lowsfd", "dup2 onto the lowest");
    cr_assert_not_null(strstr(said, ": 0 EBUSY"), "%s", said);
}

/* A thread cancelled inside close(0) leaves no close counted as in flight: else the
 * shim would wait 100 ms before each descriptor it makes from then on, which for a
 * host that takes SIGHUP with a signalfd (the shim reads /proc at each event) is
 * most of a second per event. */
Test(hostfds, a_thread_cancelled_in_close_of_stdin_slows_nothing_down)
{
    start("cancel0sfd", "TOKI_SHIM_ACTION=signal", NULL);
    h_write(&h_host, "go\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "closer cancelled, fd 0 open", H_WAIT_MS), 0, "%s",
                 h_host.out.data);
    long slowest = 0;
    for (int i = 1; i <= 5; i++) {
        char want[32];
        struct timespec a, b;
        snprintf(want, sizeof want, "signal %d\n", i);
        clock_gettime(CLOCK_MONOTONIC, &a);
        h_send_events(1);
        cr_assert_eq(h_expect(&h_host, &h_host.out, want, H_WAIT_MS), 0, "%s", h_host.out.data);
        clock_gettime(CLOCK_MONOTONIC, &b);
        long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
        slowest = ms > slowest ? ms : slowest;
    }
    /* Without the leak a few milliseconds; with it, 100 ms for each of the four or
     * more descriptors an event's look at /proc makes. */
    cr_assert_lt(slowest, 300, "an event took %ld ms to reach the signalfd", slowest);
}
