/* listener.c: the connection loop, from connect to FINISHED, with backoff between tries. */
#include "listener.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fdguard.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/net.h"
#include "backoff.h"
#include "dispatch.h"
#include "events.h"
#include "guard.h"
#include "pace.h"
#include "sandbox.h"

#define TSHIM_LISTENER_REJECT_WINDOW_MS 1000 /* EOF this soon after the token, with no byte */
#define TSHIM_LISTENER_REJECT_LIMIT 3
#define TSHIM_LISTENER_RECHECK_MS 60000 /* poll's longest wait with no action pending */
#define TSHIM_LISTENER_UNREACHABLE_TRIES 5 /* failed tries in a row before a warning */

/* How one connection ended. */
enum tshim_listener_end { TSHIM_LISTENER_LOST, TSHIM_LISTENER_FINISHED };

/* What a connection's trigger events are waiting for: the pace of their action
 * and the name to report it under. */
struct tshim_listener_due {
    struct tshim_pace pace;
    char name[TSHIM_FRAME_MAX + 1];
};

/* Runs the action if its time has come. */
static void tshim_listener_act_if_due(const struct tshim_config *c, struct tshim_listener_due *d)
{
    if (tshim_pace_wait(&d->pace, tshim_clock_now_ms()) == 0)
        tshim_dispatch_act(c, d->name, tshim_pace_take(&d->pace));
}

/* The connection is over, but what Toki delivered on it is not: actions still
 * waiting run at their time, before any reconnect. */
static void tshim_listener_flush(const struct tshim_config *c, struct tshim_listener_due *d)
{
    long w;
    while ((w = tshim_pace_wait(&d->pace, tshim_clock_now_ms())) >= 0) {
        if (w > 0)
            tshim_clock_sleep_ms(w);
        else
            tshim_dispatch_act(c, d->name, tshim_pace_take(&d->pace));
    }
}

/* One event line: counted, shown to toki_on_event, and if it is a trigger, counted
 * in the generation and scheduled. With neither debounce nor splay the action
 * runs here and now, once per event, in order. */
static void tshim_listener_event(const struct tshim_config *c, struct tshim_listener_due *d,
                                 const char *name, uint64_t *rng)
{
    tshim_events_line();
    if (!tshim_dispatch_event(c, name))
        return;
    tshim_events_trigger();
    if (c->action == TSHIM_CONFIG_NONE)
        return;
    snprintf(d->name, sizeof d->name, "%s", name);
    tshim_pace_event(&d->pace, tshim_clock_now_ms(), tshim_backoff_next(rng));
    tshim_listener_act_if_due(c, d);
}

/* Waits for the socket to have something to read, or for the pending action's
 * time, whichever comes first; runs the action then. Returns when there may be
 * bytes to read. poll is outside the fd guard (a host's dup2 onto our number waits
 * for guarded calls, and poll may wait for minutes), so the number is read afresh
 * each time, and a host's file that takes it is only ever polled: the read itself
 * is a guarded call. */
static int tshim_listener_wait(const struct tshim_config *c, struct tshim_listener_due *d)
{
    for (;;) {
        long w = tshim_pace_wait(&d->pace, tshim_clock_now_ms());
        struct pollfd p = {.fd = tshim_fdguard_current(), .events = POLLIN};
        if (p.fd < 0)
            return 0; /* the host took the number: the read fails, and ends the connection */
        /* With nothing pending, poll still wakes now and then: if the host dup2()ed
         * onto our number between the load above and the poll, it is the host's
         * file that is polled, and our socket (moved, or let go) is looked at again
         * only then. Even when the action is due, bytes that are already here go
         * first: they may be events that the same action should cover. */
        int r = poll(&p, 1, w < 0 ? TSHIM_LISTENER_RECHECK_MS : (int)w);
        if (r < 0 && errno != EINTR)
            return -1; /* no way to wait (a sandbox may deny poll): end the connection */
        if (r > 0)
            return 0; /* the read tells: data, the end, or an error that ends it */
        if (r == 0 && w >= 0)
            tshim_listener_act_if_due(c, d);
    }
}

/* Reads events until the connection ends; *events counts those delivered, *bytes
 * everything received. */
