/* net.c: connect with a deadline and send the token; errors go to the caller's buffer. */
/* SPDX-License-Identifier: MIT */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fdguard.h"
#include "kernel.h"
#include "log.h"
#include "tshim.h"

void tshim_net_format(const struct sockaddr *addr, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(buf, size, "%s:%u", ip, ntohs(in->sin_port));
    }
}

static int tshim_net_error(char *err, size_t err_size, const char *what, int e)
{
    char msg[128];
    snprintf(err, err_size, "%s: %s", what, tshim_log_strerror(e, msg, sizeof msg));
    errno = e;
    return -1;
}

/* Every call on the socket is a guarded call (see fdguard.h): a host's dup2 onto
 * its number waits until the call is over, so that none lands in the host's file.
 * None of them may block: the socket is non-blocking for its whole life. */

struct tshim_net_bytes {
    void *buf;
    size_t len;
};

static ssize_t tshim_net_do_send(int fd, void *arg)
{
    const struct tshim_net_bytes *b = arg;
    return send(fd, b->buf, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static ssize_t tshim_net_do_recv(int fd, void *arg)
{
    const struct tshim_net_bytes *b = arg;
    return recv(fd, b->buf, b->len, MSG_DONTWAIT);
}

struct tshim_net_addr {
    const struct sockaddr *addr;
    socklen_t len;
};

static ssize_t tshim_net_do_connect(int fd, void *arg)
{
    const struct tshim_net_addr *a = arg;
    return connect(fd, a->addr, a->len);
}

static ssize_t tshim_net_do_so_error(int fd, void *arg)
{
    socklen_t len = sizeof(int);
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, arg, &len);
}

static ssize_t tshim_net_do_nodelay(int fd, void *arg)
{
    (void)arg;
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Both ends of the connection, as the kernel names them. */
struct tshim_net_ends {
    struct sockaddr_storage me, peer;
};

static ssize_t tshim_net_do_ends(int fd, void *arg)
{
    struct tshim_net_ends *e = arg;
    socklen_t a = sizeof e->me, b = sizeof e->peer;
    if (getsockname(fd, (struct sockaddr *)&e->me, &a) != 0 ||
        getpeername(fd, (struct sockaddr *)&e->peer, &b) != 0)
        return -1;
    return 0;
}

ssize_t tshim_net_recv(void *buf, size_t len)
{
    struct tshim_net_bytes b = {buf, len};
    return tshim_fdguard_call(TSHIM_FDGUARD_SOCKET, tshim_net_do_recv, &b);
}

/* Waits for a non-blocking connect; poll is restarted after EINTR (a SIGSTOP and
 * SIGCONT from Toki can interrupt it) with the time that is left. poll is the one
 * call outside the guard, as it may wait: the number is read afresh for it, and a
 * host's file that took the number meanwhile is only polled, never touched. */
static int tshim_net_wait_connected(int timeout_ms, char *err, size_t err_size)
{
    long deadline = tshim_clock_now_ms() + timeout_ms;
    for (;;) {
        long left = deadline - tshim_clock_now_ms();
        if (left <= 0)
            return tshim_net_error(err, err_size, "connect", ETIMEDOUT);
        struct pollfd p = {.fd = tshim_fdguard_current(), .events = POLLOUT};
        if (p.fd < 0)
            return tshim_net_error(err, err_size, "connect", EBADF);
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return tshim_net_error(err, err_size, "poll", errno);
        if (r == 0)
            continue;
        int soerr = 0;
        if (tshim_fdguard_call(TSHIM_FDGUARD_SOCKET, tshim_net_do_so_error, &soerr) < 0)
            return tshim_net_error(err, err_size, "getsockopt", errno);
        if (soerr != 0)
            return tshim_net_error(err, err_size, "connect", soerr);
        return 0;
    }
}

int tshim_net_connect(const struct sockaddr *addr, socklen_t addr_len, int timeout_ms, char *err,
                      size_t err_size)
{
    /* Registered as it is made, so that a host closing or dup'ing over descriptors,
     * or forking, from here on leaves it alone. */
    int fd = tshim_fdguard_socket(TSHIM_FDGUARD_SOCKET, addr->sa_family,
                                  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return tshim_net_error(err, err_size, "socket", errno);
    struct tshim_net_addr a = {addr, addr_len};
    if (tshim_fdguard_call(TSHIM_FDGUARD_SOCKET, tshim_net_do_connect, &a) < 0) {
        if (errno != EINPROGRESS) {
            tshim_net_error(err, err_size, "connect", errno);
            goto fail;
        }
        if (tshim_net_wait_connected(timeout_ms, err, err_size) < 0)
            goto fail;
    }
    /* Events are tiny and latency is the point: no Nagle. */
    tshim_fdguard_call(TSHIM_FDGUARD_SOCKET, tshim_net_do_nodelay, NULL);
    fd = tshim_fdguard_current();
    if (fd < 0) {
        tshim_net_error(err, err_size, "connect", EBADF);
        goto fail;
    }
    return fd;
fail:;
    int e = errno;
    tshim_fdguard_release();
    errno = e;
    return -1;
}

int tshim_net_send_token(const char *token, size_t len, char *err, size_t err_size)
{
    struct tshim_net_bytes b = {(void *)(uintptr_t)token, len};
    ssize_t n;
    do
        n = tshim_fdguard_call(TSHIM_FDGUARD_SOCKET, tshim_net_do_send, &b);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return tshim_net_error(err, err_size, "send", errno);
    if ((size_t)n != len) {
        /* Toki compares one read of 36 bytes; a split token would be rejected. */
        snprintf(err, err_size, "send: only %zd of %zu token bytes went out", n, len);
        errno = 0;
        return -1;
    }
    return 0;
}

static unsigned tshim_net_port_of(const struct sockaddr_storage *ss)
{
    /* Copied out rather than cast, so that no reader has to trust the aliasing. */
    if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 a6;
        memcpy(&a6, ss, sizeof a6);
        return ntohs(a6.sin6_port);
    }
    struct sockaddr_in a4;
    memcpy(&a4, ss, sizeof a4);
    return ntohs(a4.sin_port);
}

/* One line of /proc/net/tcp: "sl local rem st ... uid ...", addresses as HEX:PORT. */
static int tshim_net_match_line(const char *line, unsigned lport, unsigned rport, unsigned *uid)
{
    unsigned l = 0, r = 0, st = 0, u = 0;
    if (sscanf(line, " %*s %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x %*s %*s %*s %u", &l, &r, &st, &u) !=
        4)
        return 0;
    if (l != lport || r != rport || st != 1) /* 01: established */
        return 0;
    *uid = u;
    return 1;
}

/* 1: found; 0: not in this table (or no such table: IPv6 may be off); -1: the
 * table could not be read for want of a descriptor or memory, errno says which. */
static int tshim_net_scan(const char *path, unsigned lport, unsigned rport, unsigned *uid)
{
    static char buf[8192] TSHIM_COLD; /* one caller at a time: the listener, or the command; not on
                              the listener's stack, which may be as small as 16 KiB */
    size_t have = 0;
    /* Held high and guarded like the socket: reading the table can take a while, and
     * a host closing every descriptor meanwhile must neither close this one nor
     * have its own closed or read in its place. */
    int found = 0;
    if (tshim_fdguard_open(TSHIM_FDGUARD_SCAN, path, O_RDONLY, 0) < 0)
        return errno == EMFILE || errno == ENFILE || errno == ENOMEM ? -1 : 0;
    for (;;) {
        ssize_t n = tshim_fdguard_read_slot(TSHIM_FDGUARD_SCAN, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        char *line = buf, *nl;
        while (!found && (nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            found = tshim_net_match_line(line, lport, rport, uid);
            line = nl + 1;
        }
        if (found)
            break;
        have = strlen(line); /* a partial line waits for the rest */
        memmove(buf, line, have);
        if (have == sizeof buf - 1)
            have = 0; /* no line is this long: drop it */
    }
    tshim_fdguard_release_slot(TSHIM_FDGUARD_SCAN);
    return found;
}

/* ---- the peer check by exact lookup: sock_diag (what ss(8) uses) ---------- */

/* A request for one TCP socket by its four addresses and ports. */
struct tshim_net_diag_req {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 r;
};

static ssize_t tshim_net_do_diag_send(int fd, void *arg)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    return sendto(fd, arg, sizeof(struct tshim_net_diag_req), MSG_DONTWAIT,
                  (struct sockaddr *)&kernel, sizeof kernel);
}

/* The kernel answers within the send: the reply is queued when sendto returns. */
static ssize_t tshim_net_do_diag_recv(int fd, void *arg)
{
    struct tshim_net_bytes *b = arg;
    return recv(fd, b->buf, b->len, MSG_DONTWAIT);
}

/* The address of a socket end, in the 4 words inet_diag takes (network order). */
static void tshim_net_diag_addr(const struct sockaddr_storage *ss, uint32_t out[4], uint16_t *port)
{
    memset(out, 0, 4 * sizeof out[0]);
    if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 a6;
        memcpy(&a6, ss, sizeof a6);
        memcpy(out, &a6.sin6_addr, sizeof a6.sin6_addr);
        *port = a6.sin6_port;
    } else {
        struct sockaddr_in a4;
        memcpy(&a4, ss, sizeof a4);
        out[0] = a4.sin_addr.s_addr;
        *port = a4.sin_port;
    }
}

/* What the reply says: 1 and *uid, 0 if there is no such socket, -1 with errno if
 * the kernel cannot answer (no inet_diag, or the reply is not one). */
static int tshim_net_diag_reply(const void *buf, ssize_t n, unsigned *uid)
{
    const struct nlmsghdr *h = buf;
    if (n < (ssize_t)sizeof *h || !NLMSG_OK(h, (size_t)n)) {
        errno = EPROTO;
        return -1;
    }
    if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e) || e->error == -ENOENT)
            return 0;
        errno = -e->error;
        return -1;
    }
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
        h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
        errno = EPROTO;
        return -1;
    }
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    /* As in /proc/net/tcp, only an established server end counts: one that has
     * closed (FIN_WAIT) belongs to no process any more. */
    if (m->idiag_state != TCP_ESTABLISHED)
        return 0;
    *uid = m->idiag_uid;
    return 1;
}

