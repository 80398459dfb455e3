/* decide.h: the pure decision of what an event does: call the hook, send the reload signal, post the event fd. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_DECIDE_H
#define TSHIM_DECIDE_H

#include <stddef.h>

/* TOKI_SHIM_ACTION: what a trigger event does, in the order the user sees them
 * listed. An event fd the program asked for is posted under each but none. */
enum tshim_decide_action {
    TSHIM_DECIDE_AUTO,   /* the hook if exported, else the signal (none with an event fd) */
    TSHIM_DECIDE_HOOK,   /* the hook */
    TSHIM_DECIDE_SIGNAL, /* the signal */
    TSHIM_DECIDE_BOTH,   /* the hook and the signal */
    TSHIM_DECIDE_FD,     /* the event fd alone */
    TSHIM_DECIDE_NONE,   /* nothing: events are only counted */
    TSHIM_DECIDE_ACTIONS /* how many there are */
};

/* Their names, as TOKI_SHIM_ACTION spells them (config parses them from here). */
extern const char *const tshim_decide_action_names[TSHIM_DECIDE_ACTIONS];

const char *tshim_decide_action_name(enum tshim_decide_action a);

enum tshim_decide_runtime { TSHIM_DECIDE_NATIVE, TSHIM_DECIDE_GO, TSHIM_DECIDE_JVM };

/* Why part of an action was not taken. */
enum tshim_decide_skip {
    TSHIM_DECIDE_OK,
    TSHIM_DECIDE_NO_HOOK,    /* the action wants the hook; the program exports none */
    TSHIM_DECIDE_NO_HANDLER, /* the signal would kill: no handler for it */
    TSHIM_DECIDE_RUNTIME,    /* the signal would kill: a Go or Java runtime */
    TSHIM_DECIDE_DIES,       /* the signal would kill: a program whose handler exits */
};

/* What the process looks like at the moment of the event. */
struct tshim_decide_facts {
    int have_hook;    /* toki_on_refresh is visible in the global scope */
    int have_handler; /* the reload signal is neither SIG_DFL nor SIG_IGN */
    int blocked;      /* every thread of the program blocks it (signalfd, sigwait) */
    int dies;         /* the program is in TOKI_SHIM_NO_SIGNAL: it exits on it anyway */
    int have_fd;      /* the program has asked for the event fd */
    enum tshim_decide_runtime runtime;
};

#define TSHIM_DECIDE_CALL_HOOK 1u
#define TSHIM_DECIDE_SEND_SIGNAL 2u
#define TSHIM_DECIDE_POST_FD 4u

struct tshim_decide_plan {
    unsigned what; /* TSHIM_DECIDE_CALL_HOOK | TSHIM_DECIDE_SEND_SIGNAL | TSHIM_DECIDE_POST_FD */
    enum tshim_decide_skip hook_skip; /* set when the action wanted the hook and it is missing */
    enum tshim_decide_skip signal_skip;
};

/* 1 when the action may send the signal, with the facts known before the signal's
 * own (the hook, the event fd): then the safety rule wants runtime, have_handler,
 * blocked and dies, unless forced. The library gathers them only then. */
int tshim_decide_may_signal(enum tshim_decide_action action, const struct tshim_decide_facts *f);

/* TOKI_SHIM_ACTION plus the safety rule (signal only a native program that has a
 * handler for the signal or blocks it in every thread, and is not known to exit on
 * it anyway, unless forced). An event fd the program asked for is posted under every
 * action but none; in auto mode it replaces the signal. The library
 * (shim/dispatch.c) decides with the facts of the moment; toki-shim check with the
 * facts it reads from /proc. */
struct tshim_decide_plan tshim_decide_action(enum tshim_decide_action action, int force,
                                             const struct tshim_decide_facts *f);

/* The plan in words, for toki-shim check; returns 1 if it acts on a refresh (an fd
 * action counts: it posts once the program asks). brief: one word, "hook",
 * "signal", "hook+signal", "fd" or "nothing". Else a clause ("calls
 * toki_on_refresh and sends SIGHUP; posts the event fd ..."), "" for nothing; sig
 * is the signal's name without SIG. */
int tshim_decide_describe(const struct tshim_decide_plan *p, enum tshim_decide_action action,
                          const char *sig, int brief, char *buf, size_t size);

/* Why the signal was not sent (a signal_skip other than OK), as one log line: sig is
 * the signal's name without SIG, runtime "Go" or "Java". The library and the
 * supervisor say it the same way. */
void tshim_decide_explain(enum tshim_decide_skip why, const char *sig, const char *runtime,
                          char *buf, size_t size);

#endif
