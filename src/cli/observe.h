/* observe.h: what /proc shows of another process's signals and runtime, for check and the supervisor. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_OBSERVE_H
#define TSHIM_OBSERVE_H

#include <stddef.h>

/* Reads a whole /proc file into buf (NUL-terminated, cut at size - 1); returns its
 * length, or -1. */
long tshim_observe_slurp(const char *path, char *buf, size_t size);

/* 1 if pid has a handler for signo: its bit in SigCgt (neither default nor
 * ignored). */
int tshim_observe_caught(long pid, int signo);

/* 1 if every thread of pid blocks signo (SigBlk) and one of its descriptors is a
 * signalfd for it (sigmask in fdinfo): taken, not fatal. Threads named toki-shim
 * (the library's) are not the program's. A thread in sigwait cannot be told from
 * outside. */
int tshim_observe_takes_blocked(long pid, int signo);

/* 1 if pid has a JVM loaded (libjvm.so in its maps). */
int tshim_observe_jvm(long pid);

#endif
