/* session.c: the connection loop, from connect to FINISHED, with backoff between tries. */
/* SPDX-License-Identifier: MIT */
#include "session.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "clock.h"
#include "fdguard.h"
#include "frame.h"
#include "log.h"
#include "net.h"
#include "pace.h"

#define TSHIM_SESSION_UNREACHABLE_TRIES 5 /* failed tries in a row before a warning */
#define TSHIM_SESSION_REJECT_WINDOW_MS 1000 /* EOF this soon after the token, with no byte */
#define TSHIM_SESSION_REJECT_LIMIT 3
#define TSHIM_SESSION_RECHECK_MS 60000 /* the longest wait with no action pending */

/* One session's callbacks, its random state, and whether a callback said stop. */
struct tshim_session {
    const struct tshim_config *c;
    const struct tshim_session_ops *ops;
    void *ctx;
    uint64_t rng;
    int stopped;
};

/* How one connection ended. */
enum tshim_session_conn { TSHIM_SESSION_LOST, TSHIM_SESSION_DONE, TSHIM_SESSION_HALT };

/* What a connection's trigger events are waiting for: the pace of their action
 * and the name to report it under. */
struct tshim_session_due {
    struct tshim_pace pace;
    char name[TSHIM_FRAME_MAX + 1];
};

static void tshim_session_fail(struct tshim_session *s, const char *what, int err)
{
    if (s->ops->fail)
        s->ops->fail(s->ctx, what, err);
}

/* Sleeps ms through the owner's wait; 0, or -1 once the owner said stop. */
static int tshim_session_sleep(struct tshim_session *s, long ms)
{
    if (s->ops->wait(s->ctx, -1, ms) == TSHIM_SESSION_WAIT_STOP)
        s->stopped = 1;
    return s->stopped ? -1 : 0;
}

/* Runs the action if its time has come. */
static void tshim_session_act_if_due(struct tshim_session *s, struct tshim_session_due *d)
{
    if (tshim_pace_wait(&d->pace, tshim_clock_now_ms()) == 0)
        s->ops->act(s->ctx, d->name, tshim_pace_take(&d->pace));
}

/* The connection is over, but what Toki delivered on it is not: actions still
 * waiting run at their time, before any reconnect (unless the owner said stop:
 * then there is nobody left to act on). */
static void tshim_session_flush(struct tshim_session *s, struct tshim_session_due *d)
{
    long w;
    while (!s->stopped && (w = tshim_pace_wait(&d->pace, tshim_clock_now_ms())) >= 0) {
        if (w > 0)
            tshim_session_sleep(s, w);
        else
            s->ops->act(s->ctx, d->name, tshim_pace_take(&d->pace));
    }
}

/* One event line: shown to the owner, and if it is a trigger, scheduled. With
 * neither debounce nor splay the action runs here and now, once per event, in
 * order. */
static void tshim_session_event(struct tshim_session *s, struct tshim_session_due *d,
                                const char *name)
{
    if (!s->ops->event(s->ctx, name) || s->c->action == TSHIM_DECIDE_NONE)
        return;
    snprintf(d->name, sizeof d->name, "%s", name);
    tshim_pace_event(&d->pace, tshim_clock_now_ms(), tshim_backoff_next(&s->rng));
    tshim_session_act_if_due(s, d);
}

/* Waits for the socket to have something to read, or for the pending action's
 * time, whichever comes first; runs the action then. Returns 0 when there may be
 * bytes to read. The wait is outside the fd guard (a host's dup2 onto our number
 * waits for guarded calls, and this wait may last minutes), so the number is read
 * afresh each time, and a host's file that takes it is only ever polled: the read
 * itself is a guarded call. */
static int tshim_session_wait(struct tshim_session *s, struct tshim_session_due *d)
{
    for (;;) {
        long w = tshim_pace_wait(&d->pace, tshim_clock_now_ms());
        int fd = tshim_fdguard_current();
        if (fd < 0)
            return 0; /* the host took the number: the read fails, and ends the connection */
        /* With nothing pending, the wait still ends now and then: if the host
         * dup2()ed onto our number between the load above and the wait, it is the
         * host's file that is polled, and our socket (moved, or let go) is looked
         * at again only then. Even when the action is due, bytes that are already
         * here go first: they may be events that the same action should cover. */
        int r = s->ops->wait(s->ctx, fd, w < 0 ? TSHIM_SESSION_RECHECK_MS : w);
        if (r == TSHIM_SESSION_WAIT_STOP) {
            s->stopped = 1;
            return -1;
        }
        if (r < 0 && errno != EINTR)
            return -1; /* no way to wait (a sandbox may deny poll): end the connection */
        if (r > 0)
            return 0; /* the read tells: data, the end, or an error that ends it */
        if (r == 0 && w >= 0)
            tshim_session_act_if_due(s, d);
    }
}

