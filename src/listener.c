/* listener.c: the connection loop, from connect to FINISHED, with backoff between tries. */
#include "listener.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "dispatch.h"
#include "event.h"
#include "frame.h"
#include "interpose.h"
#include "lifecycle.h"
#include "log.h"
#include "net.h"
#include "pace.h"

#define TLISTEN_REJECT_WINDOW_MS 1000 /* EOF this soon after the token, with no byte */
#define TLISTEN_REJECT_LIMIT 3

/* How one connection ended. */
enum tlisten_end { TLISTEN_LOST, TLISTEN_FINISHED };

static long tlisten_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void tlisten_sleep_ms(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
        ;
}

/* What a connection's trigger events are waiting for: the pace of their action
 * and the name to report it under. */
struct tlisten_due {
    struct tpace pace;
    char name[TFRAME_MAX + 1];
};

/* Runs the action if its time has come. */
static void tlisten_act_if_due(const struct tcfg *c, struct tlisten_due *d)
{
    if (tpace_wait(&d->pace, tlisten_now_ms()) == 0)
        tdisp_act(c, d->name, tpace_take(&d->pace));
}

/* The connection is over, but what Toki delivered on it is not: actions still
 * waiting run at their time, before any reconnect. */
static void tlisten_flush(const struct tcfg *c, struct tlisten_due *d)
{
    long w;
    while ((w = tpace_wait(&d->pace, tlisten_now_ms())) >= 0) {
        if (w > 0)
            tlisten_sleep_ms(w);
        else
            tdisp_act(c, d->name, tpace_take(&d->pace));
    }
}

/* One event line: counted, shown to toki_on_event, and if it is a trigger, counted
 * in the generation and scheduled. With neither debounce nor splay the action
 * runs here and now, once per event, in order. */
static void tlisten_event(const struct tcfg *c, struct tlisten_due *d, const char *name,
                          uint64_t *rng)
{
    tevent_line();
    if (!tdisp_event(c, name))
        return;
    tevent_trigger();
    if (c->action == TCFG_NONE)
        return;
    snprintf(d->name, sizeof d->name, "%s", name);
    tpace_event(&d->pace, tlisten_now_ms(), tbackoff_next(rng));
    tlisten_act_if_due(c, d);
}

/* Waits for the socket to have something to read, or for the pending action's
 * time, whichever comes first; runs the action then. Returns when there may be
 * bytes to read. With nothing pending it returns at once: recv blocks instead. */
static void tlisten_wait(const struct tcfg *c, struct tlisten_due *d)
{
    long w;
    while ((w = tpace_wait(&d->pace, tlisten_now_ms())) >= 0) {
        /* Even when the action is due, bytes that are already here go first: they
         * may be events that the same action should cover. The number is read
         * afresh; -1 (the host took it) is ignored by poll, and recv then fails. */
        struct pollfd p = {.fd = tipose_current(), .events = POLLIN};
        int r = poll(&p, 1, (int)w);
        if (r > 0 || (r < 0 && errno != EINTR))
            return; /* recv tells: data, the end, or an error that ends the connection */
        if (r == 0)
            tlisten_act_if_due(c, d);
    }
}

/* Reads events until the connection ends; *events counts those delivered, *bytes
 * everything received. */
