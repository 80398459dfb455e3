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
        {"--bogus", NULL, "toki-shim run: unknown option '--bogus'\nTry 'toki-shim run --help'."},
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
    h_start_server(NULL);
    const char *argv[] = {CMD, "run", "--signal", "USR1", "--", H_HOST("host_signal"), "USR1", NULL};
    h_start_host_ready(argv, 0, 1, "ready", h_preload_first(), NULL);
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
    h_start_server(NULL);
    const char *argv[] = {H_HOST("host_signal"), "HUP", NULL};
    h_start_host_ready(argv, 1, 1, "ready", NULL);
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
    h_start_host_ready(hook, 1, 1, NULL, NULL);
    check_pid(h_host.pid);
    cr_assert_not_null(strstr(out(), "hook: toki_on_refresh is exported\n"), "%s", out());
    cr_assert_not_null(strstr(out(), "calls toki_on_refresh\n"), "%s", out());
    h_stop(&cmd);
    h_stop(&h_host);

    h_start_host_ready(argv, 0, 0, "ready", NULL);
    check_pid(h_host.pid);
    cr_assert_eq(cmd.status >> 8, 1);
    cr_assert_not_null(strstr(out(), "shim loaded: no;"), "%s", out());
}

Test(cli, check_pid_explains_why_nothing_happens)
{
    h_start_server(NULL);
    const char *argv[] = {H_HOST("host_probe"), NULL};
    h_start_host_ready(argv, 1, 1, NULL, NULL);
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

/* Two shimmed processes, one event each: check takes both PIDs, and --json gives
 * each one's mode, action, connection and the counters read from its memory. */
Test(cli, check_several_pids_and_json)
{
    char p1[16], p2[16];
    static struct h_proc other;
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, NULL};
    const char *hook[] = {H_HOST("host_hook"), NULL};
    const char *sig[] = {H_HOST("host_signal"), "HUP", NULL};
    h_start_host_ready(hook, 1, 0, NULL, NULL);
    h_spawn(&other, (char *const *)sig, env, 1);
    cr_assert_eq(h_expect(&other, &other.out, "ready", H_WAIT_MS), 0);
    h_expect_authenticated(2);
    h_server_send(&h_srv, "AUTH_REFRESHED\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1", H_WAIT_MS), 0);
    cr_assert_eq(h_expect(&other, &other.out, "signal 1", H_WAIT_MS), 0);
    snprintf(p1, sizeof p1, "%d", (int)h_host.pid);
    snprintf(p2, sizeof p2, "%d", (int)other.pid);

    const char *text[] = {"check", p1, p2, NULL};
    cr_assert_eq(toki_shim(text, NULL), 0, "%s", out());
    cr_assert_not_null(strstr(out(), "calls toki_on_refresh\n"), "%s", out());
    cr_assert_not_null(strstr(out(), "sends SIGHUP\n"), "%s", out());
    cr_assert_not_null(strstr(out(), "events: 1 received; generation 1"), "%s", out());

    const char *json[] = {"check", "--json", p1, p2, NULL};
    cr_assert_eq(toki_shim(json, NULL), 0, "%s", out());
    char want[512];
    snprintf(want, sizeof want, "{\"pid\": %s, \"exe\": \"%s\", \"mode\": \"active\", \"action\": \"auto\", "
             "\"on_refresh\": \"hook\", \"connected\": true, \"events\": 1, \"generation\": 1", p1, hook[0]);
    cr_assert_not_null(strstr(out(), want), "want %s in %s", want, out());
    snprintf(want, sizeof want, "{\"pid\": %s,", p2);
    cr_assert_not_null(strstr(out(), want), "%s", out());
    cr_assert_not_null(strstr(out(), "\"on_refresh\": \"signal\""), "%s", out());
    cr_assert_not_null(strstr(out(), "\"last_event\": \"20"), "%s", out());
    cr_assert_eq(out()[0], '[', "%s", out());

    /* Not its status: other processes of this uid (other tests) may be in the list. */
    const char *all[] = {"check", "--all", "--json", NULL};
    toki_shim(all, NULL);
    snprintf(want, sizeof want, "{\"pid\": %s,", p1);
    cr_assert_not_null(strstr(out(), want), "--all left out %s: %s", p1, out());
    snprintf(want, sizeof want, "{\"pid\": %s,", p2);
    cr_assert_not_null(strstr(out(), want), "--all left out %s: %s", p2, out());
    h_stop(&other);

    /* A process that is gone makes the whole check fail, and is said. */
    const char *gone[] = {"check", p1, p2, NULL};
    cr_assert_eq(toki_shim(gone, NULL), 1, "%s", out());
    cr_assert_not_null(strstr(out(), "is it running, and yours?"), "%s", out());
}

