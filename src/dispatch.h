/* dispatch.h: what to do with an event: call the program's hooks, signal it, or skip. */
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
    enum tdisp_runtime runtime;
};

#define TDISP_CALL_HOOK 1u
#define TDISP_SEND_SIGNAL 2u

struct tdisp_plan {
    unsigned what;             /* TDISP_CALL_HOOK | TDISP_SEND_SIGNAL */
    enum tdisp_skip hook_skip; /* set when the action wanted the hook and it is missing */
    enum tdisp_skip signal_skip;
};

/* The decision alone, pure, for tests: TOKI_SHIM_ACTION plus the safety rule (signal
 * only a native program with a handler, unless forced). */
struct tdisp_plan tdisp_decide(enum tcfg_action action, int force, const struct tdisp_facts *f);

/* Handles one event on the listener thread: toki_on_event(name) for every event, then
 * the action if name is a trigger. A library that the program dlopens later is
 * found (see tdisp_refresh). */
void tdisp_event(const struct tcfg *c, const char *name);

/* What the runtime of this process is. The JVM is looked for again whenever the
 * set of loaded objects changed, because the java launcher loads it after start. */
enum tdisp_runtime tdisp_runtime(void);

/* Looks the hooks up again if objects were loaded or unloaded since the last look
 * (cheap otherwise). The constructor calls it first, so that a lookup that misses,
 * which allocates, happens on the host's thread and not on the listener's. */
void tdisp_refresh(void);

#endif
