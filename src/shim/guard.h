/* guard.h: the exit guard: no call into the host once it has begun to exit, and exit waits for one in flight. */
#ifndef TSHIM_GUARD_H
#define TSHIM_GUARD_H

/* Marks the calling thread as the listener: an exit() from a hook must not wait for
 * the hook it is running in. */
void tshim_guard_mark_listener(void);

/* Brackets every call into the host (hook or signal). begin returns 0 once the
 * process has begun to exit: then skip the call, and do not call end. */
int tshim_guard_begin_call(void);
void tshim_guard_end_call(void);

/* The process is exiting (main returned, or exit() was called): from now on no hook
 * runs and no signal is sent; waits for a hook that is running to return. */
void tshim_guard_exiting(void);

/* 1 once tshim_guard_exiting was called. */
int tshim_guard_exit_begun(void);

/* In the child of a fork (async-signal-safe): the parent's call in flight is not
 * in this process, nor are the parent's threads. */
void tshim_guard_fork_child(void);

/* The threads the shim itself runs (the listener): each says when it starts and
 * when it ends, so that the overrides can tell the host's threads from ours. */
void tshim_guard_thread_started(void);
void tshim_guard_thread_ended(void);
int tshim_guard_threads(void);

#endif
