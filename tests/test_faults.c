/* test_faults.c: a misbehaving server: the host runs on, the shim logs once per cause and never spins. */
/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

TestSuite(faults, .fini = h_fini, .timeout = 120);

/* A scripted server: for each connection in turn, after the token, send the bytes
 * of one script (one byte at a time every `dribble_ms`, if set), then close the
 * connection, or keep it open ("stay") until the test ends. */
enum { STAY = 1, NO_READ = 2 }; /* keep the connection open; never read the token */
struct script {
    const char *bytes;
    size_t len;
    int dribble_ms, flags;
};

static struct {
    int listener, port;
    /* Written by the server's thread, read by the test's: atomic. */
    _Atomic int connections;
    _Atomic int tokens; /* tokens read: the shim has made all the descriptors it needs */
    int told[2]; /* a pipe: the server writes a byte on it for each token read */
    int gate; /* if >= 0, the server waits for a byte here before sending */
    const struct script *scripts;
    int nscripts;
} srv;

static void *serve_scripts(void *arg)
{
    (void)arg;
    for (int i = 0; i < srv.nscripts; i++) {
        int c = accept(srv.listener, NULL, NULL);
        if (c < 0)
            return NULL;
        srv.connections++;
        char token[64];
        if (!(srv.scripts[i].flags & NO_READ) && read(c, token, sizeof token) > 0) {
            srv.tokens++;
            (void)!write(srv.told[1], "t", 1);
        }
        const struct script *s = &srv.scripts[i];
        char go;
        if (srv.gate >= 0)
            (void)!read(srv.gate, &go, 1);
        if (s->dribble_ms) {
            for (size_t k = 0; k < s->len; k++) {
                (void)!write(c, s->bytes + k, 1);
                struct timespec ts = {0, s->dribble_ms * 1000000L};
                nanosleep(&ts, NULL);
            }
        } else {
            for (size_t off = 0; off < s->len;) {
                ssize_t w = write(c, s->bytes + off, s->len - off);
                if (w <= 0)
                    break;
                off += (size_t)w;
            }
        }
        if (!(s->flags & STAY))
            close(c);
    }
    return NULL;
}

static pthread_t start_scripts(const struct script *scripts, int n)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_eq(bind(srv.listener, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(srv.listener, 16), 0);
    getsockname(srv.listener, (struct sockaddr *)&a, &len);
    srv.port = ntohs(a.sin_port);
    srv.scripts = scripts;
    srv.nscripts = n;
    srv.connections = 0;
    srv.tokens = 0;
    cr_assert_eq(pipe2(srv.told, O_CLOEXEC), 0);
    srv.gate = -1;
    pthread_t t;
    pthread_create(&t, NULL, serve_scripts, NULL);
    return t;
}

/* host_hook under the shim, talking to the scripted server. */
static void start_scripted_host(void)
{
    char port[32];
    snprintf(port, sizeof port, "TOKI_PORT=%d", srv.port);
    const char *env[] = {port, "TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_RETRY_MAX_MS=200", NULL};
    const char *argv[] = {H_HOST("host_hook"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
}

#define S(lit) lit, sizeof(lit) - 1

/* CPU time the process has used so far, user and system, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(buf, sizeof buf, f));
    fclose(f);
    unsigned long user = 0, sys = 0;
    const char *end = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    cr_assert(end && sscanf(end + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user,
                            &sys) == 2);
    return (long)(user + sys);
}

/* The shim must never spin, whatever the peer does: over one second in which
 * nothing is sent, the host (every thread of it) may use a fifth of that second of
 * CPU at most. A thread that spins uses all of it, or half on a machine busy with
 * another test; one that waits, none, however busy the machine is. */
static void assert_no_spin(struct h_proc *p)
{
    long hz = sysconf(_SC_CLK_TCK), t0 = cpu_ticks(p->pid);
    h_count(p, &p->err, "toki-shim", 1000); /* one second, with the output drained */
    long used = cpu_ticks(p->pid) - t0;
    cr_assert_leq(used * 5, hz, "%ld ticks of CPU (of %ld) in a second without input: something spins; %s",
                  used, hz, p->err.data ? p->err.data : "");
}

Test(faults, a_close_in_the_middle_of_an_event_name_delivers_nothing_partial)
{
    static const struct script sc[] = {{S("AUTH_REFR"), 0, 0}, {S("AUTH_REFRESHED\n"), 0, 1}};
    start_scripts(sc, 2);
    start_scripted_host();
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "event", 0), 1, "a partial name was delivered: %s", h_host.out.data);
    assert_no_spin(&h_host);
}

