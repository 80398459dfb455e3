/* dispatch.h: what to do with an event: call the program's hooks, signal it, post its event fd, or skip. */
#ifndef TSHIM_DISPATCH_H
#define TSHIM_DISPATCH_H

#include "config.h"

enum tdisp_runtime { TDISP_NATIVE, TDISP_GO, TDISP_JVM };

/* Why part of an action was not taken. */
enum tdisp_skip { TDISP_OK, TDISP_NO_HOOK, TDISP_NO_HANDLER, TDISP_RUNTIME };

/* What the process looks like at the moment of the event. */
struct tdisp_facts {
    int have_hook;    /* toki_on_refresh is visible in the global scope */
    int have_handler; /* the reload signal is neither SIG_DFL nor SIG_IGN */
    int have_fd;      /* the program has asked for the event fd */
    enum tdisp_runtime runtime;
};

#define TDISP_CALL_HOOK 1u
#define TDISP_SEND_SIGNAL 2u
#define TDISP_POST_FD 4u

struct tdisp_plan {
    unsigned what;             /* TDISP_CALL_HOOK | TDISP_SEND_SIGNAL | TDISP_POST_FD */
    enum tdisp_skip hook_skip; /* set when the action wanted the hook and it is missing */
    enum tdisp_skip signal_skip;
};

/* The decision alone, pure, for tests: TOKI_SHIM_ACTION plus the safety rule (signal
 * only a native program with a handler, unless forced). An event fd the program
 * asked for is posted under every action but none; in auto mode it replaces the
 * signal. */
struct tdisp_plan tdisp_decide(enum tcfg_action action, int force, const struct tdisp_facts *f);

/* One event line on the listener thread: calls toki_on_event(name), and returns 1
 * if name is a trigger event (the caller then schedules the action), else 0. A
 * library that the program dlopens later is found (see tdisp_refresh). */
int tdisp_event(const struct tcfg *c, const char *name);

/* The action, once, for n trigger events (the last one named name). */
void tdisp_act(const struct tcfg *c, const char *name, unsigned long n);

/* What the runtime of this process is. The JVM is looked for again whenever the
 * set of loaded objects changed, because the java launcher loads it after start. */
enum tdisp_runtime tdisp_runtime(void);

/* Looks the hooks up again if objects were loaded or unloaded since the last look
 * (cheap otherwise). The constructor calls it first, so that a lookup that misses,
 * which allocates, happens on the host's thread and not on the listener's. */
void tdisp_refresh(void);

#endif
