/* net.c: connect with a deadline and send the token; errors go to the caller's buffer. */
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
#include "log.h"

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
    int fd = tshim_fdguard_socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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
    static char buf[8192]; /* one caller at a time: the listener, or the command; not on
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

int tshim_net_peer_uid(unsigned *uid)
{
    struct tshim_net_ends e;
    memset(&e, 0, sizeof e);
    if (tshim_fdguard_call(TSHIM_FDGUARD_SOCKET, tshim_net_do_ends, &e) != 0)
        return -1;
    /* Seen from the server's end: its local port is our peer's, its remote ours. */
    unsigned lport = tshim_net_port_of(&e.peer), rport = tshim_net_port_of(&e.me);
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
    if (r > 0)
        return 0;
    if (r == 0)
        errno = ENOENT;
    return -1;
}