Test(faults, a_mebibyte_without_newline_then_an_event)
{
    static struct script sc[1];
    size_t n = 1 << 20;
    char *big = malloc(n + 16);
    memset(big, 'x', n);
    memcpy(big + n, "\nAUTH_REFRESHED\n", 16);
    sc[0] = (struct script){big, n + 16, 0, 1};
    start_scripts(sc, 1);
    start_scripted_host();
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.err, "discarded a line of more than 256 bytes", 0), 1, "%s",
                 h_host.err.data);
    cr_assert(h_alive(&h_host));
    assert_no_spin(&h_host);
}

Test(faults, nul_bytes_and_invalid_utf8_give_one_warning_and_the_next_event_counts)
{
    static const struct script sc[] = {
        {S("AU\0TH\n\xff\xfe\xc3\n\x01\x02\x03\nAUTH_REFRESHED\n"), 0, 1}};
    start_scripts(sc, 1);
    start_scripted_host();
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(h_count(&h_host, &h_host.err, "toki-shim:", 0), 1, "one line for the cause: %s",
                 h_host.err.data);
    assert_no_spin(&h_host);
}

Test(faults, one_byte_every_10_ms_still_makes_one_event)
{
    static const struct script sc[] = {{S("AUTH_REFRESHED\n"), 10, 1}};
    start_scripts(sc, 1);
    start_scripted_host();
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1", H_WAIT_MS), 0);
    cr_assert_eq(h_count(&h_host, &h_host.out, "event", 0), 1);
    assert_no_spin(&h_host);
}

