/* test_security.c: the token goes only to our own Toki, and can be scrubbed from the environment. */
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
#include <unistd.h>

#include "harness.h"

TestSuite(security, .fini = h_fini, .timeout = 120);

/* A listener owned by uid 65534 (nobody), as another user's squatter on Toki's
 * port would be. It tells its port, then how many bytes its one client sent. */
static pid_t foreign_server(int *port, int *report)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(p[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        struct sockaddr_in a = {.sin_family = AF_INET};
        socklen_t len = sizeof a;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int l = socket(AF_INET, SOCK_STREAM, 0);
        if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4) ||
            getsockname(l, (struct sockaddr *)&a, &len))
            _exit(4);
        int bound = ntohs(a.sin_port), got = 0;
        (void)!write(p[1], &bound, sizeof bound);
        alarm(60); /* never outlive the test */
        int c = accept(l, NULL, NULL);
        char buf[256];
        ssize_t n;
        /* Until the whole token is here, or the client has gone. */
        while (got < 36 && (n = read(c, buf, sizeof buf)) > 0)
            got += (int)n;
        (void)!write(p[1], &got, sizeof got);
        _exit(0);
    }
    close(p[1]);
    cr_assert_eq(read(p[0], port, sizeof *port), (ssize_t)sizeof *port, "the foreign server did not start");
    *report = p[0];
    return pid;
}

static int run_against_foreign_server(const char *extra_env, const char *expect_err)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to create a listener owned by another uid");
    int port, report, got = -1;
    pid_t server = foreign_server(&port, &report);
    char env_port[32];
    snprintf(env_port, sizeof env_port, "TOKI_PORT=%d", port);
    const char *env[] = {env_port, "TOKI_TOKEN=" H_TOKEN, extra_env, NULL};
    const char *argv[] = {H_HOST("host_hook"), NULL};
    h_spawn(&h_host, (char *const *)argv, env, 1);
    if (expect_err)
        cr_assert_eq(h_expect(&h_host, &h_host.err, expect_err, H_WAIT_MS), 0, "%s", h_host.err.data);
    /* The server reports once it has the whole token, or once the shim has hung up. */
    struct pollfd pf = {.fd = report, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, H_WAIT_MS), 1, "the foreign server never heard from the shim");
    cr_assert_eq(read(report, &got, sizeof got), (ssize_t)sizeof got);
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    close(report);
    return got;
}

Test(security, the_token_is_not_sent_to_another_users_server)
{
    int got = run_against_foreign_server(NULL, "belongs to uid 65534, not to us (uid 0)");
    cr_assert_eq(got, 0, "%d bytes of the token reached the foreign server", got);
}

Test(security, peer_check_0_sends_it_anyway)
{
    int got = run_against_foreign_server("TOKI_SHIM_PEER_CHECK=0", NULL);
    cr_assert_eq(got, 36, "%d bytes", got);
}

Test(security, scrub_token_hides_it_from_proc_environ_and_descendants)
{
    h_start_server(NULL);
    /* The shell is the shimmed process: its own /proc environ, its own variable,
     * and what a child inherits. */
    const char *argv[] = {"/bin/sh", "-c",
                          "tr '\\0' '\\n' < /proc/$$/environ | grep -c " H_TOKEN "; "
                          "echo \"var [$TOKI_TOKEN]\"; env | grep -c TOKI_TOKEN; sleep 60",
                          NULL};
    /* The shim kept its own copy and still connects. */
    h_start_host_ready(argv, 1, 1, NULL, "TOKI_SHIM_SCRUB_TOKEN=1", NULL);
    cr_assert_eq(h_wait_count(&h_host, &h_host.out, "var", 1, H_WAIT_MS), 1);
    cr_assert_eq(strncmp(h_host.out.data, "0\nvar []\n", 9), 0, "%s", h_host.out.data);
    cr_assert_eq(h_wait_count(&h_host, &h_host.out, "0", 2, H_WAIT_MS), 2, "a child inherited it: %s",
                 h_host.out.data);
}

Test(security, without_scrubbing_the_token_stays_for_the_program)
{
    h_start_server(NULL);
    const char *argv[] = {"/bin/sh", "-c", "echo \"var [$TOKI_TOKEN]\"", NULL};
    h_start_host_ready(argv, 1, 0, NULL, NULL);
    cr_assert_eq(h_wait(&h_host, H_WAIT_MS), 0);
    cr_assert_str_eq(h_host.out.data, "var [" H_TOKEN "]\n");
}
