/* sandbox.h: whether the program has put the listener's thread under a seccomp filter since the shim started. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_SANDBOX_H
#define TSHIM_SANDBOX_H

#include <stddef.h>

/* Constructor of an active shim, before the listener starts: records the seccomp
 * state at start if it is "none", the usual case (one prctl); otherwise the first
 * check records it. A forked child inherits the record, and its listener compares
 * against it too. */
void tshim_sandbox_start(void);

enum tshim_sandbox_verdict {
    TSHIM_SANDBOX_SAME,    /* as at start: a socket is as safe as it was */
    TSHIM_SANDBOX_CHANGED, /* a filter was added: make no socket, ever */
    TSHIM_SANDBOX_UNKNOWN, /* the state cannot be read now: make no socket now */
};

/* On the listener thread, before each socket: the calling thread's seccomp state
 * (the Seccomp and Seccomp_filters lines of /proc/thread-self/status, the latter
 * from Linux 5.9 on) against the state at start. For CHANGED and UNKNOWN, err gets
 * a sentence saying what was seen, and errno the reason for UNKNOWN. */
enum tshim_sandbox_verdict tshim_sandbox_check(char *err, size_t err_size);

#endif