static enum tshim_listener_end tshim_listener_read(const struct tshim_config *c,
                                                   unsigned long *events, unsigned long *bytes,
                                                   uint64_t *rng)
{
    struct tshim_frame f;
    struct tshim_listener_due d;
    char buf[4096];
    int said_long = 0, said_bad = 0; /* one line per cause and connection, not per line */
    enum tshim_listener_end end = TSHIM_LISTENER_LOST;
    tshim_frame_init(&f);
    tshim_pace_init(&d.pace, c->debounce_ms, c->splay_ms);
    for (;;) {
        if (tshim_listener_wait(c, &d) < 0) {
            char msg[64];
            tshim_log(TSHIM_LOG_INFO, "connection given up: poll failed: %s",
                      tshim_log_strerror(errno, msg, sizeof msg));
            tshim_events_fail("cannot wait for Toki's events", errno);
            goto out;
        }
        /* A guarded call on the number as it is now: the host may have made us move
         * it, or taken it (then EBADF: a lost connection). Nothing there yet (the
         * poll saw the host's file, or its own wake-up) is no loss: wait again. */
        ssize_t n = tshim_net_recv(buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            char msg[64];
            tshim_log(TSHIM_LOG_INFO, "connection lost: %s",
                      tshim_log_strerror(errno, msg, sizeof msg));
            tshim_events_fail("the connection to Toki was lost", errno);
            goto out;
        }
        if (n == 0)
            goto out;
        *bytes += (unsigned long)n;
        tshim_frame_feed(&f, buf, (size_t)n);
        enum tshim_frame_kind kind;
        while ((kind = tshim_frame_next(&f)) != TSHIM_FRAME_MORE) {
            if (kind == TSHIM_FRAME_TOO_LONG && !said_long++) {
                tshim_log(TSHIM_LOG_WARN,
                          "discarded a line of more than %d bytes from Toki (said "
                          "once per connection)",
                          TSHIM_FRAME_MAX);
            } else if (kind == TSHIM_FRAME_BAD && !said_bad++) {
                tshim_log(TSHIM_LOG_WARN, "discarded a line from Toki with bytes no event name has "
                                          "(said once per connection)");
            } else if (kind == TSHIM_FRAME_EVENT) {
                const char *name = tshim_frame_name(&f);
                ++*events;
                tshim_listener_event(c, &d, name, rng);
                if (strcmp(name, "FINISHED") == 0) {
                    end = TSHIM_LISTENER_FINISHED;
                    goto out;
                }
            }
        }
    }
out:
    tshim_events_down();
    tshim_listener_flush(c, &d);
    return end;
}

/* The effective uid the process started with, recorded by the first listener start
 * (a forked child's listener keeps its parent's). */
static long tshim_listener_start_uid = -1;

/* Whose server may have the token: ours; the uid we started with, for a daemon
 * that has since dropped its privileges (its Toki did not); and root, who could
 * read the token from our memory anyway. */
static int tshim_listener_trusted(unsigned uid)
{
    return uid == (unsigned)geteuid() || uid == 0 || (long)uid == tshim_listener_start_uid;
}

/* What the peer check found. */
enum tshim_listener_peer { TSHIM_LISTENER_OURS, TSHIM_LISTENER_NOT_OURS, TSHIM_LISTENER_UNKNOWN };

/* Toki's port is open on every interface and fixed, so on a shared machine another
 * user can listen on it first and collect tokens. Before the token leaves, the
 * server end of a loopback connection must belong to our effective uid. Only an
 * owner seen and not ours is final: an owner not seen (the connection already
 * gone, or no descriptor free to read the table with) is asked again at the next
 * connection, and the token waits until then. */
