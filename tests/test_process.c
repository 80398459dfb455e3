/* test_process.c: process trees: fork, exec, selection by name, LD_PRELOAD inheritance, exit, and fd-closing hosts. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"


TestSuite(process, .fini = h_fini, .timeout = 300);

Test(process, prefork_workers_have_no_listener_and_the_master_reloads)
{
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, NULL};
    const char *argv[] = {H_HOST("host_fork"), "prefork", "3", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    h_expect_authenticated(1);
    cr_assert_eq(h_wait_count(&h_host, &h_host.out, "worker", 3, H_WAIT_MS), 3);
    cr_assert_eq(h_wait_count(&h_host, &h_host.out, "ready", 1, H_WAIT_MS), 1);
    cr_assert_eq(h_count(&h_host, &h_host.out, "tasks 1 sockets 0", 0), 3,
                 "a worker kept a thread or our socket: %s", h_host.out.data);
    h_server_send(&h_srv, "AUTH_REFRESHED\n");
    char want[48];
    snprintf(want, sizeof want, "refresh 1 in %d\n", (int)h_host.pid);
    cr_assert_eq(h_expect(&h_host, &h_host.out, want, H_WAIT_MS), 0);
    cr_assert_eq(h_count(&h_srv.p, &h_srv.p.err, "authenticated", 0), 1);
    cr_assert_eq(h_count(&h_host, &h_host.out, "refresh", 0), 1);
}

Test(process, follow_fork_gives_each_child_its_own_connection)
{
    h_skip_fork_under_sanitizers();
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, "TOKI_SHIM_FOLLOW_FORK=1", NULL};
    const char *argv[] = {H_HOST("host_fork"), "prefork", "2", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    h_expect_authenticated(3);
    h_server_send(&h_srv, "AUTH_REFRESHED\n");
    cr_assert_eq(h_wait_count(&h_host, &h_host.out, "refresh 1 in", 3, H_WAIT_MS), 3, "%s", h_host.out.data);
}

Test(process, fork_storm_while_events_stream_never_hangs_a_child)
{
    h_skip_fork_under_sanitizers();
    const char *every[] = {"--every", "0.001", "--quiet", NULL};
    h_start_server(every);
    /* The storm is over in well under a second: no settle delay, so that events
     * flow while it lasts. */
    const char *env[] = {h_env_port, h_env_token, "TOKI_SHIM_SETTLE_MS=0", NULL};
    const char *argv[] = {H_HOST("host_fork"), "storm", "300", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "storm done, 0 bad children", 120000), 0, "%s",
                 h_host.out.data);
    cr_assert_gt(h_count(&h_host, &h_host.out, "refresh", 0), 0, "no event reached the host");
}

