/* real.h: the one table of the libc functions that the shim overrides, as libc defines them. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_REAL_H
#define TSHIM_REAL_H

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>

typedef int (*tshim_real_main_fn)(int, char **, char **);

struct tshim_real {
    int (*close)(int);
    int (*close_range)(unsigned, unsigned, int);
    void (*closefrom)(int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*fcntl64)(int, int, ...);
    pid_t (*fork)(void);
    void (*exit)(int);
    int (*libc_start_main)(tshim_real_main_fn, int, char **, void *, void *, void *, void *);
    int (*daemon)(int, int);
    int (*sigprocmask)(int, const sigset_t *, sigset_t *);
    int (*pthread_sigmask)(int, const sigset_t *, sigset_t *);
    int (*pthread_key_delete)(pthread_key_t);
};

/* Hidden, so that the overrides reach it without a GOT load. Every entry is
 * callable at any time. Each starts at a stub that resolves the whole
 * table and calls on, so that a call made before the constructor (by another
 * library's constructor) still reaches libc; a function this libc lacks
 * (close_range and closefrom before glibc 2.34) is its system call. */
extern struct tshim_real tshim_real __attribute__((visibility("hidden")));

/* Resolves the whole table, once, from the constructor, to what dlsym(RTLD_NEXT)
 * gives: found in the loaded objects' own symbol tables (common/elf.c), dlsym for
 * a name that lookup leaves open. Once the constructor has run no override
 * resolves anything, which is not async-signal-safe, inside fork(), exit() or a
 * signal handler (only a call made before it, by another library's constructor,
 * goes through a stub, which uses dlsym alone). Keeps errno. */
void tshim_real_init(void);

/* libc's setenv and unsetenv, not a host's: bash defines its own, which do nothing
 * before its main has run. Resolved with the table. Return what libc returns. */
int tshim_real_env_set(const char *name, const char *value);
int tshim_real_env_unset(const char *name);
/* libc's putenv: entry ("NAME=value") becomes part of the environment itself. */
int tshim_real_env_put(char *entry);

/* What glibc itself takes from a thread's stack (its static TLS, a guard), which a
 * requested stack size does not cover: glibc's private __pthread_get_minstack,
 * which Java's launcher asks for too; PTHREAD_STACK_MIN where it is missing. */
size_t tshim_real_min_stack(const pthread_attr_t *attr);

#endif
