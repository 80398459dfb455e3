/* toki_shim.h: what a program may define to be told, by libtoki_shim, that Toki refreshed, and what it may call instead. */
/* SPDX-License-Identifier: MIT */
#ifndef TOKI_SHIM_H
#define TOKI_SHIM_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The hooks must be in the dynamic symbol table, where the shim looks for them,
 * even in programs built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define TOKI_SHIM_VISIBLE __attribute__((visibility("default")))
#else
#define TOKI_SHIM_VISIBLE
#endif

/* ---- Hooks: define them, and the shim calls them ------------------------------ */

/* Define this to be called on each trigger event (AUTH_REFRESHED by default; see
 * TOKI_SHIM_EVENTS) instead of receiving the reload signal. The shim finds it in
 * the dynamic symbol tables of the loaded objects (the program first, as the
 * loader would), so it must be exported: link the program with -rdynamic (or
 * -Wl,--export-dynamic-symbol=toki_on_refresh), or define it in a shared library.
 *
 * Threading: it runs on the shim's listener thread, never in a signal handler, one
 * call at a time and in event order; the next event waits until it returns. Take
 * your own locks to share state with the rest of the program. All signals are
 * blocked on that thread. With TOKI_SHIM_DEBOUNCE_MS or TOKI_SHIM_SPLAY_MS set, one
 * call covers all the events that arrived before it. */
TOKI_SHIM_VISIBLE void toki_on_refresh(void);

/* Define this to see every event line Toki sends, trigger or not: AUTH_REFRESHED,
 * FINISHED, and names that later versions of Toki may add. Same thread and rules as
 * toki_on_refresh; it is called as each line arrives, never debounced, and before
 * the action for that line. name is valid only during the call. */
TOKI_SHIM_VISIBLE void toki_on_event(const char *name);

/* ---- Polling: call these from an event loop (exported by libtoki_shim) --------- */

/* An eventfd (non-blocking, close-on-exec) that becomes readable when a trigger
 * event was acted on: add it to epoll/poll/libuv/asyncio and read 8 bytes to
 * acknowledge; the value read is how many trigger events arrived since the last
 * read. The same descriptor every call, created at the first, kept across
 * reconnects; do not close it. If the program closes it all the same (closefrom),
 * the next call returns a new one, never the old number, which may name another
 * file by then. In a forked child the number names a new eventfd that only a
 * TOKI_SHIM_FOLLOW_FORK=1 listener writes to. Once a program has asked for it, and
 * while it keeps it, TOKI_SHIM_ACTION=auto sends it no signal.
 * Returns -1 with errno ENOTSUP when the shim is inert in this process, or with the
 * errno of eventfd() (EMFILE...) if it cannot be made. */
TOKI_SHIM_VISIBLE int toki_shim_event_fd(void);

/* How many trigger events the shim has received so far, every one counted even when
 * actions are debounced. An atomic load: free to call from any thread, or from a
 * signal handler. Compare it with the value you last acted on. */
TOKI_SHIM_VISIBLE unsigned long toki_shim_generation(void);

#define TOKI_SHIM_STATUS_VERSION 1
/* The only other spelling: version 0.1.0's, kept so that its users still build,
 * until the next SOVERSION. */
#define TOKISHIM_STATUS_VERSION TOKI_SHIM_STATUS_VERSION
#define TOKISHIM_VISIBLE TOKI_SHIM_VISIBLE

/* For health endpoints. Set size to sizeof(struct toki_shim_status) before the call:
 * the library fills what both sides know, zeroes the rest, and sets size to the
 * bytes it filled and version to the struct version it knows. Fields are read one
 * by one, not as one snapshot. */
struct toki_shim_status {
    unsigned int size;        /* in: sizeof(struct toki_shim_status); out: bytes filled */
    unsigned int version;     /* out: TOKI_SHIM_STATUS_VERSION of the library */
    int active;               /* 1: the shim listens in this process; 0: it is inert */
    int connected;            /* 1: connected to Toki, token handed over */
    unsigned long generation; /* trigger events received, as toki_shim_generation() */
    unsigned long events;     /* event lines received, triggers or not */
    unsigned long actions;    /* actions taken: fewer than generation when coalesced */
    unsigned long reconnects; /* connections made after the first */
    int last_errno;           /* errno of the last failure; 0 if none, or none applies */
    const char *last_error;   /* the last failure, a static sentence; NULL if none */
};

/* Fills *out. Returns 0 (also when the shim is inert: then active is 0 and
 * last_error may say why), or -1 with errno EINVAL if out is NULL or size too small. */
TOKI_SHIM_VISIBLE int toki_shim_status(struct toki_shim_status *out);

/* ---- The same, for programs that must also run without the shim -------------- *
 * A program that calls the functions above must be linked with -ltoki_shim. One
 * that is not, and so runs with or without LD_PRELOAD, calls these instead: they
 * reach the library through weak references, and answer "not available" (-1 with
 * errno ENOSYS; generation 0) when it is not loaded. */
#if defined(__GNUC__)
static int toki_shim_weak_event_fd_(void) __attribute__((weakref("toki_shim_event_fd")));
static unsigned long toki_shim_weak_generation_(void)
    __attribute__((weakref("toki_shim_generation")));
static int toki_shim_weak_status_(struct toki_shim_status *)
    __attribute__((weakref("toki_shim_status")));

/* 1 if libtoki_shim is loaded in this process (active or inert). */
static inline int toki_shim_loaded(void)
{
    return toki_shim_weak_generation_ != 0;
}

static inline int toki_shim_try_event_fd(void)
{
    if (!toki_shim_weak_event_fd_) {
        errno = ENOSYS;
        return -1;
    }
    return toki_shim_weak_event_fd_();
}

static inline unsigned long toki_shim_try_generation(void)
{
    return toki_shim_weak_generation_ ? toki_shim_weak_generation_() : 0;
}

static inline int toki_shim_try_status(struct toki_shim_status *out)
{
    if (!toki_shim_weak_status_) {
        errno = ENOSYS;
        return -1;
    }
    return toki_shim_weak_status_(out);
}
#endif

#ifdef __cplusplus
}
#endif

#endif