/* One connection's reading: what the framer's lines go to, and what they said. */
struct tshim_session_reading {
    struct tshim_session *s;
    struct tshim_session_due *d;
    unsigned long *events;
    int said_long, said_bad; /* one line per cause and connection, not per line */
    int finished;            /* Toki said FINISHED: the rest is not read */
};

/* One framed line; stops the framing after FINISHED. */
static int tshim_session_line(void *ctx, enum tshim_frame_kind kind, const char *name)
{
    struct tshim_session_reading *r = ctx;
    if (kind == TSHIM_FRAME_TOO_LONG && !r->said_long++) {
        tshim_log(TSHIM_LOG_WARN,
                  "discarded a line of more than %d bytes from Toki (said "
                  "once per connection)",
                  TSHIM_FRAME_MAX);
    } else if (kind == TSHIM_FRAME_BAD && !r->said_bad++) {
        tshim_log(TSHIM_LOG_WARN, "discarded a line from Toki with bytes no event name has "
                                  "(said once per connection)");
    } else if (kind == TSHIM_FRAME_EVENT) {
        ++*r->events;
        tshim_session_event(r->s, r->d, name);
        r->finished = strcmp(name, "FINISHED") == 0;
    }
    return r->finished;
}

ssize_t tshim_session_receive(struct tshim_frame *f, char *buf, size_t size, tshim_frame_fn fn,
                              void *ctx)
{
    /* A guarded call on the number as it is now: the host may have made us move
     * it, or taken it (then EBADF: a lost connection). */
    ssize_t n = tshim_net_recv(buf, size);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return TSHIM_SESSION_NOTHING;
    if (n > 0)
        tshim_frame_push(f, buf, (size_t)n, fn, ctx);
    return n;
}

/* Reads events until the connection ends; *events counts those delivered, *bytes
 * everything received. */
static enum tshim_session_conn tshim_session_read(struct tshim_session *s, unsigned long *events,
                                                  unsigned long *bytes)
{
    struct tshim_frame f;
    struct tshim_session_due d;
    struct tshim_session_reading r = {.s = s, .d = &d, .events = events};
    char buf[4096], msg[64];
    enum tshim_session_conn end = TSHIM_SESSION_LOST;
    tshim_frame_init(&f);
    tshim_pace_init(&d.pace, s->c->debounce_ms, s->c->splay_ms);
    while (end == TSHIM_SESSION_LOST) {
        if (tshim_session_wait(s, &d) < 0) {
            if (s->stopped)
                break;
            tshim_log(TSHIM_LOG_INFO, "connection given up: poll failed: %s",
                      tshim_log_strerror(errno, msg, sizeof msg));
            tshim_session_fail(s, "cannot wait for Toki's events", errno);
            break;
        }
        /* Nothing there yet (the wait saw the host's file, or its own wake-up) is
         * no loss: wait again. */
        ssize_t n = tshim_session_receive(&f, buf, sizeof buf, tshim_session_line, &r);
        if (n == TSHIM_SESSION_NOTHING)
            continue;
        if (n < 0) {
            tshim_log(TSHIM_LOG_INFO, "connection lost: %s",
                      tshim_log_strerror(errno, msg, sizeof msg));
            tshim_session_fail(s, "the connection to Toki was lost", errno);
            break;
        }
        if (n == 0)
            break;
        *bytes += (unsigned long)n;
        if (r.finished)
            end = TSHIM_SESSION_DONE;
    }
    if (s->ops->down)
        s->ops->down(s->ctx);
    tshim_session_flush(s, &d);
    return s->stopped ? TSHIM_SESSION_HALT : end;
}

/* The effective uid the process started with, recorded by the first session (a
 * forked child's keeps its parent's). */
static long tshim_session_start_uid = -1;

