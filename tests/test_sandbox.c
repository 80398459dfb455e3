/* test_sandbox.c: hosts that restrict themselves or run privileged: seccomp, kcmp denied, a reused event fd number, setgid. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

TestSuite(sandbox, .fini = h_fini, .timeout = 120);

/* ---- seccomp: a program that forbids socket(2) after start ----------------- */

/* host_sandbox in mode under the shim, connected to a bare server the test holds;
 * returns the connection. */
static int sandbox_host(const char *mode, int *listener)
{
    int port;
    *listener = h_raw_listen(&port);
    char p[32];
    snprintf(p, sizeof p, "TOKI_PORT=%d", port);
    const char *env[] = {p, "TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_SETTLE_MS=0", "TOKI_SHIM_LOG=info",
                         "TOKI_SHIM_RETRY_MAX_MS=200", NULL};
    const char *argv[] = {H_HOST("host_sandbox"), mode, NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    int c = h_raw_accept(*listener, H_WAIT_MS);
    cr_assert_geq(c, 0, "no connection: %s", h_host.err.data ? h_host.err.data : "");
    return c;
}

Test(sandbox, a_program_that_forbids_socket_after_start_lives_and_the_listener_stops)
{
    int l, c = sandbox_host("socket", &l);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s", h_host.out.data);
    /* Every thread, the listener's too, dies at its next socket(2) from here on. */
    h_write(&h_host, "\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "sandboxed", H_WAIT_MS), 0, "%s", h_host.out.data);
    close(c); /* the shim would reconnect now */
    if (h_expect(&h_host, &h_host.err, "seccomp filter after start", H_WAIT_MS) != 0)
        cr_assert_fail("no warning; the host %s: %s",
                       h_wait(&h_host, 1000) == -1 ? "is alive" : "has exited (killed by SIGSYS?)",
                       h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.err, "makes none; listener stopped", 0), 1, "%s",
                 h_host.err.data);
    h_write(&h_host, "\n");
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "status active=1 error=a seccomp filter was "
                                               "installed after start; the listener stopped", 0),
                 1, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "alive", 0), 1, "%s", h_host.out.data);
    close(l);
}

Test(sandbox, a_program_that_makes_poll_fail_after_start_lives_and_the_listener_does_not_spin)
{
    int l, c = sandbox_host("poll", &l);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s", h_host.out.data);
    h_write(&h_host, "\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "sandboxed", H_WAIT_MS), 0, "%s", h_host.out.data);
    /* An event wakes the listener; its next wait fails: it gives the connection
     * up, and then finds the filter before it makes a new socket. A listener that
     * spun on the failing poll would never get there. */
    h_raw_send(c, "AUTH_REFRESHED\n");
    cr_assert_eq(h_expect(&h_host, &h_host.err, "seccomp filter after start", H_WAIT_MS), 0,
                 "%s", h_host.err.data);
    h_write(&h_host, "\n");
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "alive", 0), 1, "%s", h_host.out.data);
    close(c);
    close(l);
}

/* ---- kcmp denied: a forked child and the event fd ---------------------------- */

Test(sandbox, with_kcmp_denied_a_forked_child_does_not_share_the_parents_event_fd)
{
    h_start_server(NULL);
    const char *argv[] = {H_HOST("host_sandbox"), "kcmp", NULL};
    const char *env[] = {h_env_port, h_env_token, NULL};
    h_start_host(argv, env, 1, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "asked", H_WAIT_MS), 0, "%s", h_host.out.data);
    h_write(&h_host, "\n"); /* deny kcmp, fork */
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s%s", h_host.out.data,
                 h_host.err.data);
    /* The child's number names a fresh eventfd, which the parent's post missed. */
    cr_assert_eq(h_count(&h_host, &h_host.out, "child fd anon_inode:[eventfd], sees 0", 0), 1, "%s",
                 h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "parent sees 1", 0), 1, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "parent event fd same", 0), 1, "%s", h_host.out.data);
    /* The parent's number is still ours, to the listener (kcmp denied there too). */
    h_send_events(3);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "parent refreshes 3", H_WAIT_MS), 0, "%s",
                 h_host.out.data);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0, "%s", h_host.err.data);
}

/* ---- the event fd's number closed by closefrom(3) and reused ----------------- */

/* host_stale in mode: it has asked for the event fd, closed every descriptor
 * above 2 and put /dev/null at the event fd's number. */
static void stale_host(const char *mode)
{
    h_start_server(NULL);
    const char *argv[] = {H_HOST("host_stale"), mode, NULL};
    const char *env[] = {h_env_port, h_env_token, NULL};
    h_start_host(argv, env, 1, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "is /dev/null", 0), 1, "%s", h_host.out.data);
}

