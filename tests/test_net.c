/* test_net.c: connect (success, refusal, timeout) and the one-write token handshake. */
/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fdguard.h"
#include "common/net.h"
#include "hosts/seccomp_filter.h"

static int listener(struct sockaddr_in *a, int backlog)
{
    socklen_t len = sizeof *a;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)a, sizeof *a), 0);
    cr_assert_eq(listen(fd, backlog), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)a, &len), 0);
    return fd;
}

Test(net, connects_with_cloexec_nodelay_and_nonblocking_reads)
{
    struct sockaddr_in a;
    char err[160];
    int l = listener(&a, 8);
    int fd = tshim_net_connect((struct sockaddr *)&a, sizeof a, 2000, err, sizeof err);
    cr_assert_geq(fd, 0, "%s", err);
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    /* Every call on it is one that a host's dup2 waits for: none may block. */
    cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
    int nodelay = 0;
    socklen_t len = sizeof nodelay;
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len);
    cr_assert(nodelay);

    const char *token = "0f8fad5b-d9cb-469f-a165-70867728950e";
    cr_assert_eq(fd, tshim_fdguard_current(), "the socket is the registered one");
    cr_assert_eq(tshim_net_send_token(token, 36, err, sizeof err), 0, "%s", err);
    int c = accept(l, NULL, NULL);
    char buf[64];
    /* The whole token is there for Toki's single read, and nothing after it. */
    cr_assert_eq(read(c, buf, sizeof buf), 36);
    cr_assert_eq(memcmp(buf, token, 36), 0);
    errno = 0;
    cr_assert_eq(tshim_net_recv(buf, sizeof buf), -1, "nothing sent yet: no wait");
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(write(c, "AUTH_REFRESHED\n", 15), 15);
    struct pollfd p = {.fd = tshim_fdguard_current(), .events = POLLIN};
    cr_assert_eq(poll(&p, 1, -1), 1);
    cr_assert_eq(tshim_net_recv(buf, sizeof buf), 15);
    close(c);
    tshim_fdguard_release();
    cr_assert_eq(tshim_fdguard_current(), -1);
    close(l);
}

Test(net, refused_connection_says_why)
{
    struct sockaddr_in a;
    char err[160];
    int l = listener(&a, 1);
    close(l); /* the port is now closed */
    cr_assert_eq(tshim_net_connect((struct sockaddr *)&a, sizeof a, 2000, err, sizeof err), -1);
    cr_assert_str_eq(err, "connect: Connection refused");
    cr_assert_eq(tshim_fdguard_current(), -1, "nothing left open");
}

Test(net, connect_gives_up_at_the_timeout)
{
    /* A listener whose accept queue is full drops further SYNs: the connect hangs. */
    struct sockaddr_in a;
    char err[160];
    int l = listener(&a, 0);
    int fillers[4];
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fillers[i], (struct sockaddr *)&a, sizeof a);
    }
    int fd = tshim_net_connect((struct sockaddr *)&a, sizeof a, 300, err, sizeof err);
    if (fd >= 0)
        cr_skip_test("this kernel accepted past the backlog; cannot provoke a timeout");
    cr_assert_str_eq(err, "connect: Connection timed out");
    for (int i = 0; i < 4; i++)
        close(fillers[i]);
    close(l);
}

Test(net, send_token_on_a_closed_peer_raises_no_sigpipe)
{
    struct sockaddr_in a;
    char err[160];
    int l = listener(&a, 8);
    int fd = tshim_net_connect((struct sockaddr *)&a, sizeof a, 2000, err, sizeof err);
    cr_assert_geq(fd, 0);
    int c = accept(l, NULL, NULL);
    struct linger lg = {1, 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c); /* RST */
    char buf[8];
    (void)!read(fd, buf, sizeof buf);
    /* If MSG_NOSIGNAL were missing, SIGPIPE would kill this test process. */
    int r1 = tshim_net_send_token("x", 1, err, sizeof err);
    int r2 = tshim_net_send_token("x", 1, err, sizeof err);
    cr_assert(r1 == -1 || r2 == -1);
    tshim_fdguard_release();
    close(l);
}