static enum tshim_listener_peer tshim_listener_peer_check(const struct tshim_config *c, char *err,
                                                          size_t err_size)
{
    static int said; /* the first time at warn, then with the retries */
    unsigned uid;
    char msg[64];
    if (!c->peer_check || !tshim_config_is_loopback((const struct sockaddr *)&c->addr))
        return TSHIM_LISTENER_OURS;
    if (tshim_net_peer_uid(&uid) != 0) {
        int e = errno;
        snprintf(err, err_size, "cannot tell who owns the server yet: %s",
                 e == ENOENT ? "the kernel does not know its connection"
                             : tshim_log_strerror(e, msg, sizeof msg));
        tshim_events_fail("cannot tell who owns the server on Toki's port; the token was not sent",
                          e);
        if (!said++)
            tshim_log(TSHIM_LOG_WARN,
                      "cannot tell who owns the server on port %d (%s); the token was not "
                      "sent; retrying; TOKI_SHIM_PEER_CHECK=0 skips this check",
                      c->port, err);
        return TSHIM_LISTENER_UNKNOWN;
    }
    if (!tshim_listener_trusted(uid)) {
        tshim_log(
            TSHIM_LOG_ERROR,
            "the server on port %d belongs to uid %u, not to us (uid %u): it is "
            "not our Toki, and the token was not sent; TOKI_SHIM_PEER_CHECK=0 skips this check",
            c->port, uid, (unsigned)geteuid());
        tshim_events_fail(
            "the server on Toki's port belongs to another user; the token was not sent", 0);
        return TSHIM_LISTENER_NOT_OURS;
    }
    return TSHIM_LISTENER_OURS;
}

/* What one attempt to reach Toki came to: STOP is final (the listener ends). */
enum tshim_listener_try { TSHIM_LISTENER_CONNECTED, TSHIM_LISTENER_RETRY, TSHIM_LISTENER_STOP };

/* A program may sandbox itself after start: a seccomp filter that forbids socket(2),
 * with SECCOMP_FILTER_FLAG_TSYNC, covers our thread too, and may kill the whole
 * process at our next socket. Which calls a filter forbids cannot be read, only
 * that one was added; so once one was, no socket is made again. Returns
 * CONNECTED when nothing stands in the way of a connection. */
static enum tshim_listener_try tshim_listener_sandboxed(char *err, size_t err_size)
{
    switch (tshim_sandbox_check(err, err_size)) {
    case TSHIM_SANDBOX_CHANGED:
        /* The status first: a program that reads it once it sees the warning finds
         * it said. */
        tshim_events_fail("a seccomp filter was installed after start; the listener stopped", 0);
        tshim_log(TSHIM_LOG_WARN,
                  "%s: a new socket could be fatal to the program, so toki-shim "
                  "makes none; listener stopped",
                  err);
        return TSHIM_LISTENER_STOP;
    case TSHIM_SANDBOX_UNKNOWN:
        tshim_events_fail("cannot tell whether a seccomp filter was installed; no connection "
                          "until it can",
                          errno);
        return TSHIM_LISTENER_RETRY;
    case TSHIM_SANDBOX_SAME:
        break;
    }
    return TSHIM_LISTENER_CONNECTED;
}

/* Checks the sandbox, connects, checks who owns the server, and sends the token:
 * the socket stays open only when it all went through. */
static enum tshim_listener_try tshim_listener_handshake(const struct tshim_config *c, char *err,
                                                        size_t err_size)
{
    enum tshim_listener_try t = tshim_listener_sandboxed(err, err_size);
    if (t != TSHIM_LISTENER_CONNECTED)
        return t;
    if (tshim_net_connect((const struct sockaddr *)&c->addr, c->addr_len, c->connect_timeout_ms,
                          err, err_size) < 0) {
        tshim_events_fail("cannot connect to Toki", errno);
        return TSHIM_LISTENER_RETRY;
    }
    enum tshim_listener_peer peer = tshim_listener_peer_check(c, err, err_size);
    if (peer != TSHIM_LISTENER_OURS) {
        tshim_fdguard_release();
        /* Not ours is final: another user's listener got Toki's port. */
        return peer == TSHIM_LISTENER_NOT_OURS ? TSHIM_LISTENER_STOP : TSHIM_LISTENER_RETRY;
    }
    if (tshim_net_send_token(c->token, c->token_len, err, err_size) < 0) {
        tshim_events_fail("cannot send the token to Toki", errno);
        tshim_fdguard_release();
        return TSHIM_LISTENER_RETRY;
    }
    return TSHIM_LISTENER_CONNECTED;
}

/* Toki rejects a token by closing at once and in silence; a server that said
 * anything at all was no rejection, just not (yet) a good peer. Returns 1 when the
 * connection that just ended makes TSHIM_LISTENER_REJECT_LIMIT in a row. */