static enum tlisten_end tlisten_read(const struct tcfg *c, unsigned long *events,
                                     unsigned long *bytes, uint64_t *rng)
{
    struct tframe f;
    struct tlisten_due d;
    char buf[4096];
    int said_long = 0, said_bad = 0; /* one line per cause and connection, not per line */
    enum tlisten_end end = TLISTEN_LOST;
    tframe_init(&f);
    tpace_init(&d.pace, c->debounce_ms, c->splay_ms);
    for (;;) {
        tlisten_wait(c, &d);
        /* Read the number afresh each time: the host may have made us move it, or
         * taken it (then -1, and recv fails with EBADF: a lost connection). recv on
         * anything but a socket fails too, so no byte of the host's is ever read. */
        ssize_t n = recv(tipose_current(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            char msg[64];
            tlog(TLOG_INFO, "connection lost: %s", tlog_strerror(errno, msg, sizeof msg));
            tevent_fail("the connection to Toki was lost", errno);
            goto out;
        }
        if (n == 0)
            goto out;
        *bytes += (unsigned long)n;
        size_t off = 0;
        while (off < (size_t)n) {
            enum tframe_kind kind;
            off += tframe_scan(&f, buf + off, (size_t)n - off, &kind);
            if (kind == TFRAME_TOO_LONG && !said_long++) {
                tlog(TLOG_WARN, "discarded a line of more than %d bytes from Toki (said once "
                     "per connection)", TFRAME_MAX);
            } else if (kind == TFRAME_BAD && !said_bad++) {
                tlog(TLOG_WARN, "discarded a line from Toki with bytes no event name has (said "
                     "once per connection)");
            } else if (kind == TFRAME_EVENT) {
                const char *name = tframe_name(&f);
                ++*events;
                tlisten_event(c, &d, name, rng);
                if (strcmp(name, "FINISHED") == 0) {
                    end = TLISTEN_FINISHED;
                    goto out;
                }
            }
        }
    }
out:
    tevent_down();
    tlisten_flush(c, &d);
    return end;
}

/* What the peer check found. */
enum tlisten_peer { TLISTEN_OURS, TLISTEN_NOT_OURS, TLISTEN_UNKNOWN };

/* Toki's port is open on every interface and fixed, so on a shared machine another
 * user can listen on it first and collect tokens. Before the token leaves, the
 * server end of a loopback connection must belong to our effective uid. Only an
 * owner seen and not ours is final: an owner not seen (the connection already
 * gone, or no descriptor free to read the table with) is asked again at the next
 * connection, and the token waits until then. */
static enum tlisten_peer tlisten_peer_check(const struct tcfg *c, char *err, size_t err_size)
{
    static int said; /* the first time at warn, then with the retries */
    unsigned uid;
    char msg[64];
    if (!c->peer_check || !tcfg_is_loopback((const struct sockaddr *)&c->addr))
        return TLISTEN_OURS;
    if (tnet_peer_uid(&uid) != 0) {
        int e = errno;
        snprintf(err, err_size, "cannot tell who owns the server yet: %s", e == ENOENT ?
                 "its connection is not in /proc/net/tcp" : tlog_strerror(e, msg, sizeof msg));
        tevent_fail("cannot tell who owns the server on Toki's port; the token was not sent", e);
        if (!said++)
            tlog(TLOG_WARN, "cannot tell who owns the server on port %d (%s); the token was not "
                 "sent; retrying; TOKI_SHIM_PEER_CHECK=0 skips this check", c->port, err);
        return TLISTEN_UNKNOWN;
    }
    if (uid != (unsigned)geteuid()) {
        tlog(TLOG_ERROR, "the server on port %d belongs to uid %u, not to us (uid %u): it is "
             "not our Toki, and the token was not sent; TOKI_SHIM_PEER_CHECK=0 skips this check",
             c->port, uid, (unsigned)geteuid());
        tevent_fail("the server on Toki's port belongs to another user; the token was not sent", 0);
        return TLISTEN_NOT_OURS;
    }
    return TLISTEN_OURS;
}

static void *tlisten_main(void *arg)
{
    const struct tcfg *c = arg;
    char err[160], where[80];
    unsigned failures = 0;
    int rejections = 0, said_down = 0;
    unsigned long connections = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)&ts;

    pthread_setname_np(pthread_self(), "toki-shim");
    tlife_mark_listener();
    tnet_format((const struct sockaddr *)&c->addr, where, sizeof where);
    if (c->token_len != 36)
        tlog(TLOG_WARN, "TOKI_TOKEN is %zu bytes long; Toki expects a 36-character token "
             "(its --dev mode accepts anything); sending it anyway", c->token_len);

    for (;;) {
        int fd = tnet_connect((const struct sockaddr *)&c->addr, c->addr_len,
                              c->connect_timeout_ms, err, sizeof err);
        if (fd < 0)
            tevent_fail("cannot connect to Toki", errno);
        enum tlisten_peer peer = fd >= 0 ? tlisten_peer_check(c, err, sizeof err) : TLISTEN_OURS;
        if (peer == TLISTEN_NOT_OURS) {
            /* Refused for good: another user's listener got Toki's port. */
            tipose_release();
            return NULL;
        }
        if (peer == TLISTEN_UNKNOWN) {
            tipose_release();
            fd = -1;
        }
        if (fd >= 0 && tnet_send_token(c->token, c->token_len, err, sizeof err) < 0) {
            tevent_fail("cannot send the token to Toki", errno);
            tipose_release();
            fd = -1;
        }
        if (fd < 0) {
            /* One line per outage at info; every attempt at debug. */
            tlog(said_down ? TLOG_DEBUG : TLOG_INFO, "no connection to Toki at %s (%s); retrying",
                 where, err);
            said_down = 1;
            tlisten_sleep_ms(tbackoff_delay_ms(failures++, c->retry_max_ms, &rng));
            continue;
        }
        said_down = 0;
        tlog(TLOG_INFO, "connected to Toki at %s", where);
        tevent_up(connections++ > 0);
        long t0 = tlisten_now_ms();
        unsigned long events = 0, bytes = 0;
        enum tlisten_end end = tlisten_read(c, &events, &bytes, &rng);
        tipose_release();
        if (end == TLISTEN_FINISHED) {
            tlog(TLOG_INFO, "Toki says the step has FINISHED; listener stopped");
            return NULL;
        }
        /* Toki rejects a token by closing at once and in silence; a server that
         * said anything at all was no rejection, just not (yet) a good peer. */
        if (bytes == 0 && tlisten_now_ms() - t0 < TLISTEN_REJECT_WINDOW_MS) {
            if (++rejections >= TLISTEN_REJECT_LIMIT) {
                tevent_fail("Toki closed the connection right after the token three times: "
                            "TOKI_TOKEN is probably wrong", 0);
                tlog(TLOG_ERROR, "Toki closed the connection right after the handshake: "
                     "TOKI_TOKEN is probably wrong, or not this Toki's; giving up");
                return NULL;
            }
        } else {
            rejections = 0;
        }
        if (events > 0)
            failures = 0;
        tlog(TLOG_INFO, "Toki at %s closed the connection; reconnecting", where);
        tlisten_sleep_ms(tbackoff_delay_ms(failures++, c->retry_max_ms, &rng));
    }
}

int tlisten_start(const struct tcfg *c)
{
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    int r = pthread_attr_init(&attr);
    if (r != 0)
        return r;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    r = pthread_attr_setstacksize(&attr, (size_t)c->stack_kb * 1024);
    if (r == 0) {
        /* The thread inherits this mask, so no signal meant for the host is ever
         * delivered to it, from its first instruction on. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&tid, &attr, tlisten_main, (void *)c);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    pthread_attr_destroy(&attr);
    return r;
}
