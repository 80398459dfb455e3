/* test_serve.c: `toki-shim serve` speaks Toki's wire protocol, runs commands like Toki, and checks its options. */
/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CMD BUILD_DIR "/toki-shim"

static struct h_server srv;
static struct h_proc proc;

static void finish(void)
{
    h_stop(&srv.p);
    h_stop(&proc);
}

TestSuite(serve, .fini = finish, .timeout = 120);

static int raw_connect(int port, const char *send_first)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (send_first)
        cr_assert_eq(write(fd, send_first, strlen(send_first)), (ssize_t)strlen(send_first));
    return fd;
}

/* Reads until want has arrived whole or the peer closed; returns what came. */
static char *raw_read(int fd, size_t want)
{
    static char buf[65536];
    size_t n = 0;
    while (n < want && n < sizeof buf - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, H_WAIT_MS) <= 0)
            break;
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return buf;
}

/* Reads until text has arrived, however much comes before it; returns 1 if it did. */
static int raw_read_until(int fd, const char *text)
{
    char buf[8192];
    size_t keep = 0, tl = strlen(text);
    for (int waited = 0; waited < H_WAIT_MS; waited += 10) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        h_pump(&srv.p, 0); /* a server blocked on its stderr sends nothing */
        if (poll(&p, 1, 10) == 0)
            continue;
        ssize_t r = read(fd, buf + keep, sizeof buf - 1 - keep);
        if (r <= 0)
            return 0;
        size_t n = keep + (size_t)r;
        buf[n] = '\0';
        if (strstr(buf, text))
            return 1;
        /* Keep the tail, in case text is split across reads. */
        keep = n < tl ? n : tl;
        memmove(buf, buf + n - keep, keep);
    }
    return 0;
}

/* 1 if the peer closed the connection without sending a byte. */
static int closed_silently(int fd)
{
    char c;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, H_WAIT_MS) == 1 && read(fd, &c, 1) == 0;
}

Test(serve, prints_a_port_and_a_uuid_shaped_token)
{
    const char *argv[] = {CMD, "serve", "--port", "0", NULL};
    h_spawn(&proc, (char *const *)argv, NULL, 0);
    cr_assert_eq(h_expect(&proc, &proc.out, "TOKI_TOKEN=", H_WAIT_MS), 0);
    const char *t = strstr(proc.out.data, "TOKI_TOKEN=") + 11;
    cr_assert_eq(strcspn(t, "\n"), 36);
    for (int i = 0; i < 36; i++)
        cr_assert(i == 8 || i == 13 || i == 18 || i == 23 ? t[i] == '-' : strchr("0123456789abcdef", t[i]) != NULL,
                  "%.36s", t);
    cr_assert_eq(t[14], '4', "version 4");
    cr_assert(strstr(proc.out.data, "TOKI_PORT=") == proc.out.data);
}

Test(serve, wrong_token_is_closed_without_a_reply)
{
    h_server_start(&srv, 0, NULL);
    int fd = raw_connect(srv.port, "00000000-0000-0000-0000-000000000000");
    cr_assert(closed_silently(fd));
    cr_assert_eq(h_expect(&srv.p, &srv.p.err, "client 1 rejected (wrong token)", H_WAIT_MS), 0);
    close(fd);
}

Test(serve, the_token_must_come_in_one_read)
{
    h_server_start(&srv, 0, NULL);
    int fd = raw_connect(srv.port, "0f8fad5b");
    cr_assert_eq(h_expect(&srv.p, &srv.p.err, "client 1 rejected", H_WAIT_MS), 0);
    cr_assert(closed_silently(fd));
    close(fd);
}

