/* test_supervise.c: toki-shim run as the parent of a program that cannot be preloaded: refreshes, signals, exit status, check, --touch. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define CMD BUILD_DIR "/toki-shim"

static struct h_proc cmd;
static char scratch[64];

static void finish(void)
{
    h_stop(&cmd);
    h_fini();
    if (scratch[0]) {
        char rm[128];
        snprintf(rm, sizeof rm, "rm -rf %s", scratch);
        cr_assert_eq(system(rm), 0);
    }
}

TestSuite(supervise, .fini = finish, .timeout = 120);

/* Starts `toki-shim run ARGS...` as h_host against h_srv (started here), with
 * logging at info on its stderr, and waits until the supervisor is a client and
 * its child said ready. */
static void run_served(const char *const args[])
{
    const char *argv[16] = {CMD, "run", "--log", "info"};
    size_t n = 4;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, h_preload_first(), NULL};
    h_start_host(argv, env, 0, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s", h_host.err.data);
}

/* The supervised child: the one child of h_host. */
static long child_of_host(void)
{
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)h_host.pid, (int)h_host.pid);
    FILE *f = fopen(path, "re");
    cr_assert_not_null(f, "%s", path);
    cr_assert_not_null(fgets(buf, sizeof buf, f), "run has no child");
    fclose(f);
    return strtol(buf, NULL, 10);
}

/* A copy of a host in a scratch folder, with mode. */
static const char *copy_host(const char *name, mode_t mode)
{
    static char copy[128];
    snprintf(scratch, sizeof scratch, "/tmp/toki-superv-XXXXXX");
    cr_assert_not_null(mkdtemp(scratch));
    snprintf(copy, sizeof copy, "%s/%s", scratch, name);
    h_copy(h_host_path(name), copy, mode);
    return copy;
}

/* Sends one refresh and waits for the child's handler to count it. */
static void refresh_and_expect(const char *line)
{
    h_server_send(&h_srv, "AUTH_REFRESHED\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, line, H_WAIT_MS), 0, "no \"%s\": %s", line,
                 h_host.err.data);
}

/* Ends the child through its stdin and returns run's exit status. */
static int end_child(void)
{
    h_close_stdin(&h_host);
    int st = h_wait(&h_host, H_WAIT_MS);
    cr_assert(WIFEXITED(st), "run did not exit: %d", st);
    return WEXITSTATUS(st);
}

Test(supervise, a_static_host_with_a_handler_gets_every_refresh)
{
    const char *args[] = {"--", h_host_path("host_signal_static"), "HUP", NULL};
    run_served(args);
    cr_assert_not_null(strstr(h_host.err.data, "supervising"), "%s", h_host.err.data);
    refresh_and_expect("signal 1");
    refresh_and_expect("signal 2");
    refresh_and_expect("signal 3");
    cr_assert_eq(end_child(), 0);
    cr_assert_eq(h_count(&h_host, &h_host.out, "bye", 0), 1);
}

Test(supervise, a_static_host_without_a_handler_survives_refreshes)
{
    const char *args[] = {"--", h_host_path("host_static"), NULL};
    run_served(args);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.err, "not sending SIGHUP: the program has no handler", H_WAIT_MS),
                 0, "%s", h_host.err.data);
    h_send_events(1);
    cr_assert_eq(h_wait_count(&h_host, &h_host.err, "event AUTH_REFRESHED: nothing to do", 2, H_WAIT_MS), 2,
                 "%s", h_host.err.data);
    h_write(&h_host, "still there?\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "tasks 1", H_WAIT_MS), 0, "the child died");
    cr_assert_eq(end_child(), 0);
}

