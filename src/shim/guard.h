/* guard.h: the exit guard: no call into the host once it has begun to exit, and exit waits (a bounded time) for one in flight. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_GUARD_H
#define TSHIM_GUARD_H

#include <stddef.h>

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
 * in this process, nor are the parent's threads. */
void tshim_guard_fork_child(void);

/* The threads the shim runs in this process: each calls started first and ended
 * last, so that a count read meanwhile errs towards the host's threads. */
void tshim_guard_thread_started(void);
void tshim_guard_thread_ended(void);
int tshim_guard_threads(void);
/* The same, 0 in a process the listener does not run in (a child of clone or of a
 * raw fork, which copied the count but not the threads). */
int tshim_guard_threads_here(void);

/* Starts a detached thread of the shim with every signal blocked from its first
 * instruction, so that no signal meant for the host is ever delivered to it; a
 * stack of stack_bytes (0: the default). Returns 0, or an errno value. */
int tshim_guard_spawn(void *(*fn)(void *), void *arg, size_t stack_bytes);

#endif