Test(net, formats_addresses)
{
    char buf[64];
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(3110)};
    a6.sin6_addr = in6addr_loopback;
    tshim_net_format((struct sockaddr *)&a6, buf, sizeof buf);
    cr_assert_str_eq(buf, "[::1]:3110");
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(80)};
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    tshim_net_format((struct sockaddr *)&a4, buf, sizeof buf);
    cr_assert_str_eq(buf, "127.0.0.1:80");
}

/* The server end of the shim's connection to l, accepted; both ends are open. */
static int connected(int l, const struct sockaddr *a, socklen_t len)
{
    char err[160];
    cr_assert_geq(tshim_net_connect(a, len, 2000, err, sizeof err), 0, "%s", err);
    int c = accept(l, NULL, NULL);
    cr_assert_geq(c, 0);
    return c;
}

Test(net, both_ways_of_the_peer_check_find_the_servers_owner)
{
    struct sockaddr_in a;
    int l = listener(&a, 8), c = connected(l, (struct sockaddr *)&a, sizeof a);
    unsigned diag = 12345, proc = 54321, any = 999;
    cr_assert_eq(tshim_net_peer_uid_by(TSHIM_NET_DIAG, &diag), 0, "%s", strerror(errno));
    cr_assert_eq(tshim_net_peer_uid_by(TSHIM_NET_PROC, &proc), 0, "%s", strerror(errno));
    cr_assert_eq(tshim_net_peer_uid(&any), 0);
    cr_assert_eq(diag, (unsigned)geteuid());
    cr_assert_eq(proc, (unsigned)geteuid());
    cr_assert_eq(any, (unsigned)geteuid());
    cr_assert_eq(tshim_fdguard_get(TSHIM_FDGUARD_SCAN), -1, "the netlink socket is let go");
    close(c);
    tshim_fdguard_release();
    close(l);
}

Test(net, the_peer_check_finds_the_server_end_over_ipv6)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t len = sizeof a;
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0)
        cr_skip_test("no IPv6 loopback here");
    cr_assert_eq(listen(l, 8), 0);
    cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
    int c = connected(l, (struct sockaddr *)&a, sizeof a);
    unsigned diag = 12345, proc = 54321;
    cr_assert_eq(tshim_net_peer_uid_by(TSHIM_NET_DIAG, &diag), 0, "%s", strerror(errno));
    cr_assert_eq(tshim_net_peer_uid_by(TSHIM_NET_PROC, &proc), 0, "%s", strerror(errno));
    cr_assert_eq(diag, (unsigned)geteuid());
    cr_assert_eq(proc, (unsigned)geteuid());
    close(c);
    tshim_fdguard_release();
    close(l);
}

Test(net, a_server_end_that_has_closed_is_not_found_either_way)
{
    struct sockaddr_in a;
    int l = listener(&a, 8), c = connected(l, (struct sockaddr *)&a, sizeof a);
    close(c);
    /* Our end sees the FIN: the server end has left the established state. */
    struct pollfd p = {.fd = tshim_fdguard_current(), .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 5000), 1);
    unsigned uid;
    errno = 0;
    cr_assert_eq(tshim_net_peer_uid_by(TSHIM_NET_DIAG, &uid), -1);
    cr_assert_eq(errno, ENOENT, "%s", strerror(errno));
    errno = 0;
    cr_assert_eq(tshim_net_peer_uid_by(TSHIM_NET_PROC, &uid), -1);
    cr_assert_eq(errno, ENOENT, "%s", strerror(errno));
    tshim_fdguard_release();
    close(l);
}

Test(net, where_netlink_is_denied_the_peer_check_reads_proc_net_tcp)
{
    struct sockaddr_in a;
    int l = listener(&a, 8), c = connected(l, (struct sockaddr *)&a, sizeof a);
    pid_t pid = fork();
    if (pid == 0) {
        /* A sandbox that allows no new socket: the lookup's netlink socket fails. */
        unsigned uid = 12345;
        if (seccomp_filter_one(SYS_socket, SECCOMP_RET_ERRNO | EAFNOSUPPORT, 0) != 0)
            _exit(3);
        if (tshim_net_peer_uid_by(TSHIM_NET_DIAG, &uid) == 0 || errno != EAFNOSUPPORT)
            _exit(4);
        _exit(tshim_net_peer_uid(&uid) == 0 && uid == (unsigned)geteuid() ? 0 : 5);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
        cr_skip_test("no seccomp here");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    close(c);
    tshim_fdguard_release();
    close(l);
}