/* The server's end, looked up by the kernel in its hash of established sockets:
 * its cost does not grow with the sockets on the machine. The netlink socket is
 * held in the scan slot, guarded like every descriptor of the shim. */
static int tshim_net_diag_uid(const struct tshim_net_ends *e, unsigned *uid)
{
    struct tshim_net_diag_req q;
    memset(&q, 0, sizeof q);
    q.nlh.nlmsg_len = sizeof q;
    q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    q.nlh.nlmsg_flags = NLM_F_REQUEST;
    q.r.sdiag_family = (unsigned char)e->me.ss_family;
    q.r.sdiag_protocol = IPPROTO_TCP;
    q.r.idiag_states = 1u << TCP_ESTABLISHED;
    /* Seen from the server's end: its source is our peer, its destination us. */
    tshim_net_diag_addr(&e->peer, q.r.id.idiag_src, &q.r.id.idiag_sport);
    tshim_net_diag_addr(&e->me, q.r.id.idiag_dst, &q.r.id.idiag_dport);
    q.r.id.idiag_cookie[0] = q.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    if (tshim_fdguard_socket(TSHIM_FDGUARD_SCAN, AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
                             NETLINK_SOCK_DIAG) < 0)
        return -1;
    long reply[128] = {0}; /* aligned for nlmsghdr; one message and its few attributes */
    struct tshim_net_bytes b = {reply, sizeof reply};
    ssize_t n = tshim_fdguard_call(TSHIM_FDGUARD_SCAN, tshim_net_do_diag_send, &q);
    if (n == (ssize_t)sizeof q)
        n = tshim_fdguard_call(TSHIM_FDGUARD_SCAN, tshim_net_do_diag_recv, &b);
    int r = n > 0 ? tshim_net_diag_reply(reply, n, uid) : -1, err = errno;
    tshim_fdguard_release_slot(TSHIM_FDGUARD_SCAN);
    errno = err;
    return r;
}