Test(supervise, signals_sent_to_run_reach_the_child_and_its_death_is_the_status)
{
    /* No TOKI_TOKEN: nothing to listen to, the child is still supervised. */
    const char *argv[] = {CMD, "run", "--", h_host_path("host_signal_static"), "USR1", NULL};
    const char *env[] = {h_preload_first(), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 0);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s", h_host.err.data);
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", child_of_host());
    FILE *f = fopen(path, "re");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(stat, sizeof stat, f));
    fclose(f);
    long pgrp = 0;
    cr_assert_eq(sscanf(strrchr(stat, ')') + 2, "%*c %*d %ld", &pgrp), 1);
    cr_assert_eq(pgrp, (long)getpgid(h_host.pid), "the child is not in run's process group");
    /* run ignores SIGPIPE itself; the child has it as run's caller left it. */
    snprintf(path, sizeof path, "/proc/%ld/status", child_of_host());
    f = fopen(path, "re");
    cr_assert_not_null(f);
    unsigned long long ignored = 1;
    while (fgets(stat, sizeof stat, f))
        if (sscanf(stat, "SigIgn: %llx", &ignored) == 1)
            break;
    fclose(f);
    cr_assert_eq(ignored & (1ull << (SIGPIPE - 1)), 0, "the child ignores SIGPIPE");
    kill(h_host.pid, SIGUSR1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "signal 1", H_WAIT_MS), 0);
    kill(h_host.pid, SIGUSR1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "signal 2", H_WAIT_MS), 0);
    kill(h_host.pid, SIGTERM);
    int st = h_wait(&h_host, H_WAIT_MS);
    cr_assert(WIFEXITED(st), "run itself died: %d", st);
    cr_assert_eq(WEXITSTATUS(st), 128 + SIGTERM);
}

Test(supervise, exit_status_and_signal_death_pass_through)
{
    const char *argv[] = {CMD, "run", "--supervise", "--", "/bin/sh", "-c", "exit 7", NULL};
    const char *env[] = {h_preload_first(), NULL};
    h_spawn(&cmd, (char *const *)argv, env, 0);
    int st = h_wait(&cmd, H_WAIT_MS);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 7, "%s", cmd.err.data);
    h_stop(&cmd);
    const char *killed[] = {CMD, "run", "--supervise", "--", "/bin/sh", "-c", "kill -KILL $$", NULL};
    h_spawn(&cmd, (char *const *)killed, env, 0);
    st = h_wait(&cmd, H_WAIT_MS);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 128 + SIGKILL);
}

Test(supervise, a_static_go_program_is_signalled_only_when_forced)
{
    if (access(h_host_path("host_gostatic"), X_OK) != 0)
        cr_skip_test("no Go toolchain: host_gostatic was not built");
    const char *args[] = {"--", h_host_path("host_gostatic"), NULL};
    run_served(args);
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.err, "this is a Go program", H_WAIT_MS), 0, "%s", h_host.err.data);
    h_write(&h_host, "alive\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "got alive", H_WAIT_MS), 0, "the Go program died");
    cr_assert_eq(h_count(&h_host, &h_host.out, "signal", 0), 0, "a Go program was signalled");
    cr_assert_eq(end_child(), 0);
    h_fini();

    const char *forced[] = {"--force-signal", "--", h_host_path("host_gostatic"), NULL};
    run_served(forced);
    refresh_and_expect("signal 1");
    refresh_and_expect("signal 2");
    cr_assert_eq(end_child(), 0);
}

Test(supervise, a_setuid_program_is_supervised_and_no_supervise_refuses_it)
{
    const char *suid = copy_host("host_signal", 04755);
    const char *args[] = {"--", suid, "HUP", NULL};
    run_served(args);
    refresh_and_expect("signal 1");
    cr_assert_eq(end_child(), 0);

    const char *refuse[] = {CMD, "run", "--no-supervise", "--", suid, "HUP", NULL};
    h_spawn(&cmd, (char *const *)refuse, NULL, 0);
    int st = h_wait(&cmd, H_WAIT_MS);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 126);
    char want[512];
    snprintf(want, sizeof want,
             "toki-shim run: %s is setuid: the dynamic loader ignores LD_PRELOAD for it, and "
             "--no-supervise forbids running it under a supervisor\n",
             suid);
    cr_assert_str_eq(cmd.err.data ? cmd.err.data : "", want);
    cr_assert_eq(cmd.out.len, 0, "the program ran");
}

