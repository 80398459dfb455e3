/* listener.h: the shim's one thread: connect, hand over the token, read events, reconnect. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_LISTENER_H
#define TSHIM_LISTENER_H

#include "common/config.h"

/* Starts the detached listener thread with every signal blocked and the configured
 * stack; it reads *c and never frees it. Returns 0, or an errno value. */
int tshim_listener_start(const struct tshim_config *c);

#endif