static int tshim_listener_rejected(int *rejections, unsigned long bytes, long since_ms)
{
    if (bytes > 0 || since_ms >= TSHIM_LISTENER_REJECT_WINDOW_MS) {
        *rejections = 0;
        return 0;
    }
    if (++*rejections < TSHIM_LISTENER_REJECT_LIMIT)
        return 0;
    tshim_events_fail("Toki closed the connection right after the token three times: "
                      "TOKI_TOKEN is probably wrong",
                      0);
    tshim_log(TSHIM_LOG_ERROR, "Toki closed the connection right after the handshake: "
                               "TOKI_TOKEN is probably wrong, or not this Toki's; giving up");
    return 1;
}

/* One failed try to reach Toki. Each outage gets one line at info and every try
 * one at debug; and once in the process's life, after several failed tries in a
 * row, a warning, which the default level shows: a wrong port or a Toki that is
 * not running would otherwise pass in silence. */
static void tshim_listener_unreachable(const char *where, const char *err, unsigned tries,
                                       int *said_down)
{
    static int warned;
    if (tries >= TSHIM_LISTENER_UNREACHABLE_TRIES && !warned) {
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

static void tshim_listener_run(const struct tshim_config *c)
{
    char err[160], where[80];
    unsigned failures = 0, tries = 0;
    int rejections = 0, said_down = 0;
    unsigned long connections = 0;
    tshim_guard_mark_listener();
    /* A holder that lives less than the settle delay (a script's short command)
     * never reaches Toki. Toki's first refresh comes minutes after the step
     * starts, so a listener this late misses nothing. Everything else waits until
     * then too: a program's start pays for the thread and nothing more. */
    if (c->settle_ms > 0)
        tshim_clock_sleep_ms(c->settle_ms);
    pthread_setname_np(pthread_self(), "toki-shim");
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)&ts;
    tshim_net_format((const struct sockaddr *)&c->addr, where, sizeof where);
    if (c->token_len != 36)
        tshim_log(TSHIM_LOG_WARN,
                  "TOKI_TOKEN is %zu bytes long; Toki expects a 36-character token "
                  "(its --dev mode accepts anything); sending it anyway",
                  c->token_len);
    for (;;) {
        enum tshim_listener_try t = tshim_listener_handshake(c, err, sizeof err);
        if (t == TSHIM_LISTENER_STOP)
            return;
        if (t == TSHIM_LISTENER_RETRY) {
            tshim_listener_unreachable(where, err, ++tries, &said_down);
            tshim_clock_sleep_ms(tshim_backoff_delay_ms(failures++, c->retry_max_ms, &rng));
            continue;
        }
        said_down = 0;
        tries = 0;
        tshim_log(TSHIM_LOG_INFO, "connected to Toki at %s", where);
        tshim_events_up(connections++ > 0);
        long t0 = tshim_clock_now_ms();
        unsigned long events = 0, bytes = 0;
        enum tshim_listener_end end = tshim_listener_read(c, &events, &bytes, &rng);
        tshim_fdguard_release();
        if (end == TSHIM_LISTENER_FINISHED) {
            tshim_log(TSHIM_LOG_INFO, "Toki says the step has FINISHED; listener stopped");
            return;
        }
        if (tshim_listener_rejected(&rejections, bytes, tshim_clock_now_ms() - t0))
            return;
        if (events > 0)
            failures = 0;
        tshim_log(TSHIM_LOG_INFO, "Toki at %s closed the connection; reconnecting", where);
        tshim_clock_sleep_ms(tshim_backoff_delay_ms(failures++, c->retry_max_ms, &rng));
    }
}

/* The thread counts itself as the shim's for as long as it lives (see reaper.c). */
static void tshim_listener_ended(void *arg)
{
    (void)arg;
    tshim_guard_thread_ended();
}

static void *tshim_listener_main(void *arg)
{
    tshim_guard_thread_started();
    /* Also when a hook ends this thread with pthread_exit. */
    pthread_cleanup_push(tshim_listener_ended, NULL);
    tshim_listener_run(arg);
    pthread_cleanup_pop(1);
    return NULL;
}

int tshim_listener_start(const struct tshim_config *c)
{
    if (tshim_listener_start_uid < 0)
        tshim_listener_start_uid = (long)getauxval(AT_EUID); /* the kernel's, at exec */
    return tshim_guard_spawn(tshim_listener_main, (void *)c, (size_t)c->stack_kb * 1024);
}