Test(sandbox, once_the_event_fds_number_is_reused_the_auto_action_signals_again)
{
    stale_host("signal");
    h_send_events(1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "sighup", H_WAIT_MS), 0, "no signal: %s%s",
                 h_host.out.data, h_host.err.data);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_eq(h_count(&h_host, &h_host.out, "total 0 sighup 1", 0), 1, "%s", h_host.out.data);
}

Test(sandbox, once_the_event_fds_number_is_reused_event_fd_returns_a_new_eventfd)
{
    stale_host("again");
    h_write(&h_host, "\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "again ", H_WAIT_MS), 0, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "again a new number: anon_inode:[eventfd], and ", 0),
                 1, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, " is still /dev/null", 0), 1, "%s", h_host.out.data);
    h_send_events(2);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refreshes 2", H_WAIT_MS), 0, "%s", h_host.out.data);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_eq(h_count(&h_host, &h_host.out, "total 2 sighup 0", 0), 1, "%s", h_host.out.data);
}

/* ---- AT_SECURE: a setgid program that loads the shim through /etc/ld.so.preload */

/* A scratch folder with a copy of host_epoll (setgid root, or plain), a folder
 * that anyone may write a log file into, and a mount point for ns_preload. */
struct secure_dir {
    char dir[64], prog[96], logs[96], log[128], scratch[96];
};

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    cr_assert(in >= 0 && out >= 0, "copy %s to %s: %s", from, to, strerror(errno));
    while ((n = read(in, buf, sizeof buf)) > 0)
        cr_assert_eq(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

static void secure_cleanup(struct secure_dir *d)
{
    char lib[sizeof d->dir + 32];
    snprintf(lib, sizeof lib, "%s/libtoki_shim.so", d->dir);
    unlink(lib);
    unlink(d->log);
    unlink(d->prog);
    rmdir(d->logs);
    rmdir(d->scratch);
    rmdir(d->dir);
}

static void secure_setup(struct secure_dir *d, int setgid_root)
{
    if (geteuid() != 0)
        cr_skip_test("needs root: a setgid-root copy of a host, a mount namespace, uid 65534");
    snprintf(d->dir, sizeof d->dir, "/tmp/toki-secure-XXXXXX");
    cr_assert_not_null(mkdtemp(d->dir));
    snprintf(d->prog, sizeof d->prog, "%s/host_epoll", d->dir);
    snprintf(d->logs, sizeof d->logs, "%s/logs", d->dir);
    snprintf(d->log, sizeof d->log, "%s/evil.log", d->logs);
    snprintf(d->scratch, sizeof d->scratch, "%s/ns", d->dir);
    cr_assert_eq(chmod(d->dir, 0755), 0);
    cr_assert_eq(mkdir(d->logs, 0777), 0);
    cr_assert_eq(chmod(d->logs, 0777), 0); /* past the umask: uid 65534 may create the log */
    cr_assert_eq(mkdir(d->scratch, 0755), 0);
    copy_file(H_HOST("host_epoll"), d->prog);
    /* The library too: uid 65534 may not reach the build folder (a checkout in a
     * folder of mode 0700, as mktemp -d makes). */
    char lib[sizeof d->dir + 32];
    snprintf(lib, sizeof lib, "%s/libtoki_shim.so", d->dir);
    copy_file(BUILD_DIR "/libtoki_shim.so", lib);
    cr_assert_eq(chmod(lib, 0755), 0);
    cr_assert_eq(chown(d->prog, 0, 0), 0);
    cr_assert_eq(chmod(d->prog, setgid_root ? 02755 : 0755), 0);
    struct statvfs vfs;
    if (statvfs(d->dir, &vfs) == 0 && (vfs.f_flag & ST_NOSUID)) {
        secure_cleanup(d);
        cr_skip_test("/tmp is mounted nosuid: a setgid program gains no group there");
    }
}

/* Runs the copy as uid/gid 65534 through ns_preload, with env, until it exits;
 * returns its wait status. If it listens, h_srv authenticates it and sends it an
 * event first, then its stdin is closed. Skips the test if the namespace
 * could not be made. */
static int secure_run(struct secure_dir *d, const char *const env[], int await_client)
{
    char libs[4096];
    const char *first = getenv("TOKI_TEST_PRELOAD_FIRST");
    snprintf(libs, sizeof libs, "%s%s%s/libtoki_shim.so\n", first ? first : "", first ? " " : "",
             d->dir);
    const char *argv[] = {H_HOST("ns_preload"), d->scratch, libs, d->prog, "secure", NULL};
    h_stop(&h_host);
    unlink(d->log);
    h_spawn(&h_host, (char *const *)argv, env, 0);
    if (h_expect(&h_host, &h_host.out, "at_secure ", H_WAIT_MS) == 0) {
        /* The event is read after the shim logged its connection. No assertion
         * here: the caller's, after the scratch folder is gone, say what failed. */
        if (await_client && h_authenticated(1, H_WAIT_MS) == 1) {
            h_send_events(1);
            h_expect(&h_host, &h_host.out, "host refreshes 1", H_WAIT_MS);
        }
        h_close_stdin(&h_host); /* host_epoll, if it listens, stops at the end of its stdin */
    }
    int st = h_wait(&h_host, H_WAIT_MS);
    if (h_count(&h_host, &h_host.out, "skip: ", 0) > 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", strstr(h_host.out.data, "skip: ") + 6);
        secure_cleanup(d);
        cr_skip_test("%s", why);
    }
    return st;
}

/* What the log file says, or "" if there is none (and *exists 0). */
static const char *read_log(const struct secure_dir *d, int *exists)
{
    static char text[8192];
    text[0] = '\0';
    int fd = open(d->log, O_RDONLY | O_CLOEXEC);
    *exists = fd >= 0;
    if (fd < 0)
        return text;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

/* The caller's variables: TOKI_SHIM_STRICT=1 with a bad TOKI_SHIM_ACTION (strict),
 * or a good configuration against h_srv at log level info; both with a log file
 * where the caller says. */
static int caller_run(struct secure_dir *d, int strict, int await_client)
{
    char logvar[160];
    snprintf(logvar, sizeof logvar, "TOKI_SHIM_LOG_FILE=%s", d->log);
    if (strict) {
        const char *env[] = {"TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_STRICT=1", "TOKI_SHIM_ACTION=reload",
                             logvar, NULL};
        return secure_run(d, env, 0);
    }
    /* The server is root's and the program runs as uid 65534: no peer check. */
    h_start_server(NULL);
    const char *env[] = {h_env_port, h_env_token, "TOKI_SHIM_SETTLE_MS=0", "TOKI_SHIM_LOG=info",
                         "TOKI_SHIM_PEER_CHECK=0", logvar, NULL};
    return secure_run(d, env, await_client);
}

/* A setgid copy under the caller's variables: it runs as it would without the
 * shim, which is loaded (through /etc/ld.so.preload) and inert. */
static void setgid_case(int strict)
{
    /* A preloaded sanitizer runtime in a secure program exits before main (seen:
     * status 1, no output): that would test the sanitizer, not the shim. */
    h_skip_under_sanitizers();
    struct secure_dir d;
    int logged;
    secure_setup(&d, 1);
    int st = caller_run(&d, strict, 0);
    const char *log = read_log(&d, &logged);
    secure_cleanup(&d);
    cr_assert_eq(st, 0, "status %#x (TOKI_SHIM_STRICT obeyed?): %s", st, h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "at_secure 1", 0), 1,
                 "the copy did not run as a secure program: %s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out,
                         "no event fd: ENOTSUP (shim loaded: 1)", 0), 1,
                 "the shim was not loaded, or not inert: %s", h_host.out.data);
    cr_assert_not(logged, "a log file was created where the caller said: %s", log);
    /* The program has exited: a client that connected is in the server's log. */
    if (!strict)
        cr_assert_eq(h_count(&h_srv.p, &h_srv.p.err, " connected", 0), 0,
                     "the setgid program connected to the caller's server: %s", h_srv.p.err.data);
}

Test(sandbox, a_setgid_program_ignores_strict_and_log_file)
{
    setgid_case(1);
}

Test(sandbox, a_setgid_program_does_not_connect)
{
    setgid_case(0);
}

/* The same copy, not setgid: the mechanism works, so the test above can fail. */
Test(sandbox, the_same_program_without_setgid_obeys_them)
{
    struct secure_dir d;
    int logged;
    char strict_log[1024];
    secure_setup(&d, 0);
    int st = caller_run(&d, 1, 0);
    snprintf(strict_log, sizeof strict_log, "%s", read_log(&d, &logged));
    int connect_st = caller_run(&d, 0, 1);
    const char *log = read_log(&d, &logged);
    secure_cleanup(&d);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %#x", st);
    cr_assert_not_null(strstr(strict_log, "TOKI_SHIM_STRICT=1, exiting with status 2"), "log: %s",
                       strict_log);
    cr_assert_eq(connect_st, 0, "status %#x: %s", connect_st, h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "at_secure 0", 0), 1, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "host total 1", 0), 1, "%s", h_host.out.data);
    cr_assert_not_null(strstr(log, "connected to Toki"), "log: %s", log);
}
