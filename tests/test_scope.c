/* test_scope.c: only the service listens: launchers, shells, scripts, daemons and the programs a service starts. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

TestSuite(scope, .fini = h_fini, .timeout = 120);

/* Starts argv under the shim with h_srv's address, logging at info, and waits for
 * `clients` connections to be authenticated. */
static void start(const char *const argv[], const char *extra, int clients)
{
    h_start_server(NULL);
    h_start_host_ready(argv, 1, clients, NULL, "TOKI_SHIM_LOG=info", extra, NULL);
}

/* The number of connections the server has seen, once a connection made later
 * than the settle delay would have shown. */
static int connections(void)
{
    h_expect(&h_srv.p, &h_srv.p.err, "no such line", 1500);
    return h_count(&h_srv.p, &h_srv.p.err, " connected", 0);
}

/* argv under the shim: the one client of the tree gets two refreshes (the program
 * that listens is host_hook, whatever starts it). */
static void only_the_service_listens(const char *const argv[], const char *extra)
{
    start(argv, extra, 1);
    h_send_each(2, &h_host.out, "refresh ");
    cr_assert_eq(connections(), 1, "%s", h_srv.p.err.data);
}

static void exits_with(int status)
{
    int st = h_wait(&h_host, H_WAIT_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == status, "wait status %#x; err: %s", st,
              h_host.err.data);
}

