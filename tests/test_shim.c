/* test_shim.c: the preloaded library end to end: real hosts, real `toki-shim serve`, real TCP. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* The common case: a server, and host_hook under the shim with one extra variable. */
static void start_hook_host(const char *extra_env)
{
    h_start_server(NULL);
    const char *argv[] = {h_host_path("host_hook"), NULL};
    h_start_host_ready(argv, 1, 1, NULL, extra_env, NULL);
}

TestSuite(shim, .fini = h_fini, .timeout = 120);

Test(shim, hook_runs_once_per_event_and_for_every_event_of_a_burst)
{
    start_hook_host(NULL);
    char want[32];
    for (int i = 1; i <= 5; i++) {
        h_send_events(1);
        snprintf(want, sizeof want, "refresh %d\n", i);
        cr_assert_eq(h_expect(&h_host, &h_host.out, want, H_WAIT_MS), 0, "missing %s", want);
    }
    h_send_events(100);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 105", H_WAIT_MS), 0);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    /* Exactly 105: no event lost, none doubled, and no signal on top of the hook. */
    cr_assert_eq(h_count(&h_host, &h_host.out, "refresh ", 0), 105);
    cr_assert_eq(h_count(&h_host, &h_host.out, "event AUTH_REFRESHED", 0), 105);
}

static void signal_host_counts(const char *signame, const char *shim_signal)
{
    h_start_server(NULL);
    const char *argv[] = {h_host_path("host_signal"), signame, NULL};
    /* The shim may connect before main has installed the handler; an event then
     * would rightly get no signal (the safety rule). */
    h_start_host_ready(argv, 1, 1, "ready", shim_signal, NULL);
    char want[32];
    for (int i = 1; i <= 5; i++) {
        h_send_events(1);
        snprintf(want, sizeof want, "signal %d\n", i);
        cr_assert_eq(h_expect(&h_host, &h_host.out, want, H_WAIT_MS), 0, "missing %s", want);
    }
    h_close_stdin(&h_host);
    int st = h_wait(&h_host, H_WAIT_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "host died: status %d", st);
    cr_assert_eq(h_count(&h_host, &h_host.out, "signal ", 0), 5);
}

Test(shim, sighup_handler_runs_once_per_event)
{
    signal_host_counts("HUP", NULL);
}

Test(shim, toki_shim_signal_usr1_sends_sigusr1_and_not_sighup)
{
    /* The host handles only SIGUSR1: a SIGHUP would kill it. */
    signal_host_counts("USR1", "TOKI_SHIM_SIGNAL=USR1");
}

Test(shim, programs_without_a_handler_survive_refreshes)
{
    h_skip_unless_system_libc(); /* the shell and sleep are the system's */
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, "TOKI_SHIM_LOG=info", NULL};
    /* `; :` keeps dash from exec'ing sleep, so that sh and sleep both listen. */
    const char *argv[] = {"/bin/sh", "-c", "/bin/sleep 60 & /bin/sleep 60; :", NULL};
    h_start_host(argv, env, 1, 3);
    h_send_events(10);
    /* Each of the three processes logs each event it handled. */
    for (int i = 0; i < 30; i++)
        cr_assert_eq(h_expect(&h_host, &h_host.err, "event AUTH_REFRESHED: nothing to do", H_WAIT_MS), 0,
                     "only %d events handled: %s", i, h_host.err.data);
    cr_assert(h_alive(&h_host), "the shell died");
    cr_assert_eq(h_count(&h_srv.p, &h_srv.p.err, "disconnected", 0), 0, "a sleep died");
    cr_assert_eq(h_count(&h_host, &h_host.err, "has no handler for it, nor a signalfd", 0), 3,
                 "one explanation per process: %s", h_host.err.data);
}

Test(shim, wrong_token_gives_one_error_and_at_most_three_attempts)
{
    h_start_server(NULL);
    const char *env[] = {h_env_port, "TOKI_TOKEN=00000000-0000-0000-0000-000000000000", NULL};
    const char *argv[] = {h_host_path("host_hook"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.err, "TOKI_TOKEN is probably wrong", H_WAIT_MS), 0);
    /* A fourth attempt would come within the backoff cap; give it time to show. */
    cr_assert_eq(h_expect(&h_srv.p, &h_srv.p.err, "client 4 connected", 2000), -1);
    cr_assert_eq(h_count(&h_srv.p, &h_srv.p.err, "rejected (wrong token)", 0), 3);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0, "the program did not run to its end");
    cr_assert_eq(h_count(&h_host, &h_host.err, "toki-shim:", 0), 1, "stderr: %s", h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "bye", 0), 1);
}