Test(faults, an_http_or_ssh_service_on_the_port_is_survived_without_spinning)
{
    static const struct script sc[] = {
        {S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), 0, 0},
        {S("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), 0, 0},
        {S("HTTP/1.1 400 Bad Request\r\n\r\n"), 0, 0},
        {S("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), 0, 0},
        {S("HTTP/1.1 400 Bad Request\r\n\r\n"), 0, 0},
        {S("AUTH_REFRESHED\n"), 0, 1},
    };
    start_scripts(sc, 6);
    start_scripted_host();
    /* Every connection closes after a banner: each is a lost connection with
     * backoff (the banner was data, so no rejection count), and the first real
     * event still arrives. */
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1", H_WAIT_MS), 0, "%s", h_host.err.data);
    cr_assert_eq(srv.connections, 6, "%d connections", srv.connections);
    cr_assert(h_alive(&h_host));
    assert_no_spin(&h_host);
}

Test(faults, a_server_that_accepts_and_never_sends_is_waited_on_quietly)
{
    static const struct script sc[] = {{S(""), 0, 1}};
    start_scripts(sc, 1);
    start_scripted_host();
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    /* One connection, kept; nothing logged; no reconnect; no CPU. */
    assert_no_spin(&h_host);
    cr_assert_eq(h_count(&h_host, &h_host.err, "toki-shim", 0), 0, "%s", h_host.err.data);
    cr_assert_eq(srv.connections, 1);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0, "the host could not exit");
}

Test(faults, under_valgrind_connect_events_restart_and_exit_are_clean, .timeout = 240)
{
    if (access("/usr/bin/valgrind", X_OK) != 0)
        cr_skip_test("valgrind is not installed: the memcheck scenario did not run");
    if (getenv("TOKI_TEST_PRELOAD_FIRST"))
        cr_skip_test("memcheck runs in the plain build; a sanitizer runtime cannot run under it");
    char port[32], token[96];
    h_server_start(&h_srv, 0, NULL);
    h_server_env(&h_srv, port, token);
    /* /usr/bin/valgrind is a shell script that execs a dynamic launcher: both would
     * load the shim too, and under load either could be the client that the server
     * saw authenticate. Only the program under test may connect. */
    const char *env[] = {port, token, "TOKI_SHIM_RETRY_MAX_MS=400", "TOKI_SHIM_ONLY=host_hook", NULL};
    const char *argv[] = {"/usr/bin/valgrind", "-q", "--error-exitcode=1", "--leak-check=full",
                          "--errors-for-leak-kinds=definite", H_HOST("host_hook"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    h_expect_authenticated_within(1, 60000);
    char burst[15 * 100 + 1] = "";
    for (int i = 0; i < 100; i++)
        strcat(burst, "AUTH_REFRESHED\n");
    h_server_send(&h_srv, burst);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 100\n", 60000), 0, "%s", h_host.err.data);
    int p = h_srv.port;
    h_stop(&h_srv.p);
    h_server_start(&h_srv, p, NULL);
    h_expect_authenticated_within(1, 60000);
    h_server_send(&h_srv, "AUTH_REFRESHED\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 101\n", 60000), 0);
    h_close_stdin(&h_host);
    int st = h_wait(&h_host, 60000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "memcheck found errors (status %d): %s", st,
              h_host.err.data ? h_host.err.data : "");
    cr_assert_null(strstr(h_host.err.data ? h_host.err.data : "", "definitely lost"), "%s", h_host.err.data);
}

Test(faults, sigstop_and_sigcont_every_10_ms_through_connect_and_handshake)
{
    /* toki-shim serve does what Toki does on each refresh: SIGSTOP the command's
     * process group, broadcast, SIGCONT. Every 10 ms, so that stops land during the
     * shim's connect and handshake too. */
    const char *first = getenv("TOKI_TEST_PRELOAD_FIRST");
    char preload[4200];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s%s" BUILD_DIR "/libtoki_shim.so", first ? first : "",
             first ? " " : "");
    const char *argv[] = {BUILD_DIR "/toki-shim", "serve", "--port", "0", "--every", "0.01", "--quiet", "--",
                          "/usr/bin/env", preload, H_HOST("host_hook"), NULL};
    h_spawn(&h_srv.p, (char *const *)argv, NULL, 0);
    cr_assert_eq(h_expect(&h_srv.p, &h_srv.p.out, "refresh 20\n", H_WAIT_MS), 0, "%s / %s",
                 h_srv.p.out.data ? h_srv.p.out.data : "", h_srv.p.err.data ? h_srv.p.err.data : "");
    cr_assert(h_alive(&h_srv.p), "the command ended");
    cr_assert_eq(h_count(&h_srv.p, &h_srv.p.err, "toki-shim", 0), 0, "%s", h_srv.p.err.data);
}

Test(faults, a_server_that_never_reads_the_token_does_not_block_the_shim)
{
    static const struct script sc[] = {{S("AUTH_REFRESHED\n"), 0, STAY | NO_READ}};
    start_scripts(sc, 1);
    start_scripted_host();
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1", H_WAIT_MS), 0, "%s", h_host.err.data);
    assert_no_spin(&h_host);
}

/* Runs host_hook under the shim from sh, after `ulimit` with the given options. */
static void limited_host(const char *ulimit, const char *extra_env)
{
    char port[32], cmd[256];
    snprintf(port, sizeof port, "TOKI_PORT=%d", h_free_port());
    snprintf(cmd, sizeof cmd, "ulimit %s && exec " H_HOST("host_hook"), ulimit);
    const char *env[] = {port, "TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_SKIP=sh", extra_env, NULL};
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
}

Test(faults, at_the_minimum_of_open_files_the_host_is_unaffected_and_nothing_spins)
{
    /* Four descriptors, the least a dynamic program can start with (the loader needs
     * one): the host's three and one for ours, which cannot move up. */
    limited_host("-n 4", "TOKI_SHIM_LOG=debug");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s", h_host.err.data);
    int attempts = h_count(&h_host, &h_host.err, "no connection to Toki", 2000);
    cr_assert_geq(attempts, 1, "%s", h_host.err.data);
    cr_assert_leq(attempts, 21, "%d attempts in 2 s", attempts);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
}

Test(faults, when_the_thread_cannot_be_created_the_shim_is_inert_with_one_line)
{
    if (getenv("TOKI_TEST_PRELOAD_FIRST"))
        cr_skip_test("a sanitizer's shadow memory needs more address space than this test leaves");
    /* 200 MiB of address space, and a 1 GiB stack asked for the listener. */
    limited_host("-v 204800", "TOKI_SHIM_STACK_KB=1048576");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0, "%s", h_host.err.data);
    h_close_stdin(&h_host);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_eq(h_count(&h_host, &h_host.err, "toki-shim:", 0), 1, "%s", h_host.err.data);
    cr_assert_not_null(strstr(h_host.err.data, "cannot start the listener thread"), "%s", h_host.err.data);
    cr_assert_not_null(strstr(h_host.err.data, "toki-shim is disabled for this process"));
}

Test(faults, no_log_line_lands_in_a_file_that_took_over_fd_2)
{
    char dir[] = "/tmp/toki-fd2-XXXXXX", path[64], buf[4096] = "";
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/data", dir);
    int gate[2];
    cr_assert_eq(pipe(gate), 0);
    static const struct script sc[] = {{S("AU\0TH\nAUTH_REFRESHED\n"), 0, STAY}};
    start_scripts(sc, 1);
    srv.gate = gate[0];
    char port[32];
    snprintf(port, sizeof port, "TOKI_PORT=%d", srv.port);
    const char *env[] = {port, "TOKI_TOKEN=" H_TOKEN, NULL};
    /* The host closes its stderr and opens its own data file, which gets fd 2. */
    const char *argv[] = {H_HOST("host_fds"), "stderr", path, NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    /* The host's close(2) and open() expect the open to get 2: only once the shim
     * has connected and handed over its token does it make no descriptor at all
     * (one made meanwhile would take the lowest number for a moment). */
    struct pollfd told = {.fd = srv.told[0], .events = POLLIN};
    cr_assert_eq(poll(&told, 1, H_WAIT_MS), 1, "the shim sent no token");
    cr_assert_eq(srv.tokens, 1);
    h_write(&h_host, "go\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "done", H_WAIT_MS), 0);
    cr_assert_eq(write(gate[1], "g", 1), 1); /* now the bad line, which the shim warns about */
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1", H_WAIT_MS), 0);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    cr_assert_str_eq(buf, "host data\n", "the shim wrote into the host's file: %s", buf);
    unlink(path);
    rmdir(dir);
}

/* ---- many hosts and a server that hangs up after every event ---------------- */

enum { CYCLE_HOSTS = 50, CYCLES = 10000 };
static struct h_proc cyclers[CYCLE_HOSTS];
static int parked[CYCLE_HOSTS];

static void stop_cyclers(void)
{
    for (int i = 0; i < CYCLE_HOSTS; i++) {
        if (parked[i] > 0)
            close(parked[i]);
        parked[i] = 0;
        h_stop(&cyclers[i]);
    }
    h_fini();
}

/* One connection from each host, kept open: then every host is connected and idle. */
static void park_all(int listener)
{
    for (int i = 0; i < CYCLE_HOSTS; i++) {
        parked[i] = h_raw_accept(listener, H_WAIT_MS);
        cr_assert_geq(parked[i], 0, "host %d of %d never connected", i, CYCLE_HOSTS);
    }
}

/* An event on each kept connection, then the hang-up. */
static void release_all(void)
{
    for (int i = 0; i < CYCLE_HOSTS; i++) {
        h_raw_send(parked[i], "AUTH_REFRESHED\n");
        close(parked[i]);
        parked[i] = 0;
    }
}

/* n times: accept whoever comes, give it an event, hang up. */
static void cycle(int listener, int n)
{
    for (int k = 0; k < n; k++) {
        int c = h_raw_accept(listener, H_WAIT_MS);
        cr_assert_geq(c, 0, "no reconnect after %d cycles", k);
        h_raw_send(c, "AUTH_REFRESHED\n");
        close(c);
    }
}

/* What a host holds: descriptors, and private memory in KiB. */
static void holdings(pid_t pid, int *fds, long *rss_kb)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    *fds = 0;
    DIR *d = opendir(path);
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d));)
        *fds += e->d_name[0] != '.';
    closedir(d);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    *rss_kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "RssAnon: %ld", rss_kb) == 1)
            break;
    fclose(f);
}