Test(serve, events_sent_before_the_handshake_arrive_after_it)
{
    h_server_start(&srv, 0, NULL);
    int fd = raw_connect(srv.port, NULL);
    cr_assert_eq(h_expect(&srv.p, &srv.p.err, "client 1 connected", H_WAIT_MS), 0);
    h_server_send(&srv, "EARLY\nAUTH_REFRESHED\n");
    cr_assert_eq(h_expect(&srv.p, &srv.p.err, "sent AUTH_REFRESHED to 0 clients", H_WAIT_MS), 0);
    cr_assert_eq(write(fd, H_TOKEN, 36), 36);
    cr_assert_str_eq(raw_read(fd, 21), "EARLY\nAUTH_REFRESHED\n");
    h_server_send(&srv, "LATER\n");
    cr_assert_str_eq(raw_read(fd, 6), "LATER\n");
    close(fd);
    cr_assert_eq(h_expect(&srv.p, &srv.p.err, "client 1 disconnected", H_WAIT_MS), 0);
}

Test(serve, dev_mode_reads_no_token)
{
    const char *argv[] = {CMD, "serve", "--port", "0", "--dev", NULL};
    h_spawn(&srv.p, (char *const *)argv, NULL, 0);
    cr_assert_eq(h_expect(&srv.p, &srv.p.out, "TOKI_TOKEN=", H_WAIT_MS), 0);
    srv.port = atoi(strstr(srv.p.out.data, "TOKI_PORT=") + 10);
    int fd = raw_connect(srv.port, "anything at all");
    cr_assert_eq(h_expect(&srv.p, &srv.p.err, "client 1 authenticated", H_WAIT_MS), 0);
    h_server_send(&srv, "AUTH_REFRESHED\n");
    cr_assert_str_eq(raw_read(fd, 15), "AUTH_REFRESHED\n");
    close(fd);
}

