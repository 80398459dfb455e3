/* net.c: connect with a deadline and send the token; errors go to the caller's buffer. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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

/* Waits for a non-blocking connect; poll is restarted after EINTR (a SIGSTOP and
 * SIGCONT from Toki can interrupt it) with the time that is left. The fd number is
 * read afresh for every call: the host may have made us move it (see fdguard.c). */
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
        socklen_t len = sizeof soerr;
        if (getsockopt(tshim_fdguard_current(), SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
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
    if (connect(tshim_fdguard_current(), addr, addr_len) < 0) {
        if (errno != EINPROGRESS) {
            tshim_net_error(err, err_size, "connect", errno);
            goto fail;
        }
        if (tshim_net_wait_connected(timeout_ms, err, err_size) < 0)
            goto fail;
    }
    /* Events are tiny and latency is the point: no Nagle. Reads block from here on,
     * so each event costs one recv() and no poll(). */
    int one = 1;
    setsockopt(tshim_fdguard_current(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd = tshim_fdguard_current();
    int fl = fcntl(fd, F_GETFL);
    if (fd < 0 || fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        tshim_net_error(err, err_size, "fcntl", fd < 0 ? EBADF : errno);
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
    ssize_t n;
    do
        n = send(tshim_fdguard_current(), token, len, MSG_NOSIGNAL | MSG_DONTWAIT);
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
    if (tshim_fdguard_open(TSHIM_FDGUARD_SCAN, path) < 0)
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
    struct sockaddr_storage me = {0}, peer = {0};
    socklen_t a = sizeof me, b = sizeof peer;
    int fd = tshim_fdguard_current();
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&me, &a) != 0 ||
        getpeername(fd, (struct sockaddr *)&peer, &b) != 0)
        return -1;
    /* Seen from the server's end: its local port is our peer's, its remote ours. */
    unsigned lport = tshim_net_port_of(&peer), rport = tshim_net_port_of(&me);
    /* The calling thread's view: /proc/net is the main thread's, and empty once main
     * has ended with pthread_exit (a zombie has no network namespace). Kernels before
     * 3.17 have no thread-self. */
    const char *dir = access("/proc/thread-self/net", F_OK) == 0 ? "/proc/thread-self/net" : "/proc/net";
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
