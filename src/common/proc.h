/* proc.h: which program this is (for TOKI_SHIM_ONLY/SKIP), and the shim's place in LD_PRELOAD. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_PROC_H
#define TSHIM_PROC_H

#include <stddef.h>

/* The part of path after its last '/'. */
const char *tshim_proc_basename(const char *path);

/* Whether a program named exe_name (the executable's basename) or argv0_name
 * (argv[0]'s basename) is to be shimmed. only and skip are pattern lists in the
 * config's "A\0B\0\0" form, or empty; a pattern is an fnmatch glob. */
int tshim_proc_selected(const char *only, const char *skip, const char *exe_name,
                        const char *argv0_name);

/* Whether exe_name or argv0_name (may be NULL) matches one of patterns, a list in
 * the config's "A\0B\0\0" form of fnmatch globs. */
int tshim_proc_named(const char *patterns, const char *exe_name, const char *argv0_name);

/* Copies the LD_PRELOAD value into out without the entries that name the shim
 * (those whose basename is self_name), the rest joined with ':'. Returns -1 if out
 * is too small. */
int tshim_proc_strip_preload(const char *value, const char *self_name, char *out, size_t size);

/* The decimal digits of v at out, without a NUL; returns how many (at most 20).
 * Async-signal-safe, and no formatting of libc's on the start path. */
size_t tshim_proc_decimal(char *out, unsigned long v);

/* Whether an executable named name is a multi-call program (busybox, toybox),
 * whose applet is what runs. */
int tshim_proc_multicall(const char *name);

/* The applet that a multi-call program (multi: "busybox", "toybox") runs, from its
 * /proc/PID/cmdline file: argv[0]'s name, or argv[1]'s when argv[0] is multi itself.
 * Returns 0, or -1 if it cannot be read. */
int tshim_proc_applet_of(const char *cmdline, const char *multi, char *out, size_t size);

/* This process's names, for tshim_proc_selected: the executable's and argv[0]'s;
 * for a multi-call program run by its own name (busybox less), the applet's, twice. */
void tshim_proc_names(char *exe, size_t exe_size, const char **argv0);

/* Removes the shim from LD_PRELOAD in this process's environment (for
 * TOKI_SHIM_INHERIT=0), so that descendants run without it. */
void tshim_proc_uninherit(void);

/* Overwrites TOKI_TOKEN's value where it lies (so /proc/PID/environ no longer
 * shows it) and removes it from the environment (so descendants do not get it).
 * The configuration holds its own copy. */
void tshim_proc_scrub_token(void);

/* How many threads this process has, from /proc/self/status ("Threads:"), read
 * with the raw system calls (no override, no allocation, no lock); -1 if it
 * cannot be read. The file is open for a moment at the lowest free number. Keeps
 * errno. */
int tshim_proc_threads(void);

#endif
