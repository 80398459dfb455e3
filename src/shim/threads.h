/* threads.h: the shim's own threads: started with every signal blocked, and counted while they run. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_THREADS_H
#define TSHIM_THREADS_H

#include <stddef.h>

/* Starts a detached thread of the shim with every signal blocked from its first
 * instruction, so that no signal meant for the host is ever delivered to it; a
 * stack of stack_bytes (0: the default). Returns 0, or an errno value. */
int tshim_threads_spawn(void *(*fn)(void *), void *arg, size_t stack_bytes);

/* Each thread of the shim calls started first and ended last, so that a count
 * read meanwhile errs towards the host's threads. */
void tshim_threads_started(void);
void tshim_threads_ended(void);
int tshim_threads_count(void);
/* The same, 0 in a process the threads were not started in (a child of clone or
 * of a raw fork, which copied the count but not the threads). */
int tshim_threads_count_here(void);

/* In the child of a fork (async-signal-safe): the parent's threads are not here. */
void tshim_threads_fork_child(void);

#endif
