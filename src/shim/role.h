/* role.h: which process of a service's tree listens: the service, never the launchers around it. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_ROLE_H
#define TSHIM_ROLE_H

#include "common/config.h"

/* The variable in which a process records its role for the programs it starts and
 * the images it execs: "PID:h" (it listens; what it starts stays inert), "PID:s:START"
 * (a shell, started at START clock ticks after boot: it listens, and each program
 * it or its subshells start takes a role of its own) or "PID:n" (inert: it
 * reported a configuration error, or may not listen in a shell's tree; what it
 * starts or execs into stays inert, and silent about the configuration). A
 * launcher removes it: the program it starts or execs is then the first to load
 * the shim, as if the launcher were not there. */
#define TSHIM_ROLE_VAR "TOKI_SHIM_ROLE"

/* Cheap and certain, before the configuration is read: the parent of this process
 * is the service (a holder that is not a shell) or an inert process that reported
 * the configuration's error, so this process stays inert. recorded: the value of
 * TSHIM_ROLE_VAR, or NULL. */
int tshim_role_started_by_holder(const char *recorded);

/* Whether this process, under the default scope (scoped: TOKI_SHIM_INHERIT unset
 * or 1), may not listen whatever its configuration says, so that an error in it is
 * not said: the recorded role is 'n' (a process above it, or it before an exec,
 * said the error or may not listen in a shell's tree) or another's 'h' (it is below
 * a listening service). Under INHERIT=all or 0 the role does not decide: 0. */
int tshim_role_refused(const char *recorded, int scoped);

/* After a configuration error: records 'n', so that what this process starts
 * stays inert and does not report the error again. */
void tshim_role_refuse(void);

/* A process of a shell's tree that may not listen (tshim_role_eligible said no):
 * records 'n', so that what it starts stays inert even once it is orphaned (an
 * orphan of the shell's own would take a role). Nothing in other trees. */
void tshim_role_decline(const char *recorded);

/* Whether this process may take a role: none recorded, or one this very process
 * recorded before an exec, or one that a shell recorded, reached through the
 * parent and any subshells (processes whose name or executable is in c->shells),
 * or left behind by that shell (an ancestor older than the shell: init or a
 * subreaper took this process in). */
int tshim_role_eligible(const struct tshim_config *c, const char *recorded);

/* For an eligible process named exe/argv0 (basenames): a launcher removes the role
 * and returns 0; any other program records its role and returns 1 (it listens). */
int tshim_role_take(const struct tshim_config *c, const char *exe, const char *argv0);

/* For the wrapper of main: writes the recorded role into the environment again if
 * it does not say it (glibc and musl keep it from the constructor to main; a libc
 * that set environ back would lose it). */
void tshim_role_republish(void);

/* 1 if this process wrote the role into the environment (or took it out). */
int tshim_role_published(void);

/* TOKI_SHIM_INHERIT=all: every process listens, with no role recorded. */
void tshim_role_assume(void);

/* After daemon(3) in the surviving child: the process that held the role goes on
 * under a new pid; the role follows it. Returns 1 if it held one. */
int tshim_role_follow(void);

#endif