Test(serve, a_full_queue_drops_events_for_that_client_only)
{
    h_server_start(&srv, 0, NULL);
    /* A client that never reads, with a small fixed receive buffer; the server's send
     * buffer can still grow to tcp_wmem's maximum (4 MiB here), so send more. */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)srv.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int slow = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 4096;
    setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    cr_assert_eq(connect(slow, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(write(slow, H_TOKEN, 36), 36);
    cr_assert_eq(h_expect(&srv.p, &srv.p.err, "client 1 authenticated", H_WAIT_MS), 0);
    enum { N = 400000 };
    char *burst = malloc(15 * N + 1);
    for (int i = 0; i < N; i++)
        memcpy(burst + 15 * i, "AUTH_REFRESHED\n", 15);
    burst[15 * N] = '\0';
    h_server_send(&srv, burst);
    free(burst);
    cr_assert_eq(h_expect(&srv.p, &srv.p.err, "client 1: queue full (100 events), dropping events until it reads", H_WAIT_MS), 0);
    /* The server is not blocked by the slow client: a new one is still served. */
    int fast = raw_connect(srv.port, H_TOKEN);
    cr_assert_eq(h_expect(&srv.p, &srv.p.err, "client 2 authenticated", H_WAIT_MS), 0);
    /* It may join while the burst is still being read from stdin. */
    h_server_send(&srv, "FRESH\n");
    cr_assert(raw_read_until(fast, "FRESH\n"));
    close(fast);
    close(slow);
}

Test(serve, command_gets_toki_variables_and_its_status_is_returned)
{
    const char *argv[] = {CMD, "serve", "--port", "0", "--token", "tok", "--",
                          "/bin/sh", "-c", "echo \"port=$TOKI_PORT token=$TOKI_TOKEN\"; exit 3", NULL};
    h_spawn(&proc, (char *const *)argv, NULL, 0);
    int st = h_wait(&proc, H_WAIT_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status %d", st);
    const char *port = strstr(proc.out.data, "TOKI_PORT=") + 10;
    char want[64];
    snprintf(want, sizeof want, "port=%d token=tok\n", atoi(port));
    cr_assert_not_null(strstr(proc.out.data, want), "%s", proc.out.data);
}

/* Serves a command that prints its pid and sleeps; connects a client to it. With
 * every, the server refreshes on that period. Returns the client's fd. */
static int serve_sleeper(const char *every, pid_t *pid)
{
    const char *argv[16] = {CMD, "serve", "--port", "0", "--token", H_TOKEN};
    size_t n = 6;
    if (every) {
        argv[n++] = "--every";
        argv[n++] = every;
    }
    argv[n++] = "--";
    argv[n++] = "/bin/sh";
    argv[n++] = "-c";
    argv[n++] = "echo pid=$$; exec sleep 60";
    argv[n] = NULL;
    h_spawn(&proc, (char *const *)argv, NULL, 0);
    cr_assert_eq(h_expect(&proc, &proc.out, "pid=", H_WAIT_MS), 0);
    *pid = atoi(strstr(proc.out.data, "pid=") + 4);
    return raw_connect(atoi(strstr(proc.out.data, "TOKI_PORT=") + 10), H_TOKEN);
}

/* Ends the command with SIGTERM and expects the server to exit with its status. */
static void terminate_sleeper(pid_t pid)
{
    kill(pid, SIGTERM);
    int st = h_wait(&proc, H_WAIT_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM, "status %d", st);
}

Test(serve, finished_is_broadcast_when_the_command_exits)
{
    pid_t pid;
    int fd = serve_sleeper(NULL, &pid);
    cr_assert_eq(h_expect(&proc, &proc.err, "client 1 authenticated", H_WAIT_MS), 0);
    kill(pid, SIGTERM);
    cr_assert_str_eq(raw_read(fd, 9), "FINISHED\n");
    terminate_sleeper(pid);
    close(fd);
}

Test(serve, every_refreshes_a_command_like_toki)
{
    pid_t pid;
    int fd = serve_sleeper("0.05", &pid);
    cr_assert_str_eq(raw_read(fd, 45), "AUTH_REFRESHED\nAUTH_REFRESHED\nAUTH_REFRESHED\n");
    /* SIGCONT followed each SIGSTOP: SIGTERM (which waits while a process is stopped)
     * ends the command, and with it the server. */
    terminate_sleeper(pid);
    close(fd);
}

Test(serve, missing_command_exits_127)
{
    const char *argv[] = {CMD, "serve", "--port", "0", "--", "/nonexistent/prog", NULL};
    h_spawn(&proc, (char *const *)argv, NULL, 0);
    int st = h_wait(&proc, H_WAIT_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 127, "status %d", st);
    cr_assert_not_null(strstr(proc.err.data, "/nonexistent/prog: No such file or directory"));
}

static void expect_usage_error(const char *const argv[], const char *message)
{
    h_spawn(&proc, (char *const *)argv, NULL, 0);
    int st = h_wait(&proc, H_WAIT_MS);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s: status %d", argv[2], st);
    cr_assert_not_null(strstr(proc.err.data ? proc.err.data : "", message), "%s", proc.err.data);
    cr_assert_eq(proc.out.len, 0);
    h_stop(&proc);
}

Test(serve, bad_options_are_usage_errors)
{
    const char *a1[] = {CMD, "serve", "--port", "70000", NULL};
    expect_usage_error(a1, "--port 70000 is not a port");
    const char *a2[] = {CMD, "serve", "--every", "0", NULL};
    expect_usage_error(a2, "--every 0 is not a time");
    const char *a3[] = {CMD, "serve", "--dev", "--token", "x", NULL};
    expect_usage_error(a3, "exclude each other");
    const char *a4[] = {CMD, "serve", "--bogus", NULL};
    expect_usage_error(a4, "toki-shim serve: unknown option '--bogus'\nTry 'toki-shim serve --help'.");
    const char *a5[] = {CMD, "nonsense", NULL};
    expect_usage_error(a5, "unknown command 'nonsense'");
}

Test(serve, help_and_version)
{
    const char *argv[] = {CMD, "--version", NULL};
    h_spawn(&proc, (char *const *)argv, NULL, 0);
    cr_assert_eq(h_wait(&proc, H_WAIT_MS), 0);
    cr_assert_str_eq(proc.out.data, "toki-shim 0.1.0\n");
    h_stop(&proc);
    const char *argv2[] = {CMD, "serve", "--help", NULL};
    h_spawn(&proc, (char *const *)argv2, NULL, 0);
    cr_assert_eq(h_wait(&proc, H_WAIT_MS), 0);
    cr_assert_not_null(strstr(proc.out.data, "Usage: toki-shim serve"));
}