/* host under the shim, connected to a server of its own; its pid into pid. */
static void connected_host(const char *host, char pid[16])
{
    h_start_server(NULL);
    const char *argv[] = {host, NULL};
    h_start_host_ready(argv, 1, 1, "ready", "TOKI_SHIM_SETTLE_MS=0", NULL);
    snprintf(pid, 16, "%d", (int)h_host.pid);
}

/* A daemon that writes its process title over its environment (nginx does) no
 * longer shows TOKI_TOKEN in /proc/PID/environ: check reads the shim's counters
 * and reports it listening, not inert. */
Test(cli, check_sees_a_listening_shim_whose_environment_was_written_over)
{
    char pid[16];
    connected_host(H_HOST("host_title"), pid);
    const char *json[] = {"check", "--json", pid, NULL};
    cr_assert_eq(toki_shim(json, NULL), 0, "%s", out());
    cr_assert_not_null(strstr(out(), "\"mode\": \"active\""), "%s", out());
    cr_assert_not_null(strstr(out(), "\"ok\": true"), "%s", out());
    h_stop(&cmd);
    const char *text[] = {"check", pid, NULL};
    cr_assert_eq(toki_shim(text, NULL), 0, "%s", out());
    cr_assert_not_null(strstr(out(), "listening: yes, though its environment"), "%s", out());
}

/* A program that reads the event fd gets no signal, and needs none: check says
 * the shim posts the fd, and all is well. */
Test(cli, check_knows_a_program_that_asked_for_the_event_fd)
{
    char pid[16];
    connected_host(H_HOST("host_epoll"), pid);
    const char *text[] = {"check", pid, NULL};
    cr_assert_eq(toki_shim(text, NULL), 0, "%s", out());
    cr_assert_not_null(strstr(out(), "posts the event fd (the program asked for it)"), "%s", out());
    h_stop(&cmd);
    const char *json[] = {"check", "--json", pid, NULL};
    cr_assert_eq(toki_shim(json, NULL), 0, "%s", out());
    cr_assert_not_null(strstr(out(), "\"on_refresh\": \"fd\""), "%s", out());
}

Test(cli, check_usage_errors_point_to_help)
{
    const char *mixed[] = {"check", "--all", "1", NULL};
    cr_assert_eq(toki_shim(mixed, NULL), 2);
    cr_assert_str_eq(err(), "toki-shim check: --all and process ids exclude each other\n"
                            "Try 'toki-shim check --help'.\n");
    const char *json[] = {"check", "--json", NULL};
    cr_assert_eq(toki_shim(json, NULL), 2);
    cr_assert_not_null(strstr(err(), "give PIDs or --all"), "%s", err());
    const char *help[] = {"help", "check", NULL};
    cr_assert_eq(toki_shim(help, NULL), 0);
    cr_assert_not_null(strstr(out(), "Usage: toki-shim check"), "%s", out());
    const char *nohelp[] = {"help", "nonsense", NULL};
    cr_assert_eq(toki_shim(nohelp, NULL), 2);
    cr_assert_str_eq(err(), "toki-shim: help: no command 'nonsense'\nTry 'toki-shim --help'.\n");
    const char *version[] = {"-V", NULL};
    cr_assert_eq(toki_shim(version, NULL), 0);
    cr_assert_str_eq(out(), "toki-shim 0.1.0\n");
}

