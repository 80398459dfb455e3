/* lifecycle.h: the shim across the host's fork and exit. */
#ifndef TSHIM_LIFECYCLE_H
#define TSHIM_LIFECYCLE_H

#include "config.h"

/* Registers the fork handlers for an active shim with configuration c. */
void tlife_install(const struct tcfg *c);

/* The shim is disabled after all (its thread could not start): fork handlers stay
 * registered, as they cannot be removed, but no child will start a listener. */
void tlife_forget(void);

/* Marks the calling thread as the listener: an exit() from a hook must not wait for
 * the hook it is running in. */
void tlife_mark_listener(void);

/* Brackets every call into the host (hook or signal). begin returns 0 once the
 * process has begun to exit: then skip the call, and do not call end. */
int tlife_begin_call(void);
void tlife_end_call(void);

/* The process is exiting (main returned, or exit() was called): from now on no hook
 * runs and no signal is sent; waits for a hook that is running to return. */
void tlife_exiting(void);

#endif
