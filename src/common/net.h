/* net.h: the shim's TCP connection to Toki: timed connect and the one-write handshake. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_NET_H
#define TSHIM_NET_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>

/* Connects within timeout_ms; the socket is the shim's one registered fd (see
 * fdguard.h: tshim_fdguard_current() names it, tshim_fdguard_release() closes it),
 * close-on-exec, TCP_NODELAY, and non-blocking for its whole life: every call on it
 * is a guarded call, which a host's dup2 waits for. Returns the fd, or -1 with a
 * reason in err, its errno value in errno, and nothing left open. */
int tshim_net_connect(const struct sockaddr *addr, socklen_t addr_len, int timeout_ms, char *err,
                      size_t err_size);

/* Sends the token on the shim's fd in one send() that can neither block nor raise
 * SIGPIPE: Toki does a single read and compares what it got. Returns 0, or -1 with a
 * reason in err and errno (0 for a short send). */
int tshim_net_send_token(const char *token, size_t len, char *err, size_t err_size);

/* recv(2) on the shim's socket, which never blocks: -1 with EAGAIN when nothing
 * is there yet (poll the number first), EBADF when the shim holds no socket. */
ssize_t tshim_net_recv(void *buf, size_t len);

/* The uid that owns the server end of the shim's connected socket: asked of the
 * kernel by the connection's exact addresses (NETLINK_SOCK_DIAG, a hash lookup),
 * or, where that cannot answer (no inet_diag; netlink denied), found in its tables
 * /proc/net/tcp and tcp6 (the established entry whose local port is our peer's and
 * whose remote port is ours); which one answered is logged at debug. Returns 0 and
 * *uid, or -1 with errno ENOENT if there is no such socket (the connection may
 * have ended already), or EMFILE, ENFILE, ENOMEM if the kernel could not be asked.
 * No allocation. */
int tshim_net_peer_uid(unsigned *uid);

/* The same, one way only (for tests and benchmarks). */
enum tshim_net_way { TSHIM_NET_DIAG, TSHIM_NET_PROC };
int tshim_net_peer_uid_by(enum tshim_net_way way, unsigned *uid);

/* "127.0.0.1:3110" or "[::1]:3110". */
void tshim_net_format(const struct sockaddr *addr, char *buf, size_t size);

#endif
