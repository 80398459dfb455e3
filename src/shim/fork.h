/* fork.h: the shim across the host's fork: handlers around it, and a listener in the child when asked. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_FORK_H
#define TSHIM_FORK_H

#include "common/config.h"

/* Registers the fork handlers of an active shim with configuration c: fork waits
 * while a descriptor of the shim is being made; the child starts inert, without
 * the parent's descriptors, call in flight or event fd. */
void tshim_fork_install(const struct tshim_config *c);

/* The shim is disabled after all (its thread could not start): the handlers stay
 * registered, as they cannot be removed, but no child will start a listener. */
void tshim_fork_forget(void);

/* The fork() override calls this in the child once fork has returned there: with
 * TOKI_SHIM_FOLLOW_FORK the child starts a listener of its own. Keeps errno. */
void tshim_fork_child_returned(void);

/* The daemon() override calls this in the surviving child: the role of the process
 * that called daemon() follows it, so it listens again (its parent has exited). */
void tshim_fork_daemonized(void);

#endif