TestSuite(hangups, .fini = stop_cyclers, .timeout = 600);

Test(hangups, ten_thousand_hang_ups_lose_no_event_and_leak_nothing)
{
    int port, l = h_raw_listen(&port);
    char p[32];
    snprintf(p, sizeof p, "TOKI_PORT=%d", port);
    const char *env[] = {p, "TOKI_TOKEN=" H_TOKEN, NULL};
    const char *argv[] = {H_HOST("host_hook"), NULL};
    for (int i = 0; i < CYCLE_HOSTS; i++)
        h_spawn(&cyclers[i], (char *const *)argv, env, 1);
    /* A first round, so that what the shim touches once (stack pages, code) is in
     * the baseline, then the baseline with every host connected and idle. */
    park_all(l);
    release_all();
    cycle(l, 2 * CYCLE_HOSTS);
    park_all(l);
    int fds0[CYCLE_HOSTS];
    long rss0[CYCLE_HOSTS];
    for (int i = 0; i < CYCLE_HOSTS; i++)
        holdings(cyclers[i].pid, &fds0[i], &rss0[i]);
    release_all();
    cycle(l, CYCLES);
    park_all(l);
    /* Every host has reconnected, so it has run the hook for each event it got. */
    int hooks = 0;
    for (int i = 0; i < CYCLE_HOSTS; i++) {
        int fds;
        long rss;
        holdings(cyclers[i].pid, &fds, &rss);
        cr_assert_eq(fds, fds0[i], "host %d: %d descriptors, %d before", i, fds, fds0[i]);
        /* A sanitizer's allocator and shadow pages make its memory figure meaningless. */
        if (!getenv("TOKI_TEST_PRELOAD_FIRST"))
            cr_assert_leq(rss, rss0[i] + 8, "host %d: private memory %ld KiB, %ld before", i, rss, rss0[i]);
        hooks += h_count(&cyclers[i], &cyclers[i].out, "refresh ", 0);
        cr_assert_eq(h_count(&cyclers[i], &cyclers[i].err, "toki-shim", 0), 0, "host %d said: %s", i,
                     cyclers[i].err.data);
        cr_assert(h_alive(&cyclers[i]));
    }
    cr_assert_eq(hooks, 2 * CYCLE_HOSTS + 2 * CYCLE_HOSTS + CYCLES, "events sent and hooks run differ");
    close(l);
}

