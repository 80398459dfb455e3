/* test_harm.c: hosts the shim once hung or cut off: exit under a lock, forks during a hook, pthread_exit, a hook's mask, setuid. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

TestSuite(harm, .fini = h_fini, .timeout = 120);

#define HOST H_HOST("host_harm")

/* host_harm in mode (and arg) under the shim, connected and ready. */
static void start(const char *mode, const char *arg, const char *extra)
{
    h_start_server(NULL);
    const char *argv[] = {HOST, mode, arg, NULL};
    h_start_host_ready(argv, 1, 1, "ready", "TOKI_SHIM_LOG=info", extra, NULL);
}

static void exits_with(int status)
{
    int st = h_wait(&h_host, H_WAIT_MS);
    cr_assert(st != -1, "the host hangs: %s", h_signals(&h_host));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == status, "wait status %#x; err: %s", st,
              h_host.err.data);
}

Test(harm, exit_while_a_hook_waits_for_the_exiting_threads_mutex_exits)
{
    start("exit-mutex", NULL, NULL);
    h_send_events(1);
    exits_with(3);
    cr_assert_eq(h_count(&h_host, &h_host.err, "exit went ahead", 0), 1, "%s", h_host.err.data);
}

Test(harm, a_sigterm_handler_that_exits_while_a_hook_waits_exits)
{
    start("term-mutex", NULL, NULL);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "hook waiting", H_WAIT_MS), 0);
    kill(h_host.pid, SIGTERM);
    exits_with(4);
}

/* A child made while a hook runs, by a fork that runs no atfork handler, exits. */
static void fork_during_hook(const char *kind)
{
    h_skip_fork_under_sanitizers();
    start("fork-during-hook", kind, NULL);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "child status 7", H_WAIT_MS), 0, "%s: %s", kind,
                 h_signals(&h_host));
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh", H_WAIT_MS), 0);
    h_close_stdin(&h_host);
    exits_with(0);
}

Test(harm, a_child_of_underscore_fork_during_a_hook_exits)
{
    fork_during_hook("_Fork");
}

Test(harm, a_child_of_the_fork_system_call_during_a_hook_exits)
{
    fork_during_hook("sysfork");
}

Test(harm, a_child_of_clone_during_a_hook_exits)
{
    fork_during_hook("clone");
}

Test(harm, a_vfork_child_during_a_hook_exits)
{
    fork_during_hook("vfork");
}

Test(harm, a_vfork_child_that_calls_exit_leaves_the_parents_hooks_alone)
{
    h_skip_fork_under_sanitizers();
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, NULL};
    const char *argv[] = {HOST, "vfork-exit", NULL};
    h_start_host(argv, env, 1, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "vforked", H_WAIT_MS), 0);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh", H_WAIT_MS), 0, "%s", h_host.err.data);
}

Test(harm, a_child_forked_while_the_listener_walks_the_loaded_objects_can_dlopen)
{
    h_skip_fork_under_sanitizers();
    start("dlopen-after-fork", H_HOST("libplugin.so"), NULL);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "child status 0", H_WAIT_MS), 0, "%s",
                 h_signals(&h_host));
}

/* host_harm's main ends with pthread_exit (what: "none", or "keys" after it has
 * deleted every key there can be), and nothing else runs: the process ends. */
static void pthread_exit_ends_the_process(const char *what)
{
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, NULL};
    const char *argv[] = {HOST, "pthread-exit", what, NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    exits_with(0);
}

Test(harm, main_ending_with_pthread_exit_ends_the_process)
{
    pthread_exit_ends_the_process("none");
}

Test(harm, main_ending_with_pthread_exit_ends_the_process_after_it_deleted_every_key)
{
    /* ASan keeps its own thread state under a pthread key, which the host deletes
     * too: the sanitizer, not the shim, then fails its own check. */
    h_skip_under_sanitizers();
    pthread_exit_ends_the_process("keys");
}

Test(harm, main_ending_with_pthread_exit_ends_when_its_last_thread_does)
{
    /* Main is gone before the listener connects: the peer check must still see the
     * connection (a zombie main thread has an empty /proc/self/net). */
    start("pthread-exit", "worker", NULL);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert(h_alive(&h_host), "the worker still runs");
    h_close_stdin(&h_host);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "worker done", H_WAIT_MS), 0);
    exits_with(0);
}

/* The shim blocks every signal on a host thread for the few system calls of its
 * window; a hook that runs meanwhile must not take that for the host's mask. */
Test(harm, a_hook_never_runs_with_the_mask_the_window_sets_on_main)
{
    start("mask-race", NULL, NULL);
    for (int i = 1; i <= 200; i++) {
        h_send_events(1);
        cr_assert_eq(h_wait_count(&h_host, &h_host.out, "refresh", i, H_WAIT_MS), i, "%s",
                     h_host.err.data);
    }
    h_close_stdin(&h_host);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "done", H_WAIT_MS), 0, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "SIGTERM blocked", 0), 0, "%s", h_host.out.data);
}