void tshim_session_remember_uid(void)
{
    if (tshim_session_start_uid < 0)
        tshim_session_start_uid = (long)getauxval(AT_EUID); /* the kernel's, at exec */
}

/* Whose server may have the token: ours; the uid we started with, for a daemon
 * that has since dropped its privileges (its Toki did not); and root, who could
 * read the token from our memory anyway. */
static int tshim_session_trusted(unsigned uid)
{
    return uid == (unsigned)geteuid() || uid == 0 || (long)uid == tshim_session_start_uid;
}

/* Toki's port is open on every interface and fixed, so on a shared machine another
 * user can listen on it first and collect tokens. Before the token leaves, the
 * server end of a loopback connection must belong to our effective uid. Only an
 * owner seen and not ours is final: an owner not seen (the connection already
 * gone, or no descriptor free to read the table with) is asked again at the next
 * connection, and the token waits until then. */
static enum tshim_session_try tshim_session_peer_check(struct tshim_session *s, char *err,
                                                       size_t err_size)
{
    static int said; /* the first time at warn, then with the retries */
    const struct tshim_config *c = s->c;
    unsigned uid;
    char msg[64];
    if (!c->peer_check || !tshim_config_is_loopback((const struct sockaddr *)&c->addr))
        return TSHIM_SESSION_CONNECTED;
    if (tshim_net_peer_uid(&uid) != 0) {
        int e = errno;
        snprintf(err, err_size, "cannot tell who owns the server yet: %s",
                 e == ENOENT ? "the kernel does not know its connection"
                             : tshim_log_strerror(e, msg, sizeof msg));
        tshim_session_fail(
            s, "cannot tell who owns the server on Toki's port; the token was not sent", e);
        if (!said++)
            tshim_log(TSHIM_LOG_WARN,
                      "cannot tell who owns the server on port %d (%s); the token was not "
                      "sent; retrying; TOKI_SHIM_PEER_CHECK=0 skips this check",
                      c->port, err);
        return TSHIM_SESSION_RETRY;
    }
    if (!tshim_session_trusted(uid)) {
        tshim_log(
            TSHIM_LOG_ERROR,
            "the server on port %d belongs to uid %u, not to us (uid %u): it is "
            "not our Toki, and the token was not sent; TOKI_SHIM_PEER_CHECK=0 skips this check",
            c->port, uid, (unsigned)geteuid());
        tshim_session_fail(
            s, "the server on Toki's port belongs to another user; the token was not sent", 0);
        return TSHIM_SESSION_STOP;
    }
    return TSHIM_SESSION_CONNECTED;
}

/* Asks the owner, connects, checks who owns the server, and sends the token: the
 * socket stays open only when it all went through. */
static enum tshim_session_try tshim_session_handshake(struct tshim_session *s, char *err,
                                                      size_t err_size)
{
    const struct tshim_config *c = s->c;
    enum tshim_session_try t =
        s->ops->may_connect ? s->ops->may_connect(s->ctx, err, err_size) : TSHIM_SESSION_CONNECTED;
    if (t != TSHIM_SESSION_CONNECTED)
        return t;
    if (tshim_net_connect((const struct sockaddr *)&c->addr, c->addr_len, c->connect_timeout_ms,
                          err, err_size) < 0) {
        tshim_session_fail(s, "cannot connect to Toki", errno);
        return TSHIM_SESSION_RETRY;
    }
    t = tshim_session_peer_check(s, err, err_size);
    if (t != TSHIM_SESSION_CONNECTED) {
        /* Not ours is final: another user's listener got Toki's port. */
        tshim_fdguard_release();
        return t;
    }
    if (tshim_net_send_token(c->token, c->token_len, err, err_size) < 0) {
        tshim_session_fail(s, "cannot send the token to Toki", errno);
        tshim_fdguard_release();
        return TSHIM_SESSION_RETRY;
    }
    return TSHIM_SESSION_CONNECTED;
}

/* Toki rejects a token by closing at once and in silence; a server that said
 * anything at all was no rejection, just not (yet) a good peer. Returns 1 when the
 * connection that just ended makes TSHIM_SESSION_REJECT_LIMIT in a row. */
