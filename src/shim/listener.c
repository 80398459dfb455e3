/* listener.c: the shim's thread, which runs the session (common/session.c) in-process: acts through dispatch, reports through events. */
/* SPDX-License-Identifier: MIT */
#include "listener.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/session.h"
#include "dispatch.h"
#include "events.h"
#include "guard.h"
#include "sandbox.h"
#include "threads.h"

/* One event line: counted, shown to toki_on_event, and if it is a trigger, counted
 * in the generation. */
static int tshim_listener_event(void *ctx, const char *name)
{
    tshim_events_line();
    if (!tshim_dispatch_event(ctx, name))
        return 0;
    tshim_events_trigger();
    return 1;
}

static void tshim_listener_act(void *ctx, const char *name, unsigned long n)
{
    tshim_dispatch_act(ctx, name, n);
}

/* A program may sandbox itself after start: a seccomp filter that forbids socket(2),
 * with SECCOMP_FILTER_FLAG_TSYNC, covers our thread too, and may kill the whole
 * process at our next socket. Which calls a filter forbids cannot be read, only
 * that one was added; so once one was, no socket is made again. */
static enum tshim_session_try tshim_listener_sandboxed(void *ctx, char *err, size_t err_size)
{
    (void)ctx;
    switch (tshim_sandbox_check(err, err_size)) {
    case TSHIM_SANDBOX_CHANGED:
        /* The status first: a program that reads it once it sees the warning finds
         * it said. */
        tshim_events_fail("a seccomp filter was installed after start; the listener stopped", 0);
        tshim_log(TSHIM_LOG_WARN,
                  "%s: a new socket could be fatal to the program, so toki-shim "
                  "makes none; listener stopped",
                  err);
        return TSHIM_SESSION_STOP;
    case TSHIM_SANDBOX_UNKNOWN:
        tshim_events_fail("cannot tell whether a seccomp filter was installed; no connection "
                          "until it can",
                          errno);
        return TSHIM_SESSION_RETRY;
    case TSHIM_SANDBOX_SAME:
        break;
    }
    return TSHIM_SESSION_CONNECTED;
}

/* The thread has nothing else to do: poll the socket, or sleep. */
static int tshim_listener_wait(void *ctx, int fd, long timeout_ms)
{
    (void)ctx;
    if (fd < 0) {
        tshim_clock_sleep_ms(timeout_ms);
        return 0;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, (int)timeout_ms);
}

static void tshim_listener_up(void *ctx, int reconnect)
{
    (void)ctx;
    tshim_events_up(reconnect);
}

static void tshim_listener_down(void *ctx)
{
    (void)ctx;
    tshim_events_down();
}

static void tshim_listener_fail(void *ctx, const char *what, int err)
{
    (void)ctx;
    tshim_events_fail(what, err);
}

static const struct tshim_session_ops tshim_listener_ops = {
    .event = tshim_listener_event,
    .act = tshim_listener_act,
    .may_connect = tshim_listener_sandboxed,
    .wait = tshim_listener_wait,
    .up = tshim_listener_up,
    .down = tshim_listener_down,
    .fail = tshim_listener_fail,
};

static void tshim_listener_run(const struct tshim_config *c)
{
    tshim_guard_mark_listener();
    pthread_setname_np(pthread_self(), "toki-shim");
    tshim_session_run(c, &tshim_listener_ops, (void *)c);
}

/* The thread counts itself as the shim's for as long as it lives (see reaper.c). */
static void tshim_listener_ended(void *arg)
{
    (void)arg;
    tshim_threads_ended();
}

static void *tshim_listener_main(void *arg)
{
    const struct tshim_config *c = arg;
    tshim_threads_started();
    /* A holder that lives less than the settle delay (a script's short command)
     * never reaches Toki. Toki's first refresh comes minutes after the step
     * starts, so a listener this late misses nothing. Everything else waits until
     * then too, the cleanup handler included (no hook can run before): a
     * program's start pays for the thread and its first sleep, nothing more. */
    if (c->settle_ms > 0)
        tshim_clock_sleep_ms(c->settle_ms);
    /* Also when a hook ends this thread with pthread_exit. */
    pthread_cleanup_push(tshim_listener_ended, NULL);
    tshim_listener_run(arg);
    pthread_cleanup_pop(1);
    return NULL;
}

int tshim_listener_start(const struct tshim_config *c)
{
    tshim_session_remember_uid();
    return tshim_threads_spawn(tshim_listener_main, (void *)c, (size_t)c->stack_kb * 1024);
}