/* Starts a server and host_hook, preloaded, with its variables and one more. */
static void start_hook_under_server(const char *extra)
{
    h_start_server(NULL);
    const char *hook[] = {H_HOST("host_hook"), NULL};
    h_start_host_ready(hook, 1, 0, NULL, extra, NULL);
}

/* A log file alone, no level: connections and events are in it. */
Test(cli, a_log_file_gets_info_by_default)
{
    char dir[64] = "/tmp/toki-log-XXXXXX", file[96], opt[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/shim.log", dir);
    snprintf(opt, sizeof opt, "TOKI_SHIM_LOG_FILE=%s", file);
    start_hook_under_server(opt);
    h_expect_authenticated(1);
    h_server_send(&h_srv, "AUTH_REFRESHED\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1", H_WAIT_MS), 0);
    cr_assert_eq(h_wait_file(file, "connected to Toki at 127.0.0.1:", H_WAIT_MS), 0);
    cr_assert_eq(h_wait_file(file, "event AUTH_REFRESHED", H_WAIT_MS), 0);
    h_stop(&h_host);
    cr_assert_eq(h_host.err.len, 0, "stderr: %s", h_host.err.data);
    unlink(file);
    rmdir(dir);
}

/* A log file that cannot be opened is said once on stderr, with where the lines go. */
Test(cli, a_log_file_that_cannot_be_opened_is_said)
{
    start_hook_under_server("TOKI_SHIM_LOG_FILE=/nonexistent/toki/shim.log");
    cr_assert_eq(h_expect(&h_host, &h_host.err,
                          "toki-shim: cannot open the log file /nonexistent/toki/shim.log (No such file or "
                          "directory); logging to stderr instead",
                          H_WAIT_MS),
                 0, "%s", h_host.err.data);
    cr_assert_eq(h_expect(&h_host, &h_host.err, "connected to Toki", H_WAIT_MS), 0, "%s", h_host.err.data);
    const char *once = strstr(h_host.err.data, "cannot open the log file");
    cr_assert_null(strstr(once + 1, "cannot open the log file"), "said twice: %s", h_host.err.data);
}

/* No Toki at the port: after a few tries, one warning at the default level. */
Test(cli, an_unreachable_toki_is_said_once_at_the_default_level)
{
    char port[32], where[64];
    int free_port = h_free_port();
    snprintf(port, sizeof port, "TOKI_PORT=%d", free_port);
    snprintf(where, sizeof where, "cannot reach Toki at 127.0.0.1:%d after 5 tries", free_port);
    const char *env[] = {port, "TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_SETTLE_MS=0", "TOKI_SHIM_RETRY_MAX_MS=100", NULL};
    const char *hook[] = {H_HOST("host_hook"), NULL};
    h_spawn(&h_host, (char *const *)hook, env, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.err, where, H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_null(strstr(h_host.err.data, "no connection to Toki"), "info lines at warn: %s", h_host.err.data);
}

/* Outside Toki, run --log info says that the shim is inert and why; by default
 * it says nothing. */
Test(cli, run_says_the_shim_is_inert_outside_toki)
{
    const char *env[] = {h_preload_first(), NULL}; /* a sanitizer's runtime, if any, first */
    const char *info[] = {"run", "--log", "info", "--", "/bin/true", NULL};
    cr_assert_eq(toki_shim(info, env), 0, "%s", err());
    cr_assert_str_eq(err(), "toki-shim run: the shim is inert in /bin/true: TOKI_TOKEN is not set (Toki "
                            "sets it, and TOKI_PORT, for the commands it runs; so does toki-shim serve)\n");
    const char *quiet[] = {"run", "--", "/bin/true", NULL};
    cr_assert_eq(toki_shim(quiet, env), 0, "%s", err());
    cr_assert_str_eq(err(), "");
}