Test(scope, timeout_and_the_shell_it_runs_survive_three_refreshes)
{
    const char *argv[] = {"/usr/bin/timeout", "30", "/bin/sh", "-c", "read x; echo survived", NULL};
    start(argv, NULL, 1); /* the shell; timeout is a launcher */
    h_send_each(3, &h_host.err, "event AUTH_REFRESHED: nothing to do");
    h_write(&h_host, "go\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "survived", H_WAIT_MS), 0, "%s", h_host.err.data);
    exits_with(0);
    cr_assert_eq(connections(), 1);
}

Test(scope, make_survives_three_refreshes)
{
    if (access("/usr/bin/make", X_OK) != 0)
        cr_skip_test("make is not installed");
    char dir[] = "/tmp/test_scope.XXXXXX", mk[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(mk, sizeof mk, "%s/Makefile", dir);
    FILE *f = fopen(mk, "w");
    fputs("all:\n\t@read x; echo made\n", f);
    fclose(f);
    const char *argv[] = {"/usr/bin/make", "-s", "-f", mk, NULL};
    /* make is a launcher: the recipe's shell listens, and make is never signalled. */
    start(argv, NULL, 1);
    h_send_each(3, &h_host.err, "event AUTH_REFRESHED: nothing to do");
    h_write(&h_host, "go\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "made", H_WAIT_MS), 0, "%s", h_host.err.data);
    exits_with(0);
    cr_assert_eq(connections(), 1);
    unlink(mk);
    rmdir(dir);
}

Test(scope, unshare_of_a_user_namespace_works_under_an_active_shim)
{
    if (system("unshare -U true 2>/dev/null") != 0)
        cr_skip_test("this machine allows no new user namespace even without the shim");
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, NULL};
    const char *argv[] = {"/usr/bin/unshare", "-U", "/bin/true", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    exits_with(0);
}

Test(scope, a_script_of_100_short_commands_makes_one_connection)
{
    const char *argv[] = {"/bin/sh", "-c",
                          "i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done; echo done; "
                          "read x",
                          NULL};
    start(argv, NULL, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "done", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(connections(), 1, "%s", h_srv.p.err.data);
}

Test(scope, the_entrypoint_pattern_gets_every_refresh)
{
    const char *argv[] = {"/bin/sh", "-c", "echo starting; exec \"$0\"", H_HOST("host_hook"), NULL};
    start(argv, NULL, 1);
    h_send_each(3, &h_host.out, "refresh ");
    cr_assert_eq(connections(), 1);
}

Test(scope, two_services_started_by_one_shell_each_get_every_refresh)
{
    /* A background job of a shell without job control reads /dev/null: fd 3 keeps
     * the test's stdin for it. */
    const char *argv[] = {"/bin/sh", "-c", "exec 3<&0; \"$0\" <&3 3<&- & \"$0\" 3<&-; wait",
                          H_HOST("host_hook"), NULL};
    start(argv, NULL, 3); /* the shell, and each service */
    for (int i = 1; i <= 3; i++) {
        char want[32];
        snprintf(want, sizeof want, "refresh %d\n", i);
        h_send_events(1);
        cr_assert_eq(h_wait_count(&h_host, &h_host.out, want, 2, H_WAIT_MS), 2, "%s",
                     h_host.out.data);
    }
}

Test(scope, a_service_that_daemonizes_gets_every_refresh)
{
    h_skip_fork_under_sanitizers();
    const char *argv[] = {H_HOST("host_daemon"), NULL};
    start(argv, NULL, 1); /* the daemon; its parent exits inside daemon() */
    h_send_each(3, &h_host.out, " refresh ");
    cr_assert_eq(connections(), 1);
}

Test(scope, a_signalfd_daemon_is_sent_the_signal_it_blocks)
{
    const char *argv[] = {H_HOST("host_signalfd"), NULL};
    start(argv, NULL, 1);
    h_send_each(3, &h_host.out, "reload ");
    h_close_stdin(&h_host);
    exits_with(0);
}

Test(scope, a_program_the_service_starts_makes_no_connection)
{
    const char *argv[] = {H_HOST("host_spawn"), "/bin/sleep", "1", NULL};
    start(argv, NULL, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "child ended", H_WAIT_MS), 0);
    cr_assert_eq(connections(), 1, "%s", h_srv.p.err.data);
}

Test(scope, inherit_all_makes_every_descendant_a_client)
{
    const char *argv[] = {H_HOST("host_spawn"), "/bin/sleep", "3", NULL};
    start(argv, "TOKI_SHIM_INHERIT=all", 2);
}

Test(scope, a_program_added_to_the_launchers_passes_the_role_on)
{
    const char *argv[] = {H_HOST("host_spawn"), H_HOST("host_hook"), NULL};
    only_the_service_listens(argv, "TOKI_SHIM_LAUNCHERS=+host_spawn");
}

Test(scope, bash_passes_the_role_to_the_programs_it_starts)
{
    if (access("/bin/bash", X_OK) != 0)
        cr_skip_test("bash is not installed");
    /* bash defines its own setenv; the role must reach its children all the same. */
    const char *argv[] = {"/usr/bin/timeout", "30", "/bin/bash", "-c", "\"$0\"; true",
                          H_HOST("host_hook"), NULL};
    start(argv, NULL, 2); /* bash, and the service it runs */
    h_send_each(2, &h_host.out, "refresh ");
}

Test(scope, a_service_in_a_subshell_gets_every_refresh)
{
    const char *argv[] = {"/bin/sh", "-c", "( \"$0\"; true )", H_HOST("host_hook"), NULL};
    start(argv, NULL, 2); /* the shell, and the service; the subshell is a fork */
    h_send_each(2, &h_host.out, "refresh ");
    cr_assert_eq(connections(), 2);
}

Test(scope, a_launcher_whose_child_outlives_it_passes_the_role_on)
{
    /* setsid -f forks and exits: the service's parent is gone when it starts. */
    const char *argv[] = {"/bin/sh", "-c", "setsid -f \"$0\"; read x", H_HOST("host_hook"), NULL};
    start(argv, NULL, 2);
    h_send_each(2, &h_host.out, "refresh ");
}

Test(scope, a_daemon_with_follow_fork_still_listens)
{
    h_skip_fork_under_sanitizers();
    const char *argv[] = {H_HOST("host_daemon"), NULL};
    start(argv, "TOKI_SHIM_FOLLOW_FORK=1", 1);
    h_send_each(3, &h_host.out, " refresh ");
}

Test(scope, a_signal_blocked_but_waited_for_by_no_one_is_never_sent)
{
    const char *argv[] = {H_HOST("host_sigwait"), NULL};
    start(argv, NULL, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    h_send_each(2, &h_host.err, "event AUTH_REFRESHED: nothing to do");
    h_close_stdin(&h_host);
    exits_with(0);
}

Test(scope, a_program_known_to_exit_on_the_signal_is_never_sent_it)
{
    /* host_signal has a SIGHUP handler; named in TOKI_SHIM_NO_SIGNAL it gets none. */
    const char *argv[] = {H_HOST("host_signal"), "HUP", NULL};
    start(argv, "TOKI_SHIM_NO_SIGNAL=+host_signal", 1);
    h_send_each(2, &h_host.err, "event AUTH_REFRESHED: nothing to do");
    cr_assert_eq(h_count(&h_host, &h_host.err, "exits on it even with a handler", 0), 1, "%s",
                 h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "signal ", 0), 0, "%s", h_host.out.data);
}

/* sigwait: while a thread waits, the kernel shows the signal unblocked in that
 * thread; and between two waits it is blocked everywhere with no one waiting. The
 * shim must send it each time (it stays pending until the next wait). */
/* host_sigwaiter in a mode, under the shim, its waiter asleep in sigwait. */
static void start_sigwaiter(const char *mode)
{
    const char *argv[] = {H_HOST("host_sigwaiter"), mode, NULL};
    start(argv, NULL, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
}

static void sigwaiter_gets_every_refresh(const char *where)
{
    start_sigwaiter(where);
    h_send_each(5, &h_host.out, "reload ");
    h_close_stdin(&h_host);
    exits_with(0);
}

Test(scope, a_thread_in_sigwait_is_sent_the_signal)
{
    sigwaiter_gets_every_refresh("thread");
}

Test(scope, a_main_in_sigwait_is_sent_the_signal)
{
    sigwaiter_gets_every_refresh("main");
}

/* A script run by its path: its subshells carry the script's name, not the
 * shell's; a service started from one of them is the shell's all the same. */
Test(scope, a_service_in_a_subshell_of_a_script_run_by_path_gets_every_refresh)
{
    char dir[] = "/tmp/toki-scope-XXXXXX", script[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(script, sizeof script, "%s/entry.sh", dir);
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    /* stdin goes to the service through 3: an asynchronous list reads /dev/null. */
    fputs("#!/bin/sh\nexec 3<&0\n{ \"$1\" <&3; true; } &\nwait\n", f);
    fclose(f);
    chmod(script, 0755);
    const char *argv[] = {script, H_HOST("host_hook"), NULL};
    start(argv, NULL, 2); /* the script's shell, and the service */
    h_send_each(2, &h_host.out, "refresh ");
    h_close_stdin(&h_host);
    exits_with(0);
    unlink(script);
    rmdir(dir);
}

/* The shell exits at once: the service's parent is gone (init or a subreaper
 * took it in) before its constructor runs. */
Test(scope, a_background_service_that_outlives_its_shell_gets_every_refresh)
{
    const char *argv[] = {"/bin/sh", "-c", "exec 3<&0; \"$0\" <&3 &", H_HOST("host_hook"), NULL};
    start(argv, NULL, 1); /* the service (the shell ends before its settle delay) */
    h_send_each(2, &h_host.out, "refresh ");
    h_close_stdin(&h_host);
}

/* Every descendant listening, or only the first: a launcher never is one, and
 * never passes a signal on to the program it started. */
Test(scope, a_launcher_is_never_a_client_when_every_descendant_is)
{
    const char *argv[] = {"/usr/bin/timeout", "60", H_HOST("host_signal"), "HUP", NULL};
    start(argv, "TOKI_SHIM_INHERIT=all", 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    h_send_each(2, &h_host.out, "signal ");
    cr_assert_eq(connections(), 1, "%s", h_srv.p.err.data);
    h_close_stdin(&h_host);
    exits_with(0);
}

Test(scope, without_inheritance_the_program_a_launcher_starts_is_the_first)
{
    const char *argv[] = {"/usr/bin/timeout", "60", H_HOST("host_hook"), NULL};
    only_the_service_listens(argv, "TOKI_SHIM_INHERIT=0");
}

/* busybox APPLET is known by the applet: busybox time is a launcher (as busybox,
 * a name of the shells list once, it listened beside the service). */
Test(scope, a_busybox_applet_is_known_by_its_name)
{
    if (access("/bin/busybox", X_OK) != 0)
        cr_skip_test("busybox is not installed");
    const char *argv[] = {"/bin/busybox", "time", H_HOST("host_hook"), NULL};
    only_the_service_listens(argv, NULL);
}

/* A bad value is reported by the first process to read it, not again by each
 * program it starts (their stderr may be data the service reads). */
static void says_a_bad_value_once(const char *const argv[])
{
    const char *env[] = {"TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_SETTLE_MS=5s", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    exits_with(0);
    cr_assert_eq(h_count(&h_host, &h_host.err, "toki-shim: ", 0), 1, "%s", h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.err, "TOKI_SHIM_SETTLE_MS=\"5s\"", 0), 1);
}

Test(scope, a_configuration_error_is_reported_once_along_a_chain_of_execs)
{
    const char *argv[] = {"/usr/bin/env", "nice", "/bin/sh", "-c", "exec /bin/true", NULL};
    says_a_bad_value_once(argv);
}

Test(scope, a_configuration_error_is_reported_once_per_tree)
{
    const char *argv[] = {"/bin/sh", "-c", "/bin/true; /bin/sh -c /bin/true; /bin/true", NULL};
    says_a_bad_value_once(argv);
}

/* A sigwait for a signal the program never blocked: between two waits the signal
 * would kill it, so the shim must not send it, waiting or not. */
Test(scope, a_sigwait_for_an_unblocked_signal_is_never_sent_it)
{
    start_sigwaiter("unblocked");
    h_send_each(2, &h_host.err, "event AUTH_REFRESHED: nothing to do");
    h_close_stdin(&h_host);
    exits_with(0);
    cr_assert_eq(h_count(&h_host, &h_host.out, "reload", 0), 0);
}

/* The shim remembers nothing of a sigwait: once the program stops waiting, the
 * signal is not sent (pending, it would kill the program when unblocked). */
Test(scope, a_program_that_stopped_waiting_is_not_sent_the_signal_again)
{
    start_sigwaiter("once");
    h_send_each(1, &h_host.out, "reload 1");
    h_send_each(1, &h_host.err, "event AUTH_REFRESHED: nothing to do");
    h_write(&h_host, "unblock\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "unblocked", H_WAIT_MS), 0);
    for (int i = 2; i <= 3; i++) { /* h_send_each counts from the stream's start */
        h_send_events(1);
        cr_assert_eq(h_wait_count(&h_host, &h_host.err, "event AUTH_REFRESHED: nothing to do", i,
                                  H_WAIT_MS),
                     i, "%s", h_host.err.data);
    }
    h_close_stdin(&h_host);
    exits_with(0);
}

/* A program a listening shell starts reads its own configuration: its error is
 * said, and strict mode ends it. */
Test(scope, a_configuration_error_below_a_listening_shell_is_reported)
{
    const char *argv[] = {"/bin/sh", "-c",
                          "TOKI_SHIM_SIGNAL=BOGUS /bin/true; TOKI_SHIM_STRICT=1 "
                          "TOKI_SHIM_SIGNAL=BOGUS /bin/true; echo rc=$?",
                          NULL};
    start(argv, NULL, 0);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "rc=2", H_WAIT_MS), 0, "%s", h_host.err.data);
    exits_with(0);
    cr_assert_eq(h_count(&h_host, &h_host.err, "TOKI_SHIM_SIGNAL=\"BOGUS\"", 0), 2, "%s",
                 h_host.err.data);
}

/* busybox sh: its subshells are named busybox, as the shell itself is. */
Test(scope, a_service_in_a_busybox_subshell_gets_every_refresh)
{
    if (access("/bin/busybox", X_OK) != 0)
        cr_skip_test("busybox is not installed");
    const char *argv[] = {"/bin/busybox", "sh", "-c", "( \"$0\"; true ); true", H_HOST("host_hook"),
                          NULL};
    start(argv, NULL, 2);
    h_send_each(2, &h_host.out, "refresh ");
}

/* A program that may not listen in a shell's tree (here, one the shell started
 * through a skipped program) keeps what it starts inert, even once it has exited:
 * its orphaned background job is not the shell's. */
Test(scope, the_orphans_of_a_program_that_may_not_listen_stay_inert)
{
    const char *argv[] = {"/bin/sh", "-c", "\"$0\" /bin/sh -c \"(sleep 1; exec $1) &\"; read x",
                          H_HOST("host_spawn"), H_HOST("host_hook"), NULL};
    start(argv, "TOKI_SHIM_SKIP=host_spawn", 1); /* the outer shell */
    cr_assert_eq(h_expect(&h_host, &h_host.out, "child ended", H_WAIT_MS), 0);
    /* host_hook says ready after a second; then it would connect within the settle delay. */
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(connections(), 1, "%s", h_srv.p.err.data);
    h_write(&h_host, "x\n");
}

/* A sigwait loop busy with a reload when the next event comes: the shim waits for
 * it to wait again (the signal would stay pending meanwhile) and sends it then. */
Test(scope, a_sigwait_loop_busy_between_two_waits_gets_every_refresh)
{
    start_sigwaiter("busy");
    h_send_each(1, &h_host.out, "reload 1");
    h_send_each(2, &h_host.out, "reload "); /* the first of these while it works */
    h_close_stdin(&h_host);
    exits_with(0);
}

/* After main's pthread_exit the process's own id names a zombie: the waiting
 * thread's wait is read through its own id. */
Test(scope, a_sigwait_thread_after_main_has_exited_gets_every_refresh)
{
    start_sigwaiter("zombie");
    h_send_each(3, &h_host.out, "reload ");
    h_close_stdin(&h_host);
    exits_with(0);
}

/* Below a listening service every program is inert: a configuration error there
 * is not said again, and strict mode does not end a program for it. */
Test(scope, a_configuration_error_below_a_listening_service_is_silent)
{
    const char *argv[] = {H_HOST("host_spawn"), "/bin/sh", "-c",
                          "TOKI_SHIM_STRICT=1 TOKI_SHIM_ACTION=bogus /bin/true; echo rc=$?", NULL};
    start(argv, NULL, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "rc=0", H_WAIT_MS), 0, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.err, "bogus", 0), 0, "%s", h_host.err.data);
}

/* busybox find is not a shell because busybox sh is one (both are named busybox):
 * what a skipped find runs stays inert. */
Test(scope, a_busybox_applet_below_busybox_sh_is_not_its_subshell)
{
    if (access("/bin/busybox", X_OK) != 0)
        cr_skip_test("busybox is not installed");
    const char *argv[] = {"/bin/busybox", "sh", "-c",
                          "/bin/busybox find /dev/null -maxdepth 0 -exec \"$0\" ';'; true",
                          H_HOST("host_hook"), NULL};
    start(argv, "TOKI_SHIM_SKIP=find", 1); /* the shell */
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(connections(), 1, "%s", h_srv.p.err.data);
    h_close_stdin(&h_host);
}

/* Under TOKI_SHIM_INHERIT=all a program below a listening service would listen:
 * its configuration error is its own to say, and strict mode ends it. */
Test(scope, a_configuration_error_of_a_program_that_would_listen_below_a_service_is_said)
{
    const char *argv[] = {H_HOST("host_spawn"), "/bin/sh", "-c",
                          "TOKI_SHIM_INHERIT=all TOKI_SHIM_STRICT=1 TOKI_SHIM_SIGNAL=USR3 /bin/true; "
                          "echo rc=$?",
                          NULL};
    start(argv, NULL, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "rc=2", H_WAIT_MS), 0, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.err, "TOKI_SHIM_SIGNAL=\"USR3\"", 0), 1, "%s",
                 h_host.err.data);
}