Test(faults, a_host_that_uses_up_its_descriptors_is_unaffected_and_the_shim_comes_back)
{
    int port, l = h_raw_listen(&port);
    char p[32];
    snprintf(p, sizeof p, "TOKI_PORT=%d", port);
    const char *env[] = {p, "TOKI_TOKEN=" H_TOKEN, "TOKI_SHIM_LOG=debug", "TOKI_SHIM_RETRY_MAX_MS=400", NULL};
    const char *argv[] = {H_HOST("host_fds"), "exhaust", NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    int c = h_raw_accept(l, H_WAIT_MS);
    cr_assert_geq(c, 0, "%s", h_host.err.data);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "ready", H_WAIT_MS), 0);
    /* The host takes every descriptor its limit (4096 here) leaves, then the
     * connection drops: the shim has none to reconnect with. */
    h_write(&h_host, "fill\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "full: ", H_WAIT_MS), 0, "%s", h_host.out.data);
    cr_assert_eq(h_count(&h_host, &h_host.out, "then Too many open files", 0), 1, "%s", h_host.out.data);
    h_raw_send(c, "AUTH_REFRESHED\n");
    close(c);
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 1", H_WAIT_MS), 0);
    cr_assert_eq(h_wait_count(&h_host, &h_host.err, "Too many open files); retrying", 3, H_WAIT_MS), 3,
                 "%s", h_host.err.data);
    assert_no_spin(&h_host); /* with no descriptor to retry with, it backs off */
    /* Descriptors come back; the host finds each of its own intact, and the shim
     * reconnects and delivers the next event. */
    h_write(&h_host, "free\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "freed, 0 failed", H_WAIT_MS), 0, "%s", h_host.out.data);
    c = h_raw_accept(l, H_WAIT_MS);
    cr_assert_geq(c, 0, "no reconnect: %s", h_host.err.data);
    h_raw_send(c, "AUTH_REFRESHED\n");
    cr_assert_eq(h_expect(&h_host, &h_host.out, "refresh 2", H_WAIT_MS), 0, "%s", h_host.err.data);
    /* Nothing but the connection's own story was said (debug: every retry), and the
     * descriptor shortage as a warning once at most: with one descriptor free, the
     * socket can be made but not the table of owners read, and the token waits.
     * The event's line is written after the hook has printed "refresh 2": wait for
     * it, or it may land between this count and the next ones. */
    cr_assert_eq(h_wait_count(&h_host, &h_host.err, "event AUTH_REFRESHED", 2, H_WAIT_MS), 2, "%s",
                 h_host.err.data);
    int lines = h_count(&h_host, &h_host.err, "toki-shim", 0);
    cr_assert_leq(h_count(&h_host, &h_host.err, "cannot tell who owns the server on port", 0), 1);
    int told = h_count(&h_host, &h_host.err, "cannot tell who owns the server on port", 0) +
               h_count(&h_host, &h_host.err, "no connection to Toki", 0) +
               h_count(&h_host, &h_host.err, "connected to Toki", 0) +
               h_count(&h_host, &h_host.err, "closed the connection", 0) +
               h_count(&h_host, &h_host.err, "event AUTH_REFRESHED", 0) +
               h_count(&h_host, &h_host.err, "cannot reach Toki at", 0) +
               h_count(&h_host, &h_host.err, "peer check by", 0);
    cr_assert_eq(lines, told, "%s", h_host.err.data);
    close(c);
    close(l);
}