static int tshim_session_rejected(struct tshim_session *s, int *rejections, unsigned long bytes,
                                  long since_ms)
{
    if (bytes > 0 || since_ms >= TSHIM_SESSION_REJECT_WINDOW_MS) {
        *rejections = 0;
        return 0;
    }
    if (++*rejections < TSHIM_SESSION_REJECT_LIMIT)
        return 0;
    tshim_session_fail(s,
                       "Toki closed the connection right after the token three times: "
                       "TOKI_TOKEN is probably wrong",
                       0);
    tshim_log(TSHIM_LOG_ERROR, "Toki closed the connection right after the handshake: "
                               "TOKI_TOKEN is probably wrong, or not this Toki's; giving up");
    return 1;
}

/* One connection, from its first event to its end; returns the session's end, or
 * -1 to reconnect. *failures is reset by a connection that delivered events. */
static int tshim_session_connection(struct tshim_session *s, const char *where,
                                    unsigned long *connections, int *rejections,
                                    unsigned *failures)
{
    tshim_log(TSHIM_LOG_INFO, "connected to Toki at %s", where);
    if (s->ops->up)
        s->ops->up(s->ctx, (*connections)++ > 0);
    long t0 = tshim_clock_now_ms();
    unsigned long events = 0, bytes = 0;
    enum tshim_session_conn end = tshim_session_read(s, &events, &bytes);
    tshim_fdguard_release();
    if (end == TSHIM_SESSION_HALT)
        return TSHIM_SESSION_STOPPED;
    if (end == TSHIM_SESSION_DONE) {
        tshim_log(TSHIM_LOG_INFO, "Toki says the step has FINISHED; listener stopped");
        return TSHIM_SESSION_FINISHED;
    }
    if (tshim_session_rejected(s, rejections, bytes, tshim_clock_now_ms() - t0))
        return TSHIM_SESSION_GIVEN_UP;
    if (events > 0)
        *failures = 0;
    tshim_log(TSHIM_LOG_INFO, "Toki at %s closed the connection; reconnecting", where);
    return -1;
}

/* One failed try to reach Toki. Each outage gets one line at info and every try
 * one at debug; and once in the process's life, after several failed tries in a
 * row, a warning, which the default level shows: a wrong port or a Toki that is
 * not running would otherwise pass in silence. */
static void tshim_session_unreachable(const char *where, const char *err, unsigned tries,
                                      int *said_down)
{
    static int warned;
    if (tries >= TSHIM_SESSION_UNREACHABLE_TRIES && !warned) {
        warned = 1;
        tshim_log(TSHIM_LOG_WARN,
                  "cannot reach Toki at %s after %u tries (%s); still trying (said once; "
                  "TOKI_SHIM_LOG=debug shows each try)",
                  where, tries, err);
    }
    tshim_log(*said_down ? TSHIM_LOG_DEBUG : TSHIM_LOG_INFO,
              "no connection to Toki at %s (%s); retrying", where, err);
    *said_down = 1;
}

enum tshim_session_end tshim_session_run(const struct tshim_config *c,
                                         const struct tshim_session_ops *ops, void *ctx)
{
    struct tshim_session s = {.c = c, .ops = ops, .ctx = ctx};
    char err[160], where[80];
    unsigned failures = 0, tries = 0;
    int rejections = 0, said_down = 0;
    unsigned long connections = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s.rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)&ts;
    tshim_net_format((const struct sockaddr *)&c->addr, where, sizeof where);
    if (c->token_len != 36)
        tshim_log(TSHIM_LOG_WARN,
                  "TOKI_TOKEN is %zu bytes long; Toki expects a 36-character token "
                  "(its --dev mode accepts anything); sending it anyway",
                  c->token_len);
    for (;;) {
        enum tshim_session_try t = tshim_session_handshake(&s, err, sizeof err);
        if (t == TSHIM_SESSION_STOP)
            return TSHIM_SESSION_GIVEN_UP;
        if (t == TSHIM_SESSION_RETRY) {
            tshim_session_unreachable(where, err, ++tries, &said_down);
        } else {
            said_down = 0;
            tries = 0;
            int end = tshim_session_connection(&s, where, &connections, &rejections, &failures);
            if (end >= 0)
                return (enum tshim_session_end)end;
        }
        if (tshim_session_sleep(&s, tshim_backoff_delay_ms(failures++, c->retry_max_ms, &s.rng)))
            return TSHIM_SESSION_STOPPED;
    }
}
