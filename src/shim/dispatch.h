/* dispatch.h: what to do with an event: call the program's hooks, signal it, post its event fd, or skip. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_DISPATCH_H
#define TSHIM_DISPATCH_H

#include <signal.h>

#include "common/config.h"
#include "common/decide.h"

/* The constructor marks its thread (the host's main thread) and keeps its signal
 * mask, for the hooks to run with; the mask overrides report each change made on
 * that thread (others are ignored). */
void tshim_dispatch_keep_mask(void);
void tshim_dispatch_mask_changed(const sigset_t *now);

/* The constructor says whether this program is in TOKI_SHIM_NO_SIGNAL. */
void tshim_dispatch_program(int dies_on_signal);

/* One event line on the listener thread: calls toki_on_event(name), and returns 1
 * if name is a trigger event (the caller then schedules the action), else 0. A
 * library that the program dlopens later is found (when objects were loaded or unloaded since the last look). */
int tshim_dispatch_event(const struct tshim_config *c, const char *name);

/* The action, once, for n trigger events (the last one named name). */
void tshim_dispatch_act(const struct tshim_config *c, const char *name, unsigned long n);

/* What the runtime of this process is. The JVM is looked for again whenever the
 * set of loaded objects changed, because the java launcher loads it after start. */
enum tshim_decide_runtime tshim_dispatch_runtime(void);

#endif