Test(shim, server_that_starts_later_is_found)
{
    int port = h_free_port();
    char env_p[32];
    snprintf(env_p, sizeof env_p, "TOKI_PORT=%d", port);
    const char *env[] = {env_p, "TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_LOG=debug", NULL};
    const char *argv[] = {h_host_path("host_hook"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.err, "no connection to Toki", H_WAIT_MS), 0);
    h_release_port(port);
    h_server_start(&h_srv, port, NULL);
    h_expect_authenticated(1);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1\n", H_WAIT_MS), 0);
}

Test(shim, events_after_a_server_restart_are_received)
{
    start_hook_host("TOKI_SHIM_RETRY_MAX_MS=400");
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1\n", H_WAIT_MS), 0);
    int port = h_srv.port;
    h_stop(&h_srv.p);
    h_server_start(&h_srv, port, NULL);
    h_expect_authenticated(1);
    h_send_events(2);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 3\n", H_WAIT_MS), 0);
}

Test(shim, finished_reaches_toki_on_event_and_ends_the_listener)
{
    start_hook_host("TOKI_SHIM_LOG=info");
    h_server_send(&h_srv, "SOMETHING_NEW\nFINISHED\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "event SOMETHING_NEW", H_WAIT_MS), 0);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "event FINISHED", H_WAIT_MS), 0);
    cr_assert_eq(h_expect(&h_host, &h_host.err, "listener stopped", H_WAIT_MS), 0);
    cr_assert_eq(h_expect(&h_srv.p, &h_srv.p.err, "client 1 disconnected", H_WAIT_MS), 0);
    /* No reconnect: the first retry would come after 100 ms. */
    cr_assert_eq(h_expect(&h_srv.p, &h_srv.p.err, "client 2 connected", 1500), -1);
    /* Neither name is a trigger, so the hook was never run. */
    cr_assert_eq(h_count(&h_host, &h_host.out, "refresh", 0), 0);
}

static void expect_probe(const char *want)
{
    h_write(&h_host, "probe\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "tasks", H_WAIT_MS), 0);
    const char *line = h_host.out.data + h_host.out.cursor;
    while (line > h_host.out.data && line[-1] == '\n')
        line--;
    while (line > h_host.out.data && line[-1] != '\n')
        line--;
    cr_assert_eq(strncmp(line, want, strlen(want)), 0, "want \"%s\", got \"%.40s\"", want, line);
}

Test(shim, inert_without_token_no_thread_no_socket_no_output)
{
    const char *argv[] = {h_host_path("host_probe"), NULL};
    const char *env[] = {"TOKI_SHIM_LOG=debug", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    expect_probe("tasks 1 sockets 0");
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_eq(h_host.err.len, 0, "stderr: %s", h_host.err.data);
}

Test(shim, inert_with_toki_shim_disable)
{
    h_start_server(NULL);
    const char *argv[] = {h_host_path("host_probe"), NULL};
    const char *env[] = {h_env_port, h_env_token, "TOKI_SHIM_DISABLE=1", "TOKI_SHIM_LOG=debug", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    expect_probe("tasks 1 sockets 0");
    cr_assert_eq(h_count(&h_srv.p, &h_srv.p.err, "connected", 0), 0);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_eq(h_host.err.len, 0, "stderr: %s", h_host.err.data);
}

Test(shim, active_has_one_thread_and_one_socket)
{
    /* The control for the two inert tests: the probe does see the listener. */
    h_start_server(NULL);
    const char *argv[] = {h_host_path("host_probe"), NULL};
    const char *env[] = {h_env_port, h_env_token, NULL};
    h_start_host(argv, env, 1, 1);
    expect_probe("tasks 2 sockets 1");
}

Test(shim, hook_in_a_library_dlopened_after_start_is_found)
{
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, "TOKI_SHIM_ACTION=hook", "TOKI_SHIM_LOG=info", NULL};
    const char *argv[] = {h_host_path("host_dlopen"), h_host_path("libplugin.so"), NULL};
    h_start_host(argv, env, 1, 1);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.err, "defines no exported toki_on_refresh", H_WAIT_MS), 0);
    h_write(&h_host, "load\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "loaded", H_WAIT_MS), 0);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "plugin refresh 1\n", H_WAIT_MS), 0);
}

Test(shim, bad_configuration_prints_one_line_and_the_program_runs)
{
    const char *argv[] = {h_host_path("host_hook"), NULL};
    const char *env[] = {"TOKI_TOKEN=" H_TOKEN, "TOKI_PORT=70000", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_str_eq(h_host.err.data, "toki-shim: TOKI_PORT=\"70000\" is not a port (1-65535); "
                                    "toki-shim is disabled for this process\n");
    cr_assert_eq(h_count(&h_host, &h_host.out, "bye", 0), 1);
}

/* The constructor reads its variables from one pass over the environment, which
 * keeps 48 TOKI_ entries: beyond that, and for a name given twice, it must answer
 * as getenv(3) does (the first entry of the name). */
static void bad_port_is_reported_among(int fillers)
{
    static char fill[80][32];
    const char *env[90];
    int n = 0;
    for (int i = 0; i < fillers; i++) {
        snprintf(fill[i], sizeof fill[i], "TOKI_FILLER_%d=1", i);
        env[n++] = fill[i];
    }
    env[n++] = "TOKI_TOKEN=" H_TOKEN;
    env[n++] = "TOKI_PORT=70000";
    env[n++] = "TOKI_PORT=1";
    env[n] = NULL;
    const char *argv[] = {h_host_path("host_hook"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_eq(h_count(&h_host, &h_host.err, "TOKI_PORT=\"70000\" is not a port", 0), 1,
                 "%d other TOKI_ variables: %s", fillers, h_host.err.data);
}

Test(shim, variables_are_read_as_getenv_finds_them_with_few_toki_variables)
{
    bad_port_is_reported_among(3);
}

Test(shim, variables_are_read_as_getenv_finds_them_with_many_toki_variables)
{
    bad_port_is_reported_among(80);
}

Test(shim, strict_mode_exits_with_status_2)
{
    const char *argv[] = {h_host_path("host_hook"), NULL};
    const char *env[] = {"TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_ACTION=reload", "TOKI_SHIM_STRICT=1", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    int st = h_wait(&h_host, H_WAIT_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
    cr_assert_eq(h_count(&h_host, &h_host.err, "TOKI_SHIM_ACTION=\"reload\" is not an action", 0), 1);
    cr_assert_eq(h_count(&h_host, &h_host.out, "ready", 0), 0, "main ran");
}

Test(shim, log_file_gets_the_lines_with_the_pid_in_its_name)
{
    char dir[] = "/tmp/toki-shim-test-XXXXXX", pattern[128], env_log[160], path[160];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(pattern, sizeof pattern, "%s/shim-%%p.log", dir);
    snprintf(env_log, sizeof env_log, "TOKI_SHIM_LOG_FILE=%s", pattern);
    const char *argv[] = {h_host_path("host_hook"), NULL};
    const char *env[] = {"TOKI_TOKEN=" H_TOKEN, "TOKI_PORT=0", env_log, NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    snprintf(path, sizeof path, "%s/shim-%d.log", dir, (int)h_host.pid);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_eq(h_host.err.len, 0, "stderr: %s", h_host.err.data);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "no %s", path);
    char line[512] = "";
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert_not_null(strstr(line, "TOKI_PORT=\"0\" is not a port"), "%s", line);
    cr_assert_null(fgets(line, sizeof line, f), "more than one line");
    fclose(f);
    unlink(path);
    rmdir(dir);
}

Test(shim, closed_port_is_retried_with_backoff_not_in_a_loop)
{
    char env_p[32];
    snprintf(env_p, sizeof env_p, "TOKI_PORT=%d", h_free_port());
    const char *env[] = {env_p, "TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_LOG=debug",
                         "TOKI_SHIM_RETRY_MAX_MS=1000", NULL};
    const char *argv[] = {h_host_path("host_hook"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    /* In 3 s, delays of at least 100 ms allow at most 31 attempts; a spin makes thousands. */
    int attempts = h_count(&h_host, &h_host.err, "no connection to Toki", 3000);
    cr_assert_geq(attempts, 2, "it did not retry: %s", h_host.err.data);
    cr_assert_leq(attempts, 31, "%d attempts in 3 s", attempts);
    cr_assert(h_alive(&h_host));
}

Test(shim, the_token_never_appears_in_the_log)
{
    start_hook_host("TOKI_SHIM_LOG=debug");
    h_send_events(2);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 2", H_WAIT_MS), 0);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_gt(h_host.err.len, 0, "debug logged nothing");
    cr_assert_null(strstr(h_host.err.data, H_TOKEN));
}
