/* guard.h: the exit guard: no call into the host once it has begun to exit, and exit waits (a bounded time) for one in flight. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_GUARD_H
#define TSHIM_GUARD_H

/* How long exit() waits for a hook or signal in flight: a hook that waits for a
 * lock the exiting thread holds would otherwise turn a clean exit into a hang. */
#define TSHIM_GUARD_EXIT_WAIT_MS 1000

/* Marks the calling thread as the listener: an exit() from a hook must not wait for
 * the hook it is running in. */
void tshim_guard_mark_listener(void);

/* Brackets every call into the host (hook or signal), on the listener thread
 * (after tshim_guard_mark_listener). begin returns 0 once the process has begun to
 * exit: then skip the call, and do not call end. */
int tshim_guard_begin_call(void);
void tshim_guard_end_call(void);

/* The process is exiting (main returned, or exit() was called): from now on no hook
 * runs and no signal is sent; waits up to TSHIM_GUARD_EXIT_WAIT_MS for a hook that
 * is running in this process to return. */
void tshim_guard_exiting(void);

/* 1 once this process called tshim_guard_exiting. */
int tshim_guard_exit_begun(void);

/* In the child of a fork (async-signal-safe): the parent's call in flight is not
 * in this process. */
void tshim_guard_fork_child(void);

#endif
