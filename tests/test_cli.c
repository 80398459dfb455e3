/* test_cli.c: `toki-shim run` and `toki-shim check`, every option and every verdict. */
/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define CMD BUILD_DIR "/toki-shim"

static struct h_proc cmd;

static void finish(void)
{
    h_stop(&cmd);
    h_fini();
}

TestSuite(cli, .fini = finish, .timeout = 120);

/* Runs toki-shim with argv (after the program name) and env; returns the status. */
static int toki_shim(const char *const args[], const char *const env[])
{
    const char *argv[32] = {CMD};
    size_t n = 1;
    while (args[n - 1] && n < 31) {
        argv[n] = args[n - 1];
        n++;
    }
    argv[n] = NULL;
    h_stop(&cmd); /* the previous run's output: the buffers are kept until the next */
    h_spawn(&cmd, (char *const *)argv, env, 0);
    h_close_stdin(&cmd);
    int st = h_wait(&cmd, H_WAIT_MS);
    cr_assert(WIFEXITED(st), "toki-shim did not exit: %d", st);
    return WEXITSTATUS(st);
}

static const char *out(void)
{
    return cmd.out.data ? cmd.out.data : "";
}

static const char *err(void)
{
    return cmd.err.data ? cmd.err.data : "";
}

Test(cli, run_sets_one_variable_per_option_and_appends_the_library)
{
    const char *args[] = {"run", "--signal", "USR1", "--action", "both", "--events", "A,B", "--skip", "x*",
                          "--log", "info", "--log-file", "/tmp/x-%p.log", "--no-inherit", "--follow-fork",
                          "--force-signal", "--debounce-ms", "50", "--splay-ms", "2000", "--", "/usr/bin/env",
                          NULL};
    const char *first = getenv("TOKI_TEST_PRELOAD_FIRST");
    char env0[4200], want[8192];
    snprintf(env0, sizeof env0, "LD_PRELOAD=%s", first ? first : H_HOST("libplugin.so"));
    const char *env[] = {env0, NULL};
    cr_assert_eq(toki_shim(args, env), 0, "status %d: %s", cmd.status, err());
    snprintf(want, sizeof want, "\n%s:" BUILD_DIR "/libtoki_shim.so\n", env0);
    cr_assert_not_null(strstr(out(), want), "want %s in %s", want, out());
    static const char *const set[] = {
        "TOKI_SHIM_SIGNAL=USR1",      "TOKI_SHIM_ACTION=both",     "TOKI_SHIM_EVENTS=A,B",
        "TOKI_SHIM_SKIP=x*",          "TOKI_SHIM_LOG=info",        "TOKI_SHIM_LOG_FILE=/tmp/x-%p.log",
        "TOKI_SHIM_INHERIT=0",        "TOKI_SHIM_FOLLOW_FORK=1",   "TOKI_SHIM_SIGNAL_FORCE=1",
        "TOKI_SHIM_DEBOUNCE_MS=50",   "TOKI_SHIM_SPLAY_MS=2000",
    };
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        snprintf(want, sizeof want, "\n%s\n", set[i]);
        cr_assert_not_null(strstr(out(), want), "%s missing", set[i]);
    }
    cr_assert_null(strstr(out(), "TOKI_SHIM_ONLY="), "an option that was not given set a variable");
    const char *only[] = {"run", "--only", "my-daemon", "/bin/sh", "-c", "echo $TOKI_SHIM_ONLY", NULL};
    const char *env1[] = {h_preload_first(), NULL};
    cr_assert_eq(toki_shim(only, env1), 0);
    cr_assert_str_eq(out(), "my-daemon\n", "-- is optional before COMMAND");
}

