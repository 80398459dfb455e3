/* session.h: one client of Toki's event server, from the first connect to FINISHED: handshake, peer check, framing, rejection and reconnect with backoff. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_SESSION_H
#define TSHIM_SESSION_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "frame.h"

/* What one attempt to reach Toki came to, or may come to: STOP is final. */
enum tshim_session_try { TSHIM_SESSION_CONNECTED, TSHIM_SESSION_RETRY, TSHIM_SESSION_STOP };

/* A wait callback's answer when its owner wants the session over (the supervised
 * program exited): the session lets its socket go and returns at once. */
#define TSHIM_SESSION_WAIT_STOP (-2)

/* What the product that runs the session does with it. The library runs it on its
 * own thread and acts in-process; toki-shim run's supervisor runs it in its poll
 * loop and acts on its child. Each callback gets ctx. */
struct tshim_session_ops {
    /* One event line: returns 1 if it is a trigger event (the session then paces
     * its action, unless TOKI_SHIM_ACTION=none), else 0. */
    int (*event)(void *ctx, const char *name);
    /* The action, once, for n trigger events, the last one named name. */
    void (*act)(void *ctx, const char *name, unsigned long n);
    /* Before each connection: CONNECTED if a socket may be made now; otherwise
     * err says why. NULL: always. */
    enum tshim_session_try (*may_connect)(void *ctx, char *err, size_t err_size);
    /* Waits up to timeout_ms for fd to be readable, or, with fd -1, sleeps that
     * long (signals that interrupt the sleep neither shorten nor stretch it).
     * Returns as poll does (>0 readable, 0 timeout, -1 with errno), or
     * TSHIM_SESSION_WAIT_STOP. */
    int (*wait)(void *ctx, int fd, long timeout_ms);
    /* The connection came up (reconnect: not the first), went down, or failed:
     * what (a static sentence) and an errno value, 0 if none applies. Each may be
     * NULL. */
    void (*up)(void *ctx, int reconnect);
    void (*down)(void *ctx);
    void (*fail)(void *ctx, const char *what, int err);
};

/* How a session ended. */
enum tshim_session_end {
    TSHIM_SESSION_FINISHED, /* Toki said FINISHED: the step's command has exited */
    TSHIM_SESSION_GIVEN_UP, /* rejected three times, or the server is another user's */
    TSHIM_SESSION_STOPPED,  /* a callback said stop */
};

/* Records the effective uid this process started with (the kernel's, at exec), the
 * first time only: a forked child's session keeps its parent's. The peer check
 * trusts it, for a daemon that dropped its privileges after start. */
void tshim_session_remember_uid(void);

/* Connects, reads events and reconnects until the session ends; reads *c and never
 * frees it. The socket is the fd guard's (see net.h); none is left open on return. */
enum tshim_session_end tshim_session_run(const struct tshim_config *c,
                                         const struct tshim_session_ops *ops, void *ctx);

/* recv's answer when nothing was there to read yet (EAGAIN, EINTR). */
#define TSHIM_SESSION_NOTHING (-2)

/* One read of the connection's socket (net.h), framed: each line it finishes goes
 * to fn. Returns the bytes read, 0 at the end of the stream, TSHIM_SESSION_NOTHING,
 * or -1 with errno. buf holds the bytes read until the next call. */
ssize_t tshim_session_receive(struct tshim_frame *f, char *buf, size_t size, tshim_frame_fn fn,
                              void *ctx);

#endif