Test(process, no_descriptor_of_ours_survives_exec)
{
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, NULL};
    const char *argv[] = {H_HOST("host_fork"), "exec", H_HOST("host_probe"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    h_expect_authenticated(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    h_write(&h_host, "go\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "the probe did not start");
    h_write(&h_host, "probe\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "tasks 1 sockets 0", H_WAIT_MS), 0, "%s", h_host.out.data);
}

/* LD_PRELOAD as the harness would set it, with other entries around the shim. */
static void preload_with_neighbours(char *out, size_t size)
{
    const char *first = getenv("TOKI_TEST_PRELOAD_FIRST");
    snprintf(out, size, "LD_PRELOAD=%s%s" H_HOST("libplugin.so") " %s/libtoki_shim.so:" H_HOST("libplugin.so"),
             first ? first : "", first ? " " : "", BUILD_DIR);
}

Test(process, inherit_0_removes_only_the_shim_from_ld_preload)
{
    h_start_server(NULL);
    char preload[1024];
    preload_with_neighbours(preload, sizeof preload);
    const char *env[] = {h_env_port, h_env_token, preload, "TOKI_SHIM_INHERIT=0", NULL};
    const char *argv[] = {"/bin/sh", "-c", "grep -q libtoki_shim /proc/self/maps && echo loaded || echo clean; echo \"now [$LD_PRELOAD]\"", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS) >= 0, 1);
    const char *first = getenv("TOKI_TEST_PRELOAD_FIRST");
    char want[1024];
    snprintf(want, sizeof want, "now [%s%s" H_HOST("libplugin.so") ":" H_HOST("libplugin.so") "]\n",
             first ? first : "", first ? ":" : "");
    cr_assert_not_null(strstr(h_host.out.data, want), "want %s got %s", want, h_host.out.data);
    cr_assert_eq(strncmp(h_host.out.data, "clean\n", 6), 0, "the child loaded the shim: %s", h_host.out.data);
}

Test(process, by_default_descendants_keep_the_shim)
{
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, NULL};
    const char *argv[] = {"/bin/sh", "-c", "grep -q libtoki_shim /proc/self/maps && echo loaded; :", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_str_eq(h_host.out.data, "loaded\n");
}

static void probe_expect(const char *selection, int active)
{
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, selection, NULL};
    const char *argv[] = {H_HOST("host_probe"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    if (active)
        h_expect_authenticated(1);
    h_write(&h_host, "probe\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, active ? "tasks 2 sockets 1" : "tasks 1 sockets 0", H_WAIT_MS), 0,
                 "%s: %s", selection, h_host.out.data);
    h_stop(&h_host);
    h_stop(&h_srv.p);
}

Test(process, only_and_skip_select_programs_by_name)
{
    probe_expect("TOKI_SHIM_ONLY=host_pro*", 1);
    probe_expect("TOKI_SHIM_ONLY=nginx,host_probe", 1);
    probe_expect("TOKI_SHIM_ONLY=nginx", 0);
    probe_expect("TOKI_SHIM_SKIP=host_probe", 0);
    probe_expect("TOKI_SHIM_SKIP=*probe", 0);
    probe_expect("TOKI_SHIM_SKIP=sh,bash", 1);
}

Test(process, only_and_skip_together_are_a_configuration_error)
{
    const char *env[] = {"TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_ONLY=a", "TOKI_SHIM_SKIP=b", NULL};
    const char *argv[] = {H_HOST("host_probe"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    h_write(&h_host, "probe\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "tasks 1 sockets 0", H_WAIT_MS), 0);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_str_eq(h_host.err.data, "toki-shim: TOKI_SHIM_ONLY and TOKI_SHIM_SKIP are both set; set one "
                                    "of them; toki-shim is disabled for this process\n");
}

Test(process, no_hook_runs_after_exit_has_begun)
{
    /* A refresh every millisecond, and a C++ host that leaves right after its first
     * one: without the exit guard its hook would run on a destroyed global. */
    const char *every[] = {"--every", "0.001", "--quiet", NULL};
    h_start_server(every);
    /* Each host lives a few milliseconds: no settle delay, or none would connect. */
    const char *env[] = {h_env_port, h_env_token, "TOKI_SHIM_SETTLE_MS=0", NULL};
    for (int i = 0; i < 500; i++) {
        const char *argv[] = {H_HOST("host_exit"), i % 2 ? "exit" : "return", NULL};
        h_spawn(&h_host, (char *const *)argv, env, 1);
        int st = h_wait(&h_host, H_WAIT_MS);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "run %d (%s): status %d, stderr: %s", i,
                  argv[1], st, h_host.err.data ? h_host.err.data : "");
        h_stop(&h_host);
    }
}

/* A daemon that, on "go", closes (or dup2s over) every descriptor, then must still
 * get refreshes on the same connection. */
static void fd_daemon(const char *mode, const char *expect_line)
{
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, NULL};
    const char *argv[] = {H_HOST("host_fds"), mode, NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    h_expect_authenticated(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    h_write(&h_host, "go\n");
    if (expect_line)
        cr_assert_eq(h_expect(&h_host, &h_host.out, expect_line, H_WAIT_MS), 0, "%s", h_host.out.data);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "done", H_WAIT_MS), 0, "%s %s", h_host.out.data,
                 h_host.err.data ? h_host.err.data : "");
    h_server_send(&h_srv, "AUTH_REFRESHED\nAUTH_REFRESHED\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 2", H_WAIT_MS), 0, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_srv.p, &h_srv.p.err, "connected", 0), 1, "the shim had to reconnect");
    cr_assert(h_alive(&h_host));
}

Test(process, a_daemon_closing_every_fd_in_a_loop)
{
    fd_daemon("loop", NULL);
}

/* A server that hangs up after each event keeps the shim making its socket and
 * reading /proc/net/tcp (each for a moment at a low number) while the host closes
 * every low number it does not hold, round after round. */
Test(process, a_daemon_closing_low_fds_while_the_shim_reconnects_loses_nothing)
{
    int port, l = h_raw_listen(&port);
    char p[32];
    snprintf(p, sizeof p, "TOKI_PORT=%d", port);
    const char *env[] = {p, "TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_RETRY_MAX_MS=100", NULL};
    const char *argv[] = {H_HOST("host_fds"), "churn", "40000", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    h_write(&h_host, "go\n");
    int hangups = 0;
    while (h_count(&h_host, &h_host.out, "churned", 0) == 0 && h_alive(&h_host)) {
        int c = h_raw_accept(l, 200);
        if (c < 0)
            continue;
        h_raw_send(c, "AUTH_REFRESHED\n");
        close(c);
        hangups++;
        h_pump(&h_host, 0);
    }
    h_pump(&h_host, 0);
    cr_assert_eq(h_count(&h_host, &h_host.out, "40000 rounds, 0 broken", 0), 1, "host %s: %s %s",
                 h_alive(&h_host) ? "alive" : "dead", h_host.out.data, h_signals(&h_host));
    cr_assert_geq(hangups, 2, "the shim did not reconnect during the churn: %s", h_host.err.data);
    cr_assert(h_alive(&h_host));
    close(l);
}

Test(process, a_daemon_using_closefrom)
{
    fd_daemon("closefrom", NULL);
}

Test(process, a_daemon_using_close_range)
{
    fd_daemon("close_range", NULL);
}

Test(process, a_daemon_dup2ing_a_pipe_onto_every_fd_keeps_all_its_bytes)
{
    fd_daemon("dup2", "wrote 1022 read 1022");
}

Test(process, python_closerange)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        cr_skip_test("no /usr/bin/python3");
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, NULL};
    const char *argv[] = {"/usr/bin/python3", "-c",
                          "import os, signal, sys\n"
                          "signal.signal(signal.SIGHUP, lambda *a: None)\n"
                          "print('ready', flush=True)\n"
                          "sys.stdin.readline()\n"
                          "os.closerange(3, 65536)\n"
                          /* The wakeup fd, not a blocking read: see test_hosts.c. */
                          "r, w = os.pipe()\n"
                          "os.set_blocking(w, False)\n"
                          "signal.set_wakeup_fd(w)\n"
                          "print('done', flush=True)\n"
                          "while signal.SIGHUP not in os.read(r, 512):\n"
                          "    pass\n"
                          "print('hup', flush=True)\n"
                          "sys.stdin.read()\n",
                          NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    h_expect_authenticated(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    h_write(&h_host, "go\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "done", H_WAIT_MS), 0);
    h_server_send(&h_srv, "AUTH_REFRESHED\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "hup", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_count(&h_srv.p, &h_srv.p.err, "connected", 0), 1, "the shim had to reconnect");
}

/* Linked with -z nodelete: a dlclose() leaves the listener's code mapped. */
Test(process, dlclose_of_a_dlopened_shim_leaves_the_listener_running)
{
    h_start_server(NULL);
    /* Under ASan, LeakSanitizer's scan at exit faults on the module that dlclose()
     * forgot but nodelete kept; the leak check is not what this test is about. */
    const char *env[] = {h_env_port, h_env_token, "TOKI_SHIM_LOG=info",
                         "ASAN_OPTIONS=detect_leaks=0", NULL};
    const char *argv[] = {H_HOST("host_dlclose"), BUILD_DIR "/libtoki_shim.so", NULL};
    h_start_host(argv, env, 0, 1);
    h_write(&h_host, "x");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "dlclose 0", H_WAIT_MS), 0, "%s", h_host.err.data);
    h_send_events(3);
    cr_assert_eq(h_wait_count(&h_host, &h_host.err, "event AUTH_REFRESHED", 3, H_WAIT_MS), 3, "%s",
                 h_host.err.data);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "survived", 0), 1);
}