Test(cli, run_refuses_bad_options_and_runs_nothing)
{
    char marker[64] = "/tmp/toki-run-XXXXXX", touch[96];
    cr_assert_not_null(mkdtemp(marker));
    snprintf(touch, sizeof touch, "touch %s/ran", marker);
    struct {
        const char *opt, *value, *message;
    } bad[] = {
        {"--signal", "KILL", "TOKI_SHIM_SIGNAL=\"KILL\" is not a catchable signal"},
        {"--action", "reload", "TOKI_SHIM_ACTION=\"reload\" is not an action"},
        {"--log", "loud", "TOKI_SHIM_LOG=\"loud\" is not a log level"},
        {"--events", "A,,B", "TOKI_SHIM_EVENTS=\"A,,B\" is not a comma-separated list"},
        {"--only", "", "TOKI_SHIM_ONLY=\"\" is empty"},
        {"--bogus", NULL, "Usage: toki-shim run"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[] = {"run", bad[i].opt, bad[i].value ? bad[i].value : "--", "/bin/sh", "-c", touch, NULL};
        if (!bad[i].value) {
            args[2] = "/bin/sh";
            args[3] = "-c";
            args[4] = touch;
            args[5] = NULL;
        }
        cr_assert_eq(toki_shim(args, NULL), 2, "%s %s", bad[i].opt, err());
        cr_assert_not_null(strstr(err(), bad[i].message), "%s: %s", bad[i].opt, err());
        h_stop(&cmd);
    }
    const char *none[] = {"run", "--log", "info", NULL};
    cr_assert_eq(toki_shim(none, NULL), 2);
    cr_assert_not_null(strstr(err(), "no COMMAND given"));
    const char *both[] = {"run", "--only", "a", "--skip", "b", "--", "/bin/sh", "-c", touch, NULL};
    cr_assert_eq(toki_shim(both, NULL), 2);
    strcat(marker, "/ran");
    cr_assert_neq(access(marker, F_OK), 0, "a command ran after a usage error");
}

Test(cli, run_of_a_missing_command_exits_127)
{
    const char *args[] = {"run", "--", "no-such-command-anywhere", NULL};
    cr_assert_eq(toki_shim(args, NULL), 127);
    cr_assert_str_eq(err(), "toki-shim run: no-such-command-anywhere: command not found\n");
    h_stop(&cmd);
    const char *path[] = {"run", "--", "/nonexistent/prog", NULL};
    cr_assert_eq(toki_shim(path, NULL), 127);
}

/* They are supervised (tests/test_supervise.c): no warning that the shim is missing. */
Test(cli, run_supervises_static_and_setuid_programs_without_a_warning)
{
    const char *args[] = {"run", "--", H_HOST("host_static"), NULL};
    cr_assert_eq(toki_shim(args, NULL), 0);
    cr_assert_null(strstr(err(), "warning"), "%s", err());
    cr_assert_not_null(strstr(out(), "ready\n"), "the static program did not run: %s", out());
    h_stop(&cmd);
    char dir[] = "/tmp/toki-suid-XXXXXX", copy[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(copy, sizeof copy, "%s/suid-false", dir);
    h_copy("/bin/false", copy, 04755);
    const char *suid[] = {"run", "--", copy, NULL};
    const char *env[] = {h_preload_first(), NULL};
    cr_assert_eq(toki_shim(suid, env), 1, "the child's status passes through: %s", err());
    cr_assert_null(strstr(err(), "warning"), "%s", err());
    unlink(copy);
    rmdir(dir);
}

Test(cli, run_under_a_server_reloads_the_program)
{
    char port[32], token[96];
    h_server_start(&h_srv, 0, NULL);
    h_server_env(&h_srv, port, token);
    const char *argv[] = {CMD, "run", "--signal", "USR1", "--", H_HOST("host_signal"), "USR1", NULL};
    const char *env[] = {port, token, h_preload_first(), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 0);
    cr_assert_eq(h_expect(&h_srv.p, &h_srv.p.err, "authenticated", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    h_server_send(&h_srv, "AUTH_REFRESHED\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "signal 1", H_WAIT_MS), 0);
}

/* A server that answers the token with a banner, as a web or SSH server would. */
static void *banner_server(void *arg)
{
    int l = *(int *)arg;
    const char *banner = l > 0 ? "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n" : "";
    int c = accept(l, NULL, NULL);
    char buf[64];
    (void)!read(c, buf, sizeof buf);
    (void)!write(c, banner, strlen(banner));
    usleep(200000);
    close(c);
    return NULL;
}

static int listening_socket(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(l, 4), 0);
    getsockname(l, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return l;
}

static int check_env(int port, const char *token)
{
    char p[32], t[128];
    snprintf(p, sizeof p, "TOKI_PORT=%d", port);
    snprintf(t, sizeof t, "TOKI_TOKEN=%s", token);
    const char *env[] = {p, t, NULL};
    const char *args[] = {"check", NULL};
    return toki_shim(args, env);
}

Test(cli, check_accepting_rejecting_closed_and_foreign_servers)
{
    h_server_start(&h_srv, 0, NULL);
    cr_assert_eq(check_env(h_srv.port, H_TOKEN), 0, "%s", out());
    cr_assert_not_null(strstr(out(), "TOKI_TOKEN=(set, 36 bytes)\n"));
    cr_assert_null(strstr(out(), H_TOKEN), "the token is masked");
    cr_assert_not_null(strstr(out(), "TOKI_SHIM_ACTION=auto\n"));
    cr_assert_not_null(strstr(out(), "accepted: Toki at 127.0.0.1:"), "%s", out());
    h_stop(&cmd);

    cr_assert_eq(check_env(h_srv.port, "00000000-0000-0000-0000-000000000000"), 1);
    cr_assert_not_null(strstr(out(), "rejected: the server at 127.0.0.1:"), "%s", out());
    h_stop(&cmd);

    cr_assert_eq(check_env(h_free_port(), H_TOKEN), 1);
    cr_assert_not_null(strstr(out(), "no server: nothing accepts connections at 127.0.0.1:"), "%s", out());
    cr_assert_not_null(strstr(out(), "Connection refused"));
    h_stop(&cmd);

    int port, l = listening_socket(&port);
    pthread_t t;
    pthread_create(&t, NULL, banner_server, &l);
    cr_assert_eq(check_env(port, H_TOKEN), 1);
    pthread_join(t, NULL);
    close(l);
    cr_assert_not_null(strstr(out(), "not a Toki: the server at 127.0.0.1:"), "%s", out());
    cr_assert_not_null(strstr(out(), "SSH-2.0-OpenSSH"), "%s", out());
}

Test(cli, check_says_what_is_wrong_with_the_environment)
{
    const char *args[] = {"check", NULL};
    cr_assert_eq(toki_shim(args, NULL), 1);
    cr_assert_not_null(strstr(out(), "inert: this environment has no TOKI_TOKEN"), "%s", out());
    h_stop(&cmd);
    const char *env[] = {"TOKI_TOKEN=x", "TOKI_PORT=70000", NULL};
    cr_assert_eq(toki_shim(args, env), 1);
    cr_assert_str_eq(out(), "configuration error: TOKI_PORT=\"70000\" is not a port (1-65535)\n");
}

static void check_pid(pid_t pid)
{
    char p[16];
    snprintf(p, sizeof p, "%d", (int)pid);
    const char *args[] = {"check", p, NULL};
    toki_shim(args, NULL);
}

Test(cli, check_pid_of_a_shimmed_and_an_unshimmed_process)
{
    char port[32], token[96];
    h_server_start(&h_srv, 0, NULL);
    h_server_env(&h_srv, port, token);
    const char *env[] = {port, token, NULL};
    const char *argv[] = {H_HOST("host_signal"), "HUP", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    cr_assert_eq(h_expect(&h_srv.p, &h_srv.p.err, "authenticated", H_WAIT_MS), 0);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    check_pid(h_host.pid);
    cr_assert_eq(cmd.status, 0, "%s", out());
    cr_assert_not_null(strstr(out(), "shim loaded: yes ("), "%s", out());
    cr_assert_not_null(strstr(out(), "mode: in-process\n"), "%s", out());
    cr_assert_not_null(strstr(out(), "connected: yes\n"), "%s", out());
    cr_assert_not_null(strstr(out(), "signal: has a handler for SIGHUP\n"), "%s", out());
    cr_assert_not_null(strstr(out(), "on refresh (TOKI_SHIM_ACTION=auto): sends SIGHUP\n"), "%s", out());
    h_stop(&cmd);
    h_stop(&h_host);

    const char *hook[] = {H_HOST("host_hook"), NULL};
    h_spawn(&h_host, (char *const *)hook, env, 1);
    cr_assert_eq(h_expect(&h_srv.p, &h_srv.p.err, "authenticated", H_WAIT_MS), 0);
    check_pid(h_host.pid);
    cr_assert_not_null(strstr(out(), "hook: toki_on_refresh is exported\n"), "%s", out());
    cr_assert_not_null(strstr(out(), "calls toki_on_refresh\n"), "%s", out());
    h_stop(&cmd);
    h_stop(&h_host);

    h_spawn(&h_host, (char *const *)argv, env, 0);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    check_pid(h_host.pid);
    cr_assert_eq(cmd.status >> 8, 1);
    cr_assert_not_null(strstr(out(), "shim loaded: no;"), "%s", out());
}

Test(cli, check_pid_explains_why_nothing_happens)
{
    char port[32], token[96];
    h_server_start(&h_srv, 0, NULL);
    h_server_env(&h_srv, port, token);
    const char *env[] = {port, token, NULL};
    const char *argv[] = {H_HOST("host_probe"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    cr_assert_eq(h_expect(&h_srv.p, &h_srv.p.err, "authenticated", H_WAIT_MS), 0);
    check_pid(h_host.pid);
    cr_assert_eq(cmd.status >> 8, 1);
    cr_assert_not_null(strstr(out(), "nothing: it has no SIGHUP handler and would die of one"), "%s", out());
    h_stop(&cmd);
    const char *args[] = {"check", "12x", NULL};
    cr_assert_eq(toki_shim(args, NULL), 2);
}

Test(cli, help_for_every_command)
{
    const char *cmds[][3] = {{"--help", NULL, NULL}, {"run", "--help", NULL}, {"check", "--help", NULL},
                             {"serve", "--help", NULL}};
    const char *want[] = {"Usage: toki-shim COMMAND", "Usage: toki-shim run", "Usage: toki-shim check",
                          "Usage: toki-shim serve"};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(toki_shim(cmds[i], NULL), 0);
        cr_assert_not_null(strstr(out(), want[i]), "%s", out());
        h_stop(&cmd);
    }
}