Test(supervise, options_that_contradict_are_refused)
{
    const char *both[] = {CMD, "run", "--supervise", "--no-supervise", "--", "/bin/true", NULL};
    h_spawn(&cmd, (char *const *)both, NULL, 0);
    int st = h_wait(&cmd, H_WAIT_MS);
    cr_assert_eq(WEXITSTATUS(st), 2);
    cr_assert_not_null(strstr(cmd.err.data, "contradict"), "%s", cmd.err.data);
    h_stop(&cmd);
    const char *touch[] = {CMD, "run", "--touch", "/tmp/never", "--", "/bin/true", NULL};
    h_spawn(&cmd, (char *const *)touch, NULL, 0);
    st = h_wait(&cmd, H_WAIT_MS);
    cr_assert_eq(WEXITSTATUS(st), 2);
    cr_assert_not_null(strstr(cmd.err.data, "--touch is for supervisor mode"), "%s", cmd.err.data);
    h_stop(&cmd);
    const char *statik[] = {CMD, "run", "--no-supervise", "--", h_host_path("host_static"), NULL};
    h_spawn(&cmd, (char *const *)statik, NULL, 0);
    st = h_wait(&cmd, H_WAIT_MS);
    cr_assert_eq(WEXITSTATUS(st), 126);
    cr_assert_not_null(strstr(cmd.err.data, "is statically linked"), "%s", cmd.err.data);
}

Test(supervise, check_pid_reports_supervisor_mode)
{
    const char *args[] = {"--", h_host_path("host_signal_static"), "HUP", NULL};
    run_served(args);
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", child_of_host());
    const char *argv[] = {CMD, "check", pid, NULL};
    h_spawn(&cmd, (char *const *)argv, NULL, 0);
    int st = h_wait(&cmd, H_WAIT_MS);
    const char *out = cmd.out.data ? cmd.out.data : "";
    char want[96];
    snprintf(want, sizeof want, "mode: supervised: its parent, toki-shim run (pid %d)", (int)h_host.pid);
    cr_assert_not_null(strstr(out, want), "%s", out);
    cr_assert_not_null(strstr(out, "connected: yes\n"), "%s", out);
    cr_assert_not_null(strstr(out, "on refresh (TOKI_SHIM_ACTION=auto): sends SIGHUP\n"), "%s", out);
    cr_assert_eq(WEXITSTATUS(st), 0, "%s", out);
}

Test(supervise, touch_file_holds_the_generation)
{
    snprintf(scratch, sizeof scratch, "/tmp/toki-superv-XXXXXX");
    cr_assert_not_null(mkdtemp(scratch));
    char file[96];
    snprintf(file, sizeof file, "%s/generation", scratch);
    const char *args[] = {"--touch", file, "--", h_host_path("host_static"), NULL};
    run_served(args);
    for (int i = 1; i <= 3; i++) {
        h_send_events(1);
        cr_assert_eq(h_wait_count(&h_host, &h_host.err, "event AUTH_REFRESHED: wrote the file", i, H_WAIT_MS),
                     i, "%s", h_host.err.data);
    }
    FILE *f = fopen(file, "re");
    cr_assert_not_null(f);
    char line[32] = "";
    cr_assert_not_null(fgets(line, sizeof line, f));
    fclose(f);
    cr_assert_str_eq(line, "3\n");
    DIR *d = opendir(scratch);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += e->d_name[0] != '.' || strstr(e->d_name, ".tmp") != NULL;
    closedir(d);
    cr_assert_eq(entries, 1, "a temporary file was left beside it");
    cr_assert_eq(end_child(), 0);
}

/* The SigIgn mask of the /proc/PID/status text in s. */
static unsigned long long ignored_in(const char *s)
{
    const char *m = s ? strstr(s, "SigIgn:") : NULL;
    cr_assert_not_null(m, "no SigIgn in %s", s ? s : "");
    return strtoull(m + 7, NULL, 16);
}