/* The same, from the kernel's tables in /proc: read line by line, so its cost grows
 * with every TCP socket on the machine. */
static int tshim_net_proc_uid(const struct tshim_net_ends *e, unsigned *uid)
{
    /* Seen from the server's end: its local port is our peer's, its remote ours. */
    unsigned lport = tshim_net_port_of(&e->peer), rport = tshim_net_port_of(&e->me);
    /* The calling thread's view: /proc/net is the main thread's, and empty once main
     * has ended with pthread_exit (a zombie has no network namespace). Kernels before
     * 3.17 have no thread-self. */
    const char *dir =
        access("/proc/thread-self/net", F_OK) == 0 ? "/proc/thread-self/net" : "/proc/net";
    char path[40];
    snprintf(path, sizeof path, "%s/tcp", dir);
    int r = tshim_net_scan(path, lport, rport, uid);
    if (r == 0) {
        snprintf(path, sizeof path, "%s/tcp6", dir);
        r = tshim_net_scan(path, lport, rport, uid);
    }
    return r;
}

int tshim_net_peer_uid_by(enum tshim_net_way way, unsigned *uid)
{
    struct tshim_net_ends e;
    memset(&e, 0, sizeof e);
    if (tshim_fdguard_call(TSHIM_FDGUARD_SOCKET, tshim_net_do_ends, &e) != 0)
        return -1;
    int r = way == TSHIM_NET_DIAG ? tshim_net_diag_uid(&e, uid) : tshim_net_proc_uid(&e, uid);
    if (r > 0)
        return 0;
    if (r == 0)
        errno = ENOENT;
    return -1;
}

int tshim_net_peer_uid(unsigned *uid)
{
    int r = tshim_net_peer_uid_by(TSHIM_NET_DIAG, uid);
    /* Without a descriptor to spare the tables cannot be read either: say so now. */
    if (r == 0 || errno == ENOENT || errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
        tshim_log(TSHIM_LOG_DEBUG, "peer check by sock_diag: %s",
                  r == 0            ? "found"
                  : errno == ENOENT ? "not found"
                                    : "no descriptor or memory");
        return r;
    }
    char msg[64];
    tshim_log(TSHIM_LOG_DEBUG, "peer check by /proc/net/tcp: sock_diag cannot answer (%s)",
              tshim_log_strerror(errno, msg, sizeof msg));
    return tshim_net_peer_uid_by(TSHIM_NET_PROC, uid);
}
