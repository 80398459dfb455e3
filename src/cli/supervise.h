/* supervise.h: toki-shim run's supervisor mode, for a program that cannot be preloaded: run it as a child, listen to Toki for it, signal it from outside. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_SUPERVISE_H
#define TSHIM_SUPERVISE_H

/* The variable a supervised child finds its supervisor's pid in (toki-shim check
 * PID compares it with the child's parent). */
#define TSHIM_SUPERVISE_VARIABLE "TOKI_SHIM_SUPERVISOR"

/* Runs the program at path with argv as a child in this process group (no
 * setpgid: Toki stops and continues the group), forwards TERM, INT, HUP, QUIT,
 * USR1, USR2 and WINCH to it, and runs the session with the configuration of
 * this environment: at each trigger event, the reload signal under the safety
 * rule, read from /proc, and touch (may be NULL) rewritten with the generation.
 * Returns the child's exit status, 128 + n for a death by signal n, or 2 for a
 * configuration error under TOKI_SHIM_STRICT=1. */
int tshim_supervise_run(const char *path, char **argv, const char *touch);

#endif