Test(supervise, signals_the_caller_ignored_stay_ignored_in_the_child)
{
    /* As nohup, or a script's `cmd &`, leaves them: the supervised child ignores
     * HUP, INT and QUIT as it would have without run, and has TERM as it was. */
    char line[512];
    snprintf(line, sizeof line,
             "trap '' HUP INT QUIT; exec %s run --supervise -- /bin/cat /proc/self/status", CMD);
    const char *argv[] = {"/bin/sh", "-c", line, NULL};
    const char *env[] = {h_preload_first(), NULL};
    h_spawn(&cmd, (char *const *)argv, env, 0);
    int st = h_wait(&cmd, H_WAIT_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%d: %s", st, cmd.err.data);
    unsigned long long ign = ignored_in(cmd.out.data);
    cr_assert(ign & (1ull << (SIGHUP - 1)), "HUP is not ignored: %llx", ign);
    cr_assert(ign & (1ull << (SIGINT - 1)), "INT is not ignored: %llx", ign);
    cr_assert(ign & (1ull << (SIGQUIT - 1)), "QUIT is not ignored: %llx", ign);
    cr_assert_eq(ign & (1ull << (SIGTERM - 1)), 0, "TERM is ignored: %llx", ign);
}

/* 1 if process name (a directory of /proc) is a zombie whose parent is parent. */
static int zombie_child(const char *name, long parent)
{
    char path[300], buf[1024];
    snprintf(path, sizeof path, "/proc/%s/status", name);
    FILE *f = name[0] >= '1' && name[0] <= '9' ? fopen(path, "re") : NULL;
    if (!f)
        return 0;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    const char *pp = strstr(buf, "\nPPid:");
    return pp && strtol(pp + 6, NULL, 10) == parent && strstr(buf, "\nState:\tZ");
}

/* The number of zombies whose parent is pid. */
static int zombies_of(long pid)
{
    int n = 0;
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += zombie_child(e->d_name, pid);
    closedir(d);
    return n;
}

/* Waits until the process pid has exited: its pidfd turns readable then, whether
 * it is a zombie or reaped already (pidfd_open then fails: it is gone). */
static void wait_exited(pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, H_WAIT_MS), 1, "process %d did not exit", (int)pid);
    close(fd);
}

/* 1 once run (cmd) has reaped its exited child pid, within H_WAIT_MS; 0 if the
 * child stays a zombie, or run ends, meanwhile. Nothing announces a reaping:
 * this looks again whenever 10 ms have passed without run ending. */
static int reaped_by_run(pid_t pid)
{
    char name[16];
    snprintf(name, sizeof name, "%d", (int)pid);
    for (int waited = 0; waited < H_WAIT_MS; waited += 10) {
        if (!zombie_child(name, cmd.pid))
            return 1;
        struct pollfd p = {.fd = cmd.pidfd, .events = POLLIN};
        if (poll(&p, 1, 10) != 0)
            return 0;
    }
    return 0;
}

Test(supervise, run_reaps_children_that_are_not_the_program)
{
    /* The shell's `sleep` is run's child once the shell execs run, as the orphans
     * of the program's tree are run's when it is a container's PID 1: it must not
     * stay a zombie while the program runs. The shell says its pid first. */
    char line[512];
    snprintf(line, sizeof line, "sleep 0.1 & echo \"orphan $!\"; exec %s run --supervise -- /bin/sleep 3",
             CMD);
    const char *argv[] = {"/bin/sh", "-c", line, NULL};
    const char *env[] = {h_preload_first(), NULL};
    h_spawn(&cmd, (char *const *)argv, env, 0);
    cr_assert_eq(h_expect(&cmd, &cmd.out, "orphan ", H_WAIT_MS), 0, "%s", cmd.err.data);
    pid_t orphan = (pid_t)atoi(strstr(cmd.out.data, "orphan ") + 7);
    cr_assert_gt(orphan, 0, "%s", cmd.out.data);
    wait_exited(orphan);
    cr_assert(reaped_by_run(orphan), "run left its child %d a zombie (run %s): %s", (int)orphan,
              h_alive(&cmd) ? "still runs" : "ended", cmd.err.data);
    cr_assert(h_alive(&cmd), "run ended early: %s", cmd.err.data);
    cr_assert_eq(zombies_of(cmd.pid), 0, "run left a zombie child");
    int st = h_wait(&cmd, H_WAIT_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%d: %s", st, cmd.err.data);
}
