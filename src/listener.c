/* listener.c: the connection loop, from connect to FINISHED, with backoff between tries. */
#include "listener.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "dispatch.h"
#include "frame.h"
#include "interpose.h"
#include "lifecycle.h"
#include "log.h"
#include "net.h"

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

/* Reads events until the connection ends; *events counts those delivered, *bytes
 * everything received. */
static enum tlisten_end tlisten_read(const struct tcfg *c, unsigned long *events,
                                     unsigned long *bytes)
{
    struct tframe f;
    char buf[4096];
    int said_long = 0, said_bad = 0; /* one line per cause and connection, not per line */
    tframe_init(&f);
    for (;;) {
        /* Read the number afresh each time: the host may have made us move it, or
         * taken it (then -1, and recv fails with EBADF: a lost connection). recv on
         * anything but a socket fails too, so no byte of the host's is ever read. */
        ssize_t n = recv(tipose_current(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            char msg[64];
            tlog(TLOG_INFO, "connection lost: %s", tlog_strerror(errno, msg, sizeof msg));
            return TLISTEN_LOST;
        }
        if (n == 0)
            return TLISTEN_LOST;
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
                tdisp_event(c, name);
                if (strcmp(name, "FINISHED") == 0)
                    return TLISTEN_FINISHED;
            }
        }
    }
}

/* Toki's port is open on every interface and fixed, so on a shared machine another
 * user can listen on it first and collect tokens. Before the token leaves, the
 * server end of a loopback connection must belong to our effective uid. */
static int tlisten_peer_is_ours(const struct tcfg *c)
{
    unsigned uid;
    if (!c->peer_check || !tcfg_is_loopback((const struct sockaddr *)&c->addr))
        return 1;
    if (tnet_peer_uid(&uid) != 0) {
        tlog(TLOG_ERROR, "cannot tell who owns the server on port %d (no entry in "
             "/proc/net/tcp); the token was not sent; TOKI_SHIM_PEER_CHECK=0 skips this check",
             c->port);
        return 0;
    }
    if (uid != (unsigned)geteuid()) {
        tlog(TLOG_ERROR, "the server on port %d belongs to uid %u, not to us (uid %u): it is "
             "not our Toki, and the token was not sent; TOKI_SHIM_PEER_CHECK=0 skips this check",
             c->port, uid, (unsigned)geteuid());
        return 0;
    }
    return 1;
}

static void *tlisten_main(void *arg)
{
    const struct tcfg *c = arg;
    char err[160], where[80];
    unsigned failures = 0;
    int rejections = 0, said_down = 0;
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
        if (fd >= 0 && !tlisten_peer_is_ours(c)) {
            /* Refused for good: another user's listener got Toki's port. */
            tipose_release();
            return NULL;
        }
        if (fd >= 0 && tnet_send_token(c->token, c->token_len, err, sizeof err) < 0) {
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
        long t0 = tlisten_now_ms();
        unsigned long events = 0, bytes = 0;
        enum tlisten_end end = tlisten_read(c, &events, &bytes);
        tipose_release();
        if (end == TLISTEN_FINISHED) {
            tlog(TLOG_INFO, "Toki says the step has FINISHED; listener stopped");
            return NULL;
        }
        /* Toki rejects a token by closing at once and in silence; a server that
         * said anything at all was no rejection, just not (yet) a good peer. */
        if (bytes == 0 && tlisten_now_ms() - t0 < TLISTEN_REJECT_WINDOW_MS) {
            if (++rejections >= TLISTEN_REJECT_LIMIT) {
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
