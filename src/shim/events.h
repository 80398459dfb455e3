/* events.h: what a program can poll instead of being called: the event fd, the generation counter, the status. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_EVENTS_H
#define TSHIM_EVENTS_H

/* The shim listens in this process (1) or is inert (0). The public functions answer
 * "not available" while it is 0. */
void tshim_events_activate(int on);

/* Why the shim is inert after all (a configuration error, a thread that could not
 * start) and the errno value if one applies: kept for toki_shim_status().
 * Constructor only, before any thread. */
void tshim_events_disabled(const char *why, int err);

/* Counters, from the listener thread. tshim_events_trigger returns the new generation. */
void tshim_events_line(void);
unsigned long tshim_events_trigger(void);
void tshim_events_action(void);

/* The connection came up (reconnect: not the first one), or went down. */
void tshim_events_up(int reconnect);
void tshim_events_down(void);

/* The last failure: what (a static sentence) and an errno value, 0 if none applies. */
void tshim_events_fail(const char *what, int err);

/* 1 if the program has asked for the event fd and its number still names the
 * shim's eventfd: once the program has closed it (and perhaps reused the number),
 * 0, so that the automatic action signals again. When that cannot be told (kcmp
 * denied and the shim's mark unreadable), 1, as before it could be. For the
 * listener thread; may take the fd guard's window for a moment. */
int tshim_events_requested(void);

/* Adds n to the event fd, if the program has one. */
void tshim_events_post(unsigned long n);

/* In a forked child (atfork, async-signal-safe): the shim is inert here until a
 * listener starts, and the program's event fd number now names a fresh eventfd of
 * its own, so that the child neither sees the parent's events nor takes them; if
 * the program had closed that number and reused it, or if that cannot be told
 * (kcmp denied, and the shim's mark on its eventfd unreadable), the number is left
 * alone. Call before tshim_fdguard_fork_child, which closes the copy it compares
 * with. */
void tshim_events_fork_child(void);

/* In a forked child that listens (TOKI_SHIM_FOLLOW_FORK): the shim's own copy of
 * the child's event fd. */
void tshim_events_follow(void);

#endif