Test(harm, what_a_hook_starts_has_the_hosts_signal_mask)
{
    h_skip_fork_under_sanitizers();
    start("hook-mask", NULL, NULL);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "SigBlk:", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "SigBlk:\t0000000000000000", 0), 1, "%s",
                 h_host.out.data);
}

Test(harm, a_root_daemon_that_drops_to_nobody_reconnects_to_roots_toki)
{
    if (geteuid() != 0)
        cr_skip_test("not root: cannot test a daemon that drops root");
    start("setuid", NULL, "TOKI_SHIM_RETRY_MAX_MS=200");
    h_write(&h_host, "drop\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "dropped", H_WAIT_MS), 0, "%s", h_host.err.data);
    /* Toki restarts on the same port (as root): the next connection is made as nobody. */
    int port = h_srv.port;
    h_stop(&h_srv.p);
    h_server_start(&h_srv, port, NULL);
    h_expect_authenticated(1);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh", H_WAIT_MS), 0, "%s", h_host.err.data);
}

/* The smallest stack TOKI_SHIM_STACK_KB accepts serves the deepest paths: the peer
 * check, debug logging to a file, a hook, and the search for a signalfd or sigwait
 * of a program that has no handler. */
static void smallest_stack(const char *host, const char *seen)
{
    char log[64];
    snprintf(log, sizeof log, "TOKI_SHIM_LOG_FILE=/tmp/toki-shim-stack-%d.log", (int)getpid());
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, "TOKI_SHIM_STACK_KB=16", "TOKI_SHIM_LOG=debug",
                         log, NULL};
    const char *argv[] = {host, NULL};
    h_start_host(argv, env, 1, 1);
    h_send_events(3);
    h_server_send(&h_srv, "FINISHED\n");
    const char *path = log + strlen("TOKI_SHIM_LOG_FILE=");
    cr_assert_eq(h_wait_file(path, "listener stopped", H_WAIT_MS), 0, "%s", h_signals(&h_host));
    if (seen)
        cr_assert_eq(h_wait_count(&h_host, &h_host.out, seen, 3, H_WAIT_MS), 3, "%s",
                     h_signals(&h_host));
    h_close_stdin(&h_host);
    exits_with(0);
    unlink(path);
}

Test(harm, the_smallest_stack_runs_hooks_and_logs_to_a_file)
{
    smallest_stack(H_HOST("host_hook"), "refresh");
}

Test(harm, the_smallest_stack_looks_for_a_signalfd)
{
    smallest_stack(H_HOST("host_probe"), NULL);
}

Test(harm, a_sigterm_for_a_signalfd_during_a_hook_shuts_the_program_down_cleanly)
{
    start("signalfd-term", NULL, NULL);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "hook running", H_WAIT_MS), 0);
    kill(h_host.pid, SIGTERM);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "clean shutdown", H_WAIT_MS), 0, "%s",
                 h_signals(&h_host));
    exits_with(0);
}

Test(harm, a_hook_that_ends_its_thread_leaves_the_program_to_its_workers)
{
    start("hook-pthread-exit", NULL, NULL);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "hook ends its thread", H_WAIT_MS), 0);
    /* The worker still reads its stdin: the process must live until it ends. */
    h_write(&h_host, "more\n");
    h_expect(&h_host, &h_host.out, "no such line", 300);
    cr_assert(h_alive(&h_host), "the process ended while its worker ran");
    h_close_stdin(&h_host);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "worker done", H_WAIT_MS), 0);
    exits_with(0);
}

Test(harm, a_raw_fork_child_made_inside_the_fork_window_can_close_its_descriptors)
{
    h_skip_fork_under_sanitizers();
    start("fork-in-window", NULL, NULL);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "child status 0", H_WAIT_MS), 0, "%s",
                 h_signals(&h_host));
}

Test(harm, a_clone_files_child_that_unshares_leaves_its_parents_descriptors_open)
{
    start("clone-files", NULL, NULL);
    h_write(&h_host, "g");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "pipe ", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "pipe intact", 0), 1, "%s", h_host.out.data);
}

Test(harm, close_range_with_bad_flags_on_the_shims_number_fails_as_the_kernel_would)
{
    start("close-range-flags", NULL, NULL);
    h_write(&h_host, "g");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "close_range on", H_WAIT_MS), 0, "%s",
                 h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, ": -1 Invalid argument", 0), 1, "%s",
                 h_host.out.data);
}

Test(harm, a_forked_child_with_follow_fork_ends_when_the_thread_that_forked_it_returns)
{
    h_skip_fork_under_sanitizers();
    start("thread-forks", NULL, "TOKI_SHIM_FOLLOW_FORK=1");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "forked child status 0", H_WAIT_MS), 0, "%s",
                 h_signals(&h_host));
}
